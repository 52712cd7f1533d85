/* log.h — one line per event, to syslog/journald or stderr.
 *
 * Messages carry ids only: never names, CPR numbers, addresses, e-mail
 * addresses or plan text. Levels are syslog's (LOG_ERR .. LOG_DEBUG).
 */
#ifndef KIP_LOG_H
#define KIP_LOG_H

#include <syslog.h>

/* use_syslog: 1 for syslog (journald picks it up), 0 for stderr. */
void log_open(const char *ident, int level, int use_syslog);
void log_set_level(int level);
void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
