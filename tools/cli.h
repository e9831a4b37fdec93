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
} cli;

/* Parse argv (after the subcommand words). Prints help and returns 1 for
 * --help; returns a negative code with the message set for unknown options
 * or missing values. --dir is accepted by every command. */
int cli_parse(cli *c, const char *cmd, const cli_opt *opts, int argc, char **argv);
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

/* Turn a code into the exit status and print "huiji: <message>" once.
 * 1 = a check failed or a rule refused (did not verify, rejected op);
 * 2 = any other error (bad input, I/O). */
int cli_fail(int rc);

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
int cli_member_history(hj_node *n, const char *member);
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



/* Print `o` as one compact JSON line and free it. */
int cli_json_line(hj_json *o);
#endif
