/*
 * fsutil.c — hj_dir_remove: a depth-first walk with openat/fdopendir and
 * unlinkat, each step relative to the parent's descriptor.
 *
 * Not nftw: nftw reports entries by path, so a directory replaced by a
 * symbolic link between the walk and the unlink would be followed; and its
 * callback has no context pointer to carry an error out.
 */
#include "fsutil.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Empty the directory open as `fd` (which this takes and closes). `top` is
 * the path given, for messages. */
static int empty_dir(int fd, const char *top, int depth)
{
	int rc = 0;
	DIR *d = NULL;
	if (depth > HJ_DIR_REMOVE_DEPTH) {
		close(fd);
		return hj_error_set(HJ_ERROR, "%s: deeper than %d levels, not removed", top, HJ_DIR_REMOVE_DEPTH);
	}
	if (!(d = fdopendir(fd))) {
		rc = hj_error_set(HJ_ERROR, "%s: cannot read a directory: %s", top, strerror(errno));
		close(fd);
		goto done;
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				rc = hj_error_set(HJ_ERROR, "%s: cannot read a directory: %s", top, strerror(errno));
			break;
		}
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;
			rc = hj_error_set(HJ_ERROR, "%s: cannot stat %s: %s", top, name, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = hj_error_set(HJ_ERROR, "%s: cannot open %s: %s", top, name, strerror(errno));
				break;
			}
			if ((rc = empty_dir(sub, top, depth + 1)))
				break;
			if (unlinkat(dirfd(d), name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
				rc = hj_error_set(HJ_ERROR, "%s: cannot remove %s: %s", top, name, strerror(errno));
				break;
			}
		} else if (unlinkat(dirfd(d), name, 0) != 0 && errno != ENOENT) {
			rc = hj_error_set(HJ_ERROR, "%s: cannot remove %s: %s", top, name, strerror(errno));
			break;
		}
	}
done:
	if (d)
		closedir(d); /* closes fd */
	return rc;
}

int hj_dir_remove(const char *path)
{
	struct stat st;
	int rc;
	if (!path || !*path)
		return hj_error_set(HJ_EINVALID, "remove: no path");
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0 && errno != ENOENT)
			return hj_error_set(HJ_ERROR, "%s: cannot remove: %s", path, strerror(errno));
		return 0;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hj_error_set(HJ_ERROR, "%s: cannot open: %s", path, strerror(errno));
	if ((rc = empty_dir(fd, path, 1)))
		return rc;
	if (rmdir(path) != 0 && errno != ENOENT)
		return hj_error_set(HJ_ERROR, "%s: cannot remove: %s", path, strerror(errno));
	return 0;
}
