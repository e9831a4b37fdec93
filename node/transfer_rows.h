/*
 * transfer_rows.h — the rows a transfer reads and writes (tables
 * membership and transfer, schema/010_transfer.sql), shared by the
 * transfer ops (ops_transfer.c, ops_transfer_decide.c). Inside the fold:
 * no clock, no node identity beyond the fold context.
 */
#ifndef HJ_TRANSFER_ROWS_H
#define HJ_TRANSFER_ROWS_H

#include "fold.h"

#define HJ_TRANSFER_RULES 3 /* rules.h: the version that brought transfers */

/* The membership fields a transfer moves. All owned; DESTRUCTOR:
 * hj_mrow_free. */
typedef struct hj_mrow {
	char *union_id, *status, *person_key, *grp, *channel, *platform, *joined_on, *decided_on;
} hj_mrow;

void hj_mrow_free(hj_mrow *m);
/* 0, HJ_ENOTFOUND or an error. */
int hj_mrow_get(hj_mrow *m, hj_db *db, const char *id);

/* Does this fold keep the rows of union `u`? The hub and an auditor keep
 * everything; a county its own subtree. 1, 0 or an error. */
int hj_transfer_keeps_union(hj_db *db, const hj_foldctx *ctx, const char *u);

/* Is `given` the registry's snapshot of member `id`? A plaintext one (op
 * version 2 and before) byte for byte; a sealed one (transfer_seal.h) by
 * its record, key and seal, and its fields where this node may open them
 * (else on the hub's word: hj_fold_person_shut). 0 go on, 1 rejected
 * (`opname` in the detail), <0 error. */
int hj_transfer_snapshot_check(hj_db *db, const hj_foldctx *ctx, const char *opname, const char *id,
			       const hj_json *given, hj_verdict *v);

/* Has `snap` the fields a new record is built from? */
int hj_transfer_snapshot_shape(const hj_json *snap);

/* The new record in union `to`, from the snapshot, continuing `from`
 * (the person row from the snapshot if not held), for the person of key
 * `key` (the snapshot's, or the one this fold gave it: fold_key.c). */
int hj_transfer_start_record(hj_db *db, const hj_foldctx *ctx, const hj_json *snap, const char *key, const char *to,
			     const char *on, const char *from, const char *opid);

/* The old record ends 'transferred' on `on` (no-op where not held). */
int hj_transfer_end_record(hj_db *db, const char *member, const char *on);

/* Is person `person_key` under an open transfer (an offer of their
 * record or a request for them)? 1, 0 or an error. */
int hj_transfer_is_open(hj_db *db, const char *person_key);

/* A transfer row as the ops write it. */
typedef struct hj_transfer_row {
	const char *id, *kind, *person_key, *from_member, *from_union, *to_union, *status, *opened_on, *opened_by;
	const char *decided_on, *decided_by, *to_member;
	int by_hub;
	const hj_json *snapshot; /* written as JSON text; NULL: none */
} hj_transfer_row;

int hj_transfer_insert(hj_db *db, const hj_transfer_row *t);

/* A transfer as read back: all owned; DESTRUCTOR: hj_transfer_read_free.
 * snapshot parsed (NULL when none). */
typedef struct hj_transfer_read {
	char *kind, *person_key, *from_member, *from_union, *to_union, *status, *opened_on;
	hj_json *snapshot;
} hj_transfer_read;

/* 0, HJ_ENOTFOUND or an error. */
int hj_transfer_get(hj_transfer_read *t, hj_db *db, const char *id);
void hj_transfer_read_free(hj_transfer_read *t);

/* Close transfer `id`: status, date, node, by the hub; for an acceptance
 * also the record it started and (a request) what it moved. */
int hj_transfer_close(hj_db *db, const char *id, const char *status, const char *on, const char *by, int by_hub,
		      const char *to_member, const char *from_member, const char *from_union, const hj_json *snapshot);

/* Is `actor` the hub (role 'hub')? 1, 0 or an error. */
int hj_transfer_actor_is_hub(hj_db *db, const char *actor);

/* Op `op` (decline, or withdraw when `withdraw`) closes its transfer
 * unanswered, by ctx's actor (the hub's decision when it is the hub), on
 * the op's date. 0 or an error. */
int hj_transfer_close_unanswered(hj_db *db, const hj_foldctx *ctx, const hj_json *op, int withdraw);

#endif
