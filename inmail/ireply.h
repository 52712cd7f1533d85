/* ireply.h — iMIP replies (RFC 5546 3.2.3, RFC 6047) read with libical.
 *
 * An attendee answers an invitation from daemon/ical.c with a VCALENDAR
 * of METHOD:REPLY naming the meeting (UID, SEQUENCE) and themselves with
 * their participation status. ireply_parse() reads such an object into a
 * small struct; matching it to a meeting and a member, and deciding
 * whether the sender may speak for the attendee, is the caller's part.
 *
 * The input comes from outside (a mail part that passed the S/MIME
 * checks): it is treated as hostile. Reasons in err name no personal
 * data (never an address, UID or text from the object), so they may be
 * logged.
 */
#ifndef KIP_IREPLY_H
#define KIP_IREPLY_H

#include <stddef.h>

/* The largest calendar object ireply_parse() reads; replies are a few
 * kilobytes, with a VTIMEZONE perhaps ten. */
#define IREPLY_MAX_BYTES (256 * 1024)

enum ireply_partstat {
	IREPLY_ACCEPTED,
	IREPLY_DECLINED,
	IREPLY_TENTATIVE,
};

struct ireply {
	char uid[256];
	int sequence; /* 0 when absent */
	char
	    attendee[256]; /* mailto: address, lower-cased, without "mailto:" */
	enum ireply_partstat partstat;
};

/*
 * Parses a VCALENDAR with METHOD:REPLY and exactly one VEVENT with one
 * UID and exactly one ATTENDEE whose PARTSTAT is ACCEPTED, DECLINED or
 * TENTATIVE. Lines may end in CRLF or LF and be folded; X- properties,
 * a VTIMEZONE and other properties are ignored. Returns 0 and fills *out,
 * or -EINVAL with one of these reasons in err (out untouched):
 *   "not iCalendar"          empty, over IREPLY_MAX_BYTES, a NUL byte,
 *                            no complete VCALENDAR, a line outside it,
 *                            an END that does not close the innermost
 *                            BEGIN, or nesting deeper than 8
 *   "two VCALENDARs"
 *   "not METHOD:REPLY"       no METHOD, two, or another method
 *   "no VEVENT" / "two VEVENTs"
 *   "no UID" (none or empty) / "two UIDs"
 *   "bad UID"                a control character, or 256 bytes or more
 *   "bad SEQUENCE"           two SEQUENCEs or a negative one
 *   "no ATTENDEE" / "two ATTENDEEs"
 *   "ATTENDEE not mailto:"   the value is not a mailto: URI
 *   "bad ATTENDEE address"   empty, no '@', a space or control character,
 *                            or 256 bytes or more
 *   "no PARTSTAT" / "unknown PARTSTAT" (NEEDS-ACTION, DELEGATED, X-...,
 *                            or two PARTSTATs)
 * or -ENOMEM ("out of memory").
 * libical reads a SEQUENCE that is not a number as 0.
 * Safe to call from several threads at once (libical keeps no shared
 * state for parsing; its error number is thread-local).
 */
int ireply_parse(const char *ics, size_t len, struct ireply *out, char *err,
		 size_t errlen);

/* "ACCEPTED", "DECLINED" or "TENTATIVE". */
const char *ireply_partstat_name(enum ireply_partstat p);

#endif
