/*
 * support.h — the one place where the node/ unit suites set things up:
 * temporary directories, real nodes (a root hub as `huiji init` makes it,
 * counties holding the province's person key), ops built with hj_json,
 * fake ID numbers (hj_idnum_make), raw SQLite reads, and an in-process
 * stand-in for the hub sequencer and the county's follow, so replay and
 * rebase can be tested without git. Everything is real: SQLite files,
 * Ed25519 signatures, the fold itself; the helpers fail the running
 * cmocka test on any unexpected error.
 */
#ifndef HJ_UNIT_SUPPORT_H
#define HJ_UNIT_SUPPORT_H

#include "batch.h"
#include "db.h"
#include "fold.h"
#include "json.h"
#include "node.h"
#include "replay.h"

#include <stddef.h>
#include <stdint.h>

/* A fresh directory /tmp/hj_unit_XXXXXX (DESTRUCTOR: ut_rmtree, then
 * free). */
char *ut_tmpdir(void);
/* Remove `dir` and everything under it (no shell). Accepts NULL. */
void ut_rmtree(const char *dir);

/* The root of the test province: node "hub" for union "qh" in D/hub, with
 * change set 1 (org.create qh, node.enroll hub) exactly as `huiji init`
 * makes it. CONSTRUCTOR: hj_node_close. */
hj_node *ut_root(const char *dir);
/* The hub's change set 2: the tree below qh used by the suites:
 *   qh ── qh-xn (city) ── qh-xn-cz (county) ── qh-xn-cz-a (township)
 *      └─ qh-hd (city)  */
void ut_province(hj_node *hub);
/* A county node `node` acting for `union_id` in D/<node>, following `hub`
 * (its key and person key). CONSTRUCTOR: hj_node_close. */
hj_node *ut_county(const char *dir, const char *node, const char *union_id, const hj_node *hub);
/* The hub enrols `county` (role union, its union). */
void ut_enroll(hj_node *hub, const hj_node *county);

/* A fake ID number from region 630102 (西宁 城东区), birth date y-m-d,
 * order code `seqno`; the check character is right. */
void ut_fake_id(char out[19], int y, int m, int d, int seqno);
/* 64 hex digits derived from `seed` (a person key or public key stand-in). */
void ut_hex64(char out[65], const char *seed);

/* A new op {"op":name,"v":HJ_OP_VERSION, k1:v1, ...}; the string pairs end
 * with NULL. A NULL value leaves its key out. DESTRUCTOR: hj_json_free. */
hj_json *ut_op(const char *name, ...);
/* Parse printf-formatted JSON text. DESTRUCTOR: hj_json_free. */
hj_json *ut_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* member.apply of fake person number `who` (born in 1990, month and day
 * and order code taken from `who`; phone 138 and `who` in 8 digits;
 * truck_driver, mobile_window, yunmanman) in `union_id` (NULL: n's own)
 * on 2024-03-01, built by hj_application_op with n's person key. */
hj_json *ut_apply_op(const hj_node *n, const char *union_id, int who);
/* The person key of fake person number `who` under n's person secret. */
void ut_person_key(char out[65], const hj_node *n, int who);

/* One command: a batch of one op. Commits if applied (the change set's seq
 * in *seq_out), records nothing otherwise. Returns hj_batch_* codes. */
int ut_run(hj_node *n, hj_json *op, hj_verdict *v, char *id_out, size_t idsz, uint64_t *seq_out);
/* ut_run that must apply; returns the new change set's seq. */
uint64_t ut_must(hj_node *n, hj_json *op, char *id_out, size_t idsz);

/* Fold one op into `db` as `actor` at (seq, index), seen as the hub
 * sequencer sees other nodes (no local identity). */
int ut_fold(hj_db *db, const char *actor, uint64_t seq, uint32_t index, const hj_json *op, hj_verdict *v);

/* Raw reads (sqlite3_prepare_v2/step on db->h, no cache): the first
 * column of the first row, as an integer (-1 if no row) or as malloc'd
 * text (NULL for no row or SQL NULL). `arg` binds ?1 when not NULL. */
int64_t ut_int(hj_db *db, const char *sql, const char *arg);
char *ut_text(hj_db *db, const char *sql, const char *arg);
/* The projection digest; asserts success. */
void ut_digest(hj_db *db, uint8_t out[32]);

/* Stand-in for the hub sequencer (sync/sequencer.c) without git: every
 * change set of `county` not yet in the hub order is checked against its
 * enrolled key, folded at the hub, appended to `followed` with its
 * verdicts, and a signed hub.sequence change set is appended to the hub's
 * feed. Returns the number of change sets included. */
int ut_sequence(hj_node *hub, const hj_node *county);
/* The county's half of a sync (sync/sync.c hj_sync_follow, without git):
 * BEGIN IMMEDIATE, copy the hub's followed rows the county lacks, leaving
 * the transaction open. *old_last_pos / *old_own_done are what hj_rebase
 * needs. Returns the number of rows copied. */
int ut_follow_rows(hj_node *county, hj_node *hub, int64_t *old_last_pos, uint64_t *old_own_done);
/* The whole follow: rows, then the rebase inside SAVEPOINT rebase with
 * the full rebuild on HJ_ECONFLICT / HJ_ENOTFOUND (*rebuilt = 1), COMMIT.
 * Returns the rebase's code (0 unless it failed otherwise). */
int ut_follow(hj_node *county, hj_node *hub, hj_replay_stats *st, int *rebuilt);
/* Replay n's followed rows and pending change sets into a scratch
 * registry (signatures checked) and compare with the live one: 0 if equal,
 * else the hj_projection_compare code. */
int ut_rebuild_compare(hj_node *n, hj_replay_stats *st);

#endif
