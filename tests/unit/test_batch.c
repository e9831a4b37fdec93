/*
 * test_batch.c — node/batch.c on real node directories: a command's ops
 * folded and signed as one change set in one transaction.
 *
 * begin/apply/commit appends change set N+1 chained to N (hj_feed_last,
 * hj_feed_verify, the signed payload holds exactly the applied ops); a
 * batch whose ops were all rejected, or that is aborted, records nothing
 * and leaves no gap; a county records the inverse of each change set
 * (node/undo.c) and that inverse takes the projection back exactly; the
 * hub's own change sets enter the hub order (`followed`) as they commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "envelope.h"
#include "error.h"
#include "feed.h"
#include "followed.h"
#include "projection.h"
#include "support.h"

/* The province of tests/unit/support.c, counties not enrolled. */
typedef ut_world fixture;

static int setup(void **state)
{
	*state = ut_world_new(0);
	return 0;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

static hj_json *org_op(const char *id, const char *parent)
{
	return ut_op("org.create", "id", id, "name", id, "kind", "township", "parent", parent, NULL);
}

/* Collects what hj_feed_verify walks. */
typedef struct walk {
	uint64_t n;
	uint8_t prev_hash[32];
	uint8_t *last_payload;
	size_t last_len;
	int64_t last_created;
} walk;

static int on_cs(void *ctx, const hj_envelope *e, const uint8_t *bytes, size_t len)
{
	walk *w = ctx;
	uint8_t h[32];
	w->n++;
	assert_int_equal(e->seq, w->n);
	assert_memory_equal(e->prev, w->prev_hash, 32); /* chained to N-1 */
	hj_hash32(h, bytes, len);
	assert_memory_equal(e->hash, h, 32);
	memcpy(w->prev_hash, h, 32);
	free(w->last_payload);
	w->last_payload = malloc(e->payload_len + 1);
	assert_non_null(w->last_payload);
	memcpy(w->last_payload, e->payload, e->payload_len + 1);
	w->last_len = e->payload_len;
	w->last_created = e->created_at;
	return 0;
}

static int64_t count(hj_db *db, const char *table)
{
	char sql[80];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	return ut_int(db, sql, NULL);
}

static void test_commit_chains(void **state)
{
	fixture *f = *state;
	hj_node *n = f->hub;
	hj_batch b;
	hj_verdict v;
	char id[160];
	uint64_t seq = 0, last = 0;
	uint8_t before[32], hash[32];

	hj_feed_last(n->db, &last, before);
	assert_int_equal(last, 2);
	assert_int_equal(hj_batch_begin(&b, n), 0);
	assert_int_equal(b.seq, 3);
	assert_int_equal(hj_batch_apply(&b, org_op("qh-xn-cz-b", "qh-xn-cz"), &v, id, sizeof id), 0);
	assert_true(v.applied);
	assert_string_equal(id, "hub:3:0");
	/* A rejected op takes no position: the next applied op is index 1. */
	assert_int_equal(hj_batch_apply(&b, org_op("qh-xn-cz-b", "qh-xn-cz"), &v, id, sizeof id), 0);
	assert_false(v.applied);
	assert_string_equal(v.reason, "org_exists");
	assert_string_equal(id, "hub:3:1");
	assert_int_equal(hj_batch_apply(&b, org_op("qh-xn-cz-c", "qh-xn-cz-b"), &v, id, sizeof id), 0);
	assert_true(v.applied);
	assert_string_equal(id, "hub:3:1");
	assert_int_equal(b.applied, 2);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t t0 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	assert_int_equal(hj_batch_commit(&b, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_not_equal(sqlite3_get_autocommit(n->db->h), 0);

	/* N+1 chained to N: the feed's last entry and a full verify. */
	assert_int_equal(hj_feed_last(n->db, &last, hash), 0);
	assert_int_equal(last, 3);
	walk w = {0};
	assert_int_equal(hj_feed_verify(n->db, n->id, n->pk, on_cs, &w), 0);
	assert_int_equal(w.n, 3);
	assert_memory_equal(w.prev_hash, hash, 32);
	assert_true(w.last_created >= t0 - 1000 && w.last_created <= t0 + 60000);
	/* The signed payload is exactly the applied ops, in order. */
	hj_json *ops = hj_json_new(HJ_JARR);
	assert_int_equal(hj_json_append(ops, org_op("qh-xn-cz-b", "qh-xn-cz")), 0);
	assert_int_equal(hj_json_append(ops, org_op("qh-xn-cz-c", "qh-xn-cz-b")), 0);
	hj_buf want = HJ_BUF_INIT;
	assert_int_equal(hj_payload_encode(&want, ops), 0);
	assert_int_equal(w.last_len, want.len);
	assert_memory_equal(w.last_payload, want.data, want.len);
	hj_buf_free(&want);
	hj_json_free(ops);
	free(w.last_payload);
	/* The rows are the change set's: created_op names its position. */
	char *op = ut_text(n->db, "SELECT created_op FROM org WHERE id = 'qh-xn-cz-c'", NULL);
	assert_string_equal(op, "hub:3:1");
	free(op);
	/* A wrong key does not verify the feed. */
	assert_int_equal(hj_feed_verify(n->db, n->id, f->cz->pk, NULL, NULL), HJ_EBADSIG);
}

static void test_rejected_only_records_nothing(void **state)
{
	fixture *f = *state;
	hj_node *n = f->hub;
	hj_batch b;
	hj_verdict v;
	uint64_t seq = 99;
	uint8_t d0[32], d1[32];
	int64_t cl = count(n->db, "changelog"), fo = count(n->db, "followed");
	ut_digest(n->db, d0);
	assert_int_equal(hj_batch_begin(&b, n), 0);
	assert_int_equal(hj_batch_apply(&b, org_op("qh-xn", "qh"), &v, NULL, 0), 0);
	assert_string_equal(v.reason, "org_exists");
	assert_int_equal(hj_batch_apply(&b, org_op("x", "nowhere"), &v, NULL, 0), 0);
	assert_string_equal(v.reason, "unknown_org");
	assert_int_equal(hj_batch_commit(&b, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_not_equal(sqlite3_get_autocommit(n->db->h), 0);
	assert_int_equal(count(n->db, "changelog"), cl);
	assert_int_equal(count(n->db, "followed"), fo);
	ut_digest(n->db, d1);
	assert_memory_equal(d0, d1, 32);
	/* No gap: the next change set is N+1. */
	assert_int_equal(ut_must(n, org_op("qh-xn-cz-b", "qh-xn-cz"), NULL, 0), (uint64_t)cl + 1);
	assert_int_equal(hj_feed_verify(n->db, n->id, n->pk, NULL, NULL), 0);

	/* Same at a county: no change set and no undo row. */
	hj_node *c = f->cz;
	seq = 99;
	assert_int_equal(ut_run(c, ut_op("member.leave", "member", "cz:1:0", "on", "2024-01-01", "reason", "voluntary",
					 NULL), &v, NULL, 0, &seq), 0);
	assert_string_equal(v.reason, "unknown_member");
	assert_int_equal(seq, 0);
	assert_int_equal(count(c->db, "changelog"), 0);
	assert_int_equal(count(c->db, "undo"), 0);
}

static void test_abort_leaves_nothing(void **state)
{
	fixture *f = *state;
	hj_node *n = f->cz;
	hj_batch b;
	hj_verdict v;
	uint8_t d0[32], d1[32];
	ut_digest(n->db, d0);
	assert_int_equal(hj_batch_begin(&b, n), 0);
	assert_int_equal(b.seq, 1);
	assert_int_equal(hj_batch_apply(&b, ut_apply_op(n, NULL, 1), &v, NULL, 0), 0);
	assert_true(v.applied);
	ut_digest(n->db, d1);
	assert_memory_not_equal(d0, d1, 32); /* folded inside the transaction */
	hj_batch_abort(&b);
	hj_batch_abort(&b); /* twice is fine */
	assert_int_not_equal(sqlite3_get_autocommit(n->db->h), 0);
	ut_digest(n->db, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(count(n->db, "changelog"), 0);
	assert_int_equal(count(n->db, "undo"), 0);
	assert_int_equal(count(n->db, "person"), 0);
	/* Commit after abort: refused, nothing recorded. */
	uint64_t seq = 99;
	assert_int_equal(hj_batch_commit(&b, &seq), HJ_ERROR);
	assert_int_equal(seq, 0);
	/* A batch never begun aborts safely. */
	hj_batch z;
	memset(&z, 0, sizeof z);
	hj_batch_abort(&z);
	/* The next batch is seq 1 again. */
	assert_int_equal(ut_must(n, ut_apply_op(n, NULL, 1), NULL, 0), 1);
	assert_int_equal(hj_feed_verify(n->db, n->id, n->pk, NULL, NULL), 0);
}

/* A batch cannot start inside another transaction, and failing to start
 * does not roll back the transaction that is open. */
static void test_begin_inside_transaction(void **state)
{
	fixture *f = *state;
	hj_node *n = f->hub;
	hj_batch b1, b2;
	hj_verdict v;
	assert_int_equal(hj_batch_begin(&b1, n), 0);
	assert_int_equal(hj_batch_apply(&b1, org_op("qh-xn-cz-b", "qh-xn-cz"), &v, NULL, 0), 0);
	assert_true(v.applied);
	assert_true(hj_batch_begin(&b2, n) < 0);
	assert_int_equal(sqlite3_get_autocommit(n->db->h), 0);
	uint64_t seq = 0;
	assert_int_equal(hj_batch_commit(&b1, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(ut_int(n->db, "SELECT count(*) FROM org WHERE id = 'qh-xn-cz-b'", NULL), 1);
}

/* An op from a newer huiji is an error, not a verdict: the caller aborts
 * and nothing is recorded. */
static void test_newer_op_fails_the_batch(void **state)
{
	fixture *f = *state;
	hj_node *n = f->hub;
	hj_batch b;
	hj_verdict v;
	int64_t cl = count(n->db, "changelog");
	assert_int_equal(hj_batch_begin(&b, n), 0);
	assert_int_equal(hj_batch_apply(&b, org_op("qh-xn-cz-b", "qh-xn-cz"), &v, NULL, 0), 0);
	hj_json *op = org_op("qh-xn-cz-c", "qh-xn-cz");
	assert_int_equal(hj_json_set_int(op, "v", HJ_OP_VERSION + 1), 0);
	assert_int_equal(hj_batch_apply(&b, op, &v, NULL, 0), HJ_EVERSION);
	hj_batch_abort(&b);
	assert_int_equal(count(n->db, "changelog"), cl);
	assert_int_equal(ut_int(n->db, "SELECT count(*) FROM org WHERE id LIKE 'qh-xn-cz-%'", NULL), 1); /* -a only */
}

static int abort_on_conflict(void *ctx, int kind, sqlite3_changeset_iter *it)
{
	(void)ctx;
	(void)kind;
	(void)it;
	return SQLITE_CHANGESET_ABORT;
}

static void apply_undo(hj_db *db, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db->h, "SELECT inverse FROM undo WHERE seq = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int len = sqlite3_column_bytes(st, 0);
	assert_true(len > 0);
	assert_int_equal(sqlite3changeset_apply(db->h, len, (void *)sqlite3_column_blob(st, 0), NULL, abort_on_conflict,
						NULL), SQLITE_OK);
	sqlite3_finalize(st);
}

/* A county records the inverse of each change set; applied newest first
 * the inverses take the projection back exactly. The hub records none. */
static void test_county_records_undo(void **state)
{
	fixture *f = *state;
	hj_node *c = f->cz;
	hj_batch b;
	hj_verdict v;
	char id[160];
	uint8_t d0[32], d1[32], d2[32];
	ut_digest(c->db, d0);
	assert_int_equal(hj_batch_begin(&b, c), 0);
	assert_non_null(b.undo);
	assert_int_equal(hj_batch_apply(&b, ut_apply_op(c, NULL, 1), &v, id, sizeof id), 0);
	assert_true(v.applied);
	assert_string_equal(id, "cz:1:0");
	assert_int_equal(hj_batch_apply(&b, ut_apply_op(c, NULL, 1), &v, NULL, 0), 0);
	assert_string_equal(v.reason, "duplicate_member");
	assert_int_equal(hj_batch_apply(&b, ut_apply_op(c, NULL, 2), &v, id, sizeof id), 0);
	assert_true(v.applied);
	assert_string_equal(id, "cz:1:1");
	assert_int_equal(hj_batch_commit(&b, NULL), 0);
	assert_null(b.undo);
	ut_digest(c->db, d1);
	assert_int_equal(count(c->db, "undo"), 1);
	ut_must(c, ut_op("member.approve", "member", "cz:1:0", "on", "2024-03-02", NULL), NULL, 0);
	/* Op version 4: a county names no person key (its record's is provisional here). */
	ut_must(c, ut_op("member.update", "member", "cz:1:0", "group", "courier", NULL), NULL, 0);
	assert_int_equal(count(c->db, "undo"), 3);
	assert_int_equal(ut_int(c->db, "SELECT min(seq) FROM undo", NULL), 1);
	assert_int_equal(ut_int(c->db, "SELECT max(seq) FROM undo", NULL), 3);
	/* The county's own change sets stay out of the hub order. */
	assert_int_equal(count(c->db, "followed"), 0);
	int64_t pending = -1;
	assert_int_equal(hj_pending_count(&pending, c), 0);
	assert_int_equal(pending, 3);

	assert_int_equal(hj_db_exec(c->db, "BEGIN"), 0);
	apply_undo(c->db, 3);
	apply_undo(c->db, 2);
	ut_digest(c->db, d2);
	assert_memory_equal(d1, d2, 32); /* back to just after change set 1 */
	apply_undo(c->db, 1);
	ut_digest(c->db, d2);
	assert_memory_equal(d0, d2, 32); /* back to nothing */
	assert_int_equal(hj_db_exec(c->db, "ROLLBACK"), 0);

	/* The hub: sequenced as it commits, so no inverse is kept. */
	ut_must(f->hub, org_op("qh-xn-cz-b", "qh-xn-cz"), NULL, 0);
	assert_int_equal(count(f->hub->db, "undo"), 0);
}

/* The hub's own change set is appended to the hub order as it commits:
 * same bytes and hash as its change log, no verdicts (all applied). */
static void test_hub_followed(void **state)
{
	fixture *f = *state;
	hj_node *n = f->hub;
	assert_int_equal(count(n->db, "followed"), 2);
	uint64_t seq = ut_must(n, org_op("qh-xn-cz-b", "qh-xn-cz"), NULL, 0);
	assert_int_equal(seq, 3);
	assert_int_equal(count(n->db, "followed"), 3);
	assert_int_equal(ut_int(n->db, "SELECT count(*) FROM followed f JOIN changelog c ON c.seq = f.seq "
				       "WHERE f.node = 'hub' AND f.hash = c.hash AND f.envelope = c.envelope "
				       "AND f.hub_seq = f.seq AND f.pos = f.seq AND f.verdicts IS NULL", NULL), 3);
	uint64_t last = 0;
	uint8_t h[32], hc[32];
	assert_int_equal(hj_followed_last(n->db, "hub", &last, h), 0);
	assert_int_equal(last, 3);
	assert_int_equal(hj_feed_last(n->db, &last, hc), 0);
	assert_memory_equal(h, hc, 32);
	int64_t pending = -1;
	assert_int_equal(hj_pending_count(&pending, n), 0);
	assert_int_equal(pending, 0);
	/* A rejected-only batch appends nothing there either. */
	hj_verdict v;
	assert_int_equal(ut_run(n, org_op("qh-xn-cz-b", "qh-xn-cz"), &v, NULL, 0, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(count(n->db, "followed"), 3);
}

static void test_payload_encode(void **state)
{
	(void)state;
	hj_json *ops = hj_json_new(HJ_JARR);
	hj_buf out = HJ_BUF_INIT;
	assert_int_equal(hj_payload_encode(&out, ops), 0);
	assert_string_equal((const char *)out.data, "{\"v\":1,\"ops\":[]}");
	hj_buf_reset(&out);
	assert_int_equal(hj_json_append(ops, ut_op("member.leave", "member", "a:1:0", "reason", "lapsed", NULL)), 0);
	assert_int_equal(hj_payload_encode(&out, ops), 0);
	assert_string_equal((const char *)out.data,
			    "{\"v\":1,\"ops\":[{\"op\":\"member.leave\",\"v\":4,\"member\":\"a:1:0\",\"reason\":\"lapsed\"}]}");
	hj_buf_free(&out);
	hj_json_free(ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejected_only_records_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_begin_inside_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_op_fails_the_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_county_records_undo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_followed, setup, teardown),
		cmocka_unit_test(test_payload_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
