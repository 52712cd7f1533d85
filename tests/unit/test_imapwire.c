/* test_imapwire.c — IMAP responses (imapwire.h): read whole from bytes in
 * any chunking, literals taken exactly, limits said before anything is
 * stored, and the parsers for SELECT, SEARCH and FETCH on good, odd and
 * broken responses; then thousands of damaged responses. */
#include "buf.h"
#include "imapwire.h"
#include "t.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BIG (1u << 30)

/* Feeds S (LEN bytes) in chunks of CHUNK into R; returns feed's last
 * result, *used the bytes taken in all. */
static int feed_chunks(struct imapwire_resp *r, const char *s, size_t len,
		       size_t chunk, size_t budget, size_t *used)
{
	size_t off = 0;
	char err[128];
	int rc = 0;

	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk, u = 0;

		rc = imapwire_feed(r, s + off, n, budget, &u, err, sizeof(err));
		T_ASSERT(u <= n);
		off += u;
		if (rc != 0)
			break;
		T_ASSERT(u == n);
	}
	*used = off;
	return rc;
}

/* Reads S whole (one feed) into R: 1 expected. */
static void read1(struct imapwire_resp *r, const char *s)
{
	size_t used = 0;

	imapwire_reset(r);
	T_ASSERT(feed_chunks(r, s, strlen(s), strlen(s) + 1, BIG, &used) == 1);
	T_ASSERT(used == strlen(s));
}

/* ---- reading ----------------------------------------------------------- */

static const char fetch_resp[] =
    "* 12 FETCH (UID 7 RFC822.SIZE 46 BODY[] {46}\r\n"
    "k3 OK\r\n* 1 FETCH (UID 7 BODY[] {2}\r\n{5}\r\nend\r\n"
    " FLAGS (\\Seen))\r\n";
static const char fetch_body[] =
    "k3 OK\r\n* 1 FETCH (UID 7 BODY[] {2}\r\n{5}\r\nend\r\n";

static void test_literal_any_chunking(void)
{
	struct imapwire_resp r = {0};
	struct buf tmp = BUF_INIT;

	T_ASSERT(strlen(fetch_body) == 46);
	for (size_t chunk = 1; chunk <= sizeof(fetch_resp); chunk++) {
		struct imapwire_fetch f;
		size_t used = 0;

		imapwire_reset(&r);
		T_ASSERT(feed_chunks(&r, fetch_resp, strlen(fetch_resp), chunk,
				     BIG, &used) == 1);
		T_ASSERT(used == strlen(fetch_resp));
		T_ASSERT(r.n_lit == 1);
		T_ASSERT(imapwire_fetch(&r, &tmp, &f) == 0);
		T_ASSERT(f.is_fetch && f.have_uid && f.uid == 7);
		T_ASSERT(f.have_size && f.size == 46);
		T_ASSERT(f.body && f.body_len == 46 &&
			 memcmp(f.body, fetch_body, 46) == 0);
	}
	imapwire_free(&r);
	buf_free(&tmp);
}

/* Two responses in one buffer: the first ends where it ends. */
static void test_two_responses(void)
{
	static const char two[] = "* 3 EXISTS\r\nk1 OK done\r\n";
	struct imapwire_resp r = {0};
	char err[64], text[64];
	size_t used;

	T_ASSERT(imapwire_feed(&r, two, strlen(two), BIG, &used, err,
			       sizeof(err)) == 1);
	T_ASSERT(used == strlen("* 3 EXISTS\r\n"));
	T_ASSERT(imapwire_kind(&r, "k1", text, sizeof(text)) ==
		 IMAPWIRE_UNTAGGED);
	imapwire_reset(&r);
	T_ASSERT(imapwire_feed(&r, two + used, strlen(two) - used, BIG, &used,
			       err, sizeof(err)) == 1);
	T_ASSERT(imapwire_kind(&r, "k1", text, sizeof(text)) == IMAPWIRE_OK);
	T_STREQ(text, "done");
	imapwire_free(&r);
}

/* Bare LF ends a line as well; a CR alone does not. */
static void test_line_ends(void)
{
	struct imapwire_resp r = {0};
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;

	read1(&r, "* SEARCH 4 5\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 10) == 0);
	T_ASSERT(n == 2 && uids[0] == 4 && uids[1] == 5);
	read1(&r, "* SEARCH 6\r7\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 10) == -EIO);
	free(uids);
	imapwire_free(&r);
}

static void test_literal_forms(void)
{
	struct imapwire_resp r = {0};
	struct buf tmp = BUF_INIT;
	struct imapwire_fetch f;

	read1(&r, "* 1 FETCH (UID 2 BODY[] {0}\r\n)\r\n");
	T_ASSERT(imapwire_fetch(&r, &tmp, &f) == 0);
	T_ASSERT(f.body && f.body_len == 0);
	/* a literal8 with a NUL: fed by hand, strlen would stop at it */
	imapwire_reset(&r);
	{
		static const char s[] =
		    "* 1 FETCH (UID 2 BODY[] ~{3}\r\na\0b)\r\n";
		size_t used;
		char err[64];

		T_ASSERT(imapwire_feed(&r, s, sizeof(s) - 1, BIG, &used, err,
				       sizeof(err)) == 1);
	}
	T_ASSERT(imapwire_fetch(&r, &tmp, &f) == 0);
	T_ASSERT(f.body_len == 3 && memcmp(f.body, "a\0b", 3) == 0);
	read1(&r, "* 1 FETCH (UID 2 BODY[] \"say \\\"hi\\\" \\\\o/\")\r\n");
	T_ASSERT(imapwire_fetch(&r, &tmp, &f) == 0);
	T_ASSERT(f.body_len == 12 &&
		 memcmp(f.body, "say \"hi\" \\o/", 12) == 0);
	imapwire_free(&r);
	buf_free(&tmp);
}

/* ---- limits ------------------------------------------------------------ */

static void test_budget(void)
{
	static const char s[] = "* 1 FETCH (UID 2 BODY[] {100}\r\n";
	struct imapwire_resp r = {0};
	char err[128] = "";
	size_t used;

	T_ASSERT(imapwire_feed(&r, s, strlen(s), 99, &used, err, sizeof(err)) ==
		 -EFBIG);
	T_CONTAINS(err, "maximum message size");
	T_ASSERT(r.lits.len == 0 && r.lits.cap == 0); /* nothing reserved */
	imapwire_reset(&r);
	T_ASSERT(
	    imapwire_feed(&r, s, strlen(s), 100, &used, err, sizeof(err)) == 0);
	/* a literal of 20 digits is no literal size: the line just ends */
	imapwire_reset(&r);
	T_ASSERT(imapwire_feed(&r, "* X {99999999999999999999}\r\n", 28, BIG,
			       &used, err, sizeof(err)) == 1);
	T_ASSERT(r.n_lit == 0);
	imapwire_reset(&r);
	T_ASSERT(imapwire_feed(&r, "* X {9999999999}\r\n", 18, BIG, &used, err,
			       sizeof(err)) == -EFBIG);
	imapwire_free(&r);
}

static void test_too_many_literals(void)
{
	struct imapwire_resp r = {0};
	struct buf s = BUF_INIT;
	char err[128] = "";
	size_t used;

	T_ASSERT(buf_puts(&s, "* 1 X (") == 0);
	for (int i = 0; i <= IMAPWIRE_MAX_LITERALS; i++)
		T_ASSERT(buf_puts(&s, "{1}\r\na ") == 0);
	T_ASSERT(buf_puts(&s, ")\r\n") == 0);
	T_ASSERT(imapwire_feed(&r, s.data, s.len, BIG, &used, err,
			       sizeof(err)) == -EIO);
	T_CONTAINS(err, "too many literals");
	buf_free(&s);
	imapwire_free(&r);
}

static void test_too_long(void)
{
	struct imapwire_resp r = {0};
	char *s = malloc(IMAPWIRE_MAX_TEXT + 1), err[128] = "";
	size_t used;

	T_ASSERT(s != NULL);
	if (!s)
		return;
	memset(s, 'x', IMAPWIRE_MAX_TEXT + 1);
	T_ASSERT(imapwire_feed(&r, s, IMAPWIRE_MAX_TEXT, BIG, &used, err,
			       sizeof(err)) == 0);
	T_ASSERT(imapwire_feed(&r, s, 1, BIG, &used, err, sizeof(err)) == -EIO);
	T_CONTAINS(err, "too long");
	free(s);
	imapwire_free(&r);
}

/* ---- kinds ------------------------------------------------------------- */

static void test_kind(void)
{
	struct imapwire_resp r = {0};
	char text[16];

	read1(&r, "k12 OK [READ-WRITE] selected\r\n");
	T_ASSERT(imapwire_kind(&r, "k12", text, sizeof(text)) == IMAPWIRE_OK);
	T_STREQ(text, "[READ-WRITE] se"); /* cut to the size */
	T_ASSERT(imapwire_kind(&r, "k1", text, sizeof(text)) == IMAPWIRE_OTHER);
	read1(&r, "k1 no such \x01mailbox\r\n");
	T_ASSERT(imapwire_kind(&r, "k1", text, sizeof(text)) == IMAPWIRE_NO);
	T_STREQ(text, "such ?mailbox");
	read1(&r, "k1 BAD what\r\n");
	T_ASSERT(imapwire_kind(&r, "k1", text, sizeof(text)) == IMAPWIRE_NO);
	read1(&r, "k1 OKAY\r\n");
	T_ASSERT(imapwire_kind(&r, "k1", text, sizeof(text)) == IMAPWIRE_OTHER);
	read1(&r, "+ go on\r\n");
	T_ASSERT(imapwire_kind(&r, "k1", text, sizeof(text)) == IMAPWIRE_OTHER);
	read1(&r, "*\r\n");
	T_ASSERT(imapwire_kind(&r, "k1", text, sizeof(text)) == IMAPWIRE_OTHER);
	imapwire_free(&r);
}

/* ---- SELECT ------------------------------------------------------------ */

static void test_select(void)
{
	struct imapwire_resp r = {0};
	struct imapwire_select st = {0};

	read1(&r, "* OK [UIDVALIDITY 1795339880] UIDs valid\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == 0);
	T_ASSERT(st.have_validity && st.uidvalidity == 1795339880u);
	read1(&r, "* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] ok\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == 0);
	T_ASSERT(st.have_permflags && st.keyword_ok);

	st = (struct imapwire_select){0};
	read1(&r, "* OK [PERMANENTFLAGS (\\Seen $kipdone)] ok\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == 0 && st.keyword_ok);
	st = (struct imapwire_select){0};
	read1(&r, "* OK [PERMANENTFLAGS (\\Seen $Other)] ok\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == 0);
	T_ASSERT(st.have_permflags && !st.keyword_ok);
	st = (struct imapwire_select){0};
	read1(&r, "* OK [PERMANENTFLAGS ()] none\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == 0 && !st.keyword_ok);

	read1(&r, "* 3 EXISTS\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == 0);
	read1(&r, "* FLAGS (\\Seen)\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == 0);
	read1(&r, "* OK [UIDNEXT 4] next\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == 0);

	read1(&r, "* OK [UIDVALIDITY 0] zero\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == -EIO);
	read1(&r, "* OK [UIDVALIDITY 4294967296] too big\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == -EIO);
	read1(&r, "* OK [UIDVALIDITY x] what\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == -EIO);
	read1(&r, "* OK [PERMANENTFLAGS (\\Seen\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == -EIO);
	read1(&r, "* OK [PERMANENTFLAGS \\Seen]\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == -EIO);
	read1(&r, "* OK [PERMANENTFLAGS (\\Seen((]\r\n");
	T_ASSERT(imapwire_select(&r, "$KipDone", &st) == -EIO);
	imapwire_free(&r);
}

/* ---- SEARCH ------------------------------------------------------------ */

static void test_search(void)
{
	struct imapwire_resp r = {0};
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;

	read1(&r, "* SEARCH\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == 0 && n == 0);
	read1(&r, "* SEARCH 3 1 4294967295 (MODSEQ 917162500)\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == 0);
	T_ASSERT(n == 3 && uids[0] == 3 && uids[1] == 1 &&
		 uids[2] == 4294967295u);
	read1(&r, "* search 9\r\n"); /* appends; case-insensitive */
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == 0 && n == 4);
	read1(&r, "* 5 EXISTS\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == 0 && n == 4);

	read1(&r, "* SEARCH 1 0\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == -EIO);
	read1(&r, "* SEARCH 4294967296\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == -EIO);
	read1(&r, "* SEARCH 1 x2\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == -EIO);
	read1(&r, "* SEARCH 1  2\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == -EIO);
	read1(&r, "* SEARCH 99999999999999999999999\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 1000) == -EIO);
	n = 0;
	read1(&r, "* SEARCH 1 2 3 4\r\n");
	T_ASSERT(imapwire_search(&r, &uids, &n, &cap, 3) == -EIO);
	free(uids);
	imapwire_free(&r);
}

/* ---- FETCH ------------------------------------------------------------- */

static int fetch_of(const char *s, struct imapwire_fetch *f)
{
	struct imapwire_resp r = {0};
	struct buf tmp = BUF_INIT;
	int rc;

	read1(&r, s);
	rc = imapwire_fetch(&r, &tmp, f);
	f->body = NULL; /* points into r or tmp, freed here */
	imapwire_free(&r);
	buf_free(&tmp);
	return rc;
}

static void test_fetch_items(void)
{
	struct imapwire_fetch f;

	/* Items kip does not ask for are skipped, whatever their shape. */
	T_ASSERT(fetch_of("* 2 FETCH (FLAGS (\\Seen $KipDone \\*) UID 9 "
			  "INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
			  "MODSEQ (12345) BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" "
			  "(\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 1) "
			  "\"MIXED\") ENVELOPE (NIL {3}\r\nabc NIL) "
			  "BODY[HEADER.FIELDS (FROM TO)]<0> {2}\r\nab "
			  "RFC822.SIZE 1234)\r\n",
			  &f) == 0);
	T_ASSERT(f.is_fetch && f.have_uid && f.uid == 9 && f.have_size &&
		 f.size == 1234);
	T_ASSERT(fetch_of("* 2 FETCH (FLAGS ())\r\n", &f) == 0);
	T_ASSERT(f.is_fetch && !f.have_uid);
	T_ASSERT(fetch_of("* 3 EXISTS\r\n", &f) == 0 && !f.is_fetch);
	T_ASSERT(fetch_of("* OK [ALERT] hi\r\n", &f) == 0 && !f.is_fetch);
	T_ASSERT(fetch_of("k1 OK done\r\n", &f) == 0 && !f.is_fetch);
}

static void test_fetch_broken(void)
{
	static const char *const bad[] = {
	    "* 1 FETCH\r\n",
	    "* 1 FETCH UID 5\r\n",
	    "* 1 FETCH (UID 5\r\n",
	    "* 1 FETCH (UID 5) trailing\r\n",
	    "* 1 FETCH (UID)\r\n",
	    "* 1 FETCH (UID x)\r\n",
	    "* 1 FETCH (UID 4294967296)\r\n",
	    "* 1 FETCH (UID 5  RFC822.SIZE 3)\r\n",
	    "* 1 FETCH (RFC822.SIZE -3)\r\n",
	    "* 1 FETCH (UID 5 BODY[] NIL)\r\n",
	    "* 1 FETCH (UID 5 BODY[] \"unterminated)\r\n",
	    "* 1 FETCH (UID 5 BODY[] \"bad \\escape\")\r\n",
	    "* 1 FETCH (UID 5 BODY[] {3})\r\n",	       /* not at a line end */
	    "* 1 FETCH (UID 5 BODY[] {2}\r\nabc)\r\n", /* 2 said, 3 there */
	    "* 1 FETCH (UID 5 BODY[] {1}\r\na BODY[] {1}\r\nb)\r\n",
	    "* 1 FETCH (UID 5 BODY[HEADER (A)\r\n",
	    "* 1 FETCH (UID 5 BODY[]<x> NIL)\r\n",
	    "* 1 FETCH (FLAGS (\\Seen)\r\n",
	    "* 1 FETCH (X ((((((((((((((((((((1))))))))))))))))))))\r\n",
	    "* 1 FETCH (X \x01)\r\n",
	};
	struct imapwire_fetch f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = fetch_of(bad[i], &f);

		if (rc != -EIO)
			printf("  broken FETCH %zu gave %d\n", i, rc);
		T_ASSERT(rc == -EIO);
	}
	/* fifteen levels are fine */
	T_ASSERT(fetch_of("* 1 FETCH (X (((((((((((((((1))))))))))))))))\r\n",
			  &f) == 0);
}

/* A quoted string skipped after a quoted BODY[] leaves the body alone: it
 * used to be unescaped into the same scratch buffer, over the body, or
 * into a larger one, leaving the body pointing at freed memory. */
static void test_fetch_quoted_body_kept(void)
{
	struct imapwire_resp r = {0};
	struct buf tmp = BUF_INIT;
	struct imapwire_fetch f;
	char big[300], s[400];

	read1(&r, "* 1 FETCH (UID 2 BODY[] \"abc\" X \"xyz!\")\r\n");
	T_ASSERT(imapwire_fetch(&r, &tmp, &f) == 0);
	T_ASSERT(f.body_len == 3 && memcmp(f.body, "abc", 3) == 0);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(s, sizeof(s),
		 "* 1 FETCH (UID 2 BODY[] \"abc\" ENVELOPE (\"%s\" NIL))\r\n",
		 big);
	read1(&r, s);
	T_ASSERT(imapwire_fetch(&r, &tmp, &f) == 0);
	T_ASSERT(f.body_len == 3 && memcmp(f.body, "abc", 3) == 0);
	imapwire_free(&r);
	buf_free(&tmp);
}

/* ---- damage ------------------------------------------------------------ */

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Damaged responses in random chunks: every call returns one of its
 * documented results; ASan and UBSan watch the memory. */
static void test_damage(void)
{
	static const char *const base[] = {
	    fetch_resp,
	    "* OK [PERMANENTFLAGS (\\Seen \\*)] ok\r\n",
	    "* SEARCH 5 3 1 (MODSEQ 3)\r\n",
	    "* 1 FETCH (UID 3 BODY[] \"q\\\\x\" FLAGS (\\Seen))\r\n",
	    "* 1 FETCH (UID 3 RFC822.SIZE 10)\r\n",
	};
	static const char pieces[] = "{}()[]\\\"\r\n *0123456789~<>";
	struct imapwire_resp r = {0};
	struct buf tmp = BUF_INIT;
	uint32_t *uids = NULL;
	size_t cap = 0, whole = 0, fetches = 0;

	for (int i = 0; i < 20000; i++) {
		char m[256], err[128];
		const char *src = base[rnd() % 5];
		size_t len = strlen(src), used = 0, n = 0;
		struct imapwire_select st = {0};
		struct imapwire_fetch f;
		int rc;

		memcpy(m, src, len);
		for (uint32_t k = rnd() % 4; k > 0; k--) {
			size_t at = rnd() % len;

			if (rnd() % 2)
				m[at] = pieces[rnd() % (sizeof(pieces) - 1)];
			else
				m[at] = (char)(rnd() % 256);
		}
		imapwire_reset(&r);
		rc = feed_chunks(&r, m, len, 1 + rnd() % 16, 1 + rnd() % 64,
				 &used);
		T_ASSERT(rc == 0 || rc == 1 || rc == -EIO || rc == -EFBIG);
		(void)err;
		if (rc != 1)
			continue;
		whole++;
		imapwire_kind(&r, "k3", err, sizeof(err));
		rc = imapwire_select(&r, "$KipDone", &st);
		T_ASSERT(rc == 0 || rc == -EIO);
		rc = imapwire_search(&r, &uids, &n, &cap, 100);
		T_ASSERT(rc == 0 || rc == -EIO);
		rc = imapwire_fetch(&r, &tmp, &f);
		T_ASSERT(rc == 0 || rc == -EIO);
		if (rc == 0 && f.body) {
			/* the body lies in the literals or in tmp */
			T_ASSERT(
			    (f.body >= r.lits.data &&
			     f.body + f.body_len <= r.lits.data + r.lits.len) ||
			    (f.body >= tmp.data &&
			     f.body + f.body_len <= tmp.data + tmp.len) ||
			    f.body_len == 0);
			fetches++;
		}
	}
	T_ASSERT(whole > 1000 && fetches > 100);
	free(uids);
	buf_free(&tmp);
	imapwire_free(&r);
}

T_MAIN(T_CASE(test_literal_any_chunking), T_CASE(test_two_responses),
       T_CASE(test_line_ends), T_CASE(test_literal_forms), T_CASE(test_budget),
       T_CASE(test_too_many_literals), T_CASE(test_too_long), T_CASE(test_kind),
       T_CASE(test_select), T_CASE(test_search), T_CASE(test_fetch_items),
       T_CASE(test_fetch_broken), T_CASE(test_fetch_quoted_body_kept),
       T_CASE(test_damage))
