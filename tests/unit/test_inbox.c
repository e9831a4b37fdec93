/*
 * test_inbox.c — what the hub delivers to each node (sync/inbox.c,
 * node/deliver.c) and what a county takes from its inbox (sync/follow.c).
 *
 * Real nodes, repositories, signatures and the real sequencer; the county
 * is given exactly what hj_sync fetches (the hub feed, its own sequenced
 * history, its inbox: tests/unit/support.c ut_fetch). Proves: a county
 * holds none of another subtree's change sets, in its registry or its
 * replica, and still equals the hub on every row it holds; a city node is
 * given its counties' change sets; an op on the org tree reaches every
 * node; the hub's inbox refs are rebuilt from its registry when a crash
 * left them behind; an inbox behind the hub feed, or a delivery that is
 * not what the entry signed for, is refused with nothing followed, and the
 * next sync with the real inbox follows, as is an inbox rewritten below
 * what the node took; a node enrolled after its union had history is
 * given it, at its place in the hub order.
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
#include "inbox.h"
#include "outbox.h"
#include "sequencer.h"
#include "sync.h"
#include "support.h"

#define OK UT_OK

typedef struct world {
	ut_world *w;
	hj_node *xn; /* a node for the city qh-xn, above cz */
} world;

static int setup(void **state)
{
	world *v = calloc(1, sizeof *v);
	assert_non_null(v);
	v->w = ut_world_new(1);
	v->xn = ut_county(v->w->dir, "xn", "qh-xn", v->w->hub);
	ut_enroll(v->w->hub, v->xn);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	world *v = *state;
	hj_node_close(v->xn);
	int rc = ut_world_free(v->w);
	free(v);
	return rc;
}

static int64_t followed_of(const hj_node *n, const char *author)
{
	return ut_int(n->db, "SELECT count(*) FROM followed WHERE node = ?1", author);
}

/* The county's replica holds a ref named `ref`? */
static int has_ref(const hj_node *n, const char *ref)
{
	hj_gitrepo *r = NULL;
	git_oid oid;
	OK(hj_node_repo_open(&r, n));
	int rc = hj_gitrepo_ref_get(&oid, r, ref);
	hj_gitrepo_close(r);
	assert_true(rc == 0 || rc == HJ_ENOTFOUND);
	return rc == 0;
}

static void test_each_node_holds_its_subtree(void **state)
{
	world *v = *state;
	ut_world *w = v->w;
	hj_sync_report rep;
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 1), NULL, 0);
	ut_must(w->hd, ut_apply_op(w->hd, NULL, 2), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	assert_int_equal(ut_sequence(w->hub, w->hd), 1);
	OK(ut_follow(w->cz, w->hub, &rep));
	OK(ut_follow(w->hd, w->hub, &rep));
	OK(ut_follow(v->xn, w->hub, &rep));

	/* Each county: its own, none of the other's, in the registry and the
	 * replica; the city: its county's, not the other city's. */
	assert_int_equal(followed_of(w->cz, "hd"), 0);
	assert_int_equal(followed_of(w->hd, "cz"), 0);
	assert_int_equal(followed_of(v->xn, "cz"), 1);
	assert_int_equal(followed_of(v->xn, "hd"), 0);
	assert_false(has_ref(w->cz, "refs/huiji/incoming/feeds/hd"));
	assert_false(has_ref(w->hd, "refs/huiji/incoming/feeds/cz"));
	assert_int_equal(ut_int(w->cz->db, "SELECT count(*) FROM person", NULL), 1);
	assert_int_equal(ut_int(v->xn->db, "SELECT count(*) FROM person", NULL), 1);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM inbox WHERE node = 'xn' AND src_node = 'cz'", NULL),
			 1);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM inbox WHERE node IN ('cz', 'hd')", NULL), 0);
	/* What each holds is what the hub holds for it, and a re-fold from
	 * nothing gives the same. */
	hj_replay_stats st;
	OK(ut_rebuild_compare(w->cz, &st));
	OK(ut_rebuild_compare(v->xn, &st));
	assert_int_equal(ut_int(v->xn->db, "SELECT count(*) FROM membership WHERE union_id = 'qh-xn-cz'", NULL),
			 ut_int(w->hub->db, "SELECT count(*) FROM membership WHERE union_id = 'qh-xn-cz'", NULL));
}

static void test_org_ops_reach_every_node(void **state)
{
	world *v = *state;
	ut_world *w = v->w;
	hj_sync_report rep;
	OK(ut_follow(v->xn, w->hub, &rep)); /* the tree it hangs the union on */
	ut_must(v->xn, ut_op("org.create", "id", "qh-xn-park", "name", "物流园工会", "kind", "park", "parent", "qh-xn",
			     NULL), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, v->xn), 1);
	OK(ut_follow(w->hd, w->hub, &rep));
	OK(ut_follow(w->cz, w->hub, &rep));
	assert_int_equal(followed_of(w->hd, "xn"), 1);
	assert_int_equal(ut_int(w->hd->db, "SELECT count(*) FROM org WHERE id = 'qh-xn-park'", NULL), 1);
	assert_int_equal(ut_int(w->hd->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'inbox_n'", NULL), 1);
	assert_true(has_ref(w->hd, "refs/huiji/incoming/inbox/hd"));
}

/* Delete the hub's inbox refs, as a crash after the round's COMMIT and
 * before they were written leaves them: the next pass writes them again. */
static void test_hub_repairs_its_inboxes(void **state)
{
	world *v = *state;
	ut_world *w = v->w;
	hj_sync_report rep;
	hj_seq_report srep;
	hj_gitrepo *r = NULL;
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 3), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	OK(hj_node_repo_open(&r, w->hub));
	OK(hj_gitrepo_ref_delete(r, "refs/huiji/inbox/xn"));
	OK(hj_hub_sequence(w->hub, r, &srep));
	hj_gitrepo_close(r);
	assert_int_equal(srep.change_sets, 0);
	OK(ut_follow(v->xn, w->hub, &rep));
	assert_int_equal(followed_of(v->xn, "cz"), 1);
}

/* An inbox behind the hub feed (fetched between the hub's writes, or cut
 * short): refused, nothing followed; then the whole inbox follows. */
static void test_inbox_behind_is_refused(void **state)
{
	world *v = *state;
	ut_world *w = v->w;
	hj_sync_report rep;
	hj_gitrepo *r = NULL;
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 4), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	ut_fetch(v->xn, w->hub);
	OK(hj_node_repo_open(&r, v->xn));
	OK(hj_gitrepo_ref_delete(r, "refs/huiji/incoming/inbox/xn"));
	int64_t before = ut_int(v->xn->db, "SELECT count(*) FROM followed", NULL);
	memset(&rep, 0, sizeof rep);
	assert_int_equal(hj_sync_follow(v->xn, r, &rep), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "inbox at the hub holds 0 change sets, its entries say 1"));
	hj_gitrepo_close(r);
	assert_int_equal(ut_int(v->xn->db, "SELECT count(*) FROM followed", NULL), before);
	OK(ut_follow(v->xn, w->hub, &rep));
	assert_int_equal(followed_of(v->xn, "cz"), 1);
}

/* A delivery that is not the change set the entry signed for (here hd's,
 * which the hub never delivered to xn) is refused. */
static void test_foreign_delivery_is_refused(void **state)
{
	world *v = *state;
	ut_world *w = v->w;
	hj_sync_report rep;
	hj_gitrepo *r = NULL, *hd = NULL;
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 5), NULL, 0);
	ut_must(w->hd, ut_apply_op(w->hd, NULL, 6), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	assert_int_equal(ut_sequence(w->hub, w->hd), 1);
	ut_fetch(v->xn, w->hub);
	OK(hj_node_repo_open(&r, v->xn));
	OK(hj_node_repo_open(&hd, w->hd));
	OK(hj_gitrepo_ref_delete(r, "refs/huiji/incoming/inbox/xn"));
	size_t len = 0;
	uint8_t *cs = ut_changeset(w->hd, 1, &len);
	hj_feed_item it = {cs, len, 1, 1};
	OK(hj_gitfeed_append(r, "refs/huiji/incoming/inbox/xn", "inbox:xn", &it, 1));
	memset(&rep, 0, sizeof rep);
	assert_int_equal(hj_sync_follow(v->xn, r, &rep), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "inbox delivery 1 is not a change set the hub sequenced"));
	assert_int_equal(followed_of(v->xn, "hd"), 0);
	OK(hj_gitrepo_ref_delete(r, "refs/huiji/incoming/inbox/xn"));
	hj_gitrepo_close(r);
	hj_gitrepo_close(hd);
	free(cs);
	OK(ut_follow(v->xn, w->hub, &rep));
	assert_int_equal(followed_of(v->xn, "cz"), 1);
	assert_int_equal(followed_of(v->xn, "hd"), 0);
}

/* An inbox whose deliveries below what the node took were replaced (the
 * chain no longer passes through the commit it remembered) is refused,
 * and only what is new is read otherwise. */
static void test_rewritten_inbox_is_refused(void **state)
{
	world *v = *state;
	ut_world *w = v->w;
	hj_sync_report rep;
	hj_gitrepo *r = NULL;
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 10), NULL, 0);
	ut_must(w->hd, ut_apply_op(w->hd, NULL, 11), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	assert_int_equal(ut_sequence(w->hub, w->hd), 1);
	OK(ut_follow(v->xn, w->hub, &rep));
	char *base = ut_text(v->xn->db, "SELECT value FROM meta WHERE key = 'inbox_commit'", NULL);
	assert_int_equal(strncmp(base, "1 ", 2), 0); /* delivery 1 and its commit */
	free(base);
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 12), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	ut_fetch(v->xn, w->hub);
	/* The same count, another history: hd's change set as delivery 1. */
	OK(hj_node_repo_open(&r, v->xn));
	OK(hj_gitrepo_ref_delete(r, "refs/huiji/incoming/inbox/xn"));
	size_t l1 = 0, l2 = 0;
	uint8_t *a = ut_changeset(w->hd, 1, &l1), *b = ut_changeset(w->cz, 2, &l2);
	hj_feed_item it[2] = {{a, l1, 1, 1}, {b, l2, 2, 2}};
	OK(hj_gitfeed_append(r, "refs/huiji/incoming/inbox/xn", "inbox:xn", it, 2));
	memset(&rep, 0, sizeof rep);
	assert_int_equal(hj_sync_follow(v->xn, r, &rep), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "the hub rewrote this node's inbox below delivery 1"));
	OK(hj_gitrepo_ref_delete(r, "refs/huiji/incoming/inbox/xn"));
	hj_gitrepo_close(r);
	free(a);
	free(b);
	OK(ut_follow(v->xn, w->hub, &rep));
	assert_int_equal(followed_of(v->xn, "cz"), 2);
}

/* A node enrolled after its union had history is given that history (its
 * backfill), in hub order: here a second node of 城中区, one that never
 * synced and one that followed the hub before it was enrolled (its
 * backfill reaches below what it had followed: a rebuild). */
static void test_late_node_is_backfilled(void **state)
{
	world *v = *state;
	ut_world *w = v->w;
	hj_sync_report rep;
	hj_replay_stats st;
	char mid[UT_ID_SZ], idno[19];
	ut_person_id(idno, 7);
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 7), mid, sizeof mid);
	ut_must(w->hd, ut_apply_op(w->hd, NULL, 8), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	assert_int_equal(ut_sequence(w->hub, w->hd), 1);
	hj_node *early = ut_county(w->dir, "cz3", "qh-xn-cz", w->hub);
	OK(ut_follow(early, w->hub, &rep)); /* not enrolled yet: the tree only */
	assert_int_equal(followed_of(early, "cz"), 0);
	ut_must(w->cz, ut_op("member.approve", "member", mid, "on", "2024-03-02", NULL), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);

	hj_node *late = ut_county(w->dir, "cz2", "qh-xn-cz", w->hub);
	ut_enroll(w->hub, late);
	ut_enroll(w->hub, early);
	assert_int_equal(ut_sequence(w->hub, NULL), 0); /* an entry that only begins inboxes */
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM inbox WHERE node = 'cz2' AND src_node = 'cz'", NULL),
			 2);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM inbox WHERE node = 'cz2' AND src_node = 'hd'", NULL),
			 0);
	for (int i = 0; i < 2; i++) {
		hj_node *n = i ? early : late;
		memset(&rep, 0, sizeof rep);
		OK(ut_follow(n, w->hub, &rep));
		assert_int_equal(followed_of(n, "cz"), 2);
		assert_int_equal(followed_of(n, "hd"), 0);
		assert_int_equal(rep.rebuilt, i); /* the early one folded below what it had */
		assert_int_equal(ut_int(n->db, "SELECT count(*) FROM membership WHERE status = 'active'", NULL), 1);
		OK(ut_rebuild_compare(n, &st));
		/* cz sealed her before either was enrolled: the hub re-wrapped
		 * the key for each (sync/wraps.c), so each reads her. */
		assert_int_equal(ut_int(n->db, "SELECT count(*) FROM person WHERE id_number = ?1", idno), 1);
		assert_int_equal(ut_int(n->db, "SELECT count(*) FROM seal_wrap", NULL), 1);
	}
	/* And from now on both are given cz's work as it is sequenced, cz
	 * still not knowing them (it has not synced): re-wrapped too. */
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 9), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	OK(ut_follow(late, w->hub, &rep));
	assert_int_equal(followed_of(late, "cz"), 3);
	ut_person_id(idno, 9);
	assert_int_equal(ut_int(late->db, "SELECT count(*) FROM person WHERE id_number = ?1", idno), 1);
	/* A wrap that does not open (here: the hub's wrap of another seal
	 * under this one's name) is passed over, never believed: the row is
	 * rebuilt the same, the good wrap opening it. */
	OK(hj_db_exec(late->db, "INSERT INTO seal_wrap(seal, wrap) SELECT p.seal, w.wrap FROM person p, seal_wrap w "
				"WHERE w.seal <> p.seal"));
	OK(ut_rebuild_compare(late, &st));
	assert_int_equal(ut_int(late->db, "SELECT count(*) FROM person WHERE name = ''", NULL), 0);
	hj_node_close(late);
	hj_node_close(early);
}

/* The wraps ref is unsigned (sync/wraps.h): items that are not wraps —
 * malformed, oversized — are passed over and counted, and the follow
 * goes on with every verdict as it was. */
static void test_bad_wraps_are_passed_over(void **state)
{
	world *v = *state;
	ut_world *w = v->w;
	hj_sync_report rep;
	hj_gitrepo *r = NULL;
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 30), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	size_t big = (512u << 10) + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, ' ', big);
	huge[0] = '[';
	huge[big - 1] = ']';
	const char *bad = "[[\"zz\",\"00\"]]";
	uint64_t tip = 0;
	OK(hj_node_repo_open(&r, w->hub));
	OK(hj_gitfeed_tip(r, "refs/huiji/wraps/xn", &tip, NULL));
	assert_int_equal(tip, 1); /* cz did not know xn: the hub re-wrapped its seal */
	hj_feed_item items[] = {{(const uint8_t *)bad, strlen(bad), 2, 0}, {(const uint8_t *)huge, big, 3, 0}};
	OK(hj_gitfeed_append(r, "refs/huiji/wraps/xn", "wraps:xn", items, 2));
	hj_gitrepo_close(r);
	free(huge);
	OK(ut_follow(v->xn, w->hub, &rep));
	assert_int_equal(rep.wraps_refused, 2);
	assert_int_equal(ut_int(v->xn->db, "SELECT count(*) FROM seal_wrap", NULL), 1); /* the hub's own */
	assert_int_equal(followed_of(v->xn, "cz"), 1);
	assert_int_equal(ut_int(v->xn->db, "SELECT count(*) FROM person WHERE name <> ''", NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_node_holds_its_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_org_ops_reach_every_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_repairs_its_inboxes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbox_behind_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_delivery_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewritten_inbox_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_node_is_backfilled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_wraps_are_passed_over, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
