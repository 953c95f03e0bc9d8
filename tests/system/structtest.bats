#!/usr/bin/env bats
# petra test: container-structure-test files pass and fail exactly where
# they should. Tests in tests/data/structure/ are named "passes: ..." or
# "fails: ..."; every result must agree with its name.

load runtime-helpers

STRUCTURE="$BATS_TEST_DIRNAME/../data/structure"

setup_file() {
	runtime_setup_file
	import_with_config st:1 "$BATS_FILE_TMPDIR/rootfs" --config.user 65534 \
		--config.cmd /bin/pidfile-service --config.env GREETING=hello \
		--config.workingdir /www --config.exposedports 8080/tcp --config.volume /data \
		--config.label tier=web \
		--config.label 'org.petra.writable-paths=[{"path":"/run/app","size":1048576,"mode":"0755","uid":65534},{"path":"/var/log/app","size":1048576,"mode":"0755","uid":65534}]'
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

# Every result agrees with its name; prints the disagreeing ones.
assert_results_as_named() {
	local json=$1
	local wrong
	wrong=$(echo "$json" | jq -r '.Results[] | select((.Name | startswith("passes")) != .Pass) | "\(.Name): \(.Errors)"')
	if [ -n "$wrong" ]; then
		echo "results that disagree with their names:" >&2
		echo "$wrong" >&2
		return 1
	fi
}

@test "command tests: every field, passing and failing where they should" {
	run petra test --format json st:1 "$STRUCTURE/commands.yaml"
	[ "$status" -eq 1 ]
	assert_results_as_named "$output"
	[ "$(echo "$output" | jq -r '.Pass')" = "6" ]
	[ "$(echo "$output" | jq -r '.Fail')" = "8" ]
	[ "$(echo "$output" | jq -r '.Results[0].Stdout')" = "out-hello" ]
	# Failures say why.
	[ "$(echo "$output" | jq -r '.Results[] | select(.Name == "fails: wrong exit code") | .Errors[0]')" = \
		"exit code 1, expected 0" ]
	[ "$(echo "$output" | jq -r '.Results[] | select(.Name == "fails: excluded output present") | .Errors[0]')" = \
		'stdout matches excluded "sec.et"' ]
	# Nothing is left behind.
	[ -z "$(ls -A "$PETRA_RUN_DIR")" ]
}

@test "file existence and content tests: every field" {
	run petra test --format json st:1 "$STRUCTURE/files.yaml"
	[ "$status" -eq 1 ]
	assert_results_as_named "$output"
	[ "$(echo "$output" | jq -r '.Pass')" = "11" ]
	[ "$(echo "$output" | jq -r '.Fail')" = "9" ]
	[ "$(echo "$output" | jq -r '.Results[] | select(.Name == "fails: wrong permissions") | .Errors[0]')" = \
		"/etc/passwd has permissions -rw-r--r--, expected -rwxrwxrwx" ]
}

@test "metadata tests: every field matching, then every field wrong" {
	run petra test st:1 "$STRUCTURE/metadata-pass.yaml"
	[ "$status" -eq 0 ]
	[[ "$output" == *"=== RUN: Metadata Test: Metadata Test"*"--- PASS"* ]]
	run petra test --format json st:1 "$STRUCTURE/metadata-fail.yaml"
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r '.Results[0].Errors | length')" = "10" ]
}

@test "immutability test: only the image's writable paths can be written" {
	run petra test st:1 "$STRUCTURE/immutability.yaml"
	[ "$status" -eq 0 ]
	run petra test --format json st:1 "$STRUCTURE/immutability-fail.yaml"
	[ "$status" -eq 1 ]
	local errors
	errors=$(echo "$output" | jq -r '.Results[0].Errors[]')
	[[ "$errors" == *"/etc should be writable but is not"* ]]
	[[ "$errors" == *"/run/app is writable but not listed"* ]]
	[[ "$errors" != *"/var/log/app"* ]]
	# An image without the label: nothing is writable, and that passes.
	run petra test bb:user "$STRUCTURE/immutability.yaml"
	[ "$status" -eq 0 ]
}

@test "text output as container-structure-test prints it; junit; several files" {
	run petra test st:1 "$STRUCTURE/metadata-pass.yaml" "$STRUCTURE/immutability.yaml"
	[ "$status" -eq 0 ]
	[[ "$output" == *"--- PASS"* ]]
	[[ "$output" == *"Passes:      2"* ]]
	[[ "$output" == *"Failures:    0"* ]]
	[[ "$output" == *"Total tests: 2"* ]]
	[ "${lines[-1]}" = "PASS" ]
	run petra test --format junit -o "$BATS_TEST_TMPDIR/report.xml" st:1 "$STRUCTURE/files.yaml"
	[ "$status" -eq 1 ]
	grep -q '<testsuites failures="9" tests="20"' "$BATS_TEST_TMPDIR/report.xml"
	grep -q '<failure message="/etc/missing does not exist"/>' "$BATS_TEST_TMPDIR/report.xml"
	[ "$(grep -c '<testcase ' "$BATS_TEST_TMPDIR/report.xml")" -eq 20 ]
}

@test "an invalid test file is a failure (status 1) that names the problem" {
	run petra test st:1 "$STRUCTURE/invalid.yaml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid.yaml:5:5: commandTests[0]: unknown field "exitcode"'* ]]
	run petra test st:1 /no/such/file.yaml
	[ "$status" -eq 1 ]
	run petra test no-such-image:1 "$STRUCTURE/metadata-pass.yaml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'image "no-such-image:1" not found'* ]]
}

# One test file of `petra test`: schemaVersion plus the YAML given.
write_test_file() {
	printf 'schemaVersion: "2.0.0"\n%s\n' "$2" >"$BATS_TEST_TMPDIR/$1.yaml"
}

@test "a field of the wrong type is an error naming the field, line and column, not a pass" {
	local cmd='commandTests:
  - name: t
    command: echo
    args: [hi]'
	local file='fileExistenceTests:
  - name: t
    path: /etc/passwd'
	write_test_file expected-output "$cmd
    expectedOutput: \"bye\""
	write_test_file excluded-output "$cmd
    excludedOutput: \"hi\""
	write_test_file exit-string "$cmd
    exitCode: \"1\""
	write_test_file exit-real "$cmd
    exitCode: 1.5"
	write_test_file exit-huge "$cmd
    exitCode: 99999999999999999999"
	write_test_file permissions "$file
    permissions: 777"
	write_test_file uid "$file
    uid: \"1000\""
	write_test_file should-exist "$file
    shouldExist: \"yes\""
	write_test_file contents 'fileContentTests:
  - name: t
    path: /etc/passwd
    expectedContents: "nobody-here"'
	write_test_file env 'metadataTest:
  envVars: "FOO"'
	write_test_file ports 'metadataTest:
  exposedPorts: "8080"'
	write_test_file workdir 'metadataTest:
  workdir: [/www]'
	local case want
	for case in \
		'expected-output:6:5: commandTests[0].expectedOutput: must be a sequence, not a string' \
		'excluded-output:6:5: commandTests[0].excludedOutput: must be a sequence, not a string' \
		'exit-string:6:5: commandTests[0].exitCode: must be an integer from 0 to 255, not a string' \
		'exit-real:6:5: commandTests[0].exitCode: must be an integer from 0 to 255, not a number' \
		'exit-huge:6:5: commandTests[0].exitCode: must be an integer from 0 to 255, not a number' \
		'permissions:5:5: fileExistenceTests[0].permissions: must be a string such as "-rw-r--r--", not a number' \
		'uid:5:5: fileExistenceTests[0].uid: must be an integer from 0 to 4294967295, not a string' \
		'should-exist:5:5: fileExistenceTests[0].shouldExist: must be true or false, not a string' \
		'contents:5:5: fileContentTests[0].expectedContents: must be a sequence, not a string' \
		'env:3:3: metadataTest.envVars: must be a sequence, not a string' \
		'ports:3:3: metadataTest.exposedPorts: must be a sequence, not a string' \
		'workdir:3:3: metadataTest.workdir: must be a string, not a sequence'; do
		run petra test st:1 "$BATS_TEST_TMPDIR/${case%%:*}.yaml"
		want="petra: $BATS_TEST_TMPDIR/${case%%:*}.yaml:${case#*:}"
		echo "$output" >&2
		[ "$status" -eq 1 ]
		[ "$output" = "$want" ]
	done
}

@test "the forms container-structure-test reads are read with its meaning: a number for a string field is its text" {
	# Go's YAML library reads `user: 65534` into a string field as "65534".
	write_test_file user-number 'metadataTest:
  user: 65534
commandTests:
  - name: "passes: numbers and booleans in args are their text"
    command: echo
    args: [1, true]
    expectedOutput: ["^1 true$"]'
	run petra test --format json st:1 "$BATS_TEST_TMPDIR/user-number.yaml"
	[ "$status" -eq 0 ]
	write_test_file user-other 'metadataTest:
  user: 1000'
	run petra test --format json st:1 "$BATS_TEST_TMPDIR/user-other.yaml"
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r '.Results[0].Errors[0]')" = 'the user is "65534", expected "1000"' ]
	# An empty field is an absent one (shouldExist keeps its default).
	write_test_file empty 'fileExistenceTests:
  - name: t
    path: /etc/passwd
    shouldExist:'
	run petra test st:1 "$BATS_TEST_TMPDIR/empty.yaml"
	[ "$status" -eq 0 ]
}

@test "a deeply nested YAML file is refused early, in little memory" {
	# 200 KB of "[" (libfyaml's state for every open level cost 62 MB),
	# and 100,000 nested "- " (read on after the depth error: 30 MB).
	python3 -c "print('x: ' + '[' * 200000)" >"$BATS_TEST_TMPDIR/flow.yaml"
	python3 -c "print('x:\n' + '- ' * 100000 + 'a')" >"$BATS_TEST_TMPDIR/block.yaml"
	# The bound is on what the file adds to petra's own footprint (measured
	# on a small bad file), so it holds under AddressSanitizer too.
	printf 'x: [1\n' >"$BATS_TEST_TMPDIR/small.yaml"
	/usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/small.rss" "$PETRA" test st:1 "$BATS_TEST_TMPDIR/small.yaml" 2>/dev/null || true
	local f kb base
	base=$(tail -1 "$BATS_TEST_TMPDIR/small.rss")
	for f in flow block; do
		run /usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/$f.rss" "$PETRA" test st:1 "$BATS_TEST_TMPDIR/$f.yaml"
		echo "$output" >&2
		[ "$status" -eq 1 ]
		[[ "$output" == *"$f.yaml:"*": nested deeper than 64 levels"* ]]
		kb=$(tail -1 "$BATS_TEST_TMPDIR/$f.rss")
		echo "$f: $kb KB (a small bad file: $base KB)" >&2
		[ $((kb - base)) -lt 8192 ]
	done
}

@test "a command test that does not end is killed at --timeout and fails" {
	write_test_file sleeps 'commandTests:
  - name: never ends
    command: sleep
    args: ["1000"]
  - name: "passes: the next test runs"
    command: echo
    args: [next]
    expectedOutput: ["^next$"]'
	# timeout(1) turns a hang into a failure of this test, not a stuck suite.
	run timeout 120 "$PETRA" test --timeout 2 --format json st:1 "$BATS_TEST_TMPDIR/sleeps.yaml"
	echo "$output" >&2
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r '.Results[0].Errors[0]')" = "sleep: timed out after 2 s, killed" ]
	[ "$(echo "$output" | jq -r '.Results[1].Pass')" = "true" ]
	[ -z "$(petra ps -a -q)" ]
	run petra test --timeout soon st:1 "$BATS_TEST_TMPDIR/sleeps.yaml"
	[ "$status" -eq 2 ]
}

@test "a command's output is streamed and bounded: 2 GB of it does not make petra grow" {
	write_test_file big 'commandTests:
  - name: "passes: a pattern found in what is kept"
    command: sh
    args: ["-c", "echo START; head -c 2000000000 /dev/zero; echo END"]
    expectedOutput: ["^START"]
  - name: "fails: a pattern only the rest could show is not a pass"
    command: sh
    args: ["-c", "head -c 20000000 /dev/zero; echo END"]
    expectedOutput: ["END"]
  - name: "fails: nor is an excluded one the kept part does not show"
    command: sh
    args: ["-c", "head -c 20000000 /dev/zero; echo SECRET"]
    excludedOutput: ["SECRET"]'
	run /usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "$PETRA" test --format json st:1 "$BATS_TEST_TMPDIR/big.yaml"
	[ "$status" -eq 1 ]
	local json=$output
	assert_results_as_named "$json"
	[ "$(echo "$json" | jq -r '.Results[1].Errors[0]')" = \
		'stdout: cannot tell whether it matches "END": only the first 8388608 of 20000004 bytes are kept' ]
	[ "$(echo "$json" | jq -r '.Results[2].Errors[0]')" = \
		'stdout: cannot tell whether it matches excluded "SECRET": only the first 8388608 of 20000007 bytes are kept' ]
	local kb
	kb=$(tail -1 "$BATS_TEST_TMPDIR/rss")
	echo "peak RSS: $kb KB" >&2
	# Three tests keep 8 MiB of stdout each for the report.
	[ "$kb" -lt 65536 ]
}

# The pid of the one running container, once there is one (30 s at most).
running_container_pid() {
	local i pid
	for i in $(seq 300); do
		pid=$(petra ps --format json 2>/dev/null | jq -r '.[0].pid // empty')
		if [ -n "$pid" ] && [ "$pid" != 0 ]; then
			echo "$pid"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# The process is gone (waits up to 10 s: its death is asynchronous).
process_gone() {
	local i
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

@test "a killed petra test or foreground petra run leaves no container running" {
	write_test_file sleeps 'commandTests:
  - name: never ends
    command: sleep
    args: ["1000"]'
	local owner pid id
	"$PETRA" test st:1 "$BATS_TEST_TMPDIR/sleeps.yaml" >/dev/null 2>&1 &
	owner=$!
	pid=$(running_container_pid)
	kill -0 "$pid"
	kill -KILL "$owner"
	wait "$owner" || true
	process_gone "$pid"
	[ "$(petra ps -a --format json | jq '[.[] | select(.running)] | length')" -eq 0 ]
	for id in $(petra ps -a -q); do petra rm -f "$id" >/dev/null; done

	"$PETRA" run --rm st:1 sleep 1000 >/dev/null 2>&1 &
	owner=$!
	pid=$(running_container_pid)
	kill -0 "$pid"
	kill -KILL "$owner"
	wait "$owner" || true
	process_gone "$pid"
	[ "$(petra ps -a --format json | jq '[.[] | select(.running)] | length')" -eq 0 ]
}
