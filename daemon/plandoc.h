/* plandoc.h — the plan document: sections 2–5 of the template.
 *
 * A coordinator writes it in an editor as YAML (parsed with libyaml); long
 * free text goes in block scalars (`|`) without escaping. Section 1, the
 * master data, comes from the store and is not part of the document.
 *
 *   existing_plans:        section 2, eight fixed keys (see PLANDOC_EXISTING)
 *     psychiatric_treatment:
 *       status: |
 *         ...
 *       goals: ...
 *       actions: ...
 *   challenges:            section 3, prioritised list of strings
 *     - ...
 *   goals:                 section 4
 *     - goal: Fastholdelse i psykiatrisk behandling
 *       actions:
 *         - action: ...
 *           success: ...
 *           responsibility: ...
 *           timeline: ...
 *   no_show: |             section 4: agreed reaction if the citizen stays away
 *   follow_up: 2014-10-01  section 5
 */
#ifndef KIP_PLANDOC_H
#define KIP_PLANDOC_H

#include <stddef.h>

#define PLANDOC_EXISTING 8

/* YAML key, Danish heading and English heading of each existing plan kind,
 * in template order (drug_treatment, alcohol_treatment, ...). */
struct plandoc_kind {
	const char *key;
	const char *da;
	const char *en;
};
extern const struct plandoc_kind plandoc_kinds[PLANDOC_EXISTING];

struct plandoc_existing {
	char *status; /* NULL when absent */
	char *goals;
	char *actions;
};

struct plandoc_action {
	char *action;
	char *success;
	char *responsibility;
	char *timeline;
};

struct plandoc_goal {
	char *goal;
	struct plandoc_action *actions;
	size_t n_actions;
};

struct plandoc {
	struct plandoc_existing existing[PLANDOC_EXISTING];
	char **challenges;
	size_t n_challenges;
	struct plandoc_goal *goals;
	size_t n_goals;
	char *no_show;
	char follow_up[11]; /* "YYYY-MM-DD", a real date; "" if absent */
};

/*
 * Parses a plan document of LEN bytes (UTF-8). On success returns 0 and a
 * new document in *ret (free with plandoc_free). On failure returns -EINVAL
 * (or -ENOMEM), leaves *ret untouched and writes to err a message that
 * starts with "line N: " and says what is wrong: YAML syntax, unknown key,
 * wrong type, missing goal text, bad date, invalid UTF-8, ...
 * The document must have at least one goal and a follow_up date.
 */
int plandoc_parse(const char *text, size_t len, struct plandoc **ret, char *err,
		  size_t errlen);

void plandoc_free(struct plandoc *doc);

/* A blank document with comments explaining each field, in "da" or "en"
 * (anything else: "da"). Static storage. It parses only after the user
 * fills in a goal and the follow-up date. */
const char *plandoc_template(const char *lang);

/*
 * Compares two documents field by field. Appends one line per difference
 * to out, in document order, of the form
 *   "~ goals[2].actions[1].timeline: OLD -> NEW"   (changed)
 *   "+ challenges[4]: NEW"                        (only in b)
 *   "- goals[3].goal: OLD"                        (only in a)
 * with multi-line values shown on one line (newlines as "\n"). Returns the
 * number of differences, or -ENOMEM.
 */
struct buf;
int plandoc_diff(const struct plandoc *a, const struct plandoc *b,
		 struct buf *out);

#endif
