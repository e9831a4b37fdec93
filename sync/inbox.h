/*
 * inbox.h — refs/huiji/inbox/<node>: what the hub delivers to one node
 * (DESIGN §3). The hub side: recording deliveries as the sequencer folds
 * (table `inbox`, schema/011) and keeping the git refs a function of that
 * table. The county side reads its inbox in follow.c.
 *
 * An inbox is a feed in gitfeed.h's format for the pseudo-node
 * "inbox:<node>": delivery n is commit n, its blob the delivered change
 * set's envelope unchanged (so it stays verifiable end to end: signed by
 * its author, its hash in the hub entry that sequenced it), its commit
 * time the envelope's (as in every feed: the ids depend on the bytes only). Only the hub writes it (the hook refuses pushes outside
 * refs/huiji/feeds/); written after the round's COMMIT and before the hub
 * feed, and repaired at the start of every pass, like the sequenced refs.
 */
#ifndef HJ_INBOX_H
#define HJ_INBOX_H

#include "deliver.h"
#include "gitfeed.h"
#include "hub_entry.h"
#include "node.h"

#include <stddef.h>
#include <stdint.h>

/* "refs/huiji/inbox/<node>" and the feed label "inbox:<node>". */
void hj_inbox_ref(char *out, size_t outsz, const char *node);
void hj_inbox_label(char *out, size_t outsz, const char *node);

/* The change set the hub order holds at `pos` touched `unions` (table
 * touch, for the backfill of nodes enrolled later); then deliver it
 * (src_node, src_seq, sequenced by entry hub_seq) to every node that
 * holds one of them: one inbox row each, and its count into the entry
 * (enc NULL: into the table only — the auditor, sync/audit_inbox.c,
 * re-derives them on its own registry and reads the table).
 * With the hub's unsealer and the change set's ops, also the wraps each
 * recipient needs for seals that do not name it (wraps.h; NULL: none).
 * In the sequencer's transaction (a change set taken back out rolls them
 * back). */
int hj_inbox_deliver(hj_db *db, hj_hub_entry_enc *enc, const hj_idset *unions, int64_t pos, uint64_t hub_seq,
		     const char *src_node, uint64_t src_seq, const hj_unsealer *hub, const hj_json *ops);

/* Begin the inbox of every union node enrolled since the last round: give
 * it, in hub order, every change set sequenced so far that touched its
 * subtree or everyone (its backfill), counted into the entry being built
 * (entry hub_seq). Nodes enrolled before the inbox began hold that
 * history already (schema/011). */
int hj_inbox_backfill(hj_node *hub, hj_hub_entry_enc *enc, uint64_t hub_seq);

/* The same on any registry `db` whose hub is `hub` (never given a
 * backfill); enc NULL: the deliveries go into the table only; seal NULL:
 * no wraps (the hub's unsealer re-wraps what the node was not sealed). The
 * auditor runs it on its re-fold at each v3 entry, as the sequencer at
 * each round. */
int hj_inbox_backfill_db(hj_db *db, const char *hub, const hj_unsealer *seal, hj_hub_entry_enc *enc,
			 uint64_t hub_seq);

/* Bring every node's inbox ref up to the table: append the deliveries it
 * lacks, in batches, one pack each. HJ_ECORRUPT if a ref holds more than
 * the table (someone else wrote it). */
int hj_inbox_repair_all(hj_node *hub, hj_gitrepo *repo);

/* The same for one node (after a round: the nodes its entry delivered to). */
int hj_inbox_repair(hj_node *hub, hj_gitrepo *repo, const char *node);

#endif
