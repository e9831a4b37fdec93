/*
 * test_diskfull.c — what a clerk reads when the disk fills up (issue 7
 * item 11). A county command (hj_batch, the path of every `huiji` op
 * through tools/cli.c) and a county follow (hj_sync_follow, the end of
 * `huiji sync`) are run with the registry's Nth file write / sync /
 * truncate failing from then on (tests/support/faultvfs.c, persistent: a
 * full disk), for N = 1, 2, ... until a run completes untouched; warm and
 * with a two-page cache (so the transaction spills and SQLite rolls it
 * back by itself mid-command). Every faulted run must fail with one
 * message that names the disk as full and the file, says nothing was
 * changed, and is not a cleanup's ("cannot rollback - no transaction is
 * active", "rolled back after an earlier error"); and nothing changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "faultvfs.h"
#include "outbox.h"
#include "support.h"

#define OPS (HJ_FAULT_WRITE | HJ_FAULT_SYNC | HJ_FAULT_TRUNCATE)
#define MAX_POINTS 400 /* a command writes far fewer pages than this */

static int next_person = 1;

static void chill(hj_db *db, int cold)
{
	assert_int_equal(hj_db_exec(db, cold ? "PRAGMA cache_size=2" : "PRAGMA cache_size=-65536"), 0);
	if (cold)
		sqlite3_db_release_memory(db->h);
}

/* The message of a faulted run: says what happened, to which file, and
 * that nothing changed; `full`: SQLITE_FULL (else an I/O error). */
static void check_message(int rc, int full, int64_t n)
{
	const char *m = hj_error_last();
	if (rc >= 0)
		fail_msg("fault %lld: the call returned %d", (long long)n, rc);
	if (strstr(m, "cannot rollback") || strstr(m, "after an earlier error"))
		fail_msg("fault %lld: a cleanup's message replaced the first error: %s", (long long)n, m);
	/* When SQLite itself rolled the transaction back inside a call that
	 * reports only its cleanup, full and failed cannot be told apart. */
	int lost = strstr(m, "SQLite rolled the transaction back") != NULL;
	if (!strstr(m, full && !lost ? "disk full (or quota reached) writing" : "cannot write") ||
	    !strstr(m, "disk full") || !strstr(m, "registry.db") || !strstr(m, "nothing was changed"))
		fail_msg("fault %lld: the message does not say the disk is full, which file, nothing changed: %s",
			 (long long)n, m);
}

static int64_t count(hj_db *db, const char *sql)
{
	int64_t k = -1;
	UT_OK(hj_db_get_int(db, sql, NULL, NULL, &k));
	return k;
}

/* One county command (an application) under fault n; 1 if the fault was
 * hit. */
static int command_at(hj_node *cz, int64_t n, int err, int cold)
{
	int64_t before = count(cz->db, "SELECT count(*) FROM changelog");
	int64_t members = count(cz->db, "SELECT count(*) FROM membership");
	hj_verdict v;
	chill(cz->db, cold);
	hj_faultvfs_arm(n, OPS, err, 1);
	int rc = ut_run(cz, ut_apply_op(cz, "qh-xn-cz", next_person), &v, NULL, 0, NULL);
	int hit = hj_faultvfs_failed() > 0;
	hj_faultvfs_disarm();
	if (hit) {
		check_message(rc, err == SQLITE_FULL, n);
		assert_int_equal(count(cz->db, "SELECT count(*) FROM changelog"), before);
		assert_int_equal(count(cz->db, "SELECT count(*) FROM membership"), members);
	} else {
		UT_OK(rc);
		assert_true(v.applied);
		next_person++;
	}
	return hit;
}

static void sweep_command(int err, int cold)
{
	ut_world *w = ut_world_new(1);
	hj_sync_report rep;
	UT_OK(ut_follow(w->cz, w->hub, &rep));
	int64_t n = 1;
	while (n < MAX_POINTS && command_at(w->cz, n, err, cold))
		n++;
	assert_true(n > 1 && n < MAX_POINTS); /* at least one fault hit, and a run completed */
	assert_int_equal(ut_world_free(w), 0);
}

static void test_command_disk_full(void **state)
{
	(void)state;
	sweep_command(SQLITE_FULL, 0);
}

static void test_command_disk_full_cold(void **state)
{
	(void)state;
	sweep_command(SQLITE_FULL, 1);
}

static void test_command_write_error(void **state)
{
	(void)state;
	sweep_command(0, 1); /* SQLITE_IOERR_WRITE / _FSYNC / _TRUNCATE */
}

/* The follow at the end of `huiji sync`, on a full disk: the hub has
 * sequenced the county's two change sets and published a new org. */
static void sweep_follow(int err, int cold)
{
	ut_world *w = ut_world_new(1);
	hj_sync_report rep;
	UT_OK(ut_follow(w->cz, w->hub, &rep));
	ut_must(w->cz, ut_apply_op(w->cz, "qh-xn-cz", next_person++), NULL, 0);
	ut_must(w->cz, ut_apply_op(w->cz, "qh-xn-cz", next_person++), NULL, 0);
	ut_must(w->hub, ut_op("org.create", "id", "qh-xn-cz-b", "name", "测试街道工会", "kind", "township", "parent",
			      "qh-xn-cz", NULL),
		NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 2); /* pushes, then sequences */
	ut_fetch(w->cz, w->hub);
	int64_t followed = count(w->cz->db, "SELECT count(*) FROM followed");
	int64_t n;
	for (n = 1; n < MAX_POINTS; n++) {
		hj_gitrepo *r = NULL;
		UT_OK(hj_node_repo_open(&r, w->cz));
		chill(w->cz->db, cold);
		hj_faultvfs_arm(n, OPS, err, 1);
		int rc = hj_sync_follow(w->cz, r, &rep);
		int hit = hj_faultvfs_failed() > 0;
		hj_faultvfs_disarm();
		hj_gitrepo_close(r);
		if (!hit) {
			UT_OK(rc);
			break;
		}
		check_message(rc, err == SQLITE_FULL, n);
		assert_int_equal(count(w->cz->db, "SELECT count(*) FROM followed"), followed);
	}
	assert_true(n > 1 && n < MAX_POINTS);
	assert_true(count(w->cz->db, "SELECT count(*) FROM followed") > followed);
	assert_int_equal(ut_world_free(w), 0);
}

static void test_follow_disk_full(void **state)
{
	(void)state;
	sweep_follow(SQLITE_FULL, 0);
	sweep_follow(SQLITE_FULL, 1);
}

static void test_follow_write_error(void **state)
{
	(void)state;
	sweep_follow(0, 1);
}

int main(void)
{
	if (hj_faultvfs_register() != SQLITE_OK || sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_disk_full),
		cmocka_unit_test(test_command_disk_full_cold),
		cmocka_unit_test(test_command_write_error),
		cmocka_unit_test(test_follow_disk_full),
		cmocka_unit_test(test_follow_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
