/* ireport.c — delivery and disposition notifications; see ireport.h.
 *
 * GMime finds the parts of the multipart/report and decodes them; the
 * status fields themselves are read here, line by line, because each one
 * the report is judged by must be there once, with a value of the form
 * the RFC gives, and nothing longer than its place.
 */
#include "ireport.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "inmail.h"

/* Longest unfolded field value read; longer ones are cut (and refused
 * where the value must be whole). */
#define FIELD_MAX 1024
/* Bytes of returned headers looked through for the Message-ID. */
#define HEADERS_MAX (256u << 10)

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ------------------------------------------------------------ fields -- */

struct field {
	char name[64];
	char value[FIELD_MAX];
	bool cut; /* the value was longer */
};

static bool blank_line(const char *s, const char *end)
{
	while (s < end && *s != '\n' && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	return s == end || *s == '\n';
}

static const char *line_end(const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));

	return nl ? nl + 1 : end;
}

/* Skips blank lines; whether anything is left. */
static bool skip_blank(const char **p, const char *end)
{
	while (*p < end && blank_line(*p, end))
		*p = line_end(*p, end);
	return *p < end;
}

/* Appends [s, e) to f->value, without CR and LF. */
static void append(struct field *f, size_t *n, const char *s, const char *e)
{
	for (; s < e; s++) {
		if (*s == '\r' || *s == '\n')
			continue;
		if (*n + 1 < sizeof(f->value))
			f->value[(*n)++] = *s;
		else
			f->cut = true;
	}
	f->value[*n] = '\0';
}

/*
 * The next field of the block at *p into F, its continuation lines
 * unfolded: 1, or 0 at the block's end (a blank line, or the end), or
 * -EINVAL for a line that is not a field. LENIENT (returned headers):
 * such lines are skipped instead.
 */
static int next_field(const char **p, const char *end, struct field *f,
		      bool lenient, char *err, size_t errlen)
{
	for (;;) {
		const char *s = *p, *e, *colon, *ne;
		size_t n = 0, nl;

		if (s >= end || blank_line(s, end))
			return 0;
		e = line_end(s, end);
		colon = memchr(s, ':', (size_t)(e - s));
		*p = e;
		nl = colon ? (size_t)(colon - s) : 0;
		while (nl > 0 && (s[nl - 1] == ' ' || s[nl - 1] == '\t'))
			nl--;
		if (!colon || nl == 0 || nl >= sizeof(f->name) || *s == ' ' ||
		    *s == '\t') {
			if (lenient)
				continue;
			return fail(err, errlen, "a line that is not a field");
		}
		for (size_t i = 0; i < nl; i++)
			if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
				if (lenient)
					goto next;
				return fail(err, errlen,
					    "a field name that is not plain");
			}
		memcpy(f->name, s, nl);
		f->name[nl] = '\0';
		f->cut = false;
		append(f, &n, colon + 1, e);
		/* continuation lines */
		while (*p < end && (**p == ' ' || **p == '\t') &&
		       !blank_line(*p, end)) {
			ne = line_end(*p, end);
			append(f, &n, *p, ne);
			*p = ne;
		}
		return 1;
	next:;
	}
}

/* The fields a report is judged by. */
enum key {
	K_FINAL,
	K_ORIGINAL,
	K_ACTION,
	K_STATUS,
	K_DIAG,
	K_ENVID,
	K_OMID,
	K_DISP,
	K_COUNT
};

static const char *const key_names[K_COUNT] = {
    [K_FINAL] = "Final-Recipient",
    [K_ORIGINAL] = "Original-Recipient",
    [K_ACTION] = "Action",
    [K_STATUS] = "Status",
    [K_DIAG] = "Diagnostic-Code",
    [K_ENVID] = "Original-Envelope-Id",
    [K_OMID] = "Original-Message-ID",
    [K_DISP] = "Disposition",
};

#define RCPT_KEYS                                                              \
	(1u << K_FINAL | 1u << K_ORIGINAL | 1u << K_ACTION | 1u << K_STATUS |  \
	 1u << K_DIAG)

/* One block of the status part: the judged fields it holds. */
struct block {
	unsigned seen;
	struct field f[K_COUNT];
};

/* Reads the block at *p (after skip_blank()). 0 or -EINVAL. */
static int read_block(const char **p, const char *end, struct block *b,
		      char *err, size_t errlen)
{
	struct field f;
	int r;

	b->seen = 0;
	while ((r = next_field(p, end, &f, false, err, errlen)) > 0) {
		for (int k = 0; k < K_COUNT; k++) {
			if (strcasecmp(f.name, key_names[k]) != 0)
				continue;
			if (b->seen & 1u << k)
				return fail(err, errlen, "%s twice",
					    key_names[k]);
			b->seen |= 1u << k;
			b->f[k] = f;
		}
	}
	return r;
}

/* ------------------------------------------------------------ values -- */

/* [*s, *e) without spaces around. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* "rfc822; addr-spec" into ret (CAP bytes), lower-cased; "" for another
 * address type. 0, or -1 when it is not of that form. */
static int read_address(const struct field *f, char *ret, size_t cap)
{
	const char *v = f->value, *semi = strchr(v, ';');
	const char *ts = v, *te = semi, *as, *ae;
	size_t n;

	ret[0] = '\0';
	if (f->cut || !semi)
		return -1;
	as = semi + 1;
	ae = v + strlen(v);
	trim(&ts, &te);
	trim(&as, &ae);
	if (ts == te)
		return -1;
	if ((size_t)(te - ts) != 6 || strncasecmp(ts, "rfc822", 6) != 0)
		return 0; /* x400, utf-8, ...: no address of kip's */
	if (ae - as >= 2 && *as == '<' && ae[-1] == '>') {
		as++;
		ae--;
	}
	n = (size_t)(ae - as);
	if (n == 0 || n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		ret[i] = (char)(as[i] >= 'A' && as[i] <= 'Z' ? as[i] - 'A' + 'a'
							     : as[i]);
	ret[n] = '\0';
	const char *at = strchr(ret, '@');
	if (!inmail_plain_ascii(ret, cap) || !at || at == ret || !at[1] ||
	    strchr(at + 1, '@')) {
		ret[0] = '\0';
		return -1;
	}
	return 0;
}

/* The first word of F's value (up to a space, tab or '(') into ret. */
static int first_word(const struct field *f, char *ret, size_t cap)
{
	const char *s = f->value, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s;
	while (*e && *e != ' ' && *e != '\t' && *e != '(')
		e++;
	if (e == s || (size_t)(e - s) >= cap || f->cut)
		return -1;
	memcpy(ret, s, (size_t)(e - s));
	ret[e - s] = '\0';
	return 0;
}

static bool digits(const char **s, int min, int max)
{
	int n = 0;

	while (**s >= '0' && **s <= '9') {
		(*s)++;
		n++;
	}
	return n >= min && n <= max;
}

/* Status: "C.S.D" (RFC 3463), C 2, 4 or 5. */
static int read_status(const struct field *f, char *ret, size_t cap)
{
	const char *s;

	if (first_word(f, ret, cap) < 0)
		return -1;
	s = ret;
	if (*s != '2' && *s != '4' && *s != '5')
		return -1;
	s++;
	if (*s++ != '.' || !digits(&s, 1, 3) || *s++ != '.' ||
	    !digits(&s, 1, 3) || *s)
		return -1;
	return 0;
}

static int read_action(const struct field *f, enum ireport_action *ret)
{
	static const char *const names[] = {"failed", "delayed", "delivered",
					    "relayed", "expanded"};
	char w[16];

	if (first_word(f, w, sizeof(w)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strcasecmp(w, names[i]) == 0) {
			*ret = (enum ireport_action)(IREPORT_FAILED + (int)i);
			return 0;
		}
	return -1;
}

/* Diagnostic-Code: the text after its type ("smtp; 550 ..."). */
static void read_diagnostic(const struct field *f, char *ret, size_t cap)
{
	const char *s = strchr(f->value, ';');

	s = s ? s + 1 : f->value;
	while (*s == ' ' || *s == '\t')
		s++;
	inmail_copy_text(ret, cap, s);
	/* runs of white space (the folds') become one space */
	size_t j = 0;
	for (size_t i = 0; ret[i]; i++)
		if (ret[i] != ' ' || (j > 0 && ret[j - 1] != ' '))
			ret[j++] = ret[i];
	while (j > 0 && ret[j - 1] == ' ')
		j--;
	ret[j] = '\0';
}

/* A msg-id ("<id>", comments allowed) into ret, without <>. */
static int read_msgid(const char *v, char *ret, size_t cap)
{
	char *id = g_mime_utils_decode_message_id(v);
	int r = id && inmail_plain_ascii(id, cap) ? 0 : -1;

	if (r == 0)
		memcpy(ret, id, strlen(id) + 1);
	g_free(id);
	return r;
}

/* Disposition: "action-mode/sending-mode; type[/modifier]". */
static int read_disposition(const struct field *f, struct ireport *out)
{
	static const char *const names[] = {"displayed", "deleted",
					    "dispatched", "processed"};
	const char *v = f->value, *semi = strchr(v, ';');
	const char *ms = v, *me = semi, *t;
	size_t n;

	if (f->cut || !semi)
		return -1;
	trim(&ms, &me);
	n = (size_t)(me - ms);
	if (n == 0 || n >= sizeof(out->mode) || !memchr(ms, '/', n))
		return -1;
	memcpy(out->mode, ms, n);
	out->mode[n] = '\0';
	if (!inmail_plain_ascii(out->mode, sizeof(out->mode)))
		return -1;
	for (t = semi + 1; *t == ' ' || *t == '\t';)
		t++;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		size_t k = strlen(names[i]);

		if (strncasecmp(t, names[i], k) == 0 &&
		    strchr("/; \t(", t[k])) {
			out->disposition = (enum ireport_disposition)(
			    IREPORT_DISPLAYED + (int)i);
			return 0;
		}
	}
	return -1;
}

/* ------------------------------------------------------ status parts -- */

/* One recipient block of a DSN into out->rcpt[out->n++]. */
static int dsn_recipient(const struct block *b, struct ireport *out, char *err,
			 size_t errlen)
{
	struct ireport_rcpt *rc;

	if (out->n == IREPORT_MAX_RCPT)
		return fail(err, errlen, "more than %d recipients",
			    IREPORT_MAX_RCPT);
	for (int k = K_FINAL; k <= K_STATUS; k++)
		if (k != K_ORIGINAL && !(b->seen & 1u << k))
			return fail(err, errlen, "no %s", key_names[k]);
	rc = &out->rcpt[out->n];
	if (read_address(&b->f[K_FINAL], rc->final_rcpt,
			 sizeof(rc->final_rcpt)) < 0)
		return fail(err, errlen, "bad Final-Recipient");
	if ((b->seen & 1u << K_ORIGINAL) &&
	    read_address(&b->f[K_ORIGINAL], rc->original_rcpt,
			 sizeof(rc->original_rcpt)) < 0)
		return fail(err, errlen, "bad Original-Recipient");
	if (read_action(&b->f[K_ACTION], &rc->action) < 0)
		return fail(err, errlen, "bad Action");
	if (read_status(&b->f[K_STATUS], rc->status, sizeof(rc->status)) < 0)
		return fail(err, errlen, "bad Status");
	if (b->seen & 1u << K_DIAG)
		read_diagnostic(&b->f[K_DIAG], rc->diagnostic,
				sizeof(rc->diagnostic));
	out->n++;
	return 0;
}

static int read_dsn(const char *p, const char *end, struct ireport *out,
		    char *err, size_t errlen)
{
	struct block *b = calloc(1, sizeof(*b));
	int r = 0, blocks = 0;

	if (!b)
		return -ENOMEM;
	while (r == 0 && skip_blank(&p, end)) {
		r = read_block(&p, end, b, err, errlen);
		if (r < 0)
			break;
		if (blocks++ == 0 && !(b->seen & RCPT_KEYS)) {
			/* the per-message block */
			const struct field *f = &b->f[K_ENVID];
			const char *s, *e;

			if (!(b->seen & 1u << K_ENVID))
				continue; /* f was never filled in */
			s = f->value;
			e = s + strlen(s);
			trim(&s, &e);
			if (f->cut || (size_t)(e - s) >= sizeof(out->envid))
				r = fail(err, errlen,
					 "bad Original-Envelope-Id");
			else {
				memcpy(out->envid, s, (size_t)(e - s));
				out->envid[e - s] = '\0';
				if (!inmail_plain_ascii(out->envid,
							sizeof(out->envid)))
					r = fail(err, errlen,
						 "bad Original-Envelope-Id");
			}
			continue;
		}
		r = dsn_recipient(b, out, err, errlen);
	}
	free(b);
	if (r == 0 && out->n == 0)
		r = fail(err, errlen, "no recipient");
	return r;
}

static int read_mdn(const char *p, const char *end, struct ireport *out,
		    char *err, size_t errlen)
{
	struct block *b = malloc(sizeof(*b));
	struct ireport_rcpt *rc = &out->rcpt[0];
	int r = 0;

	if (!b)
		return -ENOMEM;
	if (!skip_blank(&p, end))
		r = fail(err, errlen, "no Final-Recipient");
	if (r == 0)
		r = read_block(&p, end, b, err, errlen);
	if (r == 0 && skip_blank(&p, end))
		r = fail(err, errlen, "more than one block");
	if (r == 0 && !(b->seen & 1u << K_FINAL))
		r = fail(err, errlen, "no Final-Recipient");
	if (r == 0 && !(b->seen & 1u << K_DISP))
		r = fail(err, errlen, "no Disposition");
	if (r == 0 && read_address(&b->f[K_FINAL], rc->final_rcpt,
				   sizeof(rc->final_rcpt)) < 0)
		r = fail(err, errlen, "bad Final-Recipient");
	if (r == 0 && (b->seen & 1u << K_ORIGINAL) &&
	    read_address(&b->f[K_ORIGINAL], rc->original_rcpt,
			 sizeof(rc->original_rcpt)) < 0)
		r = fail(err, errlen, "bad Original-Recipient");
	if (r == 0 && (b->seen & 1u << K_OMID) &&
	    (b->f[K_OMID].cut ||
	     read_msgid(b->f[K_OMID].value, out->original_id,
			sizeof(out->original_id)) < 0))
		r = fail(err, errlen, "bad Original-Message-ID");
	if (r == 0 && read_disposition(&b->f[K_DISP], out) < 0)
		r = fail(err, errlen, "bad Disposition");
	if (r == 0)
		out->n = 1;
	free(b);
	return r;
}

/* ----------------------------------------------------------- parts -- */

static bool ct_is(GMimeContentType *ct, const char *type, const char *sub)
{
	return ct && g_mime_content_type_is_type(ct, type, sub);
}

/* A part's content, decoded, into a malloc'd buffer with a NUL after it;
 * at most MAX bytes (more: -EFBIG, or with CUT the first MAX). */
static int part_bytes(GMimePart *part, size_t max, bool cut, char **ret,
		      size_t *retlen)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *ba;
	size_t n;
	int r = -EBADMSG;

	if (dw && g_mime_data_wrapper_write_to_stream(dw, mem) < 0)
		goto out;
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	n = ba->len;
	if (n > max && !cut) {
		r = -EFBIG;
		goto out;
	}
	if (n > max)
		n = max;
	*ret = malloc(n + 1);
	if (!*ret) {
		r = -ENOMEM;
		goto out;
	}
	if (n)
		memcpy(*ret, ba->data, n);
	(*ret)[n] = '\0';
	*retlen = n;
	r = 0;
out:
	g_object_unref(mem);
	return r;
}

/* The Message-ID among the header fields of [p, end) (up to the first
 * blank line). */
static int headers_msgid(const char *p, const char *end, struct ireport *out,
			 char *err, size_t errlen)
{
	struct field *f = malloc(sizeof(*f));
	int r, found = 0;

	if (!f)
		return -ENOMEM;
	while ((r = next_field(&p, end, f, true, err, errlen)) > 0) {
		if (strcasecmp(f->name, "Message-ID") != 0)
			continue;
		if (found++) {
			r = fail(err, errlen,
				 "two Message-IDs in the returned headers");
			break;
		}
		if (f->cut || read_msgid(f->value, out->returned_id,
					 sizeof(out->returned_id)) < 0) {
			r = fail(err, errlen,
				 "bad Message-ID in the returned headers");
			break;
		}
	}
	free(f);
	return r;
}

/* The Message-ID of the returned message or headers O. */
static int returned(GMimeObject *o, struct ireport *out, char *err,
		    size_t errlen)
{
	if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m =
		    g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		const char *raw;

		if (!m || !inmail_count_headers(GMIME_OBJECT(m), "Message-ID"))
			return 0;
		if (inmail_count_headers(GMIME_OBJECT(m), "Message-ID") > 1)
			return fail(err, errlen,
				    "two Message-IDs in the returned headers");
		raw = g_mime_object_get_header(GMIME_OBJECT(m), "Message-ID");
		if (!raw || strlen(raw) >= FIELD_MAX ||
		    read_msgid(raw, out->returned_id,
			       sizeof(out->returned_id)) < 0)
			return fail(err, errlen,
				    "bad Message-ID in the returned headers");
		return 0;
	}
	if (GMIME_IS_PART(o)) {
		char *h = NULL;
		size_t n = 0;
		int r = part_bytes(GMIME_PART(o), HEADERS_MAX, true, &h, &n);

		if (r == -EBADMSG)
			return fail(err, errlen,
				    "returned headers not decodable");
		if (r == 0)
			r = headers_msgid(h, h + n, out, err, errlen);
		free(h);
		return r;
	}
	return fail(err, errlen, "returned headers not decodable");
}

static bool is_status(enum ireport_kind kind, GMimeContentType *ct)
{
	if (kind == IREPORT_DSN)
		return ct_is(ct, "message", "delivery-status") ||
		       ct_is(ct, "message", "global-delivery-status");
	return ct_is(ct, "message", "disposition-notification") ||
	       ct_is(ct, "message", "global-disposition-notification");
}

static bool is_returned(GMimeContentType *ct)
{
	return ct_is(ct, "text", "rfc822-headers") ||
	       ct_is(ct, "message", "global-headers") ||
	       ct_is(ct, "message", "rfc822") || ct_is(ct, "message", "global");
}

/* The parts of the multipart/report TOP. */
static int read_report(GMimeObject *top, struct ireport *out, char *err,
		       size_t errlen)
{
	GMimeObject *status = NULL, *ret = NULL;
	char *text = NULL;
	size_t len = 0;
	int n, r;

	n = GMIME_IS_MULTIPART(top)
		? g_mime_multipart_get_count(GMIME_MULTIPART(top))
		: 0;
	if (n <= 0)
		return fail(err, errlen, "multipart/report without parts");
	if (n > IREPORT_MAX_PARTS)
		return fail(err, errlen, "more than %d parts",
			    IREPORT_MAX_PARTS);
	for (int i = 0; i < n; i++) {
		GMimeObject *o =
		    g_mime_multipart_get_part(GMIME_MULTIPART(top), i);
		GMimeContentType *ct = g_mime_object_get_content_type(o);

		if (is_status(out->kind, ct)) {
			if (status)
				return fail(err, errlen, "two status parts");
			status = o;
		} else if (is_returned(ct)) {
			if (ret)
				return fail(err, errlen,
					    "two returned messages");
			ret = o;
		}
	}
	if (!status || !GMIME_IS_PART(status))
		return fail(err, errlen, "no message/%s part",
			    out->kind == IREPORT_DSN
				? "delivery-status"
				: "disposition-notification");
	r = part_bytes(GMIME_PART(status), IREPORT_MAX_STATUS, false, &text,
		       &len);
	if (r == -EFBIG)
		return fail(err, errlen, "status part over %d bytes",
			    IREPORT_MAX_STATUS);
	if (r == 0 && memchr(text, '\0', len))
		r = -EBADMSG;
	if (r == -EBADMSG)
		r = fail(err, errlen, "status part not decodable");
	if (r == 0)
		r = out->kind == IREPORT_DSN
			? read_dsn(text, text + len, out, err, errlen)
			: read_mdn(text, text + len, out, err, errlen);
	free(text);
	if (r == 0 && ret)
		r = returned(ret, out, err, errlen);
	return r;
}

int ireport_parse(const char *raw, size_t len, struct ireport *out, char *err,
		  size_t errlen)
{
	GMimeStream *st;
	GMimeParser *ps;
	GMimeMessage *msg;
	GMimeObject *top;
	GMimeContentType *ct;
	const char *type;
	enum ireport_kind kind = IREPORT_NONE;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (!raw)
		return 0;
	inmail_init();
	st = g_mime_stream_mem_new_with_buffer(raw, len);
	ps = g_mime_parser_new_with_stream(st);
	g_mime_parser_set_format(ps, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(ps, NULL);
	g_object_unref(ps);
	g_object_unref(st);
	if (!msg)
		return 0;
	top = g_mime_message_get_mime_part(msg);
	ct = top ? g_mime_object_get_content_type(top) : NULL;
	type = ct_is(ct, "multipart", "report")
		   ? g_mime_content_type_get_parameter(ct, "report-type")
		   : NULL;
	if (type && g_ascii_strcasecmp(type, "delivery-status") == 0)
		kind = IREPORT_DSN;
	else if (type &&
		 g_ascii_strcasecmp(type, "disposition-notification") == 0)
		kind = IREPORT_MDN;
	if (kind != IREPORT_NONE) {
		out->kind = kind;
		r = read_report(top, out, err, errlen);
		if (r < 0) {
			memset(out, 0, sizeof(*out));
			out->kind = kind;
		}
		if (r == -ENOMEM)
			snprintf(err, errlen, "out of memory");
	}
	g_object_unref(msg);
	return r;
}
