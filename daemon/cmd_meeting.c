/* cmd_meeting.c — coordination meetings: schedule, move, cancel, record
 * attendance and apologies, mark held. Every change of time or status
 * bumps the iCalendar SEQUENCE used by invitations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "clock.h"
#include "cmd.h"
#include "event.h"
#include "distribute.h"
#include "validate.h"

static const char *const citizen_modes[] = {"present", "absent", "phone",
					    "video", NULL};

/* START ("YYYY-MM-DDTHH:MM", local) against the current minute, as
 * strcmp() compares them. */
static int start_vs_now(const char *start)
{
	char now[17];

	clock_local(clock_now(), now);
	return strcmp(start, now);
}

/* Whether START has passed: a meeting recorded after the fact gets no
 * invitation. */
static bool meeting_in_past(const char *start)
{
	return start_vs_now(start) < 0;
}

static int meeting_event(struct cmd_ctx *c, const char *type, int64_t id,
			 json_t *data)
{
	if (!data)
		data = json_object();
	json_object_set_new(data, "meeting", json_integer(id));
	if (event_emit(c->k, type, c->citizen_id, c->plan_id, data) < 0)
		return cmd_store_fail(c, -EIO, "event");
	return 0;
}

/* A meeting held is a follow-up when an earlier version of the plan set a
 * follow-up date; it is in time when held by that date. */
static int held_event(struct cmd_ctx *c, int64_t id, const char *start)
{
	char *due = NULL;
	bool followup;
	int r;

	r = store_text(c->st, &due,
		       "SELECT follow_up FROM plan_versions WHERE plan_id = ?"
		       " AND meeting_id <> ? ORDER BY version DESC LIMIT 1",
		       "ii", c->plan_id, id);
	if (r < 0 && r != -ENOENT)
		return cmd_store_fail(c, r, "version");
	followup = r == 0 && due;
	r = meeting_event(c, "meeting.held", id,
			  json_pack("{s:b, s:b}", "followup", followup,
				    "in_time",
				    followup && strncmp(start, due, 10) <= 0));
	free(due);
	return r;
}

static int arg_start(struct cmd_ctx *c, bool required, char out[17])
{
	const char *s;
	int r = arg_text(c, "start", required, 32, &s);

	if (r == 1 && datetime_parse(s, out) < 0)
		return cmd_fail(c, "bad_request",
				"argument 'start': '%s' is not a real time "
				"\"YYYY-MM-DD HH:MM\"",
				s);
	return r;
}

static int arg_duration(struct cmd_ctx *c, int64_t *ret)
{
	int r = arg_int(c, "duration", false, ret);

	if (r == 1 && (*ret < 5 || *ret > 720))
		return cmd_fail(c, "bad_request",
				"argument 'duration' must be 5..720 minutes");
	return r;
}

/* Loads a meeting, checks access to its plan; *ret_status is its status
 * (a static string: "scheduled", "cancelled" or "held"). */
static int load_meeting(struct cmd_ctx *c, int64_t *ret_id, bool write,
			const char **ret_status)
{
	static const char *const states[] = {"scheduled", "cancelled", "held"};
	json_t *row;
	int64_t plan;
	int r;

	if (arg_int(c, "id", true, ret_id) < 0)
		return -1;
	r = store_row(c->st, &row,
		      "SELECT plan_id, status FROM meetings WHERE id = ?", "i",
		      *ret_id);
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	plan = json_integer_value(json_object_get(row, "plan_id"));
	for (size_t i = 0; i < 3; i++)
		if (strcmp(states[i], json_string_value(
					  json_object_get(row, "status"))) == 0)
			*ret_status = states[i];
	json_decref(row);
	snprintf(c->object, sizeof(c->object), "meeting:%lld",
		 (long long)*ret_id);
	return access_plan(c, plan, write);
}

int cmd_meeting_schedule(struct cmd_ctx *c)
{
	const char *place = NULL, *video = NULL, *phone = NULL;
	const char *reason = NULL, *situation = NULL, *place_clear = NULL;
	int64_t plan, duration = 90, id;
	char start[17], now[32];
	int r;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_start(c, true, start) < 0 || arg_duration(c, &duration) < 0 ||
	    arg_text(c, "place", false, 300, &place) < 0 ||
	    arg_text(c, "place_in_clear", false, 300, &place_clear) < 0 ||
	    arg_text(c, "video", false, 500, &video) < 0 ||
	    arg_text(c, "phone", false, 40, &phone) < 0 ||
	    arg_longtext(c, "reason", false, 4000, &reason) < 0 ||
	    arg_longtext(c, "situation", false, 8000, &situation) < 0 ||
	    access_plan(c, plan, true) < 0)
		return -1;
	if (!place && !video && !phone)
		return cmd_fail(c, "bad_request",
				"a meeting needs a place, a video link or a "
				"phone number");
	store_now(now);
	r = store_exec(
	    c->st,
	    "INSERT INTO meetings (id, plan_id, starts_at,"
	    " duration_min, place, place_clear, video_url, phone,"
	    " reason, situation, created_at, created_by)"
	    " VALUES (" NEXT_ID("meetings") ",?,?,?,?,?,?,?,?,?,?,?)",
	    "isissssssss", plan, start, duration, place, place_clear, video,
	    phone, reason, situation, now, c->who->user);
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	id = store_last_id(c->st);
	snprintf(c->object, sizeof(c->object), "meeting:%lld", (long long)id);
	if (!meeting_in_past(start) && distribute_meeting(c, id, false) < 0)
		return -1;
	if (meeting_event(c, "meeting.scheduled", id, NULL) < 0)
		return -1;
	return cmd_ok(
	    c, json_pack("{s:I, s:s}", "id", (json_int_t)id, "start", start));
}

static int require_scheduled(struct cmd_ctx *c, int64_t id, const char *status)
{
	if (strcmp(status, "scheduled") != 0)
		return cmd_fail(c, "conflict", "meeting %lld is %s",
				(long long)id, status);
	return 0;
}

int cmd_meeting_move(struct cmd_ctx *c)
{
	const char *status = "";
	int64_t id, duration = 0;
	char start[17], now[32];
	int r;

	if (load_meeting(c, &id, true, &status) < 0 ||
	    require_scheduled(c, id, status) < 0 ||
	    arg_start(c, true, start) < 0 || arg_duration(c, &duration) < 0)
		return -1;
	store_now(now);
	r = store_exec(
	    c->st,
	    "UPDATE meetings SET starts_at = ?,"
	    " duration_min = CASE WHEN ? THEN ? ELSE duration_min END,"
	    " sequence = sequence + 1, updated_at = ? WHERE id = ?",
	    "siisi", start, duration, duration, now, id);
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	if (!meeting_in_past(start) && distribute_meeting(c, id, false) < 0)
		return -1;
	if (meeting_event(c, "meeting.moved", id, NULL) < 0)
		return -1;
	return cmd_ok(
	    c, json_pack("{s:I, s:s}", "id", (json_int_t)id, "start", start));
}

int cmd_meeting_cancel(struct cmd_ctx *c)
{
	const char *status = "", *reason = NULL;
	char now[32];
	int64_t id;
	int r;

	if (load_meeting(c, &id, true, &status) < 0 ||
	    require_scheduled(c, id, status) < 0 ||
	    arg_text(c, "reason", false, 500, &reason) < 0)
		return -1;
	store_now(now);
	r = store_exec(c->st,
		       "UPDATE meetings SET status = 'cancelled',"
		       " cancel_reason = ?, sequence = sequence + 1,"
		       " updated_at = ? WHERE id = ?",
		       "ssi", reason, now, id);
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	if (distribute_meeting(c, id, true) < 0 ||
	    meeting_event(c, "meeting.cancelled", id, NULL) < 0)
		return -1;
	return cmd_ok(c, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status",
				   "cancelled"));
}

/* Records STATUS for every contact id in the array argument KEY. */
static int record_list(struct cmd_ctx *c, int64_t id, const char *key,
		       const char *status)
{
	json_t *arr = json_object_get(c->args, key), *v;
	char now[32];
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return cmd_fail(c, "bad_request",
				"argument '%s' must be a list of contact ids",
				key);
	store_now(now);
	json_array_foreach(arr, i, v)
	{
		int64_t contact = json_integer_value(v);
		int r;

		if (!json_is_integer(v))
			return cmd_fail(c, "bad_request",
					"argument '%s' must be a list of "
					"contact ids",
					key);
		if (cmd_require_member(c, c->plan_id, contact, NULL) < 0)
			return -1;
		r = store_exec(c->st,
			       "INSERT INTO meeting_attendance (meeting_id,"
			       " contact_id, status, recorded_at, recorded_by)"
			       " VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET"
			       " status = excluded.status,"
			       " recorded_at = excluded.recorded_at,"
			       " recorded_by = excluded.recorded_by",
			       "iisss", id, contact, status, now, c->who->user);
		if (r < 0)
			return cmd_store_fail(c, r, "attendance");
	}
	return 0;
}

int cmd_meeting_attendance(struct cmd_ctx *c)
{
	const char *status = "", *citizen = NULL;
	int64_t id;

	if (load_meeting(c, &id, true, &status) < 0 ||
	    arg_choice(c, "citizen", false, citizen_modes, &citizen) < 0)
		return -1;
	if (strcmp(status, "cancelled") == 0)
		return cmd_fail(c, "conflict", "meeting %lld was cancelled",
				(long long)id);
	if (record_list(c, id, "present", "present") < 0 ||
	    record_list(c, id, "apologies", "apologised") < 0)
		return -1;
	if (citizen &&
	    store_exec(
		c->st,
		"UPDATE meetings SET citizen_attendance = ? WHERE id = ?", "si",
		citizen, id) < 0)
		return cmd_store_fail(c, -EIO, "meeting");
	return cmd_meeting_show(c);
}

int cmd_meeting_held(struct cmd_ctx *c)
{
	const char *status = "";
	char now[32], start[32];
	char *s = NULL;
	int64_t id;
	int r;

	if (load_meeting(c, &id, true, &status) < 0 ||
	    require_scheduled(c, id, status) < 0)
		return -1;
	r = store_text(c->st, &s, "SELECT starts_at FROM meetings WHERE id = ?",
		       "i", id);
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	snprintf(start, sizeof(start), "%s", s ? s : "");
	free(s);
	if (start_vs_now(start) > 0)
		return cmd_fail(c, "rule",
				"rule meeting: meeting %lld starts in the "
				"future (%s); it cannot have been held",
				(long long)id, start);
	store_now(now);
	r = store_exec(c->st,
		       "UPDATE meetings SET status = 'held', updated_at = ?"
		       " WHERE id = ?",
		       "si", now, id);
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	if (held_event(c, id, start) < 0)
		return -1;
	return cmd_ok(
	    c, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "held"));
}

int cmd_meeting_show(struct cmd_ctx *c)
{
	const char *status = "";
	json_t *row, *att;
	int64_t id;
	int r;

	if (!c->plan_id && load_meeting(c, &id, false, &status) < 0)
		return -1;
	arg_int(c, "id", true, &id);
	r = store_row(c->st, &row,
		      "SELECT id, plan_id, starts_at, duration_min, place,"
		      " place_clear AS place_in_clear,"
		      " video_url, phone, status, sequence, citizen_attendance,"
		      " cancel_reason, created_at, updated_at FROM meetings"
		      " WHERE id = ?",
		      "i", id);
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	r = store_rows(c->st, &att,
		       "SELECT a.contact_id, k.name, a.status FROM"
		       " meeting_attendance a JOIN contacts k"
		       " ON k.id = a.contact_id WHERE a.meeting_id = ?"
		       " ORDER BY a.contact_id",
		       "i", id);
	if (r < 0 || json_object_set_new(row, "attendance", att)) {
		json_decref(row);
		return cmd_store_fail(c, r < 0 ? r : -ENOMEM, "meeting");
	}
	/* The answers to the invitation (iMIP REPLY), with the SEQUENCE
	 * they answered. */
	r = store_rows(c->st, &att,
		       "SELECT r.contact_id, k.name, r.answer, r.sequence, r.at"
		       " FROM meeting_replies r JOIN contacts k"
		       " ON k.id = r.contact_id WHERE r.meeting_id = ?"
		       " ORDER BY r.contact_id",
		       "i", id);
	if (r < 0 || json_object_set_new(row, "replies", att)) {
		json_decref(row);
		return cmd_store_fail(c, r < 0 ? r : -ENOMEM, "meeting");
	}
	return cmd_ok(c, row);
}

int cmd_meeting_list(struct cmd_ctx *c)
{
	json_t *rows;
	int64_t plan;
	int r;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    access_plan(c, plan, false) < 0)
		return -1;
	r = store_rows(c->st, &rows,
		       "SELECT id, starts_at, duration_min, place, status,"
		       " sequence FROM meetings WHERE plan_id = ?"
		       " ORDER BY starts_at",
		       "i", plan);
	if (r < 0)
		return cmd_store_fail(c, r, "meetings");
	return cmd_ok(c, json_pack("{s:I, s:o}", "plan", (json_int_t)plan,
				   "meetings", rows));
}
