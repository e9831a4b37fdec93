/*
 * test_utf8.c — the one UTF-8 validator against RFC 3629's edges: every
 * boundary of every sequence length, overlongs, surrogates, > U+10FFFF,
 * truncation; and that the CSV reader, the JSON writer and parser, and the
 * character counter all agree with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "csv.h"
#include "error.h"
#include "json.h"
#include "mask.h"
#include "utf8.h"

typedef struct {
	const char *bytes;
	size_t len;    /* 0: strlen(bytes) */
	int valid;
	size_t bad;    /* offset of the first bad sequence when !valid */
	const char *what;
} utf8_case;

static const utf8_case cases[] = {
	{"", 0, 1, 0, "empty"},
	{"plain ascii", 0, 1, 0, "ASCII"},
	{"\x7f", 0, 1, 0, "U+007F, last 1-byte"},
	{"\xc2\x80", 0, 1, 0, "U+0080, first 2-byte"},
	{"\xdf\xbf", 0, 1, 0, "U+07FF, last 2-byte"},
	{"\xe0\xa0\x80", 0, 1, 0, "U+0800, first 3-byte"},
	{"\xed\x9f\xbf", 0, 1, 0, "U+D7FF, just below the surrogates"},
	{"\xee\x80\x80", 0, 1, 0, "U+E000, just above the surrogates"},
	{"\xef\xbf\xbd", 0, 1, 0, "U+FFFD"},
	{"\xef\xbf\xbf", 0, 1, 0, "U+FFFF, last 3-byte"},
	{"\xf0\x90\x80\x80", 0, 1, 0, "U+10000, first 4-byte"},
	{"\xf4\x8f\xbf\xbf", 0, 1, 0, "U+10FFFF, the last code point"},
	{"\xe5\xbc\xa0\xe4\xb8\x89", 0, 1, 0, "张三"},
	{"a\0b", 3, 1, 0, "NUL is U+0000 (callers refuse it themselves)"},
	/* overlong forms */
	{"\xc0\x80", 0, 0, 0, "overlong NUL (modified UTF-8)"},
	{"\xc0\xaf", 0, 0, 0, "overlong '/'"},
	{"\xc1\xbf", 0, 0, 0, "overlong U+007F"},
	{"\xe0\x80\xaf", 0, 0, 0, "3-byte overlong '/'"},
	{"\xe0\x9f\xbf", 0, 0, 0, "3-byte overlong U+07FF"},
	{"\xf0\x80\x80\xaf", 0, 0, 0, "4-byte overlong '/'"},
	{"\xf0\x8f\xbf\xbf", 0, 0, 0, "4-byte overlong U+FFFF"},
	/* surrogates, alone and paired (CESU-8) */
	{"\xed\xa0\x80", 0, 0, 0, "U+D800"},
	{"\xed\xad\xbf", 0, 0, 0, "U+DB7F"},
	{"\xed\xb0\x80", 0, 0, 0, "U+DC00"},
	{"\xed\xbf\xbf", 0, 0, 0, "U+DFFF"},
	{"ok\xed\xa0\xbd\xed\xb8\x80", 0, 0, 2, "CESU-8 pair for U+1F600"},
	/* beyond U+10FFFF and bytes that never occur */
	{"\xf4\x90\x80\x80", 0, 0, 0, "U+110000"},
	{"\xf5\x80\x80\x80", 0, 0, 0, "F5 lead"},
	{"\xf8\x88\x80\x80\x80", 0, 0, 0, "5-byte form"},
	{"\xfc\x84\x80\x80\x80\x80", 0, 0, 0, "6-byte form"},
	{"\xfe", 0, 0, 0, "FE"},
	{"\xff", 0, 0, 0, "FF"},
	/* stray and truncated */
	{"\x80", 0, 0, 0, "lone continuation"},
	{"a\xbf", 0, 0, 1, "continuation after ASCII"},
	{"\xc2", 0, 0, 0, "2-byte cut at 1"},
	{"\xe5\xbc", 0, 0, 0, "3-byte cut at 2"},
	{"\xf0\x9f\x98", 0, 0, 0, "4-byte cut at 3"},
	{"\xe5\xbc" "a", 0, 0, 0, "3-byte broken by ASCII"},
	{"\xc2\xc2\x80", 0, 0, 0, "lead where a continuation belongs"},
	{"\xe5\xbc\xa0\xe4\xb8", 0, 0, 3, "张 then a cut 三"},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const utf8_case *t = &cases[i];
		size_t len = t->len ? t->len : strlen(t->bytes), bad = 999;
		int got = hj_utf8_valid(t->bytes, len, &bad);
		if (got != t->valid)
			fail_msg("case %zu (%s): valid %d, expected %d", i, t->what, got, t->valid);
		if (!t->valid && bad != t->bad)
			fail_msg("case %zu (%s): bad at %zu, expected %zu", i, t->what, bad, t->bad);
		assert_int_equal(hj_utf8_valid(t->bytes, len, NULL), t->valid);
	}
}

/* A sequence cut by the length limit is invalid even if the bytes after
 * it would complete it: the validator never reads past n. */
static void test_never_reads_past_n(void **state)
{
	(void)state;
	const char *s = "\xe5\xbc\xa0";
	assert_int_equal(hj_utf8_valid(s, 3, NULL), 1);
	assert_int_equal(hj_utf8_valid(s, 2, NULL), 0);
	assert_int_equal(hj_utf8_seq((const unsigned char *)s, 1), 0);
	assert_int_equal(hj_utf8_seq((const unsigned char *)s, 3), 3);
}

/* hj_utf8_len counts a character per well-formed sequence and a byte per
 * anything else, and stops at the NUL. */
static void test_len(void **state)
{
	(void)state;
	assert_int_equal(hj_utf8_len((const unsigned char *)"\xe5\xbc\xa0"), 3);
	assert_int_equal(hj_utf8_len((const unsigned char *)"a"), 1);
	assert_int_equal(hj_utf8_len((const unsigned char *)"\xed\xa0\x80"), 1); /* surrogate: per byte */
	assert_int_equal(hj_utf8_len((const unsigned char *)"\xc0\x80"), 1);     /* overlong: per byte */
	assert_int_equal(hj_utf8_len((const unsigned char *)"\xe5\xbc"), 1);     /* cut by the NUL */
	assert_int_equal(hj_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80"), 4);
	char out[32];
	hj_mask_name(out, sizeof out, "\xe5\xbc\xa0\xe4\xb8\x89\xe4\xb8\x89");
	assert_string_equal(out, "\xe5\xbc\xa0**");
}

/* Every module that checks UTF-8 agrees with the table: the CSV reader
 * refuses exactly what the JSON writer would refuse later, so no row is
 * read that cannot be signed. */
static void test_modules_agree(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const utf8_case *t = &cases[i];
		if (t->len) /* NUL inside: not a C string */
			continue;
		size_t len = strlen(t->bytes);
		/* JSON writer */
		hj_json *v = hj_json_strn(t->bytes, len);
		hj_buf b = HJ_BUF_INIT;
		assert_non_null(v);
		int wrc = hj_json_write(&b, v);
		if ((wrc == 0) != t->valid)
			fail_msg("case %zu (%s): json writer says %d", i, t->what, wrc);
		/* JSON parser on the raw bytes in quotes */
		hj_buf q = HJ_BUF_INIT;
		hj_json *back = NULL;
		hj_buf_put_u8(&q, '"');
		hj_buf_put(&q, t->bytes, len);
		hj_buf_put_u8(&q, '"');
		int prc = hj_json_parse(&back, (const char *)q.data, q.len);
		if ((prc == 0) != t->valid)
			fail_msg("case %zu (%s): json parser says %d", i, t->what, prc);
		/* CSV reader: the case as a field of record 2 */
		char text[64];
		snprintf(text, sizeof text, "a,b\nx,%s\nlast,1\n", t->bytes);
		FILE *f = fmemopen(text, strlen(text), "r");
		hj_csv *c = NULL;
		char **fl;
		size_t n;
		long line;
		assert_non_null(f);
		assert_int_equal(hj_csv_open(&c, f), 0);
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
		int crc = hj_csv_next(c, &fl, &n, &line);
		assert_int_equal(line, 2);
		if (crc != (t->valid ? 1 : HJ_EINVALID))
			fail_msg("case %zu (%s): csv reader says %d", i, t->what, crc);
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
		assert_int_equal(line, 3);
		assert_string_equal(fl[0], "last");
		hj_csv_close(c);
		fclose(f);
		hj_json_free(back);
		hj_json_free(v);
		hj_buf_free(&b);
		hj_buf_free(&q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_never_reads_past_n),
		cmocka_unit_test(test_len),
		cmocka_unit_test(test_modules_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
