/*
 * audit_import.c — how an audit copies a local hub repository: object by
 * object through checks, so that a damaged object costs only itself and
 * never reaches a libgit2 parser, and the audit can name the one record
 * it belonged to. Refs are copied as they are.
 */
#include "audit.h"
#include "audit_int.h"

#include "buf.h"
#include "error.h"
#include "giterr.h"
#include "pack.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A local repository is not read in place. libgit2 1.5.1 overflows a heap
 * buffer reading some corrupt loose objects (seen with ASan), and a
 * tampered repository is exactly what an audit must survive. So every
 * object is checked before anything parses it, and only sound objects are
 * copied into the audit's own repository:
 *  - each pack goes through git's indexer, which inflates every object and
 *    checks the pack's SHA-1 trailer (the copy is the indexer's output);
 *    a pack it refuses is read again object by object (pack.c), keeping
 *    every object that inflates, resolves and hashes: the indexer takes a
 *    pack whole or not at all, and one flipped byte must cost one record;
 *  - each loose object is inflated here with a size cap, its header parsed
 *    and its id recomputed (git_odb_hash) against its file name.
 * What fails is a finding; the feed walk then names the node and seq
 * whose object is missing. Refs are copied as they are. */
#define LOOSE_MAX (64u << 20)

static int salvage_pack(hj_audit_report *rep, const char *path, const char *name, const char *dst_objects,
			const char *why)
{
	hj_pack_stats st;
	/* The audit's repository is a scratch copy: an fsync per salvaged
	 * (loose) object buys nothing. hj_gitrepo_open turned it on. */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
	int rc = hj_pack_salvage(&st, path, dst_objects, NULL, NULL);
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	if (rc == HJ_ENOMEM)
		return rc;
	if (rc)
		hj_audit_problem(rep, "objects/pack/%s: corrupt (%s); no object could be recovered: %s", name, why,
				 hj_error_last());
	else if (st.damaged)
		hj_audit_problem(rep, "objects/pack/%s: corrupt (%s): %zu damaged object(s), the first at byte %" PRIu64
				 "; the %zu sound objects were kept", name, why, st.damaged, st.first_damage, st.sound);
	else
		hj_audit_problem(rep, "objects/pack/%s: corrupt (%s), yet all %zu objects inflate and hash: the pack's "
				 "own checksum or header is damaged, no record is", name, why, st.sound);
	return 0;
}

static int copy_pack(hj_audit_report *rep, const char *path, const char *name, const char *dst_objects)
{
	char dst_pack_dir[4200], why[300];
	FILE *f = fopen(path, "rb");
	git_indexer *idx = NULL;
	git_indexer_progress st;
	static char buf[65536];
	size_t k;
	snprintf(dst_pack_dir, sizeof dst_pack_dir, "%s/pack", dst_objects);
	int bad = !f || git_indexer_new(&idx, dst_pack_dir, 0, NULL, NULL) < 0;
	while (!bad && (k = fread(buf, 1, sizeof buf, f)) > 0)
		bad = git_indexer_append(idx, buf, k, &st) < 0;
	if (!bad)
		bad = git_indexer_commit(idx, &st) < 0;
	snprintf(why, sizeof why, "%s", f ? hj_git_message() : "unreadable");
	git_indexer_free(idx);
	if (f)
		fclose(f);
	return bad ? salvage_pack(rep, path, name, dst_objects, why) : 0;
}

static int copy_loose(hj_audit_report *rep, const char *path, const char *name, hj_gitrepo *dst)
{
	static const char *const types[] = {"commit", "tree", "blob", "tag"};
	static const git_object_t otypes[] = {GIT_OBJECT_COMMIT, GIT_OBJECT_TREE, GIT_OBJECT_BLOB, GIT_OBJECT_TAG};
	hj_buf raw = HJ_BUF_INIT, out = HJ_BUF_INIT;
	const char *why = NULL;
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t k;
	while (f && (k = fread(chunk, 1, sizeof chunk, f)) > 0 && raw.len <= LOOSE_MAX)
		hj_buf_put(&raw, chunk, k);
	if (f)
		fclose(f);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (!f || raw.rc || raw.len > LOOSE_MAX || inflateInit(&z) != Z_OK) {
		why = "unreadable";
		goto done;
	}
	z.next_in = raw.data;
	z.avail_in = (uInt)raw.len;
	int zr;
	do {
		if (hj_buf_grow(&out, sizeof chunk) || out.len > LOOSE_MAX) {
			why = "too large";
			break;
		}
		z.next_out = out.data + out.len;
		z.avail_out = sizeof chunk;
		zr = inflate(&z, Z_NO_FLUSH);
		out.len += sizeof chunk - z.avail_out;
	} while (zr == Z_OK);
	inflateEnd(&z);
	if (!why && (zr != Z_STREAM_END || z.avail_in != 0))
		why = "bad zlib stream";
	const uint8_t *nul = why ? NULL : memchr(out.data, '\0', out.len < 32 ? out.len : 32);
	if (!why && !nul)
		why = "bad header";
	git_object_t type = GIT_OBJECT_INVALID;
	unsigned long long size = 0;
	if (!why) {
		for (size_t i = 0; i < 4; i++) {
			size_t tl = strlen(types[i]);
			if (memcmp(out.data, types[i], tl) == 0 && out.data[tl] == ' ') {
				type = otypes[i];
				size = strtoull((const char *)out.data + tl + 1, NULL, 10);
			}
		}
		if (type == GIT_OBJECT_INVALID || size != (unsigned long long)(out.data + out.len - nul - 1))
			why = "bad header";
	}
	git_oid want, got;
	char hex[GIT_OID_HEXSZ + 1];
	snprintf(hex, sizeof hex, "%.2s%.38s", name, name + 3);
	if (!why && (git_oid_fromstr(&want, hex) < 0 || git_odb_hash(&got, nul + 1, size, type) < 0 ||
		     !git_oid_equal(&want, &got)))
		why = "content does not match its object id";
	if (!why && hj_gitrepo_write_object(&got, dst, nul + 1, size, type) < 0)
		why = "cannot be copied";
done:
	if (why)
		hj_audit_problem(rep, "objects/%s: corrupt loose object (%s)", name, why);
	hj_buf_free(&raw);
	hj_buf_free(&out);
	return 0;
}

static int copy_one_ref(void *ctx, const char *name, const git_oid *target)
{
	return target ? hj_gitrepo_ref_set(ctx, name, target, "huiji audit") : 0;
}

static int copy_refs(const char *src_path, hj_gitrepo *dst)
{
	hj_gitrepo *src = NULL;
	int rc = hj_gitrepo_open(&src, src_path, 0);
	if (rc)
		return rc;
	/* The targets may be the very objects found corrupt: do not insist. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	rc = hj_gitrepo_ref_foreach(src, "refs/huiji/*", copy_one_ref, dst);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
	hj_gitrepo_close(src);
	return rc;
}

int hj_audit_import_local(hj_audit_report *rep, const char *src, hj_gitrepo *dst)
{
	char dir[4096], path[4400], dst_objects[4096];
	DIR *d;
	struct dirent *de;
	int rc = 0;
	snprintf(dst_objects, sizeof dst_objects, "%sobjects", hj_gitrepo_path(dst));
	snprintf(dir, sizeof dir, "%s/objects/pack", src);
	if ((d = opendir(dir))) {
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			if (l > 5 && strcmp(de->d_name + l - 5, ".pack") == 0) {
				snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
				if ((rc = copy_pack(rep, path, de->d_name, dst_objects)))
					break;
			}
		}
		closedir(d);
	}
	for (int hi = 0; hi < 256 && !rc; hi++) {
		snprintf(dir, sizeof dir, "%s/objects/%02x", src, hi);
		if (!(d = opendir(dir)))
			continue;
		while ((de = readdir(d)))
			if (strlen(de->d_name) == GIT_OID_HEXSZ - 2) {
				char name[300];
				snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
				snprintf(name, sizeof name, "%02x/%s", hi, de->d_name);
				copy_loose(rep, path, name, dst);
			}
		closedir(d);
	}
	return rc ? rc : copy_refs(src, dst);
}

