/*
 * test_hook.c — unit tests for sync/hook.c: hj_hook_check decides one ref
 * update of the hub repository the way a pre-receive hook sees it (the
 * ref still at its old tip, the pushed commits already in the object
 * database).
 *
 * Real everything: a hub node made with hj_node_create and bootstrapped
 * with real ops (org.create, node.enroll) through hj_batch (ut_hub,
 * ut_commit of tests/unit/support.c), its real
 * hub.git, county change sets signed with real Ed25519 keys by
 * hj_envelope_encode and written as feed commits by hj_gitfeed_append.
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

#include "batch.h"
#include "db.h"
#include "envelope.h"
#include "error.h"
#include "fold.h"
#include "gitfeed.h"
#include "hook.h"
#include "json.h"
#include "node.h"
#include "outbox.h"
#include "support.h"

#define HUB "t-hub"
#define CTY "c01"     /* enrolled */
#define STRANGER "c02" /* never enrolled */
#define FEED(n) "refs/huiji/feeds/" n
#define NEXT "refs/huiji/tmp/next" /* where a push's new commits are made */

typedef struct key {
	uint8_t pk[32], sk[64];
} key;

typedef struct fx {
	char *dir;
	hj_node *hub;
	hj_gitrepo *repo;
	key cty, other;
} fx;

/* ---- fixture (tests/unit/support.c) ---- */

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	if (!f || sodium_init() < 0)
		return -1;
	f->dir = ut_tmpdir();
	crypto_sign_keypair(f->cty.pk, f->cty.sk);
	crypto_sign_keypair(f->other.pk, f->other.sk);
	/* Change set 1 as `huiji hub init` makes it, then the county union
	 * and the county's enrolment, as `huiji node enroll` does. */
	f->hub = ut_hub(f->dir, HUB, "t-prov", "测试省总工会");
	hj_json *enrol[2] = {ut_op("org.create", "id", "t-cty", "name", "测试县总工会", "kind", "county", "parent", "t-prov",
				   "region", "630103", NULL),
			     ut_enroll_op(CTY, f->cty.pk, "t-cty", "union")};
	ut_commit(f->hub, enrol, 2, NULL);
	if (hj_node_repo_open(&f->repo, f->hub))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	hj_gitrepo_close(f->repo);
	hj_node_close(f->hub);
	int rc = ut_rmtree(f->dir);
	hj_envelope_thread_cleanup();
	free(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* ---- a county's chain ---- */

/* Envelopes seq 1..n of feed `node` signed with `k`; `salt` changes the
 * payloads so that two chains with the same seqs differ. bytes[i] is seq
 * i + 1 (each a malloc'd copy). */
#define CHAIN_MAX (HJ_UNENROLLED_MAX_SETS + 8)
typedef struct chain {
	uint8_t *bytes[CHAIN_MAX];
	size_t len[CHAIN_MAX];
	size_t n;
} chain;

/* With pad > 0, each payload carries `pad` random hex digits (deflate
 * halves them at best): change sets big enough to reach the byte quota. */
static void chain_make_padded(chain *c, const char *node, const key *k, size_t n, int salt, size_t pad)
{
	uint8_t prev[32] = {0};
	char *payload = malloc(pad + 64);
	assert_non_null(payload);
	memset(c, 0, sizeof *c);
	assert_true(n <= CHAIN_MAX);
	for (size_t i = 0; i < n; i++) {
		hj_buf b = HJ_BUF_INIT;
		int len = snprintf(payload, 64, "[{\"op\":\"noop\",\"i\":%zu,\"s\":%d,\"x\":\"", i, salt);
		for (size_t j = 0; j < pad; j++)
			payload[len++] = "0123456789abcdef"[randombytes_uniform(16)];
		len += snprintf(payload + len, 8, "\"}]");
		assert_int_equal(hj_envelope_encode(&b, node, i + 1, prev, 1700000000000LL + (int64_t)i * 1000,
						    payload, (size_t)len, k->pk, k->sk),
				 0);
		hj_hash32(prev, b.data, b.len);
		c->bytes[i] = hj_buf_detach(&b, &c->len[i]);
		c->n++;
	}
	free(payload);
}

static void chain_make(chain *c, const char *node, const key *k, size_t n, int salt)
{
	chain_make_padded(c, node, k, n, salt, 0);
}

static void chain_free(chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->bytes[i]);
}

/* Write seqs [from, to] of `c` (1-based) onto `ref` as commits of feed
 * `node`, and hand back the new tip. */
static void write_seqs(hj_gitrepo *r, const char *ref, const char *node, const chain *c, size_t from, size_t to,
		       git_oid *tip)
{
	hj_feed_item items[CHAIN_MAX];
	size_t k = 0;
	for (size_t s = from; s <= to; s++, k++) {
		items[k].bytes = c->bytes[s - 1];
		items[k].len = c->len[s - 1];
		items[k].seq = s;
		items[k].created_at = 1700000000000LL + (int64_t)(s - 1) * 1000;
	}
	assert_int_equal(hj_gitfeed_append(r, ref, node, items, k), 0);
	assert_int_equal(hj_gitfeed_tip(r, ref, NULL, tip), 0);
}

/* The situation of a push: the feed ref at seq `old_n` of `c`, and the
 * pushed commits (seqs old_n + 1 .. new_n of `pushed`) built on a scratch
 * ref from the old tip. */
static void stage_push(fx *f, const char *ref, const char *node, const chain *c, size_t old_n, const chain *pushed,
		       size_t new_n, char old_hex[41], char new_hex[41])
{
	git_oid old_tip, new_tip;
	memset(&old_tip, 0, sizeof old_tip);
	if (old_n) {
		write_seqs(f->repo, ref, node, c, 1, old_n, &old_tip);
		assert_int_equal(hj_gitref_cas(f->repo, NEXT, &old_tip, NULL, NULL), 0);
	}
	write_seqs(f->repo, NEXT, node, pushed, old_n + 1, new_n, &new_tip);
	git_oid_tostr(old_hex, 41, &old_tip);
	git_oid_tostr(new_hex, 41, &new_tip);
}

/* ---- cases ---- */

static void test_accepts_fast_forward(void **state)
{
	fx *f = *state;
	chain c;
	char old_hex[41], new_hex[41];
	chain_make(&c, CTY, &f->cty, 5, 0);
	stage_push(f, FEED(CTY), CTY, &c, 3, &c, 5, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), 0);
	chain_free(&c);
}

static void test_accepts_first_push(void **state)
{
	fx *f = *state;
	chain c;
	char old_hex[41], new_hex[41];
	chain_make(&c, CTY, &f->cty, 2, 0);
	stage_push(f, FEED(CTY), CTY, &c, 0, &c, 2, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), 0);
	chain_free(&c);
}

static void test_refuses_delete(void **state)
{
	fx *f = *state;
	chain c;
	char old_hex[41], new_hex[41];
	chain_make(&c, CTY, &f->cty, 2, 0);
	stage_push(f, FEED(CTY), CTY, &c, 1, &c, 2, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, "0000000000000000000000000000000000000000", FEED(CTY)),
			 HJ_EPERM);
	assert_non_null(strstr(hj_error_last(), "append-only"));
	chain_free(&c);
}

static void test_refuses_non_fast_forward(void **state)
{
	fx *f = *state;
	chain c, fork;
	char old_hex[41], new_hex[41];
	chain_make(&c, CTY, &f->cty, 3, 0);
	chain_make(&fork, CTY, &f->cty, 4, 1); /* same key, other history */
	git_oid old_tip, new_tip;
	write_seqs(f->repo, FEED(CTY), CTY, &c, 1, 3, &old_tip);
	write_seqs(f->repo, NEXT, CTY, &fork, 1, 4, &new_tip);
	git_oid_tostr(old_hex, 41, &old_tip);
	git_oid_tostr(new_hex, 41, &new_tip);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), HJ_EPERM);
	assert_non_null(strstr(hj_error_last(), "not a fast-forward"));
	/* A rewind (new tip an ancestor of the old one) is no fast-forward
	 * either. */
	git_oid one;
	assert_int_equal(hj_gitfeed_commit_id(&one, f->repo, NULL, CTY, 1, 1700000000000LL, c.bytes[0], c.len[0]), 0);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, git_oid_tostr_s(&one), FEED(CTY)), HJ_EPERM);
	chain_free(&c);
	chain_free(&fork);
}

static void test_refuses_other_namespaces(void **state)
{
	fx *f = *state;
	chain c;
	char old_hex[41], new_hex[41];
	chain_make(&c, CTY, &f->cty, 2, 0);
	stage_push(f, FEED(CTY), CTY, &c, 0, &c, 2, old_hex, new_hex);
	static const char *const refs[] = {"refs/heads/master", "refs/huiji/sequenced/" CTY, "refs/huiji/hub/" HUB,
					   "refs/huiji/feeds/", "refs/huiji/feeds/" HUB, "refs/huiji/feedsx/" CTY};
	for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
		hj_error_clear();
		assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, refs[i]), HJ_EPERM);
	}
	chain_free(&c);
}

static void test_refuses_another_nodes_commits(void **state)
{
	fx *f = *state;
	chain mine, theirs;
	char old_hex[41], new_hex[41];
	/* Commits of feed c02 (message "huiji c02 <seq>") pushed to c01's ref. */
	chain_make(&theirs, STRANGER, &f->other, 2, 0);
	stage_push(f, FEED(CTY), STRANGER, &theirs, 0, &theirs, 2, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), FEED(CTY)));
	/* c01-shaped commits carrying envelopes of c02's feed. */
	assert_int_equal(hj_gitrepo_ref_delete(f->repo, NEXT), 0);
	chain_make(&mine, STRANGER, &f->cty, 2, 0); /* even under c01's own key */
	stage_push(f, FEED(CTY), CTY, &mine, 0, &mine, 2, old_hex, new_hex);
	assert_int_not_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), 0);
	chain_free(&mine);
	chain_free(&theirs);
}

/* seq 3 of c01's feed as `pushed` sees it, on top of `good` seq 1-2. */
static void push_third(fx *f, const chain *good, chain *pushed, char old_hex[41], char new_hex[41])
{
	stage_push(f, FEED(CTY), CTY, good, 2, pushed, 3, old_hex, new_hex);
}

/* seq 3 signed by a key nobody enrolled for c01 (f->other): a well-formed
 * envelope naming c01's feed, chained correctly to seq 2 of `good`,
 * pushed on top of it. */
static void push_forged_third(fx *f, chain *good, chain *forged, char old_hex[41], char new_hex[41])
{
	uint8_t prev[32];
	hj_buf b = HJ_BUF_INIT;
	chain_make(good, CTY, &f->cty, 2, 0);
	memset(forged, 0, sizeof *forged);
	hj_hash32(prev, good->bytes[1], good->len[1]);
	assert_int_equal(hj_envelope_encode(&b, CTY, 3, prev, 1700000002000LL, "[]", 2, f->other.pk, f->other.sk), 0);
	forged->bytes[2] = hj_buf_detach(&b, &forged->len[2]);
	forged->n = 3;
	push_third(f, good, forged, old_hex, new_hex);
}

static void test_refuses_bad_signature(void **state)
{
	fx *f = *state;
	chain good, forged;
	char old_hex[41], new_hex[41];
	push_forged_third(f, &good, &forged, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), HJ_EBADSIG);
	chain_free(&good);
	chain_free(&forged);
}

static void test_refuses_tampered_signature(void **state)
{
	fx *f = *state;
	chain c;
	char old_hex[41], new_hex[41];
	/* The last byte of an envelope is the last byte of its Ed25519
	 * signature (node/envelope.c): still c01's key id, no longer c01's
	 * signature. */
	chain_make(&c, CTY, &f->cty, 3, 0);
	c.bytes[2][c.len[2] - 1] ^= 0x01;
	push_third(f, &c, &c, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), HJ_EBADSIG);
	chain_free(&c);
}

/* The enrolment lookup fails (here: the table is gone; on a hub, an I/O
 * error): that is no answer, so the push is refused. It used to read as
 * "not enrolled", which checks the shape only and let a change set signed
 * by any key through. */
static void test_failed_enrolment_lookup_refuses(void **state)
{
	fx *f = *state;
	chain good, forged;
	char old_hex[41], new_hex[41];
	push_forged_third(f, &good, &forged, old_hex, new_hex);
	assert_int_equal(hj_db_exec(f->hub->db, "ALTER TABLE node RENAME TO node_gone"), 0);
	int rc = hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY));
	assert_int_not_equal(rc, 0);
	assert_int_not_equal(rc, HJ_EPERM); /* not a decision about the push: an error */
	assert_int_equal(hj_db_exec(f->hub->db, "ALTER TABLE node_gone RENAME TO node"), 0);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), HJ_EBADSIG);
	chain_free(&good);
	chain_free(&forged);
}

/* A node not enrolled yet: its key is unknown, so only the shape is
 * checked; a chain that does not link is still refused. */
static void test_unenrolled_shape_only(void **state)
{
	fx *f = *state;
	chain c, broken;
	char old_hex[41], new_hex[41];
	chain_make(&c, STRANGER, &f->other, 2, 0);
	stage_push(f, FEED(STRANGER), STRANGER, &c, 0, &c, 2, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(STRANGER)), 0);

	/* seq 2 whose prev hash is not seq 1's. */
	chain_make(&broken, STRANGER, &f->other, 2, 7);
	free(broken.bytes[0]);
	broken.bytes[0] = malloc(c.len[0]);
	memcpy(broken.bytes[0], c.bytes[0], broken.len[0] = c.len[0]);
	assert_int_equal(hj_gitrepo_ref_delete(f->repo, NEXT), 0);
	stage_push(f, "refs/huiji/feeds/c03", STRANGER, &c, 0, &broken, 2, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(STRANGER)), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "does not chain"));
	chain_free(&c);
	chain_free(&broken);
}

/* A feed nobody enrolled is held to HJ_UNENROLLED_MAX_SETS change sets:
 * a push that would bring it past them is refused, whole or in steps,
 * with a message saying why; an enrolled feed has no such bound. */
static void test_unenrolled_quota_sets(void **state)
{
	fx *f = *state;
	chain c, e;
	char old_hex[41], new_hex[41];
	const size_t q = HJ_UNENROLLED_MAX_SETS;
	chain_make(&c, STRANGER, &f->other, q + 2, 0);
	/* All at once: refused before anything is read. */
	stage_push(f, FEED(STRANGER), STRANGER, &c, 0, &c, q + 1, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(STRANGER)), HJ_EPERM);
	assert_non_null(strstr(hj_error_last(), "not enrolled yet"));
	assert_non_null(strstr(hj_error_last(), "seq 65"));
	/* Up to the quota: accepted; one more on top of it: refused. */
	assert_int_equal(hj_gitrepo_ref_delete(f->repo, NEXT), 0);
	stage_push(f, FEED(STRANGER), STRANGER, &c, 0, &c, q, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(STRANGER)), 0);
	assert_int_equal(hj_gitrepo_ref_delete(f->repo, NEXT), 0);
	stage_push(f, FEED(STRANGER), STRANGER, &c, q, &c, q + 1, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(STRANGER)), HJ_EPERM);
	assert_non_null(strstr(hj_error_last(), "not enrolled yet"));
	/* The enrolled county pushes as many as it has. */
	assert_int_equal(hj_gitrepo_ref_delete(f->repo, NEXT), 0);
	chain_make(&e, CTY, &f->cty, q + 2, 0);
	stage_push(f, FEED(CTY), CTY, &e, 0, &e, q + 2, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(CTY)), 0);
	chain_free(&c);
	chain_free(&e);
}

/* ... and to HJ_UNENROLLED_MAX_BYTES: the bytes already held count. */
static void test_unenrolled_quota_bytes(void **state)
{
	fx *f = *state;
	chain c;
	char old_hex[41], new_hex[41];
	chain_make_padded(&c, STRANGER, &f->other, 4, 0, 700000); /* ~350 KiB each, deflated */
	size_t two = c.len[0] + c.len[1], three = two + c.len[2];
	assert_true(two <= HJ_UNENROLLED_MAX_BYTES && three > HJ_UNENROLLED_MAX_BYTES);
	stage_push(f, FEED(STRANGER), STRANGER, &c, 0, &c, 2, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(STRANGER)), 0);
	assert_int_equal(hj_gitrepo_ref_delete(f->repo, NEXT), 0);
	stage_push(f, FEED(STRANGER), STRANGER, &c, 2, &c, 3, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, FEED(STRANGER)), HJ_EPERM);
	assert_non_null(strstr(hj_error_last(), "KiB"));
	chain_free(&c);
}

/* A node's own fork (refs/huiji/forks/<node>, sent by a restored copy's
 * sync): checked like its feed and signed by its enrolled key; a node
 * nobody enrolled has no fork kept. */
static void test_fork_ref(void **state)
{
	fx *f = *state;
	chain c, s;
	char old_hex[41], new_hex[41];
	chain_make(&c, CTY, &f->cty, 3, 1);
	stage_push(f, "refs/huiji/forks/" CTY, CTY, &c, 0, &c, 3, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, "refs/huiji/forks/" CTY), 0);
	assert_int_equal(hj_gitrepo_ref_delete(f->repo, NEXT), 0);
	chain_make(&s, STRANGER, &f->other, 1, 0);
	stage_push(f, "refs/huiji/forks/" STRANGER, STRANGER, &s, 0, &s, 1, old_hex, new_hex);
	assert_int_equal(hj_hook_check(f->hub, f->repo, old_hex, new_hex, "refs/huiji/forks/" STRANGER), HJ_EPERM);
	assert_non_null(strstr(hj_error_last(), "not enrolled"));
	chain_free(&c);
	chain_free(&s);
}

static void test_malformed_ids(void **state)
{
	fx *f = *state;
	assert_int_equal(hj_hook_check(f->hub, f->repo, "xyz", "0000000000000000000000000000000000000001", FEED(CTY)),
			 HJ_EINVALID);
	/* A new id that names nothing in the repository. */
	assert_int_not_equal(hj_hook_check(f->hub, f->repo, "0000000000000000000000000000000000000000",
					   "1234567890123456789012345678901234567890", FEED(CTY)),
			     0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepts_fast_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accepts_first_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_non_fast_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_other_namespaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_another_nodes_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_bad_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_tampered_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_enrolment_lookup_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unenrolled_shape_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unenrolled_quota_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unenrolled_quota_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_ids, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
