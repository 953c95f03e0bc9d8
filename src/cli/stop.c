/* SPDX-License-Identifier: Apache-2.0 */
/* petra stop: SIGTERM, then SIGKILL, to running containers. */
#include "cli.h"

#include <stdlib.h>

static const char usage[] =
    "Usage: petra stop [OPTIONS] CONTAINER...\n"
    "\n"
    "Send SIGTERM to each container's first process, then SIGKILL if it has not\n"
    "ended after the grace period; wait for the end. A container started with\n"
    "`petra run -d --learn` then prints what it learned, and saves it when run\n"
    "was given --save (see petra learn).\n"
    "\n"
    "Options:\n"
    "  -t, --time SECONDS   the grace period (default 10)\n"
    "  -h, --help           this help\n";

struct stop {
	struct cli *cli;
	unsigned grace;
};

static int stop_one(struct runtime_container *c, void *ctx, struct petra_error **err)
{
	struct stop *s = ctx;
	int r = runtime_stop(c, s->grace, err);
	/* A detached --learn container: stopping it ends learning. */
	const char *save;
	if (r == 0 && runtime_container_learning(c, &save) &&
	    cli_learn_finish(s->cli, c, save) != EXIT_OK)
		return petra_error_set(err, EIO,
				       "container %.12s stopped, but what it learned "
				       "was not saved",
				       c->id);
	return r;
}

int cmd_stop(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"time", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct stop stop = {.cli = cli, .grace = 10};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "t:h", options, NULL)) != -1) {
		if (c == 't') {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 86400)
				return cli_usage("stop", "--time wants seconds, not \"%s\"",
						 optarg);
			stop.grace = (unsigned)v;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("stop", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("stop", "expects a CONTAINER");
	return cli_each_container(cli, argc - optind, argv + optind, stop_one, &stop);
}
