/* SPDX-License-Identifier: Apache-2.0 */
/* petra learn stop: end a detached --learn container and take what it
 * learned; and what run and stop share about printing and saving it. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: petra learn stop [OPTIONS] CONTAINER [--save NAME]\n"
    "\n"
    "Stop a container started with `petra run -d --learn` (SIGTERM, then SIGKILL\n"
    "after the grace period), print the directories it had to write and, with\n"
    "--save (or the --save NAME given to run), save its image as NAME with them\n"
    "in its org.petra.writable-paths label, added to what that label held.\n"
    "A container that already ended is not stopped again.\n"
    "\n"
    "Options:\n"
    "      --save NAME      save the image as NAME (default: run's --save)\n"
    "  -t, --time SECONDS   the grace period (default 10)\n"
    "  -h, --help           this help\n";

void cli_learn_print(const struct runtime_run_result *r)
{
	fprintf(stderr, "petra: the container wrote into %zu director%s%s\n", r->n_learned,
		r->n_learned == 1 ? "y" : "ies", r->n_learned ? ":" : "");
	for (size_t i = 0; i < r->n_learned; i++) {
		char used[32], size[32];
		format_size(r->learned[i].used, used, sizeof(used));
		format_size(r->learned[i].size, size, sizeof(size));
		fprintf(stderr, "  %-30s %10s used  (tmpfs size %s, mode %04o, uid %u%s)\n",
			r->learned[i].path, used, size, (unsigned)r->learned[i].mode,
			(unsigned)r->learned[i].uid,
			r->learned[i].copy ? ", copy of the image's content" : "");
	}
	for (size_t i = 0; i < r->learn_notes.n; i++)
		fprintf(stderr, "petra: note: the container %s\n", r->learn_notes.v[i]);
}

int cli_learn_save(struct cli *cli, const char *image, const struct runtime_run_result *r,
		   const char *save)
{
	/* The run let go of the store's writer lock; take it again. */
	_cleanup_store_ struct petra_store *writer = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!writer)
		return EXIT_FAIL;
	char digest[OCI_DIGEST_SIZE];
	struct petra_error *err = NULL;
	if (runtime_save_writable_paths(writer, image, r->learned, r->n_learned, save, digest,
					&err) < 0) {
		petra_error_prefix(&err, "save %s", save);
		return cli_fail(err);
	}
	fprintf(stderr, "petra: saved %s (%s)\n", save, digest);
	return EXIT_OK;
}

int cli_learn_finish(struct cli *cli, const struct runtime_container *c, const char *save)
{
	struct runtime_run_result result;
	struct petra_error *err = NULL;
	int status = EXIT_OK;
	{
		_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
		if (!store)
			return EXIT_FAIL;
		if (runtime_learn_result(store, c, &result, &err) < 0) {
			runtime_run_result_release(&result);
			return cli_fail(err);
		}
	}
	cli_learn_print(&result);
	if (save)
		status = cli_learn_save(cli, c->image_digest, &result, save);
	runtime_run_result_release(&result);
	return status;
}

int cmd_learn(struct cli *cli, int argc, char **argv)
{
	enum { OPT_SAVE = 256 };
	static const struct option options[] = {
	    {"save", required_argument, NULL, OPT_SAVE},
	    {"time", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return cli_help(usage);
	if (argc < 2 || strcmp(argv[1], "stop"))
		return cli_usage("learn", "expects stop CONTAINER");
	argc--, argv++;
	const char *save = NULL;
	unsigned grace = 10;
	cli_getopt_reset();
	int c;
	/* Options anywhere: "learn stop web --save web:ro" reads naturally. */
	while ((c = getopt_long(argc, argv, "t:h", options, NULL)) != -1) {
		if (c == OPT_SAVE) {
			save = optarg;
		} else if (c == 't') {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 86400)
				return cli_usage("learn", "--time wants seconds, not \"%s\"",
						 optarg);
			grace = (unsigned)v;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("learn", argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("learn", "stop expects one CONTAINER");
	if (save && cli_check_image_name("learn", save) != 0)
		return EXIT_USAGE;
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container ct;
	if (cli_find_container(run_dir, argv[optind], &ct))
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	const char *run_save;
	int status;
	if (!runtime_container_learning(&ct, &run_save)) {
		petra_error_set(&err, EINVAL, "container %.12s was not started with --learn",
				ct.id);
		status = cli_fail(err);
	} else if (runtime_stop(&ct, grace, &err) < 0) {
		status = cli_fail(err);
	} else {
		status = cli_learn_finish(cli, &ct, save ? save : run_save);
	}
	runtime_container_release(&ct);
	return status;
}
