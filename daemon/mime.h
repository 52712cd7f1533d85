/* mime.h — composing the messages kip sends (RFC 5322, MIME), CRLF only.
 *
 * The outer message carries nothing personal: From (the function mailbox),
 * one To, a neutral Subject, Date and a Message-ID that is stable per
 * outbox row. What is personal travels inside the encryption, with the real
 * subject as a protected header (RFC 9788 style).
 */
#ifndef KIP_MIME_H
#define KIP_MIME_H

#include <stddef.h>
#include <time.h>

struct buf;

struct mime_attachment {
	const char *filename;	  /* ASCII, e.g. "indsatsplan-12-v3.yaml" */
	const char *content_type; /* e.g. "application/yaml; charset=utf-8" */
	const char *data;
	size_t len;
};

/*
 * The inner entity of a personal message: multipart/mixed with
 * protected-headers="v1", carrying Subject (the real subject, UTF-8,
 * RFC 2047-encoded when not ASCII) and From as protected headers; inside,
 * multipart/alternative of text/plain and text/html (both UTF-8, base64),
 * then the attachments (base64, Content-Disposition: attachment). TEXT and
 * HTML may be NULL to leave that part out (one alone is not wrapped in
 * multipart/alternative); their line breaks become CRLF. -EINVAL when
 * there is nothing to send, for CR/LF in a header value, for text that is
 * not UTF-8, or for a file name that is not printable ASCII without '"'
 * and '\'. Appends to out.
 */
int mime_inner(const char *from, const char *subject, const char *text,
	       const char *html, const struct mime_attachment *att,
	       size_t n_att, struct buf *out);

/*
 * A complete message: the outer headers (Date from WHEN, From, To,
 * Subject, Message-ID, MIME-Version, Auto-Submitted: auto-generated), then
 * the body. With CONTENT_TYPE set (an S/MIME envelope:
 * smime_content_type()), BODY is its base64 and the message gets that
 * Content-Type, Content-Transfer-Encoding: base64 and
 * Content-Disposition: attachment; filename=smime.p7m. With CONTENT_TYPE
 * NULL, BODY is a complete MIME entity (its headers, a blank line, its
 * body; e.g. a multipart/signed invitation) merged as is below the outer
 * headers. Non-ASCII subjects are RFC 2047-encoded, as are non-ASCII
 * display names ("Name <addr>"; the address itself must be ASCII).
 * Refuses CR or LF inside any header value and a bare LF in BODY
 * (-EINVAL). Appends to out.
 */
int mime_message(const char *from, const char *to, const char *subject,
		 const char *message_id, time_t when, const char *content_type,
		 const char *body, size_t body_len, struct buf *out);

/* mime_message() that asks the reader's mail program for a read receipt
 * (RFC 8098) to RECEIPT_TO, a bare address ("kip@kommune.example"):
 * "Disposition-Notification-To: <RECEIPT_TO>" among the outer headers.
 * RECEIPT_TO NULL: none, as mime_message(). -EINVAL also for a
 * RECEIPT_TO that is not one printable ASCII address without spaces or
 * angle brackets. */
int mime_message_receipt(const char *from, const char *to,
			 const char *receipt_to, const char *subject,
			 const char *message_id, time_t when,
			 const char *content_type, const char *body,
			 size_t body_len, struct buf *out);

/* Appends P as base64 (RFC 2045): lines of 76 characters, each ended by
 * CRLF. 0 or -ENOMEM. */
int mime_base64(struct buf *out, const unsigned char *p, size_t n);

/* 1 if P (N bytes) holds an LF not preceded by CR, which every message
 * kipd sends must not (SMTP servers that fight smuggling refuse it). */
int mime_has_bare_lf(const char *p, size_t n);

/* A multipart boundary: "kip-" and 32 random hex digits, made again while
 * it occurs in AVOID (N bytes; NULL: nothing to avoid). A '-' is outside
 * the base64 alphabet, so it cannot occur in a base64 body either. 0 or
 * -EIO (no randomness). */
#define MIME_BOUNDARY_SIZE 40
int mime_boundary(char out[MIME_BOUNDARY_SIZE], const char *avoid, size_t n);

/* A plain text/plain UTF-8 entity (headers, blank line, base64 body). */
int mime_text_entity(const char *text, struct buf *out);

#endif
