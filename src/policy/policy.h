/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy: the one policy file every stage of petra reads, and the base
 * image catalog in it (see docs/POLICY.md for the file).
 *
 *  - The policy (policy.c): petra_policy_load() reads the file with
 *    base's positioned YAML reader (petra_yaml_*), validates the top-level
 *    shape (an unknown key is an error naming the key and its line) and
 *    the `bases` section; each other section is handed as JSON to the
 *    module that owns it (petra_policy_section), which validates it and
 *    reports with petra_policy_error().
 *  - References (ref.c): Docker's normalisation ("debian:12" is
 *    "docker.io/library/debian:12") and glob patterns over it.
 *  - The base catalog (bases.c): is a base allowed, banned or not
 *    approved; what do the rewrite rules make of it.
 *  - Rebase (rebase.c): the rewrite rules applied to a Dockerfile's FROM
 *    lines and COPY --from images, every other byte kept.
 *
 * The builder calls petra_policy_check_base() (with the digest it
 * resolved) before pulling a base, and may apply
 * petra_policy_rewrite_base(). The gate (trust_gate_check) calls it for an
 * image and for the base the builder recorded in it, and run, run -d,
 * exec, test, bundle and a flow step's command ask the gate before they
 * make a process of the image (the runtime module itself does not).
 *
 * A loaded policy is read-only: it can be shared between threads.
 */
#ifndef PETRA_POLICY_H
#define PETRA_POLICY_H

#include "base/base.h"
#include "dockerfile/dockerfile.h"

/* ---- image references and patterns (ref.c) ----------------------------- */

/* A reference normalised as Docker does. The familiar_* flags remember
 * what the text left out, so a rewritten reference is spelled like the
 * one it replaces. */
struct policy_ref {
	char *domain; /* "docker.io", "registry.example:5000" */
	char *path;   /* "library/debian" */
	char *tag;    /* NULL when none was written (":latest" is implied without a digest) */
	char *digest; /* NULL when none was written */
	bool familiar_domain;  /* no registry was written */
	bool familiar_library; /* "library/" was implied */
};
int policy_ref_parse(const char *text, struct policy_ref *ref, struct petra_error **err);
void policy_ref_release(struct policy_ref *ref);
void policy_ref_copy(struct policy_ref *dst, const struct policy_ref *src);
enum {
	POLICY_REF_FAMILIAR = 1 << 0,  /* leave out what the original left out; no implied tag */
	POLICY_REF_NO_DIGEST = 1 << 1, /* leave out the digest */
};
/* "docker.io/library/debian:12@sha256:..." (":latest" when neither tag nor
 * digest), or spelled as written with POLICY_REF_FAMILIAR. Caller frees. */
char *policy_ref_format(const struct policy_ref *ref, unsigned flags);
/* "docker.io/library/debian". Caller frees. */
char *policy_ref_name(const struct policy_ref *ref);
bool policy_tag_valid(const char *tag);
bool policy_digest_valid(const char *digest);

/* Glob: "**" any run of characters, "*" any run without "/", "?" one
 * character but "/", everything else literal. Linear in the text for a
 * given pattern, whatever the pattern. */
bool policy_glob_match(const char *pattern, const char *text);
/* Normalise a pattern's name part as a reference's ("debian:12*" is
 * "docker.io/library/debian:12*"); a pattern starting with "*" is kept. */
int policy_pattern_normalize(const char *pattern, char **out, struct petra_error **err);
/* Does a normalised pattern match a reference? Its last component says
 * what it is matched against: with "@" the digest (a digest pin), with
 * ":" the tag (":latest" when none), with neither any tag and digest of
 * the repository. */
bool policy_pattern_match(const char *pattern, const struct policy_ref *ref);

/* ---- the policy (policy.c) --------------------------------------------- */

/* Where the policy lives when --policy is not given. */
#define PETRA_POLICY_DEFAULT ".petra/policy.yaml"

struct policy_pattern {
	char *text;    /* as written */
	char *pattern; /* normalised (policy_pattern_normalize) */
	unsigned line;
};

struct policy_ban {
	char *text;    /* the image pattern or digest as written */
	char *pattern; /* normalised image pattern; NULL for a digest ban */
	char *digest;  /* "sha256:..." for a digest ban; NULL otherwise */
	char *reason;
	unsigned line;
};

enum policy_rewrite_kind {
	POLICY_REWRITE_REPLACE, /* match: PATTERN, to: REFERENCE (a version bump, a rename) */
	POLICY_REWRITE_PIN,     /* match: PATTERN, pin: DIGEST (a tag pinned to a digest) */
	POLICY_REWRITE_MIRROR,  /* mirror: PREFIX, to: PREFIX (a registry mirror) */
};

struct policy_rewrite {
	char *id; /* `id:` or "rewrite #N" */
	enum policy_rewrite_kind kind;
	char *match;          /* REPLACE, PIN: normalised pattern */
	struct policy_ref to; /* REPLACE: the replacement */
	bool to_has_ref;      /* REPLACE: `to` had a tag or digest (else they are kept) */
	char *digest;         /* PIN */
	char *prefix_from;    /* MIRROR: normalised name prefix, no trailing "/" */
	char *prefix_to;      /* MIRROR */
	char *reason;
	unsigned line;
};

struct policy_bases {
	bool require_digest;          /* every base must be pinned by digest */
	struct policy_pattern *allow; /* empty: no catalog, every base not banned is allowed */
	size_t n_allow;
	struct policy_ban *ban;
	size_t n_ban;
	struct policy_rewrite *rewrite;
	size_t n_rewrite;
};

struct petra_policy;

/* Load and validate a policy file. */
int petra_policy_load(int dirfd, const char *path, struct petra_policy **out,
		      struct petra_error **err);
/* From memory (tests, fuzzing); name is used in messages. */
int petra_policy_parse(const char *data, size_t len, const char *name, struct petra_policy **out,
		       struct petra_error **err);
/* `path` if given (it must exist), else PETRA_POLICY_DEFAULT in the
 * current directory when it exists, else *out = NULL and 0: no policy. */
int petra_policy_load_default(const char *path, struct petra_policy **out,
			      struct petra_error **err);
void petra_policy_free(struct petra_policy *policy);
static inline void petra_policy_freep(struct petra_policy **p)
{
	petra_policy_free(*p);
}
#define _cleanup_policy_ _cleanup_(petra_policy_freep)

const char *petra_policy_path(const struct petra_policy *policy);
const struct policy_bases *petra_policy_bases(const struct petra_policy *policy);
/* A top-level section as written ("build", "run", "audit", "harden",
 * "sign", "deploy"), for the module that owns it to validate and read; NULL
 * when the file has none. Always a JSON object: the loader checks that. */
const json_t *petra_policy_section(const struct petra_policy *policy, const char *name);
/* The document, for petra_yaml_position/petra_yaml_error/check_keys on a
 * section's nodes. */
const struct petra_yaml *petra_policy_yaml(const struct petra_policy *policy);

/* ---- the base catalog (bases.c) ---------------------------------------- */

enum policy_base_status {
	POLICY_BASE_ALLOWED,      /* in the catalog (or there is no catalog) */
	POLICY_BASE_NOT_APPROVED, /* a catalog exists and no entry matches */
	POLICY_BASE_BANNED,       /* a ban matches: see reason */
};

struct policy_base_verdict {
	enum policy_base_status status;
	const char *entry;  /* the allow or ban entry that decided, as written; NULL otherwise */
	const char *reason; /* BANNED: the ban's reason */
	unsigned line;      /* the entry's line in the policy file */
	bool pinned;        /* the reference (or resolved_digest) carries a digest */
};

/* Check a base image reference. resolved_digest (may be NULL) is the
 * manifest digest the caller resolved the reference to: a ban on that
 * digest applies even when the reference names only a tag. A ban wins
 * over an allow. policy NULL: everything is allowed. */
int petra_policy_check_base(const struct petra_policy *policy, const char *ref,
			    const char *resolved_digest, struct policy_base_verdict *out,
			    struct petra_error **err);
const char *policy_base_status_name(enum policy_base_status status);

struct policy_rewrite_step {
	const struct policy_rewrite *rule;
	char *before, *after; /* normalised */
};

struct policy_rewrite_result {
	char *ref; /* the new reference, spelled like the input; NULL when no rule applied */
	struct policy_rewrite_step *steps;
	size_t n_steps;
};

/* Apply the rewrite rules in file order, each at most once, each to the
 * result of those before it. No rule applying is not an error
 * (out->ref NULL). */
int petra_policy_rewrite_base(const struct petra_policy *policy, const char *ref,
			      struct policy_rewrite_result *out, struct petra_error **err);
void policy_rewrite_result_release(struct policy_rewrite_result *r);

/* ---- rebase (rebase.c) ------------------------------------------------- */

struct policy_rebase_edit {
	size_t start, end; /* the source bytes replaced */
	char *before;      /* the reference as written */
	char *after;       /* what replaces it */
	unsigned line, col;
	const char *where; /* "FROM", "COPY --from", "ARG" (a global ARG a FROM uses) */
	struct policy_rewrite_result result;
};

struct policy_rebase {
	struct policy_rebase_edit *edits; /* in source order, never overlapping */
	size_t n_edits;
	struct strvec notes; /* references that could not be rewritten in place, and why */
	char *output;        /* the new file: the source with the edits applied */
	size_t output_len;
};

/* Apply the rewrite rules to every FROM image and COPY --from image of a
 * parsed Dockerfile. FROM $VAR is followed to a global ARG default when
 * that default is written literally. Everything but the references is
 * kept byte for byte (comments, CRLF, escapes, spacing). */
int petra_policy_rebase(const struct petra_policy *policy, const struct dockerfile *df,
			struct policy_rebase *out, struct petra_error **err);
void policy_rebase_release(struct policy_rebase *rb);
/* A unified diff (3 lines of context) between df's source and rb's output,
 * with "a/<name>" and "b/<name>" headers; nothing when there are no edits. */
void policy_rebase_diff(const struct dockerfile *df, const struct policy_rebase *rb,
			const char *name, struct strbuf *out);

#endif
