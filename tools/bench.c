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
 *
 * Why: the machines huiji runs and is built on are small and shared, so an
 * absolute rate means little on its own. Every figure is the median of
 * ROUNDS rounds, the rounds interleave huiji and its baseline, and each ratio
 * is the median of the per-round ratios, so noise that hits one round hits
 * both sides of the ratio. Fake people only: ID numbers come from
 * hj_idnum_make and never describe a real person.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "batch.h"
#include "buf.h"
#include "envelope.h"
#include "error.h"
#include "fold.h"
#include "idnum.h"
#include "json.h"
#include "node.h"

#include <sodium.h>
#include <sqlite3.h>
#include <zlib.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>

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

static double median(const double v[ROUNDS])
{
	double s[ROUNDS];
	memcpy(s, v, sizeof s);
	qsort(s, ROUNDS, sizeof s[0], cmp_double);
	return s[ROUNDS / 2];
}

static double vmin(const double v[ROUNDS])
{
	double m = v[0];
	for (int i = 1; i < ROUNDS; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax(const double v[ROUNDS])
{
	double m = v[0];
	for (int i = 1; i < ROUNDS; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Median over rounds of a[r] / b[r]: the two were measured side by side. */
static double paired_ratio(const double a[ROUNDS], const double b[ROUNDS])
{
	double r[ROUNDS];
	for (int i = 0; i < ROUNDS; i++)
		r[i] = b[i] > 0 ? a[i] / b[i] : 0;
	return median(r);
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
	hj_node_person_key(b->node, p->idno, p->key);
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

/* The root bootstrap of tools/cmd_init.c, then a county union below it. */
static int node_setup(bench *b)
{
	hj_node_init_opts o = {.dir = b->dir, .node = BENCH_NODE, .union_id = BENCH_ROOT_UNION, .is_root = 1};
	char pkhex[65];
	int rc = hj_node_create(&b->node, &o);
	if (rc)
		return rc;
	hj_hex_encode(pkhex, b->node->pk, 32);
	hj_json *boot[2] = {op_new("org.create"), op_new("node.enroll")};
	hj_json *county[1] = {op_new("org.create")};
	if (!boot[0] || !boot[1] || !county[0] || hj_json_set_str(boot[0], "id", BENCH_ROOT_UNION) ||
	    hj_json_set_str(boot[0], "name", "测试省总工会") || hj_json_set_str(boot[0], "kind", "province") ||
	    hj_json_set_str(boot[0], "region", "63") || hj_json_set_str(boot[1], "node", BENCH_NODE) ||
	    hj_json_set_str(boot[1], "pubkey", pkhex) || hj_json_set_str(boot[1], "union", BENCH_ROOT_UNION) ||
	    hj_json_set_str(boot[1], "role", "hub") || hj_json_set_str(county[0], "id", BENCH_COUNTY) ||
	    hj_json_set_str(county[0], "name", "测试县总工会") || hj_json_set_str(county[0], "kind", "county") ||
	    hj_json_set_str(county[0], "parent", BENCH_ROOT_UNION) ||
	    hj_json_set_str(county[0], "region", BENCH_REGION)) {
		ops_free(boot, 0, 2);
		ops_free(county, 0, 1);
		return hj_error_set(HJ_ENOMEM, "out of memory");
	}
	if ((rc = commit_ops(b->node, boot, 2))) {
		ops_free(county, 0, 1);
		return rc;
	}
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
	printf("usage: huiji-bench [--quick] [--dir PARENT]\n"
	       "  --quick        small counts for CI smoke runs (whole run < 10 s)\n"
	       "  --dir PARENT   make the scratch node directory under PARENT (default $TMPDIR or /tmp);\n"
	       "                 put it on the disk you care about: single-op commits are fsync-bound\n");
}

int main(int argc, char **argv)
{
	const sizes *z = &sizes_default;
	const char *parent = getenv("TMPDIR");
	bench b = {0};
	char tmpl[4096];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			z = &sizes_quick;
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
	if (sodium_init() < 0) {
		fprintf(stderr, "huiji-bench: libsodium failed to initialise\n");
		return 2;
	}
	double t0 = now_s();
	snprintf(tmpl, sizeof tmpl, "%s/huiji-bench.XXXXXX", parent);
	if (!(b.dir = mkdtemp(tmpl))) {
		fprintf(stderr, "huiji-bench: cannot make a directory under %s\n", parent);
		return 2;
	}
	printf("huiji-bench: %s sizes, %d rounds each; figures are medians, min..max across rounds;\n"
	       "ratios are medians of per-round ratios (both sides measured back to back)\n",
	       z == &sizes_quick ? "quick" : "default", ROUNDS);
	printf("scratch dir %s (%s); sqlite %s, libsodium %s, zlib %s\n", b.dir, fs_name(b.dir),
	       sqlite3_libversion(), sodium_version_string(), zlibVersion());
	if (!(rc = node_setup(&b)) && !(rc = raw_setup(&b)) && !(rc = bench_commits(&b, z)) &&
	    !(rc = bench_crypto(&b, z)))
		rc = bench_bytes(&b);

	sqlite3_finalize(b.raw_ins);
	sqlite3_close(b.raw);
	hj_node_close(b.node);
	hj_envelope_thread_cleanup();
	nftw(b.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (rc) {
		fprintf(stderr, "huiji-bench: %s\n", hj_error_last());
		return 1;
	}
	printf("\nwhole run %.1f s (%" PRIu64 " fake people)\nbench: done\n", now_s() - t0, b.next);
	return 0;
}
