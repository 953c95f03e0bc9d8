/* SPDX-License-Identifier: Apache-2.0 */
/* petra unpack: an image's filesystem into a directory. */
#include "cli.h"

#include <stdlib.h>

static const char usage[] =
    "Usage: petra unpack [OPTIONS] IMAGE DIR\n"
    "\n"
    "Apply IMAGE's layers, in order, onto a new directory DIR (which must not\n"
    "exist, or be empty). DIR appears only once every layer is applied and\n"
    "every digest verified; on any error nothing is left behind.\n"
    "\n"
    "Entries that would write outside DIR (\"..\", absolute names, escaping\n"
    "symlinks or hardlinks, whiteouts naming \"..\"), duplicate entries and\n"
    "device nodes are refused, with an error naming the layer and the entry.\n"
    "\n"
    "Options:\n"
    "      --allow-devices   create character and block device nodes\n"
    "      --no-ownership    do not chown entries (the default when not root)\n"
    "      --max-ratio N     refuse a layer that decompresses to more than N\n"
    "                        times its size once past 64 MiB (default 250;\n"
    "                        0 turns the check off)\n"
    "  -h, --help            this help\n";

int cmd_unpack(struct cli *cli, int argc, char **argv)
{
	enum { OPT_DEVICES = 256, OPT_NO_OWNERSHIP, OPT_MAX_RATIO };
	static const struct option options[] = {
	    {"allow-devices", no_argument, NULL, OPT_DEVICES},
	    {"no-ownership", no_argument, NULL, OPT_NO_OWNERSHIP},
	    {"max-ratio", required_argument, NULL, OPT_MAX_RATIO},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct image_unpack_options o = {0};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_DEVICES:
			o.apply_flags |= LAYER_APPLY_ALLOW_DEVICES;
			break;
		case OPT_NO_OWNERSHIP:
			o.apply_flags |= LAYER_APPLY_NO_OWNERSHIP;
			break;
		case OPT_MAX_RATIO: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 1000000)
				return cli_usage("unpack", "--max-ratio wants a number, not \"%s\"",
						 optarg);
			o.max_ratio = v == 0 ? -1 : (int)v;
			break;
		}
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("unpack", argv);
		}
	}
	if (argc - optind != 2)
		return cli_usage("unpack", "expects IMAGE and DIR");
	if (cli_check_image_ref("unpack", argv[optind]) != 0)
		return EXIT_USAGE;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	if (image_unpack(store, argv[optind], argv[optind + 1], &o, &err) < 0) {
		petra_error_prefix(&err, "unpack %s", argv[optind]);
		return cli_fail(err);
	}
	return EXIT_OK;
}
