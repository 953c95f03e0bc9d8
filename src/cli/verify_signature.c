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
    "Usage: petra verify-signature --key FILE.pub|--gpg-keyring FILE [OPTIONS] IMAGE|dir:PATH\n"
    "\n"
    "Check IMAGE's cosign signatures offline: a signature is accepted when one of\n"
    "the keys verifies it, its payload is a simple-signing payload, it names the\n"
    "image's manifest digest, and its reference matches the image's under the\n"
    "identity rule. IMAGE is a name in the store (signatures in the manifest\n"
    "<repository>:sha256-<hex>.sig) or dir:PATH, containers/image's layout\n"
    "(manifest.json and signature-N files; layer blobs are not needed).\n"
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

int cmd_verify_signature(struct cli *cli, int argc, char **argv)
{
	enum { OPT_REFERENCE = 256, OPT_MATCH, OPT_FORMAT, OPT_GPG_KEYRING, OPT_SIGNATURE_POLICY };
	static const struct option options[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"gpg-keyring", required_argument, NULL, OPT_GPG_KEYRING},
	    {"signature-policy", required_argument, NULL, OPT_SIGNATURE_POLICY},
	    {"reference", required_argument, NULL, OPT_REFERENCE},
	    {"match", required_argument, NULL, OPT_MATCH},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *verb = "verify-signature";
	struct strvec key_paths = STRVEC_INIT, keyrings = STRVEC_INIT;
	struct trust_gpg *gpg = NULL;
	const char *signature_policy = NULL;
	struct target t = {0};
	enum trust_match match = TRUST_MATCH_REPO_DIGEST_OR_EXACT;
	enum cli_format format = CLI_FORMAT_TEXT;
	struct petra_error *err = NULL;
	int status = EXIT_OK;
	cli_getopt_reset();
	int c;
	while (status == EXIT_OK && (c = getopt_long(argc, argv, "k:h", options, NULL)) != -1) {
		if (c == 'k') {
			strvec_push(&key_paths, optarg);
		} else if (c == OPT_SIGNATURE_POLICY) {
			signature_policy = optarg;
		} else if (c == OPT_GPG_KEYRING) {
			strvec_push(&keyrings, optarg);
		} else if (c == OPT_REFERENCE) {
			free(t.intended);
			t.intended = xstrdup(optarg);
		} else if (c == OPT_MATCH) {
			if (trust_match_parse(optarg, &match, &err) < 0)
				status = cli_usage_error(verb, "--match: ", err);
		} else if (c == OPT_FORMAT) {
			if (cli_parse_format(verb, optarg, &format))
				status = EXIT_USAGE;
		} else if (c == 'h') {
			status = cli_help(usage);
			goto out;
		} else {
			status = cli_bad_option(verb, argv);
		}
	}
	if (status != EXIT_OK)
		goto out;
	if (!key_paths.n && !keyrings.n && !signature_policy) {
		status = cli_usage(verb, "needs --key FILE.pub, --gpg-keyring FILE or "
					 "--signature-policy FILE");
		goto out;
	}
	if (argc - optind != 1) {
		status = cli_usage(verb, "expects one IMAGE or dir:PATH");
		goto out;
	}
	const char *image = argv[optind];
	struct trust_key **keys = xcalloc(key_paths.n, sizeof(*keys));
	for (size_t i = 0; i < key_paths.n && status == EXIT_OK; i++)
		if (trust_public_key_load(key_paths.v[i], &keys[i], &err) < 0)
			status = cli_fail(err);
	if (status == EXIT_OK && keyrings.n &&
	    trust_gpg_open((const char *const *)keyrings.v, keyrings.n, &gpg, &err) < 0)
		status = cli_fail(err);
	int rc = 0;
	if (status == EXIT_OK) {
		if (!strncmp(image, "dir:", 4)) {
			rc = load_dir(image + 4, &t, &err);
		} else {
			_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
			rc = store ? load_store(store, image, &t, &err) : 1;
		}
		if (rc < 0)
			status = cli_fail(err);
		else if (rc > 0)
			status = EXIT_FAIL;
	}
	if (status == EXIT_OK && signature_policy) {
		status = check_policy(signature_policy, image, &t, format);
		goto done;
	}
	struct trust_verdict verdict = {0};
	if (status == EXIT_OK) {
		struct trust_check check = {.manifest_digest = t.digest,
					    .intended = t.intended,
					    .match = match,
					    .keys = keys,
					    .n_keys = key_paths.n,
					    .gpg = gpg};
		if (trust_verify_signatures(&check, &t.sigs, &verdict, &err) < 0)
			status = cli_fail(err);
	}
	if (status == EXIT_OK) {
		bool ok = verdict.failure == TRUST_ACCEPTED;
		if (format == CLI_FORMAT_JSON) {
			json_t *reasons = json_array();
			for (size_t i = 0; i < verdict.reasons.n; i++)
				json_array_append_new(reasons, json_string(verdict.reasons.v[i]));
			_cleanup_json_ json_t *out = json_pack(
			    "{s:s,s:s,s:b,s:o,s:O,s:o}", "image", image, "manifest-digest",
			    t.digest, "verified", ok, "failure",
			    ok ? json_null() : json_string(trust_failure_name(verdict.failure)),
			    "payloads", verdict.accepted, "reasons", reasons);
			cli_print_json(out);
		} else if (ok) {
			size_t i;
			json_t *p;
			json_array_foreach(verdict.accepted, i, p) printf(
			    "Verified %s: %s signed by %s\n",
			    json_get_string(p, "docker-manifest-digest"),
			    json_get_string(p, "docker-reference"), json_get_string(p, "key"));
		}
		if (!ok) {
			fprintf(stderr, "petra: %s: %s\n", image,
				trust_failure_name(verdict.failure));
			for (size_t i = 0; i < verdict.reasons.n; i++)
				fprintf(stderr, "  %s\n", verdict.reasons.v[i]);
			status = EXIT_FAIL;
		}
	}
	trust_verdict_release(&verdict);
done:
	for (size_t i = 0; i < key_paths.n; i++)
		trust_key_free(keys[i]);
	free(keys);
out:
	trust_gpg_free(gpg);
	strvec_clear(&key_paths);
	strvec_clear(&keyrings);
	free(t.intended);
	trust_signatures_release(&t.sigs);
	return status;
}
