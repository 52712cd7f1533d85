/* pdfpass.h — the encrypted PDF for a recipient without a certificate
 * (a contact or citizen with delivery 'pdf'), and its passphrase.
 *
 * The passphrase is PDFPASS_WORDS words from a list of PDFPASS_LIST
 * (pdfpass_words.c), drawn with OpenSSL's RAND_bytes without bias, joined
 * by '-': 8 x log2(1024) = 80 bits. One per recipient and version. It is
 * kept in the store (pdf_passphrases) only until the coordinator records
 * the hand-over or plans.pdf_passphrase_days have passed, and never goes
 * to a log, an event, the audit trail or mail in clear: the coordinator
 * sees it in the reply to the approval and in an encrypted notice.
 */
#ifndef KIP_PDFPASS_H
#define KIP_PDFPASS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PDFPASS_LIST 1024 /* words in the list: 2^10 */
#define PDFPASS_WORDS 8	  /* words in a passphrase */
#define PDFPASS_MAX (PDFPASS_WORDS * 8 + 1)

struct buf;
struct kipd;

/* SQL: the passphrase of the encrypted PDF sent as outbox row "o" is no
 * longer kept (handed over, or deleted after plans.pdf_passphrase_days). */
#define PDFPASS_GONE_SQL                                                       \
	"NOT EXISTS (SELECT 1 FROM pdf_passphrases pp"                         \
	" WHERE pp.plan_id = o.plan_id AND pp.version = o.version"             \
	" AND pp.contact_id = coalesce(o.contact_id, 0))"

extern const char *const pdfpass_words[PDFPASS_LIST];

/* The entropy of a passphrase in bits: PDFPASS_WORDS x log2(list). */
double pdfpass_bits(void);
/* A new passphrase into out (at least PDFPASS_MAX bytes). 0 or -EIO. */
int pdfpass_generate(char *out, size_t len);

/* PDF (the plan) encrypted with AES-256 (PDF 2.0, R6) under PASSPHRASE as
 * the user password (and a random owner password) into out. 0, or -EIO
 * with err. */
int pdfpass_encrypt(const struct buf *pdf, const char *passphrase,
		    struct buf *out, char *err, size_t errlen);

/* Stores the passphrase of a recipient (contact 0: the citizen) for a
 * version, replacing one stored before; it expires after
 * plans.pdf_passphrase_days. 0 or -errno. */
int pdfpass_store(struct kipd *k, int64_t citizen, int64_t plan,
		  int64_t version, int64_t contact, const char *passphrase);
/* Deletes it: the coordinator handed it over. 0 or -errno. */
int pdfpass_forget(struct kipd *k, int64_t plan, int64_t version,
		   int64_t contact);
/* Deletes those expired at NOW; returns how many or -errno. */
int pdfpass_expire(struct kipd *k, time_t now);

#endif
