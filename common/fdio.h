/* fdio.h — whole reads and writes on a descriptor (a pipe, a socket, a
 * file), retried across EINTR and short transfers. The one place for
 * this: the control protocol, the confined reader's wire, the children's
 * answers, the configuration and kipctl's files all use it.
 */
#ifndef KIP_FDIO_H
#define KIP_FDIO_H

#include <stddef.h>

#include "buf.h"

/* Writes all N bytes at P to FD. On a socket with MSG_NOSIGNAL, so that a
 * peer that went away gives -EPIPE, not SIGPIPE. 0, -EAGAIN (non-blocking
 * FD full), or -errno. */
int fd_write_all(int fd, const void *p, size_t n);

/* Reads exactly N bytes into P: 0, -EPIPE at end of file before any byte,
 * -EPROTO at end of file after some, -EAGAIN (non-blocking FD empty), or
 * -errno. */
int fd_read_exact(int fd, void *p, size_t n);

/* Reads FD into B (appending) until end of file, blocking, at most MAX
 * bytes in B (it stops soon after). 0, -EFBIG, -ENOMEM or -errno. */
int buf_read_all(struct buf *b, int fd, size_t max);

/*
 * Reads FD into B (appending) until end of file, within TIMEOUT_MS
 * (CLOCK_MONOTONIC) and at most MAX bytes in B: what a child process
 * writes back through a pipe. 0, or -ETIMEDOUT, -EFBIG, -ENOMEM, -errno.
 */
int buf_read_fd(struct buf *b, int fd, int timeout_ms, size_t max);

#endif
