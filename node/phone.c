/*
 * phone.c — normalising mainland mobile numbers to 11 digits.
 *
 * Accepts the separators and country-code prefixes people really type and
 * nothing else, so that two spellings of one number compare equal after
 * normalising (de-duplication relies on it). No message echoes the number.
 */
#include "phone.h"

#include "error.h"

#include <string.h>

/* Longer than any plausible spelling ("+86 138 1234 5678" is 17): beyond
 * this the input is not a phone number and we stop copying. */
#define PHONE_SCRATCH 32

int hj_phone_normalise(char out[12], const char *s)
{
	char tmp[PHONE_SCRATCH];
	size_t n = 0;

	out[0] = '\0';
	if (!s)
		return hj_error_set(HJ_EINVALID, "phone: missing");
	for (const char *p = s; *p; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		/* '+' only as the first kept character, for "+86". */
		if (*p == '+' && n == 0) {
			tmp[n++] = '+';
			continue;
		}
		if (*p < '0' || *p > '9')
			return hj_error_set(HJ_EINVALID,
					    "phone: contains a character that is not a digit");
		if (n == sizeof tmp - 1)
			return hj_error_set(HJ_EINVALID, "phone: far too long");
		tmp[n++] = *p;
	}
	tmp[n] = '\0';

	const char *d = tmp;
	if (strncmp(d, "+86", 3) == 0)
		d += 3;
	else if (d[0] == '+')
		return hj_error_set(HJ_EINVALID,
				    "phone: only mainland numbers (+86) are accepted");
	else if (strncmp(d, "0086", 4) == 0)
		d += 4;
	else if (n == 13 && strncmp(d, "86", 2) == 0)
		d += 2;

	size_t len = strlen(d);
	if (len == 0)
		return hj_error_set(HJ_EINVALID, "phone: empty");
	if (len != 11)
		return hj_error_set(HJ_EINVALID, "phone: has %zu digits, needs 11",
				    len);
	if (d[0] != '1')
		return hj_error_set(HJ_EINVALID,
				    "phone: a mobile number starts with 1, not %c",
				    d[0]);
	if (d[1] < '3')
		return hj_error_set(HJ_EINVALID,
				    "phone: second digit is %c, must be 3-9", d[1]);
	memcpy(out, d, 12);
	return 0;
}
