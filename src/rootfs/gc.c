/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection: unreferenced blobs, then unused extracted layers. */
#include "internal.h"

#include <string.h>

/* The diff_ids of every image in the store's index. */
static int add_image_layers(struct petra_store *store, struct strset *keep,
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

int rootfs_collect_garbage(struct petra_store *store, const struct strset *in_use, bool dry_run,
			   struct rootfs_gc_result *result, struct petra_error **err)
{
	memset(result, 0, sizeof(*result));
	int r = petra_store_prune(store, dry_run, &result->blobs, &result->bytes, err);
	if (r < 0)
		return r;
	_cleanup_strset_ struct strset keep = STRSET_INIT;
	r = add_image_layers(store, &keep, err);
	/* Without a complete picture, every extracted layer is kept. */
	if (r < 0)
		return petra_error_prefix(err, "prune extracted layers");
	for (size_t i = 0; in_use && i < in_use->capacity; i++)
		if (in_use->slots[i])
			strset_add(&keep, in_use->slots[i]);
	return rootfs_prune(store, &keep, dry_run, &result->layers, err);
}
