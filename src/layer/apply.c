/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying a layer onto a directory, safely.
 *
 * The threat: a layer is untrusted input. Its entries may try to write
 * outside the target through "../" components, absolute names, a symlink
 * planted earlier ("lib -> /etc", then "lib/passwd"), a hardlink to a host
 * file, or a whiteout that names "..". The defence has three parts:
 *
 *  1. Names are cleaned first: absolute names and ".." components are
 *     refused outright (layer_clean_path).
 *  2. Every parent directory is opened component by component from the
 *     target's file descriptor, never by a host path. A symlink met on the
 *     way is followed the way it would be inside the container (absolute
 *     targets start again at the target root); one whose target climbs
 *     above the root is refused. The fast path is a single openat2() with
 *     RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, which the kernel guarantees stays
 *     below the root; anything it cannot do takes the careful walk.
 *  3. The last component is always created with *at() calls relative to
 *     that parent and O_NOFOLLOW/O_EXCL semantics: an existing entry is
 *     removed first, never written through.
 *
 * Nothing here uses a path that is not relative to a directory descriptor
 * inside the target, so nothing outside it can be touched.
 */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define MAX_SYMLINK_HOPS 40
/* Limits that no real image comes near and that bound the work a hostile
 * layer can cause: the depth of a path (its components, after symlinks),
 * and the components one resolution may walk in all, symlinks included. */
#define MAX_DEPTH   1024
#define MAX_WALK    4096
#define CACHE_SLOTS 8

struct dir_times {
	char *path;
	struct timespec mtime;
};

struct cached_dir {
	char *path; /* NULL: empty slot */
	int fd;
};

struct applier {
	int root_fd;
	uint64_t root_mount; /* 0 when the kernel cannot tell mount IDs */
	unsigned flags;
	unsigned setid_stripped;
	bool chown;
	uid_t euid;
	gid_t egid;
	struct strset seen; /* every path this layer wrote */
	/* Directories an opaque marker of this layer must keep: parents it
	 * created implicitly, and every ancestor of a path it wrote. */
	struct strset kept_dirs;
	/* Resolved parent directories; consecutive entries share them. Any
	 * removal empties it: a removed symlink or directory may be part of a
	 * cached path. */
	struct cached_dir cache[CACHE_SLOTS];
	unsigned cache_next;
	struct dir_times *dirs;
	size_t n_dirs, alloc_dirs;
	bool warned_xattr;
	bool have_openat2;
};

/* ---- resolving directories inside the root ---- */

static void cache_drop(struct applier *ap)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (ap->cache[i].path)
			close(ap->cache[i].fd);
		free(ap->cache[i].path);
		ap->cache[i].path = NULL;
	}
}

static int cache_lookup(struct applier *ap, const char *dir)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		if (ap->cache[i].path && !strcmp(ap->cache[i].path, dir))
			return ap->cache[i].fd;
	return -1;
}

static int cache_insert(struct applier *ap, const char *dir, int fd)
{
	struct cached_dir *slot = &ap->cache[ap->cache_next++ % CACHE_SLOTS];
	if (slot->path) {
		close(slot->fd);
		free(slot->path);
	}
	slot->path = xstrdup(dir);
	slot->fd = fd;
	return fd;
}

static int open_beneath(struct applier *ap, const char *path)
{
	if (!ap->have_openat2)
		return -ENOSYS;
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, ap->root_fd, path, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ENOSYS || errno == EPERM) /* old kernel, or seccomp */
			ap->have_openat2 = false;
		return -errno;
	}
	return (int)fd;
}

/* Push the components of `path` onto the front of the work list. */
static void push_components(struct strvec *todo, const char *path)
{
	struct strvec parts = STRVEC_INIT;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len)
			strvec_push_nodup(&parts, xstrndup(p, len));
		p += len;
	}
	/* todo is used as a stack: its last element is the next component. */
	for (size_t i = parts.n; i > 0; i--)
		strvec_push_nodup(todo, steal_pointer(&parts.v[i - 1]));
	strvec_clear(&parts);
}

static char *pop_component(struct strvec *todo)
{
	char *c = todo->v[--todo->n];
	todo->v[todo->n] = NULL;
	return c;
}

static char *join_components(const struct strvec *parts)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < parts->n; i++) {
		if (i)
			strbuf_addch(&sb, '/');
		strbuf_addstr(&sb, parts->v[i]);
	}
	return strbuf_detach(&sb);
}

/* The careful walk: one component at a time, symlinks followed as they
 * would be inside the root, missing directories created when asked, and
 * refused: a climb above the root, a mount point, too deep a path, too
 * much work. *through_symlink tells whether a symlink was followed. */
static int walk_dir(struct applier *ap, const char *dir, bool create, bool *through_symlink,
		    struct petra_error **err)
{
	struct strvec todo = STRVEC_INIT;    /* components still to resolve */
	struct strvec lexical = STRVEC_INIT; /* where we are, from the root */
	push_components(&todo, dir);
	int cur = -1; /* -1 means the root itself */
	int hops = 0, walked = 0, r = 0;
	_cleanup_free_ char *q = str_quote(dir);
	*through_symlink = false;
	while (todo.n > 0) {
		_cleanup_free_ char *c = pop_component(&todo);
		if (++walked > MAX_WALK || lexical.n >= MAX_DEPTH) {
			r = petra_error_set(err, ENAMETOOLONG,
					    "%s: path too deep (more than %d levels)", q,
					    MAX_DEPTH);
			goto out;
		}
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (lexical.n == 0) {
				r = petra_error_set(err, EXDEV,
						    "%s: a symlink leads out of the root", q);
				goto out;
			}
			free(pop_component(&lexical));
			if (cur >= 0)
				close(cur);
			cur = -1;
			if (lexical.n > 0) {
				_cleanup_free_ char *up = join_components(&lexical);
				/* Every component of `lexical` was checked to be a real
				 * directory a moment ago, and only this process writes here. */
				cur = openat(ap->root_fd, up,
					     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cur < 0) {
					r = petra_error_set_errno(err, errno, "reopen %s", up);
					goto out;
				}
			}
			continue;
		}
		int base = cur >= 0 ? cur : ap->root_fd;
		struct stat st;
		if (fstatat(base, c, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			int e = errno;
			if (e != ENOENT || !create) {
				r = petra_error_set_errno(err, e, "%s", q);
				goto out;
			}
			if (mkdirat(base, c, 0755) < 0 && errno != EEXIST) {
				r = petra_error_set_errno(err, errno, "create parent of %s", q);
				goto out;
			}
			/* A directory this layer created implicitly: an opaque
			 * marker in the same layer must not remove it. */
			_cleanup_strbuf_ struct strbuf made = STRBUF_INIT;
			for (size_t i = 0; i < lexical.n; i++) {
				strbuf_addstr(&made, lexical.v[i]);
				strbuf_addch(&made, '/');
			}
			strbuf_addstr(&made, c);
			strset_add(&ap->kept_dirs, made.buf);
			if (fstatat(base, c, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				r = petra_error_set_errno(err, errno, "stat %s", c);
				goto out;
			}
		}
		if (S_ISLNK(st.st_mode)) {
			*through_symlink = true;
			if (++hops > MAX_SYMLINK_HOPS) {
				r = petra_error_set(err, ELOOP,
						    "%s: too many levels of symbolic links", q);
				goto out;
			}
			char target[4096];
			ssize_t n = readlinkat(base, c, target, sizeof(target) - 1);
			if (n < 0) {
				r = petra_error_set_errno(err, errno, "read symlink %s", c);
				goto out;
			}
			target[n] = '\0';
			if (target[0] == '/') {
				/* Inside the container an absolute link starts at its root. */
				if (cur >= 0)
					close(cur);
				cur = -1;
				strvec_clear(&lexical);
			}
			push_components(&todo, target);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = petra_error_set(err, ENOTDIR, "%s: \"%s\" is not a directory", q, c);
			goto out;
		}
		int next = openat(base, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			r = petra_error_set_errno(err, errno, "open %s", c);
			goto out;
		}
		uint64_t mount;
		if (ap->root_mount && fs_mount_id_at(next, "", &mount) == 0 &&
		    mount != ap->root_mount) {
			close(next);
			r = petra_error_set(err, EXDEV, "%s: \"%s\" is a mount point", q, c);
			goto out;
		}
		if (cur >= 0)
			close(cur);
		cur = next;
		strvec_push_nodup(&lexical, steal_pointer(&c));
	}
	if (cur < 0) {
		cur = fcntl(ap->root_fd, F_DUPFD_CLOEXEC, 3);
		if (cur < 0) {
			r = petra_error_set_errno(err, errno, "%s", q);
			goto out;
		}
	}
	r = cur;
	cur = -1;
out:
	if (cur >= 0)
		close(cur);
	strvec_clear(&todo);
	strvec_clear(&lexical);
	return r;
}

/* A borrowed descriptor of directory `dir` ("" is the root), valid until
 * the next cache_drop (any removal) or CACHE_SLOTS further lookups. */
static int resolve_dir(struct applier *ap, const char *dir, bool create, struct petra_error **err)
{
	if (!*dir)
		return ap->root_fd;
	int fd = cache_lookup(ap, dir);
	if (fd >= 0)
		return fd;
	fd = open_beneath(ap, dir);
	if (fd < 0) {
		bool via_symlink;
		fd = walk_dir(ap, dir, create, &via_symlink, err);
	}
	if (fd < 0)
		return fd;
	return cache_insert(ap, dir, fd);
}

/* Does resolving `dir` follow a symlink? (Opaque markers must not act
 * through one: they would empty a directory this layer did not name.) */
static int dir_has_symlink(struct applier *ap, const char *dir, struct petra_error **err)
{
	if (!*dir)
		return 0;
	int fd = open_beneath(ap, dir);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	bool via_symlink;
	fd = walk_dir(ap, dir, true, &via_symlink, err);
	if (fd < 0)
		return fd;
	close(fd);
	return via_symlink ? 1 : 0;
}

/* ---- writing entries ---- */

static void split_path(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	*dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	*base = slash ? slash + 1 : path;
}

/* Remove whatever is at parent/name so an entry can take its place. */
static int remove_existing(struct applier *ap, int parent, const char *name, const char *path,
			   struct petra_error **err)
{
	/* Whatever goes may be a component of a cached path (a symlink, a
	 * directory): the caller resolves its parent again. */
	if (unlinkat(parent, name, 0) == 0) {
		cache_drop(ap);
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: remove the existing entry", q);
	}
	/* A directory: its contents go too (never across a mount point). */
	int dup = fcntl(parent, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return petra_error_set_errno(err, errno, "remove %s", path);
	cache_drop(ap);
	int r = fs_remove_tree_at(dup, name, err);
	close(dup);
	return r;
}

/* Creating an entry: one *at() call relative to its parent directory. */
struct creation {
	enum { CREATE_FILE, CREATE_SYMLINK, CREATE_NODE, CREATE_LINK } kind;
	const char *target; /* symlink target, or hardlink target's name */
	int target_dir;     /* hardlink target's directory */
	mode_t mode;        /* node type and permissions */
	dev_t dev;
	int fd; /* out: the new file, for CREATE_FILE */
};

static int try_create(int parent, const char *name, struct creation *c)
{
	int r = 0;
	switch (c->kind) {
	case CREATE_FILE:
		c->fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600);
		r = c->fd < 0 ? -1 : 0;
		break;
	case CREATE_SYMLINK:
		r = symlinkat(c->target, parent, name);
		break;
	case CREATE_NODE:
		r = mknodat(parent, name, c->mode, c->dev);
		break;
	case CREATE_LINK:
		r = linkat(c->target_dir, c->target, parent, name, 0);
		break;
	}
	return r < 0 ? -errno : 0;
}

/* Create the last component of `path` in *parent. Whatever is there
 * already (from a lower layer) is removed first and never written through.
 * *parent is refreshed: removing a directory drops the cached descriptor. */
static int create_replacing(struct applier *ap, const char *path, const char *what,
			    struct creation *c, int *parent, struct petra_error **err)
{
	_cleanup_free_ char *dir = NULL;
	const char *name;
	split_path(path, &dir, &name);
	int e = try_create(*parent, name, c);
	if (e == -EEXIST) {
		e = remove_existing(ap, *parent, name, path, err);
		if (e < 0)
			return e;
		*parent = resolve_dir(ap, dir, true, err);
		if (*parent < 0)
			return *parent;
		e = try_create(*parent, name, c);
	}
	if (e < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, -e, "%s: %s", q, what);
	}
	return 0;
}

static void warn_xattr(struct applier *ap, const char *name, int e)
{
	if (ap->warned_xattr)
		return;
	ap->warned_xattr = true;
	log_warn("some extended attributes could not be set (first: %s: %s)", name, strerror(e));
}

/* Which extended attributes a layer may set. Never the overlayfs ones
 * (trusted.overlay.*, user.overlay.*): extracted layers become overlay
 * lower directories, where a planted "redirect" or "opaque" would show
 * files of another layer or hide this one's. Never other trusted.* (kernel
 * and daemon internals) nor security.* but file capabilities: SELinux and
 * IMA labels belong to the host. user.* only, when not root. */
static bool xattr_allowed(const struct applier *ap, const char *key)
{
	if (!strncmp(key, "user.", 5))
		return strncmp(key, "user.overlay.", 13) != 0;
	return ap->chown && !strcmp(key, "security.capability");
}

static void apply_xattrs(struct applier *ap, struct archive_entry *entry, int fd, int parent,
			 const char *name)
{
	if (archive_entry_xattr_reset(entry) == 0)
		return;
	const char *key;
	const void *value;
	size_t size;
	while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
		if (!xattr_allowed(ap, key))
			continue;
		int r;
		if (fd >= 0) {
			r = fsetxattr(fd, key, value, size, 0);
		} else {
			/* A symlink: there is no lsetxattrat; name it through the parent. */
			char *p = xasprintf("/proc/self/fd/%d/%s", parent, name);
			r = lsetxattr(p, key, value, size, 0);
			free(p);
		}
		if (r < 0)
			warn_xattr(ap, key, errno);
	}
}

/* atime and mtime both from the entry's mtime. */
static void entry_times(struct archive_entry *entry, struct timespec times[2])
{
	times[0].tv_sec = times[1].tv_sec = archive_entry_mtime(entry);
	times[0].tv_nsec = times[1].tv_nsec = archive_entry_mtime_nsec(entry);
}

static int set_owner_mode_times(struct applier *ap, struct archive_entry *entry, int fd,
				mode_t mode, const char *path, struct petra_error **err)
{
	uid_t uid = (uid_t)archive_entry_uid(entry);
	gid_t gid = (gid_t)archive_entry_gid(entry);
	if (ap->chown && (uid != ap->euid || gid != ap->egid) && fchown(fd, uid, gid) < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: chown %u:%u", q, uid, gid);
	}
	/* Without ownership the file belongs to us: a setuid bit meant for
	 * another user would make it setuid to us (root, with --no-ownership). */
	if (!ap->chown && uid != ap->euid)
		mode &= ~(mode_t)S_ISUID;
	if (!ap->chown && gid != ap->egid)
		mode &= ~(mode_t)S_ISGID;
	/* After chown, which clears setuid bits. */
	if (fchmod(fd, mode) < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: chmod %04o", q, mode);
	}
	struct timespec times[2];
	entry_times(entry, times);
	if (fd >= 0 && futimens(fd, times) < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: set times", q);
	}
	return 0;
}

static int write_regular(struct applier *ap, struct layer_reader *r, struct archive_entry *entry,
			 int parent, const char *path, struct petra_error **err)
{
	struct creation c = {.kind = CREATE_FILE, .fd = -1};
	int e = create_replacing(ap, path, "create", &c, &parent, err);
	if (e < 0)
		return e;
	_cleanup_close_ int file = c.fd;
	int64_t size = archive_entry_size(entry);
	int64_t end = 0;
	for (;;) {
		const void *data;
		size_t len;
		int64_t offset;
		e = layer_reader_data_block(r, &data, &len, &offset, err);
		if (e < 0)
			return e;
		if (e == 0)
			break;
		if (len == 0)
			continue;
		if (offset != end && lseek(file, offset, SEEK_SET) < 0) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set_errno(err, errno, "%s: seek", q);
		}
		e = fs_write_all(file, data, len);
		if (e < 0) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set_errno(err, -e, "%s: write", q);
		}
		end = offset + (int64_t)len;
	}
	/* A sparse file may end in a hole. */
	if (end < size && ftruncate(file, size) < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: truncate", q);
	}
	mode_t mode = archive_entry_perm(entry) & 07777;
	if ((ap->flags & LAYER_APPLY_STRIP_SETID) && (mode & (S_ISUID | S_ISGID))) {
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
		ap->setid_stripped++;
	}
	e = set_owner_mode_times(ap, entry, file, mode, path, err);
	if (e < 0)
		return e;
	apply_xattrs(ap, entry, file, -1, NULL);
	return 0;
}

static int write_directory(struct applier *ap, struct archive_entry *entry, int parent,
			   const char *name, const char *path, struct petra_error **err)
{
	if (mkdirat(parent, name, 0700) < 0) {
		if (errno != EEXIST) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set_errno(err, errno, "%s: create directory", q);
		}
		struct stat st;
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set_errno(err, errno, "%s: stat", q);
		}
		if (!S_ISDIR(st.st_mode)) {
			int e = remove_existing(ap, parent, name, path, err);
			if (e < 0)
				return e;
			_cleanup_free_ char *dir = NULL;
			const char *base;
			split_path(path, &dir, &base);
			parent = resolve_dir(ap, dir, true, err);
			if (parent < 0)
				return parent;
			if (mkdirat(parent, name, 0700) < 0) {
				_cleanup_free_ char *q = str_quote(path);
				return petra_error_set_errno(err, errno, "%s: create directory", q);
			}
		}
	}
	_cleanup_close_ int fd =
	    openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: open directory", q);
	}
	mode_t mode = archive_entry_perm(entry) & 07777;
	/* Without root, a directory must stay writable for us to fill it. */
	if (!ap->chown)
		mode |= 0700;
	/* Times are set again at the end of the layer: adding children
	 * changes them. */
	int r = set_owner_mode_times(ap, entry, fd, mode, path, err);
	if (r < 0)
		return r;
	apply_xattrs(ap, entry, fd, -1, NULL);
	xgrow((void **)&ap->dirs, &ap->alloc_dirs, ap->n_dirs + 1, sizeof(*ap->dirs));
	ap->dirs[ap->n_dirs].path = xstrdup(path);
	ap->dirs[ap->n_dirs].mtime =
	    (struct timespec){archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
	ap->n_dirs++;
	return 0;
}

static int write_symlink(struct applier *ap, struct archive_entry *entry, int parent,
			 const char *name, const char *path, struct petra_error **err)
{
	const char *target = archive_entry_symlink(entry);
	if (!target || !*target) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL, "%s: symlink without a target", q);
	}
	struct creation c = {.kind = CREATE_SYMLINK, .target = target};
	int e = create_replacing(ap, path, "create symlink", &c, &parent, err);
	if (e < 0)
		return e;
	uid_t uid = (uid_t)archive_entry_uid(entry);
	gid_t gid = (gid_t)archive_entry_gid(entry);
	if (ap->chown && (uid != ap->euid || gid != ap->egid) &&
	    fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: chown", q);
	}
	struct timespec times[2];
	entry_times(entry, times);
	utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW);
	apply_xattrs(ap, entry, -1, parent, name);
	return 0;
}

static int write_hardlink(struct applier *ap, struct archive_entry *entry, const char *path,
			  struct petra_error **err)
{
	_cleanup_free_ char *target = NULL;
	int e = layer_clean_path(archive_entry_hardlink(entry), &target, err);
	if (e < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_prefix(err, "%s: hardlink target", q);
	}
	if (!*target || !strcmp(target, path)) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL, "%s: hardlink to itself or to the root", q);
	}
	_cleanup_free_ char *tdir = NULL, *dir = NULL;
	const char *tbase, *base;
	split_path(target, &tdir, &tbase);
	split_path(path, &dir, &base);
	int tparent = resolve_dir(ap, tdir, false, err);
	if (tparent < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_prefix(err, "%s: hardlink target", q);
	}
	_cleanup_close_ int tparent_own = fcntl(tparent, F_DUPFD_CLOEXEC, 3);
	struct stat st;
	if (tparent_own < 0 || fstatat(tparent_own, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		_cleanup_free_ char *q = str_quote(path), *tq = str_quote(target);
		return petra_error_set(err, ENOENT, "%s: hardlink target %s does not exist", q, tq);
	}
	if (S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EPERM, "%s: hardlink to a directory", q);
	}
	int parent = resolve_dir(ap, dir, true, err);
	if (parent < 0)
		return parent;
	struct creation c = {.kind = CREATE_LINK, .target = tbase, .target_dir = tparent_own};
	return create_replacing(ap, path, "create hardlink", &c, &parent, err);
}

static int write_special(struct applier *ap, struct archive_entry *entry, int parent,
			 const char *name, const char *path, struct petra_error **err)
{
	mode_t type = archive_entry_filetype(entry);
	dev_t dev = 0;
	if (type == AE_IFCHR || type == AE_IFBLK) {
		if (!(ap->flags & LAYER_APPLY_ALLOW_DEVICES)) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set(err, EPERM,
					       "%s: %s device node %u:%u refused (devices have no "
					       "place in an immutable image)",
					       q, type == AE_IFCHR ? "character" : "block",
					       (unsigned)archive_entry_rdevmajor(entry),
					       (unsigned)archive_entry_rdevminor(entry));
		}
		dev = makedev(archive_entry_rdevmajor(entry), archive_entry_rdevminor(entry));
	}
	mode_t mode = archive_entry_perm(entry) & 07777;
	struct creation c = {.kind = CREATE_NODE, .mode = type | (mode & 0777), .dev = dev};
	int e = create_replacing(ap, path, "create special file", &c, &parent, err);
	if (e < 0)
		return e;
	/* A FIFO or device is never opened (that could block, or touch
	 * hardware): ownership and mode are set through the parent. */
	uid_t uid = (uid_t)archive_entry_uid(entry);
	gid_t gid = (gid_t)archive_entry_gid(entry);
	if (ap->chown && fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: chown", q);
	}
	if (fchmodat(parent, name, mode, 0) < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: chmod", q);
	}
	struct timespec times[2];
	entry_times(entry, times);
	utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* ---- whiteouts ---- */

/* Overlay mode: record the whiteout for overlayfs instead of applying it. */
static int overlay_whiteout(struct applier *ap, const char *dir, const char *victim,
			    struct petra_error **err)
{
	int parent = resolve_dir(ap, dir, true, err);
	if (parent < 0)
		return parent;
	_cleanup_free_ char *victim_path = *dir ? path_join(dir, victim) : xstrdup(victim);
	struct creation c = {.kind = CREATE_NODE, .mode = S_IFCHR | 0000, .dev = makedev(0, 0)};
	return create_replacing(ap, victim_path, "create overlay whiteout", &c, &parent, err);
}

/* An owned, readable descriptor of directory `dir` (created if missing). */
static int open_dir(struct applier *ap, const char *dir, struct petra_error **err)
{
	int parent = resolve_dir(ap, dir, true, err);
	if (parent < 0)
		return parent;
	int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", dir);
	return fd;
}

static int overlay_opaque(struct applier *ap, const char *dir, struct petra_error **err)
{
	_cleanup_close_ int fd = open_dir(ap, dir, err);
	if (fd < 0)
		return fd;
	/* Root of a user namespace of its own cannot set trusted.* (and its
	 * overlay mounts read user.*, with userxattr). */
	const char *key = ap->euid == 0 && fs_user_namespace_is_initial() ? "trusted.overlay.opaque"
									  : "user.overlay.opaque";
	if (fsetxattr(fd, key, "y", 1, 0) < 0) {
		_cleanup_free_ char *q = str_quote(*dir ? dir : "/");
		return petra_error_set_errno(err, errno, "%s: set %s", q, key);
	}
	return 0;
}

static int whiteout(struct applier *ap, const char *dir, const char *victim, const char *path,
		    struct petra_error **err)
{
	if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..")) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL, "%s: whiteout names \"%s\"", q, victim);
	}
	_cleanup_error_ struct petra_error *lookup = NULL;
	int parent = resolve_dir(ap, dir, false, &lookup);
	if (parent < 0) {
		/* Nothing to hide when the directory is not there; an escape
		 * attempt is still an error. */
		if (parent == -ENOENT || parent == -ENOTDIR)
			return 0;
		*err = steal_pointer(&lookup);
		return parent;
	}
	int fd = fcntl(parent, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "whiteout");
	cache_drop(ap);
	int r = fs_remove_tree_at(fd, victim, err);
	close(fd);
	return r;
}

/* An entry below an opaque directory: removed unless this layer wrote it
 * (or a directory of it) itself. */
static int opaque_clean_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	struct applier *ap = ctx;
	if (strset_contains(&ap->seen, e->path) || strset_contains(&ap->kept_dirs, e->path))
		return FS_WALK_CONTINUE;
	int r = fs_remove_tree_at(e->dirfd, e->name, err);
	return r < 0 ? r : FS_WALK_PRUNE;
}

/* Remove everything below directory fd (path `dir`) that this layer did
 * not write itself. */
static int opaque_clean(struct applier *ap, int fd, const char *dir, struct petra_error **err)
{
	static const struct fs_walk_ops ops = {.pre = opaque_clean_entry};
	return fs_walk(fd, dir, 0, &ops, ap, err);
}

static int opaque(struct applier *ap, const char *dir, struct petra_error **err)
{
	int via = dir_has_symlink(ap, dir, err);
	if (via < 0)
		return via;
	if (via) {
		_cleanup_free_ char *q = str_quote(dir);
		return petra_error_set(
		    err, EINVAL, "%s: opaque marker in a directory reached through a symlink", q);
	}
	_cleanup_close_ int fd = open_dir(ap, dir, err);
	if (fd < 0)
		return fd;
	cache_drop(ap);
	return opaque_clean(ap, fd, dir, err);
}

/* ---- the entry loop ---- */

/* Every directory above a path this layer writes survives the layer's own
 * opaque markers (it holds what the layer put there). Stops at the first
 * ancestor already kept: its own ancestors are kept too. */
static void keep_ancestors(struct applier *ap, const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		*slash = '\0';
		if (!strset_add(&ap->kept_dirs, dir))
			break;
	}
}

static int apply_entry(struct applier *ap, struct layer_reader *r, struct archive_entry *entry,
		       struct petra_error **err)
{
	_cleanup_free_ char *path = NULL;
	int e = layer_clean_path(archive_entry_pathname(entry), &path, err);
	if (e < 0)
		return e;
	size_t depth = *path ? 1 : 0;
	for (const char *p = path; *p; p++)
		depth += *p == '/';
	if (depth > MAX_DEPTH) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, ENAMETOOLONG, "%s: path too deep (more than %d levels)",
				       q, MAX_DEPTH);
	}
	if (!strset_add(&ap->seen, path)) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL, "%s: duplicate entry", q);
	}
	keep_ancestors(ap, path);
	mode_t type = archive_entry_filetype(entry);
	if (!*path) {
		/* The root itself: only its metadata can change. */
		if (type != AE_IFDIR)
			return petra_error_set(err, EINVAL, "the root entry is not a directory");
		_cleanup_close_ int fd =
		    openat(ap->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return petra_error_set_errno(err, errno, "open the root");
		mode_t mode = archive_entry_perm(entry) & 07777;
		return set_owner_mode_times(ap, entry, fd, ap->chown ? mode : mode | 0700, "/",
					    err);
	}
	_cleanup_free_ char *dir = NULL;
	const char *base;
	split_path(path, &dir, &base);
	if (!strncmp(base, ".wh.", 4)) {
		bool overlay = ap->flags & LAYER_APPLY_OVERLAY;
		if (!strcmp(base, ".wh..wh..opq"))
			return overlay ? overlay_opaque(ap, dir, err) : opaque(ap, dir, err);
		if (!strncmp(base, ".wh..wh.", 8))
			return 0; /* aufs bookkeeping, meaningless here */
		const char *victim = base + 4;
		if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..")) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set(err, EINVAL, "%s: whiteout names \"%s\"", q, victim);
		}
		return overlay ? overlay_whiteout(ap, dir, victim, err)
			       : whiteout(ap, dir, victim, path, err);
	}
	if (archive_entry_hardlink(entry))
		return write_hardlink(ap, entry, path, err);
	int parent = resolve_dir(ap, dir, true, err);
	if (parent < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_prefix(err, "%s", q);
	}
	switch (type) {
	case AE_IFREG:
		return write_regular(ap, r, entry, parent, path, err);
	case AE_IFDIR:
		return write_directory(ap, entry, parent, base, path, err);
	case AE_IFLNK:
		return write_symlink(ap, entry, parent, base, path, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return write_special(ap, entry, parent, base, path, err);
	default: {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL, "%s: unsupported entry type 0%o", q, type);
	}
	}
}

static void restore_dir_times(struct applier *ap)
{
	for (size_t i = ap->n_dirs; i > 0; i--) {
		struct dir_times *d = &ap->dirs[i - 1];
		_cleanup_free_ char *dir = NULL;
		const char *base;
		split_path(d->path, &dir, &base);
		_cleanup_error_ struct petra_error *ignored = NULL;
		int parent = resolve_dir(ap, dir, false, &ignored);
		if (parent < 0)
			continue; /* removed later in the same layer */
		struct timespec times[2] = {d->mtime, d->mtime};
		utimensat(parent, base, times, AT_SYMLINK_NOFOLLOW);
	}
}

int layer_apply(struct layer_reader *r, int root_fd, const struct layer_apply_options *options,
		struct petra_error **err)
{
	struct applier ap = {
	    .root_fd = root_fd,
	    .flags = options ? options->flags : 0,
	    .euid = geteuid(),
	    .egid = getegid(),
	    .have_openat2 = true,
	};
	ap.chown = ap.euid == 0 && !(ap.flags & LAYER_APPLY_NO_OWNERSHIP);
	if (fs_mount_id_at(root_fd, "", &ap.root_mount) < 0)
		ap.root_mount = 0;
	int e;
	for (;;) {
		struct archive_entry *entry;
		e = layer_reader_next(r, &entry, err);
		if (e <= 0)
			break;
		e = apply_entry(&ap, r, entry, err);
		if (e < 0)
			break;
	}
	if (e == 0) {
		restore_dir_times(&ap);
		e = layer_reader_finish(r, err);
	}
	if (e == 0 && options && options->setid_stripped)
		*options->setid_stripped += ap.setid_stripped;
	cache_drop(&ap);
	strset_clear(&ap.seen);
	strset_clear(&ap.kept_dirs);
	for (size_t i = 0; i < ap.n_dirs; i++)
		free(ap.dirs[i].path);
	free(ap.dirs);
	return e;
}
