/* mqtt.c — see mqtt.h. */
#include "mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "kipd.h"
#include "log.h"
#include "loop.h"
#include "store.h"

/* Publications awaiting PUBACK at once: enough to fill the pipe to a
 * broker that is near, small enough to look up linearly. */
#define WINDOW 100

struct inflight {
	int mid;
	int64_t row;
};

struct mqtt {
	struct kipd *k;
	struct mosquitto *mosq;
	int efd;
	char status_topic[300];
	char source[300];

	/* Written by libmosquitto's thread, read by the loop. */
	pthread_mutex_t mu;
	int *acked;
	size_t n_acked, cap_acked;
	atomic_int link;      /* 1: connected, 0: not */

	/* The loop thread's own. */
	bool online;
	struct inflight inflight[WINDOW];
	size_t n_inflight;
	int64_t last_row;     /* highest row handed to the broker */
};

static time_t now_s(void)
{
	return time(NULL);
}

static void wake(struct mqtt *m)
{
	uint64_t one = 1;

	(void)!write(m->efd, &one, sizeof(one));
}

static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (rc == 0)
		atomic_store(&m->link, 1);
	wake(m);
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt *m = arg;

	(void)mosq, (void)rc;
	atomic_store(&m->link, 0);
	wake(m);
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct mqtt *m = arg;

	(void)mosq;
	pthread_mutex_lock(&m->mu);
	if (m->n_acked == m->cap_acked) {
		size_t cap = m->cap_acked ? m->cap_acked * 2 : 256;
		int *p = realloc(m->acked, cap * sizeof(*p));

		if (p) {
			m->acked = p;
			m->cap_acked = cap;
		}
	}
	if (m->n_acked < m->cap_acked)
		m->acked[m->n_acked++] = mid;
	pthread_mutex_unlock(&m->mu);
	wake(m);
}

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
	json_array_foreach(rows, i, row) {
		const char *payload = json_string_value(
			json_object_get(row, "payload"));
		int64_t id = json_integer_value(json_object_get(row, "id"));
		int mid = 0, rc;

		rc = mosquitto_publish(m->mosq, &mid,
				       json_string_value(
					       json_object_get(row, "topic")),
				       (int)strlen(payload), payload, 1, false);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warn("mqtt: publish: %s", mosquitto_strerror(rc));
			break;
		}
		m->inflight[m->n_inflight++] = (struct inflight){ mid, id };
		m->last_row = id;
		log_debug("mqtt: event row %lld published as message %d",
			  (long long)id, mid);
	}
	json_decref(rows);
}

/* Deletes the rows whose PUBACK arrived, in one transaction. */
static void settle(struct mqtt *m, const int *mids, size_t n)
{
	struct store *st = m->k->store;
	size_t done = 0;

	if (!n || store_begin(st) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < m->n_inflight; j++) {
			if (m->inflight[j].mid != mids[i])
				continue;
			store_exec(st, "DELETE FROM mqtt_outbox WHERE id = ?",
				   "i", m->inflight[j].row);
			log_debug("mqtt: message %d acknowledged (row %lld)",
				  mids[i], (long long)m->inflight[j].row);
			m->inflight[j] = m->inflight[--m->n_inflight];
			done++;
			break;
		}
	}
	if (store_commit(st) < 0)
		log_err("mqtt: cannot record %zu acknowledgements; those "
			"events will be published again",
			done);
}

static void on_wake(struct loop *loop, int fd, short revents, void *arg)
{
	struct mqtt *m = arg;
	int *mids;
	size_t n;
	uint64_t v;

	(void)loop, (void)fd, (void)revents;
	(void)!read(m->efd, &v, sizeof(v));
	pthread_mutex_lock(&m->mu);
	mids = m->acked;
	n = m->n_acked;
	m->acked = NULL;
	m->n_acked = m->cap_acked = 0;
	pthread_mutex_unlock(&m->mu);
	settle(m, mids, n);
	free(mids);
	if (atomic_load(&m->link) && !m->online) {
		m->online = true;
		m->n_inflight = 0; /* anything unacknowledged goes again */
		m->last_row = 0;
		mosquitto_publish(m->mosq, NULL, m->status_topic, 6, "online",
				  1, true);
		log_notice("mqtt: connected to %s:%d", m->k->cfg->mqtt_host,
			   m->k->cfg->mqtt_port);
	} else if (!atomic_load(&m->link) && m->online) {
		m->online = false;
		m->n_inflight = 0;
		log_warn("mqtt: connection lost; events wait in the store");
	}
	pump(m);
}

static int setup_client(struct mqtt *m, char *err, size_t errlen)
{
	const struct kip_config *cfg = m->k->cfg;
	int rc;

	m->mosq = mosquitto_new(cfg->mqtt_client_id, true, m);
	if (!m->mosq) {
		snprintf(err, errlen, "mqtt: cannot create a client");
		return -ENOMEM;
	}
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	mosquitto_max_inflight_messages_set(m->mosq, WINDOW);
	mosquitto_reconnect_delay_set(m->mosq, 1, 30, true);
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
	pthread_mutex_init(&m->mu, NULL);
	snprintf(m->status_topic, sizeof(m->status_topic), "%s/status",
		 cfg->mqtt_topic_prefix);
	snprintf(m->source, sizeof(m->source), "/kip/%s", cfg->mqtt_client_id);
	m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r = m->efd < 0 ? -errno : setup_client(m, err, errlen);
	if (r == 0)
		r = loop_add_fd(k->loop, m->efd, POLLIN, on_wake, m);
	if (r == 0) {
		/* Asynchronous: a broker that is down now is tried again. */
		rc = mosquitto_connect_async(m->mosq, cfg->mqtt_host,
					     cfg->mqtt_port,
					     cfg->mqtt_keepalive_s);
		if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO)
			log_warn("mqtt: connect: %s", mosquitto_strerror(rc));
		rc = mosquitto_loop_start(m->mosq);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "mqtt: %s",
				 mosquitto_strerror(rc));
			r = -EIO;
		}
	}
	k->mqtt = m;
	if (r < 0) {
		mqtt_close(k);
		return r;
	}
	return 0;
}

void mqtt_close(struct kipd *k)
{
	struct mqtt *m = k->mqtt;

	if (!m)
		return;
	if (m->mosq) {
		if (m->online)
			mosquitto_publish(m->mosq, NULL, m->status_topic, 7,
					  "offline", 1, true);
		mosquitto_disconnect(m->mosq);
		mosquitto_loop_stop(m->mosq, true);
		mosquitto_destroy(m->mosq);
	}
	if (m->efd >= 0) {
		loop_del_fd(k->loop, m->efd);
		close(m->efd);
	}
	free(m->acked);
	pthread_mutex_destroy(&m->mu);
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
