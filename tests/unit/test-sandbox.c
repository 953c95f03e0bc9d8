/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/sandbox: capabilities, exit codes, the OCI config,
 * and the seccomp profile loaded into a real child process. */
#include "testutil.h"

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "sandbox/sandbox.h"

static void test_capabilities(void **state)
{
	(void)state;
	uint64_t mask = 0;
	struct petra_error *err = NULL;
	assert_int_equal(sandbox_cap_parse("NET_ADMIN", &mask, &err), 0);
	assert_int_equal(mask, UINT64_C(1) << 12);
	assert_int_equal(sandbox_cap_parse("cap_chown", &mask, &err), 0);
	assert_int_equal(mask, UINT64_C(1) << 0);
	assert_int_equal(sandbox_cap_parse("CAP_NOPE", &mask, &err), -EINVAL);
	assert_error_contains(err, "unknown capability \"CAP_NOPE\"");
	petra_error_free(err);
	/* The default set: ten capabilities, none of the dangerous ones. */
	uint64_t def = sandbox_default_caps();
	assert_int_equal(__builtin_popcountll(def), 10);
	assert_false(def & (UINT64_C(1) << 21)); /* SYS_ADMIN */
	assert_false(def & (UINT64_C(1) << 27)); /* MKNOD */
	assert_false(def & (UINT64_C(1) << 13)); /* NET_RAW */
	struct strvec names = STRVEC_INIT;
	sandbox_cap_names(UINT64_C(1) << 10 | UINT64_C(1) << 0, &names);
	assert_int_equal(names.n, 2);
	assert_string_equal(names.v[0], "CAP_CHOWN");
	assert_string_equal(names.v[1], "CAP_NET_BIND_SERVICE");
	strvec_clear(&names);
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(sandbox_exit_code(7 << 8), 7);    /* exited 7 */
	assert_int_equal(sandbox_exit_code(SIGKILL), 137); /* killed */
	assert_int_equal(sandbox_exit_code(SIGTERM), 143);
}

static void test_oci_config(void **state)
{
	(void)state;
	char *argv[] = {"/bin/sh", "-c", "true", NULL};
	char *env[] = {"PATH=/bin", NULL};
	struct sandbox_mount mounts[] = {
	    {.kind = SANDBOX_MOUNT_TMPFS, .target = "/run/app", .size = 1 << 20, .uid = 10},
	    {.kind = SANDBOX_MOUNT_BIND, .target = "/data", .source = "/srv", .readonly = true},
	};
	struct sandbox_config c = {
	    .mounts = mounts,
	    .n_mounts = 2,
	    .network = SANDBOX_NETWORK_NONE,
	    .process =
		{.argv = argv, .env = env, .uid = 10, .gid = 20, .caps = sandbox_default_caps()},
	};
	json_t *cfg = sandbox_oci_config(&c);
	assert_true(json_is_true(json_object_get(json_object_get(cfg, "root"), "readonly")));
	json_t *proc = json_object_get(cfg, "process");
	assert_int_equal(json_get_int(json_object_get(proc, "user"), "uid", -1), 10);
	assert_true(json_is_true(json_object_get(proc, "noNewPrivileges")));
	/* A non-root user: capabilities only in the bounding set, nothing a
	 * file capability could raise through inheritable or permitted. */
	json_t *caps = json_object_get(proc, "capabilities");
	assert_int_equal(json_array_size(json_object_get(caps, "bounding")), 10);
	assert_int_equal(json_array_size(json_object_get(caps, "permitted")), 0);
	assert_int_equal(json_array_size(json_object_get(caps, "effective")), 0);
	assert_int_equal(json_array_size(json_object_get(caps, "inheritable")), 0);
	json_t *lnx = json_object_get(cfg, "linux");
	assert_int_equal(json_array_size(json_object_get(lnx, "namespaces")), 5);
	assert_non_null(json_object_get(lnx, "seccomp"));
	/* proc, dev, pts, shm, sys, then the two of ours. */
	json_t *ms = json_object_get(cfg, "mounts");
	assert_int_equal(json_array_size(ms), 7);
	char *tmpfs = json_dump_compact(json_array_get(ms, 5), NULL);
	assert_string_equal(tmpfs, "{\"destination\":\"/run/app\",\"type\":\"tmpfs\",\"source\":"
				   "\"tmpfs\",\"options\":[\"nosuid\",\"nodev\",\"size=1048576\","
				   "\"mode=0755\",\"uid=10\",\"gid=0\"]}");
	free(tmpfs);
	char *bind = json_dump_compact(json_array_get(ms, 6), NULL);
	assert_string_equal(bind,
			    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv\","
			    "\"options\":[\"rbind\",\"ro\"]}");
	free(bind);
	json_decref(cfg);
	/* The host network: no network namespace. */
	c.network = SANDBOX_NETWORK_HOST;
	cfg = sandbox_oci_config(&c);
	lnx = json_object_get(cfg, "linux");
	assert_int_equal(json_array_size(json_object_get(lnx, "namespaces")), 4);
	json_decref(cfg);
}

/* sandbox_child_fail / sandbox_child_result carry a child's error. */
static void test_child_reports(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		struct petra_error *e = NULL;
		petra_error_set(&e, EPERM, "mount something: Operation not permitted");
		sandbox_child_fail(fds[1], 125, e);
	}
	close(fds[1]);
	struct petra_error *err = NULL;
	assert_int_equal(sandbox_child_result(fds[0], pid, &err), -EPERM);
	assert_string_equal(err->message, "mount something: Operation not permitted");
	petra_error_free(err);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capabilities),
	    cmocka_unit_test(test_exit_codes),
	    cmocka_unit_test(test_oci_config),
	    cmocka_unit_test(test_child_reports),
	};
	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
