/* SPDX-License-Identifier: Apache-2.0 */
/* The linter's config file (.petra.yaml), read with base's
 * YAML loader so every mistake names its line. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static const char *const config_keys[] = {
    "ignore",     "severity", "trusted-registries", "label-schema", "failure-threshold",
    "shellcheck", NULL};

void lint_config_release(struct lint_config *c)
{
	free(c->path);
	strvec_clear(&c->ignore);
	for (size_t i = 0; i < c->n_overrides; i++)
		free(c->overrides[i].rule);
	free(c->overrides);
	strvec_clear(&c->trusted_registries);
	for (size_t i = 0; i < c->n_labels; i++)
		free(c->labels[i].name);
	free(c->labels);
	memset(c, 0, sizeof(*c));
}

static int rule_id(const struct petra_yaml *y, const json_t *parent, const char *key, size_t index,
		   const char *id, struct petra_error **err)
{
	if (lint_rule_id_valid(id))
		return 0;
	_cleanup_free_ char *q = str_quote(id);
	return petra_yaml_error(y, parent, key, index, err,
				"unknown rule %s (petra's are PL001-PL4xx, ShellCheck's SCnnnn)",
				q);
}

static int string_list(const struct petra_yaml *y, const json_t *root, const char *key, bool rules,
		       struct strvec *out, struct petra_error **err)
{
	const json_t *seq;
	if (petra_yaml_member(y, root, key, JSON_ARRAY, NULL, &seq, err) < 0)
		return -EINVAL;
	if (!seq)
		return 0;
	size_t i;
	json_t *item;
	json_array_foreach(seq, i, item)
	{
		if (!json_is_string(item) || !json_string_length(item))
			return petra_yaml_error(y, seq, NULL, i, err,
						"%s: entries are non-empty strings, not %s", key,
						petra_yaml_type_name(item));
		if (rules && rule_id(y, seq, NULL, i, json_string_value(item), err) < 0)
			return -EINVAL;
		strvec_push(out, json_string_value(item));
	}
	return 0;
}

static int load(const struct petra_yaml *y, struct lint_config *c, struct petra_error **err)
{
	const json_t *root = petra_yaml_root(y);
	if (!root || json_is_null(root))
		return 0;
	if (!json_is_object(root))
		return petra_yaml_error(y, root, NULL, PETRA_YAML_NODE, err,
					"the lint config is a mapping, not %s",
					petra_yaml_type_name(root));
	if (petra_yaml_check_keys(y, root, "config", config_keys, err) < 0)
		return -EINVAL;
	if (string_list(y, root, "ignore", true, &c->ignore, err) < 0 ||
	    string_list(y, root, "trusted-registries", false, &c->trusted_registries, err) < 0)
		return -EINVAL;
	const json_t *sev, *labels;
	if (petra_yaml_member(y, root, "severity", JSON_OBJECT, NULL, &sev, err) < 0 ||
	    petra_yaml_member(y, root, "label-schema", JSON_OBJECT, NULL, &labels, err) < 0)
		return -EINVAL;
	if (sev) {
		c->overrides = xcalloc(json_object_size(sev) + 1, sizeof(*c->overrides));
		const char *id;
		json_t *level;
		json_object_foreach((json_t *)sev, id, level)
		{
			if (rule_id(y, sev, id, 0, id, err) < 0)
				return -EINVAL;
			enum lint_severity s;
			if (!json_is_string(level) ||
			    lint_severity_parse(json_string_value(level), false, &s) < 0)
				return petra_yaml_error(
				    y, sev, id, 0, err,
				    "severity of %s: error, warning, info, style "
				    "or none",
				    id);
			c->overrides[c->n_overrides].rule = xstrdup(id);
			c->overrides[c->n_overrides++].severity = s;
		}
	}
	if (labels) {
		c->labels = xcalloc(json_object_size(labels) + 1, sizeof(*c->labels));
		const char *name;
		json_t *type;
		json_object_foreach((json_t *)labels, name, type)
		{
			enum lint_label_type t;
			if (!json_is_string(type) ||
			    lint_label_type_parse(json_string_value(type), &t) < 0)
				return petra_yaml_error(
				    y, labels, name, 0, err,
				    "label-schema: the type of %s is text, url, "
				    "rfc3339, semver, hash, spdx or email",
				    name);
			c->labels[c->n_labels].name = xstrdup(name);
			c->labels[c->n_labels++].type = t;
		}
	}
	const json_t *th = json_object_get(root, "failure-threshold");
	if (th) {
		if (!json_is_string(th) ||
		    lint_severity_parse(json_string_value(th), true, &c->threshold) < 0)
			return petra_yaml_error(y, root, "failure-threshold", 0, err,
						"failure-threshold: error, warning, info, style or "
						"none");
	}
	const json_t *sc = json_object_get(root, "shellcheck");
	if (sc) {
		if (!json_is_boolean(sc))
			return petra_yaml_error(y, root, "shellcheck", 0, err,
						"shellcheck: must be true or false, not %s",
						petra_yaml_type_name(sc));
		c->no_shellcheck = json_is_false(sc);
	}
	return 0;
}

int lint_config_parse(const char *data, size_t len, const char *name, struct lint_config *out,
		      struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_yaml_ struct petra_yaml *y = NULL;
	int r = petra_yaml_parse(data, len, name, &y, err);
	if (r == 0)
		r = load(y, out, err);
	if (r < 0) {
		lint_config_release(out);
		return petra_error_prefix(err, "lint config");
	}
	out->path = xstrdup(name);
	return 0;
}

int lint_config_load(int dirfd, const char *path, struct lint_config *out, struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (fs_read_file_at(dirfd, path, 1u << 20, &data, &len, err) < 0)
		return petra_error_prefix(err, "lint config");
	return lint_config_parse(data, len, path, out, err);
}

int lint_config_load_default(const char *path, struct lint_config *out, bool *loaded,
			     struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	*loaded = false;
	struct stat st;
	if (!path && stat(LINT_CONFIG_DEFAULT, &st) < 0)
		return 0;
	int r = lint_config_load(AT_FDCWD, path ? path : LINT_CONFIG_DEFAULT, out, err);
	*loaded = r == 0;
	return r;
}
