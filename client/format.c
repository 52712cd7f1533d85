/* format.c — the generic, readable view of a result; see format.h.
 *
 * Widths are counted in code points: the daemon's text is valid UTF-8
 * (jansson guarantees it), and Danish text has no double-width characters.
 */
#include "format.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CELL_MAX 40 /* display columns a table cell may take */
#define STEP 2	    /* indentation of each nested level */
#define ELLIPSIS "\xe2\x80\xa6"

static void oom(void)
{
	fputs("kipctl: out of memory\n", stderr);
	exit(3);
}

static void check(int r)
{
	if (r < 0)
		oom();
}

/* Bytes in the UTF-8 sequence that starts with byte C. */
static size_t seq_len(unsigned char c)
{
	if (c < 0xc0)
		return 1;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	return 4;
}

static size_t width_of(const char *s, size_t len)
{
	size_t i = 0, w = 0;

	while (i < len) {
		i += seq_len((unsigned char)s[i]);
		w++;
	}
	return w;
}

/* Byte offset of the code point after the first N of S (LEN bytes). */
static size_t offset_of(const char *s, size_t len, size_t n)
{
	size_t i = 0;

	while (i < len && n--)
		i += seq_len((unsigned char)s[i]);
	return i < len ? i : len;
}

/* Writes LEN bytes of S; C0 and C1 controls and DEL become "?", a tab a
 * space, so that no text from the daemon can drive the terminal. */
static void put_clean(FILE *out, const char *s, size_t len, int keep_nl)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = seq_len(c);

		if (n > len - i)
			n = len - i;
		if (c == '\n' && keep_nl)
			fputc('\n', out);
		else if (c == '\t')
			fputc(' ', out);
		else if (c < 0x20 || c == 0x7f ||
			 (c == 0xc2 && n == 2 &&
			  (unsigned char)s[i + 1] < 0xa0))
			fputc('?', out);
		else
			fwrite(s + i, 1, n, out);
		i += n;
	}
}

static void pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

/* --- scalars ------------------------------------------------------------ */

static int is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static int is_scalar_array(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e) if (!is_scalar(e)) return 0;
	return 1;
}

/* Whether V fits on its "key: value" line. */
static int is_inline(const json_t *v)
{
	if (json_is_string(v))
		return strchr(json_string_value(v), '\n') == NULL;
	if (json_is_object(v))
		return json_object_size(v) == 0;
	return is_scalar(v) || is_scalar_array(v);
}

static void append_scalar(struct buf *b, const json_t *v)
{
	if (json_is_string(v))
		check(
		    buf_append(b, json_string_value(v), json_string_length(v)));
	else if (json_is_integer(v))
		check(buf_printf(b, "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v)));
	else if (json_is_real(v))
		check(buf_printf(b, "%.15g", json_real_value(v)));
	else if (json_is_boolean(v))
		check(buf_puts(b, json_is_true(v) ? "yes" : "no"));
}

/* The text of a value that fits on one line or in one cell, malloc'd:
 * scalars as such, arrays of scalars joined, empty containers "(none)",
 * anything deeper a short placeholder, null "". */
static char *value_text(const json_t *v)
{
	struct buf b = BUF_INIT;
	size_t i;
	json_t *e;
	char *s;

	if (json_is_array(v) && json_array_size(v) == 0)
		check(buf_puts(&b, "(none)"));
	else if (json_is_object(v))
		check(json_object_size(v) ? buf_puts(&b, "{" ELLIPSIS "}")
					  : buf_puts(&b, "(none)"));
	else if (is_scalar_array(v))
		json_array_foreach(v, i, e)
		{
			if (i)
				check(buf_puts(&b, ", "));
			append_scalar(&b, e);
		}
	else if (json_is_array(v))
		check(buf_printf(&b, "(%zu items)", json_array_size(v)));
	else
		append_scalar(&b, v);
	check(buf_puts(&b, "")); /* terminates the empty text of a null */
	s = buf_steal(&b);
	if (!s)
		oom();
	return s;
}

/* --- table cells -------------------------------------------------------- */

/* A cell shows the first line of its text, cut to MAX columns; "…"
 * marks a cut or further lines. Returns the columns it takes and, with OUT
 * not NULL, writes it. */
static size_t cell(FILE *out, const char *s, size_t max)
{
	const char *nl = strchr(s, '\n');
	size_t len = nl ? (size_t)(nl - s) : strlen(s);
	size_t w = width_of(s, len);
	int cut = (nl && nl[1] != '\0') || w > max;

	if (cut && w > max - 1) {
		w = max - 1;
		len = offset_of(s, len, w);
	}
	if (out) {
		put_clean(out, s, len, 0);
		if (cut)
			fputs(ELLIPSIS, out);
	}
	return w + (cut ? 1 : 0);
}

static void print_header(FILE *out, const char **keys, const size_t *w,
			 size_t ncol, int indent)
{
	size_t c;
	const char *k;

	pad(out, (size_t)indent);
	for (c = 0; c < ncol; c++) {
		for (k = keys[c]; *k; k++)
			fputc(*k >= 'a' && *k <= 'z' ? *k - 'a' + 'A' : *k,
			      out);
		if (c + 1 < ncol)
			pad(out, w[c] - width_of(keys[c], strlen(keys[c])) + 2);
	}
	fputc('\n', out);
}

/* An array of objects as columns; the first object names the columns. */
static void print_table(FILE *out, json_t *arr, int indent)
{
	json_t *first = json_array_get(arr, 0), *row, *v;
	size_t ncol = json_object_size(first), nrow = json_array_size(arr);
	size_t r, c, *w;
	const char **keys, *key;
	char **cells;

	keys = calloc(ncol + 1, sizeof(*keys));
	w = calloc(ncol + 1, sizeof(*w));
	cells = calloc(nrow * ncol + 1, sizeof(*cells));
	if (!keys || !w || !cells)
		oom();
	c = 0;
	json_object_foreach(first, key, v)
	{
		keys[c] = key;
		w[c++] = width_of(key, strlen(key));
	}
	json_array_foreach(arr, r, row) for (c = 0; c < ncol; c++)
	{
		v = json_object_get(row, keys[c]);
		cells[r * ncol + c] = value_text(v);
		if (cell(NULL, cells[r * ncol + c], CELL_MAX) > w[c])
			w[c] = cell(NULL, cells[r * ncol + c], CELL_MAX);
	}
	print_header(out, keys, w, ncol, indent);
	for (r = 0; r < nrow; r++) {
		char **line = cells + r * ncol;
		size_t end = ncol; /* no padding after the last text */

		while (end > 1 && line[end - 1][0] == '\0')
			end--;
		pad(out, (size_t)indent);
		for (c = 0; c < end; c++) {
			/* The last column is not cut: nothing follows it to
			 * align (a passphrase must be read whole). */
			size_t cw = cell(out, line[c],
					 c + 1 < ncol ? CELL_MAX : (size_t)-1);

			if (c + 1 < end)
				pad(out, w[c] - cw + 2);
		}
		fputc('\n', out);
	}
	for (r = 0; r < nrow * ncol; r++)
		free(cells[r]);
	free(cells);
	free(keys);
	free(w);
}

/* --- blocks ------------------------------------------------------------- */

static void print_object(FILE *out, json_t *obj, int indent);
static void print_block(FILE *out, json_t *v, int indent);

static void print_lines(FILE *out, const char *s, int indent)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (len) /* no trailing blanks on an empty line */
			pad(out, (size_t)indent);
		put_clean(out, s, len, 0);
		fputc('\n', out);
		s += len + (nl ? 1 : 0);
	}
}

static int all_objects(json_t *arr)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e) if (!json_is_object(e)) return 0;
	return json_array_size(arr) > 0;
}

/* An array that is neither all scalars nor all objects: one "- " item per
 * element. */
static void print_items(FILE *out, json_t *arr, int indent)
{
	size_t i;
	json_t *e;
	char *s;

	json_array_foreach(arr, i, e)
	{
		pad(out, (size_t)indent);
		if (is_inline(e) || json_is_null(e)) {
			s = value_text(e);
			fputs("- ", out);
			put_clean(out, s, strlen(s), 0);
			fputc('\n', out);
			free(s);
			continue;
		}
		fputs("-\n", out);
		print_block(out, e, indent + STEP);
	}
}

/* A value that does not fit on a line, at INDENT. */
static void print_block(FILE *out, json_t *v, int indent)
{
	if (json_is_object(v))
		print_object(out, v, indent);
	else if (json_is_string(v))
		print_lines(out, json_string_value(v), indent);
	else if (all_objects(v))
		print_table(out, v, indent);
	else if (json_is_array(v))
		print_items(out, v, indent);
}

static void print_pair(FILE *out, const char *key, json_t *v, size_t width,
		       int indent)
{
	char *s = value_text(v);

	pad(out, (size_t)indent);
	put_clean(out, key, strlen(key), 0);
	fputc(':', out);
	pad(out, width - width_of(key, strlen(key)) + 1);
	put_clean(out, s, strlen(s), 0);
	fputc('\n', out);
	free(s);
}

static void print_object(FILE *out, json_t *obj, int indent)
{
	const char *key;
	json_t *v;
	size_t width = 0, lines = 0;

	json_object_foreach(obj, key, v) if (is_inline(v) &&
					     width_of(key, strlen(key)) > width)
	    width = width_of(key, strlen(key));
	json_object_foreach(obj, key, v) if (is_inline(v))
	{
		print_pair(out, key, v, width, indent);
		lines++;
	}
	json_object_foreach(obj, key, v)
	{
		if (is_inline(v) || json_is_null(v))
			continue;
		/* At the top level a blank line sets each part apart. */
		if (indent == 0 && lines++)
			fputc('\n', out);
		pad(out, (size_t)indent);
		put_clean(out, key, strlen(key), 0);
		fputs(":\n", out);
		print_block(out, v, indent + STEP);
	}
}

/* --- entry points ------------------------------------------------------- */

void format_result(FILE *out, json_t *result)
{
	char *s;

	if (json_is_null(result))
		return;
	if (!is_inline(result)) {
		print_block(out, result, 0);
		return;
	}
	s = value_text(result);
	put_clean(out, s, strlen(s), 0);
	fputc('\n', out);
	free(s);
}

void format_json(FILE *out, const json_t *value)
{
	json_dumpf(value, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', out);
}

void format_text(FILE *out, const char *s, size_t len)
{
	fwrite(s, 1, len, out);
	if (len == 0 || s[len - 1] != '\n')
		fputc('\n', out);
}

void format_clean(FILE *out, const char *s)
{
	put_clean(out, s, strlen(s), 1);
}
