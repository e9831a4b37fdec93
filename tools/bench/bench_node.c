/*
 * bench_node.c — fake people and ops, the scratch node and the raw SQLite
 * baseline; section 1 (ops committed per second) and section 3 (bytes per
 * op).
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "bench.h"
#include "person_key.h"

/* ---- fake people and ops ------------------------------------------------ */

/* The next fake person: a distinct valid ID number (birth date and order
 * code from the counter; all adults on BENCH_ON), a mobile number, a plate. */
int fake_next(bench *b, fake *p)
{
	static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "马", "韩"};
	static const char *const given[] = {"建国", "秀英", "海军", "玉兰", "德明", "桂花", "志强", "春梅"};
	uint64_t i = b->next++;
	int y, m, d;
	hj_date_from_days((int64_t)((i / 1000) % 10000), &y, &m, &d); /* born 1970..1997 */
	int rc = hj_idnum_make(p->idno, BENCH_REGION, y, m, d, (int)(i % 1000));
	if (rc)
		return rc;
	/* A county holds no person secret (the hub keys its ops): the raw
	 * baselines still need a key of the same cost, under a fixed one. */
	static const uint8_t baseline[32];
	if (!hj_node_person_key(b->keys ? b->keys : b->node, p->idno, p->key))
		hj_person_key_derive(p->key, baseline, p->idno);
	snprintf(p->name, sizeof p->name, "%s%s", surnames[i % 8], given[(i / 8) % 8]);
	snprintf(p->phone, sizeof p->phone, "139%08" PRIu64, i % 100000000);
	snprintf(p->plate, sizeof p->plate, "青A%05" PRIu64, i % 100000);
	snprintf(p->id, sizeof p->id, "raw:%" PRIu64, i);
	return 0;
}

hj_json *op_new(const char *name)
{
	hj_json *op = hj_json_new(HJ_JOBJ);
	if (op && (hj_json_set_str(op, "op", name) || hj_json_set_int(op, "v", HJ_OP_VERSION))) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

/* member.apply into `union_id` signed by `signer`, built as tools/cmd_member.c
 * builds it: hj_application_op, so the personal fields are sealed to the
 * nodes the signer's registry says hold the record (node/person_seal.h).
 * The person key it computes is the signer's province's, as fake_next's. */
hj_json *apply_op_in(const hj_node *signer, const fake *p, const char *union_id)
{
	const hj_application a = {.name = p->name, .id_number = p->idno, .phone = p->phone, .group = "truck_driver",
				  .channel = "platform_app", .on = BENCH_ON, .platform = "yunmanman",
				  .plate = p->plate, .union_id = union_id};
	hj_json *op = NULL;
	return hj_application_op(&op, signer, &a) ? NULL : op;
}

void ops_free(hj_json **ops, int from, int n)
{
	for (int i = from; i < n; i++)
		hj_json_free(ops[i]);
}

/* n member.apply ops of new fake people into the county union, signed by
 * `signer`; on failure none are left. */
int ops_build(bench *b, const hj_node *signer, hj_json **ops, int n)
{
	fake p;
	for (int i = 0; i < n; i++) {
		int rc = fake_next(b, &p);
		if (rc || !(ops[i] = apply_op_in(signer, &p, BENCH_COUNTY))) {
			ops_free(ops, 0, i);
			return rc ? rc : hj_error_wrap(HJ_ERROR, "member.apply: ");
		}
	}
	return 0;
}

/* ---- the node and the baseline database --------------------------------- */

/* Fold `ops` as one change set; every op must be applied. Takes the ops. */
int commit_ops(hj_node *n, hj_json **ops, int nops)
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
int root_bootstrap(hj_node *n)
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
hj_json *county_org_op(void)
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
int node_setup(bench *b)
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
int raw_setup(bench *b)
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
	int rc = ops ? ops_build(b, b->node, ops, n) : hj_error_set(HJ_ENOMEM, "out of memory");
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

int bench_commits(bench *b, const sizes *z)
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

/* ---- 3. bytes per op ---------------------------------------------------- */

int bench_bytes(bench *b)
{
	static const int counts[] = {1, 100, BATCH_OPS};
	int rc = 0;
	printf("\n3. bytes per op (member.apply), before and after compression\n");
	printf("  %-16s %16s %16s %18s\n", "change set", "payload JSON B/op", "envelope B/op", "envelope/payload");
	for (size_t c = 0; !rc && c < sizeof counts / sizeof counts[0]; c++) {
		int n = counts[c];
		hj_json *arr = hj_json_new(HJ_JARR), **ops = calloc((size_t)n, sizeof *ops);
		hj_buf payload = HJ_BUF_INIT, env = HJ_BUF_INIT;
		rc = arr && ops ? ops_build(b, b->node, ops, n) : hj_error_set(HJ_ENOMEM, "out of memory");
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

