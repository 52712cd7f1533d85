/* test_smtpwire.c — the SMTP commands and replies of smtpwire.h: the ENVID
 * taken from a Message-ID, xtext, MAIL and RCPT with and without the
 * request for reports, addresses that must never reach a command, EHLO
 * keywords, and replies read whole from bytes in any chunking, odd and
 * broken ones refused. Addresses are fictional. */
#include "smtpwire.h"
#include "t.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_envid(void)
{
	char out[128];

	T_ASSERT(smtpwire_envid("<kip.7.0123456789abcdef@kommune.example>", out,
				sizeof(out)) == 0);
	T_STREQ(out, "kip.7.0123456789abcdef");
	T_ASSERT(smtpwire_envid("<a@b>", out, sizeof(out)) == 0);
	T_STREQ(out, "a");
	/* RET is left untouched when it is too small */
	snprintf(out, sizeof(out), "x");
	T_ASSERT(smtpwire_envid("<kip.7.0123456789abcdef@kommune.example>", out,
				10) == -ENOSPC);
	T_STREQ(out, "x");
}

static void test_envid_refused(void)
{
	static const char *const bad[] = {
	    NULL,
	    "",
	    "kip.7.01@kommune.example",	  /* no brackets */
	    "<kip.7.01@kommune.example",  /* no '>' */
	    "<@kommune.example>",	  /* no local part */
	    "<kip.7.01>",		  /* no domain */
	    "<kip.7.01@>",		  /* an empty domain */
	    "<kip 7@kommune.example>",	  /* a space */
	    "<kip+7@kommune.example>",	  /* '+' is not xtext as it is */
	    "<kip=7@kommune.example>",	  /* nor '=' */
	    "<kip\r\n7@kommune.example>", /* nor CR LF */
	    "<kip.7@a@kommune.example>",  /* a second '@' */
	    "<kip.7@kommune.example>x>",  /* more after the '>' */
	    "<kip.7@kommune.example><x>",
	    "<kipæ@kommune.example>", /* not ASCII */
	};
	char out[128], longid[200];

	for (size_t i = 0; i < LEN(bad); i++) {
		if (smtpwire_envid(bad[i], out, sizeof(out)) != -EINVAL)
			printf("  accepted: %s\n", bad[i] ? bad[i] : "(null)");
		T_ASSERT(smtpwire_envid(bad[i], out, sizeof(out)) == -EINVAL);
	}
	/* at most 100 characters (RFC 3461 4.4) */
	snprintf(longid, sizeof(longid), "<%0100d@k.example>", 7);
	T_ASSERT(smtpwire_envid(longid, out, sizeof(out)) == 0);
	snprintf(longid, sizeof(longid), "<%0101d@k.example>", 7);
	T_ASSERT(smtpwire_envid(longid, out, sizeof(out)) == -EINVAL);
}

static void test_xtext(void)
{
	char out[64];

	T_ASSERT(smtpwire_xtext("peter.psykiatri@region.example", out,
				sizeof(out)) == 0);
	T_STREQ(out, "peter.psykiatri@region.example");
	T_ASSERT(smtpwire_xtext("a+b=c d\x7f", out, sizeof(out)) == 0);
	T_STREQ(out, "a+2Bb+3Dc+20d+7F");
	T_ASSERT(smtpwire_xtext("\xc3\xa6", out, sizeof(out)) == 0);
	T_STREQ(out, "+C3+A6");
	T_ASSERT(smtpwire_xtext("", out, sizeof(out)) == 0);
	T_STREQ(out, "");
	/* exactly fitting, and one short */
	T_ASSERT(smtpwire_xtext("abc", out, 4) == 0);
	T_ASSERT(smtpwire_xtext("abcd", out, 4) == -ENOSPC);
	T_ASSERT(smtpwire_xtext("a+", out, 4) == -ENOSPC);
	T_ASSERT(smtpwire_xtext("a+", out, 5) == 0);
	T_STREQ(out, "a+2B");
}

static void test_mail(void)
{
	char out[SMTPWIRE_LINE_MAX];

	T_ASSERT(smtpwire_mail("kip@kommune.example", 0, NULL, out,
			       sizeof(out)) == 0);
	T_STREQ(out, "MAIL FROM:<kip@kommune.example>\r\n");
	T_ASSERT(smtpwire_mail("kip@kommune.example", 61188, NULL, out,
			       sizeof(out)) == 0);
	T_STREQ(out, "MAIL FROM:<kip@kommune.example> SIZE=61188\r\n");
	T_ASSERT(smtpwire_mail("kip@kommune.example", 61188,
			       "kip.7.0123456789abcdef", out,
			       sizeof(out)) == 0);
	T_STREQ(out, "MAIL FROM:<kip@kommune.example> SIZE=61188 RET=HDRS "
		     "ENVID=kip.7.0123456789abcdef\r\n");
	/* an ENVID that needs it is xtext */
	T_ASSERT(smtpwire_mail("kip@kommune.example", 0, "a+b", out,
			       sizeof(out)) == 0);
	T_STREQ(out,
		"MAIL FROM:<kip@kommune.example> RET=HDRS ENVID=a+2Bb\r\n");
	T_ASSERT(smtpwire_mail("kip@kommune.example", 0, "", out,
			       sizeof(out)) == -EINVAL);
	T_ASSERT(smtpwire_mail("kip@kommune.example", 0, NULL, out, 20) ==
		 -ENOSPC);
}

static void test_rcpt(void)
{
	char out[SMTPWIRE_LINE_MAX];

	T_ASSERT(smtpwire_rcpt("peter.psykiatri@region.example", false, out,
			       sizeof(out)) == 0);
	T_STREQ(out, "RCPT TO:<peter.psykiatri@region.example>\r\n");
	T_ASSERT(smtpwire_rcpt("peter.psykiatri@region.example", true, out,
			       sizeof(out)) == 0);
	T_STREQ(out, "RCPT TO:<peter.psykiatri@region.example>"
		     " NOTIFY=SUCCESS,FAILURE,DELAY"
		     " ORCPT=rfc822;peter.psykiatri@region.example\r\n");
	T_ASSERT(smtpwire_rcpt("a+b@region.example", true, out, sizeof(out)) ==
		 0);
	T_STREQ(out, "RCPT TO:<a+b@region.example>"
		     " NOTIFY=SUCCESS,FAILURE,DELAY"
		     " ORCPT=rfc822;a+2Bb@region.example\r\n");
}

/* Nothing that could end a command early or add to it reaches one. */
static void test_addresses_refused(void)
{
	static const char *const bad[] = {
	    NULL,
	    "",
	    "peter@region.example>",
	    "<peter@region.example>",
	    "peter@region.example> NOTIFY=NEVER",
	    "peter@region.example\r\nRCPT TO:<x@y.example>",
	    "peter@region.example\n",
	    "peter @region.example",
	    "peter",
	    "peter@@region.example",
	    "pet\"er@region.example",
	    "peter@region.example;x",
	    "pëter@region.example",
	};
	char out[SMTPWIRE_LINE_MAX];

	for (size_t i = 0; i < LEN(bad); i++) {
		T_ASSERT(smtpwire_mail(bad[i], 0, NULL, out, sizeof(out)) ==
			 -EINVAL);
		T_ASSERT(smtpwire_rcpt(bad[i], true, out, sizeof(out)) ==
			 -EINVAL);
	}
}

static void test_ehlo_names(void)
{
	T_ASSERT(smtpwire_ehlo_names("250-DSN\r\n", 9, "DSN"));
	T_ASSERT(smtpwire_ehlo_names("250 DSN\r\n", 9, "DSN"));
	T_ASSERT(smtpwire_ehlo_names("250-dsn\r\n", 9, "DSN"));
	T_ASSERT(smtpwire_ehlo_names("250-DSN", 7, "DSN"));
	T_ASSERT(smtpwire_ehlo_names("250-SIZE 104857600\r\n", 20, "SIZE"));
	T_ASSERT(smtpwire_ehlo_names("250-SIZE\r\n", 10, "SIZE"));
	T_ASSERT(!smtpwire_ehlo_names("250-DSNX\r\n", 10, "DSN"));
	T_ASSERT(!smtpwire_ehlo_names("250-XDSN\r\n", 10, "DSN"));
	T_ASSERT(!smtpwire_ehlo_names("250-8BITMIME\r\n", 14, "DSN"));
	T_ASSERT(!smtpwire_ehlo_names("550-DSN\r\n", 9, "DSN"));
	T_ASSERT(!smtpwire_ehlo_names("250DSN\r\n", 8, "DSN"));
	T_ASSERT(!smtpwire_ehlo_names("250-DS", 6, "DSN"));
	T_ASSERT(!smtpwire_ehlo_names("250 \r\n", 6, "DSN"));
	T_ASSERT(!smtpwire_ehlo_names("", 0, "DSN"));
}

/* Feeds S in chunks of CHUNK: the last feed's result, *code and the
 * bytes left over in *rest. */
static int feed(struct smtpwire_reply *r, const char *s, size_t chunk,
		size_t *rest)
{
	size_t len = strlen(s), off = 0;
	int rc = 0;

	smtpwire_reply_reset(r);
	while (off < len && rc == 0) {
		size_t n = len - off < chunk ? len - off : chunk, used = 0;

		rc = smtpwire_reply_feed(r, s + off, n, &used);
		T_ASSERT(used <= n);
		T_ASSERT(rc != 0 || used == n);
		off += used;
	}
	*rest = len - off;
	return rc;
}

static void test_reply(void)
{
	static const struct {
		const char *in;
		int code;
		const char *text;
		size_t rest;
	} cases[] = {
	    {"250 2.1.0 Ok\r\n", 250, "250 2.1.0 Ok", 0},
	    {"354 End data with <CR><LF>.<CR><LF>\r\n", 354,
	     "354 End data with <CR><LF>.<CR><LF>", 0},
	    {"250-first\r\n250-second\r\n250 last\r\n", 250, "250 last", 0},
	    {"250 Ok\n", 250, "250 Ok", 0}, /* a bare LF ends a line too */
	    {"221\r\n", 221, "221", 0},
	    {"250 \r\n", 250, "250", 0},
	    /* the next reply's bytes stay */
	    {"250 2.1.5 Ok\r\n354 go on\r\n", 250, "250 2.1.5 Ok", 11},
	    {"555 5.5.4 Unsupported option: RET=HDRS\r\n", 555,
	     "555 5.5.4 Unsupported option: RET=HDRS", 0},
	    {"550 5.1.1 <x@y.example>:\tno\x01\r\n", 550,
	     "550 5.1.1 <x@y.example>:?no?", 0},
	};
	struct smtpwire_reply r;

	for (size_t i = 0; i < LEN(cases); i++) {
		for (size_t chunk = 1; chunk <= strlen(cases[i].in); chunk++) {
			size_t rest = 0;

			T_ASSERT(feed(&r, cases[i].in, chunk, &rest) == 1);
			T_ASSERT(r.code == cases[i].code);
			T_STREQ(r.text, cases[i].text);
			T_ASSERT(rest == cases[i].rest);
		}
	}
	/* an unfinished reply needs more */
	{
		size_t rest = 0;

		T_ASSERT(feed(&r, "250-one\r\n250 tw", 4, &rest) == 0);
	}
}

static void test_reply_refused(void)
{
	static const char *const bad[] = {
	    "hello\r\n",	  "25\r\n",
	    "2500 x\r\n",	  "150 x\r\n", /* no 1yz in SMTP */
	    "650 x\r\n",	  "2x0 x\r\n",
	    "250-a\r\n251 b\r\n", /* codes that differ */
	    "250x\r\n",
	};
	struct smtpwire_reply r;
	char big[3 * SMTPWIRE_LINE_MAX], many[1200 * 8];
	size_t rest;

	for (size_t i = 0; i < LEN(bad); i++)
		T_ASSERT(feed(&r, bad[i], 3, &rest) == -EPROTO);
	/* a line longer than the limit, however it comes */
	memset(big, 'x', sizeof(big) - 3);
	memcpy(big, "250 ", 4);
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	T_ASSERT(feed(&r, big, 1, &rest) == -EPROTO);
	T_ASSERT(feed(&r, big, sizeof(big), &rest) == -EPROTO);
	/* a reply that never ends */
	for (int i = 0; i < 1000; i++)
		memcpy(many + 7 * i, "250-x\r\n", 8);
	T_ASSERT(feed(&r, many, 64, &rest) == -EPROTO);
	/* the long text of a good line is cut, not refused */
	memset(big, 'y', SMTPWIRE_LINE_MAX - 3);
	memcpy(big, "250 ", 4);
	memcpy(big + SMTPWIRE_LINE_MAX - 3, "\r\n", 3);
	T_ASSERT(feed(&r, big, 100, &rest) == 1);
	T_ASSERT(strlen(r.text) == SMTPWIRE_TEXT_MAX);
}

T_MAIN(T_CASE(test_envid), T_CASE(test_envid_refused), T_CASE(test_xtext),
       T_CASE(test_mail), T_CASE(test_rcpt), T_CASE(test_addresses_refused),
       T_CASE(test_ehlo_names), T_CASE(test_reply), T_CASE(test_reply_refused))
