/* SPDX-License-Identifier: Apache-2.0 */
/* petra unban: remove an entry of the policy file's ban list. */
#include "cli.h"
#include "policy/policy.h"
#include "trust/trust.h"

static const char usage[] =
    "Usage: petra unban [OPTIONS] IMAGE|DIGEST\n"
    "\n"
    "Remove the ban of IMAGE or DIGEST (as written, or the same reference once\n"
    "normalised) from the policy file's ban list. Only that entry's lines go:\n"
    "every other byte of the file stays.\n"
    "\n"
    "Options:\n"
    "      --policy FILE   the policy file (default: .petra/policy.yaml)\n"
    "  -h, --help          this help\n";

int cmd_unban(struct cli *cli, int argc, char **argv)
{
	enum { OPT_POLICY = 256 };
	static const struct option options[] = {
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *policy = PETRA_POLICY_DEFAULT;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == OPT_POLICY)
			policy = optarg;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("unban", argv);
	}
	if (argc - optind != 1)
		return cli_usage("unban", "expects one IMAGE or DIGEST");
	struct petra_error *err = NULL;
	if (trust_policy_unban(policy, argv[optind], &err) < 0)
		return cli_fail(err);
	if (!cli->quiet)
		printf("Unbanned %s in %s\n", argv[optind], policy);
	return EXIT_OK;
}
