/* pdfproc.c — see pdfproc.h.
 *
 * The child's reply: one byte (0 the PDF follows, else an -errno's
 * absolute value and the error text follows), eight bytes of length
 * (little-endian), then that many bytes. A reply cut short is a failure
 * whatever the child's exit status.
 */
#include "pdfproc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "child.h"
#include "log.h"
#include "pdf.h"

static void reply(int fd, int code, const void *data, size_t len)
{
	unsigned char head[9];

	head[0] = (unsigned char)code;
	for (int i = 0; i < 8; i++)
		head[1 + i] = (unsigned char)((uint64_t)len >> (8 * i));
	if (fd_write_all(fd, head, sizeof(head)) == 0)
		fd_write_all(fd, data, len);
}

/* What the child renders. */
struct job {
	const struct render_master *m;
	const struct plandoc *doc;
	const char *lang, *font_dir;
};

/* The child (child.h): renders, replies, ends without kipd's exit
 * handlers. */
static void child(int fd, void *arg)
{
	const struct job *j = arg;
	struct buf pdf = BUF_INIT;
	char err[300] = "";
	int r = pdf_render_plan(j->m, j->doc, j->lang, j->font_dir, &pdf, err,
				sizeof(err));

	if (r == 0)
		reply(fd, 0, pdf.data, pdf.len);
	else
		reply(fd, -r, err, strlen(err));
	buf_free(&pdf);
	_exit(r == 0 ? 0 : 1);
}

/* The result of the child's REPLY and exit STATUS into OUT or ERR. */
static int judge(const struct buf *rep, int status, struct buf *out, char *err,
		 size_t errlen)
{
	const unsigned char *p = (const unsigned char *)rep->data;
	uint64_t len = 0;

	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "the PDF renderer ended with signal %d",
			 WTERMSIG(status));
		return -EIO;
	}
	if (rep->len >= 9)
		for (int i = 0; i < 8; i++)
			len |= (uint64_t)p[1 + i] << (8 * i);
	if (rep->len < 9 || len != rep->len - 9) {
		snprintf(err, errlen,
			 "the PDF renderer ended (status %d) without a whole "
			 "answer",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -EIO;
	}
	if (p[0] != 0) {
		snprintf(err, errlen, "%.*s", (int)len, rep->data + 9);
		return p[0] == ENOENT || p[0] == ENOMEM ? -(int)p[0] : -EIO;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warn(
		    "pdf: the renderer answered, then ended with status %d",
		    WEXITSTATUS(status));
	return buf_append(out, rep->data + 9, (size_t)len);
}

/* The sanitizer builds, for tests only, render in kipd itself, where
 * the sanitizer watches the rendering. ThreadSanitizer cannot run a child
 * that starts threads (Pango does) after a multi-threaded process forked
 * it; AddressSanitizer's allocator is not fork-safe: a child forked while
 * another thread held its lock hangs in its first allocation (seen in
 * t_crash's ASan run; glibc's malloc, kipd's own, resets its locks in the
 * child). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define PDFPROC_IN_PROCESS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define PDFPROC_IN_PROCESS 1
#endif
#endif

int pdfproc_render(const struct render_master *m, const struct plandoc *doc,
		   const char *lang, const char *font_dir, struct buf *out,
		   char *err, size_t errlen)
{
	struct job j = {m, doc, lang, font_dir};
	struct buf rep = BUF_INIT;
	char why[200];
	int r, status;

#ifdef PDFPROC_IN_PROCESS
	(void)j, (void)rep, (void)why, (void)status;
	return pdf_render_plan(m, doc, lang, font_dir, out, err, errlen);
#endif

	r = child_run(child, &j, PDFPROC_TIMEOUT_MS, PDFPROC_MAX_BYTES + 9,
		      &rep, &status, why, sizeof(why));
	if (r == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	} else if (r < 0) {
		snprintf(err, errlen, "the PDF renderer: %s", why);
		r = -EIO;
	} else {
		r = judge(&rep, status, out, err, errlen);
	}
	buf_free(&rep);
	return r;
}
