/* kipd.h — the daemon's one state object, shared by its modules. */
#ifndef KIP_KIPD_H
#define KIP_KIPD_H

#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "store.h"

struct control;
struct outbox;
struct mqtt;
struct smime_signer;
struct smime_trust;
struct txn;

struct kipd {
	struct kip_config *cfg;
	struct store *store;
	struct loop *loop;
	struct control *control;
	struct outbox *outbox;
	struct mqtt *mqtt;            /* NULL: mqtt.host not configured */
	struct intake *intake;        /* NULL: intake.url not configured */
	struct smime_signer *signer;  /* NULL: smime.cert not configured */
	struct smime_trust *trust;    /* NULL: smime.ca_bundle not configured */
	int64_t sched_timer;          /* the scheduler's timer; 0: none */
	struct txn *txn;              /* the open unit of work (txn.h) */
};

#endif
