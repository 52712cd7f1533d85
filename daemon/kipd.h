/* kipd.h — the daemon's one state object, shared by its modules. */
#ifndef KIP_KIPD_H
#define KIP_KIPD_H

#include "config.h"
#include "loop.h"
#include "store.h"

struct control;

struct kipd {
	struct kip_config *cfg;
	struct store *store;
	struct loop *loop;
	struct control *control;
};

#endif
