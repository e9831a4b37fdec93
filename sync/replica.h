/*
 * replica.h — repairing what a county fetched into its replica.git when
 * a pack of it was lost (deleted, truncated, its .idx left behind).
 *
 * Nothing fetched is precious: the hub holds it all and it is checked
 * again on every follow. So a feed whose history no longer reads back is
 * dropped (its ref under refs/huiji/incoming/, or the push scratch ref
 * refs/huiji/outgoing/) and fetched again; libgit2 negotiates a fetch or a
 * push from every local ref and every commit it holds, and fails on one
 * whose parents are gone, which without this would fail every sync.
 */
#ifndef HJ_REPLICA_H
#define HJ_REPLICA_H

#include "gitrepo.h"
#include "node.h"

/* Drop the refs a sync alone writes (refs/huiji/incoming/hub/, incoming/
 * feeds/, outgoing/) that name objects no longer here: the tip (cheap,
 * done on every sync) or, with `whole`, any commit or change set below
 * it. Returns how many were dropped, or a negative HJ_E* code. */
int hj_replica_drop_unreadable(hj_gitrepo *repo, int whole);

/* A transfer or the follow failed with `rc` on something missing or
 * unreadable. If a fetched feed no longer reads back whole, drop it,
 * compact the replica (hj_outbox_compact: the rest of its history goes
 * too), reopen *repo and return 1: fetch again. Else `rc`, its message
 * kept (the fault is not this replica's: a rewritten hub feed, say), or
 * the code of a failed repair. Only under the sync lock. */
int hj_replica_after_lost(hj_node *n, hj_gitrepo **repo, int rc);

#endif
