/*
 * transport_child.c — the forked child of a transport operation: it opens
 * the repository by path, does one libgit2 ls, fetch or push, beats the
 * heartbeat pipe on every sign of network progress, and reports one
 * result record before _exit (protocol and the reasons for a child:
 * transport.c). It holds its own git_repository: a handle inherited from
 * the parent across fork is in an unknown state and must not be used.
 */
#include "transport.h"
#include "transport_int.h"

#include "buf.h"
#include "clock.h"
#include "error.h"
#include "giterr.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* One local ref written after a fetch. With thousands of refs this phase
 * alone outlasts the idle timeout (each ref is a file written and fsynced,
 * with no byte on the wire: 3,000 feeds took over 20 s on a loaded disk),
 * so a written ref is progress too. */
static int hj_cb_tip(const char *refname, const git_oid *a, const git_oid *b, void *payload)
{
	(void)refname;
	(void)a;
	(void)b;
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
	cbs->update_tips = hj_cb_tip;
	cbs->payload = c;
}

static int hj_child_ls(hj_child *c, git_remote *remote, const char *prefix,
		       const git_oid **remote_oid)
{
	const git_remote_head **heads;
	size_t nheads, plen = prefix ? strlen(prefix) : 0;
	if (git_remote_ls(&heads, &nheads, remote) < 0)
		return hj_child_fail(c, HJ_ENET, "connection dropped: %s",
				     hj_git_message());
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

static int hj_child_fetch(hj_child *c, git_remote *remote, const git_remote_callbacks *cbs, const hj_job *job)
{
	git_fetch_options fo;
	git_strarray specs = {(char **)job->refspecs, job->nspecs};
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks = *cbs;
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	/* A cut fetch returns GIT_EEOF (or a read error) with no partial pack
	 * kept and no ref moved. */
	int rc = git_remote_fetch(remote, &specs, &fo, NULL);
	if (rc == GIT_ENOTFOUND) /* connected: an object one of our refs names is gone (a lost pack) */
		return hj_child_fail(c, HJ_ECORRUPT, "fetch: this replica lacks an object its refs name: %s",
				     hj_git_message());
	if (rc < 0)
		return hj_child_fail(c, HJ_ENET, "connection dropped: %s", hj_git_message());
	return 0;
}

/* After git_remote_push returned 0: did the remote say ok for our ref? */
static int hj_child_push_verdict(hj_child *c, const hj_job *job)
{
	/* rc == 0 says nothing about our ref in 1.5.1. */
	if (!c->status_seen)
		return hj_child_fail(c, HJ_ENET, "push outcome unknown: the remote sent no status for %s",
				     job->remote_ref);
	if (c->accepted)
		return 0;
	while (c->remote_len > 0 &&
	       (c->remote_text[c->remote_len - 1] == ' ' || c->remote_text[c->remote_len - 1] == ';'))
		c->remote_text[--c->remote_len] = '\0';
	return hj_child_fail(c, HJ_ECONFLICT, "hub rejected %s: %s%s%s", job->remote_ref, c->status,
			     c->remote_len ? "; remote: " : "", c->remote_text);
}

static int hj_child_push(hj_child *c, git_repository *repo, git_remote *remote, const git_remote_callbacks *cbs,
			 const hj_job *job)
{
	git_push_options po;
	git_oid local;
	const git_oid *remote_oid = NULL;
	char spec[1024];
	char *specp = spec;
	git_strarray specs = {&specp, 1};
	int rc;

	if (git_reference_name_to_id(&local, repo, job->local_ref) < 0)
		return hj_child_fail(c, HJ_ENOTFOUND, "push: no local ref %s: %s", job->local_ref, hj_git_message());
	if ((rc = hj_child_ls(c, remote, NULL, &remote_oid)) != 0)
		return rc;
	c->refs.len = 0; /* push reports no refs */
	if (remote_oid && git_oid_equal(remote_oid, &local))
		return 0; /* already there: nothing to send */
	snprintf(spec, sizeof spec, "%s:%s", job->local_ref, job->remote_ref);
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	po.callbacks = *cbs;
	rc = git_remote_push(remote, &specs, &po);
	if (rc == GIT_ENONFASTFORWARD) /* 1.5.1 checks this locally before sending */
		return hj_child_fail(c, HJ_ECONFLICT, "push %s rejected: %s", job->remote_ref, hj_git_message());
	if (rc == GIT_ENOTFOUND) /* building the pack: a local object is gone (a lost pack), nothing sent */
		return hj_child_fail(c, HJ_ECORRUPT, "push: this replica lacks an object its refs name: %s",
				     hj_git_message());
	if (rc < 0)
		return hj_child_fail(c, HJ_ENET, "connection dropped: %s (push outcome unknown)", hj_git_message());
	return hj_child_push_verdict(c, job);
}

static int hj_child_work(hj_child *c, const hj_job *job)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_remote_callbacks cbs;
	git_proxy_options proxy;
	git_direction dir = job->op == HJ_OP_PUSH ? GIT_DIRECTION_PUSH : GIT_DIRECTION_FETCH;
	int ret = 0;

	/* Refcounted: the copy of the parent's global state says "already
	 * initialised"; this keeps the child's own count balanced in spirit
	 * and initialises properly if the parent never did. */
	if (git_libgit2_init() < 0) {
		ret = hj_child_fail(c, HJ_ERROR, "git_libgit2_init: %s", hj_git_message());
		goto done;
	}
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	/* A handle of its own (see the top of this file): the raw
	 * git_repository* a remote needs never leaves this process. */
	if (git_repository_open(&repo, job->path) < 0) {
		ret = hj_child_fail(c, HJ_ERROR, "open %s: %s", job->path, hj_git_message());
		goto done;
	}
	if (git_remote_create_anonymous(&remote, repo, job->url) < 0) {
		ret = hj_child_fail(c, HJ_EINVALID, "remote %s: %s", job->url, hj_git_message());
		goto done;
	}
	git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
	git_proxy_options_init(&proxy, GIT_PROXY_OPTIONS_VERSION);
	hj_child_callbacks(&cbs, c);
	hj_child_beat(c, HJ_HB_START);
	/* Returns once the remote's ref advertisement has been read: for
	 * git:// the first bytes the server sends. */
	if (git_remote_connect(remote, dir, &cbs, &proxy, NULL) < 0) {
		ret = hj_child_fail(c, HJ_ENET, "hub unreachable: %s", hj_git_message());
		goto done;
	}
	hj_child_beat(c, HJ_HB_NET);
	if (job->op == HJ_OP_LS)
		ret = hj_child_ls(c, remote, job->prefix, NULL);
	else if (job->op == HJ_OP_FETCH)
		ret = hj_child_fetch(c, remote, &cbs, job);
	else
		ret = hj_child_push(c, repo, remote, &cbs, job);
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

void hj_child_main(const hj_job *job, int hb_fd, int res_fd)
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
