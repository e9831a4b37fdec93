/*
 * test_csv.c — the CSV reader: RFC 4180 quoting, line numbers, and that a
 * malformed record is reported and skipped without spoiling the next.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoting_and_lines),
		cmocka_unit_test(test_bad_record_is_skipped),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
