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
#include "lineage/lineage.h"

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
	/* "path\tdir\tK": what the process left or did in dir: K is D (a new
	 * directory), F (a new file), C (an image file changed), W (an image
	 * entry removed) or T (entries of the image's directory dir came and
	 * went: its time of modification moved). */
	struct strvec writes;
	struct strset scaffolded; /* directories the sandbox made mount targets in */
	struct strvec *notes;
};

static void strset_add_parent(struct strset *set, const char *path)
{
	_cleanup_free_ char *parent = xstrdup(path);
	*strrchr(parent, '/') = '\0';
	strset_add(set, parent);
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static void push_write(struct learner *l, const struct fs_walk_entry *e, char kind)
{
	if (e->depth == 1)
		strvec_pushf(&l->writes, "%s\t/\t%c", e->path, kind);
	else
		strvec_pushf(&l->writes, "%s\t%.*s\t%c", e->path,
			     (int)(strlen(e->path) - strlen(e->name) - 1), e->path, kind);
}

/* An entry of the upper directory: a directory of the image is entered
 * (what is new is below it; whether its entries changed is in its
 * mtime); anything else is a write, recorded with the directory it is in
 * and not entered. */
static int learn_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	struct learner *l = ctx;
	const char *path = e->path;
	const struct stat *up = &e->st;
	struct stat img;
	bool in_image = rootfs_lookup(l->lowers, l->n_lowers, path, &img, NULL) == 0;
	if (runtime_spec_is_mount_target(l->spec, path)) {
		/* Made by the sandbox, not the process: its directory's
		 * changed mtime says nothing about the process. */
		if (!in_image && e->depth > 1)
			strset_add_parent(&l->scaffolded, path);
		return FS_WALK_PRUNE;
	}
	bool whiteout = S_ISCHR(up->st_mode) && up->st_rdev == 0;
	if (S_ISDIR(up->st_mode) && in_image && S_ISDIR(img.st_mode)) {
		/* A tmpfs cannot keep a directory's new mode or owner. */
		if ((up->st_mode & 07777) != (img.st_mode & 07777) || up->st_uid != img.st_uid ||
		    up->st_gid != img.st_gid)
			strvec_pushf(l->notes,
				     "changes the mode or owner of %s, which is part of the image",
				     path);
		/* overlayfs copies a directory up with the image's times and
		 * keeps them when it copies up an entry into it: only creating,
		 * renaming or removing an entry there moves the mtime, and the
		 * copy-up stays when the entry is gone (a pid file removed at
		 * exit, a socket, a lock). */
		if (!same_time(&up->st_mtim, &img.st_mtim))
			strvec_pushf(&l->writes, "%s\t%s\tT", path, path);
		return FS_WALK_CONTINUE;
	}
	if (whiteout && in_image)
		push_write(l, e, 'W');
	else if (in_image)
		push_write(l, e, 'C');
	else if (!whiteout)
		push_write(l, e, S_ISDIR(up->st_mode) ? 'D' : 'F');
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

/* Bytes the image's layers hold below `dir` (an upper bound of what the
 * merged directory holds: a file replaced in a later layer counts twice). */
static uint64_t image_dir_bytes(const struct learner *l, const char *dir)
{
	uint64_t total = 0;
	for (size_t i = 0; i < l->n_lowers; i++) {
		_cleanup_close_ int root = open(l->lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int fd =
		    root < 0 ? -1 : fs_open_in_root(root, dir, O_RDONLY | O_DIRECTORY);
		if (fd >= 0)
			total += usage(fd, ".");
	}
	return total;
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

/* Can a tmpfs filled with the image's content of dir ("copy": true) stand
 * in for it? Only a small directory outside code and configuration. */
static bool copyable(const struct learner *l, const char *dir)
{
	struct stat st;
	return strcmp(dir, "/") && !system_dir(dir) &&
	       rootfs_lookup(l->lowers, l->n_lowers, dir, &st, NULL) == 0 && S_ISDIR(st.st_mode) &&
	       image_dir_bytes(l, dir) <= RUNTIME_LEARN_COPY_MAX;
}

/* Does some write other than T name dir as where it went? (writes are
 * split: path, dir and kind are three strings, one after the other.) */
static bool has_entry_write(const struct strvec *writes, const char *dir)
{
	for (size_t i = 0; i < writes->n; i++) {
		const char *d = writes->v[i] + strlen(writes->v[i]) + 1;
		const char *k = d + strlen(d) + 1;
		if (*k != 'T' && !strcmp(d, dir))
			return true;
	}
	return false;
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
		strset_clear(&l.scaffolded);
		return r;
	}
	/* Where a tmpfs would make each write possible: the image's directory
	 * it went into when that directory is empty in the image; else, for a
	 * new directory, that directory itself (petra creates the mount point);
	 * else that directory filled with the image's content when that is
	 * small; else nowhere: a tmpfs would hide the image's files. */
	_cleanup_strvec_ struct strvec dirs = STRVEC_INIT;
	_cleanup_strset_ struct strset copies = {0};
	for (size_t i = 0; i < l.writes.n; i++) {
		char *tab = strchr(l.writes.v[i], '\t');
		*tab = '\0';
		*strchr(tab + 1, '\t') = '\0';
	}
	for (size_t i = 0; i < l.writes.n; i++) {
		char *path = l.writes.v[i], *dir = path + strlen(path) + 1;
		char *kind = dir + strlen(dir) + 1;
		if (*kind == 'T' &&
		    (has_entry_write(&l.writes, dir) || strset_contains(&l.scaffolded, dir)))
			continue; /* explained by what is there */
		if ((*kind == 'F' || *kind == 'D' || *kind == 'T') &&
		    !image_dir_populated(&l, dir)) {
			strvec_push(&dirs, dir);
		} else if (*kind == 'D') {
			strvec_push(&dirs, path);
		} else if (copyable(&l, dir)) {
			strvec_push(&dirs, dir);
			strset_add(&copies, dir);
		} else if (*kind == 'C') {
			strvec_pushf(notes, "changes %s, which is part of the image", path);
		} else if (*kind == 'W') {
			strvec_pushf(notes, "deletes %s, which is part of the image", path);
		} else if (*kind == 'T') {
			strvec_pushf(notes,
				     "creates and removes entries in %s, which holds the image's "
				     "files: a tmpfs there would hide them (a directory of its own "
				     "would do)",
				     dir);
		} else {
			strvec_pushf(
			    notes,
			    "writes %s into %s, which holds the image's files: a tmpfs there "
			    "would hide them (a directory of its own would do)",
			    path, dir);
		}
	}
	strvec_clear(&l.writes);
	strset_clear(&l.scaffolded);
	/* Sorted, a directory comes before everything below it. */
	strvec_sort(&dirs);
	struct image_writable_path *paths = xcalloc(dirs.n ? dirs.n : 1, sizeof(*paths));
	size_t n = 0;
	for (size_t i = 0; i < dirs.n; i++) {
		if (n && below(dirs.v[i], paths[n - 1].path))
			continue;
		struct image_writable_path *p = &paths[n++];
		p->path = xstrdup(dirs.v[i]);
		p->copy = strset_contains(&copies, p->path);
		p->used = usage(upper_fd, p->path + 1);
		/* A copy holds the image's content too. */
		uint64_t held = p->used + (p->copy ? image_dir_bytes(&l, p->path) : 0);
		p->size = runtime_learn_size(held);
		/* Mode and owner from the image, never from what the container
		 * made of the directory; a new one belongs to the process. */
		struct stat st;
		p->has_uid = true;
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

uint64_t runtime_learn_size(uint64_t held)
{
	/* Room to grow: twice what it held, at least 1 MiB, in whole MiB, at
	 * most what run grants a label. */
	uint64_t size = held > RUNTIME_LEARN_MAX_SIZE / 2 ? RUNTIME_LEARN_MAX_SIZE
							  : ((held * 2 + MIB - 1) / MIB) * MIB;
	return size < MIB ? MIB : size;
}

/* ---- a detached learner, after it stopped ---- */

bool runtime_container_learning(const struct runtime_container *c, const char **save)
{
	json_t *learn = json_object_get(c->state, "learn");
	if (save)
		*save = learn ? json_get_string(learn, "save") : NULL;
	return json_is_object(learn);
}

int runtime_learn_result(struct petra_store *store, const struct runtime_container *c,
			 struct runtime_run_result *result, struct petra_error **err)
{
	memset(result, 0, sizeof(*result));
	memcpy(result->id, c->id, strnlen(c->id, sizeof(result->id) - 1));
	if (!runtime_container_learning(c, NULL))
		return petra_error_set(err, EINVAL, "container %.12s was not started with --learn",
				       c->id);
	if (c->running)
		return petra_error_set(err, EBUSY,
				       "container %.12s is still running (stop it first)", c->id);
	/* The same image, by digest, and the same layers it ran on. */
	struct image img;
	int r = image_load(store, c->image_digest, &img, err);
	if (r < 0)
		return petra_error_prefix(err, "the image of container %.12s", c->id);
	struct runtime_spec spec;
	memset(&spec, 0, sizeof(spec));
	r = rootfs_prepare(store, &img, &spec.lowers, err);
	image_release(&img);
	if (r < 0)
		return r;
	/* What analysis needs of the spec: layers, upper directory, the
	 * mount targets (not the process's writes) and the user. */
	strvec_pushf(&spec.strings, "%s/learn/upper", c->dir);
	spec.sandbox.root.upper = spec.strings.v[0];
	spec.sandbox.root.lowers = (const char *const *)spec.lowers.v;
	spec.sandbox.root.n_lowers = spec.lowers.n;
	spec.sandbox.process.uid = (uid_t)json_get_int(c->state, "uid", 0);
	json_t *mounts = json_object_get(c->state, "mounts"), *m;
	size_t i;
	spec.mounts = xcalloc(json_array_size(mounts) + 1, sizeof(*spec.mounts));
	json_array_foreach(mounts, i, m)
	{
		const char *target = json_get_string(m, "target");
		if (!target)
			continue;
		strvec_push(&spec.strings, target);
		spec.mounts[spec.n_mounts++].target = spec.strings.v[spec.strings.n - 1];
	}
	r = runtime_learn_analyse(&spec, &result->learned, &result->n_learned, &result->learn_notes,
				  err);
	runtime_spec_release(&spec);
	return r;
}

/* ---- saving the learned paths into an image ---- */

/* Add what `label` holds to paths (see runtime_save_writable_paths). */
static int merge_label(const char *label, struct image_writable_path **paths, size_t *n,
		       struct petra_error **err)
{
	struct image_writable_path *old;
	size_t n_old;
	int r = image_writable_paths_parse(label, &old, &n_old, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_old; i++) {
		struct image_writable_path *o = &old[i], *same = NULL;
		for (size_t k = 0; k < *n && !same; k++)
			if (!strcmp((*paths)[k].path, o->path))
				same = &(*paths)[k];
		if (same) {
			if (o->size > same->size)
				same->size = o->size;
			same->copy |= o->copy;
			continue;
		}
		*paths = xrealloc(*paths, (*n + 1) * sizeof(**paths));
		(*paths)[(*n)++] = *o;
		o->path = NULL; /* moved */
	}
	image_writable_paths_free(old, n_old);
	return 0;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(((const struct image_writable_path *)a)->path,
		      ((const struct image_writable_path *)b)->path);
}

/* Sorted, and a path below another folded into it (the larger size). */
static void fold_paths(struct image_writable_path *paths, size_t *n)
{
	qsort(paths, *n, sizeof(*paths), compare_paths);
	size_t kept = 0;
	for (size_t i = 0; i < *n; i++) {
		if (kept && below(paths[i].path, paths[kept - 1].path)) {
			if (paths[i].size > paths[kept - 1].size)
				paths[kept - 1].size = paths[i].size;
			free(paths[i].path);
			continue;
		}
		paths[kept++] = paths[i];
	}
	*n = kept;
}

/* The label of image `ref`, or NULL. */
static const char *label_of(const struct image *img)
{
	json_t *cfg = image_runtime_config(img);
	json_t *labels = cfg ? json_object_get(cfg, "Labels") : NULL;
	return labels ? json_get_string(labels, IMAGE_WRITABLE_PATHS_LABEL) : NULL;
}

static bool same_layers(const struct image *a, const struct image *b)
{
	if (a->config.diff_ids.n != b->config.diff_ids.n)
		return false;
	for (size_t i = 0; i < a->config.diff_ids.n; i++)
		if (strcmp(a->config.diff_ids.v[i], b->config.diff_ids.v[i]))
			return false;
	return true;
}

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
	/* Learning runs add up: what the image, and an image of the same
	 * layers already saved under the name, learned before. */
	struct image_writable_path *all = xcalloc(n ? n : 1, sizeof(*all));
	size_t n_all = n;
	for (size_t i = 0; i < n; i++) {
		all[i] = paths[i];
		all[i].path = xstrdup(paths[i].path);
	}
	r = merge_label(label_of(&img), &all, &n_all, err);
	struct image previous;
	_cleanup_error_ struct petra_error *absent = NULL;
	if (r == 0 && image_load(store, full_name, &previous, &absent) == 0) {
		if (same_layers(&img, &previous))
			r = merge_label(label_of(&previous), &all, &n_all, err);
		image_release(&previous);
	}
	if (r < 0) {
		image_writable_paths_free(all, n_all);
		image_release(&img);
		return r;
	}
	fold_paths(all, &n_all);
	_cleanup_free_ char *value = image_writable_paths_format(all, n_all);
	image_writable_paths_free(all, n_all);
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
		/* The record: made from the image learned from, with what
		 * was learned. */
		if (r == 0) {
			struct lineage_record rec = {0};
			rec.producer = xstrdup("learn");
			rec.image_name = xstrdup(full_name);
			lineage_record_add_material(&rec, "learn", img.name, img.desc.digest);
			rec.parameters = json_pack("{s:s}", "writablePaths", value);
			rec.finished = time(NULL);
			r = lineage_record_save(store, desc.digest, &rec, err);
			lineage_record_release(&rec);
		}
		if (r == 0 && digest)
			memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	}
	image_release(&img);
	return r;
}
