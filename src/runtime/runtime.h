/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runtime: containers of images.
 *
 *  - run: an image (its config: Entrypoint, Cmd, Env, User, WorkingDir and
 *    the writable-paths label) and the caller's options become a sandbox
 *    configuration: a read-only overlay of the cached layers, tmpfs where
 *    writes are allowed, the image's user. The container runs in the
 *    foreground (petra waits, forwards signals, passes the exit status on)
 *    or detached under a small supervisor process that holds its exit
 *    status.
 *  - state: <run dir>/<id>/ holds state.json (written atomically), the
 *    log of a detached container and, once it ended, its exit status.
 *    The run dir is $PETRA_RUN_DIR, else /run/petra for root, else
 *    $XDG_RUNTIME_DIR/petra, else /tmp/petra-run-UID; whichever it is,
 *    it must be the caller's own, mode 0700, not a symbolic link.
 *  - learn: the container runs on a throwaway writable layer in memory;
 *    what it wrote there gives the minimal set of directories it must be
 *    able to write, which can be saved into a new image's label.
 *  - ps, stop, rm, exec (one container, or all that match filters), diff.
 *  - bundle: an OCI runtime bundle for runc of the same container.
 */
#ifndef PETRA_RUNTIME_H
#define PETRA_RUNTIME_H

#include "base/base.h"
#include "image/image.h"
#include "oci/oci.h"
#include "rootfs/rootfs.h"
#include "sandbox/sandbox.h"

/* Where container state lives. Caller frees. */
char *runtime_default_run_dir(void);

struct runtime_run_options {
	const char *image;
	char *const *command;               /* replaces the image's Cmd; NULL keeps it */
	const char *name;                   /* NULL: the short id */
	const char *user;                   /* NULL: the image's USER */
	const char *workdir;                /* NULL: the image's WorkingDir */
	char *const *env;                   /* extra "K=V" (or "K" from petra's environment) */
	const struct sandbox_mount *mounts; /* --tmpfs and -v */
	size_t n_mounts;
	enum sandbox_network network;
	uint64_t cap_add;
	bool read_write;        /* a writable root (an upper directory on disk) */
	bool learn;             /* a throwaway writable root in memory, observed; the
				 * caller moves into a private mount namespace */
	bool detach;            /* under a supervisor; returns once started */
	bool remove;            /* remove the state when the container ends */
	bool interactive;       /* keep stdin */
	bool tty;               /* a pseudo-terminal */
	bool non_root;          /* refuse to start as uid 0 */
	bool copy_root;         /* merge the layers into a tmpfs instead of overlayfs */
	const char *supervisor; /* the petra-supervisor program for -d; NULL: none */
	/* Foreground only: the container's stdin, stdout and stderr when
	 * use_stdio (e.g. pipes to capture its output). */
	bool use_stdio;
	int stdio[3];
	/* A directory with upper/ and work/ to use as the writable layer
	 * (several runs then see each other's changes); NULL: none. */
	const char *upper_dir;
	/* Foreground only: > 0 kills the container after this many
	 * milliseconds (runtime_run then fails with -ETIMEDOUT). */
	unsigned timeout_ms;
};

struct runtime_run_result {
	char id[65];
	/* The container's status (foreground); when runtime_run fails: 127
	 * the command was not found, 126 it could not be executed, else 125. */
	int exit_code;
	/* learn: what it wrote, minimal directories first */
	struct image_writable_path *learned;
	size_t n_learned;
	struct strvec learn_notes; /* learn: what a tmpfs cannot fix */
};
void runtime_run_result_release(struct runtime_run_result *r);

int runtime_run(struct petra_store *store, const char *run_dir, const struct runtime_run_options *o,
		struct runtime_run_result *result, struct petra_error **err);

/* A new image like `image` whose writable-paths label holds paths (same
 * layers, new config and manifest), named `name`. */
int runtime_save_writable_paths(struct petra_store *store, const char *image,
				const struct image_writable_path *paths, size_t n, const char *name,
				char digest[OCI_DIGEST_SIZE], struct petra_error **err);

/* Mount the image's filesystem read-only for inspection and return a
 * descriptor of its root (resolve paths below it with RESOLVE_IN_ROOT).
 * The calling process moves into a private mount namespace for this (the
 * mount is detached at once and lives as long as the descriptor). */
int runtime_open_image_root(struct petra_store *store, const struct image *img, const char *run_dir,
			    int *root_fd, struct petra_error **err);

/* ---- containers ---- */

struct runtime_container {
	char *id;
	char *dir;                               /* its state directory */
	json_t *state;                           /* state.json */
	const char *name, *image, *image_digest; /* borrowed from state */
	pid_t pid;
	bool running;
	int exit_code; /* -1 while running or unknown */
	time_t created;
};
void runtime_container_release(struct runtime_container *c);
void runtime_containers_free(struct runtime_container *list, size_t n);

/* Every container, oldest first. */
int runtime_list(const char *run_dir, struct runtime_container **list, size_t *n,
		 struct petra_error **err);
/* By id, unique id prefix or name. */
int runtime_find(const char *run_dir, const char *what, struct runtime_container *c,
		 struct petra_error **err);

/* SIGTERM, then SIGKILL after grace seconds; waits for the end. */
int runtime_stop(struct runtime_container *c, unsigned grace, struct petra_error **err);
/* Remove a container's state; a running one only with force (killed). */
int runtime_remove(struct runtime_container *c, bool force, struct petra_error **err);

/* rootfs_collect_garbage with the layers of every container of run_dir in
 * use, running or not (a stopped one still has its layers mounted, or will
 * again). The store must be open with PETRA_STORE_EXCLUSIVE. */
int runtime_collect_garbage(struct petra_store *store, const char *run_dir, bool dry_run,
			    struct rootfs_gc_result *result, struct petra_error **err);

struct runtime_exec_options {
	char *const *argv;
	char *const *env; /* extra "K=V" */
	const char *user; /* NULL: the container's */
	const char *workdir;
	bool interactive, tty;
	int stdio[3]; /* -1: the caller's */
};
/* Run a command in a running container and wait; *exit_code as run: the
 * command's, or on an error 127 (not found), 126 (not executable) or 125. */
int runtime_exec(struct petra_store *store, const struct runtime_container *c,
		 const struct runtime_exec_options *o, int *exit_code, struct petra_error **err);

/* A filter for exec --all and ps: "image=REF" (the container's image is
 * REF's manifest), "base=DIGEST" (the image's base annotation, or a
 * manifest whose layers start the image's layer chain, or one of its layer
 * digests), "label=K=V" or "label=K" (the image's labels), "name=N",
 * "id=PREFIX". */
int runtime_filter_match(struct petra_store *store, const struct runtime_container *c,
			 const char *filter, bool *match, struct petra_error **err);
int runtime_filter_check(const char *filter, struct petra_error **err);

/* What changed in a container's writable places since it started: one
 * call per path, kind 'A' (added), 'C' (changed) or 'D' (deleted). */
typedef void (*runtime_diff_fn)(void *ctx, char kind, const char *path);
int runtime_diff(struct petra_store *store, const struct runtime_container *c, runtime_diff_fn fn,
		 void *ctx, struct petra_error **err);

/* ---- bundles ---- */

/* DIR/rootfs (the image unpacked) and DIR/config.json for runc: the same
 * container petra run would start with these options. */
int runtime_bundle(struct petra_store *store, const struct runtime_run_options *o, const char *dir,
		   struct petra_error **err);

#endif
