/* test_directory.c — the pure parts of directory.c: the search filter
 * (RFC 4515 escaping), reading certificates from attribute values (DER
 * X.509, PKCS#7 SignedData, anything else), and the choice among the
 * certificates found. The searches themselves run against a real slapd in
 * tests/integration/t_directory.sh. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "directory.h"
#include "t.h"

static void test_filter(void)
{
	char out[64];

	T_ASSERT(directory_filter("peter@region.example", out, sizeof(out)) ==
		 0);
	T_STREQ(out, "(mail=peter@region.example)");
	T_ASSERT(directory_filter("a*b(c)d\\e", out, sizeof(out)) == 0);
	T_STREQ(out, "(mail=a\\2ab\\28c\\29d\\5ce)");
	T_ASSERT(directory_filter("*)(objectClass=*", out, sizeof(out)) == 0);
	T_STREQ(out, "(mail=\\2a\\29\\28objectClass=\\2a)");
	T_ASSERT(directory_filter("s\xc3\xb8ren@x.dk", out, sizeof(out)) == 0);
	T_STREQ(out, "(mail=s\\c3\\b8ren@x.dk)");
	T_ASSERT(directory_filter("", out, sizeof(out)) == 0);
	T_STREQ(out, "(mail=)");
	/* Exactly full, and one byte short. */
	T_ASSERT(directory_filter("abc", out, 11) == 0);
	T_STREQ(out, "(mail=abc)");
	T_ASSERT(directory_filter("abc", out, 10) == -ENOSPC);
	T_ASSERT(directory_filter("a*", out, 12) == 0);
	T_ASSERT(directory_filter("a*", out, 11) == -ENOSPC);
	T_ASSERT(directory_filter("a", out, 4) == -ENOSPC);
}

static void test_choose(void)
{
	struct directory_candidate c[] = {
	    {"2030-01-01T00:00:00Z", 0}, /* lasts longest, but refused */
	    {"2027-05-01T00:00:00Z", 1},
	    {"2028-05-01T00:00:00Z", 1}, /* the valid one lasting longest */
	    {NULL, 1},			 /* unreadable expiry */
	    {"2028-05-01T00:00:00Z", 1}, /* as long: the first stays */
	};

	T_ASSERT(directory_choose(c, 5) == 2);
	T_ASSERT(directory_choose(c, 2) == 1);
	T_ASSERT(directory_choose(c, 1) == -1);
	T_ASSERT(directory_choose(c, 0) == -1);
	T_ASSERT(directory_choose(c + 3, 1) == -1);
}

/* A self-signed certificate with an EC key, as DER. */
static X509 *make_cert(void)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();

	T_ASSERT(pk && x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"Test (test)", -1, -1,
				   0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, pk);
	T_ASSERT(X509_sign(x, pk, EVP_sha256()) > 0);
	EVP_PKEY_free(pk);
	return x;
}

static void test_values(void)
{
	X509 *x = make_cert(), *y = make_cert();
	unsigned char *der = NULL, *p7der = NULL;
	int len = i2d_X509(x, &der), p7len;
	PKCS7 *p7 = PKCS7_new();
	json_t *pems = json_array();

	T_ASSERT(len > 0);
	/* A DER certificate (userCertificate;binary). */
	T_ASSERT(directory_value_certs(der, (size_t)len, pems) == 1);
	T_ASSERT(json_array_size(pems) == 1);
	T_CONTAINS(json_string_value(json_array_get(pems, 0)),
		   "-----BEGIN CERTIFICATE-----");
	/* Trailing bytes, a cut value, nothing, garbage: refused. */
	T_ASSERT(directory_value_certs(der, (size_t)len - 1, pems) == -EINVAL);
	T_ASSERT(directory_value_certs(der, 0, pems) == -EINVAL);
	T_ASSERT(directory_value_certs((const unsigned char *)"junk", 4,
				       pems) == -EINVAL);
	T_ASSERT(json_array_size(pems) == 1);

	/* A PKCS#7 SignedData carrying two certificates
	 * (userSMIMECertificate as Exchange publishes it). */
	T_ASSERT(p7 && PKCS7_set_type(p7, NID_pkcs7_signed) == 1 &&
		 PKCS7_content_new(p7, NID_pkcs7_data) == 1 &&
		 PKCS7_add_certificate(p7, x) == 1 &&
		 PKCS7_add_certificate(p7, y) == 1);
	p7len = i2d_PKCS7(p7, &p7der);
	T_ASSERT(p7len > 0);
	T_ASSERT(directory_value_certs(p7der, (size_t)p7len, pems) == 2);
	T_ASSERT(json_array_size(pems) == 3);
	/* Never more than DIRECTORY_MAX_CANDIDATES. */
	for (int i = 0; i < 20; i++)
		directory_value_certs(der, (size_t)len, pems);
	T_ASSERT(json_array_size(pems) == DIRECTORY_MAX_CANDIDATES);
	T_ASSERT(directory_value_certs(der, (size_t)len, pems) == 0);

	json_decref(pems);
	PKCS7_free(p7);
	OPENSSL_free(der);
	OPENSSL_free(p7der);
	X509_free(x);
	X509_free(y);
}

/* The search process's reply (directory.c's records). */
static void test_reply(void)
{
	X509 *x = make_cert();
	unsigned char *der = NULL, buf[4096];
	int len = i2d_X509(x, &der);
	json_t *pems = json_array();
	char err[128];
	size_t n = 0;

	T_ASSERT(len > 0 && (size_t)len + 16 < sizeof(buf));
	buf[n++] = 'B';
	buf[n++] = 'V';
	buf[n++] = (unsigned char)(len >> 24);
	buf[n++] = (unsigned char)(len >> 16);
	buf[n++] = (unsigned char)(len >> 8);
	buf[n++] = (unsigned char)len;
	memcpy(buf + n, der, (size_t)len);
	n += (size_t)len;
	buf[n++] = 'K';
	/* One too large value left out, one certificate, complete. */
	T_ASSERT(directory_reply_parse(buf, n, pems, err, sizeof(err)) == 1);
	T_ASSERT(json_array_size(pems) == 1);
	/* Cut anywhere: refused as a reply without its end, and the
	 * certificate it held before the cut is not taken. */
	T_ASSERT(directory_reply_parse(buf, n - 1, pems, err, sizeof(err)) ==
		 -EPROTO);
	T_STREQ(err, "the search ended without a reply");
	T_ASSERT(directory_reply_parse(buf, 10, pems, err, sizeof(err)) ==
		 -EPROTO);
	T_STREQ(err, "malformed reply from the search");
	T_ASSERT(directory_reply_parse((const unsigned char *)"KK", 2, pems,
				       err, sizeof(err)) == -EPROTO);
	T_ASSERT(directory_reply_parse((const unsigned char *)"", 0, pems, err,
				       sizeof(err)) == -EPROTO);
	/* An error: its errno and text, made printable; empty text named. */
	T_ASSERT(
	    directory_reply_parse((const unsigned char *)"E\0\0\0\x6e\0\x05"
							 "ab\ncd",
				  12, pems, err, sizeof(err)) == -ETIMEDOUT);
	T_STREQ(err, "ab?cd");
	T_ASSERT(directory_reply_parse((const unsigned char *)"E\0\0\0\x6e\0\0",
				       7, pems, err,
				       sizeof(err)) == -ETIMEDOUT);
	T_STREQ(err, "the search failed");
	/* errno 0, or a length that does not match: malformed. */
	T_ASSERT(directory_reply_parse((const unsigned char *)"E\0\0\0\0\0\0",
				       7, pems, err, sizeof(err)) == -EPROTO);
	T_ASSERT(
	    directory_reply_parse((const unsigned char *)"E\0\0\0\x6e\0\x09"
							 "ab",
				  9, pems, err, sizeof(err)) == -EPROTO);
	T_ASSERT(json_array_size(pems) == 1);
	json_decref(pems);
	OPENSSL_free(der);
	X509_free(x);
}

T_MAIN(T_CASE(test_filter), T_CASE(test_choose), T_CASE(test_values),
       T_CASE(test_reply))
