/*
 * cmd_service.c — `huiji service define|update|point|deliver|list|
 * deliveries`: the services ledger (node/ops_service.c). Money is typed
 * and shown in yuan and travels as integer fen; a value is checked here
 * against the vocabularies first, so a typo names the valid ones before
 * anything is signed.
 */
#include "cli.h"
#include "error.h"
#include "followed.h"
#include "table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt define_opts[] = {
	{"id", 1, "service id ([a-z0-9._-]), e.g. acc-2027"},
	{"name", 1, "name, e.g. 2027年货车司机意外险"},
	{"kind", 1, "accident_insurance|cancer_insurance|driver_medical|health_check|gift_pack|legal_aid|..."},
	{"provider", 1, "insurer, clinic, law firm ..."},
	{"union", 1, "the union that funds it (its members, subtree, may receive it)"},
	{"period", 1, "year|quarter|month: what the budget and limits count over"},
	{"unit", 1, "yuan one delivery costs when it names no amount, e.g. 120.50"},
	{"budget", 1, "yuan the service may spend per period (default: no bound)"},
	{"member-count", 1, "deliveries per member per period (default: no bound)"},
	{"member-limit", 1, "yuan per member per period (default: no bound)"},
	{NULL, 0, "huiji service define --id acc-2027 --name 2027年货车司机意外险 --kind accident_insurance "
		  "--provider 人保财险 --union qh-xn --period year --unit 120 --budget 50000 --member-count 1"},
};

static const cli_opt update_opts[] = {
	{"id", 1, "service id"},
	{"provider", 1, "new provider"},
	{"unit", 1, "new unit price in yuan"},
	{"budget", 1, "new budget per period in yuan, or 'none'"},
	{"member-count", 1, "deliveries per member per period, or 'none'"},
	{"member-limit", 1, "yuan per member per period, or 'none'"},
	{NULL, 0, "huiji service update --id acc-2027 --budget 80000"},
};

static const cli_opt point_opts[] = {
	{"id", 1, "service point id ([a-z0-9._-])"},
	{"name", 1, "name, e.g. 城中区司机之家(八一路)"},
	{"kind", 1, "driver_home|service_station|office"},
	{"union", 1, "the union that runs it"},
	{NULL, 0, "huiji service point --id cz-home-1 --name 城中区司机之家 --kind driver_home --union qh-xn-cz"},
};

static const cli_opt deliver_opts[] = {
	{"member", 1, "membership record id (active), e.g. cz:3:0"},
	{"service", 1, "service id"},
	{"on", 1, "date of the delivery YYYY-MM-DD (default today)"},
	{"amount", 1, "yuan it cost (default the service's unit price)"},
	{"point", 1, "service point where it was given"},
	{NULL, 0, "huiji service deliver --member cz:3:0 --service acc-2027 --on 2027-03-01"},
};

static const cli_opt list_opts[] = {
	{"json", 0, "one JSON document: {\"services\": [...], \"points\": [...]}"},
	{NULL, 0, "huiji service list --json"},
};

static const cli_opt deliveries_opts[] = {
	{"service", 1, "only this service"},
	{"member", 1, "only this membership record"},
	{"period", 1, "only this period, e.g. 2027, 2027-Q1, 2027-03"},
	{"union", 1, "only members of this union's subtree"},
	{"json", 0, "one JSON document: {\"deliveries\": [...], \"count\": N, \"amount_fen\": N}"},
	{NULL, 0, "huiji service deliveries --service acc-2027 --period 2027"},
};

static const char *const point_kinds[] = {"driver_home", "service_station", "office", NULL};
static const char *const periods[] = {"year", "quarter", "month", NULL};

/* Yuan as typed ("50000", "120.5", "120.50") into fen: digits, at most two
 * decimals, no sign, at most HJ_SERVICE_FEN_MAX fen. */
static int parse_yuan(int64_t *out, const char *opt, const char *s)
{
	int64_t fen = 0;
	const char *p = s;
	int decimals = -1;
	if (!s || !*s)
		return hj_error_set(HJ_EINVALID, "--%s: an amount in yuan is required", opt);
	for (; *p; p++) {
		if (*p == '.' && decimals < 0 && p != s && p[1]) {
			decimals = 0;
			continue;
		}
		if (*p < '0' || *p > '9' || decimals >= 2 || fen > HJ_SERVICE_FEN_MAX)
			return hj_error_set(HJ_EINVALID, "--%s '%.40s': yuan as digits with at most two decimals "
					    "(e.g. 120.50), not negative, at most %lld", opt, s,
					    (long long)(HJ_SERVICE_FEN_MAX / 100));
		fen = fen * 10 + (*p - '0');
		decimals += decimals >= 0;
	}
	for (int k = decimals < 0 ? 0 : decimals; k < 2; k++)
		fen *= 10;
	if (fen > HJ_SERVICE_FEN_MAX)
		return hj_error_set(HJ_EINVALID, "--%s '%.40s': more than %lld yuan", opt, s,
				    (long long)(HJ_SERVICE_FEN_MAX / 100));
	*out = fen;
	return 0;
}

static void fmt_yuan(char out[32], int64_t fen)
{
	snprintf(out, 32, "%" PRId64 ".%02" PRId64, fen / 100, fen % 100);
}

/* An optional yuan option into op field `key` (fen); `none_ok`: "none"
 * sets JSON null (service.update clears the bound). */
static int put_yuan(hj_json *op, const cli *c, const char *opt, const char *key, int none_ok)
{
	const char *s = cli_get(c, opt);
	int64_t fen = 0;
	int rc;
	if (!s)
		return 0;
	if (none_ok && strcmp(s, "none") == 0)
		return hj_json_set(op, key, hj_json_null());
	if ((rc = parse_yuan(&fen, opt, s)))
		return rc;
	return hj_json_set_int(op, key, fen);
}

static int put_count(hj_json *op, const cli *c, const char *opt, const char *key, int none_ok)
{
	const char *s = cli_get(c, opt);
	char *end;
	if (!s)
		return 0;
	if (none_ok && strcmp(s, "none") == 0)
		return hj_json_set(op, key, hj_json_null());
	long long n = strtoll(s, &end, 10);
	if (end == s || *end || n < 1 || n > 1000000)
		return hj_error_set(HJ_EINVALID, "--%s '%.40s': a whole number from 1 to 1000000", opt, s);
	return hj_json_set_int(op, key, n);
}

/* The op fields shared by define and update: the money and the limits. */
static int put_bounds(hj_json *op, const cli *c, int update)
{
	int rc;
	if ((rc = put_yuan(op, c, "unit", "unit_fen", 0)) || (rc = put_yuan(op, c, "budget", "budget_fen", update)) ||
	    (rc = put_count(op, c, "member-count", "member_count", update)) ||
	    (rc = put_yuan(op, c, "member-limit", "member_fen", update)))
		return rc == HJ_EINVALID ? rc : hj_error_set(HJ_ENOMEM, "out of memory");
	return 0;
}

/* Run a service op; at a hub, say plainly why it would be refused: its own
 * ops are decided under the rules of its last sequence entry, and one
 * written before this huiji's rules 6 refuses every service op. */
static int run_service_op(hj_node *n, hj_json *op, char *id, size_t idsz)
{
	hj_followed_rules r;
	int rc = n->is_root ? hj_followed_rules_now(&r, n->db) : 0;
	if (!rc && n->is_root && r.rules < 6)
		rc = hj_error_set(HJ_ECONFLICT, "%s: this hub's last sequence entry was decided under rules %u and its "
				  "own ops follow it; services need rules 6: `huiji hub run` once a county's change sets "
				  "are in writes an entry under them", hj_json_get_str(op, "op"), (unsigned)r.rules);
	if (rc) {
		hj_json_free(op);
		return rc;
	}
	return cli_run_op(n, op, id, idsz);
}

static int set_strs(hj_json *op, const cli *c, const char *const *pairs)
{
	for (size_t i = 0; pairs[i]; i += 2)
		if (hj_json_set_str(op, pairs[i + 1], cli_get(c, pairs[i])))
			return hj_error_set(HJ_ENOMEM, "out of memory");
	return 0;
}

static int service_define(int argc, char **argv, int update)
{
	static const char *const fields[] = {"id", "id", "name", "name", "kind", "kind", "provider", "provider",
					     "union", "union", "period", "period", NULL};
	cli c;
	hj_node *n = NULL;
	hj_json *op = NULL;
	int rc = cli_parse(&c, update ? "service update" : "service define", update ? update_opts : define_opts, argc,
			   argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "id") ||
	    (!update && (!cli_need(&c, "name") || !cli_need(&c, "kind") || !cli_need(&c, "provider") ||
			 !cli_need(&c, "union") || !cli_need(&c, "period") || !cli_need(&c, "unit"))))
		return cli_fail(HJ_EINVALID);
	if (!update && (rc = cli_check_choice("period", cli_get(&c, "period"), periods)))
		return cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if (!update && (rc = cli_check_vocab(n, "kind", "service_kind", cli_get(&c, "kind"), 1)))
		goto done;
	if (!(op = cli_op_new(update ? "service.update" : "service.define"))) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = set_strs(op, &c, fields)) || (rc = put_bounds(op, &c, update)))
		goto done;
	rc = run_service_op(n, op, NULL, 0);
	op = NULL; /* taken */
	if (!rc)
		printf("%s service %s\n", update ? "updated" : "defined", cli_get(&c, "id"));
done:
	hj_json_free(op);
	hj_node_close(n);
	return cli_fail(rc);
}

static int service_point(int argc, char **argv)
{
	static const char *const fields[] = {"id", "id", "name", "name", "kind", "kind", "union", "union", NULL};
	cli c;
	hj_node *n = NULL;
	hj_json *op = NULL;
	int rc = cli_parse(&c, "service point", point_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "id") || !cli_need(&c, "name") || !cli_need(&c, "kind") || !cli_need(&c, "union"))
		return cli_fail(HJ_EINVALID);
	if ((rc = cli_check_choice("kind", cli_get(&c, "kind"), point_kinds)))
		return cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if (!(op = cli_op_new("service.point")) || (rc = set_strs(op, &c, fields))) {
		rc = rc ? rc : hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	rc = run_service_op(n, op, NULL, 0);
	op = NULL;
	if (!rc)
		printf("service point %s\n", cli_get(&c, "id"));
done:
	hj_json_free(op);
	hj_node_close(n);
	return cli_fail(rc);
}

static int service_deliver(int argc, char **argv)
{
	static const char *const fields[] = {"member", "member", "service", "service", "point", "point", NULL};
	char today[11], id[160], amount[32];
	int given;
	cli c;
	hj_node *n = NULL;
	hj_json *op = NULL;
	int rc = cli_parse(&c, "service deliver", deliver_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "member") || !cli_need(&c, "service"))
		return cli_fail(HJ_EINVALID);
	const char *on = cli_date(&c, today, &given);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if (!(op = cli_op_new("service.deliver")) || hj_json_set_str(op, "on", on)) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = set_strs(op, &c, fields)) || (rc = put_yuan(op, &c, "amount", "amount_fen", 0)))
		goto done;
	rc = run_service_op(n, op, id, sizeof id);
	op = NULL;
	if (rc)
		goto done;
	sqlite3_stmt *st = hj_db_stmt(n->db, "SELECT amount_fen, period FROM service_delivery WHERE id = :id");
	if (!st || hj_db_bind_text(st, ":id", id) || (rc = hj_db_step(n->db, st)) < 0) {
		rc = st ? (rc < 0 ? rc : HJ_ERROR) : HJ_ERROR;
	} else if (rc == 1) {
		fmt_yuan(amount, sqlite3_column_int64(st, 0));
		printf("delivered %s: %s to %s on %s%s, %s yuan (period %s)\n", id, cli_get(&c, "service"),
		       cli_get(&c, "member"), on, given ? "" : CLI_TODAY_NOTE, amount, hj_db_col_text(st, 1));
		rc = 0;
	} else {
		rc = hj_error_set(HJ_ENOTFOUND, "delivery %s is not in the registry after its commit", id);
	}
	hj_db_release(n->db, st);
done:
	hj_json_free(op);
	hj_node_close(n);
	return cli_fail(rc);
}

/* A money column: yuan text, or NULL (no bound: "-") for SQL NULL. */
static const char *money_cell(char out[32], sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	fmt_yuan(out, sqlite3_column_int64(st, col));
	return out;
}

static int json_col(hj_json *o, const char *key, sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return hj_json_set(o, key, hj_json_null());
	case SQLITE_INTEGER:
		return hj_json_set_int(o, key, sqlite3_column_int64(st, col));
	default:
		return hj_json_set_str(o, key, hj_db_col_text(st, col));
	}
}

/* Every row of `st` as an object of `keys` (one per column) appended to arr. */
static int json_rows(hj_json *arr, hj_db *db, sqlite3_stmt *st, const char *const *keys)
{
	int rc;
	while ((rc = hj_db_step(db, st)) == 1) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		rc = o ? 0 : HJ_ENOMEM;
		for (int i = 0; !rc && keys[i]; i++)
			rc = json_col(o, keys[i], st, i);
		if (rc)
			hj_json_free(o);
		if (rc || hj_json_append(arr, o)) /* append takes o, also when it fails */
			return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	return rc < 0 ? rc : 0;
}

static const char *services_sql =
	"SELECT s.id, s.name, s.kind, s.provider, s.union_id, s.period, s.unit_fen, s.budget_fen, s.member_count, "
	"s.member_fen, (SELECT count(*) FROM service_delivery d WHERE d.service = s.id), "
	"(SELECT coalesce(sum(amount_fen), 0) FROM service_delivery d WHERE d.service = s.id) FROM service s";
static const char *points_sql = "SELECT id, name, kind, union_id FROM service_point";

static int list_json(hj_db *db)
{
	static const char *const skeys[] = {"id", "name", "kind", "provider", "union", "period", "unit_fen",
					    "budget_fen", "member_count", "member_fen", "deliveries", "spent_fen", NULL};
	static const char *const pkeys[] = {"id", "name", "kind", "union", NULL};
	hj_json *doc = hj_json_new(HJ_JOBJ), *sv = hj_json_new(HJ_JARR), *pt = hj_json_new(HJ_JARR);
	sqlite3_stmt *st = NULL;
	int rc = doc && sv && pt ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc)
		rc = (st = hj_db_stmt(db, services_sql)) ? json_rows(sv, db, st, skeys) : HJ_ERROR;
	hj_db_release(db, st);
	st = NULL;
	if (!rc)
		rc = (st = hj_db_stmt(db, points_sql)) ? json_rows(pt, db, st, pkeys) : HJ_ERROR;
	hj_db_release(db, st);
	if (!rc) { /* hj_json_set takes the child, also when it fails */
		int bad = hj_json_set(doc, "services", sv);
		bad |= hj_json_set(doc, "points", pt);
		sv = pt = NULL;
		rc = bad ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
	}
	hj_json_free(sv);
	hj_json_free(pt);
	if (rc) {
		hj_json_free(doc);
		return rc;
	}
	return cli_json_line(doc);
}

static int list_text(hj_db *db)
{
	static const char *const sh[] = {"id", "name", "kind", "union", "period", "unit", "budget", "per member (×/yuan)",
					 "deliveries", "spent", NULL};
	static const char *const ph[] = {"point", "name", "kind", "union", NULL};
	cli_table *t = cli_table_new(sh), *p = cli_table_new(ph);
	sqlite3_stmt *st = hj_db_stmt(db, services_sql);
	int rc = t && p && st ? 0 : (st ? HJ_ENOMEM : HJ_ERROR);
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		char unit[32], budget[32], lim[64], fen[32], nd[24], spent[32];
		const char *c = sqlite3_column_type(st, 8) == SQLITE_NULL ? NULL : hj_db_col_text(st, 8);
		const char *f = money_cell(fen, st, 9);
		snprintf(lim, sizeof lim, "%s%s%s%s", c ? c : "", c ? "×" : "", c && f ? " / " : "", f ? f : "");
		snprintf(nd, sizeof nd, "%lld", (long long)sqlite3_column_int64(st, 10));
		const char *cells[] = {hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2),
				       hj_db_col_text(st, 4), hj_db_col_text(st, 5), money_cell(unit, st, 6),
				       money_cell(budget, st, 7), lim[0] ? lim : NULL, nd, money_cell(spent, st, 11)};
		rc = cli_table_add(t, cells);
	}
	hj_db_release(db, st);
	if (!rc && !(st = hj_db_stmt(db, points_sql)))
		rc = HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		const char *cells[] = {hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2),
				       hj_db_col_text(st, 3)};
		rc = cli_table_add(p, cells);
	}
	hj_db_release(db, st);
	if (rc >= 0) {
		for (size_t i = 5; i < 10; i++)
			if (i != 7)
				cli_table_right(t, i);
		cli_table_max_width(t, 1, 30);
		cli_table_max_width(p, 1, 30);
		cli_table_sort(t, 0);
		cli_table_sort(p, 0);
		rc = cli_table_print(t, stdout);
		if (!rc && cli_table_rows(p))
			rc = printf("\n") < 0 ? HJ_ERROR : cli_table_print(p, stdout);
	}
	cli_table_free(t);
	cli_table_free(p);
	return rc < 0 ? rc : 0;
}

static int service_list(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, "service list", list_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	rc = cli_flag(&c, "json") ? list_json(n->db) : list_text(n->db);
	if (!rc && !n->is_root && !cli_flag(&c, "json"))
		printf("(deliveries and spend: those of the records this node holds; the hub holds every county's)\n");
	hj_node_close(n);
	return cli_fail(rc);
}

static const char *deliveries_sql =
	"WITH RECURSIVE down(id) AS (SELECT :u UNION SELECT o.id FROM org o JOIN down ON o.parent = down.id) "
	"SELECT id, service, member, union_id, point, on_date, period, amount_fen, by_node FROM service_delivery "
	"WHERE (:s IS NULL OR service = :s) AND (:m IS NULL OR member = :m) AND (:p IS NULL OR period = :p) "
	"AND (:u IS NULL OR union_id IN down)";

static int deliveries_bind(sqlite3_stmt *st, const cli *c)
{
	return hj_db_bind_text(st, ":s", cli_get(c, "service")) || hj_db_bind_text(st, ":m", cli_get(c, "member")) ||
	       hj_db_bind_text(st, ":p", cli_get(c, "period")) || hj_db_bind_text(st, ":u", cli_get(c, "union"));
}

static int deliveries_json(hj_db *db, const cli *c)
{
	static const char *const keys[] = {"id", "service", "member", "union", "point", "on", "period", "amount_fen",
					   "by_node", NULL};
	hj_json *doc = hj_json_new(HJ_JOBJ), *arr = hj_json_new(HJ_JARR);
	sqlite3_stmt *st = NULL;
	int64_t sum = 0;
	int rc = doc && arr ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc)
		rc = !(st = hj_db_stmt(db, deliveries_sql)) || deliveries_bind(st, c) ? HJ_ERROR
										: json_rows(arr, db, st, keys);
	hj_db_release(db, st);
	for (size_t i = 0; !rc && i < arr->count; i++)
		sum += arr->items[i]->items[7]->i; /* amount_fen: INTEGER NOT NULL */
	if (!rc) { /* hj_json_set takes arr, also when it fails */
		int bad = hj_json_set_int(doc, "count", (int64_t)arr->count) || hj_json_set_int(doc, "amount_fen", sum);
		bad |= hj_json_set(doc, "deliveries", arr);
		arr = NULL;
		rc = bad ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
	}
	hj_json_free(arr);
	if (rc) {
		hj_json_free(doc);
		return rc;
	}
	return cli_json_line(doc);
}

static int deliveries_text(hj_db *db, const cli *c)
{
	static const char *const h[] = {"delivery", "service", "member", "union", "point", "on", "period", "yuan", NULL};
	cli_table *t = cli_table_new(h);
	sqlite3_stmt *st = hj_db_stmt(db, deliveries_sql);
	int64_t sum = 0;
	int rc = !t ? HJ_ENOMEM : !st || deliveries_bind(st, c) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		char amount[32];
		const char *point = sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : hj_db_col_text(st, 4);
		const char *cells[] = {hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2),
				       hj_db_col_text(st, 3), point, hj_db_col_text(st, 5),
				       hj_db_col_text(st, 6), money_cell(amount, st, 7)};
		sum += sqlite3_column_int64(st, 7);
		rc = cli_table_add(t, cells);
	}
	hj_db_release(db, st);
	if (rc >= 0) {
		char total[32];
		fmt_yuan(total, sum);
		cli_table_right(t, 7);
		cli_table_sort(t, 0);
		rc = cli_table_print(t, stdout);
		if (!rc && printf("%zu deliveries, %s yuan\n", cli_table_rows(t), total) < 0)
			rc = HJ_ERROR;
	}
	cli_table_free(t);
	return rc < 0 ? rc : 0;
}

static int service_deliveries(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, "service deliveries", deliveries_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	rc = cli_flag(&c, "json") ? deliveries_json(n->db, &c) : deliveries_text(n->db, &c);
	hj_node_close(n);
	return cli_fail(rc);
}

static int service_define_cmd(int argc, char **argv)
{
	return service_define(argc, argv, 0);
}

static int service_update_cmd(int argc, char **argv)
{
	return service_define(argc, argv, 1);
}

int cmd_service(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"define", service_define_cmd, "a service a union funds: kind, provider, period, price, budget, limits"},
		{"update", service_update_cmd, "change a service's provider, price, budget or limits"},
		{"point", service_point, "a service point: a driver home (司机之家), a station, an office"},
		{"deliver", service_deliver, "a service given to an active member (checked against budget and limits)"},
		{"list", service_list, "the services and points, with what was spent"},
		{"deliveries", service_deliveries, "the deliveries this node holds"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("service", subs, argc, argv);
}
