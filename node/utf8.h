/*
 * utf8.h — the one UTF-8 validator (RFC 3629) and character stepper.
 *
 * Well-formed means what RFC 3629 §4 says: no overlong forms, no surrogates
 * (U+D800..DFFF), nothing above U+10FFFF, no truncated sequence. The CSV
 * reader, the JSON parser and writer, masking and ID-number parsing all ask
 * here, so a string one of them accepts none of the others refuses.
 */
#ifndef HJ_UTF8_H
#define HJ_UTF8_H

#include <stddef.h>

/* Bytes in the well-formed UTF-8 sequence at p[0..n) (n >= 1), or 0 if the
 * bytes there do not start one. Reads the bytes in order and stops at the
 * first that does not fit, so on a NUL-terminated string any n >= 4 is
 * safe (NUL is never a continuation byte). */
size_t hj_utf8_seq(const unsigned char *p, size_t n);

/* Is s[0..n) well-formed UTF-8? NUL bytes count as valid (U+0000); callers
 * that refuse NUL check it themselves. Returns 1 or 0; on 0 and if `bad` is
 * not NULL, *bad is the offset of the first byte of the first bad sequence. */
int hj_utf8_valid(const char *s, size_t n, size_t *bad);

/* Bytes in the character at `p` of a NUL-terminated string, for counting
 * and cutting by character: the length of a well-formed sequence, else 1
 * (ASCII, or a byte that does not start one: it counts as one character). */
static inline size_t hj_utf8_len(const unsigned char *p)
{
	size_t n = *p < 0x80 ? 1 : hj_utf8_seq(p, 4);
	return n ? n : 1;
}

#endif
