/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PL104, PL105 and PL4xx: what comes into the image from outside. Every
 * image a build pulls (FROM, COPY --from=image, RUN --mount=from=image) is
 * held to the policy's catalog and the trusted registries; downloads must
 * be verified and never piped into a shell; package managers install what
 * was asked, not "everything newer".
 */
#include "internal.h"

#include <string.h>
#include <strings.h>

static void check_image(struct lint_ctx *c, const struct dockerfile_instruction *in,
			const struct dockerfile_word *word, const char *text, bool from_line)
{
	const struct lint_options *o = &c->l->opts;
	_cleanup_free_ char *expanded = lint_expand_global(c, text);
	if (!expanded)
		return; /* an ARG without default: known only at build time */
	struct policy_ref ref;
	struct petra_error *err = NULL;
	if (policy_ref_parse(expanded, &ref, &err) < 0) {
		petra_error_free(err);
		return; /* BuildKit refuses it; nothing more to say about its origin */
	}
	_cleanup_free_ char *name = policy_ref_format(&ref, 0);
	if (from_line && !ref.tag && !ref.digest)
		lint_report(c, "PL104", in, word,
			    "FROM %s has no tag: it builds on whatever :latest is that day (name a "
			    "version, and pin the digest)",
			    expanded);
	if (from_line && ref.tag && !strcmp(ref.tag, "latest") && !ref.digest)
		lint_report(c, "PL105", in, word,
			    "FROM %s: :latest moves; name a version (and pin the digest)",
			    expanded);
	if (!ref.digest)
		lint_report(
		    c, "PL406", in, word,
		    "%s is not pinned by digest: the same Dockerfile can build on different "
		    "images (add @sha256:..., or let petra rebase pin it)",
		    expanded);
	const struct lint_config *cfg = o->config;
	if (cfg && cfg->trusted_registries.n) {
		bool trusted = false;
		for (size_t i = 0; i < cfg->trusted_registries.n; i++)
			if (!strcmp(cfg->trusted_registries.v[i], ref.domain))
				trusted = true;
		if (!trusted)
			lint_report(c, "PL407", in, word,
				    "%s comes from %s, which is not a trusted registry (%s)",
				    expanded, ref.domain, cfg->path ? cfg->path : "the config");
	}
	if (o->policy) {
		struct policy_base_verdict v;
		const char *policy_path = petra_policy_path(o->policy);
		if (petra_policy_check_base(o->policy, expanded, NULL, &v, &err) < 0) {
			petra_error_free(err);
		} else if (v.status == POLICY_BASE_BANNED) {
			lint_report(c, "PL405", in, word, "%s is banned by %s:%u (%s): %s",
				    expanded, policy_path, v.line, v.entry, v.reason);
		} else if (v.status == POLICY_BASE_NOT_APPROVED) {
			lint_report(c, "PL404", in, word,
				    "%s (%s) is not in the catalog of approved bases in %s",
				    expanded, name, policy_path);
		}
		struct policy_rewrite_result rw;
		if (petra_policy_rewrite_base(o->policy, expanded, &rw, &err) < 0) {
			petra_error_free(err);
		} else if (rw.ref) {
			const struct policy_rewrite *rule = rw.steps[0].rule;
			lint_report(c, "PL408", in, word,
				    "the policy rewrites %s to %s (rule \"%s\": %s%s): run petra "
				    "rebase",
				    expanded, rw.ref, rule->id, rule->reason,
				    rw.n_steps > 1 ? ", and more" : "");
			policy_rewrite_result_release(&rw);
		}
	}
	policy_ref_release(&ref);
}

static void check_images(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	for (size_t s = 0; s < df->n_stages; s++) {
		const struct dockerfile_stage *st = &df->stages[s];
		const struct dockerfile_instruction *from = &df->instructions[st->from];
		if (st->base && strcasecmp(st->base->text, "scratch") &&
		    !lint_names_stage(c, st->base->text, s, NULL))
			check_image(c, from, st->base, st->base->text, true);
		for (size_t i = st->from + 1; i < st->end; i++) {
			const struct dockerfile_instruction *in = &df->instructions[i];
			const char *image = NULL;
			const struct dockerfile_word *word = NULL;
			struct dockerfile_mount m = {0};
			if (in->kind == DOCKERFILE_COPY) {
				image = dockerfile_flag(in, "from");
			} else if (in->kind == DOCKERFILE_RUN) {
				for (size_t k = 0; k < in->n_flags && !image; k++) {
					const char *f = in->flags[k].text;
					struct petra_error *err = NULL;
					if (strncmp(f, "--mount=", 8) || !strstr(f, "from="))
						continue;
					if (dockerfile_mount_parse(f + 8, &m, &err) < 0) {
						petra_error_free(err);
						continue;
					}
					image = m.from;
					word = &in->flags[k];
				}
			}
			/* any stage's name (an earlier one, or PL111's mistakes) is no image */
			if (image && *image && !lint_names_stage(c, image, df->n_stages, NULL) &&
			    strspn(image, "0123456789") != strlen(image))
				check_image(c, in, word, image, false);
			dockerfile_mount_release(&m);
		}
	}
}

static bool shell_name(const char *name)
{
	static const char *const shells[] = {"sh",   "bash",   "zsh",     "dash", "ash",
					     "ksh",  "python", "python3", "perl", "ruby",
					     "node", "php",    NULL};
	for (size_t i = 0; shells[i]; i++)
		if (!strcmp(name, shells[i]))
			return true;
	return false;
}

static bool downloader(const char *name)
{
	return !strcmp(name, "curl") || !strcmp(name, "wget") || !strcmp(name, "fetch");
}

static void check_pipe_to_shell(struct lint_ctx *c, const struct dockerfile_instruction *in,
				const struct sh_script *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *cmd = &s->cmds[i];
		const char *name = lint_sh_cmd_name(cmd, NULL);
		if (!name)
			continue;
		if (downloader(name) && cmd->op == SH_PIPE && i + 1 < s->n) {
			const char *next = lint_sh_cmd_name(&s->cmds[i + 1], NULL);
			if (next && shell_name(next)) {
				lint_report(
				    c, "PL402", in, NULL,
				    "%s output piped into %s runs whatever the server sends: "
				    "download, verify a checksum or signature, then run",
				    name, next);
				return;
			}
		}
		if (shell_name(name) && !cmd->substituted) {
			for (size_t k = 1; k < cmd->argc; k++) {
				const char *a = cmd->argv[k];
				if (strstr(a, "$(curl") || strstr(a, "$(wget") ||
				    strstr(a, "<(curl") || strstr(a, "<(wget") ||
				    strstr(a, "`curl") || strstr(a, "`wget")) {
					lint_report(c, "PL402", in, NULL,
						    "%s runs a script straight from a download: "
						    "download, verify, then run",
						    name);
					return;
				}
			}
		}
	}
}

/* The first non-option argument, and whether any follows it. */
static const char *verb_of(const struct sh_cmd *cmd, size_t first, bool *more)
{
	for (size_t i = first; i < cmd->argc; i++) {
		if (cmd->argv[i][0] == '-')
			continue;
		*more = false;
		for (size_t k = i + 1; k < cmd->argc; k++)
			if (cmd->argv[k][0] != '-')
				*more = true;
		return cmd->argv[i];
	}
	return NULL;
}

static void check_upgrades(struct lint_ctx *c, const struct dockerfile_instruction *in,
			   const struct sh_script *s)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t first;
		const struct sh_cmd *cmd = &s->cmds[i];
		const char *name = lint_sh_cmd_name(cmd, &first);
		if (!name)
			continue;
		bool more = false;
		const char *verb = verb_of(cmd, first, &more);
		bool upgrade = false;
		if (!strcmp(name, "apt-get") || !strcmp(name, "apt"))
			upgrade =
			    verb && (!strcmp(verb, "upgrade") || !strcmp(verb, "dist-upgrade") ||
				     !strcmp(verb, "full-upgrade"));
		else if (!strcmp(name, "apk"))
			upgrade = verb && !strcmp(verb, "upgrade");
		else if (!strcmp(name, "yum") || !strcmp(name, "dnf") || !strcmp(name, "microdnf"))
			upgrade =
			    verb && (!strcmp(verb, "update") || !strcmp(verb, "upgrade")) && !more;
		else if (!strcmp(name, "zypper"))
			upgrade = verb && (!strcmp(verb, "up") || !strcmp(verb, "update") ||
					   !strcmp(verb, "dup") || !strcmp(verb, "dist-upgrade"));
		else if (!strcmp(name, "pacman"))
			upgrade = lint_sh_has_option(cmd, first, "-u") &&
				  (lint_sh_has_option(cmd, first, "-S") ||
				   lint_sh_has_option(cmd, first, "-Syu"));
		if (upgrade) {
			lint_report(c, "PL403", in, NULL,
				    "%s %s upgrades whatever is newer on the day of the build: the "
				    "image is not repeatable (rebuild on a patched base instead)",
				    name, verb ? verb : "");
			return;
		}
	}
}

void lint_check_supply(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	check_images(c);
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		if (in->stage == DOCKERFILE_GLOBAL)
			continue;
		if (in->kind == DOCKERFILE_ADD && !dockerfile_flag(in, "checksum")) {
			for (size_t k = 0; k + 1 < in->n_args; k++)
				if (lint_is_remote(in->args[k].text)) {
					lint_report(
					    c, "PL401", in, &in->args[k],
					    "ADD %s downloads without verifying: add "
					    "--checksum=sha256:... (or download and verify in "
					    "RUN)",
					    in->args[k].text);
					break;
				}
		} else if (in->kind == DOCKERFILE_RUN) {
			const struct sh_script *s = lint_run_script(c, i);
			check_pipe_to_shell(c, in, s);
			check_upgrades(c, in, s);
		}
	}
}
