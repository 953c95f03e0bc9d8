/* SPDX-License-Identifier: Apache-2.0 */
/* registries.conf (v2): the subset of TOML it uses, read into the
 * [[registry]] entries petra needs (prefix, location, insecure, blocked,
 * [[registry.mirror]]). Other tables and keys are parsed and ignored, so a
 * file written for podman is accepted as it is. */
#include "internal.h"

#include <ctype.h>
#include <string.h>

enum section { SECTION_TOP, SECTION_REGISTRY, SECTION_MIRROR, SECTION_OTHER };

struct toml {
	const char *p, *end;
	unsigned line;
	struct petra_error **err;
};

static int toml_fail(struct toml *t, const char *what)
{
	return petra_error_set(t->err, EINVAL, "registries.conf:%u: %s", t->line, what);
}

/* Spaces, tabs, comments; newlines too when `lines`. */
static void toml_skip(struct toml *t, bool lines)
{
	while (t->p < t->end) {
		char c = *t->p;
		if (c == ' ' || c == '\t' || c == '\r')
			t->p++;
		else if (c == '#')
			while (t->p < t->end && *t->p != '\n')
				t->p++;
		else if (c == '\n' && lines) {
			t->line++;
			t->p++;
		} else
			break;
	}
}

static bool is_bare_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* A quoted string ("..." with escapes, or '...' literal). */
static int toml_string(struct toml *t, char **out)
{
	char quote = *t->p++;
	struct strbuf sb = STRBUF_INIT;
	while (t->p < t->end && *t->p != quote) {
		char c = *t->p++;
		if (c == '\n') {
			strbuf_release(&sb);
			return toml_fail(t, "newline in a string");
		}
		if (c == '\\' && quote == '"') {
			if (t->p >= t->end)
				break;
			char e = *t->p++;
			switch (e) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			default:
				strbuf_release(&sb);
				return toml_fail(t, "unsupported escape in a string");
			}
		}
		if (c == '\0') {
			strbuf_release(&sb);
			return toml_fail(t, "NUL in a string");
		}
		strbuf_addch(&sb, c);
	}
	if (t->p >= t->end) {
		strbuf_release(&sb);
		return toml_fail(t, "unterminated string");
	}
	t->p++;
	*out = strbuf_detach(&sb);
	return 0;
}

/* A key: bare or quoted parts joined by dots. */
static int toml_key(struct toml *t, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	for (;;) {
		toml_skip(t, false);
		if (t->p < t->end && (*t->p == '"' || *t->p == '\'')) {
			_cleanup_free_ char *part = NULL;
			if (toml_string(t, &part) < 0) {
				strbuf_release(&sb);
				return -EINVAL;
			}
			strbuf_addstr(&sb, part);
		} else {
			const char *start = t->p;
			while (t->p < t->end && is_bare_key_char(*t->p))
				t->p++;
			if (t->p == start) {
				strbuf_release(&sb);
				return toml_fail(t, "expected a key");
			}
			strbuf_add(&sb, start, (size_t)(t->p - start));
		}
		toml_skip(t, false);
		if (t->p < t->end && *t->p == '.') {
			t->p++;
			strbuf_addch(&sb, '.');
			continue;
		}
		break;
	}
	*out = strbuf_detach(&sb);
	return 0;
}

enum value_kind { VALUE_STRING, VALUE_BOOL, VALUE_OTHER };
struct value {
	enum value_kind kind;
	char *string;
	bool boolean;
};

static int toml_value(struct toml *t, struct value *v, unsigned depth)
{
	memset(v, 0, sizeof(*v));
	toml_skip(t, false);
	if (t->p >= t->end)
		return toml_fail(t, "expected a value");
	char c = *t->p;
	if (c == '"' || c == '\'') {
		v->kind = VALUE_STRING;
		return toml_string(t, &v->string);
	}
	if (c == '[') {
		if (depth > 8)
			return toml_fail(t, "arrays nested too deeply");
		t->p++;
		v->kind = VALUE_OTHER;
		for (;;) {
			toml_skip(t, true);
			if (t->p < t->end && *t->p == ']') {
				t->p++;
				return 0;
			}
			struct value item;
			if (toml_value(t, &item, depth + 1) < 0)
				return -EINVAL;
			free(item.string);
			toml_skip(t, true);
			if (t->p < t->end && *t->p == ',') {
				t->p++;
				continue;
			}
			if (t->p < t->end && *t->p == ']') {
				t->p++;
				return 0;
			}
			return toml_fail(t, "expected ',' or ']' in an array");
		}
	}
	const char *start = t->p;
	while (t->p < t->end &&
	       (isalnum((unsigned char)*t->p) || (*t->p && strchr("+-_.:", *t->p))))
		t->p++;
	size_t len = (size_t)(t->p - start);
	if (len == 4 && !strncmp(start, "true", 4)) {
		v->kind = VALUE_BOOL;
		v->boolean = true;
	} else if (len == 5 && !strncmp(start, "false", 5)) {
		v->kind = VALUE_BOOL;
	} else if (len &&
		   (isdigit((unsigned char)start[0]) || start[0] == '+' || start[0] == '-')) {
		v->kind = VALUE_OTHER; /* a number: no key petra reads is one */
	} else {
		return toml_fail(t, "unsupported value (strings, booleans, numbers, arrays)");
	}
	return 0;
}

static struct registry_conf_entry *conf_add(struct registry_conf *conf)
{
	conf->entries = xrealloc(conf->entries, (conf->n_entries + 1) * sizeof(*conf->entries));
	struct registry_conf_entry *e = &conf->entries[conf->n_entries++];
	memset(e, 0, sizeof(*e));
	return e;
}

void registry_conf_release(struct registry_conf *conf)
{
	for (size_t i = 0; i < conf->n_entries; i++) {
		free(conf->entries[i].prefix);
		free(conf->entries[i].location);
		strvec_clear(&conf->entries[i].mirrors);
	}
	free(conf->entries);
	memset(conf, 0, sizeof(*conf));
}

static int set_key(struct toml *t, enum section section, struct registry_conf_entry *e,
		   const char *key, struct value *v)
{
	if (section == SECTION_REGISTRY) {
		char **slot = !strcmp(key, "prefix")     ? &e->prefix
			      : !strcmp(key, "location") ? &e->location
							 : NULL;
		if (slot) {
			if (v->kind != VALUE_STRING)
				return toml_fail(t, "expected a string");
			free(*slot);
			*slot = steal_pointer(&v->string);
		} else if (!strcmp(key, "insecure") || !strcmp(key, "blocked")) {
			if (v->kind != VALUE_BOOL)
				return toml_fail(t, "expected true or false");
			*(!strcmp(key, "insecure") ? &e->insecure : &e->blocked) = v->boolean;
		}
	} else if (section == SECTION_MIRROR) {
		size_t i = e->mirrors.n - 1;
		if (!strcmp(key, "location")) {
			if (v->kind != VALUE_STRING)
				return toml_fail(t, "expected a string");
			free(e->mirrors.v[i]);
			e->mirrors.v[i] = steal_pointer(&v->string);
		} else if (!strcmp(key, "insecure")) {
			if (v->kind != VALUE_BOOL)
				return toml_fail(t, "expected true or false");
			if (i < 64 && v->boolean)
				e->insecure_mirrors |= UINT64_C(1) << i;
		}
	}
	return 0;
}

int registry_conf_parse(const char *data, size_t len, struct registry_conf *conf,
			struct petra_error **err)
{
	memset(conf, 0, sizeof(*conf));
	struct toml t = {.p = data, .end = data + len, .line = 1, .err = err};
	enum section section = SECTION_TOP;
	int r = 0;
	for (;;) {
		toml_skip(&t, true);
		if (t.p >= t.end)
			break;
		if (*t.p == '[') {
			bool array = t.p + 1 < t.end && t.p[1] == '[';
			t.p += array ? 2 : 1;
			_cleanup_free_ char *name = NULL;
			if ((r = toml_key(&t, &name)) < 0)
				goto fail;
			if (t.p >= t.end || *t.p != ']' ||
			    (array && (t.p + 1 >= t.end || t.p[1] != ']'))) {
				r = toml_fail(&t, "unterminated table header");
				goto fail;
			}
			t.p += array ? 2 : 1;
			if (array && !strcmp(name, "registry")) {
				conf_add(conf);
				section = SECTION_REGISTRY;
			} else if (array && !strcmp(name, "registry.mirror")) {
				if (!conf->n_entries) {
					r = toml_fail(
					    &t, "[[registry.mirror]] before any [[registry]]");
					goto fail;
				}
				strvec_push(&conf->entries[conf->n_entries - 1].mirrors, "");
				section = SECTION_MIRROR;
			} else {
				section = SECTION_OTHER;
			}
		} else {
			_cleanup_free_ char *key = NULL;
			if ((r = toml_key(&t, &key)) < 0)
				goto fail;
			if (t.p >= t.end || *t.p != '=') {
				r = toml_fail(&t, "expected '=' after a key");
				goto fail;
			}
			t.p++;
			struct value v;
			if ((r = toml_value(&t, &v, 0)) < 0)
				goto fail;
			if (section == SECTION_REGISTRY || section == SECTION_MIRROR)
				r = set_key(&t, section, &conf->entries[conf->n_entries - 1], key,
					    &v);
			free(v.string);
			if (r < 0)
				goto fail;
		}
		toml_skip(&t, false);
		if (t.p < t.end && *t.p != '\n') {
			r = toml_fail(&t, "unexpected text after a value");
			goto fail;
		}
	}
	for (size_t i = 0; i < conf->n_entries; i++) {
		struct registry_conf_entry *e = &conf->entries[i];
		if (!e->prefix && e->location)
			e->prefix = xstrdup(e->location);
		if (!e->prefix) {
			r = petra_error_set(
			    err, EINVAL,
			    "registries.conf: a [[registry]] without prefix or location");
			goto fail;
		}
		for (size_t m = 0; m < e->mirrors.n; m++)
			if (!*e->mirrors.v[m]) {
				r = petra_error_set(
				    err, EINVAL,
				    "registries.conf: a mirror of \"%s\" without location",
				    e->prefix);
				goto fail;
			}
	}
	return 0;
fail:
	registry_conf_release(conf);
	return r;
}
