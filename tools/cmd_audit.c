/*
 * cmd_audit.c — `huiji audit REPO-OR-URL`: an auditor's check of a hub
 * repository. Needs no node: it works in a temporary directory.
 * --audit-key names the audit committee's key: the secret.key of its
 * enrolled auditor node (or that node's directory), so the sealed
 * real-name checks are recomputed instead of taken on the hub's word.
 * Exit 0: everything follows from the signed records; 1: discrepancies
 * (each named); 2: the audit could not run (a key no auditor holds too).
 */
#include "audit.h"
#include "cli.h"
#include "error.h"
#include "fsutil.h"
#include "node.h"

#include <sodium.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_opt opts[] = {
	{"hub-key", 1, "pin the hub's public key (hex) instead of reading it from the hub feed"},
	{"person-key", 1, "the province's person-key file: recompute the hub's person-key checks"},
	{"audit-key", 1, "an enrolled auditor node's secret.key (or its directory): open the seals wrapped to it "
			 "and recompute their real-name checks"},
	{"json", 0, "print the summary as one JSON object, its discrepancies an array"},
	{"idle-timeout-ms", 1, "over git://: no progress for this long ends the fetch (default 20000)"},
	{NULL, 0, "huiji audit git://hub.qh.example/hub.git --hub-key 3f2a...e1 --person-key person.key"},
};

/* The person key, in locked memory wiped after use (it finds anyone's
 * key). *out NULL when no file is named. */
static int read_person_key(uint8_t **out, const char *path)
{
	*out = NULL;
	if (!path)
		return 0;
	if (sodium_init() < 0 || !(*out = sodium_malloc(32)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	int rc = hj_node_read_secret(path, *out, 32);
	if (rc) {
		sodium_free(*out);
		*out = NULL;
	}
	return rc;
}

/* The audit key: a node secret key file (node.h's secret.key: hex, mode
 * 0600), or a node directory holding one. In locked memory, wiped after
 * use. *out NULL when none is named. */
static int read_audit_key(uint8_t **out, const char *path)
{
	char file[4200];
	struct stat sb;
	*out = NULL;
	if (!path)
		return 0;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		snprintf(file, sizeof file, "%s/secret.key", path);
	else
		snprintf(file, sizeof file, "%s", path);
	if (sodium_init() < 0 || !(*out = sodium_malloc(crypto_sign_SECRETKEYBYTES)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	int rc = hj_node_read_secret(file, *out, crypto_sign_SECRETKEYBYTES);
	if (rc) {
		sodium_free(*out);
		*out = NULL;
		/* A malformed key file is the caller's mistake, not a failed check. */
		rc = hj_error_wrap(rc == HJ_ECORRUPT ? HJ_EINVALID : rc, "--audit-key: ");
	}
	return rc;
}

static void print_report(const cli *c, const hj_audit_report *rep, const char *url)
{
	for (size_t i = 0; !cli_flag(c, "json") && i < rep->nproblems; i++)
		printf("DISCREPANCY: %s\n", rep->problems[i]);
	if (cli_flag(c, "json")) {
		hj_json *o = hj_json_new(HJ_JOBJ), *probs = hj_json_new(HJ_JARR);
		for (size_t i = 0; probs && i < rep->nproblems; i++)
			if (hj_json_append(probs, hj_json_str(rep->problems[i])))
				probs = NULL;
		if (o && (hj_json_set_str(o, "hub", rep->hub) || hj_json_set_str(o, "hub_key", rep->hub_key) ||
			  hj_json_set_bool(o, "hub_key_pinned", rep->hub_key_pinned) ||
			  hj_json_set_int(o, "nodes", (int64_t)rep->nodes) || hj_json_set_int(o, "feeds", (int64_t)rep->feeds) ||
			  hj_json_set_int(o, "hub_entries", (int64_t)rep->hub_entries) ||
			  hj_json_set_int(o, "change_sets", (int64_t)rep->change_sets) ||
			  hj_json_set_int(o, "ops", (int64_t)rep->ops) || hj_json_set_int(o, "verdicts", (int64_t)rep->verdicts) ||
			  hj_json_set_int(o, "digests", (int64_t)rep->digests) ||
			  hj_json_set_int(o, "pending", (int64_t)rep->pending) ||
			  hj_json_set_int(o, "deliveries", (int64_t)rep->deliveries) ||
			  hj_json_set_int(o, "wraps_checked", (int64_t)rep->wraps_checked) ||
			  hj_json_set_int(o, "inbox_unchecked_from", (int64_t)rep->inbox_unchecked_from) ||
			  hj_json_set_bool(o, "person_key_given", rep->person_key_given) ||
			  hj_json_set_int(o, "person_key_checks_on_hub_word", (int64_t)rep->pkey_on_hub_word) ||
			  hj_json_set_int(o, "sealed_checks_on_hub_word", (int64_t)rep->sealed_on_hub_word) ||
			  hj_json_set_bool(o, "audit_key_given", rep->audit_key_given) ||
			  hj_json_set_str(o, "auditor", rep->auditor) ||
			  hj_json_set_int(o, "sealed_opened_with_audit_key", (int64_t)rep->sealed_to_audit_key) ||
			  hj_json_set_int(o, "audit_wraps_unreadable", (int64_t)rep->audit_wraps_refused) ||
			  hj_json_set_int(o, "peer_verdicts_on_hub_word", (int64_t)rep->peer_on_hub_word) ||
			  hj_json_set(o, "discrepancies", probs)))
			o = (hj_json_free(o), NULL);
		cli_json_line(o);
	} else {
		printf("audit of %s: hub %s (key %.16s…, %s)\n  %" PRIu64 " nodes enrolled, %" PRIu64 " feeds, %" PRIu64
		       " hub entries, %" PRIu64 " change sets sequenced, %" PRIu64 " ops re-folded,\n  %" PRIu64
		       " verdicts and %" PRIu64 " state digests checked, %" PRIu64 " change sets not yet sequenced\n",
		       url, rep->hub, rep->hub_key, rep->hub_key_pinned ? "pinned by --hub-key" : "as enrolled in its change set 1",
		       rep->nodes, rep->feeds, rep->hub_entries, rep->change_sets, rep->ops, rep->verdicts, rep->digests,
		       rep->pending);
		printf("  %" PRIu64 " inbox deliveries checked (entry counts and refs/huiji/inbox/)", rep->deliveries);
		if (rep->inbox_unchecked_from)
			printf(", none derived from hub entry %" PRIu64 " on (the re-fold lacks what the hub folded there)",
			       rep->inbox_unchecked_from);
		printf("\n");
		if (rep->wraps_checked)
			printf("  %" PRIu64 " re-wraps checked (each seal delivered to a node it does not name, against "
			       "refs/huiji/wraps/)\n", rep->wraps_checked);
		if (rep->pkey_on_hub_word)
			printf("  %" PRIu64 " person-key checks taken on the hub's word (%s)\n", rep->pkey_on_hub_word,
			       !rep->person_key_given ? "give --person-key to recompute them"
			       : rep->audit_key_given ? "their ID numbers sealed to no key given here"
						      : "their ID numbers are sealed: give --audit-key too");
		if (rep->audit_key_given && rep->auditor[0])
			printf("  audit key of auditor %s: %" PRIu64 " sealed records wrapped to it opened, and those the "
			       "hub re-wrapped for it, their real-name checks recomputed\n", rep->auditor,
			       rep->sealed_to_audit_key);
		else if (rep->audit_key_given)
			printf("  audit key: no auditor enrolled with it in what could be re-folded (nothing opened)\n");
		if (rep->audit_wraps_refused)
			printf("  %" PRIu64 " items of refs/huiji/wraps/%s did not read (the seals they would open are "
			       "counted below)\n", rep->audit_wraps_refused, rep->auditor);
		if (rep->sealed_on_hub_word && rep->audit_key_given)
			printf("  %" PRIu64 " real-name checks of sealed personal fields taken on the hub's word (not "
			       "wrapped to the audit key, nor re-wrapped for it by the hub)\n", rep->sealed_on_hub_word);
		else if (rep->sealed_on_hub_word)
			printf("  %" PRIu64 " real-name checks of sealed personal fields taken on the hub's word (give "
			       "--audit-key to recompute them)\n", rep->sealed_on_hub_word);
		if (rep->peer_on_hub_word)
			printf("  %" PRIu64 " duplicate_province verdicts taken on the hub's word (judged against its copy "
			       "of a peer province's registry, which this audit does not hold)\n", rep->peer_on_hub_word);
		printf("%s\n", rep->nproblems ? "audit FAILED" : "audit passed: every record verifies and every "
								"verdict and digest follows");
	}
}

int cmd_audit(int argc, char **argv)
{
	cli c;
	hj_audit_report rep;
	const char *url = NULL;
	char tmpl[] = "/tmp/huiji-audit.XXXXXX", repo[64];
	/* The repository is the one positional argument. */
	if (argc > 0 && strncmp(argv[0], "--", 2) != 0) {
		url = argv[0];
		argc--;
		argv++;
	}
	int rc = cli_parse_flags(&c, "audit REPO-OR-URL", opts, CLI_NO_DIR, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if (!url)
		return cli_fail(hj_error_set(HJ_EINVALID, "usage: huiji audit REPO-OR-URL [--hub-key PK] [--person-key FILE] [--audit-key FILE|DIR]"));
	hj_net_opts net;
	hj_net_opts_default(&net);
	const char *idle = cli_get(&c, "idle-timeout-ms");
	if (idle) {
		char *end;
		long x = strtol(idle, &end, 10);
		if (*end || x < 1 || x > 100000000)
			return cli_fail(hj_error_set(HJ_EINVALID, "audit: --idle-timeout-ms must be an integer >= 1"));
		net.idle_timeout_ms = (int)x;
	}
	uint8_t *secret = NULL, *akey = NULL;
	if ((rc = read_person_key(&secret, cli_get(&c, "person-key"))))
		return cli_fail(rc);
	if ((rc = read_audit_key(&akey, cli_get(&c, "audit-key")))) {
		sodium_free(secret);
		return cli_fail(rc);
	}
	if (!mkdtemp(tmpl)) {
		sodium_free(secret);
		sodium_free(akey);
		return cli_fail(hj_error_set(HJ_ERROR, "cannot make a temporary directory"));
	}
	snprintf(repo, sizeof repo, "%s/hub.git", tmpl);
	cli_progress prog;
	hj_progress progress = cli_progress_start(&prog, "audit");
	rc = hj_audit_with_key_progress(&rep, url, cli_get(&c, "hub-key"), secret, akey, repo, &net, &progress);
	cli_progress_end(&prog);
	sodium_free(secret);
	sodium_free(akey);
	char why[1024]; /* the audit's message outlives the clean-up's */
	snprintf(why, sizeof why, "%s", hj_error_last());
	if (hj_dir_remove(tmpl)) {
		fprintf(stderr, "huiji: warning: %s\n", hj_error_last());
		if (rc)
			hj_error_set(rc, "%s", why);
	}
	if (rc)
		return cli_fail(rc);
	print_report(&c, &rep, url);
	int failed = rep.nproblems > 0;
	hj_audit_report_free(&rep);
	return failed ? 1 : 0;
}
