/* validate.c — see validate.h. */
#include "validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

bool date_valid(int y, int m, int d)
{
	return y >= 1800 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 &&
	       d <= days_in_month(y, m);
}

/* Writes "YYYY-MM-DD" for a date already checked by date_valid(). */
static void format_date(char out[11], int y, int m, int d)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y, m, d);
	memcpy(out, tmp, 10);
	out[10] = '\0';
}

static int cpr_century(int yy, int first_serial_digit)
{
	switch (first_serial_digit) {
	case 0:
	case 1:
	case 2:
	case 3:
		return 1900;
	case 4:
	case 9:
		return yy <= 36 ? 2000 : 1900;
	default: /* 5..8 */
		return yy <= 57 ? 2000 : 1800;
	}
}

int cpr_check(const char *cpr, char ret_birth[11], char *err, size_t errlen)
{
	int d, m, y;

	if (!cpr || strlen(cpr) != 11 || cpr[6] != '-' || !digits(cpr, 6) ||
	    !digits(cpr + 7, 4)) {
		snprintf(err, errlen, "CPR number must be DDMMYY-SSSS");
		return -EINVAL;
	}
	d = num(cpr, 2);
	m = num(cpr + 2, 2);
	y = num(cpr + 4, 2);
	y += cpr_century(y, cpr[7] - '0');
	if (!date_valid(y, m, d)) {
		snprintf(err, errlen,
			 "CPR number: %.6s is not a real date (day %d, "
			 "month %d, year %d)",
			 cpr, d, m, y);
		return -EINVAL;
	}
	if (ret_birth)
		format_date(ret_birth, y, m, d);
	return 0;
}

int date_parse(const char *s, int *y, int *m, int *d)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    !digits(s, 4) || !digits(s + 5, 2) || !digits(s + 8, 2))
		return -EINVAL;
	*y = num(s, 4);
	*m = num(s + 5, 2);
	*d = num(s + 8, 2);
	return date_valid(*y, *m, *d) ? 0 : -EINVAL;
}

int datetime_parse(const char *s, char out[17])
{
	char date[11];
	int y, m, d, hh, mm;

	if (!s || strlen(s) != 16 || (s[10] != ' ' && s[10] != 'T') ||
	    s[13] != ':' || !digits(s + 11, 2) || !digits(s + 14, 2))
		return -EINVAL;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (date_parse(date, &y, &m, &d) < 0)
		return -EINVAL;
	hh = num(s + 11, 2);
	mm = num(s + 14, 2);
	if (hh > 23 || mm > 59)
		return -EINVAL;
	format_date(out, y, m, d);
	out[10] = 'T';
	memcpy(out + 11, s + 11, 5);
	out[16] = '\0';
	return 0;
}

void date_add_months(int *y, int *m, int *d, int months)
{
	int total = *y * 12 + (*m - 1) + months, dim;

	*y = total / 12;
	*m = total % 12 + 1;
	dim = days_in_month(*y, *m);
	if (*d > dim)
		*d = dim;
}

int date_cmp(const char *a, const char *b)
{
	return strncmp(a, b, 10);
}

bool email_valid(const char *s)
{
	const char *at;
	size_t len;

	if (!s || (len = strlen(s)) < 3 || len > 254)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("<>()[]\\,;:\"", *p))
			return false;
	at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@'))
		return false;
	return at[1] && strchr(at + 1, '.') && at[strlen(at) - 1] != '.' &&
	       at[1] != '.';
}

bool text_valid(const char *s, size_t maxlen, bool multiline)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
		if (n >= maxlen)
			return false;
		if (*p < 0x20 || *p == 0x7f) {
			if (!multiline || (*p != '\n' && *p != '\t'))
				return false;
		}
	}
	return true;
}

/* The number of digits at S (at most MAX). */
static size_t digits_at(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && isdigit((unsigned char)s[n]))
		n++;
	return n;
}

bool text_has_email_or_cpr(const char *s)
{
	if (strchr(s, '@'))
		return true;
	/* Each run of digits, from its first: ten alone, or six, a
	 * separator and four. */
	for (const char *p = s; *p; p++) {
		size_t n;

		if (!isdigit((unsigned char)*p) ||
		    (p > s && isdigit((unsigned char)p[-1])))
			continue;
		n = digits_at(p, 11);
		if (n == 10 || (n == 6 && (p[6] == '-' || p[6] == ' ') &&
				digits_at(p + 7, 5) == 4))
			return true;
	}
	return false;
}
