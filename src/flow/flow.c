/* SPDX-License-Identifier: Apache-2.0 */
/* Habitus build.yml flows: read, checked, run step by step. */
#include "flow.h"

#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "image/image.h"
#include "rootfs/rootfs.h"
#include "trust/trust.h"
#include "runtime/runtime.h"

#define FLOW_VERSION "2016-03-14"

struct flow_secret {
	char *id, *path, *env;
};

struct step {
	char *key;   /* in build.steps */
	char *name;  /* the image's name */
	char *image; /* name:latest */
	char *dockerfile, *context;
	struct strvec args;
	char *target;
	struct strvec artifacts; /* "src[:dest]" */
	struct strvec depends_on;
	const json_t *depends_node; /* while loading: for messages */
	size_t *deps;
	size_t n_deps;
	struct strvec cleanup;
	bool no_cache;
	struct flow_secret *secrets;
	size_t n_secrets;
	char *command;
	char digest[OCI_DIGEST_SIZE];
};

struct flow {
	char *file;
	char *dir;            /* the build.yml's directory: the work directory */
	struct petra_yaml *y; /* while loading: positions for messages */
	struct step *steps;
	size_t n_steps;
	/* While running. */
	struct petra_store *store;
	const struct flow_options *o;
	pthread_mutex_t lock; /* result */
	struct flow_result *result;
};

void flow_result_release(struct flow_result *r)
{
	for (size_t i = 0; i < r->n_steps; i++) {
		free(r->steps[i].step);
		free(r->steps[i].image);
	}
	free(r->steps);
	memset(r, 0, sizeof(*r));
}

static void flow_release(struct flow *f)
{
	for (size_t i = 0; i < f->n_steps; i++) {
		struct step *s = &f->steps[i];
		free(s->key);
		free(s->name);
		free(s->image);
		free(s->dockerfile);
		free(s->context);
		strvec_clear(&s->args);
		free(s->target);
		strvec_clear(&s->artifacts);
		strvec_clear(&s->depends_on);
		free(s->deps);
		strvec_clear(&s->cleanup);
		for (size_t k = 0; k < s->n_secrets; k++) {
			free(s->secrets[k].id);
			free(s->secrets[k].path);
			free(s->secrets[k].env);
		}
		free(s->secrets);
		free(s->command);
	}
	free(f->steps);
	free(f->file);
	free(f->dir);
	petra_yaml_free(f->y);
}

/* ---- reading build.yml ---- */

/* A scalar as text, "_env(VAR)" replaced by petra's $VAR; NULL when the
 * value is not a scalar. */
static char *scalar(const json_t *v)
{
	char num[64];
	const char *s;
	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v))
		s = (snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)), num);
	else if (json_is_boolean(v))
		s = json_is_true(v) ? "true" : "false";
	else
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	while (*s) {
		const char *at = strstr(s, "_env(");
		const char *close = at ? strchr(at, ')') : NULL;
		if (!at || !close) {
			strbuf_addstr(&sb, s);
			break;
		}
		strbuf_add(&sb, s, (size_t)(at - s));
		_cleanup_free_ char *name = xstrndup(at + 5, (size_t)(close - at - 5));
		const char *value = getenv(name);
		strbuf_addstr(&sb, value ? value : "");
		s = close + 1;
	}
	return strbuf_detach(&sb);
}

/* parent[key]: a list of strings (absent: nothing). */
static int string_list(struct flow *f, const json_t *parent, const char *key, struct strvec *out,
		       const char *what, struct petra_error **err)
{
	const json_t *v = json_object_get(parent, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return petra_yaml_error(f->y, parent, key, 0, err, "%s.%s: a list is expected",
					what, key);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		char *s = scalar(e);
		if (!s)
			return petra_yaml_error(f->y, v, NULL, i, err,
						"%s.%s: a string is expected", what, key);
		strvec_push_nodup(out, s);
	}
	return 0;
}

/* parent[key] as a string (a number or boolean as its text, _env()
 * expanded) into *out; def (may be NULL) when absent or null. Any other
 * type is an error naming the field: a mapping where a path is meant
 * must not silently become the default. */
static int scalar_field(struct flow *f, const json_t *parent, const char *key, const char *what,
			const char *def, char **out, struct petra_error **err)
{
	const json_t *v = json_object_get(parent, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		*out = def ? xstrdup(def) : NULL;
		return 0;
	}
	*out = scalar(v);
	if (!*out)
		return petra_yaml_error(f->y, parent, key, 0, err,
					"%s.%s: a string is expected, not %s", what, key,
					petra_yaml_type_name(v));
	return 0;
}

static char *resolve_path(const char *base, const char *p)
{
	return p[0] == '/' ? xstrdup(p) : path_join(base, p);
}

static int read_step(struct flow *f, const json_t *steps, const char *key, struct step *s,
		     struct petra_error **err)
{
	static const char *const known[] = {
	    "name",    "dockerfile", "context", "args",    "target", "artifacts", "depends_on",
	    "cleanup", "no_cache",   "secrets", "command", "keep",   NULL};
	const json_t *v = json_object_get(steps, key);
	s->key = xstrdup(key);
	_cleanup_free_ char *where = xasprintf("step \"%s\"", key);
	if (!json_is_object(v))
		return petra_yaml_error(f->y, steps, key, 0, err, "%s: a mapping is expected",
					where);
	if (petra_yaml_check_keys(f->y, v, where, known, err) < 0)
		return -EINVAL;
	json_t *name = json_object_get(v, "name");
	if (scalar_field(f, v, "name", where, key, &s->name, err) < 0)
		return -EINVAL;
	struct oci_ref ref;
	_cleanup_free_ char *with_tag = !s->name               ? NULL
					: strchr(s->name, ':') ? xstrdup(s->name)
							       : xasprintf("%s:latest", s->name);
	if (!with_tag || oci_ref_parse(with_tag, &ref, NULL) < 0)
		return petra_yaml_error(f->y, v, name ? "name" : NULL, PETRA_YAML_NODE, err,
					"%s: \"%s\" is no image name", where,
					s->name ? s->name : "");
	s->image = oci_ref_format(&ref);
	oci_ref_release(&ref);
	_cleanup_free_ char *ctx = NULL, *df = NULL;
	if (scalar_field(f, v, "context", where, ".", &ctx, err) < 0 ||
	    scalar_field(f, v, "dockerfile", where, "Dockerfile", &df, err) < 0 ||
	    scalar_field(f, v, "target", where, NULL, &s->target, err) < 0 ||
	    scalar_field(f, v, "command", where, NULL, &s->command, err) < 0)
		return -EINVAL;
	s->context = resolve_path(f->dir, ctx);
	s->dockerfile = resolve_path(s->context, df);
	json_t *args = json_object_get(v, "args");
	int r = 0;
	if (json_is_object(args)) {
		const char *ak;
		json_t *av;
		json_object_foreach(args, ak, av)
		{
			_cleanup_free_ char *value = scalar(av);
			strvec_pushf(&s->args, "%s=%s", ak, value ? value : "");
		}
	} else {
		r = string_list(f, v, "args", &s->args, where, err);
	}
	if (r == 0)
		r = string_list(f, v, "artifacts", &s->artifacts, where, err);
	if (r == 0)
		r = string_list(f, v, "depends_on", &s->depends_on, where, err);
	s->depends_node = json_object_get(v, "depends_on");
	json_t *cleanup = json_object_get(v, "cleanup");
	if (r == 0 && cleanup && !json_is_object(cleanup))
		r = petra_yaml_error(f->y, v, "cleanup", 0, err,
				     "%s.cleanup: a mapping (commands: [...]) is expected", where);
	else if (r == 0 && cleanup)
		r = string_list(f, cleanup, "commands", &s->cleanup, where, err);
	if (r < 0)
		return r;
	json_t *no_cache = json_object_get(v, "no_cache");
	s->no_cache = json_is_true(no_cache) ||
		      (json_is_string(no_cache) && !strcmp(json_string_value(no_cache), "true"));
	json_t *secrets = json_object_get(v, "secrets");
	if (secrets && !json_is_object(secrets))
		return petra_yaml_error(f->y, v, "secrets", 0, err,
					"%s.secrets: a mapping is expected", where);
	const char *id;
	json_t *sv;
	json_object_foreach(secrets, id, sv)
	{
		_cleanup_free_ char *type = scalar(json_object_get(sv, "type"));
		_cleanup_free_ char *value = scalar(json_object_get(sv, "value"));
		if (!type || !value || (strcmp(type, "file") && strcmp(type, "env")))
			return petra_yaml_error(f->y, secrets, id, 0, err,
						"%s: secret \"%s\": type (file or env) and value "
						"are expected",
						where, id);
		s->secrets = xrealloc(s->secrets, (s->n_secrets + 1) * sizeof(*s->secrets));
		struct flow_secret *fs = &s->secrets[s->n_secrets++];
		fs->id = xstrdup(id);
		fs->path = !strcmp(type, "file") ? resolve_path(f->dir, value) : NULL;
		fs->env = !strcmp(type, "env") ? xstrdup(value) : NULL;
	}
	return 0;
}

/* Dependencies by name (or key); a cycle named step by step. */
static int link_steps(struct flow *f, struct petra_error **err)
{
	for (size_t i = 0; i < f->n_steps; i++) {
		struct step *s = &f->steps[i];
		for (size_t d = 0; d < s->depends_on.n; d++) {
			const char *want = s->depends_on.v[d];
			size_t j = 0;
			while (j < f->n_steps && strcmp(f->steps[j].name, want) &&
			       strcmp(f->steps[j].key, want))
				j++;
			if (j == f->n_steps)
				return petra_yaml_error(
				    f->y, s->depends_node, NULL, d, err,
				    "step \"%s\" depends on \"%s\", which is no "
				    "step of this flow",
				    s->key, want);
			s->deps = xrealloc(s->deps, (s->n_deps + 1) * sizeof(*s->deps));
			s->deps[s->n_deps++] = j;
		}
	}
	/* Depth-first, colouring: 1 on the path, 2 done. */
	unsigned char *colour = xcalloc(f->n_steps, 1);
	size_t *path = xcalloc(f->n_steps + 1, sizeof(*path));
	int r = 0;
	for (size_t start = 0; start < f->n_steps && r == 0; start++) {
		if (colour[start])
			continue;
		size_t depth = 0;
		size_t *next = xcalloc(f->n_steps, sizeof(*next));
		path[depth++] = start;
		colour[start] = 1;
		while (depth && r == 0) {
			size_t cur = path[depth - 1];
			struct step *s = &f->steps[cur];
			if (next[cur] == s->n_deps) {
				colour[cur] = 2;
				depth--;
				continue;
			}
			size_t dep = s->deps[next[cur]++];
			if (colour[dep] == 1) {
				struct strbuf sb = STRBUF_INIT;
				size_t from = 0;
				while (path[from] != dep)
					from++;
				for (size_t k = from; k < depth; k++)
					strbuf_addf(&sb, "%s -> ", f->steps[path[k]].key);
				strbuf_addstr(&sb, f->steps[dep].key);
				r = petra_yaml_error(f->y, f->steps[dep].depends_node, NULL, 0, err,
						     "a cycle of steps: %s", sb.buf);
				strbuf_release(&sb);
			} else if (!colour[dep]) {
				colour[dep] = 1;
				path[depth++] = dep;
			}
		}
		free(next);
	}
	free(path);
	free(colour);
	return r;
}

static int flow_load(const char *file, struct flow *f, struct petra_error **err)
{
	memset(f, 0, sizeof(*f));
	char *real = realpath(file, NULL);
	if (!real)
		return petra_error_set_errno(err, errno, "%s", file);
	f->file = real;
	f->dir = xstrdup(real);
	*strrchr(f->dir, '/') = '\0';
	if (!*f->dir) {
		free(f->dir);
		f->dir = xstrdup("/");
	}
	int r = petra_yaml_load(AT_FDCWD, f->file, &f->y, err);
	if (r < 0)
		return r;
	const json_t *doc = petra_yaml_root(f->y);
	const json_t *build = json_object_get(doc, "build");
	if (!json_is_object(build))
		return petra_error_set(err, EINVAL, "%s: no \"build\" mapping", f->file);
	_cleanup_free_ char *version = scalar(json_object_get(build, "version"));
	if (!version || strcmp(version, FLOW_VERSION))
		return petra_yaml_error(f->y, doc, version ? NULL : "build", 0, err,
					"build.version is not %s (Habitus' format)", FLOW_VERSION);
	const json_t *steps = json_object_get(build, "steps");
	if (!json_is_object(steps) || !json_object_size(steps))
		return petra_yaml_error(f->y, build, steps ? "steps" : NULL, PETRA_YAML_NODE, err,
					"build.steps: a mapping of steps is expected");
	f->steps = xcalloc(json_object_size(steps), sizeof(*f->steps));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)steps, key, v)
	{
		r = read_step(f, steps, key, &f->steps[f->n_steps++], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < f->n_steps; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(f->steps[i].image, f->steps[j].image))
				return petra_yaml_error(
				    f->y, steps, f->steps[i].key, 0, err,
				    "steps \"%s\" and \"%s\" name the same image %s",
				    f->steps[j].key, f->steps[i].key, f->steps[i].image);
	return link_steps(f, err);
}

int flow_check(const char *file, struct petra_error **err)
{
	struct flow f;
	int r = flow_load(file, &f, err);
	flow_release(&f);
	return r;
}

/* ---- artifacts ---- */

/* Copy the step's artifacts out of its image's layers (mounted read-only
 * in this thread's mount namespace, no container) into the work
 * directory. */
/* A progress line, as the builder writes its own: through the caller's
 * output callback, else one write on stderr (steps run in threads: a
 * line is never split). */
__attribute__((format(printf, 2, 3))) static void flow_say(struct flow *f, const char *fmt, ...)
{
	if (f->o->quiet)
		return;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (f->o->output) {
		f->o->output(f->o->output_ctx, sb.buf);
		return;
	}
	strbuf_addch(&sb, '\n');
	fs_write_all(STDERR_FILENO, sb.buf, sb.len);
}

static int take_artifacts(struct flow *f, struct step *s, struct petra_error **err)
{
	if (!s->artifacts.n)
		return 0;
	struct image img;
	int r = image_load(f->store, s->digest, &img, err);
	if (r < 0)
		return r;
	struct strvec lowers = STRVEC_INIT;
	r = rootfs_prepare(f->store, &img, &lowers, err);
	image_release(&img);
	_cleanup_free_ char *dir = xasprintf("%s/build/flow", petra_store_root(f->store));
	_cleanup_free_ char *mnt = xasprintf("%s/artifacts-XXXXXX", dir);
	_cleanup_close_ int root = -1;
	if (r == 0)
		r = fs_mkdir_p(dir, 0700, err);
	if (r == 0 && !mkdtemp(mnt))
		r = petra_error_set_errno(err, errno, "create %s", mnt);
	if (r == 0) {
		struct rootfs_mount_options mo = {.lowers = (const char *const *)lowers.v,
						  .n_lowers = lowers.n};
		r = rootfs_mount(mnt, &mo, err);
		if (r == 0) {
			root = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			/* The descriptor keeps the mount alive. */
			umount2(mnt, MNT_DETACH);
			if (root < 0)
				r = petra_error_set_errno(err, errno, "open %s", mnt);
		}
		rmdir(mnt);
	}
	strvec_clear(&lowers);
	for (size_t i = 0; r == 0 && i < s->artifacts.n; i++) {
		_cleanup_free_ char *spec = xstrdup(s->artifacts.v[i]);
		char *colon = strchr(spec, ':');
		if (colon)
			*colon++ = '\0';
		_cleanup_free_ char *dest = resolve_path(f->dir, colon && *colon ? colon : ".");
		r = fs_mkdir_p(dest, 0755, err);
		_cleanup_close_ int dest_fd =
		    r < 0 ? -1 : open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && dest_fd < 0)
			r = petra_error_set_errno(err, errno, "open %s", dest);
		if (r == 0)
			r = builder_copy_out(root, spec, dest_fd, err);
		if (r < 0)
			petra_error_prefix(err, "artifact %s", s->artifacts.v[i]);
		else
			flow_say(f, "[%s] artifact %s -> %s", s->key, spec, dest);
	}
	return r;
}

/* ---- running ---- */

/* The step's command in its image, as petra run runs it, from a forked
 * helper (see sandbox_fork_helper: this process has other threads). */
struct command {
	struct flow *f;
	struct step *s;
};

static int command_in_helper(void *ctx, int report_fd)
{
	struct command *c = ctx;
	char *argv[] = {"/bin/sh", "-c", c->s->command, NULL};
	_cleanup_free_ char *run_dir = runtime_default_run_dir(petra_store_root(c->f->store));
	struct runtime_run_options ro = {
	    .image = c->s->digest,
	    .command = argv,
	    .network = c->f->o->network,
	    .remove = true,
	};
	struct runtime_run_result res;
	struct petra_error *e = NULL;
	if (runtime_run(c->f->store, run_dir, &ro, &res, &e) < 0)
		sandbox_child_fail(report_fd, 125, e);
	return res.exit_code;
}

/* A step's command makes a process of its image: the gate decides first,
 * as for petra run (the step's name: the scope its signatures are for). */
static int gate_command(struct flow *f, struct step *s, struct petra_error **err)
{
	if (!f->o->policy && !f->o->signature_policy)
		return 0;
	struct trust_gate_result g;
	if (trust_gate_check_with(f->store, s->image, TRUST_PURPOSE_RUN, f->o->policy,
				  f->o->signature_policy, &g, err) < 0)
		return -1;
	int r = 0;
	if (!g.allowed) {
		struct strbuf sb = STRBUF_INIT;
		for (size_t i = 0; i < g.reasons.n; i++)
			strbuf_addf(&sb, "%s%s", i ? "; " : "", g.reasons.v[i]);
		r = petra_error_set(err, EACCES, "%s refused by the policy (run): %s", s->image,
				    strbuf_str(&sb));
		strbuf_release(&sb);
	}
	trust_gate_result_release(&g);
	return r;
}

static int run_command(struct flow *f, struct step *s, struct petra_error **err)
{
	if (gate_command(f, s, err) < 0)
		return petra_error_prefix(err, "command");
	struct command c = {f, s};
	pid_t helper;
	int r = sandbox_fork_helper(command_in_helper, &c, &helper, err);
	if (r < 0)
		return petra_error_prefix(err, "command");
	int ws;
	while (waitpid(helper, &ws, 0) < 0 && errno == EINTR)
		;
	int code = sandbox_exit_code(ws);
	if (code != 0)
		return petra_error_set(err, EIO, "command exited with status %d", code);
	return 0;
}

static int run_step(struct flow *f, struct step *s, struct petra_error **err)
{
	const struct flow_options *o = f->o;
	struct builder_secret *secrets = xcalloc(s->n_secrets + 1, sizeof(*secrets));
	for (size_t i = 0; i < s->n_secrets; i++)
		secrets[i] = (struct builder_secret){s->secrets[i].id, s->secrets[i].path,
						     s->secrets[i].env};
	const char *tags[] = {s->image};
	_cleanup_free_ char *label = xasprintf("[%s] ", s->key);
	/* The step's image records that a flow made it, and which step. */
	_cleanup_free_ char *flow_file = o->file ? realpath(o->file, NULL) : NULL;
	_cleanup_json_ json_t *record_parameters = json_pack("{s:s}", "flowStep", s->key);
	if (flow_file || o->file)
		json_object_set_new(record_parameters, "flowFile",
				    json_string(flow_file ? flow_file : o->file));
	struct builder_options bo = {
	    .context = s->context,
	    .dockerfile = s->dockerfile,
	    .tags = tags,
	    .n_tags = 1,
	    .build_args = (const char *const *)s->args.v,
	    .n_build_args = s->args.n,
	    .target = s->target,
	    .secrets = secrets,
	    .n_secrets = s->n_secrets,
	    .no_cache = o->no_cache || s->no_cache,
	    .network = o->network,
	    .compression = o->compression,
	    .squash = s->cleanup.n > 0,
	    .quiet = o->quiet,
	    .reproducible = o->reproducible,
	    .source_date_epoch = o->source_date_epoch,
	    .policy = o->policy,
	    .extra_run = (const char *const *)s->cleanup.v,
	    .n_extra_run = s->cleanup.n,
	    .label = label,
	    .output = o->output,
	    .output_ctx = o->output_ctx,
	    .record_producer = "flow",
	    .record_parameters = record_parameters,
	};
	struct builder_result br;
	int r = builder_run(f->store, &bo, &br, err);
	free(secrets);
	if (r == 0)
		memcpy(s->digest, br.digest, OCI_DIGEST_SIZE);
	if (r == 0)
		r = take_artifacts(f, s, err);
	if (r == 0 && s->command)
		r = run_command(f, s, err);
	if (r < 0)
		return petra_error_prefix(err, "step %s", s->key);
	return 0;
}

static size_t step_n_deps(void *ctx, size_t i)
{
	return ((struct flow *)ctx)->steps[i].n_deps;
}

static size_t step_dep(void *ctx, size_t i, size_t k)
{
	return ((struct flow *)ctx)->steps[i].deps[k];
}

static int step_task(void *ctx, size_t i, struct petra_error **err)
{
	struct flow *f = ctx;
	struct step *s = &f->steps[i];
	int r = run_step(f, s, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&f->lock);
	struct flow_result *res = f->result;
	res->steps = xrealloc(res->steps, (res->n_steps + 1) * sizeof(*res->steps));
	struct flow_step_result *sr = &res->steps[res->n_steps++];
	sr->step = xstrdup(s->key);
	sr->image = xstrdup(s->image);
	memcpy(sr->digest, s->digest, OCI_DIGEST_SIZE);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int flow_run(struct petra_store *store, const struct flow_options *o, struct flow_result *result,
	     struct petra_error **err)
{
	memset(result, 0, sizeof(*result));
	/* A rootless flow enters its user namespace once, here, while the
	 * process has one thread (builder_run then finds it root). */
	struct sandbox_rootless rootless;
	if (sandbox_enter_rootless(&rootless, err) < 0)
		return -(*err)->code;
	struct flow f;
	int r = flow_load(o->file, &f, err);
	if (r < 0) {
		flow_release(&f);
		return r;
	}
	f.store = store;
	f.o = o;
	f.result = result;
	pthread_mutex_init(&f.lock, NULL);
	static const struct graph_ops ops = {NULL, step_n_deps, step_dep, step_task};
	unsigned jobs = o->jobs ? o->jobs : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	r = graph_run(f.n_steps, jobs, &ops, &f, err);
	pthread_mutex_destroy(&f.lock);
	flow_release(&f);
	return r;
}
