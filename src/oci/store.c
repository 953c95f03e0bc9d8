/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store: an OCI image layout directory.
 *
 * Crash safety: a blob is written to a temporary file in blobs/sha256/,
 * fsync'd, checked against its digest and renamed to its name, then the
 * directory is fsync'd. index.json is replaced the same way, and only after
 * the blobs it references are durable. So a crash leaves at worst stale
 * temporary files (prune removes them), never a blob whose content differs
 * from its name nor a name that points at a missing blob.
 *
 * Locks (flock, released by the kernel if the process dies):
 *  - the layout directory itself: held exclusively while index.json is
 *    read, changed and replaced;
 *  - blobs/sha256: held shared by every handle opened for writing, for its
 *    whole life, and exclusively by prune. A writer's blobs are unreferenced
 *    until it updates index.json; the shared lock keeps prune away meanwhile.
 */
#include "oci.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#define INDEX_MAX_SIZE    (64u << 20)
#define DOCUMENT_MAX_SIZE (16u << 20)
#define BLOB_WRITE_BUFFER (256u << 10)

struct petra_store {
	char *root;
	int root_fd;  /* the layout directory */
	int blobs_fd; /* blobs/sha256, or -1 in a read-only layout without blobs */
	int gc_lock_fd;
	unsigned flags;
};

char *petra_store_default_root(void)
{
	const char *env = getenv("PETRA_ROOT");
	if (env && *env)
		return xstrdup(env);
	/* The host's uid: a rootless build is root only of its namespace. */
	if (fs_host_euid() == 0)
		return xstrdup("/var/lib/petra");
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && *xdg)
		return path_join(xdg, "petra");
	const char *home = getenv("HOME");
	return xasprintf("%s/.local/share/petra", home && *home ? home : "/tmp");
}

static const char layout_text[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
static const char empty_index[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_TYPE_INDEX "\",\"manifests\":[]}";

static int lock_fd(int fd, int how, const char *what, const char *root, struct petra_error **err)
{
	if (flock(fd, how | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return petra_error_set_errno(err, errno, "lock %s of store %s", what, root);
	log_info("waiting for the %s lock of %s (another petra process holds it)", what, root);
	while (flock(fd, how) < 0) {
		if (errno != EINTR)
			return petra_error_set_errno(err, errno, "lock %s of store %s", what, root);
	}
	return 0;
}

static int create_layout(const char *root, struct petra_error **err)
{
	/* The store may hold secrets in image layers: only its owner reads it. */
	if (mkdir(root, 0700) < 0 && errno != EEXIST) {
		if (errno != ENOENT)
			return petra_error_set_errno(err, errno, "create store %s", root);
		if (fs_mkdir_p(root, 0700, err) < 0)
			return petra_error_prefix(err, "create store");
	}
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open store %s", root);
	if (faccessat(fd, "index.json", F_OK, 0) == 0 &&
	    faccessat(fd, "oci-layout", F_OK, 0) == 0 &&
	    faccessat(fd, "blobs/sha256", F_OK, 0) == 0)
		return 0;
	/* Several processes may create the store at once, and prune removes
	 * stale temporary files at the top: decide and write under the index
	 * lock, which prune also takes for that. */
	int r = lock_fd(fd, LOCK_EX, "index", root, err);
	if (r < 0)
		return r;
	if (mkdirat(fd, "blobs", 0755) < 0 && errno != EEXIST)
		r = petra_error_set_errno(err, errno, "create %s/blobs", root);
	else if (mkdirat(fd, "blobs/sha256", 0755) < 0 && errno != EEXIST)
		r = petra_error_set_errno(err, errno, "create %s/blobs/sha256", root);
	else if (faccessat(fd, "oci-layout", F_OK, 0) < 0 &&
		 fs_write_file_atomic_at(fd, "oci-layout", layout_text, strlen(layout_text), 0644,
					 err) < 0)
		r = petra_error_prefix(err, "create store %s", root);
	else if (faccessat(fd, "index.json", F_OK, 0) < 0 &&
		 fs_write_file_atomic_at(fd, "index.json", empty_index, strlen(empty_index), 0644,
					 err) < 0)
		r = petra_error_prefix(err, "create store %s", root);
	flock(fd, LOCK_UN);
	return r;
}

int petra_store_open(const char *root, unsigned flags, struct petra_store **out,
		     struct petra_error **err)
{
	if (flags & PETRA_STORE_CREATE) {
		int r = create_layout(root, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return petra_error_set_errno(err, errno, "open image layout %s", root);
	_cleanup_free_ char *layout = NULL;
	int r = fs_read_file_at(root_fd, "oci-layout", 4096, &layout, NULL, err);
	if (r < 0)
		return petra_error_prefix(err, "%s is not an OCI image layout", root);
	_cleanup_error_ struct petra_error *jerr = NULL;
	_cleanup_json_ json_t *lj = json_parse_buffer(layout, strlen(layout), "oci-layout", &jerr);
	const char *version = lj ? json_get_string(lj, "imageLayoutVersion") : NULL;
	if (!version || strncmp(version, "1.", 2) != 0)
		return petra_error_set(err, EINVAL, "%s/oci-layout: unsupported imageLayoutVersion",
				       root);
	_cleanup_close_ int blobs_fd =
	    openat(root_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (blobs_fd < 0) {
		if (errno != ENOENT || (flags & (PETRA_STORE_WRITE | PETRA_STORE_EXCLUSIVE)))
			return petra_error_set_errno(err, errno, "open %s/blobs/sha256", root);
	}
	_cleanup_close_ int gc_lock_fd = -1;
	if (flags & (PETRA_STORE_WRITE | PETRA_STORE_EXCLUSIVE)) {
		gc_lock_fd = openat(root_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (gc_lock_fd < 0)
			return petra_error_set_errno(err, errno, "open %s/blobs/sha256", root);
		r = lock_fd(gc_lock_fd, (flags & PETRA_STORE_EXCLUSIVE) ? LOCK_EX : LOCK_SH, "gc",
			    root, err);
		if (r < 0)
			return r;
	}
	/* Temporary blobs of writers that died (killed imports, pulls and
	 * builds) go at the start of every writing command; prune (the
	 * exclusive opener) removes them itself, or only counts them. */
	if (gc_lock_fd >= 0 && !(flags & PETRA_STORE_EXCLUSIVE))
		fs_sweep_temporaries(blobs_fd, ".tmp-", true, NULL, NULL);
	struct petra_store *s = xcalloc(1, sizeof(*s));
	s->root = xstrdup(root);
	s->root_fd = steal_fd(&root_fd);
	s->blobs_fd = steal_fd(&blobs_fd);
	s->gc_lock_fd = steal_fd(&gc_lock_fd);
	s->flags = flags;
	*out = s;
	return 0;
}

void petra_store_close(struct petra_store *s)
{
	if (!s)
		return;
	if (s->gc_lock_fd >= 0)
		close(s->gc_lock_fd);
	if (s->blobs_fd >= 0)
		close(s->blobs_fd);
	close(s->root_fd);
	free(s->root);
	free(s);
}

const char *petra_store_root(const struct petra_store *s)
{
	return s->root;
}

void petra_store_release_gc_lock(struct petra_store *s)
{
	if (s->gc_lock_fd >= 0)
		close(s->gc_lock_fd);
	s->gc_lock_fd = -1;
	s->flags &= ~(unsigned)(PETRA_STORE_WRITE | PETRA_STORE_EXCLUSIVE);
}

int petra_store_root_fd(const struct petra_store *s)
{
	return s->root_fd;
}

/* ---- blobs ---- */

static int check_digest_arg(const char *digest, struct petra_error **err)
{
	if (oci_digest_check(digest, err) < 0)
		return petra_error_prefix(err, "blob");
	return 0;
}

bool petra_store_has_blob(struct petra_store *s, const char *digest)
{
	if (s->blobs_fd < 0 || !oci_digest_valid(digest))
		return false;
	return faccessat(s->blobs_fd, oci_digest_hex(digest), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int petra_store_open_blob(struct petra_store *s, const char *digest, struct petra_error **err)
{
	if (check_digest_arg(digest, err) < 0)
		return -EINVAL;
	if (s->blobs_fd < 0)
		return petra_error_set(err, ENOENT, "blob %s: not in %s", digest, s->root);
	int fd = openat(s->blobs_fd, oci_digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return petra_error_set(err, ENOENT, "blob %s: not in %s", digest, s->root);
		return petra_error_set_errno(err, errno, "open blob %s", digest);
	}
	return fd;
}

int petra_store_read_blob(struct petra_store *s, const char *digest, size_t max_size, char **data,
			  size_t *len, struct petra_error **err)
{
	_cleanup_close_ int fd = petra_store_open_blob(s, digest, err);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return petra_error_set_errno(err, errno, "stat blob %s", digest);
	if ((uint64_t)st.st_size > max_size)
		return petra_error_set(err, EFBIG, "blob %s: %lld bytes, more than the %zu allowed",
				       digest, (long long)st.st_size, max_size);
	char *buf = xmalloc((size_t)st.st_size + 1);
	ssize_t n = fs_read_full(fd, buf, (size_t)st.st_size + 1);
	if (n < 0) {
		free(buf);
		return petra_error_set_errno(err, (int)-n, "read blob %s", digest);
	}
	buf[n < st.st_size ? n : st.st_size] = '\0';
	char actual[OCI_DIGEST_SIZE];
	oci_digest_buffer(buf, (size_t)n, actual);
	if (strcmp(actual, digest) != 0) {
		free(buf);
		return petra_error_set(err, EIO, "blob %s is corrupt: its content hashes to %s",
				       digest, actual);
	}
	*data = buf;
	if (len)
		*len = (size_t)n;
	return 0;
}

struct petra_blob_writer {
	struct petra_store *store;
	int fd;
	char *tmp_name;
	struct oci_hasher hasher;
	int64_t size;
	char *buf;
	size_t buf_len;
	bool keep_partial; /* a named partial download (petra_store_blob_resume) */
};

int petra_store_blob_begin(struct petra_store *s, struct petra_blob_writer **out,
			   struct petra_error **err)
{
	if (s->blobs_fd < 0 || !(s->flags & (PETRA_STORE_WRITE | PETRA_STORE_EXCLUSIVE)))
		return petra_error_set(err, EBADF, "store %s is not open for writing", s->root);
	char *tmp = NULL;
	int fd;
	for (;;) {
		fd = fs_tmpfile_at(s->blobs_fd, "blob", 0444, &tmp, err);
		if (fd < 0)
			return petra_error_prefix(err, "store %s", s->root);
		/* Held until committed, so a sweep by another process (the
		 * store's open) knows it is in use. */
		int h = fs_hold_temporary(fd);
		if (h == 0)
			break;
		close(fd);
		free(tmp);
		if (h != -ESTALE)
			return petra_error_set_errno(err, -h, "lock a temporary blob in %s",
						     s->root);
	}
	struct petra_blob_writer *w = xcalloc(1, sizeof(*w));
	w->store = s;
	w->fd = fd;
	w->tmp_name = tmp;
	w->buf = xmalloc(BLOB_WRITE_BUFFER);
	oci_hasher_init(&w->hasher);
	*out = w;
	return 0;
}

int petra_store_blob_resume(struct petra_store *s, const char *digest,
			    struct petra_blob_writer **out, int64_t *offset,
			    struct petra_error **err)
{
	*offset = 0;
	if (s->blobs_fd < 0 || !(s->flags & (PETRA_STORE_WRITE | PETRA_STORE_EXCLUSIVE)))
		return petra_error_set(err, EBADF, "store %s is not open for writing", s->root);
	if (!oci_digest_valid(digest))
		return petra_error_set(err, EINVAL, "resume: invalid digest \"%s\"", digest);
	/* ".partial-": kept by the sweep of dead writers' temporaries (a
	 * later pull resumes it), removed by prune for good; prune never runs
	 * while a writer holds the store (the gc lock). */
	char *name = xasprintf(".partial-%s", oci_digest_hex(digest));
	int fd = openat(s->blobs_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		free(name);
		return petra_error_set_errno(err, e, "store %s: partial blob", s->root);
	}
	/* Another process downloading the same blob: a private file instead. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		free(name);
		return petra_store_blob_begin(s, out, err);
	}
	struct petra_blob_writer *w = xcalloc(1, sizeof(*w));
	w->store = s;
	w->fd = fd;
	w->tmp_name = name;
	w->keep_partial = true;
	w->buf = xmalloc(BLOB_WRITE_BUFFER);
	oci_hasher_init(&w->hasher);
	/* The bytes already there count: hash them again. */
	for (;;) {
		ssize_t n = read(fd, w->buf, BLOB_WRITE_BUFFER);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			petra_store_blob_abort(w);
			return petra_error_set_errno(err, e, "store %s: read partial blob",
						     s->root);
		}
		if (n == 0)
			break;
		oci_hasher_update(&w->hasher, w->buf, (size_t)n);
		w->size += n;
	}
	*offset = w->size;
	*out = w;
	return 0;
}

void petra_store_blob_suspend(struct petra_blob_writer *w)
{
	if (!w)
		return;
	if (w->keep_partial) {
		/* Keep what arrived for the next attempt; a crash keeps it too. */
		if (w->buf_len)
			(void)fs_write_all(w->fd, w->buf, w->buf_len);
		free(w->tmp_name);
		w->tmp_name = NULL;
	}
	petra_store_blob_abort(w);
}

static int writer_flush(struct petra_blob_writer *w, struct petra_error **err)
{
	if (!w->buf_len)
		return 0;
	int r = fs_write_all(w->fd, w->buf, w->buf_len);
	if (r < 0)
		return petra_error_set_errno(err, -r, "write blob in %s", w->store->root);
	w->buf_len = 0;
	return 0;
}

int petra_store_blob_write(struct petra_blob_writer *w, const void *data, size_t len,
			   struct petra_error **err)
{
	oci_hasher_update(&w->hasher, data, len);
	w->size += (int64_t)len;
	if (w->buf_len + len > BLOB_WRITE_BUFFER) {
		int r = writer_flush(w, err);
		if (r < 0)
			return r;
		if (len >= BLOB_WRITE_BUFFER) {
			r = fs_write_all(w->fd, data, len);
			if (r < 0)
				return petra_error_set_errno(err, -r, "write blob in %s",
							     w->store->root);
			return 0;
		}
	}
	memcpy(w->buf + w->buf_len, data, len);
	w->buf_len += len;
	return 0;
}

void petra_store_blob_abort(struct petra_blob_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_name)
		unlinkat(w->store->blobs_fd, w->tmp_name, 0);
	oci_hasher_release(&w->hasher);
	free(w->tmp_name);
	free(w->buf);
	free(w);
}

int petra_store_blob_commit(struct petra_blob_writer *w, const char *expected,
			    char digest[OCI_DIGEST_SIZE], int64_t *size, struct petra_error **err)
{
	char actual[OCI_DIGEST_SIZE];
	int r = writer_flush(w, err);
	if (r < 0)
		goto out;
	if (fsync(w->fd) < 0) {
		r = petra_error_set_errno(err, errno, "sync blob in %s", w->store->root);
		goto out;
	}
	if (w->keep_partial && fchmod(w->fd, 0444) < 0) {
		r = petra_error_set_errno(err, errno, "chmod blob in %s", w->store->root);
		goto out;
	}
	oci_hasher_final(&w->hasher, actual);
	if (expected && strcmp(expected, actual) != 0) {
		r = petra_error_set(err, EIO,
				    "blob %s: content hashes to %s (corrupt or truncated)",
				    expected, actual);
		goto out;
	}
	if (renameat(w->store->blobs_fd, w->tmp_name, w->store->blobs_fd, oci_digest_hex(actual)) <
	    0) {
		r = petra_error_set_errno(err, errno, "store blob %s", actual);
		goto out;
	}
	free(w->tmp_name);
	w->tmp_name = NULL;
	r = fs_fsync_dir_at(w->store->blobs_fd, ".", err);
	if (r < 0)
		goto out;
	if (digest)
		memcpy(digest, actual, OCI_DIGEST_SIZE);
	if (size)
		*size = w->size;
out:
	petra_store_blob_abort(w);
	return r;
}

int petra_store_put_blob(struct petra_store *s, const void *data, size_t len,
			 char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	char actual[OCI_DIGEST_SIZE];
	oci_digest_buffer(data, len, actual);
	if (digest)
		memcpy(digest, actual, OCI_DIGEST_SIZE);
	/* Content-addressed: an existing blob of that name is that content. */
	if (petra_store_has_blob(s, actual))
		return 0;
	struct petra_blob_writer *w;
	int r = petra_store_blob_begin(s, &w, err);
	if (r < 0)
		return r;
	r = petra_store_blob_write(w, data, len, err);
	if (r < 0) {
		petra_store_blob_abort(w);
		return r;
	}
	return petra_store_blob_commit(w, actual, NULL, NULL, err);
}

int petra_store_put_json(struct petra_store *store, const json_t *doc, const char *media_type,
			 struct oci_descriptor *desc, struct petra_error **err)
{
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(doc, &len);
	memset(desc, 0, sizeof(*desc));
	int r = petra_store_put_blob(store, text, len, desc->digest, err);
	if (r < 0)
		return r;
	desc->media_type = xstrdup(media_type);
	desc->size = (int64_t)len;
	return 0;
}

int petra_store_put_blob_fd(struct petra_store *s, int fd, const char *expected,
			    int64_t expected_size, struct petra_error **err)
{
	if (check_digest_arg(expected, err) < 0)
		return -EINVAL;
	if (petra_store_has_blob(s, expected))
		return 0;
	struct petra_blob_writer *w;
	int r = petra_store_blob_begin(s, &w, err);
	if (r < 0)
		return r;
	char *buf = xmalloc(1 << 20);
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = petra_error_set_errno(err, errno, "read blob %s", expected);
			break;
		}
		if (n == 0)
			break;
		r = petra_store_blob_write(w, buf, (size_t)n, err);
		if (r < 0)
			break;
		if (expected_size >= 0 && w->size > expected_size) {
			r = petra_error_set(err, EIO, "blob %s: larger than its %lld bytes",
					    expected, (long long)expected_size);
			break;
		}
	}
	free(buf);
	if (r == 0 && expected_size >= 0 && w->size != expected_size)
		r = petra_error_set(err, EIO, "blob %s: %lld bytes, expected %lld", expected,
				    (long long)w->size, (long long)expected_size);
	if (r < 0) {
		petra_store_blob_abort(w);
		return r;
	}
	return petra_store_blob_commit(w, expected, NULL, NULL, err);
}

/* ---- index.json ---- */

static int read_index_json(struct petra_store *s, json_t **out, struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = fs_read_file_at(s->root_fd, "index.json", INDEX_MAX_SIZE, &data, &len, err);
	if (r < 0)
		return petra_error_prefix(err, "image layout %s", s->root);
	json_t *j = json_parse_buffer(data, len, "index.json", err);
	if (!j)
		return petra_error_prefix(err, "image layout %s", s->root);
	if (!json_is_object(j) || !json_is_array(json_object_get(j, "manifests"))) {
		json_decref(j);
		return petra_error_set(err, EINVAL, "%s/index.json: no \"manifests\" array",
				       s->root);
	}
	/* Every entry a descriptor: a wrong-typed one must stop a writer
	 * before it writes (set_ref would otherwise keep it, and every later
	 * reader fail on it). */
	json_t *manifests = json_object_get(j, "manifests");
	for (size_t i = 0; i < json_array_size(manifests); i++) {
		struct oci_descriptor d;
		if (oci_descriptor_from_json(json_array_get(manifests, i), &d, err) < 0) {
			json_decref(j);
			return petra_error_prefix(err, "%s/index.json: entry %zu", s->root, i + 1);
		}
		oci_descriptor_release(&d);
	}
	*out = j;
	return 0;
}

typedef int (*index_update_fn)(json_t *manifests, void *ctx, struct petra_error **err);

/* Read, change and atomically replace index.json under the index lock. */
static int index_update(struct petra_store *s, index_update_fn fn, void *ctx,
			struct petra_error **err)
{
	_cleanup_close_ int lock = openat(s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0)
		return petra_error_set_errno(err, errno, "open store %s", s->root);
	int r = lock_fd(lock, LOCK_EX, "index", s->root, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *index = NULL;
	r = read_index_json(s, &index, err);
	if (r < 0)
		return r;
	r = fn(json_object_get(index, "manifests"), ctx, err);
	if (r < 0)
		return r;
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(index, &len);
	r = fs_write_file_atomic_at(s->root_fd, "index.json", text, len, 0644, err);
	if (r < 0)
		return petra_error_prefix(err, "update %s/index.json", s->root);
	return 0;
}

/* The subject digest of a referrer's index.json entry, or NULL. */
static const char *entry_subject(const json_t *entry)
{
	return json_get_string(json_object_get(entry, "annotations"),
			       OCI_ANNOTATION_REFERRER_SUBJECT);
}

void petra_store_entries_free(struct petra_store_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(entries[i].name);
		oci_descriptor_release(&entries[i].desc);
	}
	free(entries);
}

int petra_store_list(struct petra_store *s, struct petra_store_entry **out, size_t *n_out,
		     struct petra_error **err)
{
	_cleanup_json_ json_t *index = NULL;
	int r = read_index_json(s, &index, err);
	if (r < 0)
		return r;
	json_t *manifests = json_object_get(index, "manifests");
	size_t total = json_array_size(manifests), n = 0;
	struct petra_store_entry *entries = xcalloc(total, sizeof(*entries));
	for (size_t i = 0; i < total; i++) {
		json_t *m = json_array_get(manifests, i);
		/* Referrers are not images of the store: they live and die
		 * with their subject (petra_store_list_referrers). */
		if (entry_subject(m))
			continue;
		r = oci_descriptor_from_json(m, &entries[n].desc, err);
		if (r < 0) {
			petra_store_entries_free(entries, n);
			return petra_error_prefix(err, "%s/index.json: entry %zu", s->root, i + 1);
		}
		const char *name =
		    oci_descriptor_annotation(&entries[n].desc, OCI_ANNOTATION_REF_NAME);
		entries[n].name = name ? xstrdup(name) : NULL;
		n++;
	}
	*out = entries;
	*n_out = n;
	return 0;
}

struct set_ref_ctx {
	const char *name;
	const struct oci_descriptor *desc;
};

static int set_ref_fn(json_t *manifests, void *vctx, struct petra_error **err)
{
	(void)err;
	struct set_ref_ctx *ctx = vctx;
	json_t *entry = oci_descriptor_to_json(ctx->desc);
	json_t *ann = json_object_get(entry, "annotations");
	if (!ann) {
		ann = json_object();
		json_object_set_new(entry, "annotations", ann);
	}
	json_object_set_new(ann, OCI_ANNOTATION_REF_NAME, json_string(ctx->name));
	/* Replace the entry that had this name in place; drop duplicates. */
	bool placed = false;
	for (size_t i = 0; i < json_array_size(manifests);) {
		json_t *m = json_array_get(manifests, i);
		const char *name =
		    json_get_string(json_object_get(m, "annotations"), OCI_ANNOTATION_REF_NAME);
		if (name && !strcmp(name, ctx->name)) {
			if (!placed) {
				json_array_set(manifests, i, entry);
				placed = true;
				i++;
			} else {
				json_array_remove(manifests, i);
			}
			continue;
		}
		i++;
	}
	if (!placed)
		json_array_append(manifests, entry);
	json_decref(entry);
	return 0;
}

static int check_tree(struct petra_store *s, const struct oci_descriptor *desc, const char *name,
		      struct petra_error **err);

int petra_store_set_ref(struct petra_store *s, const char *name, const struct oci_descriptor *desc,
			struct petra_error **err)
{
	if (!petra_store_has_blob(s, desc->digest))
		return petra_error_set(err, ENOENT, "name %s: blob %s is not in %s", name,
				       desc->digest, s->root);
	/* Every writer of a name (import, pull, build, tag, commit) comes
	 * here: a name is never written over a missing or truncated blob. */
	if (check_tree(s, desc, name, err) < 0)
		return -EIO;
	struct set_ref_ctx ctx = {name, desc};
	return index_update(s, set_ref_fn, &ctx, err);
}

static int remove_ref_fn(json_t *manifests, void *vctx, struct petra_error **err)
{
	const char *wanted = vctx;
	bool found = false;
	for (size_t i = 0; i < json_array_size(manifests);) {
		json_t *m = json_array_get(manifests, i);
		const char *name =
		    json_get_string(json_object_get(m, "annotations"), OCI_ANNOTATION_REF_NAME);
		if (name && !strcmp(name, wanted)) {
			json_array_remove(manifests, i);
			found = true;
			continue;
		}
		i++;
	}
	if (!found)
		return petra_error_set(err, ENOENT, "image \"%s\" not found", wanted);
	return 0;
}

int petra_store_remove_ref(struct petra_store *s, const char *name, struct petra_error **err)
{
	return index_update(s, remove_ref_fn, (void *)name, err);
}

static bool is_hex_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n < 4 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A manifest that is in the store but has no name: find its media type. */
static int describe_blob(struct petra_store *s, const char *digest, struct oci_descriptor *desc,
			 struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = petra_store_read_blob(s, digest, DOCUMENT_MAX_SIZE, &data, &len, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *j = json_parse_buffer(data, len, digest, err);
	if (!j)
		return -EINVAL;
	const char *mt = json_get_string(j, "mediaType");
	if (!mt) /* an OCI manifest may omit it; a config never has "layers" */
		mt = json_object_get(j, "layers")      ? OCI_MEDIA_TYPE_MANIFEST
		     : json_object_get(j, "manifests") ? OCI_MEDIA_TYPE_INDEX
						       : NULL;
	enum oci_kind kind = oci_media_type_kind(mt);
	if (kind != OCI_KIND_MANIFEST && kind != OCI_KIND_INDEX)
		return petra_error_set(err, EINVAL, "%s is not an image manifest", digest);
	memset(desc, 0, sizeof(*desc));
	desc->media_type = xstrdup(mt);
	snprintf(desc->digest, sizeof(desc->digest), "%s", digest);
	desc->size = (int64_t)len;
	return 0;
}

int petra_store_resolve(struct petra_store *s, const char *ref, struct oci_descriptor *desc,
			char **name_out, struct petra_error **err)
{
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	int r = petra_store_list(s, &entries, &n, err);
	if (r < 0)
		return r;
	if (name_out)
		*name_out = NULL;
	ssize_t found = -1;
	bool digest_ref = oci_digest_valid(ref);
	if (digest_ref || is_hex_prefix(ref)) {
		const char *prefix = digest_ref ? oci_digest_hex(ref) : ref;
		size_t plen = strlen(prefix);
		for (size_t i = 0; i < n; i++) {
			if (strncmp(oci_digest_hex(entries[i].desc.digest), prefix, plen) != 0)
				continue;
			if (found >= 0 &&
			    strcmp(entries[found].desc.digest, entries[i].desc.digest)) {
				petra_store_entries_free(entries, n);
				return petra_error_set(
				    err, EINVAL,
				    "\"%s\" is ambiguous: more than one image digest "
				    "starts with it",
				    ref);
			}
			if (found < 0)
				found = (ssize_t)i;
		}
		if (found < 0 && digest_ref) {
			petra_store_entries_free(entries, n);
			if (!petra_store_has_blob(s, ref))
				return petra_error_set(err, ENOENT, "image %s not found in %s", ref,
						       s->root);
			return describe_blob(s, ref, desc, err);
		}
	}
	if (found < 0 && !digest_ref) {
		struct oci_ref parsed;
		r = oci_ref_parse(ref, &parsed, err);
		if (r < 0) {
			petra_store_entries_free(entries, n);
			return r;
		}
		_cleanup_free_ char *wanted = oci_ref_format(&parsed);
		for (size_t i = 0; i < n && found < 0; i++) {
			if (!entries[i].name)
				continue;
			if (parsed.tag && strcmp(entries[i].name, wanted) != 0)
				continue;
			if (parsed.digest && strcmp(entries[i].desc.digest, parsed.digest) != 0)
				continue;
			if (!parsed.tag) {
				/* name@digest: any tag of that name with that digest */
				size_t nl = strlen(parsed.name);
				if (strncmp(entries[i].name, parsed.name, nl) != 0 ||
				    entries[i].name[nl] != ':')
					continue;
			}
			found = (ssize_t)i;
		}
		oci_ref_release(&parsed);
		if (found < 0) {
			petra_store_entries_free(entries, n);
			return petra_error_set(err, ENOENT, "image \"%s\" not found in %s", wanted,
					       s->root);
		}
	}
	oci_descriptor_copy(desc, &entries[found].desc);
	if (name_out && entries[found].name)
		*name_out = xstrdup(entries[found].name);
	petra_store_entries_free(entries, n);
	return 0;
}

/* ---- integrity ---- */

struct walker {
	struct petra_store *store;
	struct strset *reachable;
	petra_store_report_fn report;
	void *ctx;
	unsigned problems;
};

static void walker_report(struct walker *w, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void walker_report(struct walker *w, const char *object, const char *fmt, ...)
{
	w->problems++;
	if (!w->report)
		return;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	w->report(w->ctx, object, strbuf_str(&sb));
	strbuf_release(&sb);
}

static void check_present(struct walker *w, const struct oci_descriptor *d, const char *parent)
{
	struct stat st;
	if (w->store->blobs_fd < 0 ||
	    fstatat(w->store->blobs_fd, oci_digest_hex(d->digest), &st, AT_SYMLINK_NOFOLLOW) < 0) {
		/* A foreign layer is a reference to its urls: absent is normal. */
		if (oci_media_type_is_foreign(d->media_type))
			return;
		walker_report(w, d->digest, "missing (referenced by %s)", parent);
		return;
	}
	if (st.st_size != d->size)
		walker_report(w, d->digest, "%lld bytes on disk, %lld in the descriptor in %s",
			      (long long)st.st_size, (long long)d->size, parent);
}

static void walk_descriptor(struct walker *w, const struct oci_descriptor *d, const char *parent,
			    int depth)
{
	bool first = strset_add(w->reachable, d->digest);
	if (!first)
		return;
	check_present(w, d, parent);
	enum oci_kind kind = oci_media_type_kind(d->media_type);
	if (kind != OCI_KIND_INDEX && kind != OCI_KIND_MANIFEST)
		return;
	if (depth > 8) {
		walker_report(w, d->digest, "image indexes nested too deeply");
		return;
	}
	_cleanup_error_ struct petra_error *e = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (!petra_store_has_blob(w->store, d->digest))
		return;
	if (petra_store_read_blob(w->store, d->digest, DOCUMENT_MAX_SIZE, &data, &len, &e) < 0) {
		walker_report(w, d->digest, "%s", e->message);
		return;
	}
	if (kind == OCI_KIND_INDEX) {
		struct oci_index idx;
		if (oci_index_parse(data, len, &idx, &e) < 0) {
			walker_report(w, d->digest, "%s", e->message);
			return;
		}
		for (size_t i = 0; i < idx.n_manifests; i++)
			walk_descriptor(w, &idx.manifests[i], d->digest, depth + 1);
		oci_index_release(&idx);
		return;
	}
	struct oci_manifest m;
	if (oci_manifest_parse(data, len, &m, &e) < 0) {
		walker_report(w, d->digest, "%s", e->message);
		return;
	}
	walk_descriptor(w, &m.config, d->digest, depth + 1);
	for (size_t i = 0; i < m.n_layers; i++)
		walk_descriptor(w, &m.layers[i], d->digest, depth + 1);
	oci_manifest_release(&m);
}

static void keep_first_problem(void *ctx, const char *object, const char *problem)
{
	char **first = ctx;
	if (!*first)
		*first = xasprintf("blob %s is %s", object, problem);
}

/* Presence and size of every blob desc references, as fsck checks them. */
static int check_tree(struct petra_store *s, const struct oci_descriptor *desc, const char *name,
		      struct petra_error **err)
{
	_cleanup_strset_ struct strset seen = STRSET_INIT;
	_cleanup_free_ char *first = NULL;
	struct walker w = {s, &seen, keep_first_problem, &first, 0};
	walk_descriptor(&w, desc, "the image", 0);
	if (!w.problems)
		return 0;
	return petra_error_set(err, EIO, "name %s not written: %s in %s (run 'petra fsck')", name,
			       first, s->root);
}

int petra_store_check_blob(struct petra_store *s, const struct oci_descriptor *desc,
			   struct petra_error **err)
{
	struct stat st;
	if (s->blobs_fd < 0 ||
	    fstatat(s->blobs_fd, oci_digest_hex(desc->digest), &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (oci_media_type_is_foreign(desc->media_type))
			return petra_error_set(err, ENOENT,
					       "layer %s is a foreign (non-distributable) layer "
					       "and its blob is not in the store",
					       desc->digest);
		return petra_error_set(err, ENOENT, "blob %s is missing from %s", desc->digest,
				       s->root);
	}
	if (st.st_size != desc->size)
		return petra_error_set(err, EIO,
				       "blob %s is %lld bytes on disk, %lld in its descriptor "
				       "(run 'petra fsck')",
				       desc->digest, (long long)st.st_size, (long long)desc->size);
	return 0;
}

static int referrer_subject(struct petra_store *s, const char *digest, char **subject,
			    char **artifact_type, struct petra_error **err);

/* A referrer is reachable while its subject is: referrers of reachable
 * manifests are walked until none is added (a signature of a record is a
 * referrer of a referrer). A referrer whose manifest does not name the
 * subject its entry gives is reported. */
static int walk_referrers(struct petra_store *s, struct walker *w, struct petra_error **err)
{
	_cleanup_json_ json_t *index = NULL;
	int r = read_index_json(s, &index, err);
	if (r < 0)
		return r;
	json_t *manifests = json_object_get(index, "manifests");
	size_t n = json_array_size(manifests);
	_cleanup_free_ bool *walked = xcalloc(n ? n : 1, sizeof(bool));
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			json_t *m = json_array_get(manifests, i);
			const char *subject = entry_subject(m);
			if (walked[i] || !subject || !strset_contains(w->reachable, subject))
				continue;
			walked[i] = more = true;
			struct oci_descriptor d;
			if (oci_descriptor_from_json(m, &d, NULL) < 0)
				continue; /* read_index_json checked every entry */
			_cleanup_free_ char *parent =
			    xasprintf("index.json referrer of %s", subject);
			walk_descriptor(w, &d, parent, 0);
			_cleanup_error_ struct petra_error *e = NULL;
			_cleanup_free_ char *actual = NULL;
			if (petra_store_has_blob(s, d.digest) &&
			    referrer_subject(s, d.digest, &actual, NULL, &e) == 0 &&
			    strcmp(actual, subject) != 0)
				walker_report(
				    w, d.digest,
				    "a referrer of %s in index.json, but its subject is %s",
				    subject, actual);
			oci_descriptor_release(&d);
		}
	}
	return 0;
}

int petra_store_reachable(struct petra_store *s, struct strset *reachable,
			  petra_store_report_fn report, void *ctx, unsigned *problems,
			  struct petra_error **err)
{
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	int r = petra_store_list(s, &entries, &n, err);
	if (r < 0)
		return r;
	struct walker w = {s, reachable, report, ctx, 0};
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *parent =
		    xasprintf("index.json%s%s", entries[i].name ? " name " : "",
			      entries[i].name ? entries[i].name : "");
		walk_descriptor(&w, &entries[i].desc, parent, 0);
	}
	petra_store_entries_free(entries, n);
	r = walk_referrers(s, &w, err);
	if (r < 0)
		return r;
	if (problems)
		*problems += w.problems;
	return 0;
}

static bool is_blob_name(const char *name)
{
	if (strlen(name) != 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Re-hash one blob file; returns 1 when its content matches its name. */
static int rehash_blob(int blobs_fd, const char *hex, char actual[OCI_DIGEST_SIZE],
		       struct progress *progress, struct petra_error **err)
{
	_cleanup_close_ int fd = openat(blobs_fd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open blob sha256:%s", hex);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct oci_hasher h;
	oci_hasher_init(&h);
	_cleanup_free_ char *buf = xmalloc(1 << 20);
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			oci_hasher_release(&h);
			return petra_error_set_errno(err, errno, "read blob sha256:%s", hex);
		}
		if (n == 0)
			break;
		oci_hasher_update(&h, buf, (size_t)n);
		progress_add(progress, (uint64_t)n);
	}
	oci_hasher_final(&h, actual);
	return strcmp(oci_digest_hex(actual), hex) == 0;
}

int petra_store_check(struct petra_store *s, petra_store_report_fn report, void *ctx,
		      unsigned *problems, struct petra_error **err)
{
	struct strset reachable = STRSET_INIT;
	unsigned count = 0;
	int r = petra_store_reachable(s, &reachable, report, ctx, &count, err);
	strset_clear(&reachable);
	if (r < 0)
		return r;
	if (s->blobs_fd >= 0) {
		int dfd = openat(s->blobs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return petra_error_set_errno(err, errno, "open %s/blobs/sha256", s->root);
		DIR *d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			return petra_error_set_errno(err, errno, "open %s/blobs/sha256", s->root);
		}
		struct strvec names = STRVEC_INIT;
		uint64_t total = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue; /* ".", ".." and temporary files of writers */
			strvec_push(&names, de->d_name);
			struct stat st;
			if (fstatat(s->blobs_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				total += (uint64_t)st.st_size;
		}
		closedir(d);
		strvec_sort(&names);
		struct progress progress;
		progress_begin(&progress, "checking blobs", total);
		for (size_t i = 0; i < names.n; i++) {
			const char *name = names.v[i];
			_cleanup_free_ char *object = xasprintf("sha256:%s", name);
			struct stat st;
			if (fstatat(s->blobs_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue; /* removed meanwhile */
			if (!S_ISREG(st.st_mode) || !is_blob_name(name)) {
				count++;
				if (report)
					report(ctx, name,
					       "unexpected entry in blobs/sha256 (not a blob)");
				continue;
			}
			char actual[OCI_DIGEST_SIZE];
			_cleanup_error_ struct petra_error *e = NULL;
			int ok = rehash_blob(s->blobs_fd, name, actual, &progress, &e);
			if (ok < 0) {
				count++;
				if (report)
					report(ctx, object, e->message);
			} else if (!ok) {
				count++;
				_cleanup_free_ char *msg =
				    xasprintf("corrupt: content hashes to %s", actual);
				if (report)
					report(ctx, object, msg);
			}
		}
		progress_end(&progress);
		strvec_clear(&names);
	}
	if (problems)
		*problems += count;
	return 0;
}

void petra_store_stale_temporaries(struct petra_store *s, uint64_t *count, uint64_t *bytes)
{
	if (s->blobs_fd >= 0)
		fs_sweep_temporaries(s->blobs_fd, ".tmp-", false, count, bytes);
}

/* A temporary blob, or a partial download kept for a later pull to resume
 * (named .partial-, so the sweep of dead writers' .tmp- files at every
 * writing open leaves it; only prune removes it). */
static bool is_temp_name(const char *name)
{
	return !strncmp(name, ".tmp-", 5) || !strncmp(name, ".partial-", 9);
}

static int drop_orphan_referrers_fn(json_t *manifests, void *ctx, struct petra_error **err)
{
	(void)err;
	struct strset *reachable = ctx;
	for (size_t i = 0; i < json_array_size(manifests);) {
		json_t *m = json_array_get(manifests, i);
		const char *digest = json_get_string(m, "digest");
		if (entry_subject(m) && digest && !strset_contains(reachable, digest))
			json_array_remove(manifests, i);
		else
			i++;
	}
	return 0;
}

int petra_store_prune(struct petra_store *s, bool dry_run, uint64_t *blobs, uint64_t *bytes,
		      struct petra_error **err)
{
	/* A dry run only counts: a read-only open may ask (petra info). */
	if (!dry_run && !(s->flags & PETRA_STORE_EXCLUSIVE))
		return petra_error_set(err, EBADF, "prune %s: store not opened exclusively",
				       s->root);
	struct strset reachable = STRSET_INIT;
	unsigned problems = 0;
	int r = petra_store_reachable(s, &reachable, NULL, NULL, &problems, err);
	if (r < 0) {
		strset_clear(&reachable);
		return r;
	}
	/* An unreadable manifest hides what it references: removing anything
	 * could then delete a blob that is in use. */
	bool unsure = false;
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	if (petra_store_list(s, &entries, &n, err) < 0) {
		strset_clear(&reachable);
		return -EIO;
	}
	for (size_t i = 0; i < n && !unsure; i++) {
		enum oci_kind k = oci_media_type_kind(entries[i].desc.media_type);
		if ((k == OCI_KIND_MANIFEST || k == OCI_KIND_INDEX) && problems)
			unsure = true;
	}
	petra_store_entries_free(entries, n);
	if (unsure) {
		strset_clear(&reachable);
		return petra_error_set(err, EIO,
				       "prune %s: %u problem(s) with referenced images; run "
				       "'petra fsck' and repair the store first",
				       s->root, problems);
	}
	/* Referrers whose subject goes leave index.json before their blobs
	 * go, so a crash between the two leaves no entry naming a missing blob. */
	if (!dry_run) {
		r = index_update(s, drop_orphan_referrers_fn, &reachable, err);
		if (r < 0) {
			strset_clear(&reachable);
			return petra_error_prefix(err, "prune %s", s->root);
		}
	}
	uint64_t removed = 0, removed_bytes = 0;
	int dfd = openat(s->blobs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		strset_clear(&reachable);
		return petra_error_set_errno(err, e, "open %s/blobs/sha256", s->root);
	}
	struct strvec victims = STRVEC_INIT;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (is_temp_name(de->d_name)) {
			/* A dry run on a store not held exclusively may run
			 * beside live writers: their temporaries are not
			 * garbage (info counts the dead ones as stale). */
			if (s->flags & PETRA_STORE_EXCLUSIVE)
				strvec_push(&victims, de->d_name);
		} else if (is_blob_name(de->d_name)) {
			char digest[OCI_DIGEST_SIZE];
			/* is_blob_name: exactly 64 hex digits; the precision says so to
			 * -Wformat-truncation. */
			snprintf(digest, sizeof(digest), "sha256:%.64s", de->d_name);
			if (!strset_contains(&reachable, digest))
				strvec_push(&victims, de->d_name);
		}
	}
	closedir(d);
	strset_clear(&reachable);
	for (size_t i = 0; i < victims.n; i++) {
		struct stat st;
		if (fstatat(s->blobs_fd, victims.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!dry_run && unlinkat(s->blobs_fd, victims.v[i], 0) < 0) {
			r = petra_error_set_errno(err, errno, "remove blob sha256:%s",
						  victims.v[i]);
			strvec_clear(&victims);
			return r;
		}
		removed++;
		removed_bytes += (uint64_t)st.st_size;
	}
	strvec_clear(&victims);
	/* Temporary files at the top of the layout (index.json, oci-layout)
	 * of writers that died: only while nobody holds the index lock, which
	 * every writer of those files does. */
	_cleanup_close_ int lock = openat(s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!dry_run && lock >= 0 && lock_fd(lock, LOCK_EX, "index", s->root, err) == 0) {
		d = fdopendir(openat(s->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		if (d) {
			while ((de = readdir(d)))
				if (is_temp_name(de->d_name))
					unlinkat(s->root_fd, de->d_name, 0);
			closedir(d);
		}
		flock(lock, LOCK_UN);
	}
	if (!dry_run && removed)
		fs_fsync_dir_at(s->blobs_fd, ".", NULL);
	if (blobs)
		*blobs = removed;
	if (bytes)
		*bytes = removed_bytes;
	return 0;
}

/* ---- referrers ---- */

/* The subject digest (and artifact type: artifactType, else the config's
 * media type, as the distribution spec says) of the referrer manifest
 * `digest`; -ENOENT when it has no subject. */
static int referrer_subject(struct petra_store *s, const char *digest, char **subject,
			    char **artifact_type, struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = petra_store_read_blob(s, digest, DOCUMENT_MAX_SIZE, &data, &len, err);
	if (r < 0)
		return r;
	struct oci_manifest m;
	r = oci_manifest_parse(data, len, &m, err);
	if (r < 0)
		return petra_error_prefix(err, "referrer %s", digest);
	json_t *subj = json_object_get(m.json, "subject");
	struct oci_descriptor sd;
	if (!subj) {
		oci_manifest_release(&m);
		return -ENOENT;
	}
	if (oci_descriptor_from_json(subj, &sd, err) < 0) {
		oci_manifest_release(&m);
		return petra_error_prefix(err, "referrer %s: subject", digest);
	}
	*subject = xstrdup(sd.digest);
	oci_descriptor_release(&sd);
	if (artifact_type) {
		const char *at = json_get_string(m.json, "artifactType");
		*artifact_type = xstrdup(at ? at : m.config.media_type);
	}
	oci_manifest_release(&m);
	return 0;
}

struct add_referrer_ctx {
	json_t *entry;
	bool replace; /* drop the subject's other referrers of its artifact type */
};

static int add_referrer_fn(json_t *manifests, void *vctx, struct petra_error **err)
{
	(void)err;
	struct add_referrer_ctx *ctx = vctx;
	const char *digest = json_get_string(ctx->entry, "digest");
	const char *subject = entry_subject(ctx->entry);
	const char *type = json_get_string(ctx->entry, "artifactType");
	bool placed = false;
	for (size_t i = 0; i < json_array_size(manifests);) {
		json_t *m = json_array_get(manifests, i);
		const char *d = json_get_string(m, "digest");
		const char *s = entry_subject(m);
		if (s && d && !strcmp(d, digest) && !placed) {
			json_array_set(manifests, i, ctx->entry);
			placed = true;
		} else if (ctx->replace && s && !strcmp(s, subject) && type &&
			   !strcmp(json_get_string(m, "artifactType") ?: "", type)) {
			json_array_remove(manifests, i);
			continue;
		}
		i++;
	}
	if (!placed)
		json_array_append(manifests, ctx->entry);
	return 0;
}

static int add_referrer(struct petra_store *s, const char *subject_digest,
			const struct oci_descriptor *referrer, bool replace,
			struct petra_error **err);

int petra_store_add_referrer(struct petra_store *s, const char *subject_digest,
			     const struct oci_descriptor *referrer, struct petra_error **err)
{
	return add_referrer(s, subject_digest, referrer, false, err);
}

int petra_store_replace_referrers(struct petra_store *s, const char *subject_digest,
				  const struct oci_descriptor *referrer, struct petra_error **err)
{
	return add_referrer(s, subject_digest, referrer, true, err);
}

static int add_referrer(struct petra_store *s, const char *subject_digest,
			const struct oci_descriptor *referrer, bool replace,
			struct petra_error **err)
{
	if (oci_digest_check(subject_digest, err) < 0)
		return petra_error_prefix(err, "referrer %s: subject", referrer->digest);
	if (oci_media_type_kind(referrer->media_type) != OCI_KIND_MANIFEST)
		return petra_error_set(err, EINVAL, "referrer %s: %s is not an image manifest",
				       referrer->digest, referrer->media_type);
	if (!petra_store_has_blob(s, referrer->digest))
		return petra_error_set(err, ENOENT, "referrer %s: not in %s", referrer->digest,
				       s->root);
	_cleanup_free_ char *subject = NULL, *artifact_type = NULL;
	int r = referrer_subject(s, referrer->digest, &subject, &artifact_type, err);
	if (r == -ENOENT)
		return petra_error_set(err, EINVAL, "referrer %s: the manifest has no subject",
				       referrer->digest);
	if (r < 0)
		return r;
	if (strcmp(subject, subject_digest) != 0)
		return petra_error_set(err, EINVAL, "referrer %s: its subject is %s, not %s",
				       referrer->digest, subject, subject_digest);
	_cleanup_free_ char *what = xasprintf("referrer of %s", subject_digest);
	if (check_tree(s, referrer, what, err) < 0)
		return -EIO;
	struct oci_descriptor d = {0};
	oci_descriptor_copy(&d, referrer);
	free(d.artifact_type);
	d.artifact_type = xstrdup(artifact_type);
	if (!d.annotations)
		d.annotations = json_object();
	json_object_del(d.annotations, OCI_ANNOTATION_REF_NAME);
	json_object_set_new(d.annotations, OCI_ANNOTATION_REFERRER_SUBJECT,
			    json_string(subject_digest));
	struct add_referrer_ctx ctx = {oci_descriptor_to_json(&d), replace};
	oci_descriptor_release(&d);
	r = index_update(s, add_referrer_fn, &ctx, err);
	json_decref(ctx.entry);
	return r;
}

static int remove_referrer_fn(json_t *manifests, void *vctx, struct petra_error **err);

int petra_store_remove_referrer(struct petra_store *s, const char *referrer_digest,
				struct petra_error **err)
{
	return index_update(s, remove_referrer_fn, (void *)referrer_digest, err);
}

static int remove_referrer_fn(json_t *manifests, void *vctx, struct petra_error **err)
{
	const char *wanted = vctx;
	bool found = false;
	for (size_t i = 0; i < json_array_size(manifests);) {
		json_t *m = json_array_get(manifests, i);
		const char *d = json_get_string(m, "digest");
		if (entry_subject(m) && d && !strcmp(d, wanted)) {
			json_array_remove(manifests, i);
			found = true;
			continue;
		}
		i++;
	}
	if (!found)
		return petra_error_set(err, ENOENT, "referrer %s not found", wanted);
	return 0;
}

int petra_store_list_referrers(struct petra_store *s, const char *subject_digest,
			       const char *artifact_type, struct oci_descriptor **out,
			       size_t *n_out, struct petra_error **err)
{
	*out = NULL;
	*n_out = 0;
	_cleanup_json_ json_t *index = NULL;
	int r = read_index_json(s, &index, err);
	if (r < 0)
		return r;
	json_t *manifests = json_object_get(index, "manifests");
	size_t total = json_array_size(manifests), n = 0;
	struct oci_descriptor *v = xcalloc(total ? total : 1, sizeof(*v));
	for (size_t i = 0; i < total; i++) {
		json_t *m = json_array_get(manifests, i);
		const char *subject = entry_subject(m);
		_cleanup_free_ char *read_subject = NULL, *read_type = NULL;
		if (!subject) {
			/* A layout written by another tool lists referrers
			 * without petra's annotation: an unnamed manifest is
			 * read to see whether it has a subject. */
			const char *mt = json_get_string(m, "mediaType");
			if (json_get_string(json_object_get(m, "annotations"),
					    OCI_ANNOTATION_REF_NAME) ||
			    oci_media_type_kind(mt) != OCI_KIND_MANIFEST)
				continue;
			const char *digest = json_get_string(m, "digest");
			if (!petra_store_has_blob(s, digest) ||
			    referrer_subject(s, digest, &read_subject, &read_type, NULL) < 0)
				continue;
			subject = read_subject;
		}
		if (subject_digest && strcmp(subject, subject_digest) != 0)
			continue;
		r = oci_descriptor_from_json(m, &v[n], err);
		if (r < 0) {
			oci_descriptors_release(v, n);
			return petra_error_prefix(err, "%s/index.json: entry %zu", s->root, i + 1);
		}
		if (!v[n].artifact_type && read_type)
			v[n].artifact_type = xstrdup(read_type);
		if (artifact_type &&
		    (!v[n].artifact_type || strcmp(v[n].artifact_type, artifact_type) != 0)) {
			oci_descriptor_release(&v[n]);
			continue;
		}
		n++;
	}
	*out = v;
	*n_out = n;
	return 0;
}
