/*
 * audit.c — re-derive the hub's registry and every published verdict and
 * digest from the signed feeds (and, with audit_inbox.c, every inbox
 * delivery; with audit_key.c and the audit key, every real-name check of
 * the sealed fields wrapped to it).
 */
#include "audit.h"
#include "audit_int.h"
#include "deliver.h"
#include "enrolled.h"
#include "error.h"
#include "feed.h"
#include "fold.h"
#include "followed.h"
#include "giterr.h"
#include "hub_entry.h"
#include "projection.h"
#include "verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One feed held in memory: change sets by seq (v[seq - 1]). A change set
 * whose git object is damaged or missing has bytes NULL: its hash is
 * known (known[i]) once a hub entry that signed it was read. */
typedef struct feed {
	char node[HJ_NODE_ID_MAX + 1];
	uint8_t **bytes;
	size_t *len;
	uint8_t (*hash)[32];
	uint8_t *known;
	size_t n, cap;
	int broken;          /* reading it failed: reported once */
	uint64_t included;   /* last seq sequenced by the hub */
	uint8_t last_hash[32];
} feed;

typedef struct audit {
	hj_audit_report *rep;
	const hj_progress *progress; /* told each hub entry re-folded; NULL: none */
	feed *feeds;
	size_t nfeeds;
	hj_db *db;
	int hub_gap;     /* a hub entry was unreadable: its includes are unknown */
	size_t lost;     /* change sets and hub entries the re-fold lacks */
	/* The rules the change set being re-folded was decided under: its hub
	 * entry's; for the hub's own change sets, those of the last entry
	 * before them (`last_rules`). "now" 0: the change set's created_at. */
	hj_followed_rules at;
	uint32_t last_rules;
	const uint8_t *person_secret; /* NULL: person-key checks on the hub's word */
	hj_audit_key key;  /* the audit key: seals it opens (audit_key.c) */
	hj_audit_inbox ib; /* the deliveries the re-fold derives (audit_inbox.c) */
	hj_audit_wraps wr; /* the seals re-folded, for the hub's re-wraps (audit_wraps.c) */
} audit;

void hj_audit_problem(hj_audit_report *rep, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	if (rep->nproblems >= HJ_AUDIT_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	rep->problems[rep->nproblems] = strdup(buf);
	if (rep->problems[rep->nproblems])
		rep->nproblems++;
}

void hj_audit_report_free(hj_audit_report *rep)
{
	for (size_t i = 0; i < rep->nproblems; i++)
		free(rep->problems[i]);
	rep->nproblems = 0;
}

static int keep_cs(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	feed *f = ctx;
	(void)commit;
	(void)seq;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		uint8_t **b = realloc(f->bytes, cap * sizeof *b);
		if (b)
			f->bytes = b;
		size_t *l = realloc(f->len, cap * sizeof *l);
		if (l)
			f->len = l;
		uint8_t(*h)[32] = realloc(f->hash, cap * sizeof *h);
		if (h)
			f->hash = h;
		uint8_t *k = realloc(f->known, cap);
		if (k)
			f->known = k;
		if (!b || !l || !h || !k)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		f->cap = cap;
	}
	f->bytes[f->n] = NULL;
	f->len[f->n] = len;
	f->known[f->n] = bytes != NULL;
	if (bytes) { /* NULL: the blob is damaged or missing (a finding later) */
		if (!(f->bytes[f->n] = malloc(len ? len : 1)))
			return hj_error_set(HJ_ENOMEM, "out of memory");
		memcpy(f->bytes[f->n], bytes, len);
		hj_hash32(f->hash[f->n], bytes, len);
	}
	f->n++;
	return 0;
}

static void feed_free(feed *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->bytes[i]);
	free(f->bytes);
	free(f->len);
	free(f->hash);
	free(f->known);
}

/* The hash change set `s` (0-based) must name as its prev: the previous
 * one's, or, when that one is lost and no hub entry vouched for it, the
 * one it names itself (the loss is reported; the link cannot be checked). */
static void prev_of(const feed *f, size_t s, const uint8_t *bytes, size_t len, uint8_t prev[32])
{
	hj_envelope e;
	memset(prev, 0, 32);
	if (s == 0)
		return;
	if (f->known[s - 1]) {
		memcpy(prev, f->hash[s - 1], 32);
	} else if (hj_envelope_decode(&e, bytes, len) == 0) {
		memcpy(prev, e.prev, 32);
		hj_envelope_free(&e);
	}
}

/* Load a feed ref fully; a failure to read is itself a finding. */
static int load_feed(audit *a, hj_gitrepo *repo, const char *ref, const char *node, feed *f)
{
	git_oid tip;
	uint64_t seq;
	memset(f, 0, sizeof *f);
	snprintf(f->node, sizeof f->node, "%s", node);
	int rc = hj_gitfeed_tip(repo, ref, &seq, &tip);
	if (!rc && seq)
		rc = hj_gitfeed_walk_salvage(repo, &tip, node, keep_cs, f);
	if (rc == HJ_ENOMEM)
		return rc;
	if (rc) {
		hj_audit_problem(a->rep, "%s: cannot be read (tampered or corrupt git objects?): %s", ref, hj_error_last());
		f->broken = 1;
	}
	return 0;
}

static int add_node(audit *a, const char *node)
{
	for (size_t i = 0; i < a->nfeeds; i++)
		if (strcmp(a->feeds[i].node, node) == 0)
			return 0;
	feed *p = realloc(a->feeds, (a->nfeeds + 1) * sizeof *p);
	if (!p)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	a->feeds = p;
	memset(&a->feeds[a->nfeeds], 0, sizeof *p);
	snprintf(a->feeds[a->nfeeds].node, sizeof p->node, "%s", node);
	a->nfeeds++;
	return 0;
}

typedef struct node_lister {
	audit *a;
	size_t prefix;
} node_lister;

static int list_one_node(void *ctx, const char *name, const git_oid *target)
{
	node_lister *l = ctx;
	(void)target;
	return add_node(l->a, name + l->prefix);
}

static int list_nodes(audit *a, hj_gitrepo *repo, const char *glob, size_t prefix)
{
	node_lister l = {a, prefix};
	return hj_gitrepo_ref_foreach(repo, glob, list_one_node, &l);
}

/* A second history a node sent of its own feed (refs/huiji/forks/<node>:
 * a copy restored from an old backup, sync.c) is a finding at the first
 * seq where it departs from the feed audited: the node signed two
 * change sets at one seq, which the hub holds in quarantine. */
static feed *find_feed(audit *a, const char *node);

typedef struct fork_check {
	audit *a;
	hj_gitrepo *repo;
} fork_check;

static int check_one_fork(void *ctx, const char *name, const git_oid *target)
{
	fork_check *fc = ctx;
	const char *node = name + strlen("refs/huiji/forks/");
	feed fork = {0}, *f = find_feed(fc->a, node);
	(void)target;
	if (hj_node_id_check(node))
		return 0;
	int rc = load_feed(fc->a, fc->repo, name, node, &fork);
	size_t k = 0;
	while (!rc && f && k < f->n && k < fork.n && f->len[k] == fork.len[k] &&
	       memcmp(f->bytes[k], fork.bytes[k], f->len[k]) == 0)
		k++;
	if (!rc && f && !fork.broken && k < f->n && k < fork.n)
		hj_audit_problem(fc->a->rep, "feed %s seq %zu: the node signed a second, different change set, sent as a fork "
			"(%s: e.g. a copy restored from an old backup); quarantined at the hub (huiji hub quarantine)",
			node, k + 1, name);
	feed_free(&fork);
	return rc;
}

/* Load each node's feed: the pushed ref when it still contains what the
 * hub sequenced, else the sequenced history, and the fork is a finding. */
static int load_all_feeds(audit *a, hj_gitrepo *repo)
{
	int rc;
	if ((rc = list_nodes(a, repo, "refs/huiji/feeds/*", strlen("refs/huiji/feeds/"))) ||
	    (rc = list_nodes(a, repo, "refs/huiji/sequenced/*", strlen("refs/huiji/sequenced/"))))
		return rc;
	for (size_t i = 0; i < a->nfeeds; i++) {
		char fref[160], sref[160], node[HJ_NODE_ID_MAX + 1];
		git_oid foid, soid;
		snprintf(node, sizeof node, "%s", a->feeds[i].node);
		snprintf(fref, sizeof fref, "refs/huiji/feeds/%s", node);
		snprintf(sref, sizeof sref, "refs/huiji/sequenced/%s", node);
		/* Absent (or symbolic: not a feed) is an answer; unreadable is not. */
		int has_f = hj_gitrepo_ref_get(&foid, repo, fref), has_s = hj_gitrepo_ref_get(&soid, repo, sref);
		if (has_f && has_f != HJ_ENOTFOUND && has_f != HJ_ECORRUPT)
			return has_f;
		if (has_s && has_s != HJ_ENOTFOUND && has_s != HJ_ECORRUPT)
			return has_s;
		has_f = has_f == 0;
		has_s = has_s == 0;
		if (!has_s || (has_f && hj_gitfeed_is_ancestor(repo, &soid, &foid) == 1)) {
			if ((rc = load_feed(a, repo, fref, node, &a->feeds[i])))
				return rc;
			continue;
		}
		/* The pushed feed lost or changed what the hub sequenced: audit
		 * the sequenced history, and name where the pushed one departs. */
		feed pushed = {0};
		if ((rc = load_feed(a, repo, sref, node, &a->feeds[i])) ||
		    (has_f && (rc = load_feed(a, repo, fref, node, &pushed)))) {
			feed_free(&pushed);
			return rc;
		}
		feed *f = &a->feeds[i];
		size_t k = 0;
		while (k < f->n && k < pushed.n && f->len[k] == pushed.len[k] && !f->bytes[k] == !pushed.bytes[k] &&
		       (!f->bytes[k] || memcmp(f->bytes[k], pushed.bytes[k], f->len[k]) == 0))
			k++;
		if (k < f->n && k < pushed.n)
			hj_audit_problem(a->rep, "feed %s seq %zu: the pushed feed differs from the change set the hub sequenced "
				"(forked or rewritten: see huiji hub quarantine)", node, k + 1);
		else if (k < f->n)
			hj_audit_problem(a->rep, "feed %s seq %zu: sequenced by the hub but no longer in the pushed feed "
				"(rewound or dropped)", node, k + 1);
		feed_free(&pushed);
	}
	fork_check fc = {a, repo};
	return hj_gitrepo_ref_foreach(repo, "refs/huiji/forks/*", check_one_fork, &fc);
}

static feed *find_feed(audit *a, const char *node)
{
	for (size_t i = 0; i < a->nfeeds; i++)
		if (strcmp(a->feeds[i].node, node) == 0)
			return &a->feeds[i];
	return NULL;
}

/* The key the hub enrolled for itself in its first change set. */
static int hub_key_from_feed(const feed *hub, uint8_t pk[32])
{
	hj_envelope e;
	hj_json *payload = NULL;
	int rc = HJ_ENOTFOUND;
	if (!hub->n || hj_envelope_decode(&e, hub->bytes[0], hub->len[0]))
		return hj_error_set(HJ_ECORRUPT, "the hub feed has no readable change set 1");
	if (hj_json_parse(&payload, (const char *)e.payload, e.payload_len) == 0) {
		const hj_json *ops = hj_json_get(payload, "ops");
		for (size_t i = 0; ops && ops->type == HJ_JARR && i < ops->count; i++) {
			const char *op = hj_json_get_str(ops->items[i], "op");
			const char *node = hj_json_get_str(ops->items[i], "node");
			const char *key = hj_json_get_str(ops->items[i], "pubkey");
			if (op && node && key && strcmp(op, "node.enroll") == 0 && strcmp(node, hub->node) == 0 &&
			    hj_hex_decode_lower(pk, 32, key) == 0) /* as the fold reads it */
				rc = 0;
		}
	}
	hj_json_free(payload);
	hj_envelope_free(&e);
	return rc ? hj_error_set(rc, "the hub feed does not enrol the hub in change set 1") : 0;
}

/* The re-fold's verdict v on op i of e is not the hub's (hub_reason NULL:
 * applied). With a seal wrapped to the audit key at stake, say what an
 * honest hub may still have seen: an author can wrap one data key to the
 * hub and another to the auditor (seal.c), and each judges what opens for
 * it; either way the hub's word is not borne out. */
static void verdict_problem(audit *a, const hj_envelope *e, size_t i, const char *hub_reason, const hj_verdict *v,
			    int sealed)
{
	int shut = sealed && ((hub_reason && strcmp(hub_reason, "invalid") == 0) ||
			      (!v->applied && strcmp(v->reason, "invalid") == 0));
	hj_audit_problem(a->rep, "%s seq %" PRIu64 " op %zu: the hub says %s, the re-fold says %s%s%s%s%s", e->node,
		e->seq, i, hub_reason ? hub_reason : "applied", v->applied ? "applied" : v->reason,
		v->applied ? "" : " (", v->applied ? "" : v->detail, v->applied ? "" : ")",
		shut ? " [sealed to the audit key: a seal whose author wrapped the hub and the auditor different "
		       "keys opens for only one of them]" : "");
}

/* Fold e's ops; with `judge`, each verdict must be the hub's (verdicts
 * NULL: all applied, the hub's own ops). Without, the hub's verdicts are
 * unknown (their hub entry is lost) and only the state is rebuilt. */
static int fold_ops(audit *a, const hj_envelope *e, const hj_json *verdicts, const hj_json *keys, uint64_t hub_seq,
		    int judge)
{
	hj_json *payload = NULL;
	hj_foldctx ctx = {0};
	hj_verdict v;
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	const hj_json *ops = rc ? NULL : hj_fold_payload_ops(payload, &rc);
	if (!ops) {
		hj_audit_problem(a->rep, "%s seq %" PRIu64 ": payload unreadable: %s", e->node, e->seq, hj_error_last());
		rc = rc == HJ_EVERSION ? rc : 0;
		hj_audit_inbox_lost(&a->ib, hub_seq);
		goto done;
	}
	if (judge && verdicts && hj_hub_verdicts_check(verdicts, ops->count)) {
		hj_audit_problem(a->rep, "hub entry %" PRIu64 ": %zu verdicts for %s seq %" PRIu64 " which has %zu ops", hub_seq,
			verdicts->count, e->node, e->seq, ops->count);
		hj_audit_inbox_lost(&a->ib, hub_seq);
		goto done;
	}
	if (judge && keys && hj_hub_keys_check(keys, ops->count)) {
		hj_audit_problem(a->rep, "hub entry %" PRIu64 ": person keys for %s seq %" PRIu64 ": %s", hub_seq, e->node,
				 e->seq, hj_error_last());
		hj_audit_inbox_lost(&a->ib, hub_seq);
		goto done;
	}
	ctx.actor = e->node;
	ctx.seq = e->seq;
	ctx.rules = a->at.rules;
	ctx.now_ms = a->at.at_ms ? a->at.at_ms : e->created_at;
	ctx.person_secret = a->person_secret;
	ctx.pkey_on_hub_word = &a->rep->pkey_on_hub_word;
	ctx.sealed_on_hub_word = &a->rep->sealed_on_hub_word;
	ctx.unseal = hj_audit_key_unsealer(&a->key);
	for (size_t i = 0; i < ops->count; i++) {
		const char *reason = "?";
		int hub_ok = hj_hub_verdict_at(verdicts, i, &reason, NULL);
		ctx.index = (uint32_t)i;
		ctx.hub_reason = judge && !hub_ok ? reason : NULL;
		ctx.hub_person_key = hj_hub_key_at(keys, i);
		int sealed = hj_audit_key_count(&a->key, ops->items[i]);
		/* Deliveries judged as include_one judges them (deliver.h), with
		 * the key the hub gave the op: a fold that took the hub's verdict
		 * on sealed fields stops before it keys the op. */
		int after = hj_touch_keyed_after(ops->items[i]);
		if ((!after && (rc = hj_audit_inbox_touch(&a->ib, ops->items[i], NULL))) ||
		    (rc = hj_fold_op(a->db, &ctx, ops->items[i], &v)) ||
		    (after && (rc = hj_audit_inbox_touch(&a->ib, ops->items[i],
							 v.person_key[0] ? v.person_key : ctx.hub_person_key))))
			goto done;
		a->rep->ops++;
		if (v.applied)
			hj_audit_key_enrolled(&a->key, ops->items[i]);
		/* Its seals, which the hub re-wraps where it delivers them (one
		 * it found invalid may not open for it). */
		if (judge && (hub_ok || strcmp(reason, "invalid") != 0) &&
		    (rc = hj_audit_wraps_op(&a->wr, e->node, e->seq, ops->items[i])))
			goto done;
		if (!judge)
			continue;
		if (strcmp(e->node, a->rep->hub) != 0) /* a county's: the hub gave a verdict (v2: NULL = all ok) */
			a->rep->verdicts++;
		if (v.applied != hub_ok || (!hub_ok && strcmp(reason, v.reason) != 0))
			verdict_problem(a, e, i, hub_ok ? NULL : reason, &v, sealed);
		else if (!hub_ok && strcmp(reason, "duplicate_province") == 0)
			a->rep->peer_on_hub_word++; /* judged against a peer registry no re-fold holds */
	}
done:
	hj_json_free(payload);
	return rc;
}

/* County change set `seq` of f: its bytes must be those hub entry
 * `hub_seq` signed (want; NULL when that entry is lost), it must chain and
 * verify under its node's key, and its ops fold to the hub's verdicts. */
static int check_cs(audit *a, feed *f, uint64_t seq, const uint8_t *want, const hj_json *verdicts,
		    const hj_json *keys, uint64_t hub_seq)
{
	const char *node = f->node;
	const uint8_t *bytes = f->bytes[seq - 1];
	size_t len = f->len[seq - 1];
	uint8_t pk[32], prev[32];
	hj_envelope e;
	f->included = seq;
	if (!bytes) {
		if (want)
			hj_audit_problem(a->rep, "%s seq %" PRIu64 ": its change set is damaged or missing in the "
				"repository (sequenced by hub entry %" PRIu64 "; not re-folded)", node, seq, hub_seq);
		else
			hj_audit_problem(a->rep, "%s seq %" PRIu64 ": its change set is damaged or missing in the "
				"repository (sequenced by a hub entry that is lost too; not re-folded)", node, seq);
		if (want) {
			memcpy(f->hash[seq - 1], want, 32);
			f->known[seq - 1] = 1;
		}
		a->lost++;
		hj_audit_inbox_lost(&a->ib, hub_seq);
		return 0;
	}
	if (want && memcmp(f->hash[seq - 1], want, 32) != 0) {
		hj_audit_problem(a->rep, "%s seq %" PRIu64 ": the bytes in the repository differ from what hub entry %"
			PRIu64 " signed (tampered)", node, seq, hub_seq);
		hj_audit_inbox_lost(&a->ib, hub_seq);
		return 0;
	}
	int rc = hj_enrolled_key(pk, a->db, node);
	if (rc && rc != HJ_ENOTFOUND && rc != HJ_ECORRUPT)
		return rc; /* a failed lookup is not a finding */
	if (rc) {
		hj_audit_problem(a->rep, "%s seq %" PRIu64 " was sequenced but %s was not enrolled at that point", node,
			seq, node);
		hj_audit_inbox_lost(&a->ib, hub_seq);
		return 0;
	}
	/* Chain from the previous sequenced change set of this feed. */
	prev_of(f, seq - 1, bytes, len, prev);
	if ((rc = hj_feed_check(&e, bytes, len, node, pk, seq - 1, prev))) {
		hj_audit_problem(a->rep, "%s", hj_error_last());
		hj_audit_inbox_lost(&a->ib, hub_seq);
		return 0;
	}
	a->rep->change_sets++;
	hj_audit_inbox_collect(&a->ib, want != NULL); /* its deliveries, as the hub derived them */
	rc = fold_ops(a, &e, verdicts, keys, hub_seq, want != NULL);
	if (!rc)
		rc = hj_audit_inbox_deliver(&a->ib, hub_seq, node, seq, f->hash[seq - 1]);
	hj_audit_inbox_collect(&a->ib, 0);
	hj_envelope_free(&e);
	return rc;
}

/* One county change set a sequence entry includes. After a lost hub
 * entry, the change sets it must have sequenced (those this feed skips)
 * are folded first, their verdicts unknown: re-fold what can be. */
static int check_include(audit *a, const hj_hub_include *inc, uint64_t hub_seq)
{
	feed *f = find_feed(a, inc->node);
	int rc = 0;
	if (!f || inc->seq > f->n || inc->seq == 0) {
		hj_audit_problem(a->rep, "hub entry %" PRIu64 " sequences %s seq %" PRIu64 ", which is not in the "
			"repository (dropped or rewound feed)", hub_seq, inc->node, inc->seq);
		hj_audit_inbox_lost(&a->ib, hub_seq);
		return 0;
	}
	if (a->hub_gap)
		while (!rc && f->included + 1 < inc->seq)
			rc = check_cs(a, f, f->included + 1, NULL, NULL, NULL, hub_seq);
	if (rc)
		return rc;
	if (inc->seq != f->included + 1)
		hj_audit_problem(a->rep, "hub entry %" PRIu64 " sequences %s seq %" PRIu64 " after seq %" PRIu64
			" (a change set dropped or reordered)", hub_seq, inc->node, inc->seq, f->included);
	return check_cs(a, f, inc->seq, inc->hash, inc->verdicts, inc->keys, hub_seq);
}

static int check_hub_entry(audit *a, const hj_envelope *e)
{
	hj_json *payload = NULL;
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	const hj_json *ops = rc ? NULL : hj_fold_payload_ops(payload, &rc);
	if (!ops) {
		hj_audit_problem(a->rep, "hub entry %" PRIu64 ": payload unreadable: %s", e->seq, hj_error_last());
		hj_json_free(payload);
		return rc == HJ_EVERSION ? rc : 0;
	}
	const hj_json *op = NULL;
	hj_hub_entry ent = {0};
	if ((rc = hj_hub_entry_find(&op, ops)) || (op && (rc = hj_hub_entry_decode(&ent, op)))) {
		hj_audit_problem(a->rep, "hub entry %" PRIu64 ": %s", e->seq, hj_error_last());
		rc = rc == HJ_EVERSION ? rc : 0;
		hj_audit_inbox_lost(&a->ib, e->seq);
		goto done;
	}
	if (!op) {
		a->at.rules = a->last_rules;
		a->at.at_ms = 0;
		rc = fold_ops(a, e, NULL, NULL, e->seq, 1); /* the hub's own ops */
		goto done;
	}
	if (ent.rules < a->last_rules)
		hj_audit_problem(a->rep, "hub entry %" PRIu64 " was decided under rules version %" PRIu32 ", older than "
			"the %" PRIu32 " of an entry before it (the hub went back on its rules)", e->seq, ent.rules,
			a->last_rules);
	a->last_rules = ent.rules;
	a->at.rules = ent.rules;
	a->at.at_ms = ent.at_ms;
	rc = hj_audit_inbox_begin(&a->ib, ent.v, e->seq);
	hj_audit_wraps_entry(&a->wr, ent.v, e->seq);
	for (size_t i = 0; !rc && i < ent.ninclude; i++)
		rc = check_include(a, &ent.include[i], e->seq);
	if (rc || (rc = hj_audit_inbox_check_entry(&a->ib, &ent, e->seq)))
		goto done;
	uint8_t digest[32];
	char dhex[65], shex[65];
	if ((rc = hj_projection_digest_for(a->db, ent.rules, digest)))
		goto done;
	hj_hex_encode(dhex, digest, 32);
	hj_hex_encode(shex, ent.state, 32);
	a->rep->digests++;
	if (memcmp(ent.state, digest, 32) != 0)
		hj_audit_problem(a->rep, "hub entry %" PRIu64 ": published state digest %.16s… but the re-fold gives %.16s…%s",
			e->seq, shex, dhex, a->lost ? " (the re-fold lacks the damaged records named above)" : "");
done:
	hj_hub_entry_free(&ent);
	hj_json_free(payload);
	return rc;
}

/* Change sets not yet sequenced must still verify: tampering anywhere. */
static int check_pending(audit *a)
{
	for (size_t i = 0; i < a->nfeeds; i++) {
		feed *f = &a->feeds[i];
		uint8_t pk[32], prev[32];
		int grc = hj_enrolled_key(pk, a->db, f->node);
		if (grc && grc != HJ_ENOTFOUND && grc != HJ_ECORRUPT)
			return grc;
		int enrolled = grc == 0;
		for (size_t s = f->included; s < f->n; s++) {
			hj_envelope e;
			a->rep->pending++;
			if (!f->bytes[s]) {
				hj_audit_problem(a->rep, "%s seq %zu: its change set is damaged or missing in the repository "
					"(not yet sequenced)", f->node, s + 1);
				continue;
			}
			prev_of(f, s, f->bytes[s], f->len[s], prev);
			int rc = enrolled ? hj_feed_check(&e, f->bytes[s], f->len[s], f->node, pk, s, prev)
					  : hj_envelope_decode(&e, f->bytes[s], f->len[s]);
			if (rc) {
				hj_audit_problem(a->rep, "%s (not yet sequenced)", hj_error_last());
				break;
			}
			hj_envelope_free(&e);
		}
	}
	return 0;
}

/* Re-fold everything in hub order, checking every entry. An entry whose
 * git object is damaged or missing is named and skipped: the entries after
 * it are still checked, and what it sequenced is folded when the next
 * entry of the same feed comes (check_include). */
static int refold(audit *a, const feed *hub, const uint8_t hub_pk[32])
{
	uint8_t prev[32];
	int rc;
	if ((rc = hj_db_exec(a->db, "BEGIN")))
		return rc;
	for (size_t s = 0; s < hub->n; s++) {
		hj_envelope e;
		hj_progress_report(a->progress, "hub entries re-folded", s + 1, hub->n);
		if (!hub->bytes[s]) {
			hj_audit_problem(a->rep, "hub entry %zu: damaged or missing in the repository (its change set "
				"cannot be read; the hub entries after it are still checked)", s + 1);
			hj_audit_inbox_lost(&a->ib, s + 1);
			a->hub_gap = 1;
			a->lost++;
			continue;
		}
		prev_of(hub, s, hub->bytes[s], hub->len[s], prev);
		rc = hj_feed_check(&e, hub->bytes[s], hub->len[s], a->rep->hub, hub_pk, s, prev);
		if (rc) {
			hj_audit_problem(a->rep, "hub feed: %s (the rest of the hub feed cannot be trusted)", hj_error_last());
			rc = 0;
			break;
		}
		a->rep->hub_entries++;
		a->rep->hub_seq = s + 1;
		hj_hex_encode(a->rep->hub_head, hub->hash[s], 32);
		rc = check_hub_entry(a, &e);
		hj_envelope_free(&e);
		if (rc)
			break;
	}
	hj_db_exec(a->db, rc ? "ROLLBACK" : "COMMIT");
	return rc;
}

static int note_hub_ref(void *ctx, const char *name, const git_oid *target)
{
	hj_audit_report *rep = ctx;
	(void)target;
	if (!rep->hub[0])
		snprintf(rep->hub, sizeof rep->hub, "%s", name + strlen("refs/huiji/hub/"));
	else
		hj_audit_problem(rep, "more than one hub feed: %s", name);
	return 0;
}

/* The hub feed: exactly one ref under refs/huiji/hub/. */
static int find_hub(audit *a, hj_gitrepo *repo, const char *url)
{
	int rc = hj_gitrepo_ref_foreach(repo, "refs/huiji/hub/*", note_hub_ref, a->rep);
	if (rc)
		return rc;
	if (!a->rep->hub[0])
		return hj_error_set(HJ_ENOTFOUND, "%s holds no hub feed (refs/huiji/hub/*)", url);
	return 0;
}

/* The registry as re-folded, with its position, into a new file. */
static int keep_registry(hj_db *db, const hj_audit_report *rep, const char *path)
{
	char seq[24];
	snprintf(seq, sizeof seq, "%" PRIu64, rep->hub_seq);
	int rc = hj_meta_set(db, "peer_hub", rep->hub);
	if (!rc && !(rc = hj_meta_set(db, "peer_hub_seq", seq)))
		rc = hj_meta_set(db, "peer_head", rep->hub_head);
	sqlite3_stmt *st = rc ? NULL : hj_db_stmt(db, "VACUUM INTO :path");
	if (!rc && !st)
		rc = HJ_ERROR;
	if (!rc && !(rc = hj_db_bind_text(st, ":path", path)))
		rc = hj_db_step(db, st);
	if (st)
		hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

static int audit_run(hj_audit_report *rep, const char *url, const char *hub_key_hex, const uint8_t *person_secret,
		     const uint8_t *audit_sk, const char *workdir, const hj_net_opts *net, const char *keep,
		     const hj_progress *progress);

int hj_audit(hj_audit_report *rep, const char *url, const char *hub_key_hex, const uint8_t *person_secret,
	     const char *workdir, const hj_net_opts *net)
{
	return audit_run(rep, url, hub_key_hex, person_secret, NULL, workdir, net, NULL, NULL);
}

int hj_audit_keep(hj_audit_report *rep, const char *url, const char *hub_key_hex, const uint8_t *person_secret,
		  const char *workdir, const hj_net_opts *net, const char *keep_path)
{
	return audit_run(rep, url, hub_key_hex, person_secret, NULL, workdir, net, keep_path, NULL);
}

int hj_audit_with_key(hj_audit_report *rep, const char *url, const char *hub_key_hex, const uint8_t *person_secret,
		      const uint8_t *audit_sk, const char *workdir, const hj_net_opts *net)
{
	return audit_run(rep, url, hub_key_hex, person_secret, audit_sk, workdir, net, NULL, NULL);
}

int hj_audit_with_key_progress(hj_audit_report *rep, const char *url, const char *hub_key_hex,
			       const uint8_t *person_secret, const uint8_t *audit_sk, const char *workdir,
			       const hj_net_opts *net, const hj_progress *progress)
{
	return audit_run(rep, url, hub_key_hex, person_secret, audit_sk, workdir, net, NULL, progress);
}

static int audit_run(hj_audit_report *rep, const char *url, const char *hub_key_hex, const uint8_t *person_secret,
		     const uint8_t *audit_sk, const char *workdir, const hj_net_opts *net, const char *keep,
		     const hj_progress *progress)
{
	audit a = {0};
	a.progress = progress;
	hj_gitrepo *repo = NULL;
	feed hub = {0};
	uint8_t hub_pk[32];
	int rc;

	memset(rep, 0, sizeof *rep);
	a.rep = rep;
	a.last_rules = 1;
	a.person_secret = person_secret;
	rep->person_key_given = person_secret != NULL;
	if ((rc = hj_audit_key_init(&a.key, rep, audit_sk)))
		return rc;
	static const char *const specs[] = {"+refs/huiji/*:refs/huiji/*"};
	int local = !strstr(url, "://") || strncmp(url, "file://", 7) == 0;
	if ((rc = hj_gitrepo_open(&repo, workdir, 1)))
		goto done;
	rc = local ? hj_audit_import_local(rep, strncmp(url, "file://", 7) == 0 ? url + 7 : url, repo)
		   : hj_transport_fetch(repo, url, specs, 1, net);
	/* Over the network the hub's git sends one pack: a damaged object
	 * there fails the whole fetch, and only a local copy can be read
	 * object by object. */
	if (rc == HJ_ENET && !local)
		rc = hj_error_wrap(rc, "fetching %s failed as a whole (if the hub's repository holds a damaged object, "
				   "audit a copy of its directory to have the damaged records named): ", url);
	if (rc || (rc = hj_scratch_open(&a.db)) || (rc = find_hub(&a, repo, url)) ||
	    (rc = hj_audit_inbox_init(&a.ib, rep, a.db, rep->hub)) || (rc = hj_audit_wraps_init(&a.wr, rep, a.db)))
		goto done;
	char hubref[160];
	snprintf(hubref, sizeof hubref, "refs/huiji/hub/%s", rep->hub);
	if ((rc = load_feed(&a, repo, hubref, rep->hub, &hub)))
		goto done;

	/* Every county feed: what the hub sequenced (refs/huiji/sequenced/,
	 * the hub's own ref) and what the node pushed (refs/huiji/feeds/). */
	if ((rc = load_all_feeds(&a, repo)))
		goto done;
	rep->feeds = a.nfeeds;

	if (hub_key_hex) {
		if (hj_hex_decode(hub_pk, 32, hub_key_hex)) {
			rc = hj_error_set(HJ_EINVALID, "--hub-key must be 64 hex digits");
			goto done;
		}
		rep->hub_key_pinned = 1;
	} else if ((rc = hub_key_from_feed(&hub, hub_pk))) {
		hj_audit_problem(rep, "%s", hj_error_last());
		rc = 0;
		goto done;
	}
	hj_hex_encode(rep->hub_key, hub_pk, 32);
	if ((rc = hj_audit_key_wraps(&a.key, a.db, repo, hub.bytes, hub.len, hub.n)))
		goto done;
	/* A key no auditor holds gives no verdict; but where the re-fold was
	 * cut short by a finding, that finding is the answer. */
	if ((rc = refold(&a, &hub, hub_pk)) || (!rep->nproblems && (rc = hj_audit_key_check(&a.key))))
		goto done;
	int64_t nodes = 0;
	if ((rc = check_pending(&a)) || (rc = hj_audit_inbox_check_refs(&a.ib, repo)) ||
	    (rc = hj_audit_wraps_check(&a.wr, repo, rep->inbox_unchecked_from)) ||
	    (rc = hj_db_get_int(a.db, "SELECT count(*) FROM node", NULL, NULL, &nodes)))
		goto done;
	rep->nodes = (uint64_t)nodes;
	if (keep && !rep->nproblems)
		rc = keep_registry(a.db, rep, keep);
done:
	hj_audit_key_free(&a.key);
	hj_audit_inbox_free(&a.ib);
	feed_free(&hub);
	for (size_t i = 0; i < a.nfeeds; i++)
		feed_free(&a.feeds[i]);
	free(a.feeds);
	hj_db_close(a.db);
	hj_gitrepo_close(repo);
	return rc;
}
