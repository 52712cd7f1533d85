/* sdnotify.c — see sdnotify.h. The whole of sd_notify(3) that kipd needs,
 * in place of a dependency on libsystemd. */
#include "sdnotify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Fills *sa from $NOTIFY_SOCKET's value e: "/path" or "@abstract". Newer
 * systemd can also name an AF_VSOCK address ("vsock:..."), for virtual
 * machines; kipd does not run there, so that is -EINVAL like any other. */
static int notify_addr(const char *e, struct sockaddr_un *sa,
		       socklen_t *ret_len)
{
	size_t n = strlen(e);

	if ((e[0] != '/' && e[0] != '@') || n < 2 || n >= sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, e, n);
	if (e[0] == '@') /* abstract: a leading NUL, and no trailing one */
		sa->sun_path[0] = '\0';
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			       (e[0] == '/'));
	return 0;
}

int sdnotify(const char *state)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t n;
	int fd, r;

	if (!e || !*e)
		return 0;
	if (!state || !*state)
		return -EINVAL;
	r = notify_addr(e, &sa, &len);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
		   (struct sockaddr *)&sa, len);
	r = n < 0 ? -errno : (size_t)n != strlen(state) ? -EMSGSIZE : 1;
	close(fd);
	return r;
}

int sdnotifyf(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -ENOBUFS;
	return sdnotify(buf);
}

int sdnotify_reloading(void)
{
	struct timespec ts;
	uint64_t usec;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -errno;
	usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	return sdnotifyf("RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
}

/* A positive decimal number, nothing else (no sign, space or suffix). */
static int parse_positive(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int sdnotify_watchdog_usec(uint64_t *ret_usec)
{
	const char *usec_s = getenv("WATCHDOG_USEC");
	const char *pid_s = getenv("WATCHDOG_PID");
	uint64_t usec, pid;

	if (!usec_s)
		return 0;
	if (parse_positive(usec_s, &usec) < 0)
		return -EINVAL;
	if (pid_s) {
		if (parse_positive(pid_s, &pid) < 0)
			return -EINVAL;
		if (pid != (uint64_t)getpid())
			return 0;
	}
	*ret_usec = usec;
	return 1;
}
