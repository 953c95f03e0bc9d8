/* SPDX-License-Identifier: Apache-2.0 */
/* petra harden: a new image in which nothing can change. */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "harden/harden.h"
#include "policy/policy.h"

static const char usage[] =
    "Usage: petra harden [OPTIONS] IMAGE -t NAME\n"
    "\n"
    "Write a new image NAME from IMAGE (which is not changed) that its runtime\n"
    "user cannot change: every file and directory owned by root, directories\n"
    "and executables 0755, other files 0644, no setuid/setgid bits or file\n"
    "capabilities, no device nodes, a numeric non-root USER, the writable paths\n"
    "in the org.petra.writable-paths label (empty directories owned by the\n"
    "runtime user where they exist), and the layers above the base squashed so\n"
    "that nothing deleted survives in them.\n"
    "\n"
    "Options:\n"
    "  -t, --tag NAME          the new image's name (required)\n"
    "  -u, --user UID[:GID]    the runtime user (a number, or a name of the\n"
    "                          image's /etc/passwd); default: the image's USER,\n"
    "                          or 65532 when it has none or it is root\n"
    "      --writable PATH[:SIZE]\n"
    "                          a path the container may write (a tmpfs of SIZE,\n"
    "                          default 64m, at run time); repeatable\n"
    "      --strip-shells      remove shells and package managers, and label the\n"
    "                          image org.petra.no-shell=true\n"
    "      --strip PATH        remove PATH and everything below it; repeatable\n"
    "      --keep-setuid       keep setuid/setgid bits and file capabilities\n"
    "      --squash MODE       app (default): merge the layers above the base,\n"
    "                          keep the base's; all: one layer; none: keep every\n"
    "                          layer and correct them in one more\n"
    "      --base-layers N     the first N layers are the base (default: the\n"
    "                          image's org.petra.base.layers label or base digest\n"
    "                          annotation, else none)\n"
    "      --compression C     gzip (default), zstd or none for the new layer\n"
    "      --policy FILE       the policy file's harden section gives defaults\n"
    "                          (default: .petra/policy.yaml when it exists);\n"
    "                          options given here win, lists add up\n"
    "  -q, --quiet             print only the new manifest digest\n"
    "  -h, --help              this help\n";

enum {
	OPT_WRITABLE = 256,
	OPT_STRIP_SHELLS,
	OPT_STRIP,
	OPT_KEEP_SETUID,
	OPT_SQUASH,
	OPT_BASE_LAYERS,
	OPT_COMPRESSION,
	OPT_POLICY,
};

/* "PATH[:SIZE]" */
static int parse_writable(const char *arg, struct image_writable_path *w)
{
	memset(w, 0, sizeof(*w));
	const char *colon = strrchr(arg, ':');
	if (colon && cli_parse_size(colon + 1, &w->size)) {
		w->path = xstrndup(arg, (size_t)(colon - arg));
	} else if (colon) {
		return cli_usage("harden", "--writable %s: \"%s\" is not a size", arg, colon + 1);
	} else {
		w->path = xstrdup(arg);
	}
	return 0;
}

static int harden(struct cli *cli, struct harden_options *o, const char *image, bool quiet)
{
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct progress progress;
	progress_begin(&progress, "hardening", 0);
	o->progress = &progress;
	struct harden_result res;
	struct petra_error *err = NULL;
	int r = harden_image(store, image, o, &res, &err);
	progress_end(&progress);
	if (r < 0)
		return cli_fail(err);
	if (quiet) {
		printf("%s\n", res.digest);
	} else {
		for (size_t i = 0; i < res.notes.n; i++)
			fprintf(stderr, "petra: note: %s\n", res.notes.v[i]);
		printf("hardened %s as %s (%s)\n", image, o->name, res.digest);
		printf("  user %u:%u; %zu base layer%s kept, %zu squashed into one; %" PRIu64
		       " entries in the new layer, %" PRIu64 " paths removed\n",
		       (unsigned)res.uid, (unsigned)res.gid, res.base_layers,
		       res.base_layers == 1 ? "" : "s", res.squashed_layers, res.entries,
		       res.removed);
	}
	harden_result_release(&res);
	return EXIT_OK;
}

/* The options: the policy's harden section, then the command line over
 * it (lists add up, a path given twice takes the later size). */
static int merge_policy(const char *path, const struct harden_options *cli_o, bool squash_set,
			struct petra_policy **policy, struct harden_options *o,
			struct image_writable_path **writable, size_t *n_writable,
			struct strvec *strip)
{
	struct petra_error *err = NULL;
	if (petra_policy_load_default(path, policy, &err) < 0)
		return cli_fail(err);
	*o = (struct harden_options){.squash = HARDEN_SQUASH_APP, .base_layers = -1};
	if (harden_options_from_policy(*policy, o, writable, n_writable, strip, &err) < 0)
		return cli_fail(err);
	o->name = cli_o->name;
	o->compression = cli_o->compression;
	if (cli_o->user)
		o->user = cli_o->user;
	if (squash_set)
		o->squash = cli_o->squash;
	if (cli_o->base_layers >= 0)
		o->base_layers = cli_o->base_layers;
	o->strip_shells |= cli_o->strip_shells;
	o->keep_setuid |= cli_o->keep_setuid;
	*writable = xrealloc(*writable, (*n_writable + cli_o->n_writable + 1) * sizeof(**writable));
	for (size_t i = 0; i < cli_o->n_writable; i++) {
		(*writable)[*n_writable] = cli_o->writable[i];
		(*writable)[(*n_writable)++].path = xstrdup(cli_o->writable[i].path);
	}
	for (size_t i = 0; i < cli_o->n_strip; i++)
		strvec_push(strip, cli_o->strip[i]);
	o->writable = *writable;
	o->n_writable = *n_writable;
	o->strip = (const char *const *)strip->v;
	o->n_strip = strip->n;
	return EXIT_OK;
}

static int run(struct cli *cli, const struct harden_options *cli_o, bool squash_set,
	       const char *policy_path, const char *image, bool quiet)
{
	_cleanup_policy_ struct petra_policy *policy = NULL;
	struct harden_options merged, *o = &merged;
	struct image_writable_path *writable = NULL;
	size_t n_writable = 0;
	_cleanup_strvec_ struct strvec strip = STRVEC_INIT;
	int status = merge_policy(policy_path, cli_o, squash_set, &policy, o, &writable,
				  &n_writable, &strip);
	if (status == EXIT_OK)
		status = harden(cli, o, image, quiet);
	image_writable_paths_free(writable, n_writable);
	return status;
}

struct harden_args {
	struct harden_options o; /* the command line's (the policy's come later) */
	struct image_writable_path *writable;
	size_t n_writable;
	struct strvec strip;
	bool quiet, squash_set;
	const char *policy_path, *image;
};

static void harden_args_release(struct harden_args *a)
{
	for (size_t i = 0; i < a->n_writable; i++)
		free(a->writable[i].path);
	free(a->writable);
	strvec_clear(&a->strip);
}

/* One option: 0, or the exit status. */
static int parse_option(int c, struct harden_args *a, char **argv)
{
	struct petra_error *err = NULL;
	switch (c) {
	case 't':
		a->o.name = optarg;
		return 0;
	case 'u':
		a->o.user = optarg;
		return 0;
	case OPT_WRITABLE:
		a->writable = xrealloc(a->writable, (a->n_writable + 1) * sizeof(*a->writable));
		if (parse_writable(optarg, &a->writable[a->n_writable]))
			return EXIT_USAGE;
		a->n_writable++;
		return 0;
	case OPT_STRIP_SHELLS:
		a->o.strip_shells = true;
		return 0;
	case OPT_STRIP:
		strvec_push(&a->strip, optarg);
		return 0;
	case OPT_KEEP_SETUID:
		a->o.keep_setuid = true;
		return 0;
	case OPT_SQUASH:
		if (harden_squash_parse(optarg, &a->o.squash, &err) < 0)
			return cli_usage_error("harden", "--squash: ", err);
		a->squash_set = true;
		return 0;
	case OPT_POLICY:
		a->policy_path = optarg;
		return 0;
	case OPT_BASE_LAYERS:
		return cli_parse_count("harden", "--base-layers", optarg, &a->o.base_layers);
	case OPT_COMPRESSION:
		if (layer_compression_parse(optarg, &a->o.compression, &err) < 0)
			return cli_usage_error("harden", "", err);
		return 0;
	case 'q':
		a->quiet = true;
		return 0;
	default:
		return cli_bad_option("harden", argv);
	}
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct harden_args *a)
{
	static const struct option options[] = {
	    {"tag", required_argument, NULL, 't'},
	    {"user", required_argument, NULL, 'u'},
	    {"writable", required_argument, NULL, OPT_WRITABLE},
	    {"strip-shells", no_argument, NULL, OPT_STRIP_SHELLS},
	    {"strip", required_argument, NULL, OPT_STRIP},
	    {"keep-setuid", no_argument, NULL, OPT_KEEP_SETUID},
	    {"squash", required_argument, NULL, OPT_SQUASH},
	    {"base-layers", required_argument, NULL, OPT_BASE_LAYERS},
	    {"compression", required_argument, NULL, OPT_COMPRESSION},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "t:u:qh", options, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		int status = parse_option(c, a, argv);
		if (status != 0)
			return status;
	}
	if (argc - optind != 1)
		return cli_usage("harden", "expects one IMAGE");
	if (!a->o.name)
		return cli_usage("harden", "the new image needs a name: -t NAME");
	a->image = argv[optind];
	if (cli_check_image_ref("harden", a->image) != 0 ||
	    cli_check_image_name("harden", a->o.name) != 0)
		return EXIT_USAGE;
	a->o.writable = a->writable;
	a->o.n_writable = a->n_writable;
	a->o.strip = (const char *const *)a->strip.v;
	a->o.n_strip = a->strip.n;
	return -1;
}

int cmd_harden(struct cli *cli, int argc, char **argv)
{
	struct harden_args a = {
	    .o = {.squash = HARDEN_SQUASH_APP,
		  .base_layers = -1,
		  .compression = LAYER_COMPRESSION_GZIP},
	    .strip = STRVEC_INIT,
	    .quiet = cli->quiet,
	};
	int status = parse_args(argc, argv, &a);
	if (status < 0)
		status = run(cli, &a.o, a.squash_set, a.policy_path, a.image, a.quiet);
	harden_args_release(&a);
	return status;
}
