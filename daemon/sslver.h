/* sslver.h — the OpenSSL kipd runs on, against the oldest it accepts.
 *
 * smime.openssl_min_version names the oldest OpenSSL release kipd starts on,
 * as "MAJOR.MINOR.PATCH". It is compared with the libcrypto actually loaded,
 * not the headers kipd was built with: the shared library is upgraded under
 * a built kipd. Only upstream release numbers are compared; a distribution
 * that backports a fix without a new upstream release is not seen, so the
 * setting adds to the distribution's security updates, never replaces them.
 */
#ifndef KIP_SSLVER_H
#define KIP_SSLVER_H

#include <stddef.h>

/* The largest number in one part of a version. */
#define SSLVER_PART_MAX 9999

struct sslver {
	unsigned major, minor, patch;
};

/* Parses "MAJOR.MINOR.PATCH": three decimal numbers 0..SSLVER_PART_MAX
 * separated by dots, nothing before, between or after. 0, or -EINVAL
 * leaving *ret untouched. */
int sslver_parse(const char *s, struct sslver *ret);

/* Negative, 0 or positive as A is older than, the same as or newer than B. */
int sslver_cmp(const struct sslver *a, const struct sslver *b);

/* The release of the libcrypto in use. */
void sslver_running(struct sslver *ret);

/* The libcrypto's own text for it, e.g. "OpenSSL 3.0.22 25 Aug 2026". */
const char *sslver_running_text(void);

/* 0 when the OpenSSL in use is MIN (smime.openssl_min_version) or newer.
 * Else -ENOTSUP (older) or -EINVAL (MIN malformed), with err naming the
 * running version and MIN. */
int sslver_check(const char *min, char *err, size_t errlen);

#endif
