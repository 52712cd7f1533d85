/* test_mime.c — composing messages: structure, RFC 2047 subjects, dates,
 * CR/LF injection, and CRLF everywhere.
 *
 * Each output is decoded again here (encoded-words, base64 bodies) and
 * compared with what went in. The people and addresses are fictional.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "mime.h"
#include "t.h"

/* 2026-01-01 00:00:00 UTC, a Thursday. */
#define NEW_YEAR_2026 1767225600

/* ----------------------------------------------------------- helpers -- */

static int crlf_only(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			return 0;
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] == '\r' &&
		    (i + 1 == b->len || b->data[i + 1] != '\n'))
			return 0;
	return 1;
}

static size_t longest_line(const struct buf *b)
{
	size_t col = 0, max = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\r' || b->data[i] == '\n') {
			col = 0;
			continue;
		}
		if (++col > max)
			max = col;
	}
	return max;
}

/* Decodes base64 (line breaks allowed) into out, NUL-terminated; returns
 * the length or -1. */
static int b64_decode(const char *in, size_t n, char *out, size_t outcap)
{
	char *clean = malloc(n + 1);
	size_t m = 0;
	int len, pad = 0;

	if (!clean)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (in[i] != '\r' && in[i] != '\n')
			clean[m++] = in[i];
	if (m % 4 || m / 4 * 3 + 1 > outcap) {
		free(clean);
		return -1;
	}
	if (m && clean[m - 1] == '=')
		pad++;
	if (m > 1 && clean[m - 2] == '=')
		pad++;
	len = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean,
			      (int)m);
	free(clean);
	if (len < 0)
		return -1;
	out[len - pad] = '\0';
	return len - pad;
}

/* s[0..n) holds whole UTF-8 characters: an encoded-word must not cut one
 * (RFC 2047 5: each encoded-word must represent whole characters). */
static int whole_chars(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len = s[i] < 0x80    ? 1
			     : s[i] >= 0xf0 ? 4
			     : s[i] >= 0xe0 ? 3
			     : s[i] >= 0xc0 ? 2
					    : 0;

		if (!len || i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

/*
 * The value of header NAME in the header block at the start of s,
 * unfolded, with RFC 2047 B encoded-words (UTF-8) decoded, into out.
 * Also checks each encoded-word's length (at most 75), that each line
 * holding one is at most 76 long, and that each holds whole characters. Returns
 * 0, or -1 (not found, malformed).
 */
static int header_value(const char *s, const char *name, char *out,
			size_t outcap)
{
	size_t nlen = strlen(name), o = 0;
	const char *p = s, *end;
	char raw[4096];
	size_t r = 0;
	int first = 1;

	for (;;) {
		if (strncmp(p, "\r\n", 2) == 0 || !*p)
			return -1; /* end of the header block */
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
			break;
		p = strstr(p, "\r\n");
		if (!p)
			return -1;
		p += 2;
	}
	p += nlen + 1;
	/* Unfold: a CRLF followed by white space is dropped (RFC 5322). */
	for (;;) {
		end = strstr(p, "\r\n");
		if (!end || r + (size_t)(end - p) >= sizeof(raw))
			return -1;
		if (strstr(p, "=?") && strstr(p, "=?") < end &&
		    (size_t)(end - p) + (first ? nlen + 1 : 0) > 76)
			return -1;
		first = 0;
		memcpy(raw + r, p, (size_t)(end - p));
		r += (size_t)(end - p);
		p = end + 2;
		if (*p != ' ' && *p != '\t')
			break;
	}
	raw[r] = '\0';
	/* Decode: white space between encoded-words disappears. */
	p = raw;
	while (*p == ' ')
		p++;
	while (*p) {
		if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
			const char *q = strstr(p + 10, "?=");
			int n;

			if (!q || q + 2 - p > 75)
				return -1;
			n = b64_decode(p + 10, (size_t)(q - p - 10), out + o,
				       outcap - o);
			if (n < 0 ||
			    !whole_chars((unsigned char *)out + o, (size_t)n))
				return -1;
			o += (size_t)n;
			p = q + 2;
			if (strncmp(p + strspn(p, " \t"), "=?", 2) == 0)
				p += strspn(p, " \t");
			continue;
		}
		if (o + 1 >= outcap)
			return -1;
		out[o++] = *p++;
	}
	out[o] = '\0';
	return 0;
}

/* The decoded base64 body that follows hdr in s. */
static int body_after(const char *s, const char *hdr, char *out, size_t outcap)
{
	const char *b = strstr(s, hdr), *e;

	if (!b)
		return -1;
	b = strstr(b, "\r\n\r\n");
	if (!b)
		return -1;
	b += 4;
	e = strstr(b, "\r\n--");
	if (!e)
		e = b + strlen(b);
	return b64_decode(b, (size_t)(e - b), out, outcap);
}

/* -------------------------------------------------------------- inner -- */

static const char text[] = "Hej Karen,\n\nplanen er opdateret: møde på "
			   "fredag.\nVenlig hilsen\nÆrø Kommune\n";
static const char html[] = "<p>Hej Karen,</p><p>planen er opdateret: møde "
			   "på fredag.</p>";
static const char yaml[] = "plan: 12\nversion: 3\n";

static void test_inner(void)
{
	const struct mime_attachment att[] = {
	    {"indsatsplan-12-v3.yaml", "application/yaml; charset=utf-8", yaml,
	     sizeof(yaml) - 1},
	    {"tom.bin", NULL, NULL, 0},
	};
	struct buf out = BUF_INIT;
	char v[1024], b[64], closing[80];
	const char *p;

	T_ASSERT(mime_inner("kip@kommune.example",
			    "Indsatsplan: møde på fredag", text, html, att, 2,
			    &out) == 0);
	T_ASSERT(crlf_only(&out));
	T_ASSERT(longest_line(&out) <= 78);
	T_ASSERT(strncmp(out.data, "Content-Type: multipart/mixed;\r\n", 32) ==
		 0);
	T_CONTAINS(out.data, "\";\r\n protected-headers=\"v1\"\r\n");
	T_ASSERT(header_value(out.data, "Subject", v, sizeof(v)) == 0);
	T_STREQ(v, "Indsatsplan: møde på fredag");
	T_ASSERT(header_value(out.data, "From", v, sizeof(v)) == 0);
	T_STREQ(v, "kip@kommune.example");

	/* The top-level boundary closes the entity. */
	p = strstr(out.data, "boundary=\"");
	T_ASSERT(p && sscanf(p, "boundary=\"%63[^\"]\"", b) == 1);
	T_ASSERT(strncmp(b, "kip-", 4) == 0 && strlen(b) == 36);
	snprintf(closing, sizeof(closing), "\r\n--%s--\r\n", b);
	T_ASSERT(out.len > strlen(closing) &&
		 strcmp(out.data + out.len - strlen(closing), closing) == 0);

	/* Plain before HTML in one multipart/alternative, then the files. */
	T_CONTAINS(out.data, "Content-Type: multipart/alternative;\r\n");
	T_ASSERT(strstr(out.data, "text/plain") &&
		 strstr(out.data, "text/plain") <
		     strstr(out.data, "text/html"));
	T_ASSERT(strstr(out.data, "text/html") <
		 strstr(out.data, "indsatsplan-12-v3.yaml"));
	T_CONTAINS(out.data, "Content-Type: application/yaml; charset=utf-8\r\n"
			     "Content-Transfer-Encoding: base64\r\n"
			     "Content-Disposition: attachment; "
			     "filename=\"indsatsplan-12-v3.yaml\"\r\n\r\n");
	T_CONTAINS(out.data, "Content-Type: application/octet-stream\r\n"
			     "Content-Transfer-Encoding: base64\r\n"
			     "Content-Disposition: attachment; "
			     "filename=\"tom.bin\"\r\n");

	/* Bodies decode to what went in; text in canonical CRLF form. */
	T_ASSERT(body_after(out.data, "Content-Type: text/plain; charset=utf-8",
			    v, sizeof(v)) > 0);
	T_STREQ(v, "Hej Karen,\r\n\r\nplanen er opdateret: møde på fredag.\r\n"
		   "Venlig hilsen\r\nÆrø Kommune\r\n");
	T_ASSERT(body_after(out.data, "Content-Type: text/html; charset=utf-8",
			    v, sizeof(v)) > 0);
	T_STREQ(v, html);
	T_ASSERT(body_after(out.data, "indsatsplan-12-v3.yaml", v, sizeof(v)) >
		 0);
	T_STREQ(v, yaml); /* attachments are not touched */

	/* Two entities, two sets of boundaries. */
	{
		struct buf again = BUF_INIT;

		T_ASSERT(mime_inner("kip@kommune.example", "x", text, html, att,
				    1, &again) == 0);
		T_ASSERT(again.data && !strstr(again.data, b));
		buf_free(&again);
	}
	buf_free(&out);
}

static void test_inner_single_text(void)
{
	struct buf out = BUF_INIT;
	char v[512];

	T_ASSERT(mime_inner("kip@kommune.example", "Kun tekst", "a\r\nb", NULL,
			    NULL, 0, &out) == 0);
	T_ASSERT(crlf_only(&out));
	T_ASSERT(!strstr(out.data, "multipart/alternative"));
	T_ASSERT(!strstr(out.data, "text/html"));
	T_ASSERT(body_after(out.data, "text/plain", v, sizeof(v)) > 0);
	T_STREQ(v, "a\r\nb");
	buf_free(&out);

	T_ASSERT(mime_inner("kip@kommune.example", "Kun HTML", NULL, "<p>x</p>",
			    NULL, 0, &out) == 0);
	T_ASSERT(!strstr(out.data, "text/plain"));
	T_CONTAINS(out.data, "text/html");
	buf_free(&out);
}

static void test_inner_refuses(void)
{
	const struct mime_attachment quote = {"a\"b.txt", NULL, "x", 1};
	const struct mime_attachment crlf_ct = {
	    "a.txt", "text/plain\r\nX-Evil: 1", "x", 1};
	const struct mime_attachment nonascii = {"møde.txt", NULL, "x", 1};
	struct buf out = BUF_INIT;

	buf_puts(&out, "keep");
	T_ASSERT(mime_inner("kip@kommune.example", "a\r\nBcc: x@y", "t", NULL,
			    NULL, 0, &out) == -EINVAL);
	T_ASSERT(mime_inner("kip@kommune.example\nBcc: x@y", "s", "t", NULL,
			    NULL, 0, &out) == -EINVAL);
	T_ASSERT(mime_inner("kip@kommune.example", "s", "t", NULL, &quote, 1,
			    &out) == -EINVAL);
	T_ASSERT(mime_inner("kip@kommune.example", "s", "t", NULL, &crlf_ct, 1,
			    &out) == -EINVAL);
	T_ASSERT(mime_inner("kip@kommune.example", "s", "t", NULL, &nonascii, 1,
			    &out) == -EINVAL);
	T_ASSERT(mime_inner("kip@kommune.example", "s", NULL, NULL, NULL, 0,
			    &out) == -EINVAL);
	/* Not UTF-8: a Latin-1 "ø". */
	T_ASSERT(mime_inner("kip@kommune.example",
			    "m\xf8"
			    "de",
			    "t", NULL, NULL, 0, &out) == -EINVAL);
	T_ASSERT(mime_inner("kip@kommune.example", "s",
			    "m\xf8"
			    "de",
			    NULL, NULL, 0, &out) == -EINVAL);
	T_STREQ(out.data, "keep");
	buf_free(&out);
}

/* ------------------------------------------------------------ subject -- */

static void test_subjects(void)
{
	static const char *const subjects[] = {
	    "Besked fra kip",
	    "Æ",
	    "æøå ÆØÅ",
	    /* ASCII that would look like an encoded-word */
	    "Prøv =?UTF-8?B?x?=",
	    "=?UTF-8?B?SGVq?=",
	    /* long ASCII: folded at spaces */
	    "Indsatsplan nummer 12 version 3 er godkendt af alle deltagere "
	    "og sendt ud til koordinatoren og de andre deltagere i dag",
	    /* long Danish: many encoded-words, characters not cut */
	    "Koordineret indsatsplan for borger på Ærø: møde på fredag "
	    "kl. 10 på Sygehus Sønderjylland, Åbenrå, med sygeplejersken, "
	    "sagsbehandleren og jobkonsulenten — husk medicinlisten 💊",
	    "ø",
	};
	char v[2048];

	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		struct buf out = BUF_INIT;
		int r = mime_message(
		    "kip@kommune.example", "karen.koordinator@kommune.example",
		    subjects[i], "1@kip.example", NEW_YEAR_2026, NULL,
		    "Content-Type: text/plain\r\n\r\nx\r\n", 31, &out);

		T_ASSERT(r == 0);
		T_ASSERT(crlf_only(&out));
		T_ASSERT(longest_line(&out) <= 78);
		T_ASSERT(header_value(out.data, "Subject", v, sizeof(v)) == 0);
		T_STREQ(v, subjects[i]);
		if (strcmp(subjects[i], "Besked fra kip") == 0)
			T_CONTAINS(out.data, "\r\nSubject: Besked fra kip\r\n");
		if (i == 1)
			T_CONTAINS(out.data,
				   "\r\nSubject: =?UTF-8?B?w4Y=?=\r\n");
		if (i == 4) /* not left to be decoded as "Hej" */
			T_ASSERT(
			    !strstr(out.data, "Subject: =?UTF-8?B?SGVq?="));
		buf_free(&out);
	}
}

/* ------------------------------------------------------------ message -- */

static void test_message_envelope(void)
{
	static const char ct[] = "application/pkcs7-mime; "
				 "smime-type=enveloped-data; name=smime.p7m";
	static const char body[] = "MIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n";
	struct buf out = BUF_INIT;

	T_ASSERT(mime_message(
		     "kip@kommune.example", "karen.koordinator@kommune.example",
		     "Besked fra kip", "out-17.v2@kip.kommune.example",
		     NEW_YEAR_2026, ct, body, sizeof(body) - 1, &out) == 0);
	T_STREQ(out.data,
		"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
		"From: kip@kommune.example\r\n"
		"To: karen.koordinator@kommune.example\r\n"
		"Subject: Besked fra kip\r\n"
		"Message-ID: <out-17.v2@kip.kommune.example>\r\n"
		"MIME-Version: 1.0\r\n"
		"Auto-Submitted: auto-generated\r\n"
		"Content-Type: application/pkcs7-mime; "
		"smime-type=enveloped-data; name=smime.p7m\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"Content-Disposition: attachment; filename=smime.p7m\r\n"
		"\r\n"
		"MIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n");
	buf_free(&out);

	/* A Message-ID given with its brackets keeps them, once. */
	T_ASSERT(mime_message("kip@kommune.example", "a@b.example", "s",
			      "<x@y>", 86400 * 59, ct, body, sizeof(body) - 1,
			      &out) == 0);
	T_CONTAINS(out.data, "\r\nMessage-ID: <x@y>\r\n");
	T_ASSERT(strncmp(out.data, "Date: Sun, 01 Mar 1970 00:00:00 +0000\r\n",
			 39) == 0);
	buf_free(&out);
}

/* A read receipt asked for: one header among the outer ones, to a bare
 * address; nothing that could end the header early gets in. */
static void test_message_receipt(void)
{
	static const char ct[] = "application/pkcs7-mime; "
				 "smime-type=enveloped-data; name=smime.p7m";
	static const char body[] = "MIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n";
	static const char *const bad[] = {
	    "kip@kommune.example\r\nBcc: x@y.example",
	    "kip@kommune.example\n",
	    "<kip@kommune.example>",
	    "Kip <kip@kommune.example>",
	    "kip",
	    "kipø@kommune.example",
	};
	struct buf out = BUF_INIT;

	T_ASSERT(mime_message_receipt(
		     "kip@kommune.example", "karen.koordinator@kommune.example",
		     "kip@kommune.example", "Besked fra kip",
		     "out-17.v2@kip.kommune.example", NEW_YEAR_2026, ct, body,
		     sizeof(body) - 1, &out) == 0);
	T_CONTAINS(out.data,
		   "Auto-Submitted: auto-generated\r\n"
		   "Disposition-Notification-To: <kip@kommune.example>\r\n"
		   "Content-Type: application/pkcs7-mime");
	T_ASSERT(crlf_only(&out));
	buf_free(&out);
	T_ASSERT(mime_message_receipt("kip@kommune.example", "a@b.example",
				      NULL, "s", "<x@y>", NEW_YEAR_2026, ct,
				      body, sizeof(body) - 1, &out) == 0);
	T_ASSERT(!strstr(out.data, "Disposition-Notification-To"));
	buf_free(&out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ASSERT(mime_message_receipt(
			     "kip@kommune.example", "a@b.example", bad[i], "s",
			     "<x@y>", NEW_YEAR_2026, ct, body, sizeof(body) - 1,
			     &out) == -EINVAL);
		T_ASSERT(out.len == 0);
	}
	buf_free(&out);
}

static void test_message_entity(void)
{
	struct buf entity = BUF_INIT, out = BUF_INIT;
	char v[256];

	T_ASSERT(mime_text_entity("Hej\nmed dig ø", &entity) == 0);
	T_ASSERT(crlf_only(&entity));
	T_ASSERT(entity.data &&
		 strstr(entity.data,
			"Content-Type: text/plain; charset=utf-8\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n") ==
		     entity.data);
	T_ASSERT(body_after(entity.data, "text/plain", v, sizeof(v)) > 0);
	T_STREQ(v, "Hej\r\nmed dig ø");

	T_ASSERT(
	    mime_message("Kommunens koordinering æøå <kip@kommune.example>",
			 "\"Karen Kø\" <karen.koordinator@kommune.example>",
			 "Indkaldelse", "m1@kip.example", NEW_YEAR_2026, NULL,
			 entity.data, entity.len, &out) == 0);
	T_ASSERT(crlf_only(&out));
	T_ASSERT(longest_line(&out) <= 78);
	/* The entity's headers follow the outer ones; the body as given. */
	T_CONTAINS(out.data, "Auto-Submitted: auto-generated\r\n"
			     "Content-Type: text/plain; charset=utf-8\r\n");
	T_ASSERT(out.len >= entity.len &&
		 memcmp(out.data + out.len - entity.len, entity.data,
			entity.len) == 0);
	T_ASSERT(!strstr(out.data, "Content-Disposition"));
	/* Display names in UTF-8 become encoded-words, the address not. */
	T_ASSERT(header_value(out.data, "From", v, sizeof(v)) == 0);
	T_STREQ(v, "Kommunens koordinering æøå <kip@kommune.example>");
	T_ASSERT(header_value(out.data, "To", v, sizeof(v)) == 0);
	T_STREQ(v, "Karen Kø <karen.koordinator@kommune.example>");
	buf_free(&entity);
	buf_free(&out);
}

static void test_message_refuses(void)
{
	static const char ct[] = "application/pkcs7-mime; "
				 "smime-type=enveloped-data; name=smime.p7m";
	static const struct {
		const char *from, *to, *subject, *id, *ct, *body;
	} bad[] = {
	    {"kip@kommune.example\r\nBcc: x@evil.example", "a@b.example", "s",
	     "1@x", ct, "QQ==\r\n"},
	    {"kip@kommune.example", "a@b.example\r\nBcc: x@evil.example", "s",
	     "1@x", ct, "QQ==\r\n"},
	    {"kip@kommune.example", "a@b.example", "s\nBcc: x@evil.example",
	     "1@x", ct, "QQ==\r\n"},
	    {"kip@kommune.example", "a@b.example", "s\r", "1@x", ct,
	     "QQ==\r\n"},
	    {"kip@kommune.example", "a@b.example", "s", "1@x\r\nBcc: x", ct,
	     "QQ==\r\n"},
	    {"kip@kommune.example", "a@b.example", "s", "1@x",
	     "text/plain\r\nBcc: x@evil.example", "QQ==\r\n"},
	    /* a bare LF in the body (SMTP smuggling) */
	    {"kip@kommune.example", "a@b.example", "s", "1@x", ct,
	     "QQ==\n.\nMAIL FROM:<x@evil.example>\r\n"},
	    {"kip@kommune.example", "a@b.example", "s", "no at sign", ct,
	     "QQ==\r\n"},
	    {"kip@kommune.example", "a@b.example", "s", "1@x", ct, NULL},
	    {"Kø <kø@kommune.example>", "a@b.example", "s", "1@x", ct,
	     "QQ==\r\n"},
	};
	struct buf out = BUF_INIT;

	buf_puts(&out, "keep");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = mime_message(
		    bad[i].from, bad[i].to, bad[i].subject, bad[i].id,
		    NEW_YEAR_2026, bad[i].ct, bad[i].body,
		    bad[i].body ? strlen(bad[i].body) : 5, &out);

		if (r != -EINVAL)
			printf("  case %zu: %d\n", i, r);
		T_ASSERT(r == -EINVAL);
	}
	T_STREQ(out.data, "keep");
	buf_free(&out);
}

/* The one bare-LF check every outgoing message and signed entity passes. */
static void test_bare_lf(void)
{
	static const struct {
		const char *s;
		int bare;
	} cases[] = {
	    {"", 0},	    {"abc", 0},	     {"a\r\nb\r\n", 0}, {"\r\n\r\n", 0},
	    {"\n", 1},	    {"\nabc", 1},    {"a\r\nb\n", 1},	{"a\n\r\n", 1},
	    {"a\r\n\n", 1}, {"a\rb\r\n", 0}, {"\r\r\n\n", 1},
	};
	/* One LF past many CRLF lines, as in a large base64 body. */
	struct buf big = BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = mime_has_bare_lf(cases[i].s, strlen(cases[i].s));

		if (r != cases[i].bare)
			printf("  case %zu: %d\n", i, r);
		T_ASSERT(r == cases[i].bare);
	}
	/* Only N bytes are looked at. */
	T_ASSERT(mime_has_bare_lf("ab\n", 2) == 0);
	for (int i = 0; i < 1000; i++)
		buf_puts(&big, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n");
	T_ASSERT(mime_has_bare_lf(big.data, big.len) == 0);
	buf_puts(&big, "QQ==\n");
	T_ASSERT(mime_has_bare_lf(big.data, big.len) == 1);
	buf_free(&big);
}

T_MAIN(T_CASE(test_inner), T_CASE(test_inner_single_text),
       T_CASE(test_inner_refuses), T_CASE(test_subjects),
       T_CASE(test_message_envelope), T_CASE(test_message_receipt),
       T_CASE(test_message_entity), T_CASE(test_message_refuses),
       T_CASE(test_bare_lf))
