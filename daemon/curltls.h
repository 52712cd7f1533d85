/* curltls.h — a libcurl handle to a mail server, with the TLS every such
 * connection of kipd has: TLS always (STARTTLS required on smtp:// and
 * imap://, implicit on smtps:// and imaps://), TLS 1.2 at least, the
 * server's certificate and name verified, an optional client certificate;
 * connect, TLS and login only (CURLOPT_CONNECT_ONLY): the commands after
 * are the caller's. */
#ifndef KIP_CURLTLS_H
#define KIP_CURLTLS_H

#include <curl/curl.h>

struct curltls {
	const char *url;
	const char *protocols;	 /* "smtp,smtps", "imap,imaps" */
	const char *ca_file;	 /* NULL: the system's CAs */
	const char *client_cert; /* NULL: none */
	const char *client_key;
	const char *username; /* NULL: no login */
	const char *password; /* NULL: empty */
};

/* A new handle for T, libcurl's error text going to EBUF (at least
 * CURL_ERROR_SIZE bytes, alive as long as the handle); NULL when libcurl
 * cannot make one. */
CURL *curltls_handle(const struct curltls *t, char *ebuf);

#endif
