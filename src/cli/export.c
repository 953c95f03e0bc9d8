/* SPDX-License-Identifier: Apache-2.0 */
/* petra export: an image to an OCI layout or archive. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra export [OPTIONS] IMAGE DEST\n"
    "\n"
    "Copy IMAGE from the store to DEST, verifying every blob on the way.\n"
    "\n"
    "DEST is one of:\n"
    "  oci:PATH[:TAG]          an OCI image layout (created if missing; other\n"
    "                          images in it are kept)\n"
    "  oci-archive:FILE[:TAG]  an OCI layout in a tar archive (written atomically)\n"
    "  dir:PATH                containers/image's directory layout (skopeo's dir:)\n"
    "TAG defaults to IMAGE's tag. Into oci: and oci-archive: the image's referrers\n"
    "(its build record) go too, listed in the layout's index.json.\n"
    "\n"
    "Options:\n"
    "  -h, --help   this help\n";

int cmd_export(struct cli *cli, int argc, char **argv)
{
	int parsed = cli_parse_help_only("export", usage, argc, argv);
	if (parsed >= 0)
		return parsed;
	if (argc - optind != 2)
		return cli_usage("export", "expects IMAGE and DEST");
	if (cli_check_image_ref("export", argv[optind]) != 0)
		return EXIT_USAGE;
	const char *dest = argv[optind + 1];
	if (strncmp(dest, "oci:", 4) != 0 && strncmp(dest, "oci-archive:", 12) != 0 &&
	    strncmp(dest, "dir:", 4) != 0)
		return cli_usage(
		    "export",
		    "DEST is oci:PATH[:TAG], oci-archive:FILE[:TAG] or dir:PATH, not \"%s\"", dest);
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	if (image_export(store, argv[optind], argv[optind + 1], &err) < 0)
		return cli_fail(err);
	return EXIT_OK;
}
