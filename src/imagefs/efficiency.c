/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dive's efficiency measure (wagoodman/dive, filetree/efficiency.go and
 * image/analysis.go), computed while the layers stream by: for every path
 * that is a leaf of a layer's own tree (a file, an empty directory, a
 * whiteout), that layer adds the entry's size (a whiteout: the size of
 * what it removed) to the path's total, and the path's smallest such
 * size is what it really needs. Score: sum of smallest / sum of totals.
 * Wasted bytes: the whole total of every path touched by more than one
 * layer. A 50 MB file copied twice wastes 100 MB in dive's eyes.
 */
#include "internal.h"

#include <string.h>

void imagefs_dive_touch(struct imagefs *fs, struct imagefs_node *node, uint32_t layer,
			uint64_t size)
{
	uint32_t mark = layer + 1;
	xgrow((void **)&fs->touches, &fs->alloc_touches, fs->n_touches + 1, sizeof(*fs->touches));
	fs->touches[fs->n_touches++] = (struct dive_touch){node, size};
	node->dive_mark = mark;
	/* In this layer's own tree every parent has a child: not a leaf. */
	for (struct imagefs_node *p = node->parent; p && p->dive_child_mark != mark; p = p->parent)
		p->dive_child_mark = mark;
}

void imagefs_dive_layer_end(struct imagefs *fs, uint32_t layer)
{
	uint32_t mark = layer + 1;
	/* Newest touch first: a path touched twice in one layer (an opaque
	 * directory hiding it, then an entry) is one node of that layer. */
	for (size_t i = fs->n_touches; i-- > 0;) {
		struct imagefs_node *n = fs->touches[i].node;
		if (n->dive_mark != mark)
			continue;
		n->dive_mark = 0;
		if (n->dive_child_mark == mark)
			continue;
		uint64_t size = fs->touches[i].size;
		if (!n->dive_count || size < n->dive_min)
			n->dive_min = size;
		n->dive_total += size;
		n->dive_count++;
		n->dive_last = layer;
	}
	fs->n_touches = 0;
}

static int compare_waste(const void *a, const void *b)
{
	const struct imagefs_waste *x = a, *y = b;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->last_layer < y->last_layer ? -1 : x->last_layer > y->last_layer;
}

void imagefs_efficiency(const struct imagefs *fs, size_t base_layers, struct imagefs_efficiency *e)
{
	memset(e, 0, sizeof(*e));
	uint64_t minimum = 0, discovered = 0;
	size_t alloc = 0;
	for (size_t i = 0; i < fs->n_slots; i++) {
		const struct imagefs_node *n = fs->slots[i];
		if (!n || !n->dive_count)
			continue;
		minimum += n->dive_min;
		discovered += n->dive_total;
		if (n->dive_count < 2)
			continue;
		e->wasted_bytes += n->dive_total;
		xgrow((void **)&e->waste, &alloc, e->n_waste + 1, sizeof(*e->waste));
		e->waste[e->n_waste++] = (struct imagefs_waste){
		    .node = n,
		    .total = n->dive_total,
		    .min = n->dive_min,
		    .count = n->dive_count,
		    .last_layer = n->dive_last,
		};
	}
	if (e->n_waste)
		qsort(e->waste, e->n_waste, sizeof(*e->waste), compare_waste);
	e->score = discovered ? (double)minimum / (double)discovered : 1.0;
	for (size_t i = base_layers; i < fs->n_layers; i++)
		e->user_bytes += fs->layers[i].file_bytes;
	e->wasted_share = e->user_bytes ? (double)e->wasted_bytes / (double)e->user_bytes : 0.0;
}

void imagefs_efficiency_release(struct imagefs_efficiency *e)
{
	free(e->waste);
	memset(e, 0, sizeof(*e));
}
