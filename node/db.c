/*
 * db.c — SQLite wrapper: pragmas, the leased statement cache, bind-by-name,
 * one-value lookups that tell found, not found and failed apart. Every
 * SQLite error becomes an hj_error carrying SQLite's own message.
 */
#include "db.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one message for a failed write: the clerk must read "the disk is
 * full" and which file, not SQLite's cleanup ("cannot rollback - no
 * transaction is active"). The transaction is undone by SQLite or by the
 * caller's ROLLBACK, so nothing of the command was stored. A failed sync
 * (fsync) is reported as such: the bytes may have reached the file, but
 * SQLite has not committed them. 0 when `code` is no write failure. */
static int write_error(hj_db *db, int code)
{
	const char *file = sqlite3_db_filename(db->h, "main");
	if (!file || !file[0])
		file = "a temporary database";
	if ((code & 0xff) == SQLITE_FULL)
		return hj_error_set(HJ_ERROR, "disk full (or quota reached) writing %s: nothing was changed "
				    "(free some space and run the command again; sqlite %d)", file, code);
	switch (code) {
	case SQLITE_IOERR_WRITE:
	case SQLITE_IOERR_TRUNCATE:
		return hj_error_set(HJ_ERROR, "cannot write %s (disk full, quota reached or a disk error): nothing "
				    "was changed (sqlite %d)", file, code);
	case SQLITE_IOERR_FSYNC:
	case SQLITE_IOERR_DIR_FSYNC:
		return hj_error_set(HJ_ERROR, "cannot write %s to disk (fsync failed: disk full, quota reached or "
				    "a disk error): nothing was changed (sqlite %d)", file, code);
	default:
		return 0;
	}
}

/* SQLite's message and extended code: enough to tell an I/O error from a
 * constraint, and free of bound values (SQLite never quotes them). */
int hj_db_error(hj_db *db, const char *what)
{
	if (!db || !db->h)
		return hj_error_set(HJ_ERROR, "%s: no database", what);
	int code = sqlite3_extended_errcode(db->h);
	int rc = write_error(db, code);
	return rc ? rc : hj_error_set(HJ_ERROR, "%s: %s (sqlite %d)", what, sqlite3_errmsg(db->h), code);
}

static void note_failure(hj_db *db, int was_in_tx);

int hj_db_fail(hj_db *db, int code, int in_tx, const char *what)
{
	int rc = write_error(db, code);
	if (!rc && in_tx && sqlite3_get_autocommit(db->h)) {
		/* The first error (a spilled page that could not be written)
		 * happened inside the call, which reports only its own cleanup
		 * ("no such savepoint"). */
		const char *file = sqlite3_db_filename(db->h, "main");
		rc = hj_error_set(HJ_ERROR, "cannot write %s (disk full, quota reached, a disk error or out of memory: "
				  "SQLite rolled the transaction back): nothing was changed (%s; sqlite %d)",
				  file && file[0] ? file : "a temporary database", what, code);
	}
	if (!rc)
		rc = hj_error_set(HJ_ERROR, "%s: %s (sqlite %d)", what, sqlite3_errstr(code), code);
	note_failure(db, in_tx);
	return rc;
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
	for (int i = 0; i < db->ncache; i++) {
		sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].sql);
	}
	free(db->cache);
	sqlite3_close_v2(db->h);
	free(db);
}

/* See db.h: the transaction vanished during a failed statement (whose
 * message was just set: every refusal repeats it). */
static void note_failure(hj_db *db, int was_in_tx)
{
	if (was_in_tx && sqlite3_get_autocommit(db->h)) {
		db->lost_tx = 1;
		snprintf(db->lost_msg, sizeof db->lost_msg, "%s", hj_error_last());
	}
}

/* A cleanup step (ROLLBACK TO, RELEASE) or a swallowed error's next
 * statement, after SQLite rolled back: the first error is what the user
 * must read, not "no transaction is active". */
static int refuse_lost(const hj_db *db)
{
	if (db->lost_msg[0])
		return hj_error_set(HJ_ERROR, "%s", db->lost_msg);
	return hj_error_set(HJ_ERROR, "sql: the transaction was rolled back after an earlier error "
				      "(I/O, disk full or memory); nothing more runs in it");
}

int hj_db_exec(hj_db *db, const char *sql)
{
	char *msg = NULL;
	if (strcmp(sql, "ROLLBACK") == 0) {
		db->lost_tx = 0;
		db->lost_msg[0] = '\0';
		if (sqlite3_get_autocommit(db->h))
			return 0; /* already rolled back: keep the first error */
	} else if (db->lost_tx) {
		return refuse_lost(db);
	}
	int was_in_tx = !sqlite3_get_autocommit(db->h);
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (strcmp(sql, "ROLLBACK") == 0 && sqlite3_get_autocommit(db->h)) {
			/* "cannot rollback - no transaction is active": SQLite
			 * ended it during the failed ROLLBACK's error handling;
			 * the cleanup did its job and the first error stands. */
			sqlite3_free(msg);
			return 0;
		}
		int code = sqlite3_extended_errcode(db->h);
		int rc = write_error(db, code);
		if (!rc)
			rc = hj_error_set(HJ_ERROR, "sql: %s (sqlite %d)", msg ? msg : sqlite3_errmsg(db->h), code);
		sqlite3_free(msg);
		/* A failed COMMIT ends the transaction as far as the caller
		 * knows; anything else that lost it poisons the connection. */
		if (strcmp(sql, "COMMIT") != 0)
			note_failure(db, was_in_tx);
		return rc;
	}
	return 0;
}

/* Drop the oldest idle slot, if any; leased slots are never touched. */
static void evict_idle(hj_db *db)
{
	for (int i = 0; i < db->ncache; i++) {
		if (db->cache[i].leased)
			continue;
		sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].sql);
		memmove(&db->cache[i], &db->cache[i + 1], sizeof db->cache[0] * (size_t)(db->ncache - i - 1));
		db->ncache--;
		return;
	}
}

static int idle_count(const hj_db *db)
{
	int n = 0;
	for (int i = 0; i < db->ncache; i++)
		n += !db->cache[i].leased;
	return n;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

sqlite3_stmt *hj_db_stmt(hj_db *db, const char *sql)
{
	if (db->lost_tx) {
		refuse_lost(db);
		return NULL;
	}
	uint32_t h = fnv1a(sql);
	for (int i = 0; i < db->ncache; i++) {
		if (!db->cache[i].leased && db->cache[i].hash == h && strcmp(db->cache[i].sql, sql) == 0) {
			sqlite3_reset(db->cache[i].st);
			sqlite3_clear_bindings(db->cache[i].st);
			db->cache[i].leased = 1;
			return db->cache[i].st;
		}
	}
	/* Not cached, or every copy is leased (a nested caller of the same
	 * SQL): prepare another. */
	sqlite3_stmt *st = NULL;
	char *key = NULL;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		hj_error_set(HJ_ERROR, "sql prepare: %s (sqlite %d, in: %.80s)", sqlite3_errmsg(db->h),
			     sqlite3_extended_errcode(db->h), sql);
		sqlite3_finalize(st);
		return NULL;
	}
	if (idle_count(db) >= HJ_DB_CACHE)
		evict_idle(db);
	if (db->ncache == db->cap) {
		int cap = db->cap ? db->cap * 2 : HJ_DB_CACHE + 8;
		hj_db_slot *grown = realloc(db->cache, sizeof *grown * (size_t)cap);
		if (!grown)
			goto nomem;
		db->cache = grown;
		db->cap = cap;
	}
	if (!(key = strdup(sql)))
		goto nomem;
	db->cache[db->ncache].sql = key;
	db->cache[db->ncache].hash = h;
	db->cache[db->ncache].st = st;
	db->cache[db->ncache].leased = 1;
	db->ncache++;
	return st;
nomem:
	sqlite3_finalize(st);
	hj_error_set(HJ_ENOMEM, "out of memory");
	return NULL;
}

void hj_db_release(hj_db *db, sqlite3_stmt *st)
{
	if (!db || !st)
		return;
	for (int i = db->ncache - 1; i >= 0; i--) {
		if (db->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			db->cache[i].leased = 0;
			/* Back under the bound once a burst of leases ends. */
			if (idle_count(db) > HJ_DB_CACHE)
				evict_idle(db);
			return;
		}
	}
	/* Not from the cache: a caller bug, but never leak or double-free. */
	sqlite3_finalize(st);
}

static int bind_index(sqlite3_stmt *st, const char *name)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i == 0)
		hj_error_set(HJ_ERROR, "sql: no parameter %s", name);
	return i;
}

static int bind_result(int rc, const char *name)
{
	return rc == SQLITE_OK ? 0 : hj_error_set(HJ_ERROR, "sql bind %s: %s", name, sqlite3_errstr(rc));
}

int hj_db_bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = bind_index(st, name);
	if (!i)
		return HJ_ERROR;
	return bind_result(v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i), name);
}

int hj_db_bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = bind_index(st, name);
	if (!i)
		return HJ_ERROR;
	return bind_result(sqlite3_bind_int64(st, i, v), name);
}

int hj_db_bind_blob(sqlite3_stmt *st, const char *name, const void *p, size_t n)
{
	int i = bind_index(st, name);
	if (!i)
		return HJ_ERROR;
	return bind_result(sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT), name);
}

int hj_db_step(hj_db *db, sqlite3_stmt *st)
{
	if (db->lost_tx)
		return refuse_lost(db);
	int was_in_tx = !sqlite3_get_autocommit(db->h);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	int err = hj_db_error(db, "sql");
	note_failure(db, was_in_tx);
	sqlite3_reset(st);
	return err;
}

const char *hj_db_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

int hj_db_col_dup(char **out, sqlite3_stmt *st, int col)
{
	int is_null = sqlite3_column_type(st, col) == SQLITE_NULL;
	const unsigned char *t = sqlite3_column_text(st, col);
	*out = NULL;
	if (!t && !is_null)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	return (*out = strdup(t ? (const char *)t : "")) ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
}

int hj_db_get_int(hj_db *db, const char *sql, const char *name, const char *arg, int64_t *out)
{
	int rc;
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	if (!st)
		return HJ_ERROR;
	if (name && (rc = hj_db_bind_text(st, name, arg)))
		goto done;
	if ((rc = hj_db_step(db, st)) < 0)
		goto done;
	if (rc == 0) {
		rc = HJ_ENOTFOUND;
		goto done;
	}
	*out = sqlite3_column_int64(st, 0);
	rc = 0;
done:
	hj_db_release(db, st);
	return rc;
}

int hj_db_get_text(char **out, hj_db *db, const char *sql, const char *name, const char *arg)
{
	int rc;
	*out = NULL;
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	if (!st)
		return HJ_ERROR;
	if (name && (rc = hj_db_bind_text(st, name, arg)))
		goto done;
	if ((rc = hj_db_step(db, st)) < 0)
		goto done;
	if (rc == 0 || sqlite3_column_type(st, 0) == SQLITE_NULL) {
		rc = HJ_ENOTFOUND;
		goto done;
	}
	const unsigned char *t = sqlite3_column_text(st, 0);
	if (!t) { /* not NULL-typed, so a failed conversion: out of memory */
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	rc = (*out = strdup((const char *)t)) ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
done:
	hj_db_release(db, st);
	return rc;
}

int hj_meta_get(char **out, hj_db *db, const char *key)
{
	return hj_db_get_text(out, db, "SELECT value FROM meta WHERE key = :k", ":k", key);
}

int hj_meta_set(hj_db *db, const char *key, const char *value)
{
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO meta(key, value) VALUES (:k, :v) "
					  "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
	if (!st)
		return HJ_ERROR;
	int rc;
	if (!(rc = hj_db_bind_text(st, ":k", key)) && !(rc = hj_db_bind_text(st, ":v", value)))
		rc = hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}
