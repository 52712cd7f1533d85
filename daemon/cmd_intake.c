/* cmd_intake.c — the intake commands: a pass now, its status, and the
 * quarantine (intake.c reads the mail and the MQTT reports). */
#include <errno.h>

#include "cmd.h"
#include "intake.h"
#include "store.h"

int cmd_intake_run(struct cmd_ctx *c)
{
	int64_t pass;
	bool queued;

	if (intake_run_now(c->k, &pass, &queued) < 0)
		return cmd_fail(c, "unavailable",
				"no mail intake: intake.url is not set");
	return cmd_ok(c, json_pack("{s:I, s:b}", "pass", (json_int_t)pass,
				   "queued", queued));
}

int cmd_intake_status(struct cmd_ctx *c)
{
	json_t *o = intake_status(c->k);

	return o ? cmd_ok(c, o) : cmd_store_fail(c, -ENOMEM, "intake");
}

int cmd_intake_quarantine(struct cmd_ctx *c)
{
	int64_t limit = 100;
	json_t *rows;
	int r;

	if (arg_int(c, "limit", false, &limit) < 0)
		return -1;
	if (limit < 1 || limit > 10000)
		return cmd_fail(c, "bad_request",
				"argument 'limit' must be 1 to 10000");
	r = store_rows(
	    c->st, &rows,
	    "SELECT id, strftime('%Y-%m-%dT%H:%M:%SZ', at, 'unixepoch')"
	    " AS at, channel, source_id, sender, reason, detail"
	    " FROM quarantine ORDER BY id DESC LIMIT ?",
	    "i", limit);
	if (r < 0)
		return cmd_store_fail(c, r, "quarantine");
	return cmd_ok(c, json_pack("{s:o}", "quarantine", rows));
}
