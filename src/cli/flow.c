/* SPDX-License-Identifier: Apache-2.0 */
/* petra flow: a Habitus build.yml, step by step. */
#include "cli.h"
#include "flow/flow.h"

#include <string.h>

static const char usage[] =
    "Usage: petra flow [OPTIONS] [FILE]\n"
    "\n"
    "Run the multi-step build flow of FILE (default: build.yml), a Habitus\n"
    "build.yml (version 2016-03-14): each step builds an image named after it;\n"
    "steps run in dependency order, independent ones in parallel. Prints each\n"
    "step's image and digest.\n"
    "\n"
    "Step keys: name, dockerfile, context, args, target, artifacts (src[:dest],\n"
    "copied out of the image, no container), depends_on, cleanup.commands\n"
    "(run last, then the step's layers squashed), no_cache, secrets (reach\n"
    "only that step, as RUN --mount=type=secret,id=KEY), command (run in the\n"
    "image once built). \"_env(VAR)\" in a value is $VAR.\n"
    "\n"
    "Options:\n"
    "  -j, --jobs N             steps at once (default: the cores)\n"
    "      --no-cache           every step without the build cache\n"
    "      --network none|host  the network of RUN and commands (default none)\n"
    "      --compress ALGO      layer compression: gzip (default), zstd or none\n"
    "      --source-date-epoch N  reproducible builds (default: $SOURCE_DATE_EPOCH)\n"
    "      --policy FILE        the policy every step's build follows, and the gate\n"
    "                           before a step's command runs in its image\n"
    "                           (default: .petra/policy.yaml if there)\n"
    "      --signature-policy FILE  a containers policy.json a step's image must\n"
    "                           also satisfy before its command runs\n"
    "      --check              read and check FILE only\n"
    "  -q, --quiet              print only the images and digests\n"
    "  -h, --help               this help\n";

enum { OPT_CHECK = 1000 };

int cmd_flow(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"check", no_argument, NULL, OPT_CHECK},
	    {"signature-policy", required_argument, NULL, CLI_OPT_SIGNATURE_POLICY},
	    CLI_BUILD_LONG_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct cli_build_args ba;
	cli_build_args_init(&ba, cli);
	bool check = false;
	const char *signature_policy = NULL;
	struct petra_error *err = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
		int r = cli_build_option("flow", c, optarg, &ba);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
		switch (c) {
		case OPT_CHECK:
			check = true;
			break;
		case CLI_OPT_SIGNATURE_POLICY:
			signature_policy = optarg;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("flow", argv);
		}
	}
	if (argc - optind > 1)
		return cli_usage("flow", "expects at most one FILE");
	const char *file = optind < argc ? argv[optind] : "build.yml";
	if (check) {
		if (flow_check(file, &err) < 0)
			return cli_fail(err);
		printf("%s: ok\n", file);
		return EXIT_OK;
	}
	if (cli_build_args_finish(&ba, &err) < 0) {
		cli_build_args_release(&ba);
		return cli_fail(err);
	}
	struct flow_options o = {
	    .file = file,
	    .jobs = ba.jobs,
	    .no_cache = ba.no_cache,
	    .quiet = ba.quiet,
	    .network = ba.network,
	    .compression = ba.compression,
	    .reproducible = ba.reproducible,
	    .source_date_epoch = ba.source_date_epoch,
	    .policy = ba.policy,
	    .signature_policy = signature_policy,
	};
	int status = EXIT_OK;
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store) {
		status = EXIT_FAIL;
	} else {
		struct flow_result result;
		int r = flow_run(store, &o, &result, &err);
		for (size_t i = 0; i < result.n_steps; i++)
			printf("%s %s %s\n", result.steps[i].step, result.steps[i].image,
			       result.steps[i].digest);
		flow_result_release(&result);
		if (r < 0)
			status = cli_fail(err);
	}
	cli_build_args_release(&ba);
	return status;
}
