/*
 * cmd_status.c — `huiji status`: answers locally, always (no network):
 * who this node is, its feed, what the registry holds, what waits for the
 * hub, and which of its own ops the hub rejected, with the reasons.
 */
#include "cli.h"
#include "error.h"
#include "feed.h"
#include "followed.h"
#include "hub_entry.h"
#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
	{"json", 0, "print one JSON object"},
	{NULL, 0, NULL},
};

/* The hub's rejections of this node's own ops: sequenced change sets of
 * this node whose verdicts hold something other than "ok". */
static const char *rejected_sql = "SELECT seq, envelope, verdicts FROM followed "
				  "WHERE node = :n AND verdicts LIKE '%[%' ORDER BY pos";

static int count_rejected(hj_node *n, int64_t *out)
{
	*out = 0;
	sqlite3_stmt *st = hj_db_stmt(n->db, rejected_sql);
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":n", n->id);
	while (!rc && (rc = hj_db_step(n->db, st)) == 1) {
		hj_json *vd = NULL;
		if (hj_hub_verdicts_parse(&vd, hj_db_col_text(st, 2), HJ_HUB_NOPS_ANY) == 0)
			*out += (int64_t)hj_hub_verdicts_rejected(vd);
		hj_json_free(vd);
		rc = 0;
	}
	hj_db_release(n->db, st);
	return rc < 0 ? rc : 0;
}

/* A duplicate_province holder "<province>/<union>" said with the
 * province's name, as this node's peer table has it (province.peer). */
static void print_province_holder(hj_node *n, FILE *f, const char *holder)
{
	char prov[65], *name = NULL;
	const char *slash = strchr(holder, '/');
	snprintf(prov, sizeof prov, "%.*s", slash ? (int)(slash - holder) : (int)strlen(holder), holder);
	if (hj_db_get_text(&name, n->db, "SELECT name FROM peer WHERE province = :p", ":p", prov))
		name = NULL;
	fprintf(f, ": held in province %s%s%s%s%s%s", prov, name ? " (" : "", name ? name : "", name ? ")" : "",
		slash ? ", union " : "", slash ? slash + 1 : "");
	free(name);
}

int cli_print_rejection_of(hj_node *n, FILE *f, const char *opid)
{
	char node[HJ_NODE_ID_MAX + 2];
	unsigned long long seq = 0;
	size_t idx = 0;
	int used = 0;
	if (sscanf(opid, "%65[^:]:%llu:%zu%n", node, &seq, &idx, &used) != 3 || opid[used] || strcmp(node, n->id) != 0)
		return 0;
	sqlite3_stmt *st = hj_db_stmt(n->db, "SELECT verdicts FROM followed WHERE node = :n AND seq = :s");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":n", n->id) || hj_db_bind_int(st, ":s", (int64_t)seq) ? HJ_ERROR : hj_db_step(n->db, st);
	hj_json *vd = NULL;
	const char *reason = NULL, *detail = NULL;
	if (rc == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    hj_hub_verdicts_parse(&vd, hj_db_col_text(st, 0), HJ_HUB_NOPS_ANY) == 0 && vd &&
	    !hj_hub_verdict_at(vd, idx, &reason, &detail) && reason) {
		detail = detail ? detail : "";
		fprintf(f, "huiji: %s was rejected by the hub: %s", opid, reason);
		if (strcmp(reason, "duplicate_province") == 0 && detail[0] && !strchr(detail, ' '))
			print_province_holder(n, f, detail);
		else if (detail[0])
			fprintf(f, "%s%s", strcmp(reason, "duplicate_member") == 0 && !strchr(detail, ' ') ? ": held by " : ": ",
				detail);
		fprintf(f, "\n");
	}
	hj_json_free(vd);
	hj_db_release(n->db, st);
	return rc < 0 ? rc : reason != NULL;
}

int cli_print_rejected(hj_node *n, FILE *f, int64_t newest)
{
	int64_t total = 0, seen = 0;
	int rc = newest ? count_rejected(n, &total) : 0;
	sqlite3_stmt *st = rc ? NULL : hj_db_stmt(n->db, rejected_sql);
	if (!st)
		return rc ? rc : HJ_ERROR;
	if ((rc = hj_db_bind_text(st, ":n", n->id))) {
		hj_db_release(n->db, st);
		return rc;
	}
	while ((rc = hj_db_step(n->db, st)) == 1) {
		hj_json *vd = NULL;
		if (hj_hub_verdicts_parse(&vd, hj_db_col_text(st, 2), HJ_HUB_NOPS_ANY) || !vd)
			continue;
		size_t at = 0, op = 0;
		const char *reason = NULL, *detail = NULL;
		while (hj_hub_rejection_next(vd, &at, &op, &reason, &detail)) {
			/* The code always; then the v1 sentence, or what a compact
			 * verdict names: the union already holding the person. */
			int holder = strcmp(reason, "duplicate_member") == 0 && detail[0] && !strchr(detail, ' ');
			int province = strcmp(reason, "duplicate_province") == 0 && detail[0] && !strchr(detail, ' ');
			if (newest && seen++ < total - newest)
				continue;
			fprintf(f, "  %s:%lld:%zu  %s", n->id, (long long)sqlite3_column_int64(st, 0), op, reason);
			if (province)
				print_province_holder(n, f, detail);
			else
				fprintf(f, "%s%s", detail[0] ? (holder ? ": held by " : ": ") : "", detail);
			fprintf(f, "\n");
		}
		hj_json_free(vd);
	}
	hj_db_release(n->db, st);
	return rc < 0 ? rc : 0;
}

int cmd_status(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	uint64_t seq;
	uint8_t hash[32];
	char hex[65], pk[65];
	int64_t members = 0, open = 0, orgs = 0, pending = 0, quarantined = 0, rejected = 0, peers = 0, peers_failing = 0;
	char *last_sync = NULL, *last_fail = NULL, *hub_url = NULL;
	int rc = cli_parse(&c, "status", opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if ((rc = hj_feed_last(n->db, &seq, hash)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM membership WHERE status = 'active'", NULL, NULL, &members)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM membership WHERE status = 'applied'", NULL, NULL, &open)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM org", NULL, NULL, &orgs)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM quarantine", NULL, NULL, &quarantined)) ||
	    (rc = count_rejected(n, &rejected)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM peer", NULL, NULL, &peers)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM peer_state WHERE failed_at IS NOT NULL", NULL, NULL,
				&peers_failing)))
		goto done;
	/* Unset meta keys print as "never"/"(none)"; a failed read fails. */
	if ((rc = hj_pending_count(&pending, n)) ||
	    ((rc = hj_meta_get(&last_sync, n->db, "last_sync")) && rc != HJ_ENOTFOUND) ||
	    ((rc = hj_meta_get(&last_fail, n->db, "last_sync_failure")) && rc != HJ_ENOTFOUND) ||
	    ((rc = hj_meta_get(&hub_url, n->db, "hub_url")) && rc != HJ_ENOTFOUND))
		goto done;
	rc = 0;
	hj_hex_encode(hex, hash, 32);
	hj_hex_encode(pk, n->pk, 32);
	if (cli_flag(&c, "json")) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (o && (hj_json_set_str(o, "node", n->id) || hj_json_set_str(o, "union", n->union_id) ||
			  hj_json_set_str(o, "role", n->is_root ? "root" : "county") || hj_json_set_str(o, "pubkey", pk) ||
			  hj_json_set_int(o, "feed_length", (int64_t)seq) || hj_json_set_int(o, "last_seq", (int64_t)seq) ||
			  hj_json_set_str(o, "last_hash", hex) || hj_json_set_int(o, "active_members", members) ||
			  hj_json_set_int(o, "open_applications", open) || hj_json_set_int(o, "orgs", orgs) ||
			  hj_json_set_int(o, "pending_change_sets", pending) || hj_json_set_int(o, "rejected_ops", rejected) ||
			  hj_json_set_int(o, "quarantined", quarantined) || hj_json_set_str(o, "hub", hub_url) ||
			  hj_json_set_int(o, "peers", peers) || hj_json_set_int(o, "peers_failing", peers_failing) ||
			  hj_json_set_str(o, "last_sync", last_sync) || hj_json_set_str(o, "last_sync_failure", last_fail)))
			o = (hj_json_free(o), NULL);
		rc = cli_json_line(o);
	} else {
		printf("node        %s (%s)\nunion       %s\npublic key  %s\nfeed        %" PRIu64
		       " change sets, last seq %" PRIu64 " (%.16s)\nregistry    %lld active members, "
		       "%lld open applications, %lld orgs\n",
		       n->id, n->is_root ? "root" : "county", n->union_id, pk, seq, seq, hex, (long long)members,
		       (long long)open, (long long)orgs);
		if (!n->is_root)
			printf("hub         %s\nlast sync   %s%s%s\npending     %lld change sets not yet sequenced by the hub\n",
			       hub_url ? hub_url : "(none)", last_sync ? last_sync : "never",
			       last_fail && (!last_sync || strcmp(last_fail, last_sync) > 0) ? "; last failed attempt " : "",
			       last_fail && (!last_sync || strcmp(last_fail, last_sync) > 0) ? last_fail : "",
			       (long long)pending);
		else
			printf("quarantine  %lld change sets (huiji hub quarantine)\n", (long long)quarantined);
		if (n->is_root && peers)
			printf("peers       %lld provinces followed, %lld failing at the last attempt (huiji hub peers)\n",
			       (long long)peers, (long long)peers_failing);
		if (n->is_root && peers && (rc = cli_province_conflicts(n)))
			goto done;
		if (rejected) {
			printf("rejected by the hub (needs attention):\n");
			rc = cli_print_rejected(n, stdout, 0);
		}
	}
done:
	free(last_sync);
	free(last_fail);
	free(hub_url);
	hj_node_close(n);
	return cli_fail(rc);
}
