/*
 * report_coverage.c — `huiji report coverage`: members active on a date,
 * open applications, the latest survey's estimate, the membership rate
 * (入会率) and the dated targets' status, per union of the tree rolled up
 * (a union's row counts its whole subtree: community and township in
 * their county, county in its city, city in the province; an industry
 * federation, platform or park union is its own row under its parent)
 * and per worker group, platform or channel.
 *
 * Counted by the rows' own dates, not their status today: a membership is
 * active on D when it began (decided_on: the approval, or the transfer
 * that brought it here) on or before D and did not end (left_on: left, or
 * transferred away) on or before D; an application is open on D when it
 * was made on or before D and not decided or withdrawn by then.
 *
 * Target status on D, for the target due next (by >= D):
 *   met       the rate on D reaches the target's rate;
 *   on_track  below it, but the members gained in the 30 days up to D,
 *             kept up until the due date, reach it (same estimate);
 *   behind    below it, and that pace does not reach it;
 * and for the last target passed (by < D): met when the rate on its due
 * date (members then, over the latest survey on or before it) reached it,
 * else missed. no_survey: no estimate (or 0) to measure a rate against.
 */
#include "report.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Active on :d and open on :d, as SQL over a membership row m. */
#define ACTIVE_ON(d)                                                                                            \
	"(m.status IN ('active', 'left', 'transferred') AND coalesce(m.decided_on, m.joined_on) <= " d            \
	" AND (m.left_on IS NULL OR m.left_on > " d "))"
#define OPEN_ON(d)                                                                                              \
	"(m.from_member IS NULL AND m.applied_on <= " d " AND (m.decided_on IS NULL OR m.decided_on > " d         \
	") AND (m.left_on IS NULL OR m.left_on > " d "))"

static const rpt_col group_cols[] = {
	{"union_id", "union", 0},
	{"union", "name", 0},
	{"group", "group", 0},
	{"active_members", "members", 1},
	{"open_applications", "applied", 1},
	{"estimated_workers", "estimated", 1},
	{"rate_percent", "rate%", 1},
	{"target_percent", "target%", 1},
	{"target_by", "due", 0},
	{"target_status", "status", 0},
	{"last_target_percent", "last%", 1},
	{"last_target_by", "last due", 0},
	{"last_target_status", "last status", 0},
	{"survey_on", "survey", 0},
	{"survey_source", NULL, 0},
	{"kind", NULL, 0},
	{"parent", NULL, 0},
	{"depth", NULL, 1},
};

/* --by union: a union's groups summed; the rate over the groups it has
 * an estimate for. --by platform / channel: counts only (surveys and
 * targets are per group). */
static const rpt_col union_cols[] = {
	{"union_id", "union", 0},
	{"union", "name", 0},
	{"active_members", "members", 1},
	{"open_applications", "applied", 1},
	{"estimated_workers", "estimated", 1},
	{"rate_percent", "rate%", 1},
	{"kind", NULL, 0},
	{"parent", NULL, 0},
	{"depth", NULL, 1},
};
static const rpt_col platform_cols[] = {
	{"union_id", "union", 0}, {"union", "name", 0},   {"platform", "platform", 0}, {"active_members", "members", 1},
	{"open_applications", "applied", 1}, {"kind", NULL, 0}, {"parent", NULL, 0}, {"depth", NULL, 1},
};
static const rpt_col channel_cols[] = {
	{"union_id", "union", 0}, {"union", "name", 0},   {"channel", "channel", 0}, {"active_members", "members", 1},
	{"open_applications", "applied", 1}, {"kind", NULL, 0}, {"parent", NULL, 0}, {"depth", NULL, 1},
};

typedef struct cell {
	int64_t rows, active, open;
} cell;

typedef struct cov {
	hj_db *db;
	rpt_tree tree;
	char **dim; /* the dimension's values */
	size_t nd;
	cell *m; /* tree.n * nd, rolled up */
	const char *on;
} cov;

static void cov_free(cov *c)
{
	for (size_t i = 0; i < c->nd; i++)
		free(c->dim[i]);
	free(c->dim);
	free(c->m);
	rpt_tree_free(&c->tree);
}

static int dim_index(const cov *c, const char *v)
{
	for (size_t i = 0; i < c->nd; i++)
		if (strcmp(c->dim[i], v) == 0)
			return (int)i;
	return -1;
}

/* The dimension's values, in the vocabulary's order ("none": no platform). */
static int load_dims(cov *c, const char *vocab_sql)
{
	sqlite3_stmt *st = hj_db_stmt(c->db, vocab_sql);
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(c->db, st)) == 1) {
		rc = 0; /* a row: go on */
		char **p = realloc(c->dim, (c->nd + 1) * sizeof *p);
		if (!p || !(p[c->nd] = strdup(hj_db_col_text(st, 0)))) {
			if (p)
				c->dim = p;
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			break;
		}
		c->dim = p;
		c->nd++;
	}
	hj_db_release(c->db, st);
	return rc < 0 ? rc : 0;
}

/* Count per (union, value) on the date and roll up the tree. */
static int load_counts(cov *c, const char *dimcol)
{
	char sql[900];
	snprintf(sql, sizeof sql,
		 "SELECT m.union_id, %s, count(*), sum(" ACTIVE_ON(":d") "), sum(" OPEN_ON(":d") ") "
		 "FROM membership m GROUP BY 1, 2",
		 dimcol); /* dimcol is one of the fixed column expressions below, never input */
	if (!(c->m = calloc(c->tree.n * c->nd + 1, sizeof *c->m)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	sqlite3_stmt *st = hj_db_stmt(c->db, sql);
	int rc = !st || hj_db_bind_text(st, ":d", c->on) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(c->db, st)) == 1) {
		rc = 0; /* a row: go on */
		int u = rpt_tree_find(&c->tree, hj_db_col_text(st, 0)), d = dim_index(c, hj_db_col_text(st, 1));
		if (u < 0 || d < 0)
			continue; /* a union the tree here does not hold yet */
		for (int a = u, k = 0; a >= 0 && k < 40; a = rpt_tree_up(&c->tree, a), k++) {
			cell *x = &c->m[(size_t)a * c->nd + (size_t)d];
			x->rows += sqlite3_column_int64(st, 2);
			x->active += sqlite3_column_int64(st, 3);
			x->open += sqlite3_column_int64(st, 4);
		}
	}
	hj_db_release(c->db, st);
	return rc < 0 ? rc : 0;
}

/* Members of `grp` in the subtree of `org` active on `date`. */
static int active_at(int64_t *out, hj_db *db, const char *org, const char *grp, const char *date)
{
	sqlite3_stmt *st = hj_db_stmt(db, RPT_COUNTED_SQL "SELECT count(*) FROM membership m WHERE m.union_id IN "
					  "(SELECT id FROM sub) AND m.grp = :g AND " ACTIVE_ON(":d"));
	int rc = !st || hj_db_bind_text(st, ":u", org) || hj_db_bind_text(st, ":g", grp) || hj_db_bind_text(st, ":d", date)
			 ? HJ_ERROR
			 : hj_db_step(db, st);
	*out = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* One row of `sql` (bound :u :g :d): two or three text columns into
 * a, b, s (may be NULL). 1 found, 0 none, <0 error. */
static int lookup(hj_db *db, const char *sql, const char *org, const char *grp, const char *date, int64_t *num,
		  char a[11], char s[24])
{
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	int rc = !st || hj_db_bind_text(st, ":u", org) || hj_db_bind_text(st, ":g", grp) || hj_db_bind_text(st, ":d", date)
			 ? HJ_ERROR
			 : hj_db_step(db, st);
	if (rc == 1) {
		*num = sqlite3_column_int64(st, 0);
		snprintf(a, 11, "%s", hj_db_col_text(st, 1));
		if (s)
			snprintf(s, 24, "%s", sqlite3_column_count(st) > 2 ? hj_db_col_text(st, 2) : "");
	}
	hj_db_release(db, st);
	return rc;
}

#define SURVEY_SQL                                                                                              \
	"SELECT estimated, on_date, source FROM survey WHERE union_id = :u AND grp = :g AND on_date <= :d "     \
	"ORDER BY on_date DESC LIMIT 1"

/* The estimate of the latest survey on or before `date`; -1 none. */
static int estimate_at(int64_t *est, hj_db *db, const char *org, const char *grp, const char *date, char on[11],
		       char src[24])
{
	char a[11], s[24];
	int rc = lookup(db, SURVEY_SQL, org, grp, date, est, on ? on : a, src ? src : s);
	if (rc == 0)
		*est = -1;
	return rc < 0 ? rc : 0;
}

/* The figures of one (union, group) row: survey, rate, targets. */
typedef struct grp_row {
	int64_t est, rate, next_bp, last_bp;
	char survey_on[11], source[24], next_by[11], last_by[11];
	const char *next_status, *last_status;
	int any; /* a survey or a target exists */
} grp_row;

static int next_status(grp_row *r, hj_db *db, const char *org, const char *grp, const char *on, int64_t act)
{
	if (r->est <= 0) {
		r->next_status = "no_survey";
		return 0;
	}
	if (r->rate >= r->next_bp) {
		r->next_status = "met";
		return 0;
	}
	char before[11];
	int64_t m30 = 0, days = rpt_days(r->next_by) - rpt_days(on);
	rpt_date(before, rpt_days(on) - 30);
	int rc = active_at(&m30, db, org, grp, before);
	if (rc)
		return rc;
	/* projected members at the due date: act + (act - m30) * days / 30 */
	int64_t projected30 = act * 30 + (act - m30) * days;
	r->next_status = projected30 * 10000 >= r->next_bp * r->est * 30 ? "on_track" : "behind";
	return 0;
}

static int group_figures(grp_row *r, hj_db *db, const char *org, const char *grp, const char *on, int64_t act)
{
	int rc;
	memset(r, 0, sizeof *r);
	r->next_bp = r->last_bp = -1;
	if ((rc = estimate_at(&r->est, db, org, grp, on, r->survey_on, r->source)))
		return rc;
	r->rate = rpt_rate_bp(act, r->est);
	r->any = r->est >= 0;
	if ((rc = lookup(db, "SELECT rate_bp, by_date FROM target WHERE union_id = :u AND grp = :g AND by_date >= :d "
			     "ORDER BY by_date LIMIT 1", org, grp, on, &r->next_bp, r->next_by, NULL)) < 0)
		return rc;
	if (rc == 1 && (rc = next_status(r, db, org, grp, on, act)))
		return rc;
	if ((rc = lookup(db, "SELECT rate_bp, by_date FROM target WHERE union_id = :u AND grp = :g AND by_date < :d "
			     "ORDER BY by_date DESC LIMIT 1", org, grp, on, &r->last_bp, r->last_by, NULL)) < 0)
		return rc;
	if (rc == 1) {
		int64_t then = 0, est_then = -1;
		if ((rc = active_at(&then, db, org, grp, r->last_by)) ||
		    (rc = estimate_at(&est_then, db, org, grp, r->last_by, NULL, NULL)))
			return rc;
		r->last_status = est_then <= 0 ? "no_survey" : rpt_rate_bp(then, est_then) >= r->last_bp ? "met" : "missed";
	}
	r->any |= r->next_bp >= 0 || r->last_bp >= 0;
	return 0;
}

static int add_group_row(rpt_table *out, cov *c, size_t o, size_t d)
{
	const rpt_org *org = &c->tree.org[o];
	const cell *x = &c->m[o * c->nd + d];
	grp_row r;
	char act[24], open[24], est[24] = "", rate[32] = "", nbp[32] = "", lbp[32] = "", depth[8];
	int rc = group_figures(&r, c->db, org->id, c->dim[d], c->on, x->active);
	if (rc || (!x->rows && !r.any))
		return rc;
	snprintf(act, sizeof act, "%lld", (long long)x->active);
	snprintf(open, sizeof open, "%lld", (long long)x->open);
	snprintf(depth, sizeof depth, "%d", org->depth);
	if (r.est >= 0)
		snprintf(est, sizeof est, "%lld", (long long)r.est);
	if (r.rate >= 0)
		rpt_fmt_bp(rate, r.rate);
	if (r.next_bp >= 0)
		rpt_fmt_bp(nbp, r.next_bp);
	if (r.last_bp >= 0)
		rpt_fmt_bp(lbp, r.last_bp);
	const char *cells[] = {org->id, org->name, c->dim[d], act, open, est, rate, nbp, r.next_bp >= 0 ? r.next_by : NULL,
			       r.next_status, lbp, r.last_bp >= 0 ? r.last_by : NULL, r.last_status,
			       r.est >= 0 ? r.survey_on : NULL, r.est >= 0 ? r.source : NULL, org->kind,
			       org->parent >= 0 ? c->tree.org[org->parent].id : NULL, depth};
	return rpt_add(out, cells);
}

/* --by union: the row of org `o`, its groups summed. */
static int add_union_row(rpt_table *out, cov *c, size_t o)
{
	const rpt_org *org = &c->tree.org[o];
	int64_t rows = 0, act = 0, open = 0, est = 0, surveyed = 0;
	int any = 0, rc = 0;
	for (size_t d = 0; d < c->nd; d++) {
		const cell *x = &c->m[o * c->nd + d];
		int64_t e = -1;
		rows += x->rows;
		act += x->active;
		open += x->open;
		if ((rc = estimate_at(&e, c->db, org->id, c->dim[d], c->on, NULL, NULL)))
			return rc;
		if (e >= 0) {
			any = 1;
			est += e;
			surveyed += x->active;
		}
	}
	if (!rows && !any)
		return 0;
	char a[24], p[24], e[24] = "", r[32] = "", depth[8];
	snprintf(a, sizeof a, "%lld", (long long)act);
	snprintf(p, sizeof p, "%lld", (long long)open);
	snprintf(depth, sizeof depth, "%d", org->depth);
	if (any)
		snprintf(e, sizeof e, "%lld", (long long)est);
	if (any && est > 0)
		rpt_fmt_bp(r, rpt_rate_bp(surveyed, est));
	const char *cells[] = {org->id, org->name, a, p, e, r, org->kind,
			       org->parent >= 0 ? c->tree.org[org->parent].id : NULL, depth};
	return rpt_add(out, cells);
}

/* --by platform / channel. */
static int add_count_row(rpt_table *out, cov *c, size_t o, size_t d)
{
	const rpt_org *org = &c->tree.org[o];
	const cell *x = &c->m[o * c->nd + d];
	if (!x->rows)
		return 0;
	char a[24], p[24], depth[8];
	snprintf(a, sizeof a, "%lld", (long long)x->active);
	snprintf(p, sizeof p, "%lld", (long long)x->open);
	snprintf(depth, sizeof depth, "%d", org->depth);
	const char *cells[] = {org->id, org->name, c->dim[d], a, p, org->kind,
			       org->parent >= 0 ? c->tree.org[org->parent].id : NULL, depth};
	return rpt_add(out, cells);
}

int rpt_coverage(rpt_table *out, hj_db *db, const char *on, const char *by)
{
	cov c = {.db = db, .on = on};
	int grp = !by || strcmp(by, "group") == 0, uni = by && strcmp(by, "union") == 0;
	int plat = by && strcmp(by, "platform") == 0, chan = by && strcmp(by, "channel") == 0;
	int rc;
	if (!grp && !uni && !plat && !chan)
		return hj_error_set(HJ_EINVALID, "unknown --by '%s': one of union, group, platform, channel", by);
	if (grp || uni)
		rpt_init(out, "coverage", grp ? group_cols : union_cols,
			 grp ? sizeof group_cols / sizeof *group_cols : sizeof union_cols / sizeof *union_cols);
	else
		rpt_init(out, "coverage", plat ? platform_cols : channel_cols,
			 plat ? sizeof platform_cols / sizeof *platform_cols : sizeof channel_cols / sizeof *channel_cols);
	out->indent_col = 0;
	snprintf(out->title, sizeof out->title, "coverage on %s by %s", on, by ? by : "group");
	if ((rc = rpt_tree_load(&c.tree, db)))
		goto done;
	if ((rc = load_dims(&c, plat ? "SELECT code FROM platform UNION ALL SELECT 'none'"
				     : chan ? "SELECT code FROM channel ORDER BY sort"
					    : "SELECT code FROM worker_group ORDER BY sort")))
		goto done;
	if ((rc = load_counts(&c, plat ? "coalesce(m.platform, 'none')" : chan ? "m.channel" : "m.grp")))
		goto done;
	for (size_t o = 0; !rc && o < c.tree.n; o++) {
		if (uni) {
			rc = add_union_row(out, &c, o);
			continue;
		}
		for (size_t d = 0; !rc && d < c.nd; d++)
			rc = grp ? add_group_row(out, &c, o, d) : add_count_row(out, &c, o, d);
	}
done:
	cov_free(&c);
	if (rc)
		rpt_free(out);
	return rc;
}
