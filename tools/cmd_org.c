/*
 * cmd_org.c — `huiji org create|update|list` and `huiji node enroll|list`:
 * the union tree and the nodes acting for it.
 */
#include "cli.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

static const cli_opt create_opts[] = {
	{"id", 1, "org id ([a-z0-9._-])"},
	{"name", 1, "name, e.g. 城中区总工会"},
	{"kind", 1, "province|city|county|township|community|industry|platform|park"},
	{"parent", 1, "parent org id"},
	{"region", 1, "region code (GB/T 2260)"},
	{NULL, 0, NULL},
};

static const cli_opt list_opts[] = {
	{"json", 0, "one JSON object per line"},
	{NULL, 0, NULL},
};

static int org_write(int argc, char **argv, const char *opname)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, strcmp(opname, "org.create") == 0 ? "org create" : "org update",
			   create_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "id") || (strcmp(opname, "org.create") == 0 && (!cli_need(&c, "name") || !cli_need(&c, "kind"))))
		return cli_fail(HJ_EINVALID);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	hj_json *op = cli_op_new(opname);
	if (op && (hj_json_set_str(op, "id", cli_get(&c, "id")) || hj_json_set_str(op, "name", cli_get(&c, "name")) ||
		   (strcmp(opname, "org.create") == 0 && hj_json_set_str(op, "kind", cli_get(&c, "kind"))) ||
		   hj_json_set_str(op, "region", cli_get(&c, "region")) ||
		   hj_json_set_str(op, "parent", cli_get(&c, "parent")))) {
		hj_json_free(op);
		op = NULL;
	}
	rc = cli_run_op(n, op, NULL, 0);
	if (!rc)
		printf("%s %s\n", strcmp(opname, "org.create") == 0 ? "created" : "updated", cli_get(&c, "id"));
	hj_node_close(n);
	return cli_fail(rc);
}

/* Print the subtree under `parent` (NULL: the roots), depth-first. */
static int print_tree(hj_db *db, const char *parent, int depth, int json)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h,
		"SELECT o.id, o.name, o.kind, coalesce(o.region, ''), "
		"(SELECT count(*) FROM membership m WHERE m.union_id = o.id AND m.status = 'active') "
		"FROM org o WHERE o.parent IS :p ORDER BY o.id", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return hj_db_error(db, "org list");
	if ((rc = hj_db_bind_text(st, ":p", parent)))
		goto done;
	while ((rc = hj_db_step(db, st)) == 1) {
		const char *id = hj_db_col_text(st, 0);
		if (json) {
			hj_json *o = hj_json_new(HJ_JOBJ);
			if (o && (hj_json_set_str(o, "id", id) || hj_json_set_str(o, "name", hj_db_col_text(st, 1)) ||
				  hj_json_set_str(o, "kind", hj_db_col_text(st, 2)) ||
				  hj_json_set_str(o, "region", hj_db_col_text(st, 3)) ||
				  hj_json_set(o, "parent", parent ? hj_json_str(parent) : hj_json_null()) ||
				  hj_json_set_int(o, "depth", depth) ||
				  hj_json_set_int(o, "active_members", sqlite3_column_int(st, 4)))) {
				hj_json_free(o);
				o = NULL;
			}
			if ((rc = cli_json_line(o)))
				goto done;
		} else {
			printf("%*s%s  %s  [%s%s%s]  %d active\n", depth * 2, "", id, hj_db_col_text(st, 1),
			       hj_db_col_text(st, 2), *hj_db_col_text(st, 3) ? " " : "", hj_db_col_text(st, 3),
			       sqlite3_column_int(st, 4));
		}
		if (depth < 32 && (rc = print_tree(db, id, depth + 1, json)) < 0)
			goto done;
	}
done:
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

int cmd_org(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";
	if (strcmp(sub, "create") == 0 || strcmp(sub, "add") == 0)
		return org_write(argc - 1, argv + 1, "org.create");
	if (strcmp(sub, "update") == 0)
		return org_write(argc - 1, argv + 1, "org.update");
	if (strcmp(sub, "list") == 0) {
		cli c;
		hj_node *n = NULL;
		int rc = cli_parse(&c, "org list", list_opts, argc - 1, argv + 1);
		if (rc)
			return rc > 0 ? 0 : cli_fail(rc);
		if ((rc = cli_open_node(&c, &n)))
			return cli_fail(rc);
		rc = print_tree(n->db, NULL, 0, cli_flag(&c, "json"));
		hj_node_close(n);
		return cli_fail(rc);
	}
	return cli_fail(hj_error_set(HJ_EINVALID, "usage: huiji org create|update|list [--help]"));
}

static const cli_opt enroll_opts[] = {
	{"node", 1, "the node's id"},
	{"pubkey", 1, "its public key, as `huiji init` printed it"},
	{"union", 1, "the union it acts for"},
	{"role", 1, "union (default), hub or auditor"},
	{NULL, 0, NULL},
};

int cmd_node(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";
	cli c;
	hj_node *n = NULL;
	int rc;
	if (strcmp(sub, "enroll") == 0) {
		if ((rc = cli_parse(&c, "node enroll", enroll_opts, argc - 1, argv + 1)))
			return rc > 0 ? 0 : cli_fail(rc);
		if (!cli_need(&c, "node") || !cli_need(&c, "pubkey") || !cli_need(&c, "union"))
			return cli_fail(HJ_EINVALID);
		if ((rc = cli_open_node(&c, &n)))
			return cli_fail(rc);
		hj_json *op = cli_op_new("node.enroll");
		if (op && (hj_json_set_str(op, "node", cli_get(&c, "node")) ||
			   hj_json_set_str(op, "pubkey", cli_get(&c, "pubkey")) ||
			   hj_json_set_str(op, "union", cli_get(&c, "union")) ||
			   hj_json_set_str(op, "role", cli_get(&c, "role") ? cli_get(&c, "role") : "union"))) {
			hj_json_free(op);
			op = NULL;
		}
		if (!(rc = cli_run_op(n, op, NULL, 0)))
			printf("enrolled %s for %s\n", cli_get(&c, "node"), cli_get(&c, "union"));
		hj_node_close(n);
		return cli_fail(rc);
	}
	if (strcmp(sub, "list") == 0) {
		if ((rc = cli_parse(&c, "node list", list_opts, argc - 1, argv + 1)))
			return rc > 0 ? 0 : cli_fail(rc);
		if ((rc = cli_open_node(&c, &n)))
			return cli_fail(rc);
		sqlite3_stmt *st = hj_db_stmt(n->db, "SELECT id, role, union_id, pubkey FROM node ORDER BY id");
		while (st && (rc = hj_db_step(n->db, st)) == 1)
			printf("%-20s %-8s %-20s %.16s…\n", hj_db_col_text(st, 0), hj_db_col_text(st, 1),
			       hj_db_col_text(st, 2), hj_db_col_text(st, 3));
		hj_db_release(n->db, st);
		hj_node_close(n);
		return cli_fail(st ? (rc < 0 ? rc : 0) : HJ_ERROR);
	}
	return cli_fail(hj_error_set(HJ_EINVALID, "usage: huiji node enroll|list [--help]"));
}
