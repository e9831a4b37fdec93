/*
 * giterr.h — the one adapter from libgit2 errors to huiji errors.
 *
 * Every libgit2 failure in sync/ and tools/ goes through here: its return
 * code becomes an HJ_E* code by one table, and its message is copied into
 * huiji's error slot at once (the next libgit2 call may overwrite it). It
 * copes with git_error_last() returning NULL, which 1.5.1 does for some
 * internal failures and after git_error_clear().
 */
#ifndef HJ_GITERR_H
#define HJ_GITERR_H

/* The HJ_E* code for a libgit2 return code:
 *  GIT_ENOTFOUND                          HJ_ENOTFOUND
 *  GIT_EEXISTS                            HJ_EEXISTS
 *  GIT_ELOCKED, GIT_EMODIFIED,
 *  GIT_ENONFASTFORWARD                    HJ_ECONFLICT
 *  GIT_EINVALIDSPEC, GIT_EINVALID,
 *  GIT_EAMBIGUOUS                         HJ_EINVALID
 *  GIT_EMISMATCH                          HJ_ECORRUPT
 *  GIT_EEOF, GIT_EAUTH, GIT_ECERTIFICATE  HJ_ENET
 *  GIT_EOWNER                             HJ_EPERM
 *  anything else (also 0 or positive)     HJ_ERROR */
int hj_git_code(int git_rc);

/* libgit2's last message, or "unknown libgit2 error" when it set none.
 * Never NULL; valid until the next libgit2 call on this thread. */
const char *hj_git_message(void);

/* Record "<what>: <libgit2 message> (libgit2 <git_rc>)" and return
 * hj_git_code(git_rc). `fmt` says what was being done ("read ref %s"). */
int hj_git_error(int git_rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The same, but return `hj_code` whatever git_rc is: for callers that know
 * better what the failure means (a missing parent commit is a broken
 * chain, HJ_ECORRUPT, not HJ_ENOTFOUND). hj_code 0 = hj_git_code(git_rc). */
int hj_git_error_as(int hj_code, int git_rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
