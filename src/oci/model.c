/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI image model: media types, descriptors, manifests, indexes, configs. */
#include "oci.h"

#include <string.h>
#include <sys/utsname.h>

enum oci_kind oci_media_type_kind(const char *mt)
{
	if (!mt)
		return OCI_KIND_OTHER;
	if (!strcmp(mt, OCI_MEDIA_TYPE_INDEX) || !strcmp(mt, DOCKER_MEDIA_TYPE_LIST))
		return OCI_KIND_INDEX;
	if (!strcmp(mt, OCI_MEDIA_TYPE_MANIFEST) || !strcmp(mt, DOCKER_MEDIA_TYPE_MANIFEST))
		return OCI_KIND_MANIFEST;
	if (!strcmp(mt, OCI_MEDIA_TYPE_CONFIG) || !strcmp(mt, DOCKER_MEDIA_TYPE_CONFIG))
		return OCI_KIND_CONFIG;
	if (!strncmp(mt, "application/vnd.oci.image.layer.", 32) ||
	    !strncmp(mt, "application/vnd.docker.image.rootfs.", 36))
		return OCI_KIND_LAYER;
	return OCI_KIND_OTHER;
}

bool oci_media_type_is_foreign(const char *mt)
{
	return mt && (!strncmp(mt, "application/vnd.docker.image.rootfs.foreign.", 44) ||
		      !strncmp(mt, "application/vnd.oci.image.layer.nondistributable.", 49));
}

/* ---- descriptors ---- */

int oci_descriptor_from_json(const json_t *json, struct oci_descriptor *desc,
			     struct petra_error **err)
{
	memset(desc, 0, sizeof(*desc));
	if (!json_is_object(json))
		return petra_error_set(err, EINVAL, "descriptor is not a JSON object");
	const char *mt = json_get_string(json, "mediaType");
	const char *digest = json_get_string(json, "digest");
	json_t *size = json_object_get(json, "size");
	if (!mt || !*mt)
		return petra_error_set(err, EINVAL, "descriptor has no mediaType");
	if (oci_digest_check(digest, err) < 0)
		return petra_error_prefix(err, "descriptor");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return petra_error_set(err, EINVAL,
				       "descriptor %s: size is not a non-negative integer", digest);
	desc->media_type = xstrdup(mt);
	snprintf(desc->digest, sizeof(desc->digest), "%s", digest);
	desc->size = json_integer_value(size);
	json_t *ann = json_object_get(json, "annotations");
	if (ann) {
		if (!json_is_object(ann)) {
			oci_descriptor_release(desc);
			return petra_error_set(
			    err, EINVAL, "descriptor %s: annotations is not an object", digest);
		}
		desc->annotations = json_incref(ann);
	}
	json_t *platform = json_object_get(json, "platform");
	if (json_is_object(platform))
		desc->platform = json_incref(platform);
	const char *artifact_type = json_get_string(json, "artifactType");
	if (artifact_type)
		desc->artifact_type = xstrdup(artifact_type);
	return 0;
}

void oci_descriptors_release(struct oci_descriptor *descs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		oci_descriptor_release(&descs[i]);
	free(descs);
}

json_t *oci_descriptor_to_json(const struct oci_descriptor *desc)
{
	json_t *j = json_object();
	json_object_set_new(j, "mediaType", json_string(desc->media_type));
	json_object_set_new(j, "digest", json_string(desc->digest));
	json_object_set_new(j, "size", json_integer(desc->size));
	if (desc->annotations && json_object_size(desc->annotations))
		json_object_set_new(j, "annotations", json_deep_copy(desc->annotations));
	if (desc->platform)
		json_object_set_new(j, "platform", json_deep_copy(desc->platform));
	if (desc->artifact_type)
		json_object_set_new(j, "artifactType", json_string(desc->artifact_type));
	return j;
}

void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src)
{
	dst->media_type = xstrdup(src->media_type);
	memcpy(dst->digest, src->digest, sizeof(dst->digest));
	dst->size = src->size;
	dst->annotations = src->annotations ? json_deep_copy(src->annotations) : NULL;
	dst->platform = src->platform ? json_deep_copy(src->platform) : NULL;
	dst->artifact_type = src->artifact_type ? xstrdup(src->artifact_type) : NULL;
}

void oci_descriptor_release(struct oci_descriptor *desc)
{
	free(desc->media_type);
	json_decref(desc->annotations);
	json_decref(desc->platform);
	free(desc->artifact_type);
	memset(desc, 0, sizeof(*desc));
}

const char *oci_descriptor_annotation(const struct oci_descriptor *desc, const char *key)
{
	return desc->annotations ? json_get_string(desc->annotations, key) : NULL;
}

static void descriptors_free(struct oci_descriptor *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		oci_descriptor_release(&d[i]);
	free(d);
}

/* ---- manifests ---- */

int oci_manifest_parse(const char *data, size_t len, struct oci_manifest *m,
		       struct petra_error **err)
{
	memset(m, 0, sizeof(*m));
	json_t *json = json_parse_buffer(data, len, "manifest", err);
	if (!json)
		return -EINVAL;
	m->json = json;
	int r;
	if (!json_is_object(json)) {
		r = petra_error_set(err, EINVAL, "manifest is not a JSON object");
		goto fail;
	}
	if (json_get_int(json, "schemaVersion", 0) != 2) {
		r = petra_error_set(err, EINVAL, "manifest: schemaVersion is not 2");
		goto fail;
	}
	const char *mt = json_get_string(json, "mediaType");
	if (mt && oci_media_type_kind(mt) != OCI_KIND_MANIFEST) {
		r = petra_error_set(err, EINVAL, "manifest: unexpected mediaType \"%s\"", mt);
		goto fail;
	}
	r = oci_descriptor_from_json(json_object_get(json, "config"), &m->config, err);
	if (r < 0) {
		petra_error_prefix(err, "manifest: config");
		goto fail;
	}
	json_t *layers = json_object_get(json, "layers");
	if (!json_is_array(layers)) {
		r = petra_error_set(err, EINVAL, "manifest: layers is not an array");
		goto fail;
	}
	m->n_layers = json_array_size(layers);
	m->layers = xcalloc(m->n_layers, sizeof(*m->layers));
	for (size_t i = 0; i < m->n_layers; i++) {
		r = oci_descriptor_from_json(json_array_get(layers, i), &m->layers[i], err);
		if (r < 0) {
			petra_error_prefix(err, "manifest: layer %zu", i + 1);
			goto fail;
		}
	}
	return 0;
fail:
	oci_manifest_release(m);
	return r;
}

void oci_manifest_release(struct oci_manifest *m)
{
	json_decref(m->json);
	oci_descriptor_release(&m->config);
	descriptors_free(m->layers, m->n_layers);
	memset(m, 0, sizeof(*m));
}

json_t *oci_manifest_build(const struct oci_descriptor *config, const struct oci_descriptor *layers,
			   size_t n_layers, json_t *annotations)
{
	json_t *j = json_object();
	json_object_set_new(j, "schemaVersion", json_integer(2));
	json_object_set_new(j, "mediaType", json_string(OCI_MEDIA_TYPE_MANIFEST));
	json_object_set_new(j, "config", oci_descriptor_to_json(config));
	json_t *arr = json_array();
	for (size_t i = 0; i < n_layers; i++)
		json_array_append_new(arr, oci_descriptor_to_json(&layers[i]));
	json_object_set_new(j, "layers", arr);
	if (annotations && json_object_size(annotations))
		json_object_set(j, "annotations", annotations);
	return j;
}

/* ---- indexes ---- */

int oci_index_parse(const char *data, size_t len, struct oci_index *index, struct petra_error **err)
{
	memset(index, 0, sizeof(*index));
	json_t *json = json_parse_buffer(data, len, "index", err);
	if (!json)
		return -EINVAL;
	index->json = json;
	int r;
	if (!json_is_object(json)) {
		r = petra_error_set(err, EINVAL, "index is not a JSON object");
		goto fail;
	}
	if (json_get_int(json, "schemaVersion", 0) != 2) {
		r = petra_error_set(err, EINVAL, "index: schemaVersion is not 2");
		goto fail;
	}
	json_t *manifests = json_object_get(json, "manifests");
	if (!json_is_array(manifests)) {
		r = petra_error_set(err, EINVAL, "index: manifests is not an array");
		goto fail;
	}
	index->n_manifests = json_array_size(manifests);
	index->manifests = xcalloc(index->n_manifests, sizeof(*index->manifests));
	for (size_t i = 0; i < index->n_manifests; i++) {
		r = oci_descriptor_from_json(json_array_get(manifests, i), &index->manifests[i],
					     err);
		if (r < 0) {
			petra_error_prefix(err, "index: entry %zu", i + 1);
			goto fail;
		}
	}
	return 0;
fail:
	oci_index_release(index);
	return r;
}

void oci_index_release(struct oci_index *index)
{
	json_decref(index->json);
	descriptors_free(index->manifests, index->n_manifests);
	memset(index, 0, sizeof(*index));
}

const char *oci_host_architecture(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	static const struct {
		const char *machine, *goarch;
	} map[] = {{"x86_64", "amd64"},   {"aarch64", "arm64"},   {"armv7l", "arm"},
		   {"i686", "386"},       {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
		   {"riscv64", "riscv64"}};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(u.machine, map[i].machine))
			return map[i].goarch;
	return "amd64";
}

int oci_index_select_platform(const struct oci_index *index, struct petra_error **err)
{
	const char *arch = oci_host_architecture();
	/* Manifests first: an index that has the image itself is not made to
	 * go through a nested one. */
	static const enum oci_kind kinds[] = {OCI_KIND_MANIFEST, OCI_KIND_INDEX};
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		for (size_t i = 0; i < index->n_manifests; i++) {
			const struct oci_descriptor *d = &index->manifests[i];
			if (oci_media_type_kind(d->media_type) != kinds[k])
				continue;
			const char *os = d->platform ? json_get_string(d->platform, "os") : NULL;
			const char *a =
			    d->platform ? json_get_string(d->platform, "architecture") : NULL;
			if ((!os || !strcmp(os, "linux")) && (!a || !strcmp(a, arch)))
				return (int)i;
		}
	return petra_error_set(err, ENOENT, "image index has no manifest for linux/%s", arch);
}

/* ---- configs ---- */

int oci_config_parse(const char *data, size_t len, struct oci_config *c, struct petra_error **err)
{
	memset(c, 0, sizeof(*c));
	json_t *json = json_parse_buffer(data, len, "config", err);
	if (!json)
		return -EINVAL;
	c->json = json;
	int r;
	if (!json_is_object(json)) {
		r = petra_error_set(err, EINVAL, "config is not a JSON object");
		goto fail;
	}
	json_t *rootfs = json_object_get(json, "rootfs");
	const char *type = json_get_string(rootfs, "type");
	if (!type || strcmp(type, "layers") != 0) {
		r = petra_error_set(err, EINVAL, "config: rootfs.type is not \"layers\"");
		goto fail;
	}
	json_t *diff_ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(diff_ids)) {
		r = petra_error_set(err, EINVAL, "config: rootfs.diff_ids is not an array");
		goto fail;
	}
	for (size_t i = 0; i < json_array_size(diff_ids); i++) {
		const char *d = json_string_value(json_array_get(diff_ids, i));
		r = oci_digest_check(d, err);
		if (r < 0) {
			petra_error_prefix(err, "config: diff_id %zu", i + 1);
			goto fail;
		}
		strvec_push(&c->diff_ids, d);
	}
	json_t *history = json_object_get(json, "history");
	if (history && !json_is_array(history)) {
		r = petra_error_set(err, EINVAL, "config: history is not an array");
		goto fail;
	}
	return 0;
fail:
	oci_config_release(c);
	return r;
}

void oci_config_release(struct oci_config *c)
{
	json_decref(c->json);
	strvec_clear(&c->diff_ids);
	memset(c, 0, sizeof(*c));
}
