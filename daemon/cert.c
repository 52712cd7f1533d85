/* cert.c — see cert.h. cert_check() rejects what can never work;
 * cert_check_trusted() adds the chain and the CRL (smime.c), which are
 * checked again when mail is sent. */
#include "cert.h"
#include "smime.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "smime_int.h"

static int names_email(X509 *x, const char *email, char *found, size_t flen)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int match = 0;

	found[0] = '\0';
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const char *v;
		int len;

		if (g->type != GEN_EMAIL)
			continue;
		v = (const char *)ASN1_STRING_get0_data(g->d.rfc822Name);
		len = ASN1_STRING_length(g->d.rfc822Name);
		if (!found[0])
			snprintf(found, flen, "%.*s", len, v);
		if ((size_t)len == strlen(email) &&
		    strncasecmp(v, email, (size_t)len) == 0)
			match = 1;
	}
	GENERAL_NAMES_free(gens);
	if (!match) {
		X509_NAME *subj = X509_get_subject_name(x);
		char v[256];

		if (X509_NAME_get_text_by_NID(subj, NID_pkcs9_emailAddress, v,
					      sizeof(v)) > 0) {
			if (!found[0])
				snprintf(found, flen, "%s", v);
			match = strcasecmp(v, email) == 0;
		}
	}
	return match;
}

/* Whether X is for the mail DOMAIN (smime_names_domain()); FOUND gets its
 * first e-mail address or DNS name, for the error. */
static int names_domain(X509 *x, const char *domain, char *found, size_t flen)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

	found[0] = '\0';
	for (int i = 0; gens && !found[0] && i < sk_GENERAL_NAME_num(gens);
	     i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *v = g->type == GEN_EMAIL ? g->d.rfc822Name
					  : g->type == GEN_DNS ? g->d.dNSName
							       : NULL;

		if (v)
			snprintf(found, flen, "%.*s", ASN1_STRING_length(v),
				 (const char *)ASN1_STRING_get0_data(v));
	}
	GENERAL_NAMES_free(gens);
	if (!found[0])
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					  NID_pkcs9_emailAddress, found,
					  (int)flen);
	return smime_names_domain(x, domain);
}

static void asn1_iso(const ASN1_TIME *t, char out[32])
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(out, 32, "?");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fingerprint(X509 *x, char out[96])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t o = 0;

	out[0] = '\0';
	if (!X509_digest(x, EVP_sha256(), md, &n))
		return;
	for (unsigned int i = 0; i < n && o + 3 < 96; i++)
		o += (size_t)snprintf(out + o, 96 - o, i ? ":%02X" : "%02X",
				      md[i]);
}

/* The fingerprint and not_after of the certificate in BIO; 0 or -EIO. */
static int read_bio_info(BIO *bio, struct cert_info *ret)
{
	struct cert_info info;
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (!x)
		return -EIO;
	memset(&info, 0, sizeof(info));
	asn1_iso(X509_get0_notAfter(x), info.not_after);
	fingerprint(x, info.fingerprint);
	X509_free(x);
	if (!info.fingerprint[0] || info.not_after[0] == '?')
		return -EIO;
	*ret = info;
	return 0;
}

int cert_read_file(const char *path, struct cert_info *ret)
{
	return read_bio_info(BIO_new_file(path, "r"), ret);
}

int cert_read_pem(const char *pem, struct cert_info *ret)
{
	return read_bio_info(BIO_new_mem_buf(pem, -1), ret) < 0 ? -EINVAL : 0;
}

int cert_key_ec(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
	int r = pk ? EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC : -EINVAL;

	BIO_free(bio);
	X509_free(x);
	return r;
}

void cert_iso_after(time_t now, int64_t days, char out[32])
{
	time_t t = now + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cert_check(const char *pem, const char *email, time_t now,
	       struct cert_info *ret, char *err, size_t errlen)
{
	struct cert_info info;
	BIO *bio;
	X509 *x;
	int r = -EINVAL;

	bio = BIO_new_mem_buf(pem, -1);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!x) {
		snprintf(err, errlen, "certificate: not a PEM certificate");
		return -EINVAL;
	}
	memset(&info, 0, sizeof(info));
	asn1_iso(X509_get0_notAfter(x), info.not_after);
	fingerprint(x, info.fingerprint);
	if (!email) {
		snprintf(
		    err, errlen,
		    "certificate: an e-mail address is needed to check it");
	} else if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0) {
		snprintf(err, errlen, "certificate expired on %s",
			 info.not_after);
	} else if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0) {
		snprintf(err, errlen, "certificate is not valid yet");
	} else if (!(strchr(email, '@')
			 ? names_email(x, email, info.email, sizeof(info.email))
			 : names_domain(x, email, info.email,
					sizeof(info.email)))) {
		snprintf(err, errlen, "certificate is for %s, not for %s",
			 info.email[0] ? info.email : "no e-mail address",
			 email);
	} else if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) ||
		   !(X509_get_extended_key_usage(x) & XKU_SMIME)) {
		snprintf(err, errlen,
			 "certificate lacks the emailProtection "
			 "extended key usage");
	} else {
		snprintf(info.email, sizeof(info.email), "%s", email);
		*ret = info;
		r = 0;
	}
	X509_free(x);
	return r;
}

int cert_check_trusted(const struct smime_trust *trust, const char *pem,
		       const char *email, time_t now, struct cert_info *ret,
		       char *err, size_t errlen)
{
	struct cert_info info;
	char reason[128];
	int r = cert_check(pem, email, now, &info, err, errlen);

	if (r < 0 || !trust)
		goto out;
	r = smime_check_recipient(trust, pem, email, now, reason,
				  sizeof(reason));
	if (r < 0) {
		snprintf(err, errlen, "certificate %s", reason);
		return -EINVAL;
	}
out:
	if (r == 0)
		*ret = info;
	return r;
}
