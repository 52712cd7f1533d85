/* imapwire.h — IMAP4rev1 server responses as data (RFC 3501 section 7).
 *
 * No I/O here: imap.c feeds the bytes it receives into a response until
 * the response is whole, then takes it apart with the parsers below. All
 * of it is hostile input, so every length is checked before anything is
 * stored and every number for overflow.
 *
 * A response is kept as its lines without their CRLF in one text buffer
 * and its literals ({N} at the end of a line, then exactly N bytes) in a
 * second one, each remembered by the place in the text right after its
 * "{N}". Parsers take a literal where the grammar has a string and check
 * that it is the one announced there.
 */
#ifndef KIP_IMAPWIRE_H
#define KIP_IMAPWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IMAPWIRE_MAX_TEXT (4u << 20) /* one response without literals */
#define IMAPWIRE_MAX_LITERALS 32     /* literals in one response */

struct imapwire_lit {
	size_t at;	 /* offset in text just after its "{N}" */
	size_t off, len; /* in lits */
};

struct imapwire_resp {
	struct buf text; /* the lines without CRLF and without literal data */
	struct buf lits; /* the literals, back to back */
	struct imapwire_lit lit[IMAPWIRE_MAX_LITERALS];
	size_t n_lit;
	size_t line_start; /* where the line being read starts in text */
	size_t lit_left;   /* bytes of the current literal still to come */
};

/* Empties R for the next response (keeps its memory). */
void imapwire_reset(struct imapwire_resp *r);
void imapwire_free(struct imapwire_resp *r);

/*
 * Feeds LEN bytes from P into R. Sets *used to the bytes taken and
 * returns 1 when the response is whole (the rest of P belongs to the
 * next one), 0 when it needs more, or an error with a reason in err:
 * -EIO (text over IMAPWIRE_MAX_TEXT, more than IMAPWIRE_MAX_LITERALS
 * literals), -EFBIG (the literals would pass BUDGET bytes together; said
 * before any of the literal is stored), -ENOMEM. A line ends in LF, with
 * or without CR before it.
 */
int imapwire_feed(struct imapwire_resp *r, const char *p, size_t len,
		  size_t budget, size_t *used, char *err, size_t errlen);

enum imapwire_kind {
	IMAPWIRE_UNTAGGED, /* "* ..." */
	IMAPWIRE_OK,	   /* "TAG OK ..." */
	IMAPWIRE_NO,	   /* "TAG NO ..." or "TAG BAD ..." */
	IMAPWIRE_OTHER,	   /* a continuation, another tag, anything else */
};

/* What a whole response is, for the command tagged TAG. For OK and NO
 * the text after the status word is copied into text (printable ASCII,
 * other bytes as '?', cut to textlen - 1). */
enum imapwire_kind imapwire_kind(const struct imapwire_resp *r, const char *tag,
				 char *text, size_t textlen);

/* From the untagged responses to SELECT. */
struct imapwire_select {
	bool have_validity; /* "* OK [UIDVALIDITY n]" seen */
	uint32_t uidvalidity;
	bool have_permflags; /* "* OK [PERMANENTFLAGS (...)]" seen */
	bool keyword_ok;     /* ... and it holds the keyword or \* */
};

/* Takes what R says for SELECT into st; other responses are ignored.
 * 0, or -EIO for a malformed UIDVALIDITY or PERMANENTFLAGS. */
int imapwire_select(const struct imapwire_resp *r, const char *keyword,
		    struct imapwire_select *st);

/* The UIDs of "* SEARCH u1 u2 ..." (a CONDSTORE "(MODSEQ n)" ends the
 * list), appended to *uids (realloc'd; *n used of *cap) up to MAX in
 * all. Other responses are ignored. 0, -EIO (malformed, a UID of 0 or
 * past 2^32-1, more than MAX), -ENOMEM. */
int imapwire_search(const struct imapwire_resp *r, uint32_t **uids, size_t *n,
		    size_t *cap, size_t max);

/* The items of "* n FETCH (...)" kip asks for. */
struct imapwire_fetch {
	bool is_fetch; /* the response is a FETCH */
	bool have_uid, have_size;
	uint32_t uid;
	uint64_t size;	  /* RFC822.SIZE */
	const char *body; /* BODY[]: into r, or into tmp for a quoted string;
			     NULL when absent */
	size_t body_len;
};

/* Parses R as a FETCH response into *ret (zeroed first); other responses
 * give is_fetch false. TMP holds an unescaped quoted string. 0, or -EIO
 * for a malformed FETCH (also BODY[] NIL) or -ENOMEM. */
int imapwire_fetch(const struct imapwire_resp *r, struct buf *tmp,
		   struct imapwire_fetch *ret);

#endif
