/* SPDX-License-Identifier: Apache-2.0 */
/* petra test: black-box structure tests of an image. */
#include "cli.h"

#include <string.h>

#include "structtest/structtest.h"

static const char usage[] =
    "Usage: petra test [OPTIONS] IMAGE FILE...\n"
    "\n"
    "Run the structure tests of each FILE (container-structure-test YAML,\n"
    "schemaVersion 2.0.0) against IMAGE: commandTests (each command in a fresh\n"
    "read-only sandbox of the image), fileExistenceTests, fileContentTests,\n"
    "metadataTest, and petra's immutabilityTest (as the image's user, no\n"
    "directory but the listed writable paths can be written).\n"
    "\n"
    "Options:\n"
    "      --format FORMAT   text (default), json or junit\n"
    "  -o, --output FILE     write the report to FILE instead of standard output\n"
    "      --timeout SECONDS a command test (setup, command and teardown) that\n"
    "                        takes longer is killed and fails (default 60; 0: "
    "none)\n" CLI_GATE_OPTIONS_HELP "  -h, --help            this help\n"
    "\n"
    "The gate checks IMAGE against the policy first: a refused image (banned,\n"
    "its base banned or not in the catalog, a signature requirement not met)\n"
    "is not tested (exit 1, every reason printed).\n"
    "\n"
    "Exit status: 0 every test passed, 1 a test failed or could not run (or a\n"
    "test file cannot be read or is not valid), 2 bad usage.\n"
    "\n"
    "Of each command's stdout and stderr the first 8 MiB are kept and matched;\n"
    "when a command writes more, a pattern the rest could decide fails the\n"
    "test and says so.\n";

struct test_args {
	enum structtest_format format;
	const char *output;
	struct cli_gate_args gate;
	long timeout_s;
	const char *image;
	char **files;
	size_t n_files;
};

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct test_args *a)
{
	enum { OPT_FORMAT = 256, OPT_TIMEOUT };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"output", required_argument, NULL, 'o'},
	    CLI_GATE_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		if (cli_gate_option(c, optarg, &a->gate) == 0)
			continue;
		switch (c) {
		case OPT_FORMAT:
			if (!strcmp(optarg, "text"))
				a->format = STRUCTTEST_TEXT;
			else if (!strcmp(optarg, "json"))
				a->format = STRUCTTEST_JSON;
			else if (!strcmp(optarg, "junit"))
				a->format = STRUCTTEST_JUNIT;
			else
				return cli_usage(
				    "test", "unknown format \"%s\" (text, json or junit)", optarg);
			break;
		case 'o':
			a->output = optarg;
			break;
		case OPT_TIMEOUT: {
			int r = cli_parse_count("test", "--timeout", optarg, &a->timeout_s);
			if (r)
				return r;
			if (a->timeout_s > 86400 * 7)
				return cli_usage("test", "--timeout: at most a week, not %s",
						 optarg);
			break;
		}
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("test", argv);
		}
	}
	if (argc - optind < 2)
		return cli_usage("test", "expects IMAGE and at least one FILE");
	if (cli_check_image_ref("test", argv[optind]) != 0)
		return EXIT_USAGE;
	a->image = argv[optind];
	a->files = argv + optind + 1;
	a->n_files = (size_t)(argc - optind - 1);
	return -1;
}

static void release_docs(json_t **docs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(docs[i]);
	free(docs);
}

/* Every file is checked before anything runs; then the gate, then the
 * tests. 0, or the exit status. */
static int run_tests(struct cli *cli, const struct test_args *a, struct structtest_report *report)
{
	struct petra_error *err = NULL;
	json_t **docs = xcalloc(a->n_files, sizeof(*docs));
	for (size_t i = 0; i < a->n_files; i++)
		if (structtest_load(a->files[i], &docs[i], &err) < 0) {
			release_docs(docs, i);
			return cli_fail(err);
		}
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store || cli_gate(store, a->image, TRUST_PURPOSE_TEST, &a->gate, false) != 0) {
		release_docs(docs, a->n_files);
		return EXIT_FAIL;
	}
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct structtest_context ctx = {.store = store,
					 .image = a->image,
					 .run_dir = run_dir,
					 .timeout_ms = (unsigned)a->timeout_s * 1000u};
	int r = 0;
	for (size_t i = 0; i < a->n_files && r == 0; i++)
		r = structtest_run(&ctx, docs[i], report, &err);
	release_docs(docs, a->n_files);
	if (r < 0) {
		petra_error_prefix(&err, "test %s", a->image);
		return cli_fail(err);
	}
	return 0;
}

int cmd_test(struct cli *cli, int argc, char **argv)
{
	struct test_args a = {.format = STRUCTTEST_TEXT, .timeout_s = STRUCTTEST_DEFAULT_TIMEOUT_S};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	struct structtest_report report = {0};
	status = run_tests(cli, &a, &report);
	if (status == 0) {
		FILE *out = cli_open_output(a.output);
		status = EXIT_FAIL;
		if (out) {
			structtest_print(&report, a.format, out);
			cli_close_output(out);
			status = report.failures ? EXIT_FAIL : EXIT_OK;
		}
	}
	structtest_report_release(&report);
	return status;
}
