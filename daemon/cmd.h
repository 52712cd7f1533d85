/* cmd.h — one request from kipctl: the caller, the arguments, the reply,
 * and the helpers every command handler uses.
 *
 * A handler runs inside one unit of work (txn.h) that the dispatcher
 * commits, with the audit entry, when it returns 0 and rolls back
 * otherwise; what it queues, emits or erases marks the unit itself. It sets
 * c->result (a JSON object) on success, or calls cmd_fail() and returns
 * its value. It names the citizen and plan it touched (c->citizen_id,
 * c->plan_id, c->object) so that the dispatcher can write the audit entry.
 */
#ifndef KIP_CMD_H
#define KIP_CMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "caller.h"
#include "config.h"
#include "kipd.h"

struct cmd_ctx {
	struct kipd *k;
	struct store *st;
	const struct caller *who;
	json_t *args;
	json_t *result;	      /* set by the handler on success */
	const char *err_code; /* set by cmd_fail */
	char err[512];
	int64_t citizen_id; /* for the audit entry; 0: none */
	int64_t plan_id;
	char object[64]; /* e.g. "meeting:3"; "" if none */
	bool audited;	 /* the handler wrote its own audit entries */
};

/*
 * Handles one request frame of LEN bytes from caller WHO and returns the
 * reply as a malloc'd JSON string (never NULL unless out of memory).
 */
char *cmd_dispatch(struct kipd *k, const struct caller *who, const char *req,
		   size_t len);

/* A reply with an error, for the control layer (timeouts, size limits). */
char *cmd_error_reply(const char *code, const char *message);

/* Records the error and returns -1. */
int cmd_fail(struct cmd_ctx *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a store error: -ENOENT → not_found "WHAT not found", -EEXIST →
 * conflict, -ENOSPC and others → internal. Returns -1. */
int cmd_store_fail(struct cmd_ctx *c, int r, const char *what);

/* The rule network: 0 when CONTACT is a member of PLAN, else -1 with
 * "rule network: contact N is not a member of plan P" (or the store's
 * error). With RET_KIND, the member's kind (professional, relative,
 * supporter; malloc'd) in *RET_KIND on success. */
int cmd_require_member(struct cmd_ctx *c, int64_t plan, int64_t contact,
		       char **ret_kind);

/* The version in force of PLAN, the latest approved one, in *RET: 0, or
 * -ENOENT when none is approved, or the store's -errno (nothing reported;
 * the caller says what either means to it). */
int cmd_version_in_force(struct cmd_ctx *c, int64_t plan, int64_t *ret);

/* What cipher_warnings() says of the mail to contact ID (CITIZEN: citizen
 * ID) as stored now: its certificate, cipher policy and announced AES-GCM.
 * 0 with *ret (a new JSON array), or cmd_store_fail()'s -1. */
int cmd_cipher_warnings(struct cmd_ctx *c, bool citizen, int64_t id,
			json_t **ret);

/* Arguments. Each returns 1 when present, 0 when absent and optional, or
 * -1 (error recorded) when required and absent or of the wrong type or
 * failing the check. Strings are borrowed from c->args. */
int arg_int(struct cmd_ctx *c, const char *key, bool required, int64_t *ret);
int arg_text(struct cmd_ctx *c, const char *key, bool required, size_t maxlen,
	     const char **ret);
int arg_longtext(struct cmd_ctx *c, const char *key, bool required,
		 size_t maxlen, const char **ret);
int arg_date(struct cmd_ctx *c, const char *key, bool required,
	     const char **ret);
int arg_email(struct cmd_ctx *c, const char *key, bool required,
	      const char **ret);
/* A flag, true or false, in *ret (left as it is when absent). */
int arg_bool(struct cmd_ctx *c, const char *key, bool *ret);
/* One of the NULL-terminated choices. */
int arg_choice(struct cmd_ctx *c, const char *key, bool required,
	       const char *const *choices, const char **ret);

/* The optional "cert_pem" argument, checked against EMAIL with
 * cert_check(); 1 when given and good (*ret filled), 0 when absent. */
struct cert_info;
int arg_cert(struct cmd_ctx *c, const char *email, struct cert_info *ret);

/* Sets c->result to obj (stolen). Returns 0. */
int cmd_ok(struct cmd_ctx *c, json_t *obj);

/* After the rollback of a refused request (or report), records the
 * refusal c holds under ACTION in a unit of work of its own, when it
 * concerns a citizen or a plan. */
void cmd_audit_refusal(struct cmd_ctx *c, const char *action);

/* Audit: writes one entry now, in the request's transaction. */
int audit_add(struct cmd_ctx *c, const char *action, const char *outcome,
	      int64_t citizen_id, int64_t plan_id, const char *object);

/* The id for a new row of citizens, plans, contacts or meetings: above
 * every id in use and every id an erasure retired (see erase.c). */
#define NEXT_ID(table)                                                         \
	"(SELECT max(coalesce((SELECT max(id) FROM " table "), 0),"            \
	" coalesce((SELECT high FROM retired_ids WHERE tbl = '" table "'),"    \
	" 0)) + 1)"

/* The handlers of the command table (cmd.c), by the file that holds
 * them: each cmd_<object>.c holds handlers and their private helpers
 * only. */
/* cmd_audit.c */
int cmd_audit_list(struct cmd_ctx *c);
int cmd_audit_verify(struct cmd_ctx *c);
/* cmd_cert.c */
int cmd_cert_import(struct cmd_ctx *c);
int cmd_cert_list(struct cmd_ctx *c);
int cmd_cert_expiring(struct cmd_ctx *c);
int cmd_cert_domain_add(struct cmd_ctx *c);
int cmd_cert_domain_list(struct cmd_ctx *c);
int cmd_cert_domain_remove(struct cmd_ctx *c);
int cmd_cert_lookup(struct cmd_ctx *c);
/* cmd_citizen.c */
int cmd_citizen_add(struct cmd_ctx *c);
int cmd_citizen_show(struct cmd_ctx *c);
int cmd_citizen_list(struct cmd_ctx *c);
int cmd_citizen_update(struct cmd_ctx *c);
int cmd_citizen_erase(struct cmd_ctx *c);
int cmd_consent_give(struct cmd_ctx *c);
int cmd_consent_withdraw(struct cmd_ctx *c);
int cmd_consent_show(struct cmd_ctx *c);
/* cmd_contact.c */
int cmd_contact_add(struct cmd_ctx *c);
int cmd_contact_show(struct cmd_ctx *c);
int cmd_contact_list(struct cmd_ctx *c);
int cmd_contact_update(struct cmd_ctx *c);
/* cmd_deviation.c */
int cmd_deviation_report(struct cmd_ctx *c);
int cmd_deviation_list(struct cmd_ctx *c);
int cmd_deviation_show(struct cmd_ctx *c);
int cmd_deviation_ack(struct cmd_ctx *c);
int cmd_deviation_forward(struct cmd_ctx *c);
int cmd_deviation_route(struct cmd_ctx *c);
/* cmd_intake.c */
int cmd_intake_run(struct cmd_ctx *c);
int cmd_intake_status(struct cmd_ctx *c);
int cmd_intake_quarantine(struct cmd_ctx *c);
/* cmd_meeting.c */
int cmd_meeting_schedule(struct cmd_ctx *c);
int cmd_meeting_move(struct cmd_ctx *c);
int cmd_meeting_cancel(struct cmd_ctx *c);
int cmd_meeting_attendance(struct cmd_ctx *c);
int cmd_meeting_held(struct cmd_ctx *c);
int cmd_meeting_show(struct cmd_ctx *c);
int cmd_meeting_list(struct cmd_ctx *c);
/* cmd_outbox.c */
int cmd_outbox_list(struct cmd_ctx *c);
int cmd_outbox_counts(struct cmd_ctx *c);
int cmd_outbox_retry(struct cmd_ctx *c);
int cmd_outbox_cancel(struct cmd_ctx *c);
/* cmd_plan.c */
int cmd_plan_create(struct cmd_ctx *c);
int cmd_plan_show(struct cmd_ctx *c);
int cmd_plan_list(struct cmd_ctx *c);
int cmd_plan_member_add(struct cmd_ctx *c);
int cmd_plan_member_remove(struct cmd_ctx *c);
int cmd_plan_coordinator(struct cmd_ctx *c);
/* cmd_render.c */
int cmd_plan_render(struct cmd_ctx *c);
/* cmd_scheduler.c */
int cmd_scheduler_run(struct cmd_ctx *c);
/* cmd_stats.c */
int cmd_stats(struct cmd_ctx *c);
/* cmd_version.c */
int cmd_plan_version_add(struct cmd_ctx *c);
int cmd_plan_version_show(struct cmd_ctx *c);
int cmd_plan_export(struct cmd_ctx *c);
int cmd_plan_diff(struct cmd_ctx *c);
int cmd_plan_approve(struct cmd_ctx *c);
int cmd_plan_distribute(struct cmd_ctx *c);
int cmd_plan_template(struct cmd_ctx *c);
int cmd_plan_status(struct cmd_ctx *c);
int cmd_plan_handed(struct cmd_ctx *c);
int cmd_digest(struct cmd_ctx *c);
/* cmd_whoami.c */
int cmd_whoami(struct cmd_ctx *c);

#endif
