/*
 * gitfeed_walk.c — reading a feed back: validating a whole chain of
 * change-set commits (or only what is new above a trusted base), handing
 * the change sets over oldest first, ancestry, and reading one commit's
 * change set. Everything a commit must be is checked here, byte for byte
 * against what gitfeed.c would write.
 */
#include "gitfeed.h"

#include "buf.h"
#include "error.h"
#include "gitfeed_int.h"
#include "giterr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one commit ---- */

/* What check_commit learns of one commit. */
typedef struct commit_facts {
	uint64_t seq;
	git_oid blob;
	int has_parent;
	git_oid parent;
} commit_facts;

/* The message names `node` and the expected seq, and the parent count fits
 * the seq (a root is seq 1, every other commit has exactly one parent). */
static int check_header(git_commit *c, const char *hex, const char *chex, const char *node, uint64_t expect,
			uint64_t *seq)
{
	const char *mnode;
	size_t nlen;
	unsigned parents;

	if (hj_gitfeed_parse_msg(git_commit_message_raw(c), &mnode, &nlen, seq) < 0 ||
	    !hj_gitfeed_msg_is_node(mnode, nlen, node))
		return hj_error_set(HJ_ECORRUPT, "gitfeed: commit %s: message is not \"huiji %s <seq>\\n\"", hex,
				    node);
	if (expect && *seq != expect)
		return hj_error_set(HJ_ECORRUPT,
				    "gitfeed: commit %s: seq %" PRIu64 " where %" PRIu64
				    " was expected (it is the parent of %s)",
				    hex, *seq, expect, chex);
	parents = git_commit_parentcount(c);
	if (parents > 1)
		return hj_error_set(HJ_ECORRUPT, "gitfeed: commit %s: %u parents (a feed is a chain)", hex, parents);
	if ((parents == 0) != (*seq == 1))
		return hj_error_set(HJ_ECORRUPT, "gitfeed: commit %s: seq %" PRIu64 " with %u parents", hex, *seq,
				    parents);
	return 0;
}

/* The tree holds exactly one 100644 blob named "changeset". */
static int check_tree(git_commit *c, const char *hex, git_oid *blob_out)
{
	git_tree *tree = NULL;
	const git_tree_entry *e;
	int rc = git_commit_tree(&tree, c);
	if (rc < 0)
		return hj_git_error_as(HJ_ECORRUPT, rc, "commit %s: tree unreadable", hex);
	if (git_tree_entrycount(tree) != 1) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "gitfeed: commit %s: tree has %zu entries, not one \"" HJ_GITFEED_ENTRY "\"", hex,
				  git_tree_entrycount(tree));
		goto done;
	}
	e = git_tree_entry_byindex(tree, 0);
	if (strcmp(git_tree_entry_name(e), HJ_GITFEED_ENTRY) != 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode_raw(e) != GIT_FILEMODE_BLOB) {
		rc = hj_error_set(HJ_ECORRUPT,
				  "gitfeed: commit %s: tree entry is not a 100644 blob named \"" HJ_GITFEED_ENTRY "\"",
				  hex);
		goto done;
	}
	git_oid_cpy(blob_out, git_tree_entry_id(e));
done:
	git_tree_free(tree);
	return rc;
}

/* Last, byte-exactness: rebuild tree and commit from what was parsed and
 * compare ids. This rejects what the checks above cannot see (another
 * author, a time zone, an encoding or gpgsig header) and keeps commit ids
 * identical on every node. Built from the blob id: the blob is not read. */
static int check_canonical(git_commit *c, const git_oid *id, const char *hex, const char *node, uint64_t seq,
			   const git_oid *blob)
{
	hj_gitfeed_objs o = HJ_GITFEED_OBJS_INIT;
	git_time_t secs = git_commit_time(c);
	int rc = 0;

	if (secs < 0 || secs > INT64_MAX / 1000)
		return hj_error_set(HJ_ECORRUPT, "gitfeed: commit %s: bad commit time", hex);
	hj_gitfeed_tree_raw(&o.tree_raw, blob);
	if (o.tree_raw.rc) {
		rc = hj_error_set(HJ_ENOMEM, "gitfeed: out of memory");
		goto done;
	}
	if ((rc = git_odb_hash(&o.tree, o.tree_raw.data, o.tree_raw.len, GIT_OBJECT_TREE)) < 0) {
		rc = hj_git_error(rc, "hash tree");
		goto done;
	}
	if (!git_oid_equal(&o.tree, git_commit_tree_id(c))) {
		rc = hj_error_set(HJ_ECORRUPT, "gitfeed: commit %s: tree is not in canonical form", hex);
		goto done;
	}
	hj_gitfeed_commit_raw(&o.commit_raw, &o.tree, git_commit_parentcount(c) ? git_commit_parent_id(c, 0) : NULL,
			      node, seq, (int64_t)secs);
	if (o.commit_raw.rc) {
		rc = hj_error_set(HJ_ENOMEM, "gitfeed: out of memory");
		goto done;
	}
	if ((rc = git_odb_hash(&o.commit, o.commit_raw.data, o.commit_raw.len, GIT_OBJECT_COMMIT)) < 0) {
		rc = hj_git_error(rc, "hash commit");
		goto done;
	}
	if (!git_oid_equal(&o.commit, id))
		rc = hj_error_set(HJ_ECORRUPT,
				  "gitfeed: commit %s is not in canonical huiji form (author, committer, time zone "
				  "or extra headers differ)",
				  hex);
done:
	hj_gitfeed_objs_free(&o);
	return rc;
}

/* Check one commit completely; hand back its seq, blob and first parent.
 * `expect` is the seq it must have and `child` the commit that named it
 * as parent (0 and NULL for the tip). */
static int check_commit(hj_gitrepo *r, const git_oid *id, const char *node, uint64_t expect, const git_oid *child,
			int salvage, commit_facts *out)
{
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1], chex[GIT_OID_HEXSZ + 1] = "";
	int rc;

	git_oid_tostr(hex, sizeof hex, id);
	if (child)
		git_oid_tostr(chex, sizeof chex, child);
	rc = git_commit_lookup(&c, hj_gitrepo_git(r), id);
	if (rc < 0)
		/* A missing tip is the caller's mistake; a missing parent (or
		 * a parent that is not a commit) is a broken chain. */
		return hj_git_error_as(!child && rc == GIT_ENOTFOUND ? HJ_ENOTFOUND : HJ_ECORRUPT, rc,
				       "feed %s: commit %s%s%s", node, hex, child ? ", parent of " : "", chex);
	if ((rc = check_header(c, hex, chex, node, expect, &out->seq)) < 0)
		goto done;
	/* Salvaging: a tree that is not there loses only this change set
	 * (its blob id is then unknown: zero); the chain goes on. */
	git_tree *tree = NULL;
	if (salvage && git_tree_lookup(&tree, hj_gitrepo_git(r), git_commit_tree_id(c)) == GIT_ENOTFOUND) {
		memset(&out->blob, 0, sizeof out->blob);
	} else if ((rc = check_tree(c, hex, &out->blob)) < 0 ||
		   (rc = check_canonical(c, id, hex, node, out->seq, &out->blob)) < 0) {
		git_tree_free(tree);
		goto done;
	}
	git_tree_free(tree);
	out->has_parent = git_commit_parentcount(c) == 1;
	if (out->has_parent)
		git_oid_cpy(&out->parent, git_commit_parent_id(c, 0));
done:
	git_commit_free(c);
	return rc;
}

/* ---- walk ---- */

typedef struct hj_gitfeed_link {
	git_oid commit, blob;
} hj_gitfeed_link;

typedef struct chain {
	hj_gitfeed_link *v;
	size_t n, cap;
} chain;

/* Back from the tip to the root, or to `base` when given; every commit is
 * checked on the way. Seqs strictly decrease to 1, so this ends after
 * tip-seq steps; the array grows as we go rather than trusting the tip's
 * (unverified) seq for one big allocation. */
static int walk_back(chain *ch, hj_gitrepo *r, const git_oid *tip, const char *node, const git_oid *base,
		     uint64_t base_seq, int salvage)
{
	commit_facts f = {.has_parent = 1};
	uint64_t expect = 0;
	git_oid cur;
	int rc;

	git_oid_cpy(&cur, tip);
	while (f.has_parent) {
		/* Reached the commit the caller already trusts: stop here, it
		 * must sit right below what was walked. */
		if (base && git_oid_equal(&cur, base)) {
			if (ch->n && expect != base_seq)
				return hj_error_set(HJ_ECORRUPT, "commit %s: seq %" PRIu64 " follows the base at seq %" PRIu64,
						    git_oid_tostr_s(&ch->v[ch->n - 1].commit), expect + 1, base_seq);
			return 0;
		}
		if (ch->n == ch->cap) {
			size_t ncap = ch->cap ? ch->cap * 2 : 64;
			hj_gitfeed_link *p = realloc(ch->v, ncap * sizeof *p);
			if (!p)
				return hj_error_set(HJ_ENOMEM, "gitfeed_walk: out of memory");
			ch->v = p;
			ch->cap = ncap;
		}
		rc = check_commit(r, &cur, node, expect, ch->n ? &ch->v[ch->n - 1].commit : NULL, salvage, &f);
		if (rc < 0)
			return rc;
		git_oid_cpy(&ch->v[ch->n].commit, &cur);
		git_oid_cpy(&ch->v[ch->n].blob, &f.blob);
		ch->n++;
		expect = f.seq - 1;
		git_oid_cpy(&cur, &f.parent);
	}
	if (base)
		/* Walked to the root without meeting the base. */
		return hj_error_set(HJ_ECONFLICT,
				    "the feed at %s does not contain commit %s (seq %" PRIu64 "): rewritten or forked",
				    git_oid_tostr_s(tip), git_oid_tostr_s(base), base_seq);
	return 0;
}

static int walk_impl(hj_gitrepo *r, const git_oid *tip, const char *node, uint64_t after_seq,
		     const git_oid *base, uint64_t base_seq, int salvage, hj_gitfeed_cb cb, void *ctx)
{
	chain ch = {0};
	git_blob *blob = NULL;
	int rc;

	if (!r || !tip || !cb)
		return hj_error_set(HJ_EINVALID, "gitfeed_walk: NULL argument");
	if ((rc = hj_gitfeed_check_node(node)) < 0)
		return rc;
	if ((rc = walk_back(&ch, r, tip, node, base, base_seq, salvage)) < 0)
		goto done;
	/* ch.v[n-1] is seq 1 (checked: a root has seq 1 and each step is
	 * -1) or base_seq + 1, so v[i] has seq first + n - 1 - i. Oldest
	 * first. */
	uint64_t first = base ? base_seq + 1 : 1;
	for (size_t i = ch.n; i-- > 0;) {
		uint64_t seq = first + (uint64_t)(ch.n - 1 - i);
		if (seq <= after_seq)
			continue;
		rc = git_oid_is_zero(&ch.v[i].blob) ? GIT_ENOTFOUND : git_blob_lookup(&blob, hj_gitrepo_git(r), &ch.v[i].blob);
		if (rc < 0 && salvage) {
			if ((rc = cb(ctx, seq, &ch.v[i].commit, NULL, 0)))
				goto done;
			continue;
		}
		if (rc < 0) {
			rc = hj_git_error_as(HJ_ECORRUPT, rc, "commit %s: change set blob", git_oid_tostr_s(&ch.v[i].commit));
			goto done;
		}
		rc = cb(ctx, seq, &ch.v[i].commit, (const uint8_t *)git_blob_rawcontent(blob),
			(size_t)git_blob_rawsize(blob));
		git_blob_free(blob);
		blob = NULL;
		if (rc)
			goto done;
	}
done:
	git_blob_free(blob);
	free(ch.v);
	return rc;
}

int hj_gitfeed_walk(hj_gitrepo *r, const git_oid *tip, const char *node, uint64_t after_seq, hj_gitfeed_cb cb,
		    void *ctx)
{
	return walk_impl(r, tip, node, after_seq, NULL, 0, 0, cb, ctx);
}

int hj_gitfeed_walk_salvage(hj_gitrepo *r, const git_oid *tip, const char *node, hj_gitfeed_cb cb, void *ctx)
{
	return walk_impl(r, tip, node, 0, NULL, 0, 1, cb, ctx);
}

int hj_gitfeed_walk_since(hj_gitrepo *r, const git_oid *tip, const char *node, const git_oid *base,
			  uint64_t base_seq, hj_gitfeed_cb cb, void *ctx)
{
	if (!base)
		return hj_error_set(HJ_EINVALID, "gitfeed_walk_since: NULL base");
	return walk_impl(r, tip, node, base_seq, base, base_seq, 0, cb, ctx);
}

/* ---- one change set ---- */

int hj_gitfeed_read(hj_buf *out, hj_gitrepo *r, const git_oid *commit)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_blob *b = NULL;
	const git_tree_entry *e;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	git_oid_tostr(hex, sizeof hex, commit);
	if ((rc = git_commit_lookup(&c, hj_gitrepo_git(r), commit)) < 0) {
		rc = hj_git_error(rc, "commit %s", hex);
		goto done;
	}
	if ((rc = git_commit_tree(&t, c)) < 0) {
		rc = hj_git_error_as(HJ_ECORRUPT, rc, "commit %s: tree unreadable", hex);
		goto done;
	}
	if (!(e = git_tree_entry_byname(t, HJ_GITFEED_ENTRY)) || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		rc = hj_error_set(HJ_ECORRUPT, "commit %s: no \"" HJ_GITFEED_ENTRY "\" blob", hex);
		goto done;
	}
	if ((rc = git_blob_lookup(&b, hj_gitrepo_git(r), git_tree_entry_id(e))) < 0) {
		rc = hj_git_error_as(HJ_ECORRUPT, rc, "commit %s: change set blob", hex);
		goto done;
	}
	hj_buf_put(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	rc = out->rc ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
done:
	git_blob_free(b);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

/* ---- ancestry ---- */

int hj_gitfeed_is_ancestor(hj_gitrepo *r, const git_oid *ancestor,
			   const git_oid *descendant)
{
	int rc;
	char a[GIT_OID_HEXSZ + 1], d[GIT_OID_HEXSZ + 1];

	if (!r || !ancestor || !descendant)
		return hj_error_set(HJ_EINVALID,
				    "gitfeed_is_ancestor: NULL argument");
	/* A feed is a first-parent chain, so walk it rather than call
	 * git_graph_descendant_of(), which in libgit2 1.5.1 leaks when a
	 * commit on the way is missing (a tampered repository). */
	git_oid cur;
	git_oid_cpy(&cur, descendant);
	for (;;) {
		git_commit *c = NULL;
		if (git_oid_equal(&cur, ancestor))
			return 1;
		rc = git_commit_lookup(&c, hj_gitrepo_git(r), &cur);
		if (rc < 0)
			return hj_git_error(rc, "is %s an ancestor of %s",
						 git_oid_tostr(a, sizeof a, ancestor),
						 git_oid_tostr(d, sizeof d, descendant));
		unsigned int parents = git_commit_parentcount(c);
		if (parents)
			git_oid_cpy(&cur, git_commit_parent_id(c, 0));
		git_commit_free(c);
		if (!parents)
			return 0;
	}
}
