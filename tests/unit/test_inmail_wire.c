/* test_inmail_wire.c — the frames between kipd and kip-inmail: what goes
 * in comes out, and kipd refuses every answer that is not a well-formed
 * verdict (the reader parses hostile mail, so its answers are not
 * trusted either). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "inmail_wire.h"
#include "t.h"

static void field(struct buf *b, unsigned tag, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char)tag, (unsigned char)(n >> 24),
			      (unsigned char)(n >> 16), (unsigned char)(n >> 8),
			      (unsigned char)n};
	buf_append(b, h, 5);
	buf_append(b, p, n);
}

static void ifield(struct buf *b, unsigned tag, int64_t v)
{
	unsigned char p[8];
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (unsigned char)u;
	field(b, tag, p, 8);
}

static void sample(struct wire_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->mail.reason = INMAIL_OK;
	strcpy(v->mail.detail, "");
	strcpy(v->mail.message_id, "r1@region.example");
	strcpy(v->mail.from, "peter.psykiatri@region.example");
	strcpy(v->mail.subject, "Re: Koordinerende indsatsplan – ref KIP-7");
	v->mail.ref = 7;
	v->mail.encrypted = true;
	v->mail.text = strdup("Mål: 2\nBjarne udeblev.\n");
	v->mail.goal = 2;
	v->mail.action = -1;
	v->mail.signer_pem = strdup("-----BEGIN CERTIFICATE-----\n...\n");
	strcpy(v->mail.signer_fpr, "ab12");
	strcpy(v->mail.signer_email, "peter.psykiatri@region.example");
	v->mail.signer_not_after = 1924992000;
	v->mail.caps_gcm = 1;
	v->calendar = true;
	v->reply_ok = true;
	strcpy(v->reply.uid, "kip-meeting-3@kommune.example");
	v->reply.sequence = 2;
	strcpy(v->reply.attendee, "peter.psykiatri@region.example");
	v->reply.partstat = IREPLY_TENTATIVE;
}

static void test_round_trip(void)
{
	struct wire_verdict v, w;
	struct buf b = BUF_INIT;

	sample(&v);
	T_ASSERT(wire_encode_verdict(&v, &b) == 0);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &w) == 0);
	T_ASSERT(w.mail.reason == INMAIL_OK && w.mail.ref == 7 &&
		 w.mail.encrypted && w.mail.goal == 2 && w.mail.action == -1 &&
		 w.mail.caps_gcm == 1 && w.mail.signer_not_after == 1924992000);
	T_STREQ(w.mail.text, v.mail.text);
	T_STREQ(w.mail.subject, v.mail.subject);
	T_STREQ(w.mail.signer_pem, v.mail.signer_pem);
	T_ASSERT(w.calendar && w.reply_ok && w.reply.sequence == 2 &&
		 w.reply.partstat == IREPLY_TENTATIVE);
	T_STREQ(w.reply.attendee, "peter.psykiatri@region.example");
	T_ASSERT(w.mail.calendar == NULL);
	wire_verdict_free(&w);

	/* a refusal with a calendar part that was not a reply */
	free(v.mail.text);
	v.mail.text = NULL;
	v.mail.reason = INMAIL_UNSIGNED;
	strcpy(v.mail.detail, "no S/MIME signature (text/plain)");
	v.reply_ok = false;
	strcpy(v.reply_err, "not METHOD:REPLY");
	T_ASSERT(wire_encode_verdict(&v, &b) == 0);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &w) == 0);
	T_ASSERT(w.mail.reason == INMAIL_UNSIGNED && w.calendar &&
		 !w.reply_ok && !w.mail.text);
	T_STREQ(w.reply_err, "not METHOD:REPLY");
	wire_verdict_free(&w);

	/* every proper prefix of an answer is refused */
	sample(&w);
	T_ASSERT(wire_encode_verdict(&w, &b) == 0);
	size_t refused = 0;
	for (size_t n = 0; n < b.len; n++) {
		struct wire_verdict x;
		if (wire_decode_verdict(b.data, n, &x) == -EPROTO)
			refused++;
		else
			wire_verdict_free(&x);
	}
	T_ASSERT(refused == b.len);
	wire_verdict_free(&w);
	wire_verdict_free(&v);
	buf_free(&b);
}

/* A valid OK verdict without a calendar, with field TAG replaced by
 * (P, N) or, if P is NULL, left out; EXTRA appended. */
static void build(struct buf *b, unsigned tag, const void *p, size_t n,
		  const struct buf *extra)
{
	static const char *const strs[] = {
	    [33] = "", [34] = "m@x",	  [35] = "a@x", [36] = "KIP-1",
	    [37] = "", [40] = "Mål: 1\n", [44] = "ff",	[45] = "a@x"};
	b->len = 0;
	for (unsigned t = 32; t <= 48; t++) {
		if (t == tag) {
			if (p)
				field(b, t, p, n);
			continue;
		}
		if (t == 43) /* no signer certificate */
			continue;
		if (t < sizeof(strs) / sizeof(*strs) && strs[t])
			field(b, t, strs[t], strlen(strs[t]));
		else if (t == 32)
			ifield(b, t, INMAIL_OK);
		else
			ifield(b, t, t == 41 || t == 42 ? 1 : 0);
	}
	if (extra)
		buf_append(b, extra->data, extra->len);
}

static void test_refused(void)
{
	struct buf b = BUF_INIT, x = BUF_INIT;
	struct wire_verdict v;
	unsigned char eight[8] = {0, 0, 0, 0, 0, 0, 0, 99};
	char big[300];

	build(&b, 0, NULL, 0, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == 0);
	T_STREQ(v.mail.text, "Mål: 1\n");
	wire_verdict_free(&v);

	/* each required field left out */
	for (unsigned t = 32; t <= 48; t++) {
		if (t == 40 || t == 43)
			continue; /* text: see below; signer PEM optional */
		build(&b, t, NULL, 0, NULL);
		T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	}
	/* OK without text; text with a refusal */
	build(&b, 40, NULL, 0, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	eight[7] = INMAIL_UNSIGNED;
	build(&b, 32, eight, 8, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	/* a reason outside the enum, a goal over 99, a 7-byte integer */
	eight[7] = 99;
	build(&b, 32, eight, 8, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	eight[7] = 100;
	build(&b, 41, eight, 8, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	build(&b, 41, eight, 7, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	/* a NUL inside a string; a string longer than its field */
	build(&b, 35, "a\0@x", 4, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	memset(big, 'a', sizeof(big));
	build(&b, 35, big, 256, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	build(&b, 35, big, 255, NULL);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == 0);
	wire_verdict_free(&v);
	/* a repeated field, an unknown tag, tag 0, a length past the end */
	field(&x, 35, "b@x", 3);
	build(&b, 0, NULL, 0, &x);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	x.len = 0;
	field(&x, 99, "", 0);
	build(&b, 0, NULL, 0, &x);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	x.len = 0;
	field(&x, 0, "", 0);
	build(&b, 0, NULL, 0, &x);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	build(&b, 0, NULL, 0, NULL);
	b.data[b.len - 12] = 0x7f; /* the last field's length, high byte */
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	/* a reply without a calendar; half a reply */
	x.len = 0;
	field(&x, 49, "kip-meeting-1@x", 15);
	ifield(&x, 50, 0);
	field(&x, 51, "a@x", 3);
	ifield(&x, 52, IREPLY_ACCEPTED);
	build(&b, 0, NULL, 0, &x);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	eight[7] = 1;
	build(&b, 48, eight, 8, &x);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == 0);
	T_ASSERT(v.reply_ok && v.calendar);
	wire_verdict_free(&v);
	x.len -= 13; /* without the PARTSTAT */
	build(&b, 48, eight, 8, &x);
	T_ASSERT(wire_decode_verdict(b.data, b.len, &v) == -EPROTO);
	buf_free(&b);
	buf_free(&x);
}

/* A bounce as the reader reads one (ireport.h). */
static void sample_report(struct wire_verdict *v)
{
	struct ireport_rcpt *rc = &v->report.rcpt[0];

	memset(v, 0, sizeof(*v));
	v->mail.reason = INMAIL_UNSIGNED;
	v->mail.caps_gcm = -1;
	strcpy(v->mail.from, "mailer-daemon@mail.region.example");
	v->report.kind = IREPORT_DSN;
	v->report_ok = true;
	strcpy(v->report.envid, "kip.12.0a1b2c3d4e5f6071");
	strcpy(v->report.returned_id,
	       "kip.12.0a1b2c3d4e5f6071@kommune.example");
	v->report.n = 1;
	rc->action = IREPORT_FAILED;
	strcpy(rc->final_rcpt, "bo.behandler@region.example");
	strcpy(rc->status, "5.1.1");
	strcpy(rc->diagnostic, "550 5.1.1 User doesn’t exist");
}

/* Encodes V, decodes it: the decoder's return code (W freed). */
static int again(const struct wire_verdict *v, struct wire_verdict *w)
{
	struct buf b = BUF_INIT;
	int r = wire_encode_verdict(v, &b);

	if (r == 0)
		r = wire_decode_verdict(b.data, b.len, w);
	buf_free(&b);
	return r;
}

static void test_report(void)
{
	struct wire_verdict v, w;
	struct buf b = BUF_INIT, x = BUF_INIT;

	sample_report(&v);
	T_ASSERT(again(&v, &w) == 0);
	T_ASSERT(w.report.kind == IREPORT_DSN && w.report_ok &&
		 w.report.n == 1 && w.report.rcpt[0].action == IREPORT_FAILED);
	T_STREQ(w.report.envid, v.report.envid);
	T_STREQ(w.report.returned_id, v.report.returned_id);
	T_STREQ(w.report.rcpt[0].final_rcpt, "bo.behandler@region.example");
	T_STREQ(w.report.rcpt[0].original_rcpt, "");
	T_STREQ(w.report.rcpt[0].diagnostic, v.report.rcpt[0].diagnostic);
	wire_verdict_free(&w);

	/* eight recipients */
	v.report.n = IREPORT_MAX_RCPT;
	for (int i = 1; i < IREPORT_MAX_RCPT; i++)
		v.report.rcpt[i] = v.report.rcpt[0];
	v.report.rcpt[7].action = IREPORT_DELAYED;
	T_ASSERT(again(&v, &w) == 0);
	T_ASSERT(w.report.n == 8 && w.report.rcpt[7].action == IREPORT_DELAYED);
	wire_verdict_free(&w);

	/* an MDN */
	sample_report(&v);
	v.report.kind = IREPORT_MDN;
	v.report.envid[0] = '\0';
	v.report.rcpt[0].action = 0;
	v.report.rcpt[0].status[0] = '\0';
	v.report.rcpt[0].diagnostic[0] = '\0';
	v.report.disposition = IREPORT_DISPLAYED;
	strcpy(v.report.mode, "manual-action/MDN-sent-manually");
	strcpy(v.report.original_id, "kip.12.0a1b2c3d4e5f6071@kommune.example");
	T_ASSERT(again(&v, &w) == 0);
	T_ASSERT(w.report.kind == IREPORT_MDN &&
		 w.report.disposition == IREPORT_DISPLAYED);
	T_STREQ(w.report.mode, v.report.mode);
	wire_verdict_free(&w);
	/* ... that does not agree with its kind */
	v.report.rcpt[0].action = IREPORT_FAILED;
	T_ASSERT(again(&v, &w) == -EPROTO);
	v.report.rcpt[0].action = 0;
	v.report.disposition = 0;
	T_ASSERT(again(&v, &w) == -EPROTO);

	/* a report that could not be read: its reason alone */
	sample_report(&v);
	v.report_ok = false;
	strcpy(v.report_err, "no Status");
	T_ASSERT(again(&v, &w) == 0);
	T_ASSERT(w.report.kind == IREPORT_DSN && !w.report_ok &&
		 w.report.n == 0);
	T_STREQ(w.report_err, "no Status");
	wire_verdict_free(&w);

	/* a DSN recipient without Status or Action; a control character */
	sample_report(&v);
	v.report.rcpt[0].status[0] = '\0';
	T_ASSERT(again(&v, &w) == -EPROTO);
	sample_report(&v);
	v.report.rcpt[0].action = 0;
	T_ASSERT(again(&v, &w) == -EPROTO);
	sample_report(&v);
	v.report.rcpt[0].diagnostic[3] = '\n';
	T_ASSERT(again(&v, &w) == -EPROTO);
	sample_report(&v);
	strcpy(v.report.mode, "x/y");
	T_ASSERT(again(&v, &w) == -EPROTO);

	/* by hand: the report's fields with its error, without its kind,
	 * a kind out of range, an empty list, a repeated recipient field */
	sample_report(&v);
	T_ASSERT(wire_encode_verdict(&v, &b) == 0);
	field(&x, 55, "no Status", 9);
	buf_append(&x, b.data, b.len);
	T_ASSERT(wire_decode_verdict(x.data, x.len, &w) == -EPROTO);
	v.report.kind = IREPORT_NONE;
	T_ASSERT(wire_encode_verdict(&v, &b) == 0);
	x.len = 0;
	buf_append(&x, b.data, b.len);
	field(&x, 56, "kip.1.00", 8);
	T_ASSERT(wire_decode_verdict(x.data, x.len, &w) == -EPROTO);
	x.len = 0;
	buf_append(&x, b.data, b.len);
	ifield(&x, 54, 3);
	field(&x, 55, "x", 1);
	T_ASSERT(wire_decode_verdict(x.data, x.len, &w) == -EPROTO);
	x.len = 0;
	buf_append(&x, b.data, b.len);
	ifield(&x, 54, IREPORT_DSN);
	field(&x, 55, "x", 1);
	T_ASSERT(wire_decode_verdict(x.data, x.len, &w) == 0);
	wire_verdict_free(&w);
	x.len = 0;
	buf_append(&x, b.data, b.len);
	ifield(&x, 54, IREPORT_DSN);
	field(&x, 56, "", 0);
	field(&x, 57, "", 0);
	field(&x, 58, "", 0);
	ifield(&x, 59, 0);
	field(&x, 60, "", 0);
	field(&x, 61, "", 0); /* no recipient */
	T_ASSERT(wire_decode_verdict(x.data, x.len, &w) == -EPROTO);
	{
		struct buf r1 = BUF_INIT, list = BUF_INIT;

		ifield(&r1, 63, IREPORT_FAILED);
		field(&r1, 64, "a@b", 3);
		field(&r1, 64, "a@b", 3); /* twice */
		field(&r1, 65, "", 0);
		field(&r1, 66, "5.0.0", 5);
		field(&r1, 67, "", 0);
		field(&list, 62, r1.data, r1.len);
		x.len -= 5; /* the empty list goes */
		field(&x, 61, list.data, list.len);
		T_ASSERT(wire_decode_verdict(x.data, x.len, &w) == -EPROTO);
		buf_free(&r1);
		buf_free(&list);
	}
	buf_free(&b);
	buf_free(&x);
}

static void test_settings(void)
{
	const struct wire_settings s = {"/c.pem",  "/k.pem", "hemmelig", NULL,
					"/ca.pem", NULL,     10485760};
	struct wire_settings t;
	struct buf b = BUF_INIT;
	char msg[64];

	T_ASSERT(wire_encode_settings(&s, &b) == 0);
	T_ASSERT(wire_decode_settings(b.data, b.len, &t) == 0);
	T_STREQ(t.key, "/k.pem");
	T_STREQ(t.passphrase, "hemmelig");
	T_ASSERT(t.chain == NULL && t.crl == NULL && t.max_bytes == 10485760);
	wire_settings_free(&t);
	b.len = 0;
	field(&b, 1, "/c.pem", 6);
	T_ASSERT(wire_decode_settings(b.data, b.len, &t) == -EPROTO);
	T_ASSERT(wire_encode_error("", &b) == 0);
	T_ASSERT(wire_decode_error(b.data, b.len, msg, sizeof(msg)) == 0);
	T_STREQ(msg, "");
	T_ASSERT(wire_encode_error("smime.key: wrong passphrase", &b) == 0);
	T_ASSERT(wire_decode_error(b.data, b.len, msg, sizeof(msg)) == 0);
	T_STREQ(msg, "smime.key: wrong passphrase");
	T_ASSERT(wire_decode_error("", 0, msg, sizeof(msg)) == -EPROTO);
	buf_free(&b);
}

static void test_frames(void)
{
	struct buf b = BUF_INIT;
	int sv[2];

	T_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	T_ASSERT(wire_write_frame(sv[0], "hello", 5) == 0);
	T_ASSERT(wire_read_frame(sv[1], &b, 5) == 0);
	T_ASSERT(b.len == 5 && memcmp(b.data, "hello", 5) == 0);
	T_ASSERT(wire_write_frame(sv[0], "toolong", 7) == 0);
	T_ASSERT(wire_read_frame(sv[1], &b, 6) == -EPROTO);
	T_ASSERT(read(sv[1], (char[8]){0}, 7) == 7); /* drain */
	T_ASSERT(write(sv[0],
		       "\0\0\0\x09"
		       "cut",
		       7) == 7);
	shutdown(sv[0], SHUT_WR);
	T_ASSERT(wire_read_frame(sv[1], &b, 100) == -EPROTO);
	T_ASSERT(wire_read_frame(sv[1], &b, 100) == -EPIPE);
	close(sv[1]);
	T_ASSERT(wire_write_frame(sv[0], "x", 1) == -EPIPE);
	close(sv[0]);
	buf_free(&b);
}

T_MAIN(T_CASE(test_round_trip), T_CASE(test_refused), T_CASE(test_report),
       T_CASE(test_settings), T_CASE(test_frames))
