/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The build as a whole: the Dockerfile and context read, the stages the
 * target needs found and scheduled (independent ones in parallel
 * threads), the session's scratch space, progress output, and the image
 * written at the end.
 */
#include "internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>

/* ---- progress output ---- */

void build_say(struct build *b, const struct stage *st, const char *fmt, ...)
{
	if (b->o->quiet)
		return;
	struct strbuf sb = STRBUF_INIT;
	if (b->o->label)
		strbuf_addstr(&sb, b->o->label);
	if (st && b->parallel)
		strbuf_addf(&sb, "[%s] ", st->label);
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&b->output_lock);
	if (b->o->output) {
		b->o->output(b->o->output_ctx, sb.buf);
	} else {
		strbuf_addch(&sb, '\n');
		/* One write per line: lines of parallel stages do not mix. */
		fs_write_all(STDERR_FILENO, sb.buf, sb.len);
	}
	pthread_mutex_unlock(&b->output_lock);
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

static int session_open(struct build *b, struct petra_error **err)
{
	b->build_dir = path_join(petra_store_root(b->store), "build");
	_cleanup_free_ char *tmp = path_join(b->build_dir, "tmp");
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
	b->session_lock_path = xasprintf("%s/%s.lock", tmp, id);
	b->session_lock = open(pending, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->session_lock < 0 || flock(b->session_lock, LOCK_EX) < 0 ||
	    rename(pending, b->session_lock_path) < 0)
		return petra_error_set_errno(err, errno, "lock %s", b->session_lock_path);
	b->session_dir = path_join(tmp, id);
	if (mkdir(b->session_dir, 0700) < 0)
		return petra_error_set_errno(err, errno, "create %s", b->session_dir);
	b->empty_dir = path_join(b->session_dir, "empty");
	if (mkdir(b->empty_dir, 0755) < 0)
		return petra_error_set_errno(err, errno, "create %s", b->empty_dir);
	return 0;
}

static void session_close(struct build *b)
{
	if (b->session_dir) {
		_cleanup_error_ struct petra_error *e = NULL;
		if (fs_remove_tree_at(AT_FDCWD, b->session_dir, &e) < 0)
			log_warn("could not remove %s: %s", b->session_dir, e->message);
	}
	if (b->session_lock >= 0) {
		unlink(b->session_lock_path);
		close(b->session_lock);
	}
	free(b->session_lock_path);
}

int build_scratch_dir(struct build *b, const char *what, char **path, struct petra_error **err)
{
	unsigned id = __atomic_fetch_add(&b->next_id, 1, __ATOMIC_RELAXED);
	*path = xasprintf("%s/%s-%u", b->session_dir, what, id);
	if (mkdir(*path, 0755) < 0) {
		int r = petra_error_set_errno(err, errno, "create %s", *path);
		free(*path);
		*path = NULL;
		return r;
	}
	return 0;
}

/* ---- overlayfs or the copy fallback ---- */

static bool probe_overlay(struct build *b, struct petra_error **why)
{
	_cleanup_free_ char *dir = NULL;
	if (build_scratch_dir(b, "probe", &dir, why) < 0)
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

bool build_use_overlay(struct build *b)
{
	pthread_mutex_lock(&b->lock);
	if (b->overlay < 0) {
		if (b->o->snapshot == BUILDER_SNAPSHOT_COPY) {
			b->overlay = 0;
		} else {
			_cleanup_error_ struct petra_error *why = NULL;
			b->overlay = probe_overlay(b, &why);
			if (!b->overlay && b->o->snapshot == BUILDER_SNAPSHOT_AUTO)
				log_warn(
				    "overlayfs cannot be mounted here (%s): each step works on "
				    "a copy of its stage's root instead, which is slower",
				    why ? why->message : "unknown reason");
		}
	}
	bool overlay = b->overlay == 1;
	pthread_mutex_unlock(&b->lock);
	return overlay;
}

/* ---- reading the Dockerfile and the context ---- */

static void add_automatic_args(struct dockerfile_vars *args)
{
	const char *arch = oci_host_architecture();
	_cleanup_free_ char *platform = xasprintf("linux/%s", arch);
	static const char *const prefixes[] = {"TARGET", "BUILD"};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		_cleanup_free_ char *p = xasprintf("%sPLATFORM", prefixes[i]);
		_cleanup_free_ char *os = xasprintf("%sOS", prefixes[i]);
		_cleanup_free_ char *a = xasprintf("%sARCH", prefixes[i]);
		_cleanup_free_ char *v = xasprintf("%sVARIANT", prefixes[i]);
		dockerfile_vars_set(args, p, platform);
		dockerfile_vars_set(args, os, "linux");
		dockerfile_vars_set(args, a, arch);
		dockerfile_vars_set(args, v, "");
	}
}

static bool is_automatic_arg(const char *name)
{
	static const char *const names[] = {
	    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
	    "BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

static int read_inputs(struct build *b, struct petra_error **err)
{
	const struct builder_options *o = b->o;
	b->context_dir = realpath(o->context, NULL);
	if (!b->context_dir)
		return petra_error_set_errno(err, errno, "context %s", o->context);
	b->context_fd = open(b->context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->context_fd < 0)
		return petra_error_set_errno(err, errno, "context %s", b->context_dir);
	if (o->dockerfile) {
		b->dockerfile_path = realpath(o->dockerfile, NULL);
		if (!b->dockerfile_path)
			return petra_error_set_errno(err, errno, "Dockerfile %s", o->dockerfile);
	} else {
		b->dockerfile_path = path_join(b->context_dir, "Dockerfile");
	}
	const char *base = strrchr(b->dockerfile_path, '/') + 1;
	struct dockerfile_parse_opts po = {.name = base};
	int r = dockerfile_parse_file(AT_FDCWD, b->dockerfile_path, &po, &b->df, err);
	if (r < 0)
		return r;
	oci_digest_buffer(b->df->source, b->df->source_len, b->dockerfile_digest);
	if (!b->df->n_stages)
		return petra_error_set(err, EINVAL, "%s: no FROM instruction", base);
	/* BuildKit first looks for <Dockerfile>.dockerignore next to it. */
	_cleanup_free_ char *own = xasprintf("%s.dockerignore", b->dockerfile_path);
	if (access(own, F_OK) == 0)
		r = context_ignore_load(AT_FDCWD, own, &b->ignore, err);
	else
		r = context_ignore_load(b->context_fd, ".dockerignore", &b->ignore, err);
	if (r < 0)
		return r;
	b->build_args = dockerfile_vars_new();
	add_automatic_args(b->build_args);
	for (size_t i = 0; i < o->n_build_args; i++) {
		const char *kv = o->build_args[i];
		const char *eq = strchr(kv, '=');
		if (eq) {
			_cleanup_free_ char *k = xstrndup(kv, (size_t)(eq - kv));
			dockerfile_vars_set(b->build_args, k, eq + 1);
		} else if (getenv(kv)) {
			dockerfile_vars_set(b->build_args, kv, getenv(kv));
		}
	}
	return 0;
}

/* ---- stages and what they need ---- */

struct stage *build_find_stage(struct build *b, const char *ref, size_t before)
{
	if (!ref || !*ref)
		return NULL;
	for (size_t i = 0; i < before && i < b->n_stages; i++)
		if (b->stages[i].df->name && !strcasecmp(b->stages[i].df->name, ref))
			return &b->stages[i];
	char *end;
	errno = 0;
	unsigned long n = strtoul(ref, &end, 10);
	if (isdigit((unsigned char)*ref) && !*end && errno == 0 && n < before && n < b->n_stages)
		return &b->stages[n];
	return NULL;
}

static void add_dep(struct stage *st, size_t dep)
{
	for (size_t i = 0; i < st->n_deps; i++)
		if (st->deps[i] == dep)
			return;
	st->deps = xrealloc(st->deps, (st->n_deps + 1) * sizeof(*st->deps));
	st->deps[st->n_deps++] = dep;
}

/* A word naming a stage, expanded with the global ARGs as a FROM line's
 * words are. */
static void note_stage_ref(struct build *b, struct stage *st,
			   const struct dockerfile_scope *globals, const char *word)
{
	struct dockerfile_expander ex;
	dockerfile_scope_expander(globals, DOCKERFILE_FROM, &ex);
	_cleanup_free_ char *expanded = NULL;
	if (dockerfile_expand_word(&ex, word, &expanded, NULL) < 0)
		return;
	struct stage *dep = build_find_stage(b, expanded, st->index);
	if (dep)
		add_dep(st, dep->index);
}

static void find_deps(struct build *b, struct stage *st, const struct dockerfile_scope *globals)
{
	const struct dockerfile *df = b->df;
	if (st->df->base)
		note_stage_ref(b, st, globals, st->df->base->text);
	for (size_t i = st->df->from + 1; i < st->df->end; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		const char *from = in->kind == DOCKERFILE_COPY ? dockerfile_flag(in, "from") : NULL;
		if (from)
			note_stage_ref(b, st, globals, from);
		for (size_t f = 0; in->kind == DOCKERFILE_RUN && f < in->n_flags; f++) {
			if (strncmp(in->flags[f].text, "--mount=", 8))
				continue;
			struct dockerfile_mount m;
			if (dockerfile_mount_parse(in->flags[f].text + 8, &m, NULL) < 0)
				continue;
			if (m.from)
				note_stage_ref(b, st, globals, m.from);
			dockerfile_mount_release(&m);
		}
	}
}

static void mark_needed(struct build *b, size_t i)
{
	struct stage *st = &b->stages[i];
	if (st->needed)
		return;
	st->needed = true;
	for (size_t d = 0; d < st->n_deps; d++)
		mark_needed(b, st->deps[d]);
}

static int plan(struct build *b, struct petra_error **err)
{
	const struct dockerfile *df = b->df;
	b->n_stages = df->n_stages;
	b->stages = xcalloc(b->n_stages, sizeof(*b->stages));
	for (size_t i = 0; i < b->n_stages; i++) {
		struct stage *st = &b->stages[i];
		st->index = i;
		st->df = &df->stages[i];
		st->label = st->df->name ? xstrdup(st->df->name) : xasprintf("stage-%zu", i);
	}
	/* Global ARGs, to read FROM lines and --from values. */
	struct dockerfile_scope globals;
	dockerfile_scope_init(&globals, df->escape, b->build_args);
	int r = 0;
	for (size_t i = 0; i < df->n_instructions && r == 0; i++)
		if (df->instructions[i].stage == DOCKERFILE_GLOBAL)
			r = dockerfile_scope_apply(&globals, &df->instructions[i], err);
	for (size_t i = 0; i < b->n_stages && r == 0; i++)
		find_deps(b, &b->stages[i], &globals);
	dockerfile_scope_release(&globals);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b->o->n_tags; i++) {
		struct oci_ref ref;
		if (oci_ref_parse(b->o->tags[i], &ref, err) < 0)
			return petra_error_prefix(err, "-t %s", b->o->tags[i]);
		oci_ref_release(&ref);
	}
	b->target = b->n_stages - 1;
	if (b->o->target) {
		struct stage *t = build_find_stage(b, b->o->target, b->n_stages);
		if (!t)
			return petra_error_set(
			    err, ENOENT, "target stage \"%s\" could not be found", b->o->target);
		b->target = t->index;
	}
	mark_needed(b, b->target);
	unsigned needed = 0;
	for (size_t i = 0; i < b->n_stages; i++)
		needed += b->stages[i].needed;
	unsigned jobs = b->o->jobs ? b->o->jobs : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	b->parallel = needed > 1 && jobs > 1;
	return 0;
}

/* ---- running the stages ---- */

static bool stage_wanted(void *ctx, size_t i)
{
	return ((struct build *)ctx)->stages[i].needed;
}

static size_t stage_n_deps(void *ctx, size_t i)
{
	return ((struct build *)ctx)->stages[i].n_deps;
}

static size_t stage_dep(void *ctx, size_t i, size_t k)
{
	return ((struct build *)ctx)->stages[i].deps[k];
}

static int stage_task(void *ctx, size_t i, struct petra_error **err)
{
	struct build *b = ctx;
	struct stage *st = &b->stages[i];
	int r = stage_build(b, st, err);
	if (r < 0) {
		/* Running stages stop at their next step. */
		pthread_mutex_lock(&b->lock);
		b->failed = true;
		pthread_mutex_unlock(&b->lock);
		if (b->parallel)
			petra_error_prefix(err, "stage %s", st->label);
	}
	return r;
}

static int run_stages(struct build *b, struct petra_error **err)
{
	static const struct graph_ops ops = {stage_wanted, stage_n_deps, stage_dep, stage_task};
	unsigned jobs = b->o->jobs ? b->o->jobs : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	return graph_run(b->n_stages, jobs, &ops, b, err);
}

static void warn_unused_args(struct build *b)
{
	struct strbuf unused = STRBUF_INIT;
	for (size_t i = 0; i < b->o->n_build_args; i++) {
		_cleanup_free_ char *k =
		    xstrndup(b->o->build_args[i], strcspn(b->o->build_args[i], "="));
		if (!strset_contains(&b->used_build_args, k) && !is_automatic_arg(k))
			strbuf_addf(&unused, "%s%s", unused.len ? " " : "", k);
	}
	if (unused.len)
		build_say(b, NULL, "warning: build arguments not used by any ARG: %s", unused.buf);
	strbuf_release(&unused);
}

/* ---- the whole ---- */

static void build_release(struct build *b)
{
	session_close(b);
	for (size_t i = 0; i < b->n_stages; i++) {
		struct stage *st = &b->stages[i];
		free(st->label);
		free(st->deps);
		free(st->base_name);
		image_state_release(&st->state);
	}
	free(b->stages);
	dockerfile_free(b->df);
	free(b->dockerfile_path);
	free(b->context_dir);
	if (b->context_fd >= 0)
		close(b->context_fd);
	context_ignore_free(b->ignore);
	dockerfile_vars_free(b->build_args);
	free(b->build_dir);
	free(b->session_dir);
	free(b->empty_dir);
	petra_error_free(b->overlay_error);
	strset_clear(&b->used_build_args);
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->output_lock);
}

int builder_run(struct petra_store *store, const struct builder_options *o, struct builder_result *result,
	      struct petra_error **err)
{
	memset(result, 0, sizeof(*result));
	struct build b = {
	    .store = store,
	    .o = o,
	    .context_fd = -1,
	    .session_lock = -1,
	    .overlay = -1,
	    .now = o->reproducible ? o->source_date_epoch : time(NULL),
	};
	pthread_mutex_init(&b.lock, NULL);
	pthread_mutex_init(&b.output_lock, NULL);
	int r = 0;
	/* Every mount of this build stays in a namespace of its own and goes
	 * with the process, whatever happens to it. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		r = petra_error_set_errno(err, errno, "a private mount namespace for the build");
	if (r == 0)
		r = build_check_policy(&b, err);
	if (r == 0)
		r = read_inputs(&b, err);
	if (r == 0)
		r = plan(&b, err);
	if (r == 0)
		r = session_open(&b, err);
	if (r == 0)
		r = run_stages(&b, err);
	struct stage *target = r == 0 ? &b.stages[b.target] : NULL;
	if (r == 0 && o->squash)
		r = build_squash(&b, target, err);
	if (r == 0)
		r = build_write_image(&b, target, result->digest, err);
	for (size_t i = 0; i < b.n_stages; i++) {
		result->steps += b.stages[i].steps;
		result->cached += b.stages[i].cached;
	}
	result->exit_status = b.exit_status;
	if (r == 0)
		warn_unused_args(&b);
	build_release(&b);
	return r;
}
