/* pdf.c — a plan as PDF; see pdf.h.
 *
 * Every value is cleaned as render.c cleans it (render_clean()) and then
 * escaped for Pango's markup, so nothing in the store or the document can
 * change the layout. The labels are render.c's own (render_int.h): the
 * PDF's words are the text rendering's words.
 *
 * Errors are sticky (struct pctx.r) as in render.c: after the first one
 * nothing more is laid out.
 *
 * Called in the request thread only (plan render, plan export, the
 * distribution): the font map is kept between calls (font_map()).
 */
#include "pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <pango/pangofc-fontmap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "render_int.h"

#define PAGE_W 595.276 /* A4: 210 mm */
#define PAGE_H 841.890 /* A4: 297 mm */
#define MARGIN 50.0
#define TOP MARGIN
#define BOTTOM (PAGE_H - 60.0)
#define CW (PAGE_W - 2 * MARGIN) /* content width */
#define PAD 3.5			 /* inside a table cell */
#define EMPTY "\u2014"		 /* an absent value, as in the text */
#define BOX_ON "\u2612"
#define BOX_OFF "\u2610"

static const char *const font_files[] = {
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"};

enum style {
	S_BODY,
	S_SMALL,
	S_H1,
	S_H2,
	S_H3,
};

struct pctx {
	cairo_t *cr;
	PangoContext *pc;
	double y;
	int page;
	int en;
	int r;
};

static const char *L(const struct pctx *c, enum label l)
{
	return render_label(l, c->en);
}

static void fail(struct pctx *c, int r)
{
	if (!c->r)
		c->r = r;
}

/* ---- markup -------------------------------------------------------------- */

/* Appends raw text, cleaned and escaped; EMPTY when it is empty. */
static void esc(struct pctx *c, struct buf *b, const char *raw)
{
	int err = 0;
	char *s = render_clean(raw, &err), *e;

	if (!s) {
		fail(c, err ? err : -ENOMEM);
		return;
	}
	e = g_markup_escape_text(*s ? s : EMPTY, -1);
	if (buf_puts(b, e) < 0)
		fail(c, -ENOMEM);
	g_free(e);
	free(s);
}

__attribute__((format(printf, 3, 4))) static void
mput(struct pctx *c, struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(b, fmt, ap) < 0)
		fail(c, -ENOMEM);
	va_end(ap);
}

/* "<b>label</b>" */
static void bold(struct pctx *c, struct buf *b, const char *label)
{
	mput(c, b, "<b>");
	esc(c, b, label);
	mput(c, b, "</b>");
}

static void yes_no(struct pctx *c, struct buf *b, int yes)
{
	mput(c, b, "%s ", yes ? BOX_ON : BOX_OFF);
	esc(c, b, L(c, L_YES));
	mput(c, b, "   %s ", yes ? BOX_OFF : BOX_ON);
	esc(c, b, L(c, L_NO));
}

/* ---- layout -------------------------------------------------------------- */

static PangoLayout *layout(struct pctx *c, const char *markup, enum style st,
			   double width)
{
	static const double sizes[] = {[S_BODY] = 10.5,
				       [S_SMALL] = 9.0,
				       [S_H1] = 18.0,
				       [S_H2] = 14.0,
				       [S_H3] = 11.5};
	PangoLayout *l = pango_layout_new(c->pc);
	PangoFontDescription *fd = pango_font_description_new();
	PangoAttrList *al = pango_attr_list_new();

	pango_font_description_set_family(fd, "DejaVu Sans");
	pango_font_description_set_size(fd,
					(int)(sizes[st] * PANGO_SCALE + 0.5));
	if (st == S_H1 || st == S_H2 || st == S_H3)
		pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
	/* At words; inside one only when it is wider than the line. */
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_width(l, pango_units_from_double(width));
	pango_layout_set_markup(l, markup, -1);
	/* Words stay whole and unligated, so that copied or extracted text
	 * is the text that was written. */
	pango_attr_list_insert(al, pango_attr_insert_hyphens_new(FALSE));
	pango_attr_list_insert(al,
			       pango_attr_font_features_new("liga=0, clig=0"));
	pango_attr_list_splice(al, pango_layout_get_attributes(l), 0, 0);
	pango_layout_set_attributes(l, al);
	pango_attr_list_unref(al);
	return l;
}

static double height(PangoLayout *l)
{
	int w, h;

	pango_layout_get_size(l, &w, &h);
	return (double)h / PANGO_SCALE;
}

static void footer(struct pctx *c)
{
	char num[32];
	PangoLayout *l;
	int w, h;

	snprintf(num, sizeof(num), "%d", c->page);
	l = layout(c, num, S_SMALL, CW);
	pango_layout_get_size(l, &w, &h);
	cairo_move_to(c->cr, (PAGE_W - (double)w / PANGO_SCALE) / 2,
		      PAGE_H - 40.0);
	pango_cairo_show_layout(c->cr, l);
	g_object_unref(l);
}

static void new_page(struct pctx *c)
{
	footer(c);
	cairo_show_page(c->cr);
	c->page++;
	c->y = TOP;
}

/* Room for h points on this page, or a new page (unless the page is still
 * empty). */
static void need(struct pctx *c, double h)
{
	if (c->y + h > BOTTOM && c->y > TOP)
		new_page(c);
}

/* Draws l line by line from x, breaking pages between lines. */
static void flow(struct pctx *c, PangoLayout *l, double x)
{
	PangoLayoutIter *it = pango_layout_get_iter(l);

	do {
		PangoLayoutLine *line = pango_layout_iter_get_line_readonly(it);
		PangoRectangle log;
		double top, h, base;

		pango_layout_iter_get_line_extents(it, NULL, &log);
		top = (double)log.y / PANGO_SCALE;
		h = (double)log.height / PANGO_SCALE;
		base = (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE;
		need(c, h);
		cairo_move_to(c->cr, x + (double)log.x / PANGO_SCALE,
			      c->y + base - top);
		pango_cairo_show_layout_line(c->cr, line);
		c->y += h;
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
}

/* A paragraph of markup at indent (a negative hang: the lines after the
 * first start hang points further in), then after points of space. */
static void para(struct pctx *c, const char *markup, enum style st,
		 double indent, double hang, double after)
{
	PangoLayout *l;

	if (c->r)
		return;
	l = layout(c, markup, st, CW - indent);
	if (hang > 0)
		pango_layout_set_indent(l, pango_units_from_double(-hang));
	flow(c, l, MARGIN + indent);
	g_object_unref(l);
	c->y += after;
}

/* A paragraph of raw text. */
static void text(struct pctx *c, const char *raw, enum style st, double after)
{
	struct buf b = BUF_INIT;

	esc(c, &b, raw);
	para(c, b.data ? b.data : "", st, 0, 0, after);
	buf_free(&b);
}

static void italic(struct pctx *c, const char *raw)
{
	struct buf b = BUF_INIT;

	mput(c, &b, "<i>");
	esc(c, &b, raw);
	mput(c, &b, "</i>");
	para(c, b.data ? b.data : "", S_BODY, 0, 0, 6);
	buf_free(&b);
}

static void heading(struct pctx *c, const char *raw, enum style st)
{
	c->y += st == S_H2 ? 12 : 6;
	need(c, 60); /* not alone at the bottom of a page */
	text(c, raw, st, 4);
}

/* One table row: n cells of markup with the widths given; the cells whose
 * bit is set in shade get a grey ground (headers). A row too tall for a
 * page is written as paragraphs instead. */
static void row(struct pctx *c, size_t n, const double *widths,
		char *const *cells, unsigned shade)
{
	PangoLayout *l[8];
	double h = 0, x = MARGIN;
	size_t i;

	if (c->r || n > 8)
		return;
	for (i = 0; i < n; i++) {
		l[i] = layout(c, cells[i], n > 2 ? S_SMALL : S_BODY,
			      widths[i] - 2 * PAD);
		if (height(l[i]) + 2 * PAD > h)
			h = height(l[i]) + 2 * PAD;
	}
	if (h > BOTTOM - TOP) {
		for (i = 0; i < n; i++)
			flow(c, l[i], MARGIN);
	} else {
		need(c, h);
		cairo_set_line_width(c->cr, 0.5);
		for (i = 0; i < n; i++) {
			cairo_rectangle(c->cr, x, c->y, widths[i], h);
			if (shade & (1u << i)) {
				cairo_set_source_rgb(c->cr, 0.92, 0.92, 0.92);
				cairo_fill_preserve(c->cr);
			}
			cairo_set_source_rgb(c->cr, 0.5, 0.5, 0.5);
			cairo_stroke(c->cr);
			cairo_set_source_rgb(c->cr, 0, 0, 0);
			cairo_move_to(c->cr, x + PAD, c->y + PAD);
			pango_cairo_show_layout(c->cr, l[i]);
			x += widths[i];
		}
		c->y += h;
	}
	for (i = 0; i < n; i++)
		g_object_unref(l[i]);
}

static const double kv_widths[2] = {170, CW - 170};

/* A row of the master data: a label (markup) and a value (markup). */
static void kv_markup(struct pctx *c, struct buf *label, struct buf *value)
{
	char *cells[2] = {label->data ? label->data : "",
			  value->data ? value->data : ""};

	row(c, 2, kv_widths, cells, 1u);
	buf_free(label);
	buf_free(value);
}

/* A row of a label and a raw value. */
static void kv(struct pctx *c, const char *label, const char *raw)
{
	struct buf l = BUF_INIT, v = BUF_INIT;

	bold(c, &l, label);
	esc(c, &v, raw);
	kv_markup(c, &l, &v);
}

/* ---- the sections ---------------------------------------------------------
 */

static void basis(struct pctx *c, const struct render_master *m)
{
	struct buf l = BUF_INIT, v = BUF_INIT;

	bold(c, &l, L(c, L_BASIS));
	mput(c, &l, "\n<i>");
	esc(c, &l, L(c, L_BASIS_NOTE));
	mput(c, &l, "</i>");
	for (int i = 0; i < 4; i++) {
		mput(c, &v, "%s%s ",
		     i == 0   ? ""
		     : i == 2 ? "\n\n"
			      : "\n",
		     m->basis & render_basis_bits[i] ? BOX_ON : BOX_OFF);
		esc(c, &v, L(c, (enum label)(L_BASIS1 + i)));
	}
	kv_markup(c, &l, &v);
}

static void master(struct pctx *c, const struct render_master *m)
{
	struct buf l = BUF_INIT, v = BUF_INIT;
	char date[64] = "", *line;
	int err = 0;

	heading(c, L(c, L_S1), S_H2);
	italic(c, L(c, L_S1_NOTE));
	kv(c, L(c, L_NAME), m->name);
	kv(c, L(c, L_CPR), m->cpr);
	kv(c, L(c, L_ADDRESS), m->address);
	kv(c, L(c, L_PHONE), m->phone);
	basis(c, m);
	bold(c, &l, L(c, L_CONSENT));
	esc(c, &v, L(c, L_CONSENT_TEXT));
	mput(c, &v, "\n");
	yes_no(c, &v, m->consent);
	kv_markup(c, &l, &v);
	line = render_person_line(&m->coordinator, &err);
	if (err)
		fail(c, err);
	kv(c, L(c, L_COORD), line);
	free(line);
	bold(c, &l, L(c, L_PARTICIPANTS));
	for (size_t i = 0; m->participants && i < m->n_participants; i++) {
		line = render_person_line(&m->participants[i], &err);
		if (err)
			fail(c, err);
		mput(c, &v, "%s", i ? "\n" : "");
		esc(c, &v, line);
		free(line);
	}
	if (!m->participants || !m->n_participants)
		esc(c, &v, NULL);
	kv_markup(c, &l, &v);
	if (m->meeting_date)
		render_date(c->en, m->meeting_date, date, sizeof(date));
	kv(c, L(c, L_MEETING_DATE), date);
	bold(c, &l, L(c, L_APPROVED));
	yes_no(c, &v, m->approved);
	kv_markup(c, &l, &v);
}

static void existing(struct pctx *c, const struct plandoc *d)
{
	heading(c, L(c, L_S2), S_H2);
	italic(c, L(c, L_S2_NOTE));
	for (size_t i = 0; i < PLANDOC_EXISTING; i++) {
		const struct plandoc_existing *e = &d->existing[i];

		heading(c, c->en ? plandoc_kinds[i].en : plandoc_kinds[i].da,
			S_H3);
		kv(c, L(c, L_STATUS), e->status);
		kv(c, L(c, L_GOALS), e->goals);
		kv(c, L(c, L_ACTIONS), e->actions);
	}
}

static void challenges(struct pctx *c, const struct plandoc *d)
{
	struct buf b = BUF_INIT;

	heading(c, L(c, L_S3), S_H2);
	italic(c, L(c, L_MEETING_NOTE));
	text(c, L(c, L_S3_LIST), S_BODY, 4);
	if (!d->n_challenges)
		text(c, NULL, S_BODY, 0);
	for (size_t i = 0; i < d->n_challenges; i++) {
		b.len = 0;
		mput(c, &b, "%zu. ", i + 1);
		esc(c, &b, d->challenges[i]);
		para(c, b.data ? b.data : "", S_BODY, 0, 14, 3);
	}
	buf_free(&b);
}

static void goals(struct pctx *c, const struct plandoc *d)
{
	static const double w[4] = {CW * 0.25, CW * 0.25, CW * 0.28, CW * 0.22};
	static const struct plandoc_action none;
	struct buf cell[4] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT};
	struct buf b = BUF_INIT;
	char *cells[4];
	size_t i, j, k;

	heading(c, L(c, L_S4), S_H2);
	italic(c, L(c, L_MEETING_NOTE));
	for (i = 0; i < d->n_goals; i++) {
		const struct plandoc_goal *g = &d->goals[i];

		b.len = 0;
		mput(c, &b, "%s %zu: ", L(c, L_GOAL), i + 1);
		c->y += 6;
		need(c, 140); /* with the table's header and a row */
		esc(c, &b, g->goal);
		para(c, b.data ? b.data : "", S_H3, 0, 0, 4);
		for (k = 0; k < 4; k++) {
			cell[k].len = 0;
			bold(c, &cell[k], L(c, (enum label)(L_COL_ACTION + k)));
			cells[k] = cell[k].data ? cell[k].data : "";
		}
		row(c, 4, w, cells, 0xfu);
		for (j = 0; j < g->n_actions || (!j && !g->n_actions); j++) {
			const struct plandoc_action *a =
			    g->n_actions ? &g->actions[j] : &none;
			const char *f[4] = {a->action, a->success,
					    a->responsibility, a->timeline};

			for (k = 0; k < 4; k++) {
				cell[k].len = 0;
				if (g->n_actions)
					esc(c, &cell[k], f[k]);
				else
					mput(c, &cell[k], " ");
				cells[k] = cell[k].data ? cell[k].data : "";
			}
			row(c, 4, w, cells, 0);
		}
	}
	heading(c, L(c, L_NO_SHOW), S_H3);
	text(c, d->no_show, S_BODY, 0);
	buf_free(&b);
	for (k = 0; k < 4; k++)
		buf_free(&cell[k]);
}

static void follow_up(struct pctx *c, const struct plandoc *d)
{
	char date[64] = EMPTY;
	struct buf b = BUF_INIT;

	heading(c, L(c, L_S5), S_H2);
	if (d->follow_up[0])
		render_date(c->en, d->follow_up, date, sizeof(date));
	esc(c, &b, L(c, L_FOLLOW_UP_PRE));
	mput(c, &b, " <b>");
	esc(c, &b, date);
	mput(c, &b, "</b> ");
	esc(c, &b, L(c, L_FOLLOW_UP_POST));
	para(c, b.data ? b.data : "", S_BODY, 0, 0, 0);
	buf_free(&b);
}

static void document(struct pctx *c, const struct render_master *m,
		     const struct plandoc *d)
{
	char end[64];

	text(c, L(c, L_TITLE), S_H1, 4);
	master(c, m);
	existing(c, d);
	challenges(c, d);
	goals(c, d);
	follow_up(c, d);
	snprintf(end, sizeof(end), "Plan %ld, version %d", m->plan_id,
		 m->version);
	c->y += 16;
	text(c, end, S_SMALL, 0);
	footer(c);
}

/* ---- fonts and output -------------------------------------------------- */

static cairo_status_t write_buf(void *closure, const unsigned char *data,
				unsigned int len)
{
	return buf_append(closure, data, len) == 0 ? CAIRO_STATUS_SUCCESS
						   : CAIRO_STATUS_WRITE_ERROR;
}

/* A font map that knows the font files in dir and nothing else. */
static PangoFontMap *font_map_new(const char *dir, char *err, size_t errlen,
				  int *r)
{
	FcConfig *fc = FcConfigCreate();
	PangoFontMap *fm;
	char path[4096];

	if (!fc) {
		*r = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(font_files) / sizeof(*font_files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, font_files[i]);
		if (access(path, R_OK) != 0 ||
		    !FcConfigAppFontAddFile(fc, (const FcChar8 *)path)) {
			snprintf(err, errlen, "font %s cannot be read", path);
			FcConfigDestroy(fc);
			*r = -ENOENT;
			return NULL;
		}
	}
	fm = pango_cairo_font_map_new_for_font_type(CAIRO_FONT_TYPE_FT);
	if (fm)
		pango_fc_font_map_set_config(PANGO_FC_FONT_MAP(fm), fc);
	FcConfigDestroy(fc); /* the font map keeps its own reference */
	if (!fm)
		*r = -ENOMEM;
	return fm;
}

/*
 * The font map of the fonts in dir, made at the first use and kept for
 * the life of the process, like the caches of fontconfig and cairo it
 * fills: a font map freed after each PDF would leave the character sets
 * fontconfig computed for it behind (Pango keeps a reference to them that
 * it never drops), a few kilobytes per PDF. Only the request thread lays
 * out PDFs, so it needs no lock. A new dir (a reload) makes a new map.
 */
static PangoFontMap *font_map(const char *dir, char *err, size_t errlen, int *r)
{
	static PangoFontMap *fm;
	static char *fm_dir;
	PangoFontMap *n;
	char *d;

	if (fm && strcmp(fm_dir, dir) == 0)
		return fm;
	n = font_map_new(dir, err, errlen, r);
	if (!n)
		return NULL;
	if (!(d = strdup(dir))) {
		g_object_unref(n);
		*r = -ENOMEM;
		return NULL;
	}
	if (fm)
		g_object_unref(fm);
	free(fm_dir);
	fm = n;
	fm_dir = d;
	return fm;
}

/*
 * LeakSanitizer's suppressions built into every program with this file
 * (kipd, the unit tests, the fuzz targets), in sanitizer builds; unused
 * otherwise. fontconfig keeps a pattern's elements at an offset from the
 * pattern rather than by pointer, so a leak checker cannot follow them
 * and takes every value a live pattern holds (character sets, language
 * sets, strings) for lost: in the font map kept by font_map() and in
 * fontconfig's own configuration, which Pango loads in a thread of its
 * own. tests/valgrind.supp says the same to valgrind.
 */
const char *__lsan_default_suppressions(void);
__attribute__((used)) const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

/* Without the table of suppressions used at every exit. */
const char *__lsan_default_options(void);
__attribute__((used)) const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

int pdf_render_plan(const struct render_master *m, const struct plandoc *doc,
		    const char *lang, const char *font_dir, struct buf *out,
		    char *err, size_t errlen)
{
	static const struct render_master no_master;
	static const struct plandoc no_doc;
	struct pctx c = {NULL, NULL, TOP, 1, lang && !strcmp(lang, "en"), 0};
	cairo_font_options_t *fo;
	cairo_surface_t *s;
	PangoFontMap *fm;
	size_t start = out->len;
	int r = 0;

	snprintf(err, errlen, "cannot lay out the PDF");
	fm = font_map(font_dir, err, errlen, &r);
	if (!fm)
		return r;
	s = cairo_pdf_surface_create_for_stream(write_buf, out, PAGE_W, PAGE_H);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE,
				       L(&c, L_TITLE));
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "kip");
	c.cr = cairo_create(s);
	c.pc = pango_font_map_create_context(fm);
	fo = cairo_font_options_create();
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	pango_cairo_context_set_font_options(c.pc, fo);
	cairo_font_options_destroy(fo);
	pango_cairo_context_set_resolution(c.pc, 72); /* points are points */
	pango_cairo_update_context(c.cr, c.pc);
	document(&c, m ? m : &no_master, doc ? doc : &no_doc);
	cairo_destroy(c.cr);
	cairo_surface_finish(s);
	if (!c.r && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "cairo: %s",
			 cairo_status_to_string(cairo_surface_status(s)));
		c.r = -EIO;
	}
	cairo_surface_destroy(s);
	g_object_unref(c.pc);
	if (c.r && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return c.r;
}
