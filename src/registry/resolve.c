/* SPDX-License-Identifier: Apache-2.0 */
/* Where a repository is served: registries.conf's [[registry]] entry with
 * the longest matching prefix rewrites the location, adds mirrors (pulls
 * only), marks it insecure or blocks it. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>

void registry_targets_free(struct registry_target *targets, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(targets[i].host);
		free(targets[i].repo);
	}
	free(targets);
}

/* $CONTAINERS_REGISTRIES_CONF, else the user's file, else the system's
 * (the user's replaces the system's, as in containers/image). */
static int load_conf(struct registry_conf *conf, struct petra_error **err)
{
	memset(conf, 0, sizeof(*conf));
	struct strvec candidates = STRVEC_INIT;
	const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
	if (env && *env) {
		strvec_push(&candidates, env);
	} else {
		const char *home = getenv("HOME");
		const char *xdg = getenv("XDG_CONFIG_HOME");
		if (xdg && *xdg)
			strvec_pushf(&candidates, "%s/containers/registries.conf", xdg);
		else if (home)
			strvec_pushf(&candidates, "%s/.config/containers/registries.conf", home);
		strvec_push(&candidates, "/etc/containers/registries.conf");
	}
	int ret = 0;
	for (size_t i = 0; i < candidates.n; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		struct petra_error *e = NULL;
		if (fs_read_file_at(AT_FDCWD, candidates.v[i], 1 << 20, &data, &len, &e) < 0) {
			if (e->code == ENOENT) {
				petra_error_free(e);
				continue;
			}
			*err = e;
			ret = -e->code;
			break;
		}
		ret = registry_conf_parse(data, len, conf, err);
		if (ret < 0)
			petra_error_prefix(err, "%s", candidates.v[i]);
		break;
	}
	strvec_clear(&candidates);
	return ret;
}

/* "*.example.com" matches a host below example.com; any other prefix
 * matches the name itself or a path below it. Returns the prefix length
 * matched (0: no match). */
static size_t prefix_match(const char *prefix, const char *name)
{
	size_t pl = strlen(prefix);
	if (!strncmp(prefix, "*.", 2)) {
		const char *slash = strchr(name, '/');
		size_t hl = slash ? (size_t)(slash - name) : strlen(name);
		size_t sl = pl - 1; /* ".example.com" */
		if (hl > sl && !strncmp(name + hl - sl, prefix + 1, sl))
			return pl;
		return 0;
	}
	if (!strncmp(name, prefix, pl) && (name[pl] == '\0' || name[pl] == '/'))
		return pl;
	return 0;
}

static void add_target(struct registry_target **targets, size_t *n, const char *location,
		       const char *rest, bool insecure)
{
	/* location is "host[:port][/path]"; rest is the part of the name
	 * after the matched prefix ("" or "/more"). */
	_cleanup_free_ char *full = xasprintf("%s%s", location, rest);
	char *slash = strchr(full, '/');
	*targets = xrealloc(*targets, (*n + 1) * sizeof(**targets));
	struct registry_target *t = &(*targets)[(*n)++];
	t->host = slash ? xstrndup(full, (size_t)(slash - full)) : xstrdup(full);
	t->repo = xstrdup(slash ? slash + 1 : "");
	t->insecure = insecure;
}

int registry_resolve(const struct policy_ref *ref, bool pull, struct registry_target **targets,
		     size_t *n, struct petra_error **err)
{
	*targets = NULL;
	*n = 0;
	struct registry_conf conf;
	int ret = load_conf(&conf, err);
	if (ret < 0)
		return ret;
	_cleanup_free_ char *name = xasprintf("%s/%s", ref->domain, ref->path);
	const struct registry_conf_entry *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < conf.n_entries; i++) {
		size_t l = prefix_match(conf.entries[i].prefix, name);
		if (l > best_len) {
			best_len = l;
			best = &conf.entries[i];
		}
	}
	if (!best) {
		add_target(targets, n, ref->domain, strchr(name, '/'), false);
	} else if (best->blocked) {
		ret =
		    petra_error_set(err, EACCES, "%s is blocked in registries.conf (prefix \"%s\")",
				    name, best->prefix);
	} else {
		/* A wildcard prefix has no location to rewrite to. */
		bool wildcard = !strncmp(best->prefix, "*.", 2);
		const char *rest = wildcard ? strchr(name, '/') : name + best_len;
		const char *base_name = wildcard ? ref->domain : NULL;
		if (pull)
			for (size_t m = 0; m < best->mirrors.n; m++)
				add_target(targets, n, best->mirrors.v[m], rest,
					   m < 64 && (best->insecure_mirrors >> m & 1));
		const char *location = best->location && !wildcard ? best->location
				       : base_name                 ? base_name
								   : best->prefix;
		add_target(targets, n, location, rest, best->insecure);
	}
	registry_conf_release(&conf);
	return ret;
}
