/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/imagefs: the tree's handle and dive's bookkeeping. */
#ifndef PETRA_IMAGEFS_INTERNAL_H
#define PETRA_IMAGEFS_INTERNAL_H

#include "imagefs.h"

struct capture {
	const char *path;
	const struct imagefs_version *version; /* the version data holds */
	char *data;
	size_t len;
};

/* A path a layer touched, with the size dive counts for it there. */
struct dive_touch {
	struct imagefs_node *node;
	uint64_t size;
};

struct imagefs {
	struct arena arena; /* nodes, versions, names */
	struct imagefs_node root;
	struct imagefs_node **slots; /* (parent, name) -> node, open addressing */
	size_t n_slots, n_nodes;
	struct imagefs_layer *layers;
	size_t n_layers;
	uint64_t hidden_bytes, hidden_files;
	struct capture *captures;
	size_t n_captures, capture_max;
	struct dive_touch *touches; /* the current layer's */
	size_t n_touches, alloc_touches;
};

/* A layer wrote (or removed) node; size as dive counts it. */
void imagefs_dive_touch(struct imagefs *fs, struct imagefs_node *node, uint32_t layer,
			uint64_t size);
/* The layer is read: its leaves count. */
void imagefs_dive_layer_end(struct imagefs *fs, uint32_t layer);

#endif
