/* ireply.c — iMIP replies read with libical; see ireply.h.
 *
 * libical parses leniently: a line it cannot read becomes an X-LIC-ERROR
 * property, unknown parameters are dropped. So the parse tree is only a
 * start: every property the reply is judged by is counted and checked
 * here, and anything missing or doubled is refused by name.
 */
#include "ireply.h"

#include <errno.h>
#include <libical/ical.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAILTO "mailto:"

static int fail(char *err, size_t errlen, const char *reason)
{
	snprintf(err, errlen, "%s", reason);
	return -EINVAL;
}

const char *ireply_partstat_name(enum ireply_partstat p)
{
	switch (p) {
	case IREPLY_ACCEPTED:
		return "ACCEPTED";
	case IREPLY_DECLINED:
		return "DECLINED";
	case IREPLY_TENTATIVE:
		return "TENTATIVE";
	}
	return "?";
}

/* A value we copy out: shorter than SIZE, no control character (UTF-8
 * bytes above 0x7f pass; libical has unfolded the lines). */
static bool plain_value(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The UID of the one VEVENT into ret (sizeof ret->uid). */
static int read_uid(icalcomponent *ev, struct ireply *ret, char *err,
		    size_t errlen)
{
	icalproperty *p;
	const char *uid;

	switch (icalcomponent_count_properties(ev, ICAL_UID_PROPERTY)) {
	case 0:
		return fail(err, errlen, "no UID");
	case 1:
		break;
	default:
		return fail(err, errlen, "two UIDs");
	}
	p = icalcomponent_get_first_property(ev, ICAL_UID_PROPERTY);
	uid = p ? icalproperty_get_uid(p) : NULL;
	if (!uid || !plain_value(uid, sizeof(ret->uid)))
		return fail(err, errlen, "bad UID");
	memcpy(ret->uid, uid, strlen(uid) + 1);
	return 0;
}

static int read_sequence(icalcomponent *ev, struct ireply *ret, char *err,
			 size_t errlen)
{
	icalproperty *p;
	int n = icalcomponent_count_properties(ev, ICAL_SEQUENCE_PROPERTY);

	ret->sequence = 0;
	if (n == 0)
		return 0;
	p = icalcomponent_get_first_property(ev, ICAL_SEQUENCE_PROPERTY);
	if (n > 1 || !p || icalproperty_get_sequence(p) < 0)
		return fail(err, errlen, "bad SEQUENCE");
	ret->sequence = icalproperty_get_sequence(p);
	return 0;
}

/* The address of a "mailto:" URI, lower-cased, into ret->attendee. */
static int read_address(const char *uri, struct ireply *ret, char *err,
			size_t errlen)
{
	const char *addr;
	size_t n;

	if (!uri || strncasecmp(uri, MAILTO, strlen(MAILTO)) != 0)
		return fail(err, errlen, "ATTENDEE not mailto:");
	addr = uri + strlen(MAILTO);
	if (!plain_value(addr, sizeof(ret->attendee)) || !strchr(addr, '@') ||
	    strchr(addr, ' '))
		return fail(err, errlen, "bad ATTENDEE address");
	n = strlen(addr);
	for (size_t i = 0; i < n; i++) {
		char c = addr[i];

		ret->attendee[i] =
		    c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	ret->attendee[n] = '\0';
	return 0;
}

static int read_attendee(icalcomponent *ev, struct ireply *ret, char *err,
			 size_t errlen)
{
	icalproperty *p;
	icalparameter *ps;
	int r;

	switch (icalcomponent_count_properties(ev, ICAL_ATTENDEE_PROPERTY)) {
	case 0:
		return fail(err, errlen, "no ATTENDEE");
	case 1:
		break;
	default:
		return fail(err, errlen, "two ATTENDEEs");
	}
	p = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY);
	if (!p)
		return fail(err, errlen, "no ATTENDEE");
	r = read_address(icalproperty_get_attendee(p), ret, err, errlen);
	if (r < 0)
		return r;
	ps = icalproperty_get_first_parameter(p, ICAL_PARTSTAT_PARAMETER);
	if (!ps)
		return fail(err, errlen, "no PARTSTAT");
	if (icalproperty_get_next_parameter(p, ICAL_PARTSTAT_PARAMETER))
		return fail(err, errlen, "unknown PARTSTAT");
	switch (icalparameter_get_partstat(ps)) {
	case ICAL_PARTSTAT_ACCEPTED:
		ret->partstat = IREPLY_ACCEPTED;
		return 0;
	case ICAL_PARTSTAT_DECLINED:
		ret->partstat = IREPLY_DECLINED;
		return 0;
	case ICAL_PARTSTAT_TENTATIVE:
		ret->partstat = IREPLY_TENTATIVE;
		return 0;
	default:
		return fail(err, errlen, "unknown PARTSTAT");
	}
}

/* ---- the component structure, before libical sees it ------------------ */

#define NAME_MAX_LEN 64 /* longest component name we follow */
#define DEPTH_MAX 8	/* VCALENDAR > VTIMEZONE > STANDARD is 3 */

/* The next content line of [*p, end), unfolded (a line break followed by
 * a space or tab continues the line), of which the first sizeof(line)-1
 * bytes go into LINE. CR before LF is dropped. Advances *p. */
static void next_line(const char **p, const char *end, char *line, size_t size)
{
	size_t n = 0;
	const char *s = *p;

	while (s < end) {
		if (*s == '\n') {
			if (s + 1 < end && (s[1] == ' ' || s[1] == '\t')) {
				s += 2;
				continue;
			}
			s++;
			break;
		}
		if (*s != '\r' || (s + 1 < end && s[1] != '\n'))
			if (n + 1 < size)
				line[n++] = *s;
		s++;
	}
	line[n] = '\0';
	*p = s;
}

/*
 * libical writes "Encountered END before BEGIN" to stderr for an END
 * without its BEGIN, and takes lines outside any component as it can. So
 * the nesting is checked here first: the object is one VCALENDAR, every
 * END closes the innermost BEGIN of the same name, nothing but blank
 * lines stands outside it, and nesting is at most DEPTH_MAX deep.
 */
static int check_structure(const char *s, size_t len, char *err, size_t errlen)
{
	char stack[DEPTH_MAX][NAME_MAX_LEN + 1];
	char line[NAME_MAX_LEN + 16];
	const char *p = s, *end = s + len;
	int depth = 0, calendars = 0;

	while (p < end) {
		const char *name;
		bool begin;

		next_line(&p, end, line, sizeof(line));
		if (line[0] == '\0')
			continue;
		/* libical takes "END;X=1:..." for an END as well */
		if (strncasecmp(line, "BEGIN", 5) == 0 &&
		    (line[5] == ':' || line[5] == ';')) {
			begin = true;
			name = line + 5;
		} else if (strncasecmp(line, "END", 3) == 0 &&
			   (line[3] == ':' || line[3] == ';')) {
			begin = false;
			name = line + 3;
		} else {
			if (depth == 0)
				return fail(err, errlen, "not iCalendar");
			continue;
		}
		if (*name++ != ':' || *name == '\0' ||
		    strlen(name) > NAME_MAX_LEN)
			return fail(err, errlen, "not iCalendar");
		if (begin) {
			if (depth == 0 && calendars++ > 0)
				return fail(err, errlen, "two VCALENDARs");
			if ((depth == 0 &&
			     strcasecmp(name, "VCALENDAR") != 0) ||
			    depth == DEPTH_MAX)
				return fail(err, errlen, "not iCalendar");
			snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
		} else {
			if (depth == 0 ||
			    strcasecmp(stack[depth - 1], name) != 0)
				return fail(err, errlen, "not iCalendar");
			depth--;
		}
	}
	if (depth != 0 || calendars == 0)
		return fail(err, errlen, "not iCalendar");
	return 0;
}

/* ---- the parse tree ---------------------------------------------------- */

/* Checks the VCALENDAR and finds its one VEVENT. */
static int find_event(icalcomponent *cal, icalcomponent **ret, char *err,
		      size_t errlen)
{
	icalproperty *m;

	if (icalcomponent_isa(cal) == ICAL_XROOT_COMPONENT &&
	    icalcomponent_count_components(cal, ICAL_VCALENDAR_COMPONENT) > 1)
		return fail(err, errlen, "two VCALENDARs");
	if (icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT)
		return fail(err, errlen, "not iCalendar");
	m = icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY);
	if (!m ||
	    icalcomponent_count_properties(cal, ICAL_METHOD_PROPERTY) != 1 ||
	    icalproperty_get_method(m) != ICAL_METHOD_REPLY)
		return fail(err, errlen, "not METHOD:REPLY");
	switch (icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT)) {
	case 0:
		return fail(err, errlen, "no VEVENT");
	case 1:
		break;
	default:
		return fail(err, errlen, "two VEVENTs");
	}
	*ret = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	return *ret ? 0 : fail(err, errlen, "no VEVENT");
}

int ireply_parse(const char *ics, size_t len, struct ireply *out, char *err,
		 size_t errlen)
{
	icalcomponent *cal = NULL, *ev = NULL;
	struct ireply rep;
	char *text;
	int r;

	/* libical reads a C string: no NUL inside, one at the end. */
	if (!ics || len == 0 || len > IREPLY_MAX_BYTES ||
	    memchr(ics, '\0', len))
		return fail(err, errlen, "not iCalendar");
	r = check_structure(ics, len, err, errlen);
	if (r < 0)
		return r;
	text = malloc(len + 1);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(text, ics, len);
	text[len] = '\0';
	cal = icalparser_parse_string(text);
	free(text);
	if (!cal)
		return fail(err, errlen, "not iCalendar");

	memset(&rep, 0, sizeof(rep));
	r = find_event(cal, &ev, err, errlen);
	if (r == 0)
		r = read_uid(ev, &rep, err, errlen);
	if (r == 0)
		r = read_sequence(ev, &rep, err, errlen);
	if (r == 0)
		r = read_attendee(ev, &rep, err, errlen);
	if (r == 0)
		*out = rep;
	icalcomponent_free(cal);
	return r;
}
