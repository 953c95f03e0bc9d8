/* SPDX-License-Identifier: Apache-2.0 */
/* rebuild: when a layer rebase is safe, and the names a pod uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rebuild/rebuild.h"

/* A config whose history is the JSON array `history`. */
static json_t *config_with(const char *history)
{
	json_error_t e;
	json_t *h = json_loads(history, 0, &e);
	assert_non_null(h);
	return json_pack("{s:o}", "history", h);
}

static void test_rebase_safe_steps(void **state)
{
	(void)state;
	/* The base's one entry, then petra's and buildah's spellings of
	 * COPY, ADD and WORKDIR, config-only steps and a numeric chown. */
	json_t *c =
	    config_with("[{\"created_by\": \"petra import rootfs\"},"
			" {\"created_by\": \"ENV A=1\", \"empty_layer\": true},"
			" {\"created_by\": \"WORKDIR /app\"},"
			" {\"created_by\": \"COPY --chown=1000:1000 src/ /app/src/\"},"
			" {\"created_by\": \"/bin/sh -c #(nop) ADD file:abc in /app/x \"},"
			" {\"created_by\": \"RUN this is the base's\", \"empty_layer\": true},"
			" {\"created_by\": \"CMD [\\\"x\\\"]\", \"empty_layer\": true}]");
	assert_null(rebuild_rebase_unsafe(c, 1));
	json_decref(c);
}

static void test_rebase_unsafe_steps(void **state)
{
	(void)state;
	static const char *const unsafe[] = {
	    "[{\"created_by\": \"base\"}, {\"created_by\": \"RUN echo hi > /x\"}]",
	    "[{\"created_by\": \"base\"}, {\"created_by\": \"/bin/sh -c echo hi > /x\"}]",
	    "[{\"created_by\": \"base\"}, {\"created_by\": \"COPY --chown=app src /x\"}]",
	    "[{\"created_by\": \"base\"}, {\"comment\": \"no created_by\"}]",
	    "[{\"created_by\": \"petra build --squash (3 layers)\"}]",
	};
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		json_t *c = config_with(unsafe[i]);
		char *why = rebuild_rebase_unsafe(c, i == 4 ? 0 : 1);
		assert_non_null(why);
		free(why);
		json_decref(c);
	}
	/* The base's own RUN steps do not count: only those above it. */
	json_t *c = config_with("[{\"created_by\": \"RUN apt-get install x\"},"
				" {\"created_by\": \"COPY a /a\"}]");
	assert_null(rebuild_rebase_unsafe(c, 1));
	char *why = rebuild_rebase_unsafe(c, 0);
	assert_non_null(why);
	assert_non_null(strstr(why, "RUN apt-get"));
	free(why);
	/* A history shorter than the base's cannot be split. */
	why = rebuild_rebase_unsafe(c, 3);
	assert_non_null(why);
	free(why);
	json_decref(c);
}

static void test_remote_name(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"base:1", "reg.example:5000/rebuilt/base:1"},
	    {"team/app:1", "reg.example:5000/rebuilt/team/app:1"},
	    {"registry.example/team/app:1", "registry.example/team/app:1"},
	    {"127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1"},
	    {"localhost/app:1", "localhost/app:1"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = rebuild_remote_name("reg.example:5000/rebuilt", cases[i][0]);
		assert_string_equal(n, cases[i][1]);
		free(n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rebase_safe_steps),
	    cmocka_unit_test(test_rebase_unsafe_steps),
	    cmocka_unit_test(test_remote_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
