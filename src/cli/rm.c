/* SPDX-License-Identifier: Apache-2.0 */
/* petra rm: remove containers. */
#include "cli.h"

static const char usage[] = "Usage: petra rm [OPTIONS] CONTAINER...\n"
			    "\n"
			    "Remove containers that ended (their state, log and writable "
			    "layer).\n"
			    "\n"
			    "Options:\n"
			    "  -f, --force   kill running containers first\n"
			    "  -h, --help    this help\n";

static int remove_one(struct runtime_container *c, void *ctx, struct petra_error **err)
{
	return runtime_remove(c, *(bool *)ctx, err);
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool force = false;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "fh", options, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("rm", argv);
	}
	if (optind >= argc)
		return cli_usage("rm", "expects a CONTAINER");
	return cli_each_container(cli, argc - optind, argv + optind, remove_one, &force);
}
