/*
 * test_transport.c — sync/transport.c against a real `git daemon`, a
 * plain listener that never answers, a fake server that stalls after its
 * ref advertisement, tests/integration/faultproxy.py (stall, cut after N
 * bytes, pass) and local paths / file:// URLs.
 *
 * Every wait is bounded; helper processes (daemon, proxy, fake server) are
 * killed and reaped in teardown even when an assertion fails; each test
 * checks that no descriptor leaked and no child is left a zombie. Tests
 * assert codes and messages only, never elapsed time.
 */
#define _GNU_SOURCE /* pipe2 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "gitfeed.h"
#include "support.h"
#include "transport.h"

#define FEED "refs/huiji/feeds/n1"
#define NSMALL 200
#define NBIG 200
#define BIGLEN 4096
#define MAXHELPERS 4

typedef struct fixture {
	char *dir;
	char hub[128];     /* bare repo served by the daemon: DIR/hub.git */
	char url[128];     /* git://127.0.0.1:PORT/hub.git */
	int daemon_port;
	pid_t helpers[MAXHELPERS]; /* process groups to kill in teardown */
	int helper_stdin[MAXHELPERS];
	int fds_before;
	hj_feed_item small[NSMALL], big[NBIG], other[3];
	uint8_t *data[NSMALL + NBIG + 3];
} fixture;

static const hj_net_opts quick = {1500, 1500, 20000};

/* ---- processes and descriptors ---- */

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

/* Children of ours in state Z (scan /proc: no children file here). */
static int count_zombies(void)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t me = getpid();
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], buf[512], *rp;
		FILE *f;
		char state;
		int ppid;
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (!fgets(buf, sizeof buf, f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		rp = strrchr(buf, ')');
		if (rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2 &&
		    ppid == me && state == 'Z')
			n++;
	}
	closedir(d);
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Kill a helper's process group and reap it, bounded. */
static void stop_helper(fixture *f, int i)
{
	int st;
	if (f->helper_stdin[i] >= 0)
		close(f->helper_stdin[i]);
	f->helper_stdin[i] = -1;
	if (f->helpers[i] <= 0)
		return;
	kill(-f->helpers[i], SIGTERM);
	for (int k = 0; k < 300; k++) {
		if (waitpid(f->helpers[i], &st, WNOHANG) != 0)
			goto reaped;
		sleep_ms(10);
	}
	kill(-f->helpers[i], SIGKILL);
	waitpid(f->helpers[i], &st, 0);
reaped:
	kill(-f->helpers[i], SIGKILL); /* daemon's per-connection children */
	f->helpers[i] = 0;
}

/* fork+exec argv in its own process group; stdout to *out_fd (pipe) when
 * out_fd != NULL, else to DIR/<log>; stdin from a pipe kept in the slot. */
static int spawn(fixture *f, char *const argv[], int *out_fd, const char *log)
{
	int slot = -1, in[2], out[2] = {-1, -1};
	char logpath[160];
	for (int i = 0; i < MAXHELPERS; i++)
		if (f->helpers[i] == 0) {
			slot = i;
			break;
		}
	assert_true(slot >= 0);
	snprintf(logpath, sizeof logpath, "%s/%s", f->dir, log);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	if (out_fd)
		assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lf = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out_fd ? out[1] : lf, 1);
		dup2(lf, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(in[0]);
	f->helpers[slot] = pid;
	f->helper_stdin[slot] = in[1];
	if (out_fd) {
		close(out[1]);
		*out_fd = out[0];
	}
	return slot;
}

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	close(s);
	return ntohs(a.sin_port);
}

/* A socket that listens and is never accepted: connect() succeeds (the
 * kernel completes the handshake into the backlog), nothing answers. */
static int mute_listener(int *port)
{
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s, 16), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static int try_connect(int port)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
	close(s);
	return ok;
}

static void start_daemon(fixture *f)
{
	char base[160], port[32];
	f->daemon_port = free_port();
	snprintf(base, sizeof base, "--base-path=%s", f->dir);
	snprintf(port, sizeof port, "--port=%d", f->daemon_port);
	char *argv[] = {"git", "daemon", "--reuseaddr", base, "--export-all",
			"--enable=receive-pack", "--listen=127.0.0.1", port,
			f->dir, NULL};
	spawn(f, argv, NULL, "daemon.log");
	for (int k = 0; k < 1000 && !try_connect(f->daemon_port); k++)
		sleep_ms(10);
	assert_true(try_connect(f->daemon_port));
	snprintf(f->url, sizeof f->url, "git://127.0.0.1:%d/hub.git",
		 f->daemon_port);
}

static const char *proxy_script(void)
{
	static char path[1024];
	const char *env = getenv("HJ_FAULTPROXY");
	char file[1024];
	if (env)
		return env;
	snprintf(file, sizeof file, "%s", __FILE__);
	snprintf(path, sizeof path, "%s/../integration/faultproxy.py",
		 dirname(file));
	return path;
}

/* Start faultproxy.py in front of the daemon; returns its port. */
static int start_proxy(fixture *f, const char *mode, const char *nbytes)
{
	char target[64], line[32];
	int out = -1, port = 0;
	size_t len = 0;
	snprintf(target, sizeof target, "127.0.0.1:%d", f->daemon_port);
	char *argv[] = {"python3", (char *)proxy_script(), "--listen", "0",
			"--target", target, "--mode", (char *)mode,
			nbytes ? "--bytes" : NULL, (char *)nbytes, NULL};
	spawn(f, argv, &out, "proxy.log");
	while (len < sizeof line - 1) {
		struct pollfd p = {out, POLLIN, 0};
		assert_int_equal(poll(&p, 1, 10000), 1);
		ssize_t r = read(out, line + len, 1);
		assert_true(r == 1);
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(out);
	port = atoi(line);
	assert_true(port > 0);
	return port;
}

/* A fake git:// server in a child: accepts one connection, reads the
 * request, sends a one-ref advertisement, then reads and never answers.
 * Returns the port; the child is a helper (killed in teardown). */
static int start_stalling_server(fixture *f)
{
	int port, s = mute_listener(&port), slot = -1;
	for (int i = 0; i < MAXHELPERS; i++)
		if (f->helpers[i] == 0) {
			slot = i;
			break;
		}
	assert_true(slot >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[4096], adv[256];
		const char *line = "1111111111111111111111111111111111111111 "
				   "refs/heads/x";
		setpgid(0, 0);
		int c = accept(s, NULL, NULL);
		if (c < 0)
			_exit(1);
		if (read(c, buf, sizeof buf) <= 0)
			_exit(1);
		int n = snprintf(adv + 4, sizeof adv - 4, "%s%c%s\n", line,
				 '\0', "ofs-delta");
		char hdr[5];
		snprintf(hdr, sizeof hdr, "%04x", n + 4);
		memcpy(adv, hdr, 4);
		memcpy(adv + 4 + n, "0000", 4);
		if (write(c, adv, (size_t)n + 8) < 0)
			_exit(1);
		while (read(c, buf, sizeof buf) > 0)
			;
		pause();
		_exit(0);
	}
	setpgid(pid, pid);
	close(s);
	f->helpers[slot] = pid;
	f->helper_stdin[slot] = -1;
	return port;
}

/* ---- repositories and feeds ---- */

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;
	for (size_t k = 0; k < n; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[k] = (uint8_t)x;
	}
}

static void make_items(fixture *f)
{
	size_t d = 0;
	for (size_t i = 0; i < NSMALL; i++, d++) {
		size_t len = 50 + (i * 37) % 400;
		f->data[d] = malloc(len);
		fill(f->data[d], len, 1000 + (uint32_t)i);
		f->small[i] = (hj_feed_item){f->data[d], len, i + 1,
					     1700000000000LL + (int64_t)i};
	}
	for (size_t i = 0; i < NBIG; i++, d++) {
		f->data[d] = malloc(BIGLEN);
		fill(f->data[d], BIGLEN, 50000 + (uint32_t)i);
		f->big[i] = (hj_feed_item){f->data[d], BIGLEN, i + 1,
					   1700000000000LL + (int64_t)i};
	}
	for (size_t i = 0; i < 3; i++, d++) {
		f->data[d] = malloc(64);
		fill(f->data[d], 64, 90000 + (uint32_t)i);
		f->other[i] = (hj_feed_item){f->data[d], 64, i + 1,
					     1700000000000LL + (int64_t)i};
	}
}

static hj_gitrepo *open_repo(fixture *f, const char *name)
{
	char path[160];
	hj_gitrepo *r = NULL;
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	if (hj_gitrepo_open(&r, path, 1))
		fail_msg("open %s: %s", path, hj_error_last());
	return r;
}

static hj_gitrepo *repo_with(fixture *f, const char *name, const char *ref,
			     const hj_feed_item *items, size_t n)
{
	hj_gitrepo *r = open_repo(f, name);
	if (hj_gitfeed_append(r, ref, "n1", items, n))
		fail_msg("append: %s", hj_error_last());
	return r;
}

static void tip(hj_gitrepo *r, const char *ref, git_oid *out)
{
	assert_int_equal(hj_gitfeed_tip(r, ref, NULL, out), 0);
}

/* The hub's oid for `ref` via ls (zero oid when absent). */
static void hub_has(hj_gitrepo *r, const char *url, const char *ref,
		    git_oid *out)
{
	hj_remote_ref *refs = NULL;
	size_t n = 0;
	int rc = hj_transport_ls(&refs, &n, r, url, "refs/huiji/", NULL);
	if (rc)
		fail_msg("ls: %s", hj_error_last());
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++)
		if (strcmp(refs[i].name, ref) == 0)
			git_oid_cpy(out, &refs[i].oid);
	free(refs);
}

static int count_cb(void *ctx, uint64_t seq, const git_oid *commit,
		    const uint8_t *bytes, size_t len)
{
	(void)seq;
	(void)commit;
	(void)bytes;
	(void)len;
	(*(size_t *)ctx)++;
	return 0;
}

/* HJ_TEST_VERBOSE=1 prints every expected failure's message. */
static void expect(int rc, int code, const char *needle)
{
	if (getenv("HJ_TEST_VERBOSE"))
		fprintf(stderr, "    %s: %s\n", hj_error_name(rc),
			hj_error_last());
	if (rc != code || !strstr(hj_error_last(), needle))
		fail_msg("expected %s containing \"%s\", got %s: %s",
			 hj_error_name(code), needle, hj_error_name(rc),
			 hj_error_last());
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	for (int i = 0; i < MAXHELPERS; i++)
		f->helper_stdin[i] = -1;
	f->dir = ut_tmpdir();
	snprintf(f->hub, sizeof f->hub, "%s/hub.git", f->dir);
	make_items(f);
	f->fds_before = count_fds();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	int rc;
	for (int i = 0; i < MAXHELPERS; i++)
		stop_helper(f, i);
	rc = ut_rmtree(f->dir);
	for (size_t i = 0; i < NSMALL + NBIG + 3; i++)
		free(f->data[i]);
	free(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* No descriptor leaked, no zombie left (call after closing repos and
 * stopping helpers). */
static void check_clean(fixture *f)
{
	for (int i = 0; i < MAXHELPERS; i++)
		stop_helper(f, i);
	assert_int_equal(count_zombies(), 0);
	assert_int_equal(count_fds(), f->fds_before);
}

/* ---- tests ---- */

static void test_daemon_push_ls_fetch(void **state)
{
	fixture *f = *state;
	hj_gitrepo *hub = open_repo(f, "hub.git");
	hj_gitrepo *a = repo_with(f, "a.git", FEED, f->small, NSMALL);
	hj_gitrepo *b = open_repo(f, "b.git");
	git_oid want, got;
	hj_remote_ref *refs = NULL;
	size_t n = 99;
	const char *specs[] = {"+refs/huiji/feeds/*:refs/huiji/incoming/feeds/*"};
	uint64_t seq;
	size_t walked = 0;

	start_daemon(f);
	tip(a, FEED, &want);

	/* empty hub: ls says nothing */
	assert_int_equal(hj_transport_ls(&refs, &n, a, f->url, "refs/huiji/",
					 &quick), 0);
	assert_int_equal(n, 0);
	assert_null(refs);

	if (hj_transport_push(a, f->url, FEED, FEED, NULL))
		fail_msg("push: %s", hj_error_last());
	hub_has(a, f->url, FEED, &got);
	assert_true(git_oid_equal(&want, &got));
	/* and really in the hub's repository */
	assert_int_equal(hj_gitfeed_tip(hub, FEED, &seq, &got), 0);
	assert_int_equal(seq, NSMALL);
	assert_true(git_oid_equal(&want, &got));

	/* pushing what is already there is a no-op success */
	assert_int_equal(hj_transport_push(a, f->url, FEED, FEED, &quick), 0);

	/* prefix filter */
	assert_int_equal(hj_transport_ls(&refs, &n, a, f->url,
					 "refs/huiji/hub/", &quick), 0);
	assert_int_equal(n, 0);
	free(refs);

	/* fetch with a forced refspec into a holding namespace */
	if (hj_transport_fetch(b, f->url, specs, 1, &quick))
		fail_msg("fetch: %s", hj_error_last());
	assert_int_equal(hj_gitfeed_tip(b, "refs/huiji/incoming/feeds/n1", &seq,
					&got), 0);
	assert_int_equal(seq, NSMALL);
	assert_true(git_oid_equal(&want, &got));
	assert_int_equal(hj_gitfeed_walk(b, &got, "n1", 0, count_cb, &walked), 0);
	assert_int_equal(walked, NSMALL);
	/* nothing else appeared (no FETCH_HEAD, no real feed ref) */
	assert_int_equal(hj_gitfeed_tip(b, FEED, &seq, NULL), 0);
	assert_int_equal(seq, 0);

	/* bad refspec: refused before any contact */
	const char *bad[] = {"refs/a:refs/b:refs/c"};
	expect(hj_transport_fetch(b, f->url, bad, 1, &quick), HJ_EINVALID,
	       "bad refspec");

	hj_gitrepo_close(a);
	hj_gitrepo_close(b);
	hj_gitrepo_close(hub);
	check_clean(f);
}

static void test_push_rejected(void **state)
{
	fixture *f = *state;
	hj_gitrepo *hub = open_repo(f, "hub.git");
	hj_gitrepo *a = repo_with(f, "a.git", FEED, f->small, NSMALL);
	hj_gitrepo *c = repo_with(f, "c.git", FEED, f->other, 3);
	git_oid want, got, mid;
	char hex[GIT_OID_HEXSZ + 1], hook[200];
	FILE *h;

	start_daemon(f);
	tip(a, FEED, &want);
	if (hj_transport_push(a, f->url, FEED, FEED, &quick))
		fail_msg("push: %s", hj_error_last());

	/* a fork whose base the pusher does not even have */
	expect(hj_transport_push(c, f->url, FEED, FEED, &quick), HJ_ECONFLICT,
	       "rejected");
	/* a rewind to an ancestor, given as a commit id */
	assert_int_equal(hj_gitfeed_commit_id(&mid, NULL, NULL, "n1", 1,
					      f->small[0].created_at,
					      f->small[0].bytes,
					      f->small[0].len), 0);
	git_oid_tostr(hex, sizeof hex, &mid);
	expect(hj_transport_push(a, f->url, hex, FEED, &quick), HJ_ECONFLICT,
	       "rejected");
	hub_has(a, f->url, FEED, &got);
	assert_true(git_oid_equal(&want, &got));

	/* the hub's pre-receive hook refuses: its status and its words */
	snprintf(hook, sizeof hook, "%s/hooks/pre-receive", f->hub);
	h = fopen(hook, "w");
	assert_non_null(h);
	fputs("#!/bin/sh\nwhile read old new ref; do\n"
	      "  case \"$ref\" in refs/huiji/feeds/evil)\n"
	      "    echo \"huiji: $ref is not yours\" >&2; exit 1;;\n"
	      "  esac\ndone\nexit 0\n", h);
	fclose(h);
	chmod(hook, 0755);
	expect(hj_transport_push(a, f->url, FEED, "refs/huiji/feeds/evil",
				 &quick), HJ_ECONFLICT, "hook declined");
	assert_non_null(strstr(hj_error_last(),
			       "huiji: refs/huiji/feeds/evil is not yours"));
	hub_has(a, f->url, "refs/huiji/feeds/evil", &got);
	assert_true(git_oid_is_zero(&got));

	/* a commit id push that is accepted, and no temporary ref remains */
	git_oid_tostr(hex, sizeof hex, &want);
	assert_int_equal(hj_transport_push(a, f->url, hex, "refs/huiji/feeds/n2",
					   &quick), 0);
	hub_has(a, f->url, "refs/huiji/feeds/n2", &got);
	assert_true(git_oid_equal(&want, &got));
	git_reference_iterator *it;
	git_reference *ref;
	assert_int_equal(git_reference_iterator_glob_new(
				 &it, hj_gitrepo_git(a), "refs/huiji/tmp/*"), 0);
	assert_int_equal(git_reference_next(&ref, it), GIT_ITEROVER);
	git_reference_iterator_free(it);

	expect(hj_transport_push(a, f->url, "refs/huiji/feeds/none", FEED,
				 &quick), HJ_ENOTFOUND, "no local ref");

	hj_gitrepo_close(a);
	hj_gitrepo_close(c);
	hj_gitrepo_close(hub);
	check_clean(f);
}

static void test_mute_listener(void **state)
{
	fixture *f = *state;
	hj_gitrepo *a = repo_with(f, "a.git", FEED, f->small, 10);
	hj_remote_ref *refs = NULL;
	size_t n = 7;
	char url[64];
	const char *specs[] = {"+refs/huiji/feeds/*:refs/huiji/incoming/feeds/*"};
	int port, s = mute_listener(&port);

	snprintf(url, sizeof url, "git://127.0.0.1:%d/hub.git", port);
	expect(hj_transport_ls(&refs, &n, a, url, "refs/huiji/", &quick),
	       HJ_ENET, "hub unreachable (connect timeout 1.5 s)");
	assert_null(refs);
	assert_int_equal(n, 0);
	expect(hj_transport_fetch(a, url, specs, 1, &quick), HJ_ENET,
	       "hub unreachable (connect timeout 1.5 s)");
	expect(hj_transport_push(a, url, FEED, FEED, &quick), HJ_ENET,
	       "hub unreachable (connect timeout 1.5 s)");
	close(s);
	hj_gitrepo_close(a);
	check_clean(f);
}

static void test_proxy_stall_and_closed_port(void **state)
{
	fixture *f = *state;
	hj_gitrepo *a = repo_with(f, "a.git", FEED, f->small, 10);
	char url[64];
	int port;

	hj_gitrepo *hub = open_repo(f, "hub.git");
	start_daemon(f);
	port = start_proxy(f, "stall", NULL);
	snprintf(url, sizeof url, "git://127.0.0.1:%d/hub.git", port);
	expect(hj_transport_push(a, url, FEED, FEED, &quick), HJ_ENET,
	       "hub unreachable (connect timeout 1.5 s)");

	port = free_port(); /* now closed: connection refused */
	snprintf(url, sizeof url, "git://127.0.0.1:%d/hub.git", port);
	expect(hj_transport_push(a, url, FEED, FEED, &quick), HJ_ENET,
	       "hub unreachable: ");
	hj_remote_ref *refs = NULL;
	size_t n = 0;
	expect(hj_transport_ls(&refs, &n, a, url, NULL, NULL), HJ_ENET,
	       "hub unreachable: ");
	hj_gitrepo_close(a);
	hj_gitrepo_close(hub);
	check_clean(f);
}

static void test_stall_after_advertisement(void **state)
{
	fixture *f = *state;
	hj_gitrepo *a = open_repo(f, "a.git");
	const char *specs[] = {"+refs/heads/*:refs/huiji/incoming/*"};
	hj_net_opts o = {5000, 1000, 20000};
	char url[64];
	int port = start_stalling_server(f);

	snprintf(url, sizeof url, "git://127.0.0.1:%d/hub.git", port);
	expect(hj_transport_fetch(a, url, specs, 1, &o), HJ_ENET,
	       "connection stalled (no progress for 1 s)");
	hj_gitrepo_close(a);
	check_clean(f);
}

static void test_cut_push_then_retry(void **state)
{
	fixture *f = *state;
	hj_gitrepo *hub = open_repo(f, "hub.git");
	hj_gitrepo *a = repo_with(f, "a.git", FEED, f->big, NBIG);
	hj_gitrepo *b = open_repo(f, "b.git");
	const char *specs[] = {"+refs/huiji/feeds/*:refs/huiji/incoming/feeds/*"};
	git_oid want, got;
	char cut_url[64], pass_url[64];
	uint64_t seq;
	size_t walked = 0;

	start_daemon(f);
	tip(a, FEED, &want);
	snprintf(cut_url, sizeof cut_url, "git://127.0.0.1:%d/hub.git",
		 start_proxy(f, "cut-after-bytes", "50000"));
	snprintf(pass_url, sizeof pass_url, "git://127.0.0.1:%d/hub.git",
		 start_proxy(f, "pass", NULL));

	for (int i = 0; i < 2; i++) /* twice: the first leftovers harm nothing */
		expect(hj_transport_push(a, cut_url, FEED, FEED, &quick),
		       HJ_ENET, "connection dropped: ");
	hub_has(a, f->url, FEED, &got);
	assert_true(git_oid_is_zero(&got));

	if (hj_transport_push(a, pass_url, FEED, FEED, &quick))
		fail_msg("push: %s", hj_error_last());
	hub_has(a, pass_url, FEED, &got);
	assert_true(git_oid_equal(&want, &got));
	assert_int_equal(hj_gitfeed_tip(hub, FEED, &seq, &got), 0);
	assert_int_equal(seq, NBIG);
	assert_true(git_oid_equal(&want, &got));
	assert_int_equal(hj_gitfeed_walk(hub, &got, "n1", 0, count_cb, &walked), 0);
	assert_int_equal(walked, NBIG);

	/* a cut fetch moves no ref; the retry gets everything */
	expect(hj_transport_fetch(b, cut_url, specs, 1, &quick), HJ_ENET,
	       "connection dropped: ");
	assert_int_equal(hj_gitfeed_tip(b, "refs/huiji/incoming/feeds/n1", &seq,
					NULL), 0);
	assert_int_equal(seq, 0);
	if (hj_transport_fetch(b, pass_url, specs, 1, &quick))
		fail_msg("fetch: %s", hj_error_last());
	assert_int_equal(hj_gitfeed_tip(b, "refs/huiji/incoming/feeds/n1", &seq,
					&got), 0);
	assert_int_equal(seq, NBIG);
	assert_true(git_oid_equal(&want, &got));

	hj_gitrepo_close(a);
	hj_gitrepo_close(b);
	hj_gitrepo_close(hub);
	check_clean(f);
}

static void test_local_paths(void **state)
{
	fixture *f = *state;
	hj_gitrepo *hub = open_repo(f, "hub.git");
	hj_gitrepo *a = repo_with(f, "a.git", FEED, f->small, NSMALL);
	hj_gitrepo *b = open_repo(f, "b.git");
	const char *specs[] = {"+refs/huiji/feeds/*:refs/huiji/incoming/feeds/*"};
	git_oid want, got;
	char furl[160];
	uint64_t seq;

	tip(a, FEED, &want);
	if (hj_transport_push(a, f->hub, FEED, FEED, &quick))
		fail_msg("push: %s", hj_error_last());
	snprintf(furl, sizeof furl, "file://%s", f->hub);
	hub_has(a, furl, FEED, &got);
	assert_true(git_oid_equal(&want, &got));
	if (hj_transport_fetch(b, furl, specs, 1, &quick))
		fail_msg("fetch: %s", hj_error_last());
	assert_int_equal(hj_gitfeed_tip(b, "refs/huiji/incoming/feeds/n1", &seq,
					&got), 0);
	assert_int_equal(seq, NSMALL);
	/* a missing repository is an error, not a hang */
	snprintf(furl, sizeof furl, "%s/nope.git", f->dir);
	hj_remote_ref *refs = NULL;
	size_t n = 0;
	assert_int_equal(hj_transport_ls(&refs, &n, a, furl, NULL, &quick),
			 HJ_ENET);

	hj_gitrepo_close(a);
	hj_gitrepo_close(b);
	hj_gitrepo_close(hub);
	check_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_daemon_push_ls_fetch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_rejected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mute_listener, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_proxy_stall_and_closed_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_after_advertisement,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_push_then_retry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_local_paths, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
