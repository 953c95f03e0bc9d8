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
    "      --policy FILE        the policy every step's build follows (default:\n"
    "                           .petra/policy.yaml if there)\n"
    "      --check              read and check FILE only\n"
    "  -q, --quiet              print only the images and digests\n"
    "  -h, --help               this help\n";

enum { OPT_NO_CACHE = 1000, OPT_NETWORK, OPT_COMPRESS, OPT_EPOCH, OPT_CHECK, OPT_POLICY };

int cmd_flow(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"jobs", required_argument, NULL, 'j'},
	    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
	    {"network", required_argument, NULL, OPT_NETWORK},
	    {"compress", required_argument, NULL, OPT_COMPRESS},
	    {"source-date-epoch", required_argument, NULL, OPT_EPOCH},
	    {"check", no_argument, NULL, OPT_CHECK},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct flow_options o = {.compression = LAYER_COMPRESSION_GZIP, .quiet = cli->quiet};
	bool check = false, epoch_given = false;
	const char *policy_path = NULL;
	struct petra_error *err = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
		switch (c) {
		case 'j': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > 1024)
				return cli_usage("flow", "--jobs: a number from 1, not \"%s\"",
						 optarg);
			o.jobs = (unsigned)v;
			break;
		}
		case OPT_NO_CACHE:
			o.no_cache = true;
			break;
		case OPT_NETWORK:
			if (!strcmp(optarg, "none"))
				o.network = SANDBOX_NETWORK_NONE;
			else if (!strcmp(optarg, "host"))
				o.network = SANDBOX_NETWORK_HOST;
			else
				return cli_usage("flow", "--network: none or host, not \"%s\"",
						 optarg);
			break;
		case OPT_COMPRESS:
			if (layer_compression_parse(optarg, &o.compression, &err) < 0) {
				int s = cli_usage("flow", "%s", err->message);
				petra_error_free(err);
				return s;
			}
			break;
		case OPT_EPOCH: {
			char *end;
			long long v = strtoll(optarg, &end, 10);
			if (!*optarg || *end || v < 0)
				return cli_usage("flow", "--source-date-epoch: seconds, not \"%s\"",
						 optarg);
			o.reproducible = true;
			o.source_date_epoch = (time_t)v;
			epoch_given = true;
			break;
		}
		case OPT_CHECK:
			check = true;
			break;
		case OPT_POLICY:
			policy_path = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("flow", argv);
		}
	}
	if (argc - optind > 1)
		return cli_usage("flow", "expects at most one FILE");
	o.file = optind < argc ? argv[optind] : "build.yml";
	if (check) {
		if (flow_check(o.file, &err) < 0)
			return cli_fail(err);
		printf("%s: ok\n", o.file);
		return EXIT_OK;
	}
	if (!epoch_given) {
		time_t epoch;
		int r = petra_source_date_epoch(&epoch, &err);
		if (r < 0)
			return cli_fail(err);
		o.reproducible = r == 1;
		o.source_date_epoch = r == 1 ? epoch : 0;
	}
	_cleanup_policy_ struct petra_policy *policy = NULL;
	if (petra_policy_load_default(policy_path, &policy, &err) < 0)
		return cli_fail(err);
	o.policy = policy;
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct flow_result result;
	int r = flow_run(store, &o, &result, &err);
	for (size_t i = 0; i < result.n_steps; i++)
		printf("%s %s %s\n", result.steps[i].step, result.steps[i].image,
		       result.steps[i].digest);
	flow_result_release(&result);
	if (r < 0)
		return cli_fail(err);
	return EXIT_OK;
}
