/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hardening. The first pass (imagefs) gives the merged tree; each node
 * then gets flags, bottom up: is it in the final filesystem, is it there
 * at the end of the kept (base) layers. Top down, each node is given what
 * the new layer must hold for it: an entry (anything from the squashed
 * layers; a base file whose owner or mode must change), a whiteout
 * (there in the base, gone in the end), or nothing. The second pass
 * writes that layer.
 */
#include "harden.h"

#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <string.h>

#include "audit/audit.h"
#include "imagefs/imagefs.h"
#include "lineage/lineage.h"
#include "rootfs/rootfs.h"

#define DEFAULT_UID           65532
#define DEFAULT_WRITABLE_SIZE (64u << 20)

/* Flags kept in imagefs_node.user. */
enum {
	N_PRESENT = 1 << 0,  /* in the final filesystem */
	N_DIR = 1 << 1,      /* ... as a directory */
	N_BASE = 1 << 2,     /* there at the end of the kept layers */
	N_EMIT = 1 << 3,     /* an entry in the new layer */
	N_WHITEOUT = 1 << 4, /* a whiteout in the new layer */
	N_OPAQUE = 1 << 5,   /* an opaque marker after its entry */
	N_WRITABLE = 1 << 6, /* a writable path: empty, the runtime user's */
	N_IMPLICIT = 1 << 7, /* a directory no visible entry wrote */
	N_DONE = 1 << 8,     /* a file whose content is written */
};

int harden_squash_parse(const char *text, enum harden_squash *out, struct petra_error **err)
{
	if (!strcmp(text, "app"))
		*out = HARDEN_SQUASH_APP;
	else if (!strcmp(text, "all"))
		*out = HARDEN_SQUASH_ALL;
	else if (!strcmp(text, "none"))
		*out = HARDEN_SQUASH_NONE;
	else
		return petra_error_set(err, EINVAL, "unknown squash \"%s\" (app, all or none)",
				       text);
	return 0;
}

const char *harden_squash_name(enum harden_squash s)
{
	return s == HARDEN_SQUASH_ALL ? "all" : s == HARDEN_SQUASH_NONE ? "none" : "app";
}

void harden_result_release(struct harden_result *r)
{
	strvec_clear(&r->notes);
	memset(r, 0, sizeof(*r));
}

struct hardener {
	struct petra_store *store;
	const struct image *img;
	const struct harden_options *o;
	struct harden_result *res;
	struct imagefs *fs;
	size_t keep; /* layers kept as they are */
	size_t base; /* layers from the base (recorded in the label) */
	uid_t uid;
	gid_t gid;
	struct image_writable_path *writable;
	size_t n_writable;
	struct strset writable_set; /* without the leading "/" */
	struct strset strip_set;
	struct strvec stripped; /* what was removed, with "/" */
	struct petra_error *error;
	uint64_t *files; /* per layer: files to copy from it */
	uint64_t files_written;
	struct strvec hardlinks; /* emitted hardlinks, written last */
	struct layer_writer *w;
	int64_t default_mtime;
};

/* ---- deciding ---- */

/* The version the kept layers end with at n, if they show one. */
static const struct imagefs_version *base_version(const struct imagefs_node *n, size_t keep)
{
	for (const struct imagefs_version *v = n->top; v; v = v->below)
		if (v->layer < keep)
			return v->hidden_by == IMAGEFS_NO_LAYER || v->hidden_by >= keep ? v : NULL;
	return NULL;
}

static uint32_t normal_mode(const struct hardener *h, const struct imagefs_version *v)
{
	switch (v->type) {
	case IMAGEFS_DIR:
		return 0755;
	case IMAGEFS_SYMLINK:
		return 0777;
	case IMAGEFS_REG:
	case IMAGEFS_HARDLINK:
		return ((v->mode & 0111) ? 0755 : 0644) | (h->o->keep_setuid ? v->mode & 06000 : 0);
	default:
		return 0644;
	}
}

/* Does a kept version need an entry to correct it? */
static bool needs_fix(const struct hardener *h, const struct imagefs_version *v)
{
	if (v->uid || v->gid)
		return true;
	if (v->type == IMAGEFS_SYMLINK)
		return false;
	/* Capabilities are privileges like setuid: dropped with them. */
	if (v->xattrs && !h->o->keep_setuid && v->type == IMAGEFS_REG)
		return true;
	return v->mode != normal_mode(h, v);
}

static void note_removed(struct hardener *h, const char *path, const char *why)
{
	strvec_pushf(&h->stripped, "/%s", path);
	h->res->removed++;
	log_info("removing /%s (%s)", path, why);
}

/* Bottom up: present, directory, base; removals. */
static void decide(struct hardener *h, struct imagefs_node *n, struct strbuf *path,
		   bool removed_above)
{
	uintptr_t f = 0;
	const struct imagefs_version *v = imagefs_node_visible(n);
	bool removed = removed_above;
	bool writable = n->parent && strset_contains(&h->writable_set, path->buf);
	if (!removed && v && n->parent) {
		if (v->type == IMAGEFS_CHAR || v->type == IMAGEFS_BLOCK) {
			removed = true;
			note_removed(h, path->buf, "a device node");
		} else if (strset_contains(&h->strip_set, path->buf)) {
			removed = true;
			note_removed(h, path->buf, "--strip");
		} else if (h->o->strip_shells && v->type != IMAGEFS_DIR &&
			   audit_program_kind(path->buf) != AUDIT_PROGRAM_OTHER) {
			removed = true;
			note_removed(h, path->buf, "--strip-shells");
		}
	}
	if (writable && !removed && v && v->type != IMAGEFS_DIR && !h->error)
		petra_error_set(&h->error, EINVAL,
				"writable path /%s is a %s in the image, not a directory",
				path->buf, imagefs_type_name(v->type));
	bool child_present = false, child_base = false, child_seen = false;
	size_t len = path->len;
	for (struct imagefs_node *c = n->children; c; c = c->next) {
		if (len)
			strbuf_addch(path, '/');
		strbuf_addstr(path, c->name);
		decide(h, c, path, removed || writable);
		strbuf_setlen(path, len);
		child_present |= (c->user & N_PRESENT) != 0;
		child_base |= (c->user & N_BASE) != 0;
		child_seen |= imagefs_node_visible(c) != NULL;
	}
	if (base_version(n, h->keep) || child_base)
		f |= N_BASE;
	if (!n->parent) {
		f |= N_PRESENT | N_DIR;
	} else if (!removed && writable) {
		if ((v && v->type == IMAGEFS_DIR) || (!v && child_seen))
			f |= N_PRESENT | N_DIR | N_WRITABLE | N_EMIT | (child_base ? N_OPAQUE : 0);
	} else if (!removed && v) {
		f |= N_PRESENT | (v->type == IMAGEFS_DIR ? N_DIR : 0);
	} else if (!removed && child_present) {
		f |= N_PRESENT | N_DIR | N_IMPLICIT;
	}
	n->user = f;
}

/* Top down: what the new layer holds for each node. */
static void plan(struct hardener *h, struct imagefs_node *n, uintptr_t parent, struct strbuf *path)
{
	uintptr_t f = n->user;
	if (n->parent && !(f & N_PRESENT)) {
		/* Gone: a whiteout if the kept layers show it and nothing
		 * above (an opaque directory, a removed parent) hides it. */
		if ((f & N_BASE) && (parent & N_DIR) && !(parent & N_WRITABLE))
			n->user = f | N_WHITEOUT;
		return;
	}
	const struct imagefs_version *v = imagefs_node_visible(n);
	if (!n->parent || (f & N_WRITABLE)) {
		/* the root is never an entry; a writable path is decided */
	} else if (f & N_IMPLICIT) {
		/* The kept layers made it implicitly too: nothing to say. */
		if (!((f & N_BASE) && !base_version(n, h->keep)))
			f |= N_EMIT;
	} else if (v->layer >= h->keep || needs_fix(h, v)) {
		f |= N_EMIT;
	}
	if ((f & N_EMIT) && v && v->type == IMAGEFS_REG)
		h->files[v->layer]++;
	if (v && v->type == IMAGEFS_HARDLINK)
		strvec_push(&h->hardlinks, path->buf);
	n->user = f;
	if (f & N_WRITABLE)
		return;
	size_t len = path->len;
	for (struct imagefs_node *c = n->children; c; c = c->next) {
		if (len)
			strbuf_addch(path, '/');
		strbuf_addstr(path, c->name);
		plan(h, c, f, path);
		strbuf_setlen(path, len);
	}
}

/* A hardlink and its target are one file: when either needs an entry,
 * both get one, in the new layer (a hardlink never points into another
 * layer, which an overlay of extracted layers could not show). */
static void plan_hardlinks(struct hardener *h)
{
	struct strvec keep = STRVEC_INIT;
	for (size_t i = 0; i < h->hardlinks.n; i++) {
		struct imagefs_node *n = imagefs_lookup(h->fs, h->hardlinks.v[i]);
		const struct imagefs_version *v = imagefs_node_visible(n);
		struct imagefs_node *t = imagefs_lookup(h->fs, v->link);
		const struct imagefs_version *tv = t ? imagefs_node_visible(t) : NULL;
		if (!tv || tv->type != IMAGEFS_REG || !(t->user & N_PRESENT)) {
			/* Its target is gone: so is it. */
			note_removed(h, h->hardlinks.v[i], "a hardlink to a removed file");
			n->user &= ~(uintptr_t)(N_PRESENT | N_EMIT);
			if (n->user & N_BASE)
				n->user |= N_WHITEOUT;
			continue;
		}
		if (!((n->user | t->user) & N_EMIT))
			continue;
		n->user |= N_EMIT;
		if (!(t->user & N_EMIT)) {
			t->user |= N_EMIT;
			h->files[tv->layer]++;
		}
		strvec_push(&keep, h->hardlinks.v[i]);
	}
	strvec_clear(&h->hardlinks);
	h->hardlinks = keep;
}

/* ---- writing ---- */

static int add_metadata(struct hardener *h, const char *path, unsigned type, uint32_t mode,
			uid_t uid, gid_t gid, int64_t mtime, const char *link,
			struct petra_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, mode);
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
	archive_entry_set_mtime(e, (time_t)mtime, 0);
	if (type == AE_IFREG && link) {
		archive_entry_set_hardlink(e, link);
		archive_entry_set_size(e, 0);
	} else if (link) {
		archive_entry_set_symlink(e, link);
	}
	int r = layer_writer_add_entry(h->w, e, NULL, 0, err);
	archive_entry_free(e);
	if (r == 0)
		h->res->entries++;
	return r;
}

static const struct image_writable_path *writable_entry(const struct hardener *h, const char *path)
{
	for (size_t i = 0; i < h->n_writable; i++)
		if (!strcmp(h->writable[i].path + 1, path))
			return &h->writable[i];
	return NULL;
}

/* Directories, symlinks, fifos, whiteouts: everything without content,
 * from the tree, in sorted order. */
static int write_tree_entry(void *ctx, struct imagefs_node *n, const char *path,
			    struct petra_error **err)
{
	struct hardener *h = ctx;
	uintptr_t f = n->user;
	if (f & N_WHITEOUT) {
		h->res->entries++;
		return layer_writer_add_whiteout(h->w, path, err) < 0 ? -EIO : 1;
	}
	if (!(f & N_PRESENT))
		return 1;
	if (!(f & N_EMIT))
		return 0;
	const struct imagefs_version *v = imagefs_node_visible(n);
	int r = 0;
	if (f & N_WRITABLE) {
		const struct image_writable_path *wp = writable_entry(h, path);
		r = add_metadata(h, path, AE_IFDIR, wp && wp->mode ? wp->mode : 0755, h->uid,
				 h->gid, v ? v->mtime : h->default_mtime, NULL, err);
		if (r == 0 && (f & N_OPAQUE))
			r = layer_writer_add_opaque(h->w, path, err);
		return r < 0 ? r : 1;
	}
	if (f & N_IMPLICIT)
		return add_metadata(h, path, AE_IFDIR, 0755, 0, 0, h->default_mtime, NULL, err);
	switch (v->type) {
	case IMAGEFS_DIR:
		r = add_metadata(h, path, AE_IFDIR, 0755, 0, 0, v->mtime, NULL, err);
		break;
	case IMAGEFS_SYMLINK:
		r = add_metadata(h, path, AE_IFLNK, 0777, 0, 0, v->mtime, v->link, err);
		break;
	case IMAGEFS_FIFO:
		r = add_metadata(h, path, AE_IFIFO, normal_mode(h, v), 0, 0, v->mtime, NULL, err);
		break;
	default:
		break; /* files and hardlinks come later */
	}
	return r;
}

struct copy_ctx {
	struct hardener *h;
	uint32_t layer;
	char *buf;
};

static void strip_capabilities(struct archive_entry *e)
{
	struct strvec names = STRVEC_INIT;
	struct {
		const void *value;
		size_t size;
	} *values = NULL;
	size_t n = 0, alloc = 0;
	const char *name;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!strcmp(name, "security.capability"))
			continue;
		strvec_push(&names, name);
		xgrow((void **)&values, &alloc, n + 1, sizeof(*values));
		values[n].value = value;
		values[n].size = size;
		n++;
	}
	/* The values are the entry's until it is cleared: copy them out. */
	void **copies = xcalloc(n ? n : 1, sizeof(*copies));
	for (size_t i = 0; i < n; i++) {
		copies[i] = xmalloc(values[i].size ? values[i].size : 1);
		memcpy(copies[i], values[i].value, values[i].size);
	}
	archive_entry_xattr_clear(e);
	for (size_t i = 0; i < n; i++) {
		archive_entry_xattr_add_entry(e, names.v[i], copies[i], values[i].size);
		free(copies[i]);
	}
	free(copies);
	free(values);
	strvec_clear(&names);
}

static int copy_file(void *ctx, const struct imagefs_entry *e, struct petra_error **err)
{
	struct copy_ctx *c = ctx;
	struct hardener *h = c->h;
	if (e->kind != IMAGEFS_ENTRY || imagefs_type_of(e->archive) != IMAGEFS_REG)
		return 0;
	struct imagefs_node *n = imagefs_lookup(h->fs, e->path);
	const struct imagefs_version *v = n ? imagefs_node_visible(n) : NULL;
	if (!v || v->layer != c->layer || !(n->user & N_EMIT) || (n->user & N_DONE))
		return 0;
	struct archive_entry *out = archive_entry_clone(e->archive);
	archive_entry_set_pathname(out, e->path);
	archive_entry_set_uid(out, 0);
	archive_entry_set_gid(out, 0);
	archive_entry_set_perm(out, normal_mode(h, v));
	archive_entry_sparse_clear(out);
	if (!h->o->keep_setuid)
		strip_capabilities(out);
	int r = layer_writer_add_entry(h->w, out, NULL, 0, err);
	archive_entry_free(out);
	uint64_t written = 0;
	while (r == 0) {
		const void *data;
		size_t len;
		int64_t offset;
		int got = layer_reader_data_block(e->reader, &data, &len, &offset, err);
		if (got < 0)
			r = got;
		if (got <= 0)
			break;
		/* Holes of sparse files become zeros. */
		while (r == 0 && written < (uint64_t)offset) {
			size_t zeros = (uint64_t)offset - written < (1u << 16)
					   ? (size_t)((uint64_t)offset - written)
					   : (1u << 16);
			r = layer_writer_add_data(h->w, c->buf, zeros, err);
			written += zeros;
		}
		if (r == 0)
			r = layer_writer_add_data(h->w, data, len, err);
		written += len;
	}
	while (r == 0 && written < v->size) {
		size_t zeros =
		    v->size - written < (1u << 16) ? (size_t)(v->size - written) : (1u << 16);
		r = layer_writer_add_data(h->w, c->buf, zeros, err);
		written += zeros;
	}
	if (r < 0) {
		_cleanup_free_ char *q = str_quote(e->path);
		return petra_error_prefix(err, "%s", q);
	}
	n->user |= N_DONE;
	h->files_written++;
	h->res->entries++;
	return 0;
}

static int write_layer(struct hardener *h, struct layer_info *info, struct petra_error **err)
{
	time_t clamp = 0;
	bool reproducible = petra_source_date_epoch(&clamp, err) == 1;
	struct layer_writer_options wo = {
	    .compression = h->o->compression,
	    .clamp_mtime = reproducible,
	    .mtime_clamp = clamp,
	};
	int r = layer_writer_new(h->store, &wo, &h->w, err);
	if (r < 0)
		return r;
	r = imagefs_visit(h->fs, write_tree_entry, h, err);
	uint64_t expected = 0;
	struct copy_ctx c = {.h = h, .buf = xcalloc(1, 1u << 16)};
	for (size_t i = 0; i < h->img->manifest.n_layers && r == 0; i++) {
		expected += h->files[i];
		if (!h->files[i])
			continue;
		c.layer = (uint32_t)i;
		r = imagefs_read_layer(h->store, h->img, i, 0, h->o->progress, copy_file, &c, NULL,
				       err);
	}
	free(c.buf);
	if (r == 0 && h->files_written != expected)
		r = petra_error_set(err, EIO,
				    "%" PRIu64 " of %" PRIu64 " files found on the second "
				    "reading of the layers",
				    h->files_written, expected);
	strvec_sort(&h->hardlinks);
	for (size_t i = 0; i < h->hardlinks.n && r == 0; i++) {
		struct imagefs_node *n = imagefs_lookup(h->fs, h->hardlinks.v[i]);
		const struct imagefs_version *v = imagefs_node_visible(n);
		struct imagefs_node *t = imagefs_lookup(h->fs, v->link);
		r = add_metadata(h, h->hardlinks.v[i], AE_IFREG,
				 normal_mode(h, imagefs_node_visible(t)), 0, 0, v->mtime, v->link,
				 err);
	}
	if (r < 0) {
		layer_writer_abort(h->w);
		return r;
	}
	return layer_writer_finish(h->w, info, err);
}

/* ---- the user and the writable paths ---- */

static int resolve_user(struct hardener *h, struct petra_error **err)
{
	const char *passwd = NULL, *group = NULL;
	size_t len;
	imagefs_captured(h->fs, "etc/passwd", &passwd, &len);
	imagefs_captured(h->fs, "etc/group", &group, &len);
	json_t *cfg = json_object_get(h->img->config.json, "config");
	const char *image_user = json_get_string(cfg, "User");
	const char *user = h->o->user ? h->o->user : image_user;
	uid_t uid = DEFAULT_UID;
	gid_t gid = DEFAULT_UID;
	if (user && *user) {
		_cleanup_free_ char *home = NULL;
		int r = rootfs_user_lookup(passwd, group, user, &uid, &gid, &home, err);
		if (r < 0)
			return petra_error_prefix(err, "%s",
						  h->o->user ? "--user" : "the image's USER");
		/* No group known: the user's own number rather than root's. */
		if (gid == 0 && !strchr(user, ':'))
			gid = uid;
		if (uid == 0 && h->o->user)
			return petra_error_set(
			    err, EINVAL,
			    "--user %s is root: a hardened image runs as another "
			    "user",
			    user);
		if (uid == 0) {
			strvec_pushf(&h->res->notes,
				     "the image's USER %s is root: the hardened image runs as %u",
				     user, DEFAULT_UID);
			uid = gid = DEFAULT_UID;
		}
	} else {
		strvec_pushf(&h->res->notes, "the image has no USER: the hardened image runs as %u",
			     DEFAULT_UID);
	}
	h->uid = uid;
	h->gid = gid;
	return 0;
}

static int writable_paths(struct hardener *h, struct petra_error **err)
{
	json_t *labels = json_object_get(json_object_get(h->img->config.json, "config"), "Labels");
	int r = image_writable_paths_parse(json_get_string(labels, IMAGE_WRITABLE_PATHS_LABEL),
					   &h->writable, &h->n_writable, err);
	if (r < 0)
		return petra_error_prefix(err, "the image's writable paths");
	for (size_t i = 0; i < h->o->n_writable; i++) {
		const struct image_writable_path *w = &h->o->writable[i];
		if (w->path[0] != '/' || strstr(w->path, "/..") || !strcmp(w->path, "/"))
			return petra_error_set(err, EINVAL,
					       "--writable %s: an absolute path below / is needed",
					       w->path);
		struct image_writable_path *slot = NULL;
		for (size_t k = 0; k < h->n_writable && !slot; k++)
			if (!strcmp(h->writable[k].path, w->path))
				slot = &h->writable[k];
		if (!slot) {
			h->writable =
			    xrealloc(h->writable, (h->n_writable + 1) * sizeof(*h->writable));
			slot = &h->writable[h->n_writable++];
			memset(slot, 0, sizeof(*slot));
			slot->path = xstrdup(w->path);
		}
		if (w->size)
			slot->size = w->size;
	}
	for (size_t i = 0; i < h->n_writable; i++) {
		struct image_writable_path *w = &h->writable[i];
		size_t len = strlen(w->path);
		while (len > 1 && w->path[len - 1] == '/')
			w->path[--len] = '\0';
		w->uid = h->uid;
		w->has_uid = true;
		if (!w->mode)
			w->mode = 0755;
		if (!w->size)
			w->size = DEFAULT_WRITABLE_SIZE;
		strset_add(&h->writable_set, w->path + 1);
	}
	return 0;
}

/* ---- the new image ---- */

static char *options_line(const struct hardener *h)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "--user %u:%u", (unsigned)h->uid, (unsigned)h->gid);
	for (size_t i = 0; i < h->n_writable; i++)
		strbuf_addf(&sb, " --writable %s:%" PRIu64, h->writable[i].path,
			    h->writable[i].size);
	if (h->o->strip_shells)
		strbuf_addstr(&sb, " --strip-shells");
	for (size_t i = 0; i < h->o->n_strip; i++)
		strbuf_addf(&sb, " --strip %s", h->o->strip[i]);
	if (h->o->keep_setuid)
		strbuf_addstr(&sb, " --keep-setuid");
	strbuf_addf(&sb, " --squash %s", harden_squash_name(h->o->squash));
	if (h->o->squash == HARDEN_SQUASH_APP)
		strbuf_addf(&sb, " --base-layers %zu", h->keep);
	return strbuf_detach(&sb);
}

static int store_document(struct petra_store *store, json_t *doc, char digest[OCI_DIGEST_SIZE],
			  int64_t *size, struct petra_error **err)
{
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(doc, &len);
	*size = (int64_t)len;
	return petra_store_put_blob(store, text, len, digest, err);
}

/* The hardened image's record: made from the input image (role
 * "harden"), with the options it was hardened with. A squashed image keeps
 * its origin this way, where its layers no longer show it. */
static int save_record(struct hardener *h, const char *name, const char *digest,
		       struct petra_error **err)
{
	struct lineage_record rec = {0};
	rec.producer = xstrdup("harden");
	rec.image_name = xstrdup(name);
	lineage_record_add_material(&rec, "harden", h->img->name ? h->img->name : NULL,
				    h->img->desc.digest);
	json_t *writable = json_array();
	for (size_t i = 0; i < h->n_writable; i++)
		json_array_append_new(writable, json_pack("{s:s,s:I}", "path", h->writable[i].path,
							  "size", (json_int_t)h->writable[i].size));
	json_t *strip = json_array();
	for (size_t i = 0; i < h->o->n_strip; i++)
		json_array_append_new(strip, json_string(h->o->strip[i]));
	_cleanup_free_ char *user = xasprintf("%u:%u", (unsigned)h->uid, (unsigned)h->gid);
	rec.parameters = json_pack(
	    "{s:s,s:o,s:b,s:o,s:b,s:s,s:I}", "user", user, "writable", writable, "stripShells",
	    h->o->strip_shells, "strip", strip, "keepSetuid", h->o->keep_setuid, "squash",
	    harden_squash_name(h->o->squash), "baseLayers", (json_int_t)h->keep);
	rec.finished = time(NULL);
	int r = lineage_record_save(h->store, digest, &rec, err);
	lineage_record_release(&rec);
	return r;
}

static int commit(struct hardener *h, const struct layer_info *layer, struct petra_error **err)
{
	const struct image *img = h->img;
	time_t now = time(NULL);
	if (petra_source_date_epoch(&now, err) < 0)
		return -EINVAL;
	char created[40];
	time_format_rfc3339(now, created, sizeof(created));
	size_t n_new = img->manifest.n_layers - h->keep;

	_cleanup_json_ json_t *config = json_deep_copy(img->config.json);
	json_object_set_new(config, "created", json_string(created));
	json_t *cfg = json_object_get(config, "config");
	if (!json_is_object(cfg)) {
		cfg = json_object();
		json_object_set_new(config, "config", cfg);
	}
	_cleanup_free_ char *user = xasprintf("%u:%u", (unsigned)h->uid, (unsigned)h->gid);
	json_object_set_new(cfg, "User", json_string(user));
	json_t *labels = json_object_get(cfg, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(cfg, "Labels", labels);
	}
	if (h->n_writable) {
		_cleanup_free_ char *value =
		    image_writable_paths_format(h->writable, h->n_writable);
		json_object_set_new(labels, IMAGE_WRITABLE_PATHS_LABEL, json_string(value));
	}
	_cleanup_free_ char *base_n = xasprintf("%zu", h->base);
	json_object_set_new(labels, AUDIT_LABEL_BASE_LAYERS, json_string(base_n));
	json_object_set_new(labels, HARDEN_LABEL_FROM, json_string(img->desc.digest));
	const char *base_digest = json_get_string(
	    json_object_get(img->manifest.json, "annotations"), AUDIT_ANNOTATION_BASE_DIGEST);
	if (base_digest && *base_digest) /* empty: built FROM scratch */
		json_object_set_new(labels, HARDEN_LABEL_BASE, json_string(base_digest));
	_cleanup_free_ char *options = options_line(h);
	json_object_set_new(labels, HARDEN_LABEL_OPTIONS, json_string(options));
	if (h->o->strip_shells)
		json_object_set_new(labels, AUDIT_LABEL_NO_SHELL, json_string("true"));
	if (h->stripped.n) {
		json_t *list = json_array();
		for (size_t i = 0; i < h->stripped.n; i++)
			json_array_append_new(list, json_string(h->stripped.v[i]));
		_cleanup_free_ char *value = json_dump_compact(list, NULL);
		json_decref(list);
		json_object_set_new(labels, HARDEN_LABEL_STRIPPED, json_string(value));
	}

	/* Layers: the kept ones, then the new one. */
	json_t *diff_ids = json_array();
	for (size_t i = 0; i < h->keep; i++)
		json_array_append_new(diff_ids, json_string(img->config.diff_ids.v[i]));
	if (h->res->added_layer)
		json_array_append_new(diff_ids, json_string(layer->diff_id));
	json_object_set_new(json_object_get(config, "rootfs"), "diff_ids", diff_ids);

	/* History: the kept layers' steps as they were; the rest is the one
	 * step that replaced them. */
	json_t *old = json_object_get(img->config.json, "history");
	json_t *history = json_array();
	size_t keep_steps = 0;
	if (h->keep == img->manifest.n_layers) {
		keep_steps = json_array_size(old);
	} else if (h->keep > 0) {
		size_t step;
		keep_steps = image_layer_step(img, h->keep - 1, &step) ? step + 1 : 0;
	}
	for (size_t i = 0; i < keep_steps; i++)
		json_array_append(history, json_array_get(old, i));
	_cleanup_free_ char *by =
	    n_new ? xasprintf("petra harden: squashed %zu layer%s", n_new, n_new == 1 ? "" : "s")
		  : xstrdup("petra harden: corrected ownership and modes");
	_cleanup_free_ char *comment = xasprintf("from %s; %s", img->desc.digest, options);
	json_t *step =
	    json_pack("{s:s,s:s,s:s}", "created", created, "created_by", by, "comment", comment);
	if (!h->res->added_layer)
		json_object_set_new(step, "empty_layer", json_true());
	json_array_append_new(history, step);
	json_object_set_new(config, "history", history);

	struct oci_descriptor config_desc = {.media_type = (char *)OCI_MEDIA_TYPE_CONFIG};
	int r = store_document(h->store, config, config_desc.digest, &config_desc.size, err);
	if (r < 0)
		return r;
	size_t n_layers = h->keep + (h->res->added_layer ? 1 : 0);
	struct oci_descriptor *layers = xcalloc(n_layers ? n_layers : 1, sizeof(*layers));
	for (size_t i = 0; i < h->keep; i++)
		layers[i] = img->manifest.layers[i]; /* borrowed */
	if (h->res->added_layer) {
		struct oci_descriptor *d = &layers[h->keep];
		d->media_type = (char *)layer->media_type;
		memcpy(d->digest, layer->digest, OCI_DIGEST_SIZE);
		d->size = layer->size;
	}
	json_t *annotations = json_deep_copy(json_object_get(img->manifest.json, "annotations"));
	if (!json_is_object(annotations)) {
		json_decref(annotations);
		annotations = json_object();
	}
	json_object_set_new(annotations, "org.opencontainers.image.created", json_string(created));
	json_t *manifest = oci_manifest_build(&config_desc, layers, n_layers, annotations);
	json_decref(annotations);
	free(layers);
	struct oci_descriptor manifest_desc = {.media_type = (char *)OCI_MEDIA_TYPE_MANIFEST};
	r = store_document(h->store, manifest, manifest_desc.digest, &manifest_desc.size, err);
	json_decref(manifest);
	if (r < 0)
		return r;
	struct oci_ref ref;
	r = oci_ref_parse(h->o->name, &ref, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *name = oci_ref_format(&ref);
	oci_ref_release(&ref);
	r = petra_store_set_ref(h->store, name, &manifest_desc, err);
	if (r == 0)
		r = save_record(h, name, manifest_desc.digest, err);
	if (r == 0)
		memcpy(h->res->digest, manifest_desc.digest, OCI_DIGEST_SIZE);
	return r;
}

static void hardener_release(struct hardener *h)
{
	imagefs_free(h->fs);
	image_writable_paths_free(h->writable, h->n_writable);
	strset_clear(&h->writable_set);
	strset_clear(&h->strip_set);
	strvec_clear(&h->stripped);
	strvec_clear(&h->hardlinks);
	petra_error_free(h->error);
	free(h->files);
}

int harden_image(struct petra_store *store, const char *ref, const struct harden_options *o,
		 struct harden_result *res, struct petra_error **err)
{
	memset(res, 0, sizeof(*res));
	if (!o->name)
		return petra_error_set(err, EINVAL, "harden %s: the new image needs a name", ref);
	struct image img;
	int r = image_load(store, ref, &img, err);
	if (r < 0)
		return r;
	struct hardener h = {.store = store, .img = &img, .o = o, .res = res};
	size_t n_layers = img.manifest.n_layers;
	const char *how = NULL;
	size_t detected = audit_base_layers(store, &img, 0, &how);
	if (o->base_layers >= 0 && (size_t)o->base_layers > n_layers)
		r = petra_error_set(err, EINVAL, "--base-layers %ld: the image has %zu layers",
				    o->base_layers, n_layers);
	size_t base = o->base_layers >= 0 ? (size_t)o->base_layers : detected;
	switch (o->squash) {
	case HARDEN_SQUASH_ALL:
		h.keep = 0;
		h.base = 0;
		break;
	case HARDEN_SQUASH_NONE:
		h.keep = n_layers;
		h.base = base;
		break;
	default:
		h.keep = h.base = base;
		if (o->base_layers < 0 && !strcmp(how, "default") && n_layers > 1)
			strvec_push(&res->notes,
				    "the image records no base: every layer was squashed "
				    "(--base-layers N keeps the first N shared)");
	}
	for (size_t i = 0; i < o->n_strip && r == 0; i++) {
		const char *p = o->strip[i];
		if (p[0] != '/' || !p[1])
			r = petra_error_set(err, EINVAL,
					    "--strip %s: an absolute path below / is needed", p);
		else
			strset_add(&h.strip_set, p + 1);
	}
	res->base_layers = h.keep;
	res->squashed_layers = n_layers - h.keep;
	h.files = xcalloc(n_layers ? n_layers : 1, sizeof(*h.files));
	static const char *const capture[] = {"etc/passwd", "etc/group"};
	struct imagefs_build_options bo = {
	    .capture = capture,
	    .n_capture = ARRAY_SIZE(capture),
	    .progress = o->progress,
	};
	if (r == 0)
		r = imagefs_build(store, &img, &bo, &h.fs, err);
	if (r == 0)
		r = resolve_user(&h, err);
	if (r == 0)
		r = writable_paths(&h, err);
	if (r == 0) {
		json_t *created = json_object_get(img.config.json, "created");
		time_t t = 0;
		if (json_is_string(created))
			time_parse_rfc3339(json_string_value(created), &t);
		h.default_mtime = t;
		struct strbuf path = STRBUF_INIT;
		struct imagefs_node *root = (struct imagefs_node *)imagefs_root(h.fs);
		decide(&h, root, &path, false);
		if (h.error) {
			r = petra_error_set(err, h.error->code, "%s", h.error->message);
		} else {
			plan(&h, root, 0, &path);
			plan_hardlinks(&h);
		}
		strbuf_release(&path);
	}
	struct layer_info info = {0};
	if (r == 0)
		r = write_layer(&h, &info, err);
	if (r == 0) {
		/* Nothing to add on top of the kept layers: no layer. */
		res->added_layer = h.keep < n_layers || res->entries > 0;
		res->uid = h.uid;
		res->gid = h.gid;
		r = commit(&h, &info, err);
	}
	hardener_release(&h);
	image_release(&img);
	if (r < 0)
		return petra_error_prefix(err, "harden %s", ref);
	return 0;
}
