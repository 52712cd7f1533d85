/* tzone.h — the time zone of kip's local times.
 *
 * Meeting times ("YYYY-MM-DDTHH:MM"), dates, reminders and the six-month
 * deadline are local times in one zone, the configuration's timezone
 * (default Europe/Copenhagen), whatever TZ kipd was started with. kipd
 * makes that zone its process's zone at start, before any thread runs
 * (tzone_use()), so that localtime_r() and mktime() are right everywhere.
 * setenv() may not run beside other threads, so the zone stays until a
 * restart: a reload that names another one keeps the running zone and
 * says so. Invitations carry the zone's rules as read back from the C
 * library (tzone_observances(), written out by ical.c).
 */
#ifndef KIP_TZONE_H
#define KIP_TZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Where zone names are looked up. */
#define TZONE_DIR "/usr/share/zoneinfo"

/* NULL when NAME names a zone: a compiled zone file (TZif) under
 * TZONE_DIR, such as "Europe/Copenhagen" or "UTC". Otherwise what is
 * wrong, for "timezone: 'NAME' ..." (a relative name without "..", not a
 * file of the database, not a zone file). */
const char *tzone_check(const char *name);

/*
 * Makes NAME (checked with tzone_check()) the process's time zone: sets
 * TZ and calls tzset(). Only while no other thread runs. Returns 0, or
 * -EINVAL (NAME is no zone) / -errno with a message in err.
 */
int tzone_use(const char *name, char *err, size_t errlen);

/* The zone tzone_use() set, or NULL if it was not called. */
const char *tzone_name(void);

/* A change of the local time's rules: from AT on, local time is UTC +
 * TO seconds (it was UTC + FROM), DST tells whether that is daylight
 * saving time, ABBR is its abbreviation ("CEST", "JST"). */
struct tzone_shift {
	time_t at;
	int from, to;
	bool dst;
	char abbr[16];
};

/* Room for the shifts of a few years, in any zone of the database. */
#define TZONE_SHIFTS_MAX 32

/*
 * The shifts that define local time in the process's zone from FROM up to
 * TO (at most a few years): the last shift at or before FROM (looked for
 * up to a year back; failing that, the rules in force at FROM, as a shift
 * at FROM to themselves), then every shift up to TO. Found by probing
 * localtime_r() a day apart and bisecting to the second, so two shifts
 * within a day that cancel out are not seen. The last answer is kept
 * (until tzone_use()); any thread may ask. Returns how many (>= 1), or
 * -E2BIG when there are more than MAX or TZONE_SHIFTS_MAX.
 */
int tzone_observances(time_t from, time_t to, struct tzone_shift *ret,
		      size_t max);

#endif
