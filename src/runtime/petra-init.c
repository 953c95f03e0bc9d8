/* SPDX-License-Identifier: Apache-2.0 */
/*
 * petra-init [--] COMMAND [ARG...]: PID 1 of a container run with --init
 * (what `docker run --init` gets from tini).
 *
 * A program that is PID 1 of its pid namespace receives no signal it has
 * no handler for (the kernel drops it), so `petra stop` cannot end one
 * that never installs a SIGTERM handler (busybox httpd, sleep, most
 * scripts) except by SIGKILL after the grace period; and orphans are
 * reparented to PID 1, so one that never waits for them leaves zombies.
 * petra-init runs COMMAND as its child, passes every signal it gets on to
 * it, reaps every process that ends, and exits with COMMAND's status
 * (128+N when a signal N killed it). The kernel then ends whatever is left
 * of the namespace.
 *
 * It is linked statically against libc alone, because it runs inside the
 * container's root, which need not have a libc at all; petra binds it
 * read-only at /.petra-init.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int first = 1;
	if (first < argc && !strcmp(argv[first], "--"))
		first++;
	if (first >= argc) {
		fputs("usage: petra-init [--] COMMAND [ARG...] (PID 1 of petra run --init)\n",
		      stderr);
		return 125;
	}
	/* Every signal waits in the mask until sigwaitinfo takes it; the
	 * child gets its default dispositions and an empty mask back. */
	sigset_t all, saved;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	pid_t child = fork();
	if (child < 0) {
		perror("petra-init: fork");
		return 125;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &saved, NULL);
		execvp(argv[first], argv + first);
		int e = errno;
		fprintf(stderr, "petra-init: %s: %s\n", argv[first], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			/* SIGSTOP and SIGKILL never reach us; the rest is the
			 * command's to handle. */
			kill(child, sig);
			continue;
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != child)
				continue; /* an orphan, reaped */
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		}
	}
}
