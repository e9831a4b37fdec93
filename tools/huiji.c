/*
 * huiji.c — the `huiji` command: one binary, one subcommand per job. The
 * commands are listed once here; cli_dispatch (cli.c) answers --help, a
 * missing command and a misspelt one the same way for every level.
 */
#include "cli.h"
#include "envelope.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const cli_sub commands[] = {
	{"init", cmd_init, "make a node directory (root, or a county following a hub)"},
	{"org", cmd_org, "the union tree: create, update, list"},
	{"node", cmd_node, "the nodes acting for unions: enroll, list"},
	{"member", cmd_member, "applications and memberships: apply, approve, ..., show, list"},
	{"import", cmd_import, "platform FILE.csv: a platform's list of applicants, bad rows reported"},
	{"status", cmd_status, "this node: feed, registry, what waits, rejections (--ack)"},
	{"compare", cmd_compare, "roster FILE.csv: a driver list against the roll, who is not yet reached"},
	{"service", cmd_service, "the services ledger: define, update, point, deliver, list, deliveries (yuan)"},
	{"survey", cmd_survey, "estimated workers of a group in a union's area: record, list"},
	{"target", cmd_target, "the membership rate due by a date: set, list"},
	{"report", cmd_report, "the union's work: coverage, progress, services, all (text, CSV, JSON, HTML)"},
	{"verify", cmd_verify, "verify this node's feed and re-fold it"},
	{"log", cmd_log, "show the feed, ops decoded"},
	{"sync", cmd_sync, "push this node's feed, fetch the hub's, rebase"},
	{"recover", cmd_recover, "--from OLD_DIR: re-issue a forked copy's unsequenced work at this new node"},
	{"hub", cmd_hub, "the provincial hub: init, run, quarantine, peer, peers"},
	{"audit", cmd_audit, "check a hub repository from its signed records (no node needed)"},
	{"hook", cmd_hook, "pre-receive: the hub repository's guard (run by git)"},
	{"version", cli_version, "the version and the formats this huiji speaks"},
	{NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	/* A dropped connection must be an error code, never a killed process
	 * (libgit2 1.5.1 writes to sockets without MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	int rc;
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
		rc = cli_version(argc - 2, argv + 2);
	else
		rc = cli_dispatch(NULL, commands, argc - 1, argv + 1);
	hj_envelope_thread_cleanup();
	return rc;
}
