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
 *   manifests/sha256-<hex>.json  that manifest (its annotations name the
 *                              base the trust gate judges; immutable)
 *   sigs/sha256-<hex>.json     the cosign signatures of its .sig tag as
 *                              the last fetch found them (rewritten: a
 *                              signature may come later), a JSON array
 *   paths/sha256-<hex>.txt     every path of the image's filesystem, one a
 *                              line, sorted, a directory with a trailing
 *                              "/" (KL202 needs which paths exist, not
 *                              their content): read from the layers' tar
 *                              headers, each layer streamed once into a
 *                              temporary file that is then removed;
 *                              bounded (KUBE_REMOTE_MAX_PATHS; past it no
 *                              list is kept and KL202 is left out)
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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "registry/registry.h"
#include "trust/trust.h"

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
	/* Bumped after every fetch: a linter judges its images again when
	 * it changed (a tag moved, a signature came). */
	atomic_uint generation;
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
	_cleanup_free_ char *manifests = path_join(r->dir, "manifests");
	_cleanup_free_ char *sigs = path_join(r->dir, "sigs");
	_cleanup_free_ char *paths = path_join(r->dir, "paths");
	if (fs_mkdir_p(configs, 0700, err) < 0 || fs_mkdir_p(refs, 0700, err) < 0 ||
	    fs_mkdir_p(manifests, 0700, err) < 0 || fs_mkdir_p(sigs, 0700, err) < 0 ||
	    fs_mkdir_p(paths, 0700, err) < 0) {
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

/* `kind` is "configs", "manifests" or "sigs". */
static char *cache_path(const struct kube_remote *r, const char *kind, const char *digest)
{
	return xasprintf("%s/%s/sha256-%s.json", r->dir, kind, oci_digest_hex(digest));
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

static json_t *cached_json(const struct kube_remote *r, const char *kind, const char *digest)
{
	_cleanup_free_ char *path = cache_path(r, kind, digest);
	_cleanup_free_ char *data = NULL;
	size_t len;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 16u << 20, &data, &len, &ignored) < 0)
		return NULL;
	return json_loadb(data, len, 0, NULL);
}

/* A layer of at most this many bytes is read (on disk, briefly). */
#define REMOTE_MAX_LAYER (8ull << 30)

static char *paths_path(const struct kube_remote *r, const char *digest)
{
	return xasprintf("%s/paths/sha256-%s.txt", r->dir, oci_digest_hex(digest));
}

static char *paths_failed_path(const struct kube_remote *r, const char *digest)
{
	return xasprintf("%s/paths/sha256-%s.failed", r->dir, oci_digest_hex(digest));
}

/* Why the last fetch could not read the paths, or NULL. */
static char *paths_failure(const struct kube_remote *r, const char *digest)
{
	_cleanup_free_ char *path = paths_failed_path(r, digest);
	char *data = NULL;
	size_t len;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 4096, &data, &len, &ignored) < 0)
		return NULL;
	return data;
}

bool kube_remote_paths(struct kube_remote *r, const char *digest, struct strvec *out)
{
	_cleanup_free_ char *path = paths_path(r, digest);
	_cleanup_free_ char *data = NULL;
	size_t len;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 256u << 20, &data, &len, &ignored) < 0)
		return false;
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		strvec_push(out, line);
	return true;
}

/* "/a/b" from a tar name ("./a/b/", "a/b"); NULL for the root. */
static char *tar_path(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (*name == '/')
		name++;
	size_t n = strlen(name);
	while (n > 0 && name[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && name[0] == '.'))
		return NULL;
	return xasprintf("/%.*s", (int)n, name);
}

/* Remove path and everything under it from the set (keep_self: only
 * what is under it, an opaque directory). */
static void remove_tree(json_t *set, const char *path, bool keep_self)
{
	size_t n = strlen(path);
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(set, tmp, key, v)
	{
		if (strncmp(key, path, n) == 0 && ((key[n] == '\0' && !keep_self) || key[n] == '/'))
			json_object_del(set, key);
	}
}

/* One layer's headers (a file with its blob, any compression libarchive
 * reads) applied to the set: its whiteouts first (they hide the lower
 * layers' paths), then its entries and their parents. */
static int layer_paths(int fd, json_t *set, struct petra_error **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int rc = 0;
	if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK) {
		rc = petra_error_set(err, EIO, "%s", archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	json_t *added = json_object();
	struct strvec whiteouts = STRVEC_INIT, opaque = STRVEC_INIT;
	struct archive_entry *entry;
	int ar;
	while ((ar = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		_cleanup_free_ char *path = tar_path(archive_entry_pathname(entry));
		archive_read_data_skip(a);
		if (!path)
			continue;
		char *base = strrchr(path, '/') + 1;
		if (strcmp(base, ".wh..wh..opq") == 0) {
			strvec_pushf(&opaque, "%.*s", base == path + 1 ? 0 : (int)(base - 1 - path),
				     path);
			continue;
		}
		if (strncmp(base, ".wh.", 4) == 0) {
			strvec_pushf(&whiteouts, "%.*s%s", (int)(base - path), path, base + 4);
			continue;
		}
		bool dir = archive_entry_filetype(entry) == AE_IFDIR;
		json_object_set_new(added, path, json_boolean(dir));
		/* Parents a tar may leave implicit. */
		for (char *slash = strrchr(path, '/'); slash && slash != path;
		     slash = strrchr(path, '/')) {
			*slash = '\0';
			if (!json_object_get(added, path))
				json_object_set_new(added, path, json_true());
		}
	}
	if (ar != ARCHIVE_EOF)
		rc = petra_error_set(err, EIO, "%s", archive_error_string(a));
	archive_read_free(a);
	for (size_t i = 0; i < whiteouts.n; i++)
		remove_tree(set, whiteouts.v[i], false);
	for (size_t i = 0; i < opaque.n; i++)
		remove_tree(set, opaque.v[i], true);
	json_object_update(set, added);
	json_decref(added);
	strvec_clear(&whiteouts);
	strvec_clear(&opaque);
	return rc;
}

/* The path list of the image whose manifest is `manifest`, written once. */
static int fetch_paths(struct kube_remote *r, const char *ref, const char *digest,
		       const json_t *manifest, struct petra_error **err)
{
	_cleanup_free_ char *out = paths_path(r, digest);
	if (access(out, F_OK) == 0)
		return 0;
	_cleanup_registry_repository_ struct registry_repository *repo = NULL;
	if (registry_repository_open(ref, &r->registry, &repo, err) < 0)
		return -1;
	_cleanup_free_ char *dir = path_join(r->dir, "paths");
	json_t *set = json_object();
	int rc = 0;
	size_t i;
	const json_t *layer;
	json_array_foreach(json_object_get(manifest, "layers"), i, layer)
	{
		const char *ldigest = json_string_value(json_object_get(layer, "digest"));
		if (!ldigest || !oci_digest_valid(ldigest)) {
			rc = petra_error_set(err, EINVAL, "a layer without a digest");
			break;
		}
		_cleanup_close_ int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = petra_error_set_errno(err, errno, "a temporary file in %s", dir);
			break;
		}
		rc = registry_repository_get_blob_fd(repo, ldigest, fd, REMOTE_MAX_LAYER, err);
		if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0)
			rc = petra_error_set_errno(err, errno, "seek");
		if (rc == 0 && layer_paths(fd, set, err) < 0)
			rc = petra_error_prefix(err, "layer %s", ldigest);
		if (rc < 0)
			break;
		if (json_object_size(set) > KUBE_REMOTE_MAX_PATHS) {
			rc = petra_error_set(err, EFBIG, "more than %u paths",
					     KUBE_REMOTE_MAX_PATHS);
			break;
		}
	}
	if (rc < 0) {
		json_decref(set);
		return petra_error_prefix(err, "the paths of %s", ref);
	}
	struct strvec lines = STRVEC_INIT;
	const char *key;
	json_t *v;
	json_object_foreach(set, key, v)
	    strvec_pushf(&lines, "%s%s", key, json_is_true(v) ? "/" : "");
	json_decref(set);
	strvec_sort(&lines);
	struct strbuf sb = STRBUF_INIT;
	for (size_t k = 0; k < lines.n; k++)
		strbuf_addf(&sb, "%s\n", lines.v[k]);
	strvec_clear(&lines);
	rc = fs_write_file_atomic_at(AT_FDCWD, out, sb.buf ? sb.buf : "", sb.len, 0600, err);
	strbuf_release(&sb);
	return rc;
}

/* What the cache holds of ref: the config and the manifest are needed
 * (an entry of the cache before manifests were kept is a miss, fetched
 * again), the signatures are none until a fetch read them. */
static bool cached_image(const struct kube_remote *r, const char *ref,
			 struct kube_remote_image *out)
{
	memset(out, 0, sizeof(*out));
	if (!cached_digest(r, ref, out->digest))
		return false;
	out->config = cached_json(r, "configs", out->digest);
	out->manifest = cached_json(r, "manifests", out->digest);
	if (!out->config || !out->manifest) {
		kube_remote_image_release(out);
		return false;
	}
	out->signatures = cached_json(r, "sigs", out->digest);
	if (!json_is_array(out->signatures)) {
		json_decref(out->signatures);
		out->signatures = json_array();
	}
	_cleanup_free_ char *list = paths_path(r, out->digest);
	out->has_paths = access(list, F_OK) == 0;
	if (!out->has_paths)
		out->paths_error = paths_failure(r, out->digest);
	return true;
}

void kube_remote_image_release(struct kube_remote_image *img)
{
	json_decref(img->config);
	json_decref(img->manifest);
	json_decref(img->signatures);
	free(img->paths_error);
	memset(img, 0, sizeof(*img));
}

static int write_json(const struct kube_remote *r, const char *kind, const char *digest,
		      const json_t *value, struct petra_error **err)
{
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(value, &len);
	_cleanup_free_ char *path = cache_path(r, kind, digest);
	return fs_write_file_atomic_at(AT_FDCWD, path, text, len, 0600, err);
}

/* The registry's cosign signatures of repository@digest as JSON (a
 * signature whose payload is not text is left out: cosign's are JSON). */
static json_t *registry_signatures(struct kube_remote *r, const char *ref, const char *digest,
				   struct petra_error **err)
{
	struct oci_ref parsed;
	if (oci_ref_parse(ref, &parsed, err) < 0)
		return NULL;
	_cleanup_free_ char *by_digest = xasprintf("%s@%s", parsed.name, digest);
	oci_ref_release(&parsed);
	struct trust_signatures sigs = {0};
	char got[OCI_DIGEST_SIZE];
	if (trust_registry_signatures(by_digest, &r->registry, got, &sigs, err) < 0)
		return NULL;
	json_t *out = json_array();
	for (size_t i = 0; i < sigs.n; i++) {
		const struct trust_signature *sig = &sigs.v[i];
		json_t *payload = json_stringn(sig->payload, sig->payload_len);
		if (sig->kind != TRUST_SIGNATURE_SIGSTORE || !payload) {
			json_decref(payload);
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "mediaType", json_string(sig->media_type ?: ""));
		json_object_set_new(o, "payload", payload);
		if (sig->signature_b64)
			json_object_set_new(o, "signature", json_string(sig->signature_b64));
		if (sig->annotations)
			json_object_set(o, "annotations", sig->annotations);
		json_array_append_new(out, o);
	}
	trust_signatures_release(&sigs);
	return out;
}

/* Ask the registry for ref's manifest, config and signatures, and keep
 * them. */
static int fetch(struct kube_remote *r, const char *ref, struct kube_remote_image *out,
		 struct petra_error **err)
{
	struct kube_remote_image img = {0};
	if (registry_inspect(ref, &r->registry, &img.manifest, &img.config, img.digest, err) < 0)
		return -1;
	img.signatures = registry_signatures(r, ref, img.digest, err);
	int rc = img.signatures ? 0 : -1;
	if (rc == 0)
		rc = write_json(r, "configs", img.digest, img.config, err);
	if (rc == 0)
		rc = write_json(r, "manifests", img.digest, img.manifest, err);
	if (rc == 0)
		rc = write_json(r, "sigs", img.digest, img.signatures, err);
	/* The layers last: the rest is there meanwhile (KL201, KL203). */
	if (rc == 0) {
		/* Not reading them costs KL202 only: kept as the reason (and
		 * tried again at the next fetch, not at every lookup). */
		struct petra_error *perr = NULL;
		_cleanup_free_ char *failed = paths_failed_path(r, img.digest);
		if (fetch_paths(r, ref, img.digest, img.manifest, &perr) < 0) {
			img.paths_error = xstrdup(perr->message);
			if (!r->fetch_on_miss)
				fprintf(stderr, "petra-admission: image %s: %s\n", ref,
					perr->message);
			petra_error_free(perr);
			perr = NULL;
			if (fs_write_file_atomic_at(AT_FDCWD, failed, img.paths_error,
						    strlen(img.paths_error), 0600, &perr) < 0)
				petra_error_free(perr);
		} else {
			unlink(failed);
		}
		_cleanup_free_ char *list = paths_path(r, img.digest);
		img.has_paths = access(list, F_OK) == 0;
	}
	if (rc == 0 && !strstr(ref, "@sha256:")) {
		_cleanup_free_ char *rpath = ref_path(r, ref);
		_cleanup_free_ char *line = xasprintf("%s\n", img.digest);
		rc = fs_write_file_atomic_at(AT_FDCWD, rpath, line, strlen(line), 0600, err);
	}
	if (rc == 0)
		atomic_fetch_add(&r->generation, 1);
	if (rc < 0 || !out)
		kube_remote_image_release(&img);
	else
		*out = img;
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

int kube_remote_image(struct kube_remote *r, const char *ref, struct kube_remote_image *img,
		      struct petra_error **err)
{
	bool hit = cached_image(r, ref, img);
	/* Known but without its paths yet (an older cache, or a fetch that
	 * failed at the layers): fetched again, the rest answers meanwhile. */
	bool incomplete = hit && !img->has_paths && !img->paths_error;
	if (!r->fetch_on_miss) {
		/* Never the network here: the refresher fetches it (and
		 * keeps a tag current). */
		pthread_mutex_lock(&r->lock);
		remember(&r->known, ref);
		if (!hit || incomplete) {
			remember(&r->queue, ref);
			pthread_cond_signal(&r->wake);
		}
		pthread_mutex_unlock(&r->lock);
		return hit ? 1 : 0;
	}
	if (hit && !incomplete)
		return 1;
	if (hit) {
		kube_remote_image_release(img);
		return fetch(r, ref, img, err) < 0 ? -1 : 1;
	}
	if (fetch(r, ref, img, err) < 0)
		return -1;
	return 1;
}

unsigned kube_remote_generation(struct kube_remote *r)
{
	return atomic_load(&r->generation);
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
			/* The interval is up: every image seen, again (a
			 * tag may move, and a signature may be added to an
			 * image named by digest). */
			for (size_t i = 0; i < r->known.n; i++)
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
