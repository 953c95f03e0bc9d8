/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection for prune and rmi: blobs, then extracted layers. */
#include "cli.h"

#include <string.h>

#include "rootfs/rootfs.h"
#include "runtime/runtime.h"

/* diff_ids of every image named in the store. */
static int keep_image_layers(struct petra_store *store, struct strset *keep,
			     struct petra_error **err)
{
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	int r = petra_store_list(store, &entries, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct image img;
		r = image_load(store, entries[i].desc.digest, &img, err);
		if (r < 0) {
			petra_error_prefix(err, "image %s",
					   entries[i].name ? entries[i].name
							   : entries[i].desc.digest);
			break;
		}
		for (size_t k = 0; k < img.config.diff_ids.n; k++)
			strset_add(keep, img.config.diff_ids.v[k]);
		image_release(&img);
	}
	petra_store_entries_free(entries, n);
	return r;
}

/* diff_ids of every container: their layers are mounted, or will be again. */
static int keep_container_layers(struct strset *keep, struct petra_error **err)
{
	_cleanup_free_ char *run_dir = runtime_default_run_dir();
	struct runtime_container *list = NULL;
	size_t n = 0;
	int r = runtime_list(run_dir, &list, &n, err);
	if (r < 0)
		return petra_error_prefix(err, "list containers");
	for (size_t i = 0; i < n; i++) {
		json_t *ids = json_object_get(list[i].state, "diff_ids");
		for (size_t k = 0; k < json_array_size(ids); k++) {
			const char *id = json_string_value(json_array_get(ids, k));
			if (id)
				strset_add(keep, id);
		}
	}
	runtime_containers_free(list, n);
	return 0;
}

int cli_collect_garbage(struct petra_store *store, bool dry_run, struct cli_gc_result *result,
			struct petra_error **err)
{
	memset(result, 0, sizeof(*result));
	int r = petra_store_prune(store, dry_run, &result->blobs, &result->bytes, err);
	if (r < 0)
		return r;
	_cleanup_strset_ struct strset keep = STRSET_INIT;
	r = keep_image_layers(store, &keep, err);
	if (r == 0)
		r = keep_container_layers(&keep, err);
	/* Without a complete picture, keep every extracted layer. */
	if (r < 0)
		return petra_error_prefix(err, "prune extracted layers");
	return rootfs_prune(store, &keep, dry_run, &result->layers, err);
}
