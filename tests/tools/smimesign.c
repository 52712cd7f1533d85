/* smimesign.c — signs a MIME entity the way kip does (SHA-256, with
 * SMIMECapabilities announcing AES-256-GCM and CBC), for tests that need a
 * partner whose software announces GCM (`openssl cms -sign` announces
 * only CBC ciphers).
 *
 *   smimesign CERT KEY < ENTITY > MULTIPART-SIGNED-ENTITY
 *
 * ENTITY must use CRLF line ends. Test use only; the keys are the
 * development PKI's (certs/make-dev-certs.sh).
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "smime.h"

int main(int argc, char **argv)
{
	struct smime_signer *s = NULL;
	struct buf in = BUF_INIT, out = BUF_INIT;
	char err[512], chunk[65536];
	size_t n;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: smimesign CERT KEY < ENTITY\n");
		return 2;
	}
	r = smime_signer_load(argv[1], argv[2], NULL, NULL, &s, err,
			      sizeof(err));
	if (r < 0) {
		fprintf(stderr, "smimesign: %s\n", err);
		return 1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(&in, chunk, n) < 0)
			return 1;
	r = smime_sign(s, in.data, in.len, &out, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "smimesign: %s\n", err);
		return 1;
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&in);
	buf_free(&out);
	smime_signer_free(s);
	return 0;
}
