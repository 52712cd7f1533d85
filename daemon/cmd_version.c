/* cmd_version.c — plan versions: a plan document tied to the meeting it
 * was made at, the citizen's approval, distribution state, rendering. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "access.h"
#include "clock.h"
#include "cmd.h"
#include "rowval.h"
#include "version_read.h"
#include "distribute.h"
#include "event.h"
#include "outbox.h"
#include "pdfpass.h"
#include "plandoc.h"
#include "render.h"
#include "scheduler.h"
#include "validate.h"

#define DOC_MAX_BYTES (1024 * 1024)

static const char *const approval_methods[] = {"meeting", "afterwards", "phone",
					       NULL};
static const char *const langs[] = {"da", "en", NULL};

/* The meeting a new version belongs to: the one named, or the plan's
 * latest meeting that was not cancelled. Writes its start to start. */
static int version_meeting(struct cmd_ctx *c, int64_t plan, int64_t *meeting,
			   char start[32])
{
	json_t *row;
	int r;

	if (*meeting)
		r = store_row(c->st, &row,
			      "SELECT id, starts_at, status FROM meetings"
			      " WHERE id = ? AND plan_id = ?",
			      "ii", *meeting, plan);
	else
		r = store_row(c->st, &row,
			      "SELECT id, starts_at, status FROM meetings"
			      " WHERE plan_id = ? AND status <> 'cancelled'"
			      " ORDER BY starts_at DESC LIMIT 1",
			      "i", plan);
	if (r == -ENOENT)
		return *meeting
			   ? cmd_fail(c, "not_found",
				      "meeting %lld of plan %lld not found",
				      (long long)*meeting, (long long)plan)
			   : cmd_fail(c, "rule",
				      "rule meeting: a version belongs to "
				      "a coordination meeting; schedule "
				      "one first");
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	r = strcmp(json_string_value(json_object_get(row, "status")),
		   "cancelled");
	*meeting = json_integer_value(json_object_get(row, "id"));
	snprintf(start, 32, "%s",
		 json_string_value(json_object_get(row, "starts_at")));
	json_decref(row);
	if (r == 0)
		return cmd_fail(c, "rule",
				"rule meeting: meeting %lld was cancelled",
				(long long)*meeting);
	return 0;
}

/* Rule follow-up: after the meeting, and at most N months after it. */
static int rule_follow_up(struct cmd_ctx *c, const char *meeting_start,
			  const char *follow_up)
{
	int months = c->k->cfg->follow_up_max_months, y, m, d;
	char limit[11], day[11];

	snprintf(day, sizeof(day), "%.10s", meeting_start);
	if (date_parse(day, &y, &m, &d) < 0)
		return cmd_fail(c, "internal", "meeting date unreadable");
	date_add_months(&y, &m, &d, months);
	snprintf(limit, sizeof(limit), "%04d-%02d-%02d", y, m, d);
	if (date_cmp(follow_up, day) <= 0)
		return cmd_fail(c, "rule",
				"rule follow-up: the follow-up date %s must be "
				"after the meeting (%s)",
				follow_up, day);
	if (date_cmp(follow_up, limit) > 0)
		return cmd_fail(c, "rule",
				"rule follow-up: the follow-up date %s is more "
				"than %d months after the meeting of %s "
				"(latest allowed: %s)",
				follow_up, months, day, limit);
	return 0;
}

int cmd_plan_version_add(struct cmd_ctx *c)
{
	int64_t plan, meeting = 0, version = 0, coord;
	struct plandoc *doc = NULL;
	const char *text;
	char start[32], now[32], err[512];
	int r;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, "meeting", false, &meeting) < 0 ||
	    arg_longtext(c, "document", true, DOC_MAX_BYTES, &text) < 0 ||
	    access_plan(c, plan, true) < 0 ||
	    version_meeting(c, plan, &meeting, start) < 0)
		return -1;
	if (plandoc_parse(text, strlen(text), &doc, err, sizeof(err)) < 0)
		return cmd_fail(c, "bad_request", "plan document: %s", err);
	r = rule_follow_up(c, start, doc->follow_up);
	if (r == 0) {
		r = store_int(c->st, &version,
			      "SELECT coalesce(max(version), 0) + 1 FROM"
			      " plan_versions WHERE plan_id = ?",
			      "i", plan);
		if (r == 0)
			r = store_int(c->st, &coord,
				      "SELECT coordinator_id FROM plans"
				      " WHERE id = ?",
				      "i", plan);
		store_now(now);
		if (r == 0)
			r = store_exec(
			    c->st,
			    "INSERT INTO plan_versions (plan_id, version,"
			    " meeting_id, document, follow_up,"
			    " coordinator_id, created_at, created_by)"
			    " VALUES (?,?,?,?,?,?,?,?)",
			    "iiississ", plan, version, meeting, text,
			    doc->follow_up, coord, now, c->who->user);
		if (r >= 0)
			r = event_emit(c->k, "version.created", c->citizen_id,
				       plan,
				       json_pack("{s:I, s:I}", "version",
						 (json_int_t)version, "meeting",
						 (json_int_t)meeting));
		if (r < 0)
			r = cmd_store_fail(c, r, "version");
		else
			r = 0;
	}
	plandoc_free(doc);
	if (r < 0)
		return -1;
	snprintf(c->object, sizeof(c->object), "version:%lld",
		 (long long)version);
	return cmd_ok(c, json_pack("{s:I, s:I, s:I}", "plan", (json_int_t)plan,
				   "version", (json_int_t)version, "meeting",
				   (json_int_t)meeting));
}

/* Resolves the "version" argument (default: the latest) of a plan the
 * caller may read; loads the row into *ret. */
static int load_version(struct cmd_ctx *c, const char *key, bool write,
			json_t **ret)
{
	int64_t plan, version = 0;
	int r;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, key, false, &version) < 0 ||
	    access_plan(c, plan, write) < 0)
		return -1;
	if (!version && store_int(c->st, &version,
				  "SELECT max(version) FROM plan_versions"
				  " WHERE plan_id = ? AND version IS NOT NULL",
				  "i", plan) < 0)
		version = 0;
	r = store_row(c->st, ret,
		      "SELECT plan_id AS plan, version, meeting_id, follow_up,"
		      " coordinator_id, created_at, created_by, approved_at,"
		      " approval_method, approval_recorded_by, distribution,"
		      " document FROM plan_versions"
		      " WHERE plan_id = ? AND version = ?",
		      "ii", plan, version);
	if (r == -ENOENT)
		return version ? cmd_fail(c, "not_found",
					  "plan %lld has no version %lld",
					  (long long)plan, (long long)version)
			       : cmd_fail(c, "not_found",
					  "plan %lld has no version yet",
					  (long long)plan);
	if (r < 0)
		return cmd_store_fail(c, r, "version");
	snprintf(c->object, sizeof(c->object), "version:%lld",
		 (long long)version);
	return 0;
}

int cmd_plan_version_show(struct cmd_ctx *c)
{
	json_t *row;

	if (load_version(c, "version", false, &row) < 0)
		return -1;
	return cmd_ok(c, row);
}

/* The plan document as written, or with "format" the rendered plan: what
 * a coordinator hands over by other means to a recipient kip cannot reach
 * securely. */
int cmd_plan_export(struct cmd_ctx *c)
{
	static const char *const formats[] = {"yaml", "text", "html", "pdf",
					      NULL};
	const char *fmt = "yaml", *lang = NULL;
	struct buf out = BUF_INIT;
	json_t *row, *o;
	int r;

	if (arg_choice(c, "format", false, formats, &fmt) < 0 ||
	    arg_choice(c, "lang", false, langs, &lang) < 0 ||
	    load_version(c, "version", false, &row) < 0)
		return -1;
	if (strcmp(fmt, "yaml") == 0) {
		o = json_pack("{s:O, s:O, s:O}", "plan",
			      json_object_get(row, "plan"), "version",
			      json_object_get(row, "version"), "text",
			      json_object_get(row, "document"));
		json_decref(row);
		return cmd_ok(c, o);
	}
	if (strcmp(fmt, "pdf") == 0) {
		json_t *b64 = NULL;

		r = render_version_pdf(
		    c, json_integer_value(json_object_get(row, "plan")),
		    json_integer_value(json_object_get(row, "version")),
		    lang ? lang : c->k->cfg->default_lang, &b64);
		if (r == 0)
			r = cmd_ok(c, json_pack("{s:O, s:O, s:o}", "plan",
						json_object_get(row, "plan"),
						"version",
						json_object_get(row, "version"),
						"base64", b64));
		json_decref(row);
		return r;
	}
	r = render_version(c, json_integer_value(json_object_get(row, "plan")),
			   json_integer_value(json_object_get(row, "version")),
			   strcmp(fmt, "html") == 0 ? RENDER_HTML : RENDER_TEXT,
			   lang ? lang : c->k->cfg->default_lang, &out);
	if (r == 0)
		r = cmd_ok(c, json_pack("{s:O, s:O, s:s%}", "plan",
					json_object_get(row, "plan"), "version",
					json_object_get(row, "version"), "text",
					out.data, out.len));
	json_decref(row);
	buf_free(&out);
	return r;
}

static int parse_version_doc(struct cmd_ctx *c, json_t *row,
			     struct plandoc **ret)
{
	const char *text = json_string_value(json_object_get(row, "document"));
	char err[512];

	if (plandoc_parse(text, strlen(text), ret, err, sizeof(err)) < 0)
		return cmd_fail(c, "internal",
				"stored document no longer parses: %s", err);
	return 0;
}

int cmd_plan_diff(struct cmd_ctx *c)
{
	struct plandoc *a = NULL, *b = NULL;
	json_t *ra = NULL, *rb = NULL, *o = NULL;
	struct buf out = BUF_INIT;
	int n = -1;

	if (load_version(c, "from", false, &ra) < 0 ||
	    load_version(c, "to", false, &rb) < 0)
		goto out;
	if (parse_version_doc(c, ra, &a) < 0 ||
	    parse_version_doc(c, rb, &b) < 0)
		goto out;
	n = plandoc_diff(a, b, &out);
	if (n < 0) {
		cmd_store_fail(c, n, "diff");
		goto out;
	}
	o = json_pack("{s:O, s:O, s:i, s:s}", "from",
		      json_object_get(ra, "version"), "to",
		      json_object_get(rb, "version"), "changes", n, "text",
		      out.data ? out.data : "");
out:
	plandoc_free(a);
	plandoc_free(b);
	json_decref(ra);
	json_decref(rb);
	buf_free(&out);
	return o ? cmd_ok(c, o) : -1;
}

/* REPLY with the passphrases of the encrypted PDFs (distribute.h), if
 * any: the one place the coordinator reads them besides the encrypted
 * notice. The reply is neither logged nor audited. Takes PASS. */
static json_t *with_passphrases(json_t *reply, json_t *pass)
{
	if (reply && json_array_size(pass))
		json_object_set(reply, "passphrases", pass);
	json_decref(pass);
	return reply;
}

int cmd_plan_approve(struct cmd_ctx *c)
{
	const char *how, *date = NULL;
	char now[32], today[11];
	json_t *row, *pass = NULL;
	int64_t plan, version;
	int r;

	if (arg_choice(c, "how", true, approval_methods, &how) < 0 ||
	    arg_date(c, "date", false, &date) < 0 ||
	    load_version(c, "version", true, &row) < 0)
		return -1;
	plan = json_integer_value(json_object_get(row, "plan"));
	version = json_integer_value(json_object_get(row, "version"));
	r = json_is_string(json_object_get(row, "approved_at"));
	json_decref(row);
	if (r)
		return cmd_fail(c, "conflict",
				"version %lld of plan %lld is already approved",
				(long long)version, (long long)plan);
	store_now(now);
	clock_today(today);
	r = store_exec(c->st,
		       "UPDATE plan_versions SET approved_at = ?,"
		       " approval_method = ?, approval_recorded_by = ?,"
		       " approval_recorded_at = ?, distribution = 'pending'"
		       " WHERE plan_id = ? AND version = ?",
		       "ssssii", date ? date : today, how, c->who->user, now,
		       plan, version);
	if (r < 0)
		return cmd_store_fail(c, r, "version");
	r = distribute_version(c, plan, version, 0, &pass);
	if (r < 0)
		return -1;
	if (event_emit(c->k, "version.approved", c->citizen_id, plan,
		       json_pack("{s:I, s:s, s:i}", "version",
				 (json_int_t)version, "how", how, "recipients",
				 r)) < 0) {
		json_decref(pass);
		return cmd_store_fail(c, -EIO, "event");
	}
	return cmd_ok(
	    c, with_passphrases(json_pack("{s:I, s:I, s:s, s:s, s:i}", "plan",
					  (json_int_t)plan, "version",
					  (json_int_t)version, "approved",
					  date ? date : today, "distribution",
					  "pending", "recipients", r),
				pass));
}

int cmd_plan_distribute(struct cmd_ctx *c)
{
	json_t *row, *pass = NULL;
	int64_t plan, version, only = 0;
	bool citizen = false;
	int approved, r;

	if (arg_int(c, "contact", false, &only) < 0 ||
	    arg_bool(c, "citizen", &citizen) < 0 ||
	    load_version(c, "version", true, &row) < 0)
		return -1;
	if (only < 0) {
		json_decref(row);
		return cmd_fail(c, "bad_request", "--contact %lld is no id",
				(long long)only);
	}
	if (citizen) {
		if (only) {
			json_decref(row);
			return cmd_fail(c, "bad_request",
					"--contact or --citizen, not both");
		}
		only = DISTRIBUTE_CITIZEN;
	}
	plan = json_integer_value(json_object_get(row, "plan"));
	version = json_integer_value(json_object_get(row, "version"));
	approved = json_is_string(json_object_get(row, "approved_at"));
	json_decref(row);
	if (!approved)
		return cmd_fail(c, "rule",
				"rule approval: only a version the citizen "
				"approved can be distributed; version %lld is "
				"not approved (kipctl plan approve)",
				(long long)version);
	if (only > 0 && cmd_require_member(c, plan, only, NULL) < 0)
		return -1;
	r = store_exec(c->st,
		       "UPDATE plan_versions SET distribution = 'pending'"
		       " WHERE plan_id = ? AND version = ?",
		       "ii", plan, version);
	if (r < 0)
		return cmd_store_fail(c, r, "version");
	r = distribute_version(c, plan, version, only, &pass);
	if (r < 0)
		return -1;
	return cmd_ok(
	    c, with_passphrases(json_pack("{s:I, s:I, s:s, s:i}", "plan",
					  (json_int_t)plan, "version",
					  (json_int_t)version, "distribution",
					  "pending", "recipients", r),
				pass));
}

int cmd_plan_template(struct cmd_ctx *c)
{
	const char *lang = NULL;

	if (arg_choice(c, "lang", false, langs, &lang) < 0)
		return -1;
	return cmd_ok(c, json_pack("{s:s}", "text",
				   plandoc_template(
				       lang ? lang : c->k->cfg->default_lang)));
}

/* Per version of PLAN (VERSION, or 0: all), newest first, where its copies
 * stand, one per recipient (their newest, OUTBOX_LATEST_COPY_SQL):
 * delivered (opened included), opened, sent with nothing known after,
 * handed over, bounced, still open, cancelled; and that as one line
 * ("version 3: 6 delivered, 1 opened, ..."). */
static int version_summary(struct cmd_ctx *c, int64_t plan, int64_t version,
			   json_t **ret)
{
	bool da = texts_danish(c->k->cfg);
	json_t *row;
	size_t i;
	int r = store_rows(
	    c->st, ret,
	    "SELECT version, count(*) AS copies,"
	    " sum(coalesce(delivery IN ('delivered', 'opened'), 0))"
	    "  AS delivered,"
	    " sum(coalesce(delivery = 'opened', 0)) AS opened,"
	    " sum(state = 'sent' AND delivery IS NULL) AS sent,"
	    " sum(coalesce(delivery = 'handed', 0)) AS handed,"
	    " sum(coalesce(delivery = 'bounced', 0)) AS bounced,"
	    " sum(state NOT IN ('sent', 'cancelled') AND delivery IS NULL)"
	    "  AS open,"
	    " sum(state = 'cancelled') AS cancelled"
	    " FROM outbox o WHERE plan_id = ? AND kind = 'plan'"
	    " AND " OUTBOX_LATEST_COPY_SQL
	    " AND (? = 0 OR version = ?) GROUP BY version"
	    " ORDER BY version DESC",
	    "iii", plan, version, version);

	if (r < 0)
		return r;
	json_array_foreach(*ret, i, row)
	{
		char line[200];

		snprintf(
		    line, sizeof(line),
		    da ? "version %lld: %lld leveret, %lld åbnet, %lld "
			 "sendt, %lld afvist, %lld udleveret, %lld udestående"
		       : "version %lld: %lld delivered, %lld opened, "
			 "%lld sent, %lld bounced, %lld handed, %lld open",
		    (long long)row_num(row, "version"),
		    (long long)row_num(row, "delivered"),
		    (long long)row_num(row, "opened"),
		    (long long)row_num(row, "sent"),
		    (long long)row_num(row, "bounced"),
		    (long long)row_num(row, "handed"),
		    (long long)row_num(row, "open"));
		if (json_object_set_new(row, "line", json_string(line)) < 0) {
			json_decref(*ret);
			return -ENOMEM;
		}
	}
	return 0;
}

int cmd_plan_status(struct cmd_ctx *c)
{
	int64_t plan, version = 0;
	json_t *rows, *watch, *summary;
	int r;

	if (arg_int(c, "plan", true, &plan) < 0 ||
	    arg_int(c, "version", false, &version) < 0 ||
	    access_plan(c, plan, false) < 0)
		return -1;
	r = store_rows(
	    c->st, &rows,
	    "SELECT o.id, o.kind, o.version, o.meeting_id AS meeting,"
	    " CASE WHEN o.contact_id IS NULL THEN 'citizen'"
	    "  ELSE k.kind END AS recipient_kind,"
	    " coalesce(k.name, c.name) AS name, o.recipient,"
	    /* an encrypted PDF waits for its passphrase's hand-over */
	    " CASE WHEN o.pdf AND o.state = 'sent' AND"
	    "  coalesce(o.delivery, '') <> 'handed' THEN 'sent (pdf)'"
	    "  ELSE o.state END AS state, o.cipher, o.attempts,"
	    /* encrypted to an organisation certificate (orgcert.h) */
	    " o.cert_domain, CASE WHEN o.pdf AND o.state = 'sent' AND"
	    "  coalesce(o.delivery, '') <> 'handed' THEN 'sent (pdf)'"
	    "  ELSE o.state || CASE WHEN o.cert_domain IS NOT NULL"
	    "  THEN ' (organisation certificate ' || o.cert_domain || ')'"
	    "  ELSE '' END END AS status,"
	    " o.reason, o.last_reply,"
	    " datetime(o.updated_at, 'unixepoch') || 'Z' AS updated,"
	    " datetime(o.sent_at, 'unixepoch') || 'Z' AS sent,"
	    /* what became of it after the relay took it (schema 8) */
	    " o.delivery, o.delivery_status, o.delivery_detail,"
	    " datetime(o.delivery_at, 'unixepoch') || 'Z' AS delivery_at,"
	    " o.reports, CASE WHEN o.kind = 'plan' AND "
	    "NOT " OUTBOX_LATEST_COPY_SQL
	    " THEN 'sent again later: the newer copy"
	    " counts'"
	    "  WHEN o.pdf AND o.state = 'sent' AND"
	    "  coalesce(o.delivery, '') <> 'handed' AND " PDFPASS_GONE_SQL
	    "  THEN 'passphrase deleted: send it again (plan distribute"
	    " --contact or --citizen)'"
	    "  WHEN o.reports = 'none' AND o.delivery IS NULL"
	    "  THEN 'relay gives no reports' END AS note"
	    " FROM outbox o LEFT JOIN contacts k"
	    " ON k.id = o.contact_id LEFT JOIN citizens c"
	    " ON c.id = o.citizen_id AND o.contact_id IS NULL"
	    " WHERE o.plan_id = ? AND (? = 0 OR o.version = ?)"
	    " ORDER BY o.id",
	    "iii", plan, version, version);
	if (r < 0)
		return cmd_store_fail(c, r, "status");
	r = version_summary(c, plan, version, &summary);
	if (r < 0) {
		json_decref(rows);
		return cmd_store_fail(c, r, "status");
	}
	r = scheduler_watch(c->k, plan, &watch);
	if (r < 0) {
		json_decref(rows);
		json_decref(summary);
		return cmd_store_fail(c, r, "status");
	}
	return cmd_ok(c, json_pack("{s:I, s:o, s:o, s:o}", "plan",
				   (json_int_t)plan, "follow_up", watch,
				   "versions", summary, "messages", rows));
}
