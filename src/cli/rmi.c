/* SPDX-License-Identifier: Apache-2.0 */
/* petra rmi: remove image names, then the blobs nothing uses any more. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra rmi [OPTIONS] IMAGE...\n"
    "\n"
    "Remove each IMAGE's name. IMAGE given as a digest (or digest prefix)\n"
    "removes every name of that image. Then remove the blobs and extracted\n"
    "layers that no remaining image or container uses (as 'petra prune' does).\n"
    "\n"
    "Prints \"Untagged: NAME\" for each name removed and, for an image whose\n"
    "last name went, \"Deleted: DIGEST (N blobs, SIZE; N extracted layers)\":\n"
    "what only that image used. What nothing used before (left by earlier\n"
    "--no-prune runs, say) is removed too, on a line of its own:\n"
    "\"Pruned: N unreferenced blobs, SIZE; N extracted layers\".\n"
    "\n"
    "Options:\n"
    "      --no-prune   only remove the names\n"
    "  -h, --help       this help\n";

struct rmi_args {
	bool prune;
	char **images;
	size_t n_images;
};

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct rmi_args *a)
{
	enum { OPT_NO_PRUNE = 256 };
	static const struct option options[] = {
	    {"no-prune", no_argument, NULL, OPT_NO_PRUNE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct rmi_args){.prune = true};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_NO_PRUNE:
			a->prune = false;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("rmi", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("rmi", "expects at least one IMAGE");
	a->images = argv + optind;
	a->n_images = (size_t)(argc - optind);
	for (size_t i = 0; i < a->n_images; i++)
		if (cli_check_image_ref("rmi", a->images[i]) != 0)
			return EXIT_USAGE;
	return -1;
}

/* The names an argument removes: by name, that name; by digest or digest
 * prefix, every name of the image. It was found by name when the name it
 * matched is what the argument spells. */
static int names_to_remove(struct petra_store *store, const char *arg, struct strvec *names,
			   char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	struct oci_descriptor desc;
	_cleanup_free_ char *name = NULL;
	if (petra_store_resolve(store, arg, &desc, &name, err) < 0)
		return -ENOENT;
	memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	bool by_name = false;
	struct oci_ref ref;
	if (name && !oci_digest_valid(arg) && oci_ref_parse(arg, &ref, NULL) == 0) {
		_cleanup_free_ char *spelled = oci_ref_format(&ref);
		by_name = !strcmp(spelled, name);
		oci_ref_release(&ref);
	}
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	int r = petra_store_list(store, &entries, &n, err);
	for (size_t k = 0; r == 0 && k < n; k++) {
		if (!entries[k].name || strcmp(entries[k].desc.digest, desc.digest))
			continue;
		if (by_name && strcmp(entries[k].name, name))
			continue;
		strvec_push(names, entries[k].name);
	}
	petra_store_entries_free(entries, n);
	oci_descriptor_release(&desc);
	return r;
}

/* "3 blobs, 1.2 MB; 1 extracted layer", the blobs called `adjective`. */
static char *gc_text(const struct rootfs_gc_result *gc, const char *adjective)
{
	char size[32];
	format_size(gc->bytes, size, sizeof(size));
	return xasprintf("%llu %sblob%s, %s; %llu extracted layer%s", (unsigned long long)gc->blobs,
			 adjective, gc->blobs == 1 ? "" : "s", size, (unsigned long long)gc->layers,
			 gc->layers == 1 ? "" : "s");
}

int cmd_rmi(struct cli *cli, int argc, char **argv)
{
	struct rmi_args a;
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, a.prune ? PETRA_STORE_EXCLUSIVE : PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	/* Every argument is resolved before anything changes. */
	struct strvec *names = xcalloc(a.n_images, sizeof(*names));
	char(*digests)[OCI_DIGEST_SIZE] = xcalloc(a.n_images, sizeof(*digests));
	status = EXIT_OK;
	for (size_t i = 0; i < a.n_images && status == EXIT_OK; i++)
		if (names_to_remove(store, a.images[i], &names[i], digests[i], &err) < 0)
			status = cli_fail(err);
	/* What nothing used before goes first, so that what each image's
	 * removal frees can be told apart from it. */
	struct rootfs_gc_result pruned = {0}, freed;
	if (status == EXIT_OK && a.prune)
		status = cli_collect_garbage(store, false, &pruned);
	for (size_t i = 0; i < a.n_images && status == EXIT_OK; i++) {
		for (size_t k = 0; k < names[i].n && status == EXIT_OK; k++) {
			/* A name an earlier argument removed already. */
			struct oci_descriptor desc;
			_cleanup_error_ struct petra_error *gone = NULL;
			if (petra_store_resolve(store, names[i].v[k], &desc, NULL, &gone) < 0)
				continue;
			oci_descriptor_release(&desc);
			if (petra_store_remove_ref(store, names[i].v[k], &err) < 0)
				status = cli_fail(err);
			else
				printf("Untagged: %s\n", names[i].v[k]);
		}
		if (status != EXIT_OK || !a.prune)
			continue;
		status = cli_collect_garbage(store, false, &freed);
		if (status == EXIT_OK && !petra_store_has_blob(store, digests[i])) {
			_cleanup_free_ char *text = gc_text(&freed, "");
			printf("Deleted: %s (%s)\n", digests[i], text);
		}
	}
	if (status == EXIT_OK && (pruned.blobs || pruned.layers)) {
		_cleanup_free_ char *text = gc_text(&pruned, "unreferenced ");
		printf("Pruned: %s\n", text);
	}
	for (size_t i = 0; i < a.n_images; i++)
		strvec_clear(&names[i]);
	free(names);
	free(digests);
	return status;
}
