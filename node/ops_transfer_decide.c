/*
 * ops_transfer_decide.c — the ops that decide an open transfer (rules 3):
 * accept and decline by the side that did not open it, withdraw by the
 * side that did; the hub may decide for a side that never answers
 * (recorded by_hub; no clock decides it). At the acceptance's position the
 * old record ends 'transferred' and the new one starts in the receiving
 * union, keeping the join date: at every hub position the person holds
 * exactly one active membership.
 */
#include "fold.h"
#include "error.h"
#include "idnum.h"
#include "rules.h"
#include "transfer_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rules 3, a date not in the future, the transfer held and open. 0 go
 * on (t filled), 1 rejected (t empty), <0 error. */
static int open_transfer(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_transfer_read *t, hj_verdict *v)
{
	const char *opname = hj_json_get_str(op, "op"), *id = hj_json_get_str(op, "transfer");
	const char *on = hj_json_get_str(op, "on");
	int y, m, d;
	memset(t, 0, sizeof *t);
	if ((ctx->rules ? ctx->rules : 1) < HJ_TRANSFER_RULES)
		return hj_reject(v, "invalid", "%s: transfers need rules %d; this position is judged under rules %u (a hub "
				 "before its first entry under them)", opname, HJ_TRANSFER_RULES, (unsigned)(ctx->rules ? ctx->rules : 1)), 1;
	if (!on || hj_date_parse(on, &y, &m, &d))
		return hj_reject(v, "invalid", "%s: \"on\" must be a date YYYY-MM-DD", opname), 1;
	if (hj_rules_future_date(ctx, "decision date", on, v))
		return 1;
	if (!id)
		return hj_reject(v, "invalid", "%s: transfer id required", opname), 1;
	int rc = hj_transfer_get(t, db, id);
	if (rc == HJ_ENOTFOUND)
		return hj_reject(v, "unknown_transfer", "%s: no transfer %s", opname, id), 1;
	if (rc)
		return rc;
	if (strcmp(t->status, "open") != 0) {
		hj_reject(v, "already_decided", "%s: transfer %s is %s", opname, id, t->status);
		hj_transfer_read_free(t);
		return 1;
	}
	/* An answer is not dated before the question. */
	if (hj_rules_date_order(ctx, "decision date", on, "transfer's date", t->opened_on, v)) {
		hj_transfer_read_free(t);
		return 1;
	}
	return 0;
}

/* The union of the person's live record held here (a request's holding
 * side), *out NULL when none is held. 0 or an error. */
static int holding_union(char **out, char **member, hj_db *db, const char *person_key)
{
	*out = *member = NULL;
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT union_id, id FROM membership WHERE person_key = :k AND "
					  "status = 'active'");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":k", person_key);
	if (!rc)
		rc = hj_db_step(db, st);
	if (rc == 1 && !(rc = hj_db_col_dup(out, st, 0)))
		rc = hj_db_col_dup(member, st, 1);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* What a request's acceptance moves: the op names the holding side's
 * record and signs its snapshot, checked where the record is held. 0 go
 * on, 1 rejected, <0 error. */
static int request_record(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const hj_transfer_read *t,
			  hj_verdict *v)
{
	const char *member = hj_json_get_str(op, "member");
	const hj_json *snap = hj_json_get(op, "snapshot");
	hj_mrow m;
	if (!member && !ctx->trust_hub)
		return hj_reject(v, "unknown_member", "member.transfer_accept: no record of the requested person is held "
				 "here"), 1;
	if (!member || !hj_transfer_snapshot_shape(snap))
		return hj_reject(v, "invalid", "member.transfer_accept: a request's acceptance names the member and "
				 "signs its snapshot"), 1;
	const char *key = hj_json_get_str(hj_json_get(snap, "person"), "key");
	if (hj_fold_key_form(op, hj_json_get(snap, "person"), "member.transfer_accept", v))
		return 1;
	if (key && strcmp(key, t->person_key) != 0) /* none (op version 4): the record below says whose it is */
		return hj_reject(v, "invalid", "member.transfer_accept: the snapshot is not of the requested person"), 1;
	int rc = hj_mrow_get(&m, db, member);
	if (rc == HJ_ENOTFOUND)
		return ctx->trust_hub ? 0 : (hj_reject(v, "unknown_member", "member.transfer_accept: no membership %s",
						       member), 1);
	if (rc)
		return rc;
	int same = strcmp(m.person_key, t->person_key) == 0;
	hj_mrow_free(&m);
	if (!same)
		return hj_reject(v, "invalid", "member.transfer_accept: %s is not the requested person's record", member), 1;
	if ((rc = hj_fold_member_target(db, ctx, "member.transfer_accept", member, "active", v)))
		return rc;
	return hj_transfer_snapshot_check(db, ctx, "member.transfer_accept", member, snap, v);
}

/* The receiving side must not already hold another live record of the
 * person. 0 go on, 1 rejected, <0 error. */
static int no_duplicate(hj_db *db, const char *person_key, const char *member, hj_verdict *v)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT id, union_id FROM membership WHERE person_key = :k AND id != :m "
					  "AND status IN ('applied', 'active')");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":k", person_key) || hj_db_bind_text(st, ":m", member)) ? HJ_ERROR
											   : hj_db_step(db, st);
	if (rc == 1) {
		hj_reject(v, "duplicate_member", "member.transfer_accept: the person already has record %s in %s",
			  hj_db_col_text(st, 0), hj_db_col_text(st, 1));
		snprintf(v->holder, sizeof v->holder, "%s", hj_db_col_text(st, 1));
	}
	hj_db_release(db, st);
	return rc;
}

static int accept(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_transfer_read *t, hj_verdict *v)
{
	const char *on = hj_json_get_str(op, "on");
	int req = strcmp(t->kind, "request") == 0, rc;
	const char *member = req ? hj_json_get_str(op, "member") : t->from_member;
	const hj_json *snap = req ? hj_json_get(op, "snapshot") : t->snapshot;
	char opid[160];
	/* The side that did not open it answers: the receiving union for an
	 * offer, the holding one (request_record) for a request. */
	if (req ? (rc = request_record(db, ctx, op, t, v)) : (rc = hj_fold_authority(db, ctx, t->to_union, v)))
		return rc < 0 ? rc : 0;
	hj_mrow m;
	if (!req && (rc = hj_mrow_get(&m, db, member)) != HJ_ENOTFOUND) {
		if (rc)
			return rc;
		int active = strcmp(m.status, "active") == 0;
		hj_mrow_free(&m);
		if (!active)
			return hj_reject(v, "not_active", "member.transfer_accept: %s is no longer active", member);
	}
	int keeps = hj_transfer_keeps_union(db, ctx, t->to_union);
	if (keeps < 0)
		return keeps;
	if (keeps && (rc = no_duplicate(db, t->person_key, member, v)))
		return rc < 0 ? rc : 0;
	int by_hub = hj_transfer_actor_is_hub(db, ctx->actor);
	if (by_hub < 0)
		return by_hub;
	hj_fold_op_id(opid, sizeof opid, ctx);
	if ((rc = hj_transfer_close(db, hj_json_get_str(op, "transfer"), "accepted", on, ctx->actor, by_hub, opid,
				    req ? member : NULL, req ? hj_json_get_str(snap, "union") : NULL,
				    req ? snap : NULL)) ||
	    (rc = hj_transfer_end_record(db, member, on)))
		return rc;
	return keeps ? hj_transfer_start_record(db, ctx, snap, t->person_key, t->to_union, on, member, opid) : 0;
}

/* Decline (the side that did not open it) or withdraw (the side that
 * did). A node that does not hold the deciding side's record takes the
 * hub's word. */
static int close_unanswered(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_transfer_read *t,
			    hj_verdict *v)
{
	const char *name = hj_json_get_str(op, "op");
	int withdraw = strcmp(name, "member.transfer_withdraw") == 0, rc;
	int offer = strcmp(t->kind, "offer") == 0 || strcmp(t->kind, "province_out") == 0;
	char *unit = NULL, *member = NULL;
	/* offer: opened by the holding union, answered by the receiving one;
	 * request: the other way round, the holding one found by the person. */
	if (offer || withdraw)
		unit = strdup(offer == withdraw ? t->from_union : t->to_union);
	else if ((rc = holding_union(&unit, &member, db, t->person_key)))
		return rc;
	else if (!unit && !ctx->trust_hub && (rc = hj_transfer_actor_is_hub(db, ctx->actor)) <= 0)
		return rc < 0 ? rc : hj_reject(v, "unknown_member", "%s: no record of the requested person is held here",
					       name);
	if ((offer || withdraw) && !unit)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	rc = unit ? hj_fold_authority(db, ctx, unit, v) : 0;
	free(unit);
	free(member);
	if (rc)
		return rc < 0 ? rc : 0;
	return hj_transfer_close_unanswered(db, ctx, op, withdraw);
}

int hj_fold_transfer_decide(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	hj_transfer_read t;
	int rc = open_transfer(db, ctx, op, &t, v);
	if (rc)
		return rc < 0 ? rc : 0;
	const char *name = hj_json_get_str(op, "op");
	/* Across provinces (ops_province_transfer.c): an offer to a peer is
	 * answered there (this province learns it by the hub's
	 * province.transfer_out) and may only be withdrawn here; a record a
	 * peer offered is answered here, withdrawn only by the hub. */
	if (strcmp(t.kind, "province_out") == 0)
		rc = strcmp(name, "member.transfer_withdraw") == 0
			     ? close_unanswered(db, ctx, op, &t, v)
			     : hj_reject(v, "invalid", "%s: transfer %s goes to %s in another province, which answers it",
					 name, hj_json_get_str(op, "transfer"), t.to_union);
	else if (strcmp(t.kind, "province_in") == 0 && strcmp(name, "member.transfer_accept") != 0)
		rc = hj_fold_province_in_close(db, ctx, op, t.to_union, v);
	else
		rc = strcmp(name, "member.transfer_accept") == 0 ? accept(db, ctx, op, &t, v)
								 : close_unanswered(db, ctx, op, &t, v);
	hj_transfer_read_free(&t);
	return rc;
}
