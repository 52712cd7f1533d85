/* fuzz_devreport.c — devreport_parse() of arbitrary bytes as an MQTT
 * deviation report.
 *
 * Checks the contract of devreport.h on every input: a refusal is -EINVAL
 * or -ENOMEM with a reason and nothing to free; an accepted report has an
 * id of 1..128 of [A-Za-z0-9._:-], a plan and goal of at least 1, a
 * non-negative action, a text of 1..20000 bytes with no control character
 * but TAB and LF, and an occurred date that is empty or YYYY-MM-DD. */
#include <errno.h>
#include <string.h>

#include "devreport.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	return 0;
}

static int id_ok(const char *id)
{
	size_t n = strnlen(id, 129);

	return n >= 1 && n <= 128 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789._:-") == n;
}

static int text_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n < 1 || n > 20000)
		return 0;
	for (; *t; t++)
		if (((unsigned char)*t < 0x20 && *t != '\t' && *t != '\n') ||
		    *t == 0x7f)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct devreport r;
	char err[256];
	int rc;

	memset(&r, 0, sizeof(r));
	err[0] = '\0';
	rc = devreport_parse((const char *)data, size, &r, err, sizeof(err));
	if (rc < 0) {
		if ((rc != -EINVAL && rc != -ENOMEM) || !err[0] || r.text)
			__builtin_trap();
		return 0;
	}
	if (rc != 0 || !id_ok(r.id) || r.plan < 1 || r.goal < 1 ||
	    r.action < 0 || !text_ok(r.text) ||
	    (r.occurred[0] && strlen(r.occurred) != 10))
		__builtin_trap();
	devreport_free(&r);
	return 0;
}
