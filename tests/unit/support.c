/*
 * support.c — set-up shared by the C unit suites (see support.h): scratch
 * directories, real node directories, ops, fake people, raw reads, and a
 * sync's git half done in-process (push, the real sequencer, fetch, the
 * real follow), so every suite runs on what a real sync would hold.
 */
#define _GNU_SOURCE /* nftw, asprintf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"

#include "application.h"
#include "envelope.h"
#include "error.h"
#include "fsutil.h"
#include "idnum.h"
#include "outbox.h"
#include "person_key.h"
#include "projection.h"
#include "verify.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MUST UT_OK

char *ut_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *d = NULL;
	if (!base || !base[0])
		base = "/tmp";
	assert_true(asprintf(&d, "%s/hj_unit_XXXXXX", base) > 0);
	assert_non_null(mkdtemp(d));
	return d;
}

int ut_rmtree(const char *dir)
{
	return dir ? hj_dir_remove(dir) : 0;
}

int ut_copy_file(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rb"), *out = NULL;
	char buf[65536];
	size_t k;
	int rc = -1;
	if (!in)
		return -1;
	if (!(out = fopen(dst, "wb")))
		goto done;
	while ((k = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, k, out) != k)
			goto done;
	rc = ferror(in) ? -1 : 0;
done:
	if (out && fclose(out))
		rc = -1;
	fclose(in);
	return rc;
}

static const char *copy_src, *copy_dst; /* nftw passes no context */

static int copy_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	char to[4096];
	if ((size_t)snprintf(to, sizeof to, "%s%s", copy_dst, p + strlen(copy_src)) >= sizeof to)
		return -1;
	if (flag == FTW_D)
		return mkdir(to, sb->st_mode & 07777) == 0 ? 0 : -1;
	if (flag != FTW_F)
		return -1; /* links and the unreadable are not expected here */
	if (ut_copy_file(p, to))
		return -1;
	return chmod(to, sb->st_mode & 07777) == 0 ? 0 : -1;
}

int ut_copy_tree(const char *src, const char *dst)
{
	copy_src = src;
	copy_dst = dst;
	return nftw(src, copy_entry, 16, FTW_PHYS);
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

hj_json *ut_op(const char *name, ...)
{
	hj_json *op = hj_json_new(HJ_JOBJ);
	va_list ap;
	assert_non_null(op);
	assert_int_equal(hj_json_set_str(op, "op", name), 0);
	assert_int_equal(hj_json_set_int(op, "v", HJ_OP_VERSION), 0);
	va_start(ap, name);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		assert_int_equal(hj_json_set_str(op, k, v), 0);
	}
	va_end(ap);
	return op;
}

hj_json *ut_json(const char *fmt, ...)
{
	char text[4096];
	hj_json *j = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof text);
	if (hj_json_parse(&j, text, (size_t)n))
		fail_msg("ut_json: %s in %s", hj_error_last(), text);
	return j;
}

void ut_fake_id(char out[19], int y, int m, int d, int seqno)
{
	MUST(hj_idnum_make(out, "630102", y, m, d, seqno));
}

void ut_hex64(char out[65], const char *seed)
{
	uint8_t h[32];
	hj_hash32(h, seed, strlen(seed));
	hj_hex_encode(out, h, 32);
}

void ut_person_id(char out[19], int who)
{
	ut_fake_id(out, 1990, 1 + who % 12, 1 + who % 28, who % 1000);
}

/* The person secret of the hub made last (ut_hub): counties hold none. */
static uint8_t national[32];

void ut_person_key(char out[65], const hj_node *n, int who)
{
	char id[19];
	ut_person_id(id, who);
	hj_person_key_derive(out, n->person_secret ? n->person_secret : national, id);
}

hj_json *ut_apply_op(const hj_node *n, const char *union_id, int who)
{
	char id[19], phone[24], name[32];
	hj_json *op = NULL;
	ut_person_id(id, who);
	snprintf(phone, sizeof phone, "138%08d", who % 100000000);
	snprintf(name, sizeof name, "测试%d", who);
	hj_application a = {
		.name = name, .id_number = id, .phone = phone, .group = "truck_driver",
		.channel = "mobile_window", .on = "2024-03-01", .platform = "yunmanman", .union_id = union_id,
	};
	MUST(hj_application_op(&op, n, &a));
	return op;
}

hj_json *ut_v2(hj_json *op)
{
	assert_int_equal(hj_json_set_int(op, "v", 2), 0);
	return op;
}

hj_json *ut_plain_apply_op(const hj_node *n, const char *union_id, int who)
{
	char id[19], phone[24], name[32], key[65];
	ut_person_id(id, who);
	snprintf(phone, sizeof phone, "138%08d", who % 100000000);
	snprintf(name, sizeof name, "测试%d", who);
	ut_person_key(key, n, who);
	hj_json *op = ut_op("member.apply", "union", union_id ? union_id : n->union_id, "group", "truck_driver",
			    "channel", "mobile_window", "platform", "yunmanman", "on", "2024-03-01", NULL);
	hj_json *person = ut_op("x", "key", key, "name", name, "id_number", id, "phone", phone, NULL);
	assert_int_equal(hj_json_set_int(op, "v", 1), 0);
	/* ut_op names its object: a person object has no "op" or "v". */
	hj_json *p = hj_json_new(HJ_JOBJ);
	assert_non_null(p);
	for (size_t i = 0; i < person->count; i++)
		if (strcmp(person->keys[i], "op") && strcmp(person->keys[i], "v"))
			assert_int_equal(hj_json_set_str(p, person->keys[i], person->items[i]->s), 0);
	hj_json_free(person);
	assert_int_equal(hj_json_set(op, "person", p), 0);
	return op;
}

int ut_run(hj_node *n, hj_json *op, hj_verdict *v, char *id_out, size_t idsz, uint64_t *seq_out)
{
	hj_batch b;
	int rc = hj_batch_begin(&b, n);
	if (seq_out)
		*seq_out = 0;
	if (rc) {
		hj_json_free(op);
		return rc;
	}
	if ((rc = hj_batch_apply(&b, op, v, id_out, idsz))) {
		hj_batch_abort(&b);
		return rc;
	}
	return hj_batch_commit(&b, seq_out);
}

uint64_t ut_must(hj_node *n, hj_json *op, char *id_out, size_t idsz)
{
	hj_verdict v;
	uint64_t seq = 0;
	char opname[40];
	snprintf(opname, sizeof opname, "%s", hj_json_get_str(op, "op"));
	MUST(ut_run(n, op, &v, id_out, idsz, &seq));
	if (!v.applied)
		fail_msg("%s on %s refused: %s: %s", opname, n->id, v.reason, v.detail);
	assert_true(seq > 0);
	return seq;
}

uint64_t ut_commit(hj_node *n, hj_json **ops, size_t nops, char (*ids)[UT_ID_SZ])
{
	hj_batch b;
	hj_verdict v;
	uint64_t seq = 0;
	MUST(hj_batch_begin(&b, n));
	for (size_t i = 0; i < nops; i++) {
		MUST(hj_batch_apply(&b, ops[i], &v, ids ? ids[i] : NULL, UT_ID_SZ));
		if (!v.applied)
			fail_msg("%s: op %zu refused: %s: %s", n->id, i, v.reason, v.detail);
	}
	MUST(hj_batch_commit(&b, &seq));
	return seq;
}

int ut_fold(hj_db *db, const char *actor, uint64_t seq, uint32_t index, const hj_json *op, hj_verdict *v)
{
	hj_foldctx ctx = {.actor = actor, .seq = seq, .index = index};
	return hj_fold_op(db, &ctx, op, v);
}

uint8_t *ut_changeset(const hj_node *n, uint64_t seq, size_t *len)
{
	sqlite3_stmt *st = NULL;
	uint8_t *p = NULL;
	if (sqlite3_prepare_v2(n->db->h, "SELECT envelope FROM changelog WHERE seq = ?1", -1, &st, NULL) != SQLITE_OK)
		fail_msg("ut_changeset: %s", sqlite3_errmsg(n->db->h));
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no change set %" PRIu64, n->id, seq);
	*len = (size_t)sqlite3_column_bytes(st, 0);
	assert_non_null(p = malloc(*len ? *len : 1));
	memcpy(p, sqlite3_column_blob(st, 0), *len);
	sqlite3_finalize(st);
	return p;
}

int64_t ut_int(hj_db *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	int64_t out = -1;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("ut_int: %s: %s", sql, sqlite3_errmsg(db->h));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		out = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		fail_msg("ut_int: %s: %s", sql, sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return out;
}

char *ut_text(hj_db *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	char *out = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("ut_text: %s: %s", sql, sqlite3_errmsg(db->h));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		out = strdup((const char *)sqlite3_column_text(st, 0));
		assert_non_null(out);
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fail_msg("ut_text: %s: %s", sql, sqlite3_errmsg(db->h));
	}
	sqlite3_finalize(st);
	return out;
}

void ut_digest(hj_db *db, uint8_t out[32])
{
	MUST(hj_projection_digest(db, out));
}

hj_node *ut_hub(const char *dir, const char *node, const char *union_id, const char *name)
{
	hj_node *n = NULL;
	char *d = join(dir, "hub");
	hj_node_init_opts o = {.dir = d, .node = node, .union_id = union_id, .is_root = 1};
	MUST(hj_node_create(&n, &o));
	free(d);
	memcpy(national, n->person_secret, sizeof national);
	/* Change set 1 of a province, as tools/cmd_init.c writes it. */
	hj_json *boot[2] = {ut_op("org.create", "id", union_id, "name", name, "kind", "province", "region", "63", NULL),
			    ut_enroll_op(node, n->pk, union_id, "hub")};
	assert_int_equal(ut_commit(n, boot, 2, NULL), 1);
	return n;
}

hj_node *ut_root(const char *dir)
{
	return ut_hub(dir, "hub", "qh", "青海省总工会");
}

void ut_province(hj_node *hub)
{
	static const char *const tree[][4] = {
		{"qh-xn", "西宁市总工会", "city", "qh"},
		{"qh-xn-cz", "城中区总工会", "county", "qh-xn"},
		{"qh-xn-cz-a", "人民街街道工会", "township", "qh-xn-cz"},
		{"qh-hd", "海东市总工会", "city", "qh"},
	};
	hj_batch b;
	hj_verdict v;
	MUST(hj_batch_begin(&b, hub));
	for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++) {
		MUST(hj_batch_apply(&b, ut_op("org.create", "id", tree[i][0], "name", tree[i][1], "kind", tree[i][2],
					     "parent", tree[i][3], NULL), &v, NULL, 0));
		if (!v.applied)
			fail_msg("org.create %s: %s", tree[i][0], v.detail);
	}
	MUST(hj_batch_commit(&b, NULL));
}

hj_node *ut_county(const char *dir, const char *node, const char *union_id, const hj_node *hub)
{
	hj_node *n = NULL;
	char *d = join(dir, node), *url = hj_node_repo_path(hub), hubkey[65];
	assert_non_null(url);
	hj_hex_encode(hubkey, hub->pk, 32);
	hj_node_init_opts o = {.dir = d, .node = node, .union_id = union_id, .hub_url = url, .hub_key = hubkey};
	MUST(hj_node_create(&n, &o));
	free(d);
	free(url);
	return n;
}

ut_world *ut_world_new(int enroll)
{
	ut_world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	w->dir = ut_tmpdir();
	w->hub = ut_root(w->dir);
	ut_province(w->hub);
	w->cz = ut_county(w->dir, "cz", "qh-xn-cz", w->hub);
	w->hd = ut_county(w->dir, "hd", "qh-hd", w->hub);
	if (enroll) {
		ut_enroll(w->hub, w->cz);
		ut_enroll(w->hub, w->hd);
	}
	return w;
}

int ut_world_free(ut_world *w)
{
	hj_node_close(w->hub);
	hj_node_close(w->cz);
	hj_node_close(w->hd);
	int rc = ut_rmtree(w->dir);
	free(w->dir);
	free(w);
	hj_envelope_thread_cleanup();
	return rc ? -1 : 0;
}

hj_json *ut_enroll_op(const char *node, const uint8_t pk[32], const char *union_id, const char *role)
{
	char hex[65];
	hj_hex_encode(hex, pk, 32);
	return ut_op("node.enroll", "node", node, "pubkey", hex, "union", union_id, "role", role, NULL);
}

void ut_enroll(hj_node *hub, const hj_node *county)
{
	ut_must(hub, ut_enroll_op(county->id, county->pk, county->union_id, "union"), NULL, 0);
}

void ut_flush(const hj_node *n)
{
	hj_gitrepo *r = NULL;
	MUST(hj_node_repo_open(&r, n));
	MUST(hj_outbox_flush(n, r, NULL));
	hj_gitrepo_close(r);
}

void ut_push(const hj_node *county, const hj_node *hub)
{
	hj_gitrepo *own = NULL, *r = NULL;
	MUST(hj_node_repo_open(&own, county)); /* the outbox lock lives in it */
	MUST(hj_node_repo_open(&r, hub));
	MUST(hj_outbox_flush(county, r, NULL));
	hj_gitrepo_close(r);
	hj_gitrepo_close(own);
}

/* The change sets a walk hands over, copied (the walk's bytes live only
 * during the call). */
typedef struct mirror {
	hj_feed_item *items;
	size_t n, cap;
	hj_gitrepo *from;
} mirror;

static int collect(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	mirror *m = ctx;
	int64_t at = 0;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->items = realloc(m->items, m->cap * sizeof *m->items);
		assert_non_null(m->items);
	}
	/* The source commit's time, as sync/localfetch.c copies it: the
	 * mirror's commits are the hub's. */
	MUST(hj_gitrepo_commit_time(&at, m->from, commit));
	uint8_t *copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, bytes, len);
	m->items[m->n++] = (hj_feed_item){copy, len, seq, at * 1000};
	return 0;
}

void ut_mirror(hj_gitrepo *from, const char *from_ref, hj_gitrepo *to, const char *to_ref, const char *node)
{
	uint64_t have = 0, tipseq = 0;
	git_oid tip;
	mirror m = {.from = from};
	int rc = hj_gitfeed_tip(to, to_ref, &have, &tip);
	if (rc == HJ_ENOTFOUND)
		have = 0;
	else
		MUST(rc);
	rc = hj_gitfeed_tip(from, from_ref, &tipseq, &tip);
	if (rc == HJ_ENOTFOUND)
		return;
	MUST(rc);
	if (tipseq <= have)
		return;
	MUST(hj_gitfeed_walk(from, &tip, node, have, collect, &m));
	MUST(hj_gitfeed_append(to, to_ref, node, m.items, m.n));
	for (size_t i = 0; i < m.n; i++)
		free((void *)m.items[i].bytes);
	free(m.items);
}

typedef struct fetch {
	hj_gitrepo *from, *to;
} fetch;

static int fetch_sequenced(void *ctx, const char *name, const git_oid *target)
{
	(void)target;
	fetch *f = ctx;
	const char *node = name + strlen("refs/huiji/sequenced/");
	char to_ref[300];
	snprintf(to_ref, sizeof to_ref, "refs/huiji/incoming/feeds/%s", node);
	ut_mirror(f->from, name, f->to, to_ref, node);
	return 0;
}

/* What hj_sync fetches: the hub feed, the county's own sequenced
 * history and its inbox; with `all`, every node's sequenced history (for
 * entries from before the inbox). */
static void fetch_refs(const hj_node *county, const hj_node *hub, int all)
{
	fetch f = {NULL, NULL};
	char from_ref[200], to_ref[256], label[256];
	ut_flush(hub); /* the hub publishes its own change sets */
	MUST(hj_node_repo_open(&f.from, hub));
	MUST(hj_node_repo_open(&f.to, county));
	snprintf(from_ref, sizeof from_ref, "refs/huiji/hub/%s", hub->id);
	snprintf(to_ref, sizeof to_ref, "refs/huiji/incoming/hub/%s", hub->id);
	ut_mirror(f.from, from_ref, f.to, to_ref, hub->id);
	snprintf(from_ref, sizeof from_ref, "refs/huiji/sequenced/%s", county->id);
	if (all)
		MUST(hj_gitrepo_ref_foreach(f.from, "refs/huiji/sequenced/*", fetch_sequenced, &f));
	else
		fetch_sequenced(&f, from_ref, NULL);
	snprintf(from_ref, sizeof from_ref, "refs/huiji/inbox/%s", county->id);
	snprintf(to_ref, sizeof to_ref, "refs/huiji/incoming/inbox/%s", county->id);
	snprintf(label, sizeof label, "inbox:%s", county->id);
	ut_mirror(f.from, from_ref, f.to, to_ref, label);
	snprintf(from_ref, sizeof from_ref, "refs/huiji/wraps/%s", county->id);
	snprintf(to_ref, sizeof to_ref, "refs/huiji/incoming/wraps/%s", county->id);
	snprintf(label, sizeof label, "wraps:%s", county->id);
	ut_mirror(f.from, from_ref, f.to, to_ref, label);
	hj_gitrepo_close(f.to);
	hj_gitrepo_close(f.from);
}

void ut_fetch(const hj_node *county, const hj_node *hub)
{
	fetch_refs(county, hub, 0);
}

int ut_sequence_report(hj_node *hub, const hj_node *county, hj_seq_report *rep)
{
	hj_gitrepo *r = NULL;
	hj_seq_report own;
	if (!rep)
		rep = &own;
	if (county)
		ut_push(county, hub);
	MUST(hj_node_repo_open(&r, hub));
	MUST(hj_hub_sequence(hub, r, rep));
	hj_gitrepo_close(r);
	if (rep->quarantined)
		fail_msg("the hub quarantined %" PRIu64 " change sets", rep->quarantined);
	return (int)rep->change_sets;
}

int ut_sequence(hj_node *hub, const hj_node *county)
{
	return ut_sequence_report(hub, county, NULL);
}

int ut_follow(hj_node *county, const hj_node *hub, hj_sync_report *rep)
{
	hj_gitrepo *r = NULL;
	ut_fetch(county, hub);
	memset(rep, 0, sizeof *rep);
	MUST(hj_node_repo_open(&r, county));
	int rc = hj_sync_follow(county, r, rep);
	if (!rc && rep->need_feeds) { /* as hj_sync does */
		fetch_refs(county, hub, 1);
		rc = hj_sync_follow(county, r, rep);
	}
	hj_gitrepo_close(r);
	return rc;
}

int ut_rebuild_compare(hj_node *n, hj_replay_stats *st)
{
	hj_db *scratch = NULL;
	MUST(hj_scratch_open(&scratch));
	MUST(hj_db_exec(scratch, "BEGIN"));
	int rc = hj_replay(scratch, n, 1, st);
	if (!rc)
		MUST(hj_db_exec(scratch, "COMMIT"));
	if (!rc)
		rc = hj_projection_compare(n->db, "live", scratch, "rebuild");
	hj_db_close(scratch);
	return rc;
}
