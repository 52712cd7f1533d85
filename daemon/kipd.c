/* kipd.c — main: options, configuration, store, control socket, loop.
 *
 * Signal handlers only write the signal number to a pipe; the loop reads
 * it and acts (SIGTERM/SIGINT: stop; SIGHUP: reload the configuration,
 * keeping the old one if the new one is invalid).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "certnotice.h"
#include "config.h"
#include "control.h"
#include "directory.h"
#include "digest.h"
#include "distribute.h"
#include "erase.h"
#include "kipd.h"
#include "log.h"
#include "roff.h"
#include "intake.h"
#include "mqtt.h"
#include "outbox.h"
#include "pdfproc.h"
#include "clock.h"
#include "scheduler.h"
#include "sdnotify.h"
#include "smime.h"
#include "smtp.h"
#include "sslver.h"
#include "loop.h"
#include "store.h"
#include "txn.h"
#include "tzone.h"

static int signal_pipe[2] = {-1, -1};
/* systemd's watchdog interval (WatchdogSec=) in microseconds; 0: none. */
static uint64_t watchdog_usec;

/* Loads the organisation's signing key and the trust store when the
 * configuration names them. 0 or -errno with err. */
static int load_crypto(const struct kip_config *cfg,
		       struct smime_signer **ret_signer,
		       struct smime_trust **ret_trust, char *err, size_t errlen)
{
	struct smime_signer *signer = NULL;
	struct smime_trust *trust = NULL;
	int r = 0;

	if (cfg->n_directories && !cfg->smime_ca_bundle) {
		snprintf(err, errlen,
			 "directory.servers needs smime.ca_bundle, to check "
			 "the certificates a directory gives");
		return -EINVAL;
	}
	if (cfg->smime_cert || cfg->smime_key) {
		if (!cfg->smime_cert || !cfg->smime_key) {
			snprintf(err, errlen,
				 "smime.cert and smime.key go "
				 "together");
			return -EINVAL;
		}
		r = smime_signer_load(cfg->smime_cert, cfg->smime_key,
				      cfg->smime_key_passphrase,
				      cfg->smime_chain, &signer, err, errlen);
	}
	if (r == 0 && cfg->smime_ca_bundle)
		r = smime_trust_load(cfg->smime_ca_bundle, cfg->smime_crl,
				     &trust, err, errlen);
	if (r < 0) {
		smime_signer_free(signer);
		return r;
	}
	*ret_signer = signer;
	*ret_trust = trust;
	return 0;
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	(void)!write(signal_pipe[1], &b, 1);
	errno = saved;
}

static void reload(struct kipd *k)
{
	struct smime_signer *signer = NULL;
	struct smime_trust *trust = NULL;
	struct kip_config *cfg = NULL;
	char err[512];

	if (config_load(k->cfg->path, &cfg, err, sizeof(err)) < 0 ||
	    sslver_check(cfg->smime_openssl_min, err, sizeof(err)) < 0 ||
	    load_crypto(cfg, &signer, &trust, err, sizeof(err)) < 0) {
		log_err("reload refused, keeping the running configuration: "
			"%s",
			err);
		config_free(cfg);
		return;
	}
	/* The SMTP workers read the configuration: stop them (finishing
	 * what is in flight) before it changes, start them after. */
	intake_close(k);
	outbox_close(k);
	mqtt_close(k);
	smime_signer_free(k->signer);
	smime_trust_free(k->trust);
	k->signer = signer;
	k->trust = trust;
	/* The store, the socket and the time zone (tzone.h: threads run)
	 * stay as they are until a restart. */
	if (strcmp(cfg->store_path, k->cfg->store_path) != 0 ||
	    strcmp(cfg->socket_path, k->cfg->socket_path) != 0)
		log_warn("reload: store.path and control.socket take effect "
			 "only after a restart");
	if (strcmp(cfg->timezone, k->cfg->timezone) != 0)
		log_warn("reload: timezone '%s' takes effect only after a "
			 "restart; times stay in %s until then",
			 cfg->timezone, k->cfg->timezone);
	free(cfg->store_path);
	free(cfg->socket_path);
	free(cfg->timezone);
	cfg->store_path = k->cfg->store_path;
	cfg->socket_path = k->cfg->socket_path;
	cfg->timezone = k->cfg->timezone;
	k->cfg->store_path = k->cfg->socket_path = k->cfg->timezone = NULL;
	config_free(k->cfg);
	k->cfg = cfg;
	log_set_level(cfg->log_level);
	if (outbox_open(k, err, sizeof(err)) < 0)
		log_err("reload: mail stays queued: %s", err);
	if (mqtt_open(k, err, sizeof(err)) < 0)
		log_err("reload: events stay queued: %s", err);
	if (intake_open(k, err, sizeof(err)) < 0)
		log_err("reload: no mail intake: %s", err);
	directory_kick(k);
	log_notice("configuration reloaded");
}

/* Tells systemd (Type=notify) that kipd serves, and what it serves. */
static void notify_ready(struct kipd *k)
{
	int r = sdnotifyf("READY=1\nSTATUS=serving %s (schema %d)",
			  k->cfg->socket_path, store_schema_version(k->store));

	if (r < 0)
		log_warn("NOTIFY_SOCKET: %s", strerror(-r));
}

/* WATCHDOG=1 at half the interval, sent from the loop itself: a loop stuck
 * in one callback stops the pings, and systemd restarts kipd. */
static void on_watchdog(struct loop *loop, void *arg)
{
	uint64_t half_ms = watchdog_usec / 2000;

	(void)arg;
	(void)sdnotify("WATCHDOG=1");
	if (loop_timer_at(loop, loop_now_ms() + (half_ms ? half_ms : 1),
			  on_watchdog, NULL) < 0)
		log_err("watchdog: no timer (out of memory); systemd will "
			"restart kipd");
}

/* Pings from now on if systemd asks for it (WatchdogSec=). */
static void watchdog_start(struct loop *loop)
{
	int r = sdnotify_watchdog_usec(&watchdog_usec);

	if (r < 0)
		log_warn("WATCHDOG_USEC or WATCHDOG_PID malformed: "
			 "no watchdog");
	if (r <= 0)
		return;
	log_info("watchdog: WATCHDOG=1 every %" PRIu64 " ms",
		 watchdog_usec / 2000);
	on_watchdog(loop, NULL);
}

/* SIGHUP: RELOADING=1 ... READY=1 around reload(). reload() waits, with
 * the loop blocked, for the SMTP transfers in flight, up to smtp.timeout_s
 * (outbox_close); meanwhile the watchdog interval is stretched by that
 * much, so that a slow mail server does not get kipd killed mid-reload. */
static void reload_notified(struct kipd *k)
{
	uint64_t slack = (uint64_t)k->cfg->smtp_timeout_s * 1000000;

	(void)sdnotify_reloading();
	if (watchdog_usec)
		(void)sdnotifyf("WATCHDOG=1\nWATCHDOG_USEC=%" PRIu64,
				watchdog_usec + slack);
	reload(k);
	if (watchdog_usec)
		(void)sdnotifyf("WATCHDOG=1\nWATCHDOG_USEC=%" PRIu64,
				watchdog_usec);
	notify_ready(k);
}

static void on_signal_pipe(struct loop *loop, int fd, short revents, void *arg)
{
	unsigned char b;

	(void)revents;
	while (read(fd, &b, 1) == 1) {
		if (b == SIGHUP) {
			reload_notified(arg);
		} else {
			log_notice("signal %d: stopping", b);
			loop_stop(loop);
		}
	}
}

static int setup_signals(struct kipd *k)
{
	struct sigaction sa;

	if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return loop_add_fd(k->loop, signal_pipe[0], POLLIN, on_signal_pipe, k);
}

/* Daily duties; each decides itself whether it has anything to do. */
/* What runs after a unit of work commits (txn.h), in this order, for
 * what it marked: the mail it queued or cancelled goes (or stops) first,
 * then its events are published, the scheduler re-arms for what it
 * changed, and an erasure rewrites the file last (mail withdrawn only
 * empties the WAL). */
static const struct txn_wake wakes[] = {
    {TXN_OUTBOX, outbox_after_commit}, {TXN_EVENTS, mqtt_after_commit},
    {TXN_SCHEDULE, scheduler_kick},    {TXN_ERASED, erase_after_commit},
    {TXN_SCRUB, erase_scrub_wal},
};

static void on_daily(struct loop *loop, void *arg)
{
	cert_weekly_notice(arg); /* at most once per ISO week */
	loop_timer_at(loop, loop_now_ms() + 24ull * 3600 * 1000, on_daily, arg);
}

/* kipd's options. getopt_long()'s tables, --help and the man page kipd(8)
 * all come from this one. A key above 255 has no short form; an option
 * without help is hidden. A '\n' in a help breaks the line in --help. */
enum { LONG_TEST_CLOCK = 256, LONG_MAN };

static const struct kipd_option {
	const char *name;
	int key;
	const char *arg; /* its argument's placeholder; NULL: none */
	const char *help;
} kipd_options[] = {
    {"config", 'c', "FILE", "configuration (default " KIP_DEFAULT_CONFIG ")"},
    {"foreground", 'f', NULL, "log to stderr instead of syslog"},
    {"verbose", 'v', NULL,
     "log debug messages; with -n, print the effective\n"
     "configuration (secrets as their files)"},
    {"check-config", 'n', NULL, "validate the configuration and exit"},
    {"help", 'h', NULL, "this text"},
    {"test-clock", LONG_TEST_CLOCK, "FILE",
     "for tests only: kipd's clock runs ahead by the\n"
     "seconds written in FILE"},
    /* --man 8: kipd(8); --man 5: kipd.conf(5), from the example
     * configuration named by -c (the Makefile's man pages) */
    {"man", LONG_MAN, "SECTION", NULL},
};

#define N_KIPD_OPTIONS (sizeof(kipd_options) / sizeof(kipd_options[0]))
#define HELP_COLUMN 22

/* "-c, --config FILE" or "--test-clock FILE". */
static void option_tag(char *out, size_t len, const struct kipd_option *o)
{
	int n = o->key < 256 ? snprintf(out, len, "-%c, ", o->key) : 0;

	snprintf(out + n, len - (size_t)n, "--%s%s%s", o->name,
		 o->arg ? " " : "", o->arg ? o->arg : "");
}

static void usage(FILE *f)
{
	const struct kipd_option *o;
	char tag[64];

	fputs("usage: kipd", f);
	for (o = kipd_options; o < kipd_options + N_KIPD_OPTIONS; o++)
		if (o->help && o->key < 256 && o->arg)
			fprintf(f, " [-%c %s]", o->key, o->arg);
		else if (o->help && o->key < 256)
			fprintf(f, " [-%c]", o->key);
	fputc('\n', f);
	for (o = kipd_options; o < kipd_options + N_KIPD_OPTIONS; o++) {
		if (!o->help)
			continue;
		option_tag(tag, sizeof(tag), o);
		fprintf(f, "  %-*s", HELP_COLUMN - 2, tag);
		for (const char *p = o->help; *p; p++)
			if (*p == '\n')
				fprintf(f, "\n%*s", HELP_COLUMN, "");
			else
				fputc(*p, f);
		fputc('\n', f);
	}
}

/* getopt_long()'s tables from kipd_options. */
static void getopt_tables(struct option *longs, char *shorts)
{
	for (size_t i = 0; i < N_KIPD_OPTIONS; i++) {
		const struct kipd_option *o = &kipd_options[i];

		longs[i] = (struct option){
		    o->name, o->arg ? required_argument : no_argument, NULL,
		    o->key};
		if (o->key < 256) {
			*shorts++ = (char)o->key;
			if (o->arg)
				*shorts++ = ':';
		}
	}
	longs[N_KIPD_OPTIONS] = (struct option){NULL, 0, NULL, 0};
	*shorts = '\0';
}

/* The prose of kipd(8); the options come from kipd_options. */
static const char *const man_description[] = {
    "kipd keeps the coordinated action plans (koordinerende indsatsplaner) "
    "of citizens with a mental illness and a concurrent drug or alcohol "
    "problem: the citizen, the consents, the network, the plan versions "
    "and the meetings, in one SQLite database. It enforces the "
    "guideline's rules, records every change and every read of a "
    "citizen's data in a hash-chained audit trail, sends every approved "
    "version signed and encrypted (S/MIME) over SMTP through a durable "
    "outbox, sends invitations and reminders, takes partners' deviation "
    "reports from the function mailbox (IMAP) and from MQTT, and "
    "publishes its events over MQTT.",
    "kipctl(1) talks to kipd over a local socket. kipd learns who the "
    "caller is from the kernel (SO_PEERCRED) and what the caller may do "
    "from the users list of kipd.conf(5).",
    "kipd runs as its own user under systemd (Type=notify, with a "
    "watchdog) and logs ids only, never personal data; docs/OPERATIONS.md "
    "says how to install and run it.",
    NULL,
};

static const char *const man_signals[][2] = {
    {"SIGHUP", "reads and checks the configuration again; an invalid one "
	       "is refused and the running one kept. store.path, "
	       "control.socket and timezone change only with a restart."},
    {"SIGTERM, SIGINT", "stops: lets SMTP transfers in flight finish (at "
			"most smtp.timeout_s), closes the database and "
			"exits 0."},
};

/* kipd(8), from kipd_options and the prose above. */
static void man_kipd(FILE *out)
{
	const struct kipd_option *o;
	char tag[64];

	roff_head(out, "kipd", "8", "System Administration",
		  "the daemon for coordinated action plans");
	roff_section(out, "SYNOPSIS");
	roff_font(out, 'B', "kipd");
	for (o = kipd_options; o < kipd_options + N_KIPD_OPTIONS; o++) {
		if (!o->help || o->key >= 256)
			continue;
		snprintf(tag, sizeof(tag), "-%c", o->key);
		fputs(" [", out);
		roff_font(out, 'B', tag);
		if (o->arg) {
			fputc(' ', out);
			roff_font(out, 'I', o->arg);
		}
		fputc(']', out);
	}
	fputc('\n', out);
	roff_section(out, "DESCRIPTION");
	for (const char *const *p = man_description; *p; p++)
		roff_para(out, *p);
	roff_section(out, "OPTIONS");
	for (o = kipd_options; o < kipd_options + N_KIPD_OPTIONS; o++) {
		option_tag(tag, sizeof(tag), o);
		if (o->help)
			roff_item(out, tag, o->help);
	}
	roff_section(out, "SIGNALS");
	for (size_t i = 0; i < sizeof(man_signals) / sizeof(man_signals[0]);
	     i++)
		roff_item(out, man_signals[i][0], man_signals[i][1]);
	roff_section(out, "EXIT STATUS");
	roff_line(out, "0 ok; 1 the configuration is invalid, or kipd could "
		       "not start or stopped on an error; 2 a usage error.");
	roff_section(out, "FILES");
	roff_item(out, KIP_DEFAULT_CONFIG, "the configuration; kipd.conf(5)");
	roff_section(out, "SEE ALSO");
	roff_line(out, "kipctl(1), kipd.conf(5)");
}

/* --man SECTION: kipd(8), or kipd.conf(5) from the example configuration
 * at path. Returns the exit status. */
static int man_page(const char *section, const char *path)
{
	char err[512] = "";
	int r = 0;

	if (strcmp(section, "8") == 0)
		man_kipd(stdout);
	else if (strcmp(section, "5") == 0)
		r = config_man(stdout, path, err, sizeof(err));
	else {
		snprintf(err, sizeof(err), "--man %s: no such page (5 or 8)",
			 section);
		r = -EINVAL;
	}
	if (r == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
		snprintf(err, sizeof(err), "cannot write the page: %s",
			 strerror(errno));
		r = -EIO;
	}
	if (r < 0)
		fprintf(stderr, "kipd: %s\n", err);
	return r < 0 ? 1 : 0;
}

/* -n: the OpenSSL in use must do, and the certificates and keys the
 * configuration names must load. With -v the effective configuration goes
 * to stdout and the verdict to stderr, so that stdout loads as a file.
 * Frees what k holds; returns the exit status. */
static int check_config(struct kipd *k, const char *path, int verbose)
{
	char err[512] = "";
	int r = sslver_check(k->cfg->smime_openssl_min, err, sizeof(err));

	if (r == 0)
		r = load_crypto(k->cfg, &k->signer, &k->trust, err,
				sizeof(err));
	if (r == 0 && k->cfg->smtp_url)
		r = smtp_check_libcurl(err, sizeof(err));
	if (r == 0 && verbose &&
	    (config_print(stdout, k->cfg) < 0 || fflush(stdout) != 0)) {
		snprintf(err, sizeof(err), "cannot write the configuration: %s",
			 strerror(errno));
		r = -EIO;
	}
	if (r < 0)
		fprintf(stderr, "kipd: %s\n", err);
	else
		fprintf(verbose ? stderr : stdout, "%s: configuration ok\n",
			path);
	smime_signer_free(k->signer);
	smime_trust_free(k->trust);
	config_free(k->cfg);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct option longs[N_KIPD_OPTIONS + 1];
	char shorts[2 * N_KIPD_OPTIONS + 1];
	const char *path = KIP_DEFAULT_CONFIG, *test_clock = NULL, *man = NULL;
	int foreground = 0, verbose = 0, check = 0, o, r;
	struct kipd k = {0};
	char err[512] = "";

	/* a helper process kipd started (child.h), nothing else */
	if (argc == 4 && strcmp(argv[1], "--helper") == 0)
		return strcmp(argv[2], "pdf") == 0 ? pdfproc_helper(argv[3])
		       : strcmp(argv[2], "ldap") == 0
			   ? directory_helper(argv[3])
			   : 2;
	getopt_tables(longs, shorts);
	while ((o = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case LONG_TEST_CLOCK:
			test_clock = optarg;
			break;
		case LONG_MAN:
			man = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (man)
		return man_page(man, path);
	r = config_load(path, &k.cfg, err, sizeof(err));
	/* Before any thread starts, and for -n too: the default zone must
	 * exist as well as one the file names. */
	if (r == 0)
		r = tzone_use(k.cfg->timezone, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kipd: %s\n", err);
		config_free(k.cfg);
		return 1;
	}
	if (check)
		return check_config(&k, path, verbose);
	log_open("kipd", verbose ? LOG_DEBUG : k.cfg->log_level,
		 !foreground && k.cfg->log_syslog);
	if (test_clock) {
		r = clock_use_test_file(test_clock);
		if (r < 0) {
			log_err("--test-clock %s: %s", test_clock,
				strerror(-r));
			goto out;
		}
		log_warn("test clock in use (%s): not for production",
			 test_clock);
	}
	log_notice("running on %s (smime.openssl_min_version %s), local "
		   "times in %s",
		   sslver_running_text(), k.cfg->smime_openssl_min,
		   tzone_name());
	r = sslver_check(k.cfg->smime_openssl_min, err, sizeof(err));
	if (r < 0) {
		log_err("%s; refusing to start", err);
		goto out;
	}
	r = -ENOMEM;
	k.loop = loop_new();
	if (!k.loop || setup_signals(&k) < 0)
		goto out;
	r = store_open(k.cfg->store_path, &k.store, err, sizeof(err));
	if (r < 0) {
		log_err("store: %s", err);
		goto out;
	}
	r = audit_install_guards(k.store);
	if (r < 0)
		goto out;
	txn_set_wakes(wakes, sizeof(wakes) / sizeof(wakes[0]), scheduler_sync);
	outbox_set_undelivered(distribute_failure_notice);
	scheduler_set_daily(digest_due, digest_next);
	mqtt_set_report(intake_mqtt);
	r = load_crypto(k.cfg, &k.signer, &k.trust, err, sizeof(err));
	if (r == 0)
		r = outbox_open(&k, err, sizeof(err));
	if (r == 0)
		r = mqtt_open(&k, err, sizeof(err));
	if (r == 0)
		r = intake_open(&k, err, sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		goto out;
	}
	err[0] = '\0';
	r = control_open(&k, err, sizeof(err));
	if (r < 0) {
		log_err("control socket: %s", err);
		goto out;
	}
	r = scheduler_open(&k);
	if (r < 0) {
		log_err("scheduler: %s", strerror(-r));
		goto out;
	}
	directory_kick(&k);    /* lookups to try again */
	intake_mqtt_drain(&k); /* reports a crash left unjudged */
	on_daily(k.loop, &k);
	log_notice("kipd ready (schema %d, pid %d)",
		   store_schema_version(k.store), (int)getpid());
	notify_ready(&k);
	watchdog_start(k.loop);
	r = loop_run(k.loop);
	/* outbox_close() below lets SMTP transfers in flight finish, up to
	 * smtp.timeout_s, which may be more than systemd's stop timeout. */
	(void)sdnotifyf("STOPPING=1\nSTATUS=stopping\n"
			"EXTEND_TIMEOUT_USEC=%" PRIu64,
			((uint64_t)k.cfg->smtp_timeout_s + 30) * 1000000);
	log_notice("kipd stopped");
out:
	directory_close(&k);
	scheduler_close(&k);
	control_close(&k);
	intake_close(&k);
	outbox_close(&k);
	mqtt_close(&k);
	smime_signer_free(k.signer);
	smime_trust_free(k.trust);
	store_close(k.store);
	loop_free(k.loop);
	config_free(k.cfg);
	return r < 0 ? 1 : 0;
}
