/* SPDX-License-Identifier: Apache-2.0 */
/* petra inspect: manifest and config of an image. */
#include "cli.h"

static const char usage[] =
    "Usage: petra inspect [OPTIONS] IMAGE...\n"
    "\n"
    "Print, as JSON, each IMAGE's name, manifest digest, manifest and config.\n"
    "IMAGE is a name[:tag], name@digest, a manifest digest or a prefix of one.\n"
    "\n"
    "Options:\n"
    "      --format json    the only format (accepted for scripts)\n"
    "      --manifest       print only the manifest, as stored\n"
    "      --config         print only the config, as stored\n"
    "  -h, --help           this help\n";

int cmd_inspect(struct cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_MANIFEST, OPT_CONFIG };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"manifest", no_argument, NULL, OPT_MANIFEST},
	    {"config", no_argument, NULL, OPT_CONFIG},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int only = 0;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT: {
			enum cli_format f;
			if (cli_parse_format("inspect", optarg, &f))
				return EXIT_USAGE;
			if (f != CLI_FORMAT_JSON)
				return cli_usage("inspect", "prints JSON only");
			break;
		}
		case OPT_MANIFEST:
		case OPT_CONFIG:
			only = c;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("inspect", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("inspect", "expects at least one IMAGE");
	for (int i = optind; i < argc; i++)
		if (cli_check_image_ref("inspect", argv[i]) != 0)
			return EXIT_USAGE;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct image *images = xcalloc((size_t)(argc - optind), sizeof(*images));
	int status = EXIT_OK;
	int loaded = 0;
	for (int i = optind; i < argc && status == EXIT_OK; i++, loaded++) {
		struct petra_error *err = NULL;
		if (image_load(store, argv[i], &images[loaded], &err) < 0) {
			status = cli_fail(err);
			break;
		}
	}
	if (status == EXIT_OK && only) {
		for (int i = 0; i < loaded; i++)
			cli_print_json(only == OPT_MANIFEST ? images[i].manifest.json
							    : images[i].config.json);
	} else if (status == EXIT_OK) {
		json_t *arr = json_array();
		for (int i = 0; i < loaded; i++) {
			json_t *o = json_object();
			json_object_set_new(
			    o, "name", images[i].name ? json_string(images[i].name) : json_null());
			json_object_set_new(o, "digest", json_string(images[i].desc.digest));
			json_object_set_new(o, "mediaType", json_string(images[i].desc.media_type));
			json_object_set(o, "manifest", images[i].manifest.json);
			json_object_set(o, "config", images[i].config.json);
			json_array_append_new(arr, o);
		}
		cli_print_json(arr);
		json_decref(arr);
	}
	for (int i = 0; i < loaded; i++)
		image_release(&images[i]);
	free(images);
	return status;
}
