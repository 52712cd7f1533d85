/* slowsync.c — an LD_PRELOAD shim that makes every sync of an SQLite WAL
 * file slow, for tests of what waits for those syncs
 * (tests/integration/t_mail_faults.sh).
 *
 *   LD_PRELOAD=build/preload/slowsync.so KIP_SLOWSYNC_MS=300 kipd ...
 *
 * fdatasync() and fsync() on a file whose name ends in "-wal" sleep
 * KIP_SLOWSYNC_MS milliseconds (default 300) and then sync as asked; every
 * other call is passed on at once. In a sanitizer build the sanitizer's
 * runtime must come first in LD_PRELOAD.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd);
int fsync(int fd);

static void slow_if_wal(int fd)
{
	char link[64], path[4096];
	const char *ms = getenv("KIP_SLOWSYNC_MS");
	long n_ms = ms ? atol(ms) : 300;
	struct timespec ts = { n_ms / 1000, (n_ms % 1000) * 1000000L };
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 4 && memcmp(path + n - 4, "-wal", 4) == 0)
		while (nanosleep(&ts, &ts) < 0)
			;
}

int fdatasync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	slow_if_wal(fd);
	return real(fd);
}

int fsync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	slow_if_wal(fd);
	return real(fd);
}
