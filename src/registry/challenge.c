/* SPDX-License-Identifier: Apache-2.0 */
/* WWW-Authenticate: the challenge a 401 carries (RFC 7235). Only the first
 * challenge is read; registries send one. */
#include "internal.h"

#include <ctype.h>
#include <string.h>

static bool is_token_char(char c)
{
	return c && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

void registry_challenge_release(struct registry_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

int registry_challenge_parse(const char *header, struct registry_challenge *c,
			     struct petra_error **err)
{
	memset(c, 0, sizeof(*c));
	const char *p = skip_space(header);
	const char *start = p;
	while (is_token_char(*p))
		p++;
	if (p == start)
		return petra_error_set(err, EINVAL, "WWW-Authenticate: no auth scheme");
	c->scheme = xstrndup(start, (size_t)(p - start));
	p = skip_space(p);
	while (*p) {
		const char *name = p;
		while (is_token_char(*p))
			p++;
		size_t name_len = (size_t)(p - name);
		p = skip_space(p);
		if (name_len && *p != '=' && name != skip_space(header) && is_token_char(*p))
			break; /* the next challenge: only the first is read */
		if (!name_len || *p != '=') {
			registry_challenge_release(c);
			return petra_error_set(
			    err, EINVAL, "WWW-Authenticate: expected name=value at offset %zu",
			    (size_t)(name - header));
		}
		p = skip_space(p + 1);
		struct strbuf value = STRBUF_INIT;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				strbuf_addch(&value, *p++);
			}
			if (*p != '"') {
				strbuf_release(&value);
				registry_challenge_release(c);
				return petra_error_set(
				    err, EINVAL, "WWW-Authenticate: unterminated quoted string");
			}
			p++;
		} else {
			const char *v = p;
			while (is_token_char(*p) || *p == '/' || *p == ':')
				p++;
			strbuf_add(&value, v, (size_t)(p - v));
		}
		char **slot = NULL;
		if (name_len == 5 && !strncasecmp(name, "realm", 5))
			slot = &c->realm;
		else if (name_len == 7 && !strncasecmp(name, "service", 7))
			slot = &c->service;
		else if (name_len == 5 && !strncasecmp(name, "scope", 5))
			slot = &c->scope;
		else if (name_len == 5 && !strncasecmp(name, "error", 5))
			slot = &c->error;
		if (slot) {
			free(*slot);
			*slot = strbuf_detach(&value);
		} else {
			strbuf_release(&value);
		}
		p = skip_space(p);
		if (*p == ',') {
			p = skip_space(p + 1);
			continue;
		}
		if (*p) {
			registry_challenge_release(c);
			return petra_error_set(
			    err, EINVAL, "WWW-Authenticate: unexpected character at offset %zu",
			    (size_t)(p - header));
		}
	}
	return 0;
}
