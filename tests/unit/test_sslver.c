/* test_sslver.c — smime.openssl_min_version: parsing "MAJOR.MINOR.PATCH",
 * comparing versions, and the check against the libcrypto in use. */
#include "sslver.h"
#include "t.h"

#include <errno.h>
#include <stdbool.h>

#include <openssl/crypto.h>

static bool parses_to(const char *s, unsigned major, unsigned minor,
		      unsigned patch)
{
	struct sslver v = {1111, 2222, 3333};

	if (sslver_parse(s, &v) == 0 && v.major == major && v.minor == minor &&
	    v.patch == patch)
		return true;
	printf("  \"%s\" gave %u.%u.%u\n", s, v.major, v.minor, v.patch);
	return false;
}

static void test_parse_good(void)
{
	T_ASSERT(parses_to("3.0.0", 3, 0, 0));
	T_ASSERT(parses_to("3.0.22", 3, 0, 22));
	T_ASSERT(parses_to("0.0.0", 0, 0, 0));
	T_ASSERT(parses_to("99.0.0", 99, 0, 0));
	T_ASSERT(parses_to("10.200.9999", 10, 200, 9999));
}

static void test_parse_bad(void)
{
	static const char *const bad[] = {
	    "",	      "3",	   "3.0",	"3.0.",	   ".3.0.0",
	    "3..0",   "3.0.0.1",   "3.0.0 ",	" 3.0.0",  "v3.0.0",
	    "+3.0.0", "-3.0.0",	   "3.-0.0",	"3.0.0-1", "3.0.0a",
	    "3,0,0",  "3.0.10000", "10000.0.0", "3.0.x",   "3.0.22-1~deb12u2",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sslver v = {1111, 2222, 3333};
		int r = sslver_parse(bad[i], &v);

		if (r != -EINVAL)
			printf("  \"%s\" was accepted\n", bad[i]);
		T_ASSERT(r == -EINVAL);
		/* Left untouched on failure. */
		T_ASSERT(v.major == 1111 && v.minor == 2222 && v.patch == 3333);
	}
}

static int cmp(const char *a, const char *b)
{
	struct sslver va, vb;

	if (sslver_parse(a, &va) < 0 || sslver_parse(b, &vb) < 0)
		return 42;
	return sslver_cmp(&va, &vb);
}

static void test_compare(void)
{
	T_ASSERT(cmp("3.0.0", "3.0.0") == 0);
	T_ASSERT(cmp("3.0.19", "3.0.22") < 0);
	T_ASSERT(cmp("3.0.22", "3.0.19") > 0);
	/* By number, not as text. */
	T_ASSERT(cmp("3.0.9", "3.0.10") < 0);
	T_ASSERT(cmp("3.0.99", "3.1.0") < 0);
	T_ASSERT(cmp("3.99.99", "4.0.0") < 0);
	T_ASSERT(cmp("4.0.0", "3.99.99") > 0);
	T_ASSERT(cmp("3.2.0", "3.10.0") < 0);
	T_ASSERT(cmp("99.0.0", "3.0.22") > 0);
}

/* The running version is the library's, as OpenSSL_version_num() encodes
 * it in 3.x (0xMNN00PP0L), and the library's text names it. */
static void test_running(void)
{
	unsigned long n = OpenSSL_version_num();
	struct sslver v, floor = {3, 0, 0};
	char want[64];

	sslver_running(&v);
	T_ASSERT(v.major == (unsigned)(n >> 28));
	T_ASSERT(v.minor == (unsigned)((n >> 20) & 0xff));
	T_ASSERT(v.patch == (unsigned)((n >> 4) & 0xff));
	T_ASSERT(sslver_cmp(&v, &floor) >= 0);
	snprintf(want, sizeof(want), "OpenSSL %u.%u.%u", v.major, v.minor,
		 v.patch);
	T_CONTAINS(sslver_running_text(), want);
}

static void test_check(void)
{
	struct sslver v;
	char err[512], min[64], want[256];

	sslver_running(&v);
	err[0] = '\0';
	T_ASSERT(sslver_check("3.0.0", err, sizeof(err)) == 0);
	T_ASSERT(sslver_check("0.0.0", err, sizeof(err)) == 0);
	snprintf(min, sizeof(min), "%u.%u.%u", v.major, v.minor, v.patch);
	T_ASSERT(sslver_check(min, err, sizeof(err)) == 0);
	T_STREQ(err, "");

	/* One patch release ahead of the running one is refused. */
	snprintf(min, sizeof(min), "%u.%u.%u", v.major, v.minor, v.patch + 1);
	T_ASSERT(sslver_check(min, err, sizeof(err)) == -ENOTSUP);
	snprintf(want, sizeof(want),
		 "OpenSSL %u.%u.%u (%s) is older than "
		 "smime.openssl_min_version %s",
		 v.major, v.minor, v.patch, sslver_running_text(), min);
	T_STREQ(err, want);

	T_ASSERT(sslver_check("99.0.0", err, sizeof(err)) == -ENOTSUP);
	T_CONTAINS(err, "smime.openssl_min_version 99.0.0");
	snprintf(want, sizeof(want), "OpenSSL %u.%u.%u (", v.major, v.minor,
		 v.patch);
	T_CONTAINS(err, want);

	T_ASSERT(sslver_check("3.0", err, sizeof(err)) == -EINVAL);
	T_STREQ(err, "smime.openssl_min_version: '3.0' is not a version "
		     "MAJOR.MINOR.PATCH");
}

T_MAIN(T_CASE(test_parse_good), T_CASE(test_parse_bad), T_CASE(test_compare),
       T_CASE(test_running), T_CASE(test_check))
