/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COPY and ADD: sources from the context (through .dockerignore), from
 * another stage or image (--from), or heredocs; wildcards; --chown,
 * --chmod, --link; ADD's local archives unpacked.
 *
 * Everything is written inside the stage's root through descriptors:
 * paths in the destination are resolved with RESOLVE_IN_ROOT (an image's
 * symlinks are followed as the image sees them, never out of it) and
 * entries are created with *at() calls and O_NOFOLLOW.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

/* ---- inside the destination root ---- */

int build_mkdir_in_root(int root_fd, const char *path, uid_t uid, gid_t gid,
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

struct copier {
	struct build *b;
	int root_fd;     /* the destination root */
	char *dest;      /* the destination of the start, relative to the root */
	bool into;       /* a file start goes into dest (a directory) */
	bool keep_owner; /* sources from a stage keep their owners */
	bool chown;
	uid_t uid;
	gid_t gid;
	bool chmod;
	mode_t mode;
	bool unpack;      /* ADD: a local archive is unpacked */
	const char *name; /* the start's base name (for "into") */
	struct open_dir *dirs;
	size_t n_dirs, alloc_dirs;
	struct link_seen *links;
	size_t n_links, alloc_links;
	struct progress *progress;
	/* A copy running in a thread of its own: the bytes copied so far (for
	 * the progress line the step's thread draws), and its cancellation. */
	atomic_uint_least64_t *copied;
	const atomic_bool *cancel;
};

static void pop_dir(struct copier *c)
{
	struct open_dir *d = &c->dirs[--c->n_dirs];
	if (d->set_times) {
		struct timespec t[2] = {d->src.st_atim, d->src.st_mtim};
		futimens(d->fd, t);
	}
	close(d->fd);
	free(d->path);
}

static void push_dir(struct copier *c, const char *path, int fd, const struct stat *src,
		     bool set_times)
{
	xgrow((void **)&c->dirs, &c->alloc_dirs, c->n_dirs + 1, sizeof(*c->dirs));
	c->dirs[c->n_dirs++] = (struct open_dir){xstrdup(path), fd, *src, set_times};
}

/* The open directory that holds `path`. */
static struct open_dir *parent_of(struct copier *c, const char *path)
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

static void owner_of(struct copier *c, const struct stat *src, uid_t *uid, gid_t *gid)
{
	if (c->chown) {
		*uid = c->uid;
		*gid = c->gid;
	} else if (c->keep_owner) {
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
		/* The host's labels and overlayfs's own are not the image's. */
		if (!strcmp(k, "security.selinux") || !strncmp(k, "trusted.", 8))
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
static int unpack_archive(struct copier *c, int fd, int dir_fd, const char *shown,
			  struct petra_error **err)
{
	enum layer_compression comp;
	_cleanup_close_ int plain = -1;
	if (layer_compression_detect(fd, &comp) == 1) {
		/* What the layer reader does not decompress itself is
		 * decompressed into a temporary file first. */
		_cleanup_free_ char *tmp = NULL;
		int r = build_scratch_dir(c->b, "archive", &tmp, err);
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

static int copy_file(struct copier *c, const struct context_entry *e, int pfd, const char *name,
		     const char *dest, struct petra_error **err)
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
			_cleanup_close_ int ffd =
			    fs_open_in_root(c->root_fd, slash ? first : "/", O_PATH | O_DIRECTORY);
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
	if (c->progress)
		progress_add(c->progress, copied);
	if (c->copied)
		atomic_fetch_add(c->copied, copied);
	uid_t uid;
	gid_t gid;
	owner_of(c, st, &uid, &gid);
	copy_xattrs(in, out);
	if (fchown(out, uid, gid) < 0 || fchmod(out, c->chmod ? c->mode : st->st_mode & 07777) < 0)
		return petra_error_set_errno(err, errno, "%s", shown);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	futimens(out, t);
	if (st->st_nlink > 1) {
		xgrow((void **)&c->links, &c->alloc_links, c->n_links + 1, sizeof(*c->links));
		c->links[c->n_links++] = (struct link_seen){st->st_dev, st->st_ino, xstrdup(dest)};
	}
	return 0;
}

static int copy_other(struct copier *c, const struct context_entry *e, int pfd, const char *name,
		      const char *dest, struct petra_error **err)
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
		fchmodat(pfd, name, c->chmod ? c->mode : st->st_mode & 07777, 0);
	}
	uid_t uid;
	gid_t gid;
	owner_of(c, st, &uid, &gid);
	fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	utimensat(pfd, name, t, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int copy_entry(void *ctx, const struct context_entry *e, struct petra_error **err)
{
	struct copier *c = ctx;
	const struct stat *st = e->st;
	if (c->cancel && atomic_load(c->cancel))
		return petra_error_set(err, ECANCELED, "copy cancelled");
	if (!*e->path) {
		/* The start: a directory's contents go into dest; a file
		 * becomes dest, or goes into it. */
		if (S_ISDIR(st->st_mode)) {
			uid_t uid = c->chown ? c->uid : 0;
			gid_t gid = c->chown ? c->gid : 0;
			int r = build_mkdir_in_root(c->root_fd, c->dest, uid, gid, err);
			int fd = r < 0 ? r
				       : fs_open_in_root(c->root_fd, *c->dest ? c->dest : "/",
							 O_RDONLY | O_DIRECTORY);
			if (r == 0 && fd < 0)
				r = petra_error_set_errno(err, -fd, "/%s", c->dest);
			if (r < 0)
				return r;
			push_dir(c, "", fd, st, false);
			return 0;
		}
		_cleanup_free_ char *target =
		    c->into ? (*c->dest ? xasprintf("%s/%s", c->dest, c->name) : xstrdup(c->name))
			    : xstrdup(c->dest);
		char *slash = strrchr(target, '/');
		_cleanup_free_ char *parent =
		    slash ? xstrndup(target, (size_t)(slash - target)) : xstrdup("");
		const char *name = slash ? slash + 1 : target;
		uid_t uid = c->chown ? c->uid : 0;
		gid_t gid = c->chown ? c->gid : 0;
		int r = build_mkdir_in_root(c->root_fd, parent, uid, gid, err);
		if (r < 0)
			return r;
		_cleanup_close_ int pfd =
		    fs_open_in_root(c->root_fd, *parent ? parent : "/", O_PATH | O_DIRECTORY);
		if (pfd < 0)
			return petra_error_set_errno(err, -pfd, "/%s", parent);
		if (c->unpack && S_ISREG(st->st_mode)) {
			_cleanup_close_ int in = context_entry_open(e, O_RDONLY);
			if (in >= 0 && layer_archive_detect(in)) {
				/* An archive unpacks into dest as a directory. */
				r = build_mkdir_in_root(c->root_fd, c->dest, uid, gid, err);
				_cleanup_close_ int dfd =
				    r < 0 ? -1
					  : fs_open_in_root(c->root_fd, *c->dest ? c->dest : "/",
							    O_RDONLY | O_DIRECTORY);
				if (r == 0 && dfd < 0)
					r = petra_error_set_errno(err, -dfd, "/%s", c->dest);
				if (r == 0)
					r = unpack_archive(c, in, dfd, c->name, err);
				return r;
			}
		}
		/* An existing directory named dest (inside the root) takes the
		 * file in. */
		_cleanup_close_ int dfd =
		    c->into ? -1 : fs_open_in_root(c->root_fd, target, O_PATH | O_DIRECTORY);
		if (dfd >= 0) {
			_cleanup_free_ char *inside = xasprintf("%s/%s", target, c->name);
			return S_ISREG(st->st_mode) ? copy_file(c, e, dfd, c->name, inside, err)
						    : copy_other(c, e, dfd, c->name, inside, err);
		}
		return S_ISREG(st->st_mode) ? copy_file(c, e, pfd, name, target, err)
					    : copy_other(c, e, pfd, name, target, err);
	}
	struct open_dir *parent = parent_of(c, e->path);
	if (!parent)
		return petra_error_set(err, EIO, "%s: no parent directory", e->path);
	_cleanup_free_ char *dest =
	    *c->dest ? xasprintf("%s/%s", c->dest, e->path) : xstrdup(e->path);
	if (S_ISDIR(st->st_mode)) {
		_cleanup_free_ char *shown = str_quote(dest);
		/* An existing directory (or a symlink to one, inside the
		 * root) is merged into; anything else is replaced. */
		int fd = fs_open_in_root(c->root_fd, dest, O_RDONLY | O_DIRECTORY);
		if (fd < 0) {
			int r = clear_place(parent->fd, e->name, shown, err);
			if (r < 0)
				return r;
			if (mkdirat(parent->fd, e->name, 0700) < 0)
				return petra_error_set_errno(err, errno, "create %s", shown);
			fd = openat(parent->fd, e->name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return petra_error_set_errno(err, errno, "open %s", shown);
		}
		uid_t uid;
		gid_t gid;
		owner_of(c, st, &uid, &gid);
		if (fchown(fd, uid, gid) < 0 ||
		    fchmod(fd, c->chmod ? c->mode : st->st_mode & 07777) < 0) {
			close(fd);
			return petra_error_set_errno(err, errno, "%s", shown);
		}
		push_dir(c, e->path, fd, st, true);
		return 0;
	}
	return S_ISREG(st->st_mode) ? copy_file(c, e, parent->fd, e->name, dest, err)
				    : copy_other(c, e, parent->fd, e->name, dest, err);
}

static int copy_source(struct copier *c, int src_root, const char *src,
		       const struct context_ignore *ig, struct petra_error **err)
{
	int r = context_walk(src_root, src, ig, ig ? src : NULL, copy_entry, c, err);
	while (c->n_dirs)
		pop_dir(c);
	return r;
}

static void copier_release(struct copier *c)
{
	for (size_t i = 0; i < c->n_links; i++)
		free(c->links[i].dest);
	free(c->links);
	free(c->dirs);
	free(c->dest);
}

/* Copy src into dest (relative to dest_fd) as into a directory, owners
 * kept. */
static int copy_into(struct build *b, int src_root, const char *src,
		     const struct context_ignore *ig, int dest_fd, const char *dest,
		     struct petra_error **err)
{
	const char *slash = strrchr(src, '/');
	struct copier c = {
	    .b = b,
	    .root_fd = dest_fd,
	    .dest = xstrdup(dest),
	    .into = true,
	    .keep_owner = true,
	    .name = slash ? slash + 1 : (*src ? src : "."),
	};
	int r = copy_source(&c, src_root, src, ig, err);
	copier_release(&c);
	return r;
}

int build_copy_tree(struct build *b, int src_root, const char *src, const struct context_ignore *ig,
		    int dest_fd, struct petra_error **err)
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

/* ---- the step ---- */

struct source {
	char *path;                            /* cleaned, relative to its root */
	const struct dockerfile_heredoc *here; /* or a heredoc */
	char *here_text;                       /* its content, expanded */
};

static void sources_free(struct source *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].path);
		free(s[i].here_text);
	}
	free(s);
}

static int parse_chmod(const char *v, mode_t *out, struct petra_error **err)
{
	char *end;
	unsigned long m = strtoul(v, &end, 8);
	if (!*v || *end || m > 07777)
		return petra_error_set(err, EINVAL, "--chmod=%s: an octal mode is expected", v);
	*out = (mode_t)m;
	return 0;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "git@", 4) ||
	       !strncmp(s, "git://", 6);
}

/* Write a heredoc source as a file in dest. */
static int copy_heredoc(struct copier *c, const struct source *src, struct petra_error **err)
{
	_cleanup_free_ char *target = c->into
					  ? (*c->dest ? xasprintf("%s/%s", c->dest, src->here->name)
						      : xstrdup(src->here->name))
					  : xstrdup(c->dest);
	char *slash = strrchr(target, '/');
	_cleanup_free_ char *parent =
	    slash ? xstrndup(target, (size_t)(slash - target)) : xstrdup("");
	const char *name = slash ? slash + 1 : target;
	int r = build_mkdir_in_root(c->root_fd, parent, c->chown ? c->uid : 0,
				    c->chown ? c->gid : 0, err);
	if (r < 0)
		return r;
	_cleanup_close_ int pfd =
	    fs_open_in_root(c->root_fd, *parent ? parent : "/", O_PATH | O_DIRECTORY);
	_cleanup_free_ char *shown = str_quote(target);
	if (pfd < 0)
		return petra_error_set_errno(err, -pfd, "/%s", parent);
	r = clear_place(pfd, name, shown, err);
	_cleanup_close_ int fd =
	    r < 0 ? -1
		  : openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (r == 0 && fd < 0)
		r = petra_error_set_errno(err, errno, "create %s", shown);
	if (r == 0 && (fs_write_all(fd, src->here_text, strlen(src->here_text)) < 0 ||
		       fchown(fd, c->chown ? c->uid : 0, c->chown ? c->gid : 0) < 0 ||
		       fchmod(fd, c->chmod ? c->mode : 0644) < 0))
		r = petra_error_set_errno(err, errno, "write %s", shown);
	if (r == 0) {
		struct timespec t[2] = {{c->b->now, 0}, {c->b->now, 0}};
		futimens(fd, t);
	}
	return r;
}

/* The copy half of a COPY step: the view (an overlay on the stage, or an
 * empty directory for --link), then every source into it. */
struct copy_job {
	struct step *s;
	struct copier *c;
	const struct source *sources;
	size_t n_sources;
	const char *chown;
	bool link;
	struct image_state *src_state; /* --from: the stage or image copied from */
	struct rootview v;             /* the result, for step_finish */
	struct progress progress;
	/* Run in a thread: */
	int r;
	struct petra_error *err;
	atomic_bool cancel;
	atomic_uint_least64_t copied;
	pthread_mutex_t lock; /* done */
	pthread_cond_t cond;
	bool done;
};

static int copy_job_run(struct copy_job *j, struct progress *progress, struct petra_error **err)
{
	struct build *b = j->s->b;
	struct copier *c = j->c;
	struct rootview src_view = {0};
	int src_root = b->context_fd;
	const struct context_ignore *ig = b->ignore;
	int r = 0;
	if (j->src_state) {
		r = rootview_open_readonly(b, j->src_state, &src_view, err);
		src_root = r < 0 ? -1 : open(src_view.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && src_root < 0)
			r = petra_error_set_errno(err, errno, "open %s", src_view.root);
		ig = NULL;
		c->keep_owner = true;
	}
	if (r == 0 && j->chown) {
		_cleanup_free_ char *home = NULL;
		r = stage_resolve_user(b, j->s->state, j->chown, &c->uid, &c->gid, &home, err);
		if (r < 0)
			petra_error_prefix(err, "--chown=%s", j->chown);
		c->chown = true;
	}
	struct rootview *v = &j->v;
	if (r == 0) {
		if (j->link) {
			/* --link: a layer of its own, independent of what is
			 * below: the copy goes into an empty directory. */
			r = build_scratch_dir(b, "link", &v->dir, err);
			if (r == 0) {
				v->upper = path_join(v->dir, "layer");
				v->root = xstrdup(v->upper);
				v->overlay = true;
				if (mkdir(v->upper, 0755) < 0)
					r = petra_error_set_errno(err, errno, "create %s",
								  v->upper);
			}
		} else {
			r = rootview_open(b, j->s->state, true, v, err);
		}
	}
	_cleanup_close_ int root_fd = -1;
	if (r == 0) {
		root_fd = open(v->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root_fd < 0)
			r = petra_error_set_errno(err, errno, "open %s", v->root);
	}
	c->root_fd = root_fd;
	if (progress)
		progress_begin(progress, "copying", 0);
	c->progress = progress;
	for (size_t i = 0; r == 0 && i < j->n_sources; i++) {
		const struct source *src = &j->sources[i];
		if (src->here) {
			r = copy_heredoc(c, src, err);
			continue;
		}
		const char *slash = strrchr(src->path, '/');
		c->name = slash ? slash + 1 : src->path;
		if (!*c->name)
			c->name = ".";
		r = copy_source(c, src_root, src->path, ig, err);
	}
	if (progress)
		progress_end(progress);
	c->progress = NULL;
	if (src_root >= 0 && src_root != b->context_fd)
		close(src_root);
	rootview_release(&src_view);
	return r;
}

static void *copy_job_thread(void *arg)
{
	struct copy_job *j = arg;
	j->c->copied = &j->copied;
	j->c->cancel = &j->cancel;
	j->r = copy_job_run(j, NULL, &j->err);
	pthread_mutex_lock(&j->lock);
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

static void copy_job_join(struct copy_job *j, pthread_t thread)
{
	pthread_join(thread, NULL);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	j->c->copied = NULL;
	j->c->cancel = NULL;
}

/* The copy in its thread is not wanted: stopped, and what it made goes. */
static void copy_job_cancel(struct copy_job *j, pthread_t thread)
{
	atomic_store(&j->cancel, true);
	copy_job_join(j, thread);
	rootview_release(&j->v);
	petra_error_free(j->err);
	j->err = NULL;
}

/* The copy in its thread is the step's: its progress shown until it ends,
 * its result taken. */
static int copy_job_wait(struct copy_job *j, pthread_t thread, struct petra_error **err)
{
	struct build *b = j->s->b;
	if (!b->parallel)
		progress_begin(&j->progress, "copying", 0);
	uint64_t shown = 0;
	pthread_mutex_lock(&j->lock);
	while (!j->done) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&j->cond, &j->lock, &until);
		uint64_t now = atomic_load(&j->copied);
		if (!b->parallel)
			progress_add(&j->progress, now - shown);
		shown = now;
	}
	pthread_mutex_unlock(&j->lock);
	copy_job_join(j, thread);
	if (!b->parallel)
		progress_end(&j->progress);
	if (j->r < 0 && err) {
		petra_error_free(*err);
		*err = j->err;
		j->err = NULL;
	}
	petra_error_free(j->err);
	j->err = NULL;
	return j->r;
}

static bool has_context_source(const struct source *sources, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!sources[i].here)
			return true;
	return false;
}

int step_copy(struct step *s, struct petra_error **err)
{
	struct build *b = s->b;
	const struct dockerfile_instruction *in = s->in;
	bool add = in->kind == DOCKERFILE_ADD;
	static const char *const unsupported[] = {"parents", "exclude", "checksum", "keep-git-dir"};
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (dockerfile_flag(in, unsupported[i]))
			return petra_error_set(err, ENOTSUP, "--%s is not supported",
					       unsupported[i]);
	struct dockerfile_expander ex;
	dockerfile_scope_expander(s->scope, in->kind, &ex);
	_cleanup_free_ char *from = NULL, *chown = NULL, *chmod = NULL, *dest = NULL;
	int r = 0;
	const char *flag;
	if (r == 0 && (flag = dockerfile_flag(in, "from")))
		r = dockerfile_expand_word(&ex, flag, &from, err);
	if (r == 0 && (flag = dockerfile_flag(in, "chown")))
		r = dockerfile_expand_word(&ex, flag, &chown, err);
	if (r == 0 && (flag = dockerfile_flag(in, "chmod")))
		r = dockerfile_expand_word(&ex, flag, &chmod, err);
	const char *link_flag = dockerfile_flag(in, "link");
	bool link = link_flag && strcasecmp(link_flag, "false");
	const char *unpack_flag = add ? dockerfile_flag(in, "unpack") : NULL;
	bool unpack = add && !(unpack_flag && !strcasecmp(unpack_flag, "false"));
	if (r == 0)
		r = dockerfile_expand_word(&ex, in->args[in->n_args - 1].text, &dest, err);
	if (r < 0)
		return r;
	struct copier c = {.b = b, .unpack = unpack};
	if (chmod && (r = parse_chmod(chmod, &c.mode, err)) < 0)
		return r;
	c.chmod = chmod != NULL;

	/* The sources. */
	struct image_state src_state = {0};
	bool have_src_state = false;
	if (from) {
		r = build_source_state(s, from, &src_state, err);
		if (r < 0)
			return r;
		have_src_state = true;
	}
	size_t n_sources = 0;
	struct source *sources = xcalloc(in->n_args, sizeof(*sources));
	struct strvec expanded = STRVEC_INIT;
	for (size_t i = 0; r == 0 && i + 1 < in->n_args; i++) {
		const struct dockerfile_heredoc *h = dockerfile_find_heredoc(in, in->args[i].text);
		if (h) {
			struct source *src = &sources[n_sources++];
			src->here = h;
			if (h->expand) {
				struct dockerfile_expander hx = ex;
				hx.flags |=
				    DOCKERFILE_EXPAND_RAW_QUOTES | DOCKERFILE_EXPAND_RAW_ESCAPES;
				r = dockerfile_expand_word(&hx, h->content, &src->here_text, err);
			} else {
				src->here_text = xstrdup(h->content);
			}
			continue;
		}
		_cleanup_free_ char *word = NULL;
		r = dockerfile_expand_word(&ex, in->args[i].text, &word, err);
		if (r < 0)
			break;
		if (add && is_url(word)) {
			r = petra_error_set(err, ENOTSUP,
					    "ADD %s: remote sources are not supported (builds have "
					    "no network for sources): download it before the build",
					    word);
			break;
		}
		_cleanup_free_ char *clean = context_clean_path(word);
		if (context_has_wildcards(clean)) {
			if (from) {
				r = petra_error_set(err, ENOTSUP,
						    "%s: wildcards with --from are not supported",
						    word);
				break;
			}
			size_t before = expanded.n;
			r = context_glob(b->context_fd, clean, b->ignore, &expanded, err);
			if (r == 0 && expanded.n == before)
				r = petra_error_set(err, ENOENT, "%s: no source files match", word);
			continue;
		}
		strvec_push(&expanded, clean);
	}
	for (size_t i = 0; r == 0 && i < expanded.n; i++) {
		sources = xrealloc(sources, (n_sources + 1) * sizeof(*sources));
		sources[n_sources++] = (struct source){.path = xstrdup(expanded.v[i])};
	}
	strvec_clear(&expanded);
	size_t dl = strlen(dest);
	bool dest_dir = dl && (dest[dl - 1] == '/' || (dl >= 2 && !strcmp(dest + dl - 2, "/.")));
	if (r == 0 && n_sources > 1 && !dest_dir)
		r = petra_error_set(err, EINVAL,
				    "with more than one source the destination must be a "
				    "directory and end with a /");
	json_t *cfg = image_state_runtime(s->state);
	const char *wd = json_get_string(cfg, "WorkingDir");
	_cleanup_free_ char *full =
	    dest[0] == '/' ? xstrdup(dest) : xasprintf("%s/%s", wd && *wd ? wd : "", dest);
	c.dest = context_clean_path(full);
	c.into = dest_dir;

	/* The key: what is copied (content, not times), where, how. Hashed
	 * apart first: --link layers are found by that alone. */
	struct oci_hasher content;
	oci_hasher_init(&content);
	struct oci_hasher *k = &content;
	key_add(k, c.dest);
	key_addf(k, "into=%d chown=%s chmod=%s link=%d unpack=%d", c.into, chown ? chown : "",
		 chmod ? chmod : "", link, unpack);
	if (have_src_state) {
		char id[OCI_DIGEST_SIZE];
		image_state_identity(&src_state, id);
		key_addf(k, "from=%s", id);
	}
	/* The first time a step runs, hashing the sources (to look the step
	 * up) and copying them are two reads of the same files: the copy
	 * starts at once in a thread of its own, while the sources are
	 * hashed, when the step very likely misses the cache (the one before
	 * it ran, or there is no cache). Its result is used only once the key
	 * is known and missed: a hit cancels it. */
	struct copy_job job = {.s = s,
			       .c = &c,
			       .sources = sources,
			       .n_sources = n_sources,
			       .chown = chown,
			       .link = link,
			       .src_state = have_src_state ? &src_state : NULL};
	pthread_t copier;
	bool copying = false;
	if (r == 0 && !link && !have_src_state && (b->o->no_cache || s->st->last_ran) &&
	    has_context_source(sources, n_sources)) {
		pthread_mutex_init(&job.lock, NULL);
		pthread_cond_init(&job.cond, NULL);
		copying = pthread_create(&copier, NULL, copy_job_thread, &job) == 0;
		if (!copying) {
			pthread_mutex_destroy(&job.lock);
			pthread_cond_destroy(&job.cond);
		}
	}
	uint64_t entries = 0;
	for (size_t i = 0; r == 0 && i < n_sources; i++) {
		if (sources[i].here) {
			key_addf(k, "heredoc %s", sources[i].here->name);
			key_add(k, sources[i].here_text);
		} else {
			key_addf(k, "source %s", sources[i].path);
			/* A stage's content is named by its identity above. */
			if (!have_src_state)
				r = context_hash(k, b->context_fd, sources[i].path, b->ignore,
						 &entries, err);
		}
	}
	char content_key[OCI_DIGEST_SIZE], link_key[OCI_DIGEST_SIZE], key[OCI_DIGEST_SIZE];
	oci_hasher_final(&content, content_key);
	key_add(&s->key, content_key);
	step_key_final(s, key);
	struct oci_hasher lk;
	oci_hasher_init(&lk);
	key_add(&lk, "link");
	key_add(&lk, layer_compression_name(b->o->compression));
	key_addf(&lk, "%lld", b->o->reproducible ? (long long)b->o->source_date_epoch : -1LL);
	key_add(&lk, content_key);
	oci_hasher_final(&lk, link_key);
	struct image_state hit;
	bool cached = r == 0 && !b->o->no_cache && cache_load(b, key, &hit);
	if (copying && (r < 0 || cached)) {
		/* The copy is not wanted: what the hash found stands. */
		copy_job_cancel(&job, copier);
		copying = false;
	}
	/* A --link layer made before on any parent: put on this one. */
	struct image_state linked;
	if (r == 0 && !cached && link && !b->o->no_cache && cache_load(b, link_key, &linked)) {
		if (linked.n_layers == 1) {
			struct layer_info li = {.size = linked.layers[0].desc.size,
						.uncompressed_size = 2048,
						.media_type = linked.layers[0].desc.media_type};
			memcpy(li.digest, linked.layers[0].desc.digest, OCI_DIGEST_SIZE);
			memcpy(li.diff_id, linked.layers[0].diff_id, OCI_DIGEST_SIZE);
			image_state_add_layer(s->state, &li, NULL);
			step_announce(s, true);
			step_record(s, key, s->text, true);
			image_state_release(&linked);
			sources_free(sources, n_sources);
			image_state_release(&src_state);
			free(c.dest);
			return 0;
		}
		image_state_release(&linked);
	}
	if (r == 0)
		step_announce(s, cached);
	if (cached) {
		image_state_release(s->state);
		*s->state = hit;
		sources_free(sources, n_sources);
		image_state_release(&src_state);
		copier_release(&c); /* what a cancelled copy left in it too */
		return 0;
	}

	/* Copy (or wait for the copy started above). */
	if (r == 0 && copying)
		r = copy_job_wait(&job, copier, err);
	else if (r == 0)
		r = copy_job_run(&job, b->parallel ? NULL : &job.progress, err);
	copier_release(&c);
	image_state_release(&src_state);
	sources_free(sources, n_sources);
	bool changed = false;
	struct layer_info info;
	r = step_finish(s, &job.v, r, key, s->text, &info, &changed, err);
	if (r < 0)
		return r;
	if (link && changed) {
		/* The layer alone, for this copy on any other parent. */
		struct image_state only = {
		    .config = json_pack("{s:{s:s,s:[]}}", "rootfs", "type", "layers", "diff_ids")};
		image_state_add_layer(&only, &info, NULL);
		cache_save(b, link_key, &only);
		image_state_release(&only);
	}
	return 0;
}

/* ---- sources from another stage or an image ---- */

int build_source_state(struct step *s, const char *from, struct image_state *out,
		       struct petra_error **err)
{
	struct build *b = s->b;
	struct stage *st = build_find_stage(b, from, s->st->index);
	if (st) {
		/* Scheduled before this stage: done by now. */
		image_state_copy(out, &st->state);
		return 0;
	}
	struct image img;
	int r = build_resolve_base(b, s->st, from, &img, err);
	if (r < 0)
		return petra_error_prefix(err, "--from=%s", from);
	memset(out, 0, sizeof(*out));
	out->config = json_deep_copy(img.config.json);
	out->n_layers = img.manifest.n_layers;
	out->layers = xcalloc(out->n_layers + 1, sizeof(*out->layers));
	for (size_t i = 0; i < out->n_layers; i++) {
		oci_descriptor_copy(&out->layers[i].desc, &img.manifest.layers[i]);
		memcpy(out->layers[i].diff_id, img.config.diff_ids.v[i], OCI_DIGEST_SIZE);
		out->layers[i].empty = -1;
	}
	image_release(&img);
	return 0;
}
