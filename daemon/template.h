/* template.h — texts with named values in braces, as the configurable mail
 * texts write them ("Besked fra {org} – ref. {ref}"). Pure: no state, no
 * allocation; wording.c fills in the values, config.c checks a
 * configured text when it is loaded.
 */
#ifndef KIP_TEMPLATE_H
#define KIP_TEMPLATE_H

#include <stddef.h>

struct template_value {
	const char *name; /* without braces */
	const char *value;
};

/* NULL if TEXT names only the values a mail text can name ({ref}, {org},
 * {coordinator}, {date}, {time}, {p}) and its braces pair up, else what
 * is wrong, for an error message. */
const char *template_check(const char *text);

/* TEXT with each {name} of VALUES (N of them) replaced by its value, into
 * OUT of LEN bytes, truncated and always terminated (LEN > 0). A name not
 * in VALUES is copied as written. Returns the length written. */
size_t template_expand(const char *text, const struct template_value *values,
		       size_t n, char *out, size_t len);

#endif
