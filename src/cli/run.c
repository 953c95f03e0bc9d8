/* SPDX-License-Identifier: Apache-2.0 */
/* petra run: a container of an image, read-only and hardened by default. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
    "\n"
    "Run COMMAND (default: the image's Entrypoint and Cmd) in a new container of\n"
    "IMAGE. The root filesystem is a read-only overlay of the image's layers;\n"
    "only the paths in the image's org.petra.writable-paths label, --tmpfs and\n"
    "volumes are writable. The container has its own mount, pid, ipc, uts and\n"
    "(with --network none, the default) network namespaces, runs as the\n"
    "image's USER with a small capability set, no_new_privs and the default\n"
    "seccomp profile, and sees a fresh /proc with kernel paths masked or\n"
    "read-only and a minimal /dev. Options after IMAGE belong to COMMAND.\n"
    "\n"
    "Options:\n"
    "      --rm                 remove the container when it ends\n"
    "  -d, --detach             run in the background under a supervisor and\n"
    "                           print the container id\n"
    "      --name NAME          a name for ps, exec, stop, rm\n"
    "  -i, --interactive        keep standard input open (default: /dev/null)\n"
    "  -t, --tty                give the container a terminal\n"
    "      --learn              run on a throwaway writable layer and, at exit,\n"
    "                           print the directories the command wrote into\n"
    "                           (with -d: when `petra stop` ends it)\n"
    "      --save NAME          with --learn: save IMAGE as NAME with those\n"
    "                           directories in its writable-paths label (added\n"
    "                           to what the label already holds)\n"
    "      --copy-root          merge the layers into a tmpfs instead of mounting\n"
    "                           overlayfs (what happens when overlayfs is "
    "missing)\n" CLI_RUN_OPTIONS_HELP CLI_RUN_LIMITS_HELP CLI_GATE_OPTIONS_HELP
	CLI_PULL_OPTIONS_HELP "  -h, --help               this help\n"
    "\n"
    "Before anything runs, the gate checks IMAGE against the policy: an image\n"
    "(or its base) banned or not in the catalog, or a signature requirement not\n"
    "met, is refused with every reason (exit 125).\n"
    "\n"
    "Exit status: the command's; 128+N when a signal N ended it; 125 when petra\n"
    "could not run the container (or was used wrongly); 126 when COMMAND could\n"
    "not be executed; 127 when COMMAND was not found.\n";

enum { RUN_EXIT_FAIL = 125, RUN_EXIT_CANNOT_EXEC = 126, RUN_EXIT_NOT_FOUND = 127 };

static int run_fail(struct petra_error *err, int code)
{
	cli_fail(err);
	return code == RUN_EXIT_NOT_FOUND || code == RUN_EXIT_CANNOT_EXEC ? code : RUN_EXIT_FAIL;
}

/* -1 to go on (optind at IMAGE), else the exit status: 0 after --help,
 * RUN_EXIT_FAIL after a usage error (as podman, not 2: 2 could be the
 * command's). */
static int parse_args(int argc, char **argv, struct cli_run_args *a, struct cli_gate_args *gate,
		      struct cli_pull_args *pull, const char **save)
{
	enum { OPT_RM = 256, OPT_NAME, OPT_LEARN, OPT_SAVE, OPT_COPY_ROOT };
	static const struct option options[] = {
	    {"rm", no_argument, NULL, OPT_RM},
	    {"detach", no_argument, NULL, 'd'},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"learn", no_argument, NULL, OPT_LEARN},
	    {"save", required_argument, NULL, OPT_SAVE},
	    {"copy-root", no_argument, NULL, OPT_COPY_ROOT},
	    CLI_RUN_LONG_OPTIONS,
	    CLI_RUN_LIMITS_LONG_OPTIONS,
	    CLI_GATE_LONG_OPTIONS,
	    CLI_PULL_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*save = NULL;
	cli_getopt_reset();
	int c;
	while (
	    (c = getopt_long(argc, argv, "+dith" CLI_RUN_SHORT_OPTIONS CLI_RUN_LIMITS_SHORT_OPTIONS,
			     options, NULL)) != -1) {
		switch (c) {
		case OPT_RM:
			a->o.remove = true;
			break;
		case 'd':
			a->o.detach = true;
			break;
		case OPT_NAME:
			a->o.name = optarg;
			break;
		case 'i':
			a->o.interactive = true;
			break;
		case 't':
			a->o.tty = true;
			break;
		case OPT_LEARN:
			a->o.learn = true;
			break;
		case OPT_SAVE:
			*save = optarg;
			break;
		case OPT_COPY_ROOT:
			a->o.copy_root = true;
			break;
		case 'h':
			return cli_help(usage);
		case '?':
		case ':':
			cli_bad_option("run", argv);
			return RUN_EXIT_FAIL;
		default: {
			if (cli_gate_option(c, optarg, gate) == 0)
				break;
			int pr = cli_pull_option("run", c, optarg, pull);
			if (pr > 0)
				return RUN_EXIT_FAIL;
			if (pr == 0)
				break;
			int r = cli_run_limits_option("run", c, optarg, &a->o);
			if (r > 0 || (r < 0 && cli_run_option("run", c, optarg, a) != 0))
				return RUN_EXIT_FAIL;
		}
		}
	}
	if (optind >= argc) {
		cli_usage("run", "expects an IMAGE");
		return RUN_EXIT_FAIL;
	}
	if (cli_check_image_ref("run", argv[optind]) != 0 ||
	    (*save && cli_check_image_name("run", *save) != 0))
		return RUN_EXIT_FAIL;
	if (*save && !a->o.learn) {
		cli_usage("run", "--save goes with --learn");
		return RUN_EXIT_FAIL;
	}
	if (a->o.learn && a->o.read_write) {
		cli_usage("run", "--learn cannot go with --read-write");
		return RUN_EXIT_FAIL;
	}
	if (a->o.learn && a->o.detach && a->o.remove) {
		cli_usage("run", "-d --learn keeps the container until learning ends: no --rm");
		return RUN_EXIT_FAIL;
	}
	a->o.learn_save = *save;
	return -1;
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_(cli_run_args_release) struct cli_run_args a = {0};
	struct cli_gate_args gate = {0};
	struct cli_pull_args pull;
	cli_pull_args_init(&pull, cli);
	const char *save;
	int status = parse_args(argc, argv, &a, &gate, &pull, &save);
	if (status >= 0)
		return status;
	if (a.o.read_write)
		log_warn("--read-write: the container's root filesystem is writable");
	cli_run_args_finish(&a);
	a.o.image = argv[optind];
	a.o.command = optind + 1 < argc ? argv + optind + 1 : NULL;
	_cleanup_free_ char *init = NULL;
	_cleanup_free_ struct runtime_port *ports = (struct runtime_port *)a.o.ports;
	if (cli_run_limits_finish("run", &a.o, &init) != 0)
		return RUN_EXIT_FAIL;
	_cleanup_free_ char *supervisor = a.o.detach ? cli_supervisor_path() : NULL;
	a.o.supervisor = supervisor;
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store)
		return RUN_EXIT_FAIL;
	struct petra_error *err = NULL;
	/* Before the gate, which judges what was pulled. */
	if (cli_pull_image(store, a.o.image, &pull, &err) < 0)
		return run_fail(err, RUN_EXIT_FAIL);
	/* Before anything of the image is mounted or run. */
	if (cli_gate(store, a.o.image, TRUST_PURPOSE_RUN, &gate, false) != 0)
		return RUN_EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_run_result result;
	if (runtime_run(store, run_dir, &a.o, &result, &err) < 0) {
		int code = result.exit_code;
		runtime_run_result_release(&result);
		return run_fail(err, code);
	}
	status = result.exit_code;
	if (a.o.detach) {
		printf("%s\n", result.id);
	} else if (a.o.learn) {
		cli_learn_print(&result);
		if (save && cli_learn_save(cli, a.o.image, &result, save) != EXIT_OK)
			status = RUN_EXIT_FAIL;
	}
	runtime_run_result_release(&result);
	return status;
}
