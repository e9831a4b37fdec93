/*
 * cmd_peer.c — `huiji hub peer` (enrol another province's hub as a peer:
 * one hub-authored province.peer op) and `huiji hub peers` (the peers, the
 * position of the registry held of each, and why the last attempt to
 * follow one failed). The following itself is the hub pass's
 * (sync/peer.c).
 */
#include "cli.h"
#include "error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const cli_opt peer_opts[] = {
	{"province", 1, "the peer province's id (its root union's), e.g. ah"},
	{"hub-node", 1, "its hub's node id, e.g. ah-hub"},
	{"hub-key", 1, "its hub's public key (64 hex), as its hub init printed it"},
	{"url", 1, "where its hub repository is served, e.g. git://HOST/hub.git"},
	{"name", 1, "its name, e.g. 安徽省总工会 (default: its root union's)"},
	{NULL, 0, NULL},
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
	{"json", 0, "one JSON object per line"},
	{NULL, 0, NULL},
};

static const char *peers_sql =
	"SELECT p.province, coalesce(p.name, ''), p.hub_node, p.url, s.hub_seq, coalesce(s.head, ''), "
	"s.checked_at, s.failed_at, coalesce(s.problem, ''), "
	"(SELECT count(*) FROM peer_verdict v WHERE v.province = p.province), "
	"(SELECT count(*) FROM province_conflict x WHERE x.province = p.province) "
	"FROM peer p LEFT JOIN peer_state s ON s.province = p.province ORDER BY p.province";

static int peer_json(sqlite3_stmt *st)
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
	return cli_json_line(o);
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

static int peer_text(hj_db *db, sqlite3_stmt *st)
{
	printf("%s  %s  hub %s  %s\n", hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2),
	       hj_db_col_text(st, 3));
	if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		printf("  registry at its hub change set %" PRId64 " (head %.16s…), audited clean; %" PRId64
		       " applications refused against it\n", (int64_t)sqlite3_column_int64(st, 4), hj_db_col_text(st, 5),
		       (int64_t)sqlite3_column_int64(st, 9));
	else
		printf("  no registry yet (the next hub run follows it)\n");
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		printf("  FAILED at the last attempt (the last good registry stays): %s\n", hj_db_col_text(st, 8));
	return conflicts(db, hj_db_col_text(st, 0), stdout, "  ");
}

int cmd_hub_peers(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, "hub peers", peers_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	sqlite3_stmt *st = hj_db_stmt(n->db, peers_sql);
	int rows = 0;
	rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(n->db, st)) == 1) {
		rows++;
		rc = 0;
		if (cli_flag(&c, "json"))
			rc = peer_json(st);
		else
			rc = peer_text(n->db, st);
	}
	if (st)
		hj_db_release(n->db, st);
	if (rc >= 0 && !rows && !cli_flag(&c, "json"))
		printf("no peers enrolled (huiji hub peer)\n");
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
