/* sslver.c — see sslver.h. */
#include "sslver.h"

#include <errno.h>
#include <stdio.h>

#include <openssl/crypto.h>

/* One part of a version at *p: 1 to 4 digits. Advances *p past it. */
static int parse_part(const char **p, unsigned *ret)
{
	unsigned v = 0;
	int n = 0;

	for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
		if (n == 4)
			return -EINVAL;
		v = v * 10 + (unsigned)(**p - '0');
	}
	if (n == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int sslver_parse(const char *s, struct sslver *ret)
{
	struct sslver v;

	if (parse_part(&s, &v.major) < 0 || *s++ != '.' ||
	    parse_part(&s, &v.minor) < 0 || *s++ != '.' ||
	    parse_part(&s, &v.patch) < 0 || *s)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int cmp_part(unsigned a, unsigned b)
{
	return (a > b) - (a < b);
}

int sslver_cmp(const struct sslver *a, const struct sslver *b)
{
	if (a->major != b->major)
		return cmp_part(a->major, b->major);
	if (a->minor != b->minor)
		return cmp_part(a->minor, b->minor);
	return cmp_part(a->patch, b->patch);
}

void sslver_running(struct sslver *ret)
{
	/* The library's numbers (OpenSSL 3.0 API), not OPENSSL_VERSION_*. */
	*ret = (struct sslver){OPENSSL_version_major(), OPENSSL_version_minor(),
			       OPENSSL_version_patch()};
}

const char *sslver_running_text(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

int sslver_check(const char *min, char *err, size_t errlen)
{
	struct sslver want, have;

	if (sslver_parse(min, &want) < 0) {
		snprintf(err, errlen,
			 "smime.openssl_min_version: '%s' is not a version "
			 "MAJOR.MINOR.PATCH",
			 min);
		return -EINVAL;
	}
	sslver_running(&have);
	if (sslver_cmp(&have, &want) >= 0)
		return 0;
	snprintf(err, errlen,
		 "OpenSSL %u.%u.%u (%s) is older than "
		 "smime.openssl_min_version %u.%u.%u",
		 have.major, have.minor, have.patch, sslver_running_text(),
		 want.major, want.minor, want.patch);
	return -ENOTSUP;
}
