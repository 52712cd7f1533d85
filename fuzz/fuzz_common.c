/* fuzz_common.c — the helpers of fuzz.h, linked into every target. */
#include "fuzz.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void rm_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
	struct stat sb;

	if (tmpdir[0])
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s/kip-fuzz-XXXXXX",
		 stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
			 access("/dev/shm", W_OK) == 0
		     ? "/dev/shm"
		     : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("fuzz: mkdtemp");
		exit(2);
	}
	atexit(rm_tmpdir);
	return tmpdir;
}

int fuzz_write_file(const char *path, const void *data, size_t size)
{
	const char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	while (size) {
		ssize_t n = write(fd, p, size);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		size -= (size_t)n;
	}
	return close(fd);
}

void fuzz_quiet_log(void)
{
	const char *v = getenv("KIP_FUZZ_LOG");

	log_open("kip-fuzz", v && strcmp(v, "debug") == 0 ? LOG_DEBUG
							    : LOG_CRIT,
		 0);
}
