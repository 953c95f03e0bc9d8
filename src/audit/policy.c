/* SPDX-License-Identifier: Apache-2.0 */
/* The audit section of the policy file (docs/POLICY.md): thresholds, the
 * allow-list, fail-on. Validated here, where its keys mean something;
 * errors name the file, line and column. */
#include "internal.h"

#include <string.h>

#include "policy/policy.h"

static const char *const audit_keys[] = {"fail-on", "base-layers", "efficiency", "allow", NULL};
static const char *const efficiency_keys[] = {"min-score", "max-wasted-bytes", "max-wasted-share",
					      "min-wasted-file", NULL};
static const char *const allow_keys[] = {"id", "path", "fingerprint", "reason", NULL};

static int number(const struct petra_yaml *y, const json_t *map, const char *key, double min,
		  double max, double *out, struct petra_error **err)
{
	json_t *v = json_object_get(map, key);
	if (!v)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max)
		return petra_yaml_error(y, map, key, 0, err,
					"audit: %s wants a number from %g to %g", key, min, max);
	*out = json_number_value(v);
	return 1;
}

static int count(const struct petra_yaml *y, const json_t *map, const char *key, uint64_t *out,
		 struct petra_error **err)
{
	json_t *v = json_object_get(map, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return petra_yaml_error(y, map, key, 0, err,
					"audit: %s wants a count of bytes (0 or more)", key);
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

int audit_options_from_policy(const struct petra_policy *policy, struct audit_options *o,
			      struct audit_allow **allow, size_t *n_allow,
			      enum audit_severity *fail_on, struct petra_error **err)
{
	*allow = NULL;
	*n_allow = 0;
	const json_t *sec = policy ? petra_policy_section(policy, "audit") : NULL;
	if (!sec)
		return 0;
	const struct petra_yaml *y = petra_policy_yaml(policy);
	if (petra_yaml_check_keys(y, sec, "audit", audit_keys, err) < 0)
		return -EINVAL;
	json_t *v = json_object_get(sec, "fail-on");
	if (v &&
	    (!json_is_string(v) || audit_severity_parse(json_string_value(v), fail_on, NULL) < 0))
		return petra_yaml_error(y, sec, "fail-on", 0, err,
					"audit: fail-on is error, warning, info or none");
	v = json_object_get(sec, "base-layers");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return petra_yaml_error(y, sec, "base-layers", 0, err,
						"audit: base-layers wants a count (0 or more)");
		o->base_layers = (long)json_integer_value(v);
	}
	const json_t *eff = json_object_get(sec, "efficiency");
	if (eff) {
		if (!json_is_object(eff))
			return petra_yaml_error(y, sec, "efficiency", 0, err,
						"audit: efficiency is a mapping");
		if (petra_yaml_check_keys(y, eff, "audit.efficiency", efficiency_keys, err) < 0 ||
		    number(y, eff, "min-score", 0, 1, &o->min_efficiency, err) < 0 ||
		    number(y, eff, "max-wasted-share", 0, 1e9, &o->max_wasted_share, err) < 0 ||
		    count(y, eff, "max-wasted-bytes", &o->max_wasted_bytes, err) < 0 ||
		    count(y, eff, "min-wasted-file", &o->min_wasted_file, err) < 0)
			return -EINVAL;
	}
	const json_t *list = json_object_get(sec, "allow");
	if (!list)
		return 0;
	if (!json_is_array(list))
		return petra_yaml_error(y, sec, "allow", 0, err, "audit: allow is a list");
	size_t n = json_array_size(list);
	struct audit_allow *a = xcalloc(n ? n : 1, sizeof(*a));
	for (size_t i = 0; i < n; i++) {
		const json_t *item = json_array_get(list, i);
		int r = json_is_object(item)
			    ? 0
			    : petra_yaml_error(y, list, NULL, i, err,
					       "audit: an allow entry is a mapping");
		if (r == 0)
			r = petra_yaml_check_keys(y, item, "audit.allow", allow_keys, err);
		const char **fields[] = {&a[i].id, &a[i].path, &a[i].fingerprint};
		static const char *const names[] = {"id", "path", "fingerprint"};
		for (size_t k = 0; k < 3 && r == 0; k++) {
			json_t *f = json_object_get(item, names[k]);
			if (f && !json_is_string(f))
				r = petra_yaml_error(y, item, names[k], 0, err,
						     "audit: allow: %s is a string", names[k]);
			*fields[k] = f ? json_string_value(f) : NULL;
		}
		if (r == 0 && !a[i].id && !a[i].path && !a[i].fingerprint)
			r = petra_yaml_error(y, list, NULL, i, err,
					     "audit: an allow entry needs id, path or fingerprint");
		if (r < 0) {
			free(a);
			return r;
		}
	}
	*allow = a;
	*n_allow = n;
	return 0;
}
