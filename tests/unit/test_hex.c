/*
 * test_hex.c — the one hex codec: every byte value both ways, exact length,
 * no character sodium_hex2bin would skip or stop at, and the two cases:
 * hj_hex_decode takes upper case (what an operator types), the lower-case
 * reader and hj_is_hex64 (signed op fields) do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fold.h"
#include "hex.h"

static void test_every_byte(void **state)
{
	(void)state;
	uint8_t in[256], out[256];
	char hex[513], want[513];
	for (int i = 0; i < 256; i++) {
		in[i] = (uint8_t)i;
		snprintf(want + 2 * i, 3, "%02x", i);
	}
	hj_hex_encode(hex, in, 256);
	assert_string_equal(hex, want);
	memset(out, 0, sizeof out);
	assert_int_equal(hj_hex_decode(out, 256, hex), 0);
	assert_memory_equal(out, in, 256);
	memset(out, 0, sizeof out);
	assert_int_equal(hj_hex_decode_lower(out, 256, hex), 0);
	assert_memory_equal(out, in, 256);
	/* upper case: the same bytes, but only for the either-case reader */
	for (char *p = hex; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	memset(out, 0, sizeof out);
	assert_int_equal(hj_hex_decode(out, 256, hex), 0);
	assert_memory_equal(out, in, 256);
	assert_int_equal(hj_hex_decode_lower(out, 256, hex), HJ_EINVALID);
}

static void test_refused(void **state)
{
	(void)state;
	uint8_t out[4];
	static const char *bad[] = {
		"00ab7ff",   /* short */
		"00ab7fff0", /* long */
		"00ab7fgf",  /* g */
		"00ab7ff ",  /* trailing space: sodium would stop there */
		" 00ab7ff",  /* leading space */
		"00ab:7ff",  /* a separator sodium's `ignore` could skip */
		"0x00ab7f",  /* prefix */
		"00ab7f\nf", /* newline */
		"-0ab7fff",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (hj_hex_decode(out, 4, bad[i]) != HJ_EINVALID)
			fail_msg("hj_hex_decode took \"%s\"", bad[i]);
		if (hj_hex_decode_lower(out, 4, bad[i]) != HJ_EINVALID)
			fail_msg("hj_hex_decode_lower took \"%s\"", bad[i]);
		if (hj_hex_is_lower(bad[i], 4))
			fail_msg("hj_hex_is_lower took \"%s\"", bad[i]);
	}
	assert_int_equal(hj_hex_decode(out, 4, NULL), HJ_EINVALID);
	assert_int_equal(hj_hex_decode_lower(out, 4, NULL), HJ_EINVALID);
	assert_int_equal(hj_hex_is_lower(NULL, 4), 0);
	/* a NUL inside is a short string */
	assert_int_equal(hj_hex_decode(out, 4, "00ab\0fff"), HJ_EINVALID);
	/* the message names where, never the value */
	assert_int_equal(hj_hex_decode(out, 4, "00ab7fgf"), HJ_EINVALID);
	assert_string_equal(hj_error_last(), "hex: not a hex digit at position 6");
	assert_int_equal(hj_hex_decode(out, 4, "00ab7ffg"), HJ_EINVALID);
	assert_string_equal(hj_error_last(), "hex: not a hex digit at position 7");
	assert_int_equal(hj_hex_decode(out, 4, "00ab7f"), HJ_EINVALID);
	assert_string_equal(hj_error_last(), "hex: expected 8 hex digits, got 6");
	/* zero bytes: only the empty string */
	assert_int_equal(hj_hex_decode(out, 0, ""), 0);
	assert_int_equal(hj_hex_decode(out, 0, "00"), HJ_EINVALID);
}

/* Each single upper-case digit, anywhere, is refused by the lower-case
 * reader (the branch-free check covers A..F exactly, not '@' or 'G'). */
static void test_lower_only(void **state)
{
	(void)state;
	uint8_t out[32];
	char s[65];
	for (int pos = 0; pos < 64; pos++) {
		for (char c = 'A'; c <= 'F'; c++) {
			memset(s, '0', 64);
			s[64] = '\0';
			s[pos] = c;
			assert_int_equal(hj_hex_decode(out, 32, s), 0);
			assert_int_equal(hj_hex_decode_lower(out, 32, s), HJ_EINVALID);
			assert_false(hj_hex_is_lower(s, 32));
			assert_false(hj_is_hex64(s));
			s[pos] = (char)(c - 'A' + 'a');
			assert_int_equal(hj_hex_decode_lower(out, 32, s), 0);
			assert_true(hj_hex_is_lower(s, 32));
			assert_true(hj_is_hex64(s));
		}
		memset(s, '0', 64);
		for (int c = 1; c < 256; c++) {
			s[pos] = (char)c;
			int digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
			int updigit = c >= 'A' && c <= 'F';
			assert_int_equal(hj_hex_decode(out, 32, s) == 0, digit || updigit);
			assert_int_equal(hj_hex_decode_lower(out, 32, s) == 0, digit);
			assert_int_equal(hj_hex_is_lower(s, 32), digit);
		}
	}
	/* hj_is_hex64 is exactly 64 digits */
	memset(s, 'a', 64);
	s[64] = '\0';
	assert_true(hj_is_hex64(s));
	s[63] = '\0';
	assert_false(hj_is_hex64(s));
	assert_false(hj_is_hex64(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_lower_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
