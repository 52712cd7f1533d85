/* devreport.h — a deviation report published by a partner system over
 * MQTT: JSON, checked against the schema of docs/INTAKE.md.
 *
 *   {
 *     "id":       "dp-nord-2026-0042",   report id, unique per sender:
 *                                        1..128 of [A-Za-z0-9._:-]
 *     "plan":     12,                    the plan (KIP-12), 1..
 *     "goal":     2,                     a goal of its version in force
 *     "action":   1,                     optional: an action of the goal
 *     "text":     "...",                 what happened, UTF-8, 1..20000
 *                                        bytes, no control characters
 *                                        but TAB and LF
 *     "occurred": "2026-11-20"           optional: when (a real date)
 *   }
 *
 * Nothing else: unknown keys, duplicate keys, wrong types and values out
 * of range are refused with a message naming the key.
 */
#ifndef KIP_DEVREPORT_H
#define KIP_DEVREPORT_H
#include <stddef.h>
#include <stdint.h>

/* The largest payload looked at; a larger one is refused unread. */
#define DEVREPORT_MAX_BYTES 65536

struct devreport {
	char id[129];
	int64_t plan, goal, action; /* action 0: none */
	char *text;		    /* malloc'd */
	char occurred[11];	    /* "YYYY-MM-DD" or "" */
};

/* Parses LEN bytes. 0, or -EINVAL with the reason in err (no payload
 * text quoted), or -ENOMEM. On failure *out holds nothing to free. */
int devreport_parse(const char *json, size_t len, struct devreport *out,
		    char *err, size_t errlen);
void devreport_free(struct devreport *r);

#endif
