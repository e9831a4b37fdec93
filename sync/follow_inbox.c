/*
 * follow_inbox.c — the county takes what its inbox holds (inbox.h): each
 * delivery a change set the entry that signed for it includes, in
 * include order, or, for a node enrolled after its subtree had history,
 * an older one (its backfill), which keeps its own hub position.
 */
#include "follow_int.h"
#include "envelope.h"
#include "error.h"
#include "hub_entry.h"
#include "inbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entry `seq` delivered to this node: its items from `begin` on, the
 * inbox growing to `want`. */
int hj_follow_add_range(follow *f, uint64_t seq, size_t begin, uint64_t want)
{
	if (want <= f->inbox_want)
		return hj_error_set(HJ_ECORRUPT, "hub entry %" PRIu64 " says this node's inbox holds %" PRIu64 " change "
				    "sets, not more than the %" PRIu64 " before it; nothing was followed (ask the hub "
				    "operator)", seq, want, f->inbox_want);
	if (f->nranges == f->rcap) {
		size_t cap = f->rcap ? 2 * f->rcap : 16;
		range *p = realloc(f->ranges, cap * sizeof *p);
		if (!p)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		f->ranges = p;
		f->rcap = cap;
	}
	f->ranges[f->nranges++] = (range){begin, f->nitems, f->inbox_want, want, seq};
	f->inbox_want = want;
	return 0;
}

/* Is the item read from its author's sequenced ref? This node's own, and
 * any of an entry from before the inbox. */
int hj_follow_from_feed(const follow *f, const item *it)
{
	return it->legacy || strcmp(it->node, f->n->id) == 0;
}

/* A backfilled change set an entry followed before this sync sequenced. */
typedef struct older {
	uint8_t hash[32]; /* first: sorted and searched as by_hash */
	uint64_t k;
	item it; /* bytes in hand; the rest from its entry (find_older) */
	int found;
} older;

/* An item's hash and index: this sync's items sorted by hash, built at
 * the first backfilled delivery (a late node's first sync meets
 * thousands of them among every include of the hub order). */
typedef struct by_hash {
	uint8_t hash[32];
	size_t i;
} by_hash;

typedef struct take {
	follow *f;
	size_t r;       /* range of the next delivery */
	size_t next;    /* first item of it not yet matched */
	uint64_t taken; /* last delivery matched */
	older *older;
	size_t nolder, older_cap;
	by_hash *index;
} take;

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32); /* both structs begin with the hash */
}

static int build_index(take *t)
{
	follow *f = t->f;
	if (t->index || !f->nitems)
		return 0;
	if (!(t->index = malloc(f->nitems * sizeof *t->index)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	for (size_t i = 0; i < f->nitems; i++) {
		memcpy(t->index[i].hash, f->items[i].hash, 32);
		t->index[i].i = i;
	}
	qsort(t->index, f->nitems, sizeof *t->index, cmp_hash);
	return 0;
}

/* Is this item another node's, its change set not in hand yet, with
 * hash h? */
static int wanted(const follow *f, const item *it, const uint8_t h[32])
{
	return !it->bytes && strcmp(it->node, f->n->id) != 0 && memcmp(it->hash, h, 32) == 0;
}

static int take_bytes(item *it, const uint8_t *bytes, size_t len)
{
	if (!(it->bytes = malloc(len)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	memcpy(it->bytes, bytes, len);
	it->len = len;
	return 0;
}

/* A delivery that is none of its entry's includes: a backfill (a node
 * enrolled after its subtree had history is given that history), so a
 * change set an older entry sequenced. One of this sync's earlier
 * entries keeps its place in the order; one followed before is kept for
 * find_older. */
static int backfill(take *t, uint64_t k, const uint8_t h[32], const uint8_t *bytes, size_t len)
{
	follow *f = t->f;
	int rc = build_index(t);
	if (rc)
		return rc;
	const by_hash *x = f->nitems ? bsearch(h, t->index, f->nitems, sizeof *t->index, cmp_hash) : NULL;
	if (x && x->i < f->ranges[t->r].begin && wanted(f, &f->items[x->i], h)) {
		t->taken = k;
		return take_bytes(&f->items[x->i], bytes, len);
	}
	if (t->nolder == t->older_cap) {
		size_t cap = t->older_cap ? 2 * t->older_cap : 16;
		older *p = realloc(t->older, cap * sizeof *p);
		if (!p)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		t->older = p;
		t->older_cap = cap;
	}
	older *o = &t->older[t->nolder];
	memset(o, 0, sizeof *o);
	o->k = k;
	memcpy(o->hash, h, 32);
	if (take_bytes(&o->it, bytes, len))
		return HJ_ENOMEM;
	t->nolder++;
	t->taken = k;
	return 0;
}

/* Delivery k of this node's inbox: a change set of the entry that signed
 * for it, one it includes for another node, in include order. */
static int on_delivery(void *vctx, uint64_t k, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	take *t = vctx;
	follow *f = t->f;
	uint8_t h[32];
	while (t->r < f->nranges && k > f->ranges[t->r].to) {
		t->r++;
		t->next = 0;
	}
	if (t->r == f->nranges)
		return 1; /* for an entry not published yet (the hub writes inboxes first) */
	if (k == f->inbox_want) {
		git_oid_cpy(&f->inbox_tip, commit);
		f->inbox_tip_seen = 1;
	}
	const range *g = &f->ranges[t->r];
	size_t i = t->next > g->begin ? t->next : g->begin;
	hj_hash32(h, bytes, len);
	while (i < g->end && (f->items[i].bytes || strcmp(f->items[i].node, f->n->id) == 0 ||
			      memcmp(f->items[i].hash, h, 32) != 0))
		i++;
	if (i == g->end)
		return backfill(t, k, h, bytes, len);
	t->next = i + 1;
	t->taken = k;
	return take_bytes(&f->items[i], bytes, len);
}

typedef struct scan {
	follow *f;
	take *t;
} scan;

/* Each entry followed before this sync: its includes that are backfilled
 * deliveries become items at their own hub position. */
static int on_older_entry(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	scan *sc = vctx;
	follow *f = sc->f;
	hj_envelope e;
	hj_hub_entry ent;
	(void)commit;
	if (seq > f->old_last)
		return 1;
	int rc = hj_envelope_decode(&e, bytes, len);
	if (rc)
		return rc;
	rc = hj_hub_entry_parse(&ent, (const char *)e.payload, e.payload_len);
	hj_envelope_free(&e);
	if (rc == HJ_ENOTFOUND)
		return 0; /* one of the hub's own change sets */
	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < ent.ninclude; i++) {
		const hj_hub_include *x = &ent.include[i];
		older *o = bsearch(x->hash, sc->t->older, sc->t->nolder, sizeof *o, cmp_hash);
		if (o && !o->found) {
			uint8_t held[32];
			o->found = 1;
			rc = hj_followed_hash(held, f->n->db, x->node, x->seq);
			if (rc != HJ_ENOTFOUND) /* held already (from every feed, before the inbox), or an error */
				continue;
			item *it = hj_follow_new_item(f);
			if (!it) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				break;
			}
			*it = o->it; /* its bytes */
			o->it.bytes = NULL;
			rc = hj_follow_item_of(it, seq, &ent, i);
			f->backfilled = 1;
		}
	}
	hj_hub_entry_free(&ent);
	return rc == HJ_ENOTFOUND ? 0 : rc;
}

/* Backfilled deliveries from entries followed before: found in the hub
 * feed this replica holds (rare: a node that followed before it was
 * enrolled), else the delivery is not a change set the hub sequenced. */
static int find_older(follow *f, hj_gitrepo *repo, take *t)
{
	char ref[200];
	git_oid tip;
	uint64_t tipseq;
	scan sc = {f, t};
	qsort(t->older, t->nolder, sizeof *t->older, cmp_hash); /* hash first, as by_hash */
	snprintf(ref, sizeof ref, "refs/huiji/incoming/hub/%s", f->hub);
	int rc = hj_gitfeed_tip(repo, ref, &tipseq, &tip);
	if (!rc && (rc = hj_gitfeed_walk(repo, &tip, f->hub, 0, on_older_entry, &sc)) > 0)
		rc = 0;
	for (size_t j = 0; !rc && j < t->nolder; j++)
		if (!t->older[j].found)
			rc = hj_error_set(HJ_ECORRUPT, "inbox delivery %" PRIu64 " is not a change set the hub "
					  "sequenced; nothing was followed", t->older[j].k);
	return rc;
}

/* What the entries followed delivered to this node, from its inbox; the
 * other nodes' change sets they include are not this node's to hold. */
int hj_follow_fill_from_inbox(follow *f, hj_gitrepo *repo)
{
	char ref[200], label[200];
	git_oid tip;
	uint64_t tipseq = 0;
	take t = {f, 0, 0, f->inbox_n, NULL, 0, 0, NULL};
	int rc = 0;
	if (f->inbox_want > f->inbox_n) {
		snprintf(ref, sizeof ref, "refs/huiji/incoming/inbox/%s", f->n->id);
		hj_inbox_label(label, sizeof label, f->n->id);
		if ((rc = hj_gitfeed_tip(repo, ref, &tipseq, &tip)))
			return rc;
		/* From the delivery taken last when its commit is remembered: cost
		 * what is new; a chain not through it was rewritten. */
		if (tipseq > f->inbox_n)
			rc = f->have_inbox_base ? hj_gitfeed_walk_since(repo, &tip, label, &f->inbox_base, f->inbox_n,
								      on_delivery, &t)
						: hj_gitfeed_walk(repo, &tip, label, f->inbox_n, on_delivery, &t);
		if (rc == HJ_ECONFLICT)
			return hj_error_set(HJ_ECORRUPT, "the hub rewrote this node's inbox below delivery %" PRIu64
					    ", which it had taken; nothing was followed (ask the hub operator)", f->inbox_n);
		if (rc > 0)
			rc = 0;
		if (!rc && t.taken < f->inbox_want)
			rc = hj_error_set(HJ_ECORRUPT, "this node's inbox at the hub holds %" PRIu64 " change sets, "
					  "its entries say %" PRIu64 "; nothing was followed (sync again)", t.taken,
					  f->inbox_want);
		if (!rc && t.nolder)
			rc = find_older(f, repo, &t);
		for (size_t i = 0; i < t.nolder; i++)
			free(t.older[i].it.bytes);
		free(t.older);
		free(t.index);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < f->nitems; i++)
		f->items[i].drop = !f->items[i].bytes && !hj_follow_from_feed(f, &f->items[i]);
	return 0;
}

/* Deliveries this node has taken from its inbox (meta inbox_n, 0 before),
 * and the commit of the last (meta inbox_commit). */
int hj_follow_inbox_load(follow *f)
{
	char *v = NULL, *end = NULL;
	int rc = hj_meta_get(&v, f->n->db, "inbox_n");
	f->inbox_n = 0;
	if (!rc) {
		f->inbox_n = strtoull(v, &end, 10);
		if (!v[0] || *end)
			rc = hj_error_set(HJ_ECORRUPT, "meta inbox_n is not a number");
	}
	free(v);
	if (rc && rc != HJ_ENOTFOUND)
		return rc;
	return hj_follow_meta_commit(f->n->db, "inbox_commit", f->inbox_n, &f->inbox_base, &f->have_inbox_base);
}

int hj_follow_inbox_save(const follow *f)
{
	char v[32];
	int rc;
	snprintf(v, sizeof v, "%" PRIu64, f->inbox_want);
	if ((rc = hj_meta_set(f->n->db, "inbox_n", v)) || !f->inbox_tip_seen)
		return rc;
	return hj_follow_meta_commit_set(f->n->db, "inbox_commit", f->inbox_want, &f->inbox_tip);
}
