/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lint: holds a Dockerfile to the rules that make an image clean, immutable
 * and safely delivered, before anything is built.
 *
 *  - Rules (rules.c) have stable IDs: PL0xx the file itself, PL1xx
 *    hygiene, PL2xx immutability of the runtime image, PL3xx secrets,
 *    PL4xx supply chain and base images; SCxxxx are ShellCheck's. Each has
 *    a default severity, a one-line summary and a page in docs/rules/.
 *  - Rules about the runtime image look at the final stage (or the target
 *    stage), following FROM <stage> chains; the others look at every stage.
 *  - Findings are silenced by `# petra ignore=ID[,ID]` on the lines above
 *    an instruction, `# petra global ignore=ID[,ID]` anywhere, or the
 *    config file (.petra.yaml), which also changes severities, lists
 *    trusted registries, a label schema and the failure threshold.
 *  - Reports (report.c): text (file:line:col ID severity message), JSON,
 *    SARIF 2.1.0 and Checkstyle XML.
 *  - ShellCheck (shellcheck.c) runs on shell-form RUN when it is installed;
 *    its findings are mapped back to the Dockerfile's lines.
 *
 * A struct lint_linter holds what is compiled once (patterns, the rule
 * table with the config applied) and is reused for many files; it is not
 * shared between threads (one per thread). Memory per file is the parsed
 * file and its findings, freed before the next.
 */
#ifndef PETRA_LINT_H
#define PETRA_LINT_H

#include "base/base.h"
#include "dockerfile/dockerfile.h"
#include "policy/policy.h"

/* Ordered: a threshold fails a finding of its severity or above. */
enum lint_severity {
	LINT_OFF = 0, /* a rule switched off by the config */
	LINT_STYLE = 1,
	LINT_INFO = 2,
	LINT_WARNING = 3,
	LINT_ERROR = 4,
	LINT_NEVER = 5, /* as a threshold: nothing fails ("none") */
};
/* "error", "warning", "info", "style"; "none"/"off" is LINT_OFF for a
 * severity and LINT_NEVER for a threshold (as_threshold). */
int lint_severity_parse(const char *name, bool as_threshold, enum lint_severity *out);
const char *lint_severity_name(enum lint_severity sev);

struct lint_rule {
	const char *id;   /* "PL101" */
	const char *name; /* "relative-workdir": a short slug (SARIF rule name) */
	enum lint_severity severity;
	const char *summary; /* one line, what the rule asks for */
};
/* Every rule petra has, in ID order (ShellCheck's are not listed). */
const struct lint_rule *lint_rules(size_t *n);
const struct lint_rule *lint_rule_find(const char *id);

/* ---- config (.petra.yaml) ---------------------------------------------- */

#define LINT_CONFIG_DEFAULT ".petra.yaml"

enum lint_label_type {
	LINT_LABEL_TEXT,    /* any non-empty value */
	LINT_LABEL_URL,     /* http(s)://host... */
	LINT_LABEL_RFC3339, /* 2024-01-02T03:04:05Z */
	LINT_LABEL_SEMVER,  /* 1.2.3[-pre][+build] */
	LINT_LABEL_HASH,    /* a git commit: 7 to 64 hex digits */
	LINT_LABEL_SPDX,    /* an SPDX licence expression */
	LINT_LABEL_EMAIL,
};

struct lint_label_schema {
	char *name;
	enum lint_label_type type;
};

struct lint_severity_override {
	char *rule;
	enum lint_severity severity;
};

struct lint_config {
	char *path;
	struct strvec ignore; /* rule IDs */
	struct lint_severity_override *overrides;
	size_t n_overrides;
	struct strvec trusted_registries; /* empty: any registry */
	struct lint_label_schema *labels; /* required labels of the runtime image */
	size_t n_labels;
	enum lint_severity threshold; /* LINT_OFF when not set */
	bool no_shellcheck;
};

/* Keys: ignore, severity (map ID: level), trusted-registries,
 * label-schema (map label: type), failure-threshold, shellcheck (bool).
 * Unknown keys and rule IDs are errors naming the line. */
int lint_config_parse(const char *data, size_t len, const char *name, struct lint_config *out,
		      struct petra_error **err);
int lint_config_load(int dirfd, const char *path, struct lint_config *out,
		     struct petra_error **err);
/* `path` if given (it must exist), else LINT_CONFIG_DEFAULT in the current
 * directory when present; *loaded tells whether a file was read. */
int lint_config_load_default(const char *path, struct lint_config *out, bool *loaded,
			     struct petra_error **err);
void lint_config_release(struct lint_config *c);

/* ---- linting ----------------------------------------------------------- */

struct lint_options {
	const struct petra_policy *policy; /* may be NULL: no catalog */
	const struct lint_config *config;  /* may be NULL: defaults */
	const char *target;                /* runtime stage (name or index); NULL: the last */
	bool shellcheck;                   /* run ShellCheck when it is installed */
	const char *shellcheck_path;       /* NULL: "shellcheck" on PATH */
};

struct lint_finding {
	char rule[12]; /* "PL101", "SC2086" */
	enum lint_severity severity;
	char *message;
	unsigned line, col; /* 1-based; col 0: the whole line */
	unsigned end_line;
};

struct lint_result {
	char *file;
	struct lint_finding *findings; /* ordered by line, then rule */
	size_t n_findings;
	struct strvec notes; /* what was not checked and why ("shellcheck is not installed") */
};

struct lint_linter;
int lint_new(const struct lint_options *opts, struct lint_linter **out, struct petra_error **err);
void lint_free(struct lint_linter *l);
static inline void lint_freep(struct lint_linter **l)
{
	lint_free(*l);
}
#define _cleanup_linter_ _cleanup_(lint_freep)

/* Lint a parsed Dockerfile. Errors only for what stops linting as a whole
 * (a --target stage that does not exist). */
int lint_dockerfile(struct lint_linter *l, const struct dockerfile *df, struct lint_result *out,
		    struct petra_error **err);
/* Parse and lint; a file that does not parse is one PL001 finding on the
 * parser's line, not an error. */
int lint_buffer(struct lint_linter *l, const char *data, size_t len, const char *name,
		struct lint_result *out, struct petra_error **err);
int lint_file(struct lint_linter *l, int dirfd, const char *path, struct lint_result *out,
	      struct petra_error **err);
void lint_result_release(struct lint_result *r);
/* The most severe finding (LINT_OFF when none). */
enum lint_severity lint_result_worst(const struct lint_result *r);

/* ---- reports (report.c) ------------------------------------------------ */

enum lint_format { LINT_FORMAT_TEXT, LINT_FORMAT_JSON, LINT_FORMAT_SARIF, LINT_FORMAT_CHECKSTYLE };
int lint_format_parse(const char *name, enum lint_format *out);

/* Reports many files, streaming each file's findings to `out` as it is
 * added, in every format (SARIF writes its results before its tool
 * object), so memory does not grow with the number of files. */
struct lint_reporter;
struct lint_reporter *lint_reporter_new(enum lint_format format, FILE *out);
void lint_reporter_add(struct lint_reporter *rp, const struct lint_result *r);
/* Write what is left; returns 0, or -EIO when writing failed. Frees rp. */
int lint_reporter_finish(struct lint_reporter *rp);

/* The pieces, for tests and for other modules that embed lint results. */
void lint_report_text(const struct lint_result *r, struct strbuf *out);
json_t *lint_report_json(const struct lint_result *r);
/* A SARIF 2.1.0 log with one run; results appended with lint_sarif_add. */
json_t *lint_sarif_new(void);
void lint_sarif_add(json_t *sarif, const struct lint_result *r);
void lint_report_checkstyle(const struct lint_result *r, struct strbuf *out);

#endif
