/*
 * verify.h — prove a node's registry: its own feed verifies (chain,
 * signatures, key), and replaying everything it holds (node/replay.h) from
 * nothing into a scratch registry gives the live projection row for row.
 */
#ifndef HJ_VERIFY_H
#define HJ_VERIFY_H

#include "fold.h"
#include "node.h"

typedef struct hj_verify_report {
	uint64_t change_sets;
	uint64_t ops;
	uint64_t followed; /* change sets of the hub order re-folded */
} hj_verify_report;

/* 0 if everything holds; else the first failure, naming the damaged table
 * or index, the seq, or the table row and column. */
int hj_node_verify(hj_node *n, hj_verify_report *out);

/* SQLite's integrity check (quick_check when it stops on a malformed
 * record) and foreign key check of `db`: 0, or HJ_ECORRUPT naming the
 * table or index of the first problem and how many there are. */
int hj_verify_integrity(hj_db *db);

/* A scratch registry in memory with the full schema. CONSTRUCTOR:
 * hj_db_close. */
int hj_scratch_open(hj_db **out);

#endif
