/*
 * idnum.c — GB 11643-1999 resident identity numbers and strict dates.
 *
 * Layout (GB 11643-1999 §4): 6-digit address code, 8-digit birth date
 * YYYYMMDD, 3-digit order code (odd for men, even for women), 1 check
 * character computed by ISO 7064:1983 MOD 11-2 (§8). Messages name a
 * position, never the number, its birth date or the check character that
 * would be right (PIPL: it is personal information and messages reach
 * logs). hj_idnum_normalise turns what a clerk types (full-width digits,
 * spaces, a 15-digit number from before 1999) into the one form the fold
 * accepts.
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

/* H. Hinnant's civil_from_days: exact for the proleptic Gregorian
 * calendar, no table, no locale. */
void hj_date_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
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
		return hj_error_set(HJ_EINVALID, "date: not a real date (a day the month does not have)");
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
	if (nchars == 15 && !bad)
		return hj_error_set(HJ_EINVALID, "ID number: a 15-digit number from before 1999; the 18-digit "
				    "form is needed");
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
	 * and naming the part tells the clerk where to look. The digits are
	 * not repeated: the birth date is personal data too. */
	if (m < 1 || m > 12)
		return hj_error_set(HJ_EINVALID,
				    "ID number: the birth month (characters 11-12) is not 01-12");
	if (y < 1900)
		return hj_error_set(HJ_EINVALID,
				    "ID number: the birth year (characters 7-10) is before 1900");
	if (!hj_date_valid(y, m, d))
		return hj_error_set(HJ_EINVALID,
				    "ID number: the birth day (characters 13-14) is not a day of that month");

	/* Never say which character would be right: that would turn any
	 * mistyped (or invented) number into a valid one. */
	if (norm[17] != hj_idnum_check_char(norm))
		return hj_error_set(HJ_EINVALID,
				    "ID number: the check character (character 18) does not match "
				    "the other 17: one of the 18 is mistyped");

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

/* Full-width digits U+FF10..FF19 and X U+FF38 / x U+FF58 (what a Chinese
 * input method types), as ASCII; 0 if `p` is not one. */
static char fullwidth_ascii(const unsigned char *p)
{
	if (p[0] != 0xEF)
		return 0;
	if (p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99)
		return (char)('0' + (p[2] - 0x90));
	if ((p[1] == 0xBC && p[2] == 0xB8) || (p[1] == 0xBD && p[2] == 0x98))
		return 'X';
	return 0;
}

/* Bytes of a space at p: ASCII space or tab, U+00A0, U+3000 (ideographic). */
static size_t space_len(const unsigned char *p)
{
	if (*p == ' ' || *p == '\t')
		return 1;
	if (p[0] == 0xC2 && p[1] == 0xA0)
		return 2;
	if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/* GB 11643-1989's 15 digits (6 address, YYMMDD birth date, 3 order, no
 * check character) as GB 11643-1999's 18: the century "19" goes before
 * the year and the ISO 7064 MOD 11-2 check character (GB 11643-1999 §8)
 * after the order code — the rule the 1999 standard's upgrade applied.
 * Refused where that rule would guess: a birth date that is not real with
 * "19", and order codes 996-999, which the 15-digit scheme kept for
 * people over 100 (born in the 1800s, so "19" would be wrong). */
static int upgrade15(char out[19], const char *s15)
{
	char v[19];
	memcpy(v, s15, 6);
	v[6] = '1';
	v[7] = '9';
	memcpy(v + 8, s15 + 6, 9);
	int y = digits_value(v + 6, 4), m = digits_value(v + 10, 2), d = digits_value(v + 12, 2);
	if (!hj_date_valid(y, m, d))
		return hj_error_set(HJ_EINVALID, "ID number: a 15-digit number from before 1999 whose birth date "
				    "(characters 7-12) is not a real date");
	if (digits_value(v + 14, 3) >= 996)
		return hj_error_set(HJ_EINVALID, "ID number: a 15-digit number from before 1999 with order code "
				    "996-999 (kept for people over 100): its 18-digit form cannot be derived; give the "
				    "18-digit number");
	v[17] = hj_idnum_check_char(v);
	v[18] = '\0';
	memcpy(out, v, sizeof v);
	return 0;
}

int hj_idnum_normalise(char out[19], const char *s, unsigned *how)
{
	char t[HJ_IDNUM_MAX_INPUT + 1];
	size_t n = 0;
	unsigned h = 0;
	hj_idnum id;
	int rc;

	out[0] = '\0';
	if (how)
		*how = 0;
	if (!s)
		return hj_error_set(HJ_EINVALID, "ID number: missing");
	if (strlen(s) > HJ_IDNUM_MAX_INPUT)
		return hj_error_set(HJ_EINVALID, "ID number: far too long (%zu bytes)", strlen(s));
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t sp = space_len(p), len = hj_utf8_len(p);
		char a = len == 3 ? fullwidth_ascii(p) : 0;
		if (sp) {
			h |= HJ_IDNUM_SPACES;
			p += sp;
			continue;
		}
		if (a) {
			h |= HJ_IDNUM_FULLWIDTH;
			t[n++] = a;
		} else {
			memcpy(t + n, p, len);
			n += len;
		}
		p += len;
	}
	t[n] = '\0';
	int fifteen = n == 15 && strspn(t, "0123456789") == 15;
	if (fifteen) {
		if ((rc = upgrade15(t, t)))
			return rc;
		h |= HJ_IDNUM_UPGRADED;
	}
	if ((rc = hj_idnum_parse(&id, t)))
		return rc;
	memcpy(out, id.norm, sizeof id.norm);
	if (how)
		*how = h;
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
