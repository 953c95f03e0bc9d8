/* SPDX-License-Identifier: Apache-2.0 */
/* petra sign: a cosign signature of a store image. */
#include "cli.h"
#include "trust/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

static const char usage[] =
    "Usage: petra sign --key FILE [OPTIONS] IMAGE\n"
    "\n"
    "Sign IMAGE (a name in the store) as cosign does: the simple-signing payload\n"
    "(the image's reference and manifest digest) signed with ECDSA P-256 and\n"
    "stored as a layer of the manifest named <repository>:sha256-<hex>.sig,\n"
    "next to the signatures already there. The key's password comes from\n"
    "$PETRA_PASSWORD, else the terminal.\n"
    "\n"
    "Options:\n"
    "  -k, --key FILE          the private key (petra keygen or cosign generate-key-pair)\n"
    "  -a, --annotation K=V    an optional annotation in the payload (repeatable)\n"
    "      --identity REF      the reference to sign (default: the image's name)\n"
    "  -h, --help              this help\n";

int cmd_sign(struct cli *cli, int argc, char **argv)
{
	enum { OPT_IDENTITY = 256 };
	static const struct option options[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"annotation", required_argument, NULL, 'a'},
	    {"identity", required_argument, NULL, OPT_IDENTITY},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_path = NULL, *identity = NULL;
	_cleanup_json_ json_t *annotations = json_object();
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "k:a:h", options, NULL)) != -1) {
		if (c == 'k') {
			key_path = optarg;
		} else if (c == 'a') {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				return cli_usage("sign", "annotation \"%s\" is not KEY=VALUE",
						 optarg);
			_cleanup_free_ char *k = xstrndup(optarg, (size_t)(eq - optarg));
			json_object_set_new(annotations, k, json_string(eq + 1));
		} else if (c == OPT_IDENTITY) {
			identity = optarg;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("sign", argv);
		}
	}
	if (!key_path)
		return cli_usage("sign", "needs --key FILE");
	if (argc - optind != 1)
		return cli_usage("sign", "expects one IMAGE");
	struct petra_error *err = NULL;
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
	struct trust_signed signed_;
	if (trust_store_sign(store, key, argv[optind], identity, annotations, &signed_, &err) < 0)
		return cli_fail(err);
	if (!cli->quiet)
		printf("Signed %s as %s: %s (%zu signature%s)\n", signed_.manifest_digest,
		       signed_.identity, signed_.signature_ref, signed_.n_signatures,
		       signed_.n_signatures == 1 ? "" : "s");
	trust_signed_release(&signed_);
	return EXIT_OK;
}
