/* SPDX-License-Identifier: Apache-2.0 */
/* Looking into and acting on a running container from the host: kill, top,
 * cp. Every one goes through a pidfd checked to be the container's first
 * process (runtime_container_pidfd), never through a bare pid. */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>

int runtime_kill(const struct runtime_container *c, int sig, struct petra_error **err)
{
	if (!c->running)
		return petra_error_set(err, ESRCH, "container %.12s is not running", c->id);
	_cleanup_close_ int pidfd = -1;
	int r = runtime_container_pidfd(c, &pidfd, err);
	if (r < 0)
		return r;
	if (pidfd_send_signal(pidfd, sig, NULL, 0) < 0)
		return petra_error_set_errno(err, errno, "signal %d to container %.12s", sig,
					     c->id);
	return 0;
}

/* ---- top ---- */

static int ns_inode(pid_t pid, ino_t *ino)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

/* One process of /proc: its pid in the container (the last NSpid), real
 * uid, CPU time and command line. false when it is gone. */
static bool read_process(pid_t host_pid, struct runtime_process *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)host_pid);
	_cleanup_free_ char *status = NULL;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 1u << 16, &status, NULL, &ignored) < 0)
		return false;
	memset(p, 0, sizeof(*p));
	p->host_pid = host_pid;
	char *nspid = strstr(status, "\nNSpid:");
	char *uid = strstr(status, "\nUid:");
	if (nspid) {
		char *end = strchr(nspid + 1, '\n');
		if (end)
			*end = '\0';
		char *last = strrchr(nspid, '\t');
		p->pid = last ? (pid_t)atoi(last + 1) : 0;
		if (end)
			*end = '\n';
	}
	if (uid)
		p->uid = (uid_t)strtoul(uid + 5, NULL, 10);
	/* utime and stime, fields 14 and 15, counted from the last ')'. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)host_pid);
	_cleanup_free_ char *stat_text = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 1u << 16, &stat_text, NULL, &ignored) == 0) {
		char *s = strrchr(stat_text, ')');
		for (int field = 2; s && field < 14; field++)
			s = strchr(s + 1, ' ');
		if (s) {
			char *end;
			unsigned long long utime = strtoull(s + 1, &end, 10);
			p->cpu_ticks = utime + strtoull(end, NULL, 10);
		}
		char *open = strchr(stat_text, '(');
		char *close = strrchr(stat_text, ')');
		if (open && close > open)
			p->name = xstrndup(open + 1, (size_t)(close - open - 1));
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)host_pid);
	char *cmdline = NULL;
	size_t len = 0;
	if (fs_read_file_at(AT_FDCWD, path, 1u << 16, &cmdline, &len, &ignored) == 0 && len) {
		for (size_t i = 0; i + 1 < len; i++)
			if (cmdline[i] == '\0')
				cmdline[i] = ' ';
		p->command = cmdline;
	} else {
		free(cmdline);
		/* A kernel thread or a zombie: its name, as ps shows it. */
		p->command = xasprintf("[%s]", p->name ? p->name : "?");
	}
	return true;
}

void runtime_processes_free(struct runtime_process *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].command);
	}
	free(list);
}

static int by_pid(const void *a, const void *b)
{
	const struct runtime_process *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int runtime_top(const struct runtime_container *c, struct runtime_process **list, size_t *n,
		struct petra_error **err)
{
	*list = NULL;
	*n = 0;
	if (!c->running)
		return petra_error_set(err, ESRCH, "container %.12s is not running", c->id);
	_cleanup_close_ int pidfd = -1;
	int r = runtime_container_pidfd(c, &pidfd, err);
	if (r < 0)
		return r;
	ino_t ns;
	if ((r = ns_inode(c->pid, &ns)) < 0)
		return petra_error_set_errno(err, -r, "the pid namespace of container %.12s",
					     c->id);
	DIR *proc = opendir("/proc");
	if (!proc)
		return petra_error_set_errno(err, errno, "read /proc");
	struct dirent *de;
	size_t cap = 0;
	while ((de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		ino_t other;
		if (*end || pid <= 0 || ns_inode((pid_t)pid, &other) < 0 || other != ns)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*list = xrealloc(*list, cap * sizeof(**list));
		}
		if (read_process((pid_t)pid, &(*list)[*n]))
			(*n)++;
	}
	closedir(proc);
	if (*n)
		qsort(*list, *n, sizeof(**list), by_pid);
	return 0;
}

/* ---- cp ---- */

struct copy_out {
	size_t skipped; /* devices, fifos, sockets */
};

static int copy_file(int src_dir, const char *name, const char *dest, mode_t mode,
		     struct petra_error **err)
{
	_cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return petra_error_set_errno(err, errno, "open %s", name);
	/* The caller's file now: permission bits, never setuid or setgid. */
	_cleanup_close_ int out =
	    open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
	if (out < 0)
		return petra_error_set_errno(err, errno, "create %s", dest);
	fchmod(out, mode & 0777);
	return fs_copy_fd(in, out, NULL, err);
}

static int copy_symlink(int src_dir, const char *name, const char *dest, struct petra_error **err)
{
	char target[4096];
	ssize_t len = readlinkat(src_dir, name, target, sizeof(target) - 1);
	if (len < 0)
		return petra_error_set_errno(err, errno, "read the link %s", name);
	target[len] = '\0';
	unlink(dest);
	if (symlink(target, dest) < 0)
		return petra_error_set_errno(err, errno, "create the link %s", dest);
	return 0;
}

static int copy_dir(const char *dest, mode_t mode, struct petra_error **err)
{
	/* Writable by us while we fill it; its own bits once done would be
	 * nicer, but a read-only directory copied out stays usable. */
	if (mkdir(dest, (mode & 0777) | 0700) < 0 && errno != EEXIST)
		return petra_error_set_errno(err, errno, "create %s", dest);
	return 0;
}

static int copy_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	struct copy_out *co = ctx;
	if (S_ISDIR(e->st.st_mode))
		return copy_dir(e->path, e->st.st_mode, err);
	if (S_ISREG(e->st.st_mode))
		return copy_file(e->dirfd, e->name, e->path, e->st.st_mode, err);
	if (S_ISLNK(e->st.st_mode))
		return copy_symlink(e->dirfd, e->name, e->path, err);
	co->skipped++;
	return 0;
}

int runtime_copy_out(const struct runtime_container *c, const char *path, const char *dest,
		     size_t *skipped, struct petra_error **err)
{
	*skipped = 0;
	if (!path_is_clean(path)) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL,
				       "%s: a container path is absolute, without . or ..", q);
	}
	if (!c->running)
		return petra_error_set(err, ESRCH,
				       "container %.12s is not running (cp reads a running "
				       "container's files)",
				       c->id);
	_cleanup_close_ int pidfd = -1;
	int r = runtime_container_pidfd(c, &pidfd, err);
	if (r < 0)
		return r;
	char root_path[64];
	snprintf(root_path, sizeof(root_path), "/proc/%d/root", (int)c->pid);
	_cleanup_close_ int root = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return petra_error_set_errno(err, errno, "open %s", root_path);
	/* The pid could have been reused between the check and the open:
	 * checked again, the root opened is the container's. */
	if (runtime_process_start(c->pid) !=
	    (unsigned long long)json_get_int(c->state, "pid_start", 0))
		return petra_error_set(err, ESRCH, "container %.12s ended", c->id);
	/* Its parent, in the container, and its name there: the path itself
	 * (last component) is copied as what it is, a link as a link. */
	_cleanup_free_ char *copy = xstrdup(path);
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	char *slash = strrchr(copy, '/');
	const char *name = slash ? slash + 1 : copy;
	_cleanup_free_ char *parent =
	    slash ? (slash == copy ? xstrdup("/") : xstrndup(copy, (size_t)(slash - copy)))
		  : xstrdup("/");
	bool whole_root = !*name || !strcmp(copy, "/");
	_cleanup_close_ int parent_fd =
	    fs_open_in_root(root, whole_root ? "/" : parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent_fd < 0)
		return petra_error_set_errno(err, -parent_fd, "container %.12s: %s", c->id, parent);
	struct stat st;
	if (whole_root) {
		name = ".";
		if (fstat(parent_fd, &st) < 0)
			return petra_error_set_errno(err, errno, "container %.12s: /", c->id);
	} else if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		return petra_error_set_errno(err, errno, "container %.12s: %s", c->id, path);
	}
	/* DEST an existing directory: the copy goes in it, under its name. */
	struct stat dst;
	_cleanup_free_ char *target = NULL;
	if (stat(dest, &dst) == 0 && S_ISDIR(dst.st_mode) && !whole_root)
		target = path_join(dest, name);
	else
		target = xstrdup(dest);
	struct copy_out co = {0};
	if (S_ISREG(st.st_mode)) {
		r = copy_file(parent_fd, name, target, st.st_mode, err);
	} else if (S_ISLNK(st.st_mode)) {
		r = copy_symlink(parent_fd, name, target, err);
	} else if (S_ISDIR(st.st_mode)) {
		r = copy_dir(target, st.st_mode, err);
		_cleanup_close_ int dir =
		    r < 0
			? -1
			: openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (r == 0 && dir < 0)
			r = petra_error_set_errno(err, errno, "container %.12s: %s", c->id, path);
		struct fs_walk_ops ops = {.pre = copy_entry};
		if (r == 0)
			r = fs_walk(dir, target, FS_WALK_SKIP_VANISHED, &ops, &co, err);
	} else {
		return petra_error_set(err, EINVAL,
				       "container %.12s: %s is not a file, directory or link",
				       c->id, path);
	}
	*skipped = co.skipped;
	return r;
}
