/*
 * clock.h — the one place huiji reads the clock.
 *
 * Wall time for what records when (a change set's informational
 * created_at, today's date on an op), the monotonic clock for timeouts and
 * measurements (it never jumps when the wall clock is set). The fold, the
 * ops and the projection never include this: their result must be a pure
 * function of the ops.
 */
#ifndef HJ_CLOCK_H
#define HJ_CLOCK_H

#include <stdint.h>

/* Wall time: milliseconds since 1970-01-01 UTC. */
int64_t hj_clock_ms(void);

/* Monotonic time in milliseconds / nanoseconds from an arbitrary origin:
 * only differences mean anything. */
int64_t hj_clock_mono_ms(void);
int64_t hj_clock_mono_ns(void);

/* Today's local date as YYYY-MM-DD (the date an operator means by
 * "today"; an op records it as text). */
void hj_clock_today(char out[11]);

/* The wall time now as UTC ISO 8601, YYYY-MM-DDTHH:MM:SSZ. */
void hj_clock_utc_iso(char out[21]);

#endif
