/* SPDX-License-Identifier: Apache-2.0 */
/* Streaming one layer: tar entries with normalised paths and the OCI
 * whiteout markers recognised. */
#include "imagefs.h"

#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

enum imagefs_type imagefs_type_of(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return IMAGEFS_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return IMAGEFS_DIR;
	case AE_IFLNK:
		return IMAGEFS_SYMLINK;
	case AE_IFCHR:
		return IMAGEFS_CHAR;
	case AE_IFBLK:
		return IMAGEFS_BLOCK;
	case AE_IFIFO:
		return IMAGEFS_FIFO;
	default:
		return IMAGEFS_REG;
	}
}

const char *imagefs_type_name(enum imagefs_type type)
{
	static const char *const names[] = {
	    [IMAGEFS_REG] = "file",
	    [IMAGEFS_DIR] = "directory",
	    [IMAGEFS_SYMLINK] = "symlink",
	    [IMAGEFS_HARDLINK] = "hardlink",
	    [IMAGEFS_CHAR] = "character device",
	    [IMAGEFS_BLOCK] = "block device",
	    [IMAGEFS_FIFO] = "fifo",
	};
	return type < ARRAY_SIZE(names) ? names[type] : "entry";
}

/* Split a normalised path into the entry kind and the path it is about:
 * "a/.wh.b" removes "a/b", "a/.wh..wh..opq" makes "a" opaque. *out points
 * into storage (the caller frees it); NULL for aufs bookkeeping to skip. */
static int classify(const char *path, enum imagefs_entry_kind *kind, char **out,
		    struct petra_error **err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dir_len = slash ? (size_t)(slash - path) : 0;
	*kind = IMAGEFS_ENTRY;
	*out = NULL;
	if (strncmp(base, ".wh.", 4) != 0) {
		*out = xstrdup(path);
		return 0;
	}
	if (!strcmp(base, ".wh..wh..opq")) {
		*kind = IMAGEFS_ENTRY_OPAQUE;
		*out = xstrndup(path, dir_len);
		return 0;
	}
	if (!strncmp(base, ".wh..wh.", 8))
		return 0; /* aufs bookkeeping (.wh..wh.plnk and the like): meaningless */
	const char *victim = base + 4;
	if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..")) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL, "%s: whiteout names \"%s\"", q, victim);
	}
	*kind = IMAGEFS_ENTRY_WHITEOUT;
	*out = slash ? xasprintf("%.*s/%s", (int)dir_len, path, victim) : xstrdup(victim);
	return 0;
}

static int read_entries(struct layer_reader *reader, imagefs_entry_fn fn, void *ctx,
			struct petra_error **err)
{
	for (;;) {
		struct archive_entry *ae;
		int r = layer_reader_next(reader, &ae, err);
		if (r <= 0)
			return r;
		_cleanup_free_ char *clean = NULL, *path = NULL;
		r = layer_clean_path(archive_entry_pathname(ae), &clean, err);
		if (r < 0)
			return r;
		if (!*clean)
			continue; /* the root directory's own entry */
		struct imagefs_entry e = {.archive = ae, .reader = reader};
		r = classify(clean, &e.kind, &path, err);
		if (r < 0)
			return r;
		if (!path)
			continue;
		if (e.kind != IMAGEFS_ENTRY)
			e.archive = NULL;
		e.path = path;
		r = fn(ctx, &e, err);
		if (r < 0)
			return r;
	}
}

int imagefs_read_layer(struct petra_store *store, const struct image *img, size_t index,
		       int max_ratio, struct progress *progress, imagefs_entry_fn fn, void *ctx,
		       uint64_t *tar_bytes, struct petra_error **err)
{
	const struct oci_descriptor *layer = &img->manifest.layers[index];
	_cleanup_close_ int fd = -1;
	struct layer_reader *reader = NULL;
	int r = image_open_layer(store, layer, img->config.diff_ids.v[index], max_ratio, progress,
				 &fd, &reader, err);
	if (r == 0) {
		r = read_entries(reader, fn, ctx, err);
		if (r == 0)
			r = layer_reader_finish(reader, err);
		if (r == 0 && tar_bytes)
			*tar_bytes = layer_reader_uncompressed_bytes(reader);
	}
	layer_reader_close(reader);
	if (r < 0) {
		char short_digest[13];
		oci_digest_short(layer->digest, short_digest);
		petra_error_prefix(err, "layer %zu (sha256:%s)", index + 1, short_digest);
	}
	return r;
}
