/* config.c — kipd's configuration: the option table, loading, checking.
 *
 * Every key is declared once, in config_options[] below: its name, type,
 * field in struct kip_config, default and bounds. Defaults, loading, type
 * and range checks, error messages and freeing all walk that table, and so
 * do printing the effective configuration (config_print.c) and the man
 * page kipd.conf(5) (config_man.c). Only the users and mqtt.reporters
 * lists have loaders of their own, because their entries are groups.
 */
#include "config.h"
#include "config_table.h"

#include "buf.h"
#include "fdio.h"
#include "sslver.h"
#include "template.h"
#include "tzone.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

/* A configuration file is a page or two; anything far larger is a mistake. */
#define CONFIG_MAX_BYTES ((size_t)1024 * 1024)
/* The longest secret line we accept, without its line end. */
#define SECRET_MAX_LINE 4096
/* Longest socket path: sun_path less its terminating NUL (107 on Linux). */
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* The offset of a field, which must be of type T: a table row cannot name
 * an int field as a string, the compiler refuses it. */
#define FIELD(f, T)                                                            \
	(offsetof(struct kip_config, f) +                                      \
	 0 * sizeof(char[_Generic(((struct kip_config *)0)->f, T : 1)]))
#define STRING(f) .type = OPT_STRING, .offset = FIELD(f, char *)
#define SECRET(f, path)                                                        \
	.type = OPT_SECRET, .offset = FIELD(f, char *),                        \
	.file_offset = FIELD(path, char *)
#define INT(f) .type = OPT_INT, .offset = FIELD(f, int)
#define ENUM(f) .type = OPT_ENUM, .offset = FIELD(f, int)
#define BOOL(f) .type = OPT_BOOL, .offset = FIELD(f, bool)

static const struct choice log_levels[] = {
    {"error", LOG_ERR}, {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
    {"info", LOG_INFO}, {"debug", LOG_DEBUG},	  {NULL, 0},
};

static const struct choice langs[] = {{"da", 0}, {"en", 0}, {NULL, 0}};

static const struct choice roles[] = {
    {"admin", ROLE_ADMIN},
    {"coordinator", ROLE_COORDINATOR},
    {"professional", ROLE_PROFESSIONAL},
    {NULL, 0},
};

static const char *check_absolute(const char *value);
static const char *check_socket_path(const char *value);
static const char *check_email(const char *value);
static const char *check_smtp_url(const char *value);
static const char *check_days_list(const char *value);
static const char *check_imap_url(const char *value);
static const char *check_openssl_version(const char *value);
static const char *check_private_name(const char *value);
static const char *check_timezone(const char *value);

static const struct choice forward_modes[] = {
    {"auto", 0}, {"coordinator", 0}, {NULL, 0}};

const struct config_option config_options[] = {
    {"store.path", STRING(store_path), .def = "/var/lib/kip/kip.db",
     .check = check_absolute},
    {"control.socket", STRING(socket_path), .def = "/run/kip/kipd.sock",
     .check = check_socket_path},
    {"control.group", STRING(socket_group)},
    {"control.max_clients", INT(max_clients), .def_int = 64, .min = 1,
     .max = 1024},
    {"control.max_request_bytes", INT(max_request_bytes), .def_int = 1048576,
     .min = 1024, .max = 16777216},
    {"control.request_timeout_ms", INT(request_timeout_ms), .def_int = 5000,
     .min = 100, .max = 600000},
    {"log.level", ENUM(log_level), .def = "info", .choices = log_levels},
    {"log.syslog", BOOL(log_syslog), .def_int = 1},
    {"organisation.name", STRING(org_name), .def = "kip"},
    {"organisation.mailbox", STRING(org_mailbox), .check = check_email},
    {"organisation.phone", STRING(org_phone)},
    {"timezone", STRING(timezone), .def = "Europe/Copenhagen",
     .check = check_timezone},
    {"plans.default_lang", STRING(default_lang), .def = "da", .choices = langs},
    {"plans.pdf_font_dir", STRING(pdf_font_dir),
     .def = "/usr/share/fonts/truetype/dejavu", .check = check_absolute},
    {"plans.pdf_passphrase_days", INT(pdf_passphrase_days), .def_int = 14,
     .min = 1, .max = 365},
    {"plans.follow_up_max_months", INT(follow_up_max_months), .def_int = 6,
     .min = 1, .max = 6},
    {"smtp.url", STRING(smtp_url), .check = check_smtp_url},
    {"smtp.username", STRING(smtp_username)},
    {"smtp.password_file", SECRET(smtp_password, smtp_password_file),
     .check = check_absolute},
    {"smtp.ca_file", STRING(smtp_ca_file), .check = check_absolute},
    {"smtp.client_cert", STRING(smtp_client_cert), .check = check_absolute},
    {"smtp.client_key", STRING(smtp_client_key), .check = check_absolute},
    {"smtp.connections", INT(smtp_connections), .def_int = 2, .min = 1,
     .max = CONFIG_SMTP_CONNECTIONS_MAX},
    {"smtp.timeout_s", INT(smtp_timeout_s), .def_int = 60, .min = 5,
     .max = 600},
    {"smtp.retry_first_s", INT(smtp_retry_first_s), .def_int = 300, .min = 1,
     .max = 86400},
    {"smtp.retry_max_s", INT(smtp_retry_max_s), .def_int = 14400, .min = 1,
     .max = 86400},
    {"smtp.give_up_s", INT(smtp_give_up_s), .def_int = 432000, .min = 60,
     .max = 2592000},
    {"smime.cert", STRING(smime_cert), .check = check_absolute},
    {"smime.key", STRING(smime_key), .check = check_absolute},
    {"smime.key_passphrase_file",
     SECRET(smime_key_passphrase, smime_key_passphrase_file),
     .check = check_absolute},
    {"smime.chain", STRING(smime_chain), .check = check_absolute},
    {"smime.ca_bundle", STRING(smime_ca_bundle), .check = check_absolute},
    {"smime.crl", STRING(smime_crl), .check = check_absolute},
    {"smime.allow_gcm", BOOL(smime_allow_gcm), .def_int = 1},
    {"smime.openssl_min_version", STRING(smime_openssl_min), .def = "3.0.0",
     .check = check_openssl_version},
    {"mail.neutral_notice", BOOL(mail_neutral_notice), .def_int = 1},
    {"mail.place_in_clear", BOOL(mail_place_in_clear), .def_int = 0},
    {"mail.attach_document", BOOL(mail_attach_document), .def_int = 0},
    {"mail.read_receipts", BOOL(mail_read_receipts), .def_int = 0},
    {"private.name", STRING(private_name), .check = check_private_name},
    {"private.subject", STRING(private_subject), .check = template_check},
    {"private.notice", STRING(private_notice), .check = template_check},
    {"private.invitation_subject", STRING(private_invitation_subject),
     .check = template_check},
    {"private.cancel_subject", STRING(private_cancel_subject),
     .check = template_check},
    {"private.meeting_summary", STRING(private_meeting_summary),
     .check = template_check},
    {"private.reminder_subject", STRING(private_reminder_subject),
     .check = template_check},
    {"private.reminder", STRING(private_reminder), .check = template_check},
    {"mqtt.host", STRING(mqtt_host)},
    {"mqtt.port", INT(mqtt_port), .def_int = 8883, .min = 1, .max = 65535},
    {"mqtt.ca_file", STRING(mqtt_ca_file), .check = check_absolute},
    {"mqtt.client_cert", STRING(mqtt_client_cert), .check = check_absolute},
    {"mqtt.client_key", STRING(mqtt_client_key), .check = check_absolute},
    {"mqtt.username", STRING(mqtt_username)},
    {"mqtt.password_file", SECRET(mqtt_password, mqtt_password_file),
     .check = check_absolute},
    {"mqtt.topic_prefix", STRING(mqtt_topic_prefix), .def = "kip"},
    {"mqtt.client_id", STRING(mqtt_client_id), .def = "kipd"},
    {"mqtt.keepalive_s", INT(mqtt_keepalive_s), .def_int = 60, .min = 5,
     .max = 3600},
    {"plans.retention_days", INT(retention_days), .def_int = 3650, .min = 0,
     .max = 36500},
    {"digest.enabled", BOOL(digest_enabled), .def_int = 1},
    {"digest.hour", INT(digest_hour), .def_int = 7, .min = 0, .max = 23},
    {"digest.manual_days", INT(digest_manual_days), .def_int = 3, .min = 0,
     .max = 365},
    {"digest.unconfirmed_days", INT(digest_unconfirmed_days), .def_int = 2,
     .min = 0, .max = 365},
    {"digest.unacked_days", INT(digest_unacked_days), .def_int = 2, .min = 0,
     .max = 365},
    {"certificates.notice_days", INT(cert_notice_days), .def_int = 30, .min = 1,
     .max = 365},
    {"certificates.notice_address", STRING(cert_notice_address),
     .check = check_email},
    {"reminders.offsets_days", STRING(reminder_offsets), .def = "14,1",
     .check = check_days_list},
    {"reminders.followup_days", STRING(followup_offsets), .def = "30,7",
     .check = check_days_list},
    {"reminders.escalation_address", STRING(escalation_address),
     .check = check_email},
    {"deviations.forward", STRING(deviation_forward), .def = "auto",
     .choices = forward_modes},
    {"intake.url", STRING(intake_url), .check = check_imap_url},
    {"intake.username", STRING(intake_username)},
    {"intake.password_file", SECRET(intake_password, intake_password_file),
     .check = check_absolute},
    {"intake.ca_file", STRING(intake_ca_file), .check = check_absolute},
    {"intake.client_cert", STRING(intake_client_cert), .check = check_absolute},
    {"intake.client_key", STRING(intake_client_key), .check = check_absolute},
    {"intake.interval_s", INT(intake_interval_s), .def_int = 300, .min = 5,
     .max = 86400},
    {"intake.timeout_s", INT(intake_timeout_s), .def_int = 60, .min = 5,
     .max = 600},
    {"intake.max_message_bytes", INT(intake_max_bytes), .def_int = 10485760,
     .min = 65536, .max = 104857600},
    {"mqtt.reporters", .type = OPT_REPORTERS},
    {"directory.servers", .type = OPT_DIRECTORIES},
    {"directory.timeout_ms", INT(directory_timeout_ms), .def_int = 3000,
     .min = 100, .max = 30000},
    {"directory.retry_s", INT(directory_retry_s), .def_int = 900, .min = 1,
     .max = 86400},
    {"directory.refresh_days", INT(directory_refresh_days), .def_int = 30,
     .min = 0, .max = 365},
    {"users", .type = OPT_USERS},
};

const size_t config_n_options =
    sizeof(config_options) / sizeof(config_options[0]);

/* What the loaders share while walking one file. */
struct loader {
	const char *path;
	const char *text; /* the file's content; see int_truncated() */
	struct kip_config *cfg;
	char *err;
	size_t errlen;
};

/* ---- roles and choices ---- */

static const struct choice *choice_find(const struct choice *c,
					const char *name)
{
	for (; name && c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* "a, b, c" into out, for messages. */
static const char *choice_list(const struct choice *c, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (; c->name && used < len; c++) {
		int n = snprintf(out + used, len - used, "%s%s",
				 used ? ", " : "", c->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return out;
}

const char *role_name(enum kip_role role)
{
	for (const struct choice *c = roles; c->name; c++)
		if (c->value == (int)role)
			return c->name;
	return NULL;
}

enum kip_role role_from_name(const char *name)
{
	const struct choice *c = choice_find(roles, name);

	return c ? (enum kip_role)c->value : ROLE_NONE;
}

/* ---- error messages ---- */

__attribute__((format(printf, 3, 0))) static void
verr(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
}

__attribute__((format(printf, 4, 5))) static int
set_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* "FILE: cannot read: <strerror>"; returns r, a negative errno. */
static int io_err(const char *path, int r, char *err, size_t errlen)
{
	return set_err(err, errlen, r, "%s: cannot read: %s", path,
		       strerror(-r));
}

/* "FILE:LINE: " and the message, LINE being where setting s starts. */
__attribute__((format(printf, 4, 5))) static int
load_err(const struct loader *l, const config_setting_t *s, int r,
	 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!l->err || !l->errlen)
		return r;
	n = snprintf(l->err, l->errlen, "%s:%u: ", l->path,
		     (unsigned)config_setting_source_line(s));
	if (n < 0 || (size_t)n >= l->errlen)
		return r;
	va_start(ap, fmt);
	verr(l->err + n, l->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- value checks: NULL when fine, else what is wrong ---- */

static const char *check_absolute(const char *value)
{
	return value[0] == '/' ? NULL : "is not an absolute path";
}

static const char *check_socket_path(const char *value)
{
	if (value[0] != '/')
		return "is not an absolute path";
	if (strlen(value) > SOCKET_PATH_MAX)
		return "is longer than 107 bytes, the limit of a socket path";
	return NULL;
}

/* One '@', something on both sides, no spaces. Control characters, CR and
 * LF included, are refused for every string by check_text(). */
static const char *check_email(const char *value)
{
	const char *at = strchr(value, '@');

	if (!at || at == value || !at[1] || strchr(at + 1, '@') ||
	    strpbrk(value, " \t"))
		return "is not an e-mail address";
	return NULL;
}

/* "14,1": up to CONFIG_DAYS_MAX distinct whole days 1..365. */
static const char *check_days_list(const char *value)
{
	int days[CONFIG_DAYS_MAX];

	if (config_days_parse(value, days) < 0)
		return "must be up to 8 comma-separated whole days 1..365, "
		       "e.g. \"14,1\"";
	return NULL;
}

int config_days_parse(const char *value, int ret[CONFIG_DAYS_MAX])
{
	int n = 0;
	const char *p = value;

	while (*p) {
		char *end;
		long v;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || v < 1 || v > 365 || n == CONFIG_DAYS_MAX)
			return -EINVAL;
		for (int i = 0; i < n; i++)
			if (ret[i] == (int)v)
				return -EINVAL;
		ret[n++] = (int)v;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	return n;
}

static const char *check_imap_url(const char *value)
{
	if ((strncmp(value, "imap://", 7) == 0 && value[7]) ||
	    (strncmp(value, "imaps://", 8) == 0 && value[8]))
		return strchr(value, ' ') ? "contains a space" : NULL;
	return "must start with imap:// or imaps:// and name a host";
}

static const char *check_openssl_version(const char *value)
{
	struct sslver v;

	if (sslver_parse(value, &v) < 0)
		return "is not a version MAJOR.MINOR.PATCH such as \"3.0.22\"";
	return NULL;
}

static const char *check_timezone(const char *value)
{
	return tzone_check(value);
}

static const char *check_private_name(const char *value)
{
	return *value ? NULL : "is empty; leave it out to name no sender";
}

static const char *check_smtp_url(const char *value)
{
	if ((strncmp(value, "smtp://", 7) == 0 && value[7]) ||
	    (strncmp(value, "smtps://", 8) == 0 && value[8]))
		return strchr(value, ' ') ? "contains a space" : NULL;
	return "must start with smtp:// or smtps:// and name a host";
}

/* Every string: not empty, no control characters (no CR/LF in headers). */
static int check_text(const struct loader *l, const config_setting_t *s,
		      const char *key, const char *value)
{
	if (!value[0])
		return load_err(l, s, -EINVAL, "%s: must not be empty", key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return load_err(l, s, -EINVAL,
					"%s: contains a control character",
					key);
	return 0;
}

static const char *type_expected(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
		return "expected an integer";
	case CONFIG_TYPE_BOOL:
		return "expected true or false";
	case CONFIG_TYPE_GROUP:
		return "expected a group { ... }";
	case CONFIG_TYPE_LIST:
		return "expected a list ( { ... }, ... )";
	default:
		return "expected a string";
	}
}

/* Returns 0 when s has the libconfig type want (an int64 counts as an int;
 * an empty array as an empty list), else fails naming key. */
static int check_type(const struct loader *l, const config_setting_t *s,
		      const char *key, int want)
{
	int type = config_setting_type(s);

	if (type == want ||
	    (want == CONFIG_TYPE_INT && type == CONFIG_TYPE_INT64) ||
	    (want == CONFIG_TYPE_LIST && type == CONFIG_TYPE_ARRAY &&
	     config_setting_length(s) == 0))
		return 0;
	return load_err(l, s, -EINVAL, "%s: %s", key, type_expected(want));
}

/* ---- integers: libconfig 1.5 truncates large ones silently ---- */

/* Parses "[ws] (=|:) [ws] integer" at p. Returns 1 and the value, 0 when
 * there is no integer there, -1 when it does not fit in a long long. */
static int parse_int_after(const char *p, long long *ret)
{
	char *end;
	int base = 10;

	while (isspace((unsigned char)*p))
		p++;
	if (*p != '=' && *p != ':')
		return 0;
	p++;
	while (isspace((unsigned char)*p))
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16;
	if (!isdigit((unsigned char)*p) && *p != '-' && *p != '+')
		return 0;
	errno = 0;
	*ret = strtoll(p, &end, base);
	if (end == p)
		return 0;
	return errno == ERANGE ? -1 : 1;
}

/* libconfig 1.5 reads a decimal integer too big for an int as that integer
 * cut to 32 bits (4294967297 becomes 1) and says nothing. So look for
 * "name = number" on the setting's line and compare: true when the text
 * holds a different number. When the text cannot be found, trust libconfig. */
static bool int_truncated(const char *text, const config_setting_t *s,
			  long long value)
{
	const char *name = config_setting_name(s), *p = text, *end;
	size_t n = name ? strlen(name) : 0;
	bool differs = false;

	for (unsigned line = 1; p && line < config_setting_source_line(s);
	     line++)
		if ((p = strchr(p, '\n')))
			p++;
	if (!p || !n)
		return false;
	end = strchr(p, '\n');
	end = end ? end : p + strlen(p);
	for (; (p = memmem(p, (size_t)(end - p), name, n)); p += n) {
		long long parsed;
		int r;

		if (p > text && (isalnum((unsigned char)p[-1]) ||
				 p[-1] == '_' || p[-1] == '-'))
			continue;
		r = parse_int_after(p + n, &parsed);
		if (r > 0 && parsed == value)
			return false;
		differs |= r != 0;
	}
	return differs;
}

/* ---- setting one option ---- */

static void *field(struct kip_config *cfg, const struct config_option *o)
{
	return (char *)cfg + o->offset;
}

/* OPT_SECRET: the field that keeps the path of the secret's file. */
static char **file_field(struct kip_config *cfg, const struct config_option *o)
{
	return (char **)((char *)cfg + o->file_offset);
}

size_t config_group_len(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot ? (size_t)(dot - name) : 0;
}

static int set_int(const struct loader *l, const struct config_option *o,
		   const config_setting_t *s)
{
	long long v = config_setting_get_int64(s);
	int *f = field(l->cfg, o);

	if (config_setting_type(s) == CONFIG_TYPE_INT &&
	    int_truncated(l->text, s, v))
		return load_err(l, s, -EINVAL,
				"%s: value is out of range (%d..%d)", o->name,
				o->min, o->max);
	if (v < o->min || v > o->max)
		return load_err(l, s, -EINVAL,
				"%s: %lld is out of range (%d..%d)", o->name, v,
				o->min, o->max);
	*f = (int)v;
	return 0;
}

/* A string option's value after the checks common to every string and the
 * option's own; NULL after writing the error. */
static const char *string_value(const struct loader *l,
				const struct config_option *o,
				const config_setting_t *s)
{
	const char *v = config_setting_get_string(s), *why;
	char list[128];

	if (check_text(l, s, o->name, v) < 0)
		return NULL;
	if (o->choices && !choice_find(o->choices, v)) {
		load_err(l, s, -EINVAL, "%s: '%s' is not one of: %s", o->name,
			 v, choice_list(o->choices, list, sizeof(list)));
		return NULL;
	}
	if (o->check && (why = o->check(v))) {
		load_err(l, s, -EINVAL, "%s: '%s' %s", o->name, v, why);
		return NULL;
	}
	return v;
}

static int set_string(const struct loader *l, const struct config_option *o,
		      const config_setting_t *s)
{
	const char *v = string_value(l, o, s);
	char **f = field(l->cfg, o), *copy;

	if (!v)
		return -EINVAL;
	if (o->type == OPT_ENUM) {
		*(int *)field(l->cfg, o) = choice_find(o->choices, v)->value;
		return 0;
	}
	copy = strdup(v);
	if (!copy)
		return load_err(l, s, -ENOMEM, "%s: out of memory", o->name);
	free(*f);
	*f = copy;
	return 0;
}

static int set_secret(const struct loader *l, const struct config_option *o,
		      const config_setting_t *s)
{
	const char *v = string_value(l, o, s);
	char **f = field(l->cfg, o), **file = file_field(l->cfg, o);
	char *secret = NULL, *path, msg[512];
	int r;

	if (!v)
		return -EINVAL;
	r = config_read_secret(v, &secret, msg, sizeof(msg));
	if (r < 0)
		return load_err(l, s, r, "%s: %s", o->name, msg);
	path = strdup(v);
	if (!path) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
		return load_err(l, s, -ENOMEM, "%s: out of memory", o->name);
	}
	if (*f) {
		explicit_bzero(*f, strlen(*f));
		free(*f);
	}
	free(*file);
	*f = secret;
	*file = path;
	return 0;
}

static int load_users(const struct loader *l, const config_setting_t *list);
static int load_reporters(const struct loader *l, const config_setting_t *list);
static int load_directories(const struct loader *l,
			    const config_setting_t *list);

static int load_option(const struct loader *l, const struct config_option *o,
		       const config_setting_t *s)
{
	static const int types[] = {
	    [OPT_STRING] = CONFIG_TYPE_STRING,
	    [OPT_INT] = CONFIG_TYPE_INT,
	    [OPT_BOOL] = CONFIG_TYPE_BOOL,
	    [OPT_ENUM] = CONFIG_TYPE_STRING,
	    [OPT_SECRET] = CONFIG_TYPE_STRING,
	    [OPT_USERS] = CONFIG_TYPE_LIST,
	    [OPT_REPORTERS] = CONFIG_TYPE_LIST,
	    [OPT_DIRECTORIES] = CONFIG_TYPE_LIST,
	};
	int r = check_type(l, s, o->name, types[o->type]);

	if (r < 0)
		return r;
	switch (o->type) {
	case OPT_INT:
		return set_int(l, o, s);
	case OPT_BOOL:
		*(bool *)field(l->cfg, o) = config_setting_get_bool(s);
		return 0;
	case OPT_SECRET:
		return set_secret(l, o, s);
	case OPT_USERS:
		return load_users(l, s);
	case OPT_REPORTERS:
		return load_reporters(l, s);
	case OPT_DIRECTORIES:
		return load_directories(l, s);
	default:
		return set_string(l, o, s);
	}
}

/* ---- the users list ---- */

static int dup_into(const struct loader *l, const config_setting_t *m,
		    const char *key, const char *v, char **dst)
{
	*dst = strdup(v);
	return *dst ? 0 : load_err(l, m, -ENOMEM, "%s: out of memory", key);
}

/* The user name v of the last entry must not appear in an earlier one. */
static int user_unique(const struct loader *l, const config_setting_t *m,
		       const char *key, const char *v)
{
	for (size_t i = 0; i + 1 < l->cfg->n_users; i++)
		if (strcmp(l->cfg->users[i].name, v) == 0)
			return load_err(
			    l, m, -EINVAL,
			    "%s: '%s' is already listed as users[%zu]", key, v,
			    i);
	return 0;
}

/* Stores one member of a users entry (user, role or contact) in u. */
static int load_user_member(const struct loader *l, struct kip_user *u, int idx,
			    const config_setting_t *m)
{
	const char *name = config_setting_name(m), *v, *why;
	char key[64], list[128];
	int r;

	if (strcmp(name, "user") != 0 && strcmp(name, "role") != 0 &&
	    strcmp(name, "contact") != 0)
		return load_err(l, m, -EINVAL, "unknown key 'users[%d].%s'",
				idx, name);
	snprintf(key, sizeof(key), "users[%d].%s", idx, name);
	r = check_type(l, m, key, CONFIG_TYPE_STRING);
	v = config_setting_get_string(m);
	if (r == 0)
		r = check_text(l, m, key, v);
	if (r < 0)
		return r;
	if (strcmp(name, "role") == 0) {
		u->role = role_from_name(v);
		return u->role != ROLE_NONE
			   ? 0
			   : load_err(l, m, -EINVAL,
				      "%s: '%s' is not one of: %s", key, v,
				      choice_list(roles, list, sizeof(list)));
	}
	if (strcmp(name, "contact") == 0) {
		if ((why = check_email(v)))
			return load_err(l, m, -EINVAL, "%s: '%s' %s", key, v,
					why);
		return dup_into(l, m, key, v, &u->contact);
	}
	r = user_unique(l, m, key, v);
	return r < 0 ? r : dup_into(l, m, key, v, &u->name);
}

/* Loads entry idx of the users list into the next free slot. */
static int load_user(const struct loader *l, int idx, const config_setting_t *e)
{
	struct kip_user *u = &l->cfg->users[l->cfg->n_users++];
	int r = 0;

	if (!config_setting_is_group(e))
		return load_err(
		    l, e, -EINVAL,
		    "users[%d]: expected a group { user = ...; role = ...; }",
		    idx);
	for (int i = 0; r == 0 && i < config_setting_length(e); i++)
		r = load_user_member(l, u, idx, config_setting_get_elem(e, i));
	if (r < 0)
		return r;
	if (!u->name)
		return load_err(l, e, -EINVAL, "users[%d]: missing 'user'",
				idx);
	if (u->role == ROLE_NONE)
		return load_err(l, e, -EINVAL, "users[%d] (%s): missing 'role'",
				idx, u->name);
	if (u->role != ROLE_ADMIN && !u->contact)
		return load_err(
		    l, e, -EINVAL,
		    "users[%d] (%s): 'contact' is required for role '%s'", idx,
		    u->name, role_name(u->role));
	return 0;
}

static int load_users(const struct loader *l, const config_setting_t *list)
{
	int n = config_setting_length(list), r = 0;

	if (n == 0)
		return 0;
	l->cfg->users = calloc((size_t)n, sizeof(*l->cfg->users));
	if (!l->cfg->users)
		return load_err(l, list, -ENOMEM, "users: out of memory");
	for (int i = 0; r == 0 && i < n; i++)
		r = load_user(l, i, config_setting_get_elem(list, i));
	return r;
}

/* ---- mqtt.reporters ---- */

/* A broker user name becomes a topic level: no '/', '+', '#'. */
static const char *check_mqtt_username(const char *v)
{
	if (strpbrk(v, "/+#"))
		return "may not contain '/', '+' or '#' (it is a topic level)";
	return strlen(v) > 64 ? "is longer than 64 characters" : NULL;
}

static int load_reporter(const struct loader *l, int idx,
			 const config_setting_t *e)
{
	struct kip_reporter *rp = &l->cfg->reporters[l->cfg->n_reporters++];
	const char *why;
	char key[64];
	int r = 0;

	if (!config_setting_is_group(e))
		return load_err(l, e, -EINVAL,
				"mqtt.reporters[%d]: expected a group "
				"{ username = ...; contact = ...; }",
				idx);
	for (int i = 0; r == 0 && i < config_setting_length(e); i++) {
		const config_setting_t *m = config_setting_get_elem(e, i);
		const char *name = config_setting_name(m), *v;
		char **dst;

		if (strcmp(name, "username") == 0)
			dst = &rp->username;
		else if (strcmp(name, "contact") == 0)
			dst = &rp->contact;
		else
			return load_err(l, m, -EINVAL,
					"unknown key 'mqtt.reporters[%d].%s'",
					idx, name);
		snprintf(key, sizeof(key), "mqtt.reporters[%d].%s", idx, name);
		r = check_type(l, m, key, CONFIG_TYPE_STRING);
		if (r < 0)
			return r;
		v = config_setting_get_string(m);
		r = check_text(l, m, key, v);
		if (r < 0)
			return r;
		why = dst == &rp->username ? check_mqtt_username(v)
					   : check_email(v);
		if (why)
			return load_err(l, m, -EINVAL, "%s: '%s' %s", key, v,
					why);
		if (dst == &rp->username)
			for (size_t j = 0; j + 1 < l->cfg->n_reporters; j++)
				if (strcmp(l->cfg->reporters[j].username, v) ==
				    0)
					return load_err(
					    l, m, -EINVAL,
					    "%s: '%s' is already listed "
					    "as mqtt.reporters[%zu]",
					    key, v, j);
		free(*dst);
		r = dup_into(l, m, key, v, dst);
	}
	if (r == 0 && (!rp->username || !rp->contact))
		return load_err(l, e, -EINVAL,
				"mqtt.reporters[%d]: needs both 'username' and "
				"'contact'",
				idx);
	return r;
}

static int load_reporters(const struct loader *l, const config_setting_t *list)
{
	int n = config_setting_length(list), r = 0;

	if (n == 0)
		return 0;
	l->cfg->reporters = calloc((size_t)n, sizeof(*l->cfg->reporters));
	if (!l->cfg->reporters)
		return load_err(l, list, -ENOMEM,
				"mqtt.reporters: out of memory");
	for (int i = 0; r == 0 && i < n; i++)
		r = load_reporter(l, i, config_setting_get_elem(list, i));
	return r;
}

const struct kip_reporter *config_find_reporter(const struct kip_config *cfg,
						const char *username)
{
	for (size_t i = 0; i < cfg->n_reporters; i++)
		if (strcmp(cfg->reporters[i].username, username) == 0)
			return &cfg->reporters[i];
	return NULL;
}

/* ---- directory.servers ---- */

static const char *check_ldap_uri(const char *v)
{
	const char *host = strncmp(v, "ldaps://", 8) == 0  ? v + 8
			   : strncmp(v, "ldap://", 7) == 0 ? v + 7
							   : NULL;

	if (!host || !*host || *host == '/' || *host == ':')
		return "must be ldaps://HOST[:PORT] or ldap://HOST[:PORT]";
	if (strpbrk(host, " ,/?"))
		return "must name one server, without a path or spaces";
	return NULL;
}

/* Key I of entry IDX, checked as a string; its value in *ret. */
static int directory_string(const struct loader *l, int idx,
			    const config_setting_t *m, const char **ret)
{
	char key[80];
	int r;

	snprintf(key, sizeof(key), "directory.servers[%d].%s", idx,
		 config_setting_name(m));
	r = check_type(l, m, key, CONFIG_TYPE_STRING);
	if (r == 0)
		r = check_text(l, m, key, config_setting_get_string(m));
	*ret = config_setting_get_string(m);
	return r;
}

static int load_directory_member(const struct loader *l,
				 struct kip_directory *d, int idx,
				 const config_setting_t *m)
{
	const char *name = config_setting_name(m), *v, *why = NULL;
	char msg[512];
	int r;

	if (strcmp(name, "starttls") == 0) {
		snprintf(msg, sizeof(msg), "directory.servers[%d].starttls",
			 idx);
		r = check_type(l, m, msg, CONFIG_TYPE_BOOL);
		d->starttls = config_setting_get_bool(m);
		return r;
	}
	if (strcmp(name, "uri") && strcmp(name, "base") &&
	    strcmp(name, "bind_dn") && strcmp(name, "password_file") &&
	    strcmp(name, "ca_file"))
		return load_err(l, m, -EINVAL,
				"unknown key 'directory.servers[%d].%s'", idx,
				name);
	r = directory_string(l, idx, m, &v);
	if (r < 0)
		return r;
	if (strcmp(name, "uri") == 0)
		why = check_ldap_uri(v);
	else if (strcmp(name, "ca_file") == 0 ||
		 strcmp(name, "password_file") == 0)
		why = check_absolute(v);
	if (why)
		return load_err(l, m, -EINVAL,
				"directory.servers[%d].%s: '%s' %s", idx, name,
				v, why);
	if (strcmp(name, "password_file") == 0) {
		r = config_read_secret(v, &d->password, msg, sizeof(msg));
		if (r < 0)
			return load_err(l, m, r,
					"directory.servers[%d].password_file: "
					"%s",
					idx, msg);
	}
	return dup_into(l, m, name, v,
			strcmp(name, "uri") == 0       ? &d->uri
			: strcmp(name, "base") == 0    ? &d->base
			: strcmp(name, "bind_dn") == 0 ? &d->bind_dn
			: strcmp(name, "ca_file") == 0 ? &d->ca_file
						       : &d->password_file);
}

static int load_directory(const struct loader *l, int idx,
			  const config_setting_t *e)
{
	struct kip_directory *d = &l->cfg->directories[l->cfg->n_directories++];
	const char *missing = NULL;
	int r = 0;

	if (!config_setting_is_group(e))
		return load_err(l, e, -EINVAL,
				"directory.servers[%d]: expected a group "
				"{ uri = ...; base = ...; ca_file = ...; }",
				idx);
	for (int i = 0; r == 0 && i < config_setting_length(e); i++) {
		const config_setting_t *m = config_setting_get_elem(e, i);
		const char *name = config_setting_name(m);

		for (int j = 0; j < i; j++)
			if (strcmp(config_setting_name(
				       config_setting_get_elem(e, j)),
				   name) == 0)
				return load_err(
				    l, m, -EINVAL,
				    "directory.servers[%d].%s: given twice",
				    idx, name);
		r = load_directory_member(l, d, idx, m);
	}
	if (r < 0)
		return r;
	missing = !d->uri	? "uri"
		  : !d->base	? "base"
		  : !d->ca_file ? "ca_file"
				: NULL;
	if (missing)
		return load_err(l, e, -EINVAL,
				"directory.servers[%d]: needs '%s' (uri, base "
				"and ca_file are required)",
				idx, missing);
	if (strncmp(d->uri, "ldap://", 7) == 0 && !d->starttls)
		return load_err(l, e, -EINVAL,
				"directory.servers[%d]: ldap:// needs "
				"starttls = true (else the search and any "
				"password go in clear); or use ldaps://",
				idx);
	if (strncmp(d->uri, "ldaps://", 8) == 0 && d->starttls)
		return load_err(l, e, -EINVAL,
				"directory.servers[%d]: starttls is for "
				"ldap://; ldaps:// is TLS from the start",
				idx);
	if (!d->bind_dn != !d->password_file)
		return load_err(l, e, -EINVAL,
				"directory.servers[%d]: give both 'bind_dn' "
				"and 'password_file', or neither (anonymous)",
				idx);
	return 0;
}

static int load_directories(const struct loader *l,
			    const config_setting_t *list)
{
	int n = config_setting_length(list), r = 0;

	if (n == 0)
		return 0;
	l->cfg->directories = calloc((size_t)n, sizeof(*l->cfg->directories));
	if (!l->cfg->directories)
		return load_err(l, list, -ENOMEM,
				"directory.servers: out of memory");
	for (int i = 0; r == 0 && i < n; i++)
		r = load_directory(l, i, config_setting_get_elem(list, i));
	return r;
}

/* ---- walking the file ---- */

/* The table row for group.key, or for key at the top level (group NULL). */
static const struct config_option *option_find(const char *group,
					       const char *key)
{
	size_t glen = group ? strlen(group) : 0;

	for (size_t i = 0; i < config_n_options; i++) {
		const char *name = config_options[i].name;

		if (group &&
		    (strncmp(name, group, glen) != 0 || name[glen] != '.'))
			continue;
		if (!group && strchr(name, '.'))
			continue;
		if (strcmp(name + (group ? glen + 1 : 0), key) == 0)
			return &config_options[i];
	}
	return NULL;
}

/* Whether some option lives in group name ("store", "control", ...). */
static bool group_known(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < config_n_options; i++)
		if (strncmp(config_options[i].name, name, len) == 0 &&
		    config_options[i].name[len] == '.')
			return true;
	return false;
}

static int load_group(const struct loader *l, const config_setting_t *g)
{
	const char *group = config_setting_name(g);
	int r = 0;

	for (int i = 0; r == 0 && i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *key = config_setting_name(s);
		const struct config_option *o = option_find(group, key);

		r = o ? load_option(l, o, s)
		      : load_err(l, s, -EINVAL, "unknown key '%s.%s'", group,
				 key);
	}
	return r;
}

static int load_root(const struct loader *l, const config_setting_t *root)
{
	int r = 0;

	for (int i = 0; r == 0 && i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, i);
		const char *name = config_setting_name(s);
		const struct config_option *o = option_find(NULL, name);

		if (o)
			r = load_option(l, o, s);
		else if (group_known(name))
			r = check_type(l, s, name, CONFIG_TYPE_GROUP) < 0
				? -EINVAL
				: load_group(l, s);
		else
			r = load_err(l, s, -EINVAL, "unknown key '%s'", name);
	}
	return r;
}

/* libconfig 1.5 cannot hook @include, so included files would escape the
 * permission check. Every setting that came from one is refused. */
static int refuse_includes(const struct loader *l, const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);
	int r = 0;

	if (file)
		return set_err(l->err, l->errlen, -EINVAL,
			       "%s:%u: settings from @include files are not "
			       "supported (included from %s)",
			       file, (unsigned)config_setting_source_line(s),
			       l->path);
	if (!config_setting_is_aggregate(s))
		return 0;
	for (int i = 0; r == 0 && i < config_setting_length(s); i++)
		r = refuse_includes(l, config_setting_get_elem(s, i));
	return r;
}

/* ---- defaults and freeing, from the table ---- */

static int set_defaults(struct kip_config *cfg)
{
	for (size_t i = 0; i < config_n_options; i++) {
		const struct config_option *o = &config_options[i];

		if (o->type == OPT_INT)
			*(int *)field(cfg, o) = o->def_int;
		else if (o->type == OPT_BOOL)
			*(bool *)field(cfg, o) = o->def_int;
		else if (o->type == OPT_ENUM)
			*(int *)field(cfg, o) =
			    choice_find(o->choices, o->def)->value;
		else if (o->type == OPT_STRING && o->def &&
			 !(*(char **)field(cfg, o) = strdup(o->def)))
			return -ENOMEM;
	}
	return 0;
}

void config_free(struct kip_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < config_n_options; i++) {
		char **f = field(cfg, &config_options[i]);

		if (config_options[i].type == OPT_SECRET && *f)
			explicit_bzero(*f, strlen(*f));
		if (config_options[i].type == OPT_SECRET)
			free(*file_field(cfg, &config_options[i]));
		if (config_options[i].type == OPT_STRING ||
		    config_options[i].type == OPT_SECRET)
			free(*f);
	}
	for (size_t i = 0; i < cfg->n_users; i++) {
		free(cfg->users[i].name);
		free(cfg->users[i].contact);
	}
	free(cfg->users);
	for (size_t i = 0; i < cfg->n_reporters; i++) {
		free(cfg->reporters[i].username);
		free(cfg->reporters[i].contact);
	}
	free(cfg->reporters);
	for (size_t i = 0; i < cfg->n_directories; i++) {
		struct kip_directory *d = &cfg->directories[i];

		if (d->password)
			explicit_bzero(d->password, strlen(d->password));
		free(d->password);
		free(d->uri);
		free(d->base);
		free(d->bind_dn);
		free(d->password_file);
		free(d->ca_file);
	}
	free(cfg->directories);
	free(cfg->path);
	free(cfg);
}

const struct kip_user *config_find_user(const struct kip_config *cfg,
					const char *name)
{
	for (size_t i = 0; cfg && name && i < cfg->n_users; i++)
		if (strcmp(cfg->users[i].name, name) == 0)
			return &cfg->users[i];
	return NULL;
}

/* ---- reading the file ---- */

/* Others may neither read nor write the configuration, its group may not
 * write it: it maps OS users to roles and names the secrets. */
static int check_config_mode(const char *path, const struct stat *st, char *err,
			     size_t errlen)
{
	unsigned mode = st->st_mode & 07777;

	if (!S_ISREG(st->st_mode))
		return set_err(err, errlen,
			       S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL,
			       "%s: not a regular file", path);
	if (mode & S_IROTH)
		return set_err(
		    err, errlen, -EPERM,
		    "%s: readable by others (mode %04o); run chmod o-rwx %s",
		    path, mode, path);
	if (mode & S_IWOTH)
		return set_err(
		    err, errlen, -EPERM,
		    "%s: writable by others (mode %04o); run chmod o-rwx %s",
		    path, mode, path);
	if (mode & S_IWGRP)
		return set_err(
		    err, errlen, -EPERM,
		    "%s: writable by its group (mode %04o); run chmod g-w %s",
		    path, mode, path);
	return 0;
}

/* Opens path, checks its mode on the open file and reads it into text. */
static int read_config_text(const char *path, struct buf *text, char *err,
			    size_t errlen)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return io_err(path, -errno, err, errlen);
	if (fstat(fd, &st) < 0)
		r = io_err(path, -errno, err, errlen);
	else
		r = check_config_mode(path, &st, err, errlen);
	if (r == 0 && (r = buf_read_all(text, fd, CONFIG_MAX_BYTES)) < 0)
		io_err(path, r, err, errlen);
	close(fd);
	if (r == 0 && buf_append(text, "", 0) < 0)
		r = set_err(err, errlen, -ENOMEM, "%s: out of memory", path);
	if (r == 0 && strlen(text->data) != text->len)
		r = set_err(err, errlen, -EINVAL, "%s: contains a NUL byte",
			    path);
	return r;
}

static int parse_text(config_t *c, const char *path, const char *text,
		      char *err, size_t errlen)
{
	const char *file;

	if (config_read_string(c, text) == CONFIG_TRUE)
		return 0;
	file = config_error_file(c) ? config_error_file(c) : path;
	if (config_error_type(c) == CONFIG_ERR_FILE_IO)
		return set_err(err, errlen, -EINVAL, "%s:%d: %s", file,
			       config_error_line(c), config_error_text(c));
	return set_err(err, errlen, -EINVAL, "%s:%d: syntax error: %s", file,
		       config_error_line(c), config_error_text(c));
}

/* A private text that names {org} needs private.name: else the words
 * around it ("Message from {org}") would name nobody. */
static int check_private_org(const struct loader *l)
{
	if (l->cfg->private_name)
		return 0;
	for (size_t i = 0; i < config_n_options; i++) {
		const struct config_option *o = &config_options[i];
		char **f;

		if (o->type != OPT_STRING || strncmp(o->name, "private.", 8))
			continue;
		f = field(l->cfg, o);
		if (*f && strstr(*f, "{org}"))
			return set_err(l->err, l->errlen, -EINVAL,
				       "%s: %s names {org}, but private.name "
				       "is unset",
				       l->path, o->name);
	}
	return 0;
}

int config_load(const char *path, struct kip_config **ret, char *err,
		size_t errlen)
{
	struct buf text = BUF_INIT;
	struct kip_config *cfg = NULL;
	struct loader l = {path, NULL, NULL, err, errlen};
	config_t c;
	int r;

	config_init(&c);
	r = read_config_text(path, &text, err, errlen);
	if (r < 0)
		goto out;
	r = parse_text(&c, path, text.data, err, errlen);
	if (r < 0)
		goto out;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || set_defaults(cfg) < 0 || !(cfg->path = strdup(path))) {
		r = set_err(err, errlen, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	l.text = text.data;
	l.cfg = cfg;
	r = refuse_includes(&l, config_root_setting(&c));
	if (r == 0)
		r = load_root(&l, config_root_setting(&c));
	if (r == 0)
		r = check_private_org(&l);
	if (r == 0) {
		*ret = cfg;
		cfg = NULL;
	}
out:
	config_free(cfg);
	config_destroy(&c);
	buf_free(&text);
	return r;
}

/* ---- secrets ---- */

/* Opens a secret file: no symbolic link, a regular file, mode 0600 or
 * stricter. Returns the descriptor or a negative errno. */
static int secret_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP && lstat(path, &st) == 0 &&
	    S_ISLNK(st.st_mode))
		return set_err(err, errlen, -EPERM,
			       "%s: is a symbolic link; refusing to follow it",
			       path);
	if (fd < 0)
		return io_err(path, -errno, err, errlen);
	if (fstat(fd, &st) < 0)
		r = io_err(path, -errno, err, errlen);
	else if (!S_ISREG(st.st_mode))
		r = set_err(err, errlen, -EPERM,
			    "%s: not a regular file (mode %06o)", path,
			    (unsigned)st.st_mode);
	else if (st.st_mode & 077)
		r = set_err(err, errlen, -EPERM,
			    "%s: group or others may access it (mode %04o); "
			    "run chmod go-rwx %s",
			    path, (unsigned)(st.st_mode & 07777), path);
	else
		return fd;
	close(fd);
	return r;
}

/* Reads until a newline, end of file or a full buffer. */
static int secret_read_line(int fd, char *buf, size_t size, size_t *ret_len)
{
	size_t len = 0;

	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - n, '\n', (size_t)n))
			break;
	}
	*ret_len = len;
	return 0;
}

int config_read_secret(const char *path, char **ret, char *err, size_t errlen)
{
	char buf[SECRET_MAX_LINE + 2]; /* the line and "\r\n" */
	char *nl, *secret;
	size_t len = 0;
	int fd, r;

	fd = secret_open(path, err, errlen);
	if (fd < 0)
		return fd;
	r = secret_read_line(fd, buf, sizeof(buf), &len);
	close(fd);
	if (r < 0) {
		io_err(path, r, err, errlen);
		goto out;
	}
	nl = memchr(buf, '\n', len);
	len = nl ? (size_t)(nl - buf) : len;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len > SECRET_MAX_LINE) {
		r = set_err(err, errlen, -EINVAL,
			    "%s: the first line is longer than %d bytes", path,
			    SECRET_MAX_LINE);
		goto out;
	}
	if (len == 0 || memchr(buf, '\0', len)) {
		r = set_err(err, errlen, -EINVAL, "%s: %s", path,
			    len ? "the secret contains a NUL byte"
				: "the secret is empty");
		goto out;
	}
	secret = strndup(buf, len);
	if (!secret)
		r = set_err(err, errlen, -ENOMEM, "%s: out of memory", path);
	else
		*ret = secret;
out:
	explicit_bzero(buf, sizeof(buf));
	return r;
}
