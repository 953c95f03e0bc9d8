/* SPDX-License-Identifier: Apache-2.0 */
/* Pull: manifest (an index resolved to a platform), config and layers into
 * the store. Each blob streams from the network through the store's blob
 * writer (hashed as it is written, renamed into place only when its digest
 * and size match); an interrupted download resumes with a Range request. */
#include "internal.h"

#include <string.h>
#include <unistd.h>

/* ---- manifests ---- */

void registry_fetched_release(struct registry_fetched *f)
{
	free(f->data);
	free(f->media_type);
	memset(f, 0, sizeof(*f));
}

/* GET a manifest by tag or digest, checked against the digest asked for
 * and the Docker-Content-Digest header. */
int registry_fetch_manifest(struct registry_client *c, const char *repo, const char *reference,
			    struct registry_fetched *out, struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *url = xasprintf("/v2/%s/manifests/%s", repo, reference);
	_cleanup_free_ char *scope = registry_scope(repo, false);
	const char *headers[] = {REGISTRY_ACCEPT, NULL};
	struct http_request req = {.method = "GET", .url = url, .scope = scope, .headers = headers};
	struct http_response r = {.content_length = -1, .body_max = REGISTRY_MANIFEST_MAX};
	int ret = registry_request(c, &req, &r, err);
	if (ret < 0)
		goto out;
	if (r.status != 200) {
		ret = registry_http_error(&r, err);
		goto out;
	}
	oci_digest_buffer(r.body.buf, r.body.len, out->digest);
	if (oci_digest_valid(reference) && strcmp(reference, out->digest)) {
		ret = petra_error_set(err, EIO, "manifest %s: the registry sent %s", reference,
				      out->digest);
		goto out;
	}
	if (r.digest && oci_digest_valid(r.digest) && strcmp(r.digest, out->digest)) {
		ret = petra_error_set(
		    err, EIO, "manifest %s: Docker-Content-Digest says %s, the bytes are %s",
		    reference, r.digest, out->digest);
		goto out;
	}
	json_t *doc = json_loadb(r.body.buf, r.body.len, 0, NULL);
	const char *mt = json_get_string(doc, "mediaType");
	if (mt)
		out->media_type = xstrdup(mt);
	else if (r.content_type) {
		char *semi = strchr(r.content_type, ';');
		out->media_type = semi ? xstrndup(r.content_type, (size_t)(semi - r.content_type))
				       : xstrdup(r.content_type);
	} else if (json_object_get(doc, "manifests"))
		out->media_type = xstrdup(OCI_MEDIA_TYPE_INDEX);
	else
		out->media_type = xstrdup(OCI_MEDIA_TYPE_MANIFEST);
	json_decref(doc);
	out->len = r.body.len;
	out->data = strbuf_detach(&r.body);
out:
	registry_http_response_release(&r);
	if (ret < 0)
		registry_fetched_release(out);
	return ret;
}

struct platform {
	char *os, *arch, *variant;
};

static void platform_release(struct platform *p)
{
	free(p->os);
	free(p->arch);
	free(p->variant);
}

static int platform_parse(const char *text, struct platform *p, struct petra_error **err)
{
	memset(p, 0, sizeof(*p));
	if (!text) {
		p->os = xstrdup("linux");
		p->arch = xstrdup(oci_host_architecture());
		return 0;
	}
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	char *os = strtok_r(copy, "/", &save);
	char *arch = strtok_r(NULL, "/", &save);
	char *variant = strtok_r(NULL, "/", &save);
	if (!os || !arch || strtok_r(NULL, "/", &save))
		return petra_error_set(err, EINVAL, "platform \"%s\": expected OS/ARCH[/VARIANT]",
				       text);
	p->os = xstrdup(os);
	p->arch = xstrdup(arch);
	p->variant = variant ? xstrdup(variant) : NULL;
	return 0;
}

static int select_platform(const struct oci_index *index, const struct platform *want,
			   struct petra_error **err)
{
	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct oci_descriptor *d = &index->manifests[i];
		if (oci_media_type_kind(d->media_type) != OCI_KIND_MANIFEST)
			continue;
		const char *os = json_get_string(d->platform, "os");
		const char *arch = json_get_string(d->platform, "architecture");
		const char *variant = json_get_string(d->platform, "variant");
		if (!os || !arch || strcmp(os, want->os) || strcmp(arch, want->arch))
			continue;
		if (want->variant && (!variant || strcmp(variant, want->variant)))
			continue;
		return (int)i;
	}
	return petra_error_set(err, ENOENT, "the image index has no manifest for %s/%s%s%s",
			       want->os, want->arch, want->variant ? "/" : "",
			       want->variant ? want->variant : "");
}

/* The image manifest for the platform (following one index level). */
static int resolve_manifest(struct registry_client *c, const char *repo, const char *reference,
			    const char *platform_text, struct registry_fetched *out,
			    struct petra_error **err)
{
	int ret = registry_fetch_manifest(c, repo, reference, out, err);
	if (ret < 0)
		return ret;
	if (oci_media_type_kind(out->media_type) != OCI_KIND_INDEX)
		return 0;
	struct oci_index index;
	ret = oci_index_parse(out->data, out->len, &index, err);
	if (ret < 0) {
		registry_fetched_release(out);
		return ret;
	}
	struct platform want;
	ret = platform_parse(platform_text, &want, err);
	if (ret == 0)
		ret = select_platform(&index, &want, err);
	if (ret >= 0) {
		_cleanup_free_ char *child = xstrdup(index.manifests[ret].digest);
		registry_fetched_release(out);
		ret = registry_fetch_manifest(c, repo, child, out, err);
		if (ret == 0 && oci_media_type_kind(out->media_type) != OCI_KIND_MANIFEST)
			ret = petra_error_set(err, EPROTO,
					      "manifest %s is a %s, not an image manifest", child,
					      out->media_type);
	}
	platform_release(&want);
	oci_index_release(&index);
	/* On failure nothing fetched is handed back. */
	if (ret < 0)
		registry_fetched_release(out);
	return ret < 0 ? ret : 0;
}

/* ---- blobs ---- */

struct blob_download {
	struct petra_store *store;
	struct petra_blob_writer *writer;
	const struct oci_descriptor *desc;
	int64_t got;
	bool started; /* the current response's first byte arrived */
	struct registry_progress *progress;
	struct petra_error *error;
};

static bool blob_sink(void *ctx, long status, const char *data, size_t len)
{
	struct blob_download *d = ctx;
	if (!d->started) {
		d->started = true;
		if (status == 200 && d->got > 0) {
			/* The server ignored our Range: start over. */
			petra_store_blob_abort(d->writer);
			d->writer = NULL;
			d->got = 0;
			registry_progress_start(d->progress, "fetching", d->desc->digest,
						d->desc->size, 0);
			if (petra_store_blob_begin(d->store, &d->writer, &d->error) < 0)
				return false;
		}
	}
	if (d->desc->size >= 0 && d->got + (int64_t)len > d->desc->size) {
		petra_error_set(&d->error, EIO,
				"blob %s: the registry sent more than its %" PRId64 " bytes",
				d->desc->digest, d->desc->size);
		return false;
	}
	if (petra_store_blob_write(d->writer, data, len, &d->error) < 0)
		return false;
	d->got += (int64_t)len;
	if (d->progress)
		registry_progress_add(d->progress, d->desc->digest, len);
	return true;
}

/* One download of a blob into the store (resume: continue the partial file
 * an interrupted pull left); *resumed says whether it did. */
static int download(struct registry_client *c, const char *repo, struct petra_store *store,
		    const struct oci_descriptor *desc, struct registry_progress *progress,
		    bool resume, bool *resumed, struct petra_error **err)
{
	struct blob_download d = {.store = store, .desc = desc, .progress = progress};
	/* What an earlier, interrupted pull left is continued. */
	int ret = resume ? petra_store_blob_resume(store, desc->digest, &d.writer, &d.got, err)
			 : petra_store_blob_begin(store, &d.writer, err);
	if (ret < 0)
		return ret;
	*resumed = d.got > 0;
	if (d.got > desc->size) {
		petra_store_blob_abort(d.writer);
		return petra_error_set(err, EIO, "blob %s: a partial download larger than the blob",
				       desc->digest);
	}
	if (d.got > 0)
		log_debug("blob %s: resuming at byte %" PRId64, desc->digest, d.got);
	registry_progress_start(progress, d.got > 0 ? "resuming" : "fetching", desc->digest,
				desc->size, d.got);
	_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", repo, desc->digest);
	_cleanup_free_ char *scope = registry_scope(repo, false);
	for (unsigned attempt = 0; d.got < desc->size || desc->size == 0; attempt++) {
		_cleanup_free_ char *range =
		    d.got > 0 ? xasprintf("Range: bytes=%" PRId64 "-", d.got) : NULL;
		const char *headers[] = {range, NULL};
		struct http_request req = {.method = "GET",
					   .url = url,
					   .scope = scope,
					   .headers = headers,
					   .sink = blob_sink,
					   .sink_ctx = &d,
					   .no_retry = true};
		struct http_response r = {.content_length = -1};
		struct petra_error *e = NULL;
		d.started = false;
		ret = registry_request(c, &req, &r, &e);
		bool refused = ret < 0 && d.error;
		if (refused) {
			/* The sink refused the bytes (too many, or the store failed):
			 * not something a retry fixes. */
			petra_error_free(e);
			e = steal_pointer(&d.error);
		} else if (ret == 0 && r.status != 200 && r.status != 206) {
			registry_http_error(&r, &e);
			ret = -e->code;
		}
		bool transient = ret < 0 && !refused &&
				 (r.status == 0 || r.status >= 500 || r.status == 429 ||
				  r.status == 200 || r.status == 206);
		registry_http_response_release(&r);
		if (ret == 0 && d.got < desc->size) {
			/* The connection ended early without an error. */
			ret = petra_error_set(&e, EIO,
					      "short read (%" PRId64 " of %" PRId64 " bytes)",
					      d.got, desc->size);
			transient = true;
		}
		if (ret == 0)
			break;
		if (!transient || attempt >= 4 || !d.writer) {
			/* Keep what arrived of a transient failure for the next pull;
			 * bytes that were refused are thrown away. */
			if (transient)
				petra_store_blob_suspend(d.writer);
			else
				petra_store_blob_abort(d.writer);
			*err = e;
			return petra_error_prefix(err, "blob %s", desc->digest);
		}
		log_debug("blob %s: %s; retrying from byte %" PRId64, desc->digest, e->message,
			  d.got);
		petra_error_free(e);
		usleep(200000u << (attempt < 4 ? attempt : 4));
	}
	/* The store's message names the blob and what its bytes hash to. */
	return petra_store_blob_commit(d.writer, desc->digest, NULL, NULL, err);
}

/* Fetch one blob into the store unless it is there; nothing of it is
 * stored unless its size and digest match the descriptor. */
int registry_fetch_blob(struct registry_client *c, const char *repo, struct petra_store *store,
			const struct oci_descriptor *desc, struct registry_progress *progress,
			struct petra_error **err)
{
	if (petra_store_has_blob(store, desc->digest)) {
		registry_progress_line(progress, "have", desc->digest, desc->size);
		return 0;
	}
	bool resumed = false;
	int ret = download(c, repo, store, desc, progress, true, &resumed, err);
	if (ret < 0 && resumed && ret != -ENOSPC) {
		/* The partial file was not a prefix of the blob (a crash before
		 * it reached the disk, say): once more from the start. */
		log_debug("blob %s: resumed download failed (%s); starting over", desc->digest,
			  (*err)->message);
		petra_error_free(*err);
		*err = NULL;
		ret = download(c, repo, store, desc, progress, false, &resumed, err);
	}
	if (ret == 0)
		registry_progress_line(progress, "fetched", desc->digest, desc->size);
	return ret;
}

struct layer_jobs {
	struct registry_client *client;
	const char *repo;
	struct petra_store *store;
	const struct oci_manifest *manifest;
	struct registry_progress *progress;
};

static size_t no_deps(void *ctx, size_t task)
{
	(void)ctx;
	(void)task;
	return 0;
}

static int fetch_layer_task(void *ctx, size_t task, struct petra_error **err)
{
	struct layer_jobs *j = ctx;
	if (oci_media_type_is_foreign(j->manifest->layers[task].media_type))
		return 0;
	return registry_fetch_blob(j->client, j->repo, j->store, &j->manifest->layers[task],
				   j->progress, err);
}

/* ---- pull ---- */

/* Pull `reference` of repo: manifest (for the platform), config, layers,
 * then the manifest blob; *out describes the stored manifest. */
static int pull_from(struct registry_client *c, const char *host, const char *repo,
		     const char *reference, struct petra_store *store,
		     const struct registry_options *o, const char *title,
		     struct oci_descriptor *out, struct petra_error **err)
{
	struct registry_fetched m;
	int ret = resolve_manifest(c, repo, reference, o ? o->platform : NULL, &m, err);
	if (ret < 0)
		return ret;
	struct oci_manifest manifest;
	ret = oci_manifest_parse(m.data, m.len, &manifest, err);
	if (ret < 0) {
		petra_error_prefix(err, "manifest %s", m.digest);
		registry_fetched_release(&m);
		return ret;
	}
	uint64_t total = (uint64_t)(manifest.config.size > 0 ? manifest.config.size : 0);
	/* Foreign (non-distributable) layers stay references to their urls,
	 * as containers/image leaves them: not fetched, the manifest kept as
	 * it is. */
	for (size_t i = 0; i < manifest.n_layers; i++)
		if (!oci_media_type_is_foreign(manifest.layers[i].media_type))
			total +=
			    (uint64_t)(manifest.layers[i].size > 0 ? manifest.layers[i].size : 0);
	struct registry_progress tp;
	registry_progress_begin(&tp, title, total, o && o->quiet);
	ret = registry_fetch_blob(c, repo, store, &manifest.config, &tp, err);
	if (ret == 0) {
		struct layer_jobs jobs = {c, repo, store, &manifest, &tp};
		struct graph_ops ops = {.n_deps = no_deps, .run = fetch_layer_task};
		unsigned n_jobs = o && o->jobs ? o->jobs : 4;
		ret = graph_run(manifest.n_layers, n_jobs, &ops, &jobs, err);
	}
	registry_progress_end(&tp, ret == 0);
	if (ret < 0)
		goto out;
	/* The manifest last: once it is in the store, so is all it names. */
	char stored[OCI_DIGEST_SIZE];
	ret = petra_store_put_blob(store, m.data, m.len, stored, err);
	if (ret < 0)
		goto out;
	const char **digests = xcalloc(manifest.n_layers + 1, sizeof(*digests));
	digests[0] = manifest.config.digest;
	size_t n_digests = 1;
	for (size_t i = 0; i < manifest.n_layers; i++)
		if (!oci_media_type_is_foreign(manifest.layers[i].media_type))
			digests[n_digests++] = manifest.layers[i].digest;
	registry_locations_add(store, host, repo, digests, n_digests);
	free(digests);
	memset(out, 0, sizeof(*out));
	out->media_type = xstrdup(m.media_type);
	memcpy(out->digest, m.digest, sizeof(out->digest));
	out->size = (int64_t)m.len;
out:
	oci_manifest_release(&manifest);
	registry_fetched_release(&m);
	return ret;
}

/* Try each place registries.conf gives (mirrors first); the last error
 * wins. */
static int with_targets(const char *text, bool pull, const struct registry_options *o,
			int (*fn)(struct registry_client *c, const struct registry_target *t,
				  const struct policy_ref *ref, void *ctx,
				  struct petra_error **err),
			void *ctx, struct petra_error **err)
{
	struct policy_ref ref;
	int ret = policy_ref_parse(text, &ref, err);
	if (ret < 0)
		return ret;
	struct registry_target *targets;
	size_t n;
	ret = registry_resolve(&ref, pull, &targets, &n, err);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		_cleanup_client_ struct registry_client *c = NULL;
		ret = registry_client_new(targets[i].host, targets[i].repo, targets[i].insecure, o,
					  &c, err);
		if (ret == 0)
			ret = fn(c, &targets[i], &ref, ctx, err);
		if (ret < 0 && i + 1 < n) {
			log_warn("%s/%s: %s; trying the next location", targets[i].host,
				 targets[i].repo, (*err)->message);
			ret = 0;
			continue;
		}
		break;
	}
	registry_targets_free(targets, n);
	policy_ref_release(&ref);
	return ret;
}

struct pull_ctx {
	struct petra_store *store;
	const struct registry_options *o;
	const char *text;
	struct oci_descriptor desc;
};

static int pull_target(struct registry_client *c, const struct registry_target *t,
		       const struct policy_ref *ref, void *vctx, struct petra_error **err)
{
	struct pull_ctx *ctx = vctx;
	const char *reference = ref->digest ? ref->digest : ref->tag ? ref->tag : "latest";
	oci_descriptor_release(&ctx->desc);
	return pull_from(c, t->host, t->repo, reference, ctx->store, ctx->o, ctx->text, &ctx->desc,
			 err);
}

int registry_pull(struct petra_store *store, const char *text, const struct registry_options *o,
		  char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	/* The store's name for it: the reference as written. */
	struct oci_ref name;
	int ret = oci_ref_parse(text, &name, err);
	if (ret < 0)
		return petra_error_prefix(err, "pull %s", text);
	struct platform platform;
	if (o && o->platform) {
		/* A bad --platform is an error whether or not the image is an index. */
		if ((ret = platform_parse(o->platform, &platform, err)) < 0) {
			oci_ref_release(&name);
			return petra_error_prefix(err, "pull %s", text);
		}
		platform_release(&platform);
	}
	struct pull_ctx ctx = {.store = store, .o = o, .text = text};
	ret = with_targets(text, true, o, pull_target, &ctx, err);
	if (ret == 0) {
		_cleanup_free_ char *stored_name = oci_ref_format(&name);
		ret = petra_store_set_ref(store, stored_name, &ctx.desc, err);
		if (ret == 0 && digest)
			memcpy(digest, ctx.desc.digest, OCI_DIGEST_SIZE);
	}
	oci_descriptor_release(&ctx.desc);
	oci_ref_release(&name);
	if (ret < 0)
		return petra_error_prefix(err, "pull %s", text);
	return 0;
}

/* ---- inspect ---- */

struct inspect_ctx {
	const struct registry_options *o;
	json_t *manifest, *config;
	char digest[OCI_DIGEST_SIZE];
};

static int inspect_target(struct registry_client *c, const struct registry_target *t,
			  const struct policy_ref *ref, void *vctx, struct petra_error **err)
{
	struct inspect_ctx *ctx = vctx;
	const char *reference = ref->digest ? ref->digest : ref->tag ? ref->tag : "latest";
	struct registry_fetched m;
	int ret =
	    resolve_manifest(c, t->repo, reference, ctx->o ? ctx->o->platform : NULL, &m, err);
	if (ret < 0)
		return ret;
	struct oci_manifest manifest;
	ret = oci_manifest_parse(m.data, m.len, &manifest, err);
	if (ret < 0) {
		registry_fetched_release(&m);
		return ret;
	}
	/* The config through a sink into memory, checked like any blob. */
	_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", t->repo, manifest.config.digest);
	_cleanup_free_ char *scope = registry_scope(t->repo, false);
	struct http_request req = {.method = "GET", .url = url, .scope = scope};
	struct http_response r = {.content_length = -1, .body_max = REGISTRY_CONFIG_MAX};
	ret = registry_request(c, &req, &r, err);
	if (ret == 0 && r.status != 200)
		ret = registry_http_error(&r, err);
	if (ret == 0) {
		char actual[OCI_DIGEST_SIZE];
		oci_digest_buffer(r.body.buf, r.body.len, actual);
		if (strcmp(actual, manifest.config.digest) ||
		    (int64_t)r.body.len != manifest.config.size)
			ret = petra_error_set(err, EIO,
					      "config %s: the registry sent other bytes (%s)",
					      manifest.config.digest, actual);
	}
	if (ret == 0) {
		ctx->config = json_parse_buffer(r.body.buf, r.body.len, "config", err);
		if (!ctx->config)
			ret = -EINVAL;
	}
	if (ret == 0) {
		ctx->manifest = json_incref(manifest.json);
		memcpy(ctx->digest, m.digest, sizeof(ctx->digest));
	}
	registry_http_response_release(&r);
	oci_manifest_release(&manifest);
	registry_fetched_release(&m);
	return ret;
}

int registry_inspect(const char *text, const struct registry_options *o, json_t **manifest,
		     json_t **config, char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	struct inspect_ctx ctx = {.o = o};
	int ret = with_targets(text, true, o, inspect_target, &ctx, err);
	if (ret < 0) {
		json_decref(ctx.manifest);
		json_decref(ctx.config);
		return petra_error_prefix(err, "inspect docker://%s", text);
	}
	*manifest = ctx.manifest;
	*config = ctx.config;
	if (digest)
		memcpy(digest, ctx.digest, OCI_DIGEST_SIZE);
	return 0;
}
