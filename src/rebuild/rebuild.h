/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rebuild: every image derived from a banned (or named) base made again on
 * the patched base, in dependency order — a rebuild storm.
 *
 *  - The plan (plan.c): the roots (each store image the policy bans, or
 *    the base given), the images derived from them (lineage_derived_from),
 *    and for each what will be done: a layer rebase (every layer above its
 *    base made by COPY/ADD/WORKDIR, no RUN, and no other affected
 *    material), a rebuild from its build record (Dockerfile, context
 *    directory or git revision, build args, target), a replay of a
 *    harden record, or nothing (why: no record, context gone). Levels: an
 *    image made from another affected image comes after it, and the
 *    rebuilt parent is its new base.
 *  - Execution (run.c): up to `jobs` images at once (threads; builder_run
 *    and harden_image keep no global state). The result takes the
 *    original names; the old image keeps each name NAME:TAG as
 *    NAME:TAG-old (REBUILD_OLD_SUFFIX), its index entry marked with
 *    REBUILD_ANNOTATION_REPLACED_BY, so a rollback is a `petra tag` and a
 *    later plan skips it.
 *  - Layer rebase (rebase.c): the base's layers swapped for the new
 *    base's, the config's rootfs, history and base-owned settings
 *    rewritten, the base annotations set; no step runs.
 *  - Kubernetes (kube.c): the plan as one Indexed Job per level.
 *
 * The plan and the report are JSON documents (rebuild_plan_json,
 * rebuild_report_json); docs/man/petra-rebuild.md describes them.
 */
#ifndef PETRA_REBUILD_H
#define PETRA_REBUILD_H

#include "base/base.h"
#include "lineage/lineage.h"
#include "oci/oci.h"
#include "policy/policy.h"
#include "registry/registry.h"

/* The old image's names: "NAME:TAG" becomes "NAME:TAG-old". */
#define REBUILD_OLD_SUFFIX "-old"
/* On the old image's index entries: the manifest digest that replaced it. */
#define REBUILD_ANNOTATION_REPLACED_BY "org.petra.rebuild.replaced-by"

enum rebuild_mode {
	REBUILD_MODE_AUTO,        /* rebase what can be, rebuild the rest */
	REBUILD_MODE_REBASE_ONLY, /* rebase what can be, list the rest */
	REBUILD_MODE_NO_REBASE,   /* rebuild everything */
};

enum rebuild_action {
	REBUILD_ACTION_REBUILD, /* the builder, from the record */
	REBUILD_ACTION_REBASE,  /* swap the base layers */
	REBUILD_ACTION_HARDEN,  /* harden the rebuilt input again */
	REBUILD_ACTION_LEARN,   /* the learned writable paths onto the rebuilt input */
	REBUILD_ACTION_NONE,    /* cannot be done here: see why */
};
const char *rebuild_action_name(enum rebuild_action a);

enum rebuild_outcome {
	REBUILD_PENDING,
	REBUILD_REBUILT,
	REBUILD_REBASED,
	REBUILD_UNCHANGED,       /* the new image is the old one */
	REBUILD_FAILED,          /* see error and output */
	REBUILD_NOT_REBUILDABLE, /* see why */
	REBUILD_SKIPPED,         /* an image it is made from failed, or --rebase-only */
};
const char *rebuild_outcome_name(enum rebuild_outcome o);

/* A base the plan starts from. */
struct rebuild_root {
	char *name; /* a store name of it */
	char digest[OCI_DIGEST_SIZE];
	char *replacement; /* the policy's rewrite of name, or NULL (the name as it is now) */
};

struct rebuild_item {
	char digest[OCI_DIGEST_SIZE]; /* the image as it is */
	struct strvec names;          /* its store names */
	unsigned level;
	enum rebuild_action action;
	char *why; /* NONE: why; REBUILD: why not a rebase (may be NULL) */
	bool has_record;
	struct lineage_record record;
	size_t *deps; /* items this one is made from */
	size_t n_deps;
	/* Its base (REBASE, and the base named in the plan): either a root or
	 * an item. */
	ssize_t base_root, base_item; /* -1 when not */
	char *context;                /* REBUILD: the directory, or NULL for a git clone */
	/* Results. */
	enum rebuild_outcome outcome;
	char new_digest[OCI_DIGEST_SIZE];
	char *error;          /* FAILED: the message (the step and its last output lines) */
	struct strbuf output; /* FAILED: the last lines of progress */
	double seconds;
	/* What each NAME-old named before this run (digest "" when nothing),
	 * put back when the image fails. */
	struct oci_descriptor *old_before;
};

struct rebuild_plan {
	struct rebuild_root *roots;
	size_t n_roots;
	struct rebuild_item *items; /* by level, then by name */
	size_t n_items;
	unsigned n_levels;
};
void rebuild_plan_release(struct rebuild_plan *plan);

struct rebuild_options {
	const struct petra_policy *policy; /* bans and rewrites; may be NULL with derived_from */
	bool banned;                       /* roots: every store image the policy bans */
	const char *derived_from;          /* or this reference */
	enum rebuild_mode mode;
	unsigned jobs; /* images at once; 0: 1 */
	bool quiet;    /* no progress on stderr */
	/* How bases are pulled for builds and a pod's images (NULL: defaults). */
	const struct registry_options *registry;
};

/* Find the roots and the affected images and decide what to do with each. */
int rebuild_plan_make(struct petra_store *store, const struct rebuild_options *o,
		      struct rebuild_plan *plan, struct petra_error **err);
/* Carry the plan out; each item's outcome says how it went. Fails only
 * when petra itself cannot go on (the store). */
int rebuild_execute(struct petra_store *store, const struct rebuild_options *o,
		    struct rebuild_plan *plan, struct petra_error **err);

/* Rebase one image: the layers of old_base at the bottom of image are
 * replaced by new_base's. Fills new_digest; names nothing. */
int rebuild_rebase_image(struct petra_store *store, const char *image, const char *old_base,
			 const char *new_base, const char *new_base_name,
			 char new_digest[OCI_DIGEST_SIZE], struct petra_error **err);
/* Whether the layers of `image` above its first n_base layers were all
 * made without running anything (COPY, ADD, WORKDIR; no RUN, no --chown
 * by name). NULL, or why not (caller frees). */
char *rebuild_rebase_unsafe(const json_t *config, size_t base_history);

json_t *rebuild_plan_json(const struct rebuild_plan *plan);
json_t *rebuild_report_json(const struct rebuild_plan *plan);

struct rebuild_kube_options {
	const char *petra_image; /* the image the Jobs run */
	const char *registry;    /* "host[:port]/prefix" the results are pushed to */
	const char *name_prefix; /* Job names: PREFIX-level-N */
	const char *namespace_;  /* or NULL */
	unsigned parallelism;    /* per Job; 0: the level's size */
};
/* ---- one image of a plan, in a pod (--from-plan) ---- */

/* A plan as rebuild_plan_json wrote it (the roots, the levels, each
 * image's record as far as the plan carries it). */
int rebuild_plan_from_json(const json_t *json, struct rebuild_plan *plan, struct petra_error **err);

struct rebuild_remote_options {
	const char *prefix; /* "host[:port]/path": where results go, and local names come from */
	const struct registry_options *registry;
	unsigned level;
	size_t index;
};
/* Where a pod finds `name`: a name that says its registry is its own,
 * another is PREFIX/name. Caller frees. */
char *rebuild_remote_name(const char *prefix, const char *name);
/* Make the index-th image of a level in an empty store: what it is made
 * from pulled (earlier levels' results from the prefix), the image made
 * as rebuild_execute does (a build's bases rewritten to the roots'
 * replacements and the prefix), its names pushed to the prefix. *item is
 * the plan's item, whose outcome says how it went. */
int rebuild_execute_one(struct petra_store *store, const struct rebuild_options *o,
			struct rebuild_plan *plan, const struct rebuild_remote_options *ro,
			ssize_t *item, struct petra_error **err);

/* The images of a level that a Job runs (action not NONE), and the item
 * of its index-th one (-1 past the end): the order `--from-plan --level
 * --index` and the Jobs share. */
size_t rebuild_level_size(const struct rebuild_plan *plan, unsigned level);
ssize_t rebuild_level_item(const struct rebuild_plan *plan, unsigned level, size_t index);

/* The plan as Kubernetes Jobs, one Indexed Job per level (YAML documents
 * appended to out). */
int rebuild_emit_kubernetes(const struct rebuild_plan *plan, const struct rebuild_kube_options *o,
			    struct strbuf *out, struct petra_error **err);

#endif
