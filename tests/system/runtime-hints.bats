#!/usr/bin/env bats
# Messages that say what went wrong: a RUN whose host names do not resolve
# while the build's network is off, and /dev nodes of an imported root.

load build-helpers
bats_require_minimum_version 1.5.0

@test "a RUN that cannot resolve a name with the network off gets a hint" {
	# A real lookup: with --network none there is no DNS at all.
	dockerfile 'FROM bb:1
RUN busybox wget -q -O- http://deb.debian.org/debian/'
	run petra build -t dns:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad address"* ]]
	[[ "$output" == *"hint: the build's network is off"*"--network host"* ]]
	# What apt says, in a RUN that fails.
	dockerfile 'FROM bb:1
RUN echo "Temporary failure resolving '"'"'deb.debian.org'"'"'" >&2; exit 100'
	run petra build -t dns:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hint: the build's network is off"* ]]
	# The network on: the same failure is not the network's being off.
	run petra build --network host -t dns:3 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Temporary failure resolving"* ]]
	[[ "$output" != *"hint: the build's network is off"* ]]
	# Another failure with the network off: no hint.
	dockerfile 'FROM bb:1
RUN echo "no such file" >&2; exit 3'
	run petra build -t dns:4 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" != *"hint:"* ]]
}

@test "import drops the device nodes under /dev of a root filesystem and says so" {
	local root="$BATS_TEST_TMPDIR/root"
	cp -a "$BATS_FILE_TMPDIR/bb-rootfs" "$root"
	mknod -m 666 "$root/dev/null" c 1 3
	mknod -m 666 "$root/dev/zero" c 1 5
	mkdir "$root/dev/pts"
	mknod -m 660 "$root/dev/loop0" b 7 0
	echo keep >"$root/dev/README"
	run petra import "$root" --ref rooted:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"import: dropped 3 device nodes under /dev"* ]]
	unpack_image rooted:1 "$BATS_TEST_TMPDIR/out"
	[ ! -e "$BATS_TEST_TMPDIR/out/dev/null" ]
	[ ! -e "$BATS_TEST_TMPDIR/out/dev/loop0" ]
	[ -d "$BATS_TEST_TMPDIR/out/dev/pts" ]
	[ "$(cat "$BATS_TEST_TMPDIR/out/dev/README")" = keep ]
	# A build on it works (it failed on the device nodes before).
	dockerfile 'FROM rooted:1
RUN echo built >/built'
	run petra build -t rooted:2 "$CTX"
	[ "$status" -eq 0 ]
	# The same from a tarball.
	tar -C "$root" -cf "$BATS_TEST_TMPDIR/root.tar" .
	run petra import "$BATS_TEST_TMPDIR/root.tar" --ref rooted:3
	[ "$status" -eq 0 ]
	[[ "$output" == *"import: dropped 3 device nodes under /dev"* ]]
	# Nothing to drop: nothing said.
	run petra import "$BATS_FILE_TMPDIR/bb-rootfs" --ref plain:1
	[[ "$output" != *"dropped"* ]]
}
