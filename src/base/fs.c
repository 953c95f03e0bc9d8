/* SPDX-License-Identifier: Apache-2.0 */
/* File helpers: whole reads and writes, atomic replacement, safe removal. */
#include "base.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t fs_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int fs_read_file_at(int dirfd, const char *path, size_t max_size, char **data, size_t *len,
		    struct petra_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", path);
	struct strbuf sb = STRBUF_INIT;
	for (;;) {
		strbuf_grow(&sb, 65536);
		ssize_t n = read(fd, sb.buf + sb.len, sb.alloc - sb.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			strbuf_release(&sb);
			return petra_error_set_errno(err, e, "read %s", path);
		}
		if (n == 0) {
			/* An empty file's buffer too is a string. */
			sb.buf[sb.len] = '\0';
			break;
		}
		sb.len += (size_t)n;
		sb.buf[sb.len] = '\0';
		if (sb.len > max_size) {
			strbuf_release(&sb);
			return petra_error_set(err, EFBIG, "read %s: larger than %zu bytes", path,
					       max_size);
		}
	}
	if (len)
		*len = sb.len;
	*data = strbuf_detach(&sb);
	return 0;
}

int fs_tmpfile_at(int dirfd, const char *name, mode_t mode, char **tmp_name,
		  struct petra_error **err)
{
	const char *base = strrchr(name, '/');
	size_t dirlen = base ? (size_t)(base - name) + 1 : 0;
	base = base ? base + 1 : name;
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t r;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint64_t)getpid() * 2654435761u + (uint64_t)attempt +
			    (uint64_t)time(NULL);
		/* Keep the temp name short whatever the final name is. */
		char *tmp = xasprintf("%.*s.tmp-%.40s-%016llx", (int)dirlen, name, base,
				      (unsigned long long)r);
		int fd =
		    openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd >= 0) {
			*tmp_name = tmp;
			return fd;
		}
		int e = errno;
		free(tmp);
		if (e != EEXIST)
			return petra_error_set_errno(err, e, "create temporary file for %s", name);
	}
	return petra_error_set(err, EEXIST, "create temporary file for %s: too many collisions",
			       name);
}

int fs_fsync_dir_at(int dirfd, const char *path, struct petra_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open directory %s", path);
	if (fsync(fd) < 0 && errno != EINVAL)
		return petra_error_set_errno(err, errno, "fsync directory %s", path);
	return 0;
}

static char *dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == name)
		return xstrdup("/");
	return xstrndup(name, (size_t)(slash - name));
}

/* A device, a fifo or a socket cannot be replaced by a file: what writes
 * to it is the point (`-o /dev/null`, `-o /dev/stdout`, a pipe), and a
 * rename would put a regular file in its place for every other program
 * (this once made the host's /dev/null a file). It gets the data written
 * to it instead; atomicity has no meaning there. */
static int write_special_at(int dirfd, const char *name, const void *data, size_t len,
			    struct petra_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", name);
	int r = fs_write_all(fd, data, len);
	return r < 0 ? petra_error_set_errno(err, -r, "write %s", name) : 0;
}

int fs_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			    struct petra_error **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, 0) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ||
						  S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return write_special_at(dirfd, name, data, len, err);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_free_ char *dir = dir_of(name);
	_cleanup_close_ int fd = fs_tmpfile_at(dirfd, name, mode, &tmp, err);
	if (fd < 0)
		return fd;
	int r = fs_write_all(fd, data, len);
	if (r < 0)
		r = petra_error_set_errno(err, -r, "write %s", tmp);
	else if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
		r = petra_error_set_errno(err, errno, "sync %s", tmp);
	else if (renameat(dirfd, tmp, dirfd, name) < 0)
		r = petra_error_set_errno(err, errno, "rename %s to %s", tmp, name);
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return fs_fsync_dir_at(dirfd, dir, err);
}

int fs_mkdir_p(const char *path, mode_t mode, struct petra_error **err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return petra_error_set_errno(err, errno, "create directory %s", copy);
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return petra_error_set_errno(err, errno, "create directory %s", copy);
	struct stat st;
	if (stat(copy, &st) < 0)
		return petra_error_set_errno(err, errno, "stat %s", copy);
	if (!S_ISDIR(st.st_mode))
		return petra_error_set(err, ENOTDIR, "%s: not a directory", copy);
	return 0;
}

/* The kernel's struct statx. glibc 2.36 keeps stx_mnt_id in its padding, so
 * petra calls statx(2) with the kernel's layout, which is a stable ABI. */
struct kernel_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad1;
	uint64_t ino, size, blocks, attributes_mask;
	struct {
		int64_t sec;
		uint32_t nsec;
		int32_t pad;
	} atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint64_t spare[13];
};

int fs_mount_id_at(int dirfd, const char *name, uint64_t *id)
{
	struct kernel_statx sx;
	int flags = AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH);
	if (syscall(SYS_statx, dirfd, name, flags, STATX_MNT_ID, &sx) < 0)
		return -errno;
	if (!(sx.mask & STATX_MNT_ID))
		return -ENOTSUP;
	*id = sx.mnt_id;
	return 0;
}

/* Is dirfd/name on another mount than dirfd itself? Mount IDs tell bind
 * mounts of the same filesystem apart, which device numbers do not. */
static bool is_mount_point(int dirfd, const char *name, const struct stat *st, dev_t parent_dev)
{
	uint64_t parent_id, child_id;
	if (fs_mount_id_at(dirfd, "", &parent_id) == 0 &&
	    fs_mount_id_at(dirfd, name, &child_id) == 0)
		return parent_id != child_id;
	return st->st_dev != parent_dev;
}

/* Deeper than any real tree; bounds the descriptors and stack a removal
 * may use on a hostile one. */
#define REMOVE_MAX_DEPTH 4096

/* Remove everything inside the directory open at fd. `path` names it for
 * messages and is restored before returning. One descriptor per level. */
static int remove_children(int fd, struct strbuf *path, int depth, struct petra_error **err)
{
	if (depth > REMOVE_MAX_DEPTH)
		return petra_error_set(err, ELOOP, "remove %s: deeper than %d levels", path->buf,
				       REMOVE_MAX_DEPTH);
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return petra_error_set_errno(err, errno, "remove %s", path->buf);
	DIR *d = fdopendir(dupfd);
	if (!d) {
		int e = errno;
		close(dupfd);
		return petra_error_set_errno(err, e, "remove %s", path->buf);
	}
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		strvec_push(&names, de->d_name);
	}
	int read_errno = errno;
	closedir(d);
	if (read_errno) {
		strvec_clear(&names);
		return petra_error_set_errno(err, read_errno, "read directory %s", path->buf);
	}
	struct stat dir_st;
	if (fstat(fd, &dir_st) < 0) {
		strvec_clear(&names);
		return petra_error_set_errno(err, errno, "stat %s", path->buf);
	}
	size_t len = path->len;
	int r = 0;
	for (size_t i = 0; i < names.n && r == 0; i++) {
		const char *name = names.v[i];
		strbuf_setlen(path, len);
		strbuf_addch(path, '/');
		strbuf_addstr(path, name);
		if (unlinkat(fd, name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			r = petra_error_set_errno(err, errno, "remove %s", path->buf);
			break;
		}
		struct stat st;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = petra_error_set_errno(err, errno, "stat %s", path->buf);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = petra_error_set(err, EPERM, "remove %s: operation not permitted",
					    path->buf);
			break;
		}
		if (is_mount_point(fd, name, &st, dir_st.st_dev)) {
			r = petra_error_set(err, EXDEV, "remove %s: a mount point, not removed",
					    path->buf);
			break;
		}
		/* A directory we may not write into (0555) as non-root. */
		if ((st.st_mode & 0700) != 0700)
			fchmodat(fd, name, (st.st_mode & 07777) | 0700, 0);
		int child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (child < 0) {
			r = petra_error_set_errno(err, errno, "open %s", path->buf);
			break;
		}
		r = remove_children(child, path, depth + 1, err);
		close(child);
		if (r == 0 && unlinkat(fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = petra_error_set_errno(err, errno, "remove directory %s", path->buf);
	}
	strbuf_setlen(path, len);
	strvec_clear(&names);
	return r;
}

int fs_remove_tree_at(int dirfd, const char *name, struct petra_error **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return petra_error_set_errno(err, errno, "stat %s", name);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return petra_error_set_errno(err, errno, "remove %s", name);
		return 0;
	}
	struct stat parent_st;
	if (fstat(dirfd, &parent_st) == 0 && is_mount_point(dirfd, name, &st, parent_st.st_dev))
		return petra_error_set(err, EXDEV, "remove %s: a mount point, not removed", name);
	if ((st.st_mode & 0700) != 0700)
		fchmodat(dirfd, name, (st.st_mode & 07777) | 0700, 0);
	_cleanup_close_ int fd =
	    openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", name);
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	strbuf_addstr(&path, name);
	int r = remove_children(fd, &path, 1, err);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return petra_error_set_errno(err, errno, "remove directory %s", name);
	return 0;
}

int fs_hold_temporary(int fd)
{
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	/* A sweep that locked it first has unlinked it before letting go. */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	return st.st_nlink == 0 ? -ESTALE : 0;
}

static int add_file_size(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	if (!S_ISDIR(e->st.st_mode))
		*(uint64_t *)ctx += (uint64_t)e->st.st_size;
	return FS_WALK_CONTINUE;
}

void fs_sweep_temporaries(int dirfd, const char *prefix, bool remove, uint64_t *count,
			  uint64_t *bytes)
{
	DIR *d = fs_opendir_at(dirfd, ".");
	if (!d)
		return;
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			strvec_push(&names, de->d_name);
	closedir(d);
	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		_cleanup_close_ int fd =
		    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
		    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) ||
		    flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* held: its writer is alive */
		uint64_t size = 0;
		if (S_ISDIR(st.st_mode)) {
			static const struct fs_walk_ops ops = {.pre = add_file_size};
			fs_walk(fd, "", FS_WALK_SKIP_VANISHED, &ops, &size, NULL);
		} else {
			size = (uint64_t)st.st_size;
		}
		/* Removed while locked, so a writer that locks it after us sees
		 * it unlinked (fs_hold_temporary). */
		_cleanup_error_ struct petra_error *e = NULL;
		if (remove && fs_remove_tree_at(dirfd, name, &e) < 0) {
			log_warn("could not remove the stale temporary %s: %s", name, e->message);
			continue;
		}
		if (count)
			(*count)++;
		if (bytes)
			*bytes += size;
	}
	strvec_clear(&names);
}

int fs_copy_fd(int in_fd, int out_fd, uint64_t *copied, struct petra_error **err)
{
	uint64_t total = 0;
	bool use_copy_range = true;
	for (;;) {
		if (use_copy_range) {
			ssize_t n = copy_file_range(in_fd, NULL, out_fd, NULL, 1 << 30, 0);
			if (n > 0) {
				total += (uint64_t)n;
				continue;
			}
			if (n == 0)
				break;
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			    errno == EOPNOTSUPP || errno == EBADF) {
				use_copy_range = false;
				continue;
			}
			return petra_error_set_errno(err, errno, "copy");
		}
		char buf[131072];
		ssize_t n = read(in_fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return petra_error_set_errno(err, errno, "copy: read");
		}
		if (n == 0)
			break;
		int r = fs_write_all(out_fd, buf, (size_t)n);
		if (r < 0)
			return petra_error_set_errno(err, -r, "copy: write");
		total += (uint64_t)n;
	}
	if (copied)
		*copied = total;
	return 0;
}

DIR *fs_opendir_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

int fs_open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	long fd = syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

bool fs_user_namespace_is_initial(void)
{
	char buf[128];
	_cleanup_close_ int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : fs_read_full(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return true; /* no /proc: assume the host's */
	buf[n] = 0;
	/* One line, "0 0 4294967295": the whole id space, unshifted. */
	unsigned long inside, outside, count;
	char *newline = strchr(buf, '\n');
	return sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
	       outside == 0 && count == 4294967295UL && (!newline || !newline[1]);
}

uid_t fs_host_euid(void)
{
	uid_t euid = geteuid();
	_cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long inside, outside, count;
	while (f && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
		if (euid >= inside && euid - inside < count)
			return (uid_t)(outside + (euid - inside));
	return euid;
}
