/*
 * verify.c — prove a node's registry: the file is sound (SQLite's own
 * integrity and foreign-key checks, so a damaged index cannot pass as
 * "re-fold equals the registry"), the own feed verifies, and re-folding
 * it from nothing gives the live rows.
 */
#include "verify.h"
#include "error.h"
#include "feed.h"
#include "projection.h"
#include "schema.h"
#include "batch.h"
#include "followed.h"
#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hj_scratch_open(hj_db **out)
{
	int rc = hj_db_open(out, ":memory:", 1);
	if (!rc && (rc = hj_schema_migrate(*out))) {
		hj_db_close(*out);
		*out = NULL;
	}
	return rc;
}

static int count_one(void *vctx, const hj_envelope *e, const uint8_t *bytes, size_t len)
{
	(void)e;
	(void)bytes;
	(void)len;
	((hj_verify_report *)vctx)->change_sets++;
	return 0;
}

/* The table or index holding page `page` ("index X of table Y"): from
 * dbstat when SQLite has it (any page of any b-tree), else the b-tree
 * whose root it is. "" if unknown. */
static void page_owner(hj_db *db, long page, char *out, size_t outsz)
{
	static const char *const sql[] = {
		"SELECT m.type, m.name, m.tbl_name FROM dbstat d JOIN sqlite_master m ON m.name = d.name "
		"WHERE d.pageno = ?1",
		"SELECT type, name, tbl_name FROM sqlite_master WHERE rootpage = ?1"};
	out[0] = '\0';
	for (int i = 0; i < 2 && !out[0]; i++) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db->h, sql[i], -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, page);
			if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 1)) {
				const char *type = hj_db_col_text(st, 0), *name = hj_db_col_text(st, 1),
					   *tbl = hj_db_col_text(st, 2);
				if (strcmp(type, "index") == 0)
					snprintf(out, outsz, "index %s of table %s", name, tbl);
				else
					snprintf(out, outsz, "%s %s", type, name);
			}
		}
		sqlite3_finalize(st);
	}
}

/* The first page number a check message names ("On tree page 13 cell
 * 36: ...", "Fragmentation ... on page 52"), or 0. */
static long message_page(const char *m)
{
	for (const char *p = m; (p = strstr(p, "page ")); p += 5) {
		char *end;
		long v = strtol(p + 5, &end, 10);
		if (end != p + 5 && v > 0)
			return v;
	}
	return 0;
}

/* 1 if reading every entry of index `idx` (its first column, so the
 * record is decoded) fails with SQLITE_CORRUPT. Names come from
 * sqlite_master and are quoted as identifiers (%w), never values. A
 * partial index cannot be forced (INDEXED BY fails to plan): 0. */
static int index_is_malformed(hj_db *db, const char *tbl, const char *idx)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_mprintf("SELECT name FROM pragma_index_info('%q') ORDER BY seqno LIMIT 1", idx);
	char *col = NULL;
	int bad = 0;
	if (sql && sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0))
		col = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_free(sql);
	st = NULL;
	sql = col ? sqlite3_mprintf("SELECT sum(length(quote(\"%w\"))) FROM \"%w\" INDEXED BY \"%w\"", col, tbl, idx)
		  : NULL;
	if (sql && sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK) {
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		bad = rc == SQLITE_CORRUPT;
	}
	sqlite3_finalize(st);
	sqlite3_free(sql);
	sqlite3_free(col);
	return bad;
}

/* The index whose records integrity_check could not decode ("index X of
 * table Y"), or "" if none can be named. */
static void malformed_index(hj_db *db, char *out, size_t outsz)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	if (sqlite3_prepare_v2(db->h, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (!out[0] && sqlite3_step(st) == SQLITE_ROW)
		if (index_is_malformed(db, hj_db_col_text(st, 1), hj_db_col_text(st, 0)))
			snprintf(out, outsz, "index %s of table %s", hj_db_col_text(st, 0), hj_db_col_text(st, 1));
	sqlite3_finalize(st);
}

/* Run one check pragma; its first problem (first line, header dropped) in
 * `first`, the number of problems in *count. SQLITE_OK or the code the
 * check itself failed with (integrity_check stops with SQLITE_CORRUPT on
 * some damaged index records instead of reporting them). */
static int run_check(hj_db *db, const char *pragma, char *first, size_t firstsz, int *count)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h, pragma, -1, &st, NULL);
	*count = 0;
	first[0] = '\0';
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(st, 0);
		rc = SQLITE_OK;
		if (!m || strcmp(m, "ok") == 0)
			continue;
		for (const char *line = m; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
			size_t len = strcspn(line, "\n");
			if (!len || strncmp(line, "*** ", 4) == 0)
				continue;
			if (!(*count)++)
				snprintf(first, firstsz, "%.*s", (int)len, line);
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int hj_verify_integrity(hj_db *db)
{
	char first[300], owner[200] = "";
	int count = 0, rc = run_check(db, "PRAGMA integrity_check(100)", first, sizeof first, &count);
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
		/* The structural half alone still names the damaged page. */
		rc = run_check(db, "PRAGMA quick_check(100)", first, sizeof first, &count);
		if (rc == SQLITE_OK && !count) {
			malformed_index(db, owner, sizeof owner);
			return hj_error_set(HJ_ECORRUPT, "the registry file is damaged: SQLite's integrity check "
					    "stopped on a malformed record%s%s (restore the node from a copy)",
					    owner[0] ? " in " : "", owner);
		}
	}
	if (rc != SQLITE_OK)
		return hj_db_error(db, "integrity check");
	if (count) {
		long page = message_page(first);
		if (page)
			page_owner(db, page, owner, sizeof owner);
		return hj_error_set(HJ_ECORRUPT, "the registry file is damaged: SQLite's integrity check reports "
				    "%d problem%s, first%s%s: %s", count, count == 1 ? "" : "s",
				    owner[0] ? " in " : "", owner, first);
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
		return hj_db_error(db, "foreign key check");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = hj_error_set(HJ_ECORRUPT, "the registry file is inconsistent: table %s row %lld names a %s "
				  "row that does not exist (SQLite's foreign key check)", hj_db_col_text(st, 0),
				  (long long)sqlite3_column_int64(st, 1), hj_db_col_text(st, 2));
	else
		rc = rc == SQLITE_DONE ? 0 : hj_db_error(db, "foreign key check");
	sqlite3_finalize(st);
	return rc;
}

int hj_node_verify(hj_node *n, hj_verify_report *out)
{
	hj_db *scratch = NULL;
	hj_replay_stats st;
	memset(out, 0, sizeof *out);
	/* 0. The file itself: a damaged index answers lookups wrongly (a
	 * duplicate missed) while the re-fold, reading tables, still agrees. */
	int rc = hj_verify_integrity(n->db);
	if (rc)
		return rc;
	/* 1. The own feed: chain, signatures, key, payloads. */
	if ((rc = hj_feed_verify(n->db, n->id, n->pk, count_one, out)))
		return rc;
	/* 2. This node's change sets in the hub order are its change log. */
	sqlite3_stmt *q = hj_db_stmt(n->db, "SELECT f.seq FROM followed f LEFT JOIN changelog c ON c.seq = f.seq "
					    "WHERE f.node = :me AND (c.hash IS NULL OR c.hash <> f.hash) "
					    "ORDER BY f.seq LIMIT 1");
	if (!q)
		return HJ_ERROR;
	if (!(rc = hj_db_bind_text(q, ":me", n->id)) && (rc = hj_db_step(n->db, q)) == 1)
		rc = hj_error_set(HJ_ECORRUPT, "%s seq %lld: in the hub order but missing from or different in "
				  "the change log", n->id, (long long)sqlite3_column_int64(q, 0));
	hj_db_release(n->db, q);
	if (rc)
		return rc;
	/* 3. Re-fold from nothing: the hub order and own pending, every
	 * signature checked against the key enrolled at that point. */
	if ((rc = hj_scratch_open(&scratch)))
		return rc;
	if ((rc = hj_db_exec(scratch, "BEGIN")) || (rc = hj_replay(scratch, n, 1, &st)) ||
	    (rc = hj_db_exec(scratch, "COMMIT")))
		goto done;
	out->ops = st.ops;
	out->followed = st.followed;
	/* 4. Row for row against the live registry. */
	rc = hj_projection_compare(n->db, "live registry", scratch, "re-fold");
done:
	hj_db_close(scratch);
	return rc;
}
