/*
 * ops_org.c — fold handlers for the union tree: org.create, org.update.
 *
 * Org ids are chosen by the creator (short ASCII slugs); two nodes creating
 * the same id offline is settled by hub order: the second gets org_exists.
 */
#include "fold.h"
#include "rules.h"
#include "error.h"
#include "envelope.h"

#include <stdlib.h>
#include <string.h>

static int kind_exists(hj_db *db, const char *kind)
{
	int64_t n = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM org_kind WHERE code = :c", ":c", kind, &n);
	return rc ? rc : n > 0;
}

static int org_exists(hj_db *db, const char *id)
{
	int64_t n = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM org WHERE id = :c", ":c", id, &n);
	return rc ? rc : n > 0;
}

int hj_fold_org_create(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *id = hj_json_get_str(op, "id");
	const char *name = hj_json_get_str(op, "name");
	const char *kind = hj_json_get_str(op, "kind");
	const char *region = hj_json_get_str(op, "region");
	const char *parent = hj_json_get_str(op, "parent");
	char opid[160];
	int rc;

	if (!id || hj_node_id_check(id))
		return hj_reject(v, "invalid", "org.create: id must be 1-64 of [a-z0-9._-]");
	if (!name || !name[0] || strlen(name) > 200)
		return hj_reject(v, "invalid", "org.create %s: name required (at most 200 bytes)", id);
	if (hj_rules_name_text(ctx, "org.create", name, v))
		return 0;
	if (!kind || (rc = kind_exists(db, kind)) == 0)
		return hj_reject(v, "invalid", "org.create %s: unknown kind", id);
	if (rc < 0)
		return rc;
	if ((rc = org_exists(db, id)) != 0)
		return rc < 0 ? rc : hj_reject(v, "org_exists", "org %s already exists", id);
	if (parent) {
		if ((rc = org_exists(db, parent)) == 0)
			return hj_reject(v, "unknown_org", "org.create %s: parent %s does not exist", id, parent);
		if (rc < 0)
			return rc;
	} else if (strcmp(kind, "province") != 0) {
		return hj_reject(v, "invalid", "org.create %s: only a province may have no parent", id);
	}
	/* A root can be made only by a hub: authority over "no parent" is
	 * checked as authority over the root, which no union node holds. */
	rc = hj_fold_authority(db, ctx, parent, v);
	if (rc)
		return rc < 0 ? rc : 0;

	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO org(id, name, kind, region, parent, created_op) "
					  "VALUES (:id, :name, :kind, :region, :parent, :op)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", id) || hj_db_bind_text(st, ":name", name) ||
	    hj_db_bind_text(st, ":kind", kind) || hj_db_bind_text(st, ":region", region) ||
	    hj_db_bind_text(st, ":parent", parent) || hj_db_bind_text(st, ":op", opid)) ? HJ_ERROR : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_fold_org_update(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *id = hj_json_get_str(op, "id");
	const char *name = hj_json_get_str(op, "name");
	const char *region = hj_json_get_str(op, "region");
	const char *parent = hj_json_get_str(op, "parent");
	char opid[160];
	int rc;

	if (!id)
		return hj_reject(v, "invalid", "org.update: id required");
	if (!name && !region && !parent)
		return hj_reject(v, "invalid", "org.update %s: nothing to change", id);
	if (name && (!name[0] || strlen(name) > 200))
		return hj_reject(v, "invalid", "org.update %s: name must be 1-200 bytes", id);
	if (hj_rules_name_text(ctx, "org.update", name, v))
		return 0;
	if ((rc = org_exists(db, id)) == 0)
		return hj_reject(v, "unknown_org", "org %s does not exist", id);
	if (rc < 0)
		return rc;
	if ((rc = hj_fold_authority(db, ctx, id, v)))
		return rc < 0 ? rc : 0;
	if (parent) {
		if ((rc = org_exists(db, parent)) == 0)
			return hj_reject(v, "unknown_org", "org.update %s: parent %s does not exist", id, parent);
		if (rc < 0)
			return rc;
		if ((rc = hj_org_in_subtree(db, parent, id)) != 0)
			return rc < 0 ? rc : hj_reject(v, "cycle", "org.update %s: %s is inside its own subtree", id, parent);
		if ((rc = hj_fold_authority(db, ctx, parent, v)))
			return rc < 0 ? rc : 0;
		/* Members move by transfer (会籍接转), never by moving their union:
		 * a county holds the rows of its own subtree, and an org carried
		 * into it would arrive without its history. */
		int64_t held = 0;
		char *cur = NULL;
		rc = hj_db_get_text(&cur, db, "SELECT parent FROM org WHERE id = :id", ":id", id);
		if (rc < 0 && rc != HJ_ENOTFOUND)
			return rc;
		int moved = !cur || strcmp(cur, parent) != 0; /* NULL: a root gains a parent */
		free(cur);
		if (moved && (rc = hj_db_get_int(db,
				"WITH RECURSIVE sub(id) AS (SELECT :id UNION SELECT o.id FROM org o JOIN sub ON o.parent = sub.id) "
				"SELECT count(*) FROM membership WHERE union_id IN (SELECT id FROM sub)", ":id", id, &held)))
			return rc;
		if (moved && held)
			return hj_reject(v, "org_not_empty", "org.update %s: %lld memberships are held in its subtree; "
					 "transfer them before moving it", id, (long long)held);
	}
	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE org SET name = coalesce(:name, name), "
					  "region = coalesce(:region, region), parent = coalesce(:parent, parent), "
					  "updated_op = :op WHERE id = :id");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", id) || hj_db_bind_text(st, ":name", name) ||
	    hj_db_bind_text(st, ":region", region) || hj_db_bind_text(st, ":parent", parent) ||
	    hj_db_bind_text(st, ":op", opid)) ? HJ_ERROR : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}
