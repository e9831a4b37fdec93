/*
 * report_targets.c — `huiji report coverage --targets FILE`, as before
 * issue 9: members by county and worker group (a membership rolled up to
 * its nearest county ancestor; a union outside any county stands alone),
 * counted by status as the registry holds it now, and the survey figures
 * of a CSV file (org_id,group,estimated_workers,target_percent). On top,
 * the surveys and targets recorded as ops (report_coverage.c) fill the
 * cells the file does not name: the latest survey on or before --on and
 * the target due next. The CSV keeps its eight columns.
 */
#include "report.h"
#include "csv.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rpt_col cols[] = {
	{"county_id", "county", 0},
	{"county", "name", 0},
	{"group", "group", 0},
	{"active_members", "members", 1},
	{"open_applications", "applied", 1},
	{"estimated_workers", "estimated", 1},
	{"rate_percent", "rate%", 1},
	{"target_percent", "target%", 1},
};

/* Active members and open applications per (county, group). */
static const char *cells_sql =
	"WITH RECURSIVE up(id, anc) AS (SELECT id, id FROM org "
	"  UNION SELECT up.id, o.parent FROM up JOIN org o ON o.id = up.anc "
	"  WHERE o.kind <> 'county' AND o.parent IS NOT NULL), "
	"county(id, cid) AS (SELECT up.id, coalesce((SELECT u2.anc FROM up u2 JOIN org c ON c.id = u2.anc "
	"  WHERE u2.id = up.id AND c.kind = 'county'), up.id) FROM up GROUP BY up.id) "
	"SELECT coalesce(c.cid, m.union_id) AS cty, coalesce(o.name, m.union_id), m.grp, "
	"  sum(m.status = 'active'), sum(m.status = 'applied') "
	"FROM membership m LEFT JOIN county c ON c.id = m.union_id LEFT JOIN org o ON o.id = coalesce(c.cid, m.union_id) "
	"GROUP BY cty, m.grp ORDER BY cty, m.grp";

typedef struct target {
	char org[80], grp[40];
	long est;
	double pct;
} target;

/* A whole field as a number (surrounding spaces allowed). */
static int field_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(s, &end, 10);
	while (*end == ' ')
		end++;
	return end != s && !*end && !errno;
}

static int field_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	while (*end == ' ')
		end++;
	return end != s && !*end && !errno;
}

/* The survey's figures, read with the one CSV reader (hj_csv): a header
 * line starting org_id, '#' comment lines and blank lines are skipped, a
 * bad line is reported and skipped, further columns are ignored. */
static int load_targets(const char *path, target **out, size_t *n)
{
	FILE *f = fopen(path, "r");
	hj_csv *csv = NULL;
	char **fl;
	size_t nf;
	long line;
	int rc = 0, first = 1;
	*out = NULL;
	*n = 0;
	if (!f)
		return hj_error_set(HJ_ENOTFOUND, "%s: cannot open", path);
	if ((rc = hj_csv_open(&csv, f)))
		goto done;
	while ((rc = hj_csv_next(csv, &fl, &nf, &line)) != 0) {
		target t;
		int header = first && line == 1 && rc == 1 && strncmp(fl[0], "org_id", 6) == 0;
		first = 0;
		if (rc == HJ_EINVALID) {
			fprintf(stderr, "huiji: %s line %ld: %s; line skipped\n", path, line, hj_error_last());
			continue;
		}
		if (rc < 0)
			goto done;
		if (header || fl[0][0] == '#')
			continue;
		if (nf < 4 || !fl[0][0] || strlen(fl[0]) >= sizeof t.org || !fl[1][0] || strlen(fl[1]) >= sizeof t.grp ||
		    !field_long(fl[2], &t.est) || !field_double(fl[3], &t.pct) || t.est < 0 || t.pct < 0 || t.pct > 100) {
			fprintf(stderr, "huiji: %s line %ld: expected org_id,group,estimated_workers,target_percent; "
					"line skipped\n", path, line);
			continue;
		}
		snprintf(t.org, sizeof t.org, "%s", fl[0]);
		snprintf(t.grp, sizeof t.grp, "%s", fl[1]);
		target *p = realloc(*out, (*n + 1) * sizeof *p);
		if (!p) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			goto done;
		}
		*out = p;
		(*out)[(*n)++] = t;
	}
done:
	hj_csv_close(csv);
	fclose(f);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static const target *find_target(const target *t, size_t n, const char *org, const char *grp)
{
	const target *hit = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].org, org) == 0 && strcmp(t[i].grp, grp) == 0)
			hit = &t[i]; /* the last line for a cell wins */
	return hit;
}

/* The ops' figures for a cell the file does not name: into *t, 1 found. */
static int ops_target(target *t, hj_db *db, const char *org, const char *grp, const char *on)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT (SELECT estimated FROM survey WHERE union_id = :u AND grp = :g AND "
					  "on_date <= :d ORDER BY on_date DESC LIMIT 1), (SELECT rate_bp FROM target WHERE "
					  "union_id = :u AND grp = :g AND by_date >= :d ORDER BY by_date LIMIT 1)");
	int rc = !st || hj_db_bind_text(st, ":u", org) || hj_db_bind_text(st, ":g", grp) || hj_db_bind_text(st, ":d", on)
			 ? HJ_ERROR
			 : hj_db_step(db, st);
	int found = 0;
	if (rc == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		memset(t, 0, sizeof *t);
		t->est = (long)sqlite3_column_int64(st, 0);
		t->pct = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : (double)sqlite3_column_int64(st, 1) / 100.0;
		found = 1;
	}
	hj_db_release(db, st);
	return rc < 0 ? rc : found;
}

int rpt_targets_file(rpt_table *out, hj_db *db, const char *path, const char *on)
{
	target *targets = NULL, ops;
	size_t ntargets = 0;
	int rc;
	rpt_init(out, "coverage", cols, sizeof cols / sizeof *cols);
	snprintf(out->title, sizeof out->title, "coverage by county and group (survey figures: %s)", path);
	if ((rc = load_targets(path, &targets, &ntargets)))
		return rc;
	sqlite3_stmt *st = hj_db_stmt(db, cells_sql);
	rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		const char *cid = hj_db_col_text(st, 0), *grp = hj_db_col_text(st, 2);
		long act = sqlite3_column_int64(st, 3), app = sqlite3_column_int64(st, 4);
		const target *t = find_target(targets, ntargets, cid, grp);
		char sa[24], sp[24], est[24] = "", rate[16] = "", tgt[16] = "";
		if (!t && (rc = ops_target(&ops, db, cid, grp, on)) < 0)
			break;
		if (!t && rc == 1)
			t = &ops;
		if (t) {
			snprintf(est, sizeof est, "%ld", t->est);
			if (t->est > 0)
				snprintf(rate, sizeof rate, "%.1f", 100.0 * (double)act / (double)t->est);
			if (t == &ops && t->pct >= 0)
				snprintf(tgt, sizeof tgt, "%g", t->pct); /* basis points: 62.5, 60 */
			else if (t != &ops)
				snprintf(tgt, sizeof tgt, "%.0f", t->pct);
		}
		snprintf(sa, sizeof sa, "%ld", act);
		snprintf(sp, sizeof sp, "%ld", app);
		const char *cells[] = {cid, hj_db_col_text(st, 1), grp, sa, sp, est, rate, tgt};
		rc = rpt_add(out, cells);
	}
	hj_db_release(db, st);
	free(targets);
	if (rc < 0)
		rpt_free(out);
	return rc < 0 ? rc : 0;
}
