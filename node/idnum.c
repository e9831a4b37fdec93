/*
 * idnum.c — GB 11643-1999 resident identity numbers and strict dates.
 *
 * Layout (GB 11643-1999 §4): 6-digit address code, 8-digit birth date
 * YYYYMMDD, 3-digit order code (odd for men, even for women), 1 check
 * character computed by ISO 7064:1983 MOD 11-2 (§8). Messages name a
 * position or a character, never the whole number (PIPL: it is personal
 * information and messages reach logs).
 */
#include "idnum.h"
#include "utf8.h"

#include "error.h"

#include <string.h>

/* ISO 7064 MOD 11-2 weights 2^(18-i) mod 11 for positions 1..17, and the
 * character that makes the weighted sum ≡ 1 (mod 11), indexed by sum % 11. */
static const int idnum_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6,
				      3, 7, 9, 10, 5, 8, 4, 2};
static const char idnum_checks[] = "10X98765432";

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Value of `n` decimal digits at `p`; the caller checked they are digits. */
static int digits_value(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	return v;
}

int hj_date_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	return m == 2 && hj_date_is_leap(y) ? 29 : dm[m - 1];
}

int hj_date_valid(int y, int m, int d)
{
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= days_in_month(y, m);
}

int hj_date_parse(const char *s, int *y, int *m, int *d)
{
	if (!s)
		return hj_error_set(HJ_EINVALID, "date: missing");
	size_t n = strlen(s);
	/* Strict shape first, so "2024-1-5" or "2024/01/05" get a clear word. */
	int shape = n == 10 && s[4] == '-' && s[7] == '-';
	for (size_t i = 0; shape && i < 10; i++)
		if (i != 4 && i != 7 && !is_digit((unsigned char)s[i]))
			shape = 0;
	if (!shape)
		/* Not echoed: a misplaced ID number must not reach a log. */
		return hj_error_set(HJ_EINVALID,
				    "date: not in the form YYYY-MM-DD");
	int yy = digits_value(s, 4), mm = digits_value(s + 5, 2),
	    dd = digits_value(s + 8, 2);
	if (yy < 1900 || yy > 2199)
		return hj_error_set(HJ_EINVALID,
				    "date: year %d is outside 1900..2199", yy);
	if (!hj_date_valid(yy, mm, dd))
		return hj_error_set(HJ_EINVALID, "date: %s is not a real date",
				    s);
	*y = yy;
	*m = mm;
	*d = dd;
	return 0;
}

char hj_idnum_check_char(const char *first17)
{
	int sum = 0;
	if (!first17)
		return '\0';
	for (int i = 0; i < 17; i++) {
		if (!is_digit((unsigned char)first17[i]))
			return '\0';
		sum += (first17[i] - '0') * idnum_weights[i];
	}
	return idnum_checks[sum % 11];
}


int hj_idnum_parse(hj_idnum *out, const char *s)
{
	memset(out, 0, sizeof *out);
	if (!s)
		return hj_error_set(HJ_EINVALID, "ID number: missing");
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--;

	/* Count characters, not bytes, and find the first bad one. */
	size_t nchars = 0, bad = 0;
	for (size_t i = 0; i < n; nchars++) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t len = hj_utf8_len(p);
		int ok = len == 1 && (is_digit(*p) ||
				      (nchars == 17 && (*p == 'X' || *p == 'x')));
		if (!ok && !bad)
			bad = nchars + 1;
		i += len;
	}
	if (nchars == 0)
		return hj_error_set(HJ_EINVALID, "ID number: empty");
	if (nchars != 18)
		return hj_error_set(HJ_EINVALID,
				    "ID number: has %zu characters, needs 18",
				    nchars);
	if (bad == 18)
		return hj_error_set(HJ_EINVALID,
				    "ID number: character 18 is not a digit or X");
	if (bad)
		return hj_error_set(HJ_EINVALID,
				    "ID number: character %zu is not a digit",
				    bad);

	/* Now exactly 18 ASCII bytes. */
	char norm[19];
	memcpy(norm, s, 18);
	norm[18] = '\0';
	if (norm[17] == 'x')
		norm[17] = 'X';

	int y = digits_value(norm + 6, 4), m = digits_value(norm + 10, 2),
	    d = digits_value(norm + 12, 2);
	/* Date before check character: a mistyped date also breaks the check,
	 * and "not a real date" tells the clerk where to look. */
	if (!hj_date_valid(y, m, d))
		return hj_error_set(HJ_EINVALID,
				    "ID number: birth date %.8s is not a real date",
				    norm + 6);
	if (y < 1900)
		return hj_error_set(HJ_EINVALID,
				    "ID number: birth year %d is before 1900", y);

	char want = hj_idnum_check_char(norm);
	if (norm[17] != want)
		return hj_error_set(HJ_EINVALID,
				    "ID number: check character is %c, expected %c",
				    norm[17], want);

	memcpy(out->norm, norm, sizeof out->norm);
	memcpy(out->region, norm, 6);
	out->region[6] = '\0';
	out->year = y;
	out->month = m;
	out->day = d;
	out->seqno = digits_value(norm + 14, 3);
	out->sex = out->seqno % 2 ? 1 : 2;
	return 0;
}

int hj_idnum_age_on(const hj_idnum *id, int y, int m, int d)
{
	if (!hj_date_valid(y, m, d))
		return hj_error_set(HJ_EINVALID, "age: %04d-%02d-%02d is not a real date",
				    y, m, d);
	int bm = id->month, bd = id->day;
	/* The legal birthday of a 29 February child in a common year is
	 * 1 March: one is not of age a day early. */
	if (bm == 2 && bd == 29 && !hj_date_is_leap(y)) {
		bm = 3;
		bd = 1;
	}
	int age = y - id->year;
	if (m < bm || (m == bm && d < bd))
		age--;
	if (age < 0)
		return hj_error_set(HJ_EINVALID, "age: date is before the birth date");
	return age;
}

int hj_idnum_make(char out[19], const char *region6, int y, int m, int d,
		  int seqno)
{
	out[0] = '\0';
	if (!region6 || strlen(region6) != 6)
		return hj_error_set(HJ_EINVALID, "ID make: region must be 6 digits");
	for (int i = 0; i < 6; i++)
		if (!is_digit((unsigned char)region6[i]))
			return hj_error_set(HJ_EINVALID,
					    "ID make: region must be 6 digits");
	if (y < 1900 || !hj_date_valid(y, m, d))
		return hj_error_set(HJ_EINVALID,
				    "ID make: %04d-%02d-%02d is not a real date from 1900",
				    y, m, d);
	if (seqno < 0 || seqno > 999)
		return hj_error_set(HJ_EINVALID,
				    "ID make: order code %d is outside 0..999", seqno);
	char buf[19];
	memcpy(buf, region6, 6);
	/* Digit by digit: the ranges were checked above, and snprintf into
	 * a fixed field would draw -Wformat-truncation for no gain. */
	for (int v = y, i = 9; i >= 6; i--, v /= 10)
		buf[i] = (char)('0' + v % 10);
	buf[10] = (char)('0' + m / 10);
	buf[11] = (char)('0' + m % 10);
	buf[12] = (char)('0' + d / 10);
	buf[13] = (char)('0' + d % 10);
	buf[14] = (char)('0' + seqno / 100);
	buf[15] = (char)('0' + seqno / 10 % 10);
	buf[16] = (char)('0' + seqno % 10);
	buf[17] = hj_idnum_check_char(buf);
	buf[18] = '\0';
	memcpy(out, buf, sizeof buf);
	return 0;
}
