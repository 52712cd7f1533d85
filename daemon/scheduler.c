/* scheduler.c — see scheduler.h. */
#include "scheduler.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pdfpass.h"
#include "rowval.h"
#include "clock.h"
#include "access.h"
#include "distribute.h"
#include "event.h"
#include "kipd.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "store.h"
#include "txn.h"
#include "validate.h"
#include "wording.h"

/* Rows handled per transaction of a timer pass; more are taken by the
 * next pass, armed at once. */
#define PASS_LIMIT 500
/* The longest the timer sleeps: a wall clock set forward is noticed. */
#define MAX_SLEEP_MS (3600u * 1000u)

struct job {
	int64_t id, plan, meeting, sequence, offset;
	const char *kind;
};

struct pass_stats {
	int jobs, messages;
};

/* What a six-month job tells the coordinator. */
enum notice { NOTICE_REMINDER, NOTICE_OVERDUE, NOTICE_PAUSED };

/* The notice that replaces the six-month watch while consent is withdrawn
 * is kind followup at offset 0 (reminders.followup_days are 1..365). */
static bool is_paused_notice(const struct job *j)
{
	return strcmp(j->kind, "followup") == 0 && j->offset == 0;
}

static enum notice job_notice(const struct job *j)
{
	if (is_paused_notice(j))
		return NOTICE_PAUSED;
	return strcmp(j->kind, "overdue") == 0 ? NOTICE_OVERDUE
					       : NOTICE_REMINDER;
}

/* The one test of whether PLAN's watch is paused: its citizen's consent
 * to the plan is withdrawn. 1 paused, 0 not (or no such plan), -errno. */
static int watch_paused(struct kipd *k, int64_t plan)
{
	int64_t citizen;
	int r =
	    store_int(k->store, &citizen,
		      "SELECT citizen_id FROM plans WHERE id = ?", "i", plan);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return !consent_in_force(k->store, citizen, "plan");
}

/* --- keeping sched_pending up to date ----------------------------------- */

static int insert_pending(struct kipd *k, const char *kind, int64_t plan,
			  int64_t meeting, int64_t seq, int64_t offset,
			  int64_t due)
{
	int r = store_exec(
	    k->store,
	    "INSERT INTO sched_pending (kind, plan_id, meeting_id,"
	    " sequence, offset_days, due_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6"
	    " WHERE NOT EXISTS (SELECT 1 FROM sched_done d WHERE"
	    " d.kind = ?1 AND d.meeting_id = ?3 AND d.sequence = ?4"
	    " AND d.offset_days = ?5)"
	    " ON CONFLICT (kind, meeting_id, sequence, offset_days)"
	    " DO UPDATE SET due_at = excluded.due_at",
	    "siiiii", kind, plan, meeting, seq, offset, due);

	return r < 0 ? r : 0;
}

static void local_now(time_t now, char out[17])
{
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(out, 17, "%Y-%m-%dT%H:%M", &tm);
}

static int sync_reminders(struct kipd *k, int64_t plan, time_t now)
{
	int days[CONFIG_DAYS_MAX], n;
	char nowl[17];
	json_t *rows, *row;
	size_t i;
	int r;

	r = store_exec(k->store,
		       "DELETE FROM sched_pending WHERE plan_id = ?1"
		       " AND kind = 'reminder' AND NOT EXISTS (SELECT 1 FROM"
		       " meetings m WHERE m.id = sched_pending.meeting_id AND"
		       " m.status = 'scheduled' AND"
		       " m.sequence = sched_pending.sequence)",
		       "i", plan);
	if (r < 0)
		return r;
	n = config_days_parse(k->cfg->reminder_offsets, days);
	if (n <= 0)
		return 0;
	local_now(now, nowl);
	r = store_rows(k->store, &rows,
		       "SELECT id, starts_at, sequence FROM meetings"
		       " WHERE plan_id = ? AND starts_at > ?"
		       " AND status = 'scheduled'",
		       "is", plan, nowl);
	if (r < 0)
		return r;
	r = 0;
	json_array_foreach(rows, i, row)
	{
		for (int j = 0; r == 0 && j < n; j++) {
			time_t due = clock_local_to_time(
			    row_str(row, "starts_at"), days[j]);

			/* An offset already past when the meeting is set
			 * up: its invitation has just gone out. */
			if (due <= now)
				continue;
			r = insert_pending(
			    k, "reminder", plan, row_num(row, "id"),
			    row_num(row, "sequence"), days[j], due);
		}
		if (r < 0)
			break;
	}
	json_decref(rows);
	return r;
}

/* The anchor of PLAN: the meeting of its latest version, its start, the
 * deadline (YYYY-MM-DD) and whether a follow-up meets it. 1, 0 without a
 * version, or -errno. */
static int plan_anchor(struct kipd *k, int64_t plan, int64_t *ret_meeting,
		       char deadline[11], bool *ret_covered)
{
	json_t *row;
	int64_t one;
	char start[17];
	int y, m, d, r;

	r = store_row(k->store, &row,
		      "SELECT v.meeting_id, m.starts_at FROM plan_versions v"
		      " JOIN meetings m ON m.id = v.meeting_id"
		      " WHERE v.plan_id = ? ORDER BY v.version DESC LIMIT 1",
		      "i", plan);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	*ret_meeting = row_num(row, "meeting_id");
	snprintf(start, sizeof(start), "%s", row_str(row, "starts_at"));
	json_decref(row);
	if (sscanf(start, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return -EINVAL;
	date_add_months(&y, &m, &d, k->cfg->follow_up_max_months);
	snprintf(deadline, 11, "%04d-%02d-%02d", y, m, d);
	r = store_int(k->store, &one,
		      "SELECT 1 FROM meetings WHERE plan_id = ?"
		      " AND starts_at > ? AND substr(starts_at, 1, 10) <= ?"
		      " AND status IN ('scheduled', 'held') LIMIT 1",
		      "iss", plan, start, deadline);
	if (r < 0 && r != -ENOENT)
		return r;
	*ret_covered = r == 0;
	return 1;
}

/* PLAN is not overdue: unmarked, and reported again should it fall
 * overdue later (its overdue rows in sched_done, found by its meetings). */
static int forget_overdue(struct kipd *k, int64_t plan)
{
	int r = store_exec(k->store,
			   "DELETE FROM sched_done WHERE kind = 'overdue'"
			   " AND meeting_id IN (SELECT id FROM meetings"
			   "  WHERE plan_id = ?) AND sequence = 0"
			   " AND offset_days = 0",
			   "i", plan);

	if (r >= 0)
		r = store_exec(k->store,
			       "DELETE FROM plan_overdue WHERE plan_id = ?",
			       "i", plan);
	return r < 0 ? r : 0;
}

/* While the watch is paused: no meeting reminder, no six-month reminder,
 * no escalation and no overdue mark, only the notice on the DEADLINE of
 * ANCHOR (0: no version yet), once per anchor. Resumed past its deadline,
 * the plan is reported overdue again. */
static int sync_paused(struct kipd *k, int64_t plan, int64_t anchor,
		       const char *deadline)
{
	char midnight[17];
	int r = store_exec(k->store,
			   "DELETE FROM sched_pending WHERE plan_id = ?1 AND"
			   " NOT (kind = 'followup' AND offset_days = 0"
			   "  AND meeting_id = ?2)",
			   "ii", plan, anchor);

	if (r >= 0)
		r = forget_overdue(k, plan);
	if (r < 0 || anchor == 0)
		return r < 0 ? r : 0;
	snprintf(midnight, sizeof(midnight), "%sT00:00", deadline);
	return insert_pending(k, "followup", plan, anchor, 0, 0,
			      clock_local_to_time(midnight, 0));
}

static int sync_followup(struct kipd *k, int64_t plan, time_t now, bool paused)
{
	int days[CONFIG_DAYS_MAX], n;
	char deadline[11], midnight[17];
	int64_t anchor = 0;
	bool covered = false;
	int r = plan_anchor(k, plan, &anchor, deadline, &covered);

	if (r < 0)
		return r;
	if (paused)
		return sync_paused(k, plan, anchor, deadline);
	if (r == 0 || covered) {
		r = store_exec(k->store,
			       "DELETE FROM sched_pending WHERE plan_id = ?"
			       " AND kind IN ('followup', 'overdue')",
			       "i", plan);
		/* Should the follow-up be cancelled, the plan can fall
		 * overdue again and is reported again. */
		return r < 0 ? r : forget_overdue(k, plan);
	}
	r = store_exec(k->store,
		       "DELETE FROM sched_pending WHERE plan_id = ?1"
		       " AND kind IN ('followup', 'overdue')"
		       " AND (meeting_id <> ?2 OR"
		       "  (kind = 'followup' AND offset_days = 0))",
		       "ii", plan, anchor);
	if (r >= 0)
		r = store_exec(k->store,
			       "DELETE FROM plan_overdue WHERE plan_id = ?"
			       " AND anchor_meeting_id <> ?",
			       "ii", plan, anchor);
	if (r < 0)
		return r;
	snprintf(midnight, sizeof(midnight), "%sT00:00", deadline);
	n = config_days_parse(k->cfg->followup_offsets, days);
	for (int j = 0; j < n; j++) {
		time_t due = clock_local_to_time(midnight, days[j]);

		if (due > now) {
			r = insert_pending(k, "followup", plan, anchor, 0,
					   days[j], due);
			if (r < 0)
				return r;
		}
	}
	/* The day after the deadline, even if that is already past. */
	return insert_pending(k, "overdue", plan, anchor, 0, 0,
			      clock_local_to_time(midnight, -1));
}

static int drop_plan(struct kipd *k, int64_t plan)
{
	int r = store_exec(
	    k->store, "DELETE FROM sched_pending WHERE plan_id = ?", "i", plan);

	if (r >= 0)
		r = store_exec(k->store,
			       "DELETE FROM plan_overdue WHERE plan_id = ?",
			       "i", plan);
	return r < 0 ? r : 0;
}

int scheduler_sync_plan(struct kipd *k, int64_t plan)
{
	time_t now = clock_now();
	char *status = NULL;
	int paused;
	int r = store_text(k->store, &status,
			   "SELECT status FROM plans WHERE id = ?", "i", plan);

	txn_mark(k, TXN_SCHEDULE); /* the timer re-arms for what changed */
	if (r == -ENOENT)
		return drop_plan(k, plan);
	if (r < 0)
		return r;
	r = strcmp(status, "active");
	free(status);
	if (r != 0)
		return drop_plan(k, plan);
	paused = watch_paused(k, plan);
	if (paused < 0)
		return paused;
	r = paused ? 0 : sync_reminders(k, plan, now);
	if (r == 0)
		r = sync_followup(k, plan, now, paused);
	return r;
}

int scheduler_sync(struct kipd *k, int64_t citizen, int64_t plan)
{
	return plan ? scheduler_sync_plan(k, plan)
		    : scheduler_sync_citizen(k, citizen);
}

int scheduler_sync_citizen(struct kipd *k, int64_t citizen)
{
	json_t *plans, *row;
	size_t i;
	int r = store_rows(k->store, &plans,
			   "SELECT id FROM plans WHERE citizen_id = ?"
			   " AND status = 'active'",
			   "i", citizen);

	if (r < 0)
		return r;
	r = 0;
	json_array_foreach(plans, i, row)
	{
		r = scheduler_sync_plan(k, row_num(row, "id"));
		if (r < 0)
			break;
	}
	json_decref(plans);
	return r;
}

/* The state of the watch, for scheduler_watch(): closed plans and plans
 * without a version have none. */
static int watch_state(struct kipd *k, int64_t plan, bool has_anchor,
		       bool covered, const char **ret)
{
	int64_t one;
	int r = store_int(k->store, &one,
			  "SELECT 1 FROM plans WHERE id = ?"
			  " AND status = 'active'",
			  "i", plan);

	if (r == -ENOENT || (r == 0 && !has_anchor)) {
		*ret = "off";
		return 0;
	}
	if (r == 0)
		r = watch_paused(k, plan);
	if (r < 0)
		return r;
	*ret = r ? "paused" : covered ? "met" : "running";
	if (r || covered)
		return 0;
	r = store_int(k->store, &one,
		      "SELECT 1 FROM plan_overdue WHERE plan_id = ?", "i",
		      plan);
	if (r == 0)
		*ret = "overdue";
	return r == -ENOENT ? 0 : r;
}

int scheduler_watch(struct kipd *k, int64_t plan, json_t **ret)
{
	char deadline[11], *since = NULL;
	int64_t anchor = 0;
	bool covered = false;
	const char *state = "off";
	json_t *o;
	int has = plan_anchor(k, plan, &anchor, deadline, &covered);
	int r = has < 0 ? has : watch_state(k, plan, has, covered, &state);

	if (r == 0 && strcmp(state, "paused") == 0)
		r = store_text(k->store, &since,
			       "SELECT c.date FROM plans p JOIN consents c"
			       " ON c.citizen_id = p.citizen_id"
			       " AND c.scope = 'plan' WHERE p.id = ?"
			       " AND c.action = 'withdrawn'"
			       " ORDER BY c.id DESC LIMIT 1",
			       "i", plan);
	if (r < 0 && r != -ENOENT)
		return r;
	o = json_pack("{s:s}", "watch", state);
	if (o && has > 0)
		json_object_set_new(o, "deadline", json_string(deadline));
	if (o && since)
		json_object_set_new(o, "consent_withdrawn", json_string(since));
	free(since);
	if (!o)
		return -ENOMEM;
	*ret = o;
	return 0;
}

/* --- doing what is due -------------------------------------------------- */

/* Queues TEXT for one recipient (PRIVATE: a private mailbox, wording.h);
 * counts it. -ENOKEY: cannot sign. */
static int send_neutral(struct kipd *k, const char *kind, int64_t citizen,
			int64_t plan, int64_t meeting, int64_t contact,
			const char *to, bool private, const char *subject,
			const char *text, struct pass_stats *ps)
{
	struct outbox_msg m = {kind,	citizen, plan,	   0,	 meeting,
			       contact, to,	 "queued", NULL, NULL};
	int r;

	if (!to)
		return 0;
	r = distribute_neutral(k, &m, private, subject, text);
	if (r == 0)
		ps->messages++;
	return r;
}

static int fire_reminder(struct kipd *k, const struct job *j, time_t now,
			 struct pass_stats *ps, const char **outcome)
{
	json_t *mt = NULL, *rows = NULL, *row;
	char subject[2][200], text[2][900], day[16], at[8];
	const char *start;
	int64_t citizen;
	bool relatives;
	size_t i;
	int r, sent0 = ps->messages;

	r = store_row(k->store, &mt,
		      "SELECT m.starts_at, m.status, m.sequence, p.citizen_id,"
		      " p.status AS plan_status FROM meetings m JOIN plans p"
		      " ON p.id = m.plan_id WHERE m.id = ?",
		      "i", j->meeting);
	if (r == -ENOENT) {
		*outcome = "gone";
		return 0;
	}
	if (r < 0)
		return r;
	start = row_str(mt, "starts_at");
	citizen = row_num(mt, "citizen_id");
	if (strcmp(row_str(mt, "status"), "scheduled") != 0 ||
	    row_num(mt, "sequence") != j->sequence ||
	    strcmp(row_str(mt, "plan_status"), "active") != 0 ||
	    clock_local_to_time(start, 0) <= now) {
		*outcome = "obsolete";
		goto out;
	}
	relatives = consent_in_force(k->store, citizen, "relatives");
	snprintf(day, sizeof(day), "%.2s.%.2s.%.4s", start + 8, start + 5,
		 start);
	snprintf(at, sizeof(at), "%.5s", start + 11);
	for (int p = 0; p < 2; p++) {
		struct wording_args a = {
		    .plan = j->plan, .date = day, .time = at};

		wording(k->cfg, W_REMINDER_SUBJECT, p, &a, subject[p],
			sizeof(subject[p]));
		wording(k->cfg, W_REMINDER_TEXT, p, &a, text[p],
			sizeof(text[p]));
	}
	/* The members, the coordinator (normally a member too) and the
	 * citizen; relatives only with the consent to involve them. */
	r = store_rows(k->store, &rows,
		       "SELECT k.id AS contact_id, k.kind, k.email,"
		       " k.private_mailbox FROM"
		       " contacts k WHERE k.id IN (SELECT contact_id FROM"
		       " plan_members WHERE plan_id = ?1 UNION SELECT"
		       " coordinator_id FROM plans WHERE id = ?1)"
		       " UNION ALL SELECT 0, 'citizen', c.email, 1 FROM plans p"
		       " JOIN citizens c ON c.id = p.citizen_id"
		       " WHERE p.id = ?1 ORDER BY 1",
		       "i", j->plan);
	if (r < 0)
		goto out;
	r = 0;
	json_array_foreach(rows, i, row)
	{
		bool p = wording_private(row_str(row, "kind"),
					 row_num(row, "private_mailbox") != 0);

		if (strcmp(row_str(row, "kind"), "relative") == 0 && !relatives)
			continue;
		r = send_neutral(k, "reminder", citizen, j->plan, j->meeting,
				 row_num(row, "contact_id"),
				 row_str(row, "email"), p, subject[p], text[p],
				 ps);
		if (r < 0)
			break;
	}
	if (r == -ENOKEY) {
		log_warn("scheduler: reminder for meeting %" PRId64 " not sent:"
			 " no smime.cert or organisation.mailbox",
			 j->meeting);
		*outcome = "unsigned";
		r = 0;
	} else {
		*outcome = "sent";
	}
	if (r == 0)
		r = event_emit(k, "reminder.sent", citizen, j->plan,
			       json_pack("{s:s, s:I, s:I, s:I}", "kind",
					 "meeting", "meeting",
					 (json_int_t)j->meeting, "offset_days",
					 (json_int_t)j->offset, "messages",
					 (json_int_t)(ps->messages - sent0)));
out:
	json_decref(mt);
	json_decref(rows);
	return r;
}

/* The subject and text of notice N for PLAN and its DEADLINE, in the
 * configured language: ids and dates only. */
static void followup_text(const struct kipd *k, enum notice n, int64_t plan,
			  const char *deadline, char subject[160],
			  char text[900])
{
	bool da = texts_danish(k->cfg);
	int len = 0;

	switch (n) {
	case NOTICE_REMINDER:
		snprintf(subject, 160,
			 da ? "Påmindelse: opfølgningsmøde – ref KIP-%" PRId64
			    : "Reminder: follow-up meeting – ref KIP-%" PRId64,
			 plan);
		len = snprintf(
		    text, 900,
		    da ? "Plan KIP-%" PRId64 " skal have et opfølgningsmøde "
			 "senest %s (seks-måneders-reglen), og der er ikke "
			 "planlagt et.\r\nPlanlæg det med: kipctl meeting "
			 "schedule %" PRId64 "\r\n"
		       : "Plan KIP-%" PRId64 " needs a follow-up meeting by "
			 "%s (the six-month rule), and none is scheduled.\r\n"
			 "Schedule it with: kipctl meeting schedule %" PRId64
			 "\r\n",
		    plan, deadline, plan);
		break;
	case NOTICE_OVERDUE:
		snprintf(subject, 160,
			 da ? "Opfølgning overskredet – ref KIP-%" PRId64
			    : "Follow-up overdue – ref KIP-%" PRId64,
			 plan);
		len = snprintf(
		    text, 900,
		    da ? "Plan KIP-%" PRId64 " skulle have haft et "
			 "opfølgningsmøde senest %s (seks-måneders-reglen), "
			 "og der er ikke planlagt et.\r\nSe: kipctl plan list "
			 "--overdue\r\n"
		       : "Plan KIP-%" PRId64 " should have had a follow-up "
			 "meeting by %s (the six-month rule), and none is "
			 "scheduled.\r\nSee: kipctl plan list --overdue\r\n",
		    plan, deadline);
		break;
	case NOTICE_PAUSED:
		snprintf(subject, 160,
			 da ? "Opfølgning sat i bero – ref KIP-%" PRId64
			    : "Follow-up paused – ref KIP-%" PRId64,
			 plan);
		len = snprintf(
		    text, 900,
		    da ? "Plan KIP-%" PRId64 " har frist for opfølgningsmøde "
			 "den %s (seks-måneders-reglen). Samtykket til "
			 "planen er trukket tilbage, så opfølgningen er sat i "
			 "bero: der sendes ingen påmindelser, og "
			 "overskridelsen varsles ikke.\r\nTilbyd borgeren "
			 "planen igen senere, som vejledningen foreskriver; "
			 "når samtykket gives igen, genoptages "
			 "opfølgningen.\r\nSe: kipctl plan status %" PRId64
			 "\r\n"
		       : "Plan KIP-%" PRId64 " reaches its follow-up deadline "
			 "on %s (the six-month rule). Consent to the plan has "
			 "been withdrawn, so its follow-up is paused: no "
			 "reminders are sent and the deadline is not "
			 "escalated.\r\nOffer the plan to the citizen again "
			 "later, as the guideline asks; when consent is given "
			 "again, the follow-up resumes.\r\nSee: kipctl plan "
			 "status %" PRId64 "\r\n",
		    plan, deadline, plan);
		break;
	}
	if (len > 0 && len < 900)
		snprintf(text + len, 900 - (size_t)len, "%s",
			 da ? "\r\nBeskeden er sendt automatisk og indeholder "
			      "ingen personoplysninger.\r\n"
			    : "\r\nThis message was sent automatically and "
			      "contains no personal data.\r\n");
}

static int followup_event(struct kipd *k, const struct job *j, enum notice n,
			  int64_t citizen, const char *deadline, int messages)
{
	if (n == NOTICE_REMINDER)
		return event_emit(k, "reminder.sent", citizen, j->plan,
				  json_pack("{s:s, s:s, s:I, s:I}", "kind",
					    "followup", "deadline", deadline,
					    "offset_days",
					    (json_int_t)j->offset, "messages",
					    (json_int_t)messages));
	return event_emit(
	    k, n == NOTICE_OVERDUE ? "followup.overdue" : "followup.paused",
	    citizen, j->plan,
	    json_pack("{s:s, s:I, s:I}", "deadline", deadline, "meeting",
		      (json_int_t)j->meeting, "messages",
		      (json_int_t)messages));
}

/* The six-month rule: notice N for the plan of J to its coordinator (and,
 * when overdue, to reminders.escalation_address), if the anchor is still
 * the same and, but for the paused notice, no follow-up is set. */
static int fire_followup(struct kipd *k, const struct job *j, enum notice n,
			 time_t now, struct pass_stats *ps,
			 const char **outcome)
{
	char deadline[11], subject[160], text[900];
	int64_t anchor = 0, citizen;
	bool covered = false;
	json_t *co = NULL;
	int r = plan_anchor(k, j->plan, &anchor, deadline, &covered);
	int sent0 = ps->messages;

	if (r < 0)
		return r;
	*outcome = "obsolete";
	if (r == 0 || anchor != j->meeting || (covered && n != NOTICE_PAUSED))
		return 0;
	r = store_row(k->store, &co,
		      "SELECT p.citizen_id, p.status, k.id AS coordinator,"
		      " k.email FROM plans p JOIN contacts k"
		      " ON k.id = p.coordinator_id WHERE p.id = ?",
		      "i", j->plan);
	if (r == -ENOENT ||
	    (r == 0 && strcmp(row_str(co, "status"), "active"))) {
		json_decref(co);
		return 0;
	}
	if (r < 0)
		return r;
	citizen = row_num(co, "citizen_id");
	followup_text(k, n, j->plan, deadline, subject, text);
	/* The paused notice is not covered by the consent it reports
	 * withdrawn: no citizen on its row, as on an administrator's. */
	r = send_neutral(k, "followup", n == NOTICE_PAUSED ? 0 : citizen,
			 j->plan, 0, row_num(co, "coordinator"),
			 row_str(co, "email"), false, subject, text, ps);
	if (r == 0 && n == NOTICE_OVERDUE && k->cfg->escalation_address)
		/* No citizen, no plan on the row: an administrator's notice. */
		r = send_neutral(k, "followup", 0, 0, 0, 0,
				 k->cfg->escalation_address, false, subject,
				 text, ps);
	*outcome = "sent";
	if (r == -ENOKEY) {
		log_warn("scheduler: follow-up notice for plan %" PRId64
			 " not sent: no smime.cert or organisation.mailbox",
			 j->plan);
		*outcome = "unsigned";
		r = 0;
	}
	if (r == 0 && n == NOTICE_OVERDUE)
		r = store_exec(k->store,
			       "INSERT OR REPLACE INTO plan_overdue (plan_id,"
			       " anchor_meeting_id, deadline, since)"
			       " VALUES (?, ?, ?, ?)",
			       "iisi", j->plan, anchor, deadline, (int64_t)now);
	if (r >= 0)
		r = followup_event(k, j, n, citizen, deadline,
				   ps->messages - sent0);
	json_decref(co);
	return r < 0 ? r : 0;
}

/* Does J. A row made before the citizen's consent changed (the paused
 * notice of a plan with consent again, anything else of a paused plan) is
 * stale: the plan's rows are brought up to date instead, and *RET_DONE is
 * false, so that it may be due again once the watch resumes. */
static int do_job(struct kipd *k, const struct job *j, time_t now,
		  struct pass_stats *ps, const char **outcome, bool *ret_done)
{
	int r = watch_paused(k, j->plan);

	if (r < 0)
		return r;
	if (r != is_paused_notice(j)) {
		*outcome = "stale";
		*ret_done = false;
		return scheduler_sync_plan(k, j->plan);
	}
	if (strcmp(j->kind, "reminder") == 0)
		return fire_reminder(k, j, now, ps, outcome);
	return fire_followup(k, j, job_notice(j), now, ps, outcome);
}

/* The daily work every pass also does (the digest), and when it next
 * falls due; set by scheduler_set_daily(). */
static int (*daily_due)(struct kipd *k, time_t now);
static time_t (*daily_next)(struct kipd *k, time_t now);

void scheduler_set_daily(int (*due)(struct kipd *k, time_t now),
			 time_t (*next)(struct kipd *k, time_t now))
{
	daily_due = due;
	daily_next = next;
}

/* Handles up to LIMIT due rows inside the caller's transaction, then the
 * daily work. Returns the number of rows handled or -errno. */
static int pass(struct kipd *k, time_t now, int limit, struct pass_stats *ps)
{
	json_t *rows, *row;
	size_t i;
	int r = store_rows(k->store, &rows,
			   "SELECT id, kind, plan_id, meeting_id, sequence,"
			   " offset_days FROM sched_pending WHERE due_at <= ?"
			   " ORDER BY due_at LIMIT ?",
			   "ii", (int64_t)now, (int64_t)limit);

	if (r < 0)
		return r;
	r = 0;
	json_array_foreach(rows, i, row)
	{
		struct job j = {
		    row_num(row, "id"),		 row_num(row, "plan_id"),
		    row_num(row, "meeting_id"),	 row_num(row, "sequence"),
		    row_num(row, "offset_days"), row_str(row, "kind")};
		const char *outcome = "obsolete";
		bool done = true;

		r = do_job(k, &j, now, ps, &outcome, &done);
		if (r >= 0)
			r = store_exec(k->store,
				       "DELETE FROM sched_pending WHERE id = ?",
				       "i", j.id);
		if (r >= 0 && done)
			r = store_exec(k->store,
				       "INSERT OR IGNORE INTO sched_done (kind,"
				       " meeting_id, sequence, offset_days,"
				       " plan_id, done_at, outcome)"
				       " VALUES (?, ?, ?, ?, ?, ?, ?)",
				       "siiiiis", j.kind, j.meeting, j.sequence,
				       j.offset, j.plan, (int64_t)now, outcome);
		if (r < 0)
			break;
		log_debug("scheduler: %s plan %" PRId64 " meeting %" PRId64
			  " offset %" PRId64 ": %s",
			  j.kind, j.plan, j.meeting, j.offset, outcome);
		ps->jobs++;
	}
	json_decref(rows);
	if (r >= 0 && daily_due) {
		r = daily_due(k, now);
		if (r > 0)
			ps->messages += r;
	}
	if (r >= 0) {
		/* Passphrases of encrypted PDFs never handed over. */
		int n = pdfpass_expire(k, now);

		if (n > 0)
			log_info("scheduler: %d PDF passphrase(s) not handed "
				 "over in time deleted",
				 n);
		r = n < 0 ? n : r;
	}
	return r < 0 ? r : ps->jobs;
}

static void on_timer(struct loop *loop, void *arg)
{
	struct kipd *k = arg;
	struct pass_stats ps = {0, 0};
	double t0 = loop_clock_ms();
	struct txn t;
	int r;

	(void)loop;
	k->sched_timer = 0;
	r = txn_begin(k, &t);
	if (r >= 0) {
		r = pass(k, clock_now(), PASS_LIMIT, &ps);
		if (r >= 0)
			r = txn_commit(&t);
		else
			txn_rollback(&t);
	}
	if (r < 0) {
		log_err("scheduler: pass failed, tried again in a minute: %s",
			strerror(-r));
		k->sched_timer =
		    loop_timer_at(k->loop, loop_now_ms() + 60000, on_timer, k);
		return;
	}
	log_debug("scheduler: pass: %d due, %d messages, %.3f ms", ps.jobs,
		  ps.messages, loop_clock_ms() - t0);
	scheduler_kick(k); /* this timer's own next run */
}

void scheduler_kick(struct kipd *k)
{
	uint64_t delay = MAX_SLEEP_MS;
	time_t now = clock_now();
	int64_t next;
	int r = store_int(k->store, &next,
			  "SELECT due_at FROM sched_pending"
			  " ORDER BY due_at LIMIT 1",
			  "");

	if (r == 0)
		delay = next <= now ? 0
			: (uint64_t)(next - now) * 1000 < MAX_SLEEP_MS
			    ? (uint64_t)(next - now) * 1000
			    : MAX_SLEEP_MS;
	else if (r != -ENOENT)
		delay = 60000;
	next = daily_next ? daily_next(k, now) : 0;
	if (next > now && (uint64_t)(next - now) * 1000 < delay)
		delay = (uint64_t)(next - now) * 1000;
	if (k->sched_timer)
		loop_timer_cancel(k->loop, k->sched_timer);
	k->sched_timer =
	    loop_timer_at(k->loop, loop_now_ms() + delay, on_timer, k);
	if (k->sched_timer < 0) {
		log_err("scheduler: no timer (out of memory)");
		k->sched_timer = 0;
	}
}

int scheduler_open(struct kipd *k)
{
	json_t *plans = NULL, *row;
	double t0 = loop_clock_ms();
	int64_t done;
	size_t i;
	int r =
	    store_int(k->store, &done,
		      "SELECT value FROM sched_state WHERE key = 'filled'", "");

	if (r == -ENOENT) {
		/* The first start with a scheduler: every active plan. */
		struct txn t;

		r = txn_begin(k, &t);
		if (r >= 0)
			r = store_rows(k->store, &plans,
				       "SELECT id FROM plans"
				       " WHERE status = 'active'",
				       "");
		json_array_foreach(plans, i, row)
		{
			if (r < 0)
				break;
			r = scheduler_sync_plan(k, row_num(row, "id"));
		}
		if (r >= 0)
			r = store_exec(k->store,
				       "INSERT INTO sched_state (key, value)"
				       " VALUES ('filled', 1)",
				       "");
		if (r >= 0)
			r = txn_commit(&t);
		else
			txn_rollback(&t);
		if (r >= 0)
			log_notice("scheduler: %zu plans scheduled in %.0f ms",
				   json_array_size(plans),
				   loop_clock_ms() - t0);
		json_decref(plans);
	}
	if (r < 0)
		return r;
	scheduler_kick(k);
	return 0;
}

void scheduler_close(struct kipd *k)
{
	if (k->sched_timer)
		loop_timer_cancel(k->loop, k->sched_timer);
	k->sched_timer = 0;
}

int scheduler_run_now(struct kipd *k, time_t now, int *ret_due,
		      int *ret_messages)
{
	struct pass_stats ps = {0, 0};
	int r = pass(k, now, 1000000, &ps);

	if (r < 0)
		return r;
	txn_mark(k, TXN_SCHEDULE);
	*ret_due = ps.jobs;
	*ret_messages = ps.messages;
	return 0;
}
