/* fuzz_ldapreply.c — what the process that searched an LDAP directory
 * sends back, read the way directory.c reads it (directory_reply_parse()),
 * on arbitrary bytes, as if the search process, or the directory's values
 * it passes on, were hostile.
 *
 * An input is the whole reply: records 'V' (a value: a DER certificate or
 * a PKCS#7 carrying certificates), 'B', and a last 'K' or 'E' (directory.c).
 * Checks: the result is the count of values without a certificate (>= 0),
 * or a negative errno with a message that is printable; never more than
 * DIRECTORY_MAX_CANDIDATES certificates; each one PEM that OpenSSL reads
 * back as a certificate.
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "directory.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *pems = json_array();
	char err[256] = "";
	int r;

	if (!pems)
		return 0;
	r = directory_reply_parse(data, size, pems, err, sizeof(err));
	if (r < 0 && (r == -ENOMEM || !err[0]))
		__builtin_trap();
	for (const char *c = err; r < 0 && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			__builtin_trap();
	if (json_array_size(pems) > DIRECTORY_MAX_CANDIDATES)
		__builtin_trap();
	for (size_t i = 0; i < json_array_size(pems); i++) {
		const char *pem = json_string_value(json_array_get(pems, i));
		BIO *bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
		X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

		if (!x)
			__builtin_trap();
		X509_free(x);
		BIO_free(bio);
	}
	json_decref(pems);
	return 0;
}
