/* ical.h — iMIP (RFC 6047) invitations and cancellations (RFC 5545).
 *
 * What kip puts in a calendar object is neutral: no citizen's name, no
 * health data. The personal details of a meeting travel in a separate,
 * encrypted message.
 */
#ifndef KIP_ICAL_H
#define KIP_ICAL_H

#include <stddef.h>
#include <time.h>

struct buf;

enum ical_method {
	ICAL_REQUEST,
	ICAL_CANCEL,
};

struct ical_event {
	enum ical_method method;
	const char *uid;	 /* stable per meeting */
	int sequence;		 /* bumped on every move or cancel */
	time_t dtstamp;		 /* when this object was made (UTC) */
	const char *start_local; /* "YYYY-MM-DDTHH:MM", local (tzone.h) */
	int duration_min;
	const char *summary;	    /* neutral */
	const char *location;	    /* may be NULL */
	const char *description;    /* neutral; may be NULL */
	const char *url;	    /* video link; may be NULL */
	const char *organizer_name; /* the function mailbox's display name */
	const char *organizer_email;
	const char *const *attendees; /* e-mail addresses */
	size_t n_attendees;
};

/*
 * Appends a VCALENDAR (PRODID, VERSION:2.0, METHOD:REQUEST or CANCEL) with
 * a VTIMEZONE for kipd's time zone (tzone_use(): TZID is its name, the
 * rules those the C library has for the years around the start, see
 * w_vtimezone()) and one VEVENT:
 * UID, SEQUENCE, DTSTAMP (UTC), DTSTART/DTEND with TZID, SUMMARY, LOCATION,
 * DESCRIPTION, URL, ORGANIZER;CN=...:mailto:..., one
 * ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:...
 * per attendee, STATUS:CONFIRMED or CANCELLED. TEXT values escaped
 * (backslash, ';', ',', newline), lines CRLF and folded at 75 octets
 * without splitting a UTF-8 sequence. Returns 0, -EINVAL for a bad start
 * ("YYYY-MM-DDTHH:MM", a real date, 1970-9999), a duration outside
 * 1..1440, a negative sequence, no attendee, a NULL summary, a NULL or
 * empty uid or organizer_email, a space or CR/LF/control character in an
 * address, uid or url, a '"' or control character in organizer_name
 * (may be NULL: no CN), or a TEXT value that is not UTF-8 or holds a
 * control character other than TAB/LF/CR, or when tzone_use() was not
 * called; or -ENOMEM. On failure out is left as it was.
 */
int ical_build(const struct ical_event *ev, struct buf *out);

/*
 * The MIME entity of an iMIP message: multipart/alternative with a short
 * text/plain (TEXT, UTF-8) and the calendar object as
 * text/calendar; charset=utf-8; method=REQUEST|CANCEL, both base64, CRLF.
 * This is what gets signed. Appends to out. The boundary is random (128
 * bits from getrandom()). Returns 0, ical_build()'s errors, -EINVAL for a
 * TEXT that is NULL, not UTF-8 or holds a control character other than
 * TAB/LF/CR, or getrandom()'s -errno; on failure out is left as it was.
 */
int ical_imip_entity(const struct ical_event *ev, const char *text,
		     struct buf *out);

#endif
