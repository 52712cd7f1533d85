/* smime.c — S/MIME with OpenSSL CMS; see smime.h.
 *
 * Nothing here logs: every failure is reported once, through err/reason, to
 * the caller that decides what happens next. OpenSSL's error queue is read
 * into that message and cleared, so that one failure does not leak into the
 * report of the next.
 */
#include "smime.h"
#include "orgdomain.h"
#include "smime_int.h"

#include "mime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "clock.h"

/* Certificates, keys, bundles and CRLs larger than this are refused. */
#define SMIME_FILE_MAX (4u << 20)

/* Recently checked recipients. Parsing a PEM certificate and building its
 * chain cost more than encrypting for it, and a distribution checks and
 * encrypts for the same members again and again. A verdict is reused for
 * CHECK_CACHE_SECONDS with the same trust store (a reload starts afresh),
 * so an expiry or a new CRL shows within minutes. Checks run on the loop
 * thread; the SMTP workers take parsed certificates from it to encrypt
 * (sealed.c), so every access holds cache_mu. */
#define CHECK_CACHE 64
#define CHECK_CACHE_SECONDS 300

struct checked {
	unsigned char key[SHA256_DIGEST_LENGTH]; /* SHA-256 of PEM + address */
	unsigned char pem_key[SHA256_DIGEST_LENGTH]; /* SHA-256 of the PEM */
	unsigned long generation;
	time_t at;
	int verdict;
	char reason[96];
	X509 *cert; /* parsed, for encryption */
};

static struct checked check_cache[CHECK_CACHE];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long trust_generations;

/* ------------------------------------------------------------ errors -- */

static void __attribute__((format(printf, 4, 0)))
vset_err(char *err, size_t errlen, int with_ssl, const char *fmt, va_list ap)
{
	unsigned long e = with_ssl ? ERR_peek_last_error() : 0;
	size_t n;

	if (err && errlen) {
		vsnprintf(err, errlen, fmt, ap);
		n = strlen(err);
		if (e && n + 3 < errlen) {
			memcpy(err + n, ": ", 3);
			ERR_error_string_n(e, err + n + 2, errlen - n - 2);
		}
	}
	ERR_clear_error();
}

void smime_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(err, errlen, 0, fmt, ap);
	va_end(ap);
}

void smime_ssl_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(err, errlen, 1, fmt, ap);
	va_end(ap);
}

/* --------------------------------------------------------- utilities -- */

/* Reads all of fd (at most SMIME_FILE_MAX bytes) into *ret (NUL-terminated,
 * caller frees, and cleanses if it may hold a secret). */
static int read_fd(int fd, const char *path, char **ret, size_t *retlen,
		   char *err, size_t errlen)
{
	size_t len = 0, cap = 8192;
	char *data = OPENSSL_malloc(cap), *p;
	ssize_t n;

	if (!data)
		return -ENOMEM;
	for (;;) {
		if (cap - len < 2) {
			if (cap >= SMIME_FILE_MAX) {
				OPENSSL_clear_free(data, cap);
				smime_set_err(err, errlen, "%s: too large",
					      path);
				return -EFBIG;
			}
			p = OPENSSL_clear_realloc(data, cap, cap * 2);
			if (!p) {
				OPENSSL_clear_free(data, cap);
				return -ENOMEM;
			}
			data = p;
			cap *= 2;
		}
		n = read(fd, data + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			OPENSSL_clear_free(data, cap);
			smime_set_err(err, errlen, "%s: %s", path,
				      strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	*ret = data;
	*retlen = len;
	return 0;
}

static int read_path(const char *path, char **ret, size_t *retlen, char *err,
		     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		smime_set_err(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = read_fd(fd, path, ret, retlen, err, errlen);
	close(fd);
	return r;
}

/* Reads every PEM certificate in data onto sk (at least one, or -EINVAL). */
static int pem_certs(const char *data, size_t len, STACK_OF(X509) * sk)
{
	BIO *bio;
	X509 *x;
	int n = 0;

	if (len > SMIME_FILE_MAX)
		return -EINVAL;
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			BIO_free(bio);
			return -ENOMEM;
		}
		n++;
	}
	BIO_free(bio);
	/* The loop ends on "no start line" at the end of the input; any
	 * other error is a damaged certificate. */
	if (n == 0 ||
	    ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
		return -EINVAL;
	ERR_clear_error();
	return 0;
}

static X509 *pem_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

/* CMS_final() for content in memory (CMS_BINARY, no detached content
 * BIO): one write, where CMS_final() copies it through the BIO chain in
 * 1 kB pieces, which took a third of the time of an envelope. */
static int final_at_once(CMS_ContentInfo *cms, const char *data, size_t len)
{
	BIO *b = CMS_dataInit(cms, NULL);
	int ok;

	if (!b)
		return 0;
	ok = BIO_write(b, data, (int)len) == (int)len && BIO_flush(b) > 0 &&
	     CMS_dataFinal(cms, b);
	BIO_free_all(b);
	return ok;
}

/* --------------------------------------------------------- the signer -- */

struct pass_ctx {
	const char *pass;
	int asked;
};

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_ctx *pc = u;
	size_t n;

	(void)rwflag;
	pc->asked = 1;
	if (!pc->pass)
		return -1;
	n = strlen(pc->pass);
	if (size < 0 || n > (size_t)size)
		return -1;
	memcpy(buf, pc->pass, n); /* OpenSSL cleanses buf after use */
	return (int)n;
}

/* Opens the key file, refusing one that group or others may access. */
static int load_key(const char *path, const char *passphrase, EVP_PKEY **ret,
		    char *err, size_t errlen)
{
	struct pass_ctx pc = {passphrase, 0};
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	BIO *bio = NULL;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		smime_set_err(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		smime_set_err(err, errlen, "%s: %s", path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		smime_set_err(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		r = -EPERM;
		smime_set_err(err, errlen,
			      "%s: %s by group or others (mode %04o)", path,
			      st.st_mode & 044	 ? "readable"
			      : st.st_mode & 022 ? "writable"
						 : "accessible",
			      (unsigned)(st.st_mode & 07777));
		goto out;
	}
	r = read_fd(fd, path, &data, &len, err, errlen);
	if (r < 0)
		goto out;
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio) {
		r = -ENOMEM;
		goto out;
	}
	*ret = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &pc);
	if (!*ret) {
		r = pc.asked ? -EKEYREJECTED : -EINVAL;
		if (pc.asked && !passphrase)
			smime_set_err(
			    err, errlen,
			    "%s: the key is encrypted and no passphrase "
			    "was given",
			    path);
		else if (pc.asked)
			smime_ssl_err(err, errlen,
				      "%s: wrong passphrase or damaged key",
				      path);
		else
			smime_ssl_err(err, errlen, "%s: not a PEM private key",
				      path);
		goto out;
	}
	r = 0;
out:
	BIO_free(bio);
	if (data)
		OPENSSL_clear_free(data, len);
	close(fd);
	return r;
}

static int load_cert_file(const char *path, X509 **ret, char *err,
			  size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	int r = read_path(path, &data, &len, err, errlen);

	if (r < 0)
		return r;
	*ret = pem_cert(data);
	OPENSSL_clear_free(data, len);
	if (!*ret) {
		smime_ssl_err(err, errlen, "%s: not a PEM certificate", path);
		return -EINVAL;
	}
	return 0;
}

static int load_chain(const char *path, STACK_OF(X509) * chain, char *err,
		      size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	int r = read_path(path, &data, &len, err, errlen);

	if (r < 0)
		return r;
	r = pem_certs(data, len, chain);
	OPENSSL_clear_free(data, len);
	if (r < 0)
		smime_ssl_err(err, errlen, "%s: not a list of PEM certificates",
			      path);
	return r;
}

int smime_signer_load(const char *cert_path, const char *key_path,
		      const char *passphrase, const char *chain_path,
		      struct smime_signer **ret, char *err, size_t errlen)
{
	struct smime_signer *s = calloc(1, sizeof(*s));
	STACK_OF(OPENSSL_STRING) *emails = NULL;
	int r;

	if (!s)
		return -ENOMEM;
	s->chain = sk_X509_new_null();
	if (!s->chain) {
		r = -ENOMEM;
		goto fail;
	}
	r = load_cert_file(cert_path, &s->cert, err, errlen);
	if (r < 0)
		goto fail;
	r = load_key(key_path, passphrase, &s->key, err, errlen);
	if (r < 0)
		goto fail;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		r = -EKEYREJECTED;
		smime_ssl_err(err, errlen, "%s: the key does not match %s",
			      key_path, cert_path);
		goto fail;
	}
	if (chain_path) {
		r = load_chain(chain_path, s->chain, err, errlen);
		if (r < 0)
			goto fail;
	}
	emails = X509_get1_email(s->cert);
	if (emails && sk_OPENSSL_STRING_num(emails) > 0)
		snprintf(s->email, sizeof(s->email), "%s",
			 sk_OPENSSL_STRING_value(emails, 0));
	X509_email_free(emails);
	*ret = s;
	return 0;
fail:
	smime_signer_free(s);
	return r;
}

void smime_signer_free(struct smime_signer *s)
{
	if (!s)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	sk_X509_pop_free(s->chain, X509_free);
	free(s);
}

const char *smime_signer_email(const struct smime_signer *s)
{
	return s->email;
}

/* ---------------------------------------------------------- the trust -- */

static int add_pem_objects(X509_STORE *store, const char *path, int want_crl,
			   char *err, size_t errlen)
{
	STACK_OF(X509_INFO) *infos = NULL;
	char *data = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int r, n = 0;

	r = read_path(path, &data, &len, err, errlen);
	if (r < 0)
		return r;
	bio = BIO_new_mem_buf(data, (int)len);
	infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL) : NULL;
	if (!infos) {
		r = -EINVAL;
		smime_ssl_err(err, errlen, "%s: cannot read PEM", path);
		goto out;
	}
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		if (!want_crl && xi->x509) {
			if (!X509_STORE_add_cert(store, xi->x509))
				goto ssl_fail;
			n++;
		}
		if (want_crl && xi->crl) {
			if (!X509_STORE_add_crl(store, xi->crl))
				goto ssl_fail;
			n++;
		}
	}
	if (n == 0) {
		r = -EINVAL;
		smime_set_err(err, errlen, "%s: no %s found", path,
			      want_crl ? "CRL" : "certificate");
		goto out;
	}
	r = 0;
	goto out;
ssl_fail:
	r = -EINVAL;
	smime_ssl_err(err, errlen, "%s: cannot add to the trust store", path);
out:
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	OPENSSL_clear_free(data, len);
	return r;
}

int smime_trust_load(const char *ca_bundle, const char *crl_path,
		     struct smime_trust **ret, char *err, size_t errlen)
{
	struct smime_trust *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->generation = ++trust_generations;
	t->store = X509_STORE_new();
	if (!t->store) {
		r = -ENOMEM;
		goto fail;
	}
	r = add_pem_objects(t->store, ca_bundle, 0, err, errlen);
	if (r < 0)
		goto fail;
	if (crl_path) {
		r = add_pem_objects(t->store, crl_path, 1, err, errlen);
		if (r < 0)
			goto fail;
		/* The recipient's own certificate is checked against the
		 * CRLs. Intermediates are not (X509_V_FLAG_CRL_CHECK_ALL):
		 * that would need a current CRL from every CA in the chain,
		 * root included, and fail every recipient without one. */
		X509_STORE_set_flags(t->store, X509_V_FLAG_CRL_CHECK);
	}
	*ret = t;
	return 0;
fail:
	smime_trust_free(t);
	return r;
}

void smime_trust_free(struct smime_trust *t)
{
	if (!t)
		return;
	X509_STORE_free(t->store);
	free(t);
}

/* ------------------------------------------------- recipient checking -- */

/*
 * OpenSSL's "S/MIME encryption" purpose requires the keyEncipherment key
 * usage, which is right for RSA key transport but wrong for an EC key: ECDH
 * key agreement (RFC 5753) needs keyAgreement instead. For an EC leaf we
 * accept the purpose failure when the certificate allows key agreement and
 * names emailProtection; every other check continues as usual.
 */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	X509 *x;
	EVP_PKEY *pk;
	uint32_t flags;

	if (ok || X509_STORE_CTX_get_error(ctx) != X509_V_ERR_INVALID_PURPOSE ||
	    X509_STORE_CTX_get_error_depth(ctx) != 0)
		return ok;
	x = X509_STORE_CTX_get_current_cert(ctx);
	pk = x ? X509_get0_pubkey(x) : NULL;
	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
		return ok;
	flags = X509_get_extension_flags(x);
	if (!(flags & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(x) & XKU_SMIME))
		return ok;
	if ((flags & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & KU_KEY_AGREEMENT))
		return ok;
	return 1;
}

const char *smime_verify_reason(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not yet valid";
	case X509_V_ERR_CERT_REVOKED:
		return "revoked";
	case X509_V_ERR_INVALID_PURPOSE:
		return "no emailProtection usage";
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
		return "revocation status unknown";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return "not issued by a trusted CA";
	default:
		return X509_verify_cert_error_string(e);
	}
}

int smime_names_email(X509 *x, const char *email)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t elen = strlen(email);
	int match = 0;

	for (int i = 0; gens && !match && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const char *v;

		if (g->type != GEN_EMAIL)
			continue;
		v = (const char *)ASN1_STRING_get0_data(g->d.rfc822Name);
		/* The length comparison also rejects an embedded NUL. */
		match = (size_t)ASN1_STRING_length(g->d.rfc822Name) == elen &&
			strncasecmp(v, email, elen) == 0;
	}
	GENERAL_NAMES_free(gens);
	return match;
}

int smime_names_domain(X509 *x, const char *domain)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	X509_NAME *subj = X509_get_subject_name(x);
	int match = 0, i = -1;

	for (int n = 0; gens && !match && n < sk_GENERAL_NAME_num(gens); n++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, n);
		const ASN1_IA5STRING *v = g->type == GEN_EMAIL ? g->d.rfc822Name
					  : g->type == GEN_DNS ? g->d.dNSName
							       : NULL;

		match = v && orgdomain_name_for(
				 (const char *)ASN1_STRING_get0_data(v),
				 (size_t)ASN1_STRING_length(v),
				 g->type == GEN_DNS, domain);
	}
	GENERAL_NAMES_free(gens);
	while (!match && (i = X509_NAME_get_index_by_NID(
			      subj, NID_pkcs9_emailAddress, i)) >= 0) {
		const ASN1_STRING *v =
		    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));

		match = orgdomain_name_for(
		    (const char *)ASN1_STRING_get0_data(v),
		    (size_t)ASN1_STRING_length(v), false, domain);
	}
	return match;
}

static int check_recipient(const struct smime_trust *t, const char *pem,
			   const char *email, time_t now, char *reason,
			   size_t reasonlen);

static void cache_key(const char *pem, const char *email,
		      unsigned char key[SHA256_DIGEST_LENGTH])
{
	size_t plen = strlen(pem), elen = email ? strlen(email) + 1 : 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	memset(key, 0, SHA256_DIGEST_LENGTH);
	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(c, pem, plen + 1) &&
	    (!elen || EVP_DigestUpdate(c, email, elen)))
		EVP_DigestFinal_ex(c, key, NULL);
	EVP_MD_CTX_free(c);
}

/* The cache slot for KEY, or NULL. Holding cache_mu. */
static struct checked *cache_find(const unsigned char *key)
{
	for (size_t i = 0; i < CHECK_CACHE; i++)
		if (check_cache[i].cert &&
		    memcmp(check_cache[i].key, key, SHA256_DIGEST_LENGTH) == 0)
			return &check_cache[i];
	return NULL;
}

int smime_check_recipient(const struct smime_trust *t, const char *pem,
			  const char *email, time_t now, char *reason,
			  size_t reasonlen)
{
	unsigned char key[SHA256_DIGEST_LENGTH], pem_key[SHA256_DIGEST_LENGTH];
	struct checked *c, *victim = &check_cache[0];
	char cached[sizeof(c->reason)];
	X509 *parsed, *old = NULL;
	int r;

	cache_key(pem, email, key);
	pthread_mutex_lock(&cache_mu);
	c = cache_find(key);
	/* A verdict of "valid" holds no longer than the certificate. */
	if (c && c->generation == t->generation && now >= c->at &&
	    now - c->at < CHECK_CACHE_SECONDS &&
	    (c->verdict < 0 ||
	     X509_cmp_time(X509_get0_notAfter(c->cert), &now) > 0)) {
		r = c->verdict;
		memcpy(cached, c->reason, sizeof(cached));
		pthread_mutex_unlock(&cache_mu);
		if (r < 0)
			smime_set_err(reason, reasonlen, "%s", cached);
		return r;
	}
	pthread_mutex_unlock(&cache_mu);
	r = check_recipient(t, pem, email, now, reason, reasonlen);
	if (r == -ENOMEM || r == -EINVAL)
		return r;
	parsed = pem_cert(pem);
	cache_key(pem, NULL, pem_key);
	pthread_mutex_lock(&cache_mu);
	c = cache_find(key);
	if (!c && parsed) {
		for (size_t i = 0; i < CHECK_CACHE; i++)
			if (check_cache[i].at < victim->at)
				victim = &check_cache[i];
		c = victim;
		old = c->cert; /* freed outside the lock */
		c->cert = parsed;
		parsed = NULL;
	}
	if (c) {
		memcpy(c->key, key, sizeof(key));
		memcpy(c->pem_key, pem_key, sizeof(pem_key));
		c->generation = t->generation;
		c->at = now;
		c->verdict = r;
		smime_set_err(c->reason, sizeof(c->reason), "%s",
			      r < 0 ? reason : "");
	}
	pthread_mutex_unlock(&cache_mu);
	X509_free(old);
	X509_free(parsed);
	return r;
}

static int check_recipient(const struct smime_trust *t, const char *pem,
			   const char *email, time_t now, char *reason,
			   size_t reasonlen)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *x = NULL;
	int r;

	if (!untrusted || !ctx) {
		r = -ENOMEM;
		goto out;
	}
	/* The first certificate is the recipient's; any others are
	 * intermediates offered to build the chain (not trusted). */
	if (pem_certs(pem, strlen(pem), untrusted) < 0) {
		r = -EINVAL;
		smime_set_err(reason, reasonlen, "not a PEM certificate");
		goto out;
	}
	x = sk_X509_shift(untrusted);
	if (!X509_STORE_CTX_init(ctx, t->store, x, untrusted)) {
		r = -ENOMEM;
		smime_ssl_err(reason, reasonlen, "cannot verify");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_ENCRYPT);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	if (X509_verify_cert(ctx) != 1) {
		r = -EKEYREJECTED;
		smime_set_err(
		    reason, reasonlen, "%s",
		    smime_verify_reason(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	/* The purpose check passes a certificate without any extended key
	 * usage; we want emailProtection named explicitly. */
	if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(x) & XKU_SMIME)) {
		r = -EKEYREJECTED;
		smime_set_err(reason, reasonlen, "no emailProtection usage");
		goto out;
	}
	if (!(strchr(email, '@') ? smime_names_email(x, email)
				 : smime_names_domain(x, email))) {
		r = -EKEYREJECTED;
		smime_set_err(reason, reasonlen, "issued for another address");
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	sk_X509_pop_free(untrusted, X509_free);
	return r;
}

/* ----------------------------------------------------------- signing -- */

/* What we announce (RFC 8551 2.5.2), in order of preference. */
static const int smimecaps[] = {
    NID_aes_256_gcm,
    NID_aes_256_cbc,
    NID_aes_128_gcm,
    NID_aes_128_cbc,
};

static int add_smimecaps(CMS_SignerInfo *si)
{
	STACK_OF(X509_ALGOR) *algs = sk_X509_ALGOR_new_null();
	int ok = algs != NULL;

	for (size_t i = 0; ok && i < sizeof(smimecaps) / sizeof(smimecaps[0]);
	     i++)
		ok = PKCS7_simple_smimecap(algs, smimecaps[i], -1);
	ok = ok && CMS_add_smimecap(si, algs);
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	return ok;
}

/* The detached signature over entity, DER (caller OPENSSL_free()s). */
static int sign_der(const struct smime_signer *s, const char *entity,
		    size_t len, unsigned char **ret, int *retlen, char *err,
		    size_t errlen)
{
	unsigned int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	int r = -EIO;

	cms = CMS_sign(NULL, NULL, s->chain, NULL, flags);
	if (!cms) {
		smime_ssl_err(err, errlen, "cannot start the signature");
		goto out;
	}
	si = CMS_add1_signer(cms, s->cert, s->key, EVP_sha256(),
			     flags | CMS_NOSMIMECAP);
	if (!si || !add_smimecaps(si)) {
		smime_ssl_err(err, errlen, "cannot add the signer");
		goto out;
	}
	if (!CMS_set_detached(cms, 1) || !final_at_once(cms, entity, len)) {
		smime_ssl_err(err, errlen, "cannot sign");
		goto out;
	}
	*ret = NULL;
	*retlen = i2d_CMS_ContentInfo(cms, ret);
	if (*retlen <= 0) {
		smime_ssl_err(err, errlen, "cannot encode the signature");
		goto out;
	}
	r = 0;
out:
	CMS_ContentInfo_free(cms);
	return r;
}

int smime_sign(const struct smime_signer *s, const char *entity, size_t len,
	       struct buf *out, char *err, size_t errlen)
{
	size_t start = out->len;
	unsigned char *der = NULL;
	char boundary[MIME_BOUNDARY_SIZE];
	int derlen = 0, r;

	if (len > INT_MAX || mime_has_bare_lf(entity, len)) {
		smime_set_err(err, errlen,
			      "entity too large or with a bare LF");
		return -EINVAL;
	}
	r = mime_boundary(boundary, entity, len);
	if (r < 0) {
		smime_ssl_err(err, errlen, "no random boundary");
		return r;
	}
	r = sign_der(s, entity, len, &der, &derlen, err, errlen);
	if (r < 0)
		return r;
	/* The first part is entity byte for byte; the CRLF before each
	 * delimiter belongs to the delimiter (RFC 2046 5.1.1). */
	r = buf_printf(out,
		       "Content-Type: multipart/signed;\r\n"
		       " protocol=\"application/pkcs7-signature\";\r\n"
		       " micalg=sha-256; boundary=\"%s\"\r\n"
		       "\r\n"
		       "This is an S/MIME signed message.\r\n"
		       "\r\n"
		       "--%s\r\n",
		       boundary, boundary);
	if (r >= 0)
		r = buf_append(out, entity, len);
	if (r >= 0)
		r = buf_printf(out,
			       "\r\n--%s\r\n"
			       "Content-Type: application/pkcs7-signature;"
			       " name=smime.p7s\r\n"
			       "Content-Transfer-Encoding: base64\r\n"
			       "Content-Disposition: attachment;"
			       " filename=smime.p7s\r\n"
			       "\r\n",
			       boundary);
	if (r >= 0)
		r = mime_base64(out, der, (size_t)derlen);
	if (r >= 0)
		r = buf_printf(out, "\r\n--%s--\r\n", boundary);
	OPENSSL_free(der);
	if (r < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		smime_set_err(err, errlen, "out of memory");
	}
	return r;
}

/* -------------------------------------------------------- encryption -- */

/* The parsed certificate, from the check cache when it was checked (a new
 * reference, taken under the lock: the loop may replace the slot at any
 * time), else parsed now. Any thread. */
static X509 *cached_cert(const char *pem)
{
	unsigned char key[SHA256_DIGEST_LENGTH];
	X509 *x = NULL;

	cache_key(pem, NULL, key);
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < CHECK_CACHE && !x; i++) {
		struct checked *c = &check_cache[i];

		if (c->cert &&
		    memcmp(c->pem_key, key, SHA256_DIGEST_LENGTH) == 0) {
			X509_up_ref(c->cert);
			x = c->cert;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return x ? x : pem_cert(pem);
}

int smime_encrypt(const char *recipient_pem, enum smime_cipher cipher,
		  const char *entity, size_t len, struct buf *out, char *err,
		  size_t errlen)
{
	const EVP_CIPHER *c =
	    cipher == SMIME_GCM ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
	unsigned int flags = CMS_BINARY | CMS_PARTIAL;
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	unsigned char *der = NULL;
	size_t start = out->len;
	X509 *x = NULL;
	time_t now;
	int derlen, r = -EIO;

	if (len > INT_MAX || mime_has_bare_lf(entity, len)) {
		smime_set_err(err, errlen,
			      "entity too large or with a bare LF");
		return -EINVAL;
	}
	x = cached_cert(recipient_pem);
	if (!x) {
		smime_ssl_err(err, errlen, "recipient: not a PEM certificate");
		return -EINVAL;
	}
	/* Checked when the message was queued; it may have run out since.
	 * Nothing is encrypted to a certificate past its notAfter. */
	now = clock_now();
	if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
		smime_set_err(err, errlen,
			      "the recipient's certificate has expired");
		X509_free(x);
		return -EKEYEXPIRED;
	}
	cms = CMS_encrypt(NULL, NULL, c, flags);
	if (!cms) {
		smime_ssl_err(err, errlen, "cannot start the envelope");
		goto out;
	}
	ri = CMS_add1_recipient_cert(cms, x, CMS_KEY_PARAM);
	if (!ri) {
		smime_ssl_err(err, errlen, "cannot add the recipient");
		goto out;
	}
	/* ECDH: the key-encryption key is derived with the X9.63 KDF, whose
	 * digest OpenSSL leaves at SHA-1 unless told otherwise. With SHA-256
	 * the algorithm becomes dhSinglePass-stdDH-sha256kdf-scheme. */
	if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE &&
	    EVP_PKEY_CTX_set_ecdh_kdf_md(CMS_RecipientInfo_get0_pkey_ctx(ri),
					 EVP_sha256()) <= 0) {
		smime_ssl_err(err, errlen, "cannot set the ECDH KDF digest");
		goto out;
	}
	if (!final_at_once(cms, entity, len)) {
		smime_ssl_err(err, errlen, "cannot encrypt");
		goto out;
	}
	derlen = i2d_CMS_ContentInfo(cms, &der);
	if (derlen <= 0) {
		smime_ssl_err(err, errlen, "cannot encode the envelope");
		goto out;
	}
	r = mime_base64(out, der, (size_t)derlen);
	if (r < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		smime_set_err(err, errlen, "out of memory");
	}
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	X509_free(x);
	return r;
}

const char *smime_content_type(enum smime_cipher cipher)
{
	if (cipher == SMIME_GCM)
		return "application/pkcs7-mime; smime-type=authEnveloped-data;"
		       " name=smime.p7m";
	return "application/pkcs7-mime; smime-type=enveloped-data;"
	       " name=smime.p7m";
}

/* ----------------------------------------------------- capabilities -- */

int smime_caps_announce_gcm(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	STACK_OF(CMS_SignerInfo) * sis;
	STACK_OF(X509_ALGOR) *algs = NULL;
	CMS_ContentInfo *cms = NULL;
	ASN1_STRING *seq;
	int r = -EINVAL;

	if (len > LONG_MAX)
		return -EINVAL;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		goto out;
	sis = CMS_get0_SignerInfos(cms);
	if (!sis || sk_CMS_SignerInfo_num(sis) < 1)
		goto out;
	seq = CMS_signed_get0_data_by_OBJ(sk_CMS_SignerInfo_value(sis, 0),
					  OBJ_nid2obj(NID_SMIMECapabilities),
					  -3, V_ASN1_SEQUENCE);
	if (!seq) {
		r = 0; /* none announced */
		goto out;
	}
	p = ASN1_STRING_get0_data(seq);
	algs = d2i_X509_ALGORS(NULL, &p, ASN1_STRING_length(seq));
	if (!algs)
		goto out;
	r = 0;
	for (int i = 0; i < sk_X509_ALGOR_num(algs); i++) {
		const ASN1_OBJECT *obj;

		X509_ALGOR_get0(&obj, NULL, NULL, sk_X509_ALGOR_value(algs, i));
		if (OBJ_obj2nid(obj) == NID_aes_256_gcm)
			r = 1;
	}
out:
	ERR_clear_error();
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	CMS_ContentInfo_free(cms);
	return r;
}
