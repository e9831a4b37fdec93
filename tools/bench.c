/*
 * bench.c — huiji-bench: what one committed op costs, next to the raw
 * libraries underneath, measured in the same run.
 *
 * It measures, in a throw-away node directory bootstrapped like `huiji init`
 * (root union + enrolment of itself, then a county union below it):
 *   1. ops committed per second — member.apply of fake people, one op per
 *      change set and 1000 ops per change set — beside raw SQLite INSERTs of
 *      a similar row with the same pragmas (WAL, synchronous=FULL);
 *   2. envelope encode (deflate + sign + self-check) and verify / decode per
 *      second beside raw libsodium sign / verify on the same payload bytes;
 *   3. bytes per op before (payload JSON) and after (envelope) compression.
 * And, with a hub and a county made as `huiji hub init` / `huiji init --hub`
 * make them (sections 4-6, 3 rounds; see the comment above sync_setup):
 *   4. a county pushing N change sets to a fresh hub repository: hj_sync and
 *      hj_transport_push beside stock `git push` and raw libgit2, over a
 *      local path and through git daemon on loopback, with peak memory;
 *   5. hj_hub_sequence and hj_audit of them beside raw Ed25519 verify;
 *   6. the steady-state costs that grow with history.
 *
 * Why: the machines huiji runs and is built on are small and shared, so an
 * absolute rate means little on its own. Every figure is the median of
 * ROUNDS rounds, the rounds interleave huiji and its baseline, and each ratio
 * is the median of the per-round ratios, so noise that hits one round hits
 * both sides of the ratio. Fake people only: ID numbers come from
 * hj_idnum_make and never describe a real person.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "audit.h"
#include "batch.h"
#include "buf.h"
#include "envelope.h"
#include "error.h"
#include "fold.h"
#include "gitfeed.h"
#include "giterr.h"
#include "hook.h"
#include "idnum.h"
#include "json.h"
#include "node.h"
#include "outbox.h"
#include "projection.h"
#include "sequencer.h"
#include "sync.h"
#include "transport.h"

#include <sodium.h>
#include <sqlite3.h>
#include <zlib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 5
#define BATCH_OPS 1000
#define BENCH_NODE "bench-root"
#define BENCH_ROOT_UNION "bench-prov"
#define BENCH_COUNTY "bench-county"
#define BENCH_REGION "630103" /* 西宁市城中区: a real county code, fake people */
#define BENCH_ON "2024-06-01"

typedef struct sizes {
	int single;  /* ops per round, one op per change set */
	int batches; /* change sets of BATCH_OPS ops per round */
	int crypto;  /* iterations per round of each crypto loop */
} sizes;

static const sizes sizes_default = {1000, 10, 20000};
static const sizes sizes_quick = {20, 1, 1000};

typedef struct bench {
	char *dir;    /* mkdtemp'd; removed at the end */
	hj_node *node;
	sqlite3 *raw; /* the baseline registry, same pragmas as hj_db_open */
	sqlite3_stmt *raw_ins;
	uint64_t next; /* next fake person */
	hj_node *keys; /* whose person secret makes the person keys (default node) */
} bench;

/* One fake applicant, and the strings of the row the baseline inserts. */
typedef struct fake {
	char key[65], name[32], idno[19], phone[12], plate[24], id[48];
} fake;

/* ---- timing and statistics ------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Statistics over the n rounds of one measurement (n <= ROUNDS_MAX; an
 * even n takes the upper median). */
#define ROUNDS_MAX 8

static double median_n(const double *v, int n)
{
	double s[ROUNDS_MAX];
	memcpy(s, v, (size_t)n * sizeof s[0]);
	qsort(s, (size_t)n, sizeof s[0], cmp_double);
	return s[n / 2];
}

static double vmin_n(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax_n(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Median over rounds of a[r] / b[r]: the two were measured side by side. */
static double paired_ratio_n(const double *a, const double *b, int n)
{
	double r[ROUNDS_MAX];
	for (int i = 0; i < n; i++)
		r[i] = b[i] > 0 ? a[i] / b[i] : 0;
	return median_n(r, n);
}

static double median(const double v[ROUNDS])
{
	return median_n(v, ROUNDS);
}

static double vmin(const double v[ROUNDS])
{
	return vmin_n(v, ROUNDS);
}

static double vmax(const double v[ROUNDS])
{
	return vmax_n(v, ROUNDS);
}

static double paired_ratio(const double a[ROUNDS], const double b[ROUNDS])
{
	return paired_ratio_n(a, b, ROUNDS);
}

/* ---- printing ------------------------------------------------------------ */

/* A rate with thousands separators ("12,345"), or one decimal below 100. */
static void fmt_rate(char *out, size_t outsz, double v)
{
	if (v < 100) {
		snprintf(out, outsz, "%.1f", v);
		return;
	}
	char digits[32], *o = out;
	int n = snprintf(digits, sizeof digits, "%.0f", v);
	for (int i = 0; i < n && (size_t)(o - out) + 2 < outsz; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			*o++ = ',';
		*o++ = digits[i];
	}
	*o = '\0';
}

static void print_cols(const char *unit)
{
	printf("  %-42s %9s %12s %22s  %s\n", "measurement", "n/round", unit, "min..max", "ratio (median of rounds)");
}

static void print_row(const char *what, long per_round, const double rate[ROUNDS], const char *ratio)
{
	char med[32], lo[32], hi[32], span[72];
	fmt_rate(med, sizeof med, median(rate));
	fmt_rate(lo, sizeof lo, vmin(rate));
	fmt_rate(hi, sizeof hi, vmax(rate));
	snprintf(span, sizeof span, "%s..%s", lo, hi);
	printf("  %-42s %9ld %12s %22s  %s\n", what, per_round, med, span, ratio ? ratio : "");
}

static void print_ratio(const char *what, double r, const char *of)
{
	printf("  %-42s %9s %12s %22s  %.2fx %s\n", what, "", "", "", r, of);
}

static const char *fs_name(const char *dir)
{
	struct statfs s;
	if (statfs(dir, &s) != 0)
		return "unknown filesystem";
	switch ((unsigned long)s.f_type) {
	case 0xEF53: return "ext4";
	case 0x01021994: return "tmpfs: fsync is free, single-op rates are not real";
	case 0x58465342: return "xfs";
	case 0x9123683EUL: return "btrfs";
	case 0x794C7630: return "overlayfs";
	default: return "other filesystem";
	}
}

/* ---- fake people and ops ------------------------------------------------ */

/* Gregorian date of `days` after 1970-01-01 (H. Hinnant's civil_from_days). */
static void civil_from_days(long days, int *y, int *m, int *d)
{
	days += 719468;
	long era = (days >= 0 ? days : days - 146096) / 146097;
	long doe = days - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The next fake person: a distinct valid ID number (birth date and order
 * code from the counter; all adults on BENCH_ON), a mobile number, a plate. */
static int fake_next(bench *b, fake *p)
{
	static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "马", "韩"};
	static const char *const given[] = {"建国", "秀英", "海军", "玉兰", "德明", "桂花", "志强", "春梅"};
	uint64_t i = b->next++;
	int y, m, d;
	civil_from_days((long)((i / 1000) % 10000), &y, &m, &d); /* born 1970..1997 */
	int rc = hj_idnum_make(p->idno, BENCH_REGION, y, m, d, (int)(i % 1000));
	if (rc)
		return rc;
	hj_node_person_key(b->keys ? b->keys : b->node, p->idno, p->key);
	snprintf(p->name, sizeof p->name, "%s%s", surnames[i % 8], given[(i / 8) % 8]);
	snprintf(p->phone, sizeof p->phone, "139%08" PRIu64, i % 100000000);
	snprintf(p->plate, sizeof p->plate, "青A%05" PRIu64, i % 100000);
	snprintf(p->id, sizeof p->id, "raw:%" PRIu64, i);
	return 0;
}

static hj_json *op_new(const char *name)
{
	hj_json *op = hj_json_new(HJ_JOBJ);
	if (op && (hj_json_set_str(op, "op", name) || hj_json_set_int(op, "v", HJ_OP_VERSION))) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

/* member.apply as tools/cmd_member.c builds it. */
static hj_json *apply_op(const fake *p)
{
	hj_json *op = op_new("member.apply"), *person = hj_json_new(HJ_JOBJ);
	if (!op || !person || hj_json_set_str(op, "union", BENCH_COUNTY) ||
	    hj_json_set_str(op, "group", "truck_driver") || hj_json_set_str(op, "channel", "platform_app") ||
	    hj_json_set_str(op, "platform", "yunmanman") || hj_json_set_str(op, "on", BENCH_ON) ||
	    hj_json_set_str(person, "key", p->key) || hj_json_set_str(person, "name", p->name) ||
	    hj_json_set_str(person, "id_number", p->idno) || hj_json_set_str(person, "phone", p->phone) ||
	    hj_json_set_str(person, "plate", p->plate) || hj_json_set(op, "person", person)) {
		hj_json_free(op);
		return NULL;
	}
	return op;
}

static void ops_free(hj_json **ops, int from, int n)
{
	for (int i = from; i < n; i++)
		hj_json_free(ops[i]);
}

/* n member.apply ops of new fake people; on failure none are left. */
static int ops_build(bench *b, hj_json **ops, int n)
{
	fake p;
	for (int i = 0; i < n; i++) {
		int rc = fake_next(b, &p);
		if (rc || !(ops[i] = apply_op(&p))) {
			ops_free(ops, 0, i);
			return rc ? rc : hj_error_set(HJ_ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* ---- the node and the baseline database --------------------------------- */

/* Fold `ops` as one change set; every op must be applied. Takes the ops. */
static int commit_ops(hj_node *n, hj_json **ops, int nops)
{
	hj_batch bt;
	hj_verdict v;
	int i = 0, rc = hj_batch_begin(&bt, n);
	if (rc)
		goto fail;
	for (; i < nops; i++) {
		if ((rc = hj_batch_apply(&bt, ops[i], &v, NULL, 0)))
			break;
		if (!v.applied) {
			rc = hj_error_set(HJ_ECONFLICT, "op %d refused (%s): %s", i, v.reason, v.detail);
			break;
		}
	}
	if (i == nops)
		return hj_batch_commit(&bt, NULL);
	i++; /* ops[i] was taken by hj_batch_apply */
	hj_batch_abort(&bt);
fail:
	ops_free(ops, i, nops);
	return rc;
}

/* Change set 1 of a province as tools/cmd_init.c makes it: the root union
 * and the hub enrolling itself. */
static int root_bootstrap(hj_node *n)
{
	char pkhex[65];
	hj_hex_encode(pkhex, n->pk, 32);
	hj_json *boot[2] = {op_new("org.create"), op_new("node.enroll")};
	if (!boot[0] || !boot[1] || hj_json_set_str(boot[0], "id", BENCH_ROOT_UNION) ||
	    hj_json_set_str(boot[0], "name", "测试省总工会") || hj_json_set_str(boot[0], "kind", "province") ||
	    hj_json_set_str(boot[0], "region", "63") || hj_json_set_str(boot[1], "node", n->id) ||
	    hj_json_set_str(boot[1], "pubkey", pkhex) || hj_json_set_str(boot[1], "union", BENCH_ROOT_UNION) ||
	    hj_json_set_str(boot[1], "role", "hub")) {
		ops_free(boot, 0, 2);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	return commit_ops(n, boot, 2);
}

/* org.create of the county union below the root union. */
static hj_json *county_org_op(void)
{
	hj_json *op = op_new("org.create");
	if (op && (hj_json_set_str(op, "id", BENCH_COUNTY) || hj_json_set_str(op, "name", "测试县总工会") ||
		   hj_json_set_str(op, "kind", "county") || hj_json_set_str(op, "parent", BENCH_ROOT_UNION) ||
		   hj_json_set_str(op, "region", BENCH_REGION))) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

/* The root bootstrap of tools/cmd_init.c, then a county union below it. */
static int node_setup(bench *b)
{
	hj_node_init_opts o = {.dir = b->dir, .node = BENCH_NODE, .union_id = BENCH_ROOT_UNION, .is_root = 1};
	int rc = hj_node_create(&b->node, &o);
	if (rc || (rc = root_bootstrap(b->node)))
		return rc;
	hj_json *county[1] = {county_org_op()};
	if (!county[0])
		return hj_error_set(HJ_ENOMEM, "out of memory");
	return commit_ops(b->node, county, 1);
}

static int raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	int rc = hj_error_set(HJ_ERROR, "raw sqlite: %s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return rc;
}

/* The baseline: one flat member-like row with the same two indexes the
 * membership table has, and hj_db_open's pragmas. */
static int raw_setup(bench *b)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/raw.db", b->dir);
	if (sqlite3_open_v2(path, &b->raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		return hj_error_set(HJ_ERROR, "raw sqlite: cannot open %s", path);
	int rc = raw_exec(b->raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
				  "PRAGMA cache_size=-65536;"
				  "CREATE TABLE member(id TEXT PRIMARY KEY, person_key TEXT NOT NULL, name TEXT NOT NULL,"
				  " id_number TEXT NOT NULL, phone TEXT, plate TEXT, union_id TEXT NOT NULL,"
				  " grp TEXT NOT NULL, channel TEXT NOT NULL, platform TEXT, status TEXT NOT NULL,"
				  " applied_on TEXT NOT NULL, applied_by TEXT NOT NULL) WITHOUT ROWID;"
				  "CREATE UNIQUE INDEX member_one_live ON member(person_key)"
				  " WHERE status IN ('applied', 'active');"
				  "CREATE INDEX member_union ON member(union_id, status);");
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(b->raw,
			       "INSERT INTO member VALUES (?1, ?2, ?3, ?4, ?5, ?6, '" BENCH_COUNTY "',"
			       " 'truck_driver', 'platform_app', 'yunmanman', 'applied', '" BENCH_ON "',"
			       " '" BENCH_NODE "')",
			       -1, &b->raw_ins, NULL) != SQLITE_OK)
		return hj_error_set(HJ_ERROR, "raw sqlite: %s", sqlite3_errmsg(b->raw));
	return 0;
}

static int raw_insert(bench *b, const fake *p)
{
	sqlite3_stmt *st = b->raw_ins;
	const char *v[] = {p->id, p->key, p->name, p->idno, p->phone, p->plate};
	for (int i = 0; i < 6; i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : hj_error_set(HJ_ERROR, "raw sqlite: %s", sqlite3_errmsg(b->raw));
}

/* ---- 1. ops committed per second ---------------------------------------- */

/* Commit n member.apply ops, per_set per change set; *rate = ops/s. The ops
 * are built before the clock starts. */
static int run_huiji(bench *b, int n, int per_set, double *rate)
{
	hj_json **ops = calloc((size_t)n, sizeof *ops);
	int rc = ops ? ops_build(b, ops, n) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (rc)
		goto done;
	double t0 = now_s();
	for (int i = 0; i < n; i += per_set) {
		if ((rc = commit_ops(b->node, ops + i, per_set))) {
			ops_free(ops, i + per_set, n);
			goto done;
		}
	}
	*rate = n / (now_s() - t0);
done:
	free(ops);
	return rc;
}

/* Insert n similar rows into the baseline, per_txn per transaction. */
static int run_raw(bench *b, int n, int per_txn, double *rate)
{
	fake *p = calloc((size_t)n, sizeof *p);
	int rc = p ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	for (int i = 0; !rc && i < n; i++)
		rc = fake_next(b, &p[i]);
	if (rc)
		goto done;
	double t0 = now_s();
	for (int i = 0; i < n && !rc; i += per_txn) {
		if ((rc = raw_exec(b->raw, "BEGIN IMMEDIATE")))
			break;
		for (int j = i; j < i + per_txn && !rc; j++)
			rc = raw_insert(b, &p[j]);
		rc = rc ? (raw_exec(b->raw, "ROLLBACK"), rc) : raw_exec(b->raw, "COMMIT");
	}
	*rate = n / (now_s() - t0);
done:
	free(p);
	return rc;
}

static int bench_commits(bench *b, const sizes *z)
{
	double raw1[ROUNDS], hj1[ROUNDS], rawn[ROUNDS], hjn[ROUNDS];
	int nbatch = z->batches * BATCH_OPS, rc;
	char r1[80], r2[80];

	for (int r = 0; r < ROUNDS; r++)
		if ((rc = run_raw(b, z->single, 1, &raw1[r])) || (rc = run_huiji(b, z->single, 1, &hj1[r])) ||
		    (rc = run_raw(b, nbatch, BATCH_OPS, &rawn[r])) ||
		    (rc = run_huiji(b, nbatch, BATCH_OPS, &hjn[r])))
			return rc;
	printf("\n1. ops committed per second (member.apply of a fake person; WAL, synchronous=FULL)\n");
	print_cols("ops/s");
	print_row("raw sqlite INSERT, 1 row per txn", z->single, raw1, "(baseline)");
	snprintf(r1, sizeof r1, "%.2fx raw sqlite single", paired_ratio(hj1, raw1));
	print_row("huiji, 1 op per change set", z->single, hj1, r1);
	print_row("raw sqlite INSERT, 1000 rows per txn", nbatch, rawn, "(baseline)");
	snprintf(r2, sizeof r2, "%.2fx huiji single", paired_ratio(hjn, hj1));
	print_row("huiji, 1000 ops per change set", nbatch, hjn, r2);
	print_ratio("  huiji batched vs raw batched", paired_ratio(hjn, rawn), "raw sqlite batched");
	return 0;
}

/* ---- 2. envelope sign/verify per second --------------------------------- */

enum { CK_SIGN, CK_VERIFY, CK_DEFLATE, CK_ENCODE, CK_EVERIFY, CK_EDECODE, CK_N };

typedef struct crypto_fx {
	const uint8_t *payload; /* one member.apply payload {"v":1,"ops":[op]} */
	size_t len;
	const uint8_t *pk, *sk;
	uint8_t sig[64];  /* raw signature over payload */
	hj_buf env;       /* its envelope, for verify/decode */
	hj_buf scratch;   /* encode output */
	z_stream z;       /* reused, as envelope.c does */
	int z_ready;
	uint8_t *zout;
	size_t zcap;
} crypto_fx;

/* `iters` of one kind; *rate = iterations per second. */
static int crypto_run(crypto_fx *f, int kind, int iters, double *rate)
{
	hj_envelope e;
	int rc = 0;
	double t0 = now_s();
	for (int i = 0; i < iters && !rc; i++) {
		switch (kind) {
		case CK_SIGN:
			rc = crypto_sign_detached(f->sig, NULL, f->payload, f->len, f->sk);
			break;
		case CK_VERIFY:
			rc = crypto_sign_verify_detached(f->sig, f->payload, f->len, f->pk);
			break;
		case CK_DEFLATE:
			f->z.next_in = (Bytef *)(uintptr_t)f->payload;
			f->z.avail_in = (uInt)f->len;
			f->z.next_out = f->zout;
			f->z.avail_out = (uInt)f->zcap;
			rc = deflate(&f->z, Z_FINISH) == Z_STREAM_END ? deflateReset(&f->z) : -1;
			break;
		case CK_ENCODE:
			hj_buf_reset(&f->scratch);
			rc = hj_envelope_encode(&f->scratch, BENCH_NODE, 1, (const uint8_t[32]){0}, 0, f->payload,
						f->len, f->pk, f->sk);
			break;
		case CK_EVERIFY:
			rc = hj_envelope_verify(f->env.data, f->env.len, f->pk);
			break;
		case CK_EDECODE:
			if (!(rc = hj_envelope_verify(f->env.data, f->env.len, f->pk)) &&
			    !(rc = hj_envelope_decode(&e, f->env.data, f->env.len)))
				hj_envelope_free(&e);
			break;
		}
	}
	*rate = iters / (now_s() - t0);
	return rc ? hj_error_set(HJ_ERROR, "crypto loop %d failed: %s", kind, hj_error_last()) : 0;
}

static int crypto_fx_init(crypto_fx *f, bench *b, hj_buf *payload)
{
	hj_json *ops = hj_json_new(HJ_JARR), *op[1];
	int rc = ops ? ops_build(b, op, 1) : hj_error_set(HJ_ENOMEM, "out of memory");
	if (rc || (rc = hj_json_append(ops, op[0])) || (rc = hj_payload_encode(payload, ops))) {
		hj_json_free(ops);
		return rc;
	}
	hj_json_free(ops);
	f->payload = payload->data;
	f->len = payload->len;
	f->pk = b->node->pk;
	f->sk = b->node->sk;
	if (deflateInit(&f->z, 6) != Z_OK)
		return hj_error_set(HJ_ENOMEM, "deflateInit failed");
	f->z_ready = 1;
	f->zcap = deflateBound(&f->z, (uLong)f->len);
	if (!(f->zout = malloc(f->zcap)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	if (crypto_sign_detached(f->sig, NULL, f->payload, f->len, f->sk))
		return hj_error_set(HJ_ERROR, "crypto_sign_detached failed");
	return hj_envelope_encode(&f->env, BENCH_NODE, 1, (const uint8_t[32]){0}, 0, f->payload, f->len, f->pk,
				  f->sk);
}

static void crypto_fx_free(crypto_fx *f)
{
	if (f->z_ready)
		deflateEnd(&f->z);
	free(f->zout);
	hj_buf_free(&f->env);
	hj_buf_free(&f->scratch);
}

static int bench_crypto(bench *b, const sizes *z)
{
	static const int order[CK_N] = {CK_SIGN, CK_ENCODE, CK_VERIFY, CK_EVERIFY, CK_EDECODE, CK_DEFLATE};
	double rate[CK_N][ROUNDS];
	crypto_fx f = {0};
	hj_buf payload = HJ_BUF_INIT;
	char r[80];
	int rc = crypto_fx_init(&f, b, &payload);

	for (int i = 0; !rc && i < ROUNDS; i++)
		for (int k = 0; !rc && k < CK_N; k++)
			rc = crypto_run(&f, order[k], z->crypto, &rate[order[k]][i]);
	if (rc)
		goto done;
	printf("\n2. change-set envelopes per second (1 member.apply: payload %zu B, envelope %zu B)\n",
	       payload.len, f.env.len);
	print_cols("per s");
	print_row("raw crypto_sign_detached (payload bytes)", z->crypto, rate[CK_SIGN], "(baseline)");
	snprintf(r, sizeof r, "%.2fx raw sign", paired_ratio(rate[CK_ENCODE], rate[CK_SIGN]));
	print_row("hj_envelope_encode (deflate+sign+check)", z->crypto, rate[CK_ENCODE], r);
	print_row("raw crypto_sign_verify_detached", z->crypto, rate[CK_VERIFY], "(baseline)");
	snprintf(r, sizeof r, "%.2fx raw verify", paired_ratio(rate[CK_EVERIFY], rate[CK_VERIFY]));
	print_row("hj_envelope_verify", z->crypto, rate[CK_EVERIFY], r);
	snprintf(r, sizeof r, "%.2fx raw verify", paired_ratio(rate[CK_EDECODE], rate[CK_VERIFY]));
	print_row("hj_envelope_verify + decode (inflate)", z->crypto, rate[CK_EDECODE], r);
	print_row("raw deflate level 6, reused z_stream", z->crypto, rate[CK_DEFLATE], "(for reference)");
	/* The encoder deflates, signs, then verifies its own signature: what the
	 * raw parts predict for that, so a ratio far from 1 can be read. */
	double pred[ROUNDS];
	for (int i = 0; i < ROUNDS; i++)
		pred[i] = 1.0 / (1.0 / rate[CK_SIGN][i] + 1.0 / rate[CK_VERIFY][i] + 1.0 / rate[CK_DEFLATE][i]);
	print_ratio("  encode vs deflate+sign+verify of raw parts", paired_ratio(rate[CK_ENCODE], pred),
		    "(1.00 = no overhead beyond the parts)");
done:
	crypto_fx_free(&f);
	hj_buf_free(&payload);
	return rc;
}

/* ---- 3. bytes per op ---------------------------------------------------- */

static int bench_bytes(bench *b)
{
	static const int counts[] = {1, 100, BATCH_OPS};
	int rc = 0;
	printf("\n3. bytes per op (member.apply), before and after compression\n");
	printf("  %-16s %16s %16s %18s\n", "change set", "payload JSON B/op", "envelope B/op", "envelope/payload");
	for (size_t c = 0; !rc && c < sizeof counts / sizeof counts[0]; c++) {
		int n = counts[c];
		hj_json *arr = hj_json_new(HJ_JARR), **ops = calloc((size_t)n, sizeof *ops);
		hj_buf payload = HJ_BUF_INIT, env = HJ_BUF_INIT;
		rc = arr && ops ? ops_build(b, ops, n) : hj_error_set(HJ_ENOMEM, "out of memory");
		for (int i = 0; !rc && i < n; i++)
			if ((rc = hj_json_append(arr, ops[i])))
				ops_free(ops, i + 1, n);
		if (!rc && !(rc = hj_payload_encode(&payload, arr)))
			rc = hj_envelope_encode(&env, BENCH_NODE, 1, (const uint8_t[32]){0}, 0, payload.data,
						payload.len, b->node->pk, b->node->sk);
		if (!rc) {
			char label[32];
			snprintf(label, sizeof label, "%d op%s", n, n == 1 ? "" : "s");
			printf("  %-16s %16.1f %16.1f %17.2fx\n", label, (double)payload.len / n, (double)env.len / n,
			       (double)env.len / (double)payload.len);
		}
		hj_json_free(arr);
		free(ops);
		hj_buf_free(&payload);
		hj_buf_free(&env);
	}
	return rc;
}

/* ---- 4-6. replication: push to the hub, sequencing, audit ---------------- */

/*
 * A hub and a county made as `huiji hub init` / `huiji init --hub` make
 * them (hj_node_create, root bootstrap, hub.git configured and hooked like
 * hj_hub_repo_setup; the hub creates the county union and
 * enrols the county), the county follows the hub once, then commits
 * `n` change sets of one member.apply each (hj_batch_*, untimed). These are
 * templates: every measured phase starts from a fresh copy of them.
 *
 * Every measured phase runs in a child process (fork + exec of this binary
 * with --phase, or of git), timed from fork to reaping; its peak memory is
 * the ru_maxrss wait4 reports for it, which on Linux is the largest of the
 * child and every descendant it reaped (libgit2's transport child, git's
 * receive-pack / pack-objects). An exec'd child inherits none of the
 * parent's memory, so huiji and git are measured the same way.
 */

#define SYNC_ROUNDS 3
#define SYNC_HUB "bench-hub"
#define SYNC_NODE "bench-cz"
#define PROC_TIMEOUT_S 600 /* any one child; a stuck one is killed with its process group */

typedef struct sync_sizes {
	int n;      /* change sets the county pushes */
	int rounds; /* of the heavy phases */
} sync_sizes;

static const sync_sizes sync_default = {10000, SYNC_ROUNDS};
static const sync_sizes sync_quick = {1000, 1};

typedef struct proc_res {
	double secs;   /* wall clock, fork to reaped */
	double mib;    /* ru_maxrss of it and its reaped descendants */
	char out[8192]; /* the start of its stdout + stderr */
	size_t outlen;
} proc_res;

enum {
	M_STOCK_FILE, M_RAW_FILE, M_PUSH_FILE, M_SYNC_FILE, /* local path */
	M_STOCK_NET, M_RAW_NET, M_PUSH_NET, M_SYNC_NET,     /* git daemon */
	M_VERIFY, M_SEQ, M_AUDIT,                /* rates */
	M_FOLLOW, M_SYNC1, M_SEQ1, M_WALK, M_DIGEST, /* steady state */
	M_N
};

typedef struct syncb {
	bench *b;
	const sync_sizes *z;
	char self[PATH_MAX];  /* this binary, for --phase */
	char huiji[PATH_MAX]; /* the huiji binary for the hub's hook; "" if not found */
	char root[PATH_MAX], hub_tmpl[PATH_MAX], county_tmpl[PATH_MAX], hub[PATH_MAX], county[PATH_MAX];
	char hub_git[PATH_MAX], county_git[PATH_MAX], stock[PATH_MAX], audit_work[PATH_MAX], log[PATH_MAX];
	char feed_ref[160];
	int have_git;
	pid_t daemon; /* git daemon (its own process group), 0 if not running */
	int port;
	char net_hub[128], net_stock[128];
	uint8_t county_pk[32];
	uint8_t **env; /* the county's change sets as stored, for the raw verify baseline */
	size_t *envlen;
	size_t nenv;
	double v[M_N][ROUNDS_MAX];   /* seconds, or a rate for M_VERIFY/M_SEQ/M_AUDIT */
	double mib[M_N][ROUNDS_MAX]; /* peak RSS, 0 = not measured */
	double ops[M_N][ROUNDS_MAX]; /* ops per second where it differs from change sets */
	int done[M_N];               /* rounds measured */
} syncb;

static int path_join2(char *out, const char *dir, const char *name)
{
	int k = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return k > 0 && k < PATH_MAX ? 0 : hj_error_set(HJ_EINVALID, "path too long: %s/%s", dir, name);
}

/* Run argv (argv[0] looked up on PATH) in its own process group: stdin
 * /dev/null, stdout and stderr captured, at most timeout_s (then the
 * whole group is killed). 0 if it exited with status 0. Called in the
 * spawner (below), so that the child's ru_maxrss is its own. */
static int run_proc_local(char *const argv[], int timeout_s, proc_res *r)
{
	int p[2], status = 0, killed = 0;
	struct rusage ru;
	memset(r, 0, sizeof *r);
	memset(&ru, 0, sizeof ru);
	if (pipe(p) != 0)
		return hj_error_set(HJ_ERROR, "pipe: %s", strerror(errno));
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	fflush(NULL);
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return hj_error_set(HJ_ERROR, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int dn = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
		if (dn < 0 || dup2(dn, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(p[1]);
	double deadline = t0 + timeout_s;
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0) {
			kill(-pid, SIGKILL);
			killed = 1;
			break;
		}
		struct pollfd pf = {p[0], POLLIN, 0};
		int k = poll(&pf, 1, (int)(left * 1000) + 1);
		if (k <= 0)
			continue; /* EINTR or the deadline: checked above */
		char buf[4096];
		ssize_t got = read(p[0], buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t room = sizeof r->out - 1 - r->outlen, take = (size_t)got < room ? (size_t)got : room;
		memcpy(r->out + r->outlen, buf, take);
		r->outlen += take;
		r->out[r->outlen] = '\0';
	}
	close(p[0]);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	r->secs = now_s() - t0;
	r->mib = (double)ru.ru_maxrss / 1024.0;
	if (killed)
		return hj_error_set(HJ_ERROR, "%s %s: still running after %d s, killed", argv[0], argv[1] ? argv[1] : "",
				    timeout_s);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hj_error_set(HJ_ERROR, "%s %s %s failed (%s %d): %s", argv[0], argv[1] ? argv[1] : "",
				    argv[1] && argv[2] ? argv[2] : "", WIFEXITED(status) ? "exit" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), r->out);
	return 0;
}

/*
 * The spawner: a process forked first thing in main, while this program is
 * still small, that runs every child (fork + exec + wait4) and reports back.
 * Why: Linux folds the pre-exec memory's high-water mark into ru_maxrss at
 * exec, and a forked child starts with its parent's pages mapped, so a child
 * forked from the bench after it has built a 10,000-change-set county would
 * report at least the bench's own size. Forked from the spawner (a few
 * hundred KiB of private memory) a child's peak is its own, give or take
 * that.
 * Request: u32 timeout_s, u32 len, len bytes of NUL-terminated argv strings.
 * Reply: i32 rc, f64 secs, f64 mib, u32 n + n bytes of error message,
 * u32 n + n bytes of captured output.
 */
static struct {
	pid_t pid;
	int req, res; /* our ends */
} spawner = {0, -1, -1};

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t got = read(fd, b, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		b += got;
		n -= (size_t)got;
	}
	return 0;
}

static void spawner_main(int req, int res)
{
	static proc_res r;
	for (;;) {
		uint32_t hdr[2], n;
		char *argv[32], *buf;
		int argc = 0;
		if (read_all(req, hdr, sizeof hdr) || !(buf = malloc((size_t)hdr[1] + 1)) ||
		    read_all(req, buf, hdr[1]))
			_exit(0); /* the bench is gone or done */
		buf[hdr[1]] = '\0';
		for (char *q = buf; q < buf + hdr[1] && argc < 31; q += strlen(q) + 1)
			argv[argc++] = q;
		argv[argc] = NULL;
		int32_t rc = argc ? run_proc_local(argv, (int)hdr[0], &r)
				  : hj_error_set(HJ_EINVALID, "spawner: empty command");
		const char *msg = rc ? hj_error_last() : "";
		double d[2] = {r.secs, r.mib};
		n = (uint32_t)strlen(msg);
		uint32_t outlen = (uint32_t)r.outlen;
		if (write_all(res, &rc, sizeof rc) || write_all(res, d, sizeof d) || write_all(res, &n, sizeof n) ||
		    write_all(res, msg, n) || write_all(res, &outlen, sizeof outlen) || write_all(res, r.out, outlen))
			_exit(0);
		free(buf);
	}
}

static int spawner_start(void)
{
	int a[2], b[2];
	if (pipe(a) != 0 || pipe(b) != 0)
		return hj_error_set(HJ_ERROR, "pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(a[i], F_SETFD, FD_CLOEXEC);
		fcntl(b[i], F_SETFD, FD_CLOEXEC);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return hj_error_set(HJ_ERROR, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		spawner_main(a[0], b[1]);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	spawner.pid = pid;
	spawner.req = a[1];
	spawner.res = b[0];
	return 0;
}

static void spawner_stop(void)
{
	int status;
	if (!spawner.pid)
		return;
	close(spawner.req); /* it exits at EOF */
	close(spawner.res);
	for (int i = 0; i < 100 && waitpid(spawner.pid, &status, WNOHANG) == 0; i++) /* 2 s */
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	if (waitpid(spawner.pid, &status, WNOHANG) == 0) {
		kill(spawner.pid, SIGKILL);
		waitpid(spawner.pid, &status, 0);
	}
	spawner.pid = 0;
}

/* run_proc_local in the spawner (or here when there is none). */
static int run_proc(char *const argv[], int timeout_s, proc_res *r)
{
	hj_buf req = HJ_BUF_INIT;
	uint32_t hdr[2] = {(uint32_t)timeout_s, 0}, n;
	int32_t rc;
	double d[2];
	char msg[2048];
	if (!spawner.pid)
		return run_proc_local(argv, timeout_s, r);
	memset(r, 0, sizeof *r);
	for (int i = 0; argv[i]; i++)
		hj_buf_put(&req, argv[i], strlen(argv[i]) + 1);
	hdr[1] = (uint32_t)req.len;
	int bad = req.rc || write_all(spawner.req, hdr, sizeof hdr) || write_all(spawner.req, req.data, req.len);
	hj_buf_free(&req);
	/* The spawner bounds the child's time itself; a reply always follows. */
	if (bad || read_all(spawner.res, &rc, sizeof rc) || read_all(spawner.res, d, sizeof d) ||
	    read_all(spawner.res, &n, sizeof n) || n >= sizeof msg || read_all(spawner.res, msg, n))
		return hj_error_set(HJ_ERROR, "the spawner process is gone");
	msg[n] = '\0';
	if (read_all(spawner.res, &n, sizeof n) || n >= sizeof r->out || read_all(spawner.res, r->out, n))
		return hj_error_set(HJ_ERROR, "the spawner process is gone");
	r->outlen = n;
	r->out[n] = '\0';
	r->secs = d[0];
	r->mib = d[1];
	return rc ? hj_error_set(rc, "%s", msg) : 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* `to` becomes a copy of `from` (untimed set-up of a phase). */
static int copy_tree(const char *from, const char *to)
{
	proc_res r;
	char *argv[] = {"cp", "-a", (char *)from, (char *)to, NULL};
	rm_rf(to);
	return run_proc(argv, 120, &r);
}

/* A new empty bare repository for stock git to push into. */
static int fresh_bare(const char *path)
{
	proc_res r;
	char *argv[] = {"git", "init", "--bare", "-q", (char *)path, NULL};
	rm_rf(path);
	return run_proc(argv, 60, &r);
}

/* Run `huiji-bench --phase what a1 a2 a3` and parse the numbers after "ok". */
static int run_phase(syncb *s, proc_res *r, uint64_t out[8], const char *what, const char *a1, const char *a2,
		     const char *a3)
{
	char *argv[] = {s->self, "--phase", (char *)what, (char *)a1, (char *)a2, (char *)a3, NULL};
	int rc = run_proc(argv, PROC_TIMEOUT_S, r);
	if (rc)
		return rc;
	const char *ok = r->out;
	while (ok && strncmp(ok, "ok", 2) != 0)
		if ((ok = strchr(ok, '\n')))
			ok++;
	if (!ok)
		return hj_error_set(HJ_ERROR, "--phase %s: no result: %s", what, r->out);
	char *p = (char *)ok + 2;
	for (int i = 0; i < 8; i++)
		out[i] = strtoull(p, &p, 10);
	return 0;
}

/* ---- the child side: one phase, result on stdout ---- */

static int raw_push_status(const char *refname, const char *status, void *payload)
{
	(void)refname;
	if (status)
		*(int *)payload = 1;
	return 0;
}

/* libgit2's own push with what hj_gitrepo_open sets (fsync on, no owner
 * check), without huiji's watchdog child and heartbeat pipe. */
static int raw_libgit2_push(const char *path, const char *ref, const char *url)
{
	git_repository *repo = NULL;
	git_remote *rem = NULL;
	git_push_options po;
	char spec[600], *sp = spec;
	git_strarray specs = {&sp, 1};
	int rejected = 0, rc = 0;
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	snprintf(spec, sizeof spec, "%s:%s", ref, ref);
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	po.callbacks.push_update_reference = raw_push_status;
	po.callbacks.payload = &rejected;
	if (git_repository_open(&repo, path) < 0 || git_remote_create_anonymous(&rem, repo, url) < 0 ||
	    git_remote_push(rem, &specs, &po) < 0)
		rc = hj_error_set(HJ_ERROR, "libgit2 push: %s", hj_git_message());
	else if (rejected)
		rc = hj_error_set(HJ_ECONFLICT, "libgit2 push: %s rejected", ref);
	git_remote_free(rem);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

static int phase_main(int argc, char **argv)
{
	const char *what = argc > 0 ? argv[0] : "";
	int rc;
	if (sodium_init() < 0)
		return 2;
	if (strcmp(what, "rawpush") == 0 && argc == 4) { /* repo ref url */
		/* libgit2 1.5.1 leaks pcre2 match data in
		 * git_remote_create_anonymous (libgit2 PR #6382, fixed later):
		 * leave with _exit, as transport.c's child does, so a
		 * LeakSanitizer build does not fail the phase at exit. */
		if (!(rc = raw_libgit2_push(argv[1], argv[2], argv[3])))
			printf("ok\n");
		else
			fprintf(stderr, "huiji-bench --phase rawpush: %s\n", hj_error_last());
		fflush(NULL);
		_exit(rc ? 1 : 0);
	} else if (strcmp(what, "push") == 0 && argc == 4) { /* repo ref url */
		hj_gitrepo *r = NULL;
		if (!(rc = hj_gitrepo_open(&r, argv[1], 0)))
			rc = hj_transport_push(r, argv[3], argv[2], argv[2], NULL);
		hj_gitrepo_close(r);
		if (!rc)
			printf("ok\n");
	} else if (strcmp(what, "sync") == 0 && argc == 2) { /* county dir */
		hj_node *n = NULL;
		hj_sync_opts o;
		hj_sync_report rep;
		hj_sync_opts_default(&o);
		if (!(rc = hj_node_open(&n, argv[1])) && !(rc = hj_sync(n, &o, &rep)))
			printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d %d\n", rep.pushed, rep.entries,
			       rep.pending, rep.rejected, rep.attempts, rep.rebuilt);
		hj_node_close(n);
	} else if (strcmp(what, "sequence") == 0 && argc == 2) { /* hub dir */
		hj_node *hub = NULL;
		hj_gitrepo *repo = NULL;
		hj_seq_report rep;
		if (!(rc = hj_node_open(&hub, argv[1])) && !(rc = hj_node_repo_open(&repo, hub)) &&
		    !(rc = hj_hub_sequence(hub, repo, &rep)))
			printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", rep.entries,
			       rep.change_sets, rep.ops, rep.rejected, rep.quarantined, rep.waiting);
		hj_gitrepo_close(repo);
		hj_node_close(hub);
	} else if (strcmp(what, "audit") == 0 && argc == 3) { /* url workdir */
		hj_audit_report rep;
		if (!(rc = hj_audit(&rep, argv[1], NULL, argv[2], NULL))) {
			printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %zu\n", rep.change_sets,
			       rep.ops, rep.verdicts, rep.digests, rep.hub_entries, rep.nproblems);
			for (size_t i = 0; i < rep.nproblems && i < 5; i++)
				printf("problem: %s\n", rep.problems[i]);
		}
		hj_audit_report_free(&rep);
	} else {
		fprintf(stderr, "huiji-bench: --phase rawpush|push REPO REF URL | sync COUNTY | sequence HUB | "
				"audit URL WORKDIR\n");
		return 2;
	}
	hj_envelope_thread_cleanup();
	if (rc) {
		fprintf(stderr, "huiji-bench --phase %s: %s\n", what, hj_error_last());
		return 1;
	}
	return 0;
}

/* ---- git daemon on loopback ---- */

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int can_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void daemon_stop(syncb *s)
{
	int status;
	if (!s->daemon)
		return;
	kill(-s->daemon, SIGTERM);
	for (int i = 0; i < 150; i++) { /* 3 s */
		if (waitpid(s->daemon, &status, WNOHANG) == s->daemon) {
			kill(-s->daemon, SIGKILL); /* connection children, if any */
			s->daemon = 0;
			return;
		}
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	}
	kill(-s->daemon, SIGKILL);
	while (waitpid(s->daemon, &status, 0) < 0 && errno == EINTR)
		;
	s->daemon = 0;
}

/* git daemon on 127.0.0.1 serving s->root with receive-pack on; 0 when it
 * accepts connections within 5 s, else not running. */
static int daemon_start(syncb *s)
{
	char portarg[32], basearg[PATH_MAX + 16];
	int status;
	if ((s->port = free_port()) <= 0)
		return hj_error_set(HJ_ENET, "no free port on 127.0.0.1");
	snprintf(portarg, sizeof portarg, "--port=%d", s->port);
	snprintf(basearg, sizeof basearg, "--base-path=%s", s->root);
	char *argv[] = {"git", "daemon", "--reuseaddr", "--listen=127.0.0.1", portarg, basearg, "--export-all",
			"--enable=receive-pack", "--informative-errors", NULL};
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return hj_error_set(HJ_ERROR, "fork: %s", strerror(errno));
	if (pid == 0) {
		int dn = open("/dev/null", O_RDONLY), lg = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		setpgid(0, 0);
		if (dn < 0 || lg < 0 || dup2(dn, 0) < 0 || dup2(lg, 1) < 0 || dup2(lg, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	s->daemon = pid;
	for (int i = 0; i < 250; i++) { /* 5 s */
		if (waitpid(pid, &status, WNOHANG) == pid) {
			s->daemon = 0;
			return hj_error_set(HJ_ENET, "git daemon exited at start (see %s)", s->log);
		}
		if (can_connect(s->port)) {
			snprintf(s->net_hub, sizeof s->net_hub, "git://127.0.0.1:%d/hub/hub.git", s->port);
			snprintf(s->net_stock, sizeof s->net_stock, "git://127.0.0.1:%d/stock.git", s->port);
			return 0;
		}
		nanosleep(&(struct timespec){0, 20000000L}, NULL);
	}
	daemon_stop(s);
	return hj_error_set(HJ_ENET, "git daemon did not listen within 5 s");
}

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
		if ((rc = ops_build(b, ops, k)))
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
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (len <= 64 || !(s->env[s->nenv] = malloc(len))) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			break;
		}
		memcpy(s->env[s->nenv], sqlite3_column_blob(st, 0), len);
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
	char hubkey[65], pkfile[PATH_MAX];
	int rc;

	hj_node_init_opts ho = {.dir = s->hub_tmpl, .node = SYNC_HUB, .union_id = BENCH_ROOT_UNION, .is_root = 1};
	if ((rc = hj_node_create(&hub, &ho)) || (rc = root_bootstrap(hub)) || (rc = hub_repo_setup(s, hub)) ||
	    (rc = path_join2(pkfile, s->hub_tmpl, "person.key")))
		goto done;
	hj_hex_encode(hubkey, hub->pk, 32);
	hj_node_init_opts co = {.dir = s->county_tmpl, .node = SYNC_NODE, .union_id = BENCH_COUNTY,
				.hub_url = s->hub_git, .hub_key = hubkey, .person_key_file = pkfile};
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
static int sync_round(syncb *s, int r, int net)
{
	proc_res pr;
	uint64_t o[8];
	uint64_t n = (uint64_t)s->z->n;
	char spec[400];
	double rate;
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

	/* The hub now holds the county's feed: sequence it, audit it. */
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

	/* Steady state: the county follows the hub's verdicts on its n change
	 * sets; then one more change set goes the whole way. */
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
	snprintf(label, sizeof label, "huiji hj_sync (chunks of 500), local path");
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
		    "(ls, 500-change-set chunks, fetch, follow)");
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

static int bench_sync(bench *b, const sync_sizes *z)
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

/* ---- main --------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void usage(void)
{
	printf("usage: huiji-bench [--quick] [--sync | --no-sync] [--changesets N] [--dir PARENT] [--keep]\n"
	       "  --quick        small counts for CI smoke runs (whole run < 20 s)\n"
	       "  --sync         only the replication figures (sections 4-6: push, hub, audit)\n"
	       "  --no-sync      only the local figures (sections 1-3)\n"
	       "  --changesets N change sets the county pushes in 4-6 (default 10000, quick 1000)\n"
	       "  --dir PARENT   make the scratch node directory under PARENT (default $TMPDIR or /tmp);\n"
	       "                 put it on the disk you care about: single-op commits are fsync-bound\n"
	       "  --keep         leave the scratch directory in place (to re-run a phase under a profiler)\n"
	       "(--phase ... is internal: one measured replication phase in a child process)\n");
}

int main(int argc, char **argv)
{
	const sizes *z = &sizes_default;
	const sync_sizes *sz = &sync_default;
	const char *parent = getenv("TMPDIR");
	bench b = {0};
	char tmpl[4096];
	int rc = 0, local = 1, repl = 1, keep = 0, nsets = 0;
	sync_sizes custom;

	if (argc > 1 && strcmp(argv[1], "--phase") == 0)
		return phase_main(argc - 2, argv + 2);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			z = &sizes_quick;
			sz = &sync_quick;
		} else if (strcmp(argv[i], "--sync") == 0) {
			local = 0;
			repl = 1;
		} else if (strcmp(argv[i], "--no-sync") == 0) {
			repl = 0;
			local = 1;
		} else if (strcmp(argv[i], "--keep") == 0) {
			keep = 1;
		} else if (strcmp(argv[i], "--changesets") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 10000000) {
				fprintf(stderr, "huiji-bench: --changesets takes 1..10000000\n");
				return 2;
			}
			nsets = (int)v;
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			parent = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
			return 0;
		} else {
			fprintf(stderr, "huiji-bench: unknown argument %s\n", argv[i]);
			usage();
			return 2;
		}
	}
	if (!parent || !*parent)
		parent = "/tmp";
	if (nsets) {
		custom = *sz;
		custom.n = nsets;
		sz = &custom;
	}
	/* While this process is still small: see spawner_main. */
	if (repl && spawner_start() != 0) {
		fprintf(stderr, "huiji-bench: %s\n", hj_error_last());
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "huiji-bench: libsodium failed to initialise\n");
		spawner_stop();
		return 2;
	}
	double t0 = now_s();
	snprintf(tmpl, sizeof tmpl, "%s/huiji-bench.XXXXXX", parent);
	if (!(b.dir = mkdtemp(tmpl))) {
		fprintf(stderr, "huiji-bench: cannot make a directory under %s\n", parent);
		spawner_stop();
		return 2;
	}
	int lg[3];
	git_libgit2_version(&lg[0], &lg[1], &lg[2]);
	printf("huiji-bench: %s sizes, %d rounds each (replication: %d); figures are medians, min..max across\n"
	       "rounds; ratios are medians of per-round ratios (both sides measured back to back)\n",
	       z == &sizes_quick ? "quick" : "default", ROUNDS, sz->rounds);
	printf("scratch dir %s (%s); sqlite %s, libsodium %s, zlib %s, libgit2 %d.%d.%d\n", b.dir, fs_name(b.dir),
	       sqlite3_libversion(), sodium_version_string(), zlibVersion(), lg[0], lg[1], lg[2]);
	if (local && !(rc = node_setup(&b)) && !(rc = raw_setup(&b)) && !(rc = bench_commits(&b, z)) &&
	    !(rc = bench_crypto(&b, z)))
		rc = bench_bytes(&b);
	if (!rc && repl)
		rc = bench_sync(&b, sz);
	spawner_stop();

	sqlite3_finalize(b.raw_ins);
	sqlite3_close(b.raw);
	hj_node_close(b.node);
	hj_envelope_thread_cleanup();
	if (keep)
		printf("scratch dir kept: %s\n", b.dir);
	else
		nftw(b.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (rc) {
		fprintf(stderr, "huiji-bench: %s\n", hj_error_last());
		return 1;
	}
	printf("\nwhole run %.1f s (%" PRIu64 " fake people)\nbench: done\n", now_s() - t0, b.next);
	return 0;
}
