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

#endif
