/* outbox.c — see outbox.h. */
#include "outbox.h"

#include <errno.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "event.h"
#include "kipd.h"
#include "rowval.h"
#include "sealed.h"
#include "log.h"
#include "loop.h"
#include "smime.h"
#include "smtp.h"
#include "store.h"
#include "txn.h"

/* Jobs handed to the workers at once, per connection: up to two whose
 * replies wait to be recorded, one being sent and one ready, so that a
 * connection goes on while the loop commits or approves a plan. The bound
 * on duplicates after a crash is smtp.c's: a connection does not finish a
 * message (its final dot) while two replies before it are without a
 * durable record (on_results() and the sync after it). */
#define IN_FLIGHT_PER_CONNECTION 4
#define IN_FLIGHT_MAX (SMTP_MAX_CONNECTIONS * IN_FLIGHT_PER_CONNECTION)

/* Every field is the loop thread's, except where one says otherwise: the
 * workers get copies of what they need (smtp.h, sealed.h). */
struct outbox {
	struct kipd *k;
	struct smtp_pool *pool; /* read by kip-walsync too, in synced_now():
				   set before store_on_synced() registers it,
				   cleared after that is undone */
	int64_t timer;
	int kicked; /* the timer is armed to run at once: a kick adds nothing */
	int stopping; /* results still come in; nothing new goes out */
	/* the entity of the last sealed row handed over: the recipients of
	 * one distribution follow each other in the queue (the entity is
	 * shared with kip-seal and the workers by reference count) */
	int64_t entity_id;
	struct sealed_entity *entity;
	/* the rows handed to the workers, as claim() read them: what
	 * record() needs of a row when its reply comes */
	json_t *in_flight[IN_FLIGHT_MAX];
};

/*
 * Why the outbox row "o" must not leave, or NULL: a decision taken after
 * it was queued that covers it. The decisions cancel their rows when they
 * are taken (outbox_cancel()); this is the same rule read again from the
 * facts, wherever a row could otherwise go out or go back in the queue:
 * when it is claimed, when its result is recorded, and at start.
 */
#define STOP_REASON                                                            \
	"CASE WHEN o.citizen_id IS NOT NULL AND NOT EXISTS"                    \
	" (SELECT 1 FROM citizens c WHERE c.id = o.citizen_id)"                \
	" THEN 'citizen erased'"                                               \
	" WHEN (SELECT x.action FROM consents x WHERE"                         \
	" x.citizen_id = o.citizen_id AND x.scope = 'plan'"                    \
	" ORDER BY x.id DESC LIMIT 1) = 'withdrawn'"                           \
	" THEN 'consent withdrawn'"                                            \
	" WHEN (SELECT x.action FROM consents x WHERE"                         \
	" x.citizen_id = o.citizen_id AND x.scope = 'relatives'"               \
	" ORDER BY x.id DESC LIMIT 1) = 'withdrawn' AND EXISTS"                \
	" (SELECT 1 FROM contacts k WHERE k.id = o.contact_id"                 \
	" AND k.kind = 'relative') THEN 'relatives consent withdrawn'"         \
	" WHEN o.plan_id IS NOT NULL AND o.contact_id IS NOT NULL AND"         \
	" NOT EXISTS (SELECT 1 FROM plan_members m WHERE"                      \
	" m.plan_id = o.plan_id AND m.contact_id = o.contact_id)"              \
	" THEN 'removed from the plan' END"

static void run(struct loop *loop, void *arg);

/* Tells the coordinator of a message that will not arrive (failed, or
 * turned manual when sent); set by outbox_set_undelivered(). */
static void (*on_undelivered)(struct kipd *k, int64_t row);

void outbox_set_undelivered(void (*fn)(struct kipd *k, int64_t row))
{
	on_undelivered = fn;
}

static void undelivered(struct kipd *k, int64_t row)
{
	if (on_undelivered)
		on_undelivered(k, row);
}
static void message_event(struct kipd *k, int64_t id, json_t *row,
			  const char *state);

static void schedule(struct outbox *ob, uint64_t delay_ms)
{
	struct loop *loop = ob->k->loop;

	loop_timer_cancel(loop, ob->timer);
	ob->timer = loop_timer_at(loop, loop_now_ms() + delay_ms, run, ob);
	/* A kick replaced by a later time must not stand: the next kick
	 * would be ignored, and a row queued then wait for that time (or
	 * for ever, when nothing else waited). */
	ob->kicked = delay_ms == 0;
}

/* Arms the timer for the earliest deferred or queued row. */
static void schedule_next(struct outbox *ob)
{
	int64_t next;

	if (!ob->pool)
		return;
	if (store_int(ob->k->store, &next,
		      "SELECT min(next_attempt_at) FROM outbox"
		      " WHERE state IN ('queued', 'deferred')",
		      NULL) < 0 ||
	    next == 0) {
		loop_timer_cancel(ob->k->loop, ob->timer);
		ob->timer = 0;
		ob->kicked = 0;
		/* min() of nothing is NULL, read as 0: nothing waits. But a
		 * row may be due at 0 too; check it exists. */
		if (store_int(ob->k->store, &next,
			      "SELECT 1 FROM outbox WHERE state IN"
			      " ('queued', 'deferred') LIMIT 1",
			      NULL) == 0)
			schedule(ob, 0);
		return;
	}
	next -= (int64_t)clock_now();
	schedule(ob, next <= 0 ? 0 : (uint64_t)next * 1000u);
}

/* On a worker: encrypts and builds the message (sealed.h). */
static int build_sealed(void *arg, char **body, size_t *len, char *err,
			size_t errlen)
{
	struct buf out = BUF_INIT;
	int r = sealed_build(arg, &out, err, errlen);

	if (r < 0) {
		buf_free(&out);
		return r;
	}
	*len = out.len;
	*body = buf_steal(&out);
	return *body ? 0 : -ENOMEM;
}

static void release_sealed(void *arg)
{
	sealed_free(arg);
}

/* Drops the cached entity: kipd keeps no plan text in memory for
 * messages that are over. */
static void drop_entity(struct outbox *ob)
{
	sealed_entity_unref(ob->entity);
	ob->entity = NULL;
	ob->entity_id = 0;
}

/* The shared entity of a sealed row, from the one-entry cache or read. */
static struct sealed_entity *entity(struct outbox *ob, int64_t id)
{
	char *body = NULL;

	if (ob->entity && ob->entity_id == id)
		return sealed_entity_ref(ob->entity);
	if (store_text(ob->k->store, &body,
		       "SELECT body FROM outbox_entity WHERE id = ?", "i",
		       id) < 0 ||
	    !body) {
		free(body);
		return NULL;
	}
	drop_entity(ob);
	ob->entity = sealed_entity_new(body, strlen(body));
	ob->entity_id = ob->entity ? id : 0;
	return sealed_entity_ref(ob->entity);
}

/* A sealed message (ROW: its outbox_sealed columns and the outbox row's
 * message_id and cipher): its ingredients go to a worker, which
 * encrypts. */
static int submit_sealed(struct outbox *ob, int64_t id, const char *to,
			 json_t *row)
{
	struct kipd *k = ob->k;
	struct sealed *s = calloc(1, sizeof(*s));
	const char *cipher = row_str(row, "cipher"), *receipt = NULL;
	int r;

	if (s) {
		s->entity = entity(ob, row_num(row, "entity_id"));
		s->cert_pem = strdup(row_str(row, "cert_pem"));
		s->from = strdup(row_str(row, "sender") ? row_str(row, "sender")
							: k->cfg->org_mailbox);
		s->to = strdup(to);
		s->subject = strdup(row_str(row, "subject"));
		s->message_id = strdup(row_str(row, "message_id"));
		receipt = outbox_receipt_to(k, row_num(row, "plan_id"),
					    row_num(row, "contact_id"));
		s->receipt_to = receipt ? strdup(receipt) : NULL;
		s->date = (time_t)row_num(row, "date");
		s->cipher = cipher && strcmp(cipher, "gcm") == 0 ? SMIME_GCM
								 : SMIME_CBC;
	}
	if (!s || !s->entity || !s->cert_pem || !s->from || !s->to ||
	    !s->subject || !s->message_id || (receipt && !s->receipt_to)) {
		sealed_free(s);
		return -ENOMEM;
	}
	r = smtp_submit_built(ob->pool, id, k->cfg->org_mailbox, to,
			      row_str(row, "message_id"), build_sealed, s,
			      release_sealed);
	if (r < 0)
		sealed_free(s);
	return r;
}

const char *outbox_receipt_to(const struct kipd *k, int64_t plan_id,
			      int64_t contact_id)
{
	return k->cfg->mail_read_receipts && plan_id && contact_id
		   ? k->cfg->org_mailbox
		   : NULL;
}

/* Hands ROW (as claim() read it) to the workers: a message stored whole
 * (outbox_body), or one to be encrypted when sent (outbox_sealed). */
static int submit_row(struct outbox *ob, json_t *row)
{
	struct kipd *k = ob->k;
	int64_t id = row_num(row, "id");
	const char *to = row_str(row, "recipient");
	const char *stored = row_str(row, "body");
	char *body;
	int r;

	if (stored) {
		body = strdup(stored);
		r = body ? smtp_submit(ob->pool, id, k->cfg->org_mailbox, to,
				       row_str(row, "message_id"), body,
				       strlen(body))
			 : -ENOMEM;
		if (r < 0)
			free(body);
	} else if (row_num(row, "entity_id")) {
		r = submit_sealed(ob, id, to, row);
	} else {
		r = -ENOENT;
	}
	return r;
}

/* A sealed message is final: what it was built from goes (the plan
 * itself stays in plan_versions), its entity with the last of them. */
static void forget_sealed(struct kipd *k, int64_t id, int64_t entity_id)
{
	struct outbox *ob = k->outbox;

	if (!entity_id)
		return;
	store_exec(k->store, "DELETE FROM outbox_sealed WHERE id = ?", "i", id);
	if (store_exec(k->store,
		       "DELETE FROM outbox_entity WHERE id = ? AND NOT EXISTS"
		       " (SELECT 1 FROM outbox_sealed WHERE entity_id = ?)",
		       "ii", entity_id, entity_id) > 0 &&
	    ob && ob->entity_id == entity_id)
		drop_entity(ob);
}

/* Inside the caller's transaction: ends row ID, not sent, in STATE
 * ("cancelled" or "manual") with REASON, and forgets what a sealed one
 * was to be built from (ENTITY_ID, 0 for none). 0 or -errno. */
static int end_unsent(struct kipd *k, int64_t id, const char *state,
		      const char *reason, int64_t entity_id)
{
	int r = store_exec(k->store,
			   "UPDATE outbox SET state = ?, reason = ?,"
			   " updated_at = ? WHERE id = ?",
			   "ssii", state, reason, (int64_t)clock_now(), id);

	if (r < 0)
		return r;
	forget_sealed(k, id, entity_id);
	log_info("outbox: message %lld %s (%s)", (long long)id, state, reason);
	return 0;
}

/* Why the claimed sealed ROW cannot go as queued, or NULL: its
 * certificate, checked again now (chain, revocation, validity) as it was
 * when the row was queued. */
static const char *cert_block(struct kipd *k, json_t *row, char *reason,
			      size_t len)
{
	const char *pem = row_str(row, "cert_pem");
	const char *domain = row_str(row, "cert_domain");

	if (!pem || !k->trust)
		return NULL;
	/* An organisation certificate (orgcert.h) must still be the one
	 * registered for its domain, and still be for that domain. */
	if (domain && !row_num(row, "domain_registered")) {
		snprintf(reason, len,
			 "no longer the organisation certificate of %s",
			 domain);
		return reason;
	}
	if (smime_check_recipient(k->trust, pem,
				  domain ? domain : row_str(row, "recipient"),
				  clock_now(), reason, len) == 0)
		return NULL;
	return reason;
}

/* Inside claim()'s transaction: whether ROW may still go. A row a
 * decision covers is cancelled; one whose certificate is no longer valid
 * needs manual delivery, and the coordinator is told. */
static bool still_wanted(struct kipd *k, json_t *row)
{
	int64_t id = row_num(row, "id");
	char why[160], text[240];

	if (row_str(row, "stop")) {
		end_unsent(k, id, "cancelled", row_str(row, "stop"),
			   row_num(row, "entity_id"));
		return false;
	}
	if (!cert_block(k, row, why, sizeof(why)))
		return true;
	snprintf(text, sizeof(text),
		 "certificate %s when the message was "
		 "to be sent",
		 why);
	end_unsent(k, id, "manual", text, row_num(row, "entity_id"));
	message_event(k, id, row, "manual");
	undelivered(k, id);
	return false;
}

/* Inside the caller's transaction: marks the due rows that fit in the
 * free slots as sending, and returns them to hand over once the
 * transaction has committed, read once with what the workers need (the
 * stored body, or the sealed row) and what record() will. NULL when
 * nothing is due. */
static json_t *claim(struct outbox *ob)
{
	struct store *st = ob->k->store;
	size_t cap =
	    (size_t)ob->k->cfg->smtp_connections * IN_FLIGHT_PER_CONNECTION;
	size_t busy = smtp_in_flight(ob->pool), i;
	json_t *rows, *row;

	if (!ob->pool || ob->stopping || busy >= cap)
		return NULL;
	if (store_rows(st, &rows,
		       "SELECT o.id, o.recipient, o.message_id, o.cipher,"
		       " o.kind, o.citizen_id, o.plan_id, o.meeting_id,"
		       " o.contact_id,"
		       " o.created_at, o.attempts + 1 AS attempts, b.body,"
		       " s.entity_id, s.cert_pem, s.sender, s.subject, s.date,"
		       " o.cert_domain, EXISTS (SELECT 1 FROM domain_certs d"
		       "  WHERE d.domain = o.cert_domain"
		       "  AND d.cert_pem = s.cert_pem) AS domain_registered,"
		       " " STOP_REASON " AS stop"
		       " FROM outbox o"
		       " LEFT JOIN outbox_body b ON b.id = o.id"
		       " LEFT JOIN outbox_sealed s ON s.id = o.id"
		       " WHERE o.state IN ('queued', 'deferred')"
		       " AND o.next_attempt_at <= ?"
		       " ORDER BY o.next_attempt_at, o.id LIMIT ?",
		       "ii", (int64_t)clock_now(), (int64_t)(cap - busy)) < 0)
		return NULL;
	for (i = 0; i < json_array_size(rows);) {
		row = json_array_get(rows, i);
		if (!still_wanted(ob->k, row)) {
			json_array_remove(rows, i);
			continue;
		}
		store_exec(st,
			   "UPDATE outbox SET state = 'sending', reason = NULL,"
			   " updated_at = ? WHERE id = ?",
			   "ii", (int64_t)clock_now(), row_num(row, "id"));
		i++;
	}
	return rows;
}

/* After the commit that claimed ROWS: gives them to the SMTP workers. */
static void hand_over(struct outbox *ob, json_t *rows)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		if (submit_row(ob, row) < 0) {
			log_err("outbox: message %lld could not be handed to "
				"the SMTP workers; it stays in sending until "
				"restart",
				(long long)row_num(row, "id"));
			continue;
		}
		/* The body was copied; record() needs only the rest. */
		json_object_del(row, "body");
		json_object_del(row, "cert_pem");
		for (size_t f = 0; f < IN_FLIGHT_MAX; f++) {
			if (!ob->in_flight[f]) {
				ob->in_flight[f] = json_incref(row);
				break;
			}
		}
	}
	json_decref(rows);
	if (smtp_in_flight(ob->pool) <
	    (size_t)ob->k->cfg->smtp_connections * IN_FLIGHT_PER_CONNECTION)
		schedule_next(ob);
}

/*
 * Takes due rows, marks them sending (committed), hands them over. The
 * commit does not wait for the disk: a claim lost to a power cut leaves
 * the row queued, as the restart would make it anyway (outbox_open()), and
 * the bound on what a crash makes kipd send twice rests on the records of
 * the replies, which the pool waits for (smtp.h). The loop, which also
 * serves the control socket, does not block in an fsync for it.
 */
static void run(struct loop *loop, void *arg)
{
	struct outbox *ob = arg;
	struct txn t;
	uint64_t ticket;
	json_t *rows;

	(void)loop;
	ob->timer = 0;
	ob->kicked = 0;
	if (!ob->pool || txn_begin_lazy(ob->k, &t) < 0)
		return;
	rows = claim(ob);
	if (txn_commit_lazy(&t, &ticket) < 0) {
		json_decref(rows);
		return;
	}
	if (rows)
		hand_over(ob, rows);
}

static int64_t backoff(const struct kip_config *cfg, int64_t attempts)
{
	int64_t gap = cfg->smtp_retry_first_s;

	for (int64_t i = 1; i < attempts && gap < cfg->smtp_retry_max_s; i++)
		gap *= 2;
	return gap < cfg->smtp_retry_max_s ? gap : cfg->smtp_retry_max_s;
}

/* message.sent, .deferred, .failed or .manual (and invitation.sent) for
 * ROW (an outbox row with kind, citizen_id, plan_id and meeting_id). */
static void message_event(struct kipd *k, int64_t id, json_t *row,
			  const char *state)
{
	char type[64];

	snprintf(type, sizeof(type), "message.%s", state);
	event_emit(k, type,
		   json_integer_value(json_object_get(row, "citizen_id")),
		   json_integer_value(json_object_get(row, "plan_id")),
		   json_pack("{s:I, s:O}", "message", (json_int_t)id, "kind",
			     json_object_get(row, "kind")));
	if (strcmp(state, "sent") == 0 &&
	    strcmp(json_string_value(json_object_get(row, "kind")),
		   "invitation") == 0)
		event_emit(
		    k, "invitation.sent",
		    json_integer_value(json_object_get(row, "citizen_id")),
		    json_integer_value(json_object_get(row, "plan_id")),
		    json_pack("{s:I, s:O}", "message", (json_int_t)id,
			      "meeting", json_object_get(row, "meeting_id")));
}

/* The row of message ID as claim() read it, no longer in flight; NULL
 * if unknown. */
static json_t *taken_row(struct outbox *ob, int64_t id)
{
	for (size_t f = 0; f < IN_FLIGHT_MAX; f++) {
		json_t *row = ob->in_flight[f];

		if (row && row_num(row, "id") == id) {
			ob->in_flight[f] = NULL;
			return row;
		}
	}
	return NULL;
}

/* What row ID is now, for a result that did not send it: its state,
 * the reason a decision gave while it was in flight, and STOP_REASON. */
static json_t *row_now(struct kipd *k, int64_t id)
{
	json_t *now = NULL;

	if (store_row(k->store, &now,
		      "SELECT o.state, o.reason, " STOP_REASON " AS stop"
		      " FROM outbox o WHERE o.id = ?",
		      "i", id) < 0)
		return NULL;
	return now;
}

/* The state a result that did not send row ID leads to, and why (NULL:
 * the row's reason stays). A decision that covers the row ends it; else
 * a message that was not tried goes back in the queue. */
static const char *unsent_state(struct kipd *k, const struct smtp_result *res,
				int64_t created, json_t *now, const char **why)
{
	*why = NULL;
	if (row_str(now, "stop") || row_str(now, "reason")) {
		*why = row_str(now, "stop") ? row_str(now, "stop")
					    : row_str(now, "reason");
		return "cancelled";
	}
	switch (res->outcome) {
	case SMTP_CANCELLED: /* shutdown, or a cancellation rolled back */
		return "queued";
	case SMTP_PERMANENT:
		if (res->build_err == -EKEYEXPIRED) {
			*why = "certificate expired when the message was to "
			       "be sent";
			return "manual";
		}
		*why = res->reply;
		return "failed";
	default:
		*why = res->reply; /* why it waits, for plan status */
		return clock_now() - created >= k->cfg->smtp_give_up_s
			   ? "failed"
			   : "deferred";
	}
}

/*
 * Records one result. The row's state decides, not the result alone: a
 * row a decision cancelled while its transfer was aborted stays
 * cancelled, and one a decision covered past its point of no return
 * (outbox_cancel()) ends sent or cancelled, never queued again.
 */
static void record(struct outbox *ob, const struct smtp_result *res)
{
	struct kipd *k = ob->k;
	int64_t now = clock_now(), created = now, attempts = 0, entity = 0;
	const char *state = "sent", *why = NULL, *said;
	json_t *row = NULL, *cur = NULL;
	int r;

	/* What the update and the event need, as claim() read it (or, for
	 * a row not handed over by this outbox, from the store). */
	row = taken_row(ob, res->id);
	if (row || store_row(k->store, &row,
			     "SELECT created_at, attempts + 1 AS attempts,"
			     " kind, citizen_id, plan_id, meeting_id,"
			     " (SELECT entity_id FROM outbox_sealed s"
			     "  WHERE s.id = outbox.id) AS entity_id"
			     " FROM outbox WHERE id = ?",
			     "i", res->id) == 0) {
		created = row_num(row, "created_at");
		attempts = row_num(row, "attempts");
		entity = row_num(row, "entity_id");
	}
	if (res->outcome != SMTP_SENT) {
		cur = row_now(k, res->id);
		if (!cur || strcmp(row_str(cur, "state"), "sending") != 0) {
			/* ended meanwhile (cancelled by a decision) */
			log_debug("outbox: message %lld: result ignored, no "
				  "longer in flight",
				  (long long)res->id);
			goto out;
		}
		state = unsent_state(k, res, created, cur, &why);
	}
	r = store_exec(
	    k->store,
	    "UPDATE outbox SET state = ?, attempts = ?,"
	    " last_reply = ?, updated_at = ?,"
	    " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END,"
	    /* whether the relay was asked for delivery reports */
	    " reports = CASE WHEN ? = 'sent' THEN ? ELSE reports END,"
	    " next_attempt_at = ?, reason = coalesce(?, reason)"
	    " WHERE id = ? AND state = 'sending'",
	    "sisisissisi", state,
	    res->outcome == SMTP_CANCELLED ? attempts - 1 : attempts,
	    res->reply, now, state, now, state,
	    res->reports ? "requested" : "none",
	    now + (strcmp(state, "deferred") == 0 ? backoff(k->cfg, attempts)
						  : 0),
	    why, res->id);
	if (r <= 0)
		goto out;
	/* Ids only: a server's reply line may name the recipient, so the
	 * log gets its code, or else the cause in a few words (the reply
	 * is in the row, for plan status). */
	said = strcmp(state, "deferred") == 0 || strcmp(state, "failed") == 0
		   ? res->cause
		   : why;
	if (res->outcome == SMTP_SENT || res->code >= 400)
		log_info("outbox: message %lld %s (attempt %lld, smtp %ld)",
			 (long long)res->id, state, (long long)attempts,
			 res->code);
	else
		log_info("outbox: message %lld %s (attempt %lld%s%s)",
			 (long long)res->id, state, (long long)attempts,
			 said ? ": " : "", said ? said : "");
	if (strcmp(state, "queued") != 0 && strcmp(state, "deferred") != 0)
		forget_sealed(k, res->id, entity);
	if (row && strcmp(state, "queued") != 0 &&
	    strcmp(state, "cancelled") != 0)
		message_event(k, res->id, row, state);
	if (strcmp(state, "failed") == 0 || strcmp(state, "manual") == 0)
		undelivered(k, res->id);
out:
	json_decref(cur);
	json_decref(row);
}

/*
 * SMTP results, on the loop thread, in one transaction per batch. The
 * commit does not wait for the disk (store_commit_lazy()): the loop goes
 * on at once, and the sync thread makes the records durable, folding the
 * syncs of several batches into one. Until then the pool lets no
 * connection finish more than two messages past them (smtp.h), and the
 * events of these messages wait too.
 */
static uint64_t on_results(void *arg, const struct smtp_result *res, size_t n)
{
	struct outbox *ob = arg;
	uint64_t ticket = 0;
	struct txn t;
	json_t *rows;
	int r;

	/* While the pool stops, nothing would report the sync. */
	r = ob->stopping ? txn_begin(ob->k, &t) : txn_begin_lazy(ob->k, &t);
	if (r < 0) {
		log_err("outbox: cannot record %zu results; they are sent "
			"again after restart",
			n);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		record(ob, &res[i]);
	/* The next messages are claimed in the same transaction: one
	 * commit per batch of results. */
	rows = claim(ob);
	/* The events wait for the sync (on_synced()) unless the commit was
	 * a full one. */
	r = ob->stopping ? txn_commit(&t) : txn_commit_lazy(&t, &ticket);
	if (r < 0) {
		log_err("outbox: cannot commit %zu results", n);
		json_decref(rows);
		rows = NULL;
	}
	if (rows)
		hand_over(ob, rows);
	else if (!ob->kicked)
		schedule(ob, 0);
	return ticket;
}

/* While the pool stops: waits for the records' sync. */
static uint64_t flush_results(void *arg)
{
	struct outbox *ob = arg;

	return store_sync_wait(ob->k->store);
}

/* On the sync thread, right after a sync: the connections waiting for
 * these records go on at once, whatever the loop is doing. */
static void synced_now(void *arg, uint64_t ticket)
{
	struct outbox *ob = arg;

	smtp_durable(ob->pool, ticket);
}

/* While a sync runs, replies that arrive wait for its end: a record
 * committed now would be durable only with the next sync anyway, and all
 * of them in one commit then cost one commit and one sync. */
static int results_wait(void *arg)
{
	struct outbox *ob = arg;

	return store_sync_busy(ob->k->store);
}

/* On the loop, after a sync: the events of the messages recorded, and
 * the replies that waited for it. */
static void on_synced(struct loop *loop, int fd, short revents, void *arg)
{
	struct outbox *ob = arg;

	(void)loop, (void)fd, (void)revents;
	store_synced(ob->k->store);
	txn_wake(ob->k, TXN_EVENTS); /* those the lazy records held back */
	if (ob->pool && !ob->stopping)
		smtp_collect(ob->pool);
}

/*
 * Rows left in "sending" by a crash: queued again (at most those are sent
 * twice, with the same Message-ID), except those a decision covers. One
 * whose cancellation came past its point of no return may have reached
 * its server; it is not sent again either.
 */
static int recover_sending(struct kipd *k)
{
	json_t *rows, *row;
	char why[300];
	size_t i;
	int r, n = 0;

	r = store_rows(k->store, &rows,
		       "SELECT o.id, o.reason, s.entity_id, " STOP_REASON
		       " AS stop FROM outbox o LEFT JOIN outbox_sealed s"
		       " ON s.id = o.id WHERE o.state = 'sending'",
		       NULL);
	if (r < 0)
		return r;
	json_array_foreach(rows, i, row)
	{
		int64_t id = row_num(row, "id");

		if (row_str(row, "reason")) {
			snprintf(why, sizeof(why),
				 "%s; kipd stopped before the server answered, "
				 "so it may have been delivered",
				 row_str(row, "reason"));
			r = end_unsent(k, id, "cancelled", why,
				       row_num(row, "entity_id"));
		} else if (row_str(row, "stop")) {
			r = end_unsent(k, id, "cancelled", row_str(row, "stop"),
				       row_num(row, "entity_id"));
		} else {
			r = store_exec(k->store,
				       "UPDATE outbox SET state = 'queued'"
				       " WHERE id = ?",
				       "i", id);
			n++;
		}
		if (r < 0)
			break;
	}
	json_decref(rows);
	if (r >= 0 && n > 0)
		log_notice("outbox: %d messages were in flight at the last "
			   "stop; queued again",
			   n);
	return r < 0 ? r : 0;
}

int outbox_open(struct kipd *k, char *err, size_t errlen)
{
	struct outbox *ob = calloc(1, sizeof(*ob));
	int r;

	if (!ob)
		return -ENOMEM;
	ob->k = k;
	k->outbox = ob;
	r = recover_sending(k);
	if (r < 0) {
		snprintf(err, errlen,
			 "outbox: cannot recover the messages in "
			 "flight at the last stop");
		return r;
	}
	if (!k->cfg->smtp_url) {
		log_notice("outbox: smtp.url is not set; messages stay queued");
		return 0;
	}
	if (!k->cfg->org_mailbox) {
		snprintf(err, errlen,
			 "smtp.url is set but "
			 "organisation.mailbox (the sender) is "
			 "not");
		return -EINVAL;
	}
	if (store_sync_fd(k->store) >= 0 &&
	    loop_add_fd(k->loop, store_sync_fd(k->store), POLLIN, on_synced,
			ob) < 0) {
		snprintf(err, errlen, "outbox: cannot watch the WAL sync");
		return -EIO;
	}
	r = smtp_pool_start(k->cfg, k->loop, on_results, flush_results,
			    results_wait, ob, &ob->pool, err, errlen);
	if (r < 0) {
		if (store_sync_fd(k->store) >= 0)
			loop_del_fd(k->loop, store_sync_fd(k->store));
		return r;
	}
	store_on_synced(k->store, synced_now, ob);
	schedule(ob, 0);
	return 0;
}

void outbox_close(struct kipd *k)
{
	struct outbox *ob = k->outbox;
	bool sending;

	if (!ob)
		return;
	ob->stopping = 1;
	sending = ob->pool != NULL; /* outbox_open() watched the sync then */
	if (sending)
		store_on_synced(k->store, NULL, NULL);
	smtp_pool_stop(ob->pool); /* reports what finished; see on_results */
	ob->pool = NULL;
	if (sending && store_sync_fd(k->store) >= 0)
		loop_del_fd(k->loop, store_sync_fd(k->store));
	loop_timer_cancel(k->loop, ob->timer);
	drop_entity(ob);
	for (size_t f = 0; f < IN_FLIGHT_MAX; f++)
		json_decref(ob->in_flight[f]);
	free(ob);
	k->outbox = NULL;
}

int outbox_insert(struct kipd *k, const struct outbox_msg *m, int64_t *ret_id,
		  char ret_msgid[128])
{
	const char *domain = k->cfg->org_mailbox
				 ? strchr(k->cfg->org_mailbox, '@') + 1
				 : "kip.invalid";
	unsigned char rnd[8];
	char msgid[128];
	int64_t now = clock_now(), id;
	int r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	r = store_exec(
	    k->store,
	    "INSERT INTO outbox (message_id, kind, citizen_id,"
	    " plan_id, version, meeting_id, contact_id, recipient,"
	    " state, reason, cipher, created_at, updated_at,"
	    " deviation_id, cert_domain, pdf)"
	    " VALUES ('pending-' || hex(randomblob(16)), ?,"
	    " NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0),"
	    " NULLIF(?, 0), ?, ?, ?, ?, ?, ?, NULLIF(?, 0), ?, ?)",
	    "siiiiissssiiisi", m->kind, m->citizen_id, m->plan_id, m->version,
	    m->meeting_id, m->contact_id, m->recipient, m->state, m->reason,
	    m->cipher, now, now, m->deviation_id, m->cert_domain,
	    (int64_t)m->pdf);
	if (r < 0)
		return r;
	id = store_last_id(k->store);
	snprintf(msgid, sizeof(msgid),
		 "<kip.%lld.%02x%02x%02x%02x%02x%02x%02x%02x@%s>",
		 (long long)id, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
		 rnd[6], rnd[7], domain);
	r = store_exec(k->store,
		       "UPDATE outbox SET message_id = ? WHERE id = ?", "si",
		       msgid, id);
	if (r < 0)
		return r;
	*ret_id = id;
	if (ret_msgid)
		snprintf(ret_msgid, 128, "%s", msgid);
	txn_mark(k, TXN_OUTBOX);
	return 0;
}

int outbox_entity_add(struct kipd *k, int64_t citizen_id, const char *body,
		      int64_t *ret_id)
{
	int r = store_exec(k->store,
			   "INSERT INTO outbox_entity (citizen_id, body)"
			   " VALUES (NULLIF(?, 0), ?)",
			   "is", citizen_id, body);

	if (r < 0)
		return r;
	*ret_id = store_last_id(k->store);
	return 0;
}

int outbox_seal(struct kipd *k, int64_t id, int64_t entity_id,
		const char *cert_pem, const char *from, const char *subject)
{
	int r = store_exec(k->store,
			   "INSERT INTO outbox_sealed (id, entity_id, cert_pem,"
			   " sender, subject, date) VALUES (?, ?, ?, ?, ?, ?)",
			   "iisssi", id, entity_id, cert_pem, from, subject,
			   (int64_t)clock_now());
	return r < 0 ? r : 0;
}

int outbox_handed(struct kipd *k, int64_t plan, int64_t version,
		  int64_t contact, const char *how, const char *date,
		  int64_t *ret_id)
{
	int64_t id, at;
	int r = store_int(k->store, &id,
			  "SELECT id FROM outbox o WHERE plan_id = ? AND"
			  " version = ? AND kind = 'plan' AND"
			  " coalesce(contact_id, 0) = ? AND"
			  " " OUTBOX_LATEST_COPY_SQL " AND"
			  " (state IN ('manual', 'failed') OR"
			  "  delivery = 'bounced' OR pdf)"
			  " AND coalesce(delivery, '') <> 'handed'",
			  "iii", plan, version, contact);

	if (r < 0)
		return r;
	r = store_int(k->store, &at,
		      "SELECT CAST(strftime('%s', ?) AS INTEGER)", "s", date);
	if (r < 0)
		return r;
	r = store_exec(k->store,
		       "UPDATE outbox SET delivery = 'handed',"
		       " delivery_status = NULL, delivery_detail = ?,"
		       " delivery_at = ?, updated_at = ? WHERE id = ?",
		       "siii", how, at, (int64_t)clock_now(), id);
	if (r < 0)
		return r;
	*ret_id = id;
	return 0;
}

int outbox_set_body(struct kipd *k, int64_t id, const char *body, size_t len)
{
	int r;

	(void)len;
	r = store_exec(k->store,
		       "INSERT INTO outbox_body (id, body) VALUES (?, ?)", "is",
		       id, body);
	return r < 0 ? r : 0;
}

/* The rows a decision covers, not yet final, by scope: id, state and
 * entity_id. */
static int covered_rows(struct kipd *k, const struct outbox_scope *sc,
			json_t **rows)
{
#define COVERED                                                                \
	"SELECT o.id, o.state, s.entity_id FROM outbox o"                      \
	" LEFT JOIN outbox_sealed s ON s.id = o.id"                            \
	" WHERE o.state IN ('queued', 'deferred', 'sending') AND "
	if (sc->id)
		return store_rows(k->store, rows, COVERED "o.id = ?", "i",
				  sc->id);
	if (sc->contact_id)
		return store_rows(k->store, rows,
				  COVERED "o.plan_id = ? AND o.contact_id = ?",
				  "ii", sc->plan_id, sc->contact_id);
	if (sc->relatives)
		return store_rows(k->store, rows,
				  COVERED "o.citizen_id = ?1 AND o.contact_id"
					  " IN (SELECT id FROM contacts WHERE"
					  " citizen_id = ?1 AND kind = "
					  "'relative')",
				  "i", sc->citizen_id);
	return store_rows(k->store, rows, COVERED "o.citizen_id = ?", "i",
			  sc->citizen_id);
#undef COVERED
}

int outbox_cancel(struct kipd *k, const struct outbox_scope *sc,
		  const char *reason)
{
	struct outbox *ob = k->outbox;
	bool sealed = false;
	json_t *rows, *row;
	size_t i;
	int r, n = 0;

	r = covered_rows(k, sc, &rows);
	if (r < 0)
		return r;
	json_array_foreach(rows, i, row)
	{
		int64_t id = row_num(row, "id");

		if (strcmp(row_str(row, "state"), "sending") == 0 && ob &&
		    ob->pool && smtp_cancel(ob->pool, id)) {
			/* Past the point of no return: it ends as the server
			 * says, sent or cancelled (record()). */
			r = store_exec(k->store,
				       "UPDATE outbox SET reason = ?,"
				       " updated_at = ? WHERE id = ?",
				       "sii", reason, (int64_t)clock_now(), id);
		} else {
			r = end_unsent(k, id, "cancelled", reason,
				       row_num(row, "entity_id"));
			n++;
			if (row_num(row, "entity_id"))
				sealed = true;
		}
		if (r < 0)
			break;
	}
	json_decref(rows);
	/* The signed plan and the sealed rows deleted leave the WAL too. */
	txn_mark(k, TXN_OUTBOX | (sealed ? TXN_SCRUB : 0));
	return r < 0 ? r : n;
}

int outbox_retry(struct kipd *k, int64_t id)
{
	int64_t now = clock_now();
	int n;

	/* Both through an index: the primary key, or outbox_by_state. */
	if (id)
		n = store_exec(k->store,
			       "UPDATE outbox SET next_attempt_at = ?,"
			       " updated_at = ? WHERE id = ?"
			       " AND state IN ('queued', 'deferred')",
			       "iii", now, now, id);
	else
		n = store_exec(k->store,
			       "UPDATE outbox SET next_attempt_at = ?,"
			       " updated_at = ? WHERE state = 'deferred'",
			       "ii", now, now);
	if (n > 0 && id)
		log_info("outbox: message %lld due now (retry)", (long long)id);
	else if (n > 0)
		log_info("outbox: %d deferred messages due now (retry)", n);
	if (n > 0)
		txn_mark(k, TXN_OUTBOX);
	return n;
}

bool outbox_sends(const struct kipd *k)
{
	return k->outbox && k->outbox->pool;
}

int outbox_erase_citizen(struct kipd *k, int64_t citizen_id, json_t *counts)
{
	int rows, entities;

	rows = store_exec(
	    k->store,
	    "DELETE FROM outbox WHERE citizen_id = ?1"
	    " OR plan_id IN (SELECT id FROM plans WHERE citizen_id = ?1)"
	    " OR contact_id IN (SELECT id FROM contacts WHERE citizen_id = ?1)",
	    "i", citizen_id);
	if (rows < 0)
		return rows;
	/* the signed plans waiting to be encrypted (their rows went above,
	 * and their sealed rows with them) */
	entities = store_exec(k->store,
			      "DELETE FROM outbox_entity WHERE citizen_id = ?"
			      " OR NOT EXISTS (SELECT 1 FROM outbox_sealed s"
			      " WHERE s.entity_id = outbox_entity.id)",
			      "i", citizen_id);
	if (entities < 0)
		return entities;
	if (k->outbox)
		drop_entity(k->outbox);
	if (json_object_set_new(counts, "outbox", json_integer(rows)) ||
	    json_object_set_new(counts, "outbox_entity",
				json_integer(entities)))
		return -ENOMEM;
	return 0;
}

/* The ranks of outbox_delivery(): a delivery changes only upwards. */
static const char *const delivery_ranks[] = {"delayed", "bounced", "delivered",
					     "opened", "handed"};
#define DELIVERY_RANK                                                          \
	"CASE delivery WHEN 'delayed' THEN 1 WHEN 'bounced' THEN 2"            \
	" WHEN 'delivered' THEN 3 WHEN 'opened' THEN 4 WHEN 'handed' THEN 5"   \
	" ELSE 0 END"

int outbox_delivery(struct kipd *k, int64_t row, const char *delivery,
		    const char *status, const char *detail, int64_t at)
{
	char cut[OUTBOX_DETAIL_MAX];
	int64_t rank = 0;
	size_t n;
	int r;

	for (size_t i = 0; i < sizeof(delivery_ranks) / sizeof(*delivery_ranks);
	     i++)
		if (strcmp(delivery, delivery_ranks[i]) == 0)
			rank = (int64_t)i + 1;
	if (!rank)
		return -EINVAL;
	if (detail && (n = strlen(detail)) >= sizeof(cut)) {
		n = sizeof(cut) - 1;
		while (n > 0 && ((unsigned char)detail[n] & 0xc0) == 0x80)
			n--;
		memcpy(cut, detail, n);
		cut[n] = '\0';
		detail = cut;
	}
	r = store_exec(k->store,
		       "UPDATE outbox SET delivery = ?, delivery_status = ?,"
		       " delivery_detail = ?, delivery_at = ?"
		       " WHERE id = ? AND " DELIVERY_RANK " < ?",
		       "sssiii", delivery, status, detail, at, row, rank);
	return r < 0 ? r : r > 0;
}

void outbox_after_commit(struct kipd *k)
{
	struct outbox *ob = k->outbox;

	if (ob && ob->pool && !ob->kicked)
		schedule(ob, 0);
}
