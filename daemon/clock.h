/* clock.h — "now" for the whole of kipd, and its local calendar.
 *
 * Every wall-clock "now" in kipd is clock_now(): the timestamps written to
 * the store and to events, the validity of certificates (when imported,
 * learned, checked at queueing, at the outbox's claim and before
 * encryption), the outbox's retry times, the scheduler, and the dates
 * commands compare with today ("meeting held", a consent's date, an
 * approval's default date, erasure, statistics, the weekly certificate
 * notice). In production it is time(NULL), nothing more.
 *
 * For tests only, kipd --test-clock FILE shifts it: FILE holds an offset in
 * seconds (e.g. "1728000" for 20 days). The offset is kept and read again
 * when the file changes (its inode, size, mtime or ctime), so a test moves
 * kipd's whole calendar by rewriting the file; kipctl scheduler run then
 * does what has fallen due. Every thread may call clock_now().
 *
 * The test clock cannot move: durations and timeouts (CLOCK_MONOTONIC:
 * the loop's timers, the watchdog, IMAP, SMTP and MQTT timeouts; an SMTP
 * worker's bounded wait, a CLOCK_REALTIME deadline that only measures a
 * wait), certificate checks inside OpenSSL and libcurl when they connect
 * over TLS (SMTP, IMAP, MQTT), the signing time OpenSSL puts in a
 * signature, the log's timestamps, and kip-inmail, the separate mail
 * reader, which checks the certificate of a signed mail at the real time.
 * SQLite is not asked for the time: kip's SQL never says 'now'.
 *
 * Local times and dates ("YYYY-MM-DDTHH:MM" of a meeting, "YYYY-MM-DD")
 * are in the configured time zone, which kipd makes its process's zone at
 * start (tzone.h): localtime_r() and mktime() read it.
 */
#ifndef KIP_CLOCK_H
#define KIP_CLOCK_H

#include <time.h>

/* Uses the offset in PATH from now on (NULL: the real time). 0, or -errno
 * when PATH cannot be read or holds no integer. Call it before any thread
 * starts. */
int clock_use_test_file(const char *path);

/* The current time, shifted by the test offset if one is in use. A test
 * file that cannot be read or holds no integer keeps the offset last read
 * (0 if none); that is logged once, when it starts. */
time_t clock_now(void);

/* T as local "YYYY-MM-DDTHH:MM" (a meeting start's form). */
void clock_local(time_t t, char out[17]);

/* Today's local date, "YYYY-MM-DD", by clock_now(). */
void clock_today(char out[11]);

/* Local "YYYY-MM-DDTHH:MM" (a meeting start) as a time; -1 if malformed.
 * DAYS_BEFORE days earlier at the same local time of day. */
time_t clock_local_to_time(const char *local, int days_before);

#endif
