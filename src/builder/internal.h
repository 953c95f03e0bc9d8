/* SPDX-License-Identifier: Apache-2.0 */
/* build internals shared by its files; not part of the API. */
#ifndef PETRA_BUILDER_INTERNAL_H
#define PETRA_BUILDER_INTERNAL_H

#include <pthread.h>

#include "builder.h"
#include "context/context.h"
#include "dockerfile/dockerfile.h"
#include "image/image.h"
#include "rootfs/rootfs.h"

/* ---- a stage's image as it is built ---- */

struct build_layer {
	struct oci_descriptor desc;
	char diff_id[OCI_DIGEST_SIZE];
	char *dir; /* the layer's cache directory once extracted */
	int empty; /* 1 no entries (left out of mounts), 0 some, -1 not known */
};

struct image_state {
	json_t *config; /* the whole image config document */
	struct build_layer *layers;
	size_t n_layers;
	bool cmd_set; /* CMD was set in this stage (ENTRYPOINT then keeps it) */
};
void image_state_release(struct image_state *s);
void image_state_copy(struct image_state *dst, const struct image_state *src);
/* The "config" object of the config document (created when missing). */
json_t *image_state_runtime(struct image_state *s);
/* Add a layer (and its diff_id) to the state. */
void image_state_add_layer(struct image_state *s, const struct layer_info *info, char *dir);
/* Append a history entry; created_by is what the step was. */
void image_state_add_history(struct image_state *s, const char *created_by, bool empty_layer,
			     time_t created);
/* A digest that names the state (config and layers), for cache keys of
 * what builds on another stage. */
void image_state_identity(const struct image_state *s, char out[OCI_DIGEST_SIZE]);

/* ---- the build ---- */

struct stage {
	size_t index;
	const struct dockerfile_stage *df;
	char *label; /* "build" or "stage-1": what progress lines show */
	bool needed;
	size_t *deps; /* stages it needs done first */
	size_t n_deps;
	struct image_state state; /* when done */
	char key[OCI_DIGEST_SIZE];
	/* Provenance: the image at the bottom of its FROM chain. */
	char *base_name;
	char base_digest[OCI_DIGEST_SIZE];
	size_t n_base_layers;  /* layers that came with the base */
	size_t n_base_history; /* history entries that did */
	unsigned steps, cached;
	/* The last step that could come from the cache ran instead: the
	 * next one very likely misses too (its key chains from this one). */
	bool last_ran;
};

struct build {
	struct petra_store *store;
	const struct builder_options *o;
	struct dockerfile *df;
	char *dockerfile_path;
	char dockerfile_digest[OCI_DIGEST_SIZE];
	char *context_dir;
	int context_fd;
	struct context_ignore *ignore;
	struct dockerfile_vars *build_args; /* given ones and the automatic ones */
	struct stage *stages;
	size_t n_stages;
	size_t target;
	bool parallel; /* more than one stage may run at once */
	time_t now;    /* the source date epoch, or the start */

	char *build_dir;         /* <store>/build */
	char *session_dir;       /* <store>/build/tmp/<id>: this build's scratch space */
	int session_lock;        /* held while the session lives */
	char *session_lock_path; /* <session_dir>.lock */
	char *empty_dir;         /* an empty lower directory for scratch stages */

	pthread_mutex_t lock;              /* everything below */
	int overlay;                       /* -1 unknown, 0 copy fallback, 1 overlayfs */
	struct petra_error *overlay_error; /* why not */
	unsigned next_id;                  /* atomic */
	bool failed;                       /* a stage failed: the others stop */
	int exit_status;
	struct strset used_build_args;
	pthread_mutex_t output_lock;
};

/* A fresh scratch directory in the session; caller frees the path. */
int build_scratch_dir(struct build *b, const char *what, char **path, struct petra_error **err);
/* Print one progress line (label and stage prefix added). */
void build_say(struct build *b, const struct stage *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether overlayfs works here (probed once; says so once if not). */
bool build_use_overlay(struct build *b);

/* ---- stages (stage.c) ---- */

int stage_build(struct build *b, struct stage *st, struct petra_error **err);
/* The stage named (by AS name or index) `ref`, before stage `before`; NULL
 * when it is not one. */
struct stage *build_find_stage(struct build *b, const char *ref, size_t before);

/* What one step works with. */
struct step {
	struct build *b;
	struct stage *st;
	const struct dockerfile_instruction *in;
	struct dockerfile_scope *scope;
	struct image_state *state; /* to update */
	char label[64];            /* "[3/9]" */
	const char *text;          /* the instruction as shown */
	const char *prefix;        /* "ONBUILD " for a trigger, else "" */
	struct oci_hasher key;     /* the step's cache key so far */
};
/* Print the step's line, marked when its result comes from the cache. */
void step_announce(struct step *s, bool cached);
/* The step's key is complete: finish it into key (s->key then restarts
 * from it, for the steps after). */
void step_key_final(struct step *s, char key[OCI_DIGEST_SIZE]);
/* A new layer or not, and the history entry; the result goes into the
 * cache under key. */
void step_record(struct step *s, const char *key, const char *created_by, bool changed);
struct rootview;
/* The end of a step that worked in v (r: how that went): its changes
 * committed as a layer, v released, the step recorded under key. info
 * and changed (may be NULL) tell about the layer. */
int step_finish(struct step *s, struct rootview *v, int r, const char *key, const char *created_by,
		struct layer_info *info, bool *changed, struct petra_error **err);

/* ---- the filesystem of a stage (fs.c) ---- */

/* The layers' cache directories, bottom first, empty layers left out
 * (extracting what is not cached yet). */
int fs_stage_lowers(struct build *b, struct image_state *s, struct strvec *lowers,
		    struct petra_error **err);

/* A writable view of the stage for one step: an overlay (upper and work
 * directories next to the mount point) or, in the fallback, a copy. */
struct rootview {
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
int rootview_open(struct build *b, struct image_state *s, bool mount, struct rootview *v,
		  struct petra_error **err);
void rootview_unmount(struct rootview *v);
/* Remove what RUN's mount points left behind (paths that were missing
 * before the step and hold nothing but empty mount targets now). */
void rootview_prune_stubs(struct rootview *v, const struct strvec *targets);
/* Turn the view's changes into a layer; *info->digest empty ("") when
 * nothing changed. The state gets the layer. */
int rootview_commit(struct build *b, struct rootview *v, struct image_state *s, bool *changed,
		    struct layer_info *info, struct petra_error **err);
void rootview_release(struct rootview *v);
/* A read-only view of a stage's root for reading (COPY --from, bind
 * mounts); the caller unmounts and removes it with rootview_release. */
int rootview_open_readonly(struct build *b, struct image_state *s, struct rootview *v,
			   struct petra_error **err);

/* Write a layer from an overlay-format directory; its cache directory
 * becomes `dir` (renamed). */
int fs_commit_dir(struct build *b, const char *dir, struct layer_info *info, char **cached,
		  struct petra_error **err);

/* ---- the cache (cache.c) ---- */

void key_add(struct oci_hasher *h, const char *field);
void key_addf(struct oci_hasher *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 and *state when a record exists for key and its blobs are there. */
int cache_load(struct build *b, const char *key, struct image_state *state);
void cache_save(struct build *b, const char *key, const struct image_state *state);

/* ---- steps ---- */

int step_run(struct step *s, struct petra_error **err);
int step_copy(struct step *s, struct petra_error **err);
/* Commands appended to the target (extra_run): one RUN in shell form. */
int step_run_command(struct step *s, const char *command, struct petra_error **err);

/* Shared by RUN and COPY: "user[:group]" resolved in the stage's root. */
int stage_resolve_user(struct build *b, struct image_state *state, const char *user, uid_t *uid,
		       gid_t *gid, char **home, struct petra_error **err);
/* The "Env" of a state as KEY=VALUE strings. */
void state_env(struct image_state *s, struct strvec *env);
/* Create the missing directories of `path` inside the root, each 0755
 * and owned by uid:gid; existing ones (symlinks followed inside the root)
 * are kept as they are. */
int build_mkdir_in_root(int root_fd, const char *path, uid_t uid, gid_t gid,
			struct petra_error **err);
/* Copy `src` (below src_root, through ig) into the directory dest_fd as
 * COPY would into a directory, owners kept. */
int build_copy_tree(struct build *b, int src_root, const char *src, const struct context_ignore *ig,
		    int dest_fd, struct petra_error **err);
/* A stage or an image named by --from: its state (borrowed or loaded). */
int build_source_state(struct step *s, const char *from, struct image_state *out,
		       struct petra_error **err);

/* ---- the final image (image.c) ---- */

/* A base image (FROM, COPY --from, a mount's from=): the policy's
 * rewrite rules applied (each change said for stage st), the policy's
 * verdict, then the store (or an OCI layout). *img is loaded. */
int build_resolve_base(struct build *b, const struct stage *st, const char *ref, struct image *img,
		       struct petra_error **err);
/* The build section of the policy, checked against the options. */
int build_check_policy(struct build *b, struct petra_error **err);
int build_squash(struct build *b, struct stage *st, struct petra_error **err);
int build_write_image(struct build *b, struct stage *st, char digest[OCI_DIGEST_SIZE],
		      struct petra_error **err);

/* ---- provenance (git.c) ---- */

struct git_info {
	char *source;   /* the origin's URL normalised; NULL: none, or not a remote */
	char *revision; /* the commit, "+dirty" appended when the tree differs */
};
/* Find the checkout holding dir; 0 with nothing set when there is none. */
int git_describe(const char *dir, struct git_info *info, struct petra_error **err);
void git_info_release(struct git_info *info);
/* A remote's URL as an image records it (see git.c), or NULL when it is
 * not a remote (a local path, file://). */
char *builder_git_normalize_url(const char *url);

#endif
