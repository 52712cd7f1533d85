/* render.h — a plan in the template's layout, as text or HTML.
 *
 * Section 1 (master data) comes from the store through struct render_master,
 * sections 2–5 from the plan document. Headings in Danish ("da", default) or
 * English ("en"). HTML is a complete UTF-8 document with inline CSS, every
 * value escaped, and no remote content (no links to fetch, no images).
 * The later mail issue sends exactly this rendering.
 */
#ifndef KIP_RENDER_H
#define KIP_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "plandoc.h"

enum render_format {
	RENDER_TEXT,
	RENDER_HTML,
};

struct render_person {
	const char *name;
	const char *title;	  /* may be NULL */
	const char *organisation; /* may be NULL */
	const char *email;	  /* may be NULL */
	const char *phone;	  /* may be NULL */
};

/* The four basis flags of the template, in order. */
#define BASIS_PSYCH_PATIENT 0x1u   /* patient in outpatient psychiatry ... */
#define BASIS_SUBST_TREATMENT 0x2u /* in drug/alcohol treatment or referred */
#define BASIS_PSYCH_NEED 0x4u /* needs psychiatric treatment, not patient */
#define BASIS_SUBST_NEED 0x8u /* needs drug/alcohol treatment, not in it */

struct render_master {
	long plan_id;
	int version;
	const char *name;
	const char *cpr;
	const char *address;
	const char *phone;
	unsigned basis; /* BASIS_* bits */
	bool consent;	/* active consent to plan and exchange */
	struct render_person coordinator;
	const struct render_person *participants; /* meeting participants */
	size_t n_participants;
	const char *meeting_date; /* "YYYY-MM-DD" or NULL */
	bool approved;		  /* approved by the citizen */
};

/*
 * Renders the whole plan into out (appending). lang is "da" or "en"
 * (anything else: "da"). Returns 0 or -ENOMEM.
 */
struct buf;
int render_plan(const struct render_master *m, const struct plandoc *doc,
		enum render_format fmt, const char *lang, struct buf *out);

#endif
