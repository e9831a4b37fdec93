/*
 * wraps.c — the hub's re-wraps, recorded with the deliveries and written
 * to refs/huiji/wraps/<node>; a county's intake of its own (wraps.h).
 */
#include "wraps.h"
#include "enrolled.h"
#include "envelope.h"
#include "error.h"
#include "hex.h"
#include "rewrap.h"
#include "seal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAIRS_PER_ITEM 2000 /* ~232 bytes each: within HJ_REWRAP_ITEM_MAX */
#define REPAIR_BATCH 16     /* items per pack a repair writes: bounded memory (16 x 512 KiB) */

void hj_rewrap_ref(char *out, size_t outsz, const char *node)
{
	snprintf(out, outsz, "refs/huiji/wraps/%s", node);
}

void hj_rewrap_label(char *out, size_t outsz, const char *node)
{
	snprintf(out, outsz, "wraps:%s", node);
}

/* ---- the hub ---- */

/* One rewrap row of `to` from *pairs, which starts again empty. */
static int flush_pairs(hj_db *db, const char *to, uint64_t hub_seq, int64_t at, hj_json **pairs)
{
	hj_buf body = HJ_BUF_INIT;
	int64_t n = 0;
	int rc = hj_json_write(&body, *pairs);
	if (!rc)
		rc = hj_db_get_int(db, "SELECT coalesce(max(n), 0) + 1 FROM rewrap WHERE node = :n", ":n", to, &n);
	sqlite3_stmt *st = rc ? NULL
			      : hj_db_stmt(db, "INSERT INTO rewrap(node, n, hub_seq, at, body) VALUES (:n, :k, :h, :at, :b)");
	if (!rc && !st)
		rc = HJ_ERROR;
	if (!rc) {
		hj_buf_put_u8(&body, 0);
		rc = hj_db_bind_text(st, ":n", to) || hj_db_bind_int(st, ":k", n) ||
			     hj_db_bind_int(st, ":h", (int64_t)hub_seq) || hj_db_bind_int(st, ":at", at) ||
			     hj_db_bind_text(st, ":b", (const char *)body.data)
			     ? HJ_ERROR
			     : hj_db_step(db, st);
		hj_db_release(db, st);
		rc = rc < 0 ? rc : 0;
	}
	hj_buf_free(&body);
	hj_json_free(*pairs);
	if (!(*pairs = hj_json_new(HJ_JARR)) && !rc)
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
	return rc;
}

int hj_rewrap_deliver(hj_db *db, const hj_unsealer *hub, const char *to, const hj_json *ops, uint64_t hub_seq,
		      int64_t at_ms)
{
	uint8_t ed[32], x[32];
	int rc = hj_enrolled_key(ed, db, to);
	if (rc)
		return rc == HJ_ENOTFOUND ? 0 : rc;
	if (hj_seal_pk_from_node(x, ed))
		return 0; /* no curve point: no seal was ever for it */
	hj_json *pairs = hj_json_new(HJ_JARR);
	if (!pairs)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < ops->count; i++) {
		rc = hj_rewrap_op(pairs, ops->items[i], hub, to, x);
		if (!rc && pairs->count >= PAIRS_PER_ITEM)
			rc = flush_pairs(db, to, hub_seq, at_ms, &pairs);
	}
	if (!rc && pairs->count)
		rc = flush_pairs(db, to, hub_seq, at_ms, &pairs);
	hj_json_free(pairs);
	return rc;
}

int hj_rewrap_deliver_envelope(hj_db *db, const hj_unsealer *hub, const char *to, const uint8_t *bytes, size_t len,
			       uint64_t hub_seq, int64_t at_ms)
{
	hj_envelope e;
	hj_json *payload = NULL;
	int rc = hj_envelope_decode(&e, bytes, len);
	if (rc)
		return rc == HJ_ENOMEM ? rc : 0; /* the hub sequenced it: it decodes; if not, nothing to give */
	const hj_json *ops = NULL;
	if (!(rc = hj_json_parse(&payload, (const char *)e.payload, e.payload_len)))
		ops = hj_fold_payload_ops(payload, &rc);
	rc = ops ? hj_rewrap_deliver(db, hub, to, ops, hub_seq, at_ms) : (rc == HJ_ENOMEM ? rc : 0);
	hj_json_free(payload);
	hj_envelope_free(&e);
	return rc;
}

/* Each id `sql` gives in turn (the least above :x, NULL when none), to
 * `fn`; a failed lookup or fn's error stops it. */
static int each_id(hj_db *db, const char *sql, int (*fn)(hj_db *, const char *, void *), void *ctx)
{
	char *node = NULL, *prev = strdup("");
	int rc = prev ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	while (!rc) {
		int found = hj_db_get_text(&node, db, sql, ":x", prev);
		if (found == HJ_ENOTFOUND)
			break;
		if ((rc = found) || (rc = fn(db, node, ctx)))
			break;
		free(prev);
		prev = node;
		node = NULL;
	}
	free(node);
	free(prev);
	return rc;
}

static int each_auditor(hj_db *db, int (*fn)(hj_db *, const char *, void *), void *ctx)
{
	return each_id(db, "SELECT min(id) FROM node WHERE role = 'auditor' AND id > :x", fn, ctx);
}

typedef struct for_auditor {
	const hj_unsealer *hub;
	const hj_json *ops;
	uint64_t hub_seq;
	int64_t at_ms;
} for_auditor;

static int rewrap_for(hj_db *db, const char *node, void *vctx)
{
	for_auditor *f = vctx;
	return hj_rewrap_deliver(db, f->hub, node, f->ops, f->hub_seq, f->at_ms);
}

int hj_rewrap_auditors(hj_db *db, const hj_unsealer *hub, const hj_json *ops, uint64_t hub_seq, int64_t at_ms)
{
	for_auditor f = {hub, ops, hub_seq, at_ms};
	return each_auditor(db, rewrap_for, &f);
}

/* The history sequenced so far, re-wrapped for an auditor new to the
 * hub's table. */
static int backfill_for(hj_db *db, const char *node, void *vctx)
{
	for_auditor *f = vctx;
	int64_t done = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM rewrap_node WHERE node = :n", ":n", node, &done);
	if (rc || done)
		return rc;
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT envelope FROM followed ORDER BY pos");
	rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1)
		rc = hj_rewrap_deliver_envelope(db, f->hub, node, sqlite3_column_blob(st, 0),
						(size_t)sqlite3_column_bytes(st, 0), f->hub_seq, f->at_ms);
	hj_db_release(db, st);
	if (rc < 0)
		return rc;
	st = hj_db_stmt(db, "INSERT INTO rewrap_node(node, since) VALUES (:n, :s)");
	rc = !st || hj_db_bind_text(st, ":n", node) || hj_db_bind_int(st, ":s", (int64_t)f->hub_seq) ? HJ_ERROR
												      : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_rewrap_backfill_auditors(hj_db *db, const hj_unsealer *hub, uint64_t hub_seq, int64_t at_ms)
{
	for_auditor f = {hub, NULL, hub_seq, at_ms};
	return each_auditor(db, backfill_for, &f);
}

typedef struct source {
	hj_db *db;
	const char *node;
} source;

/* hj_gitfeed_source: the node's wraps after `from`, REPAIR_BATCH at most. */
static int next_batch(void *vctx, uint64_t from, hj_feed_batch *b)
{
	source *s = vctx;
	sqlite3_stmt *st = hj_db_stmt(s->db, "SELECT n, body, at FROM rewrap WHERE node = :n AND n > :f ORDER BY n "
					     "LIMIT 16"); /* REPAIR_BATCH */
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":n", s->node) || hj_db_bind_int(st, ":f", (int64_t)from) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(s->db, st)) == 1) {
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 0);
		rc = n != from + b->n + 1 ? hj_error_set(HJ_ECORRUPT, "wraps of %s: item %" PRIu64 " is missing", s->node,
							  from + b->n + 1)
					  : hj_feed_batch_add(b, sqlite3_column_text(st, 1),
							      (size_t)sqlite3_column_bytes(st, 1), n,
							      sqlite3_column_int64(st, 2));
	}
	hj_db_release(s->db, st);
	return rc < 0 ? rc : 0;
}

static int repair_one(hj_db *db, hj_gitrepo *repo, const char *node, uint64_t want)
{
	char ref[200], label[200];
	source s = {db, node};
	hj_rewrap_ref(ref, sizeof ref, node);
	hj_rewrap_label(label, sizeof label, node);
	return hj_gitfeed_catch_up(repo, ref, label, want, next_batch, &s, "hub-wraps-written");
}

int hj_rewrap_repair(hj_node *hub, hj_gitrepo *repo, const char *node)
{
	int64_t want = 0;
	int rc = hj_db_get_int(hub->db, "SELECT coalesce(max(n), 0) FROM rewrap WHERE node = :n", ":n", node, &want);
	return rc || !want ? rc : repair_one(hub->db, repo, node, (uint64_t)want);
}

typedef struct repair_ctx {
	hj_node *hub;
	hj_gitrepo *repo;
} repair_ctx;

static int repair_for(hj_db *db, const char *node, void *vctx)
{
	repair_ctx *c = vctx;
	(void)db;
	return hj_rewrap_repair(c->hub, c->repo, node);
}

int hj_rewrap_repair_auditors(hj_node *hub, hj_gitrepo *repo)
{
	repair_ctx c = {hub, repo};
	return each_auditor(hub->db, repair_for, &c);
}

int hj_rewrap_repair_all(hj_node *hub, hj_gitrepo *repo)
{
	repair_ctx c = {hub, repo};
	/* One node at a time, by name: no list held while the repair reads. */
	return each_id(hub->db, "SELECT min(node) FROM rewrap WHERE node > :x", repair_for, &c);
}

/* ---- the county ---- */

typedef struct take {
	hj_db *db;
	int *refused;
} take;

static int is_hex(const char *s, size_t n)
{
	size_t i = 0;
	for (; s && s[i] && i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s && i == n && !s[i];
}

/* One item's pairs into seal_wrap; a malformed item is passed over. */
static int on_item(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	take *t = vctx;
	hj_json *pairs = NULL;
	(void)seq;
	(void)commit;
	int rc = len <= HJ_REWRAP_ITEM_MAX ? hj_json_parse(&pairs, (const char *)bytes, len) : HJ_ETOOBIG;
	if (rc == HJ_ENOMEM)
		return rc;
	int ok = !rc && pairs->type == HJ_JARR;
	for (size_t i = 0; ok && i < pairs->count; i++) {
		const hj_json *p = pairs->items[i];
		ok = p->type == HJ_JARR && p->count == 2 && p->items[0]->type == HJ_JSTR && p->items[1]->type == HJ_JSTR &&
		     is_hex(p->items[0]->s, 64) && is_hex(p->items[1]->s, HJ_SEAL_WRAP_HEX);
	}
	rc = 0;
	for (size_t i = 0; ok && !rc && i < pairs->count; i++) {
		sqlite3_stmt *st = hj_db_stmt(t->db, "INSERT OR IGNORE INTO seal_wrap(seal, wrap) VALUES (:s, :w)");
		rc = !st || hj_db_bind_text(st, ":s", pairs->items[i]->items[0]->s) ||
				     hj_db_bind_text(st, ":w", pairs->items[i]->items[1]->s)
			     ? HJ_ERROR
			     : hj_db_step(t->db, st);
		hj_db_release(t->db, st);
		rc = rc < 0 ? rc : 0;
	}
	if (!ok)
		(*t->refused)++;
	hj_json_free(pairs);
	return rc;
}

/* The item count and commit taken last (meta wraps_commit "<n> <oid>"). */
static int taken(hj_db *db, uint64_t *n, git_oid *commit, int *have)
{
	char *v = NULL, *end;
	int rc = hj_meta_get(&v, db, "wraps_commit");
	*have = 0;
	if (rc)
		return rc == HJ_ENOTFOUND ? 0 : rc;
	unsigned long long at = strtoull(v, &end, 10);
	if (end != v && *end == ' ' && strlen(end + 1) == GIT_OID_HEXSZ && git_oid_fromstr(commit, end + 1) == 0) {
		*n = at;
		*have = 1;
	}
	free(v);
	return 0;
}

int hj_rewrap_take(hj_node *n, hj_gitrepo *repo, const char *ref, int *refused)
{
	return hj_rewrap_take_db(n->db, n->id, repo, ref, refused);
}

int hj_rewrap_take_db(hj_db *db, const char *node, hj_gitrepo *repo, const char *ref, int *refused)
{
	char label[200], v[32 + GIT_OID_HEXSZ + 1], hex[GIT_OID_HEXSZ + 1];
	git_oid tip, base;
	uint64_t tipn = 0, basen = 0;
	int have = 0;
	take t = {db, refused};
	hj_rewrap_label(label, sizeof label, node);
	int rc = hj_gitfeed_tip(repo, ref, &tipn, &tip);
	if (rc == HJ_ECORRUPT) {
		(*refused)++;
		return 0;
	}
	if (rc || !tipn || (rc = taken(db, &basen, &base, &have)))
		return rc;
	if (have && git_oid_equal(&base, &tip))
		return 0;
	rc = have && basen <= tipn ? hj_gitfeed_walk_since(repo, &tip, label, &base, basen, on_item, &t) : HJ_ECONFLICT;
	if (rc == HJ_ECONFLICT) /* rewritten or new: read whole (seal_wrap keeps what it has) */
		rc = hj_gitfeed_walk(repo, &tip, label, 0, on_item, &t);
	if (rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND) {
		(*refused)++;
		return 0;
	}
	if (rc)
		return rc;
	git_oid_tostr(hex, sizeof hex, &tip);
	snprintf(v, sizeof v, "%" PRIu64 " %s", tipn, hex);
	return hj_meta_set(db, "wraps_commit", v);
}
