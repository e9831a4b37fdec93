/*
 * deliver.c — the unions an op touches, and the nodes that hold them.
 * Read before the op is folded: a leave touches the union the record is
 * in; a move touches both ends; a decision on a transfer touches the
 * transfer's two unions; a request also touches wherever the person is
 * an active member now.
 */
#include "deliver.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hj_recipients_free(hj_recipients *r)
{
	free(r->id);
	memset(r, 0, sizeof *r);
}

static int add_id(hj_recipients *r, const char *id)
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
static int add_rows(hj_recipients *r, hj_db *db, const char *sql, const char *u, const char *author)
{
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	if (!st)
		return HJ_ERROR;
	int rc = (u && hj_db_bind_text(st, ":u", u)) || hj_db_bind_text(st, ":a", author) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(db, st)) == 1)
		rc = add_id(r, (const char *)sqlite3_column_text(st, 0));
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_recipients_add_union(hj_recipients *r, hj_db *db, const char *org, const char *author)
{
	if (!org)
		return 0;
	return add_rows(r, db,
			"WITH RECURSIVE up(id) AS (SELECT :u UNION SELECT o.parent FROM org o JOIN up ON o.id = up.id "
			"WHERE o.parent IS NOT NULL) SELECT n.id FROM node n JOIN up ON n.union_id = up.id "
			"WHERE n.role = 'union' AND n.id <> :a",
			org, author);
}

/* The union of one row: `sql` selects it for :k. No row: nothing. */
static int add_union_of(hj_recipients *r, hj_db *db, const char *sql, const char *key, const char *author)
{
	char *u = NULL;
	if (!key)
		return 0;
	int rc = hj_db_get_text(&u, db, sql, ":k", key);
	if (rc == HJ_ENOTFOUND)
		return 0;
	if (!rc)
		rc = hj_recipients_add_union(r, db, u, author);
	free(u);
	return rc;
}

int hj_recipients_add_op(hj_recipients *r, hj_db *db, const hj_json *op, const char *author)
{
	const char *name = hj_json_get_str(op, "op");
	int rc;
	if (!name || strncmp(name, "member.", 7) != 0)
		return add_rows(r, db, "SELECT id FROM node WHERE role = 'union' AND id <> :a", NULL, author);
	if (strcmp(name, "member.apply") == 0)
		return hj_recipients_add_union(r, db, hj_json_get_str(op, "union"), author);
	const char *transfer = hj_json_get_str(op, "transfer");
	if (strncmp(name, "member.transfer_", 16) == 0 && transfer) {
		if ((rc = add_union_of(r, db, "SELECT from_union FROM transfer WHERE id = :k", transfer, author)))
			return rc;
		return add_union_of(r, db, "SELECT to_union FROM transfer WHERE id = :k", transfer, author);
	}
	if ((rc = hj_recipients_add_union(r, db, hj_json_get_str(op, "to"), author)))
		return rc;
	if (strcmp(name, "member.transfer_request") == 0)
		return add_union_of(r, db,
				    "SELECT union_id FROM membership WHERE person_key = :k AND status = 'active' "
				    "ORDER BY id LIMIT 1",
				    hj_json_get_str(hj_json_get(op, "person"), "key"), author);
	return add_union_of(r, db, "SELECT union_id FROM membership WHERE id = :k", hj_json_get_str(op, "member"),
			    author);
}
