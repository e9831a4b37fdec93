/*
 * hook.c — pre-receive checks of the hub repository, and their install.
 * hj_hook_check decides one ref update from the feed walk (gitfeed) and
 * the hub's enrolment table; the repository is reached only through
 * gitfeed/gitrepo, never as a raw libgit2 handle.
 */
#include "hook.h"
#include "db.h"
#include "enrolled.h"
#include "error.h"
#include "feed.h"
#include "outbox.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct hook_walk {
	const char *node;
	int enrolled;
	uint8_t pk[32];
	uint64_t old_seq;
	uint64_t prev_seq;
	uint8_t prev_hash[32];
	uint64_t bytes;        /* unenrolled: envelope bytes the feed would hold */
} hook_walk;

/* The refusal of a push beyond an unenrolled feed's quota (hook.h). */
static int over_quota(const hook_walk *w, uint64_t seq, uint64_t bytes)
{
	char size[64] = "";
	if (bytes)
		snprintf(size, sizeof size, ", %" PRIu64 " KiB", (bytes + 1023) >> 10);
	return hj_error_set(HJ_EPERM, "feed %s: %s is not enrolled yet, and the hub holds at most %u change sets "
			    "and %u KiB of a feed nobody enrolled (this push would bring it to seq %" PRIu64
			    "%s); the rest waits at the county until the hub operator enrols it",
			    w->node, w->node, HJ_UNENROLLED_MAX_SETS, HJ_UNENROLLED_MAX_BYTES >> 10, seq, size);
}

/* Sum the bytes of an unenrolled feed already at the hub (its old tip is
 * within the quota, so this reads at most HJ_UNENROLLED_MAX_SETS). */
static int sum_bytes(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	hook_walk *w = vctx;
	(void)seq;
	(void)commit;
	(void)bytes;
	w->bytes += len;
	return 0;
}

static int check_one(void *vctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	hook_walk *w = vctx;
	hj_envelope e = {0};
	int rc;
	(void)commit;
	if (w->enrolled) {
		rc = hj_feed_check(&e, bytes, len, w->node, w->pk, w->prev_seq, w->prev_hash);
	} else {
		/* Not enrolled yet: the key is unknown, the shape is not. */
		w->bytes += len;
		if (seq > HJ_UNENROLLED_MAX_SETS || w->bytes > HJ_UNENROLLED_MAX_BYTES)
			return over_quota(w, seq, w->bytes);
		rc = hj_envelope_decode(&e, bytes, len);
		if (!rc && strcmp(e.node, w->node) != 0)
			rc = hj_error_set(HJ_ECORRUPT, "seq %" PRIu64 " belongs to feed %s, not %s", seq, e.node, w->node);
		else if (!rc && (e.seq != w->prev_seq + 1 || memcmp(e.prev, w->prev_hash, 32) != 0))
			rc = hj_error_set(HJ_ECORRUPT, "seq %" PRIu64 " does not chain to seq %" PRIu64, seq, w->prev_seq);
	}
	hj_envelope_free(&e);
	if (rc)
		return rc;
	w->prev_seq = seq;
	hj_hash32(w->prev_hash, bytes, len);
	return 0;
}

/* BLAKE2b of the change set in commit `id` (the old tip), to chain the
 * first new change set to it. */
static int old_tip_hash(hj_gitrepo *repo, const git_oid *id, uint8_t out[32])
{
	hj_buf b = HJ_BUF_INIT;
	int rc = hj_gitfeed_read(&b, repo, id);
	if (rc)
		rc = hj_error_wrap(rc == HJ_ENOTFOUND || rc == HJ_ECORRUPT ? HJ_ECORRUPT : rc, "the feed's current tip cannot be read: ");
	else
		hj_hash32(out, b.data, b.len);
	hj_buf_free(&b);
	return rc;
}

/* The key the hub enrolled for `node`: *enrolled = 1 and pk, or 0 when it
 * is not enrolled. A failed lookup is an error, never "not enrolled"
 * (which checks the shape only and would let any signature through). */
static int enrolled_key(hj_node *hub, const char *node, int *enrolled, uint8_t pk[32])
{
	*enrolled = 0;
	int rc = hj_enrolled_key(pk, hub->db, node);
	if (rc == HJ_ENOTFOUND)
		return 0; /* not enrolled yet: the shape checks still apply */
	if (rc) /* a failed lookup must not read as "not enrolled" */
		return rc == HJ_ECORRUPT ? rc : hj_error_wrap(rc, "enrolment of %s: ", node);
	*enrolled = 1;
	return 0;
}

/* An unenrolled feed's quota, before anything new is read: the pushed tip's
 * seq (its commit message: one object) and the bytes already held. The
 * bytes of the new change sets are counted as check_one reads them. */
static int unenrolled_quota(hook_walk *w, hj_gitrepo *repo, const git_oid *old_oid, const git_oid *new_oid)
{
	uint64_t new_seq = 0;
	int rc = hj_gitfeed_commit_seq(&new_seq, repo, new_oid, w->node);
	if (rc)
		return rc;
	if (new_seq > HJ_UNENROLLED_MAX_SETS || w->old_seq > HJ_UNENROLLED_MAX_SETS)
		return over_quota(w, new_seq, 0);
	if (git_oid_is_zero(old_oid))
		return 0;
	return hj_gitfeed_walk(repo, old_oid, w->node, 0, sum_bytes, w);
}

int hj_hook_check(hj_node *hub, hj_gitrepo *repo, const char *old_hex, const char *new_hex, const char *ref)
{
	static const char prefix[] = "refs/huiji/feeds/", forks[] = "refs/huiji/forks/";
	git_oid old_oid, new_oid;
	hook_walk w = {0};
	int rc, fork = strncmp(ref, forks, sizeof forks - 1) == 0;

	if (!fork && strncmp(ref, prefix, sizeof prefix - 1) != 0)
		return hj_error_set(HJ_EPERM, "%s: only refs/huiji/feeds/<node> (and a node's own fork, "
				    "refs/huiji/forks/<node>) may be pushed to the hub", ref);
	/* A fork is a node's own second history (a copy restored from an
	 * old backup sends it, sync.c): checked like its feed, append-only
	 * too, and only from an enrolled node, whose key signs it. */
	w.node = ref + (fork ? sizeof forks : sizeof prefix) - 1;
	if (hj_node_id_check(w.node))
		return hj_error_set(HJ_EPERM, "%s: not a valid node id", ref);
	if (strcmp(w.node, hub->id) == 0)
		return hj_error_set(HJ_EPERM, "%s: the hub's own feed is written only by the hub", ref);
	if (git_oid_fromstr(&old_oid, old_hex) < 0 || git_oid_fromstr(&new_oid, new_hex) < 0)
		return hj_error_set(HJ_EINVALID, "%s: malformed object ids", ref);
	if (git_oid_is_zero(&new_oid))
		return hj_error_set(HJ_EPERM, "%s: feeds are append-only; deleting one is refused", ref);
	if (!git_oid_is_zero(&old_oid)) {
		/* Judge the push against its own base, the tip it was
		 * advertised: another push of this feed may have moved the ref
		 * since (a killed client's receive-pack still finishing). git's
		 * compare-and-swap then refuses the stale update by itself. */
		if ((rc = hj_gitfeed_commit_seq(&w.old_seq, repo, &old_oid, w.node)) ||
		    (rc = old_tip_hash(repo, &old_oid, w.prev_hash)))
			return hj_error_wrap(rc, "%s: ", ref);
		w.prev_seq = w.old_seq;
	}
	if ((rc = enrolled_key(hub, w.node, &w.enrolled, w.pk)))
		return rc;
	if (fork && !w.enrolled)
		return hj_error_set(HJ_EPERM, "%s: %s is not enrolled: only an enrolled node's fork is kept", ref, w.node);
	if (!w.enrolled && (rc = unenrolled_quota(&w, repo, &old_oid, &new_oid)))
		return rc == HJ_EPERM ? rc : hj_error_wrap(rc, "%s: ", ref);
	/* Only the new commits are read: the walk stops at the old tip, and
	 * not meeting it means the push is not a fast-forward. */
	rc = git_oid_is_zero(&old_oid) ? hj_gitfeed_walk(repo, &new_oid, w.node, 0, check_one, &w)
				       : hj_gitfeed_walk_since(repo, &new_oid, w.node, &old_oid, w.old_seq, check_one, &w);
	if (rc == HJ_ECONFLICT)
		return hj_error_set(HJ_EPERM, "%s: not a fast-forward; feeds are append-only "
				    "(history may not be rewritten)", ref);
	if (rc)
		return hj_error_wrap(rc, "%s: ", ref);
	return 0;
}

int hj_hook_install(const char *repo_path, const char *huiji_path, const char *hub_dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/hooks", repo_path);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "%s/hooks/pre-receive", repo_path);
	FILE *f = fopen(path, "w");
	if (!f)
		return hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
	/* Paths are quoted for sh; a quote inside them is refused. */
	if (strchr(huiji_path, '\'') || strchr(hub_dir, '\'')) {
		fclose(f);
		return hj_error_set(HJ_EINVALID, "paths with a single quote cannot go into the hook");
	}
	fprintf(f, "#!/bin/sh\n# Installed by `huiji hub init`: the hub repository is append-only.\n"
		   "exec '%s' hook pre-receive --dir '%s'\n", huiji_path, hub_dir);
	if (fclose(f) != 0 || chmod(path, 0755) != 0)
		return hj_error_set(HJ_ERROR, "%s: %s", path, strerror(errno));
	return 0;
}

int hj_hub_repo_no_autogc(hj_gitrepo *repo)
{
	int autogc = 1, gcauto = 1;
	int rc = hj_gitrepo_config_get_int(repo, "receive.autogc", &autogc);
	if (rc && rc != HJ_ENOTFOUND)
		return rc;
	if ((rc == HJ_ENOTFOUND || autogc) && (rc = hj_gitrepo_config_set_bool(repo, "receive.autogc", 0)))
		return rc;
	rc = hj_gitrepo_config_get_int(repo, "gc.auto", &gcauto);
	if (rc && rc != HJ_ENOTFOUND)
		return rc;
	return rc == HJ_ENOTFOUND || gcauto ? hj_gitrepo_config_set_int(repo, "gc.auto", 0) : 0;
}

int hj_hub_repo_setup(const hj_node *hub, const char *huiji_path)
{
	hj_gitrepo *repo = NULL;
	char dir[PATH_MAX];
	char *path = hj_node_repo_path(hub);
	int rc = path ? hj_node_repo_open(&repo, hub) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (rc)
		goto done;
	if ((rc = hj_gitrepo_config_set_bool(repo, "daemon.receivepack", 1)) ||
	    (rc = hj_gitrepo_config_set_bool(repo, "receive.denyNonFastForwards", 1)) ||
	    (rc = hj_gitrepo_config_set_bool(repo, "receive.denyDeletes", 1)) || (rc = hj_hub_repo_no_autogc(repo))) {
		rc = hj_error_wrap(rc, "configuring %s: ", path);
		goto done;
	}
	if (!huiji_path)
		goto done;
	if (!realpath(hub->dir, dir)) {
		rc = hj_error_set(HJ_ERROR, "%s: %s", hub->dir, strerror(errno));
		goto done;
	}
	rc = hj_hook_install(path, huiji_path, dir);
done:
	hj_gitrepo_close(repo);
	free(path);
	return rc;
}
