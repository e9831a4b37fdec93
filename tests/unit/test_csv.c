/*
 * test_csv.c — the CSV reader: RFC 4180 quoting, line numbers, and that a
 * malformed record is reported and skipped without spoiling the next; the
 * writer: quoting exactly when RFC 4180 needs it, and what it writes the
 * reader reads back field for field; the stray-quote rules of csv.h
 * (bounded quoted fields, resynchronising at the line after a malformed
 * record's start, so the rows it took in are read again); and the encoding
 * decision, made from the whole input (UTF-8, GB18030, or refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "error.h"

static hj_csv *open_text(FILE **f, const char *text)
{
	hj_csv *c = NULL;
	*f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(*f);
	assert_int_equal(hj_csv_open(&c, *f), 0);
	return c;
}

static void test_quoting_and_lines(void **state)
{
	(void)state;
	FILE *f;
	char **fl;
	size_t n;
	long line;
	hj_csv *c = open_text(&f, "\xEF\xBB\xBFname,id\r\n\"张, 三\",\"a\"\"b\"\n\n\"multi\nline\",x\nlast,\"\"");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 1);
	assert_int_equal(n, 2);
	assert_string_equal(fl[0], "name"); /* the BOM is not part of it */
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 2);
	assert_string_equal(fl[0], "张, 三");
	assert_string_equal(fl[1], "a\"b");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 4); /* the blank line 3 is skipped */
	assert_string_equal(fl[0], "multi\nline");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 6);
	assert_string_equal(fl[0], "last");
	assert_string_equal(fl[1], "");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 0);
	hj_csv_close(c);
	fclose(f);
}

static void test_bad_record_is_skipped(void **state)
{
	(void)state;
	static const char *bad[] = {
		"a,b\"c\nok,1\n",          /* quote inside an unquoted field */
		"\"a\"b,c\nok,1\n",        /* text after a closing quote */
		"a,\xff\xfe\nok,1\n",      /* not UTF-8 */
		"a,\xed\xa0\x80\nok,1\n",  /* a surrogate (the JSON writer refuses it) */
		"\xc0\xaf" "a,b\nok,1\n", /* an overlong '/' */
		"a,\xf4\x90\x80\x80\nok,1\n", /* beyond U+10FFFF */
		"a,\xe5\xbc\nok,1\n",      /* a truncated 张 */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		FILE *f;
		char **fl;
		size_t n;
		long line;
		hj_csv *c = open_text(&f, bad[i]);
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), HJ_EINVALID);
		assert_int_equal(line, 1);
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
		assert_int_equal(line, 2);
		assert_string_equal(fl[0], "ok");
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), 0);
		hj_csv_close(c);
		fclose(f);
	}
}

static void test_limits(void **state)
{
	(void)state;
	static char big[HJ_CSV_MAX_RECORD + 100], many[HJ_CSV_MAX_FIELDS * 2 + 20];
	FILE *f;
	char **fl;
	size_t n;
	long line;
	memset(big, 'x', sizeof big - 6);
	memcpy(big + sizeof big - 6, "\nok\n", 5);
	hj_csv *c = open_text(&f, big);
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "too long"));
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_string_equal(fl[0], "ok");
	hj_csv_close(c);
	fclose(f);

	for (int i = 0; i < HJ_CSV_MAX_FIELDS + 1; i++)
		strcat(many, "a,");
	strcat(many, "\nok\n");
	c = open_text(&f, many);
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "too many fields"));
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 2);
	hj_csv_close(c);
	fclose(f);

	c = open_text(&f, "\"never closed,a\nb,c\n");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "unterminated"));
	/* Only its own line is lost: the next row is read again. */
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 2);
	assert_string_equal(fl[0], "b");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 0);
	hj_csv_close(c);
	fclose(f);
}

/* Records are reported by the line they start on, whatever line breaks
 * their quoted fields hold (LF, CRLF, a lone CR). */
static void test_record_start_lines(void **state)
{
	(void)state;
	FILE *f;
	char **fl;
	size_t n;
	long line;
	hj_csv *c = open_text(&f, "h\r\n\"a\r\nb\",1\r\n\"c\rd\re\",2\n\"bad\xed\xa0\x80\n\",3\nlast\n");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 1);
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 2);
	assert_string_equal(fl[0], "a\r\nb");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 4);
	assert_string_equal(fl[0], "c\rd\re");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), HJ_EINVALID);
	assert_int_equal(line, 7); /* starts on 7, spans 7-8 */
	assert_non_null(strstr(hj_error_last(), "UTF-8"));
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
	assert_int_equal(line, 9);
	assert_string_equal(fl[0], "last");
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 0);
	hj_csv_close(c);
	fclose(f);
}

/* A NUL byte would silently cut a C-string field short ("张三\0<rest>"
 * read as "张三"): the record is refused, quoted or not, and the next
 * one is read. */
static void test_nul_byte(void **state)
{
	(void)state;
	static const char text1[] = "a,b\0c\nok,1\n", text2[] = "\"a\0b\",c\nok,1\n";
	const char *texts[] = {text1, text2};
	size_t lens[] = {sizeof text1 - 1, sizeof text2 - 1};
	for (int i = 0; i < 2; i++) {
		FILE *f = fmemopen((void *)texts[i], lens[i], "r");
		hj_csv *c = NULL;
		char **fl;
		size_t n;
		long line;
		assert_non_null(f);
		assert_int_equal(hj_csv_open(&c, f), 0);
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), HJ_EINVALID);
		assert_int_equal(line, 1);
		assert_non_null(strstr(hj_error_last(), "NUL"));
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
		assert_int_equal(line, 2);
		assert_string_equal(fl[0], "ok");
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), 0);
		hj_csv_close(c);
		fclose(f);
	}
}

static void test_writer(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "plain"},
		{"", ""},
		{"西宁市总工会", "西宁市总工会"},
		{"a,b", "\"a,b\""},
		{"say \"hi\"", "\"say \"\"hi\"\"\""},
		{"\"", "\"\"\"\""},
		{"two\nlines", "\"two\nlines\""},
		{"cr\rhere", "\"cr\rhere\""},
		{"crlf\r\n", "\"crlf\r\n\""},
		{" spaced ", " spaced "}, /* spaces are data (§2.4), no quotes needed */
		{"semi;colon", "semi;colon"},
	};
	hj_buf b = HJ_BUF_INIT;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *one[] = {cases[i].in};
		hj_buf_reset(&b);
		assert_int_equal(hj_csv_put_row(&b, one, 1), 0);
		char want[64];
		snprintf(want, sizeof want, "%s\n", cases[i].out);
		assert_string_equal((const char *)b.data, want);
	}
	const char *row[] = {"qh-xn", "城中区, \"东\"", NULL, "3"};
	hj_buf_reset(&b);
	assert_int_equal(hj_csv_put_row(&b, row, 4), 0);
	assert_string_equal((const char *)b.data, "qh-xn,\"城中区, \"\"东\"\"\",,3\n");
	hj_buf_reset(&b);
	assert_int_equal(hj_csv_put_row(&b, row, 0), 0);
	assert_string_equal((const char *)b.data, "\n");
	hj_buf_free(&b);
}

/* Writer then reader: every field comes back as it was, on the lines the
 * writer put it. */
static void test_round_trip(void **state)
{
	(void)state;
	const char *rows[][3] = {
		{"id", "name", "n"},
		{"a", "x,y", "1"},
		{"b", "say \"hi\"", "2"},
		{"c", "two\nlines", "3"},
		{"d", "", "\""},
		{"e", "cr\r\nlf,\"", "5"},
	};
	long want_line[] = {1, 2, 3, 4, 6, 7};
	hj_buf b = HJ_BUF_INIT;
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(hj_csv_put_row(&b, rows[i], 3), 0);
	FILE *f;
	char **fl;
	size_t n;
	long line;
	hj_csv *c = open_text(&f, (const char *)b.data);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), 1);
		assert_int_equal(n, 3);
		assert_int_equal(line, want_line[i]);
		for (size_t k = 0; k < 3; k++)
			assert_string_equal(fl[k], rows[i][k]);
	}
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 0);
	hj_csv_close(c);
	fclose(f);
	hj_buf_free(&b);
}

/* One expected outcome of hj_csv_next: rc 1 with the fields joined by '|',
 * or HJ_EINVALID with a word of the message; line 0 ends a list (then the
 * input must be at its end). */
typedef struct step {
	long line;
	int rc;
	const char *what;
} step;

static void run_steps(const char *label, hj_csv *c, const step *s)
{
	char **fl;
	size_t n;
	long line;
	for (; s->line; s++) {
		char got[512] = "";
		int rc = hj_csv_next(c, &fl, &n, &line);
		for (size_t i = 0; rc == 1 && i < n; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "|" : "", fl[i]);
		int same = rc == 1 ? strcmp(got, s->what) == 0 : strstr(hj_error_last(), s->what) != NULL;
		if (rc != s->rc || line != s->line || !same)
			fail_msg("%s: wanted line %ld rc %d \"%s\"; got line %ld rc %d \"%s\"", label, s->line, s->rc,
				 s->what, line, rc, rc == 1 ? got : hj_error_last());
	}
	if ((n = (size_t)hj_csv_next(c, &fl, &n, &line)) != 0)
		fail_msg("%s: more records than expected (line %ld)", label, line);
}

#define OK(l, w) {l, 1, w}
#define BAD(l, w) {l, HJ_EINVALID, w}

/* csv.h's rules for quotes, case by case. Before them, a stray quote took
 * in every row up to the next quote and reported them as one bad line. */
static void test_stray_quotes(void **state)
{
	(void)state;
	static const struct {
		const char *label, *text;
		int max_breaks; /* -1: the default */
		step steps[14];
	} cases[] = {
		{"a stray opening quote, a quoted row later", "name,id,phone\na,1,2\n\"b,3,4\nc,5,6\nd,7,8\n\"e\",9,10\n",
		 -1,
		 {OK(1, "name|id|phone"), OK(2, "a|1|2"), BAD(3, "line 4, which reads as a row"), OK(4, "c|5|6"),
		  OK(5, "d|7|8"), OK(6, "e|9|10")}},
		{"a quote that closes later, taking in a whole row", "h1,h2,h3\n\"x\na,b,c\ny\",2,3\nok,1,1\n", -1,
		 {OK(1, "h1|h2|h3"), BAD(2, "takes in line 3"), OK(3, "a|b|c"), BAD(4, "a quote inside an unquoted field"),
		  OK(5, "ok|1|1")}},
		{"an address over lines, none of them a row", "h1,h2,h3\n\"addr 1\nblock b, unit 2\nend\",2,3\nz,1,1\n", -1,
		 {OK(1, "h1|h2|h3"), OK(2, "addr 1\nblock b, unit 2\nend|2|3"), OK(5, "z|1|1")}},
		{"unterminated up to the end", "h,i\n\"a,b\nc\nd,e\n", -1,
		 {OK(1, "h|i"), BAD(2, "takes in line 4"), OK(3, "c"), OK(4, "d|e")}},
		{"unterminated, nothing looks like a row", "h,i\n\"a,b\nc\n", -1,
		 {OK(1, "h|i"), BAD(2, "before the end of the file"), OK(3, "c")}},
		{"more line breaks than allowed", "h\n\"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\"\nlast\n", -1,
		 {OK(1, "h"), BAD(2, "more than 8 lines"), OK(3, "2"), OK(4, "3"), OK(5, "4"), OK(6, "5"), OK(7, "6"),
		  OK(8, "7"), OK(9, "8"), OK(10, "9"), BAD(11, "a quote inside an unquoted field"), OK(12, "last")}},
		{"no breaks allowed", "h,i\n\"a\nb\",c\nd,e\n", 0,
		 {OK(1, "h|i"), BAD(2, "no closing quote on its line"), BAD(3, "a quote inside an unquoted field"),
		  OK(4, "d|e")}},
		{"a quote in the middle of a field", "h,i\nab\"c,d\ne,f\n", -1,
		 {OK(1, "h|i"), BAD(2, "a quote inside an unquoted field"), OK(3, "e|f")}},
		{"text after a closing quote, over lines", "h,i\n\"a\nb\"c,d\ne,f\n", -1,
		 {OK(1, "h|i"), BAD(2, "text after a closing quote"), BAD(3, "a quote inside an unquoted field"),
		  OK(4, "e|f")}},
		{"CRLF and quoted CRLF", "h,i\r\n\"a\r\nb\",c\r\n\"x\r\nd,e\r\n", -1,
		 {OK(1, "h|i"), OK(2, "a\r\nb|c"), BAD(4, "takes in line 5"), OK(5, "d|e")}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		FILE *f;
		hj_csv *c = open_text(&f, cases[i].text);
		if (cases[i].max_breaks >= 0)
			hj_csv_set_max_breaks(c, cases[i].max_breaks);
		run_steps(cases[i].label, c, cases[i].steps);
		hj_csv_close(c);
		fclose(f);
	}
}

/* A quoted field that holds a line break is bounded in bytes too. */
static void test_span_limit(void **state)
{
	(void)state;
	static char text[HJ_CSV_MAX_SPAN + 64];
	strcpy(text, "h,i\n\"a\n");
	size_t k = strlen(text);
	memset(text + k, 'x', HJ_CSV_MAX_SPAN);
	strcpy(text + k + HJ_CSV_MAX_SPAN, "\",b\nc,d\n");
	FILE *f;
	hj_csv *c = open_text(&f, text);
	static const step steps[] = {OK(1, "h|i"), BAD(2, "4096 bytes"), {3, HJ_EINVALID, "quote inside"},
				     OK(4, "c|d"), {0, 0, NULL}};
	run_steps("span", c, steps);
	hj_csv_close(c);
	fclose(f);
}

/* hj_csv_raw: what a reject file gets — a good or content-refused record
 * whole, a malformed one its first line only. */
static void test_raw_bytes(void **state)
{
	(void)state;
	FILE *f;
	char **fl;
	size_t n, rn;
	long line;
	const char *raw;
	hj_csv *c = open_text(&f, "h,i\r\n\"a\nb\",c\n\"x,\xff\"\n\"open,1\nz,2\n");
	static const char *want[] = {"h,i", "\"a\nb\",c", "\"x,\xff\"", "\"open,1", "z,2"};
	static const int rcs[] = {1, 1, HJ_EINVALID, HJ_EINVALID, 1};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(hj_csv_next(c, &fl, &n, &line), rcs[i]);
		hj_csv_raw(c, &raw, &rn);
		assert_int_equal(rn, strlen(want[i]));
		assert_memory_equal(raw, want[i], rn);
	}
	assert_int_equal(hj_csv_next(c, &fl, &n, &line), 0);
	hj_csv_close(c);
	fclose(f);
}

/* UTF-8 text as GB18030 bytes, through iconv (the test's own direction:
 * the reader only decodes). */
static size_t to_gb18030(char *out, size_t cap, const char *utf8)
{
	iconv_t cd = iconv_open("GB18030", "UTF-8");
	assert_true(cd != (iconv_t)-1);
	char *ip = (char *)utf8, *op = out;
	size_t il = strlen(utf8), ol = cap - 1;
	assert_true(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
	iconv_close(cd);
	*op = '\0';
	return (size_t)(op - out);
}

static hj_csv *open_bytes(FILE **f, const char *bytes, size_t n, hj_csv_encoding enc, int *rc)
{
	hj_csv *c = NULL;
	*f = fmemopen((void *)bytes, n, "r");
	assert_non_null(*f);
	*rc = hj_csv_open_enc(&c, *f, enc);
	return c;
}

/* The encoding is decided from the whole file. 郑伟 and 谢强 in GBK are
 * D6A3 CEB0 and D0BB C7BF: valid UTF-8 (֣ΰ, лǿ) by accident, so a decision
 * row by row would store them as mojibake. */
static void test_encodings(void **state)
{
	(void)state;
	static const char names_utf8[] = "name,id,phone\n张三,1,2\n郑伟,3,4\n王芳,5,6\n谢强,7,8\n李娜,9,10\n";
	static char gbk[512];
	size_t gn = to_gb18030(gbk, sizeof gbk, names_utf8);
	static const step gbk_steps[] = {OK(1, "name|id|phone"), OK(2, "张三|1|2"), OK(3, "郑伟|3|4"), OK(4, "王芳|5|6"),
					 OK(5, "谢强|7|8"), OK(6, "李娜|9|10"), {0, 0, NULL}};
	FILE *f;
	int rc;
	hj_csv *c = open_bytes(&f, gbk, gn, HJ_CSV_AUTO, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(hj_csv_encoding_of(c), HJ_CSV_GB18030);
	assert_string_equal(hj_csv_encoding_name(hj_csv_encoding_of(c)), "GB18030");
	run_steps("gbk auto", c, gbk_steps);
	hj_csv_close(c);
	fclose(f);
	c = open_bytes(&f, gbk, gn, HJ_CSV_GB18030, &rc); /* forced: the same */
	assert_int_equal(rc, 0);
	run_steps("gbk forced", c, gbk_steps);
	hj_csv_close(c);
	fclose(f);

	/* Forced UTF-8: the rows that are not UTF-8 are refused by line, as
	 * before this choice existed. */
	c = open_bytes(&f, gbk, gn, HJ_CSV_UTF8, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(hj_csv_encoding_of(c), HJ_CSV_UTF8);
	hj_csv_close(c);
	fclose(f);

	/* Only accidental-UTF-8 names: valid UTF-8 throughout, but Cyrillic
	 * and Greek letters where a Chinese list has hanzi — refused whole. */
	static char ambiguous[256];
	size_t an = to_gb18030(ambiguous, sizeof ambiguous, "name,id\n郑伟,1\n谢强,2\n");
	c = open_bytes(&f, ambiguous, an, HJ_CSV_AUTO, &rc);
	assert_int_equal(rc, HJ_EINVALID);
	assert_null(c);
	assert_non_null(strstr(hj_error_last(), "--encoding"));
	assert_non_null(strstr(hj_error_last(), "GB18030"));
	fclose(f);
	c = open_bytes(&f, ambiguous, an, HJ_CSV_GB18030, &rc);
	assert_int_equal(rc, 0);
	static const step amb_steps[] = {OK(1, "name|id"), OK(2, "郑伟|1"), OK(3, "谢强|2"), {0, 0, NULL}};
	run_steps("ambiguous forced", c, amb_steps);
	hj_csv_close(c);
	fclose(f);

	/* UTF-8 with a damaged row stays UTF-8: that row is refused by line. */
	static const char damaged[] = "name,id\n张三,1\n李\xff,2\n王芳,3\n";
	c = open_bytes(&f, damaged, sizeof damaged - 1, HJ_CSV_AUTO, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(hj_csv_encoding_of(c), HJ_CSV_UTF8);
	static const step dmg_steps[] = {OK(1, "name|id"), OK(2, "张三|1"), BAD(3, "not valid UTF-8"), OK(4, "王芳|3"),
					 {0, 0, NULL}};
	run_steps("damaged utf-8", c, dmg_steps);
	hj_csv_close(c);
	fclose(f);

	/* Mostly not UTF-8 and not GB18030 either (0xFF is in neither):
	 * refused whole, naming the line. */
	static char bad[512];
	size_t bn = to_gb18030(bad, sizeof bad, names_utf8);
	memcpy(bad + bn, "\xff\xff,1\n", 5);
	c = open_bytes(&f, bad, bn + 5, HJ_CSV_AUTO, &rc);
	assert_int_equal(rc, HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "neither UTF-8 nor GB18030: line 7"));
	fclose(f);
	c = open_bytes(&f, bad, bn + 5, HJ_CSV_GB18030, &rc); /* forced: says so */
	assert_int_equal(rc, HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "not GB18030: line 7"));
	fclose(f);

	/* A UTF-8 BOM decides UTF-8; valid UTF-8 of hanzi is UTF-8. */
	static const char bom[] = "\xEF\xBB\xBFname\n张三\n";
	c = open_bytes(&f, bom, sizeof bom - 1, HJ_CSV_AUTO, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(hj_csv_encoding_of(c), HJ_CSV_UTF8);
	static const step bom_steps[] = {OK(1, "name"), OK(2, "张三"), {0, 0, NULL}};
	run_steps("bom", c, bom_steps);
	hj_csv_close(c);
	fclose(f);
	c = open_bytes(&f, names_utf8, sizeof names_utf8 - 1, HJ_CSV_AUTO, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(hj_csv_encoding_of(c), HJ_CSV_UTF8);
	hj_csv_close(c);
	fclose(f);
	/* A first byte EF that starts a character (full-width Ａ) is no
	 * broken BOM; before, line 1 was refused as one. */
	c = open_text(&f, "\xef\xbc\xa1,b\n");
	static const step fw_steps[] = {OK(1, "\xef\xbc\xa1|b"), {0, 0, NULL}};
	run_steps("full-width first", c, fw_steps);
	hj_csv_close(c);
	fclose(f);
	c = open_text(&f, "\xef\xbbname\nok\n");
	static const step bom_cut[] = {BAD(1, "broken byte-order mark"), OK(2, "ok"), {0, 0, NULL}};
	run_steps("broken BOM", c, bom_cut);
	hj_csv_close(c);
	fclose(f);
}

/* Random mixes of quotes, commas and line breaks: the reader always ends,
 * each record (returned or refused) starts on a later line than the one
 * before (resynchronising always moves on), and its raw bytes lie inside
 * the input. A small LCG keeps the cases the same on every run. */
static void test_random_inputs_progress(void **state)
{
	(void)state;
	static const char *const atoms[] = {"a", ",", "\"", "\n", "\r\n", "\r", "张", "\"\"", "b,c"};
	uint32_t seed = 12345;
	for (int iter = 0; iter < 3000; iter++) {
		char text[600] = "h1,h2,h3\n";
		int natoms = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 120;
		for (int k = 0; k < natoms; k++) {
			seed = seed * 1103515245u + 12345u;
			strcat(text, atoms[(seed >> 16) % (sizeof atoms / sizeof atoms[0])]);
		}
		FILE *f;
		hj_csv *c = open_text(&f, text);
		if (iter % 3 == 1)
			hj_csv_set_max_breaks(c, 0);
		char **fl;
		size_t n, rn, len = strlen(text);
		long line, last = 0;
		const char *raw;
		int rc, calls = 0;
		while ((rc = hj_csv_next(c, &fl, &n, &line)) != 0) {
			assert_true(rc == 1 || rc == HJ_EINVALID);
			if (line <= last)
				fail_msg("iteration %d: record at line %ld after one at %ld", iter, line, last);
			last = line;
			hj_csv_raw(c, &raw, &rn);
			assert_true(rn <= len);
			assert_true(++calls <= (int)len + 2);
		}
		hj_csv_close(c);
		fclose(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoting_and_lines),
		cmocka_unit_test(test_bad_record_is_skipped),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_record_start_lines),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_stray_quotes),
		cmocka_unit_test(test_span_limit),
		cmocka_unit_test(test_raw_bytes),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_random_inputs_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
