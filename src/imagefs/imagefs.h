/* SPDX-License-Identifier: Apache-2.0 */
/*
 * imagefs: an image's layers seen as one filesystem, with its history.
 *
 * imagefs_build() streams every layer once, bottom first (each verified
 * against its digest and diff_id on the way; nothing is written to disk)
 * and builds the tree a runtime would see: OCI whiteouts and opaque
 * directories remove what lower layers wrote, a non-directory replacing a
 * directory removes what was below it. Nothing is forgotten on the way:
 * each path keeps every version a layer wrote, and each version the layer
 * that hid it and how. That is what leak detection (files deleted, still
 * in a lower layer), dive's efficiency measure, the package inventory
 * (the database that survives) and squashing (only final versions) need.
 *
 * Hooks see every entry as it is read, with its data, so a caller can scan
 * contents in the same pass. imagefs_read_layer() streams one layer again
 * (paths normalised, whiteouts recognised) for callers that copy data.
 *
 * Memory: one node per path and one version per entry (an arena), a 256
 * KiB block at a time of data; never a whole file unless asked to capture
 * it (imagefs_build_options.capture, for small files like /etc/passwd).
 */
#ifndef PETRA_IMAGEFS_H
#define PETRA_IMAGEFS_H

#include "base/base.h"
#include "image/image.h"
#include "layer/layer.h"
#include "oci/oci.h"

struct archive_entry;

#define IMAGEFS_NO_LAYER UINT32_MAX

enum imagefs_type {
	IMAGEFS_REG,
	IMAGEFS_DIR,
	IMAGEFS_SYMLINK,
	IMAGEFS_HARDLINK,
	IMAGEFS_CHAR,
	IMAGEFS_BLOCK,
	IMAGEFS_FIFO,
};

/* How a version stopped being visible. */
enum imagefs_hidden {
	IMAGEFS_VISIBLE,
	IMAGEFS_HIDDEN_WHITEOUT,        /* a whiteout of the path or of a parent */
	IMAGEFS_HIDDEN_OPAQUE,          /* a parent directory was made opaque */
	IMAGEFS_HIDDEN_REPLACED,        /* the path was written again */
	IMAGEFS_HIDDEN_PARENT_REPLACED, /* a parent became a non-directory */
};

struct imagefs_node;

/* One entry of one layer: what that layer wrote at a path. */
struct imagefs_version {
	struct imagefs_version *below; /* the version this one replaced, or NULL */
	struct imagefs_node *node;
	uint32_t layer;     /* index of the layer that wrote it, 0 = bottom */
	uint32_t hidden_by; /* the layer that removed or replaced it; IMAGEFS_NO_LAYER */
	uint8_t type;       /* enum imagefs_type */
	uint8_t hidden_how; /* enum imagefs_hidden */
	bool xattrs;        /* the entry carries extended attributes (capabilities...) */
	uint32_t mode;      /* permission bits with setuid, setgid, sticky (07777) */
	uint32_t uid, gid;
	uint64_t size; /* of a regular file's content */
	int64_t mtime;
	const char *link; /* symlink target, or hardlink target path (normalised) */
};

/* A path. A visible node's parents are all there in the final filesystem:
 * hiding a directory hides everything below it, so what is visible below
 * a hidden directory was written later, which brought the directory back
 * (with an entry, or implicitly: top hidden or NULL). */
struct imagefs_node {
	const char *name; /* one path component; "" for the root */
	struct imagefs_node *parent;
	struct imagefs_node *children; /* in the order they were first seen */
	struct imagefs_node *next;     /* sibling */
	struct imagefs_node *last_child;
	/* The newest version, NULL for a directory no layer wrote an entry
	 * for (a parent created implicitly). Only the newest can be visible. */
	struct imagefs_version *top;
	uintptr_t user; /* free for the caller (0 after imagefs_build) */
	/* dive's bookkeeping (efficiency.c): private */
	uint64_t dive_total, dive_min;
	uint32_t dive_count, dive_last, dive_mark, dive_child_mark;
};

static inline bool imagefs_version_visible(const struct imagefs_version *v)
{
	return v && v->hidden_by == IMAGEFS_NO_LAYER;
}
/* The visible version of a node, or NULL. */
static inline struct imagefs_version *imagefs_node_visible(const struct imagefs_node *n)
{
	return imagefs_version_visible(n->top) ? n->top : NULL;
}

/* Per layer, as read. */
struct imagefs_layer {
	uint64_t entries;
	uint64_t tar_bytes;  /* uncompressed (the diff_id's bytes) */
	uint64_t file_bytes; /* sum of regular files' sizes (dive's layer size) */
};

struct imagefs;

/* What a caller sees during imagefs_build. */
struct imagefs_hooks {
	void *ctx;
	/* An entry was read and the tree updated (v is its version; path
	 * normalised, no leading "/"). Return 1 to be given its data, 0 not,
	 * < 0 to stop with an error. */
	int (*entry)(void *ctx, struct imagefs *fs, struct imagefs_version *v, const char *path,
		     struct petra_error **err);
	/* The entry's data, block by block, in order; holes of sparse files
	 * are not passed. */
	int (*data)(void *ctx, const void *buf, size_t len, struct petra_error **err);
	/* After the last block (only for entries whose data was asked for). */
	int (*entry_end)(void *ctx, struct petra_error **err);
	/* A layer was read to its end and verified. */
	int (*layer_end)(void *ctx, struct imagefs *fs, size_t layer, struct petra_error **err);
};

struct imagefs_build_options {
	const struct imagefs_hooks *hooks; /* may be NULL */
	/* Paths ("etc/passwd") whose content is kept, when at most
	 * capture_max bytes (default 1 MiB), for imagefs_captured. */
	const char *const *capture;
	size_t n_capture;
	size_t capture_max;
	struct progress *progress; /* compressed bytes read; may be NULL */
	/* The compression-bomb guard of the layer reader (see layer.h); 0:
	 * the default. Reading for analysis writes nothing: -1 disables. */
	int max_ratio;
};

int imagefs_build(struct petra_store *store, const struct image *img,
		  const struct imagefs_build_options *options, struct imagefs **out,
		  struct petra_error **err);
void imagefs_free(struct imagefs *fs);
static inline void imagefs_freep(struct imagefs **fs)
{
	if (*fs)
		imagefs_free(*fs);
}
#define _cleanup_imagefs_ _cleanup_(imagefs_freep)

const struct imagefs_node *imagefs_root(const struct imagefs *fs);
size_t imagefs_n_layers(const struct imagefs *fs);
const struct imagefs_layer *imagefs_layer(const struct imagefs *fs, size_t index);
/* Bytes and count of regular-file versions that a later layer hid: still
 * in the image, not in its filesystem. */
uint64_t imagefs_hidden_bytes(const struct imagefs *fs);
uint64_t imagefs_hidden_files(const struct imagefs *fs);

/* The node at a normalised path ("etc/passwd", "" for the root), NULL if
 * no layer ever had it. */
struct imagefs_node *imagefs_lookup(const struct imagefs *fs, const char *path);
/* The node's path, without a leading "/", into sb (reset first). */
void imagefs_node_path(const struct imagefs_node *node, struct strbuf *sb);

/* The content of a captured path if its visible version was captured:
 * 1 with *data (owned by fs, NUL-terminated) and *len, else 0. */
int imagefs_captured(const struct imagefs *fs, const char *path, const char **data, size_t *len);

/* Visit every node below the root, parents first, children sorted by
 * name (bytewise). fn returns 0 to go on, 1 to skip the node's children,
 * < 0 to stop (returned). path is the node's path without a leading "/". */
typedef int (*imagefs_visit_fn)(void *ctx, struct imagefs_node *node, const char *path,
				struct petra_error **err);
int imagefs_visit(struct imagefs *fs, imagefs_visit_fn fn, void *ctx, struct petra_error **err);

/* ---- dive's efficiency measure ------------------------------------------ */

/* One path that more than one layer wrote (or wrote and removed). */
struct imagefs_waste {
	const struct imagefs_node *node;
	uint64_t total; /* sum of its sizes over the layers that touched it */
	uint64_t min;   /* the smallest of them */
	uint32_t count; /* how many layers touched it */
	uint32_t last_layer;
};

struct imagefs_efficiency {
	double score;                /* sum of minimum sizes / sum of sizes, 1.0 when empty */
	uint64_t wasted_bytes;       /* sum of `total` over paths touched more than once */
	uint64_t user_bytes;         /* dive's layer sizes above the base layers */
	double wasted_share;         /* wasted_bytes / user_bytes (0 when no user bytes) */
	struct imagefs_waste *waste; /* largest total first */
	size_t n_waste;
};

/* Computed as dive does (filetree/efficiency.go): over every path that is
 * a leaf of a layer's own tree, each layer contributes the entry's size
 * (a whiteout: the size of what it removed), and the user share counts
 * the layers above the first `base_layers` (dive: 1). */
void imagefs_efficiency(const struct imagefs *fs, size_t base_layers,
			struct imagefs_efficiency *out);
void imagefs_efficiency_release(struct imagefs_efficiency *e);

/* ---- streaming one layer ------------------------------------------------ */

enum imagefs_entry_kind {
	IMAGEFS_ENTRY,          /* a file, directory, link or special file */
	IMAGEFS_ENTRY_WHITEOUT, /* path: what it removes */
	IMAGEFS_ENTRY_OPAQUE,   /* path: the directory whose lower contents it hides */
};

struct imagefs_entry {
	enum imagefs_entry_kind kind;
	/* Normalised; "" only for an opaque marker of the root (the root
	 * directory's own entry is skipped). */
	const char *path;
	struct archive_entry *archive; /* the tar header (IMAGEFS_ENTRY); NULL otherwise */
	struct layer_reader *reader;   /* for the entry's data (layer_reader_data_block) */
};
typedef int (*imagefs_entry_fn)(void *ctx, const struct imagefs_entry *e, struct petra_error **err);

/* Stream layer `index` of img, verified against its digest and diff_id
 * at the end; names that escape the root are refused. *tar_bytes (may be
 * NULL) receives the uncompressed size. */
int imagefs_read_layer(struct petra_store *store, const struct image *img, size_t index,
		       int max_ratio, struct progress *progress, imagefs_entry_fn fn, void *ctx,
		       uint64_t *tar_bytes, struct petra_error **err);

/* The type of a tar header. */
enum imagefs_type imagefs_type_of(struct archive_entry *e);
/* "file", "directory", "symlink", "hardlink", "character device", ... */
const char *imagefs_type_name(enum imagefs_type type);

#endif
