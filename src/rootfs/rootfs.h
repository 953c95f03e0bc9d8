/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rootfs: an image's filesystem, ready to be mounted.
 *
 *  - the layer cache: every layer is extracted once, by diff_id, into
 *    <store>/rootfs/layers/<hex>/ as an overlayfs lower directory
 *    (layer_apply with LAYER_APPLY_OVERLAY); a user other than root (out
 *    of a rootless build's namespace) extracts without owners, into
 *    rootfs/layers-unowned/ instead, never mixed with those that keep
 *    them. Extraction goes to a temporary
 *    sibling that is renamed into place when complete and synced, so a
 *    directory that has its final name is whole; concurrent petra
 *    processes may both extract a layer, one rename wins and the other
 *    copy is removed. Removal is the mirror image: renamed to a
 *    ".deleting-" name first, then deleted, so a killed prune or rmi never
 *    leaves a truncated layer under its name. Temporaries are held with a
 *    lock while in use; those of dead processes are swept when the cache is
 *    next opened.
 *  - verification: an extracted layer is compared, entry by entry (type,
 *    mode, owner, size, content hash, link target, opaque marker), with
 *    the entries of its blob, which is itself checked against its digest
 *    and diff_id on the way. Tampering with the host-side copy is caught.
 *  - mounting: overlayfs over the lower directories, read-only (no upper
 *    directory: nothing can drift) or with an upper and work directory (the
 *    builder, --read-write, --learn). When overlayfs cannot be mounted and
 *    no upper directory is wanted, the layers are merged into a tmpfs
 *    instead.
 *  - users: "user[:group]" resolved through the layers' /etc/passwd and
 *    /etc/group, as the runtime and the builder both need.
 *
 * Mounting is meant to happen inside a private mount namespace (see
 * sandbox/); nothing here changes mount propagation.
 */
#ifndef PETRA_ROOTFS_H
#define PETRA_ROOTFS_H

#include <sys/stat.h>

#include "base/base.h"
#include "image/image.h"
#include "oci/oci.h"

/* The cache directory of one layer (it may not exist yet). Caller frees. */
char *rootfs_layer_dir(struct petra_store *store, const char *diff_id);

/* Extract every layer of img that is not cached yet. *lowers receives the
 * layer directories, absolute, bottom layer first. */
int rootfs_prepare(struct petra_store *store, const struct image *img, struct strvec *lowers,
		   struct petra_error **err);

/* Extract one layer (its blob checked against digest and diff_id on the
 * way) unless it is cached already; *dir receives its cache directory
 * (caller frees). */
int rootfs_ensure_layer(struct petra_store *store, const struct oci_descriptor *layer,
			const char *diff_id, char **dir, struct petra_error **err);

/* A layer that was just written from `dir`, an overlayfs upper directory
 * (or any directory in the same overlay lower format) on the store's
 * filesystem, becomes the cache directory of diff_id without extracting
 * the blob again: it is renamed into place. It is not synced (that would
 * cost as much as writing it): a marker with this boot's id goes with it,
 * and in a later boot such a directory is extracted again from the blob.
 * When the layer is cached already, `dir` is removed instead. *cached
 * receives the cache directory (caller frees). */
int rootfs_adopt_layer(struct petra_store *store, const char *diff_id, const char *dir,
		       char **cached, struct petra_error **err);

/* Remove extracted layers whose diff_id is not in `keep`, and temporary
 * directories of extractions that died. The caller holds the store's gc
 * lock exclusively (PETRA_STORE_EXCLUSIVE), so no extraction is under way. */
int rootfs_prune(struct petra_store *store, const struct strset *keep, bool dry_run,
		 uint64_t *removed, struct petra_error **err);

/* The temporaries of extractions and layer removals that were killed (the
 * next extraction or prune removes them): how many and their bytes, added
 * to *count and *bytes. */
void rootfs_stale_temporaries(struct petra_store *store, uint64_t *count, uint64_t *bytes);

/* What a garbage collection removed (or, dry run, would remove). */
struct rootfs_gc_result {
	uint64_t blobs, bytes; /* blobs no named image references */
	uint64_t layers;       /* extracted layers nothing uses */
};
/* Remove the blobs no named image references (petra_store_prune), then the
 * extracted layers whose diff_id is neither a layer of an image of the
 * store nor in `in_use` (the caller's other users; may be NULL). When an
 * image cannot be read, no extracted layer is removed and that is the
 * error. The store must be open with PETRA_STORE_EXCLUSIVE. */
int rootfs_collect_garbage(struct petra_store *store, const struct strset *in_use, bool dry_run,
			   struct rootfs_gc_result *result, struct petra_error **err);

/* Compare every cached layer of img with its blob; each difference is
 * reported (object: the layer's diff_id) and counted in *problems. A layer
 * that is not cached has its blob checked instead (present, digest and
 * diff_id). */
int rootfs_verify(struct petra_store *store, const struct image *img, petra_store_report_fn report,
		  void *ctx, unsigned *problems, struct petra_error **err);

enum rootfs_mount_flags {
	ROOTFS_MOUNT_COPY = 1 << 0, /* merge into a tmpfs even when overlayfs works */
	/* The one lower directory is a plain, complete root: bind it writable
	 * (the builder's copy snapshot where overlayfs cannot be mounted). */
	ROOTFS_MOUNT_WRITABLE_DIR = 1 << 1,
};

struct rootfs_mount_options {
	const char *const *lowers; /* bottom first */
	size_t n_lowers;
	const char *upper; /* NULL: read-only */
	const char *work;  /* with upper */
	unsigned flags;    /* enum rootfs_mount_flags */
};

/* The extended attribute that marks an opaque directory in the layer
 * directories: "trusted.overlay.opaque" for root of the initial user
 * namespace, else "user.overlay.opaque" (a rootless build or run, whose
 * overlay mounts use userxattr: trusted.* is out of their reach). */
const char *rootfs_opaque_xattr(void);

/* Mount the layers on `target` (a directory), nodev; read-only unless an
 * upper directory is given (or ROOTFS_MOUNT_WRITABLE_DIR). With an upper
 * directory, overlayfs is asked for no redirects and no metadata-only
 * copies, so the upper directory alone holds every change (it becomes a
 * layer). */
int rootfs_mount(const char *target, const struct rootfs_mount_options *options,
		 struct petra_error **err);

/* Merge one overlay-format layer (src_fd) onto directory dest_fd, walked
 * with fs_walk, the destination in lockstep: a 0/0 character device
 * removes what dest_fd has there, an opaque directory replaces it. With
 * ROOTFS_MERGE_OVERLAY the result stays a layer itself (the builder's
 * squash): whiteouts are kept as whiteouts, a directory over one becomes
 * opaque, directory xattrs are kept, and files are hard-linked to the
 * source (never written afterwards) when they can be. */
enum { ROOTFS_MERGE_OVERLAY = 1 << 0 };
int rootfs_merge_layer(int src_fd, int dest_fd, unsigned flags, struct petra_error **err);

/* Merge overlay lower directories (bottom first) onto dest_fd the way
 * overlayfs would show them: 0/0 character devices remove what is below,
 * opaque directories hide what is below. The copy fallback of rootfs_mount. */
int rootfs_merge_copy(const char *const *lowers, size_t n_lowers, int dest_fd,
		      struct petra_error **err);

/* Copy what directory src_fd holds into directory dest_fd, owners, modes
 * and times kept (a writable path with "copy": the image's content of it
 * into its tmpfs); dest_fd takes src_fd's mode and owner. */
int rootfs_copy_dir(int src_fd, int dest_fd, struct petra_error **err);

/* What is at `path` in the filesystem the layers (bottom first) make,
 * following overlay rules (whiteouts, opaque directories) but not
 * symlinks: 0 with *st and the index of the layer that has it, or -ENOENT. */
int rootfs_lookup(const char *const *lowers, size_t n_lowers, const char *path, struct stat *st,
		  size_t *layer);

/* Read the file at `path` of the filesystem the layers make (a regular
 * file, not through symlinks): ENOENT when it is not there. */
int rootfs_read_file(const char *const *lowers, size_t n_lowers, const char *path, size_t max_size,
		     char **data, size_t *len, struct petra_error **err);

/* Resolve a USER value ("uid[:gid]" or "name[:group]", either part a
 * number or a name) with the text of an image's /etc/passwd and
 * /etc/group (either may be NULL): *uid, *gid (the user's primary group
 * unless one is given) and *home ("/" when unknown; caller frees). A name
 * that is not there is an error; an empty or NULL USER is root. */
int rootfs_user_lookup(const char *passwd, const char *group, const char *user, uid_t *uid,
		       gid_t *gid, char **home, struct petra_error **err);
/* The same with the /etc/passwd and /etc/group of the filesystem the
 * layers make. */
int rootfs_resolve_user(const char *const *lowers, size_t n_lowers, const char *user, uid_t *uid,
			gid_t *gid, char **home, struct petra_error **err);
/* A user or group id as /etc/passwd, USER, -u and --tmpfs uid= spell it:
 * decimal digits only and below 2^32-1, which is (uid_t)-1. */
bool rootfs_parse_id(const char *s, uint32_t *id);

#endif
