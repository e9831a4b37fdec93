/*
 * verify.h — prove a node's registry: its feed verifies (chain, signatures,
 * key) and re-folding the feed from nothing into a scratch database gives
 * the live projection row for row.
 */
#ifndef HJ_VERIFY_H
#define HJ_VERIFY_H

#include "fold.h"
#include "node.h"

typedef struct hj_verify_report {
	uint64_t change_sets;
	uint64_t ops;
} hj_verify_report;

/* 0 if everything holds; else the first failure, naming the seq or the
 * table row and column. */
int hj_node_verify(hj_node *n, hj_verify_report *out);

/* Fold every op of one decoded change set into `db` as `ctx` describes
 * (actor and seq from the envelope). Any rejection is an error here: a
 * node records only ops that applied. */
int hj_fold_change_set(hj_db *db, const hj_foldctx *base, const hj_envelope *e, uint64_t *ops_out);

/* A scratch registry in memory with the full schema. CONSTRUCTOR:
 * hj_db_close. */
int hj_scratch_open(hj_db **out);

#endif
