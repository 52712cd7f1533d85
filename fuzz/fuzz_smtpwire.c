/* fuzz_smtpwire.c — what an SMTP server answers to a mail transaction,
 * read the way smtpconn.c reads it (smtpwire.h), on arbitrary bytes.
 *
 * An input is the server's side of one connection after the login, with
 * no header: the replies to MAIL, RCPT, DATA, the final dot, RSET, ...
 * Like smtpconn.c's read_reply(), smtpwire_reply_feed() gets the bytes
 * received and not yet taken until a reply is whole; a refused reply
 * ends the connection. Every line of the input is also asked, as an EHLO
 * reply line, whether it names DSN and SIZE (smtpconn.c's on_debug()).
 *
 * Each input is read twice, as one recv() and as one byte per recv(); the
 * two must give the same trace of replies. Checks besides: the result is
 * 1, 0 or -EPROTO; no more is taken than given, and all of it unless the
 * reply ended; a whole reply's code is 200..599 and its text starts with
 * it, is at most SMTPWIRE_TEXT_MAX long and printable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "smtpwire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	return 0;
}

static void check_whole(const struct smtpwire_reply *r)
{
	size_t n = strlen(r->text);

	if (r->code < 200 || r->code > 599 || n < 3 || n > SMTPWIRE_TEXT_MAX ||
	    r->text[0] != '0' + r->code / 100)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r->text[i] < 0x20 ||
		    (unsigned char)r->text[i] == 0x7f)
			__builtin_trap();
}

/* The replies in DATA, received CHUNK bytes at a time, into TRACE. */
static void run(const uint8_t *data, size_t size, size_t chunk,
		struct buf *trace)
{
	struct smtpwire_reply r;
	size_t off = 0, got = 0;

	smtpwire_reply_reset(&r);
	for (;;) {
		size_t len, used = 0;
		int rc;

		if (off == got) {
			if (got == size)
				break;
			got = size - got < chunk ? size : got + chunk;
		}
		len = got - off;
		rc = smtpwire_reply_feed(&r, (const char *)data + off, len,
					 &used);
		if (used > len || (rc == 0 && used != len) ||
		    (rc != 0 && rc != 1 && rc != -EPROTO))
			__builtin_trap();
		off += used;
		if (rc == 0)
			continue;
		buf_append(trace, &rc, sizeof(rc));
		if (rc < 0)
			break;
		check_whole(&r);
		buf_append(trace, &r.code, sizeof(r.code));
		buf_append(trace, r.text, strlen(r.text) + 1);
		smtpwire_reply_reset(&r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf one = BUF_INIT, bytes = BUF_INIT;
	const char *p = (const char *)data, *end = p + size;

	run(data, size, size ? size : 1, &one);
	run(data, size, 1, &bytes);
	if (one.len != bytes.len ||
	    (one.len && memcmp(one.data, bytes.data, one.len) != 0))
		__builtin_trap();
	buf_free(&one);
	buf_free(&bytes);
	/* each line as a line of an EHLO reply */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		(void)smtpwire_ehlo_names(p, n, "DSN");
		(void)smtpwire_ehlo_names(p, n, "SIZE");
		p += n;
	}
	return 0;
}
