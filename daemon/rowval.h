/* rowval.h — small readers of store rows (JSON objects from
 * store_row()/store_rows()). */
#ifndef KIP_ROWVAL_H
#define KIP_ROWVAL_H

#include <jansson.h>
#include <stdint.h>

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

#endif
