/*
 * cmd_sync.c — `huiji sync`: one clear outcome line, whatever happens: on
 * stdout when the sync completed, as the one error line on stderr when not.
 */
#include "cli.h"
#include "error.h"
#include "followed.h"
#include "replay.h"
#include "sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const cli_opt opts[] = {
	{"retries", 1, "attempts after the first (default 4)"},
	{"backoff-ms", 1, "first back-off in ms, doubling, with jitter (default 1000)"},
	{"chunk", 1, "at most this many change sets per push (default: no limit)"},
	{"chunk-bytes", 1, "push chunk in bytes of change sets, halved after a dropped push (default 262144)"},
	{"connect-timeout-ms", 1, "until the hub answers (default 10000)"},
	{"idle-timeout-ms", 1, "no progress for this long ends the attempt (default 20000)"},
	{"json", 0, "print the outcome of a completed sync as one JSON object (a failure stays one line on stderr)"},
	{NULL, 0, "huiji sync --retries 2 --dir /srv/huiji/qh-xn-cz"},
};

static int int_opt(const cli *c, const char *name, int *out, int min)
{
	const char *v = cli_get(c, name);
	if (!v)
		return 0;
	char *end;
	long x = strtol(v, &end, 10);
	if (*end || x < min || x > 100000000)
		return hj_error_set(HJ_EINVALID, "sync: --%s must be an integer >= %d", name, min);
	*out = (int)x;
	return 0;
}

/* The outcome of a sync that did not complete, as the error message
 * cli_fail prints ("huiji: offline: …"): its kind, the reason, what was
 * pushed and what still waits (the county's change sets are kept). */
static void set_ending(hj_node *n, int rc, const char *kind, const hj_sync_report *rep, const char *advice)
{
	char why[768], count[256];
	int64_t pending = 0;
	snprintf(why, sizeof why, "%s", hj_error_last());
	if (hj_pending_count(&pending, n))
		snprintf(count, sizeof count, "pending count unreadable (%s)", hj_error_last());
	else
		snprintf(count, sizeof count, "%lld not yet sequenced by the hub", (long long)pending);
	hj_error_set(rc, "%s: %s; %" PRIu64 " change sets pushed, %s (kept%s%s)", kind, why, rep->pushed, count,
		     advice ? "; " : "", advice ? advice : "");
}

/* The hub's entry times are the reference for this computer's clock
 * (follow.c): a clerk told the clock is off can fix it before the dates
 * it gives ops by default go wrong. A warning, never a verdict. */
static void clock_warning(const hj_sync_report *rep)
{
	const int64_t day = 24 * 3600 * 1000LL;
	if (rep->clock_ahead_ms)
		fprintf(stderr, "huiji: warning: this computer's clock runs about %lld days ahead of the hub's: this "
			"node signed change sets dated after the hub sequenced them; the hub judges dates by its own "
			"time, so set this clock right (dates default to today by it)\n",
			(long long)((rep->clock_ahead_ms + day / 2) / day));
	if (rep->clock_behind_ms)
		fprintf(stderr, "huiji: warning: this computer's clock runs at least %lld days behind the hub's (the "
			"hub wrote an entry that late): set this clock right (dates default to today by it)\n",
			(long long)(rep->clock_behind_ms / day));
}

/* Items of this node's wraps ref that did not read (sync/wraps.h): the
 * fields they would open stay unread here; nothing else depends on them. */
static void wraps_warning(const hj_sync_report *rep)
{
	if (rep->wraps_refused)
		fprintf(stderr, "huiji: warning: %d items of this node's refs/huiji/wraps/ from the hub did not read; "
			"the personal fields they would open stay unread here (tell the hub's operator)\n",
			rep->wraps_refused);
}

/* Exactly one outcome line for every ending of a sync that ran: "synced:
 * …" on stdout, or, when it did not complete, "huiji: offline: …" /
 * "upgrade needed: …" / "refused: …" / "failed: …" on stderr, the reason
 * said once (issue 7 #11). Only a sync that completed is recorded as the
 * last sync (huiji status); any other ending as the last failed attempt.
 * Returns the exit status. */
static void print_synced(const hj_sync_report *rep, int json)
{
	if (json) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (o && (hj_json_set_int(o, "pushed", (int64_t)rep->pushed) ||
			  hj_json_set_int(o, "received", (int64_t)rep->entries) ||
			  hj_json_set_int(o, "rejected", (int64_t)rep->rejected) ||
			  hj_json_set_int(o, "pending", (int64_t)rep->pending) ||
			  hj_json_set_bool(o, "rebuilt", rep->rebuilt)))
			o = (hj_json_free(o), NULL);
		if (cli_json_line(o))
			fprintf(stderr, "huiji: warning: %s\n", hj_error_last());
		return;
	}
	printf("synced: pushed %" PRIu64 " change sets, received %" PRIu64 " hub entries, %" PRIu64
	       " own ops rejected, %llu change sets pending%s\n", rep->pushed, rep->entries, rep->rejected,
	       (unsigned long long)rep->pending, rep->rebuilt ? " (registry rebuilt from the hub order)" : "");
}

static int outcome(hj_node *n, int rc, const hj_sync_report *rep, int json)
{
	char now[32], msg[1024];
	hj_clock_utc_iso(now);
	if (rc == 0 && rep->upgrade_needed)
		rc = hj_error_set(HJ_EVERSION, "upgrade needed: hub feed entry %" PRIu64 " is from a newer huiji: "
				  "upgrade huiji to read entries from the hub; pushed %" PRIu64 " change sets, "
				  "received %" PRIu64 " hub entries before it (everything before it is applied; "
				  "nothing is lost)", rep->upgrade_at, rep->pushed, rep->entries);
	else if (rc == HJ_ENET)
		set_ending(n, rc, "offline", rep, "run huiji sync again");
	else if (rc == HJ_ECONFLICT || rc == HJ_EPERM || rc == HJ_EBADSIG)
		set_ending(n, rc, "refused", rep, NULL);
	else if (rc)
		set_ending(n, rc, "failed", rep, NULL);
	else
		print_synced(rep, json);
	/* The outcome survives the bookkeeping below for cli_fail. */
	snprintf(msg, sizeof msg, "%s", rc ? hj_error_last() : "");
	if (hj_meta_set(n->db, rc ? "last_sync_failure" : "last_sync", now))
		fprintf(stderr, "huiji: warning: %s is not recorded for huiji status: %s\n",
			rc ? "the failed attempt" : "the sync time", hj_error_last());
	clock_warning(rep);
	wraps_warning(rep);
	if (rc)
		hj_error_set(rc, "%s", msg);
	else if (rep->rejected)
		fprintf(stderr, "huiji: the hub rejected %" PRIu64 " of this node's ops (huiji status lists all):\n",
			rep->rejected), cli_print_rejected(n, stderr, (int64_t)rep->rejected);
	return cli_fail(rc);
}

int cmd_sync(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	hj_sync_opts o;
	hj_sync_report rep;
	int rc = cli_parse(&c, "sync", opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	hj_sync_opts_default(&o);
	int chunk_bytes = (int)o.chunk_bytes;
	if ((rc = int_opt(&c, "retries", &o.retries, 0)) || (rc = int_opt(&c, "backoff-ms", &o.backoff_ms, 1)) ||
	    (rc = int_opt(&c, "chunk", &o.chunk, 1)) || (rc = int_opt(&c, "chunk-bytes", &chunk_bytes, 1024)) ||
	    (rc = int_opt(&c, "connect-timeout-ms", &o.net.connect_timeout_ms, 1)) ||
	    (rc = int_opt(&c, "idle-timeout-ms", &o.net.idle_timeout_ms, 1)))
		return cli_fail(rc);
	o.chunk_bytes = (size_t)chunk_bytes;
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(hj_error_wrap(rc, "failed: "));
	cli_progress prog;
	o.progress = cli_progress_start(&prog, "sync");
	rc = hj_sync(n, &o, &rep);
	cli_progress_end(&prog);
	rc = outcome(n, rc, &rep, cli_flag(&c, "json"));
	hj_node_close(n);
	return rc;
}
