/* SPDX-License-Identifier: Apache-2.0 */
/* petra info: which kernel features petra uses this kernel has. Each is
 * probed the way petra uses it, without changing anything. */
#include "internal.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>

#define CGROUP2_SUPER_MAGIC 0x63677270

/* Is fs listed in /proc/filesystems? */
static bool has_filesystem(const char *fs)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		const char *name = strrchr(line, '\t');
		if (!strcmp(name ? name + 1 : line, fs))
			return true;
	}
	return false;
}

static long read_number(const char *path, long fallback)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 64, &text, NULL, &ignored) < 0)
		return fallback;
	return strtol(text, NULL, 10);
}

/* "v2", "v1" (memory, cpu and pids hierarchies) or "none". */
static const char *cgroup_version(void)
{
	struct statfs fs;
	if (statfs("/sys/fs/cgroup", &fs) == 0 && (unsigned long)fs.f_type == CGROUP2_SUPER_MAGIC)
		return "v2";
	struct stat st;
	if (stat("/sys/fs/cgroup/memory", &st) == 0 && stat("/sys/fs/cgroup/pids", &st) == 0)
		return "v1";
	return "none";
}

/* mount_setattr(2), which petra's read-only bind mounts use, and whether
 * it takes MOUNT_ATTR_IDMAP (idmapped mounts, Linux 5.12, and a
 * filesystem that allows them): asked to idmap a detached copy of the
 * root mount to the initial user namespace, a kernel that can idmap it
 * refuses that namespace (EPERM); one that cannot, the flag (EINVAL).
 * Nothing is mounted: the copy goes when its descriptor is closed. */
static void probe_mount_setattr(bool *present, bool *idmap)
{
	*present = *idmap = false;
	_cleanup_close_ int tree =
	    (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	_cleanup_close_ int userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (tree < 0 || userns < 0)
		return;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
	long r = syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr));
	*present = r == 0 || errno != ENOSYS;
	*idmap = r < 0 && errno == EPERM;
}

json_t *runtime_host_features(void)
{
	json_t *j = json_object();
	struct utsname u;
	if (uname(&u) == 0)
		json_object_set_new(j, "kernel", json_string(u.release));
	json_object_set_new(j, "overlay", json_boolean(has_filesystem("overlay")));
	json_object_set_new(j, "tmpfs", json_boolean(has_filesystem("tmpfs")));
	json_object_set_new(j, "cgroup", json_string(cgroup_version()));
	/* Seccomp filters: the kernel's (PR_GET_SECCOMP answers) and the
	 * library's version. */
	bool seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	json_object_set_new(j, "seccomp", json_boolean(seccomp));
	const struct scmp_version *v = seccomp_version();
	if (v)
		json_object_set_new(j, "libseccomp",
				    json_sprintf("%u.%u.%u", v->major, v->minor, v->micro));
	long userns = read_number("/proc/sys/user/max_user_namespaces", -1);
	json_object_set_new(j, "user_namespaces", json_boolean(userns != 0));
	bool mount_setattr, idmap;
	probe_mount_setattr(&mount_setattr, &idmap);
	json_object_set_new(j, "mount_setattr", json_boolean(mount_setattr));
	json_object_set_new(j, "idmapped_mounts", json_boolean(idmap));
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	json_object_set_new(j, "pidfd", json_boolean(pidfd >= 0));
	if (pidfd >= 0)
		close(pidfd);
	return j;
}
