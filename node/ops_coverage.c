/*
 * ops_coverage.c — fold handlers for the denominators and goals of the
 * membership rate (schema/018_coverage.sql): survey.record (a survey's
 * estimate of one group's workers in a union's area) and target.set (the
 * rate due by a date). Both arrived with rules 6.
 *
 * Op formats (op version as the CLI writes it, HJ_OP_VERSION):
 *   {"op":"survey.record","v":4,"union":U,"group":G,"estimated":N,
 *    "on":"YYYY-MM-DD","source":"transport_dept"|"platform"|"outreach"}
 *   {"op":"target.set","v":4,"union":U,"group":G,"rate_bp":0..10000,
 *    "by":"YYYY-MM-DD"}
 * The row id is "<union>/<group>/<date>"; a later op for the same id, in
 * hub order, replaces the row (a corrected survey, a revised target). The
 * node with authority over the union (hj_fold_authority) records them;
 * every node folds them (deliver.c: not member ops, held everywhere), so a
 * county sees its own targets and its parents' offline.
 */
#include "envelope.h"
#include "error.h"
#include "fold.h"
#include "idnum.h"
#include "rules.h"

#include <stdio.h>
#include <string.h>

/* Surveys count people: a bound far above any union's area, so a typo of
 * extra digits is refused rather than turning every rate into 0.00%. */
#define SURVEY_MAX 100000000

static int known(hj_db *db, const char *sql, const char *code)
{
	int64_t n = 0;
	int rc = hj_db_get_int(db, sql, ":c", code, &n);
	return rc ? rc : n > 0;
}

/* What both ops check: rules 6, the date, the group, the union and the
 * actor's authority over it. 0 go on, 1 rejected (v), <0 error. */
static int check_common(hj_db *db, const hj_foldctx *ctx, const char *what, const char *unit, const char *grp,
			const char *date, const char *date_field, hj_verdict *v)
{
	int y, m, d, rc;
	if (hj_rules_at_least(ctx, 6, what, v))
		return 1;
	if (!unit || hj_node_id_check(unit))
		return hj_reject(v, "invalid", "%s: union required ([a-z0-9._-], 1-64)", what), 1;
	if (!date || hj_date_parse(date, &y, &m, &d))
		return hj_reject(v, "invalid", "%s: \"%s\" must be a date YYYY-MM-DD", what, date_field), 1;
	if (!grp || (rc = known(db, "SELECT count(*) FROM worker_group WHERE code = :c", grp)) == 0)
		return hj_reject(v, "invalid", "%s: unknown worker group", what), 1;
	if (rc < 0)
		return rc;
	/* The union must exist, except a node's own before the hub's org tree
	 * has reached it (offline from day one, as member.apply). */
	int own = ctx->self && ctx->self_union && strcmp(ctx->actor, ctx->self) == 0 &&
		  strcmp(unit, ctx->self_union) == 0;
	if (!own && (rc = known(db, "SELECT count(*) FROM org WHERE id = :c", unit)) <= 0)
		return rc < 0 ? rc : (hj_reject(v, "unknown_union", "%s: union %s does not exist", what, unit), 1);
	return hj_fold_authority(db, ctx, unit, v);
}

int hj_fold_survey_record(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *unit = hj_json_get_str(op, "union"), *grp = hj_json_get_str(op, "group");
	const char *on = hj_json_get_str(op, "on"), *source = hj_json_get_str(op, "source");
	int64_t est = -1;
	char opid[160], id[200];
	int rc = check_common(db, ctx, "survey.record", unit, grp, on, "on", v);
	if (rc)
		return rc < 0 ? rc : 0;
	if (hj_json_get_int(op, "estimated", &est) || est < 0 || est > SURVEY_MAX)
		return hj_reject(v, "invalid", "survey.record: \"estimated\" must be a count 0..%d", SURVEY_MAX);
	if (!source || (strcmp(source, "transport_dept") && strcmp(source, "platform") && strcmp(source, "outreach")))
		return hj_reject(v, "invalid", "survey.record: source must be transport_dept, platform or outreach");
	if (hj_rules_future_date(ctx, "survey date", on, v))
		return 0;
	hj_fold_op_id(opid, sizeof opid, ctx);
	snprintf(id, sizeof id, "%s/%s/%s", unit, grp, on);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT OR REPLACE INTO survey(id, union_id, grp, on_date, estimated, source, op) "
					  "VALUES (:id, :u, :g, :on, :n, :s, :op)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", id) || hj_db_bind_text(st, ":u", unit) || hj_db_bind_text(st, ":g", grp) ||
	      hj_db_bind_text(st, ":on", on) || hj_db_bind_int(st, ":n", est) || hj_db_bind_text(st, ":s", source) ||
	      hj_db_bind_text(st, ":op", opid))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_fold_target_set(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *unit = hj_json_get_str(op, "union"), *grp = hj_json_get_str(op, "group");
	const char *by = hj_json_get_str(op, "by");
	int64_t bp = -1;
	char opid[160], id[200];
	int rc = check_common(db, ctx, "target.set", unit, grp, by, "by", v);
	if (rc)
		return rc < 0 ? rc : 0;
	if (hj_json_get_int(op, "rate_bp", &bp) || bp < 0 || bp > 10000)
		return hj_reject(v, "invalid", "target.set: \"rate_bp\" must be 0..10000 (basis points: 62.5%% = 6250)");
	/* A target dated in the past is allowed: a province records the
	 * targets it already set on paper, and their status is "met" or
	 * "missed" from the rows. */
	hj_fold_op_id(opid, sizeof opid, ctx);
	snprintf(id, sizeof id, "%s/%s/%s", unit, grp, by);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT OR REPLACE INTO target(id, union_id, grp, by_date, rate_bp, op) "
					  "VALUES (:id, :u, :g, :by, :bp, :op)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", id) || hj_db_bind_text(st, ":u", unit) || hj_db_bind_text(st, ":g", grp) ||
	      hj_db_bind_text(st, ":by", by) || hj_db_bind_int(st, ":bp", bp) || hj_db_bind_text(st, ":op", opid))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}
