/*
 * tmpdir.h — scratch directories for the C test suites: made with mkdtemp
 * under $TMPDIR, removed (depth first, without following links) at the end.
 * Test-only; the library's own remover belongs to node/.
 */
#ifndef HJ_TEST_TMPDIR_H
#define HJ_TEST_TMPDIR_H

#include <stddef.h>

/* Make a fresh directory "<tmp>/<prefix>XXXXXX" into out[n]; 0 or -1. */
int hj_test_tmpdir(char *out, size_t n, const char *prefix);

/* Remove a tree; a missing path is fine. 0 or -1. */
int hj_test_rmtree(const char *path);

/* Copy one file byte for byte (dst is replaced); 0 or -1. */
int hj_test_copy_file(const char *src, const char *dst);

/* Copy a tree of directories and regular files (dst must not exist); 0 or -1. */
int hj_test_copy_tree(const char *src, const char *dst);

#endif
