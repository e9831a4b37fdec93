/*
 * huiji.c — the `huiji` command: one binary, one subcommand per job.
 */
#include "cli.h"
#include "envelope.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{"init", cmd_init, "make a node directory (root, or a county following a hub)"},
	{"org", cmd_org, "create|update|list the union tree"},
	{"node", cmd_node, "enroll|list nodes (hub)"},
	{"member", cmd_member, "apply|approve|reject|update|leave|hand-down|transfer|accept|decline|transfers|show|list"},
	{"import", cmd_import, "platform FILE.csv: a platform's list of applicants, bad rows reported"},
	{"status", cmd_status, "this node: feed, registry"},
	{"compare", cmd_compare, "roster FILE.csv: a driver list against the roll, who is not yet reached"},
	{"service", cmd_service, "define|update|point|deliver|list|deliveries: the services ledger (yuan)"},
	{"survey", cmd_survey, "record|list: estimated workers of a group in a union's area"},
	{"target", cmd_target, "set|list: the membership rate due by a date"},
	{"report", cmd_report, "coverage|progress|services|all: the union's work, as text, CSV, JSON or HTML"},
	{"verify", cmd_verify, "verify this node's feed and re-fold it"},
	{"log", cmd_log, "show the feed, ops decoded [--json]"},
	{"sync", cmd_sync, "push this node's feed, fetch the hub's, rebase"},
	{"recover", cmd_recover, "--from OLD_DIR: re-issue a forked copy's unsequenced work at this new node"},
	{"hub", cmd_hub, "init|run|quarantine|peer|peers: the provincial hub"},
	{"audit", cmd_audit, "check a hub repository from its signed records (no node needed)"},
	{"hook", cmd_hook, "pre-receive: the hub repository's guard (run by git)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: huiji <command> [options]   (huiji <command> --help)\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	/* A dropped connection must be an error code, never a killed process
	 * (libgit2 1.5.1 writes to sockets without MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	int rc = 2;
	size_t i;
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			break;
	if (i == sizeof commands / sizeof commands[0]) {
		fprintf(stderr, "huiji: unknown command '%s' (huiji --help lists them)\n", argv[1]);
	} else {
		rc = commands[i].fn(argc - 2, argv + 2);
	}
	hj_envelope_thread_cleanup();
	return rc;
}
