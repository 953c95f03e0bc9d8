/* SPDX-License-Identifier: Apache-2.0 */
/* Small documents of one repository, read and written whole in memory:
 * what cosign keeps next to an image (the sha256-<hex>.sig and .att
 * manifests and their payload blobs). The trust module reads and writes
 * them through these; image transfers stay in pull.c and push.c. */
#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

struct registry_repository {
	struct registry_client *client;
	struct registry_target *targets;
	size_t n_targets;
	char *where; /* "host/repo" */
};

int registry_repository_open(const char *text, const struct registry_options *o,
			     struct registry_repository **out, struct petra_error **err)
{
	*out = NULL;
	struct policy_ref ref;
	int ret = policy_ref_parse(text, &ref, err);
	if (ret < 0)
		return ret;
	struct registry_repository *r = xcalloc(1, sizeof(*r));
	/* The primary location (not a mirror): signatures are written there,
	 * and a mirror need not carry them. */
	ret = registry_resolve(&ref, false, &r->targets, &r->n_targets, err);
	policy_ref_release(&ref);
	if (ret == 0)
		ret = registry_client_new(r->targets[0].host, r->targets[0].repo,
					  r->targets[0].insecure, o, &r->client, err);
	if (ret < 0) {
		registry_repository_free(r);
		return ret;
	}
	r->where = xasprintf("%s/%s", r->targets[0].host, r->targets[0].repo);
	*out = r;
	return 0;
}

void registry_repository_free(struct registry_repository *r)
{
	if (!r)
		return;
	if (r->client)
		registry_client_free(r->client);
	registry_targets_free(r->targets, r->n_targets);
	free(r->where);
	free(r);
}

const char *registry_repository_where(const struct registry_repository *r)
{
	return r->where;
}

int registry_repository_get_manifest(struct registry_repository *r, const char *reference,
				     char **data, size_t *len, char **media_type,
				     char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	struct registry_fetched f;
	int ret = registry_fetch_manifest(r->client, r->targets[0].repo, reference, &f, err);
	if (ret < 0)
		return petra_error_prefix(err, "%s:%s", r->where, reference);
	if (digest)
		memcpy(digest, f.digest, OCI_DIGEST_SIZE);
	if (media_type)
		*media_type = steal_pointer(&f.media_type);
	*len = f.len;
	*data = steal_pointer(&f.data);
	registry_fetched_release(&f);
	return 0;
}

int registry_repository_put_manifest(struct registry_repository *r, const char *reference,
				     const char *media_type, const void *data, size_t len,
				     struct petra_error **err)
{
	const char *repo = r->targets[0].repo;
	_cleanup_free_ char *url = xasprintf("/v2/%s/manifests/%s", repo, reference);
	_cleanup_free_ char *scope = registry_scope(repo, true);
	_cleanup_free_ char *content_type = xasprintf("Content-Type: %s", media_type);
	const char *headers[] = {content_type, NULL};
	struct http_source src = {.mem = data, .start = 0, .end = (int64_t)len};
	struct http_request req = {.method = "PUT",
				   .url = url,
				   .scope = scope,
				   .headers = headers,
				   .source = &src,
				   .no_retry = true};
	struct http_response resp = {.content_length = -1};
	int ret = registry_request(r->client, &req, &resp, err);
	if (ret == 0 && resp.status != 201)
		ret = registry_http_error(&resp, err);
	registry_http_response_release(&resp);
	if (ret < 0)
		return petra_error_prefix(err, "put %s:%s", r->where, reference);
	return 0;
}

int registry_repository_get_blob(struct registry_repository *r, const char *digest, size_t max,
				 char **data, size_t *len, struct petra_error **err)
{
	const char *repo = r->targets[0].repo;
	_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", repo, digest);
	_cleanup_free_ char *scope = registry_scope(repo, false);
	struct http_request req = {.method = "GET", .url = url, .scope = scope};
	struct http_response resp = {.content_length = -1, .body_max = max};
	int ret = registry_request(r->client, &req, &resp, err);
	if (ret == 0 && resp.status != 200)
		ret = registry_http_error(&resp, err);
	if (ret == 0 && resp.body_too_big)
		ret = petra_error_set(err, EFBIG, "larger than %zu bytes", max);
	char actual[OCI_DIGEST_SIZE];
	if (ret == 0) {
		oci_digest_buffer(resp.body.buf, resp.body.len, actual);
		if (strcmp(actual, digest))
			ret = petra_error_set(err, EIO, "the registry sent %s", actual);
	}
	if (ret == 0) {
		*len = resp.body.len;
		*data = strbuf_detach(&resp.body);
	}
	registry_http_response_release(&resp);
	if (ret < 0)
		return petra_error_prefix(err, "%s blob %s", r->where, digest);
	return 0;
}

struct fd_sink {
	int fd;
	uint64_t got, max;
	struct oci_hasher hasher;
	struct petra_error *error;
};

static bool fd_sink_write(void *ctx, long status, const char *data, size_t len)
{
	(void)status;
	struct fd_sink *s = ctx;
	if (s->got + len > s->max) {
		petra_error_set(&s->error, EFBIG, "larger than %" PRIu64 " bytes", s->max);
		return false;
	}
	if (fs_write_all(s->fd, data, len) < 0) {
		petra_error_set_errno(&s->error, errno, "write");
		return false;
	}
	oci_hasher_update(&s->hasher, data, len);
	s->got += len;
	return true;
}

int registry_repository_get_blob_fd(struct registry_repository *r, const char *digest, int fd,
				    uint64_t max, struct petra_error **err)
{
	const char *repo = r->targets[0].repo;
	_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", repo, digest);
	_cleanup_free_ char *scope = registry_scope(repo, false);
	struct fd_sink s = {.fd = fd, .max = max};
	oci_hasher_init(&s.hasher);
	struct http_request req = {.method = "GET",
				   .url = url,
				   .scope = scope,
				   .sink = fd_sink_write,
				   .sink_ctx = &s,
				   .no_retry = true};
	struct http_response resp = {.content_length = -1};
	struct petra_error *e = NULL;
	int ret = registry_request(r->client, &req, &resp, &e);
	if (ret < 0 && s.error) {
		petra_error_free(e);
		e = steal_pointer(&s.error);
	} else if (ret == 0 && resp.status != 200) {
		ret = registry_http_error(&resp, &e);
	}
	char actual[OCI_DIGEST_SIZE];
	oci_hasher_final(&s.hasher, actual);
	oci_hasher_release(&s.hasher);
	if (ret == 0 && strcmp(actual, digest))
		ret = petra_error_set(&e, EIO, "the registry sent %s", actual);
	registry_http_response_release(&resp);
	petra_error_free(s.error);
	if (ret < 0) {
		if (err && !*err)
			*err = steal_pointer(&e);
		petra_error_free(e);
		return petra_error_prefix(err, "%s blob %s", r->where, digest);
	}
	return 0;
}

int registry_repository_put_blob(struct registry_repository *r, const void *data, size_t len,
				 char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	const char *repo = r->targets[0].repo;
	oci_digest_buffer(data, len, digest);
	_cleanup_free_ char *scope = registry_scope(repo, true);
	_cleanup_free_ char *head_url = xasprintf("/v2/%s/blobs/%s", repo, digest);
	struct http_request head = {.method = "HEAD", .url = head_url, .scope = scope};
	struct http_response hr = {.content_length = -1};
	int ret = registry_request(r->client, &head, &hr, err);
	long status = hr.status;
	registry_http_response_release(&hr);
	if (ret == 0 && status == 200)
		return 0;
	_cleanup_free_ char *location = NULL;
	if (ret == 0) {
		_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/uploads/", repo);
		struct http_request post = {
		    .method = "POST", .url = url, .scope = scope, .no_retry = true};
		struct http_response pr = {.content_length = -1};
		ret = registry_request(r->client, &post, &pr, err);
		if (ret == 0 && (pr.status != 202 || !pr.location))
			ret =
			    pr.status == 202
				? petra_error_set(err, EPROTO, "upload started without a Location")
				: registry_http_error(&pr, err);
		if (ret == 0)
			location = steal_pointer(&pr.location);
		registry_http_response_release(&pr);
	}
	if (ret == 0) {
		_cleanup_free_ char *url =
		    xasprintf("%s%cdigest=%s", location, strchr(location, '?') ? '&' : '?', digest);
		const char *octet[] = {"Content-Type: application/octet-stream", NULL};
		struct http_source src = {.mem = data, .start = 0, .end = (int64_t)len};
		struct http_request put = {.method = "PUT",
					   .url = url,
					   .scope = scope,
					   .headers = octet,
					   .source = &src,
					   .no_retry = true};
		struct http_response resp = {.content_length = -1};
		ret = registry_request(r->client, &put, &resp, err);
		if (ret == 0 && resp.status != 201)
			ret = registry_http_error(&resp, err);
		registry_http_response_release(&resp);
	}
	if (ret < 0)
		return petra_error_prefix(err, "%s blob %s", r->where, digest);
	return 0;
}
