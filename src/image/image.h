/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image: whole-image operations, composed from the store (oci/) and the
 * layer codec (layer/).
 *
 *  - image_load: a reference resolved to its manifest and config, both
 *    read from the store and verified against their digests.
 *  - image_import: a directory, a rootfs tarball, an OCI layout
 *    (oci:PATH[:TAG]), an OCI archive (oci-archive:FILE[:TAG]) or
 *    containers/image's directory layout (dir:PATH: manifest.json, blobs
 *    named by hex digest, version) into the store, under a name.
 *  - image_export: an image from the store to an OCI layout or archive, or
 *    to dir:PATH (the manifest byte for byte; signature-N files are
 *    trust/'s).
 *  - image_unpack: the layers applied, in order and safely, onto a new
 *    directory that appears only once it is complete.
 *  - image_verify_layers: every layer of every named image decompressed
 *    and compared with its config's diff_id (the deep part of fsck).
 *  - image conventions: the writable-paths label (the single source of
 *    truth for what a container may write) and the config's "config"
 *    object as the runtime reads it.
 */
#ifndef PETRA_IMAGE_H
#define PETRA_IMAGE_H

#include "base/base.h"
#include "layer/layer.h"
#include "oci/oci.h"

struct image {
	char *name;                 /* the name it was found under, or NULL */
	struct oci_descriptor desc; /* of the manifest */
	struct oci_manifest manifest;
	struct oci_config config;
	char *config_raw; /* the config blob, as stored */
	size_t config_len;
};

int image_load(struct petra_store *store, const char *ref, struct image *image,
	       struct petra_error **err);
void image_release(struct image *image);
/* Open a layer blob of the store for reading, checked against its digest
 * and diff_id as it is read (at layer_reader_finish). *fd (the blob) and
 * *reader belong to the caller. max_ratio as in layer_reader_options;
 * progress (may be NULL) counts compressed bytes. */
int image_open_layer(struct petra_store *store, const struct oci_descriptor *layer,
		     const char *diff_id, int max_ratio, struct progress *progress, int *fd,
		     struct layer_reader **reader, struct petra_error **err);

/* The config's history entry that made layer `layer` (steps marked
 * empty_layer made none), or NULL when the history is shorter; *step
 * (may be NULL) receives its index in the history. */
const json_t *image_layer_step(const struct image *image, size_t layer, size_t *step);
/* The tag part of the image's name ("latest" when it has none). */
const char *image_tag(const struct image *image);

struct image_import_options {
	const char *name;                   /* NULL: derived from the source */
	enum layer_compression compression; /* for directories and tarballs */
};

/* Import `source`; *name receives the name it was stored under (caller
 * frees) and digest the manifest digest. */
int image_import(struct petra_store *store, const char *source,
		 const struct image_import_options *options, char **name,
		 char digest[OCI_DIGEST_SIZE], struct petra_error **err);

/* Export to "oci:PATH[:TAG]" or "oci-archive:FILE[:TAG]"; the tag
 * defaults to the image's own tag. */
int image_export(struct petra_store *store, const char *ref, const char *dest,
		 struct petra_error **err);

struct image_unpack_options {
	unsigned apply_flags;     /* enum layer_apply_flags */
	int max_ratio;            /* compression-bomb guard, see layer.h (0: default) */
	unsigned *setid_stripped; /* optional: += files whose setuid/setgid bits were cleared */
};

/* Unpack into `target`, which must not exist or be an empty directory. */
int image_unpack(struct petra_store *store, const char *ref, const char *target,
		 const struct image_unpack_options *options, struct petra_error **err);

/* `docker save` archives (dockerarchive.c). Save: the images of refs in
 * one archive (layers uncompressed and verified against their diff_ids,
 * shared layers once), written atomically. Load (petra load, copy
 * docker-archive:, import): every image of the archive into the store
 * under its RepoTags, each layer checked against its diff_id (symlinked
 * layers followed, gzip/zstd ones read through); *names gets a "NAME
 * DIGEST" line per name set, "<none> DIGEST" for an image left unnamed.
 * options may be NULL. */
struct image_load_options {
	const char *name;     /* the name of the archive's only image (refused for several) */
	const char *untagged; /* the name of an image without RepoTags; NULL: none */
};
int image_save(struct petra_store *store, const char *const *refs, size_t n_refs, const char *file,
	       struct petra_error **err);
int image_load_docker_archive(struct petra_store *store, const char *file,
			      const struct image_load_options *options, struct strvec *names,
			      struct petra_error **err);

/* Decompress every layer of every image named in the store and compare it
 * with its config's diff_id; report each mismatch. */
int image_verify_layers(struct petra_store *store, petra_store_report_fn report, void *ctx,
			unsigned *problems, struct petra_error **err);

/* ---- image conventions (conventions.c) -------------------------------- */

/* The image config label that lists the paths a container may write: a
 * JSON array of {"path": "/run/app", "size": bytes, "mode": "0755",
 * "uid": 65534, "copy": true, "memory": true}. petra run mounts each as a
 * tmpfs, learn writes it, harden keeps it, audit reads it. Without "uid"
 * the path belongs to the container's user; with "copy" the tmpfs starts
 * with the image's content of the path, owned and moded as in the image
 * (podman's tmpcopyup); with "memory" the path is tmpfs-only: what is
 * written there (pid files, sockets, locks, secrets in flight) must never
 * reach a disk, so an orchestrator that could back it with disk (a
 * Kubernetes emptyDir) is told to keep it in memory. Both flags are
 * absent when false, so a label without them reads as before. */
#define IMAGE_WRITABLE_PATHS_LABEL "org.petra.writable-paths"

struct image_writable_path {
	char *path;    /* absolute, inside the container */
	uint64_t size; /* the tmpfs size, bytes */
	uint64_t used; /* learn: bytes written there */
	mode_t mode;
	uid_t uid;
	bool has_uid; /* else: the container's user */
	bool copy;    /* filled with the image's content of path */
	bool memory;  /* tmpfs-only: never backed by disk */
};
void image_writable_paths_free(struct image_writable_path *paths, size_t n);
/* Parse the label's value; an absent label is an empty list. */
int image_writable_paths_parse(const char *label, struct image_writable_path **paths, size_t *n,
			       struct petra_error **err);
/* The label's value. Caller frees. */
char *image_writable_paths_format(const struct image_writable_path *paths, size_t n);

/* The image config's "config" object (Env, Cmd, User, Labels, ...), or
 * NULL; borrowed from img. */
json_t *image_runtime_config(const struct image *img);

#endif
