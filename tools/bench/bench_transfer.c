/*
 * bench_transfer.c — section 8: what moving a membership record costs.
 * In the in-process province of section 7 (bench_prov_setup), county A
 * admits N members; then, each as its own change set (one clerk command
 * each), A updates them all (the baseline: the ordinary op nearest in
 * size), offers them all to county B's union, B accepts them all, and A
 * hands N others down to a union below. Per op: the county's commit, the
 * hub's pass, the other county's follow. Medians of ROUNDS provinces; the
 * ratio column compares each with member.update measured in the same
 * round.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "bench.h"
#include "person_seal.h"
#include "transfer_seal.h"

#define T_UNION_BELOW "bench-township-below-a"

enum { T_UPDATE, T_OFFER, T_ACCEPT, T_HAND_DOWN, T_N };
static const char *const t_names[T_N] = {"member.update (baseline)", "member.transfer_offer",
					 "member.transfer_accept", "member.hand_down"};

typedef struct t_round {
	double commit[T_N], hub[T_N], follow[T_N]; /* seconds per op */
} t_round;

/* One op per change set at n, timed; `make` builds op i. */
typedef hj_json *(*make_fn)(hj_node *n, const char *id, void *ctx);

static int commit_each(hj_node *n, char **ids, int count, make_fn make, void *ctx, double *per_op)
{
	double t0 = now_s();
	int rc = 0;
	for (int i = 0; !rc && i < count; i++) {
		hj_json *op = make(n, ids[i], ctx);
		rc = op ? commit_ops(n, &op, 1) : hj_error_set(HJ_ENOMEM, "out of memory");
	}
	*per_op = (now_s() - t0) / count;
	return rc;
}

/* The snapshot as `huiji member transfer` signs it: the person sealed to
 * both ends (transfer_seal.h). */
static hj_json *with_snapshot(hj_node *n, hj_json *op, const char *id, const char *to)
{
	hj_json *snap = NULL;
	if (!op || hj_transfer_snapshot_sealed(&snap, n, id, to) || hj_json_set(op, "snapshot", snap)) {
		hj_json_free(op);
		return NULL;
	}
	return op;
}

/* A new plate, sealed as `huiji member update --plate` seals it
 * (tools/cmd_member.c: the changed fields to the record's holders). */
static hj_json *make_update(hj_node *n, const char *id, void *ctx)
{
	char *key = NULL;
	hj_json *op = op_new("member.update"), *f = hj_json_new(HJ_JOBJ);
	(void)ctx;
	if (!op || !f || hj_db_get_text(&key, n->db, "SELECT person_key FROM membership WHERE id = :id", ":id", id) ||
	    hj_json_set_str(op, "member", id) || hj_json_set_str(op, "person", key) ||
	    hj_json_set_str(f, "plate", "青A00001") || hj_person_seal_set(op, n, f, E_UNION_A)) {
		hj_json_free(op);
		op = NULL;
	}
	hj_json_free(f);
	free(key);
	return op;
}

static hj_json *make_move(hj_node *n, const char *id, void *ctx)
{
	const char *name = ctx;
	int offer = strcmp(name, "member.transfer_offer") == 0;
	const char *to = offer ? E_UNION_B : T_UNION_BELOW;
	hj_json *op = op_new(name);
	if (op && (hj_json_set_str(op, "member", id) || hj_json_set_str(op, "to", to) ||
		   hj_json_set_str(op, "on", BENCH_ON))) {
		hj_json_free(op);
		return NULL;
	}
	return with_snapshot(n, op, id, to);
}

static hj_json *make_accept(hj_node *n, const char *id, void *ctx)
{
	hj_json *op = op_new("member.transfer_accept");
	(void)n;
	(void)ctx;
	if (op && (hj_json_set_str(op, "transfer", id) || hj_json_set_str(op, "on", BENCH_ON))) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

/* Ids from a query at n (owned). */
static int ids_of(char ***out, int *count, hj_node *n, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, cap = 0;
	*out = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(n->db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return hj_db_error(n->db, "ids");
	while (!rc && (rc = hj_db_step(n->db, st)) == 1) {
		rc = 0;
		if (*count == cap) {
			cap = cap ? 2 * cap : 64;
			char **p = realloc(*out, (size_t)cap * sizeof *p);
			if (!p) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				break;
			}
			*out = p;
		}
		if (!((*out)[(*count)++] = strdup(hj_db_col_text(st, 0))))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

static void ids_free(char **ids, int count)
{
	for (int i = 0; i < count; i++)
		free(ids[i]);
	free(ids);
}

/* Push `from`, one hub pass, `to` follows: seconds per change set. Then
 * `from` follows too (untimed), so that neither county starts the next
 * pass with an entry of its own to catch up on: the next pass's follow
 * (timed) is then only the new ops, not also a rebase of its own work. */
static int pass(entry_prov *p, hj_node *from, hj_node *to, int count, double *hub, double *follow)
{
	hj_gitrepo *repo = NULL;
	hj_sync_report sr;
	hj_seq_report qr;
	int rc = bench_county_sync(from, &sr);
	if (rc || (rc = hj_node_repo_open(&repo, p->hub)))
		return rc;
	double t0 = now_s();
	rc = hj_hub_sequence(p->hub, repo, &qr);
	*hub = (now_s() - t0) / count;
	hj_gitrepo_close(repo);
	if (!rc && qr.rejected)
		rc = hj_error_set(HJ_ERROR, "transfer bench: the hub rejected %" PRIu64 " ops", qr.rejected);
	t0 = now_s();
	if (!rc && !(rc = bench_county_sync(to, &sr)))
		*follow = (now_s() - t0) / count;
	return rc ? rc : bench_county_sync(from, &sr);
}

static int one_round(bench *b, const char *parent, int n, int r, t_round *out)
{
	entry_prov p = {0};
	char name[32], **ids = NULL, **tids = NULL;
	int nids = 0, ntids = 0, rc;
	snprintf(name, sizeof name, "transfer-%d", r);
	if ((rc = bench_prov_setup(&p, parent, name)))
		goto done;
	b->keys = p.a;
	/* A union below A's, and 2N members admitted at A, untimed. */
	hj_json *org = op_new("org.create");
	if (!org || hj_json_set_str(org, "id", T_UNION_BELOW) || hj_json_set_str(org, "name", "街道工会") ||
	    hj_json_set_str(org, "kind", "township") || hj_json_set_str(org, "parent", E_UNION_A) ||
	    hj_json_set_str(org, "region", BENCH_REGION)) {
		hj_json_free(org);
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	hj_sync_report sr;
	if ((rc = commit_ops(p.hub, &org, 1)) || (rc = bench_county_sync(p.a, &sr)) || (rc = bench_county_sync(p.b, &sr)) ||
	    (rc = bench_commit_list(b, p.a, E_UNION_A, b->next, 2 * n, HJ_BATCH_MAX_OPS)) ||
	    (rc = ids_of(&ids, &nids, p.a, "SELECT id FROM membership ORDER BY id")))
		goto done;
	char **approve = ids;
	for (int i = 0; !rc && i < nids; i += HJ_BATCH_MAX_OPS) {
		hj_json *ops[HJ_BATCH_MAX_OPS];
		int k = nids - i < HJ_BATCH_MAX_OPS ? nids - i : HJ_BATCH_MAX_OPS;
		for (int j = 0; j < k; j++)
			if ((ops[j] = op_new("member.approve")) &&
			    (hj_json_set_str(ops[j], "member", approve[i + j]) || hj_json_set_str(ops[j], "on", BENCH_ON)))
				ops[j] = (hj_json_free(ops[j]), NULL);
		rc = commit_ops(p.a, ops, k);
	}
	double ignored;
	if (rc || (rc = pass(&p, p.a, p.b, nids, &ignored, &ignored)) ||
	    (rc = hj_db_exec(p.a->db, "PRAGMA synchronous=FULL")) || (rc = hj_db_exec(p.b->db, "PRAGMA synchronous=FULL")))
		goto done;
	/* Timed: N updates, N offers (to B), N accepts at B, N hand-downs. */
	if ((rc = commit_each(p.a, ids, n, make_update, NULL, &out->commit[T_UPDATE])) ||
	    (rc = pass(&p, p.a, p.b, n, &out->hub[T_UPDATE], &out->follow[T_UPDATE])) ||
	    (rc = commit_each(p.a, ids, n, make_move, "member.transfer_offer", &out->commit[T_OFFER])) ||
	    (rc = pass(&p, p.a, p.b, n, &out->hub[T_OFFER], &out->follow[T_OFFER])) ||
	    (rc = ids_of(&tids, &ntids, p.b, "SELECT id FROM transfer WHERE status = 'open' ORDER BY id")))
		goto done;
	if (ntids != n) {
		rc = hj_error_set(HJ_ERROR, "transfer bench: county B holds %d open offers, expected %d", ntids, n);
		goto done;
	}
	if ((rc = commit_each(p.b, tids, n, make_accept, NULL, &out->commit[T_ACCEPT])) ||
	    (rc = pass(&p, p.b, p.a, n, &out->hub[T_ACCEPT], &out->follow[T_ACCEPT])) ||
	    (rc = commit_each(p.a, ids + n, n, make_move, "member.hand_down", &out->commit[T_HAND_DOWN])) ||
	    (rc = pass(&p, p.a, p.b, n, &out->hub[T_HAND_DOWN], &out->follow[T_HAND_DOWN])))
		goto done;
	int64_t moved = 0;
	if ((rc = hj_db_get_int(p.hub->db, "SELECT count(*) FROM transfer WHERE status = 'accepted'", NULL, NULL, &moved)))
		goto done;
	if (moved != 2 * n)
		rc = hj_error_set(HJ_ERROR, "transfer bench: %lld records moved at the hub, expected %d", (long long)moved,
				  2 * n);
done:
	b->keys = NULL;
	b->next += (uint64_t)(2 * n);
	ids_free(ids, nids);
	ids_free(tids, ntids);
	bench_prov_close(&p);
	return rc;
}

int bench_transfers(bench *b, int quick)
{
	int n = quick ? 50 : 500, rounds = quick ? 1 : 3, rc = 0;
	t_round r[ROUNDS_MAX];
	char parent[PATH_MAX];
	double t0 = now_s();
	if ((rc = path_join2(parent, b->dir, "transfers")))
		return rc;
	if (mkdir(parent, 0700) != 0)
		return hj_error_set(HJ_ERROR, "%s: %s", parent, strerror(errno));
	for (int i = 0; !rc && i < rounds; i++)
		rc = one_round(b, parent, n, i, &r[i]);
	rm_rf(parent);
	if (rc)
		return rc;
	printf("\n8. what a transfer costs, per op (one op per change set, as a clerk's command; N = %d members a "
	       "round,\n   %d round%s, medians; %.1f s with set-up); ratio: to member.update in the same round\n", n,
	       rounds, rounds == 1 ? "" : "s", now_s() - t0);
	printf("  %-28s %14s %8s %14s %8s %16s %8s\n", "op", "county commit", "ratio", "hub pass /op", "ratio",
	       "other county /op", "ratio");
	for (int k = 0; k < T_N; k++) {
		double c[ROUNDS_MAX], h[ROUNDS_MAX], f[ROUNDS_MAX], c0[ROUNDS_MAX], h0[ROUNDS_MAX], f0[ROUNDS_MAX];
		for (int i = 0; i < rounds; i++) {
			c[i] = r[i].commit[k], h[i] = r[i].hub[k], f[i] = r[i].follow[k];
			c0[i] = r[i].commit[T_UPDATE], h0[i] = r[i].hub[T_UPDATE], f0[i] = r[i].follow[T_UPDATE];
		}
		printf("  %-28s %11.2f ms %7.2fx %11.2f ms %7.2fx %13.2f ms %7.2fx\n", t_names[k], 1e3 * median_n(c, rounds),
		       paired_ratio_n(c, c0, rounds), 1e3 * median_n(h, rounds), paired_ratio_n(h, h0, rounds),
		       1e3 * median_n(f, rounds), paired_ratio_n(f, f0, rounds));
	}
	printf("    county commit: sign, fold and COMMIT (synchronous=FULL); hub pass: hj_hub_sequence over them,\n"
	       "    per change set; other county: its sync (fetch, follow, rebase) per change set; the accept's\n"
	       "    \"other county\" is the offering one ending its records\n");
	return 0;
}
