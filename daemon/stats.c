/* stats.c — the figures a region reports to national monitoring. */
#include "cmd.h"

HANDLER(cmd_stats)
{
	return cmd_fail(c, "internal", "cmd_stats: not built yet");
}
