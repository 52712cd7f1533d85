/* template.c — see template.h. */
#include "template.h"

#include <string.h>

static const char *const names[] = {"ref",  "org",  "coordinator",
				    "date", "time", "p"};

/* Whether the LEN bytes at NAME are NAME_Z. */
static int is(const char *name, size_t len, const char *name_z)
{
	return strlen(name_z) == len && strncmp(name, name_z, len) == 0;
}

const char *template_check(const char *t)
{
	for (; *t; t++) {
		const char *close;
		size_t i;

		if (*t == '}')
			return "has a '}' without its '{'";
		if (*t != '{')
			continue;
		close = strchr(t + 1, '}');
		if (!close || memchr(t + 1, '{', (size_t)(close - t - 1)))
			return "has a '{' without its '}'";
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (is(t + 1, (size_t)(close - t - 1), names[i]))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return "names an unknown value: it may name {ref}, "
			       "{org}, {coordinator}, {date}, {time} and {p}";
		t = close;
	}
	return NULL;
}

size_t template_expand(const char *t, const struct template_value *v, size_t n,
		       char *out, size_t len)
{
	size_t used = 0;

	while (*t && used + 1 < len) {
		const char *close = *t == '{' ? strchr(t + 1, '}') : NULL;
		const char *val = NULL;

		for (size_t i = 0; close && i < n && !val; i++)
			if (is(t + 1, (size_t)(close - t - 1), v[i].name))
				val = v[i].value ? v[i].value : "";
		if (val) {
			size_t k = strlen(val);

			if (k > len - 1 - used)
				k = len - 1 - used;
			memcpy(out + used, val, k);
			used += k;
			t = close + 1;
		} else {
			out[used++] = *t++;
		}
	}
	out[used] = '\0';
	return used;
}
