/* fuzz_plandoc.c — plandoc_parse() of arbitrary YAML, and for every
 * document that parses: the diff against itself (must be empty), the
 * diff against the template-free empty document, and the rendering as
 * text and HTML in both languages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "plandoc.h"
#include "render.h"

static const struct render_person participant = {
	"Ida Fiktiv", "sygeplejerske", "Distriktspsykiatrien Opdigtetby",
	"ida.fiktiv@example.invalid", "11 22 33 44"
};

static const struct render_master master = {
	.plan_id = 42,
	.version = 3,
	.name = "Niels Opdigtet",
	.cpr = "010150-0000",
	.address = "Fiktivvej 1, 9999 Opdigtetby",
	.phone = "12 34 56 78",
	.basis = BASIS_PSYCH_PATIENT | BASIS_SUBST_NEED,
	.consent = true,
	.coordinator = { "Ida Fiktiv", NULL, NULL, NULL, NULL },
	.participants = &participant,
	.n_participants = 1,
	.meeting_date = "2050-05-01",
	.approved = false,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct plandoc empty;
	struct plandoc *doc = NULL;
	struct buf out = BUF_INIT;
	char err[256];
	int r;

	r = plandoc_parse((const char *)data, size, &doc, err, sizeof(err));
	if (r < 0) {
		/* The contract: a message that starts with "line N: ". */
		if (r != -ENOMEM && strncmp(err, "line ", 5) != 0)
			__builtin_trap();
		return 0;
	}
	if (plandoc_diff(doc, doc, &out) != 0)
		__builtin_trap(); /* a document differs from itself */
	out.len = 0;
	if (plandoc_diff(&empty, doc, &out) < 0)
		__builtin_trap();
	out.len = 0;
	render_plan(&master, doc, RENDER_TEXT, "da", &out);
	out.len = 0;
	render_plan(&master, doc, RENDER_HTML, "en", &out);
	buf_free(&out);
	plandoc_free(doc);
	return 0;
}
