/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container state: <run dir>/<id>/state.json, "exit" (the status, written
 * by whoever waited for the container) and "log" (a detached container's
 * output).
 */
#include "internal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Where the run directories of all stores go. */
static char *run_dir_base(void)
{
	uid_t uid = fs_host_euid(); /* a rootless build is root only of its namespace */
	if (uid == 0)
		return xstrdup("/run/petra");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		return xasprintf("%s/petra", xdg);
	return xasprintf("/tmp/petra-run-%u", (unsigned)uid);
}

char *runtime_default_run_dir(const char *store_root)
{
	const char *env = getenv("PETRA_RUN_DIR");
	if (env && *env)
		return xstrdup(env);
	_cleanup_free_ char *base = run_dir_base();
	/* One run directory per store, named by its absolute path: a
	 * container's layers and image are in that store, so ps, stop, exec
	 * and prune of another store must not see it. */
	char *real = store_root ? realpath(store_root, NULL) : NULL;
	if (!real && store_root) {
		char cwd[4096];
		real = store_root[0] == '/' || !getcwd(cwd, sizeof(cwd))
			   ? xstrdup(store_root)
			   : path_join(cwd, store_root);
	}
	if (!real)
		return xstrdup(base);
	char digest[OCI_DIGEST_SIZE];
	oci_digest_buffer(real, strlen(real), digest);
	free(real);
	return xasprintf("%s/%.16s", base, oci_digest_hex(digest));
}

/* One directory of the run dir's path: ours, 0700, not a link. */
static int check_private_dir(const char *run_dir, struct petra_error **err)
{
	/* petra signals the pids and joins the namespaces that states name:
	 * only a directory of our own that no one else can write into is
	 * trusted. /tmp/petra-run-UID is a name anyone can take first. */
	struct stat st;
	if (lstat(run_dir, &st) < 0)
		return petra_error_set_errno(err, errno, "run directory %s", run_dir);
	if (S_ISLNK(st.st_mode))
		return petra_error_set(err, ELOOP, "run directory %s is a symbolic link", run_dir);
	if (!S_ISDIR(st.st_mode))
		return petra_error_set(err, ENOTDIR, "run directory %s is not a directory",
				       run_dir);
	if (st.st_uid != geteuid())
		return petra_error_set(err, EPERM,
				       "run directory %s belongs to uid %u, not to uid %u: its "
				       "container states cannot be trusted",
				       run_dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return petra_error_set(
		    err, EPERM,
		    "run directory %s is mode %04o: others could plant container "
		    "states in it (it must be 0700)",
		    run_dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* A default run dir is <base>/<store hash>: whoever owns the base could
 * swap the store's directory, so it is checked too, first (before
 * anything is made in it). */
static int check_base(const char *run_dir, bool create, struct petra_error **err)
{
	const char *env = getenv("PETRA_RUN_DIR");
	if (!(env && !strcmp(env, run_dir))) {
		_cleanup_free_ char *base = xstrdup(run_dir);
		char *slash = strrchr(base, '/');
		if (slash && slash != base) {
			*slash = '\0';
			int r = create ? fs_mkdir_p(base, 0700, err) : 0;
			if (r == 0)
				r = check_private_dir(base, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int runtime_run_dir_check(const char *run_dir, bool create, struct petra_error **err)
{
	int r = check_base(run_dir, create, err);
	if (r < 0)
		return r;
	if (create && mkdir(run_dir, 0700) < 0 && errno != EEXIST)
		return petra_error_set_errno(err, errno, "create %s", run_dir);
	return check_private_dir(run_dir, err);
}

int runtime_state_write(int dir_fd, json_t *state, struct petra_error **err)
{
	size_t len;
	_cleanup_free_ char *data = json_dump_compact(state, &len);
	/* Readers see the old or the new file. No fsync: the run dir is a
	 * tmpfs on a normal system, and state does not outlive a reboot. */
	_cleanup_free_ char *tmp = xasprintf(".state.json.%d", (int)getpid());
	_cleanup_close_ int fd =
	    openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fs_write_all(fd, data, len) < 0 ||
	    renameat(dir_fd, tmp, dir_fd, "state.json") < 0)
		return petra_error_set_errno(err, errno, "write the container state");
	return 0;
}

unsigned long long runtime_process_start(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = fs_read_full(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: count from the
	 * last ')'. starttime is field 22; the ')' ends field 2. */
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* PID 1 of a pid namespace of its own, as a container's first process
 * is: the last number of the NSpid line of /proc/PID/status is 1. */
static bool is_namespace_init(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_free_ char *status = NULL;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 1u << 16, &status, NULL, &ignored) < 0)
		return false;
	char *line = strstr(status, "\nNSpid:");
	if (!line)
		return false;
	line = strtok(line + 7, "\n");
	char *last = line ? strrchr(line, '\t') : NULL;
	return last && last != strchr(line, '\t') && !strcmp(last + 1, "1");
}

int runtime_container_pidfd(const struct runtime_container *c, int *pidfd, struct petra_error **err)
{
	int fd = pidfd_open(c->pid, 0);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "container %.12s", c->id);
	/* Checked once the pidfd is open: if the pid was reused before, the
	 * start time differs; after, the pidfd still holds the old process. A
	 * state (forged, or stale) naming some other host process is not
	 * taken for a container: that process is no namespace's PID 1. */
	unsigned long long start = (unsigned long long)json_get_int(c->state, "pid_start", 0);
	if (c->pid <= 0 || !start || runtime_process_start(c->pid) != start ||
	    !is_namespace_init(c->pid)) {
		close(fd);
		return petra_error_set(err, ESRCH, "container %.12s is not running", c->id);
	}
	*pidfd = fd;
	return 0;
}

void runtime_container_release(struct runtime_container *c)
{
	free(c->id);
	free(c->dir);
	json_decref(c->state);
	memset(c, 0, sizeof(*c));
}

void runtime_containers_free(struct runtime_container *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		runtime_container_release(&list[i]);
	free(list);
}

static int load(const char *run_dir, const char *id, struct runtime_container *c,
		struct petra_error **err)
{
	memset(c, 0, sizeof(*c));
	c->id = xstrdup(id);
	c->dir = path_join(run_dir, id);
	_cleanup_free_ char *data = NULL;
	size_t len;
	_cleanup_close_ int dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? petra_error_set_errno(err, errno, "container %s", id)
			: fs_read_file_at(dfd, "state.json", 1u << 20, &data, &len, err);
	if (r == 0) {
		c->state = json_parse_buffer(data, len, "state.json", err);
		if (!c->state)
			r = -EINVAL;
	}
	if (r < 0) {
		runtime_container_release(c);
		return r;
	}
	c->name = json_get_string(c->state, "name");
	c->image = json_get_string(c->state, "image");
	c->image_digest = json_get_string(c->state, "image_digest");
	c->pid = (pid_t)json_get_int(c->state, "pid", 0);
	c->created = (time_t)json_get_int(c->state, "created", 0);
	c->exit_code = -1;
	_cleanup_free_ char *exit_text = NULL;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(dfd, "exit", 64, &exit_text, NULL, &ignored) == 0)
		c->exit_code = atoi(exit_text);
	/* Running: no exit status yet, and the pid is still the same process
	 * (same start time). */
	unsigned long long start = (unsigned long long)json_get_int(c->state, "pid_start", 0);
	c->running = c->exit_code < 0 && c->pid > 0 && start &&
		     runtime_process_start(c->pid) == start && is_namespace_init(c->pid);
	return 0;
}

static int compare_created(const void *a, const void *b)
{
	const struct runtime_container *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

int runtime_list(const char *run_dir, struct runtime_container **list, size_t *n,
		 struct petra_error **err)
{
	*list = NULL;
	*n = 0;
	struct stat st;
	if (lstat(run_dir, &st) < 0 && errno == ENOENT) {
		/* No container yet; but a base someone else owns is said. */
		struct stat base;
		_cleanup_free_ char *parent = xstrdup(run_dir);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		return lstat(parent, &base) == 0 ? check_base(run_dir, false, err) : 0;
	}
	int r = runtime_run_dir_check(run_dir, false, err);
	if (r < 0)
		return r;
	_cleanup_closedir_ DIR *d = opendir(run_dir);
	if (!d)
		return petra_error_set_errno(err, errno, "open %s", run_dir);
	struct dirent *de;
	size_t alloc = 0;
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
			continue;
		struct runtime_container c;
		_cleanup_error_ struct petra_error *skip = NULL;
		/* A container being created or removed has no (valid) state. */
		if (load(run_dir, de->d_name, &c, &skip) < 0)
			continue;
		xgrow((void **)list, &alloc, *n + 1, sizeof(**list));
		(*list)[(*n)++] = c;
	}
	if (*n)
		qsort(*list, *n, sizeof(**list), compare_created);
	return 0;
}

int runtime_find(const char *run_dir, const char *what, struct runtime_container *c,
		 struct petra_error **err)
{
	struct runtime_container *list;
	size_t n;
	int r = runtime_list(run_dir, &list, &n, err);
	if (r < 0)
		return r;
	ssize_t found = -1;
	size_t len = strlen(what);
	for (size_t i = 0; i < n; i++) {
		bool by_name = list[i].name && !strcmp(list[i].name, what);
		bool by_id = len >= 1 && !strncmp(list[i].id, what, len);
		if (by_name) {
			found = (ssize_t)i;
			break;
		}
		if (by_id) {
			if (found >= 0) {
				runtime_containers_free(list, n);
				return petra_error_set(
				    err, EINVAL, "container id prefix \"%s\" is ambiguous", what);
			}
			found = (ssize_t)i;
		}
	}
	if (found < 0) {
		runtime_containers_free(list, n);
		return petra_error_set(err, ENOENT, "no container \"%s\"", what);
	}
	*c = list[found];
	memset(&list[found], 0, sizeof(list[found]));
	runtime_containers_free(list, n);
	return 0;
}

/* ---- stop and remove ---- */

/* Has the process of pidfd ended (within ms)? Only the kernel's word
 * counts: parsing /proc/PID/stat for a zombie can be fooled by a process
 * that names itself "x) Z". A zombie counts as ended: its parent (the
 * supervisor) reaps it. */
static bool wait_exit(int pidfd, unsigned ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int r;
	while ((r = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
		;
	return r > 0;
}

/* SIGTERM (with a grace period, then SIGKILL) or SIGKILL straight away. */
static int end_container(struct runtime_container *c, bool term, unsigned grace,
			 struct petra_error **err)
{
	_cleanup_close_ int pidfd = -1;
	_cleanup_error_ struct petra_error *gone = NULL;
	if (runtime_container_pidfd(c, &pidfd, &gone) < 0)
		return 0; /* it ended meanwhile */
	if (term) {
		if (pidfd_send_signal(pidfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
			return petra_error_set_errno(err, errno, "signal container %.12s", c->id);
		if (wait_exit(pidfd, grace * 1000))
			return 0;
	}
	if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return petra_error_set_errno(err, errno, "kill container %.12s", c->id);
	if (!wait_exit(pidfd, 10000))
		return petra_error_set(err, ETIMEDOUT, "container %.12s did not end", c->id);
	return 0;
}

/* Give whoever waited for the container (its supervisor, or petra run) a
 * moment, 10 s at most, to record the exit status (or, --rm, to remove
 * the state): until then they still write into its directory. */
static void wait_exit_recorded(const struct runtime_container *c)
{
	_cleanup_free_ char *exit_path = path_join(c->dir, "exit");
	for (int i = 0; i < 2000 && access(exit_path, F_OK) < 0 && access(c->dir, F_OK) == 0; i++) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

int runtime_stop(struct runtime_container *c, unsigned grace, struct petra_error **err)
{
	if (!c->running)
		return 0;
	int r = end_container(c, true, grace, err);
	if (r < 0)
		return r;
	wait_exit_recorded(c);
	c->running = false;
	return 0;
}

int runtime_remove(struct runtime_container *c, bool force, struct petra_error **err)
{
	if (c->running) {
		if (!force)
			return petra_error_set(
			    err, EBUSY, "container %.12s is running (stop it first, or force)",
			    c->id);
		int r = end_container(c, false, 0, err);
		if (r < 0)
			return r;
		wait_exit_recorded(c);
	}
	/* Its supervisor removes its cgroups; one that was killed could not.
	 * Only petra's own cgroups are ever removed, and only empty ones. */
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c->state, "cgroups"), i, v)
	{
		const char *dir = json_string_value(v);
		if (dir && !strncmp(dir, "/sys/fs/cgroup/", 15) && strstr(dir, "/petra/") &&
		    !strstr(dir, ".."))
			rmdir(dir);
	}
	return fs_remove_tree_at(AT_FDCWD, c->dir, err);
}
