/* SPDX-License-Identifier: Apache-2.0 */
/* rootfs internals shared by its files; not part of the API. */
#ifndef PETRA_ROOTFS_INTERNAL_H
#define PETRA_ROOTFS_INTERNAL_H

#include "layer/layer.h"
#include "rootfs.h"

/* Open a layer blob of the store for reading, checked against its digest
 * and diff_id as it is read. *fd (the blob) and *reader belong to the
 * caller. max_ratio as in layer_reader_options. */
int rootfs_open_layer(struct petra_store *store, const struct oci_descriptor *layer,
		      const char *diff_id, int max_ratio, int *fd, struct layer_reader **reader,
		      struct petra_error **err);

#endif
