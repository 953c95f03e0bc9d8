/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --learn: which directories did the container have to write?
 *
 * The container ran on an overlay whose upper directory is a tmpfs. Every
 * entry of the upper directory that the image does not have was created by
 * the process, in a directory the image does have: that directory is one
 * it must be able to write. Directories of the image seen in the upper
 * directory without being new are only copy-up parents; their contents are
 * examined in turn. Changed or deleted image files cannot be fixed by a
 * tmpfs (it would hide the rest of their directory): they are reported as
 * notes instead.
 *
 * The container's writes are the workload's doing: they choose where a
 * tmpfs is proposed, never what it is like. Mode and owner come from the
 * image; a directory the image fills with files is never proposed (the
 * tmpfs would hide them), and system directories come with a warning.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define MIB (UINT64_C(1) << 20)

bool runtime_spec_is_mount_target(const struct runtime_spec *spec, const char *path)
{
	if (sandbox_is_standard_mount(path))
		return true;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (!strcmp(path, spec->mounts[i].target))
			return true;
	return false;
}

static int add_usage(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	if (S_ISREG(e->st.st_mode))
		*(uint64_t *)ctx += (uint64_t)e->st.st_size;
	return 0;
}

/* Bytes below (and of) dirfd/name, as files take them; what cannot be
 * read counts for nothing. */
static uint64_t usage(int parent, const char *name)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	_cleanup_close_ int fd =
	    openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	uint64_t total = 0;
	static const struct fs_walk_ops ops = {.pre = add_usage};
	_cleanup_error_ struct petra_error *err = NULL;
	fs_walk(fd, "", FS_WALK_SKIP_VANISHED, &ops, &total, &err);
	return total;
}

struct learner {
	const struct runtime_spec *spec;
	const char *const *lowers;
	size_t n_lowers;
	struct strvec writes; /* "path\tdir\tD|F": new entries, where, and their kind */
	struct strvec *notes;
};

/* An entry of the upper directory: a directory of the image is entered
 * (what is new is below it); anything else new is a write, recorded with
 * the directory it is in and not entered. */
static int learn_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	struct learner *l = ctx;
	const char *path = e->path;
	if (runtime_spec_is_mount_target(l->spec, path))
		return FS_WALK_PRUNE;
	const struct stat *up = &e->st;
	struct stat img;
	bool in_image = rootfs_lookup(l->lowers, l->n_lowers, path, &img, NULL) == 0;
	bool whiteout = S_ISCHR(up->st_mode) && up->st_rdev == 0;
	if (S_ISDIR(up->st_mode) && in_image && S_ISDIR(img.st_mode)) {
		/* A tmpfs cannot keep a directory's new mode or owner. */
		if ((up->st_mode & 07777) != (img.st_mode & 07777) || up->st_uid != img.st_uid ||
		    up->st_gid != img.st_gid)
			strvec_pushf(l->notes,
				     "changes the mode or owner of %s, which is part of the image",
				     path);
		return FS_WALK_CONTINUE;
	}
	if (whiteout && in_image)
		strvec_pushf(l->notes, "deletes %s, which is part of the image", path);
	else if (in_image)
		strvec_pushf(l->notes, "changes %s, which is part of the image", path);
	else if (e->depth == 1)
		strvec_pushf(&l->writes, "%s\t/\t%c", path, S_ISDIR(up->st_mode) ? 'D' : 'F');
	else
		strvec_pushf(&l->writes, "%s\t%.*s\t%c", path,
			     (int)(strlen(path) - strlen(e->name) - 1), path,
			     S_ISDIR(up->st_mode) ? 'D' : 'F');
	return FS_WALK_PRUNE;
}

/* Is `dir` equal to or below `top`? */
static bool below(const char *dir, const char *top)
{
	size_t n = strlen(top);
	if (!strcmp(top, "/"))
		return true;
	return !strncmp(dir, top, n) && (dir[n] == '\0' || dir[n] == '/');
}

/* Does the image have anything in directory `dir`? A tmpfs on it would
 * hide that from the service. */
static bool image_dir_populated(const struct learner *l, const char *dir)
{
	for (size_t i = 0; i < l->n_lowers; i++) {
		_cleanup_close_ int root = open(l->lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		int fd = root < 0 ? -1 : fs_open_in_root(root, dir, O_RDONLY | O_DIRECTORY);
		_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (fd >= 0 && !d)
			close(fd);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			_cleanup_free_ char *path =
			    xasprintf("%s/%s", dir + (dir[1] == '\0'), de->d_name);
			struct stat st;
			if (rootfs_lookup(l->lowers, l->n_lowers, path, &st, NULL) == 0)
				return true; /* not hidden by a whiteout above */
		}
	}
	return false;
}

/* Directories whose tmpfs would make code or configuration writable. */
static const char *system_dir(const char *path)
{
	static const char *const dirs[] = {"/bin", "/etc", "/lib", "/sbin", "/usr"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		size_t n = strlen(dirs[i]);
		/* /lib also stands for /lib32, /lib64, /libx32 */
		if (!strncmp(path, dirs[i], n) &&
		    (path[n] == '/' || path[n] == '\0' || !strcmp(dirs[i], "/lib")))
			return dirs[i];
	}
	return NULL;
}

int runtime_learn_analyse(const struct runtime_spec *spec, struct image_writable_path **out,
			  size_t *n_out, struct strvec *notes, struct petra_error **err)
{
	*out = NULL;
	*n_out = 0;
	const char *upper = spec->sandbox.root.upper;
	_cleanup_close_ int upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (upper_fd < 0)
		return petra_error_set_errno(err, errno, "open %s", upper);
	struct learner l = {
	    .spec = spec,
	    .lowers = spec->sandbox.root.lowers,
	    .n_lowers = spec->sandbox.root.n_lowers,
	    .notes = notes,
	};
	static const struct fs_walk_ops ops = {.pre = learn_entry};
	int r = fs_walk(upper_fd, "/", 0, &ops, &l, err);
	if (r < 0) {
		strvec_clear(&l.writes);
		return r;
	}
	/* Where a tmpfs would make each write possible: the image's directory
	 * it went into when that directory is empty in the image; else, for a
	 * new directory, that directory itself (petra creates the mount point);
	 * else nowhere: a tmpfs would hide the image's files. */
	_cleanup_strvec_ struct strvec dirs = STRVEC_INIT;
	for (size_t i = 0; i < l.writes.n; i++) {
		char *path = l.writes.v[i], *dir = strchr(path, '\t');
		*dir++ = '\0';
		char *kind = strchr(dir, '\t');
		*kind++ = '\0';
		if (!image_dir_populated(&l, dir))
			strvec_push(&dirs, dir);
		else if (*kind == 'D')
			strvec_push(&dirs, path);
		else
			strvec_pushf(
			    notes,
			    "writes %s into %s, which holds the image's files: a tmpfs there "
			    "would hide them (a directory of its own would do)",
			    path, dir);
	}
	strvec_clear(&l.writes);
	/* Sorted, a directory comes before everything below it. */
	strvec_sort(&dirs);
	struct image_writable_path *paths = xcalloc(dirs.n ? dirs.n : 1, sizeof(*paths));
	size_t n = 0;
	for (size_t i = 0; i < dirs.n; i++) {
		if (n && below(dirs.v[i], paths[n - 1].path))
			continue;
		struct image_writable_path *p = &paths[n++];
		p->path = xstrdup(dirs.v[i]);
		p->used = usage(upper_fd, p->path + 1);
		/* Room to grow: twice what it used, at least 1 MiB. */
		p->size = ((p->used * 2 + MIB - 1) / MIB) * MIB;
		if (p->size < MIB)
			p->size = MIB;
		/* Mode and owner from the image, never from what the container
		 * made of the directory; a new one belongs to the process. */
		struct stat st;
		if (rootfs_lookup(l.lowers, l.n_lowers, p->path, &st, NULL) == 0) {
			p->mode = st.st_mode & 01777;
			p->uid = st.st_uid;
		} else {
			p->mode = 0755;
			p->uid = spec->sandbox.process.uid;
		}
		const char *sys = system_dir(p->path);
		if (sys)
			strvec_pushf(notes,
				     "writes into %s, below the system directory %s: prefer a "
				     "directory under /run, /var or /tmp",
				     p->path, sys);
	}
	*out = paths;
	*n_out = n;
	return 0;
}

/* ---- saving the learned paths into an image ---- */

int runtime_save_writable_paths(struct petra_store *store, const char *ref,
				const struct image_writable_path *paths, size_t n, const char *name,
				char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	struct oci_ref parsed;
	int r = oci_ref_parse(name, &parsed, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *full_name = oci_ref_format(&parsed);
	oci_ref_release(&parsed);
	struct image img;
	r = image_load(store, ref, &img, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *config = json_deep_copy(img.config.json);
	json_t *cfg = json_object_get(config, "config");
	if (!json_is_object(cfg)) {
		cfg = json_object();
		json_object_set_new(config, "config", cfg);
	}
	json_t *labels = json_object_get(cfg, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(cfg, "Labels", labels);
	}
	_cleanup_free_ char *value = image_writable_paths_format(paths, n);
	json_object_set_new(labels, IMAGE_WRITABLE_PATHS_LABEL, json_string(value));
	/* History says where the label came from; no layer was added. */
	json_t *history = json_object_get(config, "history");
	if (!json_is_array(history)) {
		history = json_array();
		json_object_set_new(config, "history", history);
	}
	time_t now = time(NULL);
	_cleanup_error_ struct petra_error *ignored = NULL;
	petra_source_date_epoch(&now, &ignored);
	char created[32];
	time_format_rfc3339(now, created, sizeof(created));
	json_array_append_new(history, json_pack("{s:s,s:s,s:b}", "created", created, "created_by",
						 "petra run --learn --save", "empty_layer", 1));
	size_t len;
	_cleanup_free_ char *data = json_dump_compact(config, &len);
	char config_digest[OCI_DIGEST_SIZE];
	r = petra_store_put_blob(store, data, len, config_digest, err);
	_cleanup_json_ json_t *manifest = r < 0 ? NULL : json_deep_copy(img.manifest.json);
	if (manifest) {
		json_t *cdesc = json_object_get(manifest, "config");
		json_object_set_new(cdesc, "digest", json_string(config_digest));
		json_object_set_new(cdesc, "size", json_integer((json_int_t)len));
		_cleanup_free_ char *mdata = json_dump_compact(manifest, &len);
		struct oci_descriptor desc = {
		    .media_type = (char *)(json_get_string(manifest, "mediaType")
					       ? json_get_string(manifest, "mediaType")
					       : OCI_MEDIA_TYPE_MANIFEST),
		    .size = (int64_t)len,
		};
		r = petra_store_put_blob(store, mdata, len, desc.digest, err);
		if (r == 0)
			r = petra_store_set_ref(store, full_name, &desc, err);
		if (r == 0 && digest)
			memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	}
	image_release(&img);
	return r;
}
