/* SPDX-License-Identifier: Apache-2.0 */
/* petra verify: the extracted layers on disk against their images. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra verify [OPTIONS] [IMAGE...]\n"
    "\n"
    "Compare the layers petra extracted for running containers (the store's\n"
    "rootfs cache) with the layer blobs they came from: every path's type, mode,\n"
    "owner, size, content hash and link target. The blobs themselves are\n"
    "checked against their digests and diff_ids on the way, so tampering with\n"
    "the host-side copy is caught before it runs again. Without IMAGE, every\n"
    "named image. A layer not extracted yet has its blob checked (present, its\n"
    "digest and diff_id).\n"
    "\n"
    "Options:\n"
    "      --format FORMAT   text (default) or json\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 all verified, 1 a difference or an error.\n";

struct report {
	json_t *problems;
	bool json;
};

static void report_problem(void *ctx, const char *object, const char *problem)
{
	struct report *r = ctx;
	if (r->json)
		json_array_append_new(r->problems,
				      json_pack("{s:s,s:s}", "layer", object, "problem", problem));
	else
		printf("%s: %s\n", object, problem);
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256 };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum cli_format format = CLI_FORMAT_TEXT;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == OPT_FORMAT) {
			if (cli_parse_format("verify", optarg, &format))
				return EXIT_USAGE;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("verify", argv);
		}
	}
	for (int i = optind; i < argc; i++)
		if (cli_check_image_ref("verify", argv[i]) != 0)
			return EXIT_USAGE;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	_cleanup_strvec_ struct strvec refs = STRVEC_INIT;
	struct petra_error *err = NULL;
	for (int i = optind; i < argc; i++)
		strvec_push(&refs, argv[i]);
	if (optind == argc) {
		struct petra_store_entry *entries;
		size_t n;
		if (petra_store_list(store, &entries, &n, &err) < 0)
			return cli_fail(err);
		for (size_t i = 0; i < n; i++)
			strvec_push(&refs,
				    entries[i].name ? entries[i].name : entries[i].desc.digest);
		petra_store_entries_free(entries, n);
	}
	struct report rep = {.problems = json_array(), .json = format == CLI_FORMAT_JSON};
	unsigned problems = 0;
	int status = EXIT_OK;
	for (size_t i = 0; i < refs.n; i++) {
		struct image img;
		int r = image_load(store, refs.v[i], &img, &err);
		if (r == 0)
			r = rootfs_verify(store, &img, report_problem, &rep, &problems, &err);
		if (r < 0) {
			petra_error_prefix(&err, "verify %s", refs.v[i]);
			status = cli_fail(err);
			err = NULL;
		}
		image_release(&img);
	}
	if (rep.json) {
		json_t *out = json_pack("{s:b,s:O}", "ok", problems == 0 && status == EXIT_OK,
					"problems", rep.problems);
		cli_print_json(out);
		json_decref(out);
	} else if (problems == 0 && status == EXIT_OK) {
		printf("ok: %zu image%s verified\n", refs.n, refs.n == 1 ? "" : "s");
	}
	json_decref(rep.problems);
	return problems ? EXIT_FAIL : status;
}
