/*
 * batch.h — one command's work as one transaction and one change set.
 *
 *   hj_batch_begin  -> BEGIN IMMEDIATE, next seq
 *   hj_batch_apply  -> fold one op into the projection (a rejected op
 *                      leaves no trace and is not recorded)
 *   hj_batch_commit -> sign the applied ops as change set <seq>, append it
 *                      to the change log, COMMIT
 * A crash anywhere before COMMIT loses the whole batch; after it, all of
 * it is durable (DESIGN §2).
 */
#ifndef HJ_BATCH_H
#define HJ_BATCH_H

#include "fold.h"
#include "json.h"
#include "followed.h"
#include "node.h"

/* Ops per change set, at most. The hub writes every op's verdict into one
 * entry (hub_entry.h HJ_HUB_ENTRY_MAX_BYTES, 4 MiB); a verdict is at most
 * ~1,600 bytes (a 31-byte reason and a 255-byte detail, every byte of it
 * escaped), so 2,000 always fit an empty entry: an honest county never
 * signs a change set the hub must refuse as too_big. */
#define HJ_BATCH_MAX_OPS 2000

typedef struct hj_batch {
	hj_node *node;
	uint64_t seq;
	hj_json *ops;    /* applied ops, in order */
	uint32_t applied; /* ops applied so far = index of the next op */
	int open;
	sqlite3_session *undo; /* county: records the inverse for the rebase */
	/* The change set's signed created_at, taken at begin: its ops' "now"
	 * for the date rules (rules.h), so a re-fold of it judges the same. */
	int64_t created_at;
	hj_followed_rules rules; /* a hub's own ops: the last entry's rules */
} hj_batch;

int hj_batch_begin(hj_batch *b, hj_node *n);

/* Fold `op` (ownership taken) as the next op of the batch. Returns 0 with
 * *v saying applied or rejected; negative on failure. The op's id (for a
 * member.apply, the new membership id) is written to id_out if given. */
int hj_batch_apply(hj_batch *b, hj_json *op, hj_verdict *v, char *id_out, size_t id_outsz);

/* Sign and record the applied ops, then COMMIT. A batch with no applied op
 * is rolled back and records nothing (*seq_out = 0). */
int hj_batch_commit(hj_batch *b, uint64_t *seq_out);

/* Roll back; safe to call after commit or on a batch never begun. */
void hj_batch_abort(hj_batch *b);

/* Wrap ops into the signed payload {"v":1,"ops":[...]} as compact JSON. */
int hj_payload_encode(hj_buf *out, const hj_json *ops);

#endif
