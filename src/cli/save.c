/* SPDX-License-Identifier: Apache-2.0 */
/* petra save: images of the store into one `docker save` archive. */
#include "cli.h"

static const char usage[] =
    "Usage: petra save [OPTIONS] -o FILE IMAGE...\n"
    "\n"
    "Write the IMAGEs to FILE in the `docker save` format (docker load and\n"
    "podman load read it): manifest.json, the configs, each layer an\n"
    "uncompressed tar verified against its diff_id; shared layers once.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE  the archive (written atomically)\n"
    "  -h, --help         this help\n";

int cmd_save(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("save", argv);
		}
	}
	if (!output)
		return cli_usage("save", "needs -o FILE");
	if (optind >= argc)
		return cli_usage("save", "expects at least one IMAGE");
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	if (image_save(store, (const char *const *)argv + optind, (size_t)(argc - optind), output,
		       &err) < 0)
		return cli_fail(err);
	return EXIT_OK;
}
