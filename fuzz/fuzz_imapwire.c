/* fuzz_imapwire.c — what an IMAP server sends after the login, read the
 * way imap.c reads it (imapwire.h), on arbitrary bytes.
 *
 * An input is the server's side of one session, with no header: kipd's
 * commands are SELECT, UID SEARCH, then for each message UID FETCH of the
 * size, UID FETCH of the body and STORE, tagged k1, k2, ... . Like imap.c's
 * read_response(), imapwire_feed() gets everything received and not yet
 * taken, until a response is whole, with the command's literal budget
 * (64 KiB; for the body the smallest intake.max_message_bytes on top).
 * imapwire_kind() then judges it for the tag under way: a tagged OK, NO
 * or BAD ends the command, anything else but an untagged response ends
 * the session, as does a refused or unfinished read.
 *
 * Every response goes to all three parsers, imapwire_select(),
 * imapwire_search() and imapwire_fetch(), whichever command is under way
 * (for a response that is not untagged they must change nothing), and
 * the session goes on after a parser refused one; the refused response
 * counts for nothing. The scratch buffer, the UID array and the SELECT
 * state live as long as the session, as in imap.c.
 *
 * Each input is read twice, as one recv() and as one byte per recv(); the
 * two must give the same trace of responses and results. Checks besides:
 * every result is one the header documents; a whole response has no LF
 * in its text, its literals back to back within the budget; the OK and NO
 * texts are printable; SEARCH gives no UID 0; a FETCH body is one of the
 * literals or the whole content of the scratch buffer (not a string read
 * after it), and is read whole (into the trace).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "buf.h"
#include "fuzz.h"
#include "imapwire.h"

#define SMALL_LITERALS (64u << 10) /* imap.c's IMAP_SMALL_LITERALS */
#define MAX_MESSAGE (64u << 10)	   /* the least intake.max_message_bytes */
#define MAX_UIDS (1u << 21)	   /* imap.c's IMAP_MAX_UIDS */
#define KEYWORD "$KipDone"

struct session {
	struct imapwire_resp resp;
	struct buf tmp; /* imap.c's fetch_state.tmp */
	uint32_t *uids;
	size_t n, cap;
	struct imapwire_select st;
	struct buf *trace;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	return 0;
}

/* The literal budget of command K (from 1): SELECT, UID SEARCH, then per
 * message the size, the body and STORE. */
static size_t budget_of(unsigned k)
{
	return k >= 3 && (k - 3) % 3 == 1 ? MAX_MESSAGE + SMALL_LITERALS
					  : SMALL_LITERALS;
}

static void check_whole(const struct imapwire_resp *r, size_t budget)
{
	size_t lits = 0;

	if (r->lit_left || r->n_lit > IMAPWIRE_MAX_LITERALS ||
	    r->text.len > IMAPWIRE_MAX_TEXT || r->lits.len > budget ||
	    (r->text.data && (r->text.data[r->text.len] != '\0' ||
			      memchr(r->text.data, '\n', r->text.len))))
		__builtin_trap();
	for (size_t i = 0; i < r->n_lit; i++) {
		const struct imapwire_lit *l = &r->lit[i];

		if (l->off != lits || l->at < 3 || l->at > r->text.len ||
		    (i && l->at < r->lit[i - 1].at))
			__builtin_trap();
		lits += l->len;
	}
	if (lits != r->lits.len)
		__builtin_trap();
}

/* What the session has received: IN holds the whole input, of which only
 * the bytes received and not yet taken (from off to got) are readable;
 * ASan reports a read of any other. */
struct wire {
	char *in;
	size_t size, chunk, off, got;
};

/*
 * Reads one response into s->resp as imap.c's read_response() does: the
 * bytes received and not yet taken are fed; when they are all taken,
 * CHUNK more are received. Returns feed's result, or 0 when the input
 * ends first.
 */
static int read_response(struct session *s, struct wire *w, size_t budget)
{
	imapwire_reset(&s->resp);
	for (;;) {
		size_t n;

		if (w->off < w->got) {
			size_t len = w->got - w->off, used = len + 1;
			char err[128] = "";
			int rc = imapwire_feed(&s->resp, w->in + w->off, len,
					       budget, &used, err, sizeof(err));

			if (used > len || (rc == 0 && used != len) ||
			    (rc < 0 && !err[0]) ||
			    (rc != 0 && rc != 1 && rc != -EIO && rc != -EFBIG &&
			     rc != -ENOMEM))
				__builtin_trap();
			ASAN_POISON_MEMORY_REGION(w->in + w->off, used);
			w->off += used;
			if (rc != 0)
				return rc;
		}
		if (w->got == w->size)
			return 0; /* the server closed the connection */
		n = w->size - w->got < w->chunk ? w->size - w->got : w->chunk;
		ASAN_UNPOISON_MEMORY_REGION(w->in + w->got, n);
		w->got += n;
	}
}

static void check_kind(enum imapwire_kind k, const char *text)
{
	if (k != IMAPWIRE_UNTAGGED && k != IMAPWIRE_OK && k != IMAPWIRE_NO &&
	    k != IMAPWIRE_OTHER)
		__builtin_trap();
	if (k != IMAPWIRE_OK && k != IMAPWIRE_NO)
		return;
	for (; *text; text++)
		if (*text < 0x20 || *text == 0x7f)
			__builtin_trap();
}

/* Appends N values to the trace of a reading. */
static void note(struct buf *trace, const uint64_t *v, size_t n)
{
	buf_append(trace, v, n * sizeof(*v));
}

static void on_select(struct session *s, bool untagged)
{
	struct imapwire_select was = s->st;
	int rc = imapwire_select(&s->resp, KEYWORD, &s->st);

	if ((rc != 0 && rc != -EIO) || (!untagged && rc != 0) ||
	    (s->st.keyword_ok && !s->st.have_permflags) ||
	    (rc == 0 && s->st.have_validity && s->st.uidvalidity == 0) ||
	    (!untagged && (was.have_validity != s->st.have_validity ||
			   was.uidvalidity != s->st.uidvalidity ||
			   was.have_permflags != s->st.have_permflags ||
			   was.keyword_ok != s->st.keyword_ok)))
		__builtin_trap();
	if (rc < 0)
		s->st = was;
	note(s->trace,
	     (uint64_t[]){(uint64_t)rc, s->st.have_validity, s->st.uidvalidity,
			  s->st.have_permflags, s->st.keyword_ok},
	     5);
}

static void on_search(struct session *s, bool untagged)
{
	size_t was = s->n;
	int rc = imapwire_search(&s->resp, &s->uids, &s->n, &s->cap, MAX_UIDS);

	if ((rc != 0 && rc != -EIO && rc != -ENOMEM) ||
	    (!untagged && (rc != 0 || s->n != was)) || s->n > s->cap ||
	    s->n > MAX_UIDS)
		__builtin_trap();
	for (size_t i = was; i < s->n; i++)
		if (s->uids[i] == 0)
			__builtin_trap();
	note(s->trace, (uint64_t[]){(uint64_t)rc, s->n - was}, 2);
	if (s->n > was)
		buf_append(s->trace, s->uids + was,
			   (s->n - was) * sizeof(*s->uids));
	if (rc < 0)
		s->n = was;
}

/* A body is one of the response's literals, or the whole content of the
 * scratch buffer (a quoted string, unescaped), or empty. */
static bool body_ok(const struct session *s, const struct imapwire_fetch *f)
{
	const struct imapwire_resp *r = &s->resp;

	if (!f->body)
		return true;
	if (f->body == s->tmp.data)
		return f->body_len == s->tmp.len;
	for (size_t i = 0; i < r->n_lit; i++)
		if (f->body == r->lits.data + r->lit[i].off &&
		    f->body_len == r->lit[i].len)
			return true;
	return f->body_len == 0; /* "" before tmp held anything */
}

static void on_fetch(struct session *s, bool untagged)
{
	struct imapwire_fetch f;
	int rc = imapwire_fetch(&s->resp, &s->tmp, &f);

	if ((rc != 0 && rc != -EIO && rc != -ENOMEM) ||
	    (!untagged && (rc != 0 || f.is_fetch)) ||
	    ((rc < 0 || !f.is_fetch) &&
	     (f.is_fetch || f.have_uid || f.have_size || f.body)) ||
	    !body_ok(s, &f))
		__builtin_trap();
	note(s->trace,
	     (uint64_t[]){(uint64_t)rc, f.is_fetch, f.have_uid, f.uid,
			  f.have_size, f.size, f.body != NULL, f.body_len},
	     8);
	/* what imap.c's on_fetch() does with the body: copies it whole */
	if (f.body)
		buf_append(s->trace, f.body, f.body_len);
}

/* One whole response for command K: its kind, then every parser. */
static enum imapwire_kind on_response(struct session *s, unsigned k)
{
	char tag[16], text[160]; /* as in imap.c's command() */
	enum imapwire_kind kind;
	bool untagged;

	snprintf(tag, sizeof(tag), "k%u", k);
	text[0] = '\0';
	kind = imapwire_kind(&s->resp, tag, text, sizeof(text));
	check_kind(kind, text);
	note(s->trace, (uint64_t[]){kind}, 1);
	buf_append(s->trace, text, strlen(text) + 1);
	untagged = kind == IMAPWIRE_UNTAGGED;
	on_select(s, untagged);
	on_search(s, untagged);
	on_fetch(s, untagged);
	return kind;
}

/* The session on DATA received CHUNK bytes at a time, into TRACE. */
static void run(const uint8_t *data, size_t size, size_t chunk,
		struct buf *trace)
{
	struct session s = {.trace = trace};
	struct wire w = {.in = malloc(size + 1), .size = size, .chunk = chunk};
	unsigned k = 1;
	int rc;

	if (!w.in)
		abort();
	memcpy(w.in, data, size);
	ASAN_POISON_MEMORY_REGION(w.in, size + 1);
	for (;;) {
		size_t budget = budget_of(k);
		enum imapwire_kind kind;

		rc = read_response(&s, &w, budget);
		if (rc != 1)
			break;
		check_whole(&s.resp, budget);
		kind = on_response(&s, k);
		if (kind == IMAPWIRE_OK || kind == IMAPWIRE_NO)
			k++;
		else if (kind != IMAPWIRE_UNTAGGED)
			break;
	}
	note(trace, (uint64_t[]){(uint64_t)rc}, 1);
	ASAN_UNPOISON_MEMORY_REGION(w.in, size + 1);
	free(w.in);
	imapwire_free(&s.resp);
	buf_free(&s.tmp);
	free(s.uids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole = BUF_INIT, bytes = BUF_INIT;
	size_t i = 0;

	run(data, size, size ? size : 1, &whole);
	run(data, size, 1, &bytes);
	while (i < whole.len && i < bytes.len && whole.data[i] == bytes.data[i])
		i++;
	if (whole.len != bytes.len || i != whole.len) {
		fprintf(stderr,
			"fuzz_imapwire: the readings in one recv() and in one "
			"byte per recv() differ at byte %zu of their traces "
			"(%zu and %zu bytes)\n",
			i, whole.len, bytes.len);
		__builtin_trap();
	}
	buf_free(&whole);
	buf_free(&bytes);
	return 0;
}
