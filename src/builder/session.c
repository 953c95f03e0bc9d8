/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-build object: the session's scratch space, progress output,
 * the overlayfs probe, cancellation and the first failed RUN's status.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>

void builder_session_init(struct builder_session *s, struct petra_store *store,
			  const struct builder_options *o)
{
	*s = (struct builder_session){
	    .store = store,
	    .o = o,
	    .now = o->reproducible ? o->source_date_epoch : time(NULL),
	    .context_fd = -1,
	    .lock_fd = -1,
	    .overlay = -1,
	    .started = time(NULL),
	};
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->output_lock, NULL);
}

/* ---- progress output ---- */

void builder_say(struct builder_session *s, const char *stage, const char *fmt, ...)
{
	if (s->o->quiet)
		return;
	struct strbuf sb = STRBUF_INIT;
	if (s->o->label)
		strbuf_addstr(&sb, s->o->label);
	if (stage && s->parallel)
		strbuf_addf(&sb, "[%s] ", stage);
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->output_lock);
	if (s->o->output) {
		s->o->output(s->o->output_ctx, sb.buf);
	} else {
		strbuf_addch(&sb, '\n');
		/* One write per line: lines of parallel stages do not mix. */
		fs_write_all(STDERR_FILENO, sb.buf, sb.len);
	}
	pthread_mutex_unlock(&s->output_lock);
	strbuf_release(&sb);
}

/* ---- the session's scratch space ---- */

/* Remove the scratch directories of builds that are gone. A build's
 * directory <id> comes after its lock file <id>.lock, which appears
 * already locked (renamed into place): a directory without a lock file,
 * or with a lock nobody holds, is a leftover. */
static void remove_stale_sessions(const char *tmp)
{
	_cleanup_closedir_ DIR *d = opendir(tmp);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || (len > 5 && !strcmp(de->d_name + len - 5, ".lock")))
			continue;
		_cleanup_free_ char *lock = xasprintf("%s/%s.lock", tmp, de->d_name);
		_cleanup_close_ int fd = open(lock, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* a running build's */
		_cleanup_free_ char *dir = path_join(tmp, de->d_name);
		_cleanup_error_ struct petra_error *e = NULL;
		if (fs_remove_tree_at(AT_FDCWD, dir, &e) < 0)
			log_debug("could not remove %s: %s", dir, e->message);
		if (fd >= 0)
			unlink(lock);
	}
}

int builder_session_open(struct builder_session *s, struct petra_error **err)
{
	s->build_dir = path_join(petra_store_root(s->store), "build");
	_cleanup_free_ char *tmp = path_join(s->build_dir, "tmp");
	int r = fs_mkdir_p(tmp, 0700, err);
	if (r < 0)
		return r;
	remove_stale_sessions(tmp);
	unsigned char raw[8];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return petra_error_set_errno(err, errno, "random session name");
	char id[17];
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	/* The lock first, locked before it has its name. */
	_cleanup_free_ char *pending = xasprintf("%s/.lock-%s", tmp, id);
	s->lock_path = xasprintf("%s/%s.lock", tmp, id);
	s->lock_fd = open(pending, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX) < 0 || rename(pending, s->lock_path) < 0)
		return petra_error_set_errno(err, errno, "lock %s", s->lock_path);
	s->dir = path_join(tmp, id);
	if (mkdir(s->dir, 0700) < 0)
		return petra_error_set_errno(err, errno, "create %s", s->dir);
	s->empty_dir = path_join(s->dir, "empty");
	if (mkdir(s->empty_dir, 0755) < 0)
		return petra_error_set_errno(err, errno, "create %s", s->empty_dir);
	return 0;
}

void builder_session_release(struct builder_session *s)
{
	if (s->dir) {
		_cleanup_error_ struct petra_error *e = NULL;
		if (fs_remove_tree_at(AT_FDCWD, s->dir, &e) < 0)
			log_warn("could not remove %s: %s", s->dir, e->message);
	}
	if (s->lock_fd >= 0) {
		unlink(s->lock_path);
		close(s->lock_fd);
	}
	free(s->lock_path);
	free(s->build_dir);
	free(s->dir);
	free(s->empty_dir);
	petra_error_free(s->overlay_error);
	for (size_t i = 0; i < s->n_materials; i++) {
		free(s->materials[i].kind);
		free(s->materials[i].stage_label);
		free(s->materials[i].name);
	}
	free(s->materials);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->output_lock);
}

int builder_scratch_dir(struct builder_session *s, const char *what, char **path,
			struct petra_error **err)
{
	unsigned id = __atomic_fetch_add(&s->next_id, 1, __ATOMIC_RELAXED);
	*path = xasprintf("%s/%s-%u", s->dir, what, id);
	if (mkdir(*path, 0755) < 0) {
		int r = petra_error_set_errno(err, errno, "create %s", *path);
		free(*path);
		*path = NULL;
		return r;
	}
	return 0;
}

/* ---- overlayfs or the copy fallback ---- */

static bool probe_overlay(struct builder_session *s, struct petra_error **why)
{
	_cleanup_free_ char *dir = NULL;
	if (builder_scratch_dir(s, "probe", &dir, why) < 0)
		return false;
	_cleanup_free_ char *lower = path_join(dir, "lower");
	_cleanup_free_ char *upper = path_join(dir, "upper");
	_cleanup_free_ char *work = path_join(dir, "work");
	_cleanup_free_ char *mnt = path_join(dir, "mnt");
	mkdir(lower, 0755);
	mkdir(upper, 0755);
	mkdir(work, 0700);
	mkdir(mnt, 0755);
	const char *lowers[] = {lower};
	struct rootfs_mount_options mo = {
	    .lowers = lowers, .n_lowers = 1, .upper = upper, .work = work};
	bool ok = rootfs_mount(mnt, &mo, why) == 0;
	if (ok)
		umount2(mnt, MNT_DETACH);
	fs_remove_tree_at(AT_FDCWD, dir, NULL);
	return ok;
}

int builder_use_overlay(struct builder_session *s, bool *overlay, struct petra_error **err)
{
	pthread_mutex_lock(&s->lock);
	if (s->overlay < 0) {
		if (s->o->snapshot == BUILDER_SNAPSHOT_COPY) {
			s->overlay = 0;
		} else {
			s->overlay = probe_overlay(s, &s->overlay_error);
			if (!s->overlay && s->o->snapshot == BUILDER_SNAPSHOT_AUTO)
				log_warn(
				    "overlayfs cannot be mounted here (%s): each step works on "
				    "a copy of its stage's root instead, which is slower",
				    s->overlay_error ? s->overlay_error->message
						     : "unknown reason");
		}
	}
	*overlay = s->overlay == 1;
	int r = 0;
	if (!*overlay && s->o->snapshot == BUILDER_SNAPSHOT_OVERLAY)
		r = petra_error_set(err, ENOTSUP, "overlayfs cannot be mounted here: %s",
				    s->overlay_error ? s->overlay_error->message : "unknown");
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* ---- cancellation and the exit status ---- */

void builder_cancel(struct builder_session *s)
{
	pthread_mutex_lock(&s->lock);
	s->cancelled = true;
	pthread_mutex_unlock(&s->lock);
}

bool builder_cancelled(struct builder_session *s)
{
	pthread_mutex_lock(&s->lock);
	bool cancelled = s->cancelled;
	pthread_mutex_unlock(&s->lock);
	return cancelled;
}

void builder_note_exit_status(struct builder_session *s, int status)
{
	pthread_mutex_lock(&s->lock);
	if (!s->exit_status)
		s->exit_status = status;
	pthread_mutex_unlock(&s->lock);
}

void builder_note_material(struct builder_session *s, size_t stage, const char *stage_name,
			   const char *kind, const char *name, const char *digest)
{
	pthread_mutex_lock(&s->lock);
	bool known = false;
	for (size_t i = 0; i < s->n_materials && !known; i++)
		known = s->materials[i].stage == stage && !strcmp(s->materials[i].kind, kind) &&
			!strcmp(s->materials[i].digest, digest);
	if (!known) {
		s->materials = xrealloc(s->materials, (s->n_materials + 1) * sizeof(*s->materials));
		struct builder_material *m = &s->materials[s->n_materials++];
		m->stage = stage;
		/* Its AS name, else its index, as FROM and --from name it. */
		m->stage_label = stage_name ? xstrdup(stage_name) : xasprintf("%zu", stage);
		m->kind = xstrdup(kind);
		m->name = xstrdup(name);
		snprintf(m->digest, sizeof(m->digest), "%s", digest);
	}
	pthread_mutex_unlock(&s->lock);
}
