/* SPDX-License-Identifier: Apache-2.0 */
/* Crafted images for unit tests: layers written entry by entry with the
 * layer writer (files, directories, links, devices, whiteouts, opaque
 * markers), a config with the given "config" object and one history step
 * per layer, named in the store. */
#ifndef PETRA_IMAGE_BUILDER_H
#define PETRA_IMAGE_BUILDER_H

#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>

#include "image/image.h"
#include "layer/layer.h"
#include "oci/oci.h"

struct test_entry {
	char type; /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' char device,
		      'w' whiteout, 'o' opaque directory */
	const char *path;
	unsigned mode; /* 0: 0644 for files, 0755 for directories */
	unsigned uid, gid;
	const char *data; /* file content, link target */
	size_t size;      /* > 0 with data NULL: that many pseudo-random bytes */
};

struct test_layer {
	const char *created_by;
	const struct test_entry *entries;
	size_t n;
	const char *empty_after; /* a step without a layer after this one (ENV ...) */
};

#define TEST_LAYER(by, ...)                                                                        \
	{                                                                                          \
		by, (const struct test_entry[]){__VA_ARGS__},                                      \
		    sizeof((const struct test_entry[]){__VA_ARGS__}) / sizeof(struct test_entry),  \
		    NULL                                                                           \
	}

static inline void test_fill_random(char *buf, size_t size, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (char)(x & 0xff);
	}
}

static inline void test_write_layer(struct petra_store *store, const struct test_layer *l,
				    struct layer_info *info)
{
	struct layer_writer_options wo = {.compression = LAYER_COMPRESSION_GZIP};
	struct layer_writer *w;
	struct petra_error *err = NULL;
	assert_int_equal(layer_writer_new(store, &wo, &w, &err), 0);
	for (size_t i = 0; i < l->n; i++) {
		const struct test_entry *t = &l->entries[i];
		int r = 0;
		if (t->type == 'w') {
			r = layer_writer_add_whiteout(w, t->path, &err);
		} else if (t->type == 'o') {
			r = layer_writer_add_opaque(w, t->path, &err);
		} else {
			struct archive_entry *e = archive_entry_new();
			archive_entry_set_pathname(e, t->path);
			archive_entry_set_uid(e, t->uid);
			archive_entry_set_gid(e, t->gid);
			archive_entry_set_mtime(e, 1700000000, 0);
			char *content = NULL;
			size_t len = 0;
			switch (t->type) {
			case 'd':
				archive_entry_set_filetype(e, AE_IFDIR);
				archive_entry_set_perm(e, t->mode ? t->mode : 0755);
				break;
			case 'l':
				archive_entry_set_filetype(e, AE_IFLNK);
				archive_entry_set_perm(e, 0777);
				archive_entry_set_symlink(e, t->data);
				break;
			case 'h':
				archive_entry_set_filetype(e, AE_IFREG);
				archive_entry_set_perm(e, t->mode ? t->mode : 0644);
				archive_entry_set_hardlink(e, t->data);
				archive_entry_set_size(e, 0);
				break;
			case 'c':
				archive_entry_set_filetype(e, AE_IFCHR);
				archive_entry_set_perm(e, t->mode ? t->mode : 0666);
				archive_entry_set_rdevmajor(e, 1);
				archive_entry_set_rdevminor(e, 3);
				break;
			default:
				archive_entry_set_filetype(e, AE_IFREG);
				archive_entry_set_perm(e, t->mode ? t->mode : 0644);
				if (t->data) {
					content = xstrdup(t->data);
					len = strlen(t->data);
				} else if (t->size) {
					content = xmalloc(t->size);
					test_fill_random(content, t->size, (uint32_t)t->size);
					len = t->size;
				}
				archive_entry_set_size(e, (la_int64_t)len);
			}
			r = layer_writer_add_entry(w, e, content, len, &err);
			archive_entry_free(e);
			free(content);
		}
		if (r < 0)
			fail_msg("layer entry %s: %s", t->path, err->message);
	}
	assert_int_equal(layer_writer_finish(w, info, &err), 0);
}

static inline void test_put_json(struct petra_store *store, json_t *doc, const char *media_type,
				 struct oci_descriptor *desc)
{
	size_t len;
	char *text = json_dump_compact(doc, &len);
	struct petra_error *err = NULL;
	memset(desc, 0, sizeof(*desc));
	assert_int_equal(petra_store_put_blob(store, text, len, desc->digest, &err), 0);
	desc->media_type = xstrdup(media_type);
	desc->size = (int64_t)len;
	free(text);
}

/* Build and name an image. config_json: the config's "config" object
 * (User, Env, Labels, ...) as JSON text, or NULL; manifest_annotations:
 * a JSON object's text or NULL. */
static inline void test_build_image_annotated(struct petra_store *store, const char *name,
					      const struct test_layer *layers, size_t n_layers,
					      const char *config_json,
					      const char *manifest_annotations)
{
	json_t *config = json_object();
	json_object_set_new(config, "architecture", json_string(oci_host_architecture()));
	json_object_set_new(config, "os", json_string("linux"));
	json_error_t jerr;
	json_t *cfg = config_json ? json_loads(config_json, 0, &jerr) : json_object();
	assert_non_null(cfg);
	json_object_set_new(config, "config", cfg);
	json_t *diff_ids = json_array(), *history = json_array();
	struct oci_descriptor *descs = xcalloc(n_layers ? n_layers : 1, sizeof(*descs));
	for (size_t i = 0; i < n_layers; i++) {
		struct layer_info info;
		test_write_layer(store, &layers[i], &info);
		json_array_append_new(diff_ids, json_string(info.diff_id));
		json_array_append_new(history,
				      json_pack("{s:s,s:s}", "created", "2023-11-14T22:13:20Z",
						"created_by", layers[i].created_by));
		if (layers[i].empty_after)
			json_array_append_new(
			    history, json_pack("{s:s,s:s,s:b}", "created", "2023-11-14T22:13:20Z",
					       "created_by", layers[i].empty_after, "empty_layer", 1));
		descs[i].media_type = (char *)info.media_type;
		memcpy(descs[i].digest, info.digest, OCI_DIGEST_SIZE);
		descs[i].size = info.size;
	}
	json_object_set_new(config, "rootfs",
			    json_pack("{s:s,s:o}", "type", "layers", "diff_ids", diff_ids));
	json_object_set_new(config, "history", history);
	struct oci_descriptor config_desc, manifest_desc;
	test_put_json(store, config, OCI_MEDIA_TYPE_CONFIG, &config_desc);
	json_decref(config);
	json_t *ann = manifest_annotations ? json_loads(manifest_annotations, 0, &jerr) : NULL;
	json_t *manifest = oci_manifest_build(&config_desc, descs, n_layers, ann);
	json_decref(ann);
	test_put_json(store, manifest, OCI_MEDIA_TYPE_MANIFEST, &manifest_desc);
	json_decref(manifest);
	struct petra_error *err = NULL;
	assert_int_equal(petra_store_set_ref(store, name, &manifest_desc, &err), 0);
	oci_descriptor_release(&config_desc);
	oci_descriptor_release(&manifest_desc);
	free(descs);
}

static inline void test_build_image(struct petra_store *store, const char *name,
				    const struct test_layer *layers, size_t n_layers,
				    const char *config_json)
{
	test_build_image_annotated(store, name, layers, n_layers, config_json, NULL);
}

#endif
