/* SPDX-License-Identifier: Apache-2.0 */
/* Import into and export from the store. */
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#define DOCUMENT_MAX_SIZE (16u << 20)
#define INDEX_MAX_SIZE    (64u << 20)

/* ---- source and destination strings ---- */

struct location {
	char *path;
	char *tag; /* NULL when none was given */
};

static void location_release(struct location *l)
{
	free(l->path);
	free(l->tag);
}

/* "PATH[:TAG]": the whole string is the path when it names an existing
 * file or directory, otherwise a ':' after the last '/' starts the tag. */
static void location_parse(const char *text, struct location *l)
{
	struct stat st;
	const char *slash = strrchr(text, '/');
	const char *colon = strrchr(slash ? slash : text, ':');
	if (stat(text, &st) == 0 || !colon) {
		l->path = xstrdup(text);
		l->tag = NULL;
		return;
	}
	l->path = xstrndup(text, (size_t)(colon - text));
	l->tag = xstrdup(colon + 1);
}

/* A name for an import from a file or directory name: lower case, invalid
 * characters replaced, ":latest" (or the given tag) added. */
static char *name_from_path(const char *path, const char *tag, struct petra_error **err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	static const char *suffixes[] = {".tar.gz", ".tar.zst", ".tar.xz", ".tgz", ".tar"};
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, base);
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);
		if (sb.len > sl && !strcmp(sb.buf + sb.len - sl, suffixes[i])) {
			strbuf_setlen(&sb, sb.len - sl);
			break;
		}
	}
	/* Lower case; runs of anything else than [a-z0-9._] become one '-';
	 * no separator at either end ("My App!" -> "my-app"). */
	struct strbuf clean = STRBUF_INIT;
	for (size_t i = 0; i < sb.len; i++) {
		char c = (char)tolower((unsigned char)sb.buf[i]);
		bool keep = isalnum((unsigned char)c) || c == '.' || c == '_';
		if (keep)
			strbuf_addch(&clean, c);
		else if (clean.len && clean.buf[clean.len - 1] != '-')
			strbuf_addch(&clean, '-');
	}
	while (clean.len && !isalnum((unsigned char)clean.buf[clean.len - 1]))
		strbuf_setlen(&clean, clean.len - 1);
	size_t skip = 0;
	while (skip < clean.len && !isalnum((unsigned char)clean.buf[skip]))
		skip++;
	strbuf_reset(&sb);
	strbuf_addstr(&sb, clean.len ? clean.buf + skip : "");
	strbuf_release(&clean);
	strbuf_addf(&sb, ":%s", tag ? tag : "latest");
	char *name = strbuf_detach(&sb);
	struct oci_ref ref;
	if (oci_ref_parse(name, &ref, NULL) < 0) {
		petra_error_set(err, EINVAL,
				"cannot make an image name from \"%s\": give one with --ref", path);
		free(name);
		return NULL;
	}
	char *formatted = oci_ref_format(&ref);
	oci_ref_release(&ref);
	free(name);
	return formatted;
}

static char *normalise_name(const char *name, struct petra_error **err)
{
	struct oci_ref ref;
	if (oci_ref_parse(name, &ref, err) < 0)
		return NULL;
	if (!ref.tag) {
		oci_ref_release(&ref);
		petra_error_set(err, EINVAL, "name \"%s\": a tag is needed, not only a digest",
				name);
		return NULL;
	}
	char *s = oci_ref_format(&ref);
	oci_ref_release(&ref);
	return s;
}

/* ---- writing a new single-layer image ---- */

static int time_now(time_t *out, bool *reproducible, struct petra_error **err)
{
	int r = petra_source_date_epoch(out, err);
	if (r < 0)
		return r;
	*reproducible = r == 1;
	if (!r)
		*out = time(NULL);
	return 0;
}

/* Config and manifest around one freshly written layer; names it. */
static int commit_rootfs_image(struct petra_store *store, const struct layer_info *layer,
			       const char *created_by, time_t created, const char *name,
			       char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	char when[40];
	time_format_rfc3339(created, when, sizeof(when));
	json_t *config = json_object();
	json_object_set_new(config, "created", json_string(when));
	json_object_set_new(config, "architecture", json_string(oci_host_architecture()));
	json_object_set_new(config, "os", json_string("linux"));
	json_t *cfg = json_object();
	json_t *env = json_array();
	json_array_append_new(env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
					       "/usr/bin:/sbin:/bin"));
	json_object_set_new(cfg, "Env", env);
	json_object_set_new(config, "config", cfg);
	json_t *rootfs = json_object();
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_t *diff_ids = json_array();
	json_array_append_new(diff_ids, json_string(layer->diff_id));
	json_object_set_new(rootfs, "diff_ids", diff_ids);
	json_object_set_new(config, "rootfs", rootfs);
	json_t *history = json_array();
	json_t *step = json_object();
	json_object_set_new(step, "created", json_string(when));
	json_object_set_new(step, "created_by", json_string(created_by));
	json_array_append_new(history, step);
	json_object_set_new(config, "history", history);

	struct oci_descriptor config_desc, layer_desc = {0}, manifest_desc;
	int r = petra_store_put_json(store, config, OCI_MEDIA_TYPE_CONFIG, &config_desc, err);
	json_decref(config);
	if (r < 0)
		return r;
	layer_desc.media_type = (char *)layer->media_type;
	memcpy(layer_desc.digest, layer->digest, OCI_DIGEST_SIZE);
	layer_desc.size = layer->size;
	json_t *annotations = json_object();
	json_object_set_new(annotations, "org.opencontainers.image.created", json_string(when));
	json_t *manifest = oci_manifest_build(&config_desc, &layer_desc, 1, annotations);
	json_decref(annotations);
	r = petra_store_put_json(store, manifest, OCI_MEDIA_TYPE_MANIFEST, &manifest_desc, err);
	json_decref(manifest);
	oci_descriptor_release(&config_desc);
	if (r < 0)
		return r;
	r = petra_store_set_ref(store, name, &manifest_desc, err);
	if (r == 0)
		memcpy(digest, manifest_desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&manifest_desc);
	return r;
}

static int import_rootfs(struct petra_store *store, const char *path, bool is_dir,
			 const struct image_import_options *o, const char *name,
			 char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	time_t created;
	bool reproducible;
	int r = time_now(&created, &reproducible, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd =
	    open(path, (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", path);
	struct progress progress;
	struct stat st;
	progress_begin(&progress, "importing",
		       !is_dir && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0);
	struct layer_writer_options wo = {
	    .compression = o->compression,
	    .clamp_mtime = reproducible,
	    .mtime_clamp = created,
	    .progress = &progress,
	    .drop_dev_nodes = true,
	};
	struct layer_writer *w;
	r = layer_writer_new(store, &wo, &w, err);
	if (r == 0) {
		r = is_dir ? layer_writer_add_tree(w, fd, "", 0, err)
			   : layer_writer_add_tar(w, fd, path, err);
		if (r < 0)
			layer_writer_abort(w);
	}
	struct layer_info info;
	if (r == 0)
		r = layer_writer_finish(w, &info, err);
	progress_end(&progress);
	if (r < 0)
		return r;
	/* A root filesystem made by debootstrap or a rootfs tarball has its
	 * /dev filled; a container gets its /dev from the runtime, and every
	 * build on an image holding device nodes would fail. */
	if (info.dropped_dev_nodes)
		log_info("import: dropped %zu device node%s under /dev", info.dropped_dev_nodes,
			 info.dropped_dev_nodes == 1 ? "" : "s");
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	_cleanup_free_ char *created_by = xasprintf("petra import %s", *base ? base : path);
	return commit_rootfs_image(store, &info, created_by, created, name, digest, err);
}

/* ---- copying between layouts ---- */

/* Pick the entry of a layout's index.json that `tag` names; without a tag
 * the layout must hold exactly one image. */
static int select_entry(const json_t *index, const char *tag, const char *what,
			struct oci_descriptor *desc, struct petra_error **err)
{
	json_t *manifests = json_object_get(index, "manifests");
	if (!json_is_array(manifests))
		return petra_error_set(err, EINVAL, "%s: index.json has no manifests array", what);
	ssize_t found = -1;
	struct strbuf names = STRBUF_INIT;
	for (size_t i = 0; i < json_array_size(manifests); i++) {
		json_t *m = json_array_get(manifests, i);
		const char *ref =
		    json_get_string(json_object_get(m, "annotations"), OCI_ANNOTATION_REF_NAME);
		/* A referrer (a build record) is not an image to choose. */
		if (json_get_string(json_object_get(m, "annotations"),
				    OCI_ANNOTATION_REFERRER_SUBJECT))
			continue;
		if (ref) {
			strbuf_addstr(&names, names.len ? ", " : "");
			strbuf_addstr(&names, ref);
		}
		if (tag ? (ref && !strcmp(ref, tag)) : true) {
			if (found >= 0 && !tag) {
				int r =
				    petra_error_set(err, EINVAL,
						    "%s holds several images; name one with "
						    ":TAG (%s)",
						    what, names.len ? names.buf : "none tagged");
				strbuf_release(&names);
				return r;
			}
			if (found < 0)
				found = (ssize_t)i;
		}
	}
	if (found < 0) {
		int r = tag ? petra_error_set(err, ENOENT, "%s: no image tagged \"%s\" (tags: %s)",
					      what, tag, names.len ? names.buf : "none")
			    : petra_error_set(err, ENOENT, "%s holds no image", what);
		strbuf_release(&names);
		return r;
	}
	strbuf_release(&names);
	int r = oci_descriptor_from_json(json_array_get(manifests, (size_t)found), desc, err);
	if (r < 0)
		return petra_error_prefix(err, "%s: index.json", what);
	return 0;
}

/* A descriptor names its blob by digest and size: both must hold, or the
 * store would keep a manifest whose sizes fsck and export refuse. */
static int check_size(const struct oci_descriptor *d, uint64_t size, struct petra_error **err)
{
	if (d->size >= 0 && (uint64_t)d->size == size)
		return 0;
	return petra_error_set(err, EINVAL,
			       "blob %s is %" PRIu64 " bytes, its descriptor says %lld", d->digest,
			       size, (long long)d->size);
}

static int copy_blob(struct petra_store *from, struct petra_store *to,
		     const struct oci_descriptor *d, struct progress *progress,
		     struct petra_error **err)
{
	if (from == to && !petra_store_has_blob(to, d->digest))
		return petra_error_set(err, ENOENT, "blob %s is missing", d->digest);
	_cleanup_close_ int fd = petra_store_open_blob(from, d->digest, err);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return petra_error_set_errno(err, errno, "blob %s", d->digest);
	int r0 = check_size(d, (uint64_t)st.st_size, err);
	if (r0 < 0 || from == to || petra_store_has_blob(to, d->digest))
		return r0;
	int r = petra_store_put_blob_fd(to, fd, d->digest, d->size, err);
	if (r == 0 && progress)
		progress_add(progress, (uint64_t)d->size);
	return r;
}

/* Copy the image that desc names (an index narrowed to this platform) from
 * one layout to another; *manifest receives the manifest's descriptor. */
static int copy_image(struct petra_store *from, struct petra_store *to,
		      const struct oci_descriptor *desc, struct oci_descriptor *manifest_desc,
		      struct petra_error **err)
{
	struct image img = {0};
	oci_descriptor_copy(&img.desc, desc);
	/* Read the documents from the source (verifying them); the blobs then
	 * go over one by one, each verified as it is copied. */
	int r = 0;
	for (int depth = 0; oci_media_type_kind(img.desc.media_type) == OCI_KIND_INDEX && r == 0;
	     depth++) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		r = depth >= OCI_INDEX_MAX_DEPTH
			? petra_error_set(err, EINVAL, "image indexes nested more than %d deep",
					  OCI_INDEX_MAX_DEPTH)
			: petra_store_read_blob(from, img.desc.digest, DOCUMENT_MAX_SIZE, &data,
						&len, err);
		struct oci_index idx = {0};
		if (r == 0)
			r = check_size(&img.desc, len, err);
		if (r == 0)
			r = oci_index_parse(data, len, &idx, err);
		int pick = r == 0 ? oci_index_select_platform(&idx, err) : -1;
		if (r == 0 && pick < 0)
			r = pick;
		if (r == 0) {
			oci_descriptor_release(&img.desc);
			oci_descriptor_copy(&img.desc, &idx.manifests[pick]);
		}
		oci_index_release(&idx);
	}
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (r == 0 && oci_media_type_kind(img.desc.media_type) != OCI_KIND_MANIFEST)
		r = petra_error_set(err, EINVAL, "%s: media type \"%s\" is not an image manifest",
				    img.desc.digest, img.desc.media_type);
	if (r == 0)
		r = petra_store_read_blob(from, img.desc.digest, DOCUMENT_MAX_SIZE, &data, &len,
					  err);
	if (r == 0)
		r = check_size(&img.desc, len, err);
	if (r == 0)
		r = oci_manifest_parse(data, len, &img.manifest, err);
	if (r == 0)
		r = petra_store_read_blob(from, img.manifest.config.digest, DOCUMENT_MAX_SIZE,
					  &img.config_raw, &img.config_len, err);
	if (r == 0)
		r = check_size(&img.manifest.config, img.config_len, err);
	if (r == 0)
		r = oci_config_parse(img.config_raw, img.config_len, &img.config, err);
	if (r == 0 && img.config.diff_ids.n != img.manifest.n_layers)
		r = petra_error_set(err, EINVAL, "%s: %zu layers but %zu diff_ids", img.desc.digest,
				    img.manifest.n_layers, img.config.diff_ids.n);
	for (size_t i = 0; r == 0 && i < img.manifest.n_layers; i++) {
		enum layer_compression c;
		r = layer_compression_from_media_type(img.manifest.layers[i].media_type, &c, err);
		if (r < 0)
			petra_error_prefix(err, "layer %zu", i + 1);
	}
	uint64_t total = 0;
	for (size_t i = 0; i < img.manifest.n_layers; i++)
		total += (uint64_t)img.manifest.layers[i].size;
	struct progress progress;
	progress_begin(&progress, "copying", total);
	for (size_t i = 0; r == 0 && i < img.manifest.n_layers; i++) {
		r = copy_blob(from, to, &img.manifest.layers[i], &progress, err);
		if (r < 0)
			petra_error_prefix(err, "layer %zu", i + 1);
	}
	progress_end(&progress);
	if (r == 0)
		r = copy_blob(from, to, &img.manifest.config, NULL, err);
	/* The manifest last: once it is there, everything it names is too. */
	if (r == 0 && !petra_store_has_blob(to, img.desc.digest)) {
		char digest[OCI_DIGEST_SIZE];
		r = petra_store_put_blob(to, data, len, digest, err);
	}
	if (r == 0)
		oci_descriptor_copy(manifest_desc, &img.desc);
	image_release(&img);
	return r;
}

/* The referrers of `subject` (build records, signatures: manifests whose
 * subject it is), and theirs in turn, from one layout to another: each
 * referrer's blobs, then its manifest, then its index.json entry. */
static int copy_referrers(struct petra_store *from, struct petra_store *to, const char *subject,
			  int depth, struct petra_error **err)
{
	struct oci_descriptor *refs = NULL;
	size_t n = 0;
	int r = petra_store_list_referrers(from, subject, NULL, &refs, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		struct oci_manifest m = {0};
		r = petra_store_read_blob(from, refs[i].digest, DOCUMENT_MAX_SIZE, &data, &len,
					  err);
		if (r == 0)
			r = check_size(&refs[i], len, err);
		if (r == 0)
			r = oci_manifest_parse(data, len, &m, err);
		if (r == 0)
			r = copy_blob(from, to, &m.config, NULL, err);
		for (size_t k = 0; r == 0 && k < m.n_layers; k++)
			r = copy_blob(from, to, &m.layers[k], NULL, err);
		oci_manifest_release(&m);
		if (r == 0 && !petra_store_has_blob(to, refs[i].digest)) {
			char digest[OCI_DIGEST_SIZE];
			r = petra_store_put_blob(to, data, len, digest, err);
		}
		if (r == 0)
			r = petra_store_add_referrer(to, subject, &refs[i], err);
		if (r < 0)
			petra_error_prefix(err, "referrer %s of %s", refs[i].digest, subject);
		/* A signature of a record is a referrer of the record. */
		if (r == 0 && depth < 4)
			r = copy_referrers(from, to, refs[i].digest, depth + 1, err);
	}
	oci_descriptors_release(refs, n);
	return r;
}

/* The name for an image imported from a layout entry: the entry's own
 * ref.name when it is a whole reference ("busybox:1.36", as petra's store
 * and some tools write), else <layout directory name>:<tag>. */
static char *name_from_layout(const char *path, const struct oci_descriptor *d,
			      struct petra_error **err)
{
	const char *ref = oci_descriptor_annotation(d, OCI_ANNOTATION_REF_NAME);
	if (ref && (strchr(ref, ':') || strchr(ref, '/'))) {
		char *n = normalise_name(ref, NULL);
		if (n)
			return n;
	}
	return name_from_path(path, ref && oci_tag_valid(ref) ? ref : NULL, err);
}

static int import_layout(struct petra_store *store, const struct location *loc,
			 const struct image_import_options *o, char **name_out,
			 char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	_cleanup_store_ struct petra_store *src = NULL;
	int r = petra_store_open(loc->path, 0, &src, err);
	if (r < 0)
		return r;
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	r = petra_store_list(src, &entries, &n, err);
	if (r < 0)
		return r;
	json_t *index = json_object();
	json_t *manifests = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(manifests, oci_descriptor_to_json(&entries[i].desc));
	json_object_set_new(index, "manifests", manifests);
	petra_store_entries_free(entries, n);
	struct oci_descriptor chosen, manifest;
	_cleanup_free_ char *what = xasprintf("oci:%s", loc->path);
	r = select_entry(index, loc->tag, what, &chosen, err);
	json_decref(index);
	if (r < 0)
		return r;
	_cleanup_free_ char *name =
	    o->name ? normalise_name(o->name, err) : name_from_layout(loc->path, &chosen, err);
	if (!name) {
		oci_descriptor_release(&chosen);
		return -EINVAL;
	}
	r = copy_image(src, store, &chosen, &manifest, err);
	oci_descriptor_release(&chosen);
	if (r < 0)
		return petra_error_prefix(err, "%s", what);
	r = petra_store_set_ref(store, name, &manifest, err);
	if (r == 0)
		r = copy_referrers(src, store, manifest.digest, 0, err);
	if (r == 0) {
		memcpy(digest, manifest.digest, OCI_DIGEST_SIZE);
		*name_out = steal_pointer(&name);
	}
	oci_descriptor_release(&manifest);
	return r;
}

/* The referrers an archive's index.json lists for subject (and theirs):
 * their blobs came into the store with the archive's; each whose manifest
 * is whole and names the subject becomes a referrer of it. */
static int adopt_referrers(struct petra_store *store, const json_t *manifests, const char *subject,
			   int depth, struct petra_error **err)
{
	for (size_t i = 0; i < json_array_size(manifests); i++) {
		struct oci_descriptor d;
		if (oci_descriptor_from_json(json_array_get(manifests, i), &d, NULL) < 0)
			continue;
		bool candidate = !oci_descriptor_annotation(&d, OCI_ANNOTATION_REF_NAME) &&
				 oci_media_type_kind(d.media_type) == OCI_KIND_MANIFEST &&
				 petra_store_has_blob(store, d.digest);
		const char *named = oci_descriptor_annotation(&d, OCI_ANNOTATION_REFERRER_SUBJECT);
		if (candidate && named && strcmp(named, subject) != 0)
			candidate = false;
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		struct oci_manifest m = {0};
		if (candidate && (petra_store_read_blob(store, d.digest, DOCUMENT_MAX_SIZE, &data,
							&len, NULL) < 0 ||
				  oci_manifest_parse(data, len, &m, NULL) < 0))
			candidate = false;
		const char *s = candidate
				    ? json_get_string(json_object_get(m.json, "subject"), "digest")
				    : NULL;
		bool refers = s && !strcmp(s, subject);
		oci_manifest_release(&m);
		int r = 0;
		if (refers) {
			r = petra_store_add_referrer(store, subject, &d, err);
			if (r == 0 && depth < 4)
				r = adopt_referrers(store, manifests, d.digest, depth + 1, err);
		}
		oci_descriptor_release(&d);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Stream an OCI archive: its blobs go straight into the store (each checked
 * against its name), index.json is kept to choose the image. */
static int import_archive(struct petra_store *store, const struct location *loc,
			  const struct image_import_options *o, char **name_out,
			  char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	_cleanup_free_ char *what = xasprintf("oci-archive:%s", loc->path);
	_cleanup_close_ int fd = open(loc->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s", loc->path);
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int r = 0;
	if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK)
		r = petra_error_set(err, EINVAL, "%s: %s", what, archive_error_string(a));
	_cleanup_json_ json_t *index = NULL;
	bool have_layout = false;
	char *buf = xmalloc(1 << 20);
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
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (!strcmp(path, "oci-layout")) {
			have_layout = true;
			continue;
		}
		if (!strcmp(path, "index.json")) {
			if (archive_entry_size(e) > (int64_t)INDEX_MAX_SIZE) {
				r = petra_error_set(err, EFBIG, "%s: index.json too large", what);
				break;
			}
			struct strbuf sb = STRBUF_INIT;
			la_ssize_t got;
			while ((got = archive_read_data(a, buf, 1 << 20)) > 0)
				strbuf_add(&sb, buf, (size_t)got);
			if (got < 0)
				r = petra_error_set(err, EIO, "%s: %s", what,
						    archive_error_string(a));
			else
				index =
				    json_parse_buffer(strbuf_str(&sb), sb.len, "index.json", err);
			strbuf_release(&sb);
			if (r == 0 && !index)
				r = petra_error_prefix(err, "%s", what);
			continue;
		}
		if (strncmp(path, "blobs/sha256/", 13) != 0)
			continue;
		_cleanup_free_ char *blob_digest = xasprintf("sha256:%s", path + 13);
		if (!oci_digest_valid(blob_digest) || petra_store_has_blob(store, blob_digest))
			continue;
		struct petra_blob_writer *w;
		r = petra_store_blob_begin(store, &w, err);
		if (r < 0)
			break;
		la_ssize_t got;
		while (r == 0 && (got = archive_read_data(a, buf, 1 << 20)) > 0)
			r = petra_store_blob_write(w, buf, (size_t)got, err);
		if (r == 0 && got < 0)
			r = petra_error_set(err, EIO, "%s: %s", what, archive_error_string(a));
		if (r < 0) {
			petra_store_blob_abort(w);
			break;
		}
		r = petra_store_blob_commit(w, blob_digest, NULL, NULL, err);
		if (r < 0)
			petra_error_prefix(err, "%s", what);
	}
	free(buf);
	archive_read_free(a);
	if (r < 0)
		return r;
	if (!have_layout || !index)
		return petra_error_set(err, EINVAL, "%s: not an OCI archive (no %s)", what,
				       have_layout ? "index.json" : "oci-layout");
	struct oci_descriptor chosen, manifest;
	r = select_entry(index, loc->tag, what, &chosen, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *name =
	    o->name ? normalise_name(o->name, err) : name_from_layout(loc->path, &chosen, err);
	if (!name) {
		oci_descriptor_release(&chosen);
		return -EINVAL;
	}
	r = copy_image(store, store, &chosen, &manifest, err);
	oci_descriptor_release(&chosen);
	if (r < 0)
		return petra_error_prefix(err, "%s", what);
	r = petra_store_set_ref(store, name, &manifest, err);
	if (r == 0)
		r = adopt_referrers(store, json_object_get(index, "manifests"), manifest.digest, 0,
				    err);
	if (r == 0) {
		memcpy(digest, manifest.digest, OCI_DIGEST_SIZE);
		*name_out = steal_pointer(&name);
	}
	oci_descriptor_release(&manifest);
	return r;
}

/* ---- dir: (containers/image's directory layout) ---- */

/* manifest.json as written, each blob as a file named by its hex digest,
 * and a "version" file; signature-N files belong to trust/. */
#define DIR_VERSION "Directory Transport Version: 1.1\n"

static int import_dir(struct petra_store *store, const char *path,
		      const struct image_import_options *o, char **name_out,
		      char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	_cleanup_close_ int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return petra_error_set_errno(err, errno, "open %s", path);
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = fs_read_file_at(dirfd, "manifest.json", DOCUMENT_MAX_SIZE, &data, &len, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *doc = json_parse_buffer(data, len, "manifest.json", err);
	if (!doc)
		return -EINVAL;
	const char *mt = json_get_string(doc, "mediaType");
	if (mt && oci_media_type_kind(mt) == OCI_KIND_INDEX)
		return petra_error_set(err, ENOTSUP,
				       "manifest.json is an image index: copy one platform's "
				       "image");
	struct image img = {0};
	r = oci_manifest_parse(data, len, &img.manifest, err);
	if (r < 0)
		return petra_error_prefix(err, "manifest.json");
	/* Every blob goes in verified against the manifest (digest and size);
	 * the manifest last, so what it names is there once it is. */
	size_t n = img.manifest.n_layers + 1;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct oci_descriptor *d =
		    i < img.manifest.n_layers ? &img.manifest.layers[i] : &img.manifest.config;
		if (petra_store_has_blob(store, d->digest))
			continue;
		_cleanup_close_ int fd =
		    openat(dirfd, oci_digest_hex(d->digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			r = petra_error_set_errno(err, errno, "blob %s", oci_digest_hex(d->digest));
		else
			r = petra_store_put_blob_fd(store, fd, d->digest, d->size, err);
	}
	if (r == 0)
		r = petra_store_read_blob(store, img.manifest.config.digest, DOCUMENT_MAX_SIZE,
					  &img.config_raw, &img.config_len, err);
	if (r == 0)
		r = oci_config_parse(img.config_raw, img.config_len, &img.config, err);
	if (r == 0 && img.config.diff_ids.n != img.manifest.n_layers)
		r = petra_error_set(err, EINVAL, "%zu layers but %zu diff_ids",
				    img.manifest.n_layers, img.config.diff_ids.n);
	struct oci_descriptor desc = {0};
	if (r == 0)
		r = petra_store_put_blob(store, data, len, desc.digest, err);
	_cleanup_free_ char *name = NULL;
	if (r == 0) {
		name = o->name ? normalise_name(o->name, err) : name_from_path(path, NULL, err);
		if (!name)
			r = -EINVAL;
	}
	if (r == 0) {
		desc.media_type = xstrdup(mt ? mt : OCI_MEDIA_TYPE_MANIFEST);
		desc.size = (int64_t)len;
		r = petra_store_set_ref(store, name, &desc, err);
	}
	if (r == 0) {
		memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
		*name_out = steal_pointer(&name);
	}
	oci_descriptor_release(&desc);
	image_release(&img);
	return r;
}

/* ---- docker save archives ---- */

/* Does the first entry of a tarball look like a docker-archive's (a
 * 64-hex directory or file, manifest.json, repositories, or the OCI parts
 * newer docker writes too) rather than a root filesystem's? */
static bool looks_like_docker_archive(const char *path)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	bool yes = false;
	struct archive_entry *e;
	if (archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK &&
	    archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		if (p && !strncmp(p, "./", 2))
			p += 2;
		size_t hex = p ? strspn(p, "0123456789abcdef") : 0;
		yes = p &&
		      ((hex == 64 && strchr("/.", p[64]) && p[64]) || !strcmp(p, "manifest.json") ||
		       !strcmp(p, "repositories") || !strcmp(p, "oci-layout") ||
		       !strcmp(p, "index.json") || !strncmp(p, "blobs/", 6) || !strcmp(p, "blobs"));
	}
	archive_read_free(a);
	return yes;
}

/* Every image of a docker-archive (dockerarchive.c), named by its
 * RepoTags (or, for one image, the name asked for; an untagged one by the
 * file's name). *name_out and digest: the first image's. */
static int import_docker_archive(struct petra_store *store, const char *file,
				 const struct image_import_options *o, char **name_out,
				 char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	/* Only needed, and so only an error, for an image without RepoTags. */
	_cleanup_free_ char *untagged = name_from_path(file, NULL, NULL);
	struct image_load_options lo = {.name = o->name, .untagged = untagged};
	_cleanup_strvec_ struct strvec names = STRVEC_INIT;
	int r = image_load_docker_archive(store, file, &lo, &names, err);
	if (r < 0)
		return r;
	const char *space = strchr(names.v[0], ' ');
	if (!strncmp(names.v[0], "<none> ", 7))
		return petra_error_set(err, EINVAL,
				       "docker-archive:%s: an image without RepoTags, and no name "
				       "can be made from the file's name: give one",
				       file);
	*name_out = xstrndup(names.v[0], (size_t)(space - names.v[0]));
	snprintf(digest, OCI_DIGEST_SIZE, "%s", space + 1);
	return 0;
}

int image_import(struct petra_store *store, const char *source,
		 const struct image_import_options *o, char **name_out,
		 char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	/* A store whose index.json cannot take a name fails before anything
	 * is written into it. */
	struct petra_store_entry *entries = NULL;
	size_t n_entries = 0;
	if (petra_store_list(store, &entries, &n_entries, err) < 0)
		return petra_error_prefix(err, "import %s", source);
	petra_store_entries_free(entries, n_entries);
	if (!strncmp(source, "dir:", 4)) {
		int r = import_dir(store, source + 4, o, name_out, digest, err);
		return r < 0 ? petra_error_prefix(err, "import %s", source) : r;
	}
	if (!strncmp(source, "oci:", 4) || !strncmp(source, "oci-archive:", 12)) {
		bool archive = source[3] == '-';
		struct location loc;
		location_parse(source + (archive ? 12 : 4), &loc);
		int r = archive ? import_archive(store, &loc, o, name_out, digest, err)
				: import_layout(store, &loc, o, name_out, digest, err);
		location_release(&loc);
		return r;
	}
	if (!strncmp(source, "docker-archive:", 15))
		return import_docker_archive(store, source + 15, o, name_out, digest, err);
	struct stat st;
	if (stat(source, &st) < 0)
		return petra_error_set_errno(err, errno, "import %s", source);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return petra_error_set(err, EINVAL,
				       "import %s: not a directory, a tarball, oci:PATH, "
				       "oci-archive:FILE or docker-archive:FILE",
				       source);
	/* A `docker save` archive is an image, not a root filesystem. */
	if (S_ISREG(st.st_mode) && looks_like_docker_archive(source))
		return import_docker_archive(store, source, o, name_out, digest, err);
	_cleanup_free_ char *name =
	    o->name ? normalise_name(o->name, err) : name_from_path(source, NULL, err);
	if (!name)
		return -EINVAL;
	int r = import_rootfs(store, source, S_ISDIR(st.st_mode), o, name, digest, err);
	if (r < 0)
		return petra_error_prefix(err, "import %s", source);
	*name_out = steal_pointer(&name);
	return 0;
}

/* ---- export ---- */

static int add_archive_file(struct archive *a, const char *path, const void *data, size_t len,
			    time_t mtime, struct petra_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, mtime, 0);
	int ar = archive_write_header(a, e);
	archive_entry_free(e);
	if (ar != ARCHIVE_OK || (len && archive_write_data(a, data, len) != (la_ssize_t)len))
		return petra_error_set(err, EIO, "write %s: %s", path, archive_error_string(a));
	return 0;
}

static int add_archive_blob(struct archive *a, struct petra_store *store,
			    const struct oci_descriptor *d, time_t mtime, struct strset *added,
			    struct petra_error **err)
{
	if (!strset_add(added, d->digest))
		return 0;
	_cleanup_close_ int fd = petra_store_open_blob(store, d->digest, err);
	if (fd < 0)
		return fd;
	_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", oci_digest_hex(d->digest));
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, d->size);
	archive_entry_set_mtime(e, mtime, 0);
	int ar = archive_write_header(a, e);
	archive_entry_free(e);
	if (ar != ARCHIVE_OK)
		return petra_error_set(err, EIO, "write %s: %s", path, archive_error_string(a));
	/* Verify while copying: an archive never carries a corrupt blob. */
	struct oci_hasher h;
	oci_hasher_init(&h);
	_cleanup_free_ char *buf = xmalloc(1 << 20);
	int64_t done = 0;
	int r = 0;
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = petra_error_set_errno(err, errno, "read blob %s", d->digest);
			break;
		}
		if (n == 0)
			break;
		if (done + n > d->size) {
			r = petra_error_set(err, EIO, "blob %s is larger than its descriptor says",
					    d->digest);
			break;
		}
		oci_hasher_update(&h, buf, (size_t)n);
		if (archive_write_data(a, buf, (size_t)n) != n) {
			r = petra_error_set(err, EIO, "write %s: %s", path,
					    archive_error_string(a));
			break;
		}
		done += n;
	}
	char actual[OCI_DIGEST_SIZE];
	if (r == 0) {
		oci_hasher_final(&h, actual);
		if (done != d->size || strcmp(actual, d->digest) != 0)
			r = petra_error_set(err, EIO, "blob %s is corrupt (content hashes to %s)",
					    d->digest, actual);
	} else {
		oci_hasher_release(&h);
	}
	return r;
}

/* The store's referrers of subject and theirs, appended to *v. */
static int archive_referrers(struct petra_store *store, const char *subject, int depth,
			     struct oci_descriptor **v, size_t *n, struct petra_error **err)
{
	struct oci_descriptor *refs = NULL;
	size_t n_refs = 0;
	int r = petra_store_list_referrers(store, subject, NULL, &refs, &n_refs, err);
	for (size_t i = 0; r == 0 && i < n_refs; i++) {
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		oci_descriptor_copy(&(*v)[(*n)++], &refs[i]);
		if (depth < 4)
			r = archive_referrers(store, refs[i].digest, depth + 1, v, n, err);
	}
	oci_descriptors_release(refs, n_refs);
	return r;
}

static int export_archive(struct petra_store *store, const struct image *img, const char *file,
			  const char *tag, struct petra_error **err)
{
	time_t mtime = 0;
	if (petra_source_date_epoch(&mtime, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = fs_tmpfile_at(AT_FDCWD, file, 0644, &tmp, err);
	if (fd < 0)
		return fd;
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	int r = 0;
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		r = petra_error_set(err, EIO, "write %s: %s", file, archive_error_string(a));
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (r == 0)
		r = add_archive_file(a, "oci-layout", layout, strlen(layout), mtime, err);
	json_t *index = json_object();
	json_object_set_new(index, "schemaVersion", json_integer(2));
	json_object_set_new(index, "mediaType", json_string(OCI_MEDIA_TYPE_INDEX));
	json_t *entry = oci_descriptor_to_json(&img->desc);
	json_t *ann = json_object();
	json_object_set_new(ann, OCI_ANNOTATION_REF_NAME, json_string(tag));
	json_object_set_new(entry, "annotations", ann);
	json_t *manifests = json_array();
	json_array_append_new(manifests, entry);
	/* The image's referrers (its build record), listed as in a layout. */
	struct oci_descriptor *refs = NULL;
	size_t n_refs = 0;
	if (r == 0)
		r = archive_referrers(store, img->desc.digest, 0, &refs, &n_refs, err);
	for (size_t i = 0; r == 0 && i < n_refs; i++)
		json_array_append_new(manifests, oci_descriptor_to_json(&refs[i]));
	json_object_set_new(index, "manifests", manifests);
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(index, &len);
	json_decref(index);
	if (r == 0)
		r = add_archive_file(a, "index.json", text, len, mtime, err);
	struct strset added = STRSET_INIT;
	if (r == 0)
		r = add_archive_blob(a, store, &img->desc, mtime, &added, err);
	if (r == 0)
		r = add_archive_blob(a, store, &img->manifest.config, mtime, &added, err);
	for (size_t i = 0; r == 0 && i < img->manifest.n_layers; i++)
		r = add_archive_blob(a, store, &img->manifest.layers[i], mtime, &added, err);
	for (size_t i = 0; r == 0 && i < n_refs; i++) {
		_cleanup_free_ char *data = NULL;
		size_t mlen = 0;
		struct oci_manifest m = {0};
		r = petra_store_read_blob(store, refs[i].digest, DOCUMENT_MAX_SIZE, &data, &mlen,
					  err);
		if (r == 0)
			r = oci_manifest_parse(data, mlen, &m, err);
		if (r == 0)
			r = add_archive_blob(a, store, &m.config, mtime, &added, err);
		for (size_t k = 0; r == 0 && k < m.n_layers; k++)
			r = add_archive_blob(a, store, &m.layers[k], mtime, &added, err);
		if (r == 0)
			r = add_archive_blob(a, store, &refs[i], mtime, &added, err);
		oci_manifest_release(&m);
	}
	oci_descriptors_release(refs, n_refs);
	strset_clear(&added);
	if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
		r = petra_error_set(err, EIO, "write %s: %s", file, archive_error_string(a));
	archive_write_free(a);
	if (r == 0 && fsync(fd) < 0)
		r = petra_error_set_errno(err, errno, "sync %s", tmp);
	if (r == 0 && rename(tmp, file) < 0)
		r = petra_error_set_errno(err, errno, "rename %s to %s", tmp, file);
	if (r < 0)
		unlink(tmp);
	return r;
}

static int export_to_store(struct petra_store *store, const struct image *img, const char *path,
			   const char *tag, struct petra_error **err)
{
	_cleanup_store_ struct petra_store *dest = NULL;
	int r = petra_store_open(path, PETRA_STORE_CREATE | PETRA_STORE_WRITE, &dest, err);
	if (r < 0)
		return r;
	struct oci_descriptor manifest;
	r = copy_image(store, dest, &img->desc, &manifest, err);
	if (r < 0)
		return r;
	/* The descriptor as it was, without the source store's annotations. */
	json_decref(manifest.annotations);
	manifest.annotations = NULL;
	r = petra_store_set_ref(dest, tag, &manifest, err);
	/* The image's referrers (its build record) go with it, listed in the
	 * layout's index.json as the image layout spec has them. */
	if (r == 0)
		r = copy_referrers(store, dest, manifest.digest, 0, err);
	oci_descriptor_release(&manifest);
	return r;
}

/* A blob of the store into dirfd/name, verified as it is copied. */
static int export_dir_blob(struct petra_store *store, int dirfd, const struct oci_descriptor *d,
			   struct petra_error **err)
{
	_cleanup_close_ int in = petra_store_open_blob(store, d->digest, err);
	if (in < 0)
		return in;
	const char *name = oci_digest_hex(d->digest);
	_cleanup_close_ int out =
	    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0)
		return petra_error_set_errno(err, errno, "create %s", name);
	struct oci_hasher h;
	oci_hasher_init(&h);
	char buf[1 << 16];
	ssize_t n;
	int64_t total = 0;
	int r = 0;
	while (r == 0 && (n = fs_read_full(in, buf, sizeof(buf))) > 0) {
		oci_hasher_update(&h, buf, (size_t)n);
		total += n;
		if (fs_write_all(out, buf, (size_t)n) < 0)
			r = petra_error_set_errno(err, errno, "write %s", name);
		if ((size_t)n < sizeof(buf))
			break;
	}
	char got[OCI_DIGEST_SIZE];
	oci_hasher_final(&h, got);
	oci_hasher_release(&h);
	if (r == 0 && (strcmp(got, d->digest) || (d->size >= 0 && total != d->size)))
		r = petra_error_set(err, EIO, "blob %s in the store hashes to %s", d->digest, got);
	if (r == 0 && fsync(out) < 0)
		r = petra_error_set_errno(err, errno, "fsync %s", name);
	return r;
}

/* Written into a new sibling directory, renamed into place when whole;
 * the destination must not exist or be an empty directory. */
static int export_dir(struct petra_store *store, const struct image *img, const char *path,
		      struct petra_error **err)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || rmdir(path) < 0)
			return petra_error_set(err, EEXIST,
					       "%s exists and is not an empty directory", path);
	}
	_cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	if (!mkdtemp(tmp))
		return petra_error_set_errno(err, errno, "create a directory next to %s", path);
	_cleanup_close_ int dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dirfd < 0 ? petra_error_set_errno(err, errno, "open %s", tmp) : 0;
	_cleanup_free_ char *manifest = NULL;
	size_t len = 0;
	if (r == 0)
		r = petra_store_read_blob(store, img->desc.digest, DOCUMENT_MAX_SIZE, &manifest,
					  &len, err);
	for (size_t i = 0; r == 0 && i < img->manifest.n_layers; i++)
		r = export_dir_blob(store, dirfd, &img->manifest.layers[i], err);
	if (r == 0)
		r = export_dir_blob(store, dirfd, &img->manifest.config, err);
	if (r == 0)
		r = fs_write_file_atomic_at(dirfd, "manifest.json", manifest, len, 0644, err);
	if (r == 0)
		r = fs_write_file_atomic_at(dirfd, "version", DIR_VERSION, strlen(DIR_VERSION),
					    0644, err);
	if (r == 0 && rename(tmp, path) < 0)
		r = petra_error_set_errno(err, errno, "rename %s to %s", tmp, path);
	if (r < 0) {
		struct petra_error *ignored = NULL;
		if (fs_remove_tree_at(AT_FDCWD, tmp, &ignored) < 0)
			petra_error_free(ignored);
	}
	return r;
}

/* A layout this export creates is removed again when the export fails: a
 * failed export must not leave an empty layout that looks like a result.
 * An existing layout (another tag added to it) stays as it was, valid. */
static int export_layout(struct petra_store *store, const struct image *img, const char *path,
			 const char *tag, struct petra_error **err)
{
	struct stat st;
	bool created = lstat(path, &st) < 0 && errno == ENOENT;
	int r = export_to_store(store, img, path, tag, err);
	if (r < 0 && created)
		fs_remove_tree_at(AT_FDCWD, path, NULL);
	return r;
}

int image_export(struct petra_store *store, const char *ref, const char *dest,
		 struct petra_error **err)
{
	if (!strncmp(dest, "dir:", 4)) {
		struct image img;
		int r = image_load(store, ref, &img, err);
		if (r == 0)
			r = export_dir(store, &img, dest + 4, err);
		if (r < 0)
			petra_error_prefix(err, "export %s to %s", ref, dest);
		image_release(&img);
		return r;
	}
	bool archive = !strncmp(dest, "oci-archive:", 12);
	if (!archive && strncmp(dest, "oci:", 4) != 0)
		return petra_error_set(err, EINVAL,
				       "export destination \"%s\": use oci:PATH[:TAG], "
				       "oci-archive:FILE[:TAG] or dir:PATH",
				       dest);
	struct location loc;
	location_parse(dest + (archive ? 12 : 4), &loc);
	struct image img;
	int r = image_load(store, ref, &img, err);
	const char *tag = loc.tag ? loc.tag : r == 0 ? image_tag(&img) : "latest";
	if (r == 0 && !oci_tag_valid(tag))
		r = petra_error_set(err, EINVAL, "export: invalid tag \"%s\"", tag);
	if (r == 0)
		r = archive ? export_archive(store, &img, loc.path, tag, err)
			    : export_layout(store, &img, loc.path, tag, err);
	if (r < 0)
		petra_error_prefix(err, "export %s to %s", ref, dest);
	image_release(&img); /* also fine after a failed load: it is zeroed */
	location_release(&loc);
	return r;
}
