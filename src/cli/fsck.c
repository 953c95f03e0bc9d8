/* SPDX-License-Identifier: Apache-2.0 */
/* petra fsck: verify the store. */
#include "cli.h"

static const char usage[] =
    "Usage: petra fsck [OPTIONS]\n"
    "\n"
    "Verify the store: every blob's content against its digest, every\n"
    "reference (index.json, manifests, configs, layers) and size, and every\n"
    "layer's uncompressed content against its config's diff_id, and every\n"
    "extracted layer (the rootfs cache run and build mount) against its\n"
    "blob. Prints one line per problem, naming the object, then a count of\n"
    "them on standard error; or \"ok: STORE is sound\".\n"
    "\n"
    "Exit status: 0 when the store is sound, 1 when problems were found.\n"
    "\n"
    "Options:\n"
    "      --quick          skip the diff_id and extracted-layer checks\n"
    "      --format FORMAT  text (default) or json\n"
    "  -h, --help           this help\n";

struct report_ctx {
	json_t *problems;
	enum cli_format format;
};

static void report(void *vctx, const char *object, const char *problem)
{
	struct report_ctx *ctx = vctx;
	if (ctx->format == CLI_FORMAT_JSON) {
		json_t *o = json_object();
		json_object_set_new(o, "object", json_string(object));
		json_object_set_new(o, "problem", json_string(problem));
		json_array_append_new(ctx->problems, o);
	} else {
		printf("%s: %s\n", object, problem);
	}
}

/* The extracted copies of the named images' layers against their blobs
 * (what run and build mount), each layer once. An image the store check
 * found unreadable is its problem already. */
static int verify_extracted_layers(struct petra_store *store, struct report_ctx *ctx,
				   unsigned *problems, struct petra_error **err)
{
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	int r = petra_store_list(store, &entries, &n, err);
	if (r < 0)
		return r;
	_cleanup_strset_ struct strset done = STRSET_INIT;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (oci_media_type_kind(entries[i].desc.media_type) != OCI_KIND_MANIFEST ||
		    !strset_add(&done, entries[i].desc.digest))
			continue;
		struct image img;
		_cleanup_error_ struct petra_error *e = NULL;
		if (image_load(store, entries[i].desc.digest, &img, &e) < 0)
			continue;
		_cleanup_error_ struct petra_error *verr = NULL;
		if (rootfs_verify(store, &img, report, ctx, problems, &verr) < 0) {
			(*problems)++;
			report(ctx, entries[i].desc.digest, verr->message);
		}
		image_release(&img);
	}
	petra_store_entries_free(entries, n);
	return r;
}

int cmd_fsck(struct cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_QUICK };
	static const struct option options[] = {
	    {"quick", no_argument, NULL, OPT_QUICK},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool quick = false;
	struct report_ctx ctx = {.format = CLI_FORMAT_TEXT};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_QUICK:
			quick = true;
			break;
		case OPT_FORMAT:
			if (cli_parse_format("fsck", optarg, &ctx.format))
				return EXIT_USAGE;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("fsck", argv);
		}
	}
	if (optind != argc)
		return cli_usage("fsck", "takes no arguments");
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	ctx.problems = json_array();
	unsigned problems = 0;
	struct petra_error *err = NULL;
	int r = petra_store_check(store, report, &ctx, &problems, &err);
	if (r == 0 && !quick)
		r = image_verify_layers(store, report, &ctx, &problems, &err);
	if (r == 0 && !quick)
		r = verify_extracted_layers(store, &ctx, &problems, &err);
	if (r < 0) {
		json_decref(ctx.problems);
		return cli_fail(err);
	}
	if (ctx.format == CLI_FORMAT_JSON) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_boolean(problems == 0));
		json_object_set_new(o, "problems", ctx.problems);
		cli_print_json(o);
		json_decref(o);
	} else {
		json_decref(ctx.problems);
		/* The verdict: a result on stdout when sound, an error otherwise. */
		if (problems)
			fprintf(stderr, "petra: fsck: %u problem%s in %s\n", problems,
				problems == 1 ? "" : "s", petra_store_root(store));
		else
			printf("ok: %s is sound\n", petra_store_root(store));
	}
	return problems ? EXIT_FAIL : EXIT_OK;
}
