/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/dockerfile: the parser, the dump, the checks, the
 * word expander and ARG/ENV scoping, and the corpus of Dockerfiles in
 * tests/data/dockerfiles with their expected dumps. */
#include "testutil.h"

#include <dirent.h>

#include "dockerfile/dockerfile.h"

static struct dockerfile *parse_flags(const char *src, unsigned flags)
{
	struct dockerfile_parse_opts opts = {.flags = flags};
	struct dockerfile *df = NULL;
	struct petra_error *err = NULL;
	if (dockerfile_parse(src, strlen(src), &opts, &df, &err) < 0)
		fail_msg("parse failed: %s\n--- input:\n%s", err->message, src);
	return df;
}

static struct dockerfile *parse(const char *src)
{
	return parse_flags(src, 0);
}

/* The dump of src, for comparing with BuildKit's. */
static char *dump_flags(const char *src, unsigned flags)
{
	struct dockerfile *df = parse_flags(src, flags);
	struct strbuf sb = STRBUF_INIT;
	dockerfile_dump(df, &sb);
	dockerfile_free(df);
	return strbuf_detach(&sb);
}

#define assert_dump(src, expected)                                                                 \
	do {                                                                                       \
		char *_d = dump_flags((src), 0);                                                   \
		assert_string_equal(_d, (expected));                                               \
		free(_d);                                                                          \
	} while (0)

#define assert_raw_dump(src, expected)                                                             \
	do {                                                                                       \
		char *_d = dump_flags((src), DOCKERFILE_PARSE_RAW);                                \
		assert_string_equal(_d, (expected));                                               \
		free(_d);                                                                          \
	} while (0)

/* Parsing src fails on `line` with a message containing needle. */
static void assert_parse_error_n(const char *src, size_t len, unsigned flags, unsigned line,
				 const char *needle)
{
	struct dockerfile_parse_opts opts = {.flags = flags};
	struct dockerfile *df = NULL;
	struct petra_error *err = NULL;
	int r = dockerfile_parse(src, len, &opts, &df, &err);
	if (r == 0)
		fail_msg("expected an error containing \"%s\", parse succeeded", needle);
	assert_null(df);
	assert_error_contains(err, needle);
	if (opts.error_line != line)
		fail_msg("error \"%s\" on line %u, expected %u", err->message, opts.error_line,
			 line);
	/* One line, naming the file and the line. */
	assert_null(strchr(err->message, '\n'));
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "Dockerfile:%u: ", line);
	if (strncmp(err->message, prefix, strlen(prefix)))
		fail_msg("error \"%s\" does not start with \"%s\"", err->message, prefix);
	petra_error_free(err);
}

static void assert_parse_error(const char *src, unsigned line, const char *needle)
{
	assert_parse_error_n(src, strlen(src), 0, line, needle);
}

/* ---- directives ---- */

static void test_directives(void **state)
{
	(void)state;
	struct dockerfile *df = parse("# syntax=docker/dockerfile:1.7\n"
				      "#  ESCAPE = `\n"
				      "# check=skip=JSONArgsRecommended;error=true\n"
				      "FROM scratch\n"
				      "RUN a `\n"
				      "  b\n");
	assert_int_equal(df->escape, '`');
	assert_int_equal(df->n_directives, 3);
	assert_string_equal(df->directives[0].name, "syntax");
	assert_string_equal(df->directives[0].value, "docker/dockerfile:1.7");
	assert_string_equal(df->directives[1].name, "escape");
	assert_string_equal(df->directives[1].value, "`");
	assert_int_equal(df->directives[1].line, 2);
	assert_string_equal(df->directives[2].name, "check");
	assert_string_equal(df->directives[2].value, "skip=JSONArgsRecommended;error=true");
	/* Directives are not comments. */
	assert_int_equal(df->n_comments, 0);
	assert_string_equal(df->instructions[1].args[0].text, "a   b");
	dockerfile_free(df);

	/* After another comment, a blank line or an instruction, a directive
	 * is an ordinary comment. */
	df = parse("# hello\n# escape=`\nFROM scratch\n");
	assert_int_equal(df->escape, '\\');
	assert_int_equal(df->n_directives, 0);
	assert_int_equal(df->n_comments, 2);
	dockerfile_free(df);
	df = parse("\n# escape=`\nFROM scratch\n");
	assert_int_equal(df->escape, '\\');
	dockerfile_free(df);
	df = parse("FROM scratch\n# escape=`\nRUN x\n");
	assert_int_equal(df->escape, '\\');
	assert_int_equal(df->instructions[1].n_comments, 1);
	dockerfile_free(df);
	/* An unknown directive ends the directives too. */
	df = parse("# foo=bar\n# escape=`\nFROM scratch\n");
	assert_int_equal(df->escape, '\\');
	dockerfile_free(df);
	/* Leading whitespace and a byte-order mark do not matter. */
	df = parse("\xEF\xBB\xBF  # escape=`\nFROM scratch\n");
	assert_int_equal(df->escape, '`');
	dockerfile_free(df);

	assert_parse_error("# escape=`\n# escape=\\\nFROM scratch\n", 2,
			   "only one escape parser directive can be used");
	assert_parse_error("# escape=x\nFROM scratch\n", 1,
			   "invalid escape token 'x' does not match ` or \\");
}

/* ---- lines, continuations, comments ---- */

static void test_continuations(void **state)
{
	(void)state;
	/* Joined by removing the escape and the newline and nothing else;
	 * comments and empty lines inside are dropped. */
	assert_dump("FROM scratch\n"
		    "RUN apt-get update && \\\n"
		    "    # a comment\n"
		    "\n"
		    "    apt-get install -y curl \\   \n"
		    "\t&& rm -rf /var/lib/apt/lists/*\n",
		    "(from \"scratch\")\n"
		    "(run \"apt-get update &&     apt-get install -y curl \\t&& rm -rf "
		    "/var/lib/apt/lists/*\")\n");
	/* An escaped escape at the end does not continue. */
	assert_dump("FROM scratch\nRUN echo \\\\\nRUN b\n",
		    "(from \"scratch\")\n(run \"echo \\\\\\\\\")\n(run \"b\")\n");
	/* A trailing continuation at the end of the file. */
	assert_dump("FROM scratch\nRUN a \\", "(from \"scratch\")\n(run \"a\")\n");
	assert_dump("FROM scratch\nRUN a \\\n\n", "(from \"scratch\")\n(run \"a\")\n");
	/* CRLF line ends. */
	assert_dump("FROM scratch\r\nRUN a \\\r\n  b\r\n", "(from \"scratch\")\n(run \"a   b\")\n");
	/* Backtick escape (Windows style). */
	assert_dump("# escape=`\nFROM mcr.microsoft.com/windows/servercore\n"
		    "RUN powershell -Command `\n    Write-Host C:\\path\n",
		    "(from \"mcr.microsoft.com/windows/servercore\")\n"
		    "(run \"powershell -Command     Write-Host C:\\\\path\")\n");
	/* A lone escape line continues into the next. */
	assert_dump("\\\nFROM scratch\n", "(from \"scratch\")\n");

	struct dockerfile *df = parse("FROM scratch\nRUN a \\\n\n  b\n");
	assert_int_equal(df->n_warnings, 1);
	assert_int_equal(df->warnings[0].line, 2);
	assert_int_equal(df->instructions[1].start_line, 2);
	assert_int_equal(df->instructions[1].end_line, 4);
	dockerfile_free(df);
}

static void test_keywords_any_case(void **state)
{
	(void)state;
	assert_dump("from scratch\nRuN echo\n  wOrKdIr /x\ncopy . .\n",
		    "(from \"scratch\")\n(run \"echo\")\n(workdir \"/x\")\n(copy \".\" \".\")\n");
	struct dockerfile *df = parse("from scratch\nRuN echo\n");
	assert_int_equal(df->instructions[1].kind, DOCKERFILE_RUN);
	assert_string_equal(df->instructions[1].keyword, "run");
	dockerfile_free(df);
}

static void test_comments_and_positions(void **state)
{
	(void)state;
	const char *src = "# base image\n"
			  "FROM alpine:3.20 AS Build\n"
			  "\n"
			  "# petra ignore=DL3018\n"
			  "# second\n"
			  "  RUN apk add \\\n"
			  "    # inside\n"
			  "    curl\n"
			  "COPY --from=build /a /b\n";
	struct dockerfile *df = parse(src);
	assert_int_equal(df->n_instructions, 3);
	assert_int_equal(df->n_comments, 4);
	const struct dockerfile_instruction *from = &df->instructions[0];
	assert_int_equal(from->n_comments, 1);
	assert_string_equal(df->comments[from->first_comment].text, "base image");
	const struct dockerfile_instruction *run = &df->instructions[1];
	assert_int_equal(run->n_comments, 2);
	assert_string_equal(df->comments[run->first_comment].text, "petra ignore=DL3018");
	assert_int_equal(df->comments[run->first_comment].line, 4);
	assert_string_equal(df->comments[run->first_comment + 1].text, "second");
	assert_true(df->comments[3].in_continuation);
	assert_int_equal(run->start_line, 6);
	assert_int_equal(run->end_line, 8);
	assert_int_equal(run->col, 3);
	/* The span covers the instruction's source, byte for byte. */
	assert_int_equal(src[run->start], 'R');
	assert_memory_equal(src + run->end - 4, "curl", 4);
	/* The FROM image word: rebase rewrites exactly these bytes. */
	const struct dockerfile_word *img = &from->args[0];
	assert_int_equal(img->end - img->start, img->len);
	assert_memory_equal(src + img->start, "alpine:3.20", img->len);
	unsigned line, col;
	dockerfile_position(df, img->start, &line, &col);
	assert_int_equal(line, 2);
	assert_int_equal(col, 6);
	/* Flags too (COPY --from=image). */
	const struct dockerfile_word *fl = &df->instructions[2].flags[0];
	assert_memory_equal(src + fl->start, "--from=build", fl->end - fl->start);
	/* Stages: the name lower-cased, the base unexpanded. */
	assert_int_equal(df->n_stages, 1);
	assert_string_equal(df->stages[0].name, "build");
	assert_string_equal(df->stages[0].base->text, "alpine:3.20");
	assert_int_equal(df->instructions[2].stage, 0);
	dockerfile_free(df);

	/* A word split by a continuation maps to the whole source range. */
	src = "FROM alpine:\\\n3.20\n";
	df = parse(src);
	img = &df->instructions[0].args[0];
	assert_string_equal(img->text, "alpine:3.20");
	assert_int_equal(img->start, 5);
	assert_int_equal(img->end, strlen(src) - 1);
	dockerfile_free(df);
}

/* ---- argument forms ---- */

static void test_exec_and_shell_form(void **state)
{
	(void)state;
	assert_dump("FROM scratch\n"
		    "CMD [\"/bin/sh\", \"-c\", \"echo \\\"hi\\\"\"]\n"
		    "CMD []\n"
		    "ENTRYPOINT [ \"a\" ,\"\\u00e9\\ud83d\\ude00\\n\" ]\n"
		    "RUN [\"a\", ]\n"
		    "RUN [\"unterminated\n"
		    "CMD echo [\"not json\"]\n"
		    "SHELL [\"powershell\", \"-Command\"]\n",
		    "(from \"scratch\")\n"
		    "(cmd \"/bin/sh\" \"-c\" \"echo \\\"hi\\\"\")\n"
		    "(cmd)\n"
		    "(entrypoint \"a\" \"é😀\\n\")\n"
		    "(run \"[\\\"a\\\", ]\")\n"
		    "(run \"[\\\"unterminated\")\n"
		    "(cmd \"echo [\\\"not json\\\"]\")\n"
		    "(shell \"powershell\" \"-Command\")\n");
	struct dockerfile *df = parse("FROM scratch\nCMD [\"a\"]\nCMD a\n");
	assert_true(df->instructions[1].json);
	assert_false(df->instructions[2].json);
	dockerfile_free(df);
	/* Valid JSON with other than strings is an error, not shell form. */
	assert_parse_error("FROM scratch\nCMD [\"a\", 1]\n", 2,
			   "arrays must be comprised of strings only");
	assert_parse_error("FROM scratch\nRUN [[\"a\"]]\n", 2, "comprised of strings only");
	assert_parse_error(
	    "FROM scratch\nCMD [\"a\", {\"k\": [1.5e3, true, null, {}], \"l\": []}]\n", 2,
	    "comprised of strings only");
	/* Not JSON at all (a bare key, a trailing comma in an object). */
	assert_dump("FROM scratch\nCMD [\"a\", {k: 1}]\nCMD [{\"k\": 1,}]\n",
		    "(from \"scratch\")\n(cmd \"[\\\"a\\\", {k: 1}]\")\n"
		    "(cmd \"[{\\\"k\\\": 1,}]\")\n");
	/* A number too big for a float64 makes Go's decoder fail: shell form. */
	assert_dump("FROM scratch\nCMD [\"a\", 1e999]\n",
		    "(from \"scratch\")\n(cmd \"[\\\"a\\\", 1e999]\")\n");
	/* COPY, ADD and VOLUME: JSON or whitespace-separated words. */
	assert_dump("FROM scratch\nCOPY [\"a b\", \"/c\"]\nADD  x\t y  /z/\nVOLUME /a /b\n"
		    "VOLUME [\"/data\"]\n",
		    "(from \"scratch\")\n(copy \"a b\" \"/c\")\n(add \"x\" \"y\" \"/z/\")\n"
		    "(volume \"/a\" \"/b\")\n(volume \"/data\")\n");
	/* USER, WORKDIR, STOPSIGNAL, MAINTAINER keep the whole rest. */
	assert_dump("FROM scratch\nMAINTAINER A B <a@b>\nSTOPSIGNAL SIGTERM\nWORKDIR /my app\n",
		    "(from \"scratch\")\n(maintainer \"A B <a@b>\")\n(stopsignal \"SIGTERM\")\n"
		    "(workdir \"/my app\")\n");
}

static void test_env_label_arg(void **state)
{
	(void)state;
	assert_dump(
	    "FROM scratch\n"
	    "ENV A=1 B=\"two words\" C='x y' D=a\\ b E=\n"
	    "ENV LEGACY value with  spaces\n"
	    "LABEL org.opencontainers.image.title=\"petra\" version=1\n"
	    "LABEL legacy value\n"
	    "ARG A B=2 C=\"q r\"\n",
	    "(from \"scratch\")\n"
	    "(env \"A\" \"1\" \"=\" \"B\" \"\\\"two words\\\"\" \"=\" \"C\" \"'x y'\" \"=\" "
	    "\"D\" \"a\\\\ b\" \"=\" \"E\" \"\" \"=\")\n"
	    "(env \"LEGACY\" \"value with  spaces\" \"\")\n"
	    "(label \"org.opencontainers.image.title\" \"\\\"petra\\\"\" \"=\" \"version\" "
	    "\"1\" \"=\")\n"
	    "(label \"legacy\" \"value\" \"\")\n"
	    "(arg \"A\" \"B=2\" \"C=\\\"q r\\\"\")\n");
	/* Key and value spans point into the source. */
	const char *src = "FROM scratch\nENV PATH=/usr/bin NAME=x\n";
	struct dockerfile *df = parse(src);
	const struct dockerfile_instruction *env = &df->instructions[1];
	assert_int_equal(env->n_args, 6);
	assert_memory_equal(src + env->args[0].start, "PATH", 4);
	assert_memory_equal(src + env->args[1].start, "/usr/bin", 8);
	assert_int_equal(env->args[1].end - env->args[1].start, 8);
	dockerfile_free(df);

	assert_parse_error("FROM scratch\nENV NAME\n", 2, "ENV must have two arguments");
	assert_parse_error("FROM scratch\nLABEL only\n", 2, "LABEL must have two arguments");
	assert_parse_error("FROM scratch\nENV A=1 B\n", 2,
			   "Syntax error - can't find = in \"B\". Must be of the form: name=value");
	assert_parse_error("FROM scratch\nENV =x\n", 2, "ENV names can not be blank");
	assert_parse_error("FROM scratch\nARG =x\n", 2, "ARG names can not be blank");
	assert_parse_error("FROM scratch\nENV\n", 2, "ENV requires at least one argument");
}

static void test_flags(void **state)
{
	(void)state;
	assert_dump("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
		    "RUN --mount=type=cache,target=/root/.cache/go-build "
		    "--mount=type=secret,id=npmrc,target=/root/.npmrc --network=none go build\n"
		    "COPY --from=build --chown=10001:10001 --chmod=0555 --link /out /app\n"
		    "COPY --link=false \"--from\" -- --weird /dst\n"
		    "ADD --checksum=sha256:abc --keep-git-dir=true https://x/y.tgz /z\n"
		    "COPY -- --notaflag /dst\n"
		    "COPY --chown=\"a b\" --chmod=\\7\\55 x y\n",
		    "(from [\"--platform=$BUILDPLATFORM\"] \"golang:1.22\" \"AS\" \"build\")\n"
		    "(run [\"--mount=type=cache,target=/root/.cache/go-build\" "
		    "\"--mount=type=secret,id=npmrc,target=/root/.npmrc\" \"--network=none\"] "
		    "\"go build\")\n"
		    "(copy [\"--from=build\" \"--chown=10001:10001\" \"--chmod=0555\" \"--link\"] "
		    "\"/out\" \"/app\")\n"
		    /* A quoted word does not start with "--": the flags end. */
		    "(copy [\"--link=false\"] \"\\\"--from\\\"\" \"--\" \"--weird\" \"/dst\")\n"
		    "(add [\"--checksum=sha256:abc\" \"--keep-git-dir=true\"] \"https://x/y.tgz\" "
		    "\"/z\")\n"
		    "(copy \"--notaflag\" \"/dst\")\n"
		    "(copy [\"--chown=a b\" \"--chmod=755\"] \"x\" \"y\")\n");
	struct dockerfile *df =
	    parse_flags("FROM scratch\nCOPY --link --from=a --from=b x y\n", DOCKERFILE_PARSE_RAW);
	assert_string_equal(dockerfile_flag(&df->instructions[1], "link"), "");
	assert_string_equal(dockerfile_flag(&df->instructions[1], "from"), "b");
	assert_null(dockerfile_flag(&df->instructions[1], "chown"));
	dockerfile_free(df);

	assert_parse_error("FROM scratch\nCOPY --form=x a b\n", 2, "unknown flag: form");
	assert_parse_error("FROM scratch\nCOPY --from a b\n", 2, "missing a value on flag: from");
	assert_parse_error("FROM scratch\nCOPY --link=maybe a b\n", 2,
			   "expecting boolean value for flag link, not: maybe");
	assert_parse_error("FROM scratch\nCOPY --from=a --from=b x y\n", 2,
			   "duplicate flag specified: from");
	assert_parse_error("FROM scratch\nWORKDIR --x=1 /a\n", 2, "unknown flag: x");
	assert_parse_error("FROM --plat=x scratch\n", 1, "unknown flag: plat");
	assert_parse_error("FROM scratch\nRUN --network=bridge x\n", 2,
			   "unsupported network mode \"bridge\"");
	assert_parse_error("FROM scratch\nRUN --security=root x\n", 2,
			   "unsupported security mode \"root\"");
	assert_parse_error("FROM scratch\nRUN --mount=type=nfs,target=/x x\n", 2,
			   "unsupported mount type \"nfs\"");
	assert_parse_error("FROM scratch\nRUN --mount=type=cache x\n", 2, "mount has no target");
	assert_parse_error("FROM scratch\nRUN --mount=type=cache,target=/x,colour=red x\n", 2,
			   "unexpected key 'colour'");
}

static void test_mount_parse(void **state)
{
	(void)state;
	struct dockerfile_mount m;
	struct petra_error *err = NULL;
	assert_int_equal(dockerfile_mount_parse("type=secret,id=aws,target=/root/.aws/credentials,"
						"required",
						&m, &err),
			 0);
	assert_int_equal(m.type, DOCKERFILE_MOUNT_SECRET);
	assert_string_equal(m.id, "aws");
	assert_string_equal(m.target, "/root/.aws/credentials");
	assert_true(m.required);
	dockerfile_mount_release(&m);
	assert_int_equal(dockerfile_mount_parse("target=/src,\"source=a,b\",rw", &m, &err), 0);
	assert_int_equal(m.type, DOCKERFILE_MOUNT_BIND);
	assert_string_equal(m.source, "a,b");
	assert_false(m.readonly);
	dockerfile_mount_release(&m);
	assert_int_equal(
	    dockerfile_mount_parse("type=cache,dst=/c,sharing=locked,mode=0700", &m, &err), 0);
	assert_false(m.readonly);
	assert_string_equal(m.sharing, "locked");
	dockerfile_mount_release(&m);
	assert_true(dockerfile_mount_parse("type=cache,target=/c,sharing=maybe", &m, &err) < 0);
	assert_error_contains(err, "unsupported sharing value \"maybe\"");
	petra_error_free(err);
	err = NULL;
	assert_true(dockerfile_mount_parse("type=bind,target=/x,ro=perhaps", &m, &err) < 0);
	assert_error_contains(err, "invalid value for ro");
	petra_error_free(err);
}

static void test_onbuild(void **state)
{
	(void)state;
	assert_dump("FROM scratch\nONBUILD RUN x\nONBUILD COPY --chown=1:1 . /app\nonbuild  "
		    "env A=1\n",
		    "(from \"scratch\")\n(onbuild (run \"x\"))\n"
		    "(onbuild (copy [\"--chown=1:1\"] \".\" \"/app\"))\n"
		    "(onbuild (env \"A\" \"1\" \"=\"))\n");
	assert_parse_error("FROM scratch\nONBUILD ONBUILD RUN x\n", 2,
			   "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	assert_parse_error("FROM scratch\nONBUILD FROM x\n", 2,
			   "FROM isn't allowed as an ONBUILD trigger");
	assert_parse_error("FROM scratch\nONBUILD MAINTAINER x\n", 2,
			   "MAINTAINER isn't allowed as an ONBUILD trigger");
	assert_parse_error("FROM scratch\nONBUILD\n", 2, "ONBUILD requires at least one argument");
	assert_parse_error("FROM scratch\nONBUILD FOO bar\n", 2, "unknown instruction: FOO");
	/* The raw parser nests, within a bound. */
	assert_raw_dump("ONBUILD ONBUILD RUN x\n", "(onbuild (onbuild (run \"x\")))\n");
	struct strbuf deep = STRBUF_INIT;
	for (int i = 0; i < 5000; i++)
		strbuf_addstr(&deep, "ONBUILD ");
	strbuf_addstr(&deep, "RUN x\n");
	assert_parse_error_n(deep.buf, deep.len, DOCKERFILE_PARSE_RAW, 1, "ONBUILD nested more");
	assert_parse_error_n(deep.buf, deep.len, 0, 1, "Chaining ONBUILD");
	strbuf_release(&deep);
}

static void test_healthcheck(void **state)
{
	(void)state;
	assert_dump("FROM scratch\n"
		    "HEALTHCHECK NONE\n"
		    "HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \\\n"
		    "  CMD curl -f http://localhost/ || exit 1\n"
		    "HEALTHCHECK CMD [\"/bin/check\", \"--quiet\"]\n",
		    "(from \"scratch\")\n(healthcheck \"NONE\")\n"
		    "(healthcheck [\"--interval=30s\" \"--timeout=3s\" \"--start-period=5s\" "
		    "\"--retries=3\"] \"CMD\" \"curl -f http://localhost/ || exit 1\")\n"
		    "(healthcheck \"CMD\" \"/bin/check\" \"--quiet\")\n");
	assert_parse_error("FROM scratch\nHEALTHCHECK NONE x\n", 2,
			   "HEALTHCHECK NONE takes no arguments");
	assert_parse_error("FROM scratch\nHEALTHCHECK CMD\n", 2,
			   "missing command after HEALTHCHECK CMD");
	assert_parse_error("FROM scratch\nHEALTHCHECK CONNECT x\n", 2,
			   "unknown type \"CONNECT\" in HEALTHCHECK");
	assert_parse_error("FROM scratch\nHEALTHCHECK --interval=5 CMD x\n", 2,
			   "--interval: invalid duration \"5\"");
	assert_parse_error("FROM scratch\nHEALTHCHECK --timeout=10us CMD x\n", 2,
			   "cannot be less than 1ms");
	assert_parse_error("FROM scratch\nHEALTHCHECK --retries=-1 CMD x\n", 2,
			   "--retries cannot be negative (-1)");
	assert_parse_error("FROM scratch\nHEALTHCHECK\n", 2, "requires at least one argument");
	struct dockerfile *df = parse("FROM scratch\nHEALTHCHECK --interval=1m30.5s --timeout=0s "
				      "--start-interval=250ms CMD true\n");
	dockerfile_free(df);
}

static void test_heredocs(void **state)
{
	(void)state;
	const char *src = "FROM debian\n"
			  "RUN <<EOF\n"
			  "apt-get update\n"
			  "apt-get install -y curl\n"
			  "EOF\n"
			  "RUN <<-'END' cat > /x && 3<<\"TWO\" cat\n"
			  "\t\tkeep $HOME literal\n"
			  "\tEND\n"
			  "second $x\n"
			  "TWO\n"
			  "COPY --chmod=0755 <<EOF /usr/local/bin/hello\n"
			  "#!/bin/sh\n"
			  "echo hello\n"
			  "EOF\n"
			  "RUN [\"sh\", \"-c\", \"cat <<EOF\"]\n"
			  "ONBUILD RUN <<X\n"
			  "x\n"
			  "X\n";
	struct dockerfile *df = parse(src);
	assert_int_equal(df->n_instructions, 6);
	const struct dockerfile_instruction *run = &df->instructions[1];
	assert_int_equal(run->n_heredocs, 1);
	assert_string_equal(run->heredocs[0].name, "EOF");
	assert_string_equal(run->heredocs[0].content, "apt-get update\napt-get install -y curl\n");
	assert_true(run->heredocs[0].expand);
	assert_false(run->heredocs[0].chomp);
	assert_int_equal(run->start_line, 2);
	assert_int_equal(run->end_line, 5);
	assert_int_equal(run->heredocs[0].start_line, 3);
	assert_int_equal(run->heredocs[0].end_line, 5);
	assert_memory_equal(src + run->end - 3, "EOF", 3);
	/* Several on one line, in order; quoted delimiters do not expand;
	 * <<- removes leading tabs. */
	run = &df->instructions[2];
	assert_int_equal(run->n_heredocs, 2);
	assert_string_equal(run->heredocs[0].name, "END");
	assert_true(run->heredocs[0].chomp);
	assert_false(run->heredocs[0].expand);
	assert_string_equal(run->heredocs[0].content, "keep $HOME literal\n");
	assert_string_equal(run->heredocs[1].name, "TWO");
	assert_int_equal(run->heredocs[1].fd, 3);
	assert_false(run->heredocs[1].expand);
	assert_string_equal(run->heredocs[1].content, "second $x\n");
	/* COPY from a heredoc. */
	const struct dockerfile_instruction *copy = &df->instructions[3];
	assert_int_equal(copy->n_heredocs, 1);
	assert_ptr_equal(dockerfile_find_heredoc(copy, "<<EOF"), &copy->heredocs[0]);
	assert_ptr_equal(dockerfile_find_heredoc(copy, "<<\"EOF\""), &copy->heredocs[0]);
	assert_null(dockerfile_find_heredoc(copy, "/usr/local/bin/hello"));
	/* Exec form has no heredocs. */
	assert_int_equal(df->instructions[4].n_heredocs, 0);
	/* ONBUILD's trigger carries its heredoc. */
	assert_int_equal(df->instructions[5].sub->n_heredocs, 1);
	assert_string_equal(df->instructions[5].sub->heredocs[0].content, "x\n");
	dockerfile_free(df);

	/* The dump shows only the line, as BuildKit's does. */
	assert_dump("FROM debian\nRUN <<EOF bash -e\nset -x\nEOF\n",
		    "(from \"debian\")\n(run \"<<EOF bash -e\")\n");
	assert_parse_error("FROM debian\nRUN <<EOF\necho hi\n", 2, "unterminated heredoc \"EOF\"");
	assert_parse_error("FROM debian\nRUN <<A <<B\na\nA\nb\n", 2, "unterminated heredoc \"B\"");
	assert_parse_error("FROM debian\nCOPY a <<EOF\nx\nEOF\n", 2,
			   "COPY cannot accept a heredoc as a destination");
	/* A line the lexer cannot split has no heredoc (as in BuildKit). */
	df = parse("FROM debian\nRUN echo \"<<EOF\nRUN next\n");
	assert_int_equal(df->n_instructions, 3);
	dockerfile_free(df);
}

/* ---- errors and bad input ---- */

static void test_errors(void **state)
{
	(void)state;
	assert_parse_error("", 1, "file with no instructions");
	assert_parse_error("# only\n\n# comments\n", 3, "file with no instructions");
	assert_parse_error("FROM scratch\nFROB x\n", 2, "unknown instruction: FROB");
	assert_parse_error("FROM scratch\n\nrun x\ncopy\n", 4,
			   "COPY requires at least two arguments");
	assert_parse_error("FROM\n", 1, "FROM requires either one or three arguments");
	assert_parse_error("FROM a b\n", 1, "FROM requires either one or three arguments");
	assert_parse_error("FROM a AS 1st\n", 1, "invalid name for build stage: \"1st\"");
	assert_parse_error("RUN x\nFROM a\n", 1, "RUN before the first FROM");
	assert_parse_error("ARG A=1\n", 1, "no FROM instruction");
	assert_parse_error("FROM a\nSHELL /bin/bash -c\n", 2,
			   "SHELL requires the arguments to be in JSON form");
	assert_parse_error("FROM a\nUSER\n", 2, "USER requires exactly one argument");
	assert_parse_error("FROM a\nEXPOSE\n", 2, "EXPOSE requires at least one argument");
	assert_parse_error("FROM a\nVOLUME [\"\"]\n", 2,
			   "VOLUME specified can not be an empty string");
	/* NUL bytes: binary input. */
	assert_parse_error_n("FROM a\nRUN \0x\n", 12, 0, 2, "NUL byte");
	/* A 10 MB line is refused at the line limit, never read as a word. */
	size_t big = 10u << 20;
	char *line = xmalloc(big + 16);
	memcpy(line, "FROM a\nRUN ", 11);
	memset(line + 11, 'x', big);
	memcpy(line + 11 + big, "\n", 2);
	assert_parse_error_n(line, big + 12, 0, 2, "line longer than the maximum of 65535 bytes");
	free(line);
	/* The longest allowed line is fine. */
	line = xmalloc(DOCKERFILE_MAX_LINE + 16);
	memcpy(line, "FROM a\nRUN ", 11);
	memset(line + 11, 'y', DOCKERFILE_MAX_LINE - 4);
	line[7 + DOCKERFILE_MAX_LINE] = '\0';
	struct dockerfile *df = parse(line);
	assert_int_equal(df->instructions[1].args[0].len, DOCKERFILE_MAX_LINE - 4);
	dockerfile_free(df);
	free(line);
	/* Too large a file. */
	struct petra_error *err = NULL;
	assert_int_equal(dockerfile_parse("x", DOCKERFILE_MAX_SIZE + 1, NULL, &df, &err), -EFBIG);
	petra_error_free(err);
	/* Unbalanced quotes are not a parse error: BuildKit keeps the text. */
	assert_dump("FROM a\nRUN echo \"unbalanced\nENV A=\"x\n",
		    "(from \"a\")\n(run \"echo \\\"unbalanced\")\n(env \"A\" \"\\\"x\" \"=\")\n");
	/* The raw parse accepts what only the checks reject. */
	assert_raw_dump("FROB x\nCOPY a\n", "(frob)\n(copy \"a\")\n");
}

/* ---- the dump's quoting ---- */

static void test_quote_go(void **state)
{
	(void)state;
	struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
	    {"plain", 5, "\"plain\""},
	    {"q\"b\\", 4, "\"q\\\"b\\\\\""},
	    {"\a\b\f\n\r\t\v", 7, "\"\\a\\b\\f\\n\\r\\t\\v\""},
	    {"\x01\x1b\x7f", 3, "\"\\x01\\x1b\\x7f\""},
	    {"\0z", 2, "\"\\x00z\""},
	    {"caf\xc3\xa9 \xe2\x82\xac", 9, "\"café €\""},
	    {"\xff\xc3", 2, "\"\\xff\\xc3\""},
	    {"\xc2\xa0", 2, "\"\\u00a0\""},             /* no-break space: not printable */
	    {"\xc2\x85", 2, "\"\\u0085\""},             /* C1 control */
	    {"\xe2\x80\x8b", 3, "\"\\u200b\""},         /* zero width space (Cf) */
	    {"\xef\xbb\xbf", 3, "\"\\ufeff\""},         /* BOM */
	    {"\xf3\xa0\x80\x81", 4, "\"\\U000e0001\""}, /* language tag */
	    {"\xf0\x9f\x90\xb3", 4, "\"🐳\""},
	    {"\xed\xa0\x80", 3, "\"\\xed\\xa0\\x80\""}, /* a surrogate is invalid UTF-8 */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		dockerfile_quote_go(&sb, cases[i].in, cases[i].len);
		assert_string_equal(sb.buf, cases[i].out);
		strbuf_release(&sb);
	}
	/* Invalid UTF-8 in a shell-form line is kept and shown as bytes. */
	assert_dump("FROM a\nRUN echo \xff\xfe\n", "(from \"a\")\n(run \"echo \\xff\\xfe\")\n");
	/* ENV words decode runes as Go does: a bad byte becomes U+FFFD. */
	assert_dump("FROM a\nENV A=\xff\n", "(from \"a\")\n(env \"A\" \"\xef\xbf\xbd\" \"=\")\n");
}

static void test_stages_and_json(void **state)
{
	(void)state;
	struct dockerfile *df = parse("ARG GO=1.22\n"
				      "FROM --platform=$BUILDPLATFORM golang:${GO} AS Builder\n"
				      "RUN go build\n"
				      "FROM gcr.io/distroless/static\n"
				      "COPY --from=builder /out /\n");
	assert_int_equal(df->n_stages, 2);
	assert_int_equal(df->instructions[0].stage, DOCKERFILE_GLOBAL);
	assert_string_equal(df->stages[0].name, "builder");
	assert_string_equal(df->stages[0].platform, "$BUILDPLATFORM");
	assert_string_equal(df->stages[0].base->text, "golang:${GO}");
	assert_int_equal(df->stages[0].from, 1);
	assert_int_equal(df->stages[0].end, 3);
	assert_null(df->stages[1].name);
	assert_int_equal(df->stages[1].end, 5);
	assert_int_equal(df->instructions[4].stage, 1);
	json_t *j = dockerfile_to_json(df);
	assert_int_equal(json_array_size(json_object_get(j, "stages")), 2);
	json_t *ins = json_array_get(json_object_get(j, "instructions"), 1);
	assert_string_equal(json_get_string(ins, "instruction"), "FROM");
	assert_int_equal(json_get_int(ins, "start_line", 0), 2);
	json_decref(j);
	dockerfile_free(df);
}

/* ---- word processing ---- */

static struct dockerfile_vars *test_vars(void)
{
	struct dockerfile_vars *v = dockerfile_vars_new();
	dockerfile_vars_set(v, "A", "apple");
	dockerfile_vars_set(v, "EMPTY", "");
	dockerfile_vars_set(v, "UNSET", NULL);
	dockerfile_vars_set(v, "SP", "a  b c");
	dockerfile_vars_set(v, "PATH", "/usr/local/bin:/usr/bin:/bin");
	dockerfile_vars_set(v, "FILE", "archive.tar.gz");
	dockerfile_vars_set(v, "été", "summer");
	return v;
}

static void expect_word(const struct dockerfile_expander *ex, const char *in, const char *out)
{
	char *res = NULL;
	struct petra_error *err = NULL;
	if (dockerfile_expand_word(ex, in, &res, &err) < 0)
		fail_msg("expand %s: %s", in, err->message);
	if (strcmp(res, out))
		fail_msg("expand \"%s\": got \"%s\", expected \"%s\"", in, res, out);
	free(res);
}

static void expect_expand_error(const struct dockerfile_expander *ex, const char *in,
				const char *needle)
{
	char *res = NULL;
	struct petra_error *err = NULL;
	if (dockerfile_expand_word(ex, in, &res, &err) == 0)
		fail_msg("expand \"%s\" gave \"%s\", expected an error", in, res);
	assert_error_contains(err, needle);
	petra_error_free(err);
}

static void test_expand_operators(void **state)
{
	(void)state;
	_cleanup_vars_ struct dockerfile_vars *v = test_vars();
	struct dockerfile_expander ex = {.escape = '\\', .vars = v};
	expect_word(&ex, "$A", "apple");
	expect_word(&ex, "${A}s", "apples");
	expect_word(&ex, "$Apie", "");
	expect_word(&ex, "$NOPE-x", "-x");
	expect_word(&ex, "a$", "a$");
	expect_word(&ex, "$1$@x", "x");
	expect_word(&ex, "$été", "summer");
	/* :- and -: unset vs empty. */
	expect_word(&ex, "${EMPTY:-d}", "d");
	expect_word(&ex, "${EMPTY-d}", "");
	expect_word(&ex, "${UNSET-d}", "d");
	expect_word(&ex, "${NOPE:-$A}", "apple");
	expect_word(&ex, "${A:-d}", "apple");
	/* :+ and +. */
	expect_word(&ex, "${A:+set}", "set");
	expect_word(&ex, "${EMPTY:+set}", "");
	expect_word(&ex, "${EMPTY+set}", "set");
	expect_word(&ex, "${UNSET+set}", "");
	/* ? and :?. */
	expect_word(&ex, "${A:?boom}", "apple");
	expect_expand_error(&ex, "${NOPE:?must be given}", "NOPE: must be given");
	expect_expand_error(&ex, "${NOPE?}", "NOPE: is not allowed to be unset");
	expect_expand_error(&ex, "${EMPTY:?}", "EMPTY: is not allowed to be empty");
	expect_word(&ex, "${EMPTY?}", "");
	/* An empty pattern matches between every two characters: nested, each
	 * level multiplies the length by six; past a megabyte it is an error,
	 * not minutes of work. */
	expect_expand_error(&ex, "${A///${A///${A///${A///${A///${A///${A///${A///${A///x}}}}}}}}}",
			    "longer than 1048576 bytes");
	expect_word(&ex, "${A///-}", "-a-p-p-l-e-");
	/* # ## % %%. */
	expect_word(&ex, "${FILE#*.}", "tar.gz");
	expect_word(&ex, "${FILE##*.}", "gz");
	expect_word(&ex, "${FILE%.*}", "archive.tar");
	expect_word(&ex, "${FILE%%.*}", "archive");
	expect_word(&ex, "${PATH#/usr/local/bin:}", "/usr/bin:/bin");
	expect_word(&ex, "${FILE#nomatch}", "archive.tar.gz");
	expect_word(&ex, "${FILE%?z}", "archive.tar.");
	expect_word(&ex, "${FILE#\\*}", "archive.tar.gz");
	/* / and //. */
	expect_word(&ex, "${PATH/bin/sbin}", "/usr/local/sbin:/usr/bin:/bin");
	expect_word(&ex, "${PATH//bin/sbin}", "/usr/local/sbin:/usr/sbin:/sbin");
	expect_word(&ex, "${FILE/.*/}", "archive");
	expect_word(&ex, "${FILE/a?c/X}", "Xhive.tar.gz");
	expect_word(&ex, "${A//p/}", "ale");
	/* Errors. */
	expect_expand_error(&ex, "${A", "missing '}'");
	expect_expand_error(&ex, "${", "missing '}'");
	expect_expand_error(&ex, "${}", "bad substitution");
	expect_expand_error(&ex, "${:x}", "bad substitution");
	expect_expand_error(&ex, "${A:x}", "unsupported modifier (:x) in substitution");
	expect_expand_error(&ex, "${A^^}", "unsupported modifier (^) in substitution");
	expect_expand_error(&ex, "${A#\\x}", "invalid escape '\\x'");
	expect_expand_error(&ex, "${A/x}", "missing '/' in ${}");
	/* Nesting is bounded. */
	struct strbuf deep = STRBUF_INIT;
	for (int i = 0; i < 200; i++)
		strbuf_addstr(&deep, "${X:-");
	for (int i = 0; i < 200; i++)
		strbuf_addch(&deep, '}');
	expect_expand_error(&ex, deep.buf, "nested deeper");
	strbuf_release(&deep);
}

static void test_expand_quotes_and_escapes(void **state)
{
	(void)state;
	_cleanup_vars_ struct dockerfile_vars *v = test_vars();
	struct dockerfile_expander ex = {.escape = '\\', .vars = v};
	expect_word(&ex, "'$A'", "$A");
	expect_word(&ex, "\"$A\"", "apple");
	expect_word(&ex, "\"a \\\"q\\\" \\$A \\n\"", "a \"q\" $A \\n");
	expect_word(&ex, "\\$A", "$A");
	expect_word(&ex, "a\\ b", "a b");
	expect_word(&ex, "x\\", "x");
	expect_word(&ex, "'it'\"'\"'s'", "it's");
	expect_expand_error(&ex, "'open", "matching single-quote");
	expect_expand_error(&ex, "\"open", "matching double-quote");
	/* The escape character follows the directive. */
	ex.escape = '`';
	expect_word(&ex, "C:\\dir`$A", "C:\\dir$A");
	expect_word(&ex, "\"`\"\"", "\"");
	ex.escape = '\\';
	/* Raw modes, as the heredoc detection uses them. */
	ex.flags = DOCKERFILE_EXPAND_RAW_QUOTES | DOCKERFILE_EXPAND_RAW_ESCAPES;
	expect_word(&ex, "'a' \"b\" c\\ d", "'a' \"b\" c\\ d");
	ex.flags = DOCKERFILE_EXPAND_SKIP_UNSET;
	expect_word(&ex, "$NOPE ${NOPE} ${NOPE:-x} ${NOPE/a/b} $A",
		    "$NOPE ${NOPE} ${NOPE:-x} "
		    "${NOPE/a/b} apple");
	ex.flags = DOCKERFILE_EXPAND_NO_QUOTES;
	expect_word(&ex, "'$A'", "'apple'");
	ex.flags = 0;

	/* Splitting into words happens after substitution, outside quotes. */
	struct strvec words = STRVEC_INIT;
	struct petra_error *err = NULL;
	assert_int_equal(dockerfile_expand_words(&ex, "x $SP \"q $SP\" '' y\\ z", &words, &err), 0);
	assert_int_equal(words.n, 6);
	assert_string_equal(words.v[0], "x");
	assert_string_equal(words.v[1], "a");
	assert_string_equal(words.v[2], "b");
	assert_string_equal(words.v[3], "c");
	assert_string_equal(words.v[4], "q a  b c");
	assert_string_equal(words.v[5], "y z");
	strvec_clear(&words);

	/* Unset names are reported (for the linter). */
	struct strset unset = STRSET_INIT;
	ex.unset = &unset;
	expect_word(&ex, "$A $MISSING ${OTHER:-x}", "apple  x");
	assert_true(strset_contains(&unset, "MISSING"));
	assert_true(strset_contains(&unset, "OTHER"));
	assert_false(strset_contains(&unset, "A"));
	strset_clear(&unset);
}

static void test_vars_map(void **state)
{
	(void)state;
	_cleanup_vars_ struct dockerfile_vars *v = dockerfile_vars_new();
	/* Many names: no quadratic blowup, order kept. */
	for (int i = 0; i < 5000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "V%d", i);
		dockerfile_vars_set(v, name, name);
	}
	dockerfile_vars_set_pair(v, "V7=changed");
	dockerfile_vars_set_pair(v, "BARE");
	assert_int_equal(dockerfile_vars_count(v), 5001);
	assert_string_equal(dockerfile_vars_get(v, "V7", NULL), "changed");
	assert_string_equal(dockerfile_vars_get(v, "BARE", NULL), "");
	const char *value;
	assert_string_equal(dockerfile_vars_at(v, 7, &value), "V7");
	bool declared;
	assert_null(dockerfile_vars_get(v, "v7", &declared));
	assert_false(declared);
}

/* Walk a Dockerfile with the scope as the builder will. */
static void test_scope(void **state)
{
	(void)state;
	struct dockerfile *df = parse("ARG REGISTRY=docker.io\n"
				      "ARG IMAGE=${REGISTRY}/library/debian\n"
				      "ARG TAG\n"
				      "ARG UNUSED_GLOBAL=1\n"
				      "FROM ${IMAGE}:${TAG:-12} AS base\n"
				      "ARG TAG\n"
				      "ARG A=one B=${A}-two\n"
				      "ENV A=env-a C=$A\n"
				      "ARG C=arg-c\n"
				      "ENV PATH=/app/bin:$PATH\n"
				      "FROM base\n"
				      "ARG REGISTRY\n"
				      "ARG VERSION\n");
	_cleanup_vars_ struct dockerfile_vars *build_args = dockerfile_vars_new();
	dockerfile_vars_set(build_args, "TAG", "bookworm");
	dockerfile_vars_set(build_args, "VERSION", "1.2.3");
	dockerfile_vars_set(build_args, "NEVER_DECLARED", "x");
	struct dockerfile_scope s;
	dockerfile_scope_init(&s, df->escape, build_args);
	_cleanup_vars_ struct dockerfile_vars *image_env = dockerfile_vars_new();
	dockerfile_vars_set(image_env, "PATH", "/usr/bin");
	struct petra_error *err = NULL;
	char *word;
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		struct dockerfile_expander ex;
		dockerfile_scope_expander(&s, in->kind, &ex);
		if (in->kind == DOCKERFILE_FROM) {
			assert_int_equal(dockerfile_expand_word(&ex, in->args[0].text, &word, &err),
					 0);
			if (i == 4)
				assert_string_equal(word, "docker.io/library/debian:bookworm");
			free(word);
		}
		assert_int_equal(dockerfile_scope_apply(&s, in, &err), 0);
		if (in->kind == DOCKERFILE_FROM)
			dockerfile_scope_image_env(&s, image_env);
		if (i == 9) {
			/* End of the first stage. */
			dockerfile_scope_expander(&s, DOCKERFILE_RUN, &ex);
			expect_word(&ex, "$TAG", "bookworm");
			expect_word(&ex, "$B", "one-two");
			/* ENV wins over ARG, before or after it. */
			expect_word(&ex, "$A", "env-a");
			expect_word(&ex, "$C", "one");
			expect_word(&ex, "$PATH", "/app/bin:/usr/bin");
			/* Globals are not visible without ARG in the stage. */
			expect_word(&ex, "${REGISTRY:-none}", "none");
		}
	}
	struct dockerfile_expander ex;
	dockerfile_scope_expander(&s, DOCKERFILE_RUN, &ex);
	/* A new stage starts afresh; a bare ARG takes the global's value. */
	expect_word(&ex, "$REGISTRY", "docker.io");
	expect_word(&ex, "$VERSION", "1.2.3");
	expect_word(&ex, "${A:-gone}", "gone");
	assert_true(strset_contains(&s.used_build_args, "TAG"));
	assert_true(strset_contains(&s.used_build_args, "VERSION"));
	assert_false(strset_contains(&s.used_build_args, "NEVER_DECLARED"));
	dockerfile_scope_release(&s);
	dockerfile_free(df);

	/* Errors from word processing name the line. */
	df = parse("FROM a\nARG X=${NOPE:?required}\n");
	dockerfile_scope_init(&s, df->escape, NULL);
	assert_int_equal(dockerfile_scope_apply(&s, &df->instructions[0], &err), 0);
	assert_true(dockerfile_scope_apply(&s, &df->instructions[1], &err) < 0);
	assert_error_contains(err, "line 2: ARG: failed to process");
	assert_error_contains(err, "NOPE: required");
	petra_error_free(err);
	dockerfile_scope_release(&s);
	dockerfile_free(df);
}

/* ---- the corpus ---- */

static char *read_text(const char *dir, const char *name, size_t *len)
{
	char *path = path_join(dir, name);
	char *data = NULL;
	struct petra_error *err = NULL;
	if (fs_read_file_at(AT_FDCWD, path, DOCKERFILE_MAX_SIZE, &data, len, &err) < 0)
		fail_msg("%s", err->message);
	free(path);
	return data;
}

static void test_corpus(void **state)
{
	(void)state;
	const char *dir = TEST_DATA_DIR "/dockerfiles";
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 12 || strcmp(e->d_name + n - 11, ".Dockerfile"))
			continue;
		size_t len, dlen;
		char *src = read_text(dir, e->d_name, &len);
		char *dump_name = xasprintf("%.*s.dump", (int)(n - 11), e->d_name);
		char *expected = read_text(dir, dump_name, &dlen);
		struct dockerfile_parse_opts opts = {.name = e->d_name};
		struct dockerfile *df = NULL;
		struct petra_error *err = NULL;
		if (dockerfile_parse(src, len, &opts, &df, &err) < 0)
			fail_msg("%s", err->message);
		struct strbuf sb = STRBUF_INIT;
		dockerfile_dump(df, &sb);
		if (strcmp(sb.buf, expected))
			fail_msg("%s: dump differs\n--- expected\n%s--- got\n%s", e->d_name,
				 expected, sb.buf);
		/* Every instruction's span starts at its keyword. */
		for (size_t i = 0; i < df->n_instructions; i++) {
			const struct dockerfile_instruction *in = &df->instructions[i];
			assert_true(in->end <= len && in->start < in->end);
			assert_true(
			    strncasecmp(src + in->start, in->keyword, strlen(in->keyword)) == 0);
		}
		strbuf_release(&sb);
		dockerfile_free(df);
		free(expected);
		free(dump_name);
		free(src);
		count++;
	}
	closedir(d);
	if (count < 50)
		fail_msg("only %zu Dockerfiles in the corpus", count);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_directives),
	    cmocka_unit_test(test_continuations),
	    cmocka_unit_test(test_keywords_any_case),
	    cmocka_unit_test(test_comments_and_positions),
	    cmocka_unit_test(test_exec_and_shell_form),
	    cmocka_unit_test(test_env_label_arg),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_mount_parse),
	    cmocka_unit_test(test_onbuild),
	    cmocka_unit_test(test_healthcheck),
	    cmocka_unit_test(test_heredocs),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_quote_go),
	    cmocka_unit_test(test_stages_and_json),
	    cmocka_unit_test(test_expand_operators),
	    cmocka_unit_test(test_expand_quotes_and_escapes),
	    cmocka_unit_test(test_vars_map),
	    cmocka_unit_test(test_scope),
	    cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests_name("dockerfile", tests, NULL, NULL);
}
