/* imap.c — the function mailbox over IMAP; see imap.h.
 *
 * libcurl connects, does TLS and logs in (CURLOPT_CONNECT_ONLY), with
 * the TLS settings of smtp.c. The commands after that are written and
 * their responses read here, over curl_easy_send()/curl_easy_recv().
 *
 * Each response is read whole (imapwire.h) before it is looked at. Its
 * literals are limited to the command's budget (max_message for the
 * message, IMAP_SMALL_LITERALS otherwise), checked before the bytes are
 * read; the receive buffer holds at most what one recv() gave.
 */
#include "imap.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "curltls.h"
#include "imapwire.h"

#define IMAP_SMALL_LITERALS (64u << 10) /* literal bytes, not a message */
#define IMAP_MAX_UIDS (1u << 21)	/* UIDs one search returns */
#define IMAP_RECV_CHUNK 16384
#define IMAP_MAX_MAILBOX 512
#define IMAP_MAX_KEYWORD 64

struct imap {
	CURL *curl;
	curl_socket_t sock;
	char *mailbox; /* as a quoted IMAP string */
	char *keyword;
	long timeout_s;
	size_t max_message;
	unsigned tag;
	bool selected;
	bool broken; /* out of step with the server: no further command */
	struct timespec deadline; /* of the operation under way */
	struct buf in;		  /* received, not yet parsed: from in_off */
	size_t in_off;
	struct imapwire_resp resp;
};

/* ---- errors ------------------------------------------------------------ */

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Marks the session unusable and sets the error. */
static int broken(struct imap *s, char *err, size_t errlen, int code,
		  const char *what)
{
	s->broken = true;
	return seterr(err, errlen, code, "imap: %s", what);
}

/* ---- libcurl ----------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int check_libcurl(char *err, size_t errlen)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	bool imaps = false;

	for (const char *const *p = v->protocols; p && *p; p++)
		if (strcmp(*p, "imaps") == 0)
			imaps = true;
	if (v->version_num < 0x074f00)
		return seterr(err, errlen, -ENOTSUP,
			      "imap: libcurl %s is older than 7.79 (STARTTLS "
			      "bypass, CVE-2021-22946/22947)",
			      v->version);
	if (!imaps || !(v->features & CURL_VERSION_SSL))
		return seterr(err, errlen, -ENOTSUP,
			      "imap: libcurl %s lacks IMAP over TLS",
			      v->version);
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return seterr(err, errlen, -EIO,
			      "imap: libcurl cannot be initialised");
	return 0;
}

/* The first line of libcurl's error detail, or its generic text. */
static const char *curl_detail(CURLcode rc, char *ebuf)
{
	ebuf[strcspn(ebuf, "\r\n")] = '\0';
	return ebuf[0] ? ebuf : curl_easy_strerror(rc);
}

static bool has(const char *s, const char *needle)
{
	return strcasestr(s, needle) != NULL;
}

/* Translates a failed connect-and-login. */
static int connect_error(CURLcode rc, char *ebuf, char *err, size_t errlen)
{
	const char *d = curl_detail(rc, ebuf);

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return seterr(err, errlen, -ECONNREFUSED,
			      "imap: cannot resolve the server's name (%s)", d);
	case CURLE_COULDNT_CONNECT:
		return seterr(err, errlen, -ECONNREFUSED,
			      "imap: no connection to the server (%s)", d);
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		/* After the TCP connect: a TLS alert, or the server hung up
		 * (with TLS 1.3 a refused client certificate can look like
		 * either, depending on timing). */
		if (has(d, "certificate required"))
			return seterr(err, errlen, -EPROTO,
				      "imap: the server demands a client "
				      "certificate (%s)",
				      d);
		if (has(d, "alert") || has(d, "SSL"))
			return seterr(err, errlen, -EPROTO,
				      "imap: the server ended the TLS session "
				      "(%s)",
				      d);
		return seterr(err, errlen, -ECONNREFUSED,
			      "imap: the server closed the connection before "
			      "the login was done (%s)",
			      d);
	case CURLE_OPERATION_TIMEDOUT:
		return seterr(err, errlen, -ETIMEDOUT,
			      "imap: the server did not answer in time (%s)",
			      d);
	case CURLE_USE_SSL_FAILED:
		return seterr(err, errlen, -EPROTO,
			      "imap: TLS required, but the server %s STARTTLS "
			      "(%s); nothing was sent",
			      has(d, "denied") ? "refused" : "does not offer",
			      d);
	case CURLE_PEER_FAILED_VERIFICATION:
		return seterr(err, errlen, -EPROTO,
			      "imap: the server's certificate is not trusted "
			      "or names another host (%s)",
			      d);
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
		return seterr(err, errlen, -EPROTO,
			      "imap: the CA file cannot be used (%s)", d);
	case CURLE_SSL_CERTPROBLEM:
		return seterr(err, errlen, -EPROTO,
			      "imap: the client certificate or key cannot be "
			      "used (%s)",
			      d);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		if (has(d, "protocol version") ||
		    has(d, "unsupported protocol") ||
		    has(d, "no protocols available") ||
		    has(d, "wrong version number"))
			return seterr(err, errlen, -EPROTO,
				      "imap: the server offers only TLS below "
				      "1.2 (%s)",
				      d);
		if (has(d, "certificate"))
			return seterr(err, errlen, -EPROTO,
				      "imap: the server's certificate is not "
				      "trusted (%s)",
				      d);
		return seterr(err, errlen, -EPROTO,
			      "imap: the TLS handshake failed (%s)", d);
	case CURLE_LOGIN_DENIED:
		return seterr(err, errlen, -EACCES,
			      "imap: the server refused the login");
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return seterr(err, errlen, -EINVAL, "imap: bad URL (%s)", d);
	default:
		return seterr(err, errlen, -EIO, "imap: %s", d);
	}
}

/* ---- configuration ----------------------------------------------------- */

/* An IMAP atom a keyword may be: ATOM-CHARs, not starting with '\'. */
static bool valid_keyword(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	if (n == 0 || n > IMAP_MAX_KEYWORD || k[0] == '\\')
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[i] <= 0x20 || k[i] >= 0x7f || strchr("(){%*\"\\]", k[i]))
			return false;
	return true;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The folder named by the URL's path as a quoted IMAP string, or INBOX.
 * The name is percent-decoded and must be printable ASCII (modified
 * UTF-7 for others, RFC 3501 5.1.3); IMAP URL parameters after ';' are
 * ignored. */
static int mailbox_of(const char *url, char **ret, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *path = NULL;
	const char *p;
	struct buf q = BUF_INIT;
	size_t len = 0;
	int r = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		r = seterr(err, errlen, -EINVAL,
			   "imap: the URL cannot be read");
		goto out;
	}
	path[strcspn(path, ";")] = '\0';
	p = path[0] == '/' ? path + 1 : path;
	if (*p == '\0') {
		r = buf_puts(&q, "\"INBOX\"");
		goto done;
	}
	r = buf_puts(&q, "\"");
	for (; *p && r == 0; p++, len++) {
		int ch = (unsigned char)*p;

		if (ch == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

			if (lo < 0) {
				r = seterr(err, errlen, -EINVAL,
					   "imap: bad %%-escape in the folder "
					   "name");
				goto out;
			}
			ch = hi * 16 + lo;
			p += 2;
		}
		if (ch < 0x20 || ch >= 0x7f || len >= IMAP_MAX_MAILBOX) {
			r = seterr(err, errlen, -EINVAL,
				   "imap: the folder name must be printable "
				   "ASCII (modified UTF-7), at most %d bytes",
				   IMAP_MAX_MAILBOX);
			goto out;
		}
		if (ch == '"' || ch == '\\')
			r = buf_puts(&q, "\\");
		if (r == 0)
			r = buf_append(&q, &(char){(char)ch}, 1);
	}
	if (r == 0)
		r = buf_puts(&q, "\"");
done:
	if (r == 0) {
		*ret = buf_steal(&q);
		if (!*ret)
			r = -ENOMEM;
	}
out:
	buf_free(&q);
	curl_free(path);
	curl_url_cleanup(u);
	return r;
}

static int check_conf(const struct imap_conf *c, char *err, size_t errlen)
{
	if (!c || !c->url ||
	    (strncasecmp(c->url, "imaps://", 8) != 0 &&
	     strncasecmp(c->url, "imap://", 7) != 0))
		return seterr(err, errlen, -EINVAL,
			      "imap: the URL must start with imaps:// or "
			      "imap://");
	if (!c->username || !c->password)
		return seterr(err, errlen, -EINVAL,
			      "imap: a user name and password are needed");
	if (!valid_keyword(c->done_keyword))
		return seterr(err, errlen, -EINVAL,
			      "imap: the done keyword must be an IMAP atom "
			      "not starting with '\\'");
	if (c->timeout_s <= 0 || c->timeout_s > 3600 || c->max_message == 0 ||
	    c->max_message > (size_t)1 << 31)
		return seterr(err, errlen, -EINVAL,
			      "imap: timeout (1-3600 s) or maximum message "
			      "size (1 byte - 2 GiB) out of range");
	if (!c->client_cert != !c->client_key)
		return seterr(err, errlen, -EINVAL,
			      "imap: a client certificate needs its key");
	return 0;
}

/* ---- time -------------------------------------------------------------- */

static void deadline_in(struct timespec *ret, long seconds)
{
	clock_gettime(CLOCK_MONOTONIC, ret);
	ret->tv_sec += seconds;
}

/* Milliseconds to wait for the next bytes: the per-response timeout,
 * cut to what is left of the operation's deadline; 0 when it passed. */
static int wait_ms(const struct imap *s)
{
	struct timespec now;
	long long left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (long long)(s->deadline.tv_sec - now.tv_sec) * 1000 +
	       (s->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (left <= 0)
		return 0;
	if (left > s->timeout_s * 1000)
		left = s->timeout_s * 1000;
	return (int)left;
}

/* Waits until the socket is ready for EVENTS. 0, -ETIMEDOUT or -EIO. */
static int wait_sock(struct imap *s, short events, char *err, size_t errlen)
{
	struct pollfd p = {.fd = s->sock, .events = events};
	int ms = wait_ms(s), n;

	if (ms <= 0)
		return broken(s, err, errlen, -ETIMEDOUT,
			      "the server did not answer in time");
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return broken(s, err, errlen, -ETIMEDOUT,
			      "the server did not answer in time");
	if (n < 0)
		return broken(s, err, errlen, -EIO, "poll failed");
	return 0;
}

/* ---- bytes ------------------------------------------------------------- */

static int send_all(struct imap *s, const char *p, size_t len, char *err,
		    size_t errlen)
{
	while (len > 0) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(s->curl, p, len, &n);
		int r;

		if (rc == CURLE_AGAIN) {
			r = wait_sock(s, POLLOUT, err, errlen);
			if (r < 0)
				return r;
			continue;
		}
		if (rc != CURLE_OK)
			return broken(s, err, errlen, -EIO,
				      "the connection was lost while sending");
		p += n;
		len -= n;
	}
	return 0;
}

/* Reads more bytes into s->in (at least one). 0, -ETIMEDOUT, -EIO. */
static int fill(struct imap *s, char *err, size_t errlen)
{
	if (s->in_off == s->in.len) {
		s->in.len = s->in_off = 0;
	} else if (s->in_off > s->in.cap / 2) {
		memmove(s->in.data, s->in.data + s->in_off,
			s->in.len - s->in_off);
		s->in.len -= s->in_off;
		s->in_off = 0;
	}
	if (buf_reserve(&s->in, IMAP_RECV_CHUNK) < 0)
		return broken(s, err, errlen, -ENOMEM, "out of memory");
	for (;;) {
		size_t n = 0;
		CURLcode rc = curl_easy_recv(s->curl, s->in.data + s->in.len,
					     s->in.cap - s->in.len - 1, &n);
		int r;

		if (rc == CURLE_AGAIN) {
			r = wait_sock(s, POLLIN, err, errlen);
			if (r < 0)
				return r;
			continue;
		}
		if (rc != CURLE_OK)
			return broken(s, err, errlen, -EIO,
				      "the connection was lost while reading");
		if (n == 0)
			return broken(s, err, errlen, -EIO,
				      "the server closed the connection");
		s->in.len += n;
		s->in.data[s->in.len] = '\0';
		return 0;
	}
}

/* ---- reading a response ------------------------------------------------ */

/* Reads one whole response into s->resp; its literals may take at most
 * BUDGET bytes together. */
static int read_response(struct imap *s, size_t budget, char *err,
			 size_t errlen)
{
	imapwire_reset(&s->resp);
	for (;;) {
		size_t used = 0;
		int r;

		if (s->in_off < s->in.len) {
			r = imapwire_feed(&s->resp, s->in.data + s->in_off,
					  s->in.len - s->in_off, budget, &used,
					  err, errlen);
			s->in_off += used;
			if (r < 0)
				s->broken = true;
			if (r != 0)
				return r < 0 ? r : 0;
		}
		r = fill(s, err, errlen);
		if (r < 0)
			return r;
	}
}

/* ---- commands ---------------------------------------------------------- */

/* Called for each untagged response (in s->resp). A negative return is
 * a response that does not parse: fatal. */
typedef int (*untagged_fn)(struct imap *s, void *arg, char *err, size_t errlen);

/*
 * Sends "TAG CMD", hands every untagged response to FN, and returns at
 * the tagged one: 0 for OK (its text after "OK " in ok_text, if given),
 * -EIO for NO or BAD (the session stays usable), or an error that broke
 * the session. BUDGET limits the literal bytes of each response.
 */
static int command(struct imap *s, const char *cmd, untagged_fn fn, void *arg,
		   size_t budget, char *ok_text, size_t ok_len, char *err,
		   size_t errlen)
{
	char tag[16], line[2 * IMAP_MAX_MAILBOX + 64], text[160];
	int n, r;

	if (s->broken)
		return seterr(err, errlen, -EIO,
			      "imap: the session is broken; open a new one");
	snprintf(tag, sizeof(tag), "k%u", ++s->tag);
	n = snprintf(line, sizeof(line), "%s %s\r\n", tag, cmd);
	if (n < 0 || (size_t)n >= sizeof(line))
		return seterr(err, errlen, -EINVAL, "imap: command too long");
	r = send_all(s, line, (size_t)n, err, errlen);
	if (r < 0)
		return r;
	for (;;) {
		r = read_response(s, budget, err, errlen);
		if (r < 0)
			return r;
		switch (imapwire_kind(&s->resp, tag, text, sizeof(text))) {
		case IMAPWIRE_UNTAGGED:
			r = fn ? fn(s, arg, err, errlen) : 0;
			if (r < 0) {
				s->broken = true;
				return r;
			}
			continue;
		case IMAPWIRE_OK:
			if (ok_text)
				snprintf(ok_text, ok_len, "%s", text);
			return 0;
		case IMAPWIRE_NO:
			return seterr(err, errlen, -EIO,
				      "imap: the server refused \"%.40s\": %s",
				      cmd, text);
		default:
			return broken(s, err, errlen, -EIO,
				      s->resp.text.len &&
					      s->resp.text.data[0] == '+'
					  ? "unexpected continuation request"
					  : "unexpected response");
		}
	}
}

/* The operation's deadline: ten times the per-response timeout. */
static void start_op(struct imap *s)
{
	deadline_in(&s->deadline, s->timeout_s * 10);
}

/* ---- SELECT ------------------------------------------------------------ */

/* "* OK [UIDVALIDITY n]" and "* OK [PERMANENTFLAGS (...)]". */
static int on_select(struct imap *s, void *arg, char *err, size_t errlen)
{
	if (imapwire_select(&s->resp, s->keyword, arg) < 0)
		return broken(s, err, errlen, -EIO, "bad SELECT response");
	return 0;
}

static int select_folder(struct imap *s, uint32_t *ret_validity, char *err,
			 size_t errlen)
{
	struct imapwire_select st = {0};
	char cmd[IMAP_MAX_MAILBOX * 2 + 16], ok[160];
	int r;

	s->selected = false;
	snprintf(cmd, sizeof(cmd), "SELECT %s", s->mailbox);
	r = command(s, cmd, on_select, &st, IMAP_SMALL_LITERALS, ok, sizeof(ok),
		    err, errlen);
	if (r < 0)
		return r;
	if (strncasecmp(ok, "[READ-ONLY]", 11) == 0)
		return seterr(err, errlen, -EIO,
			      "imap: the folder is read-only: messages cannot "
			      "be marked done");
	if (!st.have_validity)
		return seterr(err, errlen, -EIO,
			      "imap: the server gave no UIDVALIDITY");
	if (st.have_permflags && !st.keyword_ok)
		return seterr(err, errlen, -EIO,
			      "imap: the folder cannot keep the keyword %s",
			      s->keyword);
	s->selected = true;
	if (ret_validity)
		*ret_validity = st.uidvalidity;
	return 0;
}

/* ---- SEARCH ------------------------------------------------------------ */

struct search_state {
	uint32_t *uids;
	size_t n, cap;
};

static int on_search(struct imap *s, void *arg, char *err, size_t errlen)
{
	struct search_state *st = arg;
	int r = imapwire_search(&s->resp, &st->uids, &st->n, &st->cap,
				IMAP_MAX_UIDS);

	if (r < 0)
		return broken(s, err, errlen, r,
			      r == -ENOMEM ? "out of memory"
					   : "bad SEARCH response");
	return 0;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int imap_search_new(struct imap *s, uint32_t **uids, size_t *n,
		    uint32_t *uidvalidity, char *err, size_t errlen)
{
	struct search_state st = {0};
	char cmd[IMAP_MAX_KEYWORD + 32];
	uint32_t validity = 0;
	size_t k = 0;
	int r;

	start_op(s);
	r = select_folder(s, &validity, err, errlen);
	if (r < 0)
		return r;
	snprintf(cmd, sizeof(cmd), "UID SEARCH UNKEYWORD %s", s->keyword);
	r = command(s, cmd, on_search, &st, IMAP_SMALL_LITERALS, NULL, 0, err,
		    errlen);
	if (r < 0) {
		free(st.uids);
		return r;
	}
	if (st.n > 0) {
		qsort(st.uids, st.n, sizeof(*st.uids), cmp_uid);
		for (size_t i = 0; i < st.n; i++)
			if (k == 0 || st.uids[i] != st.uids[k - 1])
				st.uids[k++] = st.uids[i];
	}
	if (k == 0) {
		free(st.uids);
		st.uids = NULL;
	}
	*uids = st.uids;
	*n = k;
	*uidvalidity = validity;
	return 0;
}

/* ---- FETCH ------------------------------------------------------------- */

struct fetch_state {
	uint32_t uid;
	bool have_size, have_body;
	uint64_t size;
	struct buf body;
	struct buf tmp; /* a quoted string, unescaped */
};

/* "* n FETCH (UID u RFC822.SIZE s BODY[] {N}...)": the items of the UID
 * asked for; FETCH responses for other messages are ignored. */
static int on_fetch(struct imap *s, void *arg, char *err, size_t errlen)
{
	struct fetch_state *st = arg;
	struct imapwire_fetch f;
	int r = imapwire_fetch(&s->resp, &st->tmp, &f);

	if (r < 0)
		return broken(s, err, errlen, r,
			      r == -ENOMEM ? "out of memory"
					   : "bad FETCH response");
	if (!f.is_fetch || !f.have_uid || f.uid != st->uid)
		return 0;
	if (f.have_size) {
		st->have_size = true;
		st->size = f.size;
	}
	if (f.body && !st->have_body) {
		if (f.body_len > s->max_message)
			return broken(s, err, errlen, -EFBIG,
				      "the message is larger than announced");
		if (buf_append(&st->body, f.body, f.body_len) < 0)
			return broken(s, err, errlen, -ENOMEM, "out of memory");
		st->have_body = true;
	}
	return 0;
}

int imap_fetch(struct imap *s, uint32_t uid, struct buf *out, char *err,
	       size_t errlen)
{
	struct fetch_state st = {.uid = uid};
	char cmd[64];
	int r;

	if (uid == 0)
		return seterr(err, errlen, -EINVAL, "imap: UID 0");
	start_op(s);
	if (!s->selected && !s->broken) {
		r = select_folder(s, NULL, err, errlen);
		if (r < 0)
			return r;
	}
	snprintf(cmd, sizeof(cmd), "UID FETCH %u (UID RFC822.SIZE)", uid);
	r = command(s, cmd, on_fetch, &st, IMAP_SMALL_LITERALS, NULL, 0, err,
		    errlen);
	if (r < 0)
		goto out;
	if (!st.have_size) {
		r = seterr(err, errlen, -ENOENT, "imap: no message with UID %u",
			   uid);
		goto out;
	}
	if (st.size > s->max_message) {
		r = seterr(err, errlen, -EFBIG,
			   "imap: message UID %u has %llu bytes, more than "
			   "the maximum of %zu",
			   uid, (unsigned long long)st.size, s->max_message);
		goto out;
	}
	snprintf(cmd, sizeof(cmd), "UID FETCH %u (UID BODY.PEEK[])", uid);
	r = command(s, cmd, on_fetch, &st, s->max_message + IMAP_SMALL_LITERALS,
		    NULL, 0, err, errlen);
	if (r < 0)
		goto out;
	if (!st.have_body) {
		r = seterr(err, errlen, -ENOENT, "imap: no message with UID %u",
			   uid);
		goto out;
	}
	r = buf_append(out, st.body.data ? st.body.data : "", st.body.len);
	if (r < 0)
		seterr(err, errlen, r, "imap: out of memory");
out:
	if (st.body.data)
		explicit_bzero(st.body.data, st.body.len);
	buf_free(&st.body);
	buf_free(&st.tmp);
	return r;
}

/* ---- STORE ------------------------------------------------------------- */

int imap_mark_done(struct imap *s, uint32_t uid, char *err, size_t errlen)
{
	char cmd[IMAP_MAX_KEYWORD + 64];
	int r;

	if (uid == 0)
		return seterr(err, errlen, -EINVAL, "imap: UID 0");
	start_op(s);
	if (!s->selected && !s->broken) {
		r = select_folder(s, NULL, err, errlen);
		if (r < 0)
			return r;
	}
	snprintf(cmd, sizeof(cmd), "UID STORE %u +FLAGS.SILENT (\\Seen %s)",
		 uid, s->keyword);
	/* Unsolicited FETCH responses (flags) may come: ignored. */
	return command(s, cmd, NULL, NULL, IMAP_SMALL_LITERALS, NULL, 0, err,
		       errlen);
}

/* ---- the session ------------------------------------------------------- */

static CURL *new_handle(const struct imap_conf *conf, char *ebuf)
{
	const struct curltls t = {
	    .url = conf->url,
	    .protocols = "imap,imaps",
	    .ca_file = conf->ca_file,
	    .client_cert = conf->client_cert,
	    .client_key = conf->client_key,
	    .username = conf->username,
	    .password = conf->password,
	};
	CURL *c = curltls_handle(&t, ebuf);

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, conf->timeout_s);
	curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, conf->timeout_s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, conf->timeout_s * 10);
	return c;
}

int imap_open(const struct imap_conf *conf, struct imap **ret, char *err,
	      size_t errlen)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	struct imap *s;
	CURLcode rc;
	int r;

	r = check_conf(conf, err, errlen);
	if (r == 0)
		r = check_libcurl(err, errlen);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return seterr(err, errlen, -ENOMEM, "imap: out of memory");
	s->timeout_s = conf->timeout_s;
	s->max_message = conf->max_message;
	s->sock = CURL_SOCKET_BAD;
	s->keyword = strdup(conf->done_keyword);
	if (!s->keyword) {
		r = seterr(err, errlen, -ENOMEM, "imap: out of memory");
		goto fail;
	}
	r = mailbox_of(conf->url, &s->mailbox, err, errlen);
	if (r < 0)
		goto fail;
	s->curl = new_handle(conf, ebuf);
	if (!s->curl) {
		r = seterr(err, errlen, -ENOMEM, "imap: out of memory");
		goto fail;
	}
	rc = curl_easy_perform(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		r = connect_error(rc, ebuf, err, errlen);
		goto fail;
	}
	if (curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &s->sock) !=
		CURLE_OK ||
	    s->sock == CURL_SOCKET_BAD) {
		r = seterr(err, errlen, -EIO, "imap: no socket after login");
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	s->broken = true;
	imap_close(s);
	return r;
}

void imap_close(struct imap *s)
{
	char err[64];

	if (!s)
		return;
	if (s->curl && !s->broken && s->sock != CURL_SOCKET_BAD) {
		/* A short, polite goodbye; the answer does not matter. */
		deadline_in(&s->deadline, s->timeout_s < 5 ? s->timeout_s : 5);
		(void)command(s, "LOGOUT", NULL, NULL, IMAP_SMALL_LITERALS,
			      NULL, 0, err, sizeof(err));
	}
	curl_easy_cleanup(s->curl);
	free(s->mailbox);
	free(s->keyword);
	if (s->in.data)
		explicit_bzero(s->in.data, s->in.cap);
	buf_free(&s->in);
	imapwire_free(&s->resp);
	free(s);
}
