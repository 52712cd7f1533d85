/* rowval.h — small readers shared by the code that works on store rows
 * (JSON objects from store_row()/store_rows()) and writes for users. */
#ifndef KIP_ROWVAL_H
#define KIP_ROWVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

/* A column's text, NULL when absent or NULL. */
static inline const char *row_str(json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

/* A column's integer, 0 when absent or NULL. */
static inline int64_t row_num(json_t *row, const char *key)
{
	return json_integer_value(json_object_get(row, key));
}

/* Whether texts for users are written in Danish (the default) rather
 * than English (language.default = "en"). */
static inline bool texts_danish(const struct kip_config *cfg)
{
	return strcmp(cfg->default_lang, "en") != 0;
}

#endif
