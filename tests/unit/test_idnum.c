/*
 * test_idnum.c — unit tests for idnum.c, phone.c and mask.c.
 *
 * Every ID number here belongs to a FAKE person: the hard-coded ones were
 * computed by hand (ISO 7064 MOD 11-2, GB 11643-1999 §8) independently of
 * hj_idnum_check_char, the rest are made with hj_idnum_make. The tests also
 * check that no error message repeats the number it rejects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "idnum.h"
#include "mask.h"
#include "phone.h"

/* Parse must fail with HJ_EINVALID, a message containing `reason`, and no
 * copy of the (trimmed) input in the message. */
static void expect_bad_id(const char *s, const char *reason)
{
	hj_idnum id;
	hj_error_clear();
	int rc = hj_idnum_parse(&id, s);
	if (rc != HJ_EINVALID || !strstr(hj_error_last(), reason))
		fail_msg("input of %zu bytes: rc %d, message \"%s\", wanted \"%s\"",
			 strlen(s), rc, hj_error_last(), reason);
	assert_int_equal(hj_error_code(), HJ_EINVALID);
	assert_int_equal(id.norm[0], '\0');
	/* The 17 leading characters are enough to identify a person. */
	const char *t = s;
	while (*t == ' ')
		t++;
	if (strlen(t) >= 17) {
		char head[18];
		memcpy(head, t, 17);
		head[17] = '\0';
		assert_null(strstr(hj_error_last(), head));
		char birth[9];
		memcpy(birth, t + 6, 8);
		birth[8] = '\0';
		assert_null(strstr(hj_error_last(), birth));
		assert_null(strstr(hj_error_last(), "expected"));
	}
}

static void test_check_char(void **state)
{
	(void)state;
	assert_int_equal(hj_idnum_check_char("34010419900101123"), '9');
	assert_int_equal(hj_idnum_check_char("34010419900307003"), 'X');
	assert_int_equal(hj_idnum_check_char("32010219851615002"), '6');
	assert_int_equal(hj_idnum_check_char("3401041990010112"), '\0');
	assert_int_equal(hj_idnum_check_char("3401041990010112A"), '\0');
	assert_int_equal(hj_idnum_check_char(NULL), '\0');
}

static void test_hand_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *in, *norm;
		int y, m, d, seq, sex;
	} v[] = {
		{"340104199001011239", "340104199001011239", 1990, 1, 1, 123, 1},
		{"320102198506150022", "320102198506150022", 1985, 6, 15, 2, 2},
		{"620102200002290014", "620102200002290014", 2000, 2, 29, 1, 1},
		{"630102197812310889", "630102197812310889", 1978, 12, 31, 88, 2},
		{"34010419900307003X", "34010419900307003X", 1990, 3, 7, 3, 1},
		/* lower-case x and surrounding spaces, as typed at a window */
		{"  32010219751120000x ", "32010219751120000X", 1975, 11, 20, 0, 2},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		hj_idnum id;
		if (hj_idnum_parse(&id, v[i].in) != 0)
			fail_msg("vector %zu: %s", i, hj_error_last());
		assert_string_equal(id.norm, v[i].norm);
		assert_memory_equal(id.region, v[i].norm, 6);
		assert_int_equal(id.region[6], '\0');
		assert_int_equal(id.year, v[i].y);
		assert_int_equal(id.month, v[i].m);
		assert_int_equal(id.day, v[i].d);
		assert_int_equal(id.seqno, v[i].seq);
		assert_int_equal(id.sex, v[i].sex);
	}
}

static void test_make_roundtrip(void **state)
{
	(void)state;
	static const char *regions[] = {"340104", "320102", "630102", "110101"};
	int seen_x = 0;
	for (int r = 0; r < 4; r++)
		for (int seq = 0; seq <= 999; seq += 37) {
			char num[19];
			int y = 1950 + seq % 70, m = 1 + seq % 12, d = 1 + seq % 28;
			assert_int_equal(hj_idnum_make(num, regions[r], y, m, d, seq), 0);
			assert_int_equal(strlen(num), 18);
			seen_x += num[17] == 'X';
			hj_idnum id;
			assert_int_equal(hj_idnum_parse(&id, num), 0);
			assert_string_equal(id.norm, num);
			assert_string_equal(id.region, regions[r]);
			assert_int_equal(id.year, y);
			assert_int_equal(id.month, m);
			assert_int_equal(id.day, d);
			assert_int_equal(id.seqno, seq);
			assert_int_equal(id.sex, seq % 2 ? 1 : 2);
		}
	assert_true(seen_x > 0); /* the X branch was exercised */

	char num[19];
	assert_int_equal(hj_idnum_make(num, "340104", 1990, 3, 7, 3), 0);
	assert_string_equal(num, "34010419900307003X");
	assert_int_equal(hj_idnum_make(num, "34010", 1990, 1, 1, 1), HJ_EINVALID);
	assert_int_equal(num[0], '\0');
	assert_int_equal(hj_idnum_make(num, "34010a", 1990, 1, 1, 1), HJ_EINVALID);
	assert_int_equal(hj_idnum_make(num, "340104", 1899, 12, 31, 1), HJ_EINVALID);
	assert_int_equal(hj_idnum_make(num, "340104", 1990, 2, 30, 1), HJ_EINVALID);
	assert_int_equal(hj_idnum_make(num, "340104", 1990, 1, 1, 1000), HJ_EINVALID);
	assert_int_equal(hj_idnum_make(num, "340104", 1990, 1, 1, -1), HJ_EINVALID);
}

static void test_invalid(void **state)
{
	(void)state;
	expect_bad_id("34010419900101123", "has 17 characters, needs 18");
	expect_bad_id("3401041990010112390", "has 19 characters, needs 18");
	expect_bad_id("", "empty");
	expect_bad_id("   ", "empty");
	expect_bad_id("340104199A01011239", "character 10 is not a digit");
	expect_bad_id("X40104199001011239", "character 1 is not a digit");
	expect_bad_id("34010419900101123A", "character 18 is not a digit or X");
	expect_bad_id("3401041990010112X9", "character 17 is not a digit");
	expect_bad_id("340104 99001011239", "character 7 is not a digit");
	/* a full-width digit is one character, not three bytes */
	expect_bad_id("34010419900101123\xef\xbc\x99", "character 18 is not a digit or X");
	/* Never the right check character, never the birth date's digits. */
	expect_bad_id("340104199001011235", "check character (character 18) does not match");
	expect_bad_id("340104199003070035", "check character (character 18) does not match");
	expect_bad_id("34010419900101123X", "check character (character 18) does not match");
	expect_bad_id("340104199902300011", "birth day (characters 13-14) is not a day of that month");
	expect_bad_id("340104199013010011", "birth month (characters 11-12) is not 01-12");
	expect_bad_id("340104199000010011", "birth month (characters 11-12) is not 01-12");
	expect_bad_id("340104190002290011", "birth day (characters 13-14)");
	expect_bad_id("340104189912310011", "birth year (characters 7-10) is before 1900");
	expect_bad_id("340104000001010011", "birth year (characters 7-10) is before 1900");
	/* the fold's parser names a 15-digit number but does not upgrade it */
	expect_bad_id("340104900101123", "a 15-digit number from before 1999");

	hj_idnum id;
	assert_int_equal(hj_idnum_parse(&id, NULL), HJ_EINVALID);
}

/* hj_idnum_normalise: what a clerk types, as the one form the fold takes.
 * The 15-digit vectors were upgraded by hand: "19" before the year, then
 * the MOD 11-2 check character of the 17 digits (GB 11643-1999 §8). */
static void test_normalise(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
		unsigned how;
	} ok[] = {
		{"340104199001011239", "340104199001011239", 0},
		{"34010419900307003x", "34010419900307003X", 0},
		{" 340104 19900101 1239 ", "340104199001011239", HJ_IDNUM_SPACES},
		{"340104\t19900101\xe3\x80\x80" "1239\xc2\xa0", "340104199001011239", HJ_IDNUM_SPACES},
		/* ３４０１０４１９９００１０１１２３９, full width */
		{"\xef\xbc\x93\xef\xbc\x94\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x94"
		 "\xef\xbc\x91\xef\xbc\x99\xef\xbc\x99\xef\xbc\x90\xef\xbc\x90\xef\xbc\x91"
		 "\xef\xbc\x90\xef\xbc\x91\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x99",
		 "340104199001011239", HJ_IDNUM_FULLWIDTH},
		{"34010419900307003\xef\xbc\xb8", "34010419900307003X", HJ_IDNUM_FULLWIDTH}, /* Ｘ */
		{"34010419900307003\xef\xbd\x98", "34010419900307003X", HJ_IDNUM_FULLWIDTH}, /* ｘ */
		{"34010419900101\xe3\x80\x80\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x99", "340104199001011239",
		 HJ_IDNUM_SPACES | HJ_IDNUM_FULLWIDTH},
		/* 15 digits: 340104 900101 123 -> 340104 19900101 123 + 9 */
		{"340104900101123", "340104199001011239", HJ_IDNUM_UPGRADED},
		{"340104 900307 003", "34010419900307003X", HJ_IDNUM_UPGRADED | HJ_IDNUM_SPACES},
		{"320102851615002", NULL, 0}, /* month 16: not a real date */
		{"340104900101996", NULL, 0}, /* order code 996-999: over 100, "19" would be a guess */
		{"340104900101999", NULL, 0},
		{"340104000229123", NULL, 0}, /* 1900-02-29: 1900 is not a leap year */
		{"34010419900101123", NULL, 0},      /* 17 characters */
		{"3401041990010112391", NULL, 0},    /* 19 */
		{"34010490010112", NULL, 0},         /* 14 */
		{"340104199001011235", NULL, 0},     /* wrong check character */
		{"3401041990O1011239", NULL, 0},     /* letter O for zero */
		{"", NULL, 0},
		{"\xe3\x80\x80 ", NULL, 0},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char out[19] = "junk";
		unsigned how = 99;
		int rc = hj_idnum_normalise(out, ok[i].in, &how);
		if (!ok[i].out) {
			if (rc != HJ_EINVALID)
				fail_msg("case %zu: accepted as %s", i, out);
			assert_int_equal(out[0], '\0');
			assert_null(strstr(hj_error_last(), "expected"));
			if (strlen(ok[i].in) >= 12)
				assert_null(strstr(hj_error_last(), "340104"));
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu: %s", i, hj_error_last());
		assert_string_equal(out, ok[i].out);
		assert_int_equal(how, ok[i].how);
		/* idempotent, and the fold's parser takes the result as it is */
		char again[19];
		assert_int_equal(hj_idnum_normalise(again, out, NULL), 0);
		assert_string_equal(again, out);
		hj_idnum id;
		assert_int_equal(hj_idnum_parse(&id, out), 0);
		assert_string_equal(id.norm, out);
	}
	char out[19];
	assert_int_equal(hj_idnum_normalise(out, NULL, NULL), HJ_EINVALID);
	static char longer[400];
	memset(longer, '1', sizeof longer - 1);
	assert_int_equal(hj_idnum_normalise(out, longer, NULL), HJ_EINVALID);
	/* the 996-999 refusal says why, and the 15-digit one is named */
	assert_int_equal(hj_idnum_normalise(out, "340104900101997", NULL), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "996-999"));
	assert_int_equal(hj_idnum_normalise(out, "340104901301123", NULL), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "a 15-digit number from before 1999"));
}

static void test_future_parses(void **state)
{
	(void)state;
	char num[19];
	hj_idnum id;
	assert_int_equal(hj_idnum_make(num, "340104", 2150, 6, 1, 11), 0);
	assert_int_equal(hj_idnum_parse(&id, num), 0);
	/* ...but it has no age yet: the caller's age rule rejects it. */
	assert_int_equal(hj_idnum_age_on(&id, 2024, 6, 1), HJ_EINVALID);
}

static hj_idnum born(int y, int m, int d)
{
	char num[19];
	hj_idnum id;
	assert_int_equal(hj_idnum_make(num, "340104", y, m, d, 1), 0);
	assert_int_equal(hj_idnum_parse(&id, num), 0);
	return id;
}

static void test_age(void **state)
{
	(void)state;
	hj_idnum a = born(1990, 6, 15);
	assert_int_equal(hj_idnum_age_on(&a, 2008, 6, 14), 17); /* day before */
	assert_int_equal(hj_idnum_age_on(&a, 2008, 6, 15), 18); /* birthday */
	assert_int_equal(hj_idnum_age_on(&a, 2008, 12, 31), 18);
	assert_int_equal(hj_idnum_age_on(&a, 1990, 6, 15), 0);
	assert_int_equal(hj_idnum_age_on(&a, 1990, 6, 14), HJ_EINVALID);
	assert_int_equal(hj_idnum_age_on(&a, 2008, 2, 30), HJ_EINVALID);

	hj_idnum leap = born(2000, 2, 29);
	assert_int_equal(hj_idnum_age_on(&leap, 2018, 2, 28), 17); /* common year */
	assert_int_equal(hj_idnum_age_on(&leap, 2018, 3, 1), 18);
	assert_int_equal(hj_idnum_age_on(&leap, 2020, 2, 28), 19); /* leap year */
	assert_int_equal(hj_idnum_age_on(&leap, 2020, 2, 29), 20);
	assert_int_equal(hj_idnum_age_on(&leap, 2100, 2, 28), 99); /* 2100 not leap */
	assert_int_equal(hj_idnum_age_on(&leap, 2100, 3, 1), 100);

	hj_idnum nye = born(1978, 12, 31);
	assert_int_equal(hj_idnum_age_on(&nye, 2024, 12, 30), 45);
	assert_int_equal(hj_idnum_age_on(&nye, 2024, 12, 31), 46);
	assert_int_equal(hj_idnum_age_on(&nye, 2025, 1, 1), 46);
}

static void test_dates(void **state)
{
	(void)state;
	int y = 0, m = 0, d = 0;
	assert_int_equal(hj_date_parse("2024-02-29", &y, &m, &d), 0);
	assert_int_equal(y, 2024);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
	assert_int_equal(hj_date_parse("2000-02-29", &y, &m, &d), 0);
	assert_int_equal(hj_date_parse("1900-01-01", &y, &m, &d), 0);
	assert_int_equal(hj_date_parse("2199-12-31", &y, &m, &d), 0);

	static const char *bad[] = {
		"2023-02-29", "1900-02-29", "2100-02-29", "2024-13-01",
		"2024-00-10", "2024-04-31", "2024-01-00", "1899-12-31",
		"2200-01-01", "2024-1-05",  "2024/01/05", "20240105",
		"2024-01-05 ", " 2024-01-05", "2024-01-0a", "+024-01-05", "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		y = m = d = -1;
		if (hj_date_parse(bad[i], &y, &m, &d) != HJ_EINVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(y, -1); /* outputs untouched on failure */
	}
	assert_int_equal(hj_date_parse(NULL, &y, &m, &d), HJ_EINVALID);

	assert_true(hj_date_valid(2024, 2, 29));
	assert_false(hj_date_valid(2023, 2, 29));
	assert_true(hj_date_valid(2023, 12, 31));
	assert_false(hj_date_valid(2023, 12, 32));
	assert_false(hj_date_valid(2023, 0, 1));
	assert_false(hj_date_valid(0, 1, 1));
}

static void expect_phone(const char *in, const char *want)
{
	char out[12];
	if (hj_phone_normalise(out, in) != 0)
		fail_msg("\"%s\": %s", in, hj_error_last());
	assert_string_equal(out, want);
}

static void expect_bad_phone(const char *in, const char *reason)
{
	char out[12] = "x";
	hj_error_clear();
	int rc = hj_phone_normalise(out, in);
	if (rc != HJ_EINVALID || !strstr(hj_error_last(), reason))
		fail_msg("\"%s\": rc %d, \"%s\", wanted \"%s\"", in, rc,
			 hj_error_last(), reason);
	assert_int_equal(out[0], '\0');
	/* never the digits themselves: check that no 7-digit run of the
	 * input appears in the message */
	const char *msg = hj_error_last();
	for (const char *p = msg; *p; p++) {
		int run = 0;
		while (p[run] >= '0' && p[run] <= '9')
			run++;
		assert_true(run < 7);
	}
}

static void test_phone(void **state)
{
	(void)state;
	expect_phone("13812345678", "13812345678");
	expect_phone("+86 138 1234 5678", "13812345678");
	expect_phone("+8613812345678", "13812345678");
	expect_phone("8613812345678", "13812345678");
	expect_phone("0086-138-1234-5678", "13812345678");
	expect_phone(" 199-0000-0001 ", "19900000001");
	expect_phone("86 16612345678", "16612345678");

	expect_bad_phone("138123456789", "has 12 digits, needs 11");
	expect_bad_phone("1381234567", "has 10 digits, needs 11");
	expect_bad_phone("12812345678", "second digit is 2, must be 3-9");
	expect_bad_phone("10812345678", "second digit is 0");
	expect_bad_phone("23812345678", "starts with 1");
	expect_bad_phone("1381234567a", "not a digit");
	expect_bad_phone("abc", "not a digit");
	expect_bad_phone("138.1234.5678", "not a digit");
	expect_bad_phone("+85213812345678", "only mainland numbers");
	expect_bad_phone("13+812345678", "not a digit");
	expect_bad_phone("", "empty");
	expect_bad_phone(" - ", "empty");
	expect_bad_phone("+86", "empty");
	expect_bad_phone("1381234567812345678901234567890123", "far too long");
	expect_bad_phone(NULL, "missing");
}

static void test_mask_codes(void **state)
{
	(void)state;
	char out[19];
	hj_mask_idnum(out, "340104199001011234");
	assert_string_equal(out, "3401**********1234");
	hj_mask_idnum(out, "34010419900307003X");
	assert_string_equal(out, "3401**********003X");
	hj_mask_idnum(out, "34010419900101123");
	assert_string_equal(out, "3***************3");
	hj_mask_idnum(out, "3401041990010112345678"); /* cut to 18 */
	assert_string_equal(out, "3****************8");
	hj_mask_idnum(out, "12");
	assert_string_equal(out, "**");
	hj_mask_idnum(out, "");
	assert_string_equal(out, "");
	hj_mask_idnum(out, NULL);
	assert_string_equal(out, "");

	char ph[12];
	hj_mask_phone(ph, "13812345678");
	assert_string_equal(ph, "138****5678");
	hj_mask_phone(ph, "1381234567");
	assert_string_equal(ph, "1********7");
	hj_mask_phone(ph, "+8613812345678");
	assert_string_equal(ph, "+*********8");
	hj_mask_phone(ph, "1");
	assert_string_equal(ph, "*");
}

static void test_mask_names(void **state)
{
	(void)state;
	char out[64];
	hj_mask_name(out, sizeof out, "张三丰");
	assert_string_equal(out, "张**");
	hj_mask_name(out, sizeof out, "王五");
	assert_string_equal(out, "王*");
	hj_mask_name(out, sizeof out, "欧阳娜娜");
	assert_string_equal(out, "欧***");
	hj_mask_name(out, sizeof out, "阿卜杜·热合曼");
	assert_string_equal(out, "阿******");
	hj_mask_name(out, sizeof out, "Li Lei");
	assert_string_equal(out, "L*****");
	hj_mask_name(out, sizeof out, "李");
	assert_string_equal(out, "李");
	hj_mask_name(out, sizeof out, "");
	assert_string_equal(out, "");
	hj_mask_name(out, sizeof out, NULL);
	assert_string_equal(out, "");
	/* a stray byte is one character and is masked */
	hj_mask_name(out, sizeof out, "张\xff三");
	assert_string_equal(out, "张**");

	/* short buffers cut at whole characters */
	char small[4];
	hj_mask_name(small, sizeof small, "张三丰");
	assert_string_equal(small, "张");
	char tiny[3];
	hj_mask_name(tiny, sizeof tiny, "张三");
	assert_string_equal(tiny, "");
	char five[6];
	hj_mask_name(five, sizeof five, "张三丰李");
	assert_string_equal(five, "张**"); /* 3+1+1 bytes + NUL */

	hj_mask_plate(out, sizeof out, "皖A12345");
	assert_string_equal(out, "皖A****5");
	hj_mask_plate(out, sizeof out, "苏E·D12345"); /* new-energy, with dot */
	assert_string_equal(out, "苏E******5");
	hj_mask_plate(out, sizeof out, "青A1234学");
	assert_string_equal(out, "青A****学");
	hj_mask_plate(out, sizeof out, "皖A12");
	assert_string_equal(out, "皖A*2");
	hj_mask_plate(out, sizeof out, "皖A1"); /* too short: keep the province */
	assert_string_equal(out, "皖**");
	hj_mask_plate(out, sizeof out, "皖A");
	assert_string_equal(out, "皖*");
	hj_mask_plate(out, sizeof out, "");
	assert_string_equal(out, "");
	char p6[6];
	hj_mask_plate(p6, sizeof p6, "皖A12345");
	assert_string_equal(p6, "皖A*");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_char),
		cmocka_unit_test(test_hand_vectors),
		cmocka_unit_test(test_make_roundtrip),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_future_parses),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_mask_codes),
		cmocka_unit_test(test_mask_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
