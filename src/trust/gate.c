/* SPDX-License-Identifier: Apache-2.0 */
/* The gate: may this store image become a process? One answer with every
 * reason, from the policy file's `bases` (the image or its base banned, the
 * base not in the catalog) and `trust` (signature requirements), cached per
 * manifest digest and policy digest. */
#include "trust.h"
#include "internal.h"
#include "lineage/lineage.h"
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define BASE_NAME_ANNOTATION   "org.opencontainers.image.base.name"
#define BASE_DIGEST_ANNOTATION "org.opencontainers.image.base.digest"

static const char *const trust_keys[] = {"default", "scopes", "signature-policy", NULL};
static const char *const scope_keys[] = {"require", "keys", "identity", NULL};

struct trust_scope {
	char *text;    /* as written */
	char *pattern; /* normalised */
	enum trust_requirement require;
	struct strvec keys; /* paths, resolved against the policy's directory */
	struct strvec pems; /* their contents, read once: hashed and verified with */
	enum trust_match match;
	unsigned specificity;
};

struct trust_rules {
	char *signature_policy;      /* a containers-policy.json that must also accept */
	char *signature_policy_text; /* its bytes, read once */
	size_t signature_policy_len;
	struct trust_scope fallback; /* `default` */
	struct trust_scope *scopes;
	size_t n_scopes;
};

static const char *const requirement_names[] = {
    [TRUST_REQUIRE_ACCEPT] = "accept",
    [TRUST_REQUIRE_REJECT] = "reject",
    [TRUST_REQUIRE_SIGNED_BY] = "signed-by",
};

const char *trust_purpose_name(enum trust_purpose purpose)
{
	static const char *const names[] = {
	    [TRUST_PURPOSE_RUN] = "run",     [TRUST_PURPOSE_EXEC] = "exec",
	    [TRUST_PURPOSE_TEST] = "test",   [TRUST_PURPOSE_BUNDLE] = "bundle",
	    [TRUST_PURPOSE_CHECK] = "check", [TRUST_PURPOSE_DEPLOY] = "deploy",
	};
	return names[purpose];
}

static void rules_release(struct trust_rules *r)
{
	for (size_t i = 0; i < r->n_scopes; i++) {
		free(r->scopes[i].text);
		free(r->scopes[i].pattern);
		strvec_clear(&r->scopes[i].keys);
		strvec_clear(&r->scopes[i].pems);
	}
	free(r->scopes);
	free(r->signature_policy);
	free(r->signature_policy_text);
	strvec_clear(&r->fallback.keys);
	strvec_clear(&r->fallback.pems);
	memset(r, 0, sizeof(*r));
}

/* Literal characters before the first wildcard, then the length: an
 * exact reference beats a repository, which beats a registry or a glob. */
static unsigned specificity(const char *pattern)
{
	size_t literal = strcspn(pattern, "*?[");
	return (unsigned)(literal * 1024 + strlen(pattern));
}

static int parse_requirement(const struct petra_yaml *y, const json_t *map, const char *what,
			     const char *dir, struct trust_scope *s, struct petra_error **err)
{
	if (petra_yaml_check_keys(y, map, what, scope_keys, err) < 0)
		return -1;
	const char *require = json_get_string(map, "require");
	if (!require)
		return petra_yaml_error(y, map, "require", 0, err,
					"%s.require: accept, reject or signed-by", what);
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(requirement_names); i++)
		if (!strcmp(require, requirement_names[i])) {
			s->require = (enum trust_requirement)i;
			known = true;
		}
	if (!known)
		return petra_yaml_error(y, map, "require", 0, err,
					"%s.require: unknown requirement \"%s\" (known: accept, "
					"reject, signed-by)",
					what, require);
	const json_t *keys = NULL;
	if (petra_yaml_member(y, map, "keys", JSON_ARRAY, what, &keys, err) < 0)
		return -1;
	size_t i;
	const json_t *k;
	json_array_foreach(keys, i, k)
	{
		if (!json_is_string(k))
			return petra_yaml_error(y, keys, NULL, i, err, "%s.keys: not a path", what);
		const char *path = json_string_value(k);
		strvec_push_nodup(&s->keys, path[0] == '/' ? xstrdup(path) : path_join(dir, path));
	}
	if (s->require == TRUST_REQUIRE_SIGNED_BY && !s->keys.n)
		return petra_yaml_error(y, map, "require", 0, err, "%s: signed-by needs keys",
					what);
	s->match = TRUST_MATCH_REPO_DIGEST_OR_EXACT;
	const char *identity = json_get_string(map, "identity");
	if (identity && trust_match_parse(identity, &s->match, NULL) < 0)
		return petra_yaml_error(y, map, "identity", 0, err,
					"%s.identity: unknown rule \"%s\"", what, identity);
	return 0;
}

/* The `trust` section (docs/POLICY.md). No section: accept everything. */
static int rules_load(const struct petra_policy *policy, struct trust_rules *r,
		      struct petra_error **err)
{
	memset(r, 0, sizeof(*r));
	r->fallback.require = TRUST_REQUIRE_ACCEPT;
	const json_t *section = policy ? petra_policy_section(policy, "trust") : NULL;
	if (!section)
		return 0;
	const struct petra_yaml *y = petra_policy_yaml(policy);
	_cleanup_free_ char *path_copy =
	    xstrdup(petra_policy_path(policy) ? petra_policy_path(policy) : ".");
	const char *dir = dirname(path_copy);
	if (petra_yaml_check_keys(y, section, "trust", trust_keys, err) < 0)
		return -1;
	const json_t *sp = json_object_get(section, "signature-policy");
	if (sp && !json_is_string(sp))
		return petra_yaml_error(y, section, "signature-policy", 0, err,
					"trust.signature-policy: must be a path");
	if (sp) {
		const char *path = json_string_value(sp);
		r->signature_policy = path[0] == '/' ? xstrdup(path) : path_join(dir, path);
	}
	const json_t *fallback = NULL;
	if (petra_yaml_member(y, section, "default", JSON_OBJECT, "trust", &fallback, err) < 0 ||
	    (fallback &&
	     parse_requirement(y, fallback, "trust.default", dir, &r->fallback, err) < 0))
		return -1;
	const json_t *scopes = NULL;
	if (petra_yaml_member(y, section, "scopes", JSON_OBJECT, "trust", &scopes, err) < 0)
		return -1;
	const char *key;
	const json_t *value;
	r->scopes = xcalloc(json_object_size(scopes) + 1, sizeof(*r->scopes));
	json_object_foreach((json_t *)scopes, key, value)
	{
		struct trust_scope *s = &r->scopes[r->n_scopes++];
		s->text = xstrdup(key);
		if (policy_pattern_normalize(key, &s->pattern, NULL) < 0)
			return petra_yaml_error(y, scopes, key, 0, err,
						"trust.scopes: \"%s\" is not an image pattern",
						key);
		s->specificity = specificity(s->pattern);
		if (!json_is_object(value))
			return petra_yaml_error(y, scopes, key, 0, err,
						"trust.scopes.%s: must be a mapping", key);
		_cleanup_free_ char *what = xasprintf("trust.scopes.%s", key);
		if (parse_requirement(y, value, what, dir, s, err) < 0)
			return -1;
	}
	return 0;
}

static const struct trust_scope *rules_scope(const struct trust_rules *r, const char *name)
{
	struct policy_ref ref;
	if (!name || policy_ref_parse(name, &ref, NULL) < 0)
		return &r->fallback;
	const struct trust_scope *best = NULL;
	for (size_t i = 0; i < r->n_scopes; i++)
		if (policy_pattern_match(r->scopes[i].pattern, &ref) &&
		    (!best || r->scopes[i].specificity > best->specificity))
			best = &r->scopes[i];
	policy_ref_release(&ref);
	return best ? best : &r->fallback;
}

/* The policy digest: the policy file and every key it names, so a changed
 * key (or file) is a new policy for the cache. */
static int policy_digest(const struct petra_policy *policy, struct trust_rules *r,
			 char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	struct oci_hasher h;
	oci_hasher_init(&h);
	int rc = 0;
	/* The policy as it was loaded (not the file now: it may have
	 * changed since), and every file the decision reads, read once
	 * here and used from memory afterwards. */
	if (policy && petra_policy_yaml(policy)) {
		_cleanup_free_ char *text =
		    json_dumps(petra_yaml_root(petra_policy_yaml(policy)),
			       JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		if (text)
			oci_hasher_update(&h, text, strlen(text) + 1);
	}
	if (r->signature_policy && rc == 0) {
		/* The keys a containers policy names are read when it is
		 * evaluated: a changed keyring there is noticed by the cache
		 * only with a changed policy file. */
		rc = fs_read_file_at(AT_FDCWD, r->signature_policy, 1 << 20,
				     &r->signature_policy_text, &r->signature_policy_len, err);
		/* Its path too: relative key paths in it are read from
		 * its directory, so the same bytes elsewhere are another
		 * policy. */
		oci_hasher_update(&h, r->signature_policy, strlen(r->signature_policy) + 1);
		if (rc == 0)
			oci_hasher_update(&h, r->signature_policy_text,
					  r->signature_policy_len + 1);
	}
	for (size_t i = 0; i <= r->n_scopes && rc == 0; i++) {
		struct trust_scope *s = i < r->n_scopes ? &r->scopes[i] : &r->fallback;
		for (size_t k = 0; k < s->keys.n && rc == 0; k++) {
			char *data = NULL;
			size_t len;
			rc = fs_read_file_at(AT_FDCWD, s->keys.v[k], 1 << 20, &data, &len, err);
			if (rc == 0) {
				oci_hasher_update(&h, data, len + 1);
				strvec_push_nodup(&s->pems, data);
			}
		}
	}
	oci_hasher_final(&h, digest);
	oci_hasher_release(&h);
	return rc;
}

void trust_gate_result_release(struct trust_gate_result *result)
{
	strvec_clear(&result->reasons);
	memset(result, 0, sizeof(*result));
}

static int check_signatures(struct petra_store *store, const struct trust_signatures *given,
			    const char *name, const char *digest, const struct trust_scope *scope,
			    struct trust_gate_result *result, struct petra_error **err)
{
	struct trust_key **keys = xcalloc(scope->keys.n + 1, sizeof(*keys));
	int rc = 0;
	for (size_t i = 0; i < scope->keys.n && rc == 0; i++)
		rc = trust_public_key_parse(scope->pems.v[i], strlen(scope->pems.v[i]),
					    scope->keys.v[i], &keys[i], err);
	struct trust_signatures sigs = {0};
	struct oci_ref ref;
	if (rc == 0 && given) {
		/* Read by the caller (a registry's .sig tag). */
	} else if (rc == 0 && oci_ref_parse(name, &ref, err) == 0) {
		rc = trust_store_signatures(store, ref.name, digest, &sigs, err);
		oci_ref_release(&ref);
	} else {
		rc = -1;
	}
	if (rc == 0) {
		struct trust_check check = {.manifest_digest = digest,
					    .intended = name,
					    .match = scope->match,
					    .keys = keys,
					    .n_keys = scope->keys.n};
		struct trust_verdict v;
		rc = trust_verify_signatures(&check, given ? given : &sigs, &v, err);
		if (rc == 0 && v.failure != TRUST_ACCEPTED) {
			strvec_pushf(
			    &result->reasons, "signature requirement of scope \"%s\" not met: %s",
			    scope->text ? scope->text : "default", trust_failure_name(v.failure));
			for (size_t i = 0; i < v.reasons.n; i++)
				strvec_pushf(&result->reasons, "  %s", v.reasons.v[i]);
		}
		if (rc == 0)
			trust_verdict_release(&v);
	}
	trust_signatures_release(&sigs);
	for (size_t i = 0; i < scope->keys.n; i++)
		trust_key_free(keys[i]);
	free(keys);
	return rc;
}

/* The containers-policy.json named by the trust section, for the image
 * as the docker transport would see it. */
static int check_containers_policy(struct petra_store *store, const struct trust_signatures *given,
				   const char *name, const char *digest,
				   const struct trust_rules *rules,
				   struct trust_gate_result *result, struct petra_error **err)
{
	const char *path = rules->signature_policy;
	struct trust_containers_policy *cp = NULL;
	if (trust_containers_policy_parse(rules->signature_policy_text, rules->signature_policy_len,
					  path, &cp, err) < 0)
		return -1;
	struct trust_signatures sigs = {0};
	_cleanup_free_ char *identity = NULL;
	int rc = 0;
	struct oci_ref ref;
	if (name && oci_ref_parse(name, &ref, NULL) == 0) {
		if (!given)
			rc = trust_store_signatures(store, ref.name, digest, &sigs, err);
		oci_ref_release(&ref);
		struct policy_ref pref;
		if (policy_ref_parse(name, &pref, NULL) == 0) {
			identity = policy_ref_format(&pref, 0);
			policy_ref_release(&pref);
		}
	}
	struct strvec reasons = STRVEC_INIT;
	const char *scope = NULL;
	struct trust_policy_image image = {.transport = "docker",
					   .scope_identity = identity,
					   .reference = name,
					   .manifest_digest = digest};
	if (rc == 0)
		rc = trust_containers_policy_check(cp, &image, given ? given : &sigs, &reasons,
						   &scope, err);
	if (rc == 0 && reasons.n) {
		strvec_pushf(&result->reasons, "%s (%s) refuses it:", path, scope);
		for (size_t i = 0; i < reasons.n; i++)
			strvec_pushf(&result->reasons, "  %s", reasons.v[i]);
	}
	strvec_clear(&reasons);
	trust_signatures_release(&sigs);
	trust_containers_policy_free(cp);
	return rc;
}

/* What the image was made from, beyond its own base: the base
 * annotations of the store's manifests (each names its base by digest)
 * and the build records (lineage/: every stage's FROM, COPY --from, the
 * image a harden or learn started from), followed breadth first. An
 * image made from an image made from a banned base is refused too — the
 * images a rebuild left as NAME-old, say, or one whose final stage is
 * FROM scratch and whose only tie to the base is its record. At most
 * GATE_ANCESTRY_MAX images are looked at; one the store does not hold
 * ends that branch (so does no store: a registry image judged by
 * trust_gate_check_given without one). */
#define GATE_ANCESTRY_MAX 64

/* One ancestor: banned? Then the reason; else it is followed further. */
static int check_ancestor(const struct petra_policy *policy, const char *name, const char *digest,
			  const char *how, const char *child, struct strset *seen,
			  struct strvec *queue, struct trust_gate_result *result,
			  struct petra_error **err)
{
	if (!digest || !oci_digest_valid(digest) || strset_contains(seen, digest))
		return 0;
	strset_add(seen, digest);
	if (name && !strncmp(name, "localhost/", 10))
		name += 10;
	if (name && *name) {
		struct policy_base_verdict v;
		if (petra_policy_check_base(policy, name, digest, &v, err) < 0)
			return -1;
		if (v.status == POLICY_BASE_BANNED) {
			strvec_pushf(&result->reasons, "%s %s@%s of %s banned (%s, line %u): %s",
				     how, name, digest, child, v.entry, v.line,
				     v.reason ? v.reason : "no reason given");
			return 0;
		}
	}
	strvec_push(queue, digest);
	return 0;
}

static int check_ancestry(struct petra_store *store, const char *digest,
			  const char *own_base_digest, const struct petra_policy *policy,
			  struct trust_gate_result *result, struct petra_error **err)
{
	if (!store)
		return 0;
	_cleanup_strset_ struct strset seen = STRSET_INIT;
	_cleanup_strvec_ struct strvec queue = STRVEC_INIT;
	strset_add(&seen, digest);
	strvec_push(&queue, digest);
	/* The image's own base was judged by the caller: followed, not
	 * reported again. */
	if (own_base_digest && oci_digest_valid(own_base_digest))
		strset_add(&seen, own_base_digest);
	int r = 0;
	for (size_t i = 0; i < queue.n && i < GATE_ANCESTRY_MAX && r == 0; i++) {
		const char *at = queue.v[i];
		if (i > 0 || !own_base_digest) {
			/* Its base annotation (the image's own was judged). */
			_cleanup_free_ char *data = NULL;
			size_t len;
			if (petra_store_has_blob(store, at) &&
			    petra_store_read_blob(store, at, 4u << 20, &data, &len, NULL) == 0) {
				_cleanup_json_ json_t *doc = json_parse_buffer(data, len, at, NULL);
				const json_t *ann =
				    doc ? json_object_get(doc, "annotations") : NULL;
				r = check_ancestor(policy,
						   json_get_string(ann, BASE_NAME_ANNOTATION),
						   json_get_string(ann, BASE_DIGEST_ANNOTATION),
						   "base", at, &seen, &queue, result, err);
			}
		} else if (own_base_digest && oci_digest_valid(own_base_digest)) {
			strvec_push(&queue, own_base_digest);
		}
		/* Its build record's materials. */
		struct lineage_record rec;
		if (r == 0 && lineage_record_load(store, at, &rec, NULL) == 0) {
			for (size_t k = 0; k < rec.n_materials && r == 0; k++)
				r = check_ancestor(policy, rec.materials[k].name,
						   rec.materials[k].digest, rec.materials[k].role,
						   at, &seen, &queue, result, err);
			lineage_record_release(&rec);
		}
	}
	return r;
}

/* Decide, uncached. The signatures are the store's, or `given` (not
 * NULL: read by the caller from a registry). */
static int decide(struct petra_store *store, const struct trust_signatures *given, const char *name,
		  const char *digest, const json_t *manifest_annotations,
		  const struct petra_policy *policy, const struct trust_rules *rules,
		  struct trust_gate_result *result, struct petra_error **err)
{
	struct policy_base_verdict v;
	/* The image itself, by name and by digest. */
	if (policy && name) {
		if (petra_policy_check_base(policy, name, digest, &v, err) < 0)
			return -1;
		if (v.status == POLICY_BASE_BANNED)
			strvec_pushf(&result->reasons, "image banned (%s, line %u): %s", v.entry,
				     v.line, v.reason ? v.reason : "no reason given");
	}
	/* Its base, as the builder recorded it. */
	const char *base_name = json_get_string(manifest_annotations, BASE_NAME_ANNOTATION);
	const char *base_digest = json_get_string(manifest_annotations, BASE_DIGEST_ANNOTATION);
	/* Written as buildah writes them: empty for a final stage FROM
	 * scratch, and localhost/NAME for an image of the store only, which
	 * the policy names as petra's store does (NAME). */
	if (base_name && !*base_name)
		base_name = NULL;
	if (base_digest && !*base_digest)
		base_digest = NULL;
	if (base_name && !strncmp(base_name, "localhost/", 10))
		base_name += 10;
	if (policy && base_name) {
		if (petra_policy_check_base(policy, base_name, base_digest, &v, err) < 0)
			return -1;
		if (v.status == POLICY_BASE_BANNED)
			strvec_pushf(&result->reasons, "base %s@%s banned (%s, line %u): %s",
				     base_name, base_digest ? base_digest : "?", v.entry, v.line,
				     v.reason ? v.reason : "no reason given");
		else if (v.status == POLICY_BASE_NOT_APPROVED)
			strvec_pushf(&result->reasons, "base %s is not in the catalog", base_name);
	}
	/* What it was made from beyond that: bases of bases, and records. */
	if (policy && check_ancestry(store, digest, base_digest, policy, result, err) < 0)
		return -1;
	const struct trust_scope *scope = rules_scope(rules, name);
	if (scope->require == TRUST_REQUIRE_REJECT)
		strvec_pushf(&result->reasons, "scope \"%s\" rejects every image",
			     scope->text ? scope->text : "default");
	else if (scope->require == TRUST_REQUIRE_SIGNED_BY) {
		if (!name)
			strvec_pushf(&result->reasons,
				     "image %s has no name: its signatures cannot be checked",
				     digest);
		else if (check_signatures(store, given, name, digest, scope, result, err) < 0)
			return -1;
	}
	if (rules->signature_policy &&
	    check_containers_policy(store, given, name, digest, rules, result, err) < 0)
		return -1;
	result->allowed = result->reasons.n == 0;
	return 0;
}

/* Cache entries: <store>/trust-cache/<manifest hex>-<policy hex>, the
 * decision ("allowed" or "refused") then one reason per line. */
static char *cache_name(const char *digest, const char *policy_digest_)
{
	return xasprintf("trust-cache/%s-%s", oci_digest_hex(digest),
			 oci_digest_hex(policy_digest_));
}

static bool cache_read(struct petra_store *store, const char *entry,
		       struct trust_gate_result *result)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct petra_error *err = NULL;
	if (fs_read_file_at(petra_store_root_fd(store), entry, 1 << 20, &data, &len, &err) < 0) {
		petra_error_free(err);
		return false;
	}
	char *save = NULL, *line = strtok_r(data, "\n", &save);
	if (!line || (strcmp(line, "allowed") && strcmp(line, "refused")))
		return false;
	result->allowed = !strcmp(line, "allowed");
	while ((line = strtok_r(NULL, "\n", &save)))
		strvec_push(&result->reasons, line);
	result->cached = true;
	return true;
}

static void cache_write(struct petra_store *store, const char *entry,
			const struct trust_gate_result *result)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, result->allowed ? "allowed\n" : "refused\n");
	for (size_t i = 0; i < result->reasons.n; i++)
		strbuf_addf(&sb, "%s\n", result->reasons.v[i]);
	/* A cache that cannot be written only costs time. No fsync: after a
	 * crash an entry is whole, empty or missing (temp file + rename),
	 * and an empty or unreadable one is decided again; a truncated
	 * "refused" never reads as "allowed". */
	int root = petra_store_root_fd(store);
	mkdirat(root, "trust-cache", 0755);
	_cleanup_close_ int dirfd = openat(root, "trust-cache", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *base = strchr(entry, '/') + 1;
	_cleanup_free_ char *tmp = NULL;
	struct petra_error *err = NULL;
	_cleanup_close_ int fd = dirfd < 0 ? -1 : fs_tmpfile_at(dirfd, base, 0644, &tmp, &err);
	if (fd < 0) {
		petra_error_free(err);
	} else if (fs_write_all(fd, sb.buf, sb.len) < 0 || renameat(dirfd, tmp, dirfd, base) < 0) {
		unlinkat(dirfd, tmp, 0);
	}
	strbuf_release(&sb);
}

/* Does `image` name the image by digest or digest prefix (as
 * petra_store_resolve reads it) rather than by name? */
static bool by_digest(const char *image)
{
	if (oci_digest_valid(image))
		return true;
	size_t n = strlen(image);
	return n >= 4 && n <= 64 && strspn(image, "0123456789abcdef") == n;
}

/* The names the decision is about: the one given, or, for a digest, every
 * name the store gives that manifest (each must be allowed: a digest must
 * not pick the laxest scope); none (one NULL) for an unnamed manifest. */
static int gate_names(struct petra_store *store, const char *image, const char *name,
		      const char *digest, struct strvec *names, struct petra_error **err)
{
	if (!by_digest(image) && name) {
		strvec_push(names, name);
		return 0;
	}
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	if (petra_store_list(store, &entries, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (entries[i].name && !strcmp(entries[i].desc.digest, digest))
			strvec_push(names, entries[i].name);
	petra_store_entries_free(entries, n);
	return 0;
}

int trust_gate_check(struct petra_store *store, const char *image, enum trust_purpose purpose,
		     const struct petra_policy *policy, struct trust_gate_result *result,
		     struct petra_error **err)
{
	return trust_gate_check_with(store, image, purpose, policy, NULL, result, err);
}

int trust_gate_check_with(struct petra_store *store, const char *image, enum trust_purpose purpose,
			  const struct petra_policy *policy, const char *signature_policy,
			  struct trust_gate_result *result, struct petra_error **err)
{
	(void)purpose; /* every purpose asks the same question today */
	memset(result, 0, sizeof(*result));
	struct oci_descriptor desc;
	_cleanup_free_ char *name = NULL;
	if (petra_store_resolve(store, image, &desc, &name, err) < 0)
		return -1;
	char digest[OCI_DIGEST_SIZE];
	memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&desc);
	memcpy(result->manifest_digest, digest, OCI_DIGEST_SIZE);
	_cleanup_strvec_ struct strvec names = STRVEC_INIT;
	if (gate_names(store, image, name, digest, &names, err) < 0)
		return -1;

	struct trust_rules rules;
	if (rules_load(policy, &rules, err) < 0) {
		rules_release(&rules);
		return -1;
	}
	if (signature_policy) {
		free(rules.signature_policy);
		rules.signature_policy = xstrdup(signature_policy);
	}
	char pdigest[OCI_DIGEST_SIZE];
	if (policy_digest(policy, &rules, pdigest, err) < 0) {
		rules_release(&rules);
		return -1;
	}
	/* The names are part of the question (scopes and identities are per
	 * name), and so are their signatures (a signature added or removed is
	 * a new question: their manifest's digest, from the index). */
	_cleanup_strbuf_ struct strbuf key = STRBUF_INIT;
	/* What the gate looks at is part of the question too: decisions cached
	 * before it followed the chain of bases are not asked again. */
	strbuf_addstr(&key, "bases: chain, records\n");
	strbuf_addf(&key, "%s\n", pdigest);
	for (size_t i = 0; i < names.n; i++) {
		strbuf_addf(&key, "%s\n", names.v[i]);
		struct oci_ref ref;
		if (oci_ref_parse(names.v[i], &ref, NULL) == 0) {
			/* The cosign signatures and the GPG ones. */
			char *sig_tags[] = {trust_signature_tag(ref.name, digest),
					    trust_gpg_signature_tag(ref.name, digest)};
			for (size_t k = 0; k < ARRAY_SIZE(sig_tags); k++) {
				struct oci_descriptor sig_desc;
				struct petra_error *none = NULL;
				if (petra_store_resolve(store, sig_tags[k], &sig_desc, NULL,
							&none) == 0) {
					strbuf_addf(&key, "%zu %s\n", k, sig_desc.digest);
					oci_descriptor_release(&sig_desc);
				} else {
					petra_error_free(none);
				}
				free(sig_tags[k]);
			}
			oci_ref_release(&ref);
		}
	}
	char key_digest[OCI_DIGEST_SIZE];
	oci_digest_buffer(key.buf, key.len, key_digest);
	_cleanup_free_ char *entry = cache_name(digest, key_digest);
	if (cache_read(store, entry, result)) {
		rules_release(&rules);
		return 0;
	}
	_cleanup_free_ char *manifest = NULL;
	size_t len;
	int rc = petra_store_read_blob(store, digest, 4u << 20, &manifest, &len, err);
	_cleanup_json_ json_t *doc = rc == 0 ? json_parse_buffer(manifest, len, digest, err) : NULL;
	if (!doc)
		rc = -1;
	const json_t *annotations = doc ? json_object_get(doc, "annotations") : NULL;
	if (rc == 0 && !names.n)
		rc = decide(store, NULL, NULL, digest, annotations, policy, &rules, result, err);
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		struct trust_gate_result one = {0};
		rc =
		    decide(store, NULL, names.v[i], digest, annotations, policy, &rules, &one, err);
		for (size_t k = 0; rc == 0 && k < one.reasons.n; k++) {
			if (names.n > 1)
				strvec_pushf(&result->reasons, "as %s: %s", names.v[i],
					     one.reasons.v[k]);
			else
				strvec_push(&result->reasons, one.reasons.v[k]);
		}
		trust_gate_result_release(&one);
	}
	result->allowed = result->reasons.n == 0;
	rules_release(&rules);
	if (rc < 0) {
		trust_gate_result_release(result);
		return -1;
	}
	cache_write(store, entry, result);
	return 0;
}

int trust_gate_check_given(struct petra_store *store, const char *name, const char *digest,
			   const json_t *manifest_annotations, const struct trust_signatures *sigs,
			   enum trust_purpose purpose, const struct petra_policy *policy,
			   const char *signature_policy, struct trust_gate_result *result,
			   struct petra_error **err)
{
	(void)purpose;
	memset(result, 0, sizeof(*result));
	snprintf(result->manifest_digest, OCI_DIGEST_SIZE, "%s", digest);
	struct trust_rules rules;
	if (rules_load(policy, &rules, err) < 0) {
		rules_release(&rules);
		return -1;
	}
	if (signature_policy) {
		free(rules.signature_policy);
		rules.signature_policy = xstrdup(signature_policy);
	}
	/* Reads the files the decision needs (keys, the containers policy). */
	char pdigest[OCI_DIGEST_SIZE];
	if (policy_digest(policy, &rules, pdigest, err) < 0) {
		rules_release(&rules);
		return -1;
	}
	static const struct trust_signatures none;
	int rc = decide(store, sigs ? sigs : &none, name, digest, manifest_annotations, policy,
			&rules, result, err);
	rules_release(&rules);
	if (rc < 0)
		trust_gate_result_release(result);
	return rc;
}
