/* test_outbox.c — what an administrator does to one message: a retry
 * makes a waiting row due now and wakes the outbox, a cancel with a
 * one-row scope ends that row alone (and what a sealed one was to be
 * built from), and neither touches a row that is final.
 *
 * Opens a store in a temporary directory; the outbox is not started (no
 * SMTP pool), so nothing is sent and no row is ever "sending" here. The
 * rows are queued through outbox_insert(), as the distribution does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "kipd.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "t.h"
#include "txn.h"

static char dir[] = "/tmp/kip-test-outbox-XXXXXX";
static char path[128];
static struct kip_config cfg;
static struct kipd k;

static void cleanup(void)
{
	char f[160];

	store_close(k.store);
	for (const char *const *x =
		 (const char *const[]){"", "-wal", "-shm", ".lock", NULL};
	     *x; x++) {
		snprintf(f, sizeof(f), "%s%s", path, *x);
		unlink(f);
	}
	rmdir(dir);
}

static int setup(void)
{
	static int done, ok;
	char err[256];

	if (done)
		return ok;
	done = 1;
	log_set_level(LOG_WARNING);
	if (!mkdtemp(dir))
		return 0;
	snprintf(path, sizeof(path), "%s/kip.db", dir);
	cfg.org_mailbox = "kip@kommune.example";
	k = (struct kipd){.cfg = &cfg};
	if (store_open(path, &k.store, err, sizeof(err)) < 0) {
		printf("  store: %s\n", err);
		return 0;
	}
	atexit(cleanup);
	ok = 1;
	return ok;
}

/* A row for CITIZEN to TO in STATE ("queued", "manual", "cancelled"). */
static int64_t insert(int64_t citizen, const char *to, const char *state)
{
	struct outbox_msg m = {"notice", citizen, 0,	 0,    0,
			       0,	 to,	  state, NULL, NULL};
	int64_t id = 0;

	if (outbox_insert(&k, &m, &id, NULL) < 0)
		return 0;
	return id;
}

/* What SQL (one ? for ID) reads, as text ("" for NULL); the caller
 * frees it. */
static char *column(int64_t id, const char *sql)
{
	char *s = NULL;

	if (store_text(k.store, &s, sql, "i", id) < 0 || !s)
		return strdup("");
	return s;
}

static int64_t number(const char *sql, int64_t id)
{
	int64_t n = -1;

	store_int(k.store, &n, sql, "i", id);
	return n;
}

/* Asserts that SQL (one ? for ID) reads EXPECTED. */
#define T_READS(id, sql, expected)                                             \
	do {                                                                   \
		char *t_s_ = column(id, sql);                                  \
		T_STREQ(t_s_, expected);                                       \
		free(t_s_);                                                    \
	} while (0)
#define T_STATE(id, expected)                                                  \
	T_READS(id, "SELECT state FROM outbox WHERE id = ?", expected)
#define T_REASON(id, expected)                                                 \
	T_READS(id, "SELECT reason FROM outbox WHERE id = ?", expected)

static void test_retry_one(void)
{
	int64_t a, m, t0 = time(NULL);
	struct txn t;

	T_ASSERT(setup());
	a = insert(1, "a@region.example", "queued");
	m = insert(1, "m@region.example", "manual");
	T_ASSERT(a > 0 && m > 0);

	T_ASSERT(txn_begin(&k, &t) == 0);
	T_ASSERT(outbox_retry(&k, a) == 1);
	T_ASSERT(t.marks & TXN_OUTBOX); /* the commit wakes the outbox */
	T_ASSERT(txn_commit(&t) == 0);
	T_ASSERT(number("SELECT next_attempt_at FROM outbox WHERE id = ?", a) >=
		 t0);
	T_STATE(a, "queued");

	/* A row that is final, or none at all: nothing made due, no wake. */
	T_ASSERT(txn_begin(&k, &t) == 0);
	T_ASSERT(outbox_retry(&k, m) == 0);
	T_ASSERT(outbox_retry(&k, m + 1000) == 0);
	T_ASSERT(!(t.marks & TXN_OUTBOX));
	T_ASSERT(txn_commit(&t) == 0);
	T_STATE(m, "manual");
	T_ASSERT(number("SELECT next_attempt_at FROM outbox WHERE id = ?", m) ==
		 0);
}

static void test_retry_all_deferred(void)
{
	int64_t before, q;
	struct txn t;

	T_ASSERT(setup());
	q = insert(2, "q@region.example", "queued");
	before = number("SELECT next_attempt_at FROM outbox WHERE id = ?", q);
	/* Only deferred rows: a queued one is due already. */
	T_ASSERT(txn_begin(&k, &t) == 0);
	T_ASSERT(outbox_retry(&k, 0) == 0);
	T_ASSERT(!(t.marks & TXN_OUTBOX));
	T_ASSERT(txn_commit(&t) == 0);
	T_ASSERT(number("SELECT next_attempt_at FROM outbox WHERE id = ?", q) ==
		 before);
}

static void test_cancel_one(void)
{
	int64_t a, b, m;
	struct txn t;

	T_ASSERT(setup());
	a = insert(3, "a3@region.example", "queued");
	b = insert(3, "b3@region.example", "queued");
	m = insert(3, "m3@region.example", "manual");

	T_ASSERT(txn_begin(&k, &t) == 0);
	T_ASSERT(outbox_cancel(&k, &(struct outbox_scope){.id = a},
			       "by an administrator: test") == 1);
	T_ASSERT(t.marks & TXN_OUTBOX);
	T_ASSERT(txn_commit(&t) == 0);
	T_STATE(a, "cancelled");
	T_REASON(a, "by an administrator: test");
	/* the same citizen's other message is not the row's scope */
	T_STATE(b, "queued");

	/* Final rows stay as they are. */
	T_ASSERT(txn_begin(&k, &t) == 0);
	T_ASSERT(outbox_cancel(&k, &(struct outbox_scope){.id = a}, "again") ==
		 0);
	T_ASSERT(outbox_cancel(&k, &(struct outbox_scope){.id = m}, "no") == 0);
	T_ASSERT(txn_commit(&t) == 0);
	T_REASON(a, "by an administrator: test");
	T_STATE(m, "manual");
}

/* Two sealed messages of one signed entity: the first cancelled leaves
 * the entity for the second; the second takes it along. */
static void test_cancel_sealed(void)
{
	int64_t a, b, e = 0;
	struct txn t;

	T_ASSERT(setup());
	a = insert(4, "a4@region.example", "queued");
	b = insert(4, "b4@region.example", "queued");
	T_ASSERT(outbox_entity_add(&k, 4, "signed entity", &e) == 0);
	T_ASSERT(outbox_seal(&k, a, e, "cert a", NULL, "Subject") == 0);
	T_ASSERT(outbox_seal(&k, b, e, "cert b", NULL, "Subject") == 0);

	T_ASSERT(txn_begin(&k, &t) == 0);
	T_ASSERT(outbox_cancel(&k, &(struct outbox_scope){.id = a}, "x") == 1);
	T_ASSERT(t.marks & TXN_SCRUB); /* the WAL loses the sealed row */
	T_ASSERT(txn_commit(&t) == 0);
	T_ASSERT(number("SELECT count(*) FROM outbox_sealed WHERE id = ?", a) ==
		 0);
	T_ASSERT(number("SELECT count(*) FROM outbox_entity WHERE id = ?", e) ==
		 1);

	T_ASSERT(txn_begin(&k, &t) == 0);
	T_ASSERT(outbox_cancel(&k, &(struct outbox_scope){.id = b}, "x") == 1);
	T_ASSERT(txn_commit(&t) == 0);
	T_ASSERT(number("SELECT count(*) FROM outbox_entity WHERE id = ?", e) ==
		 0);
}

T_MAIN(T_CASE(test_retry_one), T_CASE(test_retry_all_deferred),
       T_CASE(test_cancel_one), T_CASE(test_cancel_sealed))
