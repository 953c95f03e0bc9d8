/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy file: its top-level shape and the `bases` section. Every other
 * section belongs to the module that reads it; the loader only checks that
 * it is a mapping, so one file can carry settings for stages not built yet
 * without this module knowing their insides.
 */
#include "policy.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

struct petra_policy {
	char *path;
	struct petra_yaml *yaml;
	struct policy_bases bases;
};

/* Top-level sections in pipeline order. Sections other than `bases` are
 * filled by later stages; docs/POLICY.md says what each will hold. */
static const char *const top_level_keys[] = {
    "version", "bases", "build", "harden", "audit", "test", "sign", "trust", "deploy", "run", NULL,
};
static const char *const bases_keys[] = {"require-digest", "allow", "ban", "rewrite", NULL};
static const char *const ban_keys[] = {"image", "digest", "reason", NULL};
static const char *const rewrite_keys[] = {"id", "match", "to", "pin", "mirror", "reason", NULL};

static void bases_release(struct policy_bases *b)
{
	for (size_t i = 0; i < b->n_allow; i++) {
		free(b->allow[i].text);
		free(b->allow[i].pattern);
	}
	free(b->allow);
	for (size_t i = 0; i < b->n_ban; i++) {
		free(b->ban[i].text);
		free(b->ban[i].pattern);
		free(b->ban[i].digest);
		free(b->ban[i].reason);
	}
	free(b->ban);
	for (size_t i = 0; i < b->n_rewrite; i++) {
		struct policy_rewrite *rw = &b->rewrite[i];
		free(rw->id);
		free(rw->match);
		policy_ref_release(&rw->to);
		free(rw->digest);
		free(rw->prefix_from);
		free(rw->prefix_to);
		free(rw->reason);
	}
	free(b->rewrite);
	memset(b, 0, sizeof(*b));
}

void petra_policy_free(struct petra_policy *policy)
{
	if (!policy)
		return;
	bases_release(&policy->bases);
	petra_yaml_free(policy->yaml);
	free(policy->path);
	free(policy);
}

const char *petra_policy_path(const struct petra_policy *policy)
{
	return policy->path;
}

const struct policy_bases *petra_policy_bases(const struct petra_policy *policy)
{
	return &policy->bases;
}

const struct petra_yaml *petra_policy_yaml(const struct petra_policy *policy)
{
	return policy->yaml;
}

const json_t *petra_policy_section(const struct petra_policy *policy, const char *name)
{
	const json_t *root = policy ? petra_yaml_root(policy->yaml) : NULL;
	return root ? json_object_get(root, name) : NULL;
}

/* ---- validation ---------------------------------------------------------- */

struct loader {
	const struct petra_yaml *y;
	struct petra_error **err;
};

/* A required (or optional) string member of a mapping; "" is refused. */
static int get_string(struct loader *l, const json_t *map, const char *key, const char *what,
		      bool required, const char **out)
{
	const json_t *v = json_object_get(map, key);
	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		return petra_yaml_error(l->y, map, NULL, PETRA_YAML_NODE, l->err,
					"%s: \"%s\" is required", what, key);
	}
	if (!json_is_string(v) || !json_string_length(v))
		return petra_yaml_error(
		    l->y, map, key, 0, l->err, "%s: \"%s\" must be a non-empty string, not %s",
		    what, key, json_is_string(v) ? "an empty one" : petra_yaml_type_name(v));
	*out = json_string_value(v);
	return 0;
}

static int pattern_from(struct loader *l, const json_t *parent, const char *key, size_t index,
			const char *text, char **out)
{
	struct petra_error *e = NULL;
	if (policy_pattern_normalize(text, out, &e) < 0) {
		int r = petra_yaml_error(l->y, parent, key, index, l->err, "%s", e->message);
		petra_error_free(e);
		return r;
	}
	return 0;
}

static unsigned line_of(struct loader *l, const json_t *parent, const char *key, size_t index)
{
	unsigned line;
	petra_yaml_position(l->y, parent, key, index, &line, NULL);
	return line;
}

static int load_allow(struct loader *l, struct policy_bases *b, const json_t *seq)
{
	b->allow = xcalloc(json_array_size(seq) + 1, sizeof(*b->allow));
	size_t i;
	json_t *item;
	json_array_foreach(seq, i, item)
	{
		if (!json_is_string(item))
			return petra_yaml_error(
			    l->y, seq, NULL, i, l->err,
			    "bases.allow: entries are image patterns (strings), "
			    "not %s",
			    petra_yaml_type_name(item));
		struct policy_pattern *p = &b->allow[b->n_allow++];
		p->text = xstrdup(json_string_value(item));
		p->line = line_of(l, seq, NULL, i);
		if (pattern_from(l, seq, NULL, i, p->text, &p->pattern) < 0)
			return -EINVAL;
	}
	return 0;
}

static int load_ban(struct loader *l, struct policy_bases *b, const json_t *seq)
{
	b->ban = xcalloc(json_array_size(seq) + 1, sizeof(*b->ban));
	size_t i;
	json_t *item;
	json_array_foreach(seq, i, item)
	{
		if (!json_is_object(item))
			return petra_yaml_error(l->y, seq, NULL, i, l->err,
						"bases.ban: entries are mappings with \"image\" or "
						"\"digest\" and a \"reason\", not %s",
						petra_yaml_type_name(item));
		if (petra_yaml_check_keys(l->y, item, "bases.ban", ban_keys, l->err) < 0)
			return -EINVAL;
		const char *image, *digest, *reason;
		if (get_string(l, item, "image", "bases.ban", false, &image) < 0 ||
		    get_string(l, item, "digest", "bases.ban", false, &digest) < 0 ||
		    get_string(l, item, "reason", "bases.ban", true, &reason) < 0)
			return -EINVAL;
		if (!image == !digest)
			return petra_yaml_error(l->y, seq, NULL, i, l->err,
						"bases.ban: give one of \"image\" or \"digest\"");
		struct policy_ban *ban = &b->ban[b->n_ban++];
		ban->reason = xstrdup(reason);
		ban->line = line_of(l, seq, NULL, i);
		if (digest) {
			if (!policy_digest_valid(digest))
				return petra_yaml_error(l->y, item, "digest", 0, l->err,
							"bases.ban: invalid digest \"%s\" "
							"(sha256:<64 hex digits>)",
							digest);
			ban->text = xstrdup(digest);
			ban->digest = xstrdup(digest);
		} else {
			ban->text = xstrdup(image);
			if (pattern_from(l, item, "image", 0, image, &ban->pattern) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

/* A mirror prefix: a normalised name prefix without wildcards. */
static int mirror_prefix(struct loader *l, const json_t *item, const char *key, const char *text,
			 bool normalise, char **out)
{
	if (strpbrk(text, "*?@ \t") || strstr(text, "//"))
		return petra_yaml_error(l->y, item, key, 0, l->err,
					"bases.rewrite: %s \"%s\" must be a plain name prefix "
					"(no wildcards, tags or digests)",
					key, text);
	size_t n = strlen(text);
	while (n && text[n - 1] == '/')
		n--;
	if (!n)
		return petra_yaml_error(l->y, item, key, 0, l->err,
					"bases.rewrite: %s must not be empty", key);
	_cleanup_free_ char *trimmed = xstrndup(text, n);
	if (!normalise) {
		*out = steal_pointer(&trimmed);
		return 0;
	}
	/* "docker.io" alone, or a name prefix normalised like a pattern */
	if (!strchr(trimmed, '/') && strchr(trimmed, '.'))
		*out = xstrdup(!strcmp(trimmed, "index.docker.io") ? "docker.io" : trimmed);
	else if (pattern_from(l, item, key, 0, trimmed, out) < 0)
		return -EINVAL;
	return 0;
}

static int load_rewrite(struct loader *l, struct policy_bases *b, const json_t *seq)
{
	b->rewrite = xcalloc(json_array_size(seq) + 1, sizeof(*b->rewrite));
	size_t i;
	json_t *item;
	json_array_foreach(seq, i, item)
	{
		if (!json_is_object(item))
			return petra_yaml_error(l->y, seq, NULL, i, l->err,
						"bases.rewrite: entries are mappings, not %s",
						petra_yaml_type_name(item));
		if (petra_yaml_check_keys(l->y, item, "bases.rewrite", rewrite_keys, l->err) < 0)
			return -EINVAL;
		const char *id, *match, *to, *pin, *mirror, *reason;
		if (get_string(l, item, "id", "bases.rewrite", false, &id) < 0 ||
		    get_string(l, item, "match", "bases.rewrite", false, &match) < 0 ||
		    get_string(l, item, "to", "bases.rewrite", false, &to) < 0 ||
		    get_string(l, item, "pin", "bases.rewrite", false, &pin) < 0 ||
		    get_string(l, item, "mirror", "bases.rewrite", false, &mirror) < 0 ||
		    get_string(l, item, "reason", "bases.rewrite", true, &reason) < 0)
			return -EINVAL;
		struct policy_rewrite *rw = &b->rewrite[b->n_rewrite++];
		rw->line = line_of(l, seq, NULL, i);
		rw->reason = xstrdup(reason);
		rw->id = id ? xstrdup(id) : xasprintf("rewrite #%zu", i + 1);
		for (size_t k = 0; k + 1 < b->n_rewrite; k++)
			if (!strcmp(b->rewrite[k].id, rw->id))
				return petra_yaml_error(l->y, item, "id", 0, l->err,
							"bases.rewrite: id \"%s\" is used twice",
							rw->id);
		if (match && to && !pin && !mirror) {
			rw->kind = POLICY_REWRITE_REPLACE;
			struct petra_error *e = NULL;
			if (policy_ref_parse(to, &rw->to, &e) < 0) {
				int r = petra_yaml_error(l->y, item, "to", 0, l->err,
							 "bases.rewrite: %s", e->message);
				petra_error_free(e);
				return r;
			}
			rw->to_has_ref = rw->to.tag || rw->to.digest;
		} else if (match && pin && !to && !mirror) {
			rw->kind = POLICY_REWRITE_PIN;
			if (!policy_digest_valid(pin))
				return petra_yaml_error(l->y, item, "pin", 0, l->err,
							"bases.rewrite: invalid digest \"%s\" "
							"(sha256:<64 hex digits>)",
							pin);
			rw->digest = xstrdup(pin);
		} else if (mirror && to && !match && !pin) {
			rw->kind = POLICY_REWRITE_MIRROR;
			if (mirror_prefix(l, item, "mirror", mirror, true, &rw->prefix_from) < 0 ||
			    mirror_prefix(l, item, "to", to, false, &rw->prefix_to) < 0)
				return -EINVAL;
		} else {
			return petra_yaml_error(l->y, seq, NULL, i, l->err,
						"bases.rewrite: a rule is \"match\" with \"to\" "
						"(replace) or \"pin\" (digest pin), or \"mirror\" "
						"with \"to\" (registry mirror)");
		}
		if (match && pattern_from(l, item, "match", 0, match, &rw->match) < 0)
			return -EINVAL;
	}
	return 0;
}

static int load_bases(struct loader *l, struct policy_bases *b, const json_t *bases)
{
	if (petra_yaml_check_keys(l->y, bases, "bases", bases_keys, l->err) < 0)
		return -EINVAL;
	const json_t *rd = json_object_get(bases, "require-digest");
	if (rd && !json_is_boolean(rd))
		return petra_yaml_error(l->y, bases, "require-digest", 0, l->err,
					"bases.require-digest: must be true or false, not %s",
					petra_yaml_type_name(rd));
	b->require_digest = rd && json_is_true(rd);
	const json_t *seq;
	if (petra_yaml_member(l->y, bases, "allow", JSON_ARRAY, "bases", &seq, l->err) < 0 ||
	    (seq && load_allow(l, b, seq) < 0))
		return -EINVAL;
	if (petra_yaml_member(l->y, bases, "ban", JSON_ARRAY, "bases", &seq, l->err) < 0 ||
	    (seq && load_ban(l, b, seq) < 0))
		return -EINVAL;
	if (petra_yaml_member(l->y, bases, "rewrite", JSON_ARRAY, "bases", &seq, l->err) < 0 ||
	    (seq && load_rewrite(l, b, seq) < 0))
		return -EINVAL;
	return 0;
}

static int validate(struct petra_policy *p, struct petra_error **err)
{
	struct loader l = {.y = p->yaml, .err = err};
	const json_t *root = petra_yaml_root(p->yaml);
	if (!root || json_is_null(root))
		return 0; /* an empty policy: nothing is required */
	if (!json_is_object(root))
		return petra_yaml_error(p->yaml, root, NULL, PETRA_YAML_NODE, err,
					"a policy is a mapping of sections, not %s",
					petra_yaml_type_name(root));
	if (petra_yaml_check_keys(p->yaml, root, "policy", top_level_keys, err) < 0)
		return -EINVAL;
	const json_t *version = json_object_get(root, "version");
	if (version && !(json_is_integer(version) && json_integer_value(version) == 1))
		return petra_yaml_error(p->yaml, root, "version", 0, err,
					"unsupported policy version (this petra reads version 1)");
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)root, key, value)
	{
		if (!strcmp(key, "version") || json_is_object(value))
			continue;
		if (json_is_null(value)) /* "run:" with nothing under it */
			continue;
		return petra_yaml_error(p->yaml, root, key, 0, err, "%s: must be a mapping, not %s",
					key, petra_yaml_type_name(value));
	}
	const json_t *bases = json_object_get(root, "bases");
	if (json_is_object(bases) && load_bases(&l, &p->bases, bases) < 0)
		return -EINVAL;
	return 0;
}

int petra_policy_parse(const char *data, size_t len, const char *name, struct petra_policy **out,
		       struct petra_error **err)
{
	*out = NULL;
	struct petra_policy *p = xcalloc(1, sizeof(*p));
	p->path = xstrdup(name);
	int r = petra_yaml_parse(data, len, name, &p->yaml, err);
	if (r == 0)
		r = validate(p, err);
	if (r < 0) {
		petra_policy_free(p);
		return petra_error_prefix(err, "policy");
	}
	*out = p;
	return 0;
}

int petra_policy_load(int dirfd, const char *path, struct petra_policy **out,
		      struct petra_error **err)
{
	*out = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = fs_read_file_at(dirfd, path, 1u << 20, &data, &len, err);
	if (r < 0)
		return petra_error_prefix(err, "policy");
	return petra_policy_parse(data, len, path, out, err);
}

int petra_policy_load_default(const char *path, struct petra_policy **out, struct petra_error **err)
{
	*out = NULL;
	if (path)
		return petra_policy_load(AT_FDCWD, path, out, err);
	struct stat st;
	if (stat(PETRA_POLICY_DEFAULT, &st) < 0)
		return 0;
	return petra_policy_load(AT_FDCWD, PETRA_POLICY_DEFAULT, out, err);
}
