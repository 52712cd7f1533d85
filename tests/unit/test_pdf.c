/* test_pdf.c — the plan rendered as PDF (pdf.h): a PDF document that
 * keeps the bytes of hostile values from changing it, appends to what the
 * buffer holds, and a clear error for a missing font. qpdf, pdftotext and
 * the look of the pages are tests/integration/t_pdf.sh's.
 *
 * Runs from the repository root. The master data are fictional people.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fixture.h"
#include "pdf.h"
#include "plandoc.h"
#include "t.h"

#define FONTS "/usr/share/fonts/truetype/dejavu"

static const struct render_person participants[] = {
    {"Ida Fiktiv", "sygeplejerske", "Distriktspsykiatrien Opdigtetby",
     "ida.fiktiv@example.invalid", "11 22 33 44"},
    {"Bo Eksempel <b>", NULL, NULL, NULL, NULL},
};

static const struct render_master master = {
    .plan_id = 42,
    .version = 3,
    .name = "Søren Æbelø & <i>",
    .cpr = "290256-5417",
    .address = "Fiktivvej 1\x01\xff, 9999 Opdigtetby",
    .basis = BASIS_PSYCH_PATIENT | BASIS_SUBST_NEED,
    .consent = true,
    .coordinator = {"Ida Fiktiv", NULL, NULL, NULL, NULL},
    .participants = participants,
    .n_participants = 2,
    .meeting_date = "2056-02-29",
    .approved = true,
};

static int is_pdf(const struct buf *b, size_t from)
{
	return b->len > from + 1000 &&
	       memcmp(b->data + from, "%PDF-", 5) == 0 &&
	       memmem(b->data + from, b->len - from, "%%EOF", 5) != NULL;
}

static void test_bilag2(void)
{
	struct plandoc *d = load_bilag2();
	struct buf b = BUF_INIT;
	char err[256];

	T_ASSERT(d != NULL);
	T_ASSERT(pdf_render_plan(&master, d, "da", FONTS, &b, err,
				 sizeof(err)) == 0);
	T_ASSERT(is_pdf(&b, 0));
	/* The fonts are embedded: their programs are in the file. */
	T_ASSERT(memmem(b.data, b.len, "/FontFile", 9) != NULL);
	T_ASSERT(memmem(b.data, b.len, "DejaVuSans-Bold", 15) != NULL);
	T_ASSERT(memmem(b.data, b.len, "/MediaBox [ 0 0 595.", 20) != NULL);
	buf_free(&b);
	T_ASSERT(pdf_render_plan(&master, d, "en", FONTS, &b, err,
				 sizeof(err)) == 0);
	T_ASSERT(is_pdf(&b, 0));
	buf_free(&b);
	plandoc_free(d);
}

static void test_empty(void)
{
	struct buf b = BUF_INIT;
	char err[256];

	T_ASSERT(pdf_render_plan(NULL, NULL, NULL, FONTS, &b, err,
				 sizeof(err)) == 0);
	T_ASSERT(is_pdf(&b, 0));
	buf_free(&b);
}

static void test_appends(void)
{
	struct buf b = BUF_INIT;
	char err[256];

	buf_puts(&b, "PREFIX");
	T_ASSERT(pdf_render_plan(&master, NULL, "da", FONTS, &b, err,
				 sizeof(err)) == 0);
	T_ASSERT(strncmp(b.data, "PREFIX%PDF-", 11) == 0);
	T_ASSERT(is_pdf(&b, 6));
	buf_free(&b);
}

static void test_no_font(void)
{
	struct buf b = BUF_INIT;
	char err[256] = "";

	buf_puts(&b, "KEEP");
	T_ASSERT(pdf_render_plan(&master, NULL, "da", "/nonexistent", &b, err,
				 sizeof(err)) == -ENOENT);
	T_CONTAINS(err, "/nonexistent/DejaVuSans.ttf cannot be read");
	T_STREQ(b.data, "KEEP");
	buf_free(&b);
}

T_MAIN(T_CASE(test_bilag2), T_CASE(test_empty), T_CASE(test_appends),
       T_CASE(test_no_font))
