/* sdnotify.h — telling systemd how kipd is doing, without libsystemd.
 *
 * The protocol (sd_notify(3)) is one datagram per message to the AF_UNIX
 * socket named by $NOTIFY_SOCKET: a path, or an abstract name when it
 * starts with '@'. The message is newline-separated VAR=VALUE lines:
 * READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1, STATUS=free text, ...
 * Outside systemd (NOTIFY_SOCKET unset) every call does nothing.
 *
 * The functions read the environment and keep no state; call them from the
 * loop's thread only (getenv() is not safe against a concurrent setenv()).
 */
#ifndef KIP_SDNOTIFY_H
#define KIP_SDNOTIFY_H

#include <stdint.h>

/* Sends state (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET.
 * Returns 1 when sent, 0 when NOTIFY_SOCKET is unset or empty (nothing to
 * do), -EINVAL for an empty state or a NOTIFY_SOCKET that is neither an
 * absolute path nor '@'-abstract or is too long, or -errno from socket()
 * or sendto(). Never blocks: a full socket buffer gives -EAGAIN. */
int sdnotify(const char *state);

/* sdnotify() of a printf-formatted message; -ENOBUFS when it formats to
 * more than 4 KiB. */
int sdnotifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with MONOTONIC_USEC= set to CLOCK_MONOTONIC now, which
 * sd_notify(3) asks for so that systemd can tell this reload from an
 * earlier one. Returns as sdnotify(). Follow it with READY=1. */
int sdnotify_reloading(void);

/* Whether systemd expects WATCHDOG=1 from this process, as
 * sd_watchdog_enabled(3): reads $WATCHDOG_USEC and, when $WATCHDOG_PID is
 * set, checks that it is getpid().
 * Returns 1 and stores the interval in microseconds in *ret_usec when
 * enabled; 0 when not (unset, or meant for another process); -EINVAL when
 * either variable is malformed (not a positive decimal number). *ret_usec
 * is untouched unless 1 is returned. Ping at half the interval. */
int sdnotify_watchdog_usec(uint64_t *ret_usec);

#endif
