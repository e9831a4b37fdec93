/*
 * gitfeed.c — feeds of change sets as deterministic git commit chains.
 *
 * We serialise blob, tree and commit ourselves and hash them with
 * git_odb_hash, so a commit id depends only on (envelope, node, seq,
 * created_at, parent) and can be computed without writing. Appends go
 * through an in-memory mempack that is dumped as one pack per batch; the
 * ref moves by compare-and-swap only after the pack is on disk, so a crash
 * leaves at worst an unreferenced pack, never a ref to missing objects.
 */
#include "gitfeed.h"

#include "buf.h"
#include "error.h"

#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Why the handle carries no mempack: libgit2 1.5.1 has no way to remove a
 * backend from an odb once added, and with a mempack at priority 999 EVERY
 * object written through that git_repository* (a blob made by other code,
 * the objects of a merge, ...) would silently stay in memory and vanish at
 * close unless someone dumps it. hj_gitrepo_git() hands the repository to
 * other code, so instead each append opens a private git_repository on the
 * same path, attaches a fresh mempack to that private odb, and frees both
 * when done. Opening a bare repository costs a config read per batch, which
 * is noise next to writing a pack. The public handle notices the new pack
 * by itself: in 1.5.1 an odb read that misses calls git_odb_refresh and
 * retries, which rescans objects/pack.
 */
struct hj_gitrepo {
	git_repository *repo;
};

#define HJ_GITFEED_ENTRY "changeset"
#define HJ_GITFEED_IDENT "huiji <huiji@invalid>"
#define HJ_GITFEED_NODE_MAX 255

/* ---- the one place where libgit2 errors become huiji errors ---- */

/* Record "<what>: <libgit2 message>" and return `hjcode`, or, when hjcode is
 * 0, a code derived from the libgit2 return code `gitrc`. */
static int hj_gitfeed_giterr(int gitrc, int hjcode, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int hj_gitfeed_giterr(int gitrc, int hjcode, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);

	/* git_error_last() may be NULL (1.5.1 sets no message for some
	 * internal returns) and the next libgit2 call may overwrite it, so
	 * copy it now. */
	const git_error *e = git_error_last();
	const char *msg = e && e->message ? e->message : "unknown libgit2 error";

	if (!hjcode) {
		switch (gitrc) {
		case GIT_ENOTFOUND:
			hjcode = HJ_ENOTFOUND;
			break;
		case GIT_EEXISTS:
			hjcode = HJ_EEXISTS;
			break;
		case GIT_EMODIFIED:
		case GIT_ELOCKED:
			hjcode = HJ_ECONFLICT;
			break;
		case GIT_EINVALIDSPEC:
			hjcode = HJ_EINVALID;
			break;
		default:
			hjcode = HJ_ERROR;
		}
	}
	return hj_error_set(hjcode, "%s: %s (libgit2 %d)", what, msg, gitrc);
}

/* ---- argument checks ---- */

/* The node goes into the commit message between spaces and ends a line,
 * so it must not contain whitespace or control bytes. */
static int hj_gitfeed_check_node(const char *node)
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

static int hj_gitfeed_check_ref(const char *ref)
{
	int valid = 0;
	if (!ref || strncmp(ref, "refs/", 5) != 0)
		return hj_error_set(HJ_EINVALID,
				    "gitfeed: ref '%s' must start with refs/",
				    ref ? ref : "(null)");
	int rc = git_reference_name_is_valid(&valid, ref);
	if (rc < 0)
		return hj_gitfeed_giterr(rc, HJ_EINVALID, "ref '%s'", ref);
	if (!valid)
		return hj_error_set(HJ_EINVALID, "gitfeed: invalid ref name '%s'",
				    ref);
	return 0;
}

/* ---- canonical serialisation ---- */

/* Parse "huiji <node> <seq>\n" exactly: one space each, seq decimal
 * without leading zeros, >= 1, no overflow, nothing after the newline.
 * Hands back where the node is. Returns 0 or -1 (caller reports). */
static int hj_gitfeed_parse_msg(const char *msg, const char **node_out,
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

static int hj_gitfeed_msg_is_node(const char *node, size_t nlen,
				  const char *want)
{
	return strlen(want) == nlen && memcmp(node, want, nlen) == 0;
}

/* Tree object body: one entry, "100644 changeset\0" + raw blob id. */
static void hj_gitfeed_tree_raw(hj_buf *b, const git_oid *blob)
{
	hj_buf_puts(b, "100644 " HJ_GITFEED_ENTRY);
	hj_buf_put_u8(b, 0);
	hj_buf_put(b, blob->id, GIT_OID_RAWSZ);
}

/* Commit object body, byte for byte what git_commit_create would write for
 * this signature, minus anything optional (no encoding, no gpgsig). */
static void hj_gitfeed_commit_raw(hj_buf *b, const git_oid *tree,
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

typedef struct hj_gitfeed_objs {
	git_oid blob, tree, commit;
	hj_buf tree_raw, commit_raw;
} hj_gitfeed_objs;

static void hj_gitfeed_objs_free(hj_gitfeed_objs *o)
{
	hj_buf_free(&o->tree_raw);
	hj_buf_free(&o->commit_raw);
}

/* Serialise and hash the three objects of one change set. Arguments are
 * checked by the callers. */
static int hj_gitfeed_objs_make(hj_gitfeed_objs *o, const git_oid *parent,
				const char *node, uint64_t seq,
				int64_t created_at, const uint8_t *bytes,
				size_t len)
{
	int rc;
	hj_buf_reset(&o->tree_raw);
	hj_buf_reset(&o->commit_raw);
	rc = git_odb_hash(&o->blob, bytes, len, GIT_OBJECT_BLOB);
	if (rc < 0)
		return hj_gitfeed_giterr(rc, 0, "hash change set %" PRIu64, seq);
	hj_gitfeed_tree_raw(&o->tree_raw, &o->blob);
	if (o->tree_raw.rc)
		return hj_error_set(HJ_ENOMEM, "gitfeed: out of memory");
	rc = git_odb_hash(&o->tree, o->tree_raw.data, o->tree_raw.len,
			  GIT_OBJECT_TREE);
	if (rc < 0)
		return hj_gitfeed_giterr(rc, 0, "hash tree %" PRIu64, seq);
	/* created_at >= 0 is checked by callers, so / is floor here. */
	hj_gitfeed_commit_raw(&o->commit_raw, &o->tree, parent, node, seq,
			      created_at / 1000);
	if (o->commit_raw.rc)
		return hj_error_set(HJ_ENOMEM, "gitfeed: out of memory");
	rc = git_odb_hash(&o->commit, o->commit_raw.data, o->commit_raw.len,
			  GIT_OBJECT_COMMIT);
	if (rc < 0)
		return hj_gitfeed_giterr(rc, 0, "hash commit %" PRIu64, seq);
	return 0;
}

static int hj_gitfeed_check_item(uint64_t seq, int64_t created_at,
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

/* ---- repository handle ---- */

int hj_gitrepo_open(hj_gitrepo **out, const char *path, int create)
{
	int rc, ret = 0, inited = 0;
	hj_gitrepo *r = NULL;

	*out = NULL;
	if (path && !path[0])
		return hj_error_set(HJ_EINVALID, "gitrepo: empty path");
	rc = git_libgit2_init();
	if (rc < 0) {
		ret = hj_gitfeed_giterr(rc, 0, "git_libgit2_init");
		goto done;
	}
	inited = 1;
	/* A USB stick's repository belongs to another uid; 1.5.1 then fails
	 * with a misleading "safe.directory" error. Both options are
	 * process-wide. fsync: "the pack is on disk" must hold before the ref
	 * moves, and the indexer only fsyncs with this option on. */
	if ((rc = git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0)) < 0 ||
	    (rc = git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1)) < 0) {
		ret = hj_gitfeed_giterr(rc, 0, "git_libgit2_opts");
		goto done;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		ret = hj_error_set(HJ_ENOMEM, "gitrepo: out of memory");
		goto done;
	}
	/* NULL path: inside a pre-receive hook, where git keeps the pushed
	 * objects in a quarantine directory named by GIT_OBJECT_DIRECTORY and
	 * GIT_ALTERNATE_OBJECT_DIRECTORIES; only OPEN_FROM_ENV honours them. */
	rc = path ? git_repository_open_bare(&r->repo, path)
		  : git_repository_open_ext(&r->repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (rc == GIT_ENOTFOUND && create && path)
		rc = git_repository_init(&r->repo, path, 1);
	if (rc < 0) {
		ret = hj_gitfeed_giterr(rc, 0, "open git repository '%s'",
					path ? path : "(from environment)");
		goto done;
	}
	*out = r;
	r = NULL;
	inited = 0;
done:
	if (r) {
		git_repository_free(r->repo);
		free(r);
	}
	if (inited)
		git_libgit2_shutdown();
	return ret;
}

void hj_gitrepo_close(hj_gitrepo *r)
{
	if (!r)
		return;
	git_repository_free(r->repo);
	free(r);
	git_libgit2_shutdown();
}

git_repository *hj_gitrepo_git(hj_gitrepo *r)
{
	return r ? r->repo : NULL;
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
	rc = git_reference_lookup(&gref, r->repo, ref);
	if (rc == GIT_ENOTFOUND)
		goto done;
	if (rc < 0) {
		ret = hj_gitfeed_giterr(rc, 0, "read ref %s", ref);
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
	rc = git_commit_lookup(&c, r->repo, oid);
	if (rc < 0) {
		ret = hj_gitfeed_giterr(rc, HJ_ECORRUPT,
					"ref %s: tip %s is not a readable "
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
		rc = git_reference_create(&out, r->repo, ref, new_oid, 0,
					  log_message);
	} else {
		/* force=1 is needed or the existing ref alone makes it fail;
		 * the old id is compared under the lock. A missing ref comes
		 * back as GIT_ENOTFOUND in 1.5.1, not GIT_EMODIFIED. */
		rc = git_reference_create_matching(&out, r->repo, ref, new_oid,
						   1, expected_old,
						   log_message);
	}
	git_reference_free(out);
	if (rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ELOCKED ||
	    rc == GIT_ENOTFOUND)
		return hj_gitfeed_giterr(
			rc, HJ_ECONFLICT,
			"ref %s moved (expected %s), not set to %s", ref,
			expected_old && !git_oid_is_zero(expected_old)
				? git_oid_tostr(hex, sizeof hex, expected_old)
				: "absent",
			git_oid_tostr_s(new_oid));
	if (rc < 0)
		return hj_gitfeed_giterr(rc, 0, "set ref %s", ref);
	return 0;
}

/* ---- commit id ---- */

int hj_gitfeed_commit_id(git_oid *out, hj_gitrepo *r,
			 const git_oid *parent_or_null, const char *node,
			 uint64_t seq, int64_t created_at, const uint8_t *bytes,
			 size_t len)
{
	int rc;
	hj_gitfeed_objs o = {.tree_raw = HJ_BUF_INIT,
			     .commit_raw = HJ_BUF_INIT};

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

int hj_gitfeed_append(hj_gitrepo *r, const char *ref, const char *node,
		      const hj_feed_item *items, size_t n)
{
	int rc, ret = 0, exists;
	uint64_t tip_seq;
	git_oid tip, parent, got;
	char tip_node[HJ_GITFEED_NODE_MAX + 1];
	git_repository *priv = NULL;
	git_odb *odb = NULL;
	git_odb_backend *mp = NULL; /* owned by odb once added */
	int mp_dirty = 0;
	git_buf pack = GIT_BUF_INIT;
	git_odb_writepack *wp = NULL;
	git_indexer_progress stats;
	size_t fresh = 0;
	hj_gitfeed_objs o = {.tree_raw = HJ_BUF_INIT,
			     .commit_raw = HJ_BUF_INIT};

	if (!r || !items || n == 0)
		return hj_error_set(HJ_EINVALID,
				    "gitfeed_append: nothing to append");
	if ((rc = hj_gitfeed_check_ref(ref)) < 0 ||
	    (rc = hj_gitfeed_check_node(node)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = hj_gitfeed_check_item(items[i].seq,
						items[i].created_at,
						items[i].bytes,
						items[i].len)) < 0)
			return rc;
		if (i && items[i].seq != items[i - 1].seq + 1)
			return hj_error_set(HJ_EINVALID,
					    "gitfeed_append: seq %" PRIu64
					    " follows %" PRIu64,
					    items[i].seq, items[i - 1].seq);
	}

	rc = hj_gitfeed_tip_full(r, ref, &exists, &tip_seq, &tip, tip_node);
	if (rc < 0)
		return rc;
	if (tip_seq != items[0].seq - 1)
		return hj_error_set(HJ_ECONFLICT,
				    "gitfeed_append: %s is at seq %" PRIu64
				    ", cannot append seq %" PRIu64,
				    ref, tip_seq, items[0].seq);
	if (exists && strcmp(tip_node, node) != 0)
		return hj_error_set(HJ_ECONFLICT,
				    "gitfeed_append: %s holds the feed of "
				    "node '%s', not '%s'",
				    ref, tip_node, node);

	/* Private repository + fresh mempack: see the comment at the top. */
	rc = git_repository_open_bare(&priv, git_repository_path(r->repo));
	if (rc < 0) {
		ret = hj_gitfeed_giterr(rc, 0, "reopen repository");
		goto done;
	}
	if ((rc = git_repository_odb(&odb, priv)) < 0 ||
	    (rc = git_mempack_new(&mp)) < 0) {
		ret = hj_gitfeed_giterr(rc, 0, "set up mempack");
		goto done;
	}
	/* Highest priority so that git_odb_write picks it before loose. */
	rc = git_odb_add_backend(odb, mp, 999);
	if (rc < 0) {
		mp->free(mp); /* not owned by the odb when adding failed */
		mp = NULL;
		ret = hj_gitfeed_giterr(rc, 0, "add mempack backend");
		goto done;
	}

	git_oid_cpy(&parent, &tip);
	for (size_t i = 0; i < n; i++) {
		const hj_feed_item *it = &items[i];
		rc = hj_gitfeed_objs_make(&o, exists || i ? &parent : NULL,
					  node, it->seq, it->created_at,
					  it->bytes, it->len);
		if (rc < 0) {
			ret = rc;
			goto done;
		}
		/* Already on disk (an earlier append whose CAS lost, or a
		 * fetch): nothing to write. If no commit is new we write no
		 * pack at all: 1.5.1 dumps an empty mempack as a 32-byte
		 * pack and its indexer happily stores that 0-object pack,
		 * one more file every later lookup has to scan. */
		if (git_odb_exists(odb, &o.commit)) {
			git_oid_cpy(&parent, &o.commit);
			continue;
		}
		/* git_odb_write skips objects any backend already has (it
		 * "freshens" them instead). That is fine: git_mempack_dump
		 * walks each mempack commit's tree through the odb, so a
		 * blob or tree already in a pack is still found; and the
		 * parent commit is only referenced, never packed. */
		mp_dirty = 1;
		if ((rc = git_odb_write(&got, odb, it->bytes, it->len,
					GIT_OBJECT_BLOB)) < 0 ||
		    (rc = git_odb_write(&got, odb, o.tree_raw.data,
					o.tree_raw.len, GIT_OBJECT_TREE)) < 0 ||
		    (rc = git_odb_write(&got, odb, o.commit_raw.data,
					o.commit_raw.len,
					GIT_OBJECT_COMMIT)) < 0) {
			ret = hj_gitfeed_giterr(rc, 0,
						"write change set %" PRIu64,
						it->seq);
			goto done;
		}
		if (!git_oid_equal(&got, &o.commit)) {
			ret = hj_error_set(HJ_ERROR,
					   "gitfeed_append: seq %" PRIu64
					   ": odb returned another commit id",
					   it->seq);
			goto done;
		}
		git_oid_cpy(&parent, &o.commit);
		fresh++;
	}

	if (fresh) {
		rc = git_mempack_dump(&pack, priv, mp);
		if (rc < 0) {
			ret = hj_gitfeed_giterr(rc, 0, "dump mempack");
			goto done;
		}
		/* The mempack has no writepack, so this reaches the on-disk
		 * pack backend; it indexes the pack and renames it into
		 * objects/pack (fsynced, see hj_gitrepo_open). */
		memset(&stats, 0, sizeof stats);
		rc = git_odb_write_pack(&wp, odb, NULL, NULL);
		if (rc == 0)
			rc = wp->append(wp, pack.ptr, pack.size, &stats);
		if (rc == 0)
			rc = wp->commit(wp, &stats);
		if (rc < 0) {
			ret = hj_gitfeed_giterr(rc, 0, "write pack");
			goto done;
		}
	}

	/* Only now that the objects are on disk may the ref name them. */
	rc = hj_gitref_cas(r, ref, &parent, exists ? &tip : NULL,
			   "huiji append");
	if (rc < 0)
		ret = rc;
done:
	if (wp)
		wp->free(wp);
	/* Reset even on success: after the pack is written the in-memory
	 * copies are redundant; on failure this discards the batch. The
	 * odb frees the backend itself, with the repository. */
	if (mp && mp_dirty)
		git_mempack_reset(mp);
	git_buf_dispose(&pack);
	git_odb_free(odb);
	git_repository_free(priv);
	hj_gitfeed_objs_free(&o);
	return ret;
}

/* ---- walk ---- */

typedef struct hj_gitfeed_link {
	git_oid commit, blob;
} hj_gitfeed_link;

/* Check one commit completely; hand back its seq, blob and first parent.
 * `expect` is the seq it must have and `child` the commit that named it
 * as parent (0 and NULL for the tip). */
static int hj_gitfeed_check_commit(git_repository *repo, const git_oid *id,
				   const char *node, uint64_t expect,
				   const git_oid *child, uint64_t *seq_out,
				   git_oid *blob_out, int *has_parent,
				   git_oid *parent_out)
{
	int rc, ret = 0;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	const git_tree_entry *e;
	char hex[GIT_OID_HEXSZ + 1], chex[GIT_OID_HEXSZ + 1] = "";
	const char *mnode;
	size_t nlen;
	uint64_t seq = 0;
	unsigned parents;
	git_time_t secs;
	hj_gitfeed_objs o = {.tree_raw = HJ_BUF_INIT,
			     .commit_raw = HJ_BUF_INIT};

	git_oid_tostr(hex, sizeof hex, id);
	if (child)
		git_oid_tostr(chex, sizeof chex, child);
	rc = git_commit_lookup(&c, repo, id);
	if (rc < 0) {
		/* A missing tip is the caller's mistake; a missing parent
		 * (or a parent that is not a commit) is a broken chain. */
		ret = hj_gitfeed_giterr(rc, !child && rc == GIT_ENOTFOUND
						    ? HJ_ENOTFOUND
						    : HJ_ECORRUPT,
					"feed %s: commit %s%s%s", node, hex,
					child ? ", parent of " : "", chex);
		goto done;
	}
	if (hj_gitfeed_parse_msg(git_commit_message_raw(c), &mnode, &nlen,
				 &seq) < 0 ||
	    !hj_gitfeed_msg_is_node(mnode, nlen, node)) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s: message is not "
				   "\"huiji %s <seq>\\n\"",
				   hex, node);
		goto done;
	}
	if (expect && seq != expect) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s: seq %" PRIu64
				   " where %" PRIu64 " was expected (it is "
				   "the parent of %s)",
				   hex, seq, expect, chex);
		goto done;
	}
	parents = git_commit_parentcount(c);
	if (parents > 1) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s: %u parents (a feed is a "
				   "chain)",
				   hex, parents);
		goto done;
	}
	if ((parents == 0) != (seq == 1)) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s: seq %" PRIu64 " with %u "
				   "parents",
				   hex, seq, parents);
		goto done;
	}
	rc = git_commit_tree(&tree, c);
	if (rc < 0) {
		ret = hj_gitfeed_giterr(rc, HJ_ECORRUPT,
					"commit %s: tree unreadable", hex);
		goto done;
	}
	if (git_tree_entrycount(tree) != 1) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s: tree has %zu entries, "
				   "not one \"" HJ_GITFEED_ENTRY "\"",
				   hex, git_tree_entrycount(tree));
		goto done;
	}
	e = git_tree_entry_byindex(tree, 0);
	if (strcmp(git_tree_entry_name(e), HJ_GITFEED_ENTRY) != 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode_raw(e) != GIT_FILEMODE_BLOB) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s: tree entry is not a "
				   "100644 blob named \"" HJ_GITFEED_ENTRY "\"",
				   hex);
		goto done;
	}
	/* Last, byte-exactness: rebuild tree and commit from what we parsed
	 * and compare ids. This rejects what the checks above cannot see
	 * (another author, a time zone, an encoding or gpgsig header) and
	 * keeps commit ids identical on every node. */
	secs = git_commit_time(c);
	if (secs < 0 || secs > INT64_MAX / 1000) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s: bad commit time", hex);
		goto done;
	}
	/* Built from the blob id in the tree: the blob itself is not read. */
	hj_gitfeed_tree_raw(&o.tree_raw, git_tree_entry_id(e));
	if (o.tree_raw.rc) {
		ret = hj_error_set(HJ_ENOMEM, "gitfeed: out of memory");
		goto done;
	}
	if ((rc = git_odb_hash(&o.tree, o.tree_raw.data, o.tree_raw.len,
			       GIT_OBJECT_TREE)) < 0) {
		ret = hj_gitfeed_giterr(rc, 0, "hash tree");
		goto done;
	}
	if (!git_oid_equal(&o.tree, git_commit_tree_id(c))) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s: tree is not in "
				   "canonical form",
				   hex);
		goto done;
	}
	hj_gitfeed_commit_raw(&o.commit_raw, &o.tree,
			      parents ? git_commit_parent_id(c, 0) : NULL,
			      node, seq, (int64_t)secs);
	if (o.commit_raw.rc) {
		ret = hj_error_set(HJ_ENOMEM, "gitfeed: out of memory");
		goto done;
	}
	if ((rc = git_odb_hash(&o.commit, o.commit_raw.data,
			       o.commit_raw.len, GIT_OBJECT_COMMIT)) < 0) {
		ret = hj_gitfeed_giterr(rc, 0, "hash commit");
		goto done;
	}
	if (!git_oid_equal(&o.commit, id)) {
		ret = hj_error_set(HJ_ECORRUPT,
				   "gitfeed: commit %s is not in canonical "
				   "huiji form (author, committer, time zone "
				   "or extra headers differ)",
				   hex);
		goto done;
	}
	*seq_out = seq;
	git_oid_cpy(blob_out, git_tree_entry_id(e));
	*has_parent = parents == 1;
	if (parents)
		git_oid_cpy(parent_out, git_commit_parent_id(c, 0));
done:
	hj_gitfeed_objs_free(&o);
	git_tree_free(tree);
	git_commit_free(c);
	return ret;
}

static int walk_impl(hj_gitrepo *r, const git_oid *tip, const char *node, uint64_t after_seq,
		     const git_oid *base, uint64_t base_seq, hj_gitfeed_cb cb, void *ctx);

int hj_gitfeed_walk(hj_gitrepo *r, const git_oid *tip, const char *node,
		    uint64_t after_seq, hj_gitfeed_cb cb, void *ctx)
{
	return walk_impl(r, tip, node, after_seq, NULL, 0, cb, ctx);
}

int hj_gitfeed_walk_since(hj_gitrepo *r, const git_oid *tip, const char *node, const git_oid *base,
			  uint64_t base_seq, hj_gitfeed_cb cb, void *ctx)
{
	if (!base)
		return hj_error_set(HJ_EINVALID, "gitfeed_walk_since: NULL base");
	return walk_impl(r, tip, node, base_seq, base, base_seq, cb, ctx);
}

static int walk_impl(hj_gitrepo *r, const git_oid *tip, const char *node, uint64_t after_seq,
		     const git_oid *base, uint64_t base_seq, hj_gitfeed_cb cb, void *ctx)
{
	int rc, ret = 0, has_parent = 1;
	hj_gitfeed_link *chain = NULL;
	size_t count = 0, cap = 0;
	git_oid cur, next;
	uint64_t seq = 0, expect = 0;
	git_blob *blob = NULL;

	if (!r || !tip || !cb)
		return hj_error_set(HJ_EINVALID, "gitfeed_walk: NULL argument");
	if ((rc = hj_gitfeed_check_node(node)) < 0)
		return rc;

	/* Back from the tip. Seqs strictly decrease to 1, so this ends after
	 * tip-seq steps; the array grows as we go rather than trusting the
	 * tip's (unverified) seq for one big allocation. */
	git_oid_cpy(&cur, tip);
	while (has_parent) {
		/* Reached the commit the caller already trusts: stop here, it
		 * must sit right below what was walked. */
		if (base && git_oid_equal(&cur, base)) {
			if (count && expect != base_seq) {
				ret = hj_error_set(HJ_ECORRUPT, "commit %s: seq %" PRIu64 " follows the base at seq %"
						   PRIu64, git_oid_tostr_s(&chain[count - 1].commit), expect + 1, base_seq);
				goto done;
			}
			break;
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			hj_gitfeed_link *p = realloc(chain, ncap * sizeof *p);
			if (!p) {
				ret = hj_error_set(HJ_ENOMEM,
						   "gitfeed_walk: out of "
						   "memory");
				goto done;
			}
			chain = p;
			cap = ncap;
		}
		rc = hj_gitfeed_check_commit(r->repo, &cur, node, expect,
					     count ? &chain[count - 1].commit
						   : NULL,
					     &seq,
					     &chain[count].blob, &has_parent,
					     &next);
		if (rc < 0) {
			ret = rc;
			goto done;
		}
		git_oid_cpy(&chain[count].commit, &cur);
		count++;
		expect = seq - 1;
		git_oid_cpy(&cur, &next);
	}

	if (base && !has_parent) {
		/* Walked to the root without meeting the base. */
		ret = hj_error_set(HJ_ECONFLICT, "the feed at %s does not contain commit %s (seq %" PRIu64
				   "): rewritten or forked", git_oid_tostr_s(tip), git_oid_tostr_s(base), base_seq);
		goto done;
	}
	/* chain[count-1] is seq 1 (checked: a root has seq 1 and each step
	 * is -1) or base_seq + 1, so chain[i] has seq first + count - 1 - i.
	 * Oldest first. */
	uint64_t first = base ? base_seq + 1 : 1;
	for (size_t i = count; i-- > 0;) {
		seq = first + (uint64_t)(count - 1 - i);
		if (seq <= after_seq)
			continue;
		rc = git_blob_lookup(&blob, r->repo, &chain[i].blob);
		if (rc < 0) {
			ret = hj_gitfeed_giterr(
				rc, HJ_ECORRUPT, "commit %s: change set blob",
				git_oid_tostr_s(&chain[i].commit));
			goto done;
		}
		ret = cb(ctx, seq, &chain[i].commit,
			 (const uint8_t *)git_blob_rawcontent(blob),
			 (size_t)git_blob_rawsize(blob));
		git_blob_free(blob);
		blob = NULL;
		if (ret)
			goto done;
	}
done:
	git_blob_free(blob);
	free(chain);
	return ret;
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
		rc = git_commit_lookup(&c, r->repo, &cur);
		if (rc < 0)
			return hj_gitfeed_giterr(rc, 0, "is %s an ancestor of %s",
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
