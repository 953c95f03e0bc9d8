/* SPDX-License-Identifier: Apache-2.0 */
/* petra policy check: the gate's decision for images, for CI. */
#include "cli.h"
#include "policy/policy.h"
#include "trust/trust.h"

#include <string.h>

static const char usage[] =
    "Usage: petra policy check [OPTIONS] IMAGE...\n"
    "\n"
    "Print the gate's decision for each IMAGE of the store, with every reason\n"
    "for a refusal: the image banned (by name or digest), its base banned or not\n"
    "in the catalog (from the base the builder recorded), or the trust section's\n"
    "requirement for its scope not met (reject, or no signature by the keys).\n"
    "This is the decision run, exec, test, bundle and flow get.\n"
    "\n"
    "Options:\n"
    "      --policy FILE     the policy file (default: .petra/policy.yaml when present)\n"
    "      --signature-policy FILE  a containers policy.json the images must also\n"
    "                        satisfy (instead of the policy's signature-policy)\n"
    "      --format FORMAT   text (default) or json\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 every image allowed, 1 one refused or an error.\n";

int cmd_policy(struct cli *cli, int argc, char **argv)
{
	enum { OPT_POLICY = 256, OPT_FORMAT, OPT_SIGNATURE_POLICY };
	static const struct option options[] = {
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"signature-policy", required_argument, NULL, OPT_SIGNATURE_POLICY},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return argc < 2 ? cli_usage("policy", "expects a subcommand: check")
				: cli_help(usage);
	if (strcmp(argv[1], "check"))
		return cli_usage("policy", "unknown subcommand \"%s\" (known: check)", argv[1]);
	argc--;
	argv++;
	const char *policy_path = NULL, *signature_policy = NULL;
	enum cli_format format = CLI_FORMAT_TEXT;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == OPT_POLICY)
			policy_path = optarg;
		else if (c == OPT_SIGNATURE_POLICY)
			signature_policy = optarg;
		else if (c == OPT_FORMAT) {
			if (cli_parse_format("policy check", optarg, &format))
				return EXIT_USAGE;
		} else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("policy check", argv);
	}
	if (optind >= argc)
		return cli_usage("policy check", "expects at least one IMAGE");
	struct petra_error *err = NULL;
	_cleanup_(petra_policy_freep) struct petra_policy *policy = NULL;
	if (petra_policy_load_default(policy_path, &policy, &err) < 0)
		return cli_fail(err);
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	int status = EXIT_OK;
	_cleanup_json_ json_t *out = json_array();
	for (int i = optind; i < argc; i++) {
		struct trust_gate_result r;
		if (trust_gate_check_with(store, argv[i], TRUST_PURPOSE_CHECK, policy,
					  signature_policy, &r, &err) < 0) {
			status = cli_fail(err);
			err = NULL;
			continue;
		}
		if (!r.allowed)
			status = EXIT_FAIL;
		if (format == CLI_FORMAT_JSON) {
			json_t *reasons = json_array();
			for (size_t k = 0; k < r.reasons.n; k++)
				json_array_append_new(reasons, json_string(r.reasons.v[k]));
			json_array_append_new(
			    out, json_pack("{s:s,s:s,s:b,s:o,s:b}", "image", argv[i],
					   "manifest-digest", r.manifest_digest, "allowed",
					   r.allowed, "reasons", reasons, "cached", r.cached));
		} else {
			printf("%s: %s\n", argv[i], r.allowed ? "allowed" : "refused");
			for (size_t k = 0; k < r.reasons.n; k++)
				printf("  %s\n", r.reasons.v[k]);
		}
		trust_gate_result_release(&r);
	}
	if (format == CLI_FORMAT_JSON)
		cli_print_json(out);
	return status;
}
