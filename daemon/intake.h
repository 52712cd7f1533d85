/* intake.h — what partners send kip: signed deviation reports and replies
 * to invitations from the function mailbox (IMAP), and deviation reports
 * from partner systems (MQTT). See docs/INTAKE.md.
 *
 * The mailbox is read by one worker thread (imap.h, blocking libcurl) at
 * intake.interval_s and on demand; each message it fetches is read by
 * kip-inmail, the mail reader the worker starts for the pass (inmail_client.h,
 * inmail/), and handed with its verdict to the loop thread, which decides
 * what it is (a deviation report, a reply, or a quarantine), records it in
 * one unit of work (txn.h), and only then lets the worker flag it done on
 * the server.
 * Every message is recorded exactly once: by its Message-ID (intake_seen,
 * and the unique source of a deviation), so a crash between the commit
 * and the flag only makes the next pass flag it.
 */
#ifndef KIP_INTAKE_H
#define KIP_INTAKE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kipd;

/* Starts the pass timer when intake.url is set. 0 or -errno with err. */
int intake_open(struct kipd *k, char *err, size_t errlen);
/* Stops the worker (a message being judged is left unflagged). */
void intake_close(struct kipd *k);

/*
 * A report from a partner system: PAYLOAD (LEN bytes) published to
 * PREFIX/deviations/USERNAME by broker user USERNAME. Recorded, or
 * quarantined with the reason; duplicates (the same report id from the
 * same user) are ignored. The payload is first committed to the inbox
 * (mqtt_inbox) on its own, then judged. Runs on the loop thread.
 */
void intake_mqtt(struct kipd *k, const char *username, const void *payload,
		 size_t len);

/* Judges what is left in the MQTT inbox (after a crash): at start. */
void intake_mqtt_drain(struct kipd *k);

/* Starts a pass now, or queues one after the pass running (*RET_QUEUED);
 * *RET_PASS is the number of the pass. -ENODEV without intake.url. */
int intake_run_now(struct kipd *k, int64_t *ret_pass, bool *ret_queued);
/* The intake's state and its last pass's counts, as the intake.status
 * reply (docs/PROTOCOL.md); NULL when out of memory. */
json_t *intake_status(struct kipd *k);

#endif
