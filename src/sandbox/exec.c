/* SPDX-License-Identifier: Apache-2.0 */
/* Joining a running container: setns into its namespaces, then exec. */
#include "internal.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* In this order: the user namespace first (it owns the others), the mount
 * namespace last but one (it changes how /proc paths resolve), pid last:
 * it only applies to children. */
static const struct {
	const char *name;
	int type;
} namespaces[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"mnt", CLONE_NEWNS},  {"pid", CLONE_NEWPID},
};

static bool same_namespace(int fd, const char *name)
{
	struct stat a, b;
	_cleanup_free_ char *mine = xasprintf("/proc/self/ns/%s", name);
	return fstat(fd, &a) == 0 && stat(mine, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

int sandbox_exec(pid_t target, const struct sandbox_process *p, pid_t *pid,
		 struct petra_error **err)
{
	int fds[ARRAY_SIZE(namespaces)];
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
		_cleanup_free_ char *path =
		    xasprintf("/proc/%d/ns/%s", (int)target, namespaces[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int e = errno;
			for (size_t j = 0; j < i; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			return petra_error_set_errno(err, e == ENOENT ? ESRCH : e,
						     "container process %d", (int)target);
		}
		if (same_namespace(fds[i], namespaces[i].name)) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	int errpipe[2], pidpipe[2] = {-1, -1};
	if (pipe2(errpipe, O_CLOEXEC) < 0 || pipe2(pidpipe, O_CLOEXEC) < 0) {
		int e = errno;
		for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return petra_error_set_errno(err, e, "pipe");
	}
	/* The joining happens in an intermediate child, so the caller keeps
	 * its own namespaces. Joining a pid namespace only applies to
	 * children: the intermediate creates the process with CLONE_PARENT,
	 * making it the caller's child, and exits. */
	pid_t mid = fork();
	if (mid == 0) {
		close(errpipe[0]);
		close(pidpipe[0]);
		struct petra_error *cerr = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
			if (fds[i] >= 0 && setns(fds[i], namespaces[i].type) < 0) {
				petra_error_set_errno(&cerr, errno, "join the %s namespace",
						      namespaces[i].name);
				sandbox_child_fail(errpipe[1], 125, cerr);
			}
		pid_t leaf = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (leaf == 0) {
			close(pidpipe[1]);
			int exit_code = 125;
			sandbox_process_exec(p, &exit_code, &cerr);
			sandbox_child_fail(errpipe[1], exit_code, cerr);
		}
		if (leaf < 0) {
			petra_error_set_errno(&cerr, errno, "create the process");
			sandbox_child_fail(errpipe[1], 125, cerr);
		}
		(void)!write(pidpipe[1], &leaf, sizeof(leaf));
		_exit(0);
	}
	int saved = errno;
	close(errpipe[1]);
	close(pidpipe[1]);
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (mid < 0) {
		close(errpipe[0]);
		close(pidpipe[0]);
		return petra_error_set_errno(err, saved, "fork");
	}
	pid_t leaf = -1;
	ssize_t n = fs_read_full(pidpipe[0], &leaf, sizeof(leaf));
	close(pidpipe[0]);
	waitpid(mid, NULL, 0);
	/* No pid: the intermediate failed and said why on errpipe. */
	int r = sandbox_child_result(errpipe[0], n == sizeof(leaf) ? leaf : mid, err);
	close(errpipe[0]);
	if (r == 0 && n != sizeof(leaf))
		r = petra_error_set(err, EIO, "joining container process %d failed", (int)target);
	if (r < 0)
		return r;
	*pid = leaf;
	return 0;
}
