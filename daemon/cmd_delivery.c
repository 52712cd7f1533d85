/* cmd_delivery.c — closing the loop on delivery: the coordinator's record
 * that a plan was handed over another way (a member without a usable
 * certificate, a bounce, a failure). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "clock.h"
#include "cmd.h"
#include "digest.h"
#include "event.h"
#include "outbox.h"
#include "pdfpass.h"
#include "validate.h"

int cmd_plan_handed(struct cmd_ctx *c)
{
	const char *how, *date = NULL;
	int64_t plan, version, contact = 0, id;
	int citizen = 0, r;
	char today[11];
	struct tm tm;
	time_t t;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, "version", true, &version) < 0 ||
	    arg_int(c, "contact", false, &contact) < 0 ||
	    arg_text(c, "how", true, 300, &how) < 0 ||
	    arg_date(c, "date", false, &date) < 0 ||
	    access_plan(c, plan, true) < 0)
		return -1;
	citizen = json_is_true(json_object_get(c->args, "citizen"));
	if (!contact == !citizen)
		return cmd_fail(c, "bad_request",
				"say who received it: --contact ID or "
				"--citizen");
	t = clock_now();
	localtime_r(&t, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (date && date_cmp(date, today) > 0)
		return cmd_fail(c, "bad_request",
				"the date %s is in the future", date);
	r = outbox_handed(c->k, plan, version, contact, how,
			  date ? date : today, &id);
	if (r == -ENOENT)
		return cmd_fail(c, "not_found",
				"version %lld of plan %lld has no copy for %s "
				"%lld that waits to be handed over (kipctl "
				"plan status %lld shows each copy)",
				(long long)version, (long long)plan,
				contact ? "contact" : "the citizen",
				(long long)(contact ? contact : 0),
				(long long)plan);
	if (r == 0)
		r = pdfpass_forget(c->k, plan, version, contact);
	if (r < 0)
		return cmd_store_fail(c, r, "message");
	snprintf(c->object, sizeof(c->object), "message:%lld", (long long)id);
	if (event_emit(c->k, "message.handed", c->citizen_id, plan,
		       json_pack("{s:I, s:I, s:I}", "message", (json_int_t)id,
				 "version", (json_int_t)version, "contact",
				 (json_int_t)contact)) < 0)
		return cmd_store_fail(c, -EIO, "event");
	return cmd_ok(c, json_pack("{s:I, s:I, s:I, s:s, s:s}", "message",
				   (json_int_t)id, "plan", (json_int_t)plan,
				   "version", (json_int_t)version, "delivery",
				   "handed", "date", date ? date : today));
}

/* What a coordinator has to act on (digest.h): the caller's own, or, for
 * an administrator, coordinator C's. */
int cmd_digest(struct cmd_ctx *c)
{
	int64_t coord = 0;
	json_t *d;
	int r;

	if (arg_int(c, "coordinator", false, &coord) < 0)
		return -1;
	if (!coord)
		coord = c->who->contact_id;
	if (!coord)
		return cmd_fail(c, "bad_request",
				"you are no contact; name one: --coordinator "
				"ID");
	if (coord != c->who->contact_id && c->who->role != ROLE_ADMIN)
		return cmd_fail(c, "forbidden",
				"only an administrator sees another "
				"coordinator's digest");
	r = digest_collect(c->k, coord, clock_now(), &d);
	if (r < 0)
		return cmd_store_fail(c, r, "digest");
	return cmd_ok(c, d);
}
