/*
 * test_person_key.c — the national person key kept off county laptops
 * (node/fold_key.c, hub entry v4 "keys"). A real province
 * (tests/unit/support.c): the hub, which holds the person secret, and
 * counties cz and hd, which hold none. Proves: a county's change sets name
 * no person key (an application, an update, a transfer's snapshot); its
 * own work is keyed provisionally and de-duplicated by the ID numbers it
 * holds; the hub derives the key and its entry publishes it; after the
 * follow the county's records carry the hub's key, byte for byte the
 * hub's rows; a record moved to a county that never saw the application
 * takes the key the entry gives; a published key that is not the
 * record's is refused by a re-fold that holds the record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hub_entry.h"
#include "person_key.h"
#include "replay.h"
#include "support.h"
#include "transfer_seal.h"

#define OK UT_OK

static int setup(void **state)
{
	ut_world *w = ut_world_new(1);
	hj_sync_report srep;
	if (!w || ut_follow(w->cz, w->hub, &srep) || ut_follow(w->hd, w->hub, &srep))
		return -1;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

/* The national key of fake person `who`, as the hub derives it. */
static void hub_key(char out[65], const ut_world *w, int who)
{
	char id[19];
	ut_person_id(id, who);
	hj_person_key_derive(out, w->hub->person_secret, id);
}

static char *member_key(hj_db *db, const char *member)
{
	char *k = ut_text(db, "SELECT person_key FROM membership WHERE id = ?1", member);
	assert_non_null(k);
	return k;
}

/* A county holds no person secret and names no key; its record is keyed
 * provisionally until the hub's entry names the real key, and then it is
 * the hub's row. */
static void test_county_names_no_key(void **state)
{
	ut_world *w = *state;
	hj_sync_report srep;
	hj_replay_stats st;
	char id[UT_ID_SZ], want[65];
	assert_null(w->cz->person_secret);
	hj_json *op = ut_apply_op(w->cz, NULL, 1);
	assert_null(hj_json_get(hj_json_get(op, "person"), "key"));
	ut_must(w->cz, op, id, sizeof id);
	hub_key(want, w, 1);
	char *before = member_key(w->cz->db, id);
	assert_string_not_equal(before, want); /* provisional */
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	/* The entry publishes the key it gave op 0. */
	char *keys = ut_text(w->hub->db, "SELECT keys FROM followed WHERE node = 'cz' AND seq = 1", NULL);
	char expect[100];
	snprintf(expect, sizeof expect, "[[0,\"%s\"]]", want);
	assert_string_equal(keys, expect);
	OK(ut_follow(w->cz, w->hub, &srep));
	char *after = member_key(w->cz->db, id), *at_hub = member_key(w->hub->db, id);
	assert_string_equal(after, want);
	assert_string_equal(at_hub, want);
	assert_int_equal(ut_int(w->cz->db, "SELECT count(*) FROM person WHERE person_key = ?1", want), 1);
	OK(ut_rebuild_compare(w->cz, &st));
	OK(ut_rebuild_compare(w->hub, &st));
	free(before);
	free(keys);
	free(after);
	free(at_hub);
}

/* Offline, the same person applying twice at one county is found by the
 * ID number it holds (its keys are provisional, and differ). */
static void test_county_dedupes_by_number(void **state)
{
	ut_world *w = *state;
	hj_verdict v;
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 2), NULL, 0);
	OK(ut_run(w->cz, ut_apply_op(w->cz, NULL, 2), &v, NULL, 0, NULL));
	assert_false(v.applied);
	assert_string_equal(v.reason, "duplicate_member");
	assert_string_equal(v.holder, "qh-xn-cz");
	/* Another person goes ahead. */
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 3), NULL, 0);
}

/* The hub finds a person applying at a second county by the key it
 * derives; its rejection carries the key, so a re-fold reaches it too. */
static void test_hub_finds_the_duplicate(void **state)
{
	ut_world *w = *state;
	hj_sync_report srep;
	hj_replay_stats st;
	char want[65];
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 4), NULL, 0);
	ut_must(w->hd, ut_apply_op(w->hd, NULL, 4), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	assert_int_equal(ut_sequence(w->hub, w->hd), 1);
	hub_key(want, w, 4);
	char *verdicts = ut_text(w->hub->db, "SELECT verdicts FROM followed WHERE node = 'hd'", NULL);
	char *keys = ut_text(w->hub->db, "SELECT keys FROM followed WHERE node = 'hd'", NULL);
	assert_non_null(strstr(verdicts, "duplicate_member"));
	assert_non_null(strstr(keys, want));
	OK(ut_follow(w->hd, w->hub, &srep));
	assert_int_equal(srep.rejected, 1);
	assert_int_equal(ut_int(w->hd->db, "SELECT count(*) FROM membership", NULL), 0);
	OK(ut_rebuild_compare(w->hub, &st));
	free(verdicts);
	free(keys);
}

/* A record offered to hd, which never saw the application: the snapshot
 * names no key, hd's new record takes the one the entry gives, and it is
 * the hub's. */
static void test_moved_record_takes_the_hub_key(void **state)
{
	ut_world *w = *state;
	hj_sync_report srep;
	hj_replay_stats st;
	char m[UT_ID_SZ], t[UT_ID_SZ], want[65];
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 5), m, sizeof m);
	ut_must(w->cz, ut_op("member.approve", "member", m, "on", "2024-03-05", NULL), NULL, 0);
	hj_json *offer = ut_op("member.transfer_offer", "member", m, "to", "qh-hd", "on", "2024-04-01", NULL), *snap = NULL;
	OK(hj_transfer_snapshot_sealed(&snap, w->cz, m, "qh-hd"));
	assert_null(hj_json_get(hj_json_get(snap, "person"), "key"));
	assert_int_equal(hj_json_set(offer, "snapshot", snap), 0);
	ut_must(w->cz, offer, t, sizeof t);
	assert_int_equal(ut_sequence(w->hub, w->cz), 3);
	OK(ut_follow(w->hd, w->hub, &srep));
	ut_must(w->hd, ut_op("member.transfer_accept", "transfer", t, "on", "2024-04-02", NULL), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->hd), 1);
	OK(ut_follow(w->hd, w->hub, &srep));
	OK(ut_follow(w->cz, w->hub, &srep));
	hub_key(want, w, 5);
	assert_int_equal(ut_int(w->hd->db, "SELECT count(*) FROM membership WHERE union_id = 'qh-hd' AND status = "
					   "'active' AND person_key = ?1", want), 1);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM membership WHERE union_id = 'qh-hd' AND status = "
					    "'active' AND person_key = ?1", want), 1);
	OK(ut_rebuild_compare(w->hd, &st));
	OK(ut_rebuild_compare(w->cz, &st));
}

/* A published key that is not the record's: a re-fold holding the record
 * (here the hub's own, from its tampered order; a county's is the same
 * code) refuses the order instead of re-keying the member. */
static void test_wrong_key_for_a_held_record_refused(void **state)
{
	ut_world *w = *state;
	hj_sync_report srep;
	char m[UT_ID_SZ], wrong[65];
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 6), m, sizeof m);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	OK(ut_follow(w->cz, w->hub, &srep));
	ut_must(w->cz, ut_op("member.update", "member", m, "group", "courier", NULL), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	/* The hub's row for the update names the key; a lying hub names
	 * another (the rows a county follows are the hub's followed rows). */
	ut_hex64(wrong, "someone else");
	char sql[300];
	snprintf(sql, sizeof sql, "UPDATE followed SET keys = '[[0,\"%s\"]]' WHERE node = 'cz' AND seq = 2", wrong);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM followed WHERE node = 'cz' AND seq = 2 AND keys "
					    "IS NOT NULL", NULL), 1);
	OK(hj_db_exec(w->hub->db, sql));
	/* The hub's own re-fold refuses its tampered order. */
	hj_replay_stats st;
	assert_int_not_equal(ut_rebuild_compare(w->hub, &st), 0);
	assert_non_null(strstr(hj_error_last(), "person_key_mismatch"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_county_names_no_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_county_dedupes_by_number, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_finds_the_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_record_takes_the_hub_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_for_a_held_record_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
