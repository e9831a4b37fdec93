/*
 * ops_member.c — fold handlers for the member's life: apply, approve or
 * reject, update, leave (DOMAIN "The member's life").
 *
 * The real-name checks (GB 11643 ID number, age >= 16 on the application
 * date, province code, mainland mobile number) run here, inside the fold,
 * so a county and the hub judge an op identically; the command line runs
 * the same code before anything is recorded. Rejection details name ids and
 * unions, never personal data, because verdicts travel to the hub feed.
 */
#include "fold.h"
#include "peer_dup.h"
#include "person_seal.h"
#include "error.h"
#include "idnum.h"
#include "phone.h"
#include "rules.h"
#include "transfer_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_AGE 16 /* Trade Union Law art. 3 read with the Labour Law's minimum working age */

static int vocab_has(hj_db *db, const char *sql, const char *code)
{
	int64_t n = 0;
	int rc = hj_db_get_int(db, sql, ":c", code, &n);
	return rc ? rc : n > 0;
}

/* Union of a membership, its status and person; 0, HJ_ENOTFOUND or error.
 * *union_out and *status_out are malloc'd. */
static int membership_get(hj_db *db, const char *id, char **union_out, char **status_out)
{
	*union_out = *status_out = NULL;
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT union_id, status FROM membership WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":id", id);
	if (!rc)
		rc = hj_db_step(db, st);
	if (rc == 1) {
		if (!(rc = hj_db_col_dup(union_out, st, 0)))
			rc = hj_db_col_dup(status_out, st, 1);
	} else if (rc == 0) {
		rc = HJ_ENOTFOUND;
	}
	hj_db_release(db, st);
	return rc;
}

static int check_date(const char *s)
{
	int y, m, d;
	return s && hj_date_parse(s, &y, &m, &d) == 0;
}

/* The real-name checks on the person object; 0 = fine, 1 = rejected. */
int hj_fold_check_person(hj_db *db, const hj_foldctx *ctx, const hj_json *person, const char *on, hj_verdict *v)
{
	const char *key = hj_json_get_str(person, "key");
	const char *name = hj_json_get_str(person, "name");
	const char *idno = hj_json_get_str(person, "id_number");
	const char *phone = hj_json_get_str(person, "phone");
	const char *plate = hj_json_get_str(person, "plate");
	hj_idnum id;
	char norm[12];
	int y, m, d, rc;

	if (key && !hj_is_hex64(key)) /* none: op version 4 (hj_fold_key_form) */
		return hj_reject(v, "invalid", "person key must be 64 lower-case hex digits"), 1;
	if (!name || !name[0] || strlen(name) > 64)
		return hj_reject(v, "invalid", "name is required (at most 64 bytes)"), 1;
	if (hj_rules_name_text(ctx, "member.apply", name, v))
		return 1;
	if (!idno || hj_idnum_parse(&id, idno))
		return hj_reject(v, "invalid_id", "%s", idno ? hj_error_last() : "ID number is required"), 1;
	if (strcmp(id.norm, idno) != 0)
		return hj_reject(v, "invalid_id", "ID number is not in normal form"), 1;
	hj_date_parse(on, &y, &m, &d);
	if (hj_idnum_age_on(&id, y, m, d) < MIN_AGE)
		return hj_reject(v, "too_young", "applicant is under %d on %s", MIN_AGE, on), 1;
	char prov[3] = {id.norm[0], id.norm[1], 0};
	if ((rc = vocab_has(db, "SELECT count(*) FROM region WHERE code = :c AND level = 1", prov)) <= 0)
		return rc < 0 ? rc : (hj_reject(v, "invalid_id", "ID number: province code %s does not exist", prov), 1);
	if (!phone || hj_phone_normalise(norm, phone) || strcmp(norm, phone) != 0)
		return hj_reject(v, "invalid_phone", "%s", phone ? "phone is not a normalised mainland mobile number" : "phone is required"), 1;
	if (plate && (!plate[0] || strlen(plate) > 32))
		return hj_reject(v, "invalid", "plate must be 1-32 bytes"), 1;
	return key ? hj_rules_person_key(ctx, key, idno, v) : 0;
}

/* A membership's date column (applied_on, decided_on) for the date-order
 * rule; NULL (*out) when unset. Only asked under rules that use it. */
static int membership_date(char **out, hj_db *db, const hj_foldctx *ctx, const char *sql, const char *id)
{
	*out = NULL;
	if (ctx->rules < 2)
		return 0;
	int rc = hj_db_get_text(out, db, sql, ":id", id);
	return rc == HJ_ENOTFOUND ? 0 : rc;
}

/* The person row is a pure function of the person's latest application
 * and the updates since. */
int hj_fold_person_upsert(hj_db *db, const hj_json *person, const char *opid)
{
	sqlite3_stmt *st = hj_db_stmt(db,
		"INSERT INTO person(person_key, name, id_number, phone, plate, seal, updated_op) "
		"VALUES (:k, :name, :idno, :phone, :plate, :seal, :op) "
		"ON CONFLICT(person_key) DO UPDATE SET name = excluded.name, id_number = excluded.id_number, "
		"phone = excluded.phone, plate = excluded.plate, seal = excluded.seal, updated_op = excluded.updated_op");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":k", hj_json_get_str(person, "key")) ||
		  hj_db_bind_text(st, ":name", hj_json_get_str(person, "name")) ||
		  hj_db_bind_text(st, ":idno", hj_json_get_str(person, "id_number")) ||
		  hj_db_bind_text(st, ":phone", hj_json_get_str(person, "phone")) ||
		  hj_db_bind_text(st, ":plate", hj_json_get_str(person, "plate")) ||
		  hj_db_bind_text(st, ":seal", hj_json_get_str(person, "seal")) || hj_db_bind_text(st, ":op", opid))
			 ? HJ_ERROR
			 : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* `fields` holds what the update changes (phone, plate, name); NULL: it
 * was sealed and this node may not open it, so the row's fields are no
 * longer known here. `seal`: the update's commitment, NULL for plaintext. */
static int person_update(hj_db *db, const hj_json *fields, const char *seal, const char *key, const char *opid)
{
	sqlite3_stmt *st = hj_db_stmt(db, fields ? "UPDATE person SET phone = coalesce(:ph, phone), plate = "
						   "coalesce(:pl, plate), name = coalesce(:n, name), seal = coalesce(:s, "
						   "seal), updated_op = :op WHERE person_key = :k"
						 : "UPDATE person SET name = '', id_number = '', phone = NULL, plate = NULL, "
						   "seal = :s, updated_op = :op WHERE person_key = :k");
	if (!st)
		return HJ_ERROR;
	int rc = (fields && (hj_db_bind_text(st, ":ph", hj_json_get_str(fields, "phone")) ||
			     hj_db_bind_text(st, ":pl", hj_json_get_str(fields, "plate")) ||
			     hj_db_bind_text(st, ":n", hj_json_get_str(fields, "name")))) ||
			 hj_db_bind_text(st, ":s", seal) || hj_db_bind_text(st, ":op", opid) ||
			 hj_db_bind_text(st, ":k", key)
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* What a member.update changes of the person: the op itself (plaintext),
 * or its "sealed" object opened (*fields owned in *own, NULL when this
 * node may not open it). HJ_ECORRUPT: a seal that does not open. */
static int update_fields(const hj_json **fields, hj_json **own, char seal[65], const hj_foldctx *ctx,
			 const hj_json *op)
{
	const hj_json *sealed = hj_json_get(op, "sealed");
	*own = NULL;
	seal[0] = '\0';
	*fields = op;
	if (!sealed)
		return 0;
	int rc = hj_person_open_fields(own, seal, ctx, sealed);
	*fields = *own;
	return rc;
}

int hj_fold_person_shut(const hj_foldctx *ctx, const char *opname, const char *key, hj_verdict *v)
{
	if (key && !hj_is_hex64(key))
		return hj_reject(v, "invalid", "person key must be 64 lower-case hex digits"), 1;
	if (ctx->unseal && strcmp(ctx->unseal->id, HJ_SEAL_HUB) == 0)
		return hj_reject(v, "invalid", "%s: personal fields not sealed to the hub", opname), 1;
	if (ctx->sealed_on_hub_word)
		(*ctx->sealed_on_hub_word)++;
	if (ctx->hub_reason)
		return hj_reject(v, ctx->hub_reason, "%s: as the hub decided (sealed fields)", opname), 1;
	return 0;
}

int hj_fold_person_refresh(hj_db *db, const hj_foldctx *ctx, const hj_json *op)
{
	const char *name = hj_json_get_str(op, "op");
	const hj_json *person = hj_json_get(op, "person");
	const char *key = name && strcmp(name, "member.apply") == 0 ? hj_json_get_str(person, "key")
								 : hj_json_get_str(op, "person");
	if (!key && hj_fold_keyless(op))
		key = ctx->hub_person_key; /* the hub's entry names it (fold_key.c) */
	char opid[160];
	int64_t held = 0;
	int rc;
	if (!name || !key)
		return 0;
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM person WHERE person_key = :k", ":k", key, &held)) || !held)
		return rc;
	hj_fold_op_id(opid, sizeof opid, ctx);
	if (strcmp(name, "member.apply") == 0) {
		hj_json *view = NULL;
		int readable;
		if ((rc = hj_person_view(&view, &readable, ctx, person)) == 0 && !hj_json_get_str(view, "key") &&
		    hj_json_set_str(view, "key", key))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
		if (!rc)
			rc = hj_fold_person_upsert(db, view, opid);
		hj_json_free(view);
		return rc == HJ_ECORRUPT ? 0 : rc; /* a bad seal was the hub's to reject */
	}
	if (strcmp(name, "member.update") != 0)
		return 0;
	const hj_json *fields;
	hj_json *own = NULL;
	char seal[65];
	if ((rc = update_fields(&fields, &own, seal, ctx, op)) == 0 &&
	    (hj_json_get(op, "sealed") || hj_json_get_str(op, "phone") || hj_json_get_str(op, "plate") ||
	     hj_json_get_str(op, "name")))
		rc = person_update(db, fields, seal[0] ? seal : NULL, key, opid);
	hj_json_free(own);
	return rc == HJ_ECORRUPT ? 0 : rc;
}

/* An open application or active membership of person key `k` (by_number:
 * of a person row holding ID number `k`) rejects as duplicate_member,
 * naming where it is. 0 (v set or not) or an error. */
static int duplicate(hj_db *db, const char *k, int by_number, hj_verdict *v)
{
	sqlite3_stmt *st = hj_db_stmt(db, by_number ? "SELECT m.id, m.status, m.union_id, coalesce(o.name, m.union_id) "
		"FROM membership m LEFT JOIN org o ON o.id = m.union_id WHERE m.person_key IN (SELECT person_key "
		"FROM person WHERE id_number = :k) AND m.status IN ('applied', 'active') ORDER BY m.id"
						    : "SELECT m.id, m.status, m.union_id, coalesce(o.name, m.union_id) "
		"FROM membership m LEFT JOIN org o ON o.id = m.union_id "
		"WHERE m.person_key = :k AND m.status IN ('applied', 'active')");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":k", k);
	if (!rc && (rc = hj_db_step(db, st)) == 1) {
		int active = strcmp(hj_db_col_text(st, 1), "active") == 0;
		hj_reject(v, "duplicate_member", "person already %s %s in %s (%s)",
			  active ? "holds active membership" : "has open application", hj_db_col_text(st, 0),
			  hj_db_col_text(st, 3), hj_db_col_text(st, 2));
		snprintf(v->holder, sizeof v->holder, "%s", hj_db_col_text(st, 2));
	}
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* member.apply with its person as this fold reads it (`person`, a view:
 * hj_person_view; `readable` 0 when sealed and shut here). */
static int apply_as(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_json *person, int readable,
		    hj_verdict *v)
{
	const char *unit = hj_json_get_str(op, "union");
	const char *grp = hj_json_get_str(op, "group");
	const char *chan = hj_json_get_str(op, "channel");
	const char *plat = hj_json_get_str(op, "platform");
	const char *on = hj_json_get_str(op, "on");
	char opid[160];
	int rc;

	if (!unit)
		return hj_reject(v, "invalid", "member.apply: union required");
	if (!check_date(on))
		return hj_reject(v, "invalid", "member.apply: \"on\" must be a date YYYY-MM-DD");
	/* Each lookup: 1 known, 0 unknown (a verdict), <0 failed (an error,
	 * never a verdict). */
	if (!grp || (rc = vocab_has(db, "SELECT count(*) FROM worker_group WHERE code = :c", grp)) == 0)
		return hj_reject(v, "invalid", "member.apply: unknown worker group");
	if (rc < 0)
		return rc;
	if (!chan || (rc = vocab_has(db, "SELECT count(*) FROM channel WHERE code = :c", chan)) == 0)
		return hj_reject(v, "invalid", "member.apply: unknown channel");
	if (rc < 0)
		return rc;
	if (plat && (rc = vocab_has(db, "SELECT count(*) FROM platform WHERE code = :c", plat)) <= 0)
		return rc < 0 ? rc : hj_reject(v, "invalid", "member.apply: unknown platform");
	if (readable ? (rc = hj_fold_check_person(db, ctx, person, on, v))
		     : (rc = hj_fold_person_shut(ctx, "member.apply", hj_json_get_str(person, "key"), v)))
		return rc < 0 ? rc : 0;
	if (hj_rules_future_date(ctx, "application date", on, v))
		return 0;

	/* The union must exist, except a node's own union before the hub's org
	 * tree has reached it (offline from day one). */
	int own = ctx->self && ctx->self_union && strcmp(ctx->actor, ctx->self) == 0 &&
		  strcmp(unit, ctx->self_union) == 0;
	if (!own && (rc = vocab_has(db, "SELECT count(*) FROM org WHERE id = :c", unit)) <= 0)
		return rc < 0 ? rc : hj_reject(v, "unknown_union", "member.apply: union %s does not exist", unit);
	if ((rc = hj_fold_authority(db, ctx, unit, v)))
		return rc < 0 ? rc : 0;

	char kbuf[65];
	const char *key = hj_json_get_str(person, "key");
	if (!key) { /* op version 4: the hub's key, derived here or published */
		if (hj_fold_person_key(kbuf, ctx, readable ? hj_json_get_str(person, "id_number") : NULL, NULL, v))
			return 0;
		if (hj_json_set_str(person, "key", kbuf))
			return hj_error_set(HJ_ENOMEM, "out of memory");
		key = kbuf;
	}
	if (!ctx->trust_hub) {
		if ((rc = duplicate(db, key, 0, v)) ||
		    /* A provisional key matches no one: the numbers held here do. */
		    (ctx->provisional_keys && readable && !v->reason[0] &&
		     (rc = duplicate(db, hj_json_get_str(person, "id_number"), 1, v))))
			return rc;
		if (v->reason[0])
			return 0;
	}
	if ((rc = hj_fold_peer_duplicate(db, ctx, key, v))) /* rules 5: active in a peer province */
		return rc < 0 ? rc : 0;

	hj_fold_op_id(opid, sizeof opid, ctx);
	if ((rc = hj_fold_person_upsert(db, person, opid)))
		return rc;
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO membership(id, person_key, union_id, grp, channel, platform, "
			    "status, applied_on, applied_by) VALUES (:id, :k, :u, :g, :c, :p, 'applied', :on, :by)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", opid) || hj_db_bind_text(st, ":k", key) ||
	      hj_db_bind_text(st, ":u", unit) || hj_db_bind_text(st, ":g", grp) ||
	      hj_db_bind_text(st, ":c", chan) || hj_db_bind_text(st, ":p", plat) ||
	      hj_db_bind_text(st, ":on", on) || hj_db_bind_text(st, ":by", ctx->actor))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_fold_member_apply(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const hj_json *person = hj_json_get(op, "person");
	hj_json *view = NULL;
	int readable = 1, rc;
	if (!person || person->type != HJ_JOBJ)
		return hj_reject(v, "invalid", "member.apply: person object required");
	if (hj_fold_key_form(op, person, "member.apply", v))
		return 0;
	rc = hj_person_view(&view, &readable, ctx, person);
	if (rc == HJ_ECORRUPT)
		return hj_reject(v, "invalid", "member.apply: %s", hj_error_last());
	if (!rc)
		rc = apply_as(db, ctx, op, view, readable, v);
	hj_json_free(view);
	return rc;
}

/* Shared preamble of the ops that name an existing membership: it exists,
 * the actor has authority over its union, and its status is `want` (or
 * "live" = applied or active). Returns 0 to go on, 1 rejected, <0 error. */
int hj_fold_member_target(hj_db *db, const hj_foldctx *ctx, const char *opname, const char *id, const char *want,
			  hj_verdict *v)
{
	char *unit = NULL, *status = NULL;
	if (!id)
		return hj_reject(v, "invalid", "%s: member id required", opname), 1;
	int rc = membership_get(db, id, &unit, &status);
	if (rc == HJ_ENOTFOUND) {
		hj_reject(v, "unknown_member", "%s: no membership %s", opname, id);
		rc = 1;
		goto done;
	}
	if (rc)
		goto done;
	if ((rc = hj_fold_authority(db, ctx, unit, v)))
		goto done;
	int ok = strcmp(want, "live") == 0
			 ? (strcmp(status, "applied") == 0 || strcmp(status, "active") == 0)
			 : strcmp(status, want) == 0;
	if (!ok) {
		if (strcmp(want, "applied") == 0)
			hj_reject(v, "already_decided", "%s: application %s was already decided (%s)", opname, id,
				  strcmp(status, "rejected") == 0 ? "rejected" : "approved");
		else
			hj_reject(v, "not_active", "%s: membership %s is %s", opname, id, status);
		rc = 1;
	}
done:
	free(unit);
	free(status);
	return rc;
}

/* Rules 3: a record under an open transfer is frozen until the transfer
 * is decided (ops_transfer.c), so what the other side was shown holds.
 * 0 go on, 1 rejected, <0 error. */
static int frozen(hj_db *db, const hj_foldctx *ctx, const char *opname, const char *id, hj_verdict *v)
{
	int64_t open = 0;
	if ((ctx->rules ? ctx->rules : 1) < HJ_TRANSFER_RULES)
		return 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM transfer t JOIN membership m ON m.person_key = t.person_key "
				   "WHERE m.id = :id AND t.status = 'open'", ":id", id, &open);
	if (rc)
		return rc;
	if (open)
		hj_reject(v, "transfer_open", "%s: %s is under an open transfer; decide or withdraw it first", opname, id);
	return open > 0;
}

int hj_fold_member_decide(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *name = hj_json_get_str(op, "op");
	const char *id = hj_json_get_str(op, "member");
	const char *on = hj_json_get_str(op, "on");
	const char *reason = hj_json_get_str(op, "reason");
	int approve = strcmp(name, "member.approve") == 0;
	int rc;

	if (!check_date(on))
		return hj_reject(v, "invalid", "%s: \"on\" must be a date YYYY-MM-DD", name);
	if (!approve && (!reason || !reason[0] || strlen(reason) > 200))
		return hj_reject(v, "invalid", "member.reject: a reason is required (at most 200 bytes)");
	if ((rc = hj_fold_member_target(db, ctx, name, id, "applied", v)))
		return rc < 0 ? rc : 0;
	char *applied_on = NULL;
	if ((rc = membership_date(&applied_on, db, ctx, "SELECT applied_on FROM membership WHERE id = :id", id)))
		return rc;
	int bad = hj_rules_future_date(ctx, "decision date", on, v) ||
		  hj_rules_date_order(ctx, "decision date", on, "application date", applied_on, v);
	free(applied_on);
	if (bad)
		return 0;
	/* An approval starts the membership record: its join date, which a
	 * transfer carries on (ops_transfer.c). */
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE membership SET status = :s, decided_on = :on, "
					  "decided_by = :by, reason = :r, joined_on = CASE WHEN :s = 'active' "
					  "THEN :on END WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":s", approve ? "active" : "rejected") ||
	      hj_db_bind_text(st, ":on", on) || hj_db_bind_text(st, ":by", ctx->actor) ||
	      hj_db_bind_text(st, ":r", approve ? NULL : reason) || hj_db_bind_text(st, ":id", id))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

static int update_as(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const char *id, const char *grp,
		     const char *plat, const hj_json *fields, const char *seal, hj_verdict *v);

int hj_fold_member_update(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *id = hj_json_get_str(op, "member");
	const char *grp = hj_json_get_str(op, "group");
	const char *plat = hj_json_get_str(op, "platform");
	const hj_json *fields;
	hj_json *own = NULL;
	char seal[65];
	int rc = update_fields(&fields, &own, seal, ctx, op);
	if (rc == HJ_ECORRUPT)
		return hj_reject(v, "invalid", "member.update: %s", hj_error_last());
	if (rc)
		return rc;
	rc = update_as(db, ctx, op, id, grp, plat, fields, seal[0] ? seal : NULL, v);
	hj_json_free(own);
	return rc;
}

/* member.update with the personal fields it changes (`fields`: the op,
 * the opened seal, or NULL when shut here). */
static int update_as(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const char *id, const char *grp,
		     const char *plat, const hj_json *fields, const char *seal, hj_verdict *v)
{
	const char *phone = fields ? hj_json_get_str(fields, "phone") : NULL;
	const char *plate = fields ? hj_json_get_str(fields, "plate") : NULL;
	const char *name = fields ? hj_json_get_str(fields, "name") : NULL;
	int personal = seal || phone || plate || name;
	char norm[12], opid[160];
	int rc;

	if (!personal && !grp && !plat)
		return hj_reject(v, "invalid", "member.update: nothing to change");
	if (!fields && hj_fold_person_shut(ctx, "member.update", NULL, v))
		return 0;
	if (phone && (hj_phone_normalise(norm, phone) || strcmp(norm, phone) != 0))
		return hj_reject(v, "invalid_phone", "member.update: phone is not a normalised mainland mobile number");
	if (plate && (!plate[0] || strlen(plate) > 32))
		return hj_reject(v, "invalid", "member.update: plate must be 1-32 bytes");
	if (name && (!name[0] || strlen(name) > 64))
		return hj_reject(v, "invalid", "member.update: name must be 1-64 bytes");
	if (hj_rules_name_text(ctx, "member.update", name, v))
		return 0;
	if (grp && (rc = vocab_has(db, "SELECT count(*) FROM worker_group WHERE code = :c", grp)) <= 0)
		return rc < 0 ? rc : hj_reject(v, "invalid", "member.update: unknown worker group");
	if (plat && (rc = vocab_has(db, "SELECT count(*) FROM platform WHERE code = :c", plat)) <= 0)
		return rc < 0 ? rc : hj_reject(v, "invalid", "member.update: unknown platform");
	if ((rc = hj_fold_member_target(db, ctx, "member.update", id, "live", v)) ||
	    (rc = frozen(db, ctx, "member.update", id, v)))
		return rc < 0 ? rc : 0;
	/* The op names the person too (op version 4 from a county: the hub's
	 * entry does), so a county holding that person's row from an earlier
	 * membership keeps it current (hj_fold_person_refresh). */
	const char *pkey = hj_json_get_str(op, "person");
	char *actual = NULL, kbuf[65];
	rc = hj_db_get_text(&actual, db, "SELECT person_key FROM membership WHERE id = :id", ":id", id);
	if (rc < 0 && rc != HJ_ENOTFOUND)
		return rc; /* a failed lookup is not a mismatch */
	int same = pkey && actual && strcmp(pkey, actual) == 0;
	if (!pkey && hj_fold_keyless(op) && actual && !hj_json_get(op, "person"))
		same = (rc = hj_fold_person_key(kbuf, ctx, NULL, actual, v)) == 0;
	free(actual);
	if (rc == 1)
		return 0;
	if (!same)
		return hj_reject(v, "invalid", "member.update: \"person\" must be the membership's person key");
	if (!pkey)
		pkey = kbuf;

	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE membership SET grp = coalesce(:g, grp), "
					  "platform = coalesce(:p, platform) WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":g", grp) || hj_db_bind_text(st, ":p", plat) || hj_db_bind_text(st, ":id", id))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	if (rc < 0)
		return rc;
	return personal ? person_update(db, fields, seal, pkey, opid) : 0;
}

int hj_fold_member_leave(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *id = hj_json_get_str(op, "member");
	const char *on = hj_json_get_str(op, "on");
	const char *why = hj_json_get_str(op, "reason");
	int rc;

	if (!check_date(on))
		return hj_reject(v, "invalid", "member.leave: \"on\" must be a date YYYY-MM-DD");
	if (!why || (strcmp(why, "voluntary") && strcmp(why, "deceased") && strcmp(why, "lapsed")))
		return hj_reject(v, "invalid", "member.leave: reason must be voluntary, deceased or lapsed");
	if ((rc = hj_fold_member_target(db, ctx, "member.leave", id, "active", v)) ||
	    (rc = frozen(db, ctx, "member.leave", id, v)))
		return rc < 0 ? rc : 0;
	char *admitted = NULL;
	if ((rc = membership_date(&admitted, db, ctx, "SELECT decided_on FROM membership WHERE id = :id", id)))
		return rc;
	int bad = hj_rules_future_date(ctx, "leaving date", on, v) ||
		  hj_rules_date_order(ctx, "leaving date", on, "admission date", admitted, v);
	free(admitted);
	if (bad)
		return 0;
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE membership SET status = 'left', left_on = :on, "
					  "reason = :r WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":on", on) || hj_db_bind_text(st, ":r", why) || hj_db_bind_text(st, ":id", id))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}
