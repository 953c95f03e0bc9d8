/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/context: .dockerignore matching as Docker does it,
 * walking, wildcards and content hashing. */
#include "testutil.h"

#include <utime.h>

#include "context/context.h"

static struct context_ignore *ignore_of(const char *text)
{
	struct context_ignore *ig = NULL;
	struct petra_error *err = NULL;
	if (context_ignore_parse(text, strlen(text), ".dockerignore", &ig, &err) < 0)
		fail_msg("parse: %s", err->message);
	return ig;
}

struct match_case {
	const char *patterns;
	const char *path;
	bool excluded;
};

static void test_docker_matching_rules(void **state)
{
	(void)state;
	/* The examples of Docker's documentation and patternmatcher's tests. */
	static const struct match_case cases[] = {
	    {"*/temp*", "somedir/temporary.txt", true},
	    {"*/temp*", "somedir/temp", true},
	    {"*/temp*", "temp.txt", false},
	    {"*/*/temp*", "a/b/temp.x", true},
	    {"*/*/temp*", "a/temp.x", false},
	    {"temp?", "tempa", true},
	    {"temp?", "temp", false},
	    {"temp?", "tempab", false},
	    {"**/*.go", "a.go", true},
	    {"**/*.go", "x/y/z.go", true},
	    {"**/*.go", "x/y/z.golang", false},
	    {"*.md\n!README.md", "a.md", true},
	    {"*.md\n!README.md", "README.md", false},
	    {"*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true},
	    {"*.md\n!README*.md\nREADME-secret.md", "README.md", false},
	    {"*.md\nREADME-secret.md\n!README*.md", "README-secret.md", false},
	    /* A directory excludes everything below it. */
	    {"node_modules", "node_modules/x/y.js", true},
	    {"node_modules", "src/node_modules", false},
	    {"/abs", "abs", true},
	    {"./rel/", "rel/f", true},
	    {"a/../b", "b", true},
	    {"dir/**", "dir/a/b", true},
	    {"dir/**", "dir", false},
	    {"**", "anything/at/all", true},
	    {"**/vendor", "vendor", true},
	    {"**/vendor", "a/vendor/b", true},
	    {"*", "x/y", true},
	    {"*\n!x", "x/y", false},
	    {"[a-c].txt", "b.txt", true},
	    {"[a-c].txt", "d.txt", false},
	    {"[^a].txt", "b.txt", true},
	    {"[^a].txt", "a.txt", false},
	    {"a\\*b", "a*b", true},
	    {"a\\*b", "axb", false},
	    {"file.(1)", "file.(1)", true},
	    {"# a comment\n  spaced.txt  \n\n", "spaced.txt", true},
	    {"# a comment", "# a comment", false},
	    {" ! keep\n*", "keep", true},
	    {"*\n ! keep", "keep", false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct context_ignore *ig = ignore_of(cases[i].patterns);
		if (context_ignore_match(ig, cases[i].path) != cases[i].excluded)
			fail_msg("patterns \"%s\", path \"%s\": expected %s", cases[i].patterns,
				 cases[i].path, cases[i].excluded ? "excluded" : "included");
		context_ignore_free(ig);
	}
	/* The root is never excluded, nor anything without patterns. */
	struct context_ignore *ig = ignore_of("**");
	assert_false(context_ignore_match(ig, ""));
	context_ignore_free(ig);
	assert_false(context_ignore_match(NULL, "x"));
}

static void test_bad_patterns_are_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {"[", "a[b", "x\\", "[]", "[z-a]", "ok\n!"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct context_ignore *ig = NULL;
		struct petra_error *err = NULL;
		if (context_ignore_parse(bad[i], strlen(bad[i]), ".dockerignore", &ig, &err) == 0)
			fail_msg("pattern \"%s\" was accepted", bad[i]);
		assert_error_contains(err, ".dockerignore:");
		petra_error_free(err);
	}
}

static void test_exceptions_reach_below_excluded_directories(void **state)
{
	(void)state;
	struct context_ignore *ig = ignore_of("dir\n!dir/keep\nother\n!**/keep");
	assert_true(context_ignore_match(ig, "dir"));
	assert_true(context_ignore_may_include_below(ig, "dir"));
	/* As in BuildKit, a wildcard exception does not make the walk enter
	 * an excluded directory (moby/moby#30018). */
	assert_false(context_ignore_may_include_below(ig, "other"));
	context_ignore_free(ig);
}

struct listing {
	struct strbuf sb;
};

static int list_entry(void *ctx, const struct context_entry *e, struct petra_error **err)
{
	(void)err;
	struct listing *l = ctx;
	strbuf_addf(&l->sb, "%s%s%s;", *e->path ? e->path : ".", S_ISDIR(e->st->st_mode) ? "/" : "",
		    e->link ? "@" : "");
	return 0;
}

static char *make_context(void)
{
	char *dir = test_tmpdir();
	test_write_file(dir, "a.txt", "a\n", 0644);
	test_write_file(dir, "b.txt", "b\n", 0644);
	test_write_file(dir, "src/main.c", "int main;\n", 0644);
	test_write_file(dir, "src/secret.key", "key\n", 0600);
	test_write_file(dir, "logs/x.log", "x\n", 0644);
	test_write_file(dir, "logs/keep/y.log", "y\n", 0644);
	test_write_file(dir, "logs/keep/z.log", "z\n", 0644);
	char *link = path_join(dir, "link");
	assert_int_equal(symlink("src", link), 0);
	free(link);
	return dir;
}

static char *walk_listing(int root, const char *path, struct context_ignore *ig)
{
	struct listing l = {STRBUF_INIT};
	struct petra_error *err = NULL;
	if (context_walk(root, path, ig, path, list_entry, &l, &err) < 0)
		fail_msg("walk %s: %s", path, err->message);
	return strbuf_detach(&l.sb);
}

static void test_walk_applies_dockerignore(void **state)
{
	(void)state;
	char *dir = make_context();
	int root = open(dir, O_RDONLY | O_DIRECTORY);
	struct context_ignore *ig = ignore_of("**/*.key\nlogs\n!logs/keep/y.log\n");
	char *all = walk_listing(root, ".", ig);
	/* Sorted, directories before contents, the excluded "logs" shown
	 * only for what an exception brings back. */
	assert_string_equal(all, "./;a.txt;b.txt;link@;logs/;logs/keep/;logs/keep/y.log;src/;"
				 "src/main.c;");
	free(all);
	/* A start that is a symlink is followed, within the root. */
	char *via_link = walk_listing(root, "link", ig);
	assert_string_equal(via_link, "./;main.c;");
	free(via_link);
	/* An excluded start is not found. */
	struct listing l = {STRBUF_INIT};
	struct petra_error *err = NULL;
	assert_int_equal(
	    context_walk(root, "src/secret.key", ig, "src/secret.key", list_entry, &l, &err),
	    -ENOENT);
	assert_error_contains(err, "excluded by .dockerignore");
	petra_error_free(err);
	err = NULL;
	/* ".." never leaves the root. */
	char *clean = context_clean_path("../../a.txt");
	assert_string_equal(clean, "a.txt");
	free(clean);
	strbuf_release(&l.sb);
	context_ignore_free(ig);
	close(root);
	test_rmtree(dir);
}

static void test_wildcards(void **state)
{
	(void)state;
	char *dir = make_context();
	int root = open(dir, O_RDONLY | O_DIRECTORY);
	struct context_ignore *ig = ignore_of("b.txt");
	struct strvec m = STRVEC_INIT;
	struct petra_error *err = NULL;
	assert_true(context_has_wildcards("*.txt"));
	assert_false(context_has_wildcards("a\\*.txt"));
	assert_int_equal(context_glob(root, "*.txt", ig, &m, &err), 0);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0], "a.txt");
	strvec_clear(&m);
	assert_int_equal(context_glob(root, "l*/keep/?.log", NULL, &m, &err), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.v[0], "logs/keep/y.log");
	assert_string_equal(m.v[1], "logs/keep/z.log");
	strvec_clear(&m);
	assert_int_equal(context_glob(root, "s[a-z]c/*.[ck]*", NULL, &m, &err), 0);
	assert_int_equal(m.n, 2);
	strvec_clear(&m);
	assert_int_equal(context_glob(root, "nothing*", NULL, &m, &err), 0);
	assert_int_equal(m.n, 0);
	context_ignore_free(ig);
	close(root);
	test_rmtree(dir);
}

static void hash_of(int root, const char *path, struct context_ignore *ig,
		    char out[OCI_DIGEST_SIZE])
{
	struct oci_hasher h;
	oci_hasher_init(&h);
	struct petra_error *err = NULL;
	if (context_hash(&h, root, path, ig, NULL, &err) < 0)
		fail_msg("hash %s: %s", path, err->message);
	oci_hasher_final(&h, out);
}

static void test_hash_follows_content_not_times(void **state)
{
	(void)state;
	char *dir = make_context();
	int root = open(dir, O_RDONLY | O_DIRECTORY);
	struct context_ignore *ig = ignore_of("logs/x.log");
	char h1[OCI_DIGEST_SIZE], h2[OCI_DIGEST_SIZE];
	hash_of(root, ".", ig, h1);
	/* A new mtime changes nothing. */
	char *a = path_join(dir, "a.txt");
	struct utimbuf t = {1000, 1000};
	assert_int_equal(utime(a, &t), 0);
	hash_of(root, ".", ig, h2);
	assert_string_equal(h1, h2);
	/* Nor does a change to an excluded file. */
	test_write_file(dir, "logs/x.log", "changed\n", 0644);
	hash_of(root, ".", ig, h2);
	assert_string_equal(h1, h2);
	/* New content does, and a new mode. */
	test_write_file(dir, "a.txt", "A\n", 0644);
	hash_of(root, ".", ig, h2);
	assert_string_not_equal(h1, h2);
	memcpy(h1, h2, sizeof(h1));
	assert_int_equal(chmod(a, 0755), 0);
	hash_of(root, ".", ig, h2);
	assert_string_not_equal(h1, h2);
	/* A file of one subdirectory hashes on its own. */
	hash_of(root, "src/main.c", ig, h1);
	hash_of(root, "src", ig, h2);
	assert_string_not_equal(h1, h2);
	free(a);
	context_ignore_free(ig);
	close(root);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_docker_matching_rules),
	    cmocka_unit_test(test_bad_patterns_are_errors),
	    cmocka_unit_test(test_exceptions_reach_below_excluded_directories),
	    cmocka_unit_test(test_walk_applies_dockerignore),
	    cmocka_unit_test(test_wildcards),
	    cmocka_unit_test(test_hash_follows_content_not_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
