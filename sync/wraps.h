/*
 * wraps.h — refs/huiji/wraps/<node>: the data keys the hub re-wrapped
 * for a node it delivered sealed fields to that their author did not name
 * (node/rewrap.h says when and why no signature is needed). The hub side:
 * recording them with the delivery (table rewrap, schema/013) and keeping
 * the git ref a function of that table, like the inbox (inbox.h). The
 * county side: taking them into table seal_wrap before it follows, so the
 * fold opens what it was given.
 *
 * A wraps ref is a feed in gitfeed.h's format for the pseudo-node
 * "wraps:<node>": item n is rewrap row n, its blob the JSON text
 * [[commitment, wrap], ...], its commit time the time of the entry that
 * delivered what it opens (stored with it: the ids are the table's).
 */
#ifndef HJ_WRAPS_H
#define HJ_WRAPS_H

#include "fold.h"
#include "gitfeed.h"
#include "node.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes of one wraps item; a delivery needing more is split. */
#define HJ_REWRAP_ITEM_MAX (512u << 10)

/* "refs/huiji/wraps/<node>" and the feed label "wraps:<node>". */
void hj_rewrap_ref(char *out, size_t outsz, const char *node);
void hj_rewrap_label(char *out, size_t outsz, const char *node);

/* The wraps node `to` needs for the ops of one change set delivered to it
 * by entry hub_seq (none: no row), re-wrapped with the hub's unsealer. In
 * the sequencer's transaction. */
int hj_rewrap_deliver(hj_db *db, const hj_unsealer *hub, const char *to, const hj_json *ops, uint64_t hub_seq,
		      int64_t at_ms);

/* The same for a change set as its envelope bytes (a backfill). */
int hj_rewrap_deliver_envelope(hj_db *db, const hj_unsealer *hub, const char *to, const uint8_t *bytes, size_t len,
			       uint64_t hub_seq, int64_t at_ms);

/* The audit committee's auditor nodes read every feed but may be
 * enrolled after history was sealed: each round re-wraps its change sets'
 * seals for every enrolled auditor they do not name, and the first round
 * that sees an auditor re-wraps all history before it (table
 * rewrap_node). In the sequencer's transaction. */
int hj_rewrap_auditors(hj_db *db, const hj_unsealer *hub, const hj_json *ops, uint64_t hub_seq, int64_t at_ms);
int hj_rewrap_backfill_auditors(hj_db *db, const hj_unsealer *hub, uint64_t hub_seq, int64_t at_ms);

/* Bring node's wraps ref (or every node's, or every auditor's) up to the table. HJ_ECORRUPT
 * if a ref holds more than the table. */
int hj_rewrap_repair(hj_node *hub, hj_gitrepo *repo, const char *node);
int hj_rewrap_repair_all(hj_node *hub, hj_gitrepo *repo);
int hj_rewrap_repair_auditors(hj_node *hub, hj_gitrepo *repo);

/* County: take the wraps fetched into `ref` (what sync names
 * refs/huiji/incoming/wraps/<self>) that are new since the last time
 * (meta wraps_commit) into seal_wrap; a rewritten ref is read again
 * whole. Advisory: a ref that does not read as a wraps feed is left and
 * counted in *refused (fields stay shut, no verdict changes), a failed
 * write is an error. */
int hj_rewrap_take(hj_node *n, hj_gitrepo *repo, const char *ref, int *refused);

/* The same into any registry `db` for node `node`'s wraps (an auditor's,
 * read by the audit into its re-fold). */
int hj_rewrap_take_db(hj_db *db, const char *node, hj_gitrepo *repo, const char *ref, int *refused);

#endif
