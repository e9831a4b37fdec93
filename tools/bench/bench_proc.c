/*
 * bench_proc.c — child processes for the replication sections: the
 * spawner, timed runs with peak memory, the --phase side that runs inside
 * them, git daemon on loopback.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "bench.h"

int path_join2(char *out, const char *dir, const char *name)
{
	int k = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return k > 0 && k < PATH_MAX ? 0 : hj_error_set(HJ_EINVALID, "path too long: %s/%s", dir, name);
}

/* Run argv (argv[0] looked up on PATH) in its own process group: stdin
 * /dev/null, stdout and stderr captured, at most timeout_s (then the
 * whole group is killed). 0 if it exited with status 0. Called in the
 * spawner (below), so that the child's ru_maxrss is its own. */
static int run_proc_local(char *const argv[], int timeout_s, proc_res *r)
{
	int p[2], status = 0, killed = 0;
	struct rusage ru;
	memset(r, 0, sizeof *r);
	memset(&ru, 0, sizeof ru);
	if (pipe(p) != 0)
		return hj_error_set(HJ_ERROR, "pipe: %s", strerror(errno));
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	fflush(NULL);
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return hj_error_set(HJ_ERROR, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int dn = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
		if (dn < 0 || dup2(dn, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(p[1]);
	double deadline = t0 + timeout_s;
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0) {
			kill(-pid, SIGKILL);
			killed = 1;
			break;
		}
		struct pollfd pf = {p[0], POLLIN, 0};
		int k = poll(&pf, 1, (int)(left * 1000) + 1);
		if (k <= 0)
			continue; /* EINTR or the deadline: checked above */
		char buf[4096];
		ssize_t got = read(p[0], buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t room = sizeof r->out - 1 - r->outlen, take = (size_t)got < room ? (size_t)got : room;
		memcpy(r->out + r->outlen, buf, take);
		r->outlen += take;
		r->out[r->outlen] = '\0';
	}
	close(p[0]);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	r->secs = now_s() - t0;
	r->mib = (double)ru.ru_maxrss / 1024.0;
	if (killed)
		return hj_error_set(HJ_ERROR, "%s %s: still running after %d s, killed", argv[0], argv[1] ? argv[1] : "",
				    timeout_s);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hj_error_set(HJ_ERROR, "%s %s %s failed (%s %d): %s", argv[0], argv[1] ? argv[1] : "",
				    argv[1] && argv[2] ? argv[2] : "", WIFEXITED(status) ? "exit" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), r->out);
	return 0;
}

/*
 * The spawner: a process forked first thing in main, while this program is
 * still small, that runs every child (fork + exec + wait4) and reports back.
 * Why: Linux folds the pre-exec memory's high-water mark into ru_maxrss at
 * exec, and a forked child starts with its parent's pages mapped, so a child
 * forked from the bench after it has built a 10,000-change-set county would
 * report at least the bench's own size. Forked from the spawner (a few
 * hundred KiB of private memory) a child's peak is its own, give or take
 * that.
 * Request: u32 timeout_s, u32 len, len bytes of NUL-terminated argv strings.
 * Reply: i32 rc, f64 secs, f64 mib, u32 n + n bytes of error message,
 * u32 n + n bytes of captured output.
 */
static struct {
	pid_t pid;
	int req, res; /* our ends */
} spawner = {0, -1, -1};

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t got = read(fd, b, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		b += got;
		n -= (size_t)got;
	}
	return 0;
}

static void spawner_main(int req, int res)
{
	static proc_res r;
	for (;;) {
		uint32_t hdr[2], n;
		char *argv[32], *buf;
		int argc = 0;
		if (read_all(req, hdr, sizeof hdr) || !(buf = malloc((size_t)hdr[1] + 1)) ||
		    read_all(req, buf, hdr[1]))
			_exit(0); /* the bench is gone or done */
		buf[hdr[1]] = '\0';
		for (char *q = buf; q < buf + hdr[1] && argc < 31; q += strlen(q) + 1)
			argv[argc++] = q;
		argv[argc] = NULL;
		int32_t rc = argc ? run_proc_local(argv, (int)hdr[0], &r)
				  : hj_error_set(HJ_EINVALID, "spawner: empty command");
		const char *msg = rc ? hj_error_last() : "";
		double d[2] = {r.secs, r.mib};
		n = (uint32_t)strlen(msg);
		uint32_t outlen = (uint32_t)r.outlen;
		if (write_all(res, &rc, sizeof rc) || write_all(res, d, sizeof d) || write_all(res, &n, sizeof n) ||
		    write_all(res, msg, n) || write_all(res, &outlen, sizeof outlen) || write_all(res, r.out, outlen))
			_exit(0);
		free(buf);
	}
}

int spawner_start(void)
{
	int a[2], b[2];
	if (pipe(a) != 0 || pipe(b) != 0)
		return hj_error_set(HJ_ERROR, "pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(a[i], F_SETFD, FD_CLOEXEC);
		fcntl(b[i], F_SETFD, FD_CLOEXEC);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return hj_error_set(HJ_ERROR, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		spawner_main(a[0], b[1]);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	spawner.pid = pid;
	spawner.req = a[1];
	spawner.res = b[0];
	return 0;
}

void spawner_stop(void)
{
	int status;
	if (!spawner.pid)
		return;
	close(spawner.req); /* it exits at EOF */
	close(spawner.res);
	for (int i = 0; i < 100 && waitpid(spawner.pid, &status, WNOHANG) == 0; i++) /* 2 s */
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	if (waitpid(spawner.pid, &status, WNOHANG) == 0) {
		kill(spawner.pid, SIGKILL);
		waitpid(spawner.pid, &status, 0);
	}
	spawner.pid = 0;
}

/* run_proc_local in the spawner (or here when there is none). */
int run_proc(char *const argv[], int timeout_s, proc_res *r)
{
	hj_buf req = HJ_BUF_INIT;
	uint32_t hdr[2] = {(uint32_t)timeout_s, 0}, n;
	int32_t rc;
	double d[2];
	char msg[2048];
	if (!spawner.pid)
		return run_proc_local(argv, timeout_s, r);
	memset(r, 0, sizeof *r);
	for (int i = 0; argv[i]; i++)
		hj_buf_put(&req, argv[i], strlen(argv[i]) + 1);
	hdr[1] = (uint32_t)req.len;
	int bad = req.rc || write_all(spawner.req, hdr, sizeof hdr) || write_all(spawner.req, req.data, req.len);
	hj_buf_free(&req);
	/* The spawner bounds the child's time itself; a reply always follows. */
	if (bad || read_all(spawner.res, &rc, sizeof rc) || read_all(spawner.res, d, sizeof d) ||
	    read_all(spawner.res, &n, sizeof n) || n >= sizeof msg || read_all(spawner.res, msg, n))
		return hj_error_set(HJ_ERROR, "the spawner process is gone");
	msg[n] = '\0';
	if (read_all(spawner.res, &n, sizeof n) || n >= sizeof r->out || read_all(spawner.res, r->out, n))
		return hj_error_set(HJ_ERROR, "the spawner process is gone");
	r->outlen = n;
	r->out[n] = '\0';
	r->secs = d[0];
	r->mib = d[1];
	return rc ? hj_error_set(rc, "%s", msg) : 0;
}

/* `to` becomes a copy of `from` (untimed set-up of a phase). */
int copy_tree(const char *from, const char *to)
{
	proc_res r;
	char *argv[] = {"cp", "-a", (char *)from, (char *)to, NULL};
	rm_rf(to);
	return run_proc(argv, 120, &r);
}

/* A new empty bare repository for stock git to push into. */
int fresh_bare(const char *path)
{
	proc_res r;
	char *argv[] = {"git", "init", "--bare", "-q", (char *)path, NULL};
	rm_rf(path);
	return run_proc(argv, 60, &r);
}

/* Run `huiji-bench --phase what a1 a2 a3` and parse the numbers after "ok". */
int run_phase(syncb *s, proc_res *r, uint64_t out[8], const char *what, const char *a1, const char *a2,
		     const char *a3)
{
	char *argv[] = {s->self, "--phase", (char *)what, (char *)a1, (char *)a2, (char *)a3, NULL};
	int rc = run_proc(argv, PROC_TIMEOUT_S, r);
	if (rc)
		return rc;
	const char *ok = r->out;
	while (ok && strncmp(ok, "ok", 2) != 0)
		if ((ok = strchr(ok, '\n')))
			ok++;
	if (!ok)
		return hj_error_set(HJ_ERROR, "--phase %s: no result: %s", what, r->out);
	char *p = (char *)ok + 2;
	for (int i = 0; i < 8; i++)
		out[i] = strtoull(p, &p, 10);
	return 0;
}

/* ---- the child side: one phase, result on stdout ---- */

static int raw_push_status(const char *refname, const char *status, void *payload)
{
	(void)refname;
	if (status)
		*(int *)payload = 1;
	return 0;
}

/* libgit2's own push with what hj_gitrepo_open sets (fsync on, no owner
 * check), without huiji's watchdog child and heartbeat pipe. */
static int raw_libgit2_push(const char *path, const char *ref, const char *url)
{
	git_repository *repo = NULL;
	git_remote *rem = NULL;
	git_push_options po;
	char spec[600], *sp = spec;
	git_strarray specs = {&sp, 1};
	int rejected = 0, rc = 0;
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	snprintf(spec, sizeof spec, "%s:%s", ref, ref);
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	po.callbacks.push_update_reference = raw_push_status;
	po.callbacks.payload = &rejected;
	if (git_repository_open(&repo, path) < 0 || git_remote_create_anonymous(&rem, repo, url) < 0 ||
	    git_remote_push(rem, &specs, &po) < 0)
		rc = hj_error_set(HJ_ERROR, "libgit2 push: %s", hj_git_message());
	else if (rejected)
		rc = hj_error_set(HJ_ECONFLICT, "libgit2 push: %s rejected", ref);
	git_remote_free(rem);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

int phase_main(int argc, char **argv)
{
	const char *what = argc > 0 ? argv[0] : "";
	int rc;
	if (sodium_init() < 0)
		return 2;
	if (strcmp(what, "rawpush") == 0 && argc == 4) { /* repo ref url */
		/* libgit2 1.5.1 leaks pcre2 match data in
		 * git_remote_create_anonymous (libgit2 PR #6382, fixed later):
		 * leave with _exit, as transport.c's child does, so a
		 * LeakSanitizer build does not fail the phase at exit. */
		if (!(rc = raw_libgit2_push(argv[1], argv[2], argv[3])))
			printf("ok\n");
		else
			fprintf(stderr, "huiji-bench --phase rawpush: %s\n", hj_error_last());
		fflush(NULL);
		_exit(rc ? 1 : 0);
	} else if (strcmp(what, "push") == 0 && argc == 4) { /* repo ref url */
		hj_gitrepo *r = NULL;
		if (!(rc = hj_gitrepo_open(&r, argv[1], 0)))
			rc = hj_transport_push(r, argv[3], argv[2], argv[2], NULL);
		hj_gitrepo_close(r);
		if (!rc)
			printf("ok\n");
	} else if (strcmp(what, "sync") == 0 && argc == 2) { /* county dir */
		hj_node *n = NULL;
		hj_sync_opts o;
		hj_sync_report rep;
		hj_sync_opts_default(&o);
		if (!(rc = hj_node_open(&n, argv[1])) && !(rc = hj_sync(n, &o, &rep)))
			printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d %d\n", rep.pushed, rep.entries,
			       rep.pending, rep.rejected, rep.attempts, rep.rebuilt);
		hj_node_close(n);
	} else if (strcmp(what, "sequence") == 0 && argc == 2) { /* hub dir */
		hj_node *hub = NULL;
		hj_gitrepo *repo = NULL;
		hj_seq_report rep;
		if (!(rc = hj_node_open(&hub, argv[1])) && !(rc = hj_node_repo_open(&repo, hub)) &&
		    !(rc = hj_hub_sequence(hub, repo, &rep)))
			printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", rep.entries,
			       rep.change_sets, rep.ops, rep.rejected, rep.quarantined, rep.waiting);
		hj_gitrepo_close(repo);
		hj_node_close(hub);
	} else if (strcmp(what, "audit") == 0 && argc == 3) { /* url workdir */
		hj_audit_report rep;
		if (!(rc = hj_audit(&rep, argv[1], NULL, NULL, argv[2], NULL))) {
			printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %zu\n", rep.change_sets,
			       rep.ops, rep.verdicts, rep.digests, rep.hub_entries, rep.nproblems);
			for (size_t i = 0; i < rep.nproblems && i < 5; i++)
				printf("problem: %s\n", rep.problems[i]);
		}
		hj_audit_report_free(&rep);
	} else {
		fprintf(stderr, "huiji-bench: --phase rawpush|push REPO REF URL | sync COUNTY | sequence HUB | "
				"audit URL WORKDIR\n");
		return 2;
	}
	hj_envelope_thread_cleanup();
	if (rc) {
		fprintf(stderr, "huiji-bench --phase %s: %s\n", what, hj_error_last());
		return 1;
	}
	return 0;
}

/* ---- git daemon on loopback ---- */

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int can_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

void daemon_stop(syncb *s)
{
	int status;
	if (!s->daemon)
		return;
	kill(-s->daemon, SIGTERM);
	for (int i = 0; i < 150; i++) { /* 3 s */
		if (waitpid(s->daemon, &status, WNOHANG) == s->daemon) {
			kill(-s->daemon, SIGKILL); /* connection children, if any */
			s->daemon = 0;
			return;
		}
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	}
	kill(-s->daemon, SIGKILL);
	while (waitpid(s->daemon, &status, 0) < 0 && errno == EINTR)
		;
	s->daemon = 0;
}

/* git daemon on 127.0.0.1 serving s->root with receive-pack on; 0 when it
 * accepts connections within 5 s, else not running. */
int daemon_start(syncb *s)
{
	char portarg[32], basearg[PATH_MAX + 16];
	int status;
	if ((s->port = free_port()) <= 0)
		return hj_error_set(HJ_ENET, "no free port on 127.0.0.1");
	snprintf(portarg, sizeof portarg, "--port=%d", s->port);
	snprintf(basearg, sizeof basearg, "--base-path=%s", s->root);
	char *argv[] = {"git", "daemon", "--reuseaddr", "--listen=127.0.0.1", portarg, basearg, "--export-all",
			"--enable=receive-pack", "--informative-errors", NULL};
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return hj_error_set(HJ_ERROR, "fork: %s", strerror(errno));
	if (pid == 0) {
		int dn = open("/dev/null", O_RDONLY), lg = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		setpgid(0, 0);
		if (dn < 0 || lg < 0 || dup2(dn, 0) < 0 || dup2(lg, 1) < 0 || dup2(lg, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	s->daemon = pid;
	for (int i = 0; i < 250; i++) { /* 5 s */
		if (waitpid(pid, &status, WNOHANG) == pid) {
			s->daemon = 0;
			return hj_error_set(HJ_ENET, "git daemon exited at start (see %s)", s->log);
		}
		if (can_connect(s->port)) {
			snprintf(s->net_hub, sizeof s->net_hub, "git://127.0.0.1:%d/hub/hub.git", s->port);
			snprintf(s->net_stock, sizeof s->net_stock, "git://127.0.0.1:%d/stock.git", s->port);
			return 0;
		}
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	}
	daemon_stop(s);
	return hj_error_set(HJ_ENET, "git daemon did not listen within 5 s");
}

