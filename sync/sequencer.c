/*
 * sequencer.c — the hub sequencer: verify, order, fold, sign.
 *
 * Order: within a round, nodes by id, each node's new change sets by seq.
 * Any order would do (the entry records it); this one is reproducible.
 */
#include "sequencer.h"
#include "error.h"
#include "feed.h"
#include "fold.h"
#include "outbox.h"
#include "projection.h"
#include "followed.h"
#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct round {
	hj_node *hub;
	hj_seq_report *rep;
	uint64_t hub_seq;      /* seq the sequence entry will get */
	hj_json *include;      /* the entry's include list */
	const char *node;      /* feed being read */
	uint8_t pk[32];
	uint64_t last;         /* last included seq of this node */
	uint8_t last_hash[32];
	int stop;              /* this feed waits (quarantined, newer version) */
	git_oid last_commit;   /* commit of this node's last sequenced change set */
	int have_commit;
	struct tip {
		char node[HJ_NODE_ID_MAX + 1];
		git_oid commit;
	} *tips;               /* refs/huiji/sequenced/<node> to write after COMMIT */
	size_t ntips;
} round;

static int quarantine(round *r, uint64_t seq, const char *reason, const char *detail, const uint8_t *bytes,
		      size_t len, const git_oid *commit)
{
	uint8_t h[32];
	char oid[GIT_OID_HEXSZ + 1] = "";
	if (bytes)
		hj_hash32(h, bytes, len);
	if (commit)
		git_oid_tostr(oid, sizeof oid, commit);
	sqlite3_stmt *st = hj_db_stmt(r->hub->db,
		"INSERT INTO quarantine(node, seq, hash, reason, detail, evidence, commit_id) "
		"VALUES (:n, :s, :h, :r, :d, :e, :c) ON CONFLICT(node, seq) DO UPDATE SET hash = excluded.hash, "
		"reason = excluded.reason, detail = excluded.detail, evidence = excluded.evidence, "
		"commit_id = excluded.commit_id, resolved_at = NULL");
	if (!st || hj_db_bind_text(st, ":n", r->node) || hj_db_bind_int(st, ":s", (int64_t)seq) ||
	    (bytes ? hj_db_bind_blob(st, ":h", h, 32) : 0) || hj_db_bind_text(st, ":r", reason) ||
	    hj_db_bind_text(st, ":d", detail) || (bytes ? hj_db_bind_blob(st, ":e", bytes, len) : 0) ||
	    hj_db_bind_text(st, ":c", oid[0] ? oid : NULL))
		return HJ_ERROR;
	int rc = hj_db_step(r->hub->db, st);
	sqlite3_reset(st);
	r->rep->quarantined++;
	r->stop = 1;
	return rc < 0 ? rc : 0;
}

static const char *reason_of(int code)
{
	switch (code) {
	case HJ_EBADSIG: return "bad_signature";
	case HJ_ETOOBIG: return "too_big";
	default: return "corrupt";
	}
}

/* Fold one verified change set; append its verdicts to the include list
 * and the followed table. */
static int include_one(round *r, const hj_envelope *e, const uint8_t *bytes, size_t len)
{
	hj_json *payload = NULL, *verdicts = hj_json_new(HJ_JARR), *inc = hj_json_new(HJ_JOBJ);
	hj_buf vtext = HJ_BUF_INIT;
	hj_foldctx ctx;
	hj_verdict v;
	char hash[65];
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	const hj_json *ops = rc ? NULL : hj_fold_payload_ops(payload, &rc);
	if (!ops)
		goto done;
	if (!verdicts || !inc) {
		rc = HJ_ENOMEM;
		goto done;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.actor = e->node;
	ctx.seq = e->seq;
	ctx.self = r->hub->id;
	ctx.self_union = r->hub->union_id;
	ctx.self_is_root = 1;
	for (size_t i = 0; i < ops->count; i++) {
		ctx.index = (uint32_t)i;
		if ((rc = hj_fold_op(r->hub->db, &ctx, ops->items[i], &v)))
			goto done;
		r->rep->ops++;
		if (v.applied) {
			rc = hj_json_append(verdicts, hj_json_str("ok"));
		} else {
			hj_json *rej = hj_json_new(HJ_JARR);
			r->rep->rejected++;
			if (rej && (hj_json_append(rej, hj_json_str(v.reason)) || hj_json_append(rej, hj_json_str(v.detail))))
				rej = NULL;
			rc = hj_json_append(verdicts, rej);
		}
		if (rc)
			goto done;
	}
	hj_hex_encode(hash, e->hash, 32);
	if ((rc = hj_json_write(&vtext, verdicts)) ||
	    (rc = hj_followed_append(r->hub->db, r->hub_seq, e->node, e->seq, e->hash, bytes, len,
				     (const char *)vtext.data)))
		goto done;
	if ((rc = hj_json_set_str(inc, "node", e->node)) || (rc = hj_json_set_int(inc, "seq", (int64_t)e->seq)) ||
	    (rc = hj_json_set_str(inc, "hash", hash)) || (rc = hj_json_set(inc, "verdicts", verdicts)))
		goto done;
	verdicts = NULL;
	rc = hj_json_append(r->include, inc);
	inc = NULL;
	r->rep->change_sets++;
	r->last = e->seq;
	memcpy(r->last_hash, e->hash, 32);
done:
	hj_json_free(payload);
	hj_json_free(verdicts);
	hj_json_free(inc);
	hj_buf_free(&vtext);
	return rc;
}

static int on_change_set(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	round *r = vctx;
	hj_envelope e;
	uint8_t h[32];
	char detail[300];
	int rc;

	if (r->stop || r->include->count >= HJ_SEQ_MAX_INCLUDE)
		return 1;
	if (seq <= r->last) {
		/* Already included: the feed must still carry the same bytes. */
		hj_hash32(h, bytes, len);
		if (seq == r->last && memcmp(h, r->last_hash, 32) != 0) {
			snprintf(detail, sizeof detail, "a second, different change set at seq %" PRIu64
				 " (the hub included another one): a forked feed", seq);
			return quarantine(r, seq, "fork", detail, bytes, len, commit) ? HJ_ERROR : 1;
		}
		if (seq == r->last) {
			git_oid_cpy(&r->last_commit, commit);
			r->have_commit = 1;
		}
		return 0;
	}
	rc = hj_feed_check(&e, bytes, len, r->node, r->pk, r->last, r->last_hash);
	if (rc == HJ_EVERSION) {
		/* Not the county's fault: this hub must be upgraded. Wait. */
		r->stop = 1;
		return 1;
	}
	if (rc) {
		snprintf(detail, sizeof detail, "%s", hj_error_last());
		return quarantine(r, seq, reason_of(rc), detail, bytes, len, commit) ? HJ_ERROR : 1;
	}
	/* All ops of a change set or none: a later op from a newer huiji
	 * must not leave the earlier ones folded. */
	if ((rc = hj_db_exec(r->hub->db, "SAVEPOINT include_cs")) == 0) {
		rc = include_one(r, &e, bytes, len);
		if (!rc) {
			git_oid_cpy(&r->last_commit, commit);
			r->have_commit = 1;
		}
		if (rc && hj_db_exec(r->hub->db, "ROLLBACK TO include_cs") == 0)
			hj_db_exec(r->hub->db, "RELEASE include_cs");
		else if (!rc)
			rc = hj_db_exec(r->hub->db, "RELEASE include_cs");
	}
	hj_envelope_free(&e);
	if (rc == HJ_EVERSION) {
		r->stop = 1;
		return 1;
	}
	return rc;
}

/* The feed no longer contains the history the hub sequenced (rewritten or
 * forked): find the first seq whose change set differs from the one the
 * hub included, and quarantine that one as the evidence. */
typedef struct diverge {
	round *r;
	int found;
} diverge;

static int on_diverge(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	diverge *d = vctx;
	round *r = d->r;
	uint8_t h[32], want[32];
	char detail[300];
	if (seq > r->last)
		return 1;
	sqlite3_stmt *st = hj_db_stmt(r->hub->db, "SELECT hash FROM followed WHERE node = :n AND seq = :s");
	if (!st || hj_db_bind_text(st, ":n", r->node) || hj_db_bind_int(st, ":s", (int64_t)seq))
		return HJ_ERROR;
	int rc = hj_db_step(r->hub->db, st);
	int have = rc == 1 && sqlite3_column_bytes(st, 0) == 32;
	if (have)
		memcpy(want, sqlite3_column_blob(st, 0), 32);
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	hj_hash32(h, bytes, len);
	if (have && memcmp(h, want, 32) == 0)
		return 0;
	snprintf(detail, sizeof detail, "seq %" PRIu64 " differs from the change set the hub sequenced: "
		 "history rewritten or forked (e.g. a node restored from an old copy)", seq);
	d->found = 1;
	return quarantine(r, seq, "fork", detail, bytes, len, commit) ? HJ_ERROR : 1;
}

static void sequenced_ref(char *out, size_t outsz, const char *node)
{
	snprintf(out, outsz, "refs/huiji/sequenced/%s", node);
}

/* Remember where this node's sequenced history ends, for after COMMIT. */
static int note_tip(round *r)
{
	struct tip *t = realloc(r->tips, (r->ntips + 1) * sizeof *t);
	if (!t)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	r->tips = t;
	snprintf(t[r->ntips].node, sizeof t[r->ntips].node, "%s", r->node);
	git_oid_cpy(&t[r->ntips].commit, &r->last_commit);
	r->ntips++;
	return 0;
}

/* Write refs/huiji/sequenced/<node>: the history the hub vouches for, which
 * counties and auditors fetch. Only the hub writes it (the hook refuses
 * pushes outside refs/huiji/feeds/), so a fork pushed to a feed ref cannot
 * take sequenced change sets away from anyone. */
static int write_tips(hj_gitrepo *repo, const round *r)
{
	for (size_t i = 0; i < r->ntips; i++) {
		char ref[160];
		int rc;
		sequenced_ref(ref, sizeof ref, r->tips[i].node);
		if ((rc = hj_gitrepo_ref_set(repo, ref, &r->tips[i].commit, "huiji: sequenced")))
			return rc;
	}
	return 0;
}

/* Nodes with a feed ref in the hub repository, sorted (git iterates refs
 * in name order). */
typedef struct feed_list {
	char **v;
	size_t n, cap;
} feed_list;

static int add_feed(void *ctx, const char *name, const git_oid *target)
{
	feed_list *l = ctx;
	(void)target;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **p = realloc(l->v, cap * sizeof *p);
		if (!p)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		l->v = p;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(name + strlen("refs/huiji/feeds/"))))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	l->n++;
	return 0;
}

static int list_feeds(hj_gitrepo *repo, char ***out, size_t *n)
{
	feed_list l = {0};
	int rc = hj_gitrepo_ref_foreach(repo, "refs/huiji/feeds/*", add_feed, &l);
	if (rc) {
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i]);
		free(l.v);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

static int one_round(hj_node *hub, hj_gitrepo *repo, hj_seq_report *rep, int *more)
{
	char **feeds = NULL;
	size_t nfeeds = 0;
	round r = {0};
	hj_json *entry_ops = NULL;
	hj_buf payload = HJ_BUF_INIT;
	uint8_t last_hash[32], digest[32];
	int rc = list_feeds(repo, &feeds, &nfeeds);
	*more = 0;
	if (rc)
		return rc;
	r.hub = hub;
	r.rep = rep;
	if (!(r.include = hj_json_new(HJ_JARR))) {
		rc = HJ_ENOMEM;
		goto done;
	}
	if ((rc = hj_db_exec(hub->db, "BEGIN IMMEDIATE")))
		goto done;
	if ((rc = hj_feed_last(hub->db, &r.hub_seq, last_hash)))
		goto rollback;
	r.hub_seq++;
	for (size_t i = 0; i < nfeeds && r.include->count < HJ_SEQ_MAX_INCLUDE; i++) {
		char ref[160], *pkhex;
		git_oid tip;
		uint64_t tipseq;
		int64_t q = 0;
		r.node = feeds[i];
		r.stop = 0;
		if (!feeds[i] || hj_node_id_check(feeds[i]) || strcmp(feeds[i], hub->id) == 0)
			continue;
		if ((rc = hj_db_get_int(hub->db, "SELECT count(*) FROM quarantine WHERE node = :n AND resolved_at IS NULL", ":n",
					   feeds[i], &q)))
			goto rollback;
		if (q)
			continue; /* waits until an operator resolves it */
		pkhex = hj_db_get_text(hub->db, "SELECT pubkey FROM node WHERE id = :n", ":n", feeds[i]);
		if (!pkhex) {
			rep->waiting++; /* not enrolled yet: its change sets wait */
			continue;
		}
		rc = hj_hex_decode(r.pk, 32, pkhex);
		free(pkhex);
		if (rc)
			goto rollback;
		if ((rc = hj_followed_last(hub->db, feeds[i], &r.last, r.last_hash)))
			goto rollback;
		snprintf(ref, sizeof ref, "refs/huiji/feeds/%s", feeds[i]);
		rc = hj_gitfeed_tip(repo, ref, &tipseq, &tip);
		if (rc == 0 && tipseq < r.last) {
			char detail[200];
			snprintf(detail, sizeof detail, "feed rewound: the hub included up to seq %" PRIu64
				 ", the ref now ends at %" PRIu64, r.last, tipseq);
			if ((rc = quarantine(&r, tipseq + 1, "rewound", detail, NULL, 0, &tip)))
				goto rollback;
			continue;
		}
		/* The feed must still contain what the hub sequenced: walk down
		 * from its tip to refs/huiji/sequenced/<node> (only what is new
		 * is read); not meeting it means rewritten or forked. */
		char sref[160];
		git_oid seqd;
		sequenced_ref(sref, sizeof sref, feeds[i]);
		int have_seqd = 0;
		if (rc == 0 && r.last) {
			int grc = hj_gitrepo_ref_get(&seqd, repo, sref);
			if (grc && grc != HJ_ENOTFOUND) {
				rc = grc;
				goto rollback;
			}
			have_seqd = grc == 0;
		}
		r.have_commit = 0;
		if (have_seqd) {
			git_oid_cpy(&r.last_commit, &seqd);
			r.have_commit = 1;
			rc = hj_gitfeed_walk_since(repo, &tip, feeds[i], &seqd, r.last, on_change_set, &r);
			if (rc == HJ_ECONFLICT) {
				diverge d = {&r, 0};
				r.have_commit = 0;
				rc = hj_gitfeed_walk(repo, &tip, feeds[i], 0, on_diverge, &d);
				if (rc == 1 || (rc == 0 && !d.found))
					rc = d.found ? 0 : quarantine(&r, r.last, "fork", "the feed does not contain the "
								      "history the hub sequenced", NULL, 0, &tip);
				if (rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND)
					rc = quarantine(&r, r.last, "fork", hj_error_last(), NULL, 0, &tip);
				if (rc)
					goto rollback;
				continue;
			}
		} else if (rc == 0 && tipseq > r.last) {
			rc = hj_gitfeed_walk(repo, &tip, feeds[i], r.last ? r.last - 1 : 0, on_change_set, &r);
		} else if (rc == 0 && tipseq == r.last && r.last) {
			rc = hj_gitfeed_walk(repo, &tip, feeds[i], r.last - 1, on_change_set, &r);
		}
		if (rc == 1)
			rc = 0;
		if (rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND) {
			/* The git objects themselves are malformed. */
			char detail[300];
			snprintf(detail, sizeof detail, "%s", hj_error_last());
			rc = quarantine(&r, r.last + 1, "malformed_commit", detail, NULL, 0, &tip);
		}
		if (!rc && r.have_commit)
			rc = note_tip(&r);
		if (rc)
			goto rollback;
		if (r.include->count >= HJ_SEQ_MAX_INCLUDE)
			*more = 1;
	}
	if (r.include->count == 0) {
		if (!(rc = hj_db_exec(hub->db, "COMMIT")))
			rc = write_tips(repo, &r); /* repairs a crash after a COMMIT */
		goto done;
	}
	if ((rc = hj_projection_digest(hub->db, digest)))
		goto rollback;
	char dhex[65];
	hj_hex_encode(dhex, digest, 32);
	hj_json *seqop = hj_json_new(HJ_JOBJ);
	entry_ops = hj_json_new(HJ_JARR);
	if (!seqop || !entry_ops || hj_json_set_str(seqop, "op", "hub.sequence") ||
	    hj_json_set_int(seqop, "v", HJ_OP_VERSION) || hj_json_set(seqop, "include", r.include) ||
	    hj_json_set_str(seqop, "state", dhex)) {
		r.include = NULL;
		hj_json_free(seqop);
		rc = HJ_ENOMEM;
		goto rollback;
	}
	r.include = NULL;
	if ((rc = hj_json_append(entry_ops, seqop)))
		goto rollback;
	hj_buf_puts(&payload, "{\"v\":1,\"ops\":");
	if ((rc = hj_json_write(&payload, entry_ops)))
		goto rollback;
	hj_buf_puts(&payload, "}");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((rc = hj_feed_append(hub->db, hub->id, r.hub_seq, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
				 payload.data, payload.len, hub->pk, hub->sk, digest)))
		goto rollback;
	if ((rc = hj_db_exec(hub->db, "COMMIT")))
		goto done;
	rep->entries++;
	rc = write_tips(repo, &r);
	goto done;
rollback:
	hj_db_exec(hub->db, "ROLLBACK");
done:
	for (size_t i = 0; i < nfeeds; i++)
		free(feeds[i]);
	free(feeds);
	hj_json_free(r.include);
	free(r.tips);
	hj_json_free(entry_ops);
	hj_buf_free(&payload);
	return rc;
}

int hj_hub_sequence(hj_node *hub, hj_gitrepo *repo, hj_seq_report *rep)
{
	int more = 1, rc;
	memset(rep, 0, sizeof *rep);
	if (!hub->is_root)
		return hj_error_set(HJ_EINVALID, "%s is not a hub node", hub->id);
	if ((rc = hj_outbox_flush(hub, repo, NULL)))
		return rc;
	while (more && !(rc = one_round(hub, repo, rep, &more)))
		;
	if (!rc)
		rc = hj_outbox_flush(hub, repo, NULL);
	return rc;
}
