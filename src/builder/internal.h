/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The builder's internals shared by its files; not part of the API.
 *
 * Below the step engine (step.h, stage.c): the per-build object (session.c),
 * a stage's image as it is built and the step cache (state.c), a step's view
 * of the stage's filesystem and its layer (fs.c), the tree copier
 * (copier.c), bases and --from sources (base.c), provenance (git.c).
 * Nothing declared here calls the engine or a step kind.
 */
#ifndef PETRA_BUILDER_INTERNAL_H
#define PETRA_BUILDER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "builder.h"
#include "context/context.h"
#include "dockerfile/dockerfile.h"
#include "image/image.h"
#include "rootfs/rootfs.h"

/* ---- the per-build object (session.c) ---- */

/* What every stage and step of one build shares: its options and inputs,
 * its scratch space, its output, whether overlayfs works, and whether the
 * build is being cancelled. Passed down to the engine and the step kinds. */
struct builder_session {
	struct petra_store *store;
	const struct builder_options *o;
	time_t now;    /* the source date epoch, or the start */
	bool parallel; /* more than one stage may run at once: no progress bars */
	/* The build's inputs (owned by build.c, read-only while stages run). */
	int context_fd;
	const struct context_ignore *ignore;
	const struct dockerfile_vars *build_args; /* given ones and the automatic ones */
	/* Scratch space: <store>/build, and <store>/build/tmp/<id> locked by
	 * <id>.lock while the build lives. */
	char *build_dir;
	char *dir;
	char *empty_dir; /* an empty lower directory for scratch stages */
	int lock_fd;
	char *lock_path;
	unsigned next_id;                   /* atomic */
	pthread_mutex_t lock;               /* everything below */
	int overlay;                        /* -1 unknown, 0 copy fallback, 1 overlayfs */
	struct petra_error *overlay_error;  /* why not */
	bool cancelled;                     /* a stage failed: the others stop */
	int exit_status;                    /* the first failed RUN's */
	struct builder_material *materials; /* every image used, for the record */
	size_t n_materials;
	time_t started; /* the wall clock at the start (the record's startedOn) */
	pthread_mutex_t output_lock;
};

/* An image the build used: a stage's FROM ("from"), a COPY --from
 * ("copy-from") or a RUN --mount from= ("mount-from"). */
struct builder_material {
	size_t stage;      /* the index of the stage that used it */
	char *stage_label; /* its AS name, else its index */
	char *kind;
	char *name; /* as resolved (policy rewrites applied) */
	char digest[OCI_DIGEST_SIZE];
};
/* Note a material (once per stage, kind and digest); stage_name is the
 * stage's AS name or NULL (its index is its label then). */
void builder_note_material(struct builder_session *s, size_t stage, const char *stage_name,
			   const char *kind, const char *name, const char *digest);

void builder_session_init(struct builder_session *s, struct petra_store *store,
			  const struct builder_options *o);
/* The scratch space (stale sessions of dead builds removed first). */
int builder_session_open(struct builder_session *s, struct petra_error **err);
void builder_session_release(struct builder_session *s);
/* A fresh scratch directory in the session; caller frees the path. */
int builder_scratch_dir(struct builder_session *s, const char *what, char **path,
			struct petra_error **err);
/* Print one progress line; stage (a label, or NULL) prefixes it when
 * stages run in parallel. */
void builder_say(struct builder_session *s, const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether overlayfs works here (probed once; said once if not). With
 * --snapshot overlay and no overlayfs, fails with the reason. */
int builder_use_overlay(struct builder_session *s, bool *overlay, struct petra_error **err);
/* Stop: the stages still running fail at their next step. */
void builder_cancel(struct builder_session *s);
bool builder_cancelled(struct builder_session *s);
/* A RUN's exit status, kept if it is the build's first. */
void builder_note_exit_status(struct builder_session *s, int status);

/* ---- a stage's image as it is built, keys, the cache (state.c) ---- */

struct builder_layer {
	struct oci_descriptor desc;
	char diff_id[OCI_DIGEST_SIZE];
	char *dir; /* the layer's cache directory once extracted */
	int empty; /* 1 no entries (left out of mounts), 0 some, -1 not known */
};

struct builder_state {
	json_t *config; /* the whole image config document */
	struct builder_layer *layers;
	size_t n_layers;
	bool cmd_set; /* CMD was set in this stage (ENTRYPOINT then keeps it) */
};
void builder_state_release(struct builder_state *s);
void builder_state_copy(struct builder_state *dst, const struct builder_state *src);
/* The "config" object of the config document (created when missing). */
json_t *builder_state_runtime(struct builder_state *s);
/* The "Env" of a state as KEY=VALUE strings. */
void builder_state_env(struct builder_state *s, struct strvec *env);
/* Add a layer (and its diff_id) to the state. */
void builder_state_add_layer(struct builder_state *s, const struct layer_info *info, char *dir);
/* Append a history entry; created_by is what the step was. */
void builder_state_add_history(struct builder_state *s, const char *created_by, bool empty_layer,
			       time_t created);
/* A digest that names the state (config and layers), for cache keys of
 * what builds on another stage. */
void builder_state_identity(const struct builder_state *s, char out[OCI_DIGEST_SIZE]);
/* The state of an image's manifest and config (a base, a --from image). */
void builder_state_from_image(struct builder_state *s, const struct image *img);

void builder_key_add(struct oci_hasher *h, const char *field);
void builder_key_addf(struct oci_hasher *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 1 and *state when a record exists for key and its blobs are there. */
int builder_cache_load(struct builder_session *b, const char *key, struct builder_state *state);
void builder_cache_save(struct builder_session *b, const char *key,
			const struct builder_state *state);

/* ---- the stages of the build ---- */

struct builder_stage {
	size_t index;
	const struct dockerfile_stage *df;
	char *label; /* "build" or "stage-1": what progress lines show */
	bool needed;
	size_t *deps; /* stages it needs done first */
	size_t n_deps;
	struct builder_state state; /* when done */
	char key[OCI_DIGEST_SIZE];
	/* Provenance: the image at the bottom of its FROM chain. */
	char *base_name;
	char base_digest[OCI_DIGEST_SIZE];
	size_t base_stage;     /* the stage whose FROM named that image (SIZE_MAX: none) */
	size_t n_base_layers;  /* layers that came with the base */
	size_t n_base_history; /* history entries that did */
	unsigned steps, cached;
	/* The last step that could come from the cache ran instead: the
	 * next one very likely misses too (its key chains from this one). */
	bool last_ran;
};

/* The Dockerfile's stages and which one is built (build.c plans it). */
struct builder_plan {
	const struct dockerfile *df;
	struct builder_stage *stages;
	size_t n_stages;
	size_t target;
	struct strset used_build_args; /* under the session's lock */
};

/* The stage named (by AS name or index) `ref`, before stage `before`; NULL
 * when it is not one. */
struct builder_stage *builder_find_stage(const struct builder_plan *p, const char *ref,
					 size_t before);

/* ---- bases and --from sources (base.c) ---- */

/* `kind` is the material kind an image source is noted as ("copy-from",
 * "mount-from"). */
/* A base image (FROM, COPY --from, a mount's from=): the policy's
 * rewrite rules applied (each change said for the stage labelled `stage`),
 * the policy's verdict, then the store (or an OCI layout). *img is loaded. */
int builder_resolve_base(struct builder_session *b, const char *stage, const char *ref,
			 struct image *img, struct petra_error **err);
/* The build section of the policy, checked against the options. */
int builder_check_policy(struct builder_session *b, struct petra_error **err);
/* A stage (before `st`) or an image named by --from: its state. */
int builder_source_state(struct builder_session *b, const struct builder_plan *p,
			 const struct builder_stage *st, const char *from, const char *kind,
			 struct builder_state *out, struct petra_error **err);
/* "user[:group]" resolved in the state's layers. */
int builder_resolve_user(struct builder_session *b, struct builder_state *state, const char *user,
			 uid_t *uid, gid_t *gid, char **home, struct petra_error **err);

/* ---- a step's filesystem and its layer (fs.c) ---- */

/* The layers' cache directories, bottom first, empty layers left out
 * (extracting what is not cached yet). */
int builder_stage_lowers(struct builder_session *b, struct builder_state *s, struct strvec *lowers,
			 struct petra_error **err);

/* A writable view of the stage for one step: an overlay (upper and work
 * directories next to the mount point), in the fallback a copy, or an
 * empty directory (a layer that does not depend on what is below). */
struct builder_view {
	char *dir;    /* the step's scratch directory */
	char *root;   /* where the stage's root is, on the host side */
	char *upper;  /* overlay: the upper directory */
	char *work;   /* overlay: the work directory */
	bool overlay; /* else a copy of the layers in root */
	bool mounted; /* root is a mount point right now */
	struct strvec lowers;
	time_t copied_at; /* copy: when the copy was made */
};
/* Prepare the view; with mount, also mount it on root (for in-process
 * steps; RUN lets the sandbox mount it). */
int builder_view_open(struct builder_session *b, struct builder_state *s, bool mount,
		      struct builder_view *v, struct petra_error **err);
/* An empty directory as root and upper: its content is the layer. */
int builder_view_open_empty(struct builder_session *b, const char *what, struct builder_view *v,
			    struct petra_error **err);
/* A read-only view of a stage's root for reading (COPY --from, bind
 * mounts); the caller unmounts and removes it with builder_view_release. */
int builder_view_open_readonly(struct builder_session *b, struct builder_state *s,
			       struct builder_view *v, struct petra_error **err);
void builder_view_unmount(struct builder_view *v);
/* Remove what RUN's mount points left behind (paths that were missing
 * before the step and hold nothing but empty mount targets now). */
void builder_view_prune_stubs(struct builder_view *v, const struct strvec *targets);
/* Turn the view's changes into a layer (always: even with none, when
 * always); *changed false when there were none. The state gets the layer. */
int builder_view_commit(struct builder_session *b, struct builder_view *v, struct builder_state *s,
			bool always, bool *changed, struct layer_info *info,
			struct petra_error **err);
void builder_view_release(struct builder_view *v);

/* ---- the tree copier (copier.c) ---- */

/* Create the missing directories of `path` inside the root, each 0755
 * and owned by uid:gid; existing ones (symlinks followed inside the root)
 * are kept as they are. */
int builder_mkdir_in_root(int root_fd, const char *path, uid_t uid, gid_t gid,
			  struct petra_error **err);

/* How COPY copies its sources into a destination root. */
struct builder_copy {
	struct builder_session *session; /* for scratch space; may be NULL */
	int root_fd;                     /* the destination root */
	const char *dest;                /* relative to the root, clean */
	bool into;                       /* sources go into dest (a directory) */
	bool keep_owner;                 /* sources from a stage keep their owners */
	bool chown;
	uid_t uid;
	gid_t gid;
	bool chmod;
	mode_t mode;
	bool unpack;               /* ADD: a local archive is unpacked */
	time_t text_time;          /* the times of files written from text */
	struct progress *progress; /* or NULL */
	/* Copying in a thread of its own: the bytes copied so far (for the
	 * progress the step's thread draws), and its cancellation. */
	atomic_uint_least64_t *copied;
	const atomic_bool *cancel;
};
/* A copier keeps what it copied (hard links are linked again across the
 * sources of one COPY). */
struct builder_copier;
struct builder_copier *builder_copier_new(const struct builder_copy *o);
void builder_copier_free(struct builder_copier *c);
/* Copy `src` (below src_root, through ig) to dest. */
int builder_copier_copy(struct builder_copier *c, int src_root, const char *src,
			const struct context_ignore *ig, struct petra_error **err);
/* Write `text` as the file `name` in dest (into), or as dest. */
int builder_copier_text(struct builder_copier *c, const char *name, const char *text,
			struct petra_error **err);
/* Copy `src` (below src_root, through ig) into the directory dest_fd as
 * COPY would into a directory, owners kept. */
int builder_copy_tree(struct builder_session *b, int src_root, const char *src,
		      const struct context_ignore *ig, int dest_fd, struct petra_error **err);

/* ---- the image the build ends with (output.c) ---- */

/* What the build record names besides the options. */
struct builder_inputs {
	const char *dockerfile_path;
	const char *dockerfile_digest;
	const char *context_dir;
};
/* The stage's image written (config, manifest) and named by each tag. */
int builder_write_image(struct builder_session *b, const struct builder_stage *st,
			const struct builder_inputs *in, char digest[OCI_DIGEST_SIZE],
			struct petra_error **err);

/* ---- provenance (git.c) ---- */

struct builder_git_info {
	char *source;   /* the origin's URL normalised; NULL: none, or not a remote */
	char *revision; /* the commit, "-dirty" appended when the tree differs */
};
/* Find the checkout holding dir; 0 with nothing set when there is none. */
int builder_git_describe(const char *dir, struct builder_git_info *info, struct petra_error **err);
void builder_git_info_release(struct builder_git_info *info);
/* A remote's URL as an image records it (see git.c), or NULL when it is
 * not a remote (a local path, file://). */
char *builder_git_normalize_url(const char *url);

#endif
