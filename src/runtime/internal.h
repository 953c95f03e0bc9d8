/* SPDX-License-Identifier: Apache-2.0 */
/* runtime internals shared by its files; not part of the API. */
#ifndef PETRA_RUNTIME_INTERNAL_H
#define PETRA_RUNTIME_INTERNAL_H

#include <sys/stat.h>

#include "runtime.h"

/* A container's configuration, owning everything sandbox_config points to. */
struct runtime_spec {
	struct sandbox_config sandbox;
	struct strvec lowers;
	struct strvec argv;
	struct strvec env;
	struct strvec strings; /* targets and sources of mounts */
	struct sandbox_mount *mounts;
	size_t n_mounts;
	char *cwd;
	char *user; /* as given, for exec */
};
void runtime_spec_release(struct runtime_spec *spec);

/* Build the configuration of a container of img (layers already in
 * lowers, which the spec takes over). Label tmpfs mounts are left out
 * when learning. */
int runtime_spec_build(const struct image *img, struct strvec *lowers,
		       const struct runtime_run_options *o, struct runtime_spec *spec,
		       struct petra_error **err);

/* image_load, rootfs_prepare and runtime_spec_build: everything a
 * container of o->image needs. On failure nothing is left to release. */
int runtime_prepare(struct petra_store *store, const struct runtime_run_options *o,
		    struct image *img, struct runtime_spec *spec, struct petra_error **err);

/* Set "K=V" in env, replacing an earlier value of K. */
void runtime_env_set(struct strvec *env, const char *kv);

/* Pipes standing in for the caller's terminal. Without -t a container (or
 * an exec'd process) gets no terminal, not even the caller's: where
 * petra's stdout, stderr or (interactive) stdin is one and stdio[i] is
 * unset (-1), stdio[i] becomes a pipe that sandbox_wait copies. */
struct runtime_relay {
	int theirs[3]; /* the process's ends, closed once it started */
	struct sandbox_relay relays[3];
	size_t n;
};
#define RUNTIME_RELAY_INIT                                                                         \
	{                                                                                          \
		.theirs = { -1, -1, -1 }                                                           \
	}
int runtime_relay_setup(struct runtime_relay *t, int stdio[3], bool interactive,
			struct petra_error **err);
/* The process started (or failed to): close its ends. */
void runtime_relay_started(struct runtime_relay *t);
/* After sandbox_wait (which closed the input pipe) or instead of it. */
void runtime_relay_release(struct runtime_relay *t, bool waited);

/* The run directory is ours (owned by the effective uid), mode 0700 and
 * not a symbolic link; with create, it is made (0700) when missing. */
int runtime_run_dir_check(const char *run_dir, bool create, struct petra_error **err);

/* Write state.json of a container directory atomically. */
int runtime_state_write(int dir_fd, json_t *state, struct petra_error **err);

/* The start time of a process (field 22 of /proc/PID/stat), 0 if gone:
 * together with the pid it names one process, whatever pids get reused. */
unsigned long long runtime_process_start(pid_t pid);

/* A pidfd of a container's first process, checked to be it (the start
 * time recorded, PID 1 of a pid namespace of its own); ESRCH when it is
 * gone. Signals and setns through it reach that process or nothing. */
int runtime_container_pidfd(const struct runtime_container *c, int *pidfd,
			    struct petra_error **err);

/* Learn: the minimal writable directories from the upper directory of a
 * container that ran with spec. */
int runtime_learn_analyse(const struct runtime_spec *spec, struct image_writable_path **paths,
			  size_t *n, struct strvec *notes, struct petra_error **err);

/* Learn proposes "copy": true for a directory holding image content when
 * that content is at most this big (a tmpfs is memory; a copy is made at
 * every start). */
#define RUNTIME_LEARN_COPY_MAX (UINT64_C(1) << 20)
/* The largest tmpfs learn proposes: what run grants a label at most. */
#define RUNTIME_LEARN_MAX_SIZE (UINT64_C(64) << 20)
/* The tmpfs size learn proposes for a path that held `held` bytes. */
uint64_t runtime_learn_size(uint64_t held);

/* Paths the sandbox itself creates in a writable root (mount targets):
 * not the container's writes. */
bool runtime_spec_is_mount_target(const struct runtime_spec *spec, const char *path);

/* --init: bind the petra-init program read-only at RUNTIME_INIT_TARGET
 * and make it the command, the command its arguments (init.c). */
#define RUNTIME_INIT_TARGET "/.petra-init"
int runtime_spec_add_init(struct runtime_spec *spec, const char *init, struct petra_error **err);

/* Ports (ports.c): bind the host's sockets (fds: one per port), and,
 * once the container runs, start the forwarder process that relays them
 * into its network namespace until it ends (*forwarder: its pid, a child
 * of the caller). */
int runtime_ports_bind(const struct runtime_port *ports, size_t n, int *fds,
		       struct petra_error **err);
void runtime_ports_close(int *fds, size_t n);
int runtime_ports_start(pid_t container, const struct runtime_port *ports, const int *listen,
			size_t n, pid_t *forwarder, struct petra_error **err);

/* The options a container was made with, for state.json (restart.c):
 * runtime_start makes them options again. */
json_t *runtime_options_json(const struct runtime_run_options *o);

/* A container's cgroups (cgroup.c): one directory on cgroup v2, one per
 * controller hierarchy (memory, cpu, pids) on v1. */
struct runtime_cgroup {
	struct strvec dirs;
	struct strvec controllers; /* each dir's v1 hierarchy; "" on v2 */
};
/* Create them under petra/<id> and write the limits. */
int runtime_cgroup_create(const char *id, const struct runtime_limits *limits,
			  struct runtime_cgroup *cg, struct petra_error **err);
/* Move the calling process into them (so that what it spawns starts
 * there), remembering where it was in *saved, and back. */
int runtime_cgroup_enter(const struct runtime_cgroup *cg, struct strvec *saved,
			 struct petra_error **err);
void runtime_cgroup_leave(struct strvec *saved);
/* Remove them (waiting a little for the last processes to go). */
void runtime_cgroup_remove(struct runtime_cgroup *cg);

#endif
