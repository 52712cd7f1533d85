/* cmd_plan.c — plans, their members and their coordinator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "cmd.h"
#include "distribute.h"
#include "outbox.h"
#include "event.h"
#include "render.h"

static const char *const basis_names[] = {
    "psych-patient",
    "substance-treatment",
    "psych-need",
    "substance-need",
};

/* Parses the "basis" array of names into BASIS_* bits. */
static int arg_basis(struct cmd_ctx *c, unsigned *ret)
{
	json_t *arr = json_object_get(c->args, "basis"), *v;
	unsigned bits = 0;
	size_t i;

	if (!json_is_array(arr))
		return cmd_fail(c, "bad_request",
				"missing argument 'basis': a list of "
				"psych-patient, substance-treatment, "
				"psych-need, substance-need");
	json_array_foreach(arr, i, v)
	{
		size_t k;

		for (k = 0; k < 4; k++)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), basis_names[k]) == 0)
				break;
		if (k == 4)
			return cmd_fail(c, "bad_request",
					"basis: unknown flag; use "
					"psych-patient, substance-treatment, "
					"psych-need, substance-need");
		bits |= 1u << k;
	}
	if (!(bits & (BASIS_PSYCH_PATIENT | BASIS_SUBST_TREATMENT)))
		return cmd_fail(c, "rule",
				"rule basis: at least one of the first two "
				"basis flags (psych-patient, "
				"substance-treatment) must be set");
	*ret = bits;
	return 0;
}

static int require_professional(struct cmd_ctx *c, int64_t contact)
{
	char *kind = NULL;
	int r =
	    store_text(c->st, &kind, "SELECT kind FROM contacts WHERE id = ?",
		       "i", contact);

	if (r < 0)
		return cmd_store_fail(c, r, "contact");
	r = strcmp(kind ? kind : "", "professional");
	free(kind);
	if (r)
		return cmd_fail(c, "rule",
				"rule coordinator: the coordinator must be a "
				"professional (contact %lld is not)",
				(long long)contact);
	return 0;
}

static int add_member(struct cmd_ctx *c, int64_t plan, int64_t contact)
{
	char now[32];
	int r;

	store_now(now);
	r = store_exec(c->st,
		       "INSERT INTO plan_members (plan_id, contact_id,"
		       " added_at, added_by) VALUES (?,?,?,?)",
		       "iiss", plan, contact, now, c->who->user);
	if (r == -EEXIST)
		return cmd_fail(c, "conflict",
				"contact %lld is already a member of plan %lld",
				(long long)contact, (long long)plan);
	return r < 0 ? cmd_store_fail(c, r, "member") : 0;
}

int cmd_plan_create(struct cmd_ctx *c)
{
	int64_t citizen, coord = c->who->contact_id;
	unsigned basis = 0;
	char now[32];
	int64_t plan;
	int r;

	if (arg_int(c, "citizen", true, &citizen) < 0 ||
	    arg_int(c, "coordinator", false, &coord) < 0 ||
	    access_citizen(c, citizen) < 0 ||
	    rule_consent(c, citizen, "plan") < 0 || arg_basis(c, &basis) < 0)
		return -1;
	if (!coord)
		return cmd_fail(c, "bad_request",
				"give 'coordinator' (a professional's contact "
				"id): your user acts as no contact");
	if (require_professional(c, coord) < 0)
		return -1;
	store_now(now);
	r = store_exec(
	    c->st,
	    "INSERT INTO plans (id, citizen_id, basis, coordinator_id,"
	    " created_at, created_by)"
	    " VALUES (" NEXT_ID("plans") ",?,?,?,?,?)",
	    "iiiss", citizen, (int64_t)basis, coord, now, c->who->user);
	if (r < 0)
		return cmd_store_fail(c, r, "plan");
	plan = store_last_id(c->st);
	c->plan_id = plan;
	if (add_member(c, plan, coord) < 0)
		return -1;
	/* The creator stays able to reach the plan. */
	if (c->who->contact_id && c->who->contact_id != coord &&
	    add_member(c, plan, c->who->contact_id) < 0)
		return -1;
	r = event_emit(c->k, "plan.created", citizen, plan, NULL);
	if (r < 0)
		return cmd_store_fail(c, r, "event");
	return cmd_ok(c, json_pack("{s:I}", "id", (json_int_t)plan));
}

static int basis_list(unsigned bits, json_t **ret)
{
	json_t *arr = json_array();

	for (size_t k = 0; arr && k < 4; k++)
		if (bits & (1u << k) &&
		    json_array_append_new(arr, json_string(basis_names[k]))) {
			json_decref(arr);
			return -ENOMEM;
		}
	*ret = arr;
	return arr ? 0 : -ENOMEM;
}

int cmd_plan_show(struct cmd_ctx *c)
{
	json_t *plan, *part, *basis;
	int64_t id;
	int r;

	if (arg_int(c, "plan", true, &id) < 0 || access_plan(c, id, false) < 0)
		return -1;
	r = store_row(c->st, &plan,
		      "SELECT p.id, p.citizen_id, c.name AS citizen_name,"
		      " p.status, p.basis, p.coordinator_id,"
		      " k.name AS coordinator_name, p.created_at, p.created_by"
		      " FROM plans p JOIN citizens c ON c.id = p.citizen_id"
		      " JOIN contacts k ON k.id = p.coordinator_id"
		      " WHERE p.id = ?",
		      "i", id);
	if (r < 0)
		return cmd_store_fail(c, r, "plan");
	if (basis_list(
		(unsigned)json_integer_value(json_object_get(plan, "basis")),
		&basis) < 0 ||
	    json_object_set_new(plan, "basis", basis))
		goto fail;
	r = store_rows(c->st, &part,
		       "SELECT k.id, k.kind, k.name, k.title, k.organisation"
		       " FROM plan_members m JOIN contacts k"
		       " ON k.id = m.contact_id WHERE m.plan_id = ?"
		       " ORDER BY k.id",
		       "i", id);
	if (r < 0 || json_object_set_new(plan, "members", part))
		goto fail;
	r = store_rows(
	    c->st, &part,
	    "SELECT id, starts_at, duration_min, status FROM meetings"
	    " WHERE plan_id = ? ORDER BY starts_at",
	    "i", id);
	if (r < 0 || json_object_set_new(plan, "meetings", part))
		goto fail;
	r = store_rows(c->st, &part,
		       "SELECT version, meeting_id, follow_up, created_at,"
		       " approved_at, approval_method, distribution"
		       " FROM plan_versions WHERE plan_id = ? ORDER BY version",
		       "i", id);
	if (r < 0 || json_object_set_new(plan, "versions", part))
		goto fail;
	return cmd_ok(c, plan);
fail:
	json_decref(plan);
	return cmd_store_fail(c, r < 0 ? r : -ENOMEM, "plan");
}

int cmd_plan_list(struct cmd_ctx *c)
{
	int64_t citizen = 0;
	json_t *rows, *row, *ov = json_object_get(c->args, "overdue");
	bool overdue = json_is_true(ov);
	size_t i;
	int r;

	if (ov && !json_is_boolean(ov) && !json_is_null(ov))
		return cmd_fail(c, "bad_request",
				"argument 'overdue' must be true or false");
	if (arg_int(c, "citizen", false, &citizen) < 0 ||
	    (citizen && access_citizen(c, citizen) < 0))
		return -1;
	r = store_rows(
	    c->st, &rows,
	    "SELECT p.id, p.citizen_id, p.status,"
	    " p.coordinator_id, (SELECT max(version) FROM"
	    "  plan_versions v WHERE v.plan_id = p.id) AS version,"
	    " o.deadline AS follow_up_deadline,"
	    " o.plan_id IS NOT NULL AS overdue"
	    " FROM plans p LEFT JOIN plan_overdue o"
	    " ON o.plan_id = p.id WHERE (? = 0 OR p.citizen_id = ?) AND"
	    " (NOT ? OR o.plan_id IS NOT NULL) AND"
	    " (? OR EXISTS (SELECT 1 FROM plan_members m WHERE"
	    "  m.plan_id = p.id AND m.contact_id = ?))"
	    " ORDER BY p.id",
	    "iiiii", citizen, citizen, (int64_t)overdue,
	    (int64_t)(c->who->role == ROLE_ADMIN), c->who->contact_id);
	if (r < 0)
		return cmd_store_fail(c, r, "plans");
	json_array_foreach(rows, i, row)
	{
		r = audit_add(
		    c, "plan.list", "ok",
		    json_integer_value(json_object_get(row, "citizen_id")),
		    json_integer_value(json_object_get(row, "id")), NULL);
		if (r < 0) {
			json_decref(rows);
			return cmd_store_fail(c, r, "audit");
		}
	}
	c->audited = true;
	return cmd_ok(c, json_pack("{s:o}", "plans", rows));
}

/* Reads the contact for membership changes: it must exist and, when it is
 * a relative or supporter, belong to this plan's citizen. */
static int member_rules(struct cmd_ctx *c, int64_t contact)
{
	json_t *row;
	const char *kind;
	int64_t citizen;
	int r = store_row(c->st, &row,
			  "SELECT kind, citizen_id FROM contacts WHERE id = ?",
			  "i", contact);

	if (r < 0)
		return cmd_store_fail(c, r, "contact");
	snprintf(c->object, sizeof(c->object), "contact:%lld",
		 (long long)contact);
	kind = json_string_value(json_object_get(row, "kind"));
	citizen = json_integer_value(json_object_get(row, "citizen_id"));
	r = 0;
	if (strcmp(kind, "professional") != 0 && citizen != c->citizen_id)
		r = cmd_fail(c, "rule",
			     "rule network: contact %lld belongs to another "
			     "citizen's network",
			     (long long)contact);
	else if (strcmp(kind, "relative") == 0)
		r = rule_consent(c, c->citizen_id, "relatives");
	json_decref(row);
	return r;
}

/* A member who joins after a version was approved gets the version in
 * force (the newest approved) at once, as those who were there got it:
 * every contact person has the plan. Adds "sent_version" (and any
 * passphrase) to REPLY. */
static int send_version_in_force(struct cmd_ctx *c, int64_t plan,
				 int64_t contact, json_t *reply)
{
	json_t *pass = NULL;
	int64_t version;
	int r = cmd_version_in_force(c, plan, &version);

	if (r == -ENOENT) /* none approved yet: nothing to send */
		return 0;
	if (r < 0)
		return cmd_store_fail(c, r, "version");
	r = distribute_version(c, plan, version, contact, &pass);
	if (r < 0)
		return -1;
	if (json_object_set_new(reply, "sent_version", json_integer(version)) <
		0 ||
	    (json_array_size(pass) &&
	     json_object_set(reply, "passphrases", pass) < 0)) {
		json_decref(pass);
		return cmd_store_fail(c, -ENOMEM, "reply");
	}
	json_decref(pass);
	return 0;
}

int cmd_plan_member_add(struct cmd_ctx *c)
{
	int64_t plan, contact;
	json_t *reply;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, "contact", true, &contact) < 0 ||
	    access_plan(c, plan, true) < 0 || member_rules(c, contact) < 0 ||
	    add_member(c, plan, contact) < 0)
		return -1;
	reply = json_pack("{s:I, s:I}", "plan", (json_int_t)plan, "contact",
			  (json_int_t)contact);
	if (!reply)
		return cmd_store_fail(c, -ENOMEM, "reply");
	if (send_version_in_force(c, plan, contact, reply) < 0) {
		json_decref(reply);
		return -1;
	}
	return cmd_ok(c, reply);
}

int cmd_plan_member_remove(struct cmd_ctx *c)
{
	int64_t plan, contact, coord;
	int r;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, "contact", true, &contact) < 0 ||
	    access_plan(c, plan, true) < 0)
		return -1;
	snprintf(c->object, sizeof(c->object), "contact:%lld",
		 (long long)contact);
	r = store_int(c->st, &coord,
		      "SELECT coordinator_id FROM plans WHERE id = ?", "i",
		      plan);
	if (r < 0)
		return cmd_store_fail(c, r, "plan");
	if (coord == contact)
		return cmd_fail(c, "rule",
				"rule coordinator: contact %lld is the plan's "
				"coordinator; choose another coordinator first",
				(long long)contact);
	r = store_exec(c->st,
		       "DELETE FROM plan_members WHERE plan_id = ?"
		       " AND contact_id = ?",
		       "ii", plan, contact);
	if (r == 0)
		return cmd_fail(c, "not_found",
				"contact %lld is not a member of plan %lld",
				(long long)contact, (long long)plan);
	if (r < 0)
		return cmd_store_fail(c, r, "member");
	/* What was on its way to them stops here. */
	r = outbox_cancel(
	    c->k,
	    &(struct outbox_scope){.plan_id = plan, .contact_id = contact},
	    "removed from the plan");
	if (r < 0)
		return cmd_store_fail(c, r, "outbox");
	return cmd_ok(c, json_pack("{s:I, s:I}", "plan", (json_int_t)plan,
				   "removed", (json_int_t)contact));
}

int cmd_plan_coordinator(struct cmd_ctx *c)
{
	int64_t plan, contact, one;
	int r;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, "contact", true, &contact) < 0 ||
	    access_plan(c, plan, true) < 0)
		return -1;
	snprintf(c->object, sizeof(c->object), "contact:%lld",
		 (long long)contact);
	if (require_professional(c, contact) < 0)
		return -1;
	r = store_int(c->st, &one,
		      "SELECT 1 FROM plan_members WHERE plan_id = ?"
		      " AND contact_id = ?",
		      "ii", plan, contact);
	if (r == -ENOENT)
		return cmd_fail(c, "rule",
				"rule coordinator: the coordinator must be a "
				"member of the plan; add contact %lld first",
				(long long)contact);
	if (r < 0)
		return cmd_store_fail(c, r, "member");
	r = store_exec(c->st,
		       "UPDATE plans SET coordinator_id = ? WHERE id = ?", "ii",
		       contact, plan);
	if (r < 0)
		return cmd_store_fail(c, r, "plan");
	return cmd_ok(c, json_pack("{s:I, s:I}", "plan", (json_int_t)plan,
				   "coordinator", (json_int_t)contact));
}
