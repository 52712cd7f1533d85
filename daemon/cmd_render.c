/* cmd_render.c — plan render: a version as text, HTML or PDF in the
 * template's layout (version_read.c reads it, render.c and pdf.c lay it
 * out). A PDF travels as base64 in "base64"; kipctl writes the bytes. */
#include <string.h>

#include "access.h"
#include "buf.h"
#include "cmd.h"
#include "render.h"
#include "version_read.h"

static const char *const formats[] = {"text", "html", "pdf", NULL};
static const char *const langs[] = {"da", "en", NULL};

int cmd_plan_render(struct cmd_ctx *c)
{
	const char *fmt = "text", *lang = NULL;
	struct buf out = BUF_INIT;
	int64_t plan, version = 0;
	int r;

	if (arg_choice(c, "format", false, formats, &fmt) < 0 ||
	    arg_choice(c, "lang", false, langs, &lang) < 0 ||
	    arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, "version", false, &version) < 0 ||
	    access_plan(c, plan, false) < 0)
		return -1;
	if (!lang)
		lang = c->k->cfg->default_lang;
	if (strcmp(fmt, "pdf") == 0) {
		json_t *b64 = NULL;

		if (render_version_pdf(c, plan, version, lang, &b64) < 0)
			return -1;
		return cmd_ok(c, json_pack("{s:s, s:s, s:o}", "format", fmt,
					   "lang", lang, "base64", b64));
	}
	r = render_version(c, plan, version,
			   strcmp(fmt, "html") == 0 ? RENDER_HTML : RENDER_TEXT,
			   lang, &out);
	if (r == 0)
		r = cmd_ok(c,
			   json_pack("{s:s, s:s, s:s%}", "format", fmt, "lang",
				     lang, "text", out.data, out.len));
	buf_free(&out);
	return r;
}
