/*
 * quarantine.c — the hub's held-back change sets: recorded by the
 * sequencer, listed and resolved by the operator. The one owner of the
 * `quarantine` table and of the feed-ref reset that resolves it.
 */
#include "quarantine.h"
#include "clock.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

int hj_quarantine_add(hj_db *db, const char *node, uint64_t seq, const char *reason, const char *detail,
		      const uint8_t *evidence, size_t len, const git_oid *commit)
{
	uint8_t h[32];
	char oid[GIT_OID_HEXSZ + 1] = "";
	if (evidence)
		hj_hash32(h, evidence, len);
	if (commit)
		git_oid_tostr(oid, sizeof oid, commit);
	sqlite3_stmt *st = hj_db_stmt(db,
		"INSERT INTO quarantine(node, seq, hash, reason, detail, evidence, commit_id) "
		"VALUES (:n, :s, :h, :r, :d, :e, :c) ON CONFLICT(node, seq) DO UPDATE SET hash = excluded.hash, "
		"reason = excluded.reason, detail = excluded.detail, evidence = excluded.evidence, "
		"commit_id = excluded.commit_id, resolved_at = NULL");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":n", node) || hj_db_bind_int(st, ":s", (int64_t)seq) ||
		  (evidence ? hj_db_bind_blob(st, ":h", h, 32) : 0) || hj_db_bind_text(st, ":r", reason) ||
		  hj_db_bind_text(st, ":d", detail) || (evidence ? hj_db_bind_blob(st, ":e", evidence, len) : 0) ||
		  hj_db_bind_text(st, ":c", oid[0] ? oid : NULL))
			 ? HJ_ERROR
			 : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_quarantine_open_count(int64_t *out, hj_db *db, const char *node)
{
	*out = 0;
	return hj_db_get_int(db, "SELECT count(*) FROM quarantine WHERE node = :n AND resolved_at IS NULL", ":n", node,
			     out);
}

int hj_quarantine_list(hj_db *db, int all, hj_quarantine_cb cb, void *ctx)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT node, seq, reason, detail, hex(hash), coalesce(commit_id, ''), "
					  "length(evidence), coalesce(resolved_at, '') FROM quarantine "
					  "WHERE :all OR resolved_at IS NULL ORDER BY node, seq");
	int rc = 0, step = 0;
	if (!st)
		return HJ_ERROR;
	if (hj_db_bind_int(st, ":all", all ? 1 : 0)) {
		hj_db_release(db, st);
		return HJ_ERROR;
	}
	while (!rc && (step = hj_db_step(db, st)) == 1) {
		hj_quarantine_row row = {
			.node = hj_db_col_text(st, 0),
			.seq = sqlite3_column_int64(st, 1),
			.reason = hj_db_col_text(st, 2),
			.detail = hj_db_col_text(st, 3),
			.hash = hj_db_col_text(st, 4),
			.commit = hj_db_col_text(st, 5),
			.evidence_bytes = sqlite3_column_int64(st, 6),
			.resolved_at = *hj_db_col_text(st, 7) ? hj_db_col_text(st, 7) : NULL,
		};
		rc = cb(ctx, &row);
	}
	hj_db_release(db, st);
	return rc ? rc : step < 0 ? step : 0;
}

int hj_quarantine_reset(int64_t *resolved, hj_node *hub, hj_gitrepo *repo, const char *node)
{
	char fref[160], sref[160], now[32];
	git_oid soid;
	int rc;
	*resolved = 0;
	if ((rc = hj_node_id_check(node)))
		return rc;
	hj_clock_utc_iso(now);
	snprintf(fref, sizeof fref, "refs/huiji/feeds/%s", node);
	snprintf(sref, sizeof sref, "refs/huiji/sequenced/%s", node);
	/* Back to the sequenced history; with none, the feed starts afresh.
	 * An unreadable sequenced ref is an error: deleting the feed then
	 * would throw away what the hub vouches for. */
	rc = hj_gitrepo_ref_get(&soid, repo, sref);
	if (rc == 0)
		rc = hj_gitrepo_ref_set(repo, fref, &soid, "huiji: quarantine reset");
	else if (rc == HJ_ENOTFOUND && (rc = hj_gitrepo_ref_delete(repo, fref)) == HJ_ENOTFOUND)
		rc = 0;
	if (rc)
		return rc;
	/* A fork the node sent (refs/huiji/forks/<node>) is resolved with
	 * it: its evidence stays in the rows. */
	snprintf(fref, sizeof fref, "refs/huiji/forks/%s", node);
	if ((rc = hj_gitrepo_ref_delete(repo, fref)) && rc != HJ_ENOTFOUND)
		return rc;
	sqlite3_stmt *st = hj_db_stmt(hub->db, "UPDATE quarantine SET resolved_at = :t WHERE node = :n AND resolved_at IS NULL");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":t", now) || hj_db_bind_text(st, ":n", node)) ? HJ_ERROR : hj_db_step(hub->db, st);
	hj_db_release(hub->db, st);
	if (rc < 0)
		return rc;
	*resolved = sqlite3_changes(hub->db->h);
	return 0;
}

/* One UPDATE: the row for (node, seq) resolved now. */
int hj_quarantine_mark_resolved(hj_db *db, const char *node, uint64_t seq)
{
	char now[32];
	hj_clock_utc_iso(now);
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE quarantine SET resolved_at = :t WHERE node = :n AND seq = :s");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":t", now) || hj_db_bind_text(st, ":n", node) ||
		  hj_db_bind_int(st, ":s", (int64_t)seq))
			 ? HJ_ERROR
			 : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_quarantine_set_aside(hj_gitrepo *repo, const char *node, const git_oid *seq1)
{
	char fref[160], qref[160];
	git_oid tip;
	int rc = hj_node_id_check(node);
	if (rc)
		return rc;
	snprintf(fref, sizeof fref, "refs/huiji/feeds/%s", node);
	snprintf(qref, sizeof qref, "refs/huiji/quarantined/%s", node);
	if ((rc = hj_gitrepo_ref_get(&tip, repo, fref)) == HJ_ENOTFOUND)
		return 0; /* already set aside */
	if (rc)
		return rc;
	if ((rc = hj_gitfeed_is_ancestor(repo, seq1, &tip)) <= 0)
		return rc; /* 0: the ref was replaced since; nothing to move */
	if ((rc = hj_gitrepo_ref_set(repo, qref, &tip, "huiji: squatted feed set aside")))
		return rc;
	return hj_gitrepo_ref_delete(repo, fref);
}
