/* fixture.h — the plan document of the guideline's example (Bilag 2) for
 * the unit tests that render it. Runs from the repository root. */
#ifndef KIP_TEST_FIXTURE_H
#define KIP_TEST_FIXTURE_H

#include <stdio.h>

#include "plandoc.h"

#define BILAG2 "tests/fixtures/bilag2.yaml"

/* The parsed document, or NULL (and a line saying why). */
static struct plandoc *load_bilag2(void)
{
	static char text[256 * 1024];
	struct plandoc *doc = NULL;
	char err[256];
	FILE *f = fopen(BILAG2, "rb");
	size_t len;

	if (!f)
		return NULL;
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (plandoc_parse(text, len, &doc, err, sizeof(err)) < 0)
		printf("  bilag2: %s\n", err);
	return doc;
}

#endif
