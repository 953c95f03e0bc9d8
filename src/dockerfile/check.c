/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checks BuildKit makes when it turns the raw tree into instructions
 * (frontend/dockerfile/instructions): argument counts, flags and their
 * values, stage names, ONBUILD triggers, RUN --mount. A file that passes
 * them is one BuildKit would start building; messages follow BuildKit's,
 * in petra's lower-case style.
 */
#include "internal.h"

#include <ctype.h>
#include <math.h>

enum flag_type { FLAG_BOOL, FLAG_STRING, FLAG_STRINGS };

struct flag_spec {
	const char *name;
	enum flag_type type;
};

static const struct flag_spec add_flags[] = {
    {"chown", FLAG_STRING},    {"chmod", FLAG_STRING},
    {"link", FLAG_BOOL},       {"keep-git-dir", FLAG_BOOL},
    {"checksum", FLAG_STRING}, {"exclude", FLAG_STRINGS},
    {"unpack", FLAG_BOOL},     {NULL, 0},
};
static const struct flag_spec copy_flags[] = {
    {"chown", FLAG_STRING},
    {"from", FLAG_STRING},
    {"chmod", FLAG_STRING},
    {"link", FLAG_BOOL},
    {"parents", FLAG_BOOL},
    {"exclude", FLAG_STRINGS},
    {NULL, 0},
};
static const struct flag_spec from_flags[] = {{"platform", FLAG_STRING}, {NULL, 0}};
static const struct flag_spec run_flags[] = {
    {"mount", FLAG_STRINGS},
    {"network", FLAG_STRING},
    {"security", FLAG_STRING},
    {"device", FLAG_STRINGS},
    {NULL, 0},
};
static const struct flag_spec healthcheck_flags[] = {
    {"interval", FLAG_STRING},       {"timeout", FLAG_STRING}, {"start-period", FLAG_STRING},
    {"start-interval", FLAG_STRING}, {"retries", FLAG_STRING}, {NULL, 0},
};
static const struct flag_spec no_flags[] = {{NULL, 0}};

/* BuildKit's BFlags.Parse. */
static int check_flags(const struct dockerfile_instruction *in, const struct flag_spec *spec,
		       struct petra_error **err)
{
	bool used[16] = {0};
	for (size_t i = 0; i < in->n_flags; i++) {
		const char *arg = in->flags[i].text;
		if (strncmp(arg, "--", 2) != 0)
			return petra_error_set(err, EINVAL, "arg should start with -- : %s", arg);
		if (!arg[2])
			return 0;
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const char *value = eq ? eq + 1 : "";
		size_t k = 0;
		while (spec[k].name &&
		       (strlen(spec[k].name) != nlen || strncmp(spec[k].name, name, nlen)))
			k++;
		if (!spec[k].name)
			return petra_error_set(err, EINVAL, "unknown flag: %.*s", (int)nlen, name);
		if (used[k] && spec[k].type != FLAG_STRINGS)
			return petra_error_set(err, EINVAL, "duplicate flag specified: %.*s",
					       (int)nlen, name);
		used[k] = true;
		switch (spec[k].type) {
		case FLAG_BOOL:
			if (eq && !*value)
				return petra_error_set(err, EINVAL, "missing a value on flag: %.*s",
						       (int)nlen, name);
			if (*value && strcasecmp(value, "true") && strcasecmp(value, "false"))
				return petra_error_set(
				    err, EINVAL, "expecting boolean value for flag %.*s, not: %s",
				    (int)nlen, name, value);
			break;
		case FLAG_STRING:
		case FLAG_STRINGS:
			if (!eq)
				return petra_error_set(err, EINVAL, "missing a value on flag: %.*s",
						       (int)nlen, name);
			break;
		}
	}
	return 0;
}

/* Go's time.ParseDuration, in nanoseconds; false on bad syntax. */
static bool parse_go_duration(const char *s, double *out)
{
	double total = 0;
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*out = 0;
		return true;
	}
	if (!*s)
		return false;
	while (*s) {
		const char *start = s;
		double v = 0, frac = 0, scale = 1;
		while (*s >= '0' && *s <= '9')
			v = v * 10 + (*s++ - '0');
		bool digits = s > start;
		if (*s == '.') {
			s++;
			const char *fs = s;
			while (*s >= '0' && *s <= '9') {
				scale /= 10;
				frac += (*s++ - '0') * scale;
			}
			digits = digits || s > fs;
		}
		if (!digits)
			return false;
		static const struct {
			const char *unit;
			double ns;
		} units[] = {
		    {"ns", 1},   {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
		    {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9},
		};
		size_t best = 0, best_len = 0;
		for (size_t k = 0; k < ARRAY_SIZE(units); k++) {
			size_t l = strlen(units[k].unit);
			if (l > best_len && !strncmp(s, units[k].unit, l) &&
			    !(s[l] >= 'a' && s[l] <= 'z' && l == 1 && units[k].unit[0] == 'm' &&
			      s[1] == 's')) {
				best = k;
				best_len = l;
			}
		}
		if (!best_len)
			return false;
		s += best_len;
		total += (v + frac) * units[best].ns;
	}
	if (total > 9.2e18)
		return false;
	*out = neg ? -total : total;
	return true;
}

bool dockerfile_parse_duration(const char *s, int64_t *ns)
{
	double v;
	if (!parse_go_duration(s, &v))
		return false;
	*ns = (int64_t)v;
	return true;
}

static int check_healthcheck(const struct dockerfile_instruction *in, struct petra_error **err)
{
	if (!in->n_args)
		return petra_error_set(err, EINVAL, "HEALTHCHECK requires at least one argument");
	const char *type = in->args[0].text;
	if (!strcasecmp(type, "NONE")) {
		if (in->n_args > 1)
			return petra_error_set(err, EINVAL, "HEALTHCHECK NONE takes no arguments");
		return 0;
	}
	int r = check_flags(in, healthcheck_flags, err);
	if (r < 0)
		return r;
	if (strcasecmp(type, "CMD") != 0) {
		struct strbuf q = STRBUF_INIT;
		for (const char *c = type; *c; c++)
			strbuf_addch(&q, (char)toupper((unsigned char)*c));
		_cleanup_free_ char *quoted = str_quote(strbuf_str(&q));
		strbuf_release(&q);
		return petra_error_set(err, EINVAL, "unknown type %s in HEALTHCHECK (try CMD)",
				       quoted);
	}
	if (in->n_args < 2)
		return petra_error_set(err, EINVAL, "missing command after HEALTHCHECK CMD");
	static const char *const durations[] = {"interval", "timeout", "start-period",
						"start-interval"};
	for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
		const char *v = dockerfile_flag(in, durations[i]);
		double ns;
		if (!v || !*v)
			continue;
		if (!parse_go_duration(v, &ns)) {
			_cleanup_free_ char *q = str_quote(v);
			return petra_error_set(err, EINVAL, "--%s: invalid duration %s",
					       durations[i], q);
		}
		if (ns != 0 && ns < 1e6)
			return petra_error_set(
			    err, EINVAL, "interval \"%s\" cannot be less than 1ms", durations[i]);
	}
	const char *retries = dockerfile_flag(in, "retries");
	if (retries && *retries) {
		char *end;
		errno = 0;
		long long v = strtoll(retries, &end, 10);
		if (*end || errno || v > INT32_MAX || v < INT32_MIN ||
		    !isdigit((unsigned char)retries[strspn(retries, "+-")])) {
			_cleanup_free_ char *q = str_quote(retries);
			return petra_error_set(err, EINVAL, "--retries: invalid number %s", q);
		}
		if (v < 0)
			return petra_error_set(err, EINVAL, "--retries cannot be negative (%lld)",
					       v);
	}
	return 0;
}

static bool valid_stage_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

static int check_from(const struct dockerfile_instruction *in, struct petra_error **err)
{
	if (in->n_args == 3 && !strcasecmp(in->args[1].text, "as")) {
		_cleanup_free_ char *lower = xstrdup(in->args[2].text);
		for (char *c = lower; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!valid_stage_name(lower)) {
			struct strbuf q = STRBUF_INIT;
			dockerfile_quote_go(&q, in->args[2].text, in->args[2].len);
			int r =
			    petra_error_set(err, EINVAL,
					    "invalid name for build stage: %s, name can't start "
					    "with a number or contain symbols",
					    strbuf_str(&q));
			strbuf_release(&q);
			return r;
		}
	} else if (in->n_args != 1) {
		return petra_error_set(err, EINVAL, "FROM requires either one or three arguments");
	}
	return check_flags(in, from_flags, err);
}

static int check_run(const struct dockerfile_instruction *in, struct petra_error **err)
{
	int r = check_flags(in, run_flags, err);
	if (r < 0)
		return r;
	const char *network = dockerfile_flag(in, "network");
	if (network && strcmp(network, "default") && strcmp(network, "none") &&
	    strcmp(network, "host")) {
		_cleanup_free_ char *q = str_quote(network);
		return petra_error_set(err, EINVAL, "unsupported network mode %s", q);
	}
	const char *security = dockerfile_flag(in, "security");
	if (security && strcmp(security, "sandbox") && strcmp(security, "insecure")) {
		_cleanup_free_ char *q = str_quote(security);
		return petra_error_set(err, EINVAL, "unsupported security mode %s", q);
	}
	for (size_t i = 0; i < in->n_flags; i++) {
		const char *f = in->flags[i].text;
		if (strncmp(f, "--mount=", 8) != 0)
			continue;
		struct dockerfile_mount m;
		r = dockerfile_mount_parse(f + 8, &m, err);
		if (r < 0)
			return r;
		dockerfile_mount_release(&m);
	}
	return 0;
}

static int check_sources_and_dest(const struct dockerfile_instruction *in, const char *what,
				  const struct flag_spec *flags, struct petra_error **err)
{
	if (in->n_args < 2)
		return petra_error_set(err, EINVAL,
				       "%s requires at least two arguments, but only one was "
				       "provided. Destination could not be determined",
				       what);
	int r = check_flags(in, flags, err);
	if (r < 0)
		return r;
	const char *dest = in->args[in->n_args - 1].text;
	/* BuildKit's MustParseHeredoc on the destination. */
	const char *c = dest + strspn(dest, "0123456789");
	if (c[0] == '<' && c[1] == '<') {
		c += 2 + (c[2] == '-');
		if (*c && !strchr(c, '<'))
			return petra_error_set(err, EINVAL,
					       "%s cannot accept a heredoc as a destination", what);
	}
	return 0;
}

static int check_kvps(const struct dockerfile_instruction *in, const char *what,
		      struct petra_error **err)
{
	if (!in->n_args)
		return petra_error_set(err, EINVAL, "%s requires at least one argument", what);
	for (size_t i = 0; i < in->n_args; i += 3)
		if (!in->args[i].len)
			return petra_error_set(err, EINVAL, "%s names can not be blank", what);
	return check_flags(in, no_flags, err);
}

static int exactly_one(const struct dockerfile_instruction *in, const char *what, bool flags,
		       struct petra_error **err)
{
	if (in->n_args != 1)
		return petra_error_set(err, EINVAL, "%s requires exactly one argument", what);
	return flags ? check_flags(in, no_flags, err) : 0;
}

static int at_least_one(const struct dockerfile_instruction *in, const char *what,
			struct petra_error **err)
{
	if (!in->n_args)
		return petra_error_set(err, EINVAL, "%s requires at least one argument", what);
	return check_flags(in, no_flags, err);
}

int dockerfile_check_instruction(const struct dockerfile_instruction *in, bool in_stage,
				 struct petra_error **err)
{
	const char *what = dockerfile_kind_name(in->kind);
	if (!in_stage && in->kind != DOCKERFILE_ARG && in->kind != DOCKERFILE_FROM)
		return petra_error_set(
		    err, EINVAL, "%s before the first FROM: only ARG may come before it", what);
	switch (in->kind) {
	case DOCKERFILE_ADD:
		return check_sources_and_dest(in, what, add_flags, err);
	case DOCKERFILE_COPY:
		return check_sources_and_dest(in, what, copy_flags, err);
	case DOCKERFILE_ARG: {
		int r = at_least_one(in, what, err);
		for (size_t i = 0; r == 0 && i < in->n_args; i++)
			if (in->args[i].text[0] == '=')
				r = petra_error_set(err, EINVAL, "ARG names can not be blank");
		return r;
	}
	case DOCKERFILE_ENV:
	case DOCKERFILE_LABEL:
		return check_kvps(in, what, err);
	case DOCKERFILE_CMD:
	case DOCKERFILE_ENTRYPOINT:
		return check_flags(in, no_flags, err);
	case DOCKERFILE_EXPOSE:
		return at_least_one(in, what, err);
	case DOCKERFILE_FROM:
		return check_from(in, err);
	case DOCKERFILE_HEALTHCHECK:
		return check_healthcheck(in, err);
	case DOCKERFILE_MAINTAINER:
	case DOCKERFILE_USER:
	case DOCKERFILE_WORKDIR:
		return exactly_one(in, what, true, err);
	case DOCKERFILE_STOPSIGNAL:
		/* BuildKit does not look at STOPSIGNAL's flags. */
		return exactly_one(in, what, false, err);
	case DOCKERFILE_ONBUILD: {
		if (!in->sub)
			return petra_error_set(err, EINVAL,
					       "ONBUILD requires at least one argument");
		int r = check_flags(in, no_flags, err);
		if (r < 0)
			return r;
		if (in->sub->kind == DOCKERFILE_ONBUILD)
			return petra_error_set(
			    err, EINVAL, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
		if (in->sub->kind == DOCKERFILE_FROM || in->sub->kind == DOCKERFILE_MAINTAINER)
			return petra_error_set(err, EINVAL,
					       "%s isn't allowed as an ONBUILD trigger",
					       dockerfile_kind_name(in->sub->kind));
		/* Stricter than BuildKit, which checks the trigger only when a
		 * child image builds: a broken trigger is a bug now. */
		r = dockerfile_check_instruction(in->sub, true, err);
		if (r < 0)
			petra_error_prefix(err, "ONBUILD");
		return r;
	}
	case DOCKERFILE_RUN:
		return check_run(in, err);
	case DOCKERFILE_SHELL: {
		int r = check_flags(in, no_flags, err);
		if (r < 0)
			return r;
		if (!in->n_args)
			return petra_error_set(err, EINVAL, "SHELL requires at least one argument");
		if (!in->json)
			return petra_error_set(err, EINVAL,
					       "SHELL requires the arguments to be in JSON form");
		return 0;
	}
	case DOCKERFILE_VOLUME: {
		int r = at_least_one(in, what, err);
		for (size_t i = 0; r == 0 && i < in->n_args; i++) {
			size_t s = 0, e = in->args[i].len;
			dockerfile_go_trim_space(in->args[i].text, &s, &e);
			if (s == e)
				r = petra_error_set(err, EINVAL,
						    "VOLUME specified can not be an empty string");
		}
		return r;
	}
	case DOCKERFILE_UNKNOWN:
		return petra_error_set(err, EINVAL, "unknown instruction: %s", in->keyword);
	}
	return 0;
}

/* ---- RUN --mount ---- */

/* One CSV record (Go's encoding/csv: "..." fields with "" for a quote). */
static int split_csv(char *s, struct strvec *fields, struct petra_error **err)
{
	struct strbuf f = STRBUF_INIT;
	for (;;) {
		strbuf_reset(&f);
		if (*s == '"') {
			s++;
			for (;;) {
				if (!*s) {
					strbuf_release(&f);
					return petra_error_set(
					    err, EINVAL,
					    "extraneous or missing \" in quoted-field");
				}
				if (*s == '"') {
					if (s[1] == '"') {
						strbuf_addch(&f, '"');
						s += 2;
						continue;
					}
					s++;
					break;
				}
				strbuf_addch(&f, *s++);
			}
			if (*s && *s != ',') {
				strbuf_release(&f);
				return petra_error_set(err, EINVAL,
						       "extraneous or missing \" in quoted-field");
			}
		} else {
			while (*s && *s != ',') {
				if (*s == '"') {
					strbuf_release(&f);
					return petra_error_set(err, EINVAL,
							       "bare \" in non-quoted-field");
				}
				strbuf_addch(&f, *s++);
			}
		}
		strvec_push(fields, strbuf_str(&f));
		if (!*s)
			break;
		s++;
	}
	strbuf_release(&f);
	return 0;
}

static bool parse_bool_value(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "t")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "f")) {
		*out = false;
		return true;
	}
	return false;
}

int dockerfile_mount_parse(const char *value, struct dockerfile_mount *m, struct petra_error **err)
{
	memset(m, 0, sizeof(*m));
	_cleanup_strvec_ struct strvec fields = STRVEC_INIT;
	_cleanup_free_ char *copy = xstrdup(value);
	int r = split_csv(copy, &fields, err);
	if (r < 0)
		return petra_error_prefix(err, "--mount=%s", value);
	/* All values live in one buffer the mount owns. */
	size_t total = 0;
	for (size_t i = 0; i < fields.n; i++)
		total += strlen(fields.v[i]) + 1;
	m->buf = xmalloc(total + 1);
	char *w = m->buf;
	bool readonly_set = false;
	for (size_t i = 0; i < fields.n; i++) {
		char *key = w;
		strcpy(w, fields.v[i]);
		w += strlen(w) + 1;
		char *val = strchr(key, '=');
		if (val)
			*val++ = '\0';
		for (char *c = key; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!*key)
			continue;
		const char **slot = NULL;
		if (!strcmp(key, "readonly") || !strcmp(key, "ro") || !strcmp(key, "readwrite") ||
		    !strcmp(key, "rw") || !strcmp(key, "required")) {
			bool b = true;
			if (val && !parse_bool_value(val, &b)) {
				int e = petra_error_set(err, EINVAL,
							"--mount=%s: invalid value for %s: %s",
							value, key, val);
				dockerfile_mount_release(m);
				return e;
			}
			if (!strcmp(key, "required")) {
				m->required = b;
			} else {
				bool ro_key = !strcmp(key, "readonly") || !strcmp(key, "ro");
				m->readonly = ro_key ? b : !b;
				readonly_set = true;
			}
			continue;
		}
		if (!val) {
			int e = petra_error_set(
			    err, EINVAL, "--mount=%s: invalid field '%s' must be a key=value pair",
			    value, key);
			dockerfile_mount_release(m);
			return e;
		}
		if (!strcmp(key, "type")) {
			static const char *const types[] = {"bind", "cache", "tmpfs", "secret",
							    "ssh"};
			size_t t = 0;
			while (t < ARRAY_SIZE(types) && strcmp(types[t], val))
				t++;
			if (t == ARRAY_SIZE(types)) {
				int e = petra_error_set(err, EINVAL,
							"--mount=%s: unsupported mount type \"%s\"",
							value, val);
				dockerfile_mount_release(m);
				return e;
			}
			m->type = (enum dockerfile_mount_type)t;
			continue;
		}
		if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination"))
			slot = &m->target;
		else if (!strcmp(key, "source") || !strcmp(key, "src"))
			slot = &m->source;
		else if (!strcmp(key, "from"))
			slot = &m->from;
		else if (!strcmp(key, "id"))
			slot = &m->id;
		else if (!strcmp(key, "sharing"))
			slot = &m->sharing;
		else if (!strcmp(key, "mode"))
			slot = &m->mode;
		else if (!strcmp(key, "uid"))
			slot = &m->uid;
		else if (!strcmp(key, "gid"))
			slot = &m->gid;
		else if (!strcmp(key, "env"))
			slot = &m->env;
		else if (!strcmp(key, "size"))
			slot = &m->size;
		if (!slot) {
			int e = petra_error_set(err, EINVAL, "--mount=%s: unexpected key '%s'",
						value, key);
			dockerfile_mount_release(m);
			return e;
		}
		*slot = val;
	}
	if (!readonly_set)
		m->readonly = m->type == DOCKERFILE_MOUNT_BIND;
	if (m->sharing && strcmp(m->sharing, "shared") && strcmp(m->sharing, "private") &&
	    strcmp(m->sharing, "locked")) {
		int e = petra_error_set(err, EINVAL, "--mount=%s: unsupported sharing value \"%s\"",
					value, m->sharing);
		dockerfile_mount_release(m);
		return e;
	}
	if (!m->target && (m->type == DOCKERFILE_MOUNT_BIND || m->type == DOCKERFILE_MOUNT_CACHE ||
			   m->type == DOCKERFILE_MOUNT_TMPFS)) {
		int e = petra_error_set(err, EINVAL, "--mount=%s: mount has no target", value);
		dockerfile_mount_release(m);
		return e;
	}
	return 0;
}

void dockerfile_mount_release(struct dockerfile_mount *m)
{
	free(m->buf);
	memset(m, 0, sizeof(*m));
}
