/* clock.h — the wall-clock time the scheduler works with.
 *
 * In production this is time(NULL). For tests only, kipd --test-clock FILE
 * shifts it: FILE holds an offset in seconds (e.g. "1728000" for 20 days)
 * that is read again at every call, so a test moves kipd's calendar forward
 * by rewriting the file and then asking for a pass (kipctl scheduler run).
 * Only the scheduler (reminders, the six-month rule) reads this clock; the
 * rest of kipd, SQLite, TLS and certificate checks keep the real time.
 */
#ifndef KIP_CLOCK_H
#define KIP_CLOCK_H

#include <time.h>

/* Uses the offset in PATH from now on (NULL: the real time). 0, or -errno
 * when PATH cannot be read or holds no integer. */
int clock_use_test_file(const char *path);

/* The current time, shifted by the test offset if one is in use. A test
 * file that became unreadable counts as offset 0 (and is logged). */
time_t clock_now(void);

/* Local "YYYY-MM-DDTHH:MM" (a meeting start) as a time; -1 if malformed.
 * DAYS_BEFORE days earlier at the same local time of day. */
time_t clock_local_to_time(const char *local, int days_before);

#endif
