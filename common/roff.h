/* roff.h — writing man(7) pages from the programs' own tables.
 *
 * kipctl --man and kipd --man print their pages from the tables that also
 * make --help and load the configuration, so a page cannot say what the
 * program does not do. These helpers escape text for roff and write the
 * few macros the pages use; tagged paragraphs (.TP, .TQ) the callers
 * write themselves.
 */
#ifndef KIP_ROFF_H
#define KIP_ROFF_H

#include <stdio.h>

/* The .TH line and the NAME section, "name \- summary". */
void roff_head(FILE *out, const char *name, const char *section,
	       const char *manual, const char *summary);

/* ".SH TITLE". */
void roff_section(FILE *out, const char *title);

/* s as roff text: a backslash as \e, a dash that starts a word (an
 * option) as \-, other than ASCII as \[uXXXX], a leading '.' or '\''
 * guarded; a '\n' (a line break of --help) is a space. No line end. */
void roff_text(FILE *out, const char *s);

/* roff_text() in font 'B' (bold) or 'I' (italic), back to roman after. */
void roff_font(FILE *out, char font, const char *s);

/* roff_text() with unbreakable spaces: "[--date DATE]" stays together. */
void roff_word(FILE *out, const char *s);

/* roff_text() and a line end. */
void roff_line(FILE *out, const char *s);

/* ".TP", tag in bold, and text: one item of a list of options. */
void roff_item(FILE *out, const char *tag, const char *text);

/* ".PP" and s as a filled paragraph. */
void roff_para(FILE *out, const char *s);

#endif
