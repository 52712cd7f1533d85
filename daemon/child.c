/* child.c — see child.h. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"

extern char **environ;

/* The job in a file of its own, at offset 0: the helper's standard input.
 * A pipe would need writing while the helper reads, and a helper that
 * never reads would stall kipd. -errno or the descriptor. */
static int job_file(const void *job, size_t len)
{
	int fd = memfd_create("kip-job", MFD_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = fd_write_all(fd, job, len);
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int spawn(const char *duty, int in, int out, pid_t *pid)
{
	char self[PATH_MAX], parent[24];
	char *argv[] = {"kipd", "--helper", (char *)duty, parent, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int r;

	/* The running executable by its name (valgrind follows that, not
	 * /proc/self/exe); when it was replaced on disk (an upgrade), the
	 * running one still, which reads the jobs this kipd writes. */
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		n = 0;
	self[n] = '\0';
	if (n == 0 || (n > 10 && strcmp(self + n - 10, " (deleted)") == 0))
		snprintf(self, sizeof(self), "/proc/self/exe");
	snprintf(parent, sizeof(parent), "%ld", (long)getpid());
	sigemptyset(&none);
	sigfillset(&all);
	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return r;
	r = posix_spawnattr_init(&at);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		return r;
	}
	/* kipd's threads block signals and it ignores SIGPIPE: the helper
	 * starts with neither */
	if (!(r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF)) &&
	    !(r = posix_spawnattr_setsigmask(&at, &none)) &&
	    !(r = posix_spawnattr_setsigdefault(&at, &all)) &&
	    !(r = posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO)) &&
	    !(r = posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO)) &&
	    !(r = posix_spawn_file_actions_addclosefrom_np(&fa, 3)))
		r = posix_spawn(pid, self, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

int child_run(const char *duty, const void *job, size_t len, int timeout_ms,
	      size_t max, struct buf *reply, int *status, char *err,
	      size_t errlen)
{
	pid_t pid;
	int fds[2], in, r;

	*status = 0;
	in = job_file(job, len);
	if (in < 0) {
		snprintf(err, errlen, "cannot start the helper: %s",
			 strerror(-in));
		return in;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		close(in);
		snprintf(err, errlen, "cannot start the helper: %s",
			 strerror(-r));
		return r;
	}
	r = spawn(duty, in, fds[1], &pid);
	close(in);
	close(fds[1]);
	if (r) {
		close(fds[0]);
		snprintf(err, errlen, "cannot start the helper: %s",
			 strerror(r));
		return -r;
	}
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

int child_main(const char *parent, size_t max,
	       int (*fn)(const char *job, size_t len, int fd))
{
	struct buf job = BUF_INIT;
	char *end;
	long ppid = strtol(parent, &end, 10);
	int r;

	/* ends with kipd, even by kill -9: PARENT is who started it, and
	 * if that is not the parent any more it has ended already */
	if (*end || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
	    (long)getppid() != ppid)
		return 127;
	r = buf_read_all(&job, STDIN_FILENO, max);
	if (r == 0)
		r = fn(job.data, job.len, STDOUT_FILENO);
	if (job.data)
		explicit_bzero(job.data, job.cap);
	buf_free(&job);
	return r == 0 ? 0 : 1;
}
