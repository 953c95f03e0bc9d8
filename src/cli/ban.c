/* SPDX-License-Identifier: Apache-2.0 */
/* petra ban: add an image or digest to the policy file's ban list. */
#include "cli.h"
#include "policy/policy.h"
#include "trust/trust.h"

#include <errno.h>
#include <sys/stat.h>

static const char usage[] =
    "Usage: petra ban [OPTIONS] --reason TEXT IMAGE|DIGEST\n"
    "\n"
    "Add IMAGE (a reference or pattern, as bases.ban's `image:`) or DIGEST\n"
    "(sha256:..., as `digest:`) to the policy file's ban list. Builds from it\n"
    "stop, and the gate refuses it and every image built on it. The file is\n"
    "edited in place: comments, order and formatting stay byte for byte.\n"
    "\n"
    "Options:\n"
    "      --policy FILE   the policy file (default: .petra/policy.yaml, created\n"
    "                      when missing)\n"
    "  -r, --reason TEXT   why (required; shown with every refusal)\n"
    "  -h, --help          this help\n";

int cmd_ban(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	enum { OPT_POLICY = 256 };
	static const struct option options[] = {
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"reason", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *policy = NULL, *reason = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "r:h", options, NULL)) != -1) {
		if (c == OPT_POLICY)
			policy = optarg;
		else if (c == 'r')
			reason = optarg;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("ban", argv);
	}
	if (!reason || !*reason)
		return cli_usage("ban", "needs --reason TEXT");
	if (argc - optind != 1)
		return cli_usage("ban", "expects one IMAGE or DIGEST");
	struct petra_error *err = NULL;
	if (!policy) {
		policy = PETRA_POLICY_DEFAULT;
		if (mkdir(".petra", 0755) < 0 && errno != EEXIST) {
			petra_error_set_errno(&err, errno, "creating .petra");
			return cli_fail(err);
		}
	}
	if (trust_policy_ban(policy, argv[optind], reason, true, &err) < 0)
		return cli_fail(err);
	if (!cli->quiet)
		printf("Banned %s in %s\n", argv[optind], policy);
	return EXIT_OK;
}
