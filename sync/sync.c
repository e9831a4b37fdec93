/*
 * sync.c — a county's sync over the network: under the node's sync lock,
 * make the replica ready (repairing what was lost), push the own feed in
 * chunks sized in bytes, fetch the hub's refs, then follow (follow.c).
 */
#include "sync.h"
#include "lockfile.h"
#include "error.h"
#include "feed.h"
#include "inbox.h"
#include "wraps.h"
#include "localfetch.h"
#include "outbox.h"
#include "followed.h"
#include "replica.h"

#include <errno.h>
#include <inttypes.h>
#include <unistd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void hj_sync_opts_default(hj_sync_opts *o)
{
	o->retries = 4;
	o->backoff_ms = 1000;
	o->chunk = 0;
	o->chunk_bytes = HJ_SYNC_CHUNK_BYTES;
	hj_net_opts_default(&o->net);
	o->progress.fn = NULL; /* no one listens */
	o->progress.ctx = NULL;
}

uint64_t hj_sync_chunk_end(const size_t *len, uint64_t from, uint64_t n, size_t budget, uint64_t max_sets)
{
	uint64_t end = from + 1; /* one change set, however big */
	size_t sum = len[from];
	while (end < n && (!max_sets || end - from < max_sets) && len[end] <= budget && sum <= budget - len[end])
		sum += len[end++];
	return end;
}

size_t hj_sync_chunk_next(size_t budget, size_t sent, int dropped, size_t cap)
{
	if (cap < HJ_SYNC_CHUNK_MIN)
		cap = HJ_SYNC_CHUNK_MIN;
	if (dropped) {
		/* Half of what the link could not carry: a chunk cut short by
		 * the end of the feed may have been far below the budget. */
		size_t half = (sent < budget ? sent : budget) / 2;
		return half < HJ_SYNC_CHUNK_MIN ? HJ_SYNC_CHUNK_MIN : half;
	}
	return budget > cap / 2 ? cap : budget * 2;
}

/* ---- own feed: seq -> commit id, to push intermediate change sets ---- */

typedef struct oid_list {
	git_oid *v;  /* v[seq - 1] */
	size_t *len; /* len[seq - 1]: its envelope's bytes, to size chunks */
	size_t n, cap;
} oid_list;

static int collect_oid(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	oid_list *l = ctx;
	(void)bytes;
	if (seq != l->n + 1)
		return hj_error_set(HJ_ECORRUPT, "own feed: seq %" PRIu64 " out of order", seq);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		git_oid *p = realloc(l->v, cap * sizeof *p);
		if (p)
			l->v = p;
		size_t *q = p ? realloc(l->len, cap * sizeof *q) : NULL;
		if (!q)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		l->len = q;
		l->cap = cap;
	}
	l->len[l->n] = len;
	git_oid_cpy(&l->v[l->n++], commit);
	return 0;
}

/* A hub on this machine is read feed by feed (localfetch.h): libgit2's
 * local transport would copy the whole province. */
static int fetch(hj_gitrepo *repo, const char *url, const char *const *specs, size_t n, const hj_net_opts *net)
{
	return hj_localfetch_is_local(url) ? hj_localfetch(repo, url, specs, n)
					   : hj_transport_fetch(repo, url, specs, n, net);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The hub holds a history of this node's feed that is not this copy's
 * (a copy restored from an old backup that went on writing, or a feed
 * rewritten). The county does not push over it; it sends its own history
 * to refs/huiji/forks/<node> instead, so the hub quarantines it as a fork
 * with its evidence and the auditor sees it (the hub's pre-receive hook
 * takes that ref only signed by the node's enrolled key), and it names the
 * first seq at which the two differ. Non-forced: a fork the hub holds
 * already is not replaced (a later sync of the same copy appends to it).
 * The copy's work is carried to a re-initialised node by `huiji recover`
 * (README, Recovery). Always returns a negative code: HJ_ECONFLICT with
 * the message, or the transport's error (HJ_ENET: the retry asks again). */
static int meet_own_fork(hj_node *n, hj_gitrepo *repo, const char *url, const hj_sync_opts *o, const oid_list *own)
{
	char theirs_ref[160], spec[400], forkref[160], ownref[160];
	oid_list theirs = {0};
	git_oid tip;
	uint64_t tipseq = 0;
	/* under incoming/: a lock left there by a killed sync is removed at start */
	snprintf(theirs_ref, sizeof theirs_ref, "refs/huiji/incoming/theirs/%s", n->id);
	snprintf(spec, sizeof spec, "+refs/huiji/feeds/%s:%s", n->id, theirs_ref);
	snprintf(forkref, sizeof forkref, "refs/huiji/forks/%s", n->id);
	hj_node_feed_ref(n, ownref, sizeof ownref);
	const char *specs[] = {spec};
	/* No stale copy from an earlier meeting may stand for the hub's. */
	int rc = hj_gitrepo_ref_delete(repo, theirs_ref);
	if (rc && rc != HJ_ENOTFOUND)
		return rc;
	rc = fetch(repo, url, specs, 1, &o->net);
	if (!rc && !(rc = hj_gitfeed_tip(repo, theirs_ref, &tipseq, &tip)) && tipseq)
		rc = hj_gitfeed_walk(repo, &tip, n->id, 0, collect_oid, &theirs);
	if (rc) {
		free(theirs.v);
		free(theirs.len);
		return rc == HJ_ENET ? rc : hj_error_wrap(rc, "feed %s: the hub holds another history, unreadable here: ",
							 n->id);
	}
	size_t k = 0;
	while (k < own->n && k < theirs.n && git_oid_equal(&own->v[k], &theirs.v[k]))
		k++;
	free(theirs.v);
	free(theirs.len);
	if (k == own->n) /* nothing of this copy's own: it is only behind */
		return hj_error_set(HJ_ECONFLICT, "feed %s: this copy ends at seq %zu and lacks seqs %zu-%zu the hub "
				    "holds (a fork: was this node restored from an old copy?): refusing to push; "
				    "re-initialise it under a new id (README, Recovery)", n->id, own->n, own->n + 1,
				    (size_t)tipseq);
	if (k == 0) /* not even seq 1 in common: not this node's old history at all */
		return hj_error_set(HJ_ECONFLICT, "feed %s: the hub holds another history from seq 1 on (another "
				    "writer took this id before its enrolment?): refusing to push; once the hub "
				    "enrols this node it sets that feed aside, then sync again", n->id);
	rc = hj_transport_push(repo, url, ownref, forkref, &o->net);
	if (rc == HJ_ENET)
		return rc;
	const char *sent = rc == 0 ? "sent to the hub as a fork, to be quarantined there"
				   : "not sent (the hub refused it: does it hold a fork of this feed already?)";
	return hj_error_set(HJ_ECONFLICT, "feed %s: seq %zu differs from the history the hub holds (a fork: was this "
			    "node restored from an old copy?): refusing to push; this copy's seqs %zu-%zu were %s; "
			    "carry its work to a new node with `huiji recover --from %s` (README, Recovery)",
			    n->id, k + 1, k + 1, own->n, sent, n->dir);
}

/* One attempt: settle what the hub has, push what it lacks, fetch the
 * hub feed, this node's sequenced history, its inbox and its wraps — and every
 * node's sequenced history only when `all_feeds` (entries from before the
 * inbox, follow.c). */
static int attempt(hj_node *n, hj_gitrepo *repo, const char *url, const hj_sync_opts *o, const oid_list *own,
		   size_t *budget, int all_feeds, hj_sync_report *rep)
{
	hj_remote_ref *refs = NULL;
	size_t nrefs = 0;
	char myref[160], outref[160], inboxref[160], wrapsref[160], seqspec[400], inboxspec[400], wrapsspec[400];
	const char *specs[5] = {"+refs/huiji/hub/*:refs/huiji/incoming/hub/*"};
	size_t nspecs = 1;
	uint64_t remote_seq = 0;
	int rc;

	snprintf(myref, sizeof myref, "refs/huiji/feeds/%s", n->id);
	snprintf(outref, sizeof outref, "refs/huiji/outgoing/%s", n->id);
	hj_inbox_ref(inboxref, sizeof inboxref, n->id);
	snprintf(seqspec, sizeof seqspec, "+refs/huiji/sequenced/%s:refs/huiji/incoming/feeds/%s", n->id, n->id);
	snprintf(inboxspec, sizeof inboxspec, "+%s:refs/huiji/incoming/inbox/%s", inboxref, n->id);
	hj_rewrap_ref(wrapsref, sizeof wrapsref, n->id);
	snprintf(wrapsspec, sizeof wrapsspec, "+%s:refs/huiji/incoming/wraps/%s", wrapsref, n->id);
	if ((rc = hj_transport_ls(&refs, &nrefs, repo, url, "refs/huiji/", &o->net)))
		return rc;
	/* Named whether or not the listing above showed them: the hub may
	 * write them between that listing and the fetch's own (a pass
	 * repairing after a crash), and a refspec naming a ref the hub lacks
	 * matches nothing (libgit2 fetches what the remote advertises). */
	if (!all_feeds)
		specs[nspecs++] = seqspec;
	specs[nspecs++] = inboxspec;
	specs[nspecs++] = wrapsspec;
	for (size_t i = 0; i < nrefs; i++) {
		if (strcmp(refs[i].name, myref) != 0)
			continue;
		size_t k;
		for (k = 0; k < own->n && !git_oid_equal(&own->v[k], &refs[i].oid); k++)
			;
		if (k == own->n) {
			free(refs);
			return meet_own_fork(n, repo, url, o, own);
		}
		remote_seq = k + 1;
	}
	free(refs);

	while (remote_seq < own->n) {
		uint64_t end = hj_sync_chunk_end(own->len, remote_seq, own->n, *budget, (uint64_t)o->chunk);
		size_t sent = 0;
		for (uint64_t i = remote_seq; i < end; i++)
			sent += own->len[i];
		/* A local scratch ref (libgit2 pushes named refs only): forced. */
		if ((rc = hj_gitrepo_ref_set(repo, outref, &own->v[end - 1], "huiji: push chunk")))
			return rc;
		rc = hj_transport_push(repo, url, outref, myref, &o->net);
		*budget = hj_sync_chunk_next(*budget, sent, rc == HJ_ENET, o->chunk_bytes);
		if (rc)
			return rc;
		rep->pushed += end - remote_seq;
		remote_seq = end;
	}

	if (all_feeds)
		specs[nspecs++] = "+refs/huiji/sequenced/*:refs/huiji/incoming/feeds/*";
	return fetch(repo, url, specs, nspecs, &o->net);
}

/* Remove *.lock files below `dir` (recursively). */
/* One sync per node at a time; the refs it alone writes (incoming/,
 * outgoing/) may carry lock files left by a sync killed mid-write, which
 * would fail every later one: under this lock they can only be stale.
 * Returns the fd to close, or < 0. */
static int take_sync_lock(const hj_node *n)
{
	char *repo = hj_node_repo_path(n);
	char path[4096];
	if (!repo)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	snprintf(path, sizeof path, "%s/huiji-sync.lock", repo);
	int fd = hj_lockfile_take(path, 0);
	if (fd == HJ_ECONFLICT)
		fd = hj_error_set(HJ_ECONFLICT, "another huiji sync is running for %s", n->id);
	for (const char *const *dir = (const char *const[]){"incoming", "outgoing", NULL}; fd >= 0 && *dir; dir++) {
		snprintf(path, sizeof path, "%s/refs/huiji/%s", repo, *dir);
		int rc = hj_lockfile_clear_stale(path, 1, 0);
		if (rc) {
			close(fd);
			fd = rc;
		}
	}
	free(repo);
	return fd;
}

/* ---- a replica that lost a pack ---- */

/* The own feed's commits into `own` (which it resets), read back whole. */
static int own_oids(hj_node *n, hj_gitrepo *repo, oid_list *own)
{
	char ref[160];
	git_oid tip;
	uint64_t tipseq = 0;
	int rc;
	own->n = 0;
	hj_node_feed_ref(n, ref, sizeof ref);
	if ((rc = hj_gitfeed_tip(repo, ref, &tipseq, &tip)))
		return rc;
	return tipseq ? hj_gitfeed_walk(repo, &tip, n->id, 0, collect_oid, own) : 0;
}

/* The replica as a sync needs it: broken packs removed, refs to what is
 * gone dropped, the own feed flushed and read back into `own`. If the own
 * feed does not read back, a second pass checks everything whole and
 * writes the own feed again from the change log (hj_outbox_repair). The
 * handle is reopened after a repair (libgit2 keeps removed packs'
 * indexes). */
static int replica_ready(hj_node *n, hj_gitrepo **repo, oid_list *own)
{
	int rc;
	for (int whole = 0;; whole = 1) {
		int fixed = 0;
		if ((rc = hj_outbox_repair(n, whole, &fixed)))
			return rc;
		if (fixed) {
			hj_gitrepo_close(*repo);
			*repo = NULL;
			if ((rc = hj_node_repo_open(repo, n)))
				return rc;
		}
		if ((rc = hj_replica_drop_unreadable(*repo, whole)) < 0 || (rc = hj_outbox_flush(n, *repo, NULL)))
			return rc;
		rc = own_oids(n, *repo, own);
		if (!rc || whole || rc == HJ_ENOMEM)
			return rc;
	}
}

int hj_sync(hj_node *n, const hj_sync_opts *o, hj_sync_report *rep)
{
	hj_gitrepo *repo = NULL;
	oid_list own = {0};
	char *url = NULL;
	int rc, lock = -1;

	memset(rep, 0, sizeof *rep);
	if (n->is_root)
		return hj_error_set(HJ_EINVALID, "%s is a hub: it does not sync, it runs `huiji hub run`", n->id);
	if ((rc = hj_meta_get(&url, n->db, "hub_url")) == HJ_ENOTFOUND)
		return hj_error_set(HJ_EINVALID, "%s has no hub (init --hub URL)", n->id);
	if (rc)
		return rc;
	if ((rc = hj_node_repo_open(&repo, n)) || (lock = rc = take_sync_lock(n)) < 0 ||
	    (rc = replica_ready(n, &repo, &own)))
		goto done;

	int backoff = o->backoff_ms;
	size_t budget = o->chunk_bytes < HJ_SYNC_CHUNK_MIN ? HJ_SYNC_CHUNK_MIN : o->chunk_bytes;
	for (rep->attempts = 1;; rep->attempts++) {
		rc = attempt(n, repo, url, o, &own, &budget, 0, rep);
		if (rc != HJ_ENET || rep->attempts > o->retries)
			break;
		/* Exponential back-off with jitter, so counties that lost the
		 * link together do not all come back in the same second. */
		int jitter = (int)randombytes_uniform((uint32_t)(backoff / 2 + 1));
		sleep_ms(backoff + jitter);
		backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
	}
	if (rc == HJ_ECORRUPT && (rc = hj_replica_after_lost(n, &repo, rc)) == 1)
		rc = attempt(n, repo, url, o, &own, &budget, 0, rep);
	/* Offline: what reached the hub in this sync stays there (rep->pushed);
	 * the rest waits for the next link. */
	if (rc)
		goto done;
	int64_t pending = 0;
	int all_feeds = 0;
	rc = hj_sync_follow_with(n, repo, rep, &o->progress);
	if (!rc && rep->need_feeds && !(rc = attempt(n, repo, url, o, &own, &budget, all_feeds = 1, rep)))
		rc = hj_sync_follow_with(n, repo, rep, &o->progress);
	if ((rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND) && (rc = hj_replica_after_lost(n, &repo, rc)) == 1 &&
	    !(rc = attempt(n, repo, url, o, &own, &budget, all_feeds, rep)))
		rc = hj_sync_follow_with(n, repo, rep, &o->progress);
	if (!rc && rep->need_feeds)
		rc = hj_error_set(HJ_ECORRUPT, "the hub's entries name change sets its sequenced feeds do not hold");
	rep->need_feeds = all_feeds;
	if (!rc && !(rc = hj_pending_count(&pending, n)))
		rep->pending = (uint64_t)pending;
done:
	if (lock >= 0)
		close(lock);
	free(own.v);
	free(own.len);
	free(url);
	hj_gitrepo_close(repo);
	return rc;
}

/* ---- following the hub order ---- */
