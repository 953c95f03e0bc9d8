/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test probe, run as root inside a container: watch for processes joining
 * it (petra exec) and try what an attacker would before they exec: open
 * their descriptors through /proc/PID/fd (a host directory handle is a
 * way out) and read their environment (petra's, from the host). Prints a
 * line for each success and nothing else; runs until killed.
 *
 * grabfd MARKER: MARKER is a string to look for in the environment.
 */
#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Report each finding once (pid, fd; fd -1 for the environment). */
static bool first_time(int pid, int fd)
{
	static int seen[256][2];
	static size_t n;
	for (size_t i = 0; i < n; i++)
		if (seen[i][0] == pid && seen[i][1] == fd)
			return false;
	if (n < 256) {
		seen[n][0] = pid;
		seen[n++][1] = fd;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *marker = argc > 1 ? argv[1] : "PETRA_PROBE_MARKER";
	int self = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	puts("watching");
	for (;;) {
		DIR *proc = opendir("/proc");
		struct dirent *de;
		while (proc && (de = readdir(proc))) {
			int pid = atoi(de->d_name);
			if (pid <= 1 || pid == self)
				continue;
			char path[64], link[4096];
			for (int fd = 3; fd < 32; fd++) {
				snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
				int h = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (h < 0)
					continue;
				ssize_t n = readlink(path, link, sizeof(link) - 1);
				link[n > 0 ? n : 0] = '\0';
				if (first_time(pid, fd))
					printf("LEAK: pid %d fd %d is a directory: %s\n", pid, fd,
					       link);
				close(h);
			}
			snprintf(path, sizeof(path), "/proc/%d/environ", pid);
			int e = open(path, O_RDONLY | O_CLOEXEC);
			char env[65536];
			ssize_t n = e < 0 ? -1 : read(e, env, sizeof(env) - 1);
			if (e >= 0)
				close(e);
			if (n > 0) {
				env[n] = '\0';
				for (ssize_t i = 0; i < n; i++)
					if (!env[i])
						env[i] = '\n';
				if (strstr(env, marker) && first_time(pid, -1))
					printf("LEAK: pid %d environ holds %s\n", pid, marker);
			}
		}
		if (proc)
			closedir(proc);
		struct timespec ts = {0, 200 * 1000};
		nanosleep(&ts, NULL);
	}
}
