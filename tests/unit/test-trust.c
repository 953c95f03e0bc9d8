/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/trust: cosign keys (ours and cosign's), the strict
 * simple-signing payload parser, identity rules, signatures in the store,
 * and containers/image's cosign fixtures in the dir: layout. */
#include "store-fixture.h"
#include "testutil.h"

#include "trust/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURES    "/usr/share/gocode/src/github.com/containers/image/signature/fixtures"
#define FIXTURE_REF "192.168.64.2:5000/cosign-signed-single-sample"

static char *read_data(const char *rel, size_t *len)
{
	_cleanup_free_ char *path = path_join(TEST_DATA_DIR, rel);
	char *data = NULL;
	struct petra_error *err = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &data, len, &err) < 0)
		fail_msg("%s", err->message);
	return data;
}

/* A fresh pair; password "pw". */
static void make_pair(struct trust_key **priv, struct trust_key **pub)
{
	struct petra_error *err = NULL;
	_cleanup_free_ char *priv_pem = NULL, *pub_pem = NULL;
	assert_int_equal(trust_keygen("pw", &priv_pem, &pub_pem, &err), 0);
	assert_int_equal(
	    trust_private_key_parse(priv_pem, strlen(priv_pem), "pw", "k.key", priv, &err), 0);
	assert_int_equal(trust_public_key_parse(pub_pem, strlen(pub_pem), "k.pub", pub, &err), 0);
}

static void test_keygen_round_trip(void **state)
{
	(void)state;
	struct petra_error *err = NULL;
	_cleanup_free_ char *priv_pem = NULL, *pub_pem = NULL;
	assert_int_equal(trust_keygen("pw", &priv_pem, &pub_pem, &err), 0);
	assert_non_null(strstr(priv_pem, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
	assert_non_null(strstr(pub_pem, "-----BEGIN PUBLIC KEY-----\n"));

	_cleanup_trust_key_ struct trust_key *priv = NULL, *pub = NULL, *wrong = NULL;
	assert_int_equal(
	    trust_private_key_parse(priv_pem, strlen(priv_pem), "pw", "k.key", &priv, &err), 0);
	assert_int_equal(trust_public_key_parse(pub_pem, strlen(pub_pem), "k.pub", &pub, &err), 0);
	_cleanup_free_ char *derived = trust_key_public_pem(priv);
	assert_string_equal(derived, pub_pem);

	/* A wrong password is EACCES and says so. */
	assert_true(
	    trust_private_key_parse(priv_pem, strlen(priv_pem), "nope", "k.key", &wrong, &err) < 0);
	assert_int_equal(err->code, EACCES);
	assert_error_contains(err, "wrong password");
	petra_error_free(err);
	err = NULL;

	/* Sign and verify; one changed byte of data or signature fails. */
	_cleanup_free_ char *sig = NULL;
	assert_int_equal(trust_sign(priv, "hello", 5, &sig, &err), 0);
	assert_true(trust_verify(pub, "hello", 5, sig));
	assert_false(trust_verify(pub, "hellp", 5, sig));
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	assert_false(trust_verify(pub, "hello", 5, sig));
	assert_false(trust_verify(pub, "hello", 5, "not base64!"));
	assert_false(trust_verify(pub, "hello", 5, NULL));
	/* A public key cannot sign. */
	_cleanup_free_ char *none = NULL;
	assert_true(trust_sign(pub, "x", 1, &none, &err) < 0);
	petra_error_free(err);
}

static void test_cosign_made_keys(void **state)
{
	(void)state;
	struct petra_error *err = NULL;
	size_t len;
	/* cosign's own test key (pemsigstorekey, password "hello") loads. */
	_cleanup_free_ char *pem = read_data("trust/cosign-sigstore.key", &len);
	_cleanup_trust_key_ struct trust_key *key = NULL;
	if (trust_private_key_parse(pem, len, "hello", "cosign-sigstore.key", &key, &err) < 0)
		fail_msg("%s", err->message);
	_cleanup_free_ char *sig = NULL;
	assert_int_equal(trust_sign(key, "payload", 7, &sig, &err), 0);
	assert_true(trust_verify(key, "payload", 7, sig));
	trust_key_free(key);
	key = NULL;
	assert_true(trust_private_key_parse(pem, len, "hellO", "k", &key, &err) < 0);
	assert_int_equal(err->code, EACCES);
	petra_error_free(err);
	err = NULL;

	/* pemcosigneckey seals a SEC1 key: cosign refuses it, so do we. */
	_cleanup_free_ char *sec1 = read_data("trust/cosign-ec-sec1.key", &len);
	assert_true(trust_private_key_parse(sec1, len, "hello", "sec1.key", &key, &err) < 0);
	assert_error_contains(err, "not PKCS#8");
	petra_error_free(err);
	err = NULL;

	/* containers/image's cosign.pub is a public key, not a private one. */
	_cleanup_free_ char *pub = NULL;
	assert_int_equal(fs_read_file_at(AT_FDCWD, FIXTURES "/cosign.pub", 4096, &pub, &len, &err),
			 0);
	assert_true(trust_private_key_parse(pub, len, "", "cosign.pub", &key, &err) < 0);
	assert_error_contains(err, "unsupported PEM type \"PUBLIC KEY\"");
	petra_error_free(err);
	err = NULL;
	assert_int_equal(trust_public_key_parse(pub, len, "cosign.pub", &key, &err), 0);
}

static void test_payload(void **state)
{
	(void)state;
	struct petra_error *err = NULL;
	size_t len;
	_cleanup_free_ char *text = trust_payload_build(
	    "docker.io/library/app:1",
	    "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00", NULL, &len);
	/* Byte for byte what cosign writes. */
	assert_string_equal(text,
			    "{\"critical\":{\"identity\":{\"docker-reference\":\"docker.io/library/"
			    "app:1\"},\"image\":{\"docker-manifest-digest\":\"sha256:"
			    "634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00\"},"
			    "\"type\":\"cosign container image signature\"},\"optional\":null}");
	struct trust_payload p;
	assert_int_equal(trust_payload_parse(text, len, &p, &err), 0);
	assert_string_equal(p.docker_reference, "docker.io/library/app:1");
	assert_null(p.optional);
	trust_payload_release(&p);

	_cleanup_json_ json_t *ann = json_pack("{s:s}", "env", "prod");
	_cleanup_free_ char *with = trust_payload_build("a:1", "sha256:00", ann, &len);
	assert_int_equal(trust_payload_parse(with, len, &p, &err), 0);
	assert_string_equal(json_string_value(json_object_get(p.optional, "env")), "prod");
	trust_payload_release(&p);

	static const struct {
		const char *json, *error;
	} bad[] = {
	    {"", "invalid JSON"},
	    {"[]", "the payload is not an object"},
	    {"{\"critical\":{}}", "has no \"optional\""},
	    {"{\"critical\":{\"type\":\"cosign container image signature\",\"image\":{\"docker-"
	     "manifest-digest\":\"d\"},\"identity\":{\"docker-reference\":\"r\"}},\"optional\":"
	     "null,\"x\":1}",
	     "unknown field \"x\""},
	    {"{\"critical\":{\"type\":\"atomic container signature\",\"image\":{\"docker-"
	     "manifest-digest\":\"d\"},\"identity\":{\"docker-reference\":\"r\"}},\"optional\":"
	     "null}",
	     "unknown signature type"},
	    {"{\"critical\":{\"type\":\"cosign container image signature\",\"image\":{\"docker-"
	     "manifest-digest\":1},\"identity\":{\"docker-reference\":\"r\"}},\"optional\":null}",
	     "docker-manifest-digest is not a string"},
	    {"{\"critical\":{\"type\":\"cosign container image signature\",\"image\":{\"docker-"
	     "manifest-digest\":\"d\"},\"identity\":{\"docker-reference\":\"r\",\"x\":\"\"}},"
	     "\"optional\":null}",
	     "critical.identity has an unknown field"},
	    {"{\"critical\":{\"type\":\"cosign container image signature\",\"image\":{\"docker-"
	     "manifest-digest\":\"d\"},\"identity\":{\"docker-reference\":\"r\"}},\"optional\":{"
	     "\"timestamp\":1.5}}",
	     "timestamp is not an integer"},
	    {"{\"critical\":{\"type\":\"cosign container image signature\",\"image\":{\"docker-"
	     "manifest-digest\":\"d\"},\"identity\":{\"docker-reference\":\"r\"}},\"optional\":"
	     "null,\"optional\":null}",
	     "invalid JSON"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (trust_payload_parse(bad[i].json, strlen(bad[i].json), &p, &err) == 0)
			fail_msg("accepted: %s", bad[i].json);
		if (!strstr(err->message, bad[i].error))
			fail_msg("\"%s\" does not say \"%s\"", err->message, bad[i].error);
		petra_error_free(err);
		err = NULL;
	}
}

static void test_identity_rules(void **state)
{
	(void)state;
	static const struct {
		enum trust_match match;
		const char *intended, *signed_ref;
		bool ok;
	} cases[] = {
	    {TRUST_MATCH_REPO_DIGEST_OR_EXACT, "app:1", "docker.io/library/app:1", true},
	    {TRUST_MATCH_REPO_DIGEST_OR_EXACT, "app:1", "app:2", false},
	    {TRUST_MATCH_REPO_DIGEST_OR_EXACT, "app:1", "app", false}, /* name-only signed */
	    {TRUST_MATCH_REPO_DIGEST_OR_EXACT,
	     "app@sha256:0000000000000000000000000000000000000000000000000000000000000000", "app:7",
	     true},
	    {TRUST_MATCH_REPO_DIGEST_OR_EXACT, "app", "app:latest", false},
	    {TRUST_MATCH_REPOSITORY, "reg:5000/a/b:1", "reg:5000/a/b", true},
	    {TRUST_MATCH_REPOSITORY, "reg:5000/a/b:1", "reg:5000/a/c:1", false},
	    {TRUST_MATCH_EXACT, "reg/a:tag", "reg/a:tag", true},
	    {TRUST_MATCH_EXACT, "reg/a:tag", "reg/a:othertag", false},
	    {TRUST_MATCH_EXACT, "reg/a", "reg/a", false},
	    {TRUST_MATCH_REPOSITORY, NULL, "reg/a", false},
	    {TRUST_MATCH_REPOSITORY, "reg/a:1", "NOT A REF", false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (trust_identity_matches(cases[i].match, cases[i].intended,
					   cases[i].signed_ref) != cases[i].ok)
			fail_msg("case %zu: %s vs %s", i,
				 cases[i].intended ? cases[i].intended : "-", cases[i].signed_ref);
	enum trust_match m;
	assert_int_equal(trust_match_parse("repository", &m, NULL), 0);
	assert_int_equal(m, TRUST_MATCH_REPOSITORY);
	struct petra_error *err = NULL;
	assert_true(trust_match_parse("exactly", &m, &err) < 0);
	petra_error_free(err);
}

/* An image "name" in the store (a manifest-shaped document is enough). */
static void put_image(struct petra_store *store, const char *name, const char *marker,
		      char digest[OCI_DIGEST_SIZE])
{
	struct petra_error *err = NULL;
	_cleanup_json_ json_t *m = json_pack(
	    "{s:i,s:s,s:{s:s,s:s,s:i},s:[],s:{s:s}}", "schemaVersion", 2, "mediaType",
	    OCI_MEDIA_TYPE_MANIFEST, "config", "mediaType", OCI_MEDIA_TYPE_CONFIG, "digest",
	    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size", 2,
	    "layers", "annotations", "marker", marker);
	struct oci_descriptor desc = {0};
	char config[OCI_DIGEST_SIZE];
	assert_int_equal(petra_store_put_blob(store, "{}", 2, config, &err), 0);
	assert_int_equal(petra_store_put_json(store, m, OCI_MEDIA_TYPE_MANIFEST, &desc, &err), 0);
	assert_int_equal(petra_store_set_ref(store, name, &desc, &err), 0);
	memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&desc);
}

static enum trust_failure check_store(struct petra_store *store, const char *repo,
				      const char *digest, const char *intended,
				      struct trust_key *key, size_t *n_accepted)
{
	struct petra_error *err = NULL;
	struct trust_signatures sigs = {0};
	if (trust_store_signatures(store, repo, digest, &sigs, &err) < 0)
		fail_msg("%s", err->message);
	struct trust_key *keys[] = {key};
	struct trust_check check = {.manifest_digest = digest,
				    .intended = intended,
				    .match = TRUST_MATCH_REPO_DIGEST_OR_EXACT,
				    .keys = keys,
				    .n_keys = 1};
	struct trust_verdict v;
	assert_int_equal(trust_verify_signatures(&check, &sigs, &v, &err), 0);
	enum trust_failure f = v.failure;
	if (n_accepted)
		*n_accepted = json_array_size(v.accepted);
	trust_verdict_release(&v);
	trust_signatures_release(&sigs);
	return f;
}

static void test_store_sign_verify(void **state)
{
	struct store_fixture *f = *state;
	struct petra_error *err = NULL;
	_cleanup_trust_key_ struct trust_key *priv = NULL, *pub = NULL, *priv2 = NULL, *pub2 = NULL;
	make_pair(&priv, &pub);
	make_pair(&priv2, &pub2);
	char app1[OCI_DIGEST_SIZE], other[OCI_DIGEST_SIZE];
	put_image(f->store, "reg.example/app:1", "one", app1);
	put_image(f->store, "reg.example/app:2", "two", other);

	/* Unsigned. */
	assert_int_equal(
	    check_store(f->store, "reg.example/app", app1, "reg.example/app:1", pub, NULL),
	    TRUST_NO_SIGNATURE);

	struct trust_signed s;
	assert_int_equal(
	    trust_store_sign(f->store, priv, "reg.example/app:1", NULL, NULL, &s, &err), 0);
	assert_string_equal(s.identity, "reg.example/app:1");
	assert_string_equal(s.manifest_digest, app1);
	_cleanup_free_ char *tag = trust_signature_tag("reg.example/app", app1);
	assert_string_equal(s.signature_ref, tag);
	assert_int_equal(s.n_signatures, 1);
	trust_signed_release(&s);

	size_t n = 0;
	assert_int_equal(
	    check_store(f->store, "reg.example/app", app1, "reg.example/app:1", pub, &n),
	    TRUST_ACCEPTED);
	assert_int_equal(n, 1);
	/* Another key, another tag. */
	assert_int_equal(
	    check_store(f->store, "reg.example/app", app1, "reg.example/app:1", pub2, NULL),
	    TRUST_WRONG_KEY);
	assert_int_equal(
	    check_store(f->store, "reg.example/app", app1, "reg.example/app:9", pub, NULL),
	    TRUST_IDENTITY_MISMATCH);

	/* The same payload and key again adds nothing; another key adds a layer. */
	assert_int_equal(
	    trust_store_sign(f->store, priv, "reg.example/app:1", NULL, NULL, &s, &err), 0);
	assert_int_equal(s.n_signatures, 1);
	trust_signed_release(&s);
	assert_int_equal(
	    trust_store_sign(f->store, priv2, "reg.example/app:1", NULL, NULL, &s, &err), 0);
	assert_int_equal(s.n_signatures, 2);
	trust_signed_release(&s);
	assert_int_equal(
	    check_store(f->store, "reg.example/app", app1, "reg.example/app:1", pub2, &n),
	    TRUST_ACCEPTED);
	assert_int_equal(n, 1);

	/* The signature manifest moved to the other image: digest mismatch. */
	struct oci_descriptor sig_desc;
	assert_int_equal(petra_store_resolve(f->store, tag, &sig_desc, NULL, &err), 0);
	_cleanup_free_ char *other_tag = trust_signature_tag("reg.example/app", other);
	assert_int_equal(petra_store_set_ref(f->store, other_tag, &sig_desc, &err), 0);
	oci_descriptor_release(&sig_desc);
	assert_int_equal(
	    check_store(f->store, "reg.example/app", other, "reg.example/app:2", pub, NULL),
	    TRUST_DIGEST_MISMATCH);

	/* Signing needs a private key and an image. */
	assert_true(trust_store_sign(f->store, pub, "reg.example/app:1", NULL, NULL, &s, &err) < 0);
	petra_error_free(err);
	err = NULL;
	assert_true(trust_store_sign(f->store, priv, "missing:1", NULL, NULL, &s, &err) < 0);
	assert_int_equal(err->code, ENOENT);
	petra_error_free(err);
}

static void test_attestations(void **state)
{
	struct store_fixture *f = *state;
	struct petra_error *err = NULL;
	_cleanup_trust_key_ struct trust_key *priv = NULL, *pub = NULL, *priv2 = NULL, *pub2 = NULL;
	make_pair(&priv, &pub);
	make_pair(&priv2, &pub2);
	char digest[OCI_DIGEST_SIZE], other[OCI_DIGEST_SIZE];
	put_image(f->store, "reg.example/app:1", "att", digest);
	put_image(f->store, "reg.example/app:2", "att2", other);
	_cleanup_free_ char *tag = trust_attestation_tag("reg.example/app", digest);
	assert_non_null(strstr(tag, ".att"));
	assert_null(strstr(tag, ".sig"));
	_cleanup_json_ json_t *predicate = json_pack("{s:s}", "builder", "petra");
	struct trust_signed out;
	assert_int_equal(trust_store_attest(f->store, priv, "reg.example/app:1", "https://t/v1",
					    predicate, &out, &err),
			 0);
	assert_string_equal(out.signature_ref, tag);
	assert_int_equal(out.n_signatures, 1);
	trust_signed_release(&out);
	struct trust_signatures atts = {0};
	assert_int_equal(trust_store_attestations(f->store, "reg.example/app", digest, &atts, &err),
			 0);
	assert_int_equal(atts.n, 1);
	static const struct {
		int key;
		const char *digest_of, *type;
		enum trust_failure result;
	} cases[] = {
	    {1, "1", "https://t/v1", TRUST_ACCEPTED},
	    {1, "1", NULL, TRUST_ACCEPTED},
	    {2, "1", NULL, TRUST_WRONG_KEY},
	    {1, "2", NULL, TRUST_DIGEST_MISMATCH},
	    {1, "1", "https://t/v2", TRUST_NO_SIGNATURE},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct trust_key *keys[] = {cases[i].key == 1 ? pub : pub2};
		struct trust_check check = {.manifest_digest =
						cases[i].digest_of[0] == '1' ? digest : other,
					    .keys = keys,
					    .n_keys = 1};
		struct trust_verdict v;
		assert_int_equal(trust_verify_attestations(&check, &atts, cases[i].type, &v, &err),
				 0);
		if (v.failure != cases[i].result)
			fail_msg("case %zu: %s", i, trust_failure_name(v.failure));
		trust_verdict_release(&v);
	}
	trust_signatures_release(&atts);
	/* The signatures of the image are not its attestations. */
	struct trust_signatures sigs = {0};
	assert_int_equal(trust_store_signatures(f->store, "reg.example/app", digest, &sigs, &err),
			 0);
	assert_int_equal(sigs.n, 0);
}

/* Signatures go with an image to a dir: layout and back into another
 * store, once. */
static void test_dir_carry(void **state)
{
	struct store_fixture *f = *state;
	struct petra_error *err = NULL;
	_cleanup_trust_key_ struct trust_key *priv = NULL, *pub = NULL;
	make_pair(&priv, &pub);
	char digest[OCI_DIGEST_SIZE];
	put_image(f->store, "reg.example/app:1", "carry", digest);
	struct trust_signed s;
	for (int i = 0; i < 2; i++) {
		_cleanup_json_ json_t *ann = json_pack("{s:i}", "n", i);
		assert_int_equal(
		    trust_store_sign(f->store, priv, "reg.example/app:1", NULL, ann, &s, &err), 0);
		trust_signed_release(&s);
	}
	/* The dir: layout: the same manifest bytes. */
	_cleanup_free_ char *dir = path_join(f->dir, "img");
	assert_int_equal(mkdir(dir, 0755), 0);
	_cleanup_free_ char *manifest = NULL;
	size_t len;
	assert_int_equal(petra_store_read_blob(f->store, digest, 1 << 20, &manifest, &len, &err),
			 0);
	_cleanup_free_ char *mpath = path_join(dir, "manifest.json");
	assert_int_equal(fs_write_file_atomic_at(AT_FDCWD, mpath, manifest, len, 0644, &err), 0);
	size_t n = 0;
	assert_int_equal(trust_dir_export_signatures(f->store, "reg.example/app:1", dir, &n, &err),
			 0);
	assert_int_equal(n, 2);

	/* Another store with the same image: the signatures come in, once. */
	_cleanup_free_ char *other_dir = path_join(f->dir, "store2");
	struct petra_store *other = NULL;
	assert_int_equal(
	    petra_store_open(other_dir, PETRA_STORE_CREATE | PETRA_STORE_WRITE, &other, &err), 0);
	char digest2[OCI_DIGEST_SIZE];
	put_image(other, "reg.example/app:1", "carry", digest2);
	assert_string_equal(digest, digest2);
	assert_int_equal(
	    check_store(other, "reg.example/app", digest, "reg.example/app:1", pub, NULL),
	    TRUST_NO_SIGNATURE);
	assert_int_equal(trust_dir_import_signatures(other, dir, "reg.example/app:1", &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(trust_dir_import_signatures(other, dir, "reg.example/app:1", &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    check_store(other, "reg.example/app", digest, "reg.example/app:1", pub, &n),
	    TRUST_ACCEPTED);
	assert_int_equal(n, 2);
	/* A dir: of another image is refused. */
	char digest3[OCI_DIGEST_SIZE];
	put_image(other, "reg.example/app:2", "another", digest3);
	assert_true(trust_dir_import_signatures(other, dir, "reg.example/app:2", &n, &err) < 0);
	assert_error_contains(err, "holds image");
	petra_error_free(err);
	petra_store_close(other);
}

/* containers/image's cosign fixtures, with its expected answers
 * (signature/policy_eval_sigstore_test.go). */
static void test_cosign_fixtures(void **state)
{
	(void)state;
	if (access(FIXTURES "/cosign.pub", R_OK) != 0)
		fail_msg("golang-github-containers-image-dev is not installed");
	struct petra_error *err = NULL;
	_cleanup_trust_key_ struct trust_key *key = NULL;
	assert_int_equal(trust_public_key_load(FIXTURES "/cosign.pub", &key, &err), 0);
	static const struct {
		const char *dir, *ref;
		enum trust_match match;
		int load;                  /* 0, or the errno trust_dir_load/digest gives */
		enum trust_failure result; /* when it loads */
		size_t accepted;
	} cases[] = {
	    {"dir-img-cosign-valid", FIXTURE_REF, TRUST_MATCH_REPOSITORY, 0, TRUST_ACCEPTED, 1},
	    {"dir-img-cosign-valid-2", FIXTURE_REF, TRUST_MATCH_REPOSITORY, 0, TRUST_ACCEPTED, 2},
	    {"dir-img-cosign-mixed", FIXTURE_REF, TRUST_MATCH_REPOSITORY, 0, TRUST_ACCEPTED, 1},
	    {"dir-img-cosign-modified-manifest", FIXTURE_REF, TRUST_MATCH_REPOSITORY, 0,
	     TRUST_DIGEST_MISMATCH, 0},
	    {"dir-img-cosign-manifest-digest-error", FIXTURE_REF, TRUST_MATCH_REPOSITORY, EINVAL, 0,
	     0},
	    {"dir-img-cosign-no-manifest", FIXTURE_REF, TRUST_MATCH_REPOSITORY, ENOENT, 0, 0},
	    {"dir-img-cosign-other-attachment", "testing/manifest:latest", TRUST_MATCH_REPOSITORY,
	     0, TRUST_NO_SIGNATURE, 0},
	    {"dir-img-cosign-valid", "testing/manifest:notlatest", TRUST_MATCH_REPOSITORY, 0,
	     TRUST_IDENTITY_MISMATCH, 0},
	    {"dir-img-cosign-valid-2", "this/doesnt:match", TRUST_MATCH_REPOSITORY, 0,
	     TRUST_IDENTITY_MISMATCH, 0},
	    {"dir-img-cosign-valid-with-tag", "192.168.64.2:5000/skopeo-signed:tag",
	     TRUST_MATCH_EXACT, 0, TRUST_ACCEPTED, 1},
	    {"dir-img-cosign-valid-with-tag", "192.168.64.2:5000/skopeo-signed:othertag",
	     TRUST_MATCH_EXACT, 0, TRUST_IDENTITY_MISMATCH, 0},
	    {"dir-img-cosign-valid", FIXTURE_REF, TRUST_MATCH_EXACT, 0, TRUST_IDENTITY_MISMATCH, 0},
	    {"dir-img-unsigned", "testing/manifest:latest", TRUST_MATCH_REPOSITORY, 0,
	     TRUST_NO_SIGNATURE, 0},
	    {"dir-img-valid", "testing/manifest:latest", TRUST_MATCH_REPOSITORY, 0,
	     TRUST_NO_SIGNATURE, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", FIXTURES, cases[i].dir);
		_cleanup_free_ char *manifest = NULL;
		size_t len = 0;
		struct trust_signatures sigs = {0};
		char digest[OCI_DIGEST_SIZE];
		int rc = trust_dir_load(path, &manifest, &len, &sigs, &err);
		if (rc == 0)
			rc = trust_manifest_digest(manifest, len, digest, &err);
		if (cases[i].load) {
			if (rc == 0 || err->code != cases[i].load)
				fail_msg("%s: expected errno %d", cases[i].dir, cases[i].load);
			petra_error_free(err);
			err = NULL;
			trust_signatures_release(&sigs);
			continue;
		}
		if (rc < 0)
			fail_msg("%s: %s", cases[i].dir, err->message);
		struct trust_key *keys[] = {key};
		struct trust_check check = {.manifest_digest = digest,
					    .intended = cases[i].ref,
					    .match = cases[i].match,
					    .keys = keys,
					    .n_keys = 1};
		struct trust_verdict v;
		assert_int_equal(trust_verify_signatures(&check, &sigs, &v, &err), 0);
		if (v.failure != cases[i].result ||
		    json_array_size(v.accepted) != cases[i].accepted)
			fail_msg("%s as %s: %s, %zu accepted", cases[i].dir, cases[i].ref,
				 trust_failure_name(v.failure), json_array_size(v.accepted));
		trust_verdict_release(&v);
		trust_signatures_release(&sigs);
	}

	/* unknown-cosign-key.signature: valid, but by another key. */
	_cleanup_free_ char *manifest = NULL;
	size_t len;
	struct trust_signatures sigs = {0};
	assert_int_equal(
	    trust_dir_load(FIXTURES "/dir-img-cosign-valid", &manifest, &len, &sigs, &err), 0);
	_cleanup_free_ char *unknown = NULL;
	assert_int_equal(fs_read_file_at(AT_FDCWD, FIXTURES "/unknown-cosign-key.signature",
					 1 << 20, &unknown, &len, &err),
			 0);
	/* Replace the good signature's annotation with the unknown key's. */
	_cleanup_json_ json_t *doc = json_loadb(unknown + 15, len - 15, 0, NULL);
	assert_non_null(doc);
	const char *b64 = json_string_value(
	    json_object_get(json_object_get(doc, "annotations"), TRUST_SIGNATURE_ANNOTATION));
	assert_non_null(b64);
	free(sigs.v[0].signature_b64);
	sigs.v[0].signature_b64 = xstrdup(b64);
	char digest[OCI_DIGEST_SIZE];
	assert_int_equal(trust_manifest_digest(manifest, strlen(manifest), digest, &err), 0);
	struct trust_key *keys[] = {key};
	struct trust_check check = {.manifest_digest = digest,
				    .intended = FIXTURE_REF,
				    .match = TRUST_MATCH_REPOSITORY,
				    .keys = keys,
				    .n_keys = 1};
	struct trust_verdict v;
	assert_int_equal(trust_verify_signatures(&check, &sigs, &v, &err), 0);
	assert_int_equal(v.failure, TRUST_WRONG_KEY);
	trust_verdict_release(&v);
	trust_signatures_release(&sigs);
}

static struct trust_containers_policy *cp_ok(const char *json)
{
	struct trust_containers_policy *p = NULL;
	struct petra_error *err = NULL;
	if (trust_containers_policy_parse(json, strlen(json), "/etc/containers/policy.json", &p,
					  &err) < 0)
		fail_msg("%s\n--- input:\n%s", err->message, json);
	return p;
}

/* The scope chosen for a docker image, and whether it was accepted. */
static const char *cp_scope(const struct trust_containers_policy *p, const char *transport,
			    const char *identity, bool *accepted)
{
	static const struct trust_signatures none = {0};
	struct trust_policy_image image = {.transport = transport,
					   .scope_identity = identity,
					   .reference = identity,
					   .manifest_digest = "sha256:00"};
	struct strvec reasons = STRVEC_INIT;
	const char *scope = NULL;
	struct petra_error *err = NULL;
	if (trust_containers_policy_check(p, &image, &none, &reasons, &scope, &err) < 0)
		fail_msg("%s", err->message);
	*accepted = reasons.n == 0;
	strvec_clear(&reasons);
	return scope;
}

static void test_containers_policy(void **state)
{
	(void)state;
	/* containers/image's own example parses (signedBaseLayer, X.509 key types). */
	struct petra_error *err = NULL;
	struct trust_containers_policy *p = NULL;
	assert_int_equal(trust_containers_policy_load(FIXTURES "/policy.json", &p, &err), 0);
	bool ok;
	assert_string_equal(cp_scope(p, "dir", "/any/where", &ok), "transport \"dir\" scope \"\"");
	assert_true(ok);
	assert_string_equal(cp_scope(p, "docker", "example.com/playground/app:1", &ok),
			    "transport \"docker\" scope \"example.com/playground\"");
	assert_true(ok);
	assert_string_equal(cp_scope(p, "docker", "docker.io/library/busybox:latest", &ok),
			    "default");
	assert_false(ok);
	/* A key file that is not there is an error, not an acceptance. */
	struct trust_policy_image prod = {.transport = "docker",
					  .scope_identity = "example.com/production/x:1",
					  .reference = "example.com/production/x:1",
					  .manifest_digest = "sha256:00"};
	struct trust_signatures none = {0};
	struct strvec reasons = STRVEC_INIT;
	assert_true(trust_containers_policy_check(p, &prod, &none, &reasons, NULL, &err) < 0);
	assert_int_equal(err->code, ENOENT);
	petra_error_free(err);
	err = NULL;
	strvec_clear(&reasons);
	trust_containers_policy_free(p);

	/* Most specific scope: tag, repository, namespaces, wildcard host,
	 * the transport's "", then default. */
	p = cp_ok("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
		  "\"reg.example/a/b:1\":[{\"type\":\"insecureAcceptAnything\"}],"
		  "\"reg.example/a/b\":[{\"type\":\"reject\"}],"
		  "\"reg.example/a\":[{\"type\":\"insecureAcceptAnything\"}],"
		  "\"*.example\":[{\"type\":\"reject\"}],"
		  "\"\":[{\"type\":\"insecureAcceptAnything\"}]},"
		  "\"dir\":{\"/srv/images\":[{\"type\":\"reject\"}]}}}");
	assert_string_equal(cp_scope(p, "docker", "reg.example/a/b:1", &ok),
			    "transport \"docker\" scope \"reg.example/a/b:1\"");
	assert_true(ok);
	assert_string_equal(cp_scope(p, "docker", "reg.example/a/b:2", &ok),
			    "transport \"docker\" scope \"reg.example/a/b\"");
	assert_false(ok);
	assert_string_equal(cp_scope(p, "docker", "reg.example/a/c/d@sha256:00", &ok),
			    "transport \"docker\" scope \"reg.example/a\"");
	assert_true(ok);
	assert_string_equal(cp_scope(p, "docker", "sub.reg.example/x:1", &ok),
			    "transport \"docker\" scope \"*.example\"");
	assert_false(ok);
	assert_string_equal(cp_scope(p, "docker", "quay.io/x:1", &ok),
			    "transport \"docker\" scope \"\"");
	assert_true(ok);
	assert_string_equal(cp_scope(p, "dir", "/srv/images/app", &ok),
			    "transport \"dir\" scope \"/srv/images\"");
	assert_false(ok);
	assert_string_equal(cp_scope(p, "oci", "/x", &ok), "default");
	trust_containers_policy_free(p);
	/* signedBaseLayer parses, and is refused when evaluated, as
	 * containers/image does. */
	p = cp_ok("{\"default\":[{\"type\":\"signedBaseLayer\",\"baseLayerIdentity\":{"
		  "\"type\":\"exactRepository\",\"dockerRepository\":\"a/b\"}}]}");
	cp_scope(p, "docker", "a/b:1", &ok);
	assert_false(ok);
	trust_containers_policy_free(p);

	static const struct {
		const char *json, *error;
	} bad[] = {
	    {"{}", "\"default\" is missing"},
	    {"{\"default\":[]}", "not a non-empty list"},
	    {"{\"default\":[{\"type\":\"accept\"}]}", "unknown requirement type \"accept\""},
	    {"{\"default\":[{\"type\":\"reject\",\"x\":1}]}", "unknown field \"x\""},
	    {"{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\"}]}",
	     "exactly one of keyPath"},
	    {"{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"PGP\",\"keyPath\":\"k\"}]}",
	     "unknown keyType"},
	    {"{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\",\"signedIdentity\":{"
	     "\"type\":\"exactReference\",\"dockerReference\":\"repo\"}}]}",
	     "not a tagged or digested reference"},
	    {"{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":[]}}",
	     "is not an object"},
	    {"{\"default\":[{\"type\":\"reject\"}],\"default\":[]}", "invalid JSON"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (trust_containers_policy_parse(bad[i].json, strlen(bad[i].json), "/p.json", &p,
						  &err) == 0)
			fail_msg("accepted: %s", bad[i].json);
		if (!strstr(err->message, bad[i].error) || strncmp(err->message, "/p.json: ", 9))
			fail_msg("\"%s\" does not say \"%s\"", err->message, bad[i].error);
		petra_error_free(err);
		err = NULL;
	}
}

/* containers/image's GPG fixtures (policy_eval_signedby_test.go). */
static void test_gpg_fixtures(void **state)
{
	(void)state;
	struct petra_error *err = NULL;
	struct trust_gpg *gpg = NULL;
	const char *keyring = FIXTURES "/public-key.gpg";
	if (trust_gpg_open(&keyring, 1, &gpg, &err) < 0)
		fail_msg("%s", err->message);
	assert_true(trust_gpg_trusts(gpg, "1D8230F6CDB6A06716E414C1DB72F2188BB46CC8"));
	static const struct {
		const char *dir, *ref;
		enum trust_failure result;
		size_t accepted;
	} cases[] = {
	    {"dir-img-valid", "testing/manifest:latest", TRUST_ACCEPTED, 1},
	    {"dir-img-unsigned", "testing/manifest:latest", TRUST_NO_SIGNATURE, 0},
	    {"dir-img-valid", "testing/manifest:notlatest", TRUST_IDENTITY_MISMATCH, 0},
	    {"dir-img-valid-2", "testing/manifest:latest", TRUST_ACCEPTED, 2},
	    {"dir-img-mixed", "testing/manifest:latest", TRUST_ACCEPTED, 1},
	    {"dir-img-valid-2", "testing/manifest:notlatest", TRUST_IDENTITY_MISMATCH, 0},
	    {"dir-img-modified-manifest", "testing/manifest:latest", TRUST_DIGEST_MISMATCH, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", FIXTURES, cases[i].dir);
		_cleanup_free_ char *manifest = NULL;
		size_t len;
		struct trust_signatures sigs = {0};
		char digest[OCI_DIGEST_SIZE];
		if (trust_dir_load(path, &manifest, &len, &sigs, &err) < 0 ||
		    trust_manifest_digest(manifest, len, digest, &err) < 0)
			fail_msg("%s", err->message);
		struct trust_check check = {.manifest_digest = digest,
					    .intended = cases[i].ref,
					    .match = TRUST_MATCH_EXACT,
					    .gpg = gpg};
		struct trust_verdict v;
		assert_int_equal(trust_verify_signatures(&check, &sigs, &v, &err), 0);
		if (v.failure != cases[i].result ||
		    json_array_size(v.accepted) != cases[i].accepted)
			fail_msg("%s as %s: %s", cases[i].dir, cases[i].ref,
				 trust_failure_name(v.failure));
		trust_verdict_release(&v);
		trust_signatures_release(&sigs);
	}
	trust_gpg_free(gpg);
	/* A file with no key in it. */
	const char *not_keys = FIXTURES "/image.manifest.json";
	assert_true(trust_gpg_open(&not_keys, 1, &gpg, &err) < 0);
	petra_error_free(err);
}

/* registries.d: scope precedence as containers/image (the reference, its
 * repository, parent namespaces, the host, default-docker), staging
 * first when writing, the older key names, and the errors. */
static void test_registries_d(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	test_write_file(dir, "a.yaml",
			"default-docker:\n"
			"  lookaside: https://sigs.example/default/\n"
			"docker:\n"
			"  reg.example:\n"
			"    sigstore: file:///host\n"
			"    sigstore-staging: file:///host-staging\n"
			"  reg.example/team:\n"
			"    lookaside: http://team.example\n",
			0644);
	test_write_file(dir, "b.yaml",
			"docker:\n"
			"  reg.example/team/app:2:\n"
			"    lookaside: file:///app2\n"
			"  docker.io/library/debian:\n"
			"    lookaside: file:///debian\n"
			"    unknown-key: ignored\n",
			0644);
	test_write_file(dir, "notyaml.conf", "docker: [broken\n", 0644);
	struct petra_error *err = NULL;
	struct trust_registries_d *d = NULL;
	assert_int_equal(trust_registries_d_load(dir, &d, &err), 0);
	struct {
		const char *ref;
		bool write;
		const char *url;
	} cases[] = {
	    {"reg.example/team/app:1", false, "http://team.example/team/app"},
	    {"reg.example/team/sub/app:1", false, "http://team.example/team/sub/app"},
	    {"reg.example/team/app:2", false, "file:///app2/team/app"},
	    {"reg.example/other/app:1", false, "file:///host/other/app"},
	    {"reg.example/other/app:1", true, "file:///host-staging/other/app"},
	    {"reg.example/team/app:1", true, "http://team.example/team/app"},
	    {"elsewhere.example:5000/x/y@sha256:"
	     "0000000000000000000000000000000000000000000000000000000000000000",
	     false, "https://sigs.example/default/x/y"},
	    {"debian:12", false, "file:///debian/library/debian"},
	    {"reg.example.evil/team/app:1", false, "https://sigs.example/default/team/app"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *url = trust_lookaside_url(d, cases[i].ref, cases[i].write);
		if (!url || strcmp(url, cases[i].url))
			fail_msg("%s (%s): %s, not %s", cases[i].ref,
				 cases[i].write ? "write" : "read", url ? url : "(none)",
				 cases[i].url);
	}
	trust_registries_d_free(d);

	/* Nothing configured: no URL, and writing says so. */
	char *empty = test_tmpdir();
	assert_int_equal(trust_registries_d_load(empty, &d, &err), 0);
	assert_null(trust_lookaside_url(d, "reg.example/app:1", false));
	size_t written = 1;
	struct trust_blob blob = {"x", 1};
	assert_true(trust_lookaside_write(d, "reg.example/app:1",
					  "sha256:"
					  "00000000000000000000000000000000"
					  "00000000000000000000000000000000",
					  &blob, 1, &written, &err) < 0);
	assert_error_contains(err, "no lookaside-staging");
	petra_error_free(err);
	err = NULL;
	trust_registries_d_free(d);

	/* A scope twice, both spellings at once, a non-string URL. */
	test_write_file(empty, "c.yaml", "docker:\n  reg.example:\n    lookaside: file:///c\n",
			0644);
	test_write_file(empty, "d.yaml", "docker:\n  reg.example:\n    lookaside: file:///d\n",
			0644);
	assert_true(trust_registries_d_load(empty, &d, &err) < 0);
	assert_error_contains(err, "also configured in");
	petra_error_free(err);
	err = NULL;
	test_write_file(empty, "d.yaml", "default-docker:\n  lookaside: [1]\n", 0644);
	assert_true(trust_registries_d_load(empty, &d, &err) < 0);
	assert_error_contains(err, "default-docker.lookaside: must be a string");
	petra_error_free(err);
	err = NULL;
	test_write_file(empty, "d.yaml",
			"default-docker:\n  lookaside: file:///a\n  sigstore: file:///b\n", 0644);
	assert_true(trust_registries_d_load(empty, &d, &err) < 0);
	assert_error_contains(err, "both set");
	petra_error_free(err);
	test_rmtree(empty);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keygen_round_trip),
	    cmocka_unit_test(test_cosign_made_keys),
	    cmocka_unit_test(test_payload),
	    cmocka_unit_test(test_identity_rules),
	    cmocka_unit_test_setup_teardown(test_store_sign_verify, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test(test_cosign_fixtures),
	    cmocka_unit_test_setup_teardown(test_dir_carry, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_attestations, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test(test_containers_policy),
	    cmocka_unit_test(test_gpg_fixtures),
	    cmocka_unit_test(test_registries_d),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
