/*
 * cmd_report.c — `huiji report coverage|progress|services|all`: parses the
 * options, fills the reports (report_coverage.c, report_progress.c,
 * report_services.c, report_targets.c for --targets FILE) and writes them
 * as text, CSV, JSON or one HTML page (report_format.c, report_html.c) to
 * stdout or --out FILE.
 */
#include "cli.h"
#include "error.h"
#include "idnum.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_OPTS                                                                                             \
	{"format", 1, "text (default), csv, json or html"}, {"json", 0, "the same as --format json"},          \
		{"out", 1, "write to FILE instead of stdout"}

static const cli_opt coverage_opts[] = {
	FORMAT_OPTS,
	{"on", 1, "the date counted (YYYY-MM-DD, default today)"},
	{"by", 1, "group (default), union, platform or channel"},
	{"targets", 1, "CSV of org_id,group,estimated_workers,target_percent (county x group, as before issue 9)"},
	{NULL, 0, "huiji report coverage --on 2027-06-30 --format html --out coverage.html"},
};
static const cli_opt progress_opts[] = {
	FORMAT_OPTS,
	{"from", 1, "first month YYYY-MM (default the registry's first)"},
	{"to", 1, "last month YYYY-MM (default this month)"},
	{NULL, 0, "huiji report progress --from 2027-01 --to 2027-06 --format csv"},
};
static const cli_opt services_opts[] = {
	FORMAT_OPTS,
	{"on", 1, "deliveries dated up to this day (YYYY-MM-DD, default today)"},
	{NULL, 0, "huiji report services --on 2027-06-30"},
};
static const cli_opt all_opts[] = {
	FORMAT_OPTS,
	{"on", 1, "the date of coverage and services (default today)"},
	{"from", 1, "progress: first month YYYY-MM"},
	{"to", 1, "progress: last month YYYY-MM (default the month of --on)"},
	{NULL, 0, "huiji report all --format html --out report.html"},
};

static int check_month(const char *opt, const char *s)
{
	int y, m, d;
	char day[11];
	snprintf(day, sizeof day, "%.7s-01", s);
	if (strlen(s) != 7 || hj_date_parse(day, &y, &m, &d))
		return hj_error_set(HJ_EINVALID, "report: --%s '%s' is not a month YYYY-MM", opt, s);
	return 0;
}

/* --from default: the month of the registry's first application, at
 * most 239 months before --to. */
static int default_from(char out[8], hj_db *db, const char *to)
{
	char *first = NULL;
	int rc = hj_db_get_text(&first, db, "SELECT min(applied_on) FROM membership", NULL, NULL);
	if (rc && rc != HJ_ENOTFOUND)
		return rc;
	snprintf(out, 8, "%.7s", first && strlen(first) >= 7 && strncmp(first, to, 7) < 0 ? first : to);
	free(first);
	int span = (atoi(to) - atoi(out)) * 12 + atoi(to + 5) - atoi(out + 5);
	if (span > 239) {
		int months = atoi(to) * 12 + atoi(to + 5) - 1 - 239; /* to is a checked YYYY-MM */
		unsigned yy = (unsigned)(months / 12) % 10000u, mm = (unsigned)(months % 12) + 1u;
		snprintf(out, 8, "%04u-%02u", yy, mm % 100u);
	}
	return 0;
}

typedef struct req {
	const char *sub, *fmt, *on, *by, *targets;
	char from[8], to[8], today[11];
} req;

static int write_all(FILE *f, const req *q, rpt_table *t, size_t n)
{
	int rc = 0;
	if (strcmp(q->fmt, "html") == 0) {
		const rpt_table *pt[3] = {&t[0], n > 1 ? &t[1] : NULL, n > 2 ? &t[2] : NULL};
		char title[160];
		snprintf(title, sizeof title, "huiji report %s, %s", q->sub, q->on);
		return rpt_write_html(f, pt, n, title);
	}
	/* JSON is one document: `all` is an array of the reports, a line each. */
	int jarr = strcmp(q->fmt, "json") == 0 && n > 1;
	if (jarr && fputs("[\n", f) < 0)
		return hj_error_set(HJ_ERROR, "cannot write the report");
	for (size_t i = 0; !rc && i < n; i++) {
		if (strcmp(q->fmt, "csv") == 0)
			rc = rpt_write_csv(f, &t[i]);
		else if (strcmp(q->fmt, "json") == 0)
			rc = (i && fputs(",", f) < 0) ? hj_error_set(HJ_ERROR, "cannot write the report")
						: rpt_write_json(f, &t[i]);
		else if (!(rc = i ? (fputc('\n', f) < 0 ? hj_error_set(HJ_ERROR, "cannot write the report") : 0) : 0))
			rc = rpt_write_text(f, &t[i]);
	}
	if (!rc && jarr && fputs("]\n", f) < 0)
		rc = hj_error_set(HJ_ERROR, "cannot write the report");
	return rc;
}

static int run(hj_node *n, const req *q, const char *out)
{
	rpt_table t[3];
	size_t nt = 0;
	int rc = 0, all = strcmp(q->sub, "all") == 0;
	memset(t, 0, sizeof t);
	if (strcmp(q->sub, "coverage") == 0 || all) {
		rc = q->targets ? rpt_targets_file(&t[nt], n->db, q->targets, q->on) : rpt_coverage(&t[nt], n->db, q->on, q->by);
		nt += !rc;
	}
	if (!rc && (strcmp(q->sub, "progress") == 0 || all))
		nt += !(rc = rpt_progress(&t[nt], n->db, q->from, q->to));
	if (!rc && (strcmp(q->sub, "services") == 0 || all))
		nt += !(rc = rpt_services(&t[nt], n->db, q->on));
	FILE *f = stdout;
	if (!rc && out && !(f = fopen(out, "w")))
		rc = hj_error_set(HJ_ERROR, "report: cannot write %s", out);
	if (!rc)
		rc = write_all(f, q, t, nt);
	if (f && f != stdout && fclose(f) && !rc)
		rc = hj_error_set(HJ_ERROR, "report: cannot write %s", out);
	if (!rc && fflush(stdout))
		rc = hj_error_set(HJ_ERROR, "report: cannot write the report");
	if (!rc && out)
		printf("wrote %s\n", out);
	for (size_t i = 0; i < nt; i++)
		rpt_free(&t[i]);
	return rc;
}

/* One report: sub names it, opts are its options. */
static int report_run(const char *sub, const cli_opt *opts, int argc, char **argv)
{
	cli c;
	char cmd[32];
	snprintf(cmd, sizeof cmd, "report %s", sub);
	int rc = cli_parse(&c, cmd, opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	req q = {.sub = sub, .by = cli_get(&c, "by"), .targets = cli_get(&c, "targets")};
	q.fmt = cli_flag(&c, "json") ? "json" : cli_get(&c, "format") ? cli_get(&c, "format") : "text";
	hj_clock_today(q.today);
	q.on = cli_get(&c, "on") ? cli_get(&c, "on") : q.today;
	int y, m, d;
	if (strcmp(q.fmt, "text") && strcmp(q.fmt, "csv") && strcmp(q.fmt, "json") && strcmp(q.fmt, "html"))
		return cli_fail(hj_error_set(HJ_EINVALID, "unknown format '%s': one of text, csv, json, html", q.fmt));
	if (cli_flag(&c, "json") && cli_get(&c, "format") && strcmp(cli_get(&c, "format"), "json"))
		return cli_fail(hj_error_set(HJ_EINVALID, "report: --json and --format %s disagree", cli_get(&c, "format")));
	if (strcmp(sub, "all") == 0 && strcmp(q.fmt, "csv") == 0)
		return cli_fail(hj_error_set(HJ_EINVALID, "report all: CSV holds one table; use report coverage, progress "
					     "or services --format csv"));
	if (hj_date_parse(q.on, &y, &m, &d))
		return cli_fail(hj_error_set(HJ_EINVALID, "report: --on '%s' is not a date YYYY-MM-DD", q.on));
	if (q.by && strcmp(q.by, "group") && strcmp(q.by, "union") && strcmp(q.by, "platform") && strcmp(q.by, "channel"))
		return cli_fail(hj_error_set(HJ_EINVALID, "unknown --by '%s': one of union, group, platform, channel", q.by));
	snprintf(q.to, sizeof q.to, "%.7s", cli_get(&c, "to") ? cli_get(&c, "to") : q.on);
	if ((cli_get(&c, "to") && (rc = check_month("to", cli_get(&c, "to")))) ||
	    (cli_get(&c, "from") && (rc = check_month("from", cli_get(&c, "from")))))
		return cli_fail(rc);
	hj_node *n = NULL;
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if (cli_get(&c, "from"))
		snprintf(q.from, sizeof q.from, "%s", cli_get(&c, "from"));
	else
		rc = default_from(q.from, n->db, q.to);
	if (!rc && strcmp(q.from, q.to) > 0)
		rc = hj_error_set(HJ_EINVALID, "report progress: --from %s is after --to %s", q.from, q.to);
	if (!rc)
		rc = run(n, &q, cli_get(&c, "out"));
	hj_node_close(n);
	return cli_fail(rc);
}

static int report_coverage(int argc, char **argv)
{
	return report_run("coverage", coverage_opts, argc, argv);
}

static int report_progress(int argc, char **argv)
{
	return report_run("progress", progress_opts, argc, argv);
}

static int report_services(int argc, char **argv)
{
	return report_run("services", services_opts, argc, argv);
}

static int report_all(int argc, char **argv)
{
	return report_run("all", all_opts, argc, argv);
}

int cmd_report(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"coverage", report_coverage, "members against surveys and dated targets, rolled up the union tree"},
		{"progress", report_progress, "per union per month: new members, leaves, transfers in and out, rate"},
		{"services", report_services, "per service and period: deliveries, members served, spend against budget"},
		{"all", report_all, "the three together (one HTML page with charts: --format html)"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("report", subs, argc, argv);
}
