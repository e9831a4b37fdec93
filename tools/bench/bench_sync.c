/*
 * bench_sync.c — sections 4-6: a hub and a county set up once, then push,
 * sequencing, audit and the steady-state costs, each phase in a child, and
 * their tables.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "bench.h"

/* ---- set-up (untimed) ---- */

/* hub.git as `huiji hub init` makes it; the hook only when huiji is found. */
static int hub_repo_setup(syncb *s, hj_node *hub)
{
	return hj_hub_repo_setup(hub, s->huiji[0] ? s->huiji : NULL);
}

/* The hub's second change set: the county union and the county's enrolment. */
static int hub_enrol_county(hj_node *hub, const hj_node *county)
{
	char pkhex[65];
	hj_hex_encode(pkhex, county->pk, 32);
	hj_json *ops[2] = {county_org_op(), op_new("node.enroll")};
	if (!ops[0] || !ops[1] || hj_json_set_str(ops[1], "node", county->id) ||
	    hj_json_set_str(ops[1], "pubkey", pkhex) || hj_json_set_str(ops[1], "union", BENCH_COUNTY) ||
	    hj_json_set_str(ops[1], "role", "union")) {
		ops_free(ops, 0, 2);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	return commit_ops(hub, ops, 2);
}

static int flush_node(hj_node *n)
{
	hj_gitrepo *repo = NULL;
	int rc = hj_node_repo_open(&repo, n);
	if (!rc)
		rc = hj_outbox_flush(n, repo, NULL);
	hj_gitrepo_close(repo);
	return rc;
}

/* `count` change sets of one member.apply each in the county. */
static int county_commit(bench *b, hj_node *cty, int count)
{
	hj_json *ops[1000];
	int rc = 0;
	b->keys = cty; /* person keys under the province's secret */
	for (int i = 0; !rc && i < count; i += 1000) {
		int k = count - i < 1000 ? count - i : 1000;
		if ((rc = ops_build(b, cty, ops, k)))
			break;
		for (int j = 0; j < k; j++)
			if ((rc = commit_ops(cty, ops + j, 1))) {
				ops_free(ops, j + 1, k);
				break;
			}
	}
	b->keys = NULL;
	return rc;
}

static int load_envelopes(syncb *s, hj_node *cty)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	s->env = calloc((size_t)s->z->n, sizeof *s->env);
	s->envlen = calloc((size_t)s->z->n, sizeof *s->envlen);
	if (!s->env || !s->envlen)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	if (sqlite3_prepare_v2(cty->db->h, "SELECT envelope FROM changelog ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		return hj_db_error(cty->db, "changelog");
	while (!rc && (rc = hj_db_step(cty->db, st)) == 1 && s->nenv < (size_t)s->z->n) {
		const void *blob = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (len <= 64 || !blob || !(s->env[s->nenv] = malloc(len))) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			break;
		}
		memcpy(s->env[s->nenv], blob, len);
		s->envlen[s->nenv++] = len;
		rc = 0;
	}
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	return s->nenv == (size_t)s->z->n ? 0 : hj_error_set(HJ_ERROR, "changelog holds %zu change sets, not %d",
							     s->nenv, s->z->n);
}

static int sync_setup(syncb *s)
{
	hj_node *hub = NULL, *cty = NULL;
	hj_sync_opts so;
	hj_sync_report srep;
	char hubkey[65];
	int rc;

	hj_node_init_opts ho = {.dir = s->hub_tmpl, .node = SYNC_HUB, .union_id = BENCH_ROOT_UNION, .is_root = 1};
	if ((rc = hj_node_create(&hub, &ho)) || (rc = root_bootstrap(hub)) || (rc = hub_repo_setup(s, hub)))
		goto done;
	hj_hex_encode(hubkey, hub->pk, 32);
	hj_node_init_opts co = {.dir = s->county_tmpl, .node = SYNC_NODE, .union_id = BENCH_COUNTY,
				.hub_url = s->hub_git, .hub_key = hubkey};
	if ((rc = hj_node_create(&cty, &co)) || (rc = hub_enrol_county(hub, cty)) || (rc = flush_node(hub)))
		goto done;
	memcpy(s->county_pk, cty->pk, 32);
	hj_node_close(hub);
	hub = NULL;
	/* The county follows the hub once (org tree, its enrolment), as a
	 * county does before it starts work; then works offline. */
	hj_sync_opts_default(&so);
	if ((rc = copy_tree(s->hub_tmpl, s->hub)) || (rc = hj_sync(cty, &so, &srep)))
		goto done;
	if (srep.entries != 2) {
		rc = hj_error_set(HJ_ERROR, "set-up: the county followed %" PRIu64 " hub entries, expected 2", srep.entries);
		goto done;
	}
	/* Untimed generation: no fsync per change set (reopened with the
	 * normal pragmas by every measured phase). */
	if ((rc = hj_db_exec(cty->db, "PRAGMA synchronous=OFF")) || (rc = county_commit(s->b, cty, s->z->n)) ||
	    (rc = flush_node(cty)) || (rc = load_envelopes(s, cty)))
		goto done;
done:
	hj_node_close(hub);
	hj_node_close(cty);
	return rc;
}

/* ---- measurements ---- */

static int raw_verify(syncb *s, double *rate)
{
	int bad = 0;
	double t0 = now_s();
	for (size_t i = 0; i < s->nenv; i++) {
		size_t m = s->envlen[i] - 64;
		bad |= crypto_sign_verify_detached(s->env[i] + m, s->env[i], m, s->county_pk);
	}
	*rate = (double)s->nenv / (now_s() - t0);
	return bad ? hj_error_set(HJ_EBADSIG, "raw verify: a county change set does not verify") : 0;
}

static int noop_cb(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	(void)ctx, (void)seq, (void)commit, (void)bytes, (void)len;
	return 0;
}

/* The O(feed length) part of every hub pass over a feed: validating the
 * chain from its tip to the root, with nothing new to read. */
static int time_walk(syncb *s, double *secs)
{
	hj_gitrepo *repo = NULL;
	uint64_t seq = 0;
	git_oid tip;
	int rc = hj_gitrepo_open(&repo, s->hub_git, 0);
	if (!rc && !(rc = hj_gitfeed_tip(repo, s->feed_ref, &seq, &tip))) {
		double t0 = now_s();
		rc = hj_gitfeed_walk(repo, &tip, SYNC_NODE, seq, noop_cb, NULL);
		*secs = now_s() - t0;
	}
	hj_gitrepo_close(repo);
	return rc;
}

/* The other per-entry cost of a hub pass: the digest of the whole projection. */
static int time_digest(syncb *s, double *secs)
{
	hj_node *hub = NULL;
	uint8_t d[32];
	int rc = hj_node_open(&hub, s->hub);
	if (!rc) {
		double t0 = now_s();
		rc = hj_projection_digest(hub->db, d);
		*secs = now_s() - t0;
	}
	hj_node_close(hub);
	return rc;
}

static void note(syncb *s, int m, int r, double v, double mib)
{
	s->v[m][r] = v;
	s->mib[m][r] = mib;
	s->done[m] = r + 1;
}

static int expect(int cond, const char *what, uint64_t got, uint64_t want)
{
	return cond ? 0 : hj_error_set(HJ_ERROR, "%s: %" PRIu64 ", expected %" PRIu64, what, got, want);
}

static int county_set_url(syncb *s, const char *url)
{
	hj_node *n = NULL;
	int rc = hj_node_open(&n, s->county);
	if (!rc)
		rc = hj_meta_set(n->db, "hub_url", url);
	hj_node_close(n);
	return rc;
}

/* One round of everything: pushes (git daemon pair, then local-path trio,
 * each stock/huiji pair back to back), raw verify, sequencing, audit, and
 * the steady-state costs on the result. */
/* Section 4: the pushes, stock git and raw libgit2 beside huiji's, into
 * fresh copies of the hub (over git:// first when `net`). */
static int push_phases(syncb *s, int r, int net)
{
	proc_res pr;
	uint64_t o[8];
	uint64_t n = (uint64_t)s->z->n;
	char spec[400];
	int rc;
	snprintf(spec, sizeof spec, "%s:%s", s->feed_ref, s->feed_ref);
	char *stock_file[] = {"git", "-C", s->county_git, "push", "-q", s->stock, spec, NULL};
	char *stock_net[] = {"git", "-C", s->county_git, "push", "-q", s->net_stock, spec, NULL};

	if (net) {
		if ((rc = fresh_bare(s->stock)) || (rc = run_proc(stock_net, PROC_TIMEOUT_S, &pr)))
			return rc;
		note(s, M_STOCK_NET, r, pr.secs, pr.mib);
		if ((rc = copy_tree(s->hub_tmpl, s->hub)) ||
		    (rc = run_phase(s, &pr, o, "rawpush", s->county_git, s->feed_ref, s->net_hub)))
			return rc;
		note(s, M_RAW_NET, r, pr.secs, pr.mib);
		if ((rc = copy_tree(s->hub_tmpl, s->hub)) ||
		    (rc = run_phase(s, &pr, o, "push", s->county_git, s->feed_ref, s->net_hub)))
			return rc;
		note(s, M_PUSH_NET, r, pr.secs, pr.mib);
		if ((rc = copy_tree(s->hub_tmpl, s->hub)) || (rc = copy_tree(s->county_tmpl, s->county)) ||
		    (rc = county_set_url(s, s->net_hub)) || (rc = run_phase(s, &pr, o, "sync", s->county, NULL, NULL)) ||
		    (rc = expect(o[0] == n, "change sets pushed over git://", o[0], n)))
			return rc;
		note(s, M_SYNC_NET, r, pr.secs, pr.mib);
	}
	if ((rc = fresh_bare(s->stock)) || (rc = run_proc(stock_file, PROC_TIMEOUT_S, &pr)))
		return rc;
	note(s, M_STOCK_FILE, r, pr.secs, pr.mib);
	if ((rc = copy_tree(s->hub_tmpl, s->hub)) ||
	    (rc = run_phase(s, &pr, o, "rawpush", s->county_git, s->feed_ref, s->hub_git)))
		return rc;
	note(s, M_RAW_FILE, r, pr.secs, pr.mib);
	if ((rc = copy_tree(s->hub_tmpl, s->hub)) ||
	    (rc = run_phase(s, &pr, o, "push", s->county_git, s->feed_ref, s->hub_git)))
		return rc;
	note(s, M_PUSH_FILE, r, pr.secs, pr.mib);
	if ((rc = copy_tree(s->hub_tmpl, s->hub)) || (rc = copy_tree(s->county_tmpl, s->county)) ||
	    (rc = run_phase(s, &pr, o, "sync", s->county, NULL, NULL)) ||
	    (rc = expect(o[0] == n, "change sets pushed", o[0], n)))
		return rc;
	note(s, M_SYNC_FILE, r, pr.secs, pr.mib);
	return 0;
}

/* Section 5: the hub now holds the county's feed: sequence it, audit it. */
static int hub_phases(syncb *s, int r)
{
	proc_res pr;
	uint64_t o[8];
	uint64_t n = (uint64_t)s->z->n;
	double rate;
	int rc;
	if ((rc = raw_verify(s, &rate)))
		return rc;
	note(s, M_VERIFY, r, rate, 0);
	if ((rc = run_phase(s, &pr, o, "sequence", s->hub, NULL, NULL)) ||
	    (rc = expect(o[1] == n, "change sets sequenced", o[1], n)) ||
	    (rc = expect(o[3] == 0 && o[4] == 0, "ops rejected or change sets quarantined", o[3] + o[4], 0)))
		return rc;
	note(s, M_SEQ, r, (double)o[1] / pr.secs, pr.mib);
	s->ops[M_SEQ][r] = (double)o[2] / pr.secs;
	rm_rf(s->audit_work); /* hj_audit imports into it: start empty every round */
	if ((rc = run_phase(s, &pr, o, "audit", s->hub_git, s->audit_work, NULL)) ||
	    (rc = expect(o[0] == n, "change sets audited", o[0], n)) ||
	    (rc = expect(o[5] == 0, "audit problems", o[5], 0)))
		return rc;
	note(s, M_AUDIT, r, (double)o[0] / pr.secs, pr.mib);
	s->ops[M_AUDIT][r] = (double)o[1] / pr.secs;
	return 0;
}

/* Section 6, steady state: the county follows the hub's verdicts on its n
 * change sets; then one more change set goes the whole way. */
static int steady_phases(syncb *s, int r)
{
	proc_res pr;
	uint64_t o[8];
	int rc;
	if ((rc = run_phase(s, &pr, o, "sync", s->county, NULL, NULL)) ||
	    (rc = expect(o[0] == 0, "change sets pushed by the follow-up sync", o[0], 0)))
		return rc;
	note(s, M_FOLLOW, r, pr.secs, pr.mib);
	{
		hj_node *cty = NULL;
		if (!(rc = hj_node_open(&cty, s->county)) && !(rc = county_commit(s->b, cty, 1)))
			rc = flush_node(cty);
		hj_node_close(cty);
		if (rc)
			return rc;
	}
	if ((rc = run_phase(s, &pr, o, "sync", s->county, NULL, NULL)) ||
	    (rc = expect(o[0] == 1, "change sets pushed", o[0], 1)))
		return rc;
	note(s, M_SYNC1, r, pr.secs, pr.mib);
	if ((rc = run_phase(s, &pr, o, "sequence", s->hub, NULL, NULL)) ||
	    (rc = expect(o[1] == 1, "change sets sequenced", o[1], 1)))
		return rc;
	note(s, M_SEQ1, r, pr.secs, pr.mib);
	double secs = 0;
	if ((rc = time_walk(s, &secs)))
		return rc;
	note(s, M_WALK, r, secs, 0);
	if ((rc = time_digest(s, &secs)))
		return rc;
	note(s, M_DIGEST, r, secs, 0);
	return 0;
}

static int sync_round(syncb *s, int r, int net)
{
	int rc;
	if ((rc = push_phases(s, r, net)) || (rc = hub_phases(s, r)))
		return rc;
	return steady_phases(s, r);
}

/* ---- printing ---- */

static void print_srow(const syncb *s, int m, const char *what, long per_round, int as_rate, const char *ratio)
{
	int n = s->done[m];
	char med[32], lo[32], hi[32], span[72], mem[32] = "";
	if (!n)
		return;
	if (as_rate) {
		fmt_rate(med, sizeof med, median_n(s->v[m], n));
		fmt_rate(lo, sizeof lo, vmin_n(s->v[m], n));
		fmt_rate(hi, sizeof hi, vmax_n(s->v[m], n));
	} else {
		snprintf(med, sizeof med, "%.3f", median_n(s->v[m], n));
		snprintf(lo, sizeof lo, "%.3f", vmin_n(s->v[m], n));
		snprintf(hi, sizeof hi, "%.3f", vmax_n(s->v[m], n));
	}
	snprintf(span, sizeof span, "%s..%s", lo, hi);
	if (s->mib[m][0] > 0)
		snprintf(mem, sizeof mem, "%.1f", median_n(s->mib[m], n));
	printf("  %-46s %7ld %10s %20s %8s  %s\n", what, per_round, med, span, mem, ratio ? ratio : "");
}

static void print_scols(const char *unit)
{
	printf("  %-46s %7s %10s %20s %8s  %s\n", "measurement", "n/round", unit, "min..max", "peak MiB",
	       "ratio (median of rounds)");
}

static void print_sratio(const char *what, double r, const char *of)
{
	printf("  %-46s %7s %10s %20s %8s  %.2fx %s\n", what, "", "", "", "", r, of);
}

/* "2.31x stock git push (time)" when both were measured in the same rounds. */
static const char *sratio(const syncb *s, char *out, size_t outsz, int a, int b, const char *of)
{
	int n = s->done[a] < s->done[b] ? s->done[a] : s->done[b];
	if (!n)
		return "";
	snprintf(out, outsz, "%.2fx %s", paired_ratio_n(s->v[a], s->v[b], n), of);
	return out;
}

static void sync_print(const syncb *s, int net, const char *why_no_net)
{
	long n = s->z->n;
	char r[96], label[96];
	printf("\n4. replication: a county pushes %ld change sets (1 member.apply each) to a fresh hub repository\n"
	       "   (%d round%s; seconds fork to reaped; peak MiB = ru_maxrss of the largest process of the phase;\n"
	       "   ratio = huiji time / stock git time, median of per-round ratios)\n",
	       n, s->z->rounds, s->z->rounds == 1 ? "" : "s");
	print_scols("seconds");
	print_srow(s, M_STOCK_FILE, "stock git push, local path", n, 0, "(baseline)");
	print_srow(s, M_RAW_FILE, "raw libgit2 git_remote_push, local path", n, 0,
		   sratio(s, r, sizeof r, M_RAW_FILE, M_STOCK_FILE, "stock git push"));
	print_srow(s, M_PUSH_FILE, "huiji hj_transport_push, whole feed at once", n, 0,
		   sratio(s, r, sizeof r, M_PUSH_FILE, M_STOCK_FILE, "stock git push"));
	snprintf(label, sizeof label, "huiji hj_sync (256 KiB chunks), local path");
	print_srow(s, M_SYNC_FILE, label, n, 0, sratio(s, r, sizeof r, M_SYNC_FILE, M_STOCK_FILE, "stock git push"));
	if (net) {
		print_srow(s, M_STOCK_NET, "stock git push, git:// (git daemon)", n, 0, "(baseline)");
		print_srow(s, M_RAW_NET, "raw libgit2 git_remote_push, git://", n, 0,
			   sratio(s, r, sizeof r, M_RAW_NET, M_STOCK_NET, "stock git push"));
		print_srow(s, M_PUSH_NET, s->huiji[0] ? "huiji hj_transport_push, whole feed, git://"
						       : "huiji hj_transport_push, git:// (no hook)",
			   n, 0, sratio(s, r, sizeof r, M_PUSH_NET, M_STOCK_NET, "stock git push"));
		print_srow(s, M_SYNC_NET, s->huiji[0] ? "huiji hj_sync, git:// (hub pre-receive hook)"
						       : "huiji hj_sync, git:// (no hook: no huiji binary)",
			   n, 0, sratio(s, r, sizeof r, M_SYNC_NET, M_STOCK_NET, "stock git push"));
		printf("    git:// rows: the receiving side (git daemon's receive-pack%s) is not in peak MiB\n",
		       s->huiji[0] ? " and the huiji hook" : "");
	} else {
		printf("    git daemon rows skipped: %s\n", why_no_net);
	}
	print_sratio("  hj_transport_push vs raw libgit2, local path",
		    paired_ratio_n(s->v[M_PUSH_FILE], s->v[M_RAW_FILE], s->done[M_PUSH_FILE]),
		    "(watchdog child + heartbeat pipe)");
	print_sratio("  hj_sync vs hj_transport_push, local path",
		    paired_ratio_n(s->v[M_SYNC_FILE], s->v[M_PUSH_FILE], s->done[M_SYNC_FILE]),
		    "(ls, push chunks of 256 KiB, fetch, follow)");
	if (net)
		print_sratio("  hj_sync vs hj_transport_push, git://",
			    paired_ratio_n(s->v[M_SYNC_NET], s->v[M_PUSH_NET], s->done[M_SYNC_NET]),
			    "(+ the hub hook run once per chunk)");

	printf("\n5. hub sequencing and audit of those %ld change sets (1 op each, so ops/s = change sets/s)\n", n);
	print_scols("cs/s");
	print_srow(s, M_VERIFY, "raw crypto_sign_verify_detached, same bytes", n, 1, "(baseline: the floor)");
	print_srow(s, M_SEQ, "hj_hub_sequence (verify, fold, sign entries)", n, 1,
		   sratio(s, r, sizeof r, M_SEQ, M_VERIFY, "raw verify"));
	print_srow(s, M_AUDIT, "hj_audit of the hub repository (local path)", n, 1,
		   sratio(s, r, sizeof r, M_AUDIT, M_VERIFY, "raw verify"));
	if (s->done[M_SEQ]) {
		char a[32], b[32];
		fmt_rate(a, sizeof a, median_n(s->ops[M_SEQ], s->done[M_SEQ]));
		fmt_rate(b, sizeof b, median_n(s->ops[M_AUDIT], s->done[M_AUDIT]));
		printf("    ops/s: hj_hub_sequence %s, hj_audit %s\n", a, b);
	}

	printf("\n6. steady state on a feed of %ld change sets already sequenced\n", n);
	print_scols("seconds");
	print_srow(s, M_FOLLOW, "county hj_sync following the hub's verdicts", n, 0,
		   "(fetch + follow + rebase of n pending)");
	print_srow(s, M_SYNC1, "county hj_sync pushing 1 new change set", 1, 0, "");
	print_srow(s, M_SEQ1, "hub hj_hub_sequence of 1 new change set", 1, 0, "");
	if (s->done[M_SEQ] && s->done[M_SEQ1]) {
		double per = 1.0 / median_n(s->v[M_SEQ], s->done[M_SEQ]);
		printf("    = %.0fx the per-change-set cost of the bulk pass (%.3f ms)\n",
		       median_n(s->v[M_SEQ1], s->done[M_SEQ1]) / per, per * 1000);
	}
	print_srow(s, M_WALK, "  in it: hj_gitfeed_walk chain check, in-proc", n, 0,
		   "(O(feed): every pass, every feed)");
	print_srow(s, M_DIGEST, "  in it: hj_projection_digest, in-proc", n, 0, "(O(registry): every hub entry)");
}

int bench_sync(bench *b, const sync_sizes *z)
{
	syncb *s = calloc(1, sizeof *s);
	char real[PATH_MAX], why[300] = "";
	int rc = 0, net = 0;
	if (!s)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	s->b = b;
	s->z = z;
	ssize_t k = readlink("/proc/self/exe", s->self, sizeof s->self - 1);
	if (k <= 0 || !realpath(b->dir, real)) {
		free(s);
		return hj_error_set(HJ_ERROR, "cannot resolve this binary or %s", b->dir);
	}
	s->self[k] = '\0';
	/* The hub hook calls huiji itself: the one built next to this binary. */
	char *slash = strrchr(s->self, '/');
	snprintf(s->huiji, sizeof s->huiji, "%.*s/huiji", (int)(slash - s->self), s->self);
	if (access(s->huiji, X_OK) != 0)
		s->huiji[0] = '\0';
	snprintf(s->feed_ref, sizeof s->feed_ref, "refs/huiji/feeds/%s", SYNC_NODE);
	if ((rc = path_join2(s->root, real, "sync")) || (rc = path_join2(s->hub_tmpl, s->root, "hub-tmpl")) ||
	    (rc = path_join2(s->county_tmpl, s->root, "county-tmpl")) || (rc = path_join2(s->hub, s->root, "hub")) ||
	    (rc = path_join2(s->county, s->root, "county")) || (rc = path_join2(s->hub_git, s->hub, "hub.git")) ||
	    (rc = path_join2(s->county_git, s->county_tmpl, "replica.git")) ||
	    (rc = path_join2(s->stock, s->root, "stock.git")) || (rc = path_join2(s->audit_work, s->root, "audit.git")) ||
	    (rc = path_join2(s->log, s->root, "git-daemon.log")))
		goto done;
	if (mkdir(s->root, 0700) != 0) {
		rc = hj_error_set(HJ_ERROR, "%s: %s", s->root, strerror(errno));
		goto done;
	}
	{
		proc_res pr;
		char *argv[] = {"git", "--version", NULL};
		s->have_git = run_proc(argv, 30, &pr) == 0;
	}
	if (!s->have_git) {
		/* Stock git is the baseline of the push figures: without it
		 * there is nothing to compare with. */
		printf("\n4-6. replication: skipped, the git command is not installed (stock git is the baseline)\n");
		goto done;
	}
	double t0 = now_s();
	if ((rc = sync_setup(s)))
		goto done;
	printf("\n(replication set-up, untimed: hub + county + %d change sets in %.1f s%s)\n", z->n, now_s() - t0,
	       s->huiji[0] ? "" : "; huiji binary not found next to huiji-bench: hub hook not installed");
	fflush(stdout);
	if (daemon_start(s) == 0)
		net = 1;
	else
		snprintf(why, sizeof why, "%s", hj_error_last());
	for (int r = 0; !rc && r < z->rounds; r++)
		rc = sync_round(s, r, net);
	daemon_stop(s);
	if (!rc)
		sync_print(s, net, why);
done:
	daemon_stop(s);
	for (size_t i = 0; i < s->nenv; i++)
		free(s->env[i]);
	free(s->env);
	free(s->envlen);
	free(s);
	return rc;
}

