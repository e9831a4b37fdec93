/*
 * seqref.h — refs/huiji/sequenced/<node>, the history the hub vouches
 * for (counties and auditors fetch it), kept as a function of the hub's
 * registry.
 *
 * The hub's SQLite registry is the one source of truth: `followed` holds
 * the last seq and hash of every node sequenced, committed with the round
 * that sequenced it. The git refs are written after that COMMIT, so a
 * crash can leave one behind (or a libgit2 ref lock file behind it); the
 * sequencer therefore repairs every ref from `followed` at the start of
 * each pass, under its lock (sequencer.c), and only the sequencer writes
 * these refs.
 */
#ifndef HJ_SEQREF_H
#define HJ_SEQREF_H

#include "gitfeed.h"
#include "node.h"

#include <stddef.h>
#include <stdint.h>

/* "refs/huiji/sequenced/<node>". */
void hj_seqref_name(char *out, size_t outsz, const char *node);

/* Point the node's sequenced ref at `commit` (hits the kill point
 * "hub-tip-written" after the write). */
int hj_seqref_set(hj_gitrepo *repo, const char *node, const git_oid *commit);

/* Make refs/huiji/sequenced/<node> name the commit of the node's change
 * set `last` (hash `hash`, as `followed` records it), found by walking the
 * node's feed ref refs/huiji/feeds/<node> down to that seq (from the
 * current sequenced ref when it is an ancestor, else from the root),
 * every change set on the way checked against `followed`. 0 with the
 * commit in *out (the ref written only if it was elsewhere); HJ_ENOTFOUND
 * when the feed ref no longer holds that history (rewound, forked,
 * malformed: the sequencer's quarantine names it), the ref left as it
 * was; another negative code if the repository or registry cannot be
 * read. `last` >= 1. */
int hj_seqref_repair(git_oid *out, hj_db *db, hj_gitrepo *repo, const char *node, uint64_t last,
		     const uint8_t hash[32]);

/* hj_seqref_repair for every node in `followed` but the hub itself (whose
 * feed is refs/huiji/hub/<id>, the outbox's). A node whose history is gone
 * from its feed is left for the round to quarantine. */
int hj_seqref_repair_all(hj_node *hub, hj_gitrepo *repo);

#endif
