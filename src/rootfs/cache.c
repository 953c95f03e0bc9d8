/* SPDX-License-Identifier: Apache-2.0 */
/* The extracted-layer cache: <store>/rootfs/layers/<diff_id hex>/. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#define LAYERS_DIR "rootfs/layers"
/* Layers extracted without their owners (by a user other than root, out
 * of a rootless build's namespace: rootless run, which maps one id) live
 * apart, so that a build, root of its namespace, never bases a layer on
 * files whose owners were lost. */
#define UNOWNED_LAYERS_DIR "rootfs/layers-unowned"
static const char *const all_layers_dirs[] = {LAYERS_DIR, UNOWNED_LAYERS_DIR};

/* Where this process extracts: layer_apply keeps owners only as root. */
static const char *layers_dir(void)
{
	return geteuid() == 0 ? LAYERS_DIR : UNOWNED_LAYERS_DIR;
}
/* Names in LAYERS_DIR that are no layer: extractions under way (renamed to
 * the layer's name when complete) and layers being removed. */
#define TMP_PREFIX      ".tmp-"
#define DELETING_PREFIX ".deleting-"

char *rootfs_layer_dir(struct petra_store *store, const char *diff_id)
{
	return xasprintf("%s/%s/%s", petra_store_root(store), layers_dir(),
			 oci_digest_hex(diff_id));
}

static int open_layers_dir(struct petra_store *store, struct petra_error **err)
{
	int root = petra_store_root_fd(store);
	if (mkdirat(root, "rootfs", 0700) < 0 && errno != EEXIST)
		return petra_error_set_errno(err, errno, "create %s/rootfs",
					     petra_store_root(store));
	const char *dir = layers_dir();
	if (mkdirat(root, dir, 0700) < 0 && errno != EEXIST)
		return petra_error_set_errno(err, errno, "create %s/%s", petra_store_root(store),
					     dir);
	int fd = openat(root, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return petra_error_set_errno(err, errno, "open %s/%s", petra_store_root(store),
					     dir);
	/* What killed extractions and removals left (see remove_layer). */
	fs_sweep_temporaries(fd, TMP_PREFIX, true, NULL, NULL);
	fs_sweep_temporaries(fd, DELETING_PREFIX, true, NULL, NULL);
	return fd;
}

/* Remove the cache directory `name` so that no process ever sees part of
 * it under its name: it is renamed out of the way (".deleting-...", held
 * while it goes, so a sweep leaves it alone) and only then deleted. A
 * removal killed half-way leaves a ".deleting-" directory nobody holds,
 * which the next open_layers_dir sweeps, never a truncated layer. */
static int remove_layer(int layers_fd, const char *name, struct petra_error **err)
{
	_cleanup_close_ int fd = openat(layers_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : petra_error_set_errno(err, errno, "open %s", name);
	int h = fs_hold_temporary(fd);
	if (h < 0)
		return h == -ESTALE ? 0 : petra_error_set_errno(err, -h, "lock %s", name);
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)time(NULL);
	_cleanup_free_ char *doomed =
	    xasprintf("%s%.16s-%d-%08x", DELETING_PREFIX, name, (int)getpid(), rnd);
	if (renameat(layers_fd, name, layers_fd, doomed) < 0)
		return errno == ENOENT
			   ? 0
			   : petra_error_set_errno(err, errno, "rename %s to %s", name, doomed);
	/* The rename is what matters: durable before the slow part. */
	fs_fsync_dir_at(layers_fd, ".", NULL);
	return fs_remove_tree_at(layers_fd, doomed, err);
}

static int extract_into(struct petra_store *store, const struct oci_descriptor *layer,
			const char *diff_id, int dir_fd, struct petra_error **err)
{
	_cleanup_close_ int fd = -1;
	struct layer_reader *reader = NULL;
	int r = image_open_layer(store, layer, diff_id, 0, NULL, &fd, &reader, err);
	if (r < 0)
		return r;
	struct layer_apply_options ao = {.flags = LAYER_APPLY_OVERLAY};
	r = layer_apply(reader, dir_fd, &ao, err);
	layer_reader_close(reader);
	/* The rename below is what makes the layer visible: its contents must
	 * be on disk first, or a crash could leave a named, truncated layer. */
	if (r == 0 && syncfs(dir_fd) < 0)
		r = petra_error_set_errno(err, errno, "sync the extracted layer");
	return r;
}

/* Rename `from` (a complete layer directory; relative to layers_fd or
 * absolute) to the cache name `hex`. When another process placed the layer
 * first, its copy is kept and ours removed. */
static int place_layer(int layers_fd, const char *from, const char *hex, struct petra_error **err)
{
	if (renameat(layers_fd, from, layers_fd, hex) == 0) {
		fs_fsync_dir_at(layers_fd, ".", NULL);
		return 0;
	}
	int r = 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		r = petra_error_set_errno(err, errno, "rename %s to %s", from, hex);
	_cleanup_error_ struct petra_error *cleanup = NULL;
	if (fs_remove_tree_at(layers_fd, from, &cleanup) < 0)
		log_warn("could not remove %s: %s", from, cleanup->message);
	return r;
}

/* ---- layers adopted without a sync ----
 *
 * Syncing a step's whole layer before it gets its name would cost the
 * builder as much as writing it. Instead <hex>.unsynced, holding this
 * boot's id, is created before the rename (metadata is journaled in
 * order: if the rename survives a crash, so does the marker). In the
 * same boot the page cache has the data whatever the disk has; in a later
 * boot such a directory may have lost data and is extracted again. */

static void boot_id(char out[64])
{
	_cleanup_free_ char *id = NULL;
	size_t len = 0;
	out[0] = '\0';
	if (fs_read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", 64, &id, &len, NULL) == 0)
		snprintf(out, 64, "%.*s", (int)strcspn(id, "\n"), id);
}

static char *marker_name(const char *hex)
{
	return xasprintf("%s.unsynced", hex);
}

/* A layer directory adopted in an earlier boot without a sync: removed
 * (with its marker) so it is extracted again. */
static void drop_if_unsynced(int layers_fd, const char *hex)
{
	_cleanup_free_ char *marker = marker_name(hex);
	_cleanup_free_ char *written = NULL;
	size_t len = 0;
	int r = fs_read_file_at(layers_fd, marker, 64, &written, &len, NULL);
	if (r == -ENOENT)
		return;
	char now[64];
	boot_id(now);
	if (r == 0 && now[0] && !strncmp(written, now, strlen(now)))
		return;
	_cleanup_error_ struct petra_error *e = NULL;
	if (remove_layer(layers_fd, hex, &e) < 0)
		log_warn("could not remove %s: %s", hex, e->message);
	unlinkat(layers_fd, marker, 0);
}

/* Extract one layer unless its directory exists. */
static int ensure_layer(struct petra_store *store, int layers_fd,
			const struct oci_descriptor *layer, const char *diff_id,
			struct petra_error **err)
{
	/* A cached layer is no excuse for a missing or truncated blob: what
	 * runs and what a build bases on must be what the store can export
	 * and verify. */
	int c = petra_store_check_blob(store, layer, err);
	if (c < 0)
		return c;
	const char *hex = oci_digest_hex(diff_id);
	drop_if_unsynced(layers_fd, hex);
	struct stat st;
	if (fstatat(layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return 0;
	_cleanup_free_ char *tmp = NULL;
	int r = 0;
	{
		/* Held while it is written: a sweep by another process leaves
		 * it alone, and one that got to it first makes us start over. */
		_cleanup_close_ int fd = -1;
		for (int attempt = 0; fd < 0; attempt++) {
			/* A name no other thread or process will make again: one
			 * that another's sweep removed before we held it and that
			 * a neighbour then re-created would be theirs, not ours. */
			uint64_t rnd = 0;
			if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
				rnd = (uint64_t)time(NULL) ^ (uint64_t)attempt;
			free(tmp);
			tmp = xasprintf(TMP_PREFIX "%.16s-%d-%016llx", hex, (int)getpid(),
					(unsigned long long)rnd);
			if (mkdirat(layers_fd, tmp, 0755) < 0) {
				if (errno != EEXIST || attempt > 100)
					return petra_error_set_errno(err, errno, "create %s", tmp);
				continue;
			}
			fd =
			    openat(layers_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* Gone already: another process's sweep took it, empty and
			 * not yet held, between the mkdir and the open. */
			if (fd < 0 && errno == ENOENT && attempt < 100)
				continue;
			if (fd < 0)
				return petra_error_set_errno(err, errno, "open %s", tmp);
			int h = fs_hold_temporary(fd);
			/* Still the directory at that name (not swept and made
			 * again by someone else while we waited for the lock)? */
			struct stat held, named;
			if (h == 0 && (fstat(fd, &held) < 0 ||
				       fstatat(layers_fd, tmp, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
				       held.st_ino != named.st_ino || held.st_dev != named.st_dev))
				h = -ESTALE;
			if (h == -ESTALE && attempt < 100) {
				close(fd);
				fd = -1;
			} else if (h < 0) {
				r = petra_error_set_errno(err, -h, "lock %s", tmp);
				break;
			}
		}
		if (r == 0)
			r = extract_into(store, layer, diff_id, fd, err);
		/* Renamed while still held. */
		if (r == 0)
			return place_layer(layers_fd, tmp, hex, err);
	}
	_cleanup_error_ struct petra_error *cleanup = NULL;
	if (fs_remove_tree_at(layers_fd, tmp, &cleanup) < 0)
		log_warn("could not remove %s: %s", tmp, cleanup->message);
	return r;
}

int rootfs_ensure_layer(struct petra_store *store, const struct oci_descriptor *layer,
			const char *diff_id, char **dir, struct petra_error **err)
{
	_cleanup_close_ int layers_fd = open_layers_dir(store, err);
	if (layers_fd < 0)
		return layers_fd;
	int r = ensure_layer(store, layers_fd, layer, diff_id, err);
	if (r < 0)
		return r;
	*dir = rootfs_layer_dir(store, diff_id);
	return 0;
}

int rootfs_adopt_layer(struct petra_store *store, const char *diff_id, const char *dir,
		       char **cached, struct petra_error **err)
{
	_cleanup_close_ int layers_fd = open_layers_dir(store, err);
	if (layers_fd < 0)
		return layers_fd;
	const char *hex = oci_digest_hex(diff_id);
	drop_if_unsynced(layers_fd, hex);
	/* Not synced: marked with this boot's id instead (see above). */
	char id[64];
	boot_id(id);
	_cleanup_free_ char *marker = marker_name(hex);
	struct stat st;
	bool had_marker = fstatat(layers_fd, marker, &st, 0) == 0;
	_cleanup_close_ int mfd =
	    openat(layers_fd, marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (mfd < 0 || fs_write_all(mfd, id, strlen(id)) < 0)
		return petra_error_set_errno(err, errno, "mark %s", marker);
	/* Both by path: the store's descriptors may belong to the mount
	 * namespace the caller had before it made a private one, and a
	 * rename across two mounts of one filesystem is refused. */
	char *final = rootfs_layer_dir(store, diff_id);
	if (rename(dir, final) == 0) {
		*cached = final;
		return 0;
	}
	int r = 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		r = petra_error_set_errno(err, errno, "rename %s to %s", dir, final);
	/* Cached already (extracted and synced, or adopted before): ours goes,
	 * and so does a marker that was not there before. */
	if (!had_marker)
		unlinkat(layers_fd, marker, 0);
	_cleanup_error_ struct petra_error *cleanup = NULL;
	if (fs_remove_tree_at(AT_FDCWD, dir, &cleanup) < 0)
		log_warn("could not remove %s: %s", dir, cleanup->message);
	if (r == 0)
		*cached = final;
	else
		free(final);
	return r;
}

int rootfs_prepare(struct petra_store *store, const struct image *img, struct strvec *lowers,
		   struct petra_error **err)
{
	_cleanup_close_ int layers_fd = open_layers_dir(store, err);
	if (layers_fd < 0)
		return layers_fd;
	for (size_t i = 0; i < img->manifest.n_layers; i++) {
		const char *diff_id = img->config.diff_ids.v[i];
		int r = ensure_layer(store, layers_fd, &img->manifest.layers[i], diff_id, err);
		if (r < 0) {
			char short_digest[13];
			oci_digest_short(diff_id, short_digest);
			return petra_error_prefix(err, "extract layer %zu (%s)", i + 1,
						  short_digest);
		}
		strvec_push_nodup(lowers, rootfs_layer_dir(store, diff_id));
	}
	return 0;
}

static int prune_dir(struct petra_store *store, const char *dir, const struct strset *keep,
		     bool dry_run, uint64_t *removed, struct petra_error **err)
{
	int root = petra_store_root_fd(store);
	_cleanup_close_ int layers_fd =
	    openat(root, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (layers_fd < 0)
		return errno == ENOENT ? 0
				       : petra_error_set_errno(err, errno, "open %s/%s",
							       petra_store_root(store), dir);
	DIR *d = fs_opendir_at(layers_fd, ".");
	if (!d)
		return petra_error_set_errno(err, errno, "read %s/%s", petra_store_root(store),
					     dir);
	struct strvec victims = STRVEC_INIT;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* "<hex>.unsynced" (see rootfs_adopt_layer) goes with its layer. */
		size_t len = strcspn(de->d_name, ".");
		_cleanup_free_ char *diff_id = xasprintf("sha256:%.*s", (int)len, de->d_name);
		if (de->d_name[0] == '.')
			continue; /* temporaries: swept below */
		if (!strset_contains(keep, diff_id))
			strvec_push(&victims, de->d_name);
	}
	closedir(d);
	int r = 0;
	for (size_t i = 0; i < victims.n && r == 0; i++) {
		if (!dry_run)
			r = strchr(victims.v[i], '.')
				? fs_remove_tree_at(layers_fd, victims.v[i], err)
				: remove_layer(layers_fd, victims.v[i], err);
		if (r == 0 && !strchr(victims.v[i], '.'))
			(*removed)++;
	}
	if (!dry_run) {
		fs_sweep_temporaries(layers_fd, TMP_PREFIX, true, NULL, NULL);
		fs_sweep_temporaries(layers_fd, DELETING_PREFIX, true, NULL, NULL);
	}
	strvec_clear(&victims);
	return r;
}

int rootfs_prune(struct petra_store *store, const struct strset *keep, bool dry_run,
		 uint64_t *removed, struct petra_error **err)
{
	*removed = 0;
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(all_layers_dirs) && r == 0; i++)
		r = prune_dir(store, all_layers_dirs[i], keep, dry_run, removed, err);
	return r;
}

void rootfs_stale_temporaries(struct petra_store *store, uint64_t *count, uint64_t *bytes)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_layers_dirs); i++) {
		_cleanup_close_ int layers_fd =
		    openat(petra_store_root_fd(store), all_layers_dirs[i],
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (layers_fd < 0)
			continue;
		fs_sweep_temporaries(layers_fd, TMP_PREFIX, false, count, bytes);
		fs_sweep_temporaries(layers_fd, DELETING_PREFIX, false, count, bytes);
	}
}
