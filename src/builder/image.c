/* SPDX-License-Identifier: Apache-2.0 */
/* Squashing, a step kind: the build's layers merged into one, in
 * overlay format, on top of the base's. */
#include "step.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

/* The key: the stage's and "squash" (set by the caller). The text says
 * how many layers, the history entry too. */
static int squash_prepare(struct builder_step *s, struct petra_error **err)
{
	(void)err;
	size_t n_new = s->state->n_layers - s->stage->n_base_layers;
	s->created_by = xasprintf("petra build --squash (%zu layers)", n_new);
	return 0;
}

/* The build's layers merged, in overlay format, into the view; the state
 * keeps the base's layers only, and the engine adds the view as one. */
static int squash_apply(struct builder_step *s, struct builder_view *v, struct petra_error **err)
{
	struct builder_session *b = s->session;
	struct builder_state *st = s->state;
	size_t first = s->stage->n_base_layers;
	_cleanup_close_ int dst = open(v->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dst < 0 ? petra_error_set_errno(err, errno, "open %s", v->upper) : 0;
	for (size_t i = first; r == 0 && i < st->n_layers; i++) {
		struct builder_layer *l = &st->layers[i];
		if (!l->dir)
			r = rootfs_ensure_layer(b->store, &l->desc, l->diff_id, &l->dir, err);
		_cleanup_close_ int src =
		    r < 0 ? -1 : open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && src < 0)
			r = petra_error_set_errno(err, errno, "open %s", l->dir);
		if (r == 0)
			r = rootfs_merge_layer(src, dst, ROOTFS_MERGE_OVERLAY, err);
	}
	if (r < 0)
		return petra_error_prefix(err, "squash");
	for (size_t i = first; i < st->n_layers; i++) {
		oci_descriptor_release(&st->layers[i].desc);
		free(st->layers[i].dir);
	}
	st->n_layers = first;
	json_t *ids = json_object_get(json_object_get(st->config, "rootfs"), "diff_ids");
	while (json_array_size(ids) > first)
		json_array_remove(ids, first);
	/* The history after the base's describes no layer any more. */
	json_t *history = json_object_get(st->config, "history");
	size_t i;
	json_t *h;
	json_array_foreach(history, i, h) if (i >= s->stage->n_base_history)
	    json_object_set_new(h, "empty_layer", json_true());
	return 0;
}

const struct builder_step_kind builder_kind_squash = {
    .name = "squash",
    .flags = BUILDER_STEP_ALWAYS_LAYER,
    .view = BUILDER_VIEW_EMPTY,
    .prepare = squash_prepare,
    .apply = squash_apply,
};
