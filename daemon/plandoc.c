/* plandoc.c — the plan document (sections 2–5 of the template) as YAML.
 *
 * The parser pulls libyaml events and walks the one fixed shape described in
 * plandoc.h; it never descends into anything it does not expect, so the
 * first unexpected event ends the parse with a "line N: ..." message. The
 * input is outside input (an editor, a mail): it is checked for size, NUL
 * bytes and UTF-8 before libyaml sees it, every scalar is checked again
 * (double-quoted escapes can produce NUL and control characters), aliases
 * and anchors are refused, and lists are capped.
 *
 * The blank template (plandoc_template()) is in plandoc_template.c.
 */
#include "plandoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"

#define PLANDOC_MAX_SIZE (1024u * 1024u)
#define PLANDOC_MAX_ITEMS 100

const struct plandoc_kind plandoc_kinds[PLANDOC_EXISTING] = {
    {"drug_treatment",
     "Behandlingsplan(er) for stofmisbrug (Serviceloven § 141, "
     "sundhedsloven § 142)",
     "Treatment plan(s) for drug abuse (Social Services Act § 141, "
     "Health Act § 142)"},
    {"alcohol_treatment", "Behandlingsplan for alkoholafhængighed",
     "Treatment plan for alcohol dependence"},
    {"psychiatric_treatment",
     "Psykiatrisk behandlingsplan (Psykiatriloven § 3 stk. 3)",
     "Psychiatric treatment plan (Mental Health Act § 3(3))"},
    {"discharge_agreement", "Udskrivningsaftale (Psykiatriloven § 13 a)",
     "Discharge agreement (Mental Health Act § 13 a)"},
    {"coordination_plan", "Koordinationsplan (Psykiatriloven § 13 b)",
     "Coordination plan (Mental Health Act § 13 b)"},
    {"social_action_plan", "Social handleplan (Serviceloven § 141)",
     "Social action plan (Social Services Act § 141)"},
    {"education_job_plan", "Uddannelsesplan eller jobplan",
     "Education or job plan"},
    {"other", "Andet", "Other"},
};

/* ---- input checks ------------------------------------------------------ */

/* Returns the offset of the first byte that does not start a valid UTF-8
 * sequence (overlong forms, surrogates and values above U+10FFFF are
 * invalid), or len when all of s is valid. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4, cp = s[i] & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (len - i < n)
			return i;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n;
	}
	return len;
}

/* 0-based line of byte offset off in text. */
static size_t line_of(const char *text, size_t len, size_t off)
{
	size_t line = 0, i;

	for (i = 0; i < off && i < len; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* Copies at most 40 bytes of s into dst for an error message, replacing
 * control characters and never cutting a UTF-8 sequence in half. */
static void quote_short(char *dst, size_t n, const char *s)
{
	size_t i = 0, o = 0, step;

	while (s[i] && o + 4 < n && i < 40) {
		step = 1;
		if ((unsigned char)s[i] >= 0xc0)
			while ((s[i + step] & 0xc0) == 0x80)
				step++;
		if (i + step > 40 || o + step + 4 >= n)
			break;
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			dst[o++] = '?';
		} else {
			memcpy(dst + o, s + i, step);
			o += step;
		}
		i += step;
	}
	if (s[i] && o + 4 <= n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* ---- the event reader ---------------------------------------------------- */

struct pctx {
	yaml_parser_t parser;
	yaml_event_t ev; /* the current event */
	bool have_ev;
	const char *text;
	size_t len;
	char *err;
	size_t errlen;
};

/* Writes "line N: <message>" (line0 0-based) and returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int
fail(struct pctx *c, size_t line0, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || !c->errlen)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "line %zu: ", line0 + 1);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static size_t ev_line(const struct pctx *c)
{
	return c->ev.start_mark.line;
}

static const char *ev_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return "text";
	case YAML_SEQUENCE_START_EVENT:
		return "list";
	case YAML_MAPPING_START_EVENT:
		return "mapping";
	default:
		return "end of a block";
	}
}

static int syntax_error(struct pctx *c)
{
	const yaml_parser_t *p = &c->parser;
	size_t line = p->problem_mark.line;

	if (p->error == YAML_MEMORY_ERROR) {
		fail(c, line, "out of memory");
		return -ENOMEM;
	}
	if (p->error == YAML_READER_ERROR)
		line = line_of(c->text, c->len, p->problem_offset);
	if (p->context && p->context_mark.line != line)
		/* e.g. an unclosed quote: say where it was opened */
		return fail(c, line, "YAML syntax error: %s %s from line %zu",
			    p->problem ? p->problem : "unknown problem",
			    p->context, p->context_mark.line + 1);
	return fail(c, line, "YAML syntax error: %s%s%s",
		    p->problem ? p->problem : "unknown problem",
		    p->context ? " " : "", p->context ? p->context : "");
}

/* Checks a scalar's bytes: libyaml decodes escapes such as "\0" or "\e"
 * in double-quoted scalars, so the input check alone is not enough. Tab and
 * newline are the only control characters a plan text needs. */
static int check_scalar(struct pctx *c)
{
	const unsigned char *v = c->ev.data.scalar.value;
	size_t len = c->ev.data.scalar.length, i;

	for (i = 0; i < len; i++) {
		if (v[i] == '\0')
			return fail(c, ev_line(c), "NUL character in text");
		if ((v[i] < 0x20 && v[i] != '\t' && v[i] != '\n') ||
		    v[i] == 0x7f)
			return fail(c, ev_line(c), "control character in text");
	}
	if (utf8_check(v, len) != len)
		return fail(c, ev_line(c), "invalid UTF-8 in text");
	return 0;
}

/* Moves to the next event. Refuses aliases and anchors: the document is a
 * tree, and aliases are the classic way to make a small input expand. */
static int next(struct pctx *c)
{
	const yaml_char_t *anchor = NULL;

	if (c->have_ev) {
		yaml_event_delete(&c->ev);
		c->have_ev = false;
	}
	if (!yaml_parser_parse(&c->parser, &c->ev))
		return syntax_error(c);
	c->have_ev = true;
	switch (c->ev.type) {
	case YAML_ALIAS_EVENT:
		return fail(c, ev_line(c), "aliases are not allowed");
	case YAML_SCALAR_EVENT:
		anchor = c->ev.data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = c->ev.data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = c->ev.data.mapping_start.anchor;
		break;
	default:
		break;
	}
	if (anchor)
		return fail(c, ev_line(c),
			    "anchors are not allowed "
			    "(aliases are not allowed)");
	return c->ev.type == YAML_SCALAR_EVENT ? check_scalar(c) : 0;
}

/* An empty value, "~" or "null" written plainly means "absent". */
static bool ev_is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->type != YAML_SCALAR_EVENT)
		return false;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return ev->data.scalar.length == 0;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* The current event must be a text: stores a copy without trailing white
 * space in *out, or NULL when it is absent or blank. */
static int take_string(struct pctx *c, const char *path, char **out)
{
	size_t len;
	char *s;

	if (c->ev.type != YAML_SCALAR_EVENT)
		return fail(c, ev_line(c), "%s must be a text, not a %s", path,
			    ev_kind(&c->ev));
	len = c->ev.data.scalar.length;
	while (len && (c->ev.data.scalar.value[len - 1] == ' ' ||
		       c->ev.data.scalar.value[len - 1] == '\t' ||
		       c->ev.data.scalar.value[len - 1] == '\n'))
		len--;
	if (ev_is_null(&c->ev) || len == 0)
		return 0;
	s = malloc(len + 1);
	if (!s) {
		fail(c, ev_line(c), "out of memory");
		return -ENOMEM;
	}
	memcpy(s, c->ev.data.scalar.value, len);
	s[len] = '\0';
	free(*out);
	*out = s;
	return 0;
}

/* The current event must start a mapping or a list (type), or be an
 * absent value. Returns 1 when it starts one, 0 when absent. */
static int begin(struct pctx *c, yaml_event_type_t type, const char *path)
{
	if (c->ev.type == type)
		return 1;
	if (ev_is_null(&c->ev))
		return 0;
	return fail(c, ev_line(c), "%s must be a %s, not a %s", path,
		    type == YAML_MAPPING_START_EVENT ? "mapping" : "list",
		    ev_kind(&c->ev));
}

/* Keys of a mapping: the first member (a const char *) of n elements of
 * size stride at base. This lets plandoc_kinds serve as its own key list. */
struct keyset {
	const void *base;
	size_t stride;
	size_t n;
	const char *noun; /* "key" or "plan kind", for messages */
};

static const char *key_at(const struct keyset *ks, size_t i)
{
	return *(const char *const *)((const char *)ks->base + i * ks->stride);
}

static int unknown_key(struct pctx *c, const struct keyset *ks, const char *key,
		       const char *where)
{
	char q[64], allowed[256] = "";
	size_t i, o = 0;
	int n;

	for (i = 0; i < ks->n; i++) {
		n = snprintf(allowed + o, sizeof(allowed) - o, "%s%s",
			     i ? ", " : "", key_at(ks, i));
		if (n < 0 || (size_t)n >= sizeof(allowed) - o)
			break;
		o += (size_t)n;
	}
	quote_short(q, sizeof(q), key);
	return fail(c, ev_line(c), "unknown %s '%s' in %s (allowed: %s)",
		    ks->noun, q, where, allowed);
}

/* Inside a mapping: reads the next key and moves to its value. Returns 1
 * with the key's index in *idx, 0 at the end of the mapping, or < 0. */
static int map_next(struct pctx *c, const struct keyset *ks, unsigned *seen,
		    const char *where, size_t *idx)
{
	const char *key;
	char q[64];
	size_t i;
	int r;

	r = next(c);
	if (r < 0)
		return r;
	if (c->ev.type == YAML_MAPPING_END_EVENT)
		return 0;
	if (c->ev.type != YAML_SCALAR_EVENT)
		return fail(c, ev_line(c), "a key in %s is a %s, not a word",
			    where, ev_kind(&c->ev));
	key = (const char *)c->ev.data.scalar.value;
	for (i = 0; i < ks->n && strcmp(key, key_at(ks, i)); i++)
		;
	if (i == ks->n)
		return unknown_key(c, ks, key, where);
	if (*seen & (1u << i)) {
		quote_short(q, sizeof(q), key);
		return fail(c, ev_line(c), "duplicate key '%s' in %s", q,
			    where);
	}
	*seen |= 1u << i;
	*idx = i;
	r = next(c);
	return r < 0 ? r : 1;
}

/* Inside a list: moves to the next item. Returns 1, 0 at the end, or < 0. */
static int seq_next(struct pctx *c)
{
	int r = next(c);

	if (r < 0)
		return r;
	return c->ev.type != YAML_SEQUENCE_END_EVENT;
}

/* Returns arr (of n elements of size) grown by one zeroed element, or NULL.
 * Lists are capped at PLANDOC_MAX_ITEMS, so growing one at a time is cheap. */
static void *grow_one(struct pctx *c, void *arr, size_t n, size_t size)
{
	char *p = realloc(arr, (n + 1) * size);

	if (!p) {
		fail(c, ev_line(c), "out of memory");
		return NULL;
	}
	memset(p + n * size, 0, size);
	return p;
}

/* ---- the document's shape ---------------------------------------------- */

static int parse_fields(struct pctx *c, const char *const *keys, size_t nkeys,
			char **fields, const char *path)
{
	const struct keyset ks = {keys, sizeof(*keys), nkeys, "key"};
	unsigned seen = 0;
	char sub[160];
	size_t k;
	int r;

	r = begin(c, YAML_MAPPING_START_EVENT, path);
	if (r <= 0)
		return r;
	while ((r = map_next(c, &ks, &seen, path, &k)) > 0) {
		snprintf(sub, sizeof(sub), "%s.%s", path, keys[k]);
		r = take_string(c, sub, &fields[k]);
		if (r < 0)
			return r;
	}
	return r;
}

static int parse_existing(struct pctx *c, struct plandoc *d)
{
	static const char *const keys[] = {"status", "goals", "actions"};
	const struct keyset ks = {plandoc_kinds, sizeof(plandoc_kinds[0]),
				  PLANDOC_EXISTING, "plan kind"};
	unsigned seen = 0;
	char path[128];
	size_t k;
	int r;

	r = begin(c, YAML_MAPPING_START_EVENT, "existing_plans");
	if (r <= 0)
		return r;
	while ((r = map_next(c, &ks, &seen, "existing_plans", &k)) > 0) {
		struct plandoc_existing *e = &d->existing[k];
		char *fields[3] = {NULL, NULL, NULL};

		snprintf(path, sizeof(path), "existing_plans.%s",
			 plandoc_kinds[k].key);
		r = parse_fields(c, keys, 3, fields, path);
		e->status = fields[0];
		e->goals = fields[1];
		e->actions = fields[2];
		if (r < 0)
			return r;
	}
	return r;
}

static int parse_challenges(struct pctx *c, struct plandoc *d)
{
	char path[40];
	void *p;
	int r;

	r = begin(c, YAML_SEQUENCE_START_EVENT, "challenges");
	if (r <= 0)
		return r;
	while ((r = seq_next(c)) > 0) {
		if (ev_is_null(&c->ev))
			continue; /* an empty "- " line adds nothing */
		if (d->n_challenges == PLANDOC_MAX_ITEMS)
			return fail(c, ev_line(c), "more than %d challenges",
				    PLANDOC_MAX_ITEMS);
		p = grow_one(c, d->challenges, d->n_challenges,
			     sizeof(*d->challenges));
		if (!p)
			return -ENOMEM;
		d->challenges = p;
		d->n_challenges++;
		snprintf(path, sizeof(path), "challenges[%zu]",
			 d->n_challenges);
		r = take_string(c, path, &d->challenges[d->n_challenges - 1]);
		if (r < 0)
			return r;
		if (!d->challenges[d->n_challenges - 1])
			d->n_challenges--; /* blank text: absent */
	}
	return r;
}

static int parse_actions(struct pctx *c, struct plandoc_goal *g,
			 const char *gpath)
{
	static const char *const keys[] = {"action", "success",
					   "responsibility", "timeline"};
	char path[96];
	int r;

	snprintf(path, sizeof(path), "%s.actions", gpath);
	r = begin(c, YAML_SEQUENCE_START_EVENT, path);
	if (r <= 0)
		return r;
	while ((r = seq_next(c)) > 0) {
		struct plandoc_action *a;
		char *f[4] = {NULL, NULL, NULL, NULL};

		if (ev_is_null(&c->ev))
			continue;
		if (g->n_actions == PLANDOC_MAX_ITEMS)
			return fail(c, ev_line(c), "more than %d actions in %s",
				    PLANDOC_MAX_ITEMS, gpath);
		a = grow_one(c, g->actions, g->n_actions, sizeof(*a));
		if (!a)
			return -ENOMEM;
		g->actions = a;
		g->n_actions++;
		snprintf(path, sizeof(path), "%s.actions[%zu]", gpath,
			 g->n_actions);
		r = parse_fields(c, keys, 4, f, path);
		a = &g->actions[g->n_actions - 1];
		a->action = f[0];
		a->success = f[1];
		a->responsibility = f[2];
		a->timeline = f[3];
		if (r < 0)
			return r;
	}
	return r;
}

static int parse_goal(struct pctx *c, struct plandoc_goal *g, const char *path)
{
	static const char *const keys[] = {"goal", "actions"};
	const struct keyset ks = {keys, sizeof(*keys), 2, "key"};
	size_t line = ev_line(c), k;
	unsigned seen = 0;
	char sub[48];
	int r;

	r = begin(c, YAML_MAPPING_START_EVENT, path);
	if (r == 0)
		return fail(c, line, "%s is empty: a goal needs a text (goal:)",
			    path);
	if (r < 0)
		return r;
	while ((r = map_next(c, &ks, &seen, path, &k)) > 0) {
		if (k == 0) {
			snprintf(sub, sizeof(sub), "%s.goal", path);
			r = take_string(c, sub, &g->goal);
		} else {
			r = parse_actions(c, g, path);
		}
		if (r < 0)
			return r;
	}
	if (r == 0 && !g->goal)
		return fail(c, line, "%s has no goal text (goal: is empty)",
			    path);
	return r;
}

static int parse_goals(struct pctx *c, struct plandoc *d)
{
	char path[32];
	void *p;
	int r;

	r = begin(c, YAML_SEQUENCE_START_EVENT, "goals");
	if (r <= 0)
		return r;
	while ((r = seq_next(c)) > 0) {
		if (d->n_goals == PLANDOC_MAX_ITEMS)
			return fail(c, ev_line(c), "more than %d goals",
				    PLANDOC_MAX_ITEMS);
		p = grow_one(c, d->goals, d->n_goals, sizeof(*d->goals));
		if (!p)
			return -ENOMEM;
		d->goals = p;
		d->n_goals++;
		snprintf(path, sizeof(path), "goals[%zu]", d->n_goals);
		r = parse_goal(c, &d->goals[d->n_goals - 1], path);
		if (r < 0)
			return r;
	}
	return r;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD", a date that exists in the Gregorian calendar. */
static bool valid_date(const char *s)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	int v[3] = {0, 0, 0}, f = 0, i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			f++;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return false;
		v[f] = v[f] * 10 + (s[i] - '0');
	}
	if (v[0] < 1 || v[1] < 1 || v[1] > 12 || v[2] < 1)
		return false;
	if (v[1] == 2 && leap_year(v[0]))
		return v[2] <= 29;
	return v[2] <= mdays[v[1] - 1];
}

static int parse_follow_up(struct pctx *c, struct plandoc *d)
{
	char *s = NULL, q[64];
	int r;

	r = take_string(c, "follow_up", &s);
	if (r < 0 || !s)
		return r;
	if (!valid_date(s)) {
		quote_short(q, sizeof(q), s);
		r = fail(c, ev_line(c),
			 "follow_up '%s' is not a valid date (YYYY-MM-DD)", q);
	} else {
		memcpy(d->follow_up, s, sizeof(d->follow_up));
	}
	free(s);
	return r;
}

enum { K_EXISTING, K_CHALLENGES, K_GOALS, K_NO_SHOW, K_FOLLOW_UP };

static int parse_root(struct pctx *c, struct plandoc *d, size_t *goals_line,
		      size_t *fu_line)
{
	static const char *const keys[] = {"existing_plans", "challenges",
					   "goals", "no_show", "follow_up"};
	const struct keyset ks = {keys, sizeof(*keys), 5, "key"};
	unsigned seen = 0;
	size_t k;
	int r;

	while ((r = map_next(c, &ks, &seen, "the document", &k)) > 0) {
		switch (k) {
		case K_EXISTING:
			r = parse_existing(c, d);
			break;
		case K_CHALLENGES:
			r = parse_challenges(c, d);
			break;
		case K_GOALS:
			*goals_line = ev_line(c);
			r = parse_goals(c, d);
			break;
		case K_NO_SHOW:
			r = take_string(c, "no_show", &d->no_show);
			break;
		default:
			*fu_line = ev_line(c);
			r = parse_follow_up(c, d);
			break;
		}
		if (r < 0)
			return r;
	}
	return r;
}

static int parse_stream(struct pctx *c, struct plandoc *d)
{
	size_t goals_line, fu_line;
	int r;

	if ((r = next(c)) < 0 || (r = next(c)) < 0) /* stream, document */
		return r;
	if (c->ev.type == YAML_STREAM_END_EVENT || (r = next(c)) < 0)
		return r < 0 ? r : fail(c, 0, "the document is empty");
	if (ev_is_null(&c->ev))
		return fail(c, ev_line(c), "the document is empty");
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, ev_line(c),
			    "the document must be a mapping of existing_plans,"
			    " challenges, goals, no_show and follow_up, not a"
			    " %s",
			    ev_kind(&c->ev));
	goals_line = fu_line = SIZE_MAX;
	r = parse_root(c, d, &goals_line, &fu_line);
	if (r < 0)
		return r;
	if (goals_line == SIZE_MAX) /* no such key: the end of the mapping */
		goals_line = ev_line(c);
	if (fu_line == SIZE_MAX)
		fu_line = ev_line(c);
	if (!d->n_goals)
		return fail(c, goals_line, "at least one goal is required");
	if (!d->follow_up[0])
		return fail(c, fu_line,
			    "follow_up (date of the follow-up meeting, "
			    "YYYY-MM-DD) is missing");
	if ((r = next(c)) < 0 || (r = next(c)) < 0) /* document end, next */
		return r;
	if (c->ev.type != YAML_STREAM_END_EVENT)
		return fail(c, ev_line(c),
			    "more than one document (only one is allowed)");
	return 0;
}

static int precheck(struct pctx *c)
{
	const char *nul;
	size_t off;

	if (c->len > PLANDOC_MAX_SIZE)
		return fail(c, 0, "document larger than 1 MiB");
	nul = c->len ? memchr(c->text, '\0', c->len) : NULL;
	if (nul)
		return fail(c,
			    line_of(c->text, c->len, (size_t)(nul - c->text)),
			    "NUL byte in the document");
	off = utf8_check((const unsigned char *)c->text, c->len);
	if (off != c->len)
		return fail(c, line_of(c->text, c->len, off),
			    "invalid UTF-8 in the document");
	return 0;
}

int plandoc_parse(const char *text, size_t len, struct plandoc **ret, char *err,
		  size_t errlen)
{
	struct pctx c = {.text = text ? text : "",
			 .len = text ? len : 0,
			 .err = err,
			 .errlen = errlen};
	struct plandoc *d;
	int r;

	if (err && errlen)
		err[0] = '\0';
	r = precheck(&c);
	if (r < 0)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d || !yaml_parser_initialize(&c.parser)) {
		free(d);
		fail(&c, 0, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)c.text,
				     c.len);
	yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
	r = parse_stream(&c, d);
	if (c.have_ev)
		yaml_event_delete(&c.ev);
	yaml_parser_delete(&c.parser);
	if (r < 0) {
		plandoc_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

void plandoc_free(struct plandoc *doc)
{
	size_t i, j;

	if (!doc)
		return;
	for (i = 0; i < PLANDOC_EXISTING; i++) {
		free(doc->existing[i].status);
		free(doc->existing[i].goals);
		free(doc->existing[i].actions);
	}
	for (i = 0; i < doc->n_challenges; i++)
		free(doc->challenges[i]);
	free(doc->challenges);
	for (i = 0; i < doc->n_goals; i++) {
		struct plandoc_goal *g = &doc->goals[i];

		for (j = 0; j < g->n_actions; j++) {
			free(g->actions[j].action);
			free(g->actions[j].success);
			free(g->actions[j].responsibility);
			free(g->actions[j].timeline);
		}
		free(g->actions);
		free(g->goal);
	}
	free(doc->goals);
	free(doc->no_show);
	free(doc);
}

/* ---- diff -------------------------------------------------------------- */

struct dctx {
	struct buf *out;
	int n; /* differences found */
	int r; /* first append error; later appends are skipped */
};

/* Appends s with each newline written as the two characters "\n". */
static void put_oneline(struct dctx *c, const char *s)
{
	const char *nl;

	while (!c->r && (nl = strchr(s, '\n'))) {
		c->r = buf_append(c->out, s, (size_t)(nl - s));
		if (!c->r)
			c->r = buf_puts(c->out, "\\n");
		s = nl + 1;
	}
	if (!c->r)
		c->r = buf_puts(c->out, s);
}

static void put(struct dctx *c, const char *s)
{
	if (!c->r)
		c->r = buf_puts(c->out, s);
}

static void diff_field(struct dctx *c, const char *path, const char *a,
		       const char *b)
{
	if (a && !*a)
		a = NULL;
	if (b && !*b)
		b = NULL;
	if ((!a && !b) || (a && b && !strcmp(a, b)))
		return;
	c->n++;
	put(c, a && b ? "~ " : a ? "- " : "+ ");
	put(c, path);
	put(c, ": ");
	put_oneline(c, a ? a : b);
	if (a && b) {
		put(c, " -> ");
		put_oneline(c, b);
	}
	put(c, "\n");
}

static void diff_existing(struct dctx *c, const struct plandoc *a,
			  const struct plandoc *b)
{
	char path[128];
	size_t i;

	for (i = 0; i < PLANDOC_EXISTING; i++) {
		const struct plandoc_existing *ea = &a->existing[i];
		const struct plandoc_existing *eb = &b->existing[i];

		snprintf(path, sizeof(path), "existing_plans.%s.status",
			 plandoc_kinds[i].key);
		diff_field(c, path, ea->status, eb->status);
		snprintf(path, sizeof(path), "existing_plans.%s.goals",
			 plandoc_kinds[i].key);
		diff_field(c, path, ea->goals, eb->goals);
		snprintf(path, sizeof(path), "existing_plans.%s.actions",
			 plandoc_kinds[i].key);
		diff_field(c, path, ea->actions, eb->actions);
	}
}

static const struct plandoc_action *action_at(const struct plandoc_goal *g,
					      size_t j)
{
	return g && j < g->n_actions ? &g->actions[j] : NULL;
}

/* Compares goal i of both (either may be NULL) and their action rows,
 * aligned by index. */
static void diff_goal(struct dctx *c, size_t i, const struct plandoc_goal *ga,
		      const struct plandoc_goal *gb)
{
	static const char *const col[4] = {"action", "success",
					   "responsibility", "timeline"};
	size_t na = ga ? ga->n_actions : 0, nb = gb ? gb->n_actions : 0, j, k;
	char path[128];

	snprintf(path, sizeof(path), "goals[%zu].goal", i + 1);
	diff_field(c, path, ga ? ga->goal : NULL, gb ? gb->goal : NULL);
	for (j = 0; j < (na > nb ? na : nb); j++) {
		const struct plandoc_action *aa = action_at(ga, j);
		const struct plandoc_action *ab = action_at(gb, j);
		const char *fa[4] = {NULL, NULL, NULL, NULL};
		const char *fb[4] = {NULL, NULL, NULL, NULL};

		if (aa) {
			fa[0] = aa->action, fa[1] = aa->success;
			fa[2] = aa->responsibility, fa[3] = aa->timeline;
		}
		if (ab) {
			fb[0] = ab->action, fb[1] = ab->success;
			fb[2] = ab->responsibility, fb[3] = ab->timeline;
		}
		for (k = 0; k < 4; k++) {
			snprintf(path, sizeof(path),
				 "goals[%zu].actions[%zu].%s", i + 1, j + 1,
				 col[k]);
			diff_field(c, path, fa[k], fb[k]);
		}
	}
}

int plandoc_diff(const struct plandoc *a, const struct plandoc *b,
		 struct buf *out)
{
	struct dctx c = {out, 0, 0};
	size_t i, n;
	char path[128];

	diff_existing(&c, a, b);
	n = a->n_challenges > b->n_challenges ? a->n_challenges
					      : b->n_challenges;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "challenges[%zu]", i + 1);
		diff_field(&c, path,
			   i < a->n_challenges ? a->challenges[i] : NULL,
			   i < b->n_challenges ? b->challenges[i] : NULL);
	}
	n = a->n_goals > b->n_goals ? a->n_goals : b->n_goals;
	for (i = 0; i < n; i++)
		diff_goal(&c, i, i < a->n_goals ? &a->goals[i] : NULL,
			  i < b->n_goals ? &b->goals[i] : NULL);
	diff_field(&c, "no_show", a->no_show, b->no_show);
	diff_field(&c, "follow_up", a->follow_up, b->follow_up);
	return c.r < 0 ? c.r : c.n;
}
