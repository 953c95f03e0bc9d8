/* SPDX-License-Identifier: Apache-2.0 */
/* petra exec: a command in one running container, or in all that match. */
#include "cli.h"

#include <string.h>
#include <sys/mman.h>

static const char usage[] =
    "Usage: petra exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
    "       petra exec --all [--filter FILTER]... [OPTIONS] -- COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND inside a running container: its namespaces, its root, its user,\n"
    "environment and working directory, with the same capabilities,\n"
    "no_new_privs and seccomp profile as the container itself.\n"
    "\n"
    "With --all, run it in every running container that matches all filters,\n"
    "one after another; each container's output is printed with its name in\n"
    "front, then one result line per container:\n"
    "  <id> <name> <image> ok|failed (exit N)\n"
    "\n"
    "Options:\n"
    "      --all              every running container (that matches the filters)\n"
    "  -f, --filter FILTER    image=REF, base=DIGEST, derived-from=REF, label=K[=V],\n"
    "                         name=NAME, id=PREFIX (repeatable; all must match)\n"
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
    "1 when it failed in any container, 125 when petra failed.\n";

enum { EXEC_EXIT_FAIL = 125 };

/* Print captured output with a prefix on every line. */
static void print_prefixed(const char *prefix, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		printf("%s| %.*s\n", prefix, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

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

static int exec_all(struct cli *cli, const struct strvec *filters, struct runtime_exec_options *o,
		    enum cli_format format, const struct cli_gate_args *gate, bool strict)
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
	/* derived-from is worked out once here, not per container. */
	struct runtime_filters *matcher = NULL;
	if (runtime_filters_new(store, (const char *const *)filters->v, filters->n, &matcher,
				&err) < 0) {
		runtime_containers_free(list, n);
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	json_t *results = json_array();
	unsigned failed = 0;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct runtime_container *ct = &list[i];
		bool match = false;
		if (ct->running)
			r = runtime_filters_match(matcher, ct, &match, &err);
		if (r < 0 || !match)
			continue;
		const char *name = ct->name ? ct->name : ct->id;
		if (exec_gate(store, ct, gate, strict) != 0) {
			failed++;
			if (format == CLI_FORMAT_JSON)
				json_array_append_new(
				    results,
				    json_pack("{s:s,s:s,s:s?,s:s,s:s,s:n}", "id", ct->id, "name",
					      name, "image", ct->image, "output", "", "error",
					      "refused by the policy", "exit_code"));
			else
				printf("%.12s %s %s failed (refused by the policy)\n", ct->id, name,
				       ct->image ? ct->image : "-");
			continue;
		}
		/* Output goes to a memory file, printed once the command ended,
		 * so containers' lines do not interleave. */
		_cleanup_close_ int out = memfd_create("petra-exec", MFD_CLOEXEC);
		o->stdio[1] = o->stdio[2] = out;
		int code = -1;
		_cleanup_error_ struct petra_error *e = NULL;
		if (out < 0 || runtime_exec(store, ct, o, &code, &e) < 0)
			code = -1;
		_cleanup_strbuf_ struct strbuf output = STRBUF_INIT;
		char buf[4096];
		ssize_t got;
		if (out >= 0 && lseek(out, 0, SEEK_SET) == 0)
			while ((got = read(out, buf, sizeof(buf))) > 0)
				strbuf_add(&output, buf, (size_t)got);
		const char *data = strbuf_str(&output);
		size_t len = output.len;
		if (code != 0)
			failed++;
		if (format == CLI_FORMAT_JSON) {
			json_t *res = json_pack("{s:s,s:s,s:s?,s:s#}", "id", ct->id, "name", name,
						"image", ct->image, "output", data, (int)len);
			json_object_set_new(res, "exit_code",
					    code >= 0 ? json_integer(code) : json_null());
			if (e)
				json_object_set_new(res, "error", json_string(e->message));
			json_array_append_new(results, res);
			continue;
		}
		print_prefixed(name, data, len);
		if (e)
			printf("%.12s %s %s failed (%s)\n", ct->id, name,
			       ct->image ? ct->image : "-", e->message);
		else
			printf("%.12s %s %s %s (exit %d)\n", ct->id, name,
			       ct->image ? ct->image : "-", code == 0 ? "ok" : "failed", code);
	}
	if (r == 0 && format == CLI_FORMAT_JSON)
		cli_print_json(results);
	json_decref(results);
	runtime_filters_free(matcher);
	runtime_containers_free(list, n);
	if (r < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	return failed ? EXIT_FAIL : EXIT_OK;
}

struct exec_args {
	struct runtime_exec_options o;
	struct strvec env, filters;
	bool all;
	bool strict;
	struct cli_gate_args gate;
	enum cli_format format;
	const char *container; /* without --all */
};

static void exec_args_release(struct exec_args *a)
{
	strvec_clear(&a->env);
	strvec_clear(&a->filters);
}

/* -1 to go on, else the exit status: 0 after --help, EXEC_EXIT_FAIL after
 * a usage error (2 could be the command's). */
static int parse_args(int argc, char **argv, struct exec_args *a)
{
	enum { OPT_ALL = 256, OPT_FORMAT, OPT_STRICT };
	static const struct option options[] = {
	    {"all", no_argument, NULL, OPT_ALL},
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
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "+f:itu:e:w:h", options, NULL)) != -1) {
		if (cli_gate_option(c, optarg, &a->gate) == 0)
			continue;
		switch (c) {
		case OPT_STRICT:
			a->strict = true;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case 'f':
			if (runtime_filter_check(optarg, &err) < 0) {
				cli_usage_error("exec", "", err);
				return EXEC_EXIT_FAIL;
			}
			strvec_push(&a->filters, optarg);
			break;
		case OPT_FORMAT:
			if (cli_parse_format("exec", optarg, &a->format))
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
	    .format = CLI_FORMAT_TEXT,
	};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	if (a.all)
		return exec_all(cli, &a.filters, &a.o, a.format, &a.gate, a.strict);
	return exec_one(cli, a.container, &a.o, &a.gate, a.strict);
}
