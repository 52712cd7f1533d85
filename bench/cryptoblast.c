/* cryptoblast.c — the crypto limit: the S/MIME work of distributing plans,
 * without store, sockets or mail.
 *
 *   cryptoblast [-n ROUNDS] [-m M] [-g] [-o FILE] CERT KEY ENTITY RCPT.pem...
 *
 * ENTITY is a complete MIME entity (the plan's inner entity: headers, blank
 * line, body, CRLF). Each of ROUNDS rounds (default 20) does what kipd does
 * for one approved version with M recipients (default 10):
 *
 *   sign ENTITY once: CMS, detached, SHA-256, SMIMECapabilities, with the
 *   organisation's CERT and KEY, wrapped as multipart/signed with the
 *   signature in base64 (as daemon/smime.c smime_sign)
 *
 *   encrypt that signed entity M times, once per recipient: CMS
 *   EnvelopedData, AES-256-CBC (-g: AuthEnvelopedData, AES-256-GCM), the
 *   recipient certificates RCPT.pem taken in turn, DER to base64 with CRLF
 *   every 76 columns (as smime_encrypt)
 *
 * The certificates and the key are parsed once, before the clock starts
 * (kipd parses each recipient's PEM per message, and checks its chain; that
 * is its own cost, not the crypto limit). One thread (kipd signs on its
 * loop thread and encrypts on kip-seal or an SMTP worker).
 * -o FILE writes the last envelope's base64 there (to check it decrypts).
 *
 * Prints on standard output
 *
 *   rounds: ROUNDS  recipients: M  messages: ROUNDS*M
 *   signed entity: BYTES, envelope: BYTES (base64)
 *   sign: MS ms per signature
 *   encrypt: MS ms per recipient
 *   time: SECONDS s
 *   messages/s: RATE
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "buf.h"

#define FILE_MAX (64L * 1024 * 1024)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	unsigned long e = ERR_peek_last_error();

	fputs("cryptoblast: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e) {
		char s[256];

		ERR_error_string_n(e, s, sizeof(s));
		fprintf(stderr, ": %s", s);
	}
	fputc('\n', stderr);
	exit(2);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cryptoblast [-n ROUNDS] [-m M] [-g] [-o FILE] CERT KEY"
		" ENTITY RCPT.pem...\n"
		"  -n ROUNDS  signatures (one per plan), default 20\n"
		"  -m M       recipients per signature, default 10\n"
		"  -g         AES-256-GCM (AuthEnvelopedData) instead of CBC\n"
		"  -o FILE    write the last envelope (base64) to FILE\n");
}

static long parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 10000000L)
		die("%s: not a positive integer: %s", what, s);
	return v;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *p;
	size_t n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > FILE_MAX)
		die("%s: not a regular file of at most %ld bytes", path,
		    FILE_MAX);
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		die("out of memory");
	n = fread(p, 1, (size_t)st.st_size, f);
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

static X509 *load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	if (!x)
		die("%s: not a PEM certificate", path);
	return x;
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	if (!k)
		die("%s: not an unencrypted PEM private key", path);
	return k;
}

/* base64, 76 columns, CRLF (daemon/smime.c base64_crlf). */
static void base64_crlf(struct buf *out, const unsigned char *p, size_t n)
{
	size_t lines = (n + 56) / 57;

	if (buf_reserve(out, lines * 78 + 1) < 0)
		die("out of memory");
	for (size_t off = 0; off < n; off += 57) {
		size_t chunk = n - off < 57 ? n - off : 57;
		int w = EVP_EncodeBlock((unsigned char *)out->data + out->len,
					p + off, (int)chunk);

		out->len += (size_t)w;
		memcpy(out->data + out->len, "\r\n", 3);
		out->len += 2;
	}
}

static const int smimecaps[] = {NID_aes_256_gcm, NID_aes_256_cbc,
				NID_aes_128_gcm, NID_aes_128_cbc};

/* ENTITY signed as multipart/signed into out (as smime_sign). */
static void sign(X509 *cert, EVP_PKEY *key, const char *entity, size_t len,
		 struct buf *out)
{
	unsigned int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
	STACK_OF(X509_ALGOR) *algs = sk_X509_ALGOR_new_null();
	BIO *in = BIO_new_mem_buf(entity, (int)len);
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	CMS_SignerInfo *si;
	unsigned char *der = NULL, rnd[16];
	char boundary[40];
	int derlen;

	if (!algs || !in || !cms)
		die("cannot start the signature");
	si = CMS_add1_signer(cms, cert, key, EVP_sha256(),
			     flags | CMS_NOSMIMECAP);
	if (!si)
		die("cannot add the signer");
	for (size_t i = 0; i < sizeof(smimecaps) / sizeof(smimecaps[0]); i++)
		if (!PKCS7_simple_smimecap(algs, smimecaps[i], -1))
			die("smimecap");
	if (!CMS_add_smimecap(si, algs) || !CMS_set_detached(cms, 1) ||
	    !CMS_final(cms, in, NULL, flags))
		die("cannot sign");
	derlen = i2d_CMS_ContentInfo(cms, &der);
	if (derlen <= 0)
		die("cannot encode the signature");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		die("RAND_bytes");
	memcpy(boundary, "kip-", 4);
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(boundary + 4 + 2 * i, 3, "%02x", rnd[i]);
	out->len = 0;
	if (buf_printf(out,
		       "Content-Type: multipart/signed;\r\n"
		       " protocol=\"application/pkcs7-signature\";\r\n"
		       " micalg=sha-256; boundary=\"%s\"\r\n\r\n"
		       "This is an S/MIME signed message.\r\n\r\n--%s\r\n",
		       boundary, boundary) < 0 ||
	    buf_append(out, entity, len) < 0 ||
	    buf_printf(
		out,
		"\r\n--%s\r\nContent-Type: application/pkcs7-signature;"
		" name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n"
		"Content-Disposition: attachment; filename=smime.p7s\r\n"
		"\r\n",
		boundary) < 0)
		die("out of memory");
	base64_crlf(out, der, (size_t)derlen);
	if (buf_printf(out, "\r\n--%s--\r\n", boundary) < 0)
		die("out of memory");
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
}

/* ENTITY encrypted for RCPT, base64 into out (as smime_encrypt). */
static void encrypt(X509 *rcpt, const EVP_CIPHER *c, const char *entity,
		    size_t len, struct buf *out)
{
	unsigned int flags = CMS_BINARY | CMS_PARTIAL;
	BIO *in = BIO_new_mem_buf(entity, (int)len);
	CMS_ContentInfo *cms = CMS_encrypt(NULL, NULL, c, flags);
	CMS_RecipientInfo *ri;
	unsigned char *der = NULL;
	int derlen;

	if (!in || !cms)
		die("cannot start the envelope");
	ri = CMS_add1_recipient_cert(cms, rcpt, CMS_KEY_PARAM);
	if (!ri)
		die("cannot add the recipient");
	if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE &&
	    EVP_PKEY_CTX_set_ecdh_kdf_md(CMS_RecipientInfo_get0_pkey_ctx(ri),
					 EVP_sha256()) <= 0)
		die("cannot set the ECDH KDF digest");
	if (!CMS_final(cms, in, NULL, CMS_BINARY))
		die("cannot encrypt");
	derlen = i2d_CMS_ContentInfo(cms, &der);
	if (derlen <= 0)
		die("cannot encode the envelope");
	out->len = 0;
	base64_crlf(out, der, (size_t)derlen);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long rounds = 20, m = 10;
	bool gcm = false;
	const char *outpath = NULL;
	struct buf sig = BUF_INIT, env = BUF_INIT;
	double t0, t_sign = 0, t_enc = 0, dt;
	X509 *cert, **rcpts;
	EVP_PKEY *key;
	char *entity;
	size_t len, n_rcpt;
	int opt;

	while ((opt = getopt(argc, argv, "n:m:go:h")) != -1) {
		switch (opt) {
		case 'n':
			rounds = parse_count(optarg, "-n");
			break;
		case 'm':
			m = parse_count(optarg, "-m");
			break;
		case 'g':
			gcm = true;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 4) {
		usage(stderr);
		return 2;
	}
	cert = load_cert(argv[optind]);
	key = load_key(argv[optind + 1]);
	if (X509_check_private_key(cert, key) != 1)
		die("%s does not match %s", argv[optind + 1], argv[optind]);
	entity = read_file(argv[optind + 2], &len);
	if (len > INT_MAX / 2)
		die("%s: too large", argv[optind + 2]);
	n_rcpt = (size_t)(argc - optind - 3);
	rcpts = calloc(n_rcpt, sizeof(*rcpts));
	if (!rcpts)
		die("out of memory");
	for (size_t i = 0; i < n_rcpt; i++)
		rcpts[i] = load_cert(argv[optind + 3 + (int)i]);

	t0 = now_s();
	for (long r = 0; r < rounds; r++) {
		double a = now_s(), b;

		sign(cert, key, entity, len, &sig);
		b = now_s();
		t_sign += b - a;
		for (long i = 0; i < m; i++)
			encrypt(rcpts[(size_t)i % n_rcpt],
				gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc(),
				sig.data, sig.len, &env);
		t_enc += now_s() - b;
	}
	dt = now_s() - t0;

	if (outpath) {
		FILE *f = fopen(outpath, "wb");

		if (!f || fwrite(env.data, 1, env.len, f) != env.len ||
		    fclose(f) != 0)
			die("%s: cannot write", outpath);
	}
	printf("rounds: %ld  recipients: %ld  messages: %ld  cipher: %s\n",
	       rounds, m, rounds * m, gcm ? "aes-256-gcm" : "aes-256-cbc");
	printf("signed entity: %zu bytes, envelope: %zu bytes (base64)\n",
	       sig.len, env.len);
	printf("sign: %.3f ms per signature\n", t_sign * 1e3 / (double)rounds);
	printf("encrypt: %.3f ms per recipient\n",
	       t_enc * 1e3 / (double)(rounds * m));
	printf("time: %.3f s\n", dt);
	printf("messages/s: %.1f\n", (double)(rounds * m) / dt);

	buf_free(&sig);
	buf_free(&env);
	for (size_t i = 0; i < n_rcpt; i++)
		X509_free(rcpts[i]);
	free(rcpts);
	X509_free(cert);
	EVP_PKEY_free(key);
	free(entity);
	return 0;
}
