/*
 * seqref.c — the hub's refs/huiji/sequenced/<node> refs (seqref.h):
 * written after a round's COMMIT, repaired from `followed` at the start
 * of every pass. Repairing only ever moves a ref to a commit whose change
 * sets all hash to what `followed` holds, so it can never vouch for
 * anything the hub did not sequence.
 */
#include "seqref.h"

#include "envelope.h"
#include "error.h"
#include "followed.h"
#include "killpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hj_seqref_name(char *out, size_t outsz, const char *node)
{
	snprintf(out, outsz, "refs/huiji/sequenced/%s", node);
}

int hj_seqref_set(hj_gitrepo *repo, const char *node, const git_oid *commit)
{
	char ref[160];
	hj_seqref_name(ref, sizeof ref, node);
	int rc = hj_gitrepo_ref_set(repo, ref, commit, "huiji: sequenced");
	if (!rc)
		hj_killpoint("hub-tip-written");
	return rc;
}

/* The walk down the feed: every change set up to `last` must be the one
 * `followed` holds; the commit of `last` is the answer. */
typedef struct finder {
	hj_db *db;
	const char *node;
	uint64_t last;
	const uint8_t *hash;
	int found; /* 1: commit is it; -1: the feed differs from followed */
	git_oid commit;
} finder;

static int on_change_set(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	finder *f = ctx;
	uint8_t h[32], want[32];
	int rc = 0;
	if (seq == f->last)
		memcpy(want, f->hash, 32);
	else if ((rc = hj_followed_hash(want, f->db, f->node, seq)) == HJ_ENOTFOUND)
		memset(want, 0, 32); /* followed has a gap: nothing on this feed can match */
	else if (rc)
		return rc;
	hj_hash32(h, bytes, len);
	if (memcmp(h, want, 32) != 0) {
		f->found = -1;
		return 1;
	}
	if (seq < f->last)
		return 0;
	git_oid_cpy(&f->commit, commit);
	f->found = 1;
	return 1;
}

/* 1 if `commit` is a change set of the node's feed at a seq below
 * f->last that `followed` holds, with its seq in *seq: a base the walk
 * may stop at. 0 if not (absent, malformed, differs), < 0 on error. */
static int usable_base(uint64_t *seq, finder *f, hj_gitrepo *repo, const git_oid *commit)
{
	hj_buf bytes = HJ_BUF_INIT;
	uint8_t h[32], want[32];
	int rc = hj_gitfeed_commit_seq(seq, repo, commit, f->node);
	if (rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND || (!rc && (*seq == 0 || *seq > f->last)))
		return 0;
	if (rc || (rc = hj_gitfeed_read(&bytes, repo, commit)))
		goto done;
	if (*seq == f->last)
		memcpy(want, f->hash, 32);
	else if ((rc = hj_followed_hash(want, f->db, f->node, *seq)))
		goto done;
	hj_hash32(h, bytes.data, bytes.len);
	rc = memcmp(h, want, 32) == 0;
done:
	hj_buf_free(&bytes);
	return rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND ? 0 : rc;
}

/* Walk the feed from `tip` (down to `base` at `base_seq` when given) for
 * f->last. 0 (f->found says what was found), or an error; a feed whose
 * commits are malformed or do not pass through `base` is "not found"
 * here (HJ_ECONFLICT for the latter, so the caller can retry from the
 * root). */
static int find(finder *f, hj_gitrepo *repo, const git_oid *tip, const git_oid *base, uint64_t base_seq)
{
	f->found = 0;
	int rc = base ? hj_gitfeed_walk_since(repo, tip, f->node, base, base_seq, on_change_set, f)
		      : hj_gitfeed_walk(repo, tip, f->node, 0, on_change_set, f);
	if (rc == 1 || rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND)
		rc = 0;
	return rc;
}

int hj_seqref_repair(git_oid *out, hj_db *db, hj_gitrepo *repo, const char *node, uint64_t last,
		     const uint8_t hash[32])
{
	char sref[160], fref[160];
	finder f = {db, node, last, hash, 0, {{0}}};
	git_oid cur, tip;
	uint64_t cur_seq = 0, tipseq = 0;
	int rc, have_cur;
	hj_seqref_name(sref, sizeof sref, node);
	snprintf(fref, sizeof fref, "refs/huiji/feeds/%s", node);
	/* an unreadable ref is an error, not "nothing sequenced yet" */
	if ((rc = hj_gitrepo_ref_get(&cur, repo, sref)) && rc != HJ_ENOTFOUND && rc != HJ_ECORRUPT)
		return rc;
	if ((have_cur = rc == 0) && (rc = usable_base(&cur_seq, &f, repo, &cur)) < 0)
		return rc;
	have_cur = have_cur && rc == 1;
	if (have_cur && cur_seq == last) {
		git_oid_cpy(out, &cur); /* the usual case: nothing to repair */
		return 0;
	}
	rc = hj_gitfeed_tip(repo, fref, &tipseq, &tip);
	if (rc == HJ_ECORRUPT || rc == HJ_ENOTFOUND || (!rc && tipseq < last))
		return HJ_ENOTFOUND; /* the feed no longer reaches `last` */
	if (rc)
		return rc;
	rc = find(&f, repo, &tip, have_cur ? &cur : NULL, cur_seq);
	if (rc == HJ_ECONFLICT) /* the feed does not pass through the old ref: from the root */
		rc = find(&f, repo, &tip, NULL, 0);
	if (rc)
		return rc;
	if (f.found != 1)
		return HJ_ENOTFOUND;
	git_oid_cpy(out, &f.commit);
	return hj_seqref_set(repo, node, &f.commit);
}

int hj_seqref_repair_all(hj_node *hub, hj_gitrepo *repo)
{
	char *node = NULL, *prev = strdup("");
	int rc = prev ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	/* Node by node through the (node, seq) index: one probe per node,
	 * not a scan of every change set the hub ever sequenced. */
	while (!rc && !(rc = hj_db_get_text(&node, hub->db, "SELECT min(node) FROM followed WHERE node > :p", ":p",
					    prev))) {
		uint64_t last = 0;
		uint8_t hash[32];
		git_oid commit;
		if (strcmp(node, hub->id) != 0 && !(rc = hj_followed_last(hub->db, node, &last, hash)) && last &&
		    (rc = hj_seqref_repair(&commit, hub->db, repo, node, last, hash)) == HJ_ENOTFOUND)
			rc = 0; /* its history is gone from the feed: the round quarantines it */
		free(prev);
		prev = node;
		node = NULL;
	}
	free(prev);
	return rc == HJ_ENOTFOUND ? 0 : rc;
}
