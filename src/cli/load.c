/* SPDX-License-Identifier: Apache-2.0 */
/* petra load: the images of a `docker save` archive into the store. */
#include "cli.h"

static const char usage[] =
    "Usage: petra load [OPTIONS] -i FILE\n"
    "\n"
    "Load every image of FILE, a `docker save` archive (docker save, podman\n"
    "save; compressed layers too), under its names, and print each name and\n"
    "manifest digest.\n"
    "\n"
    "Options:\n"
    "  -i, --input FILE  the archive\n"
    "  -q, --quiet       print nothing\n"
    "  -h, --help        this help\n";

int cmd_load(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"input", required_argument, NULL, 'i'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *input = NULL;
	bool quiet = cli->quiet;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "i:qh", options, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("load", argv);
		}
	}
	if (!input)
		return cli_usage("load", "needs -i FILE");
	if (optind != argc)
		return cli_usage("load", "takes no operands");
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	_cleanup_strvec_ struct strvec names = STRVEC_INIT;
	if (image_load_docker_archive(store, input, NULL, &names, &err) < 0)
		return cli_fail(err);
	for (size_t i = 0; !quiet && i < names.n; i++)
		printf("%s\n", names.v[i]);
	return EXIT_OK;
}
