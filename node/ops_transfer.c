/*
 * ops_transfer.c — membership records that move (DOMAIN, the member's life
 * §4: "join once, transfer dynamically"), rules 3: the ops that open a
 * transfer. A hand-down moves a record to a union below in one op (the
 * turnover pool); an offer (by the union holding the member) or a request
 * (by the union the person turned up at) opens a transfer the other side
 * accepts or declines (ops_transfer_decide.c). Until it is decided the
 * record stays active where it was and is frozen: no update, leave,
 * hand-down or second transfer of it (transfer_open), so what the other
 * side was shown cannot go stale.
 *
 * The holding side signs a snapshot of what it moves
 * (hj_fold_transfer_snapshot), checked against the registry wherever the
 * member is held: a node that holds only the receiving union builds the new
 * record from it.
 */
#include "fold.h"
#include "person_seal.h"
#include "error.h"
#include "idnum.h"
#include "rules.h"
#include "transfer_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The checks every transfer op starts with: rules 3, a date, not in the
 * future. 0 go on, 1 rejected. */
static int preamble(const hj_foldctx *ctx, const char *opname, const char *on, hj_verdict *v)
{
	int y, m, d;
	if ((ctx->rules ? ctx->rules : 1) < HJ_TRANSFER_RULES)
		return hj_reject(v, "invalid", "%s: transfers need rules %d; this position is judged under rules %u (a hub "
				 "before its first entry under them)", opname, HJ_TRANSFER_RULES, (unsigned)(ctx->rules ? ctx->rules : 1)), 1;
	if (!on || hj_date_parse(on, &y, &m, &d))
		return hj_reject(v, "invalid", "%s: \"on\" must be a date YYYY-MM-DD", opname), 1;
	return hj_rules_future_date(ctx, "transfer date", on, v);
}

/* Union `to` exists. 0 go on, 1 rejected, <0 error. */
static int union_exists(hj_db *db, const char *opname, const char *to, hj_verdict *v)
{
	int64_t n = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM org WHERE id = :u", ":u", to, &n);
	if (rc)
		return rc;
	return n ? 0 : (hj_reject(v, "unknown_union", "%s: union %s does not exist", opname, to), 1);
}

/* Where the member is held: active, the actor's to move, not already in
 * `to`, not under another open transfer, not moved before its record
 * began, and the snapshot is the registry's. 0 go on, 1 rejected, <0
 * error. */
static int check_held(hj_db *db, const hj_foldctx *ctx, const char *opname, const char *member, const char *to,
		      const char *on, const hj_json *snap, hj_verdict *v)
{
	hj_mrow m;
	int rc = hj_fold_member_target(db, ctx, opname, member, "active", v);
	if (rc || (rc = hj_mrow_get(&m, db, member)))
		return rc;
	if (strcmp(m.union_id, to) == 0) {
		hj_reject(v, "invalid", "%s: %s is already in %s", opname, member, to);
		rc = 1;
	} else if (hj_rules_date_order(ctx, "transfer date", on, "record's start", m.decided_on, v)) {
		rc = 1;
	} else if ((rc = hj_transfer_is_open(db, m.person_key)) != 0) {
		if (rc > 0)
			hj_reject(v, "transfer_open", "%s: %s is under an open transfer; decide or withdraw it first", opname,
				  member);
	} else {
		rc = hj_transfer_snapshot_check(db, ctx, opname, member, snap, v);
	}
	hj_mrow_free(&m);
	return rc;
}

/* The person key of what moves: the snapshot's own, else (op version 4)
 * the record's where held, the hub's published one where not. */
static int moved_key(char out[65], hj_db *db, const hj_foldctx *ctx, const hj_json *snap, const char *member,
		     int held, hj_verdict *v)
{
	const char *own = hj_json_get_str(hj_json_get(snap, "person"), "key");
	char *row = NULL;
	int rc;
	if (own) {
		snprintf(out, 65, "%s", own);
		return 0;
	}
	if (held && (rc = hj_db_get_text(&row, db, "SELECT person_key FROM membership WHERE id = :m", ":m", member)))
		return rc == HJ_ENOTFOUND ? hj_error_set(HJ_ECORRUPT, "membership %s vanished", member) : rc;
	rc = hj_fold_person_key(out, ctx, NULL, row, v);
	free(row);
	return rc;
}

/* The shared part of a hand-down and an offer: member, target, snapshot;
 * the member checked where held (a node holding only the receiving union,
 * following the hub, takes the hub's word). *held says which; key: the
 * person's (moved_key). */
static int open_checks(hj_db *db, const hj_foldctx *ctx, const hj_json *op, int *held, char key[65], hj_verdict *v)
{
	const char *opname = hj_json_get_str(op, "op");
	const char *member = hj_json_get_str(op, "member");
	const char *to = hj_json_get_str(op, "to");
	const hj_json *snap = hj_json_get(op, "snapshot");
	int64_t n = 0;
	int rc;
	if (!member || !to)
		return hj_reject(v, "invalid", "%s: member and to are required", opname), 1;
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM membership WHERE id = :m", ":m", member, &n)))
		return rc;
	*held = n > 0;
	if (!*held && !ctx->trust_hub)
		return hj_reject(v, "unknown_member", "%s: no membership %s", opname, member), 1;
	if (!hj_transfer_snapshot_shape(snap))
		return hj_reject(v, "invalid", "%s: a snapshot of the member is required", opname), 1;
	if (hj_fold_key_form(op, hj_json_get(snap, "person"), opname, v))
		return 1;
	/* Across provinces the union is the peer's (ops_province_transfer.c). */
	if (!hj_json_get(op, "province") && (rc = union_exists(db, opname, to, v)))
		return rc;
	if (*held && (rc = check_held(db, ctx, opname, member, to, hj_json_get_str(op, "on"), snap, v)))
		return rc;
	return moved_key(key, db, ctx, snap, member, *held, v);
}

int hj_fold_member_hand_down(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *member = hj_json_get_str(op, "member"), *to = hj_json_get_str(op, "to");
	const char *on = hj_json_get_str(op, "on");
	const hj_json *snap = hj_json_get(op, "snapshot");
	char opid[160], key[65];
	int held = 0, rc;
	if (preamble(ctx, "member.hand_down", on, v))
		return 0;
	if ((rc = open_checks(db, ctx, op, &held, key, v)))
		return rc < 0 ? rc : 0;
	/* One step inside one node's subtree: the actor answers for both. */
	if ((rc = hj_fold_authority(db, ctx, to, v)) || (!held && (rc = hj_fold_authority(db, ctx,
						hj_json_get_str(snap, "union"), v))))
		return rc < 0 ? rc : 0;
	hj_fold_op_id(opid, sizeof opid, ctx);
	hj_transfer_row t = {
		.id = opid, .kind = "hand_down", .person_key = key,
		.from_member = member, .from_union = hj_json_get_str(snap, "union"), .to_union = to,
		.status = "accepted", .opened_on = on, .opened_by = ctx->actor, .decided_on = on,
		.decided_by = ctx->actor, .to_member = opid, .snapshot = snap,
	};
	if ((rc = hj_transfer_insert(db, &t)) || (rc = hj_transfer_end_record(db, member, on)))
		return rc;
	if ((rc = hj_transfer_keeps_union(db, ctx, to)) <= 0)
		return rc;
	return hj_transfer_start_record(db, ctx, snap, key, to, on, member, opid);
}

/* member.transfer_offer {member, to, on, snapshot}: the holding union
 * offers the record to another union. */
static int offer(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *member = hj_json_get_str(op, "member"), *to = hj_json_get_str(op, "to");
	const char *on = hj_json_get_str(op, "on");
	const hj_json *snap = hj_json_get(op, "snapshot");
	char opid[160], key[65];
	int held = 0, rc;
	if ((rc = open_checks(db, ctx, op, &held, key, v)))
		return rc < 0 ? rc : 0;
	if (hj_json_get(op, "province"))
		return hj_fold_province_offer(db, ctx, op, key, v);
	hj_fold_op_id(opid, sizeof opid, ctx);
	hj_transfer_row t = {
		.id = opid, .kind = "offer", .person_key = key,
		.from_member = member, .from_union = hj_json_get_str(snap, "union"), .to_union = to,
		.status = "open", .opened_on = on, .opened_by = ctx->actor, .snapshot = snap,
	};
	return hj_transfer_insert(db, &t);
}

/* member.transfer_request {person, to, on}: the union the person turned up
 * at asks for the record, whoever holds it. Only a fold that holds the
 * whole province (the hub, an auditor) can see that the person holds an
 * active record elsewhere; a county records the request and the hub
 * decides. */
static int request_as(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const hj_json *person, int readable,
		      hj_verdict *v);

static int request(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const hj_json *person = hj_json_get(op, "person");
	hj_json *view = NULL;
	int readable = 1;
	if (!hj_json_get_str(op, "to") || !person || person->type != HJ_JOBJ)
		return hj_reject(v, "invalid", "member.transfer_request: person and to are required");
	if (hj_fold_key_form(op, person, "member.transfer_request", v))
		return 0;
	int rc = hj_person_view(&view, &readable, ctx, person);
	if (rc == HJ_ECORRUPT)
		return hj_reject(v, "invalid", "member.transfer_request: %s", hj_error_last());
	if (!rc)
		rc = request_as(db, ctx, op, view, readable, v);
	hj_json_free(view);
	return rc;
}

/* The request with its person as this fold reads it (hj_person_view). */
static int request_as(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const hj_json *person, int readable,
		      hj_verdict *v)
{
	const char *to = hj_json_get_str(op, "to"), *on = hj_json_get_str(op, "on");
	const char *key = hj_json_get_str(person, "key");
	char opid[160], kbuf[65];
	int rc;
	if ((rc = union_exists(db, "member.transfer_request", to, v)) || (rc = hj_fold_authority(db, ctx, to, v)) ||
	    (rc = readable ? hj_fold_check_person(db, ctx, person, on, v)
			   : hj_fold_person_shut(ctx, "member.transfer_request", key, v)))
		return rc < 0 ? rc : 0;
	if (!key) { /* op version 4: the hub's key, derived here or published */
		if (hj_fold_person_key(kbuf, ctx, readable ? hj_json_get_str(person, "id_number") : NULL, NULL, v))
			return 0;
		key = kbuf;
	}
	/* A provisional key (own work) matches no one: the numbers held here do. */
	int by_number = ctx->provisional_keys && readable;
	sqlite3_stmt *st = hj_db_stmt(db, by_number ? "SELECT id, union_id FROM membership WHERE (person_key = :k OR "
						      "person_key IN (SELECT person_key FROM person WHERE id_number = :n)) "
						      "AND status IN ('applied', 'active') ORDER BY id"
						    : "SELECT id, union_id FROM membership WHERE person_key = :k AND "
						      "status IN ('applied', 'active')");
	if (!st)
		return HJ_ERROR;
	rc = hj_db_bind_text(st, ":k", key) ||
	     (by_number && hj_db_bind_text(st, ":n", hj_json_get_str(person, "id_number")));
	if (!rc)
		rc = hj_db_step(db, st);
	int refused = 0;
	if (rc == 1 && strcmp(hj_db_col_text(st, 1), to) == 0) {
		refused = hj_reject(v, "invalid", "member.transfer_request: the person is already in %s", to) + 1;
	} else if (rc == 0 && !ctx->trust_hub && (!ctx->self_union || ctx->self_is_root)) {
		refused = hj_reject(v, "unknown_member", "member.transfer_request: the person holds no record to "
				    "transfer") + 1;
	}
	hj_db_release(db, st);
	if (rc < 0 || refused)
		return rc < 0 ? rc : 0;
	if (!ctx->trust_hub && (rc = hj_transfer_is_open(db, key)) != 0)
		return rc < 0 ? rc : hj_reject(v, "transfer_open", "member.transfer_request: the person's record is "
					       "under an open transfer");
	hj_fold_op_id(opid, sizeof opid, ctx);
	hj_transfer_row t = {
		.id = opid, .kind = "request", .person_key = key, .to_union = to, .status = "open", .opened_on = on,
		.opened_by = ctx->actor,
	};
	return hj_transfer_insert(db, &t);
}

int hj_fold_transfer_open(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *name = hj_json_get_str(op, "op");
	if (preamble(ctx, name, hj_json_get_str(op, "on"), v))
		return 0;
	return strcmp(name, "member.transfer_offer") == 0 ? offer(db, ctx, op, v) : request(db, ctx, op, v);
}
