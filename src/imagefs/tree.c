/* SPDX-License-Identifier: Apache-2.0 */
/* The merged tree: layers applied in order onto nodes that remember every
 * version, as layer_apply would apply them onto a directory. */
#include "internal.h"

#include <archive_entry.h>
#include <string.h>

#define DEFAULT_CAPTURE_MAX (1u << 20)

/* ---- nodes: a hash table keyed by (parent, name) ---- */

static uint64_t child_hash(const struct imagefs_node *parent, const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)(uintptr_t)parent * 0x9E3779B97F4A7C15ull);
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void table_insert(struct imagefs *fs, struct imagefs_node *n)
{
	size_t mask = fs->n_slots - 1;
	size_t i = child_hash(n->parent, n->name, strlen(n->name)) & mask;
	while (fs->slots[i])
		i = (i + 1) & mask;
	fs->slots[i] = n;
}

static void table_grow(struct imagefs *fs)
{
	struct imagefs_node **old = fs->slots;
	size_t old_n = fs->n_slots;
	fs->n_slots = old_n ? old_n * 2 : 1024;
	fs->slots = xcalloc(fs->n_slots, sizeof(*fs->slots));
	for (size_t i = 0; i < old_n; i++)
		if (old[i])
			table_insert(fs, old[i]);
	free(old);
}

static struct imagefs_node *find_child(const struct imagefs *fs, const struct imagefs_node *parent,
				       const char *name, size_t len)
{
	if (!fs->n_slots)
		return NULL;
	size_t mask = fs->n_slots - 1;
	for (size_t i = child_hash(parent, name, len) & mask; fs->slots[i]; i = (i + 1) & mask) {
		struct imagefs_node *n = fs->slots[i];
		if (n->parent == parent && !strncmp(n->name, name, len) && !n->name[len])
			return n;
	}
	return NULL;
}

static struct imagefs_node *add_child(struct imagefs *fs, struct imagefs_node *parent,
				      const char *name, size_t len)
{
	if ((fs->n_nodes + 1) * 2 > fs->n_slots)
		table_grow(fs);
	struct imagefs_node *n = arena_alloc(&fs->arena, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->name = arena_strndup(&fs->arena, name, len);
	n->parent = parent;
	/* Appended, so children stay in the order a layer listed them. */
	struct imagefs_node **tail = &parent->children;
	if (parent->last_child)
		tail = &parent->last_child->next;
	*tail = n;
	parent->last_child = n;
	fs->n_nodes++;
	table_insert(fs, n);
	return n;
}

struct imagefs_node *imagefs_lookup(const struct imagefs *fs, const char *path)
{
	const struct imagefs_node *n = &fs->root;
	while (*path && n) {
		size_t len = strcspn(path, "/");
		n = find_child(fs, n, path, len);
		path += len;
		while (*path == '/')
			path++;
	}
	return (struct imagefs_node *)n;
}

void imagefs_node_path(const struct imagefs_node *node, struct strbuf *sb)
{
	strbuf_reset(sb);
	strbuf_addstr(sb, "");
	size_t depth = 0;
	for (const struct imagefs_node *n = node; n->parent; n = n->parent)
		depth++;
	if (!depth)
		return;
	const struct imagefs_node **chain = xmalloc(depth * sizeof(*chain));
	size_t i = depth;
	for (const struct imagefs_node *n = node; n->parent; n = n->parent)
		chain[--i] = n;
	for (i = 0; i < depth; i++) {
		if (i)
			strbuf_addch(sb, '/');
		strbuf_addstr(sb, chain[i]->name);
	}
	free(chain);
}

/* ---- hiding ---- */

static void hide_version(struct imagefs *fs, struct imagefs_version *v, uint32_t layer,
			 enum imagefs_hidden how)
{
	v->hidden_by = layer;
	v->hidden_how = (uint8_t)how;
	if (v->type == IMAGEFS_REG) {
		fs->hidden_bytes += v->size;
		fs->hidden_files++;
	}
}

/* Hide what lower layers than `layer` show at n and below; the bytes that
 * were visible there (dive's size of a removed tree). *count (may be
 * NULL) counts the versions hidden. */
static uint64_t hide_subtree(struct imagefs *fs, struct imagefs_node *n, uint32_t layer,
			     enum imagefs_hidden how, size_t *count)
{
	uint64_t size = 0;
	struct imagefs_version *v = n->top;
	if (imagefs_version_visible(v) && v->layer < layer) {
		hide_version(fs, v, layer, how);
		size += v->size;
		if (count)
			(*count)++;
	}
	for (struct imagefs_node *c = n->children; c; c = c->next)
		size += hide_subtree(fs, c, layer, how, count);
	return size;
}

/* ---- building ---- */

struct builder {
	struct imagefs *fs;
	const struct imagefs_build_options *o;
	const struct imagefs_hooks *hooks;
	uint32_t layer;
	struct imagefs_layer *stats;
	struct strbuf capture_buf;
};

/* The node for path, creating missing parents. A parent that lower
 * layers made a non-directory becomes a directory again: its old version
 * is replaced. */
static struct imagefs_node *node_for(struct builder *b, const char *path)
{
	struct imagefs *fs = b->fs;
	struct imagefs_node *n = &fs->root;
	while (*path) {
		size_t len = strcspn(path, "/");
		struct imagefs_node *c = find_child(fs, n, path, len);
		if (!c)
			c = add_child(fs, n, path, len);
		path += len;
		while (*path == '/')
			path++;
		struct imagefs_version *v = c->top;
		if (*path && imagefs_version_visible(v) && v->type != IMAGEFS_DIR &&
		    v->layer < b->layer)
			hide_version(fs, v, b->layer, IMAGEFS_HIDDEN_REPLACED);
		n = c;
	}
	return n;
}

static uint32_t entry_mode(struct archive_entry *ae)
{
	return (uint32_t)(archive_entry_mode(ae) & 07777);
}

static int add_entry(struct builder *b, const char *path, struct archive_entry *ae,
		     struct imagefs_version **out, struct petra_error **err)
{
	struct imagefs *fs = b->fs;
	struct imagefs_node *n = node_for(b, path);
	enum imagefs_type type = imagefs_type_of(ae);
	struct imagefs_version *old = n->top;
	if (old && old->layer == b->layer && old->hidden_by == IMAGEFS_NO_LAYER) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL, "%s: duplicate entry", q);
	}
	if (imagefs_version_visible(old))
		hide_version(fs, old, b->layer, IMAGEFS_HIDDEN_REPLACED);
	/* A non-directory over a directory removes what was below it. */
	if (type != IMAGEFS_DIR)
		for (struct imagefs_node *c = n->children; c; c = c->next)
			hide_subtree(fs, c, b->layer, IMAGEFS_HIDDEN_PARENT_REPLACED, NULL);
	struct imagefs_version *v = arena_alloc(&fs->arena, sizeof(*v));
	memset(v, 0, sizeof(*v));
	v->below = old;
	v->node = n;
	v->layer = b->layer;
	v->hidden_by = IMAGEFS_NO_LAYER;
	v->type = (uint8_t)type;
	v->mode = entry_mode(ae);
	v->uid = (uint32_t)archive_entry_uid(ae);
	v->gid = (uint32_t)archive_entry_gid(ae);
	v->mtime = (int64_t)archive_entry_mtime(ae);
	v->xattrs = archive_entry_xattr_count(ae) > 0;
	if (type == IMAGEFS_REG && archive_entry_size(ae) > 0)
		v->size = (uint64_t)archive_entry_size(ae);
	if (type == IMAGEFS_SYMLINK && archive_entry_symlink(ae)) {
		const char *t = archive_entry_symlink(ae);
		v->link = arena_strndup(&fs->arena, t, strlen(t));
	} else if (type == IMAGEFS_HARDLINK) {
		_cleanup_free_ char *target = NULL;
		int r = layer_clean_path(archive_entry_hardlink(ae), &target, err);
		if (r < 0) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_prefix(err, "%s: hardlink target", q);
		}
		v->link = arena_strndup(&fs->arena, target, strlen(target));
	}
	n->top = v;
	imagefs_dive_touch(fs, n, b->layer, v->size);
	b->stats->entries++;
	b->stats->file_bytes += v->size;
	*out = v;
	return 0;
}

static struct capture *capture_slot(struct builder *b, const char *path)
{
	for (size_t i = 0; i < b->fs->n_captures; i++)
		if (!strcmp(b->fs->captures[i].path, path))
			return &b->fs->captures[i];
	return NULL;
}

static int read_data(struct builder *b, struct layer_reader *reader, bool hook, struct capture *cap,
		     struct petra_error **err)
{
	strbuf_reset(&b->capture_buf);
	for (;;) {
		const void *data;
		size_t len;
		int64_t offset;
		int r = layer_reader_data_block(reader, &data, &len, &offset, err);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (hook && len) {
			r = b->hooks->data(b->hooks->ctx, data, len, err);
			if (r < 0)
				return r;
		}
		if (cap) {
			/* Holes of sparse files read as zeros. */
			while (b->capture_buf.len < (size_t)offset)
				strbuf_addch(&b->capture_buf, '\0');
			strbuf_add(&b->capture_buf, data, len);
		}
	}
	if (hook && b->hooks->entry_end) {
		int r = b->hooks->entry_end(b->hooks->ctx, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int on_entry(void *ctx, const struct imagefs_entry *e, struct petra_error **err)
{
	struct builder *b = ctx;
	struct imagefs *fs = b->fs;
	if (e->kind == IMAGEFS_ENTRY_WHITEOUT) {
		struct imagefs_node *n = imagefs_lookup(fs, e->path);
		if (n) {
			/* dive counts what a whiteout removes for a directory,
			 * nothing for a file (filetree/efficiency.go). */
			bool dir = !n->top || n->top->type == IMAGEFS_DIR;
			uint64_t size =
			    hide_subtree(fs, n, b->layer, IMAGEFS_HIDDEN_WHITEOUT, NULL);
			imagefs_dive_touch(fs, n, b->layer, dir ? size : 0);
		}
		b->stats->entries++;
		return 0;
	}
	if (e->kind == IMAGEFS_ENTRY_OPAQUE) {
		struct imagefs_node *n = imagefs_lookup(fs, e->path);
		/* dive has no notion of opaque directories: count each hidden
		 * child as a whiteout of it would be counted. */
		for (struct imagefs_node *c = n ? n->children : NULL; c; c = c->next) {
			size_t hidden = 0;
			uint64_t size =
			    hide_subtree(fs, c, b->layer, IMAGEFS_HIDDEN_OPAQUE, &hidden);
			if (hidden)
				imagefs_dive_touch(fs, c, b->layer, size);
		}
		b->stats->entries++;
		return 0;
	}
	struct imagefs_version *v = NULL;
	int r = add_entry(b, e->path, e->archive, &v, err);
	if (r < 0)
		return r;
	bool hook = false;
	if (b->hooks && b->hooks->entry) {
		r = b->hooks->entry(b->hooks->ctx, fs, v, e->path, err);
		if (r < 0)
			return r;
		hook = r > 0 && b->hooks->data;
	}
	struct capture *cap = NULL;
	if (v->type == IMAGEFS_REG && fs->n_captures && v->size <= fs->capture_max)
		cap = capture_slot(b, e->path);
	if (!hook && !cap)
		return 0;
	r = read_data(b, e->reader, hook, cap, err);
	if (r < 0) {
		_cleanup_free_ char *q = str_quote(e->path);
		return petra_error_prefix(err, "%s", q);
	}
	if (cap) {
		free(cap->data);
		cap->len = b->capture_buf.len;
		cap->data = strbuf_detach(&b->capture_buf);
		cap->version = v;
	}
	return 0;
}

int imagefs_build(struct petra_store *store, const struct image *img,
		  const struct imagefs_build_options *o, struct imagefs **out,
		  struct petra_error **err)
{
	static const struct imagefs_build_options defaults = {0};
	if (!o)
		o = &defaults;
	struct imagefs *fs = xcalloc(1, sizeof(*fs));
	fs->root.name = "";
	fs->n_layers = img->manifest.n_layers;
	fs->layers = xcalloc(fs->n_layers ? fs->n_layers : 1, sizeof(*fs->layers));
	fs->capture_max = o->capture_max ? o->capture_max : DEFAULT_CAPTURE_MAX;
	fs->n_captures = o->n_capture;
	fs->captures = xcalloc(o->n_capture ? o->n_capture : 1, sizeof(*fs->captures));
	for (size_t i = 0; i < o->n_capture; i++)
		fs->captures[i].path =
		    arena_strndup(&fs->arena, o->capture[i], strlen(o->capture[i]));
	struct builder b = {.fs = fs, .o = o, .hooks = o->hooks, .capture_buf = STRBUF_INIT};
	int r = 0;
	for (size_t i = 0; i < fs->n_layers && r == 0; i++) {
		b.layer = (uint32_t)i;
		b.stats = &fs->layers[i];
		r = imagefs_read_layer(store, img, i, o->max_ratio, o->progress, on_entry, &b,
				       &fs->layers[i].tar_bytes, err);
		if (r == 0)
			imagefs_dive_layer_end(fs, b.layer);
		if (r == 0 && b.hooks && b.hooks->layer_end)
			r = b.hooks->layer_end(b.hooks->ctx, fs, i, err);
	}
	strbuf_release(&b.capture_buf);
	if (r < 0) {
		imagefs_free(fs);
		return r;
	}
	*out = fs;
	return 0;
}

void imagefs_free(struct imagefs *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n_captures; i++)
		free(fs->captures[i].data);
	free(fs->captures);
	free(fs->slots);
	free(fs->layers);
	free(fs->touches);
	arena_release(&fs->arena);
	free(fs);
}

const struct imagefs_node *imagefs_root(const struct imagefs *fs)
{
	return &fs->root;
}

size_t imagefs_n_layers(const struct imagefs *fs)
{
	return fs->n_layers;
}

const struct imagefs_layer *imagefs_layer(const struct imagefs *fs, size_t index)
{
	return index < fs->n_layers ? &fs->layers[index] : NULL;
}

uint64_t imagefs_hidden_bytes(const struct imagefs *fs)
{
	return fs->hidden_bytes;
}

uint64_t imagefs_hidden_files(const struct imagefs *fs)
{
	return fs->hidden_files;
}

int imagefs_captured(const struct imagefs *fs, const char *path, const char **data, size_t *len)
{
	for (size_t i = 0; i < fs->n_captures; i++) {
		const struct capture *c = &fs->captures[i];
		if (strcmp(c->path, path) != 0)
			continue;
		if (!c->data || !c->version || c->version->node->top != c->version ||
		    !imagefs_version_visible(c->version))
			return 0;
		*data = c->data;
		*len = c->len;
		return 1;
	}
	return 0;
}

/* ---- visiting ---- */

static int compare_nodes(const void *a, const void *b)
{
	const struct imagefs_node *x = *(struct imagefs_node *const *)a;
	const struct imagefs_node *y = *(struct imagefs_node *const *)b;
	return strcmp(x->name, y->name);
}

static int visit(struct imagefs_node *n, struct strbuf *path, imagefs_visit_fn fn, void *ctx,
		 struct petra_error **err)
{
	size_t count = 0;
	for (struct imagefs_node *c = n->children; c; c = c->next)
		count++;
	if (!count)
		return 0;
	struct imagefs_node **sorted = xmalloc(count * sizeof(*sorted));
	size_t i = 0;
	for (struct imagefs_node *c = n->children; c; c = c->next)
		sorted[i++] = c;
	qsort(sorted, count, sizeof(*sorted), compare_nodes);
	size_t base_len = path->len;
	int r = 0;
	for (i = 0; i < count && r >= 0; i++) {
		strbuf_setlen(path, base_len);
		if (base_len)
			strbuf_addch(path, '/');
		strbuf_addstr(path, sorted[i]->name);
		r = fn(ctx, sorted[i], path->buf, err);
		if (r == 0)
			r = visit(sorted[i], path, fn, ctx, err);
	}
	strbuf_setlen(path, base_len);
	free(sorted);
	return r < 0 ? r : 0;
}

int imagefs_visit(struct imagefs *fs, imagefs_visit_fn fn, void *ctx, struct petra_error **err)
{
	struct strbuf path = STRBUF_INIT;
	strbuf_addstr(&path, "");
	int r = visit(&fs->root, &path, fn, ctx, err);
	strbuf_release(&path);
	return r;
}
