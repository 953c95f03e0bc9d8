/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/registry's parsers: WWW-Authenticate challenges and
 * registries.conf. */
#include "testutil.h"

#include "registry/registry.h"

static void test_challenge_bearer(void **state)
{
	(void)state;
	struct registry_challenge c;
	assert_int_equal(
	    registry_challenge_parse(
		"Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
		"scope=\"repository:a/b:pull,push\",error=\"insufficient_scope\"",
		&c, NULL),
	    0);
	assert_string_equal(c.scheme, "Bearer");
	assert_string_equal(c.realm, "https://auth.example/token");
	assert_string_equal(c.service, "registry.example");
	assert_string_equal(c.scope, "repository:a/b:pull,push");
	assert_string_equal(c.error, "insufficient_scope");
	registry_challenge_release(&c);
}

static void test_challenge_forms(void **state)
{
	(void)state;
	struct registry_challenge c;
	/* Tokens unquoted, spaces around '=', escapes, unknown params, case. */
	assert_int_equal(
	    registry_challenge_parse("basic  REALM = \"a \\\"q\\\" b\" , charset=UTF-8", &c, NULL),
	    0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "a \"q\" b");
	assert_null(c.service);
	registry_challenge_release(&c);
	/* Only the first of two challenges. */
	assert_int_equal(registry_challenge_parse("Bearer realm=x, Basic realm=y", &c, NULL), 0);
	assert_string_equal(c.realm, "x");
	registry_challenge_release(&c);
	assert_int_equal(registry_challenge_parse("Bearer", &c, NULL), 0);
	assert_null(c.realm);
	registry_challenge_release(&c);
	struct petra_error *err = NULL;
	assert_true(registry_challenge_parse("", &c, &err) < 0);
	petra_error_free(err);
	err = NULL;
	assert_true(registry_challenge_parse("Bearer realm=\"open", &c, &err) < 0);
	assert_string_equal(err->message, "WWW-Authenticate: unterminated quoted string");
	petra_error_free(err);
	err = NULL;
	assert_true(registry_challenge_parse("Bearer =x", &c, &err) < 0);
	petra_error_free(err);
}

static void test_conf(void **state)
{
	(void)state;
	const char *text = "# comment\n"
			   "unqualified-search-registries = [\"docker.io\",\n  'quay.io', ]\n"
			   "short-name-mode = \"enforcing\"\n"
			   "[[registry]]\n"
			   "prefix = \"example.com/team\" # trailing comment\n"
			   "location = \"internal:5000/team\"\n"
			   "insecure = true\n"
			   "[[registry.mirror]]\n"
			   "location = \"m1:5000\"\n"
			   "[[registry.mirror]]\n"
			   "location = 'm2:5000'\n"
			   "insecure = true\n"
			   "\n"
			   "[[registry]]\n"
			   "location = \"blocked.example\"\n"
			   "blocked = true\n"
			   "[aliases]\n"
			   "\"fedora\" = \"registry.fedoraproject.org/fedora\"\n";
	struct registry_conf conf;
	struct petra_error *err = NULL;
	if (registry_conf_parse(text, strlen(text), &conf, &err) < 0)
		fail_msg("%s", err->message);
	assert_int_equal(conf.n_entries, 2);
	assert_string_equal(conf.entries[0].prefix, "example.com/team");
	assert_string_equal(conf.entries[0].location, "internal:5000/team");
	assert_true(conf.entries[0].insecure);
	assert_false(conf.entries[0].blocked);
	assert_int_equal(conf.entries[0].mirrors.n, 2);
	assert_string_equal(conf.entries[0].mirrors.v[1], "m2:5000");
	assert_int_equal(conf.entries[0].insecure_mirrors, 2);
	/* A prefix defaults to the location. */
	assert_string_equal(conf.entries[1].prefix, "blocked.example");
	assert_true(conf.entries[1].blocked);
	registry_conf_release(&conf);
}

static void assert_conf_error(const char *text, const char *expected)
{
	struct registry_conf conf;
	struct petra_error *err = NULL;
	if (registry_conf_parse(text, strlen(text), &conf, &err) == 0)
		fail_msg("expected \"%s\", it parsed:\n%s", expected, text);
	assert_string_equal(err->message, expected);
	petra_error_free(err);
}

static void test_conf_errors(void **state)
{
	(void)state;
	assert_conf_error("[[registry]]\nprefix = \"a\n", "registries.conf:2: newline in a string");
	assert_conf_error("[[registry]]\ninsecure = \"yes\"\n",
			  "registries.conf:2: expected true or false");
	assert_conf_error("[[registry.mirror]]\nlocation = \"x\"\n",
			  "registries.conf:1: [[registry.mirror]] before any [[registry]]");
	assert_conf_error("[[registry]]\ninsecure = true\n",
			  "registries.conf: a [[registry]] without prefix or location");
	assert_conf_error(
	    "a = b\n", "registries.conf:1: unsupported value (strings, booleans, numbers, arrays)");
	assert_conf_error("a = [1, 2\n", "registries.conf:2: expected ',' or ']' in an array");
	assert_conf_error("a = 1 b\n", "registries.conf:1: unexpected text after a value");
	assert_conf_error("[registry\n", "registries.conf:1: unterminated table header");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_challenge_bearer),
	    cmocka_unit_test(test_challenge_forms),
	    cmocka_unit_test(test_conf),
	    cmocka_unit_test(test_conf_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
