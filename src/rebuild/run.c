/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Carrying a plan out: up to `jobs` images at once in dependency order
 * (graph_run), each rebased, rebuilt (builder_run, in-process) or hardened
 * again; the result takes the old names, the old image keeps them with
 * REBUILD_OLD_SUFFIX.
 */
#include "rebuild.h"
#include "builder/builder.h"
#include "harden/harden.h"
#include "image/image.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The last lines of a build's progress kept for the report. */
#define OUTPUT_KEEP 4096

struct run {
	struct petra_store *store;
	const struct rebuild_options *o;
	struct rebuild_plan *plan;
	pthread_mutex_t lock; /* the store's names, stderr */
};

struct item_output {
	struct run *run;
	struct rebuild_item *item;
};

static void on_output(void *ctx, const char *line)
{
	struct item_output *io = ctx;
	struct strbuf *out = &io->item->output;
	strbuf_addstr(out, line);
	strbuf_addch(out, '\n');
	if (out->len > 2 * OUTPUT_KEEP) {
		/* Keep the tail, from a line start. */
		const char *keep = out->buf + out->len - OUTPUT_KEEP;
		const char *nl = strchr(keep, '\n');
		if (nl)
			keep = nl + 1;
		size_t n = out->len - (size_t)(keep - out->buf);
		memmove(out->buf, keep, n);
		strbuf_setlen(out, n);
	}
	if (!io->run->o->quiet) {
		pthread_mutex_lock(&io->run->lock);
		fprintf(stderr, "%s\n", line);
		pthread_mutex_unlock(&io->run->lock);
	}
}

static void say(struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *run, const char *fmt, ...)
{
	if (run->o->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&run->lock);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&run->lock);
	va_end(ap);
}

/* "name:tag" -> "name:tag-old" (a name without a tag is name:latest). */
static char *old_name(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(slash ? slash : name, ':');
	return colon ? xasprintf("%s" REBUILD_OLD_SUFFIX, name)
		     : xasprintf("%s:latest" REBUILD_OLD_SUFFIX, name);
}

/* Keep the old image under NAME-old before its names move: index
 * entries as they were (the build record included). */
static int keep_old(struct run *run, struct rebuild_item *it, struct petra_error **err)
{
	if (!it->old_before)
		it->old_before = xcalloc(it->names.n + 1, sizeof(*it->old_before));
	for (size_t i = 0; i < it->names.n; i++) {
		struct oci_descriptor desc;
		int r = petra_store_resolve(run->store, it->names.v[i], &desc, NULL, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *old = old_name(it->names.v[i]);
		/* A rollback name an earlier rebuild left: put back on failure. */
		struct oci_descriptor before;
		if (!it->old_before[i].digest[0] &&
		    petra_store_resolve(run->store, old, &before, NULL, NULL) == 0)
			it->old_before[i] = before;
		pthread_mutex_lock(&run->lock);
		r = petra_store_set_ref(run->store, old, &desc, err);
		pthread_mutex_unlock(&run->lock);
		oci_descriptor_release(&desc);
		if (r < 0)
			return r;
	}
	return 0;
}

/* After the new image has the names: mark the old entries with it (a
 * later plan skips them), or drop them when nothing changed. */
static void settle_old(struct run *run, struct rebuild_item *it, bool changed)
{
	for (size_t i = 0; i < it->names.n; i++) {
		_cleanup_free_ char *old = old_name(it->names.v[i]);
		struct oci_descriptor desc;
		if (petra_store_resolve(run->store, old, &desc, NULL, NULL) < 0)
			continue;
		pthread_mutex_lock(&run->lock);
		if (changed) {
			if (!desc.annotations)
				desc.annotations = json_object();
			json_object_set_new(desc.annotations, REBUILD_ANNOTATION_REPLACED_BY,
					    json_string(it->new_digest));
			json_object_del(desc.annotations, OCI_ANNOTATION_REF_NAME);
			petra_store_set_ref(run->store, old, &desc, NULL);
		} else if (it->old_before && it->old_before[i].digest[0]) {
			petra_store_set_ref(run->store, old, &it->old_before[i], NULL);
		} else {
			petra_store_remove_ref(run->store, old, NULL);
		}
		pthread_mutex_unlock(&run->lock);
		oci_descriptor_release(&desc);
	}
}

/* The new base of an item: a root's replacement (or its name as it
 * resolves now), or the rebuilt parent. name and digest are filled. */
static int new_base(struct run *run, const struct rebuild_item *it, char **name,
		    char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	const struct rebuild_plan *plan = run->plan;
	if (it->base_item >= 0) {
		const struct rebuild_item *b = &plan->items[it->base_item];
		*name = xstrdup(b->names.v[0]);
		memcpy(digest, b->new_digest, OCI_DIGEST_SIZE);
		return 0;
	}
	const struct rebuild_root *root = &plan->roots[it->base_root];
	const char *ref = root->replacement ? root->replacement : root->name;
	struct oci_descriptor desc;
	int r = petra_store_resolve(run->store, ref, &desc, NULL, err);
	if (r < 0)
		return petra_error_prefix(err, "the new base");
	*name = xstrdup(ref);
	memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&desc);
	return 0;
}

static int rebase(struct run *run, struct rebuild_item *it, struct petra_error **err)
{
	const struct rebuild_plan *plan = run->plan;
	const char *old_base = it->base_item >= 0 ? plan->items[it->base_item].digest
						  : plan->roots[it->base_root].digest;
	_cleanup_free_ char *base_name = NULL;
	char base_digest[OCI_DIGEST_SIZE];
	int r = new_base(run, it, &base_name, base_digest, err);
	if (r < 0)
		return r;
	if (strcmp(base_digest, old_base) == 0) {
		memcpy(it->new_digest, it->digest, OCI_DIGEST_SIZE);
		return 0;
	}
	r = rebuild_rebase_image(run->store, it->digest, old_base, base_digest, base_name,
				 it->new_digest, err);
	if (r < 0)
		return r;
	/* The record of the rebased image: made on the new base, the old
	 * record's sources kept so it can be rebuilt later too. The image it
	 * came from is a parameter, not a material: its layers from the old
	 * base are gone, so a derived-from query must not follow it there. */
	struct lineage_record rec = {0};
	struct lineage_material m = {.role = "base", .name = base_name};
	memcpy(m.digest, base_digest, OCI_DIGEST_SIZE);
	if (it->has_record)
		rec = it->record; /* borrowed: not released here */
	_cleanup_json_ json_t *params =
	    json_pack("{s:{s:s, s:s}, s:{s:s}}", "rebased_from", "name", it->names.v[0], "digest",
		      it->digest, "old_base", "digest", old_base);
	if (it->has_record && it->record.parameters)
		json_object_set(params, "record_parameters", it->record.parameters);
	rec.producer = "rebase";
	rec.materials = &m;
	rec.n_materials = 1;
	rec.parameters = params;
	rec.image_name = it->names.v[0];
	rec.started = rec.finished = 0;
	rec.builder_id = NULL;
	r = lineage_record_save(run->store, it->new_digest, &rec, err);
	if (r < 0)
		return r;
	r = keep_old(run, it, err);
	struct oci_descriptor desc = {0};
	if (r == 0)
		r = petra_store_resolve(run->store, it->new_digest, &desc, NULL, err);
	for (size_t i = 0; r == 0 && i < it->names.n; i++) {
		pthread_mutex_lock(&run->lock);
		r = petra_store_set_ref(run->store, it->names.v[i], &desc, err);
		pthread_mutex_unlock(&run->lock);
	}
	oci_descriptor_release(&desc);
	return r;
}

/* Run a command (argv) with its output into log_fd; 0 or an error. */
static int spawn_wait(const char *const *argv, int log_fd, struct petra_error **err)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return petra_error_set_errno(err, r, "%s", argv[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return petra_error_set_errno(err, errno, "waiting for %s", argv[0]);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return petra_error_set(err, EIO, "%s %s failed", argv[0], argv[1]);
	return 0;
}

/* Clone the recorded git remote and check out the recorded revision into
 * a new temporary directory (*dir; the caller removes it). */
static int clone_context(const struct lineage_record *rec, char **dir, struct strbuf *log,
			 struct petra_error **err)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *templ = xasprintf("%s/petra-rebuild-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(templ))
		return petra_error_set_errno(err, errno, "%s", templ);
	*dir = xstrdup(templ);
	_cleanup_free_ char *logfile = xasprintf("%s.log", templ);
	_cleanup_close_ int log_fd = open(logfile, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return petra_error_set_errno(err, errno, "%s", logfile);
	unlink(logfile);
	_cleanup_free_ char *src = path_join(*dir, "src");
	/* The remote and revision come from a record, which may have come
	 * from a registry: "--" keeps a remote from being read as an option,
	 * and the plan accepts only a hexadecimal revision. */
	const char *clone[] = {"git", "clone",         "--quiet", "--no-checkout",
			       "--",  rec->git_remote, src,       NULL};
	const char *checkout[] = {
	    "git", "-C", src, "checkout", "--quiet", "--detach", rec->git_revision, NULL};
	int r = spawn_wait(clone, log_fd, err);
	if (r == 0)
		r = spawn_wait(checkout, log_fd, err);
	if (r < 0) {
		char buf[2048];
		ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			strbuf_addstr(log, buf);
		}
		return petra_error_prefix(err, "the context %s at %s", rec->git_remote,
					  rec->git_revision);
	}
	return 0;
}

/* Where the recorded Dockerfile is in a clone of the context. */
static char *dockerfile_in(const struct lineage_record *rec, const char *context)
{
	size_t n = rec->context_dir ? strlen(rec->context_dir) : 0;
	if (n && strncmp(rec->dockerfile_path, rec->context_dir, n) == 0 &&
	    rec->dockerfile_path[n] == '/')
		return path_join(context, rec->dockerfile_path + n + 1);
	if (access(rec->dockerfile_path, R_OK) == 0)
		return xstrdup(rec->dockerfile_path);
	return path_join(context, "Dockerfile");
}

static int rebuild(struct run *run, struct rebuild_item *it, struct petra_error **err)
{
	const struct lineage_record *rec = &it->record;
	_cleanup_free_ char *clone = NULL;
	_cleanup_free_ char *context = NULL, *dockerfile = NULL;
	int r = 0;
	if (it->context) {
		context = xstrdup(it->context);
		dockerfile = xstrdup(rec->dockerfile_path);
	} else {
		say(run, "[%s] cloning %s at %s", it->names.v[0], rec->git_remote,
		    rec->git_revision);
		r = clone_context(rec, &clone, &it->output, err);
		if (r == 0) {
			context = path_join(clone, "src");
			dockerfile = dockerfile_in(rec, context);
		}
	}
	if (r == 0)
		r = keep_old(run, it, err);
	if (r == 0) {
		_cleanup_free_ char *label = xasprintf("[%s] ", it->names.v[0]);
		struct item_output io = {run, it};
		struct builder_options bo = {
		    .context = context,
		    .dockerfile = dockerfile,
		    .tags = (const char *const *)it->names.v,
		    .n_tags = it->names.n,
		    .build_args = (const char *const *)rec->build_args,
		    .n_build_args = rec->n_build_args,
		    .target = rec->target,
		    .network = SANDBOX_NETWORK_NONE,
		    .compression = LAYER_COMPRESSION_GZIP,
		    .jobs = 1,
		    .policy = run->o->policy,
		    .pull = BUILDER_PULL_MISSING,
		    .registry = run->o->registry,
		    .label = label,
		    .output = on_output,
		    .output_ctx = &io,
		};
		/* The recorded options that shape the image. */
		const json_t *p = rec->parameters;
		const char *compression = json_get_string(p, "compression");
		if (compression)
			r = layer_compression_parse(compression, &bo.compression, err);
		bo.squash = json_is_true(json_object_get(p, "squash"));
		const json_t *epoch = json_object_get(p, "sourceDateEpoch");
		if (json_is_integer(epoch)) {
			bo.reproducible = true;
			bo.source_date_epoch = (time_t)json_integer_value(epoch);
		}
		struct builder_result br = {0};
		if (r == 0)
			r = builder_run(run->store, &bo, &br, err);
		if (r == 0)
			memcpy(it->new_digest, br.digest, OCI_DIGEST_SIZE);
	}
	if (clone) {
		struct petra_error *rm_err = NULL;
		if (fs_remove_tree_at(AT_FDCWD, clone, &rm_err) < 0) {
			say(run, "petra: warning: %s", rm_err->message);
			petra_error_free(rm_err);
		}
	}
	return r;
}

/* The plan's item a harden or learn record was made from (its material
 * of that role). */
static const struct rebuild_item *record_input(struct run *run, const struct rebuild_item *it,
					       const char *role)
{
	const struct lineage_record *rec = &it->record;
	for (size_t i = 0; i < rec->n_materials; i++)
		if (strcmp(rec->materials[i].role, role) == 0)
			for (size_t k = 0; k < it->n_deps; k++)
				if (strcmp(run->plan->items[it->deps[k]].digest,
					   rec->materials[i].digest) == 0)
					return &run->plan->items[it->deps[k]];
	return NULL;
}

/* What was learned (the writable-paths label recorded) onto the new
 * version of the image it was learned from. */
static int relearn(struct run *run, struct rebuild_item *it, struct petra_error **err)
{
	const struct rebuild_item *input = record_input(run, it, "learn");
	if (!input)
		return petra_error_set(err, ENOENT, "the learned image's input is not in the plan");
	const char *label = json_get_string(it->record.parameters, "writablePaths");
	if (!label)
		return petra_error_set(err, EINVAL, "the learn record has no writablePaths");
	struct image_writable_path *paths = NULL;
	size_t n = 0;
	int r = image_writable_paths_parse(label, &paths, &n, err);
	if (r == 0)
		r = keep_old(run, it, err);
	if (r == 0)
		r = runtime_save_writable_paths(run->store, input->new_digest, paths, n,
						it->names.v[0], it->new_digest, err);
	/* Its other names follow. */
	struct oci_descriptor desc = {0};
	if (r == 0 && it->names.n > 1)
		r = petra_store_resolve(run->store, it->new_digest, &desc, NULL, err);
	for (size_t i = 1; r == 0 && i < it->names.n; i++) {
		pthread_mutex_lock(&run->lock);
		r = petra_store_set_ref(run->store, it->names.v[i], &desc, err);
		pthread_mutex_unlock(&run->lock);
	}
	oci_descriptor_release(&desc);
	image_writable_paths_free(paths, n);
	return r;
}

/* Harden the rebuilt input again with the recorded options. */
static int reharden(struct run *run, struct rebuild_item *it, struct petra_error **err)
{
	const struct lineage_record *rec = &it->record;
	const struct rebuild_item *input = record_input(run, it, "harden");
	if (!input)
		return petra_error_set(err, ENOENT,
				       "the hardened image's input is not in the plan");
	const json_t *p = rec->parameters;
	struct harden_options ho = {
	    .name = it->names.v[0],
	    .squash = HARDEN_SQUASH_APP,
	    .base_layers = -1,
	    .compression = LAYER_COMPRESSION_GZIP,
	};
	_cleanup_strvec_ struct strvec strip = STRVEC_INIT;
	struct image_writable_path *writable = NULL;
	size_t n_writable = 0;
	int r = 0;
	if (p) {
		ho.user = json_get_string(p, "user");
		const char *squash = json_get_string(p, "squash");
		if (squash)
			r = harden_squash_parse(squash, &ho.squash, err);
		ho.base_layers = json_get_int(p, "base_layers", -1);
		ho.strip_shells = json_is_true(json_object_get(p, "strip_shells"));
		ho.keep_setuid = json_is_true(json_object_get(p, "keep_setuid"));
		size_t i;
		const json_t *v;
		json_array_foreach(json_object_get(p, "strip"), i, v) if (json_is_string(v))
		    strvec_push(&strip, json_string_value(v));
		const json_t *w = json_object_get(p, "writable");
		writable = xcalloc(json_array_size(w) + 1, sizeof(*writable));
		json_array_foreach(w, i, v)
		{
			const char *path =
			    json_is_string(v) ? json_string_value(v) : json_get_string(v, "path");
			if (!path)
				continue;
			writable[n_writable].path = (char *)path; /* borrowed */
			writable[n_writable++].size = (uint64_t)json_get_int(v, "size", 0);
		}
	}
	ho.strip = (const char *const *)strip.v;
	ho.n_strip = strip.n;
	ho.writable = writable;
	ho.n_writable = n_writable;
	if (r == 0)
		r = keep_old(run, it, err);
	struct harden_result hr = {0};
	if (r == 0)
		r = harden_image(run->store, input->new_digest, &ho, &hr, err);
	if (r == 0) {
		memcpy(it->new_digest, hr.digest, OCI_DIGEST_SIZE);
		harden_result_release(&hr);
	}
	free(writable);
	return r;
}

static bool done(const struct rebuild_item *it)
{
	return it->outcome == REBUILD_REBUILT || it->outcome == REBUILD_REBASED ||
	       it->outcome == REBUILD_UNCHANGED;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int item_task(void *ctx, size_t i, struct petra_error **unused)
{
	(void)unused;
	struct run *run = ctx;
	struct rebuild_item *it = &run->plan->items[i];
	for (size_t k = 0; k < it->n_deps; k++) {
		const struct rebuild_item *dep = &run->plan->items[it->deps[k]];
		if (!done(dep)) {
			it->outcome = REBUILD_SKIPPED;
			free(it->why);
			it->why = xasprintf("it is made from %s, which was not rebuilt (%s)",
					    dep->names.v[0], rebuild_outcome_name(dep->outcome));
			return 0;
		}
	}
	if (it->action == REBUILD_ACTION_NONE) {
		it->outcome = REBUILD_NOT_REBUILDABLE;
		return 0;
	}
	if (run->o->mode == REBUILD_MODE_REBASE_ONLY && it->action != REBUILD_ACTION_REBASE) {
		it->outcome = REBUILD_SKIPPED;
		free(it->why);
		it->why = xasprintf("needs a %s (--rebase-only)", rebuild_action_name(it->action));
		return 0;
	}
	say(run, "[%s] %s (level %u)", it->names.v[0], rebuild_action_name(it->action), it->level);
	double start = now();
	struct petra_error *err = NULL;
	int r;
	switch (it->action) {
	case REBUILD_ACTION_REBASE:
		r = rebase(run, it, &err);
		break;
	case REBUILD_ACTION_HARDEN:
		r = reharden(run, it, &err);
		break;
	case REBUILD_ACTION_LEARN:
		r = relearn(run, it, &err);
		break;
	default:
		r = rebuild(run, it, &err);
		break;
	}
	it->seconds = now() - start;
	if (r < 0) {
		it->outcome = REBUILD_FAILED;
		it->error = xstrdup(err->message);
		petra_error_free(err);
		settle_old(run, it, false);
		say(run, "[%s] failed: %s", it->names.v[0], it->error);
		return 0;
	}
	bool changed = strcmp(it->new_digest, it->digest) != 0;
	settle_old(run, it, changed);
	it->outcome = !changed                              ? REBUILD_UNCHANGED
		      : it->action == REBUILD_ACTION_REBASE ? REBUILD_REBASED
							    : REBUILD_REBUILT;
	say(run, "[%s] %s: %s", it->names.v[0], rebuild_outcome_name(it->outcome), it->new_digest);
	return 0;
}

static size_t item_n_deps(void *ctx, size_t i)
{
	return ((struct run *)ctx)->plan->items[i].n_deps;
}

static size_t item_dep(void *ctx, size_t i, size_t k)
{
	return ((struct run *)ctx)->plan->items[i].deps[k];
}

int rebuild_execute(struct petra_store *store, const struct rebuild_options *o,
		    struct rebuild_plan *plan, struct petra_error **err)
{
	/* A rootless rebuild enters its user namespace once, here, while the
	 * process has one thread: the builds run in threads (builder_run then
	 * finds it root), and a user namespace takes a single-threaded
	 * process. */
	struct sandbox_rootless rootless;
	if (sandbox_enter_rootless(&rootless, err) < 0)
		return -(*err)->code;
	struct run run = {.store = store, .o = o, .plan = plan};
	pthread_mutex_init(&run.lock, NULL);
	static const struct graph_ops ops = {
	    .n_deps = item_n_deps,
	    .dep = item_dep,
	    .run = item_task,
	};
	int r = graph_run(plan->n_items, o->jobs ? o->jobs : 1, &ops, &run, err);
	pthread_mutex_destroy(&run.lock);
	return r;
}

/* ---- one image of a plan, in a pod (--from-plan) ------------------------ */

/* Where a name lives for a pod: a name that says its registry is its own;
 * a name of this store only is looked for under the prefix, where the
 * Jobs push their results too. */
char *rebuild_remote_name(const char *prefix, const char *name)
{
	const char *slash = strchr(name, '/');
	if (slash) {
		size_t n = (size_t)(slash - name);
		if (memchr(name, '.', n) || memchr(name, ':', n) ||
		    (n == 9 && strncmp(name, "localhost", 9) == 0))
			return xstrdup(name);
	}
	return xasprintf("%s/%s", prefix, name);
}

/* "repo:tag" -> "repo@digest" */
static char *by_digest(const char *ref, const char *digest)
{
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash ? slash : ref, ':');
	size_t n = colon ? (size_t)(colon - ref) : strlen(ref);
	return xasprintf("%.*s@%s", (int)n, ref, digest);
}

/* Pull `remote` and give it the local `name` too (NULL: none). */
static int fetch(struct petra_store *store, const struct rebuild_remote_options *ro,
		 const char *remote, const char *name, char digest[OCI_DIGEST_SIZE],
		 struct petra_error **err)
{
	int r = registry_pull(store, remote, ro->registry, digest, err);
	if (r < 0)
		return r;
	if (!name)
		return 0;
	struct oci_descriptor desc;
	r = petra_store_resolve(store, digest, &desc, NULL, err);
	if (r == 0) {
		r = petra_store_set_ref(store, name, &desc, err);
		oci_descriptor_release(&desc);
	}
	return r;
}

/* The policy a pod builds with: the roots' replacements, then every name
 * of this store mapped to where the pod finds it. */
static int pod_policy(const struct rebuild_plan *plan, const char *prefix,
		      struct petra_policy **out, struct petra_error **err)
{
	struct strbuf y = STRBUF_INIT;
	strbuf_addstr(&y, "bases:\n  rewrite:\n");
	_cleanup_strvec_ struct strvec local = STRVEC_INIT;
	for (size_t i = 0; i < plan->n_roots; i++) {
		const struct rebuild_root *root = &plan->roots[i];
		if (root->replacement)
			strbuf_addf(
			    &y, "    - match: \"%s\"\n      to: \"%s\"\n      reason: the plan\n",
			    root->name, root->replacement);
		strvec_push(&local, root->replacement ? root->replacement : root->name);
	}
	for (size_t i = 0; i < plan->n_items; i++)
		strvec_push(&local, plan->items[i].names.v[0]);
	for (size_t i = 0; i < local.n; i++) {
		_cleanup_free_ char *remote = rebuild_remote_name(prefix, local.v[i]);
		if (strcmp(remote, local.v[i]) != 0)
			strbuf_addf(
			    &y, "    - match: \"%s\"\n      to: \"%s\"\n      reason: the pod\n",
			    local.v[i], remote);
	}
	int r = petra_policy_parse(y.buf, y.len, "the pod's rewrites", out, err);
	strbuf_release(&y);
	return r;
}

int rebuild_execute_one(struct petra_store *store, const struct rebuild_options *o,
			struct rebuild_plan *plan, const struct rebuild_remote_options *ro,
			ssize_t *done_item, struct petra_error **err)
{
	ssize_t idx = rebuild_level_item(plan, ro->level, ro->index);
	if (idx < 0)
		return petra_error_set(err, ENOENT, "the plan's level %u has no image %zu",
				       ro->level, ro->index);
	*done_item = idx;
	struct rebuild_item *it = &plan->items[idx];
	char digest[OCI_DIGEST_SIZE];
	int r = 0;
	/* What earlier levels made, from the registry. */
	for (size_t k = 0; r == 0 && k < it->n_deps; k++) {
		struct rebuild_item *dep = &plan->items[it->deps[k]];
		_cleanup_free_ char *remote = rebuild_remote_name(ro->prefix, dep->names.v[0]);
		r = fetch(store, ro, remote, dep->names.v[0], dep->new_digest, err);
		dep->outcome = REBUILD_REBUILT;
	}
	if (r == 0 && it->action == REBUILD_ACTION_REBASE) {
		/* The image and its old base by digest, the new base by name. */
		_cleanup_free_ char *remote = rebuild_remote_name(ro->prefix, it->names.v[0]);
		_cleanup_free_ char *exact = by_digest(remote, it->digest);
		r = fetch(store, ro, exact, it->names.v[0], digest, err);
		if (r == 0 && it->base_item >= 0) {
			const struct rebuild_item *b = &plan->items[it->base_item];
			_cleanup_free_ char *bremote =
			    rebuild_remote_name(ro->prefix, b->names.v[0]);
			_cleanup_free_ char *bexact = by_digest(bremote, b->digest);
			r = fetch(store, ro, bexact, NULL, digest, err);
		} else if (r == 0) {
			const struct rebuild_root *root = &plan->roots[it->base_root];
			_cleanup_free_ char *rremote = rebuild_remote_name(ro->prefix, root->name);
			_cleanup_free_ char *rexact = by_digest(rremote, root->digest);
			const char *repl = root->replacement ? root->replacement : root->name;
			_cleanup_free_ char *nremote = rebuild_remote_name(ro->prefix, repl);
			r = fetch(store, ro, rexact, NULL, digest, err);
			if (r == 0)
				r = fetch(store, ro, nremote, repl, digest, err);
		}
	}
	_cleanup_policy_ struct petra_policy *policy = NULL;
	if (r == 0 && it->action == REBUILD_ACTION_REBUILD)
		r = pod_policy(plan, ro->prefix, &policy, err);
	if (r == 0 && it->action == REBUILD_ACTION_REBUILD) {
		/* The old image is kept under its -old name here too. */
		_cleanup_free_ char *remote = rebuild_remote_name(ro->prefix, it->names.v[0]);
		_cleanup_free_ char *exact = by_digest(remote, it->digest);
		r = fetch(store, ro, exact, it->names.v[0], digest, err);
	}
	if (r < 0)
		return r;
	struct rebuild_options po = *o;
	po.policy = policy ? policy : o->policy;
	po.registry = ro->registry;
	struct run run = {.store = store, .o = &po, .plan = plan};
	pthread_mutex_init(&run.lock, NULL);
	item_task(&run, (size_t)idx, NULL);
	pthread_mutex_destroy(&run.lock);
	if (it->outcome != REBUILD_REBUILT && it->outcome != REBUILD_REBASED &&
	    it->outcome != REBUILD_UNCHANGED)
		return 0;
	for (size_t i = 0; r == 0 && i < it->names.n; i++) {
		_cleanup_free_ char *remote = rebuild_remote_name(ro->prefix, it->names.v[i]);
		r = registry_push(store, it->names.v[i], remote, ro->registry, NULL, err);
		if (r < 0)
			petra_error_prefix(err, "pushing %s to %s", it->names.v[i], remote);
	}
	return r;
}
