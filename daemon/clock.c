/* clock.c — see clock.h.
 *
 * Without a test file clock_now() is time(). With one, the offset is
 * cached with the file's identity (inode, size, mtime, ctime) and read
 * again when that changes. A file's timestamps come from a coarse clock,
 * so a file written twice within one tick would look unchanged: while its
 * mtime is recent (RACY_SECONDS), every call reads it again. The cache is
 * shared by the loop thread and the SMTP workers, under a mutex.
 */
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

/* How long after a write the file is read at every call. */
#define RACY_SECONDS 2

/* Set before any thread starts, read only afterwards. */
static char *test_file;

static struct {
	pthread_mutex_t mu;
	struct stat seen; /* the file when offset was read */
	bool cached;	  /* offset holds for a file as seen */
	bool failing;	  /* the last read failed (and was logged) */
	long long offset; /* the last offset read; 0 before any */
} tc = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The offset in the test file. */
static int read_offset(const char *path, long long *ret)
{
	FILE *f = fopen(path, "re");
	char line[64], *end;
	long long v;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	errno = 0;
	v = strtoll(line, &end, 10);
	if (errno || end == line || (*end && *end != '\n'))
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The test offset, from the cache or read again. Holding tc.mu. */
static long long test_offset(time_t real)
{
	struct stat st;
	long long off;
	int r = stat(test_file, &st) < 0 ? -errno : 0;

	if (r == 0 && tc.cached && same_file(&st, &tc.seen))
		return tc.offset;
	if (r == 0)
		r = read_offset(test_file, &off);
	if (r < 0) {
		if (!tc.failing)
			log_warn("test clock: %s: %s; keeping offset %lld",
				 test_file, strerror(-r), tc.offset);
		tc.failing = true;
		tc.cached = false;
		return tc.offset;
	}
	tc.failing = false;
	tc.offset = off;
	tc.seen = st;
	tc.cached = real - st.st_mtim.tv_sec >= RACY_SECONDS;
	return off;
}

int clock_use_test_file(const char *path)
{
	long long off = 0;
	int r;

	free(test_file);
	test_file = NULL;
	tc.cached = tc.failing = false;
	tc.offset = 0;
	if (!path)
		return 0;
	r = read_offset(path, &off);
	if (r < 0)
		return r;
	test_file = strdup(path);
	return test_file ? 0 : -ENOMEM;
}

time_t clock_now(void)
{
	time_t real = time(NULL);
	long long off;

	if (!test_file)
		return real;
	pthread_mutex_lock(&tc.mu);
	off = test_offset(real);
	pthread_mutex_unlock(&tc.mu);
	return real + (time_t)off;
}

void clock_local(time_t t, char out[17])
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 17, "%Y-%m-%dT%H:%M", &tm);
}

void clock_today(char out[11])
{
	time_t t = clock_now();
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

time_t clock_local_to_time(const char *local, int days_before)
{
	struct tm tm;
	int y, mo, d, h, mi;

	if (!local ||
	    sscanf(local, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) != 5)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d - days_before;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_isdst = -1;
	return mktime(&tm);
}
