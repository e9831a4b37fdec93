/*
 * test_cli_tools.c — what tools/ shares (tools/progress.c, tools/cli.c):
 * the progress line (counts, the percentage, the estimate from the rate
 * so far: none before a second has passed or without a total, minutes for
 * a long wait), the suggestion for a misspelt name, the exit code of each
 * kind of failure, local time with the zone, and the "one of" message of
 * a value outside a list.
 */
#include "cli.h"
#include "error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void test_exit_codes(void **state)
{
	(void)state;
	/* 1 keeps its meaning: refused, did not verify (tests rely on it). */
	assert_int_equal(cli_exit_code(0), 0);
	assert_int_equal(cli_exit_code(HJ_ECONFLICT), 1);
	assert_int_equal(cli_exit_code(HJ_EBADSIG), 1);
	assert_int_equal(cli_exit_code(HJ_ECORRUPT), 1);
	assert_int_equal(cli_exit_code(HJ_EINVALID), 2);
	assert_int_equal(cli_exit_code(HJ_EEXISTS), 2);
	assert_int_equal(cli_exit_code(HJ_ETOOBIG), 2);
	assert_int_equal(cli_exit_code(HJ_ENOTFOUND), 3);
	assert_int_equal(cli_exit_code(HJ_ERROR), 4);
	assert_int_equal(cli_exit_code(HJ_ENOMEM), 4);
	assert_int_equal(cli_exit_code(HJ_ENET), 5);
	assert_int_equal(cli_exit_code(HJ_EVERSION), 6);
	assert_int_equal(cli_exit_code(HJ_EPERM), 7);
}

static void test_local_time(void **state)
{
	(void)state;
	char out[CLI_TIME_MAX];
	setenv("TZ", "CST-8", 1); /* POSIX form: no tzdata needed */
	tzset();
	cli_time_ms(out, 1796139600000LL); /* 2026-12-01 15:40:00 UTC */
	assert_string_equal(out, "2026-12-01 23:40 +0800");
	cli_time_iso(out, "2026-12-01T15:40:00Z");
	assert_string_equal(out, "2026-12-01 23:40 +0800");
	cli_time_iso(out, "yesterday"); /* not the stored form: shown as it is */
	assert_string_equal(out, "yesterday");
	setenv("TZ", "UTC0", 1);
	tzset();
	cli_time_iso(out, "2026-12-01T15:40:00Z");
	assert_string_equal(out, "2026-12-01 15:40 +0000");
}

static void test_choice(void **state)
{
	(void)state;
	static const char *const reasons[] = {"voluntary", "deceased", "lapsed", NULL};
	assert_int_equal(cli_check_choice("leave reason", NULL, reasons), 0);
	assert_int_equal(cli_check_choice("leave reason", "lapsed", reasons), 0);
	assert_int_equal(cli_check_choice("leave reason", "fired", reasons), HJ_EINVALID);
	assert_string_equal(hj_error_last(), "unknown leave reason 'fired': one of voluntary, deceased, lapsed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_line), cmocka_unit_test(test_suggest),
					   cmocka_unit_test(test_exit_codes), cmocka_unit_test(test_local_time),
					   cmocka_unit_test(test_choice)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
