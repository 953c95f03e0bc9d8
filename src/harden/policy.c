/* SPDX-License-Identifier: Apache-2.0 */
/* The harden section of the policy file (docs/POLICY.md): the defaults of
 * petra harden, validated here; errors name the file, line and column. */
#include "harden.h"

#include <string.h>

#include "policy/policy.h"

static const char *const harden_keys[] = {"user",        "writable", "strip-shells", "strip",
					  "keep-setuid", "squash",   "base-layers",  NULL};
static const char *const writable_keys[] = {"path", "size", NULL};

static int boolean(const struct petra_yaml *y, const json_t *sec, const char *key, bool *out,
		   struct petra_error **err)
{
	json_t *v = json_object_get(sec, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return petra_yaml_error(y, sec, key, 0, err, "harden: %s is true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int writable_entry(const struct petra_yaml *y, const json_t *list, size_t i,
			  struct image_writable_path *w, struct petra_error **err)
{
	const json_t *item = json_array_get(list, i);
	memset(w, 0, sizeof(*w));
	const json_t *path = item, *size = NULL;
	if (json_is_object(item)) {
		if (petra_yaml_check_keys(y, item, "harden.writable", writable_keys, err) < 0)
			return -EINVAL;
		path = json_object_get(item, "path");
		size = json_object_get(item, "size");
	}
	if (!json_is_string(path) || json_string_value(path)[0] != '/')
		return petra_yaml_error(y, list, NULL, i, err,
					"harden: a writable path is an absolute path, or "
					"{path, size} with one");
	if (size && (!json_is_integer(size) || json_integer_value(size) <= 0))
		return petra_yaml_error(y, item, "size", 0, err,
					"harden: size is a number of bytes");
	w->path = xstrdup(json_string_value(path));
	w->size = size ? (uint64_t)json_integer_value(size) : 0;
	return 0;
}

int harden_options_from_policy(const struct petra_policy *policy, struct harden_options *o,
			       struct image_writable_path **writable, size_t *n_writable,
			       struct strvec *strip, struct petra_error **err)
{
	*writable = NULL;
	*n_writable = 0;
	const json_t *sec = policy ? petra_policy_section(policy, "harden") : NULL;
	if (!sec)
		return 0;
	const struct petra_yaml *y = petra_policy_yaml(policy);
	if (petra_yaml_check_keys(y, sec, "harden", harden_keys, err) < 0 ||
	    boolean(y, sec, "strip-shells", &o->strip_shells, err) < 0 ||
	    boolean(y, sec, "keep-setuid", &o->keep_setuid, err) < 0)
		return -EINVAL;
	json_t *v = json_object_get(sec, "user");
	if (v && !json_is_string(v))
		return petra_yaml_error(y, sec, "user", 0, err,
					"harden: user is a string (\"uid[:gid]\" or a name)");
	if (v)
		o->user = json_string_value(v);
	v = json_object_get(sec, "squash");
	if (v &&
	    (!json_is_string(v) || harden_squash_parse(json_string_value(v), &o->squash, NULL) < 0))
		return petra_yaml_error(y, sec, "squash", 0, err,
					"harden: squash is app, all or none");
	v = json_object_get(sec, "base-layers");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
		return petra_yaml_error(y, sec, "base-layers", 0, err,
					"harden: base-layers wants a count (0 or more)");
	if (v)
		o->base_layers = (long)json_integer_value(v);
	const json_t *list = json_object_get(sec, "strip");
	if (list && !json_is_array(list))
		return petra_yaml_error(y, sec, "strip", 0, err,
					"harden: strip is a list of paths");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *p = json_array_get(list, i);
		if (!json_is_string(p) || json_string_value(p)[0] != '/')
			return petra_yaml_error(y, list, NULL, i, err,
						"harden: strip lists absolute paths");
		strvec_push(strip, json_string_value(p));
	}
	list = json_object_get(sec, "writable");
	if (list && !json_is_array(list))
		return petra_yaml_error(y, sec, "writable", 0, err,
					"harden: writable is a list of paths");
	size_t n = json_array_size(list);
	struct image_writable_path *w = xcalloc(n ? n : 1, sizeof(*w));
	for (size_t i = 0; i < n; i++)
		if (writable_entry(y, list, i, &w[i], err) < 0) {
			image_writable_paths_free(w, i);
			return -EINVAL;
		}
	*writable = w;
	*n_writable = n;
	return 0;
}
