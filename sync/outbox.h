/*
 * outbox.h — a node's git replica and its feed ref, kept behind SQLite.
 *
 * SQLite is the commit point of a change set; git is written after. A
 * change set committed to the change log but not yet in git (the process
 * died in between) is written by the next command that flushes the outbox,
 * so a crash between the two loses nothing (DESIGN §2 step 3).
 */
#ifndef HJ_OUTBOX_H
#define HJ_OUTBOX_H

#include "gitfeed.h"
#include "node.h"

/* "refs/huiji/feeds/<id>" for a county, "refs/huiji/hub/<id>" for a hub. */
void hj_node_feed_ref(const hj_node *n, char *out, size_t outsz);

/* The node's bare repository: D/hub.git for a hub (the one git servers
 * serve), D/replica.git for a county. Creates it if missing.
 * CONSTRUCTOR: hj_gitrepo_close. */
int hj_node_repo_open(hj_gitrepo **out, const hj_node *n);
char *hj_node_repo_path(const hj_node *n); /* malloc'd */

/* Write every change set the git feed lacks, in packs of at most 1000.
 * *written (optional) gets the count. */
int hj_outbox_flush(const hj_node *n, hj_gitrepo *repo, uint64_t *written);

/* Repair the node's replica after it lost a pack (deleted, truncated, its
 * .idx left behind): packs whose .pack is missing or does not end with the
 * checksum their .idx records are removed, and if the own feed then does
 * not read back (its tip; with `whole`, every commit and change set) it is
 * written again from the change log. Fetched objects are not this
 * function's: sync drops refs to what is gone and fetches again.
 * *repaired = 1 if anything was removed or written: a repository handle
 * opened before must then be reopened (libgit2 keeps a removed pack's
 * index). Takes the outbox writer lock; opens its own handle. */
int hj_outbox_repair(const hj_node *n, int whole, int *repaired);

/* Everything reachable from a ref into one new pack, every other pack
 * removed, so what no ref reaches is gone: after sync dropped the refs of
 * a feed whose history was partly lost, the rest of that history, which
 * libgit2 would otherwise take as held and negotiate from. Only under the
 * sync lock. Takes the outbox writer lock; a handle opened before must be
 * reopened. */
int hj_outbox_compact(const hj_node *n);

#endif
