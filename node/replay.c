/*
 * replay.c — fold the hub order plus own pending change sets.
 */
#include "replay.h"
#include "enrolled.h"
#include "rules.h"
#include "followed.h"
#include "hub_entry.h"
#include "undo.h"
#include "error.h"
#include "projection.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hj_replay_key(hj_db *db, const hj_node *n, const char *node, uint8_t pk[32])
{
	char *hub = NULL, *key = NULL;
	int rc = hj_enrolled_key(pk, db, node);
	if (rc != HJ_ENOTFOUND)
		return rc; /* found, or a failed lookup: never "not enrolled" */
	if (strcmp(node, n->id) == 0) {
		memcpy(pk, n->pk, 32);
		return 0;
	}
	/* A county trusts its hub's key from init (--hub-key): the hub's
	 * change set 1 enrols the hub itself, so nothing enrolled precedes it. */
	if ((rc = hj_meta_get(&hub, n->db, "hub_node")) && rc != HJ_ENOTFOUND)
		return rc;
	if ((rc = hj_meta_get(&key, n->db, "hub_key")) && rc != HJ_ENOTFOUND) {
		free(hub);
		return rc;
	}
	rc = hj_error_set(HJ_EBADSIG, "change set by %s, which is not enrolled at this point of the hub order", node);
	if (hub && key && strcmp(hub, node) == 0 && hj_hex_decode(pk, 32, key) == 0)
		rc = 0;
	free(hub);
	free(key);
	return rc;
}

/* Does this county hold the rows `op` touches? (SUBTREE mode.) 1 yes,
 * 0 no, negative when the lookup failed — which must not skip the op. */
static int county_holds(hj_db *db, const hj_node *n, const hj_json *op, const char *hub_key)
{
	const char *name = hj_json_get_str(op, "op");
	if (name && strncmp(name, "service.", 8) == 0)
		return hj_fold_service_held(db, op); /* a delivery: where its record is */
	if (!name || strncmp(name, "member.", 7) != 0)
		return 1; /* the org tree and the nodes are held everywhere */
	if (strcmp(name, "member.apply") == 0) {
		const char *u = hj_json_get_str(op, "union");
		if (!u)
			return 0;
		return strcmp(u, n->union_id) == 0 ? 1 : hj_org_in_subtree(db, u, n->union_id);
	}
	int64_t k = 0;
	int rc;
	const char *to = hj_json_get_str(op, "to");
	if (strncmp(name, "member.transfer_", 16) == 0 && hj_json_get_str(op, "transfer")) {
		/* Deciding a transfer: held where the transfer is. */
		rc = hj_db_get_int(db, "SELECT count(*) FROM transfer WHERE id = :id", ":id",
				   hj_json_get_str(op, "transfer"), &k);
		return rc ? rc : k > 0;
	}
	if (strcmp(name, "member.transfer_request") == 0) {
		/* The receiving union, and the one holding the person's record. */
		const char *key = hj_json_get_str(hj_json_get(op, "person"), "key");
		rc = hj_db_get_int(db, "SELECT count(*) FROM membership WHERE person_key = :k AND status = 'active'", ":k",
				   key ? key : hub_key, &k);
		if (rc || k)
			return rc ? rc : 1;
		return !to ? 0 : strcmp(to, n->union_id) == 0 ? 1 : hj_org_in_subtree(db, to, n->union_id);
	}
	const char *m = hj_json_get_str(op, "member");
	if (!m)
		return 0;
	rc = hj_db_get_int(db, "SELECT count(*) FROM membership WHERE id = :id", ":id", m, &k);
	if (rc || k || (strcmp(name, "member.hand_down") != 0 && strcmp(name, "member.transfer_offer") != 0))
		return rc ? rc : k > 0;
	/* A record moving into a union of this subtree from outside it: the
	 * new record is this county's (built from the op's snapshot). */
	if (!to)
		return 0;
	return strcmp(to, n->union_id) == 0 ? 1 : hj_org_in_subtree(db, to, n->union_id);
}

/* Fold one change set's ops. `verdicts` NULL = all ok. full: check each
 * verdict is reproduced. pending: own, not yet sequenced (rules NULL:
 * this huiji's, "now" its created_at); else the rules its hub entry
 * decided it under. */
static int replay_one(hj_db *target, const hj_node *n, const hj_envelope *e, const hj_json *verdicts,
		      const hj_json *keys, const hj_followed_rules *rules, int full, int pending, hj_replay_stats *st)
{
	hj_json *payload = NULL;
	const hj_json *entry = NULL;
	hj_foldctx ctx;
	hj_verdict v;
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	if (rc)
		return hj_error_wrap(rc, "%s seq %" PRIu64 ": payload: ", e->node, e->seq);
	const hj_json *ops = hj_fold_payload_ops(payload, &rc);
	if (!ops)
		goto done;
	/* The hub's sequence entries carry no registry ops of their own. */
	if ((rc = hj_hub_entry_find(&entry, ops)) || entry ||
	    (verdicts && (rc = hj_hub_verdicts_check(verdicts, ops->count))) ||
	    (keys && (rc = hj_hub_keys_check(keys, ops->count)))) {
		if (rc)
			hj_error_wrap(rc, "%s seq %" PRIu64 ": ", e->node, e->seq);
		goto done;
	}
	hj_node_foldctx(n, e->seq, 0, &ctx);
	ctx.actor = e->node;
	ctx.trust_hub = !full && !pending;
	ctx.provisional_keys = pending;
	ctx.now_ms = rules && rules->at_ms ? rules->at_ms : e->created_at;
	if (rules)
		ctx.rules = rules->rules;
	for (size_t i = 0; i < ops->count; i++) {
		const char *hub_reason = "?";
		int hub_ok = hj_hub_verdict_at(verdicts, i, &hub_reason, NULL);
		ctx.index = (uint32_t)i;
		ctx.hub_person_key = hj_hub_key_at(keys, i);
		ctx.hub_reason = full && !pending && !hub_ok ? hub_reason : NULL; /* duplicate_province: its word */
		int holds = 1;
		if (!full && !pending && hub_ok && (holds = county_holds(target, n, ops->items[i], ctx.hub_person_key)) < 0) {
			rc = holds;
			goto done;
		}
		if (!full && !pending && (!hub_ok || !holds)) {
			st->skipped++;
			if (hub_ok && (rc = hj_fold_person_refresh(target, &ctx, ops->items[i])))
				goto done;
			continue;
		}
		if ((rc = hj_fold_op(target, &ctx, ops->items[i], &v)))
			goto done;
		if (pending) {
			st->ops += v.applied;
			st->pending_rejected += !v.applied;
		} else if (v.applied != hub_ok || (!hub_ok && strcmp(v.reason, hub_reason) != 0)) {
			rc = hj_error_set(HJ_ECONFLICT, "%s seq %" PRIu64 " op %zu: the hub's verdict is %s but the "
					  "re-fold gives %s%s%s", e->node, e->seq, i, hub_ok ? "applied" : hub_reason,
					  v.applied ? "applied" : v.reason, v.applied ? "" : ": ", v.applied ? "" : v.detail);
			goto done;
		} else {
			st->ops += v.applied;
			st->skipped += !v.applied;
		}
	}
done:
	hj_json_free(payload);
	return rc;
}

/* Decode (and optionally verify) one stored envelope, known as `node` seq
 * `seq`: the hash first, so no byte is inflated before it is vouched for. */
static int load(hj_envelope *e, hj_db *target, const hj_node *n, const char *node, uint64_t seq,
		const uint8_t *bytes, size_t len, const uint8_t *hash, int check_sigs)
{
	uint8_t pk[32], h[32];
	int rc = 0;
	memset(e, 0, sizeof *e);
	if (!bytes || !len) /* a NULL or empty blob: nothing to vouch for */
		return hj_error_set(HJ_ECORRUPT, "%s seq %" PRIu64 ": empty envelope", node, seq);
	hj_hash32(h, bytes, len);
	if (hash && memcmp(h, hash, 32) != 0)
		rc = hj_error_set(HJ_ECORRUPT, "stored hash does not match the envelope");
	else if (check_sigs && !(rc = hj_replay_key(target, n, node, pk)))
		rc = hj_envelope_verify(bytes, len, pk);
	if (!rc)
		rc = hj_envelope_decode(e, bytes, len);
	if (!rc && (strcmp(e->node, node) != 0 || e->seq != seq))
		rc = hj_error_set(HJ_ECORRUPT, "envelope says %s seq %" PRIu64, e->node, e->seq);
	if (rc) {
		hj_error_wrap(rc, "%s seq %" PRIu64 ": ", node, seq);
		hj_envelope_free(e);
	}
	return rc;
}

/* Fold followed rows with pos > after_pos; *own_done = last own seq seen
 * in the whole hub order (not only the rows folded). */
static int replay_followed(hj_db *target, const hj_node *n, int64_t after_pos, int check_sigs,
			   hj_replay_stats *st, uint64_t *own_done)
{
	sqlite3_stmt *q = NULL;
	hj_envelope e;
	hj_json *verdicts = NULL, *keys = NULL;
	int rc = 0;

	if ((rc = hj_followed_last(n->db, n->id, own_done, (uint8_t[32]){0})))
		return rc;
	/* Own statements, not the cache: the fold uses the cache meanwhile.
	 * The whole order by hub position (a backfill is appended after rows
	 * it precedes); what a rebase folds (after_pos > 0) was appended in
	 * hub order — a backfill makes the caller rebuild instead — so its
	 * rows are read by rowid range, costing what is new, not the table. */
	const char *sql = after_pos > 0 ? "SELECT node, seq, hash, envelope, verdicts, rules, hub_at, keys FROM followed "
					  "WHERE pos > ?1 ORDER BY pos"
					: "SELECT node, seq, hash, envelope, verdicts, rules, hub_at, keys FROM followed "
					  "WHERE pos > ?1 ORDER BY hub_seq, idx, pos";
	if (sqlite3_prepare_v2(n->db->h, sql, -1, &q, NULL) != SQLITE_OK)
		return hj_db_error(n->db, "replay");
	if (sqlite3_bind_int64(q, 1, after_pos) != SQLITE_OK) {
		rc = hj_db_error(n->db, "replay");
		sqlite3_finalize(q);
		return rc;
	}
	while ((rc = hj_db_step(n->db, q)) == 1) {
		const char *node = hj_db_col_text(q, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(q, 1);
		if (sqlite3_column_bytes(q, 2) != 32) {
			rc = hj_error_set(HJ_ECORRUPT, "followed %s seq %" PRIu64 ": bad hash", node, seq);
			break;
		}
		const uint8_t *hash = sqlite3_column_blob(q, 2), *env = sqlite3_column_blob(q, 3);
		if ((rc = load(&e, target, n, node, seq, env, (size_t)sqlite3_column_bytes(q, 3), hash, check_sigs)))
			break;
		rc = hj_hub_verdicts_parse(&verdicts, sqlite3_column_type(q, 4) == SQLITE_NULL ? NULL : hj_db_col_text(q, 4),
					   HJ_HUB_NOPS_ANY);
		if (!rc)
			rc = hj_hub_keys_parse(&keys, sqlite3_column_type(q, 7) == SQLITE_NULL ? NULL : hj_db_col_text(q, 7),
					       HJ_HUB_NOPS_ANY);
		if (rc)
			hj_error_wrap(rc, "followed %s seq %" PRIu64 ": ", node, seq);
		hj_followed_rules rules = {(uint32_t)sqlite3_column_int64(q, 5), sqlite3_column_int64(q, 6)};
		if (!rc && (rules.rules < 1 || rules.rules > HJ_RULES_VERSION))
			rc = hj_error_set(HJ_EVERSION, "followed %s seq %" PRIu64 ": decided under rules version %" PRIu32
					  ", unknown to this huiji: upgrade huiji", node, seq, rules.rules);
		if (!rc)
			rc = replay_one(target, n, &e, verdicts, keys, &rules, n->is_root, 0, st);
		hj_json_free(verdicts);
		hj_json_free(keys);
		verdicts = keys = NULL;
		hj_envelope_free(&e);
		if (rc)
			break;
		st->followed++;
	}
	sqlite3_finalize(q);
	return rc < 0 ? rc : 0;
}

/* Own pending (seq > own_done), replayed on top of the hub's decisions. At
 * the hub these are only its sequence entries, which fold to nothing.
 * capture: record each one's inverse for the next rebase (live county). */
static int replay_pending(hj_db *target, const hj_node *n, uint64_t own_done, int capture, hj_replay_stats *st)
{
	sqlite3_stmt *q = NULL;
	hj_envelope e;
	int rc;
	if (sqlite3_prepare_v2(n->db->h, "SELECT seq, hash, envelope FROM changelog WHERE seq > ?1 ORDER BY seq",
			       -1, &q, NULL) != SQLITE_OK)
		return hj_db_error(n->db, "replay");
	sqlite3_bind_int64(q, 1, (int64_t)own_done);
	/* ^ own_done comes from the hub order; verify checks separately that
	 * those rows are this node's change log, byte for byte. */
	while ((rc = hj_db_step(n->db, q)) == 1) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(q, 0);
		sqlite3_session *sess = NULL;
		if (sqlite3_column_bytes(q, 1) != 32) { /* load compares 32 bytes */
			rc = hj_error_set(HJ_ECORRUPT, "changelog seq %" PRIu64 ": bad hash", seq);
			break;
		}
		const uint8_t *hash = sqlite3_column_blob(q, 1), *env = sqlite3_column_blob(q, 2);
		if ((rc = load(&e, target, n, n->id, seq, env, (size_t)sqlite3_column_bytes(q, 2), hash, 0)))
			break;
		if (capture && (rc = hj_undo_begin(target, &sess))) {
			hj_envelope_free(&e);
			break;
		}
		rc = replay_one(target, n, &e, NULL, NULL, NULL, n->is_root, 1, st);
		hj_envelope_free(&e);
		if (!rc)
			rc = hj_undo_end(target, sess, seq);
		else if (sess)
			sqlite3session_delete(sess);
		if (rc)
			break;
		st->pending++;
	}
	sqlite3_finalize(q);
	return rc < 0 ? rc : 0;
}

int hj_replay(hj_db *target, const hj_node *n, int check_sigs, hj_replay_stats *st)
{
	uint64_t own_done = 0;
	int capture = target == n->db && !n->is_root;
	memset(st, 0, sizeof *st);
	int rc = replay_followed(target, n, 0, check_sigs, st, &own_done);
	if (!rc && capture)
		rc = hj_db_exec(target, "DELETE FROM undo");
	if (!rc)
		rc = replay_pending(target, n, own_done, capture, st);
	return rc;
}

/* Refuse every conflict: an inverse that does not apply exactly means the
 * rows moved in a way the undo log did not see; the caller rebuilds. */
static int undo_conflict(void *ctx, int kind, sqlite3_changeset_iter *it)
{
	(void)ctx;
	(void)kind;
	(void)it;
	return SQLITE_CHANGESET_ABORT;
}

int hj_rebase(const hj_node *n, int64_t old_last_pos, uint64_t old_own_done, hj_replay_stats *st)
{
	sqlite3_stmt *q = NULL;
	uint64_t own_done = 0;
	int rc = 0;
	memset(st, 0, sizeof *st);
	/* 1. Take the pending ops back out, newest first. */
	if (sqlite3_prepare_v2(n->db->h, "SELECT c.seq, u.inverse FROM changelog c LEFT JOIN undo u ON u.seq = c.seq "
					 "WHERE c.seq > ?1 ORDER BY c.seq DESC", -1, &q, NULL) != SQLITE_OK)
		return hj_db_error(n->db, "rebase");
	sqlite3_bind_int64(q, 1, (int64_t)old_own_done);
	while ((rc = hj_db_step(n->db, q)) == 1) {
		if (sqlite3_column_type(q, 1) == SQLITE_NULL) {
			rc = hj_error_set(HJ_ENOTFOUND, "rebase: no undo record for seq %lld",
					  (long long)sqlite3_column_int64(q, 0));
			break;
		}
		/* Blob first, then its length (SQLite's documented order). */
		const void *inv = sqlite3_column_blob(q, 1);
		int len = sqlite3_column_bytes(q, 1);
		if (len > 0 && !inv) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			break;
		}
		int arc = len == 0 ? SQLITE_OK /* it changed nothing */
				   : sqlite3changeset_apply(n->db->h, len, (void *)inv, NULL, undo_conflict, NULL);
		/* Only a refused conflict (ABORT) or a malformed record means
		 * "does not apply" and sends the caller to rebuild; an I/O error
		 * is an error, or a failing disk would look like a conflict. */
		int basic = arc & 0xff;
		if (arc != SQLITE_OK && (basic == SQLITE_ABORT || basic == SQLITE_CONSTRAINT ||
					 basic == SQLITE_CORRUPT || basic == SQLITE_MISMATCH)) {
			rc = hj_error_set(HJ_ECONFLICT, "rebase: the undo of seq %lld does not apply (%s)",
					  (long long)sqlite3_column_int64(q, 0), sqlite3_errstr(arc));
			break;
		}
		if (arc != SQLITE_OK) {
			char what[64];
			snprintf(what, sizeof what, "rebase: undoing seq %lld", (long long)sqlite3_column_int64(q, 0));
			rc = hj_db_fail(n->db, arc, 1, what);
			break;
		}
	}
	sqlite3_finalize(q);
	if (rc < 0)
		return rc;
	/* 2. The hub's new decisions; 3. what it has not seen, on top. */
	if ((rc = replay_followed(n->db, n, old_last_pos, 0, st, &own_done)) ||
	    (rc = hj_db_exec(n->db, "DELETE FROM undo")) ||
	    (rc = replay_pending(n->db, n, own_done, 1, st)))
		return rc;
	return 0;
}
