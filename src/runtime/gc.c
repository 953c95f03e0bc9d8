/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection that spares the layers of containers. */
#include "internal.h"

#include <string.h>

int runtime_collect_garbage(struct petra_store *store, const char *run_dir, bool dry_run,
			    struct rootfs_gc_result *result, struct petra_error **err)
{
	memset(result, 0, sizeof(*result));
	struct runtime_container *list = NULL;
	size_t n = 0;
	/* The containers first: without them, nothing is removed. */
	if (runtime_list(run_dir, &list, &n, err) < 0)
		return petra_error_prefix(err, "list containers");
	_cleanup_strset_ struct strset in_use = STRSET_INIT;
	for (size_t i = 0; i < n; i++) {
		json_t *ids = json_object_get(list[i].state, "diff_ids");
		for (size_t k = 0; k < json_array_size(ids); k++) {
			const char *id = json_string_value(json_array_get(ids, k));
			if (id)
				strset_add(&in_use, id);
		}
	}
	runtime_containers_free(list, n);
	return rootfs_collect_garbage(store, &in_use, dry_run, result, err);
}
