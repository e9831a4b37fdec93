/*
 * cmd_coverage.c — `huiji survey record|list` and `huiji target set|list`:
 * the survey estimates that are the membership rate's denominator and
 * the dated targets it is measured against, recorded as ops
 * (node/ops_coverage.c) so every county sees them offline. A rate is
 * given in percent with at most two decimals and stored in basis points.
 */
#include "cli.h"
#include "error.h"
#include "idnum.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt record_opts[] = {
	{"union", 1, "the union whose area was surveyed"},
	{"group", 1, "worker group (truck_driver, courier, ...)"},
	{"estimated", 1, "estimated workers of the group in the area"},
	{"on", 1, "date the estimate holds from (YYYY-MM-DD, default today)"},
	{"source", 1, "transport_dept, platform or outreach"},
	{NULL, 0, "huiji survey record --union qh-xn-cz --group truck_driver --estimated 1200 --on 2027-01-15 "
		  "--source transport_dept"},
};

static const cli_opt set_opts[] = {
	{"union", 1, "the union the target is for"},
	{"group", 1, "worker group"},
	{"rate", 1, "membership rate due, percent (at most 2 decimals, e.g. 62.5)"},
	{"by", 1, "date it is due (YYYY-MM-DD)"},
	{NULL, 0, "huiji target set --union qh-xn-cz --group truck_driver --rate 60 --by 2027-06-30"},
};

static const cli_opt survey_list_opts[] = {
	{"union", 1, "only this union's"},
	{"json", 0, "one JSON object per line"},
	{NULL, 0, "huiji survey list --union qh-xn-cz"},
};

static const cli_opt target_list_opts[] = {
	{"union", 1, "only this union's"},
	{"json", 0, "one JSON object per line"},
	{NULL, 0, "huiji target list --json"},
};

static const char *const sources[] = {"transport_dept", "platform", "outreach", NULL};

/* A percent with at most two decimals, 0..100, as basis points; -1 if not. */
static long rate_bp(const char *s)
{
	long whole = 0, frac = 0;
	int nd = 0, nf = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9' && nd < 4; p++, nd++)
		whole = whole * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9' && nf < 3; p++, nf++)
			frac = frac * 10 + (*p - '0');
	if (!nd || *p || nf > 2 || (s[nd] == '.' && nf == 0))
		return -1;
	long bp = whole * 100 + (nf == 1 ? frac * 10 : frac);
	return bp <= 10000 ? bp : -1;
}

/* `code` is a worker group: 0, else HJ_EINVALID naming the valid ones. */
static int check_group(hj_db *db, const char *code)
{
	int64_t n = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM worker_group WHERE code = :c", ":c", code, &n);
	if (rc || n)
		return rc;
	char *all = NULL;
	if ((rc = hj_db_get_text(&all, db, "SELECT group_concat(code, ', ') FROM (SELECT code FROM worker_group "
				 "ORDER BY sort)", NULL, NULL)))
		return rc;
	rc = hj_error_set(HJ_EINVALID, "unknown group '%s': one of %s", code, all);
	free(all);
	return rc;
}

static int check_source(const char *s)
{
	for (int i = 0; sources[i]; i++)
		if (strcmp(s, sources[i]) == 0)
			return 0;
	return hj_error_set(HJ_EINVALID, "unknown source '%s': one of transport_dept, platform, outreach", s);
}

static int check_date(const char *what, const char *s)
{
	int y, m, d;
	if (hj_date_parse(s, &y, &m, &d))
		return hj_error_set(HJ_EINVALID, "%s: '%s' is not a date YYYY-MM-DD", what, s);
	return 0;
}

static int survey_record(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	char today[11], *end = NULL;
	int given = 0;
	int rc = cli_parse(&c, "survey record", record_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "union") || !cli_need(&c, "group") || !cli_need(&c, "estimated") || !cli_need(&c, "source"))
		return cli_fail(HJ_EINVALID);
	const char *on = cli_date(&c, today, &given);
	long long est = strtoll(cli_get(&c, "estimated"), &end, 10);
	if (*end || end == cli_get(&c, "estimated") || est < 0)
		return cli_fail(hj_error_set(HJ_EINVALID, "survey record: --estimated must be a count of workers"));
	if ((rc = check_source(cli_get(&c, "source"))) || (rc = check_date("survey record --on", on)))
		return cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if ((rc = check_group(n->db, cli_get(&c, "group"))))
		goto done;
	hj_json *op = cli_op_new("survey.record");
	if (op && (hj_json_set_str(op, "union", cli_get(&c, "union")) || hj_json_set_str(op, "group", cli_get(&c, "group")) ||
		   hj_json_set_int(op, "estimated", est) || hj_json_set_str(op, "on", on) ||
		   hj_json_set_str(op, "source", cli_get(&c, "source")))) {
		hj_json_free(op);
		op = NULL;
	}
	if (!(rc = cli_run_op(n, op, NULL, 0)))
		printf("recorded survey %s/%s/%s: %lld workers (%s)%s\n", cli_get(&c, "union"), cli_get(&c, "group"),
		       on, est, cli_get(&c, "source"), given ? "" : CLI_TODAY_NOTE);
done:
	hj_node_close(n);
	return cli_fail(rc);
}

static int target_set(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, "target set", set_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "union") || !cli_need(&c, "group") || !cli_need(&c, "rate") || !cli_need(&c, "by"))
		return cli_fail(HJ_EINVALID);
	long bp = rate_bp(cli_get(&c, "rate"));
	if (bp < 0)
		return cli_fail(hj_error_set(HJ_EINVALID, "target set: --rate must be a percent 0..100 with at most 2 "
					     "decimals (e.g. 62.5), not '%s'", cli_get(&c, "rate")));
	if ((rc = check_date("target set --by", cli_get(&c, "by"))))
		return cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if ((rc = check_group(n->db, cli_get(&c, "group"))))
		goto done;
	hj_json *op = cli_op_new("target.set");
	if (op && (hj_json_set_str(op, "union", cli_get(&c, "union")) || hj_json_set_str(op, "group", cli_get(&c, "group")) ||
		   hj_json_set_int(op, "rate_bp", bp) || hj_json_set_str(op, "by", cli_get(&c, "by")))) {
		hj_json_free(op);
		op = NULL;
	}
	if (!(rc = cli_run_op(n, op, NULL, 0)))
		printf("set target %s/%s/%s: %ld.%02ld%%\n", cli_get(&c, "union"), cli_get(&c, "group"),
		       cli_get(&c, "by"), bp / 100, bp % 100);
done:
	hj_node_close(n);
	return cli_fail(rc);
}

/* survey list / target list: the rows, optionally of one union. */
static int list_rows(int argc, char **argv, int surveys)
{
	static const char *const sh[] = {"union", "group", "on", "estimated", "source", "op", NULL};
	static const char *const th[] = {"union", "group", "by", "rate%", "op", NULL};
	cli c;
	hj_node *n = NULL;
	cli_table *t = NULL;
	sqlite3_stmt *st = NULL;
	int rc = cli_parse(&c, surveys ? "survey list" : "target list", surveys ? survey_list_opts : target_list_opts,
			   argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	int json = cli_flag(&c, "json");
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	st = hj_db_stmt(n->db, surveys ? "SELECT union_id, grp, on_date, estimated, source, op FROM survey "
					 "WHERE :u IS NULL OR union_id = :u ORDER BY union_id, grp, on_date"
				       : "SELECT union_id, grp, by_date, rate_bp, op FROM target "
					 "WHERE :u IS NULL OR union_id = :u ORDER BY union_id, grp, by_date");
	if (!st || hj_db_bind_text(st, ":u", cli_get(&c, "union"))) {
		rc = HJ_ERROR;
		goto done;
	}
	if (!json && !(t = cli_table_new(surveys ? sh : th))) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	cli_jlist jl;
	if (t)
		cli_table_right(t, 3);
	else
		cli_jlist_begin(&jl);
	while ((rc = hj_db_step(n->db, st)) == 1) {
		int64_t num = sqlite3_column_int64(st, 3);
		char nb[32];
		if (surveys)
			snprintf(nb, sizeof nb, "%lld", (long long)num);
		else
			snprintf(nb, sizeof nb, "%lld.%02lld", (long long)num / 100, (long long)num % 100);
		if (json) {
			hj_json *o = hj_json_new(HJ_JOBJ);
			if (o && (hj_json_set_str(o, "union", hj_db_col_text(st, 0)) ||
				  hj_json_set_str(o, "group", hj_db_col_text(st, 1)) ||
				  hj_json_set_str(o, surveys ? "on" : "by", hj_db_col_text(st, 2)) ||
				  hj_json_set_int(o, surveys ? "estimated" : "rate_bp", num) ||
				  (surveys && hj_json_set_str(o, "source", hj_db_col_text(st, 4))) ||
				  hj_json_set_str(o, "op", hj_db_col_text(st, surveys ? 5 : 4)))) {
				hj_json_free(o);
				o = NULL;
			}
			if ((rc = cli_jlist_add(&jl, o)))
				goto done;
			continue;
		}
		const char *cells[6] = {hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2), nb,
					hj_db_col_text(st, 4), surveys ? hj_db_col_text(st, 5) : NULL};
		if ((rc = cli_table_add(t, cells)))
			goto done;
	}
	if (rc >= 0 && t)
		rc = cli_table_print(t, stdout);
	else if (rc >= 0)
		cli_jlist_end(&jl);
done:
	if (n)
		hj_db_release(n->db, st);
	cli_table_free(t);
	hj_node_close(n);
	return cli_fail(rc < 0 ? rc : 0);
}

static int survey_list(int argc, char **argv)
{
	return list_rows(argc, argv, 1);
}

static int target_list(int argc, char **argv)
{
	return list_rows(argc, argv, 0);
}

int cmd_survey(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"record", survey_record, "a survey's estimate of the workers of a group in a union's area"},
		{"list", survey_list, "the surveys this node holds"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("survey", subs, argc, argv);
}

int cmd_target(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"set", target_set, "the membership rate a union's group is to reach by a date"},
		{"list", target_list, "the targets this node holds"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("target", subs, argc, argv);
}
