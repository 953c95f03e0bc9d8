/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The copy helper image: for an image with a "copy" path and no cp of its
 * own, the image's layers (shared, not copied) plus one layer that holds
 * only petra's static copier at KUBE_COPY_HELPER_PATH. Its init container
 * runs the copier in the image's own root, so the copy is the image's
 * content with its owners and modes, and the extra layer is the copier
 * alone (some hundred kilobytes). It is tagged NAME:petra-copy-<digest>
 * next to the image, so that pushing NAME pushes it too, and the manifest
 * names it by digest.
 */
#include "kube.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "layer/layer.h"

/* The layer: /.petra/ and the copier, owned by root, fixed times, so the
 * same copier always makes the same layer (and the same digest). */
static int write_copier_layer(struct petra_store *store, const char *data, size_t len,
			      struct layer_info *info, struct petra_error **err)
{
	struct layer_writer_options wo = {.compression = LAYER_COMPRESSION_GZIP};
	struct layer_writer *w;
	int r = layer_writer_new(store, &wo, &w, err);
	if (r < 0)
		return r;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, ".petra/");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, 0, 0);
	r = layer_writer_add_entry(w, e, NULL, 0, err);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, KUBE_COPY_HELPER_PATH + 1);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0555);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, 0, 0);
	if (r == 0)
		r = layer_writer_add_entry(w, e, data, len, err);
	archive_entry_free(e);
	if (r < 0) {
		layer_writer_abort(w);
		return r;
	}
	return layer_writer_finish(w, info, err);
}

static int put_json(struct petra_store *store, const json_t *doc, struct oci_descriptor *desc,
		    struct petra_error **err)
{
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(doc, &len);
	desc->size = (int64_t)len;
	return petra_store_put_blob(store, text, len, desc->digest, err);
}

int kube_copy_helper_image(struct petra_store *store, const char *ref, const char *copier,
			   char **by_digest, char **tag_ref, struct petra_error **err)
{
	*by_digest = NULL;
	if (tag_ref)
		*tag_ref = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, copier, 64u << 20, &data, &len, err) < 0)
		return petra_error_prefix(err, "the copy helper %s", copier);
	struct image img;
	if (image_load(store, ref, &img, err) < 0)
		return -1;
	struct layer_info info;
	int r = write_copier_layer(store, data, len, &info, err);
	struct oci_ref parsed = {0};
	if (r == 0 && !img.name)
		r = petra_error_set(err, EINVAL, "%s has no name in the store (tag it first)", ref);
	if (r == 0)
		r = oci_ref_parse(img.name, &parsed, err);
	if (r < 0) {
		image_release(&img);
		return r;
	}
	/* The config: the image's, with the layer's diff_id and a step. */
	_cleanup_json_ json_t *config = json_deep_copy(img.config.json);
	json_t *rootfs = json_object_get(config, "rootfs");
	json_array_append_new(json_object_get(rootfs, "diff_ids"), json_string(info.diff_id));
	json_t *history = json_object_get(config, "history");
	if (!json_is_array(history)) {
		history = json_array();
		json_object_set_new(config, "history", history);
	}
	json_array_append_new(
	    history, json_pack("{s:s,s:s,s:s}", "created", "1970-01-01T00:00:00Z", "created_by",
			       "petra deploy: the copy helper " KUBE_COPY_HELPER_PATH, "comment",
			       img.desc.digest));
	struct oci_descriptor config_desc = {.media_type = (char *)OCI_MEDIA_TYPE_CONFIG};
	r = put_json(store, config, &config_desc, err);
	/* The manifest: the same layers, the copier's after them. */
	size_t n = img.manifest.n_layers;
	struct oci_descriptor *layers = xcalloc(n + 1, sizeof(*layers));
	for (size_t i = 0; i < n; i++)
		layers[i] = img.manifest.layers[i]; /* borrowed */
	layers[n].media_type = (char *)info.media_type;
	memcpy(layers[n].digest, info.digest, OCI_DIGEST_SIZE);
	layers[n].size = info.size;
	json_t *manifest = r < 0 ? NULL : oci_manifest_build(&config_desc, layers, n + 1, NULL);
	free(layers);
	struct oci_descriptor desc = {.media_type = (char *)OCI_MEDIA_TYPE_MANIFEST};
	if (manifest)
		r = put_json(store, manifest, &desc, err);
	json_decref(manifest);
	char short_digest[13];
	oci_digest_short(img.desc.digest, short_digest);
	_cleanup_free_ char *name = xasprintf("%s:petra-copy-%s", parsed.name, short_digest);
	if (r == 0)
		r = petra_store_set_ref(store, name, &desc, err);
	if (r == 0) {
		*by_digest = xasprintf("%s@%s", parsed.name, desc.digest);
		if (tag_ref)
			*tag_ref = steal_pointer(&name);
	}
	oci_ref_release(&parsed);
	image_release(&img);
	return r < 0 ? petra_error_prefix(err, "the copy helper image of %s", ref) : 0;
}
