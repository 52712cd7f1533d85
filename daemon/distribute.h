/* distribute.h — what goes to whom: an approved plan version to every
 * member and the citizen, meeting invitations, failure notices.
 *
 * Everything runs inside the caller's transaction and only queues rows in
 * the outbox; sending happens after the commit. Personal data leaves only
 * encrypted to a recipient whose certificate checks out; anyone else gets
 * at most a neutral notice and shows as needing manual delivery.
 */
#ifndef KIP_DISTRIBUTE_H
#define KIP_DISTRIBUTE_H

#include <stdbool.h>
#include <stdint.h>

struct cmd_ctx;
struct kipd;

/* Queues version VERSION of PLAN for every member and the citizen, or
 * with ONLY (a contact id, not 0) for that member alone, or with
 * DISTRIBUTE_CITIZEN for the citizen alone. Members with
 * delivery 'pdf' and no usable certificate get the plan as an encrypted
 * PDF (pdfpass.h), and *PASSPHRASES (not NULL) gets an array of
 * {contact, name, passphrase} for the coordinator's reply (contact 0: the
 * citizen). Returns the number of rows queued or cmd_fail()'s -1. */
#include <jansson.h>
#define DISTRIBUTE_CITIZEN (-1)
int distribute_version(struct cmd_ctx *c, int64_t plan, int64_t version,
		       int64_t only, json_t **passphrases);

/* Queues invitations for MEETING: a signed, neutral iMIP REQUEST (or
 * CANCEL) to every participant, and for REQUEST an encrypted message with
 * the details. */
int distribute_meeting(struct cmd_ctx *c, int64_t meeting, bool cancel);

/* Tells the coordinator of the plan of outbox row ROW that it failed
 * (inside the caller's transaction; failures of notices are not
 * reported again). */
void distribute_failure_notice(struct kipd *k, int64_t row);

/*
 * Tells the coordinator of the plan of outbox row ROW that it bounced
 * after the relay took it (the row's delivery, recorded first): an
 * encrypted message naming the member (name and address), the message
 * and the plan version, and the reason (the status code and the
 * diagnostic). Without a usable certificate of the coordinator's, a
 * manual row and the neutral failure notice (ids only). Nothing for a
 * row of no plan, for a failure notice, or for a message to the
 * coordinator (the notice would go where the bounce came from). Inside
 * the caller's transaction. 0 or -errno.
 */
int distribute_bounce_notice(struct kipd *k, int64_t row);

/* Signs TEXT, which must hold no personal data, as a text/plain entity and
 * queues it as M (inside the caller's transaction): reminders and notices.
 * PRIVATE: M goes to a private mailbox, and its From names the sender as
 * they see it (wording.h); the caller words SUBJECT and TEXT for it.
 * 0, -ENOKEY without a signing certificate, or another -errno. */
struct outbox_msg;
int distribute_neutral(struct kipd *k, struct outbox_msg *m, bool private,
		       const char *subject, const char *text);

/*
 * Queues TEXT (personal: a deviation report and its context) for member
 * CONTACT of PLAN as a signed and encrypted message with the protected
 * subject SUBJECT, the outer one neutral ("Afvigelse – ref KIP-<plan>",
 * for a private mailbox wording.h's).
 * Without a usable certificate the row is marked for manual delivery and
 * (when configured) a neutral notice goes out instead. The rows are tied
 * to DEVIATION. Inside the caller's transaction. 0 or a negative errno.
 */
/*
 * Queues TEXT (the digest of DAY, which names members) for COORDINATOR (a
 * contact) signed and encrypted, kind 'digest', without a citizen or a
 * plan on its row; without a usable certificate a manual row and a
 * neutral notice. Inside the caller's transaction. 0 or -errno.
 */
int distribute_digest(struct kipd *k, int64_t coordinator, const char *day,
		      const char *text);

int distribute_deviation(struct kipd *k, int64_t citizen, int64_t plan,
			 int64_t version, int64_t deviation, int64_t contact,
			 const char *subject, const char *text);
/*
 * How a plan would reach the recipient in ROW (the columns of
 * load_recipients(): contact_id, kind, name, email, cert_pem,
 * cipher_policy, caps_gcm, private_mailbox, delivery) if it were sent now,
 * in words for kipctl contact show: encrypted to the personal certificate,
 * to an organisation certificate (its domain), as an encrypted PDF, or by
 * hand with a neutral notice (and why). The same decision as a
 * distribution's. Returns 0.
 */
int distribute_route(struct kipd *k, json_t *row, char *out, size_t len);

#endif
