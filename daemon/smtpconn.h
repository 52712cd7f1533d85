/* smtpconn.h — one SMTP connection of a kip-smtp worker, TLS always.
 *
 * Blocking calls for the one worker thread that owns the connection
 * (smtp.c); nothing here is shared. libcurl makes the connection, the TLS
 * (implicit on smtps://, STARTTLS required on smtp://) and the login; it
 * then hands the connection over (CURLOPT_CONNECT_ONLY) and this module
 * speaks the mail transaction itself through curl_easy_send() and
 * curl_easy_recv(): MAIL, RCPT, DATA, the message, RSET after a refusal,
 * QUIT at the end. The connection stays open from message to message.
 *
 * Why not libcurl's own transfer: a message that asks for delivery status
 * notifications (RFC 3461) carries parameters after the addresses of MAIL
 * and RCPT, and libcurl before 8.16 puts whatever it is given for an
 * address between angle brackets ("MAIL FROM:<a@b> RET=HDRS>", curl issue
 * 8232), which a server refuses. The commands are built in smtpwire.c.
 *
 * Whether the server offers DSN is in its EHLO reply, which libcurl reads
 * while it connects: the reply's lines pass through libcurl's debug
 * callback (CURLOPT_VERBOSE), where only the keywords DSN and SIZE are
 * looked for; nothing of it (nor of the login) is kept or logged. A
 * message asks for reports only where the last EHLO reply named DSN
 * (RFC 3461 4); one that a server refuses for them anyway (555 unknown
 * parameters, 501 their syntax) goes again at once without them.
 */
#ifndef KIP_SMTPCONN_H
#define KIP_SMTPCONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct kip_config;
struct smtpconn;

/* One message for smtpconn_send(). */
struct smtpconn_msg {
	const char *from, *to;
	const char *envid; /* ask for reports with this ENVID; NULL: don't */
	const char *body;  /* the message: CRLF line ends, not dot-stuffed */
	size_t len;
	atomic_int *cancel; /* set by another thread: the transaction is
			       aborted, if it is before the final dot */
	/* Called before the final dot; false aborts the transaction (the
	 * server then delivers nothing), as a cancellation does. */
	bool (*may_finish)(void *arg);
	void *arg;
};

/* How it went. */
struct smtpconn_status {
	/* 0: the server answered the transaction, CODE says how (2xx after
	 * the final dot: accepted; 4xx, 5xx: refused at the command DETAIL
	 * names). Else no answer to go by, and the message may be tried
	 * again later:
	 *   -ECANCELED    cancelled or may_finish() said no, before the
	 *                 final dot: the server delivers nothing
	 *   -EINVAL       an address an envelope cannot carry (never sent)
	 *   -ECONNREFUSED no connection (refused, name not found)
	 *   -EPROTO       TLS (none offered, refused, an untrusted
	 *                 certificate, below 1.2), or a reply that did not
	 *                 parse
	 *   -EACCES       the login was refused
	 *   -ETIMEDOUT    the server took longer than smtp.timeout_s
	 *   -EIO          the connection was lost, or anything else
	 *   -ENOMEM
	 * CODE is then what the server said last while connecting, if
	 * anything (a 535 for a refused login). */
	int err;
	long code;
	bool reports;	   /* accepted with the request for reports */
	bool dsn_refused;  /* the server named DSN in its EHLO reply but
			      refused the parameters (555 or 501): the
			      message went again without them */
	const char *cause; /* in a few words without personal data
			      (static; NULL: the code says it) */
	char detail[320];  /* libcurl's words, or the command and the
			      server's reply line (which may name the
			      recipient: not for the log) */
};

/* A connection to CFG's smtp.url, made on the first message. CFG must
 * outlive it. 0 or -ENOMEM. */
int smtpconn_new(const struct kip_config *cfg, struct smtpconn **ret);

/* Sends M in one transaction, connecting first when the connection is
 * not open (or no longer usable: closed by the server, idle too long). A
 * connection that a message finds closed by the server before its first
 * reply is made again, once. Fills *RET. */
void smtpconn_send(struct smtpconn *s, const struct smtpconn_msg *m,
		   struct smtpconn_status *ret);

/* Says QUIT (waiting a few seconds at most) and closes. Accepts NULL. */
void smtpconn_free(struct smtpconn *s);

#endif
