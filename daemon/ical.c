/* ical.c — iMIP invitations and cancellations; see ical.h.
 *
 * The object is written line by line: each content line is assembled
 * unfolded in a scratch buffer, then folded into the output (75 octets at
 * most, never inside a UTF-8 sequence) and closed with CRLF. Every input is
 * checked before anything is written, and the result is appended to the
 * caller's buffer only when it is complete, so a failure leaves it as it
 * was.
 */
#include "ical.h"

#include "mime.h"
#include "tzone.h"

#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ICAL_FOLD 75	  /* octets per line, CRLF excluded (RFC 5545 3.1) */
#define ICAL_MAX_MIN 1440 /* the longest meeting: one day */

/* ---- input checks ------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 if there is
 * none: overlong forms, surrogates and code points past U+10FFFF are
 * refused, so that folding can rely on the lead bytes it sees. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Checks that s is UTF-8 without control characters. ALLOW_NL admits
 * HTAB, LF and CR (TEXT values: LF becomes "\n", CR is dropped);
 * ALLOW_SPACE admits the space. Returns 0 or -EINVAL. */
static int check_chars(const char *s, bool allow_nl, bool allow_space)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);

		if (n == 0)
			return -EINVAL;
		if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			if (!allow_nl ||
			    (*p != '\t' && *p != '\n' && *p != '\r'))
				return -EINVAL;
		}
		if (*p == ' ' && !allow_space)
			return -EINVAL;
		p += n;
	}
	return 0;
}

/* An address or URI: non-empty, no space, no control character. */
static int check_addr(const char *s)
{
	if (!s || !*s)
		return -EINVAL;
	return check_chars(s, false, false);
}

static int check_text(const char *s)
{
	if (!s)
		return -EINVAL;
	return check_chars(s, true, true);
}

/* ---- dates ------------------------------------------------------------- */

struct ical_tm {
	int year, mon, day, hour, min;
};

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads N digits at s into *ret; false if any is not a digit. */
static bool digits(const char *s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* Parses exactly "YYYY-MM-DDTHH:MM" naming a real date and time, years
 * 1970-9999. Returns 0 or -EINVAL. */
static int parse_local(const char *s, struct ical_tm *ret)
{
	struct ical_tm t;

	if (!s || strlen(s) != 16 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':')
		return -EINVAL;
	if (!digits(s, 4, &t.year) || !digits(s + 5, 2, &t.mon) ||
	    !digits(s + 8, 2, &t.day) || !digits(s + 11, 2, &t.hour) ||
	    !digits(s + 14, 2, &t.min))
		return -EINVAL;
	if (t.year < 1970 || t.mon < 1 || t.mon > 12 || t.day < 1 ||
	    t.day > days_in_month(t.year, t.mon) || t.hour > 23 || t.min > 59)
		return -EINVAL;
	*ret = t;
	return 0;
}

/* Wall-clock addition: the end of a meeting is its start plus MINUTES on
 * the calendar, carrying into the next day, month and year. Both ends are
 * local times with the same TZID, so the reader applies the offset. */
static void add_minutes(struct ical_tm *t, int minutes)
{
	int total = t->hour * 60 + t->min + minutes;
	int days = total / 1440;

	total %= 1440;
	t->hour = total / 60;
	t->min = total % 60;
	while (days-- > 0) {
		if (++t->day <= days_in_month(t->year, t->mon))
			continue;
		t->day = 1;
		if (++t->mon <= 12)
			continue;
		t->mon = 1;
		t->year++;
	}
}

/* ---- the content-line writer ------------------------------------------- */

/* The object is some thirty lines in a fixed order, so the writer keeps
 * the first error and ignores everything after it; the emitter reads as
 * the list of lines it writes and checks once at the end, like a stream. */
struct writer {
	struct buf line; /* the current content line, unfolded */
	struct buf *out;
	int err;
};

/* Appends LINE to OUT folded: at most 75 octets per line, each further
 * line starting with one space (so 74 octets of content), cut only before
 * the lead byte of a UTF-8 sequence. Returns 0 or -ENOMEM. */
static int fold_line(struct buf *out, const char *line, size_t len)
{
	size_t room = ICAL_FOLD;
	int r;

	while (len > 0) {
		size_t n = len;

		if (n > room) {
			n = room;
			/* back up to a lead byte; the input is valid UTF-8,
			 * so at most three steps */
			while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
				n--;
			if (n == 0) /* not UTF-8 after all: cut anyway */
				n = room;
		}
		r = buf_append(out, line, n);
		if (r == 0)
			r = buf_puts(out, len > n ? "\r\n " : "\r\n");
		if (r < 0)
			return r;
		line += n;
		len -= n;
		room = ICAL_FOLD - 1;
	}
	return 0;
}

static void w_raw(struct writer *w, const char *s)
{
	if (w->err == 0)
		w->err = buf_puts(&w->line, s);
}

static void w_printf(struct writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void w_printf(struct writer *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err)
		return;
	va_start(ap, fmt);
	w->err = buf_vprintf(&w->line, fmt, ap);
	va_end(ap);
}

/* Appends S escaped as a TEXT value (RFC 5545 3.3.11). */
static void w_text(struct writer *w, const char *s)
{
	for (; *s && w->err == 0; s++) {
		switch (*s) {
		case '\\':
			w_raw(w, "\\\\");
			break;
		case ';':
			w_raw(w, "\\;");
			break;
		case ',':
			w_raw(w, "\\,");
			break;
		case '\n':
			w_raw(w, "\\n");
			break;
		case '\r':
			break;
		default:
			w->err = buf_append(&w->line, s, 1);
			break;
		}
	}
}

/* Ends the current content line: folds it into the output. */
static void w_end(struct writer *w)
{
	if (w->err == 0)
		w->err = fold_line(w->out, w->line.data ? w->line.data : "",
				   w->line.len);
	w->line.len = 0;
}

/* Appends S as is and ends the line; alone, a line with no variable part.
 * w_prop_text() writes NAME:TEXT with the value escaped. */
static void w_line(struct writer *w, const char *s)
{
	w_raw(w, s);
	w_end(w);
}

static void w_prop_text(struct writer *w, const char *name, const char *v)
{
	w_raw(w, name);
	w_raw(w, ":");
	w_text(w, v);
	w_end(w);
}

/* ---- the calendar object ----------------------------------------------- */

/* The addresses and TEXT values of EV: 0 or -EINVAL. */
static int check_strings(const struct ical_event *ev)
{
	if (check_addr(ev->uid) < 0 || check_addr(ev->organizer_email) < 0 ||
	    (ev->url && check_addr(ev->url) < 0))
		return -EINVAL;
	/* The CN is a quoted parameter value: no DQUOTE, no control. */
	if (ev->organizer_name &&
	    (check_chars(ev->organizer_name, false, true) < 0 ||
	     strchr(ev->organizer_name, '"')))
		return -EINVAL;
	if (check_text(ev->summary) < 0 ||
	    (ev->location && check_text(ev->location) < 0) ||
	    (ev->description && check_text(ev->description) < 0))
		return -EINVAL;
	/* iTIP: a REQUEST or CANCEL names at least one attendee. */
	if (ev->n_attendees == 0 || !ev->attendees)
		return -EINVAL;
	for (size_t i = 0; i < ev->n_attendees; i++)
		if (check_addr(ev->attendees[i]) < 0)
			return -EINVAL;
	return 0;
}

/* Checks all of EV; on success sets *RET_START and *RET_STAMP (the start
 * and DTSTAMP broken down), on failure leaves them untouched. */
static int check_event(const struct ical_event *ev, struct ical_tm *ret_start,
		       struct tm *ret_stamp)
{
	struct ical_tm start, end;
	struct tm stamp;
	int r;

	if (!ev || (ev->method != ICAL_REQUEST && ev->method != ICAL_CANCEL))
		return -EINVAL;
	r = parse_local(ev->start_local, &start);
	if (r < 0)
		return r;
	if (ev->duration_min < 1 || ev->duration_min > ICAL_MAX_MIN ||
	    ev->sequence < 0)
		return -EINVAL;
	end = start;
	add_minutes(&end, ev->duration_min);
	if (end.year > 9999) /* DTEND must keep a four-digit year */
		return -EINVAL;
	if (!gmtime_r(&ev->dtstamp, &stamp) || stamp.tm_year + 1900 < 1970 ||
	    stamp.tm_year + 1900 > 9999)
		return -EINVAL;
	r = check_strings(ev);
	if (r < 0)
		return r;
	*ret_start = start;
	*ret_stamp = stamp;
	return 0;
}

/* 00:00 UTC on 1 January of YEAR. */
static time_t year_start(int year)
{
	struct tm tm = {.tm_year = year - 1900, .tm_mday = 1};

	return timegm(&tm);
}

/* NAME:YYYYMMDDTHHMMSS, the local time at T in a zone at UTC + OFFSET. */
static void w_onset(struct writer *w, const char *name, time_t t, int offset)
{
	time_t local = t + offset;
	struct tm tm;

	if (!gmtime_r(&local, &tm)) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	w_printf(w, "%s:%04d%02d%02dT%02d%02d%02d", name, tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	w_end(w);
}

/* NAME:+HHMM, or +HHMMSS for an offset with seconds (RFC 5545 3.3.14). */
static void w_offset(struct writer *w, const char *name, int offset)
{
	int a = offset < 0 ? -offset : offset;

	w_printf(w, "%s:%c%02d%02d", name, offset < 0 ? '-' : '+', a / 3600,
		 a / 60 % 60);
	if (a % 60)
		w_printf(w, "%02d", a % 60);
	w_end(w);
}

static bool same_observance(const struct tzone_shift *a,
			    const struct tzone_shift *b)
{
	return a->dst == b->dst && a->from == b->from && a->to == b->to &&
	       strcmp(a->abbr, b->abbr) == 0;
}

/* The VTIMEZONE of TZID, the process's zone (tzone.h), as the C library
 * has it from the year before START's to the year after: one STANDARD or
 * DAYLIGHT per kind of shift (the same offsets, DST and abbreviation),
 * its first shift as DTSTART and the others as RDATEs, each the local
 * time before the shift. A zone without shifts then (Asia/Tokyo) has one
 * STANDARD from the first of those years, its offset to itself. */
static void w_vtimezone(struct writer *w, const char *tzid,
			const struct ical_tm *start)
{
	struct tzone_shift sh[TZONE_SHIFTS_MAX];
	bool done[TZONE_SHIFTS_MAX] = {false};
	int n = tzone_observances(year_start(start->year - 1),
				  year_start(start->year + 2), sh,
				  TZONE_SHIFTS_MAX);

	if (n < 0) {
		w->err = w->err ? w->err : n;
		return;
	}
	w_line(w, "BEGIN:VTIMEZONE");
	w_printf(w, "TZID:%s", tzid);
	w_end(w);
	for (int i = 0; i < n; i++) {
		const char *kind = sh[i].dst ? "DAYLIGHT" : "STANDARD";

		if (done[i])
			continue;
		w_printf(w, "BEGIN:%s", kind);
		w_end(w);
		w_onset(w, "DTSTART", sh[i].at, sh[i].from);
		for (int j = i + 1; j < n; j++) {
			if (done[j] || !same_observance(&sh[i], &sh[j]))
				continue;
			done[j] = true;
			w_onset(w, "RDATE", sh[j].at, sh[j].from);
		}
		w_offset(w, "TZOFFSETFROM", sh[i].from);
		w_offset(w, "TZOFFSETTO", sh[i].to);
		if (sh[i].abbr[0])
			w_prop_text(w, "TZNAME", sh[i].abbr);
		w_printf(w, "END:%s", kind);
		w_end(w);
	}
	w_line(w, "END:VTIMEZONE");
}

static void w_local(struct writer *w, const char *name, const char *tzid,
		    const struct ical_tm *t)
{
	w_printf(w, "%s;TZID=%s:%04d%02d%02dT%02d%02d00", name, tzid, t->year,
		 t->mon, t->day, t->hour, t->min);
	w_end(w);
}

static void w_vevent(struct writer *w, const struct ical_event *ev,
		     const char *tzid, const struct ical_tm *start,
		     const struct tm *stamp)
{
	bool cancel = ev->method == ICAL_CANCEL;
	struct ical_tm end = *start;

	add_minutes(&end, ev->duration_min);
	w_line(w, "BEGIN:VEVENT");
	w_prop_text(w, "UID", ev->uid);
	w_printf(w, "SEQUENCE:%d", ev->sequence);
	w_end(w);
	w_printf(w, "DTSTAMP:%04d%02d%02dT%02d%02d%02dZ", stamp->tm_year + 1900,
		 stamp->tm_mon + 1, stamp->tm_mday, stamp->tm_hour,
		 stamp->tm_min, stamp->tm_sec);
	w_end(w);
	w_local(w, "DTSTART", tzid, start);
	w_local(w, "DTEND", tzid, &end);
	w_prop_text(w, "SUMMARY", ev->summary);
	if (ev->location)
		w_prop_text(w, "LOCATION", ev->location);
	if (ev->description)
		w_prop_text(w, "DESCRIPTION", ev->description);
	if (ev->url) {
		/* a URI value: written as is, checked for controls above */
		w_raw(w, "URL:");
		w_line(w, ev->url);
	}
	w_raw(w, "ORGANIZER");
	if (ev->organizer_name && *ev->organizer_name)
		w_printf(w, ";CN=\"%s\"", ev->organizer_name);
	w_printf(w, ":mailto:%s", ev->organizer_email);
	w_end(w);
	for (size_t i = 0; i < ev->n_attendees; i++) {
		w_printf(w,
			 "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
			 "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:%s",
			 ev->attendees[i]);
		w_end(w);
	}
	w_line(w, cancel ? "STATUS:CANCELLED" : "STATUS:CONFIRMED");
	w_line(w, "TRANSP:OPAQUE");
	w_line(w, "END:VEVENT");
}

int ical_build(const struct ical_event *ev, struct buf *out)
{
	struct buf cal = BUF_INIT;
	struct writer w = {BUF_INIT, &cal, 0};
	const char *tzid = tzone_name();
	struct ical_tm start;
	struct tm stamp;
	int r;

	if (!tzid)
		return -EINVAL;
	r = check_event(ev, &start, &stamp);
	if (r < 0)
		return r;
	w_line(&w, "BEGIN:VCALENDAR");
	w_line(&w, "PRODID:-//kip//kip 1.0//DA");
	w_line(&w, "VERSION:2.0");
	w_line(&w, "CALSCALE:GREGORIAN");
	w_line(&w,
	       ev->method == ICAL_CANCEL ? "METHOD:CANCEL" : "METHOD:REQUEST");
	w_vtimezone(&w, tzid, &start);
	w_vevent(&w, ev, tzid, &start, &stamp);
	w_line(&w, "END:VCALENDAR");

	r = w.err;
	if (r == 0)
		r = buf_append(out, cal.data, cal.len);
	buf_free(&w.line);
	buf_free(&cal);
	return r;
}

/* ---- the iMIP entity --------------------------------------------------- */

/* TEXT in canonical form for text/plain (RFC 2046 4.1.1): every line
 * break, LF, CR or CRLF, becomes CRLF before the base64 encoding. */
static int crlf_text(const char *text, struct buf *ret)
{
	int r = 0;

	for (const char *p = text; *p && r == 0; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\r' || *p == '\n')
			r = buf_puts(ret, "\r\n");
		else
			r = buf_append(ret, p, 1);
	}
	return r;
}

int ical_imip_entity(const struct ical_event *ev, const char *text,
		     struct buf *out)
{
	struct buf cal = BUF_INIT, plain = BUF_INIT, ent = BUF_INIT;
	const char *method;
	char bnd[MIME_BOUNDARY_SIZE];
	int r;

	if (!text || check_chars(text, true, true) < 0)
		return -EINVAL;
	r = ical_build(ev, &cal);
	if (r == 0)
		r = crlf_text(text, &plain);
	if (r == 0)
		r = mime_boundary(bnd, NULL, 0);
	if (r < 0)
		goto out;
	method = ev->method == ICAL_CANCEL ? "CANCEL" : "REQUEST";

	r = buf_printf(
	    &ent,
	    "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
	    "\r\n"
	    "--%s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n",
	    bnd, bnd);
	if (r == 0)
		r = mime_base64(&ent, (const unsigned char *)plain.data,
				plain.len);
	if (r == 0)
		r = buf_printf(&ent,
			       "--%s\r\n"
			       "Content-Type: text/calendar; charset=utf-8; "
			       "method=%s\r\n"
			       "Content-Transfer-Encoding: base64\r\n"
			       "\r\n",
			       bnd, method);
	if (r == 0)
		r = mime_base64(&ent, (const unsigned char *)cal.data, cal.len);
	if (r == 0)
		r = buf_printf(&ent, "--%s--\r\n", bnd);
	if (r == 0)
		r = buf_append(out, ent.data, ent.len);
out:
	buf_free(&cal);
	buf_free(&plain);
	buf_free(&ent);
	return r;
}
