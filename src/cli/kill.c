/* SPDX-License-Identifier: Apache-2.0 */
/* petra kill: a signal to running containers. */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: petra kill [OPTIONS] CONTAINER...\n"
    "\n"
    "Send a signal (default SIGKILL) to each container's first process and\n"
    "return; petra stop waits for the end.\n"
    "\n"
    "Options:\n"
    "  -s, --signal SIG   the signal: a name (TERM, SIGHUP) or a number\n"
    "  -h, --help         this help\n";

/* "KILL", "SIGKILL", "kill" or "9". */
static int parse_signal(const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);
	if (end != arg && !*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	const char *name = !strncasecmp(arg, "SIG", 3) ? arg + 3 : arg;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && !strcasecmp(abbrev, name))
			return sig;
	}
	return -1;
}

static int kill_one(struct runtime_container *c, void *ctx, struct petra_error **err)
{
	return runtime_kill(c, *(int *)ctx, err);
}

int cmd_kill(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"signal", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int sig = SIGKILL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "s:h", options, NULL)) != -1) {
		if (c == 's') {
			sig = parse_signal(optarg);
			if (sig < 0)
				return cli_usage("kill", "unknown signal \"%s\"", optarg);
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("kill", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("kill", "expects a CONTAINER");
	return cli_each_container(cli, argc - optind, argv + optind, kill_one, &sig);
}
