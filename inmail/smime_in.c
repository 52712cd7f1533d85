/* smime_in.c — the receiving half of smime.h: decrypting and verifying
 * S/MIME entities with OpenSSL CMS (smime_decrypt(), smime_verify()). Like
 * smime.c it logs nothing: every failure is reported through err/reason.
 */
#include "smime.h"
#include "orgdomain.h"
#include "smime_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"

/* ---------------------------------------------------------- receiving -- */

/* Reads an S/MIME entity with OpenSSL's MIME reader. multipart/signed
 * gives the CMS and *retbcont (the first part, its line ends made CRLF);
 * application/(x-)pkcs7-mime gives the CMS alone. -EBADMSG when OpenSSL
 * cannot read it. */
static int read_entity(const char *entity, size_t len, CMS_ContentInfo **ret,
		       BIO **retbcont)
{
	BIO *in, *bcont = NULL;
	CMS_ContentInfo *cms;

	if (len > INT_MAX)
		return -EBADMSG;
	in = BIO_new_mem_buf(entity, (int)len);
	if (!in)
		return -ENOMEM;
	cms = SMIME_read_CMS(in, &bcont);
	BIO_free(in);
	ERR_clear_error();
	if (!cms) {
		BIO_free(bcont);
		return -EBADMSG;
	}
	*ret = cms;
	*retbcont = bcont;
	return 0;
}

/* A copy of a memory BIO's contents, NUL-terminated. */
static int bio_copy(BIO *b, char **ret, size_t *retlen)
{
	char *data = NULL, *p;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0)
		return -EIO;
	p = malloc((size_t)n + 1);
	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, data, (size_t)n);
	p[n] = '\0';
	*ret = p;
	*retlen = (size_t)n;
	return 0;
}

int smime_decrypt(const struct smime_signer *s, const char *entity, size_t len,
		  char **ret, size_t *retlen, char *err, size_t errlen)
{
	CMS_ContentInfo *cms = NULL;
	BIO *bcont = NULL, *out = NULL;
	int nid, r;

	r = read_entity(entity, len, &cms, &bcont);
	if (r < 0) {
		smime_set_err(err, errlen, "not readable S/MIME");
		return r;
	}
	nid = OBJ_obj2nid(CMS_get0_type(cms));
	if (bcont || (nid != NID_pkcs7_enveloped &&
		      nid != NID_id_smime_ct_authEnvelopedData)) {
		r = -EMEDIUMTYPE;
		smime_set_err(err, errlen, "not an envelope (CMS type %s)",
			      OBJ_nid2sn(nid));
		goto out;
	}
	if (!s) {
		r = -ENOKEY;
		smime_set_err(err, errlen, "no key to decrypt with");
		goto out;
	}
	out = BIO_new(BIO_s_secmem());
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	/* With the certificate given, OpenSSL tries only the recipient
	 * that names it, and a failed RSA key decryption goes on with a
	 * random key (no padding oracle): the content then fails to
	 * decrypt, or decrypts to garbage that no signature covers. */
	if (!CMS_decrypt(cms, s->key, s->cert, NULL, out, 0)) {
		r = -EKEYREJECTED;
		smime_ssl_err(err, errlen, "cannot decrypt");
		goto out;
	}
	r = bio_copy(out, ret, retlen);
out:
	ERR_clear_error();
	BIO_free(out);
	BIO_free(bcont);
	CMS_ContentInfo_free(cms);
	return r;
}

void smime_signed_clear(struct smime_signed *v)
{
	if (!v)
		return;
	if (v->content) {
		explicit_bzero(v->content, v->content_len);
		free(v->content);
	}
	free(v->signer_pem);
	v->content = NULL;
	v->signer_pem = NULL;
}

static int strong_digest(int nid)
{
	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* Refuses a signer whose digest, or the digest in its signature
 * algorithm (e.g. sha1WithRSAEncryption), is weaker than SHA-256. */
static int check_digest(CMS_SignerInfo *si, char *reason, size_t reasonlen)
{
	X509_ALGOR *dig = NULL, *sig = NULL;
	const ASN1_OBJECT *obj;
	int nid, dnid, pknid;

	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	if (!dig || !sig) {
		smime_set_err(reason, reasonlen, "no digest algorithm");
		return -1;
	}
	X509_ALGOR_get0(&obj, NULL, NULL, dig);
	nid = OBJ_obj2nid(obj);
	if (!strong_digest(nid)) {
		smime_set_err(reason, reasonlen,
			      "digest %s refused (SHA-256 or "
			      "better required)",
			      nid == NID_undef ? "unknown" : OBJ_nid2sn(nid));
		return -1;
	}
	X509_ALGOR_get0(&obj, NULL, NULL, sig);
	nid = OBJ_obj2nid(obj);
	if (OBJ_find_sigid_algs(nid, &dnid, &pknid) && dnid != NID_undef &&
	    !strong_digest(dnid)) {
		smime_set_err(reason, reasonlen,
			      "signature algorithm %s refused",
			      OBJ_nid2sn(nid));
		return -1;
	}
	return 0;
}

/* Fills the signer's details into v. */
static int describe_signer(CMS_ContentInfo *cms, X509 *x, const char *email,
			   struct smime_signed *v)
{
	STACK_OF(OPENSSL_STRING) *emails = X509_get1_email(x);
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	BIO *pem = BIO_new(BIO_s_mem());
	struct tm tm;
	size_t pemlen;
	int derlen, r = -ENOMEM;

	for (int i = 0; emails && i < sk_OPENSSL_STRING_num(emails); i++) {
		const char *e = sk_OPENSSL_STRING_value(emails, i);

		if (i == 0)
			snprintf(v->signer_email, sizeof(v->signer_email), "%s",
				 e);
		if (email && strcasecmp(e, email) == 0)
			v->names_email = 1;
	}
	if (email && orgdomain_of(email))
		v->names_domain = smime_names_domain(x, orgdomain_of(email));
	if (!pem || !PEM_write_bio_X509(pem, x) ||
	    bio_copy(pem, &v->signer_pem, &pemlen) < 0)
		goto out;
	if (!X509_digest(x, EVP_sha256(), md, &mdlen))
		goto out;
	hex_encode(md, mdlen < 32 ? mdlen : 32, v->signer_fpr);
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		v->signer_not_after = timegm(&tm);
	derlen = i2d_CMS_ContentInfo(cms, &der);
	v->caps_gcm =
	    derlen > 0 ? smime_caps_announce_gcm(der, (size_t)derlen) : -1;
	if (v->caps_gcm < 0)
		v->caps_gcm = -1;
	r = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	BIO_free(pem);
	X509_email_free(emails);
	return r;
}

/* The signer's chain at NOW, with the trust store's CRL semantics. */
static void check_signer(const struct smime_trust *t, CMS_ContentInfo *cms,
			 X509 *x, time_t now, struct smime_signed *v)
{
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int e;

	if (!ctx || !X509_STORE_CTX_init(ctx, t->store, x, certs)) {
		v->verdict = SMIME_SIG_UNTRUSTED;
		smime_ssl_err(v->reason, sizeof(v->reason), "cannot verify");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
	if (X509_verify_cert(ctx) != 1) {
		e = X509_STORE_CTX_get_error(ctx);
		v->verdict = e == X509_V_ERR_CERT_HAS_EXPIRED ||
				     e == X509_V_ERR_CERT_NOT_YET_VALID
				 ? SMIME_SIG_EXPIRED
			     : e == X509_V_ERR_CERT_REVOKED
				 ? SMIME_SIG_REVOKED
				 : SMIME_SIG_UNTRUSTED;
		smime_set_err(v->reason, sizeof(v->reason), "signer: %s",
			      smime_verify_reason(e));
		goto out;
	}
	/* The purpose also passes nonRepudiation alone. */
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE)) {
		v->verdict = SMIME_SIG_UNTRUSTED;
		smime_set_err(v->reason, sizeof(v->reason),
			      "signer: no digitalSignature usage");
		goto out;
	}
	v->verdict = SMIME_SIG_OK;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(certs, X509_free);
}

/* Verifies the signature alone (content digest and signed attributes);
 * fills content and the signer. 1 verified, 0 not (verdict set), or
 * -ENOMEM. */
static int verify_signature(CMS_ContentInfo *cms, BIO *bcont, const char *email,
			    struct smime_signed *v)
{
	unsigned int flags = CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY;
	STACK_OF(X509) * signers;
	BIO *in = NULL, *out = NULL;
	int r = -ENOMEM;

	if (bcont) {
		r = bio_copy(bcont, &v->content, &v->content_len);
		if (r < 0)
			return r;
		/* What is verified is what the caller gets. */
		in = BIO_new_mem_buf(v->content, (int)v->content_len);
		if (!in)
			return -ENOMEM;
	} else {
		out = BIO_new(BIO_s_secmem());
		if (!out)
			return -ENOMEM;
	}
	if (!CMS_verify(cms, NULL, NULL, in, out, flags)) {
		unsigned long e = ERR_peek_last_error();

		v->verdict = SMIME_SIG_BAD;
		if (ERR_GET_REASON(e) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)
			smime_set_err(
			    v->reason, sizeof(v->reason),
			    "the signer's certificate is not included");
		else
			smime_ssl_err(v->reason, sizeof(v->reason),
				      "signature does not verify");
		r = 0;
		goto out;
	}
	if (out) {
		r = bio_copy(out, &v->content, &v->content_len);
		if (r < 0)
			goto out;
	}
	signers = CMS_get0_signers(cms);
	if (!signers || sk_X509_num(signers) != 1) {
		sk_X509_free(signers);
		v->verdict = SMIME_SIG_BAD;
		smime_set_err(v->reason, sizeof(v->reason),
			      "no signer certificate");
		r = 0;
		goto out;
	}
	r = describe_signer(cms, sk_X509_value(signers, 0), email, v);
	sk_X509_free(signers);
	if (r == 0)
		r = 1;
out:
	ERR_clear_error();
	BIO_free(in);
	BIO_free(out);
	return r;
}

int smime_verify(const struct smime_trust *t, const char *entity, size_t len,
		 const char *email, time_t now, struct smime_signed *ret)
{
	STACK_OF(CMS_SignerInfo) * sis;
	CMS_ContentInfo *cms = NULL;
	X509 *signer = NULL;
	BIO *bcont = NULL;
	int detached, r;

	memset(ret, 0, sizeof(*ret));
	ret->caps_gcm = -1;
	r = read_entity(entity, len, &cms, &bcont);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		ret->verdict = SMIME_SIG_MALFORMED;
		smime_set_err(ret->reason, sizeof(ret->reason),
			      "not readable S/MIME (MIME, base64 or DER)");
		return 0;
	}
	r = 0;
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		ret->verdict = SMIME_SIG_WRONG_TYPE;
		smime_set_err(ret->reason, sizeof(ret->reason),
			      "CMS type %s, not signed-data",
			      OBJ_nid2sn(OBJ_obj2nid(CMS_get0_type(cms))));
		goto out;
	}
	/* What is signed must be plain data (a MIME entity), not another
	 * CMS structure or a time-stamp token. */
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		ret->verdict = SMIME_SIG_WRONG_TYPE;
		smime_set_err(
		    ret->reason, sizeof(ret->reason),
		    "signed content of type %s, not data",
		    OBJ_nid2sn(OBJ_obj2nid(CMS_get0_eContentType(cms))));
		goto out;
	}
	sis = CMS_get0_SignerInfos(cms);
	if (!sis || sk_CMS_SignerInfo_num(sis) == 0) {
		ret->verdict = SMIME_SIG_WRONG_TYPE;
		smime_set_err(ret->reason, sizeof(ret->reason),
			      "signed-data without a signer (certs-only)");
		goto out;
	}
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		ret->verdict = SMIME_SIG_BAD;
		smime_set_err(ret->reason, sizeof(ret->reason),
			      "more than one signer");
		goto out;
	}
	detached = CMS_is_detached(cms);
	if (!!bcont != !!detached) {
		ret->verdict = SMIME_SIG_MALFORMED;
		smime_set_err(ret->reason, sizeof(ret->reason), "%s",
			      bcont
				  ? "multipart/signed with encapsulated content"
				  : "detached signature without content");
		goto out;
	}
	if (check_digest(sk_CMS_SignerInfo_value(sis, 0), ret->reason,
			 sizeof(ret->reason)) < 0) {
		ret->verdict = SMIME_SIG_BAD;
		goto out;
	}
	r = verify_signature(cms, bcont, email, ret);
	if (r <= 0)
		goto out;
	r = 0;
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), NULL, &signer,
				 NULL, NULL);
	if (!signer) {
		ret->verdict = SMIME_SIG_BAD;
		smime_set_err(ret->reason, sizeof(ret->reason),
			      "no signer certificate");
		goto out;
	}
	check_signer(t, cms, signer, now, ret);
out:
	ERR_clear_error();
	BIO_free(bcont);
	CMS_ContentInfo_free(cms);
	if (r < 0 || ret->verdict == SMIME_SIG_MALFORMED ||
	    ret->verdict == SMIME_SIG_WRONG_TYPE ||
	    ret->verdict == SMIME_SIG_BAD)
		smime_signed_clear(ret);
	return r;
}
