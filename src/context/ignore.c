/* SPDX-License-Identifier: Apache-2.0 */
/*
 * .dockerignore, as Docker reads and matches it: moby/patternmatcher's
 * ReadAll (the file) and New/compile/MatchesOrParentMatches (the
 * patterns). A pattern becomes an exact name, a prefix ("dir**"), a
 * suffix ("**" + rest) or a regular expression, as there; the regular
 * expressions are PCRE2's, in byte mode.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <pcre2.h>
#include <string.h>

#define IGNORE_MAX_SIZE (4u << 20)

enum match_type { MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_REGEXP };

struct pattern {
	char *text; /* cleaned, without '!' */
	bool exclusion;
	enum match_type type;
	pcre2_code *re;
};

struct context_ignore {
	struct pattern *patterns;
	size_t n, alloc;
	bool exclusions;
};

void context_ignore_free(struct context_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++) {
		free(ig->patterns[i].text);
		pcre2_code_free(ig->patterns[i].re);
	}
	free(ig->patterns);
	free(ig);
}

size_t context_ignore_count(const struct context_ignore *ig)
{
	return ig ? ig->n : 0;
}

char *context_go_clean(const char *path)
{
	if (!*path)
		return xstrdup(".");
	bool rooted = path[0] == '/';
	struct strvec parts = STRVEC_INIT;
	size_t dotdot = 0; /* leading ".." that cannot be removed */
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (parts.n > dotdot) {
				free(parts.v[--parts.n]);
				parts.v[parts.n] = NULL;
			} else if (!rooted) {
				strvec_push(&parts, "..");
				dotdot++;
			}
		} else {
			char *c = xstrndup(p, len);
			strvec_push_nodup(&parts, c);
		}
		p += len;
	}
	struct strbuf sb = STRBUF_INIT;
	if (rooted)
		strbuf_addch(&sb, '/');
	for (size_t i = 0; i < parts.n; i++) {
		if (i)
			strbuf_addch(&sb, '/');
		strbuf_addstr(&sb, parts.v[i]);
	}
	strvec_clear(&parts);
	if (!sb.len)
		strbuf_addch(&sb, '.');
	return strbuf_detach(&sb);
}

/* The syntax check Go's filepath.Match makes (ErrBadPattern): a trailing
 * backslash, an unterminated or empty character class, a bad range. */
static bool go_pattern_valid(const char *p)
{
	for (; *p; p++) {
		if (*p == '\\') {
			if (!*++p)
				return false;
		} else if (*p == '[') {
			p++;
			if (*p == '^')
				p++;
			size_t nrange = 0;
			for (;;) {
				if (*p == ']' && nrange > 0)
					break;
				if (!*p || *p == '-' || *p == ']')
					return false;
				if (*p == '\\' && !*++p)
					return false;
				unsigned char lo = (unsigned char)*p++;
				if (*p == '-') {
					p++;
					if (!*p || *p == ']' || *p == '-')
						return false;
					if (*p == '\\' && !*++p)
						return false;
					if ((unsigned char)*p < lo)
						return false;
					p++;
				}
				nrange++;
			}
		}
	}
	return true;
}

/* patternmatcher's compile(): the pattern as a match type and, for
 * regexp matches, a regular expression. */
static int compile(struct pattern *pat, struct petra_error **err)
{
	static const char escape[] = ".+()|{}$";
	struct strbuf re = STRBUF_INIT;
	strbuf_addch(&re, '^');
	pat->type = MATCH_EXACT;
	const char *p = pat->text;
	for (size_t i = 0; *p; i++) {
		char ch = *p++;
		if (ch == '*') {
			if (*p == '*') {
				p++;
				if (*p == '/')
					p++;
				if (!*p) {
					if (pat->type == MATCH_EXACT) {
						pat->type = MATCH_PREFIX;
					} else {
						strbuf_addstr(&re, ".*");
						pat->type = MATCH_REGEXP;
					}
				} else {
					strbuf_addstr(&re, "(.*/)?");
					pat->type = MATCH_REGEXP;
				}
				if (i == 0)
					pat->type = MATCH_SUFFIX;
			} else {
				strbuf_addstr(&re, "[^/]*");
				pat->type = MATCH_REGEXP;
			}
		} else if (ch == '?') {
			strbuf_addstr(&re, "[^/]");
			pat->type = MATCH_REGEXP;
		} else if (strchr(escape, ch)) {
			strbuf_addch(&re, '\\');
			strbuf_addch(&re, ch);
		} else if (ch == '\\') {
			if (*p) {
				strbuf_addch(&re, '\\');
				strbuf_addch(&re, *p++);
				pat->type = MATCH_REGEXP;
			} else {
				strbuf_addstr(&re, "\\\\");
			}
		} else if (ch == '[' || ch == ']') {
			strbuf_addch(&re, ch);
			pat->type = MATCH_REGEXP;
		} else {
			strbuf_addch(&re, ch);
		}
	}
	if (pat->type != MATCH_REGEXP) {
		strbuf_release(&re);
		return 0;
	}
	strbuf_addch(&re, '$');
	int code;
	PCRE2_SIZE offset;
	pat->re = pcre2_compile((PCRE2_SPTR)re.buf, re.len, PCRE2_DOTALL, &code, &offset, NULL);
	strbuf_release(&re);
	if (!pat->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof(msg));
		return petra_error_set(err, EINVAL, "pattern \"%s\": %s", pat->text, (char *)msg);
	}
	return 0;
}

static bool pattern_match(const struct pattern *pat, const char *path)
{
	size_t len = strlen(pat->text);
	switch (pat->type) {
	case MATCH_EXACT:
		return !strcmp(path, pat->text);
	case MATCH_PREFIX:
		return !strncmp(path, pat->text, len - 2);
	case MATCH_SUFFIX: {
		const char *suffix = pat->text + 2;
		size_t sl = len - 2, pl = strlen(path);
		if (pl >= sl && !strcmp(path + pl - sl, suffix))
			return true;
		/* "**\/foo" matches "foo" */
		return suffix[0] == '/' && !strcmp(path, suffix + 1);
	}
	case MATCH_REGEXP: {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(pat->re, NULL);
		int rc = pcre2_match(pat->re, (PCRE2_SPTR)path, strlen(path), 0, 0, md, NULL);
		pcre2_match_data_free(md);
		return rc >= 0;
	}
	}
	return false;
}

static int add_pattern(struct context_ignore *ig, const char *line, unsigned lineno,
		       const char *what, struct petra_error **err)
{
	_cleanup_free_ char *clean = context_go_clean(line);
	struct pattern pat = {0};
	const char *text = clean;
	if (text[0] == '!') {
		if (!text[1])
			return petra_error_set(
			    err, EINVAL, "%s:%u: illegal exclusion pattern: \"!\"", what, lineno);
		pat.exclusion = true;
		ig->exclusions = true;
		text++;
	}
	if (!go_pattern_valid(text))
		return petra_error_set(err, EINVAL, "%s:%u: syntax error in pattern \"%s\"", what,
				       lineno, text);
	pat.text = xstrdup(text);
	int r = compile(&pat, err);
	if (r < 0) {
		free(pat.text);
		return petra_error_prefix(err, "%s:%u", what, lineno);
	}
	xgrow((void **)&ig->patterns, &ig->alloc, ig->n + 1, sizeof(*ig->patterns));
	ig->patterns[ig->n++] = pat;
	return 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

int context_ignore_parse(const char *text, size_t len, const char *what,
			 struct context_ignore **out, struct petra_error **err)
{
	struct context_ignore *ig = xcalloc(1, sizeof(*ig));
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
		text += 3;
		len -= 3;
	}
	unsigned lineno = 0;
	while (len) {
		const char *nl = memchr(text, '\n', len);
		size_t ll = nl ? (size_t)(nl - text) : len;
		const char *line = text;
		text += nl ? ll + 1 : ll;
		len -= nl ? ll + 1 : ll;
		lineno++;
		/* Comments are recognised before whitespace is trimmed. */
		if (ll && line[0] == '#')
			continue;
		trim(&line, &ll);
		if (!ll)
			continue;
		bool invert = line[0] == '!';
		if (invert) {
			line++;
			ll--;
			trim(&line, &ll);
		}
		_cleanup_free_ char *pattern = xstrndup(line, ll);
		if (*pattern) {
			char *clean = context_go_clean(pattern);
			free(pattern);
			pattern = clean;
			if (pattern[0] == '/' && pattern[1]) {
				char *rel = xstrdup(pattern + 1);
				free(pattern);
				pattern = rel;
			}
		}
		_cleanup_free_ char *full = invert ? xasprintf("!%s", pattern) : xstrdup(pattern);
		int r = add_pattern(ig, full, lineno, what, err);
		if (r < 0) {
			context_ignore_free(ig);
			return r;
		}
	}
	*out = ig;
	return 0;
}

int context_ignore_load(int dirfd, const char *name, struct context_ignore **out,
			struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	_cleanup_error_ struct petra_error *read_err = NULL;
	int r = fs_read_file_at(dirfd, name, IGNORE_MAX_SIZE, &data, &len, &read_err);
	if (r == -ENOENT) {
		*out = xcalloc(1, sizeof(**out));
		return 0;
	}
	if (r < 0) {
		*err = steal_pointer(&read_err);
		return r;
	}
	return context_ignore_parse(data, len, name, out, err);
}

bool context_ignore_match(const struct context_ignore *ig, const char *path)
{
	if (!ig || !ig->n || !*path)
		return false;
	bool matched = false;
	for (size_t i = 0; i < ig->n; i++) {
		const struct pattern *pat = &ig->patterns[i];
		/* An inclusion cannot change a match, an exclusion cannot
		 * change a non-match. */
		if (pat->exclusion != matched)
			continue;
		bool match = pattern_match(pat, path);
		/* Or one of the parent directories, shortest first. */
		for (const char *slash = strchr(path, '/'); !match && slash;
		     slash = strchr(slash + 1, '/')) {
			_cleanup_free_ char *parent = xstrndup(path, (size_t)(slash - path));
			match = pattern_match(pat, parent);
		}
		if (match)
			matched = !pat->exclusion;
	}
	return matched;
}

bool context_ignore_may_include_below(const struct context_ignore *ig, const char *dir)
{
	if (!ig || !ig->exclusions)
		return false;
	size_t dl = strlen(dir);
	for (size_t i = 0; i < ig->n; i++) {
		const struct pattern *pat = &ig->patterns[i];
		if (!pat->exclusion)
			continue;
		/* BuildKit's walker makes a plain prefix test: "!dir/keep"
		 * enters "dir", "!**\/keep" does not (moby/moby#30018). */
		if (!strncmp(pat->text, dir, dl) && pat->text[dl] == '/')
			return true;
	}
	return false;
}
