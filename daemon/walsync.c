/* walsync.c — see walsync.h. */
#include "walsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Two threads: kip-walsync (sync_main()) and the one that started it,
 * kipd's loop thread, which calls the functions of walsync.h (and
 * kip-walsync calls on_done with mu held). */
struct walsync {
	char *path;	  /* the WAL file; read-only after the start */
	int fd;		  /* read-only descriptor of it; fd, dev and */
	dev_t dev;	  /* ino are kip-walsync's own once it runs */
	ino_t ino;	  /* (current_fd() reopens without mu) */
	int efd;	  /* kip-walsync writes it, the loop reads it */
	pthread_t thread; /* the starting thread's (start and stop) */
	pthread_mutex_t mu;
	pthread_cond_t wake;   /* asked moved, or stop */
	pthread_cond_t synced; /* done moved */
	uint64_t asked, done;  /* asked to on_done_arg: under mu */
	bool stop, failed;
	void (*on_done)(void *arg, uint64_t ticket);
	void *on_done_arg;
};

/* The descriptor refers to the file at ws->path, reopened if SQLite made
 * a new one. */
static int current_fd(struct walsync *ws)
{
	struct stat st;
	int fd;

	if (stat(ws->path, &st) == 0 && st.st_dev == ws->dev &&
	    st.st_ino == ws->ino)
		return ws->fd;
	fd = open(ws->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(ws->fd);
	ws->fd = fd;
	ws->dev = st.st_dev;
	ws->ino = st.st_ino;
	return fd;
}

static void *sync_main(void *arg)
{
	struct walsync *ws = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&ws->mu);
	for (;;) {
		uint64_t target;
		int fd, r;

		while (ws->asked == ws->done && !ws->stop)
			pthread_cond_wait(&ws->wake, &ws->mu);
		if (ws->asked == ws->done)
			break; /* stopping, nothing left */
		target = ws->asked;
		pthread_mutex_unlock(&ws->mu);
		fd = current_fd(ws);
		r = fd < 0 ? -1 : fdatasync(fd);
		if (r < 0)
			log_err("store: cannot sync the WAL (%s): %s", ws->path,
				strerror(errno));
		pthread_mutex_lock(&ws->mu);
		/* After a failed sync there is nothing to wait for: the
		 * caller commits with synchronous=FULL from now on and SQLite
		 * reports what the disk says. */
		if (r < 0)
			ws->failed = true;
		ws->done = target;
		if (ws->on_done)
			ws->on_done(ws->on_done_arg, target);
		pthread_cond_broadcast(&ws->synced);
		(void)!write(ws->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&ws->mu);
	return NULL;
}

struct walsync *walsync_start(const char *db_path)
{
	struct walsync *ws = calloc(1, sizeof(*ws));
	struct stat st;

	if (!ws || asprintf(&ws->path, "%s-wal", db_path) < 0) {
		free(ws);
		log_warn("store: out of memory; every commit syncs itself");
		return NULL;
	}
	ws->fd = open(ws->path, O_RDONLY | O_CLOEXEC);
	ws->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ws->fd < 0 || fstat(ws->fd, &st) < 0 || ws->efd < 0) {
		log_warn("store: %s: %s; every commit syncs itself", ws->path,
			 strerror(errno));
		goto fail;
	}
	ws->dev = st.st_dev;
	ws->ino = st.st_ino;
	pthread_mutex_init(&ws->mu, NULL);
	pthread_cond_init(&ws->wake, NULL);
	pthread_cond_init(&ws->synced, NULL);
	if (pthread_create(&ws->thread, NULL, sync_main, ws) != 0) {
		log_warn("store: no WAL sync thread; every commit syncs "
			 "itself");
		pthread_mutex_destroy(&ws->mu);
		pthread_cond_destroy(&ws->wake);
		pthread_cond_destroy(&ws->synced);
		goto fail;
	}
	pthread_setname_np(ws->thread, "kip-walsync");
	return ws;
fail:
	if (ws->fd >= 0)
		close(ws->fd);
	if (ws->efd >= 0)
		close(ws->efd);
	free(ws->path);
	free(ws);
	return NULL;
}

void walsync_stop(struct walsync *ws)
{
	if (!ws)
		return;
	pthread_mutex_lock(&ws->mu);
	ws->stop = true;
	pthread_cond_signal(&ws->wake);
	pthread_mutex_unlock(&ws->mu);
	pthread_join(ws->thread, NULL);
	pthread_mutex_destroy(&ws->mu);
	pthread_cond_destroy(&ws->wake);
	pthread_cond_destroy(&ws->synced);
	close(ws->fd);
	close(ws->efd);
	free(ws->path);
	free(ws);
}

uint64_t walsync_request(struct walsync *ws)
{
	uint64_t t;

	pthread_mutex_lock(&ws->mu);
	t = ++ws->asked;
	pthread_cond_signal(&ws->wake);
	pthread_mutex_unlock(&ws->mu);
	return t;
}

uint64_t walsync_done(struct walsync *ws)
{
	uint64_t v, t;

	(void)!read(ws->efd, &v, sizeof(v));
	pthread_mutex_lock(&ws->mu);
	t = ws->done;
	pthread_mutex_unlock(&ws->mu);
	return t;
}

uint64_t walsync_wait(struct walsync *ws)
{
	uint64_t t;

	pthread_mutex_lock(&ws->mu);
	t = ws->asked;
	while (ws->done < t)
		pthread_cond_wait(&ws->synced, &ws->mu);
	pthread_mutex_unlock(&ws->mu);
	return t;
}

void walsync_on_done(struct walsync *ws, void (*fn)(void *arg, uint64_t),
		     void *arg)
{
	pthread_mutex_lock(&ws->mu);
	ws->on_done = fn;
	ws->on_done_arg = arg;
	pthread_mutex_unlock(&ws->mu);
}

int walsync_fd(const struct walsync *ws)
{
	return ws->efd;
}

int walsync_busy(struct walsync *ws)
{
	int b;

	pthread_mutex_lock(&ws->mu);
	b = ws->asked != ws->done;
	pthread_mutex_unlock(&ws->mu);
	return b;
}

int walsync_failed(struct walsync *ws)
{
	int f;

	pthread_mutex_lock(&ws->mu);
	f = ws->failed;
	pthread_mutex_unlock(&ws->mu);
	return f;
}
