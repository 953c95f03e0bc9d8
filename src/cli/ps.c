/* SPDX-License-Identifier: Apache-2.0 */
/* petra ps: list containers. */
#include "cli.h"

static const char usage[] =
    "Usage: petra ps [OPTIONS]\n"
    "\n"
    "List containers: id, image, command, age, status, published ports and\n"
    "name. Only running ones unless --all.\n"
    "\n"
    "Options:\n"
    "  -a, --all             also containers that ended\n"
    "  -f, --filter FILTER   only matching containers (repeatable, all must\n"
    "                        match): image=REF, base=DIGEST, derived-from=REF\n"
    "                        (the image derives from REF, however indirectly:\n"
    "                        see petra images --filter), label=K[=V], name=NAME,\n"
    "                        id=PREFIX\n"
    "      --format FORMAT   text (default) or json\n"
    "  -q, --quiet           print only ids\n"
    "  -h, --help            this help\n";

static void status_text(const struct runtime_container *c, char *buf, size_t size)
{
	if (c->running)
		snprintf(buf, size, "Up");
	else if (c->exit_code >= 0)
		snprintf(buf, size, "Exited (%d)", c->exit_code);
	else
		snprintf(buf, size, "Gone");
}

static char *command_text(const struct runtime_container *c)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c->state, "command"), i, v)
	{
		if (i)
			strbuf_addch(&sb, ' ');
		strbuf_addstr(&sb, json_string_value(v) ? json_string_value(v) : "");
	}
	return strbuf_detach(&sb);
}

struct ps_args {
	bool all, quiet;
	enum cli_format format;
	struct strvec filters;
};

static void ps_args_release(struct ps_args *a)
{
	strvec_clear(&a->filters);
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct ps_args *a)
{
	enum { OPT_FORMAT = 256 };
	static const struct option options[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"filter", required_argument, NULL, 'f'},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct petra_error *err = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "af:qh", options, NULL)) != -1) {
		switch (c) {
		case 'a':
			a->all = true;
			break;
		case 'f':
			if (runtime_filter_check(optarg, &err) < 0)
				return cli_usage_error("ps", "", err);
			strvec_push(&a->filters, optarg);
			break;
		case OPT_FORMAT:
			if (cli_parse_format("ps", optarg, &a->format))
				return EXIT_USAGE;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("ps", argv);
		}
	}
	if (optind != argc)
		return cli_usage("ps", "takes no arguments");
	return -1;
}

static json_t *container_json(const struct runtime_container *ct, const char *cmd)
{
	json_t *o = json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:b,s:i,s:I}", "id", ct->id, "name",
			      ct->name, "image", ct->image, "image_digest", ct->image_digest,
			      "command", cmd, "running", ct->running, "pid",
			      ct->running ? (int)ct->pid : 0, "created", (json_int_t)ct->created);
	json_object_set_new(o, "exit_code",
			    ct->exit_code >= 0 ? json_integer(ct->exit_code) : json_null());
	json_t *ports = json_object_get(ct->state, "ports");
	json_object_set_new(o, "ports",
			    json_is_array(ports) ? json_deep_copy(ports) : json_array());
	return o;
}

/* The published ports, "0.0.0.0:8080->80/tcp, ...". Caller frees. */
static char *ports_text(const struct runtime_container *ct)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(ct->state, "ports"), i, v) if (json_is_string(v))
	{
		strbuf_addstr(&sb, sb.len ? ", " : "");
		strbuf_addstr(&sb, json_string_value(v));
	}
	return strbuf_detach(&sb);
}

static void print_row(const struct runtime_container *ct, const char *cmd, time_t now)
{
	char status[32], age[48];
	status_text(ct, status, sizeof(status));
	format_age(ct->created, now, age, sizeof(age));
	_cleanup_free_ char *ports = ports_text(ct);
	printf("%-12.12s  %-24.24s  %-24.24s  %-16s  %-12s  %-24s  %s\n", ct->id,
	       ct->image ? ct->image : "", cmd, age, status, ports, ct->name ? ct->name : "");
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	_cleanup_(ps_args_release) struct ps_args a = {.format = CLI_FORMAT_TEXT,
						       .filters = STRVEC_INIT};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container *list;
	size_t n;
	struct petra_error *err = NULL;
	struct runtime_filters *filters = NULL;
	if (runtime_filters_new(store, (const char *const *)a.filters.v, a.filters.n, &filters,
				&err) < 0)
		return cli_fail(err);
	if (runtime_list(run_dir, &list, &n, &err) < 0) {
		runtime_filters_free(filters);
		return cli_fail(err);
	}
	json_t *arr = json_array();
	if (a.format == CLI_FORMAT_TEXT && !a.quiet)
		printf("%-12s  %-24s  %-24s  %-16s  %-12s  %-24s  %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "PORTS", "NAME");
	int r = 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct runtime_container *ct = &list[i];
		bool match = false;
		if ((!a.all && !ct->running) ||
		    (r = runtime_filters_match(filters, ct, &match, &err)) < 0 || !match)
			continue;
		_cleanup_free_ char *cmd = command_text(ct);
		if (a.format == CLI_FORMAT_JSON)
			json_array_append_new(arr, container_json(ct, cmd));
		else if (a.quiet)
			printf("%.12s\n", ct->id);
		else
			print_row(ct, cmd, now);
	}
	if (r == 0 && a.format == CLI_FORMAT_JSON)
		cli_print_json(arr);
	json_decref(arr);
	runtime_filters_free(filters);
	runtime_containers_free(list, n);
	return r < 0 ? cli_fail(err) : EXIT_OK;
}
