/* SPDX-License-Identifier: Apache-2.0 */
/* petra build: a Dockerfile and its context into an image. */
#include "build/build.h"
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra build [OPTIONS] CONTEXT\n"
    "\n"
    "Build an image from a Dockerfile and the CONTEXT directory, with no daemon,\n"
    "and print its name and digest. Progress goes to standard error.\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE          the Dockerfile (default: CONTEXT/Dockerfile)\n"
    "  -t, --tag NAME[:TAG]     name the image (repeatable)\n"
    "      --build-arg K[=V]    a build argument (K alone: petra's $K)\n"
    "      --target STAGE       build this stage (and what it needs), not the last\n"
    "      --secret id=ID,src=FILE|env=VAR\n"
    "                           a secret for RUN --mount=type=secret,id=ID: on a\n"
    "                           tmpfs for that step only, never in a layer\n"
    "      --no-cache           run every step, whatever the cache holds\n"
    "      --policy FILE        the policy: its base catalog (a banned or unapproved\n"
    "                           base stops the build; rewrites apply first) and\n"
    "                           build section (default: .petra/policy.yaml if there)\n"
    "      --network none|host  RUN's network (default none: loopback only);\n"
    "                           RUN --network=host needs host here\n"
    "      --compress ALGO      layer compression: gzip (default), zstd or none\n"
    "      --squash             the build's layers as one layer on the base's\n"
    "      --source-date-epoch N  clamp file times to N and set every created\n"
    "                           time from it (default: $SOURCE_DATE_EPOCH): the\n"
    "                           same context gives the same digest\n"
    "  -j, --jobs N             stages built at once (default: the cores)\n"
    "      --snapshot MODE      auto (default: overlayfs, else copies), overlay\n"
    "                           or copy\n"
    "  -q, --quiet              print only the image digest\n"
    "  -h, --help               this help\n"
    "\n"
    "Every Dockerfile instruction is supported, with multi-stage builds, heredocs\n"
    "and RUN --mount=type=secret|cache|bind|tmpfs; .dockerignore applies. Each\n"
    "step's cache key is its parent's, the instruction as expanded, the build\n"
    "arguments it sees and the content (not the times) of what it copies.\n";

enum {
	OPT_BUILD_ARG = 1000,
	OPT_TARGET,
	OPT_SECRET,
	OPT_NO_CACHE,
	OPT_NETWORK,
	OPT_COMPRESS,
	OPT_SQUASH,
	OPT_EPOCH,
	OPT_SNAPSHOT,
	OPT_POLICY,
};

/* "id=ID,src=PATH" (also "source=", "env=", "type=file|env"). */
static int parse_secret(char *spec, struct build_secret *s)
{
	memset(s, 0, sizeof(*s));
	for (char *field = strtok(spec, ","); field; field = strtok(NULL, ",")) {
		char *eq = strchr(field, '=');
		if (!eq)
			return -1;
		*eq = '\0';
		const char *v = eq + 1;
		if (!strcmp(field, "id"))
			s->id = v;
		else if (!strcmp(field, "src") || !strcmp(field, "source"))
			s->path = v;
		else if (!strcmp(field, "env"))
			s->env = v;
		else if (strcmp(field, "type"))
			return -1;
	}
	if (!s->id || (!s->path && !s->env))
		return -1;
	return 0;
}

int cmd_build(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"tag", required_argument, NULL, 't'},
	    {"build-arg", required_argument, NULL, OPT_BUILD_ARG},
	    {"target", required_argument, NULL, OPT_TARGET},
	    {"secret", required_argument, NULL, OPT_SECRET},
	    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
	    {"network", required_argument, NULL, OPT_NETWORK},
	    {"compress", required_argument, NULL, OPT_COMPRESS},
	    {"squash", no_argument, NULL, OPT_SQUASH},
	    {"source-date-epoch", required_argument, NULL, OPT_EPOCH},
	    {"jobs", required_argument, NULL, 'j'},
	    {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct build_options o = {.compression = LAYER_COMPRESSION_GZIP, .quiet = cli->quiet};
	_cleanup_strvec_ struct strvec tags = STRVEC_INIT, args = STRVEC_INIT, specs = STRVEC_INIT;
	bool epoch_given = false;
	const char *policy_path = NULL;
	struct petra_error *err = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "f:t:j:qh", options, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.dockerfile = optarg;
			break;
		case 't':
			strvec_push(&tags, optarg);
			break;
		case OPT_BUILD_ARG:
			strvec_push(&args, optarg);
			break;
		case OPT_TARGET:
			o.target = optarg;
			break;
		case OPT_SECRET:
			strvec_push(&specs, optarg);
			break;
		case OPT_NO_CACHE:
			o.no_cache = true;
			break;
		case OPT_NETWORK:
			if (!strcmp(optarg, "none"))
				o.network = SANDBOX_NETWORK_NONE;
			else if (!strcmp(optarg, "host"))
				o.network = SANDBOX_NETWORK_HOST;
			else
				return cli_usage("build", "--network: none or host, not \"%s\"",
						 optarg);
			break;
		case OPT_COMPRESS:
			if (layer_compression_parse(optarg, &o.compression, &err) < 0) {
				int s = cli_usage("build", "%s", err->message);
				petra_error_free(err);
				return s;
			}
			break;
		case OPT_SQUASH:
			o.squash = true;
			break;
		case OPT_EPOCH: {
			char *end;
			long long v = strtoll(optarg, &end, 10);
			if (!*optarg || *end || v < 0)
				return cli_usage(
				    "build", "--source-date-epoch: seconds, not \"%s\"", optarg);
			o.reproducible = true;
			o.source_date_epoch = (time_t)v;
			epoch_given = true;
			break;
		}
		case 'j': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > 1024)
				return cli_usage("build", "--jobs: a number from 1, not \"%s\"",
						 optarg);
			o.jobs = (unsigned)v;
			break;
		}
		case OPT_SNAPSHOT:
			if (!strcmp(optarg, "auto"))
				o.snapshot = BUILD_SNAPSHOT_AUTO;
			else if (!strcmp(optarg, "overlay"))
				o.snapshot = BUILD_SNAPSHOT_OVERLAY;
			else if (!strcmp(optarg, "copy"))
				o.snapshot = BUILD_SNAPSHOT_COPY;
			else
				return cli_usage("build", "--snapshot: auto, overlay or copy");
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
			return cli_bad_option("build", argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("build", "expects one CONTEXT directory");
	o.context = argv[optind];
	if (!epoch_given) {
		time_t epoch;
		int r = petra_source_date_epoch(&epoch, &err);
		if (r < 0)
			return cli_fail(err);
		if (r == 1) {
			o.reproducible = true;
			o.source_date_epoch = epoch;
		}
	}
	_cleanup_policy_ struct petra_policy *policy = NULL;
	if (petra_policy_load_default(policy_path, &policy, &err) < 0)
		return cli_fail(err);
	o.policy = policy;
	struct build_secret *secrets = xcalloc(specs.n + 1, sizeof(*secrets));
	for (size_t i = 0; i < specs.n; i++) {
		if (parse_secret(specs.v[i], &secrets[i]) < 0) {
			free(secrets);
			return cli_usage("build", "--secret: id=ID,src=FILE or id=ID,env=VAR");
		}
	}
	o.secrets = secrets;
	o.n_secrets = specs.n;
	o.tags = (const char *const *)tags.v;
	o.n_tags = tags.n;
	o.build_args = (const char *const *)args.v;
	o.n_build_args = args.n;
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store) {
		free(secrets);
		return EXIT_FAIL;
	}
	struct build_result result;
	int r = build_run(store, &o, &result, &err);
	free(secrets);
	if (r < 0)
		return cli_fail(err);
	if (o.quiet)
		printf("%s\n", result.digest);
	else if (tags.n)
		printf("%s %s\n", tags.v[0], result.digest);
	else
		printf("%s\n", result.digest);
	return EXIT_OK;
}
