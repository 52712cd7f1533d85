/* config.h — kipd's configuration, read from a libconfig file.
 *
 * Every key is declared once in the table in config.c (name, type, default,
 * bounds); loading, checking and the error messages all come from it.
 * conf/kipd.conf is the complete, commented example of every key.
 */
#ifndef KIP_CONFIG_H
#define KIP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define KIP_DEFAULT_CONFIG "/etc/kip/kipd.conf"
/* The most SMTP connections (worker threads) smtp.connections allows. */
#define CONFIG_SMTP_CONNECTIONS_MAX 16

enum kip_role {
	ROLE_NONE = 0,
	ROLE_PROFESSIONAL,
	ROLE_COORDINATOR,
	ROLE_ADMIN,
};

/* "admin", "coordinator", "professional"; NULL for an unknown value. */
const char *role_name(enum kip_role role);
/* Returns ROLE_NONE for an unknown name. */
enum kip_role role_from_name(const char *name);

/* One entry of the users list: an OS user mapped to a role and, for
 * non-admins, to the e-mail address of the contact the user acts as. */
struct kip_user {
	char *name; /* OS user name, as getpwuid() reports it */
	enum kip_role role;
	char *contact; /* contact's e-mail; NULL for admins */
};

/* One entry of mqtt.reporters: a broker user name and the e-mail address
 * of the contact its reports come from. */
struct kip_reporter {
	char *username;
	char *contact;
};

/* One entry of directory.servers: an LDAP directory searched by e-mail
 * address for S/MIME certificates (directory.h). */
struct kip_directory {
	char *uri;	     /* ldaps://host:port or ldap://host:port */
	bool starttls;	     /* ldap:// only, and then required */
	char *base;	     /* search base DN */
	char *bind_dn;	     /* NULL: anonymous */
	char *password;	     /* read from password_file */
	char *password_file; /* NULL: anonymous */
	char *ca_file;	     /* verifies the server's TLS certificate */
};

struct kip_config {
	char *path; /* the file this was read from */

	/* store */
	char *store_path; /* SQLite file */

	/* control */
	char *socket_path;	/* Unix stream socket for kipctl */
	char *socket_group;	/* group owning the socket; NULL: kipd's own */
	int max_clients;	/* simultaneous control connections */
	int max_request_bytes;	/* largest accepted request frame */
	int request_timeout_ms; /* a request must arrive within this time */

	/* log */
	int log_level;	 /* LOG_ERR .. LOG_DEBUG (syslog levels) */
	bool log_syslog; /* false: stderr */

	/* organisation: the sender of everything kip sends */
	char *org_name;
	char *org_mailbox; /* the function mailbox's e-mail address */
	char *org_phone;

	/* the zone of every local time and date (tzone.h); a change takes
	 * effect at a restart */
	char *timezone;

	/* plans */
	char *default_lang;	  /* "da" or "en": rendering and mail texts */
	int follow_up_max_months; /* 1..6: the follow-up rule */
	char *pdf_font_dir;	  /* DejaVu Sans for the PDF (pdf.h) */
	int pdf_passphrase_days;  /* an unhanded PDF passphrase is kept */

	/* smtp: read and checked now, used by the outbox */
	char *smtp_url; /* smtps://host:port or smtp://host:port */
	char *smtp_username;
	char *smtp_password; /* read from smtp.password_file; wiped on free */
	char *smtp_password_file; /* that file's path */
	char *smtp_ca_file;	  /* CA bundle for the server's certificate */
	char *smtp_client_cert;	  /* optional TLS client certificate */
	char *smtp_client_key;
	int smtp_connections;	/* parallel SMTP connections (workers) */
	int smtp_timeout_s;	/* per transaction */
	int smtp_retry_first_s; /* first retry after a temporary failure */
	int smtp_retry_max_s;	/* longest gap between retries */
	int smtp_give_up_s;	/* a message still failing after this fails */

	/* smime: the organisation's certificate and what it trusts */
	char *smime_cert;
	char *smime_key;
	char *smime_key_passphrase; /* read from smime.key_passphrase_file */
	char *smime_key_passphrase_file;
	char *smime_chain;
	char *smime_ca_bundle;
	char *smime_crl;
	bool
	    smime_allow_gcm; /* false: never AES-GCM, whatever a contact says */
	char *smime_openssl_min; /* "MAJOR.MINOR.PATCH": kipd refuses an older
				    OpenSSL (sslver.h) */

	/* mail */
	bool mail_neutral_notice;  /* recipients without a usable certificate
				      get a notice without personal data */
	bool mail_place_in_clear;  /* a meeting's place in professionals'
				      invitations (in clear) */
	bool mail_attach_document; /* the plan's YAML document beside the
				      PDF, for re-import */
	bool mail_read_receipts;   /* messages to a plan's members ask for a
				      read receipt to organisation.mailbox */

	/* private: what a private mailbox sees in clear (wording.h) */
	char *private_name; /* the sender's name for them; NULL: none */
	char *private_subject;
	char *private_notice;
	char *private_invitation_subject;
	char *private_cancel_subject;
	char *private_meeting_summary;
	char *private_reminder_subject;
	char *private_reminder;

	/* mqtt: business events (see event.h) */
	char *mqtt_host; /* unset: no MQTT */
	int mqtt_port;
	char *mqtt_ca_file; /* TLS: the broker's certificate must chain here */
	char *mqtt_client_cert;
	char *mqtt_client_key;
	char *mqtt_username;
	char *mqtt_password; /* read from mqtt.password_file */
	char *mqtt_password_file;
	char *mqtt_topic_prefix;
	char *mqtt_client_id;
	int mqtt_keepalive_s;

	/* retention: erasure is refused before this many days after a
	 * citizen's last plan activity, unless an admin forces it */
	int retention_days;

	/* digest: the coordinator's daily digest (digest.h) */
	bool digest_enabled;
	int digest_hour;	     /* local hour of day it is due */
	int digest_manual_days;	     /* manual deliveries open this long */
	int digest_unconfirmed_days; /* copies not confirmed this long */
	int digest_unacked_days;     /* deviations not acknowledged */

	/* certificates: the weekly notice about those expiring soon */
	int cert_notice_days;
	char
	    *cert_notice_address; /* the administrator's address; unset: none */

	/* reminders: "14,1" days before each meeting; "30,7" days before
	 * the six-month deadline; who else hears of an overdue plan */
	char *reminder_offsets;
	char *followup_offsets;
	char *escalation_address;

	/* deviations: "auto" forwards a new report to the members who
	 * answer for its goal at once; "coordinator" waits for the
	 * coordinator's kipctl deviation forward */
	char *deviation_forward;

	/* intake: the function mailbox read over IMAP (unset url: none) */
	char *intake_url; /* imaps://host:port/INBOX or imap://... */
	char *intake_username;
	char *intake_password; /* read from intake.password_file */
	char *intake_password_file;
	char *intake_ca_file;
	char *intake_client_cert;
	char *intake_client_key;
	int intake_interval_s; /* between passes */
	int intake_timeout_s;
	int intake_max_bytes; /* a larger mail is quarantined unread */

	/* mqtt intake: MQTT user names mapped to contacts; reports arrive
	 * on <prefix>/deviations/<username>, a topic the broker lets only
	 * that user publish to (see docs/INTAKE.md) */
	struct kip_reporter *reporters;
	size_t n_reporters;

	/* directory: LDAP directories searched for certificates */
	struct kip_directory *directories;
	size_t n_directories;
	int directory_timeout_ms;   /* one directory's whole lookup */
	int directory_retry_s;	    /* first wait before a failed lookup is
				       tried again (doubling, up to a day) */
	int directory_refresh_days; /* also look up certificates expiring
				       within this many days */

	struct kip_user *users;
	size_t n_users;
};

/*
 * Reads and validates FILE. On success returns 0 and stores a new
 * configuration in *ret (free with config_free). On failure returns a
 * negative errno, leaves *ret untouched and writes one line to err,
 * "FILE:LINE: what is wrong", naming the key: unknown keys, wrong types,
 * values out of range, a config or secret file that others may read.
 */
int config_load(const char *path, struct kip_config **ret, char *err,
		size_t errlen);

/* Frees cfg and wipes the secrets in it. Accepts NULL. */
void config_free(struct kip_config *cfg);

/*
 * Writes cfg to out as a configuration file (kipd -n -v): every key of the
 * table with its value after the defaults and the file, group by group; an
 * unset key as a comment; a secret as the path of its file, never the
 * secret. Loading the output gives the same configuration. Returns 0, or
 * -EIO when out has an error.
 */
int config_print(FILE *out, const struct kip_config *cfg);

/*
 * Writes kipd.conf(5), in man(7) roff, to out: the keys, types, bounds,
 * choices and defaults from the table, described by the comments of the
 * example configuration at example_path (conf/kipd.conf). Fails, naming
 * the key and the example's line in err, when the example and the table
 * disagree: a key only one of them has, a key without a comment, a value
 * shown that is not the default. Returns 0 or a negative errno.
 */
int config_man(FILE *out, const char *example_path, char *err, size_t errlen);

/* The mqtt.reporters entry for a broker user name, or NULL. */
const struct kip_reporter *config_find_reporter(const struct kip_config *cfg,
						const char *username);

/* The users entry for an OS user name, or NULL. */
const struct kip_user *config_find_user(const struct kip_config *cfg,
					const char *name);

/*
 * Reads a secret (password, passphrase) from PATH: the first line, without
 * its line end. Refuses a file that group or others may read or write, or
 * that is not a regular file, with a message that says so. Returns 0 and a
 * malloc'd string in *ret (caller wipes and frees), or a negative errno.
 */
/* Parses a list of days like "14,1" (reminders.*) into RET; returns how
 * many (0..CONFIG_DAYS_MAX) or -EINVAL. */
#define CONFIG_DAYS_MAX 8
int config_days_parse(const char *value, int ret[CONFIG_DAYS_MAX]);

int config_read_secret(const char *path, char **ret, char *err, size_t errlen);

/* Whether texts for users are written in Danish (the default) rather
 * than English (plans.default_lang = "en"). */
static inline bool texts_danish(const struct kip_config *cfg)
{
	return strcmp(cfg->default_lang, "en") != 0;
}

#endif
