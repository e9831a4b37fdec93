/*
 * test_table.c — tables for people (tools/table.c): display width of
 * Chinese and mixed text, natural order of ids, cutting with "…", and
 * columns that line up by width, not by bytes (issue 9 §5).
 */
#include "table.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(cli_display_width(""), 0);
	assert_int_equal(cli_display_width("qh-xn-cz"), 8);
	assert_int_equal(cli_display_width("城中区总工会"), 12); /* 6 characters, 18 bytes */
	assert_int_equal(cli_display_width("青A12345"), 8);
	assert_int_equal(cli_display_width("（全角）"), 8);	 /* fullwidth brackets */
	assert_int_equal(cli_display_width("e\xcc\x81"), 1);	 /* e + combining acute */
	assert_int_equal(cli_display_width("\xff\xfe"), 2);	 /* not UTF-8: a column a byte */
}

static void test_natcmp(void **state)
{
	(void)state;
	assert_true(cli_natcmp("cz:2:0", "cz:10:0") < 0);
	assert_true(cli_natcmp("cz:10:0", "cz:2:0") > 0);
	assert_true(cli_natcmp("cz:10:1", "cz:10:0") > 0);
	assert_true(cli_natcmp("a", "a1") < 0);
	assert_true(cli_natcmp("a01", "a1") != 0); /* total: equal numbers, different text */
	assert_int_equal(cli_natcmp("same", "same"), 0);
	assert_true(cli_natcmp("b", "a9999") > 0);
}

/* The table written to a memory stream, returned (caller frees). */
static char *print(cli_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(cli_table_print(t, f), 0);
	fclose(f);
	return buf;
}

/* Every line's second column starts at the same display column. */
static void test_aligned(void **state)
{
	(void)state;
	const char *head[] = {"union", "name", "members", NULL};
	cli_table *t = cli_table_new(head);
	assert_non_null(t);
	cli_table_right(t, 2);
	assert_int_equal(cli_table_add(t, (const char *[]){"qh-xn-cz10", "城中区总工会", "12"}), 0);
	assert_int_equal(cli_table_add(t, (const char *[]){"qh-xn-cz2", "湟中区总工会快递行业分会", "7"}), 0);
	assert_int_equal(cli_table_add(t, (const char *[]){"qh-hd", "Haidong", NULL}), 0);
	cli_table_max_width(t, 1, 14);
	cli_table_sort(t, 0);
	char *out = print(t);
	const char *want = "union       name            members\n"
			   "qh-hd       Haidong               -\n"
			   "qh-xn-cz2   湟中区总工会…         7\n"
			   "qh-xn-cz10  城中区总工会         12\n";
	assert_string_equal(out, want);
	/* The cut cell: 6 characters (12 columns) and "…"; a 7th would pass 14. */
	free(out);
	cli_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_natcmp),
		cmocka_unit_test(test_aligned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
