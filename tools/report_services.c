/*
 * report_services.c — `huiji report services`: per service and period
 * (the calendar year, quarter or month the service's budget holds for,
 * 017_services.sql) the deliveries dated on or before --on, the members
 * served (distinct person keys) and the spend against the budget. Money
 * is summed in fen and shown in yuan. The period holding --on is listed
 * for every service, with no deliveries yet if none.
 */
#include "report.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

static const rpt_col cols[] = {
	{"service", "service", 0},
	{"name", "name", 0},
	{"kind", "kind", 0},
	{"union_id", "union", 0},
	{"period", "period", 0},
	{"deliveries", "deliveries", 1},
	{"members_served", "members", 1},
	{"spend_yuan", "spend", 1},
	{"budget_yuan", "budget", 1},
	{"left_yuan", "left", 1},
	{"used_percent", "used%", 1},
};

/* The period of `date` in a service's period kind: "2027", "2027-Q1",
 * "2027-03" (as 017_services.sql's service_delivery.period). */
static void period_of(char out[16], const char *kind, const char *date)
{
	if (strcmp(kind, "year") == 0)
		snprintf(out, 16, "%.4s", date);
	else if (strcmp(kind, "quarter") == 0)
		snprintf(out, 16, "%.4s-Q%c", date, (char)('1' + ((unsigned)atoi(date + 5) - 1u) / 3u % 4u));
	else
		snprintf(out, 16, "%.7s", date);
}

/* One row of service `st` (columns id, name, kind, union_id, period kind,
 * budget_fen). */
static int add_row(rpt_table *out, sqlite3_stmt *st, const char *period, int64_t n, int64_t members, int64_t fen)
{
	char dn[24], mn[24], spend[32], budget[32] = "", left[32] = "", used[32] = "";
	snprintf(dn, sizeof dn, "%lld", (long long)n);
	snprintf(mn, sizeof mn, "%lld", (long long)members);
	rpt_fmt_yuan(spend, fen);
	if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
		int64_t b = sqlite3_column_int64(st, 5);
		rpt_fmt_yuan(budget, b);
		rpt_fmt_yuan(left, b - fen);
		if (b > 0)
			rpt_fmt_bp(used, rpt_rate_bp(fen, b));
	}
	const char *cells[] = {hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2), hj_db_col_text(st, 3),
			       period, dn, mn, spend, budget, left, used};
	return rpt_add(out, cells);
}

/* The periods of service `s` (the row of `st`) up to `on`, oldest first,
 * the one holding `on` among them even when empty. */
static int add_service(rpt_table *out, hj_db *db, sqlite3_stmt *s, const char *on)
{
	char current[16];
	int seen = 0;
	period_of(current, hj_db_col_text(s, 4), on);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT period, count(*), count(DISTINCT person_key), sum(amount_fen) "
					  "FROM service_delivery WHERE service = :s AND on_date <= :d GROUP BY period "
					  "ORDER BY period");
	int rc = !st || hj_db_bind_text(st, ":s", hj_db_col_text(s, 0)) || hj_db_bind_text(st, ":d", on) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		const char *period = hj_db_col_text(st, 0);
		int cmp = strcmp(period, current);
		if (!seen && cmp > 0) { /* none later than on's: kept for a date typed oddly */
			seen = 1;
			if ((rc = add_row(out, s, current, 0, 0, 0)))
				break;
		}
		seen |= cmp == 0;
		rc = add_row(out, s, period, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
			     sqlite3_column_int64(st, 3));
	}
	hj_db_release(db, st);
	if (rc < 0)
		return rc;
	return seen ? 0 : add_row(out, s, current, 0, 0, 0);
}

int rpt_services(rpt_table *out, hj_db *db, const char *on)
{
	rpt_init(out, "services", cols, sizeof cols / sizeof *cols);
	snprintf(out->title, sizeof out->title, "services delivered up to %s", on);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT id, name, kind, union_id, period, budget_fen FROM service ORDER BY id");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1)
		rc = add_service(out, db, st, on);
	hj_db_release(db, st);
	if (rc < 0)
		rpt_free(out);
	return rc < 0 ? rc : 0;
}
