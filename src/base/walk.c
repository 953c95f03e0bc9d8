/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tree walker every module uses (fs_walk): names sorted so that what
 * is built from a walk (a layer, a hash, a report) does not depend on the
 * order a filesystem returns them in; every step openat() from the parent
 * descriptor with O_NOFOLLOW, so a symlink is an entry, never a way out.
 *
 * Descriptors: one per directory being walked, up to WALK_MAX_OPEN; deeper
 * than that the shallowest ones are closed and, on the way back up, opened
 * again through ".." from the child and checked (device and inode) to be
 * the directory that was left: a tree as deep as paths allow never runs
 * out of descriptors, and a directory moved meanwhile is an error, not a
 * walk of somewhere else.
 */
#include "base.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define WALK_MAX_OPEN 32

struct walk_level {
	int fd; /* -1 while closed to stay under WALK_MAX_OPEN */
	dev_t dev;
	ino_t ino;
};

struct walker {
	const struct fs_walk_ops *ops;
	void *ctx;
	unsigned flags;
	struct strbuf path;
	struct walk_level *levels; /* [0] is the caller's directory */
	size_t n_levels, alloc_levels;
	size_t n_open; /* levels above [0] with a descriptor */
};

static const char *shown(const struct walker *w)
{
	return w->path.len ? w->path.buf : ".";
}

static int read_sorted_names(struct walker *w, int fd, struct strvec *names,
			     struct petra_error **err)
{
	int dupfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	if (!d) {
		int e = errno;
		if (dupfd >= 0)
			close(dupfd);
		_cleanup_free_ char *q = str_quote(shown(w));
		return petra_error_set_errno(err, e, "%s: read directory", q);
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(names, de->d_name);
	int e = errno;
	closedir(d);
	if (e) {
		_cleanup_free_ char *q = str_quote(shown(w));
		return petra_error_set_errno(err, e, "%s: read directory", q);
	}
	strvec_sort(names);
	return 0;
}

/* Close the shallowest open level (never the caller's [0]). */
static void close_one(struct walker *w)
{
	for (size_t i = 1; i < w->n_levels; i++)
		if (w->levels[i].fd >= 0) {
			close(w->levels[i].fd);
			w->levels[i].fd = -1;
			w->n_open--;
			return;
		}
}

/* Level i was closed; its child i+1 is open: go back up through "..". */
static int reopen_level(struct walker *w, size_t i, struct petra_error **err)
{
	int fd = openat(w->levels[i + 1].fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		_cleanup_free_ char *q = str_quote(shown(w));
		return petra_error_set_errno(err, e, "%s: open the parent again", q);
	}
	if (st.st_dev != w->levels[i].dev || st.st_ino != w->levels[i].ino) {
		close(fd);
		_cleanup_free_ char *q = str_quote(shown(w));
		return petra_error_set(err, EAGAIN, "%s: moved while the tree was walked", q);
	}
	w->levels[i].fd = fd;
	w->n_open++;
	return 0;
}

static int walk_dir(struct walker *w, unsigned depth, struct petra_error **err);

/* The entry `name` of level `lvl` (w->path is its path): the callbacks,
 * and its contents when it is a directory that is not pruned. */
static int walk_entry(struct walker *w, unsigned depth, const char *name, struct petra_error **err)
{
	size_t lvl = depth - 1;
	int fd = w->levels[lvl].fd;
	struct fs_walk_entry e = {.dirfd = fd, .name = name, .path = w->path.buf, .depth = depth};
	if (fstatat(fd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT && (w->flags & FS_WALK_SKIP_VANISHED))
			return 0;
		_cleanup_free_ char *q = str_quote(w->path.buf);
		return petra_error_set_errno(err, errno, "%s: stat", q);
	}
	int r = w->ops->pre ? w->ops->pre(w->ctx, &e, err) : FS_WALK_CONTINUE;
	if (r < 0 || r == FS_WALK_PRUNE || !S_ISDIR(e.st.st_mode))
		return r < 0 ? r : 0;

	int child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat cst;
	if (child < 0 || fstat(child, &cst) < 0) {
		int errnum = errno;
		if (child >= 0)
			close(child);
		if (errnum == ENOENT && (w->flags & FS_WALK_SKIP_VANISHED))
			return 0;
		_cleanup_free_ char *q = str_quote(w->path.buf);
		return petra_error_set_errno(err, errnum, "%s: open", q);
	}
	if (cst.st_dev != e.st.st_dev || cst.st_ino != e.st.st_ino) {
		close(child);
		_cleanup_free_ char *q = str_quote(w->path.buf);
		return petra_error_set(err, EAGAIN, "%s: replaced while the tree was walked", q);
	}
	if (w->n_open >= WALK_MAX_OPEN)
		close_one(w);
	xgrow((void **)&w->levels, &w->alloc_levels, w->n_levels + 1, sizeof(*w->levels));
	w->levels[w->n_levels++] = (struct walk_level){child, cst.st_dev, cst.st_ino};
	w->n_open++;

	r = walk_dir(w, depth + 1, err);

	/* Back up: this level needs its descriptor again (for the post
	 * callback and the next siblings) before the child's goes. */
	if (r == 0 && w->levels[lvl].fd < 0)
		r = reopen_level(w, lvl, err);
	struct walk_level *top = &w->levels[--w->n_levels];
	if (top->fd >= 0) {
		close(top->fd);
		w->n_open--;
	}
	if (r == 0 && w->ops->post) {
		/* The path buffer may have grown (moved) below. */
		e.dirfd = w->levels[lvl].fd;
		e.path = w->path.buf;
		r = w->ops->post(w->ctx, &e, err);
	}
	return r < 0 ? r : 0;
}

/* The contents of the directory at level depth (w->path is its path). */
static int walk_dir(struct walker *w, unsigned depth, struct petra_error **err)
{
	size_t lvl = depth - 1;
	_cleanup_strvec_ struct strvec names = STRVEC_INIT;
	int r = read_sorted_names(w, w->levels[lvl].fd, &names, err);
	if (r < 0)
		return r;
	size_t base = w->path.len;
	for (size_t i = 0; i < names.n && r == 0; i++) {
		strbuf_setlen(&w->path, base);
		if (base && w->path.buf[base - 1] != '/')
			strbuf_addch(&w->path, '/');
		strbuf_addstr(&w->path, names.v[i]);
		r = walk_entry(w, depth, names.v[i], err);
	}
	strbuf_setlen(&w->path, base);
	return r;
}

int fs_walk(int dirfd, const char *prefix, unsigned flags, const struct fs_walk_ops *ops, void *ctx,
	    struct petra_error **err)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return petra_error_set_errno(err, errno, "%s: stat",
					     prefix && *prefix ? prefix : ".");
	struct walker w = {.ops = ops, .ctx = ctx, .flags = flags, .path = STRBUF_INIT};
	strbuf_addstr(&w.path, prefix ? prefix : "");
	xgrow((void **)&w.levels, &w.alloc_levels, 1, sizeof(*w.levels));
	w.levels[w.n_levels++] = (struct walk_level){dirfd, st.st_dev, st.st_ino};
	int r = walk_dir(&w, 1, err);
	for (size_t i = 1; i < w.n_levels; i++)
		if (w.levels[i].fd >= 0)
			close(w.levels[i].fd);
	free(w.levels);
	strbuf_release(&w.path);
	return r;
}
