/*
 * undo.h — inverses of a county's own change sets (SQLite session
 * extension), so the rebase can take pending work off the projection
 * without refolding from nothing (node/replay.c).
 */
#ifndef HJ_UNDO_H
#define HJ_UNDO_H

#include "db.h"

#include <stdint.h>

/* Record the inverse of one own change set's effect on the projection:
 * begin before folding it, end after (stores undo row `seq`). */
int hj_undo_begin(hj_db *db, sqlite3_session **out);
int hj_undo_end(hj_db *db, sqlite3_session *sess, uint64_t seq);

#endif
