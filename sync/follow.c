/*
 * follow.c — the county's half of a sync that needs no network: follow
 * what was fetched into refs/huiji/incoming/. The hub feed is verified
 * under the hub key and must still pass through the last entry followed
 * (a rewrite, also of the same length, is refused at once); of the change
 * sets an entry sequenced, the county takes its own (from its sequenced
 * ref) and what the hub delivered to it (its inbox, inbox.h), each checked
 * against the hash the hub signed; then the hub order grows and the
 * registry is rebased, all in one SQLite transaction. The rest of the
 * province is not its to hold. Entries from before the inbox (v1, v2)
 * delivered nothing: their change sets come from every node's sequenced
 * ref, fetched only when such an entry is still to be followed.
 */
#include "sync.h"
#include "follow_int.h"
#include "clock.h"
#include "error.h"
#include "feed.h"
#include "fold.h"
#include "followed.h"
#include "hub_entry.h"
#include "inbox.h"
#include "wraps.h"
#include "outbox.h"
#include "projection.h"
#include "replay.h"
#include "rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

item *hj_follow_new_item(follow *f)
{
	if (f->nitems == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		item *p = realloc(f->items, cap * sizeof *p);
		if (!p)
			return NULL;
		f->items = p;
		f->cap = cap;
	}
	item *it = &f->items[f->nitems++];
	memset(it, 0, sizeof *it);
	return it;
}

/* Are all ops of this payload known to this huiji? */
static int ops_known(const hj_json *ops)
{
	for (size_t i = 0; i < ops->count; i++)
		if (hj_fold_op_known(ops->items[i]))
			return 0;
	return 1;
}

int hj_follow_item_of(item *it, uint64_t hub_seq, const hj_hub_entry *ent, size_t i)
{
	const hj_hub_include *x = &ent->include[i];
	hj_buf vt = HJ_BUF_INIT;
	int rc = 0;
	it->hub_seq = hub_seq;
	snprintf(it->node, sizeof it->node, "%s", x->node);
	it->seq = x->seq;
	memcpy(it->hash, x->hash, 32);
	it->rules.rules = ent->rules;
	it->rules.at_ms = ent->at_ms;
	it->legacy = ent->v < 3;
	it->idx = (uint32_t)i;
	if (x->verdicts && !(rc = hj_json_write(&vt, x->verdicts)))
		it->verdicts = (char *)hj_buf_detach(&vt, NULL);
	hj_buf_free(&vt);
	if (!rc && x->keys && !(rc = hj_json_write(&vt, x->keys)))
		it->keys = (char *)hj_buf_detach(&vt, NULL);
	hj_buf_free(&vt);
	return rc;
}

/* A sequence entry: one item per change set it includes, bytes fetched
 * later from the node's feed (fill_items). */
static int follow_entry(follow *f, uint64_t seq, const hj_json *op)
{
	hj_hub_entry ent;
	int rc = hj_hub_entry_decode(&ent, op);
	if (rc == HJ_EVERSION) {
		f->upgrade = 1;
		f->upgrade_at = seq;
		return 1;
	}
	if (rc)
		return hj_error_wrap(rc, "hub entry %" PRIu64 ": ", seq);
	if (ent.rules < f->rules.rules) {
		rc = hj_error_set(HJ_ECORRUPT, "hub entry %" PRIu64 " was decided under rules version %" PRIu32 ", "
				  "older than the %" PRIu32 " of an entry before it: the hub went back on its rules; "
				  "nothing was followed (ask the hub operator)", seq, ent.rules, f->rules.rules);
		hj_hub_entry_free(&ent);
		return rc;
	}
	f->rules.rules = ent.rules;
	if (ent.at_ms > f->newest_at)
		f->newest_at = ent.at_ms;
	size_t begin = f->nitems;
	for (size_t i = 0; !rc && i < ent.ninclude; i++) {
		item *it = hj_follow_new_item(f);
		if (!it) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			break;
		}
		rc = hj_follow_item_of(it, seq, &ent, i);
	}
	uint64_t want = 0;
	if (!rc && hj_hub_entry_inbox(&ent, f->n->id, &want))
		rc = hj_follow_add_range(f, seq, begin, want);
	hj_hub_entry_free(&ent);
	return rc;
}

/* One of the hub's own change sets: an item of its own, bytes in hand. */
static int follow_hub_op(follow *f, uint64_t seq, const hj_envelope *e, const uint8_t *bytes, size_t len)
{
	item *it = hj_follow_new_item(f);
	if (!it || !(it->bytes = malloc(len)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	memcpy(it->bytes, bytes, len);
	it->len = len;
	it->hub_seq = seq;
	snprintf(it->node, sizeof it->node, "%s", f->hub);
	it->seq = seq;
	memcpy(it->hash, e->hash, 32);
	it->rules.rules = f->rules.rules; /* at_ms 0: its own created_at */
	return 0;
}

static int on_hub_entry(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	follow *f = vctx;
	hj_envelope e;
	hj_json *payload = NULL;
	const hj_json *entry = NULL;
	uint8_t h[32];
	int rc;
	if (f->upgrade)
		return 1;
	if (seq <= f->last) {
		/* Walked from below the entry followed last (no commit of it
		 * remembered): it must still be there, byte for byte. */
		hj_hash32(h, bytes, len);
		if (seq == f->last && memcmp(h, f->last_hash, 32) != 0)
			return hj_error_set(HJ_ECORRUPT, "the hub rewrote its history at entry %" PRIu64 ": hub feed %s "
					    "now holds another change set there than the one this county followed; "
					    "nothing was followed (ask the hub operator)", seq, f->hub);
		if (seq == f->last) {
			git_oid_cpy(&f->last_commit, commit);
			f->commit_seen = 1;
		}
		return 0;
	}
	rc = hj_feed_check(&e, bytes, len, f->hub, f->hub_pk, f->last, f->last_hash);
	if (rc == HJ_EVERSION) {
		f->upgrade = 1;
		f->upgrade_at = seq;
		return 1;
	}
	if (rc)
		return hj_error_wrap(rc, "hub feed: ");
	rc = hj_json_parse(&payload, (const char *)e.payload, e.payload_len);
	const hj_json *ops = rc ? NULL : hj_fold_payload_ops(payload, &rc);
	if (rc == HJ_EVERSION || (ops && !ops_known(ops))) {
		f->upgrade = 1;
		f->upgrade_at = seq;
		rc = 1;
		goto done;
	}
	if (rc)
		goto done;
	if ((rc = hj_hub_entry_find(&entry, ops))) {
		hj_error_wrap(rc, "hub entry %" PRIu64 ": ", seq);
		goto done;
	}
	if ((rc = entry ? follow_entry(f, seq, entry) : follow_hub_op(f, seq, &e, bytes, len)))
		goto done; /* 1: stopped for an upgrade */
	f->last = seq;
	memcpy(f->last_hash, e.hash, 32);
	git_oid_cpy(&f->last_commit, commit);
	f->commit_seen = 1;
	f->entries++;
	hj_progress_report(f->progress, "hub entries", f->entries, f->progress_total);
done:
	hj_json_free(payload);
	hj_envelope_free(&e);
	return rc;
}

typedef struct fill {
	follow *f;
	const char *node;
	size_t next; /* index into f->items of the next item of this node */
} fill;

static int on_feed_cs(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	fill *fl = vctx;
	follow *f = fl->f;
	(void)commit;
	while (fl->next < f->nitems && (f->items[fl->next].bytes || strcmp(f->items[fl->next].node, fl->node) != 0 ||
					!hj_follow_from_feed(f, &f->items[fl->next])))
		fl->next++;
	if (fl->next == f->nitems)
		return 1;
	item *it = &f->items[fl->next];
	if (seq < it->seq)
		return 0;
	if (seq > it->seq)
		return hj_error_set(HJ_ECORRUPT, "feed %s seq %" PRIu64 " sequenced by the hub is missing", fl->node,
				    it->seq);
	uint8_t h[32];
	hj_hash32(h, bytes, len);
	if (memcmp(h, it->hash, 32) != 0)
		return hj_error_set(HJ_ECORRUPT, "feed %s seq %" PRIu64 " as fetched does not match the hash the "
				    "hub signed", fl->node, seq);
	if (!(it->bytes = malloc(len)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	memcpy(it->bytes, bytes, len);
	it->len = len;
	fl->next++;
	return 0;
}

static int first_hub_ref(void *ctx, const char *name, const git_oid *target)
{
	char **hub = ctx;
	(void)target;
	if (!*hub && !(*hub = strdup(name + strlen("refs/huiji/incoming/hub/"))))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	return 0;
}

/* Find the hub's node id: remembered, or the single incoming hub ref.
 * *out NULL (and 0) when the hub has published nothing yet; negative
 * when the remembered id cannot be read. */
static int hub_node(char **out, hj_node *n, hj_gitrepo *repo)
{
	char *hub = NULL;
	int rc = hj_meta_get(&hub, n->db, "hub_node");
	*out = hub;
	if (rc != HJ_ENOTFOUND)
		return rc;
	if ((rc = hj_gitrepo_ref_foreach(repo, "refs/huiji/incoming/hub/*", first_hub_ref, &hub))) {
		free(hub);
		return rc;
	}
	*out = hub;
	return 0;
}

int hj_follow_meta_commit(hj_db *db, const char *key, uint64_t seq, git_oid *out, int *have)
{
	char *v = NULL, *end;
	int rc = hj_meta_get(&v, db, key);
	*have = 0;
	if (rc)
		return rc == HJ_ENOTFOUND ? 0 : rc;
	unsigned long long at = strtoull(v, &end, 10);
	if (end != v && *end == ' ' && at == seq && strlen(end + 1) == GIT_OID_HEXSZ &&
	    git_oid_fromstr(out, end + 1) == 0)
		*have = 1;
	free(v);
	return 0;
}

int hj_follow_meta_commit_set(hj_db *db, const char *key, uint64_t seq, const git_oid *commit)
{
	char v[32 + GIT_OID_HEXSZ + 1], hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof hex, commit);
	snprintf(v, sizeof v, "%" PRIu64 " %s", seq, hex);
	return hj_meta_set(db, key, v);
}

/* The commit of the entry followed last, as the sync that followed it
 * remembered it (meta hub_feed_commit). Only a value for f->last counts
 * (an older huiji may have followed more since). */
static int load_followed_commit(follow *f)
{
	return hj_follow_meta_commit(f->n->db, "hub_feed_commit", f->last, &f->last_commit, &f->have_commit);
}

/* Remember the commit of the entry followed last (in the caller's
 * transaction), so the next sync checks the hub's chain by one id. */
static int save_followed_commit(const follow *f)
{
	return hj_follow_meta_commit_set(f->n->db, "hub_feed_commit", f->last, &f->last_commit);
}

/* What a rewritten hub feed no longer holds: scanned up to the entry
 * followed last. Entry j+1 naming another prev than entry j's hash means
 * j was rewritten (entries above it were kept byte for byte). */
typedef struct rewrite_scan {
	uint64_t last, rewritten;
	const uint8_t *last_hash;
	uint8_t prev[32];
} rewrite_scan;

static int on_rewrite_scan(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	rewrite_scan *w = vctx;
	hj_envelope e;
	(void)commit;
	if (seq > w->last)
		return 1;
	if (hj_envelope_decode(&e, bytes, len) != 0)
		w->rewritten = seq;
	else if (seq > 1 && memcmp(e.prev, w->prev, 32) != 0)
		w->rewritten = seq - 1;
	hj_envelope_free(&e);
	hj_hash32(w->prev, bytes, len);
	if (seq == w->last && memcmp(w->prev, w->last_hash, 32) != 0)
		w->rewritten = seq;
	return 0;
}

/* The chain from the hub's tip does not pass through the commit of the
 * entry followed last: name the entry rewritten. An error path, so every
 * entry up to f->last is read. */
static int name_rewrite(follow *f, hj_gitrepo *repo, const git_oid *tip)
{
	rewrite_scan w = {f->last, 0, f->last_hash, {0}};
	int rc = hj_gitfeed_walk(repo, tip, f->hub, 0, on_rewrite_scan, &w);
	if (rc < 0)
		return rc;
	if (w.rewritten)
		return hj_error_set(HJ_ECORRUPT, "the hub rewrote its history at entry %" PRIu64 ": hub feed %s no "
				    "longer holds the entries this county followed (up to %" PRIu64 "); nothing was "
				    "followed (ask the hub operator)", w.rewritten, f->hub, f->last);
	return hj_error_set(HJ_ECORRUPT, "the hub rewrote its history at or below entry %" PRIu64 ": hub feed %s "
			    "no longer passes through the commit this county followed; nothing was followed (ask "
			    "the hub operator)", f->last, f->hub);
}

/* Read the hub entries not followed yet into f->items (only their
 * change-set ids for the county feeds they include). The entry followed
 * last must still be in the hub feed: with its commit remembered, the
 * chain from the tip must pass through that commit (which pins every
 * entry below it; only what is new is read); without, its bytes must
 * have the hash followed. So a rewrite is caught at the next sync, also
 * one that keeps the feed's length. */
static int read_hub_entries(follow *f, hj_gitrepo *repo)
{
	char ref[200], *key = NULL;
	git_oid tip;
	uint64_t tipseq;
	int rc = hj_meta_get(&key, f->n->db, "hub_key");
	if (rc && rc != HJ_ENOTFOUND)
		goto done;
	if (!key || hj_hex_decode(f->hub_pk, 32, key)) {
		rc = hj_error_set(HJ_EINVALID, "no valid hub key in this node (init --hub-key)");
		goto done;
	}
	snprintf(ref, sizeof ref, "refs/huiji/incoming/hub/%s", f->hub);
	if ((rc = hj_gitfeed_tip(repo, ref, &tipseq, &tip)))
		goto done;
	sqlite3_stmt *s = hj_db_stmt(f->n->db, "SELECT seq, hash FROM hub_feed ORDER BY seq DESC LIMIT 1");
	if ((rc = s ? hj_db_step(f->n->db, s) : HJ_ERROR) == 1) {
		const void *h = sqlite3_column_blob(s, 1);
		f->last = (uint64_t)sqlite3_column_int64(s, 0);
		if (h && sqlite3_column_bytes(s, 1) == 32)
			memcpy(f->last_hash, h, 32);
		else
			rc = hj_error_set(HJ_ECORRUPT, "hub_feed seq %" PRIu64 ": hash is not 32 bytes", f->last);
	}
	hj_db_release(f->n->db, s);
	if (rc < 0)
		goto done;
	rc = 0;
	f->old_last = f->last;
	if (tipseq < f->last) {
		rc = hj_error_set(HJ_ECORRUPT, "the hub rewrote its history at entry %" PRIu64 ": hub feed %s now "
				  "ends at entry %" PRIu64 " but this county followed %" PRIu64 "; nothing was "
				  "followed (ask the hub operator)", tipseq + 1, f->hub, tipseq, f->last);
		goto done;
	}
	if (!tipseq || (rc = load_followed_commit(f)))
		goto done; /* !tipseq: nothing published, nothing followed */
	f->progress_total = tipseq > f->last ? tipseq - f->last : 0; /* the entries this sync reads */
	if (f->have_commit)
		rc = hj_gitfeed_walk_since(repo, &tip, f->hub, &f->last_commit, f->last, on_hub_entry, f);
	else
		rc = hj_gitfeed_walk(repo, &tip, f->hub, f->last ? f->last - 1 : 0, on_hub_entry, f);
	if (rc == HJ_ECONFLICT && f->have_commit)
		rc = name_rewrite(f, repo, &tip);
	if (rc < 0)
		goto done;
	rc = 0;
done:
	free(key);
	return rc;
}

/* This node's own sequenced change sets, and every node's of a legacy
 * entry, from the sequenced refs, node by node. A legacy one whose ref
 * this fetch did not bring sets need_feeds (the caller fetches them all). */
static int fill_from_feeds(follow *f, hj_gitrepo *repo)
{
	char ref[200];
	git_oid tip;
	uint64_t tipseq;
	int rc;
	for (size_t i = 0; i < f->nitems; i++) {
		item *it = &f->items[i];
		if (it->bytes || !hj_follow_from_feed(f, it))
			continue;
		fill fl = {f, it->node, i};
		snprintf(ref, sizeof ref, "refs/huiji/incoming/feeds/%s", it->node);
		if ((rc = hj_gitfeed_tip(repo, ref, &tipseq, &tip)))
			return rc;
		if (tipseq < it->seq && strcmp(it->node, f->n->id) != 0) {
			f->need_feeds = 1;
			continue;
		}
		if (tipseq < it->seq)
			return hj_error_set(HJ_ECORRUPT, "the hub sequenced %s seq %" PRIu64 " but its feed ends at %" PRIu64,
					    it->node, it->seq, tipseq);
		if ((rc = hj_gitfeed_walk(repo, &tip, it->node, it->seq - 1, on_feed_cs, &fl)) < 0)
			return rc;
		if (!it->bytes)
			return hj_error_set(HJ_ECORRUPT, "feed %s seq %" PRIu64 " not found", it->node, it->seq);
	}
	return 0;
}

/* Is this computer's clock far off? The hub's entry times are the
 * reference (DESIGN: no clock decides a verdict, but a clerk must know):
 * an own change set signed more than a day after the entry that included
 * it was made on a clock running ahead; an entry made more than a day
 * after this computer's "now" means this clock runs behind. */
static int clock_check_own(hj_node *n, int64_t after_pos, hj_sync_report *rep)
{
	/* created_at of the county's own change sets is in its change log: no
	 * envelope is read again for it. Only the rows this sync followed. */
	sqlite3_stmt *st = hj_db_stmt(n->db, "SELECT coalesce(max(c.created_at - f.hub_at), 0) FROM followed f "
					     "JOIN changelog c ON c.seq = f.seq WHERE f.node = :n AND f.hub_at > 0 "
					     "AND f.pos > :after");
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":n", n->id) || hj_db_bind_int(st, ":after", after_pos)) ? HJ_ERROR
												 : hj_db_step(n->db, st);
	if (rc == 1) {
		int64_t ahead = sqlite3_column_int64(st, 0);
		if (ahead > HJ_RULES_DATE_GRACE_MS)
			rep->clock_ahead_ms = ahead;
		rc = 0;
	}
	hj_db_release(n->db, st);
	return rc;
}

static void clock_check_now(const follow *f, hj_sync_report *rep)
{
	int64_t behind = f->newest_at - hj_clock_ms();
	if (f->newest_at && behind > HJ_RULES_DATE_GRACE_MS)
		rep->clock_behind_ms = behind;
}

/* The item's place within its entry (replay orders by hub_seq, idx). */
static int set_idx(hj_db *db, const item *it)
{
	sqlite3_stmt *st = hj_db_stmt(db, "UPDATE followed SET idx = :i WHERE node = :n AND seq = :s");
	int rc = !st || hj_db_bind_int(st, ":i", it->idx) || hj_db_bind_text(st, ":n", it->node) ||
			 hj_db_bind_int(st, ":s", (int64_t)it->seq)
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

/* Append the followed items to the hub order and remember the last entry
 * followed (hub_feed) and its commit (meta hub_feed_commit), for the
 * chain check next time. In the caller's transaction. */
static int record_followed(follow *f, hj_sync_report *rep)
{
	hj_node *n = f->n;
	int rc;
	for (size_t i = 0; i < f->nitems; i++) {
		item *it = &f->items[i];
		if (it->drop)
			continue;
		if ((rc = hj_followed_append(n->db, &it->rules, it->hub_seq, it->node, it->seq, it->hash, it->bytes,
					     it->len, it->verdicts, it->keys)) ||
		    (it->idx && (rc = set_idx(n->db, it))))
			return rc;
		f->kept++;
		if (it->verdicts && strcmp(it->node, n->id) == 0) {
			hj_json *vd = NULL;
			if (hj_hub_verdicts_parse(&vd, it->verdicts, HJ_HUB_NOPS_ANY) == 0)
				rep->rejected += hj_hub_verdicts_rejected(vd);
			hj_json_free(vd);
		}
	}
	if (f->commit_seen && (f->entries || !f->have_commit) && (rc = save_followed_commit(f)))
		return rc;
	if (!f->entries)
		return 0;
	if ((rc = hj_followed_rules_set(n->db, f->rules.rules)) ||
	    (f->inbox_want > f->inbox_n && (rc = hj_follow_inbox_save(f))))
		return rc;
	sqlite3_stmt *s = hj_db_stmt(n->db, "INSERT OR REPLACE INTO hub_feed(seq, hash) VALUES (:s, :h)");
	if (!s)
		return HJ_ERROR;
	rc = (hj_db_bind_int(s, ":s", (int64_t)f->last) || hj_db_bind_blob(s, ":h", f->last_hash, 32))
		     ? HJ_ERROR
		     : hj_db_step(n->db, s);
	hj_db_release(n->db, s);
	return rc < 0 ? rc : 0;
}

/* The rebase (node/replay.h): undo the pending own change sets, fold the
 * hub's new decisions, replay what the hub has not seen yet. If an undo
 * record is missing or does not apply exactly, rebuild the whole
 * projection from the hub order instead: slower, same result. */
static int rebase(hj_node *n, int64_t old_last_pos, uint64_t old_own_done, int rebuild, hj_sync_report *rep)
{
	hj_replay_stats st;
	int rc;
	memset(&st, 0, sizeof st);
	if ((rc = hj_db_exec(n->db, "SAVEPOINT rebase")))
		return rc;
	/* A backfill put change sets below what was folded: only a rebuild
	 * folds them at their place. */
	rc = rebuild ? HJ_ECONFLICT : hj_rebase(n, old_last_pos, old_own_done, &st);
	if (rc == HJ_ECONFLICT || rc == HJ_ENOTFOUND) {
		if ((rc = hj_db_exec(n->db, "ROLLBACK TO rebase")) || (rc = hj_projection_clear(n->db)) ||
		    (rc = hj_replay(n->db, n, 0, &st)))
			return rc;
		rep->rebuilt = 1;
	}
	return rc ? rc : hj_db_exec(n->db, "RELEASE rebase");
}

int hj_sync_follow(hj_node *n, hj_gitrepo *repo, hj_sync_report *rep)
{
	return hj_sync_follow_with(n, repo, rep, NULL);
}

int hj_sync_follow_with(hj_node *n, hj_gitrepo *repo, hj_sync_report *rep, const hj_progress *progress)
{
	follow f = {0};
	char *hub = NULL;
	int rc = 0, in_tx = 0;

	f.n = n;
	f.progress = progress;
	rep->need_feeds = 0;
	if ((rc = hj_followed_rules_now(&f.rules, n->db)) || (rc = hj_follow_inbox_load(&f)))
		goto done;
	f.inbox_want = f.inbox_n;
	if ((rc = hub_node(&hub, n, repo)) || !hub)
		goto done; /* !hub: the hub has published nothing yet */
	f.hub = hub;
	if ((rc = read_hub_entries(&f, repo)) || (rc = fill_from_feeds(&f, repo)))
		goto done;
	if (f.need_feeds) {
		rep->need_feeds = 1; /* nothing followed: the caller fetches every feed and calls again */
		goto done;
	}
	if ((rc = hj_follow_fill_from_inbox(&f, repo)))
		goto done;
	if ((rc = hj_db_exec(n->db, "BEGIN IMMEDIATE")))
		goto done;
	in_tx = 1;
	/* The wraps the hub gave this node, before the fold that opens with them. */
	char wraps[200];
	snprintf(wraps, sizeof wraps, "refs/huiji/incoming/wraps/%s", n->id);
	if ((rc = hj_rewrap_take(n, repo, wraps, &rep->wraps_refused)))
		goto done;
	int64_t old_last_pos = 0;
	uint64_t old_own_done = 0;
	uint8_t ignored[32];
	if ((rc = hj_db_get_int(n->db, "SELECT coalesce(max(pos), 0) FROM followed", NULL, NULL, &old_last_pos)) ||
	    (rc = hj_followed_last(n->db, n->id, &old_own_done, ignored)) ||
	    (rc = hj_meta_set(n->db, "hub_node", hub)) || (rc = record_followed(&f, rep)) ||
	    (rc = clock_check_own(n, old_last_pos, rep)))
		goto done;
	/* Nothing new followed means the state is unchanged. */
	if (f.kept && (rc = rebase(n, old_last_pos, old_own_done, f.backfilled, rep)))
		goto done;
	rc = hj_db_exec(n->db, "COMMIT");
	in_tx = rc != 0;
	rep->entries = f.entries;
	clock_check_now(&f, rep);
	rep->upgrade_needed = f.upgrade;
	rep->upgrade_at = f.upgrade_at;
done:
	if (in_tx)
		hj_db_exec(n->db, "ROLLBACK");
	for (size_t i = 0; i < f.nitems; i++) { /* every item owns its bytes and verdicts */
		free(f.items[i].bytes);
		free(f.items[i].verdicts);
		free(f.items[i].keys);
	}
	free(f.items);
	free(f.ranges);
	free(hub);
	return rc;
}
