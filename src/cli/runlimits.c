/* SPDX-License-Identifier: Apache-2.0 */
/* petra run's process, resource and port options: --init, --memory,
 * --cpus, --pids-limit, -p; and where petra's helper programs are. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

char *cli_helper_path(const char *name, const char *env_name)
{
	const char *env = getenv(env_name);
	if (env && *env)
		return xstrdup(env);
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *p = path_join(self, name);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	char *p = path_join(PETRA_LIBEXECDIR, name);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	return NULL;
}

/* "1.5" CPUs: 150 ms of CPU time per 100 ms period. */
static bool parse_cpus(const char *arg, uint64_t *quota)
{
	char *end;
	errno = 0;
	double cpus = strtod(arg, &end);
	if (end == arg || *end || errno || !(cpus >= 0.01) || cpus > 4096)
		return false;
	*quota = (uint64_t)(cpus * 100000.0 + 0.5);
	return true;
}

int cli_run_limits_option(const char *verb, int opt, const char *arg, struct runtime_run_options *o)
{
	switch (opt) {
	case CLI_OPT_INIT:
		o->init = ""; /* cli_run_limits_finish finds the program */
		return 0;
	case CLI_OPT_MEMORY:
		/* Below a few MiB not even the runtime's own start fits. */
		if (!cli_parse_size(arg, &o->limits.memory) || o->limits.memory < (4u << 20))
			return cli_usage(verb, "--memory wants a size of at least 4m, not \"%s\"",
					 arg);
		return 0;
	case CLI_OPT_CPUS:
		if (!parse_cpus(arg, &o->limits.cpu_quota))
			return cli_usage(
			    verb, "--cpus wants a number of CPUs (0.01 or more), not \"%s\"", arg);
		return 0;
	case CLI_OPT_PIDS_LIMIT: {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(arg, &end, 10);
		if (end == arg || *end || errno || n == 0 || arg[0] == '-')
			return cli_usage(verb, "--pids-limit wants a positive count, not \"%s\"",
					 arg);
		o->limits.pids = n;
		return 0;
	}
	case 'p': {
		struct runtime_port port;
		struct petra_error *err = NULL;
		if (runtime_port_parse(arg, &port, &err) < 0)
			return cli_usage_error(verb, "", err);
		struct runtime_port *ports = (struct runtime_port *)o->ports;
		ports = xrealloc(ports, (o->n_ports + 1) * sizeof(*ports));
		ports[o->n_ports++] = port;
		o->ports = ports;
		return 0;
	}
	default:
		return -1;
	}
}

int cli_run_limits_finish(const char *verb, struct runtime_run_options *o, char **init_path)
{
	*init_path = NULL;
	if (!o->init)
		return 0;
	*init_path = cli_helper_path("petra-init", "PETRA_INIT");
	if (!*init_path) {
		struct petra_error *err = NULL;
		petra_error_set(&err, ENOENT, "%s --init: the petra-init program is not installed",
				verb);
		return cli_fail(err);
	}
	o->init = *init_path;
	return 0;
}
