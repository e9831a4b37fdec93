/*
 * cli.h — what every huiji subcommand shares: option parsing, opening the
 * node, and the one place where errors become a line on stderr and an exit
 * code. node/ and sync/ never print; tools/ does.
 */
#ifndef HJ_CLI_H
#define HJ_CLI_H

#include "batch.h"
#include "clock.h" /* hj_clock_today: the date an op records (the fold never reads the clock) */
#include "node.h"
#include "progress.h" /* hj_progress: long work says how far it got */

#include <stdio.h>

#define CLI_MAX_OPTS 24

/* A command's options, ended by an entry whose name is NULL; that entry's
 * help, when set, is the example --help prints ("huiji member apply ..."). */
typedef struct cli_opt {
	const char *name; /* without the leading "--" */
	int has_arg;
	const char *help;
} cli_opt;

typedef struct cli {
	const char *cmd; /* e.g. "member apply" */
	const cli_opt *opts;
	const char *vals[CLI_MAX_OPTS];
	int set[CLI_MAX_OPTS];
	int no_dir; /* CLI_NO_DIR: the command opens no node */
} cli;

/* Parse argv (after the subcommand words). Prints help and returns 1 for
 * --help; returns a negative code with the message set for unknown options
 * or missing values. --dir is accepted by every command. */
int cli_parse(cli *c, const char *cmd, const cli_opt *opts, int argc, char **argv);
/* The same with flags: CLI_NO_DIR for a command that opens no node
 * (audit, version): --dir is not one of its options. */
#define CLI_NO_DIR 1
int cli_parse_flags(cli *c, const char *cmd, const cli_opt *opts, int flags, int argc, char **argv);
/* cli_parse for a command with one file argument before its options
 * (`import platform FILE.csv`, `compare roster FILE.csv`; cmd names the
 * placeholder): *path is the file. --help anywhere is help (returns 1),
 * never a file named --help; no file is a usage error. */
int cli_parse_file(cli *c, const char **path, const char *cmd, const cli_opt *opts, int argc, char **argv);
const char *cli_get(const cli *c, const char *name);
int cli_flag(const cli *c, const char *name);
/* A required option: the value, or NULL with the message set. */
const char *cli_need(const cli *c, const char *name);

/* The date a dated op records: --on as given, else today by this
 * computer's clock (written to today[]). *given says which, so the output
 * can say it: a county's clock may be off, and the clerk should see the
 * date that was signed (issue 7 #13). */
const char *cli_date(const cli *c, char today[11], int *given);
/* What the output adds after a date that was not given. */
#define CLI_TODAY_NOTE " (today by this computer's clock; --on to change)"

/* The node directory: --dir, else $HUIJI_DIR, else ".". */
const char *cli_dir(const cli *c);
int cli_open_node(const cli *c, hj_node **out);

/* The exit status of each kind of failure (README "Exit codes"). 1 keeps
 * the meaning it always had: a check failed or a rule refused. */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_REFUSED = 1, /* a rule refused, did not verify, discrepancies, rows refused */
	CLI_EXIT_USAGE = 2,   /* bad arguments or input (HJ_EINVALID, HJ_EEXISTS, HJ_ETOOBIG) */
	CLI_EXIT_NOTFOUND = 3, /* a named thing does not exist (HJ_ENOTFOUND) */
	CLI_EXIT_IO = 4,      /* the disk, the database, git, memory (HJ_ERROR, HJ_ENOMEM) */
	CLI_EXIT_NET = 5,     /* the network (HJ_ENET) */
	CLI_EXIT_VERSION = 6, /* from a newer huiji: upgrade (HJ_EVERSION) */
	CLI_EXIT_PERM = 7,    /* unsafe permissions or no authority (HJ_EPERM) */
};
/* The exit status for a code (0 for 0). */
int cli_exit_code(int rc);

/* Turn a code into the exit status (cli_exit_code) and print
 * "huiji: <message>" once. */
int cli_fail(int rc);

/* A command's subcommands, ended by {NULL}. fn gets the arguments after
 * the subcommand's word and returns the exit status. */
typedef struct cli_sub {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help; /* one line, shown by `huiji CMD --help`; NULL: an alias, not listed */
} cli_sub;

/* Run the subcommand argv[0] of `cmd` ("member"; NULL: huiji's own
 * commands). --help / -h: the list on stdout, exit 0; none: the list on
 * stderr, exit 2; a misspelt one: named, with the nearest as a
 * suggestion, exit 2. The list reads "  NAME  HELP" under a line ending in
 * "commands:" (test_cli.py parses it). */
int cli_dispatch(const char *cmd, const cli_sub *subs, int argc, char **argv);

/* The nearest of `names` (NULL-terminated, or a stride through an array
 * of structs whose first member is the name) to `typed`, or NULL when
 * none is near enough to suggest. */
const char *cli_suggest(const char *typed, const char *const *names, size_t stride);

/* `value` must be a code of a vocabulary table (schema/003_vocab.sql):
 * "worker_group", "channel", "platform", "org_kind" or "service_kind". NULL passes.
 * Refused: "unknown <what> '<value>': one of a, b, ..." (HJ_EINVALID);
 * show_value 0 leaves the value out (an import row's cell may hold
 * personal data in the wrong column). */
int cli_check_vocab(hj_node *n, const char *what, const char *table, const char *value, int show_value);
/* The same for a fixed list (NULL-terminated). */
int cli_check_choice(const char *what, const char *value, const char *const *choices);

/* Time for people: local time with the zone, "2026-12-01 23:40 +0800"
 * (TZ decides). From ms since the epoch, or from the UTC ISO text
 * hj_clock_utc_iso writes (other text is copied as it is). */
#define CLI_TIME_MAX 40
void cli_time_ms(char out[CLI_TIME_MAX], int64_t ms);
void cli_time_iso(char out[CLI_TIME_MAX], const char *iso);

/* --json of a list: one JSON array on stdout, an element a line, streamed
 * (begin, add..., end). add frees the object; a failed command stops
 * without end, and its exit status says so. */
typedef struct cli_jlist {
	size_t n;
} cli_jlist;
void cli_jlist_begin(cli_jlist *l);
int cli_jlist_add(cli_jlist *l, hj_json *o);
void cli_jlist_end(cli_jlist *l);

/* huiji --version: the program's version and the formats it speaks. */
int cli_version(int argc, char **argv);

/* Commit a single-op command: begin, apply, commit; print a rejection as an
 * error. On success prints nothing and fills id_out (the op's id). */
int cli_run_op(hj_node *n, hj_json *op, char *id_out, size_t id_outsz);

/* A new op object {"op": name, "v": 1}; NULL on OOM. */
hj_json *cli_op_new(const char *name);

/* init and hub init share one implementation. */
int cli_init(int argc, char **argv, int hub);
/* Write committed change sets to the node's git feed (the outbox). A
 * failure here loses nothing: the next command writes them. */
int cli_flush_outbox(hj_node *n);

/* Subcommands. Each returns the process exit status. */
int cmd_init(int argc, char **argv);
int cmd_org(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_member(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_hub(int argc, char **argv);
int cmd_hook(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_service(int argc, char **argv); /* cmd_service.c */
/* cmd_coverage.c: surveys and dated targets */
int cmd_survey(int argc, char **argv);
int cmd_target(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_compare(int argc, char **argv); /* cmd_compare.c: compare roster */
int cmd_recover(int argc, char **argv);
/* cmd_transfer.c */
int cmd_member_hand_down(int argc, char **argv);
int cmd_member_transfer(int argc, char **argv);
int cmd_member_decide_transfer(int argc, char **argv, int accept);
int cmd_member_transfers(int argc, char **argv);
/* The record's chain, oldest first: a table on stdout, or (json_into
 * set) its "history" array. */
int cli_member_history(hj_node *n, const char *member, hj_json *json_into);
/* cmd_peer.c: hub peer, hub peers; the peers the last pass failed to follow, on stderr */
int cmd_hub_peer(int argc, char **argv);
int cmd_hub_peers(int argc, char **argv);
int cli_peer_warnings(hj_node *hub);
/* `status` at a hub: the line saying how many transfers across provinces
 * are operator conflicts (none: nothing printed). */
int cli_province_conflicts(hj_node *hub);
/* cmd_status.c: the hub's rejections of this node's own ops, one a line on
 * f, with what each names (the union, or the province and union, holding
 * the person); newest > 0: only the newest that many. */
int cli_print_rejected(hj_node *n, FILE *f, int64_t newest);
/* The hub's rejection of this node's op `opid` as one line on f: 1 said,
 * 0 not one (not this node's, not sequenced, or applied), <0 error. */
int cli_print_rejection_of(hj_node *n, FILE *f, const char *opid);



/* progress.c — the printer behind hj_progress: one line on stderr,
 * rewritten in place ("import: 1200 of 5000 rows (24%), about 12 s
 * left"), at most five times a second, only when stderr is a terminal;
 * nothing at all when it is not (logs and tests stay clean). */
typedef struct cli_progress {
	const char *label; /* "import", "sync", ... */
	FILE *f;           /* NULL: inert (not a terminal) */
	int64_t start_ms, last_ms;
	int shown;         /* a line is on the screen: cli_progress_end ends it */
} cli_progress;

/* A printer for `label` on stderr if it is a terminal (HUIJI_PROGRESS=0
 * turns it off, =1 forces it on any stream), and the hj_progress to hand
 * to the library. */
hj_progress cli_progress_start(cli_progress *p, const char *label);
/* The line for `done` of `total` at `now_ms` (total 0: unknown), into
 * out; exposed for the unit test. */
void cli_progress_line(char *out, size_t outsz, const cli_progress *p, const char *what, uint64_t done,
		       uint64_t total, int64_t now_ms);
/* Wipes the line before something else is said on stderr (the next
 * report draws it again). */
void cli_progress_clear(cli_progress *p);
/* Ends the line (a newline) if one was shown. */
void cli_progress_end(cli_progress *p);


/* Print `o` as one compact JSON line and free it (a command's one JSON
 * object; a list is a cli_jlist). */
int cli_json_line(hj_json *o);
#endif
