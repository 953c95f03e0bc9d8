/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/audit: secret rules, package databases, and the
 * findings on crafted images (each once, with the right layer and step). */
#include "image-builder.h"
#include "store-fixture.h"

#include "audit/audit.h"
#include "audit/internal.h"
#include "policy/policy.h"

#include <ctype.h>

#define GH_TOKEN "ghp_0123456789abcdefghijABCDEFGHIJ012345"
#define AWS_KEY  "AKIAZXCVBNMASDFGHJKL"
#define PEM_KEY                                                                                    \
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"                                                    \
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"                 \
	"QyNTUxOQAAACBvd2VyIHRoZSBsYXp5IGRvZyBqdW1wcyBvdmVyIHRoZSBsYXp5IGQAAA\n"                   \
	"-----END OPENSSH PRIVATE KEY-----\n"

/* ---- secret rules ---- */

static const char *first_rule(const struct secret_rules *s, const char *text, char *masked,
			      size_t masked_size)
{
	struct secret_match m[8];
	size_t n = audit_secret_scan_buffer(s, text, strlen(text), m, 8);
	const char *id = n ? audit_secret_rule_id(m[0].rule) : NULL;
	if (n && masked)
		snprintf(masked, masked_size, "%s", m[0].masked);
	for (size_t i = 0; i < n; i++)
		audit_secret_match_release(&m[i]);
	return id;
}

static void test_secret_rules(void **state)
{
	(void)state;
	struct secret_rules *s;
	struct petra_error *err = NULL;
	assert_int_equal(audit_secret_rules_new(&s, &err), 0);
	char masked[64];
	struct {
		const char *text, *id;
	} cases[] = {
	    {"token=" GH_TOKEN "\n", "secret-github-token"},
	    {"github_pat_11ABCDEFG0123456789_"
	     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
	     "secret-github-token"},
	    {"export KEY=" AWS_KEY, "secret-aws-access-key"},
	    {"aws_secret_access_key = abcdefghijABCDEFGHIJ0123456789abcdefghij",
	     "secret-aws-secret-key"},
	    {PEM_KEY, "secret-private-key"},
	    {"{\"type\": \"service_account\", \"private_key_id\": \"0123456789abcdef0123\"}",
	     "secret-gcp-service-account"},
	    {"glpat-abcdefghij0123456789", "secret-gitlab-token"},
	    {"xoxb-1234567890-abcdefghij", "secret-slack-token"},
	    {"https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXX", "secret-slack-token"},
	    {"sk_live_0123456789abcdefABCDEF", "secret-stripe-key"},
	    {"//registry.npmjs.org/:_authToken=abcdef0123456789", "secret-npm-token"},
	    {"npm_abcdefghijklmnopqrstuvwxyz0123456789", "secret-npm-token"},
	    {"pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoLWlqa2wtbW5vcC1xcnN0LXV2d3h5ejAxMjM0NTY3ODk",
	     "secret-pypi-token"},
	    {"{\"auths\": {\"registry.example\": {\"auth\": \"dXNlcjpwYXNzd29yZA==\"}}}",
	     "secret-docker-auth"},
	    {"Authorization: Bearer "
	     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop",
	     "secret-jwt"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *id = first_rule(s, cases[i].text, NULL, 0);
		if (!id || strcmp(id, cases[i].id))
			fail_msg("case %zu: %s, not %s", i, id ? id : "nothing", cases[i].id);
	}
	/* Values are masked: a prefix and stars. */
	first_rule(s, "x " GH_TOKEN, masked, sizeof(masked));
	assert_string_equal(masked, "ghp_****************");
	/* Not secrets: a public key, a header in prose, AWS's documented
	 * example, a variable reference, near misses. */
	const char *clean[] = {
	    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n",
	    "the file starts with -----BEGIN RSA PRIVATE KEY----- and then base64",
	    "AKIAIOSFODNN7EXAMPLE",
	    "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
	    "ghp_short",
	    "XAKIAZXCVBNMASDFGHJKL",
	};
	for (size_t i = 0; i < ARRAY_SIZE(clean); i++) {
		const char *id = first_rule(s, clean[i], NULL, 0);
		if (id)
			fail_msg("clean %zu matched %s", i, id);
	}
	/* Masking a whole text hides every value and keeps the rest. */
	char *t =
	    audit_secret_mask_text(s, "RUN curl -H 'token " GH_TOKEN "' && PASSWORD=hunter2 make");
	assert_string_equal(t, "RUN curl -H 'token ghp_****************' && PASSWORD=******* make");
	free(t);
	/* Assignments of literals to password-like names. */
	size_t start = 0;
	char *key = NULL;
	struct secret_match m;
	const char *step = "|2 DB_PASSWORD=s3cr3t TOKEN=$T /bin/sh -c make";
	assert_int_equal(audit_secret_scan_assignment(s, step, &start, &key, &m), 1);
	assert_string_equal(key, "DB_PASSWORD");
	assert_string_equal(m.masked, "******");
	free(key);
	audit_secret_match_release(&m);
	assert_int_equal(audit_secret_scan_assignment(s, step, &start, &key, &m), 0);
	audit_secret_rules_free(s);
}

static void test_secret_stream_across_windows(void **state)
{
	(void)state;
	struct secret_rules *s;
	struct petra_error *err = NULL;
	assert_int_equal(audit_secret_rules_new(&s, &err), 0);
	struct secret_stream *st = audit_secret_stream_new(s);
	/* A token across the 1 MiB boundary, fed in odd pieces, and another
	 * kind far later; the first kind again is not reported twice. */
	size_t size = 3u << 20;
	char *data = xmalloc(size);
	memset(data, 'x', size);
	for (size_t i = 0; i < size; i += 100)
		data[i] = '\n';
	memcpy(data + (1u << 20) - 10, " " GH_TOKEN " ", strlen(GH_TOKEN) + 2);
	memcpy(data + (2u << 20) + 77, " " AWS_KEY " ", strlen(AWS_KEY) + 2);
	memcpy(data + (2u << 20) + 7777, " " GH_TOKEN " ", strlen(GH_TOKEN) + 2);
	audit_secret_stream_begin(st);
	for (size_t off = 0; off < size; off += 12345)
		audit_secret_stream_feed(st, data + off, size - off < 12345 ? size - off : 12345);
	const struct secret_match *m;
	size_t n = audit_secret_stream_end(st, &m);
	assert_int_equal(n, 2);
	assert_string_equal(audit_secret_rule_id(m[0].rule), "secret-github-token");
	assert_int_equal(m[0].offset, (1u << 20) - 9);
	assert_string_equal(audit_secret_rule_id(m[1].rule), "secret-aws-access-key");
	assert_int_equal(m[1].line, 0); /* beyond the first window: unknown */
	/* A small file: the line is known. */
	audit_secret_stream_begin(st);
	const char *small = "a\nb\nkey: " AWS_KEY "\n";
	audit_secret_stream_feed(st, small, strlen(small));
	n = audit_secret_stream_end(st, &m);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].line, 3);
	audit_secret_stream_free(st);
	audit_secret_rules_free(s);
	free(data);
}

/* The vector scan, the one-position fingerprint scan and the pair bitmap
 * find the same rules: on random bytes (binary and text) with keywords
 * planted in either case at every alignment, including at both ends. */
static void test_secret_prefilter_scans_agree(void **state)
{
	(void)state;
	struct secret_rules *s;
	struct petra_error *err = NULL;
	assert_int_equal(audit_secret_rules_new(&s, &err), 0);
	static const char *const planted[] = {
	    "-----BEGIN",
	    "AKIA",
	    "asia",
	    "aws_secret",
	    "SecretAccessKey",
	    "service_account",
	    "ghp_",
	    "gho_",
	    "github_pat_",
	    "glpat-",
	    "xoxb-",
	    "hooks.slack.com",
	    "sk_live_",
	    "npm_",
	    "_authToken",
	    "\"auths\"",
	    "eyJ",
	    "pypi-AgEIcHlwaS5vcmc",
	    "xoxs",
	    "ghp",
	    "-----begi",
	    "aki",
	    "ey",
	    "npm-",
	};
	char buf[4096];
	uint64_t seed = 42;
	for (unsigned iter = 0; iter < 4000; iter++) {
		size_t len = 1 + (size_t)(iter * 7919u % sizeof(buf));
		if (iter % 5 == 0)
			len = iter % 97; /* short buffers: all tail */
		for (size_t i = 0; i < len; i++) {
			seed = seed * 6364136223846793005u + 1442695040888963407u;
			unsigned v = (unsigned)(seed >> 33);
			/* Half text-like (letters, '_', '-'), half any byte. */
			buf[i] =
			    iter & 1 ? (char)v : "abcdefghijklmnopqrstuvwxyz_-.\" ACEGIKS"[v % 38];
		}
		unsigned n_plant = iter % 4;
		for (unsigned k = 0; k < n_plant; k++) {
			seed = seed * 6364136223846793005u + 1442695040888963407u;
			const char *kw = planted[(seed >> 20) % ARRAY_SIZE(planted)];
			size_t kl = strlen(kw);
			if (kl > len)
				continue;
			/* At the start, at the end, or anywhere. */
			size_t at = k == 0   ? 0
				    : k == 1 ? len - kl
					     : (size_t)(seed >> 40) % (len - kl + 1);
			for (size_t j = 0; j < kl; j++)
				buf[at + j] = (seed >> (j % 16)) & 1
						  ? (char)toupper((unsigned char)kw[j])
						  : (char)tolower((unsigned char)kw[j]);
		}
		uint32_t pairs = audit_secret_prefilter(s, buf, len, SECRET_PREFILTER_PAIRS);
		uint32_t fingerprints =
		    audit_secret_prefilter(s, buf, len, SECRET_PREFILTER_FINGERPRINTS);
		uint32_t best = audit_secret_prefilter(s, buf, len, SECRET_PREFILTER_BEST);
		if (pairs != fingerprints || pairs != best)
			fail_msg("iteration %u (%zu bytes): pairs %x, fingerprints %x, best %x",
				 iter, len, pairs, fingerprints, best);
	}
	/* Each keyword alone, at every offset of a 100-byte buffer. */
	for (size_t k = 0; k < ARRAY_SIZE(planted); k++) {
		size_t kl = strlen(planted[k]);
		for (size_t at = 0; at + kl <= 100; at++) {
			memset(buf, 0, 100);
			memcpy(buf + at, planted[k], kl);
			uint32_t pairs =
			    audit_secret_prefilter(s, buf, 100, SECRET_PREFILTER_PAIRS);
			assert_int_equal(audit_secret_prefilter(s, buf, 100, SECRET_PREFILTER_BEST),
					 pairs);
			if (k < 18) /* the real keywords, not the near misses after them */
				assert_int_not_equal(pairs, 0);
		}
	}
	audit_secret_rules_free(s);
}

/* A stream scans each piece as it comes: a keyword split across pieces at
 * any point is found, and so is a rule whose keyword and value are far
 * apart in one window. */
static void test_secret_stream_split_keywords(void **state)
{
	(void)state;
	struct secret_rules *s;
	struct petra_error *err = NULL;
	assert_int_equal(audit_secret_rules_new(&s, &err), 0);
	struct secret_stream *st = audit_secret_stream_new(s);
	const char *text = "junk junk key=" AWS_KEY " and " GH_TOKEN " end";
	size_t len = strlen(text);
	for (size_t cut1 = 0; cut1 <= len; cut1++)
		for (size_t cut2 = cut1; cut2 <= len; cut2 += 3) {
			audit_secret_stream_begin(st);
			audit_secret_stream_feed(st, text, cut1);
			audit_secret_stream_feed(st, text + cut1, cut2 - cut1);
			audit_secret_stream_feed(st, text + cut2, len - cut2);
			const struct secret_match *m;
			size_t n = audit_secret_stream_end(st, &m);
			if (n != 2)
				fail_msg("cut at %zu and %zu: %zu matches", cut1, cut2, n);
		}
	/* One byte at a time. */
	audit_secret_stream_begin(st);
	for (size_t i = 0; i < len; i++)
		audit_secret_stream_feed(st, text + i, 1);
	const struct secret_match *m;
	assert_int_equal(audit_secret_stream_end(st, &m), 2);
	/* The GCP rule's keyword 600 KB before its value, in another piece. */
	size_t size = 700u << 10;
	char *data = xmalloc(size);
	memset(data, ' ', size);
	memcpy(data + 1000, "\"type\": \"service_account\"", 26);
	const char *id = "\"private_key_id\": \"0123456789abcdef0123\"";
	memcpy(data + (600u << 10), id, strlen(id));
	audit_secret_stream_begin(st);
	for (size_t off = 0; off < size; off += 65536)
		audit_secret_stream_feed(st, data + off, size - off < 65536 ? size - off : 65536);
	assert_int_equal(audit_secret_stream_end(st, &m), 1);
	assert_string_equal(audit_secret_rule_id(m[0].rule), "secret-gcp-service-account");
	/* Tokens across the window's slide: one whose keyword is whole in
	 * the first window but its value is not (the overlap is scanned again
	 * for the next window), one whose keyword is cut by the slide. */
	size = (1u << 20) + 100;
	data = xrealloc(data, size);
	static const struct {
		const char *token;
		size_t before; /* bytes of it before the slide */
	} across[] = {{GH_TOKEN, 30}, {AWS_KEY, 2}};
	for (size_t i = 0; i < ARRAY_SIZE(across); i++) {
		memset(data, ' ', size);
		memcpy(data + (1u << 20) - across[i].before, across[i].token,
		       strlen(across[i].token));
		audit_secret_stream_begin(st);
		for (size_t off = 0; off < size; off += 4093)
			audit_secret_stream_feed(st, data + off,
						 size - off < 4093 ? size - off : 4093);
		assert_int_equal(audit_secret_stream_end(st, &m), 1);
		assert_int_equal(m[0].offset, (1u << 20) - across[i].before);
	}
	free(data);
	audit_secret_stream_free(st);
	audit_secret_rules_free(s);
}

/* ---- package databases ---- */

static void test_inventory_parsers(void **state)
{
	(void)state;
	const char *status = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
			     "Source: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\nDescription: x\n"
			     " more: text\n\n"
			     "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
			     "Package: base-files\nStatus: hold ok installed\nVersion: 12.4\n"
			     "\n\nPackage: noversion\nStatus: install ok installed\n";
	struct inventory_pkg *p;
	size_t n;
	audit_inventory_parse_dpkg(status, strlen(status), true, &p, &n);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].name, "base-files");
	assert_string_equal(p[0].source, "base-files");
	assert_string_equal(p[1].name, "libc6");
	assert_string_equal(p[1].version, "2.36-9+deb12u4");
	assert_string_equal(p[1].source, "glibc");
	assert_string_equal(p[1].arch, "amd64");
	assert_non_null(audit_inventory_find(p, n, "libc6"));
	assert_null(audit_inventory_find(p, n, "gone"));
	audit_inventory_pkgs_free(p, n);
	/* status.d: no Status field. */
	const char *one = "Package: tzdata\nVersion: 2024a-0+deb12u1\n";
	audit_inventory_parse_dpkg(one, strlen(one), false, &p, &n);
	assert_int_equal(n, 1);
	audit_inventory_pkgs_free(p, n);
	audit_inventory_parse_dpkg(one, strlen(one), true, &p, &n);
	assert_int_equal(n, 0);
	audit_inventory_pkgs_free(p, n);
	const char *apk = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\n"
			  "P:busybox\nV:1.36.1-r5\nA:x86_64\no:busybox\n\nP:broken\n";
	audit_inventory_parse_apk(apk, strlen(apk), &p, &n);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].name, "busybox");
	assert_string_equal(p[1].version, "1.2.4-r2");
	audit_inventory_pkgs_free(p, n);
	/* Garbage is not a crash, and not packages. */
	const char *garbage = "\n:\n::::\nPackage:\n";
	audit_inventory_parse_dpkg(garbage, strlen(garbage), false, &p, &n);
	assert_int_equal(n, 0);
	audit_inventory_pkgs_free(p, n);
}

/* ---- findings on images ---- */

static void audit_ok(struct petra_store *store, const char *name, const struct audit_options *o,
		     struct audit_report *r)
{
	struct petra_error *err = NULL;
	if (audit_image(store, name, o, r, &err) < 0)
		fail_msg("audit: %s", err->message);
}

static size_t count(const struct audit_report *r, const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_findings; i++)
		n += !strcmp(r->findings[i].check->id, id);
	return n;
}

static const struct audit_finding *find(const struct audit_report *r, const char *id)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (!strcmp(r->findings[i].check->id, id))
			return &r->findings[i];
	fail_msg("no %s finding", id);
	return NULL;
}

static const struct audit_finding *find_path(const struct audit_report *r, const char *id,
					     const char *path)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (!strcmp(r->findings[i].check->id, id) && r->findings[i].path &&
		    !strcmp(r->findings[i].path, path))
			return &r->findings[i];
	fail_msg("no %s finding for %s", id, path);
	return NULL;
}

/* No output format ever shows a raw value. */
static void assert_no_raw(const struct audit_report *r, const char *raw)
{
	for (int fmt = AUDIT_FORMAT_TEXT; fmt <= AUDIT_FORMAT_SARIF; fmt++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		audit_print(r, (enum audit_format)fmt, f);
		fclose(f);
		if (strstr(buf, raw))
			fail_msg("format %d shows %s", fmt, raw);
		free(buf);
	}
}

static void test_secret_written_then_deleted_is_a_leak(void **state)
{
	struct store_fixture *f = *state;
	const struct test_layer layers[] = {
	    TEST_LAYER("FROM scratch", {'d', "etc"},
		       {'f', "etc/passwd", 0, 0, 0, "root:x:0:0::/:\n"}),
	    TEST_LAYER("COPY deploy.env /app/.env", {'d', "app"},
		       {'f', "app/.env", 0600, 0, 0, "GITHUB_TOKEN=" GH_TOKEN "\n"}),
	    TEST_LAYER("RUN rm /app/.env", {'w', "app/.env"}),
	};
	test_build_image(f->store, "leaky:1", layers, 3, "{\"User\": \"0\"}");
	struct audit_report r;
	audit_ok(f->store, "leaky:1", NULL, &r);
	assert_int_equal(count(&r, "leak-sensitive-file"), 1);
	/* Reported as a leak, not a second time as a visible secret or a
	 * credentials file. */
	assert_int_equal(count(&r, "secret-github-token"), 0);
	assert_int_equal(count(&r, "secret-file"), 0);
	const struct audit_finding *leak = find(&r, "leak-sensitive-file");
	assert_string_equal(leak->path, "/app/.env");
	assert_int_equal(leak->layer, 1);
	assert_string_equal(leak->layer_digest, r.layers[1].digest);
	assert_int_equal(leak->step, 1);
	assert_string_equal(leak->created_by, "COPY deploy.env /app/.env");
	assert_int_equal(leak->hidden_by, 2);
	assert_int_equal(leak->severity, AUDIT_ERROR);
	assert_non_null(strstr(leak->message, "removed in layer 3 but still in layer 2"));
	assert_non_null(leak->fingerprint);
	const struct audit_finding *bytes = find(&r, "leak-hidden-bytes");
	assert_int_equal(bytes->bytes, strlen("GITHUB_TOKEN=" GH_TOKEN "\n"));
	assert_int_equal(r.hidden_files, 1);
	assert_no_raw(&r, GH_TOKEN);
	assert_true(audit_fails(&r, AUDIT_ERROR));
	/* An allow-list entry by fingerprint silences it. */
	struct audit_options o;
	audit_options_init(&o);
	char fp[SECRET_FINGERPRINT_SIZE];
	snprintf(fp, sizeof(fp), "%s", leak->fingerprint);
	struct audit_allow allow = {.fingerprint = fp};
	o.allow = &allow;
	o.n_allow = 1;
	audit_report_release(&r);
	audit_ok(f->store, "leaky:1", &o, &r);
	assert_int_equal(count(&r, "leak-sensitive-file"), 0);
	audit_report_release(&r);
}

static void test_each_finding_once_with_its_layer(void **state)
{
	struct store_fixture *f = *state;
	struct test_layer layers[] = {
	    TEST_LAYER("FROM busybox", {'d', "bin"}, {'f', "bin/busybox", 0755, 0, 0, "ELF"},
		       {'l', "bin/sh", 0, 0, 0, "busybox"}, {'d', "etc"},
		       {'f', "etc/passwd", 0, 0, 0,
			"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"},
		       {'d', "tmp", 01777}, {'d', "dev"}, {'c', "dev/null"}),
	    TEST_LAYER("COPY id_rsa /root/.ssh/id_rsa", {'d', "root", 0700},
		       {'d', "root/.ssh", 0700}, {'f', "root/.ssh/id_rsa", 0600, 0, 0, PEM_KEY}),
	    TEST_LAYER("RUN mkdir -m 777 /app && curl -H 'Authorization: token " GH_TOKEN
		       "' https://example.com/x > /app/x",
		       {'d', "app", 0777}, {'f', "app/x", 0666, 0, 0, "data"},
		       {'d', "app/sub", 0777}, {'f', "app/sub/y", 0644, 1000, 1000, "data"}),
	    TEST_LAYER("COPY --chown=app ping /usr/bin/ping", {'d', "usr"}, {'d', "usr/bin"},
		       {'f', "usr/bin/ping", 04755, 0, 0, "ELF"},
		       {'f', "usr/bin/own", 0755, 1000, 1000, "ELF"},
		       {'f', "usr/bin/grp", 0775, 0, 1000, "ELF"},
		       {'f', "usr/bin/ro", 0555, 1000, 1000, "ELF"}),
	};
	layers[2].empty_after = "ENV AWS_ACCESS_KEY_ID=" AWS_KEY " DB_PASSWORD=hunter2";
	test_build_image(f->store, "bad:1", layers, 4,
			 "{\"User\": \"app\", \"Env\": [\"PATH=/bin\", \"AWS_ACCESS_KEY_ID=" AWS_KEY
			 "\", \"DB_PASSWORD=hunter2\", \"DB_PASSWORD_FILE=/run/secrets/db\"]}");
	struct audit_report r;
	audit_ok(f->store, "bad:1", NULL, &r);
	assert_int_equal(r.uid, 1000);
	assert_int_equal(r.gid, 1000);

	/* The copied key: once, in layer 2 (not also as a credentials file). */
	assert_int_equal(count(&r, "secret-private-key"), 1);
	assert_int_equal(count(&r, "secret-file"), 0);
	const struct audit_finding *key = find(&r, "secret-private-key");
	assert_string_equal(key->path, "/root/.ssh/id_rsa");
	assert_int_equal(key->layer, 1);
	assert_int_equal(key->line, 1);
	assert_string_equal(key->created_by, "COPY id_rsa /root/.ssh/id_rsa");

	/* The AWS key in Env: once (the ENV step that shows it too is that
	 * finding's step, not another finding). */
	assert_int_equal(count(&r, "secret-aws-access-key"), 1);
	const struct audit_finding *aws = find(&r, "secret-aws-access-key");
	assert_int_equal(aws->where, AUDIT_WHERE_ENV);
	assert_string_equal(aws->key, "AWS_ACCESS_KEY_ID");
	assert_int_equal(aws->step, 3);
	assert_int_equal(count(&r, "secret-password-env"), 1);
	assert_string_equal(find(&r, "secret-password-env")->key, "DB_PASSWORD");
	assert_int_equal(count(&r, "secret-password-history"), 0);

	/* The GitHub token in a RUN line: the history step, its layer. */
	assert_int_equal(count(&r, "secret-github-token"), 1);
	const struct audit_finding *gh = find(&r, "secret-github-token");
	assert_int_equal(gh->where, AUDIT_WHERE_HISTORY);
	assert_int_equal(gh->step, 2);
	assert_int_equal(gh->layer, 2);
	assert_null(strstr(gh->created_by, GH_TOKEN));
	assert_non_null(strstr(gh->created_by, "ghp_****"));

	/* The world-writable app directory: one finding for the tree. */
	assert_int_equal(count(&r, "world-writable"), 2); /* /app (and below) and /tmp */
	const struct audit_finding *ww = find_path(&r, "world-writable", "/app");
	assert_int_equal(ww->layer, 2);
	assert_int_equal(ww->more, 2); /* /app/sub, /app/x */

	/* The runtime user's files: what it can write as owner or group,
	 * and what it owns (and could make writable). */
	assert_int_equal(count(&r, "writable-by-user"), 3);
	find_path(&r, "writable-by-user", "/app/sub/y");
	find_path(&r, "writable-by-user", "/usr/bin/own");
	find_path(&r, "writable-by-user", "/usr/bin/grp");
	assert_int_equal(count(&r, "owned-by-user"), 1);
	assert_string_equal(find(&r, "owned-by-user")->path, "/usr/bin/ro");

	/* The setuid binary, the device, the named user. */
	assert_int_equal(count(&r, "setuid"), 1);
	assert_string_equal(find(&r, "setuid")->path, "/usr/bin/ping");
	assert_int_equal(find(&r, "setuid")->layer, 3);
	assert_int_equal(count(&r, "device-node"), 1);
	assert_int_equal(count(&r, "user-not-numeric"), 1);
	assert_int_equal(count(&r, "user-missing") + count(&r, "user-root"), 0);
	/* No shell findings: the image does not say it has none. */
	assert_int_equal(count(&r, "shell-present"), 0);

	assert_no_raw(&r, GH_TOKEN);
	assert_no_raw(&r, AWS_KEY);
	assert_no_raw(&r, "hunter2");
	assert_no_raw(&r, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ");
	audit_report_release(&r);
}

static void test_users_writable_paths_and_shells(void **state)
{
	struct store_fixture *f = *state;
	const struct test_layer layers[] = {
	    TEST_LAYER("base", {'d', "bin"}, {'f', "bin/busybox", 0755, 0, 0, "ELF"},
		       {'l', "bin/sh", 0, 0, 0, "busybox"}, {'l', "bin/apk", 0, 0, 0, "busybox"},
		       {'d', "run"}, {'d', "run/app", 0755, 65532, 65532},
		       {'f', "run/app/pid", 0644, 65532, 65532, "1"}, {'d', "tmp", 01777}),
	};
	test_build_image(
	    f->store, "ok:1", layers, 1,
	    "{\"User\": \"65532:65532\", \"Labels\": {\"org.petra.no-shell\": \"true\","
	    " \"org.petra.writable-paths\": "
	    "\"[{\\\"path\\\":\\\"/run/app\\\",\\\"size\\\":1048576,"
	    "\\\"mode\\\":\\\"0755\\\",\\\"uid\\\":65532},{\\\"path\\\":\\\"/tmp/\\\"}]\"}}");
	struct audit_report r;
	audit_ok(f->store, "ok:1", NULL, &r);
	/* The writable paths are not findings; the shell and the package
	 * manager are, since the image says it has none. */
	assert_int_equal(count(&r, "world-writable"), 0);
	assert_int_equal(count(&r, "owned-by-user") + count(&r, "writable-by-user"), 0);
	assert_int_equal(count(&r, "shell-present"), 2); /* busybox and sh */
	assert_int_equal(count(&r, "package-manager-present"), 1);
	assert_int_equal(count(&r, "user-not-numeric"), 0);
	assert_int_equal(r.n_writable, 2);
	audit_report_release(&r);

	test_build_image(f->store, "root:1", layers, 1, "{\"User\": \"root\"}");
	audit_ok(f->store, "root:1", NULL, &r);
	assert_int_equal(count(&r, "user-unknown"), 1); /* no /etc/passwd */
	audit_report_release(&r);
	test_build_image(f->store, "root:2", layers, 1, "{\"User\": \"0:0\"}");
	audit_ok(f->store, "root:2", NULL, &r);
	assert_int_equal(count(&r, "user-root"), 1);
	/* uid 0: every file is root's; ownership findings would say nothing. */
	assert_int_equal(count(&r, "owned-by-user"), 0);
	audit_report_release(&r);
	test_build_image(f->store, "root:3", layers, 1, NULL);
	audit_ok(f->store, "root:3", NULL, &r);
	assert_int_equal(count(&r, "user-missing"), 1);
	/* The text report: grouped by severity, one summary line last. */
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	audit_print(&r, AUDIT_FORMAT_TEXT, out);
	fclose(out);
	assert_non_null(strstr(buf, "\nERROR (2)\n  user-missing "));
	assert_null(strstr(buf, "\nWARNING ("));
	const char *last = strrchr(buf, '\n');
	while (last > buf && last[-1] != '\n')
		last--;
	assert_non_null(strstr(last, "errors, "));
	assert_non_null(strstr(last, "efficiency 100.0%"));
	free(buf);
	audit_report_release(&r);
}

static void test_efficiency_findings(void **state)
{
	struct store_fixture *f = *state;
	const struct test_layer layers[] = {
	    TEST_LAYER("base", {'d', "data"}, {'f', "data/keep", 0, 0, 0, NULL, 300000}),
	    TEST_LAYER("COPY big /data/big", {'f', "data/big", 0, 0, 0, NULL, 200000}),
	    TEST_LAYER("RUN chmod 600 /data/big", {'f', "data/big", 0600, 0, 0, NULL, 200000}),
	};
	test_build_image(f->store, "fat:1", layers, 3, "{\"User\": \"1\"}");
	struct audit_options o;
	audit_options_init(&o);
	o.min_wasted_file = 100000;
	struct audit_report r;
	audit_ok(f->store, "fat:1", &o, &r);
	/* dive: 300000 + 2 * 200000 seen, 500000 needed; 400000 wasted of
	 * 400000 user bytes. */
	assert_true(r.efficiency > 0.714 && r.efficiency < 0.715);
	assert_int_equal(r.wasted_bytes, 400000);
	assert_true(r.wasted_share > 0.999 && r.wasted_share < 1.001);
	assert_int_equal(count(&r, "efficiency-score"), 1);
	assert_int_equal(count(&r, "wasted-share"), 1);
	assert_int_equal(count(&r, "wasted-bytes"), 0); /* no limit by default */
	assert_int_equal(count(&r, "wasted-file"), 1);
	const struct audit_finding *w = find(&r, "wasted-file");
	assert_string_equal(w->path, "/data/big");
	assert_int_equal(w->layer, 2);
	assert_string_equal(w->created_by, "RUN chmod 600 /data/big");
	assert_int_equal(r.n_waste, 1);
	audit_report_release(&r);
	/* With two base layers, the user share is the last layer's. */
	o.base_layers = 2;
	o.max_wasted_bytes = 1000;
	audit_ok(f->store, "fat:1", &o, &r);
	assert_int_equal(r.user_bytes, 200000);
	assert_int_equal(count(&r, "wasted-bytes"), 1);
	audit_report_release(&r);
}

static void test_inventory_honours_whiteouts(void **state)
{
	struct store_fixture *f = *state;
	const struct test_layer layers[] = {
	    TEST_LAYER(
		"base", {'d', "var"}, {'d', "var/lib"}, {'d', "var/lib/dpkg"},
		{'f', "var/lib/dpkg/status", 0, 0, 0,
		 "Package: libc6\nStatus: install ok installed\nVersion: 2.36\n\n"
		 "Package: curl\nStatus: install ok installed\nVersion: 7.88\n"},
		{'d', "var/lib/dpkg/status.d"},
		{'f', "var/lib/dpkg/status.d/tzdata", 0, 0, 0, "Package: tzdata\nVersion: 2024a\n"},
		{'f', "var/lib/dpkg/status.d/gone", 0, 0, 0, "Package: gone\nVersion: 1\n"},
		{'d', "lib"}, {'d', "lib/apk"}, {'d', "lib/apk/db"},
		{'f', "lib/apk/db/installed", 0, 0, 0, "P:musl\nV:1.2.4\no:musl\n"}),
	    TEST_LAYER("RUN apt-get install jq && apt-get remove curl",
		       {'f', "var/lib/dpkg/status", 0, 0, 0,
			"Package: libc6\nStatus: install ok installed\nVersion: 2.36\n\n"
			"Package: jq\nStatus: install ok installed\nVersion: 1.6\n"},
		       {'w', "var/lib/dpkg/status.d/gone"}, {'w', "lib/apk"}),
	};
	test_build_image(f->store, "pkgs:1", layers, 2, "{\"User\": \"1\"}");
	struct audit_report r;
	audit_ok(f->store, "pkgs:1", NULL, &r);
	assert_int_equal(r.n_packages, 3);
	assert_string_equal(r.packages[0].name, "jq");
	assert_int_equal(r.packages[0].layer, 1);
	assert_string_equal(r.packages[1].name, "libc6");
	assert_int_equal(r.packages[1].layer, 0); /* unchanged since layer 1 */
	assert_string_equal(r.packages[1].db, "/var/lib/dpkg/status");
	assert_string_equal(r.packages[2].name, "tzdata");
	assert_string_equal(r.packages[2].type, "deb");
	json_t *j = audit_report_json(&r);
	json_t *pkgs = json_object_get(json_object_get(j, "inventory"), "packages");
	assert_int_equal(json_array_size(pkgs), 3);
	assert_string_equal(json_get_string(json_array_get(pkgs, 0), "source"), "jq");
	json_decref(j);
	audit_report_release(&r);
}

static void test_sarif(void **state)
{
	struct store_fixture *f = *state;
	const struct test_layer layers[] = {
	    TEST_LAYER("COPY key", {'f', "key.pem", 0, 0, 0, PEM_KEY}),
	};
	test_build_image(f->store, "s:1", layers, 1, "{\"User\": \"1:1\"}");
	struct audit_report r;
	audit_ok(f->store, "s:1", NULL, &r);
	json_t *s = audit_report_sarif(&r);
	assert_string_equal(json_get_string(s, "version"), "2.1.0");
	json_t *run = json_array_get(json_object_get(s, "runs"), 0);
	json_t *results = json_object_get(run, "results");
	assert_int_equal(json_array_size(results), r.n_findings);
	json_t *res = json_array_get(results, 0);
	assert_string_equal(json_get_string(res, "ruleId"), "secret-private-key");
	assert_string_equal(json_get_string(res, "level"), "error");
	json_t *loc = json_array_get(json_object_get(res, "locations"), 0);
	assert_string_equal(
	    json_get_string(
		json_object_get(json_object_get(loc, "physicalLocation"), "artifactLocation"),
		"uri"),
	    "key.pem");
	/* Every ruleId is in the driver's rules at its ruleIndex. */
	json_t *rules =
	    json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	for (size_t i = 0; i < json_array_size(results); i++) {
		json_t *x = json_array_get(results, i);
		json_t *rule = json_array_get(rules, (size_t)json_get_int(x, "ruleIndex", -1));
		assert_string_equal(json_get_string(rule, "id"), json_get_string(x, "ruleId"));
	}
	json_decref(s);
	audit_report_release(&r);
}

static void test_program_kinds(void **state)
{
	(void)state;
	assert_int_equal(audit_program_kind("bin/sh"), AUDIT_PROGRAM_SHELL);
	assert_int_equal(audit_program_kind("usr/bin/bash"), AUDIT_PROGRAM_SHELL);
	assert_int_equal(audit_program_kind("bin/busybox"), AUDIT_PROGRAM_SHELL);
	assert_int_equal(audit_program_kind("usr/bin/apt-get"), AUDIT_PROGRAM_PACKAGE_MANAGER);
	assert_int_equal(audit_program_kind("usr/local/bin/pip3.11"),
			 AUDIT_PROGRAM_PACKAGE_MANAGER);
	assert_int_equal(audit_program_kind("usr/share/doc/sh"), AUDIT_PROGRAM_OTHER);
	assert_int_equal(audit_program_kind("bin/ls"), AUDIT_PROGRAM_OTHER);
	assert_int_equal(audit_program_kind("sh"), AUDIT_PROGRAM_OTHER);
}

static void test_policy_section(void **state)
{
	(void)state;
	const char *text =
	    "audit:\n"
	    "  fail-on: warning\n"
	    "  base-layers: 2\n"
	    "  efficiency: {min-score: 0.5, max-wasted-bytes: 1000, max-wasted-share: 0.2}\n"
	    "  allow:\n"
	    "    - {id: secret-jwt, path: /usr/share/doc/*, reason: examples}\n"
	    "    - fingerprint: 0123456789ab\n";
	struct petra_policy *policy;
	struct petra_error *err = NULL;
	assert_int_equal(petra_policy_parse(text, strlen(text), "p.yaml", &policy, &err), 0);
	struct audit_options o;
	audit_options_init(&o);
	struct audit_allow *allow;
	size_t n;
	enum audit_severity fail_on = AUDIT_ERROR;
	assert_int_equal(audit_options_from_policy(policy, &o, &allow, &n, &fail_on, &err), 0);
	assert_int_equal(fail_on, AUDIT_WARNING);
	assert_int_equal(o.base_layers, 2);
	assert_true(o.min_efficiency == 0.5);
	assert_int_equal(o.max_wasted_bytes, 1000);
	assert_true(o.max_wasted_share == 0.2);
	assert_int_equal(o.min_wasted_file, 1u << 20); /* not in the file: the default */
	assert_int_equal(n, 2);
	assert_string_equal(allow[0].id, "secret-jwt");
	assert_string_equal(allow[0].path, "/usr/share/doc/*");
	assert_null(allow[1].id);
	assert_string_equal(allow[1].fingerprint, "0123456789ab");
	free(allow);
	petra_policy_free(policy);
	/* Mistakes name the line. */
	const char *bad[] = {
	    "audit:\n  fail_on: error\n",
	    "audit:\n  efficiency:\n    min-score: 2\n",
	    "audit:\n  allow:\n    - reason: nothing else\n",
	    "audit:\n  fail-on: sometimes\n",
	};
	const char *expect[] = {"p.yaml:2:3: audit: unknown key \"fail_on\"",
				"p.yaml:3:5: audit: min-score wants a number from 0 to 1",
				"p.yaml:3:7: audit: an allow entry needs id, path or fingerprint",
				"p.yaml:2:3: audit: fail-on is error, warning, info or none"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(
		    petra_policy_parse(bad[i], strlen(bad[i]), "p.yaml", &policy, &err), 0);
		assert_true(audit_options_from_policy(policy, &o, &allow, &n, &fail_on, &err) < 0);
		assert_error_contains(err, expect[i]);
		petra_error_free(err);
		err = NULL;
		petra_policy_free(policy);
	}
	/* No policy, no section: nothing changes. */
	assert_int_equal(audit_options_from_policy(NULL, &o, &allow, &n, &fail_on, &err), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_rules),
	    cmocka_unit_test(test_secret_stream_across_windows),
	    cmocka_unit_test(test_secret_prefilter_scans_agree),
	    cmocka_unit_test(test_secret_stream_split_keywords),
	    cmocka_unit_test(test_inventory_parsers),
	    cmocka_unit_test(test_program_kinds),
	    cmocka_unit_test(test_policy_section),
	    cmocka_unit_test_setup_teardown(test_secret_written_then_deleted_is_a_leak,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_each_finding_once_with_its_layer,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_users_writable_paths_and_shells,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_efficiency_findings, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_inventory_honours_whiteouts, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_sarif, store_fixture_setup,
					    store_fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
