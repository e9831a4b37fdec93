/*
 * feed.h — a node's own feed in its registry: the change log.
 *
 * A feed is the append-only chain of a node's change sets: seq 1, 2, 3 ...
 * each naming the BLAKE2b hash of the previous envelope. Appends happen
 * inside the caller's transaction, next to the projection changes they
 * record, so the two are never apart (DESIGN §2).
 */
#ifndef HJ_FEED_H
#define HJ_FEED_H

#include "db.h"
#include "envelope.h"

#include <stdint.h>

/* The last change set: *seq = 0 and zero hash for an empty feed. */
int hj_feed_last(hj_db *db, uint64_t *seq, uint8_t hash[32]);

/* Sign `payload` as change set `seq` (must be last + 1) and append it.
 * Must run inside a transaction. */
int hj_feed_append(hj_db *db, const char *node, uint64_t seq, int64_t created_at,
		   const uint8_t *payload, size_t len, const uint8_t pk[32], const uint8_t *sk,
		   uint8_t hash_out[32]);

/* Called for each verified change set, oldest first. The envelope and the
 * bytes are valid only during the call; non-zero stops the walk. */
typedef int (*hj_feed_cb)(void *ctx, const hj_envelope *e, const uint8_t *bytes, size_t len);

/* Check one envelope as the successor of (prev_seq, prev_hash) in `node`'s
 * feed under key `pk`: signature, node id, seq, prev hash, decoding.
 * Fills *e (caller frees with hj_envelope_free). Messages name the seq. */
int hj_feed_check(hj_envelope *e, const uint8_t *bytes, size_t len, const char *node,
		  const uint8_t pk[32], uint64_t prev_seq, const uint8_t prev_hash[32]);

/* Verify the whole stored change log of `node` under `pk` and call cb for
 * every change set in order. The first failure stops with a message naming
 * the seq and what failed. */
int hj_feed_verify(hj_db *db, const char *node, const uint8_t pk[32], hj_feed_cb cb, void *ctx);

#endif
