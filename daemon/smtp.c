/* smtp.c — see smtp.h. */
#include "smtp.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "smtpconn.h"
#include "smtpwire.h"

/*
 * The final dot of a message is held back while
 * this many earlier messages of the same connection have been accepted
 * but their records are not yet durable (done() and then, for a lazy
 * record, smtp_durable()): the bound on messages a crash or power loss can
 * make the caller send twice, per connection. The rest of the next
 * message goes out meanwhile, so a connection keeps busy while the caller
 * records the replies before it.
 */
#define UNREPORTED_MAX 2
/*
 * Replies are handed to the caller in batches: one commit and one sync
 * for several messages instead of one each. A reply waits while its
 * connection may still finish a message without it, and the pool is not
 * idle (see due()); never longer than this.
 */
#define COLLECT_DELAY_MS 10

struct smtp_pool;

/*
 * Threads: the loop thread (smtp_submit*(), smtp_cancel(), collect(),
 * starting and stopping), smtp.connections workers (kip-smtp), one
 * builder (kip-seal), and kip-walsync, which calls smtp_durable() after
 * each sync. The fields below say which of them may touch what; "the
 * lock" is the pool's mu. kip-walsync holds walsync's lock when it calls
 * smtp_durable(), so that lock comes before this one; nothing here takes
 * walsync's lock while holding this one.
 */

/* One connection: its thread alone sends on it. */
struct worker {
	struct smtp_pool *p; /* set before the thread starts */
	int unreported;	     /* finished jobs without a durable record;
				under the lock */
};

/* Where a job's bytes are: made in advance by the builder thread, so a
 * connection never waits for the encryption of its next message. */
enum stage {
	STAGE_NEW,	/* to be built (by the builder or a worker) */
	STAGE_BUILDING, /* the builder is on it; still in todo */
	STAGE_READY,	/* body made, or res says why it could not be */
};

/*
 * One message. Who may touch a job follows the list it is on (each list
 * is under the lock):
 *  - before smtp_submit*() queues it: the loop thread;
 *  - todo: the lock; but while its stage is STAGE_BUILDING, kip-seal
 *    makes body, len, build_failed and res without the lock, and no other
 *    thread touches them then (take() skips such a job);
 *  - busy: the worker that took it, for what it builds (when kip-seal
 *    did not) and sends (body, len, off, build_failed, res); the rest
 *    under the lock;
 *  - finished, then in a batch on waiting: the lock (smtp_cancel() reads
 *    res.outcome there); collect() copies res for done() on the loop;
 *  - freed (job_free(), which calls release) by the thread that takes it
 *    off its last list: the loop thread, or kip-walsync in smtp_durable().
 */
struct job {
	int64_t id;		 /* id, from, to, envid, build, build_arg, */
	char *from, *to, *envid; /* release: set before it is queued,
				    read-only after (envid NULL: none) */
	char *body;		 /* given before it is queued, or made by */
	size_t len;		 /* kip-seal or its worker (above) */
	smtp_build_fn build;	 /* body made off the loop (NULL: given) */
	void *build_arg;
	enum stage stage;  /* under the pool's lock */
	bool build_failed; /* res says why; set with body */
	void (*release)(void *);
	atomic_int cancel;	/* set by the loop (under the lock as well);
				   read without the lock by its worker (also
				   in libcurl's progress callback, through
				   smtpconn.c) and kip-seal */
	bool final;		/* its final dot is out: past the point of no
				   return, cancel() no longer stops it (under
				   the pool's lock) */
	bool held_too_long;	/* the loop did not report in time (set by its
				   worker under the lock; read by that worker) */
	struct worker *w;	/* who sends it: set by that worker, read by
				   others, under the lock */
	struct smtp_result res; /* set with body or by its worker, then
				   under the lock (above) */
	struct job *next;	/* the list it is on: under the lock */
};

/* Jobs reported through done() whose records become durable with TICKET.
 * Under the lock while on the pool's waiting list; then the thread that
 * took it off (smtp_durable()'s caller) frees it. */
struct batch {
	uint64_t ticket;
	struct job *jobs;
	struct batch *next;
};

struct smtp_pool {
	/* cfg to arg: set before any thread starts, read-only until
	 * smtp_pool_stop() has joined them (the workers read cfg) */
	const struct kip_config *cfg;
	struct loop *loop;
	smtp_done_fn done;
	smtp_flush_fn flush;
	smtp_wait_fn wait;
	void *arg;
	/* under mu (smtp_durable() runs on kip-walsync) */
	struct batch *waiting, *waiting_tail; /* records not yet durable */
	uint64_t durable;		      /* the highest durable ticket */
	int efd; /* workers write it, the loop reads it */
	pthread_mutex_t mu;
	pthread_cond_t cv;	      /* a job to take, or stopping */
	pthread_cond_t to_build;      /* a job to build, or stopping */
	pthread_cond_t reported;      /* unreported fell, a job was
					 cancelled, a job finished or a
					 worker ended */
	struct job *todo, *todo_tail; /* waiting for a worker; under mu */
	struct job *busy;	      /* taken by a worker (for cancel);
					 under mu */
	struct job *finished;	      /* waiting for the loop; under mu */
	int64_t collect_timer;	      /* a delayed smtp_collect() (0: none);
					 the loop thread's only */
	size_t in_flight;	      /* queued, not yet reported; the loop
					 thread's only */
	bool stopping;		      /* under mu */
	atomic_int no_reports;	      /* the relay refused the request
					 for reports: set by a worker,
					 read by all (atomic) */
	bool said_no_reports;	      /* logged that the relay gives
					 none; the loop thread's only */
	int n_threads, live;	      /* n_threads: the loop thread's; live
					 (workers not yet ended): under mu */
	bool has_builder;	      /* has_builder to threads: the loop */
	pthread_t builder;	      /* thread's only (start and stop) */
	pthread_t threads[SMTP_MAX_CONNECTIONS];
	struct worker workers[SMTP_MAX_CONNECTIONS]; /* see struct worker */
};

int smtp_check_libcurl(char *err, size_t errlen)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	bool smtp = false;

	for (const char *const *p = v->protocols; p && *p; p++)
		if (strcmp(*p, "smtps") == 0)
			smtp = true;
	if (v->version_num < 0x074f00) {
		snprintf(err, errlen,
			 "libcurl %s is older than 7.79 (STARTTLS bypass, "
			 "CVE-2021-22946/22947); refusing to send mail",
			 v->version);
		return -ENOTSUP;
	}
	if (!smtp || !(v->features & CURL_VERSION_SSL)) {
		snprintf(err, errlen, "libcurl %s lacks SMTP over TLS",
			 v->version);
		return -ENOTSUP;
	}
	return 0;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->body)
		explicit_bzero(j->body, j->len);
	free(j->body);
	if (j->release)
		j->release(j->build_arg);
	free(j->from);
	free(j->to);
	free(j->envid);
	free(j);
}

/* Before the last bytes of J: waits until fewer than UNREPORTED_MAX
 * earlier messages of its connection wait for done(). False when the job
 * was cancelled meanwhile or the wait took longer than the transfer may. */
static bool may_finish(struct job *j, long timeout_s)
{
	struct smtp_pool *p = j->w->p;
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_s > 0 ? timeout_s : 60;
	pthread_mutex_lock(&p->mu);
	while (j->w->unreported >= UNREPORTED_MAX && !atomic_load(&j->cancel))
		if (pthread_cond_timedwait(&p->reported, &p->mu, &until) != 0) {
			j->held_too_long = true;
			break;
		}
	ok = !atomic_load(&j->cancel) && !j->held_too_long;
	/* Decided under the lock smtp_cancel() takes: a cancellation
	 * either comes before this (and the final dot never goes) or is
	 * told it came too late. */
	j->final = ok;
	pthread_mutex_unlock(&p->mu);
	return ok;
}

/* Before the final dot of job ARG (smtpconn_msg.may_finish). */
static bool finish_ok(void *arg)
{
	struct job *j = arg;

	return may_finish(j, (long)j->w->p->cfg->smtp_timeout_s);
}

/* J's result from how its transaction went (smtpconn.h). */
static void classify(struct job *j, const struct smtpconn_status *st)
{
	const char *why;
	bool refused = st->code >= 500 && st->code < 600;

	j->res.id = j->id;
	j->res.code = st->code;
	if (st->err == 0 && st->code >= 200 && st->code < 300) {
		j->res.outcome = SMTP_SENT;
		j->res.reports = st->reports;
		snprintf(j->res.reply, sizeof(j->res.reply), "%ld accepted",
			 st->code);
		return;
	}
	if (st->err == -ECANCELED && j->held_too_long) {
		j->res.outcome = SMTP_TEMPORARY;
		snprintf(j->res.reply, sizeof(j->res.reply),
			 "not finished: earlier replies were not recorded in "
			 "time");
		return;
	}
	if (st->err == -ECANCELED) {
		j->res.outcome = SMTP_CANCELLED;
		snprintf(j->res.reply, sizeof(j->res.reply), "cancelled");
		return;
	}
	/* A 5xx (also a refused login's 535) or an envelope that cannot be
	 * sent is final; anything else may go later. */
	j->res.outcome =
	    refused || st->err == -EINVAL ? SMTP_PERMANENT : SMTP_TEMPORARY;
	why = refused ? "the server refused it" : st->cause;
	j->res.cause = why;
	/* The cause first, then libcurl's words or the command and the
	 * server's reply line; a longer reason is cut (snprintf terminates
	 * it). */
	if (snprintf(j->res.reply, sizeof(j->res.reply), "%s%s%s",
		     why ? why : "", why && st->detail[0] ? " — " : "",
		     st->detail) < 0)
		j->res.reply[0] = '\0';
	j->res.reply[strcspn(j->res.reply, "\r\n")] = '\0';
}

static void send_one(struct smtpconn *conn, struct job *j)
{
	struct smtp_pool *p = j->w->p;
	/* Reports are asked for unless this relay refused the request. */
	struct smtpconn_msg m = {
	    .from = j->from,
	    .to = j->to,
	    .envid = atomic_load(&p->no_reports) ? NULL : j->envid,
	    .body = j->body,
	    .len = j->len,
	    .cancel = &j->cancel,
	    .may_finish = finish_ok,
	    .arg = j,
	};
	struct smtpconn_status st = {.err = -ECANCELED};

	if (!atomic_load(&j->cancel))
		smtpconn_send(conn, &m, &st);
	if (st.dsn_refused)
		atomic_store(&p->no_reports, 1);
	classify(j, &st);
}

/* Makes the bytes of a job that has a builder, unless made already. Not
 * for a job cancelled already: send_one() reports that without sending.
 * False when building failed (j->res says why: a permanent failure). */
static bool build_body(struct job *j)
{
	char err[200] = "";
	int r;

	if (!j->build || j->body || atomic_load(&j->cancel))
		return !j->build_failed;
	r = j->build(j->build_arg, &j->body, &j->len, err, sizeof(err));
	if (r == 0)
		return true;
	j->body = NULL;
	j->len = 0;
	j->build_failed = true;
	j->res = (struct smtp_result){j->id, SMTP_PERMANENT, 0, ""};
	j->res.build_err = r;
	snprintf(j->res.reply, sizeof(j->res.reply),
		 "cannot build the message: %s", err);
	return false;
}

static void unlink_busy(struct smtp_pool *p, struct job *j)
{
	for (struct job **q = &p->busy; *q; q = &(*q)->next) {
		if (*q == j) {
			*q = j->next;
			return;
		}
	}
}

/* Under the lock: unlinks and returns the first job of todo that the
 * builder is not on (ready, or for the caller to build), or NULL. */
static struct job *take(struct smtp_pool *p)
{
	struct job *prev = NULL;

	for (struct job *j = p->todo; j; prev = j, j = j->next) {
		if (j->stage == STAGE_BUILDING)
			continue;
		if (prev)
			prev->next = j->next;
		else
			p->todo = j->next;
		if (p->todo_tail == j)
			p->todo_tail = prev;
		j->next = NULL;
		return j;
	}
	return NULL;
}

/* Under the lock: the first job of todo still to be built, left in todo
 * (a worker may take it once it is ready), or NULL. */
static struct job *next_to_build(struct smtp_pool *p)
{
	for (struct job *j = p->todo; j; j = j->next)
		if (j->stage == STAGE_NEW && !atomic_load(&j->cancel))
			return j;
	return NULL;
}

/* Builds the jobs waiting in todo, oldest first, while the workers send
 * earlier ones: a worker finds its next message ready. A worker that finds
 * none ready builds one itself, so this thread only ever saves time. */
static void *builder(void *arg)
{
	struct smtp_pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j = NULL;

		while (!p->stopping && !(j = next_to_build(p)))
			pthread_cond_wait(&p->to_build, &p->mu);
		if (p->stopping)
			break;
		j->stage = STAGE_BUILDING;
		pthread_mutex_unlock(&p->mu);
		build_body(j);
		pthread_mutex_lock(&p->mu);
		j->stage = STAGE_READY;
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct smtp_pool *p = w->p;
	struct smtpconn *c = NULL;
	uint64_t one = 1;

	(void)smtpconn_new(p->cfg, &c); /* NULL: out of memory, below */

	for (;;) {
		struct job *j = NULL;

		pthread_mutex_lock(&p->mu);
		while (!p->stopping && !(j = take(p)))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stopping) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		j->w = w;
		j->next = p->busy;
		p->busy = j;
		pthread_mutex_unlock(&p->mu);

		if (c && build_body(j)) {
			send_one(c, j);
		} else if (c) {
			/* building failed: j->res says why */
		} else {
			j->res = (struct smtp_result){j->id, SMTP_TEMPORARY, 0,
						      "out of memory"};
		}

		pthread_mutex_lock(&p->mu);
		unlink_busy(p, j);
		j->next = p->finished;
		p->finished = j;
		w->unreported++;
		pthread_cond_broadcast(&p->reported);
		pthread_mutex_unlock(&p->mu);
		(void)!write(p->efd, &one, sizeof(one));
	}
	smtpconn_free(c);
	pthread_mutex_lock(&p->mu);
	p->live--;
	pthread_cond_broadcast(&p->reported);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Under the lock: the records of LIST are durable, so their connections
 * may finish more messages. */
static void unhold(struct smtp_pool *p, struct job *list)
{
	for (struct job *j = list; j; j = j->next)
		if (j->w)
			j->w->unreported--;
	pthread_cond_broadcast(&p->reported);
}

static void free_jobs(struct job *list)
{
	while (list) {
		struct job *j = list->next;

		job_free(list);
		list = j;
	}
}

/* Under the lock: whether the finished jobs should go to the caller now.
 * Yes when a connection could not finish its next message without their
 * records (it has UNREPORTED_MAX without a durable record), when nothing
 * else is being sent or waits to be (nothing further would come to
 * batch them with), and while the pool stops. */
static bool due(const struct smtp_pool *p)
{
	if (p->stopping || (!p->todo && !p->busy))
		return true;
	for (const struct job *j = p->finished; j; j = j->next)
		if (!j->w || j->w->unreported >= UNREPORTED_MAX)
			return true;
	return false;
}

static void collect(struct smtp_pool *p, bool force);

/* On the loop thread: says once per pool (so once per start or reload)
 * that the relay gives no delivery reports, when a message it accepted
 * went without asking for them. */
static void said_reports(struct smtp_pool *p, const struct smtp_result *res)
{
	if (res->outcome != SMTP_SENT || res->reports || p->said_no_reports)
		return;
	p->said_no_reports = true;
	if (atomic_load(&p->no_reports))
		log_notice("smtp: the relay names DSN but refused the "
			   "request for delivery reports; messages go "
			   "without it and stay 'sent' with no reports");
	else
		log_notice("smtp: the relay gives no delivery reports (its "
			   "EHLO names no DSN); messages go without asking "
			   "for them and stay 'sent' with no reports");
}

static void collect_later(struct loop *loop, void *arg)
{
	struct smtp_pool *p = arg;

	(void)loop;
	p->collect_timer = 0;
	collect(p, true);
}

/* On the loop thread: hands finished jobs to the caller in one batch:
 * now if FORCE or due(), else within COLLECT_DELAY_MS. */
static void collect(struct smtp_pool *p, bool force)
{
	struct job *list, *j;
	struct smtp_result *res;
	struct batch *b = NULL;
	size_t n = 0, i = 0;
	uint64_t v, ticket = 0;

	(void)!read(p->efd, &v, sizeof(v));
	pthread_mutex_lock(&p->mu);
	if (p->finished && !force && !due(p)) {
		pthread_mutex_unlock(&p->mu);
		if (p->collect_timer)
			return;
		p->collect_timer =
		    loop_timer_at(p->loop, loop_now_ms() + COLLECT_DELAY_MS,
				  collect_later, p);
		if (p->collect_timer > 0)
			return;
		p->collect_timer = 0; /* no timer: now, then */
		pthread_mutex_lock(&p->mu);
	}
	list = p->finished;
	p->finished = NULL;
	pthread_mutex_unlock(&p->mu);
	if (list && p->collect_timer) {
		loop_timer_cancel(p->loop, p->collect_timer);
		p->collect_timer = 0;
	}
	for (j = list; j; j = j->next)
		n++;
	if (!n)
		return;
	res = calloc(n, sizeof(*res));
	for (j = list; j; j = j->next) {
		if (res)
			res[i++] = j->res;
		said_reports(p, &j->res);
	}
	/* Reported jobs are no longer in flight: done() may hand over new
	 * ones into their slots in the very transaction that records these
	 * results (one commit per batch). */
	p->in_flight -= n;
	if (res)
		ticket = p->done(p->arg, res, n);
	else
		log_err("smtp: out of memory reporting %zu results", n);
	free(res);
	if (ticket)
		b = malloc(sizeof(*b));
	pthread_mutex_lock(&p->mu);
	/* Without a batch (out of memory) the record is in the WAL at
	 * least: safe from a crash of kipd. */
	if (b && ticket > p->durable) {
		*b = (struct batch){ticket, list, NULL};
		if (p->waiting_tail)
			p->waiting_tail->next = b;
		else
			p->waiting = b;
		p->waiting_tail = b;
		list = NULL;
		b = NULL;
	} else {
		unhold(p, list);
	}
	pthread_mutex_unlock(&p->mu);
	free(b);
	free_jobs(list);
}

void smtp_collect(struct smtp_pool *p)
{
	collect(p, false);
}

void smtp_durable(struct smtp_pool *p, uint64_t ticket)
{
	struct batch *done = NULL, **tail = &done;

	pthread_mutex_lock(&p->mu);
	if (ticket > p->durable)
		p->durable = ticket;
	while (p->waiting && p->waiting->ticket <= p->durable) {
		struct batch *b = p->waiting;

		p->waiting = b->next;
		if (!p->waiting)
			p->waiting_tail = NULL;
		unhold(p, b->jobs);
		b->next = NULL;
		*tail = b;
		tail = &b->next;
	}
	pthread_mutex_unlock(&p->mu);
	while (done) {
		struct batch *b = done;

		done = b->next;
		free_jobs(b->jobs);
		free(b);
	}
}

static void on_eventfd(struct loop *loop, int fd, short revents, void *arg)
{
	struct smtp_pool *p = arg;
	uint64_t v;

	(void)loop, (void)fd, (void)revents;
	if (p->wait && p->wait(p->arg)) {
		(void)!read(p->efd, &v, sizeof(v)); /* smtp_collect() follows */
		return;
	}
	smtp_collect(p);
}

int smtp_pool_start(const struct kip_config *cfg, struct loop *loop,
		    smtp_done_fn done, smtp_flush_fn flush, smtp_wait_fn wait,
		    void *arg, struct smtp_pool **ret, char *err, size_t errlen)
{
	struct smtp_pool *p;
	int r;

	r = smtp_check_libcurl(err, errlen);
	if (r < 0)
		return r;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl cannot be initialised");
		return -EIO;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct smtp_pool){.cfg = cfg,
				.loop = loop,
				.done = done,
				.flush = flush,
				.wait = wait,
				.arg = arg};
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_cond_init(&p->to_build, NULL);
	pthread_cond_init(&p->reported, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0 ||
	    loop_add_fd(loop, p->efd, POLLIN, on_eventfd, p) < 0) {
		snprintf(err, errlen, "smtp: eventfd: %s", strerror(errno));
		if (p->efd >= 0)
			close(p->efd);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		pthread_cond_destroy(&p->to_build);
		pthread_cond_destroy(&p->reported);
		free(p);
		return -EIO;
	}
	for (int i = 0; i < cfg->smtp_connections && i < SMTP_MAX_CONNECTIONS;
	     i++) {
		p->workers[i] = (struct worker){p, 0};
		p->live++;
		if (pthread_create(&p->threads[i], NULL, worker,
				   &p->workers[i]) != 0) {
			p->live--;
			break;
		}
		pthread_setname_np(p->threads[i], "kip-smtp");
		p->n_threads++;
	}
	if (!p->n_threads) {
		snprintf(err, errlen, "smtp: cannot start a worker thread");
		smtp_pool_stop(p);
		return -EAGAIN;
	}
	/* Without it the workers build their messages themselves. */
	p->has_builder = pthread_create(&p->builder, NULL, builder, p) == 0;
	if (p->has_builder)
		pthread_setname_np(p->builder, "kip-seal");
	*ret = p;
	return 0;
}

static struct job *new_job(int64_t id, const char *from, const char *to,
			   const char *message_id)
{
	struct job *j = calloc(1, sizeof(*j));
	char envid[128];

	if (!j || !(j->from = strdup(from)) || !(j->to = strdup(to)) ||
	    (message_id &&
	     smtpwire_envid(message_id, envid, sizeof(envid)) == 0 &&
	     !(j->envid = strdup(envid)))) {
		if (j) {
			free(j->from);
			free(j->to);
			free(j);
		}
		return NULL;
	}
	j->id = id;
	return j;
}

static void enqueue(struct smtp_pool *p, struct job *j)
{
	pthread_mutex_lock(&p->mu);
	if (p->todo_tail)
		p->todo_tail->next = j;
	else
		p->todo = j;
	p->todo_tail = j;
	p->in_flight++;
	j->stage = j->build ? STAGE_NEW : STAGE_READY;
	pthread_cond_signal(&p->cv);
	if (j->stage == STAGE_NEW)
		pthread_cond_signal(&p->to_build);
	pthread_mutex_unlock(&p->mu);
}

int smtp_submit(struct smtp_pool *p, int64_t id, const char *from,
		const char *to, const char *message_id, char *body, size_t len)
{
	struct job *j = new_job(id, from, to, message_id);

	if (!j)
		return -ENOMEM;
	j->body = body;
	j->len = len;
	enqueue(p, j);
	return 0;
}

int smtp_submit_built(struct smtp_pool *p, int64_t id, const char *from,
		      const char *to, const char *message_id,
		      smtp_build_fn build, void *arg,
		      void (*release)(void *arg))
{
	struct job *j = new_job(id, from, to, message_id);

	if (!j)
		return -ENOMEM;
	j->build = build;
	j->build_arg = arg;
	j->release = release;
	enqueue(p, j);
	return 0;
}

size_t smtp_in_flight(const struct smtp_pool *p)
{
	return p ? p->in_flight : 0;
}

bool smtp_cancel(struct smtp_pool *p, int64_t id)
{
	bool too_late = false;

	pthread_mutex_lock(&p->mu);
	for (struct job *j = p->todo; j; j = j->next)
		if (j->id == id)
			atomic_store(&j->cancel, 1);
	for (struct job *j = p->busy; j; j = j->next) {
		if (j->id != id)
			continue;
		if (j->final)
			too_late = true;
		else
			atomic_store(&j->cancel, 1);
	}
	/* Finished, not yet reported: only an accepted one is too late. */
	for (struct job *j = p->finished; j; j = j->next)
		if (j->id == id && j->res.outcome == SMTP_SENT)
			too_late = true;
	pthread_cond_broadcast(&p->reported); /* one may wait in may_finish */
	pthread_mutex_unlock(&p->mu);
	return too_late;
}

void smtp_pool_stop(struct smtp_pool *p)
{
	struct job *left;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_cond_broadcast(&p->to_build);
	/* Each worker finishes the transaction it is in; one waiting in
	 * may_finish() needs the records before it durable, so keep
	 * reporting until every worker has ended. */
	while (p->live > 0) {
		if (p->finished || p->waiting) {
			pthread_mutex_unlock(&p->mu);
			collect(p, true);
			smtp_durable(p, p->flush(p->arg));
			pthread_mutex_lock(&p->mu);
			continue;
		}
		pthread_cond_wait(&p->reported, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	if (p->has_builder)
		pthread_join(p->builder, NULL);
	/* No thread is left to take or build them. */
	left = p->todo;
	p->todo = p->todo_tail = NULL;
	/* Never started: reported as cancelled, "shutdown" unless
	 * smtp_cancel() had cancelled them. */
	while (left) {
		struct job *j = left;

		left = j->next;
		j->res = (struct smtp_result){j->id, SMTP_CANCELLED, 0, ""};
		snprintf(j->res.reply, sizeof(j->res.reply), "%s",
			 atomic_load(&j->cancel) ? "cancelled" : "shutdown");
		pthread_mutex_lock(&p->mu);
		j->next = p->finished;
		p->finished = j;
		pthread_mutex_unlock(&p->mu);
	}
	collect(p, true);
	smtp_durable(p, p->flush(p->arg));
	if (p->collect_timer)
		loop_timer_cancel(p->loop, p->collect_timer);
	loop_del_fd(p->loop, p->efd);
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->to_build);
	pthread_cond_destroy(&p->reported);
	free(p);
}
