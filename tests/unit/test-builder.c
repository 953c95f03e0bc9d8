/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/builder through its API: cache keys (content, not
 * times; build arguments; what comes before), the semantics of the
 * instructions that shape the config, errors. Builds FROM scratch and
 * COPY only, so no container runs. */
#include "store-fixture.h"

#include <utime.h>

#include "builder/builder.h"

struct ctx {
	struct store_fixture *f;
	char *dir;
	struct strvec lines; /* progress lines of the last build */
};

static void collect(void *arg, const char *line)
{
	strvec_push(&((struct ctx *)arg)->lines, line);
}

static void write_context(struct ctx *c, const char *dockerfile)
{
	test_write_file(c->dir, "Dockerfile", dockerfile, 0644);
}

/* Build; on failure *err is set and the result's digest is empty. */
static int build(struct ctx *c, const char *tag, const char *const *args, size_t n_args,
		 struct builder_result *res, struct petra_error **err)
{
	strvec_clear(&c->lines);
	const char *tags[] = {tag};
	struct builder_options o = {
	    .context = c->dir,
	    .tags = tags,
	    .n_tags = tag ? 1 : 0,
	    .build_args = args,
	    .n_build_args = n_args,
	    .compression = LAYER_COMPRESSION_GZIP,
	    .jobs = 1,
	    .output = collect,
	    .output_ctx = c,
	};
	return builder_run(c->f->store, &o, res, err);
}

static void build_ok(struct ctx *c, const char *tag, const char *const *args, size_t n_args,
		     struct builder_result *res)
{
	struct petra_error *err = NULL;
	if (build(c, tag, args, n_args, res, &err) < 0)
		fail_msg("build %s: %s", tag ? tag : "", err->message);
}

static json_t *config_of(struct ctx *c, const char *ref)
{
	struct oci_descriptor desc;
	struct petra_error *err = NULL;
	assert_int_equal(petra_store_resolve(c->f->store, ref, &desc, NULL, &err), 0);
	char *data = NULL;
	size_t len;
	assert_int_equal(
	    petra_store_read_blob(c->f->store, desc.digest, 1u << 20, &data, &len, &err), 0);
	json_t *manifest = json_parse_buffer(data, len, "manifest", &err);
	free(data);
	const char *config = json_get_string(json_object_get(manifest, "config"), "digest");
	assert_int_equal(petra_store_read_blob(c->f->store, config, 1u << 20, &data, &len, &err),
			 0);
	json_t *doc = json_parse_buffer(data, len, "config", &err);
	free(data);
	json_decref(manifest);
	oci_descriptor_release(&desc);
	return doc;
}

static int setup(void **state)
{
	store_fixture_setup(state);
	struct ctx *c = xcalloc(1, sizeof(*c));
	c->f = *state;
	c->dir = path_join(c->f->dir, "context");
	mkdir(c->dir, 0755);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	void *f = c->f;
	strvec_clear(&c->lines);
	free(c->dir);
	free(c);
	return store_fixture_teardown(&f);
}

static size_t count_lines(struct ctx *c, const char *needle)
{
	size_t n = 0;
	for (size_t i = 0; i < c->lines.n; i++)
		n += strstr(c->lines.v[i], needle) != NULL;
	return n;
}

static void test_keys_follow_content_not_times(void **state)
{
	struct ctx *c = *state;
	write_context(c, "FROM scratch\nCOPY a /a\nCOPY b /b\n");
	test_write_file(c->dir, "a", "one\n", 0644);
	test_write_file(c->dir, "b", "two\n", 0644);
	struct builder_result r1, r2;
	build_ok(c, "k:1", NULL, 0, &r1);
	assert_int_equal(r1.cached, 0);
	/* New times, same content: every step from the cache, same image. */
	char *a = path_join(c->dir, "a");
	struct utimbuf t = {12345, 12345};
	assert_int_equal(utime(a, &t), 0);
	build_ok(c, "k:1", NULL, 0, &r2);
	assert_int_equal(r2.cached, 2);
	assert_string_equal(r1.digest, r2.digest);
	/* New content in the second source: only its step runs again. */
	test_write_file(c->dir, "b", "TWO\n", 0644);
	build_ok(c, "k:2", NULL, 0, &r2);
	assert_int_equal(r2.cached, 1);
	/* In the first: the steps after it run again too. */
	test_write_file(c->dir, "a", "ONE\n", 0644);
	build_ok(c, "k:3", NULL, 0, &r2);
	assert_int_equal(r2.cached, 0);
	/* A new mode counts as new content. */
	assert_int_equal(chmod(a, 0600), 0);
	build_ok(c, "k:4", NULL, 0, &r2);
	assert_int_equal(r2.cached, 0);
	free(a);
}

static void test_build_args_and_instructions_in_keys(void **state)
{
	struct ctx *c = *state;
	write_context(c, "FROM scratch\nARG WHICH=a\nENV X=1\nCOPY $WHICH /file\n");
	test_write_file(c->dir, "a", "A\n", 0644);
	test_write_file(c->dir, "b", "B\n", 0644);
	struct builder_result r;
	build_ok(c, "args:1", NULL, 0, &r);
	build_ok(c, "args:1", NULL, 0, &r);
	assert_int_equal(r.cached, 1);
	const char *other[] = {"WHICH=b"};
	build_ok(c, "args:2", other, 1, &r);
	assert_int_equal(r.cached, 0);
	/* An instruction before the COPY changes its key. */
	write_context(c, "FROM scratch\nARG WHICH=a\nENV X=2\nCOPY $WHICH /file\n");
	build_ok(c, "args:3", NULL, 0, &r);
	assert_int_equal(r.cached, 0);
	/* Unused arguments are said so. */
	const char *unused[] = {"NOBODY=1"};
	build_ok(c, "args:4", unused, 1, &r);
	assert_int_equal(count_lines(c, "not used by any ARG: NOBODY"), 1);
}

static void test_config_instructions(void **state)
{
	struct ctx *c = *state;
	write_context(c, "FROM scratch\n"
			 "ARG V=7\n"
			 "ENV A=$V B=\"x y\"\n"
			 "ENV A=${A}8\n"
			 "LABEL l1=$V \"l 2\"=two\n"
			 "EXPOSE 80 7000-7001/udp\n"
			 "USER 10:20\n"
			 "WORKDIR /w\n"
			 "WORKDIR rel\n"
			 "STOPSIGNAL SIGINT\n"
			 "SHELL [\"/bin/ash\", \"-c\"]\n"
			 "CMD echo $A\n"
			 "HEALTHCHECK NONE\n"
			 "ONBUILD COPY x /x\n"
			 "MAINTAINER me\n");
	struct builder_result r;
	build_ok(c, "cfg:1", NULL, 0, &r);
	json_t *doc = config_of(c, "cfg:1");
	json_t *cfg = json_object_get(doc, "config");
	char *env = json_dumps(json_object_get(cfg, "Env"), JSON_COMPACT);
	assert_string_equal(
	    env, "[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"A=78\","
		 "\"B=x y\"]");
	free(env);
	assert_string_equal(json_get_string(json_object_get(cfg, "Labels"), "l1"), "7");
	assert_string_equal(json_get_string(json_object_get(cfg, "Labels"), "l 2"), "two");
	json_t *ports = json_object_get(cfg, "ExposedPorts");
	assert_int_equal(json_object_size(ports), 3);
	assert_non_null(json_object_get(ports, "7001/udp"));
	assert_string_equal(json_get_string(cfg, "User"), "10:20");
	assert_string_equal(json_get_string(cfg, "WorkingDir"), "/w/rel");
	assert_string_equal(json_get_string(cfg, "StopSignal"), "SIGINT");
	char *cmd = json_dumps(json_object_get(cfg, "Cmd"), JSON_COMPACT);
	assert_string_equal(cmd, "[\"/bin/ash\",\"-c\",\"echo $A\"]");
	free(cmd);
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(json_object_get(cfg, "Healthcheck"), "Test"), 0)),
			    "NONE");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cfg, "OnBuild"), 0)),
			    "COPY x /x");
	assert_string_equal(json_get_string(doc, "author"), "me");
	/* History: one entry per instruction but ARG; WORKDIR made a layer. */
	json_t *history = json_object_get(doc, "history");
	assert_int_equal(json_array_size(history), 13);
	size_t layers = 0, i;
	json_t *h;
	json_array_foreach(history, i, h) layers +=
	    !json_is_true(json_object_get(h, "empty_layer"));
	assert_int_equal(
	    layers, json_array_size(json_object_get(json_object_get(doc, "rootfs"), "diff_ids")));
	json_decref(doc);
}

static void test_errors_name_what_is_wrong(void **state)
{
	struct ctx *c = *state;
	struct builder_result r;
	struct petra_error *err = NULL;
	write_context(c, "FROM scratch\nEXPOSE 99999\n");
	assert_true(build(c, "e:1", NULL, 0, &r, &err) < 0);
	assert_error_contains(err, "EXPOSE 99999: invalid port");
	petra_error_free(err);
	err = NULL;
	write_context(c, "FROM not-in-store:1\n");
	assert_true(build(c, "e:1", NULL, 0, &r, &err) < 0);
	assert_error_contains(err, "is not in the store");
	petra_error_free(err);
	err = NULL;
	write_context(c, "FROM scratch\nCOPY --parents a /x/\n");
	assert_true(build(c, "e:1", NULL, 0, &r, &err) < 0);
	assert_error_contains(err, "--parents is not supported");
	petra_error_free(err);
	err = NULL;
	write_context(c, "FROM scratch AS one\nFROM one\n");
	struct builder_options o = {
	    .context = c->dir, .target = "two", .output = collect, .output_ctx = c};
	assert_true(builder_run(c->f->store, &o, &r, &err) < 0);
	assert_error_contains(err, "target stage \"two\" could not be found");
	petra_error_free(err);
	err = NULL;
	write_context(c, "FROM scratch\n");
	const char *bad[] = {"UPPER:case"};
	o = (struct builder_options){.context = c->dir, .tags = bad, .n_tags = 1};
	assert_true(builder_run(c->f->store, &o, &r, &err) < 0);
	petra_error_free(err);
}

static void test_stages_not_needed_are_skipped(void **state)
{
	struct ctx *c = *state;
	test_write_file(c->dir, "a", "a\n", 0644);
	write_context(c, "FROM scratch AS a\nCOPY a /a\n"
			 "FROM scratch AS b\nCOPY missing /m\n"
			 "FROM scratch\nCOPY --from=a /a /from-a\n");
	struct builder_result r;
	/* b would fail: it is not built. */
	build_ok(c, "skip:1", NULL, 0, &r);
	assert_int_equal(r.steps, 4);
	assert_int_equal(count_lines(c, "COPY missing"), 0);
}

int main(void)
{
	/* Mounting needs root; everything here builds FROM scratch. */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keys_follow_content_not_times, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build_args_and_instructions_in_keys, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_instructions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_name_what_is_wrong, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stages_not_needed_are_skipped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
