/* fuzz_ireport.c — ireport_parse() of arbitrary bytes as an inbound mail
 * that may be a delivery status or disposition notification: MIME
 * (GMime), the multipart/report's parts, the status fields, the returned
 * headers.
 *
 * Checks the contract of ireport.h on every input: a refusal is -EINVAL
 * (with the report's kind and a terminated reason) or -ENOMEM; no report
 * has no recipients; a report has 1 to IREPORT_MAX_RCPT of them (an MDN
 * one, with a disposition), each address empty or a lower-case
 * addr-spec with one '@', each DSN recipient an Action and a Status of
 * the form C.S.D, and no string a control character. And what the
 * reader would answer kipd with it decodes back to the same report
 * (wire_decode_verdict()), so no honest answer is ever refused.
 * KIP_FUZZ_VERBOSE=1 prints each outcome.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "inmail_wire.h"
#include "ireport.h"

static int verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet_log();
	verbose = getenv("KIP_FUZZ_VERBOSE") != NULL;
	return 0;
}

/* Terminated within SIZE, no control character. */
static void text(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			__builtin_trap();
}

static void address(const char *s, size_t size)
{
	const char *at;

	text(s, size);
	if (!*s)
		return;
	at = strchr(s, '@');
	if (!at || at == s || !at[1] || strchr(at + 1, '@') || strchr(s, ' '))
		__builtin_trap();
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			__builtin_trap();
}

static void status(const char *s)
{
	int a, b, c, n = 0;

	if (sscanf(s, "%1d.%3d.%3d%n", &a, &b, &c, &n) != 3 || s[n] ||
	    (a != 2 && a != 4 && a != 5))
		__builtin_trap();
}

static void check(const struct ireport *r)
{
	if (r->n < 1 || r->n > IREPORT_MAX_RCPT)
		__builtin_trap();
	text(r->envid, sizeof(r->envid));
	text(r->returned_id, sizeof(r->returned_id));
	text(r->original_id, sizeof(r->original_id));
	text(r->mode, sizeof(r->mode));
	if (r->kind == IREPORT_MDN &&
	    (r->n != 1 || r->disposition < IREPORT_DISPLAYED ||
	     r->disposition > IREPORT_PROCESSED || !r->mode[0] || r->envid[0] ||
	     r->rcpt[0].action || r->rcpt[0].status[0]))
		__builtin_trap();
	if (r->kind == IREPORT_DSN &&
	    (r->disposition || r->mode[0] || r->original_id[0]))
		__builtin_trap();
	for (int i = 0; i < r->n; i++) {
		const struct ireport_rcpt *rc = &r->rcpt[i];

		address(rc->final_rcpt, sizeof(rc->final_rcpt));
		address(rc->original_rcpt, sizeof(rc->original_rcpt));
		text(rc->diagnostic, sizeof(rc->diagnostic));
		text(rc->status, sizeof(rc->status));
		if (r->kind == IREPORT_DSN && (rc->action < IREPORT_FAILED ||
					       rc->action > IREPORT_EXPANDED))
			__builtin_trap();
		if (r->kind == IREPORT_DSN)
			status(rc->status);
	}
}

/* The report as the reader answers it, and as kipd reads that. */
static void round_trip(const struct wire_verdict *v)
{
	const struct ireport *a = &v->report, *b;
	struct wire_verdict w;
	struct buf out = BUF_INIT;

	if (wire_encode_verdict(v, &out) < 0 ||
	    wire_decode_verdict(out.data, out.len, &w) < 0)
		__builtin_trap();
	b = &w.report;
	if (b->kind != a->kind || w.report_ok != v->report_ok || b->n != a->n ||
	    b->disposition != a->disposition || strcmp(b->envid, a->envid) ||
	    strcmp(b->returned_id, a->returned_id) ||
	    strcmp(b->original_id, a->original_id) ||
	    strcmp(b->mode, a->mode) || strcmp(w.report_err, v->report_err))
		__builtin_trap();
	for (int i = 0; i < a->n; i++)
		if (b->rcpt[i].action != a->rcpt[i].action ||
		    strcmp(b->rcpt[i].final_rcpt, a->rcpt[i].final_rcpt) ||
		    strcmp(b->rcpt[i].original_rcpt,
			   a->rcpt[i].original_rcpt) ||
		    strcmp(b->rcpt[i].status, a->rcpt[i].status) ||
		    strcmp(b->rcpt[i].diagnostic, a->rcpt[i].diagnostic))
			__builtin_trap();
	wire_verdict_free(&w);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_verdict v;
	int rc;

	memset(&v, 0, sizeof(v));
	v.mail.reason = INMAIL_UNSIGNED;
	v.mail.caps_gcm = -1;
	rc = ireport_parse((const char *)data, size, &v.report, v.report_err,
			   sizeof(v.report_err));
	if (verbose)
		fprintf(stderr, "ireport: %d kind %d n %d %s\n", rc,
			v.report.kind, v.report.n, v.report_err);
	if (rc == -ENOMEM)
		return 0;
	if (rc == -EINVAL) {
		if (v.report.kind == IREPORT_NONE || v.report.n != 0 ||
		    !v.report_err[0])
			__builtin_trap();
		text(v.report_err, sizeof(v.report_err));
	} else if (rc != 0) {
		__builtin_trap();
	} else if (v.report.kind == IREPORT_NONE) {
		if (v.report.n != 0)
			__builtin_trap();
		return 0;
	} else {
		check(&v.report);
		v.report_ok = true;
	}
	round_trip(&v);
	return 0;
}
