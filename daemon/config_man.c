/* config_man.c — the man page kipd.conf(5), from the table and the example.
 *
 * What each key takes (type, bounds, choices, default) comes from the
 * option table (config_table.h); what it is for comes from the comment
 * above it in conf/kipd.conf, the commented example of every key. Each
 * exists once, so the page cannot drift from either. Where the two
 * disagree (a key only one of them has, a key without a comment, a value
 * shown that is not the default) the page is refused, and with it the
 * build.
 *
 * The example's layout: "# text" lines are a comment, which describes the
 * keys that follow it up to the next comment or blank line; "key = value;"
 * shows a key at its default; "#key = value;" ('#' right before the key)
 * an unset key with an example value; "name = {" opens a group, and the
 * comment before it introduces the group; "key = (" a list, whose lines
 * up to ");" are examples. The comment at the top, up to the first blank
 * line, is the page's description, its first line "kipd.conf — summary"
 * the page's name. In a comment, a line indented by more than one space
 * (an example, a list) is kept as it is.
 */
#include "config.h"
#include "config_table.h"
#include "roff.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_MAX 8 /* keys one comment may describe */

enum line_kind {
	L_BLANK,
	L_COMMENT,
	L_KEY,	     /* key = default; */
	L_UNSET_KEY, /* #key = example; */
	L_LIST,	     /* key = ( */
	L_GROUP,     /* name = { */
	L_END,	     /* }; */
	L_OTHER,
};

struct example {
	FILE *out;
	const char *path;
	char *text;   /* the example, its line ends made NULs */
	char **lines; /* where each line starts in it */
	size_t n;
	size_t line;	      /* the line being read, from 0 */
	char group[32];	      /* the open group; "" at the top level */
	bool settings;	      /* the SETTINGS section has begun */
	size_t block, nblock; /* the comment: lines[block .. block + nblock) */
	const struct config_option *keys[KEYS_MAX]; /* what it describes */
	const char *examples[KEYS_MAX]; /* their values, when unset keys */
	size_t nkeys;
	size_t keys_line;   /* where the first of them is */
	size_t list, nlist; /* a list's example entries among them */
	bool *seen;	    /* per row of config_options */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int
example_err(const struct example *e, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!e->err || !e->errlen)
		return -EINVAL;
	n = snprintf(e->err, e->errlen, "%s:%zu: ", e->path, line + 1);
	if (n < 0 || (size_t)n >= e->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(e->err + n, e->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- reading the example ---- */

/* The example's text, split into lines in place. */
static int read_lines(struct example *e)
{
	FILE *f = fopen(e->path, "r");
	size_t size = 0, n = 1;
	ssize_t got;
	char *p, *nl;

	if (!f)
		return -errno;
	got = getdelim(&e->text, &size, '\0', f); /* the whole file */
	fclose(f);
	if (got < 0)
		return e->text ? 0 : -ENOMEM;
	for (p = e->text; *p; p++)
		n += *p == '\n';
	e->lines = calloc(n, sizeof(*e->lines));
	if (!e->lines)
		return -ENOMEM;
	for (p = e->text; p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p || nl)
			e->lines[e->n++] = p;
	}
	return 0;
}

/* "# text", "#" alone; not "#key = example;". */
static bool is_comment(const char *s)
{
	const char *p = s + strspn(s, " \t");

	return p[0] == '#' && !isalpha((unsigned char)p[1]);
}

/* What line s is. A key's name and value are cut out of s in place. */
static enum line_kind classify(char *s, char **ret_key, char **ret_value)
{
	char *p = s + strspn(s, " \t"), *key, *end;

	if (!*p)
		return L_BLANK;
	if (strncmp(p, "};", 2) == 0)
		return L_END;
	if (is_comment(p))
		return L_COMMENT;
	key = p + (p[0] == '#');
	end = key + strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_");
	p = end + strspn(end, " \t");
	if (end == key || *p != '=')
		return L_OTHER;
	*end = '\0';
	*ret_key = key;
	p += 1 + strspn(p + 1, " \t");
	*ret_value = p;
	if (*p == '{' || *p == '(')
		return *p == '{' ? L_GROUP : L_LIST;
	if (!(end = strchr(p, ';')))
		return L_OTHER;
	*end = '\0';
	return key[-1] == '#' ? L_UNSET_KEY : L_KEY;
}

/* The text of a comment line: after the '#' and one space. */
static const char *comment_text(const char *line)
{
	const char *p = line + strspn(line, " \t") + 1;

	return *p == ' ' ? p + 1 : p;
}

/* ---- writing the page ---- */

/* The comment lines[first .. first + n) as roff: filled text, para
 * between paragraphs, indented lines as they are. */
static void put_comment(const struct example *e, size_t first, size_t n,
			const char *para)
{
	bool verbatim = false;

	for (size_t i = first; i < first + n; i++) {
		const char *t = comment_text(e->lines[i]);
		bool indented = *t == ' ';

		if (!*t || indented != verbatim)
			fputs(verbatim	 ? ".fi\n"
			      : indented ? ".nf\n"
					 : "",
			      e->out);
		verbatim = *t && indented;
		if (*t)
			roff_line(e->out, t);
		else
			fputs(para, e->out);
	}
	if (verbatim)
		fputs(".fi\n", e->out);
}

/* The default as the example shows it (64, true, "kip"); NULL for none. */
static const char *default_text(const struct config_option *o, char *buf,
				size_t len)
{
	switch (o->type) {
	case OPT_INT:
		snprintf(buf, len, "%d", o->def_int);
		return buf;
	case OPT_BOOL:
		return o->def_int ? "true" : "false";
	case OPT_STRING:
	case OPT_ENUM:
		if (!o->def)
			return NULL;
		snprintf(buf, len, "\"%s\"", o->def);
		return buf;
	default:
		return NULL;
	}
}

/* What the key takes, from the table: "integer 1..1024", "one of ...". */
static void put_takes(FILE *out, const struct config_option *o)
{
	char buf[64];

	if (o->type == OPT_INT) {
		roff_font(out, 'I', "integer");
		snprintf(buf, sizeof(buf), " %d..%d", o->min, o->max);
		roff_text(out, buf);
	} else if (o->type == OPT_BOOL) {
		roff_font(out, 'B', "true");
		roff_text(out, " or ");
		roff_font(out, 'B', "false");
	} else if (o->type == OPT_SECRET) {
		roff_font(out, 'I', "file");
		roff_text(out, " (its first line is the secret)");
	} else if (OPT_IS_LIST(o)) {
		roff_font(out, 'I', "list");
		roff_text(out, " of groups");
	} else if (o->choices) {
		roff_text(out, "one of");
		for (const struct choice *c = o->choices; c->name; c++) {
			snprintf(buf, sizeof(buf), " \"%s\"%s", c->name,
				 c[1].name ? "," : "");
			roff_text(out, buf);
		}
	} else {
		roff_font(out, 'I', "string");
	}
}

/* ".TP" (".TQ" for a further key of the same comment) and the tag line:
 * the key, what it takes, its default or the example's value. */
static void put_tag(FILE *out, const struct config_option *o, bool first,
		    const char *example)
{
	char buf[160];
	const char *shown = default_text(o, buf, sizeof(buf));
	bool list = OPT_IS_LIST(o);

	fputs(first ? ".TP\n" : ".TQ\n", out);
	roff_font(out, 'B', o->name);
	roff_text(out, " = ");
	put_takes(out, o);
	roff_text(out, shown  ? ", default "
		       : list ? ", empty by default"
			      : ", unset by default");
	if (shown || example)
		roff_text(out, shown ? shown : ", e.g. ");
	if (example)
		roff_text(out, example);
	fputc('\n', out);
}

/* The example entries of a list, as "key = ( ... );" without their '#'. */
static void put_list_example(const struct example *e,
			     const struct config_option *o)
{
	size_t glen = config_group_len(o->name);

	fputs(".IP\nFor example:\n.nf\n", e->out);
	roff_text(e->out, o->name + (glen ? glen + 1 : 0));
	fputs(" = (\n", e->out);
	for (size_t i = e->list; i < e->list + e->nlist; i++) {
		const char *t = e->lines[i] + strspn(e->lines[i], " \t#");

		fputs("  ", e->out);
		roff_line(e->out, t);
	}
	fputs(");\n.fi\n", e->out);
}

static void begin_settings(struct example *e)
{
	if (!e->settings)
		roff_section(e->out, "SETTINGS");
	e->settings = true;
}

/* Writes the keys read since the comment, with the comment. */
static int flush_keys(struct example *e)
{
	if (!e->nkeys)
		return 0;
	if (!e->nblock)
		return example_err(e, e->keys_line,
				   "%s: no comment says what it is for",
				   e->keys[0]->name);
	begin_settings(e);
	if (!e->group[0])
		fprintf(e->out, ".SS \"%s\"\n", e->keys[0]->name);
	for (size_t i = 0; i < e->nkeys; i++)
		put_tag(e->out, e->keys[i], i == 0, e->examples[i]);
	put_comment(e, e->block, e->nblock, ".IP\n");
	if (e->nlist)
		put_list_example(e, e->keys[e->nkeys - 1]);
	e->nkeys = 0;
	e->nblock = 0;
	e->nlist = 0;
	return 0;
}

/* ---- keys against the table ---- */

static int find_option(const char *name)
{
	for (size_t i = 0; i < config_n_options; i++)
		if (strcmp(config_options[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Why the way the example shows o does not fit the table (def: o's
 * default as shown); NULL when it fits. */
static const char *shown_wrong(const struct config_option *o,
			       enum line_kind kind, const char *def)
{
	bool list = OPT_IS_LIST(o);

	if (list != (kind == L_LIST))
		return list ? "is a list: show it as key = ( ... );"
			    : "is not a list";
	if (kind == L_KEY && !def)
		return "is unset by default: show it as #key = example;";
	if (kind == L_UNSET_KEY && def)
		return "has a default: show it set to it, without the '#'";
	return NULL;
}

static int add_key(struct example *e, const char *key, const char *value,
		   enum line_kind kind)
{
	char name[96], buf[160];
	const char *def, *why;
	int i;

	snprintf(name, sizeof(name), "%s%s%s", e->group, e->group[0] ? "." : "",
		 key);
	i = find_option(name);
	if (i < 0)
		return example_err(e, e->line,
				   "%s is not a key of kipd's "
				   "(daemon/config.c)",
				   name);
	if (e->seen[i])
		return example_err(e, e->line, "%s is shown twice", name);
	e->seen[i] = true;
	def = default_text(&config_options[i], buf, sizeof(buf));
	why = shown_wrong(&config_options[i], kind, def);
	if (why)
		return example_err(e, e->line, "%s %s", name, why);
	if (kind == L_KEY && strcmp(def, value) != 0)
		return example_err(e, e->line,
				   "%s shows %s, but its default "
				   "is %s",
				   name, value, def);
	if (e->nkeys == KEYS_MAX)
		return example_err(e, e->line,
				   "%s: one comment for more than "
				   "%d keys",
				   name, KEYS_MAX);
	if (!e->nkeys)
		e->keys_line = e->line;
	e->examples[e->nkeys] = kind == L_UNSET_KEY ? value : NULL;
	e->keys[e->nkeys++] = &config_options[i];
	return 0;
}

/* A list's entries, up to its ");", are examples, not keys. */
static void skip_list(struct example *e)
{
	e->list = e->line + 1;
	while (e->line + 1 < e->n) {
		const char *t = e->lines[++e->line];

		if (strncmp(t + strspn(t, " \t"), ");", 2) == 0)
			break;
	}
	e->nlist = e->line - e->list;
}

static int open_group(struct example *e, const char *name)
{
	if (e->group[0])
		return example_err(e, e->line, "a group within a group");
	if (strlen(name) >= sizeof(e->group))
		return example_err(e, e->line, "%s: too long a name", name);
	begin_settings(e);
	fprintf(e->out, ".SS \"%s\"\n", name);
	put_comment(e, e->block, e->nblock, ".PP\n");
	e->nblock = 0;
	memcpy(e->group, name, strlen(name) + 1);
	return 0;
}

static int read_line(struct example *e)
{
	char *line = e->lines[e->line], *key = NULL, *value = NULL;
	enum line_kind kind = classify(line, &key, &value);
	int r = 0;

	if (kind == L_COMMENT) {
		r = flush_keys(e);
		if (!e->nblock)
			e->block = e->line;
		e->nblock++;
	} else if (kind == L_BLANK || kind == L_END || kind == L_GROUP) {
		r = flush_keys(e);
		e->nblock = 0;
		if (kind == L_END)
			e->group[0] = '\0';
		if (r == 0 && kind == L_GROUP)
			r = open_group(e, key);
	} else if (kind == L_OTHER) {
		r = example_err(e, e->line, "neither a comment nor a key");
	} else {
		r = add_key(e, key, value, kind);
		if (kind == L_LIST)
			skip_list(e);
	}
	return r;
}

/* ---- the page ---- */

/* NAME from the first line, "# kipd.conf — summary"; the description from
 * the comment it begins. Returns the line after that comment. */
static int put_head(struct example *e)
{
	const char *first = e->n ? e->lines[0] : "",
		   *dash = strstr(first, " — ");
	char summary[160];
	size_t n = 1, len;

	if (strncmp(first, "# kipd.conf", 11) != 0 || !dash)
		return example_err(e, 0,
				   "the first line must be "
				   "\"# kipd.conf — summary\"");
	snprintf(summary, sizeof(summary), "%s", dash + strlen(" — "));
	len = strlen(summary);
	if (len && summary[len - 1] == '.')
		summary[len - 1] = '\0';
	roff_head(e->out, "kipd.conf", "5", "File Formats", summary);
	roff_section(e->out, "SYNOPSIS");
	roff_line(e->out, KIP_DEFAULT_CONFIG);
	roff_section(e->out, "DESCRIPTION");
	while (n < e->n && is_comment(e->lines[n]))
		n++;
	put_comment(e, 1, n - 1, ".PP\n");
	e->line = n;
	return 0;
}

static int put_page(struct example *e)
{
	int r = put_head(e);

	for (; r == 0 && e->line < e->n; e->line++)
		r = read_line(e);
	if (r == 0)
		r = flush_keys(e);
	for (size_t i = 0; r == 0 && i < config_n_options; i++)
		if (!e->seen[i]) {
			snprintf(e->err, e->errlen,
				 "%s: %s is not shown; "
				 "every key of daemon/config.c is, with a "
				 "comment",
				 e->path, config_options[i].name);
			r = -EINVAL;
		}
	if (r == 0) {
		roff_section(e->out, "SEE ALSO");
		roff_line(e->out, "kipd(8), kipctl(1)");
	}
	return r;
}

int config_man(FILE *out, const char *example_path, char *err, size_t errlen)
{
	struct example e = {
	    .out = out, .path = example_path, .err = err, .errlen = errlen};
	int r = read_lines(&e);

	if (r < 0)
		snprintf(err, errlen, "%s: cannot read: %s", example_path,
			 strerror(-r));
	e.seen = calloc(config_n_options, sizeof(*e.seen));
	if (r == 0 && !e.seen) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	if (r == 0)
		r = put_page(&e);
	free(e.text);
	free(e.lines);
	free(e.seen);
	return r;
}
