/*
 * cmd_report.c — `huiji report coverage`: members by county and worker
 * group, and, given the survey's estimates, the membership rate (入会率 =
 * members / estimated workers) against the target rate.
 *
 * Memberships are rolled up to their county: the nearest ancestor org of
 * kind county (township and community unions count for their county);
 * unions outside any county (a city's industry federation) stand alone.
 */
#include "cli.h"
#include "csv.h"
#include "error.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
	{"format", 1, "text (default) or csv"},
	{"targets", 1, "CSV of org_id,group,estimated_workers,target_percent (survey figures)"},
	{NULL, 0, NULL},
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

/* Print `s` padded to `width` terminal columns: printf pads bytes, and a
 * Chinese character is 3 bytes but 2 columns. */
static void put_padded(const char *s, int width)
{
	int cols = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += hj_utf8_len(p))
		cols += *p >= 0xE0 ? 2 : 1; /* CJK (3-byte and up) is double width */
	printf("%s%*s", s, width > cols ? width - cols : 0, "");
}

static const target *find_target(const target *t, size_t n, const char *org, const char *grp)
{
	const target *hit = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].org, org) == 0 && strcmp(t[i].grp, grp) == 0)
			hit = &t[i]; /* the last line for a cell wins */
	return hit;
}

/* One (county, group) cell of the result row `st`, as CSV or text. */
static int put_cell(hj_buf *row, int csv, sqlite3_stmt *st, const target *t)
{
	const char *cid = hj_db_col_text(st, 0), *grp = hj_db_col_text(st, 2);
	long act = sqlite3_column_int64(st, 3), app = sqlite3_column_int64(st, 4);
	char est[24] = "", rate[16] = "", tgt[16] = "";
	if (t) {
		snprintf(est, sizeof est, "%ld", t->est);
		if (t->est > 0)
			snprintf(rate, sizeof rate, "%.1f", 100.0 * (double)act / (double)t->est);
		snprintf(tgt, sizeof tgt, "%.0f", t->pct);
	}
	if (!csv) {
		printf("%-14s ", cid);
		put_padded(hj_db_col_text(st, 1), 22);
		printf(" %-16s %8ld %8ld %10s %7s %7s%s\n", grp, act, app, est, rate, tgt,
		       t && t->est > 0 && 100.0 * (double)act / (double)t->est < t->pct ? "  below target" : "");
		return 0;
	}
	/* a name may hold a comma or a quote: RFC 4180 quoting */
	char sa[24], sp[24];
	snprintf(sa, sizeof sa, "%ld", act);
	snprintf(sp, sizeof sp, "%ld", app);
	const char *fields[] = {cid, hj_db_col_text(st, 1), grp, sa, sp, est, rate, tgt};
	hj_buf_reset(row);
	if (hj_csv_put_row(row, fields, sizeof fields / sizeof fields[0]))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	fwrite(row->data, 1, row->len, stdout);
	return 0;
}

static int put_header(hj_buf *row, int csv)
{
	static const char *const header[] = {"county_id", "county", "group", "active_members", "open_applications",
					     "estimated_workers", "rate_percent", "target_percent"};
	if (!csv) {
		printf("%-14s %-22s %-16s %8s %8s %10s %7s %7s\n", "county", "name", "group", "members", "applied",
		       "estimated", "rate%", "target%");
		return 0;
	}
	if (hj_csv_put_row(row, header, sizeof header / sizeof header[0]))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	fwrite(row->data, 1, row->len, stdout);
	return 0;
}

int cmd_report(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	target *targets = NULL;
	size_t ntargets = 0;
	sqlite3_stmt *st = NULL;
	hj_buf row = HJ_BUF_INIT;
	if (argc < 1 || strcmp(argv[0], "coverage") != 0)
		return cli_fail(hj_error_set(HJ_EINVALID, "usage: huiji report coverage [--format text|csv] [--targets FILE]"));
	int rc = cli_parse(&c, "report coverage", opts, argc - 1, argv + 1);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	const char *fmt = cli_get(&c, "format") ? cli_get(&c, "format") : "text";
	int csv = strcmp(fmt, "csv") == 0;
	if (!csv && strcmp(fmt, "text") != 0)
		return cli_fail(hj_error_set(HJ_EINVALID, "report: --format must be text or csv"));
	if (cli_get(&c, "targets") && (rc = load_targets(cli_get(&c, "targets"), &targets, &ntargets)))
		return cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		goto done;
	if (!(st = hj_db_stmt(n->db, cells_sql))) {
		rc = HJ_ERROR;
		goto done;
	}
	if ((rc = put_header(&row, csv)))
		goto done;
	long tot_a = 0, tot_p = 0;
	while ((rc = hj_db_step(n->db, st)) == 1) {
		tot_a += sqlite3_column_int64(st, 3);
		tot_p += sqlite3_column_int64(st, 4);
		const target *t = find_target(targets, ntargets, hj_db_col_text(st, 0), hj_db_col_text(st, 2));
		if ((rc = put_cell(&row, csv, st, t)))
			break;
	}
	if (rc >= 0 && !csv)
		printf("%-14s %-22s %-16s %8ld %8ld\n", "total", "", "", tot_a, tot_p);
	rc = rc < 0 ? rc : 0;
done:
	if (n)
		hj_db_release(n->db, st);
	hj_buf_free(&row);
	free(targets);
	hj_node_close(n);
	return cli_fail(rc);
}
