/* SPDX-License-Identifier: Apache-2.0 */
/* Working with running containers: exec, filters, diff. */
#include "internal.h"

#include "lineage/lineage.h"

#include <fcntl.h>
#include <pty.h>
#include <string.h>

/* The cached layer directories of a container's image, bottom first. */
static void container_lowers(struct petra_store *store, const struct runtime_container *c,
			     struct strvec *lowers)
{
	json_t *diff_ids = json_object_get(c->state, "diff_ids");
	size_t i;
	json_t *v;
	json_array_foreach(diff_ids, i,
			   v) if (json_is_string(v) && oci_digest_valid(json_string_value(v)))
	    strvec_push_nodup(lowers, rootfs_layer_dir(store, json_string_value(v)));
}

static void strings_from_json(json_t *a, struct strvec *out)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (json_is_string(v)) strvec_push(out, json_string_value(v));
}

/* ---- exec ---- */

/* A user or group id from state.json. */
static int state_id(const struct runtime_container *c, const char *key, uint32_t *id,
		    struct petra_error **err)
{
	json_int_t v = json_get_int(c->state, key, 0);
	/* UINT32_MAX is (uid_t)-1, "unchanged" to setresuid: root. */
	if (v < 0 || v >= UINT32_MAX)
		return petra_error_set(err, EINVAL, "container %.12s: the state's %s is invalid",
				       c->id, key);
	*id = (uint32_t)v;
	return 0;
}

int runtime_exec(struct petra_store *store, const struct runtime_container *c,
		 const struct runtime_exec_options *o, int *exit_code, struct petra_error **err)
{
	*exit_code = 125; /* until the command runs */
	if (!c->running)
		return petra_error_set(err, ESRCH, "container %.12s is not running", c->id);
	uint32_t uid = 0, gid = 0;
	if (state_id(c, "uid", &uid, err) < 0 || state_id(c, "gid", &gid, err) < 0)
		return -EINVAL;
	struct sandbox_process p = {
	    .argv = o->argv,
	    .cwd = o->workdir ? o->workdir : json_get_string(c->state, "cwd"),
	    .uid = uid,
	    .gid = gid,
	    .caps = (uint64_t)json_get_int(c->state, "caps", (json_int_t)sandbox_default_caps()),
	    .ambient = (uint64_t)json_get_int(c->state, "ambient", 0),
	    .stdio = {o->stdio[0], o->stdio[1], o->stdio[2]},
	    .tty = o->tty,
	};
	_cleanup_strvec_ struct strvec env = STRVEC_INIT;
	strings_from_json(json_object_get(c->state, "env"), &env);
	for (size_t i = 0; o->env && o->env[i]; i++)
		runtime_env_set(&env, o->env[i]);
	p.env = env.v;
	if (o->user) {
		_cleanup_strvec_ struct strvec lowers = STRVEC_INIT;
		container_lowers(store, c, &lowers);
		_cleanup_free_ char *home = NULL;
		int r = rootfs_resolve_user((const char *const *)lowers.v, lowers.n, o->user,
					    &p.uid, &p.gid, &home, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int devnull = -1, master = -1, slave = -1;
	if (o->tty) {
		if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
			return petra_error_set_errno(err, errno, "open a pseudo-terminal");
		fcntl(master, F_SETFD, FD_CLOEXEC);
		fcntl(slave, F_SETFD, FD_CLOEXEC);
		p.stdio[0] = p.stdio[1] = p.stdio[2] = slave;
	} else if (!o->interactive && p.stdio[0] < 0) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		p.stdio[0] = devnull;
	}
	struct runtime_relay relay = RUNTIME_RELAY_INIT;
	int r = o->tty ? 0 : runtime_relay_setup(&relay, p.stdio, o->interactive, err);
	if (r < 0) {
		runtime_relay_release(&relay, false);
		return r;
	}
	sigset_t forward, saved;
	sandbox_forward_signals(&forward);
	sigprocmask(SIG_BLOCK, &forward, &saved);
	pid_t pid;
	_cleanup_close_ int pidfd = -1;
	r = runtime_container_pidfd(c, &pidfd, err);
	if (r == 0) {
		r = sandbox_exec_pidfd(pidfd, &p, &pid, err);
		/* The set-up reports only the command's own failures so. */
		if (r == -ENOENT || r == -EACCES)
			*exit_code = r == -ENOENT ? 127 : 126;
	}
	runtime_relay_started(&relay);
	bool waited = r == 0; /* sandbox_wait closes the input pipe */
	if (r == 0) {
		if (slave >= 0) {
			close(slave);
			slave = -1;
		}
		struct sandbox_wait_options wo = {
		    .forward = &forward,
		    .pty_master = master,
		    .relays = relay.relays,
		    .n_relays = relay.n,
		    .timeout_ms = o->timeout_ms,
		    .timeout_kills_descendants = true,
		};
		r = sandbox_wait(pid, &wo, exit_code, err);
	}
	runtime_relay_release(&relay, waited);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return r;
}

/* ---- filters ---- */

int runtime_filter_check(const char *filter, struct petra_error **err)
{
	static const char *const keys[] = {
	    "image=", "base=", "derived-from=", "label=", "name=", "id="};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strncmp(filter, keys[i], strlen(keys[i])) && filter[strlen(keys[i])])
			return 0;
	return petra_error_set(err, EINVAL,
			       "filter \"%s\": expected image=REF, base=DIGEST, derived-from=REF, "
			       "label=K[=V], name=NAME or id=PREFIX",
			       filter);
}

static bool json_array_has(json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (json_is_string(v) &&
					!strcmp(json_string_value(v), s)) return true;
	return false;
}

static bool match_base(struct petra_store *store, const struct runtime_container *c,
		       const char *base)
{
	const char *annotated = json_get_string(c->state, "base_digest");
	if (annotated && !strcmp(annotated, base))
		return true;
	if (json_array_has(json_object_get(c->state, "layers"), base) ||
	    json_array_has(json_object_get(c->state, "diff_ids"), base))
		return true;
	/* A base image in the store: its layers start the container's chain. */
	struct image img;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (image_load(store, base, &img, &ignored) < 0)
		return false;
	json_t *diff_ids = json_object_get(c->state, "diff_ids");
	bool match =
	    img.config.diff_ids.n > 0 && img.config.diff_ids.n <= json_array_size(diff_ids);
	for (size_t i = 0; match && i < img.config.diff_ids.n; i++)
		match = !strcmp(img.config.diff_ids.v[i],
				json_string_value(json_array_get(diff_ids, i)) ?: "");
	image_release(&img);
	return match;
}

/* What a derived-from filter matches, worked out once. */
struct derived_from {
	struct lineage_derivations derived;
	struct strvec base_diff_ids; /* empty when the base is not in the store */
};

static int derived_from_prepare(struct petra_store *store, const char *base, struct derived_from *d,
				struct petra_error **err)
{
	*d = (struct derived_from){.base_diff_ids = STRVEC_INIT};
	if (lineage_derived_from(store, base, &d->derived, err) < 0)
		return -1;
	struct image img;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (image_load(store, base, &img, &ignored) == 0) {
		for (size_t i = 0; i < img.config.diff_ids.n; i++)
			strvec_push(&d->base_diff_ids, img.config.diff_ids.v[i]);
		image_release(&img);
	}
	return 0;
}

static void derived_from_release(struct derived_from *d)
{
	lineage_derivations_release(&d->derived);
	strvec_clear(&d->base_diff_ids);
}

static bool derived_from_match(const struct derived_from *d, const struct runtime_container *c)
{
	if (c->image_digest && lineage_derivations_find(&d->derived, c->image_digest))
		return true;
	/* An image gone from the store: the layers the container recorded. */
	json_t *diff_ids = json_object_get(c->state, "diff_ids");
	size_t n = json_array_size(diff_ids);
	if (!n || !d->base_diff_ids.n)
		return false;
	const char **layers = xcalloc(n, sizeof(*layers));
	for (size_t i = 0; i < n; i++)
		layers[i] = json_string_value(json_array_get(diff_ids, i)) ?: "";
	bool match = lineage_layers_extend((const char *const *)d->base_diff_ids.v,
					   d->base_diff_ids.n, layers, n);
	free(layers);
	return match;
}

/* One filter; prepared is the derived-from filter's answer (NULL: work it
 * out now). */
static int filter_match(struct petra_store *store, const struct runtime_container *c,
			const char *filter, const struct derived_from *prepared, bool *match,
			struct petra_error **err)
{
	int r = runtime_filter_check(filter, err);
	if (r < 0)
		return r;
	const char *value = strchr(filter, '=') + 1;
	*match = false;
	if (!strncmp(filter, "derived-from=", 13)) {
		if (prepared) {
			*match = derived_from_match(prepared, c);
		} else {
			struct derived_from d;
			if (derived_from_prepare(store, value, &d, err) < 0)
				return -1;
			*match = derived_from_match(&d, c);
			derived_from_release(&d);
		}
	} else if (!strncmp(filter, "name=", 5)) {
		*match = c->name && !strcmp(c->name, value);
	} else if (!strncmp(filter, "id=", 3)) {
		*match = !strncmp(c->id, value, strlen(value));
	} else if (!strncmp(filter, "label=", 6)) {
		json_t *labels = json_object_get(c->state, "labels");
		const char *eq = strchr(value, '=');
		_cleanup_free_ char *key =
		    eq ? xstrndup(value, (size_t)(eq - value)) : xstrdup(value);
		const char *have = json_get_string(labels, key);
		*match = have && (!eq || !strcmp(have, eq + 1));
	} else if (!strncmp(filter, "image=", 6)) {
		struct oci_descriptor desc;
		_cleanup_error_ struct petra_error *ignored = NULL;
		if (petra_store_resolve(store, value, &desc, NULL, &ignored) == 0) {
			*match = c->image_digest && !strcmp(c->image_digest, desc.digest);
			oci_descriptor_release(&desc);
		} else {
			/* Not in the store (any more): compare names. */
			*match = c->image && !strcmp(c->image, value);
		}
	} else {
		*match = match_base(store, c, value);
	}
	return 0;
}

int runtime_filter_match(struct petra_store *store, const struct runtime_container *c,
			 const char *filter, bool *match, struct petra_error **err)
{
	return filter_match(store, c, filter, NULL, match, err);
}

struct runtime_filters {
	struct petra_store *store;
	struct strvec filters;
	struct derived_from *prepared; /* one per filter; used by derived-from ones */
};

int runtime_filters_new(struct petra_store *store, const char *const *filters, size_t n,
			struct runtime_filters **out, struct petra_error **err)
{
	struct runtime_filters *f = xcalloc(1, sizeof(*f));
	f->store = store;
	f->prepared = xcalloc(n ? n : 1, sizeof(*f->prepared));
	for (size_t i = 0; i < n; i++) {
		f->prepared[i].base_diff_ids = (struct strvec)STRVEC_INIT;
		strvec_push(&f->filters, filters[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (runtime_filter_check(filters[i], err) < 0 ||
		    (!strncmp(filters[i], "derived-from=", 13) &&
		     derived_from_prepare(store, filters[i] + 13, &f->prepared[i], err) < 0)) {
			runtime_filters_free(f);
			return -1;
		}
	}
	*out = f;
	return 0;
}

int runtime_filters_match(struct runtime_filters *f, const struct runtime_container *c, bool *match,
			  struct petra_error **err)
{
	*match = true;
	for (size_t i = 0; *match && i < f->filters.n; i++)
		if (filter_match(f->store, c, f->filters.v[i], &f->prepared[i], match, err) < 0)
			return -1;
	return 0;
}

void runtime_filters_free(struct runtime_filters *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->filters.n; i++)
		derived_from_release(&f->prepared[i]);
	free(f->prepared);
	strvec_clear(&f->filters);
	free(f);
}

/* ---- diff ---- */

/* A container's changes being gathered (petra diff): the image's layers to
 * tell added from changed, the mounts to leave out, the lines so far.
 * Not build/fs.c's differ, which compares a merged copy with layers. */
struct container_diff {
	const char *const *lowers;
	size_t n_lowers;
	json_t *mounts;
	struct strvec lines; /* "/path\tK" */
};

static bool is_mount_target(struct container_diff *d, const char *path)
{
	if (sandbox_is_standard_mount(path))
		return true;
	size_t i;
	json_t *m;
	json_array_foreach(d->mounts, i, m)
	{
		const char *t = json_get_string(m, "target");
		if (t && !strcmp(t, path))
			return true;
	}
	return false;
}

/* One entry of an upper directory (A, C or D against the image's layers),
 * or of a tmpfs mount (A: it started empty). */
static int diff_entry(struct container_diff *d, const struct fs_walk_entry *e, bool upper)
{
	if (upper && is_mount_target(d, e->path))
		return FS_WALK_PRUNE;
	char kind = 'A';
	if (upper) {
		struct stat img;
		bool in_image = rootfs_lookup(d->lowers, d->n_lowers, e->path, &img, NULL) == 0;
		if (S_ISCHR(e->st.st_mode) && e->st.st_rdev == 0)
			kind = 'D';
		else if (in_image)
			kind = 'C';
	}
	/* "path\tK": sorted by path, as docker diff prints. */
	strvec_pushf(&d->lines, "%s\t%c", e->path, kind);
	return FS_WALK_CONTINUE;
}

static int diff_upper_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	return diff_entry(ctx, e, true);
}

static int diff_tmpfs_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	return diff_entry(ctx, e, false);
}

/* Everything below dir_fd, whose path in the container is rel ("" for
 * the root). The container may be running: what vanishes meanwhile is
 * skipped. */
static int diff_walk(struct container_diff *d, int dir_fd, const char *rel, bool upper,
		     struct petra_error **err)
{
	static const struct fs_walk_ops upper_ops = {.pre = diff_upper_entry};
	static const struct fs_walk_ops tmpfs_ops = {.pre = diff_tmpfs_entry};
	return fs_walk(dir_fd, *rel ? rel : "/", FS_WALK_SKIP_VANISHED,
		       upper ? &upper_ops : &tmpfs_ops, d, err);
}

int runtime_diff(struct petra_store *store, const struct runtime_container *c, runtime_diff_fn fn,
		 void *ctx, struct petra_error **err)
{
	_cleanup_strvec_ struct strvec lowers = STRVEC_INIT;
	container_lowers(store, c, &lowers);
	struct container_diff d = {
	    .lowers = (const char *const *)lowers.v,
	    .n_lowers = lowers.n,
	    .mounts = json_object_get(c->state, "mounts"),
	};
	int r = 0;
	if (json_is_true(json_object_get(c->state, "read_write"))) {
		_cleanup_free_ char *upper = path_join(c->dir, "upper");
		_cleanup_close_ int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			r = petra_error_set_errno(err, errno, "open %s", upper);
		else
			r = diff_walk(&d, fd, "", true, err);
	}
	/* tmpfs mounts start empty: whatever is in them was added. They are
	 * only reachable while the container runs, through its root. */
	size_t i;
	json_t *m;
	if (r == 0 && c->running)
		json_array_foreach(d.mounts, i, m)
		{
			const char *kind = json_get_string(m, "kind");
			const char *target = json_get_string(m, "target");
			/* As a mount target must be: "" or ".." would walk the
			 * container's whole root instead. */
			if (!kind || strcmp(kind, "tmpfs") || !target || !path_is_clean(target))
				continue;
			_cleanup_free_ char *root = xasprintf("/proc/%d/root", (int)c->pid);
			_cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
			_cleanup_close_ int fd =
			    root_fd < 0 ? -1
					: fs_open_in_root(root_fd, target, O_RDONLY | O_DIRECTORY);
			if (fd < 0)
				continue;
			/* The prefix of the paths below it: no trailing '/' ("" for
			 * a target of "/"). */
			_cleanup_free_ char *rel = xstrdup(target);
			for (size_t len = strlen(rel); len > 0 && rel[len - 1] == '/'; len--)
				rel[len - 1] = '\0';
			r = diff_walk(&d, fd, rel, false, err);
			if (r < 0)
				break;
		}
	if (r == 0) {
		strvec_sort(&d.lines);
		for (size_t k = 0; k < d.lines.n; k++) {
			char *tab = strrchr(d.lines.v[k], '\t');
			*tab = '\0';
			fn(ctx, tab[1], d.lines.v[k]);
		}
	}
	strvec_clear(&d.lines);
	return r;
}
