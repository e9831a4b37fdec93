/*
 * deliver.c — the unions an op touches, and the nodes that hold them.
 * Read before the op is folded: a leave touches the union the record is
 * in; a move touches both ends; a decision on a transfer touches the
 * transfer's two unions; a request also touches wherever the person is
 * an active member now; an application or an update touches every union
 * that holds a record of the person, whose row it refreshes; a service
 * delivery touches the union holding the record it serves. Every other
 * op (the tree, the nodes, service definitions and points, surveys and
 * targets: ops_coverage.c) touches every node: a county folds its own
 * union's targets and its ancestors' offline, and none of them names a
 * person, so nothing is withheld.
 */
#include "deliver.h"
#include "error.h"
#include "fold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hj_idset_free(hj_idset *r)
{
	free(r->id);
	memset(r, 0, sizeof *r);
}

int hj_idset_add(hj_idset *r, const char *id)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) { /* sorted: the entry lists them in this order */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->id[mid], id);
		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		void *p = realloc(r->id, cap * sizeof *r->id);
		if (!p)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		r->id = p;
		r->cap = cap;
	}
	memmove(&r->id[lo + 1], &r->id[lo], (r->n - lo) * sizeof *r->id);
	snprintf(r->id[lo], sizeof r->id[lo], "%s", id);
	r->n++;
	return 0;
}

/* Rows of `sql` (one text column, bound :u and :a) into r. */
static int add_rows(hj_idset *r, hj_db *db, const char *sql, const char *u, const char *author)
{
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	if (!st)
		return HJ_ERROR;
	int rc = (u && hj_db_bind_text(st, ":u", u)) || hj_db_bind_text(st, ":a", author) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(db, st)) == 1)
		rc = hj_idset_add(r, (const char *)sqlite3_column_text(st, 0));
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_recipients_of(hj_idset *out, hj_db *db, const hj_idset *unions, const char *author)
{
	int rc = 0;
	if (unions->n && strcmp(unions->id[0], HJ_TOUCH_ALL) == 0) /* '*' sorts first */
		return add_rows(out, db, "SELECT id FROM node WHERE role = 'union' AND id <> :a", NULL, author);
	for (size_t i = 0; !rc && i < unions->n; i++)
		rc = add_rows(out, db,
			      "WITH RECURSIVE up(id) AS (SELECT :u UNION SELECT o.parent FROM org o JOIN up ON o.id = "
			      "up.id WHERE o.parent IS NOT NULL) SELECT n.id FROM node n JOIN up ON n.union_id = up.id "
			      "WHERE n.role = 'union' AND n.id <> :a",
			      unions->id[i], author);
	return rc;
}

/* The union of one row: `sql` selects it for :k. No row: nothing. */
static int add_union_of(hj_idset *u, hj_db *db, const char *sql, const char *key)
{
	char *v = NULL;
	if (!key)
		return 0;
	int rc = hj_db_get_text(&v, db, sql, ":k", key);
	if (rc == HJ_ENOTFOUND)
		return 0;
	if (!rc)
		rc = hj_idset_add(u, v);
	free(v);
	return rc;
}

static int add_union(hj_idset *u, const char *org)
{
	return org ? hj_idset_add(u, org) : 0;
}

/* Every union holding a membership of the person, of any status: each
 * holds the person's row, which an application or update anywhere
 * refreshes (hj_fold_person_refresh). */
static int add_holders_of(hj_idset *u, hj_db *db, const char *key)
{
	if (!key)
		return 0;
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT DISTINCT union_id FROM membership WHERE person_key = :k");
	int rc = !st || hj_db_bind_text(st, ":k", key) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(db, st)) == 1)
		rc = hj_idset_add(u, (const char *)sqlite3_column_text(st, 0));
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* Every union the change set that opened `transfer` touched: the nodes
 * that folded the offer or request hold the transfer's row (the request
 * reached wherever the person was active then, which the row does not
 * name) and must see how it ends. Ids are "<node>:<seq>:<n>". */
static int add_opener_touch(hj_idset *u, hj_db *db, const char *transfer)
{
	const char *c = strchr(transfer, ':');
	char node[HJ_NODE_ID_MAX + 1];
	if (!c || c == transfer || (size_t)(c - transfer) > HJ_NODE_ID_MAX)
		return 0;
	memcpy(node, transfer, (size_t)(c - transfer));
	node[c - transfer] = '\0';
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT t.union_id FROM followed f JOIN touch t ON t.pos = f.pos "
					  "WHERE f.node = :n AND f.seq = :s");
	int rc = !st || hj_db_bind_text(st, ":n", node) || hj_db_bind_int(st, ":s", strtoll(c + 1, NULL, 10))
			 ? HJ_ERROR
			 : 0;
	while (!rc && (rc = hj_db_step(db, st)) == 1)
		rc = hj_idset_add(u, (const char *)sqlite3_column_text(st, 0));
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_touch_keyed_after(const hj_json *op)
{
	const char *name = hj_json_get_str(op, "op");
	return name && hj_fold_keyless(op) && !hj_json_get_str(hj_json_get(op, "person"), "key") &&
	       (strcmp(name, "member.apply") == 0 || strcmp(name, "member.transfer_request") == 0);
}

/* member.update's person: the key it names (op version 3 and before), else
 * its record's. */
static int add_updated(hj_idset *u, hj_db *db, const hj_json *op)
{
	const char *person = hj_json_get_str(op, "person");
	char *key = NULL;
	if (person || !hj_json_get_str(op, "member"))
		return add_holders_of(u, db, person);
	int rc = hj_db_get_text(&key, db, "SELECT person_key FROM membership WHERE id = :id", ":id",
				hj_json_get_str(op, "member"));
	if (rc == HJ_ENOTFOUND)
		return 0;
	if (!rc)
		rc = add_holders_of(u, db, key);
	free(key);
	return rc;
}

int hj_touch_add_op(hj_idset *u, hj_db *db, const hj_json *op, const char *person_key)
{
	const char *name = hj_json_get_str(op, "op");
	const char *transfer = hj_json_get_str(op, "transfer");
	const char *key = person_key ? person_key : hj_json_get_str(hj_json_get(op, "person"), "key");
	int rc;
	/* A delivery reaches the record's union (a county holds only its own
	 * members' deliveries); services and points go everywhere, like the
	 * tree: a node enrolled later, or a union made later, gets them from
	 * its backfill, and a driver may be served at any county's driver home. */
	if (name && strcmp(name, "service.deliver") == 0)
		return add_union_of(u, db, "SELECT union_id FROM membership WHERE id = :k", hj_json_get_str(op, "member"));
	if (!name || strncmp(name, "member.", 7) != 0)
		return hj_idset_add(u, HJ_TOUCH_ALL);
	if (strcmp(name, "member.apply") == 0) {
		if ((rc = add_holders_of(u, db, key)))
			return rc;
		return add_union(u, hj_json_get_str(op, "union"));
	}
	if (strcmp(name, "member.update") == 0 && (rc = add_updated(u, db, op)))
		return rc;
	if (strncmp(name, "member.transfer_", 16) == 0 && transfer) {
		if ((rc = add_opener_touch(u, db, transfer)) ||
		    (rc = add_union_of(u, db, "SELECT from_union FROM transfer WHERE id = :k", transfer)))
			return rc;
		return add_union_of(u, db, "SELECT to_union FROM transfer WHERE id = :k", transfer);
	}
	if ((rc = add_union(u, hj_json_get_str(op, "to"))))
		return rc;
	if (strcmp(name, "member.transfer_request") == 0)
		return add_union_of(u, db,
				    "SELECT union_id FROM membership WHERE person_key = :k AND status = 'active' "
				    "ORDER BY id LIMIT 1",
				    key);
	return add_union_of(u, db, "SELECT union_id FROM membership WHERE id = :k", hj_json_get_str(op, "member"));
}
