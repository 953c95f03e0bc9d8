/* SPDX-License-Identifier: Apache-2.0 */
/* petra lint: check Dockerfiles against the rules and the policy. */
#include "cli.h"
#include "lint/lint.h"

#include <fcntl.h>
#include <string.h>

static const char usage[] =
    "Usage: petra lint [OPTIONS] DOCKERFILE...\n"
    "\n"
    "Check Dockerfiles (\"-\" reads standard input) for hygiene (PL1xx), the\n"
    "immutability of the runtime image (PL2xx), secrets (PL3xx), supply chain\n"
    "and base images against the policy (PL4xx), and with ShellCheck (SCxxxx)\n"
    "when it is installed. Rules about the runtime image look at the last\n"
    "stage, or the --target stage. docs/rules/<ID>.md explains each rule.\n"
    "\n"
    "Options:\n"
    "      --policy FILE       the policy (default: .petra/policy.yaml if present)\n"
    "      --config FILE       the lint config (default: .petra.yaml if present)\n"
    "      --target STAGE      the runtime stage, by name or index (default: last)\n"
    "      --format FORMAT     text (default), json, sarif or checkstyle\n"
    "      --failure-threshold LEVEL\n"
    "                          fail on findings of this severity or worse: error,\n"
    "                          warning (default), info, style, or none\n"
    "      --no-shellcheck     do not run ShellCheck\n"
    "      --list-rules        list the rules: ID, severity, summary\n"
    "  -h, --help              this help\n"
    "\n"
    "Pragmas: \"# petra ignore=ID[,ID]\" on the lines above an instruction,\n"
    "\"# petra global ignore=ID[,ID]\" anywhere in the file.\n"
    "\n"
    "Exit status: 0 when no finding reaches the threshold, 1 when one does or a\n"
    "file cannot be read, 2 bad usage.\n";

static int list_rules(void)
{
	size_t n;
	const struct lint_rule *rules = lint_rules(&n);
	for (size_t i = 0; i < n; i++)
		printf("%s  %-7s  %s\n", rules[i].id, lint_severity_name(rules[i].severity),
		       rules[i].summary);
	return EXIT_OK;
}

struct lint_args {
	const char *policy, *config, *target, *threshold;
	enum lint_format format;
	bool no_shellcheck;
};

static int lint_one(struct lint_linter *linter, const char *path, struct lint_reporter *rp,
		    enum lint_severity threshold, struct strset *notes, bool *failed)
{
	struct lint_result res;
	struct petra_error *err = NULL;
	int r;
	if (!strcmp(path, "-")) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		r = cli_read_stdin(DOCKERFILE_MAX_SIZE, &data, &len, &err);
		if (r == 0)
			r = lint_buffer(linter, data, len, "-", &res, &err);
	} else {
		r = lint_file(linter, AT_FDCWD, path, &res, &err);
	}
	if (r < 0) {
		cli_fail(err);
		*failed = true;
		return r;
	}
	lint_reporter_add(rp, &res);
	for (size_t i = 0; i < res.notes.n; i++)
		if (strset_add(notes, res.notes.v[i]))
			fprintf(stderr, "petra lint: note: %s\n", res.notes.v[i]);
	if (lint_result_worst(&res) >= threshold)
		*failed = true;
	lint_result_release(&res);
	return 0;
}

int cmd_lint(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"config", required_argument, NULL, 'c'},
	    {"target", required_argument, NULL, 't'},
	    {"format", required_argument, NULL, 'f'},
	    {"failure-threshold", required_argument, NULL, 'T'},
	    {"no-shellcheck", no_argument, NULL, 'n'},
	    {"list-rules", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct lint_args a = {.format = LINT_FORMAT_TEXT};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			a.policy = optarg;
			break;
		case 'c':
			a.config = optarg;
			break;
		case 't':
			a.target = optarg;
			break;
		case 'f':
			if (lint_format_parse(optarg, &a.format) < 0)
				return cli_usage("lint",
						 "unknown format \"%s\" (text, json, sarif or "
						 "checkstyle)",
						 optarg);
			break;
		case 'T':
			a.threshold = optarg;
			break;
		case 'n':
			a.no_shellcheck = true;
			break;
		case 'l':
			return list_rules();
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("lint", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("lint", "expects at least one DOCKERFILE");
	enum lint_severity threshold = LINT_WARNING;
	if (a.threshold && lint_severity_parse(a.threshold, true, &threshold) < 0)
		return cli_usage("lint",
				 "unknown failure threshold \"%s\" (error, warning, info, style or "
				 "none)",
				 a.threshold);

	struct petra_error *err = NULL;
	_cleanup_policy_ struct petra_policy *policy = NULL;
	if (petra_policy_load_default(a.policy, &policy, &err) < 0)
		return cli_fail(err);
	struct lint_config config;
	bool have_config;
	if (lint_config_load_default(a.config, &config, &have_config, &err) < 0)
		return cli_fail(err);
	if (!a.threshold && have_config && config.threshold != LINT_OFF)
		threshold = config.threshold;
	struct lint_options opts = {
	    .policy = policy,
	    .config = have_config ? &config : NULL,
	    .target = a.target,
	    .shellcheck = !a.no_shellcheck,
	};
	_cleanup_linter_ struct lint_linter *linter = NULL;
	if (lint_new(&opts, &linter, &err) < 0) {
		lint_config_release(&config);
		return cli_fail(err);
	}
	struct lint_reporter *rp = lint_reporter_new(a.format, stdout);
	struct strset notes = STRSET_INIT;
	bool failed = false;
	for (int i = optind; i < argc; i++)
		lint_one(linter, argv[i], rp, threshold, &notes, &failed);
	strset_clear(&notes);
	lint_config_release(&config);
	if (lint_reporter_finish(rp) < 0) {
		fprintf(stderr, "petra: write to standard output: %s\n", strerror(EIO));
		return EXIT_FAIL;
	}
	return failed ? EXIT_FAIL : EXIT_OK;
}
