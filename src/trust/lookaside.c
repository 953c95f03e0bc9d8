/* SPDX-License-Identifier: Apache-2.0 */
/* Registries' GPG signatures as skopeo keeps them: next to the registry,
 * in a "lookaside" web or file tree that registries.d names
 * (containers-registries.d(5)). A signature of image host/path with
 * manifest digest sha256:HEX is <base>/path@sha256=HEX/signature-N, N from
 * 1 up to the first missing. Reading goes to `lookaside` (file://, http://,
 * https://), writing to `lookaside-staging` (file:// only, as
 * containers/image). skopeo 1.9's older names `sigstore` and
 * `sigstore-staging` are read too; one scope may not use both spellings. */
#include "trust.h"
#include "internal.h"
#include "policy/policy.h"
#include "registry/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SIGNATURE (4u << 20)

struct lookaside_scope {
	char *scope; /* "host", "host/ns", "host/ns/repo[:tag]"; NULL: default-docker */
	char *lookaside, *staging;
	char *source; /* the file it came from */
};

struct trust_registries_d {
	char *dir;
	struct lookaside_scope *v;
	size_t n, alloc;
};

void trust_registries_d_free(struct trust_registries_d *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].scope);
		free(d->v[i].lookaside);
		free(d->v[i].staging);
		free(d->v[i].source);
	}
	free(d->v);
	free(d->dir);
	free(d);
}

const char *trust_registries_d_dir(const struct trust_registries_d *d)
{
	return d->dir;
}

static const char *member_string(const struct petra_yaml *y, const json_t *map, const char *key,
				 const char *what, struct petra_error **err, int *rc)
{
	const json_t *v = json_object_get(map, key);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*rc = petra_yaml_error(y, map, key, 0, err, "%s.%s: must be a string, not %s", what,
				       key, petra_yaml_type_name(v));
		return NULL;
	}
	return json_string_value(v);
}

/* One namespace's entry (default-docker, or a docker: scope). */
static int parse_scope(const struct petra_yaml *y, const json_t *map, const char *scope,
		       const char *what, struct trust_registries_d *d, struct petra_error **err)
{
	if (!json_is_object(map))
		return petra_yaml_error(y, map, NULL, PETRA_YAML_NODE, err,
					"%s: must be a mapping, not %s", what,
					petra_yaml_type_name(map));
	for (size_t i = 0; i < d->n; i++)
		if ((!scope && !d->v[i].scope) ||
		    (scope && d->v[i].scope && !strcmp(scope, d->v[i].scope)))
			return petra_yaml_error(y, map, NULL, PETRA_YAML_NODE, err,
						"%s: also configured in %s", what, d->v[i].source);
	int rc = 0;
	const char *lookaside = member_string(y, map, "lookaside", what, err, &rc);
	const char *staging = member_string(y, map, "lookaside-staging", what, err, &rc);
	const char *old = member_string(y, map, "sigstore", what, err, &rc);
	const char *old_staging = member_string(y, map, "sigstore-staging", what, err, &rc);
	if (rc < 0)
		return rc;
	if ((lookaside || staging) && (old || old_staging))
		return petra_yaml_error(y, map, NULL, PETRA_YAML_NODE, err,
					"%s: lookaside and sigstore (its older name) both set",
					what);
	xgrow((void **)&d->v, &d->alloc, d->n + 1, sizeof(*d->v));
	struct lookaside_scope *s = &d->v[d->n++];
	memset(s, 0, sizeof(*s));
	s->scope = scope ? xstrdup(scope) : NULL;
	s->lookaside = lookaside ? xstrdup(lookaside) : old ? xstrdup(old) : NULL;
	s->staging = staging ? xstrdup(staging) : old_staging ? xstrdup(old_staging) : NULL;
	s->source = xstrdup(petra_yaml_name(y));
	return 0;
}

static int parse_yaml(const struct petra_yaml *y, struct trust_registries_d *d,
		      struct petra_error **err)
{
	const json_t *root = petra_yaml_root(y);
	if (!root)
		return 0;
	if (!json_is_object(root))
		return petra_error_set(err, EINVAL, "%s: must be a mapping", petra_yaml_name(y));
	const json_t *def = json_object_get(root, "default-docker");
	if (def && !json_is_null(def) && parse_scope(y, def, NULL, "default-docker", d, err) < 0)
		return -1;
	const json_t *docker = NULL;
	if (petra_yaml_member(y, root, "docker", JSON_OBJECT, "registries.d", &docker, err) < 0)
		return -1;
	const char *scope;
	json_t *v;
	json_object_foreach((json_t *)docker, scope, v)
	{
		_cleanup_free_ char *what = xasprintf("docker.%s", scope);
		if (parse_scope(y, v, scope, what, d, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_file(const char *path, struct trust_registries_d *d, struct petra_error **err)
{
	_cleanup_yaml_ struct petra_yaml *y = NULL;
	if (petra_yaml_load(AT_FDCWD, path, &y, err) < 0)
		return -1;
	return parse_yaml(y, d, err);
}

struct trust_registries_d *trust_registries_d_new(void)
{
	struct trust_registries_d *d = xcalloc(1, sizeof(*d));
	d->dir = xstrdup("(none)");
	return d;
}

int trust_registries_d_parse(struct trust_registries_d *d, const char *data, size_t len,
			     const char *name, struct petra_error **err)
{
	_cleanup_yaml_ struct petra_yaml *y = NULL;
	if (petra_yaml_parse(data, len, name, &y, err) < 0)
		return -1;
	return parse_yaml(y, d, err);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int trust_registries_d_load(const char *dir, struct trust_registries_d **out,
			    struct petra_error **err)
{
	*out = NULL;
	_cleanup_free_ char *chosen = NULL;
	if (dir) {
		chosen = xstrdup(dir);
	} else {
		/* containers/image: the user's directory when it exists. */
		const char *home = getenv("HOME");
		struct stat st;
		_cleanup_free_ char *user =
		    home ? xasprintf("%s/.config/containers/registries.d", home) : NULL;
		chosen = xstrdup(user && stat(user, &st) == 0 && S_ISDIR(st.st_mode)
				     ? user
				     : "/etc/containers/registries.d");
	}
	struct trust_registries_d *d = xcalloc(1, sizeof(*d));
	d->dir = steal_pointer(&chosen);
	DIR *dh = opendir(d->dir);
	if (!dh) {
		if (errno == ENOENT && !dir) {
			*out = d; /* none configured */
			return 0;
		}
		int e = errno;
		trust_registries_d_free(d);
		return petra_error_set_errno(err, e, "registries.d %s", dir);
	}
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (len > 5 && !strcmp(de->d_name + len - 5, ".yaml"))
			strvec_push(&names, de->d_name);
	}
	closedir(dh);
	if (names.n) /* qsort takes no NULL array, even empty */
		qsort(names.v, names.n, sizeof(*names.v), compare_names);
	int rc = 0;
	for (size_t i = 0; i < names.n && rc == 0; i++) {
		_cleanup_free_ char *path = path_join(d->dir, names.v[i]);
		rc = parse_file(path, d, err);
	}
	strvec_clear(&names);
	if (rc < 0) {
		trust_registries_d_free(d);
		return -1;
	}
	*out = d;
	return 0;
}

/* The base URL for ref (parsed), as containers/image picks it: the entry
 * for the full reference, then for the repository and each parent
 * namespace up to the host, then default-docker; staging first when
 * writing. NULL when none is configured. */
static const char *top_level(const struct trust_registries_d *d, const struct policy_ref *ref,
			     bool write)
{
	_cleanup_free_ char *name = xasprintf("%s/%s", ref->domain, ref->path);
	_cleanup_free_ char *identity = ref->tag      ? xasprintf("%s:%s", name, ref->tag)
					: ref->digest ? xasprintf("%s@%s", name, ref->digest)
						      : xasprintf("%s:latest", name);
	const char *candidates[64];
	size_t n = 0;
	candidates[n++] = identity;
	/* name, then its parents: cut at each '/' from the right. */
	_cleanup_free_ char *walk = xstrdup(name);
	struct strvec owned = STRVEC_INIT;
	for (;;) {
		strvec_push(&owned, walk);
		char *slash = strrchr(walk, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	for (size_t i = 0; i < owned.n && n < ARRAY_SIZE(candidates) - 1; i++)
		candidates[n++] = owned.v[i];
	candidates[n++] = NULL; /* default-docker */
	const char *found = NULL;
	for (size_t c = 0; c < n && !found; c++) {
		for (size_t i = 0; i < d->n && !found; i++) {
			const struct lookaside_scope *s = &d->v[i];
			if (candidates[c] ? !s->scope || strcmp(s->scope, candidates[c])
					  : !!s->scope)
				continue;
			if (write && s->staging)
				found = s->staging;
			else if (s->lookaside)
				found = s->lookaside;
		}
	}
	strvec_clear(&owned);
	return found;
}

char *trust_lookaside_url(const struct trust_registries_d *d, const char *ref_text, bool write)
{
	struct policy_ref ref;
	if (!d || policy_ref_parse(ref_text, &ref, NULL) < 0)
		return NULL;
	const char *top = top_level(d, &ref, write);
	size_t tlen = top ? strlen(top) : 0;
	while (tlen && top[tlen - 1] == '/')
		tlen--;
	char *url = top ? xasprintf("%.*s/%s", (int)tlen, top, ref.path) : NULL;
	policy_ref_release(&ref);
	return url;
}

/* <base>@sha256=HEX (the image's directory). */
static char *image_url(const char *base, const char *digest)
{
	const char *colon = strchr(digest, ':');
	return xasprintf("%s@%.*s=%s", base, (int)(colon - digest), digest, colon + 1);
}

int trust_lookaside_read(const struct trust_registries_d *d, const char *ref, const char *digest,
			 const struct registry_options *options, struct trust_signatures *sigs,
			 size_t *n_read, struct petra_error **err)
{
	*n_read = 0;
	_cleanup_free_ char *base = trust_lookaside_url(d, ref, false);
	if (!base)
		return 0;
	_cleanup_free_ char *dir = image_url(base, digest);
	bool file = !strncmp(dir, "file://", 7);
	if (!file && strncmp(dir, "http://", 7) && strncmp(dir, "https://", 8))
		return petra_error_set(err, EINVAL,
				       "lookaside %s: file://, http:// or https:// only", base);
	for (unsigned n = 1;; n++) {
		_cleanup_free_ char *url = xasprintf("%s/signature-%u", dir, n);
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		struct petra_error *e = NULL;
		int rc = file ? fs_read_file_at(AT_FDCWD, url + 7, MAX_SIGNATURE, &data, &len, &e)
			      : registry_fetch_url(url, MAX_SIGNATURE, options, &data, &len, &e);
		if (rc < 0) {
			if (e->code == ENOENT) {
				petra_error_free(e);
				return 0;
			}
			*err = e;
			return petra_error_prefix(err, "lookaside");
		}
		if (trust_signature_file_parse(data, len, url, sigs, err) < 0)
			return -1;
		(*n_read)++;
	}
}

int trust_lookaside_write(const struct trust_registries_d *d, const char *ref, const char *digest,
			  const struct trust_blob *messages, size_t n, size_t *written,
			  struct petra_error **err)
{
	*written = 0;
	_cleanup_free_ char *base = trust_lookaside_url(d, ref, true);
	if (!base)
		return petra_error_set(
		    err, ENOENT, "no lookaside-staging (or lookaside) for %s in registries.d %s",
		    ref, d ? d->dir : "(none)");
	if (strncmp(base, "file://", 7))
		return petra_error_set(
		    err, ENOTSUP, "lookaside %s: signatures are written to file:// only", base);
	_cleanup_free_ char *dir = image_url(base + 7, digest);
	if (fs_mkdir_p(dir, 0755, err) < 0)
		return petra_error_prefix(err, "lookaside");
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return petra_error_set_errno(err, errno, "lookaside %s", dir);
	/* What is there: the same message is not written twice. */
	struct trust_blob *present = NULL;
	size_t n_present = 0, alloc = 0;
	unsigned next = 1;
	int rc = 0;
	for (;; next++) {
		_cleanup_free_ char *name = xasprintf("signature-%u", next);
		struct trust_blob b = {0};
		struct petra_error *e = NULL;
		if (fs_read_file_at(dirfd, name, MAX_SIGNATURE, &b.data, &b.len, &e) < 0) {
			if (e->code != ENOENT) {
				*err = e;
				rc = -1;
			} else {
				petra_error_free(e);
			}
			break;
		}
		xgrow((void **)&present, &alloc, n_present + 1, sizeof(*present));
		present[n_present++] = b;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool known = false;
		for (size_t k = 0; k < n_present && !known; k++)
			known = present[k].len == messages[i].len &&
				!memcmp(present[k].data, messages[i].data, messages[i].len);
		if (known)
			continue;
		/* Exclusive: a concurrent writer's file is never replaced. */
		_cleanup_free_ char *name = NULL;
		_cleanup_close_ int fd = -1;
		for (;; next++) {
			free(name);
			name = xasprintf("signature-%u", next);
			fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd >= 0 || errno != EEXIST)
				break;
		}
		if (fd < 0 || fs_write_all(fd, messages[i].data, messages[i].len) < 0 ||
		    fsync(fd) < 0) {
			rc = petra_error_set_errno(err, errno, "lookaside %s/%s", dir, name);
			break;
		}
		next++;
		(*written)++;
	}
	for (size_t k = 0; k < n_present; k++)
		free(present[k].data);
	free(present);
	return rc;
}

/* ---- between the store and a lookaside ----------------------------------- */

static int store_image_of(struct petra_store *store, const char *image,
			  char digest[OCI_DIGEST_SIZE], char **repository, struct petra_error **err)
{
	struct oci_descriptor desc;
	_cleanup_free_ char *name = NULL;
	if (petra_store_resolve(store, image, &desc, &name, err) < 0)
		return -1;
	memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&desc);
	*repository = trust_repository_of(name ? name : image);
	return 0;
}

int trust_lookaside_push(struct petra_store *store, const struct trust_registries_d *d,
			 const char *image, const char *ref, size_t *written,
			 struct petra_error **err)
{
	*written = 0;
	char digest[OCI_DIGEST_SIZE];
	_cleanup_free_ char *repository = NULL;
	if (store_image_of(store, image, digest, &repository, err) < 0)
		return -1;
	struct trust_signatures sigs = {0};
	if (trust_store_signatures(store, repository, digest, &sigs, err) < 0)
		return -1;
	struct trust_blob *messages = xcalloc(sigs.n ? sigs.n : 1, sizeof(*messages));
	size_t n = 0;
	for (size_t i = 0; i < sigs.n; i++)
		if (sigs.v[i].kind == TRUST_SIGNATURE_GPG)
			messages[n++] =
			    (struct trust_blob){sigs.v[i].payload, sigs.v[i].payload_len};
	int rc = n ? trust_lookaside_write(d, ref, digest, messages, n, written, err) : 0;
	free(messages);
	trust_signatures_release(&sigs);
	return rc;
}

int trust_lookaside_pull(struct petra_store *store, const struct trust_registries_d *d,
			 const char *ref, const char *image, const struct registry_options *options,
			 size_t *added, struct petra_error **err)
{
	*added = 0;
	char digest[OCI_DIGEST_SIZE];
	_cleanup_free_ char *repository = NULL;
	if (store_image_of(store, image, digest, &repository, err) < 0)
		return -1;
	struct trust_signatures sigs = {0};
	size_t n_read = 0;
	int rc = trust_lookaside_read(d, ref, digest, options, &sigs, &n_read, err);
	for (size_t i = 0; rc == 0 && i < sigs.n; i++) {
		if (sigs.v[i].kind != TRUST_SIGNATURE_GPG)
			continue;
		_cleanup_free_ char *tag = trust_gpg_signature_tag(repository, digest);
		struct trust_signatures now = {0};
		rc = trust_sig_manifest_read(store, tag, &now, err);
		size_t before = now.n, after = 0;
		trust_signatures_release(&now);
		if (rc == 0)
			rc = trust_store_add_gpg_signature(store, image, sigs.v[i].payload,
							   sigs.v[i].payload_len, &after, err);
		if (rc == 0 && after > before)
			(*added)++;
	}
	trust_signatures_release(&sigs);
	return rc;
}

int trust_lookaside_sign(const struct trust_registries_d *d, const char *fingerprint,
			 const char *ref, const char *digest, const char *identity, size_t *written,
			 struct petra_error **err)
{
	_cleanup_free_ char *normalised = NULL;
	if (trust_normalise_ref(identity ? identity : ref, &normalised, err) < 0)
		return -1;
	char *message = NULL;
	size_t len = 0;
	if (trust_gpg_sign_image(fingerprint, normalised, digest, NULL, &message, &len, err) < 0)
		return -1;
	struct trust_blob blob = {message, len};
	int rc = trust_lookaside_write(d, ref, digest, &blob, 1, written, err);
	free(message);
	return rc;
}
