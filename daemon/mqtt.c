/* mqtt.c — see mqtt.h. */
#include "mqtt.h"

#include "kipd.h"

int mqtt_open(struct kipd *k, char *err, size_t errlen)
{
	(void)k, (void)err, (void)errlen;
	return 0;
}

void mqtt_close(struct kipd *k)
{
	(void)k;
}

int mqtt_queue(struct kipd *k, const char *id, const char *type,
	       const char *time, json_t *data)
{
	(void)k, (void)id, (void)type, (void)time, (void)data;
	return 0;
}

void mqtt_after_commit(struct kipd *k)
{
	(void)k;
}
