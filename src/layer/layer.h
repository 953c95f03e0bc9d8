/* SPDX-License-Identifier: Apache-2.0 */
/*
 * layer: the streaming layer codec.
 *
 *  - compression: gzip (ISA-L, or zlib without it), zstd, none; the media
 *    type says which.
 *  - writer: a directory tree (sorted, reproducible), a rootfs tarball, or
 *    single entries in, a layer blob out. Tar (pax, via libarchive) and
 *    compression run in one pass and both digests are computed on the way:
 *    the compressed digest (the blob's name) and the diff_id (the
 *    uncompressed tar's digest, for the config).
 *  - reader: a layer blob in, tar entries out, verifying the blob digest
 *    and the diff_id as the bytes go by and refusing compression bombs.
 *  - apply: a reader's entries written onto a directory, honouring OCI
 *    whiteouts, refusing anything that would land outside the directory.
 *
 * Memory use is bounded by a few buffers whatever the layer's size.
 */
#ifndef PETRA_LAYER_H
#define PETRA_LAYER_H

#include "base/base.h"
#include "oci/oci.h"

struct archive_entry;

/* ---- compression ------------------------------------------------------- */

enum layer_compression {
	LAYER_COMPRESSION_NONE,
	LAYER_COMPRESSION_GZIP,
	LAYER_COMPRESSION_ZSTD,
};

/* "gzip", "zstd" or "none". */
int layer_compression_parse(const char *name, enum layer_compression *out,
			    struct petra_error **err);
const char *layer_compression_name(enum layer_compression c);
/* From a layer media type (OCI or Docker); ENOTSUP for others. */
int layer_compression_from_media_type(const char *media_type, enum layer_compression *out,
				      struct petra_error **err);
/* The OCI layer media type for a compression. */
const char *layer_media_type(enum layer_compression c);

/* ---- archives that are not layers (ADD of a local archive) ------------- */

/* Whether fd holds a tar archive, compressed in any way libarchive reads
 * (fd is rewound). */
bool layer_archive_detect(int fd);
/* A tar archive's compression, from its first bytes: 0 and *out (none,
 * gzip, zstd) when layer_reader_open reads it as it is; 1 for one it does
 * not (bzip2, xz): layer_archive_decompress it first. */
int layer_compression_detect(int fd, enum layer_compression *out);
/* in_fd through libarchive's filters into out_fd, which is rewound; what
 * names the archive in errors. */
int layer_archive_decompress(int in_fd, int out_fd, const char *what, struct petra_error **err);

/* ---- writing layers ---------------------------------------------------- */

struct layer_writer_options {
	enum layer_compression compression;
	int level;                 /* 0: the codec's fast default */
	bool clamp_mtime;          /* clamp every mtime to mtime_clamp */
	time_t mtime_clamp;        /* usually SOURCE_DATE_EPOCH */
	struct progress *progress; /* bytes of input read, may be NULL */
	/* Leave out character and block devices below dev/ (a root
	 * filesystem's /dev, which a container gets from its runtime and an
	 * immutable image must not hold); layer_info counts them. */
	bool drop_dev_nodes;
};

/* What a finished layer is. */
struct layer_info {
	char digest[OCI_DIGEST_SIZE];  /* of the blob (compressed) */
	char diff_id[OCI_DIGEST_SIZE]; /* of the uncompressed tar */
	int64_t size;                  /* of the blob */
	uint64_t uncompressed_size;
	const char *media_type;   /* static string */
	size_t dropped_dev_nodes; /* drop_dev_nodes: how many */
};

enum layer_tree_flags {
	/* The tree is an overlayfs upper directory: 0/0 character devices are
	 * whiteouts and the overlay "opaque" xattr marks opaque directories. */
	LAYER_TREE_OVERLAY = 1 << 0,
};

struct layer_writer;
int layer_writer_new(struct petra_store *store, const struct layer_writer_options *options,
		     struct layer_writer **writer, struct petra_error **err);
/* Add everything below dirfd (not dirfd itself), children sorted by name,
 * each directory before its contents, under `prefix` ("" for the root).
 * Does not descend into other mounted filesystems. */
int layer_writer_add_tree(struct layer_writer *w, int dirfd, const char *prefix, unsigned flags,
			  struct petra_error **err);
/* Add the entries of a tar archive (any compression libarchive reads), in
 * their order, normalising names; unsafe names are refused. */
int layer_writer_add_tar(struct layer_writer *w, int fd, const char *what,
			 struct petra_error **err);
/* Add one entry; data/len for a regular file's content (may be NULL/0). */
int layer_writer_add_entry(struct layer_writer *w, struct archive_entry *entry, const void *data,
			   size_t len, struct petra_error **err);
/* More content of the regular file added last (with less data than its
 * size): for files streamed from another layer. The pieces must add up
 * to the entry's size before the next entry. */
int layer_writer_add_data(struct layer_writer *w, const void *data, size_t len,
			  struct petra_error **err);
/* OCI whiteouts: `path` removed, or everything below directory `dir` from
 * lower layers hidden. */
int layer_writer_add_whiteout(struct layer_writer *w, const char *path, struct petra_error **err);
int layer_writer_add_opaque(struct layer_writer *w, const char *dir, struct petra_error **err);
/* Close the tar stream, commit the blob to the store, fill *info; frees w. */
int layer_writer_finish(struct layer_writer *w, struct layer_info *info, struct petra_error **err);
void layer_writer_abort(struct layer_writer *w);

/* ---- reading layers ---------------------------------------------------- */

struct layer_reader_options {
	enum layer_compression compression;
	const char *expected_digest;  /* checked at the end; may be NULL */
	const char *expected_diff_id; /* checked at the end; may be NULL */
	/* Compression-bomb guard: refuse once the output exceeds both
	 * bomb_min_bytes and max_ratio times the input. 0 uses the defaults
	 * (250 and 64 MiB); max_ratio < 0 disables the check. */
	int max_ratio;
	uint64_t bomb_min_bytes;
	struct progress *progress; /* compressed bytes consumed, may be NULL */
};

struct layer_reader;
/* Read a layer from fd (the reader does not own fd). */
int layer_reader_open(int fd, const struct layer_reader_options *options,
		      struct layer_reader **reader, struct petra_error **err);
/* Next entry: 1 and *entry (owned by the reader, valid until the next
 * call), 0 at the end of the archive, < 0 on error. */
int layer_reader_next(struct layer_reader *r, struct archive_entry **entry,
		      struct petra_error **err);
/* The current entry's data: 1 with a block (and its offset in the file,
 * which jumps over holes of sparse files), 0 at its end, < 0 on error. */
int layer_reader_data_block(struct layer_reader *r, const void **data, size_t *len, int64_t *offset,
			    struct petra_error **err);
/* Read the rest of the stream and verify the digests. Call once after
 * layer_reader_next returned 0. */
int layer_reader_finish(struct layer_reader *r, struct petra_error **err);
void layer_reader_close(struct layer_reader *r);
/* Bytes seen so far. */
uint64_t layer_reader_compressed_bytes(const struct layer_reader *r);
uint64_t layer_reader_uncompressed_bytes(const struct layer_reader *r);

/* Verify a layer blob without unpacking it: digest and diff_id. */
int layer_verify_fd(int fd, const struct layer_reader_options *options, struct petra_error **err);

/* Normalise a tar entry name to a relative path without "./", "//" or a
 * trailing "/" ("" for the root). Refuses absolute paths and ".."
 * components. Caller frees *out. */
int layer_clean_path(const char *name, char **out, struct petra_error **err);

/* ---- applying layers --------------------------------------------------- */

enum layer_apply_flags {
	LAYER_APPLY_ALLOW_DEVICES = 1 << 0, /* create character/block devices */
	LAYER_APPLY_NO_OWNERSHIP = 1 << 1,  /* do not chown (implied when not root) */
	/* Extract one layer on its own, as an overlayfs lower directory: a
	 * whiteout becomes a 0/0 character device, an opaque marker the
	 * "trusted.overlay.opaque" xattr ("user.overlay.opaque" when not root,
	 * for mounts with userxattr). Nothing is removed. */
	LAYER_APPLY_OVERLAY = 1 << 2,
};

struct layer_apply_options {
	unsigned flags;
};

/* Apply every entry of r onto the directory root_fd, then finish r (so the
 * digests are verified). Whiteouts remove what lower layers put there.
 * Nothing outside root_fd is created, changed or removed: entries that
 * would (through "..", absolute names, symlinks or hardlinks) are refused
 * with an error naming the entry. On error root_fd is left half-written:
 * the caller removes it. */
int layer_apply(struct layer_reader *r, int root_fd, const struct layer_apply_options *options,
		struct petra_error **err);

#endif
