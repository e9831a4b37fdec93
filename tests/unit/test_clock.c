/*
 * test_clock.c — the one clock: wall milliseconds agree with time(), the
 * monotonic clock does not go back, today's date and the UTC stamp have
 * their fixed shapes and agree with the C library's own reading.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "clock.h"

static void test_wall(void **state)
{
	(void)state;
	int64_t before = (int64_t)time(NULL) * 1000;
	int64_t ms = hj_clock_ms();
	int64_t after = (int64_t)time(NULL) * 1000 + 1000;
	assert_true(ms >= before && ms < after);
	assert_true(ms > INT64_C(1700000000000)); /* ms, not s: after 2023 */
}

static void test_mono(void **state)
{
	(void)state;
	int64_t a = hj_clock_mono_ms(), an = hj_clock_mono_ns();
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	int64_t b = hj_clock_mono_ms(), bn = hj_clock_mono_ns();
	assert_true(b - a >= 19);
	assert_true(bn - an >= INT64_C(19000000));
	assert_true(bn / 1000000 - b <= 1);
}

static void test_dates(void **state)
{
	(void)state;
	char today[11], iso[21], want[32];
	time_t t = time(NULL);
	struct tm tm;
	hj_clock_today(today);
	localtime_r(&t, &tm);
	strftime(want, sizeof want, "%Y-%m-%d", &tm);
	assert_int_equal(strlen(today), 10);
	assert_true(today[4] == '-' && today[7] == '-');
	if (strcmp(today, want) != 0) { /* midnight passed in between */
		t = time(NULL);
		localtime_r(&t, &tm);
		strftime(want, sizeof want, "%Y-%m-%d", &tm);
	}
	assert_string_equal(today, want);
	hj_clock_utc_iso(iso);
	assert_int_equal(strlen(iso), 20);
	assert_true(iso[10] == 'T' && iso[19] == 'Z');
	gmtime_r(&t, &tm);
	strftime(want, sizeof want, "%Y-%m-%d", &tm);
	assert_memory_equal(iso, want, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wall),
		cmocka_unit_test(test_mono),
		cmocka_unit_test(test_dates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
