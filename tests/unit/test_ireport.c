/* test_ireport.c — delivery and disposition notifications as Postfix,
 * Exchange, Thunderbird and Outlook send them (tests/fixtures/reports/),
 * what is not a report, and each way a report is refused.
 *
 * Runs from the repository root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inmail.h"
#include "ireport.h"
#include "t.h"

#define DIR "tests/fixtures/reports/"

static char *load(const char *name)
{
	char path[256], *s = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), DIR "%s", name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
		if (fread(s, 1, (size_t)n, f) != (size_t)n) {
			free(s);
			s = NULL;
		} else {
			s[n] = '\0';
		}
	}
	fclose(f);
	return s;
}

/* S with the first FROM replaced by TO (malloc'd; S is freed). */
static char *swap(char *s, const char *from, const char *to)
{
	char *at = s ? strstr(s, from) : NULL, *out;
	size_t a, f = strlen(from), t = strlen(to);

	if (!at) {
		printf("  (fixture lacks \"%s\")\n", from);
		return s;
	}
	a = (size_t)(at - s);
	out = malloc(strlen(s) - f + t + 1);
	memcpy(out, s, a);
	memcpy(out + a, to, t);
	memcpy(out + a + t, at + f, strlen(at + f) + 1);
	free(s);
	return out;
}

/* Parses S (freed): the return code, the report in *r, the reason in
 * err. */
static int parse(char *s, struct ireport *r, char *err, size_t errlen)
{
	int rc = s ? ireport_parse(s, strlen(s), r, err, errlen) : -ENOENT;

	free(s);
	return rc;
}

static void test_postfix_bounce(void)
{
	struct ireport r;
	char err[128];

	T_ASSERT(parse(load("postfix-bounce.eml"), &r, err, sizeof(err)) == 0);
	T_ASSERT(r.kind == IREPORT_DSN && r.n == 1);
	T_STREQ(r.envid, "kip.12.0a1b2c3d4e5f6071");
	T_STREQ(r.returned_id, "kip.12.0a1b2c3d4e5f6071@kommune.example");
	T_ASSERT(r.rcpt[0].action == IREPORT_FAILED);
	T_STREQ(r.rcpt[0].final_rcpt, "bo.behandler@region.example");
	T_STREQ(r.rcpt[0].original_rcpt, "bo.behandler@region.example");
	T_STREQ(r.rcpt[0].status, "5.1.1");
	/* the type goes, the folded lines become one */
	T_STREQ(r.rcpt[0].diagnostic,
		"550 5.1.1 <bo.behandler@region.example> User doesn't exist: "
		"bo.behandler@region.example");
	T_STREQ(r.original_id, "");
	T_ASSERT(r.disposition == 0);
}

static void test_postfix_success_and_delay(void)
{
	struct ireport r;
	char err[128];

	T_ASSERT(parse(load("postfix-success.eml"), &r, err, sizeof(err)) == 0);
	T_ASSERT(r.kind == IREPORT_DSN && r.n == 1 &&
		 r.rcpt[0].action == IREPORT_DELIVERED);
	T_STREQ(r.envid, "kip.13.1122334455667788");
	T_STREQ(r.rcpt[0].status, "2.0.0");
	/* addresses lower-cased */
	T_STREQ(r.rcpt[0].original_rcpt, "peter.psykiatri@region.example");
	T_STREQ(r.rcpt[0].diagnostic, "delivered via dovecot service");

	T_ASSERT(parse(load("postfix-delayed.eml"), &r, err, sizeof(err)) == 0);
	T_ASSERT(r.kind == IREPORT_DSN && r.rcpt[0].action == IREPORT_DELAYED);
	T_STREQ(r.envid, "");
	T_STREQ(r.returned_id, "kip.14.99aabbccddeeff00@kommune.example");
	T_STREQ(r.rcpt[0].status, "4.4.1");
	T_STREQ(r.rcpt[0].diagnostic,
		"connect to mx.jobcenter.example[192.0.2.25]:25: Connection "
		"timed out");
}

static void test_exchange_ndr(void)
{
	struct ireport r;
	char err[128];

	T_ASSERT(parse(load("exchange-ndr.eml"), &r, err, sizeof(err)) == 0);
	T_ASSERT(r.kind == IREPORT_DSN && r.n == 1 &&
		 r.rcpt[0].action == IREPORT_FAILED);
	/* the returned message is a message/rfc822 */
	T_STREQ(r.returned_id, "kip.15.f0e1d2c3b4a59687@kommune.example");
	T_STREQ(r.rcpt[0].status, "5.1.10");
	T_STREQ(r.rcpt[0].final_rcpt, "jonas.nielsen@jobcenter.example");
	T_STREQ(r.rcpt[0].diagnostic,
		"550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not "
		"found by SMTP address lookup");
}

static void test_mdns(void)
{
	struct ireport r;
	char err[128];

	T_ASSERT(parse(load("thunderbird-mdn.eml"), &r, err, sizeof(err)) == 0);
	T_ASSERT(r.kind == IREPORT_MDN && r.n == 1 &&
		 r.disposition == IREPORT_DISPLAYED);
	T_STREQ(r.original_id, "kip.13.1122334455667788@kommune.example");
	T_STREQ(r.returned_id, "kip.13.1122334455667788@kommune.example");
	T_STREQ(r.mode, "manual-action/MDN-sent-manually");
	T_STREQ(r.rcpt[0].final_rcpt, "peter.psykiatri@region.example");
	T_ASSERT(r.rcpt[0].action == 0 && !r.rcpt[0].status[0]);

	/* "Final-recipient: RFC822;", no returned headers */
	T_ASSERT(parse(load("outlook-mdn.eml"), &r, err, sizeof(err)) == 0);
	T_ASSERT(r.kind == IREPORT_MDN && r.disposition == IREPORT_DISPLAYED);
	T_STREQ(r.original_id, "kip.14.99aabbccddeeff00@kommune.example");
	T_STREQ(r.returned_id, "");
	T_STREQ(r.mode, "automatic-action/MDN-sent-automatically");
	T_STREQ(r.rcpt[0].final_rcpt, "jonas.job@jobcenter.example");
	T_STREQ(ireport_disposition_name(r.disposition), "displayed");

	T_ASSERT(parse(swap(load("thunderbird-mdn.eml"), "; displayed",
			    "; deleted/error"),
		       &r, err, sizeof(err)) == 0);
	T_ASSERT(r.disposition == IREPORT_DELETED);
}

/* Line ends: CRLF reads as LF does. */
static void test_crlf(void)
{
	char *lf = load("postfix-bounce.eml"), *crlf;
	struct ireport a, b;
	char err[128];
	size_t n = 0;

	T_ASSERT(lf != NULL);
	if (!lf)
		return;
	crlf = malloc(2 * strlen(lf) + 1);
	for (const char *p = lf; *p; p++) {
		if (*p == '\n')
			crlf[n++] = '\r';
		crlf[n++] = *p;
	}
	crlf[n] = '\0';
	T_ASSERT(ireport_parse(lf, strlen(lf), &a, err, sizeof(err)) == 0);
	T_ASSERT(ireport_parse(crlf, n, &b, err, sizeof(err)) == 0);
	T_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
	free(lf);
	free(crlf);
}

static void test_not_reports(void)
{
	static const char *const mails[] = {
	    "From: a@b.example\nSubject: x\n\nhej\n",
	    "From: a@b.example\nContent-Type: multipart/mixed; boundary=x\n\n"
	    "--x\nContent-Type: message/delivery-status\n\nAction: failed\n"
	    "--x--\n",
	    /* another report-type (an abuse report, RFC 5965) */
	    "From: a@b.example\nContent-Type: multipart/report; "
	    "report-type=feedback-report; boundary=x\n\n--x\n"
	    "Content-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
	    "--x--\n",
	    "From: a@b.example\nContent-Type: multipart/report; boundary=x\n\n"
	    "--x--\n",
	    "\x01\x02 not a mail at all",
	    "",
	};
	struct ireport r;
	char err[128];

	for (size_t i = 0; i < sizeof(mails) / sizeof(*mails); i++) {
		T_ASSERT(ireport_parse(mails[i], strlen(mails[i]), &r, err,
				       sizeof(err)) == 0);
		T_ASSERT(r.kind == IREPORT_NONE);
	}
}

/* FIXTURE with FROM replaced by TO is refused with REASON. */
static int refused(const char *fixture, const char *from, const char *to,
		   const char *reason)
{
	struct ireport r;
	char err[128] = "";
	int rc = parse(swap(load(fixture), from, to), &r, err, sizeof(err));

	if (rc != -EINVAL || r.kind == IREPORT_NONE || r.n != 0 ||
	    strcmp(err, reason) != 0) {
		printf("  %s: got %d \"%s\", wanted \"%s\"\n", fixture, rc, err,
		       reason);
		return 0;
	}
	return 1;
}

static void test_refused(void)
{
	const char *b = "postfix-bounce.eml", *m = "thunderbird-mdn.eml";

	T_ASSERT(refused(b, "Status: 5.1.1\n", "", "no Status"));
	T_ASSERT(
	    refused(b, "Action: failed", "Action: exploded", "bad Action"));
	T_ASSERT(refused(b, "Status: 5.1.1", "Status: 9.1.1", "bad Status"));
	T_ASSERT(refused(b, "Status: 5.1.1", "Status: 5.1", "bad Status"));
	T_ASSERT(refused(b, "Status: 5.1.1", "Status: 5.1.1234", "bad Status"));
	T_ASSERT(refused(b, "Final-Recipient: rfc822; bo",
			 "Final-Recipient: bo", "bad Final-Recipient"));
	T_ASSERT(refused(b, "Final-Recipient: rfc822; bo.behandler@",
			 "Final-Recipient: rfc822; bo behandler@",
			 "bad Final-Recipient"));
	T_ASSERT(refused(b, "Original-Recipient: rfc822;bo.behandler@",
			 "Original-Recipient: rfc822;bo.behandler@x@",
			 "bad Original-Recipient"));
	T_ASSERT(refused(b, "Action: failed",
			 "Action: failed\nFinal-Recipient: rfc822; x@y",
			 "Final-Recipient twice"));
	T_ASSERT(refused(b, "Action: failed\n", "", "no Action"));
	T_ASSERT(refused(b, "Content-Type: message/delivery-status",
			 "Content-Type: text/plain",
			 "no message/delivery-status part"));
	T_ASSERT(refused(b, "Action: failed", "Action failed",
			 "a line that is not a field"));
	T_ASSERT(refused(b, "Original-Envelope-Id: kip.12",
			 "Original-Envelope-Id: kip .12",
			 "bad Original-Envelope-Id"));
	T_ASSERT(refused(b, "Content-Type: message/delivery-status\n",
			 "Content-Type: message/delivery-status\n\n"
			 "Reporting-MTA: dns; x\n\n--4Q1X2Y3Z4B.1796631245/"
			 "mail.region.example\nContent-Type: text/plain\n",
			 "no recipient"));
	T_ASSERT(refused(b, "MIME-Version: 1.0\nContent-Type: application",
			 "Message-ID: <x@y>\nMIME-Version: 1.0\n"
			 "Content-Type: application",
			 "two Message-IDs in the returned headers"));
	T_ASSERT(refused(b,
			 "Message-ID: <kip.12.0a1b2c3d4e5f6071@kommune."
			 "example>",
			 "Message-ID: <>",
			 "bad Message-ID in the returned headers"));
	T_ASSERT(refused(m, "; displayed", "; exploded", "bad Disposition"));
	T_ASSERT(refused(m, "Disposition: manual-action/MDN-sent-manually",
			 "Disposition: manual-action", "bad Disposition"));
	T_ASSERT(refused(m,
			 "Disposition: manual-action/MDN-sent-manually; "
			 "displayed\n",
			 "", "no Disposition"));
	T_ASSERT(refused(m,
			 "Disposition: manual-action/MDN-sent-manually; "
			 "displayed\n",
			 "Disposition: manual-action/MDN-sent-manually; "
			 "displayed\n\nFinal-Recipient: rfc822;x@y\n",
			 "more than one block"));
	T_ASSERT(refused(m, "Original-Message-ID: <kip",
			 "Original-Message-ID: <k ip",
			 "bad Original-Message-ID"));
	T_ASSERT(refused(m, "Content-Type: message/disposition-notification;",
			 "Content-Type: message/delivery-status;",
			 "no message/disposition-notification part"));
}

/* S with COPIES of TEXT inserted before the first AT (malloc'd; S
 * freed). */
static char *insert(char *s, const char *at, const char *text, int copies)
{
	char *p = s ? strstr(s, at) : NULL, *out;
	size_t a, t = strlen(text), n;

	if (!p)
		return s;
	a = (size_t)(p - s);
	n = strlen(s) + (size_t)copies * t;
	out = malloc(n + 1);
	memcpy(out, s, a);
	for (int i = 0; i < copies; i++)
		memcpy(out + a + (size_t)i * t, text, t);
	memcpy(out + a + (size_t)copies * t, p, strlen(p) + 1);
	free(s);
	return out;
}

/* Limits: recipients, the status part's size, long values. */
static void test_limits(void)
{
	const char *rcpt = "Final-Recipient: rfc822; a@b.example\n"
			   "Action: failed\nStatus: 5.0.0\n\n";
	struct ireport r;
	char err[128], *many;
	size_t n;

	/* seven more recipients: eight, read; eight more: refused */
	T_ASSERT(parse(insert(load("postfix-bounce.eml"),
			      "Final-Recipient:", rcpt, 7),
		       &r, err, sizeof(err)) == 0);
	T_ASSERT(r.n == 8);
	T_STREQ(r.rcpt[0].final_rcpt, "a@b.example");
	T_STREQ(r.rcpt[7].final_rcpt, "bo.behandler@region.example");
	T_ASSERT(parse(insert(load("postfix-bounce.eml"),
			      "Final-Recipient:", rcpt, 8),
		       &r, err, sizeof(err)) == -EINVAL);
	T_STREQ(err, "more than 8 recipients");

	/* a diagnostic of 5000 bytes is cut; an address that long is not
	 * an address */
	n = 5000;
	many = malloc(n + 64);
	memcpy(many, "Diagnostic-Code: smtp; ", 23);
	memset(many + 23, 'x', n);
	many[23 + n] = '\0';
	T_ASSERT(parse(swap(load("postfix-bounce.eml"),
			    "Diagnostic-Code: smtp;", many),
		       &r, err, sizeof(err)) == 0);
	T_ASSERT(strlen(r.rcpt[0].diagnostic) ==
		 sizeof(r.rcpt[0].diagnostic) - 1);
	memcpy(many, "Final-Recipient: rfc822; ", 25);
	memset(many + 25, 'y', n);
	many[25 + n] = '\0';
	T_ASSERT(refused("postfix-bounce.eml", "Final-Recipient: rfc822;", many,
			 "bad Final-Recipient"));
	free(many);

	/* another type of address: kept empty, not refused */
	T_ASSERT(
	    parse(swap(load("postfix-bounce.eml"), "Final-Recipient: rfc822;",
		       "Final-Recipient: x400;"),
		  &r, err, sizeof(err)) == 0);
	T_STREQ(r.rcpt[0].final_rcpt, "");

	/* a status part over 64 KiB */
	n = IREPORT_MAX_STATUS;
	many = malloc(n + 64);
	memcpy(many, "X-Filler: ", 10);
	memset(many + 10, 'z', n);
	memcpy(many + 10 + n, "\nReporting-MTA:", 16);
	T_ASSERT(refused("postfix-bounce.eml", "Reporting-MTA:", many,
			 "status part over 65536 bytes"));
	free(many);
}

/* The status part may come base64-encoded. */
static void test_encoded(void)
{
	const char *mail =
	    "From: postmaster@x.example\n"
	    "Content-Type: multipart/report; report-type=delivery-status;"
	    " boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n"
	    "--b\nContent-Type: message/delivery-status\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    /* "Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b.example\n
	     *  Action: delayed\nStatus: 4.0.0\n" */
	    "UmVwb3J0aW5nLU1UQTogZG5zOyB4CgpGaW5hbC1SZWNpcGllbnQ6IHJmYzgyMjsg"
	    "YUBiLmV4YW1wbGUKQWN0aW9uOiBkZWxheWVkClN0YXR1czogNC4wLjAK\n"
	    "--b--\n";
	struct ireport r;
	char err[128];

	T_ASSERT(ireport_parse(mail, strlen(mail), &r, err, sizeof(err)) == 0);
	T_ASSERT(r.kind == IREPORT_DSN && r.n == 1 &&
		 r.rcpt[0].action == IREPORT_DELAYED);
	T_STREQ(r.rcpt[0].final_rcpt, "a@b.example");
	T_STREQ(ireport_action_name(r.rcpt[0].action), "delayed");
	T_STREQ(ireport_action_name((enum ireport_action)99), "?");
}

static void test_end(void)
{
	inmail_shutdown();
}

T_MAIN(T_CASE(test_postfix_bounce), T_CASE(test_postfix_success_and_delay),
       T_CASE(test_exchange_ndr), T_CASE(test_mdns), T_CASE(test_crlf),
       T_CASE(test_not_reports), T_CASE(test_refused), T_CASE(test_limits),
       T_CASE(test_encoded), T_CASE(test_end))
