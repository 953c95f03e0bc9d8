/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PL3xx: secrets. Whatever a Dockerfile writes is in version control;
 * whatever a layer holds stays in the image even if a later layer deletes
 * it; ARG values are in the history and ENV values in the config. Secrets
 * reach a build only through RUN --mount=type=secret.
 */
#include "internal.h"

#include <string.h>

/* The name part of an ARG word ("NAME=default") or ENV key. */
static size_t name_len(const char *word)
{
	return strcspn(word, "=");
}

static void check_declarations(struct lint_ctx *c, const struct dockerfile_instruction *in,
			       struct strset *declared)
{
	if (in->kind == DOCKERFILE_ARG) {
		for (size_t k = 0; k < in->n_args; k++) {
			const char *w = in->args[k].text;
			size_t n = name_len(w);
			_cleanup_free_ char *name = xstrndup(w, n);
			strset_add(declared, name);
			if (lint_secret_name(w, n))
				lint_report(
				    c, "PL301", in, &in->args[k],
				    "ARG %s looks like a secret: build arguments are recorded "
				    "in the image history; use RUN --mount=type=secret",
				    name);
		}
	} else if (in->kind == DOCKERFILE_ENV) {
		for (size_t k = 0; k + 1 < in->n_args; k += 3) {
			const char *key = in->args[k].text;
			strset_add(declared, key);
			const char *value = in->args[k + 1].text;
			bool empty = !*value || !strcmp(value, "\"\"") || !strcmp(value, "''");
			if (!empty && lint_secret_name(key, strlen(key)))
				lint_report(
				    c, "PL302", in, &in->args[k],
				    "ENV %s looks like a secret: its value is stored in the "
				    "image config for anyone who can pull it",
				    key);
		}
	}
}

static void check_credentials(struct lint_ctx *c, const struct dockerfile_instruction *in)
{
	const char *kind = lint_credential_in(c->l, in->original, strlen(in->original));
	for (size_t h = 0; !kind && h < in->n_heredocs; h++)
		kind =
		    lint_credential_in(c->l, in->heredocs[h].content, in->heredocs[h].content_len);
	if (kind)
		lint_report(c, "PL303", in, NULL,
			    "%s holds %s: it is now in version control and in the image; revoke it "
			    "and pass it with RUN --mount=type=secret",
			    dockerfile_kind_name(in->kind), kind);
}

/* A file that looks secret and where it landed, for PL305. */
struct written {
	char *path;
	unsigned line;
	const char *how;
};

struct written_set {
	struct written *v;
	size_t n, alloc;
};

static void written_add(struct written_set *w, const char *path, unsigned line, const char *how)
{
	xgrow((void **)&w->v, &w->alloc, w->n + 1, sizeof(*w->v));
	w->v[w->n++] = (struct written){xstrdup(path), line, how};
}

static void written_clear(struct written_set *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].path);
	free(w->v);
	memset(w, 0, sizeof(*w));
}

static const char *base_name(const char *p)
{
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	const char *b = p + n;
	while (b > p && b[-1] != '/')
		b--;
	return b;
}

static void check_copy(struct lint_ctx *c, const struct dockerfile_instruction *in,
		       const char *workdir, struct written_set *w)
{
	if (in->n_args < 2)
		return;
	const char *dest = in->args[in->n_args - 1].text;
	bool dir = in->n_args > 2 || dest[strlen(dest) - 1] == '/';
	for (size_t k = 0; k + 1 < in->n_args; k++) {
		const char *src = in->args[k].text;
		if (dockerfile_find_heredoc(in, src))
			continue;
		bool secret = lint_secret_path(src);
		if (secret)
			lint_report(c, "PL304", in, &in->args[k],
				    "%s %s puts a secret file into the image: use RUN "
				    "--mount=type=secret (and keep it out with .dockerignore)",
				    dockerfile_kind_name(in->kind), src);
		_cleanup_free_ char *target = NULL;
		if (dir) {
			_cleanup_free_ char *d = lint_path_resolve(workdir, dest);
			target = path_join(d, base_name(src));
		} else {
			target = lint_path_resolve(workdir, dest);
		}
		if (secret || lint_secret_path(target))
			written_add(w, target, in->start_line, dockerfile_kind_name(in->kind));
	}
}

/* Files a RUN writes: curl -o, wget -O, and > redirections. */
static void run_writes(const struct sh_script *s, const char *workdir, unsigned line,
		       struct written_set *w)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *cmd = &s->cmds[i];
		size_t first;
		const char *name = lint_sh_cmd_name(cmd, &first);
		for (size_t k = 0; k < cmd->n_outputs; k++) {
			if (!lint_secret_path(cmd->outputs[k]))
				continue;
			_cleanup_free_ char *p = lint_path_resolve(workdir, cmd->outputs[k]);
			written_add(w, p, line, "a redirection in RUN");
		}
		if (!name || (strcmp(name, "curl") && strcmp(name, "wget")))
			continue;
		bool wget = !strcmp(name, "wget");
		for (size_t a = first; a < cmd->argc; a++) {
			const char *arg = cmd->argv[a], *file = NULL;
			if ((!strcmp(arg, wget ? "-O" : "-o") || !strcmp(arg, "--output") ||
			     !strcmp(arg, "--output-document")) &&
			    a + 1 < cmd->argc)
				file = cmd->argv[++a];
			else if (!strncmp(arg, "--output-document=", 18))
				file = arg + 18;
			if (!file || !strcmp(file, "-") || !lint_secret_path(file))
				continue;
			_cleanup_free_ char *p = lint_path_resolve(workdir, file);
			written_add(w, p, line, wget ? "wget in RUN" : "curl in RUN");
		}
	}
}

static void run_deletes(struct lint_ctx *c, const struct dockerfile_instruction *in,
			const struct sh_script *s, const char *workdir, const struct written_set *w)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t first;
		const char *name = lint_sh_cmd_name(&s->cmds[i], &first);
		if (!name || (strcmp(name, "rm") && strcmp(name, "shred")))
			continue;
		for (size_t a = first; a < s->cmds[i].argc; a++) {
			const char *arg = s->cmds[i].argv[a];
			if (arg[0] == '-')
				continue;
			_cleanup_free_ char *p = lint_path_resolve(workdir, arg);
			for (size_t k = 0; k < w->n; k++) {
				if (w->v[k].line >= in->start_line ||
				    !lint_path_below(w->v[k].path, p))
					continue;
				lint_report(c, "PL305", in, NULL,
					    "%s %s deletes %s written on line %u (%s): the earlier "
					    "layer keeps it for good; use RUN --mount=type=secret "
					    "so it never lands in a layer",
					    name, arg, w->v[k].path, w->v[k].line, w->v[k].how);
				return;
			}
		}
	}
}

/* $NAME or ${NAME...} in text naming a secret-looking declared variable. */
static bool uses_secret(const char *text, size_t len, const struct strset *declared,
			const char *mount_envs, struct strbuf *name)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] != '$')
			continue;
		size_t j = i + 1 + (text[i + 1] == '{');
		size_t start = j;
		while (j < len &&
		       ((text[j] >= 'A' && text[j] <= 'Z') || (text[j] >= 'a' && text[j] <= 'z') ||
			(text[j] >= '0' && text[j] <= '9') || text[j] == '_'))
			j++;
		if (j == start || !lint_secret_name(text + start, j - start))
			continue;
		strbuf_reset(name);
		strbuf_add(name, text + start, j - start);
		if (!strset_contains(declared, name->buf))
			continue;
		/* a secret mount's env= provides it: that is the right way */
		_cleanup_free_ char *needle = xasprintf("env=%s", name->buf);
		if (mount_envs && strstr(mount_envs, needle))
			continue;
		return true;
	}
	return false;
}

static void check_secret_use(struct lint_ctx *c, const struct dockerfile_instruction *in,
			     const struct strset *declared)
{
	_cleanup_strbuf_ struct strbuf mounts = STRBUF_INIT;
	for (size_t k = 0; k < in->n_flags; k++)
		if (strstr(in->flags[k].text, "type=secret"))
			strbuf_addf(&mounts, "%s,", in->flags[k].text);
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT;
	bool found = false;
	for (size_t k = 0; k < in->n_args && !found; k++)
		found = uses_secret(in->args[k].text, in->args[k].len, declared, mounts.buf, &name);
	for (size_t h = 0; h < in->n_heredocs && !found; h++)
		found = uses_secret(in->heredocs[h].content, in->heredocs[h].content_len, declared,
				    mounts.buf, &name);
	if (found)
		lint_report(c, "PL306", in, NULL,
			    "RUN uses $%s from ARG/ENV: give it with RUN "
			    "--mount=type=secret,id=%s,env=%s instead, so it is in no layer, "
			    "history or config",
			    name.buf, name.buf, name.buf);
}

struct secrets_walk {
	const struct strset *declared;
	struct written_set written; /* of the current stage */
	size_t stage;
};

static void check_stage_instruction(struct lint_ctx *c, size_t stage, size_t index,
				    const char *workdir, void *arg)
{
	struct secrets_walk *sw = arg;
	const struct dockerfile_instruction *in = &c->df->instructions[index];
	if (stage != sw->stage) {
		written_clear(&sw->written); /* a stage starts from another image */
		sw->stage = stage;
	}
	if (in->kind == DOCKERFILE_COPY || in->kind == DOCKERFILE_ADD) {
		check_copy(c, in, workdir, &sw->written);
	} else if (in->kind == DOCKERFILE_RUN) {
		const struct sh_script *sc = lint_run_script(c, index);
		run_deletes(c, in, sc, workdir, &sw->written);
		run_writes(sc, workdir, in->start_line, &sw->written);
		check_secret_use(c, in, sw->declared);
	}
}

void lint_check_secrets(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	struct strset declared = STRSET_INIT;
	for (size_t i = 0; i < df->n_instructions; i++) {
		check_declarations(c, &df->instructions[i], &declared);
		check_credentials(c, &df->instructions[i]);
	}
	struct secrets_walk sw = {.declared = &declared};
	lint_walk(c, false, check_stage_instruction, &sw);
	written_clear(&sw.written);
	strset_clear(&declared);
}
