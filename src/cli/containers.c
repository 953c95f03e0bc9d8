/* SPDX-License-Identifier: Apache-2.0 */
/* petra ps, logs, stop, rm, diff: looking after containers. */
#include "cli.h"

#include <fcntl.h>
#include <string.h>

static const char ps_usage[] =
    "Usage: petra ps [OPTIONS]\n"
    "\n"
    "List containers: id, image, command, age, status and name. Only running\n"
    "ones unless --all.\n"
    "\n"
    "Options:\n"
    "  -a, --all             also containers that ended\n"
    "  -f, --filter FILTER   only matching containers (repeatable, all must\n"
    "                        match): image=REF, base=DIGEST, label=K[=V],\n"
    "                        name=NAME, id=PREFIX\n"
    "      --format FORMAT   text (default) or json\n"
    "  -q, --quiet           print only ids\n"
    "  -h, --help            this help\n";

static const char logs_usage[] = "Usage: petra logs [OPTIONS] CONTAINER\n"
				 "\n"
				 "Print what a detached container wrote to its standard output "
				 "and error.\n"
				 "\n"
				 "Options:\n"
				 "  -f, --follow   keep printing while the container runs\n"
				 "  -h, --help     this help\n";

static const char stop_usage[] =
    "Usage: petra stop [OPTIONS] CONTAINER...\n"
    "\n"
    "Send SIGTERM to each container's first process, then SIGKILL if it has not\n"
    "ended after the grace period; wait for the end.\n"
    "\n"
    "Options:\n"
    "  -t, --time SECONDS   the grace period (default 10)\n"
    "  -h, --help           this help\n";

static const char rm_usage[] = "Usage: petra rm [OPTIONS] CONTAINER...\n"
			       "\n"
			       "Remove containers that ended (their state, log and writable "
			       "layer).\n"
			       "\n"
			       "Options:\n"
			       "  -f, --force   kill running containers first\n"
			       "  -h, --help    this help\n";

static const char diff_usage[] =
    "Usage: petra diff CONTAINER\n"
    "\n"
    "Show what changed in a container's writable places since it started, one\n"
    "line per path: A (added), C (changed) or D (deleted), as docker diff does.\n"
    "A read-only container can only change its tmpfs mounts (shown while it\n"
    "runs); a --read-write one its whole root.\n";

/* 0, or EXIT_FAIL with the error printed. */
static int find_container(const char *run_dir, const char *what, struct runtime_container *c)
{
	struct petra_error *err = NULL;
	if (runtime_find(run_dir, what, c, &err) < 0)
		return cli_fail(err);
	return 0;
}

/* ---- ps ---- */

static bool matches_all(struct petra_store *store, const struct runtime_container *c,
			const struct strvec *filters, struct petra_error **err, int *r)
{
	for (size_t i = 0; i < filters->n; i++) {
		bool m;
		if ((*r = runtime_filter_match(store, c, filters->v[i], &m, err)) < 0 || !m)
			return false;
	}
	return true;
}

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

int cmd_ps(struct cli *cli, int argc, char **argv)
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
	bool all = false, quiet = false;
	enum cli_format format = CLI_FORMAT_TEXT;
	_cleanup_strvec_ struct strvec filters = STRVEC_INIT;
	struct petra_error *err = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "af:qh", options, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'f':
			if (runtime_filter_check(optarg, &err) < 0) {
				int r = cli_usage("ps", "%s", err->message);
				petra_error_free(err);
				return r;
			}
			strvec_push(&filters, optarg);
			break;
		case OPT_FORMAT:
			if (cli_parse_format("ps", optarg, &format))
				return EXIT_USAGE;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cli_help(ps_usage);
		default:
			return cli_bad_option("ps", argv);
		}
	}
	if (optind != argc)
		return cli_usage("ps", "takes no arguments");
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir();
	struct runtime_container *list;
	size_t n;
	if (runtime_list(run_dir, &list, &n, &err) < 0)
		return cli_fail(err);
	json_t *arr = json_array();
	if (format == CLI_FORMAT_TEXT && !quiet)
		printf("%-12s  %-24s  %-24s  %-16s  %-12s  %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "NAME");
	int r = 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct runtime_container *ct = &list[i];
		if ((!all && !ct->running) || !matches_all(store, ct, &filters, &err, &r))
			continue;
		char status[32], age[48];
		status_text(ct, status, sizeof(status));
		format_age(ct->created, now, age, sizeof(age));
		_cleanup_free_ char *cmd = command_text(ct);
		if (format == CLI_FORMAT_JSON) {
			json_t *o = json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:b,s:i,s:I}", "id", ct->id,
					      "name", ct->name, "image", ct->image, "image_digest",
					      ct->image_digest, "command", cmd, "running",
					      ct->running, "pid", ct->running ? (int)ct->pid : 0,
					      "created", (json_int_t)ct->created);
			json_object_set_new(o, "exit_code",
					    ct->exit_code >= 0 ? json_integer(ct->exit_code)
							       : json_null());
			json_array_append_new(arr, o);
		} else if (quiet) {
			printf("%.12s\n", ct->id);
		} else {
			printf("%-12.12s  %-24.24s  %-24.24s  %-16s  %-12s  %s\n", ct->id,
			       ct->image ? ct->image : "", cmd, age, status,
			       ct->name ? ct->name : "");
		}
	}
	if (r == 0 && format == CLI_FORMAT_JSON)
		cli_print_json(arr);
	json_decref(arr);
	runtime_containers_free(list, n);
	return r < 0 ? cli_fail(err) : EXIT_OK;
}

/* ---- logs ---- */

int cmd_logs(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool follow = false;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "fh", options, NULL)) != -1) {
		if (c == 'f')
			follow = true;
		else if (c == 'h')
			return cli_help(logs_usage);
		else
			return cli_bad_option("logs", argv);
	}
	if (argc - optind != 1)
		return cli_usage("logs", "expects one CONTAINER");
	_cleanup_free_ char *run_dir = runtime_default_run_dir();
	struct runtime_container ct;
	if (find_container(run_dir, argv[optind], &ct))
		return EXIT_FAIL;
	_cleanup_free_ char *path = path_join(ct.dir, "log");
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		runtime_container_release(&ct);
		if (errno == ENOENT)
			return EXIT_OK; /* a foreground container logs to its terminal */
		struct petra_error *err = NULL;
		petra_error_set_errno(&err, errno, "open %s", path);
		return cli_fail(err);
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (!follow)
			break;
		fflush(stdout);
		/* Follow until the container ended and the log is drained. */
		struct runtime_container now;
		_cleanup_error_ struct petra_error *gone = NULL;
		bool running = runtime_find(run_dir, ct.id, &now, &gone) == 0 && now.running;
		if (!gone)
			runtime_container_release(&now);
		if (!running) {
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				fwrite(buf, 1, (size_t)n, stdout);
			break;
		}
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	runtime_container_release(&ct);
	return EXIT_OK;
}

/* ---- stop, rm ---- */

typedef int (*container_fn)(struct runtime_container *c, void *ctx, struct petra_error **err);

/* Apply fn to each named container, printing each name done; every
 * container is tried, the status says whether all succeeded. */
static int each_container(int n, char **names, container_fn fn, void *ctx)
{
	_cleanup_free_ char *run_dir = runtime_default_run_dir();
	int status = EXIT_OK;
	for (int i = 0; i < n; i++) {
		struct runtime_container ct;
		struct petra_error *err = NULL;
		if (find_container(run_dir, names[i], &ct)) {
			status = EXIT_FAIL;
			continue;
		}
		if (fn(&ct, ctx, &err) < 0)
			status = cli_fail(err);
		else
			printf("%s\n", names[i]);
		runtime_container_release(&ct);
	}
	return status;
}

static int stop_one(struct runtime_container *c, void *ctx, struct petra_error **err)
{
	return runtime_stop(c, *(unsigned *)ctx, err);
}

static int remove_one(struct runtime_container *c, void *ctx, struct petra_error **err)
{
	return runtime_remove(c, *(bool *)ctx, err);
}

int cmd_stop(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"time", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned grace = 10;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "t:h", options, NULL)) != -1) {
		if (c == 't') {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 86400)
				return cli_usage("stop", "--time wants seconds, not \"%s\"",
						 optarg);
			grace = (unsigned)v;
		} else if (c == 'h') {
			return cli_help(stop_usage);
		} else {
			return cli_bad_option("stop", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("stop", "expects a CONTAINER");
	return each_container(argc - optind, argv + optind, stop_one, &grace);
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool force = false;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "fh", options, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'h')
			return cli_help(rm_usage);
		else
			return cli_bad_option("rm", argv);
	}
	if (optind >= argc)
		return cli_usage("rm", "expects a CONTAINER");
	return each_container(argc - optind, argv + optind, remove_one, &force);
}

/* ---- diff ---- */

static void print_change(void *ctx, char kind, const char *path)
{
	(void)ctx;
	/* The container chose the name: one with a control byte (a newline
	 * forging a line, an escape sequence for the terminal), a quote or a
	 * backslash is printed quoted and escaped; others as docker diff does. */
	bool plain = true;
	for (const unsigned char *p = (const unsigned char *)path; *p && plain; p++)
		plain = *p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\';
	if (plain) {
		printf("%c %s\n", kind, path);
		return;
	}
	_cleanup_strbuf_ struct strbuf q = STRBUF_INIT;
	strbuf_add_quoted(&q, path, 0);
	printf("%c %s\n", kind, q.buf);
}

int cmd_diff(struct cli *cli, int argc, char **argv)
{
	int parsed = cli_parse_help_only("diff", diff_usage, argc, argv);
	if (parsed >= 0)
		return parsed;
	if (argc - optind != 1)
		return cli_usage("diff", "expects one CONTAINER");
	_cleanup_free_ char *run_dir = runtime_default_run_dir();
	struct runtime_container ct;
	if (find_container(run_dir, argv[optind], &ct))
		return EXIT_FAIL;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	struct petra_error *err = NULL;
	int r = store ? runtime_diff(store, &ct, print_change, NULL, &err) : -EIO;
	runtime_container_release(&ct);
	if (!store)
		return EXIT_FAIL;
	return r < 0 ? cli_fail(err) : EXIT_OK;
}
