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
	[[ "$output" == *'commandTests[0]: unknown field "exitcode"'* ]]
	run petra test st:1 /no/such/file.yaml
	[ "$status" -eq 1 ]
	run petra test no-such-image:1 "$STRUCTURE/metadata-pass.yaml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'image "no-such-image:1" not found'* ]]
}
