/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/kube: quantities and names as Kubernetes spells
 * them, the YAML emitter's quoting, and the admission webhook's decisions
 * (no HTTP, no store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <errno.h>

#include "kube/kube.h"

static void test_quantities(void **state)
{
	(void)state;
	char *q;
	q = kube_quantity_bytes(64u << 20);
	assert_string_equal(q, "64Mi");
	free(q);
	q = kube_quantity_bytes(3072);
	assert_string_equal(q, "3Ki");
	free(q);
	q = kube_quantity_bytes(1536); /* 1.5Ki: a quantity's unit divides it */
	assert_string_equal(q, "1536");
	free(q);
	q = kube_quantity_bytes(1000);
	assert_string_equal(q, "1000");
	free(q);
	q = kube_quantity_millicpus(500);
	assert_string_equal(q, "500m");
	free(q);
	q = kube_quantity_millicpus(2000);
	assert_string_equal(q, "2");
	free(q);
}

static void test_dns_label(void **state)
{
	(void)state;
	char *s = kube_dns_label("Front_End..App-");
	assert_string_equal(s, "front-end-app");
	free(s);
	s = kube_dns_label("___");
	assert_string_equal(s, "app");
	free(s);
}

static void test_yaml_keeps_strings_strings(void **state)
{
	(void)state;
	json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:b,s:s}", "a", "8080", "b", "true", "c", "x: y",
			      "d", 7, "e", 1, "f", "plain/text@sha256:ab");
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(kube_yaml_emit(j, &sb, NULL), 0);
	assert_non_null(strstr(sb.buf, "a: \"8080\"\n"));
	assert_non_null(strstr(sb.buf, "b: \"true\"\n"));
	assert_non_null(strstr(sb.buf, "c: \"x: y\"\n"));
	assert_non_null(strstr(sb.buf, "d: 7\n"));
	assert_non_null(strstr(sb.buf, "e: true\n"));
	assert_non_null(strstr(sb.buf, "f: plain/text@sha256:ab\n"));
	strbuf_release(&sb);
	json_decref(j);
}

static const char privileged_pod[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
    "\"uid\":\"u-1\",\"operation\":\"%s\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
    "\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x:1\","
    "\"securityContext\":{\"privileged\":true}}]}}}}";

static json_t *review(struct kube_linter *l, const char *body, int *status)
{
	struct kube_admission_options o = {.deny_at = LINT_ERROR, .max_body = 4096};
	char *response = NULL;
	kube_admission_review(l, &o, body, strlen(body), status, &response);
	json_t *j = json_loads(response, 0, NULL);
	free(response);
	return j;
}

static void test_admission(void **state)
{
	(void)state;
	struct kube_linter *l = NULL;
	assert_int_equal(kube_linter_new(NULL, &l, NULL), 0);
	char body[2048];
	int status;

	snprintf(body, sizeof(body), privileged_pod, "CREATE");
	json_t *j = review(l, body, &status);
	assert_int_equal(status, 200);
	json_t *resp = json_object_get(j, "response");
	assert_string_equal(json_string_value(json_object_get(resp, "uid")), "u-1");
	assert_true(json_is_false(json_object_get(resp, "allowed")));
	const char *msg =
	    json_string_value(json_object_get(json_object_get(resp, "status"), "message"));
	assert_non_null(strstr(msg, "KL103 Pod/p: container c is privileged"));
	assert_non_null(strstr(msg, "KL101"));
	json_decref(j);

	snprintf(body, sizeof(body), privileged_pod, "DELETE");
	j = review(l, body, &status);
	assert_int_equal(status, 200);
	assert_true(json_is_true(json_object_get(json_object_get(j, "response"), "allowed")));
	json_decref(j);

	j = review(l, "{\"apiVersion\":", &status);
	assert_int_equal(status, 400);
	json_decref(j);
	j = review(l, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
		   &status);
	assert_int_equal(status, 400);
	json_decref(j);
	char *big = malloc(8192);
	memset(big, ' ', 8191);
	big[8191] = '\0';
	j = review(l, big, &status);
	assert_int_equal(status, 400);
	json_decref(j);
	free(big);
	kube_linter_free(l);
}

/* kubectl get pods -A -o json: every status list, every image ID form. */
static void test_pods(void **state)
{
	(void)state;
	const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *doc = xasprintf(
	    "{\"kind\":\"List\",\"items\":["
	    "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":\"ns\"},"
	    "\"status\":{\"containerStatuses\":["
	    "{\"name\":\"a\",\"imageID\":\"docker-pullable://r/x@sha256:%s\","
	    "\"state\":{\"running\":{}}},"
	    "{\"name\":\"b\",\"imageID\":\"sha256:%s\",\"state\":{\"waiting\":{}}},"
	    "{\"name\":\"c\",\"imageID\":\"docker://sha256:%s\",\"state\":{\"running\":{}}},"
	    "{\"name\":\"d\",\"imageID\":\"r/x:latest\",\"state\":{\"running\":{}}},"
	    "{\"name\":\"e\",\"imageID\":\"sha256:%.63s\",\"state\":{\"running\":{}}}],"
	    "\"initContainerStatuses\":[{\"name\":\"i\",\"imageID\":\"\","
	    "\"state\":{\"terminated\":{}}}],"
	    "\"ephemeralContainerStatuses\":[{\"name\":\"x\",\"state\":null}]}},"
	    "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p2\"}}]}",
	    hex, hex, hex, hex);
	struct kube_pods pods;
	struct petra_error *err = NULL;
	assert_int_equal(kube_pods_parse(doc, strlen(doc), "pods.json", &pods, &err), 0);
	free(doc);
	assert_int_equal(pods.n, 7);
	/* Init containers first, then the pod's own, then ephemeral ones. */
	assert_string_equal(pods.v[0].container, "i");
	assert_int_equal(pods.v[0].kind, KUBE_CONTAINER_INIT);
	assert_false(pods.v[0].running);
	assert_string_equal(pods.v[0].digest, "");
	assert_string_equal(pods.v[1].namespace, "ns");
	assert_string_equal(pods.v[1].pod, "p1");
	assert_true(pods.v[1].running);
	assert_string_equal(pods.v[1].digest + 7, hex);
	assert_false(pods.v[2].running);
	assert_string_equal(pods.v[2].digest + 7, hex);
	assert_string_equal(pods.v[3].digest + 7, hex);
	assert_string_equal(pods.v[4].digest, ""); /* a tag is no digest */
	assert_string_equal(pods.v[5].digest, ""); /* nor a short one */
	assert_string_equal(pods.v[6].container, "x");
	assert_int_equal(pods.v[6].kind, KUBE_CONTAINER_EPHEMERAL);
	assert_string_equal(pods.v[6].image_id, "");
	kube_pods_release(&pods);

	/* One Pod alone; no namespace is "default". */
	const char *one = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"solo\"},\"status\":"
			  "{\"containerStatuses\":[{\"name\":\"c\",\"state\":{\"running\":{}}}]}}";
	assert_int_equal(kube_pods_parse(one, strlen(one), "pod.json", &pods, &err), 0);
	assert_int_equal(pods.n, 1);
	assert_string_equal(pods.v[0].namespace, "default");
	kube_pods_release(&pods);

	/* Wrong types, named by their path. */
	static const struct {
		const char *doc, *message;
	} bad[] = {
	    {"[]", "f: expected an object (a List of Pods)"},
	    {"{\"items\":[]}", "f: kind: expected a string (it is missing)"},
	    {"{\"kind\":\"List\",\"items\":{}}", "f: items: expected an array"},
	    {"{\"kind\":\"List\",\"items\":[3]}", "f: items[0]: expected an object (a Pod)"},
	    {"{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\"}]}",
	     "f: items[0].kind: expected \"Pod\", not \"Service\""},
	    {"{\"kind\":\"List\",\"items\":[{}]}",
	     "f: items[0].metadata: expected an object (it is missing)"},
	    {"{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":1}}]}",
	     "f: items[0].metadata.name: expected a string"},
	    {"{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":\"a\\u0000b\"}}]}",
	     "f: items[0].metadata.name: expected a string without NUL bytes"},
	    {"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"status\":{\"containerStatuses\":"
	     "[{\"name\":\"c\",\"state\":{\"running\":true}}]}}",
	     "f: status.containerStatuses[0].state.running: expected an object"},
	    {"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"status\":{\"containerStatuses\":"
	     "[{\"name\":\"c\",\"started\":\"yes\"}]}}",
	     "f: status.containerStatuses[0].started: expected a boolean"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kube_pods_parse(bad[i].doc, strlen(bad[i].doc), "f", &pods, &err),
				 -EINVAL);
		assert_string_equal(err->message, bad[i].message);
		assert_int_equal(pods.n, 0);
		petra_error_free(err);
		err = NULL;
	}
}

/* The registry cache without a registry: a reference by digest is read
 * from configs/ and manifests/ alone (a config without its manifest, as
 * an older cache kept, is a miss), a tag through refs/ (which only a fetch writes);
 * without fetch_on_miss a miss is 0 (queued), never a network call. */
static void test_remote_cache(void **state)
{
	(void)state;
	char dir[] = "/tmp/petra-test-remote-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct kube_remote_options o = {.cache_dir = dir, .tls_verify = 0};
	struct kube_remote *r = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(kube_remote_new(&o, &r, &err), 0);
	const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *path = xasprintf("%s/configs/sha256-%s.json", dir, hex);
	const char *config = "{\"config\":{\"User\":\"1000\"}}";
	assert_int_equal(
	    fs_write_file_atomic_at(AT_FDCWD, path, config, strlen(config), 0600, &err), 0);
	char *ref = xasprintf("127.0.0.1:1/web@sha256:%s", hex);
	struct kube_remote_image got = {0};
	assert_int_equal(kube_remote_image(r, ref, &got, &err), 0);
	assert_null(got.config);
	char *mpath = xasprintf("%s/manifests/sha256-%s.json", dir, hex);
	const char *manifest = "{\"annotations\":{\"org.opencontainers.image.base.name\":\"b\"}}";
	assert_int_equal(
	    fs_write_file_atomic_at(AT_FDCWD, mpath, manifest, strlen(manifest), 0600, &err), 0);
	assert_int_equal(kube_remote_image(r, ref, &got, &err), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(got.config, "config"), "User")),
	    "1000");
	assert_non_null(json_object_get(got.manifest, "annotations"));
	/* No signatures fetched yet: none. */
	assert_true(json_is_array(got.signatures));
	assert_int_equal(json_array_size(got.signatures), 0);
	/* No path list yet: KL202 waits for it. */
	assert_false(got.has_paths);
	kube_remote_image_release(&got);
	char *ppath = xasprintf("%s/paths/sha256-%s.txt", dir, hex);
	const char *list = "/bin/\n/bin/sh\n/srv/\n";
	assert_int_equal(fs_write_file_atomic_at(AT_FDCWD, ppath, list, strlen(list), 0600, &err),
			 0);
	assert_int_equal(kube_remote_image(r, ref, &got, &err), 1);
	assert_true(got.has_paths);
	struct strvec paths = STRVEC_INIT;
	assert_true(kube_remote_paths(r, got.digest, &paths));
	assert_int_equal(paths.n, 3);
	assert_string_equal(paths.v[1], "/bin/sh");
	strvec_clear(&paths);
	kube_remote_image_release(&got);
	unlink(ppath);
	free(ppath);
	/* A tag never fetched, a bad digest: misses, answered at once. */
	assert_int_equal(kube_remote_image(r, "127.0.0.1:1/web:2", &got, &err), 0);
	assert_null(got.config);
	assert_int_equal(kube_remote_image(r, "127.0.0.1:1/web@sha256:zz", &got, &err), 0);
	kube_remote_free(r);
	unlink(path);
	unlink(mpath);
	free(path);
	free(mpath);
	free(ref);
	assert_int_equal(fs_remove_tree_at(AT_FDCWD, dir, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quantities),
	    cmocka_unit_test(test_dns_label),
	    cmocka_unit_test(test_yaml_keeps_strings_strings),
	    cmocka_unit_test(test_admission),
	    cmocka_unit_test(test_pods),
	    cmocka_unit_test(test_remote_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
