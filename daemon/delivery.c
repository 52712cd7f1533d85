/* delivery.c — see delivery.h. */
#include "delivery.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "distribute.h"
#include "event.h"
#include "ireport.h"
#include "kipd.h"
#include "log.h"
#include "outbox.h"
#include "rowval.h"
#include "store.h"

#define UNKNOWN "report-unknown-message"
#define HEADERS "report-headers-mismatch"
#define RECIPIENT "report-recipient-mismatch"

/* The row whose Message-ID is <ID>, or 0. */
static int64_t by_message_id(struct kipd *k, const char *id)
{
	char msgid[300];
	int64_t row = 0;

	snprintf(msgid, sizeof(msgid), "<%s>", id);
	if (store_int(k->store, &row,
		      "SELECT id FROM outbox WHERE message_id = ?", "s",
		      msgid) < 0)
		return 0;
	return row;
}

/* The row whose Message-ID's local part is ENVID ("kip.ID.RANDOM"), or
 * 0: the id is read from it, and the whole of it compared. */
static int64_t by_envelope_id(struct kipd *k, const char *envid)
{
	const char *p = envid + 4;
	int64_t id = 0, row = 0;
	char *msgid = NULL;
	size_t n = strlen(envid);

	if (strncmp(envid, "kip.", 4) != 0)
		return 0;
	for (; *p >= '0' && *p <= '9' && id < INT64_MAX / 10 - 9; p++)
		id = id * 10 + (*p - '0');
	if (p == envid + 4 || *p != '.' || id <= 0)
		return 0;
	if (store_text(k->store, &msgid,
		       "SELECT message_id FROM outbox WHERE id = ?", "i",
		       id) == 0 &&
	    msgid && msgid[0] == '<' && strncmp(msgid + 1, envid, n) == 0 &&
	    msgid[n + 1] == '@')
		row = id;
	free(msgid);
	return row;
}

/* REP's addresses for one recipient match the message's TO. */
static bool same_recipient(const struct ireport_rcpt *rc, const char *to)
{
	return to &&
	       ((rc->final_rcpt[0] && !strcasecmp(rc->final_rcpt, to)) ||
		(rc->original_rcpt[0] && !strcasecmp(rc->original_rcpt, to)));
}

static int refuse(const char **ret_reason, const char *reason, char *detail,
		  size_t len, const char *what)
{
	*ret_reason = reason;
	snprintf(detail, len, "%s", what);
	return -ENOENT;
}

int delivery_match(struct kipd *k, const struct ireport *rep, int64_t *ret_row,
		   const char **ret_reason, char *detail, size_t len)
{
	bool dsn = rep->kind == IREPORT_DSN;
	const char *named = dsn ? rep->envid : rep->original_id;
	const char *field =
	    dsn ? "Original-Envelope-Id" : "Original-Message-ID";
	int64_t a = 0, b = 0, row;
	json_t *o = NULL;
	char what[200];
	int r;

	if (!named[0] && !rep->returned_id[0]) {
		snprintf(what, sizeof(what),
			 "the report names no message (no %s and no returned "
			 "headers)",
			 field);
		return refuse(ret_reason, UNKNOWN, detail, len, what);
	}
	if (named[0])
		a = dsn ? by_envelope_id(k, named) : by_message_id(k, named);
	if (rep->returned_id[0])
		b = by_message_id(k, rep->returned_id);
	if (named[0] && rep->returned_id[0] && a != b && (a || b)) {
		snprintf(what, sizeof(what),
			 "the returned headers name another message than the "
			 "%s",
			 field);
		return refuse(ret_reason, HEADERS, detail, len, what);
	}
	row = a ? a : b;
	if (!row)
		return refuse(ret_reason, UNKNOWN, detail, len,
			      "the report names a message kip did not send");
	r = store_row(k->store, &o,
		      "SELECT state, recipient FROM outbox WHERE id = ?", "i",
		      row);
	if (r < 0) {
		*ret_reason = "refused";
		snprintf(detail, len, "cannot read message %lld: %s",
			 (long long)row, strerror(-r));
		return r == -ENOENT ? -EIO : r;
	}
	if (strcmp(row_str(o, "state"), "sent") != 0) {
		snprintf(what, sizeof(what),
			 "the report names message %lld, which is %s, not sent",
			 (long long)row, row_str(o, "state"));
		json_decref(o);
		return refuse(ret_reason, UNKNOWN, detail, len, what);
	}
	for (int i = 0; i < rep->n; i++) {
		if (same_recipient(&rep->rcpt[i], row_str(o, "recipient")))
			continue;
		snprintf(what, sizeof(what),
			 "recipient %d of the report is not the recipient of "
			 "message %lld",
			 i + 1, (long long)row);
		json_decref(o);
		return refuse(ret_reason, RECIPIENT, detail, len, what);
	}
	json_decref(o);
	*ret_row = row;
	return 0;
}

/* What one recipient of a DSN says: the delivery, or NULL (relayed). */
static const char *dsn_delivery(enum ireport_action a)
{
	switch (a) {
	case IREPORT_FAILED:
		return "bounced";
	case IREPORT_DELAYED:
		return "delayed";
	case IREPORT_DELIVERED:
	case IREPORT_EXPANDED:
		return "delivered";
	default:
		return NULL;
	}
}

/* The message became bounced: the coordinator is told, the event goes. */
static int bounced(struct kipd *k, int64_t row)
{
	json_t *o = NULL, *data;
	int r = store_row(k->store, &o,
			  "SELECT kind, citizen_id, plan_id, version,"
			  " delivery_status FROM outbox WHERE id = ?",
			  "i", row);

	if (r < 0)
		return r;
	log_notice("delivery: message %lld bounced (status %s)", (long long)row,
		   row_str(o, "delivery_status") ? row_str(o, "delivery_status")
						 : "-");
	data = json_pack("{s:I, s:s}", "message", (json_int_t)row, "kind",
			 row_str(o, "kind"));
	if (data && row_num(o, "version"))
		json_object_set_new(data, "version",
				    json_integer(row_num(o, "version")));
	r = data ? event_emit(k, "message.bounced", row_num(o, "citizen_id"),
			      row_num(o, "plan_id"), data)
		 : -ENOMEM;
	if (r == 0)
		r = distribute_bounce_notice(k, row);
	json_decref(o);
	return r;
}

int delivery_record(struct kipd *k, int64_t row, const struct ireport *rep)
{
	int64_t now = clock_now();
	char *now_is = NULL;
	int r = 0, changed = 0;

	for (int i = 0; r >= 0 && i < rep->n; i++) {
		const struct ireport_rcpt *rc = &rep->rcpt[i];
		const char *d, *status, *detail;

		if (rep->kind == IREPORT_MDN) {
			d = rep->disposition == IREPORT_DISPLAYED ? "opened"
								  : "delivered";
			status = ireport_disposition_name(rep->disposition);
			detail = rep->mode;
		} else {
			d = dsn_delivery(rc->action);
			status = rc->status;
			detail = rc->diagnostic[0] ? rc->diagnostic : NULL;
		}
		if (!d)
			continue;
		r = outbox_delivery(k, row, d, status, detail, now);
		if (r > 0)
			changed = 1;
	}
	if (r < 0)
		return r;
	if (!changed) {
		log_info("delivery: message %lld: a report that adds nothing",
			 (long long)row);
		return 0;
	}
	r = store_text(k->store, &now_is,
		       "SELECT delivery FROM outbox WHERE id = ?", "i", row);
	if (r == 0 && now_is && strcmp(now_is, "bounced") == 0)
		r = bounced(k, row);
	else if (r == 0)
		log_info("delivery: message %lld %s", (long long)row,
			 now_is ? now_is : "-");
	free(now_is);
	return r < 0 ? r : 1;
}
