/*
 * lockfile.h — the process locks huiji takes in a repository (one sync per
 * node, one outbox writer, one sequencer per hub) and the clean-up they
 * make safe: a git ref lock file found under a lock only huiji's holder
 * writes was left by a process killed mid-write (libgit2 cannot clean up
 * after SIGKILL) and would fail every later write of that ref.
 */
#ifndef HJ_LOCKFILE_H
#define HJ_LOCKFILE_H

#include <stdint.h>

/* flock(LOCK_EX) on `path` (created 0600). wait: block until free; else
 * HJ_ECONFLICT at once when another process holds it. Returns the fd to
 * close (which releases it), or HJ_ERROR naming the path. */
int hj_lockfile_take(const char *path, int wait);

/* Remove the ref lock files ("*.lock") in `dir` — below it too when
 * `recursive` — that are at least `min_age_s` seconds old (0: every one).
 * A missing directory is 0; a lock that cannot be removed is HJ_ERROR. */
int hj_lockfile_clear_stale(const char *dir, int recursive, int64_t min_age_s);

#endif
