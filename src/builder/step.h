/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The step engine and the step kinds' contract with it.
 *
 * The engine (stage.c) runs every step the same way:
 *
 *   prepare -> key -> cache -> announce -> view -> apply -> commit -> record
 *
 * and a kind (RUN, COPY/ADD, WORKDIR/VOLUME, the config-only instructions,
 * squash) supplies only what differs, through struct builder_step_kind.
 * The kinds include this header and internal.h and call nothing of the
 * engine; the engine reaches them only through the kind table (kinds.c).
 */
#ifndef PETRA_BUILDER_STEP_H
#define PETRA_BUILDER_STEP_H

#include "internal.h"

/* What a step works on. */
enum builder_view_mode {
	BUILDER_VIEW_NONE,      /* config only: no cache, no view, no layer */
	BUILDER_VIEW_MOUNTED,   /* the stage's root, writable, mounted */
	BUILDER_VIEW_UNMOUNTED, /* the same prepared, for the sandbox to mount (RUN) */
	BUILDER_VIEW_EMPTY,     /* an empty directory: a layer independent of what is below */
};

enum builder_step_flags {
	BUILDER_STEP_SAY_DONE = 1 << 0,     /* a "done in" line after the work */
	BUILDER_STEP_ALWAYS_LAYER = 1 << 1, /* a layer even when nothing changed */
};

/* One step: what the engine gives a kind, and what the kind sets. */
struct builder_step {
	struct builder_session *session;
	const struct builder_plan *plan;
	struct builder_stage *stage;
	const struct dockerfile_instruction *in; /* NULL: command, or no instruction */
	const char *command;                     /* a flow's cleanup command (RUN) */
	struct dockerfile_scope *scope;
	struct builder_state *state; /* the stage's, to update */
	char label[64];              /* "[3/9]", or "" */
	const char *text;            /* what the step shows and records */
	const char *prefix;          /* "ONBUILD " for a trigger, else "" */
	const char *say_as;          /* the stage label its lines carry, or NULL */
	struct oci_hasher key;       /* the step's cache key so far */

	/* Set by the kind's prepare (the engine's defaults in brackets). */
	enum builder_view_mode view; /* [the kind's] */
	char *created_by;            /* the history entry [text] */
	bool no_history;             /* config only: no history entry (ARG) */
	/* A layer recorded by itself under this key too, and taken from there
	 * on any parent (COPY --link). */
	bool has_layer_key;
	char layer_key[OCI_DIGEST_SIZE];
	/* apply may start before the key is known, in a thread of its own,
	 * because the step very likely misses the cache: its result is used
	 * once the key is known and missed, a hit cancels it. */
	bool speculate;
	void *data; /* the kind's own */

	/* Set by the engine for apply. */
	struct progress *progress; /* NULL: no bar (parallel stages, or apply in a thread) */
	atomic_uint_least64_t copied;
	atomic_bool cancel;
	/* The result. */
	bool cached;
};

struct builder_step_kind {
	const char *name;
	unsigned flags;
	enum builder_view_mode view;
	/* The title of the progress bar apply draws (through s->progress, or
	 * s->copied when it runs in a thread), or NULL. */
	const char *progress;
	/* Parse and expand the instruction; a config-only step changes the
	 * config here. Adds to s->key what is quick to know. */
	int (*prepare)(struct builder_step *s, struct petra_error **err);
	/* The rest of the key: what is slow to hash (contents). May be NULL. */
	int (*key)(struct builder_step *s, struct petra_error **err);
	/* The work, in the view the engine opened. NULL with BUILDER_VIEW_NONE. */
	int (*apply)(struct builder_step *s, struct builder_view *v, struct petra_error **err);
	/* Free s->data. May be NULL. */
	void (*release)(struct builder_step *s);
};

/* The kinds (one file each; config.c has two). */
extern const struct builder_step_kind builder_kind_run;
extern const struct builder_step_kind builder_kind_copy;
extern const struct builder_step_kind builder_kind_config;
extern const struct builder_step_kind builder_kind_dirs;
extern const struct builder_step_kind builder_kind_squash;

/* The kind that carries out an instruction (kinds.c). */
const struct builder_step_kind *builder_step_kind_for(enum dockerfile_kind kind);

/* ---- the engine (stage.c) ---- */

/* Run one step through its kind. s->key holds the parent's key and what
 * names the step; on success it is the key the next step chains from. */
int builder_step_execute(struct builder_step *s, const struct builder_step_kind *kind,
			 struct petra_error **err);
/* Build one stage: FROM, the base's ONBUILD triggers, each instruction,
 * and for the target the options' extra commands. */
int builder_stage_build(struct builder_session *b, struct builder_plan *p, struct builder_stage *st,
			struct petra_error **err);

#endif
