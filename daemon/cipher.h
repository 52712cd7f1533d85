/* cipher.h — what a recipient's encrypted mail is made with, and which
 * mail readers cannot open it.
 *
 * kipd encrypts with AES-256-CBC or AES-256-GCM, as the recipient's cipher
 * policy and smime.allow_gcm decide, to an RSA key by key transport or to
 * an EC key by ECDH key agreement (smime.c). Not every reader opens every
 * kind. Measured with these versions: Mozilla NSS 3.87 (Thunderbird's
 * S/MIME) and gpgsm 2.2.40 decrypt neither AES-GCM (AuthEnvelopedData) nor
 * ECDH; OpenSSL and Bouncy Castle decrypt both. The control commands that
 * show or change a recipient say so to the operator.
 */
#ifndef KIP_CIPHER_H
#define KIP_CIPHER_H

#include <jansson.h>
#include <stdbool.h>

#include "smime.h"

/* The content cipher for a recipient with cipher policy POLICY ("auto",
 * "gcm" or "cbc") whose own signed mail announced AES-256-GCM (CAPS_GCM):
 * CBC whenever ALLOW_GCM (smime.allow_gcm) is false or the policy is cbc,
 * GCM for gcm, and for auto GCM only when announced. */
enum smime_cipher cipher_choose(bool allow_gcm, const char *policy,
				bool caps_gcm);

/*
 * What the operator should know about the mail to a recipient with the
 * certificate CERT_PEM (NULL: none yet), POLICY and CAPS_GCM, under
 * ALLOW_GCM: one sentence for an EC key (ECDH) and one when the content
 * cipher is AES-GCM (by policy gcm, or auto and announced), each naming
 * the readers that cannot decrypt it. *ret gets a new JSON array of
 * strings, empty when there is nothing to say. 0 or -ENOMEM.
 */
int cipher_warnings(bool allow_gcm, const char *cert_pem, const char *policy,
		    bool caps_gcm, json_t **ret);

#endif
