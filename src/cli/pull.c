/* SPDX-License-Identifier: Apache-2.0 */
/* petra pull: an image from a registry into the store. */
#include "cli.h"

static const char usage[] =
    "Usage: petra pull [OPTIONS] REF\n"
    "\n"
    "Pull REF ([REGISTRY/]REPO[:TAG|@DIGEST]; \"debian:12\" is\n"
    "docker.io/library/debian:12) into the store under the name REF, and print\n"
    "the name and the manifest digest. Every blob is verified (size and digest)\n"
    "as it arrives; blobs the store holds are not fetched. The image's\n"
    "referrers (build records, signatures) come along.\n"
    "\n"
    "Options:\n"
    "      --platform OS/ARCH[/VARIANT]  the image of an index to pull\n"
    "                           (default: linux/<this machine>)\n" CLI_REGISTRY_OPTIONS_HELP
    "  -j, --jobs N             blobs fetched at once (default 4)\n"
    "  -q, --quiet              no progress; print only the digest\n"
    "  -h, --help               this help\n";

int cmd_pull(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct registry_options o;
	int status = cli_registry_parse(cli, "pull", usage, argc, argv, options, &o);
	if (status >= 0)
		return status;
	if (argc - optind != 1)
		return cli_usage("pull", "expects one REF");
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	char digest[OCI_DIGEST_SIZE];
	if (registry_pull(store, argv[optind], &o, digest, &err) < 0)
		return cli_fail(err);
	cli_pull_referrers(store, argv[optind], digest, &o);
	if (o.quiet)
		printf("%s\n", digest);
	else
		printf("%s %s\n", argv[optind], digest);
	return EXIT_OK;
}
