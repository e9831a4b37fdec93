/*
 * test_entry_bound.c — hub entries are bounded by bytes, not only by a
 * count of change sets (sync/sequencer.c, node/hub_entry.c), and a county
 * never signs a change set too big for one (node/batch.c).
 *
 * Before: the same list of people applied at two counties made one entry
 * of tens of thousands of duplicate_member verdicts, past the 8 MiB
 * payload cap; from then on every hub round failed and nobody was
 * sequenced again. Now a change set whose verdicts do not fit starts the
 * next entry, and one that cannot fit even alone is quarantined as
 * too_big while every other feed goes on. The tests lower the entry's
 * byte bound (hj_seq_opts) so that a few dozen ops show what millions
 * would; a real province, sequencer, git repository and follow do the rest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "error.h"
#include "hub_entry.h"
#include "outbox.h"
#include "quarantine.h"
#include "sequencer.h"
#include "support.h"

#define PER_CS 20 /* applications per change set */

static int setup(void **state)
{
	*state = ut_world_new(1);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

/* County n applies for people first .. first+PER_CS-1 in one change set. */
static void apply_many(hj_node *n, int first)
{
	hj_json *ops[PER_CS];
	for (int i = 0; i < PER_CS; i++)
		ops[i] = ut_apply_op(n, NULL, first + i);
	ut_commit(n, ops, PER_CS, NULL);
}

/* One hub run over `county`'s pushed feed with entries of at most `cap`
 * bytes. */
static void sequence_capped(ut_world *w, const hj_node *county, size_t cap, hj_seq_report *rep)
{
	hj_gitrepo *r = NULL;
	hj_seq_opts o = {.max_entry_bytes = cap};
	ut_push(county, w->hub);
	UT_OK(hj_node_repo_open(&r, w->hub));
	UT_OK(hj_hub_sequence_opts(w->hub, r, &o, rep));
	hj_gitrepo_close(r);
}

/* The largest payload among the hub's change sets after seq `after`. */
static size_t largest_entry(hj_node *hub, uint64_t after, uint64_t *count)
{
	size_t max = 0;
	int64_t last = ut_int(hub->db, "SELECT max(seq) FROM changelog", NULL);
	*count = 0;
	for (uint64_t s = after + 1; s <= (uint64_t)last; s++) {
		size_t len;
		hj_envelope e;
		uint8_t *bytes = ut_changeset(hub, s, &len);
		UT_OK(hj_envelope_decode(&e, bytes, len));
		if (e.payload_len > max)
			max = e.payload_len;
		hj_envelope_free(&e);
		free(bytes);
		(*count)++;
	}
	return max;
}

static int64_t quarantined(hj_node *hub, const char *node, const char *reason)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM quarantine WHERE node = ?1 AND reason = '%s'"
				  " AND length(evidence) > 0", reason);
	return ut_int(hub->db, sql, node);
}

/* Ten change sets of twenty duplicates each (~2,200 bytes in entry v4:
 * each rejection carries the person key the hub gave it): at 5,000 bytes
 * an entry holds two of them, so the round writes several entries, each
 * within the bound, and every change set is sequenced exactly once. */
static void test_split_by_bytes(void **state)
{
	ut_world *w = *state;
	hj_seq_report rep;
	hj_sync_report srep;
	const size_t cap = 5000;
	for (int k = 0; k < 10; k++)
		apply_many(w->cz, 1 + k * PER_CS);
	assert_int_equal(ut_sequence(w->hub, w->cz), 10);
	for (int k = 0; k < 10; k++)
		apply_many(w->hd, 1 + k * PER_CS);
	uint64_t before = (uint64_t)ut_int(w->hub->db, "SELECT max(seq) FROM changelog", NULL), entries;
	sequence_capped(w, w->hd, cap, &rep);
	assert_int_equal(rep.quarantined, 0);
	assert_int_equal(rep.change_sets, 10);
	assert_int_equal(rep.rejected, 10 * PER_CS);
	size_t max = largest_entry(w->hub, before, &entries);
	assert_true(entries >= 4);
	assert_int_equal(rep.entries, entries);
	assert_true(max <= cap);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM followed WHERE node = 'hd'", NULL), 10);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(DISTINCT seq) FROM followed WHERE node = 'hd'", NULL), 10);
	/* The county follows every entry and drops its duplicates. */
	assert_int_equal(ut_follow(w->hd, w->hub, &srep), 0);
	assert_int_equal(srep.rejected, 10 * PER_CS);
	assert_int_equal(ut_int(w->hd->db, "SELECT count(*) FROM membership", NULL), 0);
	hj_replay_stats st;
	assert_int_equal(ut_rebuild_compare(w->hd, &st), 0);
}

/* A change set whose verdicts alone exceed the bound is quarantined with
 * its bytes as evidence; its feed waits and every other feed goes on. */
static void test_too_big_alone(void **state)
{
	ut_world *w = *state;
	hj_seq_report rep;
	apply_many(w->cz, 1);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	apply_many(w->hd, 1); /* twenty duplicate_member verdicts and their keys, ~2,200 bytes */
	sequence_capped(w, w->hd, 1900, &rep);
	assert_int_equal(rep.quarantined, 1);
	assert_int_equal(rep.change_sets, 0);
	assert_int_equal(quarantined(w->hub, "hd", "too_big"), 1);
	/* Nothing of it was folded. */
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM membership WHERE union_id = 'qh-hd'", NULL), 0);
	/* The province goes on: cz's next change set is sequenced. */
	apply_many(w->cz, 100); /* twenty applied: their keys, ~1,500 bytes */
	sequence_capped(w, w->cz, 1900, &rep);
	assert_int_equal(rep.change_sets, 1);
	assert_int_equal(rep.quarantined, 0);
}

/* A small signed change set of more tiny ops than any entry could hold
 * verdicts for is refused before a single op is folded. */
static void test_tiny_ops(void **state)
{
	ut_world *w = *state;
	hj_seq_report rep;
	hj_batch b;
	hj_verdict v;
	UT_OK(hj_batch_begin(&b, w->hd));
	for (int i = 0; i < 250; i++) {
		UT_OK(hj_batch_apply(&b, ut_apply_op(w->hd, NULL, 1 + i), &v, NULL, 0));
		assert_true(v.applied);
	}
	UT_OK(hj_batch_commit(&b, NULL));
	sequence_capped(w, w->hd, 1000, &rep); /* room for at most 200 verdicts */
	assert_int_equal(rep.quarantined, 1);
	assert_int_equal(rep.ops, 0);
	assert_int_equal(quarantined(w->hub, "hd", "too_big"), 1);
	char *detail = ut_text(w->hub->db, "SELECT detail FROM quarantine WHERE node = ?1", "hd");
	assert_non_null(detail);
	assert_non_null(strstr(detail, "250 ops"));
	free(detail);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM membership WHERE union_id = 'qh-hd'", NULL), 0);
}

/* An honest county cannot sign a change set the hub would have to refuse:
 * past HJ_BATCH_MAX_OPS the batch says so and the ops so far commit. */
static void test_county_cap(void **state)
{
	ut_world *w = *state;
	hj_batch b;
	hj_verdict v;
	uint64_t seq = 0;
	UT_OK(hj_batch_begin(&b, w->cz));
	for (int i = 0; i < HJ_BATCH_MAX_OPS; i++)
		UT_OK(hj_batch_apply(&b, ut_apply_op(w->cz, NULL, 1 + i), &v, NULL, 0));
	assert_int_equal(hj_batch_apply(&b, ut_apply_op(w->cz, NULL, 1 + HJ_BATCH_MAX_OPS), &v, NULL, 0), HJ_ETOOBIG);
	assert_non_null(strstr(hj_error_last(), "more than 2000 ops"));
	UT_OK(hj_batch_commit(&b, &seq));
	assert_true(seq > 0);
	assert_int_equal(ut_int(w->cz->db, "SELECT count(*) FROM membership", NULL), HJ_BATCH_MAX_OPS);
	/* And that change set fits one entry at the real bound. */
	hj_seq_report rep;
	assert_int_equal(ut_sequence_report(w->hub, w->cz, &rep), 1);
	assert_int_equal(rep.ops, HJ_BATCH_MAX_OPS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_split_by_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_county_cap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
