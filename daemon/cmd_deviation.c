/* cmd_deviation.c — deviation reports from local users and the
 * coordinator's follow-through: list, show, acknowledge, forward, and the
 * routes that say who answers for a goal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "clock.h"
#include "cmd.h"
#include "deviation.h"
#include "event.h"

static const char *const states[] = {"new", "forwarded", "acknowledged", "open",
				     NULL};

/* Reads deviation ID's plan and checks the caller may read it (WRITE: and
 * change the plan). Sets c->plan_id, c->citizen_id, c->object. */
static int access_deviation(struct cmd_ctx *c, int64_t *ret_id, bool write)
{
	int64_t plan;
	int r;

	if (arg_int(c, "id", true, ret_id) < 0)
		return -1;
	r = store_int(c->st, &plan,
		      "SELECT plan_id FROM deviations WHERE id = ?", "i",
		      *ret_id);
	if (r < 0)
		return cmd_store_fail(c, r, "deviation");
	if (access_plan(c, plan, write) < 0)
		return -1;
	snprintf(c->object, sizeof(c->object), "deviation:%lld",
		 (long long)*ret_id);
	return 0;
}

/* The coordinator's own steps: an admin, or the plan's coordinator. */
static int must_coordinate(struct cmd_ctx *c)
{
	int64_t coord = 0;

	if (c->who->role == ROLE_ADMIN)
		return 0;
	if (store_int(c->st, &coord,
		      "SELECT coordinator_id FROM plans WHERE id = ?", "i",
		      c->plan_id) == 0 &&
	    coord == c->who->contact_id)
		return 0;
	return cmd_fail(c, "forbidden",
			"only the coordinator of plan %lld (contact %lld) may "
			"do this",
			(long long)c->plan_id, (long long)coord);
}

/* The array argument KEY of contact ids. 0 or cmd_fail(). */
static int arg_ids(struct cmd_ctx *c, const char *key, bool required,
		   json_t **ret)
{
	json_t *arr = json_object_get(c->args, key), *v;
	size_t i;

	if (!arr && !required) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_array(arr) || (required && json_array_size(arr) == 0))
		return cmd_fail(c, "bad_request",
				"argument '%s' must be a list of contact ids",
				key);
	json_array_foreach(
	    arr, i,
	    v) if (!json_is_integer(v) ||
		   json_integer_value(v) <
		       1) return cmd_fail(c, "bad_request",
					  "argument '%s' must be a list of "
					  "contact ids",
					  key);
	*ret = arr;
	return 0;
}

int cmd_deviation_report(struct cmd_ctx *c)
{
	struct deviation_in in = {0};
	int64_t id;

	if (arg_int(c, "plan", true, &in.plan) < 0 ||
	    arg_int(c, "goal", true, &in.goal) < 0 ||
	    arg_int(c, "action", false, &in.action) < 0 ||
	    arg_longtext(c, "text", true, DEVIATION_TEXT_MAX, &in.text) < 0)
		return -1;
	in.channel = "local";
	char verification[128];
	snprintf(verification, sizeof(verification),
		 "local user %s (uid %u, peer credentials)", c->who->user,
		 (unsigned)c->who->uid);
	in.verification = verification;
	id = deviation_add(c, &in);
	if (id < 0)
		return -1;
	return cmd_ok(c,
		      json_pack("{s:I, s:I, s:s}", "id", (json_int_t)id, "plan",
				(json_int_t)in.plan, "state", "new"));
}

int cmd_deviation_list(struct cmd_ctx *c)
{
	const char *state = NULL;
	json_t *rows;
	int64_t plan = 0;
	int r;

	if (arg_int(c, "plan", false, &plan) < 0 ||
	    arg_choice(c, "state", false, states, &state) < 0)
		return -1;
	if (plan && access_plan(c, plan, false) < 0)
		return -1;
	/* Without a plan: the plans the caller may read. */
	r = store_rows(
	    c->st, &rows,
	    "SELECT d.id, d.plan_id, d.version, d.goal, d.action,"
	    " d.channel, d.state,"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', d.received_at,"
	    "  'unixepoch') AS received_at, d.reporter_id,"
	    " k.name AS reporter"
	    " FROM deviations d JOIN contacts k ON k.id = d.reporter_id"
	    " WHERE (?1 = 0 OR d.plan_id = ?1)"
	    " AND (?2 IS NULL OR d.state = ?2"
	    "  OR (?2 = 'open' AND d.state <> 'acknowledged'))"
	    " AND (?3 = 1 OR d.plan_id IN (SELECT plan_id FROM"
	    "  plan_members WHERE contact_id = ?4))"
	    " ORDER BY d.id",
	    "isii", plan, state, (int64_t)(c->who->role == ROLE_ADMIN),
	    c->who->contact_id);
	if (r < 0)
		return cmd_store_fail(c, r, "deviations");
	return cmd_ok(c, json_pack("{s:o}", "deviations", rows));
}

int cmd_deviation_show(struct cmd_ctx *c)
{
	json_t *row, *fw;
	int64_t id;
	int r;

	if (access_deviation(c, &id, false) < 0)
		return -1;
	r = store_row(
	    c->st, &row,
	    "SELECT d.id, d.plan_id, d.version, d.goal, d.action,"
	    " d.text AS report, d.reporter_id, k.name AS reporter,"
	    " d.channel, d.verification,"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', d.received_at,"
	    "  'unixepoch') AS received_at, d.state,"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', d.acked_at, 'unixepoch')"
	    "  AS acked_at, d.acked_by FROM deviations d JOIN contacts k"
	    " ON k.id = d.reporter_id WHERE d.id = ?",
	    "i", id);
	if (r < 0)
		return cmd_store_fail(c, r, "deviation");
	r = store_rows(
	    c->st, &fw,
	    "SELECT f.contact_id, k.name,"
	    " strftime('%Y-%m-%dT%H:%M:%SZ', f.at, 'unixepoch') AS at,"
	    " f.by,"
	    " o.state AS message_state, o.reason AS message_reason"
	    " FROM deviation_forwards f JOIN contacts k"
	    " ON k.id = f.contact_id LEFT JOIN outbox o"
	    " ON o.id = f.outbox_id WHERE f.deviation_id = ?"
	    " ORDER BY f.contact_id",
	    "i", id);
	if (r < 0 || json_object_set_new(row, "forwards", fw)) {
		json_decref(row);
		return cmd_store_fail(c, r < 0 ? r : -ENOMEM, "deviation");
	}
	return cmd_ok(c, row);
}

int cmd_deviation_ack(struct cmd_ctx *c)
{
	int64_t id;
	int r;

	if (access_deviation(c, &id, true) < 0 || must_coordinate(c) < 0)
		return -1;
	r = store_exec(c->st,
		       "UPDATE deviations SET state = 'acknowledged',"
		       " acked_at = ?, acked_by = ? WHERE id = ?"
		       " AND state <> 'acknowledged'",
		       "isi", (int64_t)clock_now(), c->who->user, id);
	if (r < 0)
		return cmd_store_fail(c, r, "deviation");
	if (r == 0)
		return cmd_fail(c, "conflict",
				"deviation %lld is already acknowledged",
				(long long)id);
	return cmd_ok(c, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
				   "acknowledged"));
}

int cmd_deviation_forward(struct cmd_ctx *c)
{
	json_t *to, *v;
	int64_t id;
	size_t i;

	if (access_deviation(c, &id, true) < 0 || must_coordinate(c) < 0 ||
	    arg_ids(c, "to", true, &to) < 0)
		return -1;
	json_array_foreach(
	    to, i, v) if (deviation_forward(c, id, json_integer_value(v),
					    c->who->user) < 0) return -1;
	return cmd_ok(c, json_pack("{s:I, s:O}", "id", (json_int_t)id,
				   "forwarded_to", to));
}

int cmd_deviation_route(struct cmd_ctx *c)
{
	json_t *to, *v;
	int64_t plan, goal;
	size_t i;
	int r;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, "goal", true, &goal) < 0 ||
	    access_plan(c, plan, true) < 0 || must_coordinate(c) < 0 ||
	    arg_ids(c, "to", false, &to) < 0)
		return -1;
	if (goal < 1 || goal > 99)
		return cmd_fail(c, "bad_request",
				"argument 'goal' must be 1 to 99");
	r = store_exec(c->st,
		       "DELETE FROM goal_routes WHERE plan_id = ? AND goal = ?",
		       "ii", plan, goal);
	json_array_foreach(to, i, v)
	{
		int64_t contact = json_integer_value(v);

		if (r < 0)
			break;
		if (cmd_require_member(c, plan, contact, NULL) < 0)
			return -1;
		r = store_exec(c->st,
			       "INSERT OR IGNORE INTO goal_routes"
			       " (plan_id, goal, contact_id)"
			       " VALUES (?, ?, ?)",
			       "iii", plan, goal, contact);
	}
	if (r < 0)
		return cmd_store_fail(c, r, "route");
	json_t *routes;
	r = store_rows(c->st, &routes,
		       "SELECT contact_id FROM goal_routes WHERE plan_id = ?"
		       " AND goal = ? ORDER BY contact_id",
		       "ii", plan, goal);
	if (r < 0)
		return cmd_store_fail(c, r, "route");
	return cmd_ok(c, json_pack("{s:I, s:I, s:o}", "plan", (json_int_t)plan,
				   "goal", (json_int_t)goal, "to", routes));
}
