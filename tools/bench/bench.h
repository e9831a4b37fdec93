/*
 * bench.h — huiji-bench: what one committed op costs, next to the raw
 * libraries underneath, measured in the same run. What the files of
 * tools/bench/ share: sizes, the scratch node, statistics and printing,
 * child processes; one file per section (main.c runs them in order).
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
 *   6. the steady-state costs that grow with history;
 *   7. the largest hub entry the worst inputs make, read from the hub's
 *      change log, beside HJ_HUB_ENTRY_MAX_BYTES (bench_entry.c);
 *   8. what a transfer costs at a county and the hub (bench_transfer.c);
 *   9. sealing and opening a person's fields beside raw crypto_box_seal
 *      and crypto_box_seal_open (bench_seal.c);
 *  10. the bytes a county and a city node fetch per sync before and
 *      after the inbox, in a province of N counties (bench_inbox.c).
 *
 * Why: the machines huiji runs and is built on are small and shared, so an
 * absolute rate means little on its own. Every figure is the median of
 * ROUNDS rounds, the rounds interleave huiji and its baseline, and each ratio
 * is the median of the per-round ratios, so noise that hits one round hits
 * both sides of the ratio. Fake people only: ID numbers come from
 * hj_idnum_make and never describe a real person.
 */
#ifndef HJ_BENCH_H
#define HJ_BENCH_H

#include "application.h"
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
#define ROUNDS_MAX 8 /* statistics take n <= ROUNDS_MAX rounds */
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


/* bench_util.c */
double now_s(void);
double median_n(const double *v, int n);
double vmin_n(const double *v, int n);
double vmax_n(const double *v, int n);
double paired_ratio_n(const double *a, const double *b, int n);
double median(const double v[ROUNDS]);
double paired_ratio(const double a[ROUNDS], const double b[ROUNDS]);
void fmt_rate(char *out, size_t outsz, double v);
void print_cols(const char *unit);
void print_row(const char *what, long per_round, const double rate[ROUNDS], const char *ratio);
void print_ratio(const char *what, double r, const char *of);
const char *fs_name(const char *dir);
int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);
void rm_rf(const char *path);

/* bench_node.c */
int fake_next(bench *b, fake *p);
hj_json *op_new(const char *name);
hj_json *apply_op_in(const hj_node *signer, const fake *p, const char *union_id);
void ops_free(hj_json **ops, int from, int n);
int ops_build(bench *b, const hj_node *signer, hj_json **ops, int n);
int commit_ops(hj_node *n, hj_json **ops, int nops);
int root_bootstrap(hj_node *n);
hj_json *county_org_op(void);
int node_setup(bench *b);
int raw_setup(bench *b);
int bench_commits(bench *b, const sizes *z);
int bench_bytes(bench *b);

/* bench_envelope.c */
int bench_crypto(bench *b, const sizes *z);

/* bench_proc.c */
int path_join2(char *out, const char *dir, const char *name);
int spawner_start(void);
void spawner_stop(void);
int run_proc(char *const argv[], int timeout_s, proc_res *r);
int copy_tree(const char *from, const char *to);
int fresh_bare(const char *path);
int run_phase(syncb *s, proc_res *r, uint64_t out[8], const char *what, const char *a1, const char *a2,
		     const char *a3);
int phase_main(int argc, char **argv);
void daemon_stop(syncb *s);
int daemon_start(syncb *s);

/* bench_sync.c */
int bench_sync(bench *b, const sync_sizes *z);

/* bench_entry.c: section 7, the largest hub entry of the worst cases, and
 * the in-process province (a hub, counties A and B) it and section 8 use.
 * The longest ids the fold accepts (node and org ids 64 bytes), so each
 * verdict is as big as it can be. County A sorts before county B. */
#define E_HUB "bench-entry-hub"
#define E_NODE_A "a-county-node-with-the-longest-id-a-node-may-have-0000000000000a"
#define E_NODE_B "b-county-node-with-the-longest-id-a-node-may-have-0000000000000b"
#define E_UNION_A "a-county-union-with-the-longest-id-an-org-may-have-000000000000a"
#define E_UNION_B "b-county-union-with-the-longest-id-an-org-may-have-000000000000b"

typedef struct entry_prov {
	char dir[PATH_MAX], hub_dir[PATH_MAX], a_dir[PATH_MAX], b_dir[PATH_MAX], hub_git[PATH_MAX];
	hj_node *hub, *a, *b;
	int names; /* which worst name kind the fold took */
} entry_prov;

int bench_entries(bench *b, int quick);
int bench_prov_setup(entry_prov *p, const char *parent, const char *name);
void bench_prov_close(entry_prov *p);
int bench_county_sync(hj_node *n, hj_sync_report *rep);
/* `count` fake people from number `first` on apply at n into union_id,
 * `per` ops a change set (the same `first`: the same people). */
int bench_commit_list(bench *b, hj_node *n, const char *union_id, uint64_t first, int count, int per);

/* bench_transfer.c: section 8, what a transfer costs at a county and the hub */
int bench_transfers(bench *b, int quick);

/* bench_seal.c: section 9, sealing and opening a person's fields beside raw
 * crypto_box_seal / crypto_box_seal_open, and the bytes it adds */
int bench_seal(const sizes *z);

/* bench_inbox.c: section 10, the bytes a node fetches per sync before and
 * after the inbox (hub feed + every sequenced ref, against hub feed + its
 * own sequenced ref + its inbox), in provinces of 25, 50, 100 counties */
int bench_inbox(bench *b, int quick);

#endif
