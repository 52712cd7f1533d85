/* inmail_client.c — starting kip-inmail and asking it for verdicts; see
 * inmail_client.h.
 */
#include "inmail_client.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#ifndef KIP_LIBEXECDIR
#define KIP_LIBEXECDIR "/usr/local/libexec/kip"
#endif

extern char **environ;

/* The intake worker's only, every field: the worker of a pass starts its
 * readers, asks them and stops them before it ends; no other thread and
 * no lock. */
struct reader {
	pid_t pid; /* kip-inmail's; -1: none, or waited for */
	int fd;	   /* kipd's end of the socket pair (kip-inmail's
		      standard input and output are the other) */
	size_t max_bytes;
	struct buf frame; /* the last frame in or out; wiped after use */
};

int reader_path(char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(out, size, "%s/kip-inmail", self) <
				size &&
			    access(out, X_OK) == 0)
				return 0;
		}
	}
	if ((size_t)snprintf(out, size, "%s/kip-inmail", KIP_LIBEXECDIR) >=
	    size)
		return -ENAMETOOLONG;
	return 0;
}

/* Stops the process now: after a failure its state is unknown. */
static void kill_it(struct reader *rd)
{
	if (rd->fd >= 0)
		close(rd->fd);
	rd->fd = -1;
	if (rd->pid > 0) {
		kill(rd->pid, SIGKILL);
		while (waitpid(rd->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	rd->pid = -1;
}

void reader_stop(struct reader *rd)
{
	if (!rd)
		return;
	if (rd->fd >= 0) {
		close(rd->fd); /* end of file: it exits */
		rd->fd = -1;
	}
	for (int i = 0; rd->pid > 0 && i < 200; i++) {
		pid_t w = waitpid(rd->pid, NULL, WNOHANG);
		if (w == rd->pid || (w < 0 && errno != EINTR))
			rd->pid = -1;
		else
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000},
				  NULL);
	}
	kill_it(rd);
	if (rd->frame.data)
		explicit_bzero(rd->frame.data, rd->frame.cap);
	buf_free(&rd->frame);
	free(rd);
}

/* Why a frame exchange failed, for err. */
static const char *why(int r)
{
	switch (r) {
	case -EPIPE:
		return "it stopped";
	case -EAGAIN:
		return "it did not answer in time";
	case -EPROTO:
		return "it answered something unreadable";
	default:
		return strerror(-r);
	}
}

int reader_start(const struct wire_settings *settings, long timeout_s,
		 struct reader **ret, char *err, size_t errlen)
{
	const struct timeval tv = {timeout_s > 0 ? timeout_s : 60, 0};
	char path[PATH_MAX], msg[400] = "";
	char *argv[] = {"kip-inmail", NULL};
	posix_spawn_file_actions_t fa;
	struct reader *rd;
	int sv[2], r;

	r = reader_path(path, sizeof(path));
	if (r < 0) {
		snprintf(err, errlen, "the mail reader's path is too long");
		return r;
	}
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->fd = rd->pid = -1;
	rd->max_bytes = (size_t)settings->max_bytes;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot start the mail reader: %s",
			 strerror(errno));
		free(rd);
		return r;
	}
	rd->fd = sv[0];
	r = posix_spawn_file_actions_init(&fa);
	if (r == 0) {
		r = posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO);
		if (r == 0)
			r = posix_spawn_file_actions_adddup2(&fa, sv[1],
							     STDOUT_FILENO);
		if (r == 0)
			r = posix_spawn(&rd->pid, path, &fa, NULL, argv,
					environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(sv[1]);
	if (r != 0) {
		snprintf(err, errlen, "cannot start the mail reader %s: %s",
			 path, strerror(r));
		rd->pid = -1;
		reader_stop(rd);
		return -r;
	}
	if (setsockopt(rd->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(rd->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		goto fail;
	}
	r = wire_encode_settings(settings, &rd->frame);
	if (r == 0)
		r = wire_write_frame(rd->fd, rd->frame.data, rd->frame.len);
	explicit_bzero(rd->frame.data, rd->frame.len);
	if (r == 0)
		r = wire_read_frame(rd->fd, &rd->frame, WIRE_OVERHEAD);
	if (r == 0)
		r = wire_decode_error(rd->frame.data, rd->frame.len, msg,
				      sizeof(msg));
	if (r < 0)
		goto fail;
	if (msg[0]) {
		snprintf(err, errlen, "the mail reader cannot start: %s", msg);
		reader_stop(rd);
		return -EINVAL;
	}
	*ret = rd;
	return 0;
fail:
	snprintf(err, errlen, "the mail reader %s failed to start: %s", path,
		 why(r));
	kill_it(rd);
	reader_stop(rd);
	return r;
}

int reader_judge(struct reader *rd, const void *raw, size_t len,
		 struct wire_verdict *v, char *err, size_t errlen)
{
	int r;

	if (rd->fd < 0) {
		snprintf(err, errlen, "the mail reader is not running");
		return -EPIPE;
	}
	r = wire_write_frame(rd->fd, raw, len);
	if (r == 0)
		r = wire_read_frame(rd->fd, &rd->frame,
				    2 * rd->max_bytes + WIRE_OVERHEAD);
	if (r == 0)
		r = wire_decode_verdict(rd->frame.data, rd->frame.len, v);
	if (rd->frame.data)
		explicit_bzero(rd->frame.data, rd->frame.len);
	if (r < 0) {
		int status = 0;

		snprintf(err, errlen, "the mail reader failed on a message: %s",
			 why(r));
		if (r == -EPIPE && rd->pid > 0 &&
		    waitpid(rd->pid, &status, 0) == rd->pid) {
			rd->pid = -1;
			if (WIFSIGNALED(status))
				snprintf(err, errlen,
					 "the mail reader stopped on a message "
					 "(signal %d)",
					 WTERMSIG(status));
			else
				snprintf(err, errlen,
					 "the mail reader stopped on a message "
					 "(exit %d)",
					 WEXITSTATUS(status));
		}
		kill_it(rd);
	}
	return r;
}
