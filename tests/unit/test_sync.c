/*
 * test_sync.c — the county side of sync/ without a network: the follow
 * refusing a hub feed rewritten under it (sync/sync.c), and the repair of
 * a replica that lost a pack (sync/outbox.c's hj_outbox_repair, sync/
 * replica.c's dropping of what no longer reads back).
 *
 * Real nodes, real repositories and signatures (tests/unit/support.c):
 * the hub's order made by the real sequencer, fetched into the county's
 * incoming/ refs and followed by the real hj_sync_follow. The rewritten
 * hub feed is signed by the hub's own key, so only the county's memory of
 * what it followed can tell. Proves: a same-length rewrite of the entry
 * followed last, or of one below it, is refused naming that entry, with
 * nothing followed and nothing changed (also without the remembered
 * commit); an own feed whose packs are gone or truncated is written again
 * from the change log with the same commit ids; a fetched ref whose
 * history is gone is dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "error.h"
#include "fsutil.h"
#include "outbox.h"
#include "replica.h"
#include "support.h"

#define OK UT_OK

/* The province, both counties enrolled; cz has two change sets the hub
 * sequenced and cz followed. */
static int setup(void **state)
{
	ut_world *w = ut_world_new(1);
	hj_sync_report rep;
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 1), NULL, 0);
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 2), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 2);
	assert_int_equal(ut_follow(w->cz, w->hub, &rep), 0);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

static uint64_t hub_last(const ut_world *w)
{
	return (uint64_t)ut_int(w->hub->db, "SELECT max(seq) FROM changelog", NULL);
}

/* The hub's change log as a git feed in the county's replica, with
 * change set `seq` re-signed by the hub over another payload (same prev),
 * and the county's incoming hub ref forced onto it: what a forced fetch
 * of a rewritten hub feed leaves. Later change sets keep their bytes. */
static void rewrite_hub_feed(ut_world *w, uint64_t seq)
{
	uint64_t last = hub_last(w);
	hj_feed_item *items = calloc(last, sizeof *items);
	hj_buf forged = HJ_BUF_INIT;
	hj_gitrepo *r = NULL;
	char ref[200];
	git_oid tip;
	assert_non_null(items);
	for (uint64_t s = 1; s <= last; s++) {
		size_t len;
		uint8_t *env = ut_changeset(w->hub, s, &len);
		hj_envelope e;
		OK(hj_envelope_decode(&e, env, len));
		items[s - 1] = (hj_feed_item){env, len, s, e.created_at};
		if (s == seq) {
			static const char payload[] =
				"{\"v\":1,\"ops\":[{\"op\":\"org.update\",\"v\":1,\"id\":\"qh-xn\",\"name\":\"改写\"}]}";
			OK(hj_envelope_encode(&forged, w->hub->id, s, e.prev, e.created_at + 1, payload,
					      strlen(payload), w->hub->pk, w->hub->sk));
			items[s - 1].bytes = forged.data;
			items[s - 1].len = forged.len;
			items[s - 1].created_at = e.created_at + 1;
			free(env);
		}
		hj_envelope_free(&e);
	}
	OK(hj_node_repo_open(&r, w->cz));
	OK(hj_gitfeed_append(r, "refs/huiji/test/rewritten", w->hub->id, items, last));
	OK(hj_gitfeed_tip(r, "refs/huiji/test/rewritten", NULL, &tip));
	snprintf(ref, sizeof ref, "refs/huiji/incoming/hub/%s", w->hub->id);
	OK(hj_gitrepo_ref_set(r, ref, &tip, "test: a rewritten hub feed fetched"));
	hj_gitrepo_close(r);
	for (uint64_t s = 1; s <= last; s++)
		if (s != seq)
			free((void *)items[s - 1].bytes);
	free(items);
	hj_buf_free(&forged);
}

/* hj_sync_follow refuses, naming entry `seq`, and nothing changes. */
static void assert_follow_refused(ut_world *w, uint64_t seq)
{
	hj_gitrepo *r = NULL;
	hj_sync_report rep;
	uint8_t before[32], after[32];
	char want[80];
	int64_t rows = ut_int(w->cz->db, "SELECT count(*) FROM followed", NULL);
	char *hub_feed = ut_text(w->cz->db, "SELECT group_concat(seq || ':' || hex(hash)) FROM hub_feed", NULL);
	ut_digest(w->cz->db, before);
	OK(hj_node_repo_open(&r, w->cz));
	memset(&rep, 0, sizeof rep);
	assert_int_equal(hj_sync_follow(w->cz, r, &rep), HJ_ECORRUPT);
	hj_gitrepo_close(r);
	snprintf(want, sizeof want, "the hub rewrote its history at entry %" PRIu64 ":", seq);
	if (!strstr(hj_error_last(), want))
		fail_msg("expected \"%s\" in: %s", want, hj_error_last());
	assert_int_equal(rep.entries, 0);
	assert_int_equal(ut_int(w->cz->db, "SELECT count(*) FROM followed", NULL), rows);
	char *hub_feed2 = ut_text(w->cz->db, "SELECT group_concat(seq || ':' || hex(hash)) FROM hub_feed", NULL);
	assert_string_equal(hub_feed, hub_feed2);
	ut_digest(w->cz->db, after);
	assert_memory_equal(before, after, 32);
	free(hub_feed);
	free(hub_feed2);
}

static void test_rewritten_last_entry(void **state)
{
	ut_world *w = *state;
	assert_int_equal(ut_int(w->cz->db, "SELECT max(seq) FROM hub_feed", NULL), (int64_t)hub_last(w));
	rewrite_hub_feed(w, hub_last(w));
	assert_follow_refused(w, hub_last(w));
}

static void test_rewritten_last_entry_without_remembered_commit(void **state)
{
	ut_world *w = *state;
	OK(hj_db_exec(w->cz->db, "DELETE FROM meta WHERE key = 'hub_feed_commit'"));
	rewrite_hub_feed(w, hub_last(w));
	assert_follow_refused(w, hub_last(w));
}

static void test_rewritten_entry_below_the_last(void **state)
{
	ut_world *w = *state;
	rewrite_hub_feed(w, hub_last(w) - 1);
	assert_follow_refused(w, hub_last(w) - 1);
}

/* The unchanged feed still follows (and a new entry on top of it). */
static void test_unchanged_feed_follows(void **state)
{
	ut_world *w = *state;
	hj_sync_report rep;
	assert_int_equal(ut_follow(w->cz, w->hub, &rep), 0);
	assert_int_equal(rep.entries, 0);
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 3), NULL, 0);
	assert_int_equal(ut_sequence(w->hub, w->cz), 1);
	assert_int_equal(ut_follow(w->cz, w->hub, &rep), 0);
	assert_int_equal(rep.entries, 1);
}

/* ---- the replica's repair ---- */

/* Remove (truncate = 0) or halve every pack of the county's replica;
 * removing, also every loose object (ut_mirror writes the fetched copies
 * loose). */
static void damage_packs(const hj_node *n, int truncate_them)
{
	char *repo = hj_node_repo_path(n), dir[4200], path[4500];
	DIR *d;
	struct dirent *de;
	if (!truncate_them) {
		snprintf(dir, sizeof dir, "%s/objects", repo);
		assert_non_null(d = opendir(dir));
		while ((de = readdir(d)))
			if (strlen(de->d_name) == 2 && de->d_name[0] != '.') {
				snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
				OK(hj_dir_remove(path));
			}
		closedir(d);
	}
	snprintf(dir, sizeof dir, "%s/objects/pack", repo);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (strncmp(de->d_name, "pack-", 5) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (!truncate_them)
			assert_int_equal(unlink(path), 0);
		else if (l > 5 && strcmp(de->d_name + l - 5, ".pack") == 0) {
			FILE *f = fopen(path, "rb");
			assert_non_null(f);
			fseek(f, 0, SEEK_END);
			long size = ftell(f);
			fclose(f);
			assert_int_equal(truncate(path, size / 2), 0);
		}
	}
	closedir(d);
	free(repo);
}

static void own_tip(const hj_node *n, git_oid *tip, uint64_t *seq)
{
	hj_gitrepo *r = NULL;
	char ref[160];
	hj_node_feed_ref(n, ref, sizeof ref);
	OK(hj_node_repo_open(&r, n));
	OK(hj_gitfeed_tip(r, ref, seq, tip));
	hj_gitrepo_close(r);
}

static void check_own_feed_rewritten(ut_world *w, int truncate_them)
{
	git_oid before, after;
	uint64_t seq_before, seq_after;
	int fixed = 0;
	ut_flush(w->cz); /* batches here do not flush, as the CLI does */
	own_tip(w->cz, &before, &seq_before);
	assert_int_equal(seq_before, 2);
	damage_packs(w->cz, truncate_them);
	OK(hj_outbox_repair(w->cz, 1, &fixed));
	assert_int_equal(fixed, 1);
	own_tip(w->cz, &after, &seq_after);
	assert_int_equal(seq_after, seq_before);
	assert_true(git_oid_equal(&before, &after)); /* deterministic: the ids the hub holds */
	/* Sound now: nothing more to do. */
	OK(hj_outbox_repair(w->cz, 1, &fixed));
	assert_int_equal(fixed, 0);
	/* The fetched refs named what is gone: dropped, none left unreadable. */
	hj_gitrepo *r = NULL;
	OK(hj_node_repo_open(&r, w->cz));
	assert_true(hj_replica_drop_unreadable(r, 1) > 0);
	assert_int_equal(hj_replica_drop_unreadable(r, 1), 0);
	hj_gitrepo_close(r);
	/* And the county follows on from a fresh fetch. */
	hj_sync_report rep;
	assert_int_equal(ut_follow(w->cz, w->hub, &rep), 0);
}

static void test_own_feed_written_again_after_packs_deleted(void **state)
{
	check_own_feed_rewritten(*state, 0);
}

static void test_own_feed_written_again_after_packs_truncated(void **state)
{
	check_own_feed_rewritten(*state, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rewritten_last_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewritten_last_entry_without_remembered_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewritten_entry_below_the_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_feed_follows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_feed_written_again_after_packs_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_feed_written_again_after_packs_truncated, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
