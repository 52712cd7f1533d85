/* digest.h — the coordinator's daily digest: what needs acting on, per
 * plan, in one encrypted mail a day.
 *
 * For each coordinator of an active plan, per plan: copies of the version
 * in force that bounced, that are not confirmed (not sent, delivered or
 * handed over) after digest.unconfirmed_days, manual deliveries still open
 * after digest.manual_days, deviations not acknowledged after
 * digest.unacked_days, meetings in the next 30 days, a follow-up deadline
 * in the next 30 days, and plans overdue. A coordinator with nothing of
 * that gets no mail.
 *
 * The digest goes out at digest.hour (local time) or, when kipd was not
 * running then, at the first scheduler pass after it; the row in digests
 * for the coordinator and the day is written in the same transaction as
 * the message, so it is sent exactly once a day across restarts and
 * kill -9. Its mail names plans by their reference and members by name
 * (relatives and the citizen by their role only), never the citizen.
 */
#ifndef KIP_DIGEST_H
#define KIP_DIGEST_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct kipd;

/* What COORDINATOR (a contact id) has to act on at NOW, as kipctl digest
 * shows it: {"coordinator", "day", "counts": {...}, "plans": [...]}.
 * 0 or -errno. */
int digest_collect(struct kipd *k, int64_t coordinator, time_t now,
		   json_t **ret);

/* Inside the caller's transaction (a scheduler pass): queues today's
 * digest for every coordinator whose digest is due at NOW and not yet
 * recorded. The number of messages queued, or -errno. */
int digest_due(struct kipd *k, time_t now);

/* When the next digest may fall due after NOW (digest.hour today or
 * tomorrow), for the scheduler's timer; 0 when digests are off. */
time_t digest_next(struct kipd *k, time_t now);

#endif
