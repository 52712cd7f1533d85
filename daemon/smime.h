/* smime.h — S/MIME with OpenSSL CMS: the organisation signs, each recipient
 * gets an envelope of their own (smime.c); mail that arrives is decrypted
 * and its signature verified (smime_in.c).
 *
 * Every entity passed in and every entity produced uses CRLF line ends
 * only (no bare LF anywhere, base64 bodies included): servers that guard
 * against SMTP smuggling reject bare LF, and a signature is computed over
 * the canonical CRLF form.
 */
#ifndef KIP_SMIME_H
#define KIP_SMIME_H

#include <stddef.h>
#include <time.h>

struct buf;
struct smime_signer;
struct smime_trust;

enum smime_cipher {
	SMIME_CBC, /* AES-256-CBC, EnvelopedData (smime-type=enveloped-data) */
	SMIME_GCM, /* AES-256-GCM, AuthEnvelopedData (RFC 5083/5084,
		      smime-type=authEnveloped-data) */
};

/*
 * Loads the organisation's signing certificate (PEM), its private key
 * (PEM; encrypted keys are opened with PASSPHRASE, which may be NULL), and
 * optional intermediate certificates (CHAIN, PEM, may be NULL) to include
 * in signatures. The key file must not be readable or writable by group
 * or others. The key must match the certificate. Returns 0 or a negative
 * errno with the reason in err (naming the file).
 */
int smime_signer_load(const char *cert_path, const char *key_path,
		      const char *passphrase, const char *chain_path,
		      struct smime_signer **ret, char *err, size_t errlen);
void smime_signer_free(struct smime_signer *s);
/* The e-mail address in the signing certificate ("" if none). */
const char *smime_signer_email(const struct smime_signer *s);

/* Loads the CA bundle (PEM, required) and CRLs (PEM, may be NULL; when
 * given, every recipient's chain is checked against them). */
int smime_trust_load(const char *ca_bundle, const char *crl_path,
		     struct smime_trust **ret, char *err, size_t errlen);
void smime_trust_free(struct smime_trust *t);

/*
 * Checks a recipient certificate (PEM) for encrypting mail to EMAIL at
 * time NOW: the chain verifies against the trust store (with CRLs when
 * loaded), the certificate is within its validity, has the
 * emailProtection extended key usage, and names EMAIL (subjectAltName
 * rfc822Name, case-insensitive). Returns 0, or -EKEYREJECTED with a short
 * reason in reason ("expired", "not yet valid", "revoked", "revocation
 * status unknown" (no current CRL), "not issued by a trusted CA",
 * "no emailProtection usage", "issued for another address"), or -EINVAL
 * when PEM holds no certificate. EC certificates need keyAgreement where
 * RSA ones need keyEncipherment. EMAIL without '@' is a mail domain, for
 * an organisation certificate (orgcert.h): the certificate must then be
 * for that domain (orgdomain_name_for()) instead of naming an address.
 */
int smime_check_recipient(const struct smime_trust *t, const char *pem,
			  const char *email, time_t now, char *reason,
			  size_t reasonlen);

/*
 * Signs ENTITY (a complete MIME entity: headers, blank line, body; CRLF)
 * with SHA-256, including the SMIMECapabilities signed attribute (AES-256
 * GCM and CBC announced), and appends to out a multipart/signed entity
 * (detached signature, micalg=sha-256, protocol application/pkcs7-signature)
 * that contains ENTITY unchanged. Returns 0 or a negative errno.
 */
int smime_sign(const struct smime_signer *s, const char *entity, size_t len,
	       struct buf *out, char *err, size_t errlen);

/*
 * Encrypts ENTITY for exactly one recipient (certificate PEM) with CIPHER
 * and appends to out the body of an application/pkcs7-mime part: base64
 * of the DER, 76 columns, CRLF. RSA recipients use RSA key transport; EC
 * recipients use ECDH with the KDF digest set to SHA-256 (OpenSSL's
 * default would be SHA-1). Returns 0 or a negative errno with err;
 * -EKEYEXPIRED when the certificate's notAfter has passed by clock_now().
 */
int smime_encrypt(const char *recipient_pem, enum smime_cipher cipher,
		  const char *entity, size_t len, struct buf *out, char *err,
		  size_t errlen);

/* The Content-Type header value for an encrypted body made with CIPHER,
 * e.g. "application/pkcs7-mime; smime-type=enveloped-data;
 * name=smime.p7m". Static storage. */
const char *smime_content_type(enum smime_cipher cipher);

/*
 * Reads the SMIMECapabilities of the first signer of a signed message
 * (DER CMS) and reports whether AES-256-GCM is announced. Used to learn
 * a partner's capabilities from their signed mail. 1, 0, or negative.
 */
int smime_caps_announce_gcm(const unsigned char *der, size_t len);

/* ------------------------------------------------------- receiving -- */

/* What smime_verify() concluded about a signed entity. */
enum smime_verdict {
	SMIME_SIG_OK = 0,     /* signature and signer chain verified */
	SMIME_SIG_MALFORMED,  /* not readable S/MIME: bad MIME, base64, DER */
	SMIME_SIG_WRONG_TYPE, /* CMS, but not SignedData with a signer */
	SMIME_SIG_BAD,	      /* digest or signature mismatch, weak digest
				 (SHA-1, MD5), no or several signers */
	SMIME_SIG_UNTRUSTED,  /* chain, purpose or revocation status fails */
	SMIME_SIG_EXPIRED,    /* signer (or chain) expired or not yet valid */
	SMIME_SIG_REVOKED,    /* listed in a loaded CRL */
};

struct smime_signed {
	enum smime_verdict verdict;
	char reason[128]; /* why, when not OK; never personal data */
	/* Set when the signature verified cryptographically (verdict OK,
	 * UNTRUSTED, EXPIRED or REVOKED): */
	char *content; /* exactly the bytes the signature covers
			  (NUL-terminated, malloc'd) */
	size_t content_len;
	char *signer_pem;	/* the signer's certificate (malloc'd) */
	char signer_fpr[65];	/* SHA-256 of its DER, lower-case hex */
	char signer_email[256]; /* its first e-mail address, "" if none */
	time_t signer_not_after;
	int caps_gcm;	  /* smime_caps_announce_gcm(), -1 unknown */
	int names_email;  /* 1 if it names EMAIL (rfc822Name SAN or
			     emailAddress in the subject, any case) */
	int names_domain; /* 1 if it is for EMAIL's domain (an address at
			     exactly it, or a dNSName equal to it): an
			     organisation certificate (orgcert.h) */
};

/*
 * Verifies a signed S/MIME entity (headers, blank line, body; CRLF or LF):
 * multipart/signed with an application/(x-)pkcs7-signature part
 * (detached), or application/(x-)pkcs7-mime holding SignedData (opaque).
 * The entity is split by OpenSSL's MIME reader, which canonicalises the
 * line ends of the signed part to CRLF as `openssl cms -verify` does; the
 * signature must verify over exactly those bytes, which are returned in
 * ret->content. Exactly one signer; its digest must be SHA-256, SHA-384 or
 * SHA-512. The signer's certificate must chain to T at NOW with the
 * S/MIME signing purpose (emailProtection if any extended key usage;
 * digitalSignature if any key usage), and with CRLs when T has them, as
 * smime_check_recipient() does. EMAIL (may be NULL) is only compared.
 * Returns 0 with the verdict in ret (free with smime_signed_clear()), or
 * -ENOMEM (ret then holds nothing to free).
 */
int smime_verify(const struct smime_trust *t, const char *entity, size_t len,
		 const char *email, time_t now, struct smime_signed *ret);
void smime_signed_clear(struct smime_signed *v);

/*
 * Decrypts an application/(x-)pkcs7-mime entity holding EnvelopedData
 * (any content cipher OpenSSL knows, AES-CBC here) or AuthEnvelopedData
 * (AES-GCM, tag checked) with S's certificate and key (RSA key transport
 * or ECDH). *ret gets the plaintext (NUL-terminated, malloc'd; the caller
 * wipes and frees it). Returns 0; -EBADMSG when the entity is not
 * readable S/MIME; -EMEDIUMTYPE when it is CMS but no envelope (also for
 * multipart/signed); -ENOKEY when S is NULL; -EKEYREJECTED when it is not
 * encrypted to S or does not decrypt (damaged, wrong tag or padding);
 * -ENOMEM. err gets a reason without personal data.
 */
int smime_decrypt(const struct smime_signer *s, const char *entity, size_t len,
		  char **ret, size_t *retlen, char *err, size_t errlen);

#endif
