/*
 * db.c — SQLite wrapper: pragmas, statement cache, bind-by-name.
 */
#include "db.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

int hj_db_error(hj_db *db, const char *what)
{
	return hj_error_set(HJ_ERROR, "%s: %s", what,
			    db && db->h ? sqlite3_errmsg(db->h) : "no database");
}

int hj_db_open(hj_db **out, const char *path, int create)
{
	*out = NULL;
	hj_db *db = calloc(1, sizeof *db);
	if (!db)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		int rc = hj_error_set(HJ_ERROR, "cannot open %s: %s", path,
				      db->h ? sqlite3_errmsg(db->h) : "out of memory");
		hj_db_close(db);
		return rc;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, 10000);
	/* synchronous=FULL: after COMMIT the op survives power loss, which is
	 * what the clerk is told when the command succeeds (DESIGN §2). */
	int rc = hj_db_exec(db, "PRAGMA journal_mode=WAL;"
				"PRAGMA synchronous=FULL;"
				"PRAGMA foreign_keys=ON;"
				"PRAGMA cache_size=-65536;");
	if (rc) {
		hj_db_close(db);
		return hj_error_wrap(rc, "%s: ", path);
	}
	*out = db;
	return 0;
}

void hj_db_close(hj_db *db)
{
	if (!db)
		return;
	for (int i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].st);
	sqlite3_close_v2(db->h);
	free(db);
}

int hj_db_exec(hj_db *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = hj_error_set(HJ_ERROR, "sql: %s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

sqlite3_stmt *hj_db_stmt(hj_db *db, const char *sql)
{
	for (int i = 0; i < db->ncache; i++) {
		if (db->cache[i].sql == sql || strcmp(db->cache[i].sql, sql) == 0) {
			sqlite3_reset(db->cache[i].st);
			sqlite3_clear_bindings(db->cache[i].st);
			return db->cache[i].st;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		hj_error_set(HJ_ERROR, "sql prepare: %s (in: %.80s)", sqlite3_errmsg(db->h), sql);
		return NULL;
	}
	if (db->ncache == HJ_DB_CACHE) {
		/* Full: evict the oldest; its SQL pointer is the caller's literal. */
		sqlite3_finalize(db->cache[0].st);
		memmove(&db->cache[0], &db->cache[1], sizeof db->cache[0] * (HJ_DB_CACHE - 1));
		db->ncache--;
	}
	db->cache[db->ncache].sql = sql;
	db->cache[db->ncache].st = st;
	db->ncache++;
	return st;
}

static int bind_index(sqlite3_stmt *st, const char *name)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i == 0)
		hj_error_set(HJ_ERROR, "sql: no parameter %s", name);
	return i;
}

int hj_db_bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = bind_index(st, name);
	if (!i)
		return HJ_ERROR;
	int rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
	return rc == SQLITE_OK ? 0 : hj_error_set(HJ_ERROR, "sql bind %s failed", name);
}

int hj_db_bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = bind_index(st, name);
	if (!i)
		return HJ_ERROR;
	return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : hj_error_set(HJ_ERROR, "sql bind %s failed", name);
}

int hj_db_bind_blob(sqlite3_stmt *st, const char *name, const void *p, size_t n)
{
	int i = bind_index(st, name);
	if (!i)
		return HJ_ERROR;
	return sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT) == SQLITE_OK
		       ? 0
		       : hj_error_set(HJ_ERROR, "sql bind %s failed", name);
}

int hj_db_step(hj_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	int err = hj_error_set(HJ_ERROR, "sql: %s", sqlite3_errmsg(db->h));
	sqlite3_reset(st);
	return err;
}

const char *hj_db_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

int hj_db_get_int(hj_db *db, const char *sql, const char *name, const char *arg, int64_t *out)
{
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	if (!st)
		return HJ_ERROR;
	if (name && hj_db_bind_text(st, name, arg))
		return HJ_ERROR;
	int rc = hj_db_step(db, st);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		sqlite3_reset(st);
		return HJ_ENOTFOUND;
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

char *hj_db_get_text(hj_db *db, const char *sql, const char *name, const char *arg)
{
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	if (!st)
		return NULL;
	if (name && hj_db_bind_text(st, name, arg))
		return NULL;
	char *v = NULL;
	if (hj_db_step(db, st) == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = strdup(hj_db_col_text(st, 0));
	sqlite3_reset(st);
	return v;
}

char *hj_meta_get(hj_db *db, const char *key)
{
	return hj_db_get_text(db, "SELECT value FROM meta WHERE key = :k", ":k", key);
}

int hj_meta_set(hj_db *db, const char *key, const char *value)
{
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO meta(key, value) VALUES (:k, :v) "
					  "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
	if (!st || hj_db_bind_text(st, ":k", key) || hj_db_bind_text(st, ":v", value))
		return HJ_ERROR;
	int rc = hj_db_step(db, st);
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}
