/* render.c — a plan in the layout of the template (Bilag 1), as text or
 * HTML; see render.h.
 *
 * Every value passes through clean() first: invalid UTF-8 becomes U+FFFD,
 * control characters other than newline disappear and tabs become spaces,
 * so text output cannot carry terminal escapes and HTML stays well formed
 * whatever the store or the document holds.
 *
 * Output errors are sticky (struct rctx.r): after the first failed append
 * nothing more is written and render_plan returns that error. This keeps
 * the layout code free of an error check after every line.
 */
#include "render.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "render_int.h"

#define WIDTH 78       /* text: columns, counted in code points */
#define EMPTY "\u2014" /* text: an absent value (em dash) */

/* Danish (the template's words) and English. */
static const char *const labels[N_LABELS][2] = {
    [L_TITLE] = {"Koordinerende indsatsplan", "Coordinated action plan"},
    [L_S1] = {"1. Stamoplysninger", "1. Master data"},
    [L_S1_NOTE] = {"Indhentes af den koordinerende funktion inden det "
		   "koordinerende møde",
		   "Collected by the coordinator before the coordination "
		   "meeting"},
    [L_NAME] = {"Navn", "Name"},
    [L_CPR] = {"Cpr. nr.", "CPR no."},
    [L_ADDRESS] = {"Adresse", "Address"},
    [L_PHONE] = {"Telefon", "Phone"},
    [L_BASIS] = {"Grundlag for indsatsplan", "Basis for the action plan"},
    [L_BASIS_NOTE] = {"Der skal min. være én afkrydsning i den øverste "
		      "del.",
		      "At least one box in the upper part must be "
		      "ticked."},
    [L_BASIS1] = {"Borgeren er patient i den ambulante psykiatri, har en "
		  "psykiatrisk diagnose eller er i udredning herfor.",
		  "The citizen is a patient in outpatient psychiatry, "
		  "has a psychiatric diagnosis or is being assessed for "
		  "one."},
    [L_BASIS2] = {"Borgeren er i stof- og/eller alkoholbehandling eller "
		  "er henvist hertil",
		  "The citizen is in drug and/or alcohol treatment or "
		  "has been referred to it"},
    [L_BASIS3] = {"Borgeren vurderes at have behov for psykiatrisk "
		  "behandling, men er aktuelt ikke patient eller under "
		  "udredning.",
		  "The citizen is judged to need psychiatric treatment, "
		  "but is currently not a patient or being assessed."},
    [L_BASIS4] = {"Borgeren vurderes at have behov for stof- og/eller "
		  "alkoholbehandling, men er aktuelt ikke i behandling "
		  "eller henvist hertil.",
		  "The citizen is judged to need drug and/or alcohol "
		  "treatment, but is currently not in treatment or "
		  "referred to it."},
    [L_CONSENT] = {"Samtykke", "Consent"},
    [L_CONSENT_TEXT] = {"Borgeren har givet samtykke til, at der "
			"indhentes og udveksles informationer samt "
			"udarbejdes en indsatsplan.",
			"The citizen has consented to information being "
			"collected and exchanged and to an action plan "
			"being made."},
    [L_YES] = {"Ja", "Yes"},
    [L_NO] = {"Nej", "No"},
    [L_COORD] = {"Koordinator", "Coordinator"},
    [L_PARTICIPANTS] = {"Deltagere i koordinationsmødet",
			"Participants in the coordination meeting"},
    [L_MEETING_DATE] = {"Dato for koordinationsmødet",
			"Date of the coordination meeting"},
    [L_APPROVED] = {"Indsatsplan er godkendt af borger",
		    "Action plan approved by the citizen"},
    [L_S2] = {"2. Afdækning af status, mål og indsatser i eksisterende "
	      "planer",
	      "2. Status, goals and actions in existing plans"},
    [L_S2_NOTE] = {"Information hertil indhentes inden koordinationsmødet "
		   "og udarbejdes af den koordinerende funktion",
		   "Collected before the coordination meeting and written "
		   "up by the coordinator"},
    [L_STATUS] = {"Status", "Status"},
    [L_GOALS] = {"Mål", "Goals"},
    [L_ACTIONS] = {"Indsats", "Actions"},
    [L_S3] = {"3. Identifikation af primære og/eller akutte udfordringer",
	      "3. Primary and/or acute challenges"},
    [L_MEETING_NOTE] = {"Udarbejdes på det koordinerende møde",
			"Agreed at the coordination meeting"},
    [L_S3_LIST] = {"Primære eller akutte udfordringer i prioriteret "
		   "rækkefølge:",
		   "Primary or acute challenges in order of priority:"},
    [L_S4] = {"4. Fælles mål og prioritering", "4. Joint goals and priorities"},
    [L_GOAL] = {"Mål", "Goal"},
    [L_COL_ACTION] = {"Indsatser eller opgaver", "Actions or tasks"},
    [L_COL_SUCCESS] = {"Succeskriterier", "Success criteria"},
    [L_COL_RESP] = {"Rollefordeling – hvem har ansvaret for indsatsen, "
		    "herunder borgerens ansvar?",
		    "Division of roles – who is responsible for the "
		    "action, including the citizen's own part?"},
    [L_COL_TIME] = {"Tidsplan for indsatser", "Timeline for the actions"},
    [L_NO_SHOW] = {"Aftale om reaktion ved udeblivelse",
		   "Agreed reaction if the citizen does not turn up"},
    [L_S5] = {"5. Opfølgning", "5. Follow-up"},
    [L_FOLLOW_UP_PRE] = {"Opfølgende møde afholdes den",
			 "The follow-up meeting is held on"},
    [L_FOLLOW_UP_POST] = {"(max 6 mdr. efter udarbejdelsen af "
			  "indsatsplanen)",
			  "(at most 6 months after the action plan was "
			  "made)"},
};

const unsigned render_basis_bits[4] = {BASIS_PSYCH_PATIENT,
				       BASIS_SUBST_TREATMENT, BASIS_PSYCH_NEED,
				       BASIS_SUBST_NEED};

struct rctx {
	struct buf *out;
	int en; /* index into labels: 0 Danish, 1 English */
	int r;	/* first error; once set, nothing more is written */
};

static const char *L(const struct rctx *c, enum label l)
{
	return labels[l][c->en];
}

/* ---- output primitives ------------------------------------------------- */

static void putn(struct rctx *c, const char *s, size_t n)
{
	if (!c->r)
		c->r = buf_append(c->out, s, n);
}

static void put(struct rctx *c, const char *s)
{
	putn(c, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct rctx *c,
						       const char *fmt, ...)
{
	va_list ap;

	if (c->r)
		return;
	va_start(ap, fmt);
	c->r = buf_vprintf(c->out, fmt, ap);
	va_end(ap);
}

static void spaces(struct rctx *c, size_t n)
{
	static const char sp[] = "                                        ";

	while (n > 0) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;

		putn(c, sp, k);
		n -= k;
	}
}

/* ---- values: UTF-8 and cleaning ------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (NUL-terminated), or 0. */
static size_t u8seq(const unsigned char *s)
{
	size_t n, k;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Code points in s[0..n). */
static size_t width(const char *s, size_t n)
{
	size_t w = 0, i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* A copy of s that is valid UTF-8 without control characters except
 * newline, with trailing white space removed. Caller frees; NULL (and
 * c->r set) when out of memory. */
static char *clean(struct rctx *c, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b = BUF_INIT;
	int r = buf_append(&b, "", 0); /* an empty value is "" */
	size_t n;

	while (!r && *p) {
		n = u8seq(p);
		if (!n)
			r = buf_puts(&b, "\xef\xbf\xbd"), n = 1;
		else if (*p == '\t')
			r = buf_puts(&b, " ");
		else if (*p == '\n' || (*p >= 0x20 && *p != 0x7f))
			r = buf_append(&b, p, n);
		p += n;
	}
	while (!r && b.len &&
	       (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\n'))
		b.data[--b.len] = '\0';
	if (r) {
		buf_free(&b);
		if (!c->r)
			c->r = r;
		return NULL;
	}
	return buf_steal(&b);
}

static int is_empty(const char *s)
{
	return !s || !*s;
}

/* "YYYY-MM-DD" as "1.5.2014" (Danish) or "1 May 2014" (English); anything
 * else is copied as it is. */
static void format_date(const struct rctx *c, const char *iso, char *dst,
			size_t n)
{
	static const char *const months[12] = {
	    "January",	 "February", "March",	 "April",
	    "May",	 "June",     "July",	 "August",
	    "September", "October",  "November", "December"};
	int v[3] = {0, 0, 0}, f = 0, i;

	if (strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-')
		goto as_is;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			f++;
		} else if (iso[i] >= '0' && iso[i] <= '9') {
			v[f] = v[f] * 10 + (iso[i] - '0');
		} else {
			goto as_is;
		}
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
		goto as_is;
	if (c->en)
		snprintf(dst, n, "%d %s %04d", v[2], months[v[1] - 1], v[0]);
	else
		snprintf(dst, n, "%d.%d.%04d", v[2], v[1], v[0]);
	return;
as_is:
	snprintf(dst, n, "%s", iso);
}

/* "name, title, organisation, e-mail, phone" of the parts that are set. */
static char *person_line(struct rctx *c, const struct render_person *p)
{
	const char *parts[5] = {p->name, p->title, p->organisation, p->email,
				p->phone};
	struct buf b = BUF_INIT;
	int r = buf_append(&b, "", 0);
	size_t i;

	for (i = 0; i < 5 && !r; i++) {
		if (is_empty(parts[i]))
			continue;
		if (b.len)
			r = buf_puts(&b, ", ");
		if (!r)
			r = buf_puts(&b, parts[i]);
	}
	if (r) {
		buf_free(&b);
		if (!c->r)
			c->r = r;
		return NULL;
	}
	return buf_steal(&b);
}

/* ---- text ---------------------------------------------------------------- */

/* Width of a list marker ("1) ", "2. ", "- ", "[X] ") at the start of a
 * line, so that continuation lines align with the text after it. */
static size_t marker_width(const char *s, const char *end)
{
	const char *p = s;

	if (end - s > 4 && s[0] == '[' && s[2] == ']' && s[3] == ' ')
		return 4; /* "[X] " */
	while (p < end && p - s < 3 && *p >= '0' && *p <= '9')
		p++;
	if (p > s && p < end && (*p == '.' || *p == ')'))
		p++;
	else if (p == s && p < end && (*p == '-' || *p == '*'))
		p++;
	else
		return 0;
	return p + 1 < end && *p == ' ' ? (size_t)(p - s) + 1 : 0;
}

/* Writes one line of the author's, s[0..end) without trailing spaces,
 * starting at column col; wrapped lines start at indent plus the line's
 * own hanging indent. Words are never split. */
static void wrap_line(struct rctx *c, size_t col, size_t indent, const char *s,
		      const char *end)
{
	size_t lead = 0, hang, wl;
	const char *w;
	int any = 0;

	while (s < end && *s == ' ')
		s++, lead++;
	hang = indent + lead + marker_width(s, end);
	spaces(c, lead);
	col += lead;
	while (s < end) {
		for (w = s; s < end && *s != ' '; s++)
			;
		wl = width(w, (size_t)(s - w));
		if (any && col + 1 + wl > WIDTH) {
			put(c, "\n");
			spaces(c, hang);
			col = hang;
		} else if (any) {
			put(c, " ");
			col++;
		}
		putn(c, w, (size_t)(s - w));
		col += wl;
		any = 1;
		while (s < end && *s == ' ')
			s++;
	}
}

/* Writes clean text s from column col, keeping its line breaks; later
 * lines start at column indent. Ends the last line. */
static void wrap(struct rctx *c, size_t col, size_t indent, const char *s)
{
	const char *e, *end;
	int first = 1;

	for (;;) {
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		for (end = e; end > s && end[-1] == ' '; end--)
			;
		if (!first) {
			put(c, "\n");
			col = 0;
			if (end > s) {
				spaces(c, indent);
				col = indent;
			}
		}
		wrap_line(c, col, indent, s, end);
		first = 0;
		if (!*e)
			break;
		s = e + 1;
	}
	put(c, "\n");
}

/* A paragraph of raw text at indent. */
static void text_para(struct rctx *c, size_t indent, const char *raw)
{
	char *s = clean(c, raw);

	if (!s)
		return;
	spaces(c, indent);
	wrap(c, indent, indent, s);
	free(s);
}

static void text_heading(struct rctx *c, const char *title, const char *ul)
{
	size_t w = width(title, strlen(title));

	put(c, "\n");
	put(c, title);
	put(c, "\n");
	for (w = w > WIDTH ? WIDTH : w; w > 0; w--)
		put(c, ul);
	put(c, "\n");
}

/* "Label: value", the value wrapped under the label. A multi-line value or
 * a long label puts the value on the lines below; an absent value shows
 * as a dash. */
static void text_field(struct rctx *c, size_t indent, const char *label,
		       const char *raw)
{
	char *v = raw ? clean(c, raw) : NULL;
	size_t lw = width(label, strlen(label));
	const char *colon = label[strlen(label) - 1] == '?' ? "" : ":";
	struct buf l = BUF_INIT;

	if (!is_empty(v) && !strchr(v, '\n') && indent + lw < 40) {
		spaces(c, indent);
		putf(c, "%s%s ", label, colon);
		wrap(c, indent + lw + 2, indent + 2, v);
	} else if (buf_printf(&l, "%s%s", label, colon) == 0) {
		spaces(c, indent);
		if (is_empty(v) && indent + lw < 70) {
			putf(c, "%s %s\n", l.data, EMPTY);
		} else {
			wrap(c, indent, indent + 2, l.data);
			spaces(c, indent + 2);
			wrap(c, indent + 2, indent + 2,
			     is_empty(v) ? EMPTY : v);
		}
	} else if (!c->r) {
		c->r = -ENOMEM;
	}
	buf_free(&l);
	free(v);
}

static const char *box_text(int on)
{
	return on ? "[X]" : "[ ]";
}

static void text_yes_no(struct rctx *c, size_t indent, int yes)
{
	spaces(c, indent);
	putf(c, "%s %s  %s %s\n", box_text(yes), L(c, L_YES), box_text(!yes),
	     L(c, L_NO));
}

/* "  - name, title, ..." wrapped under the name. */
static void text_participant(struct rctx *c, const struct render_person *p)
{
	char *line = person_line(c, p), *s = line ? clean(c, line) : NULL;

	if (s) {
		put(c, "  - ");
		wrap(c, 4, 4, *s ? s : EMPTY);
	}
	free(s);
	free(line);
}

static void text_master(struct rctx *c, const struct render_master *m)
{
	char date[64] = "", *line;
	size_t i;

	text_heading(c, L(c, L_S1), "-");
	text_para(c, 0, L(c, L_S1_NOTE));
	put(c, "\n");
	text_field(c, 0, L(c, L_NAME), m->name);
	text_field(c, 0, L(c, L_CPR), m->cpr);
	text_field(c, 0, L(c, L_ADDRESS), m->address);
	text_field(c, 0, L(c, L_PHONE), m->phone);
	put(c, "\n");
	putf(c, "%s:\n", L(c, L_BASIS));
	text_para(c, 2, L(c, L_BASIS_NOTE));
	for (i = 0; i < 4; i++) {
		char item[512];

		if (i == 2)
			put(c, "  --\n");
		snprintf(item, sizeof(item), "%s %s",
			 box_text(!!(m->basis & render_basis_bits[i])),
			 L(c, (enum label)(L_BASIS1 + i)));
		text_para(c, 2, item);
	}
	put(c, "\n");
	text_field(c, 0, L(c, L_CONSENT), L(c, L_CONSENT_TEXT));
	text_yes_no(c, 2, m->consent);
	put(c, "\n");
	line = person_line(c, &m->coordinator);
	text_field(c, 0, L(c, L_COORD), line);
	free(line);
	if (!m->n_participants || !m->participants)
		text_field(c, 0, L(c, L_PARTICIPANTS), NULL);
	else
		putf(c, "%s:\n", L(c, L_PARTICIPANTS));
	for (i = 0; m->participants && i < m->n_participants; i++)
		text_participant(c, &m->participants[i]);
	if (m->meeting_date)
		format_date(c, m->meeting_date, date, sizeof(date));
	text_field(c, 0, L(c, L_MEETING_DATE), date);
	putf(c, "%s:", L(c, L_APPROVED));
	text_yes_no(c, 1, m->approved);
}

static void text_existing(struct rctx *c, const struct plandoc *d)
{
	size_t i;

	text_heading(c, L(c, L_S2), "-");
	text_para(c, 0, L(c, L_S2_NOTE));
	for (i = 0; i < PLANDOC_EXISTING; i++) {
		const struct plandoc_existing *e = &d->existing[i];

		put(c, "\n");
		text_para(c, 0,
			  c->en ? plandoc_kinds[i].en : plandoc_kinds[i].da);
		text_field(c, 2, L(c, L_STATUS), e->status);
		text_field(c, 2, L(c, L_GOALS), e->goals);
		text_field(c, 2, L(c, L_ACTIONS), e->actions);
	}
}

static void text_challenges(struct rctx *c, const struct plandoc *d)
{
	char num[32];
	char *s;
	size_t i;

	text_heading(c, L(c, L_S3), "-");
	text_para(c, 0, L(c, L_MEETING_NOTE));
	put(c, "\n");
	text_para(c, 0, L(c, L_S3_LIST));
	if (!d->n_challenges)
		putf(c, "%s\n", EMPTY);
	for (i = 0; i < d->n_challenges; i++) {
		s = clean(c, d->challenges[i]);
		if (!s)
			return;
		snprintf(num, sizeof(num), "%zu. ", i + 1);
		put(c, num);
		wrap(c, strlen(num), strlen(num), s);
		free(s);
	}
}

static void text_goals(struct rctx *c, const struct plandoc *d)
{
	char head[32];
	size_t i, j;

	text_heading(c, L(c, L_S4), "-");
	text_para(c, 0, L(c, L_MEETING_NOTE));
	for (i = 0; i < d->n_goals; i++) {
		const struct plandoc_goal *g = &d->goals[i];

		put(c, "\n");
		snprintf(head, sizeof(head), "%s %zu", L(c, L_GOAL), i + 1);
		text_field(c, 0, head, g->goal);
		for (j = 0; j < g->n_actions; j++) {
			const struct plandoc_action *a = &g->actions[j];

			put(c, "\n");
			text_field(c, 2, L(c, L_COL_ACTION), a->action);
			text_field(c, 2, L(c, L_COL_SUCCESS), a->success);
			text_field(c, 2, L(c, L_COL_RESP), a->responsibility);
			text_field(c, 2, L(c, L_COL_TIME), a->timeline);
		}
	}
	put(c, "\n");
	text_field(c, 0, L(c, L_NO_SHOW), d->no_show);
}

static void text_follow_up(struct rctx *c, const struct plandoc *d)
{
	char date[64] = EMPTY, line[256];

	text_heading(c, L(c, L_S5), "-");
	if (d->follow_up[0])
		format_date(c, d->follow_up, date, sizeof(date));
	snprintf(line, sizeof(line), "%s %s %s", L(c, L_FOLLOW_UP_PRE), date,
		 L(c, L_FOLLOW_UP_POST));
	text_para(c, 0, line);
}

static void render_text(struct rctx *c, const struct render_master *m,
			const struct plandoc *d)
{
	const char *title = L(c, L_TITLE);

	put(c, title);
	put(c, "\n");
	for (size_t w = width(title, strlen(title)); w > 0; w--)
		put(c, "=");
	put(c, "\n");
	text_master(c, m);
	text_existing(c, d);
	text_challenges(c, d);
	text_goals(c, d);
	text_follow_up(c, d);
	putf(c, "\nPlan %ld, version %d\n", m->plan_id, m->version);
}

/* ---- HTML ---------------------------------------------------------------- */

static const char html_head[] =
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n"
    "<style>\n"
    "body{font-family:Arial,Helvetica,sans-serif;font-size:11pt;"
    "color:#000;background:#fff;margin:1.5em;max-width:60em}\n"
    "h1{font-size:16pt}h2{font-size:13pt;margin-top:1.5em}"
    "h3{font-size:11pt}\n"
    "table{border-collapse:collapse;width:100%;margin:0.5em 0}\n"
    "th,td{border:1px solid #888;padding:4px 6px;text-align:left;"
    "vertical-align:top}\n"
    "th{background:#eee;font-weight:bold}\n"
    ".note{font-style:italic}\n"
    ".box{font-size:13pt}\n"
    "footer{margin-top:2em;font-size:9pt;color:#444}\n"
    "</style>\n";

/* Writes raw text HTML-escaped, its newlines as <br>. */
static void html_esc(struct rctx *c, const char *raw)
{
	char *s = raw ? clean(c, raw) : NULL;
	const char *p, *rep;

	for (p = s; p && *p; p++) {
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		case '\n':
			rep = "<br>\n";
			break;
		default:
			rep = NULL;
			break;
		}
		if (rep)
			put(c, rep);
		else
			putn(c, p, 1);
	}
	free(s);
}

static void html_tag(struct rctx *c, const char *tag, const char *raw)
{
	putf(c, "<%s>", tag);
	html_esc(c, raw);
	putf(c, "</%s>\n", tag);
}

static void html_note(struct rctx *c, enum label l)
{
	put(c, "<p class=\"note\">");
	html_esc(c, L(c, l));
	put(c, "</p>\n");
}

/* <tr><th>label</th><td>value</td></tr> */
static void html_row(struct rctx *c, const char *label, const char *raw)
{
	put(c, "<tr><th>");
	html_esc(c, label);
	put(c, "</th><td>");
	html_esc(c, raw);
	put(c, "</td></tr>\n");
}

static void html_box(struct rctx *c, int on, const char *raw)
{
	putf(c, "<span class=\"box\">%s</span> ", on ? "\u2612" : "\u2610");
	html_esc(c, raw);
}

static void html_yes_no(struct rctx *c, int yes)
{
	html_box(c, yes, L(c, L_YES));
	put(c, " &nbsp; ");
	html_box(c, !yes, L(c, L_NO));
}

static void html_basis(struct rctx *c, const struct render_master *m)
{
	size_t i;

	put(c, "<tr><th>");
	html_esc(c, L(c, L_BASIS));
	put(c, "<br>\n<span class=\"note\">");
	html_esc(c, L(c, L_BASIS_NOTE));
	put(c, "</span></th><td>\n");
	for (i = 0; i < 4; i++) {
		if (i == 2)
			put(c, "<hr>\n");
		put(c, "<div>");
		html_box(c, !!(m->basis & render_basis_bits[i]),
			 L(c, (enum label)(L_BASIS1 + i)));
		put(c, "</div>\n");
	}
	put(c, "</td></tr>\n");
}

static void html_people(struct rctx *c, const struct render_master *m)
{
	char *line = person_line(c, &m->coordinator);
	size_t i;

	html_row(c, L(c, L_COORD), line);
	free(line);
	put(c, "<tr><th>");
	html_esc(c, L(c, L_PARTICIPANTS));
	put(c, "</th><td>");
	for (i = 0; m->participants && i < m->n_participants; i++) {
		line = person_line(c, &m->participants[i]);
		put(c, i ? "<br>\n" : "");
		html_esc(c, line);
		free(line);
	}
	put(c, "</td></tr>\n");
}

static void html_master(struct rctx *c, const struct render_master *m)
{
	char date[64] = "";

	html_tag(c, "h2", L(c, L_S1));
	html_note(c, L_S1_NOTE);
	put(c, "<table>\n");
	html_row(c, L(c, L_NAME), m->name);
	html_row(c, L(c, L_CPR), m->cpr);
	html_row(c, L(c, L_ADDRESS), m->address);
	html_row(c, L(c, L_PHONE), m->phone);
	html_basis(c, m);
	put(c, "<tr><th>");
	html_esc(c, L(c, L_CONSENT));
	put(c, "</th><td>");
	html_esc(c, L(c, L_CONSENT_TEXT));
	put(c, "<br>\n");
	html_yes_no(c, m->consent);
	put(c, "</td></tr>\n");
	html_people(c, m);
	if (m->meeting_date)
		format_date(c, m->meeting_date, date, sizeof(date));
	html_row(c, L(c, L_MEETING_DATE), date);
	put(c, "<tr><th>");
	html_esc(c, L(c, L_APPROVED));
	put(c, "</th><td>");
	html_yes_no(c, m->approved);
	put(c, "</td></tr>\n</table>\n");
}

static void html_existing(struct rctx *c, const struct plandoc *d)
{
	size_t i;

	html_tag(c, "h2", L(c, L_S2));
	html_note(c, L_S2_NOTE);
	put(c, "<table>\n");
	for (i = 0; i < PLANDOC_EXISTING; i++) {
		const struct plandoc_existing *e = &d->existing[i];

		put(c, "<tr><th rowspan=\"3\">");
		html_esc(c, c->en ? plandoc_kinds[i].en : plandoc_kinds[i].da);
		put(c, "</th>");
		put(c, "<th>");
		html_esc(c, L(c, L_STATUS));
		put(c, "</th><td>");
		html_esc(c, e->status);
		put(c, "</td></tr>\n");
		html_row(c, L(c, L_GOALS), e->goals);
		html_row(c, L(c, L_ACTIONS), e->actions);
	}
	put(c, "</table>\n");
}

static void html_challenges(struct rctx *c, const struct plandoc *d)
{
	size_t i;

	html_tag(c, "h2", L(c, L_S3));
	html_note(c, L_MEETING_NOTE);
	html_tag(c, "p", L(c, L_S3_LIST));
	put(c, "<ol>\n");
	for (i = 0; i < d->n_challenges; i++)
		html_tag(c, "li", d->challenges[i]);
	put(c, "</ol>\n");
}

static void html_action_row(struct rctx *c, const struct plandoc_action *a)
{
	const char *f[4] = {a->action, a->success, a->responsibility,
			    a->timeline};
	size_t k;

	put(c, "<tr>");
	for (k = 0; k < 4; k++) {
		put(c, "<td>");
		html_esc(c, f[k]);
		put(c, "</td>");
	}
	put(c, "</tr>\n");
}

static void html_goals(struct rctx *c, const struct plandoc *d)
{
	static const struct plandoc_action none;
	size_t i, j, k;

	html_tag(c, "h2", L(c, L_S4));
	html_note(c, L_MEETING_NOTE);
	for (i = 0; i < d->n_goals; i++) {
		const struct plandoc_goal *g = &d->goals[i];

		putf(c, "<h3>%s %zu: ", L(c, L_GOAL), i + 1);
		html_esc(c, g->goal);
		put(c, "</h3>\n<table>\n<tr>");
		for (k = 0; k < 4; k++)
			html_tag(c, "th", L(c, (enum label)(L_COL_ACTION + k)));
		put(c, "</tr>\n");
		for (j = 0; j < g->n_actions; j++)
			html_action_row(c, &g->actions[j]);
		if (!g->n_actions)
			html_action_row(c, &none);
		put(c, "</table>\n");
	}
	html_tag(c, "h3", L(c, L_NO_SHOW));
	html_tag(c, "p", d->no_show);
}

static void html_follow_up(struct rctx *c, const struct plandoc *d)
{
	char date[64] = "";

	html_tag(c, "h2", L(c, L_S5));
	if (d->follow_up[0])
		format_date(c, d->follow_up, date, sizeof(date));
	put(c, "<p>");
	html_esc(c, L(c, L_FOLLOW_UP_PRE));
	put(c, " <strong>");
	html_esc(c, date[0] ? date : "____");
	put(c, "</strong> ");
	html_esc(c, L(c, L_FOLLOW_UP_POST));
	put(c, "</p>\n");
}

static void render_html(struct rctx *c, const struct render_master *m,
			const struct plandoc *d)
{
	putf(c, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n",
	     c->en ? "en" : "da");
	put(c, html_head);
	html_tag(c, "title", L(c, L_TITLE));
	put(c, "</head>\n<body>\n");
	html_tag(c, "h1", L(c, L_TITLE));
	html_master(c, m);
	html_existing(c, d);
	html_challenges(c, d);
	html_goals(c, d);
	html_follow_up(c, d);
	putf(c, "<footer><p>Plan %ld, version %d</p></footer>\n", m->plan_id,
	     m->version);
	put(c, "</body>\n</html>\n");
}

int render_plan(const struct render_master *m, const struct plandoc *doc,
		enum render_format fmt, const char *lang, struct buf *out)
{
	static const struct render_master no_master;
	static const struct plandoc no_doc;
	struct rctx c = {out, lang && !strcmp(lang, "en"), 0};
	size_t start = out->len;

	if (!m)
		m = &no_master;
	if (!doc)
		doc = &no_doc;
	if (fmt == RENDER_HTML)
		render_html(&c, m, doc);
	else
		render_text(&c, m, doc);
	if (c.r && out->data) { /* leave out as it was */
		out->len = start;
		out->data[start] = '\0';
	}
	return c.r;
}

/* ---- shared with pdf.c (render_int.h) ------------------------------------ */

const char *render_label(enum label l, int en)
{
	return labels[l][en ? 1 : 0];
}

char *render_clean(const char *raw, int *err)
{
	struct rctx c = {NULL, 0, 0};
	char *s = clean(&c, raw ? raw : "");

	*err = c.r;
	return s;
}

char *render_person_line(const struct render_person *p, int *err)
{
	struct rctx c = {NULL, 0, 0};
	char *s = person_line(&c, p);

	*err = c.r;
	return s;
}

void render_date(int en, const char *iso, char *dst, size_t n)
{
	struct rctx c = {NULL, en, 0};

	format_date(&c, iso, dst, n);
}
