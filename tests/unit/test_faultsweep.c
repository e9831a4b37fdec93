/*
 * test_faultsweep.c — an I/O fault at every step of a hub round and of a
 * county command, as SQLite's sessionfault tests do it: a real hub and a
 * real county in a temp directory, their files copied, then for N = 1, 2,
 * ... the Nth file write / sync / truncate / read of the call fails
 * (tests/support/faultvfs.c, so COMMIT and the WAL are reached too) until
 * a run completes with no fault hit. Each faulted call must return an
 * error, not 0 and not a verdict; reopened, the registry (canonical rows,
 * change log, hub order, quarantine, undo) must be byte for byte what it
 * was, and no hub entry or verdict may have been signed. A call that
 * absorbed its fault (returned 0) must have done exactly what a clean run
 * does.
 *
 * A third sweep covers the county following that round: the rebase's
 * sqlite3changeset_apply and the fold of the hub's decisions.
 *
 * Short form by default (a spread of fault points including the last ones,
 * where COMMIT writes); HUIJI_LONG=1 sweeps every point, transient and
 * persistent (disk full) faults both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "batch.h"
#include "error.h"
#include "faultvfs.h"
#include "followed.h"
#include "gitfeed.h"
#include "idnum.h"
#include "node.h"
#include "outbox.h"
#include "projection.h"
#include "replay.h"
#include "sequencer.h"
#include "support.h"
#include "sync.h"

#define ROOT_UNION "fs-prov"
#define COUNTY_UNION "fs-county"
#define LOCAL_UNION "fs-local" /* below the county: the fold walks the tree */
#define REGION "630103" /* a real county code; the people are fake */
#define ON "2024-06-01"
#define ALL_OPS (HJ_FAULT_WRITE | HJ_FAULT_SYNC | HJ_FAULT_TRUNCATE | HJ_FAULT_READ)

static char *top, hub_dir[300], hub_orig[300], cty_dir[300], cty_orig[300], fol_orig[300];
static int next_person;
static char approve_id[UT_ID_SZ]; /* an open application in the county's copy */

/* ---- set-up through the library (tests/unit/support.c), as
 * tools/cmd_init.c and bench do ---- */

static hj_json *apply_op_in(hj_node *n, const char *unit)
{
	return ut_apply_op(n, unit, next_person++);
}

static hj_json *apply_op(hj_node *n)
{
	return apply_op_in(n, LOCAL_UNION);
}

static hj_json *approve_op(const char *member)
{
	return ut_op("member.approve", "member", member, "on", ON, NULL);
}

static void build_province(void)
{
	snprintf(hub_dir, sizeof hub_dir, "%s/hub", top);
	snprintf(hub_orig, sizeof hub_orig, "%s/hub.orig", top);
	snprintf(cty_dir, sizeof cty_dir, "%s/cty", top);
	snprintf(cty_orig, sizeof cty_orig, "%s/cty.orig", top);

	hj_node *hub = ut_hub(top, "hub", ROOT_UNION, "测试省总工会");
	hj_node *cty = ut_county(top, "cty", COUNTY_UNION, hub);
	hj_json *enrol[2] = {ut_op("org.create", "id", COUNTY_UNION, "name", "测试县总工会", "kind", "county", "parent",
				   ROOT_UNION, "region", REGION, NULL),
			     ut_enroll_op("cty", cty->pk, COUNTY_UNION, "union")};
	ut_commit(hub, enrol, 2, NULL);
	hj_json *local[1] = {ut_op("org.create", "id", LOCAL_UNION, "name", "测试社区工会", "kind", "community", "parent",
				   COUNTY_UNION, NULL)};
	ut_commit(hub, local, 1, NULL);

	/* The county follows the hub once (org tree, its enrolment), then
	 * works offline. */
	hj_sync_report srep;
	UT_OK(ut_follow(cty, hub, &srep));
	assert_int_equal(srep.entries, 3);

	/* The county works offline: three change sets of applications, one
	 * approving an earlier one (member_target, authority, subtree). */
	char ids[2][UT_ID_SZ];
	hj_json *cs1[2] = {apply_op_in(cty, COUNTY_UNION), apply_op(cty)};
	ut_commit(cty, cs1, 2, ids);
	hj_json *cs2[2] = {apply_op(cty), approve_op(ids[0])};
	ut_commit(cty, cs2, 2, NULL);
	hj_json *cs3[1] = {apply_op(cty)};
	ut_commit(cty, cs3, 1, NULL);
	snprintf(approve_id, sizeof approve_id, "%s", ids[1]); /* still open */

	/* Its feed lands in the hub's repository as a push would leave it. */
	ut_push(cty, hub);
	ut_flush(hub);
	hj_node_close(cty);
	hj_node_close(hub); /* closed: the WAL is checkpointed into the file */
	assert_int_equal(ut_copy_tree(hub_dir, hub_orig), 0);
	assert_int_equal(ut_copy_tree(cty_dir, cty_orig), 0);
}

/* ---- what must not change ---------------------------------------------- */

/* Every table, every column, in a total order: the strict fingerprint. */
static void strict_fp(const char *dir, uint8_t out[32])
{
	char path[400];
	hj_db *db = NULL;
	crypto_generichash_state h;
	sqlite3_stmt *tables = NULL;
	snprintf(path, sizeof path, "%s/registry.db", dir);
	assert_int_equal(hj_db_open(&db, path, 0), 0);
	crypto_generichash_init(&h, NULL, 0, 32);
	assert_int_equal(sqlite3_prepare_v2(db->h, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
					    -1, &tables, NULL),
			 SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);
		char sql[300];
		sqlite3_stmt *q = NULL;
		snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", t);
		assert_int_equal(sqlite3_prepare_v2(db->h, sql, -1, &q, NULL), SQLITE_OK);
		int ncol = sqlite3_column_count(q);
		sqlite3_finalize(q);
		int k = snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY 1", t);
		for (int c = 2; c <= ncol && k < (int)sizeof sql - 8; c++)
			k += snprintf(sql + k, sizeof sql - (size_t)k, ",%d", c);
		assert_int_equal(sqlite3_prepare_v2(db->h, sql, -1, &q, NULL), SQLITE_OK);
		crypto_generichash_update(&h, (const unsigned char *)t, strlen(t) + 1);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			for (int c = 0; c < ncol; c++) {
				const void *b = sqlite3_column_blob(q, c);
				int n = sqlite3_column_bytes(q, c);
				unsigned char type = (unsigned char)sqlite3_column_type(q, c);
				crypto_generichash_update(&h, &type, 1);
				crypto_generichash_update(&h, (const unsigned char *)&n, sizeof n);
				if (b && n > 0)
					crypto_generichash_update(&h, b, (unsigned long long)n);
			}
		assert_int_equal(rc, SQLITE_DONE);
		sqlite3_finalize(q);
	}
	sqlite3_finalize(tables);
	hj_db_close(db);
	crypto_generichash_final(&h, out, 32);
}

/* What a clean run must produce, free of clocks and signatures: canonical
 * rows, the shape of the change log and hub order, every verdict, the
 * quarantine. */
static void canonical_fp(const char *dir, uint8_t out[32])
{
	char path[400];
	hj_db *db = NULL;
	uint8_t digest[32];
	crypto_generichash_state h;
	static const char *const queries[] = {
		"SELECT count(*), coalesce(max(seq), 0) FROM changelog",
		"SELECT pos, hub_seq, node, seq, coalesce(verdicts, 'ok') FROM followed ORDER BY pos",
		"SELECT node, seq, reason FROM quarantine ORDER BY node, seq",
		"SELECT count(*) FROM undo",
	};
	snprintf(path, sizeof path, "%s/registry.db", dir);
	assert_int_equal(hj_db_open(&db, path, 0), 0);
	assert_int_equal(hj_projection_digest(db, digest), 0);
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, digest, 32);
	for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		sqlite3_stmt *q = NULL;
		assert_int_equal(sqlite3_prepare_v2(db->h, queries[i], -1, &q, NULL), SQLITE_OK);
		while (sqlite3_step(q) == SQLITE_ROW)
			for (int c = 0; c < sqlite3_column_count(q); c++) {
				const unsigned char *t = sqlite3_column_text(q, c);
				crypto_generichash_update(&h, t ? t : (const unsigned char *)"", t ? strlen((const char *)t) + 1 : 1);
			}
		sqlite3_finalize(q);
	}
	hj_db_close(db);
	crypto_generichash_final(&h, out, 32);
}

static void restore(const char *orig, const char *dir)
{
	assert_int_equal(ut_rmtree(dir), 0);
	assert_int_equal(ut_copy_tree(orig, dir), 0);
}

/* ---- the two calls under test ------------------------------------------ */

typedef struct outcome {
	int rc;
	int64_t counted, failed;
	int verdict_refused; /* a county op came back rejected */
	int rebuilt;	     /* the follow rebuilt instead of rebasing */
	hj_seq_report seq;
} outcome;

/* Cold: a page cache of two pages, so every lookup of the fold reads the
 * file and a read fault can land inside it (hj_org_in_subtree, authority,
 * vocabularies), not only at COMMIT. */
static int cold;

static void chill(hj_db *db)
{
	if (!cold)
		return;
	assert_int_equal(hj_db_exec(db, "PRAGMA cache_size=2"), 0);
	sqlite3_db_release_memory(db->h);
}

static void arm(int64_t n, unsigned ops, int persistent)
{
	/* Alternate the two errors a disk gives: I/O error and full. */
	hj_faultvfs_arm(n, ops, n % 2 ? 0 : SQLITE_FULL, persistent);
}

static outcome run_hub_round(int64_t n, unsigned ops, int persistent)
{
	outcome o = {0};
	hj_node *hub = NULL;
	hj_gitrepo *repo = NULL;
	assert_int_equal(hj_node_open(&hub, hub_dir), 0);
	assert_int_equal(hj_node_repo_open(&repo, hub), 0);
	chill(hub->db);
	arm(n, ops, persistent);
	o.rc = hj_hub_sequence(hub, repo, &o.seq);
	o.counted = hj_faultvfs_count();
	o.failed = hj_faultvfs_failed();
	hj_faultvfs_disarm();
	hj_gitrepo_close(repo);
	hj_node_close(hub);
	return o;
}

static outcome run_county_command(int64_t n, unsigned ops, int persistent)
{
	outcome o = {0};
	hj_node *cty = NULL;
	hj_batch b;
	hj_verdict v;
	int saved = next_person;
	next_person = 1000; /* the same new person every run */
	assert_int_equal(hj_node_open(&cty, cty_dir), 0);
	hj_json *ops_[2] = {apply_op(cty), approve_op(approve_id)};
	next_person = saved;
	chill(cty->db);
	arm(n, ops, persistent);
	int i = 0;
	o.rc = hj_batch_begin(&b, cty);
	for (; !o.rc && i < 2; i++) {
		o.rc = hj_batch_apply(&b, ops_[i], &v, NULL, 0);
		if (!o.rc && !v.applied)
			o.verdict_refused = 1;
	}
	if (!o.rc)
		o.rc = hj_batch_commit(&b, NULL);
	else
		hj_batch_abort(&b);
	for (; i < 2; i++)
		hj_json_free(ops_[i]); /* not taken by hj_batch_apply */
	o.counted = hj_faultvfs_count();
	o.failed = hj_faultvfs_failed();
	hj_faultvfs_disarm();
	hj_node_close(cty);
	return o;
}

/* The county follows the hub's round: its pending change set is undone
 * (sqlite3changeset_apply), the hub's decisions folded, the pending one
 * replayed on top — all in one transaction. */
static outcome run_county_follow(int64_t n, unsigned ops, int persistent)
{
	outcome o = {0};
	hj_node *cty = NULL;
	hj_gitrepo *repo = NULL;
	hj_sync_report rep = {0}; /* hj_sync_follow adds to it */
	assert_int_equal(hj_node_open(&cty, cty_dir), 0);
	assert_int_equal(hj_node_repo_open(&repo, cty), 0);
	chill(cty->db);
	arm(n, ops, persistent);
	o.rc = hj_sync_follow(cty, repo, &rep);
	o.counted = hj_faultvfs_count();
	o.failed = hj_faultvfs_failed();
	hj_faultvfs_disarm();
	if (o.rc == 0 && rep.rejected)
		o.verdict_refused = 1;
	o.rebuilt = o.rc == 0 && rep.rebuilt;
	hj_gitrepo_close(repo);
	hj_node_close(cty);
	return o;
}

/* fol_orig: the county with one more pending change set, and the hub's
 * sequenced round (a clean hub round over hub_orig) fetched into it. */
static void build_follow(void)
{
	char hub_seq[300];
	hj_node *hub = NULL, *cty = NULL;
	hj_seq_report rep;
	snprintf(hub_seq, sizeof hub_seq, "%s/hub.seq", top);
	snprintf(fol_orig, sizeof fol_orig, "%s/cty.follow", top);
	assert_int_equal(ut_copy_tree(hub_orig, hub_seq), 0);
	assert_int_equal(ut_copy_tree(cty_orig, fol_orig), 0);
	assert_int_equal(hj_node_open(&hub, hub_seq), 0);
	assert_int_equal(ut_sequence_report(hub, NULL, &rep), 3);
	assert_int_equal(hj_node_open(&cty, fol_orig), 0);
	hj_json *cs4[1] = {apply_op(cty)};
	ut_commit(cty, cs4, 1, NULL);
	ut_fetch(cty, hub);
	hj_node_close(cty);
	hj_node_close(hub);
}

/* ---- the sweep ---------------------------------------------------------- */

typedef outcome (*run_fn)(int64_t n, unsigned ops, int persistent);

static int long_mode(void)
{
	const char *v = getenv("HUIJI_LONG");
	return v && strcmp(v, "1") == 0;
}

/* The fault points to try out of `total`: all in the long form; else up
 * to ~48 spread evenly, plus the first and the last eight (the last writes
 * and syncs are COMMIT's), plus total + 1 (no fault hit). */
static int pick(int64_t n, int64_t total)
{
	if (long_mode() || n <= 8 || n > total - 8 || n == total + 1)
		return 1;
	int64_t stride = total / 48 + 1;
	return n % stride == 0;
}

static void sweep(const char *what, run_fn run, const char *orig, const char *dir, unsigned ops, int persistent)
{
	uint8_t before[32], ref_canon[32], fp[32];
	strict_fp(orig, before);
	/* The clean run: what success looks like, and how many points. */
	restore(orig, dir);
	outcome ref = run(0, ops, 0);
	if (ref.rc)
		fail_msg("%s: the clean run failed: %s", what, hj_error_last());
	assert_false(ref.verdict_refused);
	assert_false(ref.rebuilt);
	assert_int_equal(ref.seq.rejected, 0);
	assert_int_equal(ref.seq.quarantined, 0);
	canonical_fp(dir, ref_canon);
	strict_fp(dir, fp);
	assert_memory_not_equal(fp, before, 32); /* the call does change something */
	int64_t total = ref.counted, tried = 0, absorbed = 0, late = 0;
	assert_true(total > 0);

	for (int64_t n = 1;; n++) {
		if (!pick(n, total))
			continue;
		restore(orig, dir);
		outcome o = run(n, ops, persistent);
		tried++;
		if (o.failed == 0) { /* the run completed with no fault hit */
			assert_true(n > total);
			assert_int_equal(o.rc, 0);
			break;
		}
		if (o.verdict_refused)
			fail_msg("%s: fault at %" PRId64 " became a verdict", what, n);
		if (o.rebuilt) /* an I/O error is not "the undo does not apply" */
			fail_msg("%s: fault at %" PRId64 " was taken for a conflict and rebuilt the registry", what, n);
		if (o.rc == 0) {
			/* SQLite absorbed the fault (e.g. a failed checkpoint after
			 * COMMIT): the result must be the clean run's. */
			absorbed++;
			canonical_fp(dir, fp);
			if (memcmp(fp, ref_canon, 32) != 0)
				fail_msg("%s: fault at %" PRId64 " returned 0 but the registry differs from a clean run",
					 what, n);
			continue;
		}
		/* An error: nothing changed, nothing signed. */
		if (o.rc > 0)
			fail_msg("%s: fault at %" PRId64 " returned %d, not an error", what, n, o.rc);
		if (o.seq.entries && run == run_hub_round) {
			/* The round's COMMIT happened; what failed came after it
			 * (publishing to git, the outbox). The registry is the clean
			 * run's, and the next run, fault-free, publishes it. */
			late++;
			canonical_fp(dir, fp);
			if (memcmp(fp, ref_canon, 32) != 0)
				fail_msg("%s: fault at %" PRId64 " failed after COMMIT but the registry is not the clean "
					 "run's", what, n);
			outcome again = run(0, ops, 0);
			if (again.rc)
				fail_msg("%s: after a fault at %" PRId64 " past COMMIT the next run failed: %s", what, n,
					 hj_error_last());
			continue;
		}
		if (o.seq.entries || o.seq.rejected || o.seq.quarantined)
			fail_msg("%s: fault at %" PRId64 " failed (%s) but reported %" PRIu64 " entries, %" PRIu64
				 " rejected, %" PRIu64 " quarantined", what, n, hj_error_last(), o.seq.entries,
				 o.seq.rejected, o.seq.quarantined);
		strict_fp(dir, fp);
		if (memcmp(fp, before, 32) != 0)
			fail_msg("%s: fault at %" PRId64 " of %" PRId64 " failed (%s: %s) but the registry changed", what,
				 n, total, hj_error_name(o.rc), hj_error_last());
	}
	print_message("%s: %" PRId64 " fault points, %" PRId64 " tried (%s%s%s), %" PRId64 " absorbed, %" PRId64
		      " after COMMIT\n", what, total, tried, long_mode() ? "all" : "sample",
		      persistent ? ", persistent" : "", cold ? ", cold cache" : "", absorbed, late);
}

static void test_hub_round(void **state)
{
	(void)state;
	for (cold = 0; cold < 2; cold++) {
		sweep("hub round", run_hub_round, hub_orig, hub_dir, ALL_OPS, 0);
		if (long_mode())
			sweep("hub round", run_hub_round, hub_orig, hub_dir, ALL_OPS, 1);
	}
	cold = 0;
}

static void test_county_command(void **state)
{
	(void)state;
	for (cold = 0; cold < 2; cold++) {
		sweep("county command", run_county_command, cty_orig, cty_dir, ALL_OPS, 0);
		if (long_mode())
			sweep("county command", run_county_command, cty_orig, cty_dir, ALL_OPS, 1);
	}
	cold = 0;
}

static void test_county_follow(void **state)
{
	(void)state;
	build_follow();
	for (cold = 0; cold < 2; cold++) {
		sweep("county follow", run_county_follow, fol_orig, cty_dir, ALL_OPS, 0);
		if (long_mode())
			sweep("county follow", run_county_follow, fol_orig, cty_dir, ALL_OPS, 1);
	}
	cold = 0;
}

/* ---- each lookup alone: found, or an error — never "not found" -------- */

/* The answers a lookup gives on the hub's registry, run with a read fault
 * at point n (n = 0: none). Outside a transaction, so SQLite's own
 * rollback cannot hide what the function does with the failure. */
typedef struct answers {
	int subtree, authority, key, fold, pending;
	hj_verdict auth_v, fold_v;
	int64_t counted;
} answers;

static answers ask(int64_t n)
{
	answers a = {0};
	hj_node *hub = NULL, *cty = NULL;
	uint8_t pk[32];
	int64_t pending = 0;
	assert_int_equal(hj_node_open(&hub, hub_orig), 0);
	assert_int_equal(hj_node_open(&cty, cty_orig), 0);
	hj_foldctx ctx = {.actor = "cty", .seq = 9, .index = 0, .person_secret = hub->person_secret,
			  .unseal = &hub->unsealer}; /* the hub keys the application it opens */
	int saved = next_person;
	next_person = 2000;
	hj_json *op = apply_op(cty);
	next_person = saved;
	cold = 1;
	chill(hub->db);
	chill(cty->db);
	cold = 0;
	/* Persistent: every read from n on fails, as a dying disk does. */
	hj_faultvfs_arm(n, HJ_FAULT_READ, 0, 1);
	a.subtree = hj_org_in_subtree(hub->db, LOCAL_UNION, COUNTY_UNION);
	a.authority = hj_fold_authority(hub->db, &ctx, LOCAL_UNION, &a.auth_v);
	a.key = hj_replay_key(hub->db, hub, "cty", pk);
	a.pending = hj_pending_count(&pending, cty);
	if (!a.pending && pending != 3)
		a.pending = 1; /* a wrong count: no error, no answer */
	a.fold = hj_db_exec(hub->db, "BEGIN");
	if (!a.fold)
		a.fold = hj_fold_op(hub->db, &ctx, op, &a.fold_v);
	a.counted = hj_faultvfs_count();
	hj_faultvfs_disarm();
	hj_db_exec(hub->db, "ROLLBACK"); /* the test's, whatever happened */
	hj_json_free(op);
	hj_node_close(cty);
	hj_node_close(hub);
	return a;
}

static void test_lookups_fail(void **state)
{
	(void)state;
	answers clean = ask(0);
	assert_int_equal(clean.subtree, 1);
	assert_int_equal(clean.authority, 0);
	assert_int_equal(clean.key, 0);
	assert_int_equal(clean.pending, 0);
	assert_int_equal(clean.fold, 0);
	assert_true(clean.fold_v.applied);
	assert_true(clean.counted > 0);
	for (int64_t n = 1; n <= clean.counted; n++) {
		answers a = ask(n);
		if (a.subtree == 0)
			fail_msg("read fault %" PRId64 ": hj_org_in_subtree said \"outside\"", n);
		if (a.authority == 1)
			fail_msg("read fault %" PRId64 ": hj_fold_authority rejected (%s)", n, a.auth_v.reason);
		if (a.key == HJ_EBADSIG || a.key > 0)
			fail_msg("read fault %" PRId64 ": hj_replay_key said \"not enrolled\"", n);
		if (a.pending > 0)
			fail_msg("read fault %" PRId64 ": hj_pending_count gave a wrong count, no error", n);
		if (a.fold == 0 && !a.fold_v.applied)
			fail_msg("read fault %" PRId64 ": the fold signed-to-be verdict %s: %s", n, a.fold_v.reason,
				 a.fold_v.detail);
		assert_true(a.subtree == 1 || a.subtree < 0);
	}
}

/* A swallowed error cannot half-apply: once SQLite has rolled a
 * transaction back on an I/O error, the connection refuses every
 * statement until ROLLBACK (before: the next INSERT autocommitted). */
static void test_lost_transaction(void **state)
{
	(void)state;
	char path[400];
	hj_db *db = NULL;
	snprintf(path, sizeof path, "%s/lost.db", top);
	assert_int_equal(hj_db_open(&db, path, 1), 0);
	assert_int_equal(hj_db_exec(db, "CREATE TABLE t(x); CREATE TABLE big(b);"
					"WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 2000) "
					"INSERT INTO big SELECT randomblob(500) FROM r"),
			 0);
	hj_db_close(db);
	assert_int_equal(hj_db_open(&db, path, 0), 0);
	assert_int_equal(hj_db_exec(db, "PRAGMA cache_size=2"), 0);
	assert_int_equal(hj_db_exec(db, "BEGIN IMMEDIATE"), 0);
	assert_int_equal(hj_db_exec(db, "INSERT INTO t VALUES (1)"), 0);
	hj_faultvfs_arm(1, HJ_FAULT_READ, 0, 0);
	int64_t k = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM big WHERE length(b) = 500", NULL, NULL, &k);
	hj_faultvfs_disarm();
	assert_true(rc < 0 && rc != HJ_ENOTFOUND);
	/* Debian's SQLite rolls a write transaction back on a read I/O error
	 * (the pager enters its error state); the guard is for exactly that. */
	assert_true(sqlite3_get_autocommit(db->h));
	/* The caller swallows it and goes on: refused, not autocommitted. */
	assert_int_equal(hj_db_exec(db, "INSERT INTO t VALUES (2)"), HJ_ERROR);
	assert_null(hj_db_stmt(db, "INSERT INTO t VALUES (3)"));
	assert_int_equal(hj_db_exec(db, "ROLLBACK TO x"), HJ_ERROR);
	assert_int_equal(hj_db_exec(db, "COMMIT"), HJ_ERROR);
	/* ROLLBACK with nothing open succeeds and keeps the message. */
	hj_error_set(HJ_ERROR, "first error");
	assert_int_equal(hj_db_exec(db, "ROLLBACK"), 0);
	assert_string_equal(hj_error_last(), "first error");
	assert_int_equal(hj_db_get_int(db, "SELECT count(*) FROM t", NULL, NULL, &k), 0);
	assert_int_equal(k, 0); /* neither row 1 nor row 2 */
	assert_int_equal(hj_db_exec(db, "INSERT INTO t VALUES (4)"), 0); /* usable again */
	hj_db_close(db);
}

/* The shim itself: a fault is an error SQLite reports, with its text. */
static void test_shim(void **state)
{
	(void)state;
	char path[400];
	hj_db *db = NULL;
	snprintf(path, sizeof path, "%s/shim.db", top);
	assert_int_equal(hj_db_open(&db, path, 1), 0);
	assert_int_equal(hj_db_exec(db, "CREATE TABLE t(x)"), 0);
	hj_faultvfs_arm(1, HJ_FAULT_WRITE | HJ_FAULT_SYNC, SQLITE_FULL, 0);
	int rc = hj_db_exec(db, "INSERT INTO t VALUES (1)");
	hj_faultvfs_disarm();
	assert_int_equal(rc, HJ_ERROR);
	assert_true(hj_faultvfs_failed() == 1);
	assert_non_null(strstr(hj_error_last(), "full"));
	int64_t k = -1;
	assert_int_equal(hj_db_get_int(db, "SELECT count(*) FROM t", NULL, NULL, &k), 0);
	assert_int_equal(k, 0);
	/* A failed read inside a lookup is an error, not "not found". */
	hj_db_close(db);
	assert_int_equal(hj_db_open(&db, path, 0), 0);
	hj_faultvfs_arm(1, HJ_FAULT_READ, 0, 1);
	char *v = NULL;
	rc = hj_db_get_text(&v, db, "SELECT x FROM t", NULL, NULL);
	hj_faultvfs_disarm();
	assert_true(rc < 0 && rc != HJ_ENOTFOUND);
	assert_null(v);
	hj_db_close(db);
}

static int group_setup(void **state)
{
	(void)state;
	if (hj_faultvfs_register() != SQLITE_OK || sodium_init() < 0)
		return -1;
	top = ut_tmpdir();
	build_province();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	int rc = getenv("HUIJI_KEEP") ? 0 : ut_rmtree(top);
	free(top);
	return rc == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shim),
		cmocka_unit_test(test_lost_transaction),
		cmocka_unit_test(test_lookups_fail),
		cmocka_unit_test(test_county_command),
		cmocka_unit_test(test_hub_round),
		cmocka_unit_test(test_county_follow),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
