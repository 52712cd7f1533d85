/* test_ical.c — the iMIP calendar objects of ical.h, read back.
 *
 * Every object is checked line by line (CRLF only, at most 75 octets, each
 * physical line valid UTF-8 on its own, so no fold splits a character),
 * then unfolded and parsed into properties whose values are compared with
 * what went in. When python3-icalendar is installed the object is also
 * parsed by it; where it is missing that check prints SKIP.
 */
#include "buf.h"
#include "clock.h"
#include "ical.h"
#include "t.h"
#include "tzone.h"

#include <errno.h>
#include <libical/ical.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const two_attendees[] = {
    "anna@kommune.example",
    "bo@region.example",
};

/* Makes NAME the process's time zone, as kipd does at start. */
static void zone(const char *name)
{
	char err[200] = "";

	if (tzone_use(name, err, sizeof(err)) < 0)
		printf("  %s\n", err);
	T_STREQ(tzone_name(), name);
}

/* A REQUEST with every field set, in Europe/Copenhagen; tests change what
 * they look at. */
static struct ical_event base_event(void)
{
	struct ical_event ev = {
	    .method = ICAL_REQUEST,
	    .uid = "kip-meeting-42@kip.example",
	    .sequence = 2,
	    .dtstamp = 1718800245, /* 2024-06-19 12:30:45 UTC */
	    .start_local = "2024-06-20T10:00",
	    .duration_min = 90,
	    .summary = "Netværksmøde",
	    .location = "Rådhuset, lokale 3",
	    .description = "Koordineret indsatsplan; version 3",
	    .url = "https://video.example/m/abc?x=1;y=2",
	    .organizer_name = "Kip Nord",
	    .organizer_email = "kip@kommune.example",
	    .attendees = two_attendees,
	    .n_attendees = LEN(two_attendees),
	};

	zone("Europe/Copenhagen");
	return ev;
}

/* ---- reading the output back ------------------------------------------- */

static bool valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n = c < 0x80		    ? 1
			   : c >= 0xc2 && c <= 0xdf ? 2
			   : c >= 0xe0 && c <= 0xef ? 3
			   : c >= 0xf0 && c <= 0xf4 ? 4
						    : 0;

		if (n == 0 || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

/* Asserts the physical form of an object: every line ends in CRLF, there
 * is no other CR or LF, no line has more than 75 octets, and every line
 * is valid UTF-8 by itself. Returns the number of lines. */
static size_t check_physical(const char *s)
{
	size_t lines = 0;

	T_ASSERT(s && *s);
	while (s && *s) {
		const char *eol = strstr(s, "\r\n");
		size_t len;

		T_ASSERT(eol != NULL);
		if (!eol)
			break;
		len = (size_t)(eol - s);
		if (len > 75 || memchr(s, '\n', len) || memchr(s, '\r', len) ||
		    !valid_utf8((const unsigned char *)s, len)) {
			printf("  bad line %zu (%zu octets): %.*s\n", lines + 1,
			       len, (int)len, s);
			T_ASSERT(len <= 75);
			T_ASSERT(!memchr(s, '\n', len) &&
				 !memchr(s, '\r', len));
			T_ASSERT(valid_utf8((const unsigned char *)s, len));
		}
		lines++;
		s = eol + 2;
	}
	return lines;
}

struct lines {
	char *v[256];
	size_t n;
};

/* Unfolds S (RFC 5545 3.1: CRLF followed by one space or tab goes) into
 * its content lines. */
static void unfold(const char *s, struct lines *ret)
{
	ret->n = 0;
	while (*s && ret->n < LEN(ret->v)) {
		struct buf b = BUF_INIT;
		const char *eol;

		for (;;) {
			eol = strstr(s, "\r\n");
			if (!eol)
				eol = s + strlen(s);
			buf_append(&b, s, (size_t)(eol - s));
			s = *eol ? eol + 2 : eol;
			if (*s != ' ' && *s != '\t')
				break;
			s++;
		}
		ret->v[ret->n++] = buf_steal(&b);
	}
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

/* The whole content line (name, parameters, value) of the Nth property
 * NAME, or NULL. */
static const char *prop_line(const struct lines *l, const char *name, int nth)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i], name, n) == 0 &&
		    (l->v[i][n] == ':' || l->v[i][n] == ';') && nth-- == 0)
			return l->v[i];
	return NULL;
}

/* The value of property NAME (after the first ':' outside quotes). */
static const char *prop(const struct lines *l, const char *name)
{
	const char *p = prop_line(l, name, 0);
	bool quoted = false;

	for (; p && *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ':' && !quoted)
			return p + 1;
	}
	return NULL;
}

static size_t count_props(const struct lines *l, const char *name)
{
	size_t n = 0;

	while (prop_line(l, name, (int)n))
		n++;
	return n;
}

/* TEXT unescaped into a static buffer. */
static const char *unescape(const char *v)
{
	static char out[4096];
	size_t o = 0;

	for (; v && *v && o + 1 < sizeof(out); v++) {
		if (*v == '\\' && v[1]) {
			v++;
			out[o++] = *v == 'n' || *v == 'N' ? '\n' : *v;
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
	return out;
}

/* Builds EV, checks the physical form and unfolds it; returns ical_build's
 * result. */
static int build(const struct ical_event *ev, struct buf *b, struct lines *l)
{
	int r = ical_build(ev, b);

	l->n = 0;
	if (r == 0) {
		check_physical(b->data);
		unfold(b->data, l);
	}
	return r;
}

/* ---- the object -------------------------------------------------------- */

static void test_request_properties(void)
{
	struct ical_event ev = base_event();
	struct buf b = BUF_INIT;
	struct lines l;
	static const char *const head[] = {
	    "BEGIN:VCALENDAR",
	    "PRODID:-//kip//kip 1.0//DA",
	    "VERSION:2.0",
	    "CALSCALE:GREGORIAN",
	    "METHOD:REQUEST",
	    /* the shifts of 2023-2025 and the one before them, as the C
	     * library has them */
	    "BEGIN:VTIMEZONE",
	    "TZID:Europe/Copenhagen",
	    "BEGIN:STANDARD",
	    "DTSTART:20221030T030000",
	    "RDATE:20231029T030000",
	    "RDATE:20241027T030000",
	    "RDATE:20251026T030000",
	    "TZOFFSETFROM:+0200",
	    "TZOFFSETTO:+0100",
	    "TZNAME:CET",
	    "END:STANDARD",
	    "BEGIN:DAYLIGHT",
	    "DTSTART:20230326T020000",
	    "RDATE:20240331T020000",
	    "RDATE:20250330T020000",
	    "TZOFFSETFROM:+0100",
	    "TZOFFSETTO:+0200",
	    "TZNAME:CEST",
	    "END:DAYLIGHT",
	    "END:VTIMEZONE",
	    "BEGIN:VEVENT",
	};

	T_ASSERT(build(&ev, &b, &l) == 0);
	T_ASSERT(l.n > LEN(head) + 2);
	for (size_t i = 0; i < LEN(head) && i < l.n; i++)
		T_STREQ(l.v[i], head[i]);
	T_STREQ(l.v[l.n - 2], "END:VEVENT");
	T_STREQ(l.v[l.n - 1], "END:VCALENDAR");
	T_ASSERT(count_props(&l, "BEGIN") == count_props(&l, "END"));
	T_ASSERT(count_props(&l, "BEGIN") == 5);

	T_STREQ(prop(&l, "UID"), "kip-meeting-42@kip.example");
	T_STREQ(prop(&l, "SEQUENCE"), "2");
	T_STREQ(prop(&l, "DTSTAMP"), "20240619T123045Z");
	/* DTSTART 0 and 1 are the time zone's */
	T_STREQ(prop_line(&l, "DTSTART", 2),
		"DTSTART;TZID=Europe/Copenhagen:20240620T100000");
	T_STREQ(prop_line(&l, "DTEND", 0),
		"DTEND;TZID=Europe/Copenhagen:20240620T113000");
	T_STREQ(prop(&l, "SUMMARY"), "Netværksmøde");
	T_STREQ(prop(&l, "LOCATION"), "Rådhuset\\, lokale 3");
	T_STREQ(unescape(prop(&l, "LOCATION")), "Rådhuset, lokale 3");
	T_STREQ(unescape(prop(&l, "DESCRIPTION")),
		"Koordineret indsatsplan; version 3");
	/* a URI, not TEXT: ';' stays as it is */
	T_STREQ(prop(&l, "URL"), "https://video.example/m/abc?x=1;y=2");
	T_STREQ(prop_line(&l, "ORGANIZER", 0),
		"ORGANIZER;CN=\"Kip Nord\":mailto:kip@kommune.example");
	T_ASSERT(count_props(&l, "ATTENDEE") == 2);
	T_STREQ(prop_line(&l, "ATTENDEE", 0),
		"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
		"PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:anna@kommune.example");
	T_STREQ(prop(&l, "ATTENDEE"), "mailto:anna@kommune.example");
	T_STREQ(prop_line(&l, "ATTENDEE", 1),
		"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;"
		"PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bo@region.example");
	T_STREQ(prop(&l, "STATUS"), "CONFIRMED");
	T_STREQ(prop(&l, "TRANSP"), "OPAQUE");
	T_ASSERT(b.len >= 2 && strcmp(b.data + b.len - 2, "\r\n") == 0);
	lines_free(&l);
	buf_free(&b);
}

static void test_optional_fields_left_out(void)
{
	struct ical_event ev = base_event();
	struct buf b = BUF_INIT;
	struct lines l;

	ev.location = NULL;
	ev.description = NULL;
	ev.url = NULL;
	ev.organizer_name = NULL;
	T_ASSERT(build(&ev, &b, &l) == 0);
	T_ASSERT(!prop_line(&l, "LOCATION", 0));
	T_ASSERT(!prop_line(&l, "DESCRIPTION", 0));
	T_ASSERT(!prop_line(&l, "URL", 0));
	T_STREQ(prop_line(&l, "ORGANIZER", 0),
		"ORGANIZER:mailto:kip@kommune.example");
	lines_free(&l);
	buf_free(&b);
}

static void test_appends(void)
{
	struct ical_event ev = base_event();
	struct buf b = BUF_INIT;

	buf_puts(&b, "before\r\n");
	T_ASSERT(ical_build(&ev, &b) == 0);
	T_ASSERT(strncmp(b.data, "before\r\nBEGIN:VCALENDAR\r\n", 25) == 0);
	buf_free(&b);
}

static void test_cancel(void)
{
	struct ical_event ev = base_event();
	struct buf b = BUF_INIT;
	struct lines l;

	ev.method = ICAL_CANCEL;
	ev.sequence = 3;
	T_ASSERT(build(&ev, &b, &l) == 0);
	T_STREQ(prop(&l, "METHOD"), "CANCEL");
	T_STREQ(prop(&l, "UID"), "kip-meeting-42@kip.example");
	T_STREQ(prop(&l, "SEQUENCE"), "3");
	T_STREQ(prop(&l, "STATUS"), "CANCELLED");
	T_ASSERT(count_props(&l, "ATTENDEE") == 2);
	T_ASSERT(!strstr(b.data, "CONFIRMED"));
	T_ASSERT(!strstr(b.data, "METHOD:REQUEST"));
	lines_free(&l);
	buf_free(&b);
}

/* ---- TEXT escaping ----------------------------------------------------- */

static void test_text_escaping(void)
{
	static const struct {
		const char *in, *escaped, *back;
	} cases[] = {
	    {"a\\b", "a\\\\b", "a\\b"},
	    {"a;b", "a\\;b", "a;b"},
	    {"a,b", "a\\,b", "a,b"},
	    {"a\nb", "a\\nb", "a\nb"},
	    {"a\r\nb", "a\\nb", "a\nb"}, /* CR dropped */
	    {"a\rb", "ab", "ab"},
	    {"tab\there", "tab\there", "tab\there"},
	    {"a:b \"c\"", "a:b \"c\"", "a:b \"c\""}, /* no escape needed */
	    {"\\n,;\\", "\\\\n\\,\\;\\\\", "\\n,;\\"},
	    {"", "", ""},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		struct ical_event ev = base_event();
		struct buf b = BUF_INIT;
		struct lines l;

		ev.summary = cases[i].in;
		ev.location = cases[i].in;
		ev.description = cases[i].in;
		T_ASSERT(build(&ev, &b, &l) == 0);
		T_STREQ(prop(&l, "SUMMARY"), cases[i].escaped);
		T_STREQ(prop(&l, "LOCATION"), cases[i].escaped);
		T_STREQ(prop(&l, "DESCRIPTION"), cases[i].escaped);
		T_STREQ(unescape(prop(&l, "DESCRIPTION")), cases[i].back);
		lines_free(&l);
		buf_free(&b);
	}
}

/* ---- folding ----------------------------------------------------------- */

/* Danish letters (two octets each) shifted across the fold at every
 * offset: the physical check refuses any split character, and the
 * unfolded value must be the original. */
static void test_folding_utf8(void)
{
	for (int shift = 0; shift < 80; shift++) {
		char text[512];
		size_t n = 0;
		struct ical_event ev = base_event();
		struct buf b = BUF_INIT;
		struct lines l;

		for (int i = 0; i < shift; i++)
			text[n++] = 'x';
		for (int i = 0; i < 40; i++) {
			memcpy(text + n,
			       i % 3 == 0   ? "æ"
			       : i % 3 == 1 ? "ø"
					    : "å",
			       2);
			n += 2;
		}
		memcpy(text + n, "€𝄞,", 8); /* 3 and 4 octets, then an escape */
		n += 8;
		text[n] = '\0';
		ev.summary = text;
		ev.description = text;
		T_ASSERT(build(&ev, &b, &l) == 0);
		T_ASSERT(prop(&l, "SUMMARY") &&
			 strncmp(prop(&l, "SUMMARY"), text, n - 1) == 0);
		T_STREQ(unescape(prop(&l, "SUMMARY")), text);
		T_STREQ(unescape(prop(&l, "DESCRIPTION")), text);
		lines_free(&l);
		buf_free(&b);
	}
}

static void test_folding_long_location(void)
{
	char loc[1200];
	struct ical_event ev = base_event();
	struct buf b = BUF_INIT;
	struct lines l;
	size_t n = 0, lines, longest = 0;
	const char *p;

	while (n + 40 < sizeof(loc))
		n += (size_t)snprintf(loc + n, sizeof(loc) - n,
				      "Sønderbrogade %zu, Århus Ø; ", n);
	ev.location = loc;
	T_ASSERT(build(&ev, &b, &l) == 0);
	T_STREQ(unescape(prop(&l, "LOCATION")), loc);
	/* the lines are used to the full: 75 octets, less at most 3 for a
	 * character that did not fit */
	lines = check_physical(b.data);
	T_ASSERT(lines > l.n + 10);
	for (p = b.data; (p = strstr(p, "\r\n ")) != NULL; p += 3) {
		const char *q = p, *start = p;

		while (start > b.data && start[-1] != '\n')
			start--;
		if ((size_t)(q - start) > longest)
			longest = (size_t)(q - start);
		T_ASSERT(q - start >= 72);
	}
	T_ASSERT(longest == 75);
	/* ASCII lines are cut at exactly 75 octets, continuations at 74 + 1 */
	{
		struct ical_event e2 = base_event();
		char ascii[301];
		struct buf b2 = BUF_INIT;
		const char *d;

		memset(ascii, 'a', 300);
		ascii[300] = '\0';
		e2.description = ascii;
		T_ASSERT(ical_build(&e2, &b2) == 0);
		d = strstr(b2.data, "DESCRIPTION:");
		T_ASSERT(d && strncmp(d + 75, "\r\n a", 4) == 0);
		T_ASSERT(d && strncmp(d + 75 + 2 + 75, "\r\n a", 4) == 0);
		buf_free(&b2);
	}
	lines_free(&l);
	buf_free(&b);
}

/* ---- DTEND ------------------------------------------------------------- */

static void test_dtend(void)
{
	static const struct {
		const char *start;
		int minutes;
		const char *dtstart, *dtend;
	} cases[] = {
	    {"2024-06-20T23:30", 90, "20240620T233000", "20240621T010000"},
	    {"2024-12-31T23:30", 90, "20241231T233000", "20250101T010000"},
	    {"2024-02-28T23:00", 120, "20240228T230000", "20240229T010000"},
	    {"2023-02-28T23:00", 120, "20230228T230000", "20230301T010000"},
	    {"2024-02-29T00:00", 1440, "20240229T000000", "20240301T000000"},
	    {"2100-02-28T12:00", 1440, "21000228T120000", "21000301T120000"},
	    {"2000-02-28T12:00", 1440, "20000228T120000", "20000229T120000"},
	    {"2024-04-30T23:59", 1, "20240430T235900", "20240501T000000"},
	    {"2024-01-01T00:00", 1, "20240101T000000", "20240101T000100"},
	    {"2024-06-20T10:00", 1440, "20240620T100000", "20240621T100000"},
	    {"2024-03-31T01:30", 60, "20240331T013000", "20240331T023000"},
	    {"9999-12-30T23:00", 60, "99991230T230000", "99991231T000000"},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		struct ical_event ev = base_event();
		struct buf b = BUF_INIT;
		struct lines l;
		char want[80];

		ev.start_local = cases[i].start;
		ev.duration_min = cases[i].minutes;
		T_ASSERT(build(&ev, &b, &l) == 0);
		snprintf(want, sizeof(want),
			 "DTSTART;TZID=Europe/Copenhagen:%s", cases[i].dtstart);
		T_STREQ(prop_line(&l, "DTSTART", 2), want);
		snprintf(want, sizeof(want), "DTEND;TZID=Europe/Copenhagen:%s",
			 cases[i].dtend);
		T_STREQ(prop_line(&l, "DTEND", 0), want);
		lines_free(&l);
		buf_free(&b);
	}
}

/* ---- the time zone ----------------------------------------------------- */

/* The content lines from BEGIN:VTIMEZONE to END:VTIMEZONE, each ended by
 * '\n' (the caller frees the string). */
static char *vtimezone_of(const struct lines *l)
{
	struct buf b = BUF_INIT;
	bool in = false;

	for (size_t i = 0; i < l->n; i++) {
		in |= strcmp(l->v[i], "BEGIN:VTIMEZONE") == 0;
		if (in)
			buf_printf(&b, "%s\n", l->v[i]);
		if (strcmp(l->v[i], "END:VTIMEZONE") == 0)
			break;
	}
	buf_append(&b, "", 0);
	return buf_steal(&b);
}

/* The VTIMEZONE and DTSTART written for an event at START in zone NAME. */
static void check_zone(const char *name, const char *start, const char *want_tz,
		       const char *want_dtstart)
{
	struct ical_event ev = base_event();
	struct buf b = BUF_INIT;
	struct lines l;
	char *tz;

	zone(name);
	ev.start_local = start;
	T_ASSERT(build(&ev, &b, &l) == 0);
	tz = vtimezone_of(&l);
	T_STREQ(tz, want_tz);
	T_ASSERT(count_props(&l, "DTSTART") >= 2);
	T_STREQ(prop_line(&l, "DTSTART", (int)count_props(&l, "DTSTART") - 1),
		want_dtstart);
	free(tz);
	lines_free(&l);
	buf_free(&b);
	zone("Europe/Copenhagen");
}

/* A zone without daylight saving time: one STANDARD, from the first of
 * the years around the event, its offset to itself. */
static void test_vtimezone_without_dst(void)
{
	check_zone("Asia/Tokyo", "2024-06-20T10:00",
		   "BEGIN:VTIMEZONE\n"
		   "TZID:Asia/Tokyo\n"
		   "BEGIN:STANDARD\n"
		   "DTSTART:20230101T090000\n"
		   "TZOFFSETFROM:+0900\n"
		   "TZOFFSETTO:+0900\n"
		   "TZNAME:JST\n"
		   "END:STANDARD\n"
		   "END:VTIMEZONE\n",
		   "DTSTART;TZID=Asia/Tokyo:20240620T100000");
	check_zone("UTC", "2024-06-20T10:00",
		   "BEGIN:VTIMEZONE\n"
		   "TZID:UTC\n"
		   "BEGIN:STANDARD\n"
		   "DTSTART:20230101T000000\n"
		   "TZOFFSETFROM:+0000\n"
		   "TZOFFSETTO:+0000\n"
		   "TZNAME:UTC\n"
		   "END:STANDARD\n"
		   "END:VTIMEZONE\n",
		   "DTSTART;TZID=UTC:20240620T100000");
	check_zone("Asia/Kolkata", "2024-06-20T10:00",
		   "BEGIN:VTIMEZONE\n"
		   "TZID:Asia/Kolkata\n"
		   "BEGIN:STANDARD\n"
		   "DTSTART:20230101T053000\n"
		   "TZOFFSETFROM:+0530\n"
		   "TZOFFSETTO:+0530\n"
		   "TZNAME:IST\n"
		   "END:STANDARD\n"
		   "END:VTIMEZONE\n",
		   "DTSTART;TZID=Asia/Kolkata:20240620T100000");
}

/* Europe/Copenhagen years ahead (the C library's rule, not its table):
 * the last Sundays of March and October, at 01:00 UTC. And a zone west
 * of Greenwich, whose offsets are negative. */
static void test_vtimezone_with_dst(void)
{
	check_zone("Europe/Copenhagen", "2031-01-01T00:30",
		   "BEGIN:VTIMEZONE\n"
		   "TZID:Europe/Copenhagen\n"
		   "BEGIN:STANDARD\n"
		   "DTSTART:20291028T030000\n"
		   "RDATE:20301027T030000\n"
		   "RDATE:20311026T030000\n"
		   "RDATE:20321031T030000\n"
		   "TZOFFSETFROM:+0200\n"
		   "TZOFFSETTO:+0100\n"
		   "TZNAME:CET\n"
		   "END:STANDARD\n"
		   "BEGIN:DAYLIGHT\n"
		   "DTSTART:20300331T020000\n"
		   "RDATE:20310330T020000\n"
		   "RDATE:20320328T020000\n"
		   "TZOFFSETFROM:+0100\n"
		   "TZOFFSETTO:+0200\n"
		   "TZNAME:CEST\n"
		   "END:DAYLIGHT\n"
		   "END:VTIMEZONE\n",
		   "DTSTART;TZID=Europe/Copenhagen:20310101T003000");
	check_zone("America/New_York", "2024-11-03T01:30",
		   "BEGIN:VTIMEZONE\n"
		   "TZID:America/New_York\n"
		   "BEGIN:STANDARD\n"
		   "DTSTART:20221106T020000\n"
		   "RDATE:20231105T020000\n"
		   "RDATE:20241103T020000\n"
		   "RDATE:20251102T020000\n"
		   "TZOFFSETFROM:-0400\n"
		   "TZOFFSETTO:-0500\n"
		   "TZNAME:EST\n"
		   "END:STANDARD\n"
		   "BEGIN:DAYLIGHT\n"
		   "DTSTART:20230312T020000\n"
		   "RDATE:20240310T020000\n"
		   "RDATE:20250309T020000\n"
		   "TZOFFSETFROM:-0500\n"
		   "TZOFFSETTO:-0400\n"
		   "TZNAME:EDT\n"
		   "END:DAYLIGHT\n"
		   "END:VTIMEZONE\n",
		   "DTSTART;TZID=America/New_York:20241103T013000");
}

/* Builds the object for an event at START in zone NAME and has libical,
 * an independent reader, read it back: RET_START is DTSTART as a time by
 * the VTIMEZONE in the object; false when it cannot be read. Every few
 * hours over the three years around the event, the VTIMEZONE must give
 * the offset and DST flag the C library gives. */
static bool libical_read_back(const char *name, const char *start,
			      time_t *ret_start)
{
	struct ical_event ev = base_event();
	icalcomponent *cal, *vtz, *vev;
	icaltimezone *z;
	struct buf b = BUF_INIT;
	struct tm y0 = {.tm_mday = 1}, y3 = {.tm_mday = 1};
	int year = 0, bad = 0;

	zone(name);
	ev.start_local = start;
	if (ical_build(&ev, &b) != 0)
		return false;
	cal = icalparser_parse_string(b.data);
	buf_free(&b);
	vtz = cal ? icalcomponent_get_first_component(cal,
						      ICAL_VTIMEZONE_COMPONENT)
		  : NULL;
	vev =
	    cal ? icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT)
		: NULL;
	if (!vtz || !vev) {
		if (cal)
			icalcomponent_free(cal);
		return false;
	}
	z = icaltimezone_new();
	icaltimezone_set_component(z, icalcomponent_new_clone(vtz));
	*ret_start =
	    icaltime_as_timet_with_zone(icalcomponent_get_dtstart(vev), z);
	sscanf(start, "%4d", &year);
	y0.tm_year = year - 1901;
	y3.tm_year = year - 1898;
	for (time_t t = timegm(&y0), end = timegm(&y3); t < end && bad < 3;
	     t += 3 * 3600 + 37 * 60) {
		struct icaltimetype u = icaltime_from_timet_with_zone(
		    t, 0, icaltimezone_get_utc_timezone());
		int dst = 0,
		    off = icaltimezone_get_utc_offset_of_utc_time(z, &u, &dst);
		struct tm tm;

		localtime_r(&t, &tm);
		if (off != tm.tm_gmtoff || (dst != 0) != (tm.tm_isdst > 0)) {
			printf("  %s at %lld: libical %+d%s, C library "
			       "%+ld%s\n",
			       tzone_name(), (long long)t, off,
			       dst ? " DST" : "", tm.tm_gmtoff,
			       tm.tm_isdst > 0 ? " DST" : "");
			bad++;
		}
	}
	icaltimezone_free(z, 1);
	icalcomponent_free(cal);
	return bad == 0;
}

/* Zones east and west, with and without DST, south (DST over the new
 * year), with half-hour offsets and shifts (Lord Howe), with DST given up
 * (Sao Paulo, 2019), and Dublin, whose winter time the database calls
 * DST: libical reads each invitation's start as the instant kipd's
 * scheduler takes it for (clock_local_to_time()). Noon: no shift falls on
 * it, so every local time exists once. */
static void test_vtimezone_read_by_libical(void)
{
	static const char *const zones[] = {
	    "Europe/Copenhagen", "Asia/Tokyo",	      "America/New_York",
	    "Australia/Sydney",	 "Asia/Kolkata",      "Australia/Lord_Howe",
	    "America/Sao_Paulo", "Pacific/Chatham",   "America/St_Johns",
	    "Europe/Dublin",	 "Africa/Casablanca", "UTC",
	};
	static const char *const days[] = {
	    "1971-03-15", "2019-02-15", "2019-11-15", "2024-01-15",
	    "2024-03-31", "2024-04-15", "2024-07-01", "2024-10-27",
	    "2024-12-31", "2031-06-15",
	};

	for (size_t i = 0; i < LEN(zones); i++) {
		for (size_t j = 0; j < LEN(days); j++) {
			char start[17];
			time_t read = 0, want;

			snprintf(start, sizeof(start), "%sT12:00", days[j]);
			if (!libical_read_back(zones[i], start, &read))
				read = -1;
			want = clock_local_to_time(start, 0);
			if (read != want)
				printf("  %s %s: libical %lld, kipd %lld\n",
				       zones[i], start, (long long)read,
				       (long long)want);
			T_ASSERT(read == want);
		}
	}
	zone("Europe/Copenhagen");
}

/* ---- refusals ---------------------------------------------------------- */

static void test_bad_start_and_duration(void)
{
	static const char *const starts[] = {
	    "2024-02-30T10:00",
	    "2023-02-29T10:00",
	    "1900-02-29T10:00",
	    "2024-04-31T10:00",
	    "2024-13-01T10:00",
	    "2024-00-01T10:00",
	    "2024-01-00T10:00",
	    "2024-01-01T24:00",
	    "2024-01-01T10:60",
	    "2024-1-01T10:00",
	    "2024-01-01 10:00",
	    "2024-01-01T10:00:00",
	    "2024-01-01T10:0",
	    "+024-01-01T10:00",
	    "2024-01-01t10:00",
	    "2024-01-01T1a:00",
	    "2024/01/01T10:00",
	    "1969-12-31T23:00",
	    "",
	    NULL,
	};
	static const int durations[] = {0, -1, 1441, -1440, 100000};

	for (size_t i = 0; i < LEN(starts); i++) {
		struct ical_event ev = base_event();
		struct buf b = BUF_INIT;

		ev.start_local = starts[i];
		if (ical_build(&ev, &b) != -EINVAL)
			printf("  start \"%s\" accepted\n",
			       starts[i] ? starts[i] : "(null)");
		T_ASSERT(b.len == 0);
		buf_free(&b);
	}
	for (size_t i = 0; i < LEN(durations); i++) {
		struct ical_event ev = base_event();
		struct buf b = BUF_INIT;

		ev.duration_min = durations[i];
		T_ASSERT(ical_build(&ev, &b) == -EINVAL);
		buf_free(&b);
	}
	{
		/* DTEND would need a five-digit year */
		struct ical_event ev = base_event();
		struct buf b = BUF_INIT;

		ev.start_local = "9999-12-31T23:30";
		ev.duration_min = 90;
		T_ASSERT(ical_build(&ev, &b) == -EINVAL);
		buf_free(&b);
	}
}

enum field {
	UID,
	ORG_EMAIL,
	ORG_NAME,
	ATTENDEE,
	URL,
	SUMMARY,
	LOCATION,
	DESCRIPTION
};

static void test_bad_strings(void)
{
	static const struct {
		enum field f;
		const char *v;
	} cases[] = {
	    {UID, "a\r\nb"},
	    {UID, ""},
	    {UID, NULL},
	    {UID, "a b"},
	    {ORG_EMAIL, "kip@x.example\r\nBCC:x@y"},
	    {ORG_EMAIL, "kip@x.example\n"},
	    {ORG_EMAIL, ""},
	    {ORG_EMAIL, NULL},
	    {ORG_EMAIL, "a\x01@x"},
	    {ORG_NAME, "Kip \"Nord\""},
	    {ORG_NAME, "Kip\r\nNord"},
	    {ORG_NAME, "Kip\tNord"},
	    {ATTENDEE, "anna@x.example\r\nATTENDEE:mailto:eve@x"},
	    {ATTENDEE, "anna@x\x7f"},
	    {ATTENDEE, ""},
	    {ATTENDEE, NULL},
	    {ATTENDEE, "a b@x"},
	    {URL, "https://x.example/\r\nATTACH:x"},
	    {URL, "https://x.example/\n"},
	    {URL, "https://x/\x1b"},
	    {URL, "https://x/a b"},
	    {URL, ""},
	    {SUMMARY, NULL},
	    {SUMMARY, "a\x01z"},
	    {SUMMARY, "a\x7fz"},
	    {SUMMARY, "bad \xc3"},
	    {SUMMARY, "overlong \xc0\xaf"},
	    {SUMMARY, "surrogate \xed\xa0\x80"},
	    {SUMMARY, "\xff"},
	    {LOCATION, "a\x1b[2J"},
	    {DESCRIPTION, "x\xf5\x80\x80\x80"},
	};

	for (size_t i = 0; i < LEN(cases); i++) {
		struct ical_event ev = base_event();
		const char *att[1] = {"anna@x.example"};
		struct buf b = BUF_INIT;
		int r;

		switch (cases[i].f) {
		case UID:
			ev.uid = cases[i].v;
			break;
		case ORG_EMAIL:
			ev.organizer_email = cases[i].v;
			break;
		case ORG_NAME:
			ev.organizer_name = cases[i].v;
			break;
		case ATTENDEE:
			att[0] = cases[i].v;
			ev.attendees = (const char *const *)att;
			ev.n_attendees = 1;
			break;
		case URL:
			ev.url = cases[i].v;
			break;
		case SUMMARY:
			ev.summary = cases[i].v;
			break;
		case LOCATION:
			ev.location = cases[i].v;
			break;
		case DESCRIPTION:
			ev.description = cases[i].v;
			break;
		}
		buf_puts(&b, "kept");
		r = ical_build(&ev, &b);
		if (r != -EINVAL)
			printf("  case %zu: %d\n", i, r);
		T_ASSERT(r == -EINVAL);
		T_STREQ(b.data, "kept"); /* untouched on failure */
		buf_free(&b);
	}
}

static void test_bad_event(void)
{
	struct ical_event ev = base_event();
	struct buf b = BUF_INIT;

	ev.n_attendees = 0;
	T_ASSERT(ical_build(&ev, &b) == -EINVAL);
	ev = base_event();
	ev.attendees = NULL;
	T_ASSERT(ical_build(&ev, &b) == -EINVAL);
	ev = base_event();
	ev.sequence = -1;
	T_ASSERT(ical_build(&ev, &b) == -EINVAL);
	ev = base_event();
	ev.method = (enum ical_method)7;
	T_ASSERT(ical_build(&ev, &b) == -EINVAL);
	T_ASSERT(ical_build(NULL, &b) == -EINVAL);
	T_ASSERT(b.len == 0);
	buf_free(&b);
}

/* ---- the iMIP entity --------------------------------------------------- */

static int b64val(char c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

/* Decodes base64 lines (CRLF between them, each at most 76 characters,
 * nothing else) from S up to END; NULL when malformed. */
static char *b64decode(const char *s, const char *end)
{
	struct buf out = BUF_INIT;
	uint32_t acc = 0;
	int bits = 0, col = 0;

	for (; s < end; s++) {
		int v;

		if (s[0] == '\r' && s[1] == '\n') {
			s++;
			col = 0;
			continue;
		}
		if (++col > 76)
			goto bad;
		if (*s == '=')
			continue;
		v = b64val(*s);
		if (v < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			char c = (char)(acc >> (bits - 8) & 0xff);

			bits -= 8;
			buf_append(&out, &c, 1);
		}
	}
	buf_append(&out, "", 0);
	return buf_steal(&out);
bad:
	buf_free(&out);
	return NULL;
}

/* Splits the entity into its two parts: header block and decoded body of
 * each. Returns false when the structure is not as expected. */
struct part {
	char *headers;
	char *body;
};

static bool split_entity(const char *e, char *ret_boundary, size_t size,
			 struct part ret[2])
{
	const char *p = "Content-Type: multipart/alternative; boundary=\"";
	const char *b, *q, *next;
	char delim[128];

	if (strncmp(e, p, strlen(p)) != 0)
		return false;
	b = e + strlen(p);
	q = strchr(b, '"');
	if (!q || (size_t)(q - b) >= size || strncmp(q, "\"\r\n\r\n", 5) != 0)
		return false;
	snprintf(ret_boundary, size, "%.*s", (int)(q - b), b);
	snprintf(delim, sizeof(delim), "--%s\r\n", ret_boundary);
	q = strstr(q, delim);
	for (int i = 0; i < 2; i++) {
		const char *hend;

		if (!q)
			return false;
		q += strlen(delim);
		hend = strstr(q, "\r\n\r\n");
		if (!hend)
			return false;
		ret[i].headers = strndup(q, (size_t)(hend - q + 2));
		hend += 4;
		next = strstr(hend, delim);
		if (!next) {
			snprintf(delim, sizeof(delim), "--%s--\r\n",
				 ret_boundary);
			next = strstr(hend, delim);
			if (!next || next[strlen(delim)] != '\0' || i != 1)
				return false;
		}
		ret[i].body = b64decode(hend, next);
		q = next;
	}
	return ret[0].body && ret[1].body;
}

static void test_imip_entity(void)
{
	struct ical_event ev = base_event();
	struct buf e = BUF_INIT, cal = BUF_INIT, e2 = BUF_INIT;
	struct part parts[2] = {{NULL, NULL}, {NULL, NULL}};
	struct part parts2[2] = {{NULL, NULL}, {NULL, NULL}};
	char bnd[100] = "", bnd2[100] = "";
	const char *text =
	    "Du er inviteret til et møde.\nSe kalenderen.\r\nHilsen";

	T_ASSERT(ical_imip_entity(&ev, text, &e) == 0);
	T_ASSERT(ical_build(&ev, &cal) == 0);
	T_ASSERT(e.len > 0);
	/* CRLF only: every LF after a CR, every CR before an LF */
	for (size_t i = 0; i < e.len; i++) {
		if (e.data[i] == '\n')
			T_ASSERT(i > 0 && e.data[i - 1] == '\r');
		if (e.data[i] == '\r')
			T_ASSERT(e.data[i + 1] == '\n');
	}
	T_ASSERT(split_entity(e.data, bnd, sizeof(bnd), parts));
	T_ASSERT(strlen(bnd) >= 20);
	T_STREQ(parts[0].headers, "Content-Type: text/plain; charset=utf-8\r\n"
				  "Content-Transfer-Encoding: base64\r\n");
	T_STREQ(parts[1].headers,
		"Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n"
		"Content-Transfer-Encoding: base64\r\n");
	T_STREQ(parts[0].body,
		"Du er inviteret til et møde.\r\nSe kalenderen.\r\nHilsen");
	T_STREQ(parts[1].body, cal.data);
	/* the boundary occurs only as a delimiter */
	{
		size_t count = 0;

		for (const char *p = e.data; (p = strstr(p, bnd)); p++)
			count++;
		T_ASSERT(count == 4); /* header, two delimiters, the close */
	}
	/* a fresh boundary each time */
	T_ASSERT(ical_imip_entity(&ev, text, &e2) == 0);
	T_ASSERT(split_entity(e2.data, bnd2, sizeof(bnd2), parts2));
	T_ASSERT(strcmp(bnd, bnd2) != 0);
	T_STREQ(parts2[1].body, cal.data);
	for (int i = 0; i < 2; i++) {
		free(parts[i].headers);
		free(parts[i].body);
		free(parts2[i].headers);
		free(parts2[i].body);
	}
	buf_free(&e);
	buf_free(&e2);
	buf_free(&cal);
}

static void test_imip_cancel_and_refusals(void)
{
	struct ical_event ev = base_event();
	struct buf e = BUF_INIT;

	ev.method = ICAL_CANCEL;
	T_ASSERT(ical_imip_entity(&ev, "Mødet er aflyst.", &e) == 0);
	T_CONTAINS(e.data, "\r\nContent-Type: text/calendar; charset=utf-8; "
			   "method=CANCEL\r\n");
	T_ASSERT(!strstr(e.data, "method=REQUEST"));
	buf_free(&e);

	buf_puts(&e, "kept");
	T_ASSERT(ical_imip_entity(&ev, NULL, &e) == -EINVAL);
	T_ASSERT(ical_imip_entity(&ev, "bad \xc3", &e) == -EINVAL);
	ev.start_local = "2024-02-30T10:00";
	T_ASSERT(ical_imip_entity(&ev, "ok", &e) == -EINVAL);
	T_STREQ(e.data, "kept");
	buf_free(&e);
}

/* ---- an independent parser --------------------------------------------- */

/* Parses the object with python3-icalendar and checks what it reads; the
 * VTIMEZONE is read by python3-dateutil's tzical (icalendar itself takes
 * the TZID's rules from pytz). Arguments: the file, METHOD, SEQUENCE,
 * STATUS, the zone, its offset in hours on 31 December, and how many
 * DAYLIGHT components it has. */
static const char py_check[] =
    "import sys, io, datetime, icalendar\n"
    "from dateutil import tz as dtz\n"
    "raw = open(sys.argv[1], 'rb').read()\n"
    "cal = icalendar.Calendar.from_ical(raw)\n"
    "errs = [c.errors for c in cal.walk() if c.errors]\n"
    "assert not errs, errs\n"
    "assert str(cal['METHOD']) == sys.argv[2], cal['METHOD']\n"
    "assert str(cal['PRODID']) == '-//kip//kip 1.0//DA'\n"
    "assert str(cal['VERSION']) == '2.0'\n"
    "zone, hours, daylight = sys.argv[5], int(sys.argv[6]), int(sys.argv[7])\n"
    "tz = cal.walk('VTIMEZONE')\n"
    "assert len(tz) == 1 and str(tz[0]['TZID']) == zone\n"
    "assert len(tz[0].walk('STANDARD')) == 1\n"
    "assert len(tz[0].walk('DAYLIGHT')) == daylight\n"
    "text = raw.decode()\n"
    "vtz = text[text.index('BEGIN:VTIMEZONE'):text.index('END:VTIMEZONE') + "
    "13]\n"
    "rules = dtz.tzical(io.StringIO(vtz)).get()\n"
    "ev = cal.walk('VEVENT')\n"
    "assert len(ev) == 1\n"
    "ev = ev[0]\n"
    "assert str(ev['UID']) == 'kip-meeting-42@kip.example'\n"
    "assert int(ev['SEQUENCE']) == int(sys.argv[3])\n"
    "assert str(ev['SUMMARY']) == 'Møde; æøå, del 2\\\\x', ev['SUMMARY']\n"
    "assert str(ev['LOCATION']).startswith('Rådhuset, lokale 3 ')\n"
    "assert str(ev['DESCRIPTION']) == 'Linje 1\\nLinje 2'\n"
    "assert str(ev['URL']) == 'https://video.example/m/abc?x=1;y=2'\n"
    "st, en = ev.decoded('DTSTART'), ev.decoded('DTEND')\n"
    "assert ev['DTSTART'].params['TZID'] == zone\n"
    "assert (st.year, st.month, st.day, st.hour, st.minute) == "
    "(2024, 12, 31, 23, 30), st\n"
    "assert (en.year, en.month, en.day, en.hour, en.minute) == "
    "(2025, 1, 1, 1, 0), en\n"
    "assert st.utcoffset() == datetime.timedelta(hours=hours)\n"
    "for d in (st, en):\n"
    "    mine = d.replace(tzinfo=None).replace(tzinfo=rules)\n"
    "    assert mine.utcoffset() == d.utcoffset(), (mine, d)\n"
    "summer = datetime.datetime(2024, 7, 1, 12, 0, tzinfo=rules)\n"
    "assert summer.utcoffset() == datetime.timedelta(hours=hours + daylight)\n"
    "assert en - st == datetime.timedelta(minutes=90)\n"
    "stamp = ev.decoded('DTSTAMP')\n"
    "assert stamp.utcoffset() == datetime.timedelta(0)\n"
    "org = ev['ORGANIZER']\n"
    "assert str(org) == 'mailto:kip@kommune.example'\n"
    "assert org.params['CN'] == 'Kip, Nord: æøå', org.params\n"
    "att = ev['ATTENDEE']\n"
    "assert [str(a) for a in att] == ['mailto:anna@kommune.example', "
    "'mailto:bo@region.example'], att\n"
    "assert all(a.params['RSVP'] == 'TRUE' for a in att)\n"
    "assert str(ev['STATUS']) == sys.argv[4]\n"
    "print('python3-icalendar', icalendar.__version__, 'and dateutil:', zone, "
    "'ok')\n";

static int write_file(const char *tmpl_in, char *path, size_t size,
		      const char *data)
{
	int fd;
	size_t len = strlen(data);

	snprintf(path, size, "%s", tmpl_in);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void test_python_icalendar(void)
{
	static const struct {
		enum ical_method m;
		const char *method, *seq, *status, *zone, *hours, *daylight;
	} runs[] = {
	    {ICAL_REQUEST, "REQUEST", "0", "CONFIRMED", "Europe/Copenhagen",
	     "1", "1"},
	    {ICAL_CANCEL, "CANCEL", "4", "CANCELLED", "Europe/Copenhagen", "1",
	     "1"},
	    {ICAL_REQUEST, "REQUEST", "0", "CONFIRMED", "Asia/Tokyo", "9", "0"},
	};
	char loc[400];

	if (system("/usr/bin/python3 -c 'import icalendar' 2>/dev/null") != 0) {
		printf("  SKIP test_python_icalendar: python3 icalendar not "
		       "importable (apt-get install python3-icalendar); the "
		       "object was NOT validated by it\n");
		return;
	}
	snprintf(loc, sizeof(loc), "Rådhuset, lokale 3 %s",
		 "æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå "
		 "æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå");
	for (size_t i = 0; i < LEN(runs); i++) {
		struct ical_event ev = base_event();
		struct buf b = BUF_INIT, cmd = BUF_INIT;
		char ics[64], py[64];

		zone(runs[i].zone);
		ev.method = runs[i].m;
		ev.sequence = runs[i].m == ICAL_CANCEL ? 4 : 0;
		ev.start_local = "2024-12-31T23:30";
		ev.duration_min = 90;
		ev.summary = "Møde; æøå, del 2\\x";
		ev.location = loc;
		ev.description = "Linje 1\r\nLinje 2";
		ev.organizer_name = "Kip, Nord: æøå";
		T_ASSERT(ical_build(&ev, &b) == 0);
		T_ASSERT(write_file("/tmp/kip-test-ical-XXXXXX", ics,
				    sizeof(ics), b.data) == 0);
		T_ASSERT(write_file("/tmp/kip-test-ical-py-XXXXXX", py,
				    sizeof(py), py_check) == 0);
		buf_printf(&cmd, "/usr/bin/python3 %s %s %s %s %s %s %s %s", py,
			   ics, runs[i].method, runs[i].seq, runs[i].status,
			   runs[i].zone, runs[i].hours, runs[i].daylight);
		T_ASSERT(system(cmd.data) == 0);
		unlink(ics);
		unlink(py);
		buf_free(&cmd);
		buf_free(&b);
	}
	zone("Europe/Copenhagen");
}

T_MAIN(T_CASE(test_request_properties), T_CASE(test_optional_fields_left_out),
       T_CASE(test_appends), T_CASE(test_cancel), T_CASE(test_text_escaping),
       T_CASE(test_folding_utf8), T_CASE(test_folding_long_location),
       T_CASE(test_dtend), T_CASE(test_vtimezone_without_dst),
       T_CASE(test_vtimezone_with_dst), T_CASE(test_vtimezone_read_by_libical),
       T_CASE(test_bad_start_and_duration), T_CASE(test_bad_strings),
       T_CASE(test_bad_event), T_CASE(test_imip_entity),
       T_CASE(test_imip_cancel_and_refusals), T_CASE(test_python_icalendar))
