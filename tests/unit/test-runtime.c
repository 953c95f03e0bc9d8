/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/runtime (the writable-paths label, users, filters,
 * garbage collection) and src/structtest (loading test files). */
#include "testutil.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "runtime/runtime.h"
/* The module's own tests may reach its internals (user resolution). */
#include "runtime/internal.h"
#include "structtest/structtest.h"

static void test_writable_paths_label(void **state)
{
	(void)state;
	struct image_writable_path *paths = NULL;
	size_t n = 99;
	struct petra_error *err = NULL;
	assert_int_equal(image_writable_paths_parse(NULL, &paths, &n, &err), 0);
	assert_int_equal(n, 0);
	free(paths);
	const char *label =
	    "[{\"path\":\"/run/app\",\"size\":1048576,\"mode\":\"0750\",\"uid\":65534},"
	    "{\"path\":\"/tmp\",\"mode\":1023}]";
	assert_int_equal(image_writable_paths_parse(label, &paths, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(paths[0].path, "/run/app");
	assert_int_equal(paths[0].size, 1048576);
	assert_int_equal(paths[0].mode, 0750);
	assert_int_equal(paths[0].uid, 65534);
	assert_int_equal(paths[1].mode, 01777); /* an integer mode works too */
	char *text = image_writable_paths_format(paths, 1);
	assert_string_equal(text, "[{\"path\":\"/run/app\",\"size\":1048576,\"mode\":\"0750\","
				  "\"uid\":65534}]");
	free(text);
	image_writable_paths_free(paths, n);
	/* Relative paths and ".." are refused: the label is untrusted input. */
	assert_int_equal(image_writable_paths_parse("[{\"path\":\"run\"}]", &paths, &n, &err),
			 -EINVAL);
	assert_error_contains(err, "has no absolute \"path\"");
	assert_int_equal(
	    image_writable_paths_parse("[{\"path\":\"/run/../etc\"}]", &paths, &n, &err), -EINVAL);
	assert_int_equal(
	    image_writable_paths_parse("[{\"path\":\"/run/./app\"}]", &paths, &n, &err), -EINVAL);
	assert_int_equal(image_writable_paths_parse("{}", &paths, &n, &err), -EINVAL);
	assert_error_contains(err, "is not a JSON array");
	/* No uid: the container's user (and none is written back); copy. */
	assert_int_equal(
	    image_writable_paths_parse("[{\"path\":\"/run\",\"copy\":true}]", &paths, &n, &err), 0);
	assert_false(paths[0].has_uid);
	assert_true(paths[0].copy);
	text = image_writable_paths_format(paths, n);
	assert_string_equal(text,
			    "[{\"path\":\"/run\",\"size\":0,\"mode\":\"0000\",\"copy\":true}]");
	free(text);
	image_writable_paths_free(paths, n);
	assert_int_equal(
	    image_writable_paths_parse("[{\"path\":\"/run\",\"copy\":\"yes\"}]", &paths, &n, &err),
	    -EINVAL);
	assert_error_contains(err, "\"copy\" that is not true or false");
	/* memory (tmpfs-only): read, written back only when set, so an old
	 * label (none) reads and writes the same as before. */
	assert_int_equal(image_writable_paths_parse(
			     "[{\"path\":\"/run\",\"memory\":true},{\"path\":\"/var/cache\"}]",
			     &paths, &n, &err),
			 0);
	assert_true(paths[0].memory);
	assert_false(paths[1].memory);
	text = image_writable_paths_format(paths, n);
	assert_string_equal(text, "[{\"path\":\"/run\",\"size\":0,\"mode\":\"0000\",\"memory\":"
				  "true},{\"path\":\"/var/cache\",\"size\":0,\"mode\":\"0000\"}]");
	free(text);
	image_writable_paths_free(paths, n);
	assert_int_equal(
	    image_writable_paths_parse("[{\"path\":\"/run\",\"memory\":1}]", &paths, &n, &err),
	    -EINVAL);
	assert_error_contains(err, "\"memory\" that is not true or false");
	petra_error_free(err);
}

static void test_user_lookup(void **state)
{
	(void)state;
	const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
			     "app:x:1000:1001:app:/home/app:/bin/sh\n"
			     "short:x:7\n";
	const char *group = "root:x:0:\napp:x:1001:\nweb:x:33:\n";
	uid_t uid;
	gid_t gid;
	char *home = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(rootfs_user_lookup(passwd, group, "app", &uid, &gid, &home, &err), 0);
	assert_int_equal(uid, 1000);
	assert_int_equal(gid, 1001);
	assert_string_equal(home, "/home/app");
	free(home);
	assert_int_equal(rootfs_user_lookup(passwd, group, "1000:web", &uid, &gid, &home, &err), 0);
	assert_int_equal(uid, 1000);
	assert_int_equal(gid, 33);
	free(home);
	/* A number not in passwd is fine (gid 0, home /); a name is not. */
	assert_int_equal(rootfs_user_lookup(NULL, NULL, "4242", &uid, &gid, &home, &err), 0);
	assert_int_equal(uid, 4242);
	assert_int_equal(gid, 0);
	assert_string_equal(home, "/");
	free(home);
	assert_int_equal(rootfs_user_lookup(passwd, group, "", &uid, &gid, &home, &err), 0);
	assert_int_equal(uid, 0);
	free(home);
	assert_true(rootfs_user_lookup(passwd, group, "nobody", &uid, &gid, &home, &err) < 0);
	assert_error_contains(err, "user \"nobody\" is not in the image's /etc/passwd");
	petra_error_free(err);
	err = NULL;
	free(home);
	assert_true(rootfs_user_lookup(passwd, group, "app:staff", &uid, &gid, &home, &err) < 0);
	assert_error_contains(err, "group \"staff\"");
	petra_error_free(err);
	free(home);
}

/* Users from a hostile image's /etc/passwd and /etc/group: every id that
 * would become (uid_t)-1 (setresuid's "unchanged": the process would stay
 * root) is refused, wherever it comes from. */
static void test_resolve_user_ids(void **state)
{
	(void)state;
	char *lower = test_tmpdir();
	test_write_file(lower, "etc/passwd",
			"root:x:0:0:root:/root:/bin/sh\n"
			"app:x:1000:1000::/home/app:/bin/sh\n"
			"huge:x:99999999999999999999:0::/:/bin/sh\n"
			"max:x:4294967295:0::/:/bin/sh\n"
			"minus:x:-1:0::/:/bin/sh\n"
			"empty:x::0::/:/bin/sh\n"
			"plus:x:+5:0::/:/bin/sh\n"
			"badgid:x:1001:4294967295::/:/bin/sh\n",
			0644);
	test_write_file(lower, "etc/group", "app:x:1000:\nevil:x:-1:\n", 0644);
	const char *lowers[] = {lower};
	uid_t uid;
	gid_t gid;
	char *home = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(rootfs_resolve_user(lowers, 1, "app", &uid, &gid, &home, &err), 0);
	assert_int_equal(uid, 1000);
	assert_int_equal(gid, 1000);
	assert_string_equal(home, "/home/app");
	free(home);
	assert_int_equal(rootfs_resolve_user(lowers, 1, "1000:app", &uid, &gid, &home, &err), 0);
	assert_int_equal(gid, 1000);
	free(home);
	static const struct {
		const char *user, *message;
	} bad[] = {
	    {"huge", "\"huge\" in the image's /etc/passwd: \"99999999999999999999\" is not a "
		     "valid uid"},
	    {"max", "\"4294967295\" is not a valid uid"},
	    {"minus", "\"-1\" is not a valid uid"},
	    {"empty", "\"\" is not a valid uid"},
	    {"plus", "\"+5\" is not a valid uid"},
	    {"badgid", "\"4294967295\" is not a valid gid"},
	    {"app:evil", "\"evil\" in the image's /etc/group: \"-1\" is not a valid gid"},
	    /* USER and -u: not a valid number, so a name, which is not there */
	    {"4294967295", "user \"4294967295\" is not in the image's /etc/passwd"},
	    {"-1", "user \"-1\" is not in the image's /etc/passwd"},
	    {"0:4294967295", "group \"4294967295\" is not in the image's /etc/group"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		home = NULL;
		assert_int_equal(
		    rootfs_resolve_user(lowers, 1, bad[i].user, &uid, &gid, &home, &err), -EINVAL);
		assert_error_contains(err, bad[i].message);
		petra_error_free(err);
		err = NULL;
		free(home);
	}
	uint32_t id;
	assert_true(rootfs_parse_id("4294967294", &id));
	assert_int_equal(id, 4294967294u);
	assert_false(rootfs_parse_id("4294967295", &id));
	assert_false(rootfs_parse_id("", &id));
	assert_false(rootfs_parse_id(" 1", &id));
	assert_false(rootfs_parse_id("00000000001", &id));
	/* The writable-paths label cannot ask for that owner either. */
	struct image_writable_path *paths = NULL;
	size_t n = 0;
	assert_int_equal(
	    image_writable_paths_parse("[{\"path\":\"/x\",\"uid\":4294967295}]", &paths, &n, &err),
	    -EINVAL);
	assert_error_contains(err, "entry 1 has an invalid \"uid\"");
	petra_error_free(err);
	test_rmtree(lower);
}

static void test_filters(void **state)
{
	(void)state;
	struct petra_error *err = NULL;
	assert_int_equal(runtime_filter_check("image=busybox:1", &err), 0);
	assert_int_equal(runtime_filter_check("label=a=b", &err), 0);
	assert_int_equal(runtime_filter_check("base=sha256:00", &err), 0);
	assert_int_equal(runtime_filter_check("image=", &err), -EINVAL);
	assert_int_equal(runtime_filter_check("colour=blue", &err), -EINVAL);
	assert_error_contains(err, "expected image=REF");
	petra_error_free(err);
	/* Matching on what the state records. */
	struct runtime_container c = {
	    .id = "0123456789abcdef",
	    .name = "web",
	    .state = json_pack("{s:{s:s}}", "labels", "tier", "web"),
	};
	bool m = false;
	assert_int_equal(runtime_filter_match(NULL, &c, "label=tier=web", &m, &err), 0);
	assert_true(m);
	assert_int_equal(runtime_filter_match(NULL, &c, "label=tier=db", &m, &err), 0);
	assert_false(m);
	assert_int_equal(runtime_filter_match(NULL, &c, "label=tier", &m, &err), 0);
	assert_true(m);
	assert_int_equal(runtime_filter_match(NULL, &c, "name=web", &m, &err), 0);
	assert_true(m);
	assert_int_equal(runtime_filter_match(NULL, &c, "id=0123", &m, &err), 0);
	assert_true(m);
	assert_int_equal(runtime_filter_match(NULL, &c, "id=1", &m, &err), 0);
	assert_false(m);
	json_decref(c.state);
}

/* A layer whose /etc is a symbolic link to an absolute path: looked up
 * through the layer, not the host (where that path is the host's /etc). */
static void test_lookup_stays_in_layer(void **state)
{
	(void)state;
	char *host = test_tmpdir();
	test_write_file(host, "passwd", "evil:x:0:0::/:/bin/sh\n", 0644);
	char *lower = test_tmpdir();
	char *link = path_join(lower, "etc");
	assert_int_equal(symlink(host, link), 0);
	const char *lowers[] = {lower};
	uid_t uid;
	gid_t gid;
	char *home = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(rootfs_resolve_user(lowers, 1, "evil", &uid, &gid, &home, &err), -EINVAL);
	assert_error_contains(err, "user \"evil\" is not in the image's /etc/passwd");
	petra_error_free(err);
	free(home);
	free(link);
	test_rmtree(lower);
	test_rmtree(host);
}

static void collect_change(void *ctx, char kind, const char *path)
{
	strvec_pushf(ctx, "%c %s", kind, path);
}

/* diff walks a running container's tmpfs mounts as the state lists them:
 * a crafted state with an empty target read before its buffer (ASan sees
 * it) and walked the container's whole root; such targets are skipped. */
static void test_diff_crafted_state(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	test_write_file(root, "planted", "x", 0644);
	test_write_file(root, "data/added", "x", 0644);
	int ready[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* A stand-in for a container: its /proc/PID/root is `root`. It
		 * ends with the test, even one that crashes. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || chroot(root) < 0 ||
		    write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	struct runtime_container ct = {
	    .id = "0123456789abcdef",
	    .pid = pid,
	    .running = true,
	    .state = json_pack("{s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}", "mounts", "kind", "tmpfs",
			       "target", "", "kind", "tmpfs", "target", "../..", "kind", "tmpfs",
			       "target", "/data/"),
	};
	struct strvec changes = STRVEC_INIT;
	struct petra_error *err = NULL;
	assert_int_equal(runtime_diff(NULL, &ct, collect_change, &changes, &err), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(changes.n, 1);
	assert_string_equal(changes.v[0], "A /data/added");
	strvec_clear(&changes);
	json_decref(ct.state);
	test_rmtree(root);
}

static void write_yaml(const char *dir, const char *name, const char *text)
{
	test_write_file(dir, name, text, 0644);
}

static void test_structtest_load(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	write_yaml(tmp, "ok.yaml",
		   "schemaVersion: \"2.0.0\"\n"
		   "commandTests:\n"
		   "  - name: hello\n"
		   "    command: echo\n"
		   "    args: [hi, 1]\n"
		   "    exitCode: 0\n"
		   "metadataTest:\n"
		   "  user: \"65534\"\n");
	write_yaml(tmp, "typo.yaml",
		   "schemaVersion: \"2.0.0\"\nfileExistenceTests:\n  - name: x\n    paht: /etc\n");
	write_yaml(tmp, "version.yaml", "schemaVersion: \"1.0.0\"\n");
	write_yaml(tmp, "noname.yaml", "schemaVersion: \"2.0.0\"\ncommandTests:\n  - command: x\n");
	write_yaml(tmp, "broken.yaml", "schemaVersion: [\n");
	json_t *doc = NULL;
	struct petra_error *err = NULL;
	char *p = path_join(tmp, "ok.yaml");
	assert_int_equal(structtest_load(p, &doc, &err), 0);
	json_t *t = json_array_get(json_object_get(doc, "commandTests"), 0);
	assert_string_equal(json_get_string(t, "command"), "echo");
	/* A number for a string is read as its text, as the original reads it. */
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "args"), 1)), "1");
	json_decref(doc);
	free(p);
	static const struct {
		const char *file, *message;
	} bad[] = {
	    {"typo.yaml", "fileExistenceTests[0]: unknown field \"paht\""},
	    {"version.yaml", "schemaVersion is not \"2.0.0\""},
	    {"noname.yaml", "commandTests[0]: no name"},
	    {"broken.yaml", "broken.yaml:"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		p = path_join(tmp, bad[i].file);
		assert_true(structtest_load(p, &doc, &err) < 0);
		assert_null(doc);
		assert_error_contains(err, bad[i].message);
		assert_error_contains(err, bad[i].file);
		free(p);
	}
	petra_error_free(err);
	test_rmtree(tmp);
}

static void test_structtest_reports(void **state)
{
	(void)state;
	struct structtest_result results[2] = {
	    {.kind = "Command Test", .name = "ok", .passed = true, .duration_ns = 1000000},
	    {.kind = "File Existence Test", .name = "a <b>", .passed = false},
	};
	strvec_push(&results[1].errors, "missing & gone");
	struct structtest_report r = {.results = results, .n = 2, .passes = 1, .failures = 1};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	structtest_print(&r, STRUCTTEST_JUNIT, f);
	fclose(f);
	assert_non_null(strstr(buf, "<testsuites failures=\"1\" tests=\"2\""));
	assert_non_null(strstr(buf, "name=\"File Existence Test: a &lt;b&gt;\""));
	assert_non_null(strstr(buf, "<failure message=\"missing &amp; gone\"/>"));
	free(buf);
	f = open_memstream(&buf, &len);
	structtest_print(&r, STRUCTTEST_TEXT, f);
	fclose(f);
	assert_non_null(strstr(buf, "=== RUN: Command Test: ok\n--- PASS\n"));
	assert_non_null(strstr(buf, "--- FAIL\n"));
	assert_non_null(strstr(buf, "Error: missing & gone\n"));
	assert_non_null(strstr(buf, "Passes:      1\nFailures:    1\n"));
	assert_non_null(strstr(buf, "\nFAIL\n"));
	free(buf);
	strvec_clear(&results[1].errors);
}

/* A container's layers stay extracted while its state is there, running or
 * not; a run directory that cannot be trusted stops the collection before
 * anything is removed. */
static void test_collect_garbage_spares_containers(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char *root = path_join(tmp, "store"), *src = path_join(tmp, "src");
	test_write_file(src, "id", "gone", 0644);
	struct petra_store *store = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(
	    petra_store_open(root, PETRA_STORE_CREATE | PETRA_STORE_WRITE, &store, &err), 0);
	struct image_import_options o = {.name = "gone:1"};
	char *name = NULL, digest[OCI_DIGEST_SIZE];
	assert_int_equal(image_import(store, src, &o, &name, digest, &err), 0);
	struct image img;
	assert_int_equal(image_load(store, "gone:1", &img, &err), 0);
	struct strvec lowers = STRVEC_INIT;
	assert_int_equal(rootfs_prepare(store, &img, &lowers, &err), 0);
	char *layer = rootfs_layer_dir(store, img.config.diff_ids.v[0]);
	assert_int_equal(petra_store_remove_ref(store, "gone:1", &err), 0);
	petra_store_close(store);
	/* A stopped container of the image (its state lists its layers). */
	char *run_dir = path_join(tmp, "run");
	char *ct = path_join(run_dir, "0123456789abcdef0123456789abcdef"
				      "0123456789abcdef0123456789abcdef");
	char *state_json =
	    xasprintf("{\"created\":1,\"diff_ids\":[\"%s\"]}", img.config.diff_ids.v[0]);
	test_write_file(ct, "state.json", state_json, 0600);
	test_write_file(ct, "exit", "0", 0600);
	assert_int_equal(chmod(run_dir, 0755), 0);
	assert_int_equal(petra_store_open(root, PETRA_STORE_EXCLUSIVE, &store, &err), 0);
	struct rootfs_gc_result res;
	assert_true(runtime_collect_garbage(store, run_dir, false, &res, &err) < 0);
	assert_error_contains(err, "list containers");
	petra_error_free(err);
	err = NULL;
	struct stat st;
	assert_true(petra_store_has_blob(store, img.desc.digest));
	assert_int_equal(chmod(run_dir, 0700), 0);
	assert_int_equal(runtime_collect_garbage(store, run_dir, false, &res, &err), 0);
	assert_int_equal(res.blobs, 3);
	assert_int_equal(res.layers, 0);
	assert_false(petra_store_has_blob(store, img.desc.digest));
	assert_int_equal(stat(layer, &st), 0);
	/* Once the container is removed, its layer goes too. */
	test_rmtree(ct); /* frees ct */
	ct = NULL;
	assert_int_equal(runtime_collect_garbage(store, run_dir, false, &res, &err), 0);
	assert_int_equal(res.blobs, 0);
	assert_int_equal(res.layers, 1);
	assert_int_not_equal(stat(layer, &st), 0);
	petra_store_close(store);
	strvec_clear(&lowers);
	image_release(&img);
	free(state_json);
	free(ct);
	free(run_dir);
	free(layer);
	free(name);
	free(src);
	free(root);
	test_rmtree(tmp);
}

static void test_port_parse(void **state)
{
	(void)state;
	struct runtime_port p;
	struct petra_error *err = NULL;
	assert_int_equal(runtime_port_parse("8080:80", &p, &err), 0);
	assert_string_equal(p.host_ip, "0.0.0.0");
	assert_int_equal(p.host_port, 8080);
	assert_int_equal(p.container_port, 80);
	assert_false(p.udp);
	char *text = runtime_port_text(&p);
	assert_string_equal(text, "0.0.0.0:8080->80/tcp");
	free(text);
	assert_int_equal(runtime_port_parse("127.0.0.1:53:5353/udp", &p, &err), 0);
	assert_string_equal(p.host_ip, "127.0.0.1");
	assert_true(p.udp);
	assert_int_equal(runtime_port_parse("[::1]:8443:443/tcp", &p, &err), 0);
	assert_true(p.ipv6);
	text = runtime_port_text(&p);
	assert_string_equal(text, "[::1]:8443->443/tcp");
	free(text);
	static const char *const bad[] = {"80",         "0:80",        "80:65536", "a:80",
					  "80:80/sctp", "1.2.3:80:80", ":80:80",   "80:-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(runtime_port_parse(bad[i], &p, &err), -EINVAL);
		petra_error_free(err);
		err = NULL;
	}
}

static void test_run_dir_per_store(void **state)
{
	(void)state;
	char *saved = getenv("PETRA_RUN_DIR") ? strdup(getenv("PETRA_RUN_DIR")) : NULL;
	unsetenv("PETRA_RUN_DIR");
	char *a = runtime_default_run_dir("/srv/store-a");
	char *b = runtime_default_run_dir("/srv/store-b");
	char *a2 = runtime_default_run_dir("/srv/store-a");
	assert_string_not_equal(a, b);
	assert_string_equal(a, a2);
	/* <base>/<16 hex digits> */
	const char *last = strrchr(a, '/');
	assert_non_null(last);
	assert_int_equal(strlen(last + 1), 16);
	setenv("PETRA_RUN_DIR", "/tmp/given", 1);
	char *given = runtime_default_run_dir("/srv/store-a");
	assert_string_equal(given, "/tmp/given");
	if (saved)
		setenv("PETRA_RUN_DIR", saved, 1);
	else
		unsetenv("PETRA_RUN_DIR");
	free(saved);
	free(a);
	free(b);
	free(a2);
	free(given);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writable_paths_label),
	    cmocka_unit_test(test_user_lookup),
	    cmocka_unit_test(test_resolve_user_ids),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_diff_crafted_state),
	    cmocka_unit_test(test_lookup_stays_in_layer),
	    cmocka_unit_test(test_collect_garbage_spares_containers),
	    cmocka_unit_test(test_structtest_load),
	    cmocka_unit_test(test_structtest_reports),
	    cmocka_unit_test(test_port_parse),
	    cmocka_unit_test(test_run_dir_per_store),
	};
	return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
