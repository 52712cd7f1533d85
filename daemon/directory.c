/* directory.c — see directory.h. */
#include "directory.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ldap.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "audit.h"
#include "buf.h"
#include "fdio.h"
#include "caller.h"
#include "cert.h"
#include "child.h"
#include "clock.h"
#include "kipd.h"
#include "log.h"
#include "rowval.h"
#include "txn.h"

/* The longest wait between retries of a lookup. */
#define RETRY_MAX_S 86400
/* Lookups the retry timer takes in one go. */
#define RETRY_BATCH 20

/* ---------------------------------------------------- pure helpers -- */

int directory_filter(const char *email, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int n = snprintf(out, len, "(mail=");

	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	o = (size_t)n;
	for (const unsigned char *p = (const unsigned char *)email; *p; p++) {
		bool esc = *p == '*' || *p == '(' || *p == ')' || *p == '\\' ||
			   *p >= 0x80;

		if (o + (esc ? 3 : 1) + 2 > len)
			return -ENOSPC;
		if (esc) {
			out[o++] = '\\';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o++] = ')';
	out[o] = '\0';
	return 0;
}

/* Appends X as PEM to PEMS unless it is full. 1 added, 0 full, -ENOMEM. */
static int add_pem(X509 *x, json_t *pems)
{
	BIO *bio;
	BUF_MEM *mem = NULL;
	int r = -ENOMEM;

	if (json_array_size(pems) >= DIRECTORY_MAX_CANDIDATES)
		return 0;
	bio = BIO_new(BIO_s_mem());
	if (bio && PEM_write_bio_X509(bio, x) == 1 &&
	    BIO_get_mem_ptr(bio, &mem) == 1 && mem &&
	    json_array_append_new(pems, json_stringn(mem->data, mem->length)) ==
		0)
		r = 1;
	BIO_free(bio);
	return r;
}

int directory_value_certs(const unsigned char *der, size_t len, json_t *pems)
{
	const unsigned char *p = der;
	STACK_OF(X509) *certs = NULL;
	PKCS7 *p7;
	X509 *x;
	int r, n = 0;

	if (!der || len == 0 || len > DIRECTORY_MAX_VALUE)
		return -EINVAL;
	x = d2i_X509(NULL, &p, (long)len);
	if (x && p == der + len) {
		r = add_pem(x, pems);
		X509_free(x);
		return r;
	}
	X509_free(x);
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7 && p == der + len && PKCS7_type_is_signed(p7) && p7->d.sign)
		certs = p7->d.sign->cert;
	if (!certs || sk_X509_num(certs) == 0) {
		PKCS7_free(p7);
		return -EINVAL;
	}
	for (int i = 0; i < sk_X509_num(certs); i++) {
		r = add_pem(sk_X509_value(certs, i), pems);
		if (r <= 0) {
			PKCS7_free(p7);
			return r < 0 ? r : n;
		}
		n++;
	}
	PKCS7_free(p7);
	return n;
}

int directory_choose(const struct directory_candidate *c, size_t n)
{
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if (c[i].ok && c[i].not_after &&
		    (best < 0 || strcmp(c[i].not_after, c[best].not_after) > 0))
			best = (int)i;
	return best;
}

/* -------------------------------------------------------- searching -- */

/* Milliseconds left until DEADLINE as a timeval, at least 1 ms. */
static struct timeval left(uint64_t deadline)
{
	uint64_t now = loop_now_ms();
	uint64_t ms = deadline > now ? deadline - now : 1;

	return (struct timeval){(time_t)(ms / 1000),
				(suseconds_t)(ms % 1000) * 1000};
}

static int ldap_fail(int rc, const char *step, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", step, ldap_err2string(rc));
	switch (rc) {
	case LDAP_TIMEOUT:
		return -ETIMEDOUT;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
		return -EHOSTDOWN;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* The handle for D with its TLS settings and deadlines. */
static int open_ldap(const struct kip_directory *d, uint64_t deadline,
		     LDAP **ret, char *err, size_t errlen)
{
	int v3 = LDAP_VERSION3, hard = LDAP_OPT_X_TLS_HARD;
	int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, zero = 0;
	struct timeval tv = left(deadline);
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, d->uri);

	if (rc != LDAP_SUCCESS)
		return ldap_fail(rc, "bad uri", err, errlen);
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &hard) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, d->ca_file) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero)) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		snprintf(err, errlen, "cannot set up TLS with %s", d->ca_file);
		return -EIO;
	}
	*ret = ld;
	return 0;
}

/* ----------------------------------------------- the search helper -- */

/*
 * The search runs in a helper process (child.h) that writes what it
 * found to a pipe, and kipd waits for it at most until the deadline, then
 * kills it. libldap's own timeouts do not bound everything: with a network
 * timeout set, its TLS handshake over GnuTLS can spin without end on a
 * server that accepts and never answers. A helper that is killed bounds
 * every step, the resolver's included.
 *
 * The helper's reply, records one after another:
 *   'V' LEN(4, big-endian) BYTES   one attribute value (a certificate or
 *                                   a PKCS#7 carrying some)
 *   'B'                             a value too large, left out
 *   'K'                             the search is complete (last)
 *   'E' ERRNO(4) LEN(2) TEXT        it failed (last)
 */

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int send_error(int fd, int r, const char *text)
{
	unsigned char h[7];
	size_t n = strlen(text) > 1000 ? 1000 : strlen(text);

	h[0] = 'E';
	put_u32(h + 1, (uint32_t)-r);
	h[5] = (unsigned char)(n >> 8);
	h[6] = (unsigned char)n;
	return fd_write_all(fd, h, sizeof(h)) ?: fd_write_all(fd, text, n);
}

/* Every value of every certificate attribute of entry E, to FD. */
static int send_entry(LDAP *ld, LDAPMessage *e, int fd, int *nvalues)
{
	BerElement *ber = NULL;
	int r = 0;

	for (char *a = ldap_first_attribute(ld, e, &ber); a && r == 0;
	     a = ldap_next_attribute(ld, e, ber)) {
		size_t base = strcspn(a, ";");
		struct berval **vals = NULL;

		if ((base == 20 &&
		     strncasecmp(a, "userSMIMECertificate", 20) == 0) ||
		    (base == 15 && strncasecmp(a, "userCertificate", 15) == 0))
			vals = ldap_get_values_len(ld, e, a);
		for (size_t i = 0; vals && vals[i] && r == 0; i++) {
			unsigned char h[5] = {'B'};

			if (++*nvalues > DIRECTORY_MAX_CANDIDATES)
				break;
			if (vals[i]->bv_len > DIRECTORY_MAX_VALUE) {
				r = fd_write_all(fd, h, 1);
				continue;
			}
			h[0] = 'V';
			put_u32(h + 1, (uint32_t)vals[i]->bv_len);
			r = fd_write_all(fd, h, 5)
				?: fd_write_all(fd, vals[i]->bv_val,
						vals[i]->bv_len);
		}
		ldap_value_free_len(vals);
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	return r;
}

/* The helper's work: connect, TLS, bind, search; the reply to FD. */
static void child_search(const struct kip_directory *d, uint64_t deadline,
			 const char *filter, int fd)
{
	static char a1[] = "userSMIMECertificate",
		    a2[] = "userSMIMECertificate;binary",
		    a3[] = "userCertificate;binary";
	char *attrs[] = {a1, a2, a3, NULL};
	LDAPMessage *res = NULL;
	struct timeval tv;
	char err[256];
	LDAP *ld = NULL;
	int rc, r, nvalues = 0;

	r = open_ldap(d, deadline, &ld, err, sizeof(err));
	if (r < 0) {
		send_error(fd, r, err);
		return;
	}
	if (d->starttls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			r = ldap_fail(rc, "StartTLS", err, sizeof(err));
			/* A server that refuses StartTLS is down for us. */
			r = r == -EIO ? -EHOSTDOWN : r;
			goto out;
		}
	}
	tv = left(deadline);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	if (d->bind_dn) {
		struct berval cred = {strlen(d->password), d->password};

		rc = ldap_sasl_bind_s(ld, d->bind_dn, LDAP_SASL_SIMPLE, &cred,
				      NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			r = ldap_fail(rc, "bind", err, sizeof(err));
			goto out;
		}
		tv = left(deadline);
		ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	}
	rc =
	    ldap_search_ext_s(ld, d->base, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
			      NULL, NULL, &tv, DIRECTORY_MAX_CANDIDATES, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		r = ldap_fail(rc, "search", err, sizeof(err));
		goto out;
	}
	for (LDAPMessage *e = ldap_first_entry(ld, res); e && r == 0;
	     e = ldap_next_entry(ld, e))
		r = send_entry(ld, e, fd, &nvalues);
	if (r == 0)
		r = fd_write_all(fd, "K", 1);
	r = 0;
out:
	if (r < 0)
		send_error(fd, r, err);
	ldap_msgfree(res);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

/* The parser proper; directory_reply_parse() drops what it took from a
 * reply that fails. */
static int reply_parse(const unsigned char *buf, size_t len, json_t *pems,
		       char *err, size_t errlen)
{
	size_t o = 0;
	int bad = 0;

	while (o < len) {
		unsigned char t = buf[o++];
		uint32_t n;
		int r;

		switch (t) {
		case 'K':
			if (o != len)
				break;
			return bad;
		case 'B':
			bad++;
			continue;
		case 'V':
			if (len - o < 4)
				break;
			n = get_u32(buf + o);
			o += 4;
			if (n > len - o)
				break;
			r = directory_value_certs(buf + o, n, pems);
			if (r == -ENOMEM)
				return r;
			bad += r < 0;
			o += n;
			continue;
		case 'E':
			if (len - o < 6)
				break;
			n = get_u32(buf + o);
			if (n == 0 || n > 4095 ||
			    (size_t)(buf[o + 4] << 8 | buf[o + 5]) !=
				len - o - 6)
				break;
			/* Shown in the log and the report: printable. */
			snprintf(err, errlen, "%.*s", (int)(len - o - 6),
				 (const char *)buf + o + 6);
			for (char *c = err; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
			if (!err[0])
				snprintf(err, errlen, "the search failed");
			return -(int)n;
		default:
			break;
		}
		snprintf(err, errlen, "malformed reply from the search");
		return -EPROTO;
	}
	snprintf(err, errlen, "the search ended without a reply");
	return -EPROTO;
}

int directory_reply_parse(const unsigned char *buf, size_t len, json_t *pems,
			  char *err, size_t errlen)
{
	size_t before = json_array_size(pems);
	int r = reply_parse(buf, len, pems, err, errlen);

	while (r < 0 && json_array_size(pems) > before)
		json_array_remove(pems, json_array_size(pems) - 1);
	return r;
}

/* The job (child.h): the directory's settings (its bind password
 * included: the job is read from a file no other process can open), the
 * filter and the time left. */
static char *job_encode(const struct kip_directory *d, const char *filter,
			int timeout_ms)
{
	json_t *job =
	    json_pack("{s:s, s:b, s:s, s:s?, s:s?, s:s, s:s, s:i}", "uri",
		      d->uri, "starttls", d->starttls, "base", d->base,
		      "bind_dn", d->bind_dn, "password", d->password, "ca_file",
		      d->ca_file, "filter", filter, "timeout_ms", timeout_ms);
	char *text = job ? json_dumps(job, JSON_COMPACT) : NULL;

	json_decref(job);
	return text;
}

/* The helper's work (child_main): the search of the job, its reply to
 * FD. */
static int search_job(const char *text, size_t len, int fd)
{
	json_t *job = json_loadb(text, len, 0, NULL);
	const char *filter = json_string_value(json_object_get(job, "filter"));
	struct kip_directory d = {
	    .uri = (char *)json_string_value(json_object_get(job, "uri")),
	    .starttls = json_is_true(json_object_get(job, "starttls")),
	    .base = (char *)json_string_value(json_object_get(job, "base")),
	    .bind_dn =
		(char *)json_string_value(json_object_get(job, "bind_dn")),
	    .password =
		(char *)json_string_value(json_object_get(job, "password")),
	    .ca_file =
		(char *)json_string_value(json_object_get(job, "ca_file")),
	};
	uint64_t deadline =
	    loop_now_ms() +
	    (uint64_t)json_integer_value(json_object_get(job, "timeout_ms"));
	int r = 0;

	if (!d.uri || !d.base || !d.ca_file || !filter ||
	    (d.bind_dn && !d.password))
		r = send_error(fd, -EINVAL, "the search's job is unreadable");
	else
		child_search(&d, deadline, filter, fd);
	if (d.password)
		explicit_bzero(d.password, strlen(d.password));
	json_decref(job);
	return r;
}

int directory_helper(const char *parent)
{
	return child_main(parent, 1u << 20, search_job);
}

int directory_search(const struct kip_directory *d, int timeout_ms,
		     const char *email, json_t *pems, char *err, size_t errlen)
{
	char filter[1100], *job;
	struct buf reply = BUF_INIT;
	int r, status;

	if (directory_filter(email, filter, sizeof(filter)) < 0) {
		snprintf(err, errlen, "address too long for a search");
		return -EINVAL;
	}
	job = job_encode(d, filter, timeout_ms);
	if (!job) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = child_run("ldap", job, strlen(job), timeout_ms,
		      (size_t)(DIRECTORY_MAX_CANDIDATES + 1) *
			  (DIRECTORY_MAX_VALUE + 5),
		      &reply, &status, err, errlen);
	/* it holds the bind password */
	explicit_bzero(job, strlen(job));
	free(job);
	if (r == 0)
		r = directory_reply_parse((const unsigned char *)reply.data,
					  reply.len, pems, err, errlen);
	buf_free(&reply);
	return r;
}

/* ------------------------------------------- directories marked down -- */

/* A directory that failed is skipped until down_until (monotonic ms);
 * kept by URI, so that a reload keeps what is known. */
static struct {
	char uri[256];
	uint64_t down_until;
} down[16];

static uint64_t *down_slot(const char *uri)
{
	size_t free_slot = sizeof(down) / sizeof(down[0]);

	for (size_t i = 0; i < sizeof(down) / sizeof(down[0]); i++) {
		if (strcmp(down[i].uri, uri) == 0)
			return &down[i].down_until;
		if (!down[i].uri[0] &&
		    free_slot == sizeof(down) / sizeof(down[0]))
			free_slot = i;
	}
	if (free_slot == sizeof(down) / sizeof(down[0]))
		free_slot = 0;
	snprintf(down[free_slot].uri, sizeof(down[free_slot].uri), "%s", uri);
	down[free_slot].down_until = 0;
	return &down[free_slot].down_until;
}

/* ------------------------------------------------------------ lookup -- */

/* "directory:URI", the source stored with a certificate. */
static void source_of(const char *uri, char *out, size_t len)
{
	snprintf(out, len, "directory:%s", uri);
}

/* Asks every directory; fills DIRS (the report's list) and PEMS (with
 * the directory of each in FROM). Returns how many directories failed or
 * were skipped. */
static int ask_all(struct kipd *k, const char *email, json_t *dirs,
		   json_t *pems, json_t *from)
{
	const struct kip_config *cfg = k->cfg;
	int failed = 0;

	for (size_t i = 0; i < cfg->n_directories; i++) {
		const struct kip_directory *d = &cfg->directories[i];
		uint64_t *until = down_slot(d->uri), t0 = loop_now_ms();
		size_t before = json_array_size(pems);
		char err[256] = "";
		const char *state = "answered";
		int r;

		if (*until > t0) {
			state = "skipped";
			snprintf(err, sizeof(err),
				 "down, tried again in %" PRIu64 " s",
				 (*until - t0 + 999) / 1000);
			r = -EAGAIN;
		} else {
			r = directory_search(d, cfg->directory_timeout_ms,
					     email, pems, err, sizeof(err));
			if (r == -EINVAL) {
				/* The address, not the directory. */
				state = "failed";
			} else if (r < 0) {
				state = "failed";
				*until =
				    loop_now_ms() +
				    (uint64_t)cfg->directory_retry_s * 1000;
				log_warn("directory %s: %s (after %" PRIu64
					 " ms); skipped for %d s",
					 d->uri, err, loop_now_ms() - t0,
					 cfg->directory_retry_s);
			} else if (r > 0) {
				snprintf(err, sizeof(err),
					 "%d value(s) hold no certificate", r);
			}
		}
		failed += r < 0;
		for (size_t j = before; j < json_array_size(pems); j++)
			json_array_append_new(from, json_string(d->uri));
		json_array_append_new(
		    dirs,
		    json_pack("{s:s, s:s, s:I, s:s*}", "uri", d->uri, "state",
			      state, "found",
			      (json_int_t)(json_array_size(pems) - before),
			      "error", err[0] ? err : NULL));
	}
	return failed;
}

/* Checks every certificate in PEMS; the report's candidates into CANDS
 * (in the order of PEMS, duplicates left out). Returns the index in PEMS
 * of the one chosen, or -1. */
static int check_all(struct kipd *k, const char *email, json_t *pems,
		     json_t *from, json_t *cands, struct cert_info *chosen)
{
	struct directory_candidate dc[DIRECTORY_MAX_CANDIDATES] = {{0}};
	struct cert_info ci[DIRECTORY_MAX_CANDIDATES];
	char reasons[DIRECTORY_MAX_CANDIDATES][256];
	size_t n = json_array_size(pems), kept[DIRECTORY_MAX_CANDIDATES];
	size_t nk = 0;
	time_t now = clock_now();
	int best;

	for (size_t i = 0; i < n && i < DIRECTORY_MAX_CANDIDATES; i++) {
		const char *pem = json_string_value(json_array_get(pems, i));
		bool dup = false;

		memset(&ci[nk], 0, sizeof(ci[nk]));
		dc[nk].ok =
		    cert_check_trusted(k->trust, pem, email, now, &ci[nk],
				       reasons[nk], sizeof(reasons[nk])) == 0;
		if (!dc[nk].ok)
			cert_read_pem(pem, &ci[nk]);
		dc[nk].not_after =
		    ci[nk].not_after[0] ? ci[nk].not_after : NULL;
		for (size_t j = 0; j < nk && ci[nk].fingerprint[0]; j++)
			dup |=
			    strcmp(ci[j].fingerprint, ci[nk].fingerprint) == 0;
		if (!dup)
			kept[nk++] = i;
	}
	best = directory_choose(dc, nk);
	for (size_t j = 0; j < nk; j++) {
		char why[320];

		if ((int)j == best)
			snprintf(why, sizeof(why),
				 "valid; of the valid ones it lasts longest");
		else if (dc[j].ok)
			snprintf(why, sizeof(why),
				 "valid, but ends before the one chosen");
		else
			snprintf(why, sizeof(why), "refused: %s", reasons[j]);
		json_array_append_new(
		    cands, json_pack("{s:o, s:s, s:s*, s:b, s:s}", "directory",
				     json_incref(json_array_get(from, kept[j])),
				     "fingerprint", ci[j].fingerprint,
				     "not_after", dc[j].not_after, "chosen",
				     (int)j == best, "reason", why));
	}
	if (best < 0)
		return -1;
	*chosen = ci[best];
	return (int)kept[best];
}

/* Whether PEM is a certificate for EMAIL that passes the check now, and,
 * given HORIZON, does not end before it. */
static bool usable(struct kipd *k, const char *pem, const char *email,
		   const char *horizon)
{
	struct cert_info ci;
	char err[256];

	return pem && email &&
	       cert_check_trusted(k->trust, pem, email, clock_now(), &ci, err,
				  sizeof(err)) == 0 &&
	       (!horizon || strcmp(ci.not_after, horizon) > 0);
}

/* Stores the chosen certificate for the contacts with EMAIL that have
 * none, one that is not usable, or one that ends earlier; audits each. Returns
 * how many, with their ids in STORED, or -errno. */
static int store_found(struct kipd *k, const struct caller *who,
		       const char *email, int all_kinds, const char *pem,
		       const struct cert_info *ci, const char *uri,
		       json_t *stored)
{
	char source[300], now[32], object[64];
	json_t *rows, *row;
	size_t i;
	int r;

	r = store_rows(k->store, &rows,
		       "SELECT id, citizen_id, email, cert_pem,"
		       " cert_not_after < ? AS shorter FROM contacts"
		       " WHERE lower(email) = lower(?)"
		       " AND (? OR kind = 'professional') ORDER BY id",
		       "ssi", ci->not_after, email, (int64_t)all_kinds);
	if (r < 0)
		return r;
	source_of(uri, source, sizeof(source));
	store_now(now);
	json_array_foreach(rows, i, row)
	{
		int64_t id = row_num(row, "id");

		/* A stored certificate that is usable and lasts as long
		 * (the same one, say) stays. */
		if (usable(k, row_str(row, "cert_pem"), row_str(row, "email"),
			   NULL) &&
		    !row_num(row, "shorter"))
			continue;
		r = store_exec(k->store,
			       "UPDATE contacts SET cert_pem = ?,"
			       " cert_fingerprint = ?, cert_email = ?,"
			       " cert_not_after = ?, cert_source = ?,"
			       " cert_source_at = ?, updated_at = ?"
			       " WHERE id = ?",
			       "sssssssi", pem, ci->fingerprint, ci->email,
			       ci->not_after, source, now, now, id);
		snprintf(object, sizeof(object), "contact:%" PRId64, id);
		if (r >= 0)
			r = audit_write(k->store, who, "cert.directory", "ok",
					row_num(row, "citizen_id"), 0, object);
		if (r < 0)
			break;
		json_array_append_new(stored, json_integer(id));
		log_info("directory: certificate %s from %s stored for "
			 "contact %" PRId64,
			 ci->fingerprint, uri, id);
	}
	json_decref(rows);
	return r < 0 ? r : (int)json_array_size(stored);
}

/* Keeps the outcome for the retry timer: FAILED, the row is (re)set with
 * the next try after the back-off; else it goes. */
static int keep_outcome(struct kipd *k, const char *email, bool failed,
			const char *why)
{
	int64_t tries = 0, wait;
	time_t now = clock_now();
	int r;

	if (!failed)
		return store_exec(k->store,
				  "DELETE FROM directory_lookups"
				  " WHERE email = ?",
				  "s", email);
	r = store_int(k->store, &tries,
		      "SELECT tries FROM directory_lookups WHERE email = ?",
		      "s", email);
	if (r < 0 && r != -ENOENT)
		return r;
	wait = k->cfg->directory_retry_s;
	for (int64_t i = 0; i < tries && wait < RETRY_MAX_S; i++)
		wait *= 2;
	wait = wait > RETRY_MAX_S ? RETRY_MAX_S : wait;
	return store_exec(k->store,
			  "INSERT INTO directory_lookups (email, tries,"
			  " next_at, last_error, updated_at)"
			  " VALUES (?, 1, ?, ?, ?) ON CONFLICT (email) DO"
			  " UPDATE SET tries = tries + 1,"
			  " next_at = excluded.next_at,"
			  " last_error = excluded.last_error,"
			  " updated_at = excluded.updated_at",
			  "sisi", email, (int64_t)now + wait, why,
			  (int64_t)now);
}

int directory_lookup(struct kipd *k, const struct caller *who,
		     const char *email, int all_kinds, json_t **report)
{
	json_t *dirs = json_array(), *pems = json_array(), *from = json_array();
	json_t *cands = json_array(), *stored = json_array(), *rep = NULL;
	struct cert_info ci;
	int failed, best, r = -ENOMEM;

	if (!dirs || !pems || !from || !cands || !stored)
		goto out;
	failed = ask_all(k, email, dirs, pems, from);
	best = check_all(k, email, pems, from, cands, &ci);
	r = 0;
	if (best >= 0)
		r = store_found(
		    k, who, email, all_kinds,
		    json_string_value(json_array_get(pems, (size_t)best)), &ci,
		    json_string_value(json_array_get(from, (size_t)best)),
		    stored);
	if (r >= 0)
		r = keep_outcome(k, email, best < 0 && failed > 0,
				 "a directory did not answer");
	if (r >= 0 && failed > 0 && best < 0)
		directory_kick(k);
	if (r >= 0)
		r = best >= 0 ? 1 : failed > 0 ? -EAGAIN : 0;
	if (report && (r >= 0 || r == -EAGAIN)) {
		rep = json_pack("{s:s, s:O, s:O, s:s*, s:O}", "email", email,
				"directories", dirs, "candidates", cands,
				"chosen", best >= 0 ? ci.fingerprint : NULL,
				"stored_for", stored);
		*report = rep;
	}
out:
	json_decref(dirs);
	json_decref(pems);
	json_decref(from);
	json_decref(cands);
	json_decref(stored);
	return r;
}

int directory_lookup_contact(struct kipd *k, const struct caller *who,
			     int64_t id)
{
	char *email = NULL;
	int r;

	if (!k->cfg->n_directories)
		return 0;
	r = store_text(k->store, &email,
		       "SELECT email FROM contacts WHERE id = ?"
		       " AND email IS NOT NULL AND cert_pem IS NULL",
		       "i", id);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = directory_lookup(k, who, email, 1, NULL);
	free(email);
	return r;
}

int directory_refresh_plan(struct kipd *k, const struct caller *who,
			   int64_t plan, int64_t only)
{
	char horizon[32];
	json_t *rows, *row;
	size_t i;
	int r;

	if (!k->cfg->n_directories)
		return 0;
	cert_iso_after(clock_now(), k->cfg->directory_refresh_days, horizon);
	r = store_rows(k->store, &rows,
		       "SELECT k.email, k.cert_pem"
		       " FROM plan_members m JOIN contacts k"
		       " ON k.id = m.contact_id WHERE m.plan_id = ?"
		       " AND k.email IS NOT NULL AND (? = 0 OR k.id = ?)"
		       " ORDER BY k.id",
		       "iii", plan, only, only);
	if (r < 0)
		return r;
	json_array_foreach(rows, i, row)
	{
		if (usable(k, row_str(row, "cert_pem"), row_str(row, "email"),
			   horizon))
			continue;
		r = directory_lookup(k, who, row_str(row, "email"), 1, NULL);
		if (r < 0 && r != -EAGAIN)
			break;
		r = 0;
	}
	json_decref(rows);
	return r;
}

/* ------------------------------------------------------ retry timer -- */

static int64_t retry_timer;

/* kipd's own work: audited as the daemon. */
static const struct caller daemon_caller = {.user = "kipd", .role = ROLE_ADMIN};

static void on_retry(struct loop *loop, void *arg)
{
	struct kipd *k = arg;
	json_t *rows = NULL, *row;
	struct txn t;
	size_t i;
	int r;

	(void)loop;
	retry_timer = 0;
	r = txn_begin(k, &t);
	if (r < 0)
		goto out;
	r = store_rows(k->store, &rows,
		       "SELECT email FROM directory_lookups WHERE next_at <= ?"
		       " ORDER BY next_at LIMIT ?",
		       "ii", (int64_t)clock_now(), (int64_t)RETRY_BATCH);
	json_array_foreach(rows, i, row)
	{
		if (r < 0)
			break;
		r = directory_lookup(k, &daemon_caller, row_str(row, "email"),
				     1, NULL);
		log_info("directory: retried a lookup: %s",
			 r > 0		? "certificate found"
			 : r == 0	? "no certificate"
			 : r == -EAGAIN ? "a directory still fails"
					: strerror(-r));
		r = r == -EAGAIN ? 0 : r;
	}
	json_decref(rows);
	if (r >= 0)
		r = txn_commit(&t);
	else
		txn_rollback(&t);
out:
	if (r < 0)
		log_err("directory: retries failed: %s", strerror(-r));
	directory_kick(k);
}

void directory_kick(struct kipd *k)
{
	int64_t next = 0;
	time_t now = clock_now();
	uint64_t delay;
	int r;

	if (retry_timer)
		loop_timer_cancel(k->loop, retry_timer);
	retry_timer = 0;
	if (!k->loop || !k->cfg->n_directories)
		return;
	r = store_int(k->store, &next,
		      "SELECT min(next_at) FROM directory_lookups", "");
	if (r < 0 || next <= 0)
		return; /* none pending (min() of no rows is NULL) */
	delay = next <= now ? 0 : (uint64_t)(next - now) * 1000;
	delay = delay > 3600000 ? 3600000 : delay;
	retry_timer =
	    loop_timer_at(k->loop, loop_now_ms() + delay, on_retry, k);
	if (retry_timer < 0)
		retry_timer = 0;
}

void directory_close(struct kipd *k)
{
	if (retry_timer)
		loop_timer_cancel(k->loop, retry_timer);
	retry_timer = 0;
}
