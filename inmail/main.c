/* main.c — kip-inmail, the process that reads inbound mail for
 * kipd (inmail_wire.h has the protocol, docs/INTAKE.md the why).
 *
 * kipd starts it with one end of a socket pair on standard input and
 * output. It reads its settings, loads the organisation's key and the
 * trust store, and then judges one message per frame with inmail_parse()
 * (and ireply_parse() for a calendar reply, ireport_parse() for a
 * delivery or disposition notification) until kipd closes the socket.
 * It opens no store and no network connection, writes no file, logs
 * nothing (standard error is kipd's, for a sanitizer's report only), and keeps
 * no message after answering.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "inmail.h"
#include "inmail_wire.h"
#include "ireply.h"
#include "ireport.h"
#include "smime.h"

static int answer(const struct buf *b)
{
	return wire_write_frame(STDOUT_FILENO, b->data, b->len);
}

/* Takes what no mail reader needs: new privileges, and core dumps and
 * ptrace by other processes of the user (a dump would hold decrypted
 * mail). prctl(), not setrlimit(): kipd.service filters @resources. */
static int confine(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

static int judge(const struct buf *raw, const struct inmail_keys *keys,
		 struct buf *out)
{
	struct wire_verdict v;
	int r;

	memset(&v, 0, sizeof(v));
	r = inmail_parse(raw->data, raw->len, keys, &v.mail);
	if (r < 0)
		return r;
	if (v.mail.calendar) {
		v.calendar = true;
		v.reply_ok =
		    ireply_parse(v.mail.calendar, strlen(v.mail.calendar),
				 &v.reply, v.reply_err,
				 sizeof(v.reply_err)) == 0;
	}
	/* Reports are unsigned by nature: looked for in what the signature
	 * rules refused, and not in a message read only as far as its
	 * headers. */
	if (!inmail_has_text(v.mail.reason) && raw->len <= keys->max_bytes) {
		r = ireport_parse(raw->data, raw->len, &v.report, v.report_err,
				  sizeof(v.report_err));
		if (r == -ENOMEM) {
			inmail_free(&v.mail);
			return r;
		}
		v.report_ok = r == 0 && v.report.kind != IREPORT_NONE;
	}
	r = wire_encode_verdict(&v, out);
	inmail_free(&v.mail);
	return r;
}

int main(int argc, char **argv)
{
	struct wire_settings set = {0};
	struct smime_signer *org = NULL;
	struct smime_trust *trust = NULL;
	struct buf in = BUF_INIT, out = BUF_INIT;
	char err[512] = "";
	int r, rc = 1;

	(void)argv;
	if (argc != 1 || isatty(STDIN_FILENO)) {
		fprintf(stderr, "kip-inmail: kipd starts this program; it "
				"takes no arguments\n");
		return 2;
	}
	/* nothing of kipd's beyond the socket and standard error */
	close_range(3, ~0u, 0);
	signal(SIGPIPE, SIG_IGN);

	r = wire_read_frame(STDIN_FILENO, &in, WIRE_OVERHEAD);
	if (r == 0)
		r = wire_decode_settings(in.data, in.len, &set);
	if (in.data)
		explicit_bzero(in.data, in.len);
	if (r < 0) {
		rc = 2;
		goto out;
	}
	if (set.cert && set.key)
		r = smime_signer_load(set.cert, set.key, set.passphrase,
				      set.chain, &org, err, sizeof(err));
	if (r == 0 && set.ca_bundle)
		r = smime_trust_load(set.ca_bundle, set.crl, &trust, err,
				     sizeof(err));
	if (r == 0 && (r = confine()) < 0)
		snprintf(err, sizeof(err), "cannot confine the mail reader: %s",
			 strerror(-r));
	if (wire_encode_error(r < 0 ? err : "", &out) < 0 || answer(&out) < 0 ||
	    r < 0)
		goto out;

	const struct inmail_keys keys = {org, trust, (size_t)set.max_bytes, 0};
	for (;;) {
		struct inmail_keys now = keys;

		r = wire_read_frame(STDIN_FILENO, &in,
				    (size_t)set.max_bytes + WIRE_OVERHEAD);
		if (r == -EPIPE) { /* kipd closed the socket */
			rc = 0;
			break;
		}
		if (r < 0) /* kipd went away inside a frame, or worse */
			break;
		now.now = time(NULL);
		r = judge(&in, &now, &out);
		explicit_bzero(in.data, in.len);
		if (r < 0 || answer(&out) < 0)
			break;
		explicit_bzero(out.data, out.len);
	}
out:
	/* every way out frees what it holds (valgrind follows this
	 * process: a leak at its end is an error, tests/lib.sh) */
	if (in.data)
		explicit_bzero(in.data, in.len);
	if (out.data)
		explicit_bzero(out.data, out.len);
	buf_free(&in);
	buf_free(&out);
	smime_signer_free(org);
	smime_trust_free(trust);
	wire_settings_free(&set);
	inmail_shutdown();
	return rc;
}
