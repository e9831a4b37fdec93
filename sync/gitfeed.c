/*
 * gitfeed.c — feeds of change sets as deterministic git commit chains:
 * the canonical objects, the tip, compare-and-swap, and append.
 *
 * We serialise blob, tree and commit ourselves and hash them with
 * git_odb_hash, so a commit id depends only on (envelope, node, seq,
 * created_at, parent) and can be computed without writing. Appends go
 * through an in-memory mempack that is dumped as one pack per batch; the
 * ref moves by compare-and-swap only after the pack is on disk, so a crash
 * leaves at worst an unreferenced pack, never a ref to missing objects.
 * Reading and verifying a chain is gitfeed_walk.c.
 */
#include "gitfeed.h"

#include "buf.h"
#include "error.h"
#include "gitfeed_int.h"
#include "giterr.h"
#include "killpoint.h"

#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- argument checks ---- */

/* The node goes into the commit message between spaces and ends a line,
 * so it must not contain whitespace or control bytes. */
int hj_gitfeed_check_node(const char *node)
{
	if (!node || !node[0])
		return hj_error_set(HJ_EINVALID, "gitfeed: empty node id");
	size_t n = strlen(node);
	if (n > HJ_GITFEED_NODE_MAX)
		return hj_error_set(HJ_EINVALID,
				    "gitfeed: node id is %zu bytes, max %d", n,
				    HJ_GITFEED_NODE_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)node[i];
		if (c < 0x21 || c > 0x7e)
			return hj_error_set(HJ_EINVALID,
					    "gitfeed: node id has byte 0x%02x "
					    "at %zu (printable ASCII, no "
					    "spaces)",
					    c, i);
	}
	return 0;
}

int hj_gitfeed_check_ref(const char *ref)
{
	int valid = 0;
	if (!ref || strncmp(ref, "refs/", 5) != 0)
		return hj_error_set(HJ_EINVALID,
				    "gitfeed: ref '%s' must start with refs/",
				    ref ? ref : "(null)");
	int rc = git_reference_name_is_valid(&valid, ref);
	if (rc < 0)
		return hj_git_error_as(HJ_EINVALID, rc, "ref '%s'", ref);
	if (!valid)
		return hj_error_set(HJ_EINVALID, "gitfeed: invalid ref name '%s'",
				    ref);
	return 0;
}

/* ---- canonical serialisation ---- */

/* Parse "huiji <node> <seq>\n" exactly: one space each, seq decimal
 * without leading zeros, >= 1, no overflow, nothing after the newline.
 * Hands back where the node is. Returns 0 or -1 (caller reports). */
int hj_gitfeed_parse_msg(const char *msg, const char **node_out,
				size_t *node_len, uint64_t *seq_out)
{
	if (!msg || strncmp(msg, "huiji ", 6) != 0)
		return -1;
	const char *node = msg + 6, *p = node;
	while (*p > 0x20 && *p < 0x7f)
		p++;
	size_t nlen = (size_t)(p - node);
	if (nlen == 0 || nlen > HJ_GITFEED_NODE_MAX || *p != ' ')
		return -1;
	p++;
	if (*p < '1' || *p > '9')
		return -1; /* no leading zero, no sign, seq >= 1 */
	uint64_t seq = 0;
	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (seq > (UINT64_MAX - d) / 10)
			return -1;
		seq = seq * 10 + d;
		p++;
	}
	if (p[0] != '\n' || p[1] != '\0')
		return -1;
	*node_out = node;
	*node_len = nlen;
	*seq_out = seq;
	return 0;
}

int hj_gitfeed_msg_is_node(const char *node, size_t nlen,
				  const char *want)
{
	return strlen(want) == nlen && memcmp(node, want, nlen) == 0;
}

/* Tree object body: one entry, "100644 changeset\0" + raw blob id. */
void hj_gitfeed_tree_raw(hj_buf *b, const git_oid *blob)
{
	hj_buf_puts(b, "100644 " HJ_GITFEED_ENTRY);
	hj_buf_put_u8(b, 0);
	hj_buf_put(b, blob->id, GIT_OID_RAWSZ);
}

/* Commit object body, byte for byte what git_commit_create would write for
 * this signature, minus anything optional (no encoding, no gpgsig). */
void hj_gitfeed_commit_raw(hj_buf *b, const git_oid *tree,
				  const git_oid *parent, const char *node,
				  uint64_t seq, int64_t secs)
{
	char hex[GIT_OID_HEXSZ + 1];
	hj_buf_printf(b, "tree %s\n", git_oid_tostr(hex, sizeof hex, tree));
	if (parent)
		hj_buf_printf(b, "parent %s\n",
			      git_oid_tostr(hex, sizeof hex, parent));
	hj_buf_printf(b,
		      "author " HJ_GITFEED_IDENT " %" PRId64 " +0000\n"
		      "committer " HJ_GITFEED_IDENT " %" PRId64 " +0000\n"
		      "\nhuiji %s %" PRIu64 "\n",
		      secs, secs, node, seq);
}

void hj_gitfeed_objs_free(hj_gitfeed_objs *o)
{
	hj_buf_free(&o->tree_raw);
	hj_buf_free(&o->commit_raw);
}

/* Serialise and hash the three objects of one change set. Arguments are
 * checked by the callers. */
int hj_gitfeed_objs_make(hj_gitfeed_objs *o, const git_oid *parent,
				const char *node, uint64_t seq,
				int64_t created_at, const uint8_t *bytes,
				size_t len)
{
	int rc;
	hj_buf_reset(&o->tree_raw);
	hj_buf_reset(&o->commit_raw);
	rc = git_odb_hash(&o->blob, bytes, len, GIT_OBJECT_BLOB);
	if (rc < 0)
		return hj_git_error(rc, "hash change set %" PRIu64, seq);
	hj_gitfeed_tree_raw(&o->tree_raw, &o->blob);
	if (o->tree_raw.rc)
		return hj_error_set(HJ_ENOMEM, "gitfeed: out of memory");
	rc = git_odb_hash(&o->tree, o->tree_raw.data, o->tree_raw.len,
			  GIT_OBJECT_TREE);
	if (rc < 0)
		return hj_git_error(rc, "hash tree %" PRIu64, seq);
	/* created_at >= 0 is checked by callers, so / is floor here. */
	hj_gitfeed_commit_raw(&o->commit_raw, &o->tree, parent, node, seq,
			      created_at / 1000);
	if (o->commit_raw.rc)
		return hj_error_set(HJ_ENOMEM, "gitfeed: out of memory");
	rc = git_odb_hash(&o->commit, o->commit_raw.data, o->commit_raw.len,
			  GIT_OBJECT_COMMIT);
	if (rc < 0)
		return hj_git_error(rc, "hash commit %" PRIu64, seq);
	return 0;
}

int hj_gitfeed_check_item(uint64_t seq, int64_t created_at,
				 const uint8_t *bytes, size_t len)
{
	if (seq == 0)
		return hj_error_set(HJ_EINVALID, "gitfeed: seq must be >= 1");
	/* A negative time would serialise as "-5 +0000", which git fsck
	 * rejects (badDate). */
	if (created_at < 0)
		return hj_error_set(HJ_EINVALID,
				    "gitfeed: seq %" PRIu64
				    ": created_at %" PRId64 " is negative",
				    seq, created_at);
	if (!bytes && len)
		return hj_error_set(HJ_EINVALID,
				    "gitfeed: seq %" PRIu64 ": NULL bytes",
				    seq);
	return 0;
}

/* ---- tip ---- */

/* Read the ref; *exists = 0 if absent. The seq and node are parsed from the
 * tip commit's message. */
static int hj_gitfeed_tip_full(hj_gitrepo *r, const char *ref, int *exists,
			       uint64_t *seq, git_oid *oid, char *node_out)
{
	int rc, ret = 0;
	git_reference *gref = NULL;
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	const char *node;
	size_t nlen;

	*exists = 0;
	*seq = 0;
	memset(oid, 0, sizeof *oid);
	rc = git_reference_lookup(&gref, hj_gitrepo_git(r), ref);
	if (rc == GIT_ENOTFOUND)
		goto done;
	if (rc < 0) {
		ret = hj_git_error(rc, "read ref %s", ref);
		goto done;
	}
	if (git_reference_type(gref) != GIT_REFERENCE_DIRECT) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: ref %s is symbolic, not a feed",
				   ref);
		goto done;
	}
	git_oid_cpy(oid, git_reference_target(gref));
	git_oid_tostr(hex, sizeof hex, oid);
	rc = git_commit_lookup(&c, hj_gitrepo_git(r), oid);
	if (rc < 0) {
		ret = hj_git_error_as(HJ_ECORRUPT, rc, "ref %s: tip %s is not a readable "
					"commit",
					ref, hex);
		goto done;
	}
	/* git_commit_message() skips leading newlines; the raw one is the
	 * exact bytes after the header. */
	if (hj_gitfeed_parse_msg(git_commit_message_raw(c), &node, &nlen,
				 seq) < 0) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: ref %s: tip commit %s: message is "
				   "not \"huiji <node> <seq>\\n\"",
				   ref, hex);
		goto done;
	}
	if (node_out) {
		memcpy(node_out, node, nlen);
		node_out[nlen] = '\0';
	}
	*exists = 1;
done:
	git_commit_free(c);
	git_reference_free(gref);
	return ret;
}

int hj_gitfeed_tip(hj_gitrepo *r, const char *ref, uint64_t *seq_out,
		   git_oid *oid_out)
{
	int exists, rc;
	uint64_t seq = 0;
	git_oid oid;

	if (!r)
		return hj_error_set(HJ_EINVALID, "gitfeed: NULL repository");
	if ((rc = hj_gitfeed_check_ref(ref)) < 0)
		return rc;
	rc = hj_gitfeed_tip_full(r, ref, &exists, &seq, &oid, NULL);
	if (rc < 0)
		return rc;
	if (seq_out)
		*seq_out = seq;
	if (oid_out)
		git_oid_cpy(oid_out, &oid);
	return 0;
}

int hj_gitfeed_commit_seq(uint64_t *seq_out, hj_gitrepo *r, const git_oid *commit, const char *node)
{
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	const char *mnode;
	size_t nlen;
	int rc, ret = 0;
	*seq_out = 0;
	git_oid_tostr(hex, sizeof hex, commit);
	if ((rc = git_commit_lookup(&c, hj_gitrepo_git(r), commit)) < 0)
		return rc == GIT_ENOTFOUND ? hj_error_set(HJ_ENOTFOUND, "gitfeed: commit %s is not here", hex)
					   : hj_git_error_as(HJ_ECORRUPT, rc, "commit %s is not readable", hex);
	if (hj_gitfeed_parse_msg(git_commit_message_raw(c), &mnode, &nlen, seq_out) < 0 ||
	    !hj_gitfeed_msg_is_node(mnode, nlen, node))
		ret = hj_error_set(HJ_ECORRUPT, "gitfeed: commit %s is not a change set of %s's feed", hex, node);
	git_commit_free(c);
	return ret;
}

/* ---- compare-and-swap ---- */

int hj_gitref_cas(hj_gitrepo *r, const char *ref, const git_oid *new_oid,
		  const git_oid *expected_old, const char *log_message)
{
	int rc;
	git_reference *out = NULL;
	char hex[GIT_OID_HEXSZ + 1];

	if (!r || !new_oid)
		return hj_error_set(HJ_EINVALID, "gitref_cas: NULL argument");
	if ((rc = hj_gitfeed_check_ref(ref)) < 0)
		return rc;
	if (!expected_old || git_oid_is_zero(expected_old)) {
		/* force=0 without an old id: GIT_EEXISTS if the ref is
		 * there, checked under the ref's lock file. */
		rc = git_reference_create(&out, hj_gitrepo_git(r), ref, new_oid, 0,
					  log_message);
	} else {
		/* force=1 is needed or the existing ref alone makes it fail;
		 * the old id is compared under the lock. A missing ref comes
		 * back as GIT_ENOTFOUND in 1.5.1, not GIT_EMODIFIED. */
		rc = git_reference_create_matching(&out, hj_gitrepo_git(r), ref, new_oid,
						   1, expected_old,
						   log_message);
	}
	git_reference_free(out);
	if (rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ELOCKED ||
	    rc == GIT_ENOTFOUND)
		return hj_git_error_as(HJ_ECONFLICT, rc, "ref %s moved (expected %s), not set to %s", ref,
			expected_old && !git_oid_is_zero(expected_old)
				? git_oid_tostr(hex, sizeof hex, expected_old)
				: "absent",
			git_oid_tostr_s(new_oid));
	if (rc < 0)
		return hj_git_error(rc, "set ref %s", ref);
	return 0;
}

/* ---- commit id ---- */

int hj_gitfeed_commit_id(git_oid *out, hj_gitrepo *r,
			 const git_oid *parent_or_null, const char *node,
			 uint64_t seq, int64_t created_at, const uint8_t *bytes,
			 size_t len)
{
	int rc;
	hj_gitfeed_objs o = HJ_GITFEED_OBJS_INIT;

	(void)r; /* SHA-1 only in 1.5.1; kept for a SHA-256 repository */
	if (!out)
		return hj_error_set(HJ_EINVALID, "gitfeed: NULL out");
	if ((rc = hj_gitfeed_check_node(node)) < 0 ||
	    (rc = hj_gitfeed_check_item(seq, created_at, bytes, len)) < 0)
		return rc;
	if ((seq == 1) != (parent_or_null == NULL))
		return hj_error_set(HJ_EINVALID,
				    "gitfeed: seq %" PRIu64 " %s a parent", seq,
				    seq == 1 ? "must not have" : "needs");
	rc = hj_gitfeed_objs_make(&o, parent_or_null, node, seq, created_at,
				  bytes, len);
	if (rc == 0)
		git_oid_cpy(out, &o.commit);
	hj_gitfeed_objs_free(&o);
	return rc;
}

/* ---- append ---- */

/* Seqs must be consecutive and every item well formed. */
static int append_check_items(const hj_feed_item *items, size_t n)
{
	int rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = hj_gitfeed_check_item(items[i].seq, items[i].created_at, items[i].bytes, items[i].len)) < 0)
			return rc;
		if (i && items[i].seq != items[i - 1].seq + 1)
			return hj_error_set(HJ_EINVALID, "gitfeed_append: seq %" PRIu64 " follows %" PRIu64,
					    items[i].seq, items[i - 1].seq);
	}
	return 0;
}

/* The ref must end right below items[0] and hold `node`'s feed. */
static int append_check_tip(hj_gitrepo *r, const char *ref, const char *node, uint64_t first_seq, int *exists,
			    git_oid *tip)
{
	uint64_t tip_seq;
	char tip_node[HJ_GITFEED_NODE_MAX + 1];
	int rc = hj_gitfeed_tip_full(r, ref, exists, &tip_seq, tip, tip_node);
	if (rc < 0)
		return rc;
	if (tip_seq != first_seq - 1)
		return hj_error_set(HJ_ECONFLICT, "gitfeed_append: %s is at seq %" PRIu64 ", cannot append seq %" PRIu64,
				    ref, tip_seq, first_seq);
	if (*exists && strcmp(tip_node, node) != 0)
		return hj_error_set(HJ_ECONFLICT, "gitfeed_append: %s holds the feed of node '%s', not '%s'", ref,
				    tip_node, node);
	return 0;
}

/* A private repository with a fresh mempack in front of its odb: see the
 * comment at the top of gitrepo.c. */
typedef struct append_batch {
	git_repository *priv;
	git_odb *odb;
	git_odb_backend *mp; /* owned by odb once added */
	int mp_dirty;
} append_batch;

static int batch_open(append_batch *b, hj_gitrepo *r)
{
	int rc = git_repository_open_bare(&b->priv, hj_gitrepo_path(r));
	if (rc < 0)
		return hj_git_error(rc, "reopen repository");
	if ((rc = git_repository_odb(&b->odb, b->priv)) < 0 || (rc = git_mempack_new(&b->mp)) < 0)
		return hj_git_error(rc, "set up mempack");
	/* Highest priority so that git_odb_write picks it before loose. */
	rc = git_odb_add_backend(b->odb, b->mp, 999);
	if (rc < 0) {
		b->mp->free(b->mp); /* not owned by the odb when adding failed */
		b->mp = NULL;
		return hj_git_error(rc, "add mempack backend");
	}
	return 0;
}

static void batch_close(append_batch *b)
{
	/* Reset even on success: after the pack is written the in-memory
	 * copies are redundant; on failure this discards the batch. The odb
	 * frees the backend itself, with the repository. */
	if (b->mp && b->mp_dirty)
		git_mempack_reset(b->mp);
	git_odb_free(b->odb);
	git_repository_free(b->priv);
}

/* Write the three objects of one change set into the mempack. */
static int batch_put(append_batch *b, const hj_feed_item *it, const hj_gitfeed_objs *o)
{
	git_oid got;
	int rc;
	/* git_odb_write skips objects any backend already has (it
	 * "freshens" them instead). That is fine: git_mempack_dump walks
	 * each mempack commit's tree through the odb, so a blob or tree
	 * already in a pack is still found; and the parent commit is only
	 * referenced, never packed. */
	b->mp_dirty = 1;
	if ((rc = git_odb_write(&got, b->odb, it->bytes, it->len, GIT_OBJECT_BLOB)) < 0 ||
	    (rc = git_odb_write(&got, b->odb, o->tree_raw.data, o->tree_raw.len, GIT_OBJECT_TREE)) < 0 ||
	    (rc = git_odb_write(&got, b->odb, o->commit_raw.data, o->commit_raw.len, GIT_OBJECT_COMMIT)) < 0)
		return hj_git_error(rc, "write change set %" PRIu64, it->seq);
	if (!git_oid_equal(&got, &o->commit))
		return hj_error_set(HJ_ERROR, "gitfeed_append: seq %" PRIu64 ": odb returned another commit id",
				    it->seq);
	return 0;
}

/* Dump the mempack as one pack into objects/pack. */
static int batch_pack(append_batch *b)
{
	git_buf pack = GIT_BUF_INIT;
	git_odb_writepack *wp = NULL;
	git_indexer_progress stats;
	int rc = git_mempack_dump(&pack, b->priv, b->mp);
	if (rc < 0) {
		rc = hj_git_error(rc, "dump mempack");
		goto done;
	}
	/* The mempack has no writepack, so this reaches the on-disk pack
	 * backend; it indexes the pack and renames it into objects/pack
	 * (fsynced, see hj_gitrepo_open). */
	memset(&stats, 0, sizeof stats);
	rc = git_odb_write_pack(&wp, b->odb, NULL, NULL);
	if (rc == 0)
		rc = wp->append(wp, pack.ptr, pack.size, &stats);
	if (rc == 0)
		rc = wp->commit(wp, &stats);
	if (rc < 0)
		rc = hj_git_error(rc, "write pack");
done:
	if (wp)
		wp->free(wp);
	git_buf_dispose(&pack);
	return rc;
}

int hj_gitfeed_append(hj_gitrepo *r, const char *ref, const char *node, const hj_feed_item *items, size_t n)
{
	int rc, exists;
	git_oid tip, parent;
	size_t fresh = 0;
	append_batch b = {0};
	hj_gitfeed_objs o = HJ_GITFEED_OBJS_INIT;

	if (!r || !items || n == 0)
		return hj_error_set(HJ_EINVALID, "gitfeed_append: nothing to append");
	if ((rc = hj_gitfeed_check_ref(ref)) < 0 || (rc = hj_gitfeed_check_node(node)) < 0 ||
	    (rc = append_check_items(items, n)) < 0 ||
	    (rc = append_check_tip(r, ref, node, items[0].seq, &exists, &tip)) < 0)
		return rc;
	if ((rc = batch_open(&b, r)) < 0)
		goto done;

	git_oid_cpy(&parent, &tip);
	for (size_t i = 0; i < n; i++) {
		const hj_feed_item *it = &items[i];
		rc = hj_gitfeed_objs_make(&o, exists || i ? &parent : NULL, node, it->seq, it->created_at, it->bytes,
					  it->len);
		if (rc < 0)
			goto done;
		/* Already on disk (an earlier append whose CAS lost, or a
		 * fetch): nothing to write. If no commit is new we write no
		 * pack at all: 1.5.1 dumps an empty mempack as a 32-byte pack
		 * and its indexer happily stores that 0-object pack, one more
		 * file every later lookup has to scan. */
		if (!git_odb_exists(b.odb, &o.commit)) {
			if ((rc = batch_put(&b, it, &o)) < 0)
				goto done;
			fresh++;
		}
		git_oid_cpy(&parent, &o.commit);
	}
	if (fresh && (rc = batch_pack(&b)) < 0)
		goto done;
	/* Only now that the objects are on disk may the ref name them. */
	rc = hj_gitref_cas(r, ref, &parent, exists ? &tip : NULL, "huiji append");
done:
	batch_close(&b);
	hj_gitfeed_objs_free(&o);
	return rc;
}

int hj_feed_batch_add(hj_feed_batch *b, const void *bytes, size_t len, uint64_t seq, int64_t created_at)
{
	if (b->n == HJ_FEED_BATCH)
		return hj_error_set(HJ_ETOOBIG, "feed batch full");
	if (!(b->own[b->n] = malloc(len ? len : 1)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	memcpy(b->own[b->n], bytes, len);
	b->it[b->n] = (hj_feed_item){b->own[b->n], len, seq, created_at};
	b->n++;
	return 0;
}

void hj_feed_batch_clear(hj_feed_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->own[i]);
	b->n = 0;
}

int hj_gitfeed_catch_up(hj_gitrepo *r, const char *ref, const char *label, uint64_t want, hj_gitfeed_source next,
			void *ctx, const char *killpoint)
{
	uint64_t tip = 0;
	hj_feed_batch *b = calloc(1, sizeof *b);
	int rc = b ? hj_gitfeed_tip(r, ref, &tip, NULL) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc && tip > want)
		rc = hj_error_set(HJ_ECORRUPT, "%s holds %" PRIu64 " items, the hub made %" PRIu64, ref, tip, want);
	while (!rc && tip < want) {
		if (!(rc = next(ctx, tip, b)) && (!b->n || b->it[0].seq != tip + 1))
			rc = hj_error_set(HJ_ECORRUPT, "%s: item %" PRIu64 " is missing from the hub's registry", ref, tip + 1);
		if (!rc && !(rc = hj_gitfeed_append(r, ref, label, b->it, b->n)))
			hj_killpoint(killpoint);
		tip += b->n;
		hj_feed_batch_clear(b);
	}
	if (b)
		hj_feed_batch_clear(b);
	free(b);
	return rc;
}
