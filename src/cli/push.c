/* SPDX-License-Identifier: Apache-2.0 */
/* petra push: an image of the store to a registry. */
#include "cli.h"

static const char usage[] =
    "Usage: petra push [OPTIONS] IMAGE [DEST]\n"
    "\n"
    "Push IMAGE of the store to the registry reference DEST (default: IMAGE's\n"
    "name) and print the manifest digest. Blobs the registry has are skipped,\n"
    "blobs another repository of the registry holds are mounted, large blobs\n"
    "go in chunks; the manifest goes last. The image's referrers (its build\n"
    "record) follow it: the referrers API, else the sha256-<hex> tag's index.\n"
    "\n"
    "Options:\n" CLI_REGISTRY_OPTIONS_HELP
    "      --chunk-size SIZE    blobs larger than SIZE go in PATCH chunks of SIZE\n"
    "                           (default 16m)\n"
    "  -j, --jobs N             blobs sent at once (default 4)\n"
    "  -q, --quiet              no progress\n"
    "  -h, --help               this help\n";

int cmd_push(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"chunk-size", required_argument, NULL, CLI_OPT_CHUNK_SIZE},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct registry_options o;
	int status = cli_registry_parse(cli, "push", usage, argc, argv, options, &o);
	if (status >= 0)
		return status;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage("push", "expects IMAGE and an optional DEST");
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	char digest[OCI_DIGEST_SIZE];
	const char *dest = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (registry_push(store, argv[optind], dest, &o, digest, &err) < 0)
		return cli_fail(err);
	/* The image's referrers (its build record) go where it went. */
	size_t pushed = 0;
	if (registry_push_referrers(store, dest ? dest : argv[optind], digest, &o, &pushed, &err) <
	    0)
		return cli_fail(err);
	if (pushed && !o.quiet)
		log_info("pushed %zu referrer%s", pushed, pushed == 1 ? "" : "s");
	printf("%s\n", digest);
	return EXIT_OK;
}
