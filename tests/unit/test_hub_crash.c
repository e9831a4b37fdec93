/*
 * test_hub_crash.c — cmocka tests for a hub sequencer that crashed
 * (sync/sequencer.c, sync/seqref.c, node/killpoint.c): the next
 * hj_hub_sequence continues from the hub's registry, quarantines nothing
 * and leaves every ref where the registry says.
 *
 * The hub's SQLite registry is the one source of truth (`followed`: the
 * last seq and hash of each node sequenced; the change log: the hub's own
 * feed); the git refs that follow a round's COMMIT are repaired from it.
 * Each test builds a real province (ut_world: hub, counties cz and hd,
 * real repositories and signatures), then leaves the hub as a crash
 * would — a sequenced ref not written, rewound or gone, a stale ref lock
 * of a killed libgit2 write, the hub feed behind its change log — or
 * really crashes it: a forked child runs the sequencer armed with a named
 * kill point (hj_killpoint_arm) and dies by SIGKILL there. Then the
 * parent runs the real sequencer and the real county follow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <utime.h>
#include <unistd.h>

#include "error.h"
#include "feed.h"
#include "followed.h"
#include "killpoint.h"
#include "outbox.h"
#include "quarantine.h"
#include "sequencer.h"
#include "support.h"

#define OK UT_OK

static int setup(void **state)
{
	*state = ut_world_new(1);
	return 0;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

static hj_gitrepo *hub_repo(const ut_world *w)
{
	hj_gitrepo *r = NULL;
	OK(hj_node_repo_open(&r, w->hub));
	return r;
}

/* The commit of `node`'s change set `seq` in the hub's copy of its feed
 * (refs/huiji/feeds/<node>), found by stock parent links. */
static void feed_commit(git_oid *out, const ut_world *w, const char *node, uint64_t seq)
{
	char ref[128];
	uint64_t tipseq = 0;
	hj_gitrepo *r = hub_repo(w);
	snprintf(ref, sizeof ref, "refs/huiji/feeds/%s", node);
	OK(hj_gitfeed_tip(r, ref, &tipseq, out));
	assert_true(tipseq >= seq);
	for (; tipseq > seq; tipseq--) {
		git_commit *c = NULL;
		assert_int_equal(git_commit_lookup(&c, hj_gitrepo_git(r), out), 0);
		git_oid_cpy(out, git_commit_parent_id(c, 0));
		git_commit_free(c);
	}
	hj_gitrepo_close(r);
}

/* refs/huiji/sequenced/<node> of the hub: 0 (in *out) or HJ_ENOTFOUND. */
static int sequenced(git_oid *out, const ut_world *w, const char *node)
{
	char ref[128];
	hj_gitrepo *r = hub_repo(w);
	snprintf(ref, sizeof ref, "refs/huiji/sequenced/%s", node);
	int rc = hj_gitrepo_ref_get(out, r, ref);
	hj_gitrepo_close(r);
	return rc;
}

static void set_sequenced(const ut_world *w, const char *node, const git_oid *to)
{
	char ref[128];
	hj_gitrepo *r = hub_repo(w);
	snprintf(ref, sizeof ref, "refs/huiji/sequenced/%s", node);
	if (to)
		OK(hj_gitrepo_ref_set(r, ref, to, "test: a crash before this ref moved"));
	else
		OK(hj_gitrepo_ref_delete(r, ref));
	hj_gitrepo_close(r);
}

static char *repo_file(const ut_world *w, const char *rel)
{
	char *repo = hj_node_repo_path(w->hub), *p = malloc(4096);
	assert_non_null(repo);
	assert_non_null(p);
	snprintf(p, 4096, "%s/%s", repo, rel);
	free(repo);
	return p;
}

/* What a libgit2 ref write killed between creating its lock file and the
 * rename leaves behind. */
static void stale_lock(const ut_world *w, const char *rel)
{
	char *p = repo_file(w, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("0123456789012345678901234567890123456789\n", f);
	fclose(f);
	free(p);
}

static int exists(const ut_world *w, const char *rel)
{
	char *p = repo_file(w, rel);
	int e = access(p, F_OK) == 0;
	free(p);
	return e;
}

static uint64_t last_of(const ut_world *w, const char *node)
{
	uint64_t seq;
	uint8_t h[32];
	OK(hj_followed_last(w->hub->db, node, &seq, h));
	return seq;
}

/* What the next pass must find: every sequenced ref at the commit of its
 * node's last sequenced change set, the hub feed in git holding the whole
 * change log, nothing quarantined; both counties follow cleanly, and
 * their pending work is then sequenced exactly once. */
static void assert_recovered(ut_world *w)
{
	const hj_node *counties[2] = {w->cz, w->hd};
	hj_sync_report srep;
	ut_sequence(w->hub, NULL); /* the next pass; fails the test on any quarantine */
	for (int i = 0; i < 2; i++) {
		uint64_t last = last_of(w, counties[i]->id);
		git_oid want, have;
		if (!last) {
			assert_int_equal(sequenced(&have, w, counties[i]->id), HJ_ENOTFOUND);
			continue;
		}
		feed_commit(&want, w, counties[i]->id, last);
		OK(sequenced(&have, w, counties[i]->id));
		assert_true(git_oid_equal(&want, &have));
	}
	uint64_t hub_seq, tip = 0;
	uint8_t h[32];
	char ref[128];
	hj_gitrepo *r = hub_repo(w);
	OK(hj_feed_last(w->hub->db, &hub_seq, h));
	hj_node_feed_ref(w->hub, ref, sizeof ref);
	OK(hj_gitfeed_tip(r, ref, &tip, NULL));
	hj_gitrepo_close(r);
	assert_int_equal(tip, hub_seq);
	int64_t open = -1;
	OK(hj_db_get_int(w->hub->db, "SELECT count(*) FROM quarantine", NULL, NULL, &open));
	assert_int_equal(open, 0);
	for (int i = 0; i < 2; i++) {
		hj_node *c = i ? w->hd : w->cz;
		OK(ut_follow(c, w->hub, &srep));
		ut_sequence(w->hub, c); /* fails the test on any quarantine */
		OK(ut_follow(c, w->hub, &srep));
		assert_int_equal(srep.pending, 0);
		assert_int_equal(last_of(w, c->id), (uint64_t)ut_int(c->db, "SELECT max(seq) FROM changelog", NULL));
		assert_int_equal(ut_int(w->hub->db, "SELECT count(*) - count(DISTINCT seq) FROM followed WHERE node = ?1",
					c->id), 0);
	}
}

/* A pass with work from both counties, as a crash would find it. */
static void work(ut_world *w, int k)
{
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 100 + k), NULL, 0);
	ut_must(w->hd, ut_apply_op(w->hd, NULL, 200 + k), NULL, 0);
	ut_push(w->cz, w->hub);
	ut_push(w->hd, w->hub);
}

/* Killed after the round's COMMIT, before refs/huiji/sequenced/cz moved:
 * the ref still names the change set the previous round ended on. The
 * next pass moves it (it used to quarantine cz as malformed_commit, and
 * every county's follow then failed). */
static void test_tip_left_behind(void **state)
{
	ut_world *w = *state;
	git_oid old;
	work(w, 1);
	assert_int_equal(ut_sequence(w->hub, NULL), 2);
	OK(sequenced(&old, w, "cz"));
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 2), NULL, 0);
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 3), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 2);
	set_sequenced(w, "cz", &old); /* the crash */
	ut_must(w->hd, ut_apply_op(w->hd, NULL, 4), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->hd), 1);
	assert_recovered(w);
}

/* Killed before a node's first sequenced ref was ever written: there is
 * no ref at all, and the feed has moved on since. */
static void test_tip_never_written(void **state)
{
	ut_world *w = *state;
	work(w, 1);
	assert_int_equal(ut_sequence(w->hub, NULL), 2);
	set_sequenced(w, "cz", NULL);
	set_sequenced(w, "hd", NULL);
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 5), NULL, 0);
	ut_push(w->cz, w->hub);
	assert_recovered(w);
}

/* A ref write killed inside libgit2 leaves refs/huiji/sequenced/cz.lock,
 * and every later write of that ref failed ("failed to lock file"): the
 * pass clears it under the sequencer's lock (only the sequencer writes
 * there) and the ref moves. The same for the hub feed's ref (the outbox
 * clears it) and, once stale, a feed ref's. */
static void test_stale_ref_lock(void **state)
{
	ut_world *w = *state;
	work(w, 1);
	assert_int_equal(ut_sequence(w->hub, NULL), 2);
	stale_lock(w, "refs/huiji/sequenced/cz.lock");
	stale_lock(w, "refs/huiji/sequenced/hd.lock");
	work(w, 2);
	assert_int_equal(ut_sequence(w->hub, NULL), 2);
	assert_false(exists(w, "refs/huiji/sequenced/cz.lock"));
	assert_recovered(w);
	/* and a stale lock of the hub's own feed ref (the outbox clears it) */
	hj_json *org = ut_op("org.create", "id", "qh-hd-x", "name", "测试工会", "kind", "township", "parent", "qh-hd",
			     "region", "632300", NULL);
	ut_must(w->hub, org, NULL, 0);
	stale_lock(w, "refs/huiji/hub/hub.lock");
	work(w, 3);
	assert_int_equal(ut_sequence(w->hub, NULL), 2);
	assert_recovered(w);
	/* A feed ref's lock is git receive-pack's: a minute-old one is a
	 * killed push's and goes (or cz could never push again), a fresh one
	 * may be live and stays. */
	stale_lock(w, "refs/huiji/feeds/cz.lock");
	stale_lock(w, "refs/huiji/feeds/hd.lock");
	char *old = repo_file(w, "refs/huiji/feeds/cz.lock");
	struct utimbuf t = {time(NULL) - 120, time(NULL) - 120};
	assert_int_equal(utime(old, &t), 0);
	free(old);
	assert_int_equal(ut_sequence(w->hub, NULL), 0);
	assert_false(exists(w, "refs/huiji/feeds/cz.lock"));
	assert_true(exists(w, "refs/huiji/feeds/hd.lock"));
	char *live = repo_file(w, "refs/huiji/feeds/hd.lock");
	assert_int_equal(unlink(live), 0);
	free(live);
	work(w, 4);
	assert_int_equal(ut_sequence(w->hub, NULL), 2);
	assert_recovered(w);
}

/* The hub feed in git behind the change log (a kill after an entry's
 * COMMIT, before the outbox wrote it): the pass writes it first. */
static void test_hub_feed_behind(void **state)
{
	ut_world *w = *state;
	work(w, 1);
	assert_int_equal(ut_sequence(w->hub, NULL), 2);
	work(w, 2);
	assert_int_equal(ut_sequence(w->hub, NULL), 2);
	char ref[128];
	git_oid tip;
	hj_gitrepo *r = hub_repo(w);
	hj_node_feed_ref(w->hub, ref, sizeof ref);
	OK(hj_gitfeed_tip(r, ref, NULL, &tip));
	git_commit *c = NULL;
	assert_int_equal(git_commit_lookup(&c, hj_gitrepo_git(r), &tip), 0);
	OK(hj_gitrepo_ref_set(r, ref, git_commit_parent_id(c, 0), "test: entry not yet in git"));
	git_commit_free(c);
	hj_gitrepo_close(r);
	set_sequenced(w, "hd", NULL);
	assert_int_equal(ut_sequence(w->hub, NULL), 0);
	assert_recovered(w);
}

/* A forked child runs a real pass armed at `spec` and must die there by
 * SIGKILL; the child opens its own handles (a SQLite connection must not
 * cross a fork). */
static void crash_at(ut_world *w, const char *spec)
{
	char *dir = strdup(w->hub->dir);
	assert_non_null(dir);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		hj_node *hub = NULL;
		hj_gitrepo *r = NULL;
		hj_seq_report rep;
		hj_killpoint_arm(spec);
		if (hj_node_open(&hub, dir) || hj_node_repo_open(&r, hub))
			_exit(3);
		hj_hub_sequence(hub, r, &rep);
		_exit(4); /* the point was never reached */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("%s: the child was not killed there (status 0x%x)", spec, status);
	free(dir);
}

/* 1 if refs/huiji/sequenced/<node> is where the registry says. */
static int tip_current(const ut_world *w, const char *node)
{
	git_oid want, have;
	uint64_t last = last_of(w, node);
	if (!last)
		return sequenced(&have, w, node) == HJ_ENOTFOUND;
	feed_commit(&want, w, node, last);
	return sequenced(&have, w, node) == 0 && git_oid_equal(&want, &have);
}

/* Really killed at every named point of a pass, with work from both
 * counties (so "between two sequenced-ref writes" exists) and, where
 * `hub_op`, a hub change set the hub feed in git does not hold yet (so the
 * pass's first outbox flush writes): the next pass continues, and nothing
 * is sequenced twice or quarantined. `cz_behind` / `hd_behind`: the crash
 * left that node's sequenced ref behind the registry (the window is real). */
static void test_killed_at_each_point(void **state)
{
	ut_world *w = *state;
	static const struct {
		const char *spec;
		int hub_op, cz_behind, hd_behind;
	} points[] = {
		{"hub-before-commit", 0, 0, 0},	  {"hub-committed", 0, 1, 1},	   {"hub-tip-written:1", 0, 0, 1},
		{"hub-tip-written:2", 0, 0, 0},	  {"outbox-appended:1", 1, 0, 0}, {"outbox-appended:1", 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
		if (points[i].hub_op) {
			char id[32];
			snprintf(id, sizeof id, "qh-hd-%zu", i);
			ut_must(w->hub, ut_op("org.create", "id", id, "name", "测试工会", "kind", "township", "parent",
					      "qh-hd", "region", "632300", NULL), NULL, 0);
		}
		work(w, (int)i + 10);
		crash_at(w, points[i].spec);
		assert_int_equal(!tip_current(w, "cz"), points[i].cz_behind);
		assert_int_equal(!tip_current(w, "hd"), points[i].hd_behind);
		assert_recovered(w);
	}
}

/* With a city node above cz, a pass killed before, between and after its
 * inbox writes: a hub command then publishes the killed pass's entry
 * (hj_hub_publish) with the inbox written first, so the city node's
 * follow is never refused as "inbox behind"; the next pass writes
 * nothing twice, and the city holds every cz change set the hub has. */
static void test_killed_around_the_inbox(void **state)
{
	ut_world *w = *state;
	static const char *const points[] = {"hub-committed", "hub-tip-written:1", "hub-inbox-written:1"};
	hj_node *xn = ut_county(w->dir, "xn", "qh-xn", w->hub);
	hj_sync_report srep;
	ut_enroll(w->hub, xn);
	for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
		char id[32];
		work(w, (int)i + 40);
		crash_at(w, points[i]);
		snprintf(id, sizeof id, "qh-hd-i%zu", i);
		ut_must(w->hub, ut_op("org.create", "id", id, "name", "测试工会", "kind", "township", "parent", "qh-hd",
				      "region", "632300", NULL), NULL, 0);
		hj_gitrepo *r = hub_repo(w);
		OK(hj_hub_publish(w->hub, r));
		hj_gitrepo_close(r);
		OK(ut_follow(xn, w->hub, &srep));
		assert_recovered(w);
		OK(ut_follow(xn, w->hub, &srep));
		assert_int_equal(ut_int(xn->db, "SELECT count(*) FROM followed WHERE node = 'cz'", NULL),
				 ut_int(w->hub->db, "SELECT count(*) FROM followed WHERE node = 'cz'", NULL));
		assert_int_equal(ut_int(w->hub->db, "SELECT count(*) - count(DISTINCT src_node || src_seq) FROM inbox "
						    "WHERE node = 'xn'", NULL), 0);
	}
	hj_node_close(xn);
}

/* A city node enrolled after cz had history (cz's seals do not name it):
 * its backfill carries re-wraps. A pass killed before, between and after
 * the wraps and inbox writes is published again; the city reads every
 * person it holds and its wraps ref holds each item once. A new city node
 * each time, so each pass has wraps to write. */
static void test_killed_around_the_wraps(void **state)
{
	ut_world *w = *state;
	static const char *const points[] = {"hub-committed", "hub-wraps-written:1", "hub-inbox-written:1"};
	hj_sync_report srep;
	work(w, 60);
	ut_sequence(w->hub, NULL);
	for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
		char id[16], ref[64];
		snprintf(id, sizeof id, "xn%zu", i);
		snprintf(ref, sizeof ref, "refs/huiji/wraps/%s", id);
		hj_node *xn = ut_county(w->dir, id, "qh-xn", w->hub);
		ut_enroll(w->hub, xn);
		work(w, (int)i + 61);
		crash_at(w, points[i]);
		hj_gitrepo *r = hub_repo(w);
		OK(hj_hub_publish(w->hub, r));
		uint64_t tip = 0;
		OK(hj_gitfeed_tip(r, ref, &tip, NULL));
		hj_gitrepo_close(r);
		assert_true(tip > 0);
		assert_int_equal((int64_t)tip, ut_int(w->hub->db, "SELECT count(*) FROM rewrap WHERE node = ?1", id));
		OK(ut_follow(xn, w->hub, &srep));
		assert_recovered(w);
		OK(ut_follow(xn, w->hub, &srep));
		assert_int_equal(srep.wraps_refused, 0);
		assert_true(ut_int(xn->db, "SELECT count(*) FROM person", NULL) >= 2);
		assert_int_equal(ut_int(xn->db, "SELECT count(*) FROM person WHERE name = ''", NULL), 0);
		hj_node_close(xn);
	}
}

/* A hub command (here org.create) run after a pass was killed past its
 * COMMIT publishes through hj_hub_publish, as the CLI does: the sequenced
 * refs move before the hub feed does, so the hub feed never names a
 * change set the counties' fetch cannot reach (their sync refused it:
 * "the hub sequenced cz seq 2 but its feed ends at 1"). */
static void test_hub_command_after_crash(void **state)
{
	ut_world *w = *state;
	work(w, 1);
	crash_at(w, "hub-committed");
	assert_false(tip_current(w, "cz"));
	ut_must(w->hub, ut_op("org.create", "id", "qh-hd-y", "name", "测试工会", "kind", "township", "parent", "qh-hd",
			      "region", "632300", NULL), NULL, 0);
	hj_gitrepo *r = hub_repo(w);
	OK(hj_hub_publish(w->hub, r));
	hj_gitrepo_close(r);
	assert_true(tip_current(w, "cz"));
	assert_true(tip_current(w, "hd"));
	hj_sync_report srep;
	OK(ut_follow(w->cz, w->hub, &srep));
	OK(ut_follow(w->hd, w->hub, &srep));
	assert_recovered(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tip_left_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tip_never_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_ref_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_feed_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_at_each_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_around_the_inbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_around_the_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_command_after_crash, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
