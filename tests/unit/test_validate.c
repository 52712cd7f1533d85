/* test_validate.c — the pure checks of validate.h, table by table.
 *
 * Every CPR number in this file is fictional. The ones that pass have a
 * date of birth in the future (2030–2057: first serial digit 4 or 9 with
 * YY 30–36, or 5–8 with YY 30–57), so they cannot belong to anyone. The
 * ones with a past date are used only as inputs to the date logic: they
 * are impossible dates (30 February, 31 November, 29 February of a year
 * that is not a leap year), so they are not valid CPR numbers either. The
 * century rule for the past centuries is checked through the year that
 * cpr_check() reports in its error message for such a date, so no valid
 * number with a past date is needed.
 */
#include "validate.h"
#include "t.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- CPR numbers ------------------------------------------------------- */

static void test_cpr_valid(void)
{
	static const struct {
		const char *cpr, *birth;
	} cases[] = {
	    {"010150-5123", "2050-01-01"}, /* 5, YY <= 57: 2000s */
	    {"290252-5123", "2052-02-29"}, /* leap year */
	    {"311257-8000", "2057-12-31"}, /* 8, YY 57: the last 2000s */
	    {"010130-6000", "2030-01-01"},
	    {"150636-4321", "2036-06-15"}, /* 4, YY 36: the last 2000s */
	    {"300436-9000", "2036-04-30"}, /* 9 as 4 */
	    {"290236-7000", "2036-02-29"},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		char birth[11] = "", err[128] = "";
		int r = cpr_check(cases[i].cpr, birth, err, sizeof(err));

		if (r != 0)
			printf("  %s: %s\n", cases[i].cpr, err);
		T_ASSERT(r == 0);
		T_STREQ(birth, cases[i].birth);
		/* ret_birth is optional */
		T_ASSERT(cpr_check(cases[i].cpr, NULL, err, sizeof(err)) == 0);
	}
}

/* The century from the first serial digit, seen in the year of the error
 * message for a date that exists in no year (30 February). */
static void test_cpr_century_rule(void)
{
	static const struct {
		const char *cpr, *year;
	} cases[] = {
	    {"300200-0000", "year 1900)"},
	    {"300236-1000", "year 1936)"},
	    {"300299-3000", "year 1999)"},
	    {"300200-4000", "year 2000)"},
	    {"300236-4000", "year 2036)"},
	    {"300237-4000", "year 1937)"}, /* 4, YY > 36: 1900s */
	    {"300299-9000", "year 1999)"},
	    {"300236-9000", "year 2036)"},
	    {"300257-5000", "year 2057)"},
	    {"300258-5000", "year 1858)"}, /* 5-8, YY > 57: 1800s */
	    {"300258-8000", "year 1858)"},
	    {"300299-6000", "year 1899)"},
	    {"300200-7000", "year 2000)"},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		char err[128] = "";

		T_ASSERT(cpr_check(cases[i].cpr, NULL, err, sizeof(err)) ==
			 -EINVAL);
		T_CONTAINS(err, cases[i].year);
	}
}

static void test_cpr_invalid(void)
{
	static const struct {
		const char *cpr, *msg;
	} cases[] = {
	    /* not real dates */
	    {"290253-5123", "is not a real date"}, /* 2053: not leap */
	    {"290261-0123", "is not a real date"}, /* 1961: not leap */
	    {"290200-0000", "is not a real date"}, /* 1900: not leap */
	    {"311190-1234", "is not a real date"}, /* 31 November */
	    {"000150-5123", "(day 0, month 1, year 2050)"},
	    {"011350-5123", "(day 1, month 13, year 2050)"},
	    {"010050-5123", "month 0"},
	    {"320150-5123", "day 32"},
	    /* not of the form DDMMYY-SSSS */
	    {"0101505123", "must be DDMMYY-SSSS"}, /* no dash */
	    {"010150 5123", "must be DDMMYY-SSSS"},
	    {"010150_5123", "must be DDMMYY-SSSS"},
	    {"01015-05123", "must be DDMMYY-SSSS"}, /* dash misplaced */
	    {"0101AB-5123", "must be DDMMYY-SSSS"}, /* letters */
	    {"010150-51X3", "must be DDMMYY-SSSS"},
	    {"010150-512", "must be DDMMYY-SSSS"},   /* too short */
	    {"010150-51234", "must be DDMMYY-SSSS"}, /* too long */
	    {" 010150-5123", "must be DDMMYY-SSSS"},
	    {"+10150-5123", "must be DDMMYY-SSSS"},
	    {"010150--123", "must be DDMMYY-SSSS"},
	    {"", "must be DDMMYY-SSSS"},
	    {NULL, "must be DDMMYY-SSSS"},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		char birth[11] = "untouched", err[128] = "";

		T_ASSERT(cpr_check(cases[i].cpr, birth, err, sizeof(err)) ==
			 -EINVAL);
		T_CONTAINS(err, cases[i].msg);
		T_STREQ(birth, "untouched");
	}
}

/* ---- dates ------------------------------------------------------------- */

static void test_date_valid(void)
{
	static const struct {
		int y, m, d;
		bool ok;
	} cases[] = {
	    {2014, 5, 1, true},
	    {2000, 2, 29, true},  /* divisible by 400: leap */
	    {1900, 2, 29, false}, /* by 100, not by 400: not leap */
	    {2100, 2, 29, false},
	    {2024, 2, 29, true}, /* by 4: leap */
	    {2023, 2, 29, false},
	    {2023, 2, 28, true},
	    {2024, 2, 30, false},
	    {2014, 4, 31, false},
	    {2014, 4, 30, true},
	    {2014, 12, 31, true},
	    {2014, 12, 32, false},
	    {2014, 1, 0, false},
	    {2014, 0, 1, false},
	    {2014, 13, 1, false},
	    {2014, -1, 1, false},
	    {1800, 1, 1, true}, /* the range */
	    {1799, 12, 31, false},
	    {9999, 12, 31, true},
	    {10000, 1, 1, false},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		bool ok = date_valid(cases[i].y, cases[i].m, cases[i].d);

		if (ok != cases[i].ok)
			printf("  %04d-%02d-%02d\n", cases[i].y, cases[i].m,
			       cases[i].d);
		T_ASSERT(ok == cases[i].ok);
	}
}

static void test_date_parse(void)
{
	static const struct {
		const char *s;
		int y, m, d; /* 0: refused */
	} cases[] = {
	    {"2014-05-01", 2014, 5, 1},
	    {"2000-02-29", 2000, 2, 29},
	    {"2016-02-29", 2016, 2, 29},
	    {"1800-01-01", 1800, 1, 1},
	    {"1900-02-29", 0, 0, 0},
	    {"2015-02-29", 0, 0, 0},
	    {"2014-04-31", 0, 0, 0},
	    {"2014-13-01", 0, 0, 0},
	    {"2014-00-01", 0, 0, 0},
	    {"2014-05-00", 0, 0, 0},
	    {"1799-12-31", 0, 0, 0},
	    {"2014-5-01", 0, 0, 0},
	    {"2014-05-1", 0, 0, 0},
	    {"14-05-01", 0, 0, 0},
	    {"2014/05/01", 0, 0, 0},
	    {"20140501", 0, 0, 0},
	    {"2014-05-01 ", 0, 0, 0},
	    {" 2014-05-01", 0, 0, 0},
	    {"2014-05-0a", 0, 0, 0},
	    {"+014-05-01", 0, 0, 0},
	    {"2014-+5-01", 0, 0, 0},
	    {"2014-05-01T10:00", 0, 0, 0},
	    {"", 0, 0, 0},
	    {NULL, 0, 0, 0},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		int y = -1, m = -1, d = -1;
		int r = date_parse(cases[i].s, &y, &m, &d);

		if (cases[i].y) {
			T_ASSERT(r == 0);
			T_ASSERT(y == cases[i].y && m == cases[i].m &&
				 d == cases[i].d);
		} else {
			if (r != -EINVAL)
				printf("  accepted '%s'\n", cases[i].s);
			T_ASSERT(r == -EINVAL);
		}
	}
}

static void test_datetime_parse(void)
{
	static const struct {
		const char *s, *out; /* out NULL: refused */
	} cases[] = {
	    {"2014-05-01 09:30", "2014-05-01T09:30"},
	    {"2014-05-01T09:30", "2014-05-01T09:30"},
	    {"2014-05-01 00:00", "2014-05-01T00:00"},
	    {"2014-05-01 23:59", "2014-05-01T23:59"},
	    {"2016-02-29T12:00", "2016-02-29T12:00"},
	    {"2014-05-01 24:00", NULL},
	    {"2014-05-01 12:60", NULL},
	    {"2014-05-01 99:99", NULL},
	    {"2015-02-29 12:00", NULL},
	    {"2014-02-30T12:00", NULL},
	    {"2014-05-01X09:30", NULL},
	    {"2014-05-01t09:30", NULL},
	    {"2014-05-01  9:30", NULL},
	    {"2014-05-01 9:30", NULL},
	    {"2014-05-01 09.30", NULL},
	    {"2014-05-01 09:3a", NULL},
	    {"2014-05-01 -9:30", NULL},
	    {"2014-05-01 09:30:00", NULL},
	    {"2014-05-01 09:30Z", NULL},
	    {"2014-05-01", NULL},
	    {"2014/05/01 09:30", NULL},
	    {"", NULL},
	    {NULL, NULL},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		char out[17] = "untouched";
		int r = datetime_parse(cases[i].s, out);

		if (cases[i].out) {
			T_ASSERT(r == 0);
			T_STREQ(out, cases[i].out);
		} else {
			if (r != -EINVAL)
				printf("  accepted '%s'\n", cases[i].s);
			T_ASSERT(r == -EINVAL);
			T_STREQ(out, "untouched");
		}
	}
}

static void test_date_add_months(void)
{
	static const struct {
		int y, m, d, months, want_y, want_m, want_d;
	} cases[] = {
	    {2014, 5, 1, 6, 2014, 11, 1},
	    {2014, 8, 31, 6, 2015, 2, 28},  /* clamped to February */
	    {2015, 8, 31, 6, 2016, 2, 29},  /* a leap year */
	    {2014, 12, 15, 1, 2015, 1, 15}, /* over the year end */
	    {2014, 1, 31, 1, 2014, 2, 28},
	    {2014, 3, 31, 1, 2014, 4, 30},
	    {2014, 7, 31, 1, 2014, 8, 31},
	    {2016, 2, 29, 12, 2017, 2, 28},
	    {2014, 6, 30, 18, 2015, 12, 30},
	    {2014, 5, 1, 0, 2014, 5, 1},
	    {2015, 1, 15, -1, 2014, 12, 15},
	    {2014, 11, 1, -6, 2014, 5, 1},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		int y = cases[i].y, m = cases[i].m, d = cases[i].d;

		date_add_months(&y, &m, &d, cases[i].months);
		if (y != cases[i].want_y || m != cases[i].want_m ||
		    d != cases[i].want_d)
			printf("  %04d-%02d-%02d %+d months: got "
			       "%04d-%02d-%02d\n",
			       cases[i].y, cases[i].m, cases[i].d,
			       cases[i].months, y, m, d);
		T_ASSERT(y == cases[i].want_y && m == cases[i].want_m &&
			 d == cases[i].want_d);
	}
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_date_cmp(void)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
	    {"2014-05-01", "2014-05-01", 0},
	    {"2014-05-01", "2014-05-02", -1},
	    {"2014-05-02", "2014-05-01", 1},
	    {"2014-12-31", "2015-01-01", -1},
	    {"2015-01-01", "2014-12-31", 1},
	    {"2014-02-01", "2014-10-01", -1},
	    /* only the date part counts */
	    {"2014-05-01T23:59", "2014-05-01T00:00", 0},
	    {"2014-05-01T09:30", "2014-05-01", 0},
	    {"2014-05-01", "2014-05-01T09:30:00Z", 0},
	    {"2014-04-30T23:59", "2014-05-01T00:00", -1},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		int got = sign(date_cmp(cases[i].a, cases[i].b));

		if (got != cases[i].want)
			printf("  %s vs %s: %d\n", cases[i].a, cases[i].b, got);
		T_ASSERT(got == cases[i].want);
	}
}

/* ---- e-mail and text --------------------------------------------------- */

static void test_email_valid(void)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
	    {"anna@example.dk", true},
	    {"anna.b+kip@mail.example.dk", true},
	    {"a@b.c", true},
	    {"ANNA_B-1@EXAMPLE.DK", true},
	    {"anna.example.dk", false},	   /* no @ */
	    {"anna@bo@example.dk", false}, /* two @ */
	    {"anna@@example.dk", false},
	    {"anna@localhost", false},	 /* no dot in domain */
	    {"anna@.example.dk", false}, /* leading dot */
	    {"anna@example.dk.", false}, /* trailing dot */
	    {"anna@", false},
	    {"@example.dk", false},	 /* empty local part */
	    {"an na@example.dk", false}, /* space */
	    {" anna@example.dk", false},
	    {"anna@example.dk ", false},
	    /* CR or LF would let an address inject mail headers */
	    {"anna@example.dk\r", false},
	    {"anna@example.dk\n", false},
	    {"anna@example.dk\r\nBcc: x@example.dk", false},
	    {"anna@exa\tmple.dk", false},
	    {"anna@example.dk\x7f", false},
	    {"ånna@example.dk", false}, /* not ASCII */
	    {"<anna@example.dk>", false},
	    {"anna@example.dk,bo@example.dk", false},
	    {"anna;bo@example.dk", false},
	    {"\"anna\"@example.dk", false},
	    {"a@", false},
	    {"", false},
	    {NULL, false},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		bool ok = email_valid(cases[i].s);

		if (ok != cases[i].ok)
			printf("  case %zu: %d\n", i, ok);
		T_ASSERT(ok == cases[i].ok);
	}
}

static void test_email_length(void)
{
	char s[300];

	/* 254 bytes: "x...x@example.dk" with a 243-byte local part */
	memset(s, 'x', 243);
	memcpy(s + 243, "@example.dk", 12);
	T_ASSERT(strlen(s) == 254);
	T_ASSERT(email_valid(s));
	memset(s, 'x', 244);
	memcpy(s + 244, "@example.dk", 12);
	T_ASSERT(strlen(s) == 255);
	T_ASSERT(!email_valid(s));
}

static void test_text_valid(void)
{
	static const struct {
		const char *s;
		size_t maxlen;
		bool multiline, ok;
	} cases[] = {
	    {"Anna Hansen", 100, false, true},
	    {"Ærøskøbing – åbent", 100, false, true}, /* UTF-8 */
	    {"", 100, false, true},
	    {"", 0, false, true},
	    /* newline and tab only when multiline */
	    {"a\nb", 100, true, true},
	    {"a\nb", 100, false, false},
	    {"a\tb", 100, true, true},
	    {"a\tb", 100, false, false},
	    {"a\rb", 100, true, false}, /* other controls never */
	    {"a\r\nb", 100, true, false},
	    {"a\x01"
	     "b",
	     100, true, false},
	    {"a\x1b[31mb", 100, true, false},
	    {"a\x1f", 100, false, false},
	    {"a\x7f", 100, true, false},
	    {"abc", 3, false, true}, /* maxlen is inclusive */
	    {"abc", 2, false, false},
	    {"a", 0, false, false},
	    {"a\nb", 3, true, true},
	    {"a\nb", 2, true, false},
	    {"æ", 2, false, true}, /* bytes, not characters */
	    {"æ", 1, false, false},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		bool ok =
		    text_valid(cases[i].s, cases[i].maxlen, cases[i].multiline);

		if (ok != cases[i].ok)
			printf("  case %zu: %d\n", i, ok);
		T_ASSERT(ok == cases[i].ok);
	}
}

/* What may not stand in text that kipd logs: an address, a CPR number;
 * dates, phone numbers, ids and references may. */
static void test_text_has_email_or_cpr(void)
{
	static const struct {
		const char *s;
		bool found;
	} cases[] = {
	    {"", false},
	    {"wrong address, corrected in contact 12", false},
	    {"sent by post instead (2026-11-01)", false},
	    {"phone +45 20 30 40 50 first", false},
	    {"journal 4711, message 123456", false}, /* six digits alone */
	    {"case 12345678901", false},	     /* eleven digits */
	    {"ref 1234567-8901", false}, /* seven before the separator */
	    {"ref 123456-78901", false}, /* five after it */
	    {"a.b@example.dk", true},
	    {"@", true},
	    {"the old one, x@y", true},
	    {"110451-5101", true},
	    {"cpr 110451 5101 was wrong", true},
	    {"(1104515101)", true},
	    {"x110451-5101y", true},
	    {"110451-", false},
	    {"110451", false},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		bool found = text_has_email_or_cpr(cases[i].s);

		if (found != cases[i].found)
			printf("  case %zu (\"%s\"): %d\n", i, cases[i].s,
			       found);
		T_ASSERT(found == cases[i].found);
	}
}

T_MAIN(T_CASE(test_cpr_valid), T_CASE(test_cpr_century_rule),
       T_CASE(test_cpr_invalid), T_CASE(test_date_valid),
       T_CASE(test_date_parse), T_CASE(test_datetime_parse),
       T_CASE(test_date_add_months), T_CASE(test_date_cmp),
       T_CASE(test_email_valid), T_CASE(test_email_length),
       T_CASE(test_text_valid), T_CASE(test_text_has_email_or_cpr))
