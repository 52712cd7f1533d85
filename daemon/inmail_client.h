/* inmail_client.h — kipd's side of kip-inmail, the process that parses
 * inbound mail (inmail/, inmail_wire.h). Used by the intake worker thread only:
 * the worker of a pass starts kip-inmail (posix_spawn, its standard input
 * and output one end of a socket pair), hands it each fetched message and
 * waits for the verdict, and stops it before the pass ends. The loop
 * thread never talks to kip-inmail; it gets the verdict from the worker.
 */
#ifndef KIP_INMAIL_CLIENT_H
#define KIP_INMAIL_CLIENT_H

#include <stddef.h>

#include "inmail_wire.h"

struct reader;

/* The program kipd runs: kip-inmail beside kipd's own executable if it is
 * there (a build tree), else KIP_LIBEXECDIR/kip-inmail. */
int reader_path(char *out, size_t size);

/*
 * Starts the reader and hands it SETTINGS. TIMEOUT_S bounds each exchange
 * (its start, and the verdict on one message: intake.timeout_s). 0, or
 * -errno with err (the program is missing, or it could not load a key:
 * its reason).
 */
int reader_start(const struct wire_settings *settings, long timeout_s,
		 struct reader **ret, char *err, size_t errlen);

/*
 * Has RAW judged into V (free with wire_verdict_free()). 0, or -errno
 * with err when the reader failed on it (died, timed out, answered
 * nonsense); it is stopped then, and reader_start() makes a new one.
 */
int reader_judge(struct reader *rd, const void *raw, size_t len,
		 struct wire_verdict *v, char *err, size_t errlen);

/* Closes its socket and waits for it (killing it if it does not go). */
void reader_stop(struct reader *rd);

#endif
