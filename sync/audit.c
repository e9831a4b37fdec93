/*
 * audit.c — re-derive the hub's registry and every published verdict and
 * digest from the signed feeds.
 */
#include "audit.h"
#include "error.h"
#include "feed.h"
#include "fold.h"
#include "giterr.h"
#include "hub_entry.h"
#include "projection.h"
#include "verify.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* One feed held in memory: change sets by seq (v[seq - 1]). */
typedef struct feed {
	char node[HJ_NODE_ID_MAX + 1];
	uint8_t **bytes;
	size_t *len;
	size_t n, cap;
	int broken;          /* reading it failed: reported once */
	uint64_t included;   /* last seq sequenced by the hub */
	uint8_t last_hash[32];
} feed;

typedef struct audit {
	hj_audit_report *rep;
	feed *feeds;
	size_t nfeeds;
	hj_db *db;
} audit;

static void problem(hj_audit_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(hj_audit_report *rep, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	if (rep->nproblems >= HJ_AUDIT_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	rep->problems[rep->nproblems] = strdup(buf);
	if (rep->problems[rep->nproblems])
		rep->nproblems++;
}

void hj_audit_report_free(hj_audit_report *rep)
{
	for (size_t i = 0; i < rep->nproblems; i++)
		free(rep->problems[i]);
	rep->nproblems = 0;
}

static int keep_cs(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	feed *f = ctx;
	(void)commit;
	(void)seq;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		uint8_t **b = realloc(f->bytes, cap * sizeof *b);
		if (b)
			f->bytes = b;
		size_t *l = realloc(f->len, cap * sizeof *l);
		if (l)
			f->len = l;
		if (!b || !l)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		f->cap = cap;
	}
	if (!(f->bytes[f->n] = malloc(len ? len : 1)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	memcpy(f->bytes[f->n], bytes, len);
	f->len[f->n++] = len;
	return 0;
}

static void feed_free(feed *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->bytes[i]);
	free(f->bytes);
	free(f->len);
}

/* Load a feed ref fully; a failure to read is itself a finding. */
static int load_feed(audit *a, hj_gitrepo *repo, const char *ref, const char *node, feed *f)
{
	git_oid tip;
	uint64_t seq;
	memset(f, 0, sizeof *f);
	snprintf(f->node, sizeof f->node, "%s", node);
	int rc = hj_gitfeed_tip(repo, ref, &seq, &tip);
	if (!rc && seq)
		rc = hj_gitfeed_walk(repo, &tip, node, 0, keep_cs, f);
	if (rc == HJ_ENOMEM)
		return rc;
	if (rc) {
		problem(a->rep, "%s: cannot be read (tampered or corrupt git objects?): %s", ref, hj_error_last());
		f->broken = 1;
	}
	return 0;
}

static int add_node(audit *a, const char *node)
{
	for (size_t i = 0; i < a->nfeeds; i++)
		if (strcmp(a->feeds[i].node, node) == 0)
			return 0;
	feed *p = realloc(a->feeds, (a->nfeeds + 1) * sizeof *p);
	if (!p)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	a->feeds = p;
	memset(&a->feeds[a->nfeeds], 0, sizeof *p);
	snprintf(a->feeds[a->nfeeds].node, sizeof p->node, "%s", node);
	a->nfeeds++;
	return 0;
}

typedef struct node_lister {
	audit *a;
	size_t prefix;
} node_lister;

static int list_one_node(void *ctx, const char *name, const git_oid *target)
{
	node_lister *l = ctx;
	(void)target;
	return add_node(l->a, name + l->prefix);
}

static int list_nodes(audit *a, hj_gitrepo *repo, const char *glob, size_t prefix)
{
	node_lister l = {a, prefix};
	return hj_gitrepo_ref_foreach(repo, glob, list_one_node, &l);
}

/* A second history a node sent of its own feed (refs/huiji/forks/<node>:
 * a copy restored from an old backup, sync.c) is a finding at the first
 * seq where it departs from the feed audited: the node signed two
 * change sets at one seq, which the hub holds in quarantine. */
static feed *find_feed(audit *a, const char *node);

typedef struct fork_check {
	audit *a;
	hj_gitrepo *repo;
} fork_check;

static int check_one_fork(void *ctx, const char *name, const git_oid *target)
{
	fork_check *fc = ctx;
	const char *node = name + strlen("refs/huiji/forks/");
	feed fork = {0}, *f = find_feed(fc->a, node);
	(void)target;
	if (hj_node_id_check(node))
		return 0;
	int rc = load_feed(fc->a, fc->repo, name, node, &fork);
	size_t k = 0;
	while (!rc && f && k < f->n && k < fork.n && f->len[k] == fork.len[k] &&
	       memcmp(f->bytes[k], fork.bytes[k], f->len[k]) == 0)
		k++;
	if (!rc && f && !fork.broken && k < f->n && k < fork.n)
		problem(fc->a->rep, "feed %s seq %zu: the node signed a second, different change set, sent as a fork "
			"(%s: e.g. a copy restored from an old backup); quarantined at the hub (huiji hub quarantine)",
			node, k + 1, name);
	feed_free(&fork);
	return rc;
}

/* Load each node's feed: the pushed ref when it still contains what the
 * hub sequenced, else the sequenced history, and the fork is a finding. */
static int load_all_feeds(audit *a, hj_gitrepo *repo)
{
	int rc;
	if ((rc = list_nodes(a, repo, "refs/huiji/feeds/*", strlen("refs/huiji/feeds/"))) ||
	    (rc = list_nodes(a, repo, "refs/huiji/sequenced/*", strlen("refs/huiji/sequenced/"))))
		return rc;
	for (size_t i = 0; i < a->nfeeds; i++) {
		char fref[160], sref[160], node[HJ_NODE_ID_MAX + 1];
		git_oid foid, soid;
		snprintf(node, sizeof node, "%s", a->feeds[i].node);
		snprintf(fref, sizeof fref, "refs/huiji/feeds/%s", node);
		snprintf(sref, sizeof sref, "refs/huiji/sequenced/%s", node);
		/* Absent (or symbolic: not a feed) is an answer; unreadable is not. */
		int has_f = hj_gitrepo_ref_get(&foid, repo, fref), has_s = hj_gitrepo_ref_get(&soid, repo, sref);
		if (has_f && has_f != HJ_ENOTFOUND && has_f != HJ_ECORRUPT)
			return has_f;
		if (has_s && has_s != HJ_ENOTFOUND && has_s != HJ_ECORRUPT)
			return has_s;
		has_f = has_f == 0;
		has_s = has_s == 0;
		if (!has_s || (has_f && hj_gitfeed_is_ancestor(repo, &soid, &foid) == 1)) {
			if ((rc = load_feed(a, repo, fref, node, &a->feeds[i])))
				return rc;
			continue;
		}
		/* The pushed feed lost or changed what the hub sequenced: audit
		 * the sequenced history, and name where the pushed one departs. */
		feed pushed = {0};
		if ((rc = load_feed(a, repo, sref, node, &a->feeds[i])) ||
		    (has_f && (rc = load_feed(a, repo, fref, node, &pushed)))) {
			feed_free(&pushed);
			return rc;
		}
		feed *f = &a->feeds[i];
		size_t k = 0;
		while (k < f->n && k < pushed.n && f->len[k] == pushed.len[k] &&
		       memcmp(f->bytes[k], pushed.bytes[k], f->len[k]) == 0)
			k++;
		if (k < f->n && k < pushed.n)
			problem(a->rep, "feed %s seq %zu: the pushed feed differs from the change set the hub sequenced "
				"(forked or rewritten: see huiji hub quarantine)", node, k + 1);
		else if (k < f->n)
			problem(a->rep, "feed %s seq %zu: sequenced by the hub but no longer in the pushed feed "
				"(rewound or dropped)", node, k + 1);
		feed_free(&pushed);
	}
	fork_check fc = {a, repo};
	return hj_gitrepo_ref_foreach(repo, "refs/huiji/forks/*", check_one_fork, &fc);
}

static feed *find_feed(audit *a, const char *node)
{
	for (size_t i = 0; i < a->nfeeds; i++)
		if (strcmp(a->feeds[i].node, node) == 0)
			return &a->feeds[i];
	return NULL;
}

/* A local repository is not read in place. libgit2 1.5.1 overflows a heap
 * buffer reading some corrupt loose objects (seen with ASan), and a
 * tampered repository is exactly what an audit must survive. So every
 * object is checked before anything parses it, and only sound objects are
 * copied into the audit's own repository:
 *  - each pack goes through git's indexer, which inflates every object and
 *    checks the pack's SHA-1 trailer (the copy is the indexer's output);
 *  - each loose object is inflated here with a size cap, its header parsed
 *    and its id recomputed (git_odb_hash) against its file name.
 * What fails is a finding; the feeds that needed it then fail to load,
 * which names them. Refs are copied as they are. */
#define LOOSE_MAX (64u << 20)

static int copy_pack(audit *a, const char *path, const char *name, const char *dst_pack_dir)
{
	FILE *f = fopen(path, "rb");
	git_indexer *idx = NULL;
	git_indexer_progress st;
	static char buf[65536];
	size_t k;
	int bad = !f || git_indexer_new(&idx, dst_pack_dir, 0, NULL, NULL) < 0;
	while (!bad && (k = fread(buf, 1, sizeof buf, f)) > 0)
		bad = git_indexer_append(idx, buf, k, &st) < 0;
	if (!bad)
		bad = git_indexer_commit(idx, &st) < 0;
	if (bad)
		problem(a->rep, "objects/pack/%s: corrupt (%s)", name,
			hj_git_message());
	git_indexer_free(idx);
	if (f)
		fclose(f);
	return 0;
}

static int copy_loose(audit *a, const char *path, const char *name, hj_gitrepo *dst)
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
		problem(a->rep, "objects/%s: corrupt loose object (%s)", name, why);
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

static int import_local(audit *a, const char *src, hj_gitrepo *dst)
{
	char dir[4096], path[4400], dst_pack[4096];
	DIR *d;
	struct dirent *de;
	int rc = 0;
	snprintf(dst_pack, sizeof dst_pack, "%sobjects/pack", hj_gitrepo_path(dst));
	snprintf(dir, sizeof dir, "%s/objects/pack", src);
	if ((d = opendir(dir))) {
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			if (l > 5 && strcmp(de->d_name + l - 5, ".pack") == 0) {
				snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
				copy_pack(a, path, de->d_name, dst_pack);
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
				copy_loose(a, path, name, dst);
			}
		closedir(d);
	}
	return copy_refs(src, dst);
}

/* The key the hub enrolled for itself in its first change set. */
static int hub_key_from_feed(const feed *hub, uint8_t pk[32])
{
	hj_envelope e;
	hj_json *payload = NULL;
	int rc = HJ_ENOTFOUND;
	if (!hub->n || hj_envelope_decode(&e, hub->bytes[0], hub->len[0]))
		return hj_error_set(HJ_ECORRUPT, "the hub feed has no readable change set 1");
	if (hj_json_parse(&payload, (const char *)e.payload, e.payload_len) == 0) {
		const hj_json *ops = hj_json_get(payload, "ops");
		for (size_t i = 0; ops && ops->type == HJ_JARR && i < ops->count; i++) {
			const char *op = hj_json_get_str(ops->items[i], "op");
			const char *node = hj_json_get_str(ops->items[i], "node");
			const char *key = hj_json_get_str(ops->items[i], "pubkey");
			if (op && node && key && strcmp(op, "node.enroll") == 0 && strcmp(node, hub->node) == 0 &&
			    hj_hex_decode_lower(pk, 32, key) == 0) /* as the fold reads it */
				rc = 0;
		}
	}
	hj_json_free(payload);
	hj_envelope_free(&e);
	return rc ? hj_error_set(rc, "the hub feed does not enrol the hub in change set 1") : 0;
}

static int fold_ops(audit *a, const hj_envelope *e, const hj_json *verdicts, uint64_t hub_seq)
{
	hj_json *payload = NULL;
	hj_foldctx ctx = {0};
	hj_verdict v;
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	const hj_json *ops = rc ? NULL : hj_fold_payload_ops(payload, &rc);
	if (!ops) {
		problem(a->rep, "%s seq %" PRIu64 ": payload unreadable: %s", e->node, e->seq, hj_error_last());
		rc = rc == HJ_EVERSION ? rc : 0;
		goto done;
	}
	if (verdicts && hj_hub_verdicts_check(verdicts, ops->count)) {
		problem(a->rep, "hub entry %" PRIu64 ": %zu verdicts for %s seq %" PRIu64 " which has %zu ops", hub_seq,
			verdicts->count, e->node, e->seq, ops->count);
		goto done;
	}
	ctx.actor = e->node;
	ctx.seq = e->seq;
	for (size_t i = 0; i < ops->count; i++) {
		ctx.index = (uint32_t)i;
		if ((rc = hj_fold_op(a->db, &ctx, ops->items[i], &v)))
			goto done;
		a->rep->ops++;
		const char *reason = "?";
		int hub_ok = hj_hub_verdict_at(verdicts, i, &reason, NULL);
		if (verdicts)
			a->rep->verdicts++;
		if (v.applied != hub_ok || (!hub_ok && strcmp(reason, v.reason) != 0))
			problem(a->rep, "%s seq %" PRIu64 " op %zu: the hub says %s, the re-fold says %s%s%s%s",
				e->node, e->seq, i, hub_ok ? "applied" : reason, v.applied ? "applied" : v.reason,
				v.applied ? "" : " (", v.applied ? "" : v.detail, v.applied ? "" : ")");
	}
done:
	hj_json_free(payload);
	return rc;
}

/* One county change set a sequence entry includes. */
static int check_include(audit *a, const hj_hub_include *inc, uint64_t hub_seq)
{
	const char *node = inc->node;
	int64_t seq = (int64_t)inc->seq;
	const uint8_t *want = inc->hash;
	uint8_t pk[32];
	hj_envelope e;
	feed *f = find_feed(a, node);
	if (!f || (uint64_t)seq > f->n) {
		problem(a->rep, "hub entry %" PRIu64 " sequences %s seq %" PRId64 ", which is not in the repository "
			"(dropped or rewound feed)", hub_seq, node, seq);
		return 0;
	}
	if ((uint64_t)seq != f->included + 1)
		problem(a->rep, "hub entry %" PRIu64 " sequences %s seq %" PRId64 " after seq %" PRIu64
			" (a change set dropped or reordered)", hub_seq, node, seq, f->included);
	const uint8_t *bytes = f->bytes[seq - 1];
	size_t len = f->len[seq - 1];
	uint8_t h[32];
	hj_hash32(h, bytes, len);
	if (memcmp(h, want, 32) != 0) {
		problem(a->rep, "%s seq %" PRId64 ": the bytes in the repository differ from what hub entry %" PRIu64
			" signed (tampered)", node, seq, hub_seq);
		f->included = (uint64_t)seq;
		return 0;
	}
	char *pkhex = NULL;
	int grc = hj_db_get_text(&pkhex, a->db, "SELECT pubkey FROM node WHERE id = :n", ":n", node);
	if (grc && grc != HJ_ENOTFOUND)
		return grc; /* a failed lookup is not a finding */
	if (!pkhex || hj_hex_decode(pk, 32, pkhex)) {
		problem(a->rep, "%s seq %" PRId64 " was sequenced but %s was not enrolled at that point", node, seq, node);
		free(pkhex);
		f->included = (uint64_t)seq;
		return 0;
	}
	free(pkhex);
	/* Chain from the previous sequenced change set of this feed. */
	uint8_t prev[32] = {0};
	if (seq > 1)
		hj_hash32(prev, f->bytes[seq - 2], f->len[seq - 2]);
	int rc = hj_feed_check(&e, bytes, len, node, pk, (uint64_t)seq - 1, prev);
	f->included = (uint64_t)seq;
	if (rc) {
		problem(a->rep, "%s", hj_error_last());
		return 0;
	}
	a->rep->change_sets++;
	rc = fold_ops(a, &e, inc->verdicts, hub_seq);
	hj_envelope_free(&e);
	return rc;
}

static int check_hub_entry(audit *a, const hj_envelope *e)
{
	hj_json *payload = NULL;
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	const hj_json *ops = rc ? NULL : hj_fold_payload_ops(payload, &rc);
	if (!ops) {
		problem(a->rep, "hub entry %" PRIu64 ": payload unreadable: %s", e->seq, hj_error_last());
		hj_json_free(payload);
		return rc == HJ_EVERSION ? rc : 0;
	}
	const hj_json *op = NULL;
	hj_hub_entry ent = {0};
	if ((rc = hj_hub_entry_find(&op, ops)) || (op && (rc = hj_hub_entry_decode(&ent, op)))) {
		problem(a->rep, "hub entry %" PRIu64 ": %s", e->seq, hj_error_last());
		rc = rc == HJ_EVERSION ? rc : 0;
		goto done;
	}
	if (!op) {
		rc = fold_ops(a, e, NULL, e->seq); /* the hub's own ops */
		goto done;
	}
	for (size_t i = 0; !rc && i < ent.ninclude; i++)
		rc = check_include(a, &ent.include[i], e->seq);
	if (rc)
		goto done;
	uint8_t digest[32];
	char dhex[65], shex[65];
	if ((rc = hj_projection_digest(a->db, digest)))
		goto done;
	hj_hex_encode(dhex, digest, 32);
	hj_hex_encode(shex, ent.state, 32);
	a->rep->digests++;
	if (memcmp(ent.state, digest, 32) != 0)
		problem(a->rep, "hub entry %" PRIu64 ": published state digest %.16s… but the re-fold gives %.16s…",
			e->seq, shex, dhex);
done:
	hj_hub_entry_free(&ent);
	hj_json_free(payload);
	return rc;
}

/* Change sets not yet sequenced must still verify: tampering anywhere. */
static int check_pending(audit *a)
{
	for (size_t i = 0; i < a->nfeeds; i++) {
		feed *f = &a->feeds[i];
		uint8_t pk[32], prev[32] = {0};
		char *pkhex = NULL;
		int grc = hj_db_get_text(&pkhex, a->db, "SELECT pubkey FROM node WHERE id = :n", ":n", f->node);
		if (grc && grc != HJ_ENOTFOUND)
			return grc;
		int enrolled = pkhex && hj_hex_decode(pk, 32, pkhex) == 0;
		free(pkhex);
		for (size_t s = f->included; s < f->n; s++) {
			hj_envelope e;
			a->rep->pending++;
			if (s > 0)
				hj_hash32(prev, f->bytes[s - 1], f->len[s - 1]);
			int rc = enrolled ? hj_feed_check(&e, f->bytes[s], f->len[s], f->node, pk, s, prev)
					  : hj_envelope_decode(&e, f->bytes[s], f->len[s]);
			if (rc) {
				problem(a->rep, "%s (not yet sequenced)", hj_error_last());
				break;
			}
			hj_envelope_free(&e);
		}
	}
	return 0;
}

/* The hub feed: exactly one refs/huiji/hub/<id>; sets rep->hub. */

/* Re-fold everything in hub order, checking every entry. */
static int refold(audit *a, const feed *hub, const uint8_t hub_pk[32])
{
	uint8_t prev[32] = {0};
	int rc;
	if ((rc = hj_db_exec(a->db, "BEGIN")))
		return rc;
	for (size_t s = 0; s < hub->n; s++) {
		hj_envelope e;
		rc = hj_feed_check(&e, hub->bytes[s], hub->len[s], a->rep->hub, hub_pk, s, prev);
		if (rc) {
			problem(a->rep, "hub feed: %s (the rest of the hub feed cannot be trusted)", hj_error_last());
			rc = 0;
			break;
		}
		a->rep->hub_entries++;
		memcpy(prev, e.hash, 32);
		rc = check_hub_entry(a, &e);
		hj_envelope_free(&e);
		if (rc)
			break;
	}
	hj_db_exec(a->db, rc ? "ROLLBACK" : "COMMIT");
	return rc;
}

static int note_hub_ref(void *ctx, const char *name, const git_oid *target)
{
	hj_audit_report *rep = ctx;
	(void)target;
	if (!rep->hub[0])
		snprintf(rep->hub, sizeof rep->hub, "%s", name + strlen("refs/huiji/hub/"));
	else
		problem(rep, "more than one hub feed: %s", name);
	return 0;
}

/* The hub feed: exactly one ref under refs/huiji/hub/. */
static int find_hub(audit *a, hj_gitrepo *repo, const char *url)
{
	int rc = hj_gitrepo_ref_foreach(repo, "refs/huiji/hub/*", note_hub_ref, a->rep);
	if (rc)
		return rc;
	if (!a->rep->hub[0])
		return hj_error_set(HJ_ENOTFOUND, "%s holds no hub feed (refs/huiji/hub/*)", url);
	return 0;
}

int hj_audit(hj_audit_report *rep, const char *url, const char *hub_key_hex, const char *workdir,
	     const hj_net_opts *net)
{
	audit a = {0};
	hj_gitrepo *repo = NULL;
	feed hub = {0};
	uint8_t hub_pk[32];
	int rc;

	memset(rep, 0, sizeof *rep);
	a.rep = rep;
	static const char *const specs[] = {"+refs/huiji/*:refs/huiji/*"};
	int local = !strstr(url, "://") || strncmp(url, "file://", 7) == 0;
	if ((rc = hj_gitrepo_open(&repo, workdir, 1)))
		goto done;
	rc = local ? import_local(&a, strncmp(url, "file://", 7) == 0 ? url + 7 : url, repo)
		   : hj_transport_fetch(repo, url, specs, 1, net);
	if (rc || (rc = hj_scratch_open(&a.db)) || (rc = find_hub(&a, repo, url)))
		goto done;
	char hubref[160];
	snprintf(hubref, sizeof hubref, "refs/huiji/hub/%s", rep->hub);
	if ((rc = load_feed(&a, repo, hubref, rep->hub, &hub)))
		goto done;

	/* Every county feed: what the hub sequenced (refs/huiji/sequenced/,
	 * the hub's own ref) and what the node pushed (refs/huiji/feeds/). */
	if ((rc = load_all_feeds(&a, repo)))
		goto done;
	rep->feeds = a.nfeeds;

	if (hub_key_hex) {
		if (hj_hex_decode(hub_pk, 32, hub_key_hex)) {
			rc = hj_error_set(HJ_EINVALID, "--hub-key must be 64 hex digits");
			goto done;
		}
		rep->hub_key_pinned = 1;
	} else if ((rc = hub_key_from_feed(&hub, hub_pk))) {
		problem(rep, "%s", hj_error_last());
		rc = 0;
		goto done;
	}
	hj_hex_encode(rep->hub_key, hub_pk, 32);
	if ((rc = refold(&a, &hub, hub_pk)))
		goto done;
	int64_t nodes = 0;
	if ((rc = check_pending(&a)) ||
	    (rc = hj_db_get_int(a.db, "SELECT count(*) FROM node", NULL, NULL, &nodes)))
		goto done;
	rep->nodes = (uint64_t)nodes;
done:
	feed_free(&hub);
	for (size_t i = 0; i < a.nfeeds; i++)
		feed_free(&a.feeds[i]);
	free(a.feeds);
	hj_db_close(a.db);
	hj_gitrepo_close(repo);
	return rc;
}
