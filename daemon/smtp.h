/* smtp.h — SMTP submission with libcurl, TLS always, in worker threads.
 *
 * Sending runs in smtp.connections worker threads, each with one
 * connection (smtpconn.h: libcurl connects and logs in, the worker speaks
 * the mail transaction) that stays open from message to message. The
 * main loop never waits for the network: it hands jobs over and collects
 * results when the pool's eventfd becomes readable. Workers touch no
 * database; they see the message bytes (or, from smtp_submit_built(),
 * what to build them from; the kip-seal thread usually builds them ahead),
 * sender, recipient and Message-ID.
 *
 * Every message asks for delivery status notifications (RFC 3461:
 * RET=HDRS, NOTIFY=SUCCESS,FAILURE,DELAY, an ORCPT, and as ENVID the local
 * part of its Message-ID, smtpwire_envid()) where the relay's EHLO names
 * DSN. A relay that does not, or that refuses the request (555, 501), gets the
 * messages without it; the pool remembers the refusal until it stops (a
 * reload starts a new one), and says once in the log that the relay gives
 * no reports. smtp_result.reports tells the caller which way a message
 * went.
 */
#ifndef KIP_SMTP_H
#define KIP_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct kip_config;
struct loop;
struct smtp_pool;

/* The most connections (worker threads) a pool runs: smtp.connections is
 * refused above it (config.h). */
#define SMTP_MAX_CONNECTIONS CONFIG_SMTP_CONNECTIONS_MAX

enum smtp_outcome {
	SMTP_SENT,	/* the server accepted the message (2xx after DATA) */
	SMTP_TEMPORARY, /* 4xx, connection, TLS or timeout: try again later */
	SMTP_PERMANENT, /* 5xx: give up */
	SMTP_CANCELLED, /* cancelled before the server accepted it */
};

struct smtp_result {
	int64_t id; /* the job's id (an outbox row) */
	enum smtp_outcome outcome;
	long code;	   /* last SMTP reply code, 0 if none */
	char reply[256];   /* what went wrong or the server's reply */
	bool reports;	   /* SMTP_SENT with the request for delivery
			      reports (false: the relay gives none) */
	int build_err;	   /* SMTP_PERMANENT because the message could
			      not be built: smtp_build_fn's -errno */
	const char *cause; /* why it failed in a few words without
			      personal data, for the log (static; NULL:
			      none or the reply code says it) */
};

/* Records RES; returns 0 when the records are durable already, else a
 * ticket that smtp_durable() passes once they are. */
typedef uint64_t (*smtp_done_fn)(void *arg, const struct smtp_result *res,
				 size_t n);
/* Blocks until every ticket done() returned is durable; returns the last
 * of them (used while the pool stops, when no loop runs to report it). */
typedef uint64_t (*smtp_flush_fn)(void *arg);
/* True when results that are ready now should wait for smtp_collect()
 * (NULL: never). */
typedef int (*smtp_wait_fn)(void *arg);

/* Refuses a libcurl older than 7.79 (CVE-2021-22946/22947: STARTTLS
 * bypass) or one without SMTP or TLS. 0 or -ENOTSUP with err. */
int smtp_check_libcurl(char *err, size_t errlen);

/*
 * Starts the workers. Results are delivered on the loop thread through
 * done(arg, results, n), in batches; done() records them, durably before
 * it returns or later (it returns a ticket, and the caller passes
 * smtp_durable() once the ticket is durable). A connection finishes a
 * message (sends its last bytes, and so the final dot) only while fewer
 * than two of its earlier messages are without a durable record: after a
 * crash or a power loss at most two per connection were accepted by the
 * server without the caller's record, however many jobs it queued. The
 * pool keeps pointers into cfg: it must outlive the pool or be swapped
 * only with smtp_pool_stop() first.
 */
int smtp_pool_start(const struct kip_config *cfg, struct loop *loop,
		    smtp_done_fn done, smtp_flush_fn flush, smtp_wait_fn wait,
		    void *arg, struct smtp_pool **ret, char *err,
		    size_t errlen);

/* On the loop thread: hands the finished jobs to done() in one batch. The
 * pool does so itself when jobs finish, unless smtp_wait_fn says wait;
 * then the caller calls it. Either way a batch goes at once only when a
 * connection cannot finish its next message without it, or nothing else
 * is being sent; else within a few milliseconds, with the replies that
 * come meanwhile. */
void smtp_collect(struct smtp_pool *p);

/* Every ticket up to TICKET is durable. On any thread (the outbox calls
 * it from the sync thread, so connections go on whatever the loop does). */
void smtp_durable(struct smtp_pool *p, uint64_t ticket);

/* Queues a message; the pool takes ownership of BODY (malloc'd, wiped
 * and freed after use). MESSAGE_ID is the message's ("<kip.ID.RANDOM@
 * DOMAIN>"): the request for reports names its local part (NULL, or one
 * smtpwire_envid() refuses: no reports asked for). 0 or -ENOMEM. */
int smtp_submit(struct smtp_pool *p, int64_t id, const char *from,
		const char *to, const char *message_id, char *body, size_t len);

/*
 * Builds a message's bytes off the loop thread (the outbox encrypts
 * there): on the pool's builder thread while earlier messages are sent,
 * or on the worker that sends it when none is ready. Sets *body (malloc'd)
 * and *len, or returns -errno with a reason in err (no personal data): the
 * job is then reported SMTP_PERMANENT with that reason.
 */
typedef int (*smtp_build_fn)(void *arg, char **body, size_t *len, char *err,
			     size_t errlen);

/* Queues a message whose bytes BUILD(ARG) makes on the worker; RELEASE(ARG)
 * is called once the job is over (on the loop thread, or on the thread
 * that calls smtp_durable(): kip-walsync). MESSAGE_ID as for
 * smtp_submit(). 0 or -ENOMEM (RELEASE not called). */
int smtp_submit_built(struct smtp_pool *p, int64_t id, const char *from,
		      const char *to, const char *message_id,
		      smtp_build_fn build, void *arg,
		      void (*release)(void *arg));

/* Jobs accepted but not yet reported. */
size_t smtp_in_flight(const struct smtp_pool *p);

/*
 * Cancels a job the server cannot have accepted: one waiting, being
 * built, or in flight before its last bytes (the transfer is aborted
 * before the final dot, and the job is reported SMTP_CANCELLED). Returns
 * false then, and for unknown ids. Returns true when it is too late: the
 * last bytes of the message are out (or it was accepted and is not yet
 * reported), so it ends as the server decides, SMTP_SENT included. The
 * answer is final the moment it is given (decided under the lock the
 * worker takes before the final bytes), so a caller can record a
 * cancellation in the same transaction as the decision behind it.
 */
bool smtp_cancel(struct smtp_pool *p, int64_t id);

/*
 * Stops taking new jobs, lets each worker finish the transaction it is in,
 * reports what finished (done() is called for those, also while a worker
 * waits for them to finish its message), and joins the threads. Jobs
 * never started are reported as SMTP_CANCELLED, with the reply "shutdown"
 * (or "cancelled" for those smtp_cancel() cancelled): nothing was sent,
 * and the caller decides whether they go back in the queue. Accepts
 * NULL.
 */
void smtp_pool_stop(struct smtp_pool *p);

#endif
