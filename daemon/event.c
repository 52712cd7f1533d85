/* event.c — see event.h. */
#include "event.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "kipd.h"
#include "mqtt.h"
#include "store.h"
#include "txn.h"

/* A random UUID (version 4) as the event's CloudEvents id. */
static int uuid4(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int event_emit(struct kipd *k, const char *type, int64_t citizen_id,
	       int64_t plan_id, json_t *data)
{
	char id[37], when[32];
	time_t now = clock_now();
	struct tm tm;
	int r;

	if (!data)
		data = json_object();
	r = uuid4(id);
	if (r == 0)
		r = store_exec(k->store,
			       "INSERT INTO event_log (event_id, type, at,"
			       " citizen_id, plan_id)"
			       " VALUES (?, ?, ?, NULLIF(?, 0), NULLIF(?, 0))",
			       "ssiii", id, type, (int64_t)now, citizen_id,
			       plan_id);
	if (r >= 0 && k->mqtt) {
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (citizen_id)
			json_object_set_new(data, "citizen",
					    json_integer(citizen_id));
		if (plan_id)
			json_object_set_new(data, "plan",
					    json_integer(plan_id));
		r = mqtt_queue(k, id, type, when, data);
	}
	json_decref(data);
	if (r >= 0)
		txn_mark(k, TXN_EVENTS);
	return r < 0 ? r : 0;
}
