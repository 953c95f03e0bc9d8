/* SPDX-License-Identifier: Apache-2.0 */
/* PL1xx: the hygiene rules users know from hadolint, over every stage. */
#include "internal.h"

#include <string.h>
#include <strings.h>

/* The first non-option argument from `from` on (apt-get's subcommand);
 * options that take a value (-o X, -t X, -c X) are skipped with it. */
static size_t subcommand(const struct sh_cmd *cmd, size_t from)
{
	for (size_t i = from; i < cmd->argc; i++) {
		const char *a = cmd->argv[i];
		if (a[0] != '-')
			return i;
		if (!strcmp(a, "-o") || !strcmp(a, "-t") || !strcmp(a, "-c"))
			i++;
	}
	return cmd->argc;
}

static bool quiet_twice(const struct sh_cmd *cmd, size_t from)
{
	unsigned q = 0;
	for (size_t i = from; i < cmd->argc; i++) {
		const char *a = cmd->argv[i];
		if (!strcmp(a, "-q=2") || !strcmp(a, "--quiet=2"))
			return true;
		if (a[0] == '-' && a[1] != '-')
			for (const char *p = a + 1; *p; p++)
				q += *p == 'q';
	}
	return q >= 2;
}

static bool option_value(const struct sh_cmd *cmd, size_t from, const char *needle)
{
	for (size_t i = from; i < cmd->argc; i++)
		if (strstr(cmd->argv[i], needle))
			return true;
	return false;
}

/* Packages named without a version, as "a, b, c" (at most three named). */
struct unpinned {
	struct strbuf names;
	unsigned count;
};

static void unpinned_add(struct unpinned *u, const char *pkg)
{
	if (u->count++ < 3)
		strbuf_addf(&u->names, "%s%s", u->names.len ? ", " : "", pkg);
}

static bool takes_value(const char *opt, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(opt, list[i]))
			return true;
	return false;
}

/* Collect the unpinned packages of one install command; returns the
 * example spelling of a pinned package for the message, NULL if the
 * command installs nothing. */
static const char *check_pins(const char *name, const struct sh_cmd *cmd, size_t first,
			      struct unpinned *u)
{
	static const char *const apt_values[] = {"-o", "-t", "-c", "--target-release", NULL};
	static const char *const apk_values[] = {"-t", "--virtual", "-X", "--repository",
						 "-p", "--root",    NULL};
	static const char *const pip_values[] = {"-r",
						 "-c",
						 "-e",
						 "-i",
						 "--index-url",
						 "--extra-index-url",
						 "-f",
						 "--find-links",
						 "--target",
						 "-t",
						 "--prefix",
						 "--root",
						 "--requirement",
						 "--constraint",
						 NULL};
	size_t sub = subcommand(cmd, first);
	if (sub >= cmd->argc)
		return NULL;
	const char *verb = cmd->argv[sub];
	const char *const *values;
	const char *example;
	if (!strcmp(name, "apt-get") || !strcmp(name, "apt")) {
		if (strcmp(verb, "install"))
			return NULL;
		values = apt_values;
		example = "curl=7.88.1-10+deb12u5";
	} else if (!strcmp(name, "apk")) {
		if (strcmp(verb, "add"))
			return NULL;
		values = apk_values;
		example = "curl=8.5.0-r0";
	} else if (!strncmp(name, "pip", 3)) {
		if (strcmp(verb, "install"))
			return NULL;
		values = pip_values;
		example = "requests==2.31.0";
	} else if (!strcmp(name, "npm")) {
		if (strcmp(verb, "install") && strcmp(verb, "i") && strcmp(verb, "add"))
			return NULL;
		values = apt_values;
		example = "express@4.19.2";
	} else if (!strcmp(name, "gem")) {
		if (strcmp(verb, "install") || lint_sh_has_option(cmd, sub, "-v") ||
		    lint_sh_has_option(cmd, sub, "--version"))
			return NULL;
		values = apt_values;
		example = "rails:7.1.3";
	} else {
		return NULL;
	}
	for (size_t i = sub + 1; i < cmd->argc; i++) {
		const char *a = cmd->argv[i];
		if (a[0] == '-') {
			if (takes_value(a, values))
				i++;
			continue;
		}
		/* paths and URLs are not package names; "@scope/name" is npm's */
		bool path = strchr(a, '/') && !(a[0] == '@' && !strcmp(name, "npm"));
		if (strchr(a, '$') || path || a[0] == '.' || a[0] == '~' || strstr(a, ".deb") ||
		    strstr(a, ".whl") || strstr(a, ".tar") || strstr(a, ".tgz"))
			continue;
		bool pinned;
		if (!strcmp(name, "npm")) {
			const char *at = strchr(a + (a[0] == '@'), '@');
			pinned = at != NULL;
		} else if (!strcmp(name, "gem")) {
			pinned = strchr(a, ':') != NULL;
		} else if (!strncmp(name, "pip", 3)) {
			pinned = strpbrk(a, "=<>~!@") != NULL;
		} else {
			pinned = strchr(a, '=') != NULL;
		}
		if (!pinned)
			unpinned_add(u, a);
	}
	return example;
}

static bool removes_apt_lists(const struct sh_script *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *name = lint_sh_cmd_name(&s->cmds[i], NULL);
		if (!name || strcmp(name, "rm"))
			continue;
		for (size_t k = 1; k < s->cmds[i].argc; k++)
			if (!strncmp(s->cmds[i].argv[k], "/var/lib/apt/lists", 18))
				return true;
	}
	return false;
}

static bool caches_apt(const struct dockerfile_instruction *in)
{
	for (size_t k = 0; k < in->n_flags; k++) {
		const char *f = in->flags[k].text;
		if (!strncmp(f, "--mount=", 8) && strstr(f, "type=cache") &&
		    strstr(f, "/var/lib/apt"))
			return true;
	}
	return false;
}

static void check_apt(struct lint_ctx *c, const struct dockerfile_instruction *in,
		      const struct sh_script *s)
{
	bool installs = false;
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *cmd = &s->cmds[i];
		size_t first;
		const char *name = lint_sh_cmd_name(cmd, &first);
		if (!name || strcmp(name, "apt-get"))
			continue;
		size_t sub = subcommand(cmd, first);
		if (sub >= cmd->argc || strcmp(cmd->argv[sub], "install"))
			continue;
		installs = true;
		if (!lint_sh_has_option(cmd, first, "-y") &&
		    !lint_sh_has_option(cmd, first, "--yes") &&
		    !lint_sh_has_option(cmd, first, "--assume-yes") && !quiet_twice(cmd, first))
			lint_report(c, "PL106", in, NULL,
				    "apt-get install without -y stops the build at a prompt");
		if (!lint_sh_has_option(cmd, first, "--no-install-recommends") &&
		    !option_value(cmd, first, "Install-Recommends=false") &&
		    !option_value(cmd, first, "Install-Recommends=0"))
			lint_report(c, "PL107", in, NULL,
				    "apt-get install without --no-install-recommends also installs "
				    "recommended packages");
	}
	if (installs && !removes_apt_lists(s) && !caches_apt(in))
		lint_report(c, "PL108", in, NULL,
			    "apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN "
			    "keeps the package lists in the layer");
}

static void check_pinning(struct lint_ctx *c, const struct dockerfile_instruction *in,
			  const struct sh_script *s)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t first;
		const char *name = lint_sh_cmd_name(&s->cmds[i], &first);
		if (!name)
			continue;
		/* python -m pip install */
		if (!strncmp(name, "python", 6) && first + 1 < s->cmds[i].argc &&
		    !strcmp(s->cmds[i].argv[first], "-m") &&
		    !strncmp(s->cmds[i].argv[first + 1], "pip", 3)) {
			name = "pip";
			first += 2;
		}
		struct unpinned u = {STRBUF_INIT, 0};
		const char *example = check_pins(name, &s->cmds[i], first, &u);
		if (example && u.count)
			lint_report(c, "PL109", in, NULL,
				    "%s installs %s%s without a version: pin them (%s)", name,
				    u.names.buf, u.count > 3 ? ", ..." : "", example);
		strbuf_release(&u.names);
	}
}

static void check_pipes(struct lint_ctx *c, const struct dockerfile_instruction *in,
			const struct sh_script *s, size_t stage, size_t index)
{
	if (in->json)
		return;
	struct lint_shell si = lint_shell_at(c, stage, index);
	if (!si.posix || si.pipefail)
		return;
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *cmd = &s->cmds[i];
		const char *name = lint_sh_cmd_name(cmd, NULL);
		if (name && !strcmp(name, "set") && option_value(cmd, 1, "pipefail"))
			return;
		if (cmd->op == SH_PIPE && !cmd->substituted) {
			lint_report(c, "PL116", in, NULL,
				    "a pipe without -o pipefail: a failure before the last command "
				    "goes unnoticed (set -o pipefail, or SHELL [\"/bin/bash\", "
				    "\"-o\", \"pipefail\", \"-c\"])");
			return;
		}
	}
}

static void check_run(struct lint_ctx *c, size_t index, size_t stage)
{
	const struct dockerfile_instruction *in = &c->df->instructions[index];
	const struct sh_script *s = lint_run_script(c, index);
	bool cd = false, sudo = false;
	for (size_t i = 0; i < s->n; i++) {
		const struct sh_cmd *cmd = &s->cmds[i];
		if (!cmd->argc || cmd->substituted)
			continue;
		const char *base = strrchr(cmd->argv[0], '/');
		base = base ? base + 1 : cmd->argv[0];
		if (!strcmp(base, "cd") && !cd) {
			cd = true;
			lint_report(c, "PL102", in, NULL,
				    "cd in RUN: use WORKDIR to change directories");
		}
		if (!strcmp(base, "sudo") && !sudo) {
			sudo = true;
			lint_report(c, "PL103", in, NULL,
				    "sudo in RUN: builds run as root already; use USER to switch");
		}
	}
	check_apt(c, in, s);
	check_pinning(c, in, s);
	check_pipes(c, in, s, stage, index);
}

static bool is_archive(const char *s)
{
	static const char *const ext[] = {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2",
					  ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst",
					  ".gz",  ".bz2",    ".xz",  NULL};
	size_t n = strlen(s);
	for (size_t i = 0; ext[i]; i++) {
		size_t m = strlen(ext[i]);
		if (n > m && !strcasecmp(s + n - m, ext[i]))
			return true;
	}
	return false;
}

static void check_add(struct lint_ctx *c, const struct dockerfile_instruction *in)
{
	for (size_t k = 0; k + 1 < in->n_args; k++) {
		const char *src = in->args[k].text;
		if (lint_is_remote(src) || is_archive(src) || dockerfile_find_heredoc(in, src) ||
		    strchr(src, '$'))
			continue;
		lint_report(c, "PL110", in, &in->args[k],
			    "ADD of local \"%s\": use COPY (ADD also fetches URLs and unpacks "
			    "archives, which COPY makes explicit)",
			    src);
		return;
	}
}

static void check_copy_from(struct lint_ctx *c, const struct dockerfile_instruction *in,
			    size_t stage)
{
	const struct dockerfile *df = c->df;
	const char *from = dockerfile_flag(in, "from");
	if (!from || !*from || strchr(from, '$'))
		return;
	const struct dockerfile_stage *self = &df->stages[stage];
	if (strspn(from, "0123456789") == strlen(from)) {
		unsigned long idx = strtoul(from, NULL, 10);
		if (idx >= stage)
			lint_report(c, "PL111", in, NULL,
				    "COPY --from=%s names %s: only earlier stages can be copied "
				    "from",
				    from, idx == stage ? "its own stage" : "a stage not built yet");
		return;
	}
	if (self->name && !strcasecmp(self->name, from)) {
		lint_report(c, "PL111", in, NULL,
			    "COPY --from=%s names its own stage: only earlier stages can be copied "
			    "from",
			    from);
		return;
	}
	size_t s;
	if (lint_names_later_stage(c, from, stage, &s))
		lint_report(c, "PL111", in, NULL,
			    "COPY --from=%s names a later stage (line %u): it would be "
			    "pulled as an image, not built",
			    from, df->instructions[df->stages[s].from].start_line);
}

static bool port_number(const char *s, size_t n, unsigned long *out)
{
	if (!n || n > 5 || strspn(s, "0123456789") < n)
		return false;
	*out = strtoul(s, NULL, 10);
	return *out <= 65535;
}

static void check_expose(struct lint_ctx *c, const struct dockerfile_instruction *in)
{
	for (size_t k = 0; k < in->n_args; k++) {
		const char *p = in->args[k].text;
		if (strchr(p, '$'))
			continue;
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		const char *dash = memchr(p, '-', n);
		unsigned long lo, hi;
		bool ok;
		if (dash)
			ok = port_number(p, (size_t)(dash - p), &lo) &&
			     port_number(dash + 1, n - (size_t)(dash - p) - 1, &hi) && lo <= hi;
		else
			ok = port_number(p, n, &lo);
		if (ok && slash)
			ok = !strcasecmp(slash + 1, "tcp") || !strcasecmp(slash + 1, "udp") ||
			     !strcasecmp(slash + 1, "sctp");
		if (!ok)
			lint_report(c, "PL118", in, &in->args[k],
				    "EXPOSE %s: not a port (0-65535, a range, /tcp, /udp or /sctp)",
				    p);
	}
}

static void check_workdir(struct lint_ctx *c, const struct dockerfile_instruction *in)
{
	if (!in->n_args)
		return;
	const char *p = in->args[0].text;
	if (p[0] == '"' || p[0] == '\'')
		p++;
	bool windows =
	    ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':';
	if (p[0] != '/' && p[0] != '$' && p[0] != '\\' && !windows)
		lint_report(c, "PL101", in, &in->args[0],
			    "WORKDIR %s is relative: it depends on every WORKDIR before it (use an "
			    "absolute path)",
			    in->args[0].text);
}

/* Flags of an instruction as one string, to tell RUNs that can merge. */
static void flags_of(const struct dockerfile_instruction *in, struct strbuf *sb)
{
	strbuf_reset(sb);
	for (size_t k = 0; k < in->n_flags; k++)
		strbuf_addf(sb, "%s\n", in->flags[k].text);
}

static void check_stage_once(struct lint_ctx *c, size_t stage)
{
	const struct dockerfile *df = c->df;
	const struct dockerfile_stage *st = &df->stages[stage];
	/* PL114: the ineffective ones are all but the last of each kind */
	static const enum dockerfile_kind once[] = {DOCKERFILE_CMD, DOCKERFILE_ENTRYPOINT,
						    DOCKERFILE_HEALTHCHECK};
	for (size_t k = 0; k < ARRAY_SIZE(once); k++) {
		const struct dockerfile_instruction *last = NULL;
		for (size_t i = st->end; i-- > st->from + 1;) {
			const struct dockerfile_instruction *in = &df->instructions[i];
			if (in->kind != once[k])
				continue;
			if (last)
				lint_report(c, "PL114", in, NULL,
					    "%s is overridden by the one on line %u: only the last "
					    "takes effect",
					    dockerfile_kind_name(in->kind), last->start_line);
			else
				last = in;
		}
	}
	/* PL117 */
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	for (size_t i = st->from + 2; i < st->end; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		const struct dockerfile_instruction *prev = &df->instructions[i - 1];
		if (in->kind != DOCKERFILE_RUN || prev->kind != DOCKERFILE_RUN)
			continue;
		flags_of(in, &a);
		flags_of(prev, &b);
		if (!strcmp(strbuf_str(&a), strbuf_str(&b)))
			lint_report(
			    c, "PL117", in, NULL,
			    "RUN right after the RUN on line %u: merge them with && to make "
			    "one layer",
			    prev->start_line);
	}
	strbuf_release(&a);
	strbuf_release(&b);
}

void lint_check_hygiene(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	for (size_t s = 0; s < df->n_stages; s++) {
		const struct dockerfile_stage *st = &df->stages[s];
		size_t t;
		if (st->name && lint_names_stage(c, st->name, s, &t)) {
			const struct dockerfile_instruction *from = &df->instructions[st->from];
			lint_report(c, "PL112", from,
				    from->n_args >= 3 ? &from->args[from->n_args - 1] : NULL,
				    "stage name \"%s\" is already used on line %u", st->name,
				    df->instructions[df->stages[t].from].start_line);
		}
		check_stage_once(c, s);
		for (size_t i = st->from + 1; i < st->end; i++) {
			const struct dockerfile_instruction *in = &df->instructions[i];
			switch (in->kind) {
			case DOCKERFILE_WORKDIR:
				check_workdir(c, in);
				break;
			case DOCKERFILE_RUN:
				check_run(c, i, s);
				break;
			case DOCKERFILE_ADD:
				check_add(c, in);
				break;
			case DOCKERFILE_COPY:
				check_copy_from(c, in, s);
				break;
			case DOCKERFILE_CMD:
			case DOCKERFILE_ENTRYPOINT:
				if (!in->json && in->n_args)
					lint_report(
					    c, "PL113", in, NULL,
					    "%s in shell form runs under /bin/sh -c: the "
					    "process does not get signals (use the JSON form)",
					    dockerfile_kind_name(in->kind));
				break;
			case DOCKERFILE_MAINTAINER:
				lint_report(c, "PL115", in, NULL,
					    "MAINTAINER is deprecated: use LABEL "
					    "org.opencontainers.image.authors=\"...\"");
				break;
			case DOCKERFILE_EXPOSE:
				check_expose(c, in);
				break;
			default:
				break;
			}
		}
	}
}
