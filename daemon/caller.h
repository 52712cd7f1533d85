/* caller.h — who a request, or a unit of work kipd does on someone's
 * behalf, acts as: the OS user on the control socket (or the intake acting
 * as the contact a report came from), their role, and their contact. */
#ifndef KIP_CALLER_H
#define KIP_CALLER_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct caller {
	uid_t uid;
	pid_t pid;
	char user[64]; /* OS user name */
	enum kip_role role;
	int64_t contact_id; /* the contact the user acts as; 0: none */
};

#endif
