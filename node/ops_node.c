/*
 * ops_node.c — fold handler for node.enroll: the hub registers a node's
 * public key, the union it acts for and its role. Only a hub enrols, except
 * for the bootstrap (the very first node of an empty province, see
 * hj_fold_authority).
 */
#include "fold.h"
#include "error.h"
#include "envelope.h"

#include <stdlib.h>
#include <string.h>

int hj_fold_node_enroll(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *node = hj_json_get_str(op, "node");
	const char *pubkey = hj_json_get_str(op, "pubkey");
	const char *unit = hj_json_get_str(op, "union");
	const char *role = hj_json_get_str(op, "role");
	char opid[160];
	int64_t n = 0;
	int rc;

	if (!node || hj_node_id_check(node))
		return hj_reject(v, "invalid", "node.enroll: node id must be 1-64 of [a-z0-9._-]");
	if (!hj_is_hex64(pubkey))
		return hj_reject(v, "invalid", "node.enroll %s: pubkey must be 64 lower-case hex digits", node);
	if (!role || (strcmp(role, "hub") && strcmp(role, "union") && strcmp(role, "auditor")))
		return hj_reject(v, "invalid", "node.enroll %s: role must be hub, union or auditor", node);
	if (!unit || (rc = hj_db_get_int(db, "SELECT count(*) FROM org WHERE id = :u", ":u", unit, &n)))
		return unit ? rc : hj_reject(v, "invalid", "node.enroll %s: union required", node);
	if (n == 0)
		return hj_reject(v, "unknown_union", "node.enroll %s: union %s does not exist", node, unit);
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM node WHERE id = :n", ":n", node, &n)))
		return rc;
	if (n)
		return hj_reject(v, "node_exists", "node %s is already enrolled", node);

	/* Enrolling is a hub's act: check authority as over the root. */
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM node", NULL, NULL, &n)))
		return rc;
	if (n > 0) {
		char *role_of_actor = NULL;
		rc = hj_db_get_text(&role_of_actor, db, "SELECT role FROM node WHERE id = :n", ":n", ctx->actor);
		if (rc < 0 && rc != HJ_ENOTFOUND)
			return rc; /* a failed lookup must not sign no_authority */
		int is_hub = role_of_actor && strcmp(role_of_actor, "hub") == 0;
		free(role_of_actor);
		if (!is_hub)
			return hj_reject(v, "no_authority", "node.enroll %s: only a hub enrols nodes", node);
	} else if (strcmp(node, ctx->actor) != 0 || strcmp(role, "hub") != 0) {
		return hj_reject(v, "no_authority", "node.enroll %s: the first node enrolled must be the hub enrolling itself", node);
	}

	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO node(id, pubkey, union_id, role, enrolled_op) "
					  "VALUES (:id, :pk, :u, :role, :op)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":id", node) || hj_db_bind_text(st, ":pk", pubkey) ||
	    hj_db_bind_text(st, ":u", unit) || hj_db_bind_text(st, ":role", role) ||
	    hj_db_bind_text(st, ":op", opid)) ? HJ_ERROR : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}
