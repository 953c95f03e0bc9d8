/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oci: the OCI image model and petra's store.
 *
 *  - digests: "sha256:<64 hex>" strings, computed with OpenSSL.
 *  - references: "name[:tag][@digest]" as Docker and the distribution spec
 *    spell them; the default tag is "latest".
 *  - the image model: descriptors, manifests, indexes and configs parsed
 *    from (and built into) their JSON documents with jansson. Parsed
 *    documents keep the original JSON so nothing is lost on the way through.
 *  - the store: an OCI image layout directory (oci-layout, index.json,
 *    blobs/sha256/...). Blobs are written to a temporary file, fsync'd and
 *    renamed into place under their digest; index.json is replaced the same
 *    way under a lock, so readers need no lock and never see half a write.
 *    Names ("name:tag") are org.opencontainers.image.ref.name annotations on
 *    the index's descriptors. Writers hold a shared "gc" lock for as long as
 *    their store handle is open; prune takes it exclusively, so it never
 *    removes a blob that an import is about to reference.
 *
 * This module knows nothing about layer contents (see layer/).
 */
#ifndef PETRA_OCI_H
#define PETRA_OCI_H

#include "base/base.h"

/* ---- digests ----------------------------------------------------------- */

#define OCI_DIGEST_SIZE 72 /* "sha256:" + 64 hex + NUL, rounded up */

struct oci_hasher {
	void *ctx; /* EVP_MD_CTX */
};
void oci_hasher_init(struct oci_hasher *h);
void oci_hasher_update(struct oci_hasher *h, const void *data, size_t len);
/* Writes "sha256:<hex>" and releases the context. */
void oci_hasher_final(struct oci_hasher *h, char digest[OCI_DIGEST_SIZE]);
/* Release without a result (error paths); safe after final. */
void oci_hasher_release(struct oci_hasher *h);

void oci_digest_buffer(const void *data, size_t len, char digest[OCI_DIGEST_SIZE]);
/* A valid sha256 digest: "sha256:" and 64 lower-case hex digits. */
bool oci_digest_valid(const char *digest);
/* As above, with an error that says what is wrong. */
int oci_digest_check(const char *digest, struct petra_error **err);
/* The hex part of a valid digest. */
const char *oci_digest_hex(const char *digest);
/* The first 12 hex digits, for people. */
void oci_digest_short(const char *digest, char out[13]);

/* ---- media types ------------------------------------------------------- */

#define OCI_MEDIA_TYPE_INDEX         "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_TYPE_MANIFEST      "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_TYPE_CONFIG        "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_TYPE_LAYER         "application/vnd.oci.image.layer.v1.tar"
#define OCI_MEDIA_TYPE_LAYER_GZIP    "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MEDIA_TYPE_LAYER_ZSTD    "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MEDIA_TYPE_MANIFEST   "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MEDIA_TYPE_LIST       "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MEDIA_TYPE_CONFIG     "application/vnd.docker.container.image.v1+json"
#define DOCKER_MEDIA_TYPE_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define OCI_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
/* The config of an artifact manifest (referrers): the empty JSON object. */
#define OCI_MEDIA_TYPE_EMPTY "application/vnd.oci.empty.v1+json"
#define OCI_EMPTY_DIGEST     "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define OCI_EMPTY_DATA       "{}"
/* On a referrer's entry in index.json: the digest of its subject, so the
 * referrers of an image are found without reading every manifest. */
#define OCI_ANNOTATION_REFERRER_SUBJECT "org.petra.referrer.subject"

enum oci_kind {
	OCI_KIND_OTHER,
	OCI_KIND_INDEX,
	OCI_KIND_MANIFEST,
	OCI_KIND_CONFIG,
	OCI_KIND_LAYER
};
enum oci_kind oci_media_type_kind(const char *media_type);
/* A foreign (Docker) or non-distributable (OCI) layer: its blob is served
 * from the descriptor's urls, not the registry, so pulls leave it out,
 * pushes do not send it, and the store may lack it. */
bool oci_media_type_is_foreign(const char *media_type);

/* ---- descriptors, manifests, indexes, configs -------------------------- */

struct oci_descriptor {
	char *media_type;
	char digest[OCI_DIGEST_SIZE];
	int64_t size;
	json_t *annotations; /* object or NULL */
	json_t *platform;    /* object or NULL */
	char *artifact_type; /* "artifactType" (OCI 1.1: referrers), or NULL */
};

int oci_descriptor_from_json(const json_t *json, struct oci_descriptor *desc,
			     struct petra_error **err);
/* A new JSON object (mediaType, digest, size, and annotations/platform when set). */
json_t *oci_descriptor_to_json(const struct oci_descriptor *desc);
void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src);
void oci_descriptor_release(struct oci_descriptor *desc);
/* Release n descriptors and the array. */
void oci_descriptors_release(struct oci_descriptor *descs, size_t n);
/* The annotation value, or NULL. */
const char *oci_descriptor_annotation(const struct oci_descriptor *desc, const char *key);

struct oci_manifest {
	json_t *json;
	struct oci_descriptor config;
	struct oci_descriptor *layers;
	size_t n_layers;
};
/* Parse and validate an image manifest (OCI or Docker schema 2). */
int oci_manifest_parse(const char *data, size_t len, struct oci_manifest *manifest,
		       struct petra_error **err);
void oci_manifest_release(struct oci_manifest *manifest);
/* Build an OCI image manifest. annotations is borrowed and may be NULL. */
json_t *oci_manifest_build(const struct oci_descriptor *config, const struct oci_descriptor *layers,
			   size_t n_layers, json_t *annotations);

struct oci_index {
	json_t *json;
	struct oci_descriptor *manifests;
	size_t n_manifests;
};
int oci_index_parse(const char *data, size_t len, struct oci_index *index,
		    struct petra_error **err);
void oci_index_release(struct oci_index *index);
/* The entry of an image index that matches this machine's platform
 * (linux/<arch>), or -1 with an error: a manifest for it, else a nested
 * index for it (or for no platform: skopeo and others write indexes of
 * indexes), which the caller then reads in turn, at most
 * OCI_INDEX_MAX_DEPTH indexes deep. */
int oci_index_select_platform(const struct oci_index *index, struct petra_error **err);
#define OCI_INDEX_MAX_DEPTH 4
/* This machine's architecture in GOARCH spelling ("amd64", "arm64", ...). */
const char *oci_host_architecture(void);

struct oci_config {
	json_t *json;
	struct strvec diff_ids;
};
/* Parse an image config and validate its rootfs.diff_ids. */
int oci_config_parse(const char *data, size_t len, struct oci_config *config,
		     struct petra_error **err);
void oci_config_release(struct oci_config *config);

/* ---- references -------------------------------------------------------- */

struct oci_ref {
	char *name;   /* "registry:5000/path/name" */
	char *tag;    /* NULL when a digest is given without a tag */
	char *digest; /* NULL unless "@sha256:..." was given */
};
/* Parse "name[:tag][@digest]"; the tag defaults to "latest" when neither a
 * tag nor a digest is given. Names are validated as the distribution spec
 * asks (lower case path components, optional host[:port]). */
int oci_ref_parse(const char *text, struct oci_ref *ref, struct petra_error **err);
/* "name:tag" (or "name@digest" when there is no tag). Caller frees. */
char *oci_ref_format(const struct oci_ref *ref);
void oci_ref_release(struct oci_ref *ref);
bool oci_tag_valid(const char *tag);

/* ---- the store --------------------------------------------------------- */

struct petra_store;

enum petra_store_flags {
	PETRA_STORE_CREATE = 1 << 0,    /* create the layout if missing */
	PETRA_STORE_WRITE = 1 << 1,     /* will add blobs: hold the gc lock shared */
	PETRA_STORE_EXCLUSIVE = 1 << 2, /* prune: hold the gc lock exclusively */
};

/* --root, else $PETRA_ROOT, else /var/lib/petra for root and
 * $XDG_DATA_HOME/petra (~/.local/share/petra) otherwise. Caller frees. */
char *petra_store_default_root(void);
int petra_store_open(const char *root, unsigned flags, struct petra_store **store,
		     struct petra_error **err);
void petra_store_close(struct petra_store *store);
static inline void petra_store_closep(struct petra_store **s)
{
	if (*s)
		petra_store_close(*s);
}
#define _cleanup_store_ _cleanup_(petra_store_closep)
const char *petra_store_root(const struct petra_store *store);
/* The layout directory, open O_RDONLY|O_DIRECTORY (owned by the store). */
int petra_store_root_fd(const struct petra_store *store);
/* A writer that has written every blob it will write lets prune run again
 * (a long-running container, say). The handle must not write blobs after
 * this; reading stays fine. */
void petra_store_release_gc_lock(struct petra_store *store);

/* Blobs. */
bool petra_store_has_blob(struct petra_store *store, const char *digest);
/* Open a blob for reading; the caller verifies content as it reads. */
int petra_store_open_blob(struct petra_store *store, const char *digest, struct petra_error **err);
/* Read a whole (small) blob and verify its digest. */
int petra_store_read_blob(struct petra_store *store, const char *digest, size_t max_size,
			  char **data, size_t *len, struct petra_error **err);
/* Store bytes; *digest receives their digest. */
int petra_store_put_blob(struct petra_store *store, const void *data, size_t len,
			 char digest[OCI_DIGEST_SIZE], struct petra_error **err);
/* Store a JSON document (compact, keys in insertion order) as a blob;
 * *desc gets media_type, its digest and size (release it). */
int petra_store_put_json(struct petra_store *store, const json_t *doc, const char *media_type,
			 struct oci_descriptor *desc, struct petra_error **err);
/* Copy the rest of fd into the store, verifying it against expected
 * (digest, and size when >= 0). Nothing is stored on a mismatch. */
int petra_store_put_blob_fd(struct petra_store *store, int fd, const char *expected,
			    int64_t expected_size, struct petra_error **err);

/* A streaming blob write: bytes are hashed as they are written; commit
 * fsyncs, checks, and renames the temp file into place. */
struct petra_blob_writer;
int petra_store_blob_begin(struct petra_store *store, struct petra_blob_writer **writer,
			   struct petra_error **err);
int petra_store_blob_write(struct petra_blob_writer *writer, const void *data, size_t len,
			   struct petra_error **err);
/* Commit (frees writer, also on failure). expected may be NULL. */
int petra_store_blob_commit(struct petra_blob_writer *writer, const char *expected,
			    char digest[OCI_DIGEST_SIZE], int64_t *size, struct petra_error **err);
void petra_store_blob_abort(struct petra_blob_writer *writer);
/* A download that may have been interrupted before: the writer continues
 * the partial file kept for `digest` (its bytes hashed again; *offset
 * receives their count, 0 for a new one). Commit as any writer (the
 * digest is still checked); abort removes the partial file, suspend
 * keeps it for the next attempt. When another process holds that file, a
 * private writer is returned (offset 0). */
int petra_store_blob_resume(struct petra_store *store, const char *digest,
			    struct petra_blob_writer **writer, int64_t *offset,
			    struct petra_error **err);
void petra_store_blob_suspend(struct petra_blob_writer *writer);

/* Names. */
struct petra_store_entry {
	char *name; /* "name:tag", or NULL for an unnamed entry */
	struct oci_descriptor desc;
};
void petra_store_entries_free(struct petra_store_entry *entries, size_t n);
/* Every descriptor of index.json, in file order. */
int petra_store_list(struct petra_store *store, struct petra_store_entry **entries, size_t *n,
		     struct petra_error **err);
/* Resolve "name[:tag]", "name@digest", "sha256:<hex>" or a unique prefix of
 * at least 4 hex digits of a manifest digest. *name receives the matched
 * name when there is one (caller frees; may be NULL). */
int petra_store_resolve(struct petra_store *store, const char *ref, struct oci_descriptor *desc,
			char **name, struct petra_error **err);
/* Whether the blob desc names is in the store with desc's size (its
 * content is not hashed): 0, or an error that says which. */
int petra_store_check_blob(struct petra_store *store, const struct oci_descriptor *desc,
			   struct petra_error **err);
/* Point `name` at desc (replacing what it named before). Every blob desc
 * references, through indexes and manifests, must be in the store already
 * with the size its descriptor gives, or nothing is written (EIO). name is
 * stored as given (a full "name:tag" in petra's store, a bare tag in an
 * exported layout). */
int petra_store_set_ref(struct petra_store *store, const char *name,
			const struct oci_descriptor *desc, struct petra_error **err);
/* Remove a name; ENOENT when it is not there. */
int petra_store_remove_ref(struct petra_store *store, const char *name, struct petra_error **err);

/* Referrers: manifests of the store whose `subject` is another store manifest
 * (build records, SBOMs). Kept by gc while their subject is kept; fsck checks them. */
int petra_store_add_referrer(struct petra_store *store, const char *subject_digest,
			     const struct oci_descriptor *referrer, struct petra_error **err);
/* The referrers of subject_digest (artifact_type NULL: all), in the order
 * they were added; subject_digest NULL: of every subject (one read of the
 * index for a whole query). Caller frees with oci_descriptors_release. */
int petra_store_list_referrers(struct petra_store *store, const char *subject_digest,
			       const char *artifact_type, struct oci_descriptor **out, size_t *n,
			       struct petra_error **err);
/* Add referrer and drop, in the same index.json update, the subject's other
 * referrers of its artifact type (their blobs stay until prune): one of a
 * kind per image, as a build record is. */
int petra_store_replace_referrers(struct petra_store *store, const char *subject_digest,
				  const struct oci_descriptor *referrer, struct petra_error **err);
/* Forget a referrer (its blobs stay until prune); ENOENT when not listed. */
int petra_store_remove_referrer(struct petra_store *store, const char *referrer_digest,
				struct petra_error **err);

/* Integrity. */
typedef void (*petra_store_report_fn)(void *ctx, const char *object, const char *problem);
/* Every digest reachable from index.json (indexes, manifests, configs and
 * layers). Missing or unreadable documents are reported, not fatal. */
int petra_store_reachable(struct petra_store *store, struct strset *reachable,
			  petra_store_report_fn report, void *ctx, unsigned *problems,
			  struct petra_error **err);
/* Re-hash every blob, check every reference and size. *problems counts
 * what was reported. */
int petra_store_check(struct petra_store *store, petra_store_report_fn report, void *ctx,
		      unsigned *problems, struct petra_error **err);
/* The temporary blobs of writers that died (a writing open of the store
 * removes them): how many, and their bytes, added to *count and *bytes. */
void petra_store_stale_temporaries(struct petra_store *store, uint64_t *count, uint64_t *bytes);
/* Remove unreferenced blobs and stale temporary files (needs
 * PETRA_STORE_EXCLUSIVE). */
int petra_store_prune(struct petra_store *store, bool dry_run, uint64_t *blobs, uint64_t *bytes,
		      struct petra_error **err);

#endif
