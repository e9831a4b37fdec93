/*
 * report_progress.c — `huiji report progress`: per union (its subtree
 * rolled up, as the coverage report) per calendar month: new members,
 * leaves, transfers in and out, net, members active at the month's end
 * and the rate then. Counted by the ops' own dates kept in the rows
 * (decided_on: the approval or the transfer's acceptance; left_on: the
 * leave or the transfer away), never the hub's.
 *
 * A transfer between two unions of one subtree is neither in nor out for
 * that subtree (a move between two counties of a city is not the city's
 * gain or loss); a record transferred to another province, whose next
 * record this registry does not hold, counts as out. net = new + in -
 * leaves - out, so a month's net is the change of its end count. The rate
 * at a month's end: members of the groups the union has a survey for (the
 * latest on or before that day) over those surveys' estimates summed.
 */
#include "report.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define MAX_MONTHS 240 /* twenty years: a report, not a dump */
#define NGRP 32        /* worker groups (003_vocab.sql has 9) */

static const rpt_col cols[] = {
	{"union_id", "union", 0},
	{"union", "name", 0},
	{"month", "month", 0},
	{"new_members", "new", 1},
	{"leaves", "left", 1},
	{"transfers_in", "in", 1},
	{"transfers_out", "out", 1},
	{"net", "net", 1},
	{"active_members", "members", 1},
	{"estimated_workers", "estimated", 1},
	{"rate_percent", "rate%", 1},
	{"depth", NULL, 1},
};

typedef struct mrow {
	int org, grp;
	char start[11], left[11]; /* "" none */
	int from_org, next_org;   /* the union of the record continued / continuing it; -1 none or not held */
	int from, left_kind;      /* from: a transfer in; left_kind: 1 left, 2 transferred */
} mrow;

typedef struct bucket {
	int64_t nw, lv, in, out;
} bucket;

typedef struct prog {
	rpt_tree tree;
	int nm;                /* months */
	int y0, m0;            /* the first */
	char end[MAX_MONTHS][11]; /* each month's last day */
	bucket *b;             /* org * nm */
	int64_t *act;          /* org * nm * NGRP: active at the month's end */
	int64_t *has;          /* org: any row */
	char grp[NGRP][32];
	int ngrp;
	struct succ *succ;
	size_t nsucc;
} prog;

static int month_of(const prog *p, const char *date)
{
	if (!date[0])
		return -1;
	int y = atoi(date), m = atoi(date + 5);
	int i = (y - p->y0) * 12 + (m - p->m0);
	return i >= 0 && i < p->nm ? i : -1;
}

static int grp_index(prog *p, const char *g)
{
	for (int i = 0; i < p->ngrp; i++)
		if (strcmp(p->grp[i], g) == 0)
			return i;
	if (p->ngrp == NGRP)
		return -1;
	snprintf(p->grp[p->ngrp], sizeof p->grp[0], "%s", g);
	return p->ngrp++;
}

/* Count one membership row into every union above it. */
static void count_row(prog *p, const mrow *r)
{
	int ms = month_of(p, r->start), ml = month_of(p, r->left);
	for (int a = r->org, k = 0; a >= 0 && k < 40; a = rpt_tree_up(&p->tree, a), k++) {
		bucket *b = &p->b[(size_t)a * (size_t)p->nm];
		p->has[a] = 1;
		if (ms >= 0 && !r->from)
			b[ms].nw++;
		else if (ms >= 0 && (r->from_org < 0 || !rpt_tree_within(&p->tree, r->from_org, a)))
			b[ms].in++;
		if (ml >= 0 && r->left_kind == 1)
			b[ml].lv++;
		else if (ml >= 0 && r->left_kind == 2 && (r->next_org < 0 || !rpt_tree_within(&p->tree, r->next_org, a)))
			b[ml].out++;
		if (r->grp < 0 || !r->start[0])
			continue;
		for (int m = 0; m < p->nm; m++)
			if (strcmp(r->start, p->end[m]) <= 0 && (!r->left[0] || strcmp(r->left, p->end[m]) > 0))
				p->act[((size_t)a * (size_t)p->nm + (size_t)m) * NGRP + (size_t)r->grp]++;
	}
}

/* The records that continue another (from_member), sorted by it: where a
 * record transferred away went. No index holds from_member, so it is read
 * once here rather than looked up per row (n^2 on a province). */
typedef struct succ {
	char *from;
	int org;
} succ;

static int succ_cmp(const void *a, const void *b)
{
	return strcmp(((const succ *)a)->from, ((const succ *)b)->from);
}

static int load_succ(prog *p, hj_db *db)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT from_member, union_id FROM membership WHERE from_member IS NOT NULL");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		rc = 0;
		succ *q = realloc(p->succ, (p->nsucc + 1) * sizeof *q);
		if (!q || !(q[p->nsucc].from = strdup(hj_db_col_text(st, 0)))) {
			if (q)
				p->succ = q;
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			break;
		}
		p->succ = q;
		q[p->nsucc++].org = rpt_tree_find(&p->tree, hj_db_col_text(st, 1));
	}
	hj_db_release(db, st);
	if (p->nsucc)
		qsort(p->succ, p->nsucc, sizeof *p->succ, succ_cmp);
	return rc < 0 ? rc : 0;
}

static int next_of(const prog *p, const char *id)
{
	succ key = {.from = (char *)id};
	const succ *hit = p->nsucc ? bsearch(&key, p->succ, p->nsucc, sizeof *p->succ, succ_cmp) : NULL;
	return hit ? hit->org : -1;
}

static int load_rows(prog *p, hj_db *db)
{
	sqlite3_stmt *st = hj_db_stmt(db,
		"SELECT m.union_id, m.grp, CASE WHEN m.status IN ('active', 'left', 'transferred') "
		"  THEN coalesce(m.decided_on, m.joined_on) END, m.left_on, m.status, m.from_member IS NOT NULL, "
		"  f.union_id, m.id "
		"FROM membership m LEFT JOIN membership f ON f.id = m.from_member");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		rc = 0; /* a row: go on */
		mrow r;
		memset(&r, 0, sizeof r);
		if ((r.org = rpt_tree_find(&p->tree, hj_db_col_text(st, 0))) < 0)
			continue;
		r.grp = grp_index(p, hj_db_col_text(st, 1));
		snprintf(r.start, sizeof r.start, "%s", hj_db_col_text(st, 2));
		const char *status = hj_db_col_text(st, 4);
		r.left_kind = strcmp(status, "left") == 0 ? 1 : strcmp(status, "transferred") == 0 ? 2 : 0;
		snprintf(r.left, sizeof r.left, "%s", hj_db_col_text(st, 3));
		if (!r.start[0])
			r.left_kind = 0; /* an application withdrawn: never a member */
		r.from = sqlite3_column_int(st, 5);
		r.from_org = rpt_tree_find(&p->tree, sqlite3_column_type(st, 6) == SQLITE_NULL ? NULL : hj_db_col_text(st, 6));
		r.next_org = r.left_kind == 2 ? next_of(p, hj_db_col_text(st, 7)) : -1;
		count_row(p, &r);
	}
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* The rate cells of union `o` at month m: estimate summed over the
 * groups it has a survey for, and those groups' members. */
static int rate_at(hj_db *db, prog *p, size_t o, int m, int64_t *est, int64_t *members, int *any)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT s.grp, s.estimated FROM survey s WHERE s.union_id = :u AND "
					  "s.on_date = (SELECT max(on_date) FROM survey t WHERE t.union_id = s.union_id "
					  "AND t.grp = s.grp AND t.on_date <= :d)");
	int rc = !st || hj_db_bind_text(st, ":u", p->tree.org[o].id) || hj_db_bind_text(st, ":d", p->end[m]) ? HJ_ERROR : 0;
	*est = *members = 0;
	*any = 0;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		rc = 0; /* a row: go on */
		int g = grp_index(p, hj_db_col_text(st, 0));
		*any = 1;
		*est += sqlite3_column_int64(st, 1);
		if (g >= 0)
			*members += p->act[(o * (size_t)p->nm + (size_t)m) * NGRP + (size_t)g];
	}
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

static int add_rows(rpt_table *out, hj_db *db, prog *p)
{
	int rc = 0;
	for (size_t o = 0; !rc && o < p->tree.n; o++) {
		int64_t any_survey = 0;
		rc = hj_db_get_int(db, "SELECT count(*) FROM survey WHERE union_id = :u", ":u", p->tree.org[o].id, &any_survey);
		if (rc || (!p->has[o] && !any_survey))
			continue;
		for (int m = 0; !rc && m < p->nm; m++) {
			const bucket *b = &p->b[o * (size_t)p->nm + (size_t)m];
			int64_t total = 0, est = 0, members = 0;
			int any = 0;
			for (int g = 0; g < NGRP; g++)
				total += p->act[(o * (size_t)p->nm + (size_t)m) * NGRP + (size_t)g];
			if ((rc = rate_at(db, p, o, m, &est, &members, &any)))
				break;
			char mon[8], nw[24], lv[24], in[24], ou[24], net[24], act[24], e[24] = "", r[32] = "", depth[8];
			snprintf(mon, sizeof mon, "%.7s", p->end[m]);
			snprintf(nw, sizeof nw, "%lld", (long long)b->nw);
			snprintf(lv, sizeof lv, "%lld", (long long)b->lv);
			snprintf(in, sizeof in, "%lld", (long long)b->in);
			snprintf(ou, sizeof ou, "%lld", (long long)b->out);
			snprintf(net, sizeof net, "%lld", (long long)(b->nw + b->in - b->lv - b->out));
			snprintf(act, sizeof act, "%lld", (long long)total);
			snprintf(depth, sizeof depth, "%d", p->tree.org[o].depth);
			if (any)
				snprintf(e, sizeof e, "%lld", (long long)est);
			if (any && est > 0)
				rpt_fmt_bp(r, rpt_rate_bp(members, est));
			const char *cells[] = {p->tree.org[o].id, p->tree.org[o].name, mon, nw, lv, in, ou, net, act, e, r,
					       depth};
			rc = rpt_add(out, cells);
		}
	}
	return rc;
}

int rpt_progress(rpt_table *out, hj_db *db, const char *from, const char *to)
{
	prog *p = calloc(1, sizeof *p);
	int rc = 0;
	if (!p)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	rpt_init(out, "progress", cols, sizeof cols / sizeof *cols);
	out->indent_col = 0;
	snprintf(out->title, sizeof out->title, "progress by month, %s to %s", from, to);
	p->y0 = atoi(from);
	p->m0 = atoi(from + 5);
	p->nm = (atoi(to) - p->y0) * 12 + atoi(to + 5) - p->m0 + 1;
	if (p->nm < 1 || p->nm > MAX_MONTHS) {
		rc = hj_error_set(HJ_EINVALID, "report progress: --from %s --to %s: 1 to %d months", from, to, MAX_MONTHS);
		goto done;
	}
	for (int m = 0; m < p->nm; m++) {
		int y = p->y0 + (p->m0 - 1 + m) / 12, mo = (p->m0 - 1 + m) % 12 + 1;
		char first[11];
		snprintf(first, sizeof first, "%04d-%02d-01", mo == 12 ? y + 1 : y, mo == 12 ? 1 : mo + 1);
		rpt_date(p->end[m], rpt_days(first) - 1);
	}
	if ((rc = rpt_tree_load(&p->tree, db)))
		goto done;
	p->b = calloc((p->tree.n + 1) * (size_t)p->nm, sizeof *p->b);
	p->act = calloc((p->tree.n + 1) * (size_t)p->nm * NGRP, sizeof *p->act);
	p->has = calloc(p->tree.n + 1, sizeof *p->has);
	if (!p->b || !p->act || !p->has) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	if (!(rc = load_succ(p, db)) && !(rc = load_rows(p, db)))
		rc = add_rows(out, db, p);
done:
	for (size_t i = 0; i < p->nsucc; i++)
		free(p->succ[i].from);
	free(p->succ);
	rpt_tree_free(&p->tree);
	free(p->b);
	free(p->act);
	free(p->has);
	free(p);
	if (rc)
		rpt_free(out);
	return rc;
}
