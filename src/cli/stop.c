/* SPDX-License-Identifier: Apache-2.0 */
/* petra stop: SIGTERM, then SIGKILL, to running containers. */
#include "cli.h"

#include <stdlib.h>

static const char usage[] =
    "Usage: petra stop [OPTIONS] CONTAINER...\n"
    "\n"
    "Send SIGTERM to each container's first process, then SIGKILL if it has not\n"
    "ended after the grace period; wait for the end.\n"
    "\n"
    "Options:\n"
    "  -t, --time SECONDS   the grace period (default 10)\n"
    "  -h, --help           this help\n";

static int stop_one(struct runtime_container *c, void *ctx, struct petra_error **err)
{
	return runtime_stop(c, *(unsigned *)ctx, err);
}

int cmd_stop(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"time", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned grace = 10;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "t:h", options, NULL)) != -1) {
		if (c == 't') {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 86400)
				return cli_usage("stop", "--time wants seconds, not \"%s\"",
						 optarg);
			grace = (unsigned)v;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("stop", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("stop", "expects a CONTAINER");
	return cli_each_container(cli, argc - optind, argv + optind, stop_one, &grace);
}
