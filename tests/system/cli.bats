#!/usr/bin/env bats
# The command line itself: help, usage errors, exit codes.

load helpers

setup() {
	petra_setup_store
}

# The verbs as petra lists them in its help.
all_verbs() {
	petra --help | awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }'
}

@test "every verb has --help, printed on stdout with status 0" {
	local verbs verb
	verbs=$(all_verbs)
	# Every verb of the table (src/cli/cli.h), none left out of the help.
	[ "$(echo "$verbs" | wc -l)" -eq "$(grep -c '^	X(' "$BATS_TEST_DIRNAME/../../src/cli/cli.h")" ]
	for verb in $verbs; do
		run petra "$verb" --help
		[ "$status" -eq 0 ] || { echo "$verb --help: status $status" >&2; return 1; }
		[[ "${lines[0]}" == "Usage: petra $verb"* ]] || { echo "$verb: ${lines[0]}" >&2; return 1; }
		[[ "$output" == *"-h, --help"* ]] || { echo "$verb: no -h, --help" >&2; return 1; }
		# On stdout, nothing on stderr; 'petra help VERB' is the same text.
		[ -z "$(petra "$verb" --help 2>&1 >/dev/null)" ]
		[ "$(petra help "$verb")" = "$output" ]
	done
}

@test "petra help VERB is the verb's help" {
	run petra help unpack
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: petra unpack"* ]]
}

@test "an unknown verb and an unknown option are usage errors (status 2)" {
	run petra frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown command "frobnicate"'* ]]
	run petra images --bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *"option '--bogus' is unknown"* ]]
	run petra import
	[ "$status" -eq 2 ]
	[[ "$output" == *"expects one SOURCE"* ]]
}

@test "a failure prints one line 'petra: <message>' and exits 1" {
	run petra inspect no-such-image
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == 'petra: image "no-such-image:latest" not found in '* ]]
}

@test "listings speak JSON with --format json" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	petra import -q "$BATS_TEST_TMPDIR/rootfs" --ref busybox:1
	run petra images --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].name + ":" + .[0].tag')" = "busybox:1" ]
	run petra history busybox:1 --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].created_by')" = "petra import rootfs" ]
	run petra fsck --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.ok')" = "true" ]
	run petra prune --format json --dry-run
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.blobs')" = "0" ]
}

@test "--version prints the version" {
	run petra --version
	[ "$status" -eq 0 ]
	[[ "$output" == "petra version "* ]]
}

@test "every verb petra lists has a man page that carries its current --help" {
	local verbs
	verbs=$(all_verbs)
	[ -n "$verbs" ]
	for verb in $verbs; do
		local page="$BATS_TEST_DIRNAME/../../docs/man/petra-$verb.md"
		[ -f "$page" ] || { echo "no man page for $verb"; return 1; }
		local usage
		usage=$(petra "$verb" --help | head -n 1)
		grep -qF -- "$usage" "$page" || { echo "petra-$verb.md: usage line is stale"; return 1; }
	done
}

@test "petra(1) lists every verb" {
	local page="$BATS_TEST_DIRNAME/../../docs/man/petra.md"
	for verb in $(all_verbs); do
		grep -q "petra-$verb(1)" "$page" || { echo "petra.md does not list $verb"; return 1; }
	done
}
