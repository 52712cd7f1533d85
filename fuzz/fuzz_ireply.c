/* fuzz_ireply.c — ireply_parse() of arbitrary bytes as an iMIP REPLY.
 *
 * Checks the contract of ireply.h on every input: a refusal is -EINVAL or
 * -ENOMEM with a terminated reason; an accepted reply has a non-empty UID
 * and attendee address without control characters, an '@' in the address,
 * a non-negative SEQUENCE and one of the three PARTSTATs. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "ireply.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	return 0;
}

static int clean(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == 0 || n >= max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ireply r;
	char err[128];
	int rc;

	memset(&r, 0, sizeof(r));
	err[0] = '\0';
	rc = ireply_parse((const char *)data, size, &r, err, sizeof(err));
	if (rc < 0) {
		if ((rc != -EINVAL && rc != -ENOMEM) || !err[0] ||
		    !memchr(err, '\0', sizeof(err)))
			__builtin_trap();
		return 0;
	}
	if (rc != 0 || !clean(r.uid, sizeof(r.uid)) ||
	    !clean(r.attendee, sizeof(r.attendee)) ||
	    !strchr(r.attendee, '@') || strchr(r.attendee, ' ') ||
	    r.sequence < 0 || !ireply_partstat_name(r.partstat))
		__builtin_trap();
	return 0;
}
