/* test_ireply.c — iMIP replies (ireply.h) as calendar clients send them,
 * every reason for a refusal, garbage, and a reply made from what
 * ical_build() writes.
 *
 * The fixtures follow what Thunderbird, Outlook (Exchange) and Apple
 * Calendar put in their replies; the people in them are fictional.
 */
#include "buf.h"
#include "ical.h"
#include "ireply.h"
#include "t.h"
#include "tzone.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Thunderbird: CRLF, long ATTENDEE folded, VTIMEZONE, X-MOZ properties. */
static const char thunderbird[] =
    "BEGIN:VCALENDAR\r\n"
    "PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\n"
    "VERSION:2.0\r\n"
    "METHOD:REPLY\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Europe/Copenhagen\r\n"
    "BEGIN:DAYLIGHT\r\n"
    "TZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\n"
    "TZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"
    "END:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "TZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\n"
    "CREATED:20261120T101010Z\r\n"
    "LAST-MODIFIED:20261120T101510Z\r\n"
    "DTSTAMP:20261120T101510Z\r\n"
    "UID:kip-meeting-42@kommune.example\r\n"
    "SUMMARY:Netv\xc3\xa6rksm\xc3\xb8\x64\x65\r\n"
    "ORGANIZER;CN=\"Kip Nord\":mailto:kip@kommune.example\r\n"
    "ATTENDEE;CN=Peter "
    "Psykiatri;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;CUTYP\r\n"
    " E=INDIVIDUAL;RSVP=TRUE:mailto:peter.psykiatri@region.e\r\n"
    " xample\r\n"
    "DTSTART;TZID=Europe/Copenhagen:20261201T100000\r\n"
    "DTEND;TZID=Europe/Copenhagen:20261201T113000\r\n"
    "SEQUENCE:2\r\n"
    "TRANSP:OPAQUE\r\n"
    "X-MOZ-RECEIVED-SEQUENCE:2\r\n"
    "X-MOZ-RECEIVED-DTSTAMP:20261120T100000Z\r\n"
    "X-MOZ-GENERATION:1\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n";

/* Outlook through Exchange: upper-case MAILTO:, mixed-case address, a
 * Windows time zone, X-MICROSOFT properties, a COMMENT. */
static const char outlook[] =
    "BEGIN:VCALENDAR\r\n"
    "METHOD:REPLY\r\n"
    "PRODID:Microsoft Exchange Server 2010\r\n"
    "VERSION:2.0\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Romance Standard Time\r\n"
    "BEGIN:STANDARD\r\n"
    "DTSTART:16010101T030000\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\n"
    "END:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\n"
    "DTSTART:16010101T020000\r\n"
    "TZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\n"
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\n"
    "END:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\n"
    "ATTENDEE;PARTSTAT=TENTATIVE;CN=Jonas "
    "Job:MAILTO:Jonas.Job@Jobcenter.exampl\r\n"
    " e\r\n"
    "COMMENT;LANGUAGE=da-DK:Jeg kommer m\xc3\xa5ske\\, m\xc3\xb8\x64\x65t "
    "overlapper.\\n\r\n"
    "SUMMARY;LANGUAGE=da-DK:Forel\xc3\xb8\x62ig: "
    "Netv\xc3\xa6rksm\xc3\xb8\x64\x65\r\n"
    "DTSTART;TZID=Romance Standard Time:20261201T100000\r\n"
    "DTEND;TZID=Romance Standard Time:20261201T113000\r\n"
    "UID:kip-meeting-7@kommune.example\r\n"
    "CLASS:PUBLIC\r\n"
    "PRIORITY:5\r\n"
    "DTSTAMP:20261120T101510Z\r\n"
    "TRANSP:OPAQUE\r\n"
    "STATUS:CONFIRMED\r\n"
    "SEQUENCE:0\r\n"
    "LOCATION;LANGUAGE=da-DK:R\xc3\xa5\x64huset\r\n"
    "X-MICROSOFT-CDO-APPT-SEQUENCE:0\r\n"
    "X-MICROSOFT-CDO-OWNERAPPTID:-1234567\r\n"
    "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE\r\n"
    "X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY\r\n"
    "X-MICROSOFT-CDO-ALLDAYEVENT:FALSE\r\n"
    "X-MICROSOFT-CDO-IMPORTANCE:1\r\n"
    "X-MICROSOFT-CDO-INSTTYPE:0\r\n"
    "X-MICROSOFT-DISALLOW-COUNTER:FALSE\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n";

/* Apple Calendar: LF only, quoted parameters, EMAIL and SCHEDULE-STATUS
 * parameters, REQUEST-STATUS, no VTIMEZONE, a fold with a tab. */
static const char apple[] =
    "BEGIN:VCALENDAR\n"
    "VERSION:2.0\n"
    "PRODID:-//Apple Inc.//macOS 14.5//EN\n"
    "METHOD:REPLY\n"
    "CALSCALE:GREGORIAN\n"
    "BEGIN:VEVENT\n"
    "ATTENDEE;CN=\"Bjarne "
    "Testesen\";CUTYPE=INDIVIDUAL;EMAIL=\"borger@borger.ex\n"
    "\tample\";PARTSTAT=DECLINED;SCHEDULE-STATUS=2.0:mailto:borger@borger."
    "example\n"
    "DTEND;TZID=Europe/Copenhagen:20261201T113000\n"
    "DTSTAMP:20261121T080000Z\n"
    "DTSTART;TZID=Europe/Copenhagen:20261201T100000\n"
    "ORGANIZER;CN=\"Kip Nord\":mailto:kip@kommune.example\n"
    "REQUEST-STATUS:2.0;Success\n"
    "SEQUENCE:3\n"
    "SUMMARY:Netv\xc3\xa6rksm\xc3\xb8\x64\x65\n"
    "UID:kip-meeting-9@kommune.example\n"
    "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC\n"
    "END:VEVENT\n"
    "END:VCALENDAR\n";

/* A minimal reply; %s slots: calendar properties, event properties. */
static int parse_str(const char *s, struct ireply *out, char *err,
		     size_t errlen)
{
	return ireply_parse(s, strlen(s), out, err, errlen);
}

/* A reply made of CAL (lines after METHOD) and EV (lines of the VEVENT),
 * each "\r\n"-terminated; parsed, with the result and reason returned. */
static int parse_parts(const char *method, const char *ev, struct ireply *out,
		       char *err, size_t errlen)
{
	struct buf b = BUF_INIT;
	int r;

	T_ASSERT(buf_printf(&b,
			    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
			    "PRODID:-//Test//Test//EN\r\n%s"
			    "BEGIN:VEVENT\r\n%sEND:VEVENT\r\nEND:VCALENDAR\r\n",
			    method, ev) == 0);
	r = ireply_parse(b.data, b.len, out, err, errlen);
	buf_free(&b);
	return r;
}

#define M_REPLY "METHOD:REPLY\r\n"
#define E_UID "UID:kip-meeting-1@kommune.example\r\n"
#define E_ATT "ATTENDEE;PARTSTAT=ACCEPTED:mailto:anna@kommune.example\r\n"

/* Expects a refusal with exactly REASON, and OUT untouched. */
static void refused(const char *method, const char *ev, const char *reason)
{
	struct ireply out, before;
	char err[128] = "";
	int r;

	memset(&out, 0x5a, sizeof(out));
	before = out;
	r = parse_parts(method, ev, &out, err, sizeof(err));
	T_ASSERT(r == -EINVAL);
	T_STREQ(err, reason);
	T_ASSERT(memcmp(&out, &before, sizeof(out)) == 0);
	/* A reason names no personal data from the object. */
	T_ASSERT(!strstr(err, "anna") && !strstr(err, "kip-meeting"));
}

static void refused_raw(const char *s, size_t len, const char *reason)
{
	struct ireply out, before;
	char err[128] = "";

	memset(&out, 0x5a, sizeof(out));
	before = out;
	T_ASSERT(ireply_parse(s, len, &out, err, sizeof(err)) == -EINVAL);
	T_STREQ(err, reason);
	T_ASSERT(memcmp(&out, &before, sizeof(out)) == 0);
}

/* ---- what clients send ------------------------------------------------- */

static void test_thunderbird(void)
{
	struct ireply r;
	char err[128] = "";

	T_ASSERT(parse_str(thunderbird, &r, err, sizeof(err)) == 0);
	T_STREQ(err, "");
	T_STREQ(r.uid, "kip-meeting-42@kommune.example");
	T_ASSERT(r.sequence == 2);
	T_STREQ(r.attendee, "peter.psykiatri@region.example");
	T_ASSERT(r.partstat == IREPLY_ACCEPTED);
	T_STREQ(ireply_partstat_name(r.partstat), "ACCEPTED");
}

/* The same object with LF instead of CRLF (folds included). */
static void test_thunderbird_lf(void)
{
	struct buf b = BUF_INIT;
	struct ireply r;
	char err[128] = "";

	for (const char *p = thunderbird; *p; p++)
		if (*p != '\r')
			T_ASSERT(buf_append(&b, p, 1) == 0);
	T_ASSERT(ireply_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	T_STREQ(r.attendee, "peter.psykiatri@region.example");
	T_STREQ(r.uid, "kip-meeting-42@kommune.example");
	T_ASSERT(r.partstat == IREPLY_ACCEPTED);
	buf_free(&b);
}

static void test_outlook(void)
{
	struct ireply r;
	char err[128] = "";

	T_ASSERT(parse_str(outlook, &r, err, sizeof(err)) == 0);
	T_STREQ(err, "");
	T_STREQ(r.uid, "kip-meeting-7@kommune.example");
	T_ASSERT(r.sequence == 0);
	T_STREQ(r.attendee, "jonas.job@jobcenter.example");
	T_ASSERT(r.partstat == IREPLY_TENTATIVE);
	T_STREQ(ireply_partstat_name(r.partstat), "TENTATIVE");
}

static void test_apple(void)
{
	struct ireply r;
	char err[128] = "";

	T_ASSERT(parse_str(apple, &r, err, sizeof(err)) == 0);
	T_STREQ(err, "");
	T_STREQ(r.uid, "kip-meeting-9@kommune.example");
	T_ASSERT(r.sequence == 3);
	T_STREQ(r.attendee, "borger@borger.example");
	T_ASSERT(r.partstat == IREPLY_DECLINED);
	T_STREQ(ireply_partstat_name(r.partstat), "DECLINED");
}

/* No SEQUENCE means 0; a length is honoured (no NUL needed after it). */
static void test_minimal_and_length(void)
{
	struct ireply r;
	char err[128] = "";
	static const char two[] =
	    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n" E_UID E_ATT
	    "END:VEVENT\r\nEND:VCALENDAR\r\nGARBAGE AFTER THE LENGTH";

	T_ASSERT(parse_parts(M_REPLY, E_UID E_ATT, &r, err, sizeof(err)) == 0);
	T_ASSERT(r.sequence == 0);
	T_STREQ(r.attendee, "anna@kommune.example");
	T_ASSERT(ireply_parse(two,
			      strlen(two) - strlen("GARBAGE AFTER THE LENGTH"),
			      &r, err, sizeof(err)) == 0);
	T_STREQ(r.uid, "kip-meeting-1@kommune.example");
}

/* A UID of 255 bytes fits; the lower-casing touches ASCII only. */
static void test_limits(void)
{
	struct buf ev = BUF_INIT;
	struct ireply r;
	char err[128] = "", uid[256];

	memset(uid, 'u', 255);
	uid[255] = '\0';
	T_ASSERT(buf_printf(&ev, "UID:%s\r\n" E_ATT, uid) == 0);
	T_ASSERT(parse_parts(M_REPLY, ev.data, &r, err, sizeof(err)) == 0);
	T_ASSERT(strlen(r.uid) == 255);
	buf_free(&ev);
	T_ASSERT(parse_parts(M_REPLY,
			     E_UID "ATTENDEE;PARTSTAT=ACCEPTED:MAILTO:\xc3\x86"
				   "BLE@Kommune.EXAMPLE\r\n",
			     &r, err, sizeof(err)) == 0);
	T_STREQ(r.attendee, "\xc3\x86"
			    "ble@kommune.example");
}

/* ---- refusals ---------------------------------------------------------- */

static void test_not_icalendar(void)
{
	static const char nul[] = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\0\r\n";
	char *big;

	refused_raw("", 0, "not iCalendar");
	refused_raw("hello, this is not a calendar\r\n", 31, "not iCalendar");
	refused_raw(nul, sizeof(nul) - 1, "not iCalendar");
	refused_raw("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n", 31, "not iCalendar");
	refused_raw("BEGIN:VEVENT\r\n" E_UID E_ATT "END:VEVENT\r\n",
		    strlen("BEGIN:VEVENT\r\n" E_UID E_ATT "END:VEVENT\r\n"),
		    "not iCalendar");
	big = malloc(IREPLY_MAX_BYTES + 2);
	T_ASSERT(big != NULL);
	if (big) {
		memset(big, 'X', IREPLY_MAX_BYTES + 1);
		memcpy(big, "BEGIN:VCALENDAR\r\nX-A:", 21);
		refused_raw(big, IREPLY_MAX_BYTES + 1, "not iCalendar");
		free(big);
	}
}

static void test_two_calendars(void)
{
	static const char two[] =
	    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n" E_UID E_ATT
	    "END:VEVENT\r\nEND:VCALENDAR\r\n"
	    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n" E_UID E_ATT
	    "END:VEVENT\r\nEND:VCALENDAR\r\n";

	refused_raw(two, strlen(two), "two VCALENDARs");
}

static void test_method(void)
{
	refused("METHOD:REQUEST\r\n", E_UID E_ATT, "not METHOD:REPLY");
	refused("METHOD:CANCEL\r\n", E_UID E_ATT, "not METHOD:REPLY");
	refused("METHOD:COUNTER\r\n", E_UID E_ATT, "not METHOD:REPLY");
	refused("", E_UID E_ATT, "not METHOD:REPLY");
	refused("METHOD:REPLY\r\nMETHOD:REQUEST\r\n", E_UID E_ATT,
		"not METHOD:REPLY");
	refused("METHOD:X-KIP\r\n", E_UID E_ATT, "not METHOD:REPLY");
}

static void test_events(void)
{
	static const char none[] =
	    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VTODO\r\n" E_UID E_ATT
	    "END:VTODO\r\nEND:VCALENDAR\r\n";
	static const char two[] =
	    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"
	    "BEGIN:VEVENT\r\n" E_UID E_ATT "END:VEVENT\r\n"
	    "BEGIN:VEVENT\r\n" E_UID E_ATT "RECURRENCE-ID:20261201T100000Z\r\n"
	    "END:VEVENT\r\nEND:VCALENDAR\r\n";

	refused_raw(none, strlen(none), "no VEVENT");
	refused_raw(two, strlen(two), "two VEVENTs");
}

static void test_uid(void)
{
	struct buf ev = BUF_INIT;
	char uid[300];

	refused(M_REPLY, E_ATT, "no UID");
	refused(M_REPLY, E_UID E_UID E_ATT, "two UIDs");
	/* libical drops a UID without a value */
	refused(M_REPLY, "UID:\r\n" E_ATT, "no UID");
	memset(uid, 'u', 256);
	uid[256] = '\0';
	T_ASSERT(buf_printf(&ev, "UID:%s\r\n" E_ATT, uid) == 0);
	refused(M_REPLY, ev.data, "bad UID");
	buf_free(&ev);
	/* TEXT escapes are undone by libical; a control char is refused */
	refused(M_REPLY, "UID:a\\nb\r\n" E_ATT, "bad UID");
}

static void test_sequence(void)
{
	refused(M_REPLY, E_UID "SEQUENCE:-1\r\n" E_ATT, "bad SEQUENCE");
	refused(M_REPLY, E_UID "SEQUENCE:1\r\nSEQUENCE:2\r\n" E_ATT,
		"bad SEQUENCE");
}

static void test_attendee(void)
{
	refused(M_REPLY, E_UID, "no ATTENDEE");
	refused(M_REPLY,
		E_UID E_ATT
		"ATTENDEE;PARTSTAT=DECLINED:mailto:bo@region.example\r\n",
		"two ATTENDEEs");
	refused(M_REPLY, E_UID "ATTENDEE;PARTSTAT=ACCEPTED:urn:uuid:1234\r\n",
		"ATTENDEE not mailto:");
	refused(M_REPLY,
		E_UID "ATTENDEE;PARTSTAT=ACCEPTED:anna@kommune.example\r\n",
		"ATTENDEE not mailto:");
	refused(M_REPLY, E_UID "ATTENDEE;PARTSTAT=ACCEPTED:mailto:\r\n",
		"bad ATTENDEE address");
	refused(M_REPLY, E_UID "ATTENDEE;PARTSTAT=ACCEPTED:mailto:anna\r\n",
		"bad ATTENDEE address");
	refused(M_REPLY,
		E_UID
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:anna @kommune.example\r\n",
		"bad ATTENDEE address");
}

static void test_partstat(void)
{
	refused(M_REPLY, E_UID "ATTENDEE:mailto:anna@kommune.example\r\n",
		"no PARTSTAT");
	refused(
	    M_REPLY,
	    E_UID
	    "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:anna@kommune.example\r\n",
	    "unknown PARTSTAT");
	refused(M_REPLY,
		E_UID
		"ATTENDEE;PARTSTAT=DELEGATED:mailto:anna@kommune.example\r\n",
		"unknown PARTSTAT");
	refused(M_REPLY,
		E_UID
		"ATTENDEE;PARTSTAT=X-MAYBE:mailto:anna@kommune.example\r\n",
		"unknown PARTSTAT");
	refused(M_REPLY,
		E_UID
		"ATTENDEE;PARTSTAT=COMPLETED:mailto:anna@kommune.example\r\n",
		"unknown PARTSTAT");
}

/* ---- from our own invitation ------------------------------------------- */

/* Unfolds a content-line object and applies one substitution per pair. */
static char *to_reply(const char *ics, const char *const *subst, size_t n)
{
	struct buf b = BUF_INIT, out = BUF_INIT;
	const char *p;

	for (p = ics; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n' && p[2] == ' ') {
			p += 2;
			continue;
		}
		T_ASSERT(buf_append(&b, p, 1) == 0);
	}
	p = b.data;
	while (*p) {
		size_t i;

		for (i = 0; i < n; i += 2) {
			size_t k = strlen(subst[i]);

			if (strncmp(p, subst[i], k) == 0) {
				T_ASSERT(buf_puts(&out, subst[i + 1]) == 0);
				p += k;
				break;
			}
		}
		if (i >= n)
			T_ASSERT(buf_append(&out, p++, 1) == 0);
	}
	buf_free(&b);
	return buf_steal(&out);
}

static void test_from_ical_build(void)
{
	static const char *const one[] = {"Anna.Andersen@Kommune.example"};
	static const char *const two[] = {"anna@kommune.example",
					  "bo@region.example"};
	static const char *const subst[] = {
	    "METHOD:REQUEST",	 "METHOD:REPLY", "PARTSTAT=NEEDS-ACTION",
	    "PARTSTAT=DECLINED", ";RSVP=TRUE",	 "",
	};
	struct ical_event ev = {
	    .method = ICAL_REQUEST,
	    .uid = "kip-meeting-4711@kommune.example",
	    .sequence = 5,
	    .dtstamp = 2111111111,
	    .start_local = "2036-12-01T10:00",
	    .duration_min = 90,
	    .summary = "Netv\xc3\xa6rksm\xc3\xb8\x64\x65 om en koordinerende "
		       "indsatsplan, opf\xc3\xb8lgning",
	    .location = "R\xc3\xa5\x64huset, lokale 3",
	    .organizer_name = "Kip Nord",
	    .organizer_email = "kip@kommune.example",
	    .attendees = one,
	    .n_attendees = 1,
	};
	struct buf ics = BUF_INIT;
	struct ireply r;
	char err[128] = "", *reply;

	T_ASSERT(tzone_use("Europe/Copenhagen", err, sizeof(err)) == 0);
	T_ASSERT(ical_build(&ev, &ics) == 0);
	/* As it is, a REQUEST. */
	T_ASSERT(ireply_parse(ics.data, ics.len, &r, err, sizeof(err)) ==
		 -EINVAL);
	T_STREQ(err, "not METHOD:REPLY");

	reply = to_reply(ics.data, subst, sizeof(subst) / sizeof(subst[0]));
	T_ASSERT(reply && strstr(reply, "METHOD:REPLY"));
	T_ASSERT(ireply_parse(reply, strlen(reply), &r, err, sizeof(err)) == 0);
	T_STREQ(r.uid, "kip-meeting-4711@kommune.example");
	T_ASSERT(r.sequence == 5);
	T_STREQ(r.attendee, "anna.andersen@kommune.example");
	T_ASSERT(r.partstat == IREPLY_DECLINED);
	free(reply);

	/* Our REQUEST for two, turned into a REPLY as it is: two ATTENDEEs. */
	ev.attendees = two;
	ev.n_attendees = 2;
	ics.len = 0;
	T_ASSERT(ical_build(&ev, &ics) == 0);
	reply = to_reply(ics.data, subst, sizeof(subst) / sizeof(subst[0]));
	T_ASSERT(ireply_parse(reply, strlen(reply), &r, err, sizeof(err)) ==
		 -EINVAL);
	T_STREQ(err, "two ATTENDEEs");
	free(reply);
	buf_free(&ics);
}

/* ---- garbage ----------------------------------------------------------- */

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Thousands of damaged replies: flipped bytes, cut short, lines doubled.
 * Each gives 0 with a complete result, or -EINVAL with a reason; ASan
 * and UBSan watch the rest. libical writes nothing to
 * stderr meanwhile (it would for an END before its BEGIN). */
static void test_mutations(void)
{
	const char *base[] = {thunderbird, outlook, apple};
	size_t ok = 0, bad = 0;
	FILE *quiet = tmpfile();
	int saved = dup(2);
	struct stat st;

	T_ASSERT(quiet && saved >= 0);
	if (!quiet || saved < 0)
		return;
	fflush(stderr);
	dup2(fileno(quiet), 2);

	for (int i = 0; i < 3000; i++) {
		const char *src = base[i % 3];
		size_t len = strlen(src);
		char *m = malloc(len * 2 + 1);
		size_t mlen = len;
		struct ireply r;
		char err[128] = "";
		int res;

		T_ASSERT(m != NULL);
		if (!m)
			break;
		memcpy(m, src, len);
		switch (rnd() % 4) {
		case 0: /* flip some bytes */
			for (int k = 0; k < 1 + (int)(rnd() % 8); k++)
				m[rnd() % len] = (char)(rnd() % 255 + 1);
			break;
		case 1: /* cut short */
			mlen = rnd() % len;
			break;
		case 2: { /* a stretch doubled */
			size_t a = rnd() % len, n = rnd() % (len - a);

			memcpy(m + len, m + a, n);
			mlen = len + n;
			break;
		}
		default: /* structural characters */
			for (int k = 0; k < 4; k++)
				m[rnd() % len] = ":;=\",\r\n "[rnd() % 8];
			break;
		}
		res = ireply_parse(m, mlen, &r, err, sizeof(err));
		T_ASSERT(res == 0 || (res == -EINVAL && err[0]));
		if (res == 0) {
			T_ASSERT(r.uid[0] && strlen(r.uid) < sizeof(r.uid));
			T_ASSERT(strchr(r.attendee, '@'));
			T_ASSERT(r.partstat == IREPLY_ACCEPTED ||
				 r.partstat == IREPLY_DECLINED ||
				 r.partstat == IREPLY_TENTATIVE);
			ok++;
		} else {
			bad++;
		}
		free(m);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	T_ASSERT(fstat(fileno(quiet), &st) == 0 && st.st_size == 0);
	fclose(quiet);
	/* Both outcomes occur, or the mutations test nothing. */
	T_ASSERT(ok > 100 && bad > 100);
}

T_MAIN(T_CASE(test_thunderbird), T_CASE(test_thunderbird_lf),
       T_CASE(test_outlook), T_CASE(test_apple),
       T_CASE(test_minimal_and_length), T_CASE(test_limits),
       T_CASE(test_not_icalendar), T_CASE(test_two_calendars),
       T_CASE(test_method), T_CASE(test_events), T_CASE(test_uid),
       T_CASE(test_sequence), T_CASE(test_attendee), T_CASE(test_partstat),
       T_CASE(test_from_ical_build), T_CASE(test_mutations))
