/* intake.c — see intake.h. */
#include "intake.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "cert.h"
#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "delivery.h"
#include "deviation.h"
#include "devreport.h"
#include "imap.h"
#include "kipd.h"
#include "log.h"
#include "loop.h"
#include "inmail_client.h"
#include "orgcert.h"
#include "rowval.h"
#include "store.h"
#include "txn.h"

#define DONE_KEYWORD "$KipDone"

/* What the worker hands the loop thread. */
enum slot {
	SLOT_EMPTY,
	SLOT_MESSAGE, /* item holds a fetched message (or a fetch error) */
	SLOT_JUDGED,  /* the loop thread recorded it: item.mark says flag */
	SLOT_END,     /* the pass is over: pass_rc, pass_err */
};

struct item {
	uint32_t uid, uidvalidity;
	int fetch_rc; /* 0, or -EFBIG: too large to read */
	struct buf raw;
	int read_rc; /* 0: verdict holds the reader's verdict; or
			-errno: the reader failed on it (read_err) */
	struct wire_verdict verdict;
	char read_err[256];
	bool mark; /* flag it done on the server */
};

struct counts {
	unsigned fetched, deviations, replies, reports, quarantined, duplicates;
};

/*
 * Two threads share it: the loop thread (intake_open(), the timer,
 * on_event(), judge(), end_pass(), intake_close(), intake_status(),
 * intake_run_now()) and the worker of the current pass (worker(),
 * hand_over()), which the loop starts and joins.
 */
struct intake {
	/* k to reader: set by intake_open() before any worker starts,
	 * read-only until intake_close(); the worker reads the settings,
	 * never k */
	struct kipd *k;
	int efd;       /* the worker writes it, the loop reads it */
	int64_t timer; /* the loop thread's */
	/* the pass's own copy of the settings: a reload may free cfg */
	char *url, *username, *password, *ca_file, *client_cert, *client_key;
	long timeout_s;
	size_t max_bytes;
	/* and what the mail reader needs (kip-inmail, inmail_client.h): strings
	 * of its own, freed with wire_settings_free() */
	struct wire_settings reader;

	/* thread to current: the loop thread's only (no lock) */
	pthread_t thread;
	bool running;	  /* a worker exists (loop thread's view) */
	bool again;	  /* run another pass when this one ends */
	unsigned passes;  /* passes finished */
	unsigned started; /* passes started */
	time_t last_end;
	char last_error[256];
	struct counts last, current; /* current: counted by judge() */

	pthread_mutex_t mu; /* guards slot, stop, pass_rc and pass_err */
	pthread_cond_t cv;  /* slot became SLOT_JUDGED, or stop was set */
	enum slot slot;	    /* under mu: whose turn it is with item */
	struct item item;   /* not under mu, handed over by slot: the worker's
			       while slot is SLOT_EMPTY or SLOT_JUDGED (it
			       fills it, then reads mark), the loop thread's
			       while slot is SLOT_MESSAGE (judge() reads it and
			       sets mark); setting slot under mu is the
			       hand-over */
	bool stop;	    /* under mu: set by the loop to end the pass */
	int pass_rc;	    /* under mu: written by the worker before */
	char pass_err[256]; /* SLOT_END, read by the loop after the join */
};

/* ---------------------------------------------------------- the worker -- */

/* Hands the current item to the loop thread and waits for its verdict.
 * false when kipd is stopping. */
static bool hand_over(struct intake *in, enum slot what)
{
	uint64_t one = 1;
	bool ok;

	pthread_mutex_lock(&in->mu);
	in->slot = what;
	pthread_mutex_unlock(&in->mu);
	if (write(in->efd, &one, sizeof(one)) < 0)
		log_err("intake: eventfd: %s", strerror(errno));
	if (what == SLOT_END)
		return true;
	pthread_mutex_lock(&in->mu);
	while (in->slot != SLOT_JUDGED && !in->stop)
		pthread_cond_wait(&in->cv, &in->mu);
	ok = !in->stop;
	pthread_mutex_unlock(&in->mu);
	return ok;
}

static bool stopping(struct intake *in)
{
	bool s;

	pthread_mutex_lock(&in->mu);
	s = in->stop;
	pthread_mutex_unlock(&in->mu);
	return s;
}

static void *worker(void *arg)
{
	struct intake *in = arg;
	const struct imap_conf conf = {
	    .url = in->url,
	    .ca_file = in->ca_file,
	    .username = in->username,
	    .password = in->password,
	    .client_cert = in->client_cert,
	    .client_key = in->client_key,
	    .timeout_s = in->timeout_s,
	    .max_message = in->max_bytes,
	    .done_keyword = DONE_KEYWORD,
	};
	struct imap *s = NULL;
	struct reader *rd = NULL;
	uint32_t *uids = NULL, validity = 0;
	size_t n = 0;
	char err[256] = "";
	int r;

	r = imap_open(&conf, &s, err, sizeof(err));
	if (r == 0)
		r = imap_search_new(s, &uids, &n, &validity, err, sizeof(err));
	if (r == 0 && n > 0)
		r = reader_start(&in->reader, in->timeout_s, &rd, err,
				 sizeof(err));
	for (size_t i = 0; r == 0 && i < n && !stopping(in); i++) {
		in->item.uid = uids[i];
		in->item.uidvalidity = validity;
		in->item.mark = false;
		in->item.raw.len = 0;
		r = imap_fetch(s, uids[i], &in->item.raw, err, sizeof(err));
		if (r == -ENOENT) { /* gone meanwhile (another client) */
			r = 0;
			continue;
		}
		in->item.fetch_rc = r == -EFBIG ? r : 0;
		if (r < 0 && r != -EFBIG)
			break;
		r = 0;
		in->item.read_rc = 0;
		if (in->item.fetch_rc == 0) {
			/* parsed in the reader process, not here */
			in->item.read_rc = reader_judge(
			    rd, in->item.raw.data, in->item.raw.len,
			    &in->item.verdict, in->item.read_err,
			    sizeof(in->item.read_err));
			if (in->item.read_rc < 0) {
				reader_stop(rd);
				rd = NULL;
			}
		}
		bool go_on = hand_over(in, SLOT_MESSAGE);
		wire_verdict_free(&in->item.verdict);
		if (!go_on)
			break;
		if (in->item.mark)
			r = imap_mark_done(s, uids[i], err, sizeof(err));
		if (r == 0 && !rd && i + 1 < n)
			r = reader_start(&in->reader, in->timeout_s, &rd, err,
					 sizeof(err));
	}
	reader_stop(rd);
	free(uids);
	imap_close(s);
	pthread_mutex_lock(&in->mu);
	in->pass_rc = r;
	snprintf(in->pass_err, sizeof(in->pass_err), "%s", r < 0 ? err : "");
	pthread_mutex_unlock(&in->mu);
	hand_over(in, SLOT_END);
	return NULL;
}

/* ------------------------------------------------------- recording it -- */

/* Whether CHANNEL/SOURCE was recorded before. */
static bool seen(struct kipd *k, const char *channel, const char *source)
{
	int64_t one;

	return store_int(k->store, &one,
			 "SELECT 1 FROM intake_seen WHERE channel = ?"
			 " AND source_id = ?",
			 "ss", channel, source) == 0;
}

/* The message being judged: where it came from, and what records its
 * outcome. */
struct origin {
	struct kipd *k;
	struct counts *cn;
	const char *channel; /* "mail" or "mqtt" */
	const char *source;  /* its id in intake_seen */
	const char *sender;  /* From, or the broker user (NULL: unknown) */
	int64_t inbox_row;   /* its mqtt_inbox row (0: none), deleted in
				the transaction that records the outcome */
};

static int delete_inbox_row(struct store *st, int64_t row)
{
	return row ? store_exec(st, "DELETE FROM mqtt_inbox WHERE id = ?", "i",
				row)
		   : 0;
}

/* Inside a unit of work: O is handled with OUTCOME, and (REASON) the
 * quarantine entry; its MQTT inbox row goes. */
static int mark_handled(const struct origin *o, const char *outcome,
			const char *reason, const char *detail)
{
	struct store *st = o->k->store;
	int64_t now = clock_now();
	int r = store_exec(st,
			   "INSERT OR IGNORE INTO intake_seen (channel,"
			   " source_id, outcome, at) VALUES (?, ?, ?, ?)",
			   "sssi", o->channel, o->source, outcome, now);

	if (r >= 0 && reason)
		r = store_exec(st,
			       "INSERT INTO quarantine (at, channel, source_id,"
			       " sender, reason, detail) VALUES (?, ?, ?, ?, ?,"
			       " ?)",
			       "isssss", now, o->channel, o->source, o->sender,
			       reason, detail);
	if (r >= 0)
		r = delete_inbox_row(st, o->inbox_row);
	return r < 0 ? r : 0;
}

/* Records O as handled with OUTCOME, and (REASON) the quarantine entry,
 * as one unit of work. */
static int settle(const struct origin *o, const char *outcome,
		  const char *reason, const char *detail)
{
	struct txn t;
	int r = txn_begin(o->k, &t);

	if (r < 0)
		return r;
	r = mark_handled(o, outcome, reason, detail);
	if (r >= 0)
		r = txn_commit(&t);
	else
		txn_rollback(&t);
	return r < 0 ? r : 0;
}

static int quarantine(const struct origin *o, const char *reason,
		      const char *detail)
{
	int r = settle(o, "quarantine", reason, detail);

	if (r == 0) {
		o->cn->quarantined++;
		log_notice("intake: %s message quarantined: %s", o->channel,
			   reason);
	} else {
		log_err("intake: cannot record a quarantined %s message: %s",
			o->channel, strerror(-r));
	}
	return r;
}

/* The intake acts as contact CONTACT (the reporter it established). */
static void make_caller(struct caller *who, const char *user, int64_t contact)
{
	memset(who, 0, sizeof(*who));
	snprintf(who->user, sizeof(who->user), "%s", user);
	who->role = ROLE_PROFESSIONAL;
	who->contact_id = contact;
}

/*
 * Records report IN of O from CONTACT (acting as ACTOR) as one unit of
 * work: deviation_add(), its audit entry, and O handled. 1 when recorded,
 * 0 when it was recorded before (the code "duplicate"; O is then settled
 * as handled), -1 when refused (reason in code and err; nothing written
 * but the refusal's audit entry).
 */
static int record(const struct origin *o, const char *actor, int64_t contact,
		  const struct deviation_in *in, const char **code, char *err,
		  size_t errlen)
{
	struct kipd *k = o->k;
	struct caller who;
	struct cmd_ctx c;
	struct txn t;
	int r;

	make_caller(&who, actor, contact);
	memset(&c, 0, sizeof(c));
	c.k = k;
	c.st = k->store;
	c.who = &who;
	r = txn_begin(k, &t);
	if (r >= 0 && deviation_add(&c, in) < 0)
		r = -1;
	else if (r >= 0)
		r = txn_audit(&t, &who, "deviation.intake", "ok", c.citizen_id,
			      c.plan_id, c.object);
	if (r >= 0)
		r = mark_handled(o, "deviation", NULL, NULL);
	if (r >= 0 && (r = txn_commit(&t)) >= 0)
		return 1;
	txn_rollback(&t);
	if (c.err_code && strcmp(c.err_code, "duplicate") == 0)
		return settle(o, "deviation", NULL, NULL) == 0 ? 0 : -1;
	if (!c.err_code)
		cmd_store_fail(&c, r, "deviation");
	cmd_audit_refusal(&c, "deviation.intake");
	*code = c.err_code;
	snprintf(err, errlen, "%s", c.err);
	return -1;
}

/* The member of PLAN with address EMAIL, or 0. */
static int64_t member_by_email(struct kipd *k, int64_t plan, const char *email)
{
	int64_t id = 0;

	if (!email[0] ||
	    store_int(k->store, &id,
		      "SELECT k.id FROM plan_members m JOIN contacts k"
		      " ON k.id = m.contact_id WHERE m.plan_id = ?"
		      " AND lower(k.email) = lower(?) ORDER BY k.id LIMIT 1",
		      "is", plan, email) < 0)
		return 0;
	return id;
}

/* The plan a mail refers to: KIP-<n> in its subject, or the plan of the
 * kip message it answers (In-Reply-To). 0 if none. */
static int64_t plan_of(struct kipd *k, const struct inmail *m)
{
	char msgid[260];
	int64_t plan = 0;

	if (m->ref &&
	    store_int(k->store, &plan, "SELECT id FROM plans WHERE id = ?", "i",
		      m->ref) == 0)
		return plan;
	/* The outbox keeps Message-IDs as sent, in angle brackets; inmail
	 * gives In-Reply-To without them. */
	if (!m->in_reply_to[0])
		return 0;
	snprintf(msgid, sizeof(msgid), "<%s>", m->in_reply_to);
	if (store_int(k->store, &plan,
		      "SELECT plan_id FROM outbox WHERE message_id = ?"
		      " AND plan_id IS NOT NULL",
		      "s", msgid) == 0)
		return plan;
	return 0;
}

/*
 * A verified signer teaches kipd the partner's certificate and whether
 * their software reads AES-GCM (the "auto" cipher policy). Only for a
 * professional contact with that address, and only a certificate that
 * lasts at least as long as the one on record.
 */
static void learn_signer(struct kipd *k, const struct inmail *m)
{
	struct cert_info ci;
	struct txn t;
	json_t *row = NULL;
	char err[256];
	int r;

	if (!m->signer_pem || cert_check(m->signer_pem, m->from, clock_now(),
					 &ci, err, sizeof(err)) < 0)
		return;
	if (store_row(k->store, &row,
		      "SELECT id, cert_fingerprint, cert_not_after, caps_gcm"
		      " FROM contacts WHERE kind = 'professional'"
		      " AND lower(email) = lower(?)",
		      "s", m->from) < 0)
		return;
	const char *fpr =
	    json_string_value(json_object_get(row, "cert_fingerprint"));
	const char *na =
	    json_string_value(json_object_get(row, "cert_not_after"));
	int64_t id = json_integer_value(json_object_get(row, "id"));
	int caps = m->caps_gcm == 1;
	bool same = fpr && strcmp(fpr, ci.fingerprint) == 0;

	if ((same &&
	     json_integer_value(json_object_get(row, "caps_gcm")) == caps) ||
	    (!same && na && strcmp(ci.not_after, na) < 0)) {
		json_decref(row);
		return;
	}
	r = txn_begin(k, &t);
	if (r >= 0 && !same)
		r = store_exec(k->store,
			       "UPDATE contacts SET cert_pem = ?,"
			       " cert_fingerprint = ?, cert_email = ?,"
			       " cert_not_after = ? WHERE id = ?",
			       "ssssi", m->signer_pem, ci.fingerprint, ci.email,
			       ci.not_after, id);
	if (r >= 0)
		r = store_exec(k->store,
			       "UPDATE contacts SET caps_gcm = ? WHERE id = ?",
			       "ii", (int64_t)caps, id);
	if (r >= 0)
		r = store_exec(k->store,
			       "INSERT INTO contact_certs_learned (contact_id,"
			       " fingerprint, at) VALUES (?, ?, ?)"
			       " ON CONFLICT (contact_id) DO UPDATE SET"
			       " fingerprint = excluded.fingerprint,"
			       " at = excluded.at",
			       "isi", id, ci.fingerprint, (int64_t)clock_now());
	if (r >= 0) {
		struct caller who;
		char object[64];

		make_caller(&who, "intake:mail", id);
		snprintf(object, sizeof(object), "contact:%lld", (long long)id);
		r = txn_audit(&t, &who,
			      same ? "contact.caps.learned"
				   : "contact.cert.learned",
			      "ok", 0, 0, object);
	}
	if (r >= 0)
		r = txn_commit(&t);
	if (r < 0)
		txn_rollback(&t);
	else
		log_info("intake: contact %lld: %s from a signed mail "
			 "(AES-GCM %s)",
			 (long long)id,
			 same ? "capabilities learned" : "certificate learned",
			 caps ? "announced" : "not announced");
	json_decref(row);
}

/* An iMIP REPLY: the participant's answer, from their registered
 * address, to the current UID and SEQUENCE of a scheduled meeting. */
/* The citizen of PLAN, or 0. */
static int64_t plan_citizen(struct kipd *k, int64_t plan)
{
	int64_t citizen = 0;

	store_int(k->store, &citizen,
		  "SELECT citizen_id FROM plans WHERE id = ?", "i", plan);
	return citizen;
}

static void take_reply(const struct origin *o, const struct wire_verdict *v)
{
	struct kipd *k = o->k;
	const struct inmail *m = &v->mail;
	const struct ireply *rp = &v->reply;
	json_t *mt = NULL;
	char detail[300];
	const char *dom = k->cfg->org_mailbox
			      ? strchr(k->cfg->org_mailbox, '@') + 1
			      : "kip.invalid";
	long long meeting = 0;
	int64_t contact = 0;
	int end = 0;

	if (!v->reply_ok) {
		quarantine(o, "bad-reply", v->reply_err);
		return;
	}
	if (sscanf(rp->uid, "kip-meeting-%lld@%n", &meeting, &end) != 1 ||
	    !end || strcasecmp(rp->uid + end, dom) != 0) {
		quarantine(o, "unknown-meeting",
			   "the UID is not one of kip's meetings");
		return;
	}
	if (strcasecmp(rp->attendee, m->from) != 0) {
		quarantine(o, "reply-not-sender",
			   "the answering attendee is not the From address");
		return;
	}
	if (store_row(k->store, &mt,
		      "SELECT id, plan_id, sequence, status FROM meetings"
		      " WHERE id = ?",
		      "i", (int64_t)meeting) < 0) {
		quarantine(o, "unknown-meeting", "no such meeting");
		return;
	}
	contact = member_by_email(
	    k, json_integer_value(json_object_get(mt, "plan_id")), m->from);
	if (!contact) {
		quarantine(o, "not-a-member",
			   "the sender is not a participant of the meeting");
		goto out;
	}
	if (json_integer_value(json_object_get(mt, "sequence")) !=
	    rp->sequence) {
		snprintf(detail, sizeof(detail),
			 "SEQUENCE %d answers an invitation that has since "
			 "changed (now %lld)",
			 rp->sequence,
			 (long long)json_integer_value(
			     json_object_get(mt, "sequence")));
		quarantine(o, "stale-reply", detail);
		goto out;
	}
	static const char *const answers[] = {"accepted", "declined",
					      "tentative"};
	struct caller who;
	char object[64];
	struct txn t;
	int r = txn_begin(k, &t);

	/* What kip knows of a person changes: audited, as a request is. */
	make_caller(&who, "intake:mail", contact);
	snprintf(object, sizeof(object), "meeting:%lld", meeting);
	if (r >= 0)
		r = store_exec(
		    k->store,
		    "INSERT INTO meeting_replies (meeting_id,"
		    " contact_id, answer, sequence, at)"
		    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE"
		    " SET answer = excluded.answer,"
		    " sequence = excluded.sequence, at = excluded.at",
		    "iisii", (int64_t)meeting, contact, answers[rp->partstat],
		    (int64_t)rp->sequence, (int64_t)clock_now());
	if (r >= 0)
		r = store_exec(k->store,
			       "INSERT OR IGNORE INTO intake_seen (channel,"
			       " source_id, outcome, at) VALUES ('mail', ?,"
			       " 'reply', ?)",
			       "si", o->source, (int64_t)clock_now());
	if (r >= 0)
		r = txn_audit(&t, &who, "meeting.reply", "ok",
			      plan_citizen(k, row_num(mt, "plan_id")),
			      row_num(mt, "plan_id"), object);
	if (r >= 0)
		r = txn_commit(&t);
	if (r < 0) {
		txn_rollback(&t);
		log_err("intake: cannot record a reply: %s", strerror(-r));
		goto out;
	}
	o->cn->replies++;
	log_info("intake: meeting %lld: contact %lld %s", meeting,
		 (long long)contact, answers[rp->partstat]);
out:
	json_decref(mt);
}

/* A delivery or disposition notification: recorded when it matches a
 * message kip sent and its recipient (delivery.h), else quarantined. */
static bool take_delivery(const struct origin *o, const struct wire_verdict *v)
{
	const char *reason = NULL;
	char detail[300];
	int64_t row = 0;
	struct txn t;
	int r;

	if (!v->report_ok)
		return quarantine(o, "report-malformed", v->report_err) == 0;
	r = delivery_match(o->k, &v->report, &row, &reason, detail,
			   sizeof(detail));
	if (r < 0)
		return quarantine(o, reason, detail) == 0;
	r = txn_begin(o->k, &t);
	if (r >= 0)
		r = delivery_record(o->k, row, &v->report);
	if (r >= 0)
		r = mark_handled(o, "report", NULL, NULL);
	if (r >= 0)
		r = txn_commit(&t);
	else
		txn_rollback(&t);
	if (r < 0) {
		log_err("intake: cannot record a report on message %lld: %s",
			(long long)row, strerror(-r));
		return false;
	}
	o->cn->reports++;
	return true;
}

/* A stable id for a mail without a Message-ID: its SHA-256. */
static void digest_id(const struct buf *raw, char out[80])
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(raw->data, raw->len, md, &len, EVP_sha256(), NULL);
	memcpy(out, "sha256:", 7);
	hex_encode(md, len < 32 ? len : 32, out + 7);
}

/* Judges one fetched message and records the verdict. Returns whether
 * it may be flagged done (it was recorded, or was recorded before). */
static bool judge(struct intake *in, struct item *it)
{
	struct kipd *k = in->k;
	struct counts *cn = &in->current;
	const struct inmail *m = &it->verdict.mail;
	char source[300], fallback[80], err[512], verification[256];
	struct origin o = {k, cn, "mail", source, NULL, 0};
	const char *code = NULL;
	int64_t plan, contact;
	int r;

	cn->fetched++;
	if (it->fetch_rc == -EFBIG) {
		snprintf(source, sizeof(source), "uid:%u:%u", it->uidvalidity,
			 it->uid);
		if (seen(k, "mail", source))
			return true;
		snprintf(err, sizeof(err), "larger than %zu bytes; not read",
			 in->max_bytes);
		return quarantine(&o, "too-large", err) == 0;
	}
	if (it->read_rc < 0) {
		/* the reader died or timed out on it: set it aside (it stays
		 * in the mailbox) rather than fetch it again every pass */
		digest_id(&it->raw, fallback);
		if (seen(k, "mail", fallback))
			return true;
		log_err("intake: %s", it->read_err);
		o.source = fallback;
		return quarantine(&o, "unreadable", it->read_err) == 0;
	}
	if (!m->message_id[0])
		digest_id(&it->raw, fallback);
	snprintf(source, sizeof(source), "%s",
		 m->message_id[0] ? m->message_id : fallback);
	if (seen(k, "mail", source)) {
		cn->duplicates++;
		return true;
	}
	o.sender = m->from;
	/* Reports are never signed, and never deviations. */
	if (it->verdict.report.kind != IREPORT_NONE)
		return take_delivery(&o, &it->verdict);
	if (m->reason == INMAIL_ORG_SIGNER) {
		/* An organisation's certificate counts for the sender only if
		 * the administrator said so for the domain (orgcert.h): for
		 * a report and for a reply alike. */
		r = orgcert_accepts_signer(k, m->from, m->signer_fpr, err,
					   sizeof(err));
		if (r == 0 || r == -EPERM)
			return quarantine(&o,
					  r == 0
					      ? "signer-not-sender"
					      : inmail_reason_name(m->reason),
					  err) == 0;
		if (r < 0)
			return quarantine(&o, "refused",
					  "the organisation certificates "
					  "cannot be read") == 0;
	}
	/* Replies to invitations need not be signed; a signature that is
	 * there must hold, by the sender or by the organisation certificate
	 * accepted for the sender's domain. */
	if (it->verdict.calendar &&
	    (m->reason == INMAIL_OK || m->reason == INMAIL_UNSIGNED ||
	     m->reason == INMAIL_ORG_SIGNER ||
	     /* signed by the sender, holding only the calendar object */
	     (m->reason == INMAIL_WRONG_TYPE && m->signer_pem))) {
		take_reply(&o, &it->verdict);
		return seen(k, "mail", source);
	}
	if (m->reason != INMAIL_OK && m->reason != INMAIL_ORG_SIGNER)
		return quarantine(&o, inmail_reason_name(m->reason),
				  m->detail) == 0;
	if (m->reason == INMAIL_OK)
		learn_signer(k, m);
	plan = plan_of(k, m);
	contact = plan ? member_by_email(k, plan, m->from) : 0;
	if (!plan)
		r = quarantine(&o, "unknown-reference",
			       "no KIP-<n> of an existing plan in the subject, "
			       "and no reply to a kip message");
	else if (!contact)
		r = quarantine(&o, "not-a-member",
			       "the signer is not a member of the plan");
	else if (m->goal <= 0)
		r = quarantine(&o, m->goal ? "bad-goal" : "no-goal",
			       m->goal
				   ? "the line 'Mål:' does not hold a number "
				     "1-99"
				   : "no line 'Mål: N' (or 'Goal: N')");
	else if (m->action < 0)
		r = quarantine(
		    &o, "bad-action",
		    "the line 'Indsats:' does not hold a number 1-99");
	else {
		snprintf(verification, sizeof(verification),
			 "S/MIME signature verified%s; signer certificate "
			 "SHA-256 %.16s…; %s",
			 m->encrypted ? " (arrived encrypted)" : "",
			 m->signer_fpr,
			 m->reason == INMAIL_ORG_SIGNER
			     ? "signer = the organisation certificate of the "
			       "From address's domain, accepted for signatures"
			     : "signer = From");
		struct deviation_in din = {plan,    m->goal, m->action,
					   m->text, "mail",  verification,
					   source};

		r = record(&o, "intake:mail", contact, &din, &code, err,
			   sizeof(err));
		if (r == 1)
			cn->deviations++;
		else if (r == 0)
			cn->duplicates++;
		r = r >= 0 ? 0
			   : quarantine(&o, code ? code : "refused",
					code ? err : "out of memory");
	}
	return r == 0;
}

/* --------------------------------------------------------- the loop -- */

static void on_timer(struct loop *loop, void *arg);

static void arm(struct intake *in, uint64_t delay_ms)
{
	if (in->timer)
		loop_timer_cancel(in->k->loop, in->timer);
	in->timer =
	    loop_timer_at(in->k->loop, loop_now_ms() + delay_ms, on_timer, in);
}

static void start_pass(struct intake *in)
{
	if (in->running) {
		in->again = true;
		return;
	}
	memset(&in->current, 0, sizeof(in->current));
	pthread_mutex_lock(&in->mu);
	in->slot = SLOT_EMPTY;
	in->stop = false;
	pthread_mutex_unlock(&in->mu);
	if (pthread_create(&in->thread, NULL, worker, in) != 0) {
		log_err("intake: cannot start the worker");
		arm(in, (uint64_t)in->k->cfg->intake_interval_s * 1000);
		return;
	}
	in->running = true;
	in->started++;
}

static void end_pass(struct intake *in)
{
	pthread_join(in->thread, NULL);
	in->running = false;
	in->passes++;
	in->last_end = clock_now();
	in->last = in->current;
	snprintf(in->last_error, sizeof(in->last_error), "%s",
		 in->pass_rc < 0 ? in->pass_err : "");
	if (in->pass_rc < 0)
		log_warn("intake: pass failed: %s", in->pass_err);
	else
		log_info("intake: pass %u: %u read, %u deviations, %u replies, "
			 "%u reports, %u quarantined, %u duplicates",
			 in->passes, in->last.fetched, in->last.deviations,
			 in->last.replies, in->last.reports,
			 in->last.quarantined, in->last.duplicates);
	if (in->again) {
		in->again = false;
		start_pass(in);
	} else {
		arm(in, (uint64_t)in->k->cfg->intake_interval_s * 1000);
	}
}

static void on_event(struct loop *loop, int fd, short revents, void *arg)
{
	struct intake *in = arg;
	uint64_t v;
	enum slot s;

	(void)loop;
	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_err("intake: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&in->mu);
	s = in->slot;
	pthread_mutex_unlock(&in->mu);
	if (s == SLOT_MESSAGE) {
		bool mark = judge(in, &in->item);

		pthread_mutex_lock(&in->mu);
		in->item.mark = mark;
		in->slot = SLOT_JUDGED;
		pthread_cond_signal(&in->cv);
		pthread_mutex_unlock(&in->mu);
	} else if (s == SLOT_END) {
		end_pass(in);
	}
}

static void on_timer(struct loop *loop, void *arg)
{
	struct intake *in = arg;

	(void)loop;
	in->timer = 0;
	start_pass(in);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int intake_open(struct kipd *k, char *err, size_t errlen)
{
	const struct kip_config *cfg = k->cfg;
	struct intake *in;

	if (!cfg->intake_url)
		return 0;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->k = k;
	in->efd = -1;
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cv, NULL);
	in->url = dup_or_null(cfg->intake_url);
	in->username = dup_or_null(cfg->intake_username);
	in->password = dup_or_null(cfg->intake_password);
	in->ca_file = dup_or_null(cfg->intake_ca_file);
	in->client_cert = dup_or_null(cfg->intake_client_cert);
	in->client_key = dup_or_null(cfg->intake_client_key);
	in->timeout_s = cfg->intake_timeout_s;
	in->max_bytes = (size_t)cfg->intake_max_bytes;
	in->reader = (struct wire_settings){
	    .cert = dup_or_null(cfg->smime_cert),
	    .key = dup_or_null(cfg->smime_key),
	    .passphrase = dup_or_null(cfg->smime_key_passphrase),
	    .chain = dup_or_null(cfg->smime_chain),
	    .ca_bundle = dup_or_null(cfg->smime_ca_bundle),
	    .crl = dup_or_null(cfg->smime_crl),
	    .max_bytes = in->max_bytes,
	};
	k->intake = in;
	in->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (in->efd < 0 || !in->url ||
	    loop_add_fd(k->loop, in->efd, POLLIN, on_event, in) < 0) {
		snprintf(err, errlen, "intake: cannot start: %s",
			 strerror(errno ? errno : ENOMEM));
		intake_close(k);
		return -ENOMEM;
	}
	if (!k->signer || !k->trust)
		log_warn("intake: without smime.cert and smime.ca_bundle every "
			 "signed mail is quarantined as untrusted");
	arm(in, 1000); /* the first pass soon after start */
	return 0;
}

void intake_close(struct kipd *k)
{
	struct intake *in = k->intake;

	if (!in)
		return;
	if (in->running) {
		pthread_mutex_lock(&in->mu);
		in->stop = true;
		pthread_cond_signal(&in->cv);
		pthread_mutex_unlock(&in->mu);
		pthread_join(in->thread, NULL);
	}
	if (in->timer)
		loop_timer_cancel(k->loop, in->timer);
	if (in->efd >= 0) {
		loop_del_fd(k->loop, in->efd);
		close(in->efd);
	}
	if (in->password) {
		explicit_bzero(in->password, strlen(in->password));
		free(in->password);
	}
	wire_settings_free(&in->reader);
	free(in->url);
	free(in->username);
	free(in->ca_file);
	free(in->client_cert);
	free(in->client_key);
	buf_free(&in->item.raw);
	wire_verdict_free(&in->item.verdict);
	pthread_cond_destroy(&in->cv);
	pthread_mutex_destroy(&in->mu);
	free(in);
	k->intake = NULL;
}

/* ------------------------------------------------------------- MQTT -- */

/* Judges one report of the inbox and records the outcome (deleting the
 * row in that transaction). */
static void take_report(struct kipd *k, int64_t inbox_row, const char *username,
			const char *payload, size_t len)
{
	const struct kip_reporter *rp = config_find_reporter(k->cfg, username);
	struct counts cn = {0};
	struct devreport d;
	char source[256], err[512], verification[200];
	struct origin o = {k, &cn, "mqtt", source, username, inbox_row};
	const char *code = NULL;
	int64_t contact = 0;
	int r;

	if (!rp) {
		snprintf(source, sizeof(source), "%.64s:-", username);
		quarantine(&o, "unknown-sender",
			   "the broker user is not listed in mqtt.reporters");
		return;
	}
	r = devreport_parse(payload, len, &d, err, sizeof(err));
	if (r < 0) {
		snprintf(source, sizeof(source), "%s:-", username);
		quarantine(&o, "malformed",
			   r == -ENOMEM ? "out of memory" : err);
		return;
	}
	snprintf(source, sizeof(source), "%s:%s", username, d.id);
	if (seen(k, "mqtt", source)) {
		log_info("intake: mqtt report seen before; ignored");
		if (delete_inbox_row(k->store, inbox_row) < 0)
			log_err("intake: cannot clear an mqtt inbox row");
		devreport_free(&d);
		return;
	}
	store_int(k->store, &contact,
		  "SELECT id FROM contacts WHERE lower(email) = lower(?)"
		  " ORDER BY kind <> 'professional', id LIMIT 1",
		  "s", rp->contact);
	if (!contact) {
		quarantine(&o, "unknown-contact",
			   "mqtt.reporters names an address no contact has");
		devreport_free(&d);
		return;
	}
	snprintf(verification, sizeof(verification),
		 "MQTT broker user %s (authenticated by the broker; topic "
		 "restricted by its ACL), mapped by mqtt.reporters",
		 username);
	struct deviation_in din = {d.plan, d.goal,	 d.action, d.text,
				   "mqtt", verification, source};
	char actor[80];

	snprintf(actor, sizeof(actor), "mqtt:%s", username);
	if (record(&o, actor, contact, &din, &code, err, sizeof(err)) < 0)
		quarantine(&o, code ? code : "refused",
			   code ? err : "out of memory");
	devreport_free(&d);
}

/*
 * libmosquitto 2.0 acknowledges a QoS 1 message before it hands it over,
 * so the payload is first made durable on its own (one small commit) and
 * judged from the inbox after: a crash loses at most a report whose
 * insert had not committed, and what is in the inbox is judged at the
 * next message or start.
 */
void intake_mqtt(struct kipd *k, const char *username, const void *payload,
		 size_t len)
{
	struct txn t;
	char *hex;
	int r;

	if (len > DEVREPORT_MAX_BYTES + 1)
		len = DEVREPORT_MAX_BYTES + 1; /* refused as too large anyway */
	/* Hex: any bytes survive the round trip through a TEXT column. */
	hex = malloc(2 * len + 1);
	if (!hex) {
		log_err("intake: out of memory for an mqtt report");
		return;
	}
	hex_encode(payload, len, hex);
	r = txn_begin(k, &t);
	if (r >= 0)
		r = store_exec(k->store,
			       "INSERT INTO mqtt_inbox (username, payload, at)"
			       " VALUES (?, ?, ?)",
			       "ssi", username, hex, (int64_t)clock_now());
	free(hex);
	if (r >= 0)
		r = txn_commit(&t);
	if (r < 0) {
		txn_rollback(&t);
		log_err("intake: cannot keep an mqtt report: %s", strerror(-r));
		return;
	}
	intake_mqtt_drain(k);
}

static int unhex(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
				      : -1;
}

void intake_mqtt_drain(struct kipd *k)
{
	json_t *rows = NULL, *row;
	size_t i;

	if (store_rows(k->store, &rows,
		       "SELECT id, username, payload FROM mqtt_inbox"
		       " ORDER BY id LIMIT 1000",
		       "") < 0)
		return;
	json_array_foreach(rows, i, row)
	{
		const char *h =
		    json_string_value(json_object_get(row, "payload"));
		size_t n = h ? strlen(h) / 2 : 0, j;
		char *raw = malloc(n + 1);

		if (!raw)
			break;
		for (j = 0; j < n; j++) {
			int a = unhex(h[2 * j]), b = unhex(h[2 * j + 1]);

			if (a < 0 || b < 0)
				break;
			raw[j] = (char)(a << 4 | b);
		}
		raw[j] = '\0';
		take_report(k, json_integer_value(json_object_get(row, "id")),
			    json_string_value(json_object_get(row, "username")),
			    raw, j);
		free(raw);
	}
	json_decref(rows);
}

/* ------------------------------------------------- for the commands -- */

int intake_run_now(struct kipd *k, int64_t *ret_pass, bool *ret_queued)
{
	struct intake *in = k->intake;

	if (!in)
		return -ENODEV;
	start_pass(in);
	*ret_pass = in->started;
	*ret_queued = in->again;
	return 0;
}

json_t *intake_status(struct kipd *k)
{
	struct intake *in = k->intake;
	char when[32] = "";
	struct tm tm;

	if (!in)
		return json_pack("{s:b}", "configured", 0);
	if (in->last_end && gmtime_r(&in->last_end, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack(
	    "{s:b, s:b, s:I, s:I, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
	    "configured", 1, "running", in->running, "started",
	    (json_int_t)in->started, "passes", (json_int_t)in->passes,
	    "last_end", when, "last_error", in->last_error, "last", "read",
	    (json_int_t)in->last.fetched, "deviations",
	    (json_int_t)in->last.deviations, "replies",
	    (json_int_t)in->last.replies, "reports",
	    (json_int_t)in->last.reports, "quarantined",
	    (json_int_t)in->last.quarantined, "duplicates",
	    (json_int_t)in->last.duplicates);
}
