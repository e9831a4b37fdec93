/*
 * utf8.c — RFC 3629 well-formedness, byte by byte.
 *
 * The table is RFC 3629 §4 (and Unicode 15 Table 3-7): the second byte's
 * range depends on the first, which is what rules out overlong forms (E0,
 * F0), surrogates (ED) and code points above U+10FFFF (F4); C0, C1 and
 * F5..FF never start a sequence.
 */
#include "utf8.h"

size_t hj_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0; /* below U+0800: overlong */
		else if (c == 0xED)
			hi = 0x9F; /* U+D800..DFFF: surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90; /* below U+10000: overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < 2 || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (k >= n || p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return len;
}

int hj_utf8_valid(const char *s, size_t n, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t k = 0; k < n;) {
		if (p[k] < 0x80) {
			k++;
			continue;
		}
		size_t len = hj_utf8_seq(p + k, n - k);
		if (!len) {
			if (bad)
				*bad = k;
			return 0;
		}
		k += len;
	}
	return 1;
}
