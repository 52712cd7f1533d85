/* test_inmail.c — inbound mail verdicts against the hostile corpus.
 *
 * Runs from the repository root. Makes a development PKI and the corpus
 * (tests/hostile/make-corpus.sh) in a temporary directory, then parses
 * every mail: each accept-*.eml must be accepted with the text, numbers,
 * reference and signer listed below; each reject-<reason>-*.eml must be
 * rejected with exactly <reason>. Also: kip's own sign-then-encrypt
 * message read back, the "Mål: 2 / Indsats: 1" syntax, KIP-<n>
 * references, truncated and mutated mail. The people and addresses are
 * fictional.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "inmail.h"
#include "mime.h"
#include "smime.h"
#include "t.h"

#define PETER "peter.psykiatri@region.example"
#define JONAS "jonas.jobcenter@kommune.example"
#define KAREN "karen.koordinator@kommune.example"
#define LIMIT (1u << 20) /* max_bytes in these tests */

static char dir[64]; /* the temporary directory, "" until made */
static int setup_failed;
static struct smime_signer *org;
static struct smime_trust *trust;

/* ----------------------------------------------------------- helpers -- */

static int __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static char *slurp(const char *path, size_t *retlen)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *p = realloc(data, cap + 65536);

			if (!p) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = p;
			cap += 65536;
		}
		n = fread(data + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	data[len] = '\0';
	*retlen = len;
	return data;
}

/* Makes the PKI and the corpus once, loads the keys. */
static int setup(void)
{
	char tmpl[] = "/tmp/kip-inmail-XXXXXX", cert[128], key[128], ca[128],
	     crl[128], err[512];

	if (dir[0])
		return 0;
	if (setup_failed)
		return -1;
	setup_failed = 1;
	if (!mkdtemp(tmpl)) {
		printf("  mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", tmpl);
	if (run("tests/hostile/make-corpus.sh %s/pki %s/corpus >/dev/null", dir,
		dir) != 0) {
		printf("  cannot make the corpus\n");
		return -1;
	}
	snprintf(cert, sizeof(cert), "%s/pki/org.pem", dir);
	snprintf(key, sizeof(key), "%s/pki/org.key", dir);
	snprintf(ca, sizeof(ca), "%s/pki/bundle.pem", dir);
	snprintf(crl, sizeof(crl), "%s/pki/crl.pem", dir);
	if (smime_signer_load(cert, key, NULL, NULL, &org, err, sizeof(err)) <
		0 ||
	    smime_trust_load(ca, crl, &trust, err, sizeof(err)) < 0) {
		printf("  keys: %s\n", err);
		return -1;
	}
	setup_failed = 0;
	return 0;
}

static struct inmail_keys keys(void)
{
	struct inmail_keys k = {org, trust, LIMIT, time(NULL)};

	return k;
}

/* Parses a corpus mail by name (without .eml); 0 or -1. */
static int parse_file(const char *name, const struct inmail_keys *k,
		      struct inmail *m)
{
	char path[256];
	size_t len = 0;
	char *raw;
	int r;

	snprintf(path, sizeof(path), "%s/corpus/%s.eml", dir, name);
	raw = slurp(path, &len);
	if (!raw) {
		printf("  cannot read %s\n", path);
		return -1;
	}
	r = inmail_parse(raw, len, k, m);
	free(raw);
	return r;
}

/* ------------------------------------------------------------ corpus -- */

struct accept {
	const char *name, *signer, *text, *subject;
	int goal, action;
	int64_t ref;
	bool encrypted, calendar;
};

static const struct accept accepts[] = {
    {"accept-detached", PETER, "udeblev fra ambulant behandling",
     "Re: Koordinerende indsatsplan \xe2\x80\x93 ref KIP-12", 2, 1, 12, false,
     false},
    {"accept-detached-lf", PETER, "udeblev fra ambulant behandling",
     "Re: Koordinerende indsatsplan \xe2\x80\x93 ref KIP-12", 2, 1, 12, false,
     false},
    {"accept-opaque", JONAS,
     "ikke m\xc3\xb8"
     "dt op i jobcentret",
     "Afvigelse KIP-7", 1, 3, 7, false, false},
    {"accept-x-pkcs7", KAREN, "udeblev fra ambulant behandling",
     "Afvigelse (kip-31)", 2, 1, 31, false, false},
    {"accept-encrypted-cbc", KAREN, "Vi foresl\xc3\xa5r at fremrykke",
     "Afvigelse \xe2\x80\x93 ref KIP-40", 2, 1, 40, true, true},
    {"accept-ec-signer", "ec.recipient@region.example",
     "udeblev fra ambulant behandling",
     "Re: Koordinerende indsatsplan \xe2\x80\x93 ref KIP-12", 2, 1, 12, false,
     false},
    {"accept-empty-text", PETER, "",
     "Re: Koordinerende indsatsplan \xe2\x80\x93 ref KIP-12", 0, 0, 12, false,
     false},
    {"accept-encrypted-gcm", PETER, "udeblev fra ambulant behandling",
     "Krypteret meddelelse KIP-41", 2, 1, 41, true, false},
};

static const struct accept *find_accept(const char *name)
{
	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++)
		if (strcmp(accepts[i].name, name) == 0)
			return &accepts[i];
	return NULL;
}

static void check_accept(const char *name, const struct inmail *m)
{
	const struct accept *a = find_accept(name);

	if (!a) {
		printf("  %s: not in the table of accepted mail\n", name);
		T_ASSERT(0);
		return;
	}
	if (m->reason != INMAIL_OK)
		printf("  %s: %s (%s)\n", name, inmail_reason_name(m->reason),
		       m->detail);
	T_ASSERT(m->reason == INMAIL_OK);
	T_CONTAINS(m->text, a->text);
	T_ASSERT(m->text && !strchr(m->text, '\r'));
	T_ASSERT(m->goal == a->goal);
	T_ASSERT(m->action == a->action);
	T_ASSERT(m->ref == a->ref);
	T_STREQ(m->subject, a->subject);
	T_STREQ(m->from, a->signer);
	T_STREQ(m->signer_email, a->signer);
	T_STREQ(m->in_reply_to, "kip-12-3@kommune.example");
	T_ASSERT(m->encrypted == a->encrypted);
	T_ASSERT(strlen(m->signer_fpr) == 64);
	T_ASSERT(m->signer_pem &&
		 strncmp(m->signer_pem, "-----BEGIN CERTIFICATE-----", 27) ==
		     0);
	T_ASSERT(m->signer_not_after > time(NULL));
	T_ASSERT(m->caps_gcm == 0 || m->caps_gcm == 1);
	T_ASSERT((m->calendar != NULL) == a->calendar);
	if (a->calendar)
		T_CONTAINS(m->calendar, "METHOD:REPLY");
}

/* The reason a reject-<reason>-*.eml name promises; -1 if none. */
static int expected_reason(const char *name)
{
	int best = -1;
	size_t bestlen = 0;

	if (strncmp(name, "reject-", 7) != 0)
		return -1;
	for (int r = INMAIL_MALFORMED; r <= INMAIL_REASON_LAST; r++) {
		const char *rn = inmail_reason_name((enum inmail_reason)r);
		size_t n = strlen(rn);

		if (strncmp(name + 7, rn, n) == 0 &&
		    (name[7 + n] == '-' || name[7 + n] == '\0') &&
		    n > bestlen) {
			best = r;
			bestlen = n;
		}
	}
	return best;
}

static void test_corpus(void)
{
	int mails = 0, accepted = 0, valid = 0, valid_ok = 0;
	struct inmail_keys k;
	struct dirent *e;
	char path[128];
	DIR *d;

	if (setup() < 0) {
		T_ASSERT(0);
		return;
	}
	k = keys();
	snprintf(path, sizeof(path), "%s/corpus", dir);
	d = opendir(path);
	T_ASSERT(d != NULL);
	while (d && (e = readdir(d))) {
		char name[256];
		size_t n = strlen(e->d_name);
		struct inmail m;
		int want;

		if (n < 5 || strcmp(e->d_name + n - 4, ".eml") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), e->d_name);
		if (parse_file(name, &k, &m) != 0) {
			T_ASSERT(0);
			continue;
		}
		/* Always filled, whatever the verdict. */
		{
			char id[300];

			snprintf(id, sizeof(id), "%s@corpus.example", name);
			T_STREQ(m.message_id, id);
		}
		T_ASSERT(!strchr(m.detail, '@'));
		T_ASSERT(m.detail[0] != '\0');
		if (strncmp(name, "accept-", 7) == 0) {
			valid++;
			check_accept(name, &m);
			valid_ok += m.reason == INMAIL_OK;
		} else {
			mails++;
			want = expected_reason(name);
			T_ASSERT(want > 0);
			if ((int)m.reason != want)
				printf("  %s: got %s (%s)\n", name,
				       inmail_reason_name(m.reason), m.detail);
			T_ASSERT((int)m.reason == want);
			T_ASSERT(inmail_has_text(m.reason) == (m.text != NULL));
			accepted += m.reason == INMAIL_OK;
		}
		inmail_free(&m);
	}
	if (d)
		closedir(d);
	printf("# hostile corpus: %d mails, %d accepted\n", mails, accepted);
	printf("# valid corpus: %d mails, %d accepted\n", valid, valid_ok);
	T_ASSERT(mails >= 30);
	T_ASSERT(accepted == 0);
	T_ASSERT(valid == (int)(sizeof(accepts) / sizeof(accepts[0])));
	T_ASSERT(valid_ok == valid);
}

/* What a rejection still tells. */
static void test_reject_details(void)
{
	struct inmail_keys k;
	struct inmail m;

	if (setup() < 0) {
		T_ASSERT(0);
		return;
	}
	k = keys();
	T_ASSERT(parse_file("reject-unsigned-imip-reply", &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_UNSIGNED);
	T_CONTAINS(m.calendar, "METHOD:REPLY");
	T_CONTAINS(m.calendar, "PARTSTAT=ACCEPTED");
	T_STREQ(m.from, PETER);
	T_ASSERT(m.ref == 12);
	T_ASSERT(m.signer_pem == NULL);
	inmail_free(&m);

	T_ASSERT(parse_file("reject-unsigned-plain", &k, &m) == 0);
	T_ASSERT(m.calendar == NULL);
	inmail_free(&m);

	/* Over the limit: only the headers are read. */
	T_ASSERT(parse_file("reject-too-large-oversized-part", &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_TOO_LARGE);
	T_STREQ(m.from, PETER);
	T_ASSERT(m.ref == 12);
	inmail_free(&m);

	/* The same mail under a higher limit: its size is fine. */
	k.max_bytes = 4u << 20;
	T_ASSERT(parse_file("reject-too-large-oversized-part", &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_OK);
	inmail_free(&m);
	k.max_bytes = LIMIT;

	/* Encrypted, but the organisation's key is not loaded. */
	k.org = NULL;
	T_ASSERT(parse_file("accept-encrypted-cbc", &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_UNDECRYPTABLE);
	T_ASSERT(!m.encrypted);
	inmail_free(&m);
	k.org = org;

	/* No trust store: no signer is trusted. */
	k.trust = NULL;
	T_ASSERT(parse_file("accept-detached", &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_UNTRUSTED);
	inmail_free(&m);
	k.trust = trust;

	/* Validity is checked at keys.now. */
	k.now = time(NULL) + 3 * 366 * 86400;
	T_ASSERT(parse_file("accept-detached", &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_EXPIRED || m.reason == INMAIL_UNTRUSTED);
	inmail_free(&m);
	k.now = time(NULL);

	/* Without CRLs a revoked signer is not known to be revoked. */
	{
		struct smime_trust *nocrl = NULL;
		char ca[128], err[256];

		snprintf(ca, sizeof(ca), "%s/pki/bundle.pem", dir);
		T_ASSERT(smime_trust_load(ca, NULL, &nocrl, err, sizeof(err)) ==
			 0);
		k.trust = nocrl;
		T_ASSERT(parse_file("reject-revoked-signer", &k, &m) == 0);
		T_ASSERT(m.reason == INMAIL_OK);
		inmail_free(&m);
		smime_trust_free(nocrl);
		k.trust = trust;
	}
	/* A stale CRL (30 days) leaves the status unknown: untrusted. */
	k.now = time(NULL) + 60 * 86400;
	T_ASSERT(parse_file("accept-detached", &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_UNTRUSTED);
	T_CONTAINS(m.detail, "revocation status unknown");
	inmail_free(&m);
	k.now = time(NULL);

	/* A verified signer is named even when it is not the sender. */
	T_ASSERT(parse_file("reject-signer-not-sender-partner", &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_SIGNER_MISMATCH);
	T_STREQ(m.signer_email, PETER);
	T_STREQ(m.from, JONAS);
	inmail_free(&m);

	/* An unusable signer is not. */
	T_ASSERT(parse_file("reject-untrusted-self-signed", &k, &m) == 0);
	T_ASSERT(m.signer_pem == NULL && m.signer_fpr[0] == '\0');
	inmail_free(&m);
}

/* kip's own message read back: mime_inner → smime_sign → smime_encrypt
 * (GCM) → mime_message, signed by a partner's key. */
static void test_kip_roundtrip(void)
{
	struct smime_signer *karen = NULL;
	struct buf inner = {0}, sig = {0}, env = {0}, msg = {0};
	char cert[128], key[128], err[512] = "", *orgpem;
	struct inmail_keys k;
	struct inmail m;
	size_t n;

	if (setup() < 0) {
		T_ASSERT(0);
		return;
	}
	k = keys();
	snprintf(cert, sizeof(cert), "%s/pki/%s", dir,
		 "karen.koordinator_at_kommune.example.pem");
	snprintf(key, sizeof(key), "%s/pki/%s", dir,
		 "karen.koordinator_at_kommune.example.key");
	T_ASSERT(smime_signer_load(cert, key, NULL, NULL, &karen, err,
				   sizeof(err)) == 0);
	snprintf(cert, sizeof(cert), "%s/pki/org.pem", dir);
	orgpem = slurp(cert, &n);
	T_ASSERT(orgpem != NULL);
	if (!karen || !orgpem)
		goto out;
	T_ASSERT(mime_inner("Karen Koordinator <" KAREN ">",
			    "Afvigelse i plan KIP-77: m\xc3\xb8"
			    "de aflyst",
			    "Hej.\r\nGoal: 3\r\nAction: 12\r\n", NULL, NULL, 0,
			    &inner) == 0);
	T_ASSERT(smime_sign(karen, inner.data, inner.len, &sig, err,
			    sizeof(err)) == 0);
	T_ASSERT(smime_encrypt(orgpem, SMIME_GCM, sig.data, sig.len, &env, err,
			       sizeof(err)) == 0);
	T_ASSERT(mime_message("Karen Koordinator <" KAREN ">",
			      "kip@kommune.example", "Krypteret meddelelse",
			      "rt-1@kommune.example", time(NULL),
			      smime_content_type(SMIME_GCM), env.data, env.len,
			      &msg) == 0);
	T_ASSERT(inmail_parse(msg.data, msg.len, &k, &m) == 0);
	if (m.reason != INMAIL_OK)
		printf("  roundtrip: %s (%s)\n", inmail_reason_name(m.reason),
		       m.detail);
	T_ASSERT(m.reason == INMAIL_OK);
	T_ASSERT(m.encrypted);
	T_ASSERT(m.caps_gcm == 1);
	T_ASSERT(m.goal == 3 && m.action == 12);
	T_ASSERT(m.ref == 77);
	T_STREQ(m.subject, "Afvigelse i plan KIP-77: m\xc3\xb8"
			   "de aflyst");
	T_STREQ(m.text, "Hej.\nGoal: 3\nAction: 12\n");
	T_STREQ(m.message_id, "rt-1@kommune.example");
	inmail_free(&m);

	/* The signed entity alone, sent unencrypted, is accepted too. */
	buf_free(&msg);
	T_ASSERT(mime_message("<" KAREN ">", "kip@kommune.example",
			      "Svar KIP-78", "rt-2@kommune.example", time(NULL),
			      NULL, sig.data, sig.len, &msg) == 0);
	T_ASSERT(inmail_parse(msg.data, msg.len, &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_OK);
	T_ASSERT(!m.encrypted);
	T_ASSERT(m.ref == 77); /* the protected subject wins */
	inmail_free(&m);
out:
	free(orgpem);
	smime_signer_free(karen);
	buf_free(&inner);
	buf_free(&sig);
	buf_free(&env);
	buf_free(&msg);
}

/* Truncated and mutated copies of the valid mail: never a crash, and a
 * cut through the content never accepted. */
static void test_mutations(void)
{
	static const char *const names[] = {
	    "accept-detached", "accept-opaque", "accept-encrypted-cbc",
	    "accept-encrypted-gcm", "reject-too-large-nested-50"};
	struct inmail_keys k;
	int parses = 0, ok_after_flip = 0;

	if (setup() < 0) {
		T_ASSERT(0);
		return;
	}
	k = keys();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[256], *raw;
		size_t len = 0;
		struct inmail m, orig;

		snprintf(path, sizeof(path), "%s/corpus/%s.eml", dir, names[i]);
		raw = slurp(path, &len);
		T_ASSERT(raw != NULL);
		if (!raw)
			continue;
		for (int cut = 1; cut < 10; cut++) {
			T_ASSERT(inmail_parse(raw, len * (size_t)cut / 10, &k,
					      &m) == 0);
			T_ASSERT(m.reason != INMAIL_OK);
			inmail_free(&m);
			parses++;
		}
		T_ASSERT(inmail_parse(raw, len, &k, &orig) == 0);
		for (size_t at = 0; at < len; at += 13) {
			char *copy = malloc(len);

			T_ASSERT(copy != NULL);
			if (!copy)
				break;
			memcpy(copy, raw, len);
			copy[at] ^= 0x20;
			T_ASSERT(inmail_parse(copy, len, &k, &m) == 0);
			ok_after_flip += m.reason == INMAIL_OK;
			/* Accepted only when the signed text is untouched. */
			if (m.reason == INMAIL_OK) {
				T_ASSERT(orig.reason == INMAIL_OK);
				T_STREQ(m.text, orig.text);
				T_ASSERT(m.goal == orig.goal &&
					 m.action == orig.action);
				T_STREQ(m.signer_fpr, orig.signer_fpr);
			}
			inmail_free(&m);
			free(copy);
			parses++;
		}
		T_ASSERT(inmail_parse(raw, 0, &k, &m) == 0);
		T_ASSERT(m.reason != INMAIL_OK);
		inmail_free(&m);
		inmail_free(&orig);
		free(raw);
	}
	printf("# mutations: %d parses, %d still accepted after a flip in "
	       "unsigned headers or encoding\n",
	       parses, ok_after_flip);
}

/* ------------------------------------------------------ text helpers -- */

static void numbers(const char *text, int goal, int action)
{
	int g = 7777, a = 7777;

	inmail_parse_numbers(text, &g, &a);
	if (g != goal || a != action)
		printf("  \"%s\": goal %d action %d, want %d %d\n", text, g, a,
		       goal, action);
	T_ASSERT(g == goal);
	T_ASSERT(a == action);
}

static void test_numbers(void)
{
	numbers("M\xc3\xa5l: 2 / Indsats: 1\n", 2, 1);
	numbers("Afvigelse.\nM\xc3\xa5l: 2\nIndsats: 1\n", 2, 1);
	numbers("M\xc3\x85L:2;INDSATS : 14", 2, 14);
	numbers("  m\xc3\xa5l :  3 , indsats: 4  \n", 3, 4);
	numbers("Goal: 5 / Action: 6\n", 5, 6);
	numbers("Ingen tal her.\n", 0, 0);
	numbers("", 0, 0);
	numbers("M\xc3\xa5l: 0\nIndsats: 100\n", -1, -1);
	numbers("M\xc3\xa5l: to\nIndsats: 1 og 2\n", -1, -1);
	numbers("M\xc3\xa5l: 2 (boligen)\n", -1, 0);
	/* First occurrence counts; a malformed first stays malformed. */
	numbers("M\xc3\xa5l: 4\nM\xc3\xa5l: 5\n", 4, 0);
	numbers("M\xc3\xa5l: x\nM\xc3\xa5l: 5\n", -1, 0);
	/* Not keys: other words, quoted lines. */
	numbers("M\xc3\xa5ls\xc3\xa6tning: 2\nIndsatsplan: 3\n", 0, 0);
	numbers("Vores m\xc3\xa5l: 2\n", 0, 0);
	numbers("> M\xc3\xa5l: 2 / Indsats: 1\nIndsats: 3\n", 0, 3);
	numbers("Indsats: 1\r\nM\xc3\xa5l: 2\r\n", 2, 1);
}

static void test_ref(void)
{
	T_ASSERT(inmail_parse_ref("Re: Koordinerende indsatsplan \xe2\x80\x93 "
				  "ref KIP-12") == 12);
	T_ASSERT(inmail_parse_ref("KIP-1") == 1);
	T_ASSERT(inmail_parse_ref("[kip-77] svar") == 77);
	T_ASSERT(inmail_parse_ref("Ingen reference") == 0);
	T_ASSERT(inmail_parse_ref("KIP-") == 0);
	T_ASSERT(inmail_parse_ref("KIP-0") == 0);
	T_ASSERT(inmail_parse_ref("SKIP-12") == 0);
	T_ASSERT(inmail_parse_ref("KIP-12a KIP-13") == 13);
	T_ASSERT(inmail_parse_ref("KIP-99999999999999999999") == 0);
	T_ASSERT(inmail_parse_ref("") == 0);
}

/* RFC 2047 subjects (B and Q, folded) are decoded before the search. */
static void test_encoded_subject(void)
{
	static const char mail[] =
	    "From: Peter <" PETER ">\r\n"
	    "To: <kip@kommune.example>\r\n"
	    "Subject: =?UTF-8?Q?Re:_Koordinerende_indsatsplan_=E2=80=93?=\r\n"
	    " =?UTF-8?B?IHJlZiBLSVAtMTI=?=\r\n"
	    "Message-ID: <enc-1@corpus.example>\r\n"
	    "In-Reply-To: <kip-12-3@kommune.example> <other@x.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "M\xc3\xa5l: 2 / Indsats: 1\r\n";
	struct inmail_keys k = {NULL, NULL, LIMIT, 0};
	struct inmail m;

	T_ASSERT(inmail_parse(mail, sizeof(mail) - 1, &k, &m) == 0);
	T_ASSERT(m.reason == INMAIL_UNSIGNED);
	T_STREQ(m.subject,
		"Re: Koordinerende indsatsplan \xe2\x80\x93 ref KIP-12");
	T_ASSERT(m.ref == 12);
	T_STREQ(m.from, PETER);
	T_STREQ(m.message_id, "enc-1@corpus.example");
	T_STREQ(m.in_reply_to, "kip-12-3@kommune.example");
	T_ASSERT(m.text == NULL && m.goal == 0 && m.action == 0);
	inmail_free(&m);
}

static void test_odd_input(void)
{
	struct inmail_keys k = {NULL, NULL, LIMIT, 0};
	static const char *const inputs[] = {
	    "",
	    "\r\n\r\n",
	    "From: <a@b.example>\r\n",
	    "garbage without headers",
	    "Content-Type: multipart/signed; protocol=\"application/"
	    "pkcs7-signature\"; boundary=x\r\n\r\n--x\r\n",
	    "Content-Type: application/pkcs7-mime\r\n\r\nMIIB\r\n",
	    "From: <a@b.example>\r\nContent-Type: multipart/mixed; "
	    "boundary=\"\"\r\n\r\n--\r\n\r\n----\r\n",
	};
	struct inmail m;

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		T_ASSERT(inmail_parse(inputs[i], strlen(inputs[i]), &k, &m) ==
			 0);
		T_ASSERT(m.reason != INMAIL_OK);
		inmail_free(&m);
	}
	/* An internationalised domain is compared in its ASCII form, as
	 * certificates carry it. */
	{
		static const char idn[] = "From: P <Peter@R\xc3\xb8"
					  "dby.example>\r\n\r\nhej\r\n";

		T_ASSERT(inmail_parse(idn, sizeof(idn) - 1, &k, &m) == 0);
		T_STREQ(m.from, "peter@xn--rdby-gra.example");
		T_ASSERT(m.reason == INMAIL_UNSIGNED);
		inmail_free(&m);
	}
	T_ASSERT(inmail_parse(NULL, 0, &k, &m) == -EINVAL);
	T_ASSERT(inmail_parse("x", 1, NULL, &m) == -EINVAL);
	T_STREQ(inmail_reason_name(INMAIL_OK), "ok");
	T_STREQ(inmail_reason_name(INMAIL_WRAPPED), "signature-wrapping");
	T_STREQ(inmail_reason_name(INMAIL_SIGNER_MISMATCH),
		"signer-not-sender");
	T_STREQ(inmail_reason_name(INMAIL_WRONG_TYPE), "wrong-content-type");
	T_STREQ(inmail_reason_name((enum inmail_reason)99), "unknown");
}

static void test_cleanup(void)
{
	smime_signer_free(org);
	smime_trust_free(trust);
	org = NULL;
	trust = NULL;
	if (dir[0] && getenv("KIP_KEEP_CORPUS") == NULL)
		T_ASSERT(run("rm -rf %s", dir) == 0);
	else if (dir[0])
		printf("# corpus kept in %s/corpus\n", dir);
	inmail_shutdown();
}

T_MAIN(T_CASE(test_numbers), T_CASE(test_ref), T_CASE(test_encoded_subject),
       T_CASE(test_odd_input), T_CASE(test_corpus), T_CASE(test_reject_details),
       T_CASE(test_kip_roundtrip), T_CASE(test_mutations), T_CASE(test_cleanup))
