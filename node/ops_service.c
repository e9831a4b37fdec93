/*
 * ops_service.c — fold handlers for the services ledger (rules 6,
 * schema/017_services.sql): a service a union funds (service.define,
 * service.update), a service point such as a driver home (service.point),
 * and each delivery to an active member (service.deliver).
 *
 * Budgets and per-member limits are verdicts in hub order: the hub and an
 * auditor hold every delivery and recompute them; a county holds only the
 * deliveries of its own members (deliver.c), so following an applied one
 * (trust_hub) it takes the hub's word for those two sums. Details name
 * ids, periods and yuan, never a person.
 *
 * The ops (fields beside "op" and "v"; money integer fen, 0..
 * HJ_SERVICE_FEN_MAX; a bound left out is no bound):
 *   service.define  id ([a-z0-9._-], 1-64), name, kind (service_kind),
 *                   provider (1-200 bytes each), union (the funder; the
 *                   actor acts for it), period (year|quarter|month),
 *                   unit_fen, budget_fen?, member_count? (>= 1), member_fen?
 *   service.update  id, provider?, unit_fen?, budget_fen?, member_count?,
 *                   member_fen? (at least one; null clears a bound)
 *   service.point   id, name, kind (driver_home|service_station|office),
 *                   union (the actor acts for it)
 *   service.deliver member (a membership record id), service, on
 *                   (YYYY-MM-DD), amount_fen? (default the unit_fen),
 *                   point?; its row's id is the op's id
 * Reasons: invalid, exists, unknown_union, unknown_service, unknown_point,
 * unknown_member, no_authority, not_member, date_order, future_date,
 * not_covered, over_budget, over_limit (these two carry the service id as
 * the compact verdict's holder).
 */
#include "fold.h"
#include "envelope.h"
#include "error.h"
#include "idnum.h"
#include "rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_RULES 6

static int exists(hj_db *db, const char *sql, const char *id)
{
	int64_t n = 0;
	int rc = hj_db_get_int(db, sql, ":c", id, &n);
	return rc ? rc : n > 0;
}

/* "123.45" of an amount in fen (never negative in a row). */
static void yuan(char out[32], int64_t fen)
{
	snprintf(out, 32, "%" PRId64 ".%02" PRId64, fen / 100, fen % 100);
}

int hj_service_period_of(char out[8], const char *period, const char *on)
{
	int y, m, d;
	if (!on || hj_date_parse(on, &y, &m, &d) || !period || y < 0 || y > 9999 || m < 1 || m > 12)
		return hj_error_set(HJ_EINVALID, "not a date and period");
	/* `on` is a strict YYYY-MM-DD, so the key is cut from its text. */
	if (strcmp(period, "year") == 0)
		snprintf(out, 8, "%.4s", on);
	else if (strcmp(period, "quarter") == 0)
		snprintf(out, 8, "%.4s-Q%c", on, (char)('1' + (m - 1) / 3));
	else if (strcmp(period, "month") == 0)
		snprintf(out, 8, "%.7s", on);
	else
		return hj_error_set(HJ_EINVALID, "unknown period '%.20s': one of year, quarter, month", period);
	return 0;
}

/* An optional amount or count field: absent (*set 0), or an integer in
 * [lo, HJ_SERVICE_FEN_MAX]. 0 fine, 1 rejected into *v. `null_ok`: JSON
 * null reads as absent with *set 2 (service.update clears a bound). */
static int opt_int(int64_t *out, int *set, const hj_json *op, const char *key, int64_t lo, int null_ok,
		   const char *opname, hj_verdict *v)
{
	const hj_json *j = hj_json_get(op, key);
	*set = 0;
	*out = 0;
	if (!j)
		return 0;
	if (null_ok && j->type == HJ_JNULL) {
		*set = 2;
		return 0;
	}
	if (j->type != HJ_JINT || j->i < lo || j->i > HJ_SERVICE_FEN_MAX)
		return hj_reject(v, "invalid", "%s: \"%s\" must be an integer from %" PRId64 " to %lld", opname, key, lo,
				 (long long)HJ_SERVICE_FEN_MAX), 1;
	*out = j->i;
	*set = 1;
	return 0;
}

/* A text field of 1..200 bytes without control characters. 0 fine, 1 rejected. */
static int text_field(const hj_foldctx *ctx, const char *opname, const char *what, const char *s, hj_verdict *v)
{
	if (!s || !s[0] || strlen(s) > 200)
		return hj_reject(v, "invalid", "%s: %s required (at most 200 bytes)", opname, what), 1;
	return hj_rules_name_text(ctx, opname, s, v);
}

/* The union a service or point belongs to exists and the actor may act
 * for it. 0 go on, 1 rejected, <0 error. */
static int union_authority(hj_db *db, const hj_foldctx *ctx, const char *opname, const char *unit, hj_verdict *v)
{
	int rc;
	if (!unit)
		return hj_reject(v, "invalid", "%s: union required", opname), 1;
	if ((rc = exists(db, "SELECT count(*) FROM org WHERE id = :c", unit)) <= 0)
		return rc < 0 ? rc : (hj_reject(v, "unknown_union", "%s: union %.64s does not exist", opname, unit), 1);
	return hj_fold_authority(db, ctx, unit, v);
}

/* The bounds of a service: budget per period, per-member count and spend. */
typedef struct bounds {
	int64_t unit, budget, count, fen;
	int unit_set, budget_set, count_set, fen_set;
} bounds;

static int read_bounds(bounds *b, const hj_json *op, int update, const char *opname, hj_verdict *v)
{
	return opt_int(&b->unit, &b->unit_set, op, "unit_fen", 0, 0, opname, v) ||
	       opt_int(&b->budget, &b->budget_set, op, "budget_fen", 0, update, opname, v) ||
	       opt_int(&b->count, &b->count_set, op, "member_count", 1, update, opname, v) ||
	       opt_int(&b->fen, &b->fen_set, op, "member_fen", 0, update, opname, v);
}

static int bind_bound(sqlite3_stmt *st, const char *name, int set, int64_t val)
{
	return set == 1 ? hj_db_bind_int(st, name, val) : hj_db_bind_text(st, name, NULL);
}

int hj_fold_service_define(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *id = hj_json_get_str(op, "id"), *name = hj_json_get_str(op, "name");
	const char *kind = hj_json_get_str(op, "kind"), *provider = hj_json_get_str(op, "provider");
	const char *unit = hj_json_get_str(op, "union"), *period = hj_json_get_str(op, "period");
	char opid[160], key[8];
	bounds b;
	int rc;

	if (hj_rules_at_least(ctx, SERVICE_RULES, "service.define", v))
		return 0;
	if (!id || hj_node_id_check(id))
		return hj_reject(v, "invalid", "service.define: id must be 1-64 of [a-z0-9._-]");
	if (text_field(ctx, "service.define", "name", name, v) || text_field(ctx, "service.define", "provider", provider, v))
		return 0;
	if (!kind || (rc = exists(db, "SELECT count(*) FROM service_kind WHERE code = :c", kind)) == 0)
		return hj_reject(v, "invalid", "service.define %s: unknown kind '%.40s'", id, kind ? kind : "");
	if (rc < 0)
		return rc;
	if (hj_service_period_of(key, period, "2000-01-01"))
		return hj_reject(v, "invalid", "service.define %s: period must be year, quarter or month", id);
	if (read_bounds(&b, op, 0, "service.define", v))
		return 0;
	if (!b.unit_set)
		return hj_reject(v, "invalid", "service.define %s: unit_fen required", id);
	if ((rc = union_authority(db, ctx, "service.define", unit, v)))
		return rc < 0 ? rc : 0;
	if ((rc = exists(db, "SELECT count(*) FROM service WHERE id = :c", id)) != 0)
		return rc < 0 ? rc : hj_reject(v, "exists", "service %s already exists", id);
	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO service(id, name, kind, provider, union_id, period, budget_fen, "
					  "unit_fen, member_count, member_fen, created_op) VALUES (:id, :n, :k, :p, :u, "
					  ":per, :b, :unit, :mc, :mf, :op)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", id) || hj_db_bind_text(st, ":n", name) || hj_db_bind_text(st, ":k", kind) ||
	      hj_db_bind_text(st, ":p", provider) || hj_db_bind_text(st, ":u", unit) ||
	      hj_db_bind_text(st, ":per", period) || bind_bound(st, ":b", b.budget_set, b.budget) ||
	      hj_db_bind_int(st, ":unit", b.unit) || bind_bound(st, ":mc", b.count_set, b.count) ||
	      bind_bound(st, ":mf", b.fen_set, b.fen) || hj_db_bind_text(st, ":op", opid))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* service.update: the provider, the unit price, the budget and the limits
 * (null clears a bound). Name, kind, union and period stay: the rows
 * already counted against them keep their meaning. */
int hj_fold_service_update(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *id = hj_json_get_str(op, "id"), *provider = hj_json_get_str(op, "provider");
	char *unit = NULL, opid[160];
	bounds b;
	int rc;

	if (hj_rules_at_least(ctx, SERVICE_RULES, "service.update", v))
		return 0;
	if (!id)
		return hj_reject(v, "invalid", "service.update: id required");
	if (provider && text_field(ctx, "service.update", "provider", provider, v))
		return 0;
	if (read_bounds(&b, op, 1, "service.update", v))
		return 0;
	if (!provider && !b.unit_set && !b.budget_set && !b.count_set && !b.fen_set)
		return hj_reject(v, "invalid", "service.update %s: nothing to change", id);
	rc = hj_db_get_text(&unit, db, "SELECT union_id FROM service WHERE id = :id", ":id", id);
	if (rc == HJ_ENOTFOUND)
		return hj_reject(v, "unknown_service", "service.update: no service %.64s", id);
	if (rc || (rc = hj_fold_authority(db, ctx, unit, v))) {
		free(unit);
		return rc < 0 ? rc : 0;
	}
	free(unit);
	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE service SET provider = coalesce(:p, provider), "
		"unit_fen = coalesce(:unit, unit_fen), budget_fen = CASE :bs WHEN 0 THEN budget_fen ELSE :b END, "
		"member_count = CASE :cs WHEN 0 THEN member_count ELSE :mc END, "
		"member_fen = CASE :fs WHEN 0 THEN member_fen ELSE :mf END, updated_op = :op WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":p", provider) || bind_bound(st, ":unit", b.unit_set, b.unit) ||
	      hj_db_bind_int(st, ":bs", b.budget_set) || bind_bound(st, ":b", b.budget_set, b.budget) ||
	      hj_db_bind_int(st, ":cs", b.count_set) || bind_bound(st, ":mc", b.count_set, b.count) ||
	      hj_db_bind_int(st, ":fs", b.fen_set) || bind_bound(st, ":mf", b.fen_set, b.fen) ||
	      hj_db_bind_text(st, ":op", opid) || hj_db_bind_text(st, ":id", id))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_fold_service_point(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *id = hj_json_get_str(op, "id"), *name = hj_json_get_str(op, "name");
	const char *kind = hj_json_get_str(op, "kind"), *unit = hj_json_get_str(op, "union");
	char opid[160];
	int rc;

	if (hj_rules_at_least(ctx, SERVICE_RULES, "service.point", v))
		return 0;
	if (!id || hj_node_id_check(id))
		return hj_reject(v, "invalid", "service.point: id must be 1-64 of [a-z0-9._-]");
	if (text_field(ctx, "service.point", "name", name, v))
		return 0;
	if (!kind || (strcmp(kind, "driver_home") && strcmp(kind, "service_station") && strcmp(kind, "office")))
		return hj_reject(v, "invalid", "service.point %s: unknown kind '%.40s': one of driver_home, "
				 "service_station, office", id, kind ? kind : "");
	if ((rc = union_authority(db, ctx, "service.point", unit, v)))
		return rc < 0 ? rc : 0;
	if ((rc = exists(db, "SELECT count(*) FROM service_point WHERE id = :c", id)) != 0)
		return rc < 0 ? rc : hj_reject(v, "exists", "service point %s already exists", id);
	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO service_point(id, name, kind, union_id, created_op) "
					  "VALUES (:id, :n, :k, :u, :op)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", id) || hj_db_bind_text(st, ":n", name) || hj_db_bind_text(st, ":k", kind) ||
	      hj_db_bind_text(st, ":u", unit) || hj_db_bind_text(st, ":op", opid))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* What a delivery reads of its service and its membership record. */
typedef struct delivery {
	const char *member, *service, *on, *point;
	char svc_union[65], period[16], key[8];
	int64_t unit, budget, count, fen;
	int has_budget, has_count, has_fen;
	char m_union[65], status[16], person[65], joined[11];
} delivery;

static void col_copy(char *out, size_t n, sqlite3_stmt *st, int col)
{
	snprintf(out, n, "%s", sqlite3_column_type(st, col) == SQLITE_NULL ? "" : hj_db_col_text(st, col));
}

/* 0 found, HJ_ENOTFOUND, or an error. */
static int service_get(hj_db *db, delivery *d)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT union_id, period, unit_fen, budget_fen, member_count, member_fen "
					  "FROM service WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":id", d->service);
	if (!rc && (rc = hj_db_step(db, st)) == 1) {
		col_copy(d->svc_union, sizeof d->svc_union, st, 0);
		col_copy(d->period, sizeof d->period, st, 1);
		d->unit = sqlite3_column_int64(st, 2);
		d->has_budget = sqlite3_column_type(st, 3) != SQLITE_NULL;
		d->budget = sqlite3_column_int64(st, 3);
		d->has_count = sqlite3_column_type(st, 4) != SQLITE_NULL;
		d->count = sqlite3_column_int64(st, 4);
		d->has_fen = sqlite3_column_type(st, 5) != SQLITE_NULL;
		d->fen = sqlite3_column_int64(st, 5);
		rc = 0;
	} else if (rc == 0) {
		rc = HJ_ENOTFOUND;
	}
	hj_db_release(db, st);
	return rc;
}

static int member_get(hj_db *db, delivery *d)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT union_id, status, person_key, coalesce(joined_on, decided_on) "
					  "FROM membership WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":id", d->member);
	if (!rc && (rc = hj_db_step(db, st)) == 1) {
		col_copy(d->m_union, sizeof d->m_union, st, 0);
		col_copy(d->status, sizeof d->status, st, 1);
		col_copy(d->person, sizeof d->person, st, 2);
		col_copy(d->joined, sizeof d->joined, st, 3);
		rc = 0;
	} else if (rc == 0) {
		rc = HJ_ENOTFOUND;
	}
	hj_db_release(db, st);
	return rc;
}

/* count(*) and sum(amount_fen) of the applied deliveries of the service in
 * the period (of one person when `person` is not NULL). */
static int spent(hj_db *db, const delivery *d, const char *person, int64_t *n, int64_t *fen)
{
	sqlite3_stmt *st = hj_db_stmt(db, person ? "SELECT count(*), coalesce(sum(amount_fen), 0) FROM service_delivery "
						   "WHERE person_key = :k AND service = :s AND period = :p"
						 : "SELECT count(*), coalesce(sum(amount_fen), 0) FROM service_delivery "
						   "WHERE service = :s AND period = :p");
	if (!st)
		return HJ_ERROR;
	int rc = (person && hj_db_bind_text(st, ":k", person)) || hj_db_bind_text(st, ":s", d->service) ||
			 hj_db_bind_text(st, ":p", d->key)
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	if (rc == 1) {
		*n = sqlite3_column_int64(st, 0);
		*fen = sqlite3_column_int64(st, 1);
		rc = 0;
	}
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* The budget and the member's limits in the period, with `amount` added.
 * 0 go on, 1 rejected, <0 error. */
static int within_bounds(hj_db *db, const delivery *d, int64_t amount, hj_verdict *v)
{
	int64_t n = 0, fen = 0;
	char a[32], b[32], c[32];
	int rc;
	/* What a compact hub verdict carries beside the code (an id): the
	 * service, so the county's `status` says which budget or limit. */
	snprintf(v->holder, sizeof v->holder, "%s", d->service);
	if (d->has_budget) {
		if ((rc = spent(db, d, NULL, &n, &fen)))
			return rc;
		if (fen + amount > d->budget) {
			yuan(a, fen), yuan(b, d->budget), yuan(c, amount);
			return hj_reject(v, "over_budget", "service %s %s: %s of the budget %s yuan spent; %s more is over it",
					 d->service, d->key, a, b, c), 1;
		}
	}
	if (!d->has_count && !d->has_fen)
		return (v->holder[0] = '\0'), 0;
	if ((rc = spent(db, d, d->person, &n, &fen)))
		return rc;
	if (d->has_count && n + 1 > d->count)
		return hj_reject(v, "over_limit", "service %s %s: the member already received %" PRId64 " of %" PRId64
				 " allowed", d->service, d->key, n, d->count), 1;
	if (d->has_fen && fen + amount > d->fen) {
		yuan(a, fen), yuan(b, d->fen), yuan(c, amount);
		return hj_reject(v, "over_limit", "service %s %s: the member already received %s of %s yuan; %s more is "
				 "over it", d->service, d->key, a, b, c), 1;
	}
	v->holder[0] = '\0';
	return 0;
}

/* The service, the point and the membership record: they exist, the
 * record is active and in the service's subtree, the actor acts for its
 * union, and the date falls inside it. 0 go on, 1 rejected, <0 error. */
static int deliver_checks(hj_db *db, const hj_foldctx *ctx, delivery *d, hj_verdict *v)
{
	int rc;
	if ((rc = service_get(db, d)) == HJ_ENOTFOUND)
		return hj_reject(v, "unknown_service", "service.deliver: no service %.64s", d->service), 1;
	if (rc)
		return rc;
	if (d->point && (rc = exists(db, "SELECT count(*) FROM service_point WHERE id = :c", d->point)) <= 0)
		return rc < 0 ? rc : (hj_reject(v, "unknown_point", "service.deliver: no service point %.64s", d->point), 1);
	if ((rc = member_get(db, d)) == HJ_ENOTFOUND)
		return hj_reject(v, "unknown_member", "service.deliver: no membership %.64s", d->member), 1;
	if (rc || (rc = hj_fold_authority(db, ctx, d->m_union, v)))
		return rc;
	if (strcmp(d->status, "active") != 0)
		return hj_reject(v, "not_member", "service.deliver: membership %.64s is %s, not active: services are "
				 "for members", d->member, d->status), 1;
	if (hj_rules_future_date(ctx, "delivery date", d->on, v) ||
	    hj_rules_date_order(ctx, "delivery date", d->on, "membership's join date", d->joined[0] ? d->joined : NULL, v))
		return 1;
	if ((rc = hj_org_in_subtree(db, d->m_union, d->svc_union)) <= 0)
		return rc < 0 ? rc : (hj_reject(v, "not_covered", "service.deliver: service %s is funded by %s; the "
						"member's union %s is outside it", d->service, d->svc_union, d->m_union), 1);
	return 0;
}

int hj_fold_service_deliver(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	delivery d = {.member = hj_json_get_str(op, "member"), .service = hj_json_get_str(op, "service"),
		      .on = hj_json_get_str(op, "on"), .point = hj_json_get_str(op, "point")};
	int64_t amount = 0;
	char opid[160];
	int set, rc, y, m, dd;

	if (hj_rules_at_least(ctx, SERVICE_RULES, "service.deliver", v))
		return 0;
	if (!d.member || !d.service)
		return hj_reject(v, "invalid", "service.deliver: member and service required");
	if (!d.on || hj_date_parse(d.on, &y, &m, &dd))
		return hj_reject(v, "invalid", "service.deliver: \"on\" must be a date YYYY-MM-DD");
	if (opt_int(&amount, &set, op, "amount_fen", 0, 0, "service.deliver", v))
		return 0;
	if ((rc = deliver_checks(db, ctx, &d, v)))
		return rc < 0 ? rc : 0;
	if (!set)
		amount = d.unit;
	if (hj_service_period_of(d.key, d.period, d.on))
		return hj_error_set(HJ_ECORRUPT, "service %s: period '%s' in the registry", d.service, d.period);
	/* A county does not hold the other counties' deliveries: an applied
	 * verdict of the hub stands for the sums it cannot recompute. */
	if (!ctx->trust_hub && (rc = within_bounds(db, &d, amount, v)))
		return rc < 0 ? rc : 0;
	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO service_delivery(id, service, member, person_key, union_id, point, "
					  "on_date, period, amount_fen, by_node) VALUES (:id, :s, :m, :k, :u, :pt, :on, "
					  ":per, :a, :by)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", opid) || hj_db_bind_text(st, ":s", d.service) ||
	      hj_db_bind_text(st, ":m", d.member) || hj_db_bind_text(st, ":k", d.person) ||
	      hj_db_bind_text(st, ":u", d.m_union) || hj_db_bind_text(st, ":pt", d.point) ||
	      hj_db_bind_text(st, ":on", d.on) || hj_db_bind_text(st, ":per", d.key) || hj_db_bind_int(st, ":a", amount) ||
	      hj_db_bind_text(st, ":by", ctx->actor))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_fold_service_held(hj_db *db, const hj_json *op)
{
	const char *name = hj_json_get_str(op, "op"), *member = hj_json_get_str(op, "member");
	if (!name || strcmp(name, "service.deliver") != 0)
		return 1; /* services and points are held everywhere */
	if (!member)
		return 0;
	return exists(db, "SELECT count(*) FROM membership WHERE id = :c", member);
}
