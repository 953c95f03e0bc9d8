/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two step kinds: the instructions that only change the config (ENV,
 * LABEL, USER, CMD, ...: applied at prepare, no view, no cache), and
 * WORKDIR and VOLUME, whose directories are made (root's, 0755) where
 * they are missing, as buildah makes them.
 */
#include "step.h"

#include <ctype.h>
#include <fcntl.h>
#include <string.h>

/* The words of an instruction expanded as the stage sees them. */
static int expand(struct builder_step *s, const char *word, char **out, struct petra_error **err)
{
	struct dockerfile_expander ex;
	dockerfile_scope_expander(s->scope, s->in->kind, &ex);
	int r = dockerfile_expand_word(&ex, word, out, err);
	if (r < 0)
		petra_error_prefix(err, "line %u", s->in->start_line);
	return r;
}

static void env_set(json_t *cfg, const char *key, const char *value)
{
	json_t *env = json_object_get(cfg, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(cfg, "Env", env);
	}
	_cleanup_free_ char *kv = xasprintf("%s=%s", key, value);
	size_t kl = strlen(key);
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v)
	{
		const char *e = json_string_value(v);
		if (e && !strncmp(e, key, kl) && (e[kl] == '=' || !e[kl])) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static json_t *object_member(json_t *cfg, const char *name)
{
	json_t *o = json_object_get(cfg, name);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(cfg, name, o);
	}
	return o;
}

/* The shell-form command as it runs: the stage's SHELL plus the text. */
static json_t *shell_command(struct builder_state *state, const char *text)
{
	json_t *shell = json_object_get(builder_state_runtime(state), "Shell");
	json_t *a = json_array();
	if (json_is_array(shell) && json_array_size(shell)) {
		size_t i;
		json_t *v;
		json_array_foreach(shell, i, v) json_array_append(a, v);
	} else {
		json_array_append_new(a, json_string("/bin/sh"));
		json_array_append_new(a, json_string("-c"));
	}
	json_array_append_new(a, json_string(text));
	return a;
}

static json_t *command_of(struct builder_step *s, size_t first)
{
	const struct dockerfile_instruction *in = s->in;
	if (!in->json)
		return shell_command(s->state, first < in->n_args ? in->args[first].text : "");
	json_t *a = json_array();
	for (size_t i = first; i < in->n_args; i++)
		json_array_append_new(a, json_stringn(in->args[i].text, in->args[i].len));
	return a;
}

static int parse_port(const char *spec, struct strvec *keys, struct petra_error **err)
{
	const char *slash = strchr(spec, '/');
	_cleanup_free_ char *ports = slash ? xstrndup(spec, (size_t)(slash - spec)) : xstrdup(spec);
	_cleanup_free_ char *proto = xstrdup(slash ? slash + 1 : "tcp");
	for (char *c = proto; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return petra_error_set(err, EINVAL, "EXPOSE %s: invalid protocol \"%s\"", spec,
				       proto);
	char *dash = strchr(ports, '-');
	char *end;
	unsigned long lo = strtoul(ports, &end, 10);
	unsigned long hi = lo;
	bool ok = end != ports && (dash ? end == dash : !*end);
	if (ok && dash) {
		hi = strtoul(dash + 1, &end, 10);
		ok = end != dash + 1 && !*end;
	}
	if (!ok || lo < 1 || hi > 65535 || hi < lo)
		return petra_error_set(err, EINVAL, "EXPOSE %s: invalid port", spec);
	for (unsigned long p = lo; p <= hi; p++)
		strvec_pushf(keys, "%lu/%s", p, proto);
	return 0;
}

static int healthcheck(struct builder_step *s, json_t *cfg, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	json_t *hc = json_object();
	if (!strcasecmp(in->args[0].text, "NONE")) {
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
	} else {
		json_t *test = json_array();
		if (in->json) {
			json_array_append_new(test, json_string("CMD"));
			for (size_t i = 1; i < in->n_args; i++)
				json_array_append_new(test, json_string(in->args[i].text));
		} else {
			json_array_append_new(test, json_string("CMD-SHELL"));
			json_array_append_new(test,
					      json_string(in->n_args > 1 ? in->args[1].text : ""));
		}
		json_object_set_new(hc, "Test", test);
		static const char *const flags[][2] = {{"interval", "Interval"},
						       {"timeout", "Timeout"},
						       {"start-period", "StartPeriod"},
						       {"start-interval", "StartInterval"}};
		for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
			const char *v = dockerfile_flag(in, flags[i][0]);
			int64_t ns;
			if (v && *v && dockerfile_parse_duration(v, &ns) && ns)
				json_object_set_new(hc, flags[i][1], json_integer(ns));
		}
		const char *retries = dockerfile_flag(in, "retries");
		if (retries && *retries && atoi(retries) > 0)
			json_object_set_new(hc, "Retries", json_integer(atoi(retries)));
	}
	json_object_set_new(cfg, "Healthcheck", hc);
	(void)err;
	return 0;
}

/* ---- config-only instructions: what they set goes into the key ---- */

static int config_arg(struct builder_step *s, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	int r = dockerfile_scope_apply(s->scope, in, err);
	for (size_t i = 0; r == 0 && i < in->n_args; i++) {
		_cleanup_free_ char *name =
		    xstrndup(in->args[i].text, strcspn(in->args[i].text, "="));
		const char *v = dockerfile_vars_get(s->scope->args, name, NULL);
		builder_key_addf(&s->key, "%s=%s", name, v ? v : "<unset>");
	}
	return r;
}

static int config_env(struct builder_step *s, json_t *cfg, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	_cleanup_strvec_ struct strvec keys = STRVEC_INIT;
	int r = 0;
	for (size_t i = 0; r == 0 && i + 1 < in->n_args; i += 3) {
		char *key;
		r = expand(s, in->args[i].text, &key, err);
		if (r == 0)
			strvec_push_nodup(&keys, key);
	}
	if (r == 0)
		r = dockerfile_scope_apply(s->scope, in, err);
	for (size_t i = 0; r == 0 && i < keys.n; i++) {
		const char *v = dockerfile_vars_get(s->scope->env, keys.v[i], NULL);
		env_set(cfg, keys.v[i], v ? v : "");
		builder_key_addf(&s->key, "%s=%s", keys.v[i], v ? v : "");
	}
	return r;
}

static int config_label(struct builder_step *s, json_t *cfg, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	json_t *labels = object_member(cfg, "Labels");
	int r = 0;
	for (size_t i = 0; r == 0 && i + 1 < in->n_args; i += 3) {
		_cleanup_free_ char *key = NULL, *value = NULL;
		r = expand(s, in->args[i].text, &key, err);
		if (r == 0)
			r = expand(s, in->args[i + 1].text, &value, err);
		if (r == 0) {
			json_object_set_new(labels, key, json_string(value));
			builder_key_addf(&s->key, "%s=%s", key, value);
		}
	}
	return r;
}

static int config_expose(struct builder_step *s, json_t *cfg, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	json_t *ports = object_member(cfg, "ExposedPorts");
	int r = 0;
	for (size_t i = 0; r == 0 && i < in->n_args; i++) {
		struct dockerfile_expander ex;
		dockerfile_scope_expander(s->scope, in->kind, &ex);
		_cleanup_strvec_ struct strvec words = STRVEC_INIT, keys = STRVEC_INIT;
		r = dockerfile_expand_words(&ex, in->args[i].text, &words, err);
		for (size_t w = 0; r == 0 && w < words.n; w++)
			r = parse_port(words.v[w], &keys, err);
		for (size_t p = 0; r == 0 && p < keys.n; p++) {
			json_object_set_new(ports, keys.v[p], json_object());
			builder_key_add(&s->key, keys.v[p]);
		}
	}
	return r;
}

static int config_volume(struct builder_step *s, json_t *cfg, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	json_t *volumes = object_member(cfg, "Volumes");
	int r = 0;
	for (size_t i = 0; r == 0 && i < in->n_args; i++) {
		_cleanup_free_ char *v = NULL;
		r = expand(s, in->args[i].text, &v, err);
		if (r == 0 && *v) {
			json_object_set_new(volumes, v, json_object());
			builder_key_add(&s->key, v);
		}
	}
	return r;
}

static int config_string(struct builder_step *s, json_t *cfg, const char *name,
			 struct petra_error **err)
{
	_cleanup_free_ char *value = NULL;
	int r = expand(s, s->in->args[0].text, &value, err);
	if (r == 0) {
		json_object_set_new(cfg, name, json_string(value));
		builder_key_add(&s->key, value);
	}
	return r;
}

static void config_onbuild(struct builder_step *s, json_t *cfg)
{
	json_t *onbuild = json_object_get(cfg, "OnBuild");
	if (!json_is_array(onbuild)) {
		onbuild = json_array();
		json_object_set_new(cfg, "OnBuild", onbuild);
	}
	/* The trigger as written after ONBUILD. */
	const char *t = s->in->original + strlen("ONBUILD");
	while (isspace((unsigned char)*t))
		t++;
	json_array_append_new(onbuild, json_string(t));
}

/* Apply an instruction that only changes the config; the key gets what
 * it did. */
static int config_apply(struct builder_step *s, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	json_t *cfg = builder_state_runtime(s->state);
	int r = 0;
	switch (in->kind) {
	case DOCKERFILE_ARG:
		return config_arg(s, err);
	case DOCKERFILE_ENV:
		return config_env(s, cfg, err);
	case DOCKERFILE_LABEL:
		return config_label(s, cfg, err);
	case DOCKERFILE_EXPOSE:
		return config_expose(s, cfg, err);
	case DOCKERFILE_VOLUME:
		return config_volume(s, cfg, err);
	case DOCKERFILE_USER:
		return config_string(s, cfg, "User", err);
	case DOCKERFILE_STOPSIGNAL:
		return config_string(s, cfg, "StopSignal", err);
	case DOCKERFILE_CMD:
		json_object_set_new(cfg, "Cmd", command_of(s, 0));
		s->state->cmd_set = true;
		break;
	case DOCKERFILE_ENTRYPOINT:
		json_object_set_new(cfg, "Entrypoint", command_of(s, 0));
		/* An inherited CMD makes no sense with a new ENTRYPOINT. */
		if (!s->state->cmd_set)
			json_object_set_new(cfg, "Cmd", json_null());
		break;
	case DOCKERFILE_SHELL:
		/* Always JSON (the parser checks): the arguments as they are. */
		json_object_set_new(cfg, "Shell", command_of(s, 0));
		break;
	case DOCKERFILE_HEALTHCHECK:
		r = healthcheck(s, cfg, err);
		break;
	case DOCKERFILE_ONBUILD:
		config_onbuild(s, cfg);
		break;
	case DOCKERFILE_MAINTAINER:
		json_object_set_new(s->state->config, "author", json_string(in->args[0].text));
		break;
	default:
		break;
	}
	/* The rest is taken as written. */
	builder_key_add(&s->key, in->original);
	return r;
}

static int config_prepare(struct builder_step *s, struct petra_error **err)
{
	/* ARG changes the scope, not the image: no history entry. */
	s->no_history = s->in->kind == DOCKERFILE_ARG;
	return config_apply(s, err);
}

const struct builder_step_kind builder_kind_config = {
    .name = "config",
    .view = BUILDER_VIEW_NONE,
    .prepare = config_prepare,
};

/* ---- WORKDIR and VOLUME: their directories ---- */

static char *join_workdir(const char *old, const char *dir)
{
	_cleanup_free_ char *joined =
	    dir[0] == '/' ? xstrdup(dir) : xasprintf("%s/%s", old && *old ? old : "/", dir);
	_cleanup_free_ char *clean = context_clean_path(joined);
	return xasprintf("/%s", clean);
}

/* The volumes the step added, as absolute directories. */
static int volume_dirs(struct builder_step *s, struct strvec *dirs, struct petra_error **err)
{
	json_t *cfg = builder_state_runtime(s->state);
	json_t *before = json_deep_copy(json_object_get(cfg, "Volumes"));
	int r = config_apply(s, err);
	const char *path;
	json_t *v;
	json_object_foreach(json_object_get(cfg, "Volumes"), path, v)
	{
		if (json_object_get(before, path))
			continue;
		const char *wd = json_get_string(cfg, "WorkingDir");
		strvec_push_nodup(dirs, path[0] == '/' ? xstrdup(path) : join_workdir(wd, path));
	}
	json_decref(before);
	return r;
}

static int dirs_prepare(struct builder_step *s, struct petra_error **err)
{
	struct strvec *dirs = xcalloc(1, sizeof(*dirs));
	s->data = dirs;
	int r = 0;
	if (s->in->kind == DOCKERFILE_WORKDIR) {
		_cleanup_free_ char *dir = NULL;
		r = expand(s, s->in->args[0].text, &dir, err);
		if (r < 0)
			return r;
		json_t *cfg = builder_state_runtime(s->state);
		char *full = join_workdir(json_get_string(cfg, "WorkingDir"), dir);
		json_object_set_new(cfg, "WorkingDir", json_string(full));
		strvec_push_nodup(dirs, full);
	} else {
		r = volume_dirs(s, dirs, err);
	}
	if (r == 0 && !dirs->n)
		s->view = BUILDER_VIEW_NONE; /* nothing to make: only the config changed */
	for (size_t i = 0; r == 0 && i < dirs->n; i++)
		builder_key_add(&s->key, dirs->v[i]);
	return r;
}

static int dirs_apply(struct builder_step *s, struct builder_view *v, struct petra_error **err)
{
	const struct strvec *dirs = s->data;
	_cleanup_close_ int root = open(v->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return petra_error_set_errno(err, errno, "open %s", v->root);
	for (size_t i = 0; i < dirs->n; i++) {
		int r = builder_mkdir_in_root(root, dirs->v[i], 0, 0, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static void dirs_release(struct builder_step *s)
{
	struct strvec *dirs = s->data;
	if (dirs)
		strvec_clear(dirs);
	free(dirs);
	s->data = NULL;
}

const struct builder_step_kind builder_kind_dirs = {
    .name = "directories",
    .view = BUILDER_VIEW_MOUNTED,
    .prepare = dirs_prepare,
    .apply = dirs_apply,
    .release = dirs_release,
};
