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

/*
 * Every field is the loop thread's: no other thread reads struct kipd.
 * A worker thread gets what it needs at its start (docs/ARCHITECTURE.md,
 * "Threads"): the SMTP pool a pointer to cfg, which a reload swaps only
 * after smtp_pool_stop(); the intake worker copies of its settings.
 */
struct kipd {
	struct kip_config *cfg; /* swapped by a reload (kipd.c) */
	struct store *store;	/* the one connection that writes */
	struct loop *loop;
	struct control *control;
	struct outbox *outbox;
	struct mqtt *mqtt;	     /* NULL: mqtt.host not configured */
	struct intake *intake;	     /* NULL: intake.url not configured */
	struct smime_signer *signer; /* NULL: smime.cert not configured */
	struct smime_trust *trust;   /* NULL: smime.ca_bundle not configured */
	int64_t sched_timer;	     /* the scheduler's timer; 0: none */
	struct txn *txn;	     /* the open unit of work (txn.h) */
};

#endif
