/*
 * cmd_peer.c — `huiji hub peer` (enrol another province's hub as a peer:
 * one hub-authored province.peer op) and `huiji hub peers` (the peers, the
 * position of the registry held of each, and why the last attempt to
 * follow one failed). The following itself is the hub pass's
 * (sync/peer.c).
 */
#include "cli.h"
#include "error.h"
#include "table.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const cli_opt peer_opts[] = {
	{"province", 1, "the peer province's id (its root union's), e.g. ah"},
	{"hub-node", 1, "its hub's node id, e.g. ah-hub"},
	{"hub-key", 1, "its hub's public key (64 hex), as its hub init printed it"},
	{"url", 1, "where its hub repository is served, e.g. git://HOST/hub.git"},
	{"name", 1, "its name, e.g. 安徽省总工会 (default: its root union's)"},
	{NULL, 0, "huiji hub peer --province ah --hub-node ah-hub --hub-key 3f2a...e1 --url git://hub.ah.example/hub.git"},
};

int cmd_hub_peer(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, "hub peer", peer_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "province") || !cli_need(&c, "hub-node") || !cli_need(&c, "hub-key") || !cli_need(&c, "url"))
		return cli_fail(HJ_EINVALID);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if (!n->is_root) {
		hj_node_close(n);
		return cli_fail(hj_error_set(HJ_EINVALID, "hub peer: %s is not a hub", n->id));
	}
	hj_json *op = cli_op_new("province.peer");
	if (op && (hj_json_set_str(op, "province", cli_get(&c, "province")) ||
		   hj_json_set_str(op, "hub_node", cli_get(&c, "hub-node")) ||
		   hj_json_set_str(op, "key", cli_get(&c, "hub-key")) || hj_json_set_str(op, "url", cli_get(&c, "url")) ||
		   hj_json_set_str(op, "name", cli_get(&c, "name")))) {
		hj_json_free(op);
		op = NULL;
	}
	rc = cli_run_op(n, op, NULL, 0);
	if (!rc)
		printf("enrolled province %s (hub %s) as a peer; the next hub run follows it\n", cli_get(&c, "province"),
		       cli_get(&c, "hub-node"));
	hj_node_close(n);
	return cli_fail(rc);
}

static const cli_opt peers_opts[] = {
	{"json", 0, "print one JSON array, a peer an element"},
	{NULL, 0, "huiji hub peers"},
};

static const char *peers_sql =
	"SELECT p.province, coalesce(p.name, ''), p.hub_node, p.url, s.hub_seq, coalesce(s.head, ''), "
	"s.checked_at, s.failed_at, coalesce(s.problem, ''), "
	"(SELECT count(*) FROM peer_verdict v WHERE v.province = p.province), "
	"(SELECT count(*) FROM province_conflict x WHERE x.province = p.province) "
	"FROM peer p LEFT JOIN peer_state s ON s.province = p.province ORDER BY p.province";

static int peer_json(cli_jlist *l, sqlite3_stmt *st)
{
	hj_json *o = hj_json_new(HJ_JOBJ);
	if (o && (hj_json_set_str(o, "province", hj_db_col_text(st, 0)) || hj_json_set_str(o, "name", hj_db_col_text(st, 1)) ||
		  hj_json_set_str(o, "hub_node", hj_db_col_text(st, 2)) || hj_json_set_str(o, "url", hj_db_col_text(st, 3)) ||
		  hj_json_set_int(o, "hub_seq", sqlite3_column_int64(st, 4)) ||
		  hj_json_set_str(o, "head", hj_db_col_text(st, 5)) ||
		  hj_json_set_int(o, "checked_at", sqlite3_column_int64(st, 6)) ||
		  hj_json_set_int(o, "failed_at", sqlite3_column_int64(st, 7)) ||
		  hj_json_set_str(o, "problem", hj_db_col_text(st, 8)) ||
		  hj_json_set_int(o, "verdicts", sqlite3_column_int64(st, 9)) ||
		  hj_json_set_int(o, "conflicts", sqlite3_column_int64(st, 10))))
		o = (hj_json_free(o), NULL);
	return cli_jlist_add(l, o);
}

/* The operator conflicts of transfers across provinces (schema 016,
 * sync/province_transfer.c) with `province` (NULL: every one), each a
 * line of `prefix` to `f`. */
static int conflicts(hj_db *db, const char *province, FILE *f, const char *prefix)
{
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT province, transfer, kind, detail, peer_hub_seq FROM province_conflict "
					  "WHERE :p IS NULL OR province = :p ORDER BY province, transfer, kind");
	int rc = !st || hj_db_bind_text(st, ":p", province) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		rc = 0;
		fprintf(f, "%sCONFLICT transfer %s with province %s (%s, its registry at %" PRId64 "): %s; the operator "
			"settles it\n", prefix, hj_db_col_text(st, 1), hj_db_col_text(st, 0), hj_db_col_text(st, 2),
			(int64_t)sqlite3_column_int64(st, 4), hj_db_col_text(st, 3));
	}
	if (st)
		hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int cli_province_conflicts(hj_node *hub)
{
	int64_t n = 0;
	int rc = hj_db_get_int(hub->db, "SELECT count(*) FROM province_conflict", NULL, NULL, &n);
	if (!rc && n)
		printf("conflicts   %" PRId64 " transfers across provinces need the operator (huiji hub peers)\n", n);
	return rc;
}

static int peer_row(cli_table *t, sqlite3_stmt *st)
{
	char at[64], refused[24], checked[CLI_TIME_MAX];
	int held = sqlite3_column_type(st, 4) != SQLITE_NULL;
	if (held)
		snprintf(at, sizeof at, "%" PRId64 " (%.12s…)", (int64_t)sqlite3_column_int64(st, 4), hj_db_col_text(st, 5));
	snprintf(refused, sizeof refused, "%" PRId64, (int64_t)sqlite3_column_int64(st, 9));
	if (sqlite3_column_type(st, 6) != SQLITE_NULL)
		cli_time_ms(checked, sqlite3_column_int64(st, 6));
	const char *cells[] = {hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2), hj_db_col_text(st, 3),
			       held ? at : "none yet", refused, sqlite3_column_type(st, 6) != SQLITE_NULL ? checked : NULL,
			       sqlite3_column_type(st, 7) != SQLITE_NULL ? "FAILED" : held ? "audited clean" : "next hub run"};
	return cli_table_add(t, cells);
}

/* Under the table: why the last attempt failed, and the conflicts. */
static int peer_notes(hj_db *db, sqlite3_stmt *st)
{
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		printf("%s: FAILED at the last attempt (the last good registry stays): %s\n", hj_db_col_text(st, 0),
		       hj_db_col_text(st, 8));
	return conflicts(db, hj_db_col_text(st, 0), stdout, "");
}

int cmd_hub_peers(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	cli_jlist l;
	static const char *const heads[] = {"province", "name", "hub", "url", "registry at", "refused against it",
					    "checked", "state", NULL};
	int rc = cli_parse(&c, "hub peers", peers_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	int json = cli_flag(&c, "json"), rows = 0;
	cli_table *t = json ? NULL : cli_table_new(heads);
	sqlite3_stmt *st = hj_db_stmt(n->db, peers_sql);
	rc = !st ? HJ_ERROR : !json && !t ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
	if (!rc && json)
		cli_jlist_begin(&l);
	else if (!rc)
		cli_table_right(t, 5);
	while (!rc && (rc = hj_db_step(n->db, st)) == 1) {
		rows++;
		rc = json ? peer_json(&l, st) : peer_row(t, st);
	}
	if (!rc && json)
		cli_jlist_end(&l);
	else if (!rc && !rows)
		printf("no peers enrolled (huiji hub peer)\n");
	else if (!rc && !(rc = cli_table_print(t, stdout))) {
		hj_db_release(n->db, st);
		st = hj_db_stmt(n->db, peers_sql);
		rc = st ? 0 : HJ_ERROR;
		while (!rc && (rc = hj_db_step(n->db, st)) == 1)
			rc = peer_notes(n->db, st);
	}
	cli_table_free(t);
	if (st)
		hj_db_release(n->db, st);
	hj_node_close(n);
	return cli_fail(rc < 0 ? rc : 0);
}

int cli_peer_warnings(hj_node *hub)
{
	sqlite3_stmt *st = hj_db_stmt(hub->db, "SELECT province, coalesce(hub_seq, 0), problem FROM peer_state "
					      "WHERE failed_at IS NOT NULL ORDER BY province");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(hub->db, st)) == 1) {
		rc = 0;
		fprintf(stderr, "huiji: warning: peer %s not followed: %s (its last good registry, at its hub change set "
			"%" PRId64 ", stays; huiji hub peers)\n", hj_db_col_text(st, 0), hj_db_col_text(st, 2),
			(int64_t)sqlite3_column_int64(st, 1));
	}
	if (st)
		hj_db_release(hub->db, st);
	return rc < 0 ? rc : conflicts(hub->db, NULL, stderr, "huiji: warning: ");
}
