/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/lint: the linting context, the shell splitter and the
 * rule families. */
#ifndef PETRA_LINT_INTERNAL_H
#define PETRA_LINT_INTERNAL_H

#include "lint.h"

size_t lint_rule_index(const char *id);
bool lint_rule_id_valid(const char *id);
const char *lint_label_type_name(enum lint_label_type t);
int lint_label_type_parse(const char *name, enum lint_label_type *out);

/* ---- shell (shell.c) --------------------------------------------------- */

/*
 * A RUN command split into simple commands, well enough for rules: words
 * with quotes removed (command substitutions kept as written, and their
 * own commands split too), the operator after each command, and the
 * targets of output redirections. Never fails: what it does not
 * understand becomes ordinary words.
 */
enum sh_op {
	SH_END = 0,
	SH_SEQ,  /* ; or newline */
	SH_AND,  /* && */
	SH_OR,   /* || */
	SH_PIPE, /* | */
	SH_BG,   /* & */
};

struct sh_cmd {
	char **argv; /* leading keywords (if, then, !) and VAR=x assignments removed */
	size_t argc;
	char **outputs; /* > and >> targets */
	size_t n_outputs;
	enum sh_op op;
	bool substituted; /* inside $(...) or `...` */
};

struct sh_script {
	struct sh_cmd *cmds;
	size_t n;
	size_t alloc;
};

void lint_sh_parse(const char *text, struct sh_script *out);
void lint_sh_script_release(struct sh_script *s);
/* The command name after wrappers (sudo, env, nice, ...); *first_arg is
 * the index of its first argument. NULL for an empty command. */
const char *lint_sh_cmd_name(const struct sh_cmd *c, size_t *first_arg);
/* Is `opt` among the command's arguments from `from` on (exact match, or
 * a short option letter inside a cluster such as -qy when opt is "-y")? */
bool lint_sh_has_option(const struct sh_cmd *c, size_t from, const char *opt);

/* ---- the context --------------------------------------------------------- */

struct lint_linter {
	struct lint_options opts;
	enum lint_severity severity[64]; /* per rule, config applied */
	void *secret_re;                 /* pcre2_code * */
	void *secret_md;                 /* pcre2_match_data * */
	char *shellcheck;                /* its path, NULL when not installed */
};

/* What one stage looks like to the rules. */
struct stage_info {
	const char *user; /* the last USER's text (inherited through FROM <stage>) */
	const struct dockerfile_instruction *user_in;
	bool runtime;  /* the runtime stage or one it is built FROM */
	size_t parent; /* the stage this one is FROM, or (size_t)-1 */
	/* The SHELL in effect at the stage's end (inherited through FROM
	 * <stage>), NULL for the default. */
	const struct dockerfile_instruction *shell_at_end;
};

struct lint_ctx {
	struct lint_linter *l;
	const struct dockerfile *df;
	struct lint_result *res;
	size_t alloc;
	size_t runtime;            /* the runtime stage */
	struct stage_info *stages; /* df->n_stages */
	struct strset global_ignore;
	/* per instruction: the IDs its pragma ignores, "" when none */
	char **pragma;
	struct dockerfile_scope scope; /* global ARGs for FROM lines */
	struct sh_script *scripts;     /* per instruction: parsed RUN commands (lazy) */
	bool *parsed;
	/* Stage names (case-folded) to the stages that carry them, in order:
	 * looking a name up costs the same with 16 stages or 300,000 (a scan
	 * of every stage per stage made lint quadratic). */
	struct lint_stage_name *stage_names; /* open addressing; name NULL = free */
	size_t stage_names_cap;
	/* per instruction: the SHELL in effect before it (NULL: the default),
	 * computed once rather than searched for at every RUN */
	const struct dockerfile_instruction **shell_before;
};

/* Report a finding of rule `id` at an instruction (word may be NULL: the
 * instruction's keyword). Honours pragmas and the config. */
void lint_report(struct lint_ctx *c, const char *id, const struct dockerfile_instruction *in,
		 const struct dockerfile_word *word, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The same at an explicit position (ShellCheck). */
void lint_report_at(struct lint_ctx *c, const char *id, enum lint_severity sev,
		    const struct dockerfile_instruction *in, unsigned line, unsigned col,
		    const char *message);
/* The commands of a RUN (shell form: the command; exec form: argv joined;
 * heredoc scripts included). */
const struct sh_script *lint_run_script(struct lint_ctx *c, size_t index);
/* The SHELL in effect for instruction `index` of a stage (SHELL carries
 * into FROM <stage>): its program, whether it is POSIX-like, and whether
 * it sets -o pipefail. */
struct lint_shell {
	const char *name; /* "sh", "bash", "pwsh", ... */
	bool posix;
	bool pipefail;
};
struct lint_shell lint_shell_at(struct lint_ctx *c, size_t stage, size_t index);
/* Call fn for every instruction of every stage (or of the runtime image's
 * stages), in order, with the WORKDIR in effect after it (resolved as
 * written; NULL before any). */
typedef void (*lint_walk_fn)(struct lint_ctx *c, size_t stage, size_t index, const char *workdir,
			     void *arg);
void lint_walk(struct lint_ctx *c, bool runtime_only, lint_walk_fn fn, void *arg);
/* Expand a FROM-line word with the global ARGs; NULL when it cannot be
 * resolved (an ARG with no default). Caller frees. */
char *lint_expand_global(struct lint_ctx *c, const char *word);
/* Is stage `name` (a FROM or --from value) an earlier stage than `before`?
 * *index (may be NULL): the first stage of that name. */
bool lint_names_stage(const struct lint_ctx *c, const char *name, size_t before, size_t *index);
/* The first stage after `after` named `name`; false when none. */
bool lint_names_later_stage(const struct lint_ctx *c, const char *name, size_t after,
			    size_t *index);
/* A COPY destination or a path in RUN resolved against the WORKDIR (as
 * written; workdir may be NULL). Caller frees. */
char *lint_path_resolve(const char *workdir, const char *path);
/* Is `path` the directory `dir` or below it? */
bool lint_path_below(const char *path, const char *dir);
/* An ADD source that ADD downloads (http, https, git, ssh URLs)? */
bool lint_is_remote(const char *s);
/* Does a name (ARG, ENV, variable) look like it holds a secret? */
bool lint_secret_name(const char *name, size_t len);
/* Does a path (COPY source, file written) look like a secret file? */
bool lint_secret_path(const char *path);
/* The first credential-looking match in text: its kind, else NULL. */
const char *lint_credential_in(struct lint_linter *l, const char *text, size_t len);

/* The path of an executable on PATH (or `name` itself when it has a
 * "/"); NULL when there is none. Caller frees. */
char *lint_find_program(const char *name);

/* Rule families, each over the whole file. */
void lint_check_hygiene(struct lint_ctx *c);
void lint_check_labels(struct lint_ctx *c);
void lint_check_runtime(struct lint_ctx *c);
void lint_check_secrets(struct lint_ctx *c);
void lint_check_supply(struct lint_ctx *c);
void lint_check_shellcheck(struct lint_ctx *c);

#endif
