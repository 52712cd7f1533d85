/* inmail.h — one inbound mail's raw bytes in, one verdict out.
 *
 * A pure function: no database, no network, no logging. kipd reads the
 * function mailbox, hands each message to inmail_parse() and stores what
 * is accepted (deviation reports) or quarantines the rest by its reason.
 *
 * What is accepted (tests/hostile/README.md shows each rule with a mail):
 *
 *  - At the top of the message, and nothing else:
 *      multipart/signed; protocol="application/pkcs7-signature" (detached),
 *      application/pkcs7-mime; smime-type=signed-data (opaque), or
 *      application/pkcs7-mime; smime-type=enveloped-data or
 *      authEnveloped-data, encrypted to the organisation, whose decrypted
 *      entity is one of the two signed forms (sign-then-encrypt, as kip
 *      sends). The x-pkcs7 spellings are accepted too. Without smime-type
 *      the CMS content type decides; a declared smime-type must match it.
 *  - The signature covers exactly the bytes then parsed: OpenSSL's MIME
 *    reader splits multipart/signed and makes the signed part's line ends
 *    CRLF (as `openssl cms -verify` does, so LF-only mail verifies).
 *    One signer, digest SHA-256/384/512 (SHA-1 => bad-signature); the
 *    signed content type must be id-data (else wrong-content-type).
 *  - The signer's certificate chains to keys->trust at keys->now (with
 *    its CRLs, if loaded, as smime_check_recipient() does: a missing or
 *    stale CRL => untrusted), has the emailProtection extended key usage
 *    or none, digitalSignature if it has key usages, and one of its
 *    addresses (rfc822Name or emailAddress, any case) is the From address;
    or else it is for the From address's domain (an rfc822Name or
    emailAddress at exactly that domain, or a dNSName equal to it: an
    organisation certificate), and the mail, otherwise accepted, gets
    organisation-signer with its text, for kipd to judge (any fault of
    its signed content makes it signer-not-sender instead).
 *  - Exactly one From header with exactly one mailbox; otherwise (none,
 *    two headers, two addresses, a group) => malformed. A Sender header
 *    naming another address than From => signer-not-sender. A protected
 *    From inside the signed content that differs => signer-not-sender.
 *  - Anything else at the top (multipart/mixed, text/plain, ...) =>
 *    signature-wrapping if a signed or encrypted S/MIME part is anywhere
 *    inside, else unsigned. A signed entity inside the decrypted one is
 *    not looked for: an encrypted, unsigned mail is unsigned.
 *  - Limits: the whole message <= keys->max_bytes (else too-large, only
 *    the headers are read). In the signed content: nesting depth <= 8
 *    (the signed entity is depth 1), <= 64 parts, each part decoded <=
 *    max_bytes. The outer structure gets two levels and parts more for
 *    the S/MIME wrapping around the signed content.
 *  - The text is the first text/plain part of the signed content that is
 *    not an attachment and not inside an attached message/rfc822
 *    (multipart/alternative and mixed allowed), decoded
 *    (quoted-printable, base64) and converted from its charset to UTF-8
 *    (no charset: must be UTF-8), LF line ends, no NUL. No text/plain =>
 *    wrong-content-type; undecodable => malformed.
 *
 * The order of checks, and so which reason wins: size, MIME parse and
 * outer limits, From, top-level type, decryption, signature, signer
 * chain, signer = From (and Sender), then the signed content.
 */
#ifndef KIP_INMAIL_H
#define KIP_INMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct smime_signer;
struct smime_trust;

#define INMAIL_MAX_DEPTH 8
#define INMAIL_MAX_PARTS 64

/* Each reason has a stable name: inmail_reason_name(). */
enum inmail_reason {
	INMAIL_OK = 0,		/* "ok" */
	INMAIL_MALFORMED,	/* "malformed" */
	INMAIL_TOO_LARGE,	/* "too-large" */
	INMAIL_UNSIGNED,	/* "unsigned" */
	INMAIL_WRAPPED,		/* "signature-wrapping" */
	INMAIL_BAD_SIGNATURE,	/* "bad-signature" */
	INMAIL_UNTRUSTED,	/* "untrusted" (also: no emailProtection
				   usage, revocation status unknown) */
	INMAIL_EXPIRED,		/* "expired" (or not yet valid) */
	INMAIL_REVOKED,		/* "revoked" */
	INMAIL_SIGNER_MISMATCH, /* "signer-not-sender" */
	INMAIL_UNDECRYPTABLE,	/* "undecryptable" */
	INMAIL_WRONG_TYPE,	/* "wrong-content-type" */
	INMAIL_ORG_SIGNER,	/* "organisation-signer": all else held, but
				   the signer's certificate is for the From
				   address's domain, not for the address (an
				   organisation certificate); whether that
				   counts is kipd's to decide (orgcert.h) */
};
#define INMAIL_REASON_LAST INMAIL_ORG_SIGNER

/* Whether a verdict R carries the signed text: accepted, or accepted but
 * for an organisation's signer. */
static inline bool inmail_has_text(enum inmail_reason r)
{
	return r == INMAIL_OK || r == INMAIL_ORG_SIGNER;
}

/* The stable name of R ("ok", "bad-signature", ...); "unknown" for a
 * value outside the enum. */
const char *inmail_reason_name(enum inmail_reason r);

struct inmail_keys {
	const struct smime_signer *org;	 /* decrypts mail to the organisation;
					    NULL: encrypted => undecryptable */
	const struct smime_trust *trust; /* CA bundle + CRLs for signers;
					    NULL: every signer untrusted */
	size_t max_bytes;		 /* whole message limit */
	time_t now;			 /* validity is checked at this time */
};

struct inmail {
	enum inmail_reason reason;
	char detail[256];      /* why; never personal data (no addresses, no
				  text): names of types, algorithms, limits */
	char message_id[256];  /* without <>, "" if none */
	char from[256];	       /* the From addr-spec, lower-cased; "" if
				  none, several or unparseable */
	char subject[512];     /* UTF-8; the protected (signed inner) Subject
				  if present, else the outer one */
	char in_reply_to[256]; /* the first msg-id, without <> */
	int64_t ref;	       /* KIP-<n> in the subject (inner, else outer;
				  any case), else 0 */
	bool encrypted;	       /* arrived encrypted and was decrypted */
	char *text;	       /* the signed text/plain (UTF-8, LF), malloc'd;
				  NULL unless inmail_has_text(reason) */
	int goal, action;      /* "Mål: N" / "Goal: N", "Indsats: N" /
				  "Action: N" (see inmail_parse_numbers()) */
	/* The signer, set when the signature and the signer's chain verified:
	 * always when OK, and also when the verdict is signer-not-sender or
	 * a fault of the signed content (too-large, wrong-content-type,
	 * malformed). Trust them only when reason == INMAIL_OK. */
	char *signer_pem;	/* malloc'd */
	char signer_fpr[65];	/* SHA-256 of the certificate's DER, hex */
	char signer_email[256]; /* its first address */
	time_t signer_not_after;
	int caps_gcm;	/* SMIMECapabilities announce AES-256-GCM: 1,
			   0 not, -1 unknown */
	char *calendar; /* the first text/calendar part with
			   method=REPLY (Content-Type parameter or a
			   METHOD:REPLY line), UTF-8, malloc'd: from
			   the signed content when there is one, else
			   from the outer message, signed or not;
			   NULL if none */
};

/*
 * Parses RAW (LEN bytes, CRLF or LF) into OUT (overwritten; free with
 * inmail_free()). Always fills what it can (message_id, from, subject,
 * in_reply_to, ref, calendar) even when rejecting. Returns 0 when a
 * verdict was reached (out->reason), -EINVAL for NULL arguments, -ENOMEM
 * only on allocation failure (OUT then holds nothing to free; inside GMime
 * GLib aborts instead). Thread-safe initialisation; call from one thread
 * at a time.
 */
int inmail_parse(const char *raw, size_t len, const struct inmail_keys *keys,
		 struct inmail *out);
void inmail_free(struct inmail *m);

/*
 * Finds "Mål: N" (or "Goal: N") and "Indsats: N" (or "Action: N") in
 * TEXT: case-insensitive keys at the start of a line or of a segment of
 * a line split at '/', ';' or ',' ("Mål: 2 / Indsats: 1"), optional
 * spaces before and after the colon, N 1..99 followed by nothing but
 * spaces. Quoted lines (starting with '>') are skipped. The first
 * occurrence of each key counts: N, or -1 when its value is not such a
 * number; 0 when absent.
 */
void inmail_parse_numbers(const char *text, int *retgoal, int *retaction);

/* The first KIP-<n> (any case, n 1..10^15, not inside a longer word or
 * number) in S, or 0. */
int64_t inmail_parse_ref(const char *s);

/* Whether S is a msg-id or addr-spec as kip takes them: printable ASCII
 * without spaces, 1 to CAP-1 bytes. */
bool inmail_plain_ascii(const char *s, size_t cap);

/* UTF-8 text S into DST (CAP bytes): invalid sequences replaced, control
 * characters made spaces, cut at a character boundary. */
void inmail_copy_text(char *dst, size_t cap, const char *s);

/* How many headers called NAME (any case) GMime object O has. */
typedef struct _GMimeObject GMimeObject;
int inmail_count_headers(GMimeObject *o, const char *name);

/* Initialises GMime once (inmail_parse() and ireport_parse() call it;
 * thread-safe). */
void inmail_init(void);

/* Releases GMime's global state (for leak checkers at exit). No
 * inmail_parse() after it. */
void inmail_shutdown(void);

#endif
