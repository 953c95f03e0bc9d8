/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers over jansson. */
#include "base.h"

#include <string.h>

json_t *json_parse_buffer(const char *data, size_t len, const char *what, struct petra_error **err)
{
	json_error_t jerr;
	json_t *json = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!json) {
		petra_error_set(err, EINVAL, "%s: invalid JSON at line %d column %d: %s", what,
				jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	return json;
}

char *json_dump_compact(const json_t *json, size_t *len)
{
	char *s = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	if (!s) {
		fprintf(stderr, "petra: out of memory (serialising JSON)\n");
		abort();
	}
	if (len)
		*len = strlen(s);
	return s;
}

char *json_dump_pretty(const json_t *json)
{
	char *s = json_dumps(json, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	if (!s) {
		fprintf(stderr, "petra: out of memory (serialising JSON)\n");
		abort();
	}
	return s;
}

const char *json_get_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_int_t json_get_int(const json_t *obj, const char *key, json_int_t def)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : def;
}
