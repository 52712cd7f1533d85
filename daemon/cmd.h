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

#include "config.h"
#include "kipd.h"

struct caller {
	uid_t uid;
	pid_t pid;
	char user[64];          /* OS user name */
	enum kip_role role;
	int64_t contact_id;     /* the contact the user acts as; 0: none */
};

struct cmd_ctx {
	struct kipd *k;
	struct store *st;
	const struct caller *who;
	json_t *args;
	json_t *result;         /* set by the handler on success */
	const char *err_code;   /* set by cmd_fail */
	char err[512];
	int64_t citizen_id;     /* for the audit entry; 0: none */
	int64_t plan_id;
	char object[64];        /* e.g. "meeting:3"; "" if none */
	bool audited;           /* the handler wrote its own audit entries */
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

/* Arguments. Each returns 1 when present, 0 when absent and optional, or
 * -1 (error recorded) when required and absent or of the wrong type or
 * failing the check. Strings are borrowed from c->args. */
int arg_int(struct cmd_ctx *c, const char *key, bool required, int64_t *ret);
int arg_text(struct cmd_ctx *c, const char *key, bool required,
	     size_t maxlen, const char **ret);
int arg_longtext(struct cmd_ctx *c, const char *key, bool required,
		 size_t maxlen, const char **ret);
int arg_date(struct cmd_ctx *c, const char *key, bool required,
	     const char **ret);
int arg_email(struct cmd_ctx *c, const char *key, bool required,
	      const char **ret);
/* One of the NULL-terminated choices. */
int arg_choice(struct cmd_ctx *c, const char *key, bool required,
	       const char *const *choices, const char **ret);

/* The optional "cert_pem" argument, checked against EMAIL with
 * cert_check(); 1 when given and good (*ret filled), 0 when absent. */
struct cert_info;
int arg_cert(struct cmd_ctx *c, const char *email, struct cert_info *ret);

/* Sets c->result to obj (stolen). Returns 0. */
int cmd_ok(struct cmd_ctx *c, json_t *obj);

/* Audit: writes one entry now, in the request's transaction. */
int audit_add(struct cmd_ctx *c, const char *action, const char *outcome,
	      int64_t citizen_id, int64_t plan_id, const char *object);

/* Access and rules (plan.c). Each returns 0 or cmd_fail()'s -1. */
int access_citizen(struct cmd_ctx *c, int64_t citizen_id);
/* Reads plan PLAN_ID and checks the caller is admin or a member; with
 * WRITE also that the plan is active and the citizen's consent holds.
 * Sets c->plan_id and c->citizen_id. */
int access_plan(struct cmd_ctx *c, int64_t plan_id, bool write);
/* Rule consent: the latest consent event of SCOPE ("plan" or "relatives")
 * for the citizen is "given". */
int rule_consent(struct cmd_ctx *c, int64_t citizen_id, const char *scope);
/* Whether consent of SCOPE is active (no error recorded). */
bool consent_active(struct cmd_ctx *c, int64_t citizen_id, const char *scope);
/* The same outside a request (the scheduler's passes). */
bool consent_in_force(struct store *st, int64_t citizen_id, const char *scope);

/* Renders a version (0: the latest) of a plan the caller may read into
 * out (cmd_render.c). 0 or cmd_fail()'s -1. */
enum render_format;
struct buf;
int render_version(struct cmd_ctx *c, int64_t plan, int64_t version,
		   enum render_format fmt, const char *lang, struct buf *out);
/* The same as text into TEXT and as HTML into HTML (either may be NULL),
 * from one read of the version, and (DOC not NULL) a copy of its stored
 * document in *DOC: the distribution needs all three. */
int render_version_both(struct cmd_ctx *c, int64_t plan, int64_t version,
			const char *lang, struct buf *text, struct buf *html,
			char **doc);

/* The id for a new row of citizens, plans, contacts or meetings: above
 * every id in use and every id an erasure retired (see erase.c). */
#define NEXT_ID(table)                                                        \
	"(SELECT max(coalesce((SELECT max(id) FROM " table "), 0),"          \
	" coalesce((SELECT high FROM retired_ids WHERE tbl = '" table "'),"   \
	" 0)) + 1)"

/* Handlers. */
#define HANDLER(name) int name(struct cmd_ctx *c)
HANDLER(cmd_citizen_add);
HANDLER(cmd_citizen_show);
HANDLER(cmd_citizen_list);
HANDLER(cmd_citizen_update);
HANDLER(cmd_consent_give);
HANDLER(cmd_consent_withdraw);
HANDLER(cmd_consent_show);
HANDLER(cmd_contact_add);
HANDLER(cmd_contact_show);
HANDLER(cmd_contact_list);
HANDLER(cmd_contact_update);
HANDLER(cmd_plan_create);
HANDLER(cmd_plan_show);
HANDLER(cmd_plan_list);
HANDLER(cmd_plan_member_add);
HANDLER(cmd_plan_member_remove);
HANDLER(cmd_plan_coordinator);
HANDLER(cmd_plan_version_add);
HANDLER(cmd_plan_version_show);
HANDLER(cmd_plan_diff);
HANDLER(cmd_plan_approve);
HANDLER(cmd_plan_distribute);
HANDLER(cmd_plan_render);
HANDLER(cmd_plan_template);
HANDLER(cmd_plan_export);
HANDLER(cmd_meeting_schedule);
HANDLER(cmd_meeting_move);
HANDLER(cmd_meeting_cancel);
HANDLER(cmd_meeting_attendance);
HANDLER(cmd_meeting_held);
HANDLER(cmd_meeting_show);
HANDLER(cmd_meeting_list);
HANDLER(cmd_audit_list);
HANDLER(cmd_whoami);
HANDLER(cmd_audit_verify);
HANDLER(cmd_citizen_erase);
HANDLER(cmd_stats);
HANDLER(cmd_cert_import);
HANDLER(cmd_cert_list);
HANDLER(cmd_cert_expiring);
HANDLER(cmd_plan_status);
HANDLER(cmd_scheduler_run);
HANDLER(cmd_deviation_report);
HANDLER(cmd_deviation_list);
HANDLER(cmd_deviation_show);
HANDLER(cmd_deviation_ack);
HANDLER(cmd_deviation_forward);
HANDLER(cmd_deviation_route);
HANDLER(cmd_intake_run);
HANDLER(cmd_intake_status);
HANDLER(cmd_intake_quarantine);

#endif
