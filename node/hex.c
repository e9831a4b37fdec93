/*
 * hex.c — the one hex codec: sodium_bin2hex / sodium_hex2bin with the
 * strictness huiji needs on top (exact length, no ignored characters, and
 * for signed formats lower case only).
 */
#include "hex.h"
#include "error.h"

#include <sodium.h>
#include <string.h>

void hj_hex_encode(char *out, const uint8_t *in, size_t n)
{
	/* sodium_bin2hex writes lower case and the NUL; it needs no init. */
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

/* 1 if any byte of s[0..len) is 'A'..'F', without branching on the bytes
 * (the same care sodium_hex2bin takes: this also runs over secrets). */
static int has_upper(const char *s, size_t len)
{
	unsigned bad = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		/* both differences negative <=> 0x41 <= c <= 0x46 */
		bad |= (unsigned)((0x40 - c) & (c - 0x47)) >> 31;
	}
	return (int)bad;
}

static int decode(uint8_t *out, size_t n, const char *hex, int lower)
{
	const char *end = NULL;
	size_t bin_len = 0;
	if (!hex)
		return hj_error_set(HJ_EINVALID, "hex: missing value");
	/* strnlen: stop looking once it is already too long. */
	size_t got = strnlen(hex, 2 * n + 1);
	if (got != 2 * n)
		return hj_error_set(HJ_EINVALID, "hex: expected %zu hex digits, got %s%zu", 2 * n,
				    got > 2 * n ? "more than " : "", got > 2 * n ? 2 * n : got);
	/* No `ignore` set, and `end` tells where it stopped: a non-digit
	 * anywhere makes it stop short of the end. */
	if (sodium_hex2bin(out, n, hex, got, NULL, &bin_len, &end) != 0 || bin_len != n || end != hex + got) {
		size_t at = 0;
		while (at < got && ((hex[at] >= '0' && hex[at] <= '9') || ((hex[at] | 0x20) >= 'a' && (hex[at] | 0x20) <= 'f')))
			at++;
		return hj_error_set(HJ_EINVALID, "hex: not a hex digit at position %zu", at);
	}
	if (lower && has_upper(hex, got))
		return hj_error_set(HJ_EINVALID, "hex: upper-case digit (this field is lower case only)");
	return 0;
}

int hj_hex_decode(uint8_t *out, size_t n, const char *hex)
{
	return decode(out, n, hex, 0);
}

int hj_hex_decode_lower(uint8_t *out, size_t n, const char *hex)
{
	return decode(out, n, hex, 1);
}

int hj_hex_is_lower(const char *s, size_t n)
{
	if (!s || strnlen(s, 2 * n + 1) != 2 * n)
		return 0;
	for (size_t i = 0; i < 2 * n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}
