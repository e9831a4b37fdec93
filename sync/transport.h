/*
 * transport.h — bounded, observable git network operations (ls, fetch, push).
 *
 * Guarantees: every call returns within about total_timeout_ms (plus the
 * time to SIGKILL and reap one child), whatever the peer does; a connection
 * that never answers, stalls or drops ends as HJ_ENET with a one-line
 * message; no call leaves a zombie process, an open descriptor or a
 * changed signal disposition behind in the caller. Local paths and file://
 * URLs go through exactly the same code (libgit2's local transport).
 *
 * How: each operation runs in a forked child that does the libgit2 work
 * while the caller's process watches it with poll() and kills it when it
 * stops making progress. See transport.c for why (libgit2 1.5.1 has no
 * network timeouts) and why killing the child is always safe.
 *
 * Callers must not set SIGCHLD to SIG_IGN (the child could then not be
 * reaped by pid and its result would be lost) and should call these from a
 * process whose other threads do not hold libgit2 locks at the moment of
 * the fork (huiji's sync is single-threaded).
 */
#ifndef HJ_TRANSPORT_H
#define HJ_TRANSPORT_H

#include <stddef.h>

#include <git2.h>

#include "gitfeed.h"

typedef struct hj_net_opts {
	int connect_timeout_ms; /* until the remote's ref advertisement; 10000 */
	int idle_timeout_ms;    /* no progress for this long => kill; 20000 */
	int total_timeout_ms;   /* whole operation; 300000 */
} hj_net_opts;

/* Fill in the defaults above. A field <= 0 in opts passed to the calls
 * below also means its default; opts may be NULL (all defaults). */
void hj_net_opts_default(hj_net_opts *o);

typedef struct hj_remote_ref {
	char name[256]; /* NUL-terminated */
	git_oid oid;
} hj_remote_ref;

/* List the remote's refs whose names start with `prefix` (e.g.
 * "refs/huiji/"; NULL or "" = all), in the order the remote advertised
 * them, peeled "^{}" entries left out: "ask the hub what it has".
 * *out is a malloc'd array for free() (NULL when *n == 0). A ref whose
 * name does not fit in 255 bytes is left out (huiji never makes one that
 * long under refs/huiji/ with node ids of <= 238 bytes).
 * HJ_ENET: unreachable / timed out / dropped. */
int hj_transport_ls(hj_remote_ref **out, size_t *n, hj_gitrepo *r,
		    const char *url, const char *prefix, const hj_net_opts *o);

/* Fetch with the given refspecs into r. Forced glob refspecs (leading '+')
 * from refs/huiji/feeds/ into refs/huiji/incoming/feeds/ are the normal use: the
 * caller verifies what arrived and then moves real refs with CAS (a
 * non-forced refspec silently skips a non-fast-forward in 1.5.1). No tags,
 * no FETCH_HEAD, no pruning. HJ_EINVALID for a malformed refspec (nothing
 * is contacted); HJ_ENET for any failure once the network is involved —
 * a cut fetch leaves no partial pack and moves no ref, so just retry. */
int hj_transport_fetch(hj_gitrepo *r, const char *url,
		       const char *const *refspecs, size_t nspecs,
		       const hj_net_opts *o);

/* Push one local ref (a full ref name, or a commit as 40 hex digits) to
 * one remote ref, non-forced.
 *  0            the remote reported `remote_ref` accepted (or it already
 *               pointed at exactly this commit: nothing is sent);
 *  HJ_ECONFLICT the remote rejected it, or libgit2 refused it locally as
 *               non-fast-forward; the message carries the remote's status
 *               text and what it printed (a pre-receive hook's refusal);
 *  HJ_ENOTFOUND local_ref does not exist (nothing is contacted);
 *  HJ_ENET      connection failed, timed out, dropped, or the outcome is
 *               unknown (the remote may or may not have moved the ref:
 *               the next attempt must start with hj_transport_ls).
 * For a commit id a temporary ref refs/huiji/tmp/push-<pid>-<n> is made in
 * r for the duration of the call (libgit2 1.5.1 pushes only named refs). */
int hj_transport_push(hj_gitrepo *r, const char *url, const char *local_ref,
		      const char *remote_ref, const hj_net_opts *o);

#endif
