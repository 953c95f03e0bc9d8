/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hardening profile as data, shared by what sandbox_spawn does and
 * what sandbox_oci_config tells runc to do, so the two cannot drift: the
 * seccomp rules in particular reach both seccomp.c and oci.c only through
 * sandbox_seccomp_rules().
 */
#include "internal.h"

#include <linux/sched.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/socket.h>

const struct sandbox_standard_mount sandbox_standard_mounts[SANDBOX_N_STANDARD_MOUNTS] = {
    {"/proc", true},
    {"/dev", true},
    {"/sys", true},
    {"/etc/hosts", false},
    {"/etc/resolv.conf", false},
};

bool sandbox_is_standard_mount(const char *path)
{
	for (size_t i = 0; i < SANDBOX_N_STANDARD_MOUNTS; i++)
		if (!strcmp(path, sandbox_standard_mounts[i].target))
			return true;
	return false;
}

/* Hidden (a read-only empty tmpfs, or /dev/null for files), as runc and
 * crun hide them: kernel memory, keys, timers and hardware details. */
const char *const sandbox_masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};

/* Readable but never writable: kernel tunables and triggers. */
const char *const sandbox_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* Kernel modules, kexec, reboot, swap, clocks, accounting, keyrings, BPF,
 * perf, ptrace and other processes' memory, file handles (the
 * open_by_handle_at escape), mounting and namespaces, userfaultfd,
 * io_uring, obsolete and legacy calls: what the container default refuses
 * to a container without CAP_SYS_ADMIN and friends. */
static const char *const denied_syscalls[] = {
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "sysfs",
    "_sysctl",
    "syslog",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vhangup",
    "vm86",
    "vm86old",
    NULL,
};

/* clone() flags that make namespaces, refused as unshare() is. */
static const uint64_t namespace_flags[] = {
    CLONE_NEWNS,     CLONE_NEWUTS,  CLONE_NEWIPC,
    CLONE_NEWUSER,   CLONE_NEWPID,  CLONE_NEWNET,
    CLONE_NEWCGROUP, CLONE_NEWTIME, 0,
};

/* Faking input into a terminal the container shares with its caller. */
static const unsigned long denied_ioctls[] = {TIOCSTI, TIOCLINUX, 0};

/* Socket families no network namespace covers: vsock reaches the host's
 * (and a hypervisor's agents') vsock services from any namespace. */
static const int denied_socket_families[] = {AF_VSOCK, 0};

void sandbox_seccomp_rules(sandbox_seccomp_rule_fn fn, void *ctx)
{
	for (size_t i = 0; denied_syscalls[i]; i++)
		fn(ctx, &(struct sandbox_seccomp_rule){denied_syscalls[i], EPERM, -1, 0, 0});
	for (size_t i = 0; namespace_flags[i]; i++)
		fn(ctx, &(struct sandbox_seccomp_rule){"clone", EPERM, 0, namespace_flags[i],
						       namespace_flags[i]});
	/* clone3 passes its flags in memory, out of a filter's sight: ENOSYS
	 * makes the C library fall back to clone(), which is checked. */
	fn(ctx, &(struct sandbox_seccomp_rule){"clone3", ENOSYS, -1, 0, 0});
	/* The kernel takes these arguments as 32-bit values: only those bits
	 * are compared, or a caller could slip past with high bits set. */
	for (size_t i = 0; denied_ioctls[i]; i++)
		fn(ctx,
		   &(struct sandbox_seccomp_rule){"ioctl", EPERM, 1, 0xffffffff, denied_ioctls[i]});
	for (size_t i = 0; denied_socket_families[i]; i++)
		fn(ctx, &(struct sandbox_seccomp_rule){"socket", EPERM, 0, 0xffffffff,
						       (uint64_t)denied_socket_families[i]});
}
