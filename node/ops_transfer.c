/*
 * ops_transfer.c — membership records that move (DOMAIN, the member's life
 * §4: "join once, transfer dynamically"). Rules 3. Today: the hand-down
 * inside one node's subtree, by which a turnover pool (a city industry
 * federation admitting drivers at once) passes a member to a grassroots
 * union below it. The old membership ends 'transferred' and a new one
 * starts in the same op, so at every hub position the person holds exactly
 * one active membership; the new record keeps the join date and names the
 * one it continues (from_member), and a `transfer` row records the move.
 *
 * The op carries a snapshot of what it moves (hj_fold_transfer_snapshot),
 * checked against the registry wherever the member is held: a node that
 * holds only the receiving union (a nested node) builds the new record from
 * it without holding the old one.
 */
#include "fold.h"
#include "error.h"
#include "idnum.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRANSFER_RULES 3 /* rules.h: the version that brought transfers */

/* The membership fields a transfer moves. All owned. */
typedef struct mrow {
	char *union_id, *status, *person_key, *grp, *channel, *platform, *joined_on;
} mrow;

static void mrow_free(mrow *m)
{
	free(m->union_id);
	free(m->status);
	free(m->person_key);
	free(m->grp);
	free(m->channel);
	free(m->platform);
	free(m->joined_on);
	memset(m, 0, sizeof *m);
}

/* 0, HJ_ENOTFOUND or an error. */
static int mrow_get(mrow *m, hj_db *db, const char *id)
{
	memset(m, 0, sizeof *m);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT union_id, status, person_key, grp, channel, platform, joined_on "
					  "FROM membership WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":id", id);
	if (!rc)
		rc = hj_db_step(db, st);
	if (rc == 1) {
		char **cols[] = {&m->union_id, &m->status, &m->person_key, &m->grp, &m->channel, &m->platform,
				 &m->joined_on};
		rc = 0;
		for (int i = 0; !rc && i < 7; i++)
			if (sqlite3_column_type(st, i) != SQLITE_NULL)
				rc = hj_db_col_dup(cols[i], st, i);
	} else if (rc == 0) {
		rc = HJ_ENOTFOUND;
	}
	hj_db_release(db, st);
	if (rc)
		mrow_free(m);
	return rc;
}

static int set_opt(hj_json *o, const char *key, const char *val)
{
	return val ? hj_json_set_str(o, key, val) : 0;
}

int hj_fold_transfer_snapshot(hj_json **out, hj_db *db, const char *member_id)
{
	mrow m;
	*out = NULL;
	int rc = mrow_get(&m, db, member_id);
	if (rc)
		return rc;
	hj_json *snap = hj_json_new(HJ_JOBJ), *person = hj_json_new(HJ_JOBJ);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT name, id_number, phone, plate FROM person WHERE person_key = :k");
	if (!snap || !person || !st) {
		rc = st ? hj_error_set(HJ_ENOMEM, "out of memory") : HJ_ERROR;
		goto done;
	}
	if ((rc = hj_db_bind_text(st, ":k", m.person_key)) || (rc = hj_db_step(db, st)) < 0)
		goto done;
	if (rc == 0) {
		rc = hj_error_set(HJ_ECORRUPT, "membership %s names a person the registry does not hold", member_id);
		goto done;
	}
	if (hj_json_set_str(person, "key", m.person_key) || set_opt(person, "name", hj_db_col_text(st, 0)) ||
	    set_opt(person, "id_number", hj_db_col_text(st, 1)) || set_opt(person, "phone", hj_db_col_text(st, 2)) ||
	    set_opt(person, "plate", hj_db_col_text(st, 3)) || hj_json_set_str(snap, "union", m.union_id) ||
	    hj_json_set_str(snap, "group", m.grp) || hj_json_set_str(snap, "channel", m.channel) ||
	    set_opt(snap, "platform", m.platform) || set_opt(snap, "joined_on", m.joined_on)) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	rc = hj_json_set(snap, "person", person);
	person = NULL;
	if (rc) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	*out = snap;
	snap = NULL;
done:
	if (st)
		hj_db_release(db, st);
	hj_json_free(snap);
	hj_json_free(person);
	mrow_free(&m);
	return rc;
}

/* Does this fold keep the rows of union `u`? The hub and an auditor keep
 * everything; a county its own subtree (replay.c's SUBTREE mode). */
static int keeps_union(hj_db *db, const hj_foldctx *ctx, const char *u)
{
	if (!ctx->self_union || ctx->self_is_root || strcmp(u, ctx->self_union) == 0)
		return 1;
	return hj_org_in_subtree(db, u, ctx->self_union);
}

/* The op's snapshot equals the registry's for member `id`? 1 yes, 0 no. */
static int snapshot_matches(hj_db *db, const char *id, const hj_json *given, int *rc)
{
	hj_json *want = NULL;
	hj_buf a = HJ_BUF_INIT, b = HJ_BUF_INIT;
	int same = 0;
	if (!(*rc = hj_fold_transfer_snapshot(&want, db, id)) && !(*rc = hj_json_write(&a, want)) &&
	    !(*rc = hj_json_write(&b, given)))
		same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
	hj_json_free(want);
	hj_buf_free(&a);
	hj_buf_free(&b);
	return same;
}

/* The new record in the receiving union, from the snapshot. */
static int start_record(hj_db *db, const hj_foldctx *ctx, const hj_json *snap, const char *to, const char *on,
			const char *from, const char *opid)
{
	const hj_json *person = hj_json_get(snap, "person");
	int64_t held = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM person WHERE person_key = :k", ":k",
			       hj_json_get_str(person, "key"), &held);
	/* A person already held keeps its row (it is as current as the
	 * registry); one arriving is taken from the snapshot. */
	if (rc || (!held && (rc = hj_fold_person_upsert(db, person, opid))))
		return rc;
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO membership(id, person_key, union_id, grp, channel, platform, "
					  "status, applied_on, applied_by, decided_on, decided_by, joined_on, from_member) "
					  "VALUES (:id, :k, :u, :g, :c, :p, 'active', :on, :by, :on, :by, :j, :from)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", opid) || hj_db_bind_text(st, ":k", hj_json_get_str(person, "key")) ||
	      hj_db_bind_text(st, ":u", to) || hj_db_bind_text(st, ":g", hj_json_get_str(snap, "group")) ||
	      hj_db_bind_text(st, ":c", hj_json_get_str(snap, "channel")) ||
	      hj_db_bind_text(st, ":p", hj_json_get_str(snap, "platform")) || hj_db_bind_text(st, ":on", on) ||
	      hj_db_bind_text(st, ":by", ctx->actor) || hj_db_bind_text(st, ":j", hj_json_get_str(snap, "joined_on")) ||
	      hj_db_bind_text(st, ":from", from))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* The transfer row and the end of the old record. */
static int record_move(hj_db *db, const hj_foldctx *ctx, const hj_json *snap, const char *member, const char *to,
		       const char *on, const char *opid)
{
	hj_buf text = HJ_BUF_INIT;
	int rc = hj_json_write(&text, snap);
	sqlite3_stmt *st = rc ? NULL : hj_db_stmt(db, "INSERT INTO transfer(id, kind, person_key, from_member, "
		"from_union, to_union, status, opened_on, opened_by, decided_on, decided_by, to_member, snapshot) "
		"VALUES (:id, 'hand_down', :k, :m, :fu, :to, 'accepted', :on, :by, :on, :by, :id, :snap)");
	if (!rc && !st)
		rc = HJ_ERROR;
	if (!rc) {
		rc = (hj_db_bind_text(st, ":id", opid) ||
		      hj_db_bind_text(st, ":k", hj_json_get_str(hj_json_get(snap, "person"), "key")) ||
		      hj_db_bind_text(st, ":m", member) || hj_db_bind_text(st, ":fu", hj_json_get_str(snap, "union")) ||
		      hj_db_bind_text(st, ":to", to) || hj_db_bind_text(st, ":on", on) ||
		      hj_db_bind_text(st, ":by", ctx->actor) || hj_db_bind_text(st, ":snap", (const char *)text.data))
			     ? HJ_ERROR
			     : hj_db_step(db, st);
		hj_db_release(db, st);
	}
	hj_buf_free(&text);
	if (rc < 0)
		return rc;
	/* A node holding only the receiving union has no old record. */
	st = hj_db_stmt(db, "UPDATE membership SET status = 'transferred', left_on = :on, reason = 'transferred' "
			    "WHERE id = :m");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":on", on) || hj_db_bind_text(st, ":m", member)) ? HJ_ERROR : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* The checks where the member is held: active, the actor's to move, not
 * already in `to`, and the snapshot is the registry's. 0 go on, 1
 * rejected, <0 error. */
static int check_held(hj_db *db, const hj_foldctx *ctx, const char *member, const char *to, const hj_json *snap,
		      hj_verdict *v)
{
	mrow m;
	int rc = hj_fold_member_target(db, ctx, "member.hand_down", member, "active", v);
	if (rc)
		return rc;
	if ((rc = mrow_get(&m, db, member)))
		return rc;
	if (strcmp(m.union_id, to) == 0) {
		hj_reject(v, "invalid", "member.hand_down: %s is already in %s", member, to);
		rc = 1;
	} else if (!snapshot_matches(db, member, snap, &rc) && !rc) {
		hj_reject(v, "invalid", "member.hand_down: the snapshot of %s is not the registry's", member);
		rc = 1;
	}
	mrow_free(&m);
	return rc;
}

int hj_fold_member_hand_down(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *member = hj_json_get_str(op, "member");
	const char *to = hj_json_get_str(op, "to");
	const char *on = hj_json_get_str(op, "on");
	const hj_json *snap = hj_json_get(op, "snapshot");
	const hj_json *person = hj_json_get(snap, "person");
	char opid[160];
	int y, m, d, rc;
	int64_t n = 0;

	if ((ctx->rules ? ctx->rules : 1) < TRANSFER_RULES)
		return hj_reject(v, "invalid", "member.hand_down: not an op under rules %u", (unsigned)ctx->rules);
	if (!member || !to)
		return hj_reject(v, "invalid", "member.hand_down: member and to are required");
	if (!on || hj_date_parse(on, &y, &m, &d))
		return hj_reject(v, "invalid", "member.hand_down: \"on\" must be a date YYYY-MM-DD");
	if (!snap || snap->type != HJ_JOBJ || !hj_json_get_str(snap, "union") || !hj_json_get_str(snap, "group") ||
	    !hj_json_get_str(snap, "channel") || !person || !hj_is_hex64(hj_json_get_str(person, "key")))
		return hj_reject(v, "invalid", "member.hand_down: a snapshot of the member is required");
	if (hj_rules_future_date(ctx, "hand-down date", on, v))
		return 0;
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM org WHERE id = :u", ":u", to, &n)))
		return rc;
	if (!n)
		return hj_reject(v, "unknown_union", "member.hand_down: union %s does not exist", to);
	/* One step inside one node's subtree: the actor answers for both. */
	if ((rc = hj_fold_authority(db, ctx, to, v)))
		return rc < 0 ? rc : 0;
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM membership WHERE id = :m", ":m", member, &n)))
		return rc;
	if (n && (rc = check_held(db, ctx, member, to, snap, v)))
		return rc < 0 ? rc : 0;
	if (!n && !ctx->trust_hub) /* only a node below the pool, following the hub, lacks the old record */
		return hj_reject(v, "unknown_member", "member.hand_down: no membership %s", member);
	if (!n && (rc = hj_fold_authority(db, ctx, hj_json_get_str(snap, "union"), v)))
		return rc < 0 ? rc : 0;
	hj_fold_op_id(opid, sizeof opid, ctx);
	if ((rc = record_move(db, ctx, snap, member, to, on, opid)))
		return rc;
	if ((rc = keeps_union(db, ctx, to)) <= 0)
		return rc;
	return start_record(db, ctx, snap, to, on, member, opid);
}
