/* access.h — who may touch what, and the consent rule every change obeys
 * (access.c). The checks return 0, or cmd_fail()'s -1 with the refusal
 * recorded in the request.
 */
#ifndef KIP_ACCESS_H
#define KIP_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

struct cmd_ctx;
struct store;

/* The caller may see citizen CITIZEN_ID: admin, a member of one of the
 * citizen's plans, or who registered the citizen (before any plan). */
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

/* The consent rule in SQL, for queries that list many citizens at once:
 * the latest consent event of SCOPE for citizen X is "given", and
 * involving relatives rests on the consent to the plan itself. */
#define CONSENT_SQL(x, scope)                                                  \
	"coalesce((SELECT s.action FROM consents s WHERE s.citizen_id = " x    \
	" AND s.scope = '" scope "' ORDER BY s.id DESC LIMIT 1), '')"          \
	" = 'given'"
#define RELATIVES_CONSENT_SQL(x)                                               \
	"(" CONSENT_SQL(x, "relatives") " AND " CONSENT_SQL(x, "plan") ")"

#endif
