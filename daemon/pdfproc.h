/* pdfproc.h — the PDF rendering in a process of its own.
 *
 * Pango, cairo and fontconfig sit on GLib, which ends the process when an
 * allocation fails (g_error), and fontconfig does not check every
 * allocation either. kipd keeps running when memory runs short, so it
 * never calls them itself: each rendering runs pdf_render_plan() in a
 * child forked for it, which writes the PDF back through a pipe and ends.
 * A child that dies, hangs past the deadline or answers nonsense costs
 * that one PDF (a distribution then goes without it, version_read.h);
 * kipd goes on. (The sanitizer builds, for tests only, render in kipd
 * itself: ThreadSanitizer cannot run a forked child that starts threads,
 * as Pango does, and AddressSanitizer's allocator is not fork-safe.)
 */
#ifndef KIP_PDFPROC_H
#define KIP_PDFPROC_H

#include "plandoc.h"
#include "render.h"

struct buf;

/* The longest a rendering may take, and the largest PDF taken back. */
#define PDFPROC_TIMEOUT_MS 60000
#define PDFPROC_MAX_BYTES (64u << 20)

/*
 * pdf_render_plan() in a child process: the same arguments and results
 * (0, -ENOMEM, -ENOENT a font is missing, -EIO), and -EIO with err saying
 * how the child failed ("the PDF renderer ended with signal 11", "... gave
 * no answer within 60 s").
 */
int pdfproc_render(const struct render_master *m, const struct plandoc *doc,
		   const char *lang, const char *font_dir, struct buf *out,
		   char *err, size_t errlen);

#endif
