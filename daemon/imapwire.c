/* imapwire.c — IMAP responses read and taken apart; see imapwire.h. */
#include "imapwire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 16 /* nested parenthesized lists */

static int seterr(char *err, size_t errlen, int code, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "imap: %s", what);
	return code;
}

/* ---- reading ----------------------------------------------------------- */

void imapwire_reset(struct imapwire_resp *r)
{
	r->text.len = 0;
	if (r->text.data)
		r->text.data[0] = '\0';
	r->lits.len = 0;
	r->n_lit = 0;
	r->line_start = 0;
	r->lit_left = 0;
}

void imapwire_free(struct imapwire_resp *r)
{
	if (r->lits.data)
		explicit_bzero(r->lits.data, r->lits.cap);
	if (r->text.data)
		explicit_bzero(r->text.data, r->text.cap);
	buf_free(&r->text);
	buf_free(&r->lits);
	imapwire_reset(r);
}

/* If the line that ends r->text (from r->line_start) announces a literal
 * "{N}" (or "~{N}"), its N (up to 10 digits) into *ret and true. */
static bool literal_at_end(const struct imapwire_resp *r, size_t *ret)
{
	const char *t = r->text.data;
	size_t start = r->line_start, e = r->text.len, i, v = 0;

	if (e - start < 3 || t[e - 1] != '}')
		return false;
	i = e - 1;
	while (i > start && t[i - 1] >= '0' && t[i - 1] <= '9')
		i--;
	if (i == e - 1 || i == start || t[i - 1] != '{' || e - 1 - i > 10)
		return false;
	for (size_t k = i; k < e - 1; k++)
		v = v * 10 + (size_t)(t[k] - '0');
	*ret = v;
	return true;
}

/* A line has ended: 1 when the response is whole, 0 when a literal
 * follows, or an error. */
static int end_of_line(struct imapwire_resp *r, size_t budget, char *err,
		       size_t errlen)
{
	size_t n;

	if (r->text.len > r->line_start &&
	    r->text.data[r->text.len - 1] == '\r')
		r->text.data[--r->text.len] = '\0';
	if (!literal_at_end(r, &n))
		return 1;
	if (r->n_lit == IMAPWIRE_MAX_LITERALS)
		return seterr(err, errlen, -EIO,
			      "too many literals in a response");
	if (n > budget - r->lits.len)
		return seterr(err, errlen, -EFBIG,
			      "the server sends more than the maximum "
			      "message size");
	if (buf_reserve(&r->lits, n) < 0)
		return seterr(err, errlen, -ENOMEM, "out of memory");
	r->lit[r->n_lit++] = (struct imapwire_lit){
	    .at = r->text.len, .off = r->lits.len, .len = n};
	r->lit_left = n;
	r->line_start = r->text.len;
	return 0;
}

int imapwire_feed(struct imapwire_resp *r, const char *p, size_t len,
		  size_t budget, size_t *used, char *err, size_t errlen)
{
	size_t i = 0;
	int rc = 0;

	if (budget < r->lits.len) /* a smaller budget than before */
		budget = r->lits.len;
	while (i < len && rc == 0) {
		const char *nl;
		size_t n;

		if (r->lit_left > 0) {
			n = len - i < r->lit_left ? len - i : r->lit_left;
			/* reserved in end_of_line(): cannot fail */
			buf_append(&r->lits, p + i, n);
			i += n;
			r->lit_left -= n;
			continue;
		}
		nl = memchr(p + i, '\n', len - i);
		n = nl ? (size_t)(nl - (p + i)) : len - i;
		if (n > IMAPWIRE_MAX_TEXT - r->text.len) {
			rc =
			    seterr(err, errlen, -EIO, "a response is too long");
			break;
		}
		if (buf_append(&r->text, p + i, n) < 0) {
			rc = seterr(err, errlen, -ENOMEM, "out of memory");
			break;
		}
		i += n;
		if (!nl)
			break;
		i++;
		rc = end_of_line(r, budget, err, errlen);
	}
	*used = i;
	return rc;
}

/* ---- walking a response ------------------------------------------------ */

struct cur {
	const struct imapwire_resp *r;
	size_t pos;
	size_t li; /* the next literal */
};

static int peek(const struct cur *c)
{
	return c->pos < c->r->text.len ? (unsigned char)c->r->text.data[c->pos]
				       : -1;
}

static bool eat(struct cur *c, int ch)
{
	if (peek(c) != ch)
		return false;
	c->pos++;
	return true;
}

/* Case-insensitive keyword WORD followed by a space, ')' or the end. */
static bool eat_word(struct cur *c, const char *word)
{
	size_t n = strlen(word);
	int next;

	if (c->r->text.len - c->pos < n ||
	    strncasecmp(c->r->text.data + c->pos, word, n) != 0)
		return false;
	next = c->pos + n < c->r->text.len
		   ? (unsigned char)c->r->text.data[c->pos + n]
		   : -1;
	if (next != -1 && next != ' ' && next != ')' && next != ']')
		return false;
	c->pos += n;
	return true;
}

/* A number of 1-20 digits that fits in uint64_t. */
static bool number(struct cur *c, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;

	while (peek(c) >= '0' && peek(c) <= '9') {
		unsigned d = (unsigned)(peek(c) - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		c->pos++;
		n++;
	}
	if (n == 0)
		return false;
	*ret = v;
	return true;
}

static bool number32(struct cur *c, uint32_t *ret)
{
	uint64_t v;

	if (!number(c, &v) || v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static bool atom_char(int ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("(){%*\"\\]", ch);
}

/* A string: quoted (unescaped into TMP) or a literal; *p, *len point to
 * its bytes. NIL gives *p = NULL. With TMP NULL a quoted string is only
 * checked, and *p, *len give an empty string. */
static bool string(struct cur *c, struct buf *tmp, const char **p, size_t *len)
{
	if (eat_word(c, "NIL")) {
		*p = NULL;
		*len = 0;
		return true;
	}
	if (eat(c, '"')) {
		if (tmp)
			tmp->len = 0;
		for (;;) {
			int ch = peek(c);

			if (ch == -1)
				return false;
			c->pos++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				ch = peek(c);
				if (ch != '\\' && ch != '"')
					return false;
				c->pos++;
			}
			if (tmp && buf_append(tmp, &(char){(char)ch}, 1) < 0)
				return false;
		}
		*p = tmp && tmp->data ? tmp->data : "";
		*len = tmp ? tmp->len : 0;
		return true;
	}
	if (peek(c) == '~')
		c->pos++;
	if (eat(c, '{')) {
		uint64_t n;
		const struct imapwire_lit *l;

		if (!number(c, &n) || !eat(c, '}') || c->li >= c->r->n_lit)
			return false;
		l = &c->r->lit[c->li];
		if (l->at != c->pos || l->len != n)
			return false;
		c->li++;
		*p = c->r->lits.data + l->off;
		*len = l->len;
		return true;
	}
	return false;
}

/* Skips one value: an atom or number, a string, or a parenthesized list
 * of values. A quoted string is not unescaped: the scratch buffer may
 * hold a BODY[] read before. */
static bool skip_value(struct cur *c, int depth)
{
	const char *p;
	size_t len;

	if (eat(c, '(')) {
		if (depth >= MAX_DEPTH)
			return false;
		if (eat(c, ')'))
			return true;
		do {
			if (!skip_value(c, depth + 1))
				return false;
		} while (eat(c, ' '));
		return eat(c, ')');
	}
	if (peek(c) == '"' || peek(c) == '{' || peek(c) == '~')
		return string(c, NULL, &p, &len);
	/* an atom, number, NIL or flag (\Seen, \*) */
	len = 0;
	if (peek(c) == '\\') {
		c->pos++;
		if (eat(c, '*'))
			return true;
	}
	while (atom_char(peek(c)) || peek(c) == '[' || peek(c) == ']') {
		c->pos++;
		len++;
	}
	return len > 0;
}

/* A FETCH item name: an atom with an optional [section] (which may hold
 * spaces and parentheses) and <origin>. Returns its length. */
static size_t item_name(struct cur *c)
{
	size_t start = c->pos;

	while (atom_char(peek(c)) && peek(c) != '[')
		c->pos++;
	if (eat(c, '[')) {
		while (peek(c) != ']' && peek(c) != -1)
			c->pos++;
		if (!eat(c, ']'))
			return 0;
		if (eat(c, '<')) {
			uint64_t v;

			if (!number(c, &v) || !eat(c, '>'))
				return 0;
		}
	}
	return c->pos - start;
}

static bool name_is(const struct cur *c, size_t start, size_t len,
		    const char *name)
{
	return len == strlen(name) &&
	       strncasecmp(c->r->text.data + start, name, len) == 0;
}

/* ---- what a response is ------------------------------------------------ */

static void clean_text(const char *p, size_t len, char *ret, size_t size)
{
	size_t n = 0;

	if (!ret || size == 0)
		return;
	for (size_t i = 0; i < len && n + 1 < size; i++)
		ret[n++] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	ret[n] = '\0';
}

enum imapwire_kind imapwire_kind(const struct imapwire_resp *r, const char *tag,
				 char *text, size_t textlen)
{
	struct cur c = {.r = r};
	size_t tlen = strlen(tag), len = r->text.len;
	const char *t = r->text.data;
	enum imapwire_kind k;

	if (len >= 2 && t[0] == '*' && t[1] == ' ')
		return IMAPWIRE_UNTAGGED;
	if (tlen == 0 || len < tlen + 1 || memcmp(t, tag, tlen) != 0 ||
	    t[tlen] != ' ')
		return IMAPWIRE_OTHER;
	c.pos = tlen + 1;
	if (eat_word(&c, "OK"))
		k = IMAPWIRE_OK;
	else if (eat_word(&c, "NO") || eat_word(&c, "BAD"))
		k = IMAPWIRE_NO;
	else
		return IMAPWIRE_OTHER;
	eat(&c, ' ');
	clean_text(t + c.pos, len - c.pos, text, textlen);
	return k;
}

/* The cursor after "* ", or false for a response that is not untagged. */
static bool untagged(const struct imapwire_resp *r, struct cur *c)
{
	*c = (struct cur){.r = r};
	return eat(c, '*') && eat(c, ' ');
}

/* ---- SELECT ------------------------------------------------------------ */

int imapwire_select(const struct imapwire_resp *r, const char *keyword,
		    struct imapwire_select *st)
{
	struct cur c;

	if (!untagged(r, &c) || !eat_word(&c, "OK") || !eat(&c, ' ') ||
	    !eat(&c, '['))
		return 0;
	if (eat_word(&c, "UIDVALIDITY")) {
		if (!eat(&c, ' ') || !number32(&c, &st->uidvalidity) ||
		    st->uidvalidity == 0)
			return -EIO;
		st->have_validity = true;
		return 0;
	}
	if (!eat_word(&c, "PERMANENTFLAGS"))
		return 0;
	if (!eat(&c, ' ') || !eat(&c, '('))
		return -EIO;
	st->have_permflags = true;
	while (!eat(&c, ')')) {
		size_t start = c.pos;

		if (peek(&c) == '\\')
			c.pos++;
		while (atom_char(peek(&c)) || peek(&c) == '*')
			c.pos++;
		if (c.pos == start)
			return -EIO;
		if (name_is(&c, start, c.pos - start, "\\*") ||
		    name_is(&c, start, c.pos - start, keyword))
			st->keyword_ok = true;
		if (peek(&c) != ')' && !eat(&c, ' '))
			return -EIO;
	}
	return 0;
}

/* ---- SEARCH ------------------------------------------------------------ */

int imapwire_search(const struct imapwire_resp *r, uint32_t **uids, size_t *n,
		    size_t *cap, size_t max)
{
	struct cur c;

	if (!untagged(r, &c) || !eat_word(&c, "SEARCH"))
		return 0;
	while (eat(&c, ' ')) {
		uint32_t uid;

		if (peek(&c) == '(') /* (MODSEQ n) of CONDSTORE: the end */
			break;
		if (!number32(&c, &uid) || uid == 0 || *n >= max)
			return -EIO;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			uint32_t *p = realloc(*uids, ncap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			*uids = p;
			*cap = ncap;
		}
		(*uids)[(*n)++] = uid;
	}
	if (peek(&c) != -1 && peek(&c) != '(')
		return -EIO;
	return 0;
}

/* ---- FETCH ------------------------------------------------------------- */

/* One "NAME value" of a FETCH into f. */
static int fetch_item(struct cur *c, struct buf *tmp, struct imapwire_fetch *f)
{
	size_t start = c->pos, len = item_name(c);

	if (len == 0 || !eat(c, ' '))
		return -EIO;
	if (name_is(c, start, len, "UID")) {
		if (!number32(c, &f->uid))
			return -EIO;
		f->have_uid = true;
	} else if (name_is(c, start, len, "RFC822.SIZE")) {
		if (!number(c, &f->size))
			return -EIO;
		f->have_size = true;
	} else if (name_is(c, start, len, "BODY[]")) {
		/* a second BODY[] would overwrite tmp under the first */
		if (f->body || !string(c, tmp, &f->body, &f->body_len) ||
		    !f->body)
			return -EIO;
	} else if (!skip_value(c, 0)) {
		return -EIO;
	}
	return 0;
}

int imapwire_fetch(const struct imapwire_resp *r, struct buf *tmp,
		   struct imapwire_fetch *ret)
{
	struct imapwire_fetch f = {0};
	struct cur c;
	uint64_t seq;
	int rc;

	*ret = f;
	if (!untagged(r, &c) || !number(&c, &seq) || !eat(&c, ' ') ||
	    !eat_word(&c, "FETCH"))
		return 0;
	f.is_fetch = true;
	if (!eat(&c, ' ') || !eat(&c, '('))
		return -EIO;
	while (!eat(&c, ')')) {
		rc = fetch_item(&c, tmp, &f);
		if (rc < 0)
			return rc;
		if (peek(&c) != ')' && !eat(&c, ' '))
			return -EIO;
	}
	if (peek(&c) != -1)
		return -EIO;
	*ret = f;
	return 0;
}
