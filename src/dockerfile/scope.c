/* SPDX-License-Identifier: Apache-2.0 */
/* ARG and ENV scoping across a build's stages (see dockerfile.h for the
 * rules, which are BuildKit's). */
#include "internal.h"

void dockerfile_scope_init(struct dockerfile_scope *s, char escape,
			   const struct dockerfile_vars *build_args)
{
	memset(s, 0, sizeof(*s));
	s->escape = escape ? escape : '\\';
	s->build_args = dockerfile_vars_copy(build_args);
	s->globals = dockerfile_vars_new();
}

void dockerfile_scope_release(struct dockerfile_scope *s)
{
	dockerfile_vars_free(s->build_args);
	dockerfile_vars_free(s->globals);
	dockerfile_vars_free(s->env);
	dockerfile_vars_free(s->args);
	strset_clear(&s->used_build_args);
	memset(s, 0, sizeof(*s));
}

void dockerfile_scope_image_env(struct dockerfile_scope *s, const struct dockerfile_vars *image_env)
{
	if (!s->in_stage)
		return;
	for (size_t i = 0; i < dockerfile_vars_count(image_env); i++) {
		const char *value;
		const char *name = dockerfile_vars_at(image_env, i, &value);
		dockerfile_vars_set(s->env, name, value ? value : "");
	}
}

void dockerfile_scope_expander(const struct dockerfile_scope *s, enum dockerfile_kind kind,
			       struct dockerfile_expander *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->escape = s->escape;
	if (!s->in_stage || kind == DOCKERFILE_FROM) {
		ex->vars = s->globals;
	} else {
		/* ENV wins over ARG whatever their order. */
		ex->vars = s->env;
		ex->fallback = s->args;
	}
}

static int apply_arg(struct dockerfile_scope *s, const struct dockerfile_instruction *in,
		     struct petra_error **err)
{
	struct dockerfile_vars *target = s->in_stage ? s->args : s->globals;
	for (size_t i = 0; i < in->n_args; i++) {
		const char *word = in->args[i].text;
		const char *eq = strchr(word, '=');
		_cleanup_free_ char *key = eq ? xstrndup(word, (size_t)(eq - word)) : xstrdup(word);
		bool has_build_arg;
		const char *build_arg = dockerfile_vars_get(s->build_args, key, &has_build_arg);
		_cleanup_free_ char *value = NULL;
		if (has_build_arg) {
			strset_add(&s->used_build_args, key);
			value = xstrdup(build_arg ? build_arg : "");
		} else if (eq) {
			/* Defaults see what is visible here, and each ARG of one
			 * line sees those before it. */
			struct dockerfile_expander ex;
			dockerfile_scope_expander(s, DOCKERFILE_ARG, &ex);
			if (dockerfile_expand_word(&ex, eq + 1, &value, err) < 0)
				return -EINVAL;
		} else if (s->in_stage) {
			bool declared;
			const char *global = dockerfile_vars_get(s->globals, key, &declared);
			if (global)
				value = xstrdup(global);
		}
		bool known;
		const char *old = dockerfile_vars_get(target, key, &known);
		/* A bare re-declaration keeps an earlier value. */
		if (!value && known && old)
			continue;
		dockerfile_vars_set(target, key, value);
	}
	return 0;
}

static int apply_env(struct dockerfile_scope *s, const struct dockerfile_instruction *in,
		     struct petra_error **err)
{
	if (!s->in_stage)
		return 0;
	struct dockerfile_expander ex;
	dockerfile_scope_expander(s, DOCKERFILE_ENV, &ex);
	/* Every pair is expanded with the variables as they were before this
	 * instruction: "ENV a=1 b=$a" gives b the old a. */
	_cleanup_strvec_ struct strvec pairs = STRVEC_INIT;
	for (size_t i = 0; i + 1 < in->n_args; i += 3) {
		char *key, *value;
		if (dockerfile_expand_word(&ex, in->args[i].text, &key, err) < 0)
			return -EINVAL;
		if (dockerfile_expand_word(&ex, in->args[i + 1].text, &value, err) < 0) {
			free(key);
			return -EINVAL;
		}
		strvec_push_nodup(&pairs, key);
		strvec_push_nodup(&pairs, value);
	}
	for (size_t i = 0; i + 1 < pairs.n; i += 2)
		dockerfile_vars_set(s->env, pairs.v[i], pairs.v[i + 1]);
	return 0;
}

int dockerfile_scope_apply(struct dockerfile_scope *s, const struct dockerfile_instruction *in,
			   struct petra_error **err)
{
	int r = 0;
	switch (in->kind) {
	case DOCKERFILE_FROM:
		dockerfile_vars_free(s->env);
		dockerfile_vars_free(s->args);
		s->env = dockerfile_vars_new();
		s->args = dockerfile_vars_new();
		s->in_stage = true;
		break;
	case DOCKERFILE_ARG:
		r = apply_arg(s, in, err);
		break;
	case DOCKERFILE_ENV:
		r = apply_env(s, in, err);
		break;
	default:
		break;
	}
	if (r < 0)
		petra_error_prefix(err, "line %u: %s", in->start_line,
				   dockerfile_kind_name(in->kind));
	return r;
}
