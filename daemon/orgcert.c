/* orgcert.c — see orgcert.h. */
#include "orgcert.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kipd.h"
#include "orgdomain.h"
#include "rowval.h"
#include "smime.h"
#include "store.h"

bool orgcert_applies(const char *kind, bool private)
{
	return kind && strcmp(kind, "professional") == 0 && !private;
}

int orgcert_for(struct kipd *k, const char *email, time_t now, json_t **ret,
		char *reason, size_t len)
{
	const char *domain = orgdomain_of(email);
	json_t *row;
	int r;

	if (!domain || !k->trust)
		return -ENOENT;
	r = store_row(k->store, &row,
		      "SELECT domain, cert_pem FROM domain_certs"
		      " WHERE domain = lower(?)",
		      "s", domain);
	if (r < 0)
		return r;
	r = smime_check_recipient(k->trust, row_str(row, "cert_pem"),
				  row_str(row, "domain"), now, reason, len);
	if (r < 0) {
		json_decref(row);
		return r == -EINVAL ? -EKEYREJECTED : r;
	}
	*ret = row;
	return 0;
}

/* FPR as lower-case hex without ':' into OUT (at most CAP - 1 digits). */
static void fpr_plain(const char *fpr, char *out, size_t cap)
{
	size_t o = 0;

	for (; fpr && *fpr && o + 1 < cap; fpr++)
		if (*fpr != ':')
			out[o++] = (char)tolower((unsigned char)*fpr);
	out[o] = '\0';
}

int orgcert_accepts_signer(struct kipd *k, const char *from, const char *fpr,
			   char *why, size_t len)
{
	const char *domain = orgdomain_of(from);
	char have[100], want[100];
	json_t *row;
	int r;

	snprintf(why, len,
		 "the signer's certificate is for the sender's domain, not "
		 "for the sender, and is not the organisation certificate "
		 "registered for the domain");
	if (!domain)
		return 0;
	r = store_row(k->store, &row,
		      "SELECT fingerprint, accept_signatures FROM domain_certs"
		      " WHERE domain = lower(?)",
		      "s", domain);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	fpr_plain(row_str(row, "fingerprint"), want, sizeof(want));
	fpr_plain(fpr, have, sizeof(have));
	if (strcmp(have, want) != 0) {
		r = 0;
	} else if (!row_num(row, "accept_signatures")) {
		snprintf(why, len,
			 "signed by the organisation certificate of the "
			 "sender's domain, which is not accepted for "
			 "signatures (kipctl cert domain add "
			 "--accept-signatures)");
		r = -EPERM;
	} else {
		r = 1;
	}
	json_decref(row);
	return r;
}
