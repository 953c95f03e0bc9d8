/* SPDX-License-Identifier: Apache-2.0 */
/* Squashing, a step kind: the build's layers merged into one, in
 * overlay format, on top of the base's. */
#include "step.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define OPAQUE_XATTR "trusted.overlay.opaque"

/* ---- squashing ---- */

static int copy_meta(int dirfd, const char *name, const struct stat *st)
{
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		return -errno;
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW);
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

/* Put one overlay-format layer (src) on top of the squashed result so far
 * (dst), keeping the result in overlay format: whiteouts and opaque
 * directories stay, for what the base below has. */
static int squash_dir(int src, int dst, const char *path, struct petra_error **err)
{
	_cleanup_closedir_ DIR *d = fs_opendir_at(src, ".");
	if (!d)
		return petra_error_set_errno(err, errno, "squash: read %s", *path ? path : "/");
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		_cleanup_free_ char *shown = *path ? xasprintf("%s/%s", path, name) : xstrdup(name);
		struct stat st, old;
		if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return petra_error_set_errno(err, errno, "squash: %s", shown);
		bool exists = fstatat(dst, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
		bool whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sfd =
			    openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char flag;
			bool opaque =
			    sfd >= 0 && fgetxattr(sfd, OPAQUE_XATTR, &flag, 1) == 1 && flag == 'y';
			/* A directory over a whiteout replaces what the base had
			 * there: opaque. */
			bool over_whiteout =
			    exists && S_ISCHR(old.st_mode) && old.st_rdev == makedev(0, 0);
			if (exists && (opaque || !S_ISDIR(old.st_mode))) {
				int r = fs_remove_tree_at(dst, name, err);
				if (r < 0)
					return r;
				exists = false;
			}
			if (!exists && mkdirat(dst, name, 0700) < 0)
				return petra_error_set_errno(err, errno, "squash: %s", shown);
			_cleanup_close_ int dfd =
			    openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0 || dfd < 0)
				return petra_error_set_errno(err, errno, "squash: %s", shown);
			copy_dir_xattrs(sfd, dfd);
			if (over_whiteout)
				fsetxattr(dfd, OPAQUE_XATTR, "y", 1, 0);
			int r = squash_dir(sfd, dfd, shown, err);
			if (r < 0)
				return r;
			copy_meta(dst, name, &st);
			continue;
		}
		if (exists) {
			int r = fs_remove_tree_at(dst, name, err);
			if (r < 0)
				return r;
		}
		int r = 0;
		if (whiteout) {
			r = mknodat(dst, name, S_IFCHR | 0000, makedev(0, 0));
		} else if (S_ISREG(st.st_mode)) {
			/* Layers are never written once cached: sharing the
			 * inode costs nothing. */
			r = linkat(src, name, dst, name, 0);
			if (r < 0) {
				_cleanup_close_ int in =
				    openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
				_cleanup_close_ int out = openat(
				    dst, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
				r = in < 0 || out < 0 ? -1 : fs_copy_fd(in, out, NULL, err);
				if (r == 0)
					r = copy_meta(dst, name, &st);
			}
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
			if (n >= 0) {
				target[n] = '\0';
				r = symlinkat(target, dst, name);
			} else {
				r = -1;
			}
			if (r == 0)
				r = copy_meta(dst, name, &st);
		} else {
			r = mknodat(dst, name, st.st_mode, st.st_rdev);
			if (r == 0)
				r = copy_meta(dst, name, &st);
		}
		if (r < 0)
			return petra_error_set_errno(err, errno, "squash: %s", shown);
	}
	return 0;
}

/* The key: the stage's and "squash" (set by the caller). The text says
 * how many layers, the history entry too. */
static int squash_prepare(struct builder_step *s, struct petra_error **err)
{
	(void)err;
	size_t n_new = s->state->n_layers - s->stage->n_base_layers;
	s->created_by = xasprintf("petra build --squash (%zu layers)", n_new);
	return 0;
}

/* The build's layers merged, in overlay format, into the view; the state
 * keeps the base's layers only, and the engine adds the view as one. */
static int squash_apply(struct builder_step *s, struct builder_view *v, struct petra_error **err)
{
	struct builder_session *b = s->session;
	struct builder_state *st = s->state;
	size_t first = s->stage->n_base_layers;
	_cleanup_close_ int dst = open(v->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dst < 0 ? petra_error_set_errno(err, errno, "open %s", v->upper) : 0;
	for (size_t i = first; r == 0 && i < st->n_layers; i++) {
		struct builder_layer *l = &st->layers[i];
		if (!l->dir)
			r = rootfs_ensure_layer(b->store, &l->desc, l->diff_id, &l->dir, err);
		_cleanup_close_ int src =
		    r < 0 ? -1 : open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && src < 0)
			r = petra_error_set_errno(err, errno, "open %s", l->dir);
		if (r == 0)
			r = squash_dir(src, dst, "", err);
	}
	if (r < 0)
		return petra_error_prefix(err, "squash");
	for (size_t i = first; i < st->n_layers; i++) {
		oci_descriptor_release(&st->layers[i].desc);
		free(st->layers[i].dir);
	}
	st->n_layers = first;
	json_t *ids = json_object_get(json_object_get(st->config, "rootfs"), "diff_ids");
	while (json_array_size(ids) > first)
		json_array_remove(ids, first);
	/* The history after the base's describes no layer any more. */
	json_t *history = json_object_get(st->config, "history");
	size_t i;
	json_t *h;
	json_array_foreach(history, i, h) if (i >= s->stage->n_base_history)
	    json_object_set_new(h, "empty_layer", json_true());
	return 0;
}

const struct builder_step_kind builder_kind_squash = {
    .name = "squash",
    .flags = BUILDER_STEP_ALWAYS_LAYER,
    .view = BUILDER_VIEW_EMPTY,
    .prepare = squash_prepare,
    .apply = squash_apply,
};
