/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockerfile: the Dockerfile parser (raw tree), the word expander and the
 * BuildKit-compatible dump.
 *
 *  - dockerfile_parse() reads a whole Dockerfile the way BuildKit's parser
 *    does (directives, continuations, flags, exec and shell forms,
 *    heredocs, ONBUILD) into a struct dockerfile: one flat record per
 *    instruction with its raw words, lines, columns and exact byte spans,
 *    the comments, and the stages. Unless DOCKERFILE_PARSE_RAW is given it
 *    also applies the checks BuildKit makes before building (unknown
 *    instructions, argument counts, flags, stage names), so every file
 *    that parses is one BuildKit would accept.
 *  - dockerfile_dump() prints the tree in BuildKit's s-expression form
 *    (`buildkit/frontend/dockerfile/parser.Node.Dump`), line for line.
 *  - Word processing (expand.c) follows BuildKit's shell lexer: quotes,
 *    escapes, $VAR and ${VAR<op>word}; struct dockerfile_scope implements
 *    the ARG/ENV scoping of a build, stage by stage.
 *
 * Everything a struct dockerfile points to lives as long as it does.
 * Nothing here keeps global state; separate objects can be used from
 * separate threads.
 */
#ifndef PETRA_DOCKERFILE_H
#define PETRA_DOCKERFILE_H

#include "base/base.h"

/* Limits: BuildKit's line limit (bufio.Scanner's 64 KiB token), and a file
 * size well beyond any real Dockerfile that keeps memory bounded. */
#define DOCKERFILE_MAX_LINE 65535
#define DOCKERFILE_MAX_SIZE (16u << 20)

enum dockerfile_kind {
	DOCKERFILE_ADD,
	DOCKERFILE_ARG,
	DOCKERFILE_CMD,
	DOCKERFILE_COPY,
	DOCKERFILE_ENTRYPOINT,
	DOCKERFILE_ENV,
	DOCKERFILE_EXPOSE,
	DOCKERFILE_FROM,
	DOCKERFILE_HEALTHCHECK,
	DOCKERFILE_LABEL,
	DOCKERFILE_MAINTAINER,
	DOCKERFILE_ONBUILD,
	DOCKERFILE_RUN,
	DOCKERFILE_SHELL,
	DOCKERFILE_STOPSIGNAL,
	DOCKERFILE_USER,
	DOCKERFILE_VOLUME,
	DOCKERFILE_WORKDIR,
	DOCKERFILE_UNKNOWN, /* only with DOCKERFILE_PARSE_RAW */
};

/* A raw word: the text BuildKit's parser gives (quotes and escapes kept
 * where it keeps them, JSON strings decoded), and the byte span
 * [start, end) of the source it came from. For a word that is contiguous
 * in the source (no continuation inside it, not a decoded JSON string),
 * end - start == len and the source bytes equal the text: `rebase` can
 * rewrite it in place. A JSON string's span covers its quoted literal. */
struct dockerfile_word {
	const char *text; /* NUL-terminated; a decoded JSON "\u0000" makes len larger */
	size_t len;
	size_t start, end;
};

struct dockerfile_heredoc {
	const char *name;    /* the delimiter, quotes removed */
	const char *content; /* every line with its newline; leading tabs removed for <<- */
	size_t content_len;
	unsigned fd;         /* the number before <<, 0 when absent */
	bool expand;         /* false when the delimiter was quoted: no expansion */
	bool chomp;          /* <<- */
	unsigned start_line; /* first content line (the terminator's if empty) */
	unsigned end_line;   /* the terminator's line */
	size_t start, end;   /* source span of the content and terminator */
};

struct dockerfile_instruction {
	enum dockerfile_kind kind;
	const char *keyword;           /* lower case, as dumped ("run") */
	struct dockerfile_word *flags; /* "--from=build", quotes removed */
	size_t n_flags;
	/* The raw arguments as the dump prints them: for shell form the rest of
	 * the logical line as one word; for exec form (json) the decoded
	 * strings; for ENV and LABEL triples key, value, separator ("=" or ""
	 * for the legacy "key value" form); for HEALTHCHECK the type, then the
	 * command as for CMD; for ONBUILD nothing (see sub). */
	struct dockerfile_word *args;
	size_t n_args;
	bool json;                           /* exec form (a JSON array) */
	struct dockerfile_instruction *sub;  /* ONBUILD's trigger instruction */
	struct dockerfile_heredoc *heredocs; /* RUN, COPY, ADD in shell form */
	size_t n_heredocs;
	const char *original; /* the logical line, continuations joined */
	unsigned start_line;  /* 1-based */
	unsigned end_line;    /* last line, heredoc bodies included */
	unsigned col;         /* 1-based byte column of the keyword */
	size_t start, end;    /* source span: keyword to end of last line, no newline */
	/* Comments between the previous instruction and this one (directives
	 * excluded): dockerfile.comments[first_comment .. + n_comments]. Each
	 * has its line, so "the line just above" is easy to test. */
	size_t first_comment, n_comments;
	size_t stage; /* index in dockerfile.stages; DOCKERFILE_GLOBAL before the first FROM */
};
#define DOCKERFILE_GLOBAL ((size_t)-1)

struct dockerfile_comment {
	const char *text; /* after '#', surrounding whitespace trimmed */
	unsigned line;
	size_t start, end;    /* span of the whole comment line, '#' to end */
	bool in_continuation; /* inside an instruction's continued lines */
};

/* A parser directive (# escape=`, # syntax=..., # check=...). */
struct dockerfile_directive {
	const char *name; /* lower case */
	const char *value;
	unsigned line;
};

struct dockerfile_warning {
	unsigned line;
	const char *message;
};

/* A build stage: FROM and the instructions up to the next FROM. */
struct dockerfile_stage {
	size_t from;      /* index of its FROM in dockerfile.instructions */
	size_t end;       /* one past its last instruction */
	const char *name; /* the AS name, lower-cased as BuildKit does; NULL without AS */
	const struct dockerfile_word *base; /* the image word, unexpanded */
	const char *platform;               /* --platform value, unexpanded; NULL without */
};

struct dockerfile {
	const char *name; /* as given for messages */
	char escape;      /* '\\' or '`' */
	struct dockerfile_instruction *instructions;
	size_t n_instructions;
	struct dockerfile_stage *stages;
	size_t n_stages;
	struct dockerfile_comment *comments;
	size_t n_comments;
	struct dockerfile_directive *directives;
	size_t n_directives;
	struct dockerfile_warning *warnings; /* e.g. empty continuation lines */
	size_t n_warnings;
	unsigned n_lines;
	const char *source; /* a private copy of the input, NUL-terminated */
	size_t source_len;
	struct dockerfile_private *priv;
};

enum {
	/* Only what BuildKit's raw parser checks: unknown instructions parse
	 * (DOCKERFILE_UNKNOWN), argument counts, flags and stage names are not
	 * checked. What `petra parse --dump --raw` and the fuzzer use. */
	DOCKERFILE_PARSE_RAW = 1 << 0,
};

struct dockerfile_parse_opts {
	const char *name;    /* in messages ("Dockerfile" when NULL) */
	unsigned flags;      /* DOCKERFILE_PARSE_* */
	unsigned error_line; /* out: the line a parse error is on, 0 if none */
};

/* Parse data[0..len). On error returns < 0 with "<name>:<line>: <reason>"
 * in *err (one line). opts may be NULL. */
int dockerfile_parse(const char *data, size_t len, struct dockerfile_parse_opts *opts,
		     struct dockerfile **out, struct petra_error **err);
/* Read and parse a file (at most DOCKERFILE_MAX_SIZE bytes). */
int dockerfile_parse_file(int dirfd, const char *path, struct dockerfile_parse_opts *opts,
			  struct dockerfile **out, struct petra_error **err);
void dockerfile_free(struct dockerfile *df);
static inline void dockerfile_freep(struct dockerfile **df)
{
	dockerfile_free(*df);
}
#define _cleanup_dockerfile_ _cleanup_(dockerfile_freep)

/* "RUN" for DOCKERFILE_RUN. */
const char *dockerfile_kind_name(enum dockerfile_kind kind);

/* The value of flag --name (the last one if repeated): the text after '=',
 * "" for a bare boolean flag, NULL when absent. */
const char *dockerfile_flag(const struct dockerfile_instruction *in, const char *name);

/* Line and 1-based byte column of a source offset. */
void dockerfile_position(const struct dockerfile *df, size_t offset, unsigned *line, unsigned *col);

/* The heredoc a COPY/ADD source word such as "<<EOF" or "<<-'EOF'" stands
 * for, or NULL when the word is not a heredoc marker. */
const struct dockerfile_heredoc *dockerfile_find_heredoc(const struct dockerfile_instruction *in,
							 const char *word);

/* Go's time.ParseDuration ("1m30s", "500ms"), as HEALTHCHECK's flags take
 * it: true and *ns on success. */
bool dockerfile_parse_duration(const char *s, int64_t *ns);

/* ---- dump -------------------------------------------------------------- */

/* BuildKit's dump: one "(keyword [flags] args...)" line per instruction. */
void dockerfile_dump(const struct dockerfile *df, struct strbuf *out);
void dockerfile_dump_instruction(const struct dockerfile_instruction *in, struct strbuf *out);
/* Go's strconv.Quote of s[0..len). */
void dockerfile_quote_go(struct strbuf *out, const char *s, size_t len);
/* The tree as JSON: directives, stages, instructions with lines, columns,
 * spans, flags, args and heredocs. */
json_t *dockerfile_to_json(const struct dockerfile *df);

/* ---- RUN --mount ------------------------------------------------------- */

enum dockerfile_mount_type {
	DOCKERFILE_MOUNT_BIND,
	DOCKERFILE_MOUNT_CACHE,
	DOCKERFILE_MOUNT_TMPFS,
	DOCKERFILE_MOUNT_SECRET,
	DOCKERFILE_MOUNT_SSH,
};

/* One --mount=... value, split as BuildKit does (CSV of key=value; a bare
 * key is a boolean true). Strings point into the object; NULL if absent. */
struct dockerfile_mount {
	enum dockerfile_mount_type type;
	const char *target, *source, *from, *id, *sharing, *mode, *uid, *gid, *env, *size;
	bool readonly, required;
	char *buf; /* owns the strings */
};
int dockerfile_mount_parse(const char *value, struct dockerfile_mount *out,
			   struct petra_error **err);
void dockerfile_mount_release(struct dockerfile_mount *m);

/* ---- word processing (expand.c) ---------------------------------------- */

/*
 * Variables for word processing: names to values, where a name can also be
 * declared without a value (an ARG without default): such a name is
 * "unset" for ${VAR-word} and ${VAR+word}. Lookups are case-sensitive, as
 * on Linux builds.
 */
struct dockerfile_vars;
struct dockerfile_vars *dockerfile_vars_new(void);
void dockerfile_vars_free(struct dockerfile_vars *vars);
static inline void dockerfile_vars_freep(struct dockerfile_vars **v)
{
	dockerfile_vars_free(*v);
}
#define _cleanup_vars_ _cleanup_(dockerfile_vars_freep)
struct dockerfile_vars *dockerfile_vars_copy(const struct dockerfile_vars *vars);
/* value NULL: declared, unset. */
void dockerfile_vars_set(struct dockerfile_vars *vars, const char *name, const char *value);
/* Set from "NAME=value" (or "NAME": unset), as in an image config's Env. */
void dockerfile_vars_set_pair(struct dockerfile_vars *vars, const char *pair);
/* The value, or NULL if the name is unknown or unset; *declared (may be
 * NULL) tells whether the name is known at all. */
const char *dockerfile_vars_get(const struct dockerfile_vars *vars, const char *name,
				bool *declared);
size_t dockerfile_vars_count(const struct dockerfile_vars *vars);
/* The i-th name in insertion order, and its value (NULL if unset). */
const char *dockerfile_vars_at(const struct dockerfile_vars *vars, size_t i, const char **value);

enum {
	DOCKERFILE_EXPAND_RAW_QUOTES = 1 << 0,  /* keep quote characters */
	DOCKERFILE_EXPAND_RAW_ESCAPES = 1 << 1, /* keep escape characters */
	DOCKERFILE_EXPAND_SKIP_UNSET = 1 << 2,  /* leave $UNSET as written */
	DOCKERFILE_EXPAND_NO_QUOTES = 1 << 3,   /* quotes are ordinary characters */
};

struct dockerfile_expander {
	char escape;                        /* the Dockerfile's escape character */
	unsigned flags;                     /* DOCKERFILE_EXPAND_* */
	const struct dockerfile_vars *vars; /* may be NULL: nothing is set */
	/* Lookup order: vars, then fallback (for a stage: ENV before ARG). */
	const struct dockerfile_vars *fallback;
	struct strset *unset; /* optional out: names referenced but not set */
};

/* BuildKit's ProcessWord: quotes removed, escapes applied, variables
 * substituted; spaces kept. Caller frees *out. */
int dockerfile_expand_word(const struct dockerfile_expander *ex, const char *word, char **out,
			   struct petra_error **err);
/* BuildKit's ProcessWords: the same, split into words at unquoted
 * whitespace (after substitution, so "$A" with A="x y" gives two). */
int dockerfile_expand_words(const struct dockerfile_expander *ex, const char *word,
			    struct strvec *out, struct petra_error **err);

/*
 * ARG/ENV scoping for a build, the way BuildKit resolves it:
 *
 *  - ARGs before the first FROM are global: their defaults are expanded
 *    with the globals before them, a build-arg of the same name replaces
 *    the value; globals are visible only in FROM lines (base and
 *    --platform).
 *  - FROM starts a stage with the base image's environment and no ARGs.
 *  - ARG in a stage declares a variable: its value is the build-arg of that
 *    name if given, else its default (expanded with the stage's variables),
 *    else, for a name declared globally, the global value. Without any of
 *    these it is declared but unset.
 *  - ENV sets variables, all of one instruction expanded with the
 *    variables as they were before it; ENV values always win over ARG
 *    values of the same name, whatever the order.
 *  - Build-args that no ARG declares are not visible; dockerfile_scope
 *    records which were used so the builder can warn about the others.
 *
 * Use: dockerfile_scope_init(), then for every instruction in order:
 * expand its words with dockerfile_scope_expander() (FROM gets the
 * globals), then dockerfile_scope_apply() it; after a FROM, hand the base
 * image's environment to dockerfile_scope_image_env().
 */
struct dockerfile_scope {
	char escape;
	struct dockerfile_vars *build_args; /* supplied from outside */
	struct dockerfile_vars *globals;    /* ARGs before the first FROM */
	struct dockerfile_vars *env;        /* the stage's ENV (and the image's) */
	struct dockerfile_vars *args;       /* the stage's ARGs */
	struct strset used_build_args;
	bool in_stage;
};
/* build_args may be NULL; it is copied. Automatic ARGs (TARGETPLATFORM,
 * BUILDPLATFORM, ...) are passed like build-args: they become visible
 * only where an ARG declares them, as in BuildKit. */
void dockerfile_scope_init(struct dockerfile_scope *s, char escape,
			   const struct dockerfile_vars *build_args);
void dockerfile_scope_release(struct dockerfile_scope *s);
/* Give the stage just started its base image's environment. */
void dockerfile_scope_image_env(struct dockerfile_scope *s,
				const struct dockerfile_vars *image_env);
/* Apply ARG, ENV and FROM (which starts a stage with an empty
 * environment); other kinds change nothing. Errors come from word
 * processing (${X:?msg}, bad syntax) and name the instruction's line. */
int dockerfile_scope_apply(struct dockerfile_scope *s, const struct dockerfile_instruction *in,
			   struct petra_error **err);
/* An expander for the words of an instruction of this kind: the globals
 * for FROM and outside stages, the stage's ENV then ARGs inside. */
void dockerfile_scope_expander(const struct dockerfile_scope *s, enum dockerfile_kind kind,
			       struct dockerfile_expander *ex);

#endif
