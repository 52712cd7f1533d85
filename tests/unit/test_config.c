/* test_config.c — config_load, config_read_secret, the role helpers, and
 * config_print (kipd -n -v), whose output must load back to the same
 * configuration, for every key of the option table.
 *
 * Each test writes configuration and secret files into one temporary
 * directory (removed at exit) and asserts on exact return codes and on the
 * exact error text. conf/kipd.conf is found under $KIP_SRCDIR (default: the
 * current directory, i.e. run from the top of the repository).
 */
#include "config.h"
#include "config_table.h"
#include "t.h"

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/kip-test-config-XXXXXX";
static char conf_path[128];
static char err[512];

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The path of name in the temporary directory, created on first use. */
static const char *tpath(const char *name)
{
	static char paths[4][128];
	static int next;
	char *p = paths[next++ % 4];

	if (!conf_path[0]) {
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
		atexit(cleanup);
		snprintf(conf_path, sizeof(conf_path), "%s/kipd.conf", tmpdir);
	}
	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 ||
	    chmod(path, mode) != 0) {
		perror(path);
		exit(2);
	}
}

/* Writes text as kipd.conf, mode 0600, and loads it. */
static int load(const char *text, struct kip_config **ret)
{
	tpath("kipd.conf");
	write_file(conf_path, text, 0600);
	err[0] = '\0';
	return config_load(conf_path, ret, err, sizeof(err));
}

/* Loading text must fail with want_r and the message conf_path + suffix,
 * leaving *ret untouched. Prints what it got when not. */
static bool load_fails(const char *text, int want_r, const char *suffix)
{
	struct kip_config *cfg = (struct kip_config *)&err; /* sentinel */
	char want[512];
	int r = load(text, &cfg);

	snprintf(want, sizeof(want), "%s%s", conf_path, suffix);
	if (r == want_r && strcmp(err, want) == 0 &&
	    cfg == (struct kip_config *)&err)
		return true;
	printf("  got r=%d \"%s\"\n  want r=%d \"%s\"\n", r, err, want_r, want);
	if (r == 0 && cfg != (struct kip_config *)&err)
		config_free(cfg);
	return false;
}

static void test_defaults_on_empty_file(void)
{
	struct kip_config *cfg = NULL;

	T_ASSERT(load("", &cfg) == 0);
	if (!cfg)
		return;
	T_STREQ(cfg->path, conf_path);
	T_STREQ(cfg->store_path, "/var/lib/kip/kip.db");
	T_STREQ(cfg->socket_path, "/run/kip/kipd.sock");
	T_ASSERT(cfg->socket_group == NULL);
	T_ASSERT(cfg->max_clients == 64);
	T_ASSERT(cfg->max_request_bytes == 1048576);
	T_ASSERT(cfg->request_timeout_ms == 5000);
	T_ASSERT(cfg->log_level == LOG_INFO);
	T_ASSERT(cfg->log_syslog == true);
	T_STREQ(cfg->org_name, "kip");
	T_ASSERT(cfg->org_mailbox == NULL && cfg->org_phone == NULL);
	T_STREQ(cfg->default_lang, "da");
	T_ASSERT(cfg->follow_up_max_months == 6);
	T_STREQ(cfg->timezone, "Europe/Copenhagen");
	T_ASSERT(cfg->smtp_url == NULL && cfg->smtp_username == NULL);
	T_ASSERT(cfg->smtp_password == NULL);
	T_ASSERT(cfg->users == NULL && cfg->n_users == 0);
	config_free(cfg);
}

static void test_every_key_set(void)
{
	static const char text[] =
	    "store = { path = \"/srv/kip.db\"; };\n"
	    "control = { socket = \"/run/k.sock\"; group = \"kip\";\n"
	    "  max_clients = 1; max_request_bytes = 16777216;\n"
	    "  request_timeout_ms = 100; };\n"
	    "log = { level = \"debug\"; syslog = false; };\n"
	    "organisation = { name = \"Kommune\"; mailbox = \"a@b.dk\";\n"
	    "  phone = \"+45 1\"; };\n"
	    "plans = { default_lang = \"en\"; follow_up_max_months = 1; };\n"
	    "smtp = { url = \"smtp://mail:587\"; username = \"u\"; };\n"
	    "users = ( { user = \"anna\"; role = \"coordinator\";\n"
	    "  contact = \"anna@example.org\"; },\n"
	    "  { role = \"admin\"; user = \"root\"; } );\n";
	struct kip_config *cfg = NULL;

	T_ASSERT(load(text, &cfg) == 0);
	if (!cfg)
		return;
	T_STREQ(cfg->store_path, "/srv/kip.db");
	T_STREQ(cfg->socket_path, "/run/k.sock");
	T_STREQ(cfg->socket_group, "kip");
	T_ASSERT(cfg->max_clients == 1 && cfg->max_request_bytes == 16777216);
	T_ASSERT(cfg->request_timeout_ms == 100);
	T_ASSERT(cfg->log_level == LOG_DEBUG && cfg->log_syslog == false);
	T_STREQ(cfg->org_name, "Kommune");
	T_STREQ(cfg->org_mailbox, "a@b.dk");
	T_STREQ(cfg->org_phone, "+45 1");
	T_STREQ(cfg->default_lang, "en");
	T_ASSERT(cfg->follow_up_max_months == 1);
	T_STREQ(cfg->smtp_url, "smtp://mail:587");
	T_STREQ(cfg->smtp_username, "u");
	T_ASSERT(cfg->n_users == 2);
	T_STREQ(cfg->users[0].name, "anna");
	T_ASSERT(cfg->users[0].role == ROLE_COORDINATOR);
	T_STREQ(cfg->users[0].contact, "anna@example.org");
	T_STREQ(cfg->users[1].name, "root");
	T_ASSERT(cfg->users[1].role == ROLE_ADMIN);
	T_ASSERT(cfg->users[1].contact == NULL);
	config_free(cfg);
}

static void test_log_levels(void)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {{"error", LOG_ERR},
		      {"warning", LOG_WARNING},
		      {"notice", LOG_NOTICE},
		      {"info", LOG_INFO},
		      {"debug", LOG_DEBUG}};
	char text[128];

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		struct kip_config *cfg = NULL;

		snprintf(text, sizeof(text), "log = { level = \"%s\"; };",
			 levels[i].name);
		T_ASSERT(load(text, &cfg) == 0);
		T_ASSERT(cfg && cfg->log_level == levels[i].level);
		config_free(cfg);
	}
	T_ASSERT(load_fails("log = { level = \"verbose\"; };", -EINVAL,
			    ":1: log.level: 'verbose' is not one of: error, "
			    "warning, notice, info, debug"));
	T_ASSERT(
	    load_fails("plans = { default_lang = \"de\"; };", -EINVAL,
		       ":1: plans.default_lang: 'de' is not one of: da, en"));
}

/* Copies conf/kipd.conf into the temporary directory; with enable, removes
 * the "#" of every "#key = example" line (not the password file, which
 * does not exist here). */
static void copy_example(bool enable, mode_t mode)
{
	static char text[65536];
	char src[256], line[512];
	const char *dir = getenv("KIP_SRCDIR");
	FILE *f;

	text[0] = '\0';

	snprintf(src, sizeof(src), "%s/conf/kipd.conf", dir ? dir : ".");
	f = fopen(src, "r");
	if (!f) {
		perror(src);
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		if (enable && p[0] == '#' && p[1] && !strchr(" \t\n#", p[1]) &&
		    !strstr(p, "password_file") &&
		    !strstr(p, "passphrase_file"))
			memmove(p, p + 1, strlen(p));
		size_t have = strlen(text), add = strlen(line);

		if (have + add >= sizeof(text)) {
			fprintf(stderr, "%s: longer than %zu bytes\n", src,
				sizeof(text) - 1);
			exit(2);
		}
		memcpy(text + have, line, add + 1);
	}
	fclose(f);
	tpath("kipd.conf");
	write_file(conf_path, text, mode);
}

static void test_example_loads(void)
{
	struct kip_config *cfg = NULL;

	copy_example(false, 0600);
	err[0] = '\0';
	T_ASSERT(config_load(conf_path, &cfg, err, sizeof(err)) == 0);
	T_STREQ(err, "");
	T_ASSERT(cfg && cfg->max_clients == 64 && cfg->n_users == 0);
	T_ASSERT(cfg && cfg->socket_group == NULL && cfg->smtp_url == NULL);
	config_free(cfg);

	cfg = NULL;
	copy_example(false, 0640);
	T_ASSERT(config_load(conf_path, &cfg, err, sizeof(err)) == 0);
	config_free(cfg);
}

static void test_example_with_examples_enabled(void)
{
	struct kip_config *cfg = NULL;

	err[0] = '\0';
	copy_example(true, 0600);
	T_ASSERT(config_load(conf_path, &cfg, err, sizeof(err)) == 0);
	T_STREQ(err, "");
	if (!cfg)
		return;
	T_STREQ(cfg->socket_group, "kip");
	T_STREQ(cfg->org_mailbox, "kip@example.org");
	T_ASSERT(cfg->org_phone != NULL);
	T_STREQ(cfg->smtp_url, "smtps://mail.example.org:465");
	T_ASSERT(cfg->smtp_username != NULL && cfg->smtp_password == NULL);
	T_ASSERT(cfg->n_users == 3);
	T_ASSERT(config_find_user(cfg, "root") != NULL);
	config_free(cfg);
}

static void test_unknown_keys(void)
{
	T_ASSERT(load_fails("store = { path = \"/a\"; };\n\nfoo = 1;\n",
			    -EINVAL, ":3: unknown key 'foo'"));
	T_ASSERT(
	    load_fails("bar = { x = 1; };", -EINVAL, ":1: unknown key 'bar'"));
	T_ASSERT(load_fails("store = {\n  path = \"/a\";\n  pth = \"/b\";\n};",
			    -EINVAL, ":3: unknown key 'store.pth'"));
	T_ASSERT(load_fails("control = { users = (); };", -EINVAL,
			    ":1: unknown key 'control.users'"));
	T_ASSERT(load_fails("users = (\n { user = \"a\"; role = \"admin\";\n"
			    "   email = \"a@b\"; } );",
			    -EINVAL, ":3: unknown key 'users[0].email'"));
}

static void test_wrong_types(void)
{
	T_ASSERT(load_fails("\n\n\ncontrol = { max_clients = \"64\"; };",
			    -EINVAL,
			    ":4: control.max_clients: expected an integer"));
	T_ASSERT(load_fails("control = { max_clients = 6.4; };", -EINVAL,
			    ":1: control.max_clients: expected an integer"));
	T_ASSERT(load_fails("control = { max_clients = true; };", -EINVAL,
			    ":1: control.max_clients: expected an integer"));
	T_ASSERT(load_fails("store = { path = 1; };", -EINVAL,
			    ":1: store.path: expected a string"));
	T_ASSERT(load_fails("log = { syslog = \"yes\"; };", -EINVAL,
			    ":1: log.syslog: expected true or false"));
	T_ASSERT(load_fails("log = { level = 3; };", -EINVAL,
			    ":1: log.level: expected a string"));
	T_ASSERT(load_fails("store = \"/a\";", -EINVAL,
			    ":1: store: expected a group { ... }"));
	T_ASSERT(load_fails("users = { user = \"a\"; };", -EINVAL,
			    ":1: users: expected a list ( { ... }, ... )"));
	T_ASSERT(load_fails(
	    "users = ( \"a\" );", -EINVAL,
	    ":1: users[0]: expected a group { user = ...; role = ...; }"));
	T_ASSERT(load_fails("users = ( { user = 1; role = \"admin\"; } );",
			    -EINVAL, ":1: users[0].user: expected a string"));
}

static void test_int64_and_ranges(void)
{
	struct kip_config *cfg = NULL;

	T_ASSERT(
	    load_fails("control = {\n max_clients = 0; };", -EINVAL,
		       ":2: control.max_clients: 0 is out of range (1..1024)"));
	T_ASSERT(load_fails(
	    "\n\n\n\n\n\ncontrol = { max_clients = 5000; };", -EINVAL,
	    ":7: control.max_clients: 5000 is out of range (1..1024)"));
	T_ASSERT(
	    load_fails("control = { request_timeout_ms = 99; };", -EINVAL,
		       ":1: control.request_timeout_ms: 99 is out of range "
		       "(100..600000)"));
	T_ASSERT(load_fails("control = { max_request_bytes = 16777217; };",
			    -EINVAL,
			    ":1: control.max_request_bytes: 16777217 is out of "
			    "range (1024..16777216)"));
	T_ASSERT(load_fails("plans = { follow_up_max_months = 7; };", -EINVAL,
			    ":1: plans.follow_up_max_months: 7 is out of range "
			    "(1..6)"));
	T_ASSERT(
	    load_fails("control = { max_clients = 3000000000L; };", -EINVAL,
		       ":1: control.max_clients: 3000000000 is out of range "
		       "(1..1024)"));
	/* libconfig 1.5 reads this as 1 (cut to 32 bits) without a word. */
	T_ASSERT(load_fails(
	    "control = { max_clients = 4294967297; };", -EINVAL,
	    ":1: control.max_clients: value is out of range (1..1024)"));
	T_ASSERT(load_fails(
	    "control = { max_clients = 0x100000001; };", -EINVAL,
	    ":1: control.max_clients: value is out of range (1..1024)"));
	T_ASSERT(load("control = { max_clients = 1024L; max_request_bytes ="
		      "\n 0x400; };",
		      &cfg) == 0);
	T_ASSERT(cfg && cfg->max_clients == 1024);
	T_ASSERT(cfg && cfg->max_request_bytes == 1024);
	config_free(cfg);
}

static void test_syntax_error(void)
{
	T_ASSERT(load_fails("store = {\n  path = \"/a\"\n  x = ;\n};", -EINVAL,
			    ":3: syntax error: syntax error"));
	T_ASSERT(load_fails("a = 1;\na = 2;\n", -EINVAL,
			    ":2: syntax error: duplicate setting name"));
}

static void test_strings(void)
{
	struct kip_config *cfg = NULL;

	T_ASSERT(
	    load_fails("store = { path = \"kip.db\"; };", -EINVAL,
		       ":1: store.path: 'kip.db' is not an absolute path"));
	T_ASSERT(load_fails("store = { path = \"\"; };", -EINVAL,
			    ":1: store.path: must not be empty"));
	T_ASSERT(
	    load_fails("organisation = { name = \"a\\nb\"; };", -EINVAL,
		       ":1: organisation.name: contains a control character"));
	T_ASSERT(load("control = { socket = \"/run/" /* 107 bytes: fine */
		      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		      "xx\"; };",
		      &cfg) == 0);
	T_ASSERT(cfg && strlen(cfg->socket_path) == 107);
	config_free(cfg);
	T_ASSERT(load_fails("control = { socket = \"/run/"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxx\"; };",
			    -EINVAL,
			    ":1: control.socket: '/run/"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxx' is longer than 107 bytes, the limit of a "
			    "socket path"));
}

static void test_smtp_url(void)
{
	T_ASSERT(load_fails("smtp = { url = \"mail.example.org:465\"; };",
			    -EINVAL,
			    ":1: smtp.url: 'mail.example.org:465' must start "
			    "with smtp:// or smtps:// and name a host"));
	T_ASSERT(load_fails("smtp = { url = \"smtps://\"; };", -EINVAL,
			    ":1: smtp.url: 'smtps://' must start with smtp:// "
			    "or smtps:// and name a host"));
	T_ASSERT(load_fails("smtp = { url = \"https://x\"; };", -EINVAL,
			    ":1: smtp.url: 'https://x' must start with smtp:// "
			    "or smtps:// and name a host"));
}

static void test_bad_emails(void)
{
	static const char *bad[] = {"anna",  "@example.org", "anna@",
				    "a@b@c", "an na@b.dk",   "anna@b .dk"};
	char text[256], want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "organisation = { mailbox = \"%s\"; };", bad[i]);
		snprintf(want, sizeof(want),
			 ":1: organisation.mailbox: '%s' is not an e-mail "
			 "address",
			 bad[i]);
		T_ASSERT(load_fails(text, -EINVAL, want));
	}
	T_ASSERT(load_fails(
	    "organisation = { mailbox = \"a@b\\r\\nBcc: x@y\"; };", -EINVAL,
	    ":1: organisation.mailbox: contains a control character"));
	T_ASSERT(load_fails("users = ( { user = \"a\"; role = \"professional\";"
			    " contact = \"a.example.org\"; } );",
			    -EINVAL,
			    ":1: users[0].contact: 'a.example.org' is not an "
			    "e-mail address"));
}

static void test_users(void)
{
	struct kip_config *cfg = NULL;

	T_ASSERT(load_fails("users = ( { user = \"a\"; role = \"boss\"; } );",
			    -EINVAL,
			    ":1: users[0].role: 'boss' is not one of: admin, "
			    "coordinator, professional"));
	T_ASSERT(load_fails(
	    "users = (\n { user = \"a\"; role = \"admin\"; },\n"
	    " { user = \"a\"; role = \"admin\"; } );",
	    -EINVAL, ":3: users[1].user: 'a' is already listed as users[0]"));
	T_ASSERT(load_fails(
	    "users = ( { user = \"a\"; role = \"coordinator\"; } );", -EINVAL,
	    ":1: users[0] (a): 'contact' is required for role "
	    "'coordinator'"));
	T_ASSERT(load_fails(
	    "users = ( { user = \"a\"; role = \"professional\"; } );", -EINVAL,
	    ":1: users[0] (a): 'contact' is required for role "
	    "'professional'"));
	T_ASSERT(load_fails("users = ( { role = \"admin\"; } );", -EINVAL,
			    ":1: users[0]: missing 'user'"));
	T_ASSERT(load_fails("users = ( { user = \"a\"; } );", -EINVAL,
			    ":1: users[0] (a): missing 'role'"));
	T_ASSERT(load_fails("users = ( { user = \"\"; role = \"admin\"; } );",
			    -EINVAL, ":1: users[0].user: must not be empty"));

	T_ASSERT(load("users = ( { user = \"root\"; role = \"admin\"; } );",
		      &cfg) == 0);
	T_ASSERT(cfg && cfg->n_users == 1 && cfg->users[0].contact == NULL);
	config_free(cfg);
	cfg = NULL;
	T_ASSERT(load("users = [];", &cfg) == 0);
	T_ASSERT(cfg && cfg->n_users == 0);
	config_free(cfg);
}

static void test_reporters(void)
{
	struct kip_config *cfg = NULL;

	T_ASSERT(load_fails("mqtt = { reporters = ( { username = \"dp/nord\";"
			    " contact = \"p@region.example\"; } ); };",
			    -EINVAL,
			    ":1: mqtt.reporters[0].username: 'dp/nord' may not "
			    "contain '/', '+' or '#' (it is a topic level)"));
	T_ASSERT(load_fails(
	    "mqtt = { reporters = ( { username = \"a\"; } ); };", -EINVAL,
	    ":1: mqtt.reporters[0]: needs both 'username' and "
	    "'contact'"));
	T_ASSERT(
	    load_fails("mqtt = { reporters = (\n { username = \"a\";"
		       " contact = \"p@region.example\"; },\n"
		       " { username = \"a\"; contact = \"q@region.example\"; }"
		       " ); };",
		       -EINVAL,
		       ":3: mqtt.reporters[1].username: 'a' is already "
		       "listed as mqtt.reporters[0]"));
	T_ASSERT(load_fails("mqtt = { reporters = ( { username = \"a\";"
			    " contact = \"nobody\"; } ); };",
			    -EINVAL,
			    ":1: mqtt.reporters[0].contact: 'nobody' is not an "
			    "e-mail address"));
	T_ASSERT(load_fails("mqtt = { reporters = ( { username = \"a\";"
			    " role = \"x\"; } ); };",
			    -EINVAL,
			    ":1: unknown key 'mqtt.reporters[0].role'"));
	T_ASSERT(
	    load_fails("mqtt = { reporters = ( \"a\" ); };", -EINVAL,
		       ":1: mqtt.reporters[0]: expected a group { username "
		       "= ...; contact = ...; }"));
	T_ASSERT(load("mqtt = { reporters = ( { username = \"dp-nord\";"
		      " contact = \"p@region.example\"; } ); };",
		      &cfg) == 0);
	T_ASSERT(cfg && cfg->n_reporters == 1);
	if (cfg) {
		T_ASSERT(config_find_reporter(cfg, "dp-nord") != NULL);
		T_STREQ(config_find_reporter(cfg, "dp-nord")->contact,
			"p@region.example");
		T_ASSERT(config_find_reporter(cfg, "dp-syd") == NULL);
		config_free(cfg);
	}
}

/* directory.servers: each entry's keys, refused with file, line and key. */
static void test_directories(void)
{
	struct kip_config *cfg = NULL;
	char text[600], pw[128];

	snprintf(pw, sizeof(pw), "%s", tpath("ldap.pass"));

#define DIR1 "directory = { servers = ( { "
	T_ASSERT(load_fails(DIR1 "uri = \"http://x\"; base = \"c=DK\";"
				 " ca_file = \"/ca\"; } ); };",
			    -EINVAL,
			    ":1: directory.servers[0].uri: 'http://x' must be "
			    "ldaps://HOST[:PORT] or ldap://HOST[:PORT]"));
	T_ASSERT(load_fails(DIR1 "uri = \"ldap://x\"; base = \"c=DK\";"
				 " ca_file = \"/ca\"; } ); };",
			    -EINVAL,
			    ":1: directory.servers[0]: ldap:// needs starttls "
			    "= true (else the search and any password go in "
			    "clear); or use ldaps://"));
	T_ASSERT(load_fails(DIR1 "uri = \"ldaps://x\"; starttls = true;"
				 " base = \"c=DK\"; ca_file = \"/ca\"; } ); };",
			    -EINVAL,
			    ":1: directory.servers[0]: starttls is for "
			    "ldap://; ldaps:// is TLS from the start"));
	T_ASSERT(load_fails(DIR1 "uri = \"ldaps://x\"; base = \"c=DK\"; } );"
				 " };",
			    -EINVAL,
			    ":1: directory.servers[0]: needs 'ca_file' (uri, "
			    "base and ca_file are required)"));
	T_ASSERT(load_fails(DIR1 "uri = \"ldaps://x\"; base = \"c=DK\";\n"
				 " ca_file = \"ca.pem\"; } ); };",
			    -EINVAL,
			    ":2: directory.servers[0].ca_file: 'ca.pem' is not "
			    "an absolute path"));
	T_ASSERT(load_fails(DIR1 "uri = \"ldaps://x\"; base = \"c=DK\";"
				 " ca_file = \"/ca\"; port = 1; } ); };",
			    -EINVAL,
			    ":1: unknown key 'directory.servers[0].port'"));
	T_ASSERT(load_fails(DIR1
			    "uri = \"ldaps://x\"; base = \"c=DK\";"
			    " ca_file = \"/ca\"; bind_dn = \"cn=a\"; } ); };",
			    -EINVAL,
			    ":1: directory.servers[0]: give both 'bind_dn' and "
			    "'password_file', or neither (anonymous)"));
	/* A password file that is missing, or that others may read. */
	unlink(pw);
	snprintf(text, sizeof(text),
		 DIR1 "uri = \"ldaps://x\"; base = \"c=DK\"; ca_file = "
		      "\"/ca\";\n bind_dn = \"cn=a\"; password_file = "
		      "\"%s\"; } ); };",
		 pw);
	T_ASSERT(load(text, &cfg) == -ENOENT);
	T_ASSERT(strstr(err, ":2: directory.servers[0].password_file: ") &&
		 strstr(err, "ldap.pass: cannot read: No such file"));
	write_file(pw, "geheim\n", 0644);
	T_ASSERT(load(text, &cfg) == -EPERM);
	T_ASSERT(strstr(err, ":2: directory.servers[0].password_file: ") &&
		 strstr(err, "group or others may access it"));
	write_file(pw, "geheim\n", 0600);
	T_ASSERT(load(text, &cfg) == 0);
	T_ASSERT(cfg && cfg->n_directories == 1 &&
		 strcmp(cfg->directories[0].password, "geheim") == 0 &&
		 strcmp(cfg->directories[0].bind_dn, "cn=a") == 0 &&
		 cfg->directory_timeout_ms == 3000);
	config_free(cfg);
#undef DIR1
}

static void test_intake_keys(void)
{
	struct kip_config *cfg = NULL;

	T_ASSERT(load_fails("intake = { url = \"https://x\"; };", -EINVAL,
			    ":1: intake.url: 'https://x' must start with "
			    "imap:// or imaps:// and name a host"));
	T_ASSERT(load_fails("deviations = { forward = \"never\"; };", -EINVAL,
			    ":1: deviations.forward: 'never' is not one of: "
			    "auto, coordinator"));
	T_ASSERT(
	    load_fails("intake = { interval_s = 1; };", -EINVAL,
		       ":1: intake.interval_s: 1 is out of range (5..86400)"));
	T_ASSERT(load("intake = { url = \"imaps://imap.example.org/INBOX\"; };",
		      &cfg) == 0);
	if (cfg) {
		T_STREQ(cfg->intake_url, "imaps://imap.example.org/INBOX");
		T_ASSERT(cfg->intake_interval_s == 300);
		T_ASSERT(cfg->intake_max_bytes == 10485760);
		T_STREQ(cfg->deviation_forward, "auto");
		config_free(cfg);
	}
}

/* smime.openssl_min_version: "3.0.0" by default; a value that is not
 * MAJOR.MINOR.PATCH is refused at load, naming the key. Whether the running
 * OpenSSL meets it is kipd's check at start (test_sslver). */
/* A zone of the database under /usr/share/zoneinfo, named inside it. */
static void test_timezone(void)
{
	static const struct {
		const char *value, *why;
	} bad[] = {
	    {"Mars/Olympus_Mons", "is not a time zone in /usr/share/zoneinfo"},
	    {"europe/copenhagen", "is not a time zone in /usr/share/zoneinfo"},
	    {"Europe", "is not a time zone file (TZif) in /usr/share/zoneinfo"},
	    {"zone.tab",
	     "is not a time zone file (TZif) in /usr/share/zoneinfo"},
	    {"../../../etc/passwd",
	     "is not a time zone name such as \"Europe/Copenhagen\""},
	    {"/usr/share/zoneinfo/UTC",
	     "is not a time zone name such as \"Europe/Copenhagen\""},
	    {"Europe//Oslo",
	     "is not a time zone name such as \"Europe/Copenhagen\""},
	    {"CET-1CEST,M3.5.0,M10.5.0/3",
	     "is not a time zone name such as \"Europe/Copenhagen\""},
	    {"Europe/Oslo ",
	     "is not a time zone name such as \"Europe/Copenhagen\""},
	};
	struct kip_config *cfg = NULL;
	char text[128], want[256];

	T_ASSERT(load("timezone = \"Asia/Tokyo\";", &cfg) == 0);
	T_STREQ(cfg ? cfg->timezone : NULL, "Asia/Tokyo");
	config_free(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "log = { level = \"info\"; };\n"
			 "timezone = \"%s\";",
			 bad[i].value);
		snprintf(want, sizeof(want), ":2: timezone: '%s' %s",
			 bad[i].value, bad[i].why);
		T_ASSERT(load_fails(text, -EINVAL, want));
	}
	T_ASSERT(load_fails("plans = { timezone = \"UTC\"; };", -EINVAL,
			    ":1: unknown key 'plans.timezone'"));
}

static void test_openssl_min_version(void)
{
	struct kip_config *cfg = NULL;

	T_ASSERT(load("", &cfg) == 0);
	T_STREQ(cfg ? cfg->smime_openssl_min : NULL, "3.0.0");
	config_free(cfg);
	cfg = NULL;
	T_ASSERT(load("smime = { openssl_min_version = \"99.0.0\"; };", &cfg) ==
		 0);
	T_STREQ(cfg ? cfg->smime_openssl_min : NULL, "99.0.0");
	config_free(cfg);
	T_ASSERT(load_fails("smime = { openssl_min_version = \"3.0\"; };",
			    -EINVAL,
			    ":1: smime.openssl_min_version: '3.0' is not a "
			    "version MAJOR.MINOR.PATCH such as \"3.0.22\""));
	T_ASSERT(load_fails("smime = {\n  openssl_min_version = "
			    "\"3.0.22-1~deb12u2\";\n};",
			    -EINVAL,
			    ":2: smime.openssl_min_version: '3.0.22-1~deb12u2' "
			    "is not a version MAJOR.MINOR.PATCH such as "
			    "\"3.0.22\""));
	T_ASSERT(
	    load_fails("smime = { openssl_min_version = 3; };", -EINVAL,
		       ":1: smime.openssl_min_version: expected a string"));
}

static void test_find_user_and_roles(void)
{
	struct kip_config *cfg = NULL;
	const struct kip_user *u;

	T_ASSERT(load("users = ( { user = \"anna\"; role = \"coordinator\";"
		      " contact = \"anna@example.org\"; },"
		      " { user = \"bo\"; role = \"professional\";"
		      " contact = \"bo@example.org\"; } );",
		      &cfg) == 0);
	u = config_find_user(cfg, "bo");
	T_ASSERT(u && u->role == ROLE_PROFESSIONAL);
	T_STREQ(u ? u->contact : NULL, "bo@example.org");
	T_ASSERT(config_find_user(cfg, "anna") == &cfg->users[0]);
	T_ASSERT(config_find_user(cfg, "ann") == NULL);
	T_ASSERT(config_find_user(cfg, NULL) == NULL);
	T_ASSERT(config_find_user(NULL, "anna") == NULL);
	config_free(cfg);
	config_free(NULL);

	T_STREQ(role_name(ROLE_ADMIN), "admin");
	T_STREQ(role_name(ROLE_COORDINATOR), "coordinator");
	T_STREQ(role_name(ROLE_PROFESSIONAL), "professional");
	T_ASSERT(role_name(ROLE_NONE) == NULL);
	T_ASSERT(role_name((enum kip_role)42) == NULL);
	T_ASSERT(role_from_name("coordinator") == ROLE_COORDINATOR);
	T_ASSERT(role_from_name("Admin") == ROLE_NONE);
	T_ASSERT(role_from_name(NULL) == ROLE_NONE);
}

/* Writes kipd.conf with mode and returns config_load's result. */
static int load_mode(mode_t mode)
{
	struct kip_config *cfg = NULL;
	int r;

	tpath("kipd.conf");
	write_file(conf_path, "", mode);
	err[0] = '\0';
	r = config_load(conf_path, &cfg, err, sizeof(err));
	config_free(cfg);
	return r;
}

static void test_config_permissions(void)
{
	char want[512];

	T_ASSERT(load_mode(0644) == -EPERM);
	snprintf(want, sizeof(want),
		 "%s: readable by others (mode 0644); run chmod o-rwx %s",
		 conf_path, conf_path);
	T_STREQ(err, want);
	T_ASSERT(load_mode(0602) == -EPERM);
	T_CONTAINS(err, ": writable by others (mode 0602)");
	T_ASSERT(load_mode(0660) == -EPERM);
	snprintf(want, sizeof(want),
		 "%s: writable by its group (mode 0660); run chmod g-w %s",
		 conf_path, conf_path);
	T_STREQ(err, want);
	T_ASSERT(load_mode(0640) == 0);
	T_ASSERT(load_mode(0400) == 0);
}

static void test_config_missing_and_not_a_file(void)
{
	struct kip_config *cfg = NULL;
	const char *p = tpath("nonexistent.conf");
	char want[256];

	T_ASSERT(config_load(p, &cfg, err, sizeof(err)) == -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read: %s", p,
		 strerror(ENOENT));
	T_STREQ(err, want);
	T_ASSERT(cfg == NULL);
	T_ASSERT(config_load(tmpdir, &cfg, err, sizeof(err)) < 0);
	T_CONTAINS(err, ": not a regular file");
	T_ASSERT(cfg == NULL);
	/* A too small buffer, or none, must not break anything. */
	T_ASSERT(config_load(p, &cfg, err, 4) == -ENOENT);
	T_ASSERT(strlen(err) == 3);
	T_ASSERT(config_load(p, &cfg, NULL, 0) == -ENOENT);
}

static void test_include_refused(void)
{
	char text[256], want[512];

	write_file(tpath("inc.conf"), "log = { level = \"debug\"; };\n", 0600);
	snprintf(text, sizeof(text), "@include \"%s\"\n", tpath("inc.conf"));
	T_ASSERT(load(text, &(struct kip_config *){NULL}) == -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:1: settings from @include files are not supported "
		 "(included from %s)",
		 tpath("inc.conf"), conf_path);
	T_STREQ(err, want);
}

/* config_read_secret on a file holding text, mode mode. */
static int secret(const char *text, mode_t mode, char **ret)
{
	const char *p = tpath("secret");

	write_file(p, text, mode);
	err[0] = '\0';
	return config_read_secret(p, ret, err, sizeof(err));
}

static void test_secret_ok(void)
{
	static const char *texts[] = {"s3cret\n", "s3cret\r\n", "s3cret",
				      "s3cret\nsecond line\n"};
	char *s;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		s = NULL;
		T_ASSERT(secret(texts[i], 0600, &s) == 0);
		T_STREQ(s, "s3cret");
		free(s);
	}
	s = NULL;
	T_ASSERT(secret(" with spaces \n", 0400, &s) == 0);
	T_STREQ(s, " with spaces ");
	free(s);
}

static void test_secret_refused(void)
{
	char *s = NULL, want[512];
	const char *p = tpath("secret"), *link = tpath("secret-link");

	T_ASSERT(secret("s3cret\n", 0644, &s) == -EPERM);
	snprintf(want, sizeof(want),
		 "%s: group or others may access it (mode 0644); run chmod "
		 "go-rwx %s",
		 p, p);
	T_STREQ(err, want);
	T_ASSERT(secret("s3cret\n", 0640, &s) == -EPERM);
	T_CONTAINS(err, "(mode 0640)");
	T_ASSERT(secret("s3cret\n", 0610, &s) == -EPERM);
	T_ASSERT(secret("\n", 0600, &s) == -EINVAL);
	snprintf(want, sizeof(want), "%s: the secret is empty", p);
	T_STREQ(err, want);
	T_ASSERT(secret("", 0600, &s) == -EINVAL);
	T_STREQ(err, want);
	T_ASSERT(secret("\r\nx\n", 0600, &s) == -EINVAL);

	secret("s3cret\n", 0600, &s);
	free(s);
	s = NULL;
	unlink(link);
	T_ASSERT(symlink(p, link) == 0);
	T_ASSERT(config_read_secret(link, &s, err, sizeof(err)) == -EPERM);
	snprintf(want, sizeof(want),
		 "%s: is a symbolic link; refusing to follow it", link);
	T_STREQ(err, want);
	T_ASSERT(config_read_secret(tmpdir, &s, err, sizeof(err)) == -EPERM);
	T_CONTAINS(err, ": not a regular file (mode 04");
	T_ASSERT(config_read_secret(tpath("none"), &s, err, sizeof(err)) ==
		 -ENOENT);
	T_ASSERT(s == NULL);
}

static void test_secret_too_long(void)
{
	static char text[4100];
	char *s = NULL;

	memset(text, 'x', 4096);
	text[4096] = '\0';
	T_ASSERT(secret(text, 0600, &s) == 0);
	T_ASSERT(s && strlen(s) == 4096);
	free(s);
	s = NULL;
	text[4096] = 'x';
	text[4097] = '\n';
	text[4098] = '\0';
	T_ASSERT(secret(text, 0600, &s) == -EINVAL);
	T_CONTAINS(err, ": the first line is longer than 4096 bytes");
	T_ASSERT(s == NULL);
}

static void test_password_file_in_config(void)
{
	struct kip_config *cfg = NULL;
	char text[256], want[512];
	const char *p = tpath("smtp-password");

	write_file(p, "pa55word\n", 0600);
	snprintf(text, sizeof(text),
		 "smtp = {\n url = \"smtps://mail:465\";\n password_file = "
		 "\"%s\";\n};\n",
		 p);
	T_ASSERT(load(text, &cfg) == 0);
	T_STREQ(cfg ? cfg->smtp_password : NULL, "pa55word");
	config_free(cfg);

	chmod(p, 0644);
	cfg = NULL;
	T_ASSERT(load(text, &cfg) == -EPERM);
	T_ASSERT(cfg == NULL);
	snprintf(want, sizeof(want),
		 "%s:3: smtp.password_file: %s: group or others may access it "
		 "(mode 0644); run chmod go-rwx %s",
		 conf_path, p, p);
	T_STREQ(err, want);
	T_ASSERT(
	    load_fails("smtp = { password_file = \"pw\"; };", -EINVAL,
		       ":1: smtp.password_file: 'pw' is not an absolute path"));
}

/* ---- config_print: the printed configuration loads back the same ---- */

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static const char *field_string(const struct kip_config *cfg, size_t offset)
{
	return *(char *const *)((const char *)cfg + offset);
}

static bool same_lists(const struct kip_config *a, const struct kip_config *b)
{
	bool same =
	    a->n_users == b->n_users && a->n_reporters == b->n_reporters;

	for (size_t i = 0; same && i < a->n_users; i++)
		same = same_string(a->users[i].name, b->users[i].name) &&
		       a->users[i].role == b->users[i].role &&
		       same_string(a->users[i].contact, b->users[i].contact);
	for (size_t i = 0; same && i < a->n_reporters; i++)
		same = same_string(a->reporters[i].username,
				   b->reporters[i].username) &&
		       same_string(a->reporters[i].contact,
				   b->reporters[i].contact);
	same = same && a->n_directories == b->n_directories;
	for (size_t i = 0; same && i < a->n_directories; i++) {
		const struct kip_directory *x = &a->directories[i],
					   *y = &b->directories[i];

		same = same_string(x->uri, y->uri) &&
		       same_string(x->base, y->base) &&
		       same_string(x->bind_dn, y->bind_dn) &&
		       same_string(x->password_file, y->password_file) &&
		       same_string(x->password, y->password) &&
		       same_string(x->ca_file, y->ca_file) &&
		       x->starttls == y->starttls;
	}
	return same;
}

/* Whether option o has the same value in a and b: for a secret both the
 * secret and its file's path, for a list every entry. */
static bool same_value(const struct config_option *o,
		       const struct kip_config *a, const struct kip_config *b)
{
	const char *fa = (const char *)a + o->offset;
	const char *fb = (const char *)b + o->offset;

	switch (o->type) {
	case OPT_INT:
	case OPT_ENUM:
		return *(const int *)fa == *(const int *)fb;
	case OPT_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case OPT_SECRET:
		if (!same_string(field_string(a, o->file_offset),
				 field_string(b, o->file_offset)))
			return false;
		/* fall through */
	case OPT_STRING:
		return same_string(field_string(a, o->offset),
				   field_string(b, o->offset));
	default:
		return same_lists(a, b);
	}
}

/* The first key whose value differs between a and b; NULL when none. */
static const char *first_difference(const struct kip_config *a,
				    const struct kip_config *b)
{
	for (size_t i = 0; i < config_n_options; i++)
		if (!same_value(&config_options[i], a, b))
			return config_options[i].name;
	return NULL;
}

/* config_print(cfg) as a string (the caller frees it). */
static char *print_config(const struct kip_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	T_ASSERT(f != NULL);
	if (!f)
		return NULL;
	T_ASSERT(config_print(f, cfg) == 0);
	fclose(f);
	return text;
}

/* Prints cfg, loads what was printed, and says which key came back
 * different; "" when none did. */
static const char *round_trip(const struct kip_config *cfg)
{
	static char why[700];
	struct kip_config *back = NULL;
	char *text = print_config(cfg);
	const char *p = tpath("printed.conf"), *diff;

	why[0] = '\0';
	write_file(p, text ? text : "", 0600);
	if (config_load(p, &back, err, sizeof(err)) < 0)
		snprintf(why, sizeof(why), "does not load: %s", err);
	else if ((diff = first_difference(cfg, back)))
		snprintf(why, sizeof(why), "%s differs", diff);
	config_free(back);
	free(text);
	return why;
}

/* s as a libconfig string, quotes and backslashes escaped. */
static const char *quote(const char *s, char *out, size_t len)
{
	size_t n = 0;

	out[n++] = '"';
	for (; *s && n + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

/* Strings to try for a key without choices: each key takes those its check
 * accepts. They hold what the printer must escape ('"', '\') and what the
 * file's syntax means outside a string (';', '=', '#', '//', braces). */
static const char *const string_values[] = {
    "/srv/kip \"a\" \\b; #c //d = {e} \xc3\xa6\xc3\xb8\xc3\xa5",
    "q\"x\\y;#z@example.org",
    "smtps://mail.example:465/\"x\\y\"",
    "imaps://imap.example:993/IN\"BOX\\",
    "1,365,7",
    "9.8.7",
    "America/Argentina/Buenos_Aires",
};

static const char list_values[][200] = {
    "( { user = \"r\\\"o\\\\ot\"; role = \"admin\"; },\n"
    "  { contact = \"a\\\"b@example.org\"; user = \"anna\";"
    " role = \"coordinator\"; },\n"
    "  { user = \"bo\"; role = \"professional\"; contact = \"b@e.dk\"; } )",
    "( { username = \"dp\\\"nord\\\\\"; contact = \"p@region.example\"; },\n"
    "  { username = \"dp-syd\"; contact = \"s\\\"@region.example\"; } )",
    "( { uri = \"ldaps://ldap.example:636\"; base = \"c=DK\";"
    " ca_file = \"/etc/kip/ca.pem\"; },\n"
    "  { uri = \"ldap://kim.example\"; starttls = true; base = \"o=\\\"K\\\"\";"
    " ca_file = \"/c.pem\"; } )",
};

/* The values, as libconfig text, tried for option o: both ends and the
 * default of an integer, every choice, each string its check accepts, a
 * secret file, lists with several entries. Returns how many. */
static size_t values_for(const struct config_option *o, char out[][256],
			 const char *secret_path)
{
	size_t n = 0;

	if (o->type == OPT_INT) {
		snprintf(out[n++], 256, "%d", o->min);
		snprintf(out[n++], 256, "%d", o->max);
		snprintf(out[n++], 256, "%d", o->def_int);
	} else if (o->type == OPT_BOOL) {
		snprintf(out[n++], 256, "true");
		snprintf(out[n++], 256, "false");
	} else if (o->choices) {
		for (const struct choice *c = o->choices; c->name; c++)
			quote(c->name, out[n++], 256);
	} else if (o->type == OPT_SECRET) {
		quote(secret_path, out[n++], 256);
	} else if (o->type == OPT_STRING) {
		for (size_t i = 0;
		     i < sizeof(string_values) / sizeof(string_values[0]); i++)
			if (!o->check || !o->check(string_values[i]))
				quote(string_values[i], out[n++], 256);
	} else {
		snprintf(out[n++], 256, "%.199s",
			 list_values[o->type == OPT_REPORTERS	  ? 1
				     : o->type == OPT_DIRECTORIES ? 2
								  : 0]);
	}
	return n;
}

/* "group = { key = value; };" or "key = value;" for option o. */
static void option_text(const struct config_option *o, const char *value,
			char *out, size_t len)
{
	size_t glen = config_group_len(o->name);

	if (glen)
		snprintf(out, len, "%.*s = { %s = %s; };\n", (int)glen, o->name,
			 o->name + glen + 1, value);
	else
		snprintf(out, len, "%s = %s;\n", o->name, value);
}

/* One key at a time, with each value values_for() gives: loaded, printed
 * and loaded again, every key comes back the same; and at least one of the
 * values is not the default, so the key's printing is really tried. */
static void test_print_round_trip_every_key(void)
{
	static char secret_path[128];
	struct kip_config *defaults = NULL;
	char values[8][256], text[700];

	snprintf(secret_path, sizeof(secret_path), "%s",
		 tpath("pass \"word\" \\ \xc3\xb8"));
	write_file(secret_path, "s3cret-not-printed\n", 0600);
	T_ASSERT(load("", &defaults) == 0);
	for (size_t i = 0; defaults && i < config_n_options; i++) {
		const struct config_option *o = &config_options[i];
		size_t n = values_for(o, values, secret_path);
		bool tried = false;

		for (size_t v = 0; v < n; v++) {
			struct kip_config *cfg = NULL;
			const char *why;

			option_text(o, values[v], text, sizeof(text));
			why = load(text, &cfg) == 0 ? round_trip(cfg) : err;
			if (why[0])
				printf("  %s = %s: %s\n", o->name, values[v],
				       why);
			T_ASSERT(!why[0]);
			tried |= cfg && !same_value(o, cfg, defaults);
			config_free(cfg);
		}
		if (!tried)
			printf("  %s: no value other than the default tried\n",
			       o->name);
		T_ASSERT(tried);
	}
	config_free(defaults);
}

/* Every key of the table is printed, set or as "# key: unset"; a secret
 * as its file's path, never the secret. */
static void test_print_every_key_no_secret(void)
{
	struct kip_config *cfg = NULL;
	char text[512], line[160];
	const char *p = tpath("smtp-password");
	char *printed;

	write_file(p, "pa55word-not-printed\n", 0600);
	snprintf(text, sizeof(text), "smtp = { password_file = \"%s\"; };\n",
		 p);
	T_ASSERT(load(text, &cfg) == 0);
	printed = cfg ? print_config(cfg) : NULL;
	for (size_t i = 0; printed && i < config_n_options; i++) {
		const char *name = config_options[i].name;
		size_t glen = config_group_len(name);
		const char *key = name + (glen ? glen + 1 : 0);
		bool shown;

		snprintf(line, sizeof(line), "\n%s%s = ", glen ? "\t" : "",
			 key);
		shown = strstr(printed, line) != NULL;
		snprintf(line, sizeof(line), "\n%s# %s: unset\n",
			 glen ? "\t" : "", key);
		shown |= strstr(printed, line) != NULL;
		if (!shown)
			printf("  %s is not printed\n", name);
		T_ASSERT(shown);
	}
	snprintf(line, sizeof(line), "\tpassword_file = \"%s\";\n", p);
	T_CONTAINS(printed, line);
	T_ASSERT(printed && !strstr(printed, "pa55word"));
	free(printed);
	config_free(cfg);
}

T_MAIN(T_CASE(test_defaults_on_empty_file), T_CASE(test_every_key_set),
       T_CASE(test_log_levels), T_CASE(test_example_loads),
       T_CASE(test_example_with_examples_enabled), T_CASE(test_unknown_keys),
       T_CASE(test_wrong_types), T_CASE(test_int64_and_ranges),
       T_CASE(test_syntax_error), T_CASE(test_strings), T_CASE(test_smtp_url),
       T_CASE(test_bad_emails), T_CASE(test_users), T_CASE(test_reporters),
       T_CASE(test_directories), T_CASE(test_intake_keys),
       T_CASE(test_timezone), T_CASE(test_openssl_min_version),
       T_CASE(test_find_user_and_roles), T_CASE(test_config_permissions),
       T_CASE(test_config_missing_and_not_a_file), T_CASE(test_include_refused),
       T_CASE(test_secret_ok), T_CASE(test_secret_refused),
       T_CASE(test_secret_too_long), T_CASE(test_password_file_in_config),
       T_CASE(test_print_round_trip_every_key),
       T_CASE(test_print_every_key_no_secret))
