/* delivery.h — what kip learns of a message after the relay took it.
 *
 * A relay's delivery status notification (RFC 3464) or a recipient's
 * disposition notification (RFC 8098) arrives in the function mailbox,
 * unsigned by nature; kip-inmail reads it (inmail/ireport.h) and the
 * intake hands it here. It counts only when it matches exactly a message
 * kip sent and its recipient; it is then recorded as the message's
 * delivery (outbox_delivery()), and a bounce is acted on: the plan's
 * coordinator is told, encrypted, and message.bounced is emitted.
 *
 * The match: kip sends every message with the Message-ID
 * "<kip.ID.RANDOM@DOMAIN>" and asks for reports with the envelope id
 * "kip.ID.RANDOM" (its local part) and the headers returned. A DSN names
 * the message by its Original-Envelope-Id and by the Message-ID of the
 * returned headers, an MDN by its Original-Message-ID and the returned
 * headers; each one given must name the same message (the random part
 * makes them unguessable), the message must have been sent, and every
 * recipient the report names (its Final-Recipient or Original-Recipient,
 * any case) must be the message's recipient. Who sent the report does not
 * matter. docs/INTAKE.md, "Delivery reports".
 */
#ifndef KIP_DELIVERY_H
#define KIP_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

struct ireport;
struct kipd;

/*
 * The outbox row REP is about: 0 with *RET_ROW, or -ENOENT with the
 * quarantine reason in *RET_REASON and a detail that names no address
 * or value from the mail:
 *   report-unknown-message   it names no message, one kip did not send,
 *                            or one not sent (yet)
 *   report-headers-mismatch  its envelope id (or Original-Message-ID)
 *                            and its returned headers name different
 *                            messages
 *   report-recipient-mismatch  a recipient it names is not the
 *                            message's
 * Or another -errno from the store (*RET_REASON "refused").
 */
int delivery_match(struct kipd *k, const struct ireport *rep, int64_t *ret_row,
		   const char **ret_reason, char *detail, size_t len);

/*
 * Inside the caller's unit of work: records what REP says of message ROW
 * (delivery_match()'s). A DSN recipient failed: bounced (its Status and
 * Diagnostic-Code); delayed: delayed; delivered or expanded: delivered;
 * relayed: nothing (no report will follow). An MDN displayed: opened;
 * deleted, dispatched, processed: delivered (its disposition, and the
 * mode as the detail). When the message became bounced, the coordinator
 * is told (distribute_bounce_notice()) and message.bounced is emitted.
 * 1 when the message's delivery changed, 0 when the report adds nothing
 * (outbox_delivery()'s order), -errno.
 */
int delivery_record(struct kipd *k, int64_t row, const struct ireport *rep);

#endif
