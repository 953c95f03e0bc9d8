/* SPDX-License-Identifier: Apache-2.0 */
/* Manifests as YAML: the jansson tree becomes a libfyaml document, node by
 * node, and libfyaml emits it; no YAML is put together from strings here.
 * A string is left plain only when no YAML reader could take it for
 * anything else; otherwise it is built from its JSON form, which libfyaml
 * keeps double-quoted ("8080", "true", "yes" and "1e3" stay strings). */
#include "kube.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Whether a string reads back as the same string when written plain, by
 * YAML 1.1 and 1.2 readers alike. */
static bool plain_is_safe(const char *s)
{
	static const char *const words[] = {"y",    "n",     "yes",  "no",  "on", "off",
					    "true", "false", "null", "nan", "inf"};
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '/'))
		return false;
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./@-",
			    *p) &&
		    !(*p == ':' && p[1] != ' ' && p[1] != '\0'))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	return true;
}

static struct fy_node *scalar_node(struct fy_document *doc, const json_t *j)
{
	if (json_is_string(j) && plain_is_safe(json_string_value(j)))
		return fy_node_create_scalar_copy(doc, json_string_value(j), FY_NT);
	/* Numbers, booleans, null and every other string: their JSON text is
	 * also their YAML text. */
	char *text = json_dumps(j, JSON_ENCODE_ANY);
	if (!text)
		return NULL;
	/* libfyaml points into the text rather than copying it: the document
	 * takes it and frees it with itself. */
	struct fy_node *node = fy_node_build_from_malloc_string(doc, text, FY_NT);
	if (!node)
		free(text);
	return node;
}

static struct fy_node *to_node(struct fy_document *doc, const json_t *j)
{
	if (json_is_object(j)) {
		struct fy_node *map = fy_node_create_mapping(doc);
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)j, key, v)
		{
			_cleanup_json_ json_t *k = json_string(key);
			struct fy_node *kn = scalar_node(doc, k), *vn = to_node(doc, v);
			if (!map || !kn || !vn || fy_node_mapping_append(map, kn, vn) != 0)
				return NULL;
		}
		return map;
	}
	if (json_is_array(j)) {
		struct fy_node *seq = fy_node_create_sequence(doc);
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
		{
			struct fy_node *vn = to_node(doc, v);
			if (!seq || !vn || fy_node_sequence_append(seq, vn) != 0)
				return NULL;
		}
		return seq;
	}
	return scalar_node(doc, j);
}

int kube_yaml_emit(const json_t *object, struct strbuf *out, struct petra_error **err)
{
	struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET};
	struct fy_document *doc = fy_document_create(&cfg);
	if (!doc)
		return petra_error_set(err, ENOMEM, "a YAML document");
	struct fy_node *root = to_node(doc, object);
	char *yaml = NULL;
	if (root && fy_document_set_root(doc, root) == 0)
		yaml =
		    fy_emit_document_to_string(doc, FYECF_MODE_BLOCK | FYECF_INDENT_2 |
							FYECF_WIDTH_INF | FYECF_DOC_START_MARK_ON);
	fy_document_destroy(doc);
	if (!yaml)
		return petra_error_set(err, EINVAL, "libfyaml could not emit a generated manifest");
	strbuf_addstr(out, yaml);
	free(yaml);
	return 0;
}
