/* SPDX-License-Identifier: Apache-2.0 */
/* petra verify-attestation: a store image's in-toto attestations, offline. */
#include "cli.h"
#include "trust/trust.h"

#include <errno.h>
#include <string.h>

static const char usage[] =
    "Usage: petra verify-attestation --key FILE.pub [OPTIONS] IMAGE\n"
    "\n"
    "Check IMAGE's attestations (the manifest <repository>:sha256-<hex>.att, as\n"
    "petra attest and cosign write it): a DSSE envelope signed by one of the keys\n"
    "holding an in-toto statement whose subject is the image's manifest digest\n"
    "(and whose predicate type is URI with --type). The verified statements are\n"
    "printed as JSON.\n"
    "\n"
    "Options:\n"
    "  -k, --key FILE   a public key (repeatable)\n"
    "      --type URI   only attestations of this predicate type count\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 an attestation verified, 1 none did (the reason is printed) or\n"
    "an error, 2 bad usage.\n";

int cmd_verify_attestation(struct cli *cli, int argc, char **argv)
{
	enum { OPT_TYPE = 256 };
	static const struct option options[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"type", required_argument, NULL, OPT_TYPE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *verb = "verify-attestation", *type = NULL;
	struct strvec key_paths = STRVEC_INIT;
	int status = EXIT_OK;
	cli_getopt_reset();
	int c;
	while (status == EXIT_OK && (c = getopt_long(argc, argv, "k:h", options, NULL)) != -1) {
		if (c == 'k')
			strvec_push(&key_paths, optarg);
		else if (c == OPT_TYPE)
			type = optarg;
		else if (c == 'h') {
			strvec_clear(&key_paths);
			return cli_help(usage);
		} else
			status = cli_bad_option(verb, argv);
	}
	if (status == EXIT_OK && !key_paths.n)
		status = cli_usage(verb, "needs --key FILE.pub");
	if (status == EXIT_OK && argc - optind != 1)
		status = cli_usage(verb, "expects one IMAGE");
	if (status != EXIT_OK) {
		strvec_clear(&key_paths);
		return status;
	}
	struct petra_error *err = NULL;
	struct trust_key **keys = xcalloc(key_paths.n, sizeof(*keys));
	for (size_t i = 0; i < key_paths.n && status == EXIT_OK; i++)
		if (trust_public_key_load(key_paths.v[i], &keys[i], &err) < 0)
			status = cli_fail(err);
	_cleanup_store_ struct petra_store *store = status ? NULL : cli_open_store(cli, 0);
	if (status == EXIT_OK && !store)
		status = EXIT_FAIL;
	struct oci_descriptor desc = {0};
	_cleanup_free_ char *name = NULL;
	struct oci_ref ref = {0};
	if (status == EXIT_OK &&
	    (petra_store_resolve(store, argv[optind], &desc, &name, &err) < 0 ||
	     (!name && petra_error_set(&err, EINVAL, "image %s has no name", argv[optind])) ||
	     oci_ref_parse(name, &ref, &err) < 0))
		status = cli_fail(err);
	struct trust_signatures atts = {0};
	if (status == EXIT_OK &&
	    trust_store_attestations(store, ref.name, desc.digest, &atts, &err) < 0)
		status = cli_fail(err);
	struct trust_verdict verdict = {0};
	if (status == EXIT_OK) {
		struct trust_check check = {.manifest_digest = desc.digest,
					    .intended = name,
					    .keys = keys,
					    .n_keys = key_paths.n};
		if (trust_verify_attestations(&check, &atts, type, &verdict, &err) < 0)
			status = cli_fail(err);
	}
	if (status == EXIT_OK) {
		if (verdict.failure == TRUST_ACCEPTED) {
			cli_print_json(verdict.accepted);
		} else {
			fprintf(stderr, "petra: %s: %s\n", argv[optind],
				verdict.failure == TRUST_NO_SIGNATURE
				    ? "no attestation"
				    : trust_failure_name(verdict.failure));
			for (size_t i = 0; i < verdict.reasons.n; i++)
				fprintf(stderr, "  %s\n", verdict.reasons.v[i]);
			status = EXIT_FAIL;
		}
	}
	trust_verdict_release(&verdict);
	trust_signatures_release(&atts);
	if (ref.name)
		oci_ref_release(&ref);
	oci_descriptor_release(&desc);
	for (size_t i = 0; i < key_paths.n; i++)
		trust_key_free(keys[i]);
	free(keys);
	strvec_clear(&key_paths);
	return status;
}
