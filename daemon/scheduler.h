/* scheduler.h — reminders before meetings and the six-month rule, driven
 * by one timer of the loop.
 *
 * What is due later is a row of sched_pending with its due time (indexed):
 *   reminder  OFFSET days (reminders.offsets_days) before a scheduled
 *             meeting, keyed by the meeting's iCalendar sequence, so a
 *             moved meeting gets fresh reminders and a cancelled one none;
 *   followup  OFFSET days (reminders.followup_days) before the plan's
 *             follow-up deadline, to the coordinator;
 *   overdue   the day after the deadline: the coordinator and
 *             reminders.escalation_address are told, event followup.overdue
 *             is emitted and the plan shows as overdue in plan list.
 * The deadline is plans.follow_up_max_months after the meeting that the
 * plan's latest version belongs to (its "anchor"); it is met by a meeting
 * that is scheduled or held after the anchor and on or before the
 * deadline. A plan without a version has no deadline yet.
 *
 * While the citizen's consent to the plan is withdrawn (consent_in_force),
 * the plan's watch is paused: none of the rows above, and it is not
 * overdue; instead one row
 *   followup  at OFFSET 0, on the deadline day: the coordinator is told,
 *             once per anchor, that the follow-up is paused and the plan
 *             should be offered again; event followup.paused.
 * Consent given again resumes the watch from the same anchor: what is
 * still ahead, and the escalation at once if the deadline has passed.
 *
 * Every command that changes a plan calls scheduler_sync_plan() in its
 * transaction, and one that changes a citizen (consent)
 * scheduler_sync_citizen(); they bring the rows up to date (a handful of
 * indexed statements per plan). scheduler_kick() after the commit sets
 * the one timer for the earliest due time (at most an hour away, so that a
 * change of the wall clock is noticed). A pass takes the rows that are due
 * in due order, sends what still applies, deletes them and records them in
 * sched_done, all in one transaction: exactly once per meeting, sequence
 * and offset, across restarts; what fell due while kipd was down goes out
 * at start, a meeting reminder only while the meeting is still ahead. A
 * due row that the consent no longer matches (one made before it changed)
 * is neither sent nor recorded: the plan's rows are synced instead. The
 * work of a pass grows with what is due, not with the number of plans.
 */
#ifndef KIP_SCHEDULER_H
#define KIP_SCHEDULER_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

struct kipd;

/* At start: fills sched_pending for every active plan the first time this
 * store is used with a scheduler, then arms the timer. 0 or -errno. */
int scheduler_open(struct kipd *k);
void scheduler_close(struct kipd *k);

/* Brings PLAN's pending rows up to date with its meetings, versions and
 * status. Inside the caller's transaction; 0 or -errno. */
int scheduler_sync_plan(struct kipd *k, int64_t plan);

/* The same for every active plan of CITIZEN, after a change of the
 * citizen's consent. 0 or -errno. */
int scheduler_sync_citizen(struct kipd *k, int64_t citizen);

/* PLAN when given, else CITIZEN's plans: the hook before a unit of work
 * commits (txn_before_fn). 0 or -errno. */
int scheduler_sync(struct kipd *k, int64_t citizen, int64_t plan);

/* PLAN's follow-up watch, for plan status, in *RET: {"watch": "off" (a
 * closed plan or one without a version), "running", "met" (a follow-up
 * meeting is set by the deadline), "overdue" or "paused" (consent
 * withdrawn), "deadline", and for a paused watch "consent_withdrawn" (the
 * date)}. 0 or -errno. */
int scheduler_watch(struct kipd *k, int64_t plan, json_t **ret);

/* Re-arms the timer for the earliest due row: the TXN_SCHEDULE wake
 * after a commit that may have changed due times (txn.h). */
void scheduler_kick(struct kipd *k);

/* Does everything due at NOW, inside the caller's unit of work (the
 * command scheduler.run); the counts of what was due and the messages
 * queued. 0 or -errno. */
int scheduler_run_now(struct kipd *k, time_t now, int *ret_due,
		      int *ret_messages);

/* What every pass also does once it has handled the due rows, inside its
 * transaction: DUE returns the messages it queued or -errno; NEXT says
 * when it next falls due (0: never), so the timer wakes for it. kipd.c
 * sets the coordinators' daily digest (digest.h). */
void scheduler_set_daily(int (*due)(struct kipd *k, time_t now),
			 time_t (*next)(struct kipd *k, time_t now));

#endif
