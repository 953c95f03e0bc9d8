/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Creating a container: namespaces, the mount tree, pivot_root.
 *
 * Every mount target inside the new root is opened with
 * openat2(RESOLVE_IN_ROOT) and mounted on through its descriptor, so a
 * symlink in the image cannot redirect a mount onto the host. Binds are
 * recursive, and read-only ones are read-only in every mount they bring
 * along. The old root is detached after pivot_root; nothing of the host's
 * tree stays visible.
 */
#include "internal.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define DEFAULT_TMPFS_SIZE (UINT64_C(64) << 20)

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

struct child {
	const struct sandbox_config *c;
	char *root;  /* <work>/root: where the new root is mounted */
	int root_fd; /* open on it once mounted */
};

/* ---- paths inside the root ---- */

static char *fd_path(int fd)
{
	return xasprintf("/proc/self/fd/%d", fd);
}

/* Create `path` inside the root (a directory, or an empty file) where it
 * is missing, with the directories above it (0755) that are missing too;
 * where they go must be writable (a tmpfs, a writable root). */
static int ensure_target(struct child *ch, const char *path, bool dir, struct petra_error **err)
{
	int fd = fs_open_in_root(ch->root_fd, path, O_PATH);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	_cleanup_free_ char *copy = xstrdup(path);
	char *slash = strrchr(copy, '/');
	const char *name = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	if (slash && *copy) {
		int r = ensure_target(ch, copy, true, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int parent =
	    fs_open_in_root(ch->root_fd, *copy ? copy : "/", O_PATH | O_DIRECTORY);
	if (parent < 0)
		return petra_error_set_errno(err, -parent, "mount target %s: parent", path);
	int r = dir ? mkdirat(parent, name, 0755)
		    : (fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
	if (r < 0 && errno != EEXIST)
		return petra_error_set_errno(err, errno, "create mount target %s", path);
	if (!dir && fd >= 0)
		close(fd);
	return 0;
}

/* mount(2) onto a path inside the root, resolved safely. */
static int mount_in_root(struct child *ch, const char *source, const char *target,
			 const char *fstype, unsigned long flags, const char *data,
			 struct petra_error **err)
{
	_cleanup_close_ int fd = fs_open_in_root(ch->root_fd, target, O_PATH);
	if (fd < 0)
		return petra_error_set_errno(err, -fd, "mount target %s", target);
	_cleanup_free_ char *p = fd_path(fd);
	if (mount(source, p, fstype, flags, data) < 0)
		return petra_error_set_errno(err, errno, "mount %s on %s", fstype ? fstype : source,
					     target);
	return 0;
}

/* Bind src_dir/src (a host path, or src "" for src_dir itself) on target
 * with every mount below it, and set `attr` (MOUNT_ATTR_RDONLY, ...) on
 * all of those mounts: a read-only bind of / must not leave the /proc or
 * /sys below it writable, as a remount of the top mount alone would. */
static int bind_in_root(struct child *ch, int src_dir, const char *src, const char *target,
			uint64_t attr, struct petra_error **err)
{
	_cleanup_close_ int to = fs_open_in_root(ch->root_fd, target, O_PATH);
	if (to < 0)
		return petra_error_set_errno(err, -to, "mount target %s", target);
	_cleanup_close_ int tree = open_tree(src_dir, src,
					     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE |
						 (*src ? 0 : AT_EMPTY_PATH));
	if (tree < 0)
		return petra_error_set_errno(err, errno, "bind %s on %s", *src ? src : target,
					     target);
	struct mount_attr ma = {.attr_set = attr};
	if (attr && mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma, sizeof(ma)) < 0)
		return petra_error_set_errno(err, errno, "make the mounts of %s read-only", target);
	if (move_mount(tree, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return petra_error_set_errno(err, errno, "bind %s on %s", *src ? src : target,
					     target);
	return 0;
}

#define READ_ONLY (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

/* ---- the scaffold for a read-only root ---- */

/* The real path of `target` inside the root when some of it is missing:
 * the longest existing prefix, symlinks resolved, plus the rest. NULL when
 * the target exists. */
static char *missing_target(struct child *ch, const char *target)
{
	int fd = fs_open_in_root(ch->root_fd, target, O_PATH);
	if (fd >= 0) {
		close(fd);
		return NULL;
	}
	_cleanup_free_ char *prefix = xstrdup(target);
	const char *rest = NULL;
	for (;;) {
		char *slash = strrchr(prefix, '/');
		if (!slash)
			return xstrdup(target);
		*slash = '\0';
		rest = target + (slash - prefix) + 1;
		fd = fs_open_in_root(ch->root_fd, *prefix ? prefix : "/", O_PATH);
		if (fd >= 0)
			break;
	}
	char link[PATH_MAX];
	_cleanup_free_ char *p = fd_path(fd);
	ssize_t n = readlink(p, link, sizeof(link) - 1);
	close(fd);
	if (n < 0)
		return xstrdup(target);
	link[n] = '\0';
	size_t root_len = strlen(ch->root);
	const char *inside = strncmp(link, ch->root, root_len) ? "" : link + root_len;
	return xasprintf("%s/%s", inside, rest);
}

/* Create `path` (the real path of a missing mount target) in the
 * scaffold, parents first, one component at a time: never following a
 * symbolic link, never leaving the scaffold. */
static int scaffold_add(int scaffold_fd, const char *path, bool dir, struct petra_error **err)
{
	_cleanup_free_ char *rel = xstrdup(path);
	_cleanup_close_ int cur = -1; /* the directory reached, below the scaffold */
	char *save = rel, *name;
	while ((name = strsep(&save, "/"))) {
		if (!*name)
			continue;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return petra_error_set(err, EINVAL, "scaffold %s: a . or .. component",
					       path);
		int at = cur >= 0 ? cur : scaffold_fd;
		bool last = !save || !save[strspn(save, "/")];
		if (last && !dir) {
			int fd =
			    openat(at, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (fd < 0)
				return petra_error_set_errno(err, errno, "scaffold %s", path);
			close(fd);
			return 0;
		}
		if (mkdirat(at, name, 0755) < 0 && errno != EEXIST)
			return petra_error_set_errno(err, errno, "scaffold %s", path);
		int next = openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return petra_error_set_errno(err, errno, "scaffold %s", path);
		if (cur >= 0)
			close(cur);
		cur = next;
	}
	return 0;
}

static bool target_is_dir(const struct sandbox_mount *m)
{
	struct stat st;
	return m->kind == SANDBOX_MOUNT_TMPFS || stat(m->source, &st) < 0 || S_ISDIR(st.st_mode);
}

static int mount_root(struct child *ch, struct petra_error **err)
{
	const struct sandbox_config *c = ch->c;
	int r = rootfs_mount(ch->root, &c->root, err);
	if (r < 0)
		return r;
	ch->root_fd = open(ch->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ch->root_fd < 0)
		return petra_error_set_errno(err, errno, "open %s", ch->root);
	if (c->root.upper || (c->root.flags & ROOTFS_MOUNT_WRITABLE_DIR))
		return 0; /* writable: targets are created as they are needed */

	/* Which mount targets does the image lack? */
	_cleanup_free_ char *scaffold = path_join(c->work_dir, "scaffold");
	_cleanup_close_ int sfd = -1;
	bool missing = false;
	for (size_t i = 0; i < SANDBOX_N_STANDARD_MOUNTS + c->n_mounts; i++) {
		const char *target;
		bool dir;
		if (i < SANDBOX_N_STANDARD_MOUNTS) {
			target = sandbox_standard_mounts[i].target;
			dir = sandbox_standard_mounts[i].dir;
		} else {
			const struct sandbox_mount *m = &c->mounts[i - SANDBOX_N_STANDARD_MOUNTS];
			target = m->target, dir = target_is_dir(m);
		}
		_cleanup_free_ char *real = missing_target(ch, target);
		if (!real)
			continue;
		if (sfd < 0) {
			if (mkdir(scaffold, 0755) < 0)
				return petra_error_set_errno(err, errno, "create %s", scaffold);
			sfd = open(scaffold, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sfd < 0)
				return petra_error_set_errno(err, errno, "open %s", scaffold);
		}
		r = scaffold_add(sfd, real, dir, err);
		if (r < 0)
			return r;
		missing = true;
	}
	if (!missing)
		return 0;
	/* Mount again with the scaffold as the top layer. */
	close(ch->root_fd);
	ch->root_fd = -1;
	if (umount2(ch->root, MNT_DETACH) < 0)
		return petra_error_set_errno(err, errno, "unmount %s", ch->root);
	const char **lowers = xcalloc(c->root.n_lowers + 1, sizeof(*lowers));
	for (size_t i = 0; i < c->root.n_lowers; i++)
		lowers[i] = c->root.lowers[i];
	lowers[c->root.n_lowers] = scaffold;
	struct rootfs_mount_options o = c->root;
	o.lowers = lowers;
	o.n_lowers++;
	r = rootfs_mount(ch->root, &o, err);
	free(lowers);
	if (r < 0)
		return r;
	ch->root_fd = open(ch->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ch->root_fd < 0)
		return petra_error_set_errno(err, errno, "open %s", ch->root);
	return 0;
}

/* ---- the standard mounts ---- */

static int mount_dev(struct child *ch, struct petra_error **err)
{
	int r = mount_in_root(ch, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
			      "mode=0755,size=65536k", err);
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes) && r == 0; i++) {
		_cleanup_free_ char *target = xasprintf("/dev/%s", dev_nodes[i]);
		_cleanup_free_ char *source = xasprintf("/dev/%s", dev_nodes[i]);
		/* Bound from the host rather than made with mknod: that works in
		 * a user namespace too. */
		r = ensure_target(ch, target, false, err);
		if (r == 0)
			r = bind_in_root(ch, AT_FDCWD, source, target, 0, err);
	}
	_cleanup_close_ int dev = r < 0 ? -1 : fs_open_in_root(ch->root_fd, "/dev", O_DIRECTORY);
	if (r == 0 && dev < 0)
		r = petra_error_set_errno(err, -dev, "open /dev");
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	    {"pts/ptmx", "ptmx"},          {"/proc/kcore", "core"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(links) && r == 0; i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0)
			r = petra_error_set_errno(err, errno, "create /dev/%s", links[i][1]);
	if (r == 0 && (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0))
		r = petra_error_set_errno(err, errno, "create /dev/pts and /dev/shm");
	if (r == 0)
		r = mount_in_root(ch, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
				  "newinstance,ptmxmode=0666,mode=0620", err);
	if (r == 0)
		r = mount_in_root(ch, "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  "mode=1777,size=65536k", err);
	/* The terminal, when there is one, is the console: its own devpts
	 * instance is not the container's. */
	if (r == 0 && ch->c->process.tty) {
		/* By its path: the descriptor's mount belongs to the parent's
		 * namespace, and only our copy of it can be bound. (Stdio is
		 * on 0..2 by now.) */
		_cleanup_free_ char *link = fd_path(0);
		char tty[PATH_MAX];
		ssize_t n = readlink(link, tty, sizeof(tty) - 1);
		if (n < 0)
			return petra_error_set_errno(err, errno, "find the terminal");
		tty[n] = '\0';
		r = ensure_target(ch, "/dev/console", false, err);
		if (r == 0)
			r = mount_in_root(ch, tty, "/dev/console", NULL, MS_BIND, NULL, err);
	}
	/* Nothing new can be created in /dev; the nodes stay usable. */
	if (r == 0)
		r = mount_in_root(ch, NULL, "/dev", NULL,
				  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL, err);
	return r;
}

static int write_small_file(const char *dir, const char *name, const char *content, char **path,
			    struct petra_error **err)
{
	*path = path_join(dir, name);
	_cleanup_close_ int fd = open(*path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fs_write_all(fd, content, strlen(content)) < 0)
		return petra_error_set_errno(err, errno, "write %s", *path);
	return 0;
}

static int mount_etc(struct child *ch, struct petra_error **err)
{
	const struct sandbox_config *c = ch->c;
	_cleanup_free_ char *hosts = NULL, *resolv = NULL;
	int r = 0;
	if (c->network == SANDBOX_NETWORK_HOST && access("/etc/hosts", R_OK) == 0) {
		hosts = xstrdup("/etc/hosts");
	} else {
		_cleanup_free_ char *content =
		    xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			      "127.0.1.1\t%s\n",
			      c->hostname ? c->hostname : "petra");
		r = write_small_file(c->work_dir, "hosts", content, &hosts, err);
	}
	if (r == 0 && c->network == SANDBOX_NETWORK_HOST && access("/etc/resolv.conf", R_OK) == 0)
		resolv = xstrdup("/etc/resolv.conf");
	else if (r == 0)
		r = write_small_file(c->work_dir, "resolv.conf", "", &resolv, err);
	if (r == 0)
		r = ensure_target(ch, "/etc/hosts", false, err);
	if (r == 0)
		r = bind_in_root(ch, AT_FDCWD, hosts, "/etc/hosts", READ_ONLY | MOUNT_ATTR_NOEXEC,
				 err);
	if (r == 0)
		r = ensure_target(ch, "/etc/resolv.conf", false, err);
	if (r == 0)
		r = bind_in_root(ch, AT_FDCWD, resolv, "/etc/resolv.conf",
				 READ_ONLY | MOUNT_ATTR_NOEXEC, err);
	return r;
}

static int mount_user(struct child *ch, const struct sandbox_mount *m, struct petra_error **err)
{
	int r = ensure_target(ch, m->target, target_is_dir(m), err);
	if (r < 0)
		return r;
	if (m->kind == SANDBOX_MOUNT_BIND)
		return bind_in_root(ch, AT_FDCWD, m->source, m->target, m->readonly ? READ_ONLY : 0,
				    err);
	_cleanup_free_ char *data =
	    xasprintf("size=%llu,mode=%04o,uid=%u,gid=%u",
		      (unsigned long long)(m->size ? m->size : DEFAULT_TMPFS_SIZE),
		      (unsigned)(m->mode ? m->mode : 0755), (unsigned)m->uid, (unsigned)m->gid);
	if (!m->copy_up)
		return mount_in_root(ch, "tmpfs", m->target, "tmpfs",
				     MS_NOSUID | MS_NODEV | (m->readonly ? MS_RDONLY : 0), data,
				     err);
	/* What the root has there, opened before the tmpfs hides it. */
	_cleanup_close_ int below = fs_open_in_root(ch->root_fd, m->target, O_RDONLY | O_DIRECTORY);
	if (below < 0)
		return petra_error_set_errno(err, -below, "copy the content of %s", m->target);
	r = mount_in_root(ch, "tmpfs", m->target, "tmpfs", MS_NOSUID | MS_NODEV, data, err);
	_cleanup_close_ int tmpfs =
	    r < 0 ? -1 : fs_open_in_root(ch->root_fd, m->target, O_RDONLY | O_DIRECTORY);
	if (r == 0 && tmpfs < 0)
		r = petra_error_set_errno(err, -tmpfs, "open the tmpfs on %s", m->target);
	if (r == 0 && rootfs_copy_dir(below, tmpfs, err) < 0)
		r = petra_error_prefix(err, "copy the content of %s", m->target);
	if (r == 0 && m->readonly)
		r = mount_in_root(ch, NULL, m->target, NULL,
				  MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_RDONLY, NULL, err);
	return r;
}

static int mask_paths(struct child *ch, struct petra_error **err)
{
	for (size_t i = 0; sandbox_masked_paths[i]; i++) {
		_cleanup_close_ int fd =
		    fs_open_in_root(ch->root_fd, sandbox_masked_paths[i], O_PATH);
		if (fd < 0)
			continue; /* not on this kernel */
		struct stat st;
		if (fstat(fd, &st) < 0)
			continue;
		_cleanup_free_ char *p = fd_path(fd);
		int r = S_ISDIR(st.st_mode)
			    ? mount("tmpfs", p, "tmpfs",
				    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
			    : mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (r < 0)
			return petra_error_set_errno(err, errno, "mask %s",
						     sandbox_masked_paths[i]);
	}
	for (size_t i = 0; sandbox_readonly_paths[i]; i++) {
		const char *path = sandbox_readonly_paths[i];
		_cleanup_close_ int fd = fs_open_in_root(ch->root_fd, path, O_PATH);
		if (fd < 0)
			continue;
		/* Bound onto itself, read-only. */
		int r = bind_in_root(ch, fd, "", path, READ_ONLY, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int loopback_up(struct petra_error **err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return petra_error_set_errno(err, errno, "loopback");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return petra_error_set_errno(err, errno, "bring loopback up");
	return 0;
}

static int setup_container(struct child *ch, struct petra_error **err)
{
	const struct sandbox_config *c = ch->c;
	/* Nothing mounted from here on reaches the host, nor the other way. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return petra_error_set_errno(err, errno, "make the mount tree private");
	if (mount("tmpfs", c->work_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
		return petra_error_set_errno(err, errno, "mount a tmpfs on %s", c->work_dir);
	ch->root = path_join(c->work_dir, "root");
	if (mkdir(ch->root, 0755) < 0)
		return petra_error_set_errno(err, errno, "create %s", ch->root);
	int r = mount_root(ch, err);
	/* A writable root gets its mount points now; a read-only one has them
	 * from the scaffold. */
	for (size_t i = 0; i < SANDBOX_N_STANDARD_MOUNTS && r == 0; i++)
		if (sandbox_standard_mounts[i].dir)
			r = ensure_target(ch, sandbox_standard_mounts[i].target, true, err);
	if (r == 0)
		r = mount_in_root(ch, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  NULL, err);
	if (r == 0)
		r = mount_dev(ch, err);
	if (r == 0 && mount_in_root(ch, "sysfs", "/sys", "sysfs",
				    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0) {
		/* sysfs cannot be mounted in a user namespace that shares the
		 * host's network: bind the host's, read-only. */
		petra_error_free(*err);
		*err = NULL;
		r = bind_in_root(ch, AT_FDCWD, "/sys", "/sys", READ_ONLY | MOUNT_ATTR_NOEXEC, err);
	}
	if (r == 0)
		r = mount_etc(ch, err);
	for (size_t i = 0; i < c->n_mounts && r == 0; i++)
		r = mount_user(ch, &c->mounts[i], err);
	if (r == 0)
		r = mask_paths(ch, err);
	if (r < 0)
		return r;
	const char *hostname = c->hostname ? c->hostname : "petra";
	if (sethostname(hostname, strlen(hostname)) < 0)
		return petra_error_set_errno(err, errno, "set the hostname");
	if (c->network == SANDBOX_NETWORK_NONE && (r = loopback_up(err)) < 0)
		return r;
	/* pivot_root(".", ".") stacks the old root on the new one; detaching
	 * it leaves only the container's tree. */
	if (fchdir(ch->root_fd) < 0)
		return petra_error_set_errno(err, errno, "enter the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return petra_error_set_errno(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return petra_error_set_errno(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return petra_error_set_errno(err, errno, "chdir /");
	close(ch->root_fd);
	ch->root_fd = -1;
	return 0;
}

/* Map the container's user onto the caller's when not root. */
static int write_id_maps(pid_t pid, const struct sandbox_process *p, struct petra_error **err)
{
	_cleanup_free_ char *uid_map =
	    xasprintf("%u %u 1\n", (unsigned)p->uid, (unsigned)geteuid());
	_cleanup_free_ char *gid_map =
	    xasprintf("%u %u 1\n", (unsigned)p->gid, (unsigned)getegid());
	_cleanup_free_ char *dir = xasprintf("/proc/%d", (int)pid);
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct {
		const char *name, *content;
	} files[] = {{"uid_map", uid_map}, {"setgroups", "deny"}, {"gid_map", gid_map}};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_close_ int fd = openat(dfd, files[i].name, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || fs_write_all(fd, files[i].content, strlen(files[i].content)) < 0)
			return petra_error_set_errno(err, errno, "write %s/%s", dir, files[i].name);
	}
	return 0;
}

int sandbox_spawn(const struct sandbox_config *c, pid_t *pid, struct petra_error **err)
{
	/* Before anything is created for them: the scaffold of a read-only
	 * root is made from the targets, on the host's side. */
	for (size_t i = 0; i < c->n_mounts; i++)
		if (!path_is_clean(c->mounts[i].target)) {
			_cleanup_free_ char *q = str_quote(c->mounts[i].target);
			return petra_error_set(err, EINVAL,
					       "mount target %s: not a clean absolute path", q);
		}
	bool userns = geteuid() != 0;
	int errpipe[2], syncpipe[2] = {-1, -1};
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return petra_error_set_errno(err, errno, "pipe");
	if (userns && pipe2(syncpipe, O_CLOEXEC) < 0) {
		close(errpipe[0]);
		close(errpipe[1]);
		return petra_error_set_errno(err, errno, "pipe");
	}
	/* A cgroup namespace too: /proc/self/cgroup then shows the container's
	 * cgroups as "/", not the host's paths. */
	unsigned long flags =
	    CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
	    (c->network == SANDBOX_NETWORK_NONE ? CLONE_NEWNET : 0) | (userns ? CLONE_NEWUSER : 0);
	/* Like fork(), but into new namespaces; the child becomes PID 1. */
	pid_t child = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (child == 0) {
		close(errpipe[0]);
		struct petra_error *cerr = NULL;
		if (userns) {
			char go;
			close(syncpipe[1]);
			if (read(syncpipe[0], &go, 1) != 1)
				_exit(125);
		}
		/* From here on the child is in the container's namespaces: like
		 * a process joining it (exec.c), it keeps none of petra's
		 * descriptors and cannot be looked into through /proc. (Not
		 * earlier: the parent must still write its uid_map.) */
		struct sandbox_process proc = c->process;
		int keep[] = {errpipe[1]};
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			petra_error_set_errno(&cerr, errno, "make the process non-dumpable");
		if (cerr || sandbox_stdio_install(proc.stdio, &cerr) < 0 ||
		    sandbox_close_fds(keep, ARRAY_SIZE(keep), &cerr) < 0)
			sandbox_child_fail(errpipe[1], 125, cerr);
		for (int i = 0; i < 3; i++)
			proc.stdio[i] = -1; /* installed */
		struct child ch = {.c = c, .root_fd = -1};
		int exit_code = 125;
		if (setup_container(&ch, &cerr) == 0)
			sandbox_process_exec(&proc, c->die_with_parent ? errpipe[1] : -1,
					     &exit_code, &cerr);
		sandbox_child_fail(errpipe[1], exit_code, cerr);
	}
	int saved = errno;
	close(errpipe[1]);
	if (userns)
		close(syncpipe[0]);
	if (child < 0) {
		close(errpipe[0]);
		if (userns)
			close(syncpipe[1]);
		return petra_error_set_errno(err, saved, "create the container's namespaces");
	}
	int r = 0;
	if (userns) {
		r = write_id_maps(child, &c->process, err);
		if (r == 0 && write(syncpipe[1], "g", 1) != 1)
			r = petra_error_set_errno(err, errno, "start the container");
		close(syncpipe[1]);
		if (r < 0) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			close(errpipe[0]);
			return r;
		}
	}
	r = sandbox_child_result(errpipe[0], child, err);
	close(errpipe[0]);
	if (r < 0)
		return r;
	*pid = child;
	return 0;
}
