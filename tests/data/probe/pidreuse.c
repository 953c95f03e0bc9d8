/* LD_PRELOAD into petra (security-exec.bats): stands for a container that
 * wins the race against exec --timeout. The first time petra is about to
 * signal (kill) or take a pidfd of (pidfd_open) the container process whose
 * command line is "sleep 1717", that process dies and is reaped (by the
 * container's init), and a host process ("sleep 1718") is created with its
 * pid, through /proc/sys/kernel/ns_last_pid, as a busy host might reuse
 * it. Its pid goes to $PIDREUSE_VICTIM; the call then goes on to petra's
 * own choice. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int done;

static int is_marker(pid_t pid)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return n == 11 && !memcmp(buf, "sleep\0" "1717\0", 11);
}

static void take_over(pid_t pid)
{
	if (done || pid <= 0 || !is_marker(pid))
		return;
	done = 1;
	syscall(SYS_kill, pid, SIGKILL);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	for (int i = 0; i < 500 && access(path, F_OK) == 0; i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dprintf(fd, "%d", (int)pid - 1);
		close(fd);
	}
	/* The host process exists on its own, as a real one would: back
	 * from here only once it runs sleep (its end of `ready` closes). */
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return;
	pid_t victim = fork();
	if (victim == 0) {
		/* Nothing of petra's: its output pipes would keep the test waiting. */
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (ready[1] > 3)
			close_range(3, (unsigned)ready[1] - 1, 0);
		close_range((unsigned)ready[1] + 1, ~0U, 0);
		unsetenv("LD_PRELOAD");
		setsid();
		execl("/bin/sleep", "sleep", "1718", (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	char c;
	while (read(ready[0], &c, 1) > 0)
		;
	close(ready[0]);
	const char *out = getenv("PIDREUSE_VICTIM");
	FILE *f = out ? fopen(out, "w") : NULL;
	if (f) {
		fprintf(f, "%d %d\n", (int)pid, (int)victim);
		fclose(f);
	}
}

int kill(pid_t pid, int sig)
{
	take_over(pid);
	return (int)syscall(SYS_kill, pid, sig);
}

int pidfd_open(pid_t pid, unsigned int flags)
{
	take_over(pid);
	return (int)syscall(SYS_pidfd_open, pid, flags);
}
