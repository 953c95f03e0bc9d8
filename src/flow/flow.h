/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flow: multi-step build flows, Habitus build.yml (version 2016-03-14).
 *
 * build.steps is a map of steps; each names an image (name), a Dockerfile
 * and context, build args, a target stage, artifacts (src[:dest]) to take
 * out of its image, the steps it depends on (by name), cleanup commands,
 * no_cache, secrets and a command to run in its image. "_env(VAR)" in a
 * value is petra's $VAR, as in Habitus.
 *
 * Steps build in dependency order, independent ones in parallel (bounded
 * by jobs); a cycle or an unknown dependency is an error naming the steps.
 * Better than Habitus where it fell short: a step's secrets reach only its
 * build, only as RUN --mount=type=secret (no network, no layer);
 * multi-stage Dockerfiles work in a step; cleanup commands run as a last
 * RUN and the step's layers are then squashed, without privileges;
 * artifacts are copied straight out of the image's layers (no container).
 */
#ifndef PETRA_FLOW_H
#define PETRA_FLOW_H

#include "base/base.h"
#include "builder/builder.h"
#include "oci/oci.h"

/* Handed through to every step's build; the flow itself never reads it. */
struct petra_policy;

struct flow_options {
	const char *file; /* the build.yml */
	unsigned jobs;    /* steps at once; 0: the number of cores */
	bool no_cache;    /* every step, as its own no_cache */
	bool quiet;
	enum sandbox_network network;
	enum layer_compression compression;
	bool reproducible;
	time_t source_date_epoch;
	const struct petra_policy *policy; /* every step's builds and the gate; may be NULL */
	/* A containers policy.json the gate applies to a step's image before
	 * its command runs (trust_gate_check_with); NULL: the policy's own. */
	const char *signature_policy;
	/* Each progress line (the steps' builds' and the flow's own, such as
	 * "[step] artifact SRC -> DEST"); NULL writes them on stderr. Steps
	 * run in threads: it may be called from several at once. */
	builder_output_fn output;
	void *output_ctx;
};

struct flow_step_result {
	char *step;  /* the key in build.steps */
	char *image; /* "name:latest" */
	char digest[OCI_DIGEST_SIZE];
};

struct flow_result {
	struct flow_step_result *steps; /* in the order they finished */
	size_t n_steps;
};
void flow_result_release(struct flow_result *r);

/* Read and check a flow (versions, keys, dependencies) without running it. */
int flow_check(const char *file, struct petra_error **err);

int flow_run(struct petra_store *store, const struct flow_options *o, struct flow_result *result,
	     struct petra_error **err);

#endif
