/* SPDX-License-Identifier: Apache-2.0 */
/* petra build: a Dockerfile and its context into an image. */
#include "builder/builder.h"
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
    "                           or copy\n" CLI_PULL_OPTIONS_HELP
    "  -q, --quiet              print only the image digest\n"
    "  -h, --help               this help\n"
    "\n"
    "Every Dockerfile instruction is supported, with multi-stage builds, heredocs\n"
    "and RUN --mount=type=secret|cache|bind|tmpfs; .dockerignore applies. Each\n"
    "step's cache key is its parent's, the instruction as expanded, the build\n"
    "arguments it sees and the content (not the times) of what it copies.\n";

enum { OPT_BUILD_ARG = 1000, OPT_TARGET, OPT_SECRET, OPT_SQUASH, OPT_SNAPSHOT };

/* "id=ID,src=PATH" (also "source=", "env=", "type=file|env"). */
static int parse_secret(char *spec, struct builder_secret *s)
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

static int run_build(struct cli *cli, struct builder_options *o, const struct cli_build_args *ba,
		     const struct cli_pull_args *pull, const struct strvec *tags)
{
	o->pull = pull->when;
	o->registry = &pull->registry;
	struct petra_error *err = NULL;
	o->no_cache = ba->no_cache;
	o->network = ba->network;
	o->compression = ba->compression;
	o->quiet = ba->quiet;
	o->reproducible = ba->reproducible;
	o->source_date_epoch = ba->source_date_epoch;
	o->jobs = ba->jobs;
	o->policy = ba->policy;
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct builder_result result;
	if (builder_run(store, o, &result, &err) < 0)
		return cli_fail(err);
	if (o->quiet)
		printf("%s\n", result.digest);
	else if (tags->n)
		printf("%s %s\n", tags->v[0], result.digest);
	else
		printf("%s\n", result.digest);
	return EXIT_OK;
}

int cmd_build(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"tag", required_argument, NULL, 't'},
	    {"build-arg", required_argument, NULL, OPT_BUILD_ARG},
	    {"target", required_argument, NULL, OPT_TARGET},
	    {"secret", required_argument, NULL, OPT_SECRET},
	    {"squash", no_argument, NULL, OPT_SQUASH},
	    {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
	    CLI_BUILD_LONG_OPTIONS,
	    CLI_PULL_LONG_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct builder_options o = {0};
	struct cli_build_args ba;
	cli_build_args_init(&ba, cli);
	struct cli_pull_args pull;
	cli_pull_args_init(&pull, cli);
	_cleanup_strvec_ struct strvec tags = STRVEC_INIT, args = STRVEC_INIT, specs = STRVEC_INIT;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "f:t:j:qh", options, NULL)) != -1) {
		int r = cli_build_option("build", c, optarg, &ba);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
		r = cli_pull_option("build", c, optarg, &pull);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
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
		case OPT_SQUASH:
			o.squash = true;
			break;
		case OPT_SNAPSHOT:
			if (!strcmp(optarg, "auto"))
				o.snapshot = BUILDER_SNAPSHOT_AUTO;
			else if (!strcmp(optarg, "overlay"))
				o.snapshot = BUILDER_SNAPSHOT_OVERLAY;
			else if (!strcmp(optarg, "copy"))
				o.snapshot = BUILDER_SNAPSHOT_COPY;
			else
				return cli_usage("build", "--snapshot: auto, overlay or copy");
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("build", argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("build", "expects one CONTEXT directory");
	for (size_t i = 0; i < tags.n; i++)
		if (cli_check_image_name("build", tags.v[i]) != 0)
			return EXIT_USAGE;
	o.context = argv[optind];
	struct builder_secret *secrets = xcalloc(specs.n + 1, sizeof(*secrets));
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
	struct petra_error *err = NULL;
	int status = cli_build_args_finish(&ba, &err) < 0 ? cli_fail(err)
							  : run_build(cli, &o, &ba, &pull, &tags);
	cli_build_args_release(&ba);
	free(secrets);
	return status;
}
