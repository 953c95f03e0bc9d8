/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing layers: entries -> libarchive (pax tar) -> hash (diff_id) ->
 * compress -> blob writer (hash = digest, temp file, fsync, rename).
 * Compression and what follows it run in a thread of their own, one
 * chunk behind the tar stream (the two halves cost about the same).
 *
 * Reproducible by construction: trees are walked with children sorted by
 * name, user and group names are left empty, access and change times are
 * never written, sub-second mtimes are dropped, and mtimes are clamped to
 * SOURCE_DATE_EPOCH when asked. The same tree gives the same diff_id, and
 * with the same compressor the same digest, on every run.
 */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define TAR_BUFFER (256u << 10)
#define FILE_CHUNK (1u << 20)

struct hardlink {
	dev_t dev;
	ino_t ino;
	char *path; /* NULL: empty slot */
};

/* The compressing thread and the chunks handed to it: one it works on,
 * at most one waiting. Each chunk is one layer_encoder_write() of the bytes the
 * inline pipeline would give it, in the same order: the compressed
 * stream, and so the digest, is the same as without the thread. */
struct chunk {
	uint8_t *data;
	size_t len, cap;
};

struct compressor {
	pthread_t thread;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	struct chunk chunks[2];
	int waiting; /* the chunk handed over, or -1 */
	int working; /* the chunk being compressed, or -1 */
	bool closing;
	int r; /* the first failure, and err */
	struct petra_error *err;
};

struct layer_writer {
	struct petra_store *store;
	struct layer_writer_options opts;
	struct petra_blob_writer *blob;
	struct encoder *encoder;
	struct compressor *compressor; /* NULL: compressed inline */
	struct oci_hasher diff_hash;
	uint64_t uncompressed;
	struct archive *archive;
	uint8_t *buf; /* tar bytes waiting to be hashed and compressed */
	size_t buf_len;
	char *file_buf;
	struct petra_error *cb_error; /* from inside libarchive's callback */
	struct hardlink *links;       /* (dev, ino) -> first path, open addressing */
	size_t n_links, cap_links;
	struct strset paths; /* every path written, to refuse duplicates */
	size_t dropped_dev_nodes;
};

/* ---- the byte pipeline ---- */

static int blob_sink(void *ctx, const void *data, size_t len, struct petra_error **err)
{
	return petra_store_blob_write(ctx, data, len, err);
}

static void *compressor_main(void *arg)
{
	struct layer_writer *w = arg;
	struct compressor *t = w->compressor;
	pthread_mutex_lock(&t->lock);
	for (;;) {
		while (t->waiting < 0 && !t->closing)
			pthread_cond_wait(&t->cond, &t->lock);
		if (t->waiting < 0)
			break;
		t->working = t->waiting;
		t->waiting = -1;
		pthread_cond_broadcast(&t->cond);
		struct chunk *c = &t->chunks[t->working];
		bool failed = t->r < 0;
		pthread_mutex_unlock(&t->lock);
		struct petra_error *e = NULL;
		/* After a failure the rest is only drained. */
		int r = failed ? 0 : layer_encoder_write(w->encoder, c->data, c->len, &e);
		pthread_mutex_lock(&t->lock);
		if (r < 0) {
			t->r = r;
			t->err = e;
		}
		t->working = -1;
		pthread_cond_broadcast(&t->cond);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* The thread's failure, as the caller's error. */
static int compressor_failure(struct compressor *t, struct petra_error **err)
{
	return petra_error_set(err, t->err ? t->err->code : EIO, "%s",
			       t->err ? t->err->message : "compression failed");
}

static void compressor_start(struct layer_writer *w)
{
	struct compressor *t = xcalloc(1, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	t->waiting = t->working = -1;
	w->compressor = t;
	if (pthread_create(&t->thread, NULL, compressor_main, w) != 0) {
		/* No thread: compressed inline. */
		pthread_mutex_destroy(&t->lock);
		pthread_cond_destroy(&t->cond);
		free(t);
		w->compressor = NULL;
	}
}

/* Wait for the thread to finish what it has; 0 or its failure. */
static int compressor_stop(struct layer_writer *w, struct petra_error **err)
{
	struct compressor *t = w->compressor;
	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	t->closing = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	int r = t->r < 0 ? compressor_failure(t, err) : 0;
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
	petra_error_free(t->err);
	free(t->chunks[0].data);
	free(t->chunks[1].data);
	free(t);
	w->compressor = NULL;
	return r;
}

static int compress_chunk(struct layer_writer *w, const void *data, size_t len,
			  struct petra_error **err)
{
	struct compressor *t = w->compressor;
	if (!t)
		return layer_encoder_write(w->encoder, data, len, err);
	pthread_mutex_lock(&t->lock);
	while (t->waiting >= 0 && t->r == 0)
		pthread_cond_wait(&t->cond, &t->lock);
	if (t->r < 0) {
		int r = compressor_failure(t, err);
		pthread_mutex_unlock(&t->lock);
		return r;
	}
	int free_chunk = t->working == 0 ? 1 : 0;
	pthread_mutex_unlock(&t->lock);
	/* Neither waiting nor being worked on: ours until handed over. */
	struct chunk *c = &t->chunks[free_chunk];
	if (c->cap < len) {
		free(c->data);
		c->data = xmalloc(len);
		c->cap = len;
	}
	memcpy(c->data, data, len);
	c->len = len;
	pthread_mutex_lock(&t->lock);
	t->waiting = free_chunk;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int process(struct layer_writer *w, const void *data, size_t len, struct petra_error **err)
{
	oci_hasher_update(&w->diff_hash, data, len);
	w->uncompressed += len;
	return compress_chunk(w, data, len, err);
}

static int flush_buffer(struct layer_writer *w, struct petra_error **err)
{
	if (!w->buf_len)
		return 0;
	int r = process(w, w->buf, w->buf_len, err);
	w->buf_len = 0;
	return r;
}

static la_ssize_t archive_write_cb(struct archive *a, void *ctx, const void *data, size_t len)
{
	struct layer_writer *w = ctx;
	int r = 0;
	if (len >= TAR_BUFFER / 2) {
		/* Large file data: no point copying it into the buffer. */
		r = flush_buffer(w, &w->cb_error);
		if (r == 0)
			r = process(w, data, len, &w->cb_error);
	} else {
		if (w->buf_len + len > TAR_BUFFER)
			r = flush_buffer(w, &w->cb_error);
		if (r == 0) {
			memcpy(w->buf + w->buf_len, data, len);
			w->buf_len += len;
		}
	}
	if (r < 0) {
		archive_set_error(a, -r, "%s", w->cb_error->message);
		return -1;
	}
	return (la_ssize_t)len;
}

static int archive_failure(struct layer_writer *w, struct petra_error **err)
{
	if (w->cb_error)
		return petra_error_set(err, w->cb_error->code, "%s", w->cb_error->message);
	const char *msg = archive_error_string(w->archive);
	return petra_error_set(err, EIO, "tar: %s", msg ? msg : "write failed");
}

int layer_writer_new(struct petra_store *store, const struct layer_writer_options *options,
		     struct layer_writer **out, struct petra_error **err)
{
	struct layer_writer *w = xcalloc(1, sizeof(*w));
	w->store = store;
	w->opts = *options;
	w->buf = xmalloc(TAR_BUFFER);
	w->file_buf = xmalloc(FILE_CHUNK);
	oci_hasher_init(&w->diff_hash);
	int r = petra_store_blob_begin(store, &w->blob, err);
	if (r == 0)
		r = layer_encoder_new(options->compression, options->level, blob_sink, w->blob,
				      &w->encoder, err);
	if (r < 0) {
		layer_writer_abort(w);
		return r;
	}
	compressor_start(w);
	w->archive = archive_write_new();
	archive_write_set_format_pax_restricted(w->archive);
	/* No blocking: the stream ends right after the end-of-archive marker,
	 * and we do our own buffering. */
	archive_write_set_bytes_per_block(w->archive, 0);
	if (archive_write_open2(w->archive, w, NULL, archive_write_cb, NULL, NULL) != ARCHIVE_OK) {
		r = archive_failure(w, err);
		layer_writer_abort(w);
		return r;
	}
	*out = w;
	return 0;
}

void layer_writer_abort(struct layer_writer *w)
{
	if (!w)
		return;
	if (w->archive)
		archive_write_free(w->archive);
	compressor_stop(w, NULL);
	layer_encoder_free(w->encoder);
	petra_store_blob_abort(w->blob);
	oci_hasher_release(&w->diff_hash);
	petra_error_free(w->cb_error);
	for (size_t i = 0; i < w->cap_links; i++)
		free(w->links[i].path);
	free(w->links);
	strset_clear(&w->paths);
	free(w->buf);
	free(w->file_buf);
	free(w);
}

int layer_writer_finish(struct layer_writer *w, struct layer_info *info, struct petra_error **err)
{
	int r = 0;
	if (archive_write_close(w->archive) != ARCHIVE_OK)
		r = archive_failure(w, err);
	if (r == 0)
		r = flush_buffer(w, err);
	int cr = compressor_stop(w, r == 0 ? err : NULL);
	if (r == 0)
		r = cr;
	if (r == 0)
		r = layer_encoder_finish(w->encoder, err);
	if (r < 0) {
		layer_writer_abort(w);
		return r;
	}
	memset(info, 0, sizeof(*info));
	oci_hasher_final(&w->diff_hash, info->diff_id);
	info->uncompressed_size = w->uncompressed;
	info->dropped_dev_nodes = w->dropped_dev_nodes;
	info->media_type = layer_media_type(w->opts.compression);
	r = petra_store_blob_commit(w->blob, NULL, info->digest, &info->size, err);
	w->blob = NULL; /* commit frees it */
	layer_writer_abort(w);
	return r;
}

/* ---- entries ---- */

static void normalise_entry(struct layer_writer *w, struct archive_entry *e)
{
	archive_entry_set_uname(e, NULL);
	archive_entry_set_gname(e, NULL);
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	time_t mtime = archive_entry_mtime(e);
	if (w->opts.clamp_mtime && mtime > w->opts.mtime_clamp)
		mtime = w->opts.mtime_clamp;
	archive_entry_set_mtime(e, mtime, 0);
}

/* A device node below dev/ (a root filesystem's /dev). */
static bool is_dev_node(struct archive_entry *e)
{
	mode_t type = archive_entry_filetype(e);
	if (type != AE_IFCHR && type != AE_IFBLK)
		return false;
	const char *path = archive_entry_pathname(e);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	while (*path == '/')
		path++;
	return !strncmp(path, "dev/", 4);
}

static int write_header(struct layer_writer *w, struct archive_entry *e, struct petra_error **err)
{
	const char *path = archive_entry_pathname(e);
	if (!strset_add(&w->paths, path)) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EINVAL, "%s: duplicate entry", q);
	}
	normalise_entry(w, e);
	if (w->opts.drop_dev_nodes && is_dev_node(e)) {
		w->dropped_dev_nodes++;
		return 0;
	}
	/* ARCHIVE_WARN: a name that is not ASCII in this locale. libarchive
	 * then writes it as raw bytes (pax hdrcharset=BINARY, for that entry
	 * only), which is what a layer should hold: names are bytes. */
	int ar = archive_write_header(w->archive, e);
	if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
		return archive_failure(w, err);
	return 0;
}

static int write_data(struct layer_writer *w, const void *data, size_t len,
		      struct petra_error **err)
{
	const char *p = data;
	while (len > 0) {
		la_ssize_t n = archive_write_data(w->archive, p, len);
		if (n <= 0)
			return archive_failure(w, err);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int layer_writer_add_entry(struct layer_writer *w, struct archive_entry *entry, const void *data,
			   size_t len, struct petra_error **err)
{
	int r = write_header(w, entry, err);
	if (r == 0 && len)
		r = write_data(w, data, len, err);
	return r;
}

int layer_writer_add_data(struct layer_writer *w, const void *data, size_t len,
			  struct petra_error **err)
{
	return len ? write_data(w, data, len, err) : 0;
}

static int add_marker(struct layer_writer *w, const char *path, struct petra_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	archive_entry_set_mtime(e, w->opts.clamp_mtime ? w->opts.mtime_clamp : 0, 0);
	int r = write_header(w, e, err);
	archive_entry_free(e);
	return r;
}

int layer_writer_add_whiteout(struct layer_writer *w, const char *path, struct petra_error **err)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *marker =
	    slash ? xasprintf("%.*s/.wh.%s", (int)(slash - path), path, slash + 1)
		  : xasprintf(".wh.%s", path);
	return add_marker(w, marker, err);
}

int layer_writer_add_opaque(struct layer_writer *w, const char *dir, struct petra_error **err)
{
	_cleanup_free_ char *marker =
	    *dir ? xasprintf("%s/.wh..wh..opq", dir) : xstrdup(".wh..wh..opq");
	return add_marker(w, marker, err);
}

/* ---- trees ---- */

static uint64_t link_hash(dev_t dev, ino_t ino)
{
	return ((uint64_t)dev * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)ino * 0xC2B2AE3D27D4EB4Full);
}

/* The path first written for (dev, ino), or NULL after recording `path`. */
static const char *hardlink_seen(struct layer_writer *w, dev_t dev, ino_t ino, const char *path)
{
	if ((w->n_links + 1) * 2 > w->cap_links) {
		size_t cap = w->cap_links ? w->cap_links * 2 : 64;
		struct hardlink *links = xcalloc(cap, sizeof(*links));
		for (size_t i = 0; i < w->cap_links; i++) {
			if (!w->links[i].path)
				continue;
			size_t j = link_hash(w->links[i].dev, w->links[i].ino) & (cap - 1);
			while (links[j].path)
				j = (j + 1) & (cap - 1);
			links[j] = w->links[i];
		}
		free(w->links);
		w->links = links;
		w->cap_links = cap;
	}
	size_t i = link_hash(dev, ino) & (w->cap_links - 1);
	for (; w->links[i].path; i = (i + 1) & (w->cap_links - 1))
		if (w->links[i].dev == dev && w->links[i].ino == ino)
			return w->links[i].path;
	w->links[i] = (struct hardlink){dev, ino, xstrdup(path)};
	w->n_links++;
	return NULL;
}

static bool is_overlay_xattr(const char *name)
{
	return !strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13);
}

/* The opaque mark of the overlay that wrote the tree, as layer_apply and
 * the rootfs cache name it: trusted.* for root of the host, user.* with
 * userxattr in a user namespace. Any other (user.overlay.opaque set by a
 * RUN through root's overlay, where it is an ordinary attribute, or one
 * the kernel escaped as user.overlay.overlay.opaque) hid nothing in the
 * build: it must not empty the directory in the layer. */
static const char *overlay_opaque_key(void)
{
	return geteuid() == 0 && fs_user_namespace_is_initial() ? "trusted.overlay.opaque"
								: "user.overlay.opaque";
}

/* Copy extended attributes into the entry; tell whether the overlay
 * "opaque" attribute is set. */
static int add_xattrs(int dirfd, const char *name, struct archive_entry *e, bool *opaque,
		      struct petra_error **err)
{
	*opaque = false;
	char proc[64];
	/* Name the entry through its parent so a symlink is not followed. */
	_cleanup_free_ char *path = NULL;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/", dirfd);
	path = xasprintf("%s%s", proc, name);
	ssize_t n = llistxattr(path, NULL, 0);
	if (n <= 0)
		return 0; /* none, or a filesystem without them */
	_cleanup_free_ char *list = xmalloc((size_t)n);
	n = llistxattr(path, list, (size_t)n);
	if (n < 0)
		return petra_error_set_errno(err, errno, "list extended attributes of %s", name);
	for (char *key = list; key < list + n; key += strlen(key) + 1) {
		/* SELinux labels belong to the host, not to the image. */
		if (!strcmp(key, "security.selinux"))
			continue;
		ssize_t vn = lgetxattr(path, key, NULL, 0);
		if (vn < 0)
			continue;
		_cleanup_free_ char *value = xmalloc((size_t)vn + 1);
		vn = lgetxattr(path, key, value, (size_t)vn);
		if (vn < 0)
			continue;
		if (is_overlay_xattr(key)) {
			/* (asked here only: it reads /proc/self/uid_map) */
			if (vn == 1 && value[0] == 'y' && !strcmp(key, overlay_opaque_key()))
				*opaque = true;
			continue;
		}
		archive_entry_xattr_add_entry(e, key, value, (size_t)vn);
	}
	return 0;
}

static int add_file_data(struct layer_writer *w, int dirfd, const char *name, const char *path,
			 off_t size, struct petra_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set_errno(err, errno, "%s: open", q);
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	off_t done = 0;
	for (;;) {
		size_t want = FILE_CHUNK;
		ssize_t n = read(fd, w->file_buf, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set_errno(err, errno, "%s: read", q);
		}
		if (n == 0)
			break;
		if (done + n > size) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set(err, EIO, "%s: grew while it was being read", q);
		}
		int r = write_data(w, w->file_buf, (size_t)n, err);
		if (r < 0)
			return r;
		done += n;
		if (w->opts.progress)
			progress_add(w->opts.progress, (uint64_t)n);
	}
	if (done != size) {
		_cleanup_free_ char *q = str_quote(path);
		return petra_error_set(err, EIO, "%s: shrank while it was being read", q);
	}
	return 0;
}

struct tree_adder {
	struct layer_writer *w;
	unsigned flags;
	dev_t root_dev;
};

static int add_tree_entry(void *ctx, const struct fs_walk_entry *we, struct petra_error **err)
{
	struct tree_adder *t = ctx;
	struct layer_writer *w = t->w;
	int fd = we->dirfd;
	const char *name = we->name, *path = we->path;
	const struct stat *st = &we->st;
	int r;
	if ((t->flags & LAYER_TREE_OVERLAY) && S_ISCHR(st->st_mode) && st->st_rdev == 0)
		return layer_writer_add_whiteout(w, path, err);
	if (S_ISSOCK(st->st_mode)) {
		log_warn("skipping socket %s: tar cannot hold sockets", path);
		return 0;
	}
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	bool opaque = false;
	r = add_xattrs(fd, name, e, &opaque, err);
	const char *first = NULL;
	if (r == 0 && S_ISREG(st->st_mode)) {
		if (st->st_nlink > 1)
			first = hardlink_seen(w, st->st_dev, st->st_ino, path);
		if (first) {
			archive_entry_set_hardlink(e, first);
			archive_entry_set_size(e, 0);
		} else {
			archive_entry_set_size(e, st->st_size);
		}
	} else if (r == 0 && S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(fd, name, target, sizeof(target) - 1);
		if (n < 0) {
			_cleanup_free_ char *q = str_quote(path);
			r = petra_error_set_errno(err, errno, "%s: read symlink", q);
		} else {
			target[n] = '\0';
			archive_entry_set_symlink(e, target);
		}
	} else if (r == 0 && (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))) {
		archive_entry_set_rdevmajor(e, major(st->st_rdev));
		archive_entry_set_rdevminor(e, minor(st->st_rdev));
	}
	if (r == 0)
		r = write_header(w, e, err);
	archive_entry_free(e);
	if (r == 0 && S_ISREG(st->st_mode) && !first && st->st_size > 0)
		r = add_file_data(w, fd, name, path, st->st_size, err);
	if (r == 0 && S_ISDIR(st->st_mode)) {
		if (opaque && (t->flags & LAYER_TREE_OVERLAY))
			r = layer_writer_add_opaque(w, path, err);
		if (r == 0 && st->st_dev != t->root_dev) {
			log_warn("not descending into %s: another filesystem is mounted there",
				 path);
			return FS_WALK_PRUNE;
		}
	}
	return r;
}

int layer_writer_add_tree(struct layer_writer *w, int dirfd, const char *prefix, unsigned flags,
			  struct petra_error **err)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return petra_error_set_errno(err, errno, "stat tree");
	struct tree_adder t = {.w = w, .flags = flags, .root_dev = st.st_dev};
	static const struct fs_walk_ops ops = {.pre = add_tree_entry};
	return fs_walk(dirfd, prefix ? prefix : "", 0, &ops, &t, err);
}

/* ---- re-encoding tarballs ---- */

static int copy_entry_data(struct layer_writer *w, struct archive *in, struct archive_entry *e,
			   const char *path, struct petra_error **err)
{
	int64_t written = 0;
	for (;;) {
		const void *data;
		size_t len;
		la_int64_t offset;
		int ar = archive_read_data_block(in, &data, &len, &offset);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			_cleanup_free_ char *q = str_quote(path);
			return petra_error_set(err, EIO, "%s: %s", q, archive_error_string(in));
		}
		/* Holes of sparse files become zeros. */
		while (written < offset) {
			size_t n = (size_t)(offset - written) < FILE_CHUNK
				       ? (size_t)(offset - written)
				       : FILE_CHUNK;
			memset(w->file_buf, 0, n);
			int r = write_data(w, w->file_buf, n, err);
			if (r < 0)
				return r;
			written += (int64_t)n;
		}
		int r = write_data(w, data, len, err);
		if (r < 0)
			return r;
		written += (int64_t)len;
		if (w->opts.progress)
			progress_add(w->opts.progress, len);
	}
	int64_t size = archive_entry_size(e);
	while (written < size) {
		size_t n =
		    (size_t)(size - written) < FILE_CHUNK ? (size_t)(size - written) : FILE_CHUNK;
		memset(w->file_buf, 0, n);
		int r = write_data(w, w->file_buf, n, err);
		if (r < 0)
			return r;
		written += (int64_t)n;
	}
	return 0;
}

int layer_writer_add_tar(struct layer_writer *w, int fd, const char *what, struct petra_error **err)
{
	struct archive *in = archive_read_new();
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	archive_read_support_format_empty(in);
	int r = 0;
	if (archive_read_open_fd(in, fd, 1 << 20) != ARCHIVE_OK) {
		r = petra_error_set(err, EINVAL, "%s: %s", what, archive_error_string(in));
		archive_read_free(in);
		return r;
	}
	for (;;) {
		struct archive_entry *src;
		int ar = archive_read_next_header(in, &src);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = petra_error_set(err, EINVAL, "%s: %s", what, archive_error_string(in));
			break;
		}
		_cleanup_free_ char *path = NULL;
		r = layer_clean_path(archive_entry_pathname(src), &path, err);
		if (r < 0)
			break;
		if (!*path)
			continue; /* the root directory itself */
		struct archive_entry *e = archive_entry_clone(src);
		archive_entry_set_pathname(e, path);
		if (archive_entry_hardlink(src)) {
			_cleanup_free_ char *target = NULL;
			r = layer_clean_path(archive_entry_hardlink(src), &target, err);
			if (r < 0) {
				archive_entry_free(e);
				break;
			}
			archive_entry_set_hardlink(e, target);
			archive_entry_set_size(e, 0);
		}
		archive_entry_sparse_clear(e);
		r = write_header(w, e, err);
		if (r == 0 && archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
			r = copy_entry_data(w, in, e, path, err);
		archive_entry_free(e);
		if (r < 0)
			break;
	}
	archive_read_free(in);
	if (r < 0)
		return petra_error_prefix(err, "%s", what);
	return 0;
}
