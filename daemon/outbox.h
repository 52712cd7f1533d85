/* outbox.h — the durable send queue.
 *
 * Every message is a row in the outbox, committed before anything is sent:
 *   queued → sending → sent | deferred → … | failed | cancelled
 * and "manual" for a recipient kip cannot reach securely (no address, no
 * usable certificate), with the reason. A row's Message-ID is fixed when it
 * is queued, so a message sent twice after a crash is recognisably the
 * same. Rows found in "sending" at start are queued again, unless a
 * decision covers them (outbox_cancel()).
 *
 * Temporary failures back off exponentially (smtp.retry_first_s doubling
 * to smtp.retry_max_s); a message still failing smtp.give_up_s after it was
 * queued, or refused with 5xx, fails, and the plan's coordinator is told.
 * A sent row says whether the relay was asked for delivery reports
 * (reports 'requested') or gives none ('none'): smtp.h.
 */
#ifndef KIP_OUTBOX_H
#define KIP_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct kipd;
struct store;

struct outbox_msg {
	const char *kind; /* plan, notice, invitation,
			     invitation-details, failure */
	int64_t citizen_id, plan_id, version, meeting_id;
	int64_t contact_id;	 /* 0: the citizen */
	const char *recipient;	 /* NULL: no address */
	const char *state;	 /* "queued", "manual" or "cancelled" */
	const char *reason;	 /* for manual/cancelled */
	const char *cipher;	 /* "cbc", "gcm" or NULL */
	int64_t deviation_id;	 /* the deviation a forward carries, or 0 */
	const char *cert_domain; /* encrypted to the organisation
				    certificate of this domain (orgcert.h),
				    or NULL */
	bool pdf;		 /* the plan as an encrypted PDF (pdfpass.h) */
};

/* Starts the outbox: the SMTP workers when smtp.url is set, recovery of
 * rows left in "sending", and the first run. 0 or -errno with err. */
int outbox_open(struct kipd *k, char *err, size_t errlen);
/* Finishes the transactions in flight and stops; unsent rows stay queued. */
void outbox_close(struct kipd *k);

/*
 * Inserts a row inside the caller's transaction and returns its id and
 * Message-ID ("<kip.ID.RANDOM@DOMAIN>"). The body is attached afterwards
 * with outbox_set_body() because the Message-ID is part of it.
 */
int outbox_insert(struct kipd *k, const struct outbox_msg *m, int64_t *ret_id,
		  char ret_msgid[128]);
int outbox_set_body(struct kipd *k, int64_t id, const char *body, size_t len);

/* Where a message of plan PLAN_ID to contact CONTACT_ID (0: none, the
 * citizen) asks for a read receipt: organisation.mailbox when
 * mail.read_receipts is on and it goes to a member of the plan, else NULL
 * (mime_message_receipt()). */
const char *outbox_receipt_to(const struct kipd *k, int64_t plan_id,
			      int64_t contact_id);

/* Messages encrypted when sent (sealed.h), inside the caller's
 * transaction: the signed entity a distribution shares, once (its id in
 * *ret_id), then per recipient's row (outbox_insert()) the certificate
 * (checked by the caller), the From and the subject the recipient sees
 * in clear (wording.h; FROM NULL: organisation.mailbox alone). The row's
 * cipher column says which envelope. */
int outbox_entity_add(struct kipd *k, int64_t citizen_id, const char *body,
		      int64_t *ret_id);
int outbox_seal(struct kipd *k, int64_t id, int64_t entity_id,
		const char *cert_pem, const char *from, const char *subject);

/* What a decision covers: every message of a citizen (CITIZEN_ID), the
 * citizen's relatives' (RELATIVES too), one member's of a plan (PLAN_ID
 * and CONTACT_ID), or one message alone (ID: an administrator's cancel,
 * kipctl outbox cancel). */
struct outbox_scope {
	int64_t citizen_id, plan_id, contact_id;
	bool relatives;
	int64_t id;
};

/* SQL: outbox row "o" (kind 'plan') is its recipient's copy of its
 * version: the newest queued for them. An earlier one (bounced, its
 * passphrase deleted, sent again for any reason) is history: what became
 * of the member's copy is what became of this one. */
#define OUTBOX_LATEST_COPY_SQL                                                 \
	"NOT EXISTS (SELECT 1 FROM outbox o2 WHERE o2.plan_id = o.plan_id"     \
	" AND o2.version = o.version AND o2.kind = 'plan'"                     \
	" AND o2.contact_id IS o.contact_id AND o2.id > o.id)"

/*
 * Inside the caller's transaction: the copy of version VERSION of PLAN for
 * CONTACT (0: the citizen), the newest (OUTBOX_LATEST_COPY_SQL), did not
 * reach them by mail (manual, failed, bounced after the relay took it, or
 * an encrypted PDF whose passphrase they need) and was handed over another way,
 * on DATE ("YYYY-MM-DD"), as HOW says. Its delivery becomes 'handed'.
 * The row's id in *RET_ID; -ENOENT when no such copy waits.
 */
int outbox_handed(struct kipd *k, int64_t plan, int64_t version,
		  int64_t contact, const char *how, const char *date,
		  int64_t *ret_id);

/*
 * Inside the caller's transaction, the one way a decision (withdrawn
 * consent, erasure, a member removed) stops messages: every covered row
 * not yet final is cancelled with REASON, and what a sealed one was to be
 * built from is deleted. A transfer in flight is aborted at once, before
 * its final dot (smtp_cancel()); one past that point keeps "sending" with
 * REASON and ends sent or cancelled when the server answers, never queued
 * again. The same decisions are read again from the facts when a row is
 * claimed, when its result is recorded and at start, so nothing they
 * cover leaves later either. Returns the number cancelled or -errno.
 */
int outbox_cancel(struct kipd *k, const struct outbox_scope *sc,
		  const char *reason);

/* Inside the caller's transaction, for an erasure (after
 * outbox_cancel()): deletes every row of the citizen, of their plans and
 * of their relatives and supporters, with their bodies, sealed rows and
 * signed entities (and any entity nothing refers to any more). Sets the
 * counts "outbox" and "outbox_entity" in COUNTS. 0 or -errno. */
int outbox_erase_citizen(struct kipd *k, int64_t citizen_id, json_t *counts);

/* The longest delivery_detail kept, in bytes (cut at a character). */
#define OUTBOX_DETAIL_MAX 256

/*
 * Inside the caller's transaction: what became of message ROW after the
 * relay took it, from a delivery status or disposition notification (or
 * the coordinator's word): DELIVERY "delayed", "bounced", "delivered",
 * "opened" or "handed", with STATUS (a DSN's status code, an MDN's
 * disposition; may be NULL), DETAIL (the diagnostic text; NULL, or cut to
 * OUTBOX_DETAIL_MAX) and the time AT. A later fact never takes back a
 * stronger one: the delivery changes only to one that ranks higher in
 *   delayed < bounced < delivered < opened < handed
 * (a bounce or a delivery ends a delay; a delivery or an opening shows
 * the message arrived after all, whatever bounced; opened implies
 * delivered; the coordinator's word that it was handed over stands). The
 * state of the transfer (sent) is not touched. 1 when the delivery
 * changed, 0 when the row holds as much already (or is gone), -EINVAL for
 * another DELIVERY, or -errno.
 */
int outbox_delivery(struct kipd *k, int64_t row, const char *delivery,
		    const char *status, const char *detail, int64_t at);

/* FN(K, ROW) when message ROW will not arrive (it failed, or needs
 * manual delivery when it was to be sent): kipd.c sets the notice to the
 * plan's coordinator (distribute_failure_notice()). Inside the unit of
 * work that records it. */
void outbox_set_undelivered(void (*fn)(struct kipd *k, int64_t row));

/*
 * Inside the caller's transaction, for an administrator (kipctl outbox
 * retry): message ID, or with ID 0 every deferred message, becomes due
 * now instead of at its next back-off, and the commit's TXN_OUTBOX wake
 * sends it at once. Only a queued or deferred row is touched; its
 * attempts and reason stay. Returns the number of rows made due, or
 * -errno.
 */
int outbox_retry(struct kipd *k, int64_t id);

/* Whether the outbox sends mail: smtp.url is set (without it, messages
 * stay queued). */
bool outbox_sends(const struct kipd *k);

/* After a commit that queued or cancelled messages (the TXN_OUTBOX wake,
 * txn.h): starts sending at once. */
void outbox_after_commit(struct kipd *k);

#endif
