/*
 * gitfeed.h — a node's feed of change sets stored as a chain of git commits.
 *
 * One commit per change set: its tree holds exactly one blob "changeset"
 * (the envelope bytes) and its parent is the previous change set's commit.
 * Commits are deterministic (same envelope, node, seq, created_at => same id
 * on every machine), appends write one pack per batch (never loose objects)
 * and move the ref only afterwards, by compare-and-swap. The repository
 * handle and plain ref operations are gitrepo.h's (included here).
 */
#ifndef HJ_GITFEED_H
#define HJ_GITFEED_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "buf.h"
#include "gitrepo.h"

typedef struct hj_feed_item {
	const uint8_t *bytes; /* the envelope, opaque here */
	size_t len;
	uint64_t seq;       /* >= 1 */
	int64_t created_at; /* ms since epoch, >= 0; commit time = /1000 */
} hj_feed_item;

/* Append n >= 1 change sets with consecutive seqs to `ref` for feed `node`.
 * The ref's tip must be at items[0].seq - 1 (read from the tip commit's
 * message; for seq 1 the ref must be absent) and belong to `node`, else
 * HJ_ECONFLICT and nothing changes. Writes one pack for the whole batch,
 * then one compare-and-swap ref update (HJ_ECONFLICT if the ref moved
 * meanwhile; the pack then stays behind, unreferenced and harmless).
 * `node` is 1..255 bytes of printable ASCII without spaces. */
int hj_gitfeed_append(hj_gitrepo *r, const char *ref, const char *node,
		      const hj_feed_item *items, size_t n);

/* Items to append, owning copies of their bytes: up to HJ_FEED_BATCH. */
#define HJ_FEED_BATCH 500
typedef struct hj_feed_batch {
	hj_feed_item it[HJ_FEED_BATCH];
	uint8_t *own[HJ_FEED_BATCH];
	size_t n;
} hj_feed_batch;

/* A copy of len bytes as the next item (seq, created_at as for an
 * append). HJ_ETOOBIG when full, HJ_ENOMEM. */
int hj_feed_batch_add(hj_feed_batch *b, const void *bytes, size_t len, uint64_t seq, int64_t created_at);
void hj_feed_batch_clear(hj_feed_batch *b);

/* Where hj_gitfeed_catch_up reads what a ref lacks: fill `b` (empty) with
 * the items after `after`, in order (none: there are none). 0 or an
 * error. */
typedef int (*hj_gitfeed_source)(void *ctx, uint64_t after, hj_feed_batch *b);

/* Bring `ref` (feed `label`), a function of a table the caller reads
 * through `next`, up to `want` items: append what it lacks, a batch (one
 * pack) at a time, naming kill point `killpoint` after each. HJ_ECORRUPT
 * if the ref holds more than `want` (someone else wrote it) or the table
 * has a gap. The inboxes and the wraps refs are such feeds. */
int hj_gitfeed_catch_up(hj_gitrepo *r, const char *ref, const char *label, uint64_t want, hj_gitfeed_source next,
			void *ctx, const char *killpoint);

/* The tip of `ref`: *seq_out = 0 and a zero oid if the ref does not exist.
 * The seq comes from the tip commit's message "huiji <node> <seq>\n",
 * strictly parsed (HJ_ECORRUPT otherwise). Either out pointer may be NULL. */
int hj_gitfeed_tip(hj_gitrepo *r, const char *ref, uint64_t *seq_out,
		   git_oid *oid_out);

/* Called oldest first; `bytes` is valid only during the call. A non-zero
 * return stops the walk and is returned by hj_gitfeed_walk. */
typedef int (*hj_gitfeed_cb)(void *ctx, uint64_t seq, const git_oid *commit,
			     const uint8_t *bytes, size_t len);

/* Validate the whole chain ending at commit `tip` (first parent back to the
 * root), then call cb for each commit with seq > after_seq, oldest first.
 * Every commit must be exactly what hj_gitfeed_append writes for `node`:
 * one tree entry "changeset" (blob, 100644), at most one parent, message
 * "huiji <node> <seq>\n" with seqs consecutive from 1 at the root, canonical
 * author/committer and no extra headers; otherwise HJ_ECORRUPT naming the
 * commit. HJ_ENOTFOUND if `tip` is not a commit in the repository.
 * Memory: two oids per change set; blobs are read one at a time. */
int hj_gitfeed_walk(hj_gitrepo *r, const git_oid *tip, const char *node,
		    uint64_t after_seq, hj_gitfeed_cb cb, void *ctx);

/* hj_gitfeed_walk from seq 1 for an auditor of a damaged repository: a
 * change set whose blob or tree is not in the repository (damaged, so not
 * copied) is handed to cb as bytes NULL, len 0, and the walk goes on, so
 * the one seq that lost it can be named. Commits are checked as strictly
 * (a commit without its tree cannot be checked for canonical form; the
 * change set is lost anyway); a missing commit still ends the walk. */
int hj_gitfeed_walk_salvage(hj_gitrepo *r, const git_oid *tip, const char *node, hj_gitfeed_cb cb, void *ctx);

/* Like hj_gitfeed_walk, but stop at `base`, a commit of this feed the
 * caller already trusts at `base_seq` (a ref it wrote after verifying):
 * only the commits above it are read, and cb sees seqs > base_seq. Cost is
 * proportional to what is new, not to the feed. HJ_ECONFLICT if the chain
 * from `tip` does not pass through `base` (rewritten or forked). */
int hj_gitfeed_walk_since(hj_gitrepo *r, const git_oid *tip, const char *node, const git_oid *base,
			  uint64_t base_seq, hj_gitfeed_cb cb, void *ctx);

/* The commit id a change set gets (computed, nothing is written).
 * `parent_or_null` must be NULL exactly when seq == 1. `r` may be NULL. */
int hj_gitfeed_commit_id(git_oid *out, hj_gitrepo *r,
			 const git_oid *parent_or_null, const char *node,
			 uint64_t seq, int64_t created_at, const uint8_t *bytes,
			 size_t len);

/* The seq of `commit`, a change set of `node`'s feed, from its message
 * "huiji <node> <seq>\n" (strictly parsed; HJ_ECORRUPT otherwise, also when
 * it names another node; HJ_ENOTFOUND if the commit is not here). The
 * chain below it is not checked. */
int hj_gitfeed_commit_seq(uint64_t *seq_out, hj_gitrepo *r, const git_oid *commit, const char *node);

/* Point `ref` at `new_oid` if it currently points at `expected_old`
 * (NULL or zero oid: the ref must not exist). HJ_ECONFLICT if it does not.
 * `log_message` may be NULL. */
int hj_gitref_cas(hj_gitrepo *r, const char *ref, const git_oid *new_oid,
		  const git_oid *expected_old, const char *log_message);

/* The change set bytes of one commit (its "changeset" blob), appended to
 * `out`, without checking the chain: e.g. an old tip already verified.
 * HJ_ENOTFOUND if `commit` is not a commit here, HJ_ECORRUPT if it has no
 * "changeset" blob. */
int hj_gitfeed_read(hj_buf *out, hj_gitrepo *r, const git_oid *commit);

/* 1 if `ancestor` is on the first-parent chain of `descendant` (or equal
 * to it), 0 if not, negative HJ_E* if that chain cannot be read. */
int hj_gitfeed_is_ancestor(hj_gitrepo *r, const git_oid *ancestor,
			   const git_oid *descendant);

#endif
