/*
 * db.h — the one SQLite wrapper: open with huiji's pragmas, cached
 * statements, bind-by-name helpers, and errors translated into hj_error.
 *
 * Values are always bound, never formatted into SQL text. Statements come
 * from a per-connection cache keyed by their SQL text, so hot paths prepare
 * once. A statement is leased: hj_db_stmt hands it out, hj_db_release gives
 * it back, and a leased statement is never evicted nor handed to a second
 * caller (who gets a fresh one), so nested users of one SQL text do not
 * reset each other's iteration.
 */
#ifndef HJ_DB_H
#define HJ_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HJ_DB_CACHE 96

/* The cache keeps at most HJ_DB_CACHE idle statements; leased ones are
 * kept beyond that until released (the array grows). */
typedef struct hj_db_slot {
	char *sql; /* owned copy: the key outlives any caller's buffer */
	uint32_t hash; /* FNV-1a of sql, so a lookup compares text rarely */
	sqlite3_stmt *st;
	int leased;
} hj_db_slot;

typedef struct hj_db {
	sqlite3 *h;
	hj_db_slot *cache;
	int ncache, cap;
	int lost_tx; /* SQLite rolled the transaction back on an error: refuse
		      * every statement until the caller's ROLLBACK */
	char lost_msg[512]; /* that error's message: every refusal repeats it */
} hj_db;

/* Open (creating if `create`) a registry file: WAL, synchronous=FULL,
 * foreign keys on, busy timeout. ":memory:" works for scratch folds.
 * CONSTRUCTOR: free with hj_db_close. */
int hj_db_open(hj_db **out, const char *path, int create);
void hj_db_close(hj_db *db); /* accepts NULL */

/* Run SQL text with no parameters (schema, BEGIN/COMMIT). "ROLLBACK" with
 * no transaction open (SQLite already rolled it back) succeeds quietly, so
 * cleanup paths keep the first error's message.
 *
 * After an I/O error, a full disk or out-of-memory, SQLite may roll the
 * whole transaction back by itself; later statements would then each
 * autocommit. The wrapper notices (the connection left its transaction
 * during a failed statement) and refuses every statement with an error
 * until the caller executes "ROLLBACK", so a swallowed error can never
 * half-apply a command. */
int hj_db_exec(hj_db *db, const char *sql);

/* Lease a cached prepared statement, reset and with bindings cleared. The
 * caller must not finalize it and must give it back with hj_db_release on
 * every path. NULL on error (message set). */
sqlite3_stmt *hj_db_stmt(hj_db *db, const char *sql);

/* End a lease: reset the statement, clear its bindings and return it to the
 * cache. Accepts NULL, so `done:` can release unconditionally. */
void hj_db_release(hj_db *db, sqlite3_stmt *st);

/* Bind by name (":name"); a NULL text binds SQL NULL. Return 0 or HJ_ERROR. */
int hj_db_bind_text(sqlite3_stmt *st, const char *name, const char *v);
int hj_db_bind_int(sqlite3_stmt *st, const char *name, int64_t v);
int hj_db_bind_blob(sqlite3_stmt *st, const char *name, const void *p, size_t n);

/* Step: returns 1 for a row, 0 when done, HJ_ERROR (message set) else. */
int hj_db_step(hj_db *db, sqlite3_stmt *st);

/* Record the connection's last SQLite error under `what` (the message
 * carries SQLite's text and extended code, never bound values); returns
 * HJ_ERROR. */
int hj_db_error(hj_db *db, const char *what);

/* The same for a SQLite result `code` met outside the wrapper (the
 * session extension, sqlite3changeset_apply): a failed write names the
 * disk and the file; and if SQLite rolled the caller's transaction back
 * (`in_tx`, and none is open now), that is what the message says, and
 * the connection refuses every statement until ROLLBACK as after a
 * wrapped one. Returns HJ_ERROR. */
int hj_db_fail(hj_db *db, int code, int in_tx, const char *what);

/* Text column or "" (never NULL), for printing. */
const char *hj_db_col_text(sqlite3_stmt *st, int col);

/* A text column copied for a decision: 0 with *out malloc'd (SQL NULL
 * copies as ""), or HJ_ENOMEM — never "" in place of a failed conversion,
 * which a fold would judge as a real value. DESTRUCTOR: free. */
int hj_db_col_dup(char **out, sqlite3_stmt *st, int col);

/* One-value queries: the first column of the first row, with `arg` bound to
 * parameter `name` (no binding when name is NULL). Each returns 0 (found),
 * HJ_ENOTFOUND (no row), or a negative error (message set) — a failed query
 * is never "no row". hj_db_get_int reads SQL NULL as 0 (count/max queries);
 * hj_db_get_text reports SQL NULL as HJ_ENOTFOUND, like no row, and sets
 * *out = NULL on every non-zero return.
 * CONSTRUCTOR (get_text): *out is malloc'd; DESTRUCTOR: free. */
int hj_db_get_int(hj_db *db, const char *sql, const char *name,
		  const char *arg, int64_t *out);
int hj_db_get_text(char **out, hj_db *db, const char *sql, const char *name,
		   const char *arg);

/* Local key/value state in the meta table. hj_meta_get: 0 with *out
 * malloc'd (free it), HJ_ENOTFOUND if the key is unset, or an error. */
int hj_meta_get(char **out, hj_db *db, const char *key);
int hj_meta_set(hj_db *db, const char *key, const char *value);

#endif
