#!/usr/bin/env bats
# The command line itself: help, usage errors, exit codes.

load helpers

setup() {
	petra_setup_store
}

@test "every verb has --help, printed on stdout with status 0" {
	for verb in import export images inspect history tag rmi unpack fsck prune run ps logs stop rm exec diff verify bundle test; do
		run petra "$verb" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"Usage: petra $verb"* ]]
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
