/* deviation.h — deviation reports (afvigelser): an agreed action of a
 * plan was not carried out. One way to record a report, whichever channel
 * it came by (kipctl, signed mail, MQTT), and the coordinator's
 * follow-through: notice, forwarding to the members who answer for the
 * goal, acknowledgement.
 */
#ifndef KIP_DEVIATION_H
#define KIP_DEVIATION_H
#include <stdint.h>

#include "validate.h"

struct cmd_ctx;

struct deviation_in {
	int64_t plan;
	int64_t goal;		  /* 1..: a goal of the version in force */
	int64_t action;		  /* 1..: an action of that goal; 0: none */
	const char *text;	  /* UTF-8, what happened */
	const char *channel;	  /* "local", "mail" or "mqtt" */
	const char *verification; /* how the reporter was established */
	const char *source_id;	  /* Message-ID or report id; NULL: local */
};

/*
 * Records report IN from the caller's contact (c->who->contact_id, who
 * must be a member of the plan) inside c's transaction: the plan must be
 * active with consent in force and have an approved version; goal and
 * action must exist in it. Emits deviation.received, queues the
 * coordinator's encrypted notice (unless the reporter is the coordinator)
 * and, with deviations.forward = "auto", the forwards. Returns the new id,
 * or cmd_fail()'s -1 (the code "duplicate" when SOURCE_ID was recorded
 * before).
 */
int64_t deviation_add(struct cmd_ctx *c, const struct deviation_in *in);

/*
 * Forwards deviation DEV (of plan c->plan_id, read by the caller) to
 * member CONTACT, encrypted, once: a second forward to the same contact
 * is refused. BY is "auto" or the OS user. 0 or cmd_fail()'s -1.
 */
int deviation_forward(struct cmd_ctx *c, int64_t dev, int64_t contact,
		      const char *by);

#endif
