/*
 * undo.c — the inverse of one own change set's effect on the projection,
 * recorded with the SQLite session extension for the county rebase.
 */
#include "undo.h"
#include "error.h"
#include "projection.h"

int hj_undo_begin(hj_db *db, sqlite3_session **out)
{
	*out = NULL;
	if (sqlite3session_create(db->h, "main", out) != SQLITE_OK)
		return hj_db_error(db, "session");
	for (int t = 0; hj_projection_tables[t]; t++)
		if (sqlite3session_attach(*out, hj_projection_tables[t]) != SQLITE_OK) {
			sqlite3session_delete(*out);
			*out = NULL;
			return hj_db_error(db, "session attach");
		}
	return 0;
}

int hj_undo_end(hj_db *db, sqlite3_session *sess, uint64_t seq)
{
	int n = 0, ni = 0, rc;
	void *p = NULL, *pi = NULL;
	if (!sess)
		return 0;
	if ((rc = sqlite3session_changeset(sess, &n, &p)) != SQLITE_OK ||
	    (rc = sqlite3changeset_invert(n, p, &ni, &pi)) != SQLITE_OK) {
		rc = hj_db_fail(db, rc, 1, "session changeset");
		goto done;
	}
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT OR REPLACE INTO undo(seq, inverse) VALUES (:s, :b)");
	/* An op that changed nothing has an empty inverse: store it as an
	 * empty blob (a NULL pointer would bind SQL NULL). */
	if (!st) {
		rc = HJ_ERROR;
		goto done;
	}
	rc = (hj_db_bind_int(st, ":s", (int64_t)seq) || hj_db_bind_blob(st, ":b", pi ? pi : "", (size_t)ni))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	rc = rc < 0 ? rc : 0;
done:
	sqlite3_free(p);
	sqlite3_free(pi);
	sqlite3session_delete(sess);
	return rc;
}
