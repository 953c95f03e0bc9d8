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

#define BUF_SIZE          (1u << 20)
#define DOCUMENT_MAX_SIZE (16u << 20)

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

/* A file of the archive: its path and the blob it was stored as.
 * Symlinks (docker links a layer shared by two images to its first copy)
 * are kept as their resolved target and followed at lookup. */
struct docker_file {
	char *path;
	char *link; /* a symlink: the path it resolves to; NULL for a file */
	char digest[OCI_DIGEST_SIZE];
	int64_t size;
	enum layer_compression compression;
};

struct docker_archive {
	struct docker_file *files;
	size_t n, alloc;
	json_t *manifest; /* manifest.json */
};

static void docker_archive_release(struct docker_archive *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->files[i].path);
		free(d->files[i].link);
	}
	free(d->files);
	json_decref(d->manifest);
}

static const struct docker_file *docker_file_find(const struct docker_archive *d, const char *path,
						  int hops)
{
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->files[i].path, path))
			continue;
		if (!d->files[i].link)
			return &d->files[i];
		return hops < 8 ? docker_file_find(d, d->files[i].link, hops + 1) : NULL;
	}
	return NULL;
}

/* One regular file of the archive into the store as it streams by (a
 * layer is read once, whatever the archive's order; files no image uses
 * are left for prune), noting a gzip or zstd layer from its magic. */
static int docker_file_store(struct archive *a, struct petra_store *store, char *buf,
			     struct docker_file *f, const char *what, struct petra_error **err)
{
	struct petra_blob_writer *w;
	int r = petra_store_blob_begin(store, &w, err);
	if (r < 0)
		return r;
	la_ssize_t got;
	bool first = true;
	while (r == 0 && (got = archive_read_data(a, buf, BUF_SIZE)) > 0) {
		const unsigned char *u = (const unsigned char *)buf;
		if (first && got >= 4 && u[0] == 0x1f && u[1] == 0x8b)
			f->compression = LAYER_COMPRESSION_GZIP;
		else if (first && got >= 4 && u[0] == 0x28 && u[1] == 0xb5 && u[2] == 0x2f &&
			 u[3] == 0xfd)
			f->compression = LAYER_COMPRESSION_ZSTD;
		first = false;
		r = petra_store_blob_write(w, buf, (size_t)got, err);
	}
	if (r == 0 && got < 0)
		r = petra_error_set(err, EIO, "%s: %s: %s", what, f->path, archive_error_string(a));
	if (r < 0) {
		petra_store_blob_abort(w);
		return r;
	}
	return petra_store_blob_commit(w, NULL, f->digest, &f->size, err);
}

/* Read the whole archive once: manifest.json kept, every other regular
 * file stored as a blob, symlinks resolved against their directory. */
static int docker_archive_read(struct petra_store *store, const char *file, const char *what,
			       struct docker_archive *d, struct petra_error **err)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", file);
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int r = 0;
	if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK)
		r = petra_error_set(err, EINVAL, "%s: %s", what, archive_error_string(a));
	_cleanup_free_ char *buf = xmalloc(BUF_SIZE);
	while (r == 0) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = petra_error_set(err, EINVAL, "%s: %s", what, archive_error_string(a));
			break;
		}
		_cleanup_free_ char *path = NULL;
		r = layer_clean_path(archive_entry_pathname(e), &path, err);
		if (r < 0)
			break;
		mode_t type = archive_entry_filetype(e);
		if (type == AE_IFLNK) {
			const char *target = archive_entry_symlink(e);
			const char *slash = strrchr(path, '/');
			_cleanup_free_ char *joined =
			    target && target[0] != '/' && slash
				? xasprintf("%.*s/%s", (int)(slash - path), path, target)
				: xstrdup(target ? target : "");
			char *resolved = NULL;
			if (layer_clean_path(joined, &resolved, NULL) < 0)
				continue;
			xgrow((void **)&d->files, &d->alloc, d->n + 1, sizeof(*d->files));
			d->files[d->n++] =
			    (struct docker_file){.path = steal_pointer(&path), .link = resolved};
			continue;
		}
		if (type != AE_IFREG)
			continue;
		if (!strcmp(path, "manifest.json")) {
			if (archive_entry_size(e) > (int64_t)DOCUMENT_MAX_SIZE) {
				r = petra_error_set(err, EFBIG, "%s: manifest.json too large",
						    what);
				break;
			}
			struct strbuf sb = STRBUF_INIT;
			la_ssize_t got;
			while ((got = archive_read_data(a, buf, BUF_SIZE)) > 0)
				strbuf_add(&sb, buf, (size_t)got);
			json_decref(d->manifest);
			d->manifest = NULL;
			if (got < 0)
				r = petra_error_set(err, EIO, "%s: %s", what,
						    archive_error_string(a));
			else if (!(d->manifest = json_parse_buffer(strbuf_str(&sb), sb.len,
								   "manifest.json", err)))
				r = petra_error_prefix(err, "%s", what);
			strbuf_release(&sb);
			continue;
		}
		struct docker_file f = {.path = steal_pointer(&path)};
		r = docker_file_store(a, store, buf, &f, what, err);
		if (r < 0) {
			free(f.path);
			break;
		}
		xgrow((void **)&d->files, &d->alloc, d->n + 1, sizeof(*d->files));
		d->files[d->n++] = f;
	}
	archive_read_free(a);
	if (r == 0 && !d->manifest)
		r = petra_error_set(err, EINVAL, "%s: not a docker archive (no manifest.json)",
				    what);
	return r;
}

/* Does layer file lf (layer i, path lp, of the image) hold the tar whose
 * digest is diff_id? An uncompressed one is its own diff_id; a compressed
 * one (docker load takes those too) is read through. */
static int docker_layer_check(struct petra_store *store, const struct docker_file *lf,
			      const char *diff_id, const char *what, size_t i, const char *lp,
			      struct petra_error **err)
{
	if (lf->compression == LAYER_COMPRESSION_NONE) {
		if (!strcmp(lf->digest, diff_id))
			return 0;
		return petra_error_set(err, EINVAL,
				       "%s: layer %zu (%s) hashes to %s, its diff_id is %s", what,
				       i + 1, lp, lf->digest, diff_id);
	}
	_cleanup_close_ int fd = petra_store_open_blob(store, lf->digest, err);
	if (fd < 0)
		return fd;
	struct layer_reader_options o = {.compression = lf->compression,
					 .expected_digest = lf->digest,
					 .expected_diff_id = diff_id};
	int r = layer_verify_fd(fd, &o, err);
	return r < 0 ? petra_error_prefix(err, "%s: layer %zu (%s)", what, i + 1, lp) : 0;
}

/* One image of manifest.json into the store: its config as it is, its
 * layer tarballs as OCI layers (each must hash to its diff_id), an OCI
 * manifest around them. */
static int docker_archive_image(struct petra_store *store, const struct docker_archive *d,
				const json_t *entry, const char *what,
				struct oci_descriptor *manifest_desc, struct petra_error **err)
{
	const char *config_path = json_get_string(entry, "Config");
	const json_t *layers = json_object_get(entry, "Layers");
	if (!config_path || !json_is_array(layers))
		return petra_error_set(
		    err, EINVAL, "%s: manifest.json: an entry without Config or Layers", what);
	const struct docker_file *cf = docker_file_find(d, config_path, 0);
	if (!cf)
		return petra_error_set(err, EINVAL, "%s: %s is not in the archive", what,
				       config_path);
	_cleanup_free_ char *config_raw = NULL;
	size_t config_len;
	int r = petra_store_read_blob(store, cf->digest, DOCUMENT_MAX_SIZE, &config_raw,
				      &config_len, err);
	struct oci_config config = {0};
	if (r == 0)
		r = oci_config_parse(config_raw, config_len, &config, err);
	if (r < 0)
		return petra_error_prefix(err, "%s: %s", what, config_path);
	size_t n = json_array_size(layers);
	if (config.diff_ids.n != n) {
		oci_config_release(&config);
		return petra_error_set(err, EINVAL, "%s: %zu layers but %zu diff_ids in %s", what,
				       n, config.diff_ids.n, config_path);
	}
	struct oci_descriptor *descs = xcalloc(n + 1, sizeof(*descs));
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *lp = json_string_value(json_array_get(layers, i));
		const struct docker_file *lf = lp ? docker_file_find(d, lp, 0) : NULL;
		if (!lf) {
			r = petra_error_set(err, EINVAL, "%s: layer %zu (%s) is not in the archive",
					    what, i + 1, lp ? lp : "?");
			break;
		}
		r = docker_layer_check(store, lf, config.diff_ids.v[i], what, i, lp, err);
		if (r < 0)
			break;
		descs[i].media_type = (char *)layer_media_type(lf->compression);
		memcpy(descs[i].digest, lf->digest, OCI_DIGEST_SIZE);
		descs[i].size = lf->size;
	}
	oci_config_release(&config);
	if (r == 0) {
		struct oci_descriptor config_desc = {.media_type = (char *)OCI_MEDIA_TYPE_CONFIG,
						     .size = cf->size};
		memcpy(config_desc.digest, cf->digest, OCI_DIGEST_SIZE);
		json_t *manifest = oci_manifest_build(&config_desc, descs, n, NULL);
		r = petra_store_put_json(store, manifest, OCI_MEDIA_TYPE_MANIFEST, manifest_desc,
					 err);
		json_decref(manifest);
	}
	free(descs);
	return r;
}

/* NAME[:TAG] as the store spells it; a tag is needed. */
static char *docker_archive_name(const char *name, struct petra_error **err)
{
	struct oci_ref ref;
	if (oci_ref_parse(name, &ref, err) < 0)
		return NULL;
	char *s = ref.tag ? oci_ref_format(&ref) : NULL;
	oci_ref_release(&ref);
	if (!s)
		petra_error_set(err, EINVAL, "name \"%s\": a tag is needed, not only a digest",
				name);
	return s;
}

int image_load_docker_archive(struct petra_store *store, const char *file,
			      const struct image_load_options *o, struct strvec *names,
			      struct petra_error **err)
{
	static const struct image_load_options no_options;
	if (!o)
		o = &no_options;
	_cleanup_free_ char *what = xasprintf("docker-archive:%s", file);
	struct docker_archive d = {0};
	int r = docker_archive_read(store, file, what, &d, err);
	size_t n = json_array_size(d.manifest);
	if (r == 0 && (!json_is_array(d.manifest) || n == 0))
		r = petra_error_set(err, EINVAL, "%s: manifest.json lists no image", what);
	if (r == 0 && o->name && n > 1)
		r = petra_error_set(err, EINVAL,
				    "%s holds %zu images: each is named by its RepoTags, "
				    "a single name cannot be given",
				    what, n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const json_t *entry = json_array_get(d.manifest, i);
		struct oci_descriptor manifest;
		r = docker_archive_image(store, &d, entry, what, &manifest, err);
		if (r < 0)
			break;
		struct strvec tags = STRVEC_INIT;
		const json_t *repo_tags = json_object_get(entry, "RepoTags");
		for (size_t k = 0; r == 0 && k < (o->name ? 1 : json_array_size(repo_tags)); k++) {
			const char *t =
			    o->name ? o->name : json_string_value(json_array_get(repo_tags, k));
			char *nm = t ? docker_archive_name(t, err) : NULL;
			if (t && !nm)
				r = petra_error_prefix(err, "%s", what);
			else if (nm)
				strvec_push(&tags, nm);
			free(nm);
		}
		if (r == 0 && !tags.n && o->untagged)
			strvec_push(&tags, o->untagged);
		for (size_t k = 0; r == 0 && k < tags.n; k++) {
			r = petra_store_set_ref(store, tags.v[k], &manifest, err);
			if (r == 0)
				strvec_pushf(names, "%s %s", tags.v[k], manifest.digest);
		}
		if (r == 0 && !tags.n)
			strvec_pushf(names, "<none> %s", manifest.digest);
		strvec_clear(&tags);
		oci_descriptor_release(&manifest);
	}
	docker_archive_release(&d);
	return r;
}
