/* fuzz_pdf.c — pdf_render_plan() of every plan document that parses:
 * whatever the document holds (markup characters, invalid UTF-8, control
 * characters, very long words and values), the PDF is made, starts as a
 * PDF and ends as one, and the layout never reads or writes out of
 * bounds. Values reach Pango's markup escaped (pdf.c), so a document can
 * only fail to parse, never to lay out. The encryption of the PDF
 * (pdfpass_encrypt()) is run on every tenth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "pdf.h"
#include "pdfpass.h"
#include "plandoc.h"

#define FONTS "/usr/share/fonts/truetype/dejavu"

static const struct render_person participant = {
    "Ida <Fiktiv> & Co", "sygeplejerske", "Distriktspsykiatrien Opdigtetby",
    "ida.fiktiv@example.invalid", "11 22 33 44"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned n;
	struct render_master m = {.plan_id = 42,
				  .version = 3,
				  .name = "Niels Opdigtet",
				  .participants = &participant,
				  .n_participants = 1,
				  .meeting_date = "2056-02-29"};
	struct plandoc *doc = NULL;
	struct buf out = BUF_INIT, enc = BUF_INIT;
	char err[256];

	if (plandoc_parse((const char *)data, size, &doc, err, sizeof(err)) <
	    0)
		return 0;
	if (pdf_render_plan(&m, doc, size % 2 ? "en" : "da", FONTS, &out, err,
			    sizeof(err)) == 0) {
		if (out.len < 8 || memcmp(out.data, "%PDF-", 5) != 0 ||
		    !memmem(out.data, out.len, "%%EOF", 5))
			__builtin_trap();
		if (n++ % 10 == 0 &&
		    pdfpass_encrypt(&out, "abe-bro", &enc, err, sizeof(err)) !=
			0)
			__builtin_trap();
	}
	buf_free(&out);
	buf_free(&enc);
	plandoc_free(doc);
	return 0;
}
