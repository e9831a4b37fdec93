/*
 * followed.h — the hub order as a node holds it (table `followed`): every
 * change set the hub sequenced, in order, with the hub's verdicts.
 */
#ifndef HJ_FOLLOWED_H
#define HJ_FOLLOWED_H

#include "json.h"
#include "node.h"

#include <stddef.h>
#include <stdint.h>

/* The rules a change set of the hub order is re-folded under (rules.h):
 * its hub entry's rules version and time (v1 entries: 1 and 0). */
typedef struct hj_followed_rules {
	uint32_t rules;
	int64_t at_ms; /* 0: the change set's own created_at is its "now" */
} hj_followed_rules;

/* Append a change set to the hub order (inside the caller's transaction).
 * verdicts: JSON text, or NULL when every op applied; keys: the person
 * keys the hub gave its ops (hub entry v4, JSON text), or NULL. */
int hj_followed_append(hj_db *db, const hj_followed_rules *rules, uint64_t hub_seq, const char *node, uint64_t seq,
		       const uint8_t hash[32], const uint8_t *envelope, size_t len, const char *verdicts,
		       const char *keys);

/* The rules of the last hub entry this node followed or (the hub) wrote,
 * meta "hub_rules" (1 before any): what the hub's own change sets are
 * folded under. *out's at_ms is 0. */
int hj_followed_rules_now(hj_followed_rules *out, hj_db *db);
int hj_followed_rules_set(hj_db *db, uint32_t rules);

/* The hash the hub order holds for (node, seq): 0 with out[32] filled,
 * HJ_ENOTFOUND if there is no such row (or its hash is not 32 bytes), or
 * an error. */
int hj_followed_hash(uint8_t out[32], hj_db *db, const char *node, uint64_t seq);

/* The last seq of `node` in the hub order (0 if none). */
int hj_followed_last(hj_db *db, const char *node, uint64_t *seq, uint8_t hash[32]);

/* *out = this node's change sets not yet in the hub order (a hub: 0, it
 * sequences its own as they commit). 0 or an error. */
int hj_pending_count(int64_t *out, const hj_node *n);

/* A row's verdicts are read with hj_hub_verdicts_parse (hub_entry.h). */

#endif
