/* SPDX-License-Identifier: Apache-2.0 */
/* Loading, unpacking and verifying images. */
#include "image.h"

#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#define DOCUMENT_MAX_SIZE (16u << 20)
/* The temporary directory an unpack writes beside its target. */
#define UNPACK_PREFIX ".petra-unpack-"

void image_release(struct image *img)
{
	free(img->name);
	oci_descriptor_release(&img->desc);
	oci_manifest_release(&img->manifest);
	oci_config_release(&img->config);
	free(img->config_raw);
	memset(img, 0, sizeof(*img));
}

const char *image_tag(const struct image *img)
{
	if (!img->name)
		return "latest";
	const char *slash = strrchr(img->name, '/');
	const char *colon = strrchr(slash ? slash : img->name, ':');
	return colon ? colon + 1 : "latest";
}

int image_open_layer(struct petra_store *store, const struct oci_descriptor *layer,
		     const char *diff_id, int max_ratio, struct progress *progress, int *fd,
		     struct layer_reader **reader, struct petra_error **err)
{
	struct layer_reader_options ro = {
	    .expected_digest = layer->digest,
	    .expected_diff_id = diff_id,
	    .max_ratio = max_ratio,
	    .progress = progress,
	};
	int r = layer_compression_from_media_type(layer->media_type, &ro.compression, err);
	if (r < 0)
		return r;
	if (oci_media_type_is_foreign(layer->media_type) &&
	    !petra_store_has_blob(store, layer->digest))
		return petra_error_set(err, ENOENT,
				       "layer %s is a foreign (non-distributable) layer and its "
				       "blob is not in the store",
				       layer->digest);
	*fd = petra_store_open_blob(store, layer->digest, err);
	if (*fd < 0)
		return *fd;
	posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r = layer_reader_open(*fd, &ro, reader, err);
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

const json_t *image_layer_step(const struct image *img, size_t layer, size_t *step)
{
	json_t *history = json_object_get(img->config.json, "history");
	size_t seen = 0;
	for (size_t i = 0; i < json_array_size(history); i++) {
		json_t *h = json_array_get(history, i);
		if (json_is_true(json_object_get(h, "empty_layer")))
			continue;
		if (seen++ == layer) {
			if (step)
				*step = i;
			return h;
		}
	}
	return NULL;
}

/* Load manifest and config for a manifest descriptor (an index is narrowed
 * to this machine's platform). */
static int load_descriptor(struct petra_store *store, struct image *img, struct petra_error **err)
{
	for (int depth = 0; oci_media_type_kind(img->desc.media_type) == OCI_KIND_INDEX; depth++) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		if (depth >= OCI_INDEX_MAX_DEPTH)
			return petra_error_set(err, EINVAL,
					       "image indexes nested more than %d deep",
					       OCI_INDEX_MAX_DEPTH);
		int r = petra_store_read_blob(store, img->desc.digest, DOCUMENT_MAX_SIZE, &data,
					      &len, err);
		if (r < 0)
			return r;
		struct oci_index idx;
		r = oci_index_parse(data, len, &idx, err);
		if (r < 0)
			return petra_error_prefix(err, "%s", img->desc.digest);
		int pick = oci_index_select_platform(&idx, err);
		if (pick >= 0) {
			oci_descriptor_release(&img->desc);
			oci_descriptor_copy(&img->desc, &idx.manifests[pick]);
		}
		oci_index_release(&idx);
		if (pick < 0)
			return pick;
	}
	if (oci_media_type_kind(img->desc.media_type) != OCI_KIND_MANIFEST)
		return petra_error_set(err, EINVAL,
				       "%s: media type \"%s\" is not an image manifest",
				       img->desc.digest, img->desc.media_type);
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = petra_store_read_blob(store, img->desc.digest, DOCUMENT_MAX_SIZE, &data, &len, err);
	if (r < 0)
		return r;
	r = oci_manifest_parse(data, len, &img->manifest, err);
	if (r < 0)
		return petra_error_prefix(err, "%s", img->desc.digest);
	r = petra_store_read_blob(store, img->manifest.config.digest, DOCUMENT_MAX_SIZE,
				  &img->config_raw, &img->config_len, err);
	if (r < 0)
		return petra_error_prefix(err, "config");
	r = oci_config_parse(img->config_raw, img->config_len, &img->config, err);
	if (r < 0)
		return petra_error_prefix(err, "%s", img->manifest.config.digest);
	if (img->config.diff_ids.n != img->manifest.n_layers)
		return petra_error_set(
		    err, EINVAL, "%s: the manifest has %zu layers but the config %zu diff_ids",
		    img->desc.digest, img->manifest.n_layers, img->config.diff_ids.n);
	return 0;
}

int image_load(struct petra_store *store, const char *ref, struct image *img,
	       struct petra_error **err)
{
	memset(img, 0, sizeof(*img));
	int r = petra_store_resolve(store, ref, &img->desc, &img->name, err);
	if (r == 0)
		r = load_descriptor(store, img, err);
	if (r < 0)
		image_release(img);
	return r;
}

/* ---- unpack ---- */

static int apply_layers(struct petra_store *store, const struct image *img, int root_fd,
			const struct image_unpack_options *o, struct petra_error **err)
{
	uint64_t total = 0;
	for (size_t i = 0; i < img->manifest.n_layers; i++)
		total += (uint64_t)img->manifest.layers[i].size;
	struct progress progress;
	progress_begin(&progress, "unpacking", total);
	int r = 0;
	for (size_t i = 0; i < img->manifest.n_layers && r == 0; i++) {
		const struct oci_descriptor *layer = &img->manifest.layers[i];
		char short_digest[13];
		oci_digest_short(layer->digest, short_digest);
		_cleanup_close_ int fd = -1;
		struct layer_reader *reader = NULL;
		r = image_open_layer(store, layer, img->config.diff_ids.v[i], o ? o->max_ratio : 0,
				     &progress, &fd, &reader, err);
		if (r == 0) {
			struct layer_apply_options ao = {
			    .flags = o ? o->apply_flags : 0,
			    .setid_stripped = o ? o->setid_stripped : NULL,
			};
			r = layer_apply(reader, root_fd, &ao, err);
		}
		layer_reader_close(reader);
		if (r < 0)
			petra_error_prefix(err, "layer %zu (sha256:%s)", i + 1, short_digest);
	}
	progress_end(&progress);
	return r;
}

static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

int image_unpack(struct petra_store *store, const char *ref, const char *target_arg,
		 const struct image_unpack_options *o, struct petra_error **err)
{
	_cleanup_free_ char *target = xstrdup(target_arg);
	size_t tl = strlen(target);
	while (tl > 1 && target[tl - 1] == '/')
		target[--tl] = '\0';
	struct stat st;
	bool replace_empty = false;
	if (lstat(target, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || !dir_is_empty(target))
			return petra_error_set(err, EEXIST,
					       "%s exists and is not an empty directory", target);
		replace_empty = true;
	}
	struct image img;
	int r = image_load(store, ref, &img, err);
	if (r < 0)
		return r;
	/* Unpack next to the target and rename it into place at the end: the
	 * target appears complete or not at all. */
	_cleanup_free_ char *parent = parent_dir(target);
	_cleanup_close_ int parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent_fd < 0) {
		r = petra_error_set_errno(err, errno, "open %s", parent);
		image_release(&img);
		return r;
	}
	const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	/* A fresh directory of our own: a random name (another user may have
	 * made any predictable one in a shared parent), mode 0700 until done,
	 * and checked to be ours through the descriptor everything is written
	 * through. */
	/* What unpacks that were killed left here (their lock is gone; a live
	 * one holds its directory, see below). */
	fs_sweep_temporaries(parent_fd, UNPACK_PREFIX, true, NULL, NULL);
	_cleanup_free_ char *tmp = NULL;
	int root_fd = -1;
	for (int attempt = 0; attempt < 16 && root_fd < 0 && r == 0; attempt++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ (uint64_t)attempt;
		free(tmp);
		tmp = xasprintf(UNPACK_PREFIX "%016llx", (unsigned long long)rnd);
		if (mkdirat(parent_fd, tmp, 0700) < 0) {
			if (errno != EEXIST)
				r = petra_error_set_errno(err, errno, "create %s/%s", parent, tmp);
			continue;
		}
		root_fd = openat(parent_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (root_fd < 0 && errno == ENOENT) {
			/* Another unpack's sweep took it before we could
			 * hold it (nobody held it yet): make another. */
			free(tmp);
			tmp = NULL;
			continue;
		}
		struct stat rst;
		if (root_fd < 0 || fstat(root_fd, &rst) < 0 || rst.st_uid != geteuid() ||
		    (rst.st_mode & 0077) != 0) {
			r = petra_error_set(err, EPERM, "%s/%s: not the directory petra just made",
					    parent, tmp);
			if (root_fd >= 0)
				close(root_fd);
			root_fd = -1;
			free(tmp);
			tmp = NULL; /* not ours: never remove it */
		} else {
			/* Held until renamed, so another unpack's sweep spares it. */
			int h = fs_hold_temporary(root_fd);
			if (h < 0) {
				close(root_fd);
				root_fd = -1;
				if (h != -ESTALE)
					r = petra_error_set_errno(err, -h, "lock %s/%s", parent,
								  tmp);
				free(tmp);
				tmp = NULL;
			}
		}
	}
	if (r == 0 && root_fd < 0)
		r = petra_error_set(
		    err, EEXIST, "create a temporary directory in %s: too many collisions", parent);
	if (r == 0) {
		r = apply_layers(store, &img, root_fd, o, err);
		/* Without a root entry in any layer, the root gets the usual 0755. */
		struct stat rst;
		if (r == 0 && fstat(root_fd, &rst) == 0 && (rst.st_mode & 0777) == 0700 &&
		    fchmod(root_fd, 0755) < 0)
			r = petra_error_set_errno(err, errno, "chmod %s", target);
	}
	if (r == 0 && replace_empty && unlinkat(parent_fd, base, AT_REMOVEDIR) < 0)
		r = petra_error_set_errno(err, errno, "replace empty directory %s", target);
	if (r == 0 && renameat(parent_fd, tmp, parent_fd, base) < 0)
		r = petra_error_set_errno(err, errno, "rename the unpacked tree to %s", target);
	if (r < 0 && tmp) {
		_cleanup_error_ struct petra_error *cleanup = NULL;
		if (fs_remove_tree_at(parent_fd, tmp, &cleanup) < 0)
			log_warn("could not remove the partial tree: %s", cleanup->message);
	}
	if (root_fd >= 0)
		close(root_fd); /* the lock goes after the rename or removal */
	image_release(&img);
	return r;
}

/* ---- deep verification ---- */

static void verify_manifest(struct petra_store *store, const struct oci_descriptor *desc,
			    struct strset *done, petra_store_report_fn report, void *ctx,
			    unsigned *problems)
{
	struct image img = {0};
	_cleanup_error_ struct petra_error *e = NULL;
	oci_descriptor_copy(&img.desc, desc);
	if (load_descriptor(store, &img, &e) < 0) {
		/* Missing or corrupt documents are the store check's to report. */
		image_release(&img);
		return;
	}
	for (size_t i = 0; i < img.manifest.n_layers; i++) {
		const struct oci_descriptor *layer = &img.manifest.layers[i];
		/* An artifact's "layers" (cosign signatures: JSON payloads) are
		 * no filesystem layers; the store check hashes their blobs. */
		if (oci_media_type_kind(layer->media_type) != OCI_KIND_LAYER)
			continue;
		_cleanup_free_ char *key =
		    xasprintf("%s %s", layer->digest, img.config.diff_ids.v[i]);
		if (!strset_add(done, key) || !petra_store_has_blob(store, layer->digest))
			continue;
		struct layer_reader_options ro = {
		    .expected_digest = layer->digest,
		    .expected_diff_id = img.config.diff_ids.v[i],
		    .max_ratio = -1, /* verification writes nothing */
		};
		_cleanup_error_ struct petra_error *le = NULL;
		int r = layer_compression_from_media_type(layer->media_type, &ro.compression, &le);
		_cleanup_close_ int fd =
		    r < 0 ? -1 : petra_store_open_blob(store, layer->digest, &le);
		if (fd >= 0)
			r = layer_verify_fd(fd, &ro, &le);
		if (r < 0 || fd < 0) {
			(*problems)++;
			if (report) {
				_cleanup_free_ char *msg = xasprintf("layer %zu of %s: %s", i + 1,
								     desc->digest, le->message);
				report(ctx, layer->digest, msg);
			}
		}
	}
	image_release(&img);
}

int image_verify_layers(struct petra_store *store, petra_store_report_fn report, void *ctx,
			unsigned *problems, struct petra_error **err)
{
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	int r = petra_store_list(store, &entries, &n, err);
	if (r < 0)
		return r;
	struct strset done = STRSET_INIT;
	unsigned count = 0;
	for (size_t i = 0; i < n; i++)
		verify_manifest(store, &entries[i].desc, &done, report, ctx, &count);
	strset_clear(&done);
	petra_store_entries_free(entries, n);
	if (problems)
		*problems += count;
	return 0;
}
