/* clock.c — see clock.h. */
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static char *test_file;

/* The offset in the test file; 0 on any trouble. */
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

int clock_use_test_file(const char *path)
{
	long long off;
	int r;

	free(test_file);
	test_file = NULL;
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
	long long off = 0;

	if (test_file && read_offset(test_file, &off) < 0)
		log_warn("test clock: %s unreadable, offset 0", test_file);
	return time(NULL) + (time_t)off;
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
