/* ireport.h — delivery status notifications (RFC 3464) and message
 * disposition notifications (RFC 8098) read from an inbound mail.
 *
 * A relay that took one of kip's messages may later say what became of
 * it: delivered, delayed, failed (a bounce after acceptance); a
 * recipient's mail reader may say it was displayed. Both come as a
 * multipart/report that nobody signs. ireport_parse() reads one into a
 * small struct; whether it concerns a message kip sent, and to that
 * recipient, is kipd's part (daemon/delivery.c): nothing here is
 * trusted, and no report is ever a deviation report.
 *
 * What is read, at the top of the message only:
 *
 *  - multipart/report; report-type=delivery-status (a DSN) or
 *    report-type=disposition-notification (an MDN); any other top-level
 *    type or report-type is not a report (IREPORT_NONE).
 *  - Among its direct parts (at most IREPORT_MAX_PARTS): exactly one
 *    message/delivery-status (or message/global-delivery-status) for a
 *    DSN, message/disposition-notification (or the global form) for an
 *    MDN; at most one part with the returned message or its headers:
 *    text/rfc822-headers, message/global-headers (header fields only),
 *    message/rfc822 or message/global (a whole message). Its Message-ID
 *    is returned_id. Other parts (the human-readable text) are skipped.
 *  - The status part, decoded (at most IREPORT_MAX_STATUS bytes, no NUL),
 *    is blocks of header-style fields (folded lines unfolded) separated
 *    by blank lines. DSN: a first block without recipient fields is the
 *    per-message block (Original-Envelope-Id); each other block is one
 *    recipient with Final-Recipient, Action and Status (required),
 *    Original-Recipient and Diagnostic-Code (optional); at most
 *    IREPORT_MAX_RCPT recipients. MDN: one block with Final-Recipient and
 *    Disposition (required), Original-Recipient and Original-Message-ID.
 *    Field names are case-insensitive; unknown fields (Reporting-MTA,
 *    Remote-MTA, X-...) are skipped; a field the report is judged by that
 *    appears twice in a block is refused.
 *
 * Values: an address is "rfc822; addr-spec" (the type in any case, the
 * address possibly in <>), lower-cased, plain ASCII with one '@'; an
 * address of another type (x400, utf-8) is kept as "" (it cannot match a
 * recipient of kip's). Status is "C.S.D" (C 2, 4 or 5; S and D 1-3
 * digits). The diagnostic is the text after its type ("smtp; "), control
 * characters made spaces, invalid UTF-8 replaced, cut to fit. Message-IDs
 * are without <>, plain ASCII.
 *
 * The input is hostile: the reasons in err name only fields and limits,
 * never a value from the mail, so they may be logged and quarantined.
 */
#ifndef KIP_IREPORT_H
#define KIP_IREPORT_H

#include <stddef.h>

#define IREPORT_MAX_RCPT 8
#define IREPORT_MAX_PARTS 32
#define IREPORT_MAX_STATUS (64 * 1024)

enum ireport_kind {
	IREPORT_NONE = 0, /* not a report */
	IREPORT_DSN,	  /* report-type=delivery-status */
	IREPORT_MDN,	  /* report-type=disposition-notification */
};

/* A DSN recipient's Action (RFC 3464 2.3.3). */
enum ireport_action {
	IREPORT_FAILED = 1,
	IREPORT_DELAYED,
	IREPORT_DELIVERED,
	IREPORT_RELAYED,
	IREPORT_EXPANDED,
};

/* An MDN's disposition-type (RFC 8098 3.2.6.2). */
enum ireport_disposition {
	IREPORT_DISPLAYED = 1,
	IREPORT_DELETED,
	IREPORT_DISPATCHED,
	IREPORT_PROCESSED,
};

struct ireport_rcpt {
	enum ireport_action action; /* DSN; 0 in an MDN */
	char final_rcpt[256];	    /* "" when not an rfc822 address */
	char original_rcpt[256];    /* "" when absent or not rfc822 */
	char status[16];	    /* DSN: "5.1.1"; "" in an MDN */
	char diagnostic[256];	    /* DSN: Diagnostic-Code's text, or "" */
};

struct ireport {
	enum ireport_kind kind;
	char envid[128];       /* DSN: Original-Envelope-Id, or "" */
	char returned_id[256]; /* Message-ID of the returned message or
				  headers, or "" */
	char original_id[256]; /* MDN: Original-Message-ID, or "" */
	enum ireport_disposition disposition; /* MDN */
	char mode[64]; /* MDN: its action and sending mode,
			  "manual-action/MDN-sent-manually" */
	int n;	       /* recipients: 1..IREPORT_MAX_RCPT (an MDN: 1) */
	struct ireport_rcpt rcpt[IREPORT_MAX_RCPT];
};

/*
 * Reads RAW (LEN bytes, CRLF or LF) into OUT (overwritten). Returns 0
 * with out->kind IREPORT_NONE when it is no report of these kinds, 0 with
 * the report, or -EINVAL when it is one (out->kind set) that cannot be
 * read, with one of these reasons in err:
 *   "multipart/report without parts", "more than 32 parts",
 *   "no message/delivery-status part" (or disposition-notification),
 *   "two status parts", "two returned messages",
 *   "status part over 65536 bytes", "status part not decodable",
 *   "a line that is not a field", "a field name that is not plain",
 *   "no recipient", "more than 8 recipients", "more than one block",
 *   "<field> twice", "no <field>", "bad <field>" (Final-Recipient,
 *   Original-Recipient, Action, Status, Original-Envelope-Id,
 *   Original-Message-ID, Disposition), "bad Message-ID in the returned
 *   headers", "two Message-IDs in the returned headers";
 * or -ENOMEM ("out of memory"; inside GMime GLib aborts instead).
 * Call from one thread at a time (GMime).
 */
int ireport_parse(const char *raw, size_t len, struct ireport *out, char *err,
		  size_t errlen);

/* "failed", "delayed", ... and "displayed", "deleted", ...; "?" for a
 * value outside the enum. */
const char *ireport_action_name(enum ireport_action a);
const char *ireport_disposition_name(enum ireport_disposition d);

#endif
