/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hardening profile as data, shared by what sandbox_spawn does and
 * what sandbox_oci_config tells runc to do, so the two cannot drift.
 */
#include "internal.h"

#include <linux/sched.h>
#include <sys/ioctl.h>

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
const char *const sandbox_denied_syscalls[] = {
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
const uint64_t sandbox_namespace_flags[] = {
    CLONE_NEWNS,     CLONE_NEWUTS,  CLONE_NEWIPC,
    CLONE_NEWUSER,   CLONE_NEWPID,  CLONE_NEWNET,
    CLONE_NEWCGROUP, CLONE_NEWTIME, 0,
};

/* Faking input into a terminal the container shares with its caller. */
const unsigned long sandbox_denied_ioctls[] = {TIOCSTI, TIOCLINUX, 0};
