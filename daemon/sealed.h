/* sealed.h — a message the outbox encrypts when it sends it.
 *
 * A distribution signs its inner entity once and queues it once
 * (outbox_entity), with one small row per recipient (outbox_sealed: the
 * certificate checked at queue time, the neutral subject, the date).
 * kip-seal (or, when none is ready, the SMTP worker that sends it)
 * encrypts the entity for the recipient and builds the RFC 5322 message
 * around it shortly before the transfer, off the loop thread: the loop and
 * the store then handle one copy of a plan instead of one ciphertext per
 * recipient. A certificate past its notAfter by then is refused
 * (smime_encrypt()), and the message needs manual delivery.
 * The Message-ID is the outbox row's, so a retry or a resend after a
 * crash carries the same one (its envelope has a new content key).
 */
#ifndef KIP_SEALED_H
#define KIP_SEALED_H

#include <stddef.h>
#include <time.h>

#include "smime.h"

struct buf;

/* Immutable bytes shared by the messages of one distribution, across
 * threads (reference counted). */
struct sealed_entity;

/* Takes DATA (malloc'd, LEN bytes; wiped when the last reference goes).
 * NULL on ENOMEM (DATA is then freed). */
struct sealed_entity *sealed_entity_new(char *data, size_t len);
struct sealed_entity *sealed_entity_ref(struct sealed_entity *e);
void sealed_entity_unref(struct sealed_entity *e);

/* One message: the entity, encrypted with CIPHER for CERT_PEM, in a
 * message FROM -> TO with SUBJECT, MESSAGE_ID and DATE, asking for a read
 * receipt to RECEIPT_TO (NULL: not; mime_message_receipt()). */
struct sealed {
	struct sealed_entity *entity; /* a reference of its own */
	char *cert_pem, *from, *to, *subject, *message_id;
	time_t date;
	enum smime_cipher cipher;
	char *receipt_to;
};

/* Appends the complete message (CRLF line ends) to OUT. 0, or -errno with
 * a reason in err that names no personal data. Thread-safe. */
int sealed_build(const struct sealed *s, struct buf *out, char *err,
		 size_t errlen);
/* Frees the strings and drops the entity reference; S itself too. */
void sealed_free(struct sealed *s);

#endif
