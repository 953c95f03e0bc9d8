/* SPDX-License-Identifier: Apache-2.0 */
/* Cosign signatures and attestations in a registry: the sha256-<hex>.sig
 * and .att manifests next to the image, read without the image's layers,
 * signed into (blob, config, then manifest, so the tag never names a
 * missing blob), and carried between the registry and the store with the
 * image. Accumulating: layers already on the other side stay, new ones
 * are appended. */
#include "trust.h"
#include "internal.h"
#include "registry/registry.h"

#include <errno.h>
#include <string.h>

#define MAX_MANIFEST  (4u << 20)
#define MAX_SIGNATURE (4u << 20)

/* "sha256-<hex><suffix>" (the tag within the repository). */
static char *artifact_tag(const char *digest, const char *suffix)
{
	const char *colon = strchr(digest, ':');
	return xasprintf("%.*s-%s%s", (int)(colon - digest), digest, colon + 1, suffix);
}

static int registry_blob_reader(void *repo, const char *digest, char **data, size_t *len,
				struct petra_error **err)
{
	return registry_repository_get_blob(repo, digest, MAX_SIGNATURE, data, len, err);
}

/* The manifest digest `ref` names: its digest when it has one (the
 * registry must still serve it), else what its tag names now. */
static int resolve_digest(struct registry_repository *repo, const char *ref,
			  char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	struct oci_ref parsed;
	if (oci_ref_parse(ref, &parsed, err) < 0)
		return -1;
	const char *reference = parsed.digest ? parsed.digest : parsed.tag ? parsed.tag : "latest";
	_cleanup_free_ char *data = NULL;
	size_t len;
	int rc = registry_repository_get_manifest(repo, reference, &data, &len, NULL, digest, err);
	oci_ref_release(&parsed);
	if (rc < 0)
		return -1;
	/* Signatures name the digest of the bytes (schema 1 has none). */
	return trust_manifest_digest(data, len, digest, err);
}

/* The layers of the registry's artifact manifest `tag` (an empty array
 * when it has none) and the manifest's bytes (NULL then). */
static int registry_layers(struct registry_repository *repo, const char *tag, json_t **layers,
			   char **data, size_t *len, struct petra_error **err)
{
	*layers = NULL;
	*data = NULL;
	*len = 0;
	struct petra_error *e = NULL;
	if (registry_repository_get_manifest(repo, tag, data, len, NULL, NULL, &e) < 0) {
		if (e->code != ENOENT) {
			*err = e;
			return -1;
		}
		petra_error_free(e);
		*layers = json_array();
		return 0;
	}
	_cleanup_json_ json_t *doc = json_parse_buffer(*data, *len, tag, err);
	json_t *l = doc ? json_object_get(doc, "layers") : NULL;
	if (!json_is_array(l)) {
		free(*data);
		*data = NULL;
		return doc ? petra_error_set(err, EINVAL, "%s:%s: layers is not an array",
					     registry_repository_where(repo), tag)
			   : -1;
	}
	*layers = json_incref(l);
	return 0;
}

/* Write the artifact manifest `tag` with layers (their blobs there). */
static int registry_write_layers(struct registry_repository *repo, const char *tag,
				 const json_t *layers, struct petra_error **err)
{
	_cleanup_json_ json_t *config = trust_sig_config(layers);
	size_t config_len;
	_cleanup_free_ char *config_text = json_dump_compact(config, &config_len);
	struct oci_descriptor config_desc = {.media_type = OCI_MEDIA_TYPE_CONFIG,
					     .size = (int64_t)config_len};
	if (registry_repository_put_blob(repo, config_text, config_len, config_desc.digest, err) <
	    0)
		return -1;
	_cleanup_json_ json_t *manifest = trust_sig_manifest(&config_desc, layers);
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(manifest, &len);
	return registry_repository_put_manifest(repo, tag, OCI_MEDIA_TYPE_MANIFEST, text, len, err);
}

static bool layer_same(const json_t *a, const json_t *b)
{
	const char *da = json_get_string(a, "digest"), *db = json_get_string(b, "digest");
	json_t *aa = json_object_get(a, "annotations"), *ab = json_object_get(b, "annotations");
	return da && db && !strcmp(da, db) &&
	       (aa == ab || (aa && ab && json_equal(aa, ab)) || (!aa && !json_object_size(ab)) ||
		(!ab && !json_object_size(aa)));
}

static bool layers_have(const json_t *layers, const json_t *layer)
{
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) if (layer_same(l, layer)) return true;
	return false;
}

int trust_registry_signatures(const char *ref, const struct registry_options *options,
			      char digest[OCI_DIGEST_SIZE], struct trust_signatures *sigs,
			      struct petra_error **err)
{
	_cleanup_registry_repository_ struct registry_repository *repo = NULL;
	if (registry_repository_open(ref, options, &repo, err) < 0 ||
	    resolve_digest(repo, ref, digest, err) < 0)
		return petra_error_prefix(err, "docker://%s", ref);
	_cleanup_free_ char *tag = artifact_tag(digest, ".sig");
	_cleanup_json_ json_t *layers = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (registry_layers(repo, tag, &layers, &data, &len, err) < 0)
		return petra_error_prefix(err, "docker://%s", ref);
	if (!data)
		return 0;
	_cleanup_free_ char *source = xasprintf("%s:%s", registry_repository_where(repo), tag);
	return trust_signatures_from_manifest(registry_blob_reader, repo, source, data, len, sigs,
					      err);
}

static int registry_sign(const char *ref, const char *digest, const struct trust_key *key,
			 const char *identity, const json_t *annotations,
			 const struct registry_options *options, struct trust_signed *out,
			 struct petra_error **err)
{
	_cleanup_registry_repository_ struct registry_repository *repo = NULL;
	if (registry_repository_open(ref, options, &repo, err) < 0)
		return -1;
	if (digest)
		memcpy(out->manifest_digest, digest, OCI_DIGEST_SIZE);
	else if (resolve_digest(repo, ref, out->manifest_digest, err) < 0)
		return -1;
	if (trust_normalise_ref(identity ? identity : ref, &out->identity, err) < 0)
		return -1;
	_cleanup_free_ char *tag = artifact_tag(out->manifest_digest, ".sig");
	out->signature_ref = xasprintf("%s:%s", registry_repository_where(repo), tag);

	size_t payload_len;
	_cleanup_free_ char *payload =
	    trust_payload_build(out->identity, out->manifest_digest, annotations, &payload_len);
	_cleanup_free_ char *signature = NULL;
	if (trust_sign(key, payload, payload_len, &signature, err) < 0)
		return -1;

	_cleanup_json_ json_t *layers = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (registry_layers(repo, tag, &layers, &data, &len, err) < 0)
		return -1;
	if (data) {
		/* This payload signed by this key is there already. */
		struct trust_signatures sigs = {0};
		int rc = trust_signatures_from_manifest(registry_blob_reader, repo,
							out->signature_ref, data, len, &sigs, err);
		bool already = false;
		for (size_t i = 0; rc == 0 && i < sigs.n && !already; i++)
			already = sigs.v[i].payload_len == payload_len &&
				  !memcmp(sigs.v[i].payload, payload, payload_len) &&
				  trust_verify(key, payload, payload_len, sigs.v[i].signature_b64);
		trust_signatures_release(&sigs);
		if (rc < 0)
			return -1;
		if (already) {
			out->n_signatures = json_array_size(layers);
			return 0;
		}
	}
	struct oci_descriptor layer = {.media_type = TRUST_SIMPLESIGNING_MEDIA_TYPE,
				       .size = (int64_t)payload_len};
	if (registry_repository_put_blob(repo, payload, payload_len, layer.digest, err) < 0)
		return -1;
	layer.annotations = json_pack("{s:s}", TRUST_SIGNATURE_ANNOTATION, signature);
	json_array_append_new(layers, oci_descriptor_to_json(&layer));
	json_decref(layer.annotations);
	if (registry_write_layers(repo, tag, layers, err) < 0)
		return -1;
	out->n_signatures = json_array_size(layers);
	return 0;
}

int trust_registry_sign(const char *ref, const char *digest, const struct trust_key *key,
			const char *identity, const json_t *annotations,
			const struct registry_options *options, struct trust_signed *out,
			struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	if (registry_sign(ref, digest, key, identity, annotations, options, out, err) < 0) {
		trust_signed_release(out);
		return petra_error_prefix(err, "sign docker://%s", ref);
	}
	return 0;
}

/* ---- carrying .sig and .att between the store and a registry ------------- */

static const char *const artifact_suffixes[] = {".sig", ".att"};
/* Between store names, the GPG signatures (petra's .gpgsig) go too. */
static const char *const store_artifact_suffixes[] = {".sig", ".att", ".gpgsig"};

/* The store image's digest and repository (its name without tag). */
static int store_image(struct petra_store *store, const char *image, char digest[OCI_DIGEST_SIZE],
		       char **repository, struct petra_error **err)
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

/* The layers of the store's artifact manifest `tag` (empty when none). */
static int store_layers(struct petra_store *store, const char *tag, json_t **layers,
			struct petra_error **err)
{
	*layers = NULL;
	struct oci_descriptor desc;
	struct petra_error *lookup = NULL;
	if (petra_store_resolve(store, tag, &desc, NULL, &lookup) < 0) {
		if (lookup->code != ENOENT) {
			*err = lookup;
			return -1;
		}
		petra_error_free(lookup);
		*layers = json_array();
		return 0;
	}
	_cleanup_free_ char *data = NULL;
	size_t len;
	int rc = petra_store_read_blob(store, desc.digest, MAX_MANIFEST, &data, &len, err);
	oci_descriptor_release(&desc);
	if (rc < 0)
		return petra_error_prefix(err, "%s", tag);
	_cleanup_json_ json_t *doc = json_parse_buffer(data, len, tag, err);
	json_t *l = doc ? json_object_get(doc, "layers") : NULL;
	if (!json_is_array(l))
		return doc ? petra_error_set(err, EINVAL, "%s: layers is not an array", tag) : -1;
	*layers = json_incref(l);
	return 0;
}

int trust_push_signatures(struct petra_store *store, const char *image, const char *ref,
			  const struct registry_options *options, size_t *carried,
			  struct petra_error **err)
{
	*carried = 0;
	char digest[OCI_DIGEST_SIZE];
	_cleanup_free_ char *repository = NULL;
	if (store_image(store, image, digest, &repository, err) < 0)
		return -1;
	_cleanup_registry_repository_ struct registry_repository *repo = NULL;
	for (size_t k = 0; k < ARRAY_SIZE(artifact_suffixes); k++) {
		_cleanup_free_ char *tag = artifact_tag(digest, artifact_suffixes[k]);
		_cleanup_free_ char *store_tag = xasprintf("%s:%s", repository, tag);
		_cleanup_json_ json_t *mine = NULL;
		if (store_layers(store, store_tag, &mine, err) < 0)
			return -1;
		if (!json_array_size(mine))
			continue;
		if (!repo && registry_repository_open(ref, options, &repo, err) < 0)
			return -1;
		_cleanup_json_ json_t *theirs = NULL;
		_cleanup_free_ char *data = NULL;
		size_t len;
		if (registry_layers(repo, tag, &theirs, &data, &len, err) < 0)
			return -1;
		size_t added = 0, i;
		json_t *l;
		json_array_foreach(mine, i, l)
		{
			if (layers_have(theirs, l))
				continue;
			const char *d = json_get_string(l, "digest");
			_cleanup_free_ char *blob = NULL;
			size_t blob_len;
			char pushed[OCI_DIGEST_SIZE];
			if (!d ||
			    petra_store_read_blob(store, d, MAX_SIGNATURE, &blob, &blob_len, err) <
				0 ||
			    registry_repository_put_blob(repo, blob, blob_len, pushed, err) < 0)
				return d ? petra_error_prefix(err, "%s layer %zu", store_tag, i + 1)
					 : petra_error_set(err, EINVAL, "%s: a layer has no digest",
							   store_tag);
			json_array_append(theirs, l);
			added++;
		}
		if (added && registry_write_layers(repo, tag, theirs, err) < 0)
			return -1;
		*carried += added;
	}
	return 0;
}

int trust_pull_signatures(struct petra_store *store, const char *ref, const char *image,
			  const struct registry_options *options, size_t *carried,
			  struct petra_error **err)
{
	*carried = 0;
	char digest[OCI_DIGEST_SIZE];
	_cleanup_free_ char *repository = NULL;
	if (store_image(store, image, digest, &repository, err) < 0)
		return -1;
	_cleanup_registry_repository_ struct registry_repository *repo = NULL;
	if (registry_repository_open(ref, options, &repo, err) < 0)
		return -1;
	for (size_t k = 0; k < ARRAY_SIZE(artifact_suffixes); k++) {
		_cleanup_free_ char *tag = artifact_tag(digest, artifact_suffixes[k]);
		_cleanup_free_ char *store_tag = xasprintf("%s:%s", repository, tag);
		_cleanup_json_ json_t *theirs = NULL;
		_cleanup_free_ char *data = NULL;
		size_t len;
		if (registry_layers(repo, tag, &theirs, &data, &len, err) < 0)
			return -1;
		if (!json_array_size(theirs))
			continue;
		_cleanup_json_ json_t *mine = NULL;
		if (store_layers(store, store_tag, &mine, err) < 0)
			return -1;
		size_t added = 0, i;
		json_t *l;
		json_array_foreach(theirs, i, l)
		{
			if (layers_have(mine, l))
				continue;
			const char *d = json_get_string(l, "digest");
			_cleanup_free_ char *blob = NULL;
			size_t blob_len;
			char stored[OCI_DIGEST_SIZE];
			if (!d || !oci_digest_valid(d))
				return petra_error_set(err, EINVAL,
						       "%s:%s layer %zu: no valid digest",
						       registry_repository_where(repo), tag, i + 1);
			if (registry_repository_get_blob(repo, d, MAX_SIGNATURE, &blob, &blob_len,
							 err) < 0 ||
			    petra_store_put_blob(store, blob, blob_len, stored, err) < 0)
				return -1;
			json_array_append(mine, l);
			added++;
		}
		if (added && trust_sig_manifest_write(store, store_tag, mine, err) < 0)
			return -1;
		*carried += added;
	}
	return 0;
}

int trust_store_copy_signatures(struct petra_store *store, const char *image, const char *dest,
				size_t *carried, struct petra_error **err)
{
	*carried = 0;
	char digest[OCI_DIGEST_SIZE], dest_digest[OCI_DIGEST_SIZE];
	_cleanup_free_ char *repository = NULL, *dest_repository = NULL;
	if (store_image(store, image, digest, &repository, err) < 0 ||
	    store_image(store, dest, dest_digest, &dest_repository, err) < 0)
		return -1;
	if (strcmp(digest, dest_digest))
		return petra_error_set(err, EINVAL, "%s is %s, not %s", dest, dest_digest, digest);
	if (!strcmp(repository, dest_repository))
		return 0;
	for (size_t k = 0; k < ARRAY_SIZE(store_artifact_suffixes); k++) {
		_cleanup_free_ char *tag = artifact_tag(digest, store_artifact_suffixes[k]);
		_cleanup_free_ char *from = xasprintf("%s:%s", repository, tag);
		_cleanup_free_ char *to = xasprintf("%s:%s", dest_repository, tag);
		_cleanup_json_ json_t *theirs = NULL, *mine = NULL;
		if (store_layers(store, from, &theirs, err) < 0 ||
		    store_layers(store, to, &mine, err) < 0)
			return -1;
		size_t added = 0, i;
		json_t *l;
		json_array_foreach(theirs, i, l) if (!layers_have(mine, l))
		{
			json_array_append(mine, l);
			added++;
		}
		if (added && trust_sig_manifest_write(store, to, mine, err) < 0)
			return -1;
		*carried += added;
	}
	return 0;
}
