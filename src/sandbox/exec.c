/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Joining a running container: setns into its namespaces, then exec.
 *
 * The process that joins (the "leaf") is visible to the container from
 * the moment it exists until it execs the command. A container holding
 * CAP_SYS_PTRACE in petra's user namespace passes the non-dumpable check
 * that otherwise shuts /proc/PID/{exe,environ,fd,mem}, so what the leaf
 * holds must itself be harmless (the class of runc's CVE-2019-5736):
 *  - its executable is a sealed memfd copy of petra, never the host's
 *    binary (which /proc/PID/exe would let the container reopen for
 *    writing once petra exits);
 *  - it is a fresh exec of that copy whose environment is the one the exec
 *    asked for and whose memory holds only what argv carries: nothing of
 *    the petra process that called us (host environment, options);
 *  - it holds stdio and the close-on-exec error pipe, nothing else.
 * It is also made non-dumpable (which is enough when the container lacks
 * CAP_SYS_PTRACE); execve of the command restores that, as in runc.
 *
 * The re-executed copy enters through join_entry(), a constructor that
 * runs before main() when argv[0] is JOIN_ARGV0 and the executable is
 * a sealed memfd; its descriptors are at fixed numbers (JOIN_FD_*).
 */
#include "internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
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

#define JOIN_ARGV0 "petra-join-container"
enum { JOIN_FD_PIDFD = 3, JOIN_FD_ERR, JOIN_FD_PID, JOIN_FD_EXE };
#define JOIN_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#ifdef MFD_EXEC
#define JOIN_MFD_EXEC MFD_EXEC
#else
#define JOIN_MFD_EXEC 0x0010U /* linux/memfd.h, since 6.3 */
#endif

/* A sealed, close-on-exec memfd holding a copy of our own executable. */
static int sealed_copy_of_self(int *out, struct petra_error **err)
{
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return petra_error_set_errno(err, errno, "open petra's executable");
	/* MFD_EXEC: where vm.memfd_noexec makes memfds non-executable by
	 * default; a kernel older than that flag refuses it (EINVAL). */
	_cleanup_close_ int fd =
	    memfd_create("petra", MFD_CLOEXEC | MFD_ALLOW_SEALING | JOIN_MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("petra", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct stat st;
	if (fd < 0 || fstat(self, &st) < 0)
		return petra_error_set_errno(err, errno, "copy petra's executable");
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = sendfile(fd, self, NULL, (size_t)(st.st_size - done));
		if (n <= 0)
			return petra_error_set_errno(err, n < 0 ? errno : EIO,
						     "copy petra's executable");
		done += n;
	}
	if (fcntl(fd, F_ADD_SEALS, JOIN_SEALS) < 0)
		return petra_error_set_errno(err, errno, "seal the copy of petra's executable");
	*out = fd;
	fd = -1;
	return 0;
}

/* Are we running from such a copy? */
static bool running_sealed(void)
{
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals = self < 0 ? -1 : fcntl(self, F_GET_SEALS);
	return seals >= 0 && (seals & JOIN_SEALS) == JOIN_SEALS;
}

/* In the re-executed copy: join (setns through the pidfd, all at once, so
 * no pid can be reused under us), then create the leaf, which runs the
 * command. Joining a pid namespace only applies to children: the leaf is
 * created with CLONE_PARENT, making it the caller's child, and this
 * process exits. Never returns. */
static void join_and_spawn(int flags, const struct sandbox_process *p)
{
	struct petra_error *cerr = NULL;
	if (setns(JOIN_FD_PIDFD, flags) < 0) {
		petra_error_set_errno(&cerr, errno, "join the container's namespaces");
		sandbox_child_fail(JOIN_FD_ERR, 125, cerr);
	}
	close(JOIN_FD_PIDFD);
	pid_t leaf = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (leaf == 0) {
		close(JOIN_FD_PID);
		int exit_code = 125;
		sandbox_process_exec(p, -1, &exit_code, &cerr);
		sandbox_child_fail(JOIN_FD_ERR, exit_code, cerr);
	}
	if (leaf < 0) {
		petra_error_set_errno(&cerr, errno, "create the process");
		sandbox_child_fail(JOIN_FD_ERR, 125, cerr);
	}
	(void)!write(JOIN_FD_PID, &leaf, sizeof(leaf));
	_exit(0);
}

/* argv of the copy: JOIN_ARGV0 FLAGS UID GID CAPS AMBIENT NO_SECCOMP TTY
 * CWD GROUPS -- COMMAND... (numbers in hex, groups comma-separated). All
 * of it is the container's own business: the container may read it. */
enum {
	JOIN_ARG_FLAGS = 1,
	JOIN_ARG_UID,
	JOIN_ARG_GID,
	JOIN_ARG_CAPS,
	JOIN_ARG_AMBIENT,
	JOIN_ARG_NO_SECCOMP,
	JOIN_ARG_TTY,
	JOIN_ARG_CWD,
	JOIN_ARG_GROUPS,
	JOIN_ARG_END,
	JOIN_ARG_COMMAND
};

static void join_args(int flags, const struct sandbox_process *p, struct strvec *args)
{
	strvec_push(args, JOIN_ARGV0);
	strvec_pushf(args, "%x", (unsigned)flags);
	strvec_pushf(args, "%x", (unsigned)p->uid);
	strvec_pushf(args, "%x", (unsigned)p->gid);
	strvec_pushf(args, "%" PRIx64, p->caps);
	strvec_pushf(args, "%" PRIx64, p->ambient);
	strvec_pushf(args, "%d", p->no_seccomp);
	strvec_pushf(args, "%d", p->tty);
	strvec_push(args, p->cwd ? p->cwd : "");
	struct strbuf groups = STRBUF_INIT;
	for (size_t i = 0; i < p->n_groups; i++)
		strbuf_addf(&groups, "%s%x", i ? "," : "", (unsigned)p->groups[i]);
	strvec_push(args, groups.len ? groups.buf : "");
	strbuf_release(&groups);
	strvec_push(args, "--");
	for (size_t i = 0; p->argv[i]; i++)
		strvec_push(args, p->argv[i]);
}

__attribute__((constructor)) static void join_entry(int argc, char **argv, char **envp)
{
	if (argc <= JOIN_ARG_COMMAND || strcmp(argv[0], JOIN_ARGV0) != 0 ||
	    strcmp(argv[JOIN_ARG_END], "--") != 0 || !running_sealed())
		return;
	/* Dumpable again after our own execve: shut /proc/PID first. */
	struct petra_error *cerr = NULL;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		petra_error_set_errno(&cerr, errno, "make the process non-dumpable");
		sandbox_child_fail(JOIN_FD_ERR, 125, cerr);
	}
	gid_t groups[NGROUPS_MAX];
	size_t n_groups = 0;
	for (char *g = argv[JOIN_ARG_GROUPS]; *g && n_groups < NGROUPS_MAX; g++) {
		groups[n_groups++] = (gid_t)strtoul(g, &g, 16);
		if (*g != ',')
			break;
	}
	struct sandbox_process p = {
	    .argv = argv + JOIN_ARG_COMMAND,
	    .env = envp,
	    .cwd = *argv[JOIN_ARG_CWD] ? argv[JOIN_ARG_CWD] : NULL,
	    .uid = (uid_t)strtoul(argv[JOIN_ARG_UID], NULL, 16),
	    .gid = (gid_t)strtoul(argv[JOIN_ARG_GID], NULL, 16),
	    .groups = groups,
	    .n_groups = n_groups,
	    .caps = strtoull(argv[JOIN_ARG_CAPS], NULL, 16),
	    .ambient = strtoull(argv[JOIN_ARG_AMBIENT], NULL, 16),
	    .no_seccomp = atoi(argv[JOIN_ARG_NO_SECCOMP]) != 0,
	    .stdio = {-1, -1, -1}, /* installed already */
	    .tty = atoi(argv[JOIN_ARG_TTY]) != 0,
	};
	join_and_spawn((int)strtoul(argv[JOIN_ARG_FLAGS], NULL, 16), &p);
}

/* In the forked child: put the descriptors the copy needs on JOIN_FD_*,
 * close every other one above stdio, and execute the copy with the
 * command's environment and nothing of ours. Never returns. */
static void reexec_sealed(int pidfd, int errfd, int pidpipe, int exe, int flags,
			  const struct sandbox_process *p)
{
	struct petra_error *cerr = NULL;
	int fds[] = {pidfd, errfd, pidpipe, exe}, high[ARRAY_SIZE(fds)];
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, JOIN_FD_EXE + 1)) < 0) {
			petra_error_set_errno(&cerr, errno, "move descriptors");
			sandbox_child_fail(errfd, 125, cerr);
		}
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (dup2(high[i], JOIN_FD_PIDFD + (int)i) < 0) {
			petra_error_set_errno(&cerr, errno, "move descriptors");
			sandbox_child_fail(high[1], 125, cerr);
		}
	/* The error pipe and the executable close as the command starts. */
	fcntl(JOIN_FD_ERR, F_SETFD, FD_CLOEXEC);
	fcntl(JOIN_FD_EXE, F_SETFD, FD_CLOEXEC);
	int keep[] = {JOIN_FD_PIDFD, JOIN_FD_ERR, JOIN_FD_PID, JOIN_FD_EXE};
	if (sandbox_close_fds(keep, ARRAY_SIZE(keep), &cerr) < 0)
		sandbox_child_fail(JOIN_FD_ERR, 125, cerr);
	_cleanup_strvec_ struct strvec args = STRVEC_INIT;
	join_args(flags, p, &args);
	fexecve(JOIN_FD_EXE, args.v, p->env ? p->env : (char *const[]){NULL});
	petra_error_set_errno(&cerr, errno, "run the sealed copy of petra's executable");
	sandbox_child_fail(JOIN_FD_ERR, 125, cerr);
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
	_cleanup_close_ int exe = -1;
	if (r == 0)
		r = sealed_copy_of_self(&exe, err);
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
	 * its own namespaces; it re-executes the sealed copy, which joins. */
	pid_t mid = fork();
	if (mid == 0) {
		close(errpipe[0]);
		close(pidpipe[0]);
		struct petra_error *cerr = NULL;
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
			petra_error_set_errno(&cerr, errno, "make the process non-dumpable");
			sandbox_child_fail(errpipe[1], 125, cerr);
		}
		if (sandbox_stdio_install(p->stdio, &cerr) < 0)
			sandbox_child_fail(errpipe[1], 125, cerr);
		reexec_sealed(pidfd, errpipe[1], pidpipe[1], exe, flags, p);
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
