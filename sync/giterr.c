/*
 * giterr.c — libgit2 return codes and messages into huiji's error slot.
 *
 * The table is the single place that decides what a libgit2 failure means
 * to huiji (libgit2's docs/error-handling.md: translate a foreign library's
 * errors in one adapter).
 */
#include "giterr.h"

#include "error.h"

#include <git2.h>

#include <stdarg.h>
#include <stdio.h>

int hj_git_code(int git_rc)
{
	switch (git_rc) {
	case GIT_ENOTFOUND:
		return HJ_ENOTFOUND;
	case GIT_EEXISTS:
		return HJ_EEXISTS;
	case GIT_ELOCKED:
	case GIT_EMODIFIED:
	case GIT_ENONFASTFORWARD:
		return HJ_ECONFLICT;
	case GIT_EINVALIDSPEC:
	case GIT_EINVALID:
	case GIT_EAMBIGUOUS:
		return HJ_EINVALID;
	case GIT_EMISMATCH:
		return HJ_ECORRUPT;
	case GIT_EEOF: /* a transport's early end of stream */
	case GIT_EAUTH:
	case GIT_ECERTIFICATE:
		return HJ_ENET;
	case GIT_EOWNER:
		return HJ_EPERM;
	default:
		return HJ_ERROR;
	}
}

const char *hj_git_message(void)
{
	/* NULL when libgit2 set no message (some 1.5.1 internal returns, or
	 * after git_error_clear); a message of NULL is not promised either. */
	const git_error *e = git_error_last();
	return e && e->message && e->message[0] ? e->message : "unknown libgit2 error";
}

static int hj_git_record(int hj_code, int git_rc, const char *fmt, va_list ap)
{
	char what[512];
	vsnprintf(what, sizeof what, fmt, ap);
	if (!hj_code)
		hj_code = hj_git_code(git_rc);
	return hj_error_set(hj_code, "%s: %s (libgit2 %d)", what, hj_git_message(), git_rc);
}

int hj_git_error(int git_rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = hj_git_record(0, git_rc, fmt, ap);
	va_end(ap);
	return rc;
}

int hj_git_error_as(int hj_code, int git_rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = hj_git_record(hj_code, git_rc, fmt, ap);
	va_end(ap);
	return rc;
}
