/* SPDX-License-Identifier: Apache-2.0 */
/* petra tag: another name for an image. */
#include "cli.h"

static const char usage[] =
    "Usage: petra tag [OPTIONS] IMAGE NAME...\n"
    "\n"
    "Give IMAGE (a name, a digest or a digest prefix) one or more other names.\n"
    "An existing NAME is moved to IMAGE.\n"
    "\n"
    "Options:\n"
    "  -h, --help   this help\n";

int cmd_tag(struct cli *cli, int argc, char **argv)
{
	int parsed = cli_parse_help_only("tag", usage, argc, argv);
	if (parsed >= 0)
		return parsed;
	if (argc - optind < 2)
		return cli_usage("tag", "expects IMAGE and at least one NAME");
	struct petra_error *err = NULL;
	/* Check every name before changing anything: a malformed one is bad
	 * usage. */
	if (cli_check_image_ref("tag", argv[optind]) != 0)
		return EXIT_USAGE;
	for (int i = optind + 1; i < argc; i++)
		if (cli_check_image_name("tag", argv[i]) != 0)
			return EXIT_USAGE;
	struct strvec names = STRVEC_INIT;
	for (int i = optind + 1; i < argc; i++) {
		struct oci_ref ref;
		if (oci_ref_parse(argv[i], &ref, &err) < 0) {
			strvec_clear(&names);
			return cli_fail(err);
		}
		strvec_push_nodup(&names, oci_ref_format(&ref));
		oci_ref_release(&ref);
	}
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	int status = EXIT_OK;
	struct oci_descriptor desc;
	if (!store) {
		status = EXIT_FAIL;
	} else if (petra_store_resolve(store, argv[optind], &desc, NULL, &err) < 0) {
		status = cli_fail(err);
	} else {
		/* The name annotation is the new one's, not the source's. */
		json_decref(desc.annotations);
		desc.annotations = NULL;
		for (size_t i = 0; i < names.n && status == EXIT_OK; i++)
			if (petra_store_set_ref(store, names.v[i], &desc, &err) < 0)
				status = cli_fail(err);
		oci_descriptor_release(&desc);
	}
	strvec_clear(&names);
	return status;
}
