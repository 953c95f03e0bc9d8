/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/lint: every rule with a Dockerfile it catches and one
 * it lets through, pragmas, the config file, ShellCheck's mapping, and
 * every report format (SARIF checked for the structure 2.1.0 requires). */
#include "testutil.h"

#include <dirent.h>

#include "lint/lint.h"

#define DIGEST "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
/* A base that draws no base findings, and the user line that draws no
 * runtime findings: most cases add only what they test. */
#define BASE "FROM debian:12@" DIGEST "\n"
#define USER "USER 10001:10001\n"

struct setup {
	const char *policy; /* YAML or NULL */
	const char *config; /* YAML or NULL */
	const char *target;
	bool shellcheck;
};

static struct lint_result lint_with(const struct setup *s, const char *src)
{
	struct petra_error *err = NULL;
	struct petra_policy *policy = NULL;
	struct lint_config config;
	if (s->policy &&
	    petra_policy_parse(s->policy, strlen(s->policy), "policy.yaml", &policy, &err) < 0)
		fail_msg("policy: %s", err->message);
	if (s->config &&
	    lint_config_parse(s->config, strlen(s->config), ".petra.yaml", &config, &err) < 0)
		fail_msg("config: %s", err->message);
	struct lint_options opts = {.policy = policy,
				    .config = s->config ? &config : NULL,
				    .target = s->target,
				    .shellcheck = s->shellcheck};
	struct lint_linter *l = NULL;
	assert_int_equal(lint_new(&opts, &l, &err), 0);
	struct lint_result res;
	if (lint_buffer(l, src, strlen(src), "Dockerfile", &res, &err) < 0)
		fail_msg("lint: %s", err->message);
	lint_free(l);
	if (s->config)
		lint_config_release(&config);
	petra_policy_free(policy);
	return res;
}

static const struct lint_finding *find(const struct lint_result *r, const char *rule)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (!strcmp(r->findings[i].rule, rule))
			return &r->findings[i];
	return NULL;
}

static void dump(const struct lint_result *r)
{
	struct strbuf sb = STRBUF_INIT;
	lint_report_text(r, &sb);
	fprintf(stderr, "findings:\n%s", sb.buf);
	strbuf_release(&sb);
}

/* src draws rule (on `line` when line > 0), or does not (line < 0). */
static void expect_s(const struct setup *s, const char *src, const char *rule, int line)
{
	struct lint_result r = lint_with(s, src);
	const struct lint_finding *f = find(&r, rule);
	if (line < 0 && f) {
		dump(&r);
		fail_msg("%s reported on line %u for:\n%s", rule, f->line, src);
	}
	if (line >= 0 && !f) {
		dump(&r);
		fail_msg("%s not reported for:\n%s", rule, src);
	}
	if (line > 0 && f->line != (unsigned)line) {
		dump(&r);
		fail_msg("%s on line %u, expected %d", rule, f->line, line);
	}
	lint_result_release(&r);
}

static const struct setup plain = {0};
#define catches(src, rule, line) expect_s(&plain, (src), (rule), (line))
#define passes(src, rule)        expect_s(&plain, (src), (rule), -1)

/* ---- the file and the rule table ---------------------------------------- */

static void test_rule_table(void **state)
{
	(void)state;
	size_t n;
	const struct lint_rule *rules = lint_rules(&n);
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(rules[i].id), 5);
		assert_true(rules[i].severity >= LINT_STYLE && rules[i].severity <= LINT_ERROR);
		assert_true(strlen(rules[i].summary) > 10);
		if (i)
			assert_true(strcmp(rules[i - 1].id, rules[i].id) < 0);
		/* every rule has its page, which names it */
		char *path = xasprintf("%s/../../docs/rules/%s.md", TEST_DATA_DIR, rules[i].id);
		char *doc = NULL;
		size_t len;
		struct petra_error *err = NULL;
		if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &doc, &len, &err) < 0)
			fail_msg("%s", err->message);
		assert_non_null(strstr(doc, rules[i].id));
		assert_non_null(strstr(doc, rules[i].summary));
		free(doc);
		free(path);
	}
	assert_non_null(lint_rule_find("PL406"));
	assert_null(lint_rule_find("PL999"));
}

static void test_parse_error(void **state)
{
	(void)state;
	struct lint_result r = lint_with(&plain, "FROM alpine:3\n\nBOGUS x\n");
	assert_int_equal(r.n_findings, 1);
	assert_string_equal(r.findings[0].rule, "PL001");
	assert_int_equal(r.findings[0].line, 3);
	assert_string_equal(r.findings[0].message, "unknown instruction: BOGUS");
	assert_int_equal(lint_result_worst(&r), LINT_ERROR);
	lint_result_release(&r);
	catches("", "PL001", 1);
	passes(BASE USER, "PL001");
}

/* ---- PL1xx --------------------------------------------------------------- */

static void test_hygiene_rules(void **state)
{
	(void)state;
	catches(BASE "WORKDIR app\n" USER, "PL101", 2);
	passes(BASE "WORKDIR /app\nWORKDIR $HOME\n" USER, "PL101");

	catches(BASE "RUN cd /src && make\n" USER, "PL102", 2);
	passes(BASE "WORKDIR /src\nRUN make && echo cd\n" USER, "PL102");

	catches(BASE "RUN sudo apt-get update\n" USER, "PL103", 2);
	passes(BASE "RUN echo sudo\n" USER, "PL103");

	catches("FROM debian\n" USER, "PL104", 1);
	passes("ARG V\nFROM debian$V\n" USER, "PL104"); /* unset: known only when building */
	passes("FROM debian:12\n" USER, "PL104");
	passes("FROM scratch\n" USER, "PL104");

	catches("FROM debian:latest\n" USER, "PL105", 1);
	catches("ARG TAG=latest\nFROM debian:${TAG}\n" USER, "PL105", 2);
	passes("FROM debian:latest@" DIGEST "\n" USER, "PL105");

	const char *apt = BASE "RUN apt-get update && apt-get install curl\n" USER;
	catches(apt, "PL106", 2);
	catches(apt, "PL107", 2);
	catches(apt, "PL108", 2);
	const char *apt_ok = BASE "RUN apt-get update \\\n"
				  " && apt-get -qy install --no-install-recommends curl=7.88 \\\n"
				  " && rm -rf /var/lib/apt/lists/*\n" USER;
	passes(apt_ok, "PL106");
	passes(apt_ok, "PL107");
	passes(apt_ok, "PL108");
	passes(apt_ok, "PL109");
	passes(BASE "RUN --mount=type=cache,target=/var/lib/apt apt-get install -y "
		    "--no-install-recommends curl=1\n" USER,
	       "PL108");

	catches(apt, "PL109", 2);
	catches(BASE "RUN apk add --no-cache curl=8.5.0-r0 git\n" USER, "PL109", 2);
	catches(BASE "RUN pip install -r requirements.txt flask\n" USER, "PL109", 2);
	catches(BASE "RUN python3 -m pip install requests\n" USER, "PL109", 2);
	catches(BASE "RUN npm install -g @angular/cli\n" USER, "PL109", 2);
	passes(BASE "RUN pip install -r requirements.txt 'flask==3.0.0' && npm ci && "
		    "npm install -g @angular/cli@17.1.0 && apk add --virtual .deps gcc=13.2\n" USER,
	       "PL109");

	catches(BASE "ADD app.py /app/\n" USER, "PL110", 2);
	passes(BASE "ADD rootfs.tar.gz /\nCOPY app.py /app/\n" USER, "PL110");

	const char *stages = "FROM debian:12@" DIGEST " AS build\n"
			     "COPY --from=build /a /b\n" BASE "COPY --from=0 /a /b\n" USER;
	catches(stages, "PL111", 2);
	catches(BASE "COPY --from=1 /a /b\nFROM debian:12@" DIGEST " AS later\n" USER, "PL111", 2);
	catches(BASE "COPY --from=later /a /b\nFROM debian:12@" DIGEST " AS later\n" USER, "PL111",
		2);
	/* ... and the later stage is not taken for an unpinned image */
	passes(BASE "COPY --from=later /a /b\nFROM debian:12@" DIGEST " AS later\n" USER, "PL406");
	passes("FROM debian:12@" DIGEST " AS build\n" BASE "COPY --from=build /a /b\n" USER,
	       "PL111");

	catches("FROM debian:12@" DIGEST " AS x\nFROM debian:12@" DIGEST " AS X\n" USER, "PL112",
		2);
	passes("FROM debian:12@" DIGEST " AS x\nFROM debian:12@" DIGEST " AS y\n" USER, "PL112");

	catches(BASE USER "CMD node server.js\n", "PL113", 3);
	catches(BASE USER "ENTRYPOINT /bin/app\n", "PL113", 3);
	passes(BASE USER "ENTRYPOINT [\"/bin/app\"]\nCMD [\"--serve\"]\n", "PL113");

	catches(BASE USER "CMD [\"a\"]\nCMD [\"b\"]\n", "PL114", 3);
	catches(BASE USER "HEALTHCHECK NONE\nHEALTHCHECK CMD [\"true\"]\n", "PL114", 3);
	passes("FROM debian:12@" DIGEST " AS a\nCMD [\"a\"]\n" BASE USER "CMD [\"b\"]\n", "PL114");

	catches(BASE "MAINTAINER someone@example.org\n" USER, "PL115", 2);
	passes(BASE "LABEL org.opencontainers.image.authors=someone@example.org\n" USER, "PL115");

	catches(BASE "RUN wget -O- https://example.org/x | tar x\n" USER, "PL116", 2);
	passes(BASE "RUN set -eux -o pipefail; wget -O- https://example.org/x | tar x\n" USER,
	       "PL116");
	passes(BASE "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
		    "RUN wget -O- https://example.org/x | tar x\n" USER,
	       "PL116");
	passes(BASE "RUN a || b && c\n" USER, "PL116");

	catches(BASE "RUN a\nRUN b\n" USER, "PL117", 3);
	passes(BASE "RUN a\nRUN --mount=type=cache,target=/c b\n" USER, "PL117");

	catches(BASE "EXPOSE 80 70000\n" USER, "PL118", 2);
	catches(BASE "EXPOSE 8080/http\n" USER, "PL118", 2);
	passes(BASE "EXPOSE 80 443/tcp 53/udp 8000-8010 ${PORT}\n" USER, "PL118");
}

static void test_label_rules(void **state)
{
	(void)state;
	catches(BASE "LABEL Maintainer=x\n" USER, "PL119", 2);
	catches(BASE "LABEL com.docker.thing=x\n" USER, "PL119", 2);
	passes(BASE "LABEL org.example.team=payments version=1\n" USER, "PL119");

	catches(BASE "LABEL org.opencontainers.image.created=yesterday\n" USER, "PL120", 2);
	catches(BASE "LABEL org.opencontainers.image.source=\"github.com/x/y\"\n" USER, "PL120", 2);
	catches(BASE "LABEL org.opencontainers.image.licenses=\"MIT AND\"\n" USER, "PL120", 2);
	passes(BASE "LABEL org.opencontainers.image.created=\"2024-01-02T03:04:05Z\" \\\n"
		    "      org.opencontainers.image.source=https://example.org/x \\\n"
		    "      org.opencontainers.image.licenses=\"(MIT OR Apache-2.0)\" \\\n"
		    "      org.opencontainers.image.revision=$GIT_SHA\n" USER,
	       "PL120");

	struct setup schema = {.config = "label-schema:\n"
					 "  org.example.version: semver\n"
					 "  org.example.commit: hash\n"};
	expect_s(&schema, BASE "LABEL org.example.version=1.2 org.example.commit=abc1234\n" USER,
		 "PL120", 2);
	expect_s(&schema,
		 BASE "LABEL org.example.version=1.2.0-rc.1 org.example.commit=abc1234\n" USER,
		 "PL120", -1);
	expect_s(&schema, BASE "LABEL org.example.version=1.2.0\n" USER, "PL121", 1);
	/* labels of a stage the runtime stage is built FROM count */
	expect_s(&schema,
		 "FROM debian:12@" DIGEST " AS base\n"
		 "LABEL org.example.version=1.2.0 org.example.commit=abc1234\n"
		 "FROM base\n" USER,
		 "PL121", -1);
}

/* ---- PL2xx --------------------------------------------------------------- */

static void test_runtime_rules(void **state)
{
	(void)state;
	catches(BASE "RUN make\n", "PL201", 1);
	catches("FROM scratch\nCOPY --chmod=0755 app /app\n", "PL201", 1);
	/* a USER in a build stage is not the runtime stage's */
	catches("FROM debian:12@" DIGEST " AS build\n" USER BASE, "PL201", 3);
	passes("FROM debian:12@" DIGEST " AS base\n" USER "FROM base\n", "PL201");

	catches(BASE "USER root\n", "PL202", 2);
	catches(BASE "USER 0:0\n", "PL202", 2);
	catches(BASE USER "USER root\n", "PL202", 3);
	passes(BASE "USER root\nRUN make\n" USER, "PL202");

	catches(BASE "USER app\n", "PL203", 2);
	catches(BASE "USER app:10001\n", "PL203", 2);
	passes(BASE "USER 10001:app\n", "PL203");
	/* --target picks the runtime stage */
	struct setup target = {.target = "debug"};
	expect_s(&target, BASE "USER app\nFROM debian:12@" DIGEST " AS debug\n" USER, "PL203", -1);
	expect_s(&target, BASE USER "FROM debian:12@" DIGEST " AS debug\nUSER app\n", "PL203", 4);

	catches(BASE "COPY app /app\n" USER, "PL204", 2);
	catches(BASE "ADD config/ /etc/app/\n" USER, "PL204", 2);
	passes(BASE "COPY --chmod=0644 app /app\n" USER, "PL204");
	passes(BASE "COPY --from=build /out /app\n" USER, "PL204");
	passes(BASE "COPY <<EOF /etc/app.conf\nx=1\nEOF\n" USER, "PL204");
	passes(BASE "ADD --checksum=sha256:00 https://example.org/a.tgz /opt/\n" USER, "PL204");
	passes(BASE "WORKDIR /srv\nCOPY app/ ./app/\nRUN chmod -R go-w /srv\n" USER, "PL204");
	passes("FROM debian:12@" DIGEST " AS build\nCOPY . /src\n" BASE USER, "PL204");

	catches(BASE "COPY --chown=10001:10001 --chmod=0644 app /app\n" USER, "PL205", 2);
	catches(BASE "RUN chown -R app:app /app\nUSER app\n", "PL205", 2);
	passes(BASE "COPY --chown=0:0 --chmod=0644 app /app\n" USER, "PL205");
	passes(BASE "COPY --chown=10002 --chmod=0644 data /data\n" USER, "PL205");

	catches(BASE "VOLUME /usr/lib\n" USER, "PL206", 2);
	catches(BASE "COPY --chmod=0644 app /srv/app\nVOLUME /srv\n" USER, "PL206", 3);
	catches(BASE "WORKDIR /app\nVOLUME [\"/app/config\"]\n" USER, "PL206", 3);
	passes(BASE "COPY --chmod=0644 app /srv/app\nVOLUME /var/lib/data\n" USER, "PL206");
}

/* ---- PL3xx --------------------------------------------------------------- */

static void test_secret_rules(void **state)
{
	(void)state;
	catches(BASE "ARG NPM_TOKEN\n" USER, "PL301", 2);
	catches(BASE "ARG DB_PASSWORD=changeme\n" USER, "PL301", 2);
	passes(BASE "ARG PASSWORD_FILE=/run/secrets/db\nARG GPG_KEY=ABCDEF\nARG TOKEN_URL\n" USER,
	       "PL301");

	catches(BASE "ENV API_KEY=abc123\n" USER, "PL302", 2);
	catches(BASE "ENV client_secret s3cr3t\n" USER, "PL302", 2);
	passes(BASE "ENV API_KEY_FILE=/run/secrets/key SECRET_NAME=db\n" USER, "PL302");

	catches(BASE "ENV AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP\n" USER, "PL303", 2);
	catches(BASE "RUN git clone https://bob:hunter22@git.example.org/x.git\n" USER, "PL303", 2);
	catches(BASE "COPY <<EOF /k\n-----BEGIN OPENSSH PRIVATE KEY-----\nxx\nEOF\n" USER, "PL303",
		2);
	passes(BASE "RUN git clone https://${USER}:${TOKEN}@git.example.org/x.git\n" USER, "PL303");

	catches(BASE "COPY id_rsa /root/.ssh/\n" USER, "PL304", 2);
	catches(BASE "COPY .env /app/\n" USER, "PL304", 2);
	catches(BASE "COPY --chmod=0600 config/server.key /etc/ssl/private/\n" USER, "PL304", 2);
	passes(BASE "COPY id_rsa.pub /root/.ssh/authorized_keys\nCOPY .env.example /app/\n" USER,
	       "PL304");

	catches(BASE "COPY .npmrc /root/.npmrc\nRUN npm ci\nRUN rm /root/.npmrc\n" USER, "PL305",
		4);
	catches(BASE "RUN curl -o /tmp/deploy.key https://vault.example/key\n"
		     "RUN ssh-add /tmp/deploy.key && rm -f /tmp/deploy.key\n" USER,
		"PL305", 3);
	catches(BASE "WORKDIR /root\nCOPY id_ed25519 .ssh/\nRUN rm -rf /root/.ssh\n" USER, "PL305",
		4);
	passes(BASE "RUN curl -o /tmp/deploy.key https://vault.example/key && use && "
		    "rm /tmp/deploy.key\n" USER,
	       "PL305");
	passes(BASE "COPY app.tar /tmp/\nRUN rm /tmp/app.tar\n" USER, "PL305");

	catches(BASE "ARG NPM_TOKEN\nRUN echo \"//r/:_authToken=${NPM_TOKEN}\" > .npmrc\n" USER,
		"PL306", 3);
	passes(BASE "RUN --mount=type=secret,id=npm,env=NPM_TOKEN npm ci\n" USER, "PL306");
	passes(BASE
	       "ARG NPM_TOKEN\nRUN --mount=type=secret,id=npm,env=NPM_TOKEN echo $NPM_TOKEN\n" USER,
	       "PL306");
}

/* ---- PL4xx --------------------------------------------------------------- */

static const char catalog[] = "bases:\n"
			      "  allow:\n"
			      "    - debian:12*\n"
			      "    - registry.example/base/**\n"
			      "  ban:\n"
			      "    - image: debian:12.1*\n"
			      "      reason: CVE-2023-0001 in glibc\n"
			      "  rewrite:\n"
			      "    - id: pin-debian\n"
			      "      match: debian:12\n"
			      "      pin: " DIGEST "\n"
			      "      reason: reproducible builds\n";

static void test_supply_rules(void **state)
{
	(void)state;
	catches(BASE "ADD https://example.org/tool.tgz /opt/\n" USER, "PL401", 2);
	passes(BASE "ADD --checksum=sha256:"
		    "abcd https://example.org/tool.tgz /opt/\n" USER,
	       "PL401");

	catches(BASE "RUN curl -fsSL https://example.org/install.sh | sh\n" USER, "PL402", 2);
	catches(BASE "RUN wget -qO- https://example.org/i | sudo bash -s --\n" USER, "PL402", 2);
	catches(BASE "RUN sh -c \"$(curl -fsSL https://example.org/install.sh)\"\n" USER, "PL402",
		2);
	catches(BASE "RUN bash <(curl -s https://example.org/i)\n" USER, "PL402", 2);
	passes(BASE
	       "RUN curl -fsSLo i.sh https://example.org/i && sha256sum -c i.sha && sh i.sh\n" USER,
	       "PL402");

	catches(BASE "RUN apt-get update && apt-get -y upgrade\n" USER, "PL403", 2);
	catches(BASE "RUN apk upgrade --no-cache\n" USER, "PL403", 2);
	catches(BASE "RUN dnf -y update && dnf clean all\n" USER, "PL403", 2);
	passes(BASE "RUN dnf -y update openssl && apt-get install -y --only-upgrade x=1\n" USER,
	       "PL403");

	struct setup pol = {.policy = catalog};
	expect_s(&pol, "FROM debian:11@" DIGEST "\n" USER, "PL404", 1);
	expect_s(&pol, "FROM registry.example/other/x:1@" DIGEST "\n" USER, "PL404", 1);
	expect_s(&pol, "FROM debian:12.4@" DIGEST "\n" USER, "PL404", -1);
	expect_s(&pol,
		 "FROM debian:12@" DIGEST " AS b\nFROM registry.example/base/jre:21@" DIGEST
		 "\nCOPY --from=alpine:3 /x /y\n" USER,
		 "PL404", 3);
	expect_s(&pol, "FROM debian:12.1-slim@" DIGEST "\n" USER, "PL405", 1);
	expect_s(&pol, "FROM debian:12.2@" DIGEST "\n" USER, "PL405", -1);

	catches("FROM debian:12\n" USER, "PL406", 1);
	catches(BASE "RUN --mount=type=bind,from=alpine:3,target=/x true\n" USER, "PL406", 2);
	passes(BASE USER, "PL406");
	/* require-digest makes it an error */
	struct setup req = {.policy = "bases:\n  require-digest: true\n"};
	struct lint_result r = lint_with(&req, "FROM debian:12\n" USER);
	assert_int_equal(find(&r, "PL406")->severity, LINT_ERROR);
	lint_result_release(&r);

	struct setup trusted = {.config = "trusted-registries: [registry.example]\n"};
	expect_s(&trusted, BASE USER, "PL407", 1);
	expect_s(&trusted, "FROM registry.example/base/x:1@" DIGEST "\n" USER, "PL407", -1);

	expect_s(&pol, "FROM debian:12\n" USER, "PL408", 1);
	r = lint_with(&pol, "FROM debian:12\n" USER);
	assert_string_equal(find(&r, "PL408")->message,
			    "the policy rewrites debian:12 to debian:12@" DIGEST
			    " (rule \"pin-debian\": reproducible builds): run petra rebase");
	lint_result_release(&r);
	expect_s(&pol, BASE USER, "PL408", -1);
	/* global ARGs resolve FROM lines */
	expect_s(&pol, "ARG BASE=debian:11\nFROM ${BASE}@" DIGEST "\n" USER, "PL404", 2);
}

/* ---- pragmas, config, ShellCheck --------------------------------------------- */

static void test_pragmas(void **state)
{
	(void)state;
	const char *src = BASE "# petra ignore=PL102\n"
			       "RUN cd /x && make\n"
			       "RUN cd /y && make\n" USER;
	struct lint_result r = lint_with(&plain, src);
	const struct lint_finding *f = find(&r, "PL102");
	assert_non_null(f);
	assert_int_equal(f->line, 4);
	lint_result_release(&r);
	passes(BASE "# some words\n# petra ignore=PL117, PL102\nRUN cd /x\n"
		    "# petra ignore=PL117,PL102\nRUN cd /y\n" USER,
	       "PL102");
	passes(BASE "RUN cd /x\n# petra global ignore=PL102\nRUN cd /y\n" USER, "PL102");
	passes(BASE "RUN cd /x\n" USER "# petra global ignore=PL102\n", "PL102");
	/* a pragma applies to the next instruction only */
	catches(BASE "# petra ignore=PL102\nRUN true\nRUN cd /y\n" USER, "PL102", 4);
	/* an ID that is a prefix of another is not it */
	catches(BASE "# petra ignore=PL10\nRUN cd /y\n" USER, "PL102", 3);
}

static void test_config(void **state)
{
	(void)state;
	struct setup s = {.config = "ignore: [PL102]\n"
				    "severity:\n"
				    "  PL117: error\n"
				    "  PL103: none\n"
				    "failure-threshold: info\n"
				    "shellcheck: false\n"};
	struct lint_result r = lint_with(&s, BASE "RUN cd /x\nRUN sudo y\n" USER);
	assert_null(find(&r, "PL102"));
	assert_null(find(&r, "PL103"));
	assert_int_equal(find(&r, "PL117")->severity, LINT_ERROR);
	lint_result_release(&r);

	struct lint_config c;
	struct petra_error *err = NULL;
	const char *yaml = "failure-threshold: none\ntrusted-registries: [a.example]\n";
	assert_int_equal(lint_config_parse(yaml, strlen(yaml), "c.yaml", &c, &err), 0);
	assert_int_equal(c.threshold, LINT_NEVER);
	assert_string_equal(c.trusted_registries.v[0], "a.example");
	lint_config_release(&c);

	struct {
		const char *yaml, *message;
	} bad[] = {
	    {"ignor: [PL101]\n", "lint config: c.yaml:1:1: config: unknown key \"ignor\" (known: "
				 "ignore, severity, trusted-registries, label-schema, "
				 "failure-threshold, shellcheck)"},
	    {"ignore: [PL999]\n", "lint config: c.yaml:1:10: unknown rule \"PL999\" (petra's are "
				  "PL001-PL4xx, ShellCheck's SCnnnn)"},
	    {"severity:\n  PL101: loud\n",
	     "lint config: c.yaml:2:3: severity of PL101: error, warning, info, style or none"},
	    {"failure-threshold: 3\n",
	     "lint config: c.yaml:1:1: failure-threshold: error, warning, info, style or none"},
	    {"label-schema:\n  a.b: color\n", "lint config: c.yaml:2:3: label-schema: the type of "
					      "a.b is text, url, rfc3339, semver, hash, spdx or "
					      "email"},
	    {"shellcheck: maybe\n",
	     "lint config: c.yaml:1:1: shellcheck: must be true or false, not a string"},
	    {"ignore: PL101\n",
	     "lint config: c.yaml:1:1: ignore: must be a sequence, not a string"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(
		    lint_config_parse(bad[i].yaml, strlen(bad[i].yaml), "c.yaml", &c, &err) < 0);
		assert_string_equal(err->message, bad[i].message);
		petra_error_free(err);
		err = NULL;
	}
}

static void test_shellcheck(void **state)
{
	(void)state;
	struct setup s = {.shellcheck = true};
	const char *src = BASE "ARG version\n"
			       "RUN for f in $(ls *.txt); do \\\n"
			       "# a comment Docker drops\n"
			       "      echo $f; done && echo \"$version\"\n"
			       "SHELL [\"/bin/bash\", \"-c\"]\n"
			       "RUN [[ $x == 1 ]] && echo ok\n"
			       "RUN [\"sh\", \"-c\", \"echo $y\"]\n" USER;
	struct lint_result r = lint_with(&s, src);
	if (r.notes.n)
		fail_msg("ShellCheck did not run: %s", r.notes.v[0]);
	const struct lint_finding *f = find(&r, "SC2045");
	assert_non_null(f);
	assert_int_equal(f->line, 3);
	assert_int_equal(f->col, 14);
	f = find(&r, "SC2086");
	assert_non_null(f);
	assert_int_equal(f->line, 5);
	assert_int_equal(f->col, 12);
	/* "version" comes from ARG: not "referenced but not assigned"; x is */
	for (size_t i = 0; i < r.n_findings; i++)
		if (!strcmp(r.findings[i].rule, "SC2154"))
			assert_true(!strncmp(r.findings[i].message, "x is referenced", 15));
	assert_non_null(find(&r, "SC2154"));
	/* bash's [[ ]] is fine under SHELL bash */
	assert_null(find(&r, "SC3010"));
	lint_result_release(&r);

	/* the config switches rules and ShellCheck itself */
	struct setup cfg = {.shellcheck = true, .config = "severity: {SC2086: error}\n"};
	r = lint_with(&cfg, BASE "RUN echo $1\n" USER);
	assert_int_equal(find(&r, "SC2086")->severity, LINT_ERROR);
	lint_result_release(&r);
	struct setup off = {.shellcheck = true, .config = "shellcheck: false\n"};
	expect_s(&off, BASE "RUN echo $1\n" USER, "SC2086", -1);
	/* a missing ShellCheck is a note, not an error */
	struct lint_options opts = {.shellcheck = true, .shellcheck_path = "/nonexistent/sc"};
	struct lint_linter *l = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(lint_new(&opts, &l, &err), 0);
	const char *df = BASE "RUN echo $1\n" USER;
	assert_int_equal(lint_buffer(l, df, strlen(df), "Dockerfile", &r, &err), 0);
	assert_int_equal(r.notes.n, 1);
	assert_non_null(strstr(r.notes.v[0], "shellcheck is not installed"));
	assert_null(find(&r, "SC2086"));
	lint_result_release(&r);
	lint_free(l);
}

/* ---- reports ----------------------------------------------------------------- */

static struct lint_result sample(void)
{
	return lint_with(&plain, "FROM debian:12\nRUN cd /x && echo \"<&>\"\nCMD run\n");
}

static void test_report_text_json(void **state)
{
	(void)state;
	struct lint_result r = sample();
	struct strbuf sb = STRBUF_INIT;
	lint_report_text(&r, &sb);
	assert_non_null(strstr(sb.buf, "Dockerfile:1:6 PL406 warning debian:12 is not pinned"));
	assert_non_null(strstr(sb.buf, "\nDockerfile:2:1 PL102 warning cd in RUN"));
	strbuf_release(&sb);

	json_t *j = lint_report_json(&r);
	assert_int_equal(json_array_size(j), r.n_findings);
	json_t *first = json_array_get(j, 0);
	assert_string_equal(json_get_string(first, "file"), "Dockerfile");
	assert_string_equal(json_get_string(first, "rule"), r.findings[0].rule);
	assert_string_equal(json_get_string(first, "severity"), "warning");
	assert_int_equal(json_get_int(first, "line", 0), 1);
	json_decref(j);
	lint_result_release(&r);
}

/* The parts of SARIF 2.1.0 a consumer needs, as its schema requires them. */
static void assert_sarif_shape(const json_t *log)
{
	assert_string_equal(json_get_string(log, "version"), "2.1.0");
	assert_non_null(strstr(json_get_string(log, "$schema"), "sarif-2.1.0"));
	const json_t *runs = json_object_get(log, "runs");
	assert_true(json_is_array(runs) && json_array_size(runs) == 1);
	const json_t *run = json_array_get(runs, 0);
	const json_t *driver = json_object_get(json_object_get(run, "tool"), "driver");
	assert_string_equal(json_get_string(driver, "name"), "petra");
	const json_t *rules = json_object_get(driver, "rules");
	assert_true(json_is_array(rules));
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
	{
		assert_non_null(json_get_string(rule, "id"));
		assert_non_null(json_get_string(json_object_get(rule, "shortDescription"), "text"));
	}
	const json_t *results = json_object_get(run, "results");
	assert_true(json_is_array(results));
	json_t *res;
	json_array_foreach(results, i, res)
	{
		const char *id = json_get_string(res, "ruleId");
		assert_non_null(id);
		json_int_t index = json_get_int(res, "ruleIndex", -1);
		assert_true(index >= 0 && (size_t)index < json_array_size(rules));
		assert_string_equal(json_get_string(json_array_get(rules, (size_t)index), "id"),
				    id);
		const char *level = json_get_string(res, "level");
		assert_true(!strcmp(level, "error") || !strcmp(level, "warning") ||
			    !strcmp(level, "note") || !strcmp(level, "none"));
		assert_non_null(json_get_string(json_object_get(res, "message"), "text"));
		const json_t *locs = json_object_get(res, "locations");
		assert_true(json_is_array(locs) && json_array_size(locs) >= 1);
		const json_t *phys = json_object_get(json_array_get(locs, 0), "physicalLocation");
		assert_non_null(json_get_string(json_object_get(phys, "artifactLocation"), "uri"));
		const json_t *region = json_object_get(phys, "region");
		assert_true(json_get_int(region, "startLine", 0) >= 1);
		assert_true(json_get_int(region, "startColumn", 0) >= 1);
		assert_true(json_get_int(region, "endLine", 0) >=
			    json_get_int(region, "startLine", 0));
	}
}

/* What a reporter writes for these results. Caller frees. */
static char *reported(enum lint_format format, const struct lint_result *rs, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct lint_reporter *rp = lint_reporter_new(format, f);
	for (size_t i = 0; i < n; i++)
		lint_reporter_add(rp, &rs[i]);
	assert_int_equal(lint_reporter_finish(rp), 0);
	fclose(f);
	return buf;
}

static json_t *parsed(char *text)
{
	struct petra_error *err = NULL;
	json_t *j = json_parse_buffer(text, strlen(text), "report", &err);
	if (!j)
		fail_msg("%s\n%s", err->message, text);
	free(text);
	return j;
}

static void test_reporter_streams(void **state)
{
	(void)state;
	struct lint_result rs[3] = {sample(), {.file = xstrdup("empty")}, sample()};
	/* a ShellCheck finding: its rule joins the driver's after the results */
	free(rs[2].findings[0].message);
	rs[2].findings[0].message = xstrdup("Double quote");
	snprintf(rs[2].findings[0].rule, sizeof(rs[2].findings[0].rule), "SC2086");
	size_t total = rs[0].n_findings + rs[2].n_findings;

	json_t *j = parsed(reported(LINT_FORMAT_JSON, rs, 3));
	assert_int_equal(json_array_size(j), total);
	assert_string_equal(json_get_string(json_array_get(j, total - 1), "file"), "Dockerfile");
	json_decref(j);
	j = parsed(reported(LINT_FORMAT_JSON, &rs[1], 1));
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);

	json_t *log = parsed(reported(LINT_FORMAT_SARIF, rs, 3));
	assert_sarif_shape(log);
	const json_t *run = json_array_get(json_object_get(log, "runs"), 0);
	assert_int_equal(json_array_size(json_object_get(run, "results")), total);
	const json_t *rules =
	    json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	size_t n;
	lint_rules(&n);
	assert_int_equal(json_array_size(rules), n + 1);
	assert_string_equal(json_get_string(json_array_get(rules, n), "helpUri"),
			    "https://www.shellcheck.net/wiki/SC2086");
	json_decref(log);
	log = parsed(reported(LINT_FORMAT_SARIF, &rs[1], 1));
	assert_sarif_shape(log);
	json_decref(log);
	for (size_t i = 0; i < 3; i++)
		lint_result_release(&rs[i]);
}

static void test_report_sarif(void **state)
{
	(void)state;
	struct lint_result r = sample();
	free(r.file);
	r.file = xstrdup("dir/My Dockerfile");
	json_t *log = lint_sarif_new();
	lint_sarif_add(log, &r);
	/* ShellCheck's rules join the driver's rules when they appear */
	struct lint_result sc = {.file = xstrdup("Dockerfile")};
	sc.findings = xcalloc(1, sizeof(*sc.findings));
	sc.n_findings = 1;
	snprintf(sc.findings[0].rule, sizeof(sc.findings[0].rule), "SC2086");
	sc.findings[0].severity = LINT_INFO;
	sc.findings[0].message = xstrdup("Double quote");
	sc.findings[0].line = sc.findings[0].end_line = 4;
	lint_sarif_add(log, &sc);
	assert_sarif_shape(log);
	const json_t *run = json_array_get(json_object_get(log, "runs"), 0);
	const json_t *results = json_object_get(run, "results");
	assert_int_equal(json_array_size(results), r.n_findings + 1);
	const json_t *first = json_array_get(results, 0);
	const json_t *loc = json_object_get(json_array_get(json_object_get(first, "locations"), 0),
					    "physicalLocation");
	assert_string_equal(json_get_string(json_object_get(loc, "artifactLocation"), "uri"),
			    "dir/My%20Dockerfile");
	const json_t *last = json_array_get(results, r.n_findings);
	assert_string_equal(json_get_string(last, "ruleId"), "SC2086");
	assert_string_equal(json_get_string(last, "level"), "note");
	/* the whole log survives a round trip through text */
	char *text = json_dump_compact(log, NULL);
	struct petra_error *err = NULL;
	json_t *back = json_parse_buffer(text, strlen(text), "sarif", &err);
	assert_non_null(back);
	assert_sarif_shape(back);
	json_decref(back);
	free(text);
	json_decref(log);
	lint_result_release(&sc);
	lint_result_release(&r);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void test_report_checkstyle(void **state)
{
	(void)state;
	struct lint_result r = sample();
	/* a message with XML's special characters */
	free(r.findings[0].message);
	r.findings[0].message = xstrdup("a <b> & \"c\" 'd'");
	struct strbuf sb = STRBUF_INIT;
	lint_report_checkstyle(&r, &sb);
	assert_true(
	    starts_with(sb.buf, "<file name=\"Dockerfile\">\n<error line=\"1\" column=\"1\""));
	assert_non_null(
	    strstr(sb.buf, "message=\"a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;\""));
	assert_non_null(strstr(sb.buf, "source=\"petra.PL102\"/>"));
	assert_non_null(strstr(sb.buf, "</file>\n"));
	strbuf_release(&sb);

	/* the reporter wraps files in one document */
	char *path = xstrdup("/tmp/petra-lint-report.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w+");
	struct lint_reporter *rp = lint_reporter_new(LINT_FORMAT_CHECKSTYLE, f);
	lint_reporter_add(rp, &r);
	lint_reporter_add(rp, &r);
	assert_int_equal(lint_reporter_finish(rp), 0);
	rewind(f);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	assert_true(starts_with(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle"));
	assert_non_null(strstr(strstr(buf, "</file>") + 1, "</file>\n</checkstyle>\n"));
	fclose(f);
	unlink(path);
	free(path);
	lint_result_release(&r);
}

/* ---- the corpus ----------------------------------------------------------- */

static void test_corpus(void **state)
{
	(void)state;
	const char *dir = TEST_DATA_DIR "/dockerfiles";
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct lint_options opts = {0};
	struct lint_linter *l = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(lint_new(&opts, &l, &err), 0);
	unsigned files = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 11 || strcmp(e->d_name + n - 11, ".Dockerfile"))
			continue;
		char *path = path_join(dir, e->d_name);
		struct lint_result r;
		assert_int_equal(lint_file(l, AT_FDCWD, path, &r, &err), 0);
		/* the corpus parses: no PL001 */
		assert_null(find(&r, "PL001"));
		lint_result_release(&r);
		free(path);
		files++;
	}
	closedir(d);
	lint_free(l);
	assert_true(files >= 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_table),
	    cmocka_unit_test(test_parse_error),
	    cmocka_unit_test(test_hygiene_rules),
	    cmocka_unit_test(test_label_rules),
	    cmocka_unit_test(test_runtime_rules),
	    cmocka_unit_test(test_secret_rules),
	    cmocka_unit_test(test_supply_rules),
	    cmocka_unit_test(test_pragmas),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_shellcheck),
	    cmocka_unit_test(test_report_text_json),
	    cmocka_unit_test(test_report_sarif),
	    cmocka_unit_test(test_report_checkstyle),
	    cmocka_unit_test(test_reporter_streams),
	    cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
