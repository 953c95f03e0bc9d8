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
    "      --learn              run on a throwaway writable layer in memory and, at\n"
    "                           exit, print the directories the command wrote\n"
    "      --save NAME          with --learn: save IMAGE as NAME with those\n"
    "                           directories in its writable-paths label\n"
    "      --copy-root          merge the layers into a tmpfs instead of mounting\n"
    "                           overlayfs (what happens when overlayfs is "
    "missing)\n" CLI_RUN_OPTIONS_HELP CLI_GATE_OPTIONS_HELP "  -h, --help               this help\n"
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

static void print_learned(const struct runtime_run_result *r)
{
	fprintf(stderr, "petra: the container wrote into %zu director%s%s\n", r->n_learned,
		r->n_learned == 1 ? "y" : "ies", r->n_learned ? ":" : "");
	for (size_t i = 0; i < r->n_learned; i++) {
		char used[32], size[32];
		format_size(r->learned[i].used, used, sizeof(used));
		format_size(r->learned[i].size, size, sizeof(size));
		fprintf(stderr, "  %-30s %10s used  (tmpfs size %s, mode %04o, uid %u)\n",
			r->learned[i].path, used, size, (unsigned)r->learned[i].mode,
			(unsigned)r->learned[i].uid);
	}
	for (size_t i = 0; i < r->learn_notes.n; i++)
		fprintf(stderr, "petra: note: the container %s\n", r->learn_notes.v[i]);
}

/* -1 to go on (optind at IMAGE), else the exit status: 0 after --help,
 * RUN_EXIT_FAIL after a usage error (as podman, not 2: 2 could be the
 * command's). */
static int parse_args(int argc, char **argv, struct cli_run_args *a, struct cli_gate_args *gate,
		      const char **save)
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
	    CLI_GATE_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*save = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "+dith" CLI_RUN_SHORT_OPTIONS, options, NULL)) != -1) {
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
		default:
			if (cli_gate_option(c, optarg, gate) == 0)
				break;
			if (cli_run_option("run", c, optarg, a) != 0)
				return RUN_EXIT_FAIL;
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
	if (a->o.learn && (a->o.detach || a->o.read_write)) {
		cli_usage("run", "--learn cannot go with --detach or --read-write");
		return RUN_EXIT_FAIL;
	}
	return -1;
}

/* --learn --save NAME: the image again, with what the run learned. */
static int save_learned(struct cli *cli, const char *image, const struct runtime_run_result *r,
			const char *save)
{
	/* The run let go of the store's writer lock; take it again. */
	_cleanup_store_ struct petra_store *writer = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!writer)
		return RUN_EXIT_FAIL;
	char digest[OCI_DIGEST_SIZE];
	struct petra_error *err = NULL;
	if (runtime_save_writable_paths(writer, image, r->learned, r->n_learned, save, digest,
					&err) < 0) {
		petra_error_prefix(&err, "save %s", save);
		return run_fail(err, RUN_EXIT_FAIL);
	}
	fprintf(stderr, "petra: saved %s (%s)\n", save, digest);
	return EXIT_OK;
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_(cli_run_args_release) struct cli_run_args a = {0};
	struct cli_gate_args gate = {0};
	const char *save;
	int status = parse_args(argc, argv, &a, &gate, &save);
	if (status >= 0)
		return status;
	if (a.o.read_write)
		log_warn("--read-write: the container's root filesystem is writable");
	cli_run_args_finish(&a);
	a.o.image = argv[optind];
	a.o.command = optind + 1 < argc ? argv + optind + 1 : NULL;
	_cleanup_free_ char *supervisor = a.o.detach ? cli_supervisor_path() : NULL;
	a.o.supervisor = supervisor;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store)
		return RUN_EXIT_FAIL;
	/* Before anything of the image is mounted or run. */
	if (cli_gate(store, a.o.image, TRUST_PURPOSE_RUN, &gate, false) != 0)
		return RUN_EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir();
	struct runtime_run_result result;
	struct petra_error *err = NULL;
	if (runtime_run(store, run_dir, &a.o, &result, &err) < 0) {
		int code = result.exit_code;
		runtime_run_result_release(&result);
		return run_fail(err, code);
	}
	status = result.exit_code;
	if (a.o.detach) {
		printf("%s\n", result.id);
	} else if (a.o.learn) {
		print_learned(&result);
		if (save && save_learned(cli, a.o.image, &result, save) != EXIT_OK)
			status = RUN_EXIT_FAIL;
	}
	runtime_run_result_release(&result);
	return status;
}
