/* txn.h — the unit of work: one transaction, its audit entry, and what
 * runs after it commits.
 *
 * Every change to the store is one unit of work on the loop thread:
 *
 *   txn_begin() → the work → txn_audit() → txn_commit() → the wakes
 *
 * The work marks what it changed with txn_mark(): the module that queues
 * mail, emits an event, changes what the scheduler waits for or erases
 * personal data marks it itself, so no caller has to remember a wake. When
 * the transaction commits, the wakes of the marks run in the one order
 * kipd.c lists (txn_set_wakes()); a rollback drops the marks. Control
 * requests (cmd.c), the scheduler, the mail and MQTT intake, the
 * certificate notice and the outbox's records of SMTP results all go
 * through here.
 *
 * One unit of work is open at a time (kipd->txn), on the loop thread.
 */
#ifndef KIP_TXN_H
#define KIP_TXN_H

#include <stdbool.h>
#include <stdint.h>

struct kipd;
struct caller;

/* What a committed change asks for. */
enum txn_mark {
	TXN_OUTBOX = 1u << 0,	/* mail queued or cancelled: send at once */
	TXN_EVENTS = 1u << 1,	/* events to publish (MQTT) */
	TXN_SCHEDULE = 1u << 2, /* what the scheduler waits for changed */
	TXN_ERASED = 1u << 3,	/* personal data erased: rewrite the file */
	TXN_SCRUB = 1u << 4,	/* mail's personal data deleted: empty the
				   WAL of its old page images */
};

/* A wake: FN(K) after a commit that marked MARK. */
struct txn_wake {
	unsigned mark;
	void (*fn)(struct kipd *k);
};

struct txn {
	struct kipd *k;
	unsigned marks;
	int64_t citizen, plan; /* what the work changed (txn_subject()) */
};

/* Runs inside the transaction just before it commits, for a unit whose
 * subject is set: what depends on a plan or a citizen is brought up to
 * date with the change (the scheduler's due reminders). 0 or -errno (the
 * commit then fails and everything is rolled back). */
typedef int (*txn_before_fn)(struct kipd *k, int64_t citizen, int64_t plan);

/* Sets the wakes (a static array of N, run in its order) and the hook
 * before a commit. Without them, commits run none (tools, unit tests). */
void txn_set_wakes(const struct txn_wake *wakes, unsigned n,
		   txn_before_fn before);

/* The citizen and the plan (either may be 0) the work changed: the hook
 * before the commit is run for them. */
void txn_subject(struct txn *t, int64_t citizen, int64_t plan);

/* Runs the wakes of MARKS now, outside a unit of work (the outbox, after
 * the sync that made its lazy records durable, publishes their events). */
void txn_wake(struct kipd *k, unsigned marks);

/* Begins a unit of work (BEGIN IMMEDIATE). 0 or -errno. */
int txn_begin(struct kipd *k, struct txn *t);
/* The same with a commit that does not wait for the disk
 * (store_begin_lazy()). */
int txn_begin_lazy(struct kipd *k, struct txn *t);

/* Marks the open unit of work of K (no-op without one). */
void txn_mark(struct kipd *k, unsigned marks);

/* Writes the audit entry of the work, by WHO, in the transaction
 * (audit.c's hash chain). 0 or -errno. */
int txn_audit(struct txn *t, const struct caller *who, const char *action,
	      const char *outcome, int64_t citizen_id, int64_t plan_id,
	      const char *object);

/* Commits and runs the wakes of the marks. On failure the transaction is
 * rolled back and nothing runs. 0 or -errno. */
int txn_commit(struct txn *t);
/* For txn_begin_lazy(): commits without waiting for the disk; *TICKET as
 * store_commit_lazy() sets it. The events marked wait for the records to
 * be durable (a nonzero ticket): whoever waits for the sync publishes
 * them; the other wakes run now. */
int txn_commit_lazy(struct txn *t, uint64_t *ticket);
void txn_rollback(struct txn *t);

#endif
