/*
 * cmd_hub.c — the provincial hub: `huiji hub init|run|quarantine` and the
 * `huiji hook pre-receive` that guards the hub repository.
 */
#include "cli.h"
#include "error.h"
#include "table.h"
#include "hook.h"
#include "outbox.h"
#include "quarantine.h"
#include "sequencer.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cli_opt run_opts[] = {
	{"once", 0, "one pass, then exit"},
	{"interval", 1, "seconds between passes (default 10)"},
	{"peer-timeout", 1, "seconds following one peer province may take (default 120)"},
	{"json", 0, "each pass's counts as one JSON object (--once: the one document)"},
	{NULL, 0, "huiji hub run --once --dir /srv/huiji/qh-hub"},
};

static int hub_run(int argc, char **argv)
{
	cli c;
	hj_node *hub = NULL;
	hj_gitrepo *repo = NULL;
	hj_seq_report rep;
	int rc = cli_parse(&c, "hub run", run_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	int interval = cli_get(&c, "interval") ? atoi(cli_get(&c, "interval")) : 10;
	if (interval < 1)
		return cli_fail(hj_error_set(HJ_EINVALID, "hub run: --interval must be >= 1"));
	hj_net_opts peer_net = {0};
	hj_seq_opts so = {.peer_net = cli_get(&c, "peer-timeout") ? &peer_net : NULL};
	int pt = so.peer_net ? atoi(cli_get(&c, "peer-timeout")) : 0;
	if (so.peer_net && (pt < 1 || pt > 3600))
		return cli_fail(hj_error_set(HJ_EINVALID, "hub run: --peer-timeout must be 1-3600 seconds"));
	peer_net.connect_timeout_ms = peer_net.idle_timeout_ms = peer_net.total_timeout_ms = pt * 1000;
	if ((rc = cli_open_node(&c, &hub)) || (rc = hj_node_repo_open(&repo, hub)))
		goto done;
	for (;;) {
		cli_progress prog;
		so.progress = cli_progress_start(&prog, "hub run");
		rc = hj_hub_sequence_opts(hub, repo, &so, &rep);
		cli_progress_end(&prog);
		if (rc)
			break;
		if (cli_flag(&c, "json")) {
			hj_json *o = hj_json_new(HJ_JOBJ);
			if (o && (hj_json_set_int(o, "entries", (int64_t)rep.entries) ||
				  hj_json_set_int(o, "change_sets", (int64_t)rep.change_sets) ||
				  hj_json_set_int(o, "ops", (int64_t)rep.ops) || hj_json_set_int(o, "rejected", (int64_t)rep.rejected) ||
				  hj_json_set_int(o, "quarantined", (int64_t)rep.quarantined) ||
				  hj_json_set_int(o, "waiting", (int64_t)rep.waiting)))
				o = (hj_json_free(o), NULL);
			if ((rc = cli_json_line(o)))
				break;
		} else
			printf("hub: %" PRIu64 " sequence entries, %" PRIu64 " change sets, %" PRIu64 " ops (%" PRIu64
			       " rejected), %" PRIu64 " quarantined, %" PRIu64 " feeds waiting for enrolment\n",
			       rep.entries, rep.change_sets, rep.ops, rep.rejected, rep.quarantined, rep.waiting);
		fflush(stdout);
		if ((rc = cli_peer_warnings(hub))) /* a peer never fails the pass; it is said */
			break;
		if (cli_flag(&c, "once"))
			break;
		sleep((unsigned)interval);
	}
done:
	hj_gitrepo_close(repo);
	hj_node_close(hub);
	return cli_fail(rc);
}

static const cli_opt q_opts[] = {
	{"json", 0, "print one JSON array, an entry an element"},
	{"reset", 1, "NODE: resolve it: put the node's feed ref back to what the hub sequenced "
		     "(the evidence stays listed as resolved)"},
	{"all", 0, "list resolved entries too"},
	{NULL, 0, "huiji hub quarantine --all"},
};

typedef struct listing {
	cli *c;
	int rows;
	cli_jlist l;
	cli_table *t;
} listing;

static int print_row(void *ctx, const hj_quarantine_row *q)
{
	listing *l = ctx;
	l->rows++;
	if (cli_flag(l->c, "json")) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (o && (hj_json_set_str(o, "node", q->node) || hj_json_set_int(o, "seq", q->seq) ||
			  hj_json_set_str(o, "reason", q->reason) || hj_json_set_str(o, "detail", q->detail) ||
			  hj_json_set_str(o, "hash", q->hash) || hj_json_set_str(o, "commit", q->commit) ||
			  hj_json_set_int(o, "evidence_bytes", q->evidence_bytes) ||
			  hj_json_set_str(o, "resolved_at", q->resolved_at)))
			o = (hj_json_free(o), NULL);
		return cli_jlist_add(&l->l, o);
	}
	char seq[24], bytes[24], resolved[CLI_TIME_MAX], commit[16];
	snprintf(seq, sizeof seq, "%lld", (long long)q->seq);
	snprintf(bytes, sizeof bytes, "%lld", (long long)q->evidence_bytes);
	snprintf(commit, sizeof commit, "%.12s", q->commit ? q->commit : "");
	if (q->resolved_at)
		cli_time_iso(resolved, q->resolved_at);
	const char *cells[] = {q->node, seq, q->reason, q->detail, bytes, commit, q->resolved_at ? resolved : NULL};
	return cli_table_add(l->t, cells);
}

static int hub_quarantine(int argc, char **argv)
{
	cli c;
	hj_node *hub = NULL;
	hj_gitrepo *repo = NULL;
	int64_t resolved = 0;
	int rc = cli_parse(&c, "hub quarantine", q_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &hub)))
		return cli_fail(rc);
	if (cli_get(&c, "reset")) {
		const char *node = cli_get(&c, "reset");
		/* The sequenced ref first brought up to the registry (a killed
		 * hub run may have left it behind): the reset puts the feed there. */
		if (!(rc = hj_node_repo_open(&repo, hub)) && !(rc = hj_hub_publish(hub, repo)) &&
		    !(rc = hj_quarantine_reset(&resolved, hub, repo, node)) && cli_flag(&c, "json")) {
			hj_json *o = hj_json_new(HJ_JOBJ);
			if (o && (hj_json_set_str(o, "node", node) || hj_json_set_int(o, "resolved", resolved)))
				o = (hj_json_free(o), NULL);
			rc = cli_json_line(o);
		} else if (!rc)
			printf("%s: feed reset to the sequenced history; %lld quarantine entries marked resolved "
			       "(kept as evidence)\n", node, (long long)resolved);
		goto done;
	}
	static const char *const heads[] = {"node", "seq", "reason", "detail", "evidence bytes", "commit", "resolved",
					    NULL};
	listing l = {&c, 0, {0}, NULL};
	int json = cli_flag(&c, "json");
	if (json)
		cli_jlist_begin(&l.l);
	else if (!(l.t = cli_table_new(heads))) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	} else {
		cli_table_right(l.t, 1);
		cli_table_right(l.t, 4);
		cli_table_max_width(l.t, 3, 60);
	}
	rc = hj_quarantine_list(hub->db, cli_flag(&c, "all"), print_row, &l);
	if (rc == 0 && json)
		cli_jlist_end(&l.l);
	else if (rc == 0 && l.rows == 0)
		printf("nothing quarantined\n");
	else if (rc == 0)
		rc = cli_table_print(l.t, stdout);
	cli_table_free(l.t);
done:
	hj_gitrepo_close(repo);
	hj_node_close(hub);
	return cli_fail(rc);
}

static int hub_init(int argc, char **argv)
{
	return cli_init(argc, argv, 1);
}

int cmd_hub(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"init", hub_init, "make a province's hub directory (its root union, the served repository)"},
		{"run", hub_run, "sequence the counties' feeds (--once: one pass)"},
		{"quarantine", hub_quarantine, "change sets the hub refused, kept as evidence (--reset NODE)"},
		{"peer", cmd_hub_peer, "enrol another province's hub as a peer"},
		{"peers", cmd_hub_peers, "the peer provinces and how following each went"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("hub", subs, argc, argv);
}

static const cli_opt hook_opts[] = {{NULL, 0, "huiji hook pre-receive --dir HUB < refs"}};

/* git runs this with "old new ref" lines on stdin; any refusal refuses
 * the whole push, and each refusal is one line the pusher sees. */
static int hook_pre_receive(int argc, char **argv)
{
	cli c;
	hj_node *hub = NULL;
	hj_gitrepo *repo = NULL;
	char line[1024], old_hex[64], new_hex[64], ref[900];
	int refused = 0;
	int rc = cli_parse(&c, "hook pre-receive", hook_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &hub)) || (rc = hj_gitrepo_open(&repo, NULL, 0)))
		goto done;
	while (fgets(line, sizeof line, stdin)) {
		if (sscanf(line, "%63s %63s %899s", old_hex, new_hex, ref) != 3)
			continue;
		if (hj_hook_check(hub, repo, old_hex, new_hex, ref)) {
			fprintf(stderr, "huiji: refused: %s\n", hj_error_last());
			refused++;
		}
	}
done:
	hj_gitrepo_close(repo);
	hj_node_close(hub);
	if (rc)
		return cli_fail(rc);
	return refused ? 1 : 0;
}

int cmd_hook(int argc, char **argv)
{
	static const cli_sub subs[] = {
		{"pre-receive", hook_pre_receive, "check a push to the hub repository (git runs it; old new ref on stdin)"},
		{NULL, NULL, NULL},
	};
	return cli_dispatch("hook", subs, argc, argv);
}
