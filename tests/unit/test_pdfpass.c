/* test_pdfpass.c — the passphrases of the encrypted PDF (pdfpass.h): the
 * word list, the shape and strength of a passphrase, and the encryption,
 * read back with qpdf's own reader: it opens with the passphrase only.
 */
#include <errno.h>
#include <math.h>
#include <qpdf/qpdf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fixture.h"
#include "pdf.h"
#include "pdfpass.h"
#include "t.h"

static int in_list(const char *w, size_t n)
{
	for (size_t i = 0; i < PDFPASS_LIST; i++)
		if (strlen(pdfpass_words[i]) == n &&
		    strncmp(pdfpass_words[i], w, n) == 0)
			return 1;
	return 0;
}

static void test_list(void)
{
	int ok = 1;

	for (size_t i = 0; i < PDFPASS_LIST; i++) {
		const char *w = pdfpass_words[i];

		if (strlen(w) < 3 || strlen(w) > 9 ||
		    strspn(w, "abcdefghijklmnopqrstuvwxyz") != strlen(w))
			ok = 0;
		/* sorted and so without repeats */
		if (i && strcmp(pdfpass_words[i - 1], w) >= 0)
			ok = 0;
	}
	T_ASSERT(ok);
	T_ASSERT((PDFPASS_LIST & (PDFPASS_LIST - 1)) == 0); /* unbiased */
}

static void test_strength(void)
{
	/* 8 words of a list of 1024: 8 x 10 bits. */
	T_ASSERT(fabs(pdfpass_bits() - 80.0) < 1e-9);
	T_ASSERT(pdfpass_bits() >= 80.0);
	T_ASSERT(fabs(pdfpass_bits() -
		      PDFPASS_WORDS * log2((double)PDFPASS_LIST)) < 1e-9);
}

static void test_shape(void)
{
	char a[PDFPASS_MAX], b[PDFPASS_MAX], small[10];
	int words = 0, listed = 1;
	const char *p, *e;

	T_ASSERT(pdfpass_generate(a, sizeof(a)) == 0);
	T_ASSERT(pdfpass_generate(b, sizeof(b)) == 0);
	T_ASSERT(strcmp(a, b) != 0);
	for (p = a;; p = e + 1) {
		e = strchr(p, '-');
		if (!e)
			e = p + strlen(p);
		words++;
		listed &= in_list(p, (size_t)(e - p));
		if (!*e)
			break;
	}
	T_ASSERT(words == PDFPASS_WORDS);
	T_ASSERT(listed);
	T_ASSERT(pdfpass_generate(small, sizeof(small)) == -EIO);
}

/* Every word turns up: over 2000 passphrases (16000 draws) a word of 1024
 * is missing with a probability below 1e-4 if the draw is uniform. */
static void test_coverage(void)
{
	static unsigned char seen[PDFPASS_LIST];
	char s[PDFPASS_MAX];
	size_t missing = 0;

	for (int n = 0; n < 2000; n++) {
		char *tok, *save = NULL;

		T_ASSERT(pdfpass_generate(s, sizeof(s)) == 0);
		for (tok = strtok_r(s, "-", &save); tok;
		     tok = strtok_r(NULL, "-", &save))
			for (size_t i = 0; i < PDFPASS_LIST; i++)
				if (strcmp(pdfpass_words[i], tok) == 0)
					seen[i] = 1;
	}
	for (size_t i = 0; i < PDFPASS_LIST; i++)
		missing += !seen[i];
	T_ASSERT(missing == 0);
}

/* qpdf reads BUF with PASSWORD: 0 if it opens. */
static int opens(const struct buf *b, const char *password)
{
	qpdf_data q = qpdf_init();
	int r;

	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);
	r = qpdf_read_memory(q, "t", b->data, b->len, password) & QPDF_ERRORS
		? -1
	    : qpdf_is_encrypted(q) ? 0
				   : -2;
	if (qpdf_has_error(q))
		(void)qpdf_get_error(q); /* handled: r says it */
	qpdf_cleanup(&q);
	return r;
}

static void test_encrypt(void)
{
	struct plandoc *d = load_bilag2();
	struct buf pdf = BUF_INIT, enc = BUF_INIT, bad = BUF_INIT;
	char pass[PDFPASS_MAX], err[256];

	T_ASSERT(pdf_render_plan(NULL, d, "da",
				 "/usr/share/fonts/truetype/dejavu", &pdf, err,
				 sizeof(err)) == 0);
	T_ASSERT(pdfpass_generate(pass, sizeof(pass)) == 0);
	T_ASSERT(pdfpass_encrypt(&pdf, pass, &enc, err, sizeof(err)) == 0);
	T_ASSERT(enc.len > 1000 && memcmp(enc.data, "%PDF-", 5) == 0);
	T_ASSERT(memmem(enc.data, enc.len, "/V 5", 4) != NULL); /* AES-256 */
	T_ASSERT(opens(&enc, pass) == 0);
	T_ASSERT(opens(&enc, "") == -1);
	T_ASSERT(opens(&enc, "abe-abe-abe-abe-abe-abe-abe-abe") == -1);
	/* Not a PDF: a clear error. */
	buf_puts(&bad, "not a PDF at all");
	buf_free(&enc);
	T_ASSERT(pdfpass_encrypt(&bad, pass, &enc, err, sizeof(err)) == -EIO);
	T_CONTAINS(err, "reading the PDF");
	buf_free(&pdf);
	buf_free(&enc);
	buf_free(&bad);
	plandoc_free(d);
}

T_MAIN(T_CASE(test_list), T_CASE(test_strength), T_CASE(test_shape),
       T_CASE(test_coverage), T_CASE(test_encrypt))
