/* SPDX-License-Identifier: Apache-2.0 */
/* petra import: a directory, rootfs tarball, OCI layout or OCI archive. */
#include "cli.h"

static const char usage[] =
    "Usage: petra import [OPTIONS] SOURCE\n"
    "\n"
    "Import SOURCE into the store as an image and print its name and digest.\n"
    "\n"
    "SOURCE is one of:\n"
    "  DIR                     a root filesystem directory (one layer)\n"
    "  FILE.tar[.gz|.zst|.xz]  a root filesystem tarball (one layer)\n"
    "  oci:PATH[:TAG]          an image of an OCI image layout\n"
    "  oci-archive:FILE[:TAG]  an image of an OCI layout in a tar archive\n"
    "\n"
    "Options:\n"
    "  -r, --ref NAME        store the image as NAME[:TAG] (default: from SOURCE:\n"
    "                        its directory or file name, or the layout's tag)\n"
    "  -c, --compress ALGO   layer compression for DIR and FILE: gzip (default),\n"
    "                        zstd or none\n"
    "  -q, --quiet           print only the manifest digest\n"
    "  -h, --help            this help\n"
    "\n"
    "With SOURCE_DATE_EPOCH set, file times are clamped to it and the image's\n"
    "creation time is set from it: the same tree gives the same digest.\n";

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"ref", required_argument, NULL, 'r'},
	    {"compress", required_argument, NULL, 'c'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct image_import_options o = {.compression = LAYER_COMPRESSION_GZIP};
	bool quiet = cli->quiet;
	struct petra_error *err = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "r:c:qh", options, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.name = optarg;
			break;
		case 'c':
			if (layer_compression_parse(optarg, &o.compression, &err) < 0) {
				int s = cli_usage("import", "%s", err->message);
				petra_error_free(err);
				return s;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("import", argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("import", "expects one SOURCE");
	if (o.name && cli_check_image_name("import", o.name) != 0)
		return EXIT_USAGE;
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	_cleanup_free_ char *name = NULL;
	char digest[OCI_DIGEST_SIZE];
	if (image_import(store, argv[optind], &o, &name, digest, &err) < 0)
		return cli_fail(err);
	if (quiet)
		printf("%s\n", digest);
	else
		printf("%s %s\n", name, digest);
	return EXIT_OK;
}
