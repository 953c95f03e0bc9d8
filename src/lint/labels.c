/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PL119-PL121: labels. Keys follow Docker's naming guidance; values of the
 * OCI image annotations (and of any label the config's schema types) must
 * have their type; labels the schema lists must be on the runtime image.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

/* The OCI annotations petra knows the type of. */
static const struct {
	const char *name;
	enum lint_label_type type;
} oci_labels[] = {
    {"org.opencontainers.image.created", LINT_LABEL_RFC3339},
    {"org.opencontainers.image.url", LINT_LABEL_URL},
    {"org.opencontainers.image.source", LINT_LABEL_URL},
    {"org.opencontainers.image.documentation", LINT_LABEL_URL},
    {"org.opencontainers.image.licenses", LINT_LABEL_SPDX},
    {"org.opencontainers.image.revision", LINT_LABEL_TEXT},
    {"org.opencontainers.image.version", LINT_LABEL_TEXT},
    {"org.opencontainers.image.authors", LINT_LABEL_TEXT},
    {"org.opencontainers.image.vendor", LINT_LABEL_TEXT},
    {"org.opencontainers.image.title", LINT_LABEL_TEXT},
    {"org.opencontainers.image.description", LINT_LABEL_TEXT},
};

static const char *const type_names[] = {"text", "url",  "rfc3339", "semver",
					 "hash", "spdx", "email"};

const char *lint_label_type_name(enum lint_label_type t)
{
	return (size_t)t < ARRAY_SIZE(type_names) ? type_names[t] : "?";
}

int lint_label_type_parse(const char *name, enum lint_label_type *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(type_names); i++)
		if (!strcmp(name, type_names[i])) {
			*out = (enum lint_label_type)i;
			return 0;
		}
	return -EINVAL;
}

static bool key_valid(const char *k)
{
	static const char *const reserved[] = {"com.docker.", "io.docker.", "org.dockerproject.",
					       NULL};
	for (size_t i = 0; reserved[i]; i++)
		if (!strncmp(k, reserved[i], strlen(reserved[i])))
			return false;
	if (!*k)
		return false;
	char prev = '.';
	for (const char *p = k; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
		bool sep = *p == '.' || *p == '-';
		if (!alnum && !sep)
			return false;
		if (sep && (prev == '.' || prev == '-'))
			return false;
		prev = *p;
	}
	return prev != '.' && prev != '-';
}

static bool semver_valid(const char *s)
{
	for (int part = 0; part < 3; part++) {
		size_t n = strspn(s, "0123456789");
		if (!n || (n > 1 && s[0] == '0'))
			return false;
		s += n;
		if (part < 2 && *s++ != '.')
			return false;
	}
	/* then -prerelease and +build, each identifiers and dots */
	static const char ident[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-";
	for (const char *mark = "-+"; *mark; mark++) {
		if (*s != *mark)
			continue;
		size_t n = strspn(++s, ident);
		if (!n)
			return false;
		s += n;
	}
	return *s == '\0';
}

/* An SPDX expression: identifiers joined by AND, OR, WITH, in balanced
 * parentheses. */
static bool spdx_valid(const char *s)
{
	int depth = 0;
	bool want_id = true;
	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (*s == '(') {
			if (!want_id)
				return false;
			depth++;
			s++;
			continue;
		}
		if (*s == ')') {
			if (want_id || --depth < 0)
				return false;
			s++;
			continue;
		}
		size_t n =
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+-:");
		if (!n)
			return false;
		bool op = (n == 3 && !strncmp(s, "AND", 3)) || (n == 2 && !strncmp(s, "OR", 2)) ||
			  (n == 4 && !strncmp(s, "WITH", 4));
		if (op == want_id)
			return false;
		want_id = op;
		s += n;
	}
	return !want_id && depth == 0;
}

static bool value_valid(enum lint_label_type type, const char *v)
{
	time_t t;
	switch (type) {
	case LINT_LABEL_TEXT:
		return *v != '\0';
	case LINT_LABEL_URL: {
		const char *sep = strstr(v, "://");
		if (!sep || sep == v || !sep[3] || strpbrk(v, " \t\n"))
			return false;
		for (const char *p = v; p < sep; p++)
			if (!isalnum((unsigned char)*p) && !strchr("+.-", *p))
				return false;
		return true;
	}
	case LINT_LABEL_RFC3339:
		return time_parse_rfc3339(v, &t) == 0 && strchr(v, 'T');
	case LINT_LABEL_SEMVER:
		return semver_valid(v);
	case LINT_LABEL_HASH: {
		size_t n = strlen(v);
		return n >= 7 && n <= 64 && strspn(v, "0123456789abcdefABCDEF") == n;
	}
	case LINT_LABEL_SPDX:
		return spdx_valid(v);
	case LINT_LABEL_EMAIL: {
		const char *at = strchr(v, '@');
		return at && at > v && strchr(at, '.') && !strchr(at + 1, '@') &&
		       !strpbrk(v, " \t");
	}
	}
	return false;
}

static bool type_of(const struct lint_config *cfg, const char *key, enum lint_label_type *out)
{
	for (size_t i = 0; cfg && i < cfg->n_labels; i++)
		if (!strcmp(cfg->labels[i].name, key)) {
			*out = cfg->labels[i].type;
			return true;
		}
	for (size_t i = 0; i < ARRAY_SIZE(oci_labels); i++)
		if (!strcmp(oci_labels[i].name, key)) {
			*out = oci_labels[i].type;
			return true;
		}
	return false;
}

/* Quotes and escapes removed; NULL when the word uses variables. */
static char *unquote(const struct dockerfile *df, const char *word)
{
	if (strchr(word, '$'))
		return NULL;
	struct dockerfile_expander ex = {.escape = df->escape};
	char *out = NULL;
	struct petra_error *err = NULL;
	if (dockerfile_expand_word(&ex, word, &out, &err) < 0) {
		petra_error_free(err);
		return NULL;
	}
	return out;
}

void lint_check_labels(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	const struct lint_config *cfg = c->l->opts.config;
	struct strset present = STRSET_INIT;
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		if (in->kind != DOCKERFILE_LABEL || in->stage == DOCKERFILE_GLOBAL)
			continue;
		for (size_t k = 0; k + 1 < in->n_args; k += 3) {
			_cleanup_free_ char *key = unquote(df, in->args[k].text);
			if (!key)
				continue;
			if (c->stages[in->stage].runtime)
				strset_add(&present, key);
			if (!key_valid(key))
				lint_report(
				    c, "PL119", in, &in->args[k],
				    "label key \"%s\": use lower-case letters, digits, dots "
				    "and dashes in a reverse-DNS name, outside com.docker, "
				    "io.docker and org.dockerproject",
				    key);
			enum lint_label_type type;
			if (!type_of(cfg, key, &type))
				continue;
			_cleanup_free_ char *value = unquote(df, in->args[k + 1].text);
			if (value && !value_valid(type, value))
				lint_report(c, "PL120", in, &in->args[k + 1],
					    "label %s: \"%s\" is not %s %s", key, value,
					    type == LINT_LABEL_URL || type == LINT_LABEL_RFC3339
						? "a"
						: "valid",
					    type == LINT_LABEL_TEXT ? "text" : type_names[type]);
		}
	}
	if (cfg && cfg->n_labels && df->n_stages) {
		const struct dockerfile_instruction *from =
		    &df->instructions[df->stages[c->runtime].from];
		for (size_t i = 0; i < cfg->n_labels; i++)
			if (!strset_contains(&present, cfg->labels[i].name))
				lint_report(c, "PL121", from, NULL,
					    "the runtime image has no label %s (required by %s)",
					    cfg->labels[i].name,
					    cfg->path ? cfg->path : "the config");
	}
	strset_clear(&present);
}
