/* fdio.c — whole reads and writes on a descriptor; see fdio.h. */
#include "fdio.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int fd_write_all(int fd, const void *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r =
		    send(fd, (const char *)p + done, n - done, MSG_NOSIGNAL);

		if (r < 0 && errno == ENOTSOCK)
			r = write(fd, (const char *)p + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	return 0;
}

int fd_read_exact(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (r == 0)
			return got ? -EPROTO : -EPIPE;
		got += (size_t)r;
	}
	return 0;
}

/* One read() into B: 1 for data, 0 at end of file, or a negative error. */
static int read_some(struct buf *b, int fd, size_t max)
{
	ssize_t n;

	if (buf_reserve(b, 65536) < 0)
		return -ENOMEM;
	do
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	return b->len > max ? -EFBIG : 1;
}

int buf_read_all(struct buf *b, int fd, size_t max)
{
	int r;

	while ((r = read_some(b, fd, max)) > 0)
		;
	return r;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int buf_read_fd(struct buf *b, int fd, int timeout_ms, size_t max)
{
	uint64_t deadline =
	    mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		uint64_t now = mono_ms();
		struct pollfd p = {fd, POLLIN, 0};
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		r = read_some(b, fd, max);
		if (r <= 0)
			return r;
	}
}
