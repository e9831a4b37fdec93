/*
 * inbox.c — the hub's deliveries: recorded in the registry with the
 * round, written to git after its COMMIT, repaired from the registry.
 */
#include "inbox.h"
#include "envelope.h"
#include "error.h"
#include "wraps.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hj_inbox_ref(char *out, size_t outsz, const char *node)
{
	snprintf(out, outsz, "refs/huiji/inbox/%s", node);
}

void hj_inbox_label(char *out, size_t outsz, const char *node)
{
	snprintf(out, outsz, "inbox:%s", node);
}

/* One delivery: the next inbox row of `node`, counted into the entry. */
static int deliver_one(hj_db *db, const char *node, uint64_t hub_seq, const char *src_node, uint64_t src_seq,
		       int64_t *n)
{
	int rc = hj_db_get_int(db, "SELECT coalesce(max(n), 0) + 1 FROM inbox WHERE node = :n", ":n", node, n);
	if (rc)
		return rc;
	sqlite3_stmt *st = hj_db_stmt(db, "INSERT INTO inbox(node, n, src_node, src_seq, hub_seq) "
					  "VALUES (:n, :k, :s, :q, :h)");
	if (!st)
		return HJ_ERROR;
	rc = (hj_db_bind_text(st, ":n", node) || hj_db_bind_int(st, ":k", *n) || hj_db_bind_text(st, ":s", src_node) ||
	      hj_db_bind_int(st, ":q", (int64_t)src_seq) || hj_db_bind_int(st, ":h", (int64_t)hub_seq))
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_inbox_deliver(hj_db *db, hj_hub_entry_enc *enc, const hj_idset *unions, int64_t pos, uint64_t hub_seq,
		     const char *src_node, uint64_t src_seq, const hj_unsealer *hub, const hj_json *ops)
{
	hj_idset to = {0};
	int rc = 0;
	for (size_t i = 0; !rc && i < unions->n; i++) {
		sqlite3_stmt *st = hj_db_stmt(db, "INSERT OR IGNORE INTO touch(pos, union_id) VALUES (:p, :u)");
		rc = !st || hj_db_bind_int(st, ":p", pos) || hj_db_bind_text(st, ":u", unions->id[i]) ? HJ_ERROR
												   : hj_db_step(db, st);
		hj_db_release(db, st);
		rc = rc < 0 ? rc : 0;
	}
	if (!rc)
		rc = hj_recipients_of(&to, db, unions, src_node);
	for (size_t i = 0; !rc && i < to.n; i++) {
		int64_t n = 0;
		if (!(rc = deliver_one(db, to.id[i], hub_seq, src_node, src_seq, &n)) && enc)
			rc = hj_hub_entry_enc_deliver(enc, to.id[i], (uint64_t)n);
		if (!rc && hub && ops)
			rc = hj_rewrap_deliver(db, hub, to.id[i], ops, hub_seq, enc ? enc->at_ms : 0);
	}
	hj_idset_free(&to);
	return rc;
}

/* One node's backfill: what touched its union's subtree, or everyone. */
static int backfill_one(hj_db *db, const char *hub, const hj_unsealer *seal, hj_hub_entry_enc *enc,
			uint64_t hub_seq, const char *node, const char *org)
{
	int64_t n = 0;
	int rc = 0;
	sqlite3_stmt *st = hj_db_stmt(db,
		"WITH RECURSIVE down(id) AS (SELECT :u UNION SELECT o.id FROM org o JOIN down ON o.parent = down.id) "
		"SELECT f.node, f.seq, f.envelope FROM followed f WHERE f.node <> :x AND f.node <> :hub AND EXISTS (SELECT 1 FROM "
		"touch t WHERE t.pos = f.pos AND (t.union_id = '" HJ_TOUCH_ALL "' OR t.union_id IN down)) ORDER BY f.pos");
	if (!st || hj_db_bind_text(st, ":u", org) || hj_db_bind_text(st, ":x", node) ||
	    hj_db_bind_text(st, ":hub", hub))
		rc = HJ_ERROR;
	/* A second statement inserts meanwhile: the cache hands out another. */
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		rc = deliver_one(db, node, hub_seq, (const char *)sqlite3_column_text(st, 0),
				 (uint64_t)sqlite3_column_int64(st, 1), &n);
		/* Sealed before this node was enrolled: the hub re-wraps. */
		if (!rc && seal)
			rc = hj_rewrap_deliver_envelope(db, seal, node, sqlite3_column_blob(st, 2),
							(size_t)sqlite3_column_bytes(st, 2), hub_seq,
							enc ? enc->at_ms : 0);
	}
	hj_db_release(db, st);
	if (rc < 0)
		return rc;
	if (n && enc && (rc = hj_hub_entry_enc_backfill(enc, node, (uint64_t)n)))
		return rc;
	st = hj_db_stmt(db, "INSERT INTO inbox_node(node, since) VALUES (:n, :s)");
	rc = !st || hj_db_bind_text(st, ":n", node) || hj_db_bind_int(st, ":s", (int64_t)hub_seq) ? HJ_ERROR
												 : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_inbox_backfill(hj_node *hub, hj_hub_entry_enc *enc, uint64_t hub_seq)
{
	return hj_inbox_backfill_db(hub->db, hub->id, &hub->unsealer, enc, hub_seq);
}

int hj_inbox_backfill_db(hj_db *db, const char *hub, const hj_unsealer *seal, hj_hub_entry_enc *enc,
			 uint64_t hub_seq)
{
	char *node = NULL, *org = NULL;
	int rc;
	/* One new node at a time: the query sees the row the last one added. */
	while (!(rc = hj_db_get_text(&node, db, "SELECT min(id) FROM node WHERE role = 'union' AND id NOT IN "
						"(SELECT node FROM inbox_node) AND id <> :x", ":x", hub))) {
		if (!(rc = hj_db_get_text(&org, db, "SELECT union_id FROM node WHERE id = :x", ":x", node)))
			rc = backfill_one(db, hub, seal, enc, hub_seq, node, org);
		free(node);
		free(org);
		node = org = NULL;
		if (rc)
			return rc;
	}
	return rc == HJ_ENOTFOUND ? 0 : rc;
}

typedef struct source {
	hj_db *db;
	const char *node;
} source;

/* hj_gitfeed_source: deliveries after `from` to the node, up to
 * HJ_FEED_BATCH, from the hub's followed rows (the bytes it sequenced). */
static int next_batch(void *vctx, uint64_t from, hj_feed_batch *b)
{
	source *s = vctx;
	sqlite3_stmt *st = hj_db_stmt(s->db, "SELECT i.n, f.envelope FROM inbox i JOIN followed f ON "
					     "f.node = i.src_node AND f.seq = i.src_seq WHERE i.node = :n AND i.n > :f "
					     "ORDER BY i.n LIMIT 500"); /* HJ_FEED_BATCH */
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":n", s->node) || hj_db_bind_int(st, ":f", (int64_t)from) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(s->db, st)) == 1) {
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		const uint8_t *p = sqlite3_column_blob(st, 1);
		int64_t at = 0;
		if (n != from + b->n + 1 || !p || !len) {
			rc = hj_error_set(HJ_ECORRUPT, "inbox of %s: delivery %" PRIu64 " has no change set", s->node,
					  from + b->n + 1);
			break;
		}
		/* The commit's time is the envelope's, as in every feed, so a copy
		 * made by reading the chain (localfetch.c) has the same ids. */
		if (!(rc = hj_envelope_created_at(&at, p, len)))
			rc = hj_feed_batch_add(b, p, len, n, at);
	}
	hj_db_release(s->db, st);
	return rc < 0 ? rc : 0;
}

static int repair_one(hj_db *db, hj_gitrepo *repo, const char *node, uint64_t want)
{
	char ref[200], label[200];
	source s = {db, node};
	hj_inbox_ref(ref, sizeof ref, node);
	hj_inbox_label(label, sizeof label, node);
	return hj_gitfeed_catch_up(repo, ref, label, want, next_batch, &s, "hub-inbox-written");
}

int hj_inbox_repair(hj_node *hub, hj_gitrepo *repo, const char *node)
{
	int64_t want = 0;
	int rc = hj_db_get_int(hub->db, "SELECT coalesce(max(n), 0) FROM inbox WHERE node = :n", ":n", node, &want);
	return rc ? rc : repair_one(hub->db, repo, node, (uint64_t)want);
}

int hj_inbox_repair_all(hj_node *hub, hj_gitrepo *repo)
{
	sqlite3_stmt *st = hj_db_stmt(hub->db, "SELECT node, max(n) FROM inbox GROUP BY node ORDER BY node");
	char (*nodes)[HJ_NODE_ID_MAX + 1] = NULL;
	uint64_t *want = NULL;
	size_t n = 0, cap = 0;
	int rc = st ? 0 : HJ_ERROR;
	/* Read the list first: the repair reads the registry again. */
	while (!rc && (rc = hj_db_step(hub->db, st)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			void *p = realloc(nodes, cap * sizeof *nodes), *q = p ? realloc(want, cap * sizeof *want) : NULL;
			if (p)
				nodes = p;
			if (!q) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				break;
			}
			want = q;
		}
		snprintf(nodes[n], sizeof nodes[n], "%s", (const char *)sqlite3_column_text(st, 0));
		want[n++] = (uint64_t)sqlite3_column_int64(st, 1);
		rc = 0;
	}
	hj_db_release(hub->db, st);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		rc = repair_one(hub->db, repo, nodes[i], want[i]);
	free(nodes);
	free(want);
	return rc < 0 ? rc : 0;
}
