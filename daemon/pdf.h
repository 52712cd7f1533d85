/* pdf.h — a plan in the template's layout as a PDF document.
 *
 * The same data and words as the text and HTML renderings (render.h):
 * sections 1-5, the master data as a table, the check boxes as ☒/☐, the
 * goals as tables of actions. A4, DejaVu Sans embedded (subset), text
 * selectable. Laid out with Pango and written by cairo's PDF surface; the
 * fonts come from one directory only (pdf.font_dir), so the result does
 * not depend on what else is installed.
 */
#ifndef KIP_PDF_H
#define KIP_PDF_H

#include "plandoc.h"
#include "render.h"

struct buf;

/*
 * Renders the plan as PDF into out (appending). lang as render_plan();
 * font_dir holds DejaVuSans.ttf, DejaVuSans-Bold.ttf and
 * DejaVuSans-Oblique.ttf. Returns 0, -ENOMEM, -ENOENT (a font file is
 * missing) or -EIO (cairo failed); err says what.
 */
int pdf_render_plan(const struct render_master *m, const struct plandoc *doc,
		    const char *lang, const char *font_dir, struct buf *out,
		    char *err, size_t errlen);

#endif
