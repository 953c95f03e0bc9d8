/* SPDX-License-Identifier: Apache-2.0 */
/* Merging an overlay-format layer onto a directory: the copy fallback of
 * rootfs_mount (a plain tree, as overlayfs would show it) and the
 * builder's squash (a result that is itself an overlay-format layer). */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Owner, mode (not of a symlink) and times of `name` in `parent`, or of fd
 * when it is open. Only root can give files away, so a failed chown is an
 * error for root alone. */
static int copy_metadata(int fd, int parent, const char *name, const struct stat *st,
			 struct petra_error **err)
{
	if (fd >= 0) {
		if (fchown(fd, st->st_uid, st->st_gid) < 0 && geteuid() == 0)
			return petra_error_set_errno(err, errno, "chown %s", name);
		if (fchmod(fd, st->st_mode & 07777) < 0)
			return petra_error_set_errno(err, errno, "chmod %s", name);
	} else {
		if (fchownat(parent, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
		    geteuid() == 0)
			return petra_error_set_errno(err, errno, "chown %s", name);
		if (!S_ISLNK(st->st_mode) && fchmodat(parent, name, st->st_mode & 07777, 0) < 0)
			return petra_error_set_errno(err, errno, "chmod %s", name);
	}
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (fd >= 0)
		futimens(fd, times);
	else
		utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static void copy_dir_xattrs(int from, int to)
{
	char list[4096];
	ssize_t n = flistxattr(from, list, sizeof(list));
	for (char *k = list; n > 0 && k < list + n; k += strlen(k) + 1) {
		char v[4096];
		ssize_t vn = fgetxattr(from, k, v, sizeof(v));
		if (vn >= 0)
			fsetxattr(to, k, v, (size_t)vn, 0);
	}
}

/* The destination follows the walk of the source in lockstep: dst_fds[d - 1]
 * is the destination directory of the entries at depth d ([0] is the
 * caller's; the others are opened as the walk enters a source directory
 * and closed as it leaves it): one descriptor per level, every open
 * O_NOFOLLOW. */
struct merger {
	unsigned flags;
	int *dst_fds;
	size_t n_dst_fds, alloc_dst_fds;
};

/* A source directory: the destination's made a directory to match (a new
 * one where the source is opaque or the destination is not a directory),
 * and entered. */
static int merge_dir(struct merger *m, const struct fs_walk_entry *e, int dst,
		     struct petra_error **err)
{
	const char *name = e->name;
	struct stat old;
	bool exists = fstatat(dst, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
	_cleanup_close_ int sfd =
	    openat(e->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return petra_error_set_errno(err, errno, "open %s", e->path);
	char flag;
	bool opaque = fgetxattr(sfd, rootfs_opaque_xattr(), &flag, 1) == 1 && flag == 'y';
	/* In an overlay-format result, a directory over a whiteout replaces
	 * what the layers below had there: opaque. */
	bool over_whiteout = exists && is_whiteout(&old);
	if (exists && (opaque || !S_ISDIR(old.st_mode))) {
		int r = fs_remove_tree_at(dst, name, err);
		if (r < 0)
			return r;
		exists = false;
	}
	if (!exists && mkdirat(dst, name, 0700) < 0)
		return petra_error_set_errno(err, errno, "create directory %s", e->path);
	_cleanup_close_ int dfd =
	    openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return petra_error_set_errno(err, errno, "open %s", e->path);
	if (m->flags & ROOTFS_MERGE_OVERLAY) {
		copy_dir_xattrs(sfd, dfd);
		if (over_whiteout)
			fsetxattr(dfd, rootfs_opaque_xattr(), "y", 1, 0);
	}
	xgrow((void **)&m->dst_fds, &m->alloc_dst_fds, e->depth + 1, sizeof(*m->dst_fds));
	m->dst_fds[e->depth] = steal_fd(&dfd);
	m->n_dst_fds = e->depth + 1;
	return FS_WALK_CONTINUE;
}

static int merge_file(const struct fs_walk_entry *e, int dst, bool link, struct petra_error **err)
{
	/* Cached layers are never written: a result that is itself a layer
	 * can share their inodes. A root a container writes to cannot. */
	if (link && linkat(e->dirfd, e->name, dst, e->name, 0) == 0)
		return 0;
	_cleanup_close_ int in = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out =
	    openat(dst, e->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		return petra_error_set_errno(err, errno, "copy %s", e->path);
	if (fs_copy_fd(in, out, NULL, err) < 0)
		return petra_error_prefix(err, "copy %s", e->path);
	return copy_metadata(out, dst, e->name, &e->st, err);
}

static int merge_pre(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	struct merger *m = ctx;
	int dst = m->dst_fds[e->depth - 1];
	const char *name = e->name;
	const struct stat *st = &e->st;
	if (S_ISDIR(st->st_mode))
		return merge_dir(m, e, dst, err);
	struct stat old;
	if (fstatat(dst, name, &old, AT_SYMLINK_NOFOLLOW) == 0) {
		int r = fs_remove_tree_at(dst, name, err);
		if (r < 0)
			return r;
	}
	bool overlay = m->flags & ROOTFS_MERGE_OVERLAY;
	if (is_whiteout(st)) {
		if (overlay && mknodat(dst, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
			return petra_error_set_errno(err, errno, "create whiteout %s", e->path);
		return FS_WALK_CONTINUE;
	}
	if (S_ISREG(st->st_mode))
		return merge_file(e, dst, overlay, err);
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(e->dirfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return petra_error_set_errno(err, errno, "read symlink %s", e->path);
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0)
			return petra_error_set_errno(err, errno, "create symlink %s", e->path);
	} else if (mknodat(dst, name, st->st_mode, st->st_rdev) < 0) {
		return petra_error_set_errno(err, errno, "create %s", e->path);
	}
	return copy_metadata(-1, dst, name, st, err);
}

/* A directory's owner, mode and times once its contents are in. */
static int merge_post(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	struct merger *m = ctx;
	_cleanup_close_ int dfd = m->dst_fds[e->depth];
	m->n_dst_fds = e->depth;
	return copy_metadata(dfd, m->dst_fds[e->depth - 1], e->name, &e->st, err);
}

int rootfs_merge_layer(int src_fd, int dest_fd, unsigned flags, struct petra_error **err)
{
	struct merger m = {.flags = flags};
	xgrow((void **)&m.dst_fds, &m.alloc_dst_fds, 1, sizeof(*m.dst_fds));
	m.dst_fds[m.n_dst_fds++] = dest_fd;
	static const struct fs_walk_ops ops = {.pre = merge_pre, .post = merge_post};
	int r = fs_walk(src_fd, "", 0, &ops, &m, err);
	/* Left open by a walk that stopped early. */
	for (size_t i = 1; i < m.n_dst_fds; i++)
		close(m.dst_fds[i]);
	free(m.dst_fds);
	return r;
}

/* dest_fd takes src_fd's owner and mode (the root of what was merged). */
static int copy_root_metadata(int src_fd, int dest_fd, struct petra_error **err)
{
	struct stat st;
	if (fstat(src_fd, &st) < 0)
		return petra_error_set_errno(err, errno, "stat the directory to copy");
	if (fchown(dest_fd, st.st_uid, st.st_gid) < 0 && geteuid() == 0)
		return petra_error_set_errno(err, errno, "chown the copy");
	if (fchmod(dest_fd, st.st_mode & 07777) < 0)
		return petra_error_set_errno(err, errno, "chmod the copy");
	return 0;
}

int rootfs_merge_copy(const char *const *lowers, size_t n_lowers, int dest_fd,
		      struct petra_error **err)
{
	for (size_t i = 0; i < n_lowers; i++) {
		_cleanup_close_ int src = open(lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (src < 0)
			return petra_error_set_errno(err, errno, "open %s", lowers[i]);
		int r = rootfs_merge_layer(src, dest_fd, 0, err);
		if (r < 0)
			return petra_error_prefix(err, "merge %s", lowers[i]);
		/* The root takes the top layer's owner and mode, as overlayfs
		 * shows it; a rootless copy may not be able to, and needs not. */
		struct stat st;
		if (fstat(src, &st) == 0) {
			fchmod(dest_fd, st.st_mode & 07777);
			fchown(dest_fd, st.st_uid, st.st_gid);
		}
	}
	return 0;
}

int rootfs_copy_dir(int src_fd, int dest_fd, struct petra_error **err)
{
	int r = rootfs_merge_layer(src_fd, dest_fd, 0, err);
	return r < 0 ? r : copy_root_metadata(src_fd, dest_fd, err);
}
