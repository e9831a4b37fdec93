/*
 * support.h — the one place where the C unit suites set things up:
 * temporary directories (removed with node/fsutil's hj_dir_remove) and
 * copies of them, real nodes (a root hub as `huiji hub init` makes it,
 * counties holding the province's person key), ops built with hj_json,
 * fake ID numbers (hj_idnum_make), raw SQLite reads, and the git half of
 * a sync done in-process: a county's feed pushed into the hub's real
 * repository, the real sequencer (hj_hub_sequence), the hub's refs
 * fetched into the county's incoming/ refs and the real county follow
 * (hj_sync_follow). Everything is real: SQLite files, git repositories,
 * Ed25519 signatures, the fold; the helpers fail the running cmocka test
 * on any unexpected error.
 */
#ifndef HJ_UNIT_SUPPORT_H
#define HJ_UNIT_SUPPORT_H

#include "batch.h"
#include "db.h"
#include "fold.h"
#include "gitfeed.h"
#include "json.h"
#include "node.h"
#include "replay.h"
#include "sequencer.h"
#include "sync.h"

#include <stddef.h>
#include <stdint.h>

/* Fail the running test with the library's message, not only its code. */
#define UT_OK(expr)                                                                                            \
	do {                                                                                                   \
		int ut_rc_ = (expr);                                                                           \
		if (ut_rc_)                                                                                    \
			fail_msg("%s: %s (%s)", #expr, hj_error_last(), hj_error_name(ut_rc_));                \
	} while (0)

/* A fresh directory $TMPDIR/hj_unit_XXXXXX (/tmp without $TMPDIR).
 * DESTRUCTOR: ut_rmtree, then free. */
char *ut_tmpdir(void);
/* Remove `dir` and everything under it with hj_dir_remove (no shell, no
 * link followed). NULL or a missing path is fine. 0 or a HJ_E* code. */
int ut_rmtree(const char *dir);
/* Copy one file byte for byte (dst is replaced); 0 or -1. */
int ut_copy_file(const char *src, const char *dst);
/* Copy a tree of directories and regular files (dst must not exist);
 * 0 or -1. */
int ut_copy_tree(const char *src, const char *dst);

/* A root hub: node `node` for province union `union_id` (named `name`,
 * region 63) in D/hub, with change set 1 (org.create, node.enroll role
 * hub) exactly as `huiji hub init` makes it. CONSTRUCTOR: hj_node_close. */
hj_node *ut_hub(const char *dir, const char *node, const char *union_id, const char *name);
/* The root of the test province: ut_hub(dir, "hub", "qh", "青海省总工会"). */
hj_node *ut_root(const char *dir);
/* The hub's change set 2: the tree below qh used by the suites:
 *   qh ── qh-xn (city) ── qh-xn-cz (county) ── qh-xn-cz-a (township)
 *      └─ qh-hd (city)  */
void ut_province(hj_node *hub);
/* A county node `node` acting for `union_id` in D/<node>, following `hub`
 * (its key; no person key, which stays at the hub; its hub_url is the hub's real repository, so
 * hj_sync works over the local path). CONSTRUCTOR: hj_node_close. */
hj_node *ut_county(const char *dir, const char *node, const char *union_id, const hj_node *hub);
/* The province the node/ suites start from: in a fresh ut_tmpdir, the
 * root hub (ut_root, ut_province) and the counties cz (qh-xn-cz) and hd
 * (qh-hd); with `enroll`, the hub has enrolled both (change sets 3, 4).
 * DESTRUCTOR: ut_world_free (nodes closed, the tree removed; 0 or -1, a
 * cmocka teardown's answer). */
typedef struct ut_world {
	char *dir;
	hj_node *hub, *cz, *hd;
} ut_world;
ut_world *ut_world_new(int enroll);
int ut_world_free(ut_world *w);

/* The hub enrols `county` (role union, its union). */
void ut_enroll(hj_node *hub, const hj_node *county);
/* node.enroll of `node` with public key `pk` in `union_id` as `role`.
 * DESTRUCTOR: hj_json_free. */
hj_json *ut_enroll_op(const char *node, const uint8_t pk[32], const char *union_id, const char *role);

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
/* The same application as a huiji before sealing wrote it (op v1, the
 * person's fields in plaintext): old history, and tests that craft a
 * field the command line would refuse. */
hj_json *ut_plain_apply_op(const hj_node *n, const char *union_id, int who);
/* op as op version 2 signed it (returned): personal fields in plaintext
 * are read, not refused as from op version 3 (fold.h HJ_OP_SEALED_ONLY). */
hj_json *ut_v2(hj_json *op);
/* The fake ID number of person `who` (what ut_apply_op puts in). */
void ut_person_id(char out[19], int who);
/* The person key of fake person number `who` under n's person secret (a
 * county holds none: the hub's made last, which keys its work). */
void ut_person_key(char out[65], const hj_node *n, int who);

/* One command: a batch of one op. Commits if applied (the change set's seq
 * in *seq_out), records nothing otherwise. Returns hj_batch_* codes. */
int ut_run(hj_node *n, hj_json *op, hj_verdict *v, char *id_out, size_t idsz, uint64_t *seq_out);
/* ut_run that must apply; returns the new change set's seq. */
uint64_t ut_must(hj_node *n, hj_json *op, char *id_out, size_t idsz);
/* One command of `nops` ops (taken): one change set, every op must apply.
 * ids (optional) gets each op's id. Returns the change set's seq. */
#define UT_ID_SZ 160
uint64_t ut_commit(hj_node *n, hj_json **ops, size_t nops, char (*ids)[UT_ID_SZ]);

/* Fold one op into `db` as `actor` at (seq, index), seen as the hub
 * sequencer sees other nodes (no local identity). */
int ut_fold(hj_db *db, const char *actor, uint64_t seq, uint32_t index, const hj_json *op, hj_verdict *v);

/* Change set `seq` of n's change log, its envelope bytes (malloc'd) and
 * their length in *len. */
uint8_t *ut_changeset(const hj_node *n, uint64_t seq, size_t *len);

/* Raw reads (sqlite3_prepare_v2/step on db->h, no cache): the first
 * column of the first row, as an integer (-1 if no row) or as malloc'd
 * text (NULL for no row or SQL NULL). `arg` binds ?1 when not NULL. */
int64_t ut_int(hj_db *db, const char *sql, const char *arg);
char *ut_text(hj_db *db, const char *sql, const char *arg);
/* The projection digest; asserts success. */
void ut_digest(hj_db *db, uint8_t out[32]);

/* ---- the git half of a sync, in-process, on the nodes' real
 * repositories (D/hub.git, D/replica.git) ---- */

/* Write what n's git feed lacks (hj_outbox_flush into n's own repository). */
void ut_flush(const hj_node *n);
/* The county's push: its change log written into the hub repository's
 * refs/huiji/feeds/<id> (hj_outbox_flush there), as a push leaves it. */
void ut_push(const hj_node *county, const hj_node *hub);
/* Append to `to_ref` of `to` what it lacks of feed `node` at `from_ref`
 * of `from`, commit for commit (a fetch's result; git's own transport is
 * test_transport's). A missing `from_ref` copies nothing. */
void ut_mirror(hj_gitrepo *from, const char *from_ref, hj_gitrepo *to, const char *to_ref, const char *node);
/* The county's fetch (sync/sync.c's refspecs): the hub's published feed
 * (its outbox flushed first) refs/huiji/hub/<hub> and every
 * refs/huiji/sequenced/<node> of the hub repository into the county's
 * refs/huiji/incoming/hub/ and incoming/feeds/. */
void ut_fetch(const hj_node *county, const hj_node *hub);
/* A hub round: `county`'s feed pushed (NULL: none), then the real
 * sequencer over the hub repository. *rep (optional) gets its report.
 * Returns the number of change sets included; quarantining any is a
 * test failure. */
int ut_sequence_report(hj_node *hub, const hj_node *county, hj_seq_report *rep);
int ut_sequence(hj_node *hub, const hj_node *county);
/* The county's follow: ut_fetch, then the real hj_sync_follow. *rep
 * (zeroed first) gets its report. Returns hj_sync_follow's code. */
int ut_follow(hj_node *county, const hj_node *hub, hj_sync_report *rep);
/* Replay n's followed rows and pending change sets into a scratch
 * registry (signatures checked) and compare with the live one: 0 if equal,
 * else the hj_projection_compare code. */
int ut_rebuild_compare(hj_node *n, hj_replay_stats *st);

#endif
