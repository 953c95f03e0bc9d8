/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lineage: what an image was made from, and what was made from an image.
 *
 *  - records: every producer (build, flow, harden, run --learn --save,
 *    rebuild) writes, for the image it writes, an in-toto Statement v1 with
 *    a SLSA provenance v1 predicate naming every image it was made from
 *    (by resolved name and manifest digest) and how (Dockerfile, context,
 *    build args, policy). The statement is stored as a referrer of the image
 *    (oci/: a manifest whose subject is the image), so it travels with push,
 *    copy, pull and export/import oci:, and can be signed.
 *  - queries (derived-from) over records and layer prefixes.
 */
#ifndef PETRA_LINEAGE_H
#define PETRA_LINEAGE_H

#include "base/base.h"
#include "oci/oci.h"
#include "registry/registry.h"

/* ---- records ----------------------------------------------------------- */

#define LINEAGE_ARTIFACT_TYPE  "application/vnd.in-toto+json"
#define LINEAGE_PREDICATE_TYPE "https://slsa.dev/provenance/v1"
#define LINEAGE_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
/* buildDefinition.buildType of petra's records. */
#define LINEAGE_BUILD_TYPE "https://petra.dev/build/v1"
/* The referrer manifest's annotation naming the predicate's type. */
#define LINEAGE_ANNOTATION_PREDICATE "in-toto.io/predicate-type"

struct lineage_material {             /* one image this image was made from */
	char *role;                   /* "base" (the final stage's FROM), "stage NAME" (another
				       * stage's FROM), "copy-from", "mount-from", "harden",
				       * "learn", "rebase" */
	char *name;                   /* the reference as resolved (after policy rewrites) */
	char digest[OCI_DIGEST_SIZE]; /* its manifest digest */
};

struct lineage_record {
	char *producer; /* "build", "flow", "harden", "learn", "rebuild", "rebase" */
	struct lineage_material *materials;
	size_t n_materials;
	char *dockerfile_path;                   /* as given (absolute), or NULL */
	char dockerfile_digest[OCI_DIGEST_SIZE]; /* "" when none */
	char *context_dir;                       /* absolute, or NULL */
	char *git_remote, *git_revision;         /* of the context, or NULL */
	char **build_args;                       /* "K=V" */
	size_t n_build_args;
	char *target;                        /* or NULL */
	char policy_digest[OCI_DIGEST_SIZE]; /* "" when no policy */
	json_t *parameters;                  /* producer-specific (harden/flow options), or NULL */
	char *image_name; /* the subject's name as written, or NULL (a store name is used) */
	time_t started, finished; /* 0: unknown (finished: when saved) */
	char *builder_id;         /* runDetails.builder.id as loaded; saving writes petra's */
};

/* Store `record` as the build record of the store image subject_digest
 * (a referrer of it, replacing no earlier record: the newest is loaded). */
int lineage_record_save(struct petra_store *store, const char *subject_digest,
			const struct lineage_record *record, struct petra_error **err);
/* -ENOENT (err NULL) when the image has no record. */
int lineage_record_load(struct petra_store *store, const char *subject_digest,
			struct lineage_record *record, struct petra_error **err);
void lineage_record_release(struct lineage_record *record);
/* The newest record's statement as stored (verified against its digest);
 * -ENOENT (err NULL) when the image has none. Caller frees *text. */
int lineage_record_read(struct petra_store *store, const char *subject_digest, char **text,
			size_t *len, struct petra_error **err);
/* Add a material (strings copied). */
void lineage_record_add_material(struct lineage_record *record, const char *role, const char *name,
				 const char *digest);
/* The in-toto statement of `record` for the image subject_name (may be
 * NULL: the digest stands for it) at subject_digest. */
json_t *lineage_record_statement(const struct lineage_record *record, const char *subject_name,
				 const char *subject_digest);
/* Parse a statement strictly: a wrong-typed field is an error naming it.
 * Fields petra does not know are ignored (other tools' records). */
int lineage_record_parse(const char *data, size_t len, struct lineage_record *record,
			 struct petra_error **err);

/* ---- queries (query.c) ------------------------------------------------- */

/* One image as the queries see it: what its manifest, config, record and
 * annotations say about where it came from. */
struct lineage_image {
	char digest[OCI_DIGEST_SIZE]; /* manifest */
	struct strvec names;          /* store names, or "HOST/REPO:TAG" in a registry */
	struct strvec diff_ids;       /* config rootfs.diff_ids */
	bool has_record;
	struct lineage_record record;        /* when has_record: producer and materials only */
	char record_digest[OCI_DIGEST_SIZE]; /* the referrer manifest that holds it, or "" */
	char base_digest[OCI_DIGEST_SIZE];   /* org.opencontainers.image.base.digest, or "" */
	char *base_name;                     /* org.opencontainers.image.base.name, or NULL */
	char hardened_from[OCI_DIGEST_SIZE]; /* petra harden's label (images older than records) */
};
struct lineage_images {
	struct lineage_image *v;
	size_t n;
};
/* Every image manifest of the store (named or not; referrers left out),
 * each manifest and config read once, or none: from the store's query
 * cache when index.json has not changed since it was written (and, when
 * it has, what the cache knows of unchanged manifests and records). */
int lineage_images_from_store(struct petra_store *store, struct lineage_images *out,
			      struct petra_error **err);
/* Every tag of each repository ("HOST/REPO"): manifests, configs and
 * referrers (build records) read from the registry, no layer pulled. */
int lineage_images_from_registry(const char *const *repos, size_t n_repos,
				 const struct registry_options *options, struct lineage_images *out,
				 struct petra_error **err);
void lineage_images_release(struct lineage_images *images);

/* Whether `image`'s layer chain starts with all of `base`'s and is longer
 * (same diff_ids in the same order): the derivation rule for images no
 * record describes. */
bool lineage_layers_extend(const char *const *base, size_t n_base, const char *const *image,
			   size_t n_image);

struct lineage_derivation {
	char digest[OCI_DIGEST_SIZE]; /* the derived image's manifest */
	char **names;                 /* its names (may be none) */
	size_t n_names;
	char **path; /* image <- ... <- base, each "NAME@DIGEST (role)" */
	size_t n_path;
	bool by_layers; /* found (somewhere on the path) by layer prefix, not by records */
};
struct lineage_derivations {
	struct lineage_derivation *v;
	size_t n;
};
/* Every image of `images` derived (transitively, through records, layer
 * prefixes and base annotations, in that order of preference for the
 * path) from the image base_digest. base_diff_ids (NULL when unknown: the
 * base is gone) give its layers when it is not among `images`. */
int lineage_derive(const struct lineage_images *images, const char *base_digest,
		   const struct strvec *base_diff_ids, struct lineage_derivations *out,
		   struct petra_error **err);
/* Every store image derived (transitively, through records and layer
 * prefixes) from `base` (a reference or a manifest digest). */
int lineage_derived_from(struct petra_store *store, const char *base,
			 struct lineage_derivations *out, struct petra_error **err);
/* The same over the tags of registry repositories ("HOST/REPO"); base is a
 * store reference, a registry reference or a manifest digest. */
int lineage_derived_from_registry(struct petra_store *store, const char *const *repos,
				  size_t n_repos, const struct registry_options *options,
				  const char *base, struct lineage_derivations *out,
				  struct petra_error **err);
const struct lineage_derivation *lineage_derivations_find(const struct lineage_derivations *d,
							  const char *digest);
void lineage_derivations_release(struct lineage_derivations *d);

/* What `digest` was made from, as a tree: {"name", "digest", "role",
 * "how": "record"|"annotation"|"layers", "from": [...]} (the root has no
 * role nor how). Through records, else the base annotations, else the
 * longest layer prefix among `images`. */
json_t *lineage_tree(const struct lineage_images *images, const char *digest);

#endif
