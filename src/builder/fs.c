/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stage's filesystem for one step, and the step's layer.
 *
 * With overlayfs the root is the stage's cached layers under a fresh upper
 * directory; the upper directory is the layer (whiteouts and opaque
 * directories included) and, once written, becomes that layer's cache
 * directory by a rename. Without overlayfs the root is a copy of the
 * layers; after the step the copy is compared with the layers and what
 * differs is gathered, in the same overlay format, into a directory that
 * then goes the same way.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

static bool dir_is_empty(const char *path)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	if (!d)
		return false;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return false;
	return true;
}

int builder_stage_lowers(struct builder_session *b, struct builder_state *s, struct strvec *lowers,
			 struct petra_error **err)
{
	for (size_t i = 0; i < s->n_layers; i++) {
		struct builder_layer *l = &s->layers[i];
		struct stat st;
		if (l->dir && stat(l->dir, &st) != 0) {
			free(l->dir);
			l->dir = NULL;
		}
		if (!l->dir) {
			int r = rootfs_ensure_layer(b->store, &l->desc, l->diff_id, &l->dir, err);
			if (r < 0) {
				char short_id[13];
				oci_digest_short(l->diff_id, short_id);
				return petra_error_prefix(err, "extract layer %zu (%s)", i + 1,
							  short_id);
			}
		}
		if (l->empty < 0)
			l->empty = dir_is_empty(l->dir);
		if (!l->empty)
			strvec_push(lowers, l->dir);
	}
	return 0;
}

/* ---- the view ---- */

void builder_view_unmount(struct builder_view *v)
{
	if (v->mounted) {
		umount2(v->root, MNT_DETACH);
		v->mounted = false;
	}
}

void builder_view_release(struct builder_view *v)
{
	builder_view_unmount(v);
	if (v->dir) {
		_cleanup_error_ struct petra_error *e = NULL;
		if (fs_remove_tree_at(AT_FDCWD, v->dir, &e) < 0)
			log_warn("could not remove %s: %s", v->dir, e->message);
	}
	free(v->dir);
	free(v->root);
	free(v->upper);
	free(v->work);
	strvec_clear(&v->lowers);
	memset(v, 0, sizeof(*v));
}

/* The overlay on v->root (a copy is worked on in place: nothing to
 * mount). */
static int mount_view(struct builder_session *b, struct builder_view *v, struct petra_error **err)
{
	const char *empty[] = {b->empty_dir};
	struct rootfs_mount_options mo = {
	    .lowers = v->lowers.n ? (const char *const *)v->lowers.v : empty,
	    .n_lowers = v->lowers.n ? v->lowers.n : 1,
	    .upper = v->upper,
	    .work = v->work,
	};
	int r = rootfs_mount(v->root, &mo, err);
	if (r == 0)
		v->mounted = true;
	return r;
}

/* A scratch directory with "root" in it, and the stage's lowers. */
static int view_prepare(struct builder_session *b, struct builder_state *s, const char *what,
			struct builder_view *v, struct petra_error **err)
{
	memset(v, 0, sizeof(*v));
	int r = builder_scratch_dir(b, what, &v->dir, err);
	if (r == 0)
		r = builder_stage_lowers(b, s, &v->lowers, err);
	if (r < 0)
		return r;
	v->root = path_join(v->dir, "root");
	if (mkdir(v->root, 0755) < 0)
		return petra_error_set_errno(err, errno, "create %s", v->root);
	return 0;
}

int builder_view_open(struct builder_session *b, struct builder_state *s, bool mount,
		      struct builder_view *v, struct petra_error **err)
{
	int r = view_prepare(b, s, "step", v, err);
	if (r == 0)
		r = builder_use_overlay(b, &v->overlay, err);
	if (r < 0)
		return r;
	if (v->overlay) {
		v->upper = path_join(v->dir, "upper");
		v->work = path_join(v->dir, "work");
		if (mkdir(v->upper, 0755) < 0 || mkdir(v->work, 0700) < 0)
			return petra_error_set_errno(err, errno, "create %s", v->upper);
		return mount ? mount_view(b, v, err) : 0;
	}
	/* The copy fallback: the layers merged into a directory of ours. */
	_cleanup_close_ int fd = open(v->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", v->root);
	r = rootfs_merge_copy((const char *const *)v->lowers.v, v->lowers.n, fd, err);
	if (r < 0)
		return petra_error_prefix(err, "copy the stage's root");
	/* Changes show as a change time after this. */
	v->copied_at = time(NULL);
	return 0;
}

int builder_view_open_empty(struct builder_session *b, const char *what, struct builder_view *v,
			    struct petra_error **err)
{
	memset(v, 0, sizeof(*v));
	int r = builder_scratch_dir(b, what, &v->dir, err);
	if (r < 0)
		return r;
	v->upper = path_join(v->dir, "layer");
	v->root = xstrdup(v->upper);
	v->overlay = true;
	if (mkdir(v->upper, 0755) < 0)
		return petra_error_set_errno(err, errno, "create %s", v->upper);
	return 0;
}

int builder_view_open_readonly(struct builder_session *b, struct builder_state *s,
			       struct builder_view *v, struct petra_error **err)
{
	int r = view_prepare(b, s, "view", v, err);
	if (r < 0)
		return r;
	struct rootfs_mount_options mo = {
	    .lowers = (const char *const *)v->lowers.v,
	    .n_lowers = v->lowers.n,
	};
	r = rootfs_mount(v->root, &mo, err);
	if (r == 0)
		v->mounted = true;
	return r;
}

/* ---- mount stubs ---- */

static bool is_mount_target(const struct strvec *targets, const char *path)
{
	for (size_t i = 0; i < targets->n; i++)
		if (!strcmp(targets->v[i], path))
			return true;
	return false;
}

/* An empty file that is a mount target goes; anything else stays. */
static void prune_stub_file(int dirfd, const char *name, const char *path, const struct stat *st,
			    const struct strvec *targets)
{
	if (S_ISREG(st->st_mode) && st->st_size == 0 && is_mount_target(targets, path))
		unlinkat(dirfd, name, 0);
}

static int prune_stub_pre(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	prune_stub_file(e->dirfd, e->name, e->path, &e->st, ctx);
	return FS_WALK_CONTINUE;
}

/* A directory goes once its contents have: removing it fails, harmlessly,
 * while anything is left in it. */
static int prune_stub_post(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)ctx;
	(void)err;
	unlinkat(e->dirfd, e->name, AT_REMOVEDIR);
	return FS_WALK_CONTINUE;
}

/* Remove base_fd/stub (stub is absolute) where it holds nothing but empty
 * mount targets. */
static void prune_stub(int base_fd, const char *stub, const struct strvec *targets)
{
	struct stat st;
	if (fstatat(base_fd, stub + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		prune_stub_file(base_fd, stub + 1, stub, &st, targets);
		return;
	}
	_cleanup_close_ int fd =
	    openat(base_fd, stub + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	static const struct fs_walk_ops ops = {.pre = prune_stub_pre, .post = prune_stub_post};
	_cleanup_error_ struct petra_error *e = NULL;
	if (fs_walk(fd, stub, FS_WALK_SKIP_VANISHED, &ops, (void *)targets, &e) < 0) {
		log_debug("%s: %s", stub, e->message);
		return;
	}
	unlinkat(base_fd, stub + 1, AT_REMOVEDIR);
}

/* An upper directory that is only there because something was created in
 * it and removed again: same type, mode and owner as below, not opaque,
 * empty. */
static void prune_copied_up(struct builder_view *v, int upper_fd, const char *path)
{
	struct stat up, low;
	if (fstatat(upper_fd, path, &up, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(up.st_mode))
		return;
	if (rootfs_lookup((const char *const *)v->lowers.v, v->lowers.n, path, &low, NULL) < 0 ||
	    !S_ISDIR(low.st_mode) || low.st_mode != up.st_mode || low.st_uid != up.st_uid ||
	    low.st_gid != up.st_gid)
		return;
	_cleanup_close_ int fd =
	    openat(upper_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char flag;
	if (fd < 0 || fgetxattr(fd, rootfs_opaque_xattr(), &flag, 1) >= 0)
		return;
	_cleanup_closedir_ DIR *d = fs_opendir_at(fd, ".");
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return;
	unlinkat(upper_fd, path, AT_REMOVEDIR);
}

void builder_view_prune_stubs(struct builder_view *v, const struct strvec *targets)
{
	const char *base = v->overlay ? v->upper : v->root;
	_cleanup_close_ int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (size_t i = 0; i < targets->n; i++) {
		const char *t = targets->v[i];
		/* The shallowest component that the layers did not have. */
		_cleanup_free_ char *prefix = xstrdup(t);
		char *stub = NULL;
		for (char *slash = prefix; slash;) {
			slash = strchr(slash + 1, '/');
			if (slash)
				*slash = '\0';
			struct stat st;
			if (rootfs_lookup((const char *const *)v->lowers.v, v->lowers.n, prefix,
					  &st, NULL) < 0) {
				stub = xstrdup(prefix);
				break;
			}
			if (slash)
				*slash = '/';
		}
		if (!stub)
			continue;
		prune_stub(fd, stub, targets);
		/* Its parents were copied up to make it: drop them again if
		 * nothing else changed there. */
		if (v->overlay) {
			for (char *slash = strrchr(stub, '/'); slash && slash != stub;
			     slash = strrchr(stub, '/')) {
				*slash = '\0';
				prune_copied_up(v, fd, stub + 1);
			}
		}
		free(stub);
	}
}

/* ---- the copy fallback: what changed ---- */

static bool same_entry(const struct stat *a, const struct stat *b)
{
	return (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT) && a->st_mode == b->st_mode &&
	       a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       (S_ISDIR(a->st_mode) || a->st_size == b->st_size) &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_rdev == b->st_rdev;
}

struct differ {
	struct builder_view *v;
	int root_fd; /* the copy */
	int diff_fd; /* the overlay-format result */
	struct petra_error **err;
};

/* Make the parents of `path` in the result, with the copy's metadata. */
static int diff_parents(struct differ *d, int root_fd, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	for (char *slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		struct stat st;
		if (fstatat(d->diff_fd, copy, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (fstatat(root_fd, copy, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    mkdirat(d->diff_fd, copy, st.st_mode & 07777) < 0)
				return petra_error_set_errno(d->err, errno, "diff: %s", copy);
			fchownat(d->diff_fd, copy, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
			fchmodat(d->diff_fd, copy, st.st_mode & 07777, 0);
			struct timespec t[2] = {st.st_atim, st.st_mtim};
			utimensat(d->diff_fd, copy, t, AT_SYMLINK_NOFOLLOW);
		}
		*slash = '/';
	}
	return 0;
}

static int diff_take(struct differ *d, int root_fd, const char *path, const struct stat *st)
{
	int r = diff_parents(d, root_fd, path);
	if (r < 0)
		return r;
	if (S_ISDIR(st->st_mode)) {
		if (mkdirat(d->diff_fd, path, st->st_mode & 07777) < 0 && errno != EEXIST)
			return petra_error_set_errno(d->err, errno, "diff: %s", path);
	} else if (S_ISREG(st->st_mode)) {
		/* Same filesystem: a hard link costs nothing; else a copy. */
		if (linkat(root_fd, path, d->diff_fd, path, 0) < 0) {
			_cleanup_close_ int in =
			    openat(root_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int out =
			    openat(d->diff_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (in < 0 || out < 0 || fs_copy_fd(in, out, NULL, d->err) < 0)
				return petra_error_set_errno(d->err, errno, "diff: copy %s", path);
		}
	} else if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(root_fd, path, target, sizeof(target) - 1);
		if (n < 0)
			return petra_error_set_errno(d->err, errno, "diff: %s", path);
		target[n] = '\0';
		if (symlinkat(target, d->diff_fd, path) < 0)
			return petra_error_set_errno(d->err, errno, "diff: %s", path);
	} else if (mknodat(d->diff_fd, path, st->st_mode, st->st_rdev) < 0) {
		return petra_error_set_errno(d->err, errno, "diff: %s", path);
	}
	fchownat(d->diff_fd, path, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	if (!S_ISLNK(st->st_mode))
		fchmodat(d->diff_fd, path, st->st_mode & 07777, 0);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	utimensat(d->diff_fd, path, t, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int diff_whiteout(struct differ *d, int root_fd, const char *path)
{
	int r = diff_parents(d, root_fd, path);
	if (r < 0)
		return r;
	if (mknodat(d->diff_fd, path, S_IFCHR | 0000, makedev(0, 0)) < 0 && errno != EEXIST)
		return petra_error_set_errno(d->err, errno, "diff: whiteout %s", path);
	return 0;
}

/* Whether the copy's regular file dirfd/name has the content of `path` in
 * the layer directory `lower`. */
static bool same_content(int dirfd, const char *name, const char *path, const char *lower)
{
	_cleanup_close_ int a = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int lfd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int bfd =
	    lfd < 0 ? -1 : openat(lfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (a < 0 || bfd < 0)
		return false;
	char x[65536], y[65536];
	for (;;) {
		ssize_t n = fs_read_full(a, x, sizeof(x));
		ssize_t m = fs_read_full(bfd, y, sizeof(y));
		if (n != m || n < 0)
			return false;
		if (n == 0)
			return true;
		if (memcmp(x, y, (size_t)n))
			return false;
	}
}

/* The copy against the layers: additions and changes. A file in the
 * result hides a directory below it whole; a directory's removed children
 * become whiteouts later (diff_removed_entry). */
static int diff_changed_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err; /* d->err, the same */
	struct differ *d = ctx;
	const char *path = e->path;
	struct stat low;
	size_t layer;
	bool had = rootfs_lookup((const char *const *)d->v->lowers.v, d->v->lowers.n, path, &low,
				 &layer) == 0;
	bool changed = !had || !same_entry(&e->st, &low);
	if (!changed && S_ISREG(e->st.st_mode) && e->st.st_ctim.tv_sec >= d->v->copied_at)
		changed = !same_content(e->dirfd, e->name, path, d->v->lowers.v[layer]);
	if (!changed && S_ISLNK(e->st.st_mode)) {
		char a[4096], b[4096];
		ssize_t n = readlinkat(e->dirfd, e->name, a, sizeof(a));
		_cleanup_close_ int lfd =
		    open(d->v->lowers.v[layer], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ssize_t m = lfd < 0 ? -1 : readlinkat(lfd, path, b, sizeof(b));
		changed = n != m || n < 0 || memcmp(a, b, (size_t)n);
	}
	if (changed) {
		int r = diff_take(d, d->root_fd, path, &e->st);
		if (r < 0)
			return r;
	}
	return FS_WALK_CONTINUE;
}

/* What a layer had, is still visible through the layers, and the copy has
 * no more: whiteouts. Only directories both still have are entered. */
static int diff_removed_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err; /* d->err, the same */
	struct differ *d = ctx;
	struct stat st, low;
	bool in_copy = fstatat(d->root_fd, e->path, &st, AT_SYMLINK_NOFOLLOW) == 0;
	bool visible = rootfs_lookup((const char *const *)d->v->lowers.v, d->v->lowers.n, e->path,
				     &low, NULL) == 0;
	if (!visible)
		return FS_WALK_PRUNE;
	if (!in_copy) {
		int r = diff_whiteout(d, d->root_fd, e->path);
		return r < 0 ? r : FS_WALK_PRUNE;
	}
	return S_ISDIR(low.st_mode) && S_ISDIR(st.st_mode) ? FS_WALK_CONTINUE : FS_WALK_PRUNE;
}

static int copy_diff(struct builder_view *v, struct petra_error **err)
{
	v->upper = path_join(v->dir, "diff");
	if (mkdir(v->upper, 0755) < 0)
		return petra_error_set_errno(err, errno, "create %s", v->upper);
	_cleanup_close_ int root_fd = open(v->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int diff_fd = open(v->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || diff_fd < 0)
		return petra_error_set_errno(err, errno, "open %s", v->dir);
	struct differ d = {v, root_fd, diff_fd, err};
	static const struct fs_walk_ops changed_ops = {.pre = diff_changed_entry};
	static const struct fs_walk_ops removed_ops = {.pre = diff_removed_entry};
	/* Nothing runs in the copy any more; an entry gone is skipped as
	 * before. */
	int r = fs_walk(root_fd, "", FS_WALK_SKIP_VANISHED, &changed_ops, &d, err);
	for (size_t i = 0; i < v->lowers.n && r == 0; i++) {
		_cleanup_close_ int lfd = open(v->lowers.v[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lfd >= 0)
			r = fs_walk(lfd, "", 0, &removed_ops, &d, err);
	}
	return r;
}

/* ---- the layer ---- */

/* Write a layer from an overlay-format directory; its cache directory
 * becomes `dir` (renamed). */
static int commit_dir(struct builder_session *b, const char *dir, struct layer_info *info,
		      char **cached, struct petra_error **err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", dir);
	struct progress progress;
	progress_begin(&progress, "committing", 0);
	struct layer_writer_options wo = {
	    .compression = b->o->compression,
	    .clamp_mtime = b->o->reproducible,
	    .mtime_clamp = b->o->source_date_epoch,
	    .progress = b->parallel ? NULL : &progress,
	};
	struct layer_writer *w;
	int r = layer_writer_new(b->store, &wo, &w, err);
	if (r == 0) {
		r = layer_writer_add_tree(w, fd, "", LAYER_TREE_OVERLAY, err);
		if (r < 0)
			layer_writer_abort(w);
	}
	if (r == 0)
		r = layer_writer_finish(w, info, err);
	progress_end(&progress);
	if (r < 0)
		return r;
	return rootfs_adopt_layer(b->store, info->diff_id, dir, cached, err);
}

int builder_view_commit(struct builder_session *b, struct builder_view *v, struct builder_state *s,
			bool always, bool *changed, struct layer_info *info,
			struct petra_error **err)
{
	builder_view_unmount(v);
	*changed = false;
	if (!v->overlay) {
		int r = copy_diff(v, err);
		if (r < 0)
			return r;
	}
	if (!always && dir_is_empty(v->upper))
		return 0;
	char *cached = NULL;
	int r = commit_dir(b, v->upper, info, &cached, err);
	if (r < 0)
		return r;
	builder_state_add_layer(s, info, cached);
	s->layers[s->n_layers - 1].empty = 0;
	*changed = true;
	return 0;
}
