/*
 * replay.h — the registry as a pure function of what a node has followed:
 *
 *   projection = fold(followed rows in hub order) + fold(own pending)
 *
 * `followed` holds the change sets the hub sequenced, with the hub's
 * verdict on each op; "own pending" are this node's change sets the hub has
 * not sequenced yet. A county rebuilds its projection this way after every
 * sync (the rebase: its pending ops are replayed on top of the hub's
 * decisions); `verify` replays into a scratch registry and compares.
 *
 * Two modes. FULL (the hub, audits): every op is folded and must reach the
 * verdict the hub recorded. SUBTREE (a county): the hub's verdict is
 * trusted; rejected ops are skipped, and member ops outside the county's
 * subtree are not held locally, so only ops on its own rows are folded.
 */
#ifndef HJ_REPLAY_H
#define HJ_REPLAY_H

#include "json.h"
#include "node.h"

typedef struct hj_replay_stats {
	uint64_t followed;   /* change sets from the hub order */
	uint64_t pending;    /* own change sets not yet sequenced */
	uint64_t ops;        /* ops folded */
	uint64_t skipped;    /* ops outside the subtree or rejected by the hub */
	uint64_t pending_rejected; /* own pending ops the current state refuses */
} hj_replay_stats;

/* Replay `n`'s followed rows and pending change sets (read from n->db) into
 * `target` (n->db itself for a rebuild, whose projection must have been
 * emptied, or a scratch registry). check_sigs: verify every envelope's
 * signature against the key enrolled at that point of the order. */
int hj_replay(hj_db *target, const hj_node *n, int check_sigs, hj_replay_stats *st);

/* The rebase (county, live registry, inside the caller's transaction):
 * undo the own change sets that were pending (seq > old_own_done) with
 * their recorded inverses, newest first; fold the followed rows added
 * after old_last_pos; replay what is still pending, recording new
 * inverses. HJ_ECONFLICT / HJ_ENOTFOUND if an inverse is missing or does
 * not apply exactly: the caller then rolls back to a savepoint and uses
 * the full replay. */
int hj_rebase(const hj_node *n, int64_t old_last_pos, uint64_t old_own_done, hj_replay_stats *st);

/* The key a change set by `node` must verify under, at this point of the
 * order held in `db`: the enrolled key, else (before enrolment reaches
 * this node) the node's own or its hub's key from local state. */
int hj_replay_key(hj_db *db, const hj_node *n, const char *node, uint8_t pk[32]);

#endif
