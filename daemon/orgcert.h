/* orgcert.h — organisation certificates: a certificate an administrator
 * registered for a mail domain (kipctl cert domain add, cmd_orgcert.c),
 * as the sending and the receiving side use it.
 *
 * Out: mail to a professional with a work mailbox at exactly the domain
 * (orgdomain.h), who has no usable personal certificate, is encrypted to
 * the domain's certificate, for the organisation's gateway, which
 * decrypts it and delivers it inside. A personal certificate always wins;
 * private mailboxes (relatives, citizens, --mailbox private) never get
 * one: a relative at a mail provider is not behind a gateway.
 *
 * In: a signature by the domain's certificate counts as the signature of
 * the member whose address is the From, at that domain, only when the
 * administrator said so for it (--accept-signatures).
 */
#ifndef KIP_ORGCERT_H
#define KIP_ORGCERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct kipd;

/* Whether a recipient of KIND with a private mailbox (PRIVATE) may be
 * reached through an organisation certificate: professionals with a work
 * mailbox only. */
bool orgcert_applies(const char *kind, bool private);

/*
 * The organisation certificate for mail to EMAIL at NOW: the one
 * registered for EMAIL's domain, checked as a recipient's is when mail is
 * sent (smime_check_recipient() with the domain: chain, CRL, validity,
 * emailProtection, for that domain). 0 with *ret (a row with "domain" and
 * "cert_pem"; the caller decrefs); -ENOENT when none is registered (or
 * kipd has no CA bundle); -EKEYREJECTED when it cannot be used, with the
 * reason in reason; other -errno from the store.
 */
int orgcert_for(struct kipd *k, const char *email, time_t now, json_t **ret,
		char *reason, size_t len);

/*
 * Whether a signature by the certificate with SHA-256 fingerprint FPR
 * (hex, any case, ':' between pairs or not), which is for FROM's domain,
 * counts as FROM's: it is the certificate registered for that domain,
 * with accept_signatures. 1 yes; 0 no, it is not the registered one (a
 * colleague's, say: the signer is not the sender); -EPERM no, it is the
 * registered one but not accepted for signatures; other -errno. WHY says
 * why not (no addresses in it).
 */
int orgcert_accepts_signer(struct kipd *k, const char *from, const char *fpr,
			   char *why, size_t len);

#endif
