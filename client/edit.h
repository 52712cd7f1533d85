/* edit.h — kipctl's local file work: reading a file argument, writing a
 * document where only its owner can read it, and the round trip through
 * the user's editor that `plan edit` makes.
 *
 * Nothing here talks to kipd, knows a command or picks an exit status:
 * kipctl.c makes the requests and decides. A plan is health data, so every
 * file written here has mode 0600.
 */
#ifndef KIP_EDIT_H
#define KIP_EDIT_H

#include <stddef.h>

#include "buf.h"

/* The largest file kipctl reads: a file argument or an edited plan. */
#define EDIT_FILE_MAX (16u * 1024 * 1024)

/*
 * Appends the whole of PATH ("-": standard input) to *ret, opening it with
 * O_RDONLY | O_CLOEXEC | FLAGS. Returns 0, or -errno (-EFBIG when it holds
 * more than EDIT_FILE_MAX bytes; it stops reading soon after). Prints
 * nothing: the caller says what the file was for.
 */
int edit_read_file(const char *path, int flags, struct buf *ret);

/*
 * Writes LEN bytes of DATA to PATH with mode 0600 (tightening the mode of
 * an existing file). Never follows a symbolic link and refuses anything
 * but a regular file. Returns 0, or -errno (-EINVAL: not a regular file).
 * Prints nothing.
 */
int edit_write_private(const char *path, const char *data, size_t len);

/* One round trip through the editor: edit_in_editor(), then edit_done(). */
struct edit {
	char *path;	/* the temporary file once written, else NULL */
	struct buf doc; /* its content after the editor exited */
};

#define EDIT_INIT                                                              \
	{                                                                      \
		NULL, BUF_INIT                                                 \
	}

/*
 * Writes LEN bytes of TEXT to a new "$TMPDIR/kip-plan-XXXXXX.yaml" (mode
 * 0600), runs $VISUAL, else $EDITOR, else vi on it through /bin/sh (so
 * "code --wait" works) and reads the file back into e->doc. Returns 1 when
 * the content differs from TEXT, 0 when it does not, or -1 after printing
 * what went wrong (the editor failed, the file could not be written or
 * read). SIGINT and SIGQUIT are ignored while the editor runs.
 */
int edit_in_editor(struct edit *e, const char *text, size_t len);

/*
 * Ends the round trip. With KEEP 0 removes the temporary file; otherwise
 * leaves it and prints where the edit is kept, so that nothing the user
 * typed is lost when a later step failed. Frees what e holds.
 */
void edit_done(struct edit *e, int keep);

#endif
