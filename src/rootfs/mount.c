/* SPDX-License-Identifier: Apache-2.0 */
/* Mounting layers: overlayfs, or a merged copy in a tmpfs when it cannot. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

/* The mount(2) data string: lowerdir is listed top first. */
static int overlay_options(const struct rootfs_mount_options *o, struct strbuf *sb,
			   struct petra_error **err)
{
	strbuf_addstr(sb, "lowerdir=");
	for (size_t i = o->n_lowers; i > 0; i--) {
		const char *dir = o->lowers[i - 1];
		if (strpbrk(dir, ":,\\"))
			return petra_error_set(err, EINVAL,
					       "layer directory %s has a character overlayfs "
					       "cannot take (: , or \\)",
					       dir);
		strbuf_addstr(sb, dir);
		if (i > 1)
			strbuf_addch(sb, ':');
	}
	/* No redirects, no metadata-only copy-up, no index: whatever the
	 * kernel's defaults, the upper directory then holds every change
	 * whole, so it can become a layer and a lower directory later. */
	if (o->upper)
		strbuf_addf(sb, ",upperdir=%s,workdir=%s,index=off,metacopy=off", o->upper,
			    o->work);
	/* In a user namespace of its own (kernel 5.11+), overlayfs keeps its
	 * marks in user.* attributes, and userxattr already means no
	 * redirects (redirect_dir=off would ask for trusted.* ones). */
	if (!fs_user_namespace_is_initial())
		strbuf_addstr(sb, ",userxattr");
	else if (o->upper)
		strbuf_addstr(sb, ",redirect_dir=off");
	if (sb->len >= 4096)
		return petra_error_set(err, E2BIG, "too many layers for one overlay mount (%zu)",
				       o->n_lowers);
	return 0;
}

const char *rootfs_opaque_xattr(void)
{
	return geteuid() == 0 && fs_user_namespace_is_initial() ? "trusted.overlay.opaque"
								: "user.overlay.opaque";
}

static int mount_overlay(const char *target, const struct rootfs_mount_options *o,
			 struct petra_error **err)
{
	/* overlayfs wants two lower layers when it has no upper one. One layer
	 * is simply bound read-only (a whiteout in a bottom layer hides
	 * nothing); no layer at all is an empty read-only tmpfs. */
	if (!o->upper && o->n_lowers == 0) {
		if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "mode=0755") <
		    0)
			return petra_error_set_errno(err, errno, "mount a tmpfs on %s", target);
		return 0;
	}
	if (!o->upper && o->n_lowers == 1) {
		if (mount(o->lowers[0], target, NULL, MS_BIND, NULL) < 0)
			return petra_error_set_errno(err, errno, "bind %s on %s", o->lowers[0],
						     target);
		if (mount(NULL, target, NULL,
			  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
			int e = errno;
			umount2(target, MNT_DETACH);
			return petra_error_set_errno(err, e, "make %s read-only", target);
		}
		return 0;
	}
	_cleanup_strbuf_ struct strbuf data = STRBUF_INIT;
	int r = overlay_options(o, &data, err);
	if (r < 0)
		return r;
	/* nosuid, as a second wall behind no_new_privs. */
	unsigned long flags = MS_NOSUID | MS_NODEV | (o->upper ? 0 : MS_RDONLY);
	if (mount("overlay", target, "overlay", flags, data.buf) < 0)
		return petra_error_set_errno(err, errno, "mount overlayfs on %s", target);
	return 0;
}

static int mount_copy(const char *target, const struct rootfs_mount_options *o,
		      struct petra_error **err)
{
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return petra_error_set_errno(err, errno, "mount a tmpfs on %s", target);
	_cleanup_close_ int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? petra_error_set_errno(err, errno, "open %s", target)
		       : rootfs_merge_copy(o->lowers, o->n_lowers, fd, err);
	if (r == 0 && mount(NULL, target, NULL,
			    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		r = petra_error_set_errno(err, errno, "make %s read-only", target);
	if (r < 0)
		umount2(target, MNT_DETACH);
	return r;
}

/* A plain directory as the writable root: bound on itself. */
static int mount_writable_dir(const char *target, const struct rootfs_mount_options *o,
			      struct petra_error **err)
{
	if (o->n_lowers != 1 || o->upper)
		return petra_error_set(
		    err, EINVAL, "a writable directory root is one directory, without layers");
	if (mount(o->lowers[0], target, NULL, MS_BIND, NULL) < 0)
		return petra_error_set_errno(err, errno, "bind %s on %s", o->lowers[0], target);
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NODEV, NULL) < 0) {
		int e = errno;
		umount2(target, MNT_DETACH);
		return petra_error_set_errno(err, e, "remount %s nodev", target);
	}
	return 0;
}

int rootfs_mount(const char *target, const struct rootfs_mount_options *o, struct petra_error **err)
{
	if (o->flags & ROOTFS_MOUNT_WRITABLE_DIR)
		return mount_writable_dir(target, o, err);
	if (o->flags & ROOTFS_MOUNT_COPY) {
		if (o->upper)
			return petra_error_set(err, EINVAL,
					       "a copied root cannot have an upper directory");
		return mount_copy(target, o, err);
	}
	_cleanup_error_ struct petra_error *overlay_err = NULL;
	int r = mount_overlay(target, o, &overlay_err);
	if (r == 0)
		return 0;
	/* Only a read-only root can do without overlayfs: a writable one must
	 * record its changes in the upper directory. */
	if (o->upper || (r != -ENODEV && r != -EINVAL && r != -EPERM)) {
		*err = steal_pointer(&overlay_err);
		return r;
	}
	log_debug("%s; merging the layers into a tmpfs instead", overlay_err->message);
	return mount_copy(target, o, err);
}

/* ---- looking up paths through the layers ---- */

/* The parent directory of `path` in a layer, resolved inside the layer: a
 * symbolic link in it (etc -> /etc) must not lead to the host's files.
 * *name receives the last component (in *copy, which the caller frees). */
static int open_parent_in_layer(int layer, const char *path, char **copy, const char **name)
{
	*copy = xstrdup(path);
	char *slash = strrchr(*copy, '/');
	*name = slash ? slash + 1 : *copy;
	if (slash)
		*slash = '\0';
	return fs_open_in_root(layer, slash ? *copy : ".", O_PATH | O_DIRECTORY);
}

static int stat_in_layer(int layer, const char *path, struct stat *st)
{
	_cleanup_free_ char *copy = NULL;
	const char *name;
	_cleanup_close_ int parent = open_parent_in_layer(layer, path, &copy, &name);
	if (parent < 0)
		return parent;
	return fstatat(parent, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

int rootfs_lookup(const char *const *lowers, size_t n_lowers, const char *path, struct stat *st,
		  size_t *layer)
{
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	for (size_t i = n_lowers; i > 0; i--) {
		_cleanup_close_ int fd = open(lowers[i - 1], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (stat_in_layer(fd, path, st) == 0) {
			if (is_whiteout(st))
				return -ENOENT;
			if (layer)
				*layer = i - 1;
			return 0;
		}
		/* A whiteout or opaque parent in this layer hides the layers
		 * below. */
		_cleanup_free_ char *dir = xstrdup(path);
		for (char *slash; (slash = strrchr(dir, '/'));) {
			*slash = '\0';
			struct stat pst;
			if (stat_in_layer(fd, dir, &pst) < 0)
				continue;
			if (is_whiteout(&pst))
				return -ENOENT;
			char v;
			_cleanup_close_ int dfd =
			    fs_open_in_root(fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (dfd >= 0 && fgetxattr(dfd, rootfs_opaque_xattr(), &v, 1) == 1 &&
			    v == 'y')
				return -ENOENT;
		}
	}
	return -ENOENT;
}

int rootfs_read_file(const char *const *lowers, size_t n_lowers, const char *path, size_t max_size,
		     char **data, size_t *len, struct petra_error **err)
{
	struct stat st;
	size_t layer;
	if (rootfs_lookup(lowers, n_lowers, path, &st, &layer) < 0 || !S_ISREG(st.st_mode))
		return petra_error_set(err, ENOENT, "%s: not in the image", path);
	_cleanup_close_ int fd = open(lowers[layer], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", lowers[layer]);
	while (*path == '/')
		path++;
	_cleanup_free_ char *copy = NULL;
	const char *name;
	_cleanup_close_ int parent = open_parent_in_layer(fd, path, &copy, &name);
	if (parent < 0)
		return petra_error_set_errno(err, -parent, "open %s in %s", path, lowers[layer]);
	return fs_read_file_at(parent, name, max_size, data, len, err);
}
