/* SPDX-License-Identifier: Apache-2.0 */
/* The container options shared by run, bundle and test. */
#include "cli.h"

#include <string.h>
#include <sys/stat.h>

void cli_run_args_release(struct cli_run_args *a)
{
	for (size_t i = 0; i < a->n_mounts; i++) {
		free((char *)a->mounts[i].target);
		free((char *)a->mounts[i].source);
	}
	free(a->mounts);
	strvec_clear(&a->env);
	memset(a, 0, sizeof(*a));
}

int cli_parse_network(const char *verb, const char *arg, enum sandbox_network *out)
{
	if (!strcmp(arg, "none"))
		*out = SANDBOX_NETWORK_NONE;
	else if (!strcmp(arg, "host"))
		*out = SANDBOX_NETWORK_HOST;
	else
		return cli_usage(verb, "--network is none or host, not \"%s\"", arg);
	return 0;
}

bool cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	*out = v;
	return *end == '\0';
}

static struct sandbox_mount *new_mount(struct cli_run_args *a)
{
	a->mounts = xrealloc(a->mounts, (a->n_mounts + 1) * sizeof(*a->mounts));
	struct sandbox_mount *m = &a->mounts[a->n_mounts++];
	memset(m, 0, sizeof(*m));
	return m;
}

/* "PATH[:size=64m,mode=1777,uid=N,gid=N,copy,ro]"; no mode: 1777 (as
 * Docker and podman), or with copy the image's directory's. */
static int parse_tmpfs(const char *verb, struct cli_run_args *a, const char *arg)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *opts = strchr(copy, ':');
	if (opts)
		*opts++ = '\0';
	if (!path_is_clean(copy))
		return cli_usage(
		    verb, "--tmpfs wants a clean absolute path (no . or ..), not \"%s\"", copy);
	struct sandbox_mount m = {.kind = SANDBOX_MOUNT_TMPFS};
	for (char *save = opts, *o; opts && (o = strsep(&save, ","));) {
		char *end = NULL;
		if (!strncmp(o, "size=", 5) && cli_parse_size(o + 5, &m.size))
			continue;
		if (!strncmp(o, "mode=", 5) && (m.mode = (mode_t)strtoul(o + 5, &end, 8), !*end))
			continue;
		uint32_t id;
		if (!strncmp(o, "uid=", 4) && rootfs_parse_id(o + 4, &id)) {
			m.uid = id;
			continue;
		}
		if (!strncmp(o, "gid=", 4) && rootfs_parse_id(o + 4, &id)) {
			m.gid = id;
			continue;
		}
		if (!strcmp(o, "ro")) {
			m.readonly = true;
			continue;
		}
		if (!strcmp(o, "copy") || !strcmp(o, "tmpcopyup")) {
			m.copy_up = true;
			continue;
		}
		return cli_usage(
		    verb, "--tmpfs option \"%s\" is not size=, mode=, uid=, gid=, copy or ro", o);
	}
	struct sandbox_mount *slot = new_mount(a);
	*slot = m;
	slot->target = xstrdup(copy);
	return 0;
}

/* "SRC:DST[:ro|rw]" */
static int parse_volume(const char *verb, struct cli_run_args *a, const char *arg)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *dst = strchr(copy, ':');
	if (!dst)
		return cli_usage(verb, "-v wants SRC:DST[:ro], not \"%s\"", arg);
	*dst++ = '\0';
	char *mode = strchr(dst, ':');
	if (mode)
		*mode++ = '\0';
	if (copy[0] != '/')
		return cli_usage(verb, "-v wants an absolute SRC, not \"%s\"", arg);
	if (!path_is_clean(dst))
		return cli_usage(verb, "-v wants a clean absolute DST (no . or ..), not \"%s\"",
				 arg);
	if (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))
		return cli_usage(verb, "-v mode \"%s\" is not ro or rw", mode);
	/* Well formed, but not there: the operation fails (see EXIT-CODES.md). */
	struct stat st;
	if (stat(copy, &st) < 0) {
		struct petra_error *err = NULL;
		petra_error_set_errno(&err, errno, "%s -v: source %s", verb, copy);
		return cli_fail(err);
	}
	struct sandbox_mount *m = new_mount(a);
	m->kind = SANDBOX_MOUNT_BIND;
	m->source = xstrdup(copy);
	m->target = xstrdup(dst);
	m->readonly = mode && !strcmp(mode, "ro");
	return 0;
}

int cli_run_option(const char *verb, int opt, const char *arg, struct cli_run_args *a)
{
	struct petra_error *err = NULL;
	switch (opt) {
	case CLI_OPT_TMPFS:
		return parse_tmpfs(verb, a, arg);
	case 'v':
		return parse_volume(verb, a, arg);
	case 'u':
		a->o.user = arg;
		return 0;
	case 'e':
		strvec_push(&a->env, arg);
		a->o.env = a->env.v;
		return 0;
	case 'w':
		a->o.workdir = arg;
		return 0;
	case CLI_OPT_NETWORK:
		return cli_parse_network(verb, arg, &a->o.network);
	case CLI_OPT_CAP_ADD: {
		uint64_t mask;
		if (sandbox_cap_parse(arg, &mask, &err) < 0) {
			int r = cli_usage(verb, "%s", err->message);
			petra_error_free(err);
			return r;
		}
		a->o.cap_add |= mask;
		return 0;
	}
	case CLI_OPT_READ_WRITE:
		a->o.read_write = true;
		return 0;
	case CLI_OPT_NON_ROOT:
		a->o.non_root = true;
		return 0;
	default:
		return -1;
	}
}

void cli_run_args_finish(struct cli_run_args *a)
{
	a->o.mounts = a->mounts;
	a->o.n_mounts = a->n_mounts;
	a->o.env = a->env.v;
}

char *cli_supervisor_path(void)
{
	return cli_helper_path("petra-supervisor", "PETRA_SUPERVISOR");
}
