/* smime_int.h — what smime.c and smime_in.c share; not for other files. */
#ifndef KIP_SMIME_INT_H
#define KIP_SMIME_INT_H

#include <openssl/x509.h>

struct smime_signer {
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) * chain; /* may be empty, never NULL */
	char email[256];
};

struct smime_trust {
	X509_STORE *store; /* CAs, CRLs, and CRL checking when there are any */
	unsigned long generation; /* distinguishes reloads in the cache */
};

/* The message in err (and clears OpenSSL's error queue). */
void __attribute__((format(printf, 3, 4)))
smime_set_err(char *err, size_t errlen, const char *fmt, ...);
/* The message in err, followed by OpenSSL's reason for the failure. */
void __attribute__((format(printf, 3, 4)))
smime_ssl_err(char *err, size_t errlen, const char *fmt, ...);
/* A certificate check's failure in words (expired, revoked, ...). */
const char *smime_verify_reason(int e);
/* True when X names EMAIL (case-insensitively) in its subjectAltName. */
int smime_names_email(X509 *x, const char *email);
/* True when X is for the mail DOMAIN (orgdomain_name_for()): an
 * rfc822Name or the subject's emailAddress at exactly DOMAIN, or a
 * dNSName equal to it. */
int smime_names_domain(X509 *x, const char *domain);

#endif
