/*
 * test_coverage.c — surveys and dated targets as ops (node/ops_coverage.c):
 * authority over the union, strict fields, a later op of the same (union,
 * group, date) replacing the row, refused at a position decided under
 * rules older than 6, and a county receiving its own and its parents'
 * targets through the real hub round and follow (re-folded to the same
 * rows from nothing).
 */
#include "support.h"
#include "error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define OK UT_OK

static int setup(void **state)
{
	*state = ut_world_new(1);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

static hj_json *survey(const char *u, const char *g, long n, const char *on, const char *src)
{
	return ut_json("{\"op\":\"survey.record\",\"v\":%d,\"union\":\"%s\",\"group\":\"%s\",\"estimated\":%ld,"
		       "\"on\":\"%s\",\"source\":\"%s\"}", HJ_OP_VERSION, u, g, n, on, src);
}

static hj_json *target(const char *u, const char *g, long bp, const char *by)
{
	return ut_json("{\"op\":\"target.set\",\"v\":%d,\"union\":\"%s\",\"group\":\"%s\",\"rate_bp\":%ld,"
		       "\"by\":\"%s\"}", HJ_OP_VERSION, u, g, bp, by);
}

/* Fold op (taken) at the hub's registry as `actor` under `rules`; the
 * verdict's reason, "" when applied. */
static const char *fold_as(ut_world *w, const char *actor, uint32_t rules, hj_json *op, hj_verdict *v)
{
	static uint64_t seq = 100;
	hj_foldctx ctx = {.actor = actor, .seq = seq++, .index = 0, .rules = rules};
	assert_int_equal(hj_fold_op(w->hub->db, &ctx, op, v), 0);
	hj_json_free(op);
	return v->applied ? "" : v->reason;
}

static void test_authority(void **state)
{
	ut_world *w = *state;
	hj_verdict v;
	/* A county for its own union and below; not for its parent, not for
	 * another city's; the hub for any. */
	assert_string_equal(fold_as(w, "cz", 6, survey("qh-xn-cz", "truck_driver", 120, "2027-01-10", "transport_dept"),
				    &v), "");
	assert_string_equal(fold_as(w, "cz", 6, target("qh-xn-cz-a", "courier", 5000, "2027-12-31"), &v), "");
	assert_string_equal(fold_as(w, "cz", 6, target("qh-xn", "truck_driver", 6000, "2027-12-31"), &v), "no_authority");
	assert_string_equal(fold_as(w, "hd", 6, survey("qh-xn-cz", "truck_driver", 5, "2027-01-10", "outreach"), &v),
			    "no_authority");
	assert_string_equal(fold_as(w, "hub", 6, target("qh-xn", "truck_driver", 6000, "2027-12-31"), &v), "");
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM survey", NULL), 1);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM target", NULL), 2);
	char *id = ut_text(w->hub->db, "SELECT id FROM target WHERE union_id = 'qh-xn'", NULL);
	assert_string_equal(id, "qh-xn/truck_driver/2027-12-31");
	free(id);
}

static void test_fields(void **state)
{
	ut_world *w = *state;
	hj_verdict v;
	assert_string_equal(fold_as(w, "hub", 6, survey("qh-xn", "truck_driver", 10, "2027-01-10", "census"), &v),
			    "invalid");
	assert_string_equal(fold_as(w, "hub", 6, survey("qh-xn", "pilot", 10, "2027-01-10", "outreach"), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", 6, survey("qh-xn", "courier", -1, "2027-01-10", "outreach"), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", 6, survey("qh-xn", "courier", 1, "2027-02-30", "outreach"), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", 6, survey("qh-nowhere", "courier", 1, "2027-02-03", "outreach"), &v),
			    "unknown_union");
	assert_string_equal(fold_as(w, "hub", 6, target("qh-xn", "courier", 10001, "2027-12-31"), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", 6, target("qh-xn", "courier", 10000, "2027-12-31"), &v), "");
	/* A count written as text is not a count. */
	assert_string_equal(fold_as(w, "hub", 6, ut_op("target.set", "union", "qh-xn", "group", "courier", "rate_bp",
						       "6000", "by", "2028-01-01", NULL), &v), "invalid");
	/* A survey dated in the future of its signed "now" is refused. */
	hj_foldctx ctx = {.actor = "hub", .seq = 900, .rules = 6, .now_ms = 1767225600000LL}; /* 2026-01-01 */
	hj_json *op = survey("qh-xn", "courier", 3, "2027-01-10", "outreach");
	assert_int_equal(hj_fold_op(w->hub->db, &ctx, op, &v), 0);
	hj_json_free(op);
	assert_string_equal(v.reason, "future_date");
}

static void test_replace_in_hub_order(void **state)
{
	ut_world *w = *state;
	hj_verdict v;
	assert_string_equal(fold_as(w, "cz", 6, survey("qh-xn-cz", "truck_driver", 120, "2027-01-10", "transport_dept"),
				    &v), "");
	assert_string_equal(fold_as(w, "cz", 6, survey("qh-xn-cz", "truck_driver", 150, "2027-01-10", "platform"), &v),
			    "");
	assert_string_equal(fold_as(w, "cz", 6, survey("qh-xn-cz", "truck_driver", 90, "2027-03-01", "outreach"), &v),
			    "");
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM survey", NULL), 2);
	assert_int_equal(ut_int(w->hub->db, "SELECT estimated FROM survey WHERE id = 'qh-xn-cz/truck_driver/2027-01-10'",
				NULL), 150);
	char *src = ut_text(w->hub->db, "SELECT source FROM survey WHERE on_date = '2027-01-10'", NULL);
	assert_string_equal(src, "platform");
	free(src);
	assert_string_equal(fold_as(w, "hub", 6, target("qh-xn-cz", "truck_driver", 6000, "2027-06-30"), &v), "");
	assert_string_equal(fold_as(w, "cz", 6, target("qh-xn-cz", "truck_driver", 6250, "2027-06-30"), &v), "");
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM target", NULL), 1);
	assert_int_equal(ut_int(w->hub->db, "SELECT rate_bp FROM target", NULL), 6250);
	char *op = ut_text(w->hub->db, "SELECT op FROM target", NULL);
	assert_true(strncmp(op, "cz:", 3) == 0);
	free(op);
}

static void test_rules_before_6_refused(void **state)
{
	ut_world *w = *state;
	hj_verdict v;
	assert_string_equal(fold_as(w, "hub", 5, survey("qh-xn", "courier", 10, "2027-01-10", "outreach"), &v), "invalid");
	assert_non_null(strstr(v.detail, "rules 6"));
	assert_string_equal(fold_as(w, "hub", 5, target("qh-xn", "courier", 100, "2027-01-10"), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", 0, target("qh-xn", "courier", 100, "2027-01-10"), &v), "invalid");
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM target", NULL), 0);
}

static void test_county_receives_its_targets(void **state)
{
	ut_world *w = *state;
	hj_sync_report rep;
	hj_replay_stats st;
	/* The county records its own survey offline and sees it at once; the
	 * hub (its own commands judged by the rules of its last entry, 6 once
	 * it has sequenced) sets the county's target and its city's. */
	ut_must(w->cz, survey("qh-xn-cz", "truck_driver", 200, "2026-01-05", "transport_dept"), NULL, 0);
	assert_int_equal(ut_int(w->cz->db, "SELECT estimated FROM survey", NULL), 200);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	ut_must(w->hub, target("qh-xn-cz", "truck_driver", 6000, "2027-06-30"), NULL, 0);
	ut_must(w->hub, target("qh-xn", "truck_driver", 5500, "2027-12-31"), NULL, 0);
	ut_sequence(w->hub, NULL);
	OK(ut_follow(w->cz, w->hub, &rep));
	OK(ut_follow(w->hd, w->hub, &rep));
	assert_int_equal(ut_int(w->cz->db, "SELECT count(*) FROM target", NULL), 2);
	assert_int_equal(ut_int(w->cz->db, "SELECT rate_bp FROM target WHERE union_id = 'qh-xn'", NULL), 5500);
	assert_int_equal(ut_int(w->hub->db, "SELECT estimated FROM survey", NULL), 200);
	/* Held everywhere: the other city's county folds them too. */
	assert_int_equal(ut_int(w->hd->db, "SELECT count(*) FROM target", NULL), 2);
	assert_int_equal(ut_int(w->hd->db, "SELECT count(*) FROM survey", NULL), 1);
	/* A re-fold from nothing gives the same rows (what the audit does). */
	OK(ut_rebuild_compare(w->cz, &st));
	OK(ut_rebuild_compare(w->hd, &st));
	OK(ut_rebuild_compare(w->hub, &st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_authority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_in_hub_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_before_6_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_county_receives_its_targets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
