/* directory.h — S/MIME certificates found in LDAP directories
 * (directory.servers in kipd.conf; docs/OPERATIONS.md, "Certificate
 * directories").
 *
 * A directory is searched by e-mail address, (mail=ADDRESS), for
 * userSMIMECertificate and userCertificate;binary. Each certificate found
 * gets the check an imported one gets (cert_check_trusted(): chain, CRL,
 * validity, emailProtection, the address); of those that pass, the one
 * that lasts longest is chosen and stored for the contacts with that
 * address, with where and when it came from, and audited.
 *
 * Where the lookups run: on the loop thread, inside the unit of work that
 * asks for them (a contact added or changed, a distribution, cert lookup,
 * the retry timer). libldap's calls are synchronous; each directory's
 * search (connect, TLS, bind, search) runs in a short-lived child process
 * that the loop waits for at most directory.timeout_ms and then kills, so
 * the bound holds whatever libldap, GnuTLS or the resolver do. A
 * directory that fails or misses it is marked down
 * for directory.retry_s: lookups in that time skip it at once, so that one
 * distribution waits at most one timeout per directory, however many
 * members it has. A lookup that could not be answered is kept in the store
 * (directory_lookups) and tried again by a timer with a back-off that
 * doubles per try, across restarts. A worker thread would free the loop
 * during the wait, but the contacts it updates are the loop's (the store's
 * one writing connection), and a distribution must not wait for it
 * either: the bounded wait on the loop is the simpler of the two.
 */
#ifndef KIP_DIRECTORY_H
#define KIP_DIRECTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct caller;
struct kip_directory;
struct kipd;

/* The most certificates taken from one lookup (all directories). */
#define DIRECTORY_MAX_CANDIDATES 16
/* The largest attribute value read as a certificate. */
#define DIRECTORY_MAX_VALUE (64 * 1024)

/* ---------------------------------------------------- pure helpers -- */

/* "(mail=EMAIL)" with EMAIL escaped per RFC 4515 ('*', '(', ')', '\\',
 * NUL and bytes >= 0x80 as \XX). 0, or -ENOSPC when out is too small. */
int directory_filter(const char *email, char *out, size_t len);

/*
 * The certificates in one attribute value as PEM strings appended to PEMS
 * (a JSON array): a DER X.509 certificate (userCertificate), or a DER
 * PKCS#7 SignedData carrying certificates (userSMIMECertificate, as
 * Exchange publishes it). Stops at DIRECTORY_MAX_CANDIDATES entries in
 * PEMS. Returns how many were added, or -EINVAL when the value is
 * neither (nothing added), -ENOMEM.
 */
int directory_value_certs(const unsigned char *der, size_t len, json_t *pems);

/* One certificate found, after the check. */
struct directory_candidate {
	const char *not_after; /* "YYYY-MM-DDTHH:MM:SSZ"; NULL if unreadable */
	int ok;		       /* passed cert_check_trusted() */
};

/* The index of the candidate to take: of those that passed, the one whose
 * not_after is latest (the first of equals); -1 when none passed. */
int directory_choose(const struct directory_candidate *c, size_t n);

/* -------------------------------------------------------- searching -- */

/*
 * Reads the reply of the process that searched (the records described in
 * directory.c), taking the certificates in its values into PEMS as
 * directory_value_certs() does. Returns the number of values that held no
 * certificate, or the search's negative errno with its message in err, or
 * -EPROTO for a reply that is cut or malformed; after an error PEMS holds
 * nothing more than before.
 */
int directory_reply_parse(const unsigned char *buf, size_t len, json_t *pems,
			  char *err, size_t errlen);

/*
 * Searches directory D for EMAIL within TIMEOUT_MS (all steps together),
 * appending the certificates found (PEM) to PEMS. Returns how many
 * values were unreadable (0 or more), or a negative errno with err:
 * -ETIMEDOUT (no answer in time), -EHOSTDOWN (cannot connect, TLS failed),
 * -EACCES (bind refused), -EIO (any other LDAP error).
 */
int directory_search(const struct kip_directory *d, int timeout_ms,
		     const char *email, json_t *pems, char *err, size_t errlen);

/* "kipd --helper ldap PARENT": the search of the job on standard input
 * (child.h). The process's exit status. */
int directory_helper(const char *parent);

/* ----------------------------------------------------------- kipd --- */

/*
 * Looks EMAIL up in every configured directory and checks what is found.
 * *report (may be NULL) gets {"email", "directories": [{"uri", "state":
 * "answered"|"failed"|"skipped", "found", "error"}], "candidates":
 * [{"directory", "fingerprint", "not_after", "chosen", "reason"}],
 * "chosen": fingerprint or null}. When a certificate is chosen, it is
 * stored for the contacts with that address whose KINDS allow it
 * (ALL_KINDS: every contact; else professionals only) and that have no
 * certificate, one that is not usable, or one that ends earlier, each
 * audited as
 * "cert.directory" by WHO. The outcome is kept for the retry timer.
 * Returns 1 when a certificate was chosen, 0 when every directory
 * answered without one, -EAGAIN when a directory could not answer and
 * none was chosen, or another negative errno (the store).
 */
int directory_lookup(struct kipd *k, const struct caller *who,
		     const char *email, int all_kinds, json_t **report);

/* The lookup for contact ID if it has an address and no certificate; the
 * outcome as directory_lookup(), 0 when nothing was to be looked up. */
int directory_lookup_contact(struct kipd *k, const struct caller *who,
			     int64_t id);

/* Before plan PLAN is distributed: the lookup for every member (or with
 * ONLY, not 0, for that member alone; none for -1) without a usable certificate
 * (none, or one that fails cert_check_trusted() now) or with one expiring
 * within directory.refresh_days. A directory that fails delays nothing further
 * (see above). 0 or -errno (the store only). */
int directory_refresh_plan(struct kipd *k, const struct caller *who,
			   int64_t plan, int64_t only);

/* Starts (again, after a reload) and stops the retry timer. */
void directory_kick(struct kipd *k);
void directory_close(struct kipd *k);

#endif
