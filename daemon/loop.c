/* loop.c — poll() loop with one-shot timers; see loop.h.
 *
 * The fd table and the timer table are small arrays (control connections
 * are capped by control.max_clients, timers by the duties of the daemon);
 * a linear scan for the earliest timer costs less than a heap at this size.
 */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct watch {
	int fd;
	short events;
	loop_fd_fn fn;
	void *arg;
};

struct timer {
	int64_t id;
	uint64_t when;
	loop_timer_fn fn;
	void *arg;
};

struct loop {
	struct watch *w;
	size_t n_w, cap_w;
	struct pollfd *pfd;
	struct timer *t;
	size_t n_t, cap_t;
	int64_t next_id;
	bool stop;
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (l)
		l->next_id = 1;
	return l;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	free(loop->w);
	free(loop->pfd);
	free(loop->t);
	free(loop);
}

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int grow(void **p, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, n * size);

	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

int loop_add_fd(struct loop *loop, int fd, short events, loop_fd_fn fn,
		void *arg)
{
	if (loop->n_w == loop->cap_w) {
		size_t cap = loop->cap_w;
		struct pollfd *p;

		if (grow((void **)&loop->w, &cap, sizeof(*loop->w)) < 0)
			return -ENOMEM;
		p = realloc(loop->pfd, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		loop->pfd = p;
		loop->cap_w = cap;
	}
	loop->w[loop->n_w++] = (struct watch){fd, events, fn, arg};
	return 0;
}

int loop_mod_fd(struct loop *loop, int fd, short events)
{
	for (size_t i = 0; i < loop->n_w; i++) {
		if (loop->w[i].fd == fd) {
			loop->w[i].events = events;
			return 0;
		}
	}
	return -ENOENT;
}

void loop_del_fd(struct loop *loop, int fd)
{
	/* Marked here, compacted after dispatch, so that a callback may
	 * remove any watch while the loop walks the table. */
	for (size_t i = 0; i < loop->n_w; i++)
		if (loop->w[i].fd == fd)
			loop->w[i].fd = -1;
}

int64_t loop_timer_at(struct loop *loop, uint64_t when_ms, loop_timer_fn fn,
		      void *arg)
{
	if (loop->n_t == loop->cap_t &&
	    grow((void **)&loop->t, &loop->cap_t, sizeof(*loop->t)) < 0)
		return -ENOMEM;
	loop->t[loop->n_t++] = (struct timer){loop->next_id, when_ms, fn, arg};
	return loop->next_id++;
}

void loop_timer_cancel(struct loop *loop, int64_t id)
{
	for (size_t i = 0; i < loop->n_t; i++) {
		if (loop->t[i].id == id) {
			loop->t[i] = loop->t[--loop->n_t];
			return;
		}
	}
}

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}

/* Fires every due timer; returns the poll timeout until the next one. */
static int run_timers(struct loop *loop)
{
	uint64_t now = loop_now_ms(), next = UINT64_MAX;
	size_t i = 0;

	while (i < loop->n_t) {
		if (loop->t[i].when <= now) {
			struct timer t = loop->t[i];

			loop->t[i] = loop->t[--loop->n_t];
			t.fn(loop, t.arg);
			i = 0; /* the callback may have changed the table */
			now = loop_now_ms();
			next = UINT64_MAX;
			continue;
		}
		if (loop->t[i].when < next)
			next = loop->t[i].when;
		i++;
	}
	if (next == UINT64_MAX)
		return -1;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void compact(struct loop *loop)
{
	size_t j = 0;

	for (size_t i = 0; i < loop->n_w; i++)
		if (loop->w[i].fd >= 0)
			loop->w[j++] = loop->w[i];
	loop->n_w = j;
}

int loop_run(struct loop *loop)
{
	while (!loop->stop) {
		int timeout = run_timers(loop), n;
		size_t nfds;

		if (loop->stop)
			break;
		compact(loop);
		nfds = loop->n_w;
		for (size_t i = 0; i < nfds; i++)
			loop->pfd[i] = (struct pollfd){loop->w[i].fd,
						       loop->w[i].events, 0};
		n = poll(loop->pfd, nfds, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (size_t i = 0; i < nfds && n > 0; i++) {
			struct watch *w = &loop->w[i];

			if (!loop->pfd[i].revents)
				continue;
			n--;
			if (w->fd == loop->pfd[i].fd)
				w->fn(loop, w->fd, loop->pfd[i].revents,
				      w->arg);
		}
	}
	return 0;
}
