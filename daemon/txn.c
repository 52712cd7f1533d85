/* txn.c — see txn.h. */
#include "txn.h"

#include <errno.h>
#include <stddef.h>

#include "audit.h"
#include "kipd.h"
#include "store.h"

static const struct txn_wake *wakes;
static unsigned n_wakes;
static txn_before_fn before_commit;

void txn_set_wakes(const struct txn_wake *w, unsigned n, txn_before_fn before)
{
	wakes = w;
	n_wakes = n;
	before_commit = before;
}

void txn_subject(struct txn *t, int64_t citizen, int64_t plan)
{
	t->citizen = citizen;
	t->plan = plan;
}

static int begin(struct kipd *k, struct txn *t, bool lazy)
{
	int r;

	if (k->txn)
		return -EBUSY; /* one unit of work at a time */
	r = lazy ? store_begin_lazy(k->store) : store_begin(k->store);
	if (r < 0)
		return r;
	*t = (struct txn){.k = k};
	k->txn = t;
	return 0;
}

int txn_begin(struct kipd *k, struct txn *t)
{
	return begin(k, t, false);
}

int txn_begin_lazy(struct kipd *k, struct txn *t)
{
	return begin(k, t, true);
}

void txn_mark(struct kipd *k, unsigned marks)
{
	if (k && k->txn)
		k->txn->marks |= marks;
}

int txn_audit(struct txn *t, const struct caller *who, const char *action,
	      const char *outcome, int64_t citizen_id, int64_t plan_id,
	      const char *object)
{
	return audit_write(t->k->store, who, action, outcome, citizen_id,
			   plan_id, object);
}

/* The wakes of MARKS, in the listed order. */
void txn_wake(struct kipd *k, unsigned marks)
{
	for (unsigned i = 0; i < n_wakes; i++)
		if (marks & wakes[i].mark)
			wakes[i].fn(k);
}

static int end(struct txn *t, uint64_t *ticket)
{
	struct kipd *k = t->k;
	unsigned marks;
	int r = 0;

	if (before_commit && (t->citizen || t->plan))
		r = before_commit(k, t->citizen, t->plan);
	marks = t->marks; /* the hook may mark too */
	if (r >= 0)
		r = ticket ? store_commit_lazy(k->store, ticket)
			   : store_commit(k->store);
	if (r < 0) {
		txn_rollback(t);
		return r;
	}
	k->txn = NULL;
	t->marks = 0;
	if (ticket && *ticket)
		marks &= ~(unsigned)TXN_EVENTS; /* published after the sync */
	txn_wake(k, marks);
	return 0;
}

int txn_commit(struct txn *t)
{
	return end(t, NULL);
}

int txn_commit_lazy(struct txn *t, uint64_t *ticket)
{
	*ticket = 0;
	return end(t, ticket);
}

void txn_rollback(struct txn *t)
{
	if (t->k->txn != t)
		return; /* ended already (a failed commit rolls back) */
	store_rollback(t->k->store);
	t->k->txn = NULL;
	t->marks = 0;
}
