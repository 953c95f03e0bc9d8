/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The build as a whole: the Dockerfile and context read, the stages the
 * target needs found and scheduled (independent ones in parallel
 * threads, each built by the step engine), the target squashed on
 * request, and the image written at the end.
 */
#include "step.h"

#include <ctype.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>

struct build {
	struct builder_session session; /* what the stages and steps share */
	struct builder_plan plan;
	struct dockerfile *df;
	char *dockerfile_path;
	char dockerfile_digest[OCI_DIGEST_SIZE];
	char *context_dir;
	struct context_ignore *ignore;
	struct dockerfile_vars *build_args;
};

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
	const struct builder_options *o = b->session.o;
	b->context_dir = realpath(o->context, NULL);
	if (!b->context_dir)
		return petra_error_set_errno(err, errno, "context %s", o->context);
	b->session.context_fd = open(b->context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->session.context_fd < 0)
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
	b->plan.df = b->df;
	oci_digest_buffer(b->plan.df->source, b->plan.df->source_len, b->dockerfile_digest);
	if (!b->plan.df->n_stages)
		return petra_error_set(err, EINVAL, "%s: no FROM instruction", base);
	/* BuildKit first looks for <Dockerfile>.dockerignore next to it. */
	_cleanup_free_ char *own = xasprintf("%s.dockerignore", b->dockerfile_path);
	if (access(own, F_OK) == 0)
		r = context_ignore_load(AT_FDCWD, own, &b->ignore, err);
	else
		r = context_ignore_load(b->session.context_fd, ".dockerignore", &b->ignore, err);
	if (r < 0)
		return r;
	b->session.ignore = b->ignore;
	b->build_args = dockerfile_vars_new();
	b->session.build_args = b->build_args;
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

static void add_dep(struct builder_stage *st, size_t dep)
{
	for (size_t i = 0; i < st->n_deps; i++)
		if (st->deps[i] == dep)
			return;
	st->deps = xrealloc(st->deps, (st->n_deps + 1) * sizeof(*st->deps));
	st->deps[st->n_deps++] = dep;
}

/* A word naming a stage, expanded with the global ARGs as a FROM line's
 * words are. */
static void note_stage_ref(struct build *b, struct builder_stage *st,
			   const struct dockerfile_scope *globals, const char *word)
{
	struct dockerfile_expander ex;
	dockerfile_scope_expander(globals, DOCKERFILE_FROM, &ex);
	_cleanup_free_ char *expanded = NULL;
	if (dockerfile_expand_word(&ex, word, &expanded, NULL) < 0)
		return;
	struct builder_stage *dep = builder_find_stage(&b->plan, expanded, st->index);
	if (dep)
		add_dep(st, dep->index);
}

static void find_deps(struct build *b, struct builder_stage *st,
		      const struct dockerfile_scope *globals)
{
	const struct dockerfile *df = b->plan.df;
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
	struct builder_stage *st = &b->plan.stages[i];
	if (st->needed)
		return;
	st->needed = true;
	for (size_t d = 0; d < st->n_deps; d++)
		mark_needed(b, st->deps[d]);
}

static int plan(struct build *b, struct petra_error **err)
{
	const struct dockerfile *df = b->plan.df;
	b->plan.n_stages = df->n_stages;
	b->plan.stages = xcalloc(b->plan.n_stages, sizeof(*b->plan.stages));
	for (size_t i = 0; i < b->plan.n_stages; i++) {
		struct builder_stage *st = &b->plan.stages[i];
		st->index = i;
		st->df = &df->stages[i];
		st->label = st->df->name ? xstrdup(st->df->name) : xasprintf("stage-%zu", i);
		st->base_stage = SIZE_MAX;
	}
	/* Global ARGs, to read FROM lines and --from values. */
	struct dockerfile_scope globals;
	dockerfile_scope_init(&globals, df->escape, b->build_args);
	int r = 0;
	for (size_t i = 0; i < df->n_instructions && r == 0; i++)
		if (df->instructions[i].stage == DOCKERFILE_GLOBAL)
			r = dockerfile_scope_apply(&globals, &df->instructions[i], err);
	for (size_t i = 0; i < b->plan.n_stages && r == 0; i++)
		find_deps(b, &b->plan.stages[i], &globals);
	dockerfile_scope_release(&globals);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b->session.o->n_tags; i++) {
		struct oci_ref ref;
		if (oci_ref_parse(b->session.o->tags[i], &ref, err) < 0)
			return petra_error_prefix(err, "-t %s", b->session.o->tags[i]);
		oci_ref_release(&ref);
	}
	b->plan.target = b->plan.n_stages - 1;
	if (b->session.o->target) {
		struct builder_stage *t =
		    builder_find_stage(&b->plan, b->session.o->target, b->plan.n_stages);
		if (!t)
			return petra_error_set(err, ENOENT,
					       "target stage \"%s\" could not be found",
					       b->session.o->target);
		b->plan.target = t->index;
	}
	mark_needed(b, b->plan.target);
	unsigned needed = 0;
	for (size_t i = 0; i < b->plan.n_stages; i++)
		needed += b->plan.stages[i].needed;
	unsigned jobs =
	    b->session.o->jobs ? b->session.o->jobs : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	b->session.parallel = needed > 1 && jobs > 1;
	return 0;
}

/* ---- running the stages ---- */

static bool stage_wanted(void *ctx, size_t i)
{
	return ((struct build *)ctx)->plan.stages[i].needed;
}

static size_t stage_n_deps(void *ctx, size_t i)
{
	return ((struct build *)ctx)->plan.stages[i].n_deps;
}

static size_t stage_dep(void *ctx, size_t i, size_t k)
{
	return ((struct build *)ctx)->plan.stages[i].deps[k];
}

static int stage_task(void *ctx, size_t i, struct petra_error **err)
{
	struct build *b = ctx;
	struct builder_stage *st = &b->plan.stages[i];
	int r = builder_stage_build(&b->session, &b->plan, st, err);
	if (r < 0) {
		/* Running stages stop at their next step. */
		builder_cancel(&b->session);
		if (b->session.parallel)
			petra_error_prefix(err, "stage %s", st->label);
	}
	return r;
}

static int run_stages(struct build *b, struct petra_error **err)
{
	static const struct graph_ops ops = {stage_wanted, stage_n_deps, stage_dep, stage_task};
	unsigned jobs =
	    b->session.o->jobs ? b->session.o->jobs : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	return graph_run(b->plan.n_stages, jobs, &ops, b, err);
}

static void warn_unused_args(struct build *b)
{
	struct strbuf unused = STRBUF_INIT;
	for (size_t i = 0; i < b->session.o->n_build_args; i++) {
		_cleanup_free_ char *k = xstrndup(b->session.o->build_args[i],
						  strcspn(b->session.o->build_args[i], "="));
		if (!strset_contains(&b->plan.used_build_args, k) && !is_automatic_arg(k))
			strbuf_addf(&unused, "%s%s", unused.len ? " " : "", k);
	}
	if (unused.len)
		builder_say(&b->session, NULL, "warning: build arguments not used by any ARG: %s",
			    unused.buf);
	strbuf_release(&unused);
}

/* ---- the whole ---- */

/* The target's layers as one, through the step engine. */
static int squash(struct build *b, struct builder_stage *st, struct petra_error **err)
{
	if (st->state.n_layers <= st->n_base_layers + 1)
		return 0;
	_cleanup_free_ char *text =
	    xasprintf("squashing %zu layers", st->state.n_layers - st->n_base_layers);
	struct builder_step s = {.session = &b->session,
				 .plan = &b->plan,
				 .stage = st,
				 .state = &st->state,
				 .text = text,
				 .prefix = ""};
	oci_hasher_init(&s.key);
	builder_key_add(&s.key, st->key);
	builder_key_add(&s.key, "squash");
	int r = builder_step_execute(&s, &builder_kind_squash, err);
	oci_hasher_release(&s.key);
	return r;
}

static void build_release(struct build *b)
{
	builder_session_release(&b->session);
	for (size_t i = 0; i < b->plan.n_stages; i++) {
		struct builder_stage *st = &b->plan.stages[i];
		free(st->label);
		free(st->deps);
		free(st->base_name);
		builder_state_release(&st->state);
	}
	free(b->plan.stages);
	strset_clear(&b->plan.used_build_args);
	dockerfile_free(b->df);
	free(b->dockerfile_path);
	free(b->context_dir);
	if (b->session.context_fd >= 0)
		close(b->session.context_fd);
	context_ignore_free(b->ignore);
	dockerfile_vars_free(b->build_args);
}

/* A step failed on an id the kernel would not take (EINVAL from chown or
 * setuid): with no subordinate range there is only 0. */
static void rootless_hint(const struct sandbox_rootless *rootless, struct petra_error **err)
{
	bool uids = rootless->n_uids == 1;
	if (!uids && rootless->n_gids != 1)
		return;
	_cleanup_free_ char *message = xstrdup((*err)->message);
	petra_error_set(err, EINVAL,
			"%s (this rootless build maps only %s 0, your own %s %u: another needs "
			"subordinate ids, a range in %s (usermod --add-sub%ss), newuidmap and "
			"newgidmap (uidmap), and no no_new_privs)",
			message, uids ? "uid" : "gid", uids ? "uid" : "gid",
			uids ? (unsigned)rootless->uid : (unsigned)rootless->gid,
			uids ? "/etc/subuid" : "/etc/subgid", uids ? "uid" : "gid");
}

int builder_run(struct petra_store *store, const struct builder_options *o,
		struct builder_result *result, struct petra_error **err)
{
	memset(result, 0, sizeof(*result));
	struct build b = {0};
	builder_session_init(&b.session, store, o);
	/* A user without privileges builds as root of a user namespace of its
	 * own (its subordinate ids above), as buildah does: what the build
	 * writes carries the ids inside, as a root build's would. */
	struct sandbox_rootless rootless;
	int r = sandbox_enter_rootless(&rootless, err);
	/* Every mount of this build stays in a namespace of its own and goes
	 * with the process, whatever happens to it. */
	if (r == 0 &&
	    (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0))
		r = petra_error_set_errno(err, errno, "a private mount namespace for the build");
	if (r == 0)
		r = builder_check_policy(&b.session, err);
	if (r == 0)
		r = read_inputs(&b, err);
	if (r == 0)
		r = plan(&b, err);
	if (r == 0)
		r = builder_session_open(&b.session, err);
	bool stepping = r == 0;
	if (r == 0)
		r = run_stages(&b, err);
	struct builder_stage *target = r == 0 ? &b.plan.stages[b.plan.target] : NULL;
	if (r == 0 && o->squash)
		r = squash(&b, target, err);
	struct builder_inputs in = {b.dockerfile_path, b.dockerfile_digest, b.context_dir};
	if (r == 0)
		r = builder_write_image(&b.session, target, &in, result->digest, err);
	for (size_t i = 0; i < b.plan.n_stages; i++) {
		result->steps += b.plan.stages[i].steps;
		result->cached += b.plan.stages[i].cached;
	}
	result->exit_status = b.session.exit_status;
	if (r < 0 && stepping && rootless.active && (*err)->code == EINVAL)
		rootless_hint(&rootless, err);
	if (r == 0)
		warn_unused_args(&b);
	build_release(&b);
	return r;
}
