/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rule engine: what is prepared once per linter (severities with the
 * config applied, the credential patterns compiled with PCRE2's JIT), and
 * per file the context the rule families share: the runtime stage and its
 * FROM chain, the USER of every stage, pragmas, global ARGs for FROM
 * lines, and RUN commands split once.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <pcre2.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(((struct lint_linter *)0)->severity) /
		       sizeof(((struct lint_linter *)0)->severity[0]) >=
		   64,
	       "room for every rule");

/* Credentials that have a recognisable shape. Group order = kind order. */
static const char credential_re[] =
    "(\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b)"
    "|(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----)"
    "|(\\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}))"
    "|(\\bglpat-[A-Za-z0-9_-]{20,})"
    "|(\\bxox[abprs]-[A-Za-z0-9-]{10,})"
    "|(\\b[rs]k_live_[A-Za-z0-9]{16,})"
    "|(\\bAIza[0-9A-Za-z_-]{35})"
    "|(\\bnpm_[A-Za-z0-9]{36})"
    "|(\\b[a-z][a-z0-9+.-]*://[^/\\s:@$]+:[^/\\s@${}]{3,}@)"
    "|(\\beyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,})";
static const char *const credential_kinds[] = {
    "an AWS access key ID", "a private key",     "a GitHub token",   "a GitLab token",
    "a Slack token",        "a Stripe live key", "a Google API key", "an npm token",
    "a password in a URL",  "a JSON Web Token",
};

int lint_new(const struct lint_options *opts, struct lint_linter **out, struct petra_error **err)
{
	*out = NULL;
	struct lint_linter *l = xcalloc(1, sizeof(*l));
	l->opts = *opts;
	size_t n;
	const struct lint_rule *rules = lint_rules(&n);
	for (size_t i = 0; i < n; i++)
		l->severity[i] = rules[i].severity;
	const struct policy_bases *bases = opts->policy ? petra_policy_bases(opts->policy) : NULL;
	if (bases && bases->require_digest)
		l->severity[lint_rule_index("PL406")] = LINT_ERROR;
	const struct lint_config *cfg = opts->config;
	for (size_t i = 0; cfg && i < cfg->n_overrides; i++) {
		size_t k = lint_rule_index(cfg->overrides[i].rule);
		if (k != (size_t)-1)
			l->severity[k] = cfg->overrides[i].severity;
	}
	for (size_t i = 0; cfg && i < cfg->ignore.n; i++) {
		size_t k = lint_rule_index(cfg->ignore.v[i]);
		if (k != (size_t)-1)
			l->severity[k] = LINT_OFF;
	}
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)credential_re, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &offset, NULL);
	if (!re) {
		free(l);
		return petra_error_set(err, EINVAL, "credential patterns: PCRE2 error %d at %zu",
				       code, (size_t)offset);
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
	l->secret_re = re;
	l->secret_md = pcre2_match_data_create_from_pattern(re, NULL);
	if (opts->shellcheck)
		l->shellcheck =
		    lint_find_program(opts->shellcheck_path ? opts->shellcheck_path : "shellcheck");
	*out = l;
	return 0;
}

void lint_free(struct lint_linter *l)
{
	if (!l)
		return;
	pcre2_match_data_free(l->secret_md);
	pcre2_code_free(l->secret_re);
	free(l->shellcheck);
	free(l);
}

const char *lint_credential_in(struct lint_linter *l, const char *text, size_t len)
{
	int rc = pcre2_match(l->secret_re, (PCRE2_SPTR)text, len, 0, 0, l->secret_md, NULL);
	if (rc <= 0)
		return NULL;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(l->secret_md);
	for (int g = 1; g < rc; g++)
		if (ov[2 * g] != PCRE2_UNSET && (size_t)g - 1 < ARRAY_SIZE(credential_kinds))
			return credential_kinds[g - 1];
	return "a credential";
}

/* ---- names and paths that look secret -------------------------------------- */

static bool word_in(const char *w, size_t n, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && !strncasecmp(w, list[i], n))
			return true;
	return false;
}

bool lint_secret_name(const char *name, size_t len)
{
	static const char *const secret_words[] = {
	    "password", "passwd",     "pass",        "secret",     "secrets",    "token",
	    "apikey",   "credential", "credentials", "passphrase", "privatekey", NULL};
	static const char *const key_prefixes[] = {"api",     "access",     "private", "secret",
						   "signing", "encryption", "master",  "auth",
						   "client",  NULL};
	/* A name ending like these holds where a secret is, not the secret. */
	static const char *const harmless_last[] = {
	    "file", "path",     "dir",     "url",      "uri",     "host",   "port",
	    "user", "username", "name",    "id",       "enabled", "length", "ttl",
	    "type", "header",   "version", "endpoint", NULL};
	size_t start = 0;
	bool secret = false;
	const char *prev = NULL;
	size_t prev_n = 0;
	const char *last = name;
	size_t last_n = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '_' && name[i] != '-' && name[i] != '.')
			continue;
		const char *w = name + start;
		size_t n = i - start;
		if (n) {
			if (word_in(w, n, secret_words))
				secret = true;
			if (n == 3 && !strncasecmp(w, "key", 3) && prev &&
			    word_in(prev, prev_n, key_prefixes))
				secret = true;
			prev = w;
			prev_n = n;
			last = w;
			last_n = n;
		}
		start = i + 1;
	}
	return secret && !word_in(last, last_n, harmless_last);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

bool lint_secret_path(const char *path)
{
	static const char *const names[] = {
	    ".env",         ".npmrc",       ".pypirc",     ".netrc",           ".git-credentials",
	    ".dockercfg",   ".htpasswd",    "credentials", "credentials.json", "kubeconfig",
	    "secrets.json", "secrets.yaml", "secrets.yml", "secret.json",      "secret.yaml",
	    "secret.yml",   ".vault-token", NULL};
	static const char *const suffixes[] = {".key",      ".p12",        ".pfx", ".jks",
					       ".keystore", ".kubeconfig", NULL};
	static const char *const dirs[] = {
	    "/.ssh/", "/.aws/", "/.gnupg/", "/.docker/config.json", "/.kube/config", NULL};
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	_cleanup_free_ char *p = xasprintf("/%.*s", (int)n, path);
	const char *base = strrchr(p, '/') + 1;
	if (has_suffix(base, ".pub") || !*base)
		return false;
	for (size_t i = 0; dirs[i]; i++)
		if (strstr(p, dirs[i]) || has_suffix(p, dirs[i]))
			return true;
	for (size_t i = 0; names[i]; i++)
		if (!strcasecmp(base, names[i]))
			return true;
	if (!strncasecmp(base, ".env.", 5) && strcasecmp(base, ".env.example") &&
	    strcasecmp(base, ".env.sample"))
		return true;
	if (!strncmp(base, "id_rsa", 6) || !strncmp(base, "id_dsa", 6) ||
	    !strncmp(base, "id_ecdsa", 8) || !strncmp(base, "id_ed25519", 10))
		return true;
	for (size_t i = 0; suffixes[i]; i++)
		if (has_suffix(base, suffixes[i]))
			return true;
	/* .pem holds certificates too: only private-looking ones */
	if (has_suffix(base, ".pem") && (strcasestr(base, "key") || strcasestr(base, "priv")))
		return true;
	return false;
}

/* ---- paths ---------------------------------------------------------------- */

char *lint_path_resolve(const char *workdir, const char *path)
{
	if (path[0] == '/' || !workdir)
		return xstrdup(path);
	if (!strcmp(path, "."))
		return xstrdup(workdir);
	if (!strncmp(path, "./", 2))
		path += 2;
	return path_join(workdir, path);
}

bool lint_path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

bool lint_is_remote(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "git@", 4) ||
	       !strncmp(s, "git://", 6) || !strncmp(s, "ssh://", 6);
}

/* ---- findings -------------------------------------------------------------- */

static bool pragma_ignores(const char *list, const char *id)
{
	if (!list || !*list)
		return false;
	size_t n = strlen(id);
	for (const char *p = list; (p = strstr(p, id)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static void add_finding(struct lint_ctx *c, const char *id, enum lint_severity sev,
			const struct dockerfile_instruction *in, unsigned line, unsigned col,
			char *message)
{
	if (sev == LINT_OFF || strset_contains(&c->global_ignore, id) ||
	    (in && pragma_ignores(c->pragma[in - c->df->instructions], id))) {
		free(message);
		return;
	}
	struct lint_result *r = c->res;
	xgrow((void **)&r->findings, &c->alloc, r->n_findings + 1, sizeof(*r->findings));
	struct lint_finding *f = &r->findings[r->n_findings++];
	memset(f, 0, sizeof(*f));
	snprintf(f->rule, sizeof(f->rule), "%s", id);
	f->severity = sev;
	f->message = message;
	f->line = line;
	f->col = col;
	f->end_line = in && in->end_line > line ? in->end_line : line;
}

void lint_report(struct lint_ctx *c, const char *id, const struct dockerfile_instruction *in,
		 const struct dockerfile_word *word, const char *fmt, ...)
{
	size_t k = lint_rule_index(id);
	if (k == (size_t)-1)
		abort(); /* a rule not in the table is a programming error */
	enum lint_severity sev = c->l->severity[k];
	if (sev == LINT_OFF)
		return;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	unsigned line = in->start_line, col = in->col;
	if (word && word->end > word->start)
		dockerfile_position(c->df, word->start, &line, &col);
	add_finding(c, id, sev, in, line, col, strbuf_detach(&sb));
}

void lint_report_at(struct lint_ctx *c, const char *id, enum lint_severity sev,
		    const struct dockerfile_instruction *in, unsigned line, unsigned col,
		    const char *message)
{
	const struct lint_config *cfg = c->l->opts.config;
	for (size_t i = 0; cfg && i < cfg->n_overrides; i++)
		if (!strcmp(cfg->overrides[i].rule, id))
			sev = cfg->overrides[i].severity;
	for (size_t i = 0; cfg && i < cfg->ignore.n; i++)
		if (!strcmp(cfg->ignore.v[i], id))
			sev = LINT_OFF;
	add_finding(c, id, sev, in, line, col, xstrdup(message));
}

/* ---- the context ------------------------------------------------------------- */

struct lint_stage_name {
	char *name; /* case-folded */
	size_t *stages, n;
};

static uint64_t fold_hash(const char *s)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a, over the folded bytes */
	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211u;
	return h;
}

static struct lint_stage_name *stage_name_slot(const struct lint_ctx *c, const char *name)
{
	if (!c->stage_names_cap)
		return NULL;
	size_t mask = c->stage_names_cap - 1;
	for (size_t i = fold_hash(name) & mask;; i = (i + 1) & mask) {
		struct lint_stage_name *e = &c->stage_names[i];
		if (!e->name || !strcasecmp(e->name, name))
			return e;
	}
}

/* Every stage's name into the index (stages in order: each list sorted). */
static void index_stage_names(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	size_t cap = 16;
	while (cap < 2 * df->n_stages + 1)
		cap *= 2;
	c->stage_names = xcalloc(cap, sizeof(*c->stage_names));
	c->stage_names_cap = cap;
	for (size_t s = 0; s < df->n_stages; s++) {
		if (!df->stages[s].name)
			continue;
		struct lint_stage_name *e = stage_name_slot(c, df->stages[s].name);
		if (!e->name)
			e->name = xstrdup(df->stages[s].name);
		e->stages = xrealloc(e->stages, (e->n + 1) * sizeof(*e->stages));
		e->stages[e->n++] = s;
	}
}

static void release_stage_names(struct lint_ctx *c)
{
	for (size_t i = 0; i < c->stage_names_cap; i++) {
		free(c->stage_names[i].name);
		free(c->stage_names[i].stages);
	}
	free(c->stage_names);
	c->stage_names = NULL;
	c->stage_names_cap = 0;
}

bool lint_names_stage(const struct lint_ctx *c, const char *name, size_t before, size_t *index)
{
	const struct lint_stage_name *e = stage_name_slot(c, name);
	if (!e || !e->name || e->stages[0] >= before)
		return false;
	if (index)
		*index = e->stages[0];
	return true;
}

bool lint_names_later_stage(const struct lint_ctx *c, const char *name, size_t after, size_t *index)
{
	const struct lint_stage_name *e = stage_name_slot(c, name);
	if (!e || !e->name || e->stages[e->n - 1] <= after)
		return false;
	/* The first one after `after`: the list is sorted. */
	size_t lo = 0, hi = e->n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->stages[mid] > after)
			hi = mid;
		else
			lo = mid + 1;
	}
	*index = e->stages[lo];
	return true;
}

char *lint_expand_global(struct lint_ctx *c, const char *word)
{
	if (!strchr(word, '$'))
		return xstrdup(word);
	struct dockerfile_expander ex;
	dockerfile_scope_expander(&c->scope, DOCKERFILE_FROM, &ex);
	struct strset unset = STRSET_INIT;
	ex.unset = &unset;
	char *out = NULL;
	struct petra_error *err = NULL;
	if (dockerfile_expand_word(&ex, word, &out, &err) < 0) {
		petra_error_free(err);
		out = NULL;
	} else if (unset.used || !*out) {
		free(out);
		out = NULL;
	}
	strset_clear(&unset);
	return out;
}

const struct sh_script *lint_run_script(struct lint_ctx *c, size_t index)
{
	if (c->parsed[index])
		return &c->scripts[index];
	const struct dockerfile_instruction *in = &c->df->instructions[index];
	struct strbuf sb = STRBUF_INIT;
	if (in->json) {
		/* ["sh", "-c", "script"] runs the script; other argv is one command */
		if (in->n_args >= 3 && strstr(in->args[0].text, "sh") &&
		    !strcmp(in->args[1].text, "-c"))
			strbuf_addstr(&sb, in->args[2].text);
		else
			for (size_t k = 0; k < in->n_args; k++)
				strbuf_addf(&sb, "%s'%s'", k ? " " : "", in->args[k].text);
	} else if (in->n_args) {
		strbuf_addstr(&sb, in->args[0].text);
	}
	for (size_t h = 0; h < in->n_heredocs; h++) {
		strbuf_addch(&sb, '\n');
		strbuf_add(&sb, in->heredocs[h].content, in->heredocs[h].content_len);
	}
	lint_sh_parse(strbuf_str(&sb), &c->scripts[index]);
	strbuf_release(&sb);
	c->parsed[index] = true;
	return &c->scripts[index];
}

struct lint_shell lint_shell_at(struct lint_ctx *c, size_t stage, size_t index)
{
	struct lint_shell si = {.pipefail = false, .posix = true, .name = "sh"};
	(void)stage;
	const struct dockerfile_instruction *shell =
	    index < c->df->n_instructions ? c->shell_before[index] : NULL;
	if (!shell || !shell->n_args)
		return si;
	const char *prog = strrchr(shell->args[0].text, '/');
	prog = prog ? prog + 1 : shell->args[0].text;
	si.name = prog;
	si.posix = !strcmp(prog, "sh") || !strcmp(prog, "bash") || !strcmp(prog, "ash") ||
		   !strcmp(prog, "dash") || !strcmp(prog, "zsh") || !strcmp(prog, "ksh");
	for (size_t k = 1; k < shell->n_args; k++)
		if (strstr(shell->args[k].text, "pipefail"))
			si.pipefail = true;
	return si;
}

void lint_walk(struct lint_ctx *c, bool runtime_only, lint_walk_fn fn, void *arg)
{
	const struct dockerfile *df = c->df;
	for (size_t s = 0; s < df->n_stages; s++) {
		if (runtime_only && !c->stages[s].runtime)
			continue;
		const struct dockerfile_stage *st = &df->stages[s];
		char *workdir = NULL;
		for (size_t i = st->from + 1; i < st->end; i++) {
			const struct dockerfile_instruction *in = &df->instructions[i];
			if (in->kind == DOCKERFILE_WORKDIR && in->n_args) {
				char *next = lint_path_resolve(workdir, in->args[0].text);
				free(workdir);
				workdir = next;
			}
			fn(c, s, i, workdir, arg);
		}
		free(workdir);
	}
}

/* "petra ignore=A,B" / "petra global ignore=A,B": the list, else NULL. */
static const char *pragma_list(const char *text, bool *global)
{
	if (strncmp(text, "petra", 5) || (text[5] != ' ' && text[5] != '\t'))
		return NULL;
	text += 5;
	text += strspn(text, " \t");
	*global = !strncmp(text, "global", 6) && (text[6] == ' ' || text[6] == '\t');
	if (*global) {
		text += 6;
		text += strspn(text, " \t");
	}
	if (strncmp(text, "ignore=", 7))
		return NULL;
	return text + 7;
}

/* ",A,B," without spaces, so a lookup is a substring test. */
static char *normalise_list(const char *list)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = list; *p; p++)
		if (*p != ' ' && *p != '\t')
			strbuf_addch(&sb, *p);
	return strbuf_detach(&sb);
}

static void read_pragmas(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		struct strbuf mine = STRBUF_INIT;
		for (size_t k = 0; k < in->n_comments; k++) {
			const struct dockerfile_comment *cm = &df->comments[in->first_comment + k];
			bool global;
			const char *list = pragma_list(cm->text, &global);
			if (!list)
				continue;
			_cleanup_free_ char *ids = normalise_list(list);
			if (global) {
				char *save = NULL;
				for (char *t = strtok_r(ids, ",", &save); t;
				     t = strtok_r(NULL, ",", &save))
					strset_add(&c->global_ignore, t);
			} else if (!cm->in_continuation) {
				strbuf_addf(&mine, "%s%s", mine.len ? "," : "", ids);
			}
		}
		c->pragma[i] = strbuf_detach(&mine);
	}
	/* a global pragma after the last instruction */
	for (size_t k = 0; k < df->n_comments; k++) {
		bool global;
		const char *list = pragma_list(df->comments[k].text, &global);
		if (!list || !global)
			continue;
		_cleanup_free_ char *ids = normalise_list(list);
		char *save = NULL;
		for (char *t = strtok_r(ids, ",", &save); t; t = strtok_r(NULL, ",", &save))
			strset_add(&c->global_ignore, t);
	}
}

static int find_runtime(struct lint_ctx *c, struct petra_error **err)
{
	const struct dockerfile *df = c->df;
	const char *target = c->l->opts.target;
	c->runtime = df->n_stages ? df->n_stages - 1 : 0;
	if (!target)
		return 0;
	size_t named;
	if (lint_names_stage(c, target, df->n_stages, &named)) {
		c->runtime = named;
		return 0;
	}
	char *end;
	unsigned long idx = strtoul(target, &end, 10);
	if (*target && !*end && idx < df->n_stages) {
		c->runtime = idx;
		return 0;
	}
	_cleanup_free_ char *q = str_quote(target);
	return petra_error_set(err, ENOENT, "%s: target stage %s not found", df->name, q);
}

static void describe_stages(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	c->stages = xcalloc(df->n_stages + 1, sizeof(*c->stages));
	for (size_t s = 0; s < df->n_stages; s++) {
		struct stage_info *si = &c->stages[s];
		si->parent = (size_t)-1;
		const struct dockerfile_stage *st = &df->stages[s];
		size_t parent;
		if (st->base && lint_names_stage(c, st->base->text, s, &parent)) {
			si->parent = parent;
			si->user = c->stages[parent].user;
			si->user_in = c->stages[parent].user_in;
			si->shell_at_end = c->stages[parent].shell_at_end;
		}
		/* SHELL is part of the image config: it carries into FROM <stage>
		 * (a parent is always an earlier stage, described already). */
		for (size_t i = st->from; i < st->end; i++) {
			c->shell_before[i] = si->shell_at_end;
			if (df->instructions[i].kind == DOCKERFILE_SHELL)
				si->shell_at_end = &df->instructions[i];
		}
		for (size_t i = st->from + 1; i < st->end; i++) {
			const struct dockerfile_instruction *in = &df->instructions[i];
			if (in->kind == DOCKERFILE_USER && in->n_args) {
				si->user = in->args[0].text;
				si->user_in = in;
			}
		}
	}
	if (!df->n_stages)
		return;
	for (size_t s = c->runtime; s != (size_t)-1; s = c->stages[s].parent)
		c->stages[s].runtime = true;
}

static void ctx_release(struct lint_ctx *c)
{
	for (size_t i = 0; c->pragma && i < c->df->n_instructions; i++)
		free(c->pragma[i]);
	free(c->pragma);
	for (size_t i = 0; c->scripts && i < c->df->n_instructions; i++)
		lint_sh_script_release(&c->scripts[i]);
	free(c->scripts);
	free(c->parsed);
	free(c->stages);
	free(c->shell_before);
	release_stage_names(c);
	strset_clear(&c->global_ignore);
	dockerfile_scope_release(&c->scope);
}

static int cmp_finding(const void *a, const void *b)
{
	const struct lint_finding *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return strcmp(x->rule, y->rule);
}

static void result_init(struct lint_result *out, const char *name)
{
	memset(out, 0, sizeof(*out));
	out->file = xstrdup(name ? name : "Dockerfile");
}

int lint_dockerfile(struct lint_linter *l, const struct dockerfile *df, struct lint_result *out,
		    struct petra_error **err)
{
	result_init(out, df->name);
	struct lint_ctx c = {.l = l, .df = df, .res = out};
	dockerfile_scope_init(&c.scope, df->escape, NULL);
	c.pragma = xcalloc(df->n_instructions + 1, sizeof(char *));
	c.scripts = xcalloc(df->n_instructions + 1, sizeof(*c.scripts));
	c.parsed = xcalloc(df->n_instructions + 1, sizeof(bool));
	index_stage_names(&c);
	c.shell_before = xcalloc(df->n_instructions + 1, sizeof(*c.shell_before));
	if (find_runtime(&c, err) < 0) {
		ctx_release(&c);
		lint_result_release(out);
		return -ENOENT;
	}
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		if (in->stage != DOCKERFILE_GLOBAL)
			break;
		struct petra_error *e = NULL;
		if (dockerfile_scope_apply(&c.scope, in, &e) < 0)
			petra_error_free(
			    e); /* an unusable global: FROM lines using it stay unresolved */
	}
	read_pragmas(&c);
	describe_stages(&c);

	lint_check_hygiene(&c);
	lint_check_labels(&c);
	lint_check_runtime(&c);
	lint_check_secrets(&c);
	lint_check_supply(&c);
	if (l->opts.shellcheck && !(l->opts.config && l->opts.config->no_shellcheck))
		lint_check_shellcheck(&c);

	if (out->n_findings) /* qsort wants an array, even of none */
		qsort(out->findings, out->n_findings, sizeof(*out->findings), cmp_finding);
	ctx_release(&c);
	return 0;
}

/* A parse error becomes PL001 at the parser's line; the message without
 * the "<name>:<line>: " the parser put in front. */
static int parse_failed(struct lint_linter *l, const char *name, unsigned line,
			struct petra_error *perr, struct lint_result *out)
{
	result_init(out, name);
	const char *msg = perr->message;
	size_t n = strlen(name);
	if (!strncmp(msg, name, n) && msg[n] == ':') {
		const char *rest = strchr(msg + n + 1, ':');
		if (rest && rest[1] == ' ')
			msg = rest + 2;
		else
			msg += n + 2;
	}
	struct lint_ctx c = {.l = l, .res = out};
	struct dockerfile empty = {.name = name};
	c.df = &empty;
	enum lint_severity sev = l->severity[lint_rule_index("PL001")];
	add_finding(&c, "PL001", sev, NULL, line ? line : 1, 0, xstrdup(msg));
	petra_error_free(perr);
	return 0;
}

int lint_buffer(struct lint_linter *l, const char *data, size_t len, const char *name,
		struct lint_result *out, struct petra_error **err)
{
	struct dockerfile_parse_opts popts = {.name = name};
	_cleanup_dockerfile_ struct dockerfile *df = NULL;
	struct petra_error *perr = NULL;
	if (dockerfile_parse(data, len, &popts, &df, &perr) < 0)
		return parse_failed(l, name, popts.error_line, perr, out);
	return lint_dockerfile(l, df, out, err);
}

int lint_file(struct lint_linter *l, int dirfd, const char *path, struct lint_result *out,
	      struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = fs_read_file_at(dirfd, path, DOCKERFILE_MAX_SIZE, &data, &len, err);
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	return lint_buffer(l, data, len, path, out, err);
}

void lint_result_release(struct lint_result *r)
{
	for (size_t i = 0; i < r->n_findings; i++)
		free(r->findings[i].message);
	free(r->findings);
	free(r->file);
	strvec_clear(&r->notes);
	memset(r, 0, sizeof(*r));
}

enum lint_severity lint_result_worst(const struct lint_result *r)
{
	enum lint_severity worst = LINT_OFF;
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].severity > worst)
			worst = r->findings[i].severity;
	return worst;
}
