/*
 * sequencer.h — the hub: read every feed in the hub repository, include
 * each node's new change sets strictly in seq order, fold them into the
 * merged registry, and sign a sequence entry saying what was included, the
 * verdict of every op, and the digest of the resulting state (DESIGN §5).
 *
 * Sequence entry = a change set of the hub's own feed whose payload is one
 * op "hub.sequence": the change sets included, the verdict of each of
 * their ops, the state digest after them. Its format and its only encoder
 * and decoder live in node/hub_entry.c. Everything in it can be recomputed
 * by an auditor from the signed feeds alone.
 */
#ifndef HJ_SEQUENCER_H
#define HJ_SEQUENCER_H

#include "progress.h"
#include "gitfeed.h"
#include "hub_entry.h"
#include "node.h"
#include "transport.h"

#define HJ_SEQ_MAX_INCLUDE HJ_HUB_MAX_INCLUDE /* change sets per entry: keeps an entry < 1 MiB */

typedef struct hj_seq_report {
	uint64_t entries;      /* sequence entries written */
	uint64_t change_sets;  /* change sets included */
	uint64_t ops;
	uint64_t rejected;     /* ops rejected */
	uint64_t quarantined;  /* change sets newly quarantined */
	uint64_t waiting;      /* feeds of nodes not enrolled yet */
} hj_seq_report;

typedef struct hj_seq_opts {
	size_t max_entry_bytes; /* 0: HJ_HUB_ENTRY_MAX_BYTES (tests set less) */
	/* 0: the newest format and rules. 1: entry v1 under rules 1, what
	 * huiji wrote before rules versions (tests build an old province). */
	int entry_version;
	/* How long following each peer province may take (sync/peer.h);
	 * NULL: its defaults. */
	const hj_net_opts *peer_net;
	/* Told each change set sequenced (total not known); fn NULL: none. */
	hj_progress progress;
} hj_seq_opts;

/* One pass over all feeds until nothing new is left. Crash-safe: the hub's
 * registry is the commit point; the pass first repairs the git refs from
 * it (hj_hub_publish), so a pass killed anywhere is continued by the
 * next. One pass per hub at a time (a lock file in hub.git; a second
 * caller waits for the first). Entries are bounded by HJ_SEQ_MAX_INCLUDE
 * change sets and by bytes: a change set whose verdicts do not fit in the
 * current entry starts the next one, and one that cannot fit even alone
 * is quarantined as too_big (evidence kept), so no input can make an
 * entry too big to write. o may be NULL. */
int hj_hub_sequence(hj_node *hub, hj_gitrepo *repo, hj_seq_report *rep);
int hj_hub_sequence_opts(hj_node *hub, hj_gitrepo *repo, const hj_seq_opts *o, hj_seq_report *rep);

/* Bring the hub repository up to the registry, under the same lock: every
 * refs/huiji/sequenced/<node> to the node's last sequenced change set (a
 * stale ref lock under it removed), then the hub feed
 * refs/huiji/hub/<id> to the whole change log. What every hub command
 * calls instead of hj_outbox_flush, so the hub feed never names a change
 * set a county cannot fetch yet. */
int hj_hub_publish(hj_node *hub, hj_gitrepo *repo);

#endif
