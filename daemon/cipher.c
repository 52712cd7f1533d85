/* cipher.c — see cipher.h. distribute.c asks cipher_choose() for every
 * envelope and the control commands ask cipher_warnings(), so what the
 * operator is told is what kipd sends. */
#include "cipher.h"

#include <errno.h>
#include <string.h>

#include "cert.h"

/* The readers measured (cipher.h), after what they cannot decrypt. */
#define READERS                                                                \
	", which Thunderbird (NSS 3.87) and gpgsm 2.2.40 cannot decrypt;"      \
	" OpenSSL and Bouncy Castle can"

static const char ec_key[] =
    "the certificate's key is EC: mail is encrypted to it by ECDH" READERS;
static const char gcm_policy[] =
    "cipher policy gcm: encrypted mail is AES-GCM" READERS;
static const char gcm_announced[] =
    "cipher policy auto, and their own signed mail announced AES-GCM:"
    " encrypted mail is AES-GCM" READERS;

enum smime_cipher cipher_choose(bool allow_gcm, const char *policy,
				bool caps_gcm)
{
	if (!allow_gcm || (policy && strcmp(policy, "cbc") == 0))
		return SMIME_CBC;
	if (policy && strcmp(policy, "gcm") == 0)
		return SMIME_GCM;
	return caps_gcm ? SMIME_GCM : SMIME_CBC; /* auto */
}

int cipher_warnings(bool allow_gcm, const char *cert_pem, const char *policy,
		    bool caps_gcm, json_t **ret)
{
	json_t *w = json_array();
	int r = w ? 0 : -ENOMEM;

	if (r == 0 && cert_pem && cert_key_ec(cert_pem) == 1 &&
	    json_array_append_new(w, json_string(ec_key)))
		r = -ENOMEM;
	if (r == 0 && cipher_choose(allow_gcm, policy, caps_gcm) == SMIME_GCM) {
		const char *why = policy && strcmp(policy, "gcm") == 0
				      ? gcm_policy
				      : gcm_announced;

		if (json_array_append_new(w, json_string(why)))
			r = -ENOMEM;
	}
	if (r < 0) {
		json_decref(w);
		return r;
	}
	*ret = w;
	return 0;
}
