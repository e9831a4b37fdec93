/*
 * test_csv.c — the CSV reader: RFC 4180 quoting, line numbers, and that a
 * malformed record is reported and skipped without spoiling the next; the
 * writer: quoting exactly when RFC 4180 needs it, and what it writes the
 * reader reads back field for field.
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
