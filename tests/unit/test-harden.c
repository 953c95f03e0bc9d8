/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/harden: crafted images hardened, then read back
 * (imagefs, unpack) and audited: what was deleted is gone, the base is
 * shared and corrected, the user, the writable paths, the labels. */
#include "image-builder.h"
#include "store-fixture.h"

#include <sys/stat.h>

#include "audit/audit.h"
#include "harden/harden.h"
#include "imagefs/imagefs.h"
#include "policy/policy.h"

#define GH_TOKEN "ghp_0123456789abcdefghijABCDEFGHIJ012345"

/* A base of two layers and an application of three, the base recorded in
 * the manifest annotation (its image in the store, as a builder leaves
 * it). */
static const struct test_layer base_layers[] = {
    TEST_LAYER("FROM scratch: busybox", {'d', "bin"}, {'f', "bin/busybox", 0755, 0, 0, "ELF"},
	       {'l', "bin/sh", 0, 0, 0, "busybox"}, {'f', "bin/su", 04755, 0, 0, "ELF su"},
	       {'h', "bin/su2", 04755, 0, 0, "bin/su"}, {'d', "etc"},
	       {'f', "etc/passwd", 0644, 0, 0,
		"root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"},
	       {'f', "etc/group", 0644, 0, 0, "root:x:0:\napp:x:1001:\n"}, {'d', "tmp", 01777},
	       {'d', "dev"}, {'c', "dev/null"}),
    TEST_LAYER("RUN mkdir /var/cache/app", {'d', "var"}, {'d', "var/cache"},
	       {'d', "var/cache/app", 0775, 1000, 1001},
	       {'f', "var/cache/app/stale", 0664, 1000, 1001, "old cache"},
	       {'f', "etc/motd", 0600, 1000, 1001, "hello"}),
};

static const struct test_layer app_layers[] = {
    TEST_LAYER("COPY . /app", {'d', "app", 0777, 1000, 1001},
	       {'f', "app/run", 0775, 1000, 1001, "#!/bin/sh\necho run\n"},
	       {'f', "app/config", 0664, 1000, 1001, "port=80\n"},
	       {'f', "app/.env", 0600, 1000, 1001, "GITHUB_TOKEN=" GH_TOKEN "\n"}),
    TEST_LAYER("RUN rm /app/.env /bin/su && echo done", {'w', "app/.env"},
	       {'f', "app/tmpfile", 0644, 0, 0, "scratch"}),
    TEST_LAYER("RUN rm /app/tmpfile", {'w', "app/tmpfile"},
	       {'f', "usr-local-tool", 06755, 0, 0, "ELF tool"}),
};

static void build_images(struct store_fixture *f)
{
	test_build_image(f->store, "base:1", base_layers, 2, "{}");
	struct image base;
	struct petra_error *err = NULL;
	assert_int_equal(image_load(f->store, "base:1", &base, &err), 0);
	struct test_layer all[5];
	memcpy(all, base_layers, sizeof(base_layers));
	memcpy(all + 2, app_layers, sizeof(app_layers));
	char *ann =
	    xasprintf("{\"org.opencontainers.image.base.digest\": \"%s\"}", base.desc.digest);
	test_build_image_annotated(f->store, "app:1", all, 5,
				   "{\"User\": \"app\", \"Cmd\": [\"/app/run\"]}", ann);
	free(ann);
	image_release(&base);
}

static struct harden_options options(const char *name)
{
	struct harden_options o = {
	    .name = name,
	    .squash = HARDEN_SQUASH_APP,
	    .base_layers = -1,
	    .compression = LAYER_COMPRESSION_GZIP,
	};
	return o;
}

static void harden_ok(struct store_fixture *f, const char *ref, const struct harden_options *o,
		      struct harden_result *res)
{
	struct petra_error *err = NULL;
	if (harden_image(f->store, ref, o, res, &err) < 0)
		fail_msg("harden: %s", err->message);
}

static size_t count_category(const struct audit_report *r, enum audit_category c)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_findings; i++)
		n += r->findings[i].check->category == c &&
		     strcmp(r->findings[i].check->id, "leak-hidden-bytes") != 0;
	return n;
}

static void print_findings(const struct audit_report *r)
{
	for (size_t i = 0; i < r->n_findings; i++)
		fprintf(stderr, "  %s %s\n", r->findings[i].check->id, r->findings[i].message);
}

static struct imagefs *tree(struct store_fixture *f, const char *ref, struct image *img)
{
	struct petra_error *err = NULL;
	assert_int_equal(image_load(f->store, ref, img, &err), 0);
	struct imagefs *fs;
	assert_int_equal(imagefs_build(f->store, img, NULL, &fs, &err), 0);
	return fs;
}

static const struct imagefs_version *visible(struct imagefs *fs, const char *path)
{
	struct imagefs_node *n = imagefs_lookup(fs, path);
	return n ? imagefs_node_visible(n) : NULL;
}

static void test_squash_app_shares_and_corrects_the_base(void **state)
{
	struct store_fixture *f = *state;
	build_images(f);
	struct image before;
	struct petra_error *err = NULL;
	assert_int_equal(image_load(f->store, "app:1", &before, &err), 0);

	struct harden_options o = options("app:hard");
	struct image_writable_path w = {.path = (char *)"/var/cache/app", .size = 1 << 20};
	o.writable = &w;
	o.n_writable = 1;
	struct harden_result res;
	harden_ok(f, "app:1", &o, &res);
	assert_int_equal(res.base_layers, 2);
	assert_int_equal(res.squashed_layers, 3);
	assert_int_equal(res.uid, 1000);
	assert_int_equal(res.gid, 1001);
	harden_result_release(&res);

	struct image img;
	struct imagefs *fs = tree(f, "app:hard", &img);
	/* The base layers are the same blobs; one new layer on top. */
	assert_int_equal(img.manifest.n_layers, 3);
	for (size_t i = 0; i < 2; i++)
		assert_string_equal(img.manifest.layers[i].digest,
				    before.manifest.layers[i].digest);
	/* The new layer holds no trace of the deleted secret. */
	struct imagefs_node *env = imagefs_lookup(fs, "app/.env");
	assert_null(env);
	assert_null(imagefs_lookup(fs, "app/tmpfile"));
	/* Application files: root's, 0755/0644. */
	const struct imagefs_version *v = visible(fs, "app/run");
	assert_int_equal(v->uid, 0);
	assert_int_equal(v->mode, 0755);
	assert_int_equal(v->layer, 2);
	v = visible(fs, "app/config");
	assert_int_equal(v->mode, 0644);
	v = visible(fs, "app");
	assert_int_equal(v->mode, 0755);
	assert_int_equal(v->uid, 0);
	assert_int_equal(visible(fs, "usr-local-tool")->mode, 0755);
	/* Base files corrected in the new layer: setuid, owners, /tmp; the
	 * hardlink and its target together. The device is whited out. */
	v = visible(fs, "bin/su");
	assert_int_equal(v->layer, 2);
	assert_int_equal(v->mode, 0755);
	v = visible(fs, "bin/su2");
	assert_int_equal(v->type, IMAGEFS_HARDLINK);
	assert_int_equal(v->layer, 2);
	assert_int_equal(v->mode, 0755);
	assert_int_equal(visible(fs, "etc/motd")->uid, 0);
	assert_int_equal(visible(fs, "etc/motd")->mode, 0644);
	assert_int_equal(visible(fs, "tmp")->mode, 0755);
	assert_null(visible(fs, "dev/null"));
	/* Untouched base files stay in their layer. */
	assert_int_equal(visible(fs, "bin/busybox")->layer, 0);
	assert_int_equal(visible(fs, "etc/passwd")->layer, 0);
	/* The writable path: empty, the runtime user's. */
	v = visible(fs, "var/cache/app");
	assert_int_equal(v->uid, 1000);
	assert_int_equal(v->gid, 1001);
	assert_int_equal(v->layer, 2);
	assert_null(visible(fs, "var/cache/app/stale"));

	/* Config: numeric user, labels, honest history. */
	json_t *cfg = json_object_get(img.config.json, "config");
	assert_string_equal(json_get_string(cfg, "User"), "1000:1001");
	json_t *labels = json_object_get(cfg, "Labels");
	assert_string_equal(json_get_string(labels, "org.petra.base.layers"), "2");
	assert_string_equal(json_get_string(labels, HARDEN_LABEL_FROM), before.desc.digest);
	assert_non_null(json_get_string(labels, HARDEN_LABEL_BASE));
	assert_non_null(strstr(json_get_string(labels, IMAGE_WRITABLE_PATHS_LABEL),
			       "\"path\":\"/var/cache/app\",\"size\":1048576,\"mode\":\"0755\","
			       "\"uid\":1000"));
	json_t *history = json_object_get(img.config.json, "history");
	assert_int_equal(json_array_size(history), 3);
	assert_string_equal(json_get_string(json_array_get(history, 1), "created_by"),
			    "RUN mkdir /var/cache/app");
	assert_string_equal(json_get_string(json_array_get(history, 2), "created_by"),
			    "petra harden: squashed 3 layers");
	/* The step with the token is gone with the layers. */
	char *dump = json_dump_compact(img.config.json, NULL);
	assert_null(strstr(dump, "echo done"));
	free(dump);
	imagefs_free(fs);
	image_release(&img);

	/* The input is what it was. */
	struct image again;
	assert_int_equal(image_load(f->store, "app:1", &again, &err), 0);
	assert_string_equal(again.desc.digest, before.desc.digest);
	image_release(&again);
	image_release(&before);

	/* And audit finds nothing mutable and nothing leaked in it. */
	struct audit_report r;
	assert_int_equal(audit_image(f->store, "app:hard", NULL, &r, &err), 0);
	if (count_category(&r, AUDIT_IMMUTABILITY) || count_category(&r, AUDIT_LEAK))
		print_findings(&r);
	assert_int_equal(count_category(&r, AUDIT_IMMUTABILITY), 0);
	assert_int_equal(count_category(&r, AUDIT_LEAK), 0);
	audit_report_release(&r);
	/* The input had both. */
	assert_int_equal(audit_image(f->store, "app:1", NULL, &r, &err), 0);
	assert_true(count_category(&r, AUDIT_IMMUTABILITY) > 0);
	assert_int_equal(count_category(&r, AUDIT_LEAK), 1);
	audit_report_release(&r);
}

static void test_unpacked_result(void **state)
{
	struct store_fixture *f = *state;
	if (geteuid() != 0)
		skip(); /* owners need root to be set */
	build_images(f);
	struct harden_options o = options("app:hard");
	o.strip_shells = true;
	const char *strip[] = {"/etc/motd"};
	o.strip = strip;
	o.n_strip = 1;
	struct harden_result res;
	harden_ok(f, "app:1", &o, &res);
	assert_int_equal(res.removed, 4); /* bin/busybox, bin/sh, dev/null, etc/motd */
	harden_result_release(&res);
	char *dir = path_join(f->dir, "rootfs");
	struct petra_error *err = NULL;
	struct image_unpack_options uo = {.apply_flags = LAYER_APPLY_ALLOW_DEVICES};
	assert_int_equal(image_unpack(f->store, "app:hard", dir, &uo, &err), 0);
	struct stat st;
	char *p = path_join(dir, "bin/sh");
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	p = path_join(dir, "bin/busybox");
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	p = path_join(dir, "etc/motd");
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	p = path_join(dir, "dev/null");
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	p = path_join(dir, "bin/su");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_nlink, 2); /* su and su2, still one file */
	free(p);
	p = path_join(dir, "app");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, 0);
	free(p);
	p = path_join(dir, "app/.env");
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	free(dir);
	/* The image says it has no shell, and has none. */
	struct audit_report r;
	assert_int_equal(audit_image(f->store, "app:hard", NULL, &r, &err), 0);
	json_t *labels = NULL;
	struct image img;
	assert_int_equal(image_load(f->store, "app:hard", &img, &err), 0);
	labels = json_object_get(json_object_get(img.config.json, "config"), "Labels");
	assert_string_equal(json_get_string(labels, AUDIT_LABEL_NO_SHELL), "true");
	assert_non_null(strstr(json_get_string(labels, HARDEN_LABEL_STRIPPED), "\"/bin/sh\""));
	image_release(&img);
	assert_int_equal(count_category(&r, AUDIT_IMMUTABILITY), 0);
	audit_report_release(&r);
}

static void test_squash_all_and_none(void **state)
{
	struct store_fixture *f = *state;
	build_images(f);
	struct harden_options o = options("app:all");
	o.squash = HARDEN_SQUASH_ALL;
	o.keep_setuid = true;
	struct harden_result res;
	harden_ok(f, "app:1", &o, &res);
	assert_int_equal(res.base_layers, 0);
	harden_result_release(&res);
	struct image img;
	struct imagefs *fs = tree(f, "app:all", &img);
	assert_int_equal(img.manifest.n_layers, 1);
	assert_int_equal(json_array_size(json_object_get(img.config.json, "history")), 1);
	/* One layer: no whiteouts, nothing hidden, setuid kept on request. */
	assert_int_equal(imagefs_hidden_files(fs), 0);
	assert_int_equal(visible(fs, "bin/su")->mode, 04755);
	assert_int_equal(visible(fs, "usr-local-tool")->mode, 06755);
	imagefs_free(fs);
	image_release(&img);

	o = options("app:none");
	o.squash = HARDEN_SQUASH_NONE;
	harden_ok(f, "app:1", &o, &res);
	assert_int_equal(res.base_layers, 5);
	harden_result_release(&res);
	fs = tree(f, "app:none", &img);
	assert_int_equal(img.manifest.n_layers, 6);
	json_t *history = json_object_get(img.config.json, "history");
	assert_int_equal(json_array_size(history), 6);
	assert_string_equal(json_get_string(json_array_get(history, 5), "created_by"),
			    "petra harden: corrected ownership and modes");
	/* Corrected on top; the deleted secret still below (squash none
	 * keeps history, as asked). */
	assert_int_equal(visible(fs, "app/run")->uid, 0);
	assert_int_equal(visible(fs, "app/run")->layer, 5);
	assert_null(visible(fs, "app/.env"));
	assert_non_null(imagefs_lookup(fs, "app/.env"));
	imagefs_free(fs);
	image_release(&img);
	struct petra_error *err = NULL;
	struct audit_report r;
	assert_int_equal(audit_image(f->store, "app:none", NULL, &r, &err), 0);
	assert_int_equal(count_category(&r, AUDIT_IMMUTABILITY), 0);
	assert_int_equal(count_category(&r, AUDIT_LEAK), 1);
	audit_report_release(&r);
}

static void test_users(void **state)
{
	struct store_fixture *f = *state;
	build_images(f);
	struct petra_error *err = NULL;
	struct harden_result res;
	/* --user root is refused; a name resolves; no USER or root: 65532. */
	struct harden_options o = options("x:1");
	o.user = "0";
	assert_true(harden_image(f->store, "app:1", &o, &res, &err) < 0);
	assert_error_contains(err, "--user 0 is root");
	petra_error_free(err);
	err = NULL;
	o.user = "nobody";
	assert_true(harden_image(f->store, "app:1", &o, &res, &err) < 0);
	assert_error_contains(err, "--user: user \"nobody\" is not in the image's /etc/passwd");
	petra_error_free(err);
	err = NULL;
	o.user = "4242";
	harden_ok(f, "app:1", &o, &res);
	assert_int_equal(res.uid, 4242);
	assert_int_equal(res.gid, 4242);
	harden_result_release(&res);
	o.user = NULL;
	harden_ok(f, "base:1", &o, &res);
	assert_int_equal(res.uid, 65532);
	assert_int_equal(res.notes.n, 2);
	assert_non_null(strstr(res.notes.v[1], "the image has no USER"));
	assert_non_null(strstr(res.notes.v[0], "the image records no base"));
	harden_result_release(&res);
	/* A writable path that is a file is an error. */
	struct image_writable_path w = {.path = (char *)"/etc/passwd"};
	o.writable = &w;
	o.n_writable = 1;
	assert_true(harden_image(f->store, "app:1", &o, &res, &err) < 0);
	assert_error_contains(err, "writable path /etc/passwd is a file");
	petra_error_free(err);
}

static void test_policy_section(void **state)
{
	(void)state;
	const char *text = "harden:\n"
			   "  user: \"1000:1000\"\n"
			   "  writable: [/tmp, {path: /run/app, size: 4096}]\n"
			   "  strip-shells: true\n"
			   "  strip: [/usr/bin/curl]\n"
			   "  squash: all\n"
			   "  base-layers: 1\n";
	struct petra_policy *policy;
	struct petra_error *err = NULL;
	assert_int_equal(petra_policy_parse(text, strlen(text), "p.yaml", &policy, &err), 0);
	struct harden_options o = options("x:1");
	struct image_writable_path *w;
	size_t n;
	struct strvec strip = STRVEC_INIT;
	assert_int_equal(harden_options_from_policy(policy, &o, &w, &n, &strip, &err), 0);
	assert_string_equal(o.user, "1000:1000");
	assert_true(o.strip_shells);
	assert_false(o.keep_setuid);
	assert_int_equal(o.squash, HARDEN_SQUASH_ALL);
	assert_int_equal(o.base_layers, 1);
	assert_int_equal(n, 2);
	assert_string_equal(w[0].path, "/tmp");
	assert_int_equal(w[0].size, 0);
	assert_string_equal(w[1].path, "/run/app");
	assert_int_equal(w[1].size, 4096);
	assert_int_equal(strip.n, 1);
	image_writable_paths_free(w, n);
	strvec_clear(&strip);
	petra_policy_free(policy);
	const char *bad = "harden:\n  writable: [tmp]\n";
	assert_int_equal(petra_policy_parse(bad, strlen(bad), "p.yaml", &policy, &err), 0);
	assert_true(harden_options_from_policy(policy, &o, &w, &n, &strip, &err) < 0);
	assert_error_contains(err, "p.yaml:2:14: harden: a writable path is an absolute path");
	petra_error_free(err);
	petra_policy_free(policy);
	strvec_clear(&strip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_squash_app_shares_and_corrects_the_base,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_unpacked_result, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_squash_all_and_none, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test(test_policy_section),
	    cmocka_unit_test_setup_teardown(test_users, store_fixture_setup,
					    store_fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
