/* test_certnotice.c — cert_weekly_notice(): who is told about which
 * certificates, that the notice is signed and holds ids and dates only,
 * the events, and once a week.
 *
 * Runs from the repository root. Makes the development PKI
 * (certs/make-dev-certs.sh) for the organisation's signing certificate,
 * opens a store in a temporary directory and fills it directly; the
 * certificates stored for contacts and citizens are placeholders, since
 * the notice reads only their stored expiry. openssl verifies the queued
 * messages and tests/mailpart.py decodes their text. People are fictional.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certnotice.h"
#include "config.h"
#include "kipd.h"
#include "log.h"
#include "smime.h"
#include "store.h"
#include "t.h"

static char dir[] = "/tmp/kip-test-certnotice-XXXXXX";
static struct kip_config cfg;
static struct kipd k;
static struct smime_signer *signer;
static char org_pem[128], week[16];
static char in5[32], in10[32], in20[32], in100[32];

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	if (data)
		data[n] = '\0';
	fclose(f);
	return data;
}

static void in_days(int days, char out[32])
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t count(const char *sql)
{
	int64_t n = -1;

	store_int(k.store, &n, sql, "");
	return n;
}

/*
 * The network (ids as inserted):
 *   contacts 1 Karen (coordinator of plan 1, cert in 10 days), 2 Peter
 *   (member of 1 and of the closed plan 3, in 5 days), 3 Jonas (member of
 *   2, coordinator of closed 3, in 100 days), 4 Ole (coordinator of 2, no
 *   certificate), 5 Lise, relative of citizen 1 with consent (member of 1,
 *   expired 2021), 6 Bo, relative of citizen 2 without consent (member of
 *   2, in 5 days).
 *   citizens 1 Bjarne (plan 1, in 20 days), 2 Dorte (plans 2, 3).
 */
static int fill(struct store *st)
{
	static const char now[] = "2026-01-01T00:00:00Z";
	int r = 0;

	r |= store_exec(
	    st,
	    "INSERT INTO citizens (name, cpr, address, phone, email,"
	    " cert_pem, cert_not_after, created_at, created_by)"
	    " VALUES ('Bjarne Testesen', '290256-5417', 'Prøvevej 7',"
	    " '1', 'borger@borger.example', 'x', ?, ?, 'root'),"
	    " ('Dorte Anden', '010150-5123', 'Vej 2', '2', NULL,"
	    " NULL, NULL, ?, 'root')",
	    "sss", in20, now, now);
	r |= store_exec(
	    st,
	    "INSERT INTO contacts (kind, citizen_id, name, email,"
	    " cert_pem, cert_not_after, created_at, created_by)"
	    " VALUES ('professional', NULL, 'Karen Koordinator',"
	    " 'karen.koordinator@kommune.example', 'x', ?, ?, 'root'),"
	    " ('professional', NULL, 'Peter Psykiatri',"
	    " 'peter.psykiatri@region.example', 'x', ?, ?, 'root'),"
	    " ('professional', NULL, 'Jonas Job',"
	    " 'jonas.job@jobcenter.example', 'x', ?, ?, 'root'),"
	    " ('professional', NULL, 'Ole Olsen', 'ole@kommune.example',"
	    " NULL, NULL, ?, 'root'),"
	    " ('relative', 1, 'Lise Testesen', 'lise@privat.example',"
	    " 'x', '2021-01-01T00:00:00Z', ?, 'root'),"
	    " ('relative', 2, 'Bo Anden', 'bo@privat.example', 'x', ?,"
	    " ?, 'root')",
	    "ssssssssss", in10, now, in5, now, in100, now, now, now, in5, now);
	r |= store_exec(st,
			"INSERT INTO consents (citizen_id, scope, action, date,"
			" recorded_by, recorded_at) VALUES"
			" (1, 'plan', 'given', '2026-01-01', 'root', ?),"
			" (1, 'relatives', 'given', '2026-01-01', 'root', ?),"
			" (2, 'plan', 'given', '2026-01-01', 'root', ?)",
			"sss", now, now, now);
	r |= store_exec(st,
			"INSERT INTO plans (citizen_id, basis, coordinator_id,"
			" status, created_at, created_by) VALUES"
			" (1, 1, 1, 'active', ?, 'root'),"
			" (2, 1, 4, 'active', ?, 'root'),"
			" (2, 1, 3, 'closed', ?, 'root')",
			"sss", now, now, now);
	r |= store_exec(
	    st,
	    "INSERT INTO plan_members (plan_id, contact_id, added_at,"
	    " added_by) VALUES (1, 1, ?, 'root'), (1, 2, ?, 'root'),"
	    " (1, 5, ?, 'root'), (2, 4, ?, 'root'), (2, 3, ?, 'root'),"
	    " (2, 6, ?, 'root'), (3, 3, ?, 'root'), (3, 2, ?, 'root')",
	    "ssssssss", now, now, now, now, now, now, now, now);
	return r < 0 ? -1 : 0;
}

static int setup(void)
{
	static int done, ok;
	char path[128], key[128], err[256];
	struct store *st = NULL;
	time_t t = time(NULL);
	struct tm tm;

	if (done)
		return ok;
	done = 1;
	log_set_level(LOG_WARNING);
	if (!mkdtemp(dir))
		return 0;
	atexit(cleanup);
	if (run("certs/make-dev-certs.sh %s/pki >/dev/null", dir) != 0)
		return 0;
	snprintf(org_pem, sizeof(org_pem), "%s/pki/org.pem", dir);
	snprintf(key, sizeof(key), "%s/pki/org.key", dir);
	if (smime_signer_load(org_pem, key, NULL, NULL, &signer, err,
			      sizeof(err)) < 0) {
		printf("  signer: %s\n", err);
		return 0;
	}
	in_days(5, in5);
	in_days(10, in10);
	in_days(20, in20);
	in_days(100, in100);
	snprintf(path, sizeof(path), "%s/kip.db", dir);
	if (store_open(path, &st, err, sizeof(err)) < 0) {
		printf("  store: %s\n", err);
		return 0;
	}
	if (fill(st) < 0)
		return 0;
	localtime_r(&t, &tm);
	strftime(week, sizeof(week), "%G-W%V", &tm);
	cfg.org_name = "Testkommune";
	cfg.org_mailbox = "kip@kommune.example";
	cfg.default_lang = "en";
	cfg.cert_notice_days = 30;
	cfg.cert_notice_address = "it-drift@kommune.example";
	cfg.smime_cert = org_pem;
	k = (struct kipd){.cfg = &cfg, .store = st, .signer = signer};
	ok = 1;
	return ok;
}

/* The recipients of the outbox rows with id > AFTER, "to/contact;...". */
static char *recipients(int64_t after)
{
	char *s = NULL;

	store_text(k.store, &s,
		   "SELECT group_concat(recipient || '/' ||"
		   " coalesce(contact_id, 0), ';') FROM (SELECT recipient,"
		   " contact_id FROM outbox WHERE id > ? AND kind = 'notice'"
		   " AND state = 'queued' ORDER BY id)",
		   "i", after);
	return s;
}

/* The decoded text of the notice to TO (the latest), after openssl
 * verified its signature against the dev CA; NULL if it did not. */
static char *notice_text(const char *to)
{
	char *body = NULL, *text = NULL, f[160];

	if (store_text(k.store, &body,
		       "SELECT b.body FROM outbox o JOIN outbox_body b USING "
		       "(id) WHERE o.recipient = ?"
		       " ORDER BY id DESC LIMIT 1",
		       "s", to) < 0 ||
	    !body)
		return NULL;
	snprintf(f, sizeof(f), "%s/notice.eml", dir);
	FILE *out = fopen(f, "wb");
	if (out) {
		fputs(body, out);
		fclose(out);
	}
	free(body);
	if (run("openssl cms -verify -CAfile %s/pki/ca.pem -in %s -out %s.in"
		" 2>/dev/null",
		dir, f, f) != 0 ||
	    run("python3 tests/mailpart.py %s.in part text/plain >%s.txt", f,
		f) != 0)
		return NULL;
	snprintf(f, sizeof(f), "%s/notice.eml.txt", dir);
	text = slurp(f);
	if (text) { /* CRLF → LF */
		char *q = text;

		for (const char *p = text; *p; p++)
			if (*p != '\r' || p[1] != '\n')
				*q++ = *p;
		*q = '\0';
	}
	return text;
}

static char *expect_line(const char *who, const char *verb, const char *iso)
{
	static char line[4][96];
	static int next;
	char *l = line[next++ % 4];

	snprintf(l, sizeof(line[0]), "%s: certificate %s %.10s\n", who, verb,
		 iso);
	return l;
}

static void test_weekly_notice(void)
{
	char *to, *text, want[512];

	T_ASSERT(setup());
	if (!k.store)
		return;
	cert_weekly_notice(&k);

	/* The administrator and Karen (plan 1). Not Ole: plan 2 holds only
	 * Jonas (100 days) and Bo (no consent). Not Jonas: plan 3 is closed. */
	to = recipients(0);
	T_STREQ(to, "it-drift@kommune.example/0;"
		    "karen.koordinator@kommune.example/1");
	free(to);

	snprintf(want, sizeof(want), "%s%s%s%s",
		 expect_line("contact 5", "expired", "2021-01-01"),
		 expect_line("contact 2", "expires", in5),
		 expect_line("contact 1", "expires", in10),
		 expect_line("citizen 1", "expires", in20));
	text = notice_text("it-drift@kommune.example");
	T_ASSERT(text != NULL);
	T_CONTAINS(text, "These S/MIME certificates expire within 30 days");
	T_CONTAINS(text, want);
	T_CONTAINS(text, "contains no personal data");
	T_ASSERT(text && !strstr(text, "Karen") && !strstr(text, "Bjarne") &&
		 !strstr(text, "Lise") && !strstr(text, "@") &&
		 !strstr(text, "contact 6") && !strstr(text, "contact 3") &&
		 !strstr(text, "organisation"));
	free(text);
	text = notice_text("karen.koordinator@kommune.example");
	T_CONTAINS(text, want);
	free(text);

	/* One event per certificate; the citizen's id where there is one. */
	T_ASSERT(count("SELECT count(*) FROM event_log"
		       " WHERE type = 'certificate.expiring'") == 4);
	T_ASSERT(count("SELECT count(*) FROM event_log"
		       " WHERE type = 'certificate.expiring'"
		       " AND citizen_id = 1") == 2);
	to = NULL;
	store_text(k.store, &to, "SELECT week FROM cert_notices", "");
	T_STREQ(to, week);
	free(to);
}

static void test_once_a_week(void)
{
	int64_t rows, events;

	if (!setup() || !k.store)
		return;
	rows = count("SELECT count(*) FROM outbox");
	events = count("SELECT count(*) FROM event_log");
	cert_weekly_notice(&k);
	cert_weekly_notice(&k);
	T_ASSERT(count("SELECT count(*) FROM outbox") == rows);
	T_ASSERT(count("SELECT count(*) FROM event_log") == events);
}

static void test_without_signer(void)
{
	int64_t rows, events;

	if (!setup() || !k.store)
		return;
	store_exec(k.store, "DELETE FROM cert_notices", "");
	rows = count("SELECT count(*) FROM outbox");
	events = count("SELECT count(*) FROM event_log");
	k.signer = NULL;
	cert_weekly_notice(&k);
	k.signer = signer;
	T_ASSERT(count("SELECT count(*) FROM outbox") == rows);
	T_ASSERT(count("SELECT count(*) FROM event_log") == events + 4);
	T_ASSERT(count("SELECT count(*) FROM cert_notices") == 1);
}

/* A wider window takes in the organisation's certificate (two years) and
 * Jonas's; Danish text. */
static void test_organisation_danish(void)
{
	char *to, *text;
	int64_t last;

	if (!setup() || !k.store)
		return;
	store_exec(k.store, "DELETE FROM cert_notices", "");
	last = count("SELECT max(id) FROM outbox");
	cfg.cert_notice_days = 800;
	cfg.default_lang = "da";
	cert_weekly_notice(&k);
	to = recipients(last);
	T_STREQ(to, "it-drift@kommune.example/0;"
		    "karen.koordinator@kommune.example/1;"
		    "ole@kommune.example/4");
	free(to);
	text = notice_text("it-drift@kommune.example");
	T_CONTAINS(text, "udløber inden for 800 dage");
	T_CONTAINS(text, "organisationen: certifikatet udløber 20");
	T_CONTAINS(text, "kontakt 5: certifikatet udløb 2021-01-01\n");
	T_CONTAINS(text, "kontakt 3: certifikatet udløber");
	free(text);
	text = notice_text("ole@kommune.example");
	T_ASSERT(text && strstr(text, "kontakt 3: certifikatet udløber") &&
		 !strstr(text, "kontakt 6") && !strstr(text, "organisation") &&
		 !strstr(text, "kontakt 1:"));
	free(text);
	T_ASSERT(count("SELECT count(*) FROM event_log WHERE type ="
		       " 'certificate.expiring' AND citizen_id IS NULL"
		       " AND id > (SELECT max(id) - 6 FROM event_log)") == 4);
}

/* An organisation certificate registered for a mail domain (kipctl cert
 * domain add) that expires soon is the administrator's to renew: named by
 * its domain in their notice, in no coordinator's, with its event. */
static void test_domain_certificate(void)
{
	/* (one buffer per query: the store caches statements by their SQL's
	 * address) */
	char *text, line[160], q_ev[160], q_ev2[160], q_out[160];
	int64_t last, ev0, without;

	if (!setup() || !k.store)
		return;
	cfg.cert_notice_days = 30;
	cfg.default_lang = "en";
	/* the events of a week without organisation certificates */
	store_exec(k.store, "DELETE FROM cert_notices", "");
	ev0 = count("SELECT max(id) FROM event_log");
	cert_weekly_notice(&k);
	snprintf(q_ev, sizeof(q_ev),
		 "SELECT count(*) FROM event_log WHERE type ="
		 " 'certificate.expiring' AND id > %lld",
		 (long long)ev0);
	without = count(q_ev);
	T_ASSERT(store_exec(k.store,
			    "INSERT INTO domain_certs (domain, cert_pem,"
			    " fingerprint, not_after, added_by, added_at)"
			    " VALUES ('region.example', 'x', 'AA:BB', ?,"
			    " 'root', 0), ('later.example', 'x', 'CC:DD', ?,"
			    " 'root', 0)",
			    "ss", in5, in100) >= 0);
	store_exec(k.store, "DELETE FROM cert_notices", "");
	last = count("SELECT max(id) FROM outbox");
	ev0 = count("SELECT max(id) FROM event_log");
	cert_weekly_notice(&k);
	snprintf(line, sizeof(line),
		 "the organisation certificate for region.example: "
		 "certificate expires %.10s\n",
		 in5);
	text = notice_text("it-drift@kommune.example");
	T_CONTAINS(text, line);
	T_ASSERT(text && !strstr(text, "later.example"));
	free(text);
	text = notice_text("karen.koordinator@kommune.example");
	T_ASSERT(text && !strstr(text, "region.example"));
	free(text);
	snprintf(q_out, sizeof(q_out),
		 "SELECT count(*) FROM outbox WHERE id > %lld",
		 (long long)last);
	T_ASSERT(count(q_out) == 2);
	/* one event more: the domain's (holder "domain", its name) */
	snprintf(q_ev2, sizeof(q_ev2),
		 "SELECT count(*) FROM event_log WHERE type ="
		 " 'certificate.expiring' AND id > %lld",
		 (long long)ev0);
	T_ASSERT(without >= 1 && count(q_ev2) == without + 1);
	store_exec(k.store, "DELETE FROM domain_certs", "");
}

T_MAIN(T_CASE(test_weekly_notice), T_CASE(test_once_a_week),
       T_CASE(test_without_signer), T_CASE(test_organisation_danish),
       T_CASE(test_domain_certificate))
