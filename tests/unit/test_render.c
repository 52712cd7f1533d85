/* test_render.c — the plan rendered as text and HTML.
 *
 * Runs from the repository root. The master data are fictional people.
 * "Contains" checks compare with white space collapsed, so that wrapping
 * and indentation do not matter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fixture.h"
#include "plandoc.h"
#include "render.h"
#include "t.h"

static const struct render_person participants[] = {
    {"Ida Fiktiv", "sygeplejerske", "Distriktspsykiatrien Opdigtetby",
     "ida.fiktiv@example.invalid", "11 22 33 44"},
    {"Bo Eksempel", "sagsbehandler", "Jobcenter Opdigtetby", NULL, NULL},
    {"Kim Prøve", NULL, NULL, NULL, NULL},
};

static const struct render_master master = {
    .plan_id = 42,
    .version = 3,
    .name = "Niels Opdigtet",
    .cpr = "010170-0000",
    .address = "Fiktivvej 1, 9999 Opdigtetby",
    .phone = "12 34 56 78",
    .basis = BASIS_PSYCH_PATIENT | BASIS_SUBST_NEED,
    .consent = true,
    .coordinator = {"Ida Fiktiv", "sygeplejerske",
		    "Distriktspsykiatrien Opdigtetby",
		    "ida.fiktiv@example.invalid", "11 22 33 44"},
    .participants = participants,
    .n_participants = 3,
    .meeting_date = "2014-05-01",
    .approved = true,
};

/* s with every run of white space as one space (caller frees). */
static char *squash(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	int in_space = 0;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t') {
			in_space = 1;
			continue;
		}
		if (in_space && o > out)
			*o++ = ' ';
		in_space = 0;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* What an HTML rendering makes of value s. */
static char *html_of(const char *s)
{
	struct buf b = BUF_INIT;

	buf_append(&b, "", 0);
	for (; *s; s++) {
		switch (*s) {
		case '&':
			buf_puts(&b, "&amp;");
			break;
		case '<':
			buf_puts(&b, "&lt;");
			break;
		case '>':
			buf_puts(&b, "&gt;");
			break;
		case '"':
			buf_puts(&b, "&quot;");
			break;
		case '\'':
			buf_puts(&b, "&#39;");
			break;
		case '\n':
			buf_puts(&b, "<br>\n");
			break;
		default:
			buf_append(&b, s, 1);
			break;
		}
	}
	return buf_steal(&b);
}

/* Asserts that out (squashed) contains value, as text or as HTML. */
static int has(const char *squashed_out, const char *value, int html)
{
	char *v = html ? html_of(value) : strdup(value), *sv = squash(v);
	int found = sv && strstr(squashed_out, sv) != NULL;

	if (!found)
		printf("  missing: \"%.100s\"\n", sv ? sv : "(null)");
	free(sv);
	free(v);
	return found;
}

/* Every text of the document appears in the rendering. */
static void check_all_values(const struct plandoc *d, const char *out, int html)
{
	char *s = squash(out);
	size_t i, j;

	T_ASSERT(s != NULL);
	if (!s)
		return;
	for (i = 0; i < PLANDOC_EXISTING; i++) {
		const struct plandoc_existing *e = &d->existing[i];

		if (e->status)
			T_ASSERT(has(s, e->status, html));
		if (e->goals)
			T_ASSERT(has(s, e->goals, html));
		if (e->actions)
			T_ASSERT(has(s, e->actions, html));
	}
	for (i = 0; i < d->n_challenges; i++)
		T_ASSERT(has(s, d->challenges[i], html));
	for (i = 0; i < d->n_goals; i++) {
		T_ASSERT(has(s, d->goals[i].goal, html));
		for (j = 0; j < d->goals[i].n_actions; j++) {
			const struct plandoc_action *a =
			    &d->goals[i].actions[j];

			T_ASSERT(has(s, a->action, html));
			T_ASSERT(has(s, a->success, html));
			T_ASSERT(has(s, a->responsibility, html));
			T_ASSERT(has(s, a->timeline, html));
		}
	}
	T_ASSERT(has(s, d->no_show, html));
	free(s);
}

static char *render(const struct render_master *m, const struct plandoc *d,
		    enum render_format fmt, const char *lang)
{
	struct buf b = BUF_INIT;
	int r = render_plan(m, d, fmt, lang, &b);

	T_ASSERT(r == 0);
	if (r < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* Code points in s[0..n). */
static size_t cps(const char *s, size_t n)
{
	size_t w = 0, i;

	for (i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

/* No trailing spaces, no tabs, lines of at most 78 code points unless
 * they end in a word too long for any line. */
static void check_text_layout(const char *out)
{
	const char *line = out, *nl;
	size_t n, lines = 0;

	while ((nl = strchr(line, '\n'))) {
		const char *p = line;

		n = (size_t)(nl - line);
		lines++;
		if (n && line[n - 1] == ' ')
			printf("  trailing space: \"%.*s\"\n", (int)n, line);
		T_ASSERT(!n || line[n - 1] != ' ');
		T_ASSERT(memchr(line, '\t', n) == NULL);
		for (p = nl; p > line && p[-1] != ' '; p--)
			;
		if (cps(line, n) > 78 && cps(p, (size_t)(nl - p)) < 60) {
			printf("  too long: \"%.*s\"\n", (int)n, line);
			T_ASSERT(0);
		}
		line = nl + 1;
	}
	T_ASSERT(*line == '\0'); /* ends with a newline */
	T_ASSERT(lines > 20);
}

static void test_text_da(void)
{
	struct plandoc *d = load_bilag2();
	char *out = d ? render(&master, d, RENDER_TEXT, "da") : NULL, *s;
	size_t i;
	static const char *const want[] = {
	    "Koordinerende indsatsplan",
	    "1. Stamoplysninger",
	    "Navn: Niels Opdigtet",
	    "Cpr. nr.: 010170-0000",
	    "Adresse: Fiktivvej 1, 9999 Opdigtetby",
	    "Telefon: 12 34 56 78",
	    "[X] Borgeren er patient i den ambulante psykiatri, har en "
	    "psykiatrisk diagnose eller er i udredning herfor.",
	    "[ ] Borgeren er i stof- og/eller alkoholbehandling eller er "
	    "henvist hertil",
	    "[ ] Borgeren vurderes at have behov for psykiatrisk behandling",
	    "[X] Borgeren vurderes at have behov for stof- og/eller "
	    "alkoholbehandling, men er aktuelt ikke i behandling",
	    "Samtykke: Borgeren har givet samtykke til, at der indhentes og "
	    "udveksles informationer samt udarbejdes en indsatsplan. "
	    "[X] Ja [ ] Nej",
	    "Koordinator: Ida Fiktiv, sygeplejerske, Distriktspsykiatrien "
	    "Opdigtetby, ida.fiktiv@example.invalid, 11 22 33 44",
	    "Deltagere i koordinationsmødet: - Ida Fiktiv",
	    "- Bo Eksempel, sagsbehandler, Jobcenter Opdigtetby - Kim Prøve",
	    "Dato for koordinationsmødet: 1.5.2014",
	    "Indsatsplan er godkendt af borger: [X] Ja [ ] Nej",
	    "2. Afdækning af status, mål og indsatser i eksisterende planer",
	    "Psykiatrisk behandlingsplan (Psykiatriloven § 3 stk. 3) Status: "
	    "Behandlingsplan",
	    "Andet Status: — Mål: — Indsats: —",
	    "1. Støtte til stabilt fremmøde",
	    "2. Behandling for angstlidelse",
	    "3. Beskæftigelsesplan",
	    "4. Fælles mål og prioritering",
	    "Mål 1: Fastholdelse i psykiatrisk behandling",
	    "Mål 2: Motivere til misbrugsbehandling",
	    "Mål 3: Kontakt til Jobcenter",
	    "Indsatser eller opgaver: Fastholdelse",
	    "Succeskriterier: ",
	    "Rollefordeling – hvem har ansvaret for indsatsen, herunder "
	    "borgerens ansvar?",
	    "Tidsplan for indsatser: ",
	    "Aftale om reaktion ved udeblivelse: Det kan aftales",
	    "5. Opfølgning",
	    "Opfølgende møde afholdes den 1.10.2014 (max 6 mdr. efter "
	    "udarbejdelsen af indsatsplanen)",
	    "Plan 42, version 3",
	};

	T_ASSERT(d && out);
	if (!d || !out)
		goto out;
	check_all_values(d, out, 0);
	check_text_layout(out);
	s = squash(out);
	for (i = 0; s && i < sizeof(want) / sizeof(want[0]); i++)
		T_ASSERT(has(s, want[i], 0));
	for (i = 0; i < PLANDOC_EXISTING; i++)
		T_CONTAINS(s, plandoc_kinds[i].da);
	free(s);
	/* the kinds come in template order */
	T_ASSERT(strstr(out, plandoc_kinds[0].da) <
		 strstr(out, plandoc_kinds[7].da));
out:
	free(out);
	plandoc_free(d);
}

static void test_text_en(void)
{
	struct plandoc *d = load_bilag2();
	char *out = d ? render(&master, d, RENDER_TEXT, "en") : NULL, *s;
	size_t i;
	static const char *const want[] = {
	    "Coordinated action plan",
	    "1. Master data",
	    "Name: Niels Opdigtet",
	    "[X] The citizen is a patient in outpatient psychiatry",
	    "Consent: The citizen has consented",
	    "[X] Yes [ ] No",
	    "Date of the coordination meeting: 1 May 2014",
	    "Goal 1: Fastholdelse i psykiatrisk behandling",
	    "Actions or tasks: ",
	    "Success criteria: ",
	    "Timeline for the actions: ",
	    "including the citizen's own part?",
	    "Agreed reaction if the citizen does not turn up: Det kan aftales",
	    "The follow-up meeting is held on 1 October 2014 (at most 6 months",
	    "Plan 42, version 3",
	};

	T_ASSERT(d && out);
	if (!d || !out)
		goto out;
	check_all_values(d, out, 0);
	check_text_layout(out);
	s = squash(out);
	for (i = 0; s && i < sizeof(want) / sizeof(want[0]); i++)
		T_ASSERT(has(s, want[i], 0));
	for (i = 0; i < PLANDOC_EXISTING; i++)
		T_CONTAINS(s, plandoc_kinds[i].en);
	free(s);
	T_ASSERT(strstr(out, "Stamoplysninger") == NULL);
out:
	free(out);
	plandoc_free(d);
}

static void test_wrap(void)
{
	static const char word[] =
	    "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct plandoc_action act = {
	    "æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå "
	    "æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå æøå",
	    (char *)word, "Linje 1\nLinje 2\n\n  1) Indrykket", NULL};
	struct plandoc_goal goal = {"Mål", &act, 1};
	struct plandoc d = {.goals = &goal, .n_goals = 1};
	char *out = render(&master, &d, RENDER_TEXT, "da");

	T_ASSERT(out != NULL);
	if (!out)
		return;
	check_text_layout(out);
	T_CONTAINS(out, word);
	/* 22 × "æøå " = 88 code points, 154 bytes: wrapped by code points */
	T_CONTAINS(out, "  Indsatser eller opgaver: æøå æøå");
	T_CONTAINS(out, "\n    æøå");
	T_CONTAINS(out, "Linje 1\n    Linje 2\n\n      1) Indrykket\n");
	T_CONTAINS(out, "Tidsplan for indsatser: —\n");
	free(out);
}

static void test_html(void)
{
	struct plandoc *d = load_bilag2();
	char *out = d ? render(&master, d, RENDER_HTML, "da") : NULL, *s;
	const char *p;
	int tables = 0;

	T_ASSERT(d && out);
	if (!d || !out)
		goto out;
	T_ASSERT(strncmp(out, "<!DOCTYPE html>", 15) == 0);
	T_CONTAINS(out, "<html lang=\"da\">");
	T_CONTAINS(out, "<meta charset=\"utf-8\">");
	T_CONTAINS(out, "<style>");
	T_CONTAINS(out, "</html>\n");
	for (p = out; (p = strstr(p, "<table>")); p++)
		tables++;
	T_ASSERT(tables == 2 + 3); /* sections 1 and 2, one per goal */
	T_ASSERT(strstr(out, "src=") == NULL);
	T_ASSERT(strstr(out, "href=") == NULL);
	T_ASSERT(strstr(out, "http") == NULL);
	T_ASSERT(strstr(out, "url(") == NULL);
	T_ASSERT(strstr(out, "<script") == NULL);
	T_ASSERT(strstr(out, "<link") == NULL);
	T_ASSERT(strstr(out, "<img") == NULL);
	T_ASSERT(strstr(out, "@import") == NULL);
	T_CONTAINS(out, "\u2612</span> Borgeren er patient");
	T_CONTAINS(out, "\u2610</span> Borgeren er i stof-");
	T_CONTAINS(out,
		   "<h3>Mål 1: Fastholdelse i psykiatrisk behandling</h3>");
	T_CONTAINS(out, "<th>Indsatser eller opgaver</th>");
	T_CONTAINS(out, "<td>1.5.2014</td>");
	T_CONTAINS(out, "<strong>1.10.2014</strong>");
	T_CONTAINS(out, "/DF40.01 agorafobi med panikangst/<br>\n");
	T_CONTAINS(out, "Plan 42, version 3");
	check_all_values(d, out, 1);
	s = squash(out);
	T_ASSERT(s && has(s, "Kim Prøve", 1));
	free(s);
	free(out);
	out = render(&master, d, RENDER_HTML, "en");
	T_CONTAINS(out, "<html lang=\"en\">");
	T_CONTAINS(out, "<td>1 May 2014</td>");
	T_CONTAINS(out, "<strong>1 October 2014</strong>");
	if (out)
		check_all_values(d, out, 1);
out:
	free(out);
	plandoc_free(d);
}

static void test_html_escaping(void)
{
	static const char evil[] = "<script>&\"'";
	struct plandoc_action act = {(char *)evil, NULL, NULL, NULL};
	struct plandoc_goal goal = {(char *)"a\nb<img src=x>", &act, 1};
	struct plandoc d = {
	    .goals = &goal, .n_goals = 1, .no_show = (char *)evil};
	struct render_master m = master;
	char *out;

	m.name = evil;
	m.coordinator.email = "\"><a href=\"http://x\">";
	out = render(&m, &d, RENDER_HTML, "da");
	T_ASSERT(out != NULL);
	if (!out)
		return;
	T_CONTAINS(out, "<td>&lt;script&gt;&amp;&quot;&#39;</td>");
	T_CONTAINS(out, "<h3>Mål 1: a<br>\nb&lt;img src=x&gt;</h3>");
	T_CONTAINS(out, "&quot;&gt;&lt;a href=&quot;http://x&quot;&gt;");
	T_ASSERT(strstr(out, "<script") == NULL);
	T_ASSERT(strstr(out, "<img") == NULL);
	T_ASSERT(strstr(out, "<a ") == NULL);
	free(out);
}

static void test_null_fields(void)
{
	static const struct render_person nobody[2];
	struct render_master m = {0};
	struct plandoc d = {.n_goals = 0};
	char *out;

	out = render(&m, &d, RENDER_TEXT, "da");
	T_CONTAINS(out, "Navn: —\n");
	T_CONTAINS(out, "Koordinator: —\n");
	T_CONTAINS(out, "Deltagere i koordinationsmødet: —\n");
	T_CONTAINS(out, "Dato for koordinationsmødet: —\n");
	T_CONTAINS(out, "[ ] Ja  [X] Nej");
	T_CONTAINS(out, "Opfølgende møde afholdes den — (max 6 mdr.");
	if (out)
		check_text_layout(out);
	free(out);
	out = render(&m, &d, RENDER_HTML, "en");
	T_CONTAINS(out, "<th>Name</th><td></td>");
	free(out);
	m.n_participants = 2; /* but no array */
	m.meeting_date = "not a date";
	out = render(&m, NULL, RENDER_TEXT, "xx");
	T_CONTAINS(out, "Dato for koordinationsmødet: not a date");
	free(out);
	m.participants = nobody;
	out = render(&m, NULL, RENDER_HTML, NULL);
	T_CONTAINS(out, "<html lang=\"da\">");
	free(out);
	out = render(NULL, NULL, RENDER_TEXT, "en");
	T_CONTAINS(out, "Plan 0, version 0");
	free(out);
}

static void test_bad_bytes(void)
{
	struct render_master m = master;
	char *out;
	size_t i;

	m.name = "\xff\xfe Niels\x1b[31m\r\n\tOpdigtet";
	out = render(&m, NULL, RENDER_TEXT, "da");
	T_ASSERT(out != NULL);
	if (!out)
		return;
	T_CONTAINS(
	    out, "Navn:\n  \xef\xbf\xbd\xef\xbf\xbd Niels[31m\n   Opdigtet\n");
	for (i = 0; out[i]; i++)
		T_ASSERT(out[i] != '\x1b' && out[i] != '\r' && out[i] != '\t');
	free(out);
	out = render(&m, NULL, RENDER_HTML, "da");
	T_CONTAINS(
	    out, "<td>\xef\xbf\xbd\xef\xbf\xbd Niels[31m<br>\n Opdigtet</td>");
	free(out);
}

static void test_appends(void)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "PREFIX\n");
	T_ASSERT(render_plan(&master, NULL, RENDER_TEXT, "da", &b) == 0);
	T_ASSERT(strncmp(b.data, "PREFIX\nKoordinerende indsatsplan\n", 33) ==
		 0);
	buf_free(&b);
}

T_MAIN(T_CASE(test_text_da), T_CASE(test_text_en), T_CASE(test_wrap),
       T_CASE(test_html), T_CASE(test_html_escaping), T_CASE(test_null_fields),
       T_CASE(test_bad_bytes), T_CASE(test_appends))
