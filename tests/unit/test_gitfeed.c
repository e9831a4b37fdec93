/*
 * test_gitfeed.c — unit tests for sync/gitfeed.c on real bare repositories.
 *
 * Each test works in its own mkdtemp directory: appends (single and a batch
 * of 500), byte-exact walks, no loose objects, determinism across repos,
 * seq and CAS conflicts, hand-made malformed commits, git fsck --strict and
 * ancestry. Envelopes are arbitrary bytes (the codec lives elsewhere).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gitfeed.h"
#include "support.h"

#define NODE "c01"
#define REF "refs/huiji/feeds/" NODE
#define NITEMS 501

typedef struct fixture {
	char *dir;
	hj_feed_item items[NITEMS + 1]; /* items[i] has seq i + 1 */
	uint8_t *data[NITEMS + 1];
} fixture;

/* Arbitrary, seq-dependent bytes of varying length (0 bytes included). */
static void make_items(fixture *f)
{
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < NITEMS + 1; i++) {
		size_t len = i == 7 ? 0 : 1 + (i * 37) % 1500;
		f->data[i] = malloc(len ? len : 1);
		assert_non_null(f->data[i]);
		for (size_t k = 0; k < len; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			f->data[i][k] = (uint8_t)x;
		}
		f->items[i].bytes = f->data[i];
		f->items[i].len = len;
		f->items[i].seq = i + 1;
		f->items[i].created_at = 1700000000123LL + (int64_t)i * 777;
	}
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	f->dir = ut_tmpdir();
	make_items(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	int rc = ut_rmtree(f->dir);
	for (size_t i = 0; i < NITEMS + 1; i++)
		free(f->data[i]);
	free(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

static hj_gitrepo *open_repo(fixture *f, const char *name)
{
	char path[128];
	hj_gitrepo *r = NULL;
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	int rc = hj_gitrepo_open(&r, path, 1);
	if (rc)
		fail_msg("open %s: %s", path, hj_error_last());
	return r;
}

static void append_ok(hj_gitrepo *r, const char *ref, const char *node,
		      const hj_feed_item *items, size_t n)
{
	int rc = hj_gitfeed_append(r, ref, node, items, n);
	if (rc)
		fail_msg("append: %s", hj_error_last());
}

/* Count entries of objects/ (loose object dirs are two hex digits) and
 * the .pack files in objects/pack. */
static void count_objects(fixture *f, const char *name, int *loose,
			  int *packs)
{
	char path[160];
	DIR *d;
	struct dirent *de;

	*loose = *packs = 0;
	snprintf(path, sizeof path, "%s/%s/objects", f->dir, name);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (strlen(de->d_name) == 2 && de->d_name[0] != '.') {
			char sub[512];
			snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
			DIR *s = opendir(sub);
			struct dirent *se;
			assert_non_null(s);
			while ((se = readdir(s)))
				if (se->d_name[0] != '.')
					(*loose)++;
			closedir(s);
		}
	}
	closedir(d);
	snprintf(path, sizeof path, "%s/%s/objects/pack", f->dir, name);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".pack") == 0)
			(*packs)++;
	}
	closedir(d);
}

static int fsck_ok(fixture *f, const char *name)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd,
		 "git -c safe.directory='*' --git-dir='%s/%s' fsck --strict "
		 "--no-progress >/dev/null 2>&1",
		 f->dir, name);
	return system(cmd) == 0;
}

typedef struct walk_ctx {
	fixture *f;
	uint64_t next;   /* seq expected next */
	uint64_t stop;   /* return 42 at this seq (0 = never) */
	git_oid ids[NITEMS + 1];
} walk_ctx;

static int walk_cb(void *vctx, uint64_t seq, const git_oid *commit,
		   const uint8_t *bytes, size_t len)
{
	walk_ctx *c = vctx;
	assert_int_equal(seq, c->next);
	const hj_feed_item *it = &c->f->items[seq - 1];
	assert_int_equal(len, it->len);
	if (len)
		assert_memory_equal(bytes, it->bytes, len);
	git_oid_cpy(&c->ids[seq - 1], commit);
	c->next++;
	return seq == c->stop ? 42 : 0;
}

/* append 1, then 500 in a batch; walk everything; walk a suffix; stop early;
 * no loose objects; one pack per append; fsck --strict. */
static void test_append_walk(void **state)
{
	fixture *f = *state;
	hj_gitrepo *r = open_repo(f, "a.git");
	uint64_t seq;
	git_oid tip;
	walk_ctx *c = calloc(1, sizeof *c);
	int loose, packs;

	assert_non_null(c);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &tip), 0);
	assert_int_equal(seq, 0);
	assert_true(git_oid_is_zero(&tip));

	append_ok(r, REF, NODE, f->items, 1);
	append_ok(r, REF, NODE, f->items + 1, 500);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &tip), 0);
	assert_int_equal(seq, 501);

	c->f = f;
	c->next = 1;
	assert_int_equal(hj_gitfeed_walk(r, &tip, NODE, 0, walk_cb, c), 0);
	assert_int_equal(c->next, 502);
	assert_true(git_oid_equal(&c->ids[500], &tip));

	c->next = 401;
	assert_int_equal(hj_gitfeed_walk(r, &tip, NODE, 400, walk_cb, c), 0);
	assert_int_equal(c->next, 502);

	c->next = 1;
	c->stop = 3;
	assert_int_equal(hj_gitfeed_walk(r, &tip, NODE, 0, walk_cb, c), 42);
	assert_int_equal(c->next, 4);

	/* Nothing after the tip: validates, no calls. */
	c->next = 999;
	c->stop = 0;
	assert_int_equal(hj_gitfeed_walk(r, &tip, NODE, 501, walk_cb, c), 0);

	count_objects(f, "a.git", &loose, &packs);
	assert_int_equal(loose, 0);
	assert_int_equal(packs, 2);
	assert_true(fsck_ok(f, "a.git"));

	/* Each commit id is the computed one. */
	git_oid want, *prev = NULL;
	for (size_t i = 0; i < 501; i++) {
		const hj_feed_item *it = &f->items[i];
		assert_int_equal(hj_gitfeed_commit_id(&want, r, prev, NODE,
						      it->seq, it->created_at,
						      it->bytes, it->len),
				 0);
		assert_true(git_oid_equal(&want, &c->ids[i]));
		prev = &c->ids[i];
	}

	/* Another feed in the same repo is independent. */
	append_ok(r, "refs/huiji/feeds/c02", "c02", f->items, 3);
	assert_int_equal(hj_gitfeed_tip(r, "refs/huiji/feeds/c02", &seq, NULL),
			 0);
	assert_int_equal(seq, 3);
	/* ...and walking it as another node's feed is corrupt. */
	assert_int_equal(hj_gitfeed_tip(r, "refs/huiji/feeds/c02", NULL, &tip),
			 0);
	assert_int_equal(hj_gitfeed_walk(r, &tip, NODE, 0, walk_cb, c),
			 HJ_ECORRUPT);

	/* A reopened handle sees everything. */
	hj_gitrepo_close(r);
	r = open_repo(f, "a.git");
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &tip), 0);
	assert_int_equal(seq, 501);
	c->next = 1;
	assert_int_equal(hj_gitfeed_walk(r, &tip, NODE, 0, walk_cb, c), 0);
	hj_gitrepo_close(r);
	free(c);
}

/* Same change sets, different batching, fresh repo => same ids. Re-appending
 * already present objects (after a lost CAS) writes no empty pack. */
static void test_determinism(void **state)
{
	fixture *f = *state;
	hj_gitrepo *a = open_repo(f, "a.git"), *b = open_repo(f, "b.git");
	git_oid ta, tb, t10;
	uint64_t seq;
	int loose, packs;

	append_ok(a, REF, NODE, f->items, 1);
	append_ok(a, REF, NODE, f->items + 1, 500);
	append_ok(b, REF, NODE, f->items, 10);
	append_ok(b, REF, NODE, f->items + 10, 491);
	assert_int_equal(hj_gitfeed_tip(a, REF, &seq, &ta), 0);
	assert_int_equal(hj_gitfeed_tip(b, REF, &seq, &tb), 0);
	assert_true(git_oid_equal(&ta, &tb));

	/* Put b's ref back to seq 10 and append again: the objects are all
	 * there already, so no new pack and the same tip. */
	walk_ctx *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->f = f;
	c->next = 1;
	assert_int_equal(hj_gitfeed_walk(b, &tb, NODE, 0, walk_cb, c), 0);
	t10 = c->ids[9];
	free(c);
	git_reference *gr = NULL;
	assert_int_equal(git_reference_create(&gr, hj_gitrepo_git(b), REF,
					      &t10, 1, NULL),
			 0);
	git_reference_free(gr);
	count_objects(f, "b.git", &loose, &packs);
	assert_int_equal(packs, 2);
	append_ok(b, REF, NODE, f->items + 10, 491);
	count_objects(f, "b.git", &loose, &packs);
	assert_int_equal(packs, 2);
	assert_int_equal(loose, 0);
	assert_int_equal(hj_gitfeed_tip(b, REF, &seq, &tb), 0);
	assert_true(git_oid_equal(&ta, &tb));
	assert_true(fsck_ok(f, "b.git"));
	hj_gitrepo_close(a);
	hj_gitrepo_close(b);
}

static void test_wrong_seq(void **state)
{
	fixture *f = *state;
	hj_gitrepo *r = open_repo(f, "a.git");
	git_oid tip, tip2;
	uint64_t seq;
	int loose, packs;

	/* Empty feed: must start at 1. */
	assert_int_equal(hj_gitfeed_append(r, REF, NODE, f->items + 1, 2),
			 HJ_ECONFLICT);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &tip), 0);
	assert_int_equal(seq, 0);

	append_ok(r, REF, NODE, f->items, 5);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &tip), 0);
	count_objects(f, "a.git", &loose, &packs);
	assert_int_equal(packs, 1);

	assert_int_equal(hj_gitfeed_append(r, REF, NODE, f->items, 1),
			 HJ_ECONFLICT); /* seq 1 again */
	assert_int_equal(hj_gitfeed_append(r, REF, NODE, f->items + 4, 2),
			 HJ_ECONFLICT); /* seq 5 again */
	assert_int_equal(hj_gitfeed_append(r, REF, NODE, f->items + 6, 2),
			 HJ_ECONFLICT); /* gap */
	assert_int_equal(hj_gitfeed_append(r, REF, "other", f->items + 5, 1),
			 HJ_ECONFLICT); /* someone else's feed */
	assert_non_null(strstr(hj_error_last(), "c01"));

	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &tip2), 0);
	assert_int_equal(seq, 5);
	assert_true(git_oid_equal(&tip, &tip2));
	count_objects(f, "a.git", &loose, &packs);
	assert_int_equal(packs, 1);
	assert_int_equal(loose, 0);

	/* Bad input. */
	hj_feed_item bad[2] = {f->items[5], f->items[7]};
	assert_int_equal(hj_gitfeed_append(r, REF, NODE, bad, 2),
			 HJ_EINVALID);
	bad[0].created_at = -1;
	assert_int_equal(hj_gitfeed_append(r, REF, NODE, bad, 1),
			 HJ_EINVALID);
	assert_int_equal(hj_gitfeed_append(r, REF, "a b", f->items + 5, 1),
			 HJ_EINVALID);
	assert_int_equal(hj_gitfeed_append(r, "refs/x..y", NODE, f->items + 5,
					   1),
			 HJ_EINVALID);
	assert_int_equal(hj_gitfeed_append(r, REF, NODE, f->items + 5, 0),
			 HJ_EINVALID);
	hj_gitrepo_close(r);
}

static void test_cas(void **state)
{
	fixture *f = *state;
	hj_gitrepo *r = open_repo(f, "a.git");
	git_oid t3, t5, got, zero;
	uint64_t seq;

	memset(&zero, 0, sizeof zero);
	append_ok(r, REF, NODE, f->items, 3);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &t3), 0);
	append_ok(r, REF, NODE, f->items + 3, 2);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &t5), 0);

	/* Wrong expectation. */
	assert_int_equal(hj_gitref_cas(r, REF, &t3, &t3, NULL), HJ_ECONFLICT);
	/* Must-not-exist on an existing ref, both spellings. */
	assert_int_equal(hj_gitref_cas(r, REF, &t3, NULL, NULL), HJ_ECONFLICT);
	assert_int_equal(hj_gitref_cas(r, REF, &t3, &zero, NULL),
			 HJ_ECONFLICT);
	/* Expecting a ref that is not there. */
	assert_int_equal(hj_gitref_cas(r, "refs/huiji/hold/c01", &t3, &t5,
				       NULL),
			 HJ_ECONFLICT);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &got), 0);
	assert_true(git_oid_equal(&got, &t5));

	/* Right expectation moves it; create a new one. */
	assert_int_equal(hj_gitref_cas(r, REF, &t3, &t5, "rewind"), 0);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &got), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(hj_gitref_cas(r, "refs/huiji/hold/c01", &t5, NULL,
				       NULL),
			 0);
	assert_int_equal(hj_gitfeed_tip(r, "refs/huiji/hold/c01", &seq, &got),
			 0);
	assert_int_equal(seq, 5);

	/* An append whose CAS loses (another writer holds the ref's lock):
	 * HJ_ECONFLICT, the ref is unchanged, only an unreferenced pack is
	 * left; once the lock is gone the same append succeeds. */
	char lock[160];
	FILE *lf;
	snprintf(lock, sizeof lock, "%s/a.git/" REF ".lock", f->dir);
	lf = fopen(lock, "w");
	assert_non_null(lf);
	fclose(lf);
	assert_int_equal(hj_gitfeed_append(r, REF, NODE, f->items + 3, 1),
			 HJ_ECONFLICT);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &got), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(remove(lock), 0);
	append_ok(r, REF, NODE, f->items + 3, 1);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &got), 0);
	assert_int_equal(seq, 4);
	assert_true(fsck_ok(f, "a.git"));
	hj_gitrepo_close(r);
}

static int noop_cb(void *ctx, uint64_t seq, const git_oid *commit,
		   const uint8_t *bytes, size_t len)
{
	(void)ctx;
	(void)seq;
	(void)commit;
	(void)bytes;
	(void)len;
	return 0;
}

/* Make a commit by hand with libgit2 (loose objects; fine here). */
static void hand_commit(git_repository *repo, git_oid *out,
			const git_oid *parent, int two_entries,
			const char *author, const char *msg, int64_t t)
{
	git_treebuilder *tb = NULL;
	git_oid blob, tree;
	git_tree *tr = NULL;
	git_commit *pc = NULL;
	git_signature *sig = NULL;

	assert_int_equal(git_blob_create_from_buffer(&blob, repo, "xyz", 3),
			 0);
	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, "changeset", &blob,
						GIT_FILEMODE_BLOB),
			 0);
	if (two_entries)
		assert_int_equal(git_treebuilder_insert(NULL, tb, "extra",
							&blob,
							GIT_FILEMODE_BLOB),
				 0);
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	git_treebuilder_free(tb);
	assert_int_equal(git_tree_lookup(&tr, repo, &tree), 0);
	if (parent)
		assert_int_equal(git_commit_lookup(&pc, repo, parent), 0);
	assert_int_equal(git_signature_new(&sig, author, "huiji@invalid", t,
					   0),
			 0);
	const git_commit *parents[1] = {pc};
	assert_int_equal(git_commit_create(out, repo, NULL, sig, sig, NULL,
					   msg, tr, parent ? 1 : 0, parents),
			 0);
	git_signature_free(sig);
	git_commit_free(pc);
	git_tree_free(tr);
}

static void test_malformed(void **state)
{
	fixture *f = *state;
	hj_gitrepo *r = open_repo(f, "m.git");
	git_repository *repo = hj_gitrepo_git(r);
	git_oid good1, c, tip;
	char hex[GIT_OID_HEXSZ + 1];
	uint64_t seq;

	/* A hand-made commit identical to what append writes is accepted:
	 * git_commit_create and our serialiser agree byte for byte. */
	hand_commit(repo, &good1, NULL, 0, "huiji", "huiji c01 1\n", 1000);
	assert_int_equal(hj_gitfeed_walk(r, &good1, NODE, 0, noop_cb, NULL),
			 0);
	git_oid want;
	assert_int_equal(hj_gitfeed_commit_id(&want, r, NULL, NODE, 1,
					      1000999, (const uint8_t *)"xyz",
					      3),
			 0);
	assert_true(git_oid_equal(&want, &good1));

	/* Two tree entries. */
	hand_commit(repo, &c, &good1, 1, "huiji", "huiji c01 2\n", 1000);
	assert_int_equal(hj_gitfeed_walk(r, &c, NODE, 0, noop_cb, NULL),
			 HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(),
			       git_oid_tostr(hex, sizeof hex, &c)));
	assert_non_null(strstr(hj_error_last(), "2 entries"));

	/* Wrong messages. */
	const char *bad[] = {"huiji c01 3\n", "huiji c01 02\n",
			     "huiji c01 2",   "huiji c01 2\n\n",
			     "huiji c02 2\n", "huiji  c01 2\n",
			     "Huiji c01 2\n", "huiji c01 18446744073709551616\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		hand_commit(repo, &c, &good1, 0, "huiji", bad[i], 1000);
		int rc = hj_gitfeed_walk(r, &c, NODE, 0, noop_cb, NULL);
		if (rc != HJ_ECORRUPT)
			fail_msg("message %zu accepted (rc %d)", i, rc);
		if (!strstr(hj_error_last(), git_oid_tostr(hex, sizeof hex, &c)))
			fail_msg("message %zu: %s", i, hj_error_last());
		assert_non_null(strstr(hj_error_last(),
				       git_oid_tostr(hex, sizeof hex, &c)));
	}

	/* Root with seq 2; seq 1 with a parent. */
	hand_commit(repo, &c, NULL, 0, "huiji", "huiji c01 2\n", 1000);
	assert_int_equal(hj_gitfeed_walk(r, &c, NODE, 0, noop_cb, NULL),
			 HJ_ECORRUPT);
	hand_commit(repo, &c, &good1, 0, "huiji", "huiji c01 1\n", 1000);
	assert_int_equal(hj_gitfeed_walk(r, &c, NODE, 0, noop_cb, NULL),
			 HJ_ECORRUPT);

	/* Right shape, foreign author: not canonical. */
	hand_commit(repo, &c, &good1, 0, "mallory", "huiji c01 2\n", 1000);
	assert_int_equal(hj_gitfeed_walk(r, &c, NODE, 0, noop_cb, NULL),
			 HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "canonical"));

	/* The corrupt commit is the tip of a ref: tip() parses strictly. */
	hand_commit(repo, &c, &good1, 0, "huiji", "huiji c01 x\n", 1000);
	assert_int_equal(hj_gitref_cas(r, REF, &c, NULL, NULL), 0);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &tip), HJ_ECORRUPT);
	/* and append on top refuses. */
	assert_int_equal(hj_gitfeed_append(r, REF, NODE, f->items + 1, 1),
			 HJ_ECORRUPT);

	/* A tip that is not in the repo, or not a commit. */
	memset(&c, 0x5a, sizeof c);
	assert_int_equal(hj_gitfeed_walk(r, &c, NODE, 0, noop_cb, NULL),
			 HJ_ENOTFOUND);
	git_oid blob;
	assert_int_equal(git_blob_create_from_buffer(&blob, repo, "xyz", 3),
			 0);
	assert_int_equal(hj_gitfeed_walk(r, &blob, NODE, 0, noop_cb, NULL),
			 HJ_ENOTFOUND);
	hj_gitrepo_close(r);
}

static void test_is_ancestor(void **state)
{
	fixture *f = *state;
	hj_gitrepo *r = open_repo(f, "a.git");
	git_oid t10, t20, other, missing;
	uint64_t seq;

	append_ok(r, REF, NODE, f->items, 10);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &t10), 0);
	append_ok(r, REF, NODE, f->items + 10, 10);
	assert_int_equal(hj_gitfeed_tip(r, REF, &seq, &t20), 0);
	append_ok(r, "refs/huiji/feeds/c02", "c02", f->items, 2);
	assert_int_equal(hj_gitfeed_tip(r, "refs/huiji/feeds/c02", &seq,
					&other),
			 0);

	assert_int_equal(hj_gitfeed_is_ancestor(r, &t10, &t20), 1);
	assert_int_equal(hj_gitfeed_is_ancestor(r, &t20, &t10), 0);
	assert_int_equal(hj_gitfeed_is_ancestor(r, &t20, &t20), 1);
	assert_int_equal(hj_gitfeed_is_ancestor(r, &other, &t20), 0);
	memset(&missing, 0x5a, sizeof missing);
	/* A commit that is not in the chain is not its ancestor; a chain that
	 * cannot be read is an error. */
	assert_int_equal(hj_gitfeed_is_ancestor(r, &missing, &t20), 0);
	assert_true(hj_gitfeed_is_ancestor(r, &t10, &missing) < 0);
	hj_gitrepo_close(r);
}

static void test_open(void **state)
{
	fixture *f = *state;
	hj_gitrepo *r = NULL;
	char path[128];

	snprintf(path, sizeof path, "%s/none.git", f->dir);
	assert_int_equal(hj_gitrepo_open(&r, path, 0), HJ_ENOTFOUND);
	assert_null(r);
	assert_int_equal(hj_gitrepo_open(&r, path, 1), 0);
	assert_true(git_repository_is_bare(hj_gitrepo_git(r)));
	hj_gitrepo_close(r);
	hj_gitrepo_close(NULL);
	assert_int_equal(hj_gitrepo_open(&r, path, 0), 0);
	hj_gitrepo_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_walk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_determinism, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_seq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_is_ancestor, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
