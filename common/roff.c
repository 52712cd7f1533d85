/* roff.c — writing man(7) pages; see roff.h. */
#include "roff.h"

#include <ctype.h>
#include <stdbool.h>

/* The UTF-8 sequence at p as \[uXXXX]; '?' for a malformed one. Returns
 * how many bytes it took. */
static int put_utf8(FILE *out, const unsigned char *p)
{
	int n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
	unsigned cp = *p & (0x7f >> n);

	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			fputc('?', out);
			return i;
		}
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (n == 1 || cp < 0x80 || cp > 0x10ffff) {
		fputc('?', out);
		return n;
	}
	fprintf(out, "\\[u%04X]", cp);
	return n;
}

static void put_text(FILE *out, const char *s, bool nbsp)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '.' || *p == '\'')
		fputs("\\&", out);
	while (*p) {
		if (*p == '\\')
			fputs("\\e", out);
		else if (*p == '-' &&
			 (p == (const unsigned char *)s || !isalnum(p[-1])))
			fputs("\\-", out);
		else if (*p == '\n' || *p == ' ')
			fputs(nbsp ? "\\ " : " ", out);
		else if (*p >= 0x80) {
			p += put_utf8(out, p);
			continue;
		} else
			fputc(*p, out);
		p++;
	}
}

void roff_text(FILE *out, const char *s)
{
	put_text(out, s, false);
}

void roff_word(FILE *out, const char *s)
{
	put_text(out, s, true);
}

void roff_font(FILE *out, char font, const char *s)
{
	fprintf(out, "\\f%c", font);
	put_text(out, s, false);
	fputs("\\fR", out);
}

void roff_line(FILE *out, const char *s)
{
	put_text(out, s, false);
	fputc('\n', out);
}

void roff_para(FILE *out, const char *s)
{
	fputs(".PP\n", out);
	roff_line(out, s);
}

void roff_item(FILE *out, const char *tag, const char *text)
{
	fputs(".TP\n", out);
	roff_font(out, 'B', tag);
	fputc('\n', out);
	roff_line(out, text);
}

void roff_section(FILE *out, const char *title)
{
	fprintf(out, ".SH \"%s\"\n", title);
}

void roff_head(FILE *out, const char *name, const char *section,
	       const char *manual, const char *summary)
{
	fputs(".TH \"", out);
	for (const char *p = name; *p; p++)
		fputc(toupper((unsigned char)*p), out);
	fprintf(out, "\" \"%s\" \"\" \"kip\" \"%s\"\n", section, manual);
	/* Option names and placeholders must read as typed: no hyphenation,
	 * no spaces stretched. */
	fputs(".nh\n.ad l\n", out);
	roff_section(out, "NAME");
	roff_text(out, name);
	fputs(" \\- ", out);
	roff_line(out, summary);
}
