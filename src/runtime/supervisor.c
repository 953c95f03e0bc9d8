/* SPDX-License-Identifier: Apache-2.0 */
/*
 * petra-supervisor DIR PID [--rm] [--cgroup=PATH...]: the parent of a
 * detached container for its whole life.
 *
 * petra starts the container, then becomes this program by execve (so the
 * container stays its child): it waits for PID, writes the exit status to
 * DIR/exit (0..255, 128+N for signal N) the way petra does, removes the
 * container's cgroups (--memory, --cpus, --pids-limit) and DIR when
 * asked, and ends. It links nothing but libc and allocates nothing,
 * so the resident cost of a detached container is a few hundred KiB.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A cgroup is removable once its last process is gone: the rest of the
 * container's pid namespace may still be on its way out. */
static void remove_cgroup(const char *path)
{
	struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
	for (int tries = 0; rmdir(path) < 0 && errno == EBUSY && tries < 200; tries++)
		nanosleep(&tick, NULL);
}

static void remove_tree_at(int parent, const char *name)
{
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* An overlay work directory may be mode 000. */
		fchmodat(parent, name, 0700, 0);
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				remove_tree_at(dirfd(d), de->d_name);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(parent, name, AT_REMOVEDIR);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: petra-supervisor DIR PID [--rm] [--cgroup=PATH...] (started by petra "
		      "run -d)\n",
		      stderr);
		return 2;
	}
	const char *dir = argv[1];
	pid_t pid = (pid_t)atoi(argv[2]);
	int remove = 0;
	for (int i = 3; i < argc; i++)
		if (!strcmp(argv[i], "--rm"))
			remove = 1;
	/* A stray signal to the session must not end the container's parent. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	for (int i = 3; i < argc; i++)
		if (!strncmp(argv[i], "--cgroup=", 9))
			remove_cgroup(argv[i] + 9);
	int code = WIFEXITED(status)     ? WEXITSTATUS(status)
		   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
					 : 125;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 1;
	if (remove) {
		const char *slash = strrchr(dir, '/');
		char *parent_path = slash ? strndup(dir, (size_t)(slash - dir)) : strdup(".");
		int pfd = parent_path ? open(*parent_path ? parent_path : "/",
					     O_RDONLY | O_DIRECTORY | O_CLOEXEC)
				      : -1;
		if (pfd >= 0)
			remove_tree_at(pfd, slash ? slash + 1 : dir);
		free(parent_path);
		return 0;
	}
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", code);
	int fd = openat(dfd, ".exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || close(fd) < 0 ||
	    renameat(dfd, ".exit.tmp", dfd, "exit") < 0)
		return 1;
	return 0;
}
