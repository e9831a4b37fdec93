/*
 * fsutil.h — removing a directory tree, the one way huiji does it (the
 * audit's scratch clone, test fixtures). No shell: a path is never parsed
 * by anything but the kernel.
 */
#ifndef HJ_FSUTIL_H
#define HJ_FSUTIL_H

/* Remove `path` and everything under it, like `rm -rf` but never following
 * a symbolic link: a link inside the tree (or `path` itself, if it is one)
 * is removed as a link and what it points to is left alone. Each directory
 * is opened relative to its parent with O_NOFOLLOW, so a link swapped in
 * during the walk is not followed either. A missing `path` is success.
 * Trees deeper than HJ_DIR_REMOVE_DEPTH are refused (one descriptor per
 * level). Returns 0, HJ_EINVALID (NULL or empty path) or HJ_ERROR with
 * the path and errno in the message; on error part of the tree may be gone. */
int hj_dir_remove(const char *path);

#define HJ_DIR_REMOVE_DEPTH 128

#endif
