/* mime.c — composing the messages kip sends; see mime.h.
 *
 * Output is CRLF only, header lines are folded to at most 78 columns where
 * the content allows it, and bodies are base64 in lines of 76. Every
 * function appends to out only on success: on failure out is as it was.
 */
#include "mime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "buf.h"

#define LINE_MAX_COLS 78 /* RFC 5322 2.1.1: SHOULD */
#define EW_MAX 75	 /* RFC 2047 2: one encoded-word */
#define EW_LINE_MAX 76	 /* RFC 2047 2: a line holding encoded-words */
#define EW_OVERHEAD 12	 /* strlen("=?UTF-8?B?") + strlen("?=") */

/* ----------------------------------------------------------- checks -- */

/* A header value must not break out of its field: no CR, LF or other
 * control characters (TAB allowed). */
static int value_ok(const char *v)
{
	if (!v)
		return 0;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF), so that encoded-words can be cut between characters. */
static int utf8_ok(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned int c = *s, need, cp;

		if (c < 0x80) {
			s++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		s++;
		for (unsigned int i = 0; i < need; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (*s & 0x3f);
		}
		if ((need == 2 &&
		     (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
	}
	return 1;
}

/* An attachment's file name goes into a quoted-string: printable ASCII
 * without '"' and '\'. */
static int filename_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 200)
		return 0;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

int mime_has_bare_lf(const char *p, size_t n)
{
	const char *end = p + n, *lf;

	for (const char *q = p; q < end; q = lf + 1) {
		lf = memchr(q, '\n', (size_t)(end - q));
		if (!lf)
			return 0;
		if (lf == p || lf[-1] != '\r')
			return 1;
	}
	return 0;
}

/* --------------------------------------------------------- encoding -- */

int mime_base64(struct buf *out, const unsigned char *p, size_t n)
{
	size_t lines = (n + 56) / 57;
	int r = buf_reserve(out, lines * 78 + 1);

	if (r < 0)
		return r;
	for (size_t off = 0; off < n; off += 57) {
		size_t chunk = n - off < 57 ? n - off : 57;
		int w = EVP_EncodeBlock((unsigned char *)out->data + out->len,
					p + off, (int)chunk);

		out->len += (size_t)w;
		memcpy(out->data + out->len, "\r\n", 3);
		out->len += 2;
	}
	return 0;
}

/* Appends text in canonical form (every line break CRLF, RFC 2046 4.1.1)
 * as base64. */
static int base64_text(struct buf *out, const char *text)
{
	struct buf canon = BUF_INIT;
	const char *p = text, *nl;
	int r = 0;

	while (r >= 0 && (nl = strchr(p, '\n'))) {
		size_t n = (size_t)(nl - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		r = buf_append(&canon, p, n);
		if (r >= 0)
			r = buf_append(&canon, "\r\n", 2);
		p = nl + 1;
	}
	if (r >= 0)
		r = buf_puts(&canon, p);
	if (r >= 0)
		r = mime_base64(out, (const unsigned char *)canon.data,
				canon.len);
	buf_free(&canon);
	return r;
}

/*
 * Appends s (UTF-8) as RFC 2047 B encoded-words, starting at column col of
 * the current line. Each word holds whole characters, is at most 75
 * characters long and ends its line within 76 columns; words are separated
 * by folding white space, which decoders drop between encoded-words.
 */
static int put_encoded_words(struct buf *out, size_t col, const char *s)
{
	size_t len = strlen(s), off = 0;
	int r = 0;

	while (r >= 0 && off < len) {
		unsigned char b64[EW_MAX];
		size_t room, raw, n;

		if (off > 0) { /* one word per line after the first */
			r = buf_puts(out, "\r\n ");
			col = 1;
		}
		room = EW_LINE_MAX > col ? EW_LINE_MAX - col : 0;
		if (room > EW_MAX)
			room = EW_MAX;
		raw = room > EW_OVERHEAD ? (room - EW_OVERHEAD) / 4 * 3 : 0;
		if (r >= 0 && raw < 4 * 3) { /* no room after a long name */
			r = buf_puts(out, "\r\n ");
			col = 1;
			raw = (EW_MAX - EW_OVERHEAD) / 4 * 3;
		}
		n = len - off < raw ? len - off : raw;
		/* Do not cut a character: back off over continuation bytes. */
		while (n > 0 && off + n < len &&
		       ((unsigned char)s[off + n] & 0xc0) == 0x80)
			n--;
		EVP_EncodeBlock(b64, (const unsigned char *)s + off, (int)n);
		if (r >= 0)
			r = buf_printf(out,
				       "=?UTF-8?B?%s?=", (const char *)b64);
		col += EW_OVERHEAD + strlen((const char *)b64);
		off += n;
	}
	return r;
}

/* Appends value (ASCII) folded at spaces to keep lines within 78 columns
 * where it has spaces to fold at, starting at column col. The space at a
 * fold becomes the continuation line's leading white space. */
static int put_folded(struct buf *out, size_t col, const char *value)
{
	const char *p = value;
	int r;

	for (;;) {
		size_t n = strcspn(p, " ");

		r = buf_append(out, p, n);
		if (r < 0 || !p[n])
			return r;
		col += n;
		p += n + 1;
		n = strcspn(p, " ");
		if (n > 0 && col + 1 + n > LINE_MAX_COLS) {
			r = buf_puts(out, "\r\n");
			if (r < 0)
				return r;
			col = 0;
		}
		r = buf_append(out, " ", 1);
		if (r < 0)
			return r;
		col++;
	}
}

/* "Name: value\r\n" for an unstructured field (Subject): folded if ASCII,
 * encoded-words if not (or if it would look like one). */
static int put_unstructured(struct buf *out, const char *name,
			    const char *value)
{
	int r = buf_printf(out, "%s: ", name);

	if (r < 0)
		return r;
	if (is_ascii(value) && !strstr(value, "=?"))
		r = put_folded(out, strlen(name) + 2, value);
	else
		r = put_encoded_words(out, strlen(name) + 2, value);
	return r < 0 ? r : buf_puts(out, "\r\n");
}

/*
 * "Name: mailbox\r\n" for From and To. An ASCII value is written as given.
 * Otherwise it must be "display name <addr>" with an ASCII addr: the display
 * name (without surrounding quotes) becomes encoded-words (RFC 2047 5(3)).
 */
static int put_mailbox(struct buf *out, const char *name, const char *value)
{
	const char *lt = strrchr(value, '<'), *b, *e;
	char *phrase;
	int r;

	if (is_ascii(value))
		return buf_printf(out, "%s: %s\r\n", name, value);
	if (!lt || !is_ascii(lt) || lt[strlen(lt) - 1] != '>')
		return -EINVAL;
	for (b = value; *b == ' ' || *b == '\t'; b++)
		;
	for (e = lt; e > b && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	if (e - b >= 2 && *b == '"' && e[-1] == '"') {
		b++;
		e--;
	}
	phrase = strndup(b, (size_t)(e - b));
	if (!phrase)
		return -ENOMEM;
	r = buf_printf(out, "%s: ", name);
	if (r >= 0)
		r = put_encoded_words(out, strlen(name) + 2, phrase);
	/* The address on a line of its own: the last word may fill one. */
	if (r >= 0)
		r = buf_printf(out, "\r\n %s\r\n", lt);
	free(phrase);
	return r;
}

int mime_boundary(char out[MIME_BOUNDARY_SIZE], const char *avoid, size_t n)
{
	unsigned char rnd[16];

	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -EIO;
		memcpy(out, "kip-", 4);
		hex_encode(rnd, sizeof(rnd), out + 4);
	} while (avoid && memmem(avoid, n, out, strlen(out)));
	return 0;
}

/* Undoes a failed append. */
static int rollback(struct buf *out, size_t start, int r)
{
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return r;
}

/* ----------------------------------------------------------- entities -- */

static int put_text_part(struct buf *out, const char *subtype, const char *text)
{
	int r = buf_printf(out,
			   "Content-Type: text/%s; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: base64\r\n"
			   "\r\n",
			   subtype);

	return r < 0 ? r : base64_text(out, text);
}

/* Both texts as multipart/alternative (plain first: the least preferred);
 * one alone as itself. */
static int put_body(struct buf *out, const char *text, const char *html)
{
	char b[MIME_BOUNDARY_SIZE];
	int r;

	if (!text || !html)
		return put_text_part(out, text ? "plain" : "html",
				     text ? text : html);
	r = mime_boundary(b, NULL, 0);
	if (r >= 0)
		r = buf_printf(out,
			       "Content-Type: multipart/alternative;\r\n"
			       " boundary=\"%s\"\r\n"
			       "\r\n"
			       "--%s\r\n",
			       b, b);
	if (r >= 0)
		r = put_text_part(out, "plain", text);
	if (r >= 0)
		r = buf_printf(out, "\r\n--%s\r\n", b);
	if (r >= 0)
		r = put_text_part(out, "html", html);
	if (r >= 0)
		r = buf_printf(out, "\r\n--%s--\r\n", b);
	return r;
}

static int put_attachment(struct buf *out, const struct mime_attachment *a)
{
	const char *ct =
	    a->content_type ? a->content_type : "application/octet-stream";
	int r = buf_printf(out,
			   "Content-Type: %s\r\n"
			   "Content-Transfer-Encoding: base64\r\n"
			   "Content-Disposition: attachment;"
			   " filename=\"%s\"\r\n"
			   "\r\n",
			   ct, a->filename);

	return r < 0 ? r
		     : mime_base64(out, (const unsigned char *)a->data, a->len);
}

int mime_inner(const char *from, const char *subject, const char *text,
	       const char *html, const struct mime_attachment *att,
	       size_t n_att, struct buf *out)
{
	size_t start = out->len;
	char b[MIME_BOUNDARY_SIZE];
	int r;

	if (!value_ok(from) || !value_ok(subject) || !utf8_ok(subject) ||
	    !utf8_ok(from) || (n_att && !att) || (!text && !html && !n_att) ||
	    (text && !utf8_ok(text)) || (html && !utf8_ok(html)))
		return -EINVAL;
	for (size_t i = 0; i < n_att; i++)
		if (!filename_ok(att[i].filename) ||
		    (att[i].content_type && !value_ok(att[i].content_type)) ||
		    (att[i].len && !att[i].data))
			return -EINVAL;
	r = mime_boundary(b, NULL, 0);
	if (r < 0)
		return r;
	r = buf_printf(out,
		       "Content-Type: multipart/mixed;\r\n"
		       " boundary=\"%s\";\r\n"
		       " protected-headers=\"v1\"\r\n",
		       b);
	if (r >= 0)
		r = put_unstructured(out, "Subject", subject);
	if (r >= 0)
		r = put_mailbox(out, "From", from);
	if (r >= 0)
		r = buf_puts(out, "\r\n");
	if (r >= 0 && (text || html)) {
		r = buf_printf(out, "--%s\r\n", b);
		if (r >= 0)
			r = put_body(out, text, html);
		if (r >= 0)
			r = buf_puts(out, "\r\n");
	}
	for (size_t i = 0; r >= 0 && i < n_att; i++) {
		r = buf_printf(out, "--%s\r\n", b);
		if (r >= 0)
			r = put_attachment(out, &att[i]);
		if (r >= 0)
			r = buf_puts(out, "\r\n");
	}
	if (r >= 0)
		r = buf_printf(out, "--%s--\r\n", b);
	return r < 0 ? rollback(out, start, r) : 0;
}

/* ------------------------------------------------------------ message -- */

/* RFC 5322 3.3 date-time in UTC, independent of the locale. */
static int put_date(struct buf *out, time_t when)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
					"Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
					   "May", "Jun", "Jul", "Aug",
					   "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (!gmtime_r(&when, &tm))
		return -EINVAL;
	return buf_printf(out,
			  "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
			  days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
			  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* msg-id: "<left@right>", given with or without the angle brackets. */
static int msgid_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n < 3 || !is_ascii(id) || !value_ok(id) || strpbrk(id, " \t") ||
	    !strchr(id, '@'))
		return 0;
	if (id[0] == '<')
		return id[n - 1] == '>' && !strpbrk(id + 1, "<") &&
		       !memchr(id, '>', n - 1);
	return !strpbrk(id, "<>");
}

int mime_message(const char *from, const char *to, const char *subject,
		 const char *message_id, time_t when, const char *content_type,
		 const char *body, size_t body_len, struct buf *out)
{
	return mime_message_receipt(from, to, NULL, subject, message_id, when,
				    content_type, body, body_len, out);
}

int mime_message_receipt(const char *from, const char *to,
			 const char *receipt_to, const char *subject,
			 const char *message_id, time_t when,
			 const char *content_type, const char *body,
			 size_t body_len, struct buf *out)
{
	size_t start = out->len;
	int br, r;

	if (receipt_to &&
	    (!value_ok(receipt_to) || !is_ascii(receipt_to) ||
	     strpbrk(receipt_to, " \t<>") || !strchr(receipt_to, '@')))
		return -EINVAL;
	if (!value_ok(from) || !value_ok(to) || !value_ok(subject) ||
	    !utf8_ok(from) || !utf8_ok(to) || !utf8_ok(subject) ||
	    !msgid_ok(message_id) ||
	    (content_type &&
	     (!value_ok(content_type) || !is_ascii(content_type))) ||
	    (body_len && !body) || mime_has_bare_lf(body, body_len))
		return -EINVAL;
	br = message_id[0] != '<';
	r = put_date(out, when);
	if (r >= 0)
		r = put_mailbox(out, "From", from);
	if (r >= 0)
		r = put_mailbox(out, "To", to);
	if (r >= 0)
		r = put_unstructured(out, "Subject", subject);
	if (r >= 0)
		r = buf_printf(out,
			       "Message-ID: %s%s%s\r\n"
			       "MIME-Version: 1.0\r\n"
			       "Auto-Submitted: auto-generated\r\n",
			       br ? "<" : "", message_id, br ? ">" : "");
	if (r >= 0 && receipt_to)
		r = buf_printf(out, "Disposition-Notification-To: <%s>\r\n",
			       receipt_to);
	if (r >= 0 && content_type)
		r = buf_printf(out,
			       "Content-Type: %s\r\n"
			       "Content-Transfer-Encoding: base64\r\n"
			       "Content-Disposition: attachment;"
			       " filename=smime.p7m\r\n"
			       "\r\n",
			       content_type);
	if (r >= 0)
		r = buf_append(out, body, body_len);
	/* SMTP wants the last line ended. */
	if (r >= 0 && body_len >= 1 && body[body_len - 1] != '\n')
		r = buf_puts(out, "\r\n");
	return r < 0 ? rollback(out, start, r) : 0;
}

int mime_text_entity(const char *text, struct buf *out)
{
	size_t start = out->len;
	int r;

	if (!text)
		return -EINVAL;
	r = put_text_part(out, "plain", text);
	return r < 0 ? rollback(out, start, r) : 0;
}
