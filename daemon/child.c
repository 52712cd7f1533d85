/* child.c — see child.h. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"

int child_run(void (*fn)(int fd, void *arg), void *arg, int timeout_ms,
	      size_t max, struct buf *reply, int *status, char *err,
	      size_t errlen)
{
	int fds[2], r;
	pid_t pid;

	*status = 0;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-r));
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		snprintf(err, errlen, "fork: %s", strerror(-r));
		return r;
	}
	if (pid == 0) {
		/* kipd's signal handlers write to its self-pipe: not ours. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(fds[0]);
		fn(fds[1], arg);
		_exit(0);
	}
	close(fds[1]);
	r = buf_read_fd(reply, fds[0], timeout_ms, max);
	close(fds[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	if (r == -ETIMEDOUT)
		snprintf(err, errlen, "no answer within %d ms", timeout_ms);
	else if (r < 0)
		snprintf(err, errlen, "reading the answer: %s", strerror(-r));
	return r;
}
