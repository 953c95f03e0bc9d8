/* SPDX-License-Identifier: Apache-2.0 */
/* containers-policy.json(5): parsed as strictly as containers/image does
 * (unknown fields and types refused), scopes resolved as it does (the
 * exact reference, then the repository and each enclosing namespace, then
 * "*." wildcard hosts, then the transport's "" scope, then `default`),
 * and evaluated with petra's verification: every requirement of the list
 * must hold. */
#include "trust.h"
#include "internal.h"
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>

enum cp_type { CP_ACCEPT, CP_REJECT, CP_SIGNED_BY, CP_SIGSTORE, CP_BASE_LAYER };

struct cp_requirement {
	enum cp_type type;
	char *key_type;           /* signedBy */
	struct strvec keys;       /* key files (absolute) */
	struct trust_blob *blobs; /* keyData, decoded */
	size_t n_blobs;
	enum trust_match match;
	char *identity_arg;  /* exactReference / exactRepository / remap prefix */
	char *identity_arg2; /* remap signedPrefix */
	int identity_kind;   /* 0 rule, 1 exactReference, 2 exactRepository, 3 remapIdentity */
};

struct cp_list {
	char *scope; /* "default" or "<transport> <scope>" */
	struct cp_requirement *v;
	size_t n;
};

struct cp_transport {
	char *name;
	char **scopes;
	struct cp_list *lists;
	size_t n;
};

struct trust_containers_policy {
	char *path;
	struct cp_list fallback;
	struct cp_transport *transports;
	size_t n_transports;
};

static void requirement_release(struct cp_requirement *r)
{
	free(r->key_type);
	strvec_clear(&r->keys);
	for (size_t i = 0; i < r->n_blobs; i++)
		free(r->blobs[i].data);
	free(r->blobs);
	free(r->identity_arg);
	free(r->identity_arg2);
}

static void list_release(struct cp_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		requirement_release(&l->v[i]);
	free(l->v);
	free(l->scope);
}

void trust_containers_policy_free(struct trust_containers_policy *p)
{
	if (!p)
		return;
	list_release(&p->fallback);
	for (size_t t = 0; t < p->n_transports; t++) {
		for (size_t i = 0; i < p->transports[t].n; i++) {
			free(p->transports[t].scopes[i]);
			list_release(&p->transports[t].lists[i]);
		}
		free(p->transports[t].scopes);
		free(p->transports[t].lists);
		free(p->transports[t].name);
	}
	free(p->transports);
	free(p->path);
	free(p);
}

/* Every key of obj is one of allowed (NULL-terminated). */
static int only_keys(const json_t *obj, const char *what, const char *const *allowed,
		     struct petra_error **err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(key, allowed[i]);
		if (!ok)
			return petra_error_set(err, EINVAL, "%s: unknown field \"%s\"", what, key);
	}
	return 0;
}

static int string_member(const json_t *obj, const char *key, const char *what, bool required,
			 const char **out, struct petra_error **err)
{
	const json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v) {
		if (required)
			return petra_error_set(err, EINVAL, "%s: \"%s\" is missing", what, key);
		return 0;
	}
	if (!json_is_string(v))
		return petra_error_set(err, EINVAL, "%s: \"%s\" is not a string", what, key);
	*out = json_string_value(v);
	return 0;
}

static int parse_identity(const json_t *obj, const char *what, struct cp_requirement *r,
			  struct petra_error **err)
{
	r->match = TRUST_MATCH_REPO_DIGEST_OR_EXACT;
	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return petra_error_set(err, EINVAL, "%s: signedIdentity is not an object", what);
	const char *type;
	if (string_member(obj, "type", what, true, &type, err) < 0)
		return -1;
	static const char *const type_only[] = {"type", NULL};
	if (!strcmp(type, "matchExact") || !strcmp(type, "matchRepoDigestOrExact") ||
	    !strcmp(type, "matchRepository")) {
		r->match = !strcmp(type, "matchExact")        ? TRUST_MATCH_EXACT
			   : !strcmp(type, "matchRepository") ? TRUST_MATCH_REPOSITORY
							      : TRUST_MATCH_REPO_DIGEST_OR_EXACT;
		return only_keys(obj, what, type_only, err);
	}
	const char *a = NULL, *b = NULL;
	if (!strcmp(type, "exactReference")) {
		static const char *const keys[] = {"type", "dockerReference", NULL};
		if (only_keys(obj, what, keys, err) < 0 ||
		    string_member(obj, "dockerReference", what, true, &a, err) < 0)
			return -1;
		struct policy_ref ref;
		if (policy_ref_parse(a, &ref, NULL) < 0 || (!ref.tag && !ref.digest)) {
			if (ref.domain)
				policy_ref_release(&ref);
			return petra_error_set(err, EINVAL,
					       "%s: dockerReference \"%s\" is not a tagged or "
					       "digested reference",
					       what, a);
		}
		policy_ref_release(&ref);
		r->identity_kind = 1;
		r->match = TRUST_MATCH_EXACT;
	} else if (!strcmp(type, "exactRepository")) {
		static const char *const keys[] = {"type", "dockerRepository", NULL};
		if (only_keys(obj, what, keys, err) < 0 ||
		    string_member(obj, "dockerRepository", what, true, &a, err) < 0)
			return -1;
		r->identity_kind = 2;
		r->match = TRUST_MATCH_REPOSITORY;
	} else if (!strcmp(type, "remapIdentity")) {
		static const char *const keys[] = {"type", "prefix", "signedPrefix", NULL};
		if (only_keys(obj, what, keys, err) < 0 ||
		    string_member(obj, "prefix", what, true, &a, err) < 0 ||
		    string_member(obj, "signedPrefix", what, true, &b, err) < 0)
			return -1;
		r->identity_kind = 3;
		r->identity_arg2 = xstrdup(b);
	} else {
		return petra_error_set(err, EINVAL, "%s: unknown signedIdentity type \"%s\"", what,
				       type);
	}
	r->identity_arg = xstrdup(a);
	return 0;
}

/* keyPath / keyPaths / keyData: exactly one. */
static int parse_keys(const json_t *obj, const char *what, const char *dir,
		      struct cp_requirement *r, bool allow_none, struct petra_error **err)
{
	const json_t *path = json_object_get(obj, "keyPath");
	const json_t *paths = json_object_get(obj, "keyPaths");
	const json_t *data = json_object_get(obj, "keyData");
	int given = !!path + !!paths + !!data;
	if (given > 1 || (given == 0 && !allow_none))
		return petra_error_set(err, EINVAL,
				       "%s: exactly one of keyPath, keyPaths and keyData is needed",
				       what);
	if (path) {
		if (!json_is_string(path))
			return petra_error_set(err, EINVAL, "%s: keyPath is not a string", what);
		const char *p = json_string_value(path);
		strvec_push_nodup(&r->keys, p[0] == '/' ? xstrdup(p) : path_join(dir, p));
	}
	if (paths) {
		if (!json_is_array(paths) || !json_array_size(paths))
			return petra_error_set(err, EINVAL, "%s: keyPaths is not a list of paths",
					       what);
		size_t i;
		json_t *p;
		json_array_foreach(paths, i, p)
		{
			if (!json_is_string(p))
				return petra_error_set(
				    err, EINVAL, "%s: keyPaths[%zu] is not a string", what, i);
			const char *s = json_string_value(p);
			strvec_push_nodup(&r->keys, s[0] == '/' ? xstrdup(s) : path_join(dir, s));
		}
	}
	if (data) {
		unsigned char *bytes;
		size_t len;
		if (!json_is_string(data) ||
		    trust_base64_decode(json_string_value(data), json_string_length(data), &bytes,
					&len) < 0)
			return petra_error_set(err, EINVAL, "%s: keyData is not base64", what);
		r->blobs = xcalloc(1, sizeof(*r->blobs));
		r->blobs[0].data = (char *)bytes;
		r->blobs[0].len = len;
		r->n_blobs = 1;
	}
	return 0;
}

static int parse_requirement(const json_t *obj, const char *what, const char *dir,
			     struct cp_requirement *r, struct petra_error **err)
{
	if (!json_is_object(obj))
		return petra_error_set(err, EINVAL, "%s: a requirement is not an object", what);
	const char *type;
	if (string_member(obj, "type", what, true, &type, err) < 0)
		return -1;
	r->match = TRUST_MATCH_REPO_DIGEST_OR_EXACT;
	if (!strcmp(type, "insecureAcceptAnything") || !strcmp(type, "reject")) {
		static const char *const keys[] = {"type", NULL};
		r->type = type[0] == 'i' ? CP_ACCEPT : CP_REJECT;
		return only_keys(obj, what, keys, err);
	}
	if (!strcmp(type, "signedBy")) {
		static const char *const keys[] = {
		    "type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity", NULL};
		r->type = CP_SIGNED_BY;
		const char *key_type;
		if (only_keys(obj, what, keys, err) < 0 ||
		    string_member(obj, "keyType", what, true, &key_type, err) < 0)
			return -1;
		if (strcmp(key_type, "GPGKeys") && strcmp(key_type, "signedByGPGKeys") &&
		    strcmp(key_type, "X509Certificates") && strcmp(key_type, "signedByX509CAs"))
			return petra_error_set(err, EINVAL, "%s: unknown keyType \"%s\"", what,
					       key_type);
		r->key_type = xstrdup(key_type);
		return parse_keys(obj, what, dir, r, false, err) < 0
			   ? -1
			   : parse_identity(json_object_get(obj, "signedIdentity"), what, r, err);
	}
	if (!strcmp(type, "sigstoreSigned")) {
		static const char *const keys[] = {"type",
						   "keyPath",
						   "keyPaths",
						   "keyData",
						   "fulcio",
						   "rekorPublicKeyPath",
						   "rekorPublicKeyData",
						   "signedIdentity",
						   NULL};
		r->type = CP_SIGSTORE;
		if (only_keys(obj, what, keys, err) < 0)
			return -1;
		/* Fulcio certificates need the network's trust roots: a
		 * keyless requirement is kept, and refused when evaluated. */
		bool fulcio = json_object_get(obj, "fulcio") != NULL;
		return parse_keys(obj, what, dir, r, fulcio, err) < 0
			   ? -1
			   : parse_identity(json_object_get(obj, "signedIdentity"), what, r, err);
	}
	if (!strcmp(type, "signedBaseLayer")) {
		static const char *const keys[] = {"type", "baseLayerIdentity", NULL};
		r->type = CP_BASE_LAYER;
		if (only_keys(obj, what, keys, err) < 0)
			return -1;
		if (!json_is_object(json_object_get(obj, "baseLayerIdentity")))
			return petra_error_set(err, EINVAL, "%s: baseLayerIdentity is missing",
					       what);
		return 0;
	}
	return petra_error_set(err, EINVAL, "%s: unknown requirement type \"%s\"", what, type);
}

static int parse_list(const json_t *arr, const char *scope, const char *dir, struct cp_list *l,
		      struct petra_error **err)
{
	l->scope = xstrdup(scope);
	if (!json_is_array(arr) || !json_array_size(arr))
		return petra_error_set(err, EINVAL, "%s: not a non-empty list of requirements",
				       scope);
	l->v = xcalloc(json_array_size(arr), sizeof(*l->v));
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item)
	{
		l->n++;
		if (parse_requirement(item, scope, dir, &l->v[i], err) < 0)
			return -1;
	}
	return 0;
}

int trust_containers_policy_parse(const char *data, size_t len, const char *path,
				  struct trust_containers_policy **out, struct petra_error **err)
{
	struct trust_containers_policy *p = xcalloc(1, sizeof(*p));
	p->path = xstrdup(path);
	_cleanup_free_ char *path_copy = xstrdup(path);
	const char *dir = dirname(path_copy);
	json_error_t jerr;
	_cleanup_json_ json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc = 0;
	if (!doc) {
		rc = petra_error_set(err, EINVAL, "invalid JSON at line %d: %s", jerr.line,
				     jerr.text);
	} else if (!json_is_object(doc)) {
		rc = petra_error_set(err, EINVAL, "not a JSON object");
	} else {
		static const char *const top[] = {"default", "transports", NULL};
		rc = only_keys(doc, "policy", top, err);
		if (rc == 0 && !json_object_get(doc, "default"))
			rc = petra_error_set(err, EINVAL, "\"default\" is missing");
		if (rc == 0)
			rc = parse_list(json_object_get(doc, "default"), "default", dir,
					&p->fallback, err);
		const json_t *transports = json_object_get(doc, "transports");
		if (rc == 0 && transports && !json_is_object(transports))
			rc = petra_error_set(err, EINVAL, "\"transports\" is not an object");
		if (rc == 0 && transports) {
			p->transports =
			    xcalloc(json_object_size(transports) + 1, sizeof(*p->transports));
			const char *name;
			json_t *scopes;
			json_object_foreach((json_t *)transports, name, scopes)
			{
				if (rc < 0)
					break;
				struct cp_transport *t = &p->transports[p->n_transports++];
				t->name = xstrdup(name);
				if (!json_is_object(scopes)) {
					rc = petra_error_set(
					    err, EINVAL, "transport \"%s\" is not an object", name);
					break;
				}
				t->scopes =
				    xcalloc(json_object_size(scopes) + 1, sizeof(*t->scopes));
				t->lists = xcalloc(json_object_size(scopes) + 1, sizeof(*t->lists));
				const char *scope;
				json_t *list;
				json_object_foreach(scopes, scope, list)
				{
					t->scopes[t->n] = xstrdup(scope);
					_cleanup_free_ char *what =
					    xasprintf("transport \"%s\" scope \"%s\"", name, scope);
					rc = parse_list(list, what, dir, &t->lists[t->n++], err);
					if (rc < 0)
						break;
				}
			}
		}
	}
	if (rc < 0) {
		trust_containers_policy_free(p);
		return petra_error_prefix(err, "%s", path);
	}
	*out = p;
	return 0;
}

int trust_containers_policy_load(const char *path, struct trust_containers_policy **out,
				 struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len, err) < 0)
		return -1;
	return trust_containers_policy_parse(data, len, path, out, err);
}

static const struct cp_list *transport_scope(const struct cp_transport *t, const char *scope)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->scopes[i], scope))
			return &t->lists[i];
	return NULL;
}

/* The list for an image: for "docker", identity is the normalised
 * reference; for "dir", an absolute path. */
static const struct cp_list *requirements_for(const struct trust_containers_policy *p,
					      const char *transport, const char *identity)
{
	const struct cp_transport *t = NULL;
	for (size_t i = 0; i < p->n_transports && !t; i++)
		if (!strcmp(p->transports[i].name, transport))
			t = &p->transports[i];
	if (!t || !identity)
		return t && transport_scope(t, "") ? transport_scope(t, "") : &p->fallback;
	const struct cp_list *l = transport_scope(t, identity);
	if (l)
		return l;
	_cleanup_free_ char *ns = xstrdup(identity);
	if (!strcmp(transport, "docker")) {
		/* repository, then each enclosing namespace */
		char *cut = ns + strcspn(ns, "@");
		*cut = '\0';
		char *slash = strrchr(ns, '/');
		char *colon = strrchr(slash ? slash : ns, ':');
		if (colon)
			*colon = '\0';
		for (;;) {
			if ((l = transport_scope(t, ns)))
				return l;
			char *s = strrchr(ns, '/');
			if (!s)
				break;
			*s = '\0';
		}
		/* "*.example.com" wildcards of the host, most specific first */
		for (const char *dot = strchr(ns, '.'); dot; dot = strchr(dot + 1, '.')) {
			_cleanup_free_ char *wild = xasprintf("*%s", dot);
			if ((l = transport_scope(t, wild)))
				return l;
		}
	} else {
		/* enclosing directories */
		for (char *s = strrchr(ns, '/'); s && s != ns; s = strrchr(ns, '/')) {
			*s = '\0';
			if ((l = transport_scope(t, ns)))
				return l;
		}
	}
	l = transport_scope(t, "");
	return l ? l : &p->fallback;
}

/* One requirement; reasons get a line when it is not met. */
static int evaluate(const struct cp_requirement *r, const struct trust_policy_image *image,
		    const struct trust_signatures *sigs, struct strvec *reasons,
		    struct petra_error **err)
{
	switch (r->type) {
	case CP_ACCEPT:
		return 0;
	case CP_REJECT:
		strvec_push(reasons, "policy.json: rejected (\"reject\")");
		return 0;
	case CP_BASE_LAYER:
		strvec_push(reasons, "policy.json: signedBaseLayer is not implemented (refused, as "
				     "containers/image does)");
		return 0;
	case CP_SIGNED_BY:
	case CP_SIGSTORE:
		break;
	}
	if (r->type == CP_SIGNED_BY && strcmp(r->key_type, "GPGKeys")) {
		strvec_pushf(reasons, "policy.json: keyType \"%s\" is not implemented",
			     r->key_type);
		return 0;
	}
	if (r->type == CP_SIGSTORE && !r->keys.n && !r->n_blobs) {
		strvec_push(reasons, "policy.json: sigstoreSigned without keys (Fulcio) needs the "
				     "network: refused");
		return 0;
	}
	/* The intended reference under this requirement's identity rule. */
	_cleanup_free_ char *remapped = NULL;
	const char *intended = image->reference;
	if (r->identity_kind == 1 || r->identity_kind == 2) {
		intended = r->identity_arg;
	} else if (r->identity_kind == 3 && intended) {
		struct policy_ref ref;
		if (policy_ref_parse(intended, &ref, NULL) == 0) {
			_cleanup_free_ char *full = policy_ref_format(&ref, 0);
			size_t n = strlen(r->identity_arg);
			if (!strncmp(full, r->identity_arg, n) &&
			    (full[n] == '/' || full[n] == ':' || full[n] == '@' || !full[n]))
				remapped = xasprintf("%s%s", r->identity_arg2, full + n);
			policy_ref_release(&ref);
		}
		if (remapped)
			intended = remapped;
	}
	struct trust_key **keys = NULL;
	size_t n_keys = 0;
	struct trust_gpg *gpg = NULL;
	int rc = 0;
	if (r->type == CP_SIGSTORE) {
		keys = xcalloc(r->keys.n + r->n_blobs + 1, sizeof(*keys));
		for (size_t i = 0; i < r->keys.n && rc == 0; i++, n_keys++)
			rc = trust_public_key_load(r->keys.v[i], &keys[n_keys], err);
		for (size_t i = 0; i < r->n_blobs && rc == 0; i++, n_keys++)
			rc = trust_public_key_parse(r->blobs[i].data, r->blobs[i].len, "keyData",
						    &keys[n_keys], err);
		if (rc < 0)
			n_keys--;
	} else {
		rc = trust_gpg_open_with_blobs((const char *const *)r->keys.v, r->keys.n, r->blobs,
					       r->n_blobs, &gpg, err);
	}
	if (rc == 0) {
		struct trust_check check = {.manifest_digest = image->manifest_digest,
					    .intended = intended,
					    .match = r->match,
					    .keys = keys,
					    .n_keys = n_keys,
					    .gpg = gpg};
		struct trust_verdict v;
		rc = trust_verify_signatures(&check, sigs, &v, err);
		if (rc == 0 && v.failure != TRUST_ACCEPTED) {
			strvec_pushf(reasons, "policy.json: %s requirement not met: %s",
				     r->type == CP_SIGSTORE ? "sigstoreSigned" : "signedBy",
				     trust_failure_name(v.failure));
			for (size_t i = 0; i < v.reasons.n; i++)
				strvec_pushf(reasons, "  %s", v.reasons.v[i]);
		}
		if (rc == 0)
			trust_verdict_release(&v);
	}
	for (size_t i = 0; i < n_keys; i++)
		trust_key_free(keys[i]);
	free(keys);
	trust_gpg_free(gpg);
	return rc;
}

int trust_containers_policy_check(const struct trust_containers_policy *policy,
				  const struct trust_policy_image *image,
				  const struct trust_signatures *sigs, struct strvec *reasons,
				  const char **scope, struct petra_error **err)
{
	const struct cp_list *l = requirements_for(policy, image->transport, image->scope_identity);
	if (scope)
		*scope = l->scope;
	for (size_t i = 0; i < l->n; i++)
		if (evaluate(&l->v[i], image, sigs, reasons, err) < 0)
			return -1;
	return 0;
}
