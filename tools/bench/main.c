/*
 * main.c — options, the order of the sections, the scratch directory.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "bench.h"

static const sizes sizes_default = {1000, 10, 20000};
static const sizes sizes_quick = {20, 1, 1000};

static const sync_sizes sync_default = {10000, SYNC_ROUNDS};
static const sync_sizes sync_quick = {1000, 1};

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
	printf("usage: huiji-bench [--quick] [--sync | --no-sync | --entries | --transfers | --seal | --inbox] [--changesets N] [--dir PARENT] [--keep]\n"
	       "  --quick        small counts for CI smoke runs (whole run ~25 s)\n"
	       "  --sync         only the replication figures (sections 4-8: push, hub, audit, entry size, transfers)\n"
	       "  --no-sync      only the local figures (sections 1-3)\n"
	       "  --entries      only section 7: the largest hub entry of the worst inputs\n"
	       "  --transfers    only section 8: what a transfer costs at a county and the hub\n"
	       "  --seal         only section 9: sealing and opening personal fields beside raw crypto_box_seal\n"
	       "  --inbox        only section 10: bytes a county fetches per sync, before and after the inbox\n"
	       "  --changesets N change sets the county pushes in 4-6 (default 10000, quick 1000)\n"
	       "  --dir PARENT   make the scratch node directory under PARENT (default $TMPDIR or /tmp);\n"
	       "                 put it on the disk you care about: single-op commits are fsync-bound\n"
	       "  --keep         leave the scratch directory in place (to re-run a phase under a profiler)\n"
	       "(--phase ... is internal: one measured replication phase in a child process)\n");
}

typedef struct bench_opts {
	const sizes *z;
	const sync_sizes *sz;
	sync_sizes custom; /* sz points here after --changesets */
	const char *parent;
	int local, repl, entries, keep, transfers, seal, inbox;
} bench_opts;

/* -1: run; otherwise the exit code (after --help or a bad argument). */
static int parse_args(bench_opts *o, int argc, char **argv)
{
	int nsets = 0;
	*o = (bench_opts){&sizes_default, &sync_default, {0, 0}, getenv("TMPDIR"), 1, 1, 1, 0, 1, 1, 1};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			o->z = &sizes_quick;
			o->sz = &sync_quick;
		} else if (strcmp(argv[i], "--sync") == 0) {
			o->local = o->seal = o->inbox = 0;
			o->repl = o->entries = 1;
		} else if (strcmp(argv[i], "--no-sync") == 0) {
			o->repl = o->entries = o->transfers = o->seal = o->inbox = 0;
			o->local = 1;
		} else if (strcmp(argv[i], "--entries") == 0) {
			o->local = o->repl = o->transfers = o->seal = o->inbox = 0;
			o->entries = 1;
		} else if (strcmp(argv[i], "--transfers") == 0) {
			o->local = o->repl = o->entries = o->seal = o->inbox = 0;
			o->transfers = 1;
		} else if (strcmp(argv[i], "--seal") == 0) {
			o->local = o->repl = o->entries = o->transfers = o->inbox = 0;
			o->seal = 1;
		} else if (strcmp(argv[i], "--inbox") == 0) {
			o->local = o->repl = o->entries = o->transfers = o->seal = 0;
			o->inbox = 1;
		} else if (strcmp(argv[i], "--keep") == 0) {
			o->keep = 1;
		} else if (strcmp(argv[i], "--changesets") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 10000000) {
				fprintf(stderr, "huiji-bench: --changesets takes 1..10000000\n");
				return 2;
			}
			nsets = (int)v;
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			o->parent = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
			return 0;
		} else {
			fprintf(stderr, "huiji-bench: unknown argument %s\n", argv[i]);
			usage();
			return 2;
		}
	}
	if (!o->parent || !*o->parent)
		o->parent = "/tmp";
	if (nsets) {
		o->custom = *o->sz;
		o->custom.n = nsets;
		o->sz = &o->custom;
	}
	return -1;
}

int main(int argc, char **argv)
{
	bench_opts opt;
	bench b = {0};
	char tmpl[4096];
	int rc = 0;

	if (argc > 1 && strcmp(argv[1], "--phase") == 0)
		return phase_main(argc - 2, argv + 2);
	if ((rc = parse_args(&opt, argc, argv)) >= 0)
		return rc;
	rc = 0;
	const sizes *z = opt.z;
	const sync_sizes *sz = opt.sz;
	const char *parent = opt.parent;
	int local = opt.local, repl = opt.repl, keep = opt.keep;
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
	if (!rc && opt.entries)
		rc = bench_entries(&b, z == &sizes_quick);
	if (!rc && opt.transfers)
		rc = bench_transfers(&b, z == &sizes_quick);
	if (!rc && opt.seal)
		rc = bench_seal(z);
	if (!rc && opt.inbox)
		rc = bench_inbox(&b, z == &sizes_quick);
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

