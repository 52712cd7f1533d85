/* cmd_cert.c — certificates: import, list, expiring. */
#include "cmd.h"

HANDLER(cmd_cert_import)
{
	return cmd_fail(c, "internal", "cmd_cert_import: not built yet");
}

HANDLER(cmd_cert_list)
{
	return cmd_fail(c, "internal", "cmd_cert_list: not built yet");
}

HANDLER(cmd_cert_expiring)
{
	return cmd_fail(c, "internal", "cmd_cert_expiring: not built yet");
}
