/* SPDX-License-Identifier: Apache-2.0 */
/* petra exec: a command in one running container, or in all that match. */
#include "cli.h"

#include <limits.h>
#include <math.h>
#include <string.h>

static const char usage[] =
    "Usage: petra exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
    "       petra exec --all [--filter FILTER]... [OPTIONS] -- COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND inside a running container: its namespaces, its root, its user,\n"
    "environment and working directory, with the same capabilities,\n"
    "no_new_privs and seccomp profile as the container itself.\n"
    "\n"
    "With --all, run it in every running container that matches all filters,\n"
    "--jobs at once, each with its own --timeout. The report groups the\n"
    "containers by identical output (one block per distinct output, headed by\n"
    "the containers that printed it, as pdsh's dshbak -c), then one line per\n"
    "container and a summary:\n"
    "  <id> <name> <image> ok|failed|timed out (exit N) <duration>s\n"
    "  N ok, N failed, N timed out\n"
    "Each container's output (stdout and stderr) is kept up to 64 KiB; the\n"
    "report says where it was cut.\n"
    "\n"
    "Options:\n"
    "      --all              every running container (that matches the filters)\n"
    "  -f, --filter FILTER    image=REF, base=DIGEST, label=K[=V], name=NAME,\n"
    "                         id=PREFIX (repeatable; all must match)\n"
    "      --dry-run          with --all: list the containers, run nothing\n"
    "  -j, --jobs N           with --all: containers at once (default 8)\n"
    "      --timeout S        with --all: kill the command, and every process it\n"
    "                         started in the container, after S seconds\n"
    "      --format FORMAT    with --all: text (default) or json\n"
    "  -i, --interactive      keep standard input open\n"
    "  -t, --tty              a terminal\n"
    "  -u, --user USER        another user of the image\n"
    "  -e, --env K=V          set an environment variable\n"
    "  -w, --workdir DIR      the working directory\n"
    "      --strict           refuse (125; with --all: that container fails) when\n"
    "                         the policy now refuses the container's image\n" CLI_GATE_OPTIONS_HELP
    "  -h, --help             this help\n"
    "\n"
    "The gate checks each container's image against the policy before the\n"
    "command starts: an image banned (or its base, or whose signatures no longer\n"
    "satisfy the policy) since the container started gets a warning on stderr,\n"
    "and the command still runs (an emergency fix must reach a container while\n"
    "its image is rebuilt), unless --strict.\n"
    "\n"
    "Exit status: the command's (125 petra failed, 126 not executable, 127 not\n"
    "found). With --all: 0 when it succeeded everywhere (or matched nothing),\n"
    "1 when it failed or timed out in any container (a timed-out container's\n"
    "exit is reported as 124), 125 when petra failed.\n";

enum { EXEC_EXIT_FAIL = 125 };

/* 0: the command may run in ct (perhaps after a warning); else refused
 * with --strict, the reasons printed. */
static int exec_gate(struct petra_store *store, const struct runtime_container *ct,
		     const struct cli_gate_args *gate, bool strict)
{
	const char *image = cli_gate_container_image(store, ct);
	if (!image) {
		if (!strict)
			return 0;
		fprintf(stderr, "petra: container %s records no image to check\n", ct->id);
		return -1;
	}
	return cli_gate(store, image, TRUST_PURPOSE_EXEC, gate, !strict);
}

/* What the fleet needs to know about the whole run. */
struct fleet_args {
	bool dry_run;
	unsigned jobs;
	unsigned timeout_ms;
	enum cli_format format;
};

/* One container of exec --all, run by a fleet worker. */
struct container_target {
	struct petra_store *store;
	const struct runtime_container *ct;
	const struct runtime_exec_options *o;
};

static int exec_in_container(void *ctx, int out_fd, unsigned timeout_ms, int *exit_code,
			     struct petra_error **err)
{
	const struct container_target *x = ctx;
	struct runtime_exec_options o = *x->o;
	o.stdio[0] = -1;
	o.stdio[1] = o.stdio[2] = out_fd;
	o.timeout_ms = timeout_ms;
	return runtime_exec(x->store, x->ct, &o, exit_code, err);
}

/* --dry-run: the targets, nothing run. */
static void print_targets(const struct cli_fleet_target *t, size_t n, enum cli_format format)
{
	if (format == CLI_FORMAT_JSON) {
		json_t *all = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = t[i].info ? json_deep_copy(t[i].info) : json_object();
			if (t[i].done && t[i].error)
				json_object_set_new(o, "error", json_string(t[i].error));
			json_array_append_new(all, o);
		}
		cli_print_json(all);
		json_decref(all);
		return;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s%s%s\n", t[i].line ? t[i].line : t[i].name, t[i].done ? " " : "",
		       t[i].done && t[i].error ? t[i].error : "");
	printf("%zu target%s (dry run: nothing was run)\n", n, n == 1 ? "" : "s");
}

/* Run the targets (or list them) and report: the exit status. */
static int fleet(struct cli_fleet_target *t, size_t n, const struct fleet_args *f)
{
	cli_fleet_sort(t, n);
	if (f->dry_run) {
		print_targets(t, n, f->format);
		return EXIT_OK;
	}
	struct petra_error *err = NULL;
	if (cli_fleet_run(t, n, f->jobs, f->timeout_ms, CLI_FLEET_OUTPUT_CAP, &err) < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	return cli_fleet_report(t, n, f->format);
}

static int exec_all(struct cli *cli, const struct strvec *filters,
		    const struct runtime_exec_options *o, const struct fleet_args *f,
		    const struct cli_gate_args *gate, bool strict)
{
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXEC_EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container *list;
	size_t n;
	struct petra_error *err = NULL;
	if (runtime_list(run_dir, &list, &n, &err) < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	struct cli_fleet_target *targets = NULL;
	size_t n_targets = 0, alloc = 0;
	_cleanup_free_ struct container_target *ctxs = xcalloc(n ? n : 1, sizeof(*ctxs));
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct runtime_container *ct = &list[i];
		bool match = ct->running;
		for (size_t k = 0; match && k < filters->n; k++)
			r = runtime_filter_match(store, ct, filters->v[k], &match, &err);
		if (r < 0 || !match)
			continue;
		const char *name = ct->name ? ct->name : ct->id;
		struct cli_fleet_target *t = cli_fleet_target_add(&targets, &n_targets, &alloc);
		t->name = xstrdup(name);
		t->line = xasprintf("%.12s %s %s", ct->id, name, ct->image ? ct->image : "-");
		t->info =
		    json_pack("{s:s,s:s,s:s?}", "id", ct->id, "name", name, "image", ct->image);
		ctxs[i] = (struct container_target){store, ct, o};
		t->run = exec_in_container;
		t->ctx = &ctxs[i];
		if (exec_gate(store, ct, gate, strict) != 0) {
			t->done = true;
			t->status = CLI_FLEET_FAILED;
			t->error = xstrdup("refused by the policy");
		}
	}
	int status = EXEC_EXIT_FAIL;
	if (r < 0)
		cli_fail(err);
	else
		status = fleet(targets, n_targets, f);
	cli_fleet_targets_free(targets, n_targets);
	runtime_containers_free(list, n);
	return status;
}

struct exec_args {
	struct runtime_exec_options o;
	struct strvec env, filters;
	bool all;
	bool strict;
	struct cli_gate_args gate;
	struct fleet_args fleet;
	const char *container; /* without --all */
};

/* --timeout: seconds (a fraction allowed), at least a millisecond. */
static int parse_timeout(const char *arg, unsigned *ms)
{
	char *end;
	errno = 0;
	double s = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(s) || s * 1000 < 1 ||
	    s * 1000 > (double)UINT_MAX) {
		cli_usage("exec", "--timeout expects seconds (e.g. 30 or 0.5), not \"%s\"", arg);
		return -1;
	}
	*ms = (unsigned)(s * 1000 + 0.5);
	return 0;
}

static void exec_args_release(struct exec_args *a)
{
	strvec_clear(&a->env);
	strvec_clear(&a->filters);
}

/* -1 to go on, else the exit status: 0 after --help, EXEC_EXIT_FAIL after
 * a usage error (2 could be the command's). */
static int parse_args(int argc, char **argv, struct exec_args *a)
{
	enum { OPT_ALL = 256, OPT_FORMAT, OPT_STRICT, OPT_DRY_RUN, OPT_TIMEOUT };
	static const struct option options[] = {
	    {"all", no_argument, NULL, OPT_ALL},
	    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
	    {"jobs", required_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"filter", required_argument, NULL, 'f'},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"user", required_argument, NULL, 'u'},
	    {"env", required_argument, NULL, 'e'},
	    {"workdir", required_argument, NULL, 'w'},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    CLI_GATE_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct petra_error *err = NULL;
	const char *fleet_only = NULL; /* an option that needs --all */
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "+f:itu:e:w:j:h", options, NULL)) != -1) {
		if (cli_gate_option(c, optarg, &a->gate) == 0)
			continue;
		switch (c) {
		case OPT_STRICT:
			a->strict = true;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case OPT_DRY_RUN:
			a->fleet.dry_run = true;
			fleet_only = "--dry-run";
			break;
		case 'j': {
			long jobs;
			if (cli_parse_count("exec", "--jobs", optarg, &jobs) ||
			    (jobs < 1 && cli_usage("exec", "--jobs expects 1 or more")))
				return EXEC_EXIT_FAIL;
			a->fleet.jobs = jobs > 1024 ? 1024 : (unsigned)jobs;
			fleet_only = "--jobs";
			break;
		}
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &a->fleet.timeout_ms) < 0)
				return EXEC_EXIT_FAIL;
			fleet_only = "--timeout";
			break;
		case 'f':
			if (runtime_filter_check(optarg, &err) < 0) {
				cli_usage_error("exec", "", err);
				return EXEC_EXIT_FAIL;
			}
			strvec_push(&a->filters, optarg);
			break;
		case OPT_FORMAT:
			if (cli_parse_format("exec", optarg, &a->fleet.format))
				return EXEC_EXIT_FAIL;
			break;
		case 'i':
			a->o.interactive = true;
			break;
		case 't':
			a->o.tty = true;
			break;
		case 'u':
			a->o.user = optarg;
			break;
		case 'e':
			strvec_push(&a->env, optarg);
			break;
		case 'w':
			a->o.workdir = optarg;
			break;
		case 'h':
			return cli_help(usage);
		default:
			cli_bad_option("exec", argv);
			return EXEC_EXIT_FAIL;
		}
	}
	a->o.env = a->env.v;
	if (a->filters.n && !a->all) {
		cli_usage("exec", "--filter goes with --all");
		return EXEC_EXIT_FAIL;
	}
	if (fleet_only && !a->all) {
		cli_usage("exec", "%s goes with --all", fleet_only);
		return EXEC_EXIT_FAIL;
	}
	if (a->all) {
		if (optind >= argc) {
			cli_usage("exec", "--all expects -- COMMAND");
			return EXEC_EXIT_FAIL;
		}
		if (a->o.tty || a->o.interactive) {
			cli_usage("exec", "--all cannot go with -i or -t");
			return EXEC_EXIT_FAIL;
		}
		a->o.argv = argv + optind;
		return -1;
	}
	if (argc - optind < 2) {
		cli_usage("exec", "expects CONTAINER and COMMAND");
		return EXEC_EXIT_FAIL;
	}
	a->container = argv[optind];
	a->o.argv = argv + optind + 1;
	return -1;
}

/* The command's status, or 125, 126, 127 as run. */
static int exec_one(struct cli *cli, const char *container, const struct runtime_exec_options *o,
		    const struct cli_gate_args *gate, bool strict)
{
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXEC_EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container ct;
	struct petra_error *err = NULL;
	if (runtime_find(run_dir, container, &ct, &err) < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	if (exec_gate(store, &ct, gate, strict) != 0) {
		runtime_container_release(&ct);
		return EXEC_EXIT_FAIL;
	}
	int code = EXEC_EXIT_FAIL;
	int r = runtime_exec(store, &ct, o, &code, &err);
	runtime_container_release(&ct);
	if (r < 0) {
		cli_fail(err);
		return code == 126 || code == 127 ? code : EXEC_EXIT_FAIL;
	}
	return code;
}

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	_cleanup_(exec_args_release) struct exec_args a = {
	    .o = {.stdio = {-1, -1, -1}},
	    .env = STRVEC_INIT,
	    .filters = STRVEC_INIT,
	    .fleet = {.jobs = CLI_FLEET_DEFAULT_JOBS, .format = CLI_FORMAT_TEXT},
	};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	if (a.all)
		return exec_all(cli, &a.filters, &a.o, &a.fleet, &a.gate, a.strict);
	return exec_one(cli, a.container, &a.o, &a.gate, a.strict);
}
