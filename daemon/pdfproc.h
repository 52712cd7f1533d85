/* pdfproc.h — the PDF rendering in a process of its own.
 *
 * Pango, cairo and fontconfig sit on GLib, which ends the process when an
 * allocation fails (g_error), and fontconfig does not check every
 * allocation either. kipd keeps running when memory runs short, so it
 * never calls them itself: each rendering runs pdf_render_plan() in a
 * helper process started for it (child.h), which writes the PDF back
 * through a pipe and ends. A helper that dies, hangs past the deadline or
 * answers nonsense costs that one PDF (a distribution then goes without
 * it, version_read.h); kipd goes on.
 */
#ifndef KIP_PDFPROC_H
#define KIP_PDFPROC_H

#include "render.h"

struct buf;

/* The longest a rendering may take, and the largest PDF taken back. */
#define PDFPROC_TIMEOUT_MS 60000
#define PDFPROC_MAX_BYTES (64u << 20)

/*
 * pdf_render_plan() in a helper process, of the plan DOCUMENT (the stored
 * YAML): the same results (0, -ENOMEM, -ENOENT a font is missing, -EIO),
 * and -EIO with err saying how the helper failed ("the PDF renderer ended
 * with signal 11", "... no answer within 60000 ms").
 */
int pdfproc_render(const struct render_master *m, const char *document,
		   const char *lang, const char *font_dir, struct buf *out,
		   char *err, size_t errlen);

/* "kipd --helper pdf PARENT": renders the job on standard input. The
 * process's exit status. */
int pdfproc_helper(const char *parent);

#endif
