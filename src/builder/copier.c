/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tree copier: COPY's sources (a file, a directory's contents, an
 * archive to unpack, a heredoc's text) into a destination root, and a
 * flow's artifacts out of an image.
 *
 * Everything is written inside the destination root through descriptors:
 * paths in it are resolved with RESOLVE_IN_ROOT (an image's symlinks are
 * followed as the image sees them, never out of it) and entries are
 * created with *at() calls and O_NOFOLLOW.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

/* ---- inside the destination root ---- */

int builder_mkdir_in_root(int root_fd, const char *path, uid_t uid, gid_t gid,
			  struct petra_error **err)
{
	_cleanup_free_ char *clean = context_clean_path(path);
	if (!*clean)
		return 0;
	struct strbuf sofar = STRBUF_INIT;
	int r = 0;
	for (char *comp = clean, *next; r == 0 && comp; comp = next) {
		next = strchr(comp, '/');
		if (next)
			*next++ = '\0';
		const char *parent = sofar.len ? sofar.buf : "/";
		_cleanup_close_ int pfd = fs_open_in_root(root_fd, parent, O_PATH | O_DIRECTORY);
		if (pfd < 0) {
			r = petra_error_set_errno(err, -pfd, "/%s: not a directory", parent);
			break;
		}
		if (sofar.len)
			strbuf_addch(&sofar, '/');
		strbuf_addstr(&sofar, comp);
		_cleanup_close_ int fd = fs_open_in_root(root_fd, sofar.buf, O_PATH | O_DIRECTORY);
		if (fd >= 0)
			continue;
		struct stat st;
		if (fstatat(pfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode)) {
			r = petra_error_set(err, ENOTDIR, "/%s: exists and is not a directory",
					    sofar.buf);
			break;
		}
		if (mkdirat(pfd, comp, 0755) < 0 && errno != EEXIST) {
			r = petra_error_set_errno(err, errno, "create /%s", sofar.buf);
			break;
		}
		if (fchownat(pfd, comp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(pfd, comp, 0755, 0) < 0)
			r = petra_error_set_errno(err, errno, "/%s", sofar.buf);
	}
	strbuf_release(&sofar);
	return r;
}

/* ---- copying one source ---- */

struct open_dir {
	char *path; /* relative to the walk's start */
	int fd;
	struct stat src; /* for its times, set once its contents are in */
	bool set_times;
};

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *dest; /* relative to the root */
};

struct builder_copier {
	struct builder_copy o;
	const char *name; /* the start's base name (for "into") */
	struct open_dir *dirs;
	size_t n_dirs, alloc_dirs;
	struct link_seen *links;
	size_t n_links, alloc_links;
};

static void pop_dir(struct builder_copier *c)
{
	struct open_dir *d = &c->dirs[--c->n_dirs];
	if (d->set_times) {
		struct timespec t[2] = {d->src.st_atim, d->src.st_mtim};
		futimens(d->fd, t);
	}
	close(d->fd);
	free(d->path);
}

static void push_dir(struct builder_copier *c, const char *path, int fd, const struct stat *src,
		     bool set_times)
{
	xgrow((void **)&c->dirs, &c->alloc_dirs, c->n_dirs + 1, sizeof(*c->dirs));
	c->dirs[c->n_dirs++] = (struct open_dir){xstrdup(path), fd, *src, set_times};
}

/* The open directory that holds `path`. */
static struct open_dir *parent_of(struct builder_copier *c, const char *path)
{
	while (c->n_dirs) {
		struct open_dir *top = &c->dirs[c->n_dirs - 1];
		size_t len = strlen(top->path);
		if (!len || (!strncmp(path, top->path, len) && path[len] == '/'))
			return top;
		pop_dir(c);
	}
	return NULL;
}

static void owner_of(struct builder_copier *c, const struct stat *src, uid_t *uid, gid_t *gid)
{
	if (c->o.chown) {
		*uid = c->o.uid;
		*gid = c->o.gid;
	} else if (c->o.keep_owner) {
		*uid = src->st_uid;
		*gid = src->st_gid;
	} else {
		*uid = 0;
		*gid = 0;
	}
}

static int copy_xattrs(int in, int out)
{
	ssize_t n = flistxattr(in, NULL, 0);
	if (n <= 0)
		return 0;
	_cleanup_free_ char *list = xmalloc((size_t)n);
	n = flistxattr(in, list, (size_t)n);
	for (char *k = list; n > 0 && k < list + n; k += strlen(k) + 1) {
		/* The host's labels and overlayfs's own (trusted.overlay.*, and
		 * user.overlay.* for a rootless build's overlay) are not the
		 * image's: layer_apply drops them too. */
		if (!strcmp(k, "security.selinux") || !strncmp(k, "trusted.", 8) ||
		    !strncmp(k, "user.overlay.", 13))
			continue;
		ssize_t vn = fgetxattr(in, k, NULL, 0);
		if (vn < 0)
			continue;
		_cleanup_free_ char *v = xmalloc((size_t)vn + 1);
		vn = fgetxattr(in, k, v, (size_t)vn);
		if (vn >= 0)
			fsetxattr(out, k, v, (size_t)vn, 0);
	}
	return 0;
}

/* Make room for a new entry `name` in pfd: whatever is there goes. */
static int clear_place(int pfd, const char *name, const char *shown, struct petra_error **err)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return fs_remove_tree_at(pfd, name, err);
	if (unlinkat(pfd, name, 0) < 0)
		return petra_error_set_errno(err, errno, "replace %s", shown);
	return 0;
}

/* Unpack a tar archive (gzip, bzip2, xz, zstd or none) into dir_fd, as
 * layers are applied: safely, nothing outside dir_fd. */
static int unpack_archive(struct builder_copier *c, int fd, int dir_fd, const char *shown,
			  struct petra_error **err)
{
	enum layer_compression comp;
	_cleanup_close_ int plain = -1;
	if (layer_compression_detect(fd, &comp) == 1) {
		/* What the layer reader does not decompress itself is
		 * decompressed into a temporary file first. */
		_cleanup_free_ char *tmp = NULL;
		int r = builder_scratch_dir(c->o.session, "archive", &tmp, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *file = path_join(tmp, "tar");
		plain = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		unlink(file);
		rmdir(tmp);
		if (plain < 0)
			return petra_error_set_errno(err, errno, "%s: decompress", shown);
		r = layer_archive_decompress(fd, plain, shown, err);
		if (r < 0)
			return r;
		fd = plain;
	}
	struct layer_reader_options ro = {.compression = comp, .max_ratio = -1};
	struct layer_reader *reader;
	int r = layer_reader_open(fd, &ro, &reader, err);
	if (r < 0)
		return petra_error_prefix(err, "%s", shown);
	struct layer_apply_options ao = {0};
	r = layer_apply(reader, dir_fd, &ao, err);
	layer_reader_close(reader);
	if (r < 0)
		return petra_error_prefix(err, "unpack %s", shown);
	return 0;
}

static int copy_file(struct builder_copier *c, const struct context_entry *e, int pfd,
		     const char *name, const char *dest, struct petra_error **err)
{
	const struct stat *st = e->st;
	_cleanup_free_ char *shown = str_quote(dest);
	/* A file seen before under another name: a hard link to it. */
	if (st->st_nlink > 1) {
		for (size_t i = 0; i < c->n_links; i++) {
			if (c->links[i].dev != st->st_dev || c->links[i].ino != st->st_ino)
				continue;
			_cleanup_free_ char *first = xstrdup(c->links[i].dest);
			char *slash = strrchr(first, '/');
			const char *fname = slash ? slash + 1 : first;
			if (slash)
				*slash = '\0';
			_cleanup_close_ int ffd = fs_open_in_root(c->o.root_fd, slash ? first : "/",
								  O_PATH | O_DIRECTORY);
			int r = clear_place(pfd, name, shown, err);
			if (r < 0)
				return r;
			if (ffd >= 0 && linkat(ffd, fname, pfd, name, 0) == 0)
				return 0;
			break; /* could not link: copy */
		}
	}
	_cleanup_close_ int in = context_entry_open(e, O_RDONLY);
	if (in < 0)
		return petra_error_set_errno(err, errno, "%s: open", shown);
	int r = clear_place(pfd, name, shown, err);
	if (r < 0)
		return r;
	_cleanup_close_ int out =
	    openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return petra_error_set_errno(err, errno, "create %s", shown);
	uint64_t copied = 0;
	r = fs_copy_fd(in, out, &copied, err);
	if (r < 0)
		return petra_error_prefix(err, "copy to %s", shown);
	if (c->o.progress)
		progress_add(c->o.progress, copied);
	if (c->o.copied)
		atomic_fetch_add(c->o.copied, copied);
	uid_t uid;
	gid_t gid;
	owner_of(c, st, &uid, &gid);
	copy_xattrs(in, out);
	if (fchown(out, uid, gid) < 0 ||
	    fchmod(out, c->o.chmod ? c->o.mode : st->st_mode & 07777) < 0)
		return petra_error_set_errno(err, errno, "%s", shown);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	futimens(out, t);
	if (st->st_nlink > 1) {
		xgrow((void **)&c->links, &c->alloc_links, c->n_links + 1, sizeof(*c->links));
		c->links[c->n_links++] = (struct link_seen){st->st_dev, st->st_ino, xstrdup(dest)};
	}
	return 0;
}

static int copy_other(struct builder_copier *c, const struct context_entry *e, int pfd,
		      const char *name, const char *dest, struct petra_error **err)
{
	const struct stat *st = e->st;
	_cleanup_free_ char *shown = str_quote(dest);
	if (S_ISSOCK(st->st_mode))
		return 0;
	int r = clear_place(pfd, name, shown, err);
	if (r < 0)
		return r;
	if (S_ISLNK(st->st_mode)) {
		if (symlinkat(e->link, pfd, name) < 0)
			return petra_error_set_errno(err, errno, "create %s", shown);
	} else if (mknodat(pfd, name, st->st_mode, st->st_rdev) < 0) {
		return petra_error_set_errno(err, errno, "create %s", shown);
	} else {
		fchmodat(pfd, name, c->o.chmod ? c->o.mode : st->st_mode & 07777, 0);
	}
	uid_t uid;
	gid_t gid;
	owner_of(c, st, &uid, &gid);
	fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	utimensat(pfd, name, t, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* The start of a copy that is a file (or an archive to unpack): it
 * becomes dest, or goes into it. */
static int copy_start_file(struct builder_copier *c, const struct context_entry *e,
			   struct petra_error **err)
{
	const struct stat *st = e->st;
	_cleanup_free_ char *target =
	    c->o.into ? (*c->o.dest ? xasprintf("%s/%s", c->o.dest, c->name) : xstrdup(c->name))
		      : xstrdup(c->o.dest);
	char *slash = strrchr(target, '/');
	_cleanup_free_ char *parent =
	    slash ? xstrndup(target, (size_t)(slash - target)) : xstrdup("");
	const char *name = slash ? slash + 1 : target;
	uid_t uid = c->o.chown ? c->o.uid : 0;
	gid_t gid = c->o.chown ? c->o.gid : 0;
	int r = builder_mkdir_in_root(c->o.root_fd, parent, uid, gid, err);
	if (r < 0)
		return r;
	_cleanup_close_ int pfd =
	    fs_open_in_root(c->o.root_fd, *parent ? parent : "/", O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return petra_error_set_errno(err, -pfd, "/%s", parent);
	if (c->o.unpack && S_ISREG(st->st_mode)) {
		_cleanup_close_ int in = context_entry_open(e, O_RDONLY);
		if (in >= 0 && layer_archive_detect(in)) {
			/* An archive unpacks into dest as a directory. */
			r = builder_mkdir_in_root(c->o.root_fd, c->o.dest, uid, gid, err);
			_cleanup_close_ int dfd =
			    r < 0 ? -1
				  : fs_open_in_root(c->o.root_fd, *c->o.dest ? c->o.dest : "/",
						    O_RDONLY | O_DIRECTORY);
			if (r == 0 && dfd < 0)
				r = petra_error_set_errno(err, -dfd, "/%s", c->o.dest);
			if (r == 0)
				r = unpack_archive(c, in, dfd, c->name, err);
			return r;
		}
	}
	/* An existing directory named dest (inside the root) takes the file
	 * in. */
	_cleanup_close_ int dfd =
	    c->o.into ? -1 : fs_open_in_root(c->o.root_fd, target, O_PATH | O_DIRECTORY);
	if (dfd >= 0) {
		_cleanup_free_ char *inside = xasprintf("%s/%s", target, c->name);
		return S_ISREG(st->st_mode) ? copy_file(c, e, dfd, c->name, inside, err)
					    : copy_other(c, e, dfd, c->name, inside, err);
	}
	return S_ISREG(st->st_mode) ? copy_file(c, e, pfd, name, target, err)
				    : copy_other(c, e, pfd, name, target, err);
}

/* The start of a copy that is a directory: its contents go into dest. */
static int copy_start_dir(struct builder_copier *c, const struct stat *st, struct petra_error **err)
{
	uid_t uid = c->o.chown ? c->o.uid : 0;
	gid_t gid = c->o.chown ? c->o.gid : 0;
	int r = builder_mkdir_in_root(c->o.root_fd, c->o.dest, uid, gid, err);
	int fd = r < 0 ? r
		       : fs_open_in_root(c->o.root_fd, *c->o.dest ? c->o.dest : "/",
					 O_RDONLY | O_DIRECTORY);
	if (r == 0 && fd < 0)
		r = petra_error_set_errno(err, -fd, "/%s", c->o.dest);
	if (r < 0)
		return r;
	push_dir(c, "", fd, st, false);
	return 0;
}

/* A directory below the start: an existing directory (or a symlink to
 * one, inside the root) is merged into; anything else is replaced. */
static int copy_dir(struct builder_copier *c, const struct context_entry *e,
		    struct open_dir *parent, const char *dest, struct petra_error **err)
{
	const struct stat *st = e->st;
	_cleanup_free_ char *shown = str_quote(dest);
	int fd = fs_open_in_root(c->o.root_fd, dest, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		int r = clear_place(parent->fd, e->name, shown, err);
		if (r < 0)
			return r;
		if (mkdirat(parent->fd, e->name, 0700) < 0)
			return petra_error_set_errno(err, errno, "create %s", shown);
		fd = openat(parent->fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return petra_error_set_errno(err, errno, "open %s", shown);
	}
	uid_t uid;
	gid_t gid;
	owner_of(c, st, &uid, &gid);
	if (fchown(fd, uid, gid) < 0 ||
	    fchmod(fd, c->o.chmod ? c->o.mode : st->st_mode & 07777) < 0) {
		close(fd);
		return petra_error_set_errno(err, errno, "%s", shown);
	}
	push_dir(c, e->path, fd, st, true);
	return 0;
}

static int copy_entry(void *ctx, const struct context_entry *e, struct petra_error **err)
{
	struct builder_copier *c = ctx;
	const struct stat *st = e->st;
	if (c->o.cancel && atomic_load(c->o.cancel))
		return petra_error_set(err, ECANCELED, "copy cancelled");
	if (!*e->path)
		return S_ISDIR(st->st_mode) ? copy_start_dir(c, st, err)
					    : copy_start_file(c, e, err);
	struct open_dir *parent = parent_of(c, e->path);
	if (!parent)
		return petra_error_set(err, EIO, "%s: no parent directory", e->path);
	_cleanup_free_ char *dest =
	    *c->o.dest ? xasprintf("%s/%s", c->o.dest, e->path) : xstrdup(e->path);
	if (S_ISDIR(st->st_mode))
		return copy_dir(c, e, parent, dest, err);
	return S_ISREG(st->st_mode) ? copy_file(c, e, parent->fd, e->name, dest, err)
				    : copy_other(c, e, parent->fd, e->name, dest, err);
}

/* ---- the copier ---- */

struct builder_copier *builder_copier_new(const struct builder_copy *o)
{
	struct builder_copier *c = xcalloc(1, sizeof(*c));
	c->o = *o;
	return c;
}

void builder_copier_free(struct builder_copier *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_links; i++)
		free(c->links[i].dest);
	free(c->links);
	free(c->dirs);
	free(c);
}

int builder_copier_copy(struct builder_copier *c, int src_root, const char *src,
			const struct context_ignore *ig, struct petra_error **err)
{
	const char *slash = strrchr(src, '/');
	c->name = slash ? slash + 1 : src;
	if (!*c->name)
		c->name = ".";
	int r = context_walk(src_root, src, ig, ig ? src : NULL, copy_entry, c, err);
	while (c->n_dirs)
		pop_dir(c);
	return r;
}

/* Copy src into dest (relative to dest_fd) as into a directory, owners
 * kept. */
static int copy_into(struct builder_session *b, int src_root, const char *src,
		     const struct context_ignore *ig, int dest_fd, const char *dest,
		     struct petra_error **err)
{
	struct builder_copy o = {
	    .session = b, .root_fd = dest_fd, .dest = dest, .into = true, .keep_owner = true};
	struct builder_copier *c = builder_copier_new(&o);
	int r = builder_copier_copy(c, src_root, src, ig, err);
	builder_copier_free(c);
	return r;
}

int builder_copy_tree(struct builder_session *b, int src_root, const char *src,
		      const struct context_ignore *ig, int dest_fd, struct petra_error **err)
{
	return copy_into(b, src_root, src, ig, dest_fd, "", err);
}

int builder_copy_out(int root_fd, const char *path, int dest_fd, struct petra_error **err)
{
	_cleanup_free_ char *clean = context_clean_path(path);
	const char *slash = strrchr(clean, '/');
	const char *name = slash ? slash + 1 : clean;
	struct stat st;
	int fd = fs_open_in_root(root_fd, *clean ? clean : "/", O_PATH);
	if (fd < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, -fd, "%s", q);
	}
	int sr = fstat(fd, &st);
	close(fd);
	if (sr < 0)
		return petra_error_set_errno(err, errno, "stat %s", path);
	/* A directory keeps its name: its contents go below it. */
	return copy_into(NULL, root_fd, clean, NULL, dest_fd,
			 S_ISDIR(st.st_mode) && *name ? name : "", err);
}

/* ---- text (heredocs) ---- */

int builder_copier_text(struct builder_copier *c, const char *file, const char *text,
			struct petra_error **err)
{
	_cleanup_free_ char *target =
	    c->o.into ? (*c->o.dest ? xasprintf("%s/%s", c->o.dest, file) : xstrdup(file))
		      : xstrdup(c->o.dest);
	char *slash = strrchr(target, '/');
	_cleanup_free_ char *parent =
	    slash ? xstrndup(target, (size_t)(slash - target)) : xstrdup("");
	const char *name = slash ? slash + 1 : target;
	int r = builder_mkdir_in_root(c->o.root_fd, parent, c->o.chown ? c->o.uid : 0,
				      c->o.chown ? c->o.gid : 0, err);
	if (r < 0)
		return r;
	_cleanup_close_ int pfd =
	    fs_open_in_root(c->o.root_fd, *parent ? parent : "/", O_PATH | O_DIRECTORY);
	_cleanup_free_ char *shown = str_quote(target);
	if (pfd < 0)
		return petra_error_set_errno(err, -pfd, "/%s", parent);
	r = clear_place(pfd, name, shown, err);
	_cleanup_close_ int fd =
	    r < 0 ? -1
		  : openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (r == 0 && fd < 0)
		r = petra_error_set_errno(err, errno, "create %s", shown);
	if (r == 0 && (fs_write_all(fd, text, strlen(text)) < 0 ||
		       fchown(fd, c->o.chown ? c->o.uid : 0, c->o.chown ? c->o.gid : 0) < 0 ||
		       fchmod(fd, c->o.chmod ? c->o.mode : 0644) < 0))
		r = petra_error_set_errno(err, errno, "write %s", shown);
	if (r == 0) {
		struct timespec t[2] = {{c->o.text_time, 0}, {c->o.text_time, 0}};
		futimens(fd, t);
	}
	return r;
}
