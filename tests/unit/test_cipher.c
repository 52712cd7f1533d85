/* test_cipher.c — the cipher a recipient's mail gets (policy, announced
 * AES-GCM, smime.allow_gcm) and the warnings about readers that cannot
 * decrypt it, with certificates made here in memory (an EC and an RSA
 * key, self-signed: only the key's type matters). */
#include "cert.h"
#include "cipher.h"
#include "t.h"

#include <errno.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A self-signed certificate for KEY as a malloc'd PEM string, or NULL. */
static char *self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL, *data;
	long len;

	if (x && bio && key && X509_set_version(x, 2) &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) &&
	    X509_NAME_add_entry_by_txt(
		X509_get_subject_name(x), "CN", MBSTRING_ASC,
		(const unsigned char *)"test", -1, -1, 0) &&
	    X509_set_issuer_name(x, X509_get_subject_name(x)) &&
	    X509_set_pubkey(x, key) && X509_sign(x, key, EVP_sha256()) &&
	    PEM_write_bio_X509(bio, x) &&
	    (len = BIO_get_mem_data(bio, &data)) > 0 &&
	    (pem = malloc((size_t)len + 1))) {
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(key);
	return pem;
}

/* The warnings as one string, each starting with "|", "" for none. */
static void joined(bool allow_gcm, const char *pem, const char *policy,
		   bool caps_gcm, char *out, size_t size)
{
	json_t *w = NULL, *v;
	size_t i, o = 0;

	out[0] = '\0';
	if (cipher_warnings(allow_gcm, pem, policy, caps_gcm, &w) < 0 ||
	    !json_is_array(w)) {
		snprintf(out, size, "(failed)");
		return;
	}
	json_array_foreach(w, i, v)
	{
		o += (size_t)snprintf(out + o, size - o, "|%s",
				      json_string_value(v));
		if (o >= size)
			break;
	}
	json_decref(w);
}

static void test_choose(void)
{
	T_ASSERT(cipher_choose(true, "auto", false) == SMIME_CBC);
	T_ASSERT(cipher_choose(true, "auto", true) == SMIME_GCM);
	T_ASSERT(cipher_choose(true, "gcm", false) == SMIME_GCM);
	T_ASSERT(cipher_choose(true, "cbc", true) == SMIME_CBC);
	/* smime.allow_gcm = false: never GCM. */
	T_ASSERT(cipher_choose(false, "gcm", true) == SMIME_CBC);
	T_ASSERT(cipher_choose(false, "auto", true) == SMIME_CBC);
}

static void test_cipher_warnings(void)
{
	char w[1024];

	joined(true, NULL, "auto", false, w, sizeof(w));
	T_STREQ(w, "");
	joined(true, NULL, "cbc", true, w, sizeof(w));
	T_STREQ(w, "");
	joined(true, NULL, "gcm", false, w, sizeof(w));
	T_STREQ(w, "|cipher policy gcm: encrypted mail is AES-GCM, which "
		   "Thunderbird (NSS 3.87) and gpgsm 2.2.40 cannot decrypt; "
		   "OpenSSL and Bouncy Castle can");
	joined(true, NULL, "auto", true, w, sizeof(w));
	T_STREQ(w, "|cipher policy auto, and their own signed mail announced "
		   "AES-GCM: encrypted mail is AES-GCM, which Thunderbird "
		   "(NSS 3.87) and gpgsm 2.2.40 cannot decrypt; OpenSSL and "
		   "Bouncy Castle can");
	/* What is not sent is not warned of. */
	joined(false, NULL, "gcm", true, w, sizeof(w));
	T_STREQ(w, "");
}

static void test_key_warnings(void)
{
	char *ec = self_signed(EVP_EC_gen("P-256"));
	char *rsa = self_signed(EVP_RSA_gen(2048));
	char w[1024];

	T_ASSERT(ec && rsa);
	if (!ec || !rsa)
		goto out;
	T_ASSERT(cert_key_ec(ec) == 1);
	T_ASSERT(cert_key_ec(rsa) == 0);
	T_ASSERT(cert_key_ec("not a certificate") == -EINVAL);
	joined(true, ec, "auto", false, w, sizeof(w));
	T_STREQ(w, "|the certificate's key is EC: mail is encrypted to it by "
		   "ECDH, which Thunderbird (NSS 3.87) and gpgsm 2.2.40 cannot "
		   "decrypt; OpenSSL and Bouncy Castle can");
	/* The key first, then the content cipher. */
	joined(true, ec, "gcm", false, w, sizeof(w));
	T_CONTAINS(w, "|the certificate's key is EC: ");
	T_CONTAINS(w, "can|cipher policy gcm: ");
	joined(false, ec, "gcm", false, w, sizeof(w));
	T_CONTAINS(w, "|the certificate's key is EC: ");
	T_ASSERT(!strstr(w, "AES-GCM"));
	joined(true, rsa, "auto", false, w, sizeof(w));
	T_STREQ(w, "");
	joined(true, rsa, "cbc", false, w, sizeof(w));
	T_STREQ(w, "");
	/* A stored PEM that does not parse says nothing of its key. */
	joined(true, "junk", "auto", false, w, sizeof(w));
	T_STREQ(w, "");
out:
	free(ec);
	free(rsa);
}

T_MAIN(T_CASE(test_choose), T_CASE(test_cipher_warnings),
       T_CASE(test_key_warnings))
