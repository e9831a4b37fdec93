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
 * The child opens the repository by path (git_repository_path of the
 * caller's handle) and calls git_libgit2_init itself; it never touches the
 * caller's git objects, which it inherited in an unknown state. It leaves
 * with _exit, so no atexit handlers (or the caller's stdio buffers) run
 * twice.
 */
#define _GNU_SOURCE /* pipe2 */
#include "transport.h"

#include "buf.h"
#include "clock.h"
#include "error.h"

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

#define HJ_HB_START 's'
#define HJ_HB_NET 'n'

/* Caps that keep one record small and the parent's memory bounded. */
#define HJ_MSG_MAX 2048
#define HJ_REMOTE_TEXT_MAX 1024
#define HJ_REFS_MAX 1000000u

enum { HJ_OP_LS, HJ_OP_FETCH, HJ_OP_PUSH };

/* What the child is to do; filled in by the parent before fork, so the
 * child reads it from its copy of the address space. */
typedef struct hj_job {
	int op;
	char path[PATH_MAX];
	const char *url;
	const char *prefix;             /* ls */
	const char *const *refspecs;    /* fetch */
	size_t nspecs;
	const char *local_ref;          /* push */
	const char *remote_ref;
} hj_job;

/* The child's state, reachable from libgit2 callbacks via payload. */
typedef struct hj_child {
	int hb_fd;
	const char *remote_ref;
	int status_seen;
	int accepted;
	char status[256];
	char remote_text[HJ_REMOTE_TEXT_MAX];
	size_t remote_len;
	char msg[HJ_MSG_MAX];
	hj_buf refs; /* hj_remote_ref records for ls */
	int64_t last_net_ms; /* last network heartbeat written (0 = none yet) */
} hj_child;

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

/* ================= child side ================= */

static void hj_child_beat(hj_child *c, char what)
{
	ssize_t w;
	/* Progress callbacks fire once per object: a push of 10,000 change
	 * sets made 30,000 writes and as many wake-ups of the parent (15% of
	 * the push, measured by huiji-bench). One beat per 50 ms is plenty for
	 * timeouts counted in seconds; the first is never skipped. */
	if (what == HJ_HB_NET) {
		int64_t now = hj_clock_mono_ms();
		if (c->last_net_ms && now - c->last_net_ms < 50)
			return;
		c->last_net_ms = now;
	}
	do
		w = write(c->hb_fd, &what, 1);
	while (w < 0 && errno == EINTR);
	/* EAGAIN: the pipe is full of unread heartbeats; nothing lost. */
}

static const char *hj_giterr_text(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "unknown libgit2 error";
}

static int hj_child_fail(hj_child *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int hj_child_fail(hj_child *c, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof c->msg, fmt, ap);
	va_end(ap);
	return code;
}

static int hj_cb_transfer(const git_indexer_progress *stats, void *payload)
{
	(void)stats;
	hj_child_beat(payload, HJ_HB_NET);
	return 0;
}

static int hj_cb_push_transfer(unsigned int current, unsigned int total,
			       size_t bytes, void *payload)
{
	(void)current;
	(void)total;
	(void)bytes;
	hj_child_beat(payload, HJ_HB_NET);
	return 0;
}

static int hj_cb_pack(int stage, uint32_t current, uint32_t total,
		      void *payload)
{
	(void)stage;
	(void)current;
	(void)total;
	hj_child_beat(payload, HJ_HB_NET);
	return 0;
}

/* Remote's stderr (sideband 2): a pre-receive hook's refusal lines land
 * here. Kept (printable ASCII only, newlines as "; ") for the message. */
static int hj_cb_sideband(const char *str, int len, void *payload)
{
	hj_child *c = payload;
	hj_child_beat(c, HJ_HB_NET);
	for (int i = 0; i < len && c->remote_len + 3 < sizeof c->remote_text;
	     i++) {
		unsigned char ch = (unsigned char)str[i];
		if (ch == '\n' || ch == '\r') {
			if (c->remote_len > 0 &&
			    c->remote_text[c->remote_len - 1] != ' ') {
				c->remote_text[c->remote_len++] = ';';
				c->remote_text[c->remote_len++] = ' ';
			}
			continue;
		}
		c->remote_text[c->remote_len++] =
			(ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	c->remote_text[c->remote_len] = '\0';
	return 0;
}

static int hj_cb_cert(git_cert *cert, int valid, const char *host,
		      void *payload)
{
	(void)cert;
	(void)valid;
	(void)host;
	hj_child_beat(payload, HJ_HB_NET);
	return GIT_PASSTHROUGH; /* keep libgit2's own verdict */
}

/* Called by git_remote_upload for each status the remote reported; in
 * 1.5.1 this is the only place a rejected ref shows (the push itself
 * returns 0). status == NULL means "ok". */
static int hj_cb_push_ref(const char *refname, const char *status,
			  void *payload)
{
	hj_child *c = payload;
	if (strcmp(refname, c->remote_ref) != 0)
		return 0;
	c->status_seen = 1;
	c->accepted = status == NULL;
	if (status)
		snprintf(c->status, sizeof c->status, "%s", status);
	return 0;
}

static void hj_child_callbacks(git_remote_callbacks *cbs, hj_child *c)
{
	cbs->sideband_progress = hj_cb_sideband;
	cbs->certificate_check = hj_cb_cert;
	cbs->transfer_progress = hj_cb_transfer;
	cbs->pack_progress = hj_cb_pack;
	cbs->push_transfer_progress = hj_cb_push_transfer;
	cbs->push_update_reference = hj_cb_push_ref;
	cbs->payload = c;
}

static int hj_child_ls(hj_child *c, git_remote *remote, const char *prefix,
		       const git_oid **remote_oid)
{
	const git_remote_head **heads;
	size_t nheads, plen = prefix ? strlen(prefix) : 0;
	if (git_remote_ls(&heads, &nheads, remote) < 0)
		return hj_child_fail(c, HJ_ENET, "connection dropped: %s",
				     hj_giterr_text());
	for (size_t i = 0; i < nheads; i++) {
		const char *name = heads[i]->name;
		size_t len = strlen(name);
		if (remote_oid && strcmp(name, c->remote_ref) == 0)
			*remote_oid = &heads[i]->oid;
		if (plen && strncmp(name, prefix, plen) != 0)
			continue;
		if (len >= 3 && strcmp(name + len - 3, "^{}") == 0)
			continue;
		if (len >= sizeof ((hj_remote_ref *)0)->name)
			continue; /* documented in transport.h */
		hj_remote_ref rr;
		memset(&rr, 0, sizeof rr);
		memcpy(rr.name, name, len);
		git_oid_cpy(&rr.oid, &heads[i]->oid);
		hj_buf_put(&c->refs, &rr, sizeof rr);
	}
	if (c->refs.rc)
		return hj_child_fail(c, HJ_ENOMEM, "ls: out of memory");
	return 0;
}

static int hj_child_work(hj_child *c, const hj_job *job)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_remote_callbacks cbs;
	git_proxy_options proxy;
	git_direction dir = job->op == HJ_OP_PUSH ? GIT_DIRECTION_PUSH
						  : GIT_DIRECTION_FETCH;
	int rc, ret = 0;

	/* Refcounted: the copy of the parent's global state says "already
	 * initialised"; this keeps the child's own count balanced in spirit
	 * and initialises properly if the parent never did. */
	if (git_libgit2_init() < 0) {
		ret = hj_child_fail(c, HJ_ERROR, "git_libgit2_init: %s",
				    hj_giterr_text());
		goto done;
	}
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	if (git_repository_open(&repo, job->path) < 0) {
		ret = hj_child_fail(c, HJ_ERROR, "open %s: %s", job->path,
				    hj_giterr_text());
		goto done;
	}
	if (git_remote_create_anonymous(&remote, repo, job->url) < 0) {
		ret = hj_child_fail(c, HJ_EINVALID, "remote %s: %s", job->url,
				    hj_giterr_text());
		goto done;
	}
	git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
	git_proxy_options_init(&proxy, GIT_PROXY_OPTIONS_VERSION);
	hj_child_callbacks(&cbs, c);
	hj_child_beat(c, HJ_HB_START);
	/* Returns once the remote's ref advertisement has been read: for
	 * git:// the first bytes the server sends. */
	if (git_remote_connect(remote, dir, &cbs, &proxy, NULL) < 0) {
		ret = hj_child_fail(c, HJ_ENET, "hub unreachable: %s",
				    hj_giterr_text());
		goto done;
	}
	hj_child_beat(c, HJ_HB_NET);

	if (job->op == HJ_OP_LS) {
		ret = hj_child_ls(c, remote, job->prefix, NULL);
		goto done;
	}

	if (job->op == HJ_OP_FETCH) {
		git_fetch_options fo;
		git_strarray specs = {(char **)job->refspecs, job->nspecs};
		git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
		fo.callbacks = cbs;
		fo.prune = GIT_FETCH_NO_PRUNE;
		fo.update_fetchhead = 0;
		fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
		/* A cut fetch returns GIT_EEOF (or a read error) with no
		 * partial pack kept and no ref moved. */
		if (git_remote_fetch(remote, &specs, &fo, NULL) < 0)
			ret = hj_child_fail(c, HJ_ENET,
					    "connection dropped: %s",
					    hj_giterr_text());
		goto done;
	}

	/* push */
	{
		git_push_options po;
		git_oid local;
		const git_oid *remote_oid = NULL;
		char spec[1024];
		char *specp = spec;
		git_strarray specs = {&specp, 1};

		if (git_reference_name_to_id(&local, repo, job->local_ref) < 0) {
			ret = hj_child_fail(c, HJ_ENOTFOUND,
					    "push: no local ref %s: %s",
					    job->local_ref, hj_giterr_text());
			goto done;
		}
		if ((ret = hj_child_ls(c, remote, NULL, &remote_oid)) != 0)
			goto done;
		c->refs.len = 0; /* push reports no refs */
		if (remote_oid && git_oid_equal(remote_oid, &local))
			goto done; /* already there: nothing to send */
		snprintf(spec, sizeof spec, "%s:%s", job->local_ref,
			 job->remote_ref);
		git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
		po.callbacks = cbs;
		rc = git_remote_push(remote, &specs, &po);
		if (rc == GIT_ENONFASTFORWARD) {
			/* 1.5.1 checks this locally before sending. */
			ret = hj_child_fail(c, HJ_ECONFLICT,
					    "push %s rejected: %s",
					    job->remote_ref, hj_giterr_text());
			goto done;
		}
		if (rc < 0) {
			ret = hj_child_fail(c, HJ_ENET,
					    "connection dropped: %s (push "
					    "outcome unknown)",
					    hj_giterr_text());
			goto done;
		}
		/* rc == 0 says nothing about our ref in 1.5.1. */
		if (!c->status_seen) {
			ret = hj_child_fail(c, HJ_ENET,
					    "push outcome unknown: the remote "
					    "sent no status for %s",
					    job->remote_ref);
			goto done;
		}
		if (!c->accepted) {
			while (c->remote_len > 0 &&
			       (c->remote_text[c->remote_len - 1] == ' ' ||
				c->remote_text[c->remote_len - 1] == ';'))
				c->remote_text[--c->remote_len] = '\0';
			ret = hj_child_fail(c, HJ_ECONFLICT,
					    "hub rejected %s: %s%s%s",
					    job->remote_ref, c->status,
					    c->remote_len ? "; remote: " : "",
					    c->remote_text);
			goto done;
		}
	}

done:
	/* The child made these itself, so freeing them is safe; it keeps
	 * valgrind's view of the child clean. Inherited state is left alone:
	 * the process ends with _exit right after reporting. */
	git_remote_free(remote);
	git_repository_free(repo);
	return ret;
}

static int hj_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void hj_child_main(const hj_job *job, int hb_fd, int res_fd)
{
	hj_child c;
	hj_buf out = HJ_BUF_INIT;
	int ret;

	memset(&c, 0, sizeof c);
	/* A dropped push writes to a dead socket: make that EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
	c.hb_fd = hb_fd;
	c.remote_ref = job->remote_ref ? job->remote_ref : "";
	fcntl(hb_fd, F_SETFL, fcntl(hb_fd, F_GETFL) | O_NONBLOCK);

	ret = hj_child_work(&c, job);

	hj_buf_put_u32le(&out, (uint32_t)ret);
	hj_buf_put_u32le(&out, (uint32_t)strlen(c.msg));
	hj_buf_puts(&out, c.msg);
	hj_buf_put_u32le(&out, (uint32_t)(c.refs.len / sizeof(hj_remote_ref)));
	if (c.refs.len)
		hj_buf_put(&out, c.refs.data, c.refs.len);
	if (out.rc || hj_write_all(res_fd, out.data, out.len) < 0)
		_exit(3);
	_exit(0);
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

/* Run `job` in a child under the watchdog. On success returns 0 and the
 * child's decoded record: its rc/message already turned into hj_error_set,
 * refs (for ls) in *refs_out / *nrefs_out. */
static int hj_run(const hj_job *job, const hj_net_opts *opts,
		  hj_remote_ref **refs_out, size_t *nrefs_out)
{
	hj_net_opts o;
	int hb[2] = {-1, -1}, res[2] = {-1, -1};
	hj_buf rec = HJ_BUF_INIT;
	pid_t pid = -1;
	int status = 0, saw_net = 0, ret = 0;
	enum { K_NONE, K_CONNECT, K_IDLE, K_TOTAL } killed = K_NONE;
	char secs[32];
	int64_t start, last;

	hj_net_opts_fill(&o, opts);
	if (refs_out)
		*refs_out = NULL;
	if (nrefs_out)
		*nrefs_out = 0;
	if (pipe2(hb, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
		ret = hj_error_set(HJ_ERROR, "transport: pipe: %s",
				   strerror(errno));
		goto done;
	}
	fflush(NULL); /* nothing buffered gets written twice */
	pid_t parent = getpid();
	pid = fork();
	if (pid < 0) {
		ret = hj_error_set(HJ_ERROR, "transport: fork: %s",
				   strerror(errno));
		goto done;
	}
	if (pid == 0) {
		/* The watchdog is the parent: if it is killed (kill -9, the OOM
		 * killer), the child must not wait on a stalled hub forever. It
		 * dies with its parent, and in any case by the total limit. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(5);
		alarm((unsigned)(o.total_timeout_ms / 1000 + 5));
		close(hb[0]);
		close(res[0]);
		hj_child_main(job, hb[1], res[1]);
		_exit(4); /* not reached */
	}
	hj_close(&hb[1]);
	hj_close(&res[1]);

	start = last = hj_now_ms();
	while (res[0] >= 0) {
		int64_t now = hj_now_ms(), deadline;
		int which;
		struct pollfd pf[2];
		nfds_t npf = 0;

		if (!saw_net) {
			deadline = start + o.connect_timeout_ms;
			which = K_CONNECT;
		} else {
			deadline = last + o.idle_timeout_ms;
			which = K_IDLE;
		}
		if (start + o.total_timeout_ms <= deadline) {
			deadline = start + o.total_timeout_ms;
			which = K_TOTAL;
		}
		if (now >= deadline) {
			killed = which;
			kill(pid, SIGKILL);
			break;
		}
		pf[npf].fd = res[0];
		pf[npf++].events = POLLIN;
		if (hb[0] >= 0) {
			pf[npf].fd = hb[0];
			pf[npf++].events = POLLIN;
		}
		int64_t wait = deadline - now;
		int pr = poll(pf, npf, wait > INT_MAX ? INT_MAX : (int)wait);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			ret = hj_error_set(HJ_ERROR, "transport: poll: %s",
					   strerror(errno));
			kill(pid, SIGKILL);
			goto done;
		}
		if (npf > 1 && pf[1].revents) {
			int before = saw_net;
			ssize_t r = hj_drain(hb[0], NULL, &saw_net);
			if (r <= 0)
				hj_close(&hb[0]);
			else if (saw_net || before)
				last = hj_now_ms();
		}
		if (pf[0].revents) {
			ssize_t r = hj_drain(res[0], &rec, NULL);
			if (rec.rc) {
				ret = hj_error_set(HJ_ENOMEM,
						   "transport: out of memory");
				kill(pid, SIGKILL);
				goto done;
			}
			if (r <= 0)
				hj_close(&res[0]);
			else if (rec.len > 16 + HJ_MSG_MAX +
						   (size_t)HJ_REFS_MAX *
							   sizeof(hj_remote_ref)) {
				ret = hj_error_set(HJ_ECORRUPT,
						   "transport: oversized result");
				kill(pid, SIGKILL);
				goto done;
			}
		}
	}

	/* Either the result is complete (EOF: the child is in _exit) or we
	 * just sent SIGKILL: both end promptly, so a blocking wait is bounded. */
	if (hj_reap(pid, &status) == pid)
		pid = -1;

	switch (killed) {
	case K_CONNECT:
		hj_secs(secs, sizeof secs, o.connect_timeout_ms);
		ret = hj_error_set(HJ_ENET, "hub unreachable (connect timeout %s)",
				   secs);
		goto done;
	case K_IDLE:
		hj_secs(secs, sizeof secs, o.idle_timeout_ms);
		ret = hj_error_set(HJ_ENET,
				   "connection stalled (no progress for %s)",
				   secs);
		goto done;
	case K_TOTAL:
		hj_secs(secs, sizeof secs, o.total_timeout_ms);
		ret = hj_error_set(HJ_ENET,
				   "connection timed out (total limit %s)",
				   secs);
		goto done;
	case K_NONE:
		break;
	}

	/* Decode the record. */
	{
		const uint8_t *p = rec.data;
		size_t len = rec.len;
		uint32_t rc32, mlen, nrefs;
		int code;

		if (len < 8 || len - 8 < (mlen = hj_get_u32le(p + 4)) ||
		    len - 8 - mlen < 4) {
			if (pid < 0 && WIFSIGNALED(status))
				ret = hj_error_set(HJ_ENET,
						   "connection dropped: transport "
						   "child killed by signal %d",
						   WTERMSIG(status));
			else
				ret = hj_error_set(HJ_ENET,
						   "connection dropped: transport "
						   "child ended without a result "
						   "(exit %d)",
						   pid < 0 && WIFEXITED(status)
							   ? WEXITSTATUS(status)
							   : -1);
			goto done;
		}
		rc32 = hj_get_u32le(p);
		code = (int)(int32_t)rc32;
		nrefs = hj_get_u32le(p + 8 + mlen);
		if (code > 0 || code < HJ_EPERM ||
		    (len - 12 - mlen) / sizeof(hj_remote_ref) != nrefs ||
		    (len - 12 - mlen) % sizeof(hj_remote_ref) != 0) {
			ret = hj_error_set(HJ_ECORRUPT,
					   "transport: malformed child result");
			goto done;
		}
		if (code != 0) {
			ret = hj_error_set(code, "%.*s", (int)mlen,
					   (const char *)p + 8);
			goto done;
		}
		if (refs_out && nrefs > 0) {
			hj_remote_ref *a = malloc(nrefs * sizeof *a);
			if (!a) {
				ret = hj_error_set(HJ_ENOMEM,
						   "transport: out of memory");
				goto done;
			}
			memcpy(a, p + 12 + mlen, nrefs * sizeof *a);
			for (uint32_t i = 0; i < nrefs; i++)
				a[i].name[sizeof a[i].name - 1] = '\0';
			*refs_out = a;
			*nrefs_out = nrefs;
		}
	}

done:
	if (pid > 0) {
		kill(pid, SIGKILL);
		hj_reap(pid, &status);
	}
	hj_close(&hb[0]);
	hj_close(&hb[1]);
	hj_close(&res[0]);
	hj_close(&res[1]);
	hj_buf_free(&rec);
	return ret;
}

static int hj_job_init(hj_job *job, int op, hj_gitrepo *r, const char *url)
{
	const char *path;
	memset(job, 0, sizeof *job);
	job->op = op;
	if (!r || !url || !url[0])
		return hj_error_set(HJ_EINVALID, "transport: no repository or url");
	path = git_repository_path(hj_gitrepo_git(r));
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
	git_reference *tmp = NULL;
	git_commit *commit = NULL;
	char tmpname[128];
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
		if (git_oid_fromstr(&id, local_ref) < 0 ||
		    git_commit_lookup(&commit, hj_gitrepo_git(r), &id) < 0) {
			ret = hj_error_set(HJ_ENOTFOUND,
					   "push: no local commit %s", local_ref);
			goto done;
		}
		snprintf(tmpname, sizeof tmpname, "refs/huiji/tmp/push-%ld-%u",
			 (long)getpid(), ++tmp_counter);
		if (git_reference_create(&tmp, hj_gitrepo_git(r), tmpname, &id,
					 1, "huiji push") < 0) {
			ret = hj_error_set(HJ_ERROR, "push: temporary ref: %s",
					   hj_giterr_text());
			goto done;
		}
		local_ref = tmpname;
	} else if (git_reference_name_to_id(&id, hj_gitrepo_git(r),
					    local_ref) < 0) {
		ret = hj_error_set(HJ_ENOTFOUND, "push: no local ref %s",
				   local_ref);
		goto done;
	}
	job.local_ref = local_ref;
	job.remote_ref = remote_ref;
	ret = hj_run(&job, o, NULL, NULL);

done:
	if (tmp)
		git_reference_delete(tmp);
	git_reference_free(tmp);
	git_commit_free(commit);
	return ret;
}
