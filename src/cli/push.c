/* SPDX-License-Identifier: Apache-2.0 */
/* petra push: an image of the store to a registry, with its signatures. */
#include <errno.h>
#include <fcntl.h>

#include "cli.h"

static const char usage[] =
    "Usage: petra push [OPTIONS] IMAGE [DEST]\n"
    "\n"
    "Push IMAGE of the store to the registry reference DEST (default: IMAGE's\n"
    "name) and print the manifest digest. Blobs the registry has are skipped,\n"
    "blobs another repository of the registry holds are mounted, large blobs\n"
    "go in chunks; the manifest goes last. The image's referrers (its build\n"
    "record) follow it: the referrers API, else the sha256-<hex> tag's index.\n"
    "The image's cosign signatures and\n"
    "attestations in the store (<repository>:sha256-<hex>.sig and .att) go\n"
    "along, added to what the registry's sha256-<hex>.sig and .att hold; its GPG\n"
    "signatures (petra sign --sign-by-gpg) are written to the registries.d\n"
    "lookaside-staging of DEST, as skopeo does.\n"
    "\n"
    "Options:\n"
    "      --sign-by FILE       then sign the pushed digest with this cosign\n"
    "                           private key, DEST as the identity (password:\n"
    "                           $PETRA_PASSWORD, else the terminal)\n"
    "      --sign-by-gpg FPR    then sign it with this GnuPG key ($GNUPGHOME), a\n"
    "                           simple-signing signature-N in DEST's lookaside-staging\n"
    "      --registries.d DIR   lookaside configuration (default:\n"
    "                           /etc/containers/registries.d)\n" CLI_REGISTRY_OPTIONS_HELP
    "      --chunk-size SIZE    blobs larger than SIZE go in PATCH chunks of SIZE\n"
    "                           (default 64m)\n"
    "  -j, --jobs N             blobs sent at once (default 4)\n"
    "  -q, --quiet              no progress\n"
    "  -h, --help               this help\n";

struct push_args {
	struct registry_options o;
	const char *sign_by;
	const char *sign_by_gpg;
	const char *registries_d;
};

/* -1 to go on, else the exit status. */
static int parse_args(struct cli *cli, int argc, char **argv, struct push_args *a)
{
	enum { OPT_SIGN_BY = 256, OPT_SIGN_BY_GPG, OPT_REGISTRIES_D };
	static const struct option options[] = {
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"sign-by", required_argument, NULL, OPT_SIGN_BY},
	    {"sign-by-gpg", required_argument, NULL, OPT_SIGN_BY_GPG},
	    {"registries.d", required_argument, NULL, OPT_REGISTRIES_D},
	    {"chunk-size", required_argument, NULL, CLI_OPT_CHUNK_SIZE},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	a->o = (struct registry_options){.tls_verify = -1, .quiet = cli->quiet};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
		int r = cli_registry_option("push", c, optarg, &a->o);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
		if (c == OPT_SIGN_BY)
			a->sign_by = optarg;
		else if (c == OPT_SIGN_BY_GPG)
			a->sign_by_gpg = optarg;
		else if (c == OPT_REGISTRIES_D)
			a->registries_d = optarg;
		else if (c == 'q')
			a->o.quiet = true;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("push", argv);
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage("push", "expects IMAGE and an optional DEST");
	return -1;
}

static int load_key(const char *path, struct trust_key **key, struct petra_error **err)
{
	_cleanup_free_ char *pem = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &pem, &len, err) < 0)
		return -1;
	_cleanup_free_ char *password = cli_read_password(false, err);
	if (!password)
		return -1;
	return trust_private_key_parse(pem, len, password, path, key, err);
}

static int push(struct cli *cli, const struct push_args *a, const char *image, const char *dest_arg,
		const struct trust_key *key, const struct trust_registries_d *rd);

int cmd_push(struct cli *cli, int argc, char **argv)
{
	struct push_args a = {0};
	int status = parse_args(cli, argc, argv, &a);
	if (status >= 0)
		return status;
	const char *image = argv[optind];
	struct petra_error *err = NULL;
	/* The key first: a wrong password stops before anything is sent. */
	_cleanup_trust_key_ struct trust_key *key = NULL;
	if (a.sign_by && load_key(a.sign_by, &key, &err) < 0)
		return cli_fail(err);
	struct trust_registries_d *rd = NULL;
	if (trust_registries_d_load(a.registries_d, &rd, &err) < 0)
		return cli_fail(err);
	status = push(cli, &a, image, argc - optind == 2 ? argv[optind + 1] : NULL, key, rd);
	trust_registries_d_free(rd);
	return status;
}

static int push(struct cli *cli, const struct push_args *a, const char *image, const char *dest_arg,
		const struct trust_key *key, const struct trust_registries_d *rd)
{
	struct petra_error *err = NULL;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	_cleanup_free_ char *dest = NULL;
	if (dest_arg) {
		dest = xstrdup(dest_arg);
	} else {
		struct oci_descriptor desc;
		if (petra_store_resolve(store, image, &desc, &dest, &err) < 0)
			return cli_fail(err);
		oci_descriptor_release(&desc);
		if (!dest)
			return cli_fail(
			    (petra_error_set(&err, EINVAL,
					     "push %s: the image has no name: give a DEST", image),
			     err));
	}
	char digest[OCI_DIGEST_SIZE];
	if (registry_push(store, image, dest, &a->o, digest, &err) < 0)
		return cli_fail(err);
	/* The image's referrers (its build record) go where it went. */
	size_t pushed = 0;
	if (registry_push_referrers(store, dest, digest, &a->o, &pushed, &err) < 0)
		return cli_fail(err);
	if (pushed && !a->o.quiet)
		log_info("pushed %zu referrer%s", pushed, pushed == 1 ? "" : "s");
	size_t carried = 0;
	if (trust_push_signatures(store, image, dest, &a->o, &carried, &err) < 0)
		return cli_fail((petra_error_prefix(&err, "push %s: signatures", dest), err));
	if (carried && !a->o.quiet)
		log_info("pushed %zu signature and attestation layer%s", carried,
			 carried == 1 ? "" : "s");
	/* GPG signatures to the lookaside, as skopeo keeps them. */
	size_t written = 0;
	struct petra_error *gpg_err = NULL;
	if (trust_lookaside_push(store, rd, image, dest, &written, &gpg_err) < 0) {
		if (gpg_err->code != ENOENT)
			return cli_fail(
			    (petra_error_prefix(&gpg_err, "push %s: GPG signatures", dest),
			     gpg_err));
		log_warn("push %s: the image's GPG signatures stay in the store: %s", dest,
			 gpg_err->message);
		petra_error_free(gpg_err);
	}
	if (written && !a->o.quiet)
		log_info("wrote %zu GPG signature%s to the lookaside", written,
			 written == 1 ? "" : "s");
	if (a->sign_by_gpg) {
		if (trust_lookaside_sign(rd, a->sign_by_gpg, dest, digest, NULL, &written, &err) <
		    0)
			return cli_fail((petra_error_prefix(&err, "push %s: sign", dest), err));
		if (!a->o.quiet)
			log_info("signed %s with GPG key %s", digest, a->sign_by_gpg);
	}
	if (key) {
		struct trust_signed signed_;
		if (trust_registry_sign(dest, digest, key, NULL, NULL, &a->o, &signed_, &err) < 0)
			return cli_fail(err);
		if (!a->o.quiet)
			log_info("signed %s as %s: %s", digest, signed_.identity,
				 signed_.signature_ref);
		trust_signed_release(&signed_);
	}
	printf("%s\n", digest);
	return EXIT_OK;
}
