/*
 * clock.c — wall and monotonic clocks and the two date strings the CLI
 * prints. clock_gettime cannot fail for these clocks on Linux (both are
 * required by POSIX), so none of these returns an error.
 */
#include "clock.h"

#include <time.h>

static int64_t ns_of(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t hj_clock_ms(void)
{
	return ns_of(CLOCK_REALTIME) / 1000000;
}

int64_t hj_clock_mono_ms(void)
{
	return ns_of(CLOCK_MONOTONIC) / 1000000;
}

int64_t hj_clock_mono_ns(void)
{
	return ns_of(CLOCK_MONOTONIC);
}

void hj_clock_today(char out[11])
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

void hj_clock_utc_iso(char out[21])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
