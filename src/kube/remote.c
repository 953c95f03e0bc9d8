/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image facts from a registry, for images a manifest names that are not
 * in the store: the image's config (its labels: the writable paths; its
 * USER), read with registry_inspect (manifest and config verified) and
 * kept on disk.
 *
 * The cache, under one directory:
 *   configs/sha256-<hex>.json  the config of the image whose manifest has
 *                              that digest (immutable: written once)
 *   refs/<hex of sha256(ref)>  the manifest digest a tag last resolved to
 * A reference by digest is looked up by its digest alone; a tag through
 * refs/, which the refresher keeps current. Files are written atomically,
 * so a reader never sees half of one.
 *
 * kube-lint asks the registry at once on a miss. The webhook never does on
 * the request path: a miss is queued for the refresher thread (and
 * answered by --on-unknown-image meanwhile); the thread fetches what is
 * queued and, every interval, what refs/ holds again.
 */
#include "kube.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry/registry.h"

struct kube_remote {
	char *dir;
	struct registry_options registry;
	char *auth_file, *cert_dir; /* owned copies for the thread */
	bool fetch_on_miss;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct strvec queue; /* refs to fetch */
	struct strvec known; /* refs seen, refreshed every interval */
	bool stop, started;
	unsigned interval;
	pthread_t thread;
};

char *kube_remote_default_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/petra/kube-images", xdg);
	const char *home = getenv("HOME");
	return xasprintf("%s/.cache/petra/kube-images", home && *home ? home : "/tmp");
}

int kube_remote_new(const struct kube_remote_options *o, struct kube_remote **out,
		    struct petra_error **err)
{
	*out = NULL;
	struct kube_remote *r = xcalloc(1, sizeof(*r));
	r->dir = o->cache_dir ? xstrdup(o->cache_dir) : kube_remote_default_dir();
	r->auth_file = o->auth_file ? xstrdup(o->auth_file) : NULL;
	r->cert_dir = o->cert_dir ? xstrdup(o->cert_dir) : NULL;
	r->registry = (struct registry_options){.auth_file = r->auth_file,
						.cert_dir = r->cert_dir,
						.tls_verify = o->tls_verify,
						.quiet = true};
	r->fetch_on_miss = o->fetch_on_miss;
	r->queue = (struct strvec)STRVEC_INIT;
	r->known = (struct strvec)STRVEC_INIT;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	_cleanup_free_ char *configs = path_join(r->dir, "configs");
	_cleanup_free_ char *refs = path_join(r->dir, "refs");
	if (fs_mkdir_p(configs, 0700, err) < 0 || fs_mkdir_p(refs, 0700, err) < 0) {
		kube_remote_free(r);
		return petra_error_prefix(err, "the image cache");
	}
	*out = r;
	return 0;
}

void kube_remote_free(struct kube_remote *r)
{
	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	strvec_clear(&r->queue);
	strvec_clear(&r->known);
	free(r->dir);
	free(r->auth_file);
	free(r->cert_dir);
	free(r);
}

static char *config_path(const struct kube_remote *r, const char *digest)
{
	return xasprintf("%s/configs/sha256-%s.json", r->dir, oci_digest_hex(digest));
}

static char *ref_path(const struct kube_remote *r, const char *ref)
{
	char d[OCI_DIGEST_SIZE];
	oci_digest_buffer(ref, strlen(ref), d);
	return xasprintf("%s/refs/%s", r->dir, oci_digest_hex(d));
}

/* The manifest digest `ref` names: its own, or what the cache says a tag
 * last resolved to. false when unknown. */
static bool cached_digest(const struct kube_remote *r, const char *ref, char out[OCI_DIGEST_SIZE])
{
	const char *at = strstr(ref, "@sha256:");
	if (at) {
		if (!oci_digest_valid(at + 1))
			return false;
		snprintf(out, OCI_DIGEST_SIZE, "%s", at + 1);
		return true;
	}
	_cleanup_free_ char *path = ref_path(r, ref);
	_cleanup_free_ char *data = NULL;
	size_t len;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 256, &data, &len, &ignored) < 0)
		return false;
	data[strcspn(data, "\n")] = '\0';
	if (!oci_digest_valid(data))
		return false;
	snprintf(out, OCI_DIGEST_SIZE, "%s", data);
	return true;
}

static json_t *cached_config(const struct kube_remote *r, const char *ref)
{
	char digest[OCI_DIGEST_SIZE];
	if (!cached_digest(r, ref, digest))
		return NULL;
	_cleanup_free_ char *path = config_path(r, digest);
	_cleanup_free_ char *data = NULL;
	size_t len;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 16u << 20, &data, &len, &ignored) < 0)
		return NULL;
	return json_loadb(data, len, 0, NULL);
}

/* Ask the registry for ref's manifest and config, and keep them. */
static int fetch(struct kube_remote *r, const char *ref, json_t **config_out,
		 struct petra_error **err)
{
	json_t *manifest = NULL, *config = NULL;
	char digest[OCI_DIGEST_SIZE];
	if (registry_inspect(ref, &r->registry, &manifest, &config, digest, err) < 0)
		return -1;
	json_decref(manifest);
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(config, &len);
	_cleanup_free_ char *cpath = config_path(r, digest);
	int rc = fs_write_file_atomic_at(AT_FDCWD, cpath, text, len, 0600, err);
	if (rc == 0 && !strstr(ref, "@sha256:")) {
		_cleanup_free_ char *rpath = ref_path(r, ref);
		_cleanup_free_ char *line = xasprintf("%s\n", digest);
		rc = fs_write_file_atomic_at(AT_FDCWD, rpath, line, strlen(line), 0600, err);
	}
	if (rc < 0 || !config_out)
		json_decref(config);
	else
		*config_out = config;
	return rc < 0 ? petra_error_prefix(err, "the image cache") : 0;
}

/* Requests name whatever images they like: what the refresher keeps is
 * bounded, so a flood of names costs neither unbounded memory nor
 * unbounded registry traffic (past the bound, a new name stays unknown). */
#define REMOTE_MAX_REFS 4096

static void remember(struct strvec *v, const char *ref)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], ref))
			return;
	if (v->n < REMOTE_MAX_REFS)
		strvec_push(v, ref);
}

int kube_remote_config(struct kube_remote *r, const char *ref, json_t **config,
		       struct petra_error **err)
{
	*config = cached_config(r, ref);
	if (!r->fetch_on_miss) {
		/* Never the network here: the refresher fetches it (and
		 * keeps a tag current). */
		pthread_mutex_lock(&r->lock);
		remember(&r->known, ref);
		if (!*config) {
			remember(&r->queue, ref);
			pthread_cond_signal(&r->wake);
		}
		pthread_mutex_unlock(&r->lock);
		return *config ? 1 : 0;
	}
	if (*config)
		return 1;
	if (fetch(r, ref, config, err) < 0)
		return -1;
	return 1;
}

static void *refresher(void *arg)
{
	struct kube_remote *r = arg;
	struct timespec next;
	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_sec += r->interval;
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		struct strvec work = STRVEC_INIT;
		if (r->queue.n > 0) {
			work = r->queue;
			r->queue = (struct strvec)STRVEC_INIT;
		} else {
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			if (now.tv_sec < next.tv_sec) {
				pthread_cond_timedwait(&r->wake, &r->lock, &next);
				continue;
			}
			/* The interval is up: every tag seen, again. */
			for (size_t i = 0; i < r->known.n; i++)
				if (!strstr(r->known.v[i], "@sha256:"))
					strvec_push(&work, r->known.v[i]);
			next = now;
			next.tv_sec += r->interval;
		}
		pthread_mutex_unlock(&r->lock);
		for (size_t i = 0; i < work.n; i++) {
			struct petra_error *err = NULL;
			if (fetch(r, work.v[i], NULL, &err) < 0) {
				fprintf(stderr, "petra-admission: image %s: %s\n", work.v[i],
					err->message);
				petra_error_free(err);
			}
		}
		strvec_clear(&work);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int kube_remote_start(struct kube_remote *r, unsigned interval, struct petra_error **err)
{
	r->interval = interval ? interval : 300;
	int e = pthread_create(&r->thread, NULL, refresher, r);
	if (e != 0)
		return petra_error_set_errno(err, e, "start the image refresher");
	r->started = true;
	return 0;
}
