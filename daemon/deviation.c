/* deviation.c — see deviation.h. */
#include "deviation.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rowval.h"
#include "buf.h"
#include "access.h"
#include "clock.h"
#include "cmd.h"
#include "distribute.h"
#include "event.h"
#include "log.h"
#include "plandoc.h"
#include "store.h"
#include "validate.h"

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The plan document of VERSION of c->plan_id, parsed. 0 or cmd_fail(). */
static int load_doc(struct cmd_ctx *c, int64_t version, struct plandoc **ret)
{
	char *text = NULL, err[256];
	int r =
	    store_text(c->st, &text,
		       "SELECT document FROM plan_versions WHERE plan_id = ?"
		       " AND version = ?",
		       "ii", c->plan_id, version);

	if (r < 0)
		return cmd_store_fail(c, r, "version");
	r = plandoc_parse(text, strlen(text), ret, err, sizeof(err));
	free(text);
	if (r < 0)
		return cmd_fail(c, "internal",
				"version %lld of plan %lld does not parse: %s",
				(long long)version, (long long)c->plan_id, err);
	return 0;
}

static const char *channel_name(const struct kipd *k, const char *channel)
{
	if (strcmp(channel, "mail") == 0)
		return texts_danish(k->cfg) ? "signeret e-mail"
					    : "signed e-mail";
	if (strcmp(channel, "mqtt") == 0)
		return texts_danish(k->cfg) ? "partnersystem (MQTT)"
					    : "partner system (MQTT)";
	return texts_danish(k->cfg) ? "kipctl (lokal bruger)"
				    : "kipctl (local user)";
}

/* The coordinator's name and how to reach them. */
static void coordinator_line(json_t *d, char *out, size_t len)
{
	snprintf(out, len, "%s, %s", str(d, "coord_name"),
		 *str(d, "coord_phone") ? str(d, "coord_phone")
					: str(d, "coord_email"));
}

/* Everything a message about DEV needs, as one JSON row. */
static int load_report(struct cmd_ctx *c, int64_t dev, json_t **ret)
{
	int r = store_row(c->st, ret,
			  "SELECT d.*, p.citizen_id, c.name AS citizen_name,"
			  " p.coordinator_id, rk.name AS reporter_name,"
			  " rk.title AS reporter_title,"
			  " rk.organisation AS reporter_org,"
			  " rk.email AS reporter_email,"
			  " ck.name AS coord_name, ck.phone AS coord_phone,"
			  " ck.email AS coord_email"
			  " FROM deviations d JOIN plans p ON p.id = d.plan_id"
			  " JOIN citizens c ON c.id = p.citizen_id"
			  " JOIN contacts rk ON rk.id = d.reporter_id"
			  " JOIN contacts ck ON ck.id = p.coordinator_id"
			  " WHERE d.id = ?",
			  "i", dev);

	return r < 0 ? cmd_store_fail(c, r, "deviation") : 0;
}

/*
 * The personal text about report D for a recipient: the report with the
 * goal and action it concerns, who reported it and how, and what the
 * recipient is expected to do (the coordinator, or a member who answers
 * for the goal).
 */
static int compose(struct cmd_ctx *c, json_t *d, bool to_coordinator,
		   struct buf *out, char *subject, size_t sublen)
{
	struct kipd *k = c->k;
	bool da = texts_danish(k->cfg);
	struct plandoc *doc = NULL;
	int64_t goal = row_num(d, "goal"), action = row_num(d, "action");
	time_t at = (time_t)row_num(d, "received_at");
	char when[32], coord[300];
	struct tm tm;
	int r = load_doc(c, row_num(d, "version"), &doc);

	if (r < 0)
		return r;
	localtime_r(&at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	coordinator_line(d, coord, sizeof(coord));
	snprintf(subject, sublen,
		 da ? "Afvigelse i indsatsplanen for %s (afvigelse %lld)"
		    : "Deviation in the plan for %s (deviation %lld)",
		 str(d, "citizen_name"), (long long)row_num(d, "id"));
	r = buf_printf(out,
		       da ? "Afvigelse %lld i den koordinerende indsatsplan "
			    "for %s (ref. KIP-%lld, version %lld).\n\n"
			  : "Deviation %lld in the coordinated action plan for "
			    "%s (ref. KIP-%lld, version %lld).\n\n",
		       (long long)row_num(d, "id"), str(d, "citizen_name"),
		       (long long)row_num(d, "plan_id"),
		       (long long)row_num(d, "version"));
	if (r == 0 && goal >= 1 && (size_t)goal <= doc->n_goals) {
		const struct plandoc_goal *g = &doc->goals[goal - 1];

		r = buf_printf(out, da ? "Mål %lld: %s\n" : "Goal %lld: %s\n",
			       (long long)goal, g->goal);
		if (r == 0 && action >= 1 && (size_t)action <= g->n_actions)
			r = buf_printf(out,
				       da ? "Indsats %lld: %s\n"
					  : "Action %lld: %s\n",
				       (long long)action,
				       g->actions[action - 1].action
					   ? g->actions[action - 1].action
					   : "");
	}
	if (r == 0)
		r = buf_printf(
		    out,
		    da ? "\nIndberettet af: %s%s%s%s%s (%s)\n"
			 "Kanal: %s\nModtaget: %s\n\nAfvigelsen:\n%s\n"
		       : "\nReported by: %s%s%s%s%s (%s)\n"
			 "Channel: %s\nReceived: %s\n\nThe deviation:\n"
			 "%s\n",
		    str(d, "reporter_name"),
		    *str(d, "reporter_title") ? ", " : "",
		    str(d, "reporter_title"),
		    *str(d, "reporter_org") ? ", " : "", str(d, "reporter_org"),
		    str(d, "reporter_email"),
		    channel_name(k, str(d, "channel")), when, str(d, "text"));
	if (r == 0 && to_coordinator)
		r = buf_printf(
		    out,
		    da ? "\nDu er koordinator for planen. Sørg for, at de "
			 "relevante parter får besked og kan reagere.\n%s"
			 "Kvittér for afvigelsen: kipctl deviation ack %lld\n"
			 "Indkald evt. til opfølgning tidligere: kipctl "
			 "meeting move\n"
		       : "\nYou coordinate this plan. Make sure the parties "
			 "concerned are told and can react.\n%s"
			 "Acknowledge it: kipctl deviation ack %lld\n"
			 "To bring the follow-up forward: kipctl meeting "
			 "move\n",
		    strcmp(k->cfg->deviation_forward, "auto") == 0
			? (da ? "Den sendes automatisk videre til dem, "
				"der har ansvar for målet.\n"
			      : "It is forwarded automatically to "
				"those who answer for the goal.\n")
			: (da ? "Send den videre: kipctl deviation "
				"forward ID --to KONTAKT\n"
			      : "Forward it: kipctl deviation forward "
				"ID --to CONTACT\n"),
		    (long long)row_num(d, "id"));
	else if (r == 0)
		r = buf_printf(
		    out,
		    da ? "\nDu modtager afvigelsen, fordi du har "
			 "ansvar for mål %lld i planen. Koordinator: "
			 "%s.\n"
		       : "\nYou receive this because you answer for "
			 "goal %lld of the plan. Coordinator: %s.\n",
		    (long long)goal, coord);
	plandoc_free(doc);
	return r < 0 ? cmd_store_fail(c, r, "message") : 0;
}

/* Queues the message about D for CONTACT. 0 or cmd_fail(). */
static int send_about(struct cmd_ctx *c, json_t *d, int64_t contact,
		      bool to_coordinator)
{
	struct buf text = BUF_INIT;
	char subject[400];
	int r = compose(c, d, to_coordinator, &text, subject, sizeof(subject));

	if (r == 0) {
		r = distribute_deviation(
		    c->k, row_num(d, "citizen_id"), row_num(d, "plan_id"),
		    row_num(d, "version"), row_num(d, "id"), contact, subject,
		    text.data);
		if (r < 0)
			r = cmd_store_fail(c, r, "outbox");
	}
	buf_free(&text);
	return r;
}

static int forward_one(struct cmd_ctx *c, json_t *d, int64_t contact,
		       const char *by)
{
	int64_t one;
	char *kind = NULL;
	int r;

	if (cmd_require_member(c, row_num(d, "plan_id"), contact, &kind) < 0)
		return -1;
	if (kind && strcmp(kind, "professional") != 0 &&
	    !consent_active(c, row_num(d, "citizen_id"), "relatives")) {
		free(kind);
		return rule_consent(c, row_num(d, "citizen_id"), "relatives");
	}
	free(kind);
	r = store_int(c->st, &one,
		      "SELECT 1 FROM deviation_forwards WHERE deviation_id = ?"
		      " AND contact_id = ?",
		      "ii", row_num(d, "id"), contact);
	if (r == 0)
		return cmd_fail(c, "conflict",
				"deviation %lld was already forwarded to "
				"contact %lld",
				(long long)row_num(d, "id"),
				(long long)contact);
	r = send_about(c, d, contact, false);
	if (r < 0)
		return r;
	r = store_exec(c->st,
		       "INSERT INTO deviation_forwards (deviation_id,"
		       " contact_id, outbox_id, at, by) VALUES (?, ?,"
		       " (SELECT max(id) FROM outbox WHERE deviation_id = ?"
		       "  AND contact_id = ? AND kind = 'deviation'), ?, ?)",
		       "iiiiis", row_num(d, "id"), contact, row_num(d, "id"),
		       contact, (int64_t)clock_now(), by);
	if (r >= 0)
		r = store_exec(c->st,
			       "UPDATE deviations SET state = 'forwarded'"
			       " WHERE id = ? AND state = 'new'",
			       "i", row_num(d, "id"));
	if (r >= 0)
		r = event_emit(c->k, "deviation.forwarded",
			       row_num(d, "citizen_id"), row_num(d, "plan_id"),
			       json_pack("{s:I, s:I}", "deviation",
					 (json_int_t)row_num(d, "id"),
					 "contact", (json_int_t)contact));
	return r < 0 ? cmd_store_fail(c, r, "forward") : 0;
}

int deviation_forward(struct cmd_ctx *c, int64_t dev, int64_t contact,
		      const char *by)
{
	json_t *d = NULL;
	int r = load_report(c, dev, &d);

	if (r == 0)
		r = forward_one(c, d, contact, by);
	json_decref(d);
	return r;
}

/* The automatic forwards: the goal's routes, or every professional
 * member; never the reporter or the coordinator (already told). */
static int forward_auto(struct cmd_ctx *c, json_t *d)
{
	json_t *rows = NULL, *row;
	bool relatives;
	size_t i;
	int r = store_rows(
	    c->st, &rows,
	    "SELECT m.contact_id, k.kind FROM plan_members m"
	    " JOIN contacts k ON k.id = m.contact_id"
	    " WHERE m.plan_id = ?1 AND m.contact_id NOT IN (?2, ?3)"
	    " AND (EXISTS (SELECT 1 FROM goal_routes g WHERE g.plan_id = ?1"
	    "  AND g.goal = ?4 AND g.contact_id = m.contact_id)"
	    "  OR (NOT EXISTS (SELECT 1 FROM goal_routes g"
	    "  WHERE g.plan_id = ?1 AND g.goal = ?4)"
	    "  AND k.kind = 'professional'))"
	    " ORDER BY m.contact_id",
	    "iiii", row_num(d, "plan_id"), row_num(d, "reporter_id"),
	    row_num(d, "coordinator_id"), row_num(d, "goal"));

	if (r < 0)
		return cmd_store_fail(c, r, "members");
	log_debug("deviation: %lld: %d automatic forward(s)",
		  (long long)row_num(d, "id"), r);
	/* A routed relative needs the consent to involve relatives;
	 * without it the route is skipped, not the report. */
	relatives = consent_active(c, row_num(d, "citizen_id"), "relatives");
	r = 0;
	json_array_foreach(rows, i, row)
	{
		int64_t contact = row_num(row, "contact_id");

		if (strcmp(str(row, "kind"), "professional") != 0 && !relatives)
			continue;
		r = forward_one(c, d, contact, "auto");
		if (r < 0)
			break;
	}
	json_decref(rows);
	return r;
}

/* The version in force: the latest approved one. 0 or cmd_fail(). */
static int version_in_force(struct cmd_ctx *c, int64_t *ret)
{
	int r = cmd_version_in_force(c, c->plan_id, ret);

	if (r == -ENOENT)
		return cmd_fail(c, "rule",
				"rule approval: plan %lld has no approved "
				"version to report a deviation against",
				(long long)c->plan_id);
	return r < 0 ? cmd_store_fail(c, r, "version") : 0;
}

/* Goal and action exist in version V. 0 or cmd_fail(). */
static int check_goal(struct cmd_ctx *c, int64_t v, int64_t goal,
		      int64_t action)
{
	struct plandoc *doc = NULL;
	int r = load_doc(c, v, &doc);

	if (r < 0)
		return r;
	if (goal < 1 || (size_t)goal > doc->n_goals)
		r = cmd_fail(c, "rule",
			     "rule goal: version %lld of plan %lld has goals "
			     "1 to %zu, not %lld",
			     (long long)v, (long long)c->plan_id, doc->n_goals,
			     (long long)goal);
	else if (action && (action < 1 ||
			    (size_t)action > doc->goals[goal - 1].n_actions))
		r = cmd_fail(c, "rule",
			     "rule goal: goal %lld of version %lld has actions "
			     "1 to %zu, not %lld",
			     (long long)goal, (long long)v,
			     doc->goals[goal - 1].n_actions, (long long)action);
	plandoc_free(doc);
	return r;
}

int64_t deviation_add(struct cmd_ctx *c, const struct deviation_in *in)
{
	int64_t version, id;
	json_t *d = NULL;
	int r;

	if (access_plan(c, in->plan, true) < 0)
		return -1;
	if (!c->who->contact_id)
		return cmd_fail(
		    c, "rule",
		    "rule network: a deviation is reported by a "
		    "member of the plan; user %s acts as no contact",
		    c->who->user);
	if (cmd_require_member(c, c->plan_id, c->who->contact_id, NULL) < 0)
		return -1;
	if (!in->text || !in->text[0])
		return cmd_fail(
		    c, "bad_request",
		    "a deviation needs a text saying what happened");
	if (!text_valid(in->text, DEVIATION_TEXT_MAX, true))
		return cmd_fail(c, "bad_request",
				"the report's text is longer than %d bytes or "
				"contains control characters",
				DEVIATION_TEXT_MAX);
	if (version_in_force(c, &version) < 0 ||
	    check_goal(c, version, in->goal, in->action) < 0)
		return -1;
	r = store_exec(c->st,
		       "INSERT INTO deviations (plan_id, version, goal, action,"
		       " text, reporter_id, channel, verification, source_id,"
		       " received_at) VALUES (?, ?, ?, NULLIF(?, 0), ?, ?, ?,"
		       " ?, ?, ?)",
		       "iiiisisssi", c->plan_id, version, in->goal, in->action,
		       in->text, c->who->contact_id, in->channel,
		       in->verification, in->source_id, (int64_t)clock_now());
	if (r == -EEXIST)
		return cmd_fail(c, "duplicate",
				"this report was recorded before (the same %s "
				"arrived twice)",
				strcmp(in->channel, "mail") == 0 ? "Message-ID"
								 : "report id");
	if (r < 0)
		return cmd_store_fail(c, r, "deviation");
	id = store_last_id(c->st);
	snprintf(c->object, sizeof(c->object), "deviation:%lld", (long long)id);
	json_t *data =
	    json_pack("{s:I, s:I, s:s}", "deviation", (json_int_t)id, "goal",
		      (json_int_t)in->goal, "channel", in->channel);
	if (data && in->action)
		json_object_set_new(data, "action", json_integer(in->action));
	/* A partner system's own id of the report ("user:id"), so it can
	 * see the report arrived and re-send it otherwise. */
	if (data && strcmp(in->channel, "mqtt") == 0 && in->source_id)
		json_object_set_new(data, "report", json_string(in->source_id));
	r = event_emit(c->k, "deviation.received", c->citizen_id, c->plan_id,
		       data);
	if (r < 0)
		return cmd_store_fail(c, r, "event");
	r = load_report(c, id, &d);
	if (r == 0 && row_num(d, "coordinator_id") != c->who->contact_id)
		r = send_about(c, d, row_num(d, "coordinator_id"), true);
	if (r == 0 && strcmp(c->k->cfg->deviation_forward, "auto") == 0)
		r = forward_auto(c, d);
	json_decref(d);
	if (r < 0)
		return -1;
	log_info("deviation: %lld recorded for plan %lld via %s", (long long)id,
		 (long long)c->plan_id, in->channel);
	return id;
}
