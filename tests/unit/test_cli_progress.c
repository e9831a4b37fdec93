/*
 * test_cli_progress.c — the progress line (tools/progress.c): counts, the
 * percentage, the estimate from the rate so far (none before a second has
 * passed or without a total), minutes for a long wait, and the
 * suggestion for a misspelt name (tools/cli.c's cli_suggest).
 */
#include "cli.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_line(void **state)
{
	(void)state;
	cli_progress p = {.label = "import", .start_ms = 1000};
	char line[160];
	cli_progress_line(line, sizeof line, &p, "rows", 0, 5000, 1000);
	assert_string_equal(line, "import: 0 of 5000 rows (0%)");
	/* Half a second in: no estimate yet (the rate means nothing). */
	cli_progress_line(line, sizeof line, &p, "rows", 100, 5000, 1500);
	assert_string_equal(line, "import: 100 of 5000 rows (2%)");
	/* 1000 rows in 2 s: 4000 left take 8 s. */
	cli_progress_line(line, sizeof line, &p, "rows", 1000, 5000, 3000);
	assert_string_equal(line, "import: 1000 of 5000 rows (20%), about 8 s left");
	/* 10 rows in 10 s, 990 left: minutes. */
	cli_progress_line(line, sizeof line, &p, "rows", 10, 1000, 11000);
	assert_string_equal(line, "import: 10 of 1000 rows (1%), about 17 min left");
	/* Done, or past an estimated total: 100%, no estimate. */
	cli_progress_line(line, sizeof line, &p, "rows", 5000, 5000, 9000);
	assert_string_equal(line, "import: 5000 of 5000 rows (100%)");
	cli_progress_line(line, sizeof line, &p, "rows", 5003, 5000, 9000);
	assert_string_equal(line, "import: 5003 of 5000 rows (100%)");
	/* No total: the count alone. */
	p.label = "hub run";
	cli_progress_line(line, sizeof line, &p, "change sets sequenced", 42, 0, 9000);
	assert_string_equal(line, "hub run: 42 change sets sequenced");
	/* A small buffer is cut, never overrun. */
	char tiny[8];
	cli_progress_line(tiny, sizeof tiny, &p, "change sets sequenced", 42, 100, 9000);
	assert_string_equal(tiny, "hub run");
}

static void test_suggest(void **state)
{
	(void)state;
	static const char *const names[] = {"init", "org", "member", "status", "sync", "verify", "log", NULL};
	assert_string_equal(cli_suggest("stauts", names, 0), "status"); /* a transposition */
	assert_string_equal(cli_suggest("membr", names, 0), "member");
	assert_string_equal(cli_suggest("stat", names, 0), "status"); /* a prefix */
	assert_null(cli_suggest("x", names, 0));
	assert_null(cli_suggest("frobnicate", names, 0));
	assert_null(cli_suggest("", names, 0));
	static const cli_opt opts[] = {{"json", 0, ""}, {"reveal", 0, ""}, {NULL, 0, NULL}};
	assert_string_equal(cli_suggest("jsno", &opts[0].name, sizeof opts[0]), "json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_line), cmocka_unit_test(test_suggest)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
