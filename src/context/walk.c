/* SPDX-License-Identifier: Apache-2.0 */
/* Walking, wildcard matching and hashing of trees below a root. */
#include "internal.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>

#define HASH_CHUNK (1u << 20)

char *context_clean_path(const char *path)
{
	/* Cleaned as a rooted path, ".." cannot climb above the root. */
	_cleanup_free_ char *rooted = xasprintf("/%s", path);
	_cleanup_free_ char *clean = context_go_clean(rooted);
	return xstrdup(clean + 1);
}

bool context_has_wildcards(const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '*' || *p == '?' || *p == '[')
			return true;
	}
	return false;
}

/* ---- walking ---- */

struct pending {
	char *path, *name;
	struct stat st;
	int dir_fd, fd;
	bool reported;
};

struct walker {
	const struct context_ignore *ig;
	context_walk_fn fn;
	void *ctx;
	/* Excluded directories entered because an exception may re-include
	 * something below them: reported only before the first thing that
	 * is. */
	struct pending *pending;
	size_t n_pending, alloc_pending;
	const char *ipath; /* the start's path for .dockerignore, or NULL */
};

static int report(struct walker *w, const char *path, const char *name, const struct stat *st,
		  int dir_fd, struct petra_error **err)
{
	for (size_t i = 0; i < w->n_pending; i++) {
		struct pending *p = &w->pending[i];
		if (p->reported)
			continue;
		struct context_entry pe = {p->path, p->name, &p->st, p->dir_fd, p->fd, NULL};
		int r = w->fn(w->ctx, &pe, err);
		if (r < 0)
			return r;
		p->reported = true;
	}
	char target[4096];
	const char *link = NULL;
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dir_fd, name, target, sizeof(target) - 1);
		if (n < 0) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set_errno(err, errno, "%s: read symlink", q);
		}
		target[n] = '\0';
		link = target;
	}
	struct context_entry e = {path, name, st, dir_fd, -1, link};
	return w->fn(w->ctx, &e, err);
}

static int read_sorted_names(int fd, struct strvec *names, const char *what,
			     struct petra_error **err)
{
	_cleanup_closedir_ DIR *d = fs_opendir_at(fd, ".");
	if (!d) {
		_cleanup_free_ char *q = str_quote(*what ? what : ".");
		return petra_error_set_errno(err, errno, "%s: read directory", q);
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(names, de->d_name);
	if (errno) {
		_cleanup_free_ char *q = str_quote(*what ? what : ".");
		return petra_error_set_errno(err, errno, "%s: read directory", q);
	}
	strvec_sort(names);
	return 0;
}

static char *join_rel(const char *a, const char *b)
{
	return *a ? xasprintf("%s/%s", a, b) : xstrdup(b);
}

static int walk_pre(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	struct walker *w = ctx;
	_cleanup_free_ char *ipath = w->ipath ? join_rel(w->ipath, e->path) : NULL;
	bool excluded = ipath && context_ignore_match(w->ig, ipath);
	bool dir = S_ISDIR(e->st.st_mode);
	if (excluded && !(dir && context_ignore_may_include_below(w->ig, ipath)))
		return FS_WALK_PRUNE;
	if (!excluded)
		return report(w, e->path, e->name, &e->st, e->dirfd, err);
	/* Reported later, if at all: its parent's descriptor must outlive
	 * the walker's, which may close it on a deep walk. */
	int dir_fd = fcntl(e->dirfd, F_DUPFD_CLOEXEC, 3);
	if (dir_fd < 0) {
		_cleanup_free_ char *q = str_quote(e->path);
		return petra_error_set_errno(err, errno, "%s: open", q);
	}
	xgrow((void **)&w->pending, &w->alloc_pending, w->n_pending + 1, sizeof(*w->pending));
	w->pending[w->n_pending++] =
	    (struct pending){xstrdup(e->path), xstrdup(e->name), e->st, dir_fd, -1, false};
	return FS_WALK_CONTINUE;
}

static void pending_release(struct pending *p)
{
	free(p->path);
	free(p->name);
	if (p->dir_fd >= 0)
		close(p->dir_fd);
}

/* An excluded directory's contents are done: it is no longer pending. */
static int walk_post(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	struct walker *w = ctx;
	if (w->n_pending && !strcmp(w->pending[w->n_pending - 1].path, e->path))
		pending_release(&w->pending[--w->n_pending]);
	return 0;
}

int context_entry_open(const struct context_entry *e, int flags)
{
	if (e->dir_fd >= 0)
		return openat(e->dir_fd, e->name, flags | O_NOFOLLOW | O_CLOEXEC);
	/* The start, opened afresh through its O_PATH descriptor. */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", e->fd);
	return open(proc, flags | O_CLOEXEC);
}

int context_walk(int root_fd, const char *path, const struct context_ignore *ig,
		 const char *ignore_base, context_walk_fn fn, void *ctx, struct petra_error **err)
{
	_cleanup_free_ char *clean = context_clean_path(path);
	_cleanup_free_ char *shown = str_quote(*clean ? clean : ".");
	int fd = fs_open_in_root(root_fd, *clean ? clean : "/", O_PATH);
	if (fd < 0)
		return petra_error_set_errno(err, -fd, "%s", shown);
	_cleanup_close_ int start = fd;
	struct stat st;
	if (fstat(start, &st) < 0)
		return petra_error_set_errno(err, errno, "%s: stat", shown);
	_cleanup_free_ char *ipath = ignore_base ? context_clean_path(ignore_base) : NULL;
	bool excluded = ipath && context_ignore_match(ig, ipath);
	bool dir = S_ISDIR(st.st_mode);
	if (excluded && !(dir && context_ignore_may_include_below(ig, ipath)))
		return petra_error_set(err, ENOENT, "%s: excluded by .dockerignore", shown);
	static const struct fs_walk_ops walk_ops = {walk_pre, walk_post};
	struct walker w = {.ig = ig, .fn = fn, .ctx = ctx, .ipath = ipath};
	int r = 0;
	if (excluded) {
		xgrow((void **)&w.pending, &w.alloc_pending, 1, sizeof(*w.pending));
		w.pending[w.n_pending++] =
		    (struct pending){xstrdup(""), xstrdup(""), st, -1, start, false};
	} else {
		struct context_entry e = {"", "", &st, -1, start, NULL};
		r = fn(ctx, &e, err);
	}
	if (r == 0 && dir) {
		_cleanup_close_ int dfd = openat(start, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = dfd < 0 ? petra_error_set_errno(err, errno, "%s: open", shown)
			    : fs_walk(dfd, "", 0, &walk_ops, &w, err);
	}
	bool found = !excluded || (w.n_pending && w.pending[0].reported);
	for (size_t i = 0; i < w.n_pending; i++)
		pending_release(&w.pending[i]);
	free(w.pending);
	if (r == 0 && !found)
		return petra_error_set(err, ENOENT, "%s: excluded by .dockerignore", shown);
	return r;
}

/* ---- wildcards ---- */

static int glob_expand(int root_fd, const char *prefix, const char *rest,
		       const struct context_ignore *ig, struct strvec *out,
		       struct petra_error **err)
{
	if (!*rest) {
		strvec_push(out, prefix);
		return 0;
	}
	const char *slash = strchr(rest, '/');
	_cleanup_free_ char *comp = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
	const char *next = slash ? slash + 1 : "";
	bool last = !*next;
	if (!context_has_wildcards(comp)) {
		_cleanup_free_ char *path = join_rel(prefix, comp);
		int fd = fs_open_in_root(root_fd, path, O_PATH);
		if (fd < 0)
			return 0;
		struct stat st;
		int sr = fstat(fd, &st);
		close(fd);
		if (sr < 0 || (!last && !S_ISDIR(st.st_mode)))
			return 0;
		return glob_expand(root_fd, path, next, ig, out, err);
	}
	int dfd = fs_open_in_root(root_fd, *prefix ? prefix : "/", O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return 0;
	_cleanup_close_ int dir = dfd;
	_cleanup_strvec_ struct strvec names = STRVEC_INIT;
	int r = read_sorted_names(dir, &names, prefix, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < names.n; i++) {
		if (fnmatch(comp, names.v[i], 0) != 0)
			continue;
		_cleanup_free_ char *path = join_rel(prefix, names.v[i]);
		struct stat st;
		if (fstatat(dir, names.v[i], &st, 0) < 0 &&
		    fstatat(dir, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		bool is_dir = S_ISDIR(st.st_mode);
		if (context_ignore_match(ig, path) &&
		    !(is_dir && context_ignore_may_include_below(ig, path)))
			continue;
		if (!last && !is_dir)
			continue;
		r = glob_expand(root_fd, path, next, ig, out, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int context_glob(int root_fd, const char *pattern, const struct context_ignore *ig,
		 struct strvec *matches, struct petra_error **err)
{
	_cleanup_free_ char *clean = context_clean_path(pattern);
	_cleanup_strvec_ struct strvec found = STRVEC_INIT;
	int r = glob_expand(root_fd, "", clean, ig, &found, err);
	if (r < 0)
		return r;
	strvec_sort(&found);
	for (size_t i = 0; i < found.n; i++)
		strvec_push(matches, found.v[i]);
	return 0;
}

/* ---- hashing ---- */

struct hash_ctx {
	struct oci_hasher *h;
	char *buf;
	uint64_t *entries;
};

static void hash_field(struct oci_hasher *h, const char *s)
{
	oci_hasher_update(h, s, strlen(s) + 1);
}

static int hash_entry(void *vctx, const struct context_entry *e, struct petra_error **err)
{
	struct hash_ctx *c = vctx;
	char meta[64];
	const struct stat *st = e->st;
	char type = S_ISDIR(st->st_mode)    ? 'd'
		    : S_ISREG(st->st_mode)  ? 'f'
		    : S_ISLNK(st->st_mode)  ? 'l'
		    : S_ISFIFO(st->st_mode) ? 'p'
					    : 'o';
	snprintf(meta, sizeof(meta), "%c %o %lld", type, (unsigned)(st->st_mode & 07777),
		 S_ISREG(st->st_mode) ? (long long)st->st_size : 0LL);
	hash_field(c->h, e->path);
	hash_field(c->h, meta);
	if (e->link)
		hash_field(c->h, e->link);
	if (c->entries)
		(*c->entries)++;
	if (!S_ISREG(st->st_mode))
		return 0;
	_cleanup_close_ int fd = context_entry_open(e, O_RDONLY);
	if (fd < 0) {
		_cleanup_free_ char *q = str_quote(*e->path ? e->path : ".");
		return petra_error_set_errno(err, errno, "%s: open", q);
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	off_t total = 0;
	for (;;) {
		ssize_t n = read(fd, c->buf, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			_cleanup_free_ char *q = str_quote(*e->path ? e->path : ".");
			return petra_error_set_errno(err, errno, "%s: read", q);
		}
		if (n == 0)
			break;
		oci_hasher_update(c->h, c->buf, (size_t)n);
		total += n;
	}
	/* A file that changes while it is hashed is hashed as it ended up;
	 * its length goes in too so no two contents collide. */
	snprintf(meta, sizeof(meta), "%lld", (long long)total);
	hash_field(c->h, meta);
	return 0;
}

int context_hash(struct oci_hasher *h, int root_fd, const char *path,
		 const struct context_ignore *ig, uint64_t *entries, struct petra_error **err)
{
	struct hash_ctx c = {h, xmalloc(HASH_CHUNK), entries};
	int r = context_walk(root_fd, path, ig, ig ? path : NULL, hash_entry, &c, err);
	free(c.buf);
	return r;
}
