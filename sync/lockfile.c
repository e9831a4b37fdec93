/*
 * lockfile.c — process locks and stale ref-lock clean-up (lockfile.h).
 */
#include "lockfile.h"
#include "clock.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int hj_lockfile_take(const char *path, int wait)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
		return fd;
	int busy = fd >= 0 && errno == EWOULDBLOCK;
	int rc = busy ? hj_error_set(HJ_ECONFLICT, "%s is held by another huiji", path)
		      : hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int is_lock(const char *name)
{
	size_t l = strlen(name);
	return l > 5 && strcmp(name + l - 5, ".lock") == 0;
}

int hj_lockfile_clear_stale(const char *dir, int recursive, int64_t min_age_s)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int64_t now = hj_clock_ms() / 1000;
	int rc = 0;
	if (!d)
		return 0; /* nothing written there yet */
	while (!rc && (de = readdir(d))) {
		char path[4400];
		struct stat sb;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (!is_lock(de->d_name)) {
			if (recursive && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))
				rc = hj_lockfile_clear_stale(path, 1, min_age_s);
			continue;
		}
		if (min_age_s && (stat(path, &sb) != 0 || now - (int64_t)sb.st_mtime < min_age_s))
			continue;
		if (unlink(path) != 0 && errno != ENOENT)
			rc = hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
	}
	closedir(d);
	return rc;
}
