/*
 * mask.c — masking ID numbers, phones, names and plates for display.
 *
 * Works per UTF-8 character, never per byte, so a Chinese name is never
 * cut into an invalid sequence; a stray byte counts as one character.
 * Nothing here allocates or fails.
 */
#include "mask.h"
#include "utf8.h"

#include <string.h>


static size_t utf8_count(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;
	     p += hj_utf8_len(p))
		n++;
	return n;
}

/* Mask an ASCII code of expected length `want` (18 or 11) keeping `head`
 * and `tail` characters; any other input keeps at most its first and last
 * character, and only if they are ASCII (half a UTF-8 character would
 * show garbage and still leak). */
static void mask_code(char *out, const char *s, size_t want, size_t head,
		      size_t tail)
{
	size_t n = s ? strlen(s) : 0;
	if (n == want) {
		memcpy(out, s, head);
		memset(out + head, '*', n - head - tail);
		memcpy(out + n - tail, s + n - tail, tail);
		out[n] = '\0';
		return;
	}
	size_t m = n > want ? want : n;
	memset(out, '*', m);
	out[m] = '\0';
	if (n <= 2)
		return;
	if ((unsigned char)s[0] < 0x80)
		out[0] = s[0];
	if ((unsigned char)s[n - 1] < 0x80)
		out[m - 1] = s[n - 1];
}

void hj_mask_idnum(char *out, const char *id)
{
	mask_code(out, id, 18, 4, 4);
}

void hj_mask_phone(char *out, const char *p)
{
	mask_code(out, p, 11, 3, 4);
}

/* Copy the characters of `s`, keeping those with index < `head` or
 * >= `keep_from`, '*' for the others; stop at a whole character when the
 * next would not fit with the NUL. */
static void mask_chars(char *out, size_t outsz, const char *s, size_t head,
		       size_t keep_from)
{
	size_t o = 0, i = 0;
	if (outsz == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)(s ? s : "");
	     *p; i++) {
		size_t len = hj_utf8_len(p);
		int keep = i < head || i >= keep_from;
		size_t need = keep ? len : 1;
		if (o + need >= outsz)
			break;
		if (keep)
			memcpy(out + o, p, len);
		else
			out[o] = '*';
		o += need;
		p += len;
	}
	out[o] = '\0';
}

void hj_mask_name(char *out, size_t outsz, const char *utf8name)
{
	mask_chars(out, outsz, utf8name, 1, (size_t)-1);
}

void hj_mask_plate(char *out, size_t outsz, const char *plate)
{
	size_t n = plate ? utf8_count(plate) : 0;
	if (n <= 3)
		mask_chars(out, outsz, plate, 1, (size_t)-1);
	else
		mask_chars(out, outsz, plate, 2, n - 1);
}
