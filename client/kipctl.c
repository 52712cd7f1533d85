/* kipctl.c — the command-line client of kipd.
 *
 * Every command is one row of the table below: the words typed, the
 * protocol command, the positional arguments and options with the JSON key
 * and type each becomes, and a line of help. Usage text, parsing and
 * dispatch all come from that table (as in OpenSMTPD's smtpctl).
 *
 * The client holds no business rules. It checks only the shape of what is
 * typed (an integer is an integer, a file can be read and is UTF-8) and
 * leaves every decision to the daemon, which also decides who the caller is
 * (SO_PEERCRED). Protocol: docs/PROTOCOL.md. Local files (reading a file
 * argument, writing --output, the editor of `plan edit`) are edit.c's.
 *
 * Exit status: 0 ok; 1 the daemon refused (or a local step after it failed:
 * writing --output, running the editor); 2 usage; 3 no connection or a
 * protocol error.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "buf.h"
#include "edit.h"
#include "format.h"
#include "proto.h"
#include "roff.h"

#define DEFAULT_SOCKET "/run/kip/kipd.sock"
#define ARGS_MAX 12 /* arguments of one command, + end */
#define WRAP 78	    /* usage line width */

enum {
	EXIT_OK = 0,
	EXIT_DAEMON = 1,
	EXIT_USAGE = 2,
	EXIT_CONNECT = 3,
};

/* --- the command table -------------------------------------------------- */

enum arg_type {
	T_STR,	   /* a string, sent as it is */
	T_INT,	   /* an integer (strtoll, the whole string) */
	T_FILE,	   /* a file's content ("-": standard input), as a string */
	T_LIST,	   /* comma-separated integers, as an array */
	T_STRLIST, /* comma-separated words, as an array of strings */
	T_LOCAL,   /* a path the client uses itself; never sent */
	T_BOOL,	   /* a flag without a value, sent as true */
};

struct arg {
	const char *name; /* "--scope" for an option, "PLAN" for a positional */
	const char *key;  /* its key in the request's "args" */
	enum arg_type type;
	int required;
};

struct ctx;
typedef int (*run_fn)(struct ctx *x);

struct command {
	const char *words; /* as typed, e.g. "plan member add" */
	const char *cmd;   /* the protocol command */
	run_fn run;	   /* NULL: send cmd with the arguments, show result */
	const char *help;
	struct arg args[ARGS_MAX]; /* positionals in order, then options */
};

struct ctx {
	const char *socket;
	int json; /* --json */
	const struct command *cmd;
	json_t *args;  /* the request's "args" */
	json_t *local; /* T_LOCAL values, by key */
};

static int run_export(struct ctx *x);
static int run_edit(struct ctx *x);

#define P_ID                                                                   \
	{                                                                      \
		"ID", "id", T_INT, 1                                           \
	}
#define P_CITIZEN                                                              \
	{                                                                      \
		"CITIZEN", "citizen", T_INT, 1                                 \
	}
#define P_PLAN                                                                 \
	{                                                                      \
		"PLAN", "plan", T_INT, 1                                       \
	}
#define P_CONTACT                                                              \
	{                                                                      \
		"CONTACT", "contact", T_INT, 1                                 \
	}
#define REQ(flag, type)                                                        \
	{                                                                      \
		"--" flag, flag, type, 1                                       \
	}
#define OPT(flag, type)                                                        \
	{                                                                      \
		"--" flag, flag, type, 0                                       \
	}
#define REQ_AS(flag, key, type)                                                \
	{                                                                      \
		"--" flag, key, type, 1                                        \
	}
#define OPT_AS(flag, key, type)                                                \
	{                                                                      \
		"--" flag, key, type, 0                                        \
	}
#define CERT OPT_AS("cert", "cert_pem", T_FILE)

static const struct command commands[] = {
    {"whoami",
     "whoami",
     NULL,
     "show your user name and role as kipd sees them",
     {{NULL}}},

    {"citizen add",
     "citizen.add",
     NULL,
     "register a citizen",
     {REQ("name", T_STR), REQ("cpr", T_STR), REQ("address", T_STR),
      REQ("phone", T_STR), OPT("email", T_STR), CERT, OPT("delivery", T_STR)}},
    {"citizen show", "citizen.show", NULL, "show a citizen", {P_ID}},
    {"citizen list",
     "citizen.list",
     NULL,
     "list citizens",
     {OPT("cpr", T_STR), OPT("limit", T_INT), OPT("offset", T_INT)}},
    {"citizen update",
     "citizen.update",
     NULL,
     "change a citizen's details",
     {P_ID, OPT("name", T_STR), OPT("address", T_STR), OPT("phone", T_STR),
      OPT("email", T_STR), CERT, OPT("delivery", T_STR)}},

    {"consent give",
     "consent.give",
     NULL,
     "record a citizen's consent",
     {P_CITIZEN, REQ("scope", T_STR), REQ("date", T_STR),
      OPT("document", T_STR)}},
    {"consent withdraw",
     "consent.withdraw",
     NULL,
     "record that a consent was withdrawn",
     {P_CITIZEN, REQ("scope", T_STR), REQ("date", T_STR),
      OPT("document", T_STR)}},
    {"consent show",
     "consent.show",
     NULL,
     "show a citizen's consents",
     {P_CITIZEN}},

    {"contact add",
     "contact.add",
     NULL,
     "register a contact (a professional or a relative)",
     {REQ("kind", T_STR), REQ("name", T_STR), OPT("title", T_STR),
      OPT("organisation", T_STR), OPT("email", T_STR), OPT("phone", T_STR),
      OPT("citizen", T_INT), CERT, OPT("cipher", T_STR), OPT("mailbox", T_STR),
      OPT("delivery", T_STR)}},
    {"contact show", "contact.show", NULL, "show a contact", {P_ID}},
    {"contact list",
     "contact.list",
     NULL,
     "list contacts",
     {OPT("citizen", T_INT), OPT("kind", T_STR)}},
    {"contact update",
     "contact.update",
     NULL,
     "change a contact's details",
     {P_ID, OPT("name", T_STR), OPT("title", T_STR), OPT("organisation", T_STR),
      OPT("email", T_STR), OPT("phone", T_STR), CERT, OPT("cipher", T_STR),
      OPT("mailbox", T_STR), OPT("delivery", T_STR)}},

    {"plan create",
     "plan.create",
     NULL,
     "create a coordinated plan for a citizen",
     {P_CITIZEN, REQ("basis", T_STRLIST), OPT("coordinator", T_INT)}},
    {"plan show", "plan.show", NULL, "show a plan", {P_PLAN}},
    {"plan list",
     "plan.list",
     NULL,
     "list the plans you may see",
     {OPT("citizen", T_INT), OPT("overdue", T_BOOL)}},
    {"plan member add",
     "plan.member.add",
     NULL,
     "make a contact a member of a plan (who gets the version in force "
     "at once)",
     {P_PLAN, P_CONTACT}},
    {"plan member remove",
     "plan.member.remove",
     NULL,
     "remove a member from a plan",
     {P_PLAN, P_CONTACT}},
    {"plan coordinator",
     "plan.coordinator",
     NULL,
     "make a contact the plan's coordinator",
     {P_PLAN, P_CONTACT}},
    {"plan version add",
     "plan.version.add",
     NULL,
     "store a new version of the plan document",
     {P_PLAN, REQ_AS("file", "document", T_FILE), OPT("meeting", T_INT)}},
    {"plan version show",
     "plan.version.show",
     NULL,
     "show a version (default: the latest)",
     {P_PLAN, OPT("version", T_INT)}},
    {"plan diff",
     "plan.diff",
     NULL,
     "show what changed between versions",
     {P_PLAN, REQ("from", T_INT), REQ("to", T_INT)}},
    {"plan approve",
     "plan.approve",
     NULL,
     "record that a version was approved",
     {P_PLAN, REQ("version", T_INT), REQ("how", T_STR), OPT("date", T_STR)}},
    {"plan distribute",
     "plan.distribute",
     NULL,
     "send a version to the members and the citizen (--contact, --citizen: "
     "to that one alone)",
     {P_PLAN, REQ("version", T_INT), OPT("contact", T_INT),
      OPT("citizen", T_BOOL)}},
    {"plan render",
     "plan.render",
     run_export,
     "render a version as a document: text, html or pdf (written to "
     "--output, or to standard output)",
     {P_PLAN, OPT("version", T_INT), OPT("format", T_STR), OPT("lang", T_STR),
      OPT("output", T_LOCAL)}},
    {"plan status",
     "plan.status",
     NULL,
     "show each message of a plan: queued, sent, deferred, failed, "
     "cancelled or needs manual delivery, and after sending whether it was "
     "delivered, delayed, bounced or opened",
     {P_PLAN, OPT("version", T_INT)}},
    {"plan handed",
     "plan.handed",
     NULL,
     "record that a version was handed over another way than by mail",
     {P_PLAN, REQ("version", T_INT), OPT("contact", T_INT),
      OPT("citizen", T_BOOL), REQ("how", T_STR), OPT("date", T_STR)}},
    {"digest",
     "digest",
     NULL,
     "what waits for a coordinator: bounced, unconfirmed and manual copies, "
     "deviations, meetings and deadlines",
     {OPT("coordinator", T_INT)}},
    {"plan template",
     "plan.template",
     NULL,
     "print an empty plan document to start from",
     {OPT("lang", T_STR)}},
    {"plan export",
     "plan.export",
     run_export,
     "print a version: the editable document, or with --format "
     "text|html|pdf the rendered plan",
     {P_PLAN, OPT("version", T_INT), OPT("output", T_LOCAL),
      OPT("format", T_STR), OPT("lang", T_STR)}},
    {"plan edit",
     "plan.version.add",
     run_edit,
     "edit the latest version in $VISUAL/$EDITOR and store the result",
     {P_PLAN, OPT("meeting", T_INT)}},

    {"meeting schedule",
     "meeting.schedule",
     NULL,
     "schedule a meeting about a plan",
     {P_PLAN, REQ("start", T_STR), OPT("duration", T_INT), OPT("place", T_STR),
      OPT_AS("place-in-clear", "place_in_clear", T_STR), OPT("video", T_STR),
      OPT("phone", T_STR), OPT("reason", T_STR), OPT("situation", T_STR)}},
    {"meeting move",
     "meeting.move",
     NULL,
     "move a meeting",
     {P_ID, REQ("start", T_STR), OPT("duration", T_INT)}},
    {"meeting cancel",
     "meeting.cancel",
     NULL,
     "cancel a meeting",
     {P_ID, OPT("reason", T_STR)}},
    {"meeting attendance",
     "meeting.attendance",
     NULL,
     "record who attended a meeting",
     {P_ID, OPT("present", T_LIST), OPT("apologies", T_LIST),
      OPT("citizen", T_STR)}},
    {"meeting held",
     "meeting.held",
     NULL,
     "record that a meeting was held",
     {P_ID}},
    {"meeting show", "meeting.show", NULL, "show a meeting", {P_ID}},
    {"meeting list", "meeting.list", NULL, "list a plan's meetings", {P_PLAN}},

    {"deviation report",
     "deviation.report",
     NULL,
     "report that an agreed action of a plan was not carried out",
     {P_PLAN, REQ("goal", T_INT), OPT("action", T_INT), OPT("text", T_STR),
      OPT_AS("file", "text", T_FILE)}},
    {"deviation list",
     "deviation.list",
     NULL,
     "list deviation reports (--state new|forwarded|acknowledged|open)",
     {OPT("plan", T_INT), OPT("state", T_STR)}},
    {"deviation show",
     "deviation.show",
     NULL,
     "show a deviation report and whom it went to",
     {P_ID}},
    {"deviation ack",
     "deviation.ack",
     NULL,
     "acknowledge a deviation report (the plan's coordinator)",
     {P_ID}},
    {"deviation forward",
     "deviation.forward",
     NULL,
     "forward a deviation report, encrypted, to members of its plan",
     {P_ID, REQ("to", T_LIST)}},
    {"deviation route",
     "deviation.route",
     NULL,
     "set who answers for a goal (automatic forwards); no --to: everyone",
     {P_PLAN, REQ("goal", T_INT), OPT("to", T_LIST)}},

    {"intake run",
     "intake.run",
     NULL,
     "read the function mailbox now (see intake status)",
     {{NULL}}},
    {"intake status",
     "intake.status",
     NULL,
     "the mail intake's passes and what the last one did",
     {{NULL}}},
    {"intake quarantine",
     "intake.quarantine",
     NULL,
     "what the intake refused, newest first, with the reason",
     {OPT("limit", T_INT)}},

    {"outbox list",
     "outbox.list",
     NULL,
     "list the queue: the messages queued, being sent or deferred, oldest "
     "first; --state STATE or all for the others (admins)",
     {OPT("state", T_STR), OPT("plan", T_INT), OPT("limit", T_INT),
      OPT("offset", T_INT)}},
    {"outbox counts",
     "outbox.counts",
     NULL,
     "how many messages are in each state, and how long the oldest "
     "waiting one has waited (admins)",
     {{NULL}}},
    {"outbox retry",
     "outbox.retry",
     NULL,
     "send a deferred message now, not at its next attempt; "
     "--all-deferred: every one (admins)",
     {{"ID", "id", T_INT, 0}, OPT_AS("all-deferred", "all_deferred", T_BOOL)}},
    {"outbox cancel",
     "outbox.cancel",
     NULL,
     "cancel a message not yet sent, saying why (admins)",
     {P_ID, REQ("reason", T_STR)}},

    {"audit verify",
     "audit.verify",
     NULL,
     "check the audit trail's hash chain for changed, inserted or "
     "deleted entries",
     {{NULL}}},
    {"audit",
     "audit.list",
     NULL,
     "show the audit trail of a citizen",
     {REQ("citizen", T_INT), OPT("limit", T_INT)}},

    {"citizen erase",
     "citizen.erase",
     NULL,
     "delete a citizen's personal data for good (after the retention "
     "period; --force: admins only)",
     {P_ID, OPT("force", T_BOOL)}},
    {"stats",
     "stats",
     NULL,
     "the figures for national monitoring, for a period",
     {OPT("from", T_STR), OPT("to", T_STR), OPT("format", T_STR),
      OPT("csv", T_BOOL)}},
    {"cert import",
     "cert.import",
     NULL,
     "store a contact's or citizen's S/MIME certificate from a PEM file",
     {REQ("file", T_FILE), OPT("contact", T_INT), OPT("citizen", T_INT)}},
    {"cert list",
     "cert.list",
     NULL,
     "list the certificates kip knows, with their expiry",
     {{NULL}}},
    {"cert expiring",
     "cert.expiring",
     NULL,
     "certificates that expire within N days",
     {REQ("days", T_INT)}},
    {"cert domain add",
     "cert.domain.add",
     NULL,
     "register an organisation certificate for a mail domain: mail to its "
     "professionals without a personal certificate is encrypted to it "
     "(admins)",
     {{"DOMAIN", "domain", T_STR, 1},
      REQ_AS("cert", "cert_pem", T_FILE),
      OPT_AS("accept-signatures", "accept_signatures", T_BOOL)}},
    {"cert domain list",
     "cert.domain.list",
     NULL,
     "list the organisation certificates registered for mail domains",
     {{NULL}}},
    {"cert domain remove",
     "cert.domain.remove",
     NULL,
     "remove the organisation certificate of a mail domain (admins)",
     {{"DOMAIN", "domain", T_STR, 1}}},
    {"cert lookup",
     "cert.lookup",
     NULL,
     "look an address up in the LDAP directories now: what was found, "
     "which certificate was chosen and why the others were refused",
     {{"EMAIL", "email", T_STR, 1}}},
    {"scheduler run",
     "scheduler.run",
     NULL,
     "send the reminders that are due now, and say how long it took "
     "(admins)",
     {{NULL}}},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The options before the command, and the notes after them, for usage()
 * and the man page. A '\n' breaks the line in usage(). */
#define SYNOPSIS "kipctl [-s SOCKET] [--json] COMMAND [ARGS]"
static const char *const globals[][2] = {
    {"-s SOCKET",
     "kipd's control socket (default: $KIP_SOCKET, else\n" DEFAULT_SOCKET ")"},
    {"--json", "print the result as JSON (also after the command)"},
};
static const char file_note[] = "A FILE of \"-\" is standard input.";
static const char warn_note[] =
    "A warning kipd gives with a result, such as which mail readers cannot "
    "decrypt a contact's mail (contact add, show and update, cert import), "
    "is printed as a line \"warning: ...\" on standard error after the "
    "result; with --json it stays in the result's \"warnings\" array. "
    "Warnings do not change the exit status.";
static const char exit_note[] = "Exit status: 0 ok, 1 refused by kipd,\n"
				"2 usage error, 3 cannot connect or protocol "
				"error.";

static int is_option(const struct arg *a)
{
	return a->name[0] == '-';
}

/* --- usage -------------------------------------------------------------- */

/* "PLAN", "--how HOW" or "[--date DATE]": an option's placeholder is its
 * name in capitals, or what its type takes. */
static void arg_synopsis(char *out, size_t size, const struct arg *a)
{
	static const char *const meta[] = {
	    [T_FILE] = "FILE",	[T_LIST] = "ID,...", [T_STRLIST] = "NAME,...",
	    [T_LOCAL] = "PATH", [T_BOOL] = "",
	};
	const char *m = meta[a->type] ? meta[a->type] : a->name + 2;
	char *p;

	if (!is_option(a)) {
		snprintf(out, size, a->required ? "%s" : "[%s]", a->name);
		return;
	}
	if (a->type == T_BOOL) {
		snprintf(out, size, a->required ? "%s" : "[%s]", a->name);
		return;
	}
	snprintf(out, size, a->required ? "%s %s" : "[%s %s]", a->name, m);
	for (p = out + strlen(a->name) + 1; !meta[a->type] && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

/* The command's words and arguments after LEAD, wrapped at WRAP columns
 * with continuation lines indented by INDENT. */
static void print_synopsis(FILE *out, const struct command *c, const char *lead,
			   int indent)
{
	size_t col = strlen(lead) + strlen(c->words);
	const struct arg *a;
	char tok[64];

	fprintf(out, "%s%s", lead, c->words);
	for (a = c->args; a->name; a++) {
		arg_synopsis(tok, sizeof(tok), a);
		if (col + 1 + strlen(tok) > WRAP)
			col = (size_t)fprintf(out, "\n%*s%s", indent, "", tok) -
			      1;
		else
			col += (size_t)fprintf(out, " %s", tok);
	}
	fputc('\n', out);
}

/* How many leading words of WORDS argv has, up to all of them; *ret_all
 * says whether it had all. */
static int match_words(const char *words, char **argv, int argc, int *ret_all)
{
	int n = 0;

	for (;;) {
		size_t len = strcspn(words, " ");

		if (n >= argc || strlen(argv[n]) != len ||
		    strncmp(argv[n], words, len) != 0) {
			*ret_all = 0;
			return n;
		}
		n++;
		words += len;
		if (*words == '\0') {
			*ret_all = 1;
			return n;
		}
		words++;
	}
}

/* S and a line end; each '\n' in S starts a line indented by INDENT. */
static void put_wrapped(FILE *out, const char *s, int indent)
{
	for (; *s; s++)
		if (*s == '\n')
			fprintf(out, "\n%*s", indent, "");
		else
			fputc(*s, out);
	fputc('\n', out);
}

/* The commands whose words begin with the NPREFIX words of PREFIX (all
 * commands when NPREFIX is 0), then the global options. */
static void usage(FILE *out, char **prefix, int nprefix)
{
	size_t i, n = 0;
	int all;

	for (i = 0; i < NCOMMANDS; i++)
		if (match_words(commands[i].words, prefix, nprefix, &all) >=
		    nprefix)
			n++;
	if (n == 0)
		nprefix = 0; /* nothing begins so: list them all */
	fputs("usage: " SYNOPSIS "\n\ncommands:\n", out);
	for (i = 0; i < NCOMMANDS; i++) {
		if (nprefix && match_words(commands[i].words, prefix, nprefix,
					   &all) < nprefix)
			continue;
		print_synopsis(out, &commands[i], "  ", 6);
		fprintf(out, "        %s\n", commands[i].help);
	}
	fputs("\noptions:\n", out);
	for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
		fprintf(out, "  %-9s  ", globals[i][0]);
		put_wrapped(out, globals[i][1], 13);
	}
	fprintf(out, "\n%s ", file_note);
	put_wrapped(out, exit_note, 0);
}

/* Prints "kipctl: WORDS: message" and the command's synopsis; returns
 * EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) static int
usage_error(const struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kipctl: %s: ", x->cmd->words);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_synopsis(stderr, x->cmd, "usage: kipctl ", 8);
	return EXIT_USAGE;
}

/* --- argument values ---------------------------------------------------- */

static int parse_int(const char *s, json_int_t *ret)
{
	char *end;
	long long v;

	if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '+'))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -errno;
	if (end == s || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

static json_t *file_value(const struct arg *a, const char *path)
{
	struct buf b = BUF_INIT;
	json_t *v = NULL;
	int r = edit_read_file(path, 0, &b);

	if (r == -EFBIG)
		fprintf(stderr, "kipctl: %s: %s is larger than %u MiB\n",
			a->name, path, EDIT_FILE_MAX >> 20);
	else if (r < 0)
		fprintf(stderr, "kipctl: %s: cannot read %s: %s\n", a->name,
			path, strerror(-r));
	else if (!(v = json_stringn(b.data ? b.data : "", b.len)))
		fprintf(stderr, "kipctl: %s: %s is not valid UTF-8 text\n",
			a->name, path);
	buf_free(&b);
	return v;
}

/* Comma-separated items as an array: integers for T_LIST, strings (spaces
 * around each trimmed) for T_STRLIST. An empty value is an empty array. */
static json_t *list_value(const struct ctx *x, const struct arg *a,
			  const char *val)
{
	json_t *arr = json_array();
	const char *s = val;
	char num[32];

	while (arr && *s) {
		size_t len = strcspn(s, ",");
		const char *p = s;
		json_int_t n;
		json_t *v = NULL;

		while (a->type == T_STRLIST && len && *p == ' ')
			p++, len--;
		while (a->type == T_STRLIST && len && p[len - 1] == ' ')
			len--;
		if (len == 0)
			goto bad;
		if (a->type == T_STRLIST)
			v = json_stringn(p, len);
		else if (len < sizeof(num)) {
			memcpy(num, p, len);
			num[len] = '\0';
			if (parse_int(num, &n) == 0)
				v = json_integer(n);
		}
		if (!v || json_array_append_new(arr, v) < 0)
			goto bad;
		s += strcspn(s, ",");
		if (*s == ',' && *++s == '\0')
			goto bad;
	}
	return arr;
bad:
	json_decref(arr);
	usage_error(x, "%s: '%s' is not a list of %s", a->name, val,
		    a->type == T_LIST ? "comma-separated integers"
				      : "comma-separated names");
	return NULL;
}

/* The JSON value of VAL for A, or NULL after saying what is wrong. */
static json_t *arg_value(const struct ctx *x, const struct arg *a,
			 const char *val)
{
	json_int_t n;
	json_t *v;
	int r;

	switch (a->type) {
	case T_INT:
		r = parse_int(val, &n);
		if (r < 0) {
			usage_error(x, "%s: '%s' is %s", a->name, val,
				    r == -ERANGE ? "out of range"
						 : "not an integer");
			return NULL;
		}
		return json_integer(n);
	case T_FILE:
		return file_value(a, val);
	case T_LIST:
	case T_STRLIST:
		return list_value(x, a, val);
	default:
		v = json_string(val);
		if (!v)
			usage_error(x, "%s: not valid UTF-8", a->name);
		return v;
	}
}

static int set_arg(struct ctx *x, const struct arg *a, const char *val)
{
	json_t *into = a->type == T_LOCAL ? x->local : x->args;
	json_t *v;

	if (json_object_get(into, a->key))
		return usage_error(x, "%s given twice", a->name);
	v = arg_value(x, a, val);
	if (!v)
		return EXIT_USAGE;
	json_object_set_new(into, a->key, v);
	return EXIT_OK;
}

/* --- the command line --------------------------------------------------- */

static const struct arg *find_option(const struct command *c, const char *s,
				     size_t len)
{
	const struct arg *a;

	for (a = c->args; a->name; a++)
		if (is_option(a) && strlen(a->name) == len &&
		    strncmp(a->name, s, len) == 0)
			return a;
	return NULL;
}

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]; advances *i past it. */
static int parse_option(struct ctx *x, char **argv, int argc, int *i)
{
	const char *s = argv[*i], *eq = strchr(s, '=');
	size_t len = eq ? (size_t)(eq - s) : strlen(s);
	const struct arg *a = find_option(x->cmd, s, len);

	if (!a)
		return usage_error(x, "unknown option %.*s", (int)len, s);
	if (a->type == T_BOOL) {
		if (eq)
			return usage_error(x, "%s takes no value", a->name);
		if (json_object_get(x->args, a->key))
			return usage_error(x, "%s given twice", a->name);
		json_object_set_new(x->args, a->key, json_true());
		return EXIT_OK;
	}
	if (eq)
		return set_arg(x, a, eq + 1);
	if (*i + 1 >= argc)
		return usage_error(x, "%s needs a value", a->name);
	return set_arg(x, a, argv[++*i]);
}

static int parse_positional(struct ctx *x, const char *s, int *npos)
{
	const struct arg *a;
	int n = 0;

	for (a = x->cmd->args; a->name; a++)
		if (!is_option(a) && n++ == *npos) {
			++*npos;
			return set_arg(x, a, s);
		}
	return usage_error(x, "unexpected argument '%s'", s);
}

static int check_required(struct ctx *x)
{
	const struct arg *a;

	for (a = x->cmd->args; a->name; a++) {
		json_t *into = a->type == T_LOCAL ? x->local : x->args;

		if (a->required && !json_object_get(into, a->key))
			return usage_error(x, "missing %s%s",
					   is_option(a) ? "option " : "",
					   a->name);
	}
	return EXIT_OK;
}

/* The arguments after the command's words. */
static int parse_args(struct ctx *x, char **argv, int argc)
{
	int i, npos = 0, only_pos = 0, r = EXIT_OK;

	for (i = 0; i < argc && r == EXIT_OK; i++) {
		const char *s = argv[i];

		if (only_pos || s[0] != '-' || s[1] == '\0')
			r = parse_positional(x, s, &npos);
		else if (strcmp(s, "--") == 0)
			only_pos = 1;
		else if (strcmp(s, "--json") == 0)
			x->json = 1;
		else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			print_synopsis(stdout, x->cmd, "usage: kipctl ", 8);
			printf("  %s\n", x->cmd->help);
			r = EXIT_USAGE;
		} else if (s[1] == '-')
			r = parse_option(x, argv, argc, &i);
		else
			r = usage_error(x, "unknown option %s", s);
	}
	return r == EXIT_OK ? check_required(x) : r;
}

/* The row whose words argv begins with; otherwise says what is wrong,
 * lists the commands that begin as typed, and returns NULL. */
static const struct command *find_command(char **argv, int argc,
					  int *ret_nwords)
{
	const struct command *best = NULL;
	int i, n, all, most = 0, nbest = 0;

	for (i = 0; i < (int)NCOMMANDS; i++) {
		n = match_words(commands[i].words, argv, argc, &all);
		if (all && n > nbest) {
			best = &commands[i];
			nbest = n;
		}
		if (n > most)
			most = n;
	}
	if (best) {
		*ret_nwords = nbest;
		return best;
	}
	fputs(most < argc && argv[most][0] != '-'
		  ? "kipctl: unknown command '"
		  : "kipctl: incomplete command '",
	      stderr);
	for (i = 0; i < argc && i <= most && argv[i][0] != '-'; i++)
		fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
	fputs("'\n", stderr);
	usage(stderr, argv, most);
	return NULL;
}

/* Options before the command. Sets *ret_next to the command's index;
 * returns EXIT_OK to go on, or an exit status. */
static int parse_globals(struct ctx *x, char **argv, int argc, int *ret_next)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (s[0] != '-' || s[1] == '\0')
			break;
		if (strcmp(s, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(s, "--json") == 0)
			x->json = 1;
		else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			usage(stdout, NULL, 0);
			return EXIT_USAGE;
		} else if (strcmp(s, "-s") == 0) {
			if (++i == argc) {
				fputs("kipctl: -s needs a socket path\n",
				      stderr);
				return EXIT_USAGE;
			}
			x->socket = argv[i];
		} else if (strncmp(s, "-s", 2) == 0)
			x->socket = s + 2;
		else {
			fprintf(stderr,
				"kipctl: unknown option %s\n"
				"usage: kipctl [-s SOCKET] [--json] COMMAND "
				"[ARGS]; kipctl help lists the commands\n",
				s);
			return EXIT_USAGE;
		}
	}
	*ret_next = i;
	return EXIT_OK;
}

/* --- talking to kipd ---------------------------------------------------- */

static int connect_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "kipctl: cannot connect to %s: %s\n", path,
			strerror(ENAMETOOLONG));
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "kipctl: cannot connect to %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

__attribute__((format(printf, 2, 3))) static int
protocol_error(const struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kipctl: %s: protocol error: ", x->socket);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_CONNECT;
}

/* Checks a reply's envelope; see call(). */
static int take_reply(const struct ctx *x, const char *data, size_t len,
		      json_t **ret_result, json_t **ret_error)
{
	json_error_t jerr;
	json_t *reply = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *kip = json_object_get(reply, "kip");
	json_t *ok = json_object_get(reply, "ok");
	json_t *part =
	    json_object_get(reply, json_is_true(ok) ? "result" : "error");
	int r = EXIT_OK;

	if (!json_is_object(reply))
		r = protocol_error(x, "the reply is not a JSON object (%s)",
				   reply ? "other JSON" : jerr.text);
	else if (!json_is_integer(kip) ||
		 json_integer_value(kip) != KIP_PROTO_VERSION)
		r = protocol_error(x, "the reply is not of protocol version %d",
				   KIP_PROTO_VERSION);
	else if (!json_is_boolean(ok) || !part)
		r = protocol_error(x, "the reply has no \"ok\" with a result "
				      "or error");
	else if (!json_is_true(ok) &&
		 (!json_is_string(json_object_get(part, "code")) ||
		  !json_is_string(json_object_get(part, "message"))))
		r = protocol_error(x,
				   "the error reply has no code and message");
	if (r == EXIT_OK) {
		r = json_is_true(ok) ? EXIT_OK : EXIT_DAEMON;
		*(r == EXIT_OK ? ret_result : ret_error) = json_incref(part);
	}
	json_decref(reply);
	return r;
}

/* Sends CMD with ARGS on a fresh connection and reads the one reply.
 * Returns EXIT_OK with *ret_result set (a reference for the caller),
 * EXIT_DAEMON with *ret_error set (the reply's error object, the caller's
 * to report and release), or EXIT_CONNECT after saying what went wrong.
 * One connection per request: `plan edit` waits on an editor between its
 * requests, longer than kipd waits for a request. */
static int call(const struct ctx *x, const char *cmd, json_t *args,
		json_t **ret_result, json_t **ret_error)
{
	json_t *req = json_pack("{s:i, s:s, s:O}", "kip", KIP_PROTO_VERSION,
				"cmd", cmd, "args", args);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	char *reply = NULL;
	size_t len;
	int fd = -1, r, w;

	json_decref(req);
	if (!text) {
		fputs("kipctl: out of memory\n", stderr);
		return EXIT_CONNECT;
	}
	fd = connect_socket(x->socket);
	if (fd < 0) {
		free(text);
		return EXIT_CONNECT;
	}
	w = proto_write_frame(fd, text, strlen(text));
	explicit_bzero(text, strlen(text)); /* CPR numbers, plan text */
	free(text);
	/* kipd answers a request that is too large before it closes, so a
	 * failed write may still have a reply waiting. */
	r = proto_read_frame(fd, KIP_REPLY_MAX, &reply, &len);
	close(fd);
	if (r < 0 && w < 0)
		r = w;
	if (r == -ECONNRESET)
		r = protocol_error(
		    x, "kipd closed the connection without a reply");
	else if (r == -EMSGSIZE)
		r = protocol_error(x, "the reply is larger than %u MiB",
				   KIP_REPLY_MAX >> 20);
	else if (r < 0)
		r = protocol_error(x, "%s", strerror(-r));
	else
		r = take_reply(x, reply, len, ret_result, ret_error);
	if (reply)
		explicit_bzero(reply, len);
	free(reply);
	return r;
}

/* "kipctl: <message> [<code>]"; releases ERR; returns EXIT_DAEMON. */
static int report_error(json_t *err)
{
	fputs("kipctl: ", stderr);
	format_clean(stderr,
		     json_string_value(json_object_get(err, "message")));
	fputs(" [", stderr);
	format_clean(stderr, json_string_value(json_object_get(err, "code")));
	fputs("]\n", stderr);
	json_decref(err);
	return EXIT_DAEMON;
}

static int is_code(const json_t *err, const char *code)
{
	const char *s = json_string_value(json_object_get(err, "code"));

	return s && strcmp(s, code) == 0;
}

static int flush_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return EXIT_OK;
	fprintf(stderr, "kipctl: cannot write the output: %s\n",
		strerror(errno));
	return EXIT_DAEMON;
}

/* Each string of WARNINGS as a line "warning: ..." on standard error. */
static void put_warnings(const json_t *warnings)
{
	const json_t *w;
	size_t i;

	json_array_foreach(warnings, i, w)
	{
		if (!json_is_string(w))
			continue;
		fputs("warning: ", stderr);
		format_clean(stderr, json_string_value(w));
		fputc('\n', stderr);
	}
}

/* Shows a result and releases it: JSON with --json, a "text" member as it
 * is (documents), anything else through the generic formatter. Without
 * --json, the result's "warnings" go to standard error, after it. */
static int show(const struct ctx *x, json_t *result)
{
	json_t *text = json_object_get(result, "text");
	json_t *warnings = NULL;
	int r;

	if (!x->json && json_is_array(json_object_get(result, "warnings"))) {
		warnings = json_incref(json_object_get(result, "warnings"));
		json_object_del(result, "warnings");
	}
	if (x->json)
		format_json(stdout, result);
	else if (json_is_string(text))
		format_text(stdout, json_string_value(text),
			    json_string_length(text));
	else
		format_result(stdout, result);
	json_decref(result);
	r = flush_stdout();
	put_warnings(warnings);
	json_decref(warnings);
	return r;
}

/* --- handlers ----------------------------------------------------------- */

/* call(), reporting a refusal itself. */
static int request(const struct ctx *x, const char *cmd, json_t *args,
		   json_t **ret_result)
{
	json_t *err = NULL;
	int r = call(x, cmd, args, ret_result, &err);

	return r == EXIT_DAEMON ? report_error(err) : r;
}

/* The result's "text" (borrowed from RESULT) or NULL after saying so. */
static json_t *result_text(const struct ctx *x, json_t *result)
{
	json_t *text = json_object_get(result, "text");

	if (json_is_string(text))
		return text;
	protocol_error(x, "the result has no \"text\"");
	return NULL;
}

static int run_generic(struct ctx *x)
{
	json_t *result = NULL;
	int r = request(x, x->cmd->cmd, x->args, &result);

	return r == EXIT_OK ? show(x, result) : r;
}

/* A PDF reply's "base64" decoded into *out (caller frees). */
static int decode_pdf(const char *b64, size_t len, unsigned char **out,
		      size_t *n)
{
	int k;

	*out = malloc(len / 4 * 3 + 1);
	if (!*out || len % 4 || len > (size_t)INT32_MAX)
		return -1;
	k = EVP_DecodeBlock(*out, (const unsigned char *)b64, (int)len);
	if (k < 0)
		return -1;
	*n = (size_t)k;
	while (len && b64[--len] == '=')
		(*n)--;
	return 0;
}

/* plan render and plan export: with --output the document goes to that
 * file; a PDF (base64 in the reply) is written as its bytes, to the file
 * or to standard output. */
static int run_export(struct ctx *x)
{
	const char *path =
	    json_string_value(json_object_get(x->local, "output"));
	json_t *result = NULL, *text, *b64;
	unsigned char *pdf = NULL;
	size_t n = 0;
	int r;

	if (!path && !x->json &&
	    strcmp(json_string_value(json_object_get(x->args, "format")) ?: "",
		   "pdf") != 0)
		return run_generic(x);
	if (x->json && !path)
		return run_generic(x);
	r = request(x, x->cmd->cmd, x->args, &result);
	if (r != EXIT_OK) {
		json_decref(result);
		return r;
	}
	b64 = json_object_get(result, "base64");
	if (json_is_string(b64)) {
		if (decode_pdf(json_string_value(b64), json_string_length(b64),
			       &pdf, &n) < 0) {
			protocol_error(x, "the PDF is not base64");
			r = EXIT_CONNECT;
		} else if (!path) {
			(void)fwrite(pdf, 1, n, stdout);
			r = flush_stdout(); /* ferror() tells a short write */
		} else if ((r = edit_write_private(path, (const char *)pdf,
						   n)) < 0) {
			fprintf(stderr, "kipctl: cannot write %s: %s\n", path,
				r == -EINVAL ? "not a regular file"
					     : strerror(-r));
			r = EXIT_DAEMON;
		}
	} else if (!(text = result_text(x, result)))
		r = EXIT_CONNECT;
	else if ((r = edit_write_private(path, json_string_value(text),
					 json_string_length(text))) < 0) {
		fprintf(stderr, "kipctl: cannot write %s: %s\n", path,
			r == -EINVAL ? "not a regular file" : strerror(-r));
		r = EXIT_DAEMON;
	}
	free(pdf);
	json_decref(result);
	return r;
}

/* The document to start editing from: the latest version, or the Danish
 * template when the plan has none yet. Sets *ret_result, whose "text" it
 * is. */
static int fetch_for_edit(struct ctx *x, json_t **ret_result)
{
	json_t *plan =
	    json_pack("{s:O}", "plan", json_object_get(x->args, "plan"));
	json_t *lang = json_pack("{s:s}", "lang", "da");
	json_t *result = NULL, *err = NULL;
	int r = call(x, "plan.export", plan, &result, &err);

	/* not_found means no version, or no plan: plan.show tells which. */
	if (r == EXIT_DAEMON && is_code(err, "not_found")) {
		json_decref(err);
		r = request(x, "plan.show", plan, &result);
		json_decref(result);
		result = NULL;
		if (r == EXIT_OK)
			r = request(x, "plan.template", lang, &result);
	} else if (r == EXIT_DAEMON)
		r = report_error(err);
	json_decref(plan);
	json_decref(lang);
	if (r == EXIT_OK && !result_text(x, result)) {
		json_decref(result);
		return EXIT_CONNECT;
	}
	*ret_result = result;
	return r;
}

/* Stores the edited document as a new version. */
static int store_edited(struct ctx *x, const struct buf *doc)
{
	json_t *v = json_stringn(doc->data ? doc->data : "", doc->len);
	json_t *result = NULL;
	int r;

	if (!v) {
		fputs("kipctl: the edited plan is not valid UTF-8 text\n",
		      stderr);
		return EXIT_DAEMON;
	}
	json_object_set_new(x->args, "document", v);
	r = request(x, x->cmd->cmd, x->args, &result);
	if (r != EXIT_OK)
		return r;
	v = json_object_get(result, "version");
	if (x->json || !json_is_integer(v))
		return show(x, result);
	printf("stored as version %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(v));
	json_decref(result);
	return flush_stdout();
}

/* plan edit: export, edit (edit.c), store as a new version. Whatever goes
 * wrong after the editor ran, the edit stays in the file and we say where. */
static int run_edit(struct ctx *x)
{
	struct edit e = EDIT_INIT;
	json_t *start = NULL, *text;
	int r = fetch_for_edit(x, &start);

	if (r != EXIT_OK)
		return r;
	text = json_object_get(start, "text");
	r = edit_in_editor(&e, json_string_value(text),
			   json_string_length(text));
	if (r < 0)
		r = EXIT_DAEMON;
	else if (r == 0) {
		puts("no change; nothing stored");
		r = flush_stdout();
	} else
		r = store_edited(x, &e.doc);
	edit_done(&e, r != EXIT_OK);
	json_decref(start);
	return r;
}

/* --- the manual page (kipctl --man) ------------------------------------ */

/* kipctl(1), from the command table and the texts of usage(). */
static void man_page(FILE *out)
{
	const struct command *c;
	const struct arg *a;
	char tok[64];
	size_t i;

	roff_head(out, "kipctl", "1", "User Commands",
		  "the command-line client of kipd");
	roff_section(out, "SYNOPSIS");
	roff_line(out, SYNOPSIS);
	roff_section(out, "DESCRIPTION");
	roff_para(out, "kipctl sends one command to kipd(8) over its control "
		       "socket and prints the answer, readable or, with "
		       "--json, as JSON. kipd decides who the caller is (from "
		       "the kernel) and what the caller may do (the users of "
		       "kipd.conf(5)); kipctl checks only the shape of what is "
		       "typed. kipctl help [WORDS] lists the commands that "
		       "begin with WORDS; COMMAND --help shows one.");
	roff_para(out, file_note);
	roff_para(out, warn_note);
	roff_section(out, "OPTIONS");
	for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
		roff_item(out, globals[i][0], globals[i][1]);
	roff_section(out, "COMMANDS");
	for (c = commands; c < commands + NCOMMANDS; c++) {
		fputs(".TP\n", out);
		roff_font(out, 'B', c->words);
		for (a = c->args; a->name; a++) {
			arg_synopsis(tok, sizeof(tok), a);
			fputc(' ', out);
			roff_word(out, tok);
		}
		fputc('\n', out);
		roff_line(out, c->help);
	}
	roff_section(out, "EXIT STATUS");
	roff_line(out, exit_note);
	roff_section(out, "SEE ALSO");
	roff_line(out, "kipd(8), kipd.conf(5)");
}

/* --- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct ctx x = {0};
	int i = 1, nwords = 0, r;

	/* A write to a closed socket or pipe is an error to report. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "--man") == 0) {
		man_page(stdout);
		return flush_stdout();
	}
	x.socket = getenv("KIP_SOCKET");
	if (!x.socket || !*x.socket)
		x.socket = DEFAULT_SOCKET;
	r = parse_globals(&x, argv, argc, &i);
	if (r != EXIT_OK)
		return r;
	if (i == argc || strcmp(argv[i], "help") == 0) {
		if (i == argc)
			fputs("kipctl: no command given\n", stderr);
		usage(i == argc ? stderr : stdout, argv + i + 1,
		      i == argc ? 0 : argc - i - 1);
		return EXIT_USAGE;
	}
	x.cmd = find_command(argv + i, argc - i, &nwords);
	if (!x.cmd)
		return EXIT_USAGE;
	x.args = json_object();
	x.local = json_object();
	if (!x.args || !x.local) {
		fputs("kipctl: out of memory\n", stderr);
		r = EXIT_CONNECT;
	} else
		r = parse_args(&x, argv + i + nwords, argc - i - nwords);
	if (r == EXIT_OK)
		r = x.cmd->run ? x.cmd->run(&x) : run_generic(&x);
	json_decref(x.args);
	json_decref(x.local);
	return r;
}
