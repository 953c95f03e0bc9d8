#!/usr/bin/env bats
# petra parse: BuildKit's dump, the JSON tree, and errors on bad input
# (one line with the line number, status 1, never a crash).

load helpers

CORPUS="$BATS_TEST_DIRNAME/../data/dockerfiles"

@test "parse --help" {
	run petra parse --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: petra parse"* ]]
	run petra parse
	[ "$status" -eq 2 ]
	[[ "$output" == *"expects one FILE"* ]]
}

@test "parse --dump prints BuildKit's dump of every corpus file" {
	for f in "$CORPUS"/*.Dockerfile; do
		run petra parse --dump "$f"
		[ "$status" -eq 0 ]
		[ "$output" = "$(cat "${f%.Dockerfile}.dump")" ]
	done
}

@test "parse --dump reads standard input" {
	run petra parse --dump - <<'DOCKERFILE'
# escape=`
FROM alpine AS Build
RUN echo a `
    b
ONBUILD RUN make
CMD []
DOCKERFILE
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '(from "alpine" "AS" "Build")' ]
	[ "${lines[1]}" = '(run "echo a     b")' ]
	[ "${lines[2]}" = '(onbuild (run "make"))' ]
	[ "${lines[3]}" = '(cmd)' ]
}

@test "parse --format json gives lines, stages and heredocs" {
	run petra parse --format json "$CORPUS/heredoc-scripts.Dockerfile"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.directives.syntax')" = "docker/dockerfile:1" ]
	[ "$(echo "$output" | jq -r '.instructions[1].start_line')" = "3" ]
	[ "$(echo "$output" | jq -r '.instructions[1].end_line')" = "7" ]
	[ "$(echo "$output" | jq -r '.instructions[1].heredocs[0].content')" = "$(printf 'set -e\napk add --no-cache curl\nadduser -D -u 10001 app')" ]
	[ "$(echo "$output" | jq -r '.instructions[2].heredocs[0].expand')" = "false" ]
	run petra parse --format json "$CORPUS/rust-musl.Dockerfile"
	[ "$(echo "$output" | jq -r '[.stages[].name] | join(",")')" = "chef,planner,builder," ]
}

@test "the text listing shows lines and stages" {
	run petra parse "$CORPUS/node-app.Dockerfile"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "stage 0 deps: FROM node:20-alpine, line 1, 4 instructions" ]]
	[[ "$output" == *'7-8       1  env "NODE_ENV" "production" "=" "PORT" "3000" "="'* ]]
}

@test "errors name the file and line and exit 1" {
	printf 'FROM alpine\n\nENV NAME\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run petra parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "petra: $BATS_TEST_TMPDIR/Dockerfile:3: ENV must have two arguments" ]

	printf 'FROM alpine\nRUN <<EOF\necho never ends\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run petra parse --dump "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Dockerfile:2: unterminated heredoc \"EOF\"" ]]

	printf 'FROM alpine\nFROBNICATE x\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run petra parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Dockerfile:2: unknown instruction: FROBNICATE" ]]

	: >"$BATS_TEST_TMPDIR/empty"
	run petra parse "$BATS_TEST_TMPDIR/empty"
	[ "$status" -eq 1 ]
	[[ "$output" == *"empty:1: file with no instructions" ]]

	printf '# just\n# comments\n' >"$BATS_TEST_TMPDIR/comments"
	run petra parse "$BATS_TEST_TMPDIR/comments"
	[ "$status" -eq 1 ]
	[[ "$output" == *"comments:2: file with no instructions" ]]

	run petra parse "$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: "*"missing"* ]]
}

@test "--raw accepts what only BuildKit's instruction checks reject" {
	printf 'FROM alpine\nFROBNICATE x\nCOPY one\nONBUILD ONBUILD RUN x\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run petra parse --dump "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 1 ]
	run petra parse --dump --raw "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '(from "alpine")\n(frobnicate)\n(copy "one")\n(onbuild (onbuild (run "x")))')" ]
}

@test "bad input is an error, never a crash" {
	# A binary file.
	head -c 65536 /bin/busybox >"$BATS_TEST_TMPDIR/binary"
	run petra parse --dump "$BATS_TEST_TMPDIR/binary"
	[ "$status" -eq 1 ]
	[[ "$output" == *"NUL byte: not a text file"* ]]

	# NUL bytes in an otherwise fine file.
	printf 'FROM alpine\nRUN echo \000\n' >"$BATS_TEST_TMPDIR/nul"
	run petra parse "$BATS_TEST_TMPDIR/nul"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nul:2: NUL byte"* ]]

	# A 10 MB line.
	{ printf 'FROM alpine\nRUN echo '; head -c 10485760 /dev/zero | tr '\0' x; printf '\n'; } \
		>"$BATS_TEST_TMPDIR/long"
	run petra parse --dump "$BATS_TEST_TMPDIR/long"
	[ "$status" -eq 1 ]
	[[ "$output" == *"long:2: line longer than the maximum of 65535 bytes" ]]

	# Larger than any Dockerfile: refused before parsing.
	truncate -s 20M "$BATS_TEST_TMPDIR/huge"
	run petra parse "$BATS_TEST_TMPDIR/huge"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]

	# Unbalanced quotes are kept as BuildKit keeps them.
	printf 'FROM alpine\nRUN echo "open\nENV A="x y\n' >"$BATS_TEST_TMPDIR/quotes"
	run petra parse --dump "$BATS_TEST_TMPDIR/quotes"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = '(run "echo \"open")' ]
	[ "${lines[2]}" = '(env "A" "\"x y" "=")' ]

	# Deep ONBUILD nesting.
	{ printf 'FROM alpine\n'; for i in $(seq 1 3000); do printf 'ONBUILD '; done; printf 'RUN x\n'; } \
		>"$BATS_TEST_TMPDIR/deep"
	run petra parse --dump "$BATS_TEST_TMPDIR/deep"
	[ "$status" -eq 1 ]
	[[ "$output" == *"deep:2: Chaining ONBUILD"* ]]
	run petra parse --dump --raw "$BATS_TEST_TMPDIR/deep"
	[ "$status" -eq 1 ]
	[[ "$output" == *"deep:2: ONBUILD nested more than 7 deep"* ]]

	# Many continuation lines make one long instruction, parsed in linear time.
	{ printf 'FROM alpine\nRUN true'; for i in $(seq 1 100000); do printf ' \\\n && true'; done; printf '\n'; } \
		>"$BATS_TEST_TMPDIR/many"
	run petra parse "$BATS_TEST_TMPDIR/many"
	[ "$status" -eq 0 ]
}
