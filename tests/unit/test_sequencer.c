/*
 * test_sequencer.c — cmocka tests for the hub sequencer (sync/sequencer.c)
 * and the quarantine it keeps (sync/quarantine.c), in-process.
 *
 * Every test builds a real province in a temporary directory: a hub node
 * and county nodes made through the library (as `huiji hub init`, `huiji
 * init` and `huiji member apply` make them), their change sets signed and
 * folded at the county, their feeds carried into the hub's bare
 * repository as the git commits a push delivers. Forged input (a change
 * set signed by a key nobody enrolled, a rewritten history, a rewound
 * ref) is made from the same parts. Then hj_hub_sequence runs and the
 * test reads what it signed: the sequence entry (decoded by hub_entry),
 * the followed table, the refs, the quarantine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <strings.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "feed.h"
#include "followed.h"
#include "hook.h"
#include "hub_entry.h"
#include "outbox.h"
#include "projection.h"
#include "quarantine.h"
#include "sequencer.h"
#include "rules.h"
#include "support.h"
#include "sync.h"

#define HUB "qh-hub"
#define CB "xn-cb"
#define CZ "xn-cz"

typedef struct province {
	char *dir;
	hj_node *hub;
	hj_gitrepo *repo; /* the hub's bare repository */
	hj_node *cb, *cz;
} province;

#define OK UT_OK

/* ---- building a province (tests/unit/support.c) ---- */

static hj_json *org_op(const char *id, const char *kind, const char *parent, const char *region)
{
	return ut_op("org.create", "id", id, "name", "测试工会", "kind", kind, "parent", parent, "region", region, NULL);
}

/* A county applies for fake person k (one change set). */
static void county_apply(hj_node *n, int k)
{
	ut_must(n, ut_apply_op(n, NULL, k), NULL, 0);
}

/* Append one envelope to `ref` in `repo` as the commit a push carries
 * (for what a correct county never pushes: forgeries, rewrites). */
static void git_append(hj_gitrepo *repo, const char *ref, const char *node, const uint8_t *bytes, size_t len)
{
	hj_envelope e;
	OK(hj_envelope_decode(&e, bytes, len));
	hj_feed_item it = {bytes, len, e.seq, e.created_at};
	hj_envelope_free(&e);
	OK(hj_gitfeed_append(repo, ref, node, &it, 1));
}

static uint64_t git_tip(hj_gitrepo *repo, const char *ref, git_oid *oid)
{
	uint64_t seq = 0;
	git_oid o;
	OK(hj_gitfeed_tip(repo, ref, &seq, oid ? oid : &o));
	return seq;
}

/* The county pushes what the hub's copy of its feed lacks. */
static void push(province *p, const hj_node *n)
{
	ut_push(n, p->hub);
}

/* The county fetches the hub feed and what the hub sequenced of every
 * county feed (refs/huiji/sequenced/ → incoming/feeds/), and follows: the
 * rebase of sync. */
static void follow(province *p, hj_node *n)
{
	hj_sync_report rep;
	OK(ut_follow(n, p->hub, &rep));
}

/* Hub qh-hub (province qh), counties xn-cb and xn-cz enrolled, each having
 * followed the hub once (org tree, enrolments). */
static int setup(void **state)
{
	province *p = calloc(1, sizeof *p);
	assert_non_null(p);
	p->dir = ut_tmpdir();
	p->hub = ut_hub(p->dir, HUB, "qh", "青海省总工会");
	OK(hj_hub_repo_setup(p->hub, NULL));
	OK(hj_node_repo_open(&p->repo, p->hub));
	p->cb = ut_county(p->dir, CB, "qh-xn-cb", p->hub);
	p->cz = ut_county(p->dir, CZ, "qh-xn-cz", p->hub);
	hj_json *orgs[5] = {org_op("qh-xn", "city", "qh", "6301"), org_op("qh-xn-cb", "county", "qh-xn", "630104"),
			    org_op("qh-xn-cz", "county", "qh-xn", "630103"),
			    ut_enroll_op(CB, p->cb->pk, "qh-xn-cb", "union"),
			    ut_enroll_op(CZ, p->cz->pk, "qh-xn-cz", "union")};
	ut_commit(p->hub, orgs, 5, NULL);
	ut_flush(p->hub);
	follow(p, p->cb);
	follow(p, p->cz);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	province *p = *state;
	hj_gitrepo_close(p->repo);
	hj_node_close(p->hub);
	hj_node_close(p->cb);
	hj_node_close(p->cz);
	assert_int_equal(ut_rmtree(p->dir), 0);
	free(p->dir);
	free(p);
	return 0;
}

/* ---- reading what the hub signed ---- */

static void sequence(province *p, hj_seq_report *rep)
{
	OK(hj_hub_sequence(p->hub, p->repo, rep));
}

static uint64_t hub_last(province *p)
{
	uint64_t seq;
	uint8_t h[32];
	OK(hj_feed_last(p->hub->db, &seq, h));
	return seq;
}

/* The hub's last change set, decoded as a sequence entry. */
static void last_entry(province *p, hj_hub_entry *out)
{
	size_t len;
	uint8_t *bytes = ut_changeset(p->hub, hub_last(p), &len);
	hj_envelope e;
	OK(hj_envelope_verify(bytes, len, p->hub->pk));
	OK(hj_envelope_decode(&e, bytes, len));
	OK(hj_hub_entry_parse(out, (const char *)e.payload, e.payload_len));
	hj_envelope_free(&e);
	free(bytes);
}

static void assert_hash_of(const uint8_t hash[32], const hj_node *n, uint64_t seq)
{
	size_t len;
	uint8_t h[32], *bytes = ut_changeset(n, seq, &len);
	hj_hash32(h, bytes, len);
	assert_memory_equal(hash, h, 32);
	free(bytes);
}

typedef struct qrows {
	int n;
	char reason[32], detail[300], commit[64], resolved[32];
	int64_t seq, evidence;
	char hash[65];
} qrows;

static int keep_row(void *ctx, const hj_quarantine_row *r)
{
	qrows *q = ctx;
	q->n++;
	q->seq = r->seq;
	q->evidence = r->evidence_bytes;
	snprintf(q->reason, sizeof q->reason, "%s", r->reason);
	snprintf(q->detail, sizeof q->detail, "%s", r->detail);
	snprintf(q->commit, sizeof q->commit, "%s", r->commit);
	snprintf(q->hash, sizeof q->hash, "%s", r->hash);
	snprintf(q->resolved, sizeof q->resolved, "%s", r->resolved_at ? r->resolved_at : "");
	return 0;
}

static qrows quarantined(province *p, int all)
{
	qrows q;
	memset(&q, 0, sizeof q);
	OK(hj_quarantine_list(p->hub->db, all, keep_row, &q));
	return q;
}

static void assert_idle(province *p)
{
	hj_seq_report rep;
	uint64_t before = hub_last(p);
	sequence(p, &rep);
	assert_int_equal(rep.entries, 0);
	assert_int_equal(rep.change_sets, 0);
	assert_int_equal(rep.quarantined, 0);
	assert_int_equal(hub_last(p), before);
}

/* ---- the tests ---- */

/* Nodes by id, each feed in seq order; the state digest is the hub's;
 * refs/huiji/sequenced/<node> ends where the entry does; a second round
 * writes nothing, and the next entry holds only what is new. */
static void test_in_order(void **state)
{
	province *p = *state;
	hj_seq_report rep;
	hj_hub_entry e;
	uint8_t digest[32];
	git_oid tip, seqd;
	for (int k = 0; k < 3; k++)
		county_apply(p->cz, k);
	county_apply(p->cb, 10);
	push(p, p->cz);
	push(p, p->cb);
	sequence(p, &rep);
	assert_int_equal(rep.entries, 1);
	assert_int_equal(rep.change_sets, 4);
	assert_int_equal(rep.ops, 4);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(rep.quarantined, 0);
	last_entry(p, &e);
	assert_int_equal(e.ninclude, 4);
	assert_string_equal(e.include[0].node, CB);
	assert_int_equal(e.include[0].seq, 1);
	assert_hash_of(e.include[0].hash, p->cb, 1);
	for (size_t i = 1; i < 4; i++) {
		assert_string_equal(e.include[i].node, CZ);
		assert_int_equal(e.include[i].seq, i);
		assert_hash_of(e.include[i].hash, p->cz, i);
		assert_int_equal(hj_hub_verdicts_rejected(e.include[i].verdicts), 0);
		assert_null(e.include[i].verdicts); /* v2: every op applied is said by leaving them out */
	}
	OK(hj_projection_digest_for(p->hub->db, HJ_RULES_VERSION, digest));
	assert_memory_equal(e.state, digest, 32);
	hj_hub_entry_free(&e);
	git_tip(p->repo, "refs/huiji/feeds/" CZ, &tip);
	OK(git_reference_name_to_id(&seqd, hj_gitrepo_git(p->repo), "refs/huiji/sequenced/" CZ));
	assert_true(git_oid_equal(&tip, &seqd));
	int64_t k = 0;
	OK(hj_db_get_int(p->hub->db, "SELECT count(*) FROM followed WHERE node = :n", ":n", CZ, &k));
	assert_int_equal(k, 3);

	assert_idle(p);
	county_apply(p->cz, 3);
	push(p, p->cz);
	sequence(p, &rep);
	assert_int_equal(rep.entries, 1);
	assert_int_equal(rep.change_sets, 1);
	last_entry(p, &e);
	assert_int_equal(e.ninclude, 1);
	assert_string_equal(e.include[0].node, CZ);
	assert_int_equal(e.include[0].seq, 4);
	hj_hub_entry_free(&e);
	assert_idle(p);
	/* The county follows: its registry is the hub's order, its own change
	 * sets no longer pending. */
	follow(p, p->cz);
	int64_t pending = -1;
	OK(hj_pending_count(&pending, p->cz));
	assert_int_equal(pending, 0);
}

/* The same person applies at two counties that cannot know of each other:
 * the first in hub order wins, the second is rejected duplicate_member,
 * and the county learns it from the entry. */
static void test_duplicate_member(void **state)
{
	province *p = *state;
	hj_seq_report rep;
	hj_hub_entry e;
	const char *reason = NULL, *detail = NULL;
	county_apply(p->cb, 42);
	county_apply(p->cz, 42);
	push(p, p->cz);
	push(p, p->cb);
	sequence(p, &rep);
	assert_int_equal(rep.change_sets, 2);
	assert_int_equal(rep.rejected, 1);
	last_entry(p, &e);
	assert_int_equal(e.ninclude, 2);
	assert_string_equal(e.include[0].node, CB);
	assert_int_equal(hj_hub_verdict_at(e.include[0].verdicts, 0, &reason, &detail), 1);
	assert_string_equal(e.include[1].node, CZ);
	assert_int_equal(hj_hub_verdict_at(e.include[1].verdicts, 0, &reason, &detail), 0);
	assert_string_equal(reason, "duplicate_member");
	assert_string_equal(detail, "qh-xn-cb"); /* v2: the holding union, no sentence */
	char idno[19];
	ut_person_id(idno, 42);
	assert_null(strstr(detail, idno)); /* no ID number in a verdict */
	assert_null(strstr(detail, "630102"));
	hj_hub_entry_free(&e);
	int64_t k = 0;
	OK(hj_db_get_int(p->hub->db, "SELECT count(*) FROM membership WHERE union_id = :u", ":u", "qh-xn-cz", &k));
	assert_int_equal(k, 0);
	OK(hj_db_get_int(p->hub->db, "SELECT count(*) FROM membership WHERE union_id = :u", ":u", "qh-xn-cb", &k));
	assert_int_equal(k, 1);
	/* The hub's followed row carries the same verdict text. */
	char *vt = NULL;
	OK(hj_db_get_text(&vt, p->hub->db, "SELECT verdicts FROM followed WHERE node = :n", ":n", CZ));
	assert_non_null(vt);
	assert_string_equal(vt, "[[0,\"duplicate_member\",\"qh-xn-cb\"]]");
	free(vt);
	/* The county follows and drops its own copy of the application. */
	follow(p, p->cz);
	OK(hj_db_get_int(p->cz->db, "SELECT count(*) FROM membership WHERE union_id = :u", ":u", "qh-xn-cz", &k));
	assert_int_equal(k, 0);
	assert_idle(p);
}

/* A change set signed by a key nobody enrolled: the good ones before it
 * are included, it is quarantined with its bytes as evidence, the feed
 * waits; the operator's reset puts the feed back to what was sequenced
 * and the county's real next change set flows again. */
static void test_bad_signature(void **state)
{
	province *p = *state;
	hj_seq_report rep;
	hj_buf forged = HJ_BUF_INIT;
	uint8_t opk[32], osk[64], prev[32], h[32];
	char hex[65];
	size_t len;
	county_apply(p->cz, 1);
	county_apply(p->cz, 2);
	push(p, p->cz);
	uint8_t *two = ut_changeset(p->cz, 2, &len);
	hj_hash32(prev, two, len);
	free(two);
	crypto_sign_keypair(opk, osk);
	const char *payload = "{\"v\":1,\"ops\":[]}";
	OK(hj_envelope_encode(&forged, CZ, 3, prev, 1717200000000, payload, strlen(payload), opk, osk));
	git_append(p->repo, "refs/huiji/feeds/" CZ, CZ, forged.data, forged.len);
	git_oid forged_commit;
	git_tip(p->repo, "refs/huiji/feeds/" CZ, &forged_commit);

	sequence(p, &rep);
	assert_int_equal(rep.entries, 1);
	assert_int_equal(rep.change_sets, 2);
	assert_int_equal(rep.quarantined, 1);
	qrows q = quarantined(p, 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.seq, 3);
	assert_string_equal(q.reason, "bad_signature");
	assert_non_null(strstr(q.detail, "signed by key id"));
	assert_int_equal(q.evidence, (int64_t)forged.len);
	hj_hash32(h, forged.data, forged.len);
	hj_hex_encode(hex, h, 32);
	assert_int_equal(strcasecmp(q.hash, hex), 0);
	char oid[GIT_OID_HEXSZ + 1];
	git_oid_tostr(oid, sizeof oid, &forged_commit);
	assert_string_equal(q.commit, oid);
	int64_t open = 0;
	OK(hj_quarantine_open_count(&open, p->hub->db, CZ));
	assert_int_equal(open, 1);
	assert_idle(p); /* held back: nothing read, nothing re-recorded */

	/* The county's own seq 3 cannot reach the hub past the forgery. */
	county_apply(p->cz, 3);
	assert_int_equal(hj_gitfeed_append(p->repo, "refs/huiji/feeds/" CZ, CZ,
					   &(hj_feed_item){forged.data, forged.len, 3, 0}, 1),
			 HJ_ECONFLICT);

	int64_t resolved = -1;
	OK(hj_quarantine_reset(&resolved, p->hub, p->repo, CZ));
	assert_int_equal(resolved, 1);
	assert_int_equal(git_tip(p->repo, "refs/huiji/feeds/" CZ, NULL), 2);
	OK(hj_quarantine_open_count(&open, p->hub->db, CZ));
	assert_int_equal(open, 0);
	assert_int_equal(quarantined(p, 0).n, 0);
	q = quarantined(p, 1);
	assert_int_equal(q.n, 1); /* kept as evidence */
	assert_true(q.resolved[0] != '\0');
	push(p, p->cz);
	sequence(p, &rep);
	assert_int_equal(rep.change_sets, 1);
	assert_int_equal(rep.quarantined, 0);
	hj_hub_entry e;
	last_entry(p, &e);
	assert_int_equal(e.include[0].seq, 3);
	assert_hash_of(e.include[0].hash, p->cz, 3);
	hj_hub_entry_free(&e);
	assert_idle(p);
	assert_int_equal(hj_quarantine_reset(&resolved, p->hub, p->repo, "Not An Id"), HJ_EINVALID);
	hj_buf_free(&forged);
}

/* A node restored from an old copy signs a different seq 2: its feed no
 * longer passes through what the hub sequenced. The hub names seq 2 as a
 * fork and signs nothing for it; a rewound ref is named too. */
static void test_fork_and_rewind(void **state)
{
	province *p = *state;
	hj_seq_report rep;
	hj_buf other = HJ_BUF_INIT;
	uint8_t prev[32];
	size_t len;
	git_oid old_tip, new_tip;
	county_apply(p->cz, 1);
	county_apply(p->cz, 2);
	push(p, p->cz);
	sequence(p, &rep);
	assert_int_equal(rep.change_sets, 2);
	uint64_t entries_before = hub_last(p);

	/* The rewritten history: seq 1 as it was, a new seq 2 (the county's
	 * real key), forced onto the feed ref. */
	uint8_t *one = ut_changeset(p->cz, 1, &len);
	hj_hash32(prev, one, len);
	git_append(p->repo, "refs/huiji/scratch/" CZ, CZ, one, len);
	free(one);
	const char *payload = "{\"v\":1,\"ops\":[]}";
	OK(hj_envelope_encode(&other, CZ, 2, prev, 1717200000000, payload, strlen(payload), p->cz->pk, p->cz->sk));
	git_append(p->repo, "refs/huiji/scratch/" CZ, CZ, other.data, other.len);
	git_tip(p->repo, "refs/huiji/feeds/" CZ, &old_tip);
	git_tip(p->repo, "refs/huiji/scratch/" CZ, &new_tip);
	OK(hj_gitref_cas(p->repo, "refs/huiji/feeds/" CZ, &new_tip, &old_tip, "test: rewritten"));

	sequence(p, &rep);
	assert_int_equal(rep.entries, 0);
	assert_int_equal(rep.quarantined, 1);
	assert_int_equal(hub_last(p), entries_before);
	qrows q = quarantined(p, 0);
	assert_int_equal(q.n, 1);
	assert_string_equal(q.reason, "fork");
	assert_int_equal(q.seq, 2);
	assert_non_null(strstr(q.detail, "seq 2 differs from the change set the hub sequenced"));
	assert_int_equal(q.evidence, (int64_t)other.len);
	assert_idle(p);

	/* Resolved: back to the sequenced history, nothing new to include. */
	int64_t resolved = 0;
	OK(hj_quarantine_reset(&resolved, p->hub, p->repo, CZ));
	assert_int_equal(resolved, 1);
	git_oid now;
	git_tip(p->repo, "refs/huiji/feeds/" CZ, &now);
	assert_true(git_oid_equal(&now, &old_tip));
	assert_idle(p);

	/* A ref moved back below what was sequenced: "rewound" at the first
	 * seq it lost. */
	git_commit *c = NULL;
	assert_int_equal(git_commit_lookup(&c, hj_gitrepo_git(p->repo), &old_tip), 0);
	const git_oid *parent = git_commit_parent_id(c, 0);
	assert_non_null(parent);
	OK(hj_gitref_cas(p->repo, "refs/huiji/feeds/" CZ, parent, &old_tip, "test: rewound"));
	git_commit_free(c);
	sequence(p, &rep);
	assert_int_equal(rep.quarantined, 1);
	q = quarantined(p, 0);
	assert_int_equal(q.n, 1);
	assert_string_equal(q.reason, "rewound");
	assert_int_equal(q.seq, 2);
	assert_non_null(strstr(q.detail, "the hub included up to seq 2, the ref now ends at 1"));
	assert_true(q.evidence > 0); /* the tip it was rewound to (it used to keep nothing) */
	OK(hj_quarantine_reset(&resolved, p->hub, p->repo, CZ));
	assert_int_equal(git_tip(p->repo, "refs/huiji/feeds/" CZ, NULL), 2);
	assert_idle(p);
	hj_buf_free(&other);
}

/* A feed pushed before its node is enrolled waits, counted, and nothing
 * of it is read; a reset removes such a squatter's feed (nothing of it was
 * sequenced). */
static void test_waiting_and_squatter(void **state)
{
	province *p = *state;
	hj_seq_report rep;
	hj_buf env = HJ_BUF_INIT;
	uint8_t pk[32], sk[64], zero[32] = {0};
	const char *payload = "{\"v\":1,\"ops\":[]}";
	crypto_sign_keypair(pk, sk);
	OK(hj_envelope_encode(&env, "xn-ch", 1, zero, 1717200000000, payload, strlen(payload), pk, sk));
	git_append(p->repo, "refs/huiji/feeds/xn-ch", "xn-ch", env.data, env.len);
	sequence(p, &rep);
	assert_int_equal(rep.waiting, 1);
	assert_int_equal(rep.entries, 0);
	assert_int_equal(rep.quarantined, 0);
	int64_t k = -1;
	OK(hj_db_get_int(p->hub->db, "SELECT count(*) FROM followed WHERE node = :n", ":n", "xn-ch", &k));
	assert_int_equal(k, 0);
	int64_t resolved = -1;
	OK(hj_quarantine_reset(&resolved, p->hub, p->repo, "xn-ch"));
	assert_int_equal(resolved, 0);
	git_oid oid;
	assert_int_equal(git_reference_name_to_id(&oid, hj_gitrepo_git(p->repo), "refs/huiji/feeds/xn-ch"),
			 GIT_ENOTFOUND);
	assert_idle(p);
	hj_buf_free(&env);
}

/* A feed ref pointing at a commit huiji never writes (here: a plain git
 * commit): quarantined as malformed_commit naming that commit, nothing
 * folded. */
static void test_malformed_tip(void **state)
{
	province *p = *state;
	hj_seq_report rep;
	git_repository *g = hj_gitrepo_git(p->repo);
	git_oid blob, tree, commit;
	git_treebuilder *tb = NULL;
	git_tree *t = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	assert_int_equal(git_blob_create_from_buffer(&blob, g, "x", 1), 0);
	assert_int_equal(git_treebuilder_new(&tb, g, NULL), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, "changeset", &blob, GIT_FILEMODE_BLOB), 0);
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	assert_int_equal(git_tree_lookup(&t, g, &tree), 0);
	assert_int_equal(git_signature_new(&sig, "x", "x@example.org", 1717200000, 0), 0);
	assert_int_equal(git_commit_create(&commit, g, NULL, sig, sig, NULL, "not a change set\n", t, 0, NULL), 0);
	assert_int_equal(git_reference_create(&ref, g, "refs/huiji/feeds/" CZ, &commit, 0, "test"), 0);
	sequence(p, &rep);
	assert_int_equal(rep.entries, 0);
	assert_int_equal(rep.quarantined, 1);
	qrows q = quarantined(p, 0);
	assert_int_equal(q.n, 1);
	assert_string_equal(q.reason, "malformed_commit");
	assert_int_equal(q.seq, 1);
	char oid[GIT_OID_HEXSZ + 1];
	git_oid_tostr(oid, sizeof oid, &commit);
	assert_string_equal(q.commit, oid);
	assert_int_equal(q.evidence, 1); /* what the commit carries: its one-byte "changeset" blob */
	assert_idle(p);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(t);
	git_treebuilder_free(tb);
}

/* The hub repository's git never gcs on its own: a `git gc --auto` that
 * receive-pack starts after a county's push repacked away a pass's fresh
 * pack ("target OID ... doesn't exist") and locked its refs (pack-refs),
 * failing hub runs in the faults and convergence suites. Set up so; a hub
 * set up before is set so by its next pass. */
static void test_hub_repo_never_autogcs(void **state)
{
	province *p = *state;
	int v = -1;
	OK(hj_gitrepo_config_get_int(p->repo, "receive.autogc", &v));
	assert_int_equal(v, 0);
	OK(hj_gitrepo_config_get_int(p->repo, "gc.auto", &v));
	assert_int_equal(v, 0);
	OK(hj_gitrepo_config_set_bool(p->repo, "receive.autogc", 1));
	OK(hj_gitrepo_config_set_int(p->repo, "gc.auto", 6700));
	hj_seq_report rep;
	OK(hj_hub_sequence(p->hub, p->repo, &rep));
	OK(hj_gitrepo_config_get_int(p->repo, "receive.autogc", &v));
	assert_int_equal(v, 0);
	OK(hj_gitrepo_config_get_int(p->repo, "gc.auto", &v));
	assert_int_equal(v, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_and_rewind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiting_and_squatter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_tip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_repo_never_autogcs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
