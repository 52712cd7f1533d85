/* cmd_outbox.c — the outbox for an operator (admins): what waits and why,
 * how many in each state, a message sent now rather than at its next
 * back-off, and a message cancelled (docs/OPERATIONS.md, "The queue").
 * Only outbox.c writes the outbox: a retry goes through outbox_retry(), a
 * cancel through outbox_cancel(), the one way every decision stops mail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "clock.h"
#include "cmd.h"
#include "outbox.h"
#include "rowval.h"
#include "store.h"
#include "validate.h"

#define LIST_LIMIT 100	    /* rows shown without --limit */
#define LIST_LIMIT_MAX 1000 /* and at most */
#define REASON_MAX 200	    /* bytes of an administrator's reason */

/* The states of a row (the CHECK of schema.c), and what outbox list
 * accepts: one of them, or "all". Without --state it lists the queue:
 * what kipd will still try to send. */
static const char *const states[] = {"queued", "sending", "deferred",
				     "sent",   "failed",  "cancelled",
				     "manual", "all",	  NULL};
#define N_STATES 7
static const char *const queue[] = {"queued", "sending", "deferred"};

/* The columns of outbox list. The rows are those whose state is one of
 * ?1..?7 (LIST_STATES, through outbox_by_state), of plan ?10 when there
 * is one (through outbox_by_plan); ?8 is the limit, ?9 the offset. A
 * contact is one look-up by its key. Who a row is for is a kind, never a
 * name: the contact's kind, the citizen's own, or "admin" for a notice
 * to an administrator's address (no contact, no citizen). */
#define LIST_SELECT                                                            \
	"SELECT o.id, o.plan_id AS plan, o.version, o.kind,"                   \
	" CASE WHEN o.contact_id IS NOT NULL THEN coalesce(k.kind, 'contact')" \
	"  WHEN o.citizen_id IS NOT NULL THEN 'citizen' ELSE 'admin' END"      \
	" AS recipient_kind, o.recipient, o.state, o.delivery, o.attempts,"    \
	" CASE WHEN o.state IN ('queued', 'deferred')"                         \
	"  THEN strftime('%Y-%m-%dT%H:%M:%SZ',"                                \
	"  max(o.next_attempt_at, o.created_at), 'unixepoch') END"             \
	" AS next_attempt, o.reason, o.last_reply,"                            \
	" strftime('%Y-%m-%dT%H:%M:%SZ', o.created_at, 'unixepoch')"           \
	" AS created, o.citizen_id"                                            \
	" FROM outbox o LEFT JOIN contacts k ON k.id = o.contact_id"
#define LIST_STATES " WHERE o.state IN (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
/* Every state: in the order of the key, no index and no sort, so a page
 * costs its offset and limit, not the whole history. */
#define LIST_ANY_STATE " WHERE +o.state IN (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
#define LIST_ORDER " ORDER BY o.id LIMIT ?8 OFFSET ?9"
#define COUNT_SELECT                                                           \
	"SELECT count(*) FROM outbox o"                                        \
	" WHERE o.state IN (?1, ?2, ?3, ?4, ?5, ?6, ?7)"

/* The states the list shows, seven of them (repeated to fill the IN). */
static void list_states(const char *state, const char *ret[N_STATES])
{
	for (size_t i = 0; i < N_STATES; i++)
		ret[i] = !state			     ? queue[i % 3]
			 : strcmp(state, "all") == 0 ? states[i]
						     : state;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Every citizen whose messages ROWS shows is a read of that citizen's
 * data (the addresses, what went to whom): one audit entry each, as
 * citizen list writes. The citizen's id leaves the rows. */
static int audit_citizens(struct cmd_ctx *c, json_t *rows, bool audit)
{
	size_t n = 0, i;
	int64_t *ids = calloc(json_array_size(rows) + 1, sizeof(*ids));
	json_t *row;
	int r = 0;

	if (!ids)
		return -ENOMEM;
	json_array_foreach(rows, i, row)
	{
		if (row_num(row, "citizen_id"))
			ids[n++] = row_num(row, "citizen_id");
		json_object_del(row, "citizen_id");
	}
	qsort(ids, n, sizeof(*ids), cmp_id);
	for (i = 0; audit && i < n && r >= 0; i++)
		if (i == 0 || ids[i] != ids[i - 1])
			r = audit_add(c, "outbox.list", "ok", ids[i], 0, NULL);
	free(ids);
	c->audited = c->audited || audit;
	return r;
}

int cmd_outbox_list(struct cmd_ctx *c)
{
	int64_t plan = 0, limit = LIST_LIMIT, offset = 0, total = 0;
	const char *state = NULL, *s[N_STATES];
	json_t *rows;
	int r;

	if (arg_choice(c, "state", false, states, &state) < 0 ||
	    arg_int(c, "plan", false, &plan) < 0 ||
	    arg_int(c, "limit", false, &limit) < 0 ||
	    arg_int(c, "offset", false, &offset) < 0)
		return -1;
	if (limit < 1 || limit > LIST_LIMIT_MAX)
		return cmd_fail(c, "bad_request",
				"argument 'limit' must be 1 to %d",
				LIST_LIMIT_MAX);
	/* A plan's rows are a read of the plan: its audit entry is the
	 * dispatcher's, with the plan and its citizen. */
	if (plan && access_plan(c, plan, false) < 0)
		return -1;
	list_states(state, s);
	if (plan)
		r = store_int(c->st, &total, COUNT_SELECT " AND o.plan_id = ?8",
			      "sssssssi", s[0], s[1], s[2], s[3], s[4], s[5],
			      s[6], plan);
	else
		r = store_int(c->st, &total, COUNT_SELECT, "sssssss", s[0],
			      s[1], s[2], s[3], s[4], s[5], s[6]);
	if (r < 0)
		return cmd_store_fail(c, r, "outbox");
	if (plan)
		r = store_rows(c->st, &rows,
			       LIST_SELECT LIST_STATES
			       " AND o.plan_id = ?10" LIST_ORDER,
			       "sssssssiii", s[0], s[1], s[2], s[3], s[4], s[5],
			       s[6], limit, offset, plan);
	else if (state && strcmp(state, "all") == 0)
		r = store_rows(c->st, &rows,
			       LIST_SELECT LIST_ANY_STATE LIST_ORDER,
			       "sssssssii", s[0], s[1], s[2], s[3], s[4], s[5],
			       s[6], limit, offset);
	else
		r = store_rows(c->st, &rows, LIST_SELECT LIST_STATES LIST_ORDER,
			       "sssssssii", s[0], s[1], s[2], s[3], s[4], s[5],
			       s[6], limit, offset);
	if (r < 0)
		return cmd_store_fail(c, r, "outbox");
	r = audit_citizens(c, rows, !plan);
	if (r < 0) {
		json_decref(rows);
		return cmd_store_fail(c, r, "audit");
	}
	return cmd_ok(c, json_pack("{s:s, s:I, s:I, s:I, s:o}", "state",
				   state ? state : "queued, sending, deferred",
				   "total", (json_int_t)total, "limit",
				   (json_int_t)limit, "offset",
				   (json_int_t)offset, "messages", rows));
}

int cmd_outbox_counts(struct cmd_ctx *c)
{
	static const char *const deliveries[] = {
	    "delivered", "delayed", "bounced", "opened", "handed", NULL};
	json_t *rows = NULL, *row, *by_state, *by_delivery, *oldest = NULL, *n;
	int64_t total = 0;
	size_t i;
	int r;

	/* One pass over outbox_by_state (state, delivery), which holds
	 * every column it needs; the oldest waiting rows through it too. */
	r = store_rows(c->st, &rows,
		       "SELECT state, delivery, count(*) AS n FROM outbox"
		       " GROUP BY state, delivery",
		       NULL);
	if (r >= 0)
		r = store_row(
		    c->st, &oldest,
		    "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', min(CASE WHEN"
		    " state = 'queued' THEN created_at END), 'unixepoch')"
		    " AS oldest_queued, max(0, ?1 - min(CASE WHEN"
		    " state = 'queued' THEN created_at END))"
		    " AS oldest_queued_age_s,"
		    " strftime('%Y-%m-%dT%H:%M:%SZ', min(CASE WHEN"
		    " state = 'deferred' THEN created_at END), 'unixepoch')"
		    " AS oldest_deferred, max(0, ?1 - min(CASE WHEN"
		    " state = 'deferred' THEN created_at END))"
		    " AS oldest_deferred_age_s"
		    " FROM outbox WHERE state IN ('queued', 'deferred')",
		    "i", (int64_t)clock_now());
	if (r < 0) {
		json_decref(rows);
		return cmd_store_fail(c, r, "outbox");
	}
	by_state = json_object();
	by_delivery = json_object();
	for (i = 0; i < N_STATES; i++)
		json_object_set_new(by_state, states[i], json_integer(0));
	for (i = 0; deliveries[i]; i++)
		json_object_set_new(by_delivery, deliveries[i],
				    json_integer(0));
	json_array_foreach(rows, i, row)
	{
		total += row_num(row, "n");
		n = json_object_get(by_state, row_str(row, "state"));
		if (n)
			json_integer_set(n, json_integer_value(n) +
						row_num(row, "n"));
		n = row_str(row, "delivery")
			? json_object_get(by_delivery, row_str(row, "delivery"))
			: NULL;
		if (n)
			json_integer_set(n, json_integer_value(n) +
						row_num(row, "n"));
	}
	json_decref(rows);
	rows = json_pack("{s:I, s:o, s:o}", "total", (json_int_t)total,
			 "states", by_state, "delivery", by_delivery);
	if (rows && json_object_update(rows, oldest) < 0) {
		json_decref(rows);
		rows = NULL;
	}
	json_decref(oldest);
	return cmd_ok(c, rows);
}

/* Reads message ID's state and what its audit entry names: the row, its
 * citizen and plan (ids only). *ret_state is malloc'd. */
static int load_message(struct cmd_ctx *c, int64_t id, char **ret_state)
{
	json_t *row;
	int r = store_row(c->st, &row,
			  "SELECT state, citizen_id, plan_id FROM outbox"
			  " WHERE id = ?",
			  "i", id);

	if (r == -ENOENT)
		return cmd_fail(c, "not_found",
				"message %lld not found (kipctl outbox list)",
				(long long)id);
	if (r < 0)
		return cmd_store_fail(c, r, "outbox");
	c->citizen_id = row_num(row, "citizen_id");
	c->plan_id = row_num(row, "plan_id");
	snprintf(c->object, sizeof(c->object), "outbox:%lld", (long long)id);
	*ret_state = strdup(row_str(row, "state"));
	json_decref(row);
	return *ret_state ? 0 : cmd_store_fail(c, -ENOMEM, "outbox");
}

/* What the operator should know with a result: nothing is sent at all
 * while smtp.url is unset. */
static json_t *send_warnings(struct cmd_ctx *c)
{
	return outbox_sends(c->k)
		   ? json_array()
		   : json_pack("[s]", "smtp.url is not set: kipd sends no "
				      "mail, and the messages stay queued");
}

/* Refuses, with STATE's words, a message that is not in one of the
 * NULL-terminated states OK (and frees STATE). */
static int require_state(struct cmd_ctx *c, int64_t id, char *state,
			 const char *const *ok, const char *what)
{
	for (size_t i = 0; state && ok[i]; i++)
		if (strcmp(state, ok[i]) == 0) {
			free(state);
			return 0;
		}
	cmd_fail(c, "conflict", "message %lld is %s; %s", (long long)id,
		 state ? state : "unknown", what);
	free(state);
	return -1;
}

int cmd_outbox_retry(struct cmd_ctx *c)
{
	static const char *const waiting[] = {"queued", "deferred", NULL};
	bool all = false;
	int64_t id = 0;
	char *state = NULL;
	int given, n;

	given = arg_int(c, "id", false, &id);
	if (given < 0 || arg_bool(c, "all_deferred", &all) < 0)
		return -1;
	if ((given == 1) == all)
		return cmd_fail(c, "bad_request",
				"name one message (ID) or --all-deferred, "
				"not both");
	if (!all && (load_message(c, id, &state) < 0 ||
		     require_state(c, id, state, waiting,
				   "only a deferred or queued message can be "
				   "retried") < 0))
		return -1;
	n = outbox_retry(c->k, all ? 0 : id);
	if (n < 0)
		return cmd_store_fail(c, n, "outbox");
	if (all)
		snprintf(c->object, sizeof(c->object), "outbox:all-deferred:%d",
			 n);
	return cmd_ok(c, json_pack("{s:i, s:o}", "retried", n, "warnings",
				   send_warnings(c)));
}

int cmd_outbox_cancel(struct cmd_ctx *c)
{
	static const char *const unsent[] = {"queued", "deferred", "sending",
					     NULL};
	const char *text;
	char *state = NULL, reason[REASON_MAX + 32];
	json_t *row = NULL;
	int64_t id;
	int r;

	if (arg_int(c, "id", true, &id) < 0 ||
	    arg_text(c, "reason", true, REASON_MAX, &text) < 0 ||
	    load_message(c, id, &state) < 0 ||
	    require_state(c, id, state, unsent,
			  "only a message not yet sent (queued, deferred or "
			  "being sent) can be cancelled") < 0)
		return -1;
	/* The reason stays with the row, which kipd's log names too. */
	if (text_has_email_or_cpr(text))
		return cmd_fail(c, "bad_request",
				"the reason is kept with the message and shown "
				"in kipd's log: say why without an e-mail "
				"address or a CPR number");
	snprintf(reason, sizeof(reason), "by an administrator: %s", text);
	r = outbox_cancel(c->k, &(struct outbox_scope){.id = id}, reason);
	if (r >= 0)
		r = store_row(c->st, &row,
			      "SELECT id, state, reason FROM outbox"
			      " WHERE id = ?",
			      "i", id);
	if (r < 0)
		return cmd_store_fail(c, r, "outbox");
	/* Past its final dot a transfer cannot be called back: the server
	 * decides, and the row ends sent or cancelled (outbox.h). */
	if (strcmp(row_str(row, "state"), "sending") == 0)
		json_object_set_new(row, "note",
				    json_string("the server had the whole "
						"message already; it ends sent "
						"or cancelled as the server "
						"answers"));
	return cmd_ok(c, row);
}
