/* SPDX-License-Identifier: Apache-2.0 */
/* petra inspect: manifest and config of an image. */
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: petra inspect [OPTIONS] IMAGE...\n"
    "\n"
    "Print, as JSON, each IMAGE's name, manifest digest, manifest and config.\n"
    "IMAGE is a name[:tag], name@digest, a manifest digest or a prefix of one,\n"
    "or docker://REF for an image in a registry (its manifest, resolved to the\n"
    "platform, and config are fetched and verified; nothing is stored).\n"
    "\n"
    "Options:\n"
    "      --format json    the only format (accepted for scripts)\n"
    "      --manifest       print only the manifest, as stored\n"
    "      --config         print only the config, as stored\n"
    "      --record         print only the build record (an in-toto statement with\n"
    "                       a SLSA provenance predicate), as stored\n"
    "      --platform OS/ARCH[/VARIANT]  docker://: the image of an index\n"
    "                           (default: linux/<this machine>)\n" CLI_REGISTRY_OPTIONS_HELP
    "  -h, --help           this help\n";

int cmd_inspect(struct cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_MANIFEST, OPT_CONFIG, OPT_RECORD };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"manifest", no_argument, NULL, OPT_MANIFEST},
	    {"config", no_argument, NULL, OPT_CONFIG},
	    {"record", no_argument, NULL, OPT_RECORD},
	    {"help", no_argument, NULL, 'h'},
	    CLI_REGISTRY_LONG_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct registry_options remote = {.tls_verify = -1};
	int only = 0;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		int r = cli_registry_option("inspect", c, optarg, &remote);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
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
		case OPT_RECORD:
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
		if (strncmp(argv[i], "docker://", 9) &&
		    cli_check_image_ref("inspect", argv[i]) != 0)
			return EXIT_USAGE;
	_cleanup_store_ struct petra_store *store = NULL;
	json_t *results = json_array();
	int status = EXIT_OK;
	for (int i = optind; i < argc && status == EXIT_OK; i++) {
		struct petra_error *err = NULL;
		json_t *o = json_object();
		json_array_append_new(results, o);
		if (!strncmp(argv[i], "docker://", 9)) {
			json_t *manifest, *config;
			char digest[OCI_DIGEST_SIZE];
			if (registry_inspect(argv[i] + 9, &remote, &manifest, &config, digest,
					     &err) < 0) {
				status = cli_fail(err);
				break;
			}
			json_object_set_new(o, "name", json_string(argv[i]));
			json_object_set_new(o, "digest", json_string(digest));
			const char *media_type =
			    json_string_value(json_object_get(manifest, "mediaType"));
			json_object_set_new(
			    o, "mediaType",
			    json_string(media_type ? media_type : OCI_MEDIA_TYPE_MANIFEST));
			json_object_set_new(o, "manifest", manifest);
			json_object_set_new(o, "config", config);
			if (only == OPT_RECORD) {
				status = cli_usage("inspect", "--record reads the store only");
				break;
			}
			continue;
		}
		if (!store && !(store = cli_open_store(cli, 0))) {
			status = EXIT_FAIL;
			break;
		}
		struct image image;
		if (image_load(store, argv[i], &image, &err) < 0) {
			status = cli_fail(err);
			break;
		}
		json_object_set_new(o, "name", image.name ? json_string(image.name) : json_null());
		json_object_set_new(o, "digest", json_string(image.desc.digest));
		json_object_set_new(o, "mediaType", json_string(image.desc.media_type));
		json_object_set(o, "manifest", image.manifest.json);
		json_object_set(o, "config", image.config.json);
		if (only == OPT_RECORD) {
			_cleanup_free_ char *text = NULL;
			size_t len;
			int r = lineage_record_read(store, image.desc.digest, &text, &len, &err);
			if (r == -ENOENT)
				r = petra_error_set(&err, ENOENT, "image %s has no build record",
						    argv[i]);
			json_t *st =
			    r == 0 ? json_parse_buffer(text, len, "build record", &err) : NULL;
			if (!st) {
				image_release(&image);
				status = cli_fail(err);
				break;
			}
			json_object_set_new(o, "record", st);
		}
		image_release(&image);
	}
	if (status == EXIT_OK && only) {
		for (size_t i = 0; i < json_array_size(results); i++)
			cli_print_json(json_object_get(json_array_get(results, i),
						       only == OPT_MANIFEST ? "manifest"
						       : only == OPT_RECORD ? "record"
									    : "config"));
	} else if (status == EXIT_OK) {
		cli_print_json(results);
	}
	json_decref(results);
	return status;
}
