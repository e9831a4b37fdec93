/*
 * test_audit_inbox.c — the auditor's check of the hub's inbox deliveries
 * (sync/audit_inbox.c): it derives them in its own re-fold and holds each
 * v3 entry's "inbox" counts and each refs/huiji/inbox/<node> to them.
 *
 * A real province (tests/unit/support.c) with a city node xn above the
 * county cz, the sequencer's real deliveries, an org op that reaches
 * everyone and a node enrolled late (its backfill). Proves: that province
 * audits clean with every delivery counted, and an inbox longer than the
 * last entry is no finding; an inbox the hub cut short (a delivery
 * withheld), one holding another node's change set, and an entry whose
 * counts are wrong, missing a node or naming one it gave nothing (each
 * re-signed with the hub's key, so only the counts are wrong) are each
 * named; a change set the re-fold cannot fold stops the derivation there,
 * said once and without false findings; the hub's re-wraps are held to
 * the deliveries: one withheld and one given to a node never delivered the
 * record are each named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "envelope.h"
#include "error.h"
#include "gitfeed.h"
#include "outbox.h"
#include "support.h"

#define OK UT_OK

typedef struct world {
	ut_world *w;
	hj_node *xn;  /* a node for the city qh-xn, above cz */
	hj_node *cz2; /* a second node of cz's union, enrolled late */
} world;

/* The hub's deliveries: A cz's application to xn; B hd's to no one; C
 * xn's org.create to cz and hd; D (an entry of its own) cz2's backfill,
 * A and C; E cz's second application to xn and cz2: 7 in all. */
#define DELIVERIES 7

static int setup(void **state)
{
	world *v = calloc(1, sizeof *v);
	hj_sync_report rep;
	assert_non_null(v);
	ut_world *w = v->w = ut_world_new(1);
	v->xn = ut_county(w->dir, "xn", "qh-xn", w->hub);
	ut_enroll(w->hub, v->xn);
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 1), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	ut_must(w->hd, ut_apply_op(w->hd, NULL, 2), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->hd), 1);
	OK(ut_follow(v->xn, w->hub, &rep)); /* the tree it hangs the union on */
	ut_must(v->xn, ut_op("org.create", "id", "qh-xn-park", "name", "物流园工会", "kind", "park", "parent", "qh-xn",
			     NULL), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, v->xn), 1);
	v->cz2 = ut_county(w->dir, "cz2", "qh-xn-cz", w->hub);
	ut_enroll(w->hub, v->cz2);
	assert_int_equal(ut_sequence(w->hub, NULL), 0); /* an entry that only begins cz2's inbox */
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 3), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	ut_flush(w->hub);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM inbox", NULL), DELIVERIES);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	world *v = *state;
	hj_node_close(v->xn);
	hj_node_close(v->cz2);
	int rc = ut_world_free(v->w);
	free(v);
	return rc;
}

/* Audit the hub's repository (its key pinned) into a new work dir. */
static void audit(world *v, hj_audit_report *rep)
{
	static int k;
	char work[512], key[65];
	char *git = hj_node_repo_path(v->w->hub);
	assert_non_null(git);
	snprintf(work, sizeof work, "%s/audit-%d.git", v->w->dir, k++);
	hj_hex_encode(key, v->w->hub->pk, 32);
	OK(hj_audit(rep, git, key, NULL, work, NULL));
	for (size_t i = 0; i < rep->nproblems; i++)
		fprintf(stderr, "  problem: %s\n", rep->problems[i]);
	free(git);
}

static int has_problem(const hj_audit_report *r, const char *needle)
{
	for (size_t i = 0; i < r->nproblems; i++)
		if (strstr(r->problems[i], needle))
			return 1;
	return 0;
}

static uint64_t last_seq(const hj_node *n)
{
	return (uint64_t)ut_int(n->db, "SELECT max(seq) FROM changelog", NULL);
}

/* Point `ref` of the hub's repository at its tip's parent, then append
 * `n` change sets (seq from where that leaves it) under `label`. */
static void rewrite_tail(world *v, const char *ref, const char *label, const hj_feed_item *it, size_t n)
{
	hj_gitrepo *r = NULL;
	git_oid tip, parent;
	uint64_t seq = 0;
	git_commit *c = NULL;
	OK(hj_node_repo_open(&r, v->w->hub));
	OK(hj_gitfeed_tip(r, ref, &seq, &tip));
	assert_true(seq >= 2);
	assert_int_equal(git_commit_lookup(&c, hj_gitrepo_git(r), &tip), 0);
	git_oid_cpy(&parent, git_commit_parent_id(c, 0));
	git_commit_free(c);
	OK(hj_gitrepo_ref_set(r, ref, &parent, "test: rewrite"));
	if (n)
		OK(hj_gitfeed_append(r, ref, label, it, n));
	hj_gitrepo_close(r);
}

static void test_clean_province_audits_clean(void **state)
{
	world *v = *state;
	hj_audit_report rep;
	audit(v, &rep);
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.deliveries, DELIVERIES);
	assert_int_equal(rep.inbox_unchecked_from, 0);
	hj_audit_report_free(&rep);

	/* An inbox ahead of the hub feed (written before the entry counting
	 * it, as every round does) is no finding. */
	hj_gitrepo *r = NULL;
	size_t len = 0;
	uint8_t *cs = ut_changeset(v->w->hd, last_seq(v->w->hd), &len);
	hj_feed_item it = {cs, len, 3, 1000};
	OK(hj_node_repo_open(&r, v->w->hub));
	OK(hj_gitfeed_append(r, "refs/huiji/inbox/xn", "inbox:xn", &it, 1));
	hj_gitrepo_close(r);
	free(cs);
	audit(v, &rep);
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.deliveries, DELIVERIES);
	hj_audit_report_free(&rep);
}

/* xn's inbox without its last delivery (cz's second application): the
 * hub withheld what the entry counts. */
static void test_withheld_delivery_is_found(void **state)
{
	world *v = *state;
	hj_audit_report rep;
	rewrite_tail(v, "refs/huiji/inbox/xn", "inbox:xn", NULL, 0);
	audit(v, &rep);
	assert_true(has_problem(&rep, "refs/huiji/inbox/xn holds 1 deliveries, the re-fold delivers 2 up to the "
				      "last hub entry: delivery 2 (cz seq "));
	assert_true(has_problem(&rep, ") withheld"));
	assert_int_equal(rep.nproblems, 1);
	hj_audit_report_free(&rep);
}

/* xn's second delivery replaced by hd's change set, which the hub never
 * gave xn (the count stays right: only the hash tells). */
static void test_foreign_delivery_is_found(void **state)
{
	world *v = *state;
	hj_audit_report rep;
	char want[80];
	size_t len = 0;
	uint64_t hd_seq = last_seq(v->w->hd);
	uint8_t *cs = ut_changeset(v->w->hd, hd_seq, &len);
	hj_feed_item it = {cs, len, 2, 1000};
	rewrite_tail(v, "refs/huiji/inbox/xn", "inbox:xn", &it, 1);
	free(cs);
	audit(v, &rep);
	snprintf(want, sizeof want, "refs/huiji/inbox/xn delivery 2 is hd seq %" PRIu64 ", but the re-fold delivers cz",
		 hd_seq);
	assert_true(has_problem(&rep, want));
	assert_int_equal(rep.nproblems, 1);
	hj_audit_report_free(&rep);
}

/* The re-wraps (sync/audit_wraps.c): cz2, enrolled late, was given A
 * (its backfill) and E, whose seals do not name it; the hub wrapped each
 * for it. Clean: each is checked. Its last wraps item dropped: withheld.
 * A wrap of cz2's given to hd, which was never delivered A or E: a leak. */
static void test_rewraps_are_held_to_the_deliveries(void **state)
{
	world *v = *state;
	hj_audit_report rep;
	int64_t items = ut_int(v->w->hub->db, "SELECT count(*) FROM rewrap WHERE node = 'cz2'", NULL);
	assert_true(items >= 2);
	audit(v, &rep);
	assert_int_equal(rep.nproblems, 0);
	assert_true(rep.wraps_checked >= 2);
	hj_audit_report_free(&rep);

	char *body = ut_text(v->w->hub->db, "SELECT body FROM rewrap WHERE node = 'cz2' ORDER BY n LIMIT 1", NULL);
	assert_non_null(body);
	hj_feed_item it = {(const uint8_t *)body, strlen(body), 1, 1000};
	hj_gitrepo *r = NULL;
	OK(hj_node_repo_open(&r, v->w->hub));
	OK(hj_gitfeed_append(r, "refs/huiji/wraps/hd", "wraps:hd", &it, 1));
	hj_gitrepo_close(r);
	free(body);
	rewrite_tail(v, "refs/huiji/wraps/cz2", "wraps:cz2", NULL, 0);
	audit(v, &rep);
	assert_true(has_problem(&rep, "refs/huiji/wraps/cz2: no wrap of seal "));
	assert_true(has_problem(&rep, "the hub withheld what opens a record it gave"));
	assert_true(has_problem(&rep, "refs/huiji/wraps/hd holds the key to seal "));
	assert_true(has_problem(&rep, "of no change set delivered to it"));
	hj_audit_report_free(&rep);
}

/* The hub's last entry (E) with its "inbox" text `from` replaced by
 * `to`, signed again with the hub's key at the same seq over the same
 * parent: a valid entry whose only fault is the counts. */
static void forge_last_entry(world *v, const char *from, const char *to)
{
	hj_node *hub = v->w->hub;
	uint64_t seq = last_seq(hub);
	size_t len = 0;
	uint8_t *cs = ut_changeset(hub, seq, &len);
	hj_envelope e;
	hj_buf payload = HJ_BUF_INIT, out = HJ_BUF_INIT;
	char ref[160];
	OK(hj_envelope_decode(&e, cs, len));
	const char *at = strstr((const char *)e.payload, from);
	assert_non_null(at);
	hj_buf_printf(&payload, "%.*s%s%s", (int)(at - (const char *)e.payload), (const char *)e.payload, to,
		      at + strlen(from));
	OK(payload.rc);
	OK(hj_envelope_encode(&out, hub->id, seq, e.prev, e.created_at, payload.data, payload.len, hub->pk, hub->sk));
	hj_feed_item it = {out.data, out.len, seq, e.created_at};
	snprintf(ref, sizeof ref, "refs/huiji/hub/%s", hub->id);
	rewrite_tail(v, ref, hub->id, &it, 1);
	hj_envelope_free(&e);
	hj_buf_free(&payload);
	hj_buf_free(&out);
	free(cs);
}

static void test_wrong_entry_counts_are_found(void **state)
{
	world *v = *state;
	hj_audit_report rep;
	char want[200];
	uint64_t entry = last_seq(v->w->hub);
	static const char real[] = "\"inbox\":[[\"cz2\",3],[\"xn\",2]]";
	static const struct {
		const char *to, *finding;
	} forged[] = {
		{"\"inbox\":[[\"cz2\",3],[\"xn\",3]]", "counts 3 change sets in the inbox of xn, the re-fold 2"},
		{"\"inbox\":[[\"xn\",2]]", "delivers nothing to cz2, but the re-fold delivers it 1 change sets in this "
					   "entry (its inbox then holds 3)"},
		{"\"inbox\":[[\"cz2\",3],[\"hd\",2],[\"xn\",2]]", "counts 2 change sets in the inbox of hd, but the re-fold "
								  "delivers it nothing in this entry"},
	};
	for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
		forge_last_entry(v, real, forged[i].to);
		audit(v, &rep);
		snprintf(want, sizeof want, "hub entry %" PRIu64 ": %s", entry, forged[i].finding);
		assert_true(has_problem(&rep, want));
		assert_int_equal(rep.nproblems, 1); /* the digest and every verdict still follow */
		hj_audit_report_free(&rep);
	}
}

/* cz's last change set (in entry E) with one byte changed in the
 * repository: the re-fold cannot fold it, so what the hub delivered from
 * E on is not derived — said once, with no finding about inboxes (what
 * was derived before E still matches). */
static void test_lost_change_set_stops_the_derivation(void **state)
{
	world *v = *state;
	hj_audit_report rep;
	char want[160];
	size_t len = 0;
	uint64_t seq = last_seq(v->w->cz), entry = last_seq(v->w->hub);
	uint8_t *cs = ut_changeset(v->w->cz, seq, &len);
	cs[len - 80] ^= 0x01; /* inside the payload, before the signature */
	hj_feed_item it = {cs, len, seq, 1000};
	rewrite_tail(v, "refs/huiji/feeds/cz", "cz", &it, 1);
	rewrite_tail(v, "refs/huiji/sequenced/cz", "cz", &it, 1);
	free(cs);
	audit(v, &rep);
	snprintf(want, sizeof want, "cz seq %" PRIu64 ": the bytes in the repository differ from what hub entry %" PRIu64,
		 seq, entry);
	assert_true(has_problem(&rep, want));
	assert_false(has_problem(&rep, "inbox"));
	assert_int_equal(rep.inbox_unchecked_from, entry);
	assert_int_equal(rep.deliveries, DELIVERIES - 2); /* all but E's two */
	hj_audit_report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_province_audits_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_withheld_delivery_is_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_delivery_is_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewraps_are_held_to_the_deliveries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_entry_counts_are_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_change_set_stops_the_derivation, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
