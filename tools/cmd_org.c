/*
 * cmd_org.c — `huiji org create|update|list` and `huiji node enroll|list`:
 * the union tree and the nodes acting for it.
 */
#include "cli.h"
#include "error.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt create_opts[] = {
	{"id", 1, "org id ([a-z0-9._-])"},
	{"name", 1, "name, e.g. 城中区总工会"},
	{"kind", 1, "province|city|county|township|community|industry|platform|park"},
	{"parent", 1, "parent org id"},
	{"region", 1, "region code (GB/T 2260)"},
	{NULL, 0, "huiji org create --id qh-xn-cz --name 城中区总工会 --kind county --parent qh-xn --region 630103"},
};

static const cli_opt update_opts[] = {
	{"id", 1, "the org's id"},
	{"name", 1, "its new name"},
	{"parent", 1, "its new parent org id"},
	{"region", 1, "its new region code (GB/T 2260)"},
	{NULL, 0, "huiji org update --id qh-xn-cz --name 城中区总工会（新）"},
};

static const cli_opt org_list_opts[] = {
	{"json", 0, "print one JSON array, a union an element"},
	{NULL, 0, "huiji org list --json"},
};

static const cli_opt node_list_opts[] = {
	{"json", 0, "print one JSON array, a node an element"},
	{NULL, 0, "huiji node list"},
};

static int org_write(int argc, char **argv, const char *opname)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, strcmp(opname, "org.create") == 0 ? "org create" : "org update",
			   strcmp(opname, "org.create") == 0 ? create_opts : update_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "id") || (strcmp(opname, "org.create") == 0 && (!cli_need(&c, "name") || !cli_need(&c, "kind"))))
		return cli_fail(HJ_EINVALID);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if ((rc = cli_check_vocab(n, "org kind", "org_kind", cli_get(&c, "kind"), 1))) {
		hj_node_close(n);
		return cli_fail(rc);
	}
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

/* The org tree, read whole (a province holds hundreds of unions, not
 * millions), printed depth-first with siblings in natural order. */
typedef struct org_row {
	char *id, *name, *kind, *region, *parent;
	int64_t active;
} org_row;

typedef struct org_out {
	org_row *rows;
	size_t n;
	int json;
	cli_table *t;
	cli_jlist l;
} org_out;

static int by_id(const void *a, const void *b)
{
	return cli_natcmp(((const org_row *)a)->id, ((const org_row *)b)->id);
}

static int org_emit(org_out *o, const char *parent, int depth)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < o->n; i++) {
		org_row *r = &o->rows[i];
		if (parent ? !r->parent || strcmp(r->parent, parent) != 0 : r->parent != NULL)
			continue;
		if (o->json) {
			hj_json *j = hj_json_new(HJ_JOBJ);
			if (j && (hj_json_set_str(j, "id", r->id) || hj_json_set_str(j, "name", r->name) ||
				  hj_json_set_str(j, "kind", r->kind) || hj_json_set_str(j, "region", r->region) ||
				  hj_json_set(j, "parent", parent ? hj_json_str(parent) : hj_json_null()) ||
				  hj_json_set_int(j, "depth", depth) || hj_json_set_int(j, "active_members", r->active)))
				j = (hj_json_free(j), NULL);
			rc = cli_jlist_add(&o->l, j);
		} else {
			char id[200], active[24];
			snprintf(id, sizeof id, "%*s%s", depth * 2, "", r->id);
			snprintf(active, sizeof active, "%lld", (long long)r->active);
			const char *cells[] = {id, r->name, r->kind, r->region[0] ? r->region : NULL, active};
			rc = cli_table_add(o->t, cells);
		}
		if (!rc && depth < 32)
			rc = org_emit(o, r->id, depth + 1);
	}
	return rc;
}

static int org_print(hj_db *db, int json)
{
	static const char *const heads[] = {"union", "name", "kind", "region", "active", NULL};
	org_out o = {.json = json};
	size_t cap = 0;
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT o.id, o.name, o.kind, coalesce(o.region, ''), o.parent, "
		"(SELECT count(*) FROM membership m WHERE m.union_id = o.id AND m.status = 'active') FROM org o");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		rc = 0;
		if (o.n == cap) {
			org_row *nr = realloc(o.rows, (cap = cap ? cap * 2 : 64) * sizeof *nr);
			if (!nr) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				break;
			}
			o.rows = nr;
		}
		org_row *r = &o.rows[o.n++];
		memset(r, 0, sizeof *r);
		r->id = strdup(hj_db_col_text(st, 0));
		r->name = strdup(hj_db_col_text(st, 1));
		r->kind = strdup(hj_db_col_text(st, 2));
		r->region = strdup(hj_db_col_text(st, 3));
		r->parent = sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : strdup(hj_db_col_text(st, 4));
		r->active = sqlite3_column_int64(st, 5);
		if (!r->id || !r->name || !r->kind || !r->region || (sqlite3_column_type(st, 4) != SQLITE_NULL && !r->parent))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
	}
	hj_db_release(db, st);
	if (!rc && o.n)
		qsort(o.rows, o.n, sizeof *o.rows, by_id);
	if (!rc && !json && !(o.t = cli_table_new(heads)))
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && json)
		cli_jlist_begin(&o.l);
	if (!rc && !json)
		cli_table_right(o.t, 4);
	if (!rc)
		rc = org_emit(&o, NULL, 0);
	if (!rc && json)
		cli_jlist_end(&o.l);
	else if (!rc)
		rc = cli_table_print(o.t, stdout);
	cli_table_free(o.t);
	for (size_t i = 0; i < o.n; i++) {
		free(o.rows[i].id);
		free(o.rows[i].name);
		free(o.rows[i].kind);
		free(o.rows[i].region);
		free(o.rows[i].parent);
	}
	free(o.rows);
	return rc < 0 ? rc : 0;
}

static int org_create(int argc, char **argv)
{
	return org_write(argc, argv, "org.create");
}

static int org_update(int argc, char **argv)
{
	return org_write(argc, argv, "org.update");
}

static int org_list(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, "org list", org_list_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	rc = org_print(n->db, cli_flag(&c, "json"));
	hj_node_close(n);
	return cli_fail(rc);
}

int cmd_org(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"create", org_create, "create a union under its parent"},
		{"add", org_create, NULL}, /* the old name of create */
		{"update", org_update, "rename a union, move it, or change its region"},
		{"list", org_list, "the union tree, with active members"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("org", subs, argc, argv);
}

static const cli_opt enroll_opts[] = {
	{"node", 1, "the node's id"},
	{"pubkey", 1, "its public key, as `huiji init` printed it"},
	{"union", 1, "the union it acts for"},
	{"role", 1, "union (default), hub or auditor"},
	{NULL, 0, "huiji node enroll --node qh-xn-cz --pubkey 3f2a...e1 --union qh-xn-cz --role union"},
};

static int node_enroll(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	static const char *const roles[] = {"union", "hub", "auditor", NULL};
	int rc;
	if ((rc = cli_parse(&c, "node enroll", enroll_opts, argc, argv)))
		return rc > 0 ? 0 : cli_fail(rc);
	if (!cli_need(&c, "node") || !cli_need(&c, "pubkey") || !cli_need(&c, "union"))
		return cli_fail(HJ_EINVALID);
	if ((rc = cli_check_choice("role", cli_get(&c, "role"), roles)))
		return cli_fail(rc);
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

static int node_list(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	int rc;
	if ((rc = cli_parse(&c, "node list", node_list_opts, argc, argv)))
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	static const char *const heads[] = {"node", "role", "union", "public key", NULL};
	int json = cli_flag(&c, "json");
	cli_table *t = json ? NULL : cli_table_new(heads);
	cli_jlist l;
	sqlite3_stmt *st = hj_db_stmt(n->db, "SELECT id, role, union_id, pubkey FROM node ORDER BY id");
	rc = !st ? HJ_ERROR : !json && !t ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
	if (!rc && json)
		cli_jlist_begin(&l);
	while (!rc && (rc = hj_db_step(n->db, st)) == 1) {
		char pk[24];
		snprintf(pk, sizeof pk, "%.16s…", hj_db_col_text(st, 3));
		const char *cells[] = {hj_db_col_text(st, 0), hj_db_col_text(st, 1), hj_db_col_text(st, 2), pk};
		if (json) {
			hj_json *o = hj_json_new(HJ_JOBJ);
			if (o && (hj_json_set_str(o, "node", cells[0]) || hj_json_set_str(o, "role", cells[1]) ||
				  hj_json_set_str(o, "union", cells[2]) || hj_json_set_str(o, "pubkey", hj_db_col_text(st, 3))))
				o = (hj_json_free(o), NULL);
			rc = cli_jlist_add(&l, o);
		} else {
			rc = cli_table_add(t, cells);
		}
	}
	if (!rc && json)
		cli_jlist_end(&l);
	else if (!rc) {
		cli_table_sort(t, 0);
		rc = cli_table_print(t, stdout);
	}
	cli_table_free(t);
	hj_db_release(n->db, st);
	hj_node_close(n);
	return cli_fail(rc < 0 ? rc : 0);
}

int cmd_node(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"enroll", node_enroll, "enrol a node for a union (a hub op)"},
		{"list", node_list, "the enrolled nodes"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("node", subs, argc, argv);
}
