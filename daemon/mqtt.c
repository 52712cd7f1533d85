/* mqtt.c — see mqtt.h. */
#include "mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "kipd.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "txn.h"

/* Publications awaiting PUBACK at once: enough to fill the pipe to a
 * broker that is near, small enough to look up linearly. */
#define WINDOW 100

/* The longest wait between reconnect attempts. Low on purpose: events
 * wait in mqtt_outbox until a connection succeeds, so after the broker
 * returns they wait up to this long for the next attempt, while an attempt
 * costs one refused connection or TLS handshake at a broker that is near.
 * No jitter: kipd is one client of its broker, with no herd to spread. */
#define RETRY_MAX_S 5u

struct inflight {
	int mid;
	int64_t row;
};

struct mqtt {
	struct kipd *k;
	struct mosquitto *mosq;
	int fd; /* the socket being watched, -1 if none */
	int64_t misc_timer, retry_timer;
	unsigned retry_s; /* next reconnect delay */
	char status_topic[300];
	char source[300];
	bool online;
	struct inflight inflight[WINDOW];
	size_t n_inflight;
	int64_t last_row;      /* highest row handed to the broker */
	int acked[WINDOW * 2]; /* PUBACKs of one read, settled together */
	size_t n_acked;
};

static time_t now_s(void)
{
	return clock_now();
}

static void watch(struct mqtt *m);
static void schedule_retry(struct mqtt *m);

/* Hands rows not yet in flight to the broker, oldest first. */
static void pump(struct mqtt *m)
{
	struct store *st = m->k->store;
	json_t *rows, *row;
	size_t i;

	if (!m->online || m->n_inflight >= WINDOW)
		return;
	if (store_rows(st, &rows,
		       "SELECT id, topic, payload FROM mqtt_outbox"
		       " WHERE id > ? ORDER BY id LIMIT ?",
		       "ii", m->last_row,
		       (int64_t)(WINDOW - m->n_inflight)) < 0)
		return;
	json_array_foreach(rows, i, row)
	{
		const char *payload =
		    json_string_value(json_object_get(row, "payload"));
		int64_t id = json_integer_value(json_object_get(row, "id"));
		int mid = 0, rc;

		rc = mosquitto_publish(
		    m->mosq, &mid,
		    json_string_value(json_object_get(row, "topic")),
		    (int)strlen(payload), payload, 1, false);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warn("mqtt: publish: %s", mosquitto_strerror(rc));
			break;
		}
		m->inflight[m->n_inflight++] = (struct inflight){mid, id};
		m->last_row = id;
	}
	json_decref(rows);
	watch(m);
}

/* Deletes the rows whose PUBACK arrived, in one transaction. */
static void settle(struct mqtt *m)
{
	struct store *st = m->k->store;
	size_t done = 0;
	struct txn t;

	if (!m->n_acked || txn_begin(m->k, &t) < 0)
		return;
	for (size_t i = 0; i < m->n_acked; i++) {
		for (size_t j = 0; j < m->n_inflight; j++) {
			if (m->inflight[j].mid != m->acked[i])
				continue;
			store_exec(st, "DELETE FROM mqtt_outbox WHERE id = ?",
				   "i", m->inflight[j].row);
			m->inflight[j] = m->inflight[--m->n_inflight];
			done++;
			break;
		}
	}
	m->n_acked = 0;
	if (txn_commit(&t) < 0)
		log_err("mqtt: cannot record %zu acknowledgements; those "
			"events will be published again",
			done);
}

/* libmosquitto's callbacks run on the loop thread, inside
 * mosquitto_loop_read/write/misc called from here. */
static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt *m = arg;

	if (rc != 0) {
		log_warn("mqtt: the broker refused the connection: %s",
			 mosquitto_connack_string(rc));
		return;
	}
	m->online = true;
	m->retry_s = 1;
	m->n_inflight = 0; /* anything unacknowledged goes again */
	m->last_row = 0;
	mosquitto_publish(mosq, NULL, m->status_topic, 6, "online", 1, true);
	if (m->k->cfg->n_reporters) {
		char topic[300];

		snprintf(topic, sizeof(topic), "%s/deviations/+",
			 m->k->cfg->mqtt_topic_prefix);
		rc = mosquitto_subscribe(mosq, NULL, topic, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			log_err("mqtt: cannot subscribe to deviation reports: "
				"%s",
				mosquitto_strerror(rc));
	}
	log_notice("mqtt: connected to %s:%d", m->k->cfg->mqtt_host,
		   m->k->cfg->mqtt_port);
	pump(m);
}

/* A deviation report: PREFIX/deviations/USERNAME, where the broker's ACL
 * lets only USERNAME publish. Anything else subscribed by mistake is
 * dropped. */
/* Hands a partner's report to the intake; set by mqtt_set_report(). */
static mqtt_report_fn on_report;

void mqtt_set_report(mqtt_report_fn fn)
{
	on_report = fn;
}

static void on_message(struct mosquitto *mosq, void *arg,
		       const struct mosquitto_message *msg)
{
	struct mqtt *m = arg;
	const char *prefix = m->k->cfg->mqtt_topic_prefix;
	size_t plen = strlen(prefix);
	const char *user;

	(void)mosq;
	if (!msg->topic || strncmp(msg->topic, prefix, plen) != 0 ||
	    strncmp(msg->topic + plen, "/deviations/", 12) != 0) {
		log_warn("mqtt: a message on an unexpected topic was dropped");
		return;
	}
	user = msg->topic + plen + 12;
	if (!*user || strchr(user, '/')) {
		log_warn("mqtt: a message on an unexpected topic was dropped");
		return;
	}
	if (on_report)
		on_report(m->k, user, msg->payload,
			  msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (m->online)
		log_warn("mqtt: connection lost (%s); events wait in the store",
			 mosquitto_strerror(rc));
	m->online = false;
	m->n_inflight = 0;
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (m->n_acked == sizeof(m->acked) / sizeof(m->acked[0]))
		settle(m);
	m->acked[m->n_acked++] = mid;
}

/* After any libmosquitto call: settle acknowledgements, refill the
 * window, and watch the socket for what libmosquitto needs next. */
static void after_io(struct mqtt *m, int rc)
{
	settle(m);
	if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) < 0) {
		if (m->fd >= 0)
			loop_del_fd(m->k->loop, m->fd);
		m->fd = -1;
		m->online = false;
		schedule_retry(m);
		return;
	}
	pump(m);
	watch(m);
}

static void on_io(struct loop *loop, int fd, short revents, void *arg)
{
	struct mqtt *m = arg;
	int rc = MOSQ_ERR_SUCCESS;

	(void)loop;
	if (revents & (POLLERR | POLLHUP)) {
		int err = 0;
		socklen_t len = sizeof(err);

		/* A connection that failed (refused while the broker is
		 * away) stays in libmosquitto's "connecting" state and
		 * would report POLLERR forever: drop it and try again. */
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		log_debug("mqtt: connection failed: %s",
			  strerror(err ? err : ECONNRESET));
		after_io(m, MOSQ_ERR_CONN_LOST);
		return;
	}
	if (revents & POLLIN)
		rc = mosquitto_loop_read(m->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && (revents & POLLOUT))
		rc = mosquitto_loop_write(m->mosq, 1);
	after_io(m, rc);
}

static void watch(struct mqtt *m)
{
	int fd = mosquitto_socket(m->mosq);
	short ev = POLLIN;

	if (fd < 0)
		return;
	if (mosquitto_want_write(m->mosq))
		ev |= POLLOUT;
	if (fd != m->fd) {
		if (m->fd >= 0)
			loop_del_fd(m->k->loop, m->fd);
		m->fd = -1;
		if (loop_add_fd(m->k->loop, fd, ev, on_io, m) < 0)
			return;
		m->fd = fd;
	} else {
		loop_mod_fd(m->k->loop, fd, ev);
	}
}

/* Keep-alive pings and retries of unacknowledged messages. */
static void on_misc(struct loop *loop, void *arg)
{
	struct mqtt *m = arg;
	int rc;

	rc = mosquitto_loop_misc(m->mosq);
	m->misc_timer = loop_timer_at(
	    loop, loop_now_ms() + (uint64_t)m->k->cfg->mqtt_keepalive_s * 250u,
	    on_misc, m);
	if (m->fd >= 0)
		after_io(m, rc);
}

static void on_retry(struct loop *loop, void *arg)
{
	struct mqtt *m = arg;
	int rc;

	(void)loop;
	m->retry_timer = 0;
	rc = mosquitto_reconnect_async(m->mosq);
	log_debug("mqtt: reconnecting: %s", mosquitto_strerror(rc));
	if (rc != MOSQ_ERR_SUCCESS) {
		schedule_retry(m);
		return;
	}
	watch(m);
}

/* The broker is away: try again after 1, 2, 4, then every RETRY_MAX_S
 * seconds. */
static void schedule_retry(struct mqtt *m)
{
	if (m->retry_timer)
		return;
	m->retry_timer = loop_timer_at(
	    m->k->loop, loop_now_ms() + m->retry_s * 1000u, on_retry, m);
	m->retry_s *= 2;
	if (m->retry_s > RETRY_MAX_S)
		m->retry_s = RETRY_MAX_S;
}

static int setup_client(struct mqtt *m, char *err, size_t errlen)
{
	const struct kip_config *cfg = m->k->cfg;
	int rc;

	/* With reports to take in, the broker keeps the subscription and
	 * what arrives while kipd is away (a persistent session). */
	m->mosq = mosquitto_new(cfg->mqtt_client_id, cfg->n_reporters == 0, m);
	if (!m->mosq) {
		snprintf(err, errlen, "mqtt: cannot create a client");
		return -ENOMEM;
	}
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	mosquitto_message_callback_set(m->mosq, on_message);
	mosquitto_max_inflight_messages_set(m->mosq, WINDOW);
	if (cfg->mqtt_username)
		mosquitto_username_pw_set(m->mosq, cfg->mqtt_username,
					  cfg->mqtt_password);
	/* TLS always, the broker's certificate verified. */
	if (!cfg->mqtt_ca_file)
		mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
	rc = mosquitto_tls_set(m->mosq, cfg->mqtt_ca_file, NULL,
			       cfg->mqtt_client_cert, cfg->mqtt_client_key,
			       NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_opts_set(m->mosq, 1, "tlsv1.2", NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_insecure_set(m->mosq, false);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_will_set(m->mosq, m->status_topic, 7, "offline",
					1, true);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "mqtt: TLS or will: %s",
			 mosquitto_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

int mqtt_open(struct kipd *k, char *err, size_t errlen)
{
	const struct kip_config *cfg = k->cfg;
	struct mqtt *m;
	int r, rc;

	if (!cfg->mqtt_host)
		return 0;
	mosquitto_lib_init();
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->k = k;
	m->fd = -1;
	m->retry_s = 1;
	snprintf(m->status_topic, sizeof(m->status_topic), "%s/status",
		 cfg->mqtt_topic_prefix);
	snprintf(m->source, sizeof(m->source), "/kip/%s", cfg->mqtt_client_id);
	k->mqtt = m;
	r = setup_client(m, err, errlen);
	if (r < 0) {
		mqtt_close(k);
		return r;
	}
	/* Asynchronous: a broker that is down now is tried again. */
	rc = mosquitto_connect_async(m->mosq, cfg->mqtt_host, cfg->mqtt_port,
				     cfg->mqtt_keepalive_s);
	log_debug("mqtt: connecting: %s", mosquitto_strerror(rc));
	if (rc == MOSQ_ERR_SUCCESS)
		watch(m);
	else
		schedule_retry(m);
	m->misc_timer =
	    loop_timer_at(k->loop, loop_now_ms() + 1000, on_misc, m);
	return 0;
}

void mqtt_close(struct kipd *k)
{
	struct mqtt *m = k->mqtt;

	if (!m)
		return;
	if (m->mosq) {
		if (m->online) {
			mosquitto_publish(m->mosq, NULL, m->status_topic, 7,
					  "offline", 1, true);
			mosquitto_loop_write(m->mosq, 1);
		}
		mosquitto_disconnect(m->mosq);
		mosquitto_loop_write(m->mosq, 1);
		mosquitto_destroy(m->mosq);
	}
	if (m->fd >= 0)
		loop_del_fd(k->loop, m->fd);
	loop_timer_cancel(k->loop, m->misc_timer);
	loop_timer_cancel(k->loop, m->retry_timer);
	free(m);
	k->mqtt = NULL;
	mosquitto_lib_cleanup();
}

int mqtt_queue(struct kipd *k, const char *id, const char *type,
	       const char *time, json_t *data)
{
	struct mqtt *m = k->mqtt;
	char topic[300], ce_type[128];
	json_t *ev;
	char *payload;
	int r;

	snprintf(topic, sizeof(topic), "%s/events/%s",
		 k->cfg->mqtt_topic_prefix, type);
	snprintf(ce_type, sizeof(ce_type), "dk.kip.%s", type);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "specversion",
		       "1.0", "id", id, "source", m->source, "type", ce_type,
		       "time", time, "datacontenttype", "application/json",
		       "data", data);
	payload = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (!payload)
		return -ENOMEM;
	r = store_exec(k->store,
		       "INSERT INTO mqtt_outbox (event_id, topic, payload,"
		       " created_at) VALUES (?, ?, ?, ?)",
		       "sssi", id, topic, payload, (int64_t)now_s());
	free(payload);
	return r < 0 ? r : 0;
}

void mqtt_after_commit(struct kipd *k)
{
	if (k->mqtt)
		pump(k->mqtt);
}
