/* child.h — work done in a forked child that writes its answer back
 * through a pipe (the directory searches, the PDF rendering): a child
 * that dies, hangs or answers too much costs its answer, not kipd. */
#ifndef KIP_CHILD_H
#define KIP_CHILD_H

#include <stddef.h>

struct buf;

/*
 * Forks; the child, with kipd's signal handlers back at their defaults,
 * none of kipd's files open (the store's lock least of all: a restart
 * after kill -9 must not find it held by a child still at work) and
 * killed when kipd ends, runs FN(FD, ARG), writing its answer to FD, and
 * ends with _exit(0) if FN returns. The parent reads the answer into REPLY
 * until end of file, at most MAX bytes, within TIMEOUT_MS (else the child is
 * killed), and waits for the child: its wait status in *STATUS. 0, or
 * -ETIMEDOUT, -EFBIG, -ENOMEM, -errno; err says what failed ("pipe: ...",
 * "fork: ...", "no answer within N ms", "reading the answer: ...").
 */
int child_run(void (*fn)(int fd, void *arg), void *arg, int timeout_ms,
	      size_t max, struct buf *reply, int *status, char *err,
	      size_t errlen);

#endif
