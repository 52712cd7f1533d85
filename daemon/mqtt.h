/* mqtt.h — events to an MQTT broker with libmosquitto (see event.h).
 *
 * libmosquitto's socket is one more fd of kipd's loop (mosquitto_loop_read,
 * _write and _misc are called from it, so its callbacks run on the loop
 * thread); reconnects back off from 1 to 5 seconds on loop timers, so
 * waiting events reach a broker within about 5 s of its return. Rows of
 * mqtt_outbox are published with QoS 1 and each is deleted only after its
 * PUBACK, so a broker that is away, or a kill -9 of kipd, loses
 * no event (a few may be published twice, with the same id). A retained
 * status topic PREFIX/status says "online", and the broker's Last Will
 * says "offline" when kipd disappears.
 */
#ifndef KIP_MQTT_H
#define KIP_MQTT_H

#include <jansson.h>
#include <stddef.h>

struct kipd;

/* Starts the client when mqtt.host is set. 0 or -errno with err. */
int mqtt_open(struct kipd *k, char *err, size_t errlen);
/* Publishes "offline", disconnects, stops. Unacknowledged rows stay. */
void mqtt_close(struct kipd *k);

/* Queues one event (inside the caller's transaction). */
int mqtt_queue(struct kipd *k, const char *id, const char *type,
	       const char *time, json_t *data);

/* A report USERNAME published to PREFIX/deviations/USERNAME (PAYLOAD, LEN
 * bytes), on the loop thread: kipd.c sets the intake (intake_mqtt()). */
typedef void (*mqtt_report_fn)(struct kipd *k, const char *username,
			       const void *payload, size_t len);
void mqtt_set_report(mqtt_report_fn fn);

/* After a commit that queued events (the TXN_EVENTS wake, txn.h):
 * publish soon. */
void mqtt_after_commit(struct kipd *k);

#endif
