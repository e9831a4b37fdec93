/*
 * test_json.c — unit tests for node/json.c.
 *
 * Checks round trips, insertion order, escaping, \u and surrogate decoding,
 * every class of malformed input, and feeds prefixes and random mutations
 * of a valid document to the parser in exact-size heap buffers, so that an
 * ASan build catches any read past `len`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "json.h"

static const char doc[] =
	"{\"op\":\"member.add\",\"seq\":42,\"neg\":-9223372036854775808,"
	"\"max\":9223372036854775807,\"ok\":true,\"no\":false,\"nil\":null,"
	"\"name\":\"Zhāng Wěi 张伟 \\\"q\\\" \\\\ \\n\\t\\u0001\","
	"\"tags\":[1,[],{},[[\"x\"]],{\"a\":{\"b\":[0,-1]}}],\"emoji\":\"😀\","
	"\"z\":\"\"}";

/* Parse `len` bytes copied into an exact-size heap buffer. */
static int parse_exact(hj_json **out, const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, text, len);
	int rc = hj_json_parse(out, copy, len);
	free(copy);
	return rc;
}

static void expect_corrupt(const char *text, size_t len)
{
	hj_json *v = (hj_json *)1;
	hj_error_clear();
	int rc = parse_exact(&v, text, len);
	if (rc != HJ_ECORRUPT)
		fail_msg("expected ECORRUPT for [%.*s], got %d", (int)len,
			 text, rc);
	assert_null(v);
	assert_non_null(strstr(hj_error_last(), "at offset "));
}

#define BAD(lit) expect_corrupt(lit, sizeof(lit) - 1)

static char *compact(const hj_json *v)
{
	hj_buf b = HJ_BUF_INIT;
	assert_int_equal(hj_json_write(&b, v), 0);
	if (!b.data)
		hj_buf_put(&b, "", 0);
	return (char *)hj_buf_detach(&b, NULL);
}

static void roundtrip(const char *text)
{
	hj_json *v = NULL;
	int rc = parse_exact(&v, text, strlen(text));
	if (rc)
		fail_msg("parse [%s]: %s", text, hj_error_last());
	char *out = compact(v);
	assert_string_equal(out, text);
	free(out);
	hj_json_free(v);
}

static void test_roundtrip(void **state)
{
	(void)state;
	roundtrip(doc);
	roundtrip("0");
	roundtrip("-1");
	roundtrip("\"\"");
	roundtrip("true");
	roundtrip("null");
	roundtrip("[]");
	roundtrip("{}");
	roundtrip("[1,\"a\",{\"b\":null}]");

	/* whitespace is accepted and dropped; key order kept */
	hj_json *v = NULL;
	const char *ws = " \t\r\n{ \"b\" : 1 ,\n\"a\":[ 2 , 3 ] } \n";
	assert_int_equal(parse_exact(&v, ws, strlen(ws)), 0);
	char *out = compact(v);
	assert_string_equal(out, "{\"b\":1,\"a\":[2,3]}");
	free(out);
	hj_json_free(v);

	/* "-0" is an integer zero; "\/" decodes to '/' */
	assert_int_equal(parse_exact(&v, "[-0,\"\\/\"]", 9), 0);
	out = compact(v);
	assert_string_equal(out, "[0,\"/\"]");
	free(out);
	hj_json_free(v);
}

static void test_build_order(void **state)
{
	(void)state;
	hj_json *o = hj_json_new(HJ_JOBJ);
	assert_non_null(o);
	assert_int_equal(hj_json_set_str(o, "zeta", "1"), 0);
	assert_int_equal(hj_json_set_int(o, "alpha", -7), 0);
	assert_int_equal(hj_json_set_bool(o, "mid", 1), 0);
	assert_int_equal(hj_json_set_str(o, "absent", NULL), 0);
	assert_int_equal(hj_json_set(o, "nil", hj_json_null()), 0);
	hj_json *a = hj_json_new(HJ_JARR);
	assert_int_equal(hj_json_append(a, hj_json_int(3)), 0);
	assert_int_equal(hj_json_append(a, hj_json_strn("x\0y", 1)), 0);
	assert_int_equal(hj_json_set(o, "list", a), 0);
	char *out = compact(o);
	assert_string_equal(out, "{\"zeta\":\"1\",\"alpha\":-7,\"mid\":true,"
				 "\"nil\":null,\"list\":[3,\"x\"]}");
	free(out);

	/* replacing keeps position */
	assert_int_equal(hj_json_set_str(o, "alpha", "A"), 0);
	out = compact(o);
	assert_string_equal(out, "{\"zeta\":\"1\",\"alpha\":\"A\",\"mid\":true,"
				 "\"nil\":null,\"list\":[3,\"x\"]}");
	free(out);

	/* same tree, same bytes */
	char *again = compact(o);
	out = compact(o);
	assert_string_equal(out, again);
	free(out);
	free(again);

	/* lookups */
	int64_t i = 0;
	assert_string_equal(hj_json_get_str(o, "zeta"), "1");
	assert_null(hj_json_get_str(o, "mid"));
	assert_null(hj_json_get_str(o, "absent"));
	assert_null(hj_json_get(a, "x"));
	assert_int_equal(hj_json_get_int(o, "alpha", &i), HJ_EINVALID);
	assert_int_equal(hj_json_get_int(o, "nope", &i), HJ_ENOTFOUND);
	assert_int_equal(hj_json_set_int(o, "n", INT64_MIN), 0);
	assert_int_equal(hj_json_get_int(o, "n", &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(hj_json_get(o, "list")->count, 2);

	/* ownership on failure: the child is freed (ASan checks leaks) */
	assert_int_equal(hj_json_append(o, hj_json_int(1)), HJ_EINVALID);
	assert_int_equal(hj_json_set(a, "k", hj_json_int(1)), HJ_EINVALID);
	assert_int_equal(hj_json_append(a, NULL), HJ_ENOMEM);
	assert_int_equal(hj_json_set(o, NULL, hj_json_int(1)), HJ_EINVALID);

	/* pretty */
	hj_buf b = HJ_BUF_INIT;
	hj_json *p = NULL;
	const char *src = "{\"a\":[1,{}],\"b\":{\"c\":\"d\"},\"e\":[]}";
	assert_int_equal(parse_exact(&p, src, strlen(src)), 0);
	assert_int_equal(hj_json_write_pretty(&b, p, 0), 0);
	assert_string_equal((char *)b.data, "{\n"
					     "  \"a\": [\n"
					     "    1,\n"
					     "    {}\n"
					     "  ],\n"
					     "  \"b\": {\n"
					     "    \"c\": \"d\"\n"
					     "  },\n"
					     "  \"e\": []\n"
					     "}");
	hj_buf_free(&b);
	hj_json_free(p);
	hj_json_free(o);
}

static void test_escaping(void **state)
{
	(void)state;
	const char raw[] = "q\"b\\n\nt\tr\rb\bf\f\x01\x1f\x7f/é😀";
	hj_json *s = hj_json_strn(raw, sizeof raw - 1);
	char *out = compact(s);
	assert_string_equal(out, "\"q\\\"b\\\\n\\nt\\tr\\rb\\bf\\f\\u0001"
				 "\\u001f\x7f/é😀\"");
	hj_json *back = NULL;
	assert_int_equal(parse_exact(&back, out, strlen(out)), 0);
	assert_int_equal(back->slen, sizeof raw - 1);
	assert_memory_equal(back->s, raw, sizeof raw - 1);
	free(out);
	hj_json_free(back);
	hj_json_free(s);

	/* the writer refuses what the parser would refuse */
	hj_buf b = HJ_BUF_INIT;
	hj_buf_puts(&b, "keep");
	s = hj_json_strn("a\0b", 3);
	assert_int_equal(hj_json_write(&b, s), HJ_EINVALID);
	hj_json_free(s);
	s = hj_json_str("bad \xc3\x28");
	assert_int_equal(hj_json_write(&b, s), HJ_EINVALID);
	hj_json_free(s);
	hj_json *o = hj_json_new(HJ_JOBJ);
	assert_int_equal(hj_json_set_int(o, "\xff", 1), 0);
	assert_int_equal(hj_json_write(&b, o), HJ_EINVALID);
	hj_json_free(o);
	hj_json *deep = hj_json_new(HJ_JARR);
	for (int k = 0; k < 32; k++) {
		hj_json *outer = hj_json_new(HJ_JARR);
		assert_int_equal(hj_json_append(outer, deep), 0);
		deep = outer;
	}
	assert_int_equal(hj_json_write(&b, deep), HJ_EINVALID);
	hj_json_free(deep);
	assert_int_equal(b.len, 4);
	assert_string_equal((char *)b.data, "keep");
	hj_buf_free(&b);
}

static void expect_str(const char *json, const char *utf8)
{
	hj_json *v = NULL;
	if (parse_exact(&v, json, strlen(json)))
		fail_msg("parse [%s]: %s", json, hj_error_last());
	assert_int_equal(v->type, HJ_JSTR);
	assert_int_equal(v->slen, strlen(utf8));
	assert_string_equal(v->s, utf8);
	hj_json_free(v);
}

static void test_unicode(void **state)
{
	(void)state;
	expect_str("\"\\u0041\"", "A");
	expect_str("\"\\u00e9\\u00E9\"", "éé");
	expect_str("\"\\u20ac\"", "€");
	expect_str("\"\\uffff\"", "\xef\xbf\xbf");
	expect_str("\"\\ud83d\\ude00\"", "😀");
	expect_str("\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80");
	expect_str("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf");
	expect_str("\"\xf4\x8f\xbf\xbf\"", "\xf4\x8f\xbf\xbf");
	expect_str("\"\xed\x9f\xbf\"", "\xed\x9f\xbf"); /* U+D7FF */
	expect_str("\"\\u0001\"", "\x01");

	BAD("\"\\ud83d\"");        /* lone high */
	BAD("\"\\ud83dx\"");       /* high then text */
	BAD("\"\\ud83d\\u0041\""); /* high then non-low */
	BAD("\"\\ud83d\\ud83d\""); /* high then high */
	BAD("\"\\ude00\"");        /* lone low */
	BAD("\"\\u0000\"");        /* embedded NUL */
	BAD("\"\\u00\"");
	BAD("\"\\u00g0\"");
	BAD("\"\\ud83d\\ude0");
}

static void test_malformed(void **state)
{
	(void)state;
	/* truncated / empty */
	BAD("");
	BAD("   ");
	BAD("{");
	BAD("[1,");
	BAD("{\"a\"");
	BAD("{\"a\":");
	BAD("\"abc");
	BAD("\"abc\\");
	BAD("tru");
	BAD("-");
	BAD("nul");
	/* syntax */
	BAD("[1,]");
	BAD("{\"a\":1,}");
	BAD("[,1]");
	BAD("{a:1}");
	BAD("{\"a\" 1}");
	BAD("[1 2]");
	BAD("{1:2}");
	BAD("'a'");
	BAD("True");
	BAD("nulll");
	BAD("+1");
	BAD("01");
	BAD("-01");
	BAD("--1");
	BAD("\xef\xbb\xbf{}"); /* BOM */
	BAD("\v1");
	/* bad escapes and raw control characters */
	BAD("\"\\x\"");
	BAD("\"\\'\"");
	BAD("\"\\U0041\"");
	BAD("\"a\nb\"");
	BAD("\"a\tb\"");
	expect_corrupt("\"a\0b\"", 5);
	/* bad UTF-8 */
	BAD("\"\x80\"");             /* lone continuation */
	BAD("\"\xc3\"");             /* truncated 2-byte */
	BAD("\"\xc3\x28\"");         /* bad continuation */
	BAD("\"\xc0\xaf\"");         /* overlong '/' */
	BAD("\"\xc1\xbf\"");         /* overlong */
	BAD("\"\xe0\x80\xaf\"");     /* overlong 3-byte */
	BAD("\"\xf0\x80\x80\xaf\""); /* overlong 4-byte */
	BAD("\"\xed\xa0\x80\"");     /* UTF-8 encoded surrogate D800 */
	BAD("\"\xed\xbf\xbf\"");     /* DFFF */
	BAD("\"\xf4\x90\x80\x80\""); /* > U+10FFFF */
	BAD("\"\xf5\x80\x80\x80\"");
	BAD("\"\xff\"");
	BAD("\"\xe2\x82\"");         /* truncated 3-byte */
	expect_corrupt("\"\xe2\x82", 3); /* truncated at end of input */
	BAD("{\"\xc0\x80\":1}");     /* bad key */
	/* non-integers */
	BAD("1.0");
	BAD("1e3");
	BAD("1E3");
	BAD("-0.5");
	BAD("[0.1]");
	assert_non_null(strstr(hj_error_last(),
			       "non-integer number at offset 1"));
	/* int64 overflow */
	BAD("9223372036854775808");
	BAD("-9223372036854775809");
	BAD("99999999999999999999999");
	/* duplicate keys */
	BAD("{\"a\":1,\"a\":2}");
	assert_non_null(strstr(hj_error_last(), "duplicate"));
	assert_non_null(strstr(hj_error_last(), "at offset 7"));
	BAD("{\"a\":1,\"b\":{\"c\":1,\"c\":1}}");
	/* trailing garbage */
	BAD("{} x");
	BAD("[]]");
	BAD("1 2");
	BAD("\"a\"\"b\"");
	expect_corrupt("{}\0", 3);
	/* NULL handling */
	hj_json *v = NULL;
	assert_int_equal(hj_json_parse(&v, NULL, 0), HJ_ECORRUPT);
	assert_int_equal(hj_json_parse(&v, NULL, 3), HJ_EINVALID);
	assert_null(v);
}

static void test_dup_large(void **state)
{
	(void)state;
	/* many keys: unique parses, one repeat is caught at its offset */
	hj_buf b = HJ_BUF_INIT;
	hj_buf_puts(&b, "{");
	for (int k = 0; k < 2000; k++)
		hj_buf_printf(&b, "%s\"k%d\":%d", k ? "," : "", k, k);
	hj_buf_puts(&b, "}");
	hj_json *v = NULL;
	assert_int_equal(parse_exact(&v, (char *)b.data, b.len), 0);
	assert_int_equal(v->count, 2000);
	assert_string_equal(v->keys[1999], "k1999");
	hj_json_free(v);
	b.len--;
	size_t off = b.len + 1;
	hj_buf_puts(&b, ",\"k5\":0,\"k7\":0}");
	assert_int_equal(parse_exact(&v, (char *)b.data, b.len), HJ_ECORRUPT);
	char want[64];
	snprintf(want, sizeof want, "duplicate object key at offset %zu", off);
	assert_non_null(strstr(hj_error_last(), want));
	hj_buf_free(&b);
}

static void test_depth(void **state)
{
	(void)state;
	char buf[200];
	hj_json *v = NULL;
	for (int depth = 31; depth <= 34; depth++) {
		memset(buf, '[', (size_t)depth);
		memset(buf + depth, ']', (size_t)depth);
		int rc = parse_exact(&v, buf, (size_t)depth * 2);
		if (depth <= 32) {
			assert_int_equal(rc, 0);
			char *out = compact(v);
			assert_memory_equal(out, buf, (size_t)depth * 2);
			free(out);
			hj_json_free(v);
		} else {
			assert_int_equal(rc, HJ_ECORRUPT);
			assert_non_null(strstr(hj_error_last(),
					       "nesting too deep at offset 32"));
		}
	}
	/* mixed objects and arrays count the same */
	hj_buf b = HJ_BUF_INIT;
	for (int k = 0; k < 33; k++)
		hj_buf_puts(&b, k % 2 ? "[" : "{\"a\":");
	hj_buf_puts(&b, "1");
	for (int k = 32; k >= 0; k--)
		hj_buf_puts(&b, k % 2 ? "]" : "}");
	assert_int_equal(parse_exact(&v, (char *)b.data, b.len), HJ_ECORRUPT);
	/* a very deep document fails fast, without deep recursion */
	hj_buf_reset(&b);
	for (int k = 0; k < 100000; k++)
		hj_buf_put_u8(&b, '[');
	assert_int_equal(parse_exact(&v, (char *)b.data, b.len), HJ_ECORRUPT);
	hj_buf_free(&b);
}

/* write -> parse -> write must be a fixed point for anything accepted */
static void check_stable(const hj_json *v)
{
	char *a = compact(v);
	hj_json *w = NULL;
	assert_int_equal(hj_json_parse(&w, a, strlen(a)), 0);
	char *b = compact(w);
	assert_string_equal(a, b);
	hj_buf p = HJ_BUF_INIT;
	assert_int_equal(hj_json_write_pretty(&p, v, 1), 0);
	hj_json *x = NULL;
	assert_int_equal(hj_json_parse(&x, (char *)p.data, p.len), 0);
	char *c = compact(x);
	assert_string_equal(a, c);
	free(a);
	free(b);
	free(c);
	hj_buf_free(&p);
	hj_json_free(w);
	hj_json_free(x);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void test_fuzz(void **state)
{
	(void)state;
	size_t n = sizeof doc - 1;
	hj_json *v = NULL;

	/* every proper prefix is truncated, hence corrupt */
	for (size_t k = 0; k < n; k++) {
		int rc = parse_exact(&v, doc, k);
		if (rc != HJ_ECORRUPT)
			fail_msg("prefix %zu: rc %d", k, rc);
		assert_null(v);
	}
	assert_int_equal(parse_exact(&v, doc, n), 0);
	check_stable(v);
	hj_json_free(v);

	static const char alphabet[] = "{}[]\",:\\u0123456789-+.eE tfn\x80\xc3"
				       "\xed\xf0\xff\x00";
	char *m = malloc(n * 2 + 16);
	assert_non_null(m);
	int accepted = 0;
	for (int iter = 0; iter < 5000; iter++) {
		size_t len = n;
		memcpy(m, doc, n);
		int edits = 1 + (int)(rng() % 4);
		for (int e = 0; e < edits; e++) {
			size_t at = len ? rng() % len : 0;
			unsigned char c = rng() % 2
				? (unsigned char)rng()
				: (unsigned char)alphabet[rng() %
							  (sizeof alphabet)];
			switch (rng() % 4) {
			case 0: /* replace */
				if (len)
					m[at] = (char)c;
				break;
			case 1: /* insert */
				memmove(m + at + 1, m + at, len - at);
				m[at] = (char)c;
				len++;
				break;
			case 2: /* delete */
				if (len) {
					memmove(m + at, m + at + 1,
						len - at - 1);
					len--;
				}
				break;
			default: /* truncate */
				len = at;
			}
		}
		int rc = parse_exact(&v, m, len);
		assert_true(rc == 0 || rc == HJ_ECORRUPT);
		if (rc == 0) {
			accepted++;
			check_stable(v);
			hj_json_free(v);
		} else {
			assert_null(v);
			assert_non_null(strstr(hj_error_last(), "at offset "));
		}
	}
	free(m);
	print_message("fuzz: %d of 5000 mutants accepted\n", accepted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_build_order),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_dup_large),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
