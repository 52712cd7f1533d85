/* cmd_audit.c — the audit commands: a citizen's trail, and the check of
 * the whole chain (audit.c holds the trail itself). */
#include <inttypes.h>
#include <stdio.h>

#include "audit.h"
#include "access.h"
#include "cmd.h"
#include "store.h"

/* Whether CITIZEN was erased (and is not a citizen now). */
static bool was_erased(struct cmd_ctx *c, int64_t citizen)
{
	int64_t one;

	return store_int(c->st, &one,
			 "SELECT 1 FROM erasures WHERE citizen_id = ? AND NOT"
			 " EXISTS (SELECT 1 FROM citizens WHERE id = ?)",
			 "ii", citizen, citizen) == 0;
}

/* The trail of a citizen the caller may see; an administrator also reads
 * that of an erased one by the former id: the pseudonymous entries of who
 * read and changed the data outlive it (erase.h), for the administrator
 * and the data-protection officer. */
int cmd_audit_list(struct cmd_ctx *c)
{
	int64_t citizen, limit = 1000;
	bool erased = false;
	json_t *rows;
	int r;

	if (arg_int(c, "citizen", true, &citizen) < 0 ||
	    arg_int(c, "limit", false, &limit) < 0)
		return -1;
	if (c->who->role == ROLE_ADMIN && was_erased(c, citizen)) {
		erased = true;
		c->citizen_id = citizen;
	} else if (access_citizen(c, citizen) < 0) {
		return -1;
	}
	r = store_rows(c->st, &rows,
		       "SELECT id, at, os_user, role, action, outcome,"
		       " citizen_id, plan_id, object FROM audit"
		       " WHERE citizen_id = ? ORDER BY id DESC LIMIT ?",
		       "ii", citizen, limit);
	if (r < 0)
		return cmd_store_fail(c, r, "audit");
	return cmd_ok(c, json_pack("{s:I, s:b, s:o}", "citizen",
				   (json_int_t)citizen, "erased", erased,
				   "entries", rows));
}

/*
 * audit.verify: recomputes the whole chain. An intact trail is the reply
 *   {"entries": N, "unchained": U, "ok": true, "problems": [],
 *    "head": {"id": I, "hash": H}}
 * where head is what to keep elsewhere to catch a trail cut short or
 * rehashed. A broken trail is an error reply, code "rule" (so kipctl exits
 * non-zero and a cron job notices): "rule audit: audit trail broken at
 * entry N: <the first problem>", with the count and the ids of the next
 * few; kipd's log lists each of the first MAX_PROBLEMS problems.
 */
int cmd_audit_verify(struct cmd_ctx *c)
{
	json_t *rep = NULL, *list, *first;
	char more[160] = "";
	size_t len = 0, skip;
	int64_t problems;
	int r = audit_verify(c->st, &rep);

	if (r < 0)
		return cmd_store_fail(c, r, "audit");
	list = json_object_get(rep, "list");
	first = json_object_get(rep, "first");
	problems = json_integer_value(json_object_get(rep, "problems"));
	if (problems == 0) {
		r = cmd_ok(c, json_pack("{s:O, s:O, s:b, s:O, s:O}", "entries",
					json_object_get(rep, "entries"),
					"unchained",
					json_object_get(rep, "unchained"), "ok",
					1, "problems", list, "head",
					json_object_get(rep, "head")));
		json_decref(rep);
		return r;
	}
	skip = (size_t)json_integer_value(json_object_get(first, "index"));
	for (size_t k = 0, shown = 0; k < json_array_size(list) && shown < 5;
	     k++) {
		int n;

		if (k == skip)
			continue;
		n = snprintf(more + len, sizeof(more) - len, "%s%" PRId64,
			     shown++ ? ", " : "; also at ",
			     (int64_t)json_integer_value(json_object_get(
				 json_array_get(list, k), "id")));
		if (n < 0 || (size_t)n >= sizeof(more) - len)
			break;
		len += (size_t)n;
	}
	r = cmd_fail(
	    c, "rule",
	    "rule audit: audit trail broken at entry %" PRId64 ": %s (%" PRId64
	    " problem%s in %" PRId64 " entries%s%s; kipd's log lists them)",
	    (int64_t)json_integer_value(json_object_get(first, "id")),
	    json_string_value(json_object_get(first, "problem")), problems,
	    problems == 1 ? "" : "s",
	    (int64_t)json_integer_value(json_object_get(rep, "entries")), more,
	    problems > 6 ? ", …" : "");
	json_decref(rep);
	return r;
}
