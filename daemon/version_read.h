/* version_read.h — an approved or draft plan version read for rendering:
 * the master data from the store (citizen, members, meeting,
 * participants), sections 2-5 from the version's document, laid out by
 * render.c. Used by plan render and by the distribution (version_read.c).
 */
#ifndef KIP_VERSION_READ_H
#define KIP_VERSION_READ_H

#include <jansson.h>
#include <stdint.h>

struct buf;
struct cmd_ctx;
enum render_format;

/* Renders a version (0: the latest) of a plan the caller may read into
 * out. 0 or cmd_fail()'s -1. */
int render_version(struct cmd_ctx *c, int64_t plan, int64_t version,
		   enum render_format fmt, const char *lang, struct buf *out);
/* The same as text into TEXT and as HTML into HTML (either may be NULL),
 * from one read of the version, and (DOC not NULL) a copy of its stored
 * document in *DOC: the distribution needs all three. */
int render_version_both(struct cmd_ctx *c, int64_t plan, int64_t version,
			const char *lang, struct buf *text, struct buf *html,
			char **doc);

/* The same with the PDF into PDF as well (NULL: none). A PDF that cannot
 * be made (a font missing) fails the call, or, with PDF_ERR, is left out
 * (PDF stays empty) with the reason in PDF_ERR. */
#include <stddef.h>
int render_version_all(struct cmd_ctx *c, int64_t plan, int64_t version,
		       const char *lang, struct buf *text, struct buf *html,
		       struct buf *pdf, char *pdf_err, size_t pdf_errlen,
		       char **doc);
/* The PDF alone, as a JSON string of its base64 (no line breaks): what
 * plan render and plan export --format pdf reply. */
int render_version_pdf(struct cmd_ctx *c, int64_t plan, int64_t version,
		       const char *lang, json_t **b64);

#endif
