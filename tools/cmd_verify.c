/*
 * cmd_verify.c — `huiji verify` (prove this node's registry) and
 * `huiji log` (show the feed to an auditor, ops decoded).
 */
#include "cli.h"
#include "person_seal.h"
#include "error.h"
#include "feed.h"
#include "mask.h"
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const cli_opt verify_opts[] = {
	{"json", 0, "print the outcome as one JSON object"},
	{NULL, 0, "huiji verify --dir /srv/huiji/qh-xn-cz"},
};

int cmd_verify(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	hj_verify_report rep;
	int rc = cli_parse(&c, "verify", verify_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	if (!(rc = hj_node_verify(n, &rep)) && cli_flag(&c, "json")) {
		hj_json *o = hj_json_new(HJ_JOBJ);
		if (o && (hj_json_set_str(o, "node", n->id) || hj_json_set_bool(o, "verified", 1) ||
			  hj_json_set_int(o, "change_sets", (int64_t)rep.change_sets) ||
			  hj_json_set_int(o, "ops", (int64_t)rep.ops)))
			o = (hj_json_free(o), NULL);
		rc = cli_json_line(o);
	} else if (!rc)
		printf("verified %s: %" PRIu64 " change sets, %" PRIu64 " ops; chain, signatures and key hold; "
		       "re-fold equals the registry\n", n->id, rep.change_sets, rep.ops);
	else
		hj_error_wrap(rc, "verify %s FAILED: ", n->id);
	hj_node_close(n);
	return cli_fail(rc);
}

static const cli_opt log_opts[] = {
	{"json", 0, "print one JSON array, a change set an element (as far as the feed verifies)"},
	{"reveal", 0, "show personal fields unmasked (sealed ones opened beside their seal)"},
	{NULL, 0, "huiji log --json"},
};

/* Mask the personal fields of a member.apply / member.update op in place. */
static void mask_op(hj_json *op)
{
	hj_json *p = (hj_json *)hj_json_get(op, "person");
	hj_json *targets[2] = {p, op};
	for (int t = 0; t < 2; t++) {
		hj_json *o = targets[t];
		if (!o || o->type != HJ_JOBJ)
			continue;
		char out[200];
		const char *v;
		if ((v = hj_json_get_str(o, "name")) && o == p)
			hj_mask_name(out, sizeof out, v), hj_json_set_str(o, "name", out);
		if ((v = hj_json_get_str(o, "id_number")))
			hj_mask_idnum(out, v), hj_json_set_str(o, "id_number", out);
		if ((v = hj_json_get_str(o, "phone")))
			hj_mask_phone(out, v), hj_json_set_str(o, "phone", out);
		if ((v = hj_json_get_str(o, "plate")))
			hj_mask_plate(out, sizeof out, v), hj_json_set_str(o, "plate", out);
		if (o == op && (v = hj_json_get_str(o, "op")) && strcmp(v, "member.update") == 0 &&
		    (v = hj_json_get_str(o, "name")))
			hj_mask_name(out, sizeof out, v), hj_json_set_str(o, "name", out);
	}
}

typedef struct log_ctx {
	int json, reveal;
	const hj_node *n;
	cli_jlist l;
} log_ctx;

/* Show a sealed object's fields in `into` (person_seal.h), beside it:
 * this node opens its own seals; one it may not open stays shut. */
static void open_into(hj_json *into, const hj_foldctx *ctx)
{
	const hj_json *sealed = hj_json_get(into, "sealed");
	hj_json *f = NULL;
	char commit[65];
	if (!sealed || hj_person_open_fields(&f, commit, ctx, sealed) || !f)
		return;
	for (size_t i = 0; i < f->count; i++) /* beside the sealed object, which stays as signed */
		if (f->items[i]->type == HJ_JSTR)
			hj_json_set_str(into, f->keys[i], f->items[i]->s);
	hj_json_free(f);
}

/* The text log names a seal by its commitment and recipients instead of
 * ~600 bytes of hex (--json keeps it as signed). */
static void summarise_seals(hj_json *op)
{
	hj_json *p = (hj_json *)hj_json_get(op, "person");
	hj_json *targets[2] = {p, op};
	for (int t = 0; t < 2; t++) {
		const hj_json *sealed = targets[t] ? hj_json_get(targets[t], "sealed") : NULL;
		const hj_json *to = sealed ? hj_json_get(sealed, "to") : NULL;
		const char *c = sealed ? hj_json_get_str(sealed, "c") : NULL;
		char line[120];
		if (!c || !to || to->type != HJ_JARR)
			continue;
		snprintf(line, sizeof line, "commitment %.16s…, %zu recipient%s", c, to->count, to->count == 1 ? "" : "s");
		hj_json_set_str(targets[t], "sealed", line);
	}
}

static void open_op(hj_json *op, const hj_node *n)
{
	hj_foldctx ctx;
	hj_node_foldctx(n, 0, 0, &ctx);
	hj_json *p = (hj_json *)hj_json_get(op, "person");
	if (p && p->type == HJ_JOBJ)
		open_into(p, &ctx);
	open_into(op, &ctx);
}

static int log_one(void *vctx, const hj_envelope *e, const uint8_t *bytes, size_t len)
{
	log_ctx *lc = vctx;
	hj_json *payload = NULL, *entry = NULL;
	char hash[65], prev[65];
	int rc = hj_json_parse(&payload, (const char *)e->payload, e->payload_len);
	if (rc)
		return hj_error_wrap(rc, "%s seq %" PRIu64 ": ", e->node, e->seq);
	hj_json *ops = (hj_json *)hj_json_get(payload, "ops");
	for (size_t i = 0; ops && ops->type == HJ_JARR && i < ops->count; i++) {
		open_op(ops->items[i], lc->n);
		if (!lc->reveal)
			mask_op(ops->items[i]);
	}
	hj_hex_encode(hash, e->hash, 32);
	hj_hex_encode(prev, e->prev, 32);
	if (lc->json) {
		entry = hj_json_new(HJ_JOBJ);
		if (!entry || hj_json_set_str(entry, "node", e->node) || hj_json_set_int(entry, "seq", (int64_t)e->seq) ||
		    hj_json_set_str(entry, "hash", hash) || hj_json_set_str(entry, "prev", prev) ||
		    hj_json_set_int(entry, "created_at", e->created_at) || hj_json_set_int(entry, "bytes", (int64_t)len) ||
		    hj_json_set_int(entry, "payload_bytes", (int64_t)e->payload_len) ||
		    hj_json_set(entry, "payload", payload)) {
			payload = NULL;
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			goto done;
		}
		payload = NULL;
		rc = cli_jlist_add(&lc->l, entry);
		entry = NULL;
	} else {
		hj_buf b = HJ_BUF_INIT;
		char at[CLI_TIME_MAX];
		cli_time_ms(at, e->created_at);
		printf("change set %s #%" PRIu64 "  %s  hash %.16s  prev %.16s  %zu bytes (%zu inflated)\n", e->node,
		       e->seq, at, hash, prev, len, e->payload_len);
		for (size_t i = 0; ops && ops->type == HJ_JARR && i < ops->count; i++) {
			hj_buf_reset(&b);
			summarise_seals(ops->items[i]);
			hj_json_write(&b, ops->items[i]);
			printf("  [%zu] %s\n", i, b.data ? (const char *)b.data : "");
		}
		hj_buf_free(&b);
	}
	(void)bytes;
done:
	hj_json_free(payload);
	hj_json_free(entry);
	return rc;
}

int cmd_log(int argc, char **argv)
{
	cli c;
	hj_node *n = NULL;
	int rc = cli_parse(&c, "log", log_opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	if ((rc = cli_open_node(&c, &n)))
		return cli_fail(rc);
	log_ctx lc = {cli_flag(&c, "json"), cli_flag(&c, "reveal"), n, {0}};
	if (lc.json)
		cli_jlist_begin(&lc.l);
	/* The log is shown only as far as it verifies: an auditor must never
	 * read an entry that is not what the node signed (with --json the
	 * array is then left open: not a document, and the exit says why). */
	rc = hj_feed_verify(n->db, n->id, n->pk, log_one, &lc);
	if (!rc && lc.json)
		cli_jlist_end(&lc.l);
	hj_node_close(n);
	return cli_fail(rc);
}
