/* SPDX-License-Identifier: Apache-2.0 */
/* Loading and running container-structure-test files. */
#include "structtest.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fcntl.h>
#include <pcre2.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* ---- loading ---- */

static const char *const top_keys[] = {
    "schemaVersion",    "globalEnvVars", "commandTests",     "fileExistenceTests",
    "fileContentTests", "metadataTest",  "immutabilityTest", NULL,
};
static const char *const command_keys[] = {
    "name",           "setup",          "teardown",      "envVars",       "command",  "args",
    "expectedOutput", "excludedOutput", "expectedError", "excludedError", "exitCode", NULL,
};
static const char *const existence_keys[] = {
    "name", "path", "shouldExist", "permissions", "uid", "gid", "isExecutableBy", NULL,
};
static const char *const content_keys[] = {
    "name", "path", "expectedContents", "excludedContents", NULL,
};
static const char *const metadata_keys[] = {
    "envVars",    "labels", "exposedPorts", "unexposedPorts", "volumes", "unmountedVolumes",
    "entrypoint", "cmd",    "workdir",      "user",           NULL,
};
static const char *const immutability_keys[] = {"name", "writablePaths", NULL};

static bool known(const char *const *keys, const char *key)
{
	for (size_t i = 0; keys[i]; i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

static int check_keys(const json_t *obj, const char *const *keys, const char *where,
		      struct petra_error **err)
{
	if (!json_is_object(obj))
		return petra_error_set(err, EINVAL, "%s: not a mapping", where);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		if (!known(keys, key))
			return petra_error_set(err, EINVAL, "%s: unknown field \"%s\"", where, key);
	}
	return 0;
}

static int check_list(const json_t *obj, const char *key, const char *const *keys,
		      const char *section, struct petra_error **err)
{
	json_t *list = json_object_get(obj, key);
	if (!list)
		return 0;
	if (!json_is_array(list))
		return petra_error_set(err, EINVAL, "%s: not a list", section);
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t)
	{
		_cleanup_free_ char *where = xasprintf("%s[%zu]", section, i);
		int r = check_keys(t, keys, where, err);
		if (r < 0)
			return r;
		if (!json_is_string(json_object_get(t, "name")))
			return petra_error_set(err, EINVAL, "%s: no name", where);
	}
	return 0;
}

int structtest_load(const char *path, json_t **doc, struct petra_error **err)
{
	*doc = NULL;
	/* petra's YAML reader, not libfyaml's document API: it checks the
	 * text before libfyaml sees it (libfyaml 0.7.12 hangs on some
	 * malformed directives) and its errors carry line and column. */
	_cleanup_yaml_ struct petra_yaml *y = NULL;
	if (petra_yaml_load(AT_FDCWD, path, &y, err) < 0)
		return -EINVAL;
	const json_t *root = petra_yaml_root(y);
	if (!json_is_object(root))
		return petra_error_set(err, EINVAL, "%s: a mapping is expected", path);
	json_t *json = json_deep_copy(root);
	int r = check_keys(json, top_keys, path, err);
	const char *version = json_get_string(json, "schemaVersion");
	if (r == 0 && (!version || strcmp(version, "2.0.0")))
		r = petra_error_set(err, EINVAL, "%s: schemaVersion is not \"2.0.0\"", path);
	if (r == 0)
		r = check_list(json, "commandTests", command_keys, "commandTests", err);
	if (r == 0)
		r = check_list(json, "fileExistenceTests", existence_keys, "fileExistenceTests",
			       err);
	if (r == 0)
		r = check_list(json, "fileContentTests", content_keys, "fileContentTests", err);
	if (r == 0 && json_object_get(json, "metadataTest"))
		r = check_keys(json_object_get(json, "metadataTest"), metadata_keys, "metadataTest",
			       err);
	if (r == 0 && json_object_get(json, "immutabilityTest"))
		r = check_keys(json_object_get(json, "immutabilityTest"), immutability_keys,
			       "immutabilityTest", err);
	if (r < 0) {
		if (!strstr((*err)->message, path))
			petra_error_prefix(err, "%s", path);
		json_decref(json);
		return r;
	}
	*doc = json;
	return 0;
}

/* ---- results ---- */

void structtest_report_release(struct structtest_report *report)
{
	for (size_t i = 0; i < report->n; i++) {
		struct structtest_result *res = &report->results[i];
		free(res->kind);
		free(res->name);
		strvec_clear(&res->errors);
		free(res->stdout_text);
		free(res->stderr_text);
	}
	free(report->results);
	memset(report, 0, sizeof(*report));
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct structtest_result *new_result(struct structtest_report *report, const char *kind,
					    const char *name)
{
	report->results = xrealloc(report->results, (report->n + 1) * sizeof(*report->results));
	struct structtest_result *res = &report->results[report->n++];
	memset(res, 0, sizeof(*res));
	res->kind = xstrdup(kind);
	res->name = xstrdup(name ? name : "");
	res->duration_ns = now_ns();
	return res;
}

static void finish_result(struct structtest_report *report, struct structtest_result *res)
{
	res->duration_ns = now_ns() - res->duration_ns;
	res->passed = res->errors.n == 0;
	if (res->passed)
		report->passes++;
	else
		report->failures++;
	report->duration_ns += res->duration_ns;
}

#define fail(res, ...) strvec_pushf(&(res)->errors, __VA_ARGS__)

/* Does text match the regular expression (PCRE2, as the original's Go
 * regexps mostly read)? An invalid expression is reported. */
static bool matches(struct structtest_result *res, const char *pattern, const char *text)
{
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re =
	    pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof(msg));
		fail(res, "invalid regular expression \"%s\": %s", pattern, (char *)msg);
		return false;
	}
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

static void check_expected(struct structtest_result *res, const json_t *list, const char *text,
			   const char *what, bool want)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *pattern = json_string_value(v);
		if (!pattern)
			continue;
		if (matches(res, pattern, text) != want)
			fail(res, "%s %s \"%s\"", what,
			     want ? "does not match" : "matches excluded", pattern);
	}
}

/* ---- command tests ---- */

/* Everything in a file, from its start. */
static char *read_all(int fd)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	if (lseek(fd, 0, SEEK_SET) == 0)
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			strbuf_add(&sb, buf, (size_t)n);
	return strbuf_detach(&sb);
}

/* A JSON list of strings/numbers as an argv. */
static void push_args(struct strvec *argv, const json_t *list)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v))
			strvec_push(argv, json_string_value(v));
		else if (json_is_integer(v))
			strvec_pushf(argv, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_boolean(v))
			strvec_push(argv, json_is_true(v) ? "true" : "false");
	}
}

static void push_env(struct strvec *env, const json_t *list)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *k = json_get_string(v, "key"), *val = json_get_string(v, "value");
		if (k)
			strvec_pushf(env, "%s=%s", k, val ? val : "");
	}
}

/* Run argv in a fresh sandbox of the image; output captured. */
static int run_in_image(const struct structtest_context *ctx, char *const *argv, char *const *env,
			const char *upper, int stdin_fd, int *exit_code, char **out, char **errout,
			struct petra_error **err)
{
	_cleanup_close_ int o = memfd_create("stdout", MFD_CLOEXEC);
	_cleanup_close_ int e = memfd_create("stderr", MFD_CLOEXEC);
	_cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (o < 0 || e < 0 || devnull < 0)
		return petra_error_set_errno(err, errno, "capture the output");
	struct runtime_run_options ro = {
	    .image = ctx->image,
	    .command = argv,
	    .env = env,
	    .remove = true,
	    .use_stdio = true,
	    .stdio = {stdin_fd >= 0 ? stdin_fd : devnull, o, e},
	    .upper_dir = upper,
	};
	struct runtime_run_result result;
	int r = runtime_run(ctx->store, ctx->run_dir, &ro, &result, err);
	*exit_code = result.exit_code;
	runtime_run_result_release(&result);
	if (out)
		*out = read_all(o);
	if (errout)
		*errout = read_all(e);
	return r;
}

static void command_test(const struct structtest_context *ctx, const json_t *globals,
			 const json_t *t, struct structtest_report *report)
{
	struct structtest_result *res =
	    new_result(report, "Command Test", json_get_string(t, "name"));
	_cleanup_strvec_ struct strvec env = STRVEC_INIT;
	push_env(&env, globals);
	push_env(&env, json_object_get(t, "envVars"));
	if (!env.n)
		strvec_push(&env, "PETRA_STRUCTURE_TEST=1"); /* keeps the vector NULL-terminated */
	const json_t *setup = json_object_get(t, "setup"),
		     *teardown = json_object_get(t, "teardown");
	/* Setup, command and teardown share a writable layer, as the original
	 * commits the container between them; without them nothing is
	 * writable but the image's own writable paths. */
	_cleanup_free_ char *upper = NULL;
	if (json_array_size(setup) || json_array_size(teardown)) {
		upper = xasprintf("%s/structtest-%d-%zu", ctx->run_dir, (int)getpid(), report->n);
		_cleanup_error_ struct petra_error *e = NULL;
		if (fs_mkdir_p(upper, 0700, &e) < 0) {
			fail(res, "%s", e->message);
			finish_result(report, res);
			return;
		}
	}
	struct {
		const json_t *cmds; /* NULL: the test's command itself */
		const char *what;
	} phases[] = {{setup, "setup"}, {NULL, "command"}, {teardown, "teardown"}};
	for (size_t ph = 0; ph < ARRAY_SIZE(phases); ph++) {
		bool is_command = !strcmp(phases[ph].what, "command");
		if (!is_command && !phases[ph].cmds)
			continue;
		size_t n = is_command ? 1 : json_array_size(phases[ph].cmds);
		for (size_t k = 0; k < n; k++) {
			_cleanup_strvec_ struct strvec argv = STRVEC_INIT;
			if (!is_command) {
				push_args(&argv, json_array_get(phases[ph].cmds, k));
			} else {
				const char *cmd = json_get_string(t, "command");
				if (!cmd) {
					fail(res, "no command");
					break;
				}
				strvec_push(&argv, cmd);
				push_args(&argv, json_object_get(t, "args"));
			}
			if (!argv.n) {
				fail(res, "%s command %zu is empty", phases[ph].what, k + 1);
				continue;
			}
			_cleanup_error_ struct petra_error *e = NULL;
			_cleanup_free_ char *out = NULL, *errout = NULL;
			int code = 0;
			int r =
			    run_in_image(ctx, argv.v, env.v, upper, -1, &code, &out, &errout, &e);
			if (!is_command) {
				if (r < 0 || code != 0)
					fail(res, "%s command %s failed: %s", phases[ph].what,
					     argv.v[0], r < 0 ? e->message : errout);
				continue;
			}
			if (r < 0 && code != 126 && code != 127) {
				fail(res, "%s", e->message);
				continue;
			}
			if (r < 0) {
				char *with_error =
				    xasprintf("%s%s\n", errout ? errout : "", e->message);
				free(errout);
				errout = with_error;
			}
			json_int_t want = json_get_int(t, "exitCode", 0);
			if (code != want)
				fail(res, "exit code %d, expected %" JSON_INTEGER_FORMAT, code,
				     want);
			check_expected(res, json_object_get(t, "expectedOutput"), out, "stdout",
				       true);
			check_expected(res, json_object_get(t, "excludedOutput"), out, "stdout",
				       false);
			check_expected(res, json_object_get(t, "expectedError"), errout, "stderr",
				       true);
			check_expected(res, json_object_get(t, "excludedError"), errout, "stderr",
				       false);
			res->stdout_text = steal_pointer(&out);
			res->stderr_text = steal_pointer(&errout);
		}
	}
	if (upper)
		fs_remove_tree_at(AT_FDCWD, upper, NULL);
	finish_result(report, res);
}

/* ---- file tests ---- */

/* A mode as Go's FileMode.String() prints it, which is what the format's
 * "permissions" compares with: type and special letters, then rwx. */
static void go_mode_string(mode_t mode, char *buf)
{
	char *p = buf;
	if (S_ISDIR(mode))
		*p++ = 'd';
	if (S_ISLNK(mode))
		*p++ = 'L';
	if (S_ISBLK(mode) || S_ISCHR(mode))
		*p++ = 'D';
	if (S_ISFIFO(mode))
		*p++ = 'p';
	if (S_ISSOCK(mode))
		*p++ = 'S';
	if (mode & S_ISUID)
		*p++ = 'u';
	if (mode & S_ISGID)
		*p++ = 'g';
	if (S_ISCHR(mode))
		*p++ = 'c';
	if (mode & S_ISVTX)
		*p++ = 't';
	if (p == buf)
		*p++ = '-';
	static const char rwx[] = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		*p++ = mode & (1u << (8 - i)) ? rwx[i] : '-';
	*p = '\0';
}

static void existence_test(int root_fd, const json_t *t, struct structtest_report *report)
{
	struct structtest_result *res =
	    new_result(report, "File Existence Test", json_get_string(t, "name"));
	const char *path = json_get_string(t, "path");
	json_t *should = json_object_get(t, "shouldExist");
	bool want = !should || json_is_true(should);
	struct stat st;
	_cleanup_close_ int fd =
	    path ? fs_open_in_root(root_fd, path, O_PATH | O_NOFOLLOW) : -EINVAL;
	bool exists = fd >= 0 && fstat(fd, &st) == 0;
	if (!path)
		fail(res, "no path");
	else if (exists != want)
		fail(res, "%s %s", path, exists ? "exists but should not" : "does not exist");
	if (exists && want) {
		const char *perms = json_get_string(t, "permissions");
		char have[32];
		go_mode_string(st.st_mode, have);
		if (perms && strcmp(perms, have))
			fail(res, "%s has permissions %s, expected %s", path, have, perms);
		json_int_t uid = json_get_int(t, "uid", -1), gid = json_get_int(t, "gid", -1);
		if (uid >= 0 && (json_int_t)st.st_uid != uid)
			fail(res, "%s is owned by uid %u, expected %" JSON_INTEGER_FORMAT, path,
			     (unsigned)st.st_uid, uid);
		if (gid >= 0 && (json_int_t)st.st_gid != gid)
			fail(res, "%s is owned by gid %u, expected %" JSON_INTEGER_FORMAT, path,
			     (unsigned)st.st_gid, gid);
		const char *by = json_get_string(t, "isExecutableBy");
		mode_t bits = !by                    ? 0
			      : !strcmp(by, "owner") ? S_IXUSR
			      : !strcmp(by, "group") ? S_IXGRP
			      : !strcmp(by, "other") ? S_IXOTH
			      : !strcmp(by, "any")   ? (S_IXUSR | S_IXGRP | S_IXOTH)
						     : (mode_t)-1;
		if (bits == (mode_t)-1)
			fail(res, "isExecutableBy \"%s\" is not owner, group, other or any", by);
		else if (bits && !(st.st_mode & bits))
			fail(res, "%s is not executable by %s", path, by);
	}
	finish_result(report, res);
}

static void content_test(int root_fd, const json_t *t, struct structtest_report *report)
{
	struct structtest_result *res =
	    new_result(report, "File Content Test", json_get_string(t, "name"));
	const char *path = json_get_string(t, "path");
	_cleanup_close_ int fd = path ? fs_open_in_root(root_fd, path, O_RDONLY) : -EINVAL;
	_cleanup_free_ char *data = NULL;
	if (fd < 0)
		fail(res, "%s: %s", path ? path : "no path", strerror(-fd));
	else
		data = read_all(fd);
	if (data) {
		check_expected(res, json_object_get(t, "expectedContents"), data, "contents", true);
		check_expected(res, json_object_get(t, "excludedContents"), data, "contents",
			       false);
	}
	finish_result(report, res);
}

/* ---- metadata ---- */

static void check_pairs(struct structtest_result *res, const json_t *want, const json_t *have_map,
			const char *what)
{
	size_t i;
	json_t *v;
	json_array_foreach(want, i, v)
	{
		const char *k = json_get_string(v, "key"), *val = json_get_string(v, "value");
		const char *have = json_get_string(have_map, k ? k : "");
		if (!k)
			continue;
		if (!have)
			fail(res, "%s %s is not set", what, k);
		else if (val && json_is_true(json_object_get(v, "isRegex"))
			     ? !matches(res, val, have)
			     : val && strcmp(val, have))
			fail(res, "%s %s is \"%s\", expected \"%s\"", what, k, have, val);
	}
}

static bool has_port(const json_t *ports, const char *port)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)ports, key, v)
	{
		size_t n = strcspn(key, "/");
		if (!strcmp(key, port) || (strlen(port) == n && !strncmp(key, port, n)))
			return true;
	}
	return false;
}

/* Each name of `list` must (want) or must not be a key of `map`; ports
 * also match without their "/tcp". */
static void check_declared(struct structtest_result *res, const json_t *list, const json_t *map,
			   bool want, const char *what, const char *state)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *name = json_string_value(v) ? json_string_value(v) : "";
		if (has_port(map, name) != want)
			fail(res, "%s %s is %s%s", what, name, want ? "not " : "", state);
	}
}

static void compare_list(struct structtest_result *res, const json_t *want, const json_t *have,
			 const char *what)
{
	if (!want)
		return;
	_cleanup_json_ json_t *empty = json_array();
	if (!json_equal((json_t *)want, (json_t *)(have ? have : empty))) {
		_cleanup_free_ char *w = json_dump_compact(want, NULL);
		_cleanup_free_ char *h = have ? json_dump_compact(have, NULL) : xstrdup("[]");
		fail(res, "%s is %s, expected %s", what, h, w);
	}
}

static void metadata_test(const struct image *img, const json_t *t,
			  struct structtest_report *report)
{
	struct structtest_result *res = new_result(report, "Metadata Test", "Metadata Test");
	json_t *cfg = image_runtime_config(img);
	_cleanup_json_ json_t *env = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(cfg ? json_object_get(cfg, "Env") : NULL, i, v)
	{
		const char *kv = json_string_value(v);
		const char *eq = kv ? strchr(kv, '=') : NULL;
		if (eq) {
			_cleanup_free_ char *k = xstrndup(kv, (size_t)(eq - kv));
			json_object_set_new(env, k, json_string(eq + 1));
		}
	}
	check_pairs(res, json_object_get(t, "envVars"), env, "environment variable");
	check_pairs(res, json_object_get(t, "labels"), cfg ? json_object_get(cfg, "Labels") : NULL,
		    "label");
	json_t *ports = cfg ? json_object_get(cfg, "ExposedPorts") : NULL;
	json_t *volumes = cfg ? json_object_get(cfg, "Volumes") : NULL;
	check_declared(res, json_object_get(t, "exposedPorts"), ports, true, "port", "exposed");
	check_declared(res, json_object_get(t, "unexposedPorts"), ports, false, "port", "exposed");
	check_declared(res, json_object_get(t, "volumes"), volumes, true, "volume", "declared");
	check_declared(res, json_object_get(t, "unmountedVolumes"), volumes, false, "volume",
		       "declared");
	compare_list(res, json_object_get(t, "entrypoint"),
		     cfg ? json_object_get(cfg, "Entrypoint") : NULL, "the entrypoint");
	compare_list(res, json_object_get(t, "cmd"), cfg ? json_object_get(cfg, "Cmd") : NULL,
		     "the command");
	const char *workdir = json_get_string(t, "workdir");
	const char *have_wd = cfg ? json_get_string(cfg, "WorkingDir") : NULL;
	if (workdir && strcmp(workdir, have_wd ? have_wd : ""))
		fail(res, "the working directory is \"%s\", expected \"%s\"",
		     have_wd ? have_wd : "", workdir);
	const char *user = json_get_string(t, "user");
	const char *have_user = cfg ? json_get_string(cfg, "User") : NULL;
	if (user && strcmp(user, have_user ? have_user : ""))
		fail(res, "the user is \"%s\", expected \"%s\"", have_user ? have_user : "", user);
	finish_result(report, res);
}

/* ---- immutability (petra's own) ---- */

/* Every directory of the image, absolute, but /proc, /sys and /dev. */
static void list_dirs(int dir_fd, const char *prefix, struct strbuf *out, int depth)
{
	if (depth > 64)
		return;
	_cleanup_closedir_ DIR *d = fs_opendir_at(dir_fd, ".");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", prefix, de->d_name);
		if (!strcmp(path, "/proc") || !strcmp(path, "/sys") || !strcmp(path, "/dev"))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		strbuf_addf(out, "%s\n", path);
		_cleanup_close_ int sub =
		    openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			list_dirs(sub, path, out, depth + 1);
	}
}

static void immutability_test(const struct structtest_context *ctx, const struct image *img,
			      int root_fd, const json_t *t, struct structtest_report *report)
{
	const char *name = json_get_string(t, "name");
	struct structtest_result *res =
	    new_result(report, "Immutability Test", name ? name : "Immutability Test");
	/* The paths that may be written: the test's list, else the image's. */
	_cleanup_strvec_ struct strvec allowed = STRVEC_INIT;
	json_t *listed = json_object_get(t, "writablePaths");
	size_t i;
	json_t *v;
	if (listed) {
		json_array_foreach(listed, i, v) if (json_is_string(v))
		    strvec_push(&allowed, json_string_value(v));
	} else {
		json_t *cfg = image_runtime_config(img);
		json_t *labels = cfg ? json_object_get(cfg, "Labels") : NULL;
		struct image_writable_path *paths = NULL;
		size_t n = 0;
		_cleanup_error_ struct petra_error *e = NULL;
		if (image_writable_paths_parse(
			labels ? json_get_string(labels, IMAGE_WRITABLE_PATHS_LABEL) : NULL, &paths,
			&n, &e) < 0)
			fail(res, "%s", e->message);
		for (i = 0; i < n; i++)
			strvec_push(&allowed, paths[i].path);
		image_writable_paths_free(paths, n);
	}
	_cleanup_strbuf_ struct strbuf dirs = STRBUF_INIT;
	strbuf_addstr(&dirs, "/\n");
	list_dirs(root_fd, "", &dirs, 0);
	for (i = 0; i < allowed.n; i++)
		strbuf_addf(&dirs, "%s\n", allowed.v[i]);
	/* As the image's user, try to create a file in each directory. */
	_cleanup_close_ int in = memfd_create("dirs", MFD_CLOEXEC);
	char *const argv[] = {
	    "/bin/sh", "-c",
	    "while read -r d; do f=\"${d%/}/.petra-immutability-probe\"; "
	    "if (: >\"$f\") 2>/dev/null; then rm -f \"$f\"; echo \"$d\"; fi; done",
	    NULL};
	char *const env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			     NULL};
	_cleanup_error_ struct petra_error *e = NULL;
	_cleanup_free_ char *out = NULL, *errout = NULL;
	int code = 0;
	if (in < 0 || fs_write_all(in, dirs.buf, dirs.len) < 0 || lseek(in, 0, SEEK_SET) != 0) {
		fail(res, "prepare the probe: %s", strerror(errno));
	} else if (run_in_image(ctx, argv, env, NULL, in, &code, &out, &errout, &e) < 0 ||
		   code != 0) {
		fail(res, "the probe (/bin/sh) could not run: %s",
		     e        ? e->message
		     : errout ? errout
			      : "");
	} else {
		_cleanup_strset_ struct strset writable = STRSET_INIT;
		for (char *save = out, *line; (line = strsep(&save, "\n"));)
			if (*line)
				strset_add(&writable, line);
		if (strset_contains(&writable, "/"))
			fail(res, "the root directory is writable");
		for (i = 0; i < allowed.n; i++)
			if (!strset_contains(&writable, allowed.v[i]))
				fail(res, "%s should be writable but is not", allowed.v[i]);
		for (size_t k = 0; k < writable.capacity; k++) {
			const char *w = writable.slots[k];
			if (!w || !strcmp(w, "/"))
				continue;
			bool ok = false;
			for (i = 0; i < allowed.n && !ok; i++)
				ok = !strcmp(allowed.v[i], w);
			if (!ok)
				fail(res, "%s is writable but not listed", w);
		}
	}
	finish_result(report, res);
}

/* ---- the run ---- */

int structtest_run(const struct structtest_context *ctx, const json_t *doc,
		   struct structtest_report *report, struct petra_error **err)
{
	struct image img;
	int r = image_load(ctx->store, ctx->image, &img, err);
	if (r < 0)
		return r;
	_cleanup_close_ int root_fd = -1;
	bool files = json_array_size(json_object_get(doc, "fileExistenceTests")) ||
		     json_array_size(json_object_get(doc, "fileContentTests")) ||
		     json_object_get(doc, "immutabilityTest");
	if (files)
		r = runtime_open_image_root(ctx->store, &img, ctx->run_dir, &root_fd, err);
	if (r < 0) {
		image_release(&img);
		return r;
	}
	const json_t *globals = json_object_get(doc, "globalEnvVars");
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(doc, "commandTests"), i, t)
	    command_test(ctx, globals, t, report);
	json_array_foreach(json_object_get(doc, "fileExistenceTests"), i, t)
	    existence_test(root_fd, t, report);
	json_array_foreach(json_object_get(doc, "fileContentTests"), i, t)
	    content_test(root_fd, t, report);
	if (json_object_get(doc, "metadataTest"))
		metadata_test(&img, json_object_get(doc, "metadataTest"), report);
	if (json_object_get(doc, "immutabilityTest"))
		immutability_test(ctx, &img, root_fd, json_object_get(doc, "immutabilityTest"),
				  report);
	image_release(&img);
	return 0;
}
