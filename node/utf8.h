/*
 * utf8.h — the one UTF-8 helper huiji needs: how many bytes the character
 * at `p` takes, so names and ID numbers are counted in characters.
 */
#ifndef HJ_UTF8_H
#define HJ_UTF8_H

#include <stddef.h>

/* Bytes in the UTF-8 character at `p`: 1 for ASCII and for any byte that
 * does not start a well-formed sequence (stops at the NUL). */
static inline size_t hj_utf8_len(const unsigned char *p)
{
	size_t n = *p < 0x80 ? 1 : *p >= 0xF0 && *p < 0xF8 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 1;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 1;
	return n;
}

#endif
