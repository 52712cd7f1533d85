/* smtpwire.h — kip's side of an SMTP mail transaction, as data (RFC 5321,
 * with the requests for delivery status notifications of RFC 3461).
 *
 * No I/O here: smtpconn.c sends the commands built here and feeds the
 * replies it reads into a struct smtpwire_reply until one is whole.
 * Everything a server says is untrusted: a reply line is checked for its
 * code and its length before anything of it is kept.
 *
 * A message asks for reports with RET=HDRS and an ENVID on MAIL, and
 * NOTIFY=SUCCESS,FAILURE,DELAY with an ORCPT on RCPT. The ENVID is the
 * local part of the outbox row's Message-ID (smtpwire_envid()), so a
 * report that comes back (its Original-Envelope-Id) names the row.
 */
#ifndef KIP_SMTPWIRE_H
#define KIP_SMTPWIRE_H

#include <stdbool.h>
#include <stddef.h>

/* The longest command kip sends and the longest reply line it reads,
 * CRLF included: RFC 5321 allows 512 for a command, extended by what the
 * parameters of an extension need; a reply line longer than this is
 * refused. */
#define SMTPWIRE_LINE_MAX 1024
/* Of a reply, the last line is kept, cut to this many bytes. */
#define SMTPWIRE_TEXT_MAX 200

/* The envelope id for the message with MESSAGE_ID, the local part of
 * "<kip.ID.RANDOM@DOMAIN>" ("kip.ID.RANDOM"), into RET (LEN bytes). 0, or
 * -EINVAL when MESSAGE_ID is not "<LOCAL@DOMAIN>" with a LOCAL of 1 to
 * 100 printable ASCII characters without '+', '=', '<', '>' and '@' (what
 * xtext carries as it is, RFC 3461 4), -ENOSPC when RET is too small. */
int smtpwire_envid(const char *message_id, char *ret, size_t len);

/* S as xtext (RFC 3461 4: "+" and two upper-case hex digits for '+', '='
 * and any byte outside '!'..'~') into RET (LEN bytes). 0 or -ENOSPC. */
int smtpwire_xtext(const char *s, char *ret, size_t len);

/* "MAIL FROM:<FROM>", with " SIZE=N" when SIZE > 0 and, when ENVID is
 * not NULL, " RET=HDRS ENVID=" and ENVID as xtext; CRLF-ended, into RET
 * (LEN bytes). 0, -EINVAL (FROM not an address email_valid() takes,
 * which keeps spaces, brackets, CR and LF out of the command; an ENVID
 * empty or longer than 100 characters), -ENOSPC. */
int smtpwire_mail(const char *from, size_t size, const char *envid, char *ret,
		  size_t len);

/* "RCPT TO:<TO>", with DSN " NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;"
 * and TO as xtext; CRLF-ended. As smtpwire_mail(). */
int smtpwire_rcpt(const char *to, bool dsn, char *ret, size_t len);

/* True when LINE (N bytes, its CRLF or not) of an EHLO reply, after the
 * first (which names the server), announces KEYWORD (upper case):
 * "250-KEYWORD" or "250 KEYWORD", alone or before a space and its
 * parameters, in any case. */
bool smtpwire_ehlo_names(const char *line, size_t n, const char *keyword);

/* One reply, of one line or several ("250-..." lines, then "250 ..."). */
struct smtpwire_reply {
	int code;			  /* 200..599, once whole */
	char text[SMTPWIRE_TEXT_MAX + 1]; /* its last line without CRLF,
					     control characters as '?' */
	char line[SMTPWIRE_LINE_MAX];	  /* the line being read */
	size_t line_len;
	unsigned lines; /* the lines read so far */
};

/* Empties R for the next reply. */
void smtpwire_reply_reset(struct smtpwire_reply *r);

/* Takes bytes from P (N of them) up to the end of R's reply, *USED of
 * them, the rest being the next reply's. 1 when R is whole, 0 when it
 * needs more, -EPROTO when it does not parse: a line without a code of
 * three digits 2..5 followed by ' ', '-' or its end, lines of one reply
 * with different codes, a line longer than SMTPWIRE_LINE_MAX, more than
 * 100 lines. */
int smtpwire_reply_feed(struct smtpwire_reply *r, const char *p, size_t n,
			size_t *used);

#endif
