/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references the way Docker normalises them ("debian:12" is
 * "docker.io/library/debian:12"), so one policy pattern matches however a
 * Dockerfile spells a base, and glob patterns over them.
 */
#include "policy.h"

#include <ctype.h>
#include <string.h>

#define REF_NAME_MAX 255 /* the distribution spec's limit on a name */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A path component: [a-z0-9]+ joined by ".", "_", "__" or runs of "-". */
static bool path_component_valid(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (is_lower_alnum(s[i]))
			continue;
		size_t j = i;
		while (j < n && !is_lower_alnum(s[j]))
			j++;
		const char *sep = s + i;
		size_t len = j - i;
		bool dashes = strspn(sep, "-") >= len;
		if (!(dashes || (len == 1 && (*sep == '.' || *sep == '_')) ||
		      (len == 2 && sep[0] == '_' && sep[1] == '_')))
			return false;
		i = j - 1;
	}
	return true;
}

/* host[:port], host being DNS labels or a bracketed IPv6 address. */
static bool domain_valid(const char *s, size_t n)
{
	size_t host_end = n;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		host_end = (size_t)(close - s) + 1;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon)
			host_end = (size_t)(colon - s);
		size_t label = 0;
		for (size_t i = 0; i <= host_end; i++) {
			if (i == host_end || s[i] == '.') {
				if (label == 0 || s[i - 1] == '-')
					return false;
				label = 0;
				continue;
			}
			if (!isalnum((unsigned char)s[i]) && !(s[i] == '-' && label > 0))
				return false;
			label++;
		}
	}
	if (host_end == n)
		return true;
	if (s[host_end] != ':' || host_end + 1 == n)
		return false;
	for (size_t i = host_end + 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool policy_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > 128 || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
			return false;
	return true;
}

bool policy_digest_valid(const char *digest)
{
	const char *colon = strchr(digest, ':');
	if (!colon || colon == digest)
		return false;
	size_t alg = (size_t)(colon - digest);
	const char *hex = colon + 1;
	size_t n = strlen(hex);
	for (size_t i = 0; i < alg; i++)
		if (!is_lower_alnum(digest[i]) &&
		    !(i > 0 && strchr("+._-", digest[i]) && is_lower_alnum(digest[i + 1])))
			return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)hex[i]))
			return false;
	if (alg == 6 && !memcmp(digest, "sha256", 6))
		return n == 64 && strspn(hex, "0123456789abcdef") == 64;
	if (alg == 6 && !memcmp(digest, "sha512", 6))
		return n == 128 && strspn(hex, "0123456789abcdef") == 128;
	return n >= 32;
}

/* Docker's rule: the first component is a registry when it has a "." or
 * a ":" or is "localhost" (or is not lower case, so it cannot be a path). */
static bool looks_like_domain(const char *s, size_t n)
{
	if (memchr(s, '.', n) || memchr(s, ':', n))
		return true;
	if (n == 9 && !memcmp(s, "localhost", 9))
		return true;
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)s[i]))
			return true;
	return false;
}

int policy_ref_parse(const char *text, struct policy_ref *ref, struct petra_error **err)
{
	memset(ref, 0, sizeof(*ref));
	_cleanup_free_ char *q = str_quote(text ? text : "");
	if (!text || !*text)
		return petra_error_set(err, EINVAL, "empty image reference");
	_cleanup_free_ char *copy = xstrdup(text);
	char *at = strchr(copy, '@');
	if (at) {
		*at = '\0';
		if (!policy_digest_valid(at + 1))
			return petra_error_set(err, EINVAL, "image reference %s: invalid digest",
					       q);
	}
	char *last_slash = strrchr(copy, '/');
	char *colon = strrchr(last_slash ? last_slash : copy, ':');
	if (colon) {
		*colon = '\0';
		if (!policy_tag_valid(colon + 1))
			return petra_error_set(err, EINVAL,
					       "image reference %s: invalid tag (letters, digits, "
					       "'_', '.', '-'; at most 128)",
					       q);
	}
	const char *name = copy;
	const char *slash = strchr(name, '/');
	_cleanup_free_ char *domain = NULL;
	const char *path = name;
	if (slash && looks_like_domain(name, (size_t)(slash - name))) {
		if (!domain_valid(name, (size_t)(slash - name)))
			return petra_error_set(err, EINVAL, "image reference %s: invalid registry",
					       q);
		domain = xstrndup(name, (size_t)(slash - name));
		path = slash + 1;
	} else {
		domain = xstrdup("docker.io");
		ref->familiar_domain = true;
	}
	if (!strcmp(domain, "index.docker.io")) {
		free(domain);
		domain = xstrdup("docker.io");
	}
	for (const char *p = path;;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (!path_component_valid(p, n))
			return petra_error_set(
			    err, EINVAL,
			    "image reference %s: invalid name (lower-case letters, "
			    "digits and separators, optional registry host)",
			    q);
		if (!end)
			break;
		p = end + 1;
	}
	if (!strcmp(domain, "docker.io") && !strchr(path, '/')) {
		ref->path = xasprintf("library/%s", path);
		ref->familiar_library = true;
	} else {
		ref->path = xstrdup(path);
	}
	ref->domain = steal_pointer(&domain);
	if (strlen(ref->domain) + 1 + strlen(ref->path) > REF_NAME_MAX) {
		policy_ref_release(ref);
		return petra_error_set(err, EINVAL, "image reference %s: name longer than %d bytes",
				       q, REF_NAME_MAX);
	}
	if (colon)
		ref->tag = xstrdup(colon + 1);
	if (at)
		ref->digest = xstrdup(at + 1);
	return 0;
}

void policy_ref_release(struct policy_ref *ref)
{
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

void policy_ref_copy(struct policy_ref *dst, const struct policy_ref *src)
{
	dst->domain = xstrdup(src->domain);
	dst->path = xstrdup(src->path);
	dst->tag = src->tag ? xstrdup(src->tag) : NULL;
	dst->digest = src->digest ? xstrdup(src->digest) : NULL;
	dst->familiar_domain = src->familiar_domain;
	dst->familiar_library = src->familiar_library;
}

static void add_name(struct strbuf *sb, const struct policy_ref *ref, bool familiar)
{
	bool hub = !strcmp(ref->domain, "docker.io");
	if (!(familiar && hub && ref->familiar_domain))
		strbuf_addf(sb, "%s/", ref->domain);
	const char *path = ref->path;
	if (familiar && hub && ref->familiar_library && !strncmp(path, "library/", 8) &&
	    !strchr(path + 8, '/'))
		path += 8;
	strbuf_addstr(sb, path);
}

char *policy_ref_format(const struct policy_ref *ref, unsigned flags)
{
	struct strbuf sb = STRBUF_INIT;
	add_name(&sb, ref, flags & POLICY_REF_FAMILIAR);
	if (ref->tag)
		strbuf_addf(&sb, ":%s", ref->tag);
	else if (!ref->digest && !(flags & POLICY_REF_FAMILIAR))
		strbuf_addstr(&sb, ":latest");
	if (ref->digest && !(flags & POLICY_REF_NO_DIGEST))
		strbuf_addf(&sb, "@%s", ref->digest);
	return strbuf_detach(&sb);
}

char *policy_ref_name(const struct policy_ref *ref)
{
	return xasprintf("%s/%s", ref->domain, ref->path);
}

/* ---- patterns ------------------------------------------------------------ */

/*
 * Glob over a normalised reference: "**" any run of characters, "*" any
 * run without "/", "?" one character other than "/"; the rest literal.
 * Dynamic programming over the pattern, one row per text byte, so no
 * pattern makes it slow.
 */
bool policy_glob_match(const char *pattern, const char *text)
{
	/* Tokens: '*' any run without '/', 'D' ("**") any run, '?' one
	 * character but '/', 'c' the literal in lit[]. */
	size_t m = 0, n = strlen(text), plen = strlen(pattern);
	_cleanup_free_ char *tok = xmalloc(plen + 1);
	_cleanup_free_ char *lit = xmalloc(plen + 1);
	for (size_t k = 0; k < plen; k++, m++) {
		if (pattern[k] == '*' && pattern[k + 1] == '*') {
			tok[m] = 'D';
			while (pattern[k + 1] == '*')
				k++;
		} else if (pattern[k] == '*' || pattern[k] == '?') {
			tok[m] = pattern[k];
		} else {
			tok[m] = 'c';
			lit[m] = pattern[k];
		}
	}
	/* prev[j]: tokens[0..j) match text[0..i-1); cur[j]: ... text[0..i) */
	_cleanup_free_ bool *prev = xcalloc(m + 1, sizeof(bool));
	_cleanup_free_ bool *cur = xcalloc(m + 1, sizeof(bool));
	cur[0] = true;
	for (size_t j = 1; j <= m; j++)
		cur[j] = cur[j - 1] && (tok[j - 1] == '*' || tok[j - 1] == 'D');
	for (size_t i = 1; i <= n; i++) {
		char c = text[i - 1];
		bool *t = prev;
		prev = cur;
		cur = t;
		cur[0] = false;
		for (size_t j = 1; j <= m; j++) {
			switch (tok[j - 1]) {
			case '*':
				cur[j] = cur[j - 1] || (prev[j] && c != '/');
				break;
			case 'D':
				cur[j] = cur[j - 1] || prev[j];
				break;
			case '?':
				cur[j] = prev[j - 1] && c != '/';
				break;
			default:
				cur[j] = prev[j - 1] && c == lit[j - 1];
			}
		}
	}
	return cur[m];
}

int policy_pattern_normalize(const char *pattern, char **out, struct petra_error **err)
{
	*out = NULL;
	_cleanup_free_ char *q = str_quote(pattern);
	if (!*pattern)
		return petra_error_set(err, EINVAL, "empty image pattern");
	for (const char *p = pattern; *p; p++)
		if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20)
			return petra_error_set(err, EINVAL, "image pattern %s: holds a space", q);
	const char *slash = strchr(pattern, '/');
	if (pattern[0] == '*') {
		/* A pattern that starts with a wildcard spans registries. */
		*out = xstrdup(pattern);
	} else if (!slash) {
		*out = xasprintf("docker.io/library/%s", pattern);
	} else {
		size_t n = (size_t)(slash - pattern);
		if (!looks_like_domain(pattern, n))
			*out = xasprintf("docker.io/%s", pattern);
		else if (n == 15 && !memcmp(pattern, "index.docker.io", 15))
			*out = xasprintf("docker.io%s", slash);
		else
			*out = xstrdup(pattern);
	}
	/* library/ is implied only for single-component hub names */
	if (!strncmp(*out, "docker.io/library/library/", 26))
		memmove(*out + 10, *out + 18, strlen(*out + 18) + 1);
	return 0;
}

bool policy_pattern_match(const char *pattern, const struct policy_ref *ref)
{
	const char *last = strrchr(pattern, '/');
	last = last ? last + 1 : pattern;
	const char *at = strchr(last, '@');
	const char *colon = strchr(last, ':');
	bool has_digest = at != NULL;
	bool has_tag = colon && (!at || colon < at);
	if (has_digest && !ref->digest)
		return false;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	add_name(&sb, ref, false);
	if (has_tag) {
		if (!ref->tag && ref->digest)
			return false;
		strbuf_addf(&sb, ":%s", ref->tag ? ref->tag : "latest");
	}
	if (has_digest)
		strbuf_addf(&sb, "@%s", ref->digest);
	return policy_glob_match(pattern, sb.buf);
}
