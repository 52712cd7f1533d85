/* child.c — see child.h. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"

/* In the child: every descriptor but 0-2 and KEEP closed. kipd's are
 * close-on-exec, but a child that does not exec keeps them, and with
 * them the store's lock (flock() belongs to the open file, which the
 * child shares). */
static void close_others(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0U, 0);
}

int child_run(void (*fn)(int fd, void *arg), void *arg, int timeout_ms,
	      size_t max, struct buf *reply, int *status, char *err,
	      size_t errlen)
{
	pid_t pid, parent = getpid();
	int fds[2], r;

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
		/* ends with kipd, even by kill -9 (kipd waits for the child
		 * on the thread that forked it) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		close_others(fds[1]);
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
