/* log.c — see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int log_level = LOG_INFO;
static int log_syslog;
static const char *log_ident = "kip";

static const char *const level_names[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void log_open(const char *ident, int level, int use_syslog)
{
	log_ident = ident;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int level)
{
	log_level = level;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %s[%s]: ", when, log_ident,
			level >= 0 && level <= LOG_DEBUG ? level_names[level]
							 : "?");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
