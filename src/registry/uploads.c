/* SPDX-License-Identifier: Apache-2.0 */
/* Chunked uploads in progress, one small JSON file per session in the
 * store's registry-uploads/ directory (written atomically after every
 * chunk the registry acknowledged), so a push that died can continue the
 * registry's session from its offset instead of sending the blob again.
 * A cache only: a lost or stale file costs a new upload, never
 * correctness (the registry verifies the digest when the upload ends). */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPLOADS_DIR "registry-uploads"

/* The file of a session: the digest of what identifies it. */
static char *session_name(const char *host, const char *repo, const char *digest)
{
	_cleanup_free_ char *key = xasprintf("%s\n%s\n%s", host, repo, digest);
	char id[OCI_DIGEST_SIZE];
	oci_digest_buffer(key, strlen(key), id);
	return xasprintf("%s.json", id + strlen("sha256:"));
}

static int uploads_dir(struct petra_store *store, bool create)
{
	int root = petra_store_root_fd(store);
	if (create && mkdirat(root, UPLOADS_DIR, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(root, UPLOADS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int registry_upload_session_load(struct petra_store *store, const char *host, const char *repo,
				 const char *digest, char **location, int64_t *acked)
{
	*location = NULL;
	*acked = 0;
	_cleanup_close_ int dir = uploads_dir(store, false);
	if (dir < 0)
		return 0;
	_cleanup_free_ char *name = session_name(host, repo, digest);
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct petra_error *e = NULL;
	if (fs_read_file_at(dir, name, 64 * 1024, &data, &len, &e) < 0) {
		petra_error_free(e);
		return 0;
	}
	json_t *doc = json_loadb(data, len, 0, NULL);
	const char *loc = json_get_string(doc, "location");
	json_int_t offset = json_get_int(doc, "acknowledged", -1);
	/* Another session's file under this name (never, unless edited) or a
	 * damaged one: ignored. */
	bool ok = loc && offset >= 0 && json_get_string(doc, "registry") &&
		  !strcmp(json_get_string(doc, "registry"), host) &&
		  json_get_string(doc, "repository") &&
		  !strcmp(json_get_string(doc, "repository"), repo) &&
		  json_get_string(doc, "digest") && !strcmp(json_get_string(doc, "digest"), digest);
	if (ok) {
		*location = xstrdup(loc);
		*acked = (int64_t)offset;
	}
	json_decref(doc);
	return ok ? 1 : 0;
}

void registry_upload_session_save(struct petra_store *store, const char *host, const char *repo,
				  const char *digest, const char *location, int64_t acked)
{
	_cleanup_close_ int dir = uploads_dir(store, true);
	if (dir < 0) {
		log_debug("%s/%s: %s", petra_store_root(store), UPLOADS_DIR, strerror(errno));
		return;
	}
	json_t *doc =
	    json_pack("{s:s, s:s, s:s, s:s, s:I}", "registry", host, "repository", repo, "digest",
		      digest, "location", location, "acknowledged", (json_int_t)acked);
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(doc, &len);
	json_decref(doc);
	_cleanup_free_ char *name = session_name(host, repo, digest);
	/* Atomic (a temporary renamed over it) but not synced: written after
	 * every chunk, and a session lost in a crash costs a new upload, not
	 * correctness; an fsync per chunk cost more than the chunk. */
	_cleanup_free_ char *tmp = NULL;
	struct petra_error *e = NULL;
	_cleanup_close_ int fd = fs_tmpfile_at(dir, name, 0600, &tmp, &e);
	if (fd < 0 || fs_write_all(fd, text, len) < 0 || renameat(dir, tmp, dir, name) < 0) {
		log_debug("%s: %s", name, e ? e->message : strerror(errno));
		petra_error_free(e);
		if (tmp)
			unlinkat(dir, tmp, 0);
	}
}

void registry_upload_session_remove(struct petra_store *store, const char *host, const char *repo,
				    const char *digest)
{
	_cleanup_close_ int dir = uploads_dir(store, false);
	if (dir < 0)
		return;
	_cleanup_free_ char *name = session_name(host, repo, digest);
	unlinkat(dir, name, 0);
}

void registry_upload_sessions_sweep(struct petra_store *store, time_t max_age)
{
	int dir = uploads_dir(store, false);
	if (dir < 0)
		return;
	_cleanup_closedir_ DIR *d = fdopendir(dir);
	if (!d) {
		close(dir);
		return;
	}
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' && strncmp(de->d_name, ".tmp-", 5))
			continue;
		if (fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now - st.st_mtime > max_age)
			unlinkat(dir, de->d_name, 0);
	}
}
