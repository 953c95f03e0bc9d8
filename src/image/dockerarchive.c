/* SPDX-License-Identifier: Apache-2.0 */
/* The `docker save` archive, both ways: manifest.json
 * ([{"Config": FILE, "RepoTags": [...], "Layers": [FILE, ...]}]), the
 * configs as they are, and each layer as an uncompressed tar named by its
 * diff_id, so docker load and podman load take it and image IDs (config
 * digests) stay the same. Several images share one archive and their
 * common layers. */
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define BUF_SIZE (1u << 20)

static int add_file(struct archive *a, const char *path, const void *data, size_t len,
		    struct petra_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	int ar = archive_write_header(a, e);
	archive_entry_free(e);
	if (ar != ARCHIVE_OK || (len && archive_write_data(a, data, len) != (la_ssize_t)len))
		return petra_error_set(err, EIO, "write %s: %s", path, archive_error_string(a));
	return 0;
}

/* Decompress a layer blob into tmp_fd, checking the blob's digest and the
 * uncompressed bytes against diff_id. */
static int decompress_layer(struct petra_store *store, const struct oci_descriptor *d,
			    const char *diff_id, int tmp_fd, int64_t *size,
			    struct petra_error **err)
{
	_cleanup_close_ int fd = petra_store_open_blob(store, d->digest, err);
	if (fd < 0)
		return fd;
	/* The blob's own digest, checked as libarchive reads it. */
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	int ret = 0;
	struct archive_entry *entry;
	if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK ||
	    archive_read_next_header(a, &entry) != ARCHIVE_OK) {
		ret = petra_error_set(err, EIO, "layer %s: %s", d->digest, archive_error_string(a));
		archive_read_free(a);
		return ret;
	}
	struct oci_hasher h;
	oci_hasher_init(&h);
	_cleanup_free_ char *buf = xmalloc(BUF_SIZE);
	*size = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, BUF_SIZE);
		if (n < 0) {
			ret = petra_error_set(err, EIO, "layer %s: %s", d->digest,
					      archive_error_string(a));
			break;
		}
		if (n == 0)
			break;
		oci_hasher_update(&h, buf, (size_t)n);
		if ((ret = fs_write_all(tmp_fd, buf, (size_t)n)) < 0) {
			ret = petra_error_set_errno(err, -ret, "write a temporary layer");
			break;
		}
		*size += n;
	}
	archive_read_free(a);
	char actual[OCI_DIGEST_SIZE];
	if (ret < 0) {
		oci_hasher_release(&h);
		return ret;
	}
	oci_hasher_final(&h, actual);
	if (diff_id && strcmp(actual, diff_id))
		return petra_error_set(err, EIO,
				       "layer %s: uncompressed content hashes to %s, not %s",
				       d->digest, actual, diff_id);
	/* And the compressed bytes against the blob's digest. */
	if (lseek(fd, 0, SEEK_SET) < 0)
		return petra_error_set_errno(err, errno, "layer %s", d->digest);
	struct oci_hasher bh;
	oci_hasher_init(&bh);
	for (;;) {
		ssize_t n = read(fd, buf, BUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		oci_hasher_update(&bh, buf, (size_t)n);
	}
	oci_hasher_final(&bh, actual);
	if (strcmp(actual, d->digest))
		return petra_error_set(err, EIO, "blob %s is corrupt (content hashes to %s)",
				       d->digest, actual);
	return 0;
}

static int add_layer(struct archive *a, struct petra_store *store, const struct oci_descriptor *d,
		     const char *diff_id, const char *path, struct petra_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int tmp_fd =
	    fs_tmpfile_at(petra_store_root_fd(store), "save-layer", 0600, &tmp, err);
	if (tmp_fd < 0)
		return tmp_fd;
	unlinkat(petra_store_root_fd(store), tmp, 0);
	int64_t size;
	int ret = decompress_layer(store, d, diff_id, tmp_fd, &size, err);
	if (ret < 0)
		return ret;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, size);
	int ar = archive_write_header(a, e);
	archive_entry_free(e);
	if (ar != ARCHIVE_OK)
		return petra_error_set(err, EIO, "write %s: %s", path, archive_error_string(a));
	_cleanup_free_ char *buf = xmalloc(BUF_SIZE);
	for (int64_t off = 0; off < size;) {
		ssize_t n = pread(tmp_fd, buf, BUF_SIZE, off);
		if (n <= 0)
			return petra_error_set_errno(err, n < 0 ? errno : EIO,
						     "read a temporary layer");
		if (archive_write_data(a, buf, (size_t)n) != n)
			return petra_error_set(err, EIO, "write %s: %s", path,
					       archive_error_string(a));
		off += n;
	}
	return 0;
}

int image_save(struct petra_store *store, const char *const *refs, size_t n_refs, const char *file,
	       struct petra_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = fs_tmpfile_at(AT_FDCWD, file, 0644, &tmp, err);
	if (fd < 0)
		return fd;
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	int ret = 0;
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		ret = petra_error_set(err, EIO, "write %s: %s", file, archive_error_string(a));
	json_t *manifest = json_array();
	struct strset added = STRSET_INIT;
	for (size_t i = 0; ret == 0 && i < n_refs; i++) {
		struct image img;
		if ((ret = image_load(store, refs[i], &img, err)) < 0)
			break;
		_cleanup_free_ char *config_path =
		    xasprintf("%s.json", oci_digest_hex(img.manifest.config.digest));
		if (strset_add(&added, config_path))
			ret = add_file(a, config_path, img.config_raw, img.config_len, err);
		json_t *layers = json_array();
		for (size_t l = 0; ret == 0 && l < img.manifest.n_layers; l++) {
			const char *diff_id =
			    l < img.config.diff_ids.n ? img.config.diff_ids.v[l] : NULL;
			if (!diff_id) {
				ret = petra_error_set(err, EINVAL, "%s: layer %zu has no diff_id",
						      refs[i], l);
				break;
			}
			_cleanup_free_ char *path = xasprintf("%s.tar", oci_digest_hex(diff_id));
			if (strset_add(&added, path))
				ret = add_layer(a, store, &img.manifest.layers[l], diff_id, path,
						err);
			json_array_append_new(layers, json_string(path));
		}
		json_t *entry = json_object();
		json_object_set_new(entry, "Config", json_string(config_path));
		json_t *tags = json_array();
		if (img.name)
			json_array_append_new(tags, json_string(img.name));
		json_object_set_new(entry, "RepoTags", tags);
		json_object_set_new(entry, "Layers", layers);
		json_array_append_new(manifest, entry);
		if (ret < 0)
			petra_error_prefix(err, "save %s", refs[i]);
		image_release(&img);
	}
	strset_clear(&added);
	if (ret == 0) {
		size_t len;
		_cleanup_free_ char *text = json_dump_compact(manifest, &len);
		ret = add_file(a, "manifest.json", text, len, err);
	}
	json_decref(manifest);
	if (ret == 0 && archive_write_close(a) != ARCHIVE_OK)
		ret = petra_error_set(err, EIO, "write %s: %s", file, archive_error_string(a));
	archive_write_free(a);
	if (ret == 0 && fsync(fd) < 0)
		ret = petra_error_set_errno(err, errno, "sync %s", tmp);
	if (ret == 0 && rename(tmp, file) < 0)
		ret = petra_error_set_errno(err, errno, "rename %s to %s", tmp, file);
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* ---- load ---- */

struct archive_blob {
	char *path;
	char digest[OCI_DIGEST_SIZE];
	int64_t size;
	enum layer_compression compression;
	char *link; /* a symlink's target path, resolved at the end */
};

struct loaded {
	struct archive_blob *blobs;
	size_t n, alloc;
	char *manifest;
	size_t manifest_len;
};

static const struct archive_blob *find_blob(const struct loaded *l, const char *path,
					    unsigned depth)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->blobs[i].path, path))
			continue;
		if (!l->blobs[i].link)
			return &l->blobs[i];
		if (depth > 8)
			return NULL;
		/* Docker's old layout links a shared layer to its first copy,
		 * relative to the link's directory. */
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		_cleanup_free_ char *target =
		    l->blobs[i].link[0] == '/' || !slash
			? xstrdup(l->blobs[i].link + (l->blobs[i].link[0] == '/'))
			: (*slash = '\0', path_join(dir, l->blobs[i].link));
		_cleanup_free_ char *clean = NULL;
		if (layer_clean_path(target, &clean, NULL) < 0)
			return NULL;
		return find_blob(l, clean, depth + 1);
	}
	return NULL;
}

static int read_entry_to_store(struct archive *a, struct petra_store *store, struct archive_blob *b,
			       struct petra_error **err)
{
	struct petra_blob_writer *w;
	int ret = petra_store_blob_begin(store, &w, err);
	if (ret < 0)
		return ret;
	_cleanup_free_ char *buf = xmalloc(BUF_SIZE);
	bool first = true;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, BUF_SIZE);
		if (n < 0) {
			petra_store_blob_abort(w);
			return petra_error_set(err, EIO, "%s: %s", b->path,
					       archive_error_string(a));
		}
		if (n == 0)
			break;
		if (first && n >= 4) {
			const unsigned char *u = (const unsigned char *)buf;
			if (u[0] == 0x1f && u[1] == 0x8b)
				b->compression = LAYER_COMPRESSION_GZIP;
			else if (u[0] == 0x28 && u[1] == 0xb5 && u[2] == 0x2f && u[3] == 0xfd)
				b->compression = LAYER_COMPRESSION_ZSTD;
		}
		first = false;
		if ((ret = petra_store_blob_write(w, buf, (size_t)n, err)) < 0) {
			petra_store_blob_abort(w);
			return ret;
		}
	}
	return petra_store_blob_commit(w, NULL, b->digest, &b->size, err);
}

static int load_image(struct petra_store *store, const struct loaded *l, const json_t *entry,
		      struct strvec *names, struct petra_error **err)
{
	const char *config_path = json_get_string(entry, "Config");
	json_t *layers = json_object_get(entry, "Layers");
	if (!config_path || !json_is_array(layers))
		return petra_error_set(err, EINVAL,
				       "manifest.json: an entry without Config or Layers");
	const struct archive_blob *cb = find_blob(l, config_path, 0);
	if (!cb)
		return petra_error_set(err, ENOENT, "manifest.json names %s, not in the archive",
				       config_path);
	_cleanup_free_ char *config_raw = NULL;
	size_t config_len;
	int ret =
	    petra_store_read_blob(store, cb->digest, 16u << 20, &config_raw, &config_len, err);
	if (ret < 0)
		return ret;
	struct oci_config config;
	if ((ret = oci_config_parse(config_raw, config_len, &config, err)) < 0)
		return petra_error_prefix(err, "%s", config_path);
	size_t n = json_array_size(layers);
	if (n != config.diff_ids.n) {
		oci_config_release(&config);
		return petra_error_set(err, EINVAL, "%s: %zu layers for %zu diff_ids", config_path,
				       n, config.diff_ids.n);
	}
	struct oci_descriptor *descs = xcalloc(n ? n : 1, sizeof(*descs));
	for (size_t i = 0; ret == 0 && i < n; i++) {
		const char *path = json_string_value(json_array_get(layers, i));
		const struct archive_blob *lb = path ? find_blob(l, path, 0) : NULL;
		if (!lb) {
			ret = petra_error_set(err, ENOENT,
					      "manifest.json names layer %s, not in the archive",
					      path ? path : "(not a string)");
			break;
		}
		if (lb->compression == LAYER_COMPRESSION_NONE &&
		    strcmp(lb->digest, config.diff_ids.v[i])) {
			ret = petra_error_set(err, EIO, "layer %s hashes to %s, its diff_id is %s",
					      path, lb->digest, config.diff_ids.v[i]);
			break;
		}
		descs[i].media_type = xstrdup(layer_media_type(lb->compression));
		memcpy(descs[i].digest, lb->digest, OCI_DIGEST_SIZE);
		descs[i].size = lb->size;
	}
	oci_config_release(&config);
	struct oci_descriptor config_desc = {.media_type = (char *)OCI_MEDIA_TYPE_CONFIG,
					     .size = cb->size};
	memcpy(config_desc.digest, cb->digest, OCI_DIGEST_SIZE);
	if (ret == 0) {
		json_t *m = oci_manifest_build(&config_desc, descs, n, NULL);
		struct oci_descriptor md = {0};
		ret = petra_store_put_json(store, m, OCI_MEDIA_TYPE_MANIFEST, &md, err);
		json_decref(m);
		json_t *tags = json_object_get(entry, "RepoTags");
		for (size_t t = 0; ret == 0 && t < json_array_size(tags); t++) {
			const char *tag = json_string_value(json_array_get(tags, t));
			struct oci_ref ref;
			if (!tag || oci_ref_parse(tag, &ref, err) < 0) {
				ret = tag ? -EINVAL
					  : petra_error_set(
						err, EINVAL,
						"manifest.json: a RepoTag is not a string");
				break;
			}
			_cleanup_free_ char *name = oci_ref_format(&ref);
			oci_ref_release(&ref);
			ret = petra_store_set_ref(store, name, &md, err);
			if (ret == 0)
				strvec_pushf(names, "%s %s", name, md.digest);
		}
		if (ret == 0 && !json_array_size(tags))
			strvec_pushf(names, "<none> %s", md.digest);
		oci_descriptor_release(&md);
	}
	for (size_t i = 0; i < n; i++)
		free(descs[i].media_type);
	free(descs);
	return ret;
}

int image_load_docker_archive(struct petra_store *store, const char *file, struct strvec *names,
			      struct petra_error **err)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "load %s", file);
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	struct loaded l = {0};
	int ret = 0;
	if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK)
		ret = petra_error_set(err, EIO, "load %s: %s", file, archive_error_string(a));
	struct archive_entry *e;
	while (ret == 0) {
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK) {
			ret =
			    petra_error_set(err, EIO, "load %s: %s", file, archive_error_string(a));
			break;
		}
		_cleanup_free_ char *path = NULL;
		if (layer_clean_path(archive_entry_pathname(e), &path, err) < 0) {
			ret = -EINVAL;
			break;
		}
		mode_t type = archive_entry_filetype(e);
		if (!strcmp(path, "manifest.json") && type == AE_IFREG) {
			if (archive_entry_size(e) > (16 << 20)) {
				ret = petra_error_set(err, EFBIG,
						      "load %s: manifest.json is too large", file);
				break;
			}
			struct strbuf sb = STRBUF_INIT;
			char buf[65536];
			la_ssize_t n;
			while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
				strbuf_add(&sb, buf, (size_t)n);
			free(l.manifest);
			l.manifest_len = sb.len;
			l.manifest = strbuf_detach(&sb);
			continue;
		}
		if (type != AE_IFREG && type != AE_IFLNK)
			continue;
		xgrow((void **)&l.blobs, &l.alloc, l.n + 1, sizeof(*l.blobs));
		struct archive_blob *b = &l.blobs[l.n];
		memset(b, 0, sizeof(*b));
		b->path = steal_pointer(&path);
		l.n++;
		if (type == AE_IFLNK) {
			b->link = xstrdup(archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
			continue;
		}
		/* Every file goes into the store as it streams by: a layer is
		 * read once, whatever the order of the archive. Files no image
		 * uses are left for prune. */
		if ((ret = read_entry_to_store(a, store, b, err)) < 0)
			petra_error_prefix(err, "load %s", file);
	}
	archive_read_free(a);
	if (ret == 0 && !l.manifest)
		ret = petra_error_set(err, EINVAL,
				      "load %s: no manifest.json (not a docker archive)", file);
	json_t *doc = NULL;
	if (ret == 0 &&
	    !(doc = json_parse_buffer(l.manifest, l.manifest_len, "manifest.json", err)))
		ret = -EINVAL;
	if (ret == 0 && !json_is_array(doc))
		ret = petra_error_set(err, EINVAL, "load %s: manifest.json is not an array", file);
	for (size_t i = 0; ret == 0 && i < json_array_size(doc); i++)
		if ((ret = load_image(store, &l, json_array_get(doc, i), names, err)) < 0)
			petra_error_prefix(err, "load %s", file);
	json_decref(doc);
	for (size_t i = 0; i < l.n; i++) {
		free(l.blobs[i].path);
		free(l.blobs[i].link);
	}
	free(l.blobs);
	free(l.manifest);
	return ret;
}
