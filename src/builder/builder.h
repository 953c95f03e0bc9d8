/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builder: a Dockerfile and a context directory into an image in the store,
 * with no daemon.
 *
 *  - stages: the target's stage and those it needs (FROM a stage,
 *    COPY --from, RUN --mount from=) are built, in dependency order,
 *    independent ones in parallel threads; the others are skipped.
 *  - a stage's filesystem is its layers, each extracted once into the
 *    rootfs layer cache, under a fresh overlayfs upper directory per step;
 *    the upper directory becomes the new layer (through the layer codec)
 *    and then, renamed, that layer's cache directory. Where overlayfs
 *    cannot be mounted, each step works on a copy of the stage's root and
 *    the layer is what differs from the layers (said once per build).
 *  - RUN runs in sandbox/: new mount, pid, ipc and uts namespaces, the
 *    stage's root as /, the image's environment, user and working
 *    directory; --mount=type=secret (a tmpfs, for that step only),
 *    type=cache (kept under the store, outside the image), type=bind (the
 *    context or a stage) and type=tmpfs.
 *  - the cache: each step's key is derived from its parent's key, the
 *    instruction as expanded, the build arguments it sees and, for COPY,
 *    ADD and bind mounts, the content (not the times) of what it reads. A
 *    step whose key is known is not run again; its result (config and
 *    layers) is taken as it was, times included, so a build with nothing
 *    changed gives the same image.
 *  - reproducible with a source date epoch: file times clamped to it,
 *    every created time set from it.
 *  - the base policy: with a policy file, every base (FROM, COPY --from,
 *    RUN --mount from= an image) has the rewrite rules applied before it
 *    is resolved (each change said), and a banned or unapproved base stops
 *    the build with the policy's reason. The policy's build section limits
 *    the network and can require a reproducible build.
 *  - provenance: the manifest carries the base image's name and digest,
 *    the creation time, and the git origin (only a remote URL, normalised,
 *    without credentials) and revision (marked dirty) of the context;
 *    the index entry of each name carries the build record (Dockerfile
 *    digest and path, context, target, build arguments).
 *
 * The calling thread moves into a private mount namespace: every mount a
 * build makes is gone when the process is. Nothing here keeps global
 * state: several builds may run in one process, in threads.
 */
#ifndef PETRA_BUILDER_H
#define PETRA_BUILDER_H

#include "base/base.h"
#include "layer/layer.h"
#include "oci/oci.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "sandbox/sandbox.h"

/* A secret for RUN --mount=type=secret: a file, or an environment
 * variable of petra's. */
struct builder_secret {
	const char *id;
	const char *path; /* a file, or NULL */
	const char *env;  /* an environment variable, or NULL */
};

enum builder_snapshot {
	BUILDER_SNAPSHOT_AUTO,    /* overlayfs, else the copy fallback */
	BUILDER_SNAPSHOT_OVERLAY, /* overlayfs or fail */
	BUILDER_SNAPSHOT_COPY,    /* always the copy fallback */
};

/* Called with each line of progress; NULL writes them on stderr. */
typedef void (*builder_output_fn)(void *ctx, const char *line);

/* When a base (FROM, --from) comes from its registry. */
enum builder_pull {
	BUILDER_PULL_MISSING, /* when the store lacks it and the name says its registry */
	BUILDER_PULL_ALWAYS,  /* every time, so a moved tag is seen */
	BUILDER_PULL_NEVER,   /* only the store */
};

struct builder_options {
	const char *context;     /* the context directory */
	const char *dockerfile;  /* NULL: <context>/Dockerfile */
	const char *const *tags; /* names for the image ("name[:tag]") */
	size_t n_tags;
	const char *const *build_args; /* "K=V", or "K": petra's environment's value */
	size_t n_build_args;
	const char *target; /* a stage name or index; NULL: the last stage */
	const struct builder_secret *secrets;
	size_t n_secrets;
	bool no_cache;                      /* run every step, whatever the cache holds */
	enum sandbox_network network;       /* RUN's network; RUN --network=host needs host */
	enum layer_compression compression; /* of new layers */
	bool squash;                        /* the build's layers as one */
	bool quiet;                         /* no progress, no RUN output */
	bool reproducible;                  /* source_date_epoch is set */
	time_t source_date_epoch;
	unsigned jobs; /* stages built at once; 0: the number of cores */
	enum builder_snapshot snapshot;
	/* Run these shell commands on top of the target stage, as RUN steps
	 * (a flow's cleanup commands). */
	const char *const *extra_run;
	size_t n_extra_run;
	/* The policy file (bases; the build section), or NULL. */
	const struct petra_policy *policy;
	/* Pulling bases: when, and how the registry is reached (NULL: the
	 * defaults). The policy judges a base by the digest the registry
	 * names before any of its blobs is fetched. */
	enum builder_pull pull;
	const struct registry_options *registry;
	/* Put before every progress line ("[builder] "), or NULL. */
	const char *label;
	builder_output_fn output;
	void *output_ctx;
	/* The build record (lineage/) of the image: its producer (NULL:
	 * "build"; a flow says "flow") and parameters added to the
	 * record's (borrowed; NULL: none). */
	const char *record_producer;
	const json_t *record_parameters;
};

struct builder_result {
	char digest[OCI_DIGEST_SIZE]; /* the manifest's */
	unsigned steps;               /* steps of the stages built */
	unsigned cached;              /* of which taken from the cache */
	int exit_status;              /* a failed RUN's status, else 0 */
};

/* Build; on success result->digest names the image (every tag points to
 * it). A failing RUN makes this return -EIO with its exit status in
 * result->exit_status and the last lines of its output in the message.
 * The store's names are changed only on success. */
int builder_run(struct petra_store *store, const struct builder_options *o,
		struct builder_result *result, struct petra_error **err);

/* Copy `path` from below root_fd (an image's root, mounted) into the
 * directory dest_fd as COPY copies into a directory: a file as
 * dest/<its name>, a directory as dest/<its name>/ with its contents;
 * symlinks in `path` followed inside the root, none below it; modes,
 * owners and times kept. For a flow's artifacts. */
int builder_copy_out(int root_fd, const char *path, int dest_fd, struct petra_error **err);

#endif
