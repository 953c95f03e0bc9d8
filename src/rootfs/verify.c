/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifying an extracted layer against its blob.
 *
 * A tar stream cannot be rebuilt byte for byte from a directory (entry
 * order, pax headers and times are lost), so the diff_id cannot be
 * recomputed from the tree. Instead both sides are described the same way,
 * one record per path (type, mode, owner, size and content hash, link
 * target, opaque marker), and the records compared. The expected side comes
 * from the blob, which the reader checks against its digest and diff_id as
 * it goes, so nothing stored next to the tree has to be trusted.
 */
#include "internal.h"

#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define IMPLICIT_DIR "d implicit"

struct describe {
	json_t *records; /* path -> record; a hash map that takes any bytes */
	bool owners;     /* compare uid/gid (only root extracts them) */
};

static void put(json_t *map, const char *path, const char *record)
{
	json_object_set_new_nocheck(map, path, json_stringn_nocheck(record, strlen(record)));
}

static const char *get(json_t *map, const char *path)
{
	return json_string_value(json_object_get(map, path));
}

static void owner(struct describe *d, struct strbuf *sb, unsigned uid, unsigned gid)
{
	if (d->owners)
		strbuf_addf(sb, " %u:%u", uid, gid);
}

/* ---- the expected side: the blob's entries ---- */

static int hash_entry_data(struct layer_reader *r, char digest[OCI_DIGEST_SIZE],
			   struct petra_error **err)
{
	static const char zeros[4096];
	struct oci_hasher h;
	oci_hasher_init(&h);
	int64_t end = 0;
	for (;;) {
		const void *data;
		size_t len;
		int64_t offset;
		int e = layer_reader_data_block(r, &data, &len, &offset, err);
		if (e < 0) {
			oci_hasher_release(&h);
			return e;
		}
		if (e == 0)
			break;
		/* A sparse file's holes read as zeros on disk. */
		for (; end < offset; end += (int64_t)sizeof(zeros))
			oci_hasher_update(&h, zeros,
					  (size_t)(offset - end < (int64_t)sizeof(zeros)
						       ? offset - end
						       : (int64_t)sizeof(zeros)));
		oci_hasher_update(&h, data, len);
		end = offset + (int64_t)len;
	}
	oci_hasher_final(&h, digest);
	return 0;
}

static int expect_entry(struct describe *d, struct layer_reader *r, struct archive_entry *entry,
			json_t *opaque, struct petra_error **err)
{
	_cleanup_free_ char *path = NULL;
	int e = layer_clean_path(archive_entry_pathname(entry), &path, err);
	if (e < 0 || !*path)
		return e;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	if (!strncmp(base, ".wh.", 4)) {
		_cleanup_free_ char *dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);
		if (!strcmp(base, ".wh..wh..opq")) {
			json_object_set_new_nocheck(opaque, dir, json_true());
			return 0;
		}
		if (!strncmp(base, ".wh..wh.", 8))
			return 0;
		_cleanup_free_ char *victim = *dir ? path_join(dir, base + 4) : xstrdup(base + 4);
		strbuf_addstr(&sb, "c 0");
		owner(d, &sb, 0, 0);
		strbuf_addstr(&sb, " 0:0");
		put(d->records, victim, sb.buf);
		return 0;
	}
	const char *link = archive_entry_hardlink(entry);
	if (link) {
		_cleanup_free_ char *target = NULL;
		e = layer_clean_path(link, &target, err);
		if (e < 0)
			return e;
		const char *rec = get(d->records, target);
		put(d->records, path, rec ? rec : "missing hardlink target");
		return 0;
	}
	unsigned mode = archive_entry_perm(entry) & 07777;
	unsigned uid = (unsigned)archive_entry_uid(entry), gid = (unsigned)archive_entry_gid(entry);
	switch (archive_entry_filetype(entry)) {
	case AE_IFREG: {
		char digest[OCI_DIGEST_SIZE];
		e = hash_entry_data(r, digest, err);
		if (e < 0)
			return e;
		strbuf_addf(&sb, "f %o", mode);
		owner(d, &sb, uid, gid);
		strbuf_addf(&sb, " %lld %s", (long long)archive_entry_size(entry), digest);
		break;
	}
	case AE_IFDIR:
		strbuf_addf(&sb, "d %o", d->owners ? mode : mode | 0700);
		owner(d, &sb, uid, gid);
		break;
	case AE_IFLNK:
		strbuf_addstr(&sb, "l");
		owner(d, &sb, uid, gid);
		strbuf_addf(&sb, " -> %s", archive_entry_symlink(entry));
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		strbuf_addf(&sb, "%c %o", archive_entry_filetype(entry) == AE_IFCHR ? 'c' : 'b',
			    mode);
		owner(d, &sb, uid, gid);
		strbuf_addf(&sb, " %u:%u", (unsigned)archive_entry_rdevmajor(entry),
			    (unsigned)archive_entry_rdevminor(entry));
		break;
	default:
		strbuf_addf(&sb, "p %o", mode);
		owner(d, &sb, uid, gid);
		break;
	}
	put(d->records, path, sb.buf);
	return 0;
}

static int expect_layer(struct describe *d, struct petra_store *store,
			const struct oci_descriptor *layer, const char *diff_id,
			struct petra_error **err)
{
	/* max_ratio -1: nothing is written, no bomb to fear. */
	_cleanup_close_ int fd = -1;
	struct layer_reader *reader = NULL;
	int r = image_open_layer(store, layer, diff_id, -1, NULL, &fd, &reader, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *opaque = json_object();
	for (;;) {
		struct archive_entry *entry;
		r = layer_reader_next(reader, &entry, err);
		if (r <= 0)
			break;
		r = expect_entry(d, reader, entry, opaque, err);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = layer_reader_finish(reader, err);
	layer_reader_close(reader);
	if (r < 0)
		return r;
	/* Parents the layer did not list are created by layer_apply. */
	const char *path;
	json_t *value;
	_cleanup_strvec_ struct strvec parents = STRVEC_INIT;
	json_object_foreach(d->records, path, value)
	{
		_cleanup_free_ char *p = xstrdup(path);
		char *slash;
		while ((slash = strrchr(p, '/'))) {
			*slash = '\0';
			if (get(d->records, p))
				break;
			strvec_push(&parents, p);
		}
	}
	for (size_t i = 0; i < parents.n; i++)
		if (!get(d->records, parents.v[i]))
			put(d->records, parents.v[i], IMPLICIT_DIR);
	json_object_foreach(opaque, path, value)
	{
		if (!*path)
			continue; /* the root's opaque marker is not compared */
		const char *rec = get(d->records, path);
		_cleanup_free_ char *marked = xasprintf("%s opaque", rec ? rec : IMPLICIT_DIR);
		put(d->records, path, marked);
	}
	return 0;
}

/* ---- the actual side: the tree on disk ---- */

/* One entry of the extracted layer, described as expect_layer describes
 * the layer's entry (fs_walk enters the directories). */
static int describe_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	struct describe *d = ctx;
	int dir_fd = e->dirfd;
	const char *name = e->name, *path = e->path;
	struct stat st = e->st;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	unsigned mode = st.st_mode & 07777;
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return petra_error_set_errno(err, errno, "open %s", path);
		struct oci_hasher h;
		oci_hasher_init(&h);
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			oci_hasher_update(&h, buf, (size_t)n);
		if (n < 0) {
			oci_hasher_release(&h);
			return petra_error_set_errno(err, errno, "read %s", path);
		}
		char digest[OCI_DIGEST_SIZE];
		oci_hasher_final(&h, digest);
		strbuf_addf(&sb, "f %o", mode);
		owner(d, &sb, st.st_uid, st.st_gid);
		strbuf_addf(&sb, " %lld %s", (long long)st.st_size, digest);
	} else if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int fd =
		    openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return petra_error_set_errno(err, errno, "open %s", path);
		strbuf_addf(&sb, "d %o", mode);
		owner(d, &sb, st.st_uid, st.st_gid);
		char v;
		const char *key = rootfs_opaque_xattr();
		bool opaque = fgetxattr(fd, key, &v, 1) == 1 && v == 'y';
		if (opaque)
			strbuf_addstr(&sb, " opaque");
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dir_fd, name, target, sizeof(target) - 1);
		if (n < 0)
			return petra_error_set_errno(err, errno, "read symlink %s", path);
		target[n] = '\0';
		strbuf_addstr(&sb, "l");
		owner(d, &sb, st.st_uid, st.st_gid);
		strbuf_addf(&sb, " -> %s", target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		strbuf_addf(&sb, "%c %o", S_ISCHR(st.st_mode) ? 'c' : 'b', mode);
		owner(d, &sb, st.st_uid, st.st_gid);
		strbuf_addf(&sb, " %u:%u", major(st.st_rdev), minor(st.st_rdev));
	} else {
		strbuf_addf(&sb, "p %o", mode);
		owner(d, &sb, st.st_uid, st.st_gid);
	}
	put(d->records, path, sb.buf);
	return 0;
}

static int describe_tree(struct describe *d, int dir_fd, struct petra_error **err)
{
	static const struct fs_walk_ops ops = {.pre = describe_entry};
	return fs_walk(dir_fd, "", 0, &ops, d, err);
}

/* ---- comparing ---- */

static bool same(const char *expected, const char *actual)
{
	if (!strncmp(expected, IMPLICIT_DIR, strlen(IMPLICIT_DIR))) {
		bool want_opaque = strstr(expected, " opaque") != NULL;
		return actual[0] == 'd' && want_opaque == (strstr(actual, " opaque") != NULL);
	}
	return !strcmp(expected, actual);
}

static unsigned compare(json_t *expected, json_t *actual, const char *diff_id,
			petra_store_report_fn report, void *ctx)
{
	unsigned problems = 0;
	const char *path;
	json_t *value;
	json_object_foreach(expected, path, value)
	{
		const char *want = json_string_value(value);
		const char *have = get(actual, path);
		if (have && same(want, have))
			continue;
		problems++;
		if (report) {
			_cleanup_free_ char *q = str_quote(path);
			_cleanup_free_ char *msg =
			    have ? xasprintf("%s: is \"%s\", the layer says \"%s\"", q, have, want)
				 : xasprintf("%s: missing", q);
			report(ctx, diff_id, msg);
		}
	}
	json_object_foreach(actual, path, value)
	{
		if (get(expected, path))
			continue;
		problems++;
		if (report) {
			_cleanup_free_ char *q = str_quote(path);
			_cleanup_free_ char *msg = xasprintf("%s: not in the layer", q);
			report(ctx, diff_id, msg);
		}
	}
	return problems;
}

/* A layer not extracted: its blob must still be there and hash to its
 * digest and diff_id (verify must not say "ok" over a corrupt or missing
 * blob that a later run would extract). */
static void verify_blob(struct petra_store *store, const struct oci_descriptor *layer,
			const char *diff_id, size_t index, petra_store_report_fn report, void *ctx,
			unsigned *problems)
{
	struct layer_reader_options ro = {
	    .expected_digest = layer->digest,
	    .expected_diff_id = diff_id,
	    .max_ratio = -1, /* verification writes nothing */
	};
	/* A foreign layer nobody fetched is a reference, not a loss. */
	if (oci_media_type_is_foreign(layer->media_type) &&
	    !petra_store_has_blob(store, layer->digest))
		return;
	_cleanup_error_ struct petra_error *e = NULL;
	int r = layer_compression_from_media_type(layer->media_type, &ro.compression, &e);
	_cleanup_close_ int fd = r < 0 ? -1 : petra_store_open_blob(store, layer->digest, &e);
	if (fd >= 0)
		r = layer_verify_fd(fd, &ro, &e);
	if (r >= 0 && fd >= 0)
		return;
	if (problems)
		(*problems)++;
	if (report) {
		_cleanup_free_ char *msg = xasprintf("layer %zu (not extracted): %s", index + 1,
						     e ? e->message : "unreadable");
		report(ctx, diff_id, msg);
	}
}

int rootfs_verify(struct petra_store *store, const struct image *img, petra_store_report_fn report,
		  void *ctx, unsigned *problems, struct petra_error **err)
{
	for (size_t i = 0; i < img->manifest.n_layers; i++) {
		/* Signatures and attestations (cosign's .sig and .att manifests)
		 * carry JSON, not filesystems: nothing is extracted from them, and
		 * the store check hashes their blobs. */
		if (oci_media_type_kind(img->manifest.layers[i].media_type) != OCI_KIND_LAYER)
			continue;
		const char *diff_id = img->config.diff_ids.v[i];
		_cleanup_free_ char *dir = rootfs_layer_dir(store, diff_id);
		_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT) {
				verify_blob(store, &img->manifest.layers[i], diff_id, i, report,
					    ctx, problems);
				continue;
			}
			return petra_error_set_errno(err, errno, "open %s", dir);
		}
		bool owners = geteuid() == 0;
		struct describe want = {.records = json_object(), .owners = owners};
		struct describe have = {.records = json_object(), .owners = owners};
		int r = expect_layer(&want, store, &img->manifest.layers[i], diff_id, err);
		if (r < 0)
			petra_error_prefix(err, "layer %zu", i + 1);
		else
			r = describe_tree(&have, fd, err);
		if (r == 0 && problems)
			*problems += compare(want.records, have.records, diff_id, report, ctx);
		json_decref(want.records);
		json_decref(have.records);
		if (r < 0)
			return r;
	}
	return 0;
}
