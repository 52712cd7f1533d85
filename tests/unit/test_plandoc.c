/* test_plandoc.c — the plan document parser, template and diff.
 *
 * Runs from the repository root (fixtures in tests/fixtures/). The last
 * cases feed every prefix of the Bilag 2 fixture and a few thousand
 * mutated copies to the parser: run under ASan/UBSan they catch crashes,
 * overreads and leaks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "plandoc.h"
#include "t.h"

#define BILAG2 "tests/fixtures/bilag2.yaml"

/* The whole file, NUL-terminated; *len without the NUL. NULL on error. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) < 0)
			break;
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

/* s with the first occurrence of from replaced by to (caller frees). */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	struct buf b = BUF_INIT;

	if (!p)
		return NULL;
	buf_append(&b, s, (size_t)(p - s));
	buf_puts(&b, to);
	buf_puts(&b, p + strlen(from));
	return buf_steal(&b);
}

static int parse_str(const char *s, struct plandoc **doc, char *err,
		     size_t errlen)
{
	return plandoc_parse(s, strlen(s), doc, err, errlen);
}

static struct plandoc *load_bilag2(void)
{
	struct plandoc *doc = NULL;
	char err[256];
	size_t len;
	char *text = slurp(BILAG2, &len);

	if (!text)
		return NULL;
	if (plandoc_parse(text, len, &doc, err, sizeof(err)) < 0)
		printf("  bilag2: %s\n", err);
	free(text);
	return doc;
}

static void test_bilag2_parses(void)
{
	struct plandoc *d = load_bilag2();
	size_t i;

	T_ASSERT(d != NULL);
	if (!d)
		return;
	T_ASSERT(d->n_goals == 3);
	T_ASSERT(d->n_challenges == 3);
	T_STREQ(d->follow_up, "2014-10-01");
	T_CONTAINS(d->existing[2].status, "agorafobi");
	T_STREQ(d->existing[0].status, "Ikke aktuelt");
	T_STREQ(d->existing[1].status, "Forefindes ikke");
	T_STREQ(d->existing[3].status, "Ikke relevant");
	T_STREQ(d->existing[4].status, "Ikke relevant");
	T_STREQ(d->existing[6].status, "Bør udarbejdes.");
	T_ASSERT(d->existing[0].goals == NULL &&
		 d->existing[0].actions == NULL);
	T_ASSERT(d->existing[7].status == NULL && d->existing[7].goals == NULL);
	T_CONTAINS(d->existing[2].goals, "3) Hjælpe borgeren");
	T_CONTAINS(d->existing[2].actions, "4) Støtte til at borger");
	T_CONTAINS(d->existing[5].goals, "Mål på langt sigt:\nAt borgeren");
	T_CONTAINS(d->existing[5].actions, "Indsatsen er langsigtet.");
	/* block scalars lose their final newline */
	T_ASSERT(d->existing[2].status[strlen(d->existing[2].status) - 1] ==
		 '.');
	T_STREQ(d->challenges[0],
		"Støtte til stabilt fremmøde i den ambulante psykiatri.");
	T_CONTAINS(d->challenges[2], "evt. egen læge.");
	T_STREQ(d->goals[0].goal, "Fastholdelse i psykiatrisk behandling");
	T_STREQ(d->goals[1].goal, "Motivere til misbrugsbehandling");
	T_STREQ(d->goals[2].goal, "Kontakt til Jobcenter");
	for (i = 0; i < d->n_goals; i++) {
		T_ASSERT(d->goals[i].n_actions == 1);
		T_ASSERT(d->goals[i].actions[0].action != NULL);
		T_ASSERT(d->goals[i].actions[0].success != NULL);
		T_ASSERT(d->goals[i].actions[0].responsibility != NULL);
		T_ASSERT(d->goals[i].actions[0].timeline != NULL);
	}
	T_CONTAINS(d->goals[2].actions[0].action, "tryg ved forløbet");
	T_CONTAINS(d->goals[0].actions[0].timeline, "1.10.2014");
	T_CONTAINS(d->no_show, "udebliver fra en aftalt behandling");
	plandoc_free(d);
}

static void test_kinds(void)
{
	static const char *const keys[PLANDOC_EXISTING] = {
	    "drug_treatment",	     "alcohol_treatment",
	    "psychiatric_treatment", "discharge_agreement",
	    "coordination_plan",     "social_action_plan",
	    "education_job_plan",    "other"};
	size_t i;

	for (i = 0; i < PLANDOC_EXISTING; i++) {
		T_STREQ(plandoc_kinds[i].key, keys[i]);
		T_ASSERT(plandoc_kinds[i].da && plandoc_kinds[i].en);
	}
	T_STREQ(plandoc_kinds[0].da,
		"Behandlingsplan(er) for stofmisbrug "
		"(Serviceloven § 141, sundhedsloven § 142)");
	T_STREQ(plandoc_kinds[2].en,
		"Psychiatric treatment plan (Mental Health Act § 3(3))");
	T_STREQ(plandoc_kinds[3].da,
		"Udskrivningsaftale (Psykiatriloven § 13 a)");
	T_STREQ(plandoc_kinds[7].da, "Andet");
	T_STREQ(plandoc_kinds[7].en, "Other");
}

struct bad_case {
	const char *file;
	int line;
	const char *what;
};

static void check_bad(const char *name, const char *text, size_t len, int line,
		      const char *what)
{
	struct plandoc *doc = (struct plandoc *)&doc; /* must stay untouched */
	char err[512], want[32];
	int r = plandoc_parse(text, len, &doc, err, sizeof(err));

	if (r != -EINVAL || strncmp(err, "line ", 5) || !strstr(err, what))
		printf("  %s: r=%d err=\"%s\"\n", name, r, err);
	T_ASSERT(r == -EINVAL);
	T_ASSERT(doc == (struct plandoc *)&doc);
	T_ASSERT(strncmp(err, "line ", 5) == 0);
	T_CONTAINS(err, what);
	if (line > 0) {
		snprintf(want, sizeof(want), "line %d: ", line);
		T_ASSERT(strncmp(err, want, strlen(want)) == 0);
	}
}

static void test_bad_fixtures(void)
{
	static const struct bad_case cases[] = {
	    {"bad_syntax.yaml", 7,
	     "YAML syntax error: found unexpected end of stream while "
	     "scanning a quoted scalar from line 3"},
	    {"bad_unknown_key.yaml", 5, "unknown key 'owner' in goals[2]"},
	    {"bad_unknown_kind.yaml", 5,
	     "unknown plan kind 'housing_plan' in existing_plans (allowed: "
	     "drug_treatment, alcohol_treatment"},
	    {"bad_goal_without_text.yaml", 4, "goals[2] has no goal text"},
	    {"bad_date.yaml", 4, "'2014-02-30' is not a valid date"},
	    {"bad_type.yaml", 2, "challenges must be a list, not a text"},
	    {"bad_type_mapping.yaml", 4,
	     "goals[1].goal must be a text, not a list"},
	    {"bad_alias.yaml", 3, "aliases are not allowed"},
	    {"bad_two_documents.yaml", 5, "more than one document"},
	    {"bad_no_follow_up.yaml", 0, "follow_up"},
	    {"bad_no_goals.yaml", 4, "at least one goal"},
	};
	char path[128];
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;

		snprintf(path, sizeof(path), "tests/fixtures/%s",
			 cases[i].file);
		text = slurp(path, &len);
		T_ASSERT(text != NULL);
		if (!text)
			continue;
		check_bad(cases[i].file, text, len, cases[i].line,
			  cases[i].what);
		free(text);
	}
}

#define MINIMAL "goals:\n  - goal: G\nfollow_up: 2014-10-01\n"

static void test_bad_inline(void)
{
	static const struct bad_case cases[] = {
	    {"goals:\n  - goal: \xff\nfollow_up: 2014-10-01\n", 2,
	     "invalid UTF-8"},
	    {"goals:\n  - goal: \xc0\xaf\n", 2, "invalid UTF-8"},
	    {"goals:\n  - goal: \xed\xa0\x80\n", 2, "invalid UTF-8"},
	    {MINIMAL "goals: []\n", 4, "duplicate key 'goals'"},
	    {"- a\n- b\n", 1, "must be a mapping"},
	    {"", 1, "empty"},
	    {"# only a comment\n", 1, "empty"},
	    {"---\n", 0, "empty"},
	    {"goals:\n  - goal: \"a\\0b\"\nfollow_up: 2014-10-01\n", 2,
	     "NUL character"},
	    {"goals:\n  - goal: \"a\\eb\"\nfollow_up: 2014-10-01\n", 2,
	     "control character"},
	    {"goals:\n  - goal: G\nfollow_up: 2015-02-29\n", 3,
	     "not a valid date"},
	    {"goals:\n  - goal: G\nfollow_up: 1900-02-29\n", 3,
	     "not a valid date"},
	    {"goals:\n  - goal: G\nfollow_up: 2014-13-01\n", 3,
	     "not a valid date"},
	    {"goals:\n  - goal: G\nfollow_up: 2014-1-01\n", 3,
	     "not a valid date"},
	    {"goals:\n  - goal: G\nfollow_up: 2014-10-01x\n", 3,
	     "not a valid date"},
	    {"goals:\n  - goal: G\nfollow_up: [2014-10-01]\n", 3,
	     "follow_up must be a text, not a list"},
	    {"goals:\n  - goal: G\n    actions:\n      - owner: x\n"
	     "follow_up: 2014-10-01\n",
	     4, "unknown key 'owner' in goals[1].actions[1]"},
	    {"goals:\n  - goal: G\n    actions:\n      action: x\n"
	     "follow_up: 2014-10-01\n",
	     4, "goals[1].actions must be a list, not a mapping"},
	    {"existing_plans:\n  other: Ikke relevant\n" MINIMAL, 2,
	     "existing_plans.other must be a mapping, not a text"},
	    {"existing_plans:\n  other:\n    status: [a]\n" MINIMAL, 3,
	     "existing_plans.other.status must be a text"},
	    {"goals:\n  - goal: G\n  -\nfollow_up: 2014-10-01\n", 3,
	     "goals[2] is empty"},
	    {"goals:\n  - goal: G\n? [a]\n: b\n", 3, "a key in"},
	    {"x: &a 1\n", 1, "unknown key 'x'"},
	    {"&a goals:\n  - goal: G\n", 1, "aliases are not allowed"},
	    {"goals: *a\n", 1, "aliases are not allowed"},
	    {"goals:\n  - goal: G\nfollow_up: 2014-10-01\n...\n--- x\n", 5,
	     "more than one document"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_bad(cases[i].file, cases[i].file, strlen(cases[i].file),
			  cases[i].line, cases[i].what);
	/* a NUL byte in the raw input */
	check_bad("nul", "goals:\n  - goal: a\0b\n", 20, 2, "NUL byte");
}

/* A document of n goals, n challenges or one goal with n actions. */
static char *many(const char *what, int n)
{
	struct buf b = BUF_INIT;
	int i;

	if (!strcmp(what, "challenges")) {
		buf_puts(&b, "challenges:\n");
		for (i = 0; i < n; i++)
			buf_printf(&b, "  - C%d\n", i);
		buf_puts(&b, MINIMAL);
	} else if (!strcmp(what, "goals")) {
		buf_puts(&b, "goals:\n");
		for (i = 0; i < n; i++)
			buf_printf(&b, "  - goal: G%d\n", i);
		buf_puts(&b, "follow_up: 2014-10-01\n");
	} else {
		buf_puts(&b, "goals:\n  - goal: G\n    actions:\n");
		for (i = 0; i < n; i++)
			buf_printf(&b, "      - action: A%d\n", i);
		buf_puts(&b, "follow_up: 2014-10-01\n");
	}
	return buf_steal(&b);
}

static void test_limits(void)
{
	static const char *const what[] = {"challenges", "goals", "actions"};
	struct plandoc *d = NULL;
	char err[256], *s, *big;
	size_t i, n = 1024 * 1024 + 1;

	for (i = 0; i < 3; i++) {
		s = many(what[i], 100);
		T_ASSERT(parse_str(s, &d, err, sizeof(err)) == 0);
		plandoc_free(d);
		d = NULL;
		free(s);
		s = many(what[i], 101);
		T_ASSERT(parse_str(s, &d, err, sizeof(err)) == -EINVAL);
		T_CONTAINS(err, "more than 100");
		T_CONTAINS(err, what[i]);
		free(s);
	}
	big = malloc(n);
	T_ASSERT(big != NULL);
	if (!big)
		return;
	memset(big, '#', n);
	T_ASSERT(plandoc_parse(big, n, &d, err, sizeof(err)) == -EINVAL);
	T_STREQ(err, "line 1: document larger than 1 MiB");
	free(big);
}

static void test_dates(void)
{
	static const char *const good[] = {"2016-02-29", "2000-02-29",
					   "2014-12-31", "2014-04-30"};
	static const char *const bad[] = {"2100-02-29", "2014-04-31",
					  "2014-00-10", "2014-10-00",
					  "0000-01-01", "2014/10/01"};
	char text[128], err[256];
	struct plandoc *d;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		d = NULL;
		snprintf(text, sizeof(text),
			 "goals:\n  - goal: G\nfollow_up: %s\n", good[i]);
		T_ASSERT(parse_str(text, &d, err, sizeof(err)) == 0);
		T_ASSERT(d && !strcmp(d->follow_up, good[i]));
		plandoc_free(d);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "goals:\n  - goal: G\nfollow_up: %s\n", bad[i]);
		check_bad(bad[i], text, strlen(text), 3, "not a valid date");
	}
}

static void test_absent_values(void)
{
	const char *text = "existing_plans:\n"
			   "  drug_treatment:\n"
			   "    status: ~\n"
			   "    goals: \"\"\n"
			   "    actions: null\n"
			   "  other:\n"
			   "    status: \"null\"\n"
			   "    goals: |\n"
			   "\n"
			   "    actions: \"  x \"\n"
			   "  alcohol_treatment:\n"
			   "challenges:\n"
			   "  -\n"
			   "  - ~\n"
			   "  - Eneste udfordring\n"
			   "  - \"   \"\n"
			   "goals:\n"
			   "  - goal: G\n"
			   "    actions:\n"
			   "      -\n"
			   "      - action:\n"
			   "        timeline: Løbende\n"
			   "no_show:\n"
			   "follow_up: \"2014-10-01\"\n";
	struct plandoc *d = NULL;
	char err[256];

	T_ASSERT(parse_str(text, &d, err, sizeof(err)) == 0);
	if (!d) {
		printf("  %s\n", err);
		return;
	}
	T_ASSERT(!d->existing[0].status && !d->existing[0].goals &&
		 !d->existing[0].actions);
	T_STREQ(d->existing[7].status, "null");
	T_ASSERT(d->existing[7].goals == NULL);
	T_STREQ(d->existing[7].actions, "  x");
	T_ASSERT(d->n_challenges == 1);
	T_STREQ(d->challenges[0], "Eneste udfordring");
	T_ASSERT(d->goals[0].n_actions == 1);
	T_ASSERT(d->goals[0].actions[0].action == NULL);
	T_STREQ(d->goals[0].actions[0].timeline, "Løbende");
	T_ASSERT(d->no_show == NULL);
	T_STREQ(d->follow_up, "2014-10-01");
	plandoc_free(d);
}

static void check_template(const char *lang, const char *const *words)
{
	const char *tpl = plandoc_template(lang);
	struct plandoc *d = NULL;
	char err[256], *t1, *t2;
	size_t i;

	for (i = 0; words[i]; i++)
		T_CONTAINS(tpl, words[i]);
	for (i = 0; i < PLANDOC_EXISTING; i++)
		T_CONTAINS(tpl, plandoc_kinds[i].key);
	/* unfilled: the goal text is what is missing first */
	T_ASSERT(parse_str(tpl, &d, err, sizeof(err)) == -EINVAL);
	T_CONTAINS(err, "goals[1] has no goal text");
	/* with a goal: the follow-up date is what is missing */
	t1 = replace(tpl, "  - goal:\n",
		     "  - goal: Fastholdelse i behandling\n");
	T_ASSERT(t1 != NULL);
	T_ASSERT(parse_str(t1, &d, err, sizeof(err)) == -EINVAL);
	T_CONTAINS(err, "follow_up");
	T_CONTAINS(err, "missing");
	/* with both it parses: one goal, one empty action row, nothing else */
	t2 = replace(t1, "\nfollow_up:\n", "\nfollow_up: 2014-10-01\n");
	T_ASSERT(t2 != NULL);
	T_ASSERT(parse_str(t2, &d, err, sizeof(err)) == 0);
	if (d) {
		T_ASSERT(d->n_goals == 1 && d->goals[0].n_actions == 1);
		T_ASSERT(d->goals[0].actions[0].action == NULL);
		T_ASSERT(d->n_challenges == 0 && d->no_show == NULL);
		for (i = 0; i < PLANDOC_EXISTING; i++)
			T_ASSERT(d->existing[i].status == NULL);
	}
	plandoc_free(d);
	free(t1);
	free(t2);
}

static void test_template(void)
{
	static const char *const da[] = {
	    "Ikke relevant",	      "Forefindes ikke",
	    "borgerens eget ansvar",  "parallelle eller sekventielle",
	    "højst 6 måneder",	      "udebliver",
	    "prioriteret rækkefølge", NULL};
	static const char *const en[] = {
	    "not relevant",	  "does not exist",
	    "citizen's own part", "in parallel or one after the other",
	    "at most 6 months",	  "does not turn up",
	    "order of priority",  NULL};

	check_template("da", da);
	check_template("en", en);
	T_ASSERT(plandoc_template(NULL) == plandoc_template("da"));
	T_ASSERT(plandoc_template("fr") == plandoc_template("da"));
	T_ASSERT(plandoc_template("en") != plandoc_template("da"));
}

static void test_diff_identical(void)
{
	struct plandoc *a = load_bilag2(), *b = load_bilag2();
	struct buf out = BUF_INIT;

	T_ASSERT(a && b);
	if (a && b) {
		T_ASSERT(plandoc_diff(a, b, &out) == 0);
		T_ASSERT(out.len == 0);
	}
	plandoc_free(a);
	plandoc_free(b);
	buf_free(&out);
}

static void test_diff_changes(void)
{
	static const char *const edits[][2] = {
	    {"status: Ikke aktuelt", "status: Ikke relevant"},
	    {"    status: Bør udarbejdes.\n",
	     "    status: Bør udarbejdes.\n    goals: Jobplan inden mødet\n"},
	    {"\ngoals:\n", "  - Gæld og økonomi.\n\ngoals:\n"},
	    {"hver 14 dag i DP", "hver 7. dag i DP"},
	    {"follow_up: 2014-10-01", "follow_up: 2014-11-03"},
	};
	const char *want =
	    "~ existing_plans.drug_treatment.status: Ikke aktuelt -> "
	    "Ikke relevant\n"
	    "+ existing_plans.education_job_plan.goals: Jobplan inden mødet\n"
	    "+ challenges[4]: Gæld og økonomi.\n"
	    "~ goals[2].actions[1].timeline: Ved samtale hver 14 dag i DP "
	    "suppleret med kontakt med støttekontaktperson løbende -> "
	    "Ved samtale hver 7. dag i DP suppleret med kontakt med "
	    "støttekontaktperson løbende\n"
	    "~ follow_up: 2014-10-01 -> 2014-11-03\n";
	struct plandoc *a = load_bilag2(), *b = NULL;
	struct buf out = BUF_INIT;
	char err[256], *text, *t;
	size_t i, len;

	text = slurp(BILAG2, &len);
	for (i = 0; text && i < sizeof(edits) / sizeof(edits[0]); i++) {
		t = replace(text, edits[i][0], edits[i][1]);
		T_ASSERT(t != NULL);
		free(text);
		text = t;
	}
	T_ASSERT(a && text && parse_str(text, &b, err, sizeof(err)) == 0);
	if (a && b) {
		T_ASSERT(plandoc_diff(a, b, &out) == 5);
		T_STREQ(out.data, want);
		buf_free(&out);
		T_ASSERT(plandoc_diff(b, a, &out) == 5);
		T_CONTAINS(out.data, "- challenges[4]: Gæld og økonomi.\n");
		T_CONTAINS(out.data,
			   "- existing_plans.education_job_plan.goals");
	}
	plandoc_free(a);
	plandoc_free(b);
	buf_free(&out);
	free(text);
}

static void test_diff_goals_and_newlines(void)
{
	const char *ta = "goals:\n  - goal: G\nno_show: |\n  a\n  b\n"
			 "follow_up: 2014-10-01\n";
	const char *tb = "goals:\n  - goal: G\n  - goal: H\n    actions:\n"
			 "      - action: X\n        timeline: T\n"
			 "no_show: c\nfollow_up: 2014-10-01\n";
	const char *want = "+ goals[2].goal: H\n"
			   "+ goals[2].actions[1].action: X\n"
			   "+ goals[2].actions[1].timeline: T\n"
			   "~ no_show: a\\nb -> c\n";
	struct plandoc *a = NULL, *b = NULL;
	struct buf out = BUF_INIT;
	char err[256];

	T_ASSERT(parse_str(ta, &a, err, sizeof(err)) == 0);
	T_ASSERT(parse_str(tb, &b, err, sizeof(err)) == 0);
	if (a && b) {
		T_ASSERT(plandoc_diff(a, b, &out) == 4);
		T_STREQ(out.data, want);
	}
	plandoc_free(a);
	plandoc_free(b);
	buf_free(&out);
}

/* Parses text[0..len) from an exact-size copy, so ASan sees any overread.
 * Any outcome but success or a "line N: " error is a failure. */
static int parse_copy(const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1), err[256];
	struct plandoc *d = NULL;
	int r, ok;

	if (!copy)
		return 0;
	if (len)
		memcpy(copy, text, len);
	r = plandoc_parse(copy, len, &d, err, sizeof(err));
	ok = (r == 0 && d) || (r == -EINVAL && !strncmp(err, "line ", 5));
	if (!ok)
		printf("  len %zu: r=%d err=\"%s\"\n", len, r, err);
	plandoc_free(d);
	free(copy);
	return ok;
}

static void test_truncation_fuzz(void)
{
	size_t len, off, bad = 0, ok = 0;
	char *text = slurp(BILAG2, &len);

	T_ASSERT(text != NULL);
	for (off = 0; text && off <= len; off++) {
		bad += !parse_copy(text, off);
		ok += off > 0 && off < len; /* counted to show the loop ran */
	}
	T_ASSERT(bad == 0);
	T_ASSERT(ok + 1 == len);
	free(text);
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_mutation_fuzz(void)
{
	static const char pick[] = "-:|>&*!?[]{}#'\"\\\n \t~@`%,\x80\xc3\xff";
	uint32_t seed = 0x6b697031; /* fixed: failures reproduce */
	size_t len, bad = 0, i, k, pos;
	char *text = slurp(BILAG2, &len);

	T_ASSERT(text != NULL && len > 0);
	for (i = 0; text && i < 3000; i++) {
		char *m = malloc(len);

		if (!m)
			break;
		memcpy(m, text, len);
		for (k = 0; k <= rnd(&seed) % 4; k++) {
			pos = rnd(&seed) % len;
			if (rnd(&seed) % 2)
				m[pos] = pick[rnd(&seed) % (sizeof(pick) - 1)];
			else
				m[pos] = (char)rnd(&seed);
		}
		bad += !parse_copy(m, len - rnd(&seed) % 64 % len);
		free(m);
	}
	T_ASSERT(bad == 0);
	free(text);
}

T_MAIN(T_CASE(test_bilag2_parses), T_CASE(test_kinds),
       T_CASE(test_bad_fixtures), T_CASE(test_bad_inline), T_CASE(test_limits),
       T_CASE(test_dates), T_CASE(test_absent_values), T_CASE(test_template),
       T_CASE(test_diff_identical), T_CASE(test_diff_changes),
       T_CASE(test_diff_goals_and_newlines), T_CASE(test_truncation_fuzz),
       T_CASE(test_mutation_fuzz))
