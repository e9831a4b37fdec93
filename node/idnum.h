/*
 * idnum.h — resident identity numbers (GB 11643-1999) and calendar dates.
 *
 * hj_idnum_parse accepts a number only if its shape, birth date and check
 * character are all right (GB 11643-1999 §4–§8; ISO 7064:1983 MOD 11-2),
 * and reports why not otherwise. Error messages never contain the number
 * or its birth date, only positions (PIPL: they end up in logs), and never
 * the check character that would be right.
 */
#ifndef HJ_IDNUM_H
#define HJ_IDNUM_H

#include <stdint.h>

typedef struct hj_idnum {
	char norm[19];   /* 18 characters, check character upper-case, NUL */
	char region[7];  /* address code, digits [0..6) (GB/T 2260) */
	int year, month, day; /* birth date, digits [6..14) */
	int seqno;       /* order code, digits [14..17), 0..999 */
	int sex;         /* 1 male (odd seqno), 2 female (even) */
} hj_idnum;

/* Strict "YYYY-MM-DD": 10 characters, a real Gregorian date, year
 * 1900..2199. Returns 0 or HJ_EINVALID with the reason. */
int hj_date_parse(const char *s, int *y, int *m, int *d);

/* 1 if y-m-d is a real Gregorian date (year 1..9999), else 0. */
int hj_date_valid(int y, int m, int d);

/* The Gregorian date `days` after 1970-01-01 (negative: before). */
void hj_date_from_days(int64_t days, int *y, int *m, int *d);

/* 1 if `y` is a Gregorian leap year, else 0. */
int hj_date_is_leap(int y);

/* Parse a resident ID number. Surrounding ASCII spaces are trimmed; then it
 * must be exactly 18 characters: 17 digits and a digit or X/x (stored as
 * 'X'), a real birth date not before 1900, and the right check character.
 * A birth date in the future parses: age rules are the caller's. Whether
 * the region code exists is also the caller's (see the region table).
 * Returns 0 or HJ_EINVALID; `*out` is zeroed on failure. */
int hj_idnum_parse(hj_idnum *out, const char *s);

/* What hj_idnum_normalise changed (bits of *how). */
#define HJ_IDNUM_SPACES 1u    /* spaces dropped: ASCII, tab, U+00A0, U+3000 */
#define HJ_IDNUM_FULLWIDTH 2u /* full-width digits ０-９ or Ｘ made ASCII */
#define HJ_IDNUM_UPGRADED 4u  /* a 15-digit number (GB 11643-1989) made 18 */
#define HJ_IDNUM_MAX_INPUT 160 /* bytes of input: 18 characters, spaced out */

/* The canonical 18-character form of a number as a clerk or a list gives
 * it: spaces anywhere dropped, full-width digits and X made ASCII, x made
 * X, and a 15-digit number from before 1999 upgraded to its 18-digit form
 * where the rule is unambiguous (idnum.c, upgrade15); then everything
 * hj_idnum_parse checks. For the CLI and the importer, before signing, so
 * the signed op holds the canonical form: the fold itself stays strict
 * (hj_idnum_parse, normal form only). Returns 0 with out and *how (NULL
 * allowed), or HJ_EINVALID with out[0] NUL; messages name positions in
 * the normalised number, never its characters. */
int hj_idnum_normalise(char out[19], const char *s, unsigned *how);

/* Completed years of age on y-m-d. A 29 February birthday falls on
 * 1 March in non-leap years. Returns the age (>= 0), or HJ_EINVALID if
 * the date is not real or is before the birth date. */
int hj_idnum_age_on(const hj_idnum *id, int y, int m, int d);

/* Build a valid number from a 6-digit region, a birth date (year >= 1900)
 * and an order code 0..999. For FAKE test and demo people only: never
 * construct numbers of real people. Returns 0 or HJ_EINVALID; out[0] is
 * NUL on failure. */
int hj_idnum_make(char out[19], const char *region6, int y, int m, int d,
		  int seqno);

/* The check character ('0'..'9' or 'X') for the first 17 digits, or '\0'
 * if `first17` does not start with 17 digits. */
char hj_idnum_check_char(const char *first17);

#endif
