/* SPDX-License-Identifier: Apache-2.0 */
/* petra sign: a cosign signature of a store image. */
#include "cli.h"
#include "trust/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

static const char usage[] =
    "Usage: petra sign --key FILE [OPTIONS] IMAGE|docker://REF|dir:PATH\n"
    "       petra sign --sign-by-gpg FINGERPRINT [OPTIONS] IMAGE|docker://REF|dir:PATH\n"
    "\n"
    "Sign IMAGE (a name in the store) as cosign does: the simple-signing payload\n"
    "(the image's reference and manifest digest) signed with ECDSA P-256 and\n"
    "stored as a layer of the manifest named <repository>:sha256-<hex>.sig,\n"
    "next to the signatures already there. The key's password comes from\n"
    "$PETRA_PASSWORD, else the terminal.\n"
    "\n"
    "docker://REF is an image in a registry: the digest its tag names now is\n"
    "signed (identity: REF) and the signature added to the registry's\n"
    "sha256-<hex>.sig manifest of that repository (payload blob, then manifest),\n"
    "as `cosign sign --key` does.\n"
    "\n"
    "dir:PATH is containers/image's layout (manifest.json, signature-N): the\n"
    "signature is added as the next signature-N file, a cosign one with --key or\n"
    "a GPG simple-signing one (as skopeo --sign-by writes) with --sign-by-gpg,\n"
    "made by gpg's secret key FINGERPRINT ($GNUPGHOME). --identity is needed.\n"
    "\n"
    "--sign-by-gpg on a store IMAGE keeps the GPG signature in the store (the\n"
    "manifest <repository>:sha256-<hex>.gpgsig); push and copy write it to the\n"
    "registry's lookaside. On docker://REF it goes straight to REF's\n"
    "registries.d lookaside-staging (file://), as skopeo --sign-by does.\n"
    "\n"
    "Options:\n"
    "  -k, --key FILE          the private key (petra keygen or cosign generate-key-pair)\n"
    "  -a, --annotation K=V    an optional annotation in the payload (repeatable)\n"
    "      --sign-by-gpg FPR   sign with this GPG key instead\n"
    "      --registries.d DIR  lookaside configuration for docker:// (default:\n"
    "                          /etc/containers/registries.d)\n"
    "      --identity REF      the reference to sign (default: the image's name)\n"
    "registry options (docker://):\n" CLI_REGISTRY_OPTIONS_HELP
    "  -h, --help              this help\n";

/* --sign-by-gpg of a store or registry image. */
static int sign_gpg(struct cli *cli, const char *fingerprint, const char *image,
		    const char *identity, const char *registries_d,
		    const struct registry_options *ro, const json_t *annotations)
{
	struct petra_error *err = NULL;
	if (!strncmp(image, "docker://", 9)) {
		if (annotations)
			return cli_usage("sign", "-a is not written into lookaside signatures");
		char digest[OCI_DIGEST_SIZE];
		struct trust_signatures sigs = {0};
		int rc = trust_registry_signatures(image + 9, ro, digest, &sigs, &err);
		trust_signatures_release(&sigs);
		_cleanup_registries_d_ struct trust_registries_d *rd = NULL;
		size_t written = 0;
		if (rc == 0)
			rc = trust_registries_d_load(registries_d, &rd, &err);
		if (rc == 0)
			rc = trust_lookaside_sign(rd, fingerprint, image + 9, digest, identity,
						  &written, &err);
		if (rc < 0)
			return cli_fail((petra_error_prefix(&err, "sign %s", image), err));
		if (!cli->quiet)
			printf("Signed %s with GPG key %s in the lookaside of %s\n", digest,
			       fingerprint, image + 9);
		return EXIT_OK;
	}
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct trust_signed signed_;
	if (trust_store_sign_gpg(store, fingerprint, image, identity, annotations, &signed_, &err) <
	    0)
		return cli_fail(err);
	if (!cli->quiet)
		printf("Signed %s as %s with GPG key %s: %s (%zu signature%s)\n",
		       signed_.manifest_digest, signed_.identity, fingerprint,
		       signed_.signature_ref, signed_.n_signatures,
		       signed_.n_signatures == 1 ? "" : "s");
	trust_signed_release(&signed_);
	return EXIT_OK;
}

int cmd_sign(struct cli *cli, int argc, char **argv)
{
	enum { OPT_IDENTITY = 256, OPT_SIGN_BY_GPG, OPT_REGISTRIES_D };
	static const struct option options[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"annotation", required_argument, NULL, 'a'},
	    {"identity", required_argument, NULL, OPT_IDENTITY},
	    {"sign-by-gpg", required_argument, NULL, OPT_SIGN_BY_GPG},
	    {"registries.d", required_argument, NULL, OPT_REGISTRIES_D},
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_path = NULL, *identity = NULL, *gpg_fingerprint = NULL,
		   *registries_d = NULL;
	_cleanup_json_ json_t *annotations = json_object();
	struct registry_options ro = {.tls_verify = -1, .quiet = cli->quiet};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "k:a:h", options, NULL)) != -1) {
		int r = cli_registry_option("sign", c, optarg, &ro);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
		if (c == 'k') {
			key_path = optarg;
		} else if (c == 'a') {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				return cli_usage("sign", "annotation \"%s\" is not KEY=VALUE",
						 optarg);
			_cleanup_free_ char *k = xstrndup(optarg, (size_t)(eq - optarg));
			json_object_set_new(annotations, k, json_string(eq + 1));
		} else if (c == OPT_REGISTRIES_D) {
			registries_d = optarg;
		} else if (c == OPT_SIGN_BY_GPG) {
			gpg_fingerprint = optarg;
		} else if (c == OPT_IDENTITY) {
			identity = optarg;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("sign", argv);
		}
	}
	if (!key_path == !gpg_fingerprint)
		return cli_usage("sign", "needs --key FILE or --sign-by-gpg FINGERPRINT");
	if (argc - optind != 1)
		return cli_usage("sign", "expects one IMAGE");
	const char *image = argv[optind];
	bool dir = !strncmp(image, "dir:", 4);
	if (dir && !identity)
		return cli_usage("sign", "dir: images need --identity REF");
	struct petra_error *err = NULL;
	if (gpg_fingerprint && !dir)
		return sign_gpg(cli, gpg_fingerprint, image, identity, registries_d, &ro,
				json_object_size(annotations) ? annotations : NULL);
	if (gpg_fingerprint) {
		_cleanup_free_ char *written = NULL;
		if (trust_dir_sign(image + 4, NULL, gpg_fingerprint, identity,
				   json_object_size(annotations) ? annotations : NULL, &written,
				   &err) < 0)
			return cli_fail(err);
		if (!cli->quiet)
			printf("Signed %s with GPG key %s: %s\n", identity, gpg_fingerprint,
			       written);
		return EXIT_OK;
	}
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
	if (dir) {
		_cleanup_free_ char *written = NULL;
		if (trust_dir_sign(image + 4, key, NULL, identity,
				   json_object_size(annotations) ? annotations : NULL, &written,
				   &err) < 0)
			return cli_fail(err);
		if (!cli->quiet)
			printf("Signed %s: %s\n", identity, written);
		return EXIT_OK;
	}
	struct trust_signed signed_;
	if (!strncmp(image, "docker://", 9)) {
		if (trust_registry_sign(image + 9, NULL, key, identity, annotations, &ro, &signed_,
					&err) < 0)
			return cli_fail(err);
	} else {
		_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
		if (!store)
			return EXIT_FAIL;
		if (trust_store_sign(store, key, image, identity, annotations, &signed_, &err) < 0)
			return cli_fail(err);
	}
	if (!cli->quiet)
		printf("Signed %s as %s: %s (%zu signature%s)\n", signed_.manifest_digest,
		       signed_.identity, signed_.signature_ref, signed_.n_signatures,
		       signed_.n_signatures == 1 ? "" : "s");
	trust_signed_release(&signed_);
	return EXIT_OK;
}
