/* SPDX-License-Identifier: Apache-2.0 */
/* petra pull: an image from a registry into the store, with its signatures. */
#include "cli.h"

static const char usage[] =
    "Usage: petra pull [OPTIONS] REF\n"
    "\n"
    "Pull REF ([REGISTRY/]REPO[:TAG|@DIGEST]; \"debian:12\" is\n"
    "docker.io/library/debian:12) into the store under the name REF, and print\n"
    "the name and the manifest digest. Every blob is verified (size and digest)\n"
    "as it arrives; blobs the store holds are not fetched. The image's\n"
    "referrers (build records, SBOMs) come along, and so do its cosign\n"
    "signatures and attestations (the repository's sha256-<hex>.sig and .att)\n"
    "into the store, and its GPG signatures from the registries.d\n"
    "lookaside, so the gate and verify-signature need no network afterwards\n"
    "(signatures that cannot be read are a warning, not a failed pull).\n"
    "\n"
    "Options:\n"
    "      --platform OS/ARCH[/VARIANT]  the image of an index to pull\n"
    "                           (default: linux/<this machine>)\n"
    "      --registries.d DIR   lookaside configuration (default:\n"
    "                           /etc/containers/registries.d)\n" CLI_REGISTRY_OPTIONS_HELP
    "  -j, --jobs N             blobs fetched at once (default 4)\n"
    "  -q, --quiet              no progress; print only the digest\n"
    "  -h, --help               this help\n";

static int pull(struct petra_store *store, const char *ref, const struct registry_options *o,
		const struct trust_registries_d *rd);

int cmd_pull(struct cli *cli, int argc, char **argv)
{
	enum { OPT_REGISTRIES_D = 256 };
	static const struct option options[] = {
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"registries.d", required_argument, NULL, OPT_REGISTRIES_D},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct registry_options o = {.tls_verify = -1, .quiet = cli->quiet};
	const char *registries_d = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
		int r = cli_registry_option("pull", c, optarg, &o);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
		if (c == OPT_REGISTRIES_D)
			registries_d = optarg;
		else if (c == 'q')
			o.quiet = true;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("pull", argv);
	}
	if (argc - optind != 1)
		return cli_usage("pull", "expects one REF");
	const char *ref = argv[optind];
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	struct trust_registries_d *rd = NULL;
	if (trust_registries_d_load(registries_d, &rd, &err) < 0)
		return cli_fail(err);
	int status = pull(store, ref, &o, rd);
	trust_registries_d_free(rd);
	return status;
}

static int pull(struct petra_store *store, const char *ref, const struct registry_options *o,
		const struct trust_registries_d *rd)
{
	struct petra_error *err = NULL;
	char digest[OCI_DIGEST_SIZE];
	if (registry_pull(store, ref, o, digest, &err) < 0)
		return cli_fail(err);
	cli_pull_referrers(store, ref, digest, o);
	/* Signatures that cannot be read do not fail the pull (the image is
	 * there and verified); the warning says what the gate will miss. */
	size_t carried = 0;
	if (trust_pull_signatures(store, ref, ref, o, &carried, &err) < 0) {
		log_warn("pull %s: signatures not pulled: %s", ref, err->message);
		petra_error_free(err);
		err = NULL;
	} else if (carried && !o->quiet) {
		log_info("pulled %zu signature and attestation layer%s", carried,
			 carried == 1 ? "" : "s");
	}
	if (trust_lookaside_pull(store, rd, ref, ref, o, &carried, &err) < 0) {
		log_warn("pull %s: GPG signatures not pulled: %s", ref, err->message);
		petra_error_free(err);
		err = NULL;
	} else if (carried && !o->quiet) {
		log_info("pulled %zu GPG signature%s from the lookaside", carried,
			 carried == 1 ? "" : "s");
	}
	if (o->quiet)
		printf("%s\n", digest);
	else
		printf("%s %s\n", ref, digest);
	return EXIT_OK;
}
