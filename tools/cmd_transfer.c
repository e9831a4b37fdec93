/*
 * cmd_transfer.c — membership records that move: `huiji member hand-down`
 * (to a union below, in one step: the turnover pool), `member transfer`
 * (offer a record to another union, --request one for a person who turned
 * up here, --withdraw), `member accept|decline --transfer ID`, `member
 * transfers` (what awaits an answer here), and the record's history that
 * `member show` prints: every union it passed through, with dates and the
 * op that moved it.
 */
#include "cli.h"
#include "application.h"
#include "error.h"
#include "table.h"
#include "transfer_seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt hand_down_opts[] = {
	{"member", 1, "membership id (an active member of a union this node answers for)"},
	{"to", 1, "the union below that takes the record"},
	{"on", 1, "date YYYY-MM-DD (default: today by this computer's clock)"},
	{NULL, 0, "huiji member hand-down --member qh-xn:4:0 --to qh-xn-cz --on 2026-11-02"},
};

int cmd_member_hand_down(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	hj_json *op = NULL, *snap = NULL;
	char today[11], id[160];
	int given = 0;
	int rc = cli_parse(&c, "member hand-down", hand_down_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "member") || !cli_need(&c, "to"))
		return cli_fail(HJ_EINVALID);
	const char *on = cli_date(&c, today, &given);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	/* The snapshot is what the registry holds now (the fold checks it is),
	 * its person sealed to both ends. */
	rc = hj_transfer_snapshot_sealed(&snap, n, cli_get(&c, "member"), cli_get(&c, "to"));
	if (rc == HJ_ENOTFOUND)
		rc = 0; /* not held here: the fold refuses it as unknown_member */
	if (!rc && (!(op = cli_op_new("member.hand_down")) || hj_json_set_str(op, "member", cli_get(&c, "member")) ||
		    hj_json_set_str(op, "to", cli_get(&c, "to")) || hj_json_set_str(op, "on", on)))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && snap) {
		rc = hj_json_set(op, "snapshot", snap) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
		snap = NULL; /* taken, even on failure */
	}
	if (!rc) {
		rc = cli_run_op(n, op, id, sizeof id);
		op = NULL;
	}
	if (!rc)
		printf("handed down %s to %s as %s on %s%s\n", cli_get(&c, "member"), cli_get(&c, "to"), id, on,
		       given ? "" : CLI_TODAY_NOTE);
	hj_json_free(op);
	hj_json_free(snap);
	hj_node_close(n);
	return cli_fail(rc);
}

/* The records before `member` in its chain, oldest first, then `member`:
 * each with its union, its dates and the op that started it. A county
 * holds the part of the chain in its subtree; the hub holds it all. */
/* One record of the chain: kind "" (it started by an application), or
 * the transfer's kind; held 0 when this node holds no row of it. */
static const char *how_it_came(const char *kind)
{
	return strcmp(kind, "hand_down") == 0 ? "handed down"
	       : strcmp(kind, "offer") == 0 ? "offered, accepted"
	       : strcmp(kind, "province_in") == 0 ? "offered from another province, accepted"
						  : "requested, accepted";
}

static int history_row(cli_table *t, hj_json *arr, sqlite3_stmt *st)
{
	const char *id = hj_db_col_text(st, 0), *kind = hj_db_col_text(st, 5), *left = hj_db_col_text(st, 4);
	const char *elsewhere = strchr(id, '/') ? "in another province" : "held by another node";
	int held = sqlite3_column_type(st, 1) != SQLITE_NULL;
	char how[200] = "";
	if (held && kind[0])
		snprintf(how, sizeof how, "%s by %s", how_it_came(kind), hj_db_col_text(st, 6));
	if (arr) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (!o || hj_json_set_str(o, "membership", id) ||
		    (held ? hj_json_set_str(o, "union", hj_db_col_text(st, 1)) || hj_json_set_str(o, "status", hj_db_col_text(st, 2)) ||
				    hj_json_set_str(o, "from", hj_db_col_text(st, 3)) ||
				    hj_json_set_str(o, "to", left[0] ? left : NULL) ||
				    hj_json_set_str(o, "transfer_kind", kind[0] ? kind : NULL) ||
				    hj_json_set_str(o, "decided_by", kind[0] ? hj_db_col_text(st, 6) : NULL)
			  : hj_json_set_str(o, "held", elsewhere)) ||
		    hj_json_append(arr, o)) {
			hj_json_free(o);
			return hj_error_set(HJ_ENOMEM, "out of memory");
		}
		return 0;
	}
	if (!held) {
		/* "<province>/<id>": a record of another province (ops_province_transfer.c). */
		const char *cells[] = {id, NULL, NULL, NULL, NULL, elsewhere};
		return cli_table_add(t, cells);
	}
	const char *cells[] = {id, hj_db_col_text(st, 1), hj_db_col_text(st, 2), hj_db_col_text(st, 3),
			       left[0] ? left : NULL, how[0] ? how : NULL};
	return cli_table_add(t, cells);
}

int cli_member_history(hj_node *n, const char *member, hj_json *json_into)
{
	static const char *const heads[] = {"membership", "union", "status", "from", "to", "how", NULL};
	sqlite3_stmt *st = hj_db_stmt(n->db,
		"WITH RECURSIVE chain(id, depth) AS (SELECT :m, 0 UNION ALL "
		"SELECT m.from_member, c.depth + 1 FROM membership m JOIN chain c ON m.id = c.id "
		"WHERE m.from_member IS NOT NULL AND c.depth < 1000) "
		"SELECT c.id, m.union_id, m.status, coalesce(m.decided_on, m.applied_on), coalesce(m.left_on, ''), "
		"coalesce(t.kind, ''), coalesce(t.decided_by, '') "
		"FROM chain c LEFT JOIN membership m ON m.id = c.id LEFT JOIN transfer t ON t.to_member = c.id "
		"ORDER BY c.depth DESC");
	cli_table *t = json_into ? NULL : cli_table_new(heads);
	hj_json *arr = json_into ? hj_json_new(HJ_JARR) : NULL;
	int rc = !st ? HJ_ERROR : !t && !arr ? hj_error_set(HJ_ENOMEM, "out of memory") : hj_db_bind_text(st, ":m", member);
	while (!rc && (rc = hj_db_step(n->db, st)) == 1)
		rc = history_row(t, arr, st);
	if (!rc && arr) {
		rc = hj_json_set(json_into, "history", arr) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
		arr = NULL; /* taken, even on failure */
	} else if (!rc && cli_table_rows(t)) {
		printf("history     (oldest first)\n");
		rc = cli_table_print(t, stdout);
	}
	hj_json_free(arr);
	cli_table_free(t);
	hj_db_release(n->db, st);
	return rc < 0 ? rc : 0;
}

static const cli_opt transfer_opts[] = {
	{"member", 1, "offer: the membership id (an active member of a union this node answers for)"},
	{"to", 1, "offer / request: the union that takes the record"},
	{"to-province", 1, "offer: the union --to is in that enrolled peer province (huiji hub peers)"},
	{"request", 0, "ask for the record of a person who turned up here (with --name, --id-number, --phone)"},
	{"withdraw", 0, "withdraw the open transfer --transfer ID this node opened"},
	{"transfer", 1, "withdraw: the transfer id"},
	{"name", 1, "request: the person's name"},
	{"id-number", 1, "request: the person's resident ID number"},
	{"phone", 1, "request: the person's mainland mobile number"},
	{"plate", 1, "request: vehicle plate (optional)"},
	{"on", 1, "date YYYY-MM-DD (default: today by this computer's clock)"},
	{NULL, 0, "huiji member transfer --member qh-xn-cz:3:0 --to qh-xn-cd --on 2026-11-25"},
};

/* The person object of a request, in the canonical form the fold takes
 * (the same builder as an application: normalised, keyed). */
static int request_person(hj_json **out, const cli *c, hj_node *n, const char *on)
{
	hj_json *ap = NULL;
	hj_buf b = HJ_BUF_INIT;
	hj_application a = {
		.name = cli_get(c, "name"), .id_number = cli_get(c, "id-number"), .phone = cli_get(c, "phone"),
		.plate = cli_get(c, "plate"), .group = "truck_driver", .channel = "transfer", .on = on,
	};
	int rc = hj_application_op(&ap, n, &a);
	if (!rc && !(rc = hj_json_write(&b, hj_json_get(ap, "person"))))
		rc = hj_json_parse(out, (const char *)b.data, b.len);
	hj_json_free(ap);
	hj_buf_free(&b);
	return rc ? hj_error_wrap(rc, "member transfer --request: ") : 0;
}

static hj_json *transfer_op(const cli *c, hj_node *n, const char *on, int *rc)
{
	hj_json *op = NULL, *extra = NULL;
	const char *name = cli_flag(c, "withdraw") ? "member.transfer_withdraw"
			   : cli_flag(c, "request") ? "member.transfer_request"
						    : "member.transfer_offer";
	const char *prov = cli_get(c, "to-province");
	if (prov && (cli_flag(c, "withdraw") || cli_flag(c, "request"))) {
		*rc = hj_error_set(HJ_EINVALID, "member transfer: --to-province goes with an offer (--member, --to)");
		return NULL;
	}
	int64_t peers = 0;
	if (prov && !(*rc = hj_db_get_int(n->db, "SELECT count(*) FROM peer WHERE province = :p", ":p", prov, &peers)) &&
	    !peers)
		*rc = hj_error_set(HJ_EINVALID, "member transfer: province %.64s is not an enrolled peer of this province "
				   "(its hub enrols it: huiji hub peer)", prov);
	if (*rc)
		return NULL;
	if (cli_flag(c, "withdraw"))
		*rc = cli_need(c, "transfer") ? 0 : HJ_EINVALID;
	else
		*rc = cli_need(c, "to") && (cli_flag(c, "request") || cli_need(c, "member")) ? 0 : HJ_EINVALID;
	if (!*rc && cli_flag(c, "request"))
		*rc = request_person(&extra, c, n, on);
	else if (!*rc && !cli_flag(c, "withdraw")) {
		*rc = hj_transfer_snapshot_sealed_to(&extra, n, cli_get(c, "member"), cli_get(c, "to"), prov);
		if (*rc == HJ_ENOTFOUND)
			*rc = 0; /* not held here: the fold refuses it as unknown_member */
	}
	if (!*rc && (!(op = cli_op_new(name)) || hj_json_set_str(op, "member", cli_get(c, "member")) ||
		     hj_json_set_str(op, "transfer", cli_get(c, "transfer")) || hj_json_set_str(op, "to", cli_get(c, "to")) ||
		     hj_json_set_str(op, "on", on) || (prov && hj_json_set_str(op, "province", prov))))
		*rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!*rc && extra) {
		*rc = hj_json_set(op, cli_flag(c, "request") ? "person" : "snapshot", extra) ? HJ_ENOMEM : 0;
		extra = NULL;
	}
	hj_json_free(extra);
	if (*rc) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

int cmd_member_transfer(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	char today[11], id[160];
	int given = 0;
	int rc = cli_parse(&c, "member transfer", transfer_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	const char *on = cli_date(&c, today, &given);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	hj_json *op = transfer_op(&c, n, on, &rc);
	if (!rc && !(rc = cli_run_op(n, op, id, sizeof id))) {
		if (cli_flag(&c, "withdraw"))
			printf("withdrew transfer %s on %s%s\n", cli_get(&c, "transfer"), on, given ? "" : CLI_TODAY_NOTE);
		else
			printf("transfer %s opened: %s %s to %s%s%s on %s%s; it waits for the other side's answer\n", id,
			       cli_flag(&c, "request") ? "request for a person's record" : "offer of",
			       cli_flag(&c, "request") ? "" : cli_get(&c, "member"), cli_get(&c, "to"),
			       cli_get(&c, "to-province") ? " in province " : "",
			       cli_get(&c, "to-province") ? cli_get(&c, "to-province") : "", on, given ? "" : CLI_TODAY_NOTE);
	}
	hj_node_close(n);
	return cli_fail(rc);
}

static const cli_opt decide_opts[] = {
	{"transfer", 1, "the transfer id (huiji member transfers lists the open ones)"},
	{"on", 1, "date YYYY-MM-DD (default: today by this computer's clock)"},
	{NULL, 0, "huiji member accept --transfer qh-xn-cz:7:0 --on 2026-11-26"},
};

static const cli_opt decline_opts[] = {
	{"transfer", 1, "the transfer id (huiji member transfers lists the open ones)"},
	{"on", 1, "date YYYY-MM-DD (default: today by this computer's clock)"},
	{NULL, 0, "huiji member decline --transfer qh-xn-cz:7:0 --on 2026-11-26"},
};

/* A request's acceptance names the record held here and signs its
 * snapshot; an offer's needs nothing more. */
static int accept_extra(hj_json *op, hj_node *n, const char *transfer)
{
	char *kind = NULL, *member = NULL, *to = NULL;
	hj_json *snap = NULL;
	int rc = hj_db_get_text(&kind, n->db, "SELECT kind FROM transfer WHERE id = :t", ":t", transfer);
	if (rc)
		return rc == HJ_ENOTFOUND ? 0 : rc; /* the fold says unknown_transfer */
	if (strcmp(kind, "request") == 0 &&
	    !(rc = hj_db_get_text(&to, n->db, "SELECT to_union FROM transfer WHERE id = :t", ":t", transfer)) &&
	    !(rc = hj_db_get_text(&member, n->db, "SELECT m.id FROM membership m JOIN transfer t ON t.person_key = "
				  "m.person_key WHERE t.id = :t AND m.status = 'active'", ":t", transfer)) &&
	    !(rc = hj_transfer_snapshot_sealed(&snap, n, member, to))) {
		if (hj_json_set_str(op, "member", member)) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
		} else {
			rc = hj_json_set(op, "snapshot", snap) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
			snap = NULL; /* taken, even on failure */
		}
	}
	if (rc == HJ_ENOTFOUND)
		rc = 0; /* no such record here: the fold refuses it (unknown_member), a verdict, not an error */
	free(kind);
	free(member);
	free(to);
	hj_json_free(snap);
	return rc;
}

int cmd_member_decide_transfer(int argc, char **argv, int accept)
{
	cli c;
	hj_node *n = NULL;
	char today[11], id[160];
	int given = 0;
	int rc = cli_parse(&c, accept ? "member accept" : "member decline", accept ? decide_opts : decline_opts, argc,
			   argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "transfer"))
		return cli_fail(HJ_EINVALID);
	const char *on = cli_date(&c, today, &given);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	hj_json *op = cli_op_new(accept ? "member.transfer_accept" : "member.transfer_decline");
	if (!op || hj_json_set_str(op, "transfer", cli_get(&c, "transfer")) || hj_json_set_str(op, "on", on))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && accept)
		rc = accept_extra(op, n, cli_get(&c, "transfer"));
	if (!rc) {
		rc = cli_run_op(n, op, id, sizeof id);
		op = NULL;
	}
	if (!rc && accept)
		printf("accepted transfer %s on %s%s: the record continues as %s once the hub sequences it\n",
		       cli_get(&c, "transfer"), on, given ? "" : CLI_TODAY_NOTE, id);
	else if (!rc)
		printf("declined transfer %s on %s%s\n", cli_get(&c, "transfer"), on, given ? "" : CLI_TODAY_NOTE);
	hj_json_free(op);
	hj_node_close(n);
	return cli_fail(rc);
}

static const cli_opt list_opts[] = {
	{"all", 0, "every transfer held here, not only the open ones"},
	{"json", 0, "print one JSON array, a transfer an element"},
	{NULL, 0, "huiji member transfers --all"},
};

static hj_json *transfer_json(sqlite3_stmt *st)
{
	static const char *const keys[] = {"id", "kind", "status", "from_member", "from_union", "to_union",
					   "opened_on", "opened_by", "decided_on"};
	hj_json *o = hj_json_new(HJ_JOBJ);
	for (int i = 0; o && i < 9; i++)
		if (hj_json_set(o, keys[i], sqlite3_column_type(st, i) == SQLITE_NULL ? hj_json_null()
										     : hj_json_str(hj_db_col_text(st, i))))
			o = (hj_json_free(o), NULL);
	if (o && hj_json_set_bool(o, "by_hub", sqlite3_column_int(st, 9)))
		o = (hj_json_free(o), NULL);
	return o;
}

int cmd_member_transfers(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	cli_table *t = NULL;
	cli_jlist l;
	static const char *const heads[] = {"transfer", "kind", "status", "record", "from", "to", "opened",
					    "by", "decided", NULL};
	int rc = cli_parse(&c, "member transfers", list_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	int json = cli_flag(&c, "json");
	sqlite3_stmt *st = hj_db_stmt(n->db, "SELECT id, kind, status, from_member, from_union, to_union, opened_on, "
		"opened_by, decided_on, by_hub FROM transfer WHERE :all OR status = 'open' ORDER BY id");
	if (!st || hj_db_bind_int(st, ":all", cli_flag(&c, "all")))
		rc = HJ_ERROR;
	else if (!json && !(t = cli_table_new(heads)))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	else if (json)
		cli_jlist_begin(&l);
	while (!rc && (rc = hj_db_step(n->db, st)) == 1) {
		if (json) {
			rc = cli_jlist_add(&l, transfer_json(st));
			continue;
		}
		char decided[40];
		const char *d = hj_db_col_text(st, 8);
		snprintf(decided, sizeof decided, "%s%s", d, d[0] && sqlite3_column_int(st, 9) ? " (hub)" : "");
		const char *cells[9];
		for (int i = 0; i < 8; i++)
			cells[i] = sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : hj_db_col_text(st, i);
		cells[8] = d[0] ? decided : NULL;
		rc = cli_table_add(t, cells);
	}
	if (!rc && json)
		cli_jlist_end(&l);
	else if (!rc) {
		cli_table_sort(t, 0);
		rc = cli_table_print(t, stdout);
	}
	cli_table_free(t);
	if (st)
		hj_db_release(n->db, st);
	hj_node_close(n);
	return cli_fail(rc < 0 ? rc : 0);
}
