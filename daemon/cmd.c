/* cmd.c — request dispatch: parse, identify, authorise, run the handler in
 * one transaction, audit, reply. The command table is the list of
 * everything kipctl can ask; docs/PROTOCOL.md describes each entry. */
#include "cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cert.h"
#include "cipher.h"
#include "clock.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "rowval.h"
#include "txn.h"
#include "validate.h"

enum { CMD_READ = 0, CMD_WRITE = 1 };

struct command {
	const char *name;
	int (*fn)(struct cmd_ctx *c);
	enum kip_role min_role;
	int flags;
};

static const struct command commands[] = {
    {"whoami", cmd_whoami, ROLE_PROFESSIONAL, CMD_READ},
    {"citizen.add", cmd_citizen_add, ROLE_COORDINATOR, CMD_WRITE},
    {"citizen.show", cmd_citizen_show, ROLE_PROFESSIONAL, CMD_READ},
    {"citizen.list", cmd_citizen_list, ROLE_PROFESSIONAL, CMD_READ},
    {"citizen.update", cmd_citizen_update, ROLE_COORDINATOR, CMD_WRITE},
    {"consent.give", cmd_consent_give, ROLE_COORDINATOR, CMD_WRITE},
    {"consent.withdraw", cmd_consent_withdraw, ROLE_COORDINATOR, CMD_WRITE},
    {"consent.show", cmd_consent_show, ROLE_PROFESSIONAL, CMD_READ},
    {"contact.add", cmd_contact_add, ROLE_COORDINATOR, CMD_WRITE},
    {"contact.show", cmd_contact_show, ROLE_PROFESSIONAL, CMD_READ},
    {"contact.list", cmd_contact_list, ROLE_PROFESSIONAL, CMD_READ},
    {"contact.update", cmd_contact_update, ROLE_COORDINATOR, CMD_WRITE},
    {"plan.create", cmd_plan_create, ROLE_COORDINATOR, CMD_WRITE},
    {"plan.show", cmd_plan_show, ROLE_PROFESSIONAL, CMD_READ},
    {"plan.list", cmd_plan_list, ROLE_PROFESSIONAL, CMD_READ},
    {"plan.member.add", cmd_plan_member_add, ROLE_COORDINATOR, CMD_WRITE},
    {"plan.member.remove", cmd_plan_member_remove, ROLE_COORDINATOR, CMD_WRITE},
    {"plan.coordinator", cmd_plan_coordinator, ROLE_COORDINATOR, CMD_WRITE},
    {"plan.version.add", cmd_plan_version_add, ROLE_PROFESSIONAL, CMD_WRITE},
    {"plan.version.show", cmd_plan_version_show, ROLE_PROFESSIONAL, CMD_READ},
    {"plan.diff", cmd_plan_diff, ROLE_PROFESSIONAL, CMD_READ},
    {"plan.approve", cmd_plan_approve, ROLE_COORDINATOR, CMD_WRITE},
    {"plan.distribute", cmd_plan_distribute, ROLE_COORDINATOR, CMD_WRITE},
    {"plan.render", cmd_plan_render, ROLE_PROFESSIONAL, CMD_READ},
    {"plan.status", cmd_plan_status, ROLE_PROFESSIONAL, CMD_READ},
    {"plan.handed", cmd_plan_handed, ROLE_COORDINATOR, CMD_WRITE},
    {"digest", cmd_digest, ROLE_COORDINATOR, CMD_READ},
    {"plan.template", cmd_plan_template, ROLE_PROFESSIONAL, CMD_READ},
    {"plan.export", cmd_plan_export, ROLE_PROFESSIONAL, CMD_READ},
    {"meeting.schedule", cmd_meeting_schedule, ROLE_COORDINATOR, CMD_WRITE},
    {"meeting.move", cmd_meeting_move, ROLE_COORDINATOR, CMD_WRITE},
    {"meeting.cancel", cmd_meeting_cancel, ROLE_COORDINATOR, CMD_WRITE},
    {"meeting.attendance", cmd_meeting_attendance, ROLE_PROFESSIONAL,
     CMD_WRITE},
    {"meeting.held", cmd_meeting_held, ROLE_COORDINATOR, CMD_WRITE},
    {"meeting.show", cmd_meeting_show, ROLE_PROFESSIONAL, CMD_READ},
    {"meeting.list", cmd_meeting_list, ROLE_PROFESSIONAL, CMD_READ},
    {"audit.list", cmd_audit_list, ROLE_COORDINATOR, CMD_READ},
    {"audit.verify", cmd_audit_verify, ROLE_ADMIN, CMD_READ},
    {"citizen.erase", cmd_citizen_erase, ROLE_COORDINATOR, CMD_WRITE},
    {"stats", cmd_stats, ROLE_COORDINATOR, CMD_READ},
    {"cert.import", cmd_cert_import, ROLE_COORDINATOR, CMD_WRITE},
    {"cert.list", cmd_cert_list, ROLE_COORDINATOR, CMD_READ},
    {"cert.expiring", cmd_cert_expiring, ROLE_COORDINATOR, CMD_READ},
    {"cert.domain.add", cmd_cert_domain_add, ROLE_ADMIN, CMD_WRITE},
    {"cert.domain.list", cmd_cert_domain_list, ROLE_COORDINATOR, CMD_READ},
    {"cert.domain.remove", cmd_cert_domain_remove, ROLE_ADMIN, CMD_WRITE},
    {"cert.lookup", cmd_cert_lookup, ROLE_COORDINATOR, CMD_WRITE},
    {"scheduler.run", cmd_scheduler_run, ROLE_ADMIN, CMD_WRITE},
    {"deviation.report", cmd_deviation_report, ROLE_PROFESSIONAL, CMD_WRITE},
    {"deviation.list", cmd_deviation_list, ROLE_PROFESSIONAL, CMD_READ},
    {"deviation.show", cmd_deviation_show, ROLE_PROFESSIONAL, CMD_READ},
    {"deviation.ack", cmd_deviation_ack, ROLE_PROFESSIONAL, CMD_WRITE},
    {"deviation.forward", cmd_deviation_forward, ROLE_PROFESSIONAL, CMD_WRITE},
    {"deviation.route", cmd_deviation_route, ROLE_PROFESSIONAL, CMD_WRITE},
    {"intake.run", cmd_intake_run, ROLE_COORDINATOR, CMD_READ},
    {"intake.status", cmd_intake_status, ROLE_COORDINATOR, CMD_READ},
    {"intake.quarantine", cmd_intake_quarantine, ROLE_COORDINATOR, CMD_READ},
    {"outbox.list", cmd_outbox_list, ROLE_ADMIN, CMD_READ},
    {"outbox.counts", cmd_outbox_counts, ROLE_ADMIN, CMD_READ},
    {"outbox.retry", cmd_outbox_retry, ROLE_ADMIN, CMD_WRITE},
    {"outbox.cancel", cmd_outbox_cancel, ROLE_ADMIN, CMD_WRITE},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int cmd_fail(struct cmd_ctx *c, const char *code, const char *fmt, ...)
{
	va_list ap;

	c->err_code = code;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

int cmd_store_fail(struct cmd_ctx *c, int r, const char *what)
{
	switch (r) {
	case -ENOENT:
		return cmd_fail(c, "not_found", "%s not found", what);
	case -EEXIST:
		return cmd_fail(c, "conflict",
				"%s: conflicts with existing data", what);
	case -ENOSPC:
		log_err("store: the disk is full; %s refused", what);
		return cmd_fail(c, "internal",
				"the store's disk is full; "
				"nothing was changed");
	default:
		return cmd_fail(c, "internal",
				"store error (%s); nothing was "
				"changed",
				strerror(-r));
	}
}

int cmd_require_member(struct cmd_ctx *c, int64_t plan, int64_t contact,
		       char **ret_kind)
{
	char *kind = NULL;
	int r = store_text(c->st, &kind,
			   "SELECT k.kind FROM plan_members m JOIN contacts k"
			   " ON k.id = m.contact_id WHERE m.plan_id = ?"
			   " AND m.contact_id = ?",
			   "ii", plan, contact);

	if (r == -ENOENT)
		return cmd_fail(c, "rule",
				"rule network: contact %lld is not a member of "
				"plan %lld",
				(long long)contact, (long long)plan);
	if (r < 0)
		return cmd_store_fail(c, r, "member");
	if (ret_kind)
		*ret_kind = kind;
	else
		free(kind);
	return 0;
}

int cmd_version_in_force(struct cmd_ctx *c, int64_t plan, int64_t *ret)
{
	return store_int(c->st, ret,
			 "SELECT version FROM plan_versions WHERE plan_id = ?"
			 " AND approved_at IS NOT NULL"
			 " ORDER BY version DESC LIMIT 1",
			 "i", plan);
}

int cmd_cipher_warnings(struct cmd_ctx *c, bool citizen, int64_t id,
			json_t **ret)
{
	json_t *row;
	int r = store_row(c->st, &row,
			  citizen ? "SELECT cert_pem, cipher_policy, caps_gcm"
				    " FROM citizens WHERE id = ?"
				  : "SELECT cert_pem, cipher_policy, caps_gcm"
				    " FROM contacts WHERE id = ?",
			  "i", id);

	if (r >= 0) {
		r = cipher_warnings(c->k->cfg->smime_allow_gcm,
				    row_str(row, "cert_pem"),
				    row_str(row, "cipher_policy"),
				    row_num(row, "caps_gcm") != 0, ret);
		json_decref(row);
	}
	return r < 0 ? cmd_store_fail(c, r, citizen ? "citizen" : "contact")
		     : 0;
}

int cmd_ok(struct cmd_ctx *c, json_t *obj)
{
	json_decref(c->result);
	c->result = NULL;
	/* A result that could not be built (out of memory) must not turn
	 * into an empty success: the transaction is rolled back. */
	if (!obj)
		return cmd_fail(c, "internal",
				"out of memory; nothing was changed");
	c->result = obj;
	return 0;
}

static json_t *arg(struct cmd_ctx *c, const char *key)
{
	json_t *v = json_object_get(c->args, key);

	return json_is_null(v) ? NULL : v;
}

int arg_int(struct cmd_ctx *c, const char *key, bool required, int64_t *ret)
{
	json_t *v = arg(c, key);

	if (!v)
		return required ? cmd_fail(c, "bad_request",
					   "missing argument '%s'", key)
				: 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return cmd_fail(c, "bad_request",
				"argument '%s' must be a non-negative integer",
				key);
	*ret = json_integer_value(v);
	return 1;
}

static int text_arg(struct cmd_ctx *c, const char *key, bool required,
		    size_t maxlen, bool multiline, const char **ret)
{
	json_t *v = arg(c, key);
	const char *s;

	if (!v)
		return required ? cmd_fail(c, "bad_request",
					   "missing argument '%s'", key)
				: 0;
	if (!json_is_string(v))
		return cmd_fail(c, "bad_request",
				"argument '%s' must be a string", key);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return cmd_fail(c, "bad_request",
				"argument '%s' contains a NUL byte", key);
	if (required && !*s)
		return cmd_fail(c, "bad_request", "argument '%s' is empty",
				key);
	if (!text_valid(s, maxlen, multiline))
		return cmd_fail(c, "bad_request",
				"argument '%s' is longer than %zu bytes or "
				"contains control characters",
				key, maxlen);
	*ret = s;
	return 1;
}

int arg_text(struct cmd_ctx *c, const char *key, bool required, size_t maxlen,
	     const char **ret)
{
	return text_arg(c, key, required, maxlen, false, ret);
}

int arg_longtext(struct cmd_ctx *c, const char *key, bool required,
		 size_t maxlen, const char **ret)
{
	return text_arg(c, key, required, maxlen, true, ret);
}

int arg_cert(struct cmd_ctx *c, const char *email, struct cert_info *ret)
{
	const char *pem;
	char err[256];
	int r = arg_longtext(c, "cert_pem", false, 64 * 1024, &pem);

	if (r != 1)
		return r;
	if (!email)
		return cmd_fail(c, "bad_request",
				"a certificate needs an e-mail address to go "
				"with it");
	if (cert_check_trusted(c->k->trust, pem, email, clock_now(), ret, err,
			       sizeof(err)) < 0)
		return cmd_fail(c, "bad_request", "%s", err);
	return 1;
}

int arg_date(struct cmd_ctx *c, const char *key, bool required,
	     const char **ret)
{
	int y, m, d, r = arg_text(c, key, required, 10, ret);

	if (r == 1 && date_parse(*ret, &y, &m, &d) < 0)
		return cmd_fail(c, "bad_request",
				"argument '%s': '%s' is not a real date "
				"YYYY-MM-DD",
				key, *ret);
	return r;
}

int arg_email(struct cmd_ctx *c, const char *key, bool required,
	      const char **ret)
{
	int r = arg_text(c, key, required, 254, ret);

	if (r == 1 && !email_valid(*ret))
		return cmd_fail(c, "bad_request",
				"argument '%s' is not a valid e-mail address",
				key);
	return r;
}

int arg_bool(struct cmd_ctx *c, const char *key, bool *ret)
{
	json_t *v = arg(c, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return cmd_fail(c, "bad_request",
				"argument '%s' must be true or false", key);
	*ret = json_is_true(v);
	return 1;
}

int arg_choice(struct cmd_ctx *c, const char *key, bool required,
	       const char *const *choices, const char **ret)
{
	int r = arg_text(c, key, required, 64, ret);
	char list[256] = "";
	size_t o = 0;

	if (r != 1)
		return r;
	for (size_t i = 0; choices[i]; i++) {
		if (strcmp(choices[i], *ret) == 0)
			return 1;
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
				      i ? ", " : "", choices[i]);
		if (o >= sizeof(list))
			break;
	}
	return cmd_fail(c, "bad_request", "argument '%s' must be one of: %s",
			key, list);
}

char *cmd_error_reply(const char *code, const char *message)
{
	json_t *o =
	    json_pack("{s:i, s:b, s:{s:s, s:s}}", "kip", KIP_PROTO_VERSION,
		      "ok", 0, "error", "code", code, "message", message);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static char *ok_reply(json_t *result)
{
	json_t *o = json_pack("{s:i, s:b, s:O}", "kip", KIP_PROTO_VERSION, "ok",
			      1, "result", result);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* Parses the envelope; on failure returns an error reply in *ret_reply. */
static int parse_request(const char *req, size_t len, json_t **ret_root,
			 const char **ret_cmd, char **ret_reply)
{
	json_error_t jerr;
	json_t *root, *v, *cmd;
	char msg[256];

	root = json_loadb(req, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root && json_error_code(&jerr) == json_error_out_of_memory) {
		*ret_reply =
		    cmd_error_reply("internal", "out of memory; try again");
		return -1;
	}
	if (!root || !json_is_object(root)) {
		snprintf(msg, sizeof(msg), "malformed request: %s (at byte %d)",
			 root ? "not a JSON object" : jerr.text,
			 root ? 0 : jerr.position);
		json_decref(root);
		*ret_reply = cmd_error_reply("bad_request", msg);
		return -1;
	}
	v = json_object_get(root, "kip");
	if (!json_is_integer(v) || json_integer_value(v) != KIP_PROTO_VERSION) {
		snprintf(msg, sizeof(msg),
			 "protocol version must be \"kip\": %d",
			 KIP_PROTO_VERSION);
		*ret_reply = cmd_error_reply("unsupported_version", msg);
		json_decref(root);
		return -1;
	}
	cmd = json_object_get(root, "cmd");
	v = json_object_get(root, "args");
	if (!json_is_string(cmd) || (v && !json_is_object(v))) {
		*ret_reply = cmd_error_reply(
		    "bad_request", "request needs \"cmd\" (a string) and "
				   "optional \"args\" (an object)");
		json_decref(root);
		return -1;
	}
	*ret_root = root;
	*ret_cmd = json_string_value(cmd);
	return 0;
}

/* Finds the caller's contact (non-admins act as one contact). */
static void resolve_contact(struct kipd *k, struct caller *who)
{
	const struct kip_user *u = config_find_user(k->cfg, who->user);

	who->contact_id = 0;
	if (u && u->contact)
		store_int(k->store, &who->contact_id,
			  "SELECT id FROM contacts WHERE kind = 'professional'"
			  " AND lower(email) = lower(?)",
			  "s", u->contact);
}

/* One request as one unit of work (txn.h): the handler, the plan's
 * schedule, the audit entry, the commit and what the work marked. */
static void run(struct cmd_ctx *c, const struct command *cmd)
{
	struct txn t;
	int r = txn_begin(c->k, &t);

	if (r < 0) {
		cmd_store_fail(c, r, "transaction");
		return;
	}
	r = cmd->fn(c);
	/* Whatever changed a plan, or a citizen's consent, is brought up to
	 * date before the commit (the due reminders: txn.h). */
	if (r == 0 && cmd->flags & CMD_WRITE)
		txn_subject(&t, c->citizen_id, c->plan_id);
	if (r == 0 && !c->audited &&
	    (c->citizen_id || c->plan_id || cmd->flags & CMD_WRITE))
		r = txn_audit(&t, c->who, cmd->name, "ok", c->citizen_id,
			      c->plan_id, c->object);
	if (r == 0)
		r = txn_commit(&t);
	if (r == 0)
		return;
	if (!c->err_code)
		cmd_store_fail(c, r, cmd->name);
	txn_rollback(&t);
	cmd_audit_refusal(c, cmd->name);
}

char *cmd_dispatch(struct kipd *k, const struct caller *who_in, const char *req,
		   size_t len)
{
	struct caller who = *who_in;
	struct cmd_ctx c;
	const struct command *cmd;
	const struct kip_user *u;
	const char *name;
	json_t *root = NULL;
	char *reply = NULL;

	if (parse_request(req, len, &root, &name, &reply) < 0)
		return reply;
	u = config_find_user(k->cfg, who.user);
	if (!u) {
		log_warn("control: uid %u is not in the users list",
			 (unsigned)who.uid);
		reply = cmd_error_reply("unknown_user",
					"your user is not allowed to use kip; "
					"ask the administrator to add it to "
					"the users list");
		goto out;
	}
	who.role = u->role;
	cmd = find_command(name);
	if (!cmd) {
		reply = cmd_error_reply("unknown_command",
					"unknown command; see kipctl help");
		goto out;
	}
	if (who.role < cmd->min_role) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%s needs the role %s; you are %s",
			 cmd->name, role_name(cmd->min_role),
			 role_name(who.role));
		reply = cmd_error_reply("forbidden", msg);
		goto out;
	}
	resolve_contact(k, &who);
	memset(&c, 0, sizeof(c));
	c.k = k;
	c.st = k->store;
	c.who = &who;
	c.args = json_object_get(root, "args");
	double t0 = loop_clock_ms();
	run(&c, cmd);
	double ms = loop_clock_ms() - t0;
	if (c.err_code) {
		log_info("control: uid %u %s refused: %s (%.1f ms)",
			 (unsigned)who.uid, cmd->name, c.err_code, ms);
		reply = cmd_error_reply(c.err_code, c.err);
	} else {
		log_info("control: uid %u %s ok (%.1f ms)", (unsigned)who.uid,
			 cmd->name, ms);
		reply = ok_reply(c.result);
	}
	json_decref(c.result);
out:
	json_decref(root);
	return reply;
}

void cmd_audit_refusal(struct cmd_ctx *c, const char *action)
{
	char outcome[64];
	struct txn t;

	/* A refusal that concerns a citizen is itself worth recording. */
	if (!c->citizen_id && !c->plan_id)
		return;
	snprintf(outcome, sizeof(outcome), "refused:%s", c->err_code);
	if (txn_begin(c->k, &t) < 0)
		return;
	if (txn_audit(&t, c->who, action, outcome, c->citizen_id, c->plan_id,
		      c->object) < 0 ||
	    txn_commit(&t) < 0)
		txn_rollback(&t);
}

int audit_add(struct cmd_ctx *c, const char *action, const char *outcome,
	      int64_t citizen_id, int64_t plan_id, const char *object)
{
	return audit_write(c->st, c->who, action, outcome, citizen_id, plan_id,
			   object);
}
