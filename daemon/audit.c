/* audit.c — the audit trail: who did what to which citizen's data, and
 * when. Entries carry ids only; they are never changed or deleted. */
#include <stdio.h>

#include "cmd.h"

int audit_add(struct cmd_ctx *c, const char *action, const char *outcome,
	      int64_t citizen_id, int64_t plan_id, const char *object)
{
	char now[32];
	int r;

	store_now(now);
	r = store_exec(c->st,
		       "INSERT INTO audit (at, os_user, uid, role, action,"
		       " outcome, citizen_id, plan_id, object)"
		       " VALUES (?, ?, ?, ?, ?, ?, NULLIF(?, 0), NULLIF(?, 0),"
		       " NULLIF(?, ''))",
		       "ssisssiis", now, c->who->user,
		       (int64_t)c->who->uid, role_name(c->who->role), action,
		       outcome, citizen_id, plan_id, object ? object : "");
	return r < 0 ? r : 0;
}

HANDLER(cmd_audit_list)
{
	int64_t citizen, limit = 1000;
	json_t *rows;
	int r;

	if (arg_int(c, "citizen", true, &citizen) < 0 ||
	    arg_int(c, "limit", false, &limit) < 0 ||
	    access_citizen(c, citizen) < 0)
		return -1;
	r = store_rows(c->st, &rows,
		       "SELECT id, at, os_user, role, action, outcome,"
		       " citizen_id, plan_id, object FROM audit"
		       " WHERE citizen_id = ? ORDER BY id DESC LIMIT ?",
		       "ii", citizen, limit);
	if (r < 0)
		return cmd_store_fail(c, r, "audit");
	return cmd_ok(c, json_pack("{s:I, s:o}", "citizen", (json_int_t)citizen,
				   "entries", rows));
}

HANDLER(cmd_audit_verify)
{
	return cmd_fail(c, "internal", "audit verify: not built yet");
}
