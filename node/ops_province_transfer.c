/*
 * ops_province_transfer.c — a membership record that moves to another
 * province (issue 8 §3). The holding county offers it to a union of an
 * enrolled peer (member.transfer_offer naming "province"); the peer's hub
 * takes the offer in from its audited copy of this province's registry
 * (province.transfer_in, its own op, opening a 'province_in' transfer
 * there); the receiving union answers as for any offer; and this
 * province's hub, seeing the answer in its audited copy of the peer's
 * registry, closes its transfer (province.transfer_out). Both province.*
 * ops are the hub's signed word: a re-fold needs no peer data for them.
 */
#include "fold.h"
#include "envelope.h"
#include "error.h"
#include "idnum.h"
#include "person_key.h"
#include "person_seal.h"
#include "rules.h"
#include "seal.h"
#include "transfer_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XFER_ID_MAX 160 /* "<node>:<seq>:<index>", as hj_fold_op_id writes it */

/* A province id fit for a cross-province transfer, and enrolled as a
 * peer here. 0 go on, 1 rejected, <0 error. */
static int peer_known(hj_db *db, const char *opname, const char *prov, hj_verdict *v)
{
	int64_t n = 0;
	if (!prov || hj_node_id_check(prov) || strlen(prov) > HJ_PROVINCE_XFER_MAX)
		return hj_reject(v, "invalid", "%s: province must be 1-%d of [a-z0-9._-]", opname, HJ_PROVINCE_XFER_MAX), 1;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM peer WHERE province = :p", ":p", prov, &n);
	if (rc)
		return rc;
	return n ? 0 : (hj_reject(v, "unknown_province", "%s: province %s is not an enrolled peer", opname, prov), 1);
}

/* Only the hub writes the province.* ops. 0 go on, 1 rejected. */
static int by_hub_only(hj_db *db, const hj_foldctx *ctx, const char *opname, hj_verdict *v)
{
	int rc = hj_transfer_actor_is_hub(db, ctx->actor);
	if (rc < 0)
		return rc;
	return rc ? 0 : (hj_reject(v, "no_authority", "%s: only the hub takes transfers across provinces", opname), 1);
}

/* Rules 3 and a date. 0 go on, 1 rejected. */
static int dated(const hj_foldctx *ctx, const char *opname, const char *on, hj_verdict *v)
{
	int y, m, d;
	if ((ctx->rules ? ctx->rules : 1) < HJ_TRANSFER_RULES)
		return hj_reject(v, "invalid", "%s: transfers need rules %d", opname, HJ_TRANSFER_RULES), 1;
	if (!on || hj_date_parse(on, &y, &m, &d))
		return hj_reject(v, "invalid", "%s: \"on\" must be a date YYYY-MM-DD", opname), 1;
	return 0;
}

/* A county's fold keeps only its subtree: a transfer it does not hold is
 * no verdict of its to give (the hub gave it). */
static int county_view(const hj_foldctx *ctx)
{
	return ctx->self_union && !ctx->self_is_root;
}

/* Is the snapshot's person sealed to the peer's hub ("hub@<prov>")? A
 * plaintext one (op version 2) is not for another province at all. */
static int sealed_to_peer(const hj_json *snap, const char *prov)
{
	const hj_json *sealed = hj_json_get(hj_json_get(snap, "person"), "sealed");
	char want[80];
	int found = 0;
	hj_sealed *s = sealed ? malloc(sizeof *s) : NULL;
	if (!s || hj_sealed_decode(s, sealed)) {
		free(s);
		return 0;
	}
	snprintf(want, sizeof want, HJ_SEAL_HUB_AT "%s", prov);
	for (size_t i = 0; i < s->nto; i++)
		found |= strcmp(s->to[i].id, want) == 0;
	free(s);
	return found;
}

/* "<a>/<b>" into out (XFER_ID_MAX + 65 bytes). */
static void joined(char *out, size_t n, const char *a, const char *b)
{
	snprintf(out, n, "%s/%s", a, b);
}

int hj_fold_province_offer(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const char *key, hj_verdict *v)
{
	const char *prov = hj_json_get_str(op, "province"), *to = hj_json_get_str(op, "to");
	const hj_json *snap = hj_json_get(op, "snapshot");
	char opid[XFER_ID_MAX], to_union[140];
	int rc = peer_known(db, "member.transfer_offer", prov, v);
	if (rc)
		return rc < 0 ? rc : 0;
	if (hj_node_id_check(to))
		return hj_reject(v, "invalid", "member.transfer_offer: union id %.64s is not an id", to);
	if (!sealed_to_peer(snap, prov))
		return hj_reject(v, "invalid", "member.transfer_offer: the snapshot is not sealed to province %s's hub", prov);
	hj_fold_op_id(opid, sizeof opid, ctx);
	joined(to_union, sizeof to_union, prov, to);
	hj_transfer_row t = {
		.id = opid, .kind = "province_out", .person_key = key, .from_member = hj_json_get_str(op, "member"),
		.from_union = hj_json_get_str(snap, "union"), .to_union = to_union, .status = "open",
		.opened_on = hj_json_get_str(op, "on"), .opened_by = ctx->actor, .snapshot = snap,
	};
	return hj_transfer_insert(db, &t);
}

/* The hub checks the key it wrote against the number it sealed. 0 go on,
 * 1 rejected. Elsewhere a shut seal is the hub's word. */
static int key_of_person(const hj_foldctx *ctx, const hj_json *person, const char *key, hj_verdict *v)
{
	hj_json *view = NULL;
	int readable = 0;
	int rc = hj_person_view(&view, &readable, ctx, person);
	if (rc == HJ_ECORRUPT)
		return hj_reject(v, "invalid", "province.transfer_in: the snapshot's %s", hj_error_last()), 1;
	if (!rc && !readable)
		rc = hj_fold_person_shut(ctx, "province.transfer_in", key, v);
	else if (!rc && ctx->person_secret) {
		char want[65];
		hj_person_key_derive(want, ctx->person_secret, hj_json_get_str(view, "id_number"));
		if (strcmp(want, key) != 0)
			rc = hj_reject(v, "person_key_mismatch", "province.transfer_in: the key is not the person's") + 1;
	}
	hj_json_free(view);
	return rc;
}

/* The person holds no live record here (the first acceptance in this
 * province's order stands; sync/province_transfer.c reports the rest).
 * 0 go on, 1 rejected. */
static int not_held_here(hj_db *db, const char *key, hj_verdict *v)
{
	char *unit = NULL;
	int rc = hj_db_get_text(&unit, db, "SELECT union_id FROM membership WHERE person_key = :k AND status IN "
				"('applied', 'active') ORDER BY id LIMIT 1", ":k", key);
	if (rc == HJ_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	hj_reject(v, "duplicate_member", "province.transfer_in: the person already holds a record in %s", unit);
	snprintf(v->holder, sizeof v->holder, "%s", unit);
	free(unit);
	return 1;
}

/* province.transfer_in {province, transfer, member, from_union, to, on,
 * snapshot, key, peer_hub_seq}: the hub takes in an offer of `province`'s
 * (its transfer `transfer` of record `member`) to union `to` here, the
 * snapshot's person opened by this hub and sealed afresh to `to`'s nodes. */
int hj_fold_province_transfer_in(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	static const char *const name = "province.transfer_in";
	const char *prov = hj_json_get_str(op, "province"), *tid = hj_json_get_str(op, "transfer");
	const char *member = hj_json_get_str(op, "member"), *from = hj_json_get_str(op, "from_union");
	const char *to = hj_json_get_str(op, "to"), *on = hj_json_get_str(op, "on"), *key = hj_json_get_str(op, "key");
	const hj_json *snap = hj_json_get(op, "snapshot");
	char id[XFER_ID_MAX + 66], fm[XFER_ID_MAX + 66], fu[XFER_ID_MAX + 66];
	int64_t n = 0, seq = 0;
	int rc;
	if ((rc = by_hub_only(db, ctx, name, v)) || (rc = dated(ctx, name, on, v)) ||
	    (rc = peer_known(db, name, prov, v)))
		return rc < 0 ? rc : 0;
	if (!tid || strlen(tid) >= XFER_ID_MAX || !member || strlen(member) >= XFER_ID_MAX || hj_node_id_check(from) ||
	    hj_node_id_check(to) || !hj_is_hex64(key) || hj_json_get_int(op, "peer_hub_seq", &seq) || seq < 1)
		return hj_reject(v, "invalid", "%s: transfer, member, from_union, to, key and peer_hub_seq are required",
				 name);
	if (!hj_transfer_snapshot_shape(snap) || !hj_json_get(hj_json_get(snap, "person"), "sealed"))
		return hj_reject(v, "invalid", "%s: a sealed snapshot of the record is required", name);
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM org WHERE id = :u", ":u", to, &n)))
		return rc;
	if (!n)
		return hj_reject(v, "unknown_union", "%s: union %s does not exist", name, to);
	if ((rc = hj_transfer_keeps_union(db, ctx, to)) <= 0)
		return rc; /* not this county's: the hub's row, not held here */
	joined(id, sizeof id, prov, tid);
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM transfer WHERE id = :t", ":t", id, &n)))
		return rc;
	if (n)
		return hj_reject(v, "invalid", "%s: transfer %s is taken in already", name, id);
	if ((rc = not_held_here(db, key, v)) || (rc = key_of_person(ctx, hj_json_get(snap, "person"), key, v)))
		return rc < 0 ? rc : 0;
	joined(fm, sizeof fm, prov, member);
	joined(fu, sizeof fu, prov, from);
	hj_transfer_row t = {
		.id = id, .kind = "province_in", .person_key = key, .from_member = fm, .from_union = fu, .to_union = to,
		.status = "open", .opened_on = on, .opened_by = ctx->actor, .snapshot = snap,
	};
	return hj_transfer_insert(db, &t);
}

/* province.transfer_out {province, transfer, status, on, to_member,
 * peer_hub_seq}: the peer answered this province's offer `transfer`
 * (accepted: the record ends 'transferred' here, at this position, as an
 * acceptance ends it; declined: the record is free again). */
int hj_fold_province_transfer_out(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	static const char *const name = "province.transfer_out";
	const char *prov = hj_json_get_str(op, "province"), *tid = hj_json_get_str(op, "transfer");
	const char *status = hj_json_get_str(op, "status"), *on = hj_json_get_str(op, "on");
	const char *tm = hj_json_get_str(op, "to_member");
	char to_member[XFER_ID_MAX + 66];
	hj_transfer_read t;
	int64_t seq = 0;
	int rc;
	if ((rc = by_hub_only(db, ctx, name, v)) || (rc = dated(ctx, name, on, v)) ||
	    (rc = peer_known(db, name, prov, v)))
		return rc < 0 ? rc : 0;
	int accepted = status && strcmp(status, "accepted") == 0;
	if (!tid || !status || (!accepted && strcmp(status, "declined") != 0) || (accepted && (!tm || strlen(tm) >=
	    XFER_ID_MAX)) || hj_json_get_int(op, "peer_hub_seq", &seq) || seq < 1)
		return hj_reject(v, "invalid", "%s: transfer, status (accepted, with to_member, or declined) and "
				 "peer_hub_seq are required", name);
	rc = hj_transfer_get(&t, db, tid);
	if (rc == HJ_ENOTFOUND)
		return county_view(ctx) ? 0 : hj_reject(v, "unknown_transfer", "%s: no transfer %s", name, tid);
	if (rc)
		return rc;
	size_t np = strlen(prov);
	if (strcmp(t.kind, "province_out") != 0 || strncmp(t.to_union, prov, np) != 0 || t.to_union[np] != '/')
		rc = hj_reject(v, "invalid", "%s: transfer %s is no offer to province %s", name, tid, prov);
	else if (strcmp(t.status, "open") != 0)
		rc = hj_reject(v, "already_decided", "%s: transfer %s is %s", name, tid, t.status);
	else if (hj_rules_date_order(ctx, "decision date", on, "transfer's date", t.opened_on, v))
		rc = 0;
	else {
		joined(to_member, sizeof to_member, prov, accepted ? tm : "");
		rc = hj_transfer_close(db, tid, status, on, ctx->actor, 0, accepted ? to_member : NULL, NULL, NULL, NULL);
		if (!rc && accepted)
			rc = hj_transfer_end_record(db, t.from_member, on);
	}
	hj_transfer_read_free(&t);
	return rc;
}

int hj_fold_province_in_close(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const char *to, hj_verdict *v)
{
	const char *name = hj_json_get_str(op, "op");
	int withdraw = strcmp(name, "member.transfer_withdraw") == 0;
	/* The offering province withdraws; here only its word through the
	 * hub can: the receiving union declines. */
	int rc = withdraw ? by_hub_only(db, ctx, name, v) : hj_fold_authority(db, ctx, to, v);
	if (rc)
		return rc < 0 ? rc : 0;
	return hj_transfer_close_unanswered(db, ctx, op, withdraw);
}
