/* fuzz_inmail.c — inmail_parse() of arbitrary bytes as an inbound mail:
 * MIME (GMime), S/MIME decryption and verification (OpenSSL CMS), the
 * signer's chain and signer-equals-sender, and the signed text.
 *
 * The keys are fuzz/pki/'s development PKI (fuzz/pki/README.md): the
 * organisation's key decrypts, the CA bundle and CRL judge signers, at the
 * fixed time FUZZ_NOW so that verdicts do not change as the certificates
 * age. The seeds are tests/hostile/make-corpus.sh's mails, accepted and
 * rejected ones, made with that PKI.
 *
 * Checks the contract of inmail.h on every input: a verdict within the
 * enum with a terminated detail, a text exactly when accepted, and the
 * header fields terminated. KIP_FUZZ_VERBOSE=1 prints each verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "inmail.h"
#include "smime.h"

/* 2026-11-22T10:40Z: inside the validity of fuzz/pki's CRL and certs. */
#define FUZZ_NOW 1795344000
#define FUZZ_MAX_BYTES (1u << 20)

static struct smime_signer *org;
static struct smime_trust *trust;
static int verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *pki = getenv("KIP_FUZZ_PKI");
	char cert[512], key[512], ca[512], crl[512], err[512];

	(void)argc, (void)argv;
	fuzz_quiet_log();
	verbose = getenv("KIP_FUZZ_VERBOSE") != NULL;
	if (!pki)
		pki = "fuzz/pki"; /* fuzz/run.sh runs from the repository */
	snprintf(cert, sizeof(cert), "%s/org.pem", pki);
	snprintf(key, sizeof(key), "%s/org.key", pki);
	snprintf(ca, sizeof(ca), "%s/bundle.pem", pki);
	snprintf(crl, sizeof(crl), "%s/crl.pem", pki);
	if (smime_signer_load(cert, key, NULL, NULL, &org, err, sizeof(err)) <
		    0 ||
	    smime_trust_load(ca, crl, &trust, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_inmail: %s (run from the repository, "
				"or set KIP_FUZZ_PKI)\n",
			err);
		exit(2);
	}
	return 0;
}

static void terminated(const char *s, size_t size)
{
	if (!memchr(s, '\0', size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct inmail_keys keys = { org, trust, FUZZ_MAX_BYTES,
					  FUZZ_NOW };
	struct inmail m;
	int r;

	r = inmail_parse((const char *)data, size, &keys, &m);
	if (r == -ENOMEM)
		return 0;
	if (r != 0 || m.reason < INMAIL_OK || m.reason > INMAIL_REASON_LAST ||
	    strcmp(inmail_reason_name(m.reason), "unknown") == 0)
		__builtin_trap();
	terminated(m.detail, sizeof(m.detail));
	terminated(m.message_id, sizeof(m.message_id));
	terminated(m.from, sizeof(m.from));
	terminated(m.subject, sizeof(m.subject));
	terminated(m.in_reply_to, sizeof(m.in_reply_to));
	terminated(m.signer_email, sizeof(m.signer_email));
	if (inmail_has_text(m.reason) != (m.text != NULL))
		__builtin_trap(); /* a text exactly when accepted */
	if (m.reason == INMAIL_OK) {
		int g, a;

		if (!m.signer_pem || strlen(m.signer_fpr) != 64 ||
		    strchr(m.text, '\r'))
			__builtin_trap();
		inmail_parse_numbers(m.text, &g, &a);
		if (g != m.goal || a != m.action)
			__builtin_trap();
	}
	if (verbose)
		fprintf(stderr, "verdict: %s (%s)\n",
			inmail_reason_name(m.reason), m.detail);
	inmail_free(&m);
	return 0;
}
