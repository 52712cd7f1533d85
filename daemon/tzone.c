/* tzone.c — see tzone.h. */
#include "tzone.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY 86400
#define NAME_MAX_LEN 200

/* The name tzone_use() set; "" before. */
static char zone[NAME_MAX_LEN + 1];

/* The last answer of tzone_observances(): every invitation of a meeting
 * asks for the same years, and probing them costs a millisecond or two. */
static struct {
	pthread_mutex_t mu;
	bool valid;
	time_t from, to;
	size_t n;
	struct tzone_shift shifts[TZONE_SHIFTS_MAX];
} memo = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Letters, digits and "_+-." in '/'-separated parts, none empty, "." or
 * "..": a name inside the database, never a path out of it. */
static bool name_ok(const char *name)
{
	const char *part = name;

	if (!*name || strlen(name) > NAME_MAX_LEN)
		return false;
	for (const char *p = name;; p++) {
		if (*p == '/' || !*p) {
			size_t len = (size_t)(p - part);

			if (len == 0 || (len == 1 && part[0] == '.') ||
			    (len == 2 && part[0] == '.' && part[1] == '.'))
				return false;
			if (!*p)
				return true;
			part = p + 1;
		} else if (!strchr("abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.",
				   *p)) {
			return false;
		}
	}
}

const char *tzone_check(const char *name)
{
	char path[sizeof(TZONE_DIR) + NAME_MAX_LEN + 1], magic[4];
	struct stat st;
	ssize_t n;
	int fd;

	if (!name || !name_ok(name))
		return "is not a time zone name such as \"Europe/Copenhagen\"";
	snprintf(path, sizeof(path), "%s/%s", TZONE_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return "is not a time zone in " TZONE_DIR;
	n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
		? read(fd, magic, sizeof(magic))
		: -1;
	close(fd);
	if (n != (ssize_t)sizeof(magic) || memcmp(magic, "TZif", 4) != 0)
		return "is not a time zone file (TZif) in " TZONE_DIR;
	return NULL;
}

int tzone_use(const char *name, char *err, size_t errlen)
{
	char tz[sizeof(TZONE_DIR) + NAME_MAX_LEN + 2];
	const char *why = tzone_check(name);

	if (why) {
		snprintf(err, errlen, "timezone: '%s' %s", name ? name : "",
			 why);
		return -EINVAL;
	}
	/* The file itself, as checked: not looked up in a TZDIR. */
	snprintf(tz, sizeof(tz), ":%s/%s", TZONE_DIR, name);
	if (setenv("TZ", tz, 1) < 0) {
		int r = -errno;

		snprintf(err, errlen, "timezone: cannot set TZ: %s",
			 strerror(-r));
		return r;
	}
	tzset();
	snprintf(zone, sizeof(zone), "%s", name);
	pthread_mutex_lock(&memo.mu);
	memo.valid = false;
	pthread_mutex_unlock(&memo.mu);
	return 0;
}

const char *tzone_name(void)
{
	return zone[0] ? zone : NULL;
}

/* ---- the shifts, probed ---- */

struct rules {
	long off;
	bool dst;
	char abbr[16];
};

static void rules_at(time_t t, struct rules *ret)
{
	struct tm tm;

	memset(ret, 0, sizeof(*ret));
	if (!localtime_r(&t, &tm))
		return;
	ret->off = tm.tm_gmtoff;
	ret->dst = tm.tm_isdst > 0;
	snprintf(ret->abbr, sizeof(ret->abbr), "%s",
		 tm.tm_zone ? tm.tm_zone : "");
}

static bool differ(const struct rules *a, const struct rules *b)
{
	return a->off != b->off || a->dst != b->dst;
}

/* The first shift after T, up to LIMIT: 1 with *ret, or 0. */
static int next_shift(time_t t, time_t limit, struct tzone_shift *ret)
{
	struct rules before, after;

	rules_at(t, &before);
	for (time_t lo = t; lo < limit;) {
		time_t hi = limit - lo > DAY ? lo + DAY : limit;

		rules_at(hi, &after);
		if (!differ(&before, &after)) {
			lo = hi;
			continue;
		}
		while (hi - lo > 1) {
			time_t mid = lo + (hi - lo) / 2;

			rules_at(mid, &after);
			if (differ(&before, &after))
				hi = mid;
			else
				lo = mid;
		}
		rules_at(hi, &after);
		ret->at = hi;
		ret->from = (int)before.off;
		ret->to = (int)after.off;
		ret->dst = after.dst;
		memcpy(ret->abbr, after.abbr, sizeof(ret->abbr));
		return 1;
	}
	return 0;
}

/* tzone_observances() without the memo, into memo.shifts. Holding
 * memo.mu. */
static int probe(time_t from, time_t to)
{
	struct tzone_shift s, last, *ret = memo.shifts;
	bool found = false;
	size_t n = 1;

	for (time_t t = from - 366 * DAY; next_shift(t, from, &s); t = s.at) {
		last = s;
		found = true;
	}
	if (!found) {
		struct rules r;

		rules_at(from, &r);
		last = (struct tzone_shift){from, (int)r.off, (int)r.off, r.dst,
					    ""};
		memcpy(last.abbr, r.abbr, sizeof(last.abbr));
	}
	ret[0] = last;
	for (time_t t = from; next_shift(t, to, &s); t = s.at) {
		if (n == TZONE_SHIFTS_MAX)
			return -E2BIG;
		ret[n++] = s;
	}
	return (int)n;
}

int tzone_observances(time_t from, time_t to, struct tzone_shift *ret,
		      size_t max)
{
	int r = 0;

	pthread_mutex_lock(&memo.mu);
	if (!memo.valid || memo.from != from || memo.to != to) {
		memo.valid = false;
		r = probe(from, to);
		if (r > 0) {
			memo.valid = true;
			memo.from = from;
			memo.to = to;
			memo.n = (size_t)r;
		}
	}
	if (r >= 0 && memo.n > max)
		r = -E2BIG;
	if (r >= 0) {
		memcpy(ret, memo.shifts, memo.n * sizeof(*ret));
		r = (int)memo.n;
	}
	pthread_mutex_unlock(&memo.mu);
	return r;
}
