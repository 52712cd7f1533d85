/* validate.h — pure checks of values that come from outside: CPR numbers,
 * dates, times, e-mail addresses and free text. No I/O, no state. */
#ifndef KIP_VALIDATE_H
#define KIP_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A CPR number "DDMMYY-SSSS" whose date is a real calendar date, the
 * century taken from the first digit of SSSS as the CPR register does
 * (0-3: 1900s; 4 and 9: 2000s if YY <= 36, else 1900s; 5-8: 2000s if
 * YY <= 57, else 1800s). On success writes "YYYY-MM-DD" (the date of
 * birth) to ret_birth if not NULL. Returns 0 or -EINVAL with a reason
 * in err.
 */
int cpr_check(const char *cpr, char ret_birth[11], char *err, size_t errlen);

/* Whether y-m-d is a real calendar date (Gregorian, 1800..9999). */
bool date_valid(int y, int m, int d);

/* Parses "YYYY-MM-DD" strictly. Returns 0 or -EINVAL. */
int date_parse(const char *s, int *y, int *m, int *d);

/* Parses "YYYY-MM-DD HH:MM" or "YYYY-MM-DDTHH:MM" strictly into the
 * canonical "YYYY-MM-DDTHH:MM". Returns 0 or -EINVAL. */
int datetime_parse(const char *s, char out[17]);

/* Adds months to a date, clamping the day to the month's end
 * (31 Aug + 6 months = 28/29 Feb). */
void date_add_months(int *y, int *m, int *d, int months);

/* Compares two "YYYY-MM-DD..." strings by their date part: <0, 0, >0. */
int date_cmp(const char *a, const char *b);

/* A plausible e-mail address: one '@', non-empty local part and a domain
 * with a dot, printable ASCII without spaces, at most 254 bytes. */
bool email_valid(const char *s);

/* Free text from a request: valid UTF-8 (jansson guarantees it), no
 * control characters except, when multiline, '\n' and '\t'; at most
 * maxlen bytes. */
bool text_valid(const char *s, size_t maxlen, bool multiline);

/* Whether free text S holds an e-mail address (any '@') or what reads as
 * a CPR number (six digits, an optional '-' or ' ', four digits, with no
 * digit right before or after): for text kipd keeps where ids alone
 * belong, such as an administrator's reason for cancelling a message,
 * which kipd's log shows too. Names it cannot tell. */
bool text_has_email_or_cpr(const char *s);

/* The longest deviation report text accepted, in bytes, by every channel
 * (kipctl, signed mail, MQTT). */
#define DEVIATION_TEXT_MAX 20000

#endif
