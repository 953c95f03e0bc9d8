/* SPDX-License-Identifier: Apache-2.0 */
/* Referrers (signatures, SBOMs, provenance: manifests whose `subject` is an
 * image) copied along with the image: listed with the referrers API, or
 * the "sha256-<hex>" tag's index when the registry answers 404; each
 * referrer's blobs and manifest copied; on a destination that does not
 * answer OCI-Subject, the fallback tag's index is maintained. */
#include "internal.h"

#include <string.h>

/* The index of referrers of subject in repo (an empty one when none). */
static int list_referrers(struct registry_client *c, const char *repo, const char *subject,
			  json_t **index, struct petra_error **err)
{
	*index = NULL;
	_cleanup_free_ char *url = xasprintf("/v2/%s/referrers/%s", repo, subject);
	_cleanup_free_ char *scope = registry_scope(repo, false);
	const char *headers[] = {"Accept: " OCI_MEDIA_TYPE_INDEX, NULL};
	struct http_request req = {.method = "GET", .url = url, .scope = scope, .headers = headers};
	struct http_response r = {.content_length = -1, .body_max = REGISTRY_MANIFEST_MAX};
	int ret = registry_request(c, &req, &r, err);
	if (ret == 0 && r.status == 200) {
		*index = json_parse_buffer(r.body.buf, r.body.len, "referrers index", err);
		ret = *index ? 0 : -EPROTO;
	} else if (ret == 0 && r.status != 404) {
		ret = registry_http_error(&r, err);
	}
	registry_http_response_release(&r);
	if (ret < 0 || *index)
		return ret;
	/* No referrers API: the tag schema. */
	_cleanup_free_ char *tag = xasprintf("sha256-%s", oci_digest_hex(subject));
	struct registry_fetched f;
	struct petra_error *e = NULL;
	ret = registry_fetch_manifest(c, repo, tag, &f, &e);
	if (ret == -ENOENT) {
		petra_error_free(e);
		*index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
				   OCI_MEDIA_TYPE_INDEX, "manifests");
		return 0;
	}
	if (ret < 0) {
		*err = e;
		return ret;
	}
	*index = json_parse_buffer(f.data, f.len, "referrers tag index", err);
	registry_fetched_release(&f);
	return *index ? 0 : -EPROTO;
}

static int put_manifest(struct registry_client *c, const char *repo, const char *reference,
			const char *media_type, const char *data, size_t len, bool *oci_subject,
			struct petra_error **err)
{
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
	struct http_response r = {.content_length = -1};
	int ret = registry_request(c, &req, &r, err);
	if (ret == 0 && r.status != 201)
		ret = registry_http_error(&r, err);
	if (oci_subject)
		*oci_subject = r.oci_subject;
	registry_http_response_release(&r);
	return ret;
}

/* Copy one referrer manifest (and its blobs) from src to dest. */
static int copy_referrer(struct registry_client *src, const struct registry_target *st,
			 struct registry_client *dst, const struct registry_target *dt,
			 struct petra_store *store, const struct registry_options *o,
			 const char *digest, bool *oci_subject, struct petra_error **err)
{
	struct registry_fetched m;
	int ret = registry_fetch_manifest(src, st->repo, digest, &m, err);
	if (ret < 0)
		return ret;
	json_t *doc = json_parse_buffer(m.data, m.len, digest, err);
	if (!doc) {
		registry_fetched_release(&m);
		return -EPROTO;
	}
	/* The blobs it names: its config and layers (an artifact's blobs). */
	struct oci_descriptor *blobs = NULL;
	size_t n = 0;
	json_t *config = json_object_get(doc, "config");
	json_t *layers = json_object_get(doc, "layers");
	size_t total = (config ? 1 : 0) + json_array_size(layers);
	blobs = xcalloc(total ? total : 1, sizeof(*blobs));
	if (config && (ret = oci_descriptor_from_json(config, &blobs[n], err)) == 0)
		n++;
	for (size_t i = 0; ret == 0 && i < json_array_size(layers); i++)
		if ((ret = oci_descriptor_from_json(json_array_get(layers, i), &blobs[n], err)) ==
		    0)
			n++;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		ret = registry_fetch_blob(src, st->repo, store, &blobs[i], NULL, err);
		if (ret == 0)
			ret = registry_push_blob(dst, dt->host, dt->repo, store, o, &blobs[i], err);
	}
	if (ret == 0)
		ret = put_manifest(dst, dt->repo, digest, m.media_type, m.data, m.len, oci_subject,
				   err);
	for (size_t i = 0; i < n; i++)
		oci_descriptor_release(&blobs[i]);
	free(blobs);
	json_decref(doc);
	registry_fetched_release(&m);
	if (ret < 0)
		return petra_error_prefix(err, "referrer %s", digest);
	return 0;
}

static bool index_has(const json_t *index, const char *digest)
{
	json_t *manifests = json_object_get(index, "manifests");
	for (size_t i = 0; i < json_array_size(manifests); i++)
		if (!strcmp(json_get_string(json_array_get(manifests, i), "digest") ?: "", digest))
			return true;
	return false;
}

/* The "sha256-<hex>" tag's index of subject's referrers in repo (the tag
 * schema of registries without the referrers API): updated with the
 * descriptors in `add` (an array), keeping what it already lists. */
static int update_tag_index(struct registry_client *dst, const char *repo, const char *subject,
			    const json_t *add, struct petra_error **err)
{
	_cleanup_free_ char *tag = xasprintf("sha256-%s", oci_digest_hex(subject));
	struct registry_fetched f;
	struct petra_error *e = NULL;
	json_t *existing = NULL;
	int r = registry_fetch_manifest(dst, repo, tag, &f, &e);
	if (r == 0) {
		existing = json_loadb(f.data, f.len, 0, NULL);
		registry_fetched_release(&f);
	}
	petra_error_free(e);
	if (!json_is_object(existing) || !json_is_array(json_object_get(existing, "manifests"))) {
		json_decref(existing);
		existing = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
				     OCI_MEDIA_TYPE_INDEX, "manifests");
	}
	json_t *list = json_object_get(existing, "manifests");
	bool changed = false;
	for (size_t i = 0; i < json_array_size(add); i++) {
		json_t *d = json_array_get(add, i);
		const char *digest = json_get_string(d, "digest");
		if (digest && !index_has(existing, digest)) {
			json_array_append(list, d);
			changed = true;
		}
	}
	if (changed) {
		size_t len;
		_cleanup_free_ char *text = json_dump_compact(existing, &len);
		r = put_manifest(dst, repo, tag, OCI_MEDIA_TYPE_INDEX, text, len, NULL, err);
		if (r < 0)
			petra_error_prefix(err, "referrers tag %s", tag);
	}
	json_decref(existing);
	return r < 0 ? r : 0;
}

int registry_copy_referrers(struct petra_store *store, const char *src_text, const char *dest_text,
			    const char *subject, const struct registry_options *o, size_t *copied,
			    struct petra_error **err)
{
	*copied = 0;
	struct policy_ref sref = {0}, dref = {0};
	struct registry_target *st = NULL, *dt = NULL;
	size_t nst = 0, ndt = 0;
	_cleanup_client_ struct registry_client *src = NULL;
	_cleanup_client_ struct registry_client *dst = NULL;
	json_t *found = NULL;
	int ret = policy_ref_parse(src_text, &sref, err);
	if (ret == 0)
		ret = policy_ref_parse(dest_text, &dref, err);
	if (ret == 0)
		ret = registry_resolve(&sref, false, &st, &nst, err);
	if (ret == 0)
		ret = registry_resolve(&dref, false, &dt, &ndt, err);
	if (ret == 0)
		ret = registry_client_new(st[0].host, st[0].repo, st[0].insecure, o, &src, err);
	if (ret == 0)
		ret = registry_client_new(dt[0].host, dt[0].repo, dt[0].insecure, o, &dst, err);
	if (ret == 0)
		ret = list_referrers(src, st[0].repo, subject, &found, err);
	bool dest_keeps = false;
	json_t *manifests = json_object_get(found, "manifests");
	for (size_t i = 0; ret == 0 && i < json_array_size(manifests); i++) {
		const char *digest = json_get_string(json_array_get(manifests, i), "digest");
		if (!digest || !oci_digest_valid(digest))
			continue;
		bool keeps = false;
		ret = copy_referrer(src, &st[0], dst, &dt[0], store, o, digest, &keeps, err);
		dest_keeps = dest_keeps || keeps;
		if (ret == 0)
			(*copied)++;
	}
	/* A destination without the referrers API: the tag schema's index,
	 * merged with what is already there. */
	if (ret == 0 && *copied && !dest_keeps)
		ret = update_tag_index(dst, dt[0].repo, subject, manifests, err);
	json_decref(found);
	registry_targets_free(st, nst);
	registry_targets_free(dt, ndt);
	policy_ref_release(&sref);
	policy_ref_release(&dref);
	if (ret < 0)
		return petra_error_prefix(err, "referrers of %s", subject);
	return 0;
}

/* ---- the store's referrers to and from a registry ---- */

/* One registry repository, reached. */
struct remote {
	struct policy_ref ref;
	struct registry_target *targets;
	size_t n_targets;
	struct registry_client *client;
};

static void remote_release(struct remote *r)
{
	if (r->client)
		registry_client_free(r->client);
	registry_targets_free(r->targets, r->n_targets);
	policy_ref_release(&r->ref);
}

static int remote_open(const char *text, const struct registry_options *o, struct remote *r,
		       struct petra_error **err)
{
	memset(r, 0, sizeof(*r));
	int ret = policy_ref_parse(text, &r->ref, err);
	if (ret == 0)
		ret = registry_resolve(&r->ref, false, &r->targets, &r->n_targets, err);
	if (ret == 0)
		ret = registry_client_new(r->targets[0].host, r->targets[0].repo,
					  r->targets[0].insecure, o, &r->client, err);
	return ret;
}

/* The descriptor a referrers list gives for a referrer manifest: its
 * media type, digest, size, artifactType and annotations (the spec's). */
static json_t *referrer_entry(const struct oci_descriptor *d, const json_t *manifest)
{
	json_t *e = json_pack("{s:s,s:s,s:I}", "mediaType", d->media_type, "digest", d->digest,
			      "size", (json_int_t)d->size);
	const char *at = json_get_string(manifest, "artifactType");
	if (!at)
		at = json_get_string(json_object_get(manifest, "config"), "mediaType");
	if (at)
		json_object_set_new(e, "artifactType", json_string(at));
	json_t *ann = json_object_get(manifest, "annotations");
	if (json_is_object(ann) && json_object_size(ann))
		json_object_set(e, "annotations", ann);
	return e;
}

static int push_referrers_of(struct remote *dst, struct petra_store *store,
			     const struct registry_options *o, const char *subject, int depth,
			     size_t *pushed, struct petra_error **err)
{
	struct oci_descriptor *refs = NULL;
	size_t n = 0;
	int ret = petra_store_list_referrers(store, subject, NULL, &refs, &n, err);
	if (ret < 0 || !n) {
		free(refs);
		return ret;
	}
	const struct registry_target *t = &dst->targets[0];
	json_t *entries = json_array();
	bool dest_keeps = true;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		struct oci_manifest m = {0};
		ret = petra_store_read_blob(store, refs[i].digest, REGISTRY_MANIFEST_MAX, &data,
					    &len, err);
		if (ret == 0)
			ret = oci_manifest_parse(data, len, &m, err);
		if (ret == 0)
			ret = registry_push_blob(dst->client, t->host, t->repo, store, o, &m.config,
						 err);
		for (size_t k = 0; ret == 0 && k < m.n_layers; k++)
			ret = registry_push_blob(dst->client, t->host, t->repo, store, o,
						 &m.layers[k], err);
		bool keeps = false;
		if (ret == 0)
			ret = put_manifest(dst->client, t->repo, refs[i].digest, refs[i].media_type,
					   data, len, &keeps, err);
		if (ret == 0) {
			dest_keeps = dest_keeps && keeps;
			json_array_append_new(entries, referrer_entry(&refs[i], m.json));
			(*pushed)++;
		}
		oci_manifest_release(&m);
		if (ret < 0)
			petra_error_prefix(err, "referrer %s", refs[i].digest);
		/* A signature of a record is a referrer of the record. */
		if (ret == 0 && depth < 4)
			ret = push_referrers_of(dst, store, o, refs[i].digest, depth + 1, pushed,
						err);
	}
	if (ret == 0 && !dest_keeps)
		ret = update_tag_index(dst->client, t->repo, subject, entries, err);
	json_decref(entries);
	oci_descriptors_release(refs, n);
	return ret;
}

int registry_push_referrers(struct petra_store *store, const char *dest, const char *subject,
			    const struct registry_options *o, size_t *pushed,
			    struct petra_error **err)
{
	*pushed = 0;
	/* Most images have none: no connection then. */
	struct oci_descriptor *refs = NULL;
	size_t n = 0;
	int ret = petra_store_list_referrers(store, subject, NULL, &refs, &n, err);
	oci_descriptors_release(refs, n);
	if (ret < 0 || n == 0)
		return ret;
	struct remote dst;
	ret = remote_open(dest, o, &dst, err);
	if (ret == 0)
		ret = push_referrers_of(&dst, store, o, subject, 0, pushed, err);
	remote_release(&dst);
	if (ret < 0)
		return petra_error_prefix(err, "push referrers of %s to %s", subject, dest);
	return 0;
}

static int pull_referrers_of(struct remote *src, struct petra_store *store, const char *subject,
			     int depth, size_t *pulled, struct petra_error **err)
{
	const struct registry_target *t = &src->targets[0];
	json_t *index = NULL;
	int ret = list_referrers(src->client, t->repo, subject, &index, err);
	json_t *manifests = json_object_get(index, "manifests");
	for (size_t i = 0; ret == 0 && i < json_array_size(manifests); i++) {
		const char *digest = json_get_string(json_array_get(manifests, i), "digest");
		if (!digest || !oci_digest_valid(digest))
			continue;
		struct registry_fetched f;
		ret = registry_fetch_manifest(src->client, t->repo, digest, &f, err);
		if (ret < 0)
			break;
		struct oci_manifest m = {0};
		ret = oci_manifest_parse(f.data, f.len, &m, err);
		const char *named =
		    ret == 0 ? json_get_string(json_object_get(m.json, "subject"), "digest") : NULL;
		/* A stale tag index may list what refers to something else. */
		if (ret == 0 && (!named || strcmp(named, subject) != 0)) {
			log_warn("referrer %s of %s names another subject: left out", digest,
				 subject);
			oci_manifest_release(&m);
			registry_fetched_release(&f);
			continue;
		}
		if (ret == 0)
			ret =
			    registry_fetch_blob(src->client, t->repo, store, &m.config, NULL, err);
		for (size_t k = 0; ret == 0 && k < m.n_layers; k++)
			ret = registry_fetch_blob(src->client, t->repo, store, &m.layers[k], NULL,
						  err);
		char stored[OCI_DIGEST_SIZE];
		if (ret == 0)
			ret = petra_store_put_blob(store, f.data, f.len, stored, err);
		if (ret == 0) {
			struct oci_descriptor d = {
			    .media_type =
				f.media_type ? f.media_type : (char *)OCI_MEDIA_TYPE_MANIFEST,
			    .size = (int64_t)f.len};
			memcpy(d.digest, stored, sizeof(d.digest));
			ret = petra_store_add_referrer(store, subject, &d, err);
		}
		if (ret == 0)
			(*pulled)++;
		oci_manifest_release(&m);
		registry_fetched_release(&f);
		if (ret < 0)
			petra_error_prefix(err, "referrer %s", digest);
		if (ret == 0 && depth < 4)
			ret = pull_referrers_of(src, store, digest, depth + 1, pulled, err);
	}
	json_decref(index);
	return ret;
}

int registry_pull_referrers(struct petra_store *store, const char *src, const char *subject,
			    const struct registry_options *o, size_t *pulled,
			    struct petra_error **err)
{
	*pulled = 0;
	struct remote r;
	int ret = remote_open(src, o, &r, err);
	if (ret == 0)
		ret = pull_referrers_of(&r, store, subject, 0, pulled, err);
	remote_release(&r);
	if (ret < 0)
		return petra_error_prefix(err, "pull referrers of %s from %s", subject, src);
	return 0;
}

int registry_list_referrers(struct registry_client *c, const char *repo, const char *subject,
			    json_t **index, struct petra_error **err)
{
	return list_referrers(c, repo, subject, index, err);
}
