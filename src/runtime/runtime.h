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
 *    Each store has its own run dir (runtime_default_run_dir); whichever
 *    it is, it must be the caller's own, mode 0700, not a symbolic link.
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

/* Where the state of the containers of the store at store_root lives:
 * $PETRA_RUN_DIR, else <base>/<16 hex digits of the SHA-256 of the
 * store's absolute path>, <base> being /run/petra for root, else
 * $XDG_RUNTIME_DIR/petra, else /tmp/petra-run-UID. Caller frees. */
char *runtime_default_run_dir(const char *store_root);

/* Resource limits through a cgroup of the container's own (cgroup v2
 * under /sys/fs/cgroup/petra/ID, or the v1 memory, cpu and pids
 * hierarchies' petra/ID), made when any limit is set and removed when the
 * container ends. Zero: no limit. */
struct runtime_limits {
	uint64_t memory;    /* bytes (no swap beyond it) */
	uint64_t cpu_quota; /* microseconds of CPU time per 100 ms period */
	uint64_t pids;      /* processes and threads */
};
static inline bool runtime_limits_set(const struct runtime_limits *l)
{
	return l->memory || l->cpu_quota || l->pids;
}

/* -p [IP:]HOST:CONTAINER[/tcp|udp]: a port of a container in its own
 * network namespace, published on the host (ports.c). */
struct runtime_port {
	char host_ip[64]; /* default 0.0.0.0 */
	uint16_t host_port, container_port;
	bool ipv6, udp;
};
int runtime_port_parse(const char *spec, struct runtime_port *p, struct petra_error **err);
/* "127.0.0.1:8080->80/tcp", as ps shows it. Caller frees. */
char *runtime_port_text(const struct runtime_port *p);

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
	bool learn;             /* a throwaway writable root, observed; in the
				 * foreground in memory (the caller moves into a
				 * private mount namespace), detached in the
				 * container's state directory until it is removed */
	const char *learn_save; /* detached learn: the name `petra stop` saves as */
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
	/* The petra-init program: bound read-only at /.petra-init and run as
	 * PID 1, the command its child (reaped, signals forwarded); NULL:
	 * the command is PID 1. */
	const char *init;
	struct runtime_limits limits;
	/* runtime_start: the id of the stopped container of the run dir to
	 * start again (its directory, name and root) instead of a new one. */
	const char *restart_id;
	/* Published ports (network none only): a forwarder relays them. */
	const struct runtime_port *ports;
	size_t n_ports;
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
 * layers, new config and manifest), named `name`. What the label of
 * `image`, and of `name` when it names an image of the same layers,
 * already holds is kept: learning runs add up (a path below another is
 * folded into it; the same path keeps the larger size, and copy if either
 * had it). */
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

/* Is c a detached --learn container? *save: the name given with --save
 * (NULL when none was). */
bool runtime_container_learning(const struct runtime_container *c, const char **save);
/* What a detached --learn container wrote, as runtime_run returns it for a
 * foreground one (learned, n_learned, learn_notes); the container must
 * have ended (a running one is still writing). */
int runtime_learn_result(struct petra_store *store, const struct runtime_container *c,
			 struct runtime_run_result *result, struct petra_error **err);

/* SIGTERM, then SIGKILL after grace seconds; waits for the end. */
int runtime_stop(struct runtime_container *c, unsigned grace, struct petra_error **err);
/* Remove a container's state; a running one only with force (killed). */
int runtime_remove(struct runtime_container *c, bool force, struct petra_error **err);

/* Send sig to the container's first process. */
int runtime_kill(const struct runtime_container *c, int sig, struct petra_error **err);

/* The processes of a running container (its pid namespace), by pid. */
struct runtime_process {
	pid_t pid;                    /* in the container */
	pid_t host_pid;               /* on the host */
	uid_t uid;                    /* real uid, as the host sees it */
	unsigned long long cpu_ticks; /* user + system, in clock ticks */
	char *name;                   /* the kernel's command name */
	char *command;                /* the command line, arguments joined by spaces */
};
int runtime_top(const struct runtime_container *c, struct runtime_process **list, size_t *n,
		struct petra_error **err);
void runtime_processes_free(struct runtime_process *list, size_t n);

/* Copy path (absolute, clean) out of a running container's filesystem
 * (its root and mounts, as the container sees them) to dest on the host:
 * into dest when it is a directory, else as dest. Files keep their
 * permission bits (not setuid, setgid or owners), links stay links,
 * directories are copied whole; *skipped counts the devices, fifos and
 * sockets left out. */
int runtime_copy_out(const struct runtime_container *c, const char *path, const char *dest,
		     size_t *skipped, struct petra_error **err);

/* Start a stopped container again, detached under supervisor, with the
 * options it was created with (state.json keeps them): the same id, name,
 * state directory and (--read-write) root. */
int runtime_start(struct petra_store *store, const char *run_dir, struct runtime_container *c,
		  const char *supervisor, struct petra_error **err);

/* What petra uses of the kernel and whether this one has it: a JSON
 * object of booleans and strings (overlay, cgroup, seccomp, user
 * namespaces, idmapped mounts, pidfd). */
json_t *runtime_host_features(void);

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
	/* > 0: after this many milliseconds the command and every process it
	 * started in the container are killed (SIGKILL); runtime_exec then
	 * fails with -ETIMEDOUT, *exit_code the command's (137). */
	unsigned timeout_ms;
};
/* Run a command in a running container and wait; *exit_code as run: the
 * command's, or on an error 127 (not found), 126 (not executable) or 125. */
int runtime_exec(struct petra_store *store, const struct runtime_container *c,
		 const struct runtime_exec_options *o, int *exit_code, struct petra_error **err);

/* A filter for exec --all and ps: "image=REF" (the container's image is
 * REF's manifest), "base=DIGEST" (the image's base annotation, or a
 * manifest whose layers start the image's layer chain, or one of its layer
 * digests), "derived-from=REF" (the container's image derives from REF,
 * however indirectly: lineage_derived_from; or, for an image no longer in
 * the store, its layers extend REF's), "label=K=V" or "label=K" (the
 * image's labels), "name=N", "id=PREFIX". runtime_filter_match works out a
 * derived-from filter on every call: for many containers use
 * runtime_filters below. */
int runtime_filter_match(struct petra_store *store, const struct runtime_container *c,
			 const char *filter, bool *match, struct petra_error **err);
int runtime_filter_check(const char *filter, struct petra_error **err);

/* Filters for one command (ps, exec --all), all of which must match: what
 * they need from the store (the images derived from a base) is worked out
 * once, here, not per container. filters are copied. */
struct runtime_filters;
int runtime_filters_new(struct petra_store *store, const char *const *filters, size_t n,
			struct runtime_filters **out, struct petra_error **err);
int runtime_filters_match(struct runtime_filters *f, const struct runtime_container *c, bool *match,
			  struct petra_error **err);
void runtime_filters_free(struct runtime_filters *f);

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
