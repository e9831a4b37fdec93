/*
 * test_province_transfer.c — a record that moves to another province
 * (node/ops_province_transfer.c, sync/province_transfer.c): the offer to
 * a peer's union (only to an enrolled peer, its snapshot sealed to that
 * peer's hub; answered there, never here); the hub ops that take it in
 * and close it (only a hub writes them, strict fields, an unknown
 * province or transfer refused, a county not holding the transfer
 * folding them as nothing); and the hub pass over the peer registries,
 * end to end on two real provinces sharing the national key: taken in
 * once, accepted there keeping the join date, closed here as
 * transferred; a decline frees the record; an offer withdrawn after it
 * was taken in is withdrawn there by the hub; a person already active in
 * the receiving province is an operator conflict, not a second record.
 */
#include "support.h"
#include "error.h"
#include "followed.h"
#include "hex.h"
#include "person_seal.h"
#include "province_transfer.h"
#include "rules.h"
#include "transfer_seal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct two {
	ut_world *w; /* qh: hub "hub", counties cz, hd */
	char *dir;   /* ah's */
	hj_node *ah; /* ah's hub "ah-hub", union ah-u below it */
} two;

static hj_json *peer_op(const char *prov, const char *hub, const hj_node *n)
{
	char key[65];
	hj_hex_encode(key, n->pk, 32);
	return ut_op("province.peer", "province", prov, "hub_node", hub, "key", key, "url", "git://x/hub.git", NULL);
}

static int setup(void **state)
{
	two *t = calloc(1, sizeof *t);
	hj_sync_report rep;
	if (!t || !(t->w = ut_world_new(1)) || !(t->dir = ut_tmpdir()) ||
	    !(t->ah = ut_hub(t->dir, "ah-hub", "ah", "安徽省总工会")))
		return -1;
	memcpy(t->ah->person_secret, t->w->hub->person_secret, 32); /* the national key */
	ut_must(t->ah, ut_op("org.create", "id", "ah-u", "name", "瑶海区总工会", "kind", "county", "parent", "ah",
			     "region", "34", NULL), NULL, 0);
	UT_OK(hj_followed_rules_set(t->ah->db, HJ_RULES_VERSION));
	UT_OK(hj_followed_rules_set(t->w->hub->db, HJ_RULES_VERSION));
	ut_must(t->w->hub, peer_op("ah", "ah-hub", t->ah), NULL, 0);
	ut_must(t->ah, peer_op("qh", "hub", t->w->hub), NULL, 0);
	ut_sequence(t->w->hub, NULL);
	if (ut_follow(t->w->cz, t->w->hub, &rep))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	two *t = *state;
	hj_node_close(t->ah);
	ut_rmtree(t->dir);
	free(t->dir);
	int rc = ut_world_free(t->w);
	free(t);
	return rc;
}

/* An active member of cz (person `who`), sequenced at qh's hub. */
static void admitted(two *t, int who, char id[UT_ID_SZ])
{
	ut_must(t->w->cz, ut_apply_op(t->w->cz, NULL, who), id, UT_ID_SZ);
	ut_must(t->w->cz, ut_op("member.approve", "member", id, "on", "2024-03-05", NULL), NULL, 0);
	ut_sequence(t->w->hub, t->w->cz);
}

/* cz's offer of `member` to union ah-u of province `prov`, the snapshot
 * sealed to province `sealed_to`'s hub (NULL: to no peer). */
static hj_json *offer(two *t, const char *member, const char *prov, const char *sealed_to)
{
	hj_json *snap = NULL, *op = ut_op("member.transfer_offer", "member", member, "to", "ah-u", "on", "2024-06-01",
					  "province", prov, NULL);
	UT_OK(hj_transfer_snapshot_sealed_to(&snap, t->w->cz, member, "ah-u", sealed_to));
	assert_int_equal(hj_json_set(op, "snapshot", snap), 0);
	return op;
}

/* Fold op into db as the hub's sequencer sees `actor`'s work (today's
 * rules; no local identity). */
static const char *fold_as(hj_db *db, const char *actor, hj_json *op, hj_verdict *v)
{
	hj_foldctx c = {.actor = actor, .seq = 90, .rules = HJ_RULES_VERSION};
	assert_int_equal(hj_fold_op(db, &c, op, v), 0);
	hj_json_free(op);
	return v->applied ? "" : v->reason;
}

/* peer's registry as `at`'s peers/<prov>.db at position seq, as sync/peer.c
 * installs one. */
static void install(hj_node *at, hj_node *peer, const char *prov, uint64_t seq)
{
	char dir[3900], path[4096], q[4200], s[24];
	snprintf(dir, sizeof dir, "%s/peers", at->dir);
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/%s.db", dir, prov);
	unlink(path);
	snprintf(s, sizeof s, "%llu", (unsigned long long)seq);
	UT_OK(hj_meta_set(peer->db, "peer_hub_seq", s));
	snprintf(q, sizeof q, "VACUUM INTO '%s'", path);
	UT_OK(hj_db_exec(peer->db, q));
}

static void test_offer(void **state)
{
	two *t = *state;
	hj_verdict v;
	char id[UT_ID_SZ], tid[UT_ID_SZ];
	admitted(t, 1, id);
	/* Only to an enrolled peer, sealed to its hub. */
	hj_json *bad = offer(t, id, "ah", "ah");
	assert_int_equal(hj_json_set_str(bad, "province", "zz"), 0);
	assert_string_equal(fold_as(t->w->hub->db, "cz", bad, &v), "unknown_province");
	assert_string_equal(fold_as(t->w->hub->db, "cz", offer(t, id, "ah", NULL), &v), "invalid");
	assert_non_null(strstr(v.detail, "not sealed to province ah's hub"));
	/* A county seals to a province it does not follow: refused to seal. */
	hj_json *snap = NULL;
	assert_int_equal(hj_transfer_snapshot_sealed_to(&snap, t->w->cz, id, "ah-u", "zz"), HJ_ENOTFOUND);
	/* The offer: the union is the peer's, not looked up here. */
	ut_must(t->w->cz, offer(t, id, "ah", "ah"), tid, sizeof tid);
	ut_sequence(t->w->hub, t->w->cz);
	assert_int_equal(ut_int(t->w->hub->db, "SELECT count(*) FROM transfer WHERE id = ?1 AND kind = 'province_out' "
				"AND to_union = 'ah/ah-u' AND status = 'open'", tid), 1);
	/* Answered there, never here; withdrawn here by the holder. */
	assert_string_equal(fold_as(t->w->hub->db, "hub", ut_op("member.transfer_accept", "transfer", tid, "on",
								  "2024-06-02", NULL), &v), "invalid");
	assert_string_equal(fold_as(t->w->hub->db, "hub", ut_op("member.transfer_decline", "transfer", tid, "on",
								  "2024-06-02", NULL), &v), "invalid");
	assert_string_equal(fold_as(t->w->hub->db, "hd", ut_op("member.transfer_withdraw", "transfer", tid, "on",
								 "2024-06-02", NULL), &v), "no_authority");
	/* The record is frozen meanwhile. */
	assert_string_equal(fold_as(t->w->hub->db, "cz", offer(t, id, "ah", "ah"), &v), "transfer_open");
}

static hj_json *out_op(const char *prov, const char *tid, const char *status, const char *to_member)
{
	hj_json *op = ut_op("province.transfer_out", "province", prov, "transfer", tid, "status", status, "on",
			    "2024-06-03", "to_member", to_member, NULL);
	assert_int_equal(hj_json_set_int(op, "peer_hub_seq", 4), 0);
	return op;
}

static void test_transfer_out_checks(void **state)
{
	two *t = *state;
	hj_db *db = t->w->hub->db;
	hj_verdict v;
	char id[UT_ID_SZ], tid[UT_ID_SZ];
	admitted(t, 2, id);
	ut_must(t->w->cz, offer(t, id, "ah", "ah"), tid, sizeof tid);
	ut_sequence(t->w->hub, t->w->cz);
	/* Only a hub; an enrolled province; strict fields. */
	assert_string_equal(fold_as(db, "cz", out_op("ah", tid, "declined", NULL), &v), "no_authority");
	assert_string_equal(fold_as(db, "hub", out_op("zz", tid, "declined", NULL), &v), "unknown_province");
	assert_string_equal(fold_as(db, "hub", out_op("ah", tid, "maybe", NULL), &v), "invalid");
	assert_string_equal(fold_as(db, "hub", out_op("ah", tid, "accepted", NULL), &v), "invalid");
	hj_json *noseq = out_op("ah", tid, "declined", NULL);
	assert_int_equal(hj_json_set_int(noseq, "peer_hub_seq", 0), 0);
	assert_string_equal(fold_as(db, "hub", noseq, &v), "invalid");
	assert_string_equal(fold_as(db, "hub", out_op("ah", "cz:99:0", "declined", NULL), &v), "unknown_transfer");
	/* A county that does not hold the transfer folds it as nothing. */
	hj_foldctx c = {.actor = "hub", .seq = 90, .self = "cz", .self_union = "qh-xn-cz", .rules = HJ_RULES_VERSION};
	hj_json *op = out_op("ah", "cz:99:0", "declined", NULL);
	assert_int_equal(hj_fold_op(t->w->cz->db, &c, op, &v), 0);
	hj_json_free(op);
	assert_true(v.applied);
	/* Only the province offered to answers. */
	hj_json *gs = peer_op("gs", "gs-hub", t->ah);
	assert_int_equal(hj_json_set_str(gs, "url", "git://gs/hub.git"), 0);
	ut_must(t->w->hub, gs, NULL, 0);
	assert_string_equal(fold_as(db, "hub", out_op("gs", tid, "declined", NULL), &v), "invalid");
	assert_non_null(strstr(v.detail, "no offer to province gs"));
	/* The same inward op: only a hub writes it. */
	hj_json *in = ut_op("province.transfer_in", "province", "ah", "transfer", "x:1:0", "member", "x:1:0",
			    "from_union", "ah-u", "to", "qh-xn-cz", "on", "2024-06-01", NULL);
	assert_string_equal(fold_as(db, "cz", in, &v), "no_authority");
	in = ut_op("province.transfer_in", "province", "ah", "transfer", "x:1:0", "on", "2024-06-01", NULL);
	assert_string_equal(fold_as(db, "hub", in, &v), "invalid");
	in = ut_op("province.transfer_in", "province", "zz", "transfer", "x:1:0", "on", "2024-06-01", NULL);
	assert_string_equal(fold_as(db, "hub", in, &v), "unknown_province");
	/* Declined there: the record is free again, here and at cz. */
	ut_must(t->w->hub, out_op("ah", tid, "declined", NULL), NULL, 0);
	assert_int_equal(ut_int(db, "SELECT count(*) FROM transfer WHERE id = ?1 AND status = 'declined'", tid), 1);
	assert_int_equal(ut_int(db, "SELECT count(*) FROM membership WHERE id = ?1 AND status = 'active'", id), 1);
	assert_string_equal(fold_as(db, "hub", out_op("ah", tid, "accepted", "ah-hub:9:0"), &v), "already_decided");
	hj_sync_report rep;
	UT_OK(ut_follow(t->w->cz, t->w->hub, &rep));
	assert_int_equal(ut_int(t->w->cz->db, "SELECT count(*) FROM transfer WHERE id = ?1 AND status = 'declined'",
				tid), 1);
}

/* ah's province_in row for qh's transfer tid: its id. */
static void in_id(char out[UT_ID_SZ + 4], const char *tid)
{
	snprintf(out, UT_ID_SZ + 4, "qh/%s", tid);
}

static void test_pass_end_to_end(void **state)
{
	two *t = *state;
	hj_province_xfer_report rep;
	hj_verdict v;
	char id[UT_ID_SZ], tid[UT_ID_SZ], local[UT_ID_SZ + 4], idno[19];
	admitted(t, 3, id);
	ut_must(t->w->cz, offer(t, id, "ah", "ah"), tid, sizeof tid);
	ut_sequence(t->w->hub, t->w->cz);
	/* ah's pass over qh's registry takes the offer in, once. */
	install(t->ah, t->w->hub, "qh", 7);
	UT_OK(hj_province_transfer_pass(&rep, t->ah));
	assert_int_equal(rep.taken_in, 1);
	in_id(local, tid);
	char *frm = ut_text(t->ah->db, "SELECT from_member FROM transfer WHERE id = ?1 AND kind = 'province_in' AND "
			    "to_union = 'ah-u' AND status = 'open'", local);
	assert_non_null(frm);
	assert_true(strncmp(frm, "qh/", 3) == 0 && strcmp(frm + 3, id) == 0);
	free(frm);
	UT_OK(hj_province_transfer_pass(&rep, t->ah));
	assert_int_equal(rep.taken_in, 0);
	/* Its person, sealed afresh, opens at ah's hub: the number is his. */
	char *snap = ut_text(t->ah->db, "SELECT snapshot FROM transfer WHERE id = ?1", local);
	ut_person_id(idno, 3);
	assert_null(strstr(snap, idno));
	assert_null(strstr(snap, "hub@ah")); /* sealed to ah's own nodes, as "hub" */
	free(snap);
	/* Withdrawn here only by the hub (on the offering province's word). */
	assert_string_equal(fold_as(t->ah->db, "nobody", ut_op("member.transfer_withdraw", "transfer", local, "on",
								"2024-06-02", NULL), &v), "no_authority");
	/* Answered by a node answering for ah-u only. */
	ut_must(t->ah, ut_op("org.create", "id", "ah-v", "name", "包河区总工会", "kind", "county", "parent", "ah",
			     "region", "34", NULL), NULL, 0);
	ut_must(t->ah, ut_enroll_op("bh", t->w->hd->pk, "ah-v", "union"), NULL, 0);
	assert_string_equal(fold_as(t->ah->db, "bh", ut_op("member.transfer_decline", "transfer", local, "on",
							    "2024-06-02", NULL), &v), "no_authority");
	assert_string_equal(fold_as(t->ah->db, "bh", ut_op("member.transfer_accept", "transfer", local, "on",
							    "2024-06-02", NULL), &v), "no_authority");
	assert_string_equal(fold_as(t->ah->db, "cz", ut_op("member.transfer_decline", "transfer", local, "on",
							    "2024-06-02", NULL), &v), "unknown_node");
	assert_string_equal(fold_as(t->ah->db, "cz", ut_op("member.transfer_accept", "transfer", local, "on",
							    "2024-06-02", NULL), &v), "unknown_node");
	/* Accepted at ah (the hub answers for ah-u): the record keeps its join date. */
	char newid[UT_ID_SZ];
	ut_must(t->ah, ut_op("member.transfer_accept", "transfer", local, "on", "2024-06-03", NULL), newid, sizeof newid);
	char *joined = ut_text(t->ah->db, "SELECT joined_on FROM membership WHERE id = ?1 AND status = 'active'", newid);
	char *want = ut_text(t->w->hub->db, "SELECT joined_on FROM membership WHERE id = ?1", id);
	assert_non_null(joined);
	assert_string_equal(joined, want);
	free(joined);
	free(want);
	char *name = ut_text(t->ah->db, "SELECT id_number FROM person p JOIN membership m ON m.person_key = "
			     "p.person_key WHERE m.id = ?1", newid);
	assert_string_equal(name, idno);
	free(name);
	/* qh's pass over ah's registry closes qh's transfer: transferred. */
	install(t->w->hub, t->ah, "ah", 9);
	UT_OK(hj_province_transfer_pass(&rep, t->w->hub));
	assert_int_equal(rep.closed, 1);
	assert_int_equal(ut_int(t->w->hub->db, "SELECT count(*) FROM membership WHERE id = ?1 AND status = "
				"'transferred' AND left_on = '2024-06-03'", id), 1);
	char tm[UT_ID_SZ + 4];
	snprintf(tm, sizeof tm, "ah/%s", newid);
	assert_int_equal(ut_int(t->w->hub->db, "SELECT count(*) FROM transfer WHERE status = 'accepted' AND "
				"to_member = ?1", tm), 1);
	UT_OK(hj_province_transfer_pass(&rep, t->w->hub));
	assert_int_equal(rep.closed, 0);
	/* cz follows: its record ends too. */
	hj_sync_report srep;
	ut_sequence(t->w->hub, NULL);
	UT_OK(ut_follow(t->w->cz, t->w->hub, &srep));
	assert_int_equal(ut_int(t->w->cz->db, "SELECT count(*) FROM membership WHERE id = ?1 AND status = "
				"'transferred'", id), 1);
}

static void test_withdrawn_there(void **state)
{
	two *t = *state;
	hj_province_xfer_report rep;
	char id[UT_ID_SZ], tid[UT_ID_SZ], local[UT_ID_SZ + 4];
	admitted(t, 5, id);
	ut_must(t->w->cz, offer(t, id, "ah", "ah"), tid, sizeof tid);
	ut_sequence(t->w->hub, t->w->cz);
	install(t->ah, t->w->hub, "qh", 7);
	UT_OK(hj_province_transfer_pass(&rep, t->ah));
	assert_int_equal(rep.taken_in, 1);
	/* qh's county withdraws its offer; ah's next pass withdraws its own. */
	ut_must(t->w->cz, ut_op("member.transfer_withdraw", "transfer", tid, "on", "2024-06-02", NULL), NULL, 0);
	ut_sequence(t->w->hub, t->w->cz);
	assert_int_equal(ut_int(t->w->hub->db, "SELECT count(*) FROM membership WHERE id = ?1 AND status = 'active'",
				id), 1);
	install(t->ah, t->w->hub, "qh", 8);
	UT_OK(hj_province_transfer_pass(&rep, t->ah));
	assert_int_equal(rep.withdrawn, 1);
	in_id(local, tid);
	assert_int_equal(ut_int(t->ah->db, "SELECT count(*) FROM transfer WHERE id = ?1 AND status = 'withdrawn' AND "
				"by_hub = 1", local), 1);
	UT_OK(hj_province_transfer_pass(&rep, t->ah));
	assert_int_equal(rep.withdrawn + rep.taken_in + rep.conflicts, 0);
}

static void test_conflict_active_there(void **state)
{
	two *t = *state;
	hj_province_xfer_report rep;
	char id[UT_ID_SZ], tid[UT_ID_SZ], there[UT_ID_SZ];
	/* Person 4 is active in both (admitted at ah before either followed
	 * the other): the offer is not taken in; an operator conflict. */
	admitted(t, 4, id);
	ut_must(t->ah, ut_apply_op(t->ah, "ah-u", 4), there, sizeof there);
	ut_must(t->ah, ut_op("member.approve", "member", there, "on", "2024-03-05", NULL), NULL, 0);
	ut_must(t->w->cz, offer(t, id, "ah", "ah"), tid, sizeof tid);
	ut_sequence(t->w->hub, t->w->cz);
	install(t->ah, t->w->hub, "qh", 8);
	UT_OK(hj_province_transfer_pass(&rep, t->ah));
	assert_int_equal(rep.taken_in, 0);
	assert_int_equal(rep.conflicts, 1);
	assert_int_equal(ut_int(t->ah->db, "SELECT count(*) FROM province_conflict WHERE province = 'qh' AND "
				"transfer = ?1 AND kind = 'active_here' AND peer_hub_seq = 8", tid), 1);
	char idno[19];
	ut_person_id(idno, 4);
	assert_int_equal(ut_int(t->ah->db, "SELECT count(*) FROM province_conflict WHERE instr(detail, ?1)", idno), 0);
	/* Found again next pass, recorded once; still no second record. */
	UT_OK(hj_province_transfer_pass(&rep, t->ah));
	assert_int_equal(rep.conflicts, 0);
	assert_int_equal(ut_int(t->ah->db, "SELECT count(*) FROM transfer", NULL), 0);
	assert_int_equal(ut_int(t->ah->db, "SELECT count(*) FROM membership WHERE status = 'active'", NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfer_out_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_end_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_withdrawn_there, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_active_there, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
