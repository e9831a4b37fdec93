/*
 * test_sync_chunk.c — push chunk sizing (sync/sync.c, issue 7 item 10):
 * chunks are bounded by the bytes of their envelopes, hold at least one
 * change set however big, respect the optional count limit; a dropped push
 * halves the budget (of what was sent, never below the floor) and a landed
 * one doubles it back up to the cap. And the property the sizing exists
 * for: on a link that carries at most B bytes per push, with B below the
 * cap, every attempt after a few lands at least one chunk, and the whole
 * feed gets through in a bounded number of attempts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sync.h"

static void test_chunk_end(void **state)
{
	(void)state;
	size_t len[] = {100, 100, 100, 5000, 100, 100};
	uint64_t n = sizeof len / sizeof len[0];
	assert_int_equal(hj_sync_chunk_end(len, 0, n, 300, 0), 3);   /* exactly the budget */
	assert_int_equal(hj_sync_chunk_end(len, 0, n, 299, 0), 2);
	assert_int_equal(hj_sync_chunk_end(len, 0, n, 1, 0), 1);     /* at least one */
	assert_int_equal(hj_sync_chunk_end(len, 3, n, 1024, 0), 4);  /* a big one alone */
	assert_int_equal(hj_sync_chunk_end(len, 2, n, 1024, 0), 3);  /* stops before the big one */
	assert_int_equal(hj_sync_chunk_end(len, 4, n, 1 << 20, 0), 6); /* the end of the feed */
	assert_int_equal(hj_sync_chunk_end(len, 0, n, 1 << 20, 2), 2); /* the count limit */
	assert_int_equal(hj_sync_chunk_end(len, 0, n, 1 << 20, 0), 6);
	size_t huge[] = {SIZE_MAX - 10, 20};
	assert_int_equal(hj_sync_chunk_end(huge, 0, 2, SIZE_MAX, 0), 1); /* no overflow */
}

static void test_chunk_next(void **state)
{
	(void)state;
	size_t cap = HJ_SYNC_CHUNK_BYTES;
	assert_int_equal(hj_sync_chunk_next(cap, cap, 1, cap), cap / 2);
	assert_int_equal(hj_sync_chunk_next(cap, 10000, 1, cap), 5000);   /* half of what was sent */
	assert_int_equal(hj_sync_chunk_next(cap, 100, 1, cap), HJ_SYNC_CHUNK_MIN); /* the floor */
	assert_int_equal(hj_sync_chunk_next(HJ_SYNC_CHUNK_MIN, 1, 1, cap), HJ_SYNC_CHUNK_MIN);
	assert_int_equal(hj_sync_chunk_next(5000, 5000, 0, cap), 10000);  /* doubles back */
	assert_int_equal(hj_sync_chunk_next(cap / 2 + 1, 1, 0, cap), cap); /* up to the cap */
	assert_int_equal(hj_sync_chunk_next(cap, cap, 0, cap), cap);
	assert_int_equal(hj_sync_chunk_next(4096, 4096, 0, 10), HJ_SYNC_CHUNK_MIN); /* a cap below the floor */
}

/* A feed of n change sets of `each` bytes over a link that drops every
 * push of more than `link` bytes: how many attempts (each ends at its
 * first drop, as sync.c's does) until the hub holds everything, with the
 * landed chunks counted per attempt. */
static int attempts_to_deliver(size_t each, uint64_t n, size_t link, int *lands_every_attempt_after)
{
	size_t *len = malloc(n * sizeof *len);
	assert_non_null(len);
	for (uint64_t i = 0; i < n; i++)
		len[i] = each + (i % 7) * 13; /* not all the same */
	size_t budget = HJ_SYNC_CHUNK_BYTES;
	uint64_t remote = 0;
	int attempts = 0, first_empty_after_landing = 0, landed_once = 0;
	while (remote < n && attempts < 1000) {
		attempts++;
		int landed = 0;
		while (remote < n) {
			uint64_t end = hj_sync_chunk_end(len, remote, n, budget, 0);
			size_t sent = 0;
			for (uint64_t i = remote; i < end; i++)
				sent += len[i];
			int dropped = sent > link;
			budget = hj_sync_chunk_next(budget, sent, dropped, HJ_SYNC_CHUNK_BYTES);
			if (dropped)
				break;
			remote = end;
			landed++;
		}
		if (landed_once && !landed && !first_empty_after_landing)
			first_empty_after_landing = attempts;
		landed_once |= landed > 0;
	}
	free(len);
	*lands_every_attempt_after = first_empty_after_landing;
	return remote == n ? attempts : -1;
}

static void test_progress_on_a_dropping_link(void **state)
{
	(void)state;
	int empty;
	/* 300 change sets of ~370 bytes through a link of 40 KiB. */
	int a = attempts_to_deliver(370, 300, 40 * 1024, &empty);
	assert_true(a > 0 && a <= 8);
	assert_int_equal(empty, 0); /* once something landed, every attempt lands */
	/* 3000 of them, a link of 20 KiB: each attempt lands a chunk. */
	a = attempts_to_deliver(370, 3000, 20 * 1024, &empty);
	assert_true(a > 0 && a <= 3000 * 370 / (5 * 1024) + 8);
	assert_int_equal(empty, 0);
	/* A good link: one attempt. */
	a = attempts_to_deliver(370, 3000, SIZE_MAX, &empty);
	assert_int_equal(a, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_end),
		cmocka_unit_test(test_chunk_next),
		cmocka_unit_test(test_progress_on_a_dropping_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
