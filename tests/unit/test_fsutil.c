/*
 * test_fsutil.c — hj_dir_remove: a nested tree goes, a symbolic link inside
 * it (to a directory and to a file outside) is removed as a link and what
 * it points to stays, a link given as the path is not followed, a missing
 * path is success, and a path with a quote (which the old `rm -rf '%s'`
 * silently skipped) is removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"

static char top[64];

static void put(const char *path)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void path(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", top, rel);
}

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof top, "/tmp/hj-fsutil.XXXXXX");
	return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return hj_dir_remove(top) == 0 ? 0 : -1;
}

static void test_nested_and_links(void **state)
{
	(void)state;
	char p[256], q[256];
	/* outside/: what the links point to */
	path(p, sizeof p, "outside");
	assert_int_equal(mkdir(p, 0700), 0);
	path(p, sizeof p, "outside/keep.txt");
	put(p);
	/* tree/a/b/c/... with files at each level, an empty dir, a read-only
	 * file and links out */
	const char *dirs[] = {"tree", "tree/a", "tree/a/b", "tree/a/b/c", "tree/empty", "tree/it's"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		path(p, sizeof p, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	const char *files[] = {"tree/f", "tree/a/f", "tree/a/b/f", "tree/a/b/c/f", "tree/it's/f", "tree/.hidden"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		path(p, sizeof p, files[i]);
		put(p);
	}
	path(p, sizeof p, "tree/a/f");
	assert_int_equal(chmod(p, 0400), 0);
	path(q, sizeof q, "outside");
	path(p, sizeof p, "tree/a/b/to-dir");
	assert_int_equal(symlink(q, p), 0);
	path(q, sizeof q, "outside/keep.txt");
	path(p, sizeof p, "tree/a/to-file");
	assert_int_equal(symlink(q, p), 0);
	path(p, sizeof p, "tree/dangling");
	assert_int_equal(symlink("/nonexistent/nowhere", p), 0);

	path(p, sizeof p, "tree");
	assert_int_equal(hj_dir_remove(p), 0);
	assert_false(exists(p));
	path(p, sizeof p, "outside/keep.txt");
	assert_true(exists(p)); /* not followed through either link */
	/* again: already gone is success */
	path(p, sizeof p, "tree");
	assert_int_equal(hj_dir_remove(p), 0);
}

/* The path itself a link to a directory: the link goes, the directory
 * and its contents stay (rm -rf LINK does the same). */
static void test_path_is_a_link(void **state)
{
	(void)state;
	char p[256], q[256];
	path(q, sizeof q, "real");
	assert_int_equal(mkdir(q, 0700), 0);
	path(p, sizeof p, "real/f");
	put(p);
	path(p, sizeof p, "link");
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(hj_dir_remove(p), 0);
	assert_false(exists(p));
	path(p, sizeof p, "real/f");
	assert_true(exists(p));
	/* a plain file is removed too */
	assert_int_equal(hj_dir_remove(p), 0);
	assert_false(exists(p));
}

static void test_errors(void **state)
{
	(void)state;
	char p[256];
	assert_int_equal(hj_dir_remove(NULL), HJ_EINVALID);
	assert_int_equal(hj_dir_remove(""), HJ_EINVALID);
	/* too deep: refused, not a descriptor per level without end */
	path(p, sizeof p, "deep");
	assert_int_equal(mkdir(p, 0700), 0);
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	for (int i = 0; i < HJ_DIR_REMOVE_DEPTH + 2; i++) {
		assert_int_equal(mkdirat(fd, "d", 0700), 0);
		int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		assert_true(sub >= 0);
		close(fd);
		fd = sub;
	}
	close(fd);
	assert_int_equal(hj_dir_remove(p), HJ_ERROR);
	assert_non_null(strstr(hj_error_last(), "deeper than"));
	assert_true(exists(p));
	/* from a few levels down the rest is within the limit */
	char q[300];
	snprintf(q, sizeof q, "%s/d/d/d/d", p);
	assert_int_equal(hj_dir_remove(q), 0);
	assert_int_equal(hj_dir_remove(p), 0);
	assert_false(exists(p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nested_and_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_is_a_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
