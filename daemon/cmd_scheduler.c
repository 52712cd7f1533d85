/* cmd_scheduler.c — scheduler.run: what is due, now (scheduler.c keeps
 * the schedule). */
#include <time.h>

#include "clock.h"
#include "cmd.h"
#include "log.h"
#include "loop.h"
#include "scheduler.h"

int cmd_scheduler_run(struct cmd_ctx *c)
{
	time_t now = clock_now();
	double t0 = loop_clock_ms(), ms;
	char when[32];
	struct tm tm;
	int due, messages;
	int r = scheduler_run_now(c->k, now, &due, &messages);

	if (r < 0)
		return cmd_store_fail(c, r, "scheduler");
	ms = loop_clock_ms() - t0;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_info("scheduler: run: %d due, %d messages, %.3f ms", due, messages,
		 ms);
	return cmd_ok(c,
		      json_pack("{s:i, s:i, s:f, s:s}", "due", due, "messages",
				messages, "ms", ms, "now", when));
}
