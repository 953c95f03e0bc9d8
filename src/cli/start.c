/* SPDX-License-Identifier: Apache-2.0 */
/* petra start and restart: stopped containers again, detached. */
#include "cli.h"

#include <stdlib.h>

static const char start_usage[] =
    "Usage: petra start CONTAINER...\n"
    "\n"
    "Start stopped containers again, detached under a supervisor, with the\n"
    "options they were created with: the same id, name, image (by digest),\n"
    "command, mounts and limits. A --read-write container keeps its root.\n"
    "\n"
    "Options:\n" CLI_GATE_OPTIONS_HELP "  -h, --help   this help\n"
    "\n"
    "The gate checks each container's image against the policy first, as\n"
    "petra run does: a refused image does not start.\n";

static const char restart_usage[] =
    "Usage: petra restart [OPTIONS] CONTAINER...\n"
    "\n"
    "Stop each container (as petra stop) if it runs, then start it again (as\n"
    "petra start).\n"
    "\n"
    "Options:\n"
    "  -t, --time SECONDS   the grace period of the stop (default 10)\n" CLI_GATE_OPTIONS_HELP
    "  -h, --help           this help\n";

struct start_ctx {
	struct petra_store *store;
	const char *run_dir;
	const char *supervisor;
	bool restart;
	unsigned grace;
	struct cli_gate_args gate;
};

static int start_one(struct runtime_container *c, void *ctx, struct petra_error **err)
{
	struct start_ctx *s = ctx;
	/* Before the container is stopped: a refused restart leaves it as it is. */
	const char *image = cli_gate_container_image(s->store, c);
	if (!image || cli_gate(s->store, image, TRUST_PURPOSE_RUN, &s->gate, false) != 0)
		return petra_error_set(err, EPERM, "%s: refused by the policy", c->id);
	if (s->restart) {
		int r = runtime_stop(c, s->grace, err);
		if (r < 0)
			return r;
	}
	return runtime_start(s->store, s->run_dir, c, s->supervisor, err);
}

static int start_or_restart(struct cli *cli, int argc, char **argv, bool restart)
{
	const char *verb = restart ? "restart" : "start";
	static const struct option options[] = {
	    {"time", required_argument, NULL, 't'},
	    CLI_GATE_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct start_ctx s = {.restart = restart, .grace = 10};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, restart ? "t:h" : "h", options, NULL)) != -1) {
		if (cli_gate_option(c, optarg, &s.gate) == 0)
			continue;
		if (c == 't' && restart) {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 86400)
				return cli_usage(verb, "--time wants seconds, not \"%s\"", optarg);
			s.grace = (unsigned)v;
		} else if (c == 'h') {
			return cli_help(restart ? restart_usage : start_usage);
		} else {
			return cli_bad_option(verb, argv);
		}
	}
	if (optind >= argc)
		return cli_usage(verb, "expects a CONTAINER");
	_cleanup_free_ char *supervisor = cli_supervisor_path();
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	s.store = store;
	s.run_dir = run_dir;
	s.supervisor = supervisor;
	return cli_each_container(cli, argc - optind, argv + optind, start_one, &s);
}

int cmd_start(struct cli *cli, int argc, char **argv)
{
	return start_or_restart(cli, argc, argv, false);
}

int cmd_restart(struct cli *cli, int argc, char **argv)
{
	return start_or_restart(cli, argc, argv, true);
}
