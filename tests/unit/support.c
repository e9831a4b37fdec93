/*
 * support.c — set-up shared by the node/ unit suites (see support.h): real
 * node directories, ops, fake people, raw reads, and the hub order made
 * in-process so replay and rebase run on what a real sync would hold.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"

#include "application.h"
#include "envelope.h"
#include "error.h"
#include "feed.h"
#include "followed.h"
#include "idnum.h"
#include "projection.h"
#include "verify.h"

#include <ftw.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Fail the test with the library's message, not only its code. */
#define MUST(expr)                                                                   \
	do {                                                                         \
		int rc_ = (expr);                                                    \
		if (rc_ != 0)                                                        \
			fail_msg("%s: %s (%s)", #expr, hj_error_last(), hj_error_name(rc_)); \
	} while (0)

char *ut_tmpdir(void)
{
	char *d = strdup("/tmp/hj_unit_XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ut_rmtree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

hj_json *ut_op(const char *name, ...)
{
	hj_json *op = hj_json_new(HJ_JOBJ);
	va_list ap;
	assert_non_null(op);
	assert_int_equal(hj_json_set_str(op, "op", name), 0);
	assert_int_equal(hj_json_set_int(op, "v", HJ_OP_VERSION), 0);
	va_start(ap, name);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		assert_int_equal(hj_json_set_str(op, k, v), 0);
	}
	va_end(ap);
	return op;
}

hj_json *ut_json(const char *fmt, ...)
{
	char text[4096];
	hj_json *j = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof text);
	if (hj_json_parse(&j, text, (size_t)n))
		fail_msg("ut_json: %s in %s", hj_error_last(), text);
	return j;
}

void ut_fake_id(char out[19], int y, int m, int d, int seqno)
{
	MUST(hj_idnum_make(out, "630102", y, m, d, seqno));
}

void ut_hex64(char out[65], const char *seed)
{
	uint8_t h[32];
	hj_hash32(h, seed, strlen(seed));
	hj_hex_encode(out, h, 32);
}

static void person_id(char out[19], int who)
{
	ut_fake_id(out, 1990, 1 + who % 12, 1 + who % 28, who % 1000);
}

void ut_person_key(char out[65], const hj_node *n, int who)
{
	char id[19];
	person_id(id, who);
	hj_node_person_key(n, id, out);
}

hj_json *ut_apply_op(const hj_node *n, const char *union_id, int who)
{
	char id[19], phone[24], name[32];
	hj_json *op = NULL;
	person_id(id, who);
	snprintf(phone, sizeof phone, "138%08d", who % 100000000);
	snprintf(name, sizeof name, "测试%d", who);
	hj_application a = {
		.name = name, .id_number = id, .phone = phone, .group = "truck_driver",
		.channel = "mobile_window", .on = "2024-03-01", .platform = "yunmanman", .union_id = union_id,
	};
	MUST(hj_application_op(&op, n, &a));
	return op;
}

int ut_run(hj_node *n, hj_json *op, hj_verdict *v, char *id_out, size_t idsz, uint64_t *seq_out)
{
	hj_batch b;
	int rc = hj_batch_begin(&b, n);
	if (seq_out)
		*seq_out = 0;
	if (rc) {
		hj_json_free(op);
		return rc;
	}
	if ((rc = hj_batch_apply(&b, op, v, id_out, idsz))) {
		hj_batch_abort(&b);
		return rc;
	}
	return hj_batch_commit(&b, seq_out);
}

uint64_t ut_must(hj_node *n, hj_json *op, char *id_out, size_t idsz)
{
	hj_verdict v;
	uint64_t seq = 0;
	char opname[40];
	snprintf(opname, sizeof opname, "%s", hj_json_get_str(op, "op"));
	MUST(ut_run(n, op, &v, id_out, idsz, &seq));
	if (!v.applied)
		fail_msg("%s on %s refused: %s: %s", opname, n->id, v.reason, v.detail);
	assert_true(seq > 0);
	return seq;
}

int ut_fold(hj_db *db, const char *actor, uint64_t seq, uint32_t index, const hj_json *op, hj_verdict *v)
{
	hj_foldctx ctx = {.actor = actor, .seq = seq, .index = index};
	return hj_fold_op(db, &ctx, op, v);
}

int64_t ut_int(hj_db *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	int64_t out = -1;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("ut_int: %s: %s", sql, sqlite3_errmsg(db->h));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		out = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		fail_msg("ut_int: %s: %s", sql, sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return out;
}

char *ut_text(hj_db *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	char *out = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("ut_text: %s: %s", sql, sqlite3_errmsg(db->h));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		out = strdup((const char *)sqlite3_column_text(st, 0));
		assert_non_null(out);
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fail_msg("ut_text: %s: %s", sql, sqlite3_errmsg(db->h));
	}
	sqlite3_finalize(st);
	return out;
}

void ut_digest(hj_db *db, uint8_t out[32])
{
	MUST(hj_projection_digest(db, out));
}

hj_node *ut_root(const char *dir)
{
	hj_node *n = NULL;
	char *d = join(dir, "hub"), pk[65];
	hj_node_init_opts o = {.dir = d, .node = "hub", .union_id = "qh", .is_root = 1};
	MUST(hj_node_create(&n, &o));
	free(d);
	hj_hex_encode(pk, n->pk, 32);
	/* Change set 1 of a province, as tools/cmd_init.c writes it. */
	hj_batch b;
	hj_verdict v1, v2;
	MUST(hj_batch_begin(&b, n));
	MUST(hj_batch_apply(&b, ut_op("org.create", "id", "qh", "name", "青海省总工会", "kind", "province", "region", "63", NULL),
			    &v1, NULL, 0));
	MUST(hj_batch_apply(&b, ut_op("node.enroll", "node", "hub", "pubkey", pk, "union", "qh", "role", "hub", NULL), &v2,
			    NULL, 0));
	assert_true(v1.applied && v2.applied);
	uint64_t seq = 0;
	MUST(hj_batch_commit(&b, &seq));
	assert_int_equal(seq, 1);
	return n;
}

void ut_province(hj_node *hub)
{
	static const char *const tree[][4] = {
		{"qh-xn", "西宁市总工会", "city", "qh"},
		{"qh-xn-cz", "城中区总工会", "county", "qh-xn"},
		{"qh-xn-cz-a", "人民街街道工会", "township", "qh-xn-cz"},
		{"qh-hd", "海东市总工会", "city", "qh"},
	};
	hj_batch b;
	hj_verdict v;
	MUST(hj_batch_begin(&b, hub));
	for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++) {
		MUST(hj_batch_apply(&b, ut_op("org.create", "id", tree[i][0], "name", tree[i][1], "kind", tree[i][2],
					     "parent", tree[i][3], NULL), &v, NULL, 0));
		if (!v.applied)
			fail_msg("org.create %s: %s", tree[i][0], v.detail);
	}
	MUST(hj_batch_commit(&b, NULL));
}

hj_node *ut_county(const char *dir, const char *node, const char *union_id, const hj_node *hub)
{
	hj_node *n = NULL;
	char *d = join(dir, node), *pkey = hj_node_path(hub, "person.key"), hubkey[65];
	hj_hex_encode(hubkey, hub->pk, 32);
	hj_node_init_opts o = {
		.dir = d, .node = node, .union_id = union_id, .hub_url = "file:///not-used-by-unit-tests",
		.hub_key = hubkey, .person_key_file = pkey,
	};
	MUST(hj_node_create(&n, &o));
	free(d);
	free(pkey);
	return n;
}

void ut_enroll(hj_node *hub, const hj_node *county)
{
	char pk[65];
	hj_hex_encode(pk, county->pk, 32);
	ut_must(hub, ut_op("node.enroll", "node", county->id, "pubkey", pk, "union", county->union_id, "role", "union", NULL),
		NULL, 0);
}

/* Fold one county change set at the hub; its verdicts as JSON text. */
static void include_one(hj_node *hub, const hj_envelope *e, hj_buf *vtext)
{
	hj_json *payload = NULL, *verdicts = hj_json_new(HJ_JARR);
	hj_foldctx ctx = {.actor = e->node, .seq = e->seq, .self = hub->id, .self_union = hub->union_id,
			  .self_is_root = 1};
	hj_verdict v;
	int rc;
	assert_non_null(verdicts);
	MUST(hj_json_parse(&payload, (const char *)e->payload, e->payload_len));
	const hj_json *ops = hj_fold_payload_ops(payload, &rc);
	MUST(rc);
	for (size_t i = 0; i < ops->count; i++) {
		ctx.index = (uint32_t)i;
		MUST(hj_fold_op(hub->db, &ctx, ops->items[i], &v));
		if (v.applied) {
			MUST(hj_json_append(verdicts, hj_json_str("ok")));
		} else {
			hj_json *rej = hj_json_new(HJ_JARR);
			MUST(hj_json_append(rej, hj_json_str(v.reason)));
			MUST(hj_json_append(rej, hj_json_str(v.detail)));
			MUST(hj_json_append(verdicts, rej));
		}
	}
	MUST(hj_json_write(vtext, verdicts));
	hj_json_free(verdicts);
	hj_json_free(payload);
}

int ut_sequence(hj_node *hub, const hj_node *county)
{
	uint64_t last = 0, hub_seq = 0;
	uint8_t h[32], pk[32];
	char *pkhex = ut_text(hub->db, "SELECT pubkey FROM node WHERE id = ?1", county->id);
	hj_json *include = hj_json_new(HJ_JARR);
	int n = 0;
	assert_non_null(pkhex);
	assert_non_null(include);
	MUST(hj_hex_decode(pk, 32, pkhex));
	free(pkhex);
	MUST(hj_db_exec(hub->db, "BEGIN IMMEDIATE"));
	MUST(hj_feed_last(hub->db, &hub_seq, h));
	hub_seq++;
	MUST(hj_followed_last(hub->db, county->id, &last, h));
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(county->db->h, "SELECT envelope FROM changelog WHERE seq > ?1 ORDER BY seq",
					    -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, (int64_t)last);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const uint8_t *bytes = sqlite3_column_blob(q, 0);
		size_t len = (size_t)sqlite3_column_bytes(q, 0);
		hj_envelope e;
		hj_buf vtext = HJ_BUF_INIT;
		char hash[65];
		MUST(hj_feed_check(&e, bytes, len, county->id, pk, last, h));
		include_one(hub, &e, &vtext);
		MUST(hj_followed_append(hub->db, hub_seq, e.node, e.seq, e.hash, bytes, len, (const char *)vtext.data));
		hj_hex_encode(hash, e.hash, 32);
		hj_json *inc = hj_json_new(HJ_JOBJ), *vd = NULL;
		MUST(hj_json_parse(&vd, (const char *)vtext.data, vtext.len));
		MUST(hj_json_set_str(inc, "node", e.node));
		MUST(hj_json_set_int(inc, "seq", (int64_t)e.seq));
		MUST(hj_json_set_str(inc, "hash", hash));
		MUST(hj_json_set(inc, "verdicts", vd));
		MUST(hj_json_append(include, inc));
		last = e.seq;
		memcpy(h, e.hash, 32);
		hj_buf_free(&vtext);
		hj_envelope_free(&e);
		n++;
	}
	sqlite3_finalize(q);
	if (n == 0) {
		hj_json_free(include);
		MUST(hj_db_exec(hub->db, "ROLLBACK"));
		return 0;
	}
	/* The hub's sequence entry, as sync/sequencer.c signs it. */
	uint8_t digest[32], hash[32];
	char dhex[65];
	hj_buf payload = HJ_BUF_INIT;
	hj_json *seqop = ut_op("hub.sequence", NULL), *ops = hj_json_new(HJ_JARR);
	ut_digest(hub->db, digest);
	hj_hex_encode(dhex, digest, 32);
	MUST(hj_json_set(seqop, "include", include));
	MUST(hj_json_set_str(seqop, "state", dhex));
	MUST(hj_json_append(ops, seqop));
	MUST(hj_payload_encode(&payload, ops));
	MUST(hj_feed_append(hub->db, hub->id, hub_seq, 1700000000000, payload.data, payload.len, hub->pk, hub->sk, hash));
	MUST(hj_db_exec(hub->db, "COMMIT"));
	hj_buf_free(&payload);
	hj_json_free(ops);
	return n;
}

int ut_follow_rows(hj_node *county, hj_node *hub, int64_t *old_last_pos, uint64_t *old_own_done)
{
	uint8_t ignored[32];
	int n = 0;
	MUST(hj_db_exec(county->db, "BEGIN IMMEDIATE"));
	*old_last_pos = ut_int(county->db, "SELECT coalesce(max(pos), 0) FROM followed", NULL);
	MUST(hj_followed_last(county->db, county->id, old_own_done, ignored));
	MUST(hj_meta_set(county->db, "hub_node", hub->id));
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(hub->db->h, "SELECT hub_seq, node, seq, hash, envelope, verdicts FROM followed "
							"WHERE pos > ?1 ORDER BY pos", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, *old_last_pos);
	while (sqlite3_step(q) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_bytes(q, 3), 32);
		MUST(hj_followed_append(county->db, (uint64_t)sqlite3_column_int64(q, 0),
					(const char *)sqlite3_column_text(q, 1), (uint64_t)sqlite3_column_int64(q, 2),
					sqlite3_column_blob(q, 3), sqlite3_column_blob(q, 4),
					(size_t)sqlite3_column_bytes(q, 4), (const char *)sqlite3_column_text(q, 5)));
		n++;
	}
	sqlite3_finalize(q);
	return n;
}

int ut_follow(hj_node *county, hj_node *hub, hj_replay_stats *st, int *rebuilt)
{
	int64_t pos;
	uint64_t done;
	*rebuilt = 0;
	ut_follow_rows(county, hub, &pos, &done);
	MUST(hj_db_exec(county->db, "SAVEPOINT rebase"));
	int rc = hj_rebase(county, pos, done, st);
	if (rc == HJ_ECONFLICT || rc == HJ_ENOTFOUND) {
		/* The fallback of sync/sync.c: rebuild from the hub order. The
		 * rebase's message is kept for the test to read. */
		char why[512];
		snprintf(why, sizeof why, "%s", hj_error_last());
		MUST(hj_db_exec(county->db, "ROLLBACK TO rebase"));
		MUST(hj_projection_clear(county->db));
		MUST(hj_replay(county->db, county, 0, st));
		*rebuilt = 1;
		hj_error_set(rc, "%s", why);
	} else if (rc) {
		hj_db_exec(county->db, "ROLLBACK");
		return rc;
	}
	MUST(hj_db_exec(county->db, "RELEASE rebase"));
	MUST(hj_db_exec(county->db, "COMMIT"));
	return rc;
}

int ut_rebuild_compare(hj_node *n, hj_replay_stats *st)
{
	hj_db *scratch = NULL;
	MUST(hj_scratch_open(&scratch));
	MUST(hj_db_exec(scratch, "BEGIN"));
	int rc = hj_replay(scratch, n, 1, st);
	if (!rc)
		MUST(hj_db_exec(scratch, "COMMIT"));
	if (!rc)
		rc = hj_projection_compare(n->db, "live", scratch, "rebuild");
	hj_db_close(scratch);
	return rc;
}
