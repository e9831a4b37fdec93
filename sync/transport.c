/*
 * transport.c — git ls/fetch/push in a watched child process.
 *
 * Guarantees (see transport.h): bounded time, HJ_ENET with a one-line
 * message for every network failure, push success only on the remote's own
 * "ok" for our ref, no zombies, no leaked descriptors in the caller.
 *
 * Why a child process and not a thread or a custom stream:
 *  - libgit2 1.5.1 has no network timeouts (socket timeouts arrived in
 *    1.7). A peer that accepts and never answers blocks git_remote_fetch /
 *    git_remote_connect forever in connect() or recv(), and nothing inside
 *    the process can interrupt that call safely: cancelling from a progress
 *    callback only works while progress is being made, and a thread cannot
 *    be killed without leaving libgit2's state (locks, half-written files,
 *    its allocations) behind in our address space.
 *  - A dropped push raises SIGPIPE (1.5.1 writes with send() without
 *    MSG_NOSIGNAL); the child ignores SIGPIPE so that becomes an error,
 *    and even if it did not, only the child would die.
 *  - Killing the child (SIGKILL) is always safe for both repositories:
 *    git writes refs only after a complete, indexed pack (a cut fetch
 *    leaves no partial pack and moves no ref; a leftover temporary pack is
 *    garbage for gc), and the receiving side of git daemon (receive-pack)
 *    keeps a pushed pack in a quarantine directory until it updates the
 *    ref. What is NOT knowable after a kill or a drop is whether the hub
 *    had already moved the ref: hence HJ_ENET means "unknown", and the
 *    caller's next attempt starts with hj_transport_ls.
 *  - git_remote_push returns 0 even when the server rejects a ref in
 *    1.5.1: the child records every push_update_reference status and
 *    success means "the remote said ok for exactly our ref".
 *
 * Protocol between the processes, over two close-on-exec pipes:
 *  - heartbeat pipe (child -> parent, non-blocking writes): 's' when the
 *    child starts, 'n' for every sign of network progress: the remote's
 *    ref advertisement arriving (git_remote_connect returned; for git://
 *    that is the first byte the server sends), a certificate, and every
 *    transfer_progress, push_transfer_progress, pack_progress and
 *    sideband_progress callback. A full pipe just drops the byte: the
 *    parent has unread heartbeats then anyway.
 *  - result pipe (child -> parent): one record written just before
 *    _exit: u32 rc (two's complement), u32 message length, message,
 *    u32 ref count, that many hj_remote_ref structs (same binary, same
 *    layout). A missing or short record means the child died.
 * The parent polls both and kills the child when no 'n' came within
 * connect_timeout_ms of the start, when no heartbeat came for
 * idle_timeout_ms after the first 'n', or when total_timeout_ms passed,
 * then always reaps it with waitpid.
 *
 * The child (transport_child.c) opens the repository by path
 * (hj_gitrepo_path of the caller's handle) and calls git_libgit2_init
 * itself; it never touches the
 * caller's git objects, which it inherited in an unknown state. It leaves
 * with _exit, so no atexit handlers (or the caller's stdio buffers) run
 * twice.
 */
#define _GNU_SOURCE /* pipe2 */
#include "transport.h"
#include "transport_int.h"

#include "buf.h"
#include "clock.h"
#include "error.h"
#include "giterr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/prctl.h>
#include <unistd.h>

#define HJ_NET_CONNECT_MS 10000
#define HJ_NET_IDLE_MS 20000
#define HJ_NET_TOTAL_MS 300000

void hj_net_opts_default(hj_net_opts *o)
{
	o->connect_timeout_ms = HJ_NET_CONNECT_MS;
	o->idle_timeout_ms = HJ_NET_IDLE_MS;
	o->total_timeout_ms = HJ_NET_TOTAL_MS;
}

static void hj_net_opts_fill(hj_net_opts *dst, const hj_net_opts *src)
{
	hj_net_opts_default(dst);
	if (!src)
		return;
	if (src->connect_timeout_ms > 0)
		dst->connect_timeout_ms = src->connect_timeout_ms;
	if (src->idle_timeout_ms > 0)
		dst->idle_timeout_ms = src->idle_timeout_ms;
	if (src->total_timeout_ms > 0)
		dst->total_timeout_ms = src->total_timeout_ms;
}

static int64_t hj_now_ms(void)
{
	return hj_clock_mono_ms();
}

/* "10 s", "1.5 s" */
static void hj_secs(char *out, size_t n, int ms)
{
	snprintf(out, n, "%g s", ms / 1000.0);
}

/* ================= parent side ================= */

static void hj_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read what is there from fd into b (or discard when b is NULL). Returns
 * bytes read, 0 at EOF, -1 on a real error; EAGAIN/EINTR count as 1 so
 * the caller keeps the descriptor. */
static ssize_t hj_drain(int fd, hj_buf *b, int *saw_net)
{
	uint8_t tmp[4096];
	ssize_t r = read(fd, tmp, sizeof tmp);
	if (r < 0)
		return (errno == EINTR || errno == EAGAIN) ? 1 : -1;
	if (b)
		hj_buf_put(b, tmp, (size_t)r);
	if (saw_net)
		for (ssize_t i = 0; i < r; i++)
			if (tmp[i] == HJ_HB_NET)
				*saw_net = 1;
	return r;
}

static pid_t hj_reap(pid_t pid, int *status)
{
	pid_t w;
	do
		w = waitpid(pid, status, 0);
	while (w < 0 && errno == EINTR);
	return w;
}

/* One child under watch: its pid, the parent's ends of the pipes, what
 * it has written to the result pipe so far, and why it was killed. */
enum { K_NONE, K_CONNECT, K_IDLE, K_TOTAL };
typedef struct hj_watch {
	pid_t pid;
	int hb[2], res[2];
	hj_buf rec;
	int status;
	int killed;
} hj_watch;

/* Make the pipes and fork; the child never returns from here. */
static int run_spawn(hj_watch *w, const hj_job *job, const hj_net_opts *o)
{
	if (pipe2(w->hb, O_CLOEXEC) < 0 || pipe2(w->res, O_CLOEXEC) < 0)
		return hj_error_set(HJ_ERROR, "transport: pipe: %s", strerror(errno));
	fflush(NULL); /* nothing buffered gets written twice */
	pid_t parent = getpid();
	w->pid = fork();
	if (w->pid < 0)
		return hj_error_set(HJ_ERROR, "transport: fork: %s", strerror(errno));
	if (w->pid == 0) {
		/* The watchdog is the parent: if it is killed (kill -9, the OOM
		 * killer), the child must not wait on a stalled hub forever. It
		 * dies with its parent, and in any case by the total limit. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(5);
		alarm((unsigned)(o->total_timeout_ms / 1000 + 5));
		close(w->hb[0]);
		close(w->res[0]);
		hj_child_main(job, w->hb[1], w->res[1]);
	}
	hj_close(&w->hb[1]);
	hj_close(&w->res[1]);
	return 0;
}

/* Read what is ready on the result pipe; bounded by the largest record. */
static int watch_result(hj_watch *w)
{
	ssize_t r = hj_drain(w->res[0], &w->rec, NULL);
	if (w->rec.rc)
		return hj_error_set(HJ_ENOMEM, "transport: out of memory");
	if (r <= 0)
		hj_close(&w->res[0]);
	else if (w->rec.len > 16 + HJ_MSG_MAX + (size_t)HJ_REFS_MAX * sizeof(hj_remote_ref))
		return hj_error_set(HJ_ECORRUPT, "transport: oversized result");
	return 0;
}

/* Poll both pipes until the result pipe closes or a limit passes (then
 * the child is killed and w->killed says which limit). */
static int run_watch(hj_watch *w, const hj_net_opts *o)
{
	int saw_net = 0, rc;
	int64_t start, last;

	start = last = hj_now_ms();
	while (w->res[0] >= 0) {
		int64_t now = hj_now_ms(), deadline = saw_net ? last + o->idle_timeout_ms : start + o->connect_timeout_ms;
		int which = saw_net ? K_IDLE : K_CONNECT;
		struct pollfd pf[2];
		nfds_t npf = 0;

		if (start + o->total_timeout_ms <= deadline) {
			deadline = start + o->total_timeout_ms;
			which = K_TOTAL;
		}
		if (now >= deadline) {
			w->killed = which;
			kill(w->pid, SIGKILL);
			return 0;
		}
		pf[npf].fd = w->res[0];
		pf[npf++].events = POLLIN;
		if (w->hb[0] >= 0) {
			pf[npf].fd = w->hb[0];
			pf[npf++].events = POLLIN;
		}
		int64_t wait = deadline - now;
		int pr = poll(pf, npf, wait > INT_MAX ? INT_MAX : (int)wait);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return hj_error_set(HJ_ERROR, "transport: poll: %s", strerror(errno));
		if (npf > 1 && pf[1].revents) {
			int before = saw_net;
			ssize_t r = hj_drain(w->hb[0], NULL, &saw_net);
			if (r <= 0)
				hj_close(&w->hb[0]);
			else if (saw_net || before)
				last = hj_now_ms();
		}
		if (pf[0].revents && (rc = watch_result(w)) < 0)
			return rc;
	}
	return 0;
}

/* The one-line message for a child killed at a limit. */
static int run_timeout(int killed, const hj_net_opts *o)
{
	char secs[32];
	switch (killed) {
	case K_CONNECT:
		hj_secs(secs, sizeof secs, o->connect_timeout_ms);
		return hj_error_set(HJ_ENET, "hub unreachable (connect timeout %s)", secs);
	case K_IDLE:
		hj_secs(secs, sizeof secs, o->idle_timeout_ms);
		return hj_error_set(HJ_ENET, "connection stalled (no progress for %s)", secs);
	default:
		hj_secs(secs, sizeof secs, o->total_timeout_ms);
		return hj_error_set(HJ_ENET, "connection timed out (total limit %s)", secs);
	}
}

/* Decode the child's record (layout: transport.c's header comment). */
static int run_decode(const hj_watch *w, hj_remote_ref **refs_out, size_t *nrefs_out)
{
	const uint8_t *p = w->rec.data;
	size_t len = w->rec.len;
	uint32_t mlen, nrefs;
	int code;

	if (len < 8 || len - 8 < (mlen = hj_get_u32le(p + 4)) || len - 8 - mlen < 4) {
		if (w->pid < 0 && WIFSIGNALED(w->status))
			return hj_error_set(HJ_ENET, "connection dropped: transport child killed by signal %d",
					    WTERMSIG(w->status));
		return hj_error_set(HJ_ENET, "connection dropped: transport child ended without a result (exit %d)",
				    w->pid < 0 && WIFEXITED(w->status) ? WEXITSTATUS(w->status) : -1);
	}
	code = (int)(int32_t)hj_get_u32le(p);
	nrefs = hj_get_u32le(p + 8 + mlen);
	if (code > 0 || code < HJ_EPERM || (len - 12 - mlen) / sizeof(hj_remote_ref) != nrefs ||
	    (len - 12 - mlen) % sizeof(hj_remote_ref) != 0)
		return hj_error_set(HJ_ECORRUPT, "transport: malformed child result");
	if (code != 0)
		return hj_error_set(code, "%.*s", (int)mlen, (const char *)p + 8);
	if (refs_out && nrefs > 0) {
		hj_remote_ref *a = malloc(nrefs * sizeof *a);
		if (!a)
			return hj_error_set(HJ_ENOMEM, "transport: out of memory");
		memcpy(a, p + 12 + mlen, nrefs * sizeof *a);
		for (uint32_t i = 0; i < nrefs; i++)
			a[i].name[sizeof a[i].name - 1] = '\0';
		*refs_out = a;
		*nrefs_out = nrefs;
	}
	return 0;
}

/* Run `job` in a child under the watchdog. On success returns 0 and the
 * child's decoded record: its rc/message already turned into hj_error_set,
 * refs (for ls) in *refs_out / *nrefs_out (malloc'd, for free()). */
static int hj_run(const hj_job *job, const hj_net_opts *opts, hj_remote_ref **refs_out, size_t *nrefs_out)
{
	hj_net_opts o;
	hj_watch w = {.pid = -1, .hb = {-1, -1}, .res = {-1, -1}, .rec = HJ_BUF_INIT};
	int ret;

	hj_net_opts_fill(&o, opts);
	if (refs_out)
		*refs_out = NULL;
	if (nrefs_out)
		*nrefs_out = 0;
	if ((ret = run_spawn(&w, job, &o)) < 0 || (ret = run_watch(&w, &o)) < 0)
		goto done;
	/* Either the result is complete (EOF: the child is in _exit) or we
	 * just sent SIGKILL: both end promptly, so a blocking wait is bounded. */
	if (hj_reap(w.pid, &w.status) == w.pid)
		w.pid = -1;
	ret = w.killed != K_NONE ? run_timeout(w.killed, &o) : run_decode(&w, refs_out, nrefs_out);
done:
	if (w.pid > 0) {
		kill(w.pid, SIGKILL);
		hj_reap(w.pid, &w.status);
	}
	hj_close(&w.hb[0]);
	hj_close(&w.hb[1]);
	hj_close(&w.res[0]);
	hj_close(&w.res[1]);
	hj_buf_free(&w.rec);
	return ret;
}

static int hj_job_init(hj_job *job, int op, hj_gitrepo *r, const char *url)
{
	const char *path;
	memset(job, 0, sizeof *job);
	job->op = op;
	if (!r || !url || !url[0])
		return hj_error_set(HJ_EINVALID, "transport: no repository or url");
	path = hj_gitrepo_path(r);
	if (!path || strlen(path) >= sizeof job->path)
		return hj_error_set(HJ_EINVALID, "transport: bad repository path");
	strcpy(job->path, path);
	job->url = url;
	return 0;
}

int hj_transport_ls(hj_remote_ref **out, size_t *n, hj_gitrepo *r,
		    const char *url, const char *prefix, const hj_net_opts *o)
{
	hj_job job;
	int ret;

	*out = NULL;
	*n = 0;
	if ((ret = hj_job_init(&job, HJ_OP_LS, r, url)) != 0)
		return ret;
	job.prefix = prefix;
	return hj_run(&job, o, out, n);
}

int hj_transport_fetch(hj_gitrepo *r, const char *url,
		       const char *const *refspecs, size_t nspecs,
		       const hj_net_opts *o)
{
	hj_job job;
	int ret;

	if ((ret = hj_job_init(&job, HJ_OP_FETCH, r, url)) != 0)
		return ret;
	if (nspecs == 0 || !refspecs)
		return hj_error_set(HJ_EINVALID, "fetch: no refspecs");
	/* Refuse a malformed refspec before anything is contacted. */
	for (size_t i = 0; i < nspecs; i++) {
		git_refspec *spec = NULL;
		if (!refspecs[i] || git_refspec_parse(&spec, refspecs[i], 1) < 0)
			return hj_error_set(HJ_EINVALID, "fetch: bad refspec '%s'",
					    refspecs[i] ? refspecs[i] : "(null)");
		git_refspec_free(spec);
	}
	job.refspecs = refspecs;
	job.nspecs = nspecs;
	return hj_run(&job, o, NULL, NULL);
}

static int hj_is_hex_oid(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return i == GIT_OID_HEXSZ;
}

int hj_transport_push(hj_gitrepo *r, const char *url, const char *local_ref,
		      const char *remote_ref, const hj_net_opts *o)
{
	static unsigned tmp_counter;
	hj_job job;
	char tmpname[128] = "";
	git_oid id;
	int ret;

	if ((ret = hj_job_init(&job, HJ_OP_PUSH, r, url)) != 0)
		goto done;
	if (!local_ref || !remote_ref || strncmp(remote_ref, "refs/", 5) != 0 ||
	    strchr(local_ref, ':') || strchr(remote_ref, ':') ||
	    local_ref[0] == '+' || strlen(local_ref) + strlen(remote_ref) > 1000) {
		ret = hj_error_set(HJ_EINVALID, "push: bad refs '%s' -> '%s'",
				   local_ref ? local_ref : "(null)",
				   remote_ref ? remote_ref : "(null)");
		goto done;
	}
	if (hj_is_hex_oid(local_ref)) {
		/* libgit2 1.5.1 resolves a push source with
		 * git_reference_name_to_id only: name the commit. */
		if (git_oid_fromstr(&id, local_ref) < 0 || (ret = hj_gitrepo_has_commit(r, &id)) == 0) {
			ret = hj_error_set(HJ_ENOTFOUND,
					   "push: no local commit %s", local_ref);
			goto done;
		}
		if (ret < 0)
			goto done;
		snprintf(tmpname, sizeof tmpname, "refs/huiji/tmp/push-%ld-%u",
			 (long)getpid(), ++tmp_counter);
		if ((ret = hj_gitrepo_ref_set(r, tmpname, &id, "huiji push")) < 0) {
			tmpname[0] = '\0';
			ret = hj_error_wrap(ret, "push: temporary ref: ");
			goto done;
		}
		local_ref = tmpname;
	} else if ((ret = hj_gitrepo_ref_get(&id, r, local_ref)) < 0) {
		if (ret == HJ_ENOTFOUND)
			ret = hj_error_set(HJ_ENOTFOUND, "push: no local ref %s",
					   local_ref);
		goto done;
	}
	job.local_ref = local_ref;
	job.remote_ref = remote_ref;
	ret = hj_run(&job, o, NULL, NULL);

done:
	/* The scratch ref goes even when the push failed; a failure to
	 * remove it must not hide the push's outcome (it is overwritten by
	 * the next push under this pid, and nothing reads refs/huiji/tmp/). */
	if (tmpname[0]) {
		int keep = hj_error_code();
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", hj_error_last());
		if (hj_gitrepo_ref_delete(r, tmpname) && ret)
			hj_error_set(keep, "%s", msg);
	}
	return ret;
}

