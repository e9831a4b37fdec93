/*
 * test_replay.c — node/replay.c: the registry as the fold of the hub order
 * plus own pending change sets, and the county rebase.
 *
 * A real hub and real counties (node directories, signed change sets);
 * the hub order is made by the real sequencer (ut_sequence: the county's
 * feed pushed into the hub's repository, hj_hub_sequence), and a county
 * follows it as sync does: copy the rows, hj_rebase inside a savepoint,
 * the full rebuild when the rebase says it cannot (see follow() for why
 * not through hj_sync_follow; test_real_follow goes through it). Proves: a replay into a scratch
 * registry equals the live one (hub in FULL mode, county in SUBTREE mode);
 * the rebase equals a full rebuild; a missing or wrong inverse makes the
 * rebase refuse (HJ_ENOTFOUND / HJ_ECONFLICT) and the fallback still gives
 * the right rows; pending ops the hub order now refuses are counted; FULL
 * mode refuses a verdict it cannot reproduce and a bad signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "error.h"
#include "followed.h"
#include "projection.h"
#include "replay.h"
#include "person_seal.h"
#include "support.h"
#include "verify.h"

/* The province of tests/unit/support.c, both counties enrolled. */
typedef ut_world fixture;

static int setup(void **state)
{
	*state = ut_world_new(1);
	return 0;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

#define OK UT_OK

/* The county's half of a follow, without git: this suite tests hj_rebase
 * itself (node/replay.c) — its return code and message when an inverse is
 * missing or wrong, and its stats (pending, pending_rejected, skipped) —
 * which hj_sync_follow folds into rep.rebuilt and does not hand back. So
 * the county takes the rows the REAL sequencer wrote into the hub's
 * followed table (ut_sequence runs hj_hub_sequence) and runs hj_rebase as
 * sync/sync.c does: BEGIN IMMEDIATE, the rows, the rebase inside
 * SAVEPOINT rebase with the full rebuild on HJ_ECONFLICT / HJ_ENOTFOUND.
 * No hub entry is encoded or decoded here. test_real_follow below runs
 * the same history through the real fetch and hj_sync_follow (ut_follow).
 *
 * follow_rows: BEGIN IMMEDIATE, copy the hub's followed rows the county
 * lacks, leaving the transaction open; *old_last_pos / *old_own_done are
 * what hj_rebase needs. Returns the number of rows copied. */
static int follow_rows(hj_node *county, hj_node *hub, int64_t *old_last_pos, uint64_t *old_own_done)
{
	uint8_t ignored[32];
	int n = 0;
	OK(hj_db_exec(county->db, "BEGIN IMMEDIATE"));
	*old_last_pos = ut_int(county->db, "SELECT coalesce(max(pos), 0) FROM followed", NULL);
	OK(hj_followed_last(county->db, county->id, old_own_done, ignored));
	OK(hj_meta_set(county->db, "hub_node", hub->id));
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(hub->db->h, "SELECT hub_seq, node, seq, hash, envelope, verdicts, rules, "
							"hub_at, keys FROM followed WHERE pos > ?1 ORDER BY pos", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, *old_last_pos);
	while (sqlite3_step(q) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_bytes(q, 3), 32);
		hj_followed_rules rules = {(uint32_t)sqlite3_column_int64(q, 6), sqlite3_column_int64(q, 7)};
		OK(hj_followed_append(county->db, &rules, (uint64_t)sqlite3_column_int64(q, 0),
				      (const char *)sqlite3_column_text(q, 1), (uint64_t)sqlite3_column_int64(q, 2),
				      sqlite3_column_blob(q, 3), sqlite3_column_blob(q, 4),
				      (size_t)sqlite3_column_bytes(q, 4), (const char *)sqlite3_column_text(q, 5),
				      (const char *)sqlite3_column_text(q, 8)));
		n++;
	}
	sqlite3_finalize(q);
	return n;
}

/* The whole follow: rows, then the rebase with sync.c's fallback
 * (*rebuilt = 1), COMMIT. Returns the rebase's code (0 unless it failed
 * otherwise), its message kept for the test to read. */
static int follow(hj_node *county, hj_node *hub, hj_replay_stats *st, int *rebuilt)
{
	int64_t pos;
	uint64_t done;
	*rebuilt = 0;
	follow_rows(county, hub, &pos, &done);
	OK(hj_db_exec(county->db, "SAVEPOINT rebase"));
	int rc = hj_rebase(county, pos, done, st);
	if (rc == HJ_ECONFLICT || rc == HJ_ENOTFOUND) {
		/* The fallback of sync/sync.c: rebuild from the hub order. The
		 * rebase's message is kept for the test to read. */
		char why[512];
		snprintf(why, sizeof why, "%s", hj_error_last());
		OK(hj_db_exec(county->db, "ROLLBACK TO rebase"));
		OK(hj_projection_clear(county->db));
		OK(hj_replay(county->db, county, 0, st));
		*rebuilt = 1;
		hj_error_set(rc, "%s", why);
	} else if (rc) {
		hj_db_exec(county->db, "ROLLBACK");
		return rc;
	}
	OK(hj_db_exec(county->db, "RELEASE rebase"));
	OK(hj_db_exec(county->db, "COMMIT"));
	return rc;
}

static hj_json *decide(const char *name, const char *member)
{
	return ut_op(name, "member", member, "on", "2024-03-05", "reason",
		     strcmp(name, "member.reject") == 0 ? "资料不全" : NULL, NULL);
}

static char *status_of(hj_db *db, const char *member)
{
	return ut_text(db, "SELECT status FROM membership WHERE id = ?1", member);
}

static void assert_status(hj_db *db, const char *member, const char *want)
{
	char *s = status_of(db, member);
	if (!want) {
		assert_null(s);
		return;
	}
	if (!s || strcmp(s, want) != 0)
		fail_msg("%s: status %s, want %s", member, s ? s : "(none)", want);
	free(s);
}

static void assert_rebuild_equal(hj_node *n)
{
	hj_replay_stats st;
	int rc = ut_rebuild_compare(n, &st);
	if (rc)
		fail_msg("%s: live and rebuilt differ: %s", n->id, hj_error_last());
}

static void assert_same(hj_db *a, hj_db *b)
{
	if (hj_projection_compare(a, "a", b, "b"))
		fail_msg("%s", hj_error_last());
}

/* Some county work, sequenced, followed; more pending. */
static void county_history(fixture *f)
{
	hj_replay_stats st;
	int rebuilt;
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 1), NULL, 0);   /* cz:1:0 */
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 2), NULL, 0);   /* cz:2:0 */
	ut_must(f->cz, decide("member.approve", "cz:1:0"), NULL, 0);
	assert_int_equal(ut_sequence(f->hub, f->cz), 3);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	assert_int_equal(rebuilt, 0);
	ut_must(f->cz, ut_apply_op(f->cz, "qh-xn-cz-a", 3), NULL, 0); /* cz:4:0, pending */
	ut_must(f->cz, decide("member.approve", "cz:2:0"), NULL, 0);  /* pending */
}

/* The hub, FULL mode: every op re-folded must give the recorded verdict. */
static void test_hub_replay_equals_live(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	county_history(f);
	assert_int_equal(ut_sequence(f->hub, f->cz), 2);
	ut_must(f->hd, ut_apply_op(f->hd, NULL, 1), NULL, 0); /* a duplicate: rejected at the hub */
	assert_int_equal(ut_sequence(f->hub, f->hd), 1);
	assert_int_equal(ut_int(f->hub->db, "SELECT count(*) FROM followed WHERE verdicts LIKE '%duplicate_member%'", NULL), 1);
	assert_int_equal(ut_rebuild_compare(f->hub, &st), 0);
	assert_int_equal(st.followed, ut_int(f->hub->db, "SELECT count(*) FROM followed", NULL));
	assert_int_equal(st.pending, 3); /* the hub's three sequence entries */
	assert_int_equal(st.skipped, 1); /* the rejected op */
	/* ops: 2 (cs1) + 4 orgs + 2 enrolments + 5 county ops applied */
	assert_int_equal(st.ops, 2 + 4 + 2 + 5);
	hj_verify_report rep;
	if (hj_node_verify(f->hub, &rep))
		fail_msg("hub verify: %s", hj_error_last());
}

/* A county before any sync: its registry is the fold of its own pending
 * change sets; with followed rows, of both. */
static void test_county_replay_equals_live(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	int rebuilt;
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 1), NULL, 0);
	ut_must(f->cz, decide("member.approve", "cz:1:0"), NULL, 0);
	assert_int_equal(ut_rebuild_compare(f->cz, &st), 0);
	assert_int_equal(st.followed, 0);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.ops, 2);
	assert_int_equal(ut_sequence(f->hub, f->cz), 2);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 2), NULL, 0);
	assert_int_equal(ut_rebuild_compare(f->cz, &st), 0);
	assert_int_equal(st.followed, ut_int(f->cz->db, "SELECT count(*) FROM followed", NULL));
	assert_int_equal(st.followed, 4 + 2);
	assert_int_equal(st.pending, 1);
	hj_verify_report rep;
	if (hj_node_verify(f->cz, &rep))
		fail_msg("county verify: %s", hj_error_last());
	/* A changed row is found, and named. */
	assert_int_equal(hj_db_exec(f->cz->db, "UPDATE membership SET grp = 'courier' WHERE id = 'cz:1:0'"), 0);
	assert_int_equal(ut_rebuild_compare(f->cz, &st), HJ_ECONFLICT);
	assert_non_null(strstr(hj_error_last(), "membership row cz:1:0"));
	assert_non_null(strstr(hj_error_last(), "grp"));
}

/* The rebase after following hub decisions gives what a full rebuild
 * gives; once everything is sequenced the county equals the hub. */
static void test_rebase_equals_rebuild(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	int rebuilt;
	county_history(f);
	/* The hub decides meanwhile: rejects cz:2:0 (which the county has
	 * approved offline) and adds an org. */
	ut_must(f->hub, decide("member.reject", "cz:2:0"), NULL, 0);
	ut_must(f->hub, ut_op("org.create", "id", "qh-xn-cz-b", "name", "b", "kind", "township", "parent", "qh-xn-cz", NULL),
		NULL, 0);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	assert_int_equal(rebuilt, 0);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.pending_rejected, 1); /* the offline approve of cz:2:0 */
	assert_status(f->cz->db, "cz:2:0", "rejected");
	assert_status(f->cz->db, "cz:4:0", "applied");
	assert_int_equal(ut_int(f->cz->db, "SELECT count(*) FROM org WHERE id = 'qh-xn-cz-b'", NULL), 1);
	assert_rebuild_equal(f->cz);
	/* The inverses recorded by the rebase serve the next one. */
	assert_int_equal(ut_int(f->cz->db, "SELECT count(*) FROM undo", NULL), 2);
	assert_int_equal(ut_int(f->cz->db, "SELECT min(seq) FROM undo", NULL), 4);
	ut_must(f->cz, decide("member.approve", "cz:4:0"), NULL, 0);
	assert_int_equal(ut_sequence(f->hub, f->cz), 3);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	assert_int_equal(rebuilt, 0);
	assert_int_equal(st.pending, 0);
	assert_int_equal(ut_int(f->cz->db, "SELECT count(*) FROM undo", NULL), 0);
	assert_rebuild_equal(f->cz);
	/* One county, everything sequenced: the same rows as the hub. */
	assert_same(f->cz->db, f->hub->db);
	assert_status(f->hub->db, "cz:2:0", "rejected");
	assert_int_equal(ut_int(f->hub->db, "SELECT count(*) FROM followed WHERE node = 'cz' AND verdicts LIKE "
					    "'%already_decided%'", NULL), 1);
	hj_verify_report rep;
	if (hj_node_verify(f->cz, &rep))
		fail_msg("county verify: %s", hj_error_last());
}

/* No undo record for a pending change set: the rebase says HJ_ENOTFOUND
 * and the caller's full rebuild gives the right rows. */
static void test_missing_inverse(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	int rebuilt;
	county_history(f);
	ut_must(f->hub, decide("member.reject", "cz:2:0"), NULL, 0);
	assert_int_equal(hj_db_exec(f->cz->db, "DELETE FROM undo WHERE seq = 4"), 0);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), HJ_ENOTFOUND);
	assert_non_null(strstr(hj_error_last(), "seq 4"));
	assert_int_equal(rebuilt, 1);
	assert_int_equal(st.pending_rejected, 1);
	assert_status(f->cz->db, "cz:2:0", "rejected");
	assert_rebuild_equal(f->cz);
	/* The rebuild recorded fresh inverses: the next rebase works. */
	assert_int_equal(ut_int(f->cz->db, "SELECT count(*) FROM undo", NULL), 2);
	ut_must(f->hub, ut_op("org.create", "id", "qh-xn-cz-b", "name", "b", "kind", "township", "parent", "qh-xn-cz", NULL),
		NULL, 0);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	assert_int_equal(rebuilt, 0);
	assert_rebuild_equal(f->cz);
}

/* An inverse that does not apply exactly (the rows moved in a way the
 * undo log did not see): HJ_ECONFLICT, and nothing of the partial undo
 * survives the fallback. */
static void test_wrong_inverse(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	int rebuilt;
	char key[19]; /* by ID number: the key is provisional until the hub keys it */
	county_history(f);
	ut_must(f->hub, decide("member.reject", "cz:2:0"), NULL, 0);
	/* A row changed outside any change set. */
	ut_person_id(key, 3);
	assert_int_equal(ut_int(f->cz->db, "SELECT count(*) FROM person WHERE id_number = ?1", key), 1);
	assert_int_equal(hj_db_exec(f->cz->db, "UPDATE person SET phone = '13000000000' WHERE updated_op = 'cz:4:0'"), 0);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), HJ_ECONFLICT);
	assert_non_null(strstr(hj_error_last(), "undo of seq 4"));
	assert_int_equal(rebuilt, 1);
	char *phone = ut_text(f->cz->db, "SELECT phone FROM person WHERE id_number = ?1", key);
	assert_string_equal(phone, "13800000003"); /* from the ops again */
	free(phone);
	assert_rebuild_equal(f->cz);

	/* An inverse swapped for another change set's. */
	ut_must(f->cz, decide("member.approve", "cz:4:0"), NULL, 0); /* seq 6 */
	ut_must(f->hub, ut_op("org.create", "id", "qh-xn-cz-b", "name", "b", "kind", "township", "parent", "qh-xn-cz", NULL),
		NULL, 0);
	assert_int_equal(hj_db_exec(f->cz->db, "UPDATE undo SET inverse = (SELECT inverse FROM undo WHERE seq = 4) "
					       "WHERE seq = 6"), 0);
	int64_t pos;
	uint64_t done;
	uint8_t before[32], after[32];
	ut_digest(f->cz->db, before);
	follow_rows(f->cz, f->hub, &pos, &done);
	assert_int_equal(hj_db_exec(f->cz->db, "SAVEPOINT rebase"), 0);
	assert_int_equal(hj_rebase(f->cz, pos, done, &st), HJ_ECONFLICT);
	assert_int_equal(hj_db_exec(f->cz->db, "ROLLBACK TO rebase"), 0);
	assert_int_equal(hj_db_exec(f->cz->db, "RELEASE rebase"), 0);
	assert_int_equal(hj_db_exec(f->cz->db, "ROLLBACK"), 0);
	ut_digest(f->cz->db, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), HJ_ECONFLICT);
	assert_int_equal(rebuilt, 1);
	assert_status(f->cz->db, "cz:4:0", "active");
	assert_rebuild_equal(f->cz);
}

/* SUBTREE mode: ops on rows another county holds are skipped, except the
 * row of a person this county holds, which is refreshed as the hub did. */
static void test_subtree(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	int rebuilt;
	char k1[65];
	/* Person 1 joins at cz and leaves; then joins at hd with a new phone. */
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 1), NULL, 0);
	ut_must(f->cz, decide("member.approve", "cz:1:0"), NULL, 0);
	ut_must(f->cz, ut_op("member.leave", "member", "cz:1:0", "on", "2024-05-01", "reason", "voluntary", NULL), NULL, 0);
	ut_must(f->hd, ut_apply_op(f->hd, NULL, 7), NULL, 0); /* hd:1:0, person 7 */
	hj_json *op = ut_plain_apply_op(f->hd, NULL, 1); /* plaintext: see test_subtree_sealed */
	assert_int_equal(hj_json_set_str((hj_json *)hj_json_get(op, "person"), "phone", "13655556666"), 0);
	ut_must(f->hd, op, NULL, 0); /* hd:2:0 */
	assert_int_equal(ut_sequence(f->hub, f->cz), 3);
	assert_int_equal(ut_sequence(f->hub, f->hd), 2);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	assert_true(st.skipped >= 2); /* hd's two applications */
	assert_rebuild_equal(f->cz);
	/* cz holds none of hd's memberships, nor person 7 ... */
	assert_int_equal(ut_int(f->cz->db, "SELECT count(*) FROM membership WHERE union_id = 'qh-hd'", NULL), 0);
	assert_int_equal(ut_int(f->cz->db, "SELECT count(*) FROM person", NULL), 1);
	/* ... but person 1's row is the hub's: refreshed by hd's application. */
	ut_person_key(k1, f->cz, 1);
	char *a = ut_text(f->cz->db, "SELECT phone || '|' || updated_op FROM person WHERE person_key = ?1", k1);
	char *b = ut_text(f->hub->db, "SELECT phone || '|' || updated_op FROM person WHERE person_key = ?1", k1);
	assert_string_equal(a, "13655556666|hd:2:0");
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* hd sees its own rows as the hub does. */
	assert_int_equal(follow(f->hd, f->hub, &st, &rebuilt), 0);
	assert_rebuild_equal(f->hd);
	assert_status(f->hd->db, "hd:2:0", "applied");
	assert_status(f->hd->db, "cz:1:0", NULL);
}

/* test_subtree with the fields sealed (person_seal.h): hd's application
 * and update are sealed to the hub, hd and the nodes above qh-hd, not to
 * cz, which holds person 1's row from its own (left) record. cz keeps the
 * record and the hub's seal and updated_op but no longer the fields
 * (name, number '' and phone, plate NULL: not known here); the hub holds
 * them in plaintext (the audits elsewhere check both digest the same). */
static void test_subtree_sealed(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	int rebuilt;
	char k1[65], hd2[UT_ID_SZ];
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 1), NULL, 0);
	ut_must(f->cz, decide("member.approve", "cz:1:0"), NULL, 0);
	ut_must(f->cz, ut_op("member.leave", "member", "cz:1:0", "on", "2024-05-01", "reason", "voluntary", NULL), NULL, 0);
	ut_must(f->hd, ut_apply_op(f->hd, NULL, 1), hd2, sizeof hd2); /* person 1 again, at hd */
	ut_must(f->hd, decide("member.approve", hd2), NULL, 0);
	assert_int_equal(ut_sequence(f->hub, f->cz), 3);
	assert_int_equal(ut_sequence(f->hub, f->hd), 2);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	assert_rebuild_equal(f->cz);
	ut_person_key(k1, f->cz, 1);
	char *shut = ut_text(f->cz->db, "SELECT name || '|' || id_number || '|' || coalesce(phone, 'null') || '|' || "
				      "updated_op || '|' || seal FROM person WHERE person_key = ?1", k1);
	char *hub = ut_text(f->hub->db, "SELECT '|' || '|' || 'null' || '|' || updated_op || '|' || seal FROM person "
				      "WHERE person_key = ?1", k1);
	assert_string_equal(shut, hub);
	assert_non_null(strstr(shut, "|hd:1:0|"));
	free(shut);
	free(hub);
	char *name = ut_text(f->hub->db, "SELECT name FROM person WHERE person_key = ?1", k1);
	assert_string_equal(name, "测试1");
	free(name);
	/* An update hd seals: the hub opens it, cz cannot, both agree. */
	hj_json *upd = ut_op("member.update", "member", hd2, NULL); /* the hub names the person (entry v4) */
	hj_json *fields = ut_json("{\"phone\":\"13655556666\"}");
	assert_int_equal(hj_person_seal_set(upd, f->hd, fields, "qh-hd"), 0);
	hj_json_free(fields);
	ut_must(f->hd, upd, NULL, 0);
	assert_int_equal(ut_sequence(f->hub, f->hd), 1);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	char *phone = ut_text(f->hub->db, "SELECT phone FROM person WHERE person_key = ?1", k1);
	assert_string_equal(phone, "13655556666");
	free(phone);
	assert_int_equal(ut_int(f->cz->db, "SELECT count(*) FROM person WHERE person_key = ?1 AND phone IS NULL AND "
					   "seal = (SELECT seal FROM person WHERE person_key = ?1)", k1), 1);
	assert_rebuild_equal(f->cz);
}

/* The same person applied for offline in two counties: the first in the
 * hub order wins; the other county's application is rejected by the hub
 * and disappears from it on the rebase. */
static void test_duplicate_across_counties(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	int rebuilt;
	char key[65];
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 5), NULL, 0);
	ut_must(f->hd, ut_apply_op(f->hd, NULL, 5), NULL, 0);
	ut_must(f->hd, ut_apply_op(f->hd, NULL, 6), NULL, 0);
	assert_int_equal(ut_sequence(f->hub, f->cz), 1);
	assert_int_equal(ut_sequence(f->hub, f->hd), 2);
	assert_int_equal(ut_int(f->hub->db, "SELECT count(*) FROM followed WHERE node = 'hd' AND seq = 1 AND verdicts "
					    "LIKE '[[0,\"duplicate_member\",%'", NULL), 1);
	/* Before following, hd still shows its own application. */
	assert_status(f->hd->db, "hd:1:0", "applied");
	assert_int_equal(follow(f->hd, f->hub, &st, &rebuilt), 0);
	assert_int_equal(rebuilt, 0);
	assert_int_equal(st.pending, 0);
	assert_status(f->hd->db, "hd:1:0", NULL);
	assert_status(f->hd->db, "hd:2:0", "applied");
	ut_person_key(key, f->hd, 5);
	assert_int_equal(ut_int(f->hd->db, "SELECT count(*) FROM person WHERE person_key = ?1", key), 0);
	assert_rebuild_equal(f->hd);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	assert_status(f->cz->db, "cz:1:0", "applied");
	assert_rebuild_equal(f->cz);
}

/* FULL mode re-folds every op and must reach the hub's verdict. */
static void test_full_mode_checks_verdicts(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 1), NULL, 0);
	ut_must(f->hd, ut_apply_op(f->hd, NULL, 1), NULL, 0); /* duplicate at the hub */
	assert_int_equal(ut_sequence(f->hub, f->cz), 1);
	assert_int_equal(ut_sequence(f->hub, f->hd), 1);
	assert_int_equal(ut_rebuild_compare(f->hub, &st), 0);
	/* "applied" recorded for an op that is refused on re-fold */
	assert_int_equal(hj_db_exec(f->hub->db, "UPDATE followed SET verdicts = '[\"ok\"]' WHERE node = 'hd'"), 0);
	assert_int_equal(ut_rebuild_compare(f->hub, &st), HJ_ECONFLICT);
	assert_non_null(strstr(hj_error_last(), "hd seq 1 op 0"));
	/* a rejection recorded for an op that applies */
	assert_int_equal(hj_db_exec(f->hub->db, "UPDATE followed SET verdicts = '[[\"duplicate_member\",\"x\"]]' "
					        "WHERE node IN ('cz', 'hd')"), 0);
	assert_int_equal(ut_rebuild_compare(f->hub, &st), HJ_ECONFLICT);
	assert_non_null(strstr(hj_error_last(), "cz seq 1 op 0"));
	/* the wrong reason */
	assert_int_equal(hj_db_exec(f->hub->db, "UPDATE followed SET verdicts = CASE node WHEN 'cz' THEN NULL "
					        "ELSE '[[\"invalid\",\"x\"]]' END WHERE node IN ('cz', 'hd')"), 0);
	assert_int_equal(ut_rebuild_compare(f->hub, &st), HJ_ECONFLICT);
	assert_non_null(strstr(hj_error_last(), "hd seq 1 op 0"));
	/* a verdict list of the wrong length */
	assert_int_equal(hj_db_exec(f->hub->db, "UPDATE followed SET verdicts = '[\"ok\",\"ok\"]' WHERE node = 'cz'"), 0);
	assert_int_equal(ut_rebuild_compare(f->hub, &st), HJ_ECORRUPT);
}

static void flip_last_byte(hj_db *db, const char *node, int64_t seq, int fix_hash)
{
	sqlite3_stmt *q = NULL, *u = NULL;
	assert_int_equal(sqlite3_prepare_v2(db->h, "SELECT envelope FROM followed WHERE node = ?1 AND seq = ?2", -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, seq);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	size_t len = (size_t)sqlite3_column_bytes(q, 0);
	uint8_t *env = malloc(len), h[32];
	assert_non_null(env);
	memcpy(env, sqlite3_column_blob(q, 0), len);
	sqlite3_finalize(q);
	env[len - 1] ^= 0x01; /* the last byte of the signature */
	hj_hash32(h, env, len);
	assert_int_equal(sqlite3_prepare_v2(db->h, fix_hash ? "UPDATE followed SET envelope = ?1, hash = ?2 WHERE node = ?3 AND seq = ?4"
							    : "UPDATE followed SET envelope = ?1 WHERE node = ?3 AND seq = ?4",
					    -1, &u, NULL), SQLITE_OK);
	sqlite3_bind_blob(u, 1, env, (int)len, SQLITE_TRANSIENT);
	if (fix_hash)
		sqlite3_bind_blob(u, 2, h, 32, SQLITE_TRANSIENT);
	sqlite3_bind_text(u, 3, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(u, 4, seq);
	assert_int_equal(sqlite3_step(u), SQLITE_DONE);
	sqlite3_finalize(u);
	free(env);
}

/* With signatures checked, a change set whose signature fails is refused
 * (the hash was fixed to match); without, only the hash vouches for the
 * bytes, and a hash mismatch is refused either way. */
static void test_signatures(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	hj_db *s = NULL;
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 1), NULL, 0);
	assert_int_equal(ut_sequence(f->hub, f->cz), 1);
	flip_last_byte(f->hub->db, "cz", 1, 1);
	assert_int_equal(ut_rebuild_compare(f->hub, &st), HJ_EBADSIG);
	assert_non_null(strstr(hj_error_last(), "cz seq 1"));
	assert_int_equal(hj_scratch_open(&s), 0);
	assert_int_equal(hj_replay(s, f->hub, 0, &st), 0);
	hj_db_close(s);
	flip_last_byte(f->hub->db, "cz", 1, 0); /* the bytes back, the hash now stale */
	assert_int_equal(hj_scratch_open(&s), 0);
	assert_int_equal(hj_replay(s, f->hub, 0, &st), HJ_ECORRUPT);
	hj_db_close(s);
}

/* A change set that changed no row (an update to the value it already
 * had) has an empty inverse, stored as an empty blob, not as "missing":
 * the rebase takes it back without falling back to the rebuild. */
static void test_empty_inverse(void **state)
{
	fixture *f = *state;
	hj_replay_stats st;
	int rebuilt;
	char key[65];
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 1), NULL, 0);
	assert_int_equal(ut_sequence(f->hub, f->cz), 1);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	ut_person_key(key, f->cz, 1);
	ut_must(f->cz, ut_op("member.update", "member", "cz:1:0", "person", key, "platform", "yunmanman", NULL), NULL, 0);
	assert_int_equal(ut_int(f->cz->db, "SELECT length(inverse) FROM undo WHERE seq = 2", NULL), 0);
	assert_int_equal(ut_int(f->cz->db, "SELECT typeof(inverse) = 'blob' FROM undo WHERE seq = 2", NULL), 1);
	ut_must(f->hub, ut_op("org.create", "id", "qh-xn-cz-b", "name", "b", "kind", "township", "parent", "qh-xn-cz", NULL),
		NULL, 0);
	assert_int_equal(follow(f->cz, f->hub, &st, &rebuilt), 0);
	assert_int_equal(rebuilt, 0);
	assert_int_equal(st.pending, 1);
	assert_rebuild_equal(f->cz);
}

/* The key a change set must verify under at a point of the hub order. */
static void test_replay_key(void **state)
{
	fixture *f = *state;
	uint8_t pk[32];
	/* The county holds no enrolment yet: its own key, its hub's from
	 * init once the hub is known, nobody else's. */
	assert_int_equal(hj_replay_key(f->cz->db, f->cz, "cz", pk), 0);
	assert_memory_equal(pk, f->cz->pk, 32);
	assert_int_equal(hj_replay_key(f->cz->db, f->cz, "hub", pk), HJ_EBADSIG);
	assert_int_equal(hj_meta_set(f->cz->db, "hub_node", "hub"), 0);
	assert_int_equal(hj_replay_key(f->cz->db, f->cz, "hub", pk), 0);
	assert_memory_equal(pk, f->hub->pk, 32);
	assert_int_equal(hj_replay_key(f->cz->db, f->cz, "hd", pk), HJ_EBADSIG);
	/* Enrolled keys come from the registry being folded. */
	assert_int_equal(hj_replay_key(f->hub->db, f->hub, "hd", pk), 0);
	assert_memory_equal(pk, f->hd->pk, 32);
	assert_int_equal(hj_db_exec(f->hub->db, "UPDATE node SET pubkey = 'zz' WHERE id = 'hd'"), 0);
	assert_int_equal(hj_replay_key(f->hub->db, f->hub, "hd", pk), HJ_ECORRUPT);
}

/* The rebase's history through the real path (ut_follow: the hub's refs
 * fetched into incoming/, hj_sync_follow): the hub's decisions reach the
 * county, its pending work is replayed on top, and once everything is
 * sequenced the county holds the hub's rows. */
static void test_real_follow(void **state)
{
	fixture *f = *state;
	hj_sync_report rep;
	int64_t pending = -1;
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 1), NULL, 0); /* cz:1:0 */
	ut_must(f->cz, ut_apply_op(f->cz, NULL, 2), NULL, 0); /* cz:2:0 */
	ut_must(f->cz, decide("member.approve", "cz:1:0"), NULL, 0);
	assert_int_equal(ut_sequence(f->hub, f->cz), 3);
	assert_int_equal(ut_follow(f->cz, f->hub, &rep), 0);
	assert_int_equal(rep.rebuilt, 0);
	assert_int_equal(rep.entries, 5); /* change sets 1-4 of the hub, one sequence entry */
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(hj_pending_count(&pending, f->cz), 0);
	assert_int_equal(pending, 0);
	ut_must(f->cz, ut_apply_op(f->cz, "qh-xn-cz-a", 3), NULL, 0); /* cz:4:0, pending */
	ut_must(f->cz, decide("member.approve", "cz:2:0"), NULL, 0);  /* pending */
	ut_must(f->hub, decide("member.reject", "cz:2:0"), NULL, 0);
	assert_int_equal(ut_follow(f->cz, f->hub, &rep), 0);
	assert_int_equal(rep.rebuilt, 0);
	assert_int_equal(rep.entries, 1);
	assert_int_equal(hj_pending_count(&pending, f->cz), 0);
	assert_int_equal(pending, 2);
	assert_status(f->cz->db, "cz:2:0", "rejected");
	assert_status(f->cz->db, "cz:4:0", "applied");
	assert_rebuild_equal(f->cz);
	assert_int_equal(ut_sequence(f->hub, f->cz), 2);
	assert_int_equal(ut_follow(f->cz, f->hub, &rep), 0);
	assert_int_equal(rep.rejected, 1); /* the offline approve of cz:2:0 */
	assert_int_equal(hj_pending_count(&pending, f->cz), 0);
	assert_int_equal(pending, 0);
	assert_rebuild_equal(f->cz);
	assert_same(f->cz->db, f->hub->db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hub_replay_equals_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_county_replay_equals_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebase_equals_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_inverse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_inverse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subtree_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_across_counties, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_mode_checks_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_inverse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_follow, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
