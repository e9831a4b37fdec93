/*
 * sequencer.c — the hub sequencer: verify, order, fold, sign.
 *
 * Order: within a round, nodes by id, each node's new change sets by seq.
 * Any order would do (the entry records it); this one is reproducible.
 *
 * Crashes: the registry is the commit point of a round and the one source
 * of truth; the git refs written after its COMMIT (the sequenced refs,
 * the hub feed) are repaired from it at the start of every pass, under a
 * lock only one sequencer holds, so a pass killed anywhere is continued
 * by the next (tests/unit/test_hub_crash.c, the HUIJI_KILL_AT points).
 */
#include "sequencer.h"
#include "clock.h"
#include "enrolled.h"
#include "error.h"
#include "feed.h"
#include "fold.h"
#include "outbox.h"
#include "peer.h"
#include "peer_dup.h"
#include "province_transfer.h"
#include "projection.h"
#include "followed.h"
#include "hub_entry.h"
#include "hook.h"
#include "inbox.h"
#include "wraps.h"
#include "killpoint.h"
#include "lockfile.h"
#include "quarantine.h"
#include "rules.h"
#include "replay.h"
#include "seqref.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct round {
	hj_node *hub;
	hj_seq_report *rep;
	const hj_progress *progress; /* the caller's, or NULL */
	uint64_t hub_seq;      /* seq the sequence entry will get */
	hj_hub_entry_enc enc;  /* the entry being built */
	const char *node;      /* feed being read */
	uint8_t pk[32];
	uint64_t last;         /* last included seq of this node */
	uint8_t last_hash[32];
	int stop;              /* this feed waits (quarantined, newer version) */
	int full;              /* the entry has no room for the next change set */
	git_oid last_commit;   /* commit of this node's last sequenced change set */
	int have_commit;
	struct tip {
		char node[HJ_NODE_ID_MAX + 1];
		git_oid commit;
	} *tips;               /* refs/huiji/sequenced/<node> to write after COMMIT */
	size_t ntips;
	struct tip *squats;    /* squatted feeds (commit = their seq 1) to set aside after COMMIT */
	size_t nsquats;
	hj_peer_lookup *peers; /* the peer provinces' registries (node/peer_dup.h) */
} round;

static int quarantine(round *r, uint64_t seq, const char *reason, const char *detail, const uint8_t *bytes,
		      size_t len, const git_oid *commit)
{
	int rc = hj_quarantine_add(r->hub->db, r->node, seq, reason, detail, bytes, len, commit);
	r->rep->quarantined++;
	r->stop = 1;
	return rc;
}

/* Quarantine with evidence although the caller holds no change set
 * bytes (a rewound ref, unreadable git objects): what `commit` carries if
 * it can be read, else a record of the commit and what was wrong with it.
 * Every quarantine row keeps some evidence (issue 7 item 7). */
static int quarantine_at(round *r, hj_gitrepo *repo, uint64_t seq, const char *reason, const char *detail,
			 const git_oid *commit)
{
	hj_buf ev = HJ_BUF_INIT;
	char oid[GIT_OID_HEXSZ + 1] = "none";
	int rc = commit ? hj_gitfeed_read(&ev, repo, commit) : HJ_ENOTFOUND;
	if (rc && rc != HJ_ENOTFOUND && rc != HJ_ECORRUPT)
		goto done; /* an I/O error is no decision */
	if (rc) {
		if (commit)
			git_oid_tostr(oid, sizeof oid, commit);
		hj_buf_reset(&ev);
		hj_buf_printf(&ev, "huiji quarantine evidence: node %s seq %" PRIu64 ", commit %s, "
			      "no readable change set: %s", r->node, seq, oid, detail);
	}
	rc = ev.rc ? ev.rc : quarantine(r, seq, reason, detail, ev.data, ev.len, commit);
done:
	hj_buf_free(&ev);
	return rc;
}

static const char *reason_of(int code)
{
	switch (code) {
	case HJ_EBADSIG: return "bad_signature";
	case HJ_ETOOBIG: return "too_big";
	default: return "corrupt";
	}
}

/* Fold one verified change set; add it with its verdicts to the entry
 * and to the followed table. */
static int include_one(round *r, const hj_envelope *e, const uint8_t *bytes, size_t len)
{
	hj_json *payload = NULL;
	hj_buf vtext = HJ_BUF_INIT, ktext = HJ_BUF_INIT;
	hj_idset touched = {0};
	int64_t pos = 0;
	hj_foldctx ctx;
	hj_verdict v;
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	const hj_json *ops = rc ? NULL : hj_fold_payload_ops(payload, &rc);
	size_t cap = r->enc.max_bytes ? r->enc.max_bytes : HJ_HUB_ENTRY_MAX_BYTES;
	uint64_t nrejected = 0;
	if (!ops)
		goto done;
	/* Every verdict takes at least 5 bytes ("ok",): a change set of more
	 * tiny ops than that can never fit; say so before folding them. */
	if (ops->count > cap / 5) {
		rc = hj_error_set(HJ_ETOOBIG, "%zu ops: their verdicts cannot fit in a hub entry (%zu bytes)", ops->count,
				  cap);
		goto done;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.actor = e->node;
	ctx.seq = e->seq;
	ctx.self = r->hub->id;
	ctx.self_union = r->hub->union_id;
	ctx.self_is_root = 1;
	ctx.rules = r->enc.rules;
	ctx.now_ms = r->enc.at_ms;
	ctx.person_secret = r->hub->person_secret;
	ctx.unseal = &r->hub->unsealer; /* every seal must open for the hub */
	ctx.peers = r->peers;
	hj_followed_rules at = {r->enc.rules, r->enc.at_ms};
	for (size_t i = 0; i < ops->count; i++) {
		ctx.index = (uint32_t)i;
		/* Who must be given it: judged before the op changes the rows;
		 * an op naming no person key, once the fold has given it one
		 * (hj_touch_keyed_after). */
		int after = hj_touch_keyed_after(ops->items[i]);
		if (r->enc.version >= 3 && !after && (rc = hj_touch_add_op(&touched, r->hub->db, ops->items[i], NULL)))
			goto done;
		if ((rc = hj_fold_op(r->hub->db, &ctx, ops->items[i], &v)) ||
		    (rc = hj_peer_lookup_note(r->peers, r->hub->db, &ctx, &v)))
			goto done;
		if (r->enc.version >= 3 && after &&
		    (rc = hj_touch_add_op(&touched, r->hub->db, ops->items[i], v.person_key[0] ? v.person_key : NULL)))
			goto done;
		nrejected += !v.applied;
		if ((rc = hj_hub_entry_enc_verdict(&r->enc, &v)))
			goto done;
	}
	if ((rc = hj_hub_entry_enc_verdicts_text(&vtext, &r->enc)) || (rc = hj_hub_entry_enc_keys_text(&ktext, &r->enc)) ||
	    (rc = hj_followed_append(r->hub->db, &at, r->hub_seq, e->node, e->seq, e->hash, bytes, len,
				     vtext.len ? (const char *)vtext.data : NULL,
				     ktext.len ? (const char *)ktext.data : NULL)) ||
	    (r->enc.version >= 3 &&
	     ((rc = hj_db_get_int(r->hub->db, "SELECT max(pos) FROM followed", NULL, NULL, &pos)) ||
	      (rc = hj_inbox_deliver(r->hub->db, &r->enc, &touched, pos, r->hub_seq, e->node, e->seq,
					&r->hub->unsealer, ops)) ||
	      (rc = hj_rewrap_auditors(r->hub->db, &r->hub->unsealer, ops, r->hub_seq, r->enc.at_ms)))) ||
	    (rc = hj_hub_entry_enc_add(&r->enc, e->node, e->seq, e->hash)))
		goto done;
	r->rep->change_sets++;
	hj_progress_report(r->progress, "change sets sequenced", r->rep->change_sets, 0);
	r->rep->ops += ops->count;
	r->rep->rejected += nrejected;
	r->last = e->seq;
	memcpy(r->last_hash, e->hash, 32);
done:
	hj_hub_entry_enc_discard(&r->enc); /* verdicts of a change set not included */
	hj_idset_free(&touched);
	hj_json_free(payload);
	hj_buf_free(&vtext);
	hj_buf_free(&ktext);
	return rc;
}

/* The change set's verdicts do not fit in what is left of this entry: the
 * entry is written without it and the next one starts with it. Alone in
 * an empty entry it can never fit: quarantine that one change set (the
 * hub goes on for every other feed) rather than stop the province. */
static int too_big(round *r, uint64_t seq, const uint8_t *bytes, size_t len, const git_oid *commit)
{
	char detail[300];
	if (r->enc.count) {
		r->full = 1;
		return 1;
	}
	snprintf(detail, sizeof detail, "%s", hj_error_last());
	int rc = quarantine(r, seq, "too_big", detail, bytes, len, commit);
	return rc ? rc : 1;
}

static int on_change_set(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	round *r = vctx;
	hj_envelope e;
	char detail[400];
	int rc;

	if (r->stop || r->full || r->enc.count >= HJ_SEQ_MAX_INCLUDE)
		return 1;
	/* Only seqs above r->last arrive: the walk starts at the sequenced
	 * ref, which the pass repaired to r->last (walk_feed). */
	rc = hj_feed_check(&e, bytes, len, r->node, r->pk, r->last, r->last_hash);
	if (rc == HJ_EVERSION) {
		/* Not the county's fault: this hub must be upgraded. Wait. */
		r->stop = 1;
		return 1;
	}
	if (rc == HJ_EBADSIG && seq == 1 && r->last == 0) {
		/* Someone wrote this id's feed before the node was enrolled
		 * (the hook could check only its shape then). Its history is
		 * quarantined as `squatter`, and, so the real county is not
		 * locked out, set aside after COMMIT: the feed ref moves to
		 * refs/huiji/quarantined/<node> (hj_quarantine_set_aside), and
		 * the county's own seq 1 is then an ordinary first push. The row
		 * is resolved by that, so the feed does not wait for an
		 * operator. Nothing of this node was sequenced, so nothing the
		 * hub vouches for moves; only seq 1 was read. */
		snprintf(detail, sizeof detail, "seq 1 is not signed by the key enrolled for %s (%s): the id was "
			 "taken before its enrolment; the feed is set aside so the node can push its own", r->node,
			 hj_error_last());
		struct tip *t = realloc(r->squats, (r->nsquats + 1) * sizeof *t);
		if (!t)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		r->squats = t;
		snprintf(t[r->nsquats].node, sizeof t->node, "%s", r->node);
		git_oid_cpy(&t[r->nsquats++].commit, commit);
		if (!(rc = quarantine(r, seq, "squatter", detail, bytes, len, commit)))
			rc = hj_quarantine_mark_resolved(r->hub->db, r->node, seq);
		return rc ? rc : 1;
	}
	if (rc) {
		snprintf(detail, sizeof detail, "%s", hj_error_last());
		rc = quarantine(r, seq, reason_of(rc), detail, bytes, len, commit);
		return rc ? rc : 1;
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
	if (rc == HJ_ETOOBIG)
		return too_big(r, seq, bytes, len, commit);
	return rc;
}

/* The feed no longer contains the history the hub sequenced (rewritten or
 * forked): find the first seq whose change set differs from the one the
 * hub included, and quarantine that one as the evidence. */
typedef struct diverge {
	round *r;
	int found;
	int fork_ref; /* walking refs/huiji/forks/<node>, not the feed */
} diverge;

static int on_diverge(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	diverge *d = vctx;
	round *r = d->r;
	uint8_t h[32], want[32];
	char detail[300];
	if (seq > r->last)
		return 1;
	int rc = hj_followed_hash(want, r->hub->db, r->node, seq), have = rc == 0;
	if (rc && rc != HJ_ENOTFOUND)
		return rc;
	hj_hash32(h, bytes, len);
	if (have && memcmp(h, want, 32) == 0)
		return 0;
	if (d->fork_ref && hj_envelope_verify(bytes, len, r->pk) != 0)
		return 1; /* not signed by the node: no evidence against it */
	if (d->fork_ref)
		snprintf(detail, sizeof detail, "seq %" PRIu64 " differs from the change set the hub sequenced: "
			 "a second history signed by the node, sent as refs/huiji/forks/%s (a copy restored "
			 "from an old backup that went on writing)", seq, r->node);
	else
		snprintf(detail, sizeof detail, "seq %" PRIu64 " differs from the change set the hub sequenced: "
			 "history rewritten or forked (e.g. a node restored from an old copy)", seq);
	d->found = 1;
	rc = quarantine(r, seq, "fork", detail, bytes, len, commit);
	return rc ? rc : 1;
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
		int rc = hj_seqref_set(repo, r->tips[i].node, &r->tips[i].commit);
		if (rc)
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

/* The node's enrolled key, if any: 1 = read this feed, 0 = it waits
 * (quarantined until an operator resolves it, or not enrolled yet). */
static int feed_ready(round *r, const char *node)
{
	int64_t q = 0;
	int rc = hj_quarantine_open_count(&q, r->hub->db, node);
	if (rc || q)
		return rc;
	rc = hj_enrolled_key(r->pk, r->hub->db, node);
	if (rc == HJ_ENOTFOUND) {
		r->rep->waiting++; /* not enrolled yet: its change sets wait */
		return 0;
	}
	return rc ? rc : 1; /* a failed lookup is not "not enrolled" */
}

/* The feed (tip at tipseq) no longer passes through what the hub
 * sequenced: name the first seq that differs, with its change set as the
 * evidence. If every seq it still holds is the hub's, it was rewound:
 * "rewound" at the first seq it lost, its tip as the evidence. */
static int quarantine_divergence(round *r, hj_gitrepo *repo, const git_oid *tip, uint64_t tipseq)
{
	diverge d = {r, 0, 0};
	char detail[400];
	r->have_commit = 0;
	int rc = hj_gitfeed_walk(repo, tip, r->node, 0, on_diverge, &d);
	if (d.found) /* quarantined where it departs (1), or the error recording it */
		return rc == 1 ? 0 : rc;
	if (rc == 1) /* walked past the sequenced seqs: all of them the hub's */
		rc = 0;
	if (rc == 0 && tipseq < r->last) {
		snprintf(detail, sizeof detail, "feed rewound: the hub included up to seq %" PRIu64
			 ", the ref now ends at %" PRIu64, r->last, tipseq);
		return quarantine_at(r, repo, tipseq + 1, "rewound", detail, tip);
	}
	if (rc == 0)
		return quarantine_at(r, repo, r->last, "fork", "the feed does not contain the history the hub sequenced",
				     tip);
	if (rc != HJ_ECORRUPT && rc != HJ_ENOTFOUND)
		return rc;
	snprintf(detail, sizeof detail, "%s", hj_error_last());
	return quarantine_at(r, repo, r->last, "fork", detail, tip);
}

/* The git objects themselves are malformed (rc HJ_ECORRUPT/HJ_ENOTFOUND
 * from reading them): quarantine; any other rc passes through. */
static int malformed(round *r, hj_gitrepo *repo, int rc, const git_oid *tip)
{
	char detail[300];
	if (rc != HJ_ECORRUPT && rc != HJ_ENOTFOUND)
		return rc;
	snprintf(detail, sizeof detail, "%s", hj_error_last());
	return quarantine_at(r, repo, r->last + 1, "malformed_commit", detail, tip);
}

/* Read the new change sets of r->node's feed into the entry. The feed
 * must still contain what the hub sequenced: refs/huiji/sequenced/<node>
 * names the commit of r->last (hj_seqref_repair puts it there from the
 * registry whenever the feed still holds that history), and the walk
 * goes down from the tip to it, so only what is new is read. A feed that
 * no longer holds it was rewritten or forked. */
static int walk_feed(round *r, hj_gitrepo *repo, const git_oid *tip, uint64_t tipseq)
{
	git_oid seqd;
	int rc = 0;
	r->have_commit = 0;
	if (r->last) {
		rc = hj_seqref_repair(&seqd, r->hub->db, repo, r->node, r->last, r->last_hash);
		if (rc == HJ_ENOTFOUND)
			return quarantine_divergence(r, repo, tip, tipseq);
		if (rc)
			return rc;
		rc = hj_gitfeed_walk_since(repo, tip, r->node, &seqd, r->last, on_change_set, r);
		if (rc == HJ_ECONFLICT)
			return quarantine_divergence(r, repo, tip, tipseq);
	} else {
		rc = hj_gitfeed_walk(repo, tip, r->node, 0, on_change_set, r);
	}
	rc = malformed(r, repo, rc == 1 ? 0 : rc, tip);
	if (!rc && r->have_commit) /* moved: write the ref after COMMIT */
		rc = note_tip(r);
	return rc;
}

/* A fork the node itself sent (refs/huiji/forks/<node>, sync.c: a copy
 * restored from an old backup): its first seq that differs from what the
 * hub sequenced is quarantined as a fork, its change set the evidence, and
 * the feed waits (DESIGN §5) until the operator resolves it (the reset
 * removes the fork ref). A fork departing only above the sequenced
 * history is looked at again in later rounds, once the hub has sequenced
 * that far. Only a change set signed by the node counts: a fork ref
 * written through a local path by anyone must not hold a feed. */
static int check_fork(round *r, hj_gitrepo *repo)
{
	char ref[160];
	git_oid tip;
	diverge d = {r, 0, 1};
	snprintf(ref, sizeof ref, "refs/huiji/forks/%s", r->node);
	int rc = hj_gitrepo_ref_get(&tip, repo, ref);
	if (rc == HJ_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	rc = hj_gitfeed_walk(repo, &tip, r->node, 0, on_diverge, &d);
	if (d.found)
		return rc == 1 ? 0 : rc;
	if (rc == 1 || rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND)
		return 0; /* no signed second history (yet): nothing holds the feed */
	return rc;
}

/* One node's feed, inside the round's transaction. */
static int read_feed(round *r, hj_gitrepo *repo, const char *node)
{
	char ref[160];
	git_oid tip;
	uint64_t tipseq;
	int rc;
	r->node = node;
	r->stop = 0;
	if (!node || hj_node_id_check(node) || strcmp(node, r->hub->id) == 0)
		return 0;
	if ((rc = feed_ready(r, node)) <= 0)
		return rc;
	if ((rc = hj_followed_last(r->hub->db, node, &r->last, r->last_hash)))
		return rc;
	if (r->last && ((rc = check_fork(r, repo)) || r->stop))
		return rc;
	snprintf(ref, sizeof ref, "refs/huiji/feeds/%s", node);
	if ((rc = hj_gitfeed_tip(repo, ref, &tipseq, &tip))) {
		/* Name the commit the ref points at, if it points at all. */
		int named = hj_gitrepo_ref_get(&tip, repo, ref) == 0;
		return malformed(r, repo, rc, named ? &tip : NULL);
	}
	if (tipseq < r->last) /* shorter than what was sequenced: where does it depart? */
		return quarantine_divergence(r, repo, &tip, tipseq);
	return walk_feed(r, repo, &tip, tipseq);
}

/* Sign the entry as the hub's next change set and commit the round. */
static int write_entry(round *r)
{
	hj_buf payload = HJ_BUF_INIT;
	uint8_t digest[32];
	int rc;
	if ((rc = hj_projection_digest_for(r->hub->db, r->enc.rules, digest)) ||
	    (rc = hj_hub_entry_enc_finish(&payload, &r->enc, digest)))
		goto done;
	rc = hj_feed_append(r->hub->db, r->hub->id, r->hub_seq, r->enc.at_ms, payload.data, payload.len, r->hub->pk,
			    r->hub->sk, digest);
done:
	hj_buf_free(&payload);
	return rc;
}

/* A hub that wrote entries under newer rules than this huiji knows must
 * not go on under older ones (a downgrade would re-decide differently). */
static int rules_check(hj_db *db)
{
	hj_followed_rules last;
	int rc = hj_followed_rules_now(&last, db);
	if (!rc && last.rules > HJ_RULES_VERSION)
		rc = hj_error_set(HJ_EVERSION, "this hub's entries were decided under rules version %" PRIu32 "; this "
				  "huiji knows up to %d: upgrade huiji", last.rules, HJ_RULES_VERSION);
	return rc;
}

static int one_round(hj_node *hub, hj_gitrepo *repo, const hj_seq_opts *o, hj_seq_report *rep, int *more)
{
	char **feeds = NULL;
	size_t nfeeds = 0;
	round r = {0};
	uint8_t last_hash[32];
	int rc = list_feeds(repo, &feeds, &nfeeds);
	*more = 0;
	if (rc)
		return rc;
	r.hub = hub;
	r.rep = rep;
	r.progress = o ? &o->progress : NULL;
	/* The entry's time: the date rules' "now" for all it includes, and its
	 * envelope's created_at. */
	hj_hub_entry_enc_init(&r.enc, hj_clock_ms());
	r.enc.max_bytes = o && o->max_entry_bytes ? o->max_entry_bytes : HJ_HUB_ENTRY_MAX_BYTES;
	if ((rc = hj_peer_lookup_open(&r.peers, hub->db, hub->dir)))
		goto done;
	if (o && o->entry_version == 1) {
		r.enc.version = 1;
		r.enc.rules = 1;
	}
	if ((rc = hj_db_exec(hub->db, "BEGIN IMMEDIATE")))
		goto done;
	if ((rc = rules_check(hub->db)))
		goto rollback;
	if ((rc = hj_feed_last(hub->db, &r.hub_seq, last_hash)))
		goto rollback;
	r.hub_seq++;
	if (r.enc.version >= 3 && ((rc = hj_inbox_backfill(hub, &r.enc, r.hub_seq)) ||
				   (rc = hj_rewrap_backfill_auditors(hub->db, &hub->unsealer, r.hub_seq, r.enc.at_ms))))
		goto rollback;
	for (size_t i = 0; i < nfeeds && r.enc.count < HJ_SEQ_MAX_INCLUDE && !r.full; i++)
		if ((rc = read_feed(&r, repo, feeds[i])))
			goto rollback;
	*more = r.enc.count >= HJ_SEQ_MAX_INCLUDE || r.full;
	/* An entry with nothing included may still begin a node's inbox. */
	size_t ndl = 0;
	const hj_hub_delivery *dl = hj_hub_entry_enc_inbox(&r.enc, &ndl);
	if ((r.enc.count || ndl) &&
	    ((rc = write_entry(&r)) || (rc = hj_followed_rules_set(hub->db, r.enc.rules))))
		goto rollback;
	hj_killpoint("hub-before-commit");
	if ((rc = hj_db_exec(hub->db, "COMMIT")))
		goto rollback; /* SQLite may leave it open after a failed COMMIT */
	hj_killpoint("hub-committed");
	rep->entries += r.enc.count > 0 || ndl > 0;
	rc = write_tips(repo, &r); /* after COMMIT: a crash before is repaired by the next pass */
	for (size_t i = 0; !rc && i < ndl; i++) /* before the hub feed names them */
		if (!(rc = hj_rewrap_repair(hub, repo, dl[i].node))) /* wraps before what they open */
			rc = hj_inbox_repair(hub, repo, dl[i].node);
	if (!rc)
		rc = hj_rewrap_repair_auditors(hub, repo);
	for (size_t i = 0; !rc && i < r.nsquats; i++)
		rc = hj_quarantine_set_aside(repo, r.squats[i].node, &r.squats[i].commit);
	goto done;
rollback:
	hj_db_exec(hub->db, "ROLLBACK");
done:
	for (size_t i = 0; i < nfeeds; i++)
		free(feeds[i]);
	free(feeds);
	hj_hub_entry_enc_free(&r.enc);
	free(r.tips);
	free(r.squats);
	hj_peer_lookup_free(r.peers);
	return rc;
}

#define FEED_LOCK_STALE_S 60 /* git holds a ref lock for one rename (ms); a
				* minute-old one belongs to a dead receive-pack */

/* Clear the stale ref locks in <repo>/<dir> (one level: node ids have no
 * '/'). */
static int clear_ref_locks(hj_gitrepo *repo, const char *dir, int64_t min_age_s)
{
	char path[4096];
	snprintf(path, sizeof path, "%s%s", hj_gitrepo_path(repo), dir);
	return hj_lockfile_clear_stale(path, 0, min_age_s);
}

/* One sequencer per hub at a time: the sequenced refs are written after
 * each round's COMMIT, so two passes interleaving could move a ref back
 * to an older round's tip. A second `hub run` waits for the pass in
 * progress. Only the sequencer writes refs/huiji/sequenced/, and only
 * under this lock, so a ref lock file found there now was left by a
 * process killed mid-write (libgit2 cannot clean up after SIGKILL) and
 * would fail every later write of that ref: it is removed. A feed ref's
 * lock is git receive-pack's and may be live, so only one older than
 * FEED_LOCK_STALE_S goes (a killed receive-pack's would refuse that
 * county's every push). The inboxes and the wraps refs are the
 * sequencer's alone too. The hub's own feed ref has the outbox's lock and
 * clean-up. Returns the fd to close, or < 0. */
static int take_sequencer_lock(hj_gitrepo *repo)
{
	char path[4096];
	snprintf(path, sizeof path, "%shuiji-sequencer.lock", hj_gitrepo_path(repo));
	int rc, fd = hj_lockfile_take(path, 1);
	if (fd < 0)
		return fd;
	if ((rc = clear_ref_locks(repo, "refs/huiji/sequenced", 0)) ||
	    (rc = clear_ref_locks(repo, "refs/huiji/inbox", 0)) || (rc = clear_ref_locks(repo, "refs/huiji/wraps", 0)) ||
	    (rc = clear_ref_locks(repo, "refs/huiji/feeds", FEED_LOCK_STALE_S)) || (rc = hj_hub_repo_no_autogc(repo))) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The git side of what the registry committed: every sequenced ref and
 * inbox, then the hub feed (entries a killed pass signed but did not
 * write). In that order, as a round writes them: a county fetching
 * meanwhile (git lists refs/huiji/hub/ before refs/huiji/inbox/ and
 * refs/huiji/sequenced/) never sees an entry naming a change set its
 * sequenced ref or inbox does not reach yet, which its sync would refuse.
 * Under the sequencer lock. */
static int publish_locked(hj_node *hub, hj_gitrepo *repo)
{
	int rc = hj_seqref_repair_all(hub, repo);
	if (!rc)
		rc = hj_rewrap_repair_all(hub, repo);
	if (!rc)
		rc = hj_inbox_repair_all(hub, repo);
	return rc ? rc : hj_outbox_flush(hub, repo, NULL);
}

int hj_hub_publish(hj_node *hub, hj_gitrepo *repo)
{
	int lock, rc;
	if (!hub->is_root)
		return hj_error_set(HJ_EINVALID, "%s is not a hub node", hub->id);
	if ((lock = take_sequencer_lock(repo)) < 0)
		return lock;
	rc = publish_locked(hub, repo);
	close(lock);
	return rc;
}

int hj_hub_sequence(hj_node *hub, hj_gitrepo *repo, hj_seq_report *rep)
{
	return hj_hub_sequence_opts(hub, repo, NULL, rep);
}

int hj_hub_sequence_opts(hj_node *hub, hj_gitrepo *repo, const hj_seq_opts *o, hj_seq_report *rep)
{
	int more = 1, rc, lock;
	memset(rep, 0, sizeof *rep);
	if (!hub->is_root)
		return hj_error_set(HJ_EINVALID, "%s is not a hub node", hub->id);
	hj_peer_report peers; /* each peer's outcome is in peer_state */
	if ((rc = hj_peer_follow_all(&peers, hub, o ? o->peer_net : NULL))) /* before the lock: a slow peer holds no hub command */
		return rc;
	/* What the refreshed peer registries say about transfers across
	 * provinces: the hub's own change set, like a command's. */
	hj_province_xfer_report xfers;
	if ((rc = hj_province_transfer_pass(&xfers, hub)))
		return rc;
	if ((lock = take_sequencer_lock(repo)) < 0)
		return lock;
	if ((rc = publish_locked(hub, repo)))
		goto done;
	while (more && !(rc = one_round(hub, repo, o, rep, &more)))
		;
	if (!rc)
		rc = hj_outbox_flush(hub, repo, NULL); /* each round wrote its refs already */
done:
	close(lock);
	return rc;
}
