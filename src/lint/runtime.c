/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PL2xx: the runtime image must be immutable for the process that runs in
 * it: a non-root numeric USER, files that keep no host permissions and do
 * not belong to that user, and no VOLUME over the application or the
 * system. These look at the runtime stage and the stages it is built FROM.
 */
#include "internal.h"

#include <string.h>

/* The user part of "user[:group]" into buf. */
static void user_part(const char *spec, char *buf, size_t size)
{
	size_t n = strcspn(spec, ":");
	if (n >= size)
		n = size - 1;
	memcpy(buf, spec, n);
	buf[n] = '\0';
}

static bool is_root(const char *user)
{
	return !strcmp(user, "root") || strspn(user, "0") == strlen(user);
}

static bool numeric(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* Does a RUN after index `after` in the stage chmod something covering
 * dest (the normalisation PL204 accepts instead of --chmod)? */
static bool chmod_later(struct lint_ctx *c, size_t stage, size_t after, const char *dest)
{
	const struct dockerfile_stage *st = &c->df->stages[stage];
	for (size_t i = after + 1; i < st->end; i++) {
		if (c->df->instructions[i].kind != DOCKERFILE_RUN)
			continue;
		const struct sh_script *s = lint_run_script(c, i);
		for (size_t k = 0; k < s->n; k++) {
			size_t first;
			const char *name = lint_sh_cmd_name(&s->cmds[k], &first);
			if (!name || strcmp(name, "chmod"))
				continue;
			for (size_t a = first; a < s->cmds[k].argc; a++) {
				const char *p = s->cmds[k].argv[a];
				if (p[0] == '/' &&
				    (lint_path_below(dest, p) || lint_path_below(p, dest)))
					return true;
			}
		}
	}
	return false;
}

static void check_user(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	const struct stage_info *si = &c->stages[c->runtime];
	const struct dockerfile_stage *st = &df->stages[c->runtime];
	const struct dockerfile_instruction *from = &df->instructions[st->from];
	if (!si->user) {
		bool scratch = st->base && !strcasecmp(st->base->text, "scratch");
		lint_report(c, "PL201", from, NULL,
			    "the runtime stage never sets USER: the container runs as %s (add "
			    "USER 10001:10001 or another non-root UID)",
			    scratch ? "root (uid 0, FROM scratch)"
				    : "the base image's user, root unless the base sets one");
		return;
	}
	if (strchr(si->user, '$'))
		return;
	char user[256];
	user_part(si->user, user, sizeof(user));
	if (is_root(user)) {
		lint_report(c, "PL202", si->user_in, &si->user_in->args[0],
			    "the runtime stage runs as root (USER %s): a compromised process owns "
			    "the container; use a non-root UID",
			    si->user);
		return;
	}
	if (!numeric(user))
		lint_report(c, "PL203", si->user_in, &si->user_in->args[0],
			    "USER %s is a name: a runtime cannot tell it is not root without "
			    "reading /etc/passwd (runAsNonRoot needs a UID; use USER 10001:10001)",
			    si->user);
}

static bool chown_to_runtime_user(const char *owner, const char *runtime_user)
{
	char a[256], b[256];
	user_part(owner, a, sizeof(a));
	user_part(runtime_user, b, sizeof(b));
	return *a && !strcmp(a, b) && !is_root(b);
}

static void check_chown_run(struct lint_ctx *c, const struct dockerfile_instruction *in,
			    size_t index, const char *runtime_user)
{
	const struct sh_script *sc = lint_run_script(c, index);
	for (size_t k = 0; k < sc->n; k++) {
		size_t first;
		const char *name = lint_sh_cmd_name(&sc->cmds[k], &first);
		if (!name || strcmp(name, "chown"))
			continue;
		for (size_t a = first; a < sc->cmds[k].argc; a++) {
			const char *o = sc->cmds[k].argv[a];
			if (o[0] == '-')
				continue;
			if (chown_to_runtime_user(o, runtime_user))
				lint_report(
				    c, "PL205", in, NULL,
				    "chown %s gives files to the user the container runs as: "
				    "the process can change them (keep them root-owned)",
				    o);
			break;
		}
	}
}

/* PL204 and PL205 for one instruction of a runtime stage. */
static void check_file(struct lint_ctx *c, size_t stage, size_t index, const char *workdir,
		       void *arg)
{
	(void)arg;
	const struct dockerfile_instruction *in = &c->df->instructions[index];
	const char *runtime_user = c->stages[c->runtime].user;
	if (runtime_user && strchr(runtime_user, '$'))
		runtime_user = NULL;
	if (in->kind == DOCKERFILE_RUN && runtime_user) {
		check_chown_run(c, in, index, runtime_user);
		return;
	}
	if ((in->kind != DOCKERFILE_COPY && in->kind != DOCKERFILE_ADD) || in->n_args < 2)
		return;
	const char *chown = dockerfile_flag(in, "chown");
	if (chown && runtime_user && chown_to_runtime_user(chown, runtime_user))
		lint_report(c, "PL205", in, NULL,
			    "%s --chown=%s gives the files to the user the container runs as (%s): "
			    "the process can change its own code and configuration (leave them "
			    "root-owned)",
			    dockerfile_kind_name(in->kind), chown, runtime_user);
	if (dockerfile_flag(in, "chmod") || dockerfile_flag(in, "from"))
		return;
	/* heredocs come from the Dockerfile and URLs from a server: not the
	 * build host's modes */
	bool from_host = false;
	for (size_t k = 0; k + 1 < in->n_args; k++) {
		const char *src = in->args[k].text;
		if (!dockerfile_find_heredoc(in, src) && !strstr(src, "://"))
			from_host = true;
	}
	if (!from_host)
		return;
	_cleanup_free_ char *dest = lint_path_resolve(workdir, in->args[in->n_args - 1].text);
	if (dest[0] == '/' && chmod_later(c, stage, index, dest))
		return;
	lint_report(c, "PL204", in, NULL,
		    "%s into the runtime image keeps the modes the files have on the build host: "
		    "add --chmod (e.g. --chmod=0644, 0755 for directories and programs)",
		    dockerfile_kind_name(in->kind));
}

static bool system_path(const char *p)
{
	static const char *const sys[] = {"/",    "/bin", "/sbin", "/lib", "/lib32", "/lib64",
					  "/usr", "/etc", "/boot", "/opt", NULL};
	for (size_t i = 0; sys[i]; i++) {
		if (!strcmp(p, sys[i]))
			return true;
		if (i > 0 && strcmp(sys[i], "/opt") && lint_path_below(p, sys[i]))
			return true;
	}
	return false;
}

/* Where the application went (COPY/ADD destinations and WORKDIRs), and
 * where each came from, for PL206's message. */
struct app_paths {
	struct strvec paths;
	struct strvec origins;
};

static void check_volume(struct lint_ctx *c, const struct dockerfile_instruction *in,
			 const struct app_paths *app)
{
	for (size_t k = 0; k < in->n_args; k++) {
		const char *v = in->args[k].text;
		if (v[0] != '/' || strchr(v, '$'))
			continue;
		if (system_path(v)) {
			lint_report(c, "PL206", in, &in->args[k],
				    "VOLUME %s is a system directory: it becomes writable at run "
				    "time",
				    v);
			continue;
		}
		for (size_t a = 0; a < app->paths.n; a++) {
			const char *p = app->paths.v[a];
			if (lint_path_below(p, v) || lint_path_below(v, p)) {
				lint_report(c, "PL206", in, &in->args[k],
					    "VOLUME %s covers %s (%s): application files become "
					    "writable at run time",
					    v, p, app->origins.v[a]);
				break;
			}
		}
	}
}

static void track_volumes(struct lint_ctx *c, size_t stage, size_t index, const char *workdir,
			  void *arg)
{
	(void)stage;
	struct app_paths *app = arg;
	const struct dockerfile_instruction *in = &c->df->instructions[index];
	_cleanup_free_ char *path = NULL;
	if (in->kind == DOCKERFILE_WORKDIR && workdir)
		path = xstrdup(workdir);
	else if ((in->kind == DOCKERFILE_COPY || in->kind == DOCKERFILE_ADD) && in->n_args >= 2)
		path = lint_path_resolve(workdir, in->args[in->n_args - 1].text);
	else if (in->kind == DOCKERFILE_VOLUME)
		check_volume(c, in, app);
	if (path && path[0] == '/' && !strchr(path, '$')) {
		strvec_push(&app->paths, path);
		strvec_pushf(&app->origins, "%s on line %u", dockerfile_kind_name(in->kind),
			     in->start_line);
	}
}

void lint_check_runtime(struct lint_ctx *c)
{
	if (!c->df->n_stages)
		return;
	check_user(c);
	lint_walk(c, true, check_file, NULL);
	struct app_paths app = {STRVEC_INIT, STRVEC_INIT};
	lint_walk(c, true, track_volumes, &app);
	strvec_clear(&app.paths);
	strvec_clear(&app.origins);
}
