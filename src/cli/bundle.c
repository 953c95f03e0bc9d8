/* SPDX-License-Identifier: Apache-2.0 */
/* petra bundle: an OCI runtime bundle of the container petra run would start. */
#include "cli.h"

static const char usage[] =
    "Usage: petra bundle [OPTIONS] IMAGE DIR [COMMAND [ARG...]]\n"
    "\n"
    "Write an OCI runtime bundle to DIR: rootfs/ (IMAGE unpacked) and\n"
    "config.json describing the container petra run would start with the same\n"
    "options: a read-only root, the image's writable paths and --tmpfs mounts\n"
    "as tmpfs, its user, environment and working directory, the default\n"
    "capabilities, no_new_privs, the default seccomp profile, masked and\n"
    "read-only /proc paths. 'runc run -b DIR ID' runs it unchanged.\n"
    "\n"
    "The gate checks IMAGE against the policy first: a refused image (banned,\n"
    "its base banned or not in the catalog, a signature requirement not met)\n"
    "gets no bundle (exit 1, every reason printed).\n"
    "\n"
    "Options:\n" CLI_RUN_OPTIONS_HELP CLI_GATE_OPTIONS_HELP
    "  -h, --help               this help\n";

int cmd_bundle(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    CLI_RUN_LONG_OPTIONS,
	    CLI_GATE_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_(cli_run_args_release) struct cli_run_args a = {0};
	struct cli_gate_args gate = {0};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "+h" CLI_RUN_SHORT_OPTIONS, options, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		if (c == '?' || c == ':')
			return cli_bad_option("bundle", argv);
		if (cli_gate_option(c, optarg, &gate) == 0)
			continue;
		int r = cli_run_option("bundle", c, optarg, &a);
		if (r != 0)
			return r < 0 ? cli_bad_option("bundle", argv) : r;
	}
	if (argc - optind < 2)
		return cli_usage("bundle", "expects IMAGE and DIR");
	if (cli_check_image_ref("bundle", argv[optind]) != 0)
		return EXIT_USAGE;
	cli_run_args_finish(&a);
	a.o.image = argv[optind];
	a.o.command = optind + 2 < argc ? argv + optind + 2 : NULL;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	if (cli_gate(store, argv[optind], TRUST_PURPOSE_BUNDLE, &gate, false) != 0)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	if (runtime_bundle(store, &a.o, argv[optind + 1], &err) < 0) {
		petra_error_prefix(&err, "bundle %s", argv[optind]);
		return cli_fail(err);
	}
	return EXIT_OK;
}
