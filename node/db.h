/*
 * db.h — the one SQLite wrapper: open with huiji's pragmas, cached
 * statements, bind-by-name helpers, and errors translated into hj_error.
 *
 * Values are always bound, never formatted into SQL text. Statements come
 * from a per-connection cache keyed by their SQL text, so hot paths prepare
 * once.
 */
#ifndef HJ_DB_H
#define HJ_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HJ_DB_CACHE 96

typedef struct hj_db {
	sqlite3 *h;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[HJ_DB_CACHE];
	int ncache;
} hj_db;

/* Open (creating if `create`) a registry file: WAL, synchronous=FULL,
 * foreign keys on, busy timeout. ":memory:" works for scratch folds.
 * CONSTRUCTOR: free with hj_db_close. */
int hj_db_open(hj_db **out, const char *path, int create);
void hj_db_close(hj_db *db); /* accepts NULL */

/* Run SQL text with no parameters (schema, BEGIN/COMMIT). */
int hj_db_exec(hj_db *db, const char *sql);

/* A cached prepared statement, reset and with bindings cleared. The caller
 * must not finalize it. NULL on error (message set). */
sqlite3_stmt *hj_db_stmt(hj_db *db, const char *sql);

/* Bind by name (":name"); a NULL text binds SQL NULL. Return 0 or HJ_ERROR. */
int hj_db_bind_text(sqlite3_stmt *st, const char *name, const char *v);
int hj_db_bind_int(sqlite3_stmt *st, const char *name, int64_t v);
int hj_db_bind_blob(sqlite3_stmt *st, const char *name, const void *p, size_t n);

/* Step: returns 1 for a row, 0 when done, HJ_ERROR (message set) else. */
int hj_db_step(hj_db *db, sqlite3_stmt *st);

/* Record the connection's last SQLite error under `what`; returns HJ_ERROR. */
int hj_db_error(hj_db *db, const char *what);

/* Text column or "" (never NULL), for printing. */
const char *hj_db_col_text(sqlite3_stmt *st, int col);

/* One-value queries. hj_db_get_text returns malloc'd text or NULL if no row
 * (DESTRUCTOR: free). */
int hj_db_get_int(hj_db *db, const char *sql, const char *name,
		  const char *arg, int64_t *out);
char *hj_db_get_text(hj_db *db, const char *sql, const char *name,
		     const char *arg);

/* Local key/value state in the meta table. */
char *hj_meta_get(hj_db *db, const char *key); /* malloc'd or NULL */
int hj_meta_set(hj_db *db, const char *key, const char *value);

#endif
