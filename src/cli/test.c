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

int cmd_test(struct cli *cli, int argc, char **argv)
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
	enum structtest_format format = STRUCTTEST_TEXT;
	const char *output = NULL;
	struct cli_gate_args gate = {0};
	long timeout_s = STRUCTTEST_DEFAULT_TIMEOUT_S;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		if (cli_gate_option(c, optarg, &gate) == 0)
			continue;
		switch (c) {
		case OPT_FORMAT:
			if (!strcmp(optarg, "text"))
				format = STRUCTTEST_TEXT;
			else if (!strcmp(optarg, "json"))
				format = STRUCTTEST_JSON;
			else if (!strcmp(optarg, "junit"))
				format = STRUCTTEST_JUNIT;
			else
				return cli_usage(
				    "test", "unknown format \"%s\" (text, json or junit)", optarg);
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_TIMEOUT: {
			int r = cli_parse_count("test", "--timeout", optarg, &timeout_s);
			if (r)
				return r;
			if (timeout_s > 86400 * 7)
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
	struct petra_error *err = NULL;
	/* Every file is checked before anything runs. */
	size_t n_docs = (size_t)(argc - optind - 1);
	json_t **docs = xcalloc(n_docs, sizeof(*docs));
	for (size_t i = 0; i < n_docs; i++)
		if (structtest_load(argv[optind + 1 + i], &docs[i], &err) < 0) {
			for (size_t k = 0; k < i; k++)
				json_decref(docs[k]);
			free(docs);
			return cli_fail(err);
		}
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct structtest_context ctx = {.store = store,
					 .image = argv[optind],
					 .run_dir = run_dir,
					 .timeout_ms = (unsigned)timeout_s * 1000u};
	struct structtest_report report = {0};
	int r = store ? 0 : -EIO;
	if (store && cli_gate(store, argv[optind], TRUST_PURPOSE_TEST, &gate, false) != 0) {
		for (size_t i = 0; i < n_docs; i++)
			json_decref(docs[i]);
		free(docs);
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < n_docs && r == 0; i++)
		r = structtest_run(&ctx, docs[i], &report, &err);
	for (size_t i = 0; i < n_docs; i++)
		json_decref(docs[i]);
	free(docs);
	if (!store) {
		structtest_report_release(&report);
		return EXIT_FAIL;
	}
	if (r < 0) {
		structtest_report_release(&report);
		petra_error_prefix(&err, "test %s", argv[optind]);
		return cli_fail(err);
	}
	FILE *out = cli_open_output(output);
	int status = EXIT_FAIL;
	if (out) {
		structtest_print(&report, format, out);
		cli_close_output(out);
		status = report.failures ? EXIT_FAIL : EXIT_OK;
	}
	structtest_report_release(&report);
	return status;
}
