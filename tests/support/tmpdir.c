/*
 * tmpdir.c — scratch directories for the C test suites (see tmpdir.h).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hj_test_tmpdir(char *out, size_t n, const char *prefix)
{
	const char *base = getenv("TMPDIR");
	if (!base || !base[0])
		base = "/tmp";
	if ((size_t)snprintf(out, n, "%s/%sXXXXXX", base, prefix) >= n)
		return -1;
	return mkdtemp(out) ? 0 : -1;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p) ? -1 : 0;
}

int hj_test_rmtree(const char *path)
{
	if (access(path, F_OK) != 0)
		return 0;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int hj_test_copy_file(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rb"), *out = NULL;
	char buf[65536];
	size_t k;
	int rc = -1;
	if (!in)
		return -1;
	if (!(out = fopen(dst, "wb")))
		goto done;
	while ((k = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, k, out) != k)
			goto done;
	rc = ferror(in) ? -1 : 0;
done:
	if (out && fclose(out))
		rc = -1;
	fclose(in);
	return rc;
}

static const char *copy_src, *copy_dst;

static int copy_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	char to[4096];
	if ((size_t)snprintf(to, sizeof to, "%s%s", copy_dst, p + strlen(copy_src)) >= sizeof to)
		return -1;
	if (flag == FTW_D)
		return mkdir(to, sb->st_mode & 07777) == 0 ? 0 : -1;
	if (flag != FTW_F)
		return -1; /* links and the unreadable are not expected here */
	if (hj_test_copy_file(p, to))
		return -1;
	return chmod(to, sb->st_mode & 07777) == 0 ? 0 : -1;
}

int hj_test_copy_tree(const char *src, const char *dst)
{
	copy_src = src;
	copy_dst = dst;
	return nftw(src, copy_entry, 16, FTW_PHYS);
}
