/* devreport.c — see devreport.h. */
#include "devreport.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 128)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._:-", *s)))
			return false;
	return true;
}

/* A positive integer member KEY (absent: 0 when optional). */
static int get_id(json_t *o, const char *key, bool required, int64_t max,
		  int64_t *ret, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*ret = 0;
	if (!v)
		return required ? fail(err, errlen, "'%s' is missing", key) : 0;
	if (!json_is_integer(v))
		return fail(err, errlen, "'%s' must be an integer", key);
	if (json_integer_value(v) < 1 || json_integer_value(v) > max)
		return fail(err, errlen, "'%s' is out of range", key);
	*ret = json_integer_value(v);
	return 0;
}

int devreport_parse(const char *json, size_t len, struct devreport *out,
		    char *err, size_t errlen)
{
	static const char *const keys[] = {"id",   "plan",     "goal", "action",
					   "text", "occurred", NULL};
	json_error_t jerr;
	json_t *o, *v;
	const char *key, *s;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (len > DEVREPORT_MAX_BYTES)
		return fail(err, errlen, "%s",
			    "the report is larger than 64 KiB");
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		snprintf(err, errlen, "not JSON (line %d, column %d)",
			 jerr.line, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return fail(err, errlen, "%s",
			    "the report must be a JSON object");
	}
	json_object_foreach(o, key, v)
	{
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], key) != 0; i++)
			;
		if (!keys[i]) {
			json_decref(o);
			/* The key is outside input: do not echo it. */
			return fail(err, errlen, "%s",
				    "unknown key (allowed: id, plan, goal, "
				    "action, text, occurred)");
		}
	}
	v = json_object_get(o, "id");
	if (!v)
		r = fail(err, errlen, "'%s' is missing", "id");
	else if (!json_is_string(v) || !id_ok(json_string_value(v)))
		r = fail(err, errlen,
			 "'%s' must be 1..128 of A-Z a-z 0-9 . _ : -", "id");
	else
		snprintf(out->id, sizeof(out->id), "%s", json_string_value(v));
	if (r == 0)
		r = get_id(o, "plan", true, INT64_MAX / 2, &out->plan, err,
			   errlen);
	if (r == 0)
		r = get_id(o, "goal", true, 99, &out->goal, err, errlen);
	if (r == 0)
		r = get_id(o, "action", false, 99, &out->action, err, errlen);
	v = json_object_get(o, "text");
	if (r == 0 && !v)
		r = fail(err, errlen, "'%s' is missing", "text");
	else if (r == 0 &&
		 (!json_is_string(v) ||
		  json_string_length(v) != strlen(json_string_value(v))))
		r = fail(err, errlen, "'%s' must be a string without NUL",
			 "text");
	else if (r == 0 &&
		 (!json_string_length(v) ||
		  !text_valid(json_string_value(v), DEVIATION_TEXT_MAX, true)))
		r = fail(err, errlen,
			 "'%s' must be 1..20000 bytes of UTF-8 text", "text");
	v = json_object_get(o, "occurred");
	if (r == 0 && v) {
		int y, m, d;

		s = json_string_value(v);
		if (!s || strlen(s) != 10 || date_parse(s, &y, &m, &d) < 0)
			r = fail(err, errlen,
				 "'%s' must be a real date YYYY-MM-DD",
				 "occurred");
		else
			memcpy(out->occurred, s, 11);
	}
	if (r == 0) {
		out->text =
		    strdup(json_string_value(json_object_get(o, "text")));
		if (!out->text)
			r = -ENOMEM;
	}
	json_decref(o);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

void devreport_free(struct devreport *r)
{
	if (!r)
		return;
	free(r->text);
	r->text = NULL;
}
