/*
 * audit.c — re-derive the hub's registry and every published verdict and
 * digest from the signed feeds.
 */
#include "audit.h"
#include "error.h"
#include "feed.h"
#include "fold.h"
#include "projection.h"
#include "verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static feed *find_feed(audit *a, const char *node)
{
	for (size_t i = 0; i < a->nfeeds; i++)
		if (strcmp(a->feeds[i].node, node) == 0)
			return &a->feeds[i];
	return NULL;
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
			    hj_hex_decode(pk, 32, key) == 0)
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
	if (verdicts && verdicts->count != ops->count) {
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
		const hj_json *vd = verdicts ? verdicts->items[i] : NULL;
		int hub_ok = !vd || (vd->type == HJ_JSTR && strcmp(vd->s, "ok") == 0);
		const char *reason = !hub_ok && vd->type == HJ_JARR && vd->count && vd->items[0]->type == HJ_JSTR
					     ? vd->items[0]->s
					     : "?";
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
static int check_include(audit *a, const hj_json *inc, uint64_t hub_seq)
{
	const char *node = hj_json_get_str(inc, "node"), *hash = hj_json_get_str(inc, "hash");
	const hj_json *verdicts = hj_json_get(inc, "verdicts");
	int64_t seq = 0;
	uint8_t want[32], pk[32];
	hj_envelope e;
	if (!node || !hash || hj_json_get_int(inc, "seq", &seq) || seq < 1 || hj_hex_decode(want, 32, hash) ||
	    !verdicts || verdicts->type != HJ_JARR) {
		problem(a->rep, "hub entry %" PRIu64 ": malformed include", hub_seq);
		return 0;
	}
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
	char *pkhex = hj_db_get_text(a->db, "SELECT pubkey FROM node WHERE id = :n", ":n", node);
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
	rc = fold_ops(a, &e, verdicts, hub_seq);
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
	const char *first = ops->count ? hj_json_get_str(ops->items[0], "op") : NULL;
	if (!first || strcmp(first, "hub.sequence") != 0) {
		rc = fold_ops(a, e, NULL, e->seq); /* the hub's own ops */
		goto done;
	}
	const hj_json *inc = hj_json_get(ops->items[0], "include");
	const char *state = hj_json_get_str(ops->items[0], "state");
	for (size_t i = 0; !rc && inc && inc->type == HJ_JARR && i < inc->count; i++)
		rc = check_include(a, inc->items[i], e->seq);
	if (rc)
		goto done;
	uint8_t digest[32];
	char dhex[65];
	if ((rc = hj_projection_digest(a->db, digest)))
		goto done;
	hj_hex_encode(dhex, digest, 32);
	a->rep->digests++;
	if (!state || strcmp(state, dhex) != 0)
		problem(a->rep, "hub entry %" PRIu64 ": published state digest %.16s… but the re-fold gives %.16s…",
			e->seq, state ? state : "(none)", dhex);
done:
	hj_json_free(payload);
	return rc;
}

/* Change sets not yet sequenced must still verify: tampering anywhere. */
static void check_pending(audit *a)
{
	for (size_t i = 0; i < a->nfeeds; i++) {
		feed *f = &a->feeds[i];
		uint8_t pk[32], prev[32] = {0};
		char *pkhex = hj_db_get_text(a->db, "SELECT pubkey FROM node WHERE id = :n", ":n", f->node);
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
}

int hj_audit(hj_audit_report *rep, const char *url, const char *hub_key_hex, const char *workdir,
	     const hj_net_opts *net)
{
	audit a = {0};
	hj_gitrepo *repo = NULL;
	feed hub = {0};
	git_reference_iterator *it = NULL;
	git_reference *ref;
	uint8_t hub_pk[32], prev[32] = {0};
	int rc;

	memset(rep, 0, sizeof *rep);
	a.rep = rep;
	static const char *const specs[] = {"+refs/huiji/*:refs/huiji/*"};
	if ((rc = hj_gitrepo_open(&repo, workdir, 1)) || (rc = hj_transport_fetch(repo, url, specs, 1, net)))
		goto done;
	if ((rc = hj_scratch_open(&a.db)))
		goto done;

	/* The hub feed: exactly one. */
	if (git_reference_iterator_glob_new(&it, hj_gitrepo_git(repo), "refs/huiji/hub/*") < 0) {
		rc = hj_error_set(HJ_ERROR, "listing refs: %s", git_error_last()->message);
		goto done;
	}
	while (git_reference_next(&ref, it) == 0) {
		if (!rep->hub[0])
			snprintf(rep->hub, sizeof rep->hub, "%s", git_reference_name(ref) + strlen("refs/huiji/hub/"));
		else
			problem(rep, "more than one hub feed: %s", git_reference_name(ref));
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	it = NULL;
	if (!rep->hub[0]) {
		rc = hj_error_set(HJ_ENOTFOUND, "%s holds no hub feed (refs/huiji/hub/*)", url);
		goto done;
	}
	char hubref[160];
	snprintf(hubref, sizeof hubref, "refs/huiji/hub/%s", rep->hub);
	if ((rc = load_feed(&a, repo, hubref, rep->hub, &hub)))
		goto done;

	/* Every county feed. */
	if (git_reference_iterator_glob_new(&it, hj_gitrepo_git(repo), "refs/huiji/feeds/*") < 0) {
		rc = hj_error_set(HJ_ERROR, "listing refs: %s", git_error_last()->message);
		goto done;
	}
	while (git_reference_next(&ref, it) == 0) {
		feed *p = realloc(a.feeds, (a.nfeeds + 1) * sizeof *p);
		if (!p) {
			git_reference_free(ref);
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			goto done;
		}
		a.feeds = p;
		rc = load_feed(&a, repo, git_reference_name(ref), git_reference_name(ref) + strlen("refs/huiji/feeds/"),
			       &a.feeds[a.nfeeds]);
		a.nfeeds++;
		git_reference_free(ref);
		if (rc)
			goto done;
	}
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

	/* Re-fold everything in hub order. */
	if ((rc = hj_db_exec(a.db, "BEGIN")))
		goto done;
	for (size_t s = 0; s < hub.n; s++) {
		hj_envelope e;
		rc = hj_feed_check(&e, hub.bytes[s], hub.len[s], rep->hub, hub_pk, s, prev);
		if (rc) {
			problem(rep, "hub feed: %s (the rest of the hub feed cannot be trusted)", hj_error_last());
			rc = 0;
			break;
		}
		rep->hub_entries++;
		memcpy(prev, e.hash, 32);
		rc = check_hub_entry(&a, &e);
		hj_envelope_free(&e);
		if (rc)
			break;
	}
	hj_db_exec(a.db, rc ? "ROLLBACK" : "COMMIT");
	if (rc)
		goto done;
	check_pending(&a);
	int64_t nodes = 0;
	hj_db_get_int(a.db, "SELECT count(*) FROM node", NULL, NULL, &nodes);
	rep->nodes = (uint64_t)nodes;
done:
	git_reference_iterator_free(it);
	feed_free(&hub);
	for (size_t i = 0; i < a.nfeeds; i++)
		feed_free(&a.feeds[i]);
	free(a.feeds);
	hj_db_close(a.db);
	hj_gitrepo_close(repo);
	return rc;
}
