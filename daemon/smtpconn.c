/* smtpconn.c — see smtpconn.h. */
#include "smtpconn.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "curltls.h"
#include "smtpwire.h"

/* A connection idle this long is closed (politely) and made again rather
 * than used: servers drop idle clients after a few minutes, and a command
 * sent as the server closes is lost (libcurl's CURLOPT_MAXAGE_CONN
 * default). */
#define IDLE_MAX_S 118
/* How often a wait looks at the message's cancellation. */
#define CANCEL_POLL_MS 100
/* The most a QUIT at the end waits for its answer. */
#define QUIT_WAIT_S 5

/* Results of one try of the transaction besides 0 and -errno. */
#define AGAIN_PLAIN 1 /* refused for the DSN parameters: again without */
#define AGAIN_FRESH 2 /* the reused connection was gone: again on a new */

struct smtpconn {
	const struct kip_config *cfg;
	CURL *curl; /* NULL: not connected */
	curl_socket_t sock;
	time_t used_at; /* CLOCK_MONOTONIC seconds of the last reply */
	struct timespec deadline; /* of the operation under way */
	atomic_int *cancel;	  /* the message's while one is sent */
	bool final;		  /* past the final dot: cancel no longer
				     applies */
	/* The last EHLO reply, read while libcurl connects (on_debug()). */
	bool in_ehlo, ehlo_first, dsn, size;
	char in[4096]; /* bytes received, in_off.. in_len not yet taken */
	size_t in_off, in_len;
	struct smtpwire_reply reply;
};

/* ---- time and waiting --------------------------------------------------- */

static time_t now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

static void deadline_in(struct smtpconn *s, long seconds)
{
	clock_gettime(CLOCK_MONOTONIC, &s->deadline);
	s->deadline.tv_sec += seconds;
}

static bool cancelled(const struct smtpconn *s)
{
	return !s->final && s->cancel && atomic_load(s->cancel);
}

/* Waits until the socket is ready for EVENTS: 0, -ETIMEDOUT at the
 * deadline, -ECANCELED, -EIO. */
static int wait_sock(struct smtpconn *s, short events)
{
	for (;;) {
		struct pollfd p = {.fd = s->sock, .events = events};
		struct timespec now;
		long long left;
		int n;

		if (cancelled(s))
			return -ECANCELED;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long long)(s->deadline.tv_sec - now.tv_sec) * 1000 +
		       (s->deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1,
			 left < CANCEL_POLL_MS ? (int)left : CANCEL_POLL_MS);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -EIO;
	}
}

/* ---- bytes --------------------------------------------------------------- */

static int send_all(struct smtpconn *s, const char *p, size_t len)
{
	while (len > 0) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(s->curl, p, len, &n);
		int r;

		if (rc == CURLE_AGAIN) {
			r = wait_sock(s, POLLOUT);
			if (r < 0)
				return r;
			continue;
		}
		if (rc != CURLE_OK)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Reads one reply into s->reply: its code, or -ETIMEDOUT, -ECANCELED,
 * -EIO (lost or closed), -EPROTO (does not parse). */
static int read_reply(struct smtpconn *s)
{
	smtpwire_reply_reset(&s->reply);
	for (;;) {
		size_t n = 0;
		CURLcode rc;
		int r;

		if (s->in_off < s->in_len) {
			r = smtpwire_reply_feed(&s->reply, s->in + s->in_off,
						s->in_len - s->in_off, &n);
			s->in_off += n;
			if (r < 0)
				return r;
			if (r > 0) {
				s->used_at = now_s();
				return s->reply.code;
			}
		}
		s->in_off = s->in_len = 0;
		rc = curl_easy_recv(s->curl, s->in, sizeof(s->in), &n);
		if (rc == CURLE_AGAIN) {
			r = wait_sock(s, POLLIN);
			if (r < 0)
				return r;
			continue;
		}
		if (rc != CURLE_OK || n == 0)
			return -EIO;
		s->in_len = n;
	}
}

/* Sends LINE (CRLF-ended) and reads the reply: its code or -errno. */
static int command(struct smtpconn *s, const char *line)
{
	int r = send_all(s, line, strlen(line));

	return r < 0 ? r : read_reply(s);
}

/* The message, dot-stuffed (RFC 5321 4.5.2: a line that starts with '.'
 * gets another), and its last line ended; the final dot is not sent. */
static int send_body(struct smtpconn *s, const struct smtpconn_msg *m)
{
	const char *b = m->body;
	size_t off = 0;
	int r = 0;

	while (r == 0 && off < m->len) {
		const char *dot;
		size_t end;

		if (cancelled(s))
			return -ECANCELED;
		if ((off == 0 || b[off - 1] == '\n') && b[off] == '.')
			r = send_all(s, ".", 1);
		/* up to the next line that starts with a dot */
		dot = memmem(b + off, m->len - off, "\n.", 2);
		end = dot ? (size_t)(dot - b) + 1 : m->len;
		if (r == 0)
			r = send_all(s, b + off, end - off);
		off = end;
	}
	if (r == 0 && (m->len == 0 || b[m->len - 1] != '\n'))
		r = send_all(s, "\r\n", 2);
	return r;
}

/* ---- the connection ------------------------------------------------------ */

/* Drops the connection at once. The socket is shut down first, so that
 * the QUIT libcurl says when it cleans up fails at once instead of
 * waiting for a server that no longer answers. */
static void close_now(struct smtpconn *s)
{
	if (!s->curl)
		return;
	if (s->sock != CURL_SOCKET_BAD)
		shutdown(s->sock, SHUT_RDWR);
	curl_easy_cleanup(s->curl);
	s->curl = NULL;
	s->sock = CURL_SOCKET_BAD;
	s->in_off = s->in_len = 0;
}

/* QUIT, its answer waited for a few seconds at most, then closed. */
static void close_polite(struct smtpconn *s)
{
	if (!s->curl)
		return;
	s->final = true; /* a cancellation has nothing to abort here */
	deadline_in(s, QUIT_WAIT_S);
	(void)command(s, "QUIT\r\n");
	close_now(s);
}

/* Aborts a transfer the server took no answer from: -ECANCELED from
 * libcurl's progress callback while it connects. */
static int progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		    curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	return cancelled(arg);
}

/* The keywords of the last EHLO reply, from what libcurl says and hears
 * while it connects (CURLOPT_VERBOSE). Everything else it passes here,
 * the login included, is ignored. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size,
		    void *arg)
{
	struct smtpconn *s = arg;

	(void)c;
	if (type == CURLINFO_HEADER_OUT) {
		/* a new EHLO: its reply decides; any other command ends it */
		s->in_ehlo = size >= 5 && strncasecmp(data, "EHLO ", 5) == 0;
		if (s->in_ehlo)
			s->dsn = s->size = false;
		s->ehlo_first = s->in_ehlo;
	} else if (type == CURLINFO_HEADER_IN && s->in_ehlo) {
		if (s->ehlo_first) /* the line that names the server */
			s->ehlo_first = false;
		else if (smtpwire_ehlo_names(data, size, "DSN"))
			s->dsn = true;
		else if (smtpwire_ehlo_names(data, size, "SIZE"))
			s->size = true;
	}
	return 0;
}

static CURL *new_handle(struct smtpconn *s, char *ebuf)
{
	const struct kip_config *cfg = s->cfg;
	const struct curltls t = {
	    .url = cfg->smtp_url,
	    .protocols = "smtp,smtps",
	    .ca_file = cfg->smtp_ca_file,
	    .client_cert = cfg->smtp_client_cert,
	    .client_key = cfg->smtp_client_key,
	    .username = cfg->smtp_username,
	    .password = cfg->smtp_password,
	};
	CURL *c = curltls_handle(&t, ebuf);

	if (!c)
		return NULL;
	/* The server's words, for the EHLO keywords and the log. */
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, s);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->smtp_timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	return c;
}

/* Why connecting failed, in words an operator acts on (NULL: libcurl's
 * own words say it), and as -errno. */
static int connect_error(CURLcode rc, long code, const char **cause)
{
	switch (rc) {
	case CURLE_USE_SSL_FAILED:
		*cause = "the server offered no STARTTLS, and TLS is required";
		return -EPROTO;
	case CURLE_PEER_FAILED_VERIFICATION:
		*cause = "the server's TLS certificate failed verification";
		return -EPROTO;
	case CURLE_SSL_CONNECT_ERROR:
		*cause = "the TLS handshake failed";
		return -EPROTO;
	case CURLE_COULDNT_CONNECT:
		*cause = "the connection was refused";
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		*cause = "the server's name did not resolve";
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		*cause = "the server did not answer in time";
		return -ETIMEDOUT;
	case CURLE_LOGIN_DENIED:
		*cause = "the server refused the login";
		return -EACCES;
	case CURLE_ABORTED_BY_CALLBACK:
		*cause = NULL;
		return -ECANCELED;
	case CURLE_OUT_OF_MEMORY:
		*cause = "out of memory";
		return -ENOMEM;
	default:
		*cause = code >= 400 ? "the server refused it for now" : NULL;
		return -EIO;
	}
}

/* Connects, logs in and reads the EHLO keywords. 0, or -errno with ST
 * filled. */
static int open_conn(struct smtpconn *s, struct smtpconn_status *st)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	CURL *c = new_handle(s, ebuf);
	CURLcode rc;
	long code = 0;

	if (!c) {
		st->err = -ENOMEM;
		st->cause = "out of memory";
		return st->err;
	}
	s->in_ehlo = s->dsn = s->size = false;
	rc = curl_easy_perform(c);
	/* Read from here on is the transaction's, not for on_debug(). */
	curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET,
						 &s->sock) != CURLE_OK ||
			       s->sock == CURL_SOCKET_BAD))
		rc = CURLE_COULDNT_CONNECT;
	if (rc != CURLE_OK) {
		st->err = connect_error(rc, code, &st->cause);
		st->code = code;
		snprintf(st->detail, sizeof(st->detail), "%s%s%s",
			 curl_easy_strerror(rc), ebuf[0] ? ": " : "", ebuf);
		s->sock = CURL_SOCKET_BAD;
		curl_easy_cleanup(c);
		return st->err;
	}
	s->curl = c;
	s->in_off = s->in_len = 0;
	s->used_at = now_s();
	return 0;
}

/* Whether the open connection can take a message: not idle too long, and
 * nothing came from the server unasked (a 421 before it closed, or its
 * end). Else it is closed. */
static bool usable(struct smtpconn *s)
{
	struct pollfd p = {.fd = s->sock, .events = POLLIN};
	size_t n = 0;

	if (!s->curl)
		return false;
	if (s->in_off < s->in_len) { /* more than the replies asked for */
		close_now(s);
		return false;
	}
	if (now_s() - s->used_at > IDLE_MAX_S) {
		close_polite(s);
		return false;
	}
	if (poll(&p, 1, 0) == 0)
		return true;
	/* TLS records the server may send at any time (session tickets)
	 * carry nothing for the transaction: CURLE_AGAIN. */
	if (curl_easy_recv(s->curl, s->in, sizeof(s->in), &n) == CURLE_AGAIN)
		return true;
	close_now(s);
	return false;
}

/* ---- the transaction ----------------------------------------------------- */

/* The transaction ended without an answer to go by, AT a place in it
 * ("at DATA"): the connection is dropped. Returns ERR. */
static int failed(struct smtpconn *s, struct smtpconn_status *st, int err,
		  const char *at)
{
	close_now(s);
	st->err = err;
	st->code = 0;
	switch (err) {
	case -ETIMEDOUT:
		st->cause = "the server did not answer in time";
		break;
	case -EPROTO:
		st->cause = "the server's reply did not parse";
		break;
	case -EINVAL:
		st->cause = "an address an SMTP envelope cannot carry";
		break;
	case -ECANCELED:
		st->cause = NULL;
		break;
	default:
		st->cause = "the connection was lost";
	}
	snprintf(st->detail, sizeof(st->detail), "%s", at);
	return err;
}

/* The server refused the message at WHAT with CODE (4xx, 5xx): the
 * transaction is reset (RSET) for the next message, unless the server
 * is closing (421) or the reset fails. */
static int refused(struct smtpconn *s, struct smtpconn_status *st,
		   const char *what, int code)
{
	if (code < 400)
		return failed(s, st, -EPROTO, "an unexpected reply");
	st->err = 0;
	st->code = code;
	st->cause = code >= 500 ? "the server refused it"
				: "the server refused it for now";
	snprintf(st->detail, sizeof(st->detail), "%s: %s", what, s->reply.text);
	if (code == 421 || command(s, "RSET\r\n") / 100 != 2)
		close_now(s);
	return 0;
}

/* Whether CODE refuses the parameters of a command that has them: 555
 * (RFC 5321 4.1.1.11: parameters not recognised), or 501 (their syntax;
 * Postfix says "501 5.7.1 DSN support is disabled" where DSN is off). A
 * 501 for another reason comes again without them, and is then final. */
static bool params_refused(int code)
{
	return code == 555 || code == 501;
}

/* Sends MAIL or RCPT (LINE; WHAT names it). True when the server took
 * it; else false with *RET what transaction() returns: the refusal or
 * failure (ST filled), AGAIN_PLAIN when DSN's parameters were refused,
 * AGAIN_FRESH when a REUSED connection turns out closed. */
static bool envelope_taken(struct smtpconn *s, struct smtpconn_status *st,
			   const char *line, const char *what, bool dsn,
			   bool reused, int *ret)
{
	char at[32];
	int code = command(s, line);

	if (code == -EIO && reused) {
		close_now(s);
		*ret = AGAIN_FRESH;
	} else if (code < 0) {
		snprintf(at, sizeof(at), "at %s", what);
		*ret = failed(s, st, code, at);
	} else if (params_refused(code) && dsn) {
		/* reset for the same message without them, on a new
		 * connection if the reset fails */
		if (command(s, "RSET\r\n") / 100 != 2)
			close_now(s);
		*ret = AGAIN_PLAIN;
	} else if (code / 100 != 2) {
		*ret = refused(s, st, what, code);
	} else {
		return true;
	}
	return false;
}

/* One try: MAIL, RCPT, DATA, the message, the final dot. REUSED: the
 * connection served an earlier message (it may have been closed since).
 * 0 or -errno with ST filled, or AGAIN_PLAIN, AGAIN_FRESH. */
static int transaction(struct smtpconn *s, const struct smtpconn_msg *m,
		       bool dsn, bool reused, struct smtpconn_status *st)
{
	char line[SMTPWIRE_LINE_MAX];
	int r = 0;

	if (smtpwire_mail(m->from, s->size ? m->len : 0, dsn ? m->envid : NULL,
			  line, sizeof(line)) < 0)
		return failed(s, st, -EINVAL, "the sender");
	if (!envelope_taken(s, st, line, "MAIL FROM", dsn, reused, &r))
		return r;
	if (smtpwire_rcpt(m->to, dsn, line, sizeof(line)) < 0)
		return failed(s, st, -EINVAL, "the recipient");
	if (!envelope_taken(s, st, line, "RCPT TO", dsn, false, &r))
		return r;
	r = command(s, "DATA\r\n");
	if (r < 0)
		return failed(s, st, r, "at DATA");
	if (r != 354)
		return refused(s, st, "DATA", r);
	r = send_body(s, m);
	if (r < 0)
		return failed(s, st, r, "sending the message");
	if (!m->may_finish(m->arg))
		return failed(s, st, -ECANCELED, "before the final dot");
	/* Past the point of no return: the final dot, then its answer,
	 * given the whole timeout again (a server may check the message
	 * before it answers). */
	s->final = true;
	deadline_in(s, s->cfg->smtp_timeout_s);
	r = command(s, ".\r\n");
	if (r < 0)
		return failed(s, st, r, "after the final dot");
	if (r / 100 != 2)
		return refused(s, st, "the message", r);
	st->err = 0;
	st->code = r;
	st->reports = dsn;
	snprintf(st->detail, sizeof(st->detail), "%s", s->reply.text);
	return 0;
}

/* Whether M's addresses can go in an envelope (smtpwire.h). */
static bool envelope_ok(const struct smtpconn_msg *m)
{
	char line[SMTPWIRE_LINE_MAX];

	return smtpwire_mail(m->from, 0, NULL, line, sizeof(line)) == 0 &&
	       smtpwire_rcpt(m->to, false, line, sizeof(line)) == 0;
}

int smtpconn_new(const struct kip_config *cfg, struct smtpconn **ret)
{
	struct smtpconn *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->sock = CURL_SOCKET_BAD;
	*ret = s;
	return 0;
}

void smtpconn_send(struct smtpconn *s, const struct smtpconn_msg *m,
		   struct smtpconn_status *st)
{
	bool reused, plain = false;
	int r = 0;

	*st = (struct smtpconn_status){0};
	if (!envelope_ok(m)) {
		st->err = -EINVAL;
		st->cause = "an address an SMTP envelope cannot carry";
		snprintf(st->detail, sizeof(st->detail), "%s", st->cause);
		return;
	}
	/* (A connection idle too long says QUIT here, with its own short
	 * deadline and no cancellation: the message's start after it.) */
	reused = usable(s);
	s->cancel = m->cancel;
	s->final = false;
	deadline_in(s, s->cfg->smtp_timeout_s);
	for (;;) {
		if (!s->curl && open_conn(s, st) < 0)
			break;
		r = transaction(s, m, m->envid && s->dsn && !plain, reused, st);
		if (r == AGAIN_PLAIN) {
			plain = st->dsn_refused = true;
			continue;
		}
		if (r != AGAIN_FRESH)
			break;
		reused = false;
	}
	s->cancel = NULL;
}

void smtpconn_free(struct smtpconn *s)
{
	if (!s)
		return;
	close_polite(s);
	free(s);
}
