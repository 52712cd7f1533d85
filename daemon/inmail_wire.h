/* inmail_wire.h — what kipd and its mail reader (kip-inmail) say to each
 * other over their socket pair.
 *
 * kipd does not parse inbound mail itself: a separate process, kip-inmail
 * (inmail/main.c), runs inmail_parse() and ireply_parse() on each
 * fetched message and sends back the verdict. That process holds no store
 * handle and no network connection, and kipd need not link GMime or
 * libical. See docs/INTAKE.md, "The mail reader".
 *
 * Framing: a frame is a 4-byte big-endian length and that many bytes.
 * kipd sends first one frame of settings (fields below), then one frame
 * per message holding its raw bytes. The reader answers the settings with
 * a frame holding WIRE_ERROR ("" when ready) and each message with a
 * verdict frame. A field is a 1-byte tag, a 4-byte big-endian length and
 * the value; integers are 8-byte big-endian two's complement. The reader
 * is as exposed to hostile input as code can be, so kipd decodes its
 * answer strictly: an unknown or repeated tag, a string with a NUL byte
 * or longer than its field, a bad integer or a missing field => -EPROTO.
 * A report's recipients are one field holding a field per recipient,
 * each holding that recipient's fields; a report's strings hold no
 * control characters, and its values are within their enums.
 */
#ifndef KIP_INMAIL_WIRE_H
#define KIP_INMAIL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inmail.h"
#include "ireply.h"
#include "ireport.h"

struct buf;

/* The largest frame either side reads beyond the message limit. */
#define WIRE_OVERHEAD (256 * 1024)

/* What the reader needs: the organisation's key (to decrypt mail sent to
 * it), the trust store (to check signers), and the size limit. */
struct wire_settings {
	const char *cert, *key, *passphrase, *chain; /* NULL: none */
	const char *ca_bundle, *crl;		     /* NULL: none */
	uint64_t max_bytes;
};

/* One message's verdict: the mail, what its calendar part said, and
 * what it reports when it is a delivery or disposition notification. */
struct wire_verdict {
	struct inmail mail; /* mail.calendar stays NULL on kipd's side */
	bool calendar;	    /* a METHOD:REPLY calendar part was there */
	bool reply_ok;	    /* ... and ireply_parse() read it: reply */
	struct ireply reply;
	char reply_err[256];   /* ... or why not */
	struct ireport report; /* report.kind: IREPORT_NONE, or a report */
	bool report_ok;	       /* ... that ireport_parse() read */
	char report_err[256];  /* ... or why not */
};

/* Frames: 0, -EPIPE at end of file (nothing read), -EPROTO for a frame
 * over LIMIT bytes or cut short, or -errno (-EAGAIN: timed out). */
int wire_read_frame(int fd, struct buf *out, size_t limit);
int wire_write_frame(int fd, const void *p, size_t len);

int wire_encode_settings(const struct wire_settings *s, struct buf *out);
/* Fills S with malloc'd strings (free with wire_settings_free()); -EPROTO
 * when malformed, -ENOMEM. */
int wire_decode_settings(const void *p, size_t len, struct wire_settings *s);
void wire_settings_free(struct wire_settings *s);

int wire_encode_verdict(const struct wire_verdict *v, struct buf *out);
/* Fills V (zeroed first; free with wire_verdict_free()). -EPROTO when
 * malformed, -ENOMEM. */
int wire_decode_verdict(const void *p, size_t len, struct wire_verdict *v);
void wire_verdict_free(struct wire_verdict *v);

/* The reader's answer to the settings: "" = ready, else why not. */
int wire_encode_error(const char *msg, struct buf *out);
int wire_decode_error(const void *p, size_t len, char *msg, size_t msglen);

#endif
