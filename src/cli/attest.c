/* SPDX-License-Identifier: Apache-2.0 */
/* petra attest: an in-toto attestation of a store image, as cosign stores it. */
#include "cli.h"
#include "trust/trust.h"

#include <fcntl.h>
#include <string.h>

static const char usage[] =
    "Usage: petra attest --key FILE --predicate FILE --type URI [OPTIONS] IMAGE\n"
    "\n"
    "Attest IMAGE (a name in the store) as cosign does: an in-toto statement\n"
    "(subject: the image's repository and manifest digest; predicate: the JSON\n"
    "of FILE, of type URI) in a DSSE envelope signed with the key, added as a\n"
    "layer of the manifest named <repository>:sha256-<hex>.att. The key's\n"
    "password comes from $PETRA_PASSWORD, else the terminal.\n"
    "\n"
    "Options:\n"
    "  -k, --key FILE         the private key (petra keygen or cosign's)\n"
    "      --predicate FILE   the predicate, JSON ('-': standard input)\n"
    "      --type URI         its type, e.g. https://slsa.dev/provenance/v1\n"
    "  -h, --help             this help\n";

int cmd_attest(struct cli *cli, int argc, char **argv)
{
	enum { OPT_PREDICATE = 256, OPT_TYPE };
	static const struct option options[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"predicate", required_argument, NULL, OPT_PREDICATE},
	    {"type", required_argument, NULL, OPT_TYPE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_path = NULL, *predicate_path = NULL, *type = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "k:h", options, NULL)) != -1) {
		if (c == 'k')
			key_path = optarg;
		else if (c == OPT_PREDICATE)
			predicate_path = optarg;
		else if (c == OPT_TYPE)
			type = optarg;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("attest", argv);
	}
	if (!key_path || !predicate_path || !type)
		return cli_usage("attest", "needs --key, --predicate and --type");
	if (argc - optind != 1)
		return cli_usage("attest", "expects one IMAGE");
	struct petra_error *err = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len;
	if ((!strcmp(predicate_path, "-")
		 ? cli_read_stdin(16 << 20, &text, &len, &err)
		 : fs_read_file_at(AT_FDCWD, predicate_path, 16 << 20, &text, &len, &err)) < 0)
		return cli_fail(err);
	_cleanup_json_ json_t *predicate = json_parse_buffer(text, len, predicate_path, &err);
	if (!predicate)
		return cli_fail(err);
	_cleanup_free_ char *pem = NULL;
	size_t pem_len;
	if (fs_read_file_at(AT_FDCWD, key_path, 1 << 20, &pem, &pem_len, &err) < 0)
		return cli_fail(err);
	_cleanup_free_ char *password = cli_read_password(false, &err);
	if (!password)
		return cli_fail(err);
	_cleanup_trust_key_ struct trust_key *key = NULL;
	if (trust_private_key_parse(pem, pem_len, password, key_path, &key, &err) < 0)
		return cli_fail(err);
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct trust_signed att;
	if (trust_store_attest(store, key, argv[optind], type, predicate, &att, &err) < 0)
		return cli_fail(err);
	if (!cli->quiet)
		printf("Attested %s (%s): %s (%zu attestation%s)\n", att.manifest_digest, type,
		       att.signature_ref, att.n_signatures, att.n_signatures == 1 ? "" : "s");
	trust_signed_release(&att);
	return EXIT_OK;
}
