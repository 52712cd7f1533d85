/* digest.c — see digest.h. */
#include "digest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "distribute.h"
#include "kipd.h"
#include "log.h"
#include "outbox.h"
#include "pdfpass.h"
#include "rowval.h"
#include "scheduler.h"
#include "store.h"

#define DAY 86400
#define AHEAD_DAYS 30 /* meetings and deadlines this far ahead */

static bool str_eq(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

static void local_day(time_t t, char out[11])
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static void local_minute(time_t t, char out[17])
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 17, "%Y-%m-%dT%H:%M", &tm);
}

/* Why a copy sent as an encrypted PDF still waits: its passphrase, or,
 * once that was deleted (plans.pdf_passphrase_days), a new one. */
#define PDF_REASON "encrypted PDF sent: give the passphrase by phone"
#define PDF_GONE_REASON                                                        \
	"encrypted PDF sent, its passphrase deleted: send it again"

/* The plan object for PLAN in PLANS (created on first use), or NULL. */
static json_t *plan_obj(json_t *plans, int64_t plan)
{
	json_t *o;
	char key[24];

	snprintf(key, sizeof(key), "%" PRId64, plan);
	o = json_object_get(plans, key);
	if (!o) {
		o = json_pack("{s:I, s:[], s:[], s:[], s:[], s:[]}", "plan",
			      (json_int_t)plan, "bounced", "unconfirmed",
			      "manual", "deviations", "meetings");
		if (!o || json_object_set_new(plans, key, o) < 0)
			return NULL;
	}
	return o;
}

/* Appends ITEM (stolen) to PLAN's list LIST in PLANS; counts it. */
static int add(json_t *plans, json_t *counts, int64_t plan, const char *list,
	       json_t *item)
{
	json_t *o = plan_obj(plans, plan);
	json_t *n = json_object_get(counts, list);

	if (!o || !item ||
	    json_array_append_new(json_object_get(o, list), item) < 0) {
		json_decref(item);
		return -ENOMEM;
	}
	return json_object_set_new(counts, list,
				   json_integer(json_integer_value(n) + 1));
}

/* Adds each of ROWS (freed), without its plan_id, to its plan's list
 * LIST (NULL: the copy's own, by its state and delivery). */
static int add_rows(json_t *plans, json_t *counts, json_t *rows,
		    const char *list)
{
	json_t *row;
	size_t i;
	int r = 0;

	json_array_foreach(rows, i, row)
	{
		const char *l = list ? list
				: str_eq(row_str(row, "delivery"), "bounced")
				    ? "bounced"
				: str_eq(row_str(row, "state"), "manual") ||
					row_num(row, "pdf")
				    ? "manual"
				    : "unconfirmed";
		json_t *item = json_deep_copy(row);

		if (item)
			json_object_del(item, "plan_id");
		r = add(plans, counts, row_num(row, "plan_id"), l, item);
		if (r < 0)
			break;
	}
	json_decref(rows);
	return r;
}

/* The copies of each plan's version in force that need acting on. */
static int collect_copies(struct kipd *k, int64_t coord, time_t now,
			  json_t *plans, json_t *counts)
{
	const struct kip_config *cfg = k->cfg;
	json_t *rows;
	int r = store_rows(
	    k->store, &rows,
	    "SELECT o.id, o.plan_id, o.version,"
	    " coalesce(o.contact_id, 0) AS contact,"
	    " CASE WHEN o.contact_id IS NULL THEN 'citizen' ELSE k.kind END"
	    "  AS recipient_kind,"
	    " CASE WHEN k.kind = 'professional' THEN k.name END AS name,"
	    " o.state, o.delivery, o.delivery_status, o.delivery_detail,"
	    /* an encrypted PDF waits for its passphrase (pdfpass.h) */
	    " CASE WHEN o.pdf AND " PDFPASS_GONE_SQL " THEN '" PDF_GONE_REASON
	    "'"
	    " WHEN o.pdf THEN '" PDF_REASON "'"
	    " ELSE o.reason END AS reason, o.pdf,"
	    " date(o.created_at, 'unixepoch') AS since"
	    " FROM outbox o JOIN plans p ON p.id = o.plan_id"
	    " LEFT JOIN contacts k ON k.id = o.contact_id"
	    " WHERE p.coordinator_id = ?1 AND p.status = 'active'"
	    " AND o.kind = 'plan' AND " OUTBOX_LATEST_COPY_SQL
	    " AND o.version = (SELECT max(v.version) FROM plan_versions v"
	    "  WHERE v.plan_id = o.plan_id AND v.approved_at IS NOT NULL)"
	    " AND coalesce(o.delivery, '') <> 'handed'"
	    " AND (o.pdf OR coalesce(o.delivery, '') NOT IN ('delivered',"
	    "  'opened'))"
	    " AND (o.delivery = 'bounced'"
	    "  OR ((o.state = 'manual' OR (o.state = 'sent' AND o.pdf))"
	    "   AND o.created_at <= ?2)"
	    "  OR (o.state IN ('queued', 'deferred', 'sending', 'failed')"
	    "   AND o.created_at <= ?3))"
	    " ORDER BY o.plan_id, o.id",
	    "iii", coord,
	    (int64_t)(now - (time_t)cfg->digest_manual_days * DAY),
	    (int64_t)(now - (time_t)cfg->digest_unconfirmed_days * DAY));

	return r < 0 ? r : add_rows(plans, counts, rows, NULL);
}

static int collect_deviations(struct kipd *k, int64_t coord, time_t now,
			      json_t *plans, json_t *counts)
{
	json_t *rows;
	int r = store_rows(
	    k->store, &rows,
	    "SELECT d.id, d.plan_id, d.state,"
	    " date(d.received_at, 'unixepoch') AS received"
	    " FROM deviations d JOIN plans p ON p.id = d.plan_id"
	    " WHERE p.coordinator_id = ? AND p.status = 'active'"
	    " AND d.state <> 'acknowledged' AND d.received_at <= ?"
	    " ORDER BY d.plan_id, d.id",
	    "ii", coord,
	    (int64_t)(now - (time_t)k->cfg->digest_unacked_days * DAY));

	return r < 0 ? r : add_rows(plans, counts, rows, "deviations");
}

/* Meetings ahead, and each plan's follow-up watch (scheduler_watch): a
 * deadline within AHEAD_DAYS, or overdue. */
static int collect_calendar(struct kipd *k, int64_t coord, time_t now,
			    json_t *plans, json_t *counts)
{
	char from[17], to[17], until[11];
	json_t *rows, *row;
	size_t i;
	int r;

	local_minute(now, from);
	local_minute(now + (time_t)AHEAD_DAYS * DAY, to);
	local_day(now + (time_t)AHEAD_DAYS * DAY, until);
	r = store_rows(k->store, &rows,
		       "SELECT m.id, m.plan_id, m.starts_at AS start"
		       " FROM meetings m JOIN plans p ON p.id = m.plan_id"
		       " WHERE p.coordinator_id = ? AND p.status = 'active'"
		       " AND m.status = 'scheduled' AND m.starts_at >= ?"
		       " AND m.starts_at <= ? ORDER BY m.starts_at",
		       "iss", coord, from, to);
	if (r < 0 || (r = add_rows(plans, counts, rows, "meetings")) < 0)
		return r;
	r = store_rows(k->store, &rows,
		       "SELECT id FROM plans WHERE coordinator_id = ?"
		       " AND status = 'active' ORDER BY id",
		       "i", coord);
	if (r < 0)
		return r;
	r = 0;
	json_array_foreach(rows, i, row)
	{
		json_t *watch = NULL, *o;
		const char *state, *deadline;
		bool overdue;

		r = scheduler_watch(k, row_num(row, "id"), &watch);
		if (r < 0)
			break;
		state = row_str(watch, "watch");
		deadline = row_str(watch, "deadline");
		overdue = str_eq(state, "overdue");
		if (deadline && (overdue || (str_eq(state, "running") &&
					     strcmp(deadline, until) <= 0))) {
			const char *n = overdue ? "overdue" : "deadlines";

			o = plan_obj(plans, row_num(row, "id"));
			r = o ? json_object_set_new(
				    o, "follow_up",
				    json_pack("{s:s, s:s}", "deadline",
					      deadline, "watch", state))
			      : -ENOMEM;
			if (r == 0)
				r = json_object_set_new(
				    counts, n,
				    json_integer(
					json_integer_value(
					    json_object_get(counts, n)) +
					1));
		}
		json_decref(watch);
		if (r < 0)
			break;
	}
	json_decref(rows);
	return r;
}

int digest_collect(struct kipd *k, int64_t coord, time_t now, json_t **ret)
{
	json_t *plans = json_object(), *list = json_array(), *v;
	json_t *counts =
	    json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "bounced", 0,
		      "unconfirmed", 0, "manual", 0, "deviations", 0,
		      "meetings", 0, "deadlines", 0, "overdue", 0);
	const char *key;
	char day[11];
	int r = plans && list && counts ? 0 : -ENOMEM;

	if (r == 0)
		r = collect_copies(k, coord, now, plans, counts);
	if (r == 0)
		r = collect_deviations(k, coord, now, plans, counts);
	if (r == 0)
		r = collect_calendar(k, coord, now, plans, counts);
	if (r == 0)
		json_object_foreach(plans, key, v)
		{
			if (json_array_append(list, v) < 0) {
				r = -ENOMEM;
				break;
			}
		}
	local_day(now, day);
	if (r == 0) {
		*ret = json_pack("{s:I, s:s, s:O, s:O}", "coordinator",
				 (json_int_t)coord, "day", day, "counts",
				 counts, "plans", list);
		r = *ret ? 0 : -ENOMEM;
	}
	json_decref(plans);
	json_decref(list);
	json_decref(counts);
	return r;
}

/* Whether digest D holds anything to act on. */
static bool anything(json_t *d)
{
	const char *key;
	json_t *v;

	json_object_foreach(json_object_get(d, "counts"), key, v)
	{
		if (json_integer_value(v) > 0)
			return true;
	}
	return false;
}

/* Why a copy waits to be handed over, in the digest's language. The
 * outbox keeps the reason in English, for the operator's commands and the
 * log; the two a coordinator meets most are worded in Danish, any other
 * (a certificate's fault) is quoted as it is. */
static const char *reason_text(const char *reason, bool da)
{
	if (!reason)
		return "";
	if (!da)
		return reason;
	if (str_eq(reason, "no certificate"))
		return "intet certifikat";
	if (str_eq(reason, "no e-mail address"))
		return "ingen e-mailadresse";
	if (str_eq(reason, PDF_REASON))
		return "krypteret PDF sendt: giv adgangskoden over telefonen";
	if (str_eq(reason, PDF_GONE_REASON))
		return "krypteret PDF sendt, adgangskoden er slettet: send "
		       "planen igen";
	return reason;
}

/* The digest's line that closes a copy by hand: "LEAD: kipctl plan
 * handed ...". */
static int handed_line(struct buf *out, const char *lead, int64_t plan,
		       long long v, const char *opt, const char *contact)
{
	return buf_printf(out,
			  "    %s: kipctl plan handed %lld --version %lld %s%s "
			  "--how \"...\"\r\n",
			  lead, (long long)plan, v, opt, contact);
}

/* One line of the digest's text about a copy of the plan, with what the
 * coordinator can do about it. A copy sent again replaces this one. */
static int copy_line(struct buf *out, bool da, json_t *c, const char *list,
		     int64_t plan)
{
	const char *kind = row_str(c, "recipient_kind");
	const char *who =
	    row_str(c, "name")	       ? row_str(c, "name")
	    : str_eq(kind, "citizen")  ? (da ? "borgeren" : "the citizen")
	    : str_eq(kind, "relative") ? (da ? "en pårørende" : "a relative")
				       : (da ? "en bisidder" : "a supporter");
	long long v = (long long)row_num(c, "version"),
		  id = (long long)row_num(c, "id");
	const char *opt = str_eq(kind, "citizen") ? "--citizen" : "--contact ";
	const char *status = row_str(c, "delivery_status"),
		   *detail = row_str(c, "delivery_detail");
	const char *otherwise =
	    da ? "Eller når den er udleveret" : "Or once handed over";
	char contact[24] = "";

	if (!str_eq(kind, "citizen"))
		snprintf(contact, sizeof(contact), "%lld",
			 (long long)row_num(c, "contact"));
	if (str_eq(list, "bounced")) {
		if (buf_printf(
			out,
			da ? "  - Afvist efter afsendelsen: %s, version "
			     "%lld (besked %lld): %s %s\r\n"
			   : "  - Bounced after it was sent: %s, version "
			     "%lld (message %lld): %s %s\r\n",
			who, v, id, status ? status : "",
			detail ? detail : "") < 0 ||
		    buf_printf(
			out,
			da ? "    Ret adressen, og send den igen: kipctl "
			     "plan distribute %lld --version %lld "
			     "%s%s\r\n"
			   : "    Correct the address and send it again: "
			     "kipctl plan distribute %lld --version %lld "
			     "%s%s\r\n",
			(long long)plan, v, opt, contact) < 0)
			return -ENOMEM;
		return handed_line(out, otherwise, plan, v, opt, contact);
	}
	if (str_eq(list, "manual")) {
		/* the passphrase deleted: a new one, or a copy handed over */
		bool gone = str_eq(row_str(c, "reason"), PDF_GONE_REASON);

		if (buf_printf(out,
			       da ? "  - Skal udleveres manuelt siden %s: %s, "
				    "version %lld (%s).\r\n"
				  : "  - To be handed over since %s: %s, "
				    "version %lld (%s).\r\n",
			       row_str(c, "since"), who, v,
			       reason_text(row_str(c, "reason"), da)) < 0 ||
		    (gone &&
		     buf_printf(
			 out,
			 da ? "    Send den med en ny adgangskode: kipctl "
			      "plan distribute %lld --version %lld "
			      "%s%s\r\n"
			    : "    Send it with a new passphrase: kipctl "
			      "plan distribute %lld --version %lld "
			      "%s%s\r\n",
			 (long long)plan, v, opt, contact) < 0))
			return -ENOMEM;
		return handed_line(
		    out,
		    gone ? otherwise : (da ? "Når det er sket" : "Once done"),
		    plan, v, opt, contact);
	}
	return buf_printf(out,
			  da ? "  - Ikke bekræftet modtaget: %s, version %lld "
			       "(besked %lld, %s siden %s)\r\n"
			     : "  - Not confirmed received: %s, version %lld "
			       "(message %lld, %s since %s)\r\n",
			  who, v, id, row_str(c, "state"), row_str(c, "since"));
}

/* The digest's text: per plan, what needs acting on. */
static int digest_text(struct kipd *k, json_t *d, struct buf *out)
{
	bool da = texts_danish(k->cfg);
	static const char *const lists[] = {"bounced", "manual", "unconfirmed"};
	json_t *p, *x;
	size_t i, j;
	int r = buf_printf(out,
			   da ? "Daglig oversigt %s: det, der venter på dig "
				"som koordinator.\r\n"
			      : "Daily digest %s: what waits for you as "
				"coordinator.\r\n",
			   row_str(d, "day"));

	json_array_foreach(json_object_get(d, "plans"), i, p)
	{
		int64_t plan = row_num(p, "plan");
		json_t *fu = json_object_get(p, "follow_up");

		if (r == 0)
			r = buf_printf(out, "\r\nPlan KIP-%lld:\r\n",
				       (long long)plan);
		for (size_t l = 0; r == 0 && l < 3; l++)
			json_array_foreach(json_object_get(p, lists[l]), j, x)
			{
				if (r == 0)
					r = copy_line(out, da, x, lists[l],
						      plan);
			}
		json_array_foreach(json_object_get(p, "deviations"), j, x)
		{
			if (r == 0)
				r = buf_printf(
				    out,
				    da ? "  - Afvigelse %lld er ikke "
					 "kvitteret (modtaget %s): kipctl "
					 "deviation show %lld\r\n"
				       : "  - Deviation %lld is not "
					 "acknowledged (received %s): kipctl "
					 "deviation show %lld\r\n",
				    (long long)row_num(x, "id"),
				    row_str(x, "received"),
				    (long long)row_num(x, "id"));
		}
		json_array_foreach(json_object_get(p, "meetings"), j, x)
		{
			if (r == 0)
				r = buf_printf(
				    out,
				    da ? "  - Møde %.10s kl. %s\r\n"
				       : "  - Meeting %.10s at %s\r\n",
				    row_str(x, "start"),
				    row_str(x, "start") + 11);
		}
		if (r == 0 && fu)
			r = buf_printf(
			    out,
			    str_eq(row_str(fu, "watch"), "overdue")
				? (da ? "  - Opfølgningen er overskredet "
					"(frist %s)\r\n"
				      : "  - The follow-up is overdue "
					"(deadline %s)\r\n")
				: (da ? "  - Opfølgningsfrist %s\r\n"
				      : "  - Follow-up deadline %s\r\n"),
			    row_str(fu, "deadline"));
	}
	if (r == 0)
		r = buf_printf(out, da ? "\r\nSe også: kipctl digest\r\n"
				       : "\r\nSee also: kipctl digest\r\n");
	return r;
}

/* The local time of day at which digests are due. */
static bool past_hour(struct kipd *k, time_t now)
{
	struct tm tm;

	localtime_r(&now, &tm);
	return tm.tm_hour >= k->cfg->digest_hour;
}

int digest_due(struct kipd *k, time_t now)
{
	json_t *rows, *row;
	char day[11];
	size_t i;
	int r, n = 0;

	if (!k->cfg->digest_enabled || !past_hour(k, now))
		return 0;
	local_day(now, day);
	r = store_rows(k->store, &rows,
		       "SELECT DISTINCT p.coordinator_id AS id FROM plans p"
		       " WHERE p.status = 'active'"
		       " AND p.coordinator_id IS NOT NULL AND NOT EXISTS"
		       " (SELECT 1 FROM digests g WHERE"
		       "  g.coordinator_id = p.coordinator_id AND g.day = ?)"
		       " ORDER BY 1",
		       "s", day);
	if (r < 0)
		return r;
	r = 0;
	json_array_foreach(rows, i, row)
	{
		int64_t coord = row_num(row, "id");
		struct buf text = BUF_INIT;
		json_t *d = NULL;
		bool send;

		r = digest_collect(k, coord, now, &d);
		send = r == 0 && anything(d);
		if (send)
			r = digest_text(k, d, &text);
		if (r == 0 && send)
			r = distribute_digest(k, coord, day, text.data);
		if (r == 0)
			r = store_exec(
			    k->store,
			    "INSERT INTO digests (coordinator_id, day,"
			    " outbox_id, at) VALUES (?, ?, (SELECT max(id)"
			    " FROM outbox WHERE kind = 'digest' AND"
			    " contact_id = ? AND ?), ?)",
			    "isiii", coord, day, coord, (int64_t)send,
			    (int64_t)now);
		buf_free(&text);
		json_decref(d);
		if (r < 0)
			break;
		n += send;
		log_info("digest: coordinator %" PRId64 ": %s", coord,
			 send ? "sent" : "nothing to act on");
	}
	json_decref(rows);
	return r < 0 ? r : n;
}

time_t digest_next(struct kipd *k, time_t now)
{
	struct tm tm;
	time_t t;

	if (!k->cfg->digest_enabled)
		return 0;
	localtime_r(&now, &tm);
	tm.tm_hour = k->cfg->digest_hour;
	tm.tm_min = 0;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t <= now) {
		tm.tm_mday++;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	return t;
}
