/* SPDX-License-Identifier: Apache-2.0 */
/* petra rebuild: every image derived from a banned base, made again on its
 * replacement (or the plan, for this machine or as Kubernetes Jobs). */
#include "cli.h"
#include "policy/policy.h"
#include "rebuild/rebuild.h"

#include <errno.h>
#include <string.h>

static const char usage[] =
    "Usage: petra rebuild [OPTIONS] --banned | --derived-from REF\n"
    "\n"
    "Find every image of the store derived from a banned base (--banned: each\n"
    "store image the policy's bases.ban matches) or from REF, and make each again\n"
    "on the new base, in dependency order: a layer rebase when every layer above\n"
    "its base was made by COPY/ADD/WORKDIR (no step runs), else a rebuild from its\n"
    "build record (recorded Dockerfile and context, or the recorded git revision)\n"
    "with the policy's rewrites applied to its bases, and hardened images hardened\n"
    "again. Each result takes the original names; the old image keeps them as\n"
    "NAME:TAG-old. A report says what was rebuilt, rebased, unchanged, failed and\n"
    "what cannot be rebuilt here.\n"
    "\n"
    "Options:\n"
    "      --banned            the roots: every store image the policy bans\n"
    "      --derived-from REF  the root: REF (a name or digest)\n"
    "      --policy FILE       the policy (default: .petra/policy.yaml)\n"
    "  -j, --jobs N            images made at once (default 1)\n"
    "      --rebase-only       only rebase; list what needs a rebuild\n"
    "      --no-rebase         rebuild every image, even those a rebase would do\n"
    "      --plan              print the plan, change nothing\n"
    "      --format FORMAT     text (default) or json, for the plan and the report\n"
    "      --emit kubernetes   write the plan as Kubernetes Jobs (one Indexed Job per\n"
    "                          level) and a ConfigMap holding it; change nothing\n"
    "  -o, --output FILE       where --emit writes (default: stdout)\n"
    "      --registry PREFIX   --emit: where the Jobs push results (host[:port]/path)\n"
    "      --petra-image IMG   --emit: the image the Jobs run (default petra:VERSION)\n"
    "      --name NAME         --emit: Job names NAME-level-N (default petra-rebuild)\n"
    "      --namespace NS      --emit: the objects' namespace\n"
    "  -q, --quiet             no progress\n"
    "  -h, --help              this help\n"
    "\n"
    "In a Job's pod (what --emit kubernetes runs):\n"
    "      --from-plan FILE    the plan (--plan --format json, or the ConfigMap's)\n"
    "      --level N --index I make the I-th image of level N, from the registry\n"
    "      --push PREFIX       pull local names from, and push results to, "
    "PREFIX\n" CLI_REGISTRY_OPTIONS_HELP "\n"
    "Exit status: 0 every image done (rebuilt, rebased or unchanged), 1 an image\n"
    "failed or cannot be rebuilt, 2 bad usage, 125 petra itself failed.\n";

enum { EXIT_PETRA = 125 };

struct rebuild_args {
	struct rebuild_options o;
	const char *policy_path;
	bool plan_only;
	enum cli_format format;
	const char *emit, *output;
	struct rebuild_kube_options kube;
	const char *from_plan, *push;
	long level, index;
	struct registry_options registry;
};

enum {
	OPT_BANNED = 256,
	OPT_DERIVED_FROM,
	OPT_POLICY,
	OPT_REBASE_ONLY,
	OPT_NO_REBASE,
	OPT_PLAN,
	OPT_FORMAT,
	OPT_EMIT,
	OPT_REGISTRY,
	OPT_PETRA_IMAGE,
	OPT_NAME,
	OPT_NAMESPACE,
	OPT_FROM_PLAN,
	OPT_LEVEL,
	OPT_INDEX,
	OPT_PUSH,
};

static int parse_args(int argc, char **argv, struct rebuild_args *a)
{
	static const struct option options[] = {
	    {"banned", no_argument, NULL, OPT_BANNED},
	    {"derived-from", required_argument, NULL, OPT_DERIVED_FROM},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"jobs", required_argument, NULL, 'j'},
	    {"rebase-only", no_argument, NULL, OPT_REBASE_ONLY},
	    {"no-rebase", no_argument, NULL, OPT_NO_REBASE},
	    {"plan", no_argument, NULL, OPT_PLAN},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"emit", required_argument, NULL, OPT_EMIT},
	    {"output", required_argument, NULL, 'o'},
	    {"registry", required_argument, NULL, OPT_REGISTRY},
	    {"petra-image", required_argument, NULL, OPT_PETRA_IMAGE},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"namespace", required_argument, NULL, OPT_NAMESPACE},
	    {"from-plan", required_argument, NULL, OPT_FROM_PLAN},
	    {"level", required_argument, NULL, OPT_LEVEL},
	    {"index", required_argument, NULL, OPT_INDEX},
	    {"push", required_argument, NULL, OPT_PUSH},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    CLI_REGISTRY_LONG_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	cli_getopt_reset();
	int c, r;
	long n;
	while ((c = getopt_long(argc, argv, "j:o:qh", options, NULL)) != -1) {
		switch (c) {
		case OPT_BANNED:
			a->o.banned = true;
			break;
		case OPT_DERIVED_FROM:
			if ((r = cli_check_image_ref("rebuild", optarg)) != 0)
				return r;
			a->o.derived_from = optarg;
			break;
		case OPT_POLICY:
			a->policy_path = optarg;
			break;
		case 'j':
			if ((r = cli_parse_count("rebuild", "--jobs", optarg, &n)) != 0)
				return r;
			if (n < 1 || n > 1024)
				return cli_usage("rebuild", "--jobs wants 1 to 1024, not %ld", n);
			a->o.jobs = (unsigned)n;
			a->kube.parallelism = (unsigned)n;
			break;
		case OPT_REBASE_ONLY:
			if (a->o.mode == REBUILD_MODE_NO_REBASE)
				return cli_usage("rebuild", "--rebase-only and --no-rebase exclude "
							    "each other");
			a->o.mode = REBUILD_MODE_REBASE_ONLY;
			break;
		case OPT_NO_REBASE:
			if (a->o.mode == REBUILD_MODE_REBASE_ONLY)
				return cli_usage("rebuild", "--rebase-only and --no-rebase exclude "
							    "each other");
			a->o.mode = REBUILD_MODE_NO_REBASE;
			break;
		case OPT_PLAN:
			a->plan_only = true;
			break;
		case OPT_FORMAT:
			if ((r = cli_parse_format("rebuild", optarg, &a->format)) != 0)
				return r;
			break;
		case OPT_EMIT:
			if (strcmp(optarg, "kubernetes") != 0)
				return cli_usage(
				    "rebuild", "--emit knows only kubernetes, not \"%s\"", optarg);
			a->emit = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case OPT_REGISTRY:
			a->kube.registry = optarg;
			break;
		case OPT_PETRA_IMAGE:
			if ((r = cli_check_image_ref("rebuild", optarg)) != 0)
				return r;
			a->kube.petra_image = optarg;
			break;
		case OPT_NAME:
			a->kube.name_prefix = optarg;
			break;
		case OPT_NAMESPACE:
			a->kube.namespace_ = optarg;
			break;
		case 'q':
			a->o.quiet = true;
			break;
		case OPT_FROM_PLAN:
			a->from_plan = optarg;
			break;
		case OPT_LEVEL:
			if ((r = cli_parse_count("rebuild", "--level", optarg, &a->level)) != 0)
				return r;
			break;
		case OPT_INDEX:
			if ((r = cli_parse_count("rebuild", "--index", optarg, &a->index)) != 0)
				return r;
			break;
		case OPT_PUSH:
			a->push = optarg;
			break;
		case 'h':
			return cli_help(usage);
		default:
			if (c >= CLI_OPT_CREDS) {
				r = cli_registry_option("rebuild", c, optarg, &a->registry);
				if (r != -1) {
					if (r != 0)
						return r;
					break;
				}
			}
			return cli_bad_option("rebuild", argv);
		}
	}
	if (optind != argc)
		return cli_usage("rebuild", "takes no operand (did you mean --derived-from %s?)",
				 argv[optind]);
	if (a->from_plan) {
		if (a->o.banned || a->o.derived_from || a->emit || a->plan_only)
			return cli_usage("rebuild", "--from-plan goes without --banned, "
						    "--derived-from, --plan and --emit");
		if (a->level < 0 || a->index < 0 || !a->push)
			return cli_usage("rebuild", "--from-plan needs --level N, --index I and "
						    "--push PREFIX");
		return -1;
	}
	if (a->level >= 0 || a->index >= 0 || a->push)
		return cli_usage("rebuild", "--level, --index and --push go with --from-plan");
	if (a->o.banned == !!a->o.derived_from)
		return cli_usage("rebuild", "needs one of --banned and --derived-from REF");
	if (a->emit && !a->kube.registry)
		return cli_usage("rebuild", "--emit kubernetes needs --registry PREFIX");
	if (!a->emit && (a->output || a->kube.registry))
		return cli_usage("rebuild", "-o and --registry go with --emit kubernetes");
	if (a->emit && a->plan_only)
		return cli_usage("rebuild", "--emit and --plan exclude each other");
	return -1;
}

static void print_plan(const struct rebuild_plan *plan)
{
	for (size_t i = 0; i < plan->n_roots; i++) {
		const struct rebuild_root *r = &plan->roots[i];
		printf("root %s (%s)", r->name, r->digest);
		if (r->replacement)
			printf(" -> %s", r->replacement);
		printf("\n");
	}
	for (unsigned l = 0; l < plan->n_levels; l++) {
		printf("level %u:\n", l);
		for (size_t i = 0; i < plan->n_items; i++) {
			const struct rebuild_item *it = &plan->items[i];
			if (it->level != l)
				continue;
			printf("  %-8s %s", rebuild_action_name(it->action), it->names.v[0]);
			if (it->why)
				printf("  (%s)", it->why);
			printf("\n");
		}
	}
	if (plan->n_items == 0)
		printf("nothing is derived from %s\n",
		       plan->n_roots ? "the roots" : "a banned image of the store");
}

static void print_report(const struct rebuild_plan *plan)
{
	static const enum rebuild_outcome order[] = {
	    REBUILD_REBUILT, REBUILD_REBASED,         REBUILD_UNCHANGED,
	    REBUILD_FAILED,  REBUILD_NOT_REBUILDABLE, REBUILD_SKIPPED,
	};
	size_t count[sizeof(order) / sizeof(order[0])] = {0};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (size_t i = 0; i < plan->n_items; i++) {
			const struct rebuild_item *it = &plan->items[i];
			if (it->outcome != order[k])
				continue;
			count[k]++;
			char was[13], now[13];
			oci_digest_short(it->digest, was);
			printf("%-16s %s", rebuild_outcome_name(it->outcome), it->names.v[0]);
			if (it->outcome == REBUILD_REBUILT || it->outcome == REBUILD_REBASED) {
				oci_digest_short(it->new_digest, now);
				printf("  %s -> %s, old as %s" REBUILD_OLD_SUFFIX " (%.1f s)", was,
				       now, it->names.v[0], it->seconds);
			} else if (it->error) {
				printf(": %s", it->error);
			} else if (it->why) {
				printf(": %s", it->why);
			}
			printf("\n");
			if (it->outcome == REBUILD_FAILED && it->output.len) {
				const char *p = it->output.buf;
				while (*p) {
					size_t len = strcspn(p, "\n");
					printf("    | %.*s\n", (int)len, p);
					p += len + (p[len] == '\n');
				}
			}
		}
	}
	printf("%zu rebuilt, %zu rebased, %zu unchanged, %zu failed, %zu not rebuildable, %zu "
	       "skipped\n",
	       count[0], count[1], count[2], count[3], count[4], count[5]);
}

static int emit(const struct rebuild_plan *plan, struct rebuild_args *a)
{
	if (!a->kube.petra_image)
		a->kube.petra_image = "petra:" PETRA_VERSION;
	if (!a->kube.name_prefix)
		a->kube.name_prefix = "petra-rebuild";
	struct strbuf out = STRBUF_INIT;
	struct petra_error *err = NULL;
	if (rebuild_emit_kubernetes(plan, &a->kube, &out, &err) < 0) {
		strbuf_release(&out);
		cli_fail(err);
		return EXIT_PETRA;
	}
	FILE *f = cli_open_output(a->output);
	if (!f) {
		strbuf_release(&out);
		return EXIT_PETRA;
	}
	fwrite(out.buf, 1, out.len, f);
	cli_close_output(f);
	strbuf_release(&out);
	return EXIT_OK;
}

/* One image of a plan, in a Job's pod. */
static int run_from_plan(struct cli *cli, struct rebuild_args *a)
{
	struct petra_error *err = NULL;
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_load_file(a->from_plan, 0, &jerr);
	if (!j) {
		petra_error_set(&err, EINVAL, "%s:%d: %s", a->from_plan, jerr.line, jerr.text);
		cli_fail(err);
		return EXIT_PETRA;
	}
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store)
		return EXIT_PETRA;
	struct rebuild_plan plan;
	if (rebuild_plan_from_json(j, &plan, &err) < 0) {
		petra_error_prefix(&err, "%s", a->from_plan);
		cli_fail(err);
		return EXIT_PETRA;
	}
	a->o.registry = &a->registry;
	struct rebuild_remote_options ro = {
	    .prefix = a->push,
	    .registry = &a->registry,
	    .level = (unsigned)a->level,
	    .index = (size_t)a->index,
	};
	ssize_t item = -1;
	int status = EXIT_OK;
	if (rebuild_execute_one(store, &a->o, &plan, &ro, &item, &err) < 0) {
		cli_fail(err);
		status = item >= 0 && plan.items[item].outcome != REBUILD_PENDING ? EXIT_FAIL
										  : EXIT_PETRA;
	}
	if (item >= 0 && plan.items[item].outcome != REBUILD_PENDING) {
		/* The report of this one image. */
		for (size_t i = 0; i < plan.n_items; i++)
			if ((ssize_t)i != item)
				plan.items[i].outcome = REBUILD_PENDING;
		if (a->format == CLI_FORMAT_JSON) {
			_cleanup_json_ json_t *rep = rebuild_report_json(&plan);
			cli_print_json(rep);
		} else {
			print_report(&plan);
		}
		enum rebuild_outcome o = plan.items[item].outcome;
		if (status == EXIT_OK && o != REBUILD_REBUILT && o != REBUILD_REBASED &&
		    o != REBUILD_UNCHANGED)
			status = EXIT_FAIL;
	}
	rebuild_plan_release(&plan);
	return status;
}

static int run(struct cli *cli, struct rebuild_args *a)
{
	if (a->from_plan)
		return run_from_plan(cli, a);
	struct petra_error *err = NULL;
	_cleanup_policy_ struct petra_policy *policy = NULL;
	if (petra_policy_load_default(a->policy_path, &policy, &err) < 0) {
		cli_fail(err);
		return EXIT_PETRA;
	}
	a->o.policy = policy;
	bool changes = !a->plan_only && !a->emit;
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, changes ? PETRA_STORE_WRITE : 0);
	if (!store)
		return EXIT_PETRA;
	struct rebuild_plan plan;
	if (rebuild_plan_make(store, &a->o, &plan, &err) < 0) {
		cli_fail(err);
		return EXIT_PETRA;
	}
	int status = EXIT_OK;
	if (a->emit) {
		status = emit(&plan, a);
	} else if (a->plan_only) {
		if (a->format == CLI_FORMAT_JSON) {
			_cleanup_json_ json_t *j = rebuild_plan_json(&plan);
			cli_print_json(j);
		} else {
			print_plan(&plan);
		}
	} else if (rebuild_execute(store, &a->o, &plan, &err) < 0) {
		cli_fail(err);
		status = EXIT_PETRA;
	} else {
		if (a->format == CLI_FORMAT_JSON) {
			_cleanup_json_ json_t *j = rebuild_report_json(&plan);
			cli_print_json(j);
		} else {
			print_report(&plan);
		}
		for (size_t i = 0; i < plan.n_items; i++) {
			enum rebuild_outcome o = plan.items[i].outcome;
			bool left_on_purpose = o == REBUILD_SKIPPED &&
					       a->o.mode == REBUILD_MODE_REBASE_ONLY &&
					       plan.items[i].action != REBUILD_ACTION_NONE;
			if ((o == REBUILD_FAILED || o == REBUILD_NOT_REBUILDABLE ||
			     o == REBUILD_SKIPPED) &&
			    !left_on_purpose)
				status = EXIT_FAIL;
		}
	}
	rebuild_plan_release(&plan);
	return status;
}

int cmd_rebuild(struct cli *cli, int argc, char **argv)
{
	struct rebuild_args a = {
	    .o.jobs = 1, .level = -1, .index = -1, .registry = {.tls_verify = -1, .quiet = true}};
	int r = parse_args(argc, argv, &a);
	if (r >= 0)
		return r;
	return run(cli, &a);
}
