/* imap.h — reading the function mailbox over IMAP, TLS always.
 *
 * Blocking calls for a worker thread (never for kipd's event loop). One
 * session is one libcurl easy handle and one connection, kept from call
 * to call. libcurl does the connection, the TLS (implicit on imaps://,
 * STARTTLS required on imap://) and the login; it then hands over the
 * connection (CURLOPT_CONNECT_ONLY) and this module speaks the few IMAP
 * commands it needs itself, through curl_easy_send()/curl_easy_recv():
 * SELECT, UID SEARCH, UID FETCH with BODY.PEEK[] and UID STORE.
 *
 * Why not libcurl's own IMAP transfers: its URL fetch (";UID=n") sends
 * "UID FETCH n BODY[]", which sets \Seen, and its custom requests hand
 * a FETCH response over line by line (through the header callback, the
 * literal split into lines, long lines cut), so the message bytes would
 * not come back exactly. Here the literal {N} is read as exactly N bytes.
 *
 * Everything the server says is hostile input: lengths are checked before
 * anything is read into memory, numbers for overflow, and a response that
 * does not parse ends the session.
 *
 * Errors are a negative errno with a reason in err that names no personal
 * data (never the user name, password or anything from a message):
 *   -ECONNREFUSED  no connection (refused, unreachable, name not found)
 *   -ETIMEDOUT     connect or an operation took longer than timeout_s
 *   -EPROTO        TLS failure: no STARTTLS offered or refused, untrusted
 *                  or wrong-name certificate, TLS below 1.2; the reason
 *                  says which
 *   -EACCES        login refused
 *   -EFBIG         the message is larger than max_message
 *   -ENOENT        no message with that UID (fetch)
 *   -EINVAL        a bad configuration (imap_open)
 *   -ENOTSUP       libcurl older than 7.79 or without IMAP over TLS
 *   -EIO           anything else (a NO or BAD answer, a broken response,
 *                  the connection lost)
 * A session call that fails on the connection (-ETIMEDOUT, a lost
 * connection) or on a response that does not parse, or that meets a
 * literal larger than max_message although RFC822.SIZE said otherwise,
 * leaves the session broken: later calls return -EIO ("the session is
 * broken"); close it and open a new one. A NO or BAD answer, -EFBIG from
 * RFC822.SIZE and -ENOENT leave it usable.
 *
 * libcurl's global initialisation runs once (pthread_once) on the first
 * imap_open(); kipd's SMTP pool initialises it too, which is safe from
 * two threads only with a thread-safe libcurl (CURL_VERSION_THREADSAFE,
 * 7.84 and later), as Debian's is.
 */
#ifndef KIP_IMAP_H
#define KIP_IMAP_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct imap_conf {
	const char *url;     /* "imaps://host:port/INBOX" (implicit TLS) or
				"imap://host:port/INBOX" (STARTTLS required);
				the path names the folder, percent-encoded,
				empty for INBOX */
	const char *ca_file; /* verify peer and host against it; NULL =
				the system store */
	const char *username, *password;
	const char *client_cert, *client_key; /* optional */
	long timeout_s;		  /* connect and each server response; an
				     operation as a whole at most 10 times it */
	size_t max_message;	  /* fetch refuses larger messages: -EFBIG */
	const char *done_keyword; /* e.g. "$KipDone": an IMAP atom, set
				     after a message is handled */
};

struct imap; /* one session: one CURL easy handle, connection reused */

/* Connects, negotiates TLS, logs in. The session keeps no pointer into
 * conf (strings are copied; the password only by libcurl). */
int imap_open(const struct imap_conf *conf, struct imap **ret, char *err,
	      size_t errlen);

/* Logs out (best effort) and frees the session; accepts NULL. */
void imap_close(struct imap *s);

/* (Re)selects the folder and returns the UIDs of its messages that do
 * NOT carry done_keyword (UID SEARCH UNKEYWORD ...), ascending and
 * without duplicates, in *uids (malloc'd, caller frees; NULL when *n is
 * 0), and the folder's UIDVALIDITY. A folder that cannot keep the
 * keyword (PERMANENTFLAGS without it or \*) or is read-only is -EIO.
 * Outputs untouched on failure. */
int imap_search_new(struct imap *s, uint32_t **uids, size_t *n,
		    uint32_t *uidvalidity, char *err, size_t errlen);

/* Appends the whole raw message (RFC 822 bytes exactly as the server
 * gives them) to out without setting \Seen (BODY.PEEK[]). First asks for
 * RFC822.SIZE: -EFBIG if larger than max_message, nothing read. On
 * failure out keeps its earlier content. */
int imap_fetch(struct imap *s, uint32_t uid, struct buf *out, char *err,
	       size_t errlen);

/* UID STORE uid +FLAGS.SILENT (\Seen done_keyword). Doing it twice, or
 * for a UID that is gone, is harmless (0). */
int imap_mark_done(struct imap *s, uint32_t uid, char *err, size_t errlen);

#endif
