/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox: one process in an isolated, hardened container.
 *
 * sandbox_spawn() clones a child into new mount, pid, ipc, uts and cgroup
 * namespaces (a network namespace with only loopback up for
 * SANDBOX_NETWORK_NONE; a user namespace when not root). Inside a private
 * mount tree the child mounts the root (rootfs_mount: overlayfs over the
 * image's layers, read-only unless an upper directory is given), a fresh
 * /proc, a minimal /dev (null zero full random urandom tty, pts, shm),
 * read-only /sys, /etc/hosts and /etc/resolv.conf read-only, the caller's
 * tmpfs and bind mounts, masks the /proc and /sys paths runc and crun mask
 * and makes /proc/sys and friends read-only; then pivot_root, and the
 * process part: user and groups, capabilities reduced to `caps`
 * (bounding, permitted, effective; `ambient` also survives exec for a
 * non-root user), no_new_privs, the default seccomp profile, environment,
 * working directory, and exec. The child is PID 1 of its namespace.
 *
 * Mount targets missing from a read-only image are created in a small
 * tmpfs "scaffold" layered on top of the image, never in the image itself.
 *
 * sandbox_exec() runs another process in the namespaces of a running
 * container, with the same process hardening. sandbox_oci_config() turns a
 * configuration into an OCI runtime config.json (for runc).
 *
 * Exit status convention (sandbox_exit_code): the process's own status,
 * 128+N when killed by signal N.
 */
#ifndef PETRA_SANDBOX_H
#define PETRA_SANDBOX_H

#include <signal.h>

#include "base/base.h"
#include "rootfs/rootfs.h"

enum sandbox_mount_kind {
	SANDBOX_MOUNT_TMPFS,
	SANDBOX_MOUNT_BIND,
};

struct sandbox_mount {
	enum sandbox_mount_kind kind;
	const char *target; /* absolute path inside the container */
	const char *source; /* bind: a host file or directory */
	bool readonly;
	/* tmpfs only */
	uint64_t size; /* bytes; 0: 64 MiB */
	mode_t mode;   /* 0: 0755 */
	uid_t uid;
	gid_t gid;
	/* Filled with what the root has at target before the tmpfs covers
	 * it (podman's tmpcopyup): owners, modes and times kept. */
	bool copy_up;
};

enum sandbox_network {
	SANDBOX_NETWORK_NONE, /* own network namespace, loopback only */
	SANDBOX_NETWORK_HOST, /* the host's network */
};

struct sandbox_process {
	char *const *argv; /* argv[0] is looked up in the PATH of env */
	char *const *env;  /* "K=V", NULL-terminated */
	const char *cwd;   /* NULL: "/" */
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups */
	size_t n_groups;
	uint64_t caps;    /* bit N: keep capability N */
	uint64_t ambient; /* subset of caps raised as ambient capabilities */
	bool no_seccomp;  /* skip the default seccomp profile (--privileged-ish; tests) */
	int stdio[3];     /* descriptors for 0, 1, 2; -1 keeps the caller's */
	bool tty;         /* stdio[0] is a terminal: the controlling tty of its session */
};

struct sandbox_config {
	struct rootfs_mount_options root;
	/* An empty host directory the root is assembled on. It is only ever
	 * mounted on inside the private mount namespace. */
	const char *work_dir;
	const struct sandbox_mount *mounts;
	size_t n_mounts;
	enum sandbox_network network;
	const char *hostname; /* NULL: "petra" */
	struct sandbox_process process;
	/* The container is killed (SIGKILL to its PID 1, which takes the whole
	 * PID namespace with it) when the thread that spawned it ends, however
	 * it ends: a foreground container must not outlive its petra. */
	bool die_with_parent;
};

/* The mount targets sandbox_spawn gives every container besides its
 * configured mounts: /proc, /dev, /sys, /etc/hosts, /etc/resolv.conf.
 * What a container writes there is not the image's (diff, learn and the
 * builder skip them). Defined once, in profile.c. */
struct sandbox_standard_mount {
	const char *target;
	bool dir; /* a directory mount point, else a file */
};
#define SANDBOX_N_STANDARD_MOUNTS 5
extern const struct sandbox_standard_mount sandbox_standard_mounts[SANDBOX_N_STANDARD_MOUNTS];
/* Is path (clean, absolute) one of them? */
bool sandbox_is_standard_mount(const char *path);

/* The default capability set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL
 * NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID (no MKNOD, NET_RAW,
 * SYS_CHROOT or AUDIT_WRITE). */
uint64_t sandbox_default_caps(void);
/* "NET_ADMIN", "cap_net_admin", "ALL" (all bits) into a mask. */
int sandbox_cap_parse(const char *name, uint64_t *mask, struct petra_error **err);
/* Names of the capabilities in mask ("CAP_CHOWN", ...), for config.json. */
void sandbox_cap_names(uint64_t mask, struct strvec *out);

/* Start the container. Returns once the command was exec'd (then *pid is
 * its host pid) or failed: ENOENT when the command was not found, EACCES
 * when it could not be executed, another code when the container could not
 * be set up; the message says which step failed. */
int sandbox_spawn(const struct sandbox_config *config, pid_t *pid, struct petra_error **err);

/* Run a process inside the namespaces and root of the running container
 * whose PID 1 has host pid `target`; same return as sandbox_spawn. The
 * process joins non-dumpable and holding only its stdio, so the container
 * cannot reach into it before it execs. */
int sandbox_exec(pid_t target, const struct sandbox_process *process, pid_t *pid,
		 struct petra_error **err);
/* The same for the container's PID 1 given as a pidfd (pidfd_open(2)):
 * the caller checked that the pidfd is the container's process, and it
 * stays that process whatever pids are reused meanwhile. */
int sandbox_exec_pidfd(int pidfd, const struct sandbox_process *process, pid_t *pid,
		       struct petra_error **err);

/* A copy made while waiting: from a pipe the process writes to the
 * caller's stdout or stderr, or (input) from the caller's stdin to a pipe
 * the process reads, whose `to` sandbox_wait always closes (when stdin
 * ends, else when it returns). For a caller whose stdio is a terminal the
 * container must not be given. */
struct sandbox_relay {
	int from, to;
	bool input;
};

struct sandbox_wait_options {
	/* Forward these signals (received by the caller, which must have
	 * blocked them) to the process. NULL: none. */
	const sigset_t *forward;
	/* Copy between this pseudo-terminal master and the caller's stdin and
	 * stdout while waiting; -1: none. */
	int pty_master;
	/* At most three more copies; NULL: none. */
	const struct sandbox_relay *relays;
	size_t n_relays;
	/* A second SIGINT (among the forwarded signals) kills the process
	 * (SIGKILL) instead: a second Ctrl-C ends even a process that
	 * ignores or handles the first. */
	bool kill_on_second_interrupt;
	/* > 0: SIGKILL the process after this many milliseconds; sandbox_wait
	 * then still reaps it and fills *status, but fails with -ETIMEDOUT. */
	unsigned timeout_ms;
	/* On that timeout, also kill what the process started: its session
	 * and process group (it must lead both, as sandbox processes do) and
	 * its descendants that left them. For a process joined to a running
	 * container, whose pid namespace does not end with it. */
	bool timeout_kills_descendants;
};

/* Wait for pid to end; *status receives sandbox_exit_code(). */
int sandbox_wait(pid_t pid, const struct sandbox_wait_options *options, int *status,
		 struct petra_error **err);
/* 0..255 from a wait status: the exit code, or 128+signal. */
int sandbox_exit_code(int wait_status);

/* The signals petra run forwards (TERM INT HUP QUIT USR1 USR2 WINCH). */
void sandbox_forward_signals(sigset_t *set);

/* Reporting a forked child's failure to its parent through a close-on-exec
 * pipe: the child writes the exit code and error and _exits; the parent
 * reads until the pipe closes: nothing means the child exec'd (or ended
 * without complaint). pid (may be -1) is reaped on failure. */
__attribute__((noreturn)) void sandbox_child_fail(int fd, int exit_code, struct petra_error *err);
int sandbox_child_result(int fd, pid_t pid, struct petra_error **err);

/* Run fn in a child made by glibc's fork(), which takes the allocator's
 * and stdio's locks around itself: from a process with other threads
 * (a builder's parallel stages, a flow's steps) that child is the safe
 * place to call sandbox_spawn, whose raw clone(2) could otherwise inherit
 * a lock another thread held at that moment. fn reports a failure with
 * sandbox_child_fail(report_fd, ...), closes report_fd once it is under
 * way (or leaves that to its exit), and returns the child's exit status.
 * Returns when report_fd closed: 0 and *pid (the caller waits for it), or
 * the error fn reported (the child reaped). */
int sandbox_fork_helper(int (*fn)(void *ctx, int report_fd), void *ctx, pid_t *pid,
			struct petra_error **err);

/* An OCI runtime config (config.json) doing what sandbox_spawn does, for
 * a bundle whose rootfs is the directory "rootfs" next to it. */
json_t *sandbox_oci_config(const struct sandbox_config *config);

/* ---- rootless (userns.c) ----
 * A user without privileges gets a user namespace of its own in which it
 * is root: its uid and gid are 0 there, and its subordinate ranges of
 * /etc/subuid and /etc/subgid (by name or uid) follow from 1, mapped by
 * the setuid newuidmap and newgidmap, which check that the user owns
 * them. Nothing the user does not own is ever mapped. Without ranges only
 * the caller's own ids are mapped: then 0 is the only id inside. */
struct sandbox_id_range {
	uint32_t inside, outside, count;
};
struct sandbox_rootless {
	bool active; /* the caller was not root: it now is, in its namespace */
	uid_t uid;   /* the caller's ids outside */
	gid_t gid;
	uint64_t n_uids, n_gids; /* ids 0..n-1 are mapped inside */
};
/* Move the calling process, which must be single-threaded, into that
 * namespace (nothing when it is root already: info->active is false). */
int sandbox_enter_rootless(struct sandbox_rootless *info, struct petra_error **err);
/* The ranges a subuid/subgid file's text gives user (by name or uid), at
 * most max, numbered inside from 1 on; malformed lines and ranges holding
 * id (the caller's own uid or gid, mapped to 0) or root are skipped. */
int sandbox_subid_ranges(const char *text, const char *user, uid_t uid, unsigned long id,
			 struct sandbox_id_range *ranges, size_t max, size_t *n);

#endif
