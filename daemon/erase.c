/* erase.c — erasure of a citizen's personal data. */
#include "cmd.h"

HANDLER(cmd_citizen_erase)
{
	return cmd_fail(c, "internal", "cmd_citizen_erase: not built yet");
}
