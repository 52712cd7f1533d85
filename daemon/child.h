/* child.h — work done in a helper process that writes its answer back
 * through a pipe (the directory searches, the PDF rendering): a helper
 * that dies, hangs or answers too much costs its answer, not kipd.
 *
 * A helper is kipd's own executable started anew ("kipd --helper DUTY
 * PARENT"), not a fork of the threaded kipd: a fork would inherit every
 * lock another thread held at that moment (the allocator's, OpenSSL's),
 * and the sanitizers could not follow it. The helper gets its job on its
 * standard input, writes its answer on its standard output, has no other
 * descriptor open (the store's lock least of all: a restart after kill -9
 * must not find it held), and is killed when kipd ends.
 */
#ifndef KIP_CHILD_H
#define KIP_CHILD_H

#include <stddef.h>

struct buf;

/*
 * Starts the helper DUTY with the LEN bytes at JOB on its standard input.
 * Reads its answer into REPLY until end of file, at most MAX bytes,
 * within TIMEOUT_MS (else the helper is killed), and waits for it: its
 * wait status in *STATUS. 0, or -ETIMEDOUT, -EFBIG, -ENOMEM, -errno; err
 * says what failed ("cannot start the helper: ...", "no answer within N
 * ms", "reading the answer: ...").
 */
int child_run(const char *duty, const void *job, size_t len, int timeout_ms,
	      size_t max, struct buf *reply, int *status, char *err,
	      size_t errlen);

/* In "kipd --helper DUTY PARENT": the helper's side. Dies with PARENT,
 * reads the job from standard input (at most MAX bytes) and calls
 * FN(JOB, LEN, 1), which writes the answer to descriptor 1. The process's
 * exit status. */
int child_main(const char *parent, size_t max,
	       int (*fn)(const char *job, size_t len, int fd));

#endif
