/* SPDX-License-Identifier: Apache-2.0 */
/*
 * petra-copy SRC DST: copy what directory SRC holds into the existing
 * directory DST, recursively, as `cp -a SRC/. DST/` does: directories,
 * regular files, symbolic links, modes and modification times kept;
 * owners kept where the caller may set them (root), else the caller's.
 * Other file types (devices, fifos, sockets) are left out with a message.
 * What DST already has is overwritten, as cp does: the kubelet runs init
 * containers again when a pod's sandbox is recreated, and the emptyDir
 * is still there with the first copy (podman runs them on every start).
 *
 * It is the copy step of `petra deploy kubernetes` for a writable path
 * marked "copy" in an image that has no cp of its own: Kubernetes never
 * fills an emptyDir with image content, so an init container does it.
 * petra adds this program to the image's layers as one small layer at
 * /.petra/copy (the helper image); it runs inside that root, which need
 * not have a libc at all, so it is linked statically against libc alone
 * and uses nothing else.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

static void complain(const char *what, const char *path)
{
	fprintf(stderr, "petra-copy: %s: %s: %s\n", what, path, strerror(errno));
	failures++;
}

/* Owner, mode and times of `name` in dirfd after its content is there. */
static void keep_metadata(int dirfd, const char *name, const struct stat *st, bool link,
			  const char *path)
{
	int flags = link ? AT_SYMLINK_NOFOLLOW : 0;
	/* Another owner needs CAP_CHOWN: as the service's user, the copy is
	 * the user's, as cp -a leaves it. */
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, flags) < 0 && errno != EPERM)
		complain("chown", path);
	if (!link && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		complain("chmod", path);
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (utimensat(dirfd, name, times, flags) < 0)
		complain("set times of", path);
}

static int copy_file(int sfd, int dfd, const char *name, const struct stat *st, const char *path)
{
	int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return complain("open", path), -1;
	int out = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		complain("create", path);
		close(in);
		return -1;
	}
	char buf[1 << 16];
	ssize_t n;
	int r = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0) {
				complain("write", path);
				r = -1;
				break;
			}
			done += w;
		}
		if (r < 0)
			break;
	}
	if (n < 0)
		complain("read", path), r = -1;
	close(in);
	if (close(out) < 0 && r == 0)
		complain("close", path), r = -1;
	if (r == 0)
		keep_metadata(dfd, name, st, false, path);
	return r;
}

static void copy_dir(int sfd, int dfd, const char *path);

static void copy_entry(int sfd, int dfd, const char *name, const char *parent)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", parent, name);
	struct stat st;
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		complain("stat", path);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST) {
			complain("mkdir", path);
			return;
		}
		int s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			complain("open", path);
		else
			copy_dir(s, d, path);
		if (s >= 0)
			close(s);
		if (d >= 0)
			close(d);
		keep_metadata(dfd, name, &st, false, path);
	} else if (S_ISREG(st.st_mode)) {
		copy_file(sfd, dfd, name, &st, path);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			complain("readlink", path);
			return;
		}
		target[n] = '\0';
		int made = symlinkat(target, dfd, name);
		if (made < 0 && errno == EEXIST && unlinkat(dfd, name, 0) == 0)
			made = symlinkat(target, dfd, name);
		if (made < 0)
			complain("symlink", path);
		else
			keep_metadata(dfd, name, &st, true, path);
	} else {
		fprintf(stderr, "petra-copy: %s: not a file, directory or link: left out\n", path);
	}
}

static void copy_dir(int sfd, int dfd, const char *path)
{
	int fd = dup(sfd);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		complain("read directory", path);
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			copy_entry(sfd, dfd, de->d_name, path);
	closedir(dir);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: petra-copy SRC DST (copies what SRC holds into DST, as cp -a "
		      "SRC/. DST/)\n",
		      stderr);
		return 2;
	}
	int s = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s < 0)
		return complain("open", argv[1]), 1;
	int d = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return complain("open", argv[2]), 1;
	copy_dir(s, d, argv[1]);
	/* The top directory's mode too, as cp -a SRC/. DST/ gives DST. */
	struct stat st;
	if (fstat(s, &st) == 0 && fchmod(d, st.st_mode & 07777) < 0 && errno != EPERM)
		complain("chmod", argv[2]);
	return failures ? 1 : 0;
}
