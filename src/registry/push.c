/* SPDX-License-Identifier: Apache-2.0 */
/* Push: blobs first (skipped when the registry has them, mounted from
 * another repository of the same registry when one is known to hold them,
 * else uploaded: monolithic when small, PATCH chunks with the server's
 * Range checked when large), then the manifest under its tag. */
#include "internal.h"

#include <inttypes.h>
#include <string.h>

#include "image/image.h"

struct push_job {
	struct registry_client *client;
	const char *host;
	const char *repo;
	struct petra_store *store;
	const struct registry_options *o;
	struct registry_progress *progress;
	const struct oci_descriptor **blobs;
};

static char *with_digest(const char *location, const char *digest)
{
	return xasprintf("%s%cdigest=%s", location, strchr(location, '?') ? '&' : '?', digest);
}

struct sent_ctx {
	struct registry_progress *progress;
	const char *digest;
};

static void on_sent(void *vctx, uint64_t bytes)
{
	struct sent_ctx *ctx = vctx;
	registry_progress_add(ctx->progress, ctx->digest, bytes);
}

/* Upload a blob into the session at *location (updated as the server
 * moves it), from offset: the bytes the registry already holds. The
 * store's blobs were verified when they entered it (and fsck checks them),
 * and the registry checks the digest before it accepts the blob, so they
 * are not hashed again on the way out: that was half of push's CPU. After
 * every chunk the registry acknowledged, the session is recorded in the
 * store, so a push that dies can continue it. */
static int upload(struct push_job *j, const struct oci_descriptor *d, char **location,
		  int64_t offset, struct petra_error **err)
{
	_cleanup_close_ int fd = petra_store_open_blob(j->store, d->digest, err);
	if (fd < 0)
		return fd;
	_cleanup_free_ char *scope = registry_scope(j->repo, true);
	uint64_t chunk = j->o && j->o->chunk_size ? j->o->chunk_size : 64u << 20;
	int ret = 0;
	struct sent_ctx sent = {j->progress, d->digest};
	const char *octet[] = {"Content-Type: application/octet-stream", NULL, NULL};
	if (offset == 0 && (uint64_t)d->size <= chunk) {
		_cleanup_free_ char *url = with_digest(*location, d->digest);
		struct http_source src = {
		    .fd = fd, .start = 0, .end = d->size, .on_sent = on_sent, .on_sent_ctx = &sent};
		struct http_request req = {.method = "PUT",
					   .url = url,
					   .scope = scope,
					   .headers = octet,
					   .source = &src,
					   .no_retry = true};
		struct http_response r = {.content_length = -1};
		ret = registry_request(j->client, &req, &r, err);
		if (ret == 0 && r.status != 201)
			ret = registry_http_error(&r, err);
		registry_http_response_release(&r);
		return ret;
	}
	while (offset < d->size) {
		int64_t end = offset + (int64_t)chunk;
		if (end > d->size)
			end = d->size;
		_cleanup_free_ char *range =
		    xasprintf("Content-Range: %" PRId64 "-%" PRId64, offset, end - 1);
		octet[1] = range;
		struct http_source src = {.fd = fd,
					  .start = offset,
					  .end = end,
					  .on_sent = on_sent,
					  .on_sent_ctx = &sent};
		struct http_request req = {.method = "PATCH",
					   .url = *location,
					   .scope = scope,
					   .headers = octet,
					   .source = &src,
					   .no_retry = true};
		struct http_response r = {.content_length = -1};
		ret = registry_request(j->client, &req, &r, err);
		if (ret == 0 && r.status != 202)
			ret = registry_http_error(&r, err);
		/* The server says what it holds: "0-LAST". */
		int64_t first = -1, last = -1;
		if (ret == 0 &&
		    (!r.range || sscanf(r.range, "%" SCNd64 "-%" SCNd64, &first, &last) != 2 ||
		     first != 0 || last != end - 1))
			ret = petra_error_set(
			    err, EPROTO,
			    "after bytes %" PRId64 "-%" PRId64 " the registry holds %s", offset,
			    end - 1, r.range ? r.range : "nothing it says");
		if (ret == 0 && r.location) {
			free(*location);
			*location = steal_pointer(&r.location);
		}
		registry_http_response_release(&r);
		if (ret < 0)
			return ret;
		registry_upload_session_save(j->store, j->host, j->repo, d->digest, *location, end);
		offset = end;
	}
	_cleanup_free_ char *url = with_digest(*location, d->digest);
	struct http_request req = {.method = "PUT", .url = url, .scope = scope, .no_retry = true};
	struct http_source empty = {.mem = "", .start = 0, .end = 0};
	req.source = &empty;
	struct http_response r = {.content_length = -1};
	ret = registry_request(j->client, &req, &r, err);
	if (ret == 0 && r.status != 201)
		ret = registry_http_error(&r, err);
	/* Done, or refused at the end (the registry drops such a session). */
	if (ret == 0 || r.status)
		registry_upload_session_remove(j->store, j->host, j->repo, d->digest);
	registry_http_response_release(&r);
	return ret;
}

/* The session a push that died left for this blob, if the registry still
 * has it: its Location and the offset the registry reports (GET, Range
 * "0-LAST"). true when the upload can continue there; false when a new
 * upload is needed (no session, no answer, unknown to the registry, or an
 * offset that does not fit what it acknowledged). */
static bool resume_session(struct push_job *j, const struct oci_descriptor *d, char **location,
			   int64_t *offset)
{
	_cleanup_free_ char *loc = NULL;
	int64_t acked = 0;
	if (!registry_upload_session_load(j->store, j->host, j->repo, d->digest, &loc, &acked))
		return false;
	_cleanup_free_ char *scope = registry_scope(j->repo, true);
	struct http_request req = {.method = "GET", .url = loc, .scope = scope};
	struct http_response r = {.content_length = -1};
	struct petra_error *e = NULL;
	if (registry_request(j->client, &req, &r, &e) < 0) {
		/* The session's Location does not answer (it may name a host that
		 * is gone): a new upload, not a push that fails until the
		 * session ages out. */
		log_debug("upload of %s: %s: a new upload", d->digest, e->message);
		petra_error_free(e);
		registry_http_response_release(&r);
		registry_upload_session_remove(j->store, j->host, j->repo, d->digest);
		return false;
	}
	int64_t first = -1, last = -1, held = -1;
	if ((r.status == 204 || r.status == 200) && r.range &&
	    sscanf(r.range, "%" SCNd64 "-%" SCNd64, &first, &last) == 2 && first == 0 && last >= 0)
		/* "0-0" is what distribution says of an empty session too. */
		held = last == 0 && acked == 0 ? 0 : last + 1;
	if (held < acked || held > d->size) {
		if (r.status == 204 || r.status == 200) {
			/* The registry has the session but not what it acknowledged:
			 * cancel it rather than trust it. */
			struct http_request del = {
			    .method = "DELETE", .url = loc, .scope = scope, .no_retry = true};
			struct http_response dr = {.content_length = -1};
			if (registry_request(j->client, &del, &dr, &e) < 0)
				petra_error_free(e);
			registry_http_response_release(&dr);
		}
		log_debug("upload of %s: the registry's session answered %ld, range %s (%" PRId64
			  " bytes acknowledged): a new upload",
			  d->digest, r.status, r.range ? r.range : "none", acked);
		registry_http_response_release(&r);
		registry_upload_session_remove(j->store, j->host, j->repo, d->digest);
		return false;
	}
	*location = r.location ? steal_pointer(&r.location) : steal_pointer(&loc);
	*offset = held;
	registry_http_response_release(&r);
	return true;
}

static int push_blob(struct push_job *j, const struct oci_descriptor *d, struct petra_error **err)
{
	_cleanup_free_ char *scope = registry_scope(j->repo, true);
	_cleanup_free_ char *head_url = xasprintf("/v2/%s/blobs/%s", j->repo, d->digest);
	struct http_request head = {.method = "HEAD", .url = head_url, .scope = scope};
	struct http_response r = {.content_length = -1};
	int ret = registry_request(j->client, &head, &r, err);
	if (ret < 0)
		return ret;
	long status = r.status;
	registry_http_response_release(&r);
	if (status == 200) {
		/* Finished by someone else meanwhile: no session to continue. */
		registry_upload_session_remove(j->store, j->host, j->repo, d->digest);
		registry_progress_line(j->progress, "exists", d->digest, d->size);
		return 0;
	}
	_cleanup_free_ char *location = NULL;
	int64_t offset = 0;
	if (resume_session(j, d, &location, &offset)) {
		registry_progress_start(j->progress, "resuming", d->digest, d->size, offset);
		struct petra_error *e = NULL;
		ret = upload(j, d, &location, offset, &e);
		if (ret == 0) {
			registry_progress_line(j->progress, "pushed", d->digest, d->size);
			return 0;
		}
		/* The registry refused to continue after all: start over. */
		log_debug("%s", e->message);
		petra_error_free(e);
		registry_upload_session_remove(j->store, j->host, j->repo, d->digest);
		free(location);
		location = NULL;
	}
	_cleanup_strvec_ struct strvec from = STRVEC_INIT;
	registry_locations_find(j->store, j->host, j->repo, d->digest, &from);
	for (size_t i = 0; i < from.n && !location; i++) {
		_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s",
						     j->repo, d->digest, from.v[i]);
		/* One token covering both repositories. */
		_cleanup_free_ char *mount_scope =
		    xasprintf("repository:%s:pull,push repository:%s:pull", j->repo, from.v[i]);
		struct http_request req = {
		    .method = "POST", .url = url, .scope = mount_scope, .no_retry = true};
		struct http_response mr = {.content_length = -1};
		ret = registry_request(j->client, &req, &mr, err);
		if (ret < 0)
			return ret;
		if (mr.status == 201) {
			registry_http_response_release(&mr);
			registry_progress_line(j->progress, "mounted", d->digest, d->size);
			return 0;
		}
		/* 202: the registry started an upload instead; use it. */
		if (mr.status == 202 && mr.location)
			location = steal_pointer(&mr.location);
		registry_http_response_release(&mr);
	}
	if (!location) {
		_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/uploads/", j->repo);
		struct http_request req = {
		    .method = "POST", .url = url, .scope = scope, .no_retry = true};
		struct http_response pr = {.content_length = -1};
		ret = registry_request(j->client, &req, &pr, err);
		if (ret == 0 && (pr.status != 202 || !pr.location))
			ret =
			    pr.status == 202
				? petra_error_set(err, EPROTO, "upload started without a Location")
				: registry_http_error(&pr, err);
		if (ret == 0)
			location = steal_pointer(&pr.location);
		registry_http_response_release(&pr);
		if (ret < 0)
			return ret;
	}
	registry_progress_start(j->progress, "pushing", d->digest, d->size, 0);
	ret = upload(j, d, &location, 0, err);
	if (ret == 0)
		registry_progress_line(j->progress, "pushed", d->digest, d->size);
	return ret;
}

static size_t no_deps(void *ctx, size_t task)
{
	(void)ctx;
	(void)task;
	return 0;
}

int registry_push_blob(struct registry_client *c, const char *host, const char *repo,
		       struct petra_store *store, const struct registry_options *o,
		       const struct oci_descriptor *desc, struct petra_error **err)
{
	struct push_job job = {c, host, repo, store, o, NULL, NULL};
	return push_blob(&job, desc, err);
}

static int push_blob_task(void *ctx, size_t task, struct petra_error **err)
{
	struct push_job *j = ctx;
	int ret = push_blob(j, j->blobs[task], err);
	if (ret < 0)
		return petra_error_prefix(err, "blob %s", j->blobs[task]->digest);
	return 0;
}

int registry_push(struct petra_store *store, const char *image, const char *dest,
		  const struct registry_options *o, char digest[OCI_DIGEST_SIZE],
		  struct petra_error **err)
{
	struct image img;
	int ret = image_load(store, image, &img, err);
	if (ret < 0)
		return petra_error_prefix(err, "push %s", image);
	const char *text = dest ? dest : img.name;
	_cleanup_free_ char *manifest = NULL;
	size_t manifest_len = 0;
	struct policy_ref ref = {0};
	struct registry_target *targets = NULL;
	size_t n_targets = 0;
	_cleanup_client_ struct registry_client *c = NULL;
	const struct oci_descriptor **blobs = NULL;
	_cleanup_free_ char *manifest_url = NULL;
	_cleanup_free_ char *scope = NULL;
	if (!text) {
		ret = petra_error_set(err, EINVAL, "the image has no name: give a DEST");
		goto out;
	}
	ret = petra_store_read_blob(store, img.desc.digest, REGISTRY_MANIFEST_MAX, &manifest,
				    &manifest_len, err);
	if (ret == 0)
		ret = policy_ref_parse(text, &ref, err);
	if (ret == 0)
		ret = registry_resolve(&ref, false, &targets, &n_targets, err);
	if (ret < 0)
		goto out;
	const struct registry_target *t = &targets[0];
	ret = registry_client_new(t->host, t->repo, t->insecure, o, &c, err);
	if (ret < 0)
		goto out;
	const char *reference = ref.tag ? ref.tag : ref.digest ? ref.digest : "latest";
	manifest_url = xasprintf("/v2/%s/manifests/%s", t->repo, reference);
	scope = registry_scope(t->repo, true);
	/* The tag already names this manifest: nothing to send. */
	const char *accept[] = {REGISTRY_ACCEPT, NULL};
	struct http_request head = {
	    .method = "HEAD", .url = manifest_url, .scope = scope, .headers = accept};
	struct http_response hr = {.content_length = -1};
	ret = registry_request(c, &head, &hr, err);
	bool same =
	    ret == 0 && hr.status == 200 && hr.digest && !strcmp(hr.digest, img.desc.digest);
	registry_http_response_release(&hr);
	if (ret < 0)
		goto out;
	size_t n_blobs = 1;
	blobs = xcalloc(img.manifest.n_layers + 1, sizeof(*blobs));
	blobs[0] = &img.manifest.config;
	uint64_t total = (uint64_t)img.manifest.config.size;
	for (size_t i = 0; i < img.manifest.n_layers; i++) {
		/* A foreign layer is not sent: the manifest's urls serve it (as
		 * containers/image does). */
		if (oci_media_type_is_foreign(img.manifest.layers[i].media_type))
			continue;
		/* A layer listed twice goes once (one upload session per blob). */
		bool dup = false;
		for (size_t k = 0; k < n_blobs && !dup; k++)
			dup = !strcmp(blobs[k]->digest, img.manifest.layers[i].digest);
		if (dup)
			continue;
		blobs[n_blobs++] = &img.manifest.layers[i];
		total += (uint64_t)img.manifest.layers[i].size;
	}
	/* Registries purge abandoned uploads after a week (distribution's
	 * default); so does the store. */
	registry_upload_sessions_sweep(store, 7 * 24 * 3600);
	if (!same) {
		struct registry_progress progress;
		registry_progress_begin(&progress, text, total, o && o->quiet);
		struct push_job job = {c, t->host, t->repo, store, o, &progress, blobs};
		struct graph_ops ops = {.n_deps = no_deps, .run = push_blob_task};
		ret = graph_run(n_blobs, o && o->jobs ? o->jobs : 4, &ops, &job, err);
		registry_progress_end(&progress, ret == 0);
		if (ret < 0)
			goto out;
		/* The manifest last, so the tag never names missing blobs. */
		_cleanup_free_ char *content_type =
		    xasprintf("Content-Type: %s",
			      img.desc.media_type ? img.desc.media_type : OCI_MEDIA_TYPE_MANIFEST);
		const char *headers[] = {content_type, NULL};
		struct http_source src = {
		    .mem = manifest, .start = 0, .end = (int64_t)manifest_len};
		struct http_request put = {.method = "PUT",
					   .url = manifest_url,
					   .scope = scope,
					   .headers = headers,
					   .source = &src,
					   .no_retry = true};
		struct http_response pr = {.content_length = -1};
		ret = registry_request(c, &put, &pr, err);
		if (ret == 0 && pr.status != 201)
			ret = registry_http_error(&pr, err);
		if (ret == 0 && pr.digest && strcmp(pr.digest, img.desc.digest))
			ret = petra_error_set(err, EIO,
					      "the registry stored the manifest as %s, not %s",
					      pr.digest, img.desc.digest);
		registry_http_response_release(&pr);
		if (ret < 0) {
			petra_error_prefix(err, "manifest %s", img.desc.digest);
			goto out;
		}
	} else if (!(o && o->quiet)) {
		log_info("%s/%s:%s already has %s", t->host, t->repo, reference, img.desc.digest);
	}
	const char **digests = xcalloc(n_blobs, sizeof(*digests));
	for (size_t i = 0; i < n_blobs; i++)
		digests[i] = blobs[i]->digest;
	registry_locations_add(store, t->host, t->repo, digests, n_blobs);
	free(digests);
	if (digest)
		memcpy(digest, img.desc.digest, OCI_DIGEST_SIZE);
out:
	free(blobs);
	registry_targets_free(targets, n_targets);
	policy_ref_release(&ref);
	image_release(&img);
	if (ret < 0)
		return petra_error_prefix(err, "push %s", text ? text : image);
	return 0;
}
