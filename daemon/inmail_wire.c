/* inmail_wire.c — the frames between kipd and kip-inmail; see
 * inmail_wire.h. Linked into both: kipd encodes settings and decodes
 * verdicts, the reader the other way round. */
#include "inmail_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"

static const char *const reason_names[] = {
    [INMAIL_OK] = "ok",
    [INMAIL_MALFORMED] = "malformed",
    [INMAIL_TOO_LARGE] = "too-large",
    [INMAIL_UNSIGNED] = "unsigned",
    [INMAIL_WRAPPED] = "signature-wrapping",
    [INMAIL_BAD_SIGNATURE] = "bad-signature",
    [INMAIL_UNTRUSTED] = "untrusted",
    [INMAIL_EXPIRED] = "expired",
    [INMAIL_REVOKED] = "revoked",
    [INMAIL_SIGNER_MISMATCH] = "signer-not-sender",
    [INMAIL_UNDECRYPTABLE] = "undecryptable",
    [INMAIL_WRONG_TYPE] = "wrong-content-type",
    [INMAIL_ORG_SIGNER] = "organisation-signer",
};

const char *inmail_reason_name(enum inmail_reason r)
{
	if ((unsigned)r >= sizeof(reason_names) / sizeof(reason_names[0]))
		return "unknown";
	return reason_names[r];
}

static const char *const action_names[] = {
    [IREPORT_FAILED] = "failed",       [IREPORT_DELAYED] = "delayed",
    [IREPORT_DELIVERED] = "delivered", [IREPORT_RELAYED] = "relayed",
    [IREPORT_EXPANDED] = "expanded",
};

static const char *const disposition_names[] = {
    [IREPORT_DISPLAYED] = "displayed",
    [IREPORT_DELETED] = "deleted",
    [IREPORT_DISPATCHED] = "dispatched",
    [IREPORT_PROCESSED] = "processed",
};

/* Here rather than in inmail/ireport.c: kipd names them too, and links
 * nothing of inmail/. */
const char *ireport_action_name(enum ireport_action a)
{
	if ((unsigned)a >= sizeof(action_names) / sizeof(*action_names) ||
	    !action_names[a])
		return "?";
	return action_names[a];
}

const char *ireport_disposition_name(enum ireport_disposition d)
{
	if ((unsigned)d >=
		sizeof(disposition_names) / sizeof(*disposition_names) ||
	    !disposition_names[d])
		return "?";
	return disposition_names[d];
}

/* ------------------------------------------------------------ frames -- */

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int wire_read_frame(int fd, struct buf *out, size_t limit)
{
	unsigned char h[4];
	uint32_t n;
	int r;

	out->len = 0;
	r = fd_read_exact(fd, h, sizeof(h));
	if (r < 0)
		return r;
	n = get32(h);
	if (n > limit)
		return -EPROTO;
	if (buf_reserve(out, (size_t)n + 1) < 0)
		return -ENOMEM;
	r = fd_read_exact(fd, out->data, n);
	if (r == -EPIPE)
		r = -EPROTO;
	if (r < 0)
		return r;
	out->len = n;
	out->data[n] = '\0';
	return 0;
}

int wire_write_frame(int fd, const void *p, size_t len)
{
	unsigned char h[4];
	int r;

	if (len > UINT32_MAX)
		return -EMSGSIZE;
	put32(h, (uint32_t)len);
	r = fd_write_all(fd, h, sizeof(h));
	return r < 0 ? r : fd_write_all(fd, p, len);
}

/* ------------------------------------------------------------ fields -- */

enum tag {
	/* settings */
	T_CERT = 1,
	T_KEY,
	T_PASSPHRASE,
	T_CHAIN,
	T_CA,
	T_CRL,
	T_MAX_BYTES,
	/* the reader's readiness */
	T_ERROR = 16,
	/* verdicts */
	T_REASON = 32,
	T_DETAIL,
	T_MESSAGE_ID,
	T_FROM,
	T_SUBJECT,
	T_IN_REPLY_TO,
	T_REF,
	T_ENCRYPTED,
	T_TEXT,
	T_GOAL,
	T_ACTION,
	T_SIGNER_PEM,
	T_SIGNER_FPR,
	T_SIGNER_EMAIL,
	T_SIGNER_NOT_AFTER,
	T_CAPS_GCM,
	T_CALENDAR,
	T_REPLY_UID,
	T_REPLY_SEQUENCE,
	T_REPLY_ATTENDEE,
	T_REPLY_PARTSTAT,
	T_REPLY_ERR,
	/* a delivery or disposition notification (ireport.h) */
	T_REPORT,
	T_REPORT_ERR,
	T_REPORT_ENVID,
	T_REPORT_RETURNED,
	T_REPORT_ORIGINAL,
	T_REPORT_DISPOSITION,
	T_REPORT_MODE,
	T_REPORT_RCPTS,
	/* inside T_REPORT_RCPTS: one per recipient, holding the next five */
	T_RCPT,
	T_RCPT_ACTION,
	T_RCPT_FINAL,
	T_RCPT_ORIGINAL,
	T_RCPT_STATUS,
	T_RCPT_DIAG,
	T_LAST
};

static int put_field(struct buf *b, enum tag t, const void *p, size_t n)
{
	unsigned char h[5];

	if (n > UINT32_MAX)
		return -EMSGSIZE;
	h[0] = (unsigned char)t;
	put32(h + 1, (uint32_t)n);
	if (buf_append(b, h, sizeof(h)) < 0 || buf_append(b, p, n) < 0)
		return -ENOMEM;
	return 0;
}

static int put_str(struct buf *b, enum tag t, const char *s)
{
	return s ? put_field(b, t, s, strlen(s)) : 0;
}

static int put_int(struct buf *b, enum tag t, int64_t v)
{
	unsigned char p[8];
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (unsigned char)u;
	return put_field(b, t, p, sizeof(p));
}

/* Walks the fields of a frame. */
struct walk {
	const unsigned char *p, *end;
	enum tag tag;
	const unsigned char *val;
	size_t len;
	uint64_t seen[2]; /* tags met so far (bit per tag < 128) */
};

/* 1: a field in w->tag/val/len; 0: the end; -EPROTO. */
static int next_field(struct walk *w)
{
	unsigned t;

	if (w->p == w->end)
		return 0;
	if (w->end - w->p < 5)
		return -EPROTO;
	t = w->p[0];
	w->len = get32(w->p + 1);
	w->p += 5;
	if (t == 0 || t >= T_LAST || w->len > (size_t)(w->end - w->p))
		return -EPROTO;
	if (w->seen[t / 64] & (1ull << (t % 64)))
		return -EPROTO; /* repeated */
	w->seen[t / 64] |= 1ull << (t % 64);
	w->tag = (enum tag)t;
	w->val = w->p;
	w->p += w->len;
	return 1;
}

static bool has(const struct walk *w, enum tag t)
{
	return w->seen[t / 64] & (1ull << (t % 64));
}

static int get_int(const struct walk *w, int64_t *out)
{
	uint64_t u = 0;

	if (w->len != 8)
		return -EPROTO;
	for (int i = 0; i < 8; i++)
		u = u << 8 | w->val[i];
	*out = (int64_t)u;
	return 0;
}

/* Into a fixed buffer: no NUL inside, shorter than the buffer. */
static int get_fixed(const struct walk *w, char *out, size_t size)
{
	if (w->len >= size || memchr(w->val, '\0', w->len))
		return -EPROTO;
	memcpy(out, w->val, w->len);
	out[w->len] = '\0';
	return 0;
}

/* A malloc'd copy. Not strndup(): the value is not NUL-terminated
 * (it is followed by the next field, or by nothing). */
static int get_dup(const struct walk *w, char **out)
{
	if (memchr(w->val, '\0', w->len))
		return -EPROTO;
	*out = malloc(w->len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, w->val, w->len);
	(*out)[w->len] = '\0';
	return 0;
}

/* ---------------------------------------------------------- settings -- */

int wire_encode_settings(const struct wire_settings *s, struct buf *out)
{
	int r = 0;

	out->len = 0;
	r = r ?: put_str(out, T_CERT, s->cert);
	r = r ?: put_str(out, T_KEY, s->key);
	r = r ?: put_str(out, T_PASSPHRASE, s->passphrase);
	r = r ?: put_str(out, T_CHAIN, s->chain);
	r = r ?: put_str(out, T_CA, s->ca_bundle);
	r = r ?: put_str(out, T_CRL, s->crl);
	r = r ?: put_int(out, T_MAX_BYTES, (int64_t)s->max_bytes);
	return r;
}

int wire_decode_settings(const void *p, size_t len, struct wire_settings *s)
{
	struct walk w = {.p = p, .end = (const unsigned char *)p + len};
	char *str;
	int64_t v = 0;
	int r;

	memset(s, 0, sizeof(*s));
	while ((r = next_field(&w)) > 0) {
		const char **slot = NULL;

		switch (w.tag) {
		case T_CERT:
			slot = &s->cert;
			break;
		case T_KEY:
			slot = &s->key;
			break;
		case T_PASSPHRASE:
			slot = &s->passphrase;
			break;
		case T_CHAIN:
			slot = &s->chain;
			break;
		case T_CA:
			slot = &s->ca_bundle;
			break;
		case T_CRL:
			slot = &s->crl;
			break;
		case T_MAX_BYTES:
			r = get_int(&w, &v);
			if (r == 0 && v <= 0)
				r = -EPROTO;
			s->max_bytes = (uint64_t)v;
			break;
		default:
			r = -EPROTO;
			break;
		}
		if (slot && (r = get_dup(&w, &str)) == 0)
			*slot = str;
		if (r < 0)
			break;
	}
	if (r == 0 && !has(&w, T_MAX_BYTES))
		r = -EPROTO;
	if (r < 0)
		wire_settings_free(s);
	return r;
}

void wire_settings_free(struct wire_settings *s)
{
	if (s->passphrase)
		explicit_bzero((char *)s->passphrase, strlen(s->passphrase));
	free((char *)s->cert);
	free((char *)s->key);
	free((char *)s->passphrase);
	free((char *)s->chain);
	free((char *)s->ca_bundle);
	free((char *)s->crl);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------- error -- */

int wire_encode_error(const char *msg, struct buf *out)
{
	out->len = 0;
	return put_field(out, T_ERROR, msg, strlen(msg));
}

int wire_decode_error(const void *p, size_t len, char *msg, size_t msglen)
{
	struct walk w = {.p = p, .end = (const unsigned char *)p + len};
	int r;

	while ((r = next_field(&w)) > 0) {
		if (w.tag != T_ERROR)
			return -EPROTO;
		if (w.len >= msglen)
			w.len = msglen - 1; /* a long reason is cut */
		if (memchr(w.val, '\0', w.len))
			return -EPROTO;
		memcpy(msg, w.val, w.len);
		msg[w.len] = '\0';
	}
	return r < 0 ? r : has(&w, T_ERROR) ? 0 : -EPROTO;
}

/* ---------------------------------------------------------- verdicts -- */

/* The recipients of a report: T_REPORT_RCPTS holding one T_RCPT each. */
static int encode_rcpts(const struct ireport *rp, struct buf *out)
{
	struct buf all = BUF_INIT, one = BUF_INIT;
	int r = 0;

	for (const struct ireport_rcpt *rc = rp->rcpt;
	     r == 0 && rc < rp->rcpt + IREPORT_MAX_RCPT &&
	     rc < rp->rcpt + rp->n;
	     rc++) {

		one.len = 0;
		r = r ?: put_int(&one, T_RCPT_ACTION, rc->action);
		r = r ?: put_str(&one, T_RCPT_FINAL, rc->final_rcpt);
		r = r ?: put_str(&one, T_RCPT_ORIGINAL, rc->original_rcpt);
		r = r ?: put_str(&one, T_RCPT_STATUS, rc->status);
		r = r ?: put_str(&one, T_RCPT_DIAG, rc->diagnostic);
		r = r ?: put_field(&all, T_RCPT, one.data, one.len);
	}
	r = r ?: put_field(out, T_REPORT_RCPTS, all.data, all.len);
	buf_free(&one);
	buf_free(&all);
	return r;
}

static int encode_report(const struct wire_verdict *v, struct buf *out)
{
	const struct ireport *rp = &v->report;
	int r = 0;

	if (rp->kind == IREPORT_NONE)
		return 0;
	r = put_int(out, T_REPORT, rp->kind);
	if (!v->report_ok)
		return r ?: put_str(out, T_REPORT_ERR, v->report_err);
	r = r ?: put_str(out, T_REPORT_ENVID, rp->envid);
	r = r ?: put_str(out, T_REPORT_RETURNED, rp->returned_id);
	r = r ?: put_str(out, T_REPORT_ORIGINAL, rp->original_id);
	r = r ?: put_int(out, T_REPORT_DISPOSITION, rp->disposition);
	r = r ?: put_str(out, T_REPORT_MODE, rp->mode);
	return r ?: encode_rcpts(rp, out);
}

int wire_encode_verdict(const struct wire_verdict *v, struct buf *out)
{
	const struct inmail *m = &v->mail;
	int r = 0;

	out->len = 0;
	r = r ?: put_int(out, T_REASON, m->reason);
	r = r ?: put_str(out, T_DETAIL, m->detail);
	r = r ?: put_str(out, T_MESSAGE_ID, m->message_id);
	r = r ?: put_str(out, T_FROM, m->from);
	r = r ?: put_str(out, T_SUBJECT, m->subject);
	r = r ?: put_str(out, T_IN_REPLY_TO, m->in_reply_to);
	r = r ?: put_int(out, T_REF, m->ref);
	r = r ?: put_int(out, T_ENCRYPTED, m->encrypted);
	r = r ?: put_str(out, T_TEXT, m->text);
	r = r ?: put_int(out, T_GOAL, m->goal);
	r = r ?: put_int(out, T_ACTION, m->action);
	r = r ?: put_str(out, T_SIGNER_PEM, m->signer_pem);
	r = r ?: put_str(out, T_SIGNER_FPR, m->signer_fpr);
	r = r ?: put_str(out, T_SIGNER_EMAIL, m->signer_email);
	r = r ?: put_int(out, T_SIGNER_NOT_AFTER, m->signer_not_after);
	r = r ?: put_int(out, T_CAPS_GCM, m->caps_gcm);
	r = r ?: put_int(out, T_CALENDAR, v->calendar);
	if (v->calendar && v->reply_ok) {
		r = r ?: put_str(out, T_REPLY_UID, v->reply.uid);
		r = r ?: put_int(out, T_REPLY_SEQUENCE, v->reply.sequence);
		r = r ?: put_str(out, T_REPLY_ATTENDEE, v->reply.attendee);
		r = r ?: put_int(out, T_REPLY_PARTSTAT, v->reply.partstat);
	} else if (v->calendar) {
		r = r ?: put_str(out, T_REPLY_ERR, v->reply_err);
	}
	return r ?: encode_report(v, out);
}

/* An integer field within [lo, hi]. */
static int get_ranged(const struct walk *w, int64_t lo, int64_t hi,
		      int64_t *out)
{
	int r = get_int(w, out);

	return r < 0 ? r : *out < lo || *out > hi ? -EPROTO : 0;
}

/* A report's string: as get_fixed(), and no control characters. */
static int get_text(const struct walk *w, char *out, size_t size)
{
	for (size_t i = 0; i < w->len; i++)
		if (w->val[i] < 0x20 || w->val[i] == 0x7f)
			return -EPROTO;
	return get_fixed(w, out, size);
}

/* One recipient: its five fields, each once. */
static int decode_rcpt(const unsigned char *p, size_t len,
		       struct ireport_rcpt *rc)
{
	struct walk w = {.p = p, .end = p + len};
	int64_t n = 0;
	int r;

	while ((r = next_field(&w)) > 0) {
		switch (w.tag) {
		case T_RCPT_ACTION:
			r = get_ranged(&w, 0, IREPORT_EXPANDED, &n);
			rc->action = (enum ireport_action)n;
			break;
		case T_RCPT_FINAL:
			r = get_text(&w, rc->final_rcpt,
				     sizeof(rc->final_rcpt));
			break;
		case T_RCPT_ORIGINAL:
			r = get_text(&w, rc->original_rcpt,
				     sizeof(rc->original_rcpt));
			break;
		case T_RCPT_STATUS:
			r = get_text(&w, rc->status, sizeof(rc->status));
			break;
		case T_RCPT_DIAG:
			r = get_text(&w, rc->diagnostic,
				     sizeof(rc->diagnostic));
			break;
		default:
			r = -EPROTO;
			break;
		}
		if (r < 0)
			return r;
	}
	if (r < 0 || !has(&w, T_RCPT_ACTION) || !has(&w, T_RCPT_FINAL) ||
	    !has(&w, T_RCPT_ORIGINAL) || !has(&w, T_RCPT_STATUS) ||
	    !has(&w, T_RCPT_DIAG))
		return -EPROTO;
	return 0;
}

/* T_REPORT_RCPTS: 1 to IREPORT_MAX_RCPT fields T_RCPT. */
static int decode_rcpts(const struct walk *outer, struct ireport *rp)
{
	struct walk w = {.p = outer->val, .end = outer->val + outer->len};
	int r;

	while ((r = next_field(&w)) > 0) {
		if (w.tag != T_RCPT || rp->n == IREPORT_MAX_RCPT)
			return -EPROTO;
		w.seen[T_RCPT / 64] &= ~(1ull << (T_RCPT % 64)); /* again */
		r = decode_rcpt(w.val, w.len, &rp->rcpt[rp->n]);
		if (r < 0)
			return r;
		rp->n++;
	}
	return r < 0 ? r : rp->n ? 0 : -EPROTO;
}

static int decode_field(const struct walk *w, struct wire_verdict *v)
{
	struct inmail *m = &v->mail;
	int64_t n = 0;
	int r;

	switch (w->tag) {
	case T_REASON:
		r = get_ranged(w, INMAIL_OK, INMAIL_REASON_LAST, &n);
		m->reason = (enum inmail_reason)n;
		return r;
	case T_DETAIL:
		return get_fixed(w, m->detail, sizeof(m->detail));
	case T_MESSAGE_ID:
		return get_fixed(w, m->message_id, sizeof(m->message_id));
	case T_FROM:
		return get_fixed(w, m->from, sizeof(m->from));
	case T_SUBJECT:
		return get_fixed(w, m->subject, sizeof(m->subject));
	case T_IN_REPLY_TO:
		return get_fixed(w, m->in_reply_to, sizeof(m->in_reply_to));
	case T_REF:
		r = get_ranged(w, 0, INT64_MAX, &n);
		m->ref = n;
		return r;
	case T_ENCRYPTED:
		r = get_ranged(w, 0, 1, &n);
		m->encrypted = n;
		return r;
	case T_TEXT:
		return get_dup(w, &m->text);
	case T_GOAL:
		r = get_ranged(w, -1, 99, &n);
		m->goal = (int)n;
		return r;
	case T_ACTION:
		r = get_ranged(w, -1, 99, &n);
		m->action = (int)n;
		return r;
	case T_SIGNER_PEM:
		return get_dup(w, &m->signer_pem);
	case T_SIGNER_FPR:
		return get_fixed(w, m->signer_fpr, sizeof(m->signer_fpr));
	case T_SIGNER_EMAIL:
		return get_fixed(w, m->signer_email, sizeof(m->signer_email));
	case T_SIGNER_NOT_AFTER:
		r = get_int(w, &n);
		m->signer_not_after = (time_t)n;
		return r;
	case T_CAPS_GCM:
		r = get_ranged(w, -1, 1, &n);
		m->caps_gcm = (int)n;
		return r;
	case T_CALENDAR:
		r = get_ranged(w, 0, 1, &n);
		v->calendar = n;
		return r;
	case T_REPLY_UID:
		return get_fixed(w, v->reply.uid, sizeof(v->reply.uid));
	case T_REPLY_SEQUENCE:
		r = get_ranged(w, 0, INT32_MAX, &n);
		v->reply.sequence = (int)n;
		return r;
	case T_REPLY_ATTENDEE:
		return get_fixed(w, v->reply.attendee,
				 sizeof(v->reply.attendee));
	case T_REPLY_PARTSTAT:
		r = get_ranged(w, IREPLY_ACCEPTED, IREPLY_TENTATIVE, &n);
		v->reply.partstat = (enum ireply_partstat)n;
		return r;
	case T_REPLY_ERR:
		return get_fixed(w, v->reply_err, sizeof(v->reply_err));
	case T_REPORT:
		r = get_ranged(w, IREPORT_DSN, IREPORT_MDN, &n);
		v->report.kind = (enum ireport_kind)n;
		return r;
	case T_REPORT_ERR:
		return get_text(w, v->report_err, sizeof(v->report_err));
	case T_REPORT_ENVID:
		return get_text(w, v->report.envid, sizeof(v->report.envid));
	case T_REPORT_RETURNED:
		return get_text(w, v->report.returned_id,
				sizeof(v->report.returned_id));
	case T_REPORT_ORIGINAL:
		return get_text(w, v->report.original_id,
				sizeof(v->report.original_id));
	case T_REPORT_DISPOSITION:
		r = get_ranged(w, 0, IREPORT_PROCESSED, &n);
		v->report.disposition = (enum ireport_disposition)n;
		return r;
	case T_REPORT_MODE:
		return get_text(w, v->report.mode, sizeof(v->report.mode));
	case T_REPORT_RCPTS:
		return decode_rcpts(w, &v->report);
	default:
		return -EPROTO;
	}
}

/* Whether the report's fields agree with its kind: a DSN's recipients
 * each with an Action and a Status, an MDN's one recipient with a
 * disposition. */
static bool report_consistent(const struct ireport *rp)
{
	if (rp->n < 1)
		return false;
	if (rp->kind == IREPORT_MDN)
		return rp->n == 1 && rp->disposition != 0 && rp->mode[0] &&
		       !rp->envid[0] && !rp->rcpt[0].action &&
		       !rp->rcpt[0].status[0];
	if (rp->disposition || rp->mode[0] || rp->original_id[0])
		return false;
	for (int i = 0; i < rp->n; i++)
		if (!rp->rcpt[i].action || !rp->rcpt[i].status[0])
			return false;
	return true;
}

/* The report's fields: all of them with its kind, or its error alone. */
static int check_report(const struct walk *w, struct wire_verdict *v)
{
	static const enum tag fields[] = {
	    T_REPORT_ENVID,	  T_REPORT_RETURNED, T_REPORT_ORIGINAL,
	    T_REPORT_DISPOSITION, T_REPORT_MODE,     T_REPORT_RCPTS,
	};
	size_t have = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		have += has(w, fields[i]);
	if (!has(w, T_REPORT))
		return have || has(w, T_REPORT_ERR) ? -EPROTO : 0;
	if (has(w, T_REPORT_ERR))
		return have ? -EPROTO : 0;
	if (have != sizeof(fields) / sizeof(*fields) ||
	    !report_consistent(&v->report))
		return -EPROTO;
	v->report_ok = true;
	return 0;
}

int wire_decode_verdict(const void *p, size_t len, struct wire_verdict *v)
{
	struct walk w = {.p = p, .end = (const unsigned char *)p + len};
	static const enum tag required[] = {
	    T_REASON,
	    T_DETAIL,
	    T_MESSAGE_ID,
	    T_FROM,
	    T_SUBJECT,
	    T_IN_REPLY_TO,
	    T_REF,
	    T_ENCRYPTED,
	    T_GOAL,
	    T_ACTION,
	    T_SIGNER_FPR,
	    T_SIGNER_EMAIL,
	    T_SIGNER_NOT_AFTER,
	    T_CAPS_GCM,
	    T_CALENDAR,
	};
	int r;

	memset(v, 0, sizeof(*v));
	while ((r = next_field(&w)) > 0)
		if ((r = decode_field(&w, v)) < 0)
			break;
	for (size_t i = 0; r == 0 && i < sizeof(required) / sizeof(*required);
	     i++)
		if (!has(&w, required[i]))
			r = -EPROTO;
	if (r == 0) {
		bool reply =
		    has(&w, T_REPLY_UID) && has(&w, T_REPLY_SEQUENCE) &&
		    has(&w, T_REPLY_ATTENDEE) && has(&w, T_REPLY_PARTSTAT);
		bool any = has(&w, T_REPLY_UID) || has(&w, T_REPLY_SEQUENCE) ||
			   has(&w, T_REPLY_ATTENDEE) ||
			   has(&w, T_REPLY_PARTSTAT);
		/* text exactly when OK (or an organisation's signer); a
		 * reply or its error only with a calendar, and not both */
		if (inmail_has_text(v->mail.reason) != (v->mail.text != NULL) ||
		    (any && !reply) ||
		    (v->calendar ? reply == has(&w, T_REPLY_ERR)
				 : reply || has(&w, T_REPLY_ERR)))
			r = -EPROTO;
		v->reply_ok = reply;
	}
	if (r == 0)
		r = check_report(&w, v);
	if (r < 0)
		wire_verdict_free(v);
	return r;
}

void wire_verdict_free(struct wire_verdict *v)
{
	struct inmail *m = &v->mail;

	if (m->text) {
		explicit_bzero(m->text, strlen(m->text));
		free(m->text);
	}
	free(m->signer_pem);
	free(m->calendar);
	memset(v, 0, sizeof(*v));
}
