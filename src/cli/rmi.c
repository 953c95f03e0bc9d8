/* SPDX-License-Identifier: Apache-2.0 */
/* petra rmi: remove image names, then the blobs nothing uses any more. */
#include "cli.h"

#include <string.h>

static const char usage[] = "Usage: petra rmi [OPTIONS] IMAGE...\n"
			    "\n"
			    "Remove each IMAGE's name. IMAGE given as a digest (or digest prefix)\n"
			    "removes every name of that image. Then remove the blobs that no\n"
			    "remaining image uses (as 'petra prune' does).\n"
			    "\n"
			    "Options:\n"
			    "      --no-prune   only remove the names\n"
			    "  -h, --help       this help\n";

int cmd_rmi(struct cli *cli, int argc, char **argv)
{
	enum { OPT_NO_PRUNE = 256 };
	static const struct option options[] = {
	    {"no-prune", no_argument, NULL, OPT_NO_PRUNE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool prune = true;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_NO_PRUNE:
			prune = false;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("rmi", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("rmi", "expects at least one IMAGE");
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, prune ? PETRA_STORE_EXCLUSIVE : PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	for (int i = optind; i < argc; i++) {
		struct oci_descriptor desc;
		_cleanup_free_ char *name = NULL;
		if (petra_store_resolve(store, argv[i], &desc, &name, &err) < 0)
			return cli_fail(err);
		/* By name: that name. By digest or digest prefix: all its names.
		 * It was found by name when the name it matched is what the
		 * argument spells. */
		bool by_name = false;
		struct oci_ref ref;
		if (name && !oci_digest_valid(argv[i]) && oci_ref_parse(argv[i], &ref, NULL) == 0) {
			_cleanup_free_ char *spelled = oci_ref_format(&ref);
			by_name = !strcmp(spelled, name);
			oci_ref_release(&ref);
		}
		struct petra_store_entry *entries = NULL;
		size_t n = 0;
		if (petra_store_list(store, &entries, &n, &err) < 0) {
			oci_descriptor_release(&desc);
			return cli_fail(err);
		}
		for (size_t k = 0; k < n; k++) {
			if (!entries[k].name || strcmp(entries[k].desc.digest, desc.digest))
				continue;
			if (by_name && strcmp(entries[k].name, name))
				continue;
			if (petra_store_remove_ref(store, entries[k].name, &err) < 0) {
				petra_store_entries_free(entries, n);
				oci_descriptor_release(&desc);
				return cli_fail(err);
			}
			printf("Untagged: %s\n", entries[k].name);
		}
		petra_store_entries_free(entries, n);
		oci_descriptor_release(&desc);
	}
	if (!prune)
		return EXIT_OK;
	struct rootfs_gc_result gc;
	if (cli_collect_garbage(store, false, &gc) != EXIT_OK)
		return EXIT_FAIL;
	char size[32];
	format_size(gc.bytes, size, sizeof(size));
	printf("Deleted: %llu blobs, %s; %llu extracted layers\n", (unsigned long long)gc.blobs,
	       size, (unsigned long long)gc.layers);
	return EXIT_OK;
}
