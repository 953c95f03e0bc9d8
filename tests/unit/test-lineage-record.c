/* SPDX-License-Identifier: Apache-2.0 */
/* lineage records: the statement, strict parsing, save and load as referrers. */
#include "store-fixture.h"

#include "lineage/lineage.h"

#include <string.h>

#define BASE_DIGEST "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define COPY_DIGEST "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define DF_DIGEST   "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define POL_DIGEST  "sha256:4444444444444444444444444444444444444444444444444444444444444444"

static void put_image(struct store_fixture *f, const char *name, struct oci_descriptor *out)
{
	struct petra_error *err = NULL;
	char config[OCI_DIGEST_SIZE], manifest[OCI_DIGEST_SIZE];
	assert_int_equal(petra_store_put_blob(f->store, "{\"rootfs\":{}}", 13, config, &err), 0);
	char *text =
	    xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		      "\"%s\",\"digest\":\"%s\",\"size\":13},\"layers\":[]}",
		      OCI_MEDIA_TYPE_MANIFEST, OCI_MEDIA_TYPE_CONFIG, config);
	assert_int_equal(petra_store_put_blob(f->store, text, strlen(text), manifest, &err), 0);
	memset(out, 0, sizeof(*out));
	out->media_type = xstrdup(OCI_MEDIA_TYPE_MANIFEST);
	memcpy(out->digest, manifest, sizeof(manifest));
	out->size = (int64_t)strlen(text);
	free(text);
	assert_int_equal(petra_store_set_ref(f->store, name, out, &err), 0);
}

static void fill(struct lineage_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->producer = xstrdup("build");
	lineage_record_add_material(rec, "base", "docker.io/library/base:1", BASE_DIGEST);
	lineage_record_add_material(rec, "copy-from", "tools:2", COPY_DIGEST);
	rec->dockerfile_path = xstrdup("/src/app/Dockerfile");
	snprintf(rec->dockerfile_digest, sizeof(rec->dockerfile_digest), "%s", DF_DIGEST);
	rec->context_dir = xstrdup("/src/app");
	rec->git_remote = xstrdup("https://example.com/app.git");
	rec->git_revision = xstrdup("0123456789abcdef0123456789abcdef01234567");
	rec->build_args = xcalloc(2, sizeof(char *));
	rec->build_args[rec->n_build_args++] = xstrdup("FLAVOUR=mint");
	rec->target = xstrdup("final");
	snprintf(rec->policy_digest, sizeof(rec->policy_digest), "%s", POL_DIGEST);
	rec->parameters = json_pack("{s:b}", "squash", 1);
	rec->started = 1700000000;
	rec->finished = 1700000060;
}

static void test_save_and_load(void **state)
{
	struct store_fixture *f = *state;
	struct oci_descriptor img;
	put_image(f, "app:1", &img);
	struct petra_error *err = NULL;
	struct lineage_record rec, back;
	assert_int_equal(lineage_record_load(f->store, img.digest, &back, &err), -ENOENT);
	assert_null(err);
	fill(&rec);
	assert_int_equal(lineage_record_save(f->store, img.digest, &rec, &err), 0);
	assert_int_equal(lineage_record_load(f->store, img.digest, &back, &err), 0);
	assert_string_equal(back.producer, "build");
	assert_int_equal(back.n_materials, 2);
	assert_string_equal(back.materials[0].role, "base");
	assert_string_equal(back.materials[0].name, "docker.io/library/base:1");
	assert_string_equal(back.materials[0].digest, BASE_DIGEST);
	assert_string_equal(back.materials[1].role, "copy-from");
	assert_string_equal(back.materials[1].digest, COPY_DIGEST);
	assert_string_equal(back.dockerfile_path, "/src/app/Dockerfile");
	assert_string_equal(back.dockerfile_digest, DF_DIGEST);
	assert_string_equal(back.context_dir, "/src/app");
	assert_string_equal(back.git_remote, "https://example.com/app.git");
	assert_string_equal(back.git_revision, "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(back.n_build_args, 1);
	assert_string_equal(back.build_args[0], "FLAVOUR=mint");
	assert_string_equal(back.target, "final");
	assert_string_equal(back.policy_digest, POL_DIGEST);
	assert_true(json_is_true(json_object_get(back.parameters, "squash")));
	assert_string_equal(back.image_name, "app:1");
	assert_int_equal(back.started, 1700000000);
	assert_int_equal(back.finished, 1700000060);
	assert_string_equal(back.builder_id, "https://petra.dev/petra@" PETRA_VERSION);
	lineage_record_release(&back);
	/* The referrer manifest: artifactType, the empty config, the subject. */
	struct oci_descriptor *v = NULL;
	size_t n = 0;
	assert_int_equal(
	    petra_store_list_referrers(f->store, img.digest, LINEAGE_ARTIFACT_TYPE, &v, &n, &err),
	    0);
	assert_int_equal(n, 1);
	char *data;
	size_t len;
	assert_int_equal(petra_store_read_blob(f->store, v[0].digest, 1 << 20, &data, &len, &err),
			 0);
	json_t *m = json_loadb(data, len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(m, "artifactType")),
			    LINEAGE_ARTIFACT_TYPE);
	assert_string_equal(json_get_string(json_object_get(m, "config"), "digest"),
			    OCI_EMPTY_DIGEST);
	assert_string_equal(json_get_string(json_object_get(m, "config"), "mediaType"),
			    OCI_MEDIA_TYPE_EMPTY);
	assert_string_equal(json_get_string(json_object_get(m, "subject"), "digest"), img.digest);
	assert_string_equal(
	    json_get_string(json_object_get(m, "annotations"), LINEAGE_ANNOTATION_PREDICATE),
	    LINEAGE_PREDICATE_TYPE);
	json_decref(m);
	free(data);
	oci_descriptors_release(v, n);
	/* Saved again (the image made again): one record, the newest. */
	rec.finished = 1700000120;
	assert_int_equal(lineage_record_save(f->store, img.digest, &rec, &err), 0);
	assert_int_equal(
	    petra_store_list_referrers(f->store, img.digest, LINEAGE_ARTIFACT_TYPE, &v, &n, &err),
	    0);
	assert_int_equal(n, 1);
	oci_descriptors_release(v, n);
	assert_int_equal(lineage_record_load(f->store, img.digest, &back, &err), 0);
	assert_int_equal(back.finished, 1700000120);
	lineage_record_release(&back);
	lineage_record_release(&rec);
	oci_descriptor_release(&img);
}

static void parse_fails(const char *text, const char *needle)
{
	struct lineage_record rec;
	struct petra_error *err = NULL;
	assert_true(lineage_record_parse(text, strlen(text), &rec, &err) < 0);
	assert_error_contains(err, needle);
	petra_error_free(err);
}

static void test_strict_parsing(void **state)
{
	(void)state;
	struct lineage_record rec;
	fill(&rec);
	json_t *st = lineage_record_statement(&rec, "app:1", BASE_DIGEST);
	lineage_record_release(&rec);
	assert_string_equal(json_get_string(st, "_type"), LINEAGE_STATEMENT_TYPE);
	json_t *def = json_object_get(json_object_get(st, "predicate"), "buildDefinition");
	json_t *dep = json_array_get(json_object_get(def, "resolvedDependencies"), 0);
	assert_string_equal(json_get_string(dep, "uri"), "docker://docker.io/library/base:1");
	/* Each field wrong in turn. */
	struct {
		const char *path, *value, *needle;
	} cases[] = {
	    {"/predicate/buildDefinition/resolvedDependencies/0/digest/sha256", "7",
	     "resolvedDependencies[0].digest.sha256 is not a string"},
	    {"/predicate/buildDefinition/resolvedDependencies/1/annotations", "[]",
	     "resolvedDependencies[1].annotations is not an object"},
	    {"/predicate/buildDefinition/externalParameters/dockerfile/path", "1",
	     "externalParameters.dockerfile.path is not a string"},
	    {"/predicate/buildDefinition/externalParameters/buildArgs/FLAVOUR", "1",
	     "externalParameters.buildArgs.FLAVOUR is not a string"},
	    {"/predicate/buildDefinition/internalParameters/policy/digest/sha256", "\"xyz\"",
	     "policy.digest.sha256 is not a sha256 digest"},
	    {"/predicate/runDetails/metadata/finishedOn", "\"yesterday\"",
	     "finishedOn is not an RFC 3339 time"},
	    {"/predicateType", "\"https://example.com/other\"", "predicateType is"},
	    {"/subject", "{}", "subject is not an array"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *copy = json_deep_copy(st);
		/* Walk the path to the parent, set the last key. */
		char *path = xstrdup(cases[i].path);
		json_t *node = copy;
		char *save = NULL, *tok = strtok_r(path + 1, "/", &save), *next;
		while ((next = strtok_r(NULL, "/", &save))) {
			node = json_is_array(node) ? json_array_get(node, strtoul(tok, NULL, 10))
						   : json_object_get(node, tok);
			tok = next;
		}
		json_object_set_new(node, tok, json_loads(cases[i].value, JSON_DECODE_ANY, NULL));
		char *text = json_dumps(copy, 0);
		parse_fails(text, cases[i].needle);
		free(text);
		free(path);
		json_decref(copy);
	}
	parse_fails("[]", "not a JSON object");
	parse_fails("{\"_type\":\"x\",\"predicateType\":\"y\"}", "_type is \"x\"");
	json_decref(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_save_and_load, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test(test_strict_parsing),
	};
	return cmocka_run_group_tests_name("lineage-record", tests, NULL, NULL);
}
