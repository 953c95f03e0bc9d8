/* SPDX-License-Identifier: Apache-2.0 */
/* petra audit: what makes an image unsafe or mutable, layer by layer. */
#include "cli.h"

#include <string.h>

#include "audit/audit.h"
#include "policy/policy.h"

static const char usage[] =
    "Usage: petra audit [OPTIONS] IMAGE\n"
    "\n"
    "Read IMAGE's layers once (verified, nothing unpacked) and report what\n"
    "makes it unsafe or mutable, each finding with its ID, severity, layer,\n"
    "history step and path: files later layers removed but that are still in\n"
    "the image (leaks), secrets in files, Env, Labels and history, what the\n"
    "runtime user could change, setuid files, a root USER, device nodes,\n"
    "wasted space as dive measures it, and the installed packages (dpkg,\n"
    "apk; listed in the JSON report).\n"
    "\n"
    "Options:\n"
    "      --format FORMAT    text (default), json or sarif\n"
    "      --fail-on LEVEL    exit 1 when a finding is at least LEVEL: error\n"
    "                         (default), warning, info, or none\n"
    "      --base-layers N    count the first N layers as the base (default: the\n"
    "                         image's org.petra.base.layers label or base digest\n"
    "                         annotation, else 1, as dive does)\n"
    "      --policy FILE      the policy file's audit section: thresholds, the\n"
    "                         allow-list, fail-on (default: .petra/policy.yaml\n"
    "                         when it exists); options given here win\n"
    "      --allow ID[:PATH[:FINGERPRINT]]\n"
    "                         silence a known false positive (ID and PATH are\n"
    "                         globs; repeatable)\n"
    "  -o, --output FILE      write the report to FILE instead of standard output\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: 0 nothing at or above --fail-on, 1 findings at or above it (or\n"
    "the image could not be read), 2 bad usage.\n"
    "\n"
    "The checks and their IDs: petra audit --list-checks.\n";

static void list_checks(void)
{
	size_t n;
	const struct audit_check *c = audit_checks(&n);
	for (size_t i = 0; i < n; i++)
		printf("%-26s %-8s %-13s %s\n", c[i].id, audit_severity_name(c[i].severity),
		       audit_category_name(c[i].category), c[i].summary);
}

/* "ID[:PATH[:FINGERPRINT]]": pieces point into arg (modified). */
static void parse_allow(char *arg, struct audit_allow *a)
{
	memset(a, 0, sizeof(*a));
	char *path = strchr(arg, ':');
	if (path)
		*path++ = '\0';
	char *fp = path ? strrchr(path, ':') : NULL;
	if (fp)
		*fp++ = '\0';
	a->id = *arg ? arg : NULL;
	a->path = path && *path ? path : NULL;
	a->fingerprint = fp && *fp ? fp : NULL;
}

struct audit_args {
	enum audit_format format;
	enum audit_severity fail_on;
	bool fail_on_set;
	long base_layers; /* -1: not given */
	const char *policy_path, *output, *image;
	struct strvec allow; /* --allow, as given */
};

static void audit_args_release(struct audit_args *a)
{
	strvec_clear(&a->allow);
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct audit_args *a)
{
	enum { OPT_FORMAT = 256, OPT_FAIL_ON, OPT_BASE_LAYERS, OPT_ALLOW, OPT_LIST, OPT_POLICY };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
	    {"base-layers", required_argument, NULL, OPT_BASE_LAYERS},
	    {"allow", required_argument, NULL, OPT_ALLOW},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"list-checks", no_argument, NULL, OPT_LIST},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct petra_error *err = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (audit_format_parse(optarg, &a->format, &err) < 0)
				return cli_usage_error("audit", "", err);
			break;
		case OPT_FAIL_ON:
			if (audit_severity_parse(optarg, &a->fail_on, &err) < 0)
				return cli_usage_error("audit", "--fail-on: ", err);
			a->fail_on_set = true;
			break;
		case OPT_BASE_LAYERS:
			if (cli_parse_count("audit", "--base-layers", optarg, &a->base_layers))
				return EXIT_USAGE;
			break;
		case OPT_ALLOW:
			strvec_push(&a->allow, optarg);
			break;
		case OPT_POLICY:
			a->policy_path = optarg;
			break;
		case OPT_LIST:
			list_checks();
			return EXIT_OK;
		case 'o':
			a->output = optarg;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("audit", argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("audit", "expects one IMAGE");
	a->image = argv[optind];
	return cli_check_image_ref("audit", a->image) != 0 ? EXIT_USAGE : -1;
}

/* The policy's audit section, then the options over it. *allow holds
 * both allow-lists (caller frees; its strings belong to the policy and
 * the arguments). */
static int merge_policy(struct audit_args *a, const struct petra_policy *policy,
			struct audit_options *o, struct audit_allow **allow,
			enum audit_severity *fail_on, struct petra_error **err)
{
	audit_options_init(o);
	*fail_on = AUDIT_ERROR;
	_cleanup_free_ struct audit_allow *policy_allow = NULL;
	size_t n_policy_allow = 0;
	if (audit_options_from_policy(policy, o, &policy_allow, &n_policy_allow, fail_on, err) < 0)
		return -EINVAL;
	if (a->fail_on_set)
		*fail_on = a->fail_on;
	if (a->base_layers >= 0)
		o->base_layers = a->base_layers;
	size_t n_allow = n_policy_allow + a->allow.n;
	*allow = xcalloc(n_allow ? n_allow : 1, sizeof(**allow));
	for (size_t i = 0; i < n_policy_allow; i++)
		(*allow)[i] = policy_allow[i];
	for (size_t i = 0; i < a->allow.n; i++)
		parse_allow(a->allow.v[i], &(*allow)[n_policy_allow + i]);
	o->allow = *allow;
	o->n_allow = n_allow;
	return 0;
}

/* The report goes to -o FILE or stdout; the status says whether a finding
 * reached fail_on. */
static int print_report(const struct audit_report *report, const struct audit_args *a,
			enum audit_severity fail_on)
{
	FILE *out = cli_open_output(a->output);
	if (!out)
		return EXIT_FAIL;
	audit_print(report, a->format, out);
	cli_close_output(out);
	return audit_fails(report, fail_on) ? EXIT_FAIL : EXIT_OK;
}

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	_cleanup_(audit_args_release) struct audit_args a = {
	    .format = AUDIT_FORMAT_TEXT, .fail_on = AUDIT_ERROR, .base_layers = -1};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	struct petra_error *err = NULL;
	_cleanup_policy_ struct petra_policy *policy = NULL;
	if (petra_policy_load_default(a.policy_path, &policy, &err) < 0)
		return cli_fail(err);
	struct audit_options o;
	_cleanup_free_ struct audit_allow *allow = NULL;
	enum audit_severity fail_on;
	if (merge_policy(&a, policy, &o, &allow, &fail_on, &err) < 0)
		return cli_fail(err);
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct progress progress;
	progress_begin(&progress, "auditing", 0);
	o.progress = &progress;
	struct audit_report report;
	int r = audit_image(store, a.image, &o, &report, &err);
	progress_end(&progress);
	if (r < 0)
		return cli_fail(err);
	status = print_report(&report, &a, fail_on);
	audit_report_release(&report);
	return status;
}
