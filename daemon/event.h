/* event.h — business events: recorded for good and published over MQTT.
 *
 * Each event is written, in the transaction of the change it describes, to
 * event_log (type, time, citizen and plan ids: the pseudonymous record that
 * statistics are computed from, and that survives erasure) and, when MQTT
 * is configured, to mqtt_outbox as a CloudEvents JSON payload, deleted only
 * after the broker's PUBACK. Payloads carry ids only: never a name, CPR
 * number, address, e-mail address or plan text.
 *
 * Types (the CloudEvents "type" is "dk.kip." + the name):
 *   plan.created, version.created, version.approved, consent.given,
 *   consent.withdrawn, meeting.scheduled, meeting.moved, meeting.cancelled,
 *   meeting.held (data.in_time: held by the follow-up date in force),
 *   invitation.sent, message.sent, message.deferred, message.failed,
 *   message.manual, message.bounced, certificate.expiring, citizen.erased,
 *   and later
 *   deviation.received, deviation.forwarded, reminder.sent,
 *   followup.overdue, followup.paused.
 */
#ifndef KIP_EVENT_H
#define KIP_EVENT_H

#include <jansson.h>
#include <stdint.h>

struct kipd;

/*
 * Records event TYPE about CITIZEN_ID and PLAN_ID (0: none) with DATA (a
 * JSON object of further ids and flags; may be NULL; always consumed).
 * Must run inside a store transaction. Returns 0 or a negative errno.
 */
int event_emit(struct kipd *k, const char *type, int64_t citizen_id,
	       int64_t plan_id, json_t *data);

#endif
