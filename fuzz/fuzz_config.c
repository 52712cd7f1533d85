/* fuzz_config.c — config_load() of arbitrary bytes.
 *
 * Each input is written to a file of mode 0600 in a private directory and
 * loaded as kipd's configuration: libconfig's parser, then kip's table of
 * keys, types, bounds and checks. A successful load is looked up and freed
 * again, so that leaks and bad frees in both paths show.
 *
 * Inputs with "@include" are skipped: libconfig then opens whatever path
 * the input names (an administrator's feature, not outside input), and a
 * path like /dev/zero would only stall the fuzzer.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	snprintf(path, sizeof(path), "%s/kipd.conf", fuzz_tmpdir());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kip_config *cfg = NULL;
	char err[512];

	if (memmem(data, size, "@include", 8))
		return 0;
	if (fuzz_write_file(path, data, size) < 0)
		return 0;
	if (config_load(path, &cfg, err, sizeof(err)) == 0) {
		int days[CONFIG_DAYS_MAX];

		config_find_user(cfg, "root");
		if (cfg->reminder_offsets)
			config_days_parse(cfg->reminder_offsets, days);
		if (cfg->followup_offsets)
			config_days_parse(cfg->followup_offsets, days);
		config_free(cfg);
	} else if (!memchr(err, '\0', sizeof(err))) {
		__builtin_trap(); /* the message must be a terminated string */
	}
	return 0;
}
