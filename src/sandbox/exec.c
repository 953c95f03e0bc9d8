/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Joining a running container: setns into its namespaces, then exec.
 *
 * The process that joins runs petra's code inside the container's
 * namespaces until it execs, and by then its credentials equal the
 * container's: the container could read its memory and descriptors
 * through /proc/PID. So it is made non-dumpable first (which shuts
 * /proc/PID/{fd,mem,environ} and ptrace to the container; execve
 * restores it, as runc does since CVE-2016-9962), and holds nothing but
 * its stdio and an error pipe when it joins.
 */
#include "internal.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const struct {
	const char *name;
	int type;
} namespaces[] = {
    {"user", CLONE_NEWUSER},     {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},       {"mnt", CLONE_NEWNS},  {"pid", CLONE_NEWPID},
    {"cgroup", CLONE_NEWCGROUP},
};

/* The namespaces of `target` that are not ours: joining one's own user
 * namespace is an error (EINVAL), so it is left out of setns's flags. */
static int namespaces_to_join(pid_t target, int pidfd, int *flags, struct petra_error **err)
{
	*flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
		_cleanup_free_ char *theirs =
		    xasprintf("/proc/%d/ns/%s", (int)target, namespaces[i].name);
		_cleanup_free_ char *mine = xasprintf("/proc/self/ns/%s", namespaces[i].name);
		struct stat a, b;
		if (stat(theirs, &a) < 0)
			return petra_error_set_errno(err, errno == ENOENT ? ESRCH : errno,
						     "container process %d", (int)target);
		if (stat(mine, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			*flags |= namespaces[i].type;
	}
	/* The paths name whatever process has that pid now: if it is no
	 * longer the one pidfd holds, setns(pidfd) fails anyway. */
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
		return petra_error_set_errno(err, errno, "container process %d", (int)target);
	return 0;
}

int sandbox_exec(pid_t target, const struct sandbox_process *p, pid_t *pid,
		 struct petra_error **err)
{
	_cleanup_close_ int pidfd = pidfd_open(target, 0);
	if (pidfd < 0)
		return petra_error_set_errno(err, errno, "container process %d", (int)target);
	return sandbox_exec_pidfd(pidfd, p, pid, err);
}

int sandbox_exec_pidfd(int pidfd, const struct sandbox_process *p, pid_t *pid,
		       struct petra_error **err)
{
	_cleanup_free_ char *fdinfo = xasprintf("/proc/self/fdinfo/%d", pidfd);
	_cleanup_free_ char *info = NULL;
	int r = fs_read_file_at(AT_FDCWD, fdinfo, 4096, &info, NULL, err);
	char *line = r < 0 ? NULL : strstr(info, "\nPid:");
	pid_t target = line ? (pid_t)atoi(line + 5) : -1;
	if (r == 0 && target <= 0)
		r = petra_error_set(err, ESRCH, "the container's process has ended");
	int flags = 0;
	if (r == 0)
		r = namespaces_to_join(target, pidfd, &flags, err);
	if (r < 0)
		return r;
	int errpipe[2], pidpipe[2] = {-1, -1};
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return petra_error_set_errno(err, errno, "pipe");
	if (pipe2(pidpipe, O_CLOEXEC) < 0) {
		int e = errno;
		close(errpipe[0]);
		close(errpipe[1]);
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
		/* Before anything of the container can see us (see the top). */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
			petra_error_set_errno(&cerr, errno, "make the process non-dumpable");
			sandbox_child_fail(errpipe[1], 125, cerr);
		}
		int keep[] = {errpipe[1], pidpipe[1], pidfd};
		if (sandbox_stdio_install(p->stdio, &cerr) < 0 ||
		    sandbox_close_fds(keep, ARRAY_SIZE(keep), &cerr) < 0)
			sandbox_child_fail(errpipe[1], 125, cerr);
		/* All at once, through the pidfd: no pid can be reused under us. */
		if (setns(pidfd, flags) < 0) {
			petra_error_set_errno(&cerr, errno, "join the container's namespaces");
			sandbox_child_fail(errpipe[1], 125, cerr);
		}
		close(pidfd);
		pid_t leaf = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (leaf == 0) {
			close(pidpipe[1]);
			struct sandbox_process joined = *p;
			for (int i = 0; i < 3; i++)
				joined.stdio[i] = -1; /* installed already */
			int exit_code = 125;
			sandbox_process_exec(&joined, -1, &exit_code, &cerr);
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
	r = sandbox_child_result(errpipe[0], n == sizeof(leaf) ? leaf : mid, err);
	close(errpipe[0]);
	if (r == 0 && n != sizeof(leaf))
		r = petra_error_set(err, EIO, "joining container process %d failed", (int)target);
	if (r < 0)
		return r;
	*pid = leaf;
	return 0;
}
