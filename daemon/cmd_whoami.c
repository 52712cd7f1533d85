/* cmd_whoami.c — whoami: the caller as kipd sees it (user, role, the
 * contact it acts as). */
#include "cmd.h"

int cmd_whoami(struct cmd_ctx *c)
{
	return cmd_ok(c, json_pack("{s:s, s:i, s:s, s:I}", "user", c->who->user,
				   "uid", (int)c->who->uid, "role",
				   role_name(c->who->role), "contact",
				   (json_int_t)c->who->contact_id));
}
