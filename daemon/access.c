/* access.c — who may touch what, and the consent rule every change obeys.
 *
 * Admins see everything. Everyone else acts as one contact and sees a
 * citizen only through a plan of which that contact is a member (or a
 * citizen they registered themselves and have not yet made a plan for).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "access.h"
#include "cmd.h"

bool consent_in_force(struct store *st, int64_t citizen_id, const char *scope)
{
	char *action = NULL;
	bool active;

	if (store_text(st, &action,
		       "SELECT action FROM consents WHERE citizen_id = ?"
		       " AND scope = ? ORDER BY id DESC LIMIT 1",
		       "is", citizen_id, scope) < 0)
		return false;
	active = action && strcmp(action, "given") == 0;
	free(action);
	/* Involving relatives rests on the consent to the plan itself. */
	if (active && strcmp(scope, "relatives") == 0)
		active = consent_in_force(st, citizen_id, "plan");
	return active;
}

bool consent_active(struct cmd_ctx *c, int64_t citizen_id, const char *scope)
{
	return consent_in_force(c->st, citizen_id, scope);
}

int rule_consent(struct cmd_ctx *c, int64_t citizen_id, const char *scope)
{
	char *date = NULL;
	int r;

	if (consent_active(c, citizen_id, scope))
		return 0;
	r = store_text(c->st, &date,
		       "SELECT date FROM consents WHERE citizen_id = ?"
		       " AND scope = ? AND action = 'withdrawn'"
		       " ORDER BY id DESC LIMIT 1",
		       "is", citizen_id, scope);
	if (strcmp(scope, "relatives") == 0)
		r = cmd_fail(c, "rule",
			     "rule consent-relatives: citizen %lld has not "
			     "consented to involving relatives%s%s",
			     (long long)citizen_id,
			     r == 0 ? "; consent was withdrawn on " : "",
			     r == 0 && date ? date : "");
	else if (r == 0)
		r = cmd_fail(c, "rule",
			     "rule consent: citizen %lld withdrew consent on "
			     "%s; all work on the citizen's plans is stopped "
			     "until consent is given again",
			     (long long)citizen_id, date ? date : "?");
	else
		r = cmd_fail(c, "rule",
			     "rule consent: citizen %lld has not consented to "
			     "exchanging information and making a plan; "
			     "record it first (kipctl consent give)",
			     (long long)citizen_id);
	free(date);
	return r;
}

int access_citizen(struct cmd_ctx *c, int64_t citizen_id)
{
	int64_t one;
	int r;

	r = store_int(c->st, &one, "SELECT 1 FROM citizens WHERE id = ?", "i",
		      citizen_id);
	if (r < 0)
		return cmd_store_fail(c, r, "citizen");
	c->citizen_id = citizen_id;
	if (c->who->role == ROLE_ADMIN)
		return 0;
	r = store_int(c->st, &one,
		      "SELECT 1 FROM plans p JOIN plan_members m"
		      " ON m.plan_id = p.id"
		      " WHERE p.citizen_id = ? AND m.contact_id = ?"
		      " UNION ALL SELECT 1 FROM citizens"
		      " WHERE id = ? AND created_by = ? LIMIT 1",
		      "iiis", citizen_id, c->who->contact_id, citizen_id,
		      c->who->user);
	if (r == -ENOENT)
		return cmd_fail(c, "forbidden",
				"you are not a member of any plan of citizen "
				"%lld",
				(long long)citizen_id);
	return r < 0 ? cmd_store_fail(c, r, "citizen") : 0;
}

int access_plan(struct cmd_ctx *c, int64_t plan_id, bool write)
{
	json_t *plan;
	int64_t one;
	int r;

	r = store_row(c->st, &plan,
		      "SELECT citizen_id, status FROM plans WHERE id = ?", "i",
		      plan_id);
	if (r < 0)
		return cmd_store_fail(c, r, "plan");
	c->plan_id = plan_id;
	c->citizen_id = json_integer_value(json_object_get(plan, "citizen_id"));
	r = strcmp(json_string_value(json_object_get(plan, "status")),
		   "active");
	json_decref(plan);
	if (c->who->role != ROLE_ADMIN) {
		int m = store_int(c->st, &one,
				  "SELECT 1 FROM plan_members WHERE"
				  " plan_id = ? AND contact_id = ?",
				  "ii", plan_id, c->who->contact_id);
		if (m == -ENOENT)
			return cmd_fail(c, "forbidden",
					"you are not a member of plan %lld",
					(long long)plan_id);
		if (m < 0)
			return cmd_store_fail(c, m, "plan");
	}
	if (!write)
		return 0;
	if (r != 0)
		return cmd_fail(c, "rule", "rule closed: plan %lld is closed",
				(long long)plan_id);
	return rule_consent(c, c->citizen_id, "plan");
}
