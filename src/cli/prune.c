/* SPDX-License-Identifier: Apache-2.0 */
/* petra prune: remove blobs that no image uses. */
#include "cli.h"

static const char usage[] =
    "Usage: petra prune [OPTIONS]\n"
    "\n"
    "Remove every blob that no named image references, and temporary files\n"
    "left by interrupted writers. Waits for running imports to finish.\n"
    "Refuses to run while a referenced manifest cannot be read (run\n"
    "'petra fsck' first).\n"
    "\n"
    "Options:\n"
    "  -n, --dry-run        say what would be removed, remove nothing\n"
    "      --format FORMAT  text (default) or json\n"
    "  -h, --help           this help\n";

int cmd_prune(struct cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256 };
	static const struct option options[] = {
	    {"dry-run", no_argument, NULL, 'n'},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool dry_run = false;
	enum cli_format format = CLI_FORMAT_TEXT;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "nh", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry_run = true;
			break;
		case OPT_FORMAT:
			if (cli_parse_format("prune", optarg, &format))
				return EXIT_USAGE;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("prune", argv);
		}
	}
	if (optind != argc)
		return cli_usage("prune", "takes no arguments");
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_EXCLUSIVE);
	if (!store)
		return EXIT_FAIL;
	struct rootfs_gc_result gc;
	if (cli_collect_garbage(store, dry_run, &gc) != EXIT_OK)
		return EXIT_FAIL;
	if (format == CLI_FORMAT_JSON) {
		json_t *o = json_object();
		json_object_set_new(o, "dryRun", json_boolean(dry_run));
		json_object_set_new(o, "blobs", json_integer((json_int_t)gc.blobs));
		json_object_set_new(o, "bytes", json_integer((json_int_t)gc.bytes));
		json_object_set_new(o, "extractedLayers", json_integer((json_int_t)gc.layers));
		cli_print_json(o);
		json_decref(o);
	} else {
		char size[32];
		format_size(gc.bytes, size, sizeof(size));
		printf("%s %llu blobs, %s; %llu extracted layers\n",
		       dry_run ? "Would remove" : "Removed", (unsigned long long)gc.blobs, size,
		       (unsigned long long)gc.layers);
	}
	return EXIT_OK;
}
