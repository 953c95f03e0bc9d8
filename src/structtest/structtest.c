/* SPDX-License-Identifier: Apache-2.0 */
/* Loading and running container-structure-test files. */
#include "structtest.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fcntl.h>
#include <inttypes.h>
#include <pcre2.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- loading ---- */

/* The container-structure-test schema (its Go types), field by field. A
 * value of the wrong type is an error naming the field, line and column,
 * except where the original reads it: a number or boolean given for a
 * string field is that string ("user: 1000" is "1000"), as Go's YAML
 * library reads it. A number for "permissions" is refused rather than
 * read as text: no Go mode string is a number, so it could never match. */
enum field_kind {
	FIELD_STRING,
	FIELD_MODE,      /* "permissions": a string such as "-rw-r--r--" */
	FIELD_BOOL,      /* true or false only ("yes" is a string in YAML 1.2) */
	FIELD_ID,        /* uid, gid: an integer from 0 to 4294967295 */
	FIELD_EXIT_CODE, /* an integer from 0 to 255 */
	FIELD_EXECUTABLE_BY,
	FIELD_STRINGS,  /* a sequence of FIELD_STRING */
	FIELD_COMMANDS, /* a sequence of FIELD_STRINGS: setup, teardown */
	FIELD_PAIRS,    /* a sequence of {key, value, isRegex} */
	FIELD_TESTS,    /* a sequence of mappings of `fields` */
	FIELD_SECTION,  /* a mapping of `fields` */
};

struct field {
	const char *name;
	enum field_kind kind;
	const struct field *fields; /* FIELD_TESTS, FIELD_SECTION */
};

static const struct field pair_fields[] = {
    {"key", FIELD_STRING, NULL},
    {"value", FIELD_STRING, NULL},
    {"isRegex", FIELD_BOOL, NULL},
    {NULL, 0, NULL},
};
static const struct field command_fields[] = {
    {"name", FIELD_STRING, NULL},
    {"setup", FIELD_COMMANDS, NULL},
    {"teardown", FIELD_COMMANDS, NULL},
    {"envVars", FIELD_PAIRS, NULL},
    {"command", FIELD_STRING, NULL},
    {"args", FIELD_STRINGS, NULL},
    {"expectedOutput", FIELD_STRINGS, NULL},
    {"excludedOutput", FIELD_STRINGS, NULL},
    {"expectedError", FIELD_STRINGS, NULL},
    {"excludedError", FIELD_STRINGS, NULL},
    {"exitCode", FIELD_EXIT_CODE, NULL},
    {NULL, 0, NULL},
};
static const struct field existence_fields[] = {
    {"name", FIELD_STRING, NULL},
    {"path", FIELD_STRING, NULL},
    {"shouldExist", FIELD_BOOL, NULL},
    {"permissions", FIELD_MODE, NULL},
    {"uid", FIELD_ID, NULL},
    {"gid", FIELD_ID, NULL},
    {"isExecutableBy", FIELD_EXECUTABLE_BY, NULL},
    {NULL, 0, NULL},
};
static const struct field content_fields[] = {
    {"name", FIELD_STRING, NULL},
    {"path", FIELD_STRING, NULL},
    {"expectedContents", FIELD_STRINGS, NULL},
    {"excludedContents", FIELD_STRINGS, NULL},
    {NULL, 0, NULL},
};
static const struct field metadata_fields[] = {
    {"envVars", FIELD_PAIRS, NULL},
    {"labels", FIELD_PAIRS, NULL},
    {"exposedPorts", FIELD_STRINGS, NULL},
    {"unexposedPorts", FIELD_STRINGS, NULL},
    {"volumes", FIELD_STRINGS, NULL},
    {"unmountedVolumes", FIELD_STRINGS, NULL},
    {"entrypoint", FIELD_STRINGS, NULL},
    {"cmd", FIELD_STRINGS, NULL},
    {"workdir", FIELD_STRING, NULL},
    {"user", FIELD_STRING, NULL},
    {NULL, 0, NULL},
};
static const struct field immutability_fields[] = {
    {"name", FIELD_STRING, NULL},
    {"writablePaths", FIELD_STRINGS, NULL},
    {NULL, 0, NULL},
};
static const struct field top_fields[] = {
    {"schemaVersion", FIELD_STRING, NULL},
    {"globalEnvVars", FIELD_PAIRS, NULL},
    {"commandTests", FIELD_TESTS, command_fields},
    {"fileExistenceTests", FIELD_TESTS, existence_fields},
    {"fileContentTests", FIELD_TESTS, content_fields},
    {"metadataTest", FIELD_SECTION, metadata_fields},
    {"immutabilityTest", FIELD_SECTION, immutability_fields},
    {NULL, 0, NULL},
};

/* A value's place: key `key` of a mapping, or item `index` of a sequence,
 * in the parsed tree (which knows positions) and in its copy (which is
 * normalized: scalars read as strings, nulls dropped). */
struct slot {
	const struct petra_yaml *y;
	const json_t *parent;
	json_t *copy;
	const char *key; /* NULL: item `index` */
	size_t index;
	const char *what; /* "commandTests[0].exitCode" */
};

static int slot_error(const struct slot *s, struct petra_error **err, const char *must)
{
	const json_t *v =
	    s->key ? json_object_get(s->parent, s->key) : json_array_get(s->parent, s->index);
	return petra_yaml_error(s->y, s->parent, s->key, s->index, err, "%s: must be %s, not %s",
				s->what, must, petra_yaml_type_name(v));
}

static void slot_replace(const struct slot *s, json_t *v)
{
	if (s->key)
		json_object_set_new(s->copy, s->key, v);
	else
		json_array_set_new(s->copy, s->index, v);
}

static int check_value(const struct slot *s, enum field_kind kind, const struct field *fields,
		       struct petra_error **err);

/* Every field of a mapping: known, and of its type. */
static int check_mapping(const struct petra_yaml *y, const json_t *map, json_t *copy,
			 const struct field *fields, const char *what, struct petra_error **err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)map, key, v)
	{
		const struct field *f = fields;
		while (f->name && strcmp(f->name, key))
			f++;
		if (!f->name) {
			_cleanup_free_ char *q = str_quote(key);
			return petra_yaml_error(y, map, key, 0, err, "%s%sunknown field %s", what,
						*what ? ": " : "", q);
		}
		if (json_is_null(v)) { /* "field:" with nothing: as if absent */
			json_object_del(copy, key);
			continue;
		}
		_cleanup_free_ char *sub = xasprintf("%s%s%s", what, *what ? "." : "", key);
		struct slot s = {y, map, copy, key, 0, sub};
		int r = check_value(&s, f->kind, f->fields, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Every item of a sequence as one kind. */
static int check_items(const struct slot *s, enum field_kind kind, const struct field *fields,
		       struct petra_error **err)
{
	const json_t *list =
	    s->key ? json_object_get(s->parent, s->key) : json_array_get(s->parent, s->index);
	json_t *copy =
	    s->key ? json_object_get(s->copy, s->key) : json_array_get(s->copy, s->index);
	for (size_t i = 0; i < json_array_size(list); i++) {
		_cleanup_free_ char *sub = xasprintf("%s[%zu]", s->what, i);
		struct slot item = {s->y, list, copy, NULL, i, sub};
		int r = check_value(&item, kind, fields, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_value(const struct slot *s, enum field_kind kind, const struct field *fields,
		       struct petra_error **err)
{
	const json_t *v =
	    s->key ? json_object_get(s->parent, s->key) : json_array_get(s->parent, s->index);
	json_t *copy =
	    s->key ? json_object_get(s->copy, s->key) : json_array_get(s->copy, s->index);
	switch (kind) {
	case FIELD_STRING:
		if (json_is_string(v))
			return 0;
		if (json_is_integer(v)) {
			slot_replace(s,
				     json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
			return 0;
		}
		if (json_is_boolean(v)) {
			slot_replace(s, json_string(json_is_true(v) ? "true" : "false"));
			return 0;
		}
		return slot_error(s, err,
				  json_is_real(v) ? "a string (quote the number)" : "a string");
	case FIELD_MODE:
		return json_is_string(v) ? 0
					 : slot_error(s, err, "a string such as \"-rw-r--r--\"");
	case FIELD_BOOL:
		return json_is_boolean(v) ? 0 : slot_error(s, err, "true or false");
	case FIELD_ID:
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 4294967295LL)
			return 0;
		return slot_error(s, err, "an integer from 0 to 4294967295");
	case FIELD_EXIT_CODE:
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 255)
			return 0;
		return slot_error(s, err, "an integer from 0 to 255");
	case FIELD_EXECUTABLE_BY: {
		const char *by = json_string_value(v);
		if (by && (!strcmp(by, "owner") || !strcmp(by, "group") || !strcmp(by, "other") ||
			   !strcmp(by, "any")))
			return 0;
		if (by)
			return petra_yaml_error(s->y, s->parent, s->key, s->index, err,
						"%s: must be owner, group, other or any", s->what);
		return slot_error(s, err, "owner, group, other or any");
	}
	case FIELD_STRINGS:
	case FIELD_COMMANDS:
	case FIELD_PAIRS:
	case FIELD_TESTS:
		if (!json_is_array(v))
			return slot_error(s, err, "a sequence");
		return check_items(s,
				   kind == FIELD_STRINGS    ? FIELD_STRING
				   : kind == FIELD_COMMANDS ? FIELD_STRINGS
							    : FIELD_SECTION,
				   kind == FIELD_PAIRS ? pair_fields : fields, err);
	case FIELD_SECTION: {
		if (!json_is_object(v))
			return slot_error(s, err, "a mapping");
		int r = check_mapping(s->y, v, copy, fields, s->what, err);
		if (r < 0)
			return r;
		/* The required fields. */
		const char *required = fields == pair_fields           ? "key"
				       : fields == metadata_fields     ? NULL
				       : fields == immutability_fields ? NULL
								       : "name";
		if (required && !json_object_get(copy, required))
			return petra_yaml_error(s->y, v, NULL, PETRA_YAML_NODE, err, "%s: no %s",
						s->what, required);
		return 0;
	}
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
	_cleanup_json_ json_t *json = json_deep_copy(root);
	int r = check_mapping(y, root, json, top_fields, "", err);
	if (r < 0)
		return r;
	const char *version = json_get_string(json, "schemaVersion");
	if (!version || strcmp(version, "2.0.0"))
		return petra_error_set(err, EINVAL, "%s: schemaVersion is not \"2.0.0\"", path);
	*doc = steal_pointer(&json);
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
static bool matches(struct structtest_result *res, const char *pattern, const char *text,
		    size_t len)
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
	int rc = pcre2_match(re, (PCRE2_SPTR)text, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

/* What is kept of a command's output or a file's contents: the first
 * STRUCTTEST_OUTPUT_KEPT bytes; the rest is counted only. */
struct output {
	char *text; /* NUL-terminated; may hold NUL bytes before len */
	size_t len;
	uint64_t total;
	bool truncated;
};

/* The patterns are matched against what is kept. When more was written,
 * only a sure answer is given: a pattern found in the kept part. One not
 * found there could be in the rest: for an expected pattern and for an
 * excluded one alike, that fails the test and says so, never a pass. */
static void check_expected(struct structtest_result *res, const json_t *list,
			   const struct output *o, const char *what, bool want)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *pattern = json_string_value(v);
		if (!pattern)
			continue;
		bool found = matches(res, pattern, o->text ? o->text : "", o->text ? o->len : 0);
		if (found && want)
			continue;
		if (found)
			fail(res, "%s matches excluded \"%s\"", what, pattern);
		else if (o->truncated)
			fail(res,
			     "%s: cannot tell whether it matches %s\"%s\": only the first %zu of "
			     "%" PRIu64 " bytes are kept",
			     what, want ? "" : "excluded ", pattern, (size_t)STRUCTTEST_OUTPUT_KEPT,
			     o->total);
		else if (want)
			fail(res, "%s does not match \"%s\"", what, pattern);
	}
}

/* ---- command tests ---- */

/* A file from its start: what is kept of it, and its size. */
static void read_kept(int fd, struct output *o)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	ssize_t n;
	o->total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		o->total += (uint64_t)n;
		size_t room = STRUCTTEST_OUTPUT_KEPT - sb.len;
		strbuf_add(&sb, buf, (size_t)n < room ? (size_t)n : room);
	}
	o->truncated = o->total > sb.len;
	o->len = sb.len;
	o->text = strbuf_detach(&sb);
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

/* A command's stdout and stderr, read from pipes as they are written and
 * kept up to STRUCTTEST_OUTPUT_KEPT bytes each: the rest is counted, not
 * kept, so a command that writes gigabytes costs no more memory than that.
 * The reader is a forked process writing into shared memory, not a
 * thread: runtime_run clones the container from this process, and a clone
 * of a process with threads could inherit a lock another thread held. */
struct capture {
	uint64_t total[2];
	size_t kept[2];
	char buf[2][STRUCTTEST_OUTPUT_KEPT]; /* untouched pages cost nothing */
};

/* The reader: both pipes until both end; dies with its parent. */
__attribute__((noreturn)) static void capture_pipes(struct capture *c, int fd0, int fd1,
						    pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(1);
	int fd[2] = {fd0, fd1};
	char buf[65536];
	while (fd[0] >= 0 || fd[1] >= 0) {
		struct pollfd fds[2] = {{.fd = fd[0], .events = POLLIN},
					{.fd = fd[1], .events = POLLIN}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fd[i] < 0 || !fds[i].revents)
				continue;
			ssize_t n = read(fd[i], buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fd[i] = -1;
				continue;
			}
			c->total[i] += (uint64_t)n;
			size_t room = STRUCTTEST_OUTPUT_KEPT - c->kept[i];
			size_t take = (size_t)n < room ? (size_t)n : room;
			memcpy(c->buf[i] + c->kept[i], buf, take);
			c->kept[i] += take;
		}
	}
	_exit(0);
}

/* Run argv in a fresh sandbox of the image; output captured (bounded),
 * killed at the deadline (CLOCK_MONOTONIC ns; 0: none). */
static int run_in_image(const struct structtest_context *ctx, char *const *argv, char *const *env,
			const char *upper, int stdin_fd, uint64_t deadline, int *exit_code,
			struct output *out, struct output *errout, struct petra_error **err)
{
	*exit_code = 125;
	unsigned timeout_ms = 0;
	if (deadline) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return petra_error_set(err, ETIMEDOUT, "timed out");
		timeout_ms = (unsigned)((deadline - now) / 1000000u) + 1;
	}
	_cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	struct capture *cap =
	    mmap(NULL, sizeof(*cap), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t parent = getpid(), reader = -1;
	if (devnull < 0 || cap == MAP_FAILED || pipe2(po, O_CLOEXEC) < 0 ||
	    pipe2(pe, O_CLOEXEC) < 0 || (reader = fork()) < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (po[i] >= 0)
				close(po[i]);
			if (pe[i] >= 0)
				close(pe[i]);
		}
		if (cap != MAP_FAILED)
			munmap(cap, sizeof(*cap));
		return petra_error_set_errno(err, e, "capture the output");
	}
	if (reader == 0) {
		close(po[1]);
		close(pe[1]);
		capture_pipes(cap, po[0], pe[0], parent);
	}
	close(po[0]);
	close(pe[0]);
	struct runtime_run_options ro = {
	    .image = ctx->image,
	    .command = argv,
	    .env = env,
	    .remove = true,
	    .use_stdio = true,
	    .stdio = {stdin_fd >= 0 ? stdin_fd : devnull, po[1], pe[1]},
	    .upper_dir = upper,
	    .timeout_ms = timeout_ms,
	};
	struct runtime_run_result result;
	int r = runtime_run(ctx->store, ctx->run_dir, &ro, &result, err);
	*exit_code = result.exit_code;
	runtime_run_result_release(&result);
	/* The container is gone (its PID namespace with it): the pipes end
	 * once our own writing ends are closed. */
	close(po[1]);
	close(pe[1]);
	while (waitpid(reader, NULL, 0) < 0 && errno == EINTR)
		;
	struct output *outs[2] = {out, errout};
	for (int i = 0; i < 2; i++) {
		if (!outs[i])
			continue;
		outs[i]->total = cap->total[i];
		outs[i]->truncated = cap->total[i] > cap->kept[i];
		outs[i]->len = cap->kept[i];
		outs[i]->text = xmalloc(cap->kept[i] + 1);
		memcpy(outs[i]->text, cap->buf[i], cap->kept[i]);
		outs[i]->text[cap->kept[i]] = '\0';
	}
	munmap(cap, sizeof(*cap));
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
	/* The timeout is the whole test's: setup, command and teardown. */
	uint64_t deadline = ctx->timeout_ms ? now_ns() + (uint64_t)ctx->timeout_ms * 1000000u : 0;
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
			struct output out = {0}, errout = {0};
			int code = 0;
			int r = run_in_image(ctx, argv.v, env.v, upper, -1, deadline, &code, &out,
					     &errout, &e);
			if (!is_command) {
				if (r < 0 || code != 0)
					fail(res, "%s command %s failed: %s", phases[ph].what,
					     argv.v[0], r < 0 ? e->message : errout.text);
				free(out.text);
				free(errout.text);
				continue;
			}
			if (r < 0 && code != 126 && code != 127) {
				fail(res, "%s: %s", argv.v[0], e->message);
				free(out.text);
				free(errout.text);
				continue;
			}
			if (r < 0) {
				char *with_error =
				    xasprintf("%s%s\n", errout.text ? errout.text : "", e->message);
				free(errout.text);
				errout.text = with_error;
				errout.len = strlen(with_error);
			}
			json_int_t want = json_get_int(t, "exitCode", 0);
			if (code != want)
				fail(res, "exit code %d, expected %" JSON_INTEGER_FORMAT, code,
				     want);
			check_expected(res, json_object_get(t, "expectedOutput"), &out, "stdout",
				       true);
			check_expected(res, json_object_get(t, "excludedOutput"), &out, "stdout",
				       false);
			check_expected(res, json_object_get(t, "expectedError"), &errout, "stderr",
				       true);
			check_expected(res, json_object_get(t, "excludedError"), &errout, "stderr",
				       false);
			free(res->stdout_text);
			free(res->stderr_text);
			res->stdout_text = out.text;
			res->stderr_text = errout.text;
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
	struct output data = {0};
	if (fd < 0)
		fail(res, "%s: %s", path ? path : "no path", strerror(-fd));
	else
		read_kept(fd, &data);
	if (data.text) {
		check_expected(res, json_object_get(t, "expectedContents"), &data, "contents",
			       true);
		check_expected(res, json_object_get(t, "excludedContents"), &data, "contents",
			       false);
	}
	free(data.text);
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
			     ? !matches(res, val, have, strlen(have))
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

/* Every directory of the image, absolute, but /proc, /sys and /dev (and
 * what lies deeper than 64 levels). */
static int list_dir_entry(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	struct strbuf *out = ctx;
	if (!S_ISDIR(e->st.st_mode))
		return FS_WALK_CONTINUE;
	if (e->depth == 1 &&
	    (!strcmp(e->name, "proc") || !strcmp(e->name, "sys") || !strcmp(e->name, "dev")))
		return FS_WALK_PRUNE;
	strbuf_addf(out, "%s\n", e->path);
	return e->depth > 64 ? FS_WALK_PRUNE : FS_WALK_CONTINUE;
}

static void list_dirs(int dir_fd, struct strbuf *out)
{
	static const struct fs_walk_ops ops = {.pre = list_dir_entry};
	_cleanup_error_ struct petra_error *ignored = NULL;
	/* The list is what the test probes; a walk that fails part-way
	 * (an unreadable directory) gives the directories met before. */
	fs_walk(dir_fd, "/", FS_WALK_SKIP_VANISHED, &ops, out, &ignored);
}

static void immutability_test(const struct structtest_context *ctx, const struct image *img,
			      int root_fd, const json_t *t, struct structtest_report *report)
{
	const char *name = json_get_string(t, "name");
	struct structtest_result *res =
	    new_result(report, "Immutability Test", name ? name : "Immutability Test");
	uint64_t deadline = ctx->timeout_ms ? now_ns() + (uint64_t)ctx->timeout_ms * 1000000u : 0;
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
	list_dirs(root_fd, &dirs);
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
	struct output out = {0}, errout = {0};
	int code = 0;
	if (in < 0 || fs_write_all(in, dirs.buf, dirs.len) < 0 || lseek(in, 0, SEEK_SET) != 0) {
		fail(res, "prepare the probe: %s", strerror(errno));
	} else if (run_in_image(ctx, argv, env, NULL, in, deadline, &code, &out, &errout, &e) < 0 ||
		   code != 0) {
		fail(res, "the probe (/bin/sh) could not run: %s",
		     e             ? e->message
		     : errout.text ? errout.text
				   : "");
	} else {
		_cleanup_strset_ struct strset writable = STRSET_INIT;
		for (char *save = out.text, *line; save && (line = strsep(&save, "\n"));)
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
	free(out.text);
	free(errout.text);
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
