/* SPDX-License-Identifier: Apache-2.0 */
/* From an image config and petra run's options to a sandbox configuration. */
#include "internal.h"

#include <string.h>

#define DEFAULT_PATH   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MIN_TMPFS_SIZE (UINT64_C(1) << 20)
/* The most memory an image's label may ask for, per path: the image is
 * not trusted with the host's memory. The operator asks for more with a
 * --tmpfs of the same path, which replaces the label's. */
#define MAX_IMAGE_TMPFS_SIZE (UINT64_C(64) << 20)

/* ---- the spec ---- */

void runtime_spec_release(struct runtime_spec *spec)
{
	strvec_clear(&spec->lowers);
	strvec_clear(&spec->argv);
	strvec_clear(&spec->env);
	strvec_clear(&spec->strings);
	free(spec->mounts);
	free(spec->cwd);
	free(spec->user);
	memset(spec, 0, sizeof(*spec));
}

void runtime_env_set(struct strvec *env, const char *kv)
{
	size_t key_len = strcspn(kv, "=");
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], kv, key_len) && env->v[i][key_len] == '=') {
			free(env->v[i]);
			env->v[i] = xstrdup(kv);
			return;
		}
	strvec_push(env, kv);
}

static bool env_has(const struct strvec *env, const char *key)
{
	size_t len = strlen(key);
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], key, len) && env->v[i][len] == '=')
			return true;
	return false;
}

static void add_mount(struct runtime_spec *spec, const struct sandbox_mount *m)
{
	spec->mounts = xrealloc(spec->mounts, (spec->n_mounts + 1) * sizeof(*spec->mounts));
	struct sandbox_mount *copy = &spec->mounts[spec->n_mounts++];
	*copy = *m;
	/* The spec owns its strings: options may be gone when it is used. */
	strvec_push(&spec->strings, m->target);
	copy->target = spec->strings.v[spec->strings.n - 1];
	if (m->source) {
		strvec_push(&spec->strings, m->source);
		copy->source = spec->strings.v[spec->strings.n - 1];
	}
}

/* Does the operator mount something (--tmpfs, -v) on path? */
static bool operator_mounts(const struct runtime_run_options *o, const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (size_t i = 0; i < o->n_mounts; i++) {
		const char *t = o->mounts[i].target;
		size_t tlen = strlen(t);
		while (tlen > 1 && t[tlen - 1] == '/')
			tlen--;
		if (tlen == len && !strncmp(t, path, len))
			return true;
	}
	return false;
}

/* A tmpfs that starts with the image's content of its target is moded
 * and owned as the image's directory there (when the image has one). */
static void image_dir_owner(const char *const *layers, size_t n, struct sandbox_mount *m)
{
	struct stat st;
	if (rootfs_lookup(layers, n, m->target, &st, NULL) == 0 && S_ISDIR(st.st_mode)) {
		m->mode = st.st_mode & 01777;
		m->uid = st.st_uid;
		m->gid = st.st_gid;
	}
}

int runtime_spec_build(const struct image *img, struct strvec *lowers,
		       const struct runtime_run_options *o, struct runtime_spec *spec,
		       struct petra_error **err)
{
	memset(spec, 0, sizeof(*spec));
	spec->lowers = *lowers;
	*lowers = (struct strvec)STRVEC_INIT;
	json_t *cfg = image_runtime_config(img);
	const char *const *layer_dirs = (const char *const *)spec->lowers.v;

	/* The command: Entrypoint, then the given command or Cmd. */
	json_t *entrypoint = cfg ? json_object_get(cfg, "Entrypoint") : NULL;
	json_t *cmd = cfg ? json_object_get(cfg, "Cmd") : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(entrypoint, i, v) if (json_is_string(v))
	    strvec_push(&spec->argv, json_string_value(v));
	if (o->command && o->command[0]) {
		for (i = 0; o->command[i]; i++)
			strvec_push(&spec->argv, o->command[i]);
	} else {
		json_array_foreach(cmd, i, v) if (json_is_string(v))
		    strvec_push(&spec->argv, json_string_value(v));
	}
	if (spec->argv.n == 0)
		return petra_error_set(err, EINVAL,
				       "no command: the image has no Entrypoint or "
				       "Cmd and none was given");

	/* User. */
	const char *user = o->user ? o->user : (cfg ? json_get_string(cfg, "User") : NULL);
	spec->user = xstrdup(user ? user : "");
	struct sandbox_process *p = &spec->sandbox.process;
	_cleanup_free_ char *home = NULL;
	int r = rootfs_resolve_user(layer_dirs, spec->lowers.n, user, &p->uid, &p->gid, &home, err);
	if (r < 0)
		return r;
	if (o->non_root && p->uid == 0)
		return petra_error_set(err, EPERM,
				       "the container would run as root (user \"%s\") and non-root "
				       "is required",
				       user && *user ? user : "");

	/* Environment: the image's, then the caller's. */
	json_t *env = cfg ? json_object_get(cfg, "Env") : NULL;
	json_array_foreach(env, i, v) if (json_is_string(v))
	    runtime_env_set(&spec->env, json_string_value(v));
	for (i = 0; o->env && o->env[i]; i++) {
		if (strchr(o->env[i], '=')) {
			runtime_env_set(&spec->env, o->env[i]);
		} else if (getenv(o->env[i])) {
			_cleanup_free_ char *kv = xasprintf("%s=%s", o->env[i], getenv(o->env[i]));
			runtime_env_set(&spec->env, kv);
		}
	}
	if (!env_has(&spec->env, "PATH"))
		strvec_push(&spec->env, DEFAULT_PATH);
	if (!env_has(&spec->env, "HOME")) {
		_cleanup_free_ char *kv = xasprintf("HOME=%s", home);
		strvec_push(&spec->env, kv);
	}
	if (o->tty && !env_has(&spec->env, "TERM"))
		strvec_push(&spec->env, "TERM=xterm");

	const char *wd =
	    o->workdir ? o->workdir : (cfg ? json_get_string(cfg, "WorkingDir") : NULL);
	spec->cwd = xstrdup(wd && *wd ? wd : "/");

	/* Writable paths: the image's label (unless learning, which must see
	 * every write), then the caller's tmpfs and volumes. */
	if (!o->learn && !o->read_write) {
		json_t *labels = cfg ? json_object_get(cfg, "Labels") : NULL;
		const char *label =
		    labels ? json_get_string(labels, IMAGE_WRITABLE_PATHS_LABEL) : NULL;
		struct image_writable_path *paths = NULL;
		size_t n = 0;
		r = image_writable_paths_parse(label, &paths, &n, err);
		if (r < 0)
			return r;
		for (i = 0; i < n; i++) {
			if (operator_mounts(o, paths[i].path))
				continue;
			uint64_t size = paths[i].size;
			struct sandbox_mount m = {
			    .kind = SANDBOX_MOUNT_TMPFS,
			    .target = paths[i].path,
			    .size = size < MIN_TMPFS_SIZE         ? MIN_TMPFS_SIZE
				    : size > MAX_IMAGE_TMPFS_SIZE ? MAX_IMAGE_TMPFS_SIZE
								  : size,
			    /* Permissions and the sticky bit; no setuid or setgid. */
			    .mode = (paths[i].mode ? paths[i].mode : 0755) & 01777,
			    /* No owner given: the container's user must be able
			     * to write there, whoever it is. */
			    .uid = paths[i].has_uid ? paths[i].uid : p->uid,
			    .gid = !paths[i].has_uid || paths[i].uid == p->uid ? p->gid : 0,
			    .copy_up = paths[i].copy,
			};
			if (m.copy_up)
				image_dir_owner(layer_dirs, spec->lowers.n, &m);
			add_mount(spec, &m);
		}
		image_writable_paths_free(paths, n);
	}
	for (i = 0; i < o->n_mounts; i++) {
		struct sandbox_mount m = o->mounts[i];
		/* --tmpfs without a mode is world-writable and sticky, as
		 * Docker and podman make it; one filled with the image's
		 * content is the image's directory. */
		if (m.kind == SANDBOX_MOUNT_TMPFS && m.copy_up && !m.mode && !m.uid && !m.gid)
			image_dir_owner(layer_dirs, spec->lowers.n, &m);
		if (m.kind == SANDBOX_MOUNT_TMPFS && !m.mode)
			m.mode = 01777;
		add_mount(spec, &m);
	}

	p->argv = spec->argv.v; /* both non-empty, so NULL-terminated */
	p->env = spec->env.v;
	p->cwd = spec->cwd;
	p->caps = sandbox_default_caps() | o->cap_add;
	p->ambient = o->cap_add;
	for (int k = 0; k < 3; k++)
		p->stdio[k] = -1;
	p->tty = o->tty;
	spec->sandbox.root.lowers = (const char *const *)spec->lowers.v;
	spec->sandbox.root.n_lowers = spec->lowers.n;
	spec->sandbox.root.flags = o->copy_root ? ROOTFS_MOUNT_COPY : 0;
	spec->sandbox.mounts = spec->mounts;
	spec->sandbox.n_mounts = spec->n_mounts;
	spec->sandbox.network = o->network;
	return 0;
}

int runtime_prepare(struct petra_store *store, const struct runtime_run_options *o,
		    struct image *img, struct runtime_spec *spec, struct petra_error **err)
{
	memset(spec, 0, sizeof(*spec));
	int r = image_load(store, o->image, img, err);
	if (r < 0)
		return r;
	struct strvec lowers = STRVEC_INIT;
	r = rootfs_prepare(store, img, &lowers, err);
	if (r == 0)
		r = runtime_spec_build(img, &lowers, o, spec, err);
	strvec_clear(&lowers);
	if (r < 0) {
		runtime_spec_release(spec);
		image_release(img);
	}
	return r;
}
