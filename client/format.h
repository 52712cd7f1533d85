/* format.h — how kipctl shows a reply to a person.
 *
 * Nothing here knows a command or a domain word: the shape of the JSON alone
 * decides the layout, so a new daemon command needs no client change.
 * All functions write to OUT and return nothing; a write error stays in the
 * stream's error flag for the caller to check (ferror/fflush). Text coming
 * from the daemon is written with control characters made visible ("?"),
 * except by format_text(), which is for documents the user asked for raw.
 * On allocation failure they print "kipctl: out of memory" and exit 3: a
 * half-printed result is worse than none, and the caller could do no better.
 */
#ifndef KIP_FORMAT_H
#define KIP_FORMAT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* The generic readable view of a result:
 *   - scalar members as aligned "key: value" lines; nulls skipped,
 *     booleans as yes/no, arrays of scalars joined by ", ";
 *   - nested objects under "key:" indented by two;
 *   - arrays of objects as a column table, header from the first object's
 *     keys, cells cut to 40 columns with "…";
 *   - strings with line breaks on their own lines, indented.
 * Scalars come first, then the nested parts, each in the daemon's order. */
void format_result(FILE *out, json_t *result);

/* VALUE pretty-printed as JSON (indent 2, the daemon's key order), then a
 * newline. */
void format_json(FILE *out, const json_t *value);

/* LEN bytes of S as they are, plus a newline if S does not end in one. */
void format_text(FILE *out, const char *s, size_t len);

/* S with control characters made visible; line breaks kept. For messages
 * from the daemon, which may quote user input. */
void format_clean(FILE *out, const char *s);

#endif
