/* cmd_stats.c — stats: the figures a region reports to national monitoring.
 *
 * Everything is counted from event_log, the pseudonymous record of
 * business events (type, unix time, citizen and plan ids; see event.h).
 * It survives erasure, so the figures of a period do not change when a
 * citizen is erased later. Only "plans_active" is a snapshot of now, from
 * the plans table (an erased citizen's plans are gone from it).
 *
 * A period is [from, to] in whole local days: from 00:00 on FROM up to,
 * not including, 00:00 on the day after TO. Every per-period figure is one
 * range scan of the index event_log_by_type (type, at).
 *
 * The figures:
 *   citizens_with_plan  distinct citizens with a plan.created event up to
 *                       the end of the period (ever, not only in it)
 *   plans_created       plan.created in the period
 *   plans_active        plans with status active now
 *   followups_held      meeting.held in the period. event_log keeps no
 *                       event data, so "held in time" (data.in_time of the
 *                       MQTT event) cannot be told apart here: this counts
 *                       every meeting held
 *   followups_overdue   followup.overdue in the period
 *   deviations          deviation.received in the period
 *   messages_sent       message.sent in the period
 *   messages_failed     message.failed in the period
 *   messages_manual     message.manual (handed over for manual delivery)
 *
 * Delivery coverage, from the outbox: the copies of plan versions whose
 * approval was recorded in the period (an erased citizen's are gone from
 * it, so these may fall after an erasure):
 *   versions_approved   version.approved in the period
 *   copies              copies of those versions, one per member and the
 *                       citizen: their newest (a copy sent again replaces
 *                       the one before, OUTBOX_LATEST_COPY_SQL)
 *   copies_delivered    confirmed delivered by a report (opened included)
 *   copies_opened       of which the recipient's client reported opened
 *   copies_sent         taken by the relay, nothing known after
 *   copies_handed       handed over another way (kipctl plan handed)
 *   copies_bounced      bounced after the relay took them
 *   copies_open         none of these yet, nor cancelled: queued,
 *                       deferred, to be handed over, failed
 *   median_minutes_to_delivery  from the approval's record to the
 *                       delivery report (or, without one, to the relay's
 *                       acceptance), over the copies that got that far;
 *                       0 when none did
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "cmd.h"
#include "outbox.h"
#include "validate.h"

static const char *const formats[] = {"json", "text", "csv", NULL};

/* The figures, in report order: the JSON key; the event type counted in
 * the period, or a statement of its own (whose one parameter, if it has
 * one, is the end of the period); and the labels of the text table. */
/* The copies of the versions approved in the period [?1, ?2). */
#define COPIES                                                                 \
	"WITH c AS (SELECT o.state, o.delivery, o.delivery_at, o.sent_at,"     \
	" CAST(strftime('%s', v.approval_recorded_at) AS INTEGER) AS approved" \
	" FROM outbox o JOIN plan_versions v ON v.plan_id = o.plan_id"         \
	" AND v.version = o.version WHERE o.kind = 'plan'"                     \
	" AND " OUTBOX_LATEST_COPY_SQL                                         \
	" AND strftime('%s', v.approval_recorded_at) + 0 >= ?1"                \
	" AND strftime('%s', v.approval_recorded_at) + 0 < ?2)"

static const struct figure {
	const char *key, *type, *sql, *en, *da;
} figures[] = {
    {"citizens_with_plan", NULL,
     "SELECT count(DISTINCT citizen_id) FROM event_log"
     " WHERE type = 'plan.created' AND at < ?",
     "Citizens with a plan (all time)", "Borgere med en plan (i alt)"},
    {"plans_created", "plan.created", NULL, "Plans made", "Planer udarbejdet"},
    {"plans_active", NULL, "SELECT count(*) FROM plans WHERE status = 'active'",
     "Active plans (now)", "Aktive planer (nu)"},
    {"followups_held", "meeting.held", NULL, "Meetings held", "Møder holdt"},
    {"followups_overdue", "followup.overdue", NULL, "Follow-ups overdue",
     "Opfølgninger overskredet"},
    {"deviations", "deviation.received", NULL, "Deviations reported",
     "Afvigelser indberettet"},
    {"messages_sent", "message.sent", NULL, "Messages sent", "Beskeder sendt"},
    {"messages_failed", "message.failed", NULL, "Messages failed",
     "Beskeder fejlet"},
    {"messages_manual", "message.manual", NULL, "Messages handed over manually",
     "Beskeder til manuel levering"},
    {"versions_approved", "version.approved", NULL, "Plan versions approved",
     "Planversioner godkendt"},
    {"copies", NULL, COPIES "SELECT count(*) FROM c",
     "Copies of them to recipients", "Eksemplarer til modtagere"},
    {"copies_delivered", NULL,
     COPIES "SELECT count(*) FROM c WHERE delivery IN ('delivered',"
	    " 'opened')",
     "  delivered (report)", "  leveret (kvittering)"},
    {"copies_opened", NULL,
     COPIES "SELECT count(*) FROM c WHERE delivery = 'opened'",
     "    of which opened", "    heraf åbnet"},
    {"copies_sent", NULL,
     COPIES "SELECT count(*) FROM c WHERE state = 'sent' AND delivery IS NULL",
     "  sent (no report)", "  sendt (uden kvittering)"},
    {"copies_handed", NULL,
     COPIES "SELECT count(*) FROM c WHERE delivery = 'handed'",
     "  handed over by hand", "  udleveret manuelt"},
    {"copies_bounced", NULL,
     COPIES "SELECT count(*) FROM c WHERE delivery = 'bounced'", "  bounced",
     "  afvist efter afsendelsen"},
    {"copies_open", NULL,
     COPIES "SELECT count(*) FROM c WHERE state NOT IN ('sent',"
	    " 'cancelled') AND delivery IS NULL",
     "  not yet delivered", "  endnu ikke leveret"},
    {"median_minutes_to_delivery", NULL,
     COPIES ", t (m) AS (SELECT (coalesce(CASE WHEN delivery IN"
	    " ('delivered', 'opened') THEN delivery_at END, sent_at)"
	    " - approved) / 60 FROM c WHERE state = 'sent')"
	    " SELECT coalesce((SELECT m FROM t ORDER BY m LIMIT 1 OFFSET"
	    " ((SELECT count(*) FROM t) - 1) / 2), 0)",
     "Median minutes to delivery", "Median minutter til levering"},
};

#define N_FIGURES (sizeof(figures) / sizeof(figures[0]))

/* 00:00 local time on the day DAYS after DATE ("YYYY-MM-DD", checked). */
static time_t day_start(const char *date, int days)
{
	struct tm tm;
	int y, m, d;

	date_parse(date, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d + days;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static int count(struct cmd_ctx *c, const struct figure *f, time_t start,
		 time_t end, int64_t *ret)
{
	if (f->sql && strstr(f->sql, "?2")) /* the period */
		return store_int(c->st, ret, f->sql, "ii", (int64_t)start,
				 (int64_t)end);
	if (f->sql) /* the end of the period, if the statement wants it */
		return store_int(c->st, ret, f->sql,
				 strchr(f->sql, '?') ? "i" : "", (int64_t)end);
	return store_int(c->st, ret,
			 "SELECT count(*) FROM event_log WHERE type = ?"
			 " AND at >= ? AND at < ?",
			 "sii", f->type, (int64_t)start, (int64_t)end);
}

/* The period and all figures for it into a new object, in report order. */
static int collect(struct cmd_ctx *c, const char *from, const char *to,
		   json_t **ret)
{
	time_t start = day_start(from, 0), end = day_start(to, 1);
	json_t *o = json_pack("{s:s, s:s}", "from", from, "to", to);
	int64_t n;
	int r = o ? 0 : -ENOMEM;

	for (size_t i = 0; r >= 0 && i < N_FIGURES; i++) {
		r = count(c, &figures[i], start, end, &n);
		if (r >= 0 &&
		    json_object_set_new(o, figures[i].key, json_integer(n)))
			r = -ENOMEM;
	}
	if (r < 0) {
		json_decref(o);
		return r;
	}
	*ret = o;
	return 0;
}

/* Appends LABEL padded to WIDTH characters (UTF-8: the labels hold æøå). */
static int pad(struct buf *out, const char *label, size_t width)
{
	size_t chars = 0;
	int r = buf_puts(out, label);

	for (const char *p = label; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	while (r == 0 && chars++ < width)
		r = buf_puts(out, " ");
	return r;
}

/* The readable table, in the configured language. */
static int as_text(struct cmd_ctx *c, json_t *o, struct buf *out)
{
	bool da = strcmp(c->k->cfg->default_lang, "en") != 0;
	int r;

	r = buf_printf(out, "%s %s – %s\n\n",
		       da ? "Nøgletal for perioden" : "Figures for the period",
		       json_string_value(json_object_get(o, "from")),
		       json_string_value(json_object_get(o, "to")));
	for (size_t i = 0; r == 0 && i < N_FIGURES; i++) {
		r = pad(out, da ? figures[i].da : figures[i].en, 34);
		if (r == 0)
			r = buf_printf(out, "%8lld\n",
				       (long long)json_integer_value(
					   json_object_get(o, figures[i].key)));
	}
	return r;
}

/* figure,value lines: the period first, then every figure. */
static int as_csv(json_t *o, struct buf *out)
{
	const char *key;
	json_t *v;
	int r = buf_puts(out, "figure,value\n");

	json_object_foreach(o, key, v)
	{
		if (r < 0)
			break;
		r = json_is_string(v)
			? buf_printf(out, "%s,%s\n", key, json_string_value(v))
			: buf_printf(out, "%s,%lld\n", key,
				     (long long)json_integer_value(v));
	}
	return r;
}

int cmd_stats(struct cmd_ctx *c)
{
	const char *from = NULL, *to = NULL, *format = "json";
	char first[11], today[11];
	time_t t = clock_now();
	struct buf out = BUF_INIT;
	json_t *o;
	struct tm tm;
	int r;

	if (arg_date(c, "from", false, &from) < 0 ||
	    arg_date(c, "to", false, &to) < 0 ||
	    arg_choice(c, "format", false, formats, &format) < 0)
		return -1;
	if (json_is_true(json_object_get(c->args, "csv")))
		format = "csv"; /* kipctl stats --csv */
	localtime_r(&t, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	strftime(first, sizeof(first), "%Y-01-01", &tm);
	if (!from)
		from = first;
	if (!to)
		to = today;
	if (date_cmp(from, to) > 0)
		return cmd_fail(c, "bad_request",
				"the period starts (%s) after it ends (%s)",
				from, to);
	r = collect(c, from, to, &o);
	if (r < 0)
		return cmd_store_fail(c, r, "statistics");
	if (strcmp(format, "json") == 0)
		return cmd_ok(c, o);
	r = strcmp(format, "csv") == 0 ? as_csv(o, &out) : as_text(c, o, &out);
	json_decref(o);
	if (r < 0) {
		buf_free(&out);
		return cmd_store_fail(c, r, "statistics");
	}
	o = json_pack("{s:s%}", "text", out.data, out.len);
	buf_free(&out);
	return o ? cmd_ok(c, o) : cmd_store_fail(c, -ENOMEM, "statistics");
}
