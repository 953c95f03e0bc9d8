/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a repository without a store: its tags, and its referrers (build
 * records) into memory. What lineage queries over a registry need, and no
 * layer. */
#include "internal.h"

#include <string.h>

/* A client for the repository of `text` (a reference; its tag ignored). */
static int open_repository(const char *text, const struct registry_options *o,
			   struct registry_client **client, char **repo, struct petra_error **err)
{
	*client = NULL;
	*repo = NULL;
	struct policy_ref ref;
	int ret = policy_ref_parse(text, &ref, err);
	if (ret < 0)
		return ret;
	struct registry_target *targets = NULL;
	size_t n = 0;
	ret = registry_resolve(&ref, true, &targets, &n, err);
	if (ret == 0 && n == 0)
		ret = petra_error_set(err, ENOENT, "%s: no location", text);
	if (ret == 0)
		ret = registry_client_new(targets[0].host, targets[0].repo, targets[0].insecure, o,
					  client, err);
	if (ret == 0)
		*repo = xstrdup(targets[0].repo);
	registry_targets_free(targets, n);
	policy_ref_release(&ref);
	return ret;
}

/* GET url into memory (at most max bytes); a non-2xx answer is an error. */
static int get_document(struct registry_client *c, const char *repo, const char *url, size_t max,
			struct strbuf *body, struct petra_error **err)
{
	_cleanup_free_ char *scope = registry_scope(repo, false);
	struct http_request req = {.method = "GET", .url = url, .scope = scope};
	struct http_response r = {.content_length = -1, .body_max = max};
	int ret = registry_request(c, &req, &r, err);
	if (ret == 0 && r.status != 200)
		ret = registry_http_error(&r, err);
	if (ret == 0 && r.body_too_big)
		ret = petra_error_set(err, EFBIG, "%s: more than %zu bytes", url, max);
	if (ret == 0) {
		*body = r.body;
		r.body = (struct strbuf)STRBUF_INIT;
	}
	registry_http_response_release(&r);
	return ret;
}

int registry_list_tags(const char *repository, const struct registry_options *o,
		       struct strvec *tags, struct petra_error **err)
{
	_cleanup_client_ struct registry_client *c = NULL;
	_cleanup_free_ char *repo = NULL;
	int ret = open_repository(repository, o, &c, &repo, err);
	/* Pages of 1,000 (`last` names where the next starts, as the
	 * distribution spec says), until one comes short. */
	const size_t page = 1000;
	_cleanup_free_ char *last = NULL;
	while (ret == 0) {
		_cleanup_free_ char *url =
		    last ? xasprintf("/v2/%s/tags/list?n=%zu&last=%s", repo, page, last)
			 : xasprintf("/v2/%s/tags/list?n=%zu", repo, page);
		struct strbuf body = STRBUF_INIT;
		ret = get_document(c, repo, url, REGISTRY_MANIFEST_MAX, &body, err);
		if (ret < 0)
			break;
		_cleanup_json_ json_t *doc =
		    json_parse_buffer(body.buf, body.len, "tags list", err);
		strbuf_release(&body);
		if (!doc) {
			ret = -EPROTO;
			break;
		}
		json_t *list = json_object_get(doc, "tags");
		size_t i, got = 0;
		json_t *v;
		json_array_foreach(list, i, v)
		{
			/* A tag is [A-Za-z0-9_.-]: anything else is not one
			 * (and would not go into the next page's URL). */
			if (!json_is_string(v) || !oci_tag_valid(json_string_value(v)))
				continue;
			strvec_push(tags, json_string_value(v));
			got++;
		}
		if (got < page)
			break;
		free(last);
		last = xstrdup(tags->v[tags->n - 1]);
	}
	if (ret < 0)
		return petra_error_prefix(err, "tags of %s", repository);
	return 0;
}

void registry_referrers_free(struct registry_referrer *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(v[i].manifest);
		free(v[i].layer);
	}
	free(v);
}

/* Blob `digest` of repo into memory, checked against digest and size. */
static int read_blob(struct registry_client *c, const char *repo, const char *digest, int64_t size,
		     char **data, size_t *len, struct petra_error **err)
{
	_cleanup_free_ char *url = xasprintf("/v2/%s/blobs/%s", repo, digest);
	struct strbuf body = STRBUF_INIT;
	int ret = get_document(c, repo, url, REGISTRY_CONFIG_MAX, &body, err);
	if (ret < 0)
		return ret;
	char actual[OCI_DIGEST_SIZE];
	oci_digest_buffer(body.buf, body.len, actual);
	if (strcmp(actual, digest) || (size >= 0 && (int64_t)body.len != size)) {
		strbuf_release(&body);
		return petra_error_set(err, EIO, "blob %s: the registry sent other bytes (%s)",
				       digest, actual);
	}
	*len = body.len;
	*data = strbuf_detach(&body);
	return 0;
}

int registry_read_referrers(const char *ref, const char *subject, const char *artifact_type,
			    const char *layer_type, const struct registry_options *o,
			    struct registry_referrer **out, size_t *n_out, struct petra_error **err)
{
	*out = NULL;
	*n_out = 0;
	_cleanup_client_ struct registry_client *c = NULL;
	_cleanup_free_ char *repo = NULL;
	_cleanup_json_ json_t *index = NULL;
	int ret = open_repository(ref, o, &c, &repo, err);
	if (ret == 0)
		ret = registry_list_referrers(c, repo, subject, &index, err);
	json_t *list = json_object_get(index, "manifests");
	struct registry_referrer *v = xcalloc(json_array_size(list) + 1, sizeof(*v));
	size_t n = 0, i;
	json_t *entry;
	json_array_foreach(list, i, entry)
	{
		if (ret < 0)
			break;
		const char *digest = json_get_string(entry, "digest");
		const char *listed_type = json_get_string(entry, "artifactType");
		if (!digest || !oci_digest_valid(digest) ||
		    (artifact_type && listed_type && strcmp(listed_type, artifact_type)))
			continue;
		struct registry_fetched f;
		ret = registry_fetch_manifest(c, repo, digest, &f, err);
		if (ret < 0)
			break;
		json_t *manifest = json_parse_buffer(f.data, f.len, "referrer", err);
		registry_fetched_release(&f);
		if (!manifest) {
			ret = -EPROTO;
			break;
		}
		/* The manifest's own artifactType (or its config's media type, as
		 * the referrers API reads it) is what counts. */
		const char *type = json_get_string(manifest, "artifactType");
		if (!type)
			type = json_get_string(json_object_get(manifest, "config"), "mediaType");
		if (artifact_type && (!type || strcmp(type, artifact_type))) {
			json_decref(manifest);
			continue;
		}
		struct registry_referrer *r = &v[n++];
		snprintf(r->digest, sizeof(r->digest), "%s", digest);
		r->manifest = manifest;
		size_t k;
		json_t *layer;
		json_array_foreach(json_object_get(manifest, "layers"), k, layer)
		{
			const char *mt = json_get_string(layer, "mediaType");
			const char *ld = json_get_string(layer, "digest");
			if (!layer_type || !mt || strcmp(mt, layer_type) || !ld ||
			    !oci_digest_valid(ld))
				continue;
			ret = read_blob(c, repo, ld, json_get_int(layer, "size", -1), &r->layer,
					&r->layer_len, err);
			break;
		}
	}
	if (ret < 0) {
		registry_referrers_free(v, n);
		return petra_error_prefix(err, "referrers of %s in %s", subject, ref);
	}
	*out = v;
	*n_out = n;
	return 0;
}
