/* pdfpass.c — see pdfpass.h. */
#include "pdfpass.h"

#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <qpdf/qpdf-c.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "kipd.h"
#include "store.h"

double pdfpass_bits(void)
{
	return PDFPASS_WORDS * log2((double)PDFPASS_LIST);
}

int pdfpass_generate(char *out, size_t len)
{
	unsigned char rnd[PDFPASS_WORDS * 2];
	size_t n = 0;

	if (len < PDFPASS_MAX || RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	for (int i = 0; i < PDFPASS_WORDS; i++) {
		/* 16 random bits, the low 10 kept: 2^16 is a multiple of
		 * the list's 2^10, so every word is equally likely. */
		unsigned v =
		    ((unsigned)rnd[2 * i] << 8 | rnd[2 * i + 1]) % PDFPASS_LIST;
		int w = snprintf(out + n, len - n, "%s%s", i ? "-" : "",
				 pdfpass_words[v]);

		if (w < 0 || (size_t)w >= len - n)
			return -EIO;
		n += (size_t)w;
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

/* qpdf's error, if any, into err. */
static int qpdf_fail(qpdf_data q, const char *what, char *err, size_t errlen)
{
	qpdf_error e = qpdf_has_error(q) ? qpdf_get_error(q) : NULL;

	snprintf(err, errlen, "%s: %s", what,
		 e ? qpdf_get_error_full_text(q, e) : "failed");
	return -EIO;
}

int pdfpass_encrypt(const struct buf *pdf, const char *passphrase,
		    struct buf *out, char *err, size_t errlen)
{
	unsigned char rnd[32];
	char owner[sizeof(rnd) * 2 + 1];
	qpdf_data q;
	int r = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(err, errlen, "no random bytes");
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(owner + 2 * i, 3, "%02x", rnd[i]);
	q = qpdf_init();
	if (!q) {
		snprintf(err, errlen, "qpdf: out of memory");
		return -ENOMEM;
	}
	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);
	if (qpdf_read_memory(q, "plan", pdf->data, pdf->len, NULL) &
	    QPDF_ERRORS)
		r = qpdf_fail(q, "reading the PDF", err, errlen);
	if (!r && qpdf_init_write_memory(q) & QPDF_ERRORS)
		r = qpdf_fail(q, "writing", err, errlen);
	if (!r) {
		/* Reading and printing only; the metadata too. */
		qpdf_set_r6_encryption_parameters2(
		    q, passphrase, owner, QPDF_TRUE, QPDF_TRUE, QPDF_FALSE,
		    QPDF_FALSE, QPDF_FALSE, QPDF_FALSE, qpdf_r3p_full,
		    QPDF_TRUE);
		if (qpdf_write(q) & QPDF_ERRORS)
			r = qpdf_fail(q, "encrypting", err, errlen);
	}
	if (!r && buf_append(out, qpdf_get_buffer(q),
			     qpdf_get_buffer_length(q)) < 0) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	qpdf_cleanup(&q);
	OPENSSL_cleanse(owner, sizeof(owner));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return r;
}

int pdfpass_store(struct kipd *k, int64_t citizen, int64_t plan,
		  int64_t version, int64_t contact, const char *passphrase)
{
	int64_t now = (int64_t)clock_now();
	int r = store_exec(
	    k->store,
	    "INSERT OR REPLACE INTO pdf_passphrases (plan_id, version,"
	    " contact_id, citizen_id, passphrase, created_at, expires_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)",
	    "iiiisii", plan, version, contact, citizen, passphrase, now,
	    now + (int64_t)k->cfg->pdf_passphrase_days * 86400);

	return r < 0 ? r : 0;
}

int pdfpass_forget(struct kipd *k, int64_t plan, int64_t version,
		   int64_t contact)
{
	int r = store_exec(k->store,
			   "DELETE FROM pdf_passphrases WHERE plan_id = ?"
			   " AND version = ? AND contact_id = ?",
			   "iii", plan, version, contact);

	return r < 0 ? r : 0;
}

int pdfpass_expire(struct kipd *k, time_t now)
{
	return store_exec(k->store,
			  "DELETE FROM pdf_passphrases WHERE expires_at <= ?",
			  "i", (int64_t)now);
}
