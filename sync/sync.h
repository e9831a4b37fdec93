/*
 * sync.h — a county catching up with its hub: push its own feed, fetch the
 * hub feed and the feeds it sequenced, follow the hub order, rebase.
 *
 * Every step is idempotent and safe to interrupt at any byte:
 *  - each attempt starts by asking the hub what it holds of this feed (a
 *    push whose outcome was unknown is settled there);
 *  - the feed is pushed in chunks bounded in bytes, fast-forwarding the
 *    hub's ref to intermediate change sets, so a chunk that landed is never
 *    sent again (git cannot resume a half-sent pack); a dropped push halves
 *    the chunk and a landed one doubles it back (up to the cap), so a link
 *    that drops more often than one chunk still lands one per attempt;
 *  - what is fetched is the hub feed and the history the hub sequenced of
 *    each feed (refs/huiji/sequenced/<node>, written only by the hub, so a
 *    fork pushed to a feed ref cannot take anything away); it lands in
 *    refs/huiji/incoming/ (forced), and nothing is believed before it
 *    verifies: the hub feed under the hub key, each sequenced change set
 *    against the hash the hub signed;
 *  - following and the rebase are one SQLite transaction.
 */
#ifndef HJ_SYNC_H
#define HJ_SYNC_H

#include "progress.h"
#include "node.h"
#include "transport.h"

typedef struct hj_sync_opts {
	int retries;       /* attempts after the first; default 4 */
	int backoff_ms;    /* first back-off; doubles, capped at 30 s, +0-50% jitter */
	int chunk;         /* at most this many change sets per push; default 0: no limit */
	size_t chunk_bytes; /* cap of a push chunk in envelope bytes; default HJ_SYNC_CHUNK_BYTES */
	hj_net_opts net;
	/* Told the hub entries applied of those fetched (a first sync may
	 * fetch a province's history); fn NULL: none. */
	hj_progress progress;
} hj_sync_opts;

/* 256 KiB of envelopes (about twice that of pack on the wire, with each
 * change set's commit and tree): seconds on a slow rural link, and few
 * pushes (each one a connection and a hook run) on a good one. */
#define HJ_SYNC_CHUNK_BYTES ((size_t)256 * 1024)
/* Smallest budget a drop halves to; a chunk still holds one change set
 * however big it is. */
#define HJ_SYNC_CHUNK_MIN ((size_t)1024)

void hj_sync_opts_default(hj_sync_opts *o);

/* Push chunk sizing, exposed for its unit test. The chunk after the hub's
 * seq `from` (of `n`; len[i] is seq i + 1's envelope size) ends at the
 * returned seq: as many change sets as fit in `budget` bytes, at least
 * one, at most `max_sets` (0: no limit). Needs from < n. */
uint64_t hj_sync_chunk_end(const size_t *len, uint64_t from, uint64_t n, size_t budget, uint64_t max_sets);

/* The budget for the next chunk after one of `sent` bytes: half of what
 * was sent after a dropped push (never below HJ_SYNC_CHUNK_MIN), double
 * the budget after a landed one (never above `cap`). */
size_t hj_sync_chunk_next(size_t budget, size_t sent, int dropped, size_t cap);

typedef struct hj_sync_report {
	uint64_t pushed;        /* change sets the hub accepted in this sync */
	uint64_t entries;       /* new hub feed entries followed */
	uint64_t rejected;      /* own ops the hub rejected in those entries */
	uint64_t pending;       /* own change sets not yet sequenced */
	int attempts;
	int rebuilt;            /* the rebase fell back to a full rebuild */
	int upgrade_needed;     /* stopped at an entry from a newer huiji */
	/* hj_sync_follow: entries from before the inbox need every node's
	 * sequenced feed, which this fetch did not bring (nothing followed);
	 * hj_sync: it fetched them for such entries. */
	int need_feeds;
	uint64_t upgrade_at;    /* its hub seq */
	/* This computer's clock against the hub's entry times (follow.c):
	 * how far ahead / behind it was seen, ms; 0 when within a day. */
	int64_t clock_ahead_ms, clock_behind_ms;
	/* Items of this node's wraps ref (wraps.h) that did not read: the
	 * fields they would open stay shut; no verdict depends on them. */
	int wraps_refused;
} hj_sync_report;

/* Returns 0 (synced), HJ_ENET (offline after all retries: nothing lost),
 * or another error (a refusal by the hub, a fork, corrupt data). */
int hj_sync(hj_node *n, const hj_sync_opts *o, hj_sync_report *rep);

/* Follow what has been fetched into refs/huiji/incoming/ (no network):
 * verify, append to the hub order, rebase. Also used for USB bundles. */
int hj_sync_follow(hj_node *n, hj_gitrepo *repo, hj_sync_report *rep);
/* The same, telling `progress` (NULL: no one) each hub entry applied. */
int hj_sync_follow_with(hj_node *n, hj_gitrepo *repo, hj_sync_report *rep, const hj_progress *progress);

#endif
