#!/usr/bin/env bats
# petra unpack writes an image's files onto the host: setuid and setgid
# bits are cleared unless --keep-setuid asks for them; the rootfs cache
# that run and build use keeps the image exactly. Run as root.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	make_runtime_rootfs "$BATS_FILE_TMPDIR/rootfs"
	# /bin/euid is setuid root already; a setgid file and a setgid
	# directory (which grants nothing, and is kept) besides.
	cp "$BATS_FILE_TMPDIR/rootfs/bin/euid" "$BATS_FILE_TMPDIR/rootfs/bin/egid"
	chmod 2755 "$BATS_FILE_TMPDIR/rootfs/bin/egid"
	mkdir "$BATS_FILE_TMPDIR/rootfs/shared"
	chmod 2775 "$BATS_FILE_TMPDIR/rootfs/shared"
	import_with_config bb:root "$BATS_FILE_TMPDIR/rootfs" --config.cmd /bin/sh
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

@test "unpack clears setuid and setgid bits, and says how many" {
	run petra unpack bb:root "$BATS_TEST_TMPDIR/fs"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cleared setuid/setgid bits of 2 files (--keep-setuid keeps them)"* ]]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/fs/bin/euid")" = "755" ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/fs/bin/egid")" = "755" ]
	[ "$(stat -c %u "$BATS_TEST_TMPDIR/fs/bin/euid")" = "0" ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/fs/shared")" = "2775" ]
	# Run by an unprivileged user, it gives no root.
	[ "$(setpriv --reuid 65534 --regid 65534 --clear-groups "$BATS_TEST_TMPDIR/fs/bin/euid")" = "65534" ]
}

@test "unpack --keep-setuid keeps them, and says nothing" {
	run petra unpack --keep-setuid bb:root "$BATS_TEST_TMPDIR/fs"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/fs/bin/euid")" = "4755" ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/fs/bin/egid")" = "2755" ]
}

@test "the rootfs cache behind run keeps the image exactly (setuid bits included)" {
	run petra run --rm bb:root stat -c %a /bin/euid /bin/egid
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "4755" ]
	[ "${lines[1]}" = "2755" ]
	local f
	f=$(ls -d "$PETRA_ROOT"/rootfs/layers/*/bin/euid)
	[ "$(stat -c %a "$f")" = "4755" ]
}
