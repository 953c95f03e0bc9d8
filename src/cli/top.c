/* SPDX-License-Identifier: Apache-2.0 */
/* petra top: the processes of a running container. */
#include "cli.h"

#include <pwd.h>
#include <unistd.h>

static const char usage[] =
    "Usage: petra top [OPTIONS] CONTAINER\n"
    "\n"
    "List the processes of a running container (its pid namespace): the pid\n"
    "in the container and on the host, the uid, the CPU time used and the\n"
    "command line.\n"
    "\n"
    "Options:\n"
    "      --format text|json  the output format (default text)\n"
    "  -h, --help              this help\n";

int cmd_top(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum cli_format format = CLI_FORMAT_TEXT;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'f') {
			if (cli_parse_format("top", optarg, &format) != 0)
				return EXIT_USAGE;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("top", argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("top", "expects one CONTAINER");
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container ct;
	if (cli_find_container(run_dir, argv[optind], &ct))
		return EXIT_FAIL;
	struct runtime_process *list;
	size_t n;
	struct petra_error *err = NULL;
	int r = runtime_top(&ct, &list, &n, &err);
	runtime_container_release(&ct);
	if (r < 0)
		return cli_fail(err);
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	if (format == CLI_FORMAT_JSON) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(
			    a, json_pack(
				   "{s:i,s:i,s:I,s:f,s:s,s:s}", "pid", (int)list[i].pid, "host_pid",
				   (int)list[i].host_pid, "uid", (json_int_t)list[i].uid,
				   "cpu_seconds", (double)list[i].cpu_ticks / (double)hz, "name",
				   list[i].name ? list[i].name : "", "command", list[i].command));
		cli_print_json(a);
		json_decref(a);
	} else {
		printf("%-7s %-9s %-7s %-9s %s\n", "PID", "HOST PID", "UID", "TIME", "COMMAND");
		for (size_t i = 0; i < n; i++) {
			unsigned long long s = list[i].cpu_ticks / (unsigned long long)hz;
			char time_text[32];
			snprintf(time_text, sizeof(time_text), "%llu:%02llu:%02llu", s / 3600,
				 s / 60 % 60, s % 60);
			printf("%-7d %-9d %-7u %-9s %s\n", (int)list[i].pid, (int)list[i].host_pid,
			       (unsigned)list[i].uid, time_text, list[i].command);
		}
	}
	runtime_processes_free(list, n);
	return EXIT_OK;
}
