/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: name[:tag][@digest], validated as the distribution
 * spec's grammar asks. */
#include "oci.h"

#include <ctype.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := alnum+ (separator alnum+)*, separator := [_.] | "__" | "-"+ */
static bool path_component_valid(const char *s, size_t len)
{
	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	for (size_t i = 0; i < len;) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && !is_lower_alnum(s[j]))
			j++;
		size_t seplen = j - i;
		const char *sep = s + i;
		bool ok = (seplen == 1 && (*sep == '.' || *sep == '_')) ||
			  (seplen == 2 && sep[0] == '_' && sep[1] == '_');
		if (!ok) {
			ok = true;
			for (size_t k = 0; k < seplen; k++)
				ok = ok && sep[k] == '-';
		}
		if (!ok)
			return false;
		i = j;
	}
	return true;
}

/* host[:port], host := label ("." label)*, label := [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? */
static bool domain_valid(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	size_t hostlen = colon ? (size_t)(colon - s) : len;
	if (colon) {
		size_t portlen = len - hostlen - 1;
		if (portlen == 0 || portlen > 5)
			return false;
		for (size_t i = 0; i < portlen; i++)
			if (!isdigit((unsigned char)colon[1 + i]))
				return false;
	}
	if (hostlen == 0)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= hostlen; i++) {
		if (i < hostlen && s[i] != '.')
			continue;
		size_t l = i - start;
		if (l == 0 || !isalnum((unsigned char)s[start]) ||
		    !isalnum((unsigned char)s[i - 1]))
			return false;
		for (size_t k = start; k < i; k++)
			if (!isalnum((unsigned char)s[k]) && s[k] != '-')
				return false;
		start = i + 1;
	}
	return true;
}

bool oci_tag_valid(const char *tag)
{
	size_t len = strlen(tag);
	if (len == 0 || len > 128)
		return false;
	if (!(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)tag[i]) || tag[i] == '_' || tag[i] == '.' ||
		      tag[i] == '-'))
			return false;
	return true;
}

static bool name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 255)
		return false;
	const char *slash = strchr(name, '/');
	const char *p = name;
	if (slash) {
		size_t first = (size_t)(slash - name);
		/* The first component is a registry host when it looks like one. */
		bool is_domain = memchr(name, '.', first) || memchr(name, ':', first) ||
				 (first == 9 && !strncmp(name, "localhost", 9));
		for (size_t i = 0; i < first && !is_domain; i++)
			if (isupper((unsigned char)name[i]))
				is_domain = true;
		if (is_domain) {
			if (!domain_valid(name, first))
				return false;
			p = slash + 1;
		}
	}
	while (*p) {
		const char *end = strchr(p, '/');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		if (!path_component_valid(p, l))
			return false;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return false;
	}
	return true;
}

int oci_ref_parse(const char *text, struct oci_ref *ref, struct petra_error **err)
{
	memset(ref, 0, sizeof(*ref));
	if (!text || !*text)
		return petra_error_set(err, EINVAL, "empty image reference");
	_cleanup_free_ char *copy = xstrdup(text);
	char *at = strchr(copy, '@');
	if (at) {
		*at = '\0';
		if (oci_digest_check(at + 1, err) < 0)
			return petra_error_prefix(err, "reference \"%s\"", text);
	}
	char *last_slash = strrchr(copy, '/');
	char *colon = strrchr(last_slash ? last_slash : copy, ':');
	if (colon) {
		*colon = '\0';
		if (!oci_tag_valid(colon + 1))
			return petra_error_set(
			    err, EINVAL,
			    "reference \"%s\": invalid tag \"%s\" (letters, digits, "
			    "'_', '.', '-'; at most 128)",
			    text, colon + 1);
	}
	if (!name_valid(copy))
		return petra_error_set(err, EINVAL,
				       "reference \"%s\": invalid name \"%s\" (lower-case letters, "
				       "digits and separators, optional registry host)",
				       text, copy);
	ref->name = xstrdup(copy);
	if (colon)
		ref->tag = xstrdup(colon + 1);
	else if (!at)
		ref->tag = xstrdup("latest");
	if (at)
		ref->digest = xstrdup(at + 1);
	return 0;
}

char *oci_ref_format(const struct oci_ref *ref)
{
	if (ref->tag)
		return xasprintf("%s:%s", ref->name, ref->tag);
	return xasprintf("%s@%s", ref->name, ref->digest ? ref->digest : "");
}

void oci_ref_release(struct oci_ref *ref)
{
	free(ref->name);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}
