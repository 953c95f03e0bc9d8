/* SPDX-License-Identifier: Apache-2.0 */
/* petra verify-signature: cosign signatures of a store or dir: image. */
#include "cli.h"
#include "policy/policy.h"
#include "trust/trust.h"

#include <limits.h>
#include <stdlib.h>

#include <errno.h>
#include <string.h>

static const char usage[] =
    "Usage: petra verify-signature --key FILE.pub|--gpg-keyring FILE [OPTIONS]\n"
    "                              IMAGE|docker://REF|dir:PATH\n"
    "\n"
    "Check IMAGE's cosign signatures offline: a signature is accepted when one of\n"
    "the keys verifies it, its payload is a simple-signing payload, it names the\n"
    "image's manifest digest, and its reference matches the image's under the\n"
    "identity rule. IMAGE is a name in the store (signatures in the manifest\n"
    "<repository>:sha256-<hex>.sig) or dir:PATH, containers/image's layout\n"
    "(manifest.json and signature-N files; layer blobs are not needed), or\n"
    "docker://REF, an image in a registry: the manifest REF names and the\n"
    "repository's sha256-<hex>.sig manifest and blobs are read, never the\n"
    "image's layers, and the signature-N files of its registries.d lookaside\n"
    "(GPG simple signing, as skopeo writes them; file://, http://, https://).\n"
    "\n"
    "Options:\n"
    "  -k, --key FILE        a cosign public key (repeatable: any of them may sign)\n"
    "      --gpg-keyring FILE  OpenPGP public keys (binary or armored, repeatable):\n"
    "                        GPG simple-signing signatures (signature-N of dir:)\n"
    "                        by one of them are checked too\n"
    "      --reference REF   the reference the image is used under (default: its\n"
    "                        name; needed for dir:)\n"
    "      --match RULE      match-repo-digest-or-exact (default), match-repository\n"
    "                        or match-exact\n"
    "      --signature-policy FILE  decide with a containers-policy.json instead\n"
    "                        of keys: the requirements of the image's scope (docker\n"
    "                        transport for store images, dir for dir:) must all hold\n"
    "      --format FORMAT   text (default) or json\n"
    "      --registries.d DIR  lookaside configuration for docker:// (default:\n"
    "                        /etc/containers/registries.d)\n"
    "registry options (docker://):\n" CLI_REGISTRY_OPTIONS_HELP
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 a signature verified (the verified payloads are printed),\n"
    "1 none did (the reason is printed: no signature, wrong key, invalid payload,\n"
    "digest mismatch, identity mismatch) or an error.\n";

struct target {
	char digest[OCI_DIGEST_SIZE];
	char *intended;
	struct trust_signatures sigs;
};

static int load_dir(const char *path, struct target *t, struct petra_error **err)
{
	_cleanup_free_ char *manifest = NULL;
	size_t len;
	if (trust_dir_load(path, &manifest, &len, &t->sigs, err) < 0)
		return -1;
	if (trust_manifest_digest(manifest, len, t->digest, err) < 0)
		return petra_error_prefix(err, "dir:%s", path);
	return 0;
}

static char *repository_of(const char *name)
{
	struct oci_ref ref;
	if (oci_ref_parse(name, &ref, NULL) < 0)
		return xstrdup(name);
	char *repo = xstrdup(ref.name);
	oci_ref_release(&ref);
	return repo;
}

static int load_store(struct petra_store *store, const char *image, struct target *t,
		      struct petra_error **err)
{
	struct oci_descriptor desc;
	_cleanup_free_ char *name = NULL;
	if (petra_store_resolve(store, image, &desc, &name, err) < 0)
		return -1;
	memcpy(t->digest, desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&desc);
	/* The signed digest is the name's; the manifest must still hash to it
	 * (a changed byte in the store is refused here, not run later). */
	_cleanup_free_ char *manifest = NULL;
	size_t len;
	if (petra_store_read_blob(store, t->digest, 4u << 20, &manifest, &len, err) < 0)
		return petra_error_prefix(err, "%s: manifest", image);
	if (!t->intended && name)
		t->intended = xstrdup(name);
	if (!t->intended)
		return petra_error_set(err, EINVAL, "image %s has no name: give --reference",
				       image);
	_cleanup_free_ char *repo = repository_of(name ? name : t->intended);
	return trust_store_signatures(store, repo, t->digest, &t->sigs, err);
}

/* --signature-policy: the containers policy decides. */
static int check_policy(const char *path, const char *image, const struct target *t,
			enum cli_format format)
{
	struct petra_error *err = NULL;
	struct trust_containers_policy *policy = NULL;
	if (trust_containers_policy_load(path, &policy, &err) < 0)
		return cli_fail(err);
	_cleanup_free_ char *identity = NULL;
	bool dir = !strncmp(image, "dir:", 4);
	if (dir) {
		char resolved[PATH_MAX];
		identity = xstrdup(realpath(image + 4, resolved) ? resolved : image + 4);
	} else {
		struct policy_ref ref;
		if (policy_ref_parse(t->intended, &ref, NULL) == 0) {
			identity = policy_ref_format(&ref, 0);
			policy_ref_release(&ref);
		}
	}
	struct trust_policy_image pi = {.transport = dir ? "dir" : "docker",
					.scope_identity = identity,
					.reference = t->intended,
					.manifest_digest = t->digest};
	struct strvec reasons = STRVEC_INIT;
	const char *scope = NULL;
	int status = EXIT_OK;
	if (trust_containers_policy_check(policy, &pi, &t->sigs, &reasons, &scope, &err) < 0) {
		status = cli_fail(err);
	} else {
		bool ok = reasons.n == 0;
		if (format == CLI_FORMAT_JSON) {
			json_t *arr = json_array();
			for (size_t i = 0; i < reasons.n; i++)
				json_array_append_new(arr, json_string(reasons.v[i]));
			_cleanup_json_ json_t *out =
			    json_pack("{s:s,s:s,s:b,s:s,s:o}", "image", image, "manifest-digest",
				      t->digest, "verified", ok, "scope", scope, "reasons", arr);
			cli_print_json(out);
		} else if (ok) {
			printf("Accepted %s by %s (%s)\n", t->digest, path, scope);
		}
		if (!ok) {
			fprintf(stderr, "petra: %s: refused by %s (%s)\n", image, path, scope);
			for (size_t i = 0; i < reasons.n; i++)
				fprintf(stderr, "  %s\n", reasons.v[i]);
			status = EXIT_FAIL;
		}
	}
	strvec_clear(&reasons);
	trust_containers_policy_free(policy);
	return status;
}

struct verify_args {
	struct strvec key_paths, keyrings;
	const char *signature_policy;
	char *intended; /* --reference */
	enum trust_match match;
	enum cli_format format;
	const char *image;
	struct registry_options registry;
	const char *registries_d;
};

static void verify_args_release(struct verify_args *a)
{
	strvec_clear(&a->key_paths);
	strvec_clear(&a->keyrings);
	free(a->intended);
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct verify_args *a)
{
	enum {
		OPT_REFERENCE = 256,
		OPT_MATCH,
		OPT_FORMAT,
		OPT_GPG_KEYRING,
		OPT_SIGNATURE_POLICY,
		OPT_REGISTRIES_D
	};
	static const struct option options[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"gpg-keyring", required_argument, NULL, OPT_GPG_KEYRING},
	    {"signature-policy", required_argument, NULL, OPT_SIGNATURE_POLICY},
	    {"reference", required_argument, NULL, OPT_REFERENCE},
	    {"match", required_argument, NULL, OPT_MATCH},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"registries.d", required_argument, NULL, OPT_REGISTRIES_D},
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *verb = "verify-signature";
	struct petra_error *err = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "k:h", options, NULL)) != -1) {
		int r = cli_registry_option(verb, c, optarg, &a->registry);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
		if (c == 'k') {
			strvec_push(&a->key_paths, optarg);
		} else if (c == OPT_SIGNATURE_POLICY) {
			a->signature_policy = optarg;
		} else if (c == OPT_REGISTRIES_D) {
			a->registries_d = optarg;
		} else if (c == OPT_GPG_KEYRING) {
			strvec_push(&a->keyrings, optarg);
		} else if (c == OPT_REFERENCE) {
			free(a->intended);
			a->intended = xstrdup(optarg);
		} else if (c == OPT_MATCH) {
			if (trust_match_parse(optarg, &a->match, &err) < 0)
				return cli_usage_error(verb, "--match: ", err);
		} else if (c == OPT_FORMAT) {
			if (cli_parse_format(verb, optarg, &a->format))
				return EXIT_USAGE;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option(verb, argv);
		}
	}
	if (!a->key_paths.n && !a->keyrings.n && !a->signature_policy)
		return cli_usage(verb, "needs --key FILE.pub, --gpg-keyring FILE or "
				       "--signature-policy FILE");
	if (argc - optind != 1)
		return cli_usage(verb, "expects one IMAGE or dir:PATH");
	a->image = argv[optind];
	return -1;
}

/* The verdict on stdout (JSON, or a line per verified payload), a refusal
 * and its reasons on stderr; the exit status. */
static int print_verdict(const struct verify_args *a, const struct target *t,
			 const struct trust_verdict *verdict)
{
	bool ok = verdict->failure == TRUST_ACCEPTED;
	if (a->format == CLI_FORMAT_JSON) {
		json_t *reasons = json_array();
		for (size_t i = 0; i < verdict->reasons.n; i++)
			json_array_append_new(reasons, json_string(verdict->reasons.v[i]));
		_cleanup_json_ json_t *out =
		    json_pack("{s:s,s:s,s:b,s:o,s:O,s:o}", "image", a->image, "manifest-digest",
			      t->digest, "verified", ok, "failure",
			      ok ? json_null() : json_string(trust_failure_name(verdict->failure)),
			      "payloads", verdict->accepted, "reasons", reasons);
		cli_print_json(out);
	} else if (ok) {
		size_t i;
		json_t *p;
		json_array_foreach(verdict->accepted, i, p) printf(
		    "Verified %s: %s signed by %s\n", json_get_string(p, "docker-manifest-digest"),
		    json_get_string(p, "docker-reference"), json_get_string(p, "key"));
	}
	if (ok)
		return EXIT_OK;
	fprintf(stderr, "petra: %s: %s\n", a->image, trust_failure_name(verdict->failure));
	for (size_t i = 0; i < verdict->reasons.n; i++)
		fprintf(stderr, "  %s\n", verdict->reasons.v[i]);
	return EXIT_FAIL;
}

/* The image's manifest digest and signatures, from a dir: layout or the
 * store; the exit status when it cannot be read, else EXIT_OK. */
static int load_target(struct cli *cli, const struct verify_args *a, struct target *t)
{
	const char *image = a->image;
	struct petra_error *err = NULL;
	int rc;
	if (!strncmp(image, "dir:", 4)) {
		rc = load_dir(image + 4, t, &err);
	} else if (!strncmp(image, "docker://", 9)) {
		if (!t->intended)
			t->intended = xstrdup(image + 9);
		rc = trust_registry_signatures(image + 9, &a->registry, t->digest, &t->sigs, &err);
		/* GPG signatures from the lookaside, next to cosign's. */
		struct trust_registries_d *rd = NULL;
		size_t n_read = 0;
		if (rc == 0)
			rc = trust_registries_d_load(a->registries_d, &rd, &err);
		if (rc == 0)
			rc = trust_lookaside_read(rd, image + 9, t->digest, &a->registry, &t->sigs,
						  &n_read, &err);
		trust_registries_d_free(rd);
	} else {
		_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
		rc = store ? load_store(store, image, t, &err) : 1;
	}
	return rc < 0 ? cli_fail(err) : rc > 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_verify_signature(struct cli *cli, int argc, char **argv)
{
	struct verify_args a = {.match = TRUST_MATCH_REPO_DIGEST_OR_EXACT,
				.format = CLI_FORMAT_TEXT,
				.key_paths = STRVEC_INIT,
				.keyrings = STRVEC_INIT,
				.registry = {.tls_verify = -1, .quiet = true}};
	int status = parse_args(argc, argv, &a);
	if (status >= 0) {
		verify_args_release(&a);
		return status;
	}
	status = EXIT_OK;
	struct petra_error *err = NULL;
	struct trust_gpg *gpg = NULL;
	struct target t = {.intended = steal_pointer(&a.intended)};
	struct trust_key **keys = xcalloc(a.key_paths.n, sizeof(*keys));
	for (size_t i = 0; i < a.key_paths.n && status == EXIT_OK; i++)
		if (trust_public_key_load(a.key_paths.v[i], &keys[i], &err) < 0)
			status = cli_fail(err);
	if (status == EXIT_OK && a.keyrings.n &&
	    trust_gpg_open((const char *const *)a.keyrings.v, a.keyrings.n, &gpg, &err) < 0)
		status = cli_fail(err);
	if (status == EXIT_OK)
		status = load_target(cli, &a, &t);
	if (status == EXIT_OK && a.signature_policy) {
		status = check_policy(a.signature_policy, a.image, &t, a.format);
	} else if (status == EXIT_OK) {
		struct trust_verdict verdict = {0};
		struct trust_check check = {.manifest_digest = t.digest,
					    .intended = t.intended,
					    .match = a.match,
					    .keys = keys,
					    .n_keys = a.key_paths.n,
					    .gpg = gpg};
		if (trust_verify_signatures(&check, &t.sigs, &verdict, &err) < 0)
			status = cli_fail(err);
		else
			status = print_verdict(&a, &t, &verdict);
		trust_verdict_release(&verdict);
	}
	for (size_t i = 0; i < a.key_paths.n; i++)
		trust_key_free(keys[i]);
	free(keys);
	trust_gpg_free(gpg);
	free(t.intended);
	trust_signatures_release(&t.sigs);
	verify_args_release(&a);
	return status;
}
