/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials: --creds, else the auth files podman, skopeo and Docker
 * write ({"auths": {"host[/repo]": {"auth": base64("user:pass")}}}), so an
 * existing login works. login and logout edit the containers auth file. */
#include "internal.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

char *registry_base64_encode(const char *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
	return out;
}

char *registry_base64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text);
	if (n % 4 || n > (1u << 20))
		return NULL;
	char *out = xmalloc(n / 4 * 3 + 1);
	int got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as bytes. */
	if (n && text[n - 1] == '=')
		got--;
	if (n > 1 && text[n - 2] == '=')
		got--;
	out[got] = '\0';
	*len = (size_t)got;
	return out;
}

char *registry_auth_file_path(const struct registry_options *o)
{
	if (o && o->auth_file)
		return xstrdup(o->auth_file);
	const char *env = getenv("REGISTRY_AUTH_FILE");
	if (env && *env)
		return xstrdup(env);
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	if (runtime && *runtime)
		return xasprintf("%s/containers/auth.json", runtime);
	return xasprintf("/run/containers/%u/auth.json", (unsigned)fs_host_euid());
}

/* "https://index.docker.io/v1/" and "docker.io" name the same registry. */
static char *normalise_key(const char *key)
{
	const char *k = key;
	if (!strncmp(k, "https://", 8))
		k += 8;
	else if (!strncmp(k, "http://", 7))
		k += 7;
	char *out = xstrdup(k);
	size_t len = strlen(out);
	while (len && out[len - 1] == '/')
		out[--len] = '\0';
	if (!strcmp(out, "index.docker.io/v1") || !strcmp(out, "index.docker.io") ||
	    !strcmp(out, "registry-1.docker.io")) {
		free(out);
		out = xstrdup("docker.io");
	}
	return out;
}

/* The best entry of one file for host/repo: the longest key that is the
 * host or a path prefix of host/repo. */
static int lookup_file(const char *path, bool unreadable_is_absent, const char *host,
		       const char *repo, char **user, char **password, struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct petra_error *e = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len, &e) < 0) {
		int code = e->code;
		if (code == ENOENT || code == ENOTDIR || (code == EACCES && unreadable_is_absent)) {
			petra_error_free(e);
			return 0;
		}
		*err = e;
		return -code;
	}
	json_t *doc = json_parse_buffer(data, len, path, err);
	if (!doc)
		return -EINVAL;
	explicit_bzero(data, len);
	_cleanup_free_ char *full = repo ? xasprintf("%s/%s", host, repo) : xstrdup(host);
	json_t *auths = json_object_get(doc, "auths");
	const char *key;
	json_t *entry;
	size_t best = 0;
	const char *best_auth = NULL;
	json_object_foreach(auths, key, entry)
	{
		_cleanup_free_ char *k = normalise_key(key);
		size_t kl = strlen(k);
		bool match = !strcmp(k, full) ||
			     (!strncmp(full, k, kl) && (full[kl] == '/' || full[kl] == '\0'));
		const char *auth = json_get_string(entry, "auth");
		if (match && auth && kl > best) {
			best = kl;
			best_auth = auth;
		}
	}
	int ret = 0;
	if (best_auth) {
		size_t dlen;
		char *decoded = registry_base64_decode(best_auth, &dlen);
		char *colon = decoded ? memchr(decoded, ':', dlen) : NULL;
		if (!colon) {
			ret = petra_error_set(err, EINVAL,
					      "%s: the entry for %s is not base64 of USER:PASSWORD",
					      path, host);
		} else {
			*colon = '\0';
			*user = xstrdup(decoded);
			*password = xstrdup(colon + 1);
			ret = 1;
		}
		if (decoded) {
			explicit_bzero(decoded, dlen);
			free(decoded);
		}
	}
	json_decref(doc);
	return ret;
}

int registry_credentials(const struct registry_options *o, const char *host, const char *repo,
			 char **user, char **password, struct petra_error **err)
{
	*user = *password = NULL;
	if (o && o->creds) {
		const char *colon = strchr(o->creds, ':');
		*user = colon ? xstrndup(o->creds, (size_t)(colon - o->creds)) : xstrdup(o->creds);
		*password = xstrdup(colon ? colon + 1 : "");
		return 0;
	}
	struct strvec files = STRVEC_INIT;
	strvec_push_nodup(&files, registry_auth_file_path(o));
	bool defaults = !(o && o->auth_file) && !getenv("REGISTRY_AUTH_FILE");
	if (defaults) {
		const char *home = getenv("HOME");
		const char *xdg = getenv("XDG_CONFIG_HOME");
		if (xdg && *xdg)
			strvec_pushf(&files, "%s/containers/auth.json", xdg);
		else if (home)
			strvec_pushf(&files, "%s/.config/containers/auth.json", home);
		const char *docker = getenv("DOCKER_CONFIG");
		if (docker && *docker)
			strvec_pushf(&files, "%s/config.json", docker);
		else if (home)
			strvec_pushf(&files, "%s/.docker/config.json", home);
	}
	int ret = 0;
	/* Without XDG_RUNTIME_DIR a user's default is /run/containers/UID,
	 * whose parent root may keep to itself (0700, podman's): nothing
	 * there for this user, as when it is missing. A file the user named
	 * must be readable. */
	for (size_t i = 0; i < files.n && ret == 0; i++)
		ret = lookup_file(files.v[i], defaults && i == 0, host, repo, user, password, err);
	strvec_clear(&files);
	return ret < 0 ? ret : 0;
}

/* ---- login / logout ---- */

static int auth_file_update(const char *path, const char *host, const char *auth, bool all,
			    struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	struct petra_error *e = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len, &e) == 0) {
		doc = json_parse_buffer(data, len, path, err);
		explicit_bzero(data, len);
		if (!doc)
			return -EINVAL;
	} else if (e->code != ENOENT) {
		*err = e;
		return -(*err)->code;
	} else {
		petra_error_free(e);
		if (!auth)
			return petra_error_set(err, ENOENT, "not logged in to %s",
					       host ? host : "any registry");
		doc = json_object();
	}
	json_t *auths = json_object_get(doc, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(doc, "auths", auths);
	}
	int ret = 0;
	if (auth) {
		json_t *entry = json_object();
		json_object_set_new(entry, "auth", json_string(auth));
		json_object_set_new(auths, host, entry);
	} else if (all) {
		json_object_clear(auths);
	} else {
		/* Every spelling of the host. */
		bool found = false;
		const char *key;
		json_t *value;
		void *tmp;
		json_object_foreach_safe(auths, tmp, key, value)
		{
			_cleanup_free_ char *k = normalise_key(key);
			if (!strcmp(k, host)) {
				json_object_del(auths, key);
				found = true;
			}
		}
		if (!found)
			ret = petra_error_set(err, ENOENT, "not logged in to %s", host);
	}
	if (ret == 0) {
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			ret = fs_mkdir_p(dir, 0700, err);
		}
		char *text = json_dumps(doc, JSON_INDENT(1));
		if (ret == 0)
			ret =
			    fs_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err);
		explicit_bzero(text, strlen(text));
		free(text);
	}
	json_decref(doc);
	return ret;
}

int registry_login(const char *registry, const char *user, const char *password,
		   const struct registry_options *o, struct petra_error **err)
{
	const char *host = registry ? registry : "docker.io";
	if (!strncmp(host, "https://", 8) || !strncmp(host, "http://", 7) || strchr(host, '/'))
		return petra_error_set(err, EINVAL,
				       "login: \"%s\": expected a registry HOST[:PORT]", host);
	struct registry_options opts = o ? *o : (struct registry_options){.tls_verify = -1};
	_cleanup_free_ char *pair = xasprintf("%s:%s", user, password);
	opts.creds = pair;
	struct registry_target *targets = NULL;
	size_t n = 0;
	struct policy_ref ref = {.domain = (char *)host, .path = (char *)"x"};
	int ret = registry_resolve(&ref, false, &targets, &n, err);
	if (ret < 0)
		return petra_error_prefix(err, "login %s", host);
	_cleanup_client_ struct registry_client *c = NULL;
	ret = registry_client_new(targets[0].host, NULL, targets[0].insecure, &opts, &c, err);
	registry_targets_free(targets, n);
	if (ret < 0) {
		explicit_bzero(pair, strlen(pair));
		return petra_error_prefix(err, "login %s", host);
	}
	/* The ping had no credentials: ask again with them. */
	struct http_response r = {.content_length = -1};
	struct http_request req = {.method = "GET", .url = "/v2/"};
	ret = registry_request(c, &req, &r, err);
	if (ret == 0 && r.status != 200) {
		ret = registry_http_error(&r, err);
		if (r.status == 401)
			ret =
			    petra_error_set(err, EACCES, "invalid username or password (HTTP 401)");
	}
	registry_http_response_release(&r);
	if (ret == 0) {
		_cleanup_free_ char *path = registry_auth_file_path(o);
		_cleanup_free_ char *b64 = registry_base64_encode(pair, strlen(pair));
		ret = auth_file_update(path, host, b64, false, err);
		explicit_bzero(b64, strlen(b64));
	}
	explicit_bzero(pair, strlen(pair));
	if (ret < 0)
		return petra_error_prefix(err, "login %s", host);
	return 0;
}

int registry_logout(const char *registry, bool all, const struct registry_options *o,
		    struct petra_error **err)
{
	_cleanup_free_ char *path = registry_auth_file_path(o);
	const char *host = registry ? registry : "docker.io";
	_cleanup_free_ char *key = normalise_key(host);
	int ret = auth_file_update(path, key, NULL, all, err);
	if (ret < 0)
		return petra_error_prefix(err, "logout %s", all ? "--all" : host);
	return 0;
}
