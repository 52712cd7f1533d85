/* orgdomain.h — the pure rules of organisation certificates (a
 * certificate registered for a mail domain, kipctl cert domain): what a
 * domain is, which addresses are at it, and which names in a certificate
 * are for it. No I/O, no state; the store and the commands are
 * orgcert.c's and cmd_orgcert.c's.
 *
 * A domain matches exactly: a member at a.region.example is not at
 * region.example, and no address matches a domain it merely ends with.
 * Case does not count (domains are compared in lower case).
 */
#ifndef KIP_ORGDOMAIN_H
#define KIP_ORGDOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#define ORGDOMAIN_MAX 254 /* 253 bytes and the NUL */

/*
 * Checks a mail domain as an administrator types it and writes it in
 * lower case to out: labels of letters, digits and '-' (not first or
 * last), 1-63 bytes each, at least two labels, at most 253 bytes, no '@',
 * no trailing dot. Returns 0, or -EINVAL with the reason in err.
 */
int orgdomain_normalise(const char *in, char out[ORGDOMAIN_MAX], char *err,
			size_t errlen);

/* The domain of EMAIL (what follows its last '@'), or NULL when it has
 * none or it is empty. */
const char *orgdomain_of(const char *email);

/* Whether EMAIL is at exactly DOMAIN (any case). */
bool orgdomain_at(const char *email, const char *domain);

/*
 * Whether a name of a certificate (LEN bytes, not NUL-terminated, may hold
 * a NUL, which never matches) is for DOMAIN: an e-mail address (DNS false:
 * an rfc822Name or the subject's emailAddress) at exactly DOMAIN, or a DNS
 * name (dNSName, DNS true) equal to DOMAIN; any case.
 */
bool orgdomain_name_for(const char *name, size_t len, bool dns,
			const char *domain);

#endif
