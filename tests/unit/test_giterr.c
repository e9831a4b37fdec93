/*
 * test_giterr.c — unit tests for sync/giterr.c, the one adapter from
 * libgit2 errors to huiji errors, and for how sync/gitrepo.c's operations
 * report through it ("absent" is an answer, "unreadable" an error).
 *
 * The NULL case is real: after git_error_clear() libgit2 1.5.1's
 * git_error_last() returns NULL, which call sites used to dereference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "error.h"
#include "gitfeed.h"
#include "giterr.h"
#include "gitrepo.h"
#include "support.h"

static void test_code_table(void **state)
{
	(void)state;
	static const struct {
		int git, hj;
	} cases[] = {
		{GIT_ENOTFOUND, HJ_ENOTFOUND},   {GIT_EEXISTS, HJ_EEXISTS},       {GIT_ELOCKED, HJ_ECONFLICT},
		{GIT_EMODIFIED, HJ_ECONFLICT},   {GIT_ENONFASTFORWARD, HJ_ECONFLICT},
		{GIT_EINVALIDSPEC, HJ_EINVALID}, {GIT_EINVALID, HJ_EINVALID},     {GIT_EAMBIGUOUS, HJ_EINVALID},
		{GIT_EMISMATCH, HJ_ECORRUPT},    {GIT_EEOF, HJ_ENET},         {GIT_EAUTH, HJ_ENET},
		{GIT_ECERTIFICATE, HJ_ENET},     {GIT_EOWNER, HJ_EPERM},          {GIT_ERROR, HJ_ERROR},
		{GIT_EUSER, HJ_ERROR},           {GIT_EBUFS, HJ_ERROR},           {GIT_PASSTHROUGH, HJ_ERROR},
		{0, HJ_ERROR},                   {1, HJ_ERROR},                   {-9999, HJ_ERROR},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		assert_int_equal(hj_git_code(cases[i].git), cases[i].hj);
		/* Every code it hands out is a negative HJ_E*: never 0. */
		assert_true(hj_git_code(cases[i].git) < 0);
	}
}

/* libgit2 has no message at all: the adapter must neither crash nor print
 * "(null)", and must still map the code. */
static void test_no_libgit2_message(void **state)
{
	(void)state;
	assert_true(git_libgit2_init() > 0);
	git_error_clear();
	assert_null(git_error_last()); /* the case call sites used to dereference */
	assert_string_equal(hj_git_message(), "unknown libgit2 error");
	hj_error_clear();
	assert_int_equal(hj_git_error(GIT_ENOTFOUND, "read ref %s", "refs/x"), HJ_ENOTFOUND);
	assert_int_equal(hj_error_code(), HJ_ENOTFOUND);
	assert_string_equal(hj_error_last(), "read ref refs/x: unknown libgit2 error (libgit2 -3)");
	git_error_clear();
	assert_int_equal(hj_git_error_as(HJ_ECORRUPT, GIT_ENOTFOUND, "parent of %s", "abc"), HJ_ECORRUPT);
	assert_string_equal(hj_error_last(), "parent of abc: unknown libgit2 error (libgit2 -3)");
	/* An empty message is no message either. */
	git_error_set_str(GIT_ERROR_INVALID, "");
	assert_string_equal(hj_git_message(), "unknown libgit2 error");
	git_error_clear();
	git_libgit2_shutdown();
}

/* A real failure: libgit2's own text is copied into huiji's slot at once,
 * so a later libgit2 call cannot change what the caller reads. */
static void test_real_failure(void **state)
{
	(void)state;
	git_repository *repo = NULL;
	assert_true(git_libgit2_init() > 0);
	int rc = git_repository_open_bare(&repo, "/nonexistent/hj-giterr/repo.git");
	assert_true(rc < 0);
	assert_non_null(git_error_last());
	char want[512];
	snprintf(want, sizeof want, "%s", git_error_last()->message);
	assert_int_equal(hj_git_error(rc, "open %s", "repo.git"), hj_git_code(rc));
	assert_non_null(strstr(hj_error_last(), want));
	assert_non_null(strstr(hj_error_last(), "open repo.git: "));
	git_error_clear();
	assert_non_null(strstr(hj_error_last(), want)); /* copied, not borrowed */
	git_libgit2_shutdown();
}

/* Long "what" texts and messages are cut, never overflow. */
static void test_long_text(void **state)
{
	(void)state;
	char big[3000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_true(git_libgit2_init() > 0);
	git_error_set_str(GIT_ERROR_OS, big);
	assert_int_equal(hj_git_error(GIT_ERROR, "%s", big), HJ_ERROR);
	assert_true(strlen(hj_error_last()) > 100);
	git_error_clear();
	git_libgit2_shutdown();
}

/* ---- through gitrepo ---- */

typedef struct fx {
	char *dir;
	hj_gitrepo *r;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	char path[128];
	if (!f)
		return -1;
	f->dir = ut_tmpdir();
	snprintf(path, sizeof path, "%s/r.git", f->dir);
	if (hj_gitrepo_open(&f->r, path, 1))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	hj_gitrepo_close(f->r);
	int rc = ut_rmtree(f->dir);
	free(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

static int count_ref(void *ctx, const char *name, const git_oid *target)
{
	(void)name;
	assert_non_null(target);
	return ++*(int *)ctx >= 2 ? 42 : 0; /* stop at the second */
}

static void test_gitrepo_refs(void **state)
{
	fx *f = *state;
	git_oid id, got;
	const uint8_t bytes[] = "change set";
	int n = 0;

	assert_int_equal(hj_gitfeed_commit_id(&id, f->r, NULL, "c01", 1, 0, bytes, sizeof bytes), 0);
	/* Absent is HJ_ENOTFOUND with nothing to report. */
	hj_error_clear();
	assert_int_equal(hj_gitrepo_ref_get(&got, f->r, "refs/huiji/feeds/c01"), HJ_ENOTFOUND);
	assert_int_equal(hj_gitrepo_ref_delete(f->r, "refs/huiji/feeds/c01"), HJ_ENOTFOUND);
	/* A bad name is the caller's: HJ_EINVALID with libgit2's words. */
	git_error_clear();
	assert_int_equal(hj_gitrepo_ref_set(f->r, "refs/huiji/bad..name", &id, NULL), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "set ref refs/huiji/bad..name: "));
	assert_null(strstr(hj_error_last(), "unknown libgit2 error"));

	/* Set (forced, even to an object not in the repository: strict
	 * object creation is libgit2's default, so write it first). */
	assert_int_equal(hj_gitrepo_write_object(&got, f->r, bytes, sizeof bytes, GIT_OBJECT_BLOB), 0);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	assert_int_equal(hj_gitrepo_ref_set(f->r, "refs/huiji/feeds/a", &got, "t"), 0);
	assert_int_equal(hj_gitrepo_ref_set(f->r, "refs/huiji/feeds/b", &got, "t"), 0);
	assert_int_equal(hj_gitrepo_ref_set(f->r, "refs/huiji/feeds/c", &got, "t"), 0);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
	assert_int_equal(hj_gitrepo_ref_get(&id, f->r, "refs/huiji/feeds/b"), 0);
	assert_true(git_oid_equal(&id, &got));
	/* The callback's non-zero return stops the listing and comes back. */
	assert_int_equal(hj_gitrepo_ref_foreach(f->r, "refs/huiji/feeds/*", count_ref, &n), 42);
	assert_int_equal(n, 2);
	assert_int_equal(hj_gitrepo_ref_delete(f->r, "refs/huiji/feeds/b"), 0);
	assert_int_equal(hj_gitrepo_ref_get(&id, f->r, "refs/huiji/feeds/b"), HJ_ENOTFOUND);
	/* A blob is not a commit: 0, not an error. */
	assert_int_equal(hj_gitrepo_has_commit(f->r, &got), 0);
}

/* An unreadable ref is an error, not "absent": a ref file holding junk. */
static void test_gitrepo_unreadable_ref(void **state)
{
	fx *f = *state;
	char path[256];
	git_oid id;
	snprintf(path, sizeof path, "%s/r.git/refs/huiji", f->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/r.git/refs/huiji/junk", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("this is not an object id\n", fp);
	fclose(fp);
	git_error_clear();
	int rc = hj_gitrepo_ref_get(&id, f->r, "refs/huiji/junk");
	assert_true(rc < 0);
	assert_int_not_equal(rc, HJ_ENOTFOUND);
	assert_non_null(strstr(hj_error_last(), "refs/huiji/junk"));
}

static void test_gitrepo_config(void **state)
{
	fx *f = *state;
	assert_int_equal(hj_gitrepo_config_set_bool(f->r, "receive.denyDeletes", 1), 0);
	assert_int_equal(hj_gitrepo_config_set_bool(f->r, "no-section-dot", 1), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "set config no-section-dot: "));
	git_config *cfg = NULL;
	int v = 0;
	assert_int_equal(git_repository_config(&cfg, hj_gitrepo_git(f->r)), 0);
	assert_int_equal(git_config_get_bool(&v, cfg, "receive.denyDeletes"), 0);
	assert_int_equal(v, 1);
	git_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_table),
		cmocka_unit_test(test_no_libgit2_message),
		cmocka_unit_test(test_real_failure),
		cmocka_unit_test(test_long_text),
		cmocka_unit_test_setup_teardown(test_gitrepo_refs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitrepo_unreadable_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitrepo_config, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
