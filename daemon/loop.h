/* loop.h — the one poll() loop of kipd: file descriptors and timers.
 *
 * The loop runs on kipd's main thread, the loop thread: the control
 * socket, the commands, every transaction on the store, the scheduler,
 * MQTT and the outbox's claims and records all happen in its callbacks,
 * and what they share needs no lock. kipd has other threads too (the SMTP
 * workers and kip-seal, the intake worker, kip-walsync, kip-checkpoint;
 * docs/ARCHITECTURE.md, "Threads"); they never call the loop. Those that
 * report to it (the SMTP pool, the intake worker, kip-walsync) hand over
 * under a lock of their own and wake it through an eventfd it watches
 * (loop_add_fd()). So every function here is for the loop thread only,
 * and a struct loop is never locked.
 *
 * Timers are one-shot; the loop sleeps in poll() until the earliest timer
 * or an fd is ready, and uses no CPU while idle. Signals reach it through
 * a pipe (kipd.c).
 */
#ifndef KIP_LOOP_H
#define KIP_LOOP_H

#include <stdint.h>

struct loop;

typedef void (*loop_fd_fn)(struct loop *loop, int fd, short revents, void *arg);
typedef void (*loop_timer_fn)(struct loop *loop, void *arg);

/* Returns a new loop or NULL on ENOMEM. */
struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Watches fd for events (POLLIN, POLLOUT). One watch per fd. 0 or -errno. */
int loop_add_fd(struct loop *loop, int fd, short events, loop_fd_fn fn,
		void *arg);
/* Changes the events watched on fd; 0 or -ENOENT. */
int loop_mod_fd(struct loop *loop, int fd, short events);
/* Stops watching fd (it is not closed). Safe inside a callback. */
void loop_del_fd(struct loop *loop, int fd);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t loop_now_ms(void);
/* The same with its fraction, for timing what a piece of work took. */
double loop_clock_ms(void);

/* Calls fn(arg) once at monotonic time when_ms (or as soon as possible).
 * Returns a timer id > 0, or -ENOMEM. */
int64_t loop_timer_at(struct loop *loop, uint64_t when_ms, loop_timer_fn fn,
		      void *arg);
/* Cancels a pending timer; unknown or fired ids are ignored. */
void loop_timer_cancel(struct loop *loop, int64_t id);

/* Runs until loop_stop(); returns 0, or -errno if poll() failed. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

#endif
