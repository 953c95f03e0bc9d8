/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process part of a container: user, groups, capabilities,
 * no_new_privs, seccomp, environment, exec. Shared by sandbox_spawn (a new
 * container) and sandbox_exec (a process joining one).
 */
#include "internal.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/capability.h>
#include <sys/pidfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

extern char **environ;

uint64_t sandbox_default_caps(void)
{
	static const cap_value_t defaults[] = {
	    CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID, CAP_KILL, CAP_NET_BIND_SERVICE,
	    CAP_SETFCAP, CAP_SETGID,       CAP_SETPCAP, CAP_SETUID,
	};
	uint64_t mask = 0;
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		mask |= UINT64_C(1) << defaults[i];
	return mask;
}

int sandbox_cap_parse(const char *name, uint64_t *mask, struct petra_error **err)
{
	if (!strcasecmp(name, "ALL")) {
		*mask = ~UINT64_C(0);
		return 0;
	}
	_cleanup_free_ char *lower =
	    strncasecmp(name, "cap_", 4) ? xasprintf("cap_%s", name) : xstrdup(name);
	for (char *p = lower; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	cap_value_t cap;
	if (cap_from_name(lower, &cap) < 0 || cap < 0 || cap > 63)
		return petra_error_set(err, EINVAL, "unknown capability \"%s\"", name);
	*mask = UINT64_C(1) << cap;
	return 0;
}

void sandbox_cap_names(uint64_t mask, struct strvec *out)
{
	for (int cap = 0; cap <= (int)cap_max_bits() - 1 && cap < 64; cap++) {
		if (!(mask & (UINT64_C(1) << cap)))
			continue;
		char *name = cap_to_name(cap);
		_cleanup_free_ char *upper = xstrdup(name);
		cap_free(name);
		for (char *p = upper; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		strvec_push(out, upper);
	}
}

/* ---- child-to-parent error reports ---- */

void sandbox_child_fail(int fd, int exit_code, struct petra_error *err)
{
	char *msg = xasprintf("%d %d %s", exit_code, err ? err->code : EIO,
			      err && err->message ? err->message : "unknown error");
	fs_write_all(fd, msg, strlen(msg));
	_exit(exit_code);
}

int sandbox_child_result(int fd, pid_t pid, struct petra_error **err)
{
	char buf[4096];
	ssize_t n = fs_read_full(fd, buf, sizeof(buf) - 1);
	if (n == 0)
		return 0;
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (n < 0)
		return petra_error_set_errno(err, (int)-n, "read the container's set-up result");
	buf[n] = '\0';
	int exit_code = 125, code = EIO, used = 0;
	if (sscanf(buf, "%d %d %n", &exit_code, &code, &used) < 2)
		return petra_error_set(err, EIO, "container set-up failed: %s", buf);
	if (exit_code == 127)
		code = ENOENT;
	else if (exit_code == 126)
		code = EACCES;
	else if (code == ENOENT || code == EACCES)
		code = EIO; /* those two mean "the command", nothing else */
	return petra_error_set(err, code, "%s", buf + used);
}

int sandbox_fork_helper(int (*fn)(void *ctx, int report_fd), void *ctx, pid_t *pid,
			struct petra_error **err)
{
	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0)
		return petra_error_set_errno(err, errno, "pipe");
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		return petra_error_set_errno(err, e, "fork");
	}
	if (child == 0) {
		close(report[0]);
		_exit(fn(ctx, report[1]) & 0xff);
	}
	close(report[1]);
	int r = sandbox_child_result(report[0], child, err);
	close(report[0]);
	if (r == 0)
		*pid = child;
	return r;
}

/* ---- the process ---- */

static int drop_capabilities(const struct sandbox_process *p, struct petra_error **err)
{
	int last = (int)cap_max_bits() - 1;
	for (int cap = 0; cap <= last; cap++)
		if (cap >= 64 || !(p->caps & (UINT64_C(1) << cap)))
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
				return petra_error_set_errno(
				    err, errno, "drop capability %d from the bounding set", cap);
	return 0;
}

static int set_capabilities(const struct sandbox_process *p, struct petra_error **err)
{
	/* Root keeps its capabilities (exec gives them to it again). Any
	 * other user keeps only the ambient ones, in every set: a permitted
	 * or inheritable set beyond them would let file capabilities on the
	 * command grant more (no_new_privs only caps them at the permitted
	 * set). Root's inheritable set stays empty (CVE-2022-24769); another
	 * user's holds the ambient capabilities, which raising them needs. */
	uint64_t ambient = p->uid == 0 ? 0 : p->caps & p->ambient;
	uint64_t permitted = p->uid == 0 ? p->caps : ambient;
	cap_t caps = cap_init();
	int last = (int)cap_max_bits() - 1;
	for (cap_value_t cap = 0; cap <= last && cap < 64; cap++) {
		if (permitted & (UINT64_C(1) << cap)) {
			cap_set_flag(caps, CAP_EFFECTIVE, 1, &cap, CAP_SET);
			cap_set_flag(caps, CAP_PERMITTED, 1, &cap, CAP_SET);
		}
		if (ambient & (UINT64_C(1) << cap))
			cap_set_flag(caps, CAP_INHERITABLE, 1, &cap, CAP_SET);
	}
	int r = cap_set_proc(caps);
	int e = errno;
	cap_free(caps);
	if (r < 0)
		return petra_error_set_errno(err, e, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return petra_error_set_errno(err, errno, "clear ambient capabilities");
	for (int cap = 0; cap <= last && cap < 64; cap++)
		if ((ambient & (UINT64_C(1) << cap)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return petra_error_set_errno(err, errno, "raise ambient capability %d",
						     cap);
	return 0;
}

static int set_user(const struct sandbox_process *p, struct petra_error **err)
{
	/* (uid_t)-1 tells setresuid "leave this one unchanged": asked for,
	 * the process would silently keep petra's (root's) ids. */
	if (p->uid == (uid_t)-1 || p->gid == (gid_t)-1)
		return petra_error_set(err, EINVAL, "user %u:%u is not a valid user",
				       (unsigned)p->uid, (unsigned)p->gid);
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i] == (gid_t)-1)
			return petra_error_set(err, EINVAL, "group %u is not a valid group",
					       (unsigned)p->groups[i]);
	/* Keep the permitted set across the uid change; set_capabilities then
	 * decides what remains. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return petra_error_set_errno(err, errno, "keep capabilities");
	if (setgroups(p->n_groups, p->groups) < 0 && !(errno == EPERM && p->n_groups == 0))
		return petra_error_set_errno(err, errno, "set supplementary groups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return petra_error_set_errno(err, errno, "set group id %u", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return petra_error_set_errno(err, errno, "set user id %u", (unsigned)p->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return petra_error_set_errno(err, errno, "reset keep-capabilities");
	/* Whatever the calls said, the ids are what was asked for, or the
	 * process does not run. */
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return petra_error_set_errno(err, errno, "read the process's ids");
	if (ruid != p->uid || euid != p->uid || suid != p->uid || rgid != p->gid ||
	    egid != p->gid || sgid != p->gid)
		return petra_error_set(err, EPERM, "the process runs as %u:%u, not %u:%u",
				       (unsigned)euid, (unsigned)egid, (unsigned)p->uid,
				       (unsigned)p->gid);
	return 0;
}

/* ---- descriptors ---- */

int sandbox_stdio_install(const int stdio[3], struct petra_error **err)
{
	/* Each source is first copied above 2, so that one dup2 cannot
	 * replace the source of another (stdio = {1, 0, 0}). */
	int tmp[3] = {-1, -1, -1};
	int r = 0;
	for (int i = 0; i < 3 && r == 0; i++)
		if (stdio[i] >= 0 && stdio[i] != i &&
		    (tmp[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
			r = petra_error_set_errno(err, errno, "set up descriptor %d", i);
	for (int i = 0; i < 3; i++) {
		if (r == 0 && tmp[i] >= 0 && dup2(tmp[i], i) < 0)
			r = petra_error_set_errno(err, errno, "set up descriptor %d", i);
		if (tmp[i] >= 0)
			close(tmp[i]);
		int flags = fcntl(i, F_GETFD);
		if (flags >= 0)
			fcntl(i, F_SETFD, flags & ~FD_CLOEXEC);
	}
	return r;
}

int sandbox_close_fds(const int *keep, size_t n_keep, struct petra_error **err)
{
	/* Sorted, the gaps between the kept descriptors are ranges to close. */
	int sorted[8];
	if (n_keep > ARRAY_SIZE(sorted))
		return petra_error_set(err, EINVAL, "too many descriptors to keep");
	size_t n = 0;
	for (size_t i = 0; i < n_keep; i++) {
		if (keep[i] < 3)
			continue;
		size_t j = n++;
		for (; j > 0 && sorted[j - 1] > keep[i]; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = keep[i];
	}
	unsigned from = 3;
	for (size_t i = 0; i <= n; i++) {
		unsigned to = i < n ? (unsigned)sorted[i] : ~0U;
		if (to > from && close_range(from, to - 1, 0) < 0)
			return petra_error_set_errno(err, errno, "close descriptors");
		if (i < n)
			from = to + 1;
	}
	return 0;
}

static int set_stdio(const struct sandbox_process *p, struct petra_error **err)
{
	int r = sandbox_stdio_install(p->stdio, err);
	if (r < 0)
		return r;
	/* Nothing else of petra's reaches the command. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return petra_error_set_errno(err, errno, "mark descriptors close-on-exec");
	/* A session of its own, always: in the caller's, the container would
	 * share its controlling terminal (read keystrokes from /dev/tty,
	 * change its modes). It gets a terminal with -t only, its own. */
	if (setsid() < 0)
		return petra_error_set_errno(err, errno, "new session");
	if (p->tty && ioctl(0, TIOCSCTTY, 0) < 0)
		return petra_error_set_errno(err, errno, "set the controlling terminal");
	return 0;
}

/* SIGKILL when the parent ends. Set after the last change of user (which
 * clears it); then the parent is checked to be still there, as it may have
 * ended before: it holds the only reading end of parent_pipe, so a pipe
 * without reader (POLLERR) means it is gone. */
static int die_with_parent(int parent_pipe, struct petra_error **err)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return petra_error_set_errno(err, errno, "set the parent-death signal");
	struct pollfd pfd = {.fd = parent_pipe, .events = POLLOUT};
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP)))
		return petra_error_set(err, ESRCH, "the process that started the container ended");
	return 0;
}

int sandbox_process_exec(const struct sandbox_process *p, int parent_pipe, int *exit_code,
			 struct petra_error **err)
{
	*exit_code = 125;
	/* The caller may have blocked signals to forward them: the command
	 * starts with a clean mask and default dispositions. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* exec resets caught signals itself; ignored ones would stay ignored
	 * (a caller under nohup), so those are reset here. */
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		struct sigaction old;
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			signal(sig, SIG_DFL);
	}
	int r = set_stdio(p, err);
	const char *cwd = p->cwd && *p->cwd ? p->cwd : "/";
	if (r == 0 && chdir(cwd) < 0)
		r = petra_error_set_errno(err, errno, "working directory %s", cwd);
	/* Only what petra's own bounding set still holds can be kept:
	 * --cap-add ALL asks for every capability, and one petra cannot have
	 * would make cap_set_proc fail. */
	struct sandbox_process bounded = *p;
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			bounded.caps &= ~(UINT64_C(1) << cap);
	if (r == 0)
		r = drop_capabilities(&bounded, err);
	if (r == 0)
		r = set_user(&bounded, err);
	if (r == 0)
		r = set_capabilities(&bounded, err);
	if (r == 0 && parent_pipe >= 0)
		r = die_with_parent(parent_pipe, err);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = petra_error_set_errno(err, errno, "set no_new_privs");
	if (r == 0 && !p->no_seccomp)
		r = sandbox_seccomp_load(err);
	if (r < 0)
		return r;
	if (!p->argv || !p->argv[0])
		return petra_error_set(err, EINVAL, "no command to run");
	environ = (char **)p->env;
	execvp(p->argv[0], p->argv);
	int e = errno;
	*exit_code = e == ENOENT ? 127 : 126;
	_cleanup_free_ char *q = str_quote(p->argv[0]);
	return petra_error_set_errno(err, e, "exec %s", q);
}

/* ---- waiting ---- */

int sandbox_exit_code(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 125;
}

void sandbox_forward_signals(sigset_t *set)
{
	sigemptyset(set);
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(set, sigs[i]);
}

/* Copy what is readable from `from` to `to`; false at end of input. */
static bool pump(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && errno == EINTR;
	return fs_write_all(to, buf, (size_t)n) == 0;
}

/* One direction copied while waiting: from the pty master or a relay
 * pipe out to the caller, or from the caller's stdin in. */
struct copy {
	int from, to;
	bool input;    /* into the process: not drained at the end */
	bool close_to; /* close `to` when `from` ends (a pipe: the reader sees the end) */
};

/* The pipes into the process are ours to close, whatever happens. */
static void close_inputs(const struct sandbox_wait_options *o)
{
	for (size_t i = 0; o && i < o->n_relays; i++)
		if (o->relays[i].input)
			close(o->relays[i].to);
}

/* One line of /proc/PID/stat: the parent, process group, session, and the
 * start time that tells a process from a later one given its pid. */
struct proc_link {
	pid_t pid, ppid, pgrp, session;
	unsigned long long start;
	bool chosen;
};

static bool proc_link_read(pid_t pid, struct proc_link *l)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The command name may hold anything, ')' included: the last one ends it. */
	char *end = strrchr(buf, ')');
	char state;
	int ppid, pgrp, session;
	unsigned long long start;
	if (!end || sscanf(end + 1,
			   " %c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
			   "%*d %llu",
			   &state, &ppid, &pgrp, &session, &start) != 5)
		return false;
	*l = (struct proc_link){pid, ppid, pgrp, session, start, false};
	return true;
}

/* Every process of the host's /proc, with its links. */
static size_t proc_links(struct proc_link **out)
{
	*out = NULL;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	size_t n = 0, cap = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		struct proc_link l;
		if (!proc_link_read((pid_t)pid, &l))
			continue;
		xgrow((void **)out, &cap, n + 1, sizeof(**out));
		(*out)[n++] = l;
	}
	return n;
}

/* Is pid's pid namespace `ns`, or one below it (a container's process may
 * make its own)? */
static bool in_pid_namespace(pid_t pid, const struct stat *ns)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	/* Pid namespaces nest 32 deep at most; the host's has no parent. */
	for (int depth = 0; fd >= 0 && depth <= 32; depth++) {
		struct stat st;
		bool same =
		    fstat(fd, &st) == 0 && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
		int parent = same ? -1 : ioctl(fd, NS_GET_PARENT);
		close(fd);
		if (same)
			return true;
		fd = parent;
	}
	if (fd >= 0)
		close(fd);
	return false;
}

/* Signal the process `seen` read, through a pidfd, only while its pid still
 * names it (the same start time) in the namespace `ns` or below: once it
 * has gone, its pid may be a host process's. The checks read /proc after
 * the pidfd is open: either they read the pidfd's own process, or that
 * one has died and the signal reaches no one. */
static void signal_seen(const struct proc_link *seen, const struct stat *ns, int sig)
{
	_cleanup_close_ int pidfd = pidfd_open(seen->pid, 0);
	struct proc_link now;
	if (pidfd >= 0 && proc_link_read(seen->pid, &now) && now.start == seen->start &&
	    in_pid_namespace(seen->pid, ns))
		pidfd_send_signal(pidfd, sig, NULL, 0);
}

/* SIGKILL root and everything it started: its session and process group,
 * and (through parent links) descendants that made their own. Each round
 * stops what it finds before reading /proc again, so nothing forks away
 * unseen; root is our unreaped child, so its pid (the session's and the
 * group's id) cannot be reused meanwhile. Any other process is signalled
 * only as signal_seen allows, within root's pid namespace. */
static void kill_descendants(pid_t root)
{
	kill(-root, SIGSTOP);
	kill(root, SIGSTOP);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)root);
	struct stat ns;
	bool known = stat(path, &ns) == 0;
	struct proc_link *all = NULL;
	size_t n = 0, chosen = 0, before;
	/* Stopped processes fork no more: the count settles. */
	for (int round = 0; known && round < 8; round++) {
		free(all);
		n = proc_links(&all);
		before = chosen;
		chosen = 0;
		bool grew = true;
		while (grew) {
			grew = false;
			for (size_t i = 0; i < n; i++) {
				struct proc_link *l = &all[i];
				bool mine = l->pid == root || l->session == root || l->pgrp == root;
				for (size_t k = 0; !mine && k < n; k++)
					mine = all[k].chosen && all[k].pid == l->ppid;
				if (!mine || l->chosen)
					continue;
				l->chosen = grew = true;
				chosen++;
				if (l->pid != root)
					signal_seen(l, &ns, SIGSTOP);
			}
		}
		if (chosen == before)
			break;
	}
	for (size_t i = 0; i < n; i++)
		if (all[i].chosen && all[i].pid != root)
			signal_seen(&all[i], &ns, SIGKILL);
	free(all);
	kill(-root, SIGKILL);
	kill(root, SIGKILL);
}

int sandbox_wait(pid_t pid, const struct sandbox_wait_options *o, int *status,
		 struct petra_error **err)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	_cleanup_close_ int sigfd = -1;
	if (pidfd >= 0 && o && o->forward)
		sigfd = signalfd(-1, o->forward, SFD_CLOEXEC | SFD_NONBLOCK);
	if (pidfd < 0 || (o && o->forward && sigfd < 0)) {
		int e = errno;
		close_inputs(o);
		return petra_error_set_errno(err, e, "watch process %d", (int)pid);
	}
	int master = o ? o->pty_master : -1;
	struct copy copies[2 + 3];
	size_t n = 0;
	if (master >= 0) {
		copies[n++] = (struct copy){.from = master, .to = 1};
		copies[n++] = (struct copy){.from = 0, .to = master, .input = true};
	}
	for (size_t i = 0; o && i < o->n_relays && n < ARRAY_SIZE(copies); i++) {
		const struct sandbox_relay *r = &o->relays[i];
		copies[n++] = (struct copy){r->from, r->to, r->input, r->input};
	}
	struct termios saved;
	bool raw = master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(0, TCSANOW, &t);
	}
	bool interrupted = false;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	bool timed_out = false;
	for (;;) {
		int wait_ms = -1;
		if (o && o->timeout_ms && !timed_out) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			int64_t spent = (now.tv_sec - start.tv_sec) * 1000 +
					(now.tv_nsec - start.tv_nsec) / 1000000;
			if (spent >= o->timeout_ms) {
				if (o->timeout_kills_descendants)
					kill_descendants(pid);
				kill(pid, SIGKILL);
				timed_out = true;
			} else {
				wait_ms = (int)(o->timeout_ms - spent);
			}
		}
		struct pollfd fds[2 + ARRAY_SIZE(copies)] = {
		    {.fd = pidfd, .events = POLLIN},
		    {.fd = sigfd, .events = POLLIN},
		};
		for (size_t i = 0; i < n; i++)
			fds[2 + i] = (struct pollfd){.fd = copies[i].from, .events = POLLIN};
		if (poll(fds, 2 + n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				int sig = (int)si.ssi_signo;
				if (sig == SIGINT && o->kill_on_second_interrupt && interrupted) {
					log_warn("interrupted again: killing process %d", (int)pid);
					sig = SIGKILL;
				}
				interrupted = interrupted || sig == SIGINT;
				kill(pid, sig);
			}
		}
		for (size_t i = 0; i < n; i++) {
			struct copy *c = &copies[i];
			if (c->from < 0 || !(fds[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) ||
			    pump(c->from, c->to))
				continue;
			/* The end: a pty master at its end means the process is
			 * ending; stdin at its end is passed on to a pipe. */
			c->from = -1;
			if (c->close_to)
				close(c->to);
		}
		if (fds[0].revents & POLLIN)
			break;
	}
	/* Drain what the terminal and pipes still hold, without waiting for
	 * ends that other holders of them may delay. */
	for (size_t i = 0; i < n; i++) {
		while (copies[i].from >= 0 && !copies[i].input) {
			struct pollfd pfd = {.fd = copies[i].from, .events = POLLIN};
			if (poll(&pfd, 1, 0) <= 0 || !pump(copies[i].from, copies[i].to))
				break;
		}
		if (copies[i].from >= 0 && copies[i].close_to)
			close(copies[i].to);
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	int ws;
	if (waitpid(pid, &ws, 0) < 0)
		return petra_error_set_errno(err, errno, "wait for process %d", (int)pid);
	*status = sandbox_exit_code(ws);
	if (timed_out)
		return o->timeout_ms % 1000
			   ? petra_error_set(err, ETIMEDOUT, "timed out after %u ms, killed",
					     o->timeout_ms)
			   : petra_error_set(err, ETIMEDOUT, "timed out after %u s, killed",
					     o->timeout_ms / 1000);
	return 0;
}
