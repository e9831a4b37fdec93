/*
 * cmd_status.c — `huiji status`: answers locally, always (no network):
 * who this node is, its feed, what the registry holds, what waits for the
 * hub, and which of its own ops the hub rejected, with the reasons. A
 * clerk who has dealt with a rejection acknowledges it (--ack), so the
 * list shows what still needs attention; the acknowledgement is this
 * node's alone (schema/019_rejection_ack.sql), never replicated.
 */
#include "cli.h"
#include "error.h"
#include "feed.h"
#include "followed.h"
#include "hub_entry.h"
#include "replay.h"
#include "table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
	{"json", 0, "print one JSON object (its rejections an array)"},
	{"ack", 1, "OP_ID or all: acknowledge the hub's rejection of that op (or of every one listed), so "
		   "status stops listing it"},
	{"all", 0, "list acknowledged rejections too"},
	{NULL, 0, "huiji status --ack qh-xn-cz:4:0"},
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

/* What a rejection names, for people: a duplicate_province holder
 * "<province>/<union>" with the province's name as this node's peer table
 * has it (province.peer), a compact duplicate_member's holding union, or
 * the v1 sentence; "" when the verdict carries the code alone. */
static void rejection_detail(hj_node *n, char *out, size_t outsz, const char *reason, const char *detail)
{
	detail = detail ? detail : "";
	if (strcmp(reason, "duplicate_province") == 0 && detail[0] && !strchr(detail, ' ')) {
		char prov[65], *name = NULL;
		const char *slash = strchr(detail, '/');
		snprintf(prov, sizeof prov, "%.*s", slash ? (int)(slash - detail) : (int)strlen(detail), detail);
		if (hj_db_get_text(&name, n->db, "SELECT name FROM peer WHERE province = :p", ":p", prov))
			name = NULL;
		snprintf(out, outsz, "held in province %s%s%s%s%s%s", prov, name ? " (" : "", name ? name : "",
			 name ? ")" : "", slash ? ", union " : "", slash ? slash + 1 : "");
		free(name);
	} else if (strcmp(reason, "duplicate_member") == 0 && detail[0] && !strchr(detail, ' ')) {
		snprintf(out, outsz, "held by %s", detail);
	} else {
		snprintf(out, outsz, "%s", detail);
	}
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
		char said[512];
		rejection_detail(n, said, sizeof said, reason, detail);
		fprintf(f, "huiji: %s was rejected by the hub: %s%s%s\n", opid, reason, said[0] ? ": " : "", said);
	}
	hj_json_free(vd);
	hj_db_release(n->db, st);
	return rc < 0 ? rc : reason != NULL;
}

/* Each rejection of this node's own ops, oldest first: fn(ctx, op id,
 * reason, what it names, when acknowledged or 0); nonzero from fn stops
 * with that code. newest > 0: only the newest that many. */
typedef int (*rejection_fn)(void *ctx, const char *opid, const char *reason, const char *said, int64_t acked_ms);

static int each_rejection(hj_node *n, int64_t newest, rejection_fn fn, void *ctx)
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
		rc = 0;
		while (!rc && hj_hub_rejection_next(vd, &at, &op, &reason, &detail)) {
			char opid[HJ_NODE_ID_MAX + 48], said[512];
			int64_t acked = 0;
			if (newest && seen++ < total - newest)
				continue;
			snprintf(opid, sizeof opid, "%s:%lld:%zu", n->id, (long long)sqlite3_column_int64(st, 0), op);
			rejection_detail(n, said, sizeof said, reason, detail);
			rc = hj_db_get_int(n->db, "SELECT acked_at FROM rejection_ack WHERE op = :o", ":o", opid, &acked);
			if (rc == HJ_ENOTFOUND)
				acked = 0, rc = 0;
			if (!rc)
				rc = fn(ctx, opid, reason, said, acked);
		}
		hj_json_free(vd);
		if (rc)
			break;
	}
	hj_db_release(n->db, st);
	return rc < 0 ? rc : 0;
}

static int print_line(void *ctx, const char *opid, const char *reason, const char *said, int64_t acked_ms)
{
	(void)acked_ms;
	fprintf(ctx, "  %s  %s%s%s\n", opid, reason, said[0] ? ": " : "", said);
	return 0;
}

int cli_print_rejected(hj_node *n, FILE *f, int64_t newest)
{
	return each_rejection(n, newest, print_line, f);
}

/* status's own view of the rejections: a table, a JSON array, counts,
 * or the acknowledgement of one (or all). */
typedef struct rview {
	int all;            /* --all: acknowledged ones too */
	const char *ack;    /* --ack: an op id, or "all" */
	int64_t open, acked, acked_now;
	cli_table *t;
	hj_json *arr;
	hj_node *n;
} rview;

static int view_one(void *ctx, const char *opid, const char *reason, const char *said, int64_t acked_ms)
{
	rview *v = ctx;
	int rc = 0;
	if (v->ack && !acked_ms && (strcmp(v->ack, "all") == 0 || strcmp(v->ack, opid) == 0)) {
		sqlite3_stmt *st = hj_db_stmt(v->n->db, "INSERT OR IGNORE INTO rejection_ack(op, acked_at) VALUES (:o, :t)");
		rc = !st || hj_db_bind_text(st, ":o", opid) || hj_db_bind_int(st, ":t", hj_clock_ms()) ? HJ_ERROR
												     : hj_db_step(v->n->db, st);
		hj_db_release(v->n->db, st);
		if (rc < 0)
			return rc;
		v->acked_now++;
		acked_ms = hj_clock_ms();
		if (strcmp(v->ack, "all") != 0)
			printf("acknowledged %s (%s); huiji status --all still lists it\n", opid, reason);
		return 0;
	}
	acked_ms ? v->acked++ : v->open++;
	if (acked_ms && !v->all)
		return 0;
	char when[CLI_TIME_MAX];
	if (acked_ms)
		cli_time_ms(when, acked_ms);
	if (v->arr) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (!o || hj_json_set_str(o, "op", opid) || hj_json_set_str(o, "reason", reason) ||
		    hj_json_set_str(o, "detail", said) ||
		    (acked_ms ? hj_json_set_int(o, "acknowledged_at", acked_ms) : hj_json_set(o, "acknowledged_at", hj_json_null())) ||
		    hj_json_append(v->arr, o))
			return hj_error_set(HJ_ENOMEM, "out of memory");
		return 0;
	}
	if (v->t) {
		const char *cells[] = {opid, reason, said[0] ? said : NULL, acked_ms ? when : NULL};
		return cli_table_add(v->t, cells);
	}
	return 0;
}

static int status_ack(hj_node *n, const char *ack, int json)
{
	rview v = {.ack = ack, .n = n};
	int rc = hj_db_exec(n->db, "BEGIN IMMEDIATE");
	if (!rc && !(rc = each_rejection(n, 0, view_one, &v)))
		rc = hj_db_exec(n->db, "COMMIT");
	if (rc) {
		hj_db_exec(n->db, "ROLLBACK");
		return rc;
	}
	if (!v.acked_now && strcmp(ack, "all") != 0)
		return hj_error_set(HJ_ENOTFOUND, "no open rejection %.80s of this node (huiji status lists them)", ack);
	if (json) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (o && hj_json_set_int(o, "acknowledged", v.acked_now))
			o = (hj_json_free(o), NULL);
		return cli_json_line(o);
	}
	if (strcmp(ack, "all") == 0)
		printf("acknowledged %lld rejections; huiji status --all still lists them\n", (long long)v.acked_now);
	return 0;
}

static void print_text(hj_node *n, const char *pk, const char *hex, uint64_t seq, const int64_t *k,
		       const char *hub_url, const char *last_sync, const char *last_fail)
{
	char sync_at[CLI_TIME_MAX], fail_at[CLI_TIME_MAX];
	int failed_since = last_fail && (!last_sync || strcmp(last_fail, last_sync) > 0);
	printf("node        %s (%s)\nunion       %s\npublic key  %s\nfeed        %" PRIu64
	       " change sets, last seq %" PRIu64 " (%.16s)\nregistry    %lld active members, "
	       "%lld open applications, %lld orgs\n",
	       n->id, n->is_root ? "root" : "county", n->union_id, pk, seq, seq, hex, (long long)k[0], (long long)k[1],
	       (long long)k[2]);
	if (last_sync)
		cli_time_iso(sync_at, last_sync);
	if (failed_since)
		cli_time_iso(fail_at, last_fail);
	if (!n->is_root)
		printf("hub         %s\nlast sync   %s%s%s\npending     %lld change sets not yet sequenced by the hub\n",
		       hub_url ? hub_url : "(none)", last_sync ? sync_at : "never",
		       failed_since ? "; last failed attempt " : "", failed_since ? fail_at : "", (long long)k[3]);
	else
		printf("quarantine  %lld change sets (huiji hub quarantine)\n", (long long)k[4]);
	if (n->is_root && k[5])
		printf("peers       %lld provinces followed, %lld failing at the last attempt (huiji hub peers)\n",
		       (long long)k[5], (long long)k[6]);
}

static hj_json *status_json(hj_node *n, const char *pk, const char *hex, uint64_t seq, const int64_t *k,
			    const char *hub_url, const char *last_sync, const char *last_fail, const rview *v)
{
	hj_json *o = hj_json_new(HJ_JOBJ);
	if (o && (hj_json_set_str(o, "node", n->id) || hj_json_set_str(o, "union", n->union_id) ||
		  hj_json_set_str(o, "role", n->is_root ? "root" : "county") || hj_json_set_str(o, "pubkey", pk) ||
		  hj_json_set_int(o, "feed_length", (int64_t)seq) || hj_json_set_int(o, "last_seq", (int64_t)seq) ||
		  hj_json_set_str(o, "last_hash", hex) || hj_json_set_int(o, "active_members", k[0]) ||
		  hj_json_set_int(o, "open_applications", k[1]) || hj_json_set_int(o, "orgs", k[2]) ||
		  hj_json_set_int(o, "pending_change_sets", k[3]) || hj_json_set_int(o, "rejected_ops", v->open) ||
		  hj_json_set_int(o, "acknowledged_rejections", v->acked) ||
		  hj_json_set_int(o, "quarantined", k[4]) || hj_json_set_str(o, "hub", hub_url) ||
		  hj_json_set_int(o, "peers", k[5]) || hj_json_set_int(o, "peers_failing", k[6]) ||
		  hj_json_set_str(o, "last_sync", last_sync) || hj_json_set_str(o, "last_sync_failure", last_fail)))
		o = (hj_json_free(o), NULL);
	return o;
}

int cmd_status(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	uint64_t seq;
	uint8_t hash[32];
	char hex[65], pk[65];
	/* active, open, orgs, pending, quarantined, peers, peers failing */
	int64_t k[7] = {0};
	char *last_sync = NULL, *last_fail = NULL, *hub_url = NULL;
	static const char *const heads[] = {"op", "reason", "detail", NULL};
	static const char *const heads_all[] = {"op", "reason", "detail", "acknowledged", NULL};
	rview v = {0};
	int rc = cli_parse(&c, "status", opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	int json = cli_flag(&c, "json");
	if (cli_get(&c, "ack")) {
		rc = status_ack(n, cli_get(&c, "ack"), json);
		goto done;
	}
	if ((rc = hj_feed_last(n->db, &seq, hash)) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM membership WHERE status = 'active'", NULL, NULL, &k[0])) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM membership WHERE status = 'applied'", NULL, NULL, &k[1])) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM org", NULL, NULL, &k[2])) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM quarantine", NULL, NULL, &k[4])) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM peer", NULL, NULL, &k[5])) ||
	    (rc = hj_db_get_int(n->db, "SELECT count(*) FROM peer_state WHERE failed_at IS NOT NULL", NULL, NULL,
				&k[6])))
		goto done;
	/* Unset meta keys print as "never"/"(none)"; a failed read fails. */
	if ((rc = hj_pending_count(&k[3], n)) ||
	    ((rc = hj_meta_get(&last_sync, n->db, "last_sync")) && rc != HJ_ENOTFOUND) ||
	    ((rc = hj_meta_get(&last_fail, n->db, "last_sync_failure")) && rc != HJ_ENOTFOUND) ||
	    ((rc = hj_meta_get(&hub_url, n->db, "hub_url")) && rc != HJ_ENOTFOUND))
		goto done;
	v.all = cli_flag(&c, "all");
	v.n = n;
	if (json ? !(v.arr = hj_json_new(HJ_JARR)) : !(v.t = cli_table_new(v.all ? heads_all : heads))) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = each_rejection(n, 0, view_one, &v)))
		goto done;
	hj_hex_encode(hex, hash, 32);
	hj_hex_encode(pk, n->pk, 32);
	if (json) {
		hj_json *o = status_json(n, pk, hex, seq, k, hub_url, last_sync, last_fail, &v);
		if (o && hj_json_set(o, "rejections", v.arr))
			o = (hj_json_free(o), NULL);
		v.arr = NULL; /* taken, even on failure */
		rc = cli_json_line(o);
		goto done;
	}
	print_text(n, pk, hex, seq, k, hub_url, last_sync, last_fail);
	if (n->is_root && k[5] && (rc = cli_province_conflicts(n)))
		goto done;
	if (cli_table_rows(v.t)) {
		printf("rejected by the hub (needs attention; huiji status --ack OP once dealt with):\n");
		rc = cli_table_print(v.t, stdout);
	}
	if (!rc && v.acked && !v.all)
		printf("acknowledged %lld rejections (huiji status --all lists them)\n", (long long)v.acked);
done:
	cli_table_free(v.t);
	hj_json_free(v.arr);
	free(last_sync);
	free(last_fail);
	free(hub_url);
	hj_node_close(n);
	return cli_fail(rc);
}
