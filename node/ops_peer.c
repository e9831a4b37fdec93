/*
 * ops_peer.c — fold handler for province.peer: a hub enrols another
 * province's hub as a peer (issue 8 §3): its province id, hub node id,
 * pinned public key, the URL its repository is served at, and a name.
 * Only a hub enrols a peer (authority as over the root, like node.enroll);
 * every field is checked strictly, since the URL is fetched and the key
 * trusted at every hub pass. A province is enrolled once (`peer_exists`).
 */
#include "fold.h"
#include "envelope.h"
#include "error.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define PEER_URL_MAX 512  /* bytes: a git:// or https:// URL, never a document */
#define PEER_NAME_MAX 200 /* bytes: a union's name, as org names */

/* Text without C0 controls or DEL, valid UTF-8, 1..max bytes. */
static int plain_text(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0, bad = 0;
	if (n == 0 || n > max || !hj_utf8_valid(s, n, &bad))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Is the actor a hub here? 1 yes, 0 no, <0 a failed lookup (never a
 * signed no_authority). */
static int actor_is_hub(hj_db *db, const hj_foldctx *ctx)
{
	char *role = NULL;
	int rc = hj_db_get_text(&role, db, "SELECT role FROM node WHERE id = :n", ":n", ctx->actor);
	if (rc < 0 && rc != HJ_ENOTFOUND)
		return rc;
	rc = role && strcmp(role, "hub") == 0;
	free(role);
	return rc;
}

int hj_fold_province_peer(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v)
{
	const char *prov = hj_json_get_str(op, "province");
	const char *hub = hj_json_get_str(op, "hub_node");
	const char *key = hj_json_get_str(op, "key");
	const char *url = hj_json_get_str(op, "url");
	const char *name = hj_json_get_str(op, "name");
	const hj_json *jname = hj_json_get(op, "name");
	char opid[160];
	int64_t n = 0;
	int rc;

	if (!prov || hj_node_id_check(prov))
		return hj_reject(v, "invalid", "province.peer: province id must be 1-64 of [a-z0-9._-]");
	if (!hub || hj_node_id_check(hub))
		return hj_reject(v, "invalid", "province.peer %s: hub_node must be 1-64 of [a-z0-9._-]", prov);
	if (!hj_is_hex64(key))
		return hj_reject(v, "invalid", "province.peer %s: key must be 64 lower-case hex digits", prov);
	if (!plain_text(url, PEER_URL_MAX) || strchr(url, ' '))
		return hj_reject(v, "invalid", "province.peer %s: url must be 1-%d bytes without spaces or control "
				 "characters", prov, PEER_URL_MAX);
	if (jname && !plain_text(name, PEER_NAME_MAX))
		return hj_reject(v, "invalid", "province.peer %s: name must be 1-%d bytes of text", prov, PEER_NAME_MAX);
	if ((rc = actor_is_hub(db, ctx)) <= 0)
		return rc < 0 ? rc : hj_reject(v, "no_authority", "province.peer %s: only a hub enrols peers", prov);
	/* The province's own root union is not a peer of itself. */
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM org WHERE id = :p AND parent IS NULL", ":p", prov, &n)))
		return rc;
	if (n)
		return hj_reject(v, "invalid", "province.peer %s: that is this province", prov);
	if ((rc = hj_db_get_int(db, "SELECT count(*) FROM peer WHERE province = :p", ":p", prov, &n)))
		return rc;
	if (n)
		return hj_reject(v, "peer_exists", "province %s is already enrolled as a peer", prov);

	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO peer(province, hub_node, key, url, name, enrolled_op) "
					  "VALUES (:p, :h, :k, :u, :n, :op)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":p", prov) || hj_db_bind_text(st, ":h", hub) || hj_db_bind_text(st, ":k", key) ||
	      hj_db_bind_text(st, ":u", url) || hj_db_bind_text(st, ":n", name) || hj_db_bind_text(st, ":op", opid))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}
