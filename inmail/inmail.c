/* inmail.c — inbound mail verdicts: GMime for MIME and headers, OpenSSL
 * (through smime.c) for S/MIME; see inmail.h.
 *
 * The bytes a signature covers come out of smime_verify() and are the
 * bytes parsed here for the text: GMime never gets to choose which part
 * was signed. GMime parses the outer message only for its headers, the
 * top-level type and the structure of unsigned mail.
 *
 * Nothing here logs; every detail is written for a quarantine list and
 * names only types, algorithms and limits.
 */
#include "inmail.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "smime.h"

/* Header bytes read from a message over the size limit. */
#define HEADER_MAX (256u << 10)

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init_once(void)
{
	g_mime_init();
}

void inmail_init(void)
{
	pthread_once(&gmime_once, gmime_init_once);
}

void inmail_shutdown(void)
{
	g_mime_shutdown();
}

struct ctx {
	const struct inmail_keys *keys;
	struct inmail *out;
	bool sender_differs;
	char inner_subject[512];
};

static void __attribute__((format(printf, 3, 4)))
verdict(struct inmail *m, enum inmail_reason r, const char *fmt, ...)
{
	va_list ap;

	m->reason = r;
	va_start(ap, fmt);
	vsnprintf(m->detail, sizeof(m->detail), fmt, ap);
	va_end(ap);
}

/* A MIME token from the mail, fit for a detail: short and plain, else
 * a placeholder (what a sender writes there is theirs, not ours). */
static const char *safe_token(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!s)
		return "(none)";
	if (n == 0 || n > 64)
		return "(unusual)";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("/.+-_", s[i]))
			return "(unusual)";
	return s;
}

/* ------------------------------------------------------------ strings -- */

bool inmail_plain_ascii(const char *s, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	return true;
}

static void copy_id(char *dst, size_t cap, const char *id)
{
	dst[0] = '\0';
	if (id && inmail_plain_ascii(id, cap))
		memcpy(dst, id, strlen(id) + 1);
}

void inmail_copy_text(char *dst, size_t cap, const char *s)
{
	char *valid = g_utf8_make_valid(s, -1);
	size_t n = strlen(valid);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)valid[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)valid[i] < 0x20 || valid[i] == 0x7f
			     ? ' '
			     : valid[i];
	dst[n] = '\0';
	g_free(valid);
}

int64_t inmail_parse_ref(const char *s)
{
	for (const char *p = s; p && *p; p++) {
		int64_t n = 0;
		const char *d;

		if (strncasecmp(p, "KIP-", 4) != 0)
			continue;
		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '-'))
			continue;
		for (d = p + 4; isdigit((unsigned char)*d) && d - p < 4 + 16;
		     d++)
			n = n * 10 + (*d - '0');
		if (d == p + 4 || isalnum((unsigned char)*d) || n == 0 ||
		    n > 1000000000000000LL)
			continue;
		return n;
	}
	return 0;
}

/* Lower-cases the start of s into key (ASCII, and Å to å). */
static void fold_key(const char *s, char *key, size_t cap)
{
	size_t i = 0;

	while (*s && i + 2 < cap) {
		if ((unsigned char)s[0] == 0xc3 &&
		    (unsigned char)s[1] == 0x85) {
			key[i++] = (char)0xc3;
			key[i++] = (char)0xa5;
			s += 2;
		} else {
			key[i++] = (char)tolower((unsigned char)*s++);
		}
	}
	key[i] = '\0';
}

/* "KEY: N" at the start of seg (n bytes): N, -1 malformed, 0 not KEY. */
static int keyed_number(const char *seg, size_t n, const char *key)
{
	size_t k = strlen(key), i;
	char folded[16];
	long v = 0;

	if (n < k)
		return 0;
	memcpy(folded, seg, k < sizeof(folded) - 1 ? k : sizeof(folded) - 1);
	folded[k < sizeof(folded) - 1 ? k : sizeof(folded) - 1] = '\0';
	{
		char tmp[16];

		fold_key(folded, tmp, sizeof(tmp));
		if (strcmp(tmp, key) != 0)
			return 0;
	}
	i = k;
	while (i < n && (seg[i] == ' ' || seg[i] == '\t'))
		i++;
	if (i >= n || seg[i] != ':')
		return 0;
	i++;
	while (i < n && (seg[i] == ' ' || seg[i] == '\t'))
		i++;
	if (i >= n || !isdigit((unsigned char)seg[i]))
		return -1;
	for (; i < n && isdigit((unsigned char)seg[i]); i++) {
		v = v * 10 + (seg[i] - '0');
		if (v > 99)
			return -1;
	}
	while (i < n && (seg[i] == ' ' || seg[i] == '\t' || seg[i] == '\r'))
		i++;
	if (i != n || v < 1)
		return -1;
	return (int)v;
}

void inmail_parse_numbers(const char *text, int *retgoal, int *retaction)
{
	static const char *const goal_keys[] = {"m\xc3\xa5l", "goal"};
	static const char *const action_keys[] = {"indsats", "action"};
	int goal = 0, action = 0;
	const char *line = text;

	while (line && *line && (!goal || !action)) {
		const char *end = strchr(line, '\n'), *seg = line, *segend;

		if (!end)
			end = line + strlen(line);
		while (seg < end && (*seg == ' ' || *seg == '\t'))
			seg++;
		if (seg < end && *seg == '>')
			seg = end; /* quoted */
		while (seg < end) {
			size_t n;

			segend = seg;
			while (segend < end && !strchr("/;,", *segend))
				segend++;
			n = (size_t)(segend - seg);
			while (n > 0 &&
			       (seg[n - 1] == ' ' || seg[n - 1] == '\t'))
				n--;
			for (size_t k = 0; k < 2; k++) {
				int v;

				if (!goal &&
				    (v = keyed_number(seg, n, goal_keys[k])))
					goal = v;
				if (!action &&
				    (v = keyed_number(seg, n, action_keys[k])))
					action = v;
			}
			seg = segend < end ? segend + 1 : end;
			while (seg < end && (*seg == ' ' || *seg == '\t'))
				seg++;
		}
		line = *end ? end + 1 : end;
	}
	*retgoal = goal;
	*retaction = action;
}

/* -------------------------------------------------------------- GMime -- */

static GMimeParser *parser_for(const char *p, size_t n, GMimeStream **stream)
{
	GMimeParser *ps;

	*stream = g_mime_stream_mem_new_with_buffer(p, n);
	ps = g_mime_parser_new_with_stream(*stream);
	g_mime_parser_set_format(ps, GMIME_FORMAT_MESSAGE);
	return ps;
}

static GMimeMessage *parse_message(const char *p, size_t n)
{
	GMimeStream *st;
	GMimeParser *ps = parser_for(p, n, &st);
	GMimeMessage *m = g_mime_parser_construct_message(ps, NULL);

	g_object_unref(ps);
	g_object_unref(st);
	return m;
}

static GMimeObject *parse_part(const char *p, size_t n)
{
	GMimeStream *st;
	GMimeParser *ps = parser_for(p, n, &st);
	GMimeObject *o = g_mime_parser_construct_part(ps, NULL);

	g_object_unref(ps);
	g_object_unref(st);
	return o;
}

static bool ct_is(GMimeContentType *ct, const char *type, const char *sub)
{
	return ct && g_mime_content_type_is_type(ct, type, sub);
}

static bool is_pkcs7_mime(GMimeContentType *ct)
{
	return ct_is(ct, "application", "pkcs7-mime") ||
	       ct_is(ct, "application", "x-pkcs7-mime");
}

static bool is_pkcs7_signature(GMimeContentType *ct)
{
	return ct_is(ct, "application", "pkcs7-signature") ||
	       ct_is(ct, "application", "x-pkcs7-signature");
}

int inmail_count_headers(GMimeObject *o, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int n = 0, count = hl ? g_mime_header_list_get_count(hl) : 0;

	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *hn = h ? g_mime_header_get_name(h) : NULL;

		if (hn && g_ascii_strcasecmp(hn, name) == 0)
			n++;
	}
	return n;
}

/* The one mailbox in L, lower-cased: 0, -ENOENT none, -E2BIG several or
 * a group, -EINVAL not a plain ASCII addr-spec. */
static int one_mailbox(InternetAddressList *l, char *ret, size_t cap)
{
	int n = l ? internet_address_list_length(l) : 0, found = 0;
	const char *addr = NULL, *at;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			found++;
			addr = internet_address_mailbox_get_idn_addr(
			    INTERNET_ADDRESS_MAILBOX(ia));
		} else {
			found += 2;
		}
	}
	if (found == 0)
		return -ENOENT;
	if (found > 1)
		return -E2BIG;
	if (!addr || !inmail_plain_ascii(addr, cap))
		return -EINVAL;
	at = strchr(addr, '@');
	if (!at || at == addr || !at[1] || strchr(at + 1, '@'))
		return -EINVAL;
	for (size_t i = 0; addr[i]; i++)
		ret[i] = (char)tolower((unsigned char)addr[i]);
	ret[strlen(addr)] = '\0';
	return 0;
}

/* The outer headers into out. 0, or the From problem (one_mailbox(),
 * -E2BIG also for several From headers). */
static int read_headers(struct ctx *c, GMimeMessage *msg)
{
	GMimeObject *o = GMIME_OBJECT(msg);
	struct inmail *m = c->out;
	const char *s;
	char sender[256];
	int r;

	copy_id(m->message_id, sizeof(m->message_id),
		g_mime_message_get_message_id(msg));
	s = g_mime_message_get_subject(msg);
	if (s)
		inmail_copy_text(m->subject, sizeof(m->subject), s);
	s = g_mime_object_get_header(o, "In-Reply-To");
	if (s) {
		char *id = g_mime_utils_decode_message_id(s);

		copy_id(m->in_reply_to, sizeof(m->in_reply_to), id);
		g_free(id);
	}
	r = one_mailbox(g_mime_message_get_from(msg), m->from, sizeof(m->from));
	if (r == 0 && inmail_count_headers(o, "From") > 1)
		r = -E2BIG;
	if (r < 0)
		m->from[0] = '\0';
	if (inmail_count_headers(o, "Sender") > 0) {
		int rs = one_mailbox(g_mime_message_get_sender(msg), sender,
				     sizeof(sender));

		c->sender_differs = rs < 0 || strcmp(sender, m->from) != 0;
	}
	return r;
}

/* ------------------------------------------------------------- content -- */

static bool utf8_charset(const char *cs)
{
	return !cs || !g_ascii_strcasecmp(cs, "utf-8") ||
	       !g_ascii_strcasecmp(cs, "utf8") ||
	       !g_ascii_strcasecmp(cs, "us-ascii") ||
	       !g_ascii_strcasecmp(cs, "ascii");
}

/* A text part decoded, in UTF-8 with LF line ends (malloc'd). 0,
 * -EFBIG over max, -EBADMSG undecodable, -ENOMEM. */
static int decode_text(GMimePart *part, size_t max, char **ret, size_t *retlen)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	const char *cs = g_mime_object_get_content_type_parameter(
	    GMIME_OBJECT(part), "charset");
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *ba;
	char *conv = NULL, *text = NULL;
	const char *src;
	gsize convlen = 0;
	size_t n, j = 0;
	int r = -EBADMSG;

	if (dw && g_mime_data_wrapper_write_to_stream(dw, mem) < 0)
		goto out;
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	n = ba->len;
	src = n ? (const char *)ba->data : "";
	if (n > max) {
		r = -EFBIG;
		goto out;
	}
	if (n && !utf8_charset(cs)) {
		conv = g_convert(src, (gssize)n, "UTF-8",
				 g_mime_charset_iconv_name(cs), NULL, &convlen,
				 NULL);
		if (!conv)
			goto out;
		src = conv;
		n = convlen;
	}
	if (memchr(src, 0, n) || !g_utf8_validate(src, (gssize)n, NULL))
		goto out;
	text = malloc(n + 1);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!(src[i] == '\r' && i + 1 < n && src[i + 1] == '\n'))
			text[j++] = src[i];
	text[j] = '\0';
	*ret = text;
	*retlen = j;
	r = 0;
out:
	g_free(conv);
	g_object_unref(mem);
	return r;
}

/* A METHOD:REPLY line in a decoded calendar object. */
static bool method_reply(const char *s)
{
	for (const char *line = s; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		if (n == 12 && strncasecmp(line, "METHOD:REPLY", 12) == 0)
			return true;
		line = end ? end + 1 : NULL;
	}
	return false;
}

struct walk {
	size_t max_bytes;
	int parts, depth, limit_depth, limit_parts;
	bool smime;	 /* an S/MIME part below the top */
	int in_message;	 /* inside an attached message/rfc822 */
	GMimePart *text; /* the first text/plain, not an attachment */
	char *calendar;	 /* the first iMIP REPLY (malloc'd) */
	int err;	 /* -ENOMEM */
};

static void walk_part(GMimePart *part, GMimeContentType *ct, struct walk *w)
{
	GMimeContentDisposition *cd =
	    g_mime_object_get_content_disposition(GMIME_OBJECT(part));
	bool attachment = cd && g_mime_content_disposition_is_attachment(cd);
	const char *method;
	size_t n;
	char *s;
	int r;

	if (ct_is(ct, "text", "plain") && !attachment && !w->text)
		w->text = part;
	if (!ct_is(ct, "text", "calendar") || w->calendar)
		return;
	r = decode_text(part, w->max_bytes, &s, &n);
	if (r == -ENOMEM)
		w->err = r;
	if (r < 0)
		return;
	method = g_mime_content_type_get_parameter(ct, "method");
	if ((method && g_ascii_strcasecmp(method, "REPLY") == 0) ||
	    method_reply(s))
		w->calendar = s;
	else
		free(s);
}

/* Walks the tree below o (at depth, the top being 1): counts, finds the
 * text and an iMIP reply, notes S/MIME parts below the top. Stops
 * descending past the limits (the caller then refuses). */
static void walk(GMimeObject *o, int depth, struct walk *w)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	w->parts++;
	if (depth > w->depth)
		w->depth = depth;
	if (depth > w->limit_depth || w->parts > w->limit_parts)
		return;
	if (depth > 1 && (ct_is(ct, "multipart", "signed") ||
			  is_pkcs7_mime(ct) || is_pkcs7_signature(ct)))
		w->smime = true;
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		int n = g_mime_multipart_get_count(mp);

		for (int i = 0; i < n; i++)
			walk(g_mime_multipart_get_part(mp, i), depth + 1, w);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *msg =
		    g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		GMimeObject *top =
		    msg ? g_mime_message_get_mime_part(msg) : NULL;

		/* A forwarded message is looked through for S/MIME parts,
		 * but its text and calendar are not the sender's. */
		if (top) {
			w->in_message++;
			walk(top, depth + 1, w);
			w->in_message--;
		}
	} else if (GMIME_IS_PART(o) && !w->in_message) {
		walk_part(GMIME_PART(o), ct, w);
	}
}

static void walk_run(GMimeObject *o, struct walk *w, size_t max_bytes,
		     int limit_depth, int limit_parts)
{
	memset(w, 0, sizeof(*w));
	w->max_bytes = max_bytes;
	w->limit_depth = limit_depth;
	w->limit_parts = limit_parts;
	walk(o, 1, w);
}

/* 1 (verdict set) when w is over its limits. */
static int over_limits(struct ctx *c, const struct walk *w, const char *what)
{
	if (w->depth > w->limit_depth) {
		verdict(c->out, INMAIL_TOO_LARGE,
			"%s: nesting deeper than %d levels", what,
			w->limit_depth);
		return 1;
	}
	if (w->parts > w->limit_parts) {
		verdict(c->out, INMAIL_TOO_LARGE, "%s: more than %d parts",
			what, w->limit_parts);
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------- the signed part -- */

/* The signed entity: protected headers, limits, the text. */
static int signed_content(struct ctx *c, const char *p, size_t n)
{
	struct inmail *m = c->out;
	GMimeObject *o = parse_part(p, n);
	const char *s;
	struct walk w;
	size_t len;
	int r = 0;

	if (!o) {
		verdict(m, INMAIL_MALFORMED, "signed content is not MIME");
		return 0;
	}
	memset(&w, 0, sizeof(w));
	s = g_mime_object_get_header(o, "Subject");
	if (s)
		inmail_copy_text(c->inner_subject, sizeof(c->inner_subject), s);
	s = g_mime_object_get_header(o, "From");
	if (s) {
		InternetAddressList *l = internet_address_list_parse(NULL, s);
		char inner[256];
		int rf = one_mailbox(l, inner, sizeof(inner));

		if (l)
			g_object_unref(l);
		if (rf < 0 || inmail_count_headers(o, "From") > 1 ||
		    strcmp(inner, m->from) != 0) {
			verdict(m, INMAIL_SIGNER_MISMATCH,
				"the protected From is not the From address");
			goto out;
		}
	}
	walk_run(o, &w, c->keys->max_bytes, INMAIL_MAX_DEPTH, INMAIL_MAX_PARTS);
	if (w.err) {
		r = w.err;
		goto out;
	}
	if (w.calendar) {
		free(m->calendar);
		m->calendar = w.calendar;
		w.calendar = NULL;
	}
	if (over_limits(c, &w, "signed content"))
		goto out;
	if (!w.text) {
		verdict(m, INMAIL_WRONG_TYPE,
			"no text/plain part in the signed content");
		goto out;
	}
	r = decode_text(w.text, c->keys->max_bytes, &m->text, &len);
	if (r == -EFBIG)
		verdict(m, INMAIL_TOO_LARGE, "text part over %zu bytes",
			c->keys->max_bytes);
	else if (r == -EBADMSG)
		verdict(m, INMAIL_MALFORMED,
			"text part not decodable to UTF-8 (charset %s)",
			safe_token(g_mime_object_get_content_type_parameter(
			    GMIME_OBJECT(w.text), "charset")));
	if (r == -ENOMEM || r < 0)
		goto out;
	inmail_parse_numbers(m->text, &m->goal, &m->action);
	verdict(m, INMAIL_OK, "signed by a trusted signer, who is the sender");
out:
	if (r == -EFBIG || r == -EBADMSG)
		r = 0;
	free(w.calendar);
	g_object_unref(o);
	return r;
}

static const enum inmail_reason sig_reasons[] = {
    [SMIME_SIG_OK] = INMAIL_OK,
    [SMIME_SIG_MALFORMED] = INMAIL_MALFORMED,
    [SMIME_SIG_WRONG_TYPE] = INMAIL_WRONG_TYPE,
    [SMIME_SIG_BAD] = INMAIL_BAD_SIGNATURE,
    [SMIME_SIG_UNTRUSTED] = INMAIL_UNTRUSTED,
    [SMIME_SIG_EXPIRED] = INMAIL_EXPIRED,
    [SMIME_SIG_REVOKED] = INMAIL_REVOKED,
};

static int verify_step(struct ctx *c, const char *raw, size_t len)
{
	struct inmail *m = c->out;
	struct smime_signed v;
	int r;

	if (!c->keys->trust) {
		verdict(m, INMAIL_UNTRUSTED, "no trust store");
		return 0;
	}
	r = smime_verify(c->keys->trust, raw, len, m->from, c->keys->now, &v);
	if (r < 0)
		return r;
	verdict(m, sig_reasons[v.verdict], "%s", v.reason);
	if (v.verdict != SMIME_SIG_OK)
		goto out;
	m->signer_pem = v.signer_pem;
	v.signer_pem = NULL;
	memcpy(m->signer_fpr, v.signer_fpr, sizeof(m->signer_fpr));
	memcpy(m->signer_email, v.signer_email, sizeof(m->signer_email));
	m->signer_not_after = v.signer_not_after;
	m->caps_gcm = v.caps_gcm;
	if (c->sender_differs) {
		verdict(m, INMAIL_SIGNER_MISMATCH,
			"the Sender header names another address than From");
		goto out;
	}
	if (!v.names_email && !v.names_domain) {
		verdict(m, INMAIL_SIGNER_MISMATCH,
			"the signer's certificate does not name the From "
			"address");
		goto out;
	}
	r = signed_content(c, v.content, v.content_len);
	/* For the From's domain, not the address: an organisation's
	 * certificate, which counts only if kipd was told so (orgcert.h).
	 * Any fault of the content it signed ranks after the signer not
	 * being the sender, as for any other signer; a reply to an
	 * invitation, the calendar object alone, is no fault (intake.c
	 * takes it as a reply, not a report). */
	if (r == 0 && !v.names_email &&
	    (m->reason == INMAIL_OK ||
	     (m->reason == INMAIL_WRONG_TYPE && m->calendar)))
		verdict(m, INMAIL_ORG_SIGNER,
			"signed by a certificate for the sender's domain, not "
			"for the sender");
	else if (r == 0 && !v.names_email)
		verdict(m, INMAIL_SIGNER_MISMATCH,
			"the signer's certificate does not name the From "
			"address");
out:
	smime_signed_clear(&v);
	return r;
}

static int open_entity(struct ctx *c, GMimeObject *top, const char *raw,
		       size_t len, int level);

/* An envelope: decrypted with the organisation's key, its content
 * opened as the top again. FALLBACK: no smime-type was declared, so a
 * signed-data is verified instead. */
static int decrypt_step(struct ctx *c, const char *raw, size_t len, int level,
			bool fallback)
{
	struct inmail *m = c->out;
	char err[256] = "", *plain = NULL;
	size_t plen = 0;
	GMimeObject *inner;
	int r;

	r = smime_decrypt(c->keys->org, raw, len, &plain, &plen, err,
			  sizeof(err));
	if (r == -EMEDIUMTYPE && fallback)
		return verify_step(c, raw, len);
	if (r == -ENOMEM)
		return r;
	if (r == 0 && level > 0) {
		verdict(m, INMAIL_WRONG_TYPE, "encrypted twice");
		goto out;
	}
	if (r < 0) {
		verdict(m,
			r == -EMEDIUMTYPE ? INMAIL_WRONG_TYPE
			: r == -EBADMSG	  ? INMAIL_MALFORMED
					  : INMAIL_UNDECRYPTABLE,
			"%s%s", r == -EMEDIUMTYPE ? "declared encrypted, " : "",
			err);
		r = 0;
		goto out;
	}
	m->encrypted = true;
	inner = parse_part(plain, plen);
	if (!inner) {
		verdict(m, INMAIL_MALFORMED, "decrypted content is not MIME");
		goto out;
	}
	if (inmail_count_headers(inner, "Content-Type") > 1)
		verdict(m, INMAIL_MALFORMED,
			"several Content-Type headers in the decrypted entity");
	else
		r = open_entity(c, inner, plain, plen, level + 1);
	g_object_unref(inner);
out:
	if (plain) {
		explicit_bzero(plain, plen);
		free(plain);
	}
	return r;
}

/* The top of the message (level 0) or of the decrypted entity (1):
 * one of the accepted forms, or the reason why not. */
static int open_entity(struct ctx *c, GMimeObject *top, const char *raw,
		       size_t len, int level)
{
	GMimeContentType *ct = g_mime_object_get_content_type(top);
	struct inmail *m = c->out;
	const char *v;
	struct walk w;

	if (ct_is(ct, "multipart", "signed")) {
		v = g_mime_content_type_get_parameter(ct, "protocol");
		if (!v ||
		    (g_ascii_strcasecmp(v, "application/pkcs7-signature") &&
		     g_ascii_strcasecmp(v, "application/x-pkcs7-signature"))) {
			verdict(m, INMAIL_WRONG_TYPE,
				"multipart/signed with protocol %s",
				safe_token(v));
			return 0;
		}
		return verify_step(c, raw, len);
	}
	if (is_pkcs7_mime(ct)) {
		v = g_mime_content_type_get_parameter(ct, "smime-type");
		if (!v)
			return decrypt_step(c, raw, len, level, true);
		if (!g_ascii_strcasecmp(v, "signed-data"))
			return verify_step(c, raw, len);
		if (!g_ascii_strcasecmp(v, "enveloped-data") ||
		    !g_ascii_strcasecmp(v, "authEnveloped-data"))
			return decrypt_step(c, raw, len, level, false);
		verdict(m, INMAIL_WRONG_TYPE,
			"application/pkcs7-mime with "
			"smime-type %s",
			safe_token(v));
		return 0;
	}
	if (is_pkcs7_signature(ct)) {
		verdict(m, INMAIL_WRONG_TYPE, "a signature without content");
		return 0;
	}
	walk_run(top, &w, c->keys->max_bytes, INMAIL_MAX_DEPTH + 2,
		 INMAIL_MAX_PARTS + 2);
	free(w.calendar);
	if (w.err)
		return w.err;
	if (w.smime)
		verdict(m, INMAIL_WRAPPED, "an S/MIME part inside %s/%s",
			safe_token(g_mime_content_type_get_media_type(ct)),
			safe_token(g_mime_content_type_get_media_subtype(ct)));
	else
		verdict(m, INMAIL_UNSIGNED, "no S/MIME signature (%s/%s)",
			safe_token(g_mime_content_type_get_media_type(ct)),
			safe_token(g_mime_content_type_get_media_subtype(ct)));
	return 0;
}

/* ---------------------------------------------------------- the mail -- */

/* Only the headers of a message over the limit. */
static int headers_only(struct ctx *c, const char *raw, size_t len)
{
	size_t n = len < HEADER_MAX ? len : HEADER_MAX, end = n;
	GMimeMessage *msg;

	for (size_t i = 0; i + 1 < n; i++) {
		if (raw[i] == '\n' &&
		    (raw[i + 1] == '\n' ||
		     (raw[i + 1] == '\r' && i + 2 < n && raw[i + 2] == '\n'))) {
			end = i + 1;
			break;
		}
	}
	msg = parse_message(raw, end);
	if (msg) {
		read_headers(c, msg);
		g_object_unref(msg);
	}
	verdict(c->out, INMAIL_TOO_LARGE, "message over %zu bytes",
		c->keys->max_bytes);
	return 0;
}

static int parse_mail(struct ctx *c, const char *raw, size_t len)
{
	struct inmail *m = c->out;
	GMimeMessage *msg;
	GMimeObject *top;
	struct walk w;
	int r = 0, rf;

	if (len > c->keys->max_bytes)
		return headers_only(c, raw, len);
	msg = parse_message(raw, len);
	if (!msg) {
		verdict(m, INMAIL_MALFORMED, "not a MIME message");
		return 0;
	}
	rf = read_headers(c, msg);
	top = g_mime_message_get_mime_part(msg);
	if (!top) {
		verdict(m, INMAIL_MALFORMED, "no body");
		goto out;
	}
	/* Room for the S/MIME wrapping around the signed content. */
	walk_run(top, &w, c->keys->max_bytes, INMAIL_MAX_DEPTH + 2,
		 INMAIL_MAX_PARTS + 2);
	m->calendar = w.calendar;
	if (w.err) {
		r = w.err;
		goto out;
	}
	if (over_limits(c, &w, "message"))
		goto out;
	if (rf < 0) {
		verdict(m, INMAIL_MALFORMED, "%s",
			rf == -ENOENT  ? "no From address"
			: rf == -E2BIG ? "more than one From address"
				       : "the From address is not a plain "
					 "addr-spec");
		goto out;
	}
	if (inmail_count_headers(GMIME_OBJECT(msg), "Content-Type") > 1) {
		verdict(m, INMAIL_MALFORMED, "several Content-Type headers");
		goto out;
	}
	r = open_entity(c, top, raw, len, 0);
out:
	g_object_unref(msg);
	return r;
}

int inmail_parse(const char *raw, size_t len, const struct inmail_keys *keys,
		 struct inmail *out)
{
	struct ctx c;
	int r;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->caps_gcm = -1;
	if (!raw || !keys)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.keys = keys;
	c.out = out;
	inmail_init();
	r = parse_mail(&c, raw, len);
	if (r < 0) {
		inmail_free(out);
		memset(out, 0, sizeof(*out));
		return r;
	}
	out->ref = inmail_parse_ref(c.inner_subject);
	if (!out->ref)
		out->ref = inmail_parse_ref(out->subject);
	if (c.inner_subject[0])
		memcpy(out->subject, c.inner_subject, sizeof(out->subject));
	if (!inmail_has_text(out->reason) && out->text) {
		explicit_bzero(out->text, strlen(out->text));
		free(out->text);
		out->text = NULL;
		out->goal = out->action = 0;
	}
	/* a reply signed by an organisation's certificate: the calendar
	 * object alone, so no text, but the verdict is one that carries it */
	if (inmail_has_text(out->reason) && !out->text &&
	    !(out->text = strdup(""))) {
		inmail_free(out);
		memset(out, 0, sizeof(*out));
		return -ENOMEM;
	}
	return 0;
}

void inmail_free(struct inmail *m)
{
	if (!m)
		return;
	if (m->text) {
		explicit_bzero(m->text, strlen(m->text));
		free(m->text);
	}
	free(m->signer_pem);
	free(m->calendar);
	m->text = m->signer_pem = m->calendar = NULL;
}
