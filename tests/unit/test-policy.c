/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/policy: YAML documents with positions, the policy
 * file's validation, references and patterns, the base catalog (allow,
 * ban, rewrite) and rebase of Dockerfiles byte for byte. */
#include "testutil.h"

#include "policy/policy.h"

static struct petra_policy *policy_ok(const char *yaml)
{
	struct petra_policy *p = NULL;
	struct petra_error *err = NULL;
	if (petra_policy_parse(yaml, strlen(yaml), "policy.yaml", &p, &err) < 0)
		fail_msg("policy failed: %s\n--- input:\n%s", err->message, yaml);
	return p;
}

/* Loading yaml fails with exactly `expected`. */
static void assert_policy_error(const char *yaml, const char *expected)
{
	struct petra_policy *p = NULL;
	struct petra_error *err = NULL;
	if (petra_policy_parse(yaml, strlen(yaml), "policy.yaml", &p, &err) == 0)
		fail_msg("expected \"%s\", the policy loaded\n--- input:\n%s", expected, yaml);
	assert_null(p);
	assert_string_equal(err->message, expected);
	petra_error_free(err);
}

/* ---- YAML ---------------------------------------------------------------- */

static void test_yaml_tree_and_positions(void **state)
{
	(void)state;
	const char *src = "# a comment\n"
			  "name: petra\n"
			  "count: 3\n"
			  "ratio: 0.5\n"
			  "on: true\n"
			  "nothing:\n"
			  "quoted: \"true\"\n"
			  "list:\n"
			  "  - a\n"
			  "  - {k: v}\n"
			  "hex: 0x10\n";
	struct petra_yaml *y = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(petra_yaml_parse(src, strlen(src), "t.yaml", &y, &err), 0);
	const json_t *root = petra_yaml_root(y);
	assert_string_equal(json_string_value(json_object_get(root, "name")), "petra");
	assert_int_equal(json_integer_value(json_object_get(root, "count")), 3);
	assert_true(json_real_value(json_object_get(root, "ratio")) == 0.5);
	assert_true(json_is_true(json_object_get(root, "on")));
	assert_true(json_is_null(json_object_get(root, "nothing")));
	assert_string_equal(json_string_value(json_object_get(root, "quoted")), "true");
	assert_int_equal(json_integer_value(json_object_get(root, "hex")), 16);
	/* keys in file order */
	void *it = json_object_iter((json_t *)root);
	assert_string_equal(json_object_iter_key(it), "name");

	unsigned line, col;
	petra_yaml_position(y, root, "count", 0, &line, &col);
	assert_int_equal(line, 3);
	assert_int_equal(col, 1);
	const json_t *list = json_object_get(root, "list");
	petra_yaml_position(y, list, NULL, 1, &line, &col);
	assert_int_equal(line, 10);
	assert_int_equal(col, 5);
	petra_yaml_position(y, json_array_get(list, 1), "k", 0, &line, &col);
	assert_int_equal(line, 10);
	assert_int_equal(col, 6);
	petra_yaml_position(y, json_object_get(root, "name"), NULL, PETRA_YAML_NODE, &line, &col);
	assert_int_equal(line, 2);
	assert_int_equal(col, 7);

	assert_int_equal(petra_yaml_error(y, root, "on", 0, &err, "bad %s", "thing"), -EINVAL);
	assert_string_equal(err->message, "t.yaml:5:1: bad thing");
	petra_error_free(err);
	petra_yaml_free(y);
}

static void assert_yaml_error(const char *src, const char *expected)
{
	struct petra_yaml *y = NULL;
	struct petra_error *err = NULL;
	assert_true(petra_yaml_parse(src, strlen(src), "t.yaml", &y, &err) < 0);
	assert_null(y);
	if (!strstr(err->message, expected))
		fail_msg("\"%s\" does not contain \"%s\"", err->message, expected);
	petra_error_free(err);
}

static void test_yaml_refusals(void **state)
{
	(void)state;
	assert_yaml_error("a: 1\na: 2\n", "t.yaml:2:1: duplicate key \"a\"");
	assert_yaml_error("a: &x [1, 2]\nb: *x\n", "aliases (*name) are not supported");
	assert_yaml_error("a: 1\n---\nb: 2\n", "only one YAML document");
	assert_yaml_error("? [a]\n: 1\n", "mapping keys must be plain strings");
	assert_yaml_error("a: [1, 2\n", "t.yaml:");
	assert_yaml_error("a:\n\t- b\n", "t.yaml:2:");
	assert_yaml_error("a: b: c\n", "t.yaml:1:");
	/* not UTF-8: refused before libfyaml, which loops forever on this one */
	assert_yaml_error("a: 1\n%\x91\n", "t.yaml:2:2: not valid UTF-8");
	assert_yaml_error("a: \xed\xa0\x80\n", "t.yaml:1:4: not valid UTF-8");
	assert_yaml_error("a: \xc0\xaf\n", "t.yaml:1:4: not valid UTF-8");
	/* deep nesting is an error, not a crash */
	char deep[400];
	memset(deep, '[', 200);
	deep[200] = '\0';
	assert_yaml_error(deep, "t.yaml:");
	/* an empty key has no token in libfyaml: it is located all the same */
	struct petra_yaml *ek = NULL;
	struct petra_error *e2 = NULL;
	assert_int_equal(petra_yaml_parse("a: 1\n: {b: 2}\n", 14, "t.yaml", &ek, &e2), 0);
	assert_non_null(json_object_get(petra_yaml_root(ek), ""));
	petra_yaml_free(ek);
	/* an empty document is fine: no tree */
	struct petra_yaml *y = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(petra_yaml_parse("# nothing\n", 10, "t.yaml", &y, &err), 0);
	assert_null(petra_yaml_root(y));
	petra_yaml_free(y);
}

/* ---- references and patterns ---------------------------------------------- */

static void assert_ref(const char *text, const char *normalised, const char *familiar)
{
	struct policy_ref ref;
	struct petra_error *err = NULL;
	if (policy_ref_parse(text, &ref, &err) < 0)
		fail_msg("%s: %s", text, err->message);
	char *full = policy_ref_format(&ref, 0);
	char *fam = policy_ref_format(&ref, POLICY_REF_FAMILIAR);
	assert_string_equal(full, normalised);
	assert_string_equal(fam, familiar);
	free(full);
	free(fam);
	policy_ref_release(&ref);
}

static void test_ref_normalisation(void **state)
{
	(void)state;
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char buf[200];
	assert_ref("debian", "docker.io/library/debian:latest", "debian");
	assert_ref("debian:12", "docker.io/library/debian:12", "debian:12");
	assert_ref("bitnami/redis:7", "docker.io/bitnami/redis:7", "bitnami/redis:7");
	assert_ref("docker.io/library/debian:12", "docker.io/library/debian:12",
		   "docker.io/library/debian:12");
	assert_ref("index.docker.io/library/debian:12", "docker.io/library/debian:12",
		   "docker.io/library/debian:12");
	assert_ref("localhost/app", "localhost/app:latest", "localhost/app");
	assert_ref("registry.example:5000/team/app:1.0", "registry.example:5000/team/app:1.0",
		   "registry.example:5000/team/app:1.0");
	snprintf(buf, sizeof(buf), "alpine@%s", d);
	char expected[200];
	snprintf(expected, sizeof(expected), "docker.io/library/alpine@%s", d);
	assert_ref(buf, expected, buf);
	snprintf(buf, sizeof(buf), "quay.io/x/y:3.1@%s", d);
	assert_ref(buf, buf, buf);

	const char *bad[] = {"",
			     "Debian:12",
			     "debian:",
			     "debian:-x",
			     "a//b",
			     "debian@sha256:12",
			     "reg.example:port/x",
			     "-x",
			     "x_",
			     "foo bar"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct policy_ref ref;
		struct petra_error *err = NULL;
		if (policy_ref_parse(bad[i], &ref, &err) == 0)
			fail_msg("\"%s\" parsed", bad[i]);
		petra_error_free(err);
	}
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(policy_glob_match("docker.io/library/*", "docker.io/library/debian"));
	assert_false(policy_glob_match("docker.io/*", "docker.io/library/debian"));
	assert_true(policy_glob_match("docker.io/**", "docker.io/library/debian"));
	assert_true(policy_glob_match("**/debian:12*", "quay.io/x/debian:12.4"));
	assert_true(policy_glob_match("a?c", "abc"));
	assert_false(policy_glob_match("a?c", "a/c"));
	assert_true(policy_glob_match("a*", "a"));
	assert_false(policy_glob_match("abc", "abcd"));
	assert_true(policy_glob_match("", ""));
	/* many stars are not slow: one row per text byte */
	char pat[201], text[401];
	memset(pat, '*', 200);
	pat[200] = '\0';
	for (size_t i = 0; i < 200; i += 2)
		pat[i] = 'a';
	pat[199] = 'a';
	memset(text, 'a', 400);
	text[399] = 'b';
	text[400] = '\0';
	assert_false(policy_glob_match(pat, text));
}

static bool matches(const char *pattern, const char *ref_text)
{
	char *norm = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(policy_pattern_normalize(pattern, &norm, &err), 0);
	struct policy_ref ref;
	assert_int_equal(policy_ref_parse(ref_text, &ref, &err), 0);
	bool r = policy_pattern_match(norm, &ref);
	policy_ref_release(&ref);
	free(norm);
	return r;
}

static void test_patterns(void **state)
{
	(void)state;
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char buf[200];
	assert_true(matches("debian", "debian:12"));
	assert_true(matches("debian", "docker.io/library/debian"));
	assert_false(matches("debian", "quay.io/library/debian:12"));
	assert_true(matches("debian:12*", "debian:12.4-slim"));
	assert_false(matches("debian:12*", "debian:11"));
	assert_true(matches("debian:latest", "debian"));
	assert_true(matches("bitnami/*", "bitnami/redis:7"));
	assert_true(matches("registry.example/base/**", "registry.example/base/team/x:1"));
	assert_false(matches("registry.example/base/*", "registry.example/base/team/x:1"));
	assert_true(matches("*/library/debian", "debian:12"));
	snprintf(buf, sizeof(buf), "debian@%s", d);
	assert_true(matches(buf, buf));
	assert_false(matches(buf, "debian:12"));
	char with_tag[200];
	snprintf(with_tag, sizeof(with_tag), "debian:12@%s", d);
	assert_true(matches(buf, with_tag));
	assert_true(matches("debian:12", with_tag));
}

/* ---- the policy file ------------------------------------------------------- */

static const char *const digest_a =
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static void test_policy_shape(void **state)
{
	(void)state;
	struct petra_policy *p = policy_ok("version: 1\n"
					   "bases:\n"
					   "  require-digest: true\n"
					   "  allow:\n"
					   "    - debian:12*\n"
					   "    - registry.example/base/**\n"
					   "  ban:\n"
					   "    - image: debian:10*\n"
					   "      reason: Debian 10 is out of support\n"
					   "  rewrite:\n"
					   "    - id: mirror\n"
					   "      mirror: docker.io\n"
					   "      to: mirror.example/hub\n"
					   "      reason: builds pull through the mirror\n"
					   "audit:\n"
					   "  fail-on: high\n"
					   "run:\n");
	const struct policy_bases *b = petra_policy_bases(p);
	assert_true(b->require_digest);
	assert_int_equal(b->n_allow, 2);
	assert_string_equal(b->allow[0].pattern, "docker.io/library/debian:12*");
	assert_int_equal(b->allow[1].line, 6);
	assert_int_equal(b->n_ban, 1);
	assert_string_equal(b->ban[0].reason, "Debian 10 is out of support");
	assert_int_equal(b->ban[0].line, 8);
	assert_int_equal(b->n_rewrite, 1);
	assert_int_equal(b->rewrite[0].kind, POLICY_REWRITE_MIRROR);
	assert_string_equal(b->rewrite[0].prefix_from, "docker.io");

	/* a later module reads its own section and locates its own errors */
	const json_t *audit = petra_policy_section(p, "audit");
	assert_string_equal(json_string_value(json_object_get(audit, "fail-on")), "high");
	assert_null(petra_policy_section(p, "deploy"));
	struct petra_error *err = NULL;
	static const char *const audit_keys[] = {"secrets", NULL};
	assert_int_equal(
	    petra_yaml_check_keys(petra_policy_yaml(p), audit, "audit", audit_keys, &err), -EINVAL);
	assert_string_equal(err->message,
			    "policy.yaml:16:3: audit: unknown key \"fail-on\" (known: secrets)");
	petra_error_free(err);
	err = NULL;
	const json_t *secrets;
	assert_int_equal(petra_yaml_member(petra_policy_yaml(p), audit, "fail-on", JSON_ARRAY,
					   "audit", &secrets, &err),
			 -EINVAL);
	assert_string_equal(err->message,
			    "policy.yaml:16:3: audit.fail-on: must be a sequence, not a string");
	petra_error_free(err);
	assert_int_equal(petra_yaml_member(petra_policy_yaml(p), audit, "absent", JSON_ARRAY,
					   "audit", &secrets, &err),
			 0);
	assert_null(secrets);
	petra_policy_free(p);

	p = policy_ok("");
	assert_int_equal(petra_policy_bases(p)->n_allow, 0);
	petra_policy_free(p);
}

static void test_policy_errors(void **state)
{
	(void)state;
	assert_policy_error(
	    "bases: {}\nbuidl: {}\n",
	    "policy: policy.yaml:2:1: policy: unknown key \"buidl\" (known: "
	    "version, bases, build, harden, audit, test, sign, trust, deploy, run)");
	assert_policy_error("bases:\n  alow: [debian]\n",
			    "policy: policy.yaml:2:3: bases: unknown key \"alow\" (known: "
			    "require-digest, allow, ban, rewrite)");
	assert_policy_error("version: 2\n", "policy: policy.yaml:1:1: unsupported policy version "
					    "(this petra reads version 1)");
	assert_policy_error("- a\n", "policy: policy.yaml:1:1: a policy is a mapping of sections, "
				     "not a sequence");
	assert_policy_error("run: [1]\n", "policy: policy.yaml:1:1: run: must be a mapping, not a "
					  "sequence");
	assert_policy_error(
	    "bases:\n  allow: debian\n",
	    "policy: policy.yaml:2:3: bases.allow: must be a sequence, not a string");
	assert_policy_error("bases:\n  allow:\n    - 12\n",
			    "policy: policy.yaml:3:7: bases.allow: entries are image patterns "
			    "(strings), not a number");
	assert_policy_error("bases:\n  allow:\n    - \"a b\"\n",
			    "policy: policy.yaml:3:8: image pattern \"a b\": holds a space");
	assert_policy_error("bases:\n  ban:\n    - image: debian:10\n",
			    "policy: policy.yaml:3:7: bases.ban: \"reason\" is required");
	assert_policy_error(
	    "bases:\n  ban:\n    - image: debian:10\n      digest: sha256:1\n"
	    "      reason: x\n",
	    "policy: policy.yaml:3:7: bases.ban: give one of \"image\" or \"digest\"");
	assert_policy_error("bases:\n  ban:\n    - digest: sha256:12\n      reason: x\n",
			    "policy: policy.yaml:3:7: bases.ban: invalid digest \"sha256:12\" "
			    "(sha256:<64 hex digits>)");
	assert_policy_error("bases:\n  ban:\n    - image: x\n      reason: \"\"\n",
			    "policy: policy.yaml:4:7: bases.ban: \"reason\" must be a non-empty "
			    "string, not an empty one");
	assert_policy_error(
	    "bases:\n  rewrite:\n    - match: a\n      pin: sha256:1\n"
	    "      to: b\n      reason: r\n",
	    "policy: policy.yaml:3:7: bases.rewrite: a rule is \"match\" with \"to\" "
	    "(replace) or \"pin\" (digest pin), or \"mirror\" with \"to\" "
	    "(registry mirror)");
	assert_policy_error("bases:\n  rewrite:\n    - match: a\n      to: B:1\n      reason: r\n",
			    "policy: policy.yaml:4:7: bases.rewrite: image reference \"B:1\": "
			    "invalid name (lower-case letters, digits and separators, optional "
			    "registry host)");
	assert_policy_error(
	    "bases:\n  rewrite:\n    - mirror: docker.io/*\n      to: m.example\n"
	    "      reason: r\n",
	    "policy: policy.yaml:3:7: bases.rewrite: mirror \"docker.io/*\" must be "
	    "a plain name prefix (no wildcards, tags or digests)");
	assert_policy_error("bases:\n  rewrite:\n    - {id: x, match: a, pin: \"sha256:12\", "
			    "reason: r}\n",
			    "policy: policy.yaml:3:25: bases.rewrite: invalid digest \"sha256:12\" "
			    "(sha256:<64 hex digits>)");
	assert_policy_error("bases:\n  rewrite:\n    - {id: x, match: a, to: b, reason: r}\n"
			    "    - {id: x, match: c, to: d, reason: r}\n",
			    "policy: policy.yaml:4:8: bases.rewrite: id \"x\" is used twice");
	assert_policy_error("bases:\n  require-digest: yes\n",
			    "policy: policy.yaml:2:3: bases.require-digest: must be true or false, "
			    "not a string");
}

static void test_policy_load_file(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	test_write_file(dir, "p.yaml", "bases:\n  allow: [alpine]\n", 0644);
	char *path = path_join(dir, "p.yaml");
	struct petra_policy *p = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(petra_policy_load_default(path, &p, &err), 0);
	assert_int_equal(petra_policy_bases(p)->n_allow, 1);
	assert_string_equal(petra_policy_path(p), path);
	petra_policy_free(p);
	char *missing = path_join(dir, "missing.yaml");
	assert_true(petra_policy_load_default(missing, &p, &err) < 0);
	assert_non_null(strstr(err->message, "missing.yaml"));
	petra_error_free(err);
	free(missing);
	free(path);
	test_rmtree(dir);
}

/* ---- checks and rewrites ----------------------------------------------------- */

static enum policy_base_status check(const struct petra_policy *p, const char *ref,
				     const char *resolved, const char **reason)
{
	struct policy_base_verdict v;
	struct petra_error *err = NULL;
	if (petra_policy_check_base(p, ref, resolved, &v, &err) < 0)
		fail_msg("%s: %s", ref, err->message);
	if (reason)
		*reason = v.reason;
	return v.status;
}

static void test_check_base(void **state)
{
	(void)state;
	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
		 "bases:\n"
		 "  allow:\n"
		 "    - debian:12*\n"
		 "    - registry.example/base/**\n"
		 "    - alpine@%s\n"
		 "  ban:\n"
		 "    - image: debian:12.1*\n"
		 "      reason: CVE-2023-0001 in glibc\n"
		 "    - digest: %s\n"
		 "      reason: a poisoned build\n",
		 digest_a, digest_a);
	/* alpine@A is both allowed and banned: the ban wins */
	struct petra_policy *p = policy_ok(yaml);
	const char *reason = NULL;
	assert_int_equal(check(p, "debian:12.4", NULL, NULL), POLICY_BASE_ALLOWED);
	assert_int_equal(check(p, "docker.io/library/debian:12-slim", NULL, NULL),
			 POLICY_BASE_ALLOWED);
	assert_int_equal(check(p, "debian:11", NULL, NULL), POLICY_BASE_NOT_APPROVED);
	assert_int_equal(check(p, "debian:12.1-slim", NULL, &reason), POLICY_BASE_BANNED);
	assert_string_equal(reason, "CVE-2023-0001 in glibc");
	assert_int_equal(check(p, "registry.example/base/java/jre:21", NULL, NULL),
			 POLICY_BASE_ALLOWED);
	/* a tag that resolved to a banned digest is banned */
	assert_int_equal(check(p, "debian:12.4", digest_a, &reason), POLICY_BASE_BANNED);
	assert_string_equal(reason, "a poisoned build");
	assert_int_equal(check(p, "alpine:3.19", NULL, NULL), POLICY_BASE_NOT_APPROVED);

	struct policy_base_verdict v;
	struct petra_error *err = NULL;
	assert_int_equal(petra_policy_check_base(p, "debian:12", NULL, &v, &err), 0);
	assert_false(v.pinned);
	assert_string_equal(v.entry, "debian:12*");
	assert_int_equal(v.line, 3);
	assert_true(petra_policy_check_base(p, "Not A Ref", NULL, &v, &err) < 0);
	petra_error_free(err);
	petra_policy_free(p);

	/* no policy, or no catalog: every base not banned is allowed */
	assert_int_equal(check(NULL, "anything:1", NULL, NULL), POLICY_BASE_ALLOWED);
	p = policy_ok("bases:\n  ban:\n    - {image: \"centos\", reason: \"end of life\"}\n");
	assert_int_equal(check(p, "ubuntu:24.04", NULL, NULL), POLICY_BASE_ALLOWED);
	assert_int_equal(check(p, "centos:7", NULL, NULL), POLICY_BASE_BANNED);
	petra_policy_free(p);
}

static char *rewrite(const struct petra_policy *p, const char *ref, size_t *steps)
{
	struct policy_rewrite_result r;
	struct petra_error *err = NULL;
	if (petra_policy_rewrite_base(p, ref, &r, &err) < 0)
		fail_msg("%s: %s", ref, err->message);
	char *out = r.ref ? xstrdup(r.ref) : NULL;
	if (steps)
		*steps = r.n_steps;
	policy_rewrite_result_release(&r);
	return out;
}

static void assert_rewrite(const struct petra_policy *p, const char *in, const char *expected)
{
	char *r = rewrite(p, in, NULL);
	if (!expected && r)
		fail_msg("%s: rewritten to %s", in, r);
	if (expected)
		assert_string_equal(r ? r : "(none)", expected);
	free(r);
}

static void test_rewrite_rules(void **state)
{
	(void)state;
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
		 "bases:\n"
		 "  rewrite:\n"
		 "    - id: keycloak-patch\n"
		 "      match: quay.io/keycloak/keycloak:10.4.8\n"
		 "      to: quay.io/keycloak/keycloak:10.4.9\n"
		 "      reason: CVE-2024-0001 fixed in 10.4.9\n"
		 "    - id: node-bump\n"
		 "      match: node:20.11.0*\n"
		 "      to: docker.io/library/node:20.11.1\n"
		 "      reason: security release\n"
		 "    - id: pin-debian\n"
		 "      match: debian:12\n"
		 "      pin: %s\n"
		 "      reason: reproducible builds\n"
		 "    - id: hub-mirror\n"
		 "      mirror: docker.io/bitnami\n"
		 "      to: mirror.example/hub/bitnami\n"
		 "      reason: pull through the mirror\n",
		 digest_a);
	struct petra_policy *p = policy_ok(yaml);
	char expected[256];
	assert_rewrite(p, "quay.io/keycloak/keycloak:10.4.8", "quay.io/keycloak/keycloak:10.4.9");
	/* spelled as the Dockerfile spelled it */
	assert_rewrite(p, "node:20.11.0-alpine", "node:20.11.1");
	assert_rewrite(p, "docker.io/library/node:20.11.0", "docker.io/library/node:20.11.1");
	snprintf(expected, sizeof(expected), "debian:12@%s", digest_a);
	assert_rewrite(p, "debian:12", expected);
	assert_rewrite(p, expected, NULL); /* already pinned: nothing to do */
	assert_rewrite(p, "bitnami/redis:7.2", "mirror.example/hub/bitnami/redis:7.2");
	assert_rewrite(p, "bitnamix/redis:7.2", NULL); /* a prefix ends at a "/" */
	assert_rewrite(p, "debian:11", NULL);
	size_t steps;
	free(rewrite(p, "quay.io/keycloak/keycloak:10.4.8", &steps));
	assert_int_equal(steps, 1);
	petra_policy_free(p);

	/* rules chain: a bump, then a pin of the bumped tag, then a mirror */
	snprintf(yaml, sizeof(yaml),
		 "bases:\n"
		 "  rewrite:\n"
		 "    - {match: \"app:1.0\", to: \"app:1.1\", reason: bump}\n"
		 "    - {match: \"app:1.1\", pin: \"%s\", reason: pin}\n"
		 "    - {mirror: docker.io, to: mirror.example/hub, reason: mirror}\n"
		 "    - {match: \"redis\", to: \"valkey/valkey\", reason: rename keeps the tag}\n",
		 digest_a);
	p = policy_ok(yaml);
	struct policy_rewrite_result r;
	struct petra_error *err = NULL;
	assert_int_equal(petra_policy_rewrite_base(p, "app:1.0", &r, &err), 0);
	snprintf(expected, sizeof(expected), "mirror.example/hub/library/app:1.1@%s", digest_a);
	assert_string_equal(r.ref, expected);
	assert_int_equal(r.n_steps, 3);
	assert_string_equal(r.steps[0].rule->id, "rewrite #1");
	assert_string_equal(r.steps[0].before, "docker.io/library/app:1.0");
	assert_string_equal(r.steps[0].after, "docker.io/library/app:1.1");
	assert_string_equal(r.steps[1].rule->reason, "pin");
	assert_string_equal(r.steps[2].rule->id, "rewrite #3");
	policy_rewrite_result_release(&r);
	petra_policy_free(p);

	p = policy_ok("bases:\n  rewrite:\n"
		      "    - {match: \"redis\", to: \"valkey/valkey\", reason: rename}\n");
	assert_rewrite(p, "redis:7", "valkey/valkey:7");
	petra_policy_free(p);
}

/* ---- rebase ------------------------------------------------------------------ */

static struct dockerfile *parse_df(const char *src)
{
	struct dockerfile *df = NULL;
	struct petra_error *err = NULL;
	struct dockerfile_parse_opts opts = {.name = "Dockerfile"};
	if (dockerfile_parse(src, strlen(src), &opts, &df, &err) < 0)
		fail_msg("parse: %s", err->message);
	return df;
}

static const char rebase_policy[] =
    "bases:\n"
    "  rewrite:\n"
    "    - id: bump\n"
    "      match: example/app:10.4.8\n"
    "      to: example/app:10.4.9\n"
    "      reason: CVE fixed in 10.4.9\n"
    "    - id: pin\n"
    "      match: alpine:3.19\n"
    "      pin: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "      reason: reproducible\n";

static char *rebased(const char *src, size_t *n_edits, struct strvec *notes)
{
	struct petra_policy *p = policy_ok(rebase_policy);
	struct dockerfile *df = parse_df(src);
	struct policy_rebase rb;
	struct petra_error *err = NULL;
	assert_int_equal(petra_policy_rebase(p, df, &rb, &err), 0);
	assert_int_equal(rb.output_len, strlen(rb.output));
	char *out = xstrdup(rb.output);
	*n_edits = rb.n_edits;
	if (notes)
		for (size_t i = 0; i < rb.notes.n; i++)
			strvec_push(notes, rb.notes.v[i]);
	policy_rebase_release(&rb);
	dockerfile_free(df);
	petra_policy_free(p);
	return out;
}

#define PIN "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_rebase_bytes(void **state)
{
	(void)state;
	size_t n;
	/* comments, CRLF, odd spacing, keyword case, flags: only the references move */
	const char *src = "# syntax=docker/dockerfile:1\r\n"
			  "# the builder\r\n"
			  "from  --platform=$BUILDPLATFORM   example/app:10.4.8   AS build\r\n"
			  "RUN make \\\r\n"
			  "  # a comment inside\r\n"
			  "  all\r\n"
			  "FROM alpine:3.19\r\n"
			  "COPY --from=build /out /app\r\n"
			  "COPY --link --from=example/app:10.4.8 /etc/app /etc/app\r\n"
			  "COPY --from=0 /x /y";
	char *out = rebased(src, &n, NULL);
	assert_int_equal(n, 3);
	assert_string_equal(out,
			    "# syntax=docker/dockerfile:1\r\n"
			    "# the builder\r\n"
			    "from  --platform=$BUILDPLATFORM   example/app:10.4.9   AS build\r\n"
			    "RUN make \\\r\n"
			    "  # a comment inside\r\n"
			    "  all\r\n"
			    "FROM alpine:3.19" PIN "\r\n"
			    "COPY --from=build /out /app\r\n"
			    "COPY --link --from=example/app:10.4.9 /etc/app /etc/app\r\n"
			    "COPY --from=0 /x /y");
	free(out);

	/* the backtick escape and nothing to rewrite: the same bytes */
	src = "# escape=`\nFROM debian:12\nRUN echo a `\n  b\n";
	out = rebased(src, &n, NULL);
	assert_int_equal(n, 0);
	assert_string_equal(out, src);
	free(out);
}

static void test_rebase_variables(void **state)
{
	(void)state;
	size_t n;
	struct strvec notes = STRVEC_INIT;
	const char *src = "ARG BASE=alpine:3.19\n"
			  "ARG APP=\"example/app:10.4.8\"\n"
			  "FROM $BASE AS one\n"
			  "FROM ${BASE}\n"
			  "FROM ${APP}\n"
			  "FROM example/app:${TAG:-10.4.8}\n"
			  "FROM exa\\\n"
			  "mple/app:10.4.8\n";
	char *out = rebased(src, &n, &notes);
	/* the global ARG default is rewritten once for both FROM lines */
	assert_int_equal(n, 1);
	assert_string_equal(out, "ARG BASE=alpine:3.19" PIN "\n"
				 "ARG APP=\"example/app:10.4.8\"\n"
				 "FROM $BASE AS one\n"
				 "FROM ${BASE}\n"
				 "FROM ${APP}\n"
				 "FROM example/app:${TAG:-10.4.8}\n"
				 "FROM exa\\\n"
				 "mple/app:10.4.8\n");
	assert_int_equal(notes.n, 3);
	assert_string_equal(notes.v[0], "Dockerfile:5: FROM \"${APP}\": the ARG default is not "
					"written literally; not rewritten");
	assert_string_equal(notes.v[1], "Dockerfile:6: FROM \"example/app:${TAG:-10.4.8}\": uses "
					"variables with no literal default; not rewritten");
	assert_string_equal(notes.v[2], "Dockerfile:7: FROM \"example/app:10.4.8\": written "
					"across lines or quoted; not rewritten");
	strvec_clear(&notes);
	free(out);
}

static void test_rebase_diff(void **state)
{
	(void)state;
	struct petra_policy *p = policy_ok(rebase_policy);
	const char *src = "FROM example/app:10.4.8 AS build\n"
			  "RUN a\nRUN b\nRUN c\nRUN d\nRUN e\nRUN f\nRUN g\nRUN h\n"
			  "FROM alpine:3.19";
	struct dockerfile *df = parse_df(src);
	struct policy_rebase rb;
	struct petra_error *err = NULL;
	assert_int_equal(petra_policy_rebase(p, df, &rb, &err), 0);
	struct strbuf diff = STRBUF_INIT;
	policy_rebase_diff(df, &rb, "Dockerfile", &diff);
	assert_string_equal(diff.buf, "--- a/Dockerfile\n"
				      "+++ b/Dockerfile\n"
				      "@@ -1,4 +1,4 @@\n"
				      "-FROM example/app:10.4.8 AS build\n"
				      "+FROM example/app:10.4.9 AS build\n"
				      " RUN a\n"
				      " RUN b\n"
				      " RUN c\n"
				      "@@ -7,4 +7,4 @@\n"
				      " RUN f\n"
				      " RUN g\n"
				      " RUN h\n"
				      "-FROM alpine:3.19\n"
				      "\\ No newline at end of file\n"
				      "+FROM alpine:3.19" PIN "\n"
				      "\\ No newline at end of file\n");
	assert_int_equal(rb.edits[0].result.n_steps, 1);
	assert_string_equal(rb.edits[0].result.steps[0].rule->id, "bump");
	assert_int_equal(rb.edits[1].line, 10);
	assert_int_equal(rb.edits[1].col, 6);
	strbuf_release(&diff);
	policy_rebase_release(&rb);
	dockerfile_free(df);
	petra_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yaml_tree_and_positions),
	    cmocka_unit_test(test_yaml_refusals),
	    cmocka_unit_test(test_ref_normalisation),
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_policy_shape),
	    cmocka_unit_test(test_policy_errors),
	    cmocka_unit_test(test_policy_load_file),
	    cmocka_unit_test(test_check_base),
	    cmocka_unit_test(test_rewrite_rules),
	    cmocka_unit_test(test_rebase_bytes),
	    cmocka_unit_test(test_rebase_variables),
	    cmocka_unit_test(test_rebase_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
