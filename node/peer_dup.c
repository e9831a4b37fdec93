/*
 * peer_dup.c — the peer registries a hub looks applicants up in, and the
 * rules-5 check that refuses a person already active in another province
 * (peer_dup.h). The registries are SQLite files sync/peer.c installed
 * after auditing the peer; here they are only read.
 */
#include "peer_dup.h"
#include "error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RULES_PEER 5 /* rules.h */

char *hj_peer_registry_path(const char *dir, const char *province)
{
	size_t n = strlen(dir) + strlen(province) + 16;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/peers/%s.db", dir, province);
	return p;
}

void hj_peer_lookup_free(hj_peer_lookup *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->reg[i].name);
		hj_db_close(l->reg[i].db);
	}
	free(l->reg);
	free(l);
}

/* Read-only: the file is never written in place (a new one is renamed
 * over it), and a rollback-journal file read this way needs no -wal. */
static int open_ro(hj_db **out, const char *path)
{
	hj_db *db = calloc(1, sizeof *db);
	*out = NULL;
	if (!db)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		int rc = hj_error_set(HJ_ERROR, "cannot open the peer registry %s: %s", path,
				      db->h ? sqlite3_errmsg(db->h) : "out of memory");
		hj_db_close(db);
		return rc;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, 10000);
	*out = db;
	return 0;
}

/* One peer's registry: its position (meta peer_hub_seq, written before it
 * was installed) and its name. */
static int open_one(hj_peer_registry *r, const char *path, const char *name)
{
	char *seq = NULL;
	int rc = open_ro(&r->db, path);
	if (!rc && (rc = hj_meta_get(&seq, r->db, "peer_hub_seq")) == HJ_ENOTFOUND)
		rc = hj_error_set(HJ_ECORRUPT, "the peer registry %s does not say its position", path);
	if (rc)
		goto done;
	r->hub_seq = strtoull(seq, NULL, 10);
	if (name) {
		if (!(r->name = strdup(name)))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
	} else if ((rc = hj_db_get_text(&r->name, r->db, "SELECT name FROM org WHERE parent IS NULL ORDER BY id LIMIT 1",
				       NULL, NULL)) == HJ_ENOTFOUND) {
		rc = (r->name = strdup(r->province)) ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	}
done:
	free(seq);
	return rc;
}

int hj_peer_lookup_open(hj_peer_lookup **out, hj_db *hub_db, const char *dir)
{
	hj_peer_lookup *l = calloc(1, sizeof *l);
	*out = NULL;
	if (!l)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	sqlite3_stmt *st = hj_db_stmt(hub_db, "SELECT province, name FROM peer ORDER BY province");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(hub_db, st)) == 1) {
		char *path = hj_peer_registry_path(dir, hj_db_col_text(st, 0));
		hj_peer_registry *g = realloc(l->reg, (l->n + 1) * sizeof *g);
		rc = path && g ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
		if (g)
			l->reg = g;
		if (!rc && access(path, F_OK) == 0) {
			memset(&l->reg[l->n], 0, sizeof *g);
			snprintf(l->reg[l->n].province, sizeof g->province, "%s", hj_db_col_text(st, 0));
			l->n++;
			rc = open_one(&l->reg[l->n - 1], path,
				      sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : hj_db_col_text(st, 1));
		}
		free(path);
	}
	if (st)
		hj_db_release(hub_db, st);
	if (rc < 0) {
		hj_peer_lookup_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* The active membership of `key` in one peer registry: 1 found (v
 * filled), 0 none, <0 failed. */
static int find_in(hj_peer_lookup *l, const hj_peer_registry *r, const char *key, hj_verdict *v)
{
	sqlite3_stmt *st = hj_db_stmt(r->db, "SELECT m.union_id, coalesce(o.name, m.union_id) FROM membership m "
					     "LEFT JOIN org o ON o.id = m.union_id "
					     "WHERE m.person_key = :k AND m.status = 'active' ORDER BY m.id LIMIT 1");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":k", key);
	if (!rc && (rc = hj_db_step(r->db, st)) == 1) {
		const char *unit = hj_db_col_text(st, 0);
		hj_reject(v, "duplicate_province", "person already holds active membership in province %s (%s), union "
			  "%s (%s), as of its hub entry %" PRIu64, r->province, r->name, unit, hj_db_col_text(st, 1),
			  r->hub_seq);
		/* "<province>/<union>"; past 64 bytes the province alone. */
		size_t np = strlen(r->province), nu = strlen(unit);
		snprintf(v->holder, sizeof v->holder, "%s", r->province);
		if (np + 1 + nu < sizeof v->holder) {
			v->holder[np] = '/';
			memcpy(v->holder + np + 1, unit, nu + 1);
		}
		snprintf(l->province, sizeof l->province, "%s", r->province);
		l->hub_seq = r->hub_seq;
	}
	hj_db_release(r->db, st);
	return rc;
}

int hj_fold_peer_duplicate(hj_db *db, const hj_foldctx *ctx, const char *key, hj_verdict *v)
{
	(void)db;
	if ((ctx->rules ? ctx->rules : 1) < RULES_PEER || ctx->trust_hub)
		return 0;
	if (ctx->hub_reason && strcmp(ctx->hub_reason, "duplicate_province") == 0) {
		/* Judged against a peer's registry at a position no re-folder
		 * holds: the hub's word stands. */
		hj_reject(v, "duplicate_province", "member.apply: the person holds an active membership in another "
			  "province (the hub's verdict, judged against its copy of that province's registry)");
		return 1;
	}
	if (!ctx->peers || !key)
		return 0;
	ctx->peers->province[0] = '\0';
	for (size_t i = 0; i < ctx->peers->n; i++) {
		int rc = find_in(ctx->peers, &ctx->peers->reg[i], key, v);
		if (rc)
			return rc;
	}
	return 0;
}

int hj_peer_lookup_note(hj_peer_lookup *l, hj_db *hub_db, const hj_foldctx *ctx, const hj_verdict *v)
{
	char opid[160];
	if (!l || v->applied || strcmp(v->reason, "duplicate_province") != 0 || !l->province[0])
		return 0;
	hj_fold_op_id(opid, sizeof opid, ctx);
	sqlite3_stmt *st = hj_db_stmt(hub_db, "INSERT OR REPLACE INTO peer_verdict(op, province, peer_hub_seq) "
					      "VALUES (:op, :p, :s)");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":op", opid) || hj_db_bind_text(st, ":p", l->province) ||
		  hj_db_bind_int(st, ":s", (int64_t)l->hub_seq))
			 ? HJ_ERROR
			 : hj_db_step(hub_db, st);
	hj_db_release(hub_db, st);
	l->province[0] = '\0';
	return rc < 0 ? rc : 0;
}
