/*
 * phone.h — mainland China mobile numbers.
 *
 * hj_phone_normalise turns what a clerk or a platform list writes
 * ("+86 138-1234-5678") into the bare 11 digits, or says why it cannot.
 * Messages never contain the number (it is personal information).
 */
#ifndef HJ_PHONE_H
#define HJ_PHONE_H

/* Drop spaces and '-', then one leading "+86", "0086" or "86" (the last
 * only when 13 digits remain, so no 11-digit number is ever cut); the rest
 * must be 11 digits, the first '1' and the second 3..9 (the mobile
 * ranges of the MIIT numbering plan). Writes the 11 digits and a NUL to
 * `out` and returns 0, or returns HJ_EINVALID with out[0] == '\0'. */
int hj_phone_normalise(char out[12], const char *s);

#endif
