/* config_print.c — the effective configuration, as a configuration file.
 *
 * kipd -n -v prints what kipd would run with: every key of the option
 * table (config_table.h), group by group, with its value after the
 * defaults and the file. An unset key is a comment, so that every key is
 * shown and the output still loads; a secret is shown as the path of its
 * file, never its content. The output loads back to the same configuration
 * (tests/unit/test_config.c, tests/integration/t_config.sh).
 */
#include "config.h"
#include "config_table.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char header[] =
    "# kipd's effective configuration: every key, with its value after\n"
    "# the defaults and the configuration file. An unset key is a\n"
    "# comment; a secret is shown as the file that holds it.\n";

static const void *cfield(const struct kip_config *cfg, size_t offset)
{
	return (const char *)cfg + offset;
}

/* s in double quotes, with libconfig's escapes for '"' and '\'. Control
 * characters cannot occur: loading refuses them. */
static void print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* One entry of a list, "{ key = "value"; ... }", leaving out the pairs
 * without a value; EXTRA (may be "") goes first, as it is. */
static void print_entry(FILE *out, const char *indent, const char *extra,
			const char *const kv[][2], size_t n, bool last)
{
	fprintf(out, "%s\t{%s", indent, extra);
	for (size_t i = 0; i < n; i++) {
		if (!kv[i][1])
			continue;
		fprintf(out, " %s = ", kv[i][0]);
		print_quoted(out, kv[i][1]);
		fputc(';', out);
	}
	fprintf(out, " }%s\n", last ? "" : ",");
}

static void print_users(FILE *out, const char *indent,
			const struct kip_config *cfg)
{
	for (size_t i = 0; i < cfg->n_users; i++) {
		const struct kip_user *u = &cfg->users[i];
		const char *const kv[][2] = {{"user", u->name},
					     {"role", role_name(u->role)},
					     {"contact", u->contact}};

		print_entry(out, indent, "", kv, 3, i + 1 == cfg->n_users);
	}
}

static void print_reporters(FILE *out, const char *indent,
			    const struct kip_config *cfg)
{
	for (size_t i = 0; i < cfg->n_reporters; i++) {
		const struct kip_reporter *r = &cfg->reporters[i];
		const char *const kv[][2] = {{"username", r->username},
					     {"contact", r->contact}};

		print_entry(out, indent, "", kv, 2, i + 1 == cfg->n_reporters);
	}
}

static void print_directories(FILE *out, const char *indent,
			      const struct kip_config *cfg)
{
	for (size_t i = 0; i < cfg->n_directories; i++) {
		const struct kip_directory *d = &cfg->directories[i];
		const char *const kv[][2] = {
		    {"uri", d->uri},
		    {"base", d->base},
		    {"bind_dn", d->bind_dn},
		    {"password_file", d->password_file},
		    {"ca_file", d->ca_file}};

		print_entry(out, indent, d->starttls ? " starttls = true;" : "",
			    kv, 5, i + 1 == cfg->n_directories);
	}
}

static const char *choice_name(const struct choice *c, int value)
{
	for (; c->name; c++)
		if (c->value == value)
			return c->name;
	return NULL;
}

/* The string an OPT_STRING, OPT_ENUM or OPT_SECRET option shows: its
 * value, its choice's name, its file's path; NULL when unset. */
static const char *shown_string(const struct kip_config *cfg,
				const struct config_option *o)
{
	const void *f = cfield(cfg, o->offset);

	if (o->type == OPT_ENUM)
		return choice_name(o->choices, *(const int *)f);
	if (o->type == OPT_SECRET)
		return *(char *const *)cfield(cfg, o->file_offset);
	return *(char *const *)f;
}

static void print_option(FILE *out, const char *indent,
			 const struct config_option *o,
			 const struct kip_config *cfg)
{
	size_t glen = config_group_len(o->name);
	const char *key = o->name + (glen ? glen + 1 : 0), *s;
	const void *f = cfield(cfg, o->offset);

	if (o->type == OPT_INT) {
		fprintf(out, "%s%s = %d;\n", indent, key, *(const int *)f);
	} else if (o->type == OPT_BOOL) {
		fprintf(out, "%s%s = %s;\n", indent, key,
			*(const bool *)f ? "true" : "false");
	} else if (OPT_IS_LIST(o)) {
		fprintf(out, "%s%s = (\n", indent, key);
		if (o->type == OPT_USERS)
			print_users(out, indent, cfg);
		else if (o->type == OPT_REPORTERS)
			print_reporters(out, indent, cfg);
		else
			print_directories(out, indent, cfg);
		fprintf(out, "%s);\n", indent);
	} else if ((s = shown_string(cfg, o))) {
		fprintf(out, "%s%s = ", indent, key);
		print_quoted(out, s);
		fputs(";\n", out);
	} else {
		fprintf(out, "%s# %s: unset\n", indent, key);
	}
}

/* Whether option i is in the group of len bytes at name. */
static bool in_group(size_t i, const char *name, size_t len)
{
	const char *other = config_options[i].name;

	return config_group_len(other) == len && strncmp(other, name, len) == 0;
}

/* The group of option first, with all its keys wherever they stand in the
 * table. */
static void print_group(FILE *out, const struct kip_config *cfg, size_t first)
{
	const char *name = config_options[first].name;
	size_t len = config_group_len(name);

	fprintf(out, "%.*s = {\n", (int)len, name);
	for (size_t i = first; i < config_n_options; i++)
		if (in_group(i, name, len))
			print_option(out, "\t", &config_options[i], cfg);
	fputs("};\n", out);
}

int config_print(FILE *out, const struct kip_config *cfg)
{
	fputs(header, out);
	for (size_t i = 0; i < config_n_options; i++) {
		const char *name = config_options[i].name;
		size_t len = config_group_len(name);
		bool seen = false;

		for (size_t j = 0; len && j < i; j++)
			seen |= in_group(j, name, len);
		if (!len)
			print_option(out, "", &config_options[i], cfg);
		else if (!seen)
			print_group(out, cfg, i);
	}
	return ferror(out) ? -EIO : 0;
}
