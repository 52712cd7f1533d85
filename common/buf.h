/* buf.h — a growable byte buffer, always NUL-terminated.
 *
 * Used for rendering, framing and messages. Functions return 0 or -ENOMEM;
 * after a failed append the buffer keeps its earlier content. buf_free()
 * accepts a zeroed or already freed buffer.
 */
#ifndef KIP_BUF_H
#define KIP_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;
};

#define BUF_INIT                                                               \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Takes the content out: returns it (caller frees) and resets the buffer.
 * Returns an empty, allocated string for an empty buffer, NULL on ENOMEM. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

/* Writes the N bytes at P as 2N lowercase hex digits and a NUL to OUT
 * (which holds 2N + 1 bytes). */
void hex_encode(const void *p, size_t n, char *out);

#endif
