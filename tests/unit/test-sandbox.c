/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/sandbox: capabilities, exit codes, the OCI config,
 * and the seccomp profile loaded into a real child process. */
#include "testutil.h"

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "sandbox/sandbox.h"
/* The module's own tests may reach its internals (the seccomp filter). */
#include "sandbox/internal.h"

#include <seccomp.h>
#include <sys/mman.h>

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
	assert_int_equal(json_array_size(json_object_get(lnx, "namespaces")), 6);
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
	assert_int_equal(json_array_size(json_object_get(lnx, "namespaces")), 5);
	json_decref(cfg);
}

/* The filter a runtime builds from config.json's seccomp profile, the way
 * runc reads it (defaultAction, errnoRet, and for SCMP_CMP_MASKED_EQ
 * "value" as the mask and "valueTwo" as the datum). */
static scmp_filter_ctx filter_from_oci(json_t *profile)
{
	assert_string_equal(json_get_string(profile, "defaultAction"), "SCMP_ACT_ALLOW");
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	assert_non_null(ctx);
	size_t i, k;
	json_t *rule, *name;
	json_array_foreach(json_object_get(profile, "syscalls"), i, rule)
	{
		assert_string_equal(json_get_string(rule, "action"), "SCMP_ACT_ERRNO");
		uint32_t action = SCMP_ACT_ERRNO((uint16_t)json_get_int(rule, "errnoRet", -1));
		json_t *args = json_object_get(rule, "args");
		assert_true(json_array_size(args) <= 1);
		json_t *a = json_array_get(args, 0);
		const char *op = a ? json_get_string(a, "op") : NULL;
		struct scmp_arg_cmp cmp = {0};
		if (a) {
			cmp.arg = (unsigned)json_get_int(a, "index", -1);
			cmp.datum_a = (uint64_t)json_get_int(a, "value", 0);
			cmp.datum_b = (uint64_t)json_get_int(a, "valueTwo", 0);
			if (!strcmp(op, "SCMP_CMP_MASKED_EQ"))
				cmp.op = SCMP_CMP_MASKED_EQ;
			else if (!strcmp(op, "SCMP_CMP_EQ"))
				cmp.op = SCMP_CMP_EQ;
			else
				fail_msg("unexpected op %s", op);
		}
		json_array_foreach(json_object_get(rule, "names"), k, name)
		{
			int nr = seccomp_syscall_resolve_name(json_string_value(name));
			if (nr == __NR_SCMP_ERROR)
				continue; /* runc skips those too */
			assert_int_equal(a ? seccomp_rule_add_array(ctx, action, nr, 1, &cmp)
					   : seccomp_rule_add(ctx, action, nr, 0),
					 0);
		}
	}
	return ctx;
}

static char *filter_bpf(scmp_filter_ctx ctx, size_t *len)
{
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
	off_t size = lseek(fd, 0, SEEK_END);
	assert_true(size > 0);
	char *buf = xmalloc((size_t)size);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	close(fd);
	*len = (size_t)size;
	return buf;
}

/* The bundle's seccomp profile, read as runc reads it, is the very filter
 * petra loads: compiled to BPF, byte for byte. (Both come from one rule
 * list; this checks oci.c says what seccomp.c does with it.) */
static void test_seccomp_profiles_agree(void **state)
{
	(void)state;
	char *argv[] = {"/bin/true", NULL};
	struct sandbox_config c = {
	    .process = {.argv = argv, .env = argv + 1, .caps = sandbox_default_caps()},
	};
	json_t *cfg = sandbox_oci_config(&c);
	json_t *profile = json_object_get(json_object_get(cfg, "linux"), "seccomp");
	scmp_filter_ctx theirs = filter_from_oci(profile);
	void *ours = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(sandbox_seccomp_build(&ours, &err), 0);
	size_t a_len, b_len;
	char *a = filter_bpf(ours, &a_len), *b = filter_bpf(theirs, &b_len);
	assert_int_equal(a_len, b_len);
	assert_memory_equal(a, b, a_len);
	free(a);
	free(b);
	seccomp_release(ours);
	seccomp_release(theirs);
	json_decref(cfg);
}

/* Mount targets: absolute, no . or .. anywhere; sandbox_spawn refuses
 * others before it creates anything (the scaffold is made on the host's
 * side, from the targets). */
static void test_mount_targets(void **state)
{
	(void)state;
	assert_true(path_is_clean("/"));
	assert_true(path_is_clean("/run/app"));
	assert_true(path_is_clean("/run//app/"));
	assert_true(path_is_clean("/..x/.y/x.."));
	assert_false(path_is_clean("run"));
	assert_false(path_is_clean(""));
	assert_false(path_is_clean("/a/../b"));
	assert_false(path_is_clean("/a/.."));
	assert_false(path_is_clean("/./a"));
	assert_false(path_is_clean("/a/."));
	char *dir = test_tmpdir();
	char *work = path_join(dir, "work");
	assert_int_equal(mkdir(work, 0700), 0);
	char *argv[] = {"/bin/true", NULL};
	struct sandbox_mount m = {.kind = SANDBOX_MOUNT_TMPFS, .target = "/x/../../../escaped"};
	struct sandbox_config c = {
	    .work_dir = work, .mounts = &m, .n_mounts = 1, .process = {.argv = argv}};
	pid_t pid;
	struct petra_error *err = NULL;
	assert_int_equal(sandbox_spawn(&c, &pid, &err), -EINVAL);
	assert_error_contains(err,
			      "mount target \"/x/../../../escaped\": not a clean absolute path");
	petra_error_free(err);
	char *escaped = path_join(dir, "escaped");
	assert_int_equal(access(escaped, F_OK), -1);
	free(escaped);
	free(work);
	test_rmtree(dir);
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

static int helper_exits(void *ctx, int report_fd)
{
	(void)report_fd;
	return *(int *)ctx;
}

static int helper_fails(void *ctx, int report_fd)
{
	(void)ctx;
	struct petra_error *e = NULL;
	petra_error_set(&e, EPERM, "set up: refused");
	sandbox_child_fail(report_fd, 125, e);
}

/* Is pid gone (or a zombie: killed, not yet reaped by its new parent)? */
static bool process_ended(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	char *end = strrchr(buf, ')');
	return end && (end[2] == 'Z' || end[2] == 'X');
}

/* sandbox_wait's timeout with timeout_kills_descendants: the process, a
 * child in its session, and a child that made a session of its own all
 * end. */
static void test_timeout_kills_descendants(void **state)
{
	(void)state;
	/* The orphans come to us, to be reaped (no zombie left behind). */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t leader = fork();
	assert_true(leader >= 0);
	if (leader == 0) {
		close(p[0]);
		setsid();
		pid_t kids[2];
		for (int i = 0; i < 2; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				if (i == 1)
					setsid();
				for (;;)
					pause();
			}
		}
		(void)!write(p[1], kids, sizeof(kids));
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	pid_t kids[2];
	assert_int_equal(fs_read_full(p[0], kids, sizeof(kids)), (ssize_t)sizeof(kids));
	close(p[0]);
	struct sandbox_wait_options o = {
	    .pty_master = -1, .timeout_ms = 100, .timeout_kills_descendants = true};
	int status = -1;
	struct petra_error *err = NULL;
	assert_int_equal(sandbox_wait(leader, &o, &status, &err), -ETIMEDOUT);
	assert_error_contains(err, "timed out after 100 ms");
	petra_error_free(err);
	assert_int_equal(status, 128 + SIGKILL);
	for (int i = 0; i < 2; i++) {
		int tries = 200;
		while (!process_ended(kids[i]) && --tries)
			usleep(10000);
		if (!tries)
			kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
		assert_true(tries > 0);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

/* sandbox_fork_helper: the child's status, or its report. */
static void test_fork_helper(void **state)
{
	(void)state;
	int code = 7;
	pid_t pid;
	struct petra_error *err = NULL;
	assert_int_equal(sandbox_fork_helper(helper_exits, &code, &pid, &err), 0);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_int_equal(sandbox_exit_code(ws), 7);
	assert_int_equal(sandbox_fork_helper(helper_fails, NULL, &pid, &err), -EPERM);
	assert_string_equal(err->message, "set up: refused");
	petra_error_free(err);
}

/* Only the user's own lines, by name or uid, in order and numbered on from
 * 1; nothing malformed, overflowing, holding the user's own id or root. */
static void test_subid_ranges(void **state)
{
	(void)state;
	const char *text = "alice:100000:65536\n"
			   "bob:200000:65536\n"
			   "1001:300000:10\n"
			   "alice:-5:10\n"
			   "alice:400000:0\n"
			   "alice:4294967290:100\n"
			   "alice:1000:5\n"
			   "alice:500000\n"
			   "alice:600000:1:extra\n"
			   "alicex:700000:9\n"
			   "alice:0:65536\n"
			   "alice:800000:2";
	struct sandbox_id_range r[4];
	size_t n;
	assert_int_equal(sandbox_subid_ranges(text, "alice", 1001, 1001, r, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].inside, 1);
	assert_int_equal(r[0].outside, 100000);
	assert_int_equal(r[0].count, 65536);
	assert_int_equal(r[1].inside, 65537);
	assert_int_equal(r[1].outside, 300000);
	assert_int_equal(r[1].count, 10);
	assert_int_equal(r[2].inside, 65547);
	assert_int_equal(r[2].outside, 800000);
	assert_int_equal(r[2].count, 2);
	/* alice:1000:5 holds uid 1003 itself: skipped. */
	assert_int_equal(sandbox_subid_ranges(text, "alice", 1003, 1003, r, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sandbox_subid_ranges(text, "carol", 42, 42, r, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sandbox_subid_ranges(text, "alice", 1001, 1001, r, 1, &n), 0);
	assert_int_equal(n, 1);
	/* /etc/subgid for alice (uid 1001, gid 2000): a line keyed "2000"
	 * is the user with uid 2000's, never alice's; hers keyed "1001" is. */
	const char *subgid = "2000:900000:10\n1001:910000:5\n";
	assert_int_equal(sandbox_subid_ranges(subgid, "alice", 1001, 2000, r, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].outside, 910000);
	assert_int_equal(r[0].count, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capabilities),  cmocka_unit_test(test_exit_codes),
	    cmocka_unit_test(test_oci_config),    cmocka_unit_test(test_seccomp_profiles_agree),
	    cmocka_unit_test(test_mount_targets), cmocka_unit_test(test_child_reports),
	    cmocka_unit_test(test_fork_helper),   cmocka_unit_test(test_timeout_kills_descendants),
	    cmocka_unit_test(test_subid_ranges),
	};
	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
