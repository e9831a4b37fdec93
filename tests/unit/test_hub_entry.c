/*
 * test_hub_entry.c — cmocka tests for the hub's sequence entry
 * (node/hub_entry.c).
 *
 * Pins the exact bytes of a known entry (existing hubs signed entries in
 * this form, and counties and auditors re-read them), checks the round
 * trip through the decoder, and feeds the decoder one malformed entry per
 * rule of the format: each is refused with HJ_ECORRUPT and a message that
 * names the field, a newer op version with HJ_EVERSION.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hub_entry.h"
#include "rules.h"

#define H1 "0101010101010101010101010101010101010101010101010101010101010101"
#define H2 "02020202020202020202020202020202020202020202020202020202020202ff"
#define ST "abababababababababababababababababababababababababababababababab"

static void fill(uint8_t out[32], const char *hex)
{
	assert_int_equal(hj_hex_decode(out, 32, hex), 0);
}

static hj_verdict ok_v(void)
{
	hj_verdict v;
	memset(&v, 0, sizeof v);
	v.applied = 1;
	return v;
}

static hj_verdict rej_v(const char *reason, const char *detail)
{
	hj_verdict v;
	memset(&v, 0, sizeof v);
	snprintf(v.reason, sizeof v.reason, "%s", reason);
	snprintf(v.detail, sizeof v.detail, "%s", detail);
	return v;
}

/* The known entry: xn-cz seq 4 (two ops, the second a duplicate), then
 * xn-cb seq 1 (one op). */
static const char *known =
	"{\"v\":1,\"ops\":[{\"op\":\"hub.sequence\",\"v\":1,\"include\":["
	"{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\",\"verdicts\":[\"ok\","
	"[\"duplicate_member\",\"already a member in qh-xn-cb (\\\"active\\\")\"]]},"
	"{\"node\":\"xn-cb\",\"seq\":1,\"hash\":\"" H2 "\",\"verdicts\":[\"ok\"]}],"
	"\"state\":\"" ST "\"}]}";

/* An encoder for the v1 format: what huiji wrote before entry v2, and
 * still reads (a province's old entries). */
static void enc_init_v1(hj_hub_entry_enc *enc)
{
	hj_hub_entry_enc_init(enc, 0);
	enc->version = 1;
	enc->rules = 1;
}

static void encode_known(hj_buf *out, hj_buf *vtext)
{
	hj_hub_entry_enc enc;
	uint8_t h1[32], h2[32], st[32];
	hj_verdict v[2] = {ok_v(), rej_v("duplicate_member", "already a member in qh-xn-cb (\"active\")")};
	fill(h1, H1);
	fill(h2, H2);
	fill(st, ST);
	enc_init_v1(&enc);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &v[0]), 0);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &v[1]), 0);
	if (vtext)
		assert_int_equal(hj_hub_entry_enc_verdicts_text(vtext, &enc), 0);
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 4, h1), 0);
	/* A change set given verdicts, then dropped, leaves no trace. */
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &v[1]), 0);
	hj_hub_entry_enc_discard(&enc);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &v[0]), 0);
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cb", 1, h2), 0);
	assert_int_equal(enc.count, 2);
	assert_int_equal(hj_hub_entry_enc_finish(out, &enc, st), 0);
	hj_hub_entry_enc_free(&enc);
}

/* The payload as the sequencer built it before hub_entry existed: one
 * json.h tree, written by the compact writer. */
static void encode_as_tree(hj_buf *out)
{
	hj_json *payload = hj_json_new(HJ_JOBJ), *ops = hj_json_new(HJ_JARR), *op = hj_json_new(HJ_JOBJ);
	hj_json *inc = hj_json_new(HJ_JARR), *a = hj_json_new(HJ_JOBJ), *b = hj_json_new(HJ_JOBJ);
	hj_json *va = hj_json_new(HJ_JARR), *vb = hj_json_new(HJ_JARR), *rej = hj_json_new(HJ_JARR);
	assert_int_equal(hj_json_append(rej, hj_json_str("duplicate_member")), 0);
	assert_int_equal(hj_json_append(rej, hj_json_str("already a member in qh-xn-cb (\"active\")")), 0);
	assert_int_equal(hj_json_append(va, hj_json_str("ok")), 0);
	assert_int_equal(hj_json_append(va, rej), 0);
	assert_int_equal(hj_json_append(vb, hj_json_str("ok")), 0);
	assert_int_equal(hj_json_set_str(a, "node", "xn-cz") || hj_json_set_int(a, "seq", 4) ||
				 hj_json_set_str(a, "hash", H1) || hj_json_set(a, "verdicts", va),
			 0);
	assert_int_equal(hj_json_set_str(b, "node", "xn-cb") || hj_json_set_int(b, "seq", 1) ||
				 hj_json_set_str(b, "hash", H2) || hj_json_set(b, "verdicts", vb),
			 0);
	assert_int_equal(hj_json_append(inc, a) || hj_json_append(inc, b), 0);
	assert_int_equal(hj_json_set_str(op, "op", "hub.sequence") || hj_json_set_int(op, "v", 1) ||
				 hj_json_set(op, "include", inc) || hj_json_set_str(op, "state", ST),
			 0);
	assert_int_equal(hj_json_append(ops, op), 0);
	assert_int_equal(hj_json_set_int(payload, "v", 1) || hj_json_set(payload, "ops", ops), 0);
	assert_int_equal(hj_json_write(out, payload), 0);
	hj_json_free(payload);
}

static void test_exact_bytes(void **state)
{
	hj_buf out = HJ_BUF_INIT, vtext = HJ_BUF_INIT, tree = HJ_BUF_INIT;
	(void)state;
	encode_known(&out, &vtext);
	assert_string_equal((const char *)out.data, known);
	assert_string_equal((const char *)vtext.data,
			    "[\"ok\",[\"duplicate_member\",\"already a member in qh-xn-cb (\\\"active\\\")\"]]");
	encode_as_tree(&tree);
	assert_int_equal(out.len, tree.len);
	assert_memory_equal(out.data, tree.data, out.len);
	/* An empty entry is still well formed (the sequencer never signs one). */
	hj_hub_entry_enc enc;
	uint8_t st[32];
	fill(st, ST);
	enc_init_v1(&enc);
	hj_buf_reset(&out);
	assert_int_equal(hj_hub_entry_enc_finish(&out, &enc, st), 0);
	assert_string_equal((const char *)out.data,
			    "{\"v\":1,\"ops\":[{\"op\":\"hub.sequence\",\"v\":1,\"include\":[],\"state\":\"" ST "\"}]}");
	hj_hub_entry_enc_free(&enc);
	hj_buf_free(&out);
	hj_buf_free(&vtext);
	hj_buf_free(&tree);
}

static void test_round_trip(void **state)
{
	hj_buf out = HJ_BUF_INIT;
	hj_hub_entry e;
	uint8_t h[32];
	const char *reason = NULL, *detail = NULL;
	(void)state;
	encode_known(&out, NULL);
	assert_int_equal(hj_hub_entry_parse(&e, (const char *)out.data, out.len), 0);
	assert_int_equal(e.v, 1);
	assert_int_equal(e.ninclude, 2);
	fill(h, ST);
	assert_memory_equal(e.state, h, 32);
	assert_string_equal(e.include[0].node, "xn-cz");
	assert_int_equal(e.include[0].seq, 4);
	fill(h, H1);
	assert_memory_equal(e.include[0].hash, h, 32);
	assert_int_equal(e.include[0].verdicts->count, 2);
	assert_int_equal(hj_hub_verdict_at(e.include[0].verdicts, 0, &reason, &detail), 1);
	assert_null(reason);
	assert_int_equal(hj_hub_verdict_at(e.include[0].verdicts, 1, &reason, &detail), 0);
	assert_string_equal(reason, "duplicate_member");
	assert_string_equal(detail, "already a member in qh-xn-cb (\"active\")");
	assert_int_equal(hj_hub_verdicts_rejected(e.include[0].verdicts), 1);
	assert_int_equal(hj_hub_verdicts_check(e.include[0].verdicts, 2), 0);
	assert_string_equal(e.include[1].node, "xn-cb");
	assert_int_equal(e.include[1].seq, 1);
	fill(h, H2);
	assert_memory_equal(e.include[1].hash, h, 32);
	assert_int_equal(hj_hub_verdicts_rejected(e.include[1].verdicts), 0);
	/* Decoded, re-encoded: the same bytes. */
	hj_hub_entry_enc enc;
	hj_buf again = HJ_BUF_INIT, vt = HJ_BUF_INIT;
	enc_init_v1(&enc);
	for (size_t i = 0; i < e.ninclude; i++) {
		const hj_json *vd = e.include[i].verdicts;
		for (size_t k = 0; k < vd->count; k++) {
			hj_verdict v = ok_v();
			if (!hj_hub_verdict_at(vd, k, &reason, &detail))
				v = rej_v(reason, detail);
			assert_int_equal(hj_hub_entry_enc_verdict(&enc, &v), 0);
		}
		assert_int_equal(hj_hub_entry_enc_add(&enc, e.include[i].node, e.include[i].seq, e.include[i].hash), 0);
	}
	assert_int_equal(hj_hub_entry_enc_finish(&again, &enc, e.state), 0);
	assert_string_equal((const char *)again.data, (const char *)out.data);
	/* A followed row's verdict text parses back to the same verdicts. */
	assert_int_equal(hj_json_write(&vt, e.include[0].verdicts), 0);
	hj_json *vd = NULL;
	assert_int_equal(hj_hub_verdicts_parse(&vd, (const char *)vt.data, 2), 0);
	assert_int_equal(hj_hub_verdicts_rejected(vd), 1);
	hj_json_free(vd);
	assert_int_equal(hj_hub_verdicts_parse(&vd, NULL, 5), 0); /* NULL: all applied */
	assert_null(vd);
	assert_int_equal(hj_hub_verdict_at(NULL, 3, &reason, NULL), 1);
	hj_hub_entry_enc_free(&enc);
	hj_hub_entry_free(&e);
	hj_hub_entry_free(&e); /* twice is harmless */
	hj_buf_free(&again);
	hj_buf_free(&vt);
	hj_buf_free(&out);
}

/* An entry with `include` (JSON text of the array) and `rest` (more fields
 * of the op, starting with ","). */
static char *entry_text(const char *op_head, const char *include, const char *rest)
{
	size_t n = strlen(op_head) + strlen(include) + strlen(rest) + 128;
	char *s = malloc(n);
	assert_non_null(s);
	snprintf(s, n, "{\"v\":1,\"ops\":[{%s\"include\":%s%s}]}", op_head, include, rest);
	return s;
}

#define HEAD "\"op\":\"hub.sequence\",\"v\":1,"
#define STATE ",\"state\":\"" ST "\""
#define INC(node, seq, hash, verdicts) "[{\"node\":" node ",\"seq\":" seq ",\"hash\":" hash ",\"verdicts\":" verdicts "}]"
#define GOOD_INC INC("\"xn-cz\"", "4", "\"" H1 "\"", "[\"ok\"]")

static void expect_refused(const char *head, const char *include, const char *rest, int code, const char *msg)
{
	char *text = entry_text(head, include, rest);
	hj_hub_entry e;
	int rc = hj_hub_entry_parse(&e, text, strlen(text));
	if (rc != code || (code && strcmp(hj_error_last(), msg) != 0))
		fail_msg("%s\n  gave %s \"%s\"\n  want %s \"%s\"", text, hj_error_name(rc), hj_error_last(),
			 hj_error_name(code), msg ? msg : "");
	if (code) {
		assert_null(e.include); /* owns nothing */
		assert_null(e.tree);
	}
	hj_hub_entry_free(&e);
	free(text);
}

static void test_malformed(void **state)
{
	(void)state;
	/* The frame itself is well formed: these are accepted. */
	expect_refused(HEAD, GOOD_INC, STATE, 0, NULL);
	expect_refused(HEAD, "[]", STATE, 0, NULL);

	/* Types of the op's fields. */
	expect_refused("\"op\":\"hub.sequence\",", GOOD_INC, STATE, HJ_ECORRUPT, "\"v\" is not an integer >= 1");
	expect_refused("\"op\":\"hub.sequence\",\"v\":\"1\",", GOOD_INC, STATE, HJ_ECORRUPT,
		       "\"v\" is not an integer >= 1");
	expect_refused("\"op\":\"hub.sequence\",\"v\":0,", GOOD_INC, STATE, HJ_ECORRUPT, "\"v\" is not an integer >= 1");
	expect_refused(HEAD, "{}", STATE, HJ_ECORRUPT, "\"include\" is not an array");
	expect_refused(HEAD, "null", STATE, HJ_ECORRUPT, "\"include\" is not an array");
	expect_refused(HEAD, GOOD_INC, "", HJ_ECORRUPT, "\"state\" is not 64 lower-case hex digits");
	expect_refused(HEAD, GOOD_INC, ",\"state\":7", HJ_ECORRUPT, "\"state\" is not 64 lower-case hex digits");
	expect_refused(HEAD, GOOD_INC, ",\"state\":\"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"",
		       HJ_ECORRUPT, "\"state\" is not 64 lower-case hex digits");
	expect_refused(HEAD, GOOD_INC, ",\"state\":\"abab\"", HJ_ECORRUPT, "\"state\" is not 64 lower-case hex digits");
	expect_refused(HEAD, GOOD_INC, STATE ",\"note\":1", HJ_ECORRUPT, "unknown field \"note\"");

	/* Each include. */
	expect_refused(HEAD, "[7]", STATE, HJ_ECORRUPT, "include 0: not an object");
	expect_refused(HEAD, "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\",\"verdicts\":[],\"x\":1}]", STATE,
		       HJ_ECORRUPT, "include 0: unknown field \"x\"");
	expect_refused(HEAD, "[{\"seq\":4,\"hash\":\"" H1 "\",\"verdicts\":[]}]", STATE, HJ_ECORRUPT,
		       "include 0: \"node\" is not a node id");
	expect_refused(HEAD, INC("\"XN-CZ\"", "4", "\"" H1 "\"", "[]"), STATE, HJ_ECORRUPT,
		       "include 0: \"node\" is not a node id");
	expect_refused(HEAD, INC("3", "4", "\"" H1 "\"", "[]"), STATE, HJ_ECORRUPT,
		       "include 0: \"node\" is not a node id");
	expect_refused(HEAD, INC("\"xn-cz\"", "\"4\"", "\"" H1 "\"", "[]"), STATE, HJ_ECORRUPT,
		       "include 0: \"seq\" is not an integer >= 1");
	expect_refused(HEAD, INC("\"xn-cz\"", "0", "\"" H1 "\"", "[]"), STATE, HJ_ECORRUPT,
		       "include 0: \"seq\" is not an integer >= 1");
	expect_refused(HEAD, INC("\"xn-cz\"", "-3", "\"" H1 "\"", "[]"), STATE, HJ_ECORRUPT,
		       "include 0: \"seq\" is not an integer >= 1");
	/* Upper-case hex decodes to the same bytes but is not the signed form. */
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"02020202020202020202020202020202020202020202020202020202020202FF\"", "[]"),
		       STATE, HJ_ECORRUPT, "include 0: \"hash\" is not 64 lower-case hex digits");
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"0101\"", "[]"), STATE, HJ_ECORRUPT,
		       "include 0: \"hash\" is not 64 lower-case hex digits");
	expect_refused(HEAD, "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\"}]", STATE, HJ_ECORRUPT,
		       "include 0: verdicts: not an array");
	/* The second include is the bad one: the index says so. */
	expect_refused(HEAD, "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\",\"verdicts\":[]},"
			     "{\"node\":\"xn-cz\",\"seq\":5,\"hash\":\"" H1 "\",\"verdicts\":\"ok\"}]",
		       STATE, HJ_ECORRUPT, "include 1: verdicts: not an array");

	/* Verdicts. */
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"" H1 "\"", "[\"ok\",7]"), STATE, HJ_ECORRUPT,
		       "include 0: verdict 1: neither \"ok\" nor [reason, detail]");
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"" H1 "\"", "[\"fine\"]"), STATE, HJ_ECORRUPT,
		       "include 0: verdict 0: neither \"ok\" nor [reason, detail]");
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"" H1 "\"", "[[\"invalid\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: verdict 0: neither \"ok\" nor [reason, detail]");
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"" H1 "\"", "[[\"Invalid\",\"x\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: verdict 0: reason is not 1..31 bytes of [a-z0-9_]");
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"" H1 "\"", "[[\"\",\"x\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: verdict 0: reason is not 1..31 bytes of [a-z0-9_]");
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"" H1 "\"", "[[\"invalid\",3]]"), STATE, HJ_ECORRUPT,
		       "include 0: verdict 0: detail is not a string of at most 255 bytes");

	/* Oversized: a reason, a detail, the include list. */
	{
		char reason[40], detail[300], inc[600];
		memset(reason, 'a', 32);
		reason[32] = '\0';
		snprintf(inc, sizeof inc, "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\",\"verdicts\":[[\"%s\",\"\"]]}]",
			 reason);
		expect_refused(HEAD, inc, STATE, HJ_ECORRUPT,
			       "include 0: verdict 0: reason is not 1..31 bytes of [a-z0-9_]");
		reason[31] = '\0';
		snprintf(inc, sizeof inc, "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\",\"verdicts\":[[\"%s\",\"\"]]}]",
			 reason);
		expect_refused(HEAD, inc, STATE, 0, NULL); /* 31 is the limit */
		memset(detail, 'd', 256);
		detail[256] = '\0';
		snprintf(inc, sizeof inc, "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\",\"verdicts\":[[\"x\",\"%s\"]]}]",
			 detail);
		expect_refused(HEAD, inc, STATE, HJ_ECORRUPT,
			       "include 0: verdict 0: detail is not a string of at most 255 bytes");
	}
	{
		hj_buf big = HJ_BUF_INIT;
		hj_buf_puts(&big, "[");
		for (int i = 0; i < HJ_HUB_MAX_INCLUDE + 1; i++)
			hj_buf_printf(&big, "%s{\"node\":\"xn-cz\",\"seq\":%d,\"hash\":\"" H1 "\",\"verdicts\":[\"ok\"]}",
				      i ? "," : "", i + 1);
		hj_buf_puts(&big, "]");
		assert_int_equal(big.rc, 0);
		expect_refused(HEAD, (const char *)big.data, STATE, HJ_ECORRUPT,
			       "2001 change sets included, more than 2000");
		hj_buf_free(&big);
	}

	/* Where the op sits. */
	{
		const char *text = "{\"v\":1,\"ops\":[{\"op\":\"org.create\",\"v\":1},{" HEAD "\"include\":[]" STATE "}]}";
		hj_hub_entry e;
		assert_int_equal(hj_hub_entry_parse(&e, text, strlen(text)), HJ_ECORRUPT);
		assert_string_equal(hj_error_last(),
				    "op 1 is \"hub.sequence\" among 2 ops: a sequence entry holds that op alone");
		text = "{\"v\":1,\"ops\":[{\"op\":\"org.create\",\"v\":1}]}";
		assert_int_equal(hj_hub_entry_parse(&e, text, strlen(text)), HJ_ENOTFOUND);
		text = "{\"v\":1,\"ops\":[{" HEAD "\"include\":[]" STATE "}";
		assert_int_equal(hj_hub_entry_parse(&e, text, strlen(text)), HJ_ECORRUPT); /* not JSON */
	}
	/* A newer op version: the reader must be upgraded; not corrupt. */
	expect_refused("\"op\":\"hub.sequence\",\"v\":5,", GOOD_INC, STATE, HJ_EVERSION,
		       "op hub.sequence version 5 is newer than this huiji: upgrade huiji to read entries from the hub");
	/* ... even with fields this huiji does not know: they are the newer
	 * version's, not corruption. */
	expect_refused("\"op\":\"hub.sequence\",\"v\":5,\"quorum\":[],", "{}", "", HJ_EVERSION,
		       "op hub.sequence version 5 is newer than this huiji: upgrade huiji to read entries from the hub");
}

static void test_verdict_counts(void **state)
{
	hj_json *vd = NULL;
	(void)state;
	/* The count is checked where the change set's ops are known. */
	assert_int_equal(hj_hub_verdicts_parse(&vd, "[\"ok\",[\"invalid\",\"x\"]]", 2), 0);
	assert_int_equal(hj_hub_verdicts_check(vd, HJ_HUB_NOPS_ANY), 0);
	assert_int_equal(hj_hub_verdicts_check(vd, 3), HJ_ECORRUPT);
	assert_string_equal(hj_error_last(), "2 verdicts for 3 ops");
	assert_int_equal(hj_hub_verdicts_check(vd, 1), HJ_ECORRUPT);
	assert_string_equal(hj_error_last(), "2 verdicts for 1 ops");
	hj_json_free(vd);
	assert_int_equal(hj_hub_verdicts_parse(&vd, "[\"ok\"]", 2), HJ_ECORRUPT);
	assert_string_equal(hj_error_last(), "1 verdicts for 2 ops");
	assert_null(vd);
	assert_int_equal(hj_hub_verdicts_parse(&vd, "{\"ok\":1}", HJ_HUB_NOPS_ANY), HJ_ECORRUPT);
	assert_string_equal(hj_error_last(), "verdicts: not an array");
	assert_null(vd);
	assert_int_equal(hj_hub_verdicts_parse(&vd, "[\"ok\"", HJ_HUB_NOPS_ANY), HJ_ECORRUPT);
	assert_non_null(strstr(hj_error_last(), "verdicts: json: "));
	assert_null(vd);
	assert_int_equal(hj_hub_verdicts_parse(&vd, "[[\"no_authority\",\"x\"],\"OK\"]", HJ_HUB_NOPS_ANY), HJ_ECORRUPT);
	assert_string_equal(hj_error_last(), "verdict 1: neither \"ok\" nor [reason, detail]");
	assert_null(vd);
}

static void test_encoder_limits(void **state)
{
	hj_hub_entry_enc enc;
	hj_buf out = HJ_BUF_INIT;
	uint8_t h[32];
	hj_verdict ok = ok_v();
	(void)state;
	fill(h, H1);
	enc_init_v1(&enc);
	for (int i = 0; i < HJ_HUB_MAX_INCLUDE; i++) {
		assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);
		assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", (uint64_t)i + 1, h), 0);
	}
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 2001, h), HJ_ETOOBIG);
	assert_int_equal(enc.count, HJ_HUB_MAX_INCLUDE);
	/* A full entry decodes: what the encoder writes, the decoder takes. */
	assert_int_equal(hj_hub_entry_enc_finish(&out, &enc, h), 0);
	hj_hub_entry e;
	assert_int_equal(hj_hub_entry_parse(&e, (const char *)out.data, out.len), 0);
	assert_int_equal(e.ninclude, HJ_HUB_MAX_INCLUDE);
	assert_int_equal(e.include[1999].seq, 2000);
	hj_hub_entry_free(&e);
	/* A verdict the writer cannot write (not UTF-8) fails the text and
	 * the add (the entry stays as it was), and the finish of an entry
	 * holding one (built by hand below) leaves the output as it was. */
	hj_verdict bad = rej_v("invalid", "\xff\xfe");
	hj_buf vt = HJ_BUF_INIT;
	hj_hub_entry_enc_free(&enc);
	enc_init_v1(&enc);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &bad), 0);
	assert_int_equal(hj_hub_entry_enc_verdicts_text(&vt, &enc), HJ_EINVALID);
	assert_int_equal(vt.len, 0);
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 1, h), HJ_EINVALID);
	assert_int_equal(enc.count, 0);
	hj_json *inc = hj_json_new(HJ_JOBJ);
	assert_int_equal(hj_json_set(inc, "verdicts", hj_json_str("\xff\xfe")), 0);
	if (!enc.include) /* the refused add may have made the list already */
		enc.include = hj_json_new(HJ_JARR);
	assert_int_equal(hj_json_append(enc.include, inc), 0);
	size_t before = out.len;
	assert_int_equal(hj_hub_entry_enc_finish(&out, &enc, h), HJ_EINVALID);
	assert_int_equal(out.len, before);
	hj_hub_entry_enc_free(&enc);
	hj_hub_entry_enc_free(&enc); /* twice is harmless */
	hj_buf_free(&vt);
	hj_buf_free(&out);
}

/* ---- entry version 2 ---- */

#define KNOWN2                                                                                              \
	"{\"v\":1,\"ops\":[{\"op\":\"hub.sequence\",\"v\":2,\"rules\":2,\"at\":1764547200000,\"include\":["     \
	"{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\",\"rejected\":[[1,\"duplicate_member\",\"qh-xn-cb\"]]}," \
	"{\"node\":\"xn-cb\",\"seq\":1,\"hash\":\"" H2 "\"}],\"state\":\"" ST "\"}]}"

static hj_verdict dup_v(const char *holder)
{
	hj_verdict v = rej_v("duplicate_member", "person already holds active membership x in y (qh-xn-cb)");
	snprintf(v.holder, sizeof v.holder, "%s", holder);
	return v;
}

static void test_v2_exact_bytes(void **state)
{
	hj_hub_entry_enc enc;
	hj_buf out = HJ_BUF_INIT, vt = HJ_BUF_INIT;
	uint8_t h1[32], h2[32], st[32];
	hj_verdict ok = ok_v(), dup = dup_v("qh-xn-cb");
	(void)state;
	fill(h1, H1);
	fill(h2, H2);
	fill(st, ST);
	hj_hub_entry_enc_init(&enc, 1764547200000);
	assert_int_equal(enc.version, HJ_HUB_ENTRY_VERSION);
	assert_int_equal(enc.rules, HJ_RULES_VERSION);
	enc.version = 2; /* the bytes below are v2's, */
	enc.rules = 2;   /* decided under rules 2 */
	/* v2 has no inbox: a delivery is not written (nor refused). */
	assert_int_equal(hj_hub_entry_enc_deliver(&enc, "xn-a", 1), 0);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &dup), 0);
	assert_int_equal(hj_hub_entry_enc_verdicts_text(&vt, &enc), 0);
	/* The followed row holds the same compact form: no sentence. */
	assert_string_equal((const char *)vt.data, "[[1,\"duplicate_member\",\"qh-xn-cb\"]]");
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 4, h1), 0);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);
	hj_buf_reset(&vt);
	assert_int_equal(hj_hub_entry_enc_verdicts_text(&vt, &enc), 0);
	assert_int_equal(vt.len, 0); /* all applied: nothing, the row stores NULL */
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cb", 1, h2), 0);
	assert_int_equal(hj_hub_entry_enc_finish(&out, &enc, st), 0);
	assert_string_equal((const char *)out.data, KNOWN2);
	assert_int_equal(enc.bytes + 2 + strlen("{\"v\":1,\"ops\":[{\"op\":\"hub.sequence\",\"v\":2,\"rules\":2,\"at\":"
		"1764547200000,\"include\":,\"state\":\"\"}]}") + 64, out.len);

	/* Decoded: rules, time, and the verdicts read through the one reader. */
	hj_hub_entry e;
	const char *reason = NULL, *detail = NULL;
	assert_int_equal(hj_hub_entry_parse(&e, (const char *)out.data, out.len), 0);
	assert_int_equal(e.v, 2);
	assert_int_equal(e.rules, 2);
	assert_int_equal(e.at_ms, 1764547200000);
	assert_int_equal(e.ninclude, 2);
	assert_int_equal(hj_hub_verdict_at(e.include[0].verdicts, 0, &reason, &detail), 1);
	assert_int_equal(hj_hub_verdict_at(e.include[0].verdicts, 1, &reason, &detail), 0);
	assert_string_equal(reason, "duplicate_member");
	assert_string_equal(detail, "qh-xn-cb");
	assert_int_equal(hj_hub_verdict_at(e.include[0].verdicts, 2, &reason, &detail), 1);
	assert_int_equal(hj_hub_verdicts_rejected(e.include[0].verdicts), 1);
	assert_int_equal(hj_hub_verdicts_check(e.include[0].verdicts, 2), 0);
	assert_int_equal(hj_hub_verdicts_check(e.include[0].verdicts, 1), HJ_ECORRUPT); /* index 1 of 1 op */
	assert_null(e.include[1].verdicts);
	hj_hub_entry_free(&e);
	hj_hub_entry_enc_free(&enc);
	hj_buf_free(&out);
	hj_buf_free(&vt);
}

/* v3: the inbox counts, sorted by node, only for entries that delivered,
 * counting the bytes they take; a change set taken back out takes its
 * deliveries with it. */
#define KNOWN3                                                                                              \
	"{\"v\":1,\"ops\":[{\"op\":\"hub.sequence\",\"v\":3,\"rules\":3,\"at\":5,\"include\":[{\"node\":\"xn-cz\"," \
	"\"seq\":4,\"hash\":\"" H1 "\"},{\"node\":\"xn-cb\",\"seq\":1,\"hash\":\"" H2 "\"}],\"inbox\":[[\"xn-a\",7]," \
	"[\"xn-b\",2]],\"state\":\"" ST "\"}]}"

static void test_v3_inbox(void **state)
{
	hj_hub_entry_enc enc;
	hj_buf out = HJ_BUF_INIT;
	uint8_t h1[32], h2[32], st[32];
	hj_verdict ok = ok_v();
	uint64_t n = 0;
	(void)state;
	fill(h1, H1);
	fill(h2, H2);
	fill(st, ST);
	hj_hub_entry_enc_init(&enc, 5);
	assert_int_equal(enc.version, 4);
	enc.version = 3; /* the v3 format, as a hub of the last op version wrote it */
	enc.rules = 3;
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);
	assert_int_equal(hj_hub_entry_enc_deliver(&enc, "xn-b", 1), 0);
	assert_int_equal(hj_hub_entry_enc_deliver(&enc, "xn-a", 6), 0);
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 4, h1), 0);
	/* Not included after all: its delivery goes with it. */
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);
	assert_int_equal(hj_hub_entry_enc_deliver(&enc, "xn-c", 1), 0);
	hj_hub_entry_enc_discard(&enc);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);
	assert_int_equal(hj_hub_entry_enc_deliver(&enc, "xn-a", 7), 0);
	assert_int_equal(hj_hub_entry_enc_deliver(&enc, "xn-b", 2), 0);
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cb", 1, h2), 0);
	assert_int_equal(hj_hub_entry_enc_finish(&out, &enc, st), 0);
	assert_string_equal((const char *)out.data, KNOWN3);
	/* The encoder's count of bytes never falls short of what it writes
	 * (the bound it enforces), and reserves no more than the widest
	 * counts. */
	size_t frame = 2 + 2 + 64 + strlen("{\"v\":1,\"ops\":[{\"op\":\"hub.sequence\",\"v\":3,\"rules\":3,\"at\":5,"
					   "\"include\":,\"inbox\":,\"state\":\"\"}]}");
	assert_true(enc.bytes + frame >= out.len);
	assert_true(enc.bytes + frame <= out.len + 2 * 26);
	assert_int_equal(hj_hub_entry_enc_deliver(&enc, "Bad Id", 1), HJ_EINVALID);
	assert_int_equal(hj_hub_entry_enc_deliver(&enc, "xn-a", 0), HJ_EINVALID);

	hj_hub_entry e;
	assert_int_equal(hj_hub_entry_parse(&e, (const char *)out.data, out.len), 0);
	assert_int_equal(e.v, 3);
	assert_int_equal(hj_hub_entry_inbox(&e, "xn-a", &n), 1);
	assert_int_equal(n, 7);
	assert_int_equal(hj_hub_entry_inbox(&e, "xn-b", &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(hj_hub_entry_inbox(&e, "xn-c", &n), 0);
	assert_int_equal(hj_hub_entry_inbox(&e, "xn-cz", &n), 0);
	hj_hub_entry_free(&e);
	hj_hub_entry_enc_free(&enc);
	hj_buf_free(&out);

	/* Nothing delivered: no inbox key at all. */
	hj_hub_entry_enc_init(&enc, 5);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 4, h1), 0);
	assert_int_equal(hj_hub_entry_enc_finish(&out, &enc, st), 0);
	assert_null(strstr((const char *)out.data, "inbox"));
	hj_hub_entry_enc_free(&enc);
	hj_buf_free(&out);
}

#define HEAD3 "\"op\":\"hub.sequence\",\"v\":3,\"rules\":3,\"at\":5,"
#define INC3 "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\"}]"

static void test_v3_malformed(void **state)
{
	(void)state;
	expect_refused(HEAD3, INC3 ",\"inbox\":[[\"xn-a\",1],[\"xn-b\",9]]", STATE, 0, NULL);
	expect_refused(HEAD3, INC3 ",\"inbox\":[]", STATE, HJ_ECORRUPT,
		       "\"inbox\" is not an array of 1..100000 pairs");
	expect_refused(HEAD3, INC3 ",\"inbox\":{}", STATE, HJ_ECORRUPT,
		       "\"inbox\" is not an array of 1..100000 pairs");
	expect_refused(HEAD3, INC3 ",\"inbox\":[[\"xn-b\",1],[\"xn-a\",1]]", STATE, HJ_ECORRUPT,
		       "inbox 1: nodes not in rising order");
	expect_refused(HEAD3, INC3 ",\"inbox\":[[\"xn-a\",1],[\"xn-a\",2]]", STATE, HJ_ECORRUPT,
		       "inbox 1: nodes not in rising order");
	expect_refused(HEAD3, INC3 ",\"inbox\":[[\"xn-a\",0]]", STATE, HJ_ECORRUPT, "inbox 0: not [node, count >= 1]");
	expect_refused(HEAD3, INC3 ",\"inbox\":[[\"xn-a\",\"1\"]]", STATE, HJ_ECORRUPT,
		       "inbox 0: not [node, count >= 1]");
	expect_refused(HEAD3, INC3 ",\"inbox\":[[\"XN\",1]]", STATE, HJ_ECORRUPT, "inbox 0: not [node, count >= 1]");
	expect_refused(HEAD3, INC3 ",\"inbox\":[[\"xn-a\",1,2]]", STATE, HJ_ECORRUPT,
		       "inbox 0: not [node, count >= 1]");
	/* A v2 entry has no inbox. */
	expect_refused("\"op\":\"hub.sequence\",\"v\":2,\"rules\":2,\"at\":5,", INC3 ",\"inbox\":[[\"xn-a\",1]]", STATE,
		       HJ_ECORRUPT, "unknown field \"inbox\"");
}

/* v4: the person keys the hub gave ops that name none, per include, and
 * the scheme they are in. */
#define HEAD4 "\"op\":\"hub.sequence\",\"v\":4,\"rules\":4,\"at\":5,\"key_scheme\":1,"
#define INC4(keys) "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\",\"keys\":" keys "}]"
static void test_v4_keys(void **state)
{
	hj_hub_entry_enc enc;
	hj_hub_entry e;
	hj_buf out = HJ_BUF_INIT, kt = HJ_BUF_INIT;
	uint8_t h1[32], st[32];
	hj_verdict ok = ok_v(), keyed = ok_v(), dup = dup_v("qh-hd");
	(void)state;
	fill(h1, H1);
	fill(st, ST);
	snprintf(keyed.person_key, sizeof keyed.person_key, "%s", ST);
	snprintf(dup.person_key, sizeof dup.person_key, "%s", H1);
	hj_hub_entry_enc_init(&enc, 5);
	assert_int_equal(enc.version, 4);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);    /* op 0: names its own key */
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &keyed), 0); /* op 1: keyed by the hub */
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &dup), 0);   /* op 2: a duplicate, keyed first */
	assert_int_equal(hj_hub_entry_enc_keys_text(&kt, &enc), 0);
	assert_string_equal((const char *)kt.data, "[[1,\"" ST "\"],[2,\"" H1 "\"]]");
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 4, h1), 0);
	assert_int_equal(hj_hub_entry_enc_finish(&out, &enc, st), 0);
	assert_non_null(strstr((const char *)out.data, "\"key_scheme\":1,"));
	assert_int_equal(hj_hub_entry_parse(&e, (const char *)out.data, out.len), 0);
	assert_int_equal(e.ninclude, 1);
	assert_null(hj_hub_key_at(e.include[0].keys, 0));
	assert_string_equal(hj_hub_key_at(e.include[0].keys, 1), ST);
	assert_string_equal(hj_hub_key_at(e.include[0].keys, 2), H1);
	assert_null(hj_hub_key_at(e.include[0].keys, 3));
	assert_int_equal(hj_hub_keys_check(e.include[0].keys, 3), 0);
	assert_int_equal(hj_hub_keys_check(e.include[0].keys, 2), HJ_ECORRUPT); /* index 2 of 2 ops */
	hj_hub_entry_free(&e);
	hj_hub_entry_enc_free(&enc);
	hj_buf_free(&out);
	hj_buf_free(&kt);

	expect_refused(HEAD4, INC4("[[0,\"" H1 "\"]]"), STATE, 0, NULL);
	expect_refused(HEAD4, INC4("[]"), STATE, HJ_ECORRUPT,
		       "include 0: keys: not an array of 1.. pairs (none is said by leaving it out)");
	expect_refused(HEAD4, INC4("[[1,\"" H1 "\"],[1,\"" H1 "\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: keys 1: op index 1 is not rising or not below 18446744073709551615 ops");
	expect_refused(HEAD4, INC4("[[0,\"" H1 "0\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: keys 0: not 64 lower-case hex digits");
	expect_refused(HEAD4, INC4("[[0,\"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"]]"), STATE,
		       HJ_ECORRUPT, "include 0: keys 0: not 64 lower-case hex digits");
	expect_refused(HEAD4, INC4("[[\"0\",\"" H1 "\"]]"), STATE, HJ_ECORRUPT, "include 0: keys 0: not [index, key]");
	/* The scheme: required, and a newer one needs a newer huiji. */
	expect_refused("\"op\":\"hub.sequence\",\"v\":4,\"rules\":4,\"at\":5,", INC3, STATE, HJ_ECORRUPT,
		       "\"key_scheme\" is not an integer >= 1");
	expect_refused("\"op\":\"hub.sequence\",\"v\":4,\"rules\":4,\"at\":5,\"key_scheme\":2,", INC3, STATE,
		       HJ_EVERSION, "hub entry's person keys are in scheme 2, newer than this huiji's 1: upgrade huiji to "
		       "read entries from the hub");
	/* A v3 entry has no keys. */
	expect_refused(HEAD3, INC4("[[0,\"" H1 "\"]]"), STATE, HJ_ECORRUPT, "include 0: unknown field \"keys\"");
}

/* The worst honest change set (2,000 ops, every one a duplicate) costs
 * bytes per rejection, not per op; 2,000 ok ops cost nothing per op. */
static void test_v2_compact(void **state)
{
	hj_hub_entry_enc enc;
	hj_buf out = HJ_BUF_INIT;
	uint8_t h[32], st[32];
	hj_verdict ok = ok_v(), dup = dup_v("qh-xn-cb-union-of-a-long-name");
	(void)state;
	fill(h, H1);
	fill(st, ST);
	hj_hub_entry_enc_init(&enc, 1);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(hj_hub_entry_enc_verdict(&enc, &ok), 0);
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 1, h), 0);
	size_t all_ok = enc.bytes;
	assert_true(all_ok < 120);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(hj_hub_entry_enc_verdict(&enc, &dup), 0);
	assert_int_equal(hj_hub_entry_enc_add(&enc, "xn-cz", 2, h), 0);
	assert_true(enc.bytes - all_ok < 2000 * 60);
	assert_int_equal(hj_hub_entry_enc_finish(&out, &enc, st), 0);
	hj_hub_entry e;
	assert_int_equal(hj_hub_entry_parse(&e, (const char *)out.data, out.len), 0);
	assert_int_equal(hj_hub_verdicts_check(e.include[1].verdicts, 2000), 0);
	assert_int_equal(hj_hub_verdicts_rejected(e.include[1].verdicts), 2000);
	hj_hub_entry_free(&e);
	/* A holder that is not an id is left out, never written (nor a reason
	 * to stop the round). */
	hj_verdict bad = dup_v("Qh Xn");
	hj_buf vt = HJ_BUF_INIT;
	hj_hub_entry_enc_free(&enc);
	hj_hub_entry_enc_init(&enc, 1);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &bad), 0);
	assert_int_equal(hj_hub_entry_enc_verdicts_text(&vt, &enc), 0);
	assert_string_equal((const char *)vt.data, "[[0,\"duplicate_member\",\"\"]]");
	hj_buf_free(&vt);
	/* duplicate_province (rules 5): "<province>/<union>", two ids, kept;
	 * three parts or an empty one are not. */
	hj_verdict two = dup_v("ah/ah-hf-yh"), three = dup_v("ah/ah-hf/yh"), half = dup_v("ah/");
	hj_hub_entry_enc_free(&enc);
	hj_hub_entry_enc_init(&enc, 1);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &two), 0);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &three), 0);
	assert_int_equal(hj_hub_entry_enc_verdict(&enc, &half), 0);
	assert_int_equal(hj_hub_entry_enc_verdicts_text(&vt, &enc), 0);
	assert_string_equal((const char *)vt.data, "[[0,\"duplicate_member\",\"ah/ah-hf-yh\"],[1,\"duplicate_member\",\"\"],"
						   "[2,\"duplicate_member\",\"\"]]");
	hj_buf_free(&vt);
	hj_hub_entry_enc_free(&enc);
	hj_buf_free(&out);
}

#define HEAD2 "\"op\":\"hub.sequence\",\"v\":2,\"rules\":2,\"at\":5,"
#define INC2(rest) "[{\"node\":\"xn-cz\",\"seq\":4,\"hash\":\"" H1 "\"" rest "}]"

static void test_v2_malformed(void **state)
{
	(void)state;
	expect_refused(HEAD2, INC2(""), STATE, 0, NULL);
	expect_refused(HEAD2, INC2(",\"rejected\":[[0,\"invalid\",\"\"],[7,\"duplicate_member\",\"qh-a\"]]"), STATE, 0,
		       NULL);
	/* Rules and time. */
	expect_refused("\"op\":\"hub.sequence\",\"v\":2,\"at\":5,", INC2(""), STATE, HJ_ECORRUPT,
		       "\"rules\" is not an integer >= 1");
	expect_refused("\"op\":\"hub.sequence\",\"v\":2,\"rules\":0,\"at\":5,", INC2(""), STATE, HJ_ECORRUPT,
		       "\"rules\" is not an integer >= 1");
	expect_refused("\"op\":\"hub.sequence\",\"v\":2,\"rules\":7,\"at\":5,", INC2(""), STATE, HJ_EVERSION,
		       "hub entry decided under rules version 7, newer than this huiji's 6: upgrade huiji to read "
		       "entries from the hub");
	expect_refused("\"op\":\"hub.sequence\",\"v\":2,\"rules\":2,", INC2(""), STATE, HJ_ECORRUPT,
		       "\"at\" is not an integer >= 1");
	expect_refused("\"op\":\"hub.sequence\",\"v\":2,\"rules\":2,\"at\":\"5\",", INC2(""), STATE, HJ_ECORRUPT,
		       "\"at\" is not an integer >= 1");
	/* Room for later content is a later version: v2 refuses it. */
	expect_refused(HEAD2 "\"events\":[],", INC2(""), STATE, HJ_ECORRUPT, "unknown field \"events\"");
	/* v1's field in v2, v2's in v1. */
	expect_refused(HEAD2, INC2(",\"verdicts\":[\"ok\"]"), STATE, HJ_ECORRUPT, "include 0: unknown field \"verdicts\"");
	expect_refused(HEAD, INC("\"xn-cz\"", "4", "\"" H1 "\"", "[[0,\"invalid\",\"\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: verdict 0: neither \"ok\" nor [reason, detail]");
	expect_refused("\"op\":\"hub.sequence\",\"v\":1,\"rules\":2,", GOOD_INC, STATE, HJ_ECORRUPT,
		       "unknown field \"rules\"");
	/* The compact rejections. */
	expect_refused(HEAD2, INC2(",\"rejected\":[]"), STATE, HJ_ECORRUPT,
		       "include 0: rejected: empty (every op applied is said by leaving it out)");
	expect_refused(HEAD2, INC2(",\"rejected\":[[3,\"invalid\",\"\"],[3,\"invalid\",\"\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: rejected 1: op index 3 is not rising or not below 18446744073709551615 ops");
	expect_refused(HEAD2, INC2(",\"rejected\":[[-1,\"invalid\",\"\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: rejected 0: op index -1 is not rising or not below 18446744073709551615 ops");
	expect_refused(HEAD2, INC2(",\"rejected\":[[0,\"Invalid\",\"\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: rejected 0: reason is not 1..31 bytes of [a-z0-9_]");
	expect_refused(HEAD2, INC2(",\"rejected\":[[0,\"invalid\",\"Qh Xn\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: rejected 0: holder is neither \"\" nor an id");
	expect_refused(HEAD2, INC2(",\"rejected\":[[0,\"invalid\",\"/ah\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: rejected 0: holder is neither \"\" nor an id");
	expect_refused(HEAD2, INC2(",\"rejected\":[[0,\"invalid\"]]"), STATE, HJ_ECORRUPT,
		       "include 0: rejected 0: not [index, reason, holder]");
	expect_refused(HEAD2, INC2(",\"rejected\":{}"), STATE, HJ_ECORRUPT, "include 0: rejected: not an array");
	/* A followed row in the compact form reads the same way. */
	hj_json *vd = NULL;
	const char *reason = NULL;
	assert_int_equal(hj_hub_verdicts_parse(&vd, "[[2,\"too_young\",\"\"]]", 3), 0);
	assert_int_equal(hj_hub_verdict_at(vd, 2, &reason, NULL), 0);
	assert_string_equal(reason, "too_young");
	assert_int_equal(hj_hub_verdict_at(vd, 1, &reason, NULL), 1);
	hj_json_free(vd);
	assert_int_equal(hj_hub_verdicts_parse(&vd, "[[2,\"too_young\",\"\"]]", 2), HJ_ECORRUPT);
	assert_null(vd);
	/* The rejections in op order, either form. */
	static const char *const forms[] = {"[\"ok\",[\"invalid\",\"x\"],\"ok\",\"ok\",[\"too_young\",\"\"]]",
					    "[[1,\"invalid\",\"\"],[4,\"too_young\",\"\"]]"};
	for (int f = 0; f < 2; f++) {
		size_t at = 0, op = 99;
		const char *detail = NULL;
		assert_int_equal(hj_hub_verdicts_parse(&vd, forms[f], 5), 0);
		assert_int_equal(hj_hub_rejection_next(vd, &at, &op, &reason, &detail), 1);
		assert_int_equal(op, 1);
		assert_string_equal(reason, "invalid");
		assert_int_equal(hj_hub_rejection_next(vd, &at, &op, &reason, &detail), 1);
		assert_int_equal(op, 4);
		assert_string_equal(reason, "too_young");
		assert_int_equal(hj_hub_rejection_next(vd, &at, &op, &reason, &detail), 0);
		hj_json_free(vd);
	}
	size_t at = 0, op = 0;
	const char *detail = NULL;
	assert_int_equal(hj_hub_rejection_next(NULL, &at, &op, &reason, &detail), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_verdict_counts),
		cmocka_unit_test(test_encoder_limits),
		cmocka_unit_test(test_v2_exact_bytes),
		cmocka_unit_test(test_v2_compact),
		cmocka_unit_test(test_v2_malformed),
		cmocka_unit_test(test_v3_inbox),
		cmocka_unit_test(test_v3_malformed),
		cmocka_unit_test(test_v4_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
