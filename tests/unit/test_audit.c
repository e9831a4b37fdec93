/*
 * test_audit.c — unit tests for sync/audit.c: hj_audit over a hub
 * repository built in-process.
 *
 * A real province in one test process (tests/unit/support.c): a hub made
 * with hj_node_create and bootstrapped with real ops, a county enrolled by
 * it that records member applications of fake people (hj_idnum_make) and syncs over a local path,
 * and one sequencer round. A clean audit finds nothing; a pinned key that
 * is not the hub's, a flipped byte in the repository's packs, and one
 * changed byte in a change-set blob the hub sequenced are each a named
 * problem. A byte flipped inside the one pack object that holds a change
 * set names exactly that node and seq, and a damaged hub entry is named
 * while the entries after it are still checked (issue 7 item 8). The pack
 * reader (sync/pack.c) reads packs stock git repacked with offset and ref
 * deltas back in full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "batch.h"
#include "envelope.h"
#include "error.h"
#include "fold.h"
#include "gitfeed.h"
#include "hook.h"
#include "idnum.h"
#include "json.h"
#include "node.h"
#include "outbox.h"
#include "pack.h"
#include "sequencer.h"
#include "support.h"
#include "sync.h"

#define HUB "t-hub"
#define CTY "t-cz"
#define NAPPS 3

typedef struct fx {
	char *dir;
	char *hub_git, work[400];
	char hub_key[65];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	hj_sync_opts so;
	hj_sync_report srep;

	if (!f || sodium_init() < 0)
		return -1;
	f->dir = ut_tmpdir();
	snprintf(f->work, sizeof f->work, "%s/audit.git", f->dir);

	/* The hub, as `huiji hub init` makes it (tests/unit/support.c). */
	hj_node *hub = ut_hub(f->dir, HUB, "t-prov", "测试省总工会");
	hj_hex_encode(f->hub_key, hub->pk, 32);
	assert_int_equal(hj_hub_repo_setup(hub, NULL), 0);
	assert_non_null(f->hub_git = hj_node_repo_path(hub));

	/* The county, enrolled by the hub; its hub_url is the hub's
	 * repository. */
	hj_node *cty = ut_county(f->dir, CTY, "t-cty", hub);
	hj_json *enrol[2] = {ut_op("org.create", "id", "t-cty", "name", "测试县总工会", "kind", "county", "parent", "t-prov",
				   "region", "630103", NULL),
			     ut_enroll_op(CTY, cty->pk, "t-cty", "union")};
	ut_commit(hub, enrol, 2, NULL);
	ut_flush(hub);

	/* The county follows the hub, works, syncs over the local path (the
	 * real transport); the hub sequences. */
	hj_sync_opts_default(&so);
	assert_int_equal(hj_sync(cty, &so, &srep), 0);
	for (int i = 0; i < NAPPS; i++)
		ut_must(cty, ut_apply_op(cty, NULL, i), NULL, 0);
	ut_flush(cty);
	assert_int_equal(hj_sync(cty, &so, &srep), 0);
	assert_int_equal(srep.pushed, NAPPS);
	assert_int_equal(ut_sequence(hub, NULL), NAPPS);
	hj_node_close(cty);
	hj_node_close(hub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	int rc = ut_rmtree(f->dir);
	hj_envelope_thread_cleanup();
	free(f->hub_git);
	free(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

static int has_problem(const hj_audit_report *r, const char *needle)
{
	for (size_t i = 0; i < r->nproblems; i++)
		if (strstr(r->problems[i], needle))
			return 1;
	return 0;
}

static void print_problems(const hj_audit_report *r)
{
	for (size_t i = 0; i < r->nproblems; i++)
		fprintf(stderr, "  problem: %s\n", r->problems[i]);
}

static void test_clean(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	assert_int_equal(hj_audit(&rep, f->hub_git, f->hub_key, NULL, f->work, NULL), 0);
	print_problems(&rep);
	assert_int_equal(rep.nproblems, 0);
	assert_string_equal(rep.hub, HUB);
	assert_true(rep.hub_key_pinned);
	assert_int_equal(rep.change_sets, NAPPS);
	assert_true(rep.verdicts >= NAPPS);
	assert_true(rep.digests >= 1);
	assert_int_equal(rep.pending, 0);
	hj_audit_report_free(&rep);
}

/* Another hub key than the hub's: everything it signed is refused. */
static void test_wrong_hub_key(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	char other[65];
	uint8_t pk[32], sk[64];
	crypto_sign_keypair(pk, sk);
	hj_hex_encode(other, pk, 32);
	int rc = hj_audit(&rep, f->hub_git, other, NULL, f->work, NULL);
	assert_int_equal(rc, 0);
	assert_true(has_problem(&rep, "hub feed: " HUB " seq 1: envelope: signed by key id"));
	hj_audit_report_free(&rep);
}

/* Flip one byte in the middle of each pack of the hub repository. */
static int tamper_packs(const fx *f)
{
	char dir[600], path[900];
	int n = 0;
	snprintf(dir, sizeof dir, "%s/objects/pack", f->hub_git);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".pack") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		FILE *fp = fopen(path, "r+b");
		assert_non_null(fp);
		fseek(fp, 0, SEEK_END);
		long size = ftell(fp);
		fseek(fp, size / 2, SEEK_SET);
		int c = fgetc(fp);
		fseek(fp, size / 2, SEEK_SET);
		fputc(c ^ 0x40, fp);
		fclose(fp);
		n++;
	}
	closedir(d);
	return n;
}

static void test_tampered_pack(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	assert_true(tamper_packs(f) > 0);
	int rc = hj_audit(&rep, f->hub_git, f->hub_key, NULL, f->work, NULL);
	/* The audit runs (the damage is a finding, not a failure to run)
	 * and names the pack. */
	assert_int_equal(rc, 0);
	print_problems(&rep);
	assert_true(has_problem(&rep, "objects/pack/"));
	hj_audit_report_free(&rep);
}

/* A change set the hub sequenced, replaced by one differing in one byte:
 * the county feed ref now names a commit whose change set is not what
 * the hub vouched for. Built with gitfeed on top of the real seq 1..2. */
static void test_tampered_change_set(void **state)
{
	fx *f = *state;
	hj_gitrepo *r = NULL;
	hj_audit_report rep;
	git_oid tip, parent;
	uint64_t seq;
	char ref[] = "refs/huiji/feeds/" CTY, tmp[] = "refs/huiji/tmp/forge";

	assert_int_equal(hj_gitrepo_open(&r, f->hub_git, 0), 0);
	assert_int_equal(hj_gitfeed_tip(r, ref, &seq, &tip), 0);
	assert_true(seq >= 2);
	/* Read the last change set, change one payload byte, re-append it
	 * over its parent on a scratch ref, then point the feed at it. */
	hj_buf b = HJ_BUF_INIT;
	assert_int_equal(hj_gitfeed_read(&b, r, &tip), 0);
	b.data[b.len - 80] ^= 0x01; /* inside the payload, before the signature */
	git_commit *c = NULL;
	assert_int_equal(git_commit_lookup(&c, hj_gitrepo_git(r), &tip), 0);
	git_oid_cpy(&parent, git_commit_parent_id(c, 0));
	int64_t created = (int64_t)git_commit_time(c) * 1000;
	git_commit_free(c);
	assert_int_equal(hj_gitref_cas(r, tmp, &parent, NULL, NULL), 0);
	hj_feed_item it = {b.data, b.len, seq, created};
	assert_int_equal(hj_gitfeed_append(r, tmp, CTY, &it, 1), 0);
	git_oid forged;
	assert_int_equal(hj_gitfeed_tip(r, tmp, NULL, &forged), 0);
	assert_int_equal(hj_gitrepo_ref_set(r, ref, &forged, "test: tamper"), 0);
	assert_int_equal(hj_gitrepo_ref_set(r, "refs/huiji/sequenced/" CTY, &forged, "test: tamper"), 0);
	assert_int_equal(hj_gitrepo_ref_delete(r, tmp), 0);
	hj_gitrepo_close(r);
	hj_buf_free(&b);

	assert_int_equal(hj_audit(&rep, f->hub_git, f->hub_key, NULL, f->work, NULL), 0);
	assert_true(has_problem(&rep, CTY " seq 3: the bytes in the repository differ from what hub entry 3 signed"));
	hj_audit_report_free(&rep);
}

/* ---- damage inside one pack object ---- */

/* The blob holding change set `seq` of feed ref `ref` in the hub
 * repository (the commit chain, walked from the tip), or its tree. */
static void object_of(const fx *f, const char *ref, uint64_t seq, int tree, git_oid *out)
{
	hj_gitrepo *r = NULL;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_oid id;
	uint64_t tip;
	UT_OK(hj_gitrepo_open(&r, f->hub_git, 0));
	UT_OK(hj_gitfeed_tip(r, ref, &tip, &id));
	assert_true(tip >= seq);
	for (; tip > seq; tip--) {
		assert_int_equal(git_commit_lookup(&c, hj_gitrepo_git(r), &id), 0);
		git_oid_cpy(&id, git_commit_parent_id(c, 0));
		git_commit_free(c);
	}
	assert_int_equal(git_commit_lookup(&c, hj_gitrepo_git(r), &id), 0);
	assert_int_equal(git_commit_tree(&t, c), 0);
	const git_tree_entry *e = git_tree_entry_byname(t, "changeset");
	assert_non_null(e);
	git_oid_cpy(out, tree ? git_commit_tree_id(c) : git_tree_entry_id(e));
	git_tree_free(t);
	git_commit_free(c);
	hj_gitrepo_close(r);
}

typedef struct where {
	git_oid want;
	int found;
	uint64_t off;
	size_t objects;
} where;

static int note_object(void *ctx, uint64_t off, const git_oid *id, git_object_t type)
{
	where *w = ctx;
	(void)type;
	w->objects++;
	if (git_oid_equal(id, &w->want)) {
		w->found = 1;
		w->off = off;
	}
	return 0;
}

/* Read `pack` with the pack reader into a scratch repository. */
static void read_pack(const fx *f, const char *pack, hj_pack_stats *st, where *w)
{
	char scratch[700], objects[800];
	hj_gitrepo *r = NULL;
	snprintf(scratch, sizeof scratch, "%s/scratch.git", f->dir);
	UT_OK(hj_gitrepo_open(&r, scratch, 1));
	snprintf(objects, sizeof objects, "%sobjects", hj_gitrepo_path(r));
	UT_OK(hj_pack_salvage(st, pack, objects, note_object, w));
	hj_gitrepo_close(r);
}

/* Flip one byte inside the zlib data of object `id` in every pack of the
 * hub repository that holds it; returns how many packs did. */
static int damage_object(const fx *f, const git_oid *id)
{
	char dir[600], path[900];
	int n = 0;
	snprintf(dir, sizeof dir, "%s/objects/pack", f->hub_git);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".pack") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		hj_pack_stats st;
		where w = {.want = *id};
		read_pack(f, path, &st, &w);
		assert_int_equal(st.damaged, 0);
		assert_int_equal(st.sound, st.declared);
		if (!w.found)
			continue;
		FILE *fp = fopen(path, "r+b");
		assert_non_null(fp);
		/* past the object header (2 bytes) and the zlib header (2) */
		fseek(fp, (long)w.off + 8, SEEK_SET);
		int c = fgetc(fp);
		fseek(fp, (long)w.off + 8, SEEK_SET);
		fputc(c ^ 0x10, fp);
		fclose(fp);
		n++;
	}
	closedir(d);
	return n;
}

static int count_problems(const hj_audit_report *r, const char *needle)
{
	int n = 0;
	for (size_t i = 0; i < r->nproblems; i++)
		n += strstr(r->problems[i], needle) != NULL;
	return n;
}

static void check_damaged_seq2(fx *f, int tree)
{
	hj_audit_report rep;
	git_oid obj;
	object_of(f, "refs/huiji/feeds/" CTY, 2, tree, &obj);
	assert_true(damage_object(f, &obj) > 0);
	assert_int_equal(hj_audit(&rep, f->hub_git, f->hub_key, NULL, f->work, NULL), 0);
	print_problems(&rep);
	/* The pack is named with its one damaged object, seq 2 is named and
	 * nothing else of the county is: its seqs 1 and 3 were re-folded. */
	assert_true(has_problem(&rep, "1 damaged object(s)"));
	assert_int_equal(count_problems(&rep, CTY " seq 2: its change set is damaged or missing in the repository "
					      "(sequenced by hub entry 3"), 1);
	assert_int_equal(count_problems(&rep, CTY " seq 1"), 0);
	assert_int_equal(count_problems(&rep, CTY " seq 3"), 0);
	assert_int_equal(count_problems(&rep, "cannot be read"), 0);
	assert_int_equal(rep.change_sets, NAPPS - 1);
	hj_audit_report_free(&rep);
}

static void test_damaged_blob_names_its_seq(void **state)
{
	check_damaged_seq2(*state, 0);
}

/* The change set's tree instead of its blob: the same one seq is lost. */
static void test_damaged_tree_names_its_seq(void **state)
{
	check_damaged_seq2(*state, 1);
}

/* Two more change sets sequenced in hub entry 4, then hub entry 3 (which
 * sequenced seq 1..3) damaged in its pack. */
static void test_damaged_hub_entry(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	hj_node *hub = NULL, *cty = NULL;
	hj_sync_opts so;
	hj_sync_report srep;
	char d[500];
	snprintf(d, sizeof d, "%s/hub", f->dir);
	UT_OK(hj_node_open(&hub, d));
	snprintf(d, sizeof d, "%s/%s", f->dir, CTY);
	UT_OK(hj_node_open(&cty, d));
	for (int i = 0; i < 2; i++)
		ut_must(cty, ut_apply_op(cty, NULL, 10 + i), NULL, 0);
	ut_flush(cty);
	hj_sync_opts_default(&so);
	UT_OK(hj_sync(cty, &so, &srep));
	assert_int_equal(ut_sequence(hub, NULL), 2);
	ut_flush(hub);
	hj_node_close(cty);
	hj_node_close(hub);

	git_oid blob;
	object_of(f, "refs/huiji/hub/" HUB, 3, 0, &blob);
	assert_true(damage_object(f, &blob) > 0);
	assert_int_equal(hj_audit(&rep, f->hub_git, f->hub_key, NULL, f->work, NULL), 0);
	print_problems(&rep);
	assert_int_equal(count_problems(&rep, "hub entry 3: damaged or missing in the repository"), 1);
	/* Entry 4 is still checked: its two change sets verify and fold to
	 * its verdicts, seq 1..3 folded before them. Their verdicts and the
	 * person keys the hub gave them (entry v4) were lost with entry 3, so
	 * the re-fold cannot rebuild their records, and entry 4's digest
	 * differs, saying why — not a verdict of entry 4 in doubt. */
	assert_int_equal(rep.hub_entries, 3);
	assert_int_equal(rep.change_sets, NAPPS + 2);
	assert_int_equal(rep.digests, 1);
	assert_int_equal(count_problems(&rep, "hub entry 4"), 1);
	assert_int_equal(count_problems(&rep, "(the re-fold lacks the damaged records named above)"), 1);
	assert_int_equal(count_problems(&rep, CTY " seq"), 0);
	assert_int_equal(rep.pending, 0);
	hj_audit_report_free(&rep);
}

/* Stock git's repack (offset deltas, then ref deltas) of the hub
 * repository: the pack reader resolves every object. */
static void check_repacked(const fx *f, const char *opts)
{
	char cmd[6000], copy[600], dir[700], path[1000], *pack = NULL;
	snprintf(copy, sizeof copy, "%s/repacked.git", f->dir);
	ut_rmtree(copy);
	assert_int_equal(ut_copy_tree(f->hub_git, copy), 0);
	/* Change sets are signed and deflated, so nothing of huiji's own
	 * deltifies: add blobs that do (a text and two edits of it, kept by
	 * refs) before repacking. */
	snprintf(cmd, sizeof cmd, "cd '%s' && seq 1 3000 > t0 && sed 's/^17/x/' t0 > t1 && sed 's/^2/y/' t1 > t2 && "
		 "for i in 0 1 2; do git --git-dir='%s' update-ref refs/test/t$i $(git --git-dir='%s' hash-object "
		 "-w t$i) || exit 1; done && git --git-dir='%s' %s repack -adfq && git --git-dir='%s' verify-pack -v "
		 "'%s'/objects/pack/*.idx | grep -cE '^[0-9a-f]{40} [a-z]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ '",
		 f->dir, copy, copy, copy, opts, copy, copy);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	int deltas = -1;
	assert_int_equal(fscanf(p, "%d", &deltas), 1);
	pclose(p);
	assert_true(deltas > 0); /* else this tests nothing */
	snprintf(dir, sizeof dir, "%s/objects/pack", copy);
	DIR *dd = opendir(dir);
	assert_non_null(dd);
	struct dirent *de;
	while ((de = readdir(dd)))
		if (strlen(de->d_name) > 5 && strcmp(de->d_name + strlen(de->d_name) - 5, ".pack") == 0) {
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			pack = path;
		}
	closedir(dd);
	assert_non_null(pack);
	hj_pack_stats st;
	where w = {0};
	read_pack(f, pack, &st, &w);
	assert_int_equal(st.damaged, 0);
	assert_int_equal(st.sound, st.declared);
	assert_int_equal(w.objects, st.declared);
}

static void test_pack_reader_resolves_deltas(void **state)
{
	fx *f = *state;
	check_repacked(f, "");
	check_repacked(f, "-c repack.useDeltaBaseOffset=false");
}

/* Any one flipped byte of a pack (a sample of positions, every kind of
 * byte: headers, zlib data, trailer): the reader never fails or crashes,
 * keeps all objects but at most two (the damaged one and, at worst, one
 * whose start the scan for the next object misses) and reads at most one
 * more than there are (a damaged size can split one object's region).
 * Run under ASan for the memory half. */
static void test_pack_reader_survives_any_flip(void **state)
{
	fx *f = *state;
	char dir[600], path[900] = "", copy[1000];
	long best = 0;
	snprintf(dir, sizeof dir, "%s/objects/pack", f->hub_git);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".pack") != 0)
			continue;
		char p[900];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		FILE *fp = fopen(p, "rb");
		assert_non_null(fp);
		fseek(fp, 0, SEEK_END);
		if (ftell(fp) > best) {
			best = ftell(fp);
			snprintf(path, sizeof path, "%s", p);
		}
		fclose(fp);
	}
	closedir(d);
	assert_true(best > 32);
	size_t n = (size_t)best;
	uint8_t *orig = malloc(n);
	FILE *fp = fopen(path, "rb");
	assert_non_null(orig);
	assert_non_null(fp);
	assert_int_equal(fread(orig, 1, n, fp), n);
	fclose(fp);
	snprintf(copy, sizeof copy, "%s/flip.pack", f->dir);
	hj_pack_stats clean;
	where w0 = {0};
	read_pack(f, path, &clean, &w0);
	size_t step = n / 300 + 1;
	for (size_t pos = 0; pos < n; pos += step) {
		orig[pos] ^= 0x04;
		fp = fopen(copy, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(orig, 1, n, fp), n);
		fclose(fp);
		orig[pos] ^= 0x04;
		hj_pack_stats st;
		where w = {0};
		char scratch[700], objects[800];
		hj_gitrepo *r = NULL;
		snprintf(scratch, sizeof scratch, "%s/scratch.git", f->dir);
		UT_OK(hj_gitrepo_open(&r, scratch, 1));
		git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0); /* a scratch copy */
		snprintf(objects, sizeof objects, "%sobjects", hj_gitrepo_path(r));
		int rc = hj_pack_salvage(&st, copy, objects, note_object, &w);
		hj_gitrepo_close(r);
		if (pos < 12) /* the header: refused whole, or read as it is */
			continue;
		assert_int_equal(rc, 0);
		assert_true(st.sound + 2 >= clean.sound);
		assert_true(st.sound <= clean.sound + 1);
	}
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_hub_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_change_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_blob_names_its_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_tree_names_its_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_hub_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_reader_resolves_deltas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_reader_survives_any_flip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
