/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --memory, --cpus, --pids-limit: a cgroup of the container's own.
 *
 * On cgroup v2 (/sys/fs/cgroup is cgroup2) it is /sys/fs/cgroup/petra/ID
 * with the memory, cpu and pids controllers enabled down to it; on a v1
 * (or hybrid) host, petra/ID in each of the memory, cpu and pids
 * hierarchies a limit needs. The container's first process is cloned by
 * a process that stands in the cgroup at that moment (runtime_cgroup_enter
 * and _leave around sandbox_spawn), so everything of the container is
 * counted from its first instruction, with no race and without the
 * sandbox knowing about cgroups.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#define CGROUP_ROOT         "/sys/fs/cgroup"
#define CGROUP2_SUPER_MAGIC 0x63677270
#define CPU_PERIOD_US       100000

static bool cgroup_v2(void)
{
	struct statfs fs;
	return statfs(CGROUP_ROOT, &fs) == 0 && (unsigned long)fs.f_type == CGROUP2_SUPER_MAGIC;
}

static int write_file(const char *dir, const char *name, const char *value, bool optional,
		      struct petra_error **err)
{
	_cleanup_free_ char *path = path_join(dir, name);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && optional && errno == ENOENT)
		return 0;
	if (fd < 0 || fs_write_all(fd, value, strlen(value)) < 0)
		return petra_error_set_errno(err, errno, "write %s to %s", value, path);
	return 0;
}

static int make_dir(const char *path, struct petra_error **err)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return petra_error_set_errno(err, errno, "create cgroup %s", path);
	return 0;
}

static int create_v2(const char *id, const struct runtime_limits *l, struct runtime_cgroup *cg,
		     struct petra_error **err)
{
	static const char *const controllers[] = {"+memory", "+cpu", "+pids"};
	int r = make_dir(CGROUP_ROOT "/petra", err);
	/* Each controller down to petra/: one that is missing fails on its
	 * own limit below, with the file named. */
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(controllers); i++) {
		write_file(CGROUP_ROOT, "cgroup.subtree_control", controllers[i], false, NULL);
		write_file(CGROUP_ROOT "/petra", "cgroup.subtree_control", controllers[i], false,
			   NULL);
	}
	_cleanup_free_ char *dir = xasprintf(CGROUP_ROOT "/petra/%s", id);
	if (r == 0)
		r = make_dir(dir, err);
	if (r < 0)
		return r;
	strvec_push(&cg->dirs, dir);
	strvec_push(&cg->controllers, "");
	char value[64];
	if (l->memory) {
		snprintf(value, sizeof(value), "%llu", (unsigned long long)l->memory);
		r = write_file(dir, "memory.max", value, false, err);
		if (r == 0)
			r = write_file(dir, "memory.swap.max", "0", true, err);
	}
	if (r == 0 && l->cpu_quota) {
		snprintf(value, sizeof(value), "%llu %d", (unsigned long long)l->cpu_quota,
			 CPU_PERIOD_US);
		r = write_file(dir, "cpu.max", value, false, err);
	}
	if (r == 0 && l->pids) {
		snprintf(value, sizeof(value), "%llu", (unsigned long long)l->pids);
		r = write_file(dir, "pids.max", value, false, err);
	}
	return r;
}

/* petra/ID in one v1 hierarchy. */
static int create_v1(const char *controller, const char *id, struct runtime_cgroup *cg,
		     char **dir_out, struct petra_error **err)
{
	_cleanup_free_ char *base = xasprintf(CGROUP_ROOT "/%s", controller);
	struct stat st;
	if (stat(base, &st) < 0)
		return petra_error_set_errno(err, errno,
					     "the %s cgroup controller (neither cgroup v2 nor "
					     "a v1 hierarchy at %s)",
					     controller, base);
	_cleanup_free_ char *petra = path_join(base, "petra");
	int r = make_dir(petra, err);
	char *dir = path_join(petra, id);
	if (r == 0)
		r = make_dir(dir, err);
	if (r < 0) {
		free(dir);
		return r;
	}
	strvec_push(&cg->dirs, dir);
	strvec_push(&cg->controllers, controller);
	*dir_out = dir;
	return 0;
}

static int create_v1_all(const char *id, const struct runtime_limits *l, struct runtime_cgroup *cg,
			 struct petra_error **err)
{
	char value[64];
	char *dir;
	int r = 0;
	if (l->memory && (r = create_v1("memory", id, cg, &dir, err)) == 0) {
		snprintf(value, sizeof(value), "%llu", (unsigned long long)l->memory);
		_cleanup_free_ char *own = dir;
		r = write_file(own, "memory.limit_in_bytes", value, false, err);
		/* Memory and swap together no more than memory: the container
		 * is killed, not swapped, at its limit (when swap accounting
		 * is on at all). */
		if (r == 0)
			r = write_file(own, "memory.memsw.limit_in_bytes", value, true, err);
	}
	if (r == 0 && l->cpu_quota && (r = create_v1("cpu", id, cg, &dir, err)) == 0) {
		_cleanup_free_ char *own = dir;
		snprintf(value, sizeof(value), "%d", CPU_PERIOD_US);
		r = write_file(own, "cpu.cfs_period_us", value, false, err);
		snprintf(value, sizeof(value), "%llu", (unsigned long long)l->cpu_quota);
		if (r == 0)
			r = write_file(own, "cpu.cfs_quota_us", value, false, err);
	}
	if (r == 0 && l->pids && (r = create_v1("pids", id, cg, &dir, err)) == 0) {
		_cleanup_free_ char *own = dir;
		snprintf(value, sizeof(value), "%llu", (unsigned long long)l->pids);
		r = write_file(own, "pids.max", value, false, err);
	}
	return r;
}

int runtime_cgroup_create(const char *id, const struct runtime_limits *limits,
			  struct runtime_cgroup *cg, struct petra_error **err)
{
	memset(cg, 0, sizeof(*cg));
	int r = cgroup_v2() ? create_v2(id, limits, cg, err) : create_v1_all(id, limits, cg, err);
	if (r < 0)
		runtime_cgroup_remove(cg);
	return r;
}

/* The cgroup.procs of the calling process's cgroup in the hierarchy of
 * controller ("" for the v2 hierarchy). */
static char *current_procs(const char *controller)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *names = strchr(line, ':');
		char *path = names ? strchr(names + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		names++;
		bool match = false;
		if (!*controller) {
			match = !*names;
		} else {
			for (char *save = names, *n; (n = strsep(&save, ","));)
				match = match || !strcmp(n, controller);
		}
		if (match)
			return *controller
				   ? xasprintf(CGROUP_ROOT "/%s%s/cgroup.procs", controller, path)
				   : xasprintf(CGROUP_ROOT "%s/cgroup.procs", path);
	}
	return NULL;
}

static int move_self(const char *procs, struct petra_error **err)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	_cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || fs_write_all(fd, pid, strlen(pid)) < 0)
		return petra_error_set_errno(err, errno, "move process %s into %s", pid, procs);
	return 0;
}

int runtime_cgroup_enter(const struct runtime_cgroup *cg, struct strvec *saved,
			 struct petra_error **err)
{
	*saved = (struct strvec)STRVEC_INIT;
	for (size_t i = 0; i < cg->dirs.n; i++) {
		char *back = current_procs(cg->controllers.v[i]);
		_cleanup_free_ char *procs = path_join(cg->dirs.v[i], "cgroup.procs");
		int r = move_self(procs, err);
		if (r < 0) {
			free(back);
			runtime_cgroup_leave(saved);
			return r;
		}
		if (back)
			strvec_push_nodup(saved, back);
	}
	return 0;
}

void runtime_cgroup_leave(struct strvec *saved)
{
	for (size_t i = 0; i < saved->n; i++) {
		_cleanup_error_ struct petra_error *e = NULL;
		if (move_self(saved->v[i], &e) < 0)
			log_warn("%s", e->message);
	}
	strvec_clear(saved);
}

void runtime_cgroup_remove(struct runtime_cgroup *cg)
{
	for (size_t i = 0; i < cg->dirs.n; i++) {
		/* The last processes of a pid namespace may still be on their
		 * way out when its first one was reaped. */
		for (int tries = 0; rmdir(cg->dirs.v[i]) < 0 && errno == EBUSY && tries < 200;
		     tries++)
			nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	strvec_clear(&cg->dirs);
	strvec_clear(&cg->controllers);
}
