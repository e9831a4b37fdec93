/*
 * cmd_hub.c — the provincial hub: `huiji hub init|run|quarantine` and the
 * `huiji hook pre-receive` that guards the hub repository.
 */
#include "cli.h"
#include "error.h"
#include "hook.h"
#include "outbox.h"
#include "sequencer.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const cli_opt run_opts[] = {
	{"once", 0, "one pass, then exit"},
	{"interval", 1, "seconds between passes (default 10)"},
	{NULL, 0, NULL},
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
	if ((rc = cli_open_node(&c, &hub)) || (rc = hj_node_repo_open(&repo, hub)))
		goto done;
	for (;;) {
		if ((rc = hj_hub_sequence(hub, repo, &rep)))
			break;
		printf("hub: %" PRIu64 " sequence entries, %" PRIu64 " change sets, %" PRIu64 " ops (%" PRIu64
		       " rejected), %" PRIu64 " quarantined, %" PRIu64 " feeds waiting for enrolment\n",
		       rep.entries, rep.change_sets, rep.ops, rep.rejected, rep.quarantined, rep.waiting);
		fflush(stdout);
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
	{"json", 0, "one JSON object per line"},
	{"reset", 1, "NODE: resolve it: put the node's feed ref back to what the hub sequenced "
		     "(the evidence stays listed as resolved)"},
	{"all", 0, "list resolved entries too"},
	{NULL, 0, NULL},
};

/* The operator's resolution of a quarantined feed: the node's feed ref goes
 * back to the history the hub sequenced (or away, if nothing of it was:
 * e.g. a feed id squatted before its node was enrolled). The forked tail
 * stays as evidence in the quarantine table; the node must push a feed
 * that continues the sequenced one (a restored copy must be re-initialised
 * under a new node id). */
static int quarantine_reset(hj_node *hub, const char *node)
{
	hj_gitrepo *repo = NULL;
	char fref[160], sref[160], now[32];
	git_oid soid;
	time_t t = time(NULL);
	int rc;
	if ((rc = hj_node_id_check(node)))
		return rc;
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(fref, sizeof fref, "refs/huiji/feeds/%s", node);
	snprintf(sref, sizeof sref, "refs/huiji/sequenced/%s", node);
	if ((rc = hj_node_repo_open(&repo, hub)))
		return rc;
	rc = hj_gitrepo_ref_get(&soid, repo, sref);
	if (rc == 0)
		rc = hj_gitrepo_ref_set(repo, fref, &soid, "huiji: quarantine reset");
	else if (rc == HJ_ENOTFOUND && (rc = hj_gitrepo_ref_delete(repo, fref)) == HJ_ENOTFOUND)
		rc = 0;
	hj_gitrepo_close(repo);
	if (rc)
		return rc;
	sqlite3_stmt *st = hj_db_stmt(hub->db, "UPDATE quarantine SET resolved_at = :t WHERE node = :n AND resolved_at IS NULL");
	if (!st || hj_db_bind_text(st, ":t", now) || hj_db_bind_text(st, ":n", node) || hj_db_step(hub->db, st) < 0)
		return HJ_ERROR;
	printf("%s: feed reset to the sequenced history; %d quarantine entries marked resolved (kept as evidence)\n",
	       node, sqlite3_changes(hub->db->h));
	return 0;
}

static int hub_quarantine(int argc, char **argv)
{
	cli c;
	hj_node *hub = NULL;
	int rc = cli_parse(&c, "hub quarantine", q_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &hub)))
		return cli_fail(rc);
	if (cli_get(&c, "reset")) {
		rc = quarantine_reset(hub, cli_get(&c, "reset"));
		goto done;
	}
	sqlite3_stmt *st = hj_db_stmt(hub->db, "SELECT node, seq, reason, detail, hex(hash), coalesce(commit_id, ''), "
					       "length(evidence), coalesce(resolved_at, '') FROM quarantine "
					       "WHERE :all OR resolved_at IS NULL ORDER BY node, seq");
	if (st && hj_db_bind_int(st, ":all", cli_flag(&c, "all")))
		st = NULL;
	int rows = 0;
	while (st && (rc = hj_db_step(hub->db, st)) == 1) {
		rows++;
		if (cli_flag(&c, "json")) {
			hj_json *o = hj_json_new(HJ_JOBJ);
			if (o && (hj_json_set_str(o, "node", hj_db_col_text(st, 0)) ||
				  hj_json_set_int(o, "seq", sqlite3_column_int64(st, 1)) ||
				  hj_json_set_str(o, "reason", hj_db_col_text(st, 2)) ||
				  hj_json_set_str(o, "detail", hj_db_col_text(st, 3)) ||
				  hj_json_set_str(o, "hash", hj_db_col_text(st, 4)) ||
				  hj_json_set_str(o, "commit", hj_db_col_text(st, 5)) ||
				  hj_json_set_int(o, "evidence_bytes", sqlite3_column_int64(st, 6)) ||
				  hj_json_set_str(o, "resolved_at", *hj_db_col_text(st, 7) ? hj_db_col_text(st, 7) : NULL)))
				o = (hj_json_free(o), NULL);
			if ((rc = cli_json_line(o)))
				break;
		} else {
			printf("%s seq %lld: %s — %s (evidence: %lld bytes kept, commit %.12s)%s%s\n",
			       hj_db_col_text(st, 0), (long long)sqlite3_column_int64(st, 1), hj_db_col_text(st, 2),
			       hj_db_col_text(st, 3), (long long)sqlite3_column_int64(st, 6), hj_db_col_text(st, 5),
			       *hj_db_col_text(st, 7) ? " resolved " : "", hj_db_col_text(st, 7));
		}
	}
	if (rc >= 0 && rows == 0 && !cli_flag(&c, "json"))
		printf("nothing quarantined\n");
	rc = st ? (rc < 0 ? rc : 0) : HJ_ERROR;
done:
	hj_node_close(hub);
	return cli_fail(rc);
}

int cmd_hub(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";
	if (strcmp(sub, "init") == 0)
		return cli_init(argc - 1, argv + 1, 1);
	if (strcmp(sub, "run") == 0)
		return hub_run(argc - 1, argv + 1);
	if (strcmp(sub, "quarantine") == 0)
		return hub_quarantine(argc - 1, argv + 1);
	return cli_fail(hj_error_set(HJ_EINVALID, "usage: huiji hub init|run|quarantine [--help]"));
}

static const cli_opt hook_opts[] = {{NULL, 0, NULL}};

/* git runs this with "old new ref" lines on stdin; any refusal refuses
 * the whole push, and each refusal is one line the pusher sees. */
int cmd_hook(int argc, char **argv)
{
	cli c;
	hj_node *hub = NULL;
	hj_gitrepo *repo = NULL;
	char line[1024], old_hex[64], new_hex[64], ref[900];
	int refused = 0;
	if (argc < 1 || strcmp(argv[0], "pre-receive") != 0)
		return cli_fail(hj_error_set(HJ_EINVALID, "usage: huiji hook pre-receive --dir HUB"));
	int rc = cli_parse(&c, "hook pre-receive", hook_opts, argc - 1, argv + 1);
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
