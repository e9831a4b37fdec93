/*
 * test_transfer.c — a membership record that moves (node/ops_transfer.c):
 * the hand-down of the turnover pool. The old record ends 'transferred' and
 * the new one starts in the same op, keeping the join date and naming the
 * record it continues; the hub sequences it under rules 3 (digest v3); a
 * county re-folds to the hub's rows, and a node holding only the receiving
 * union builds the new record from the op's snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "error.h"
#include "hex.h"
#include "outbox.h"
#include "projection.h"
#include "rules.h"
#include "person_seal.h"
#include "seal.h"
#include "support.h"
#include "transfer_seal.h"

/* The province, and cz holding the org tree (a first sync). */
static int setup(void **state)
{
	ut_world *w = ut_world_new(1);
	hj_sync_report srep;
	if (!w || ut_follow(w->cz, w->hub, &srep))
		return -1;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

/* An active member of n's union (person `who`): its membership id. */
static void admitted(hj_node *n, int who, char id[UT_ID_SZ])
{
	ut_must(n, ut_apply_op(n, NULL, who), id, UT_ID_SZ);
	ut_must(n, ut_op("member.approve", "member", id, "on", "2024-03-05", NULL), NULL, 0);
}

/* member.hand_down of `member` to `to`, with the snapshot n signs (the
 * person sealed to both ends, transfer_seal.h), or the plaintext one of op
 * version 2 and before. */
static hj_json *hand_down_as(hj_node *n, const char *member, const char *to, const char *on, int sealed)
{
	hj_json *op = ut_op("member.hand_down", "member", member, "to", to, "on", on, NULL), *snap = NULL;
	UT_OK(sealed ? hj_transfer_snapshot_sealed(&snap, n, member, to) : hj_fold_transfer_snapshot(&snap, n->db, member));
	assert_int_equal(hj_json_set(op, "snapshot", snap), 0);
	return op;
}

static hj_json *hand_down(hj_node *n, const char *member, const char *to, const char *on)
{
	return hand_down_as(n, member, to, on, 1);
}

static char *col(hj_db *db, const char *sql, const char *arg)
{
	char *t = ut_text(db, sql, arg);
	assert_non_null(t);
	return t;
}

static void assert_col(hj_db *db, const char *sql, const char *arg, const char *want)
{
	char *t = col(db, sql, arg);
	assert_string_equal(t, want);
	free(t);
}

static void test_hand_down_moves_the_record(void **state)
{
	ut_world *w = *state;
	char old[UT_ID_SZ], nid[UT_ID_SZ];
	hj_sync_report srep;
	hj_replay_stats st;
	admitted(w->cz, 1, old);
	ut_must(w->cz, hand_down(w->cz, old, "qh-xn-cz-a", "2024-06-01"), nid, sizeof nid);
	/* At the county, at once: one active record, in the new union. */
	assert_col(w->cz->db, "SELECT status FROM membership WHERE id = ?1", old, "transferred");
	assert_col(w->cz->db, "SELECT left_on FROM membership WHERE id = ?1", old, "2024-06-01");
	assert_col(w->cz->db, "SELECT union_id FROM membership WHERE id = ?1", nid, "qh-xn-cz-a");
	assert_col(w->cz->db, "SELECT status FROM membership WHERE id = ?1", nid, "active");
	assert_col(w->cz->db, "SELECT joined_on FROM membership WHERE id = ?1", nid, "2024-03-05"); /* kept */
	assert_col(w->cz->db, "SELECT from_member FROM membership WHERE id = ?1", nid, old);
	assert_col(w->cz->db, "SELECT status || ' ' || to_member FROM transfer WHERE from_member = ?1", old, "accepted cz:3:0");
	assert_int_equal(ut_int(w->cz->db, "SELECT count(*) FROM membership WHERE status = 'active'", NULL), 1);
	/* The hub sequences it under rules 3 and holds the same rows. */
	assert_int_equal(ut_sequence(w->hub, w->cz), 3);
	assert_col(w->hub->db, "SELECT status FROM membership WHERE id = ?1", old, "transferred");
	assert_col(w->hub->db, "SELECT union_id FROM membership WHERE id = ?1", nid, "qh-xn-cz-a");
	assert_int_equal(ut_follow(w->cz, w->hub, &srep), 0);
	assert_int_equal(srep.rejected, 0);
	UT_OK(ut_rebuild_compare(w->cz, &st));
	UT_OK(ut_rebuild_compare(w->hub, &st));
	/* The record moves on: its join date still the first. */
	char third[UT_ID_SZ];
	ut_must(w->cz, hand_down(w->cz, nid, "qh-xn-cz", "2024-07-01"), third, sizeof third);
	assert_col(w->cz->db, "SELECT joined_on || ' ' || from_member FROM membership WHERE id = ?1", third,
		   "2024-03-05 cz:3:0");
}

static void expect_refused(hj_node *n, hj_json *op, const char *reason)
{
	hj_verdict v;
	int rc = ut_run(n, op, &v, NULL, 0, NULL);
	if (rc)
		fail_msg("failed: %s", hj_error_last());
	if (v.applied)
		fail_msg("applied; wanted %s", reason);
	if (strcmp(v.reason, reason) != 0)
		fail_msg("%s (%s); wanted %s", v.reason, v.detail, reason);
}

static void test_hand_down_refusals(void **state)
{
	ut_world *w = *state;
	char m[UT_ID_SZ], nid[UT_ID_SZ], app[UT_ID_SZ];
	admitted(w->cz, 1, m);
	/* Into the union it is in; into one that does not exist; outside the
	 * actor's subtree. */
	expect_refused(w->cz, hand_down(w->cz, m, "qh-xn-cz", "2024-06-01"), "invalid");
	expect_refused(w->cz, hand_down(w->cz, m, "qh-nowhere", "2024-06-01"), "unknown_union");
	expect_refused(w->cz, hand_down(w->cz, m, "qh-hd", "2024-06-01"), "no_authority");
	/* An application not yet approved is not a record to move. */
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 2), app, sizeof app);
	expect_refused(w->cz, hand_down(w->cz, app, "qh-xn-cz-a", "2024-06-01"), "not_active");
	/* A snapshot that is not the registry's (a phone changed by hand, in
	 * the plaintext form of op version 2; sealed: test_sealed_snapshot_refusals). */
	hj_json *op = ut_v2(hand_down_as(w->cz, m, "qh-xn-cz-a", "2024-06-01", 0));
	hj_json *person = (hj_json *)hj_json_get(hj_json_get(op, "snapshot"), "person");
	assert_int_equal(hj_json_set_str(person, "phone", "13900000000"), 0);
	expect_refused(w->cz, op, "invalid");
	/* Dated before the record began (approved 2024-03-05). */
	expect_refused(w->cz, hand_down(w->cz, m, "qh-xn-cz-a", "2024-03-01"), "date_order");
	/* Dated in the future, or a second move of a record already moved. */
	expect_refused(w->cz, hand_down(w->cz, m, "qh-xn-cz-a", "2099-01-01"), "future_date");
	ut_must(w->cz, hand_down(w->cz, m, "qh-xn-cz-a", "2024-06-01"), nid, sizeof nid);
	expect_refused(w->cz, hand_down(w->cz, m, "qh-xn-cz-a", "2024-06-02"), "not_active");
	/* Another county cannot move cz's member (the hub's verdict). */
	hj_json *theirs = hand_down(w->cz, nid, "qh-hd", "2024-06-03");
	hj_verdict v;
	hj_foldctx c = {.actor = "hd", .seq = 50, .rules = HJ_RULES_VERSION};
	assert_int_equal(ut_sequence(w->hub, w->cz), 4);
	assert_int_equal(hj_fold_op(w->hub->db, &c, theirs, &v), 0);
	assert_string_equal(v.reason, "no_authority");
	/* Under rules 2 there is no such op. */
	c.actor = "cz";
	c.rules = 2;
	assert_int_equal(hj_fold_op(w->hub->db, &c, theirs, &v), 0);
	assert_string_equal(v.reason, "invalid");
	hj_json_free(theirs);
}

/* A node enrolled for the receiving union only (the township below the
 * county) never held the old record: it builds the new one from the op's
 * snapshot, as the hub did, and its rows equal the hub's. */
static void test_nested_node_receives_the_record(void **state)
{
	ut_world *w = *state;
	char old[UT_ID_SZ], nid[UT_ID_SZ];
	hj_sync_report srep;
	hj_replay_stats st;
	hj_node *town = ut_county(w->dir, "cza", "qh-xn-cz-a", w->hub);
	ut_enroll(w->hub, town);
	assert_int_equal(ut_follow(w->cz, w->hub, &srep), 0); /* cz knows the town: it seals to it */
	admitted(w->cz, 7, old);
	ut_must(w->cz, hand_down(w->cz, old, "qh-xn-cz-a", "2024-06-01"), nid, sizeof nid);
	assert_int_equal(ut_sequence(w->hub, w->cz), 3);
	assert_int_equal(ut_follow(town, w->hub, &srep), 0);
	assert_int_equal(ut_int(town->db, "SELECT count(*) FROM membership", NULL), 1);
	assert_col(town->db, "SELECT status || ' ' || joined_on || ' ' || from_member FROM membership WHERE id = ?1", nid,
		   "active 2024-03-05 cz:1:0");
	assert_int_equal(ut_int(town->db, "SELECT count(*) FROM person", NULL), 1);
	assert_int_equal(ut_int(town->db, "SELECT count(*) FROM transfer", NULL), 1);
	/* Its rows are the hub's rows of its union. */
	char *mine = col(town->db, "SELECT group_concat(id || status || union_id || joined_on, ',') FROM membership", NULL);
	char *hubs = col(w->hub->db, "SELECT group_concat(id || status || union_id || joined_on, ',') FROM membership "
				     "WHERE union_id = ?1", "qh-xn-cz-a");
	assert_string_equal(mine, hubs);
	free(mine);
	free(hubs);
	char *p1 = col(town->db, "SELECT name || phone || id_number FROM person", NULL);
	char *p2 = col(w->hub->db, "SELECT name || phone || id_number FROM person WHERE person_key = "
				   "(SELECT person_key FROM membership WHERE id = ?1)", nid);
	assert_string_equal(p1, p2);
	free(p1);
	free(p2);
	UT_OK(ut_rebuild_compare(town, &st));
	/* The township works on the record it received. */
	char *pk = col(town->db, "SELECT person_key FROM membership WHERE id = ?1", nid);
	ut_must(town, ut_v2(ut_op("member.update", "member", nid, "person", pk, "phone", "13912345678", NULL)), NULL, 0);
	free(pk);
	hj_node_close(town);
}

/* The same when cz did not know the township's node yet (it had not
 * synced since the enrolment): its seal does not name it, and the hub,
 * delivering the hand-down, re-wraps the key for it (sync/wraps.c). */
static void test_receiver_the_author_did_not_know(void **state)
{
	ut_world *w = *state;
	char old[UT_ID_SZ], nid[UT_ID_SZ], idno[19];
	hj_sync_report srep;
	hj_replay_stats st;
	hj_node *town = ut_county(w->dir, "cza", "qh-xn-cz-a", w->hub);
	ut_enroll(w->hub, town);
	admitted(w->cz, 8, old);
	ut_must(w->cz, hand_down(w->cz, old, "qh-xn-cz-a", "2024-06-01"), nid, sizeof nid);
	assert_int_equal(ut_sequence(w->hub, w->cz), 3);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM rewrap WHERE node = 'cza'", NULL), 1);
	assert_int_equal(ut_follow(town, w->hub, &srep), 0);
	assert_int_equal(srep.wraps_refused, 0);
	ut_person_id(idno, 8);
	assert_col(town->db, "SELECT id_number FROM person", NULL, idno);
	char *mine = col(town->db, "SELECT name || phone || seal FROM person", NULL);
	char *hubs = col(w->hub->db, "SELECT name || phone || seal FROM person WHERE id_number = ?1", idno);
	assert_string_equal(mine, hubs);
	free(mine);
	free(hubs);
	UT_OK(ut_rebuild_compare(town, &st));
	/* Without the wrap the township holds the record, its person shut. */
	UT_OK(hj_db_exec(town->db, "DELETE FROM seal_wrap"));
	UT_OK(hj_db_exec(town->db, "BEGIN"));
	UT_OK(hj_projection_clear(town->db));
	UT_OK(hj_replay(town->db, town, 0, &st));
	UT_OK(hj_db_exec(town->db, "COMMIT"));
	assert_col(town->db, "SELECT name || id_number || coalesce(phone, 'none') FROM person", NULL, "none");
	hj_node_close(town);
}

/* Every digest of the province checks out (v3 from rules 3 on). */
static void test_audit_of_a_hand_down(void **state)
{
	ut_world *w = *state;
	char old[UT_ID_SZ], nid[UT_ID_SZ], key[65], work[512];
	hj_audit_report rep;
	admitted(w->cz, 3, old);
	ut_must(w->cz, hand_down(w->cz, old, "qh-xn-cz-a", "2024-06-01"), nid, sizeof nid);
	assert_int_equal(ut_sequence(w->hub, w->cz), 3);
	ut_flush(w->hub);
	char *hub_git = hj_node_repo_path(w->hub);
	hj_hex_encode(key, w->hub->pk, 32);
	snprintf(work, sizeof work, "%s/audit.git", w->dir);
	assert_int_equal(hj_audit(&rep, hub_git, key, w->hub->person_secret, work, NULL), 0);
	for (size_t i = 0; i < rep.nproblems; i++)
		fprintf(stderr, "  problem: %s\n", rep.problems[i]);
	assert_int_equal(rep.nproblems, 0);
	assert_true(rep.digests >= 1);
	hj_audit_report_free(&rep);
	free(hub_git);
	/* The v3 digest covers the move; v1's does not see the new columns. */
	uint8_t d1[32], d3[32], e1[32], e3[32];
	UT_OK(hj_projection_digest_for(w->hub->db, 1, d1));
	UT_OK(hj_projection_digest_for(w->hub->db, 3, d3));
	assert_int_equal(hj_db_exec(w->hub->db, "UPDATE membership SET joined_on = '2020-01-01' WHERE id = 'cz:3:0'"), 0);
	UT_OK(hj_projection_digest_for(w->hub->db, 1, e1));
	UT_OK(hj_projection_digest_for(w->hub->db, 3, e3));
	assert_memory_equal(d1, e1, 32);
	assert_memory_not_equal(d3, e3, 32);
}

/* ---- two-party transfers between counties ---- */

static hj_json *offer_op(hj_node *n, const char *member, const char *to)
{
	hj_json *op = ut_op("member.transfer_offer", "member", member, "to", to, "on", "2024-06-01", NULL), *snap = NULL;
	UT_OK(hj_transfer_snapshot_sealed(&snap, n, member, to));
	assert_int_equal(hj_json_set(op, "snapshot", snap), 0);
	return op;
}

/* The person object of fake person `who` as node n would sign it. */
static hj_json *person_of(const hj_node *n, int who)
{
	hj_json *ap = ut_apply_op(n, NULL, who), *person = NULL;
	hj_buf b = HJ_BUF_INIT;
	assert_int_equal(hj_json_write(&b, hj_json_get(ap, "person")), 0);
	assert_int_equal(hj_json_parse(&person, (const char *)b.data, b.len), 0);
	hj_buf_free(&b);
	hj_json_free(ap);
	return person;
}

static hj_json *request_op(hj_node *n, int who, const char *to)
{
	hj_json *op = ut_op("member.transfer_request", "to", to, "on", "2024-06-01", NULL);
	assert_int_equal(hj_json_set(op, "person", person_of(n, who)), 0);
	return op;
}

static hj_json *decide_op(const char *name, const char *transfer)
{
	return ut_op(name, "transfer", transfer, "on", "2024-06-02", NULL);
}

/* Both counties and the hub agree on the rows each holds. */
static void all_agree(ut_world *w)
{
	hj_sync_report srep;
	hj_replay_stats st;
	ut_sequence(w->hub, w->cz);
	ut_sequence(w->hub, w->hd);
	assert_int_equal(ut_follow(w->cz, w->hub, &srep), 0);
	assert_int_equal(ut_follow(w->hd, w->hub, &srep), 0);
	UT_OK(ut_rebuild_compare(w->cz, &st));
	UT_OK(ut_rebuild_compare(w->hd, &st));
	UT_OK(ut_rebuild_compare(w->hub, &st));
	/* At every node, at most one live record per person. */
	hj_node *nodes[] = {w->hub, w->cz, w->hd};
	for (int i = 0; i < 3; i++)
		assert_int_equal(ut_int(nodes[i]->db, "SELECT count(*) FROM (SELECT person_key FROM membership WHERE "
						      "status IN ('applied', 'active') GROUP BY 1 HAVING count(*) > 1)", NULL), 0);
}

static int setup2(void **state)
{
	hj_sync_report srep;
	int rc = setup(state);
	return rc ? rc : ut_follow(((ut_world *)*state)->hd, ((ut_world *)*state)->hub, &srep);
}

static void test_offer_accepted_by_the_other_county(void **state)
{
	ut_world *w = *state;
	char m[UT_ID_SZ], t[UT_ID_SZ], nid[UT_ID_SZ];
	admitted(w->cz, 1, m);
	ut_must(w->cz, offer_op(w->cz, m, "qh-hd"), t, sizeof t);
	/* Frozen while open: no update, leave or second transfer of it. */
	expect_refused(w->cz, ut_op("member.leave", "member", m, "on", "2024-06-01", "reason", "voluntary", NULL),
		       "transfer_open");
	expect_refused(w->cz, offer_op(w->cz, m, "qh-xn-cz-a"), "transfer_open");
	all_agree(w);
	/* hd holds the offer (not the record) and accepts it offline. */
	assert_col(w->hd->db, "SELECT status || ' ' || kind FROM transfer WHERE id = ?1", t, "open offer");
	assert_int_equal(ut_int(w->hd->db, "SELECT count(*) FROM membership", NULL), 0);
	/* An answer dated before the offer (2024-06-01) is refused. */
	expect_refused(w->hd, ut_op("member.transfer_accept", "transfer", t, "on", "2024-05-31", NULL), "date_order");
	ut_must(w->hd, decide_op("member.transfer_accept", t), nid, sizeof nid);
	assert_col(w->hd->db, "SELECT union_id || ' ' || status || ' ' || joined_on FROM membership WHERE id = ?1", nid,
		   "qh-hd active 2024-03-05");
	/* Until the acceptance is sequenced, cz still holds it active. */
	assert_col(w->cz->db, "SELECT status FROM membership WHERE id = ?1", m, "active");
	all_agree(w);
	assert_col(w->hub->db, "SELECT status FROM membership WHERE id = ?1", m, "transferred");
	assert_col(w->hub->db, "SELECT union_id || ' ' || from_member FROM membership WHERE id = ?1", nid, "qh-hd cz:1:0");
	assert_col(w->cz->db, "SELECT status FROM membership WHERE id = ?1", m, "transferred");
	assert_col(w->hub->db, "SELECT status || ' ' || to_member FROM transfer WHERE id = ?1", t, "accepted hd:1:0");
	/* Decided: a second answer is refused. */
	expect_refused(w->hd, decide_op("member.transfer_decline", t), "already_decided");
}

static void test_request_accepted_by_the_holding_county(void **state)
{
	ut_world *w = *state;
	char m[UT_ID_SZ], t[UT_ID_SZ], nid[UT_ID_SZ];
	admitted(w->cz, 2, m);
	all_agree(w);
	/* The driver turns up at hd, which asks for his record. */
	ut_must(w->hd, request_op(w->hd, 2, "qh-hd"), t, sizeof t);
	all_agree(w);
	assert_col(w->cz->db, "SELECT kind || ' ' || status FROM transfer WHERE id = ?1", t, "request open");
	char *pk = col(w->cz->db, "SELECT person_key FROM membership WHERE id = ?1", m);
	expect_refused(w->cz, ut_v2(ut_op("member.update", "member", m, "person", pk, "phone", "13911112222", NULL)),
		       "transfer_open");
	free(pk);
	/* cz accepts, naming the record and signing its snapshot. */
	hj_json *acc = decide_op("member.transfer_accept", t), *snap = NULL;
	assert_int_equal(hj_json_set_str(acc, "member", m), 0);
	UT_OK(hj_transfer_snapshot_sealed(&snap, w->cz, m, "qh-hd"));
	assert_int_equal(hj_json_set(acc, "snapshot", snap), 0);
	ut_must(w->cz, acc, nid, sizeof nid);
	assert_int_equal(ut_int(w->cz->db, "SELECT count(*) FROM membership WHERE id = ?1", nid), 0); /* hd's now */
	all_agree(w);
	assert_col(w->hd->db, "SELECT union_id || ' ' || status || ' ' || from_member FROM membership WHERE id = ?1", nid,
		   "qh-hd active cz:1:0");
	assert_col(w->hub->db, "SELECT status FROM membership WHERE id = ?1", m, "transferred");
}

static void test_declines_withdrawals_and_the_hub(void **state)
{
	ut_world *w = *state;
	char m[UT_ID_SZ], t1[UT_ID_SZ], t2[UT_ID_SZ], t3[UT_ID_SZ];
	admitted(w->cz, 3, m);
	ut_must(w->cz, offer_op(w->cz, m, "qh-hd"), t1, sizeof t1);
	all_agree(w);
	/* Only the receiving side declines an offer; only its maker withdraws. */
	expect_refused(w->cz, decide_op("member.transfer_decline", t1), "no_authority");
	expect_refused(w->hd, decide_op("member.transfer_withdraw", t1), "no_authority");
	ut_must(w->hd, decide_op("member.transfer_decline", t1), NULL, 0);
	all_agree(w);
	assert_col(w->cz->db, "SELECT status FROM transfer WHERE id = ?1", t1, "declined");
	/* Unfrozen: offered again, then withdrawn; an accept of it is late. */
	ut_must(w->cz, offer_op(w->cz, m, "qh-hd"), t2, sizeof t2);
	ut_must(w->cz, decide_op("member.transfer_withdraw", t2), NULL, 0);
	all_agree(w);
	expect_refused(w->hd, decide_op("member.transfer_accept", t2), "already_decided");
	/* Offered a third time and never answered: the hub decides. */
	ut_must(w->cz, offer_op(w->cz, m, "qh-hd"), t3, sizeof t3);
	all_agree(w);
	/* The offering side cannot accept its own offer into a union it does
	 * not answer for. */
	expect_refused(w->cz, decide_op("member.transfer_accept", t3), "no_authority");
	ut_must(w->hub, decide_op("member.transfer_accept", t3), NULL, 0);
	all_agree(w);
	assert_col(w->hub->db, "SELECT status || ' ' || by_hub FROM transfer WHERE id = ?1", t3, "accepted 1");
	assert_col(w->hd->db, "SELECT union_id FROM membership WHERE from_member = ?1", m, "qh-hd");
	expect_refused(w->hd, decide_op("member.transfer_accept", "cz:99:0"), "unknown_transfer");
	/* A request for a person already in the requesting union, and (the
	 * hub's verdict) for one who holds no record anywhere. */
	expect_refused(w->hd, request_op(w->hd, 3, "qh-hd"), "invalid");
	hj_verdict v;
	hj_json *nobody = request_op(w->hd, 77, "qh-hd");
	hj_foldctx c = {.actor = "hd", .seq = 60, .rules = HJ_RULES_VERSION, .person_secret = w->hub->person_secret,
			.unseal = &w->hub->unsealer};
	assert_int_equal(hj_fold_op(w->hub->db, &c, nobody, &v), 0);
	assert_string_equal(v.reason, "unknown_member");
	hj_json_free(nobody);
}

/* Both sides race offline: cz withdraws its offer while hd accepts it —
 * whichever the hub sequences first stands (here the acceptance; the late
 * withdrawal is already_decided), and everyone ends with the hub's rows. */
static void test_withdrawal_races_an_acceptance(void **state)
{
	ut_world *w = *state;
	char m[UT_ID_SZ], t[UT_ID_SZ];
	admitted(w->cz, 4, m);
	ut_must(w->cz, offer_op(w->cz, m, "qh-hd"), t, sizeof t);
	all_agree(w);
	ut_must(w->cz, decide_op("member.transfer_withdraw", t), NULL, 0);           /* cz, offline */
	ut_must(w->hd, decide_op("member.transfer_accept", t), NULL, 0);             /* hd, offline */
	ut_sequence(w->hub, w->hd); /* hd's acceptance first */
	all_agree(w);
	assert_col(w->hub->db, "SELECT status FROM transfer WHERE id = ?1", t, "accepted");
	assert_col(w->cz->db, "SELECT status FROM membership WHERE id = ?1", m, "transferred");
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM membership WHERE status = 'active'", NULL), 1);
	char *v = col(w->cz->db, "SELECT verdicts FROM followed WHERE node = 'cz' ORDER BY pos DESC LIMIT 1", NULL);
	assert_non_null(strstr(v, "already_decided"));
	free(v);
}

/* ---- the person inside a snapshot travels sealed (op version 3) ---- */

/* The offer's bytes name nobody; hd, given it, opens the person and builds
 * the hub's person row (the seal the registry row came from, not the
 * snapshot's); the plaintext form of op version 2 still folds. */
static void test_sealed_snapshot_moves_the_person(void **state)
{
	ut_world *w = *state;
	char m[UT_ID_SZ], t[UT_ID_SZ], nid[UT_ID_SZ], idno[19];
	admitted(w->cz, 5, m);
	ut_person_id(idno, 5);
	char *name = col(w->cz->db, "SELECT p.name FROM person p JOIN membership m ON m.person_key = p.person_key "
				    "WHERE m.id = ?1", m);
	char *seal = col(w->cz->db, "SELECT p.seal FROM person p JOIN membership m ON m.person_key = p.person_key "
				    "WHERE m.id = ?1", m);
	hj_json *op = offer_op(w->cz, m, "qh-hd");
	hj_buf b = HJ_BUF_INIT;
	assert_int_equal(hj_json_write(&b, op), 0);
	hj_buf_put_u8(&b, 0);
	assert_null(strstr((const char *)b.data, idno));
	assert_null(strstr((const char *)b.data, name));
	assert_non_null(strstr((const char *)b.data, seal)); /* the row's seal, beside the new one */
	hj_buf_free(&b);
	ut_must(w->cz, op, t, sizeof t);
	all_agree(w);
	ut_must(w->hd, decide_op("member.transfer_accept", t), nid, sizeof nid);
	all_agree(w);
	assert_col(w->hd->db, "SELECT p.name FROM person p JOIN membership m ON m.person_key = p.person_key WHERE m.id = ?1",
		   nid, name);
	assert_col(w->hd->db, "SELECT p.id_number FROM person p JOIN membership m ON m.person_key = p.person_key "
			      "WHERE m.id = ?1", nid, idno);
	assert_col(w->hd->db, "SELECT p.seal FROM person p JOIN membership m ON m.person_key = p.person_key WHERE m.id = ?1",
		   nid, seal);
	assert_col(w->hub->db, "SELECT p.seal FROM person p JOIN membership m ON m.person_key = p.person_key "
			       "WHERE m.id = ?1", nid, seal);
	/* Back to cz in the plaintext form of op version 2: still taken. */
	char back[UT_ID_SZ];
	hj_json *plain = ut_op("member.transfer_offer", "member", nid, "to", "qh-xn-cz", "on", "2024-06-03", NULL), *snap = NULL;
	UT_OK(hj_fold_transfer_snapshot(&snap, w->hd->db, nid));
	assert_int_equal(hj_json_set(plain, "snapshot", snap), 0);
	assert_int_equal(hj_json_set_int(plain, "v", 2), 0);
	ut_must(w->hd, plain, back, sizeof back);
	all_agree(w);
	assert_col(w->hub->db, "SELECT status FROM transfer WHERE id = ?1", back, "open");
	free(name);
	free(seal);
}

/* From op version 3 a member op's personal fields must be sealed: a
 * modified client's plaintext application, update, request or snapshot
 * is refused wherever it is folded, its detail naming nobody; the same
 * ops as version 2 signed them are read. */
static void test_plaintext_refused_from_op_version_3(void **state)
{
	ut_world *w = *state;
	char m[UT_ID_SZ], idno[19];
	admitted(w->cz, 9, m);
	ut_person_id(idno, 41);
	char *pk = col(w->cz->db, "SELECT person_key FROM membership WHERE id = ?1", m);
	hj_json *plain_req = ut_op("member.transfer_request", "to", "qh-xn-cz", "on", "2024-06-01", NULL);
	hj_json *app = ut_plain_apply_op(w->hd, NULL, 41), *copy = NULL;
	hj_buf b = HJ_BUF_INIT;
	assert_int_equal(hj_json_write(&b, hj_json_get(app, "person")), 0);
	assert_int_equal(hj_json_parse(&copy, (const char *)b.data, b.len), 0);
	hj_buf_free(&b);
	hj_json_free(app);
	assert_int_equal(hj_json_set(plain_req, "person", copy), 0);
	hj_json *ops[] = {
		ut_plain_apply_op(w->cz, NULL, 41),
		ut_op("member.update", "member", m, "person", pk, "phone", "13911112222", NULL),
		plain_req,
		hand_down_as(w->cz, m, "qh-xn-cz-a", "2024-06-01", 0),
	};
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
		hj_verdict v;
		assert_int_equal(hj_json_set_int(ops[i], "v", 3), 0);
		UT_OK(ut_run(w->cz, ops[i], &v, NULL, 0, NULL));
		if (v.applied || strcmp(v.reason, "invalid") != 0 || !strstr(v.detail, "personal fields in plaintext"))
			fail_msg("op %zu: %s %s (%s)", i, v.applied ? "applied" : "rejected", v.reason, v.detail);
		assert_null(strstr(v.detail, idno));
	}
	/* As version 2 signed it, the application is read. */
	ut_must(w->cz, ut_v2(ut_plain_apply_op(w->cz, NULL, 42)), NULL, 0);
	free(pk);
}

/* A sealed snapshot the hub must refuse, folded as the hub folds cz's op:
 * invalid, its detail naming nobody. */
static void hub_refuses(ut_world *w, hj_json *op, const char *detail, const char *idno)
{
	hj_verdict v;
	hj_foldctx c = {.actor = "cz", .seq = 90, .rules = HJ_RULES_VERSION, .person_secret = w->hub->person_secret,
			.unseal = &w->hub->unsealer};
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	if (v.applied || strcmp(v.reason, "invalid") != 0 || !strstr(v.detail, detail))
		fail_msg("%s: %s (%s); wanted invalid: ...%s...", v.applied ? "applied" : "rejected", v.reason, v.detail, detail);
	assert_null(strstr(v.detail, idno));
	hj_json_free(op);
}

static hj_json *snap_person(hj_json *op)
{
	return (hj_json *)hj_json_get(hj_json_get(op, "snapshot"), "person");
}

static void test_sealed_snapshot_refusals(void **state)
{
	ut_world *w = *state;
	char m[UT_ID_SZ], idno[19];
	admitted(w->cz, 6, m);
	all_agree(w);
	ut_person_id(idno, 6);
	/* Sealed to cz alone: the hub cannot check it. */
	hj_json *op = offer_op(w->cz, m, "qh-hd"), *fields = hj_json_new(HJ_JOBJ), *sealed = NULL;
	char *name = col(w->cz->db, "SELECT name FROM person WHERE id_number = ?1", idno);
	char *phone = col(w->cz->db, "SELECT phone FROM person WHERE id_number = ?1", idno);
	assert_int_equal(hj_json_set_str(fields, "name", name) || hj_json_set_str(fields, "id_number", idno) ||
			 hj_json_set_str(fields, "phone", phone), 0);
	hj_buf plain = HJ_BUF_INIT;
	assert_int_equal(hj_json_write(&plain, fields), 0);
	hj_seal_to only = {"cz", {0}};
	assert_int_equal(hj_seal_pk_from_node(only.pk, w->cz->pk), 0);
	assert_int_equal(hj_seal_json(&sealed, plain.data, plain.len, &only, 1), 0);
	assert_int_equal(hj_json_set(snap_person(op), "sealed", sealed), 0);
	hub_refuses(w, op, "not sealed to the hub", idno);
	/* Sealed to the hub, but another phone than the registry's. */
	op = offer_op(w->cz, m, "qh-hd");
	assert_int_equal(hj_json_set_str(fields, "phone", "13900000000"), 0);
	hj_buf_reset(&plain);
	assert_int_equal(hj_json_write(&plain, fields), 0);
	assert_int_equal(hj_person_seal_set(snap_person(op), w->cz, fields, "qh-hd"), 0);
	hub_refuses(w, op, "is not the registry's", idno);
	/* The row's seal misnamed; a key the form does not have; a ciphertext
	 * from another seal (it does not open). */
	op = offer_op(w->cz, m, "qh-hd");
	assert_int_equal(hj_json_set_str(snap_person(op), "seal", "ab" "00000000000000000000000000000000000000000000000000000000000000"), 0);
	hub_refuses(w, op, "is not the registry's", idno);
	op = offer_op(w->cz, m, "qh-hd");
	assert_int_equal(hj_json_set_str(snap_person(op), "name", name), 0);
	hub_refuses(w, op, "personal fields in plaintext", idno);
	op = offer_op(w->cz, m, "qh-hd");
	hj_json *other = offer_op(w->cz, m, "qh-xn-cz-a");
	const char *ct = hj_json_get_str(hj_json_get(snap_person(other), "sealed"), "ct");
	assert_int_equal(hj_json_set_str((hj_json *)hj_json_get(snap_person(op), "sealed"), "ct", ct), 0);
	hub_refuses(w, op, "the snapshot's sealed personal fields", idno);
	hj_json_free(other);
	/* The honest one is taken. */
	hj_verdict v;
	hj_foldctx c = {.actor = "cz", .seq = 91, .rules = HJ_RULES_VERSION, .person_secret = w->hub->person_secret,
			.unseal = &w->hub->unsealer};
	op = offer_op(w->cz, m, "qh-hd");
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	if (!v.applied)
		fail_msg("the honest snapshot: %s (%s)", v.reason, v.detail);
	hj_json_free(op);
	hj_json_free(fields);
	hj_buf_free(&plain);
	free(name);
	free(phone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hand_down_moves_the_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hand_down_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_node_receives_the_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receiver_the_author_did_not_know, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_of_a_hand_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offer_accepted_by_the_other_county, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_request_accepted_by_the_holding_county, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_declines_withdrawals_and_the_hub, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_withdrawal_races_an_acceptance, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_snapshot_moves_the_person, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_snapshot_refusals, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_plaintext_refused_from_op_version_3, setup2, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
