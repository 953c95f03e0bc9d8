#!/usr/bin/env bats
# The exit codes of docs/EXIT-CODES.md, class by class, for several verbs:
# 0 success, 1 the operation failed, 2 bad usage; run and exec: 125 petra's
# own error, 126 cannot invoke, 127 not found, else the command's status.

load helpers
bats_require_minimum_version 1.5.0

STRUCTURE="$BATS_TEST_DIRNAME/../data/structure"

setup() {
	petra_setup_store
	export PETRA_RUN_DIR="$BATS_TEST_TMPDIR/run"
	import_busybox bb:1
}

teardown() {
	local id
	for id in $(petra ps -a -q 2>/dev/null); do
		petra rm -f "$id" >/dev/null 2>&1 || true
	done
}

# expect STATUS petra ARGS...: petra exits STATUS; a usage error also names
# the verb and points to its --help, a failure is one "petra: " line.
expect() {
	local want=$1
	shift
	run "-$want" "$@"
	if [ "$status" -ne "$want" ]; then
		echo "'$*' exited $status, not $want: $output" >&2
		return 1
	fi
	case $want in
	2) [[ "$output" == "petra $2: "*"Try 'petra $2 --help'." ]] ;;
	1) [[ "${lines[-1]}" == "petra: "* || "$output" == *"petra: "* ]] ;;
	esac
}

@test "0: success" {
	expect 0 petra images
	expect 0 petra tag bb:1 bb:2
	expect 0 petra inspect bb:2
	expect 0 petra --help
	expect 0 petra fsck
}

@test "2: an unknown option, a missing or extra operand" {
	local verb
	for verb in images tag inspect history prune ps lint test fsck rmi; do
		expect 2 petra "$verb" --no-such-option
	done
	expect 2 petra tag bb:1
	expect 2 petra inspect
	expect 2 petra history bb:1 extra
	expect 2 petra export bb:1
	expect 2 petra images extra
	expect 2 petra logs
	# petra's own options and verbs.
	run -2 petra --no-such-option images
	run -2 petra no-such-verb
	run -2 petra help no-such-verb
	run -2 petra
}

@test "2: a value that is malformed as written" {
	expect 2 petra tag bb:1 'BAD NAME'
	expect 2 petra tag bb:1 'Not/Valid'
	expect 2 petra inspect 'BAD NAME'
	expect 2 petra history 'Bad:Name:x'
	expect 2 petra rmi 'BAD NAME'
	expect 2 petra unpack 'BAD NAME' "$BATS_TEST_TMPDIR/u"
	expect 2 petra export bb:1 "not-a-transport"
	expect 2 petra import --ref 'BAD NAME' "$BATS_TEST_TMPDIR/busybox-rootfs"
	expect 2 petra build -t 'BAD NAME' "$BATS_TEST_TMPDIR"
	expect 2 petra images --format yaml
	expect 2 petra build --jobs 0 "$BATS_TEST_TMPDIR"
	# Nothing changed.
	[ "$(petra images -q)" = "bb:1" ]
}

@test "1: a missing image, container or file; an invalid file; a corrupt image" {
	expect 1 petra inspect no-such-image:1
	expect 1 petra history no-such-image:1
	expect 1 petra tag no-such-image:1 other:1
	expect 1 petra rmi no-such-image:1
	expect 1 petra unpack no-such-image:1 "$BATS_TEST_TMPDIR/u"
	expect 1 petra audit no-such-image:1
	expect 1 petra test no-such-image:1 "$STRUCTURE/metadata-pass.yaml"
	expect 1 petra logs no-such-container
	expect 1 petra stop no-such-container
	expect 1 petra parse "$BATS_TEST_TMPDIR/no-such-Dockerfile"
	expect 1 petra lint "$BATS_TEST_TMPDIR/no-such-Dockerfile"
	# Files whose content is invalid.
	expect 1 petra test bb:1 "$STRUCTURE/invalid.yaml"
	[[ "$output" == *'unknown field "exitcode"'* ]]
	printf 'FROM bb:1\nRUN <<EOF\nnever ends\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	expect 1 petra parse "$BATS_TEST_TMPDIR/Dockerfile"
	printf 'build: [unclosed\n' >"$BATS_TEST_TMPDIR/build.yml"
	expect 1 petra flow --check "$BATS_TEST_TMPDIR/build.yml"
	# A corrupt image.
	local layer
	layer=$(petra inspect --manifest bb:1 | jq -r '.layers[0].digest')
	chmod u+w "$PETRA_ROOT/blobs/sha256/${layer#sha256:}"
	printf 'X' | dd of="$PETRA_ROOT/blobs/sha256/${layer#sha256:}" bs=1 seek=300 conv=notrunc status=none
	expect 1 petra unpack bb:1 "$BATS_TEST_TMPDIR/u"
	expect 1 petra fsck
}

@test "run: 125 for petra's own errors, 126, 127, else the command's status" {
	printf '#!/bin/sh\nexit 0\n' >"$BATS_TEST_TMPDIR/busybox-rootfs/not-executable"
	chmod 0644 "$BATS_TEST_TMPDIR/busybox-rootfs/not-executable"
	petra import -q "$BATS_TEST_TMPDIR/busybox-rootfs" --ref bb:2 >/dev/null
	run -0 petra run --rm bb:2 true
	run -125 petra run --no-such-option bb:2 true
	[[ "$output" == *"option '--no-such-option' is unknown"* ]]
	run -125 petra run
	run -125 petra run --tmpfs relative bb:2 true
	run -125 petra run --rm 'BAD NAME' true
	run -125 petra run --rm no-such-image:1 true
	[[ "$output" == *'image "no-such-image:1" not found'* ]]
	run -125 petra run --rm -v "$BATS_TEST_TMPDIR/no-such-dir:/x" bb:2 true
	run -127 petra run --rm bb:2 no-such-command
	run -126 petra run --rm bb:2 /not-executable
	run -3 petra run --rm bb:2 sh -c 'exit 3'
	run -2 petra run --rm bb:2 sh -c 'exit 2'
	run -1 petra run --rm bb:2 false
}

@test "exec: 125 for petra's own errors, 126, 127, else the command's status" {
	printf '#!/bin/sh\nexit 0\n' >"$BATS_TEST_TMPDIR/busybox-rootfs/not-executable"
	chmod 0644 "$BATS_TEST_TMPDIR/busybox-rootfs/not-executable"
	petra import -q "$BATS_TEST_TMPDIR/busybox-rootfs" --ref bb:2 >/dev/null
	petra run -d --name svc bb:2 sleep 60 >/dev/null
	run -0 petra exec svc true
	run -125 petra exec --no-such-option svc true
	run -125 petra exec svc
	run -125 petra exec --filter bogus --all -- true
	run -125 petra exec no-such-container true
	[[ "$output" == *'no container "no-such-container"'* ]]
	run -125 petra exec -u no-such-user svc true
	run -127 petra exec svc no-such-command
	run -126 petra exec svc /not-executable
	run -3 petra exec svc sh -c 'exit 3'
	run -2 petra exec svc sh -c 'exit 2'
	# --all: 1 when the command failed in a container.
	run -1 petra exec --all -- false
	run -0 petra exec --all -- true
}

@test "bundle: a -v source that is not there is a failure, a malformed -v bad usage" {
	expect 1 petra bundle -v "$BATS_TEST_TMPDIR/no-such-dir:/x" bb:1 "$BATS_TEST_TMPDIR/b"
	expect 2 petra bundle -v relative:/x bb:1 "$BATS_TEST_TMPDIR/b"
}
