/*
 * forge.c — `huiji-forge`: a TEST-ONLY tool that makes what a correct huiji
 * never makes, so the integration suites can check that the hub, the hook,
 * the county sync and the auditor notice: change sets with arbitrary
 * payloads (ops of a newer version, hand-written hub verdicts), rewritten
 * history, change sets signed by a key nobody enrolled, and forced pushes
 * that no pre-receive hook sees (libgit2 to a local path runs no hooks).
 *
 *   huiji-forge append  --dir D --payload JSON
 *       sign JSON (bytes as given) as D's next change set, no fold; write
 *       it to git. On a hub, also append it to the hub order (followed) as
 *       a hub op does. Prints "seq <n> <hash hex>".
 *   huiji-forge sign-as --dir D --key-from OTHER --payload JSON
 *       like append, but signed with OTHER's secret key (a forgery: the
 *       envelope names D's feed and carries OTHER's key id).
 *   huiji-forge rewrite --dir D --seq N --payload JSON
 *       replace change set N of D's change log by a new envelope at seq N
 *       (same prev hash, new payload, D's key); later rows stay as they
 *       were. The git feed ref is forced to a chain rebuilt from the
 *       changed log (history rewritten). Prints "seq <n> <hash hex>".
 *   huiji-forge push    --dir D --url URL [--force] [--src REF] [--dst REF]
 *       push D's feed ref (or --src) to --dst (default: the same name) with
 *       libgit2, forced with --force; to a local path no hook runs.
 *   huiji-forge digest  --dir D
 *       print the state digest (hex) of D's projection, as a hub entry
 *       publishes it.
 *
 * Exit 0 on success; 2 with one line on stderr otherwise. Never built into
 * anything shipped (tests/meson.build only).
 */
#include "batch.h"
#include "clock.h"
#include "envelope.h"
#include "error.h"
#include "feed.h"
#include "gitfeed.h"
#include "giterr.h"
#include "node.h"
#include "outbox.h"
#include "projection.h"
#include "rules.h"
#include "followed.h"
#include "replay.h"

#include <git2.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 8

typedef struct args {
	const char *dir, *payload, *key_from, *url, *src, *dst;
	uint64_t seq;
	int force;
} args;

static int usage(void)
{
	fprintf(stderr, "usage: huiji-forge append|sign-as|rewrite|push|digest --dir D [--payload JSON] "
			"[--key-from DIR] [--seq N] [--url URL --force --src REF --dst REF]\n");
	return 2;
}

static int fail(int rc)
{
	fprintf(stderr, "huiji-forge: %s (%s)\n", hj_error_last(), hj_error_name(rc));
	return 2;
}

static int parse(args *a, int argc, char **argv)
{
	memset(a, 0, sizeof *a);
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--force") == 0) {
			a->force = 1;
			continue;
		}
		if (i + 1 >= argc)
			return hj_error_set(HJ_EINVALID, "%s needs a value (or is unknown)", o);
		const char *v = argv[++i];
		if (strcmp(o, "--dir") == 0)
			a->dir = v;
		else if (strcmp(o, "--payload") == 0)
			a->payload = v;
		else if (strcmp(o, "--key-from") == 0)
			a->key_from = v;
		else if (strcmp(o, "--url") == 0)
			a->url = v;
		else if (strcmp(o, "--src") == 0)
			a->src = v;
		else if (strcmp(o, "--dst") == 0)
			a->dst = v;
		else if (strcmp(o, "--seq") == 0) {
			char *end;
			unsigned long long s = strtoull(v, &end, 10);
			if (*end || s < 1)
				return hj_error_set(HJ_EINVALID, "--seq must be a positive integer");
			a->seq = (uint64_t)s;
		} else
			return hj_error_set(HJ_EINVALID, "unknown option %s", o);
	}
	if (!a->dir)
		return hj_error_set(HJ_EINVALID, "--dir is required");
	return 0;
}

static int64_t now_ms(void)
{
	return hj_clock_ms();
}

static void print_hash(uint64_t seq, const uint8_t h[32])
{
	char hex[65];
	hj_hex_encode(hex, h, 32);
	printf("seq %" PRIu64 " %s\n", seq, hex);
}

/* Copy the change log's tail into git, as every huiji command does. */
static int flush(hj_node *n)
{
	hj_gitrepo *repo = NULL;
	int rc = hj_node_repo_open(&repo, n);
	if (!rc)
		rc = hj_outbox_flush(n, repo, NULL);
	hj_gitrepo_close(repo);
	return rc;
}

/* append / sign-as: sign `payload` as n's next change set with (pk, sk). */
static int forge_append(hj_node *n, const char *payload, const uint8_t pk[32], const uint8_t *sk)
{
	uint64_t last;
	uint8_t prev[32], hash[32];
	int rc;
	if ((rc = hj_db_exec(n->db, "BEGIN IMMEDIATE")))
		return rc;
	if ((rc = hj_feed_last(n->db, &last, prev)) ||
	    (rc = hj_feed_append(n->db, n->id, last + 1, now_ms(), (const uint8_t *)payload, strlen(payload), pk, sk,
				 hash)))
		goto rollback;
	if (n->is_root) {
		/* A hub sequences its own change sets as they commit (batch.c). */
		sqlite3_stmt *st = hj_db_stmt(n->db, "SELECT envelope FROM changelog WHERE seq = :s");
		const uint8_t *env = NULL;
		if (!st || hj_db_bind_int(st, ":s", (int64_t)(last + 1)) || hj_db_step(n->db, st) != 1 ||
		    !(env = sqlite3_column_blob(st, 0))) {
			hj_db_release(n->db, st);
			rc = hj_error_set(HJ_ERROR, "reading back seq %" PRIu64, last + 1);
			goto rollback;
		}
		hj_followed_rules rules;
		rc = hj_followed_rules_now(&rules, n->db);
		if (!rc)
			rc = hj_followed_append(n->db, &rules, last + 1, n->id, last + 1, hash, env,
						(size_t)sqlite3_column_bytes(st, 0), NULL, NULL);
		hj_db_release(n->db, st);
		if (rc)
			goto rollback;
	}
	if ((rc = hj_db_exec(n->db, "COMMIT")))
		goto rollback;
	if ((rc = flush(n)))
		return rc;
	print_hash(last + 1, hash);
	return 0;
rollback:
	hj_db_exec(n->db, "ROLLBACK");
	return rc;
}

/* Rebuild the git feed from the change log into a scratch ref, then force
 * the feed ref onto it (compare-and-swap against its current tip). */
static int rebuild_git_feed(hj_node *n)
{
	hj_gitrepo *repo = NULL;
	hj_feed_item *items = NULL;
	sqlite3_stmt *st = NULL;
	size_t k = 0, cap = 0;
	char ref[160], tmp[200];
	git_oid old_tip, new_tip;
	uint64_t old_seq = 0, new_seq = 0;
	int rc;

	hj_node_feed_ref(n, ref, sizeof ref);
	snprintf(tmp, sizeof tmp, "refs/huiji/forge/rebuild-%ld", (long)getpid());
	if ((rc = hj_node_repo_open(&repo, n)))
		return rc;
	if ((rc = hj_gitrepo_ref_delete(repo, tmp)) && rc != HJ_ENOTFOUND)
		goto done;
	if ((rc = hj_gitfeed_tip(repo, ref, &old_seq, &old_tip)))
		goto done;
	if (sqlite3_prepare_v2(n->db->h, "SELECT seq, envelope, created_at FROM changelog ORDER BY seq", -1, &st,
			       NULL) != SQLITE_OK) {
		rc = hj_db_error(n->db, "forge rewrite");
		goto done;
	}
	while ((rc = hj_db_step(n->db, st)) == 1) {
		if (k == cap) {
			cap = cap ? 2 * cap : 64;
			hj_feed_item *p = realloc(items, cap * sizeof *p);
			if (!p) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				goto done;
			}
			items = p;
		}
		const void *blob = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy || (len && !blob)) {
			free(copy);
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			goto done;
		}
		if (len)
			memcpy(copy, blob, len);
		items[k].bytes = copy;
		items[k].len = len;
		items[k].seq = (uint64_t)sqlite3_column_int64(st, 0);
		items[k].created_at = sqlite3_column_int64(st, 2);
		k++;
	}
	if (rc < 0)
		goto done;
	if (k == 0) {
		rc = hj_error_set(HJ_ENOTFOUND, "the change log is empty");
		goto done;
	}
	for (size_t i = 0; i < k; i += 1000) {
		size_t m = k - i < 1000 ? k - i : 1000;
		if ((rc = hj_gitfeed_append(repo, tmp, n->id, items + i, m)))
			goto done;
	}
	if ((rc = hj_gitfeed_tip(repo, tmp, &new_seq, &new_tip)) ||
	    (rc = hj_gitref_cas(repo, ref, &new_tip, old_seq ? &old_tip : NULL, "huiji-forge: rewrite history")))
		goto done;
	if ((rc = hj_gitrepo_ref_delete(repo, tmp)) == HJ_ENOTFOUND)
		rc = 0;
done:
	sqlite3_finalize(st);
	for (size_t i = 0; i < k; i++)
		free((void *)items[i].bytes);
	free(items);
	hj_gitrepo_close(repo);
	return rc;
}

static int forge_rewrite(hj_node *n, uint64_t seq, const char *payload)
{
	hj_envelope old = {0};
	hj_buf env = HJ_BUF_INIT;
	uint8_t hash[32];
	int rc, in_tx = 0;
	sqlite3_stmt *st;

	if ((rc = hj_db_exec(n->db, "BEGIN IMMEDIATE")))
		return rc;
	in_tx = 1;
	st = hj_db_stmt(n->db, "SELECT envelope FROM changelog WHERE seq = :s");
	if (!st || hj_db_bind_int(st, ":s", (int64_t)seq)) {
		rc = HJ_ERROR;
		goto done;
	}
	if ((rc = hj_db_step(n->db, st)) != 1) {
		hj_db_release(n->db, st);
		rc = rc < 0 ? rc : hj_error_set(HJ_ENOTFOUND, "no change set %" PRIu64 " in %s", seq, n->dir);
		goto done;
	}
	const uint8_t *oldenv = sqlite3_column_blob(st, 0);
	rc = oldenv ? hj_envelope_decode(&old, oldenv, (size_t)sqlite3_column_bytes(st, 0))
		    : hj_error_set(HJ_ECORRUPT, "change set %" PRIu64 " is empty", seq);
	hj_db_release(n->db, st);
	if (rc)
		goto done;
	/* Same position in the chain (seq, prev), a different story. */
	if ((rc = hj_envelope_encode(&env, n->id, seq, old.prev, old.created_at + 1, payload, strlen(payload), n->pk,
				     n->sk)))
		goto done;
	hj_hash32(hash, env.data, env.len);
	st = hj_db_stmt(n->db, "UPDATE changelog SET hash = :h, envelope = :e WHERE seq = :s");
	if (!st || hj_db_bind_blob(st, ":h", hash, 32) || hj_db_bind_blob(st, ":e", env.data, env.len) ||
	    hj_db_bind_int(st, ":s", (int64_t)seq)) {
		rc = HJ_ERROR;
		goto done;
	}
	rc = hj_db_step(n->db, st);
	hj_db_release(n->db, st);
	if (rc < 0)
		goto done;
	if ((rc = hj_db_exec(n->db, "COMMIT")))
		goto done;
	in_tx = 0;
	if ((rc = rebuild_git_feed(n)))
		goto done;
	print_hash(seq, hash);
done:
	if (in_tx)
		hj_db_exec(n->db, "ROLLBACK");
	hj_envelope_free(&old);
	hj_buf_free(&env);
	return rc;
}

typedef struct push_status {
	int rejected;
	char msg[300];
} push_status;

static int on_update(const char *refname, const char *status, void *data)
{
	push_status *p = data;
	if (status) {
		p->rejected = 1;
		snprintf(p->msg, sizeof p->msg, "%s: %s", refname, status);
	}
	return 0;
}

/* libgit2's push: to a local path or file:// no hook of the receiving
 * repository runs (NOTES-git-crypto.md), which is the point here. */
/* The raw libgit2 handle (hj_gitrepo_git) is the point here: a forced
 * push straight from libgit2, which hj_transport_push never makes. */
static int forge_push(hj_node *n, const args *a)
{
	hj_gitrepo *repo = NULL;
	git_remote *remote = NULL;
	git_push_options po;
	push_status ps = {0};
	git_reference *tmpref = NULL;
	git_oid oid;
	char ref[160], spec[600], tmp[100];
	int rc;

	if (!a->url)
		return hj_error_set(HJ_EINVALID, "push: --url is required");
	hj_node_feed_ref(n, ref, sizeof ref);
	if ((rc = hj_node_repo_open(&repo, n)))
		return rc;
	if (a->src && git_oid_fromstr(&oid, a->src) == 0 && strlen(a->src) == GIT_OID_HEXSZ) {
		/* libgit2 1.5.1 pushes named refs only: name the commit. */
		if (!a->dst) {
			rc = hj_error_set(HJ_EINVALID, "push: a commit id as --src needs --dst");
			goto done;
		}
		snprintf(tmp, sizeof tmp, "refs/huiji/forge/push-%ld", (long)getpid());
		if (git_reference_create(&tmpref, hj_gitrepo_git(repo), tmp, &oid, 1, "huiji-forge push") < 0) {
			rc = hj_error_set(HJ_ERROR, "naming %s: %s", a->src,
					  hj_git_message());
			goto done;
		}
	}
	snprintf(spec, sizeof spec, "%s%s:%s", a->force ? "+" : "", tmpref ? tmp : a->src ? a->src : ref,
		 a->dst ? a->dst : (a->src ? a->src : ref));
	char *specs[] = {spec};
	git_strarray refspecs = {specs, 1};
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	po.callbacks.push_update_reference = on_update;
	po.callbacks.payload = &ps;
	if (git_remote_create_anonymous(&remote, hj_gitrepo_git(repo), a->url) < 0 ||
	    git_remote_push(remote, &refspecs, &po) < 0) {
		rc = hj_error_set(HJ_ERROR, "push %s to %s: %s", spec, a->url,
				  hj_git_message());
		goto done;
	}
	if (ps.rejected) {
		rc = hj_error_set(HJ_ECONFLICT, "push %s to %s rejected: %s", spec, a->url, ps.msg);
		goto done;
	}
	printf("pushed %s to %s\n", spec, a->url);
done:
	if (tmpref)
		git_reference_delete(tmpref);
	git_reference_free(tmpref);
	git_remote_free(remote);
	hj_gitrepo_close(repo);
	return rc;
}

static int forge_digest(hj_node *n)
{
	uint8_t d[32];
	char hex[65];
	int rc = hj_projection_digest_for(n->db, HJ_RULES_VERSION, d); /* what an entry of today's rules signs */
	if (rc)
		return rc;
	hj_hex_encode(hex, d, 32);
	printf("%s\n", hex);
	return 0;
}

int main(int argc, char **argv)
{
	args a;
	hj_node *n = NULL, *other = NULL;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if ((rc = parse(&a, argc - 2, argv + 2)))
		return fail(rc);
	if ((rc = hj_node_open(&n, a.dir)))
		return fail(rc);
	if (strcmp(cmd, "append") == 0 || strcmp(cmd, "sign-as") == 0) {
		if (!a.payload) {
			rc = hj_error_set(HJ_EINVALID, "%s: --payload is required", cmd);
		} else if (strcmp(cmd, "sign-as") == 0) {
			if (!a.key_from)
				rc = hj_error_set(HJ_EINVALID, "sign-as: --key-from DIR is required");
			else if (!(rc = hj_node_open(&other, a.key_from)))
				rc = forge_append(n, a.payload, other->pk, other->sk);
		} else {
			rc = forge_append(n, a.payload, n->pk, n->sk);
		}
	} else if (strcmp(cmd, "rewrite") == 0) {
		if (!a.payload || !a.seq)
			rc = hj_error_set(HJ_EINVALID, "rewrite: --seq and --payload are required");
		else
			rc = forge_rewrite(n, a.seq, a.payload);
	} else if (strcmp(cmd, "push") == 0) {
		/* In a child that ends with _exit, as huiji's transport does:
		 * libgit2's in-process push leaves allocations behind that the
		 * sanitizer build would report as this tool's leaks. */
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			rc = forge_push(n, &a);
			if (rc)
				fail(rc);
			fflush(NULL);
			_exit(rc ? 2 : 0);
		}
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			rc = hj_error_set(HJ_ERROR, "push: cannot run the child");
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			hj_node_close(n);
			return 2; /* the child said why */
		}
	} else if (strcmp(cmd, "digest") == 0) {
		rc = forge_digest(n);
	} else {
		hj_node_close(n);
		return usage();
	}
	hj_node_close(other);
	hj_node_close(n);
	hj_envelope_thread_cleanup();
	return rc ? fail(rc) : 0;
}
