/* fuzz_wire.c — kipd's decoding of what its mail reader answers
 * (wire_decode_verdict()), on arbitrary bytes.
 *
 * The reader parses hostile mail, so a reader taken over could answer
 * anything. Checks: a refusal is -EPROTO (or -ENOMEM) and leaves nothing
 * to free; an accepted verdict has terminated strings, text exactly when
 * OK, a reply or its error exactly when there was a calendar part, and
 * encodes back to bytes that decode to the same verdict. */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "inmail_wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	return 0;
}

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_verdict v, w;
	struct buf b = BUF_INIT;
	int rc = wire_decode_verdict(data, size, &v);

	if (rc < 0) {
		if (rc != -EPROTO && rc != -ENOMEM)
			__builtin_trap();
		if (v.mail.text || v.mail.signer_pem)
			__builtin_trap();
		return 0;
	}
	if (!TERMINATED(v.mail.detail) || !TERMINATED(v.mail.from) ||
	    !TERMINATED(v.mail.subject) || !TERMINATED(v.reply.uid) ||
	    !TERMINATED(v.reply_err) ||
	    inmail_has_text(v.mail.reason) != (v.mail.text != NULL) ||
	    (v.reply_ok && !v.calendar) || v.mail.goal > 99 ||
	    v.mail.goal < -1)
		__builtin_trap();
	if (wire_encode_verdict(&v, &b) < 0 ||
	    wire_decode_verdict(b.data, b.len, &w) < 0)
		__builtin_trap();
	if (w.mail.reason != v.mail.reason || w.mail.ref != v.mail.ref ||
	    strcmp(w.mail.from, v.mail.from) != 0 ||
	    w.reply_ok != v.reply_ok || w.calendar != v.calendar ||
	    (v.mail.text && strcmp(w.mail.text, v.mail.text) != 0))
		__builtin_trap();
	wire_verdict_free(&w);
	wire_verdict_free(&v);
	buf_free(&b);
	return 0;
}
