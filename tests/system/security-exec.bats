#!/usr/bin/env bats
# petra exec into a container that holds CAP_SYS_PTRACE: the container
# watches for the joining process and does what an attacker would
# (CVE-2019-5736 class): reads its environment, keeps /proc/PID/exe open
# and reopens it for writing. The host's binary must stay as it was, no
# host environment may reach the container, and the command must start
# holding only stdio. Run as root.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	make_runtime_rootfs "$BATS_FILE_TMPDIR/rootfs"
	cc -static -O2 -o "$BATS_FILE_TMPDIR/rootfs/bin/hijack" "$TESTS_DATA/probe/hijack.c"
	import_with_config bb:root "$BATS_FILE_TMPDIR/rootfs" --config.cmd /bin/sh
}

setup() {
	runtime_setup
	# The "host binary" the attack aims at: a copy, so a successful attack
	# on an unfixed petra cannot damage the build under test.
	HOST_PETRA="$BATS_TEST_TMPDIR/petra"
	cp "$PETRA" "$HOST_PETRA"
	HOST_SUM=$(sha256sum <"$HOST_PETRA")
}

teardown() {
	runtime_teardown
}

# attack NAME RUN-OPTIONS...: a detached container running the probe, then
# several execs with a host secret in petra's environment, each with its
# execve held for half a second (strace) so the window in which the joining
# process still runs petra is wide open; then what the container saw.
attack() {
	local name=$1
	shift
	petra run -d --name "$name" "$@" bb:root /bin/hijack >/dev/null
	local id
	id=$(petra ps --format json | jq -r ".[] | select(.name == \"$name\") | .id")
	wait_for_file "$PETRA_RUN_DIR/$id/log"
	# (LeakSanitizer cannot work under ptrace: off for an ASan build.)
	local held=(env SECRET=hostsecret ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
		strace -f -qq -o /dev/null -e trace=execve -e inject=execve:delay_enter=500000)
	local i
	for i in 1 2 3; do
		"${held[@]}" "$HOST_PETRA" exec "$name" true
	done
	"${held[@]}" "$HOST_PETRA" exec -t "$name" true </dev/null
	SECRET=hostsecret "$HOST_PETRA" exec "$name" true
	sleep 1 # the probe retries its writes once the execs are gone
	run petra logs "$name"
	echo "$output"
	[ "${lines[0]}" = "watching" ]
	# It did catch the joining processes before they exec'd (their
	# environment is readable: the container's own, which exec asked for)...
	[[ "$output" == *"ENVIRON "*" [petra-join-container] "*"PATH="* ]]
	# ...but saw no host secret and wrote nothing.
	[[ "$output" != *hostsecret* ]]
	[[ "$output" != *WROTE* ]]
	[ "$(sha256sum <"$HOST_PETRA")" = "$HOST_SUM" ]
}

@test "exec into a container with CAP_SYS_PTRACE: no host binary to rewrite, no host environment" {
	attack traced --cap-add SYS_PTRACE
}

@test "exec into a container with --cap-add ALL as uid 10001: the same" {
	attack allcaps --cap-add ALL --user 10001
}

@test "the command exec starts holds only stdio, and the environment it asked for" {
	petra run -d --name plain bb:root sleep 600 >/dev/null
	local mode
	for mode in "" -t -i; do
		run env SECRET=hostsecret "$PETRA" exec $mode plain sh -c 'ls -l /proc/self/fd/; env' </dev/null
		echo "$output"
		[ "$status" -eq 0 ]
		# ls's own descriptor on the listed directory is the only extra one.
		local extra
		extra=$(echo "$output" | grep -- '->' | grep -Ev ' [012] -> ' | grep -v "/fd\$" || true)
		[ -z "$extra" ]
		[[ "$output" != *hostsecret* ]]
	done
	run env SECRET=hostsecret "$PETRA" exec -e FOO=bar plain env
	[[ "$output" == *FOO=bar* ]]
	[[ "$output" != *hostsecret* ]]
}

@test "with --init, PID 1 is the host's petra-init, bound read-only: the container cannot rewrite it" {
	local init
	init=$(petra info --format json | jq -r .helpers.init)
	[ -x "$init" ]
	local sum
	sum=$(sha256sum <"$init")
	run petra run --rm --init --cap-add ALL bb:root sh -c '
		readlink /proc/1/exe
		echo "#hijacked" >>/proc/1/exe && echo WROTE
		exec 3</proc/1/exe && { echo "#hijacked" >>/proc/self/fd/3 && echo WROTE; }
		true'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/.petra-init" ]
	[[ "$output" != *WROTE* ]]
	[ "$(sha256sum <"$init")" = "$sum" ]
}

@test "exec --timeout never signals a host process that took the pid of a container process" {
	# The command leaves "sleep 1717" behind (reparented to the container's
	# init) and hangs. When the timeout comes, the container wins the race
	# (pidreuse.so, preloaded into petra): that process is gone and its pid
	# is a host process's by the time petra signals it.
	cc -shared -fPIC -O2 -o "$BATS_TEST_TMPDIR/pidreuse.so" "$TESTS_DATA/probe/pidreuse.c"
	petra run -d --init --name reuse bb:root sleep 1000 >/dev/null
	local victim_file=$BATS_TEST_TMPDIR/victim
	# (Under make check-asan the shim comes before ASan's runtime, which
	# ASan only allows when told.)
	run env LD_PRELOAD="$BATS_TEST_TMPDIR/pidreuse.so" PIDREUSE_VICTIM="$victim_file" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$PETRA" exec --all --filter name=reuse --timeout 1 -- sh -c '(sleep 1717 &); sleep 1003'
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"timed out"* ]]
	local marker victim state
	read -r marker victim <"$victim_file"
	state=$(awk '{ print $3 }' "/proc/$victim/stat" 2>/dev/null || echo gone)
	kill -KILL "$victim" 2>/dev/null || true
	echo "container pid $marker, host process $victim: $state"
	# The race was won for real: the host process has the container's pid.
	[ "$marker" = "$victim" ]
	# ...and it was neither stopped nor killed.
	[ "$state" = S ]
	# The command's own processes are gone from the container.
	run -0 petra exec reuse ps -o args
	[[ "$output" != *"sleep 1003"* ]]
}
