/*
 * sync.h — a county catching up with its hub: push its own feed, fetch the
 * hub feed and the feeds it sequenced, follow the hub order, rebase.
 *
 * Every step is idempotent and safe to interrupt at any byte:
 *  - each attempt starts by asking the hub what it holds of this feed (a
 *    push whose outcome was unknown is settled there);
 *  - the feed is pushed in bounded chunks, fast-forwarding the hub's ref
 *    to intermediate change sets, so a chunk that landed is never sent
 *    again (git cannot resume a half-sent pack);
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

#include "node.h"
#include "transport.h"

typedef struct hj_sync_opts {
	int retries;       /* attempts after the first; default 4 */
	int backoff_ms;    /* first back-off; doubles, capped at 30 s, +0-50% jitter */
	int chunk;         /* change sets per push; default 500 */
	hj_net_opts net;
} hj_sync_opts;

void hj_sync_opts_default(hj_sync_opts *o);

typedef struct hj_sync_report {
	uint64_t pushed;        /* change sets the hub accepted in this sync */
	uint64_t entries;       /* new hub feed entries followed */
	uint64_t rejected;      /* own ops the hub rejected in those entries */
	uint64_t pending;       /* own change sets not yet sequenced */
	int attempts;
	int rebuilt;            /* the rebase fell back to a full rebuild */
	int upgrade_needed;     /* stopped at an entry from a newer huiji */
	uint64_t upgrade_at;    /* its hub seq */
} hj_sync_report;

/* Returns 0 (synced), HJ_ENET (offline after all retries: nothing lost),
 * or another error (a refusal by the hub, a fork, corrupt data). */
int hj_sync(hj_node *n, const hj_sync_opts *o, hj_sync_report *rep);

/* Follow what has been fetched into refs/huiji/incoming/ (no network):
 * verify, append to the hub order, rebase. Also used for USB bundles. */
int hj_sync_follow(hj_node *n, hj_gitrepo *repo, hj_sync_report *rep);

#endif
