/* cert.h — checks of a recipient's S/MIME certificate (PEM) before it is
 * stored for a citizen or contact. */
#ifndef KIP_CERT_H
#define KIP_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cert_info {
	char fingerprint[96]; /* SHA-256 of the DER, hex pairs with ':' */
	char email[256];      /* the address that matched */
	char not_after[32];   /* "YYYY-MM-DDTHH:MM:SSZ" */
};

/*
 * Parses one PEM certificate and checks that it is usable for secure mail
 * to EMAIL at time NOW: it names EMAIL (subjectAltName rfc822Name or the
 * subject's emailAddress, case-insensitive), is within its validity period,
 * and has the emailProtection extended key usage. Returns 0 and fills
 * *ret, or -EINVAL with the reason in err ("certificate expired on ...",
 * "certificate is for x@y, not ...", "certificate lacks the
 * emailProtection extended key usage", "not a PEM certificate"). EMAIL
 * without '@' is a mail domain (an organisation certificate, orgcert.h):
 * the certificate must then be for it (orgdomain_name_for()), and "is for
 * x, not for DOMAIN" says when it is not.
 */
int cert_check(const char *pem, const char *email, time_t now,
	       struct cert_info *ret, char *err, size_t errlen);

struct smime_trust;

/*
 * The one check every recipient certificate gets before it is stored,
 * whether imported or found in a directory: cert_check(), then, when
 * TRUST is given (smime.ca_bundle configured), smime_check_recipient():
 * the chain to the CA bundle and the CRL (smime.crl). The reason for a
 * refusal is written as "certificate <reason>" ("certificate revoked",
 * "certificate not issued by a trusted CA").
 */
int cert_check_trusted(const struct smime_trust *trust, const char *pem,
		       const char *email, time_t now, struct cert_info *ret,
		       char *err, size_t errlen);

/* The fingerprint and not_after of the PEM certificate in file PATH (the
 * organisation's own; email is left empty). 0 or -EIO. */
int cert_read_file(const char *path, struct cert_info *ret);

/* The fingerprint and not_after of the PEM certificate PEM (email is left
 * empty), whether or not it would pass a check. 0 or -EINVAL. */
int cert_read_pem(const char *pem, struct cert_info *ret);

/* Whether the certificate in PEM has an EC key, to which mail is encrypted
 * by ECDH key agreement (RSA keys take key transport): 1 EC, 0 any other
 * key, -EINVAL when PEM holds no certificate or its key cannot be read. */
int cert_key_ec(const char *pem);

/* NOW + DAYS as "YYYY-MM-DDTHH:MM:SSZ", comparable with not_after. */
void cert_iso_after(time_t now, int64_t days, char out[32]);

#endif
